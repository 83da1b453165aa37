/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-console driven as a guest driver drives it, through the modern
 * PCI transport of a fake VM (null backend, 64 MiB, host bridge, the
 * console at slot 3): config space through ECAM, registers through the
 * MMIO registry, rings and buffers in guest RAM.  The host side is real:
 * UNIX sockets in a temporary directory, with clients connected here,
 * and for the console port stdin/stdout replaced by pipes.  Socket
 * events run when a test turns the event loop (fx_pump), so each step
 * is deterministic.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "test.h"
#include "virtio.h"
#include "vmmapi.h"

extern const struct pci_devemu pci_de_virtio_console;

#define MiB (1ULL << 20)
#define RAM_SIZE (64 * MiB)
#define SLOT 3
#define NVQ 34
#define QSZ 16
#define RING_BASE 0x10000ULL	/* queue q's rings at + q * 4 KiB */
#define BUF_BASE (16 * MiB)	/* queue q's buffers at + q MiB */
#define SLOT_BYTES (64 * 1024)	/* one per descriptor */
#define CTRL_RX 2
#define CTRL_TX 3

/* Common config offsets (4.1.4.3). */
#define C_DFSEL 0x00
#define C_DF 0x04
#define C_GFSEL 0x08
#define C_GF 0x0c
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_QSEL 0x16
#define C_QSIZE 0x18
#define C_QENABLE 0x1c
#define C_QDESC 0x20
#define C_QDRIVER 0x28
#define C_QDEVICE 0x30

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_ALL (S_ACK | S_DRV | S_FOK | S_DOK)

#define F_MULTIPORT (1ULL << 1)
#define F_EMERG (1ULL << 2)
#define F_MODERN (VIRTIO_F_VERSION_1 | F_MULTIPORT)

enum { DEVICE_READY, DEVICE_ADD, DEVICE_REMOVE, PORT_READY, CONSOLE_PORT,
	RESIZE, PORT_OPEN, PORT_NAME };

/* ---- The fake VM ---- */

struct gq {
	int q;
	uint16_t size;
	uint64_t desc, avail, used, bufs;
	uint16_t aidx;		/* the driver's avail->idx */
	uint16_t seen;		/* used entries consumed */
	uint16_t dnext;		/* next free descriptor */
};

struct fx {
	struct bhyve_vm bvm;
	int init_error;
	struct pci_devinst *pi;
	struct virtio_softc *vs;
	uint8_t *ram;
	uint64_t common, notify, devcfg;
	uint32_t notify_mult;
	struct gq q[NVQ];
	char dir[64];
	char path[4][96];	/* sockets for ports 0, 1, 5 and spare */
	int nintr;
};

static int
rec_msi(void *arg, uint64_t addr, uint64_t data)
{
	((struct fx *)arg)->nintr++;
	return 0;
}

static int
rec_isa(void *arg, int a, int b)
{
	((struct fx *)arg)->nintr++;
	return 0;
}

static int
rec_pin(void *arg, int pin)
{
	((struct fx *)arg)->nintr++;
	return 0;
}

static const struct pci_intr_ops rec_ops = {
	.isa_assert = rec_isa,
	.isa_deassert = rec_isa,
	.ioapic_assert = rec_pin,
	.ioapic_deassert = rec_pin,
	.msi = rec_msi,
};

static const struct pci_devemu *const test_emus[] = {
	&pci_de_virtio_console };





static uint64_t
bar_addr(struct fx *f, int bar)
{
	uint64_t lo = fake_cfg_rd(&f->bvm, SLOT, PCIR_BAR(bar), 4);

	if ((lo & 6) == 4)
		return (lo & ~0xfULL) | fake_cfg_rd(&f->bvm, SLOT,
		    PCIR_BAR(bar + 1), 4) << 32;
	return lo & ~0xfULL;
}

/* The vendor capabilities, as a driver finds them (4.1.4). */
static void
find_caps(struct fx *f)
{
	int off = (int)fake_cfg_rd(&f->bvm, SLOT, PCIR_CAP_PTR, 1), steps = 0;

	while (off != 0 && steps++ < 48) {
		if (fake_cfg_rd(&f->bvm, SLOT, off, 1) == PCIY_VENDOR) {
			int type = (int)fake_cfg_rd(&f->bvm, SLOT, off + 3, 1);
			uint64_t at = bar_addr(f, (int)fake_cfg_rd(&f->bvm,
			    SLOT, off + 4, 1)) +
			    fake_cfg_rd(&f->bvm, SLOT, off + 8, 4);

			if (type == 1)
				f->common = at;
			if (type == 2) {
				f->notify = at;
				f->notify_mult = (uint32_t)fake_cfg_rd(&f->bvm,
				    SLOT, off + 16,
				    4);
			}
			if (type == 4)
				f->devcfg = at;
		}
		off = (int)fake_cfg_rd(&f->bvm, SLOT, off + 1, 1);
	}
}

/* Sockets for ports in a fresh directory: paths 0-3. */
static void
fx_paths(struct fx *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/t-vcon-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		f->dir[0] = '\0';
	for (int i = 0; i < 4; i++)
		snprintf(f->path[i], sizeof(f->path[i]), "%s/p%d.sock",
		    f->dir, i);
}

/*
 * The VM with the console at slot 3, configured by 'kv' (key, value
 * pairs; "@N" in a value is replaced by path N).
 */
static int
fx_setup(struct fx *f, const char *const *kv)
{
	struct pci_emul_opts o = { .extra = test_emus, .nextra = 1,
		.intr_ops = &rec_ops, .intr_arg = f };

	memset(f, 0, sizeof(*f));
	fx_paths(f);
	if (fake_vm_init(&f->bvm, "t-vcon", VMM_BACKEND_NULL, RAM_SIZE,
	    NULL) != 0 || !f->dir[0] ||
	    config_set(f->bvm.cfg, "pci.0.0.0.device", "hostbridge") != 0 ||
	    config_set(f->bvm.cfg, "pci.0.3.0.device", "virtio-console") != 0)
		return -1;
	for (; kv && kv[0]; kv += 2) {
		const char *v = kv[1][0] == '@' ? f->path[kv[1][1] - '0'] :
		    kv[1];

		if (config_set(f->bvm.cfg, kv[0], v) != 0)
			return -1;
	}
	f->ram = vm_map_gpa(f->bvm.ctx, 0, RAM_SIZE);
	f->init_error = pci_emul_init_opts(&f->bvm, &o);
	for (f->pi = pci_next(&f->bvm, NULL); f->pi && f->pi->pi_slot != SLOT;
	    f->pi = pci_next(&f->bvm, f->pi))
		;
	if (f->init_error || f->pi == NULL)
		return 0;
	f->vs = f->pi->pi_arg;
	find_caps(f);
	return 0;
}

static void
fx_teardown(struct fx *f)
{
	fake_vm_fini(&f->bvm);
	for (int i = 0; i < 4; i++)
		(void)unlink(f->path[i]);
	if (f->dir[0])
		(void)rmdir(f->dir);
}

/* Turn the event loop: accepts, socket input, continued rounds. */
static void
fx_pump(struct fx *f)
{
	for (int i = 0; i < 16; i++)
		CHECK_EQ(mevent_run_once(f->bvm.mev, 0), 0);
}

static uint8_t
status(struct fx *f)
{
	return (uint8_t)fake_mmio_rd(&f->bvm, f->common + C_STATUS, 1);
}

static uint64_t
dev_features(struct fx *f)
{
	uint64_t lo;

	fake_mmio_wr(&f->bvm, f->common + C_DFSEL, 4, 0);
	lo = fake_mmio_rd(&f->bvm, f->common + C_DF, 4);
	fake_mmio_wr(&f->bvm, f->common + C_DFSEL, 4, 1);
	return lo | fake_mmio_rd(&f->bvm, f->common + C_DF, 4) << 32;
}

/* ---- Guest rings ---- */

static void
g_w16(struct fx *f, uint64_t gpa, uint16_t v)
{
	memcpy(f->ram + gpa, &v, 2);
}

static uint16_t
g_r16(struct fx *f, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, f->ram + gpa, 2);
	return v;
}

static uint32_t
g_r32(struct fx *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, f->ram + gpa, 4);
	return v;
}

static void
g_desc(struct fx *f, struct gq *r, int i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags,
		.next = next };

	memcpy(f->ram + r->desc + 16 * (uint64_t)i, &d, sizeof(d));
}

static void
g_rdesc(struct fx *f, struct gq *r, int i, struct vring_desc *d)
{
	memcpy(d, f->ram + r->desc + 16 * (uint64_t)i, sizeof(*d));
}

/* The driver's queue set-up (4.1.5.1.3). */
static void
gq_setup(struct fx *f, int q)
{
	struct gq *r = &f->q[q];
	uint64_t base = RING_BASE + (uint64_t)q * 0x1000;

	*r = (struct gq){ .q = q, .size = QSZ, .desc = base,
		.avail = base + VQ_DESC_BYTES(QSZ),
		.bufs = BUF_BASE + (uint64_t)q * MiB };
	r->used = (r->avail + VQ_AVAIL_BYTES(QSZ) + 3) & ~3ULL;
	memset(f->ram + base, 0, 0x1000);
	fake_mmio_wr(&f->bvm, f->common + C_QSEL, 2, (uint64_t)q);
	fake_mmio_wr(&f->bvm, f->common + C_QSIZE, 2, QSZ);
	fake_mmio_wr(&f->bvm, f->common + C_QDESC, 8, r->desc);
	fake_mmio_wr(&f->bvm, f->common + C_QDRIVER, 8, r->avail);
	fake_mmio_wr(&f->bvm, f->common + C_QDEVICE, 8, r->used);
	fake_mmio_wr(&f->bvm, f->common + C_QENABLE, 2, 1);
}

static void
gq_kick(struct fx *f, int q)
{
	fake_mmio_wr(&f->bvm, f->notify + (uint64_t)q * f->notify_mult, 2,
	    (uint64_t)q);
}

struct seg {
	uint32_t len;
	bool write;
	const void *data;	/* readable buffers: their bytes */
	uint64_t addr;		/* 0: the descriptor's own slot */
};

/* Post a chain of segments (not notified); returns its head. */
static uint16_t
gq_chain(struct fx *f, int q, const struct seg *s, int n)
{
	struct gq *r = &f->q[q];
	uint16_t head = r->dnext % QSZ;

	for (int i = 0; i < n; i++) {
		int d = r->dnext++ % QSZ;
		uint64_t a = s[i].addr ? s[i].addr :
		    r->bufs + (uint64_t)d * SLOT_BYTES;

		if (s[i].data != NULL)
			memcpy(f->ram + a, s[i].data, s[i].len);
		g_desc(f, r, d, a, s[i].len, (uint16_t)((s[i].write ?
		    VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT :
		    0)), (uint16_t)(r->dnext % QSZ));
	}
	g_w16(f, r->avail + 4 + 2 * (uint64_t)(r->aidx % QSZ), head);
	r->aidx++;
	g_w16(f, r->avail + 2, r->aidx);
	return head;
}

static uint16_t
gq_used_idx(struct fx *f, int q)
{
	return g_r16(f, f->q[q].used + 2);
}

/* The next used entry not seen yet. */
static bool
gq_next_used(struct fx *f, int q, uint16_t *id, uint32_t *len)
{
	struct gq *r = &f->q[q];
	uint64_t e = r->used + 4 + 8 * (uint64_t)(r->seen % QSZ);

	if (gq_used_idx(f, q) == r->seen)
		return false;
	*id = (uint16_t)g_r32(f, e);
	*len = g_r32(f, e + 4);
	r->seen++;
	return true;
}

/* What the device wrote into chain 'head': 'len' bytes, in order. */
static size_t
gq_copy_out(struct fx *f, int q, uint16_t head, uint32_t len, void *dst,
    size_t max)
{
	struct gq *r = &f->q[q];
	struct vring_desc d;
	size_t done = 0;

	for (int i = head, n = 0; n < QSZ; n++) {
		g_rdesc(f, r, i, &d);
		if (d.flags & VRING_DESC_F_WRITE) {
			size_t k = d.len < len - done ? d.len : len - done;

			k = k < max - done ? k : max - done;
			memcpy((uint8_t *)dst + done, f->ram + d.addr, k);
			done += k;
		}
		if (!(d.flags & VRING_DESC_F_NEXT) || done >= len)
			break;
		i = d.next;
	}
	return done;
}

/* ---- The driver ---- */

/* 3.1.1 with 'features', the control and given data queues, DRIVER_OK. */
static void
drv_start(struct fx *f, uint64_t features, const int *queues, int n)
{
	uint64_t c = f->common;

	fake_mmio_wr(&f->bvm, c + C_STATUS, 1, 0);
	fake_mmio_wr(&f->bvm, c + C_STATUS, 1, S_ACK | S_DRV);
	fake_mmio_wr(&f->bvm, c + C_GFSEL, 4, 0);
	fake_mmio_wr(&f->bvm, c + C_GF, 4, (uint32_t)features);
	fake_mmio_wr(&f->bvm, c + C_GFSEL, 4, 1);
	fake_mmio_wr(&f->bvm, c + C_GF, 4, features >> 32);
	fake_mmio_wr(&f->bvm, c + C_STATUS, 1, S_ACK | S_DRV | S_FOK);
	CHECK(status(f) & S_FOK);
	for (int i = 0; i < n; i++)
		gq_setup(f, queues[i]);
	fake_mmio_wr(&f->bvm, c + C_STATUS, 1, S_ALL);
	CHECK_EQ(status(f), S_ALL);
}

static int
rxq(int port)
{
	return port == 0 ? 0 : 2 * port + 2;
}

static int
txq(int port)
{
	return rxq(port) + 1;
}

/* Multiport, the control queues and the data queues of two ports. */
static void
drv_start_mp(struct fx *f, int pa, int pb)
{
	const int qs[] = { CTRL_RX, CTRL_TX, rxq(pa), txq(pa), rxq(pb),
		txq(pb) };

	drv_start(f, F_MODERN, qs, 6);
}

struct cmsg {
	uint32_t id;
	uint16_t event, value;
	char name[300];
};

static void
ctrl_post_rx(struct fx *f, int n, uint32_t len)
{
	const struct seg s = { .len = len, .write = true };

	for (int i = 0; i < n; i++)
		(void)gq_chain(f, CTRL_RX, &s, 1);
	gq_kick(f, CTRL_RX);
}

/* The next message from the device; its buffer goes back to the ring. */
static bool
ctrl_recv(struct fx *f, struct cmsg *m)
{
	uint8_t buf[512];
	uint32_t len;
	uint16_t id;
	size_t n;

	if (!gq_next_used(f, CTRL_RX, &id, &len))
		return false;
	memset(m, 0, sizeof(*m));
	n = gq_copy_out(f, CTRL_RX, id, len, buf, sizeof(buf));
	if (n >= 8) {
		memcpy(&m->id, buf, 4);
		memcpy(&m->event, buf + 4, 2);
		memcpy(&m->value, buf + 6, 2);
		memcpy(m->name, buf + 8, n - 8 < 299 ? n - 8 : 299);
	} else {
		m->event = 0xffff;	/* an empty buffer given back */
	}
	ctrl_post_rx(f, 1, 512);
	return true;
}

/* The next message must be this one (name: PORT_NAME's, or NULL). */
static void
ctrl_expect(struct fx *f, uint32_t id, uint16_t event, uint16_t value,
    const char *name)
{
	struct cmsg m;

	if (!ctrl_recv(f, &m)) {
		fprintf(stderr, "  no control message (want event %u port "
		    "%u)\n", event, id);
		CHECK(false);
		return;
	}
	CHECK_EQ(m.event, event);
	CHECK_EQ(m.id, id);
	CHECK_EQ(m.value, value);
	if (name != NULL)
		CHECK_STR(m.name, name);
}

static void
ctrl_none(struct fx *f)
{
	struct cmsg m;
	bool got = ctrl_recv(f, &m);

	if (got)
		fprintf(stderr, "  unexpected control event %u port %u value "
		    "%u\n", m.event, m.id, m.value);
	CHECK(!got);
}

/* A message to the device, as 'n' bytes (8: a whole one). */
static void
ctrl_send_raw(struct fx *f, uint32_t id, uint16_t event, uint16_t value,
    uint32_t n)
{
	uint8_t msg[8];
	struct seg s = { .len = n, .data = msg };
	uint16_t before = gq_used_idx(f, CTRL_TX);

	memcpy(msg, &id, 4);
	memcpy(msg + 4, &event, 2);
	memcpy(msg + 6, &value, 2);
	(void)gq_chain(f, CTRL_TX, &s, 1);
	gq_kick(f, CTRL_TX);
	CHECK_EQ(gq_used_idx(f, CTRL_TX), (uint16_t)(before + 1));
	f->q[CTRL_TX].seen = gq_used_idx(f, CTRL_TX);
}

static void
ctrl_send(struct fx *f, uint32_t id, uint16_t event, uint16_t value)
{
	ctrl_send_raw(f, id, event, value, 8);
}

/* DEVICE_READY and PORT_READY for each port announced ('n' of them). */
static void
handshake(struct fx *f, const int *ids, const char *const *names, int n)
{
	ctrl_post_rx(f, 8, 512);
	ctrl_send(f, 0, DEVICE_READY, 1);
	for (int i = 0; i < n; i++)
		ctrl_expect(f, (uint32_t)ids[i], DEVICE_ADD, 1, NULL);
	ctrl_none(f);
	for (int i = 0; i < n; i++) {
		ctrl_send(f, (uint32_t)ids[i], PORT_READY, 1);
		if (names[i] != NULL)
			ctrl_expect(f, (uint32_t)ids[i], PORT_NAME, 1,
			    names[i]);
	}
}

/* Guest data: write on a port; post receive buffers; read what came. */
static void
g_write(struct fx *f, int port, const char *s)
{
	const struct seg seg = { .len = (uint32_t)strlen(s), .data = s };

	(void)gq_chain(f, txq(port), &seg, 1);
	gq_kick(f, txq(port));
}

static void
g_post_rx(struct fx *f, int port, int n, uint32_t len)
{
	const struct seg s = { .len = len, .write = true };

	for (int i = 0; i < n; i++)
		(void)gq_chain(f, rxq(port), &s, 1);
	gq_kick(f, rxq(port));
}

/* Everything received on the port since the last call, NUL-terminated. */
static size_t
g_read(struct fx *f, int port, char *buf, size_t max)
{
	size_t done = 0;
	uint32_t len;
	uint16_t id;

	while (done + 1 < max && gq_next_used(f, rxq(port), &id, &len))
		done += gq_copy_out(f, rxq(port), id, len, buf + done,
		    max - 1 - done);
	buf[done] = '\0';
	return done;
}

/* ---- Clients ---- */

static int
client(struct fx *f, int i)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path[i]);
	if (s < 0 || connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	(void)fcntl(s, F_SETFL, O_NONBLOCK);
	fx_pump(f);
	return s;
}

/* What the client has now, NUL-terminated; -1 at EOF with nothing. */
static ssize_t
c_read(int s, char *buf, size_t max)
{
	size_t done = 0;
	ssize_t n = -1;

	while (done + 1 < max && (n = read(s, buf + done, max - 1 - done)) > 0)
		done += (size_t)n;
	buf[done] = '\0';
	return done == 0 && n == 0 ? -1 : (ssize_t)done;
}

static void
c_write(struct fx *f, int s, const char *str)
{
	CHECK_EQ(write(s, str, strlen(str)), (ssize_t)strlen(str));
	fx_pump(f);
}

/* ---- Identity and configuration ---- */

static const char *const two_ports[] = {
	"pci.0.3.0.port.0.name", "org.test.zero",
	"pci.0.3.0.port.0.path", "@0",
	"pci.0.3.0.port.1.name", "org.test.one",
	"pci.0.3.0.port.1.path", "@1",
	NULL };

TEST(identity_and_config)
{
	struct stat st;
	struct fx f;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_VENDOR, 2), VIRTIO_VENDOR);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_DEVICE, 2), 0x1003);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBDEV_0, 2),
	    VIRTIO_ID_CONSOLE);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_CLASS, 1), 0x07);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBCLASS, 1), 0x80);
	REQUIRE(f.common && f.notify && f.devcfg);
	/* MULTIPORT; no EMERG_WRITE without a console, no SIZE. */
	CHECK_EQ(dev_features(&f) & 0xffffffffULL & ~(VIRTIO_CORE_CAPS),
	    F_MULTIPORT);
	CHECK(dev_features(&f) & VIRTIO_F_VERSION_1);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.common + C_NUMQ, 2), NVQ);
	fake_mmio_wr(&f.bvm, f.common + C_QSEL, 2, 33);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.common + C_QSIZE, 2), 64);
	/* cols, rows, max_nr_ports, emerg_wr (5.3.4). */
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg, 2), 0);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 2, 2), 0);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 4, 4), 16);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 8, 4), 0);
	/* The sockets are there, and go at teardown. */
	CHECK(stat(f.path[0], &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK(stat(f.path[1], &st) == 0 && S_ISSOCK(st.st_mode));
	pci_emul_destroy(&f.bvm);
	CHECK(stat(f.path[0], &st) != 0 && errno == ENOENT);
	CHECK(stat(f.path[1], &st) != 0 && errno == ENOENT);
	fx_teardown(&f);
}

/* One bad configuration: init fails with one line naming 'want'. */
static void
bad_config(const char *const *kv, const char *want)
{
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	CHECK(f.init_error != 0);
	if (strstr(f.bvm.err, want) == NULL || strchr(f.bvm.err, '\n') ||
	    strstr(f.bvm.err, "0:3:0") == NULL) {
		fprintf(stderr, "  want '%s' in \"%s\"\n", want, f.bvm.err);
		CHECK(false);
	}
	/* Nothing left behind by the failed start. */
	for (int i = 0; i < 4; i++)
		CHECK(access(f.path[i], F_OK) != 0);
	fx_teardown(&f);
}

TEST(start_up_errors)
{
	static const char *const bad_n[] = { "pci.0.3.0.port.x.name", "a",
		"pci.0.3.0.port.x.path", "@0", NULL };
	static const char *const zero_n[] = { "pci.0.3.0.port.01.name", "a",
		"pci.0.3.0.port.01.path", "@0", NULL };
	static const char *const many[] = { "pci.0.3.0.port.16.name", "a",
		"pci.0.3.0.port.16.path", "@0", NULL };
	static const char *const leaf[] = { "pci.0.3.0.port.2", "x", NULL };
	static const char *const nopath[] = { "pci.0.3.0.port.2.name", "a",
		NULL };
	static const char *const noname[] = { "pci.0.3.0.port.2.path", "@0",
		NULL };
	static const char *const dupname[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", "@0", "pci.0.3.0.port.1.name", "a",
		"pci.0.3.0.port.1.path", "@1", NULL };
	static const char *const duppath[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", "@0", "pci.0.3.0.port.1.name", "b",
		"pci.0.3.0.port.1.path", "@0", NULL };
	static const char *const slash[] = { "pci.0.3.0.port.0.name", "a/b",
		"pci.0.3.0.port.0.path", "@0", NULL };
	static const char *const nodir[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", "/nonexistent-vcon/x.sock", NULL };
	static const char *const notsock[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", "/dev/null", NULL };
	static const char *const later_bad[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", "@0", "pci.0.3.0.port.1.name", "b",
		"pci.0.3.0.port.1.path", "/nonexistent-vcon/y.sock", NULL };

	bad_config(bad_n, "port.x: not a port number");
	bad_config(zero_n, "port.01: not a port number");
	bad_config(many, "port.16: more ports than 16");
	bad_config(leaf, "port.2: want port.2.name and port.2.path");
	bad_config(nopath, "port.2.path is not set");
	bad_config(noname, "port.2.name is not set");
	bad_config(dupname, "port.1.name a: port.0 has that name too");
	bad_config(duppath, "port.1.path");
	bad_config(slash, "port.0.name 'a/b'");
	bad_config(nodir, "/nonexistent-vcon does not exist");
	bad_config(notsock, "/dev/null: exists and is not a socket");
	/* Port 0's socket was made, then port 1 failed: it is gone again. */
	bad_config(later_bad, "port.1.path /nonexistent-vcon/y.sock");
}

TEST(socket_path_too_long)
{
	char longpath[200];
	const char *const kv[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", longpath, NULL };

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	bad_config(kv, "port.0.path: 199 bytes, longer than a UNIX socket's "
	    "107");
}

/* A path someone listens on is refused; once they are gone, replaced. */
TEST(socket_in_use_or_stale)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *kv[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", NULL, NULL };
	struct fx f, g;
	int s, c;

	fx_paths(&f);
	REQUIRE(f.dir[0]);
	kv[3] = f.path[0];
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f.path[0]);
	REQUIRE(s >= 0 && bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    listen(s, 1) == 0);
	REQUIRE(fx_setup(&g, kv) == 0);
	CHECK(g.init_error != 0);
	CHECK(strstr(g.bvm.err, "port.0.path") != NULL &&
	    strstr(g.bvm.err, "in use") != NULL);
	fx_teardown(&g);
	/* The listener is gone, its socket file stays: stale, replaced. */
	close(s);
	REQUIRE(fx_setup(&g, kv) == 0 && g.init_error == 0);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(c);
	fx_teardown(&g);
	CHECK(access(f.path[0], F_OK) != 0);
	rmdir(f.dir);
}

/* A file put in our socket's place is not ours to remove. */
TEST(socket_replaced_is_kept)
{
	static const char *const one[] = { "pci.0.3.0.port.0.name", "a",
		"pci.0.3.0.port.0.path", "@0", NULL };
	struct fx f;
	int s;

	REQUIRE(fx_setup(&f, one) == 0 && f.init_error == 0);
	REQUIRE(unlink(f.path[0]) == 0);
	s = open(f.path[0], O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(s >= 0);
	close(s);
	pci_emul_destroy(&f.bvm);
	CHECK(access(f.path[0], F_OK) == 0);
	fx_teardown(&f);
}

/* ---- The control handshake ---- */

static const char *const three_ports[] = {
	"pci.0.3.0.port.0.name", "org.test.zero",
	"pci.0.3.0.port.0.path", "@0",
	"pci.0.3.0.port.1.name", "org.test.one",
	"pci.0.3.0.port.1.path", "@1",
	"pci.0.3.0.port.5.name", "org.test.five",
	"pci.0.3.0.port.5.path", "@2",
	NULL };
static const int three_ids[] = { 0, 1, 5 };
static const char *const three_names[] = { "org.test.zero", "org.test.one",
	"org.test.five" };

TEST(control_handshake)
{
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, three_ports) == 0 && f.init_error == 0 && f.pi);
	drv_start_mp(&f, 1, 5);
	handshake(&f, three_ids, three_names, 3);
	/* No client anywhere: no PORT_OPEN, no console. */
	ctrl_none(&f);
	/* A second DEVICE_READY adds nothing (5.3.6.2.1). */
	ctrl_send(&f, 0, DEVICE_READY, 1);
	ctrl_none(&f);
	/* A client on port 5's socket: PORT_OPEN 1, and 0 when it goes. */
	c = client(&f, 2);
	REQUIRE(c >= 0);
	ctrl_expect(&f, 5, PORT_OPEN, 1, NULL);
	ctrl_none(&f);
	close(c);
	fx_pump(&f);
	ctrl_expect(&f, 5, PORT_OPEN, 0, NULL);
	ctrl_none(&f);
	CHECK_EQ(status(&f), S_ALL);
	fx_teardown(&f);
}

/* Messages owed wait for control buffers; a client before PORT_READY. */
TEST(control_messages_wait_for_buffers)
{
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	drv_start_mp(&f, 0, 1);
	c = client(&f, 1);
	REQUIRE(c >= 0);
	/* DEVICE_READY with no receive buffers: nothing can come yet. */
	ctrl_send(&f, 0, DEVICE_READY, 1);
	ctrl_none(&f);
	ctrl_post_rx(&f, 1, 512);
	ctrl_expect(&f, 0, DEVICE_ADD, 1, NULL);
	ctrl_expect(&f, 1, DEVICE_ADD, 1, NULL);
	ctrl_send(&f, 1, PORT_READY, 1);
	/* The client was there before: NAME, then OPEN. */
	ctrl_expect(&f, 1, PORT_NAME, 1, "org.test.one");
	ctrl_expect(&f, 1, PORT_OPEN, 1, NULL);
	ctrl_none(&f);
	/* Port 0 has no client: its name, and no PORT_OPEN. */
	ctrl_send(&f, 0, PORT_READY, 1);
	ctrl_expect(&f, 0, PORT_NAME, 1, "org.test.zero");
	ctrl_none(&f);
	fx_teardown(&f);
	close(c);
}

/* ---- Data ---- */

/* Both ports ready, port 1 opened by the guest, a client on port 1. */
static int
ready_port1(struct fx *f)
{
	static const int ids[] = { 0, 1 };
	static const char *const names[] = { "org.test.zero", "org.test.one" };
	int c;

	drv_start_mp(f, 0, 1);
	handshake(f, ids, names, 2);
	ctrl_none(f);
	c = client(f, 1);
	ctrl_expect(f, 1, PORT_OPEN, 1, NULL);
	ctrl_send(f, 1, PORT_OPEN, 1);
	return c;
}

TEST(data_both_ways)
{
	static const struct seg tx3[] = { { .len = 2, .data = "ab" },
		{ .len = 0, .data = "" }, { .len = 3, .data = "cde" },
		{ .len = 16, .write = true } };
	static const struct seg rx2[] = { { .len = 3, .write = true },
		{ .len = 100, .write = true } };
	char buf[256];
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	c = ready_port1(&f);
	REQUIRE(c >= 0);
	/* Host to guest. */
	g_post_rx(&f, 1, 1, 64);
	c_write(&f, c, "ping\n");
	CHECK_EQ(g_read(&f, 1, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "ping\n");
	/* Guest to host. */
	g_write(&f, 1, "pong\n");
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "pong\n");
	/* A chain of several buffers; a writable one at the end skipped. */
	(void)gq_chain(&f, txq(1), tx3, 4);
	gq_kick(&f, txq(1));
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "abcde");
	/* A receive chain of two buffers takes 10 bytes across both. */
	(void)gq_chain(&f, rxq(1), rx2, 2);
	gq_kick(&f, rxq(1));
	c_write(&f, c, "0123456789");
	CHECK_EQ(g_read(&f, 1, buf, sizeof(buf)), 10);
	CHECK_STR(buf, "0123456789");
	/* Port 0 has no client: its data is dropped, the chain returned. */
	g_write(&f, 0, "nobody");
	CHECK_EQ(gq_used_idx(&f, txq(0)), 1);
	CHECK_EQ(status(&f), S_ALL);
	close(c);
	fx_teardown(&f);
}

/* Used receive chains, checked against the stream's pattern from 'at'. */
static size_t
rx_check_pattern(struct fx *f, int port, size_t at)
{
	size_t got = 0;
	uint32_t len;
	uint16_t id;

	while (gq_next_used(f, rxq(port), &id, &len)) {
		const uint8_t *p = f->ram + f->q[rxq(port)].bufs +
		    (uint64_t)id * SLOT_BYTES;

		for (uint32_t k = 0; k < len; k++)
			if (p[k] != (uint8_t)('a' + (at + got + k) % 26)) {
				CHECK_EQ(at + got + k, (size_t)-1);
				break;
			}
		got += len;
	}
	return got;
}

/* Input waits for the guest to open the port and post buffers. */
TEST(rx_waits_for_guest)
{
	static const int ids[] = { 0, 1 };
	static const char *const names[] = { "org.test.zero", "org.test.one" };
	static char big[4096];
	char buf[64];
	size_t sent = 0, got = 0;
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	drv_start_mp(&f, 0, 1);
	handshake(&f, ids, names, 2);
	c = client(&f, 1);
	REQUIRE(c >= 0);
	ctrl_expect(&f, 1, PORT_OPEN, 1, NULL);
	/* Buffers, but the guest has not opened the port: nothing. */
	g_post_rx(&f, 1, 1, 64);
	c_write(&f, c, "early");
	CHECK_EQ(gq_used_idx(&f, rxq(1)), 0);
	ctrl_send(&f, 1, PORT_OPEN, 1);
	CHECK_EQ(g_read(&f, 1, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "early");
	/*
	 * No buffers: the device stops reading, so the client's writes
	 * back up until its socket is full.
	 */
	for (int i = 0; i < 16384; i++) {
		ssize_t n;

		for (size_t k = 0; k < sizeof(big); k++)
			big[k] = (char)('a' + (sent + k) % 26);
		n = write(c, big, sizeof(big));

		fx_pump(&f);
		if (n < 0)
			break;
		sent += (size_t)n;
	}
	CHECK(errno == EAGAIN);
	CHECK(sent > 0 && sent < 16384 * sizeof(big));
	CHECK_EQ(gq_used_idx(&f, rxq(1)), 1);
	/* Then the guest takes it all, in order. */
	while (got < sent) {
		uint16_t before = gq_used_idx(&f, rxq(1));

		g_post_rx(&f, 1, 1, SLOT_BYTES);
		fx_pump(&f);
		if (gq_used_idx(&f, rxq(1)) == before)
			break;
		got += rx_check_pattern(&f, 1, got);
	}
	CHECK_EQ(got, sent);
	close(c);
	fx_teardown(&f);
}

/*
 * Post 64 KiB chains on port's transmitq, one at a time, until the
 * device holds one (the client is not reading); chain i's bytes are the
 * stream offsets mod 251.  Returns the chains posted.
 */
static int
tx_until_held(struct fx *f, int port)
{
	struct seg s = { .len = SLOT_BYTES };
	int q = txq(port), i;

	for (i = 0; i < 1024; i++) {
		struct gq *r = &f->q[q];
		uint8_t *p = f->ram + r->bufs +
		    (uint64_t)(r->dnext % QSZ) * SLOT_BYTES;

		for (size_t k = 0; k < SLOT_BYTES; k++)
			p[k] = (uint8_t)(((size_t)i * SLOT_BYTES + k) % 251);
		(void)gq_chain(f, q, &s, 1);
		gq_kick(f, q);
		if (gq_used_idx(f, q) != (uint16_t)(i + 1))
			return i + 1;
	}
	CHECK(false);	/* 64 MiB went into the socket: no flow control */
	return i;
}

/* The client does not read: the device stops taking chains. */
TEST(tx_flow_control)
{
	uint8_t *rbuf;
	size_t got = 0, total;
	struct fx f;
	int c, n;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	c = ready_port1(&f);
	REQUIRE(c >= 0);
	n = tx_until_held(&f, 1);
	total = (size_t)n * SLOT_BYTES;
	rbuf = malloc(total);
	REQUIRE(rbuf != NULL);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, txq(1)), n - 1);
	/* A notification while full changes nothing. */
	gq_kick(&f, txq(1));
	CHECK_EQ(gq_used_idx(&f, txq(1)), n - 1);
	/* The client reads; the device goes on from where it stopped. */
	for (int rounds = 0; got < total && rounds < 100000; rounds++) {
		ssize_t k = read(c, rbuf + got, total - got);

		if (k > 0)
			got += (size_t)k;
		fx_pump(&f);
	}
	CHECK_EQ(got, total);
	for (size_t k = 0; k < got; k++)
		if (rbuf[k] != (uint8_t)(k % 251)) {
			CHECK_EQ(k, got);
			break;
		}
	CHECK_EQ(gq_used_idx(&f, txq(1)), n);
	CHECK_EQ(c_read(c, (char *)rbuf, 2), 0);
	close(c);
	fx_teardown(&f);
	free(rbuf);
}

/* A client that leaves while a chain waits for it: the chain is let go. */
TEST(client_leaves_while_full)
{
	struct fx f;
	int c, n;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	c = ready_port1(&f);
	REQUIRE(c >= 0);
	n = tx_until_held(&f, 1);
	CHECK_EQ(gq_used_idx(&f, txq(1)), n - 1);
	close(c);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, txq(1)), n);
	ctrl_expect(&f, 1, PORT_OPEN, 0, NULL);
	CHECK_EQ(status(&f), S_ALL);
	fx_teardown(&f);
}

TEST(reconnects)
{
	char buf[64];
	struct fx f;
	int c, c2, c3;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	c = ready_port1(&f);
	REQUIRE(c >= 0);
	/* A second client while the first is there: closed at once. */
	c2 = client(&f, 1);
	REQUIRE(c2 >= 0);
	CHECK_EQ(c_read(c2, buf, sizeof(buf)), -1);
	close(c2);
	ctrl_none(&f);
	g_write(&f, 1, "first");
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "first");
	close(c);
	fx_pump(&f);
	ctrl_expect(&f, 1, PORT_OPEN, 0, NULL);
	/* Nobody there: dropped, not kept for the next client. */
	g_write(&f, 1, "lost");
	CHECK_EQ(gq_used_idx(&f, txq(1)), 2);
	c3 = client(&f, 1);
	REQUIRE(c3 >= 0);
	ctrl_expect(&f, 1, PORT_OPEN, 1, NULL);
	g_write(&f, 1, "third");
	CHECK_EQ(c_read(c3, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "third");
	g_post_rx(&f, 1, 1, 64);
	c_write(&f, c3, "back");
	CHECK_EQ(g_read(&f, 1, buf, sizeof(buf)), 4);
	CHECK_STR(buf, "back");
	close(c3);
	fx_teardown(&f);
}

/* A client that shuts down its sending side still gets output. */
TEST(half_close)
{
	char buf[64];
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	c = ready_port1(&f);
	REQUIRE(c >= 0);
	g_post_rx(&f, 1, 1, 64);
	CHECK_EQ(write(c, "cmd\n", 4), 4);
	CHECK_EQ(shutdown(c, SHUT_WR), 0);
	fx_pump(&f);
	CHECK_EQ(g_read(&f, 1, buf, sizeof(buf)), 4);
	ctrl_none(&f);
	g_write(&f, 1, "reply\n");
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 6);
	CHECK_STR(buf, "reply\n");
	/* Now it goes for good: noticed by the next write. */
	close(c);
	g_write(&f, 1, "gone");
	ctrl_expect(&f, 1, PORT_OPEN, 0, NULL);
	CHECK_EQ(gq_used_idx(&f, txq(1)), 2);
	/* And a new client is taken. */
	c = client(&f, 1);
	ctrl_expect(&f, 1, PORT_OPEN, 1, NULL);
	close(c);
	fx_teardown(&f);
}

/* ---- Hostile drivers ---- */

TEST(hostile_control_messages)
{
	static const int ids[] = { 0, 1 };
	static const char *const names[] = { "org.test.zero", "org.test.one" };
	static const uint8_t split[8] = { 1, 0, 0, 0, PORT_OPEN, 0, 1, 0 };
	const struct seg halves[] = { { .len = 4, .data = split },
		{ .len = 4, .data = split + 4 } };
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	drv_start_mp(&f, 0, 1);
	ctrl_post_rx(&f, 8, 512);
	/* Before DEVICE_READY no port exists for the driver. */
	ctrl_send(&f, 1, PORT_READY, 1);
	ctrl_send(&f, 0, DEVICE_READY, 1);
	ctrl_expect(&f, 0, DEVICE_ADD, 1, NULL);
	ctrl_expect(&f, 1, DEVICE_ADD, 1, NULL);
	ctrl_send_raw(&f, 1, PORT_READY, 1, 4);		/* truncated */
	ctrl_send_raw(&f, 1, PORT_READY, 1, 0);		/* empty */
	ctrl_send(&f, 1, 99, 1);			/* no such event */
	ctrl_send(&f, 1, DEVICE_ADD, 1);		/* the device's */
	ctrl_send(&f, 1, PORT_NAME, 1);
	ctrl_send(&f, 1, RESIZE, 1);
	ctrl_send(&f, 7, PORT_READY, 1);		/* not added */
	ctrl_send(&f, 1000, PORT_READY, 1);
	ctrl_send(&f, 0xffffffff, PORT_OPEN, 1);
	ctrl_send(&f, 1, PORT_READY, 7);		/* bad value */
	ctrl_send(&f, 0, DEVICE_READY, 0xffff);
	ctrl_none(&f);
	CHECK_EQ(status(&f), S_ALL);
	/* Still works: the real thing, and a message in two buffers. */
	for (int i = 0; i < 2; i++) {
		ctrl_send(&f, (uint32_t)ids[i], PORT_READY, 1);
		ctrl_expect(&f, (uint32_t)ids[i], PORT_NAME, 1, names[i]);
	}
	(void)gq_chain(&f, CTRL_TX, halves, 2);
	gq_kick(&f, CTRL_TX);
	c = client(&f, 1);
	ctrl_expect(&f, 1, PORT_OPEN, 1, NULL);
	g_post_rx(&f, 1, 1, 16);
	c_write(&f, c, "x");
	CHECK_EQ(gq_used_idx(&f, rxq(1)), 1);	/* the split OPEN counted */
	close(c);
	fx_pump(&f);
	ctrl_expect(&f, 1, PORT_OPEN, 0, NULL);
	ctrl_none(&f);
	CHECK_EQ(status(&f), S_ALL);
	fx_teardown(&f);
}

TEST(small_control_buffers)
{
	struct fx f;
	struct cmsg m;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	drv_start_mp(&f, 0, 1);
	ctrl_post_rx(&f, 1, 4);
	ctrl_post_rx(&f, 1, 7);
	ctrl_post_rx(&f, 1, 8);
	ctrl_send(&f, 0, DEVICE_READY, 1);
	/* The two small ones come back empty; ADD for 0 in the third. */
	CHECK(ctrl_recv(&f, &m) && m.event == 0xffff);
	CHECK(ctrl_recv(&f, &m) && m.event == 0xffff);
	CHECK(ctrl_recv(&f, &m) && m.event == DEVICE_ADD && m.id == 0);
	/* ctrl_recv reposted 512-byte buffers: the rest follows. */
	ctrl_expect(&f, 1, DEVICE_ADD, 1, NULL);
	ctrl_none(&f);
	CHECK_EQ(status(&f), S_ALL);
	fx_teardown(&f);
}

TEST(hostile_chains)
{
	static const struct seg ro_rx = { .len = 8, .data = "readonly" };
	static const struct seg wo_tx = { .len = 8, .write = true };
	const struct seg outside = { .len = 16, .data = NULL,
		.addr = RAM_SIZE - 8 };
	char buf[64];
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	c = ready_port1(&f);
	REQUIRE(c >= 0);
	/* A receive chain with nothing writable: returned unused. */
	(void)gq_chain(&f, rxq(1), &ro_rx, 1);
	gq_kick(&f, rxq(1));
	c_write(&f, c, "data");
	CHECK_EQ(gq_used_idx(&f, rxq(1)), 1);
	g_post_rx(&f, 1, 1, 64);
	fx_pump(&f);
	CHECK_EQ(g_read(&f, 1, buf, sizeof(buf)), 4);
	CHECK_STR(buf, "data");
	/* A transmit chain with nothing readable: returned, nothing sent. */
	(void)gq_chain(&f, txq(1), &wo_tx, 1);
	gq_kick(&f, txq(1));
	CHECK_EQ(gq_used_idx(&f, txq(1)), 1);
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 0);
	CHECK_EQ(status(&f), S_ALL);
	/* A buffer outside RAM: NEEDS_RESET, nothing sent. */
	(void)gq_chain(&f, txq(1), &outside, 1);
	gq_kick(&f, txq(1));
	CHECK(status(&f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 0);
	/* After a reset the driver starts over; the client is still there. */
	{
		static const int ids[] = { 0, 1 };
		static const char *const names[] = { "org.test.zero",
			"org.test.one" };

		drv_start_mp(&f, 0, 1);
		handshake(&f, ids, names, 2);
		ctrl_expect(&f, 1, PORT_OPEN, 1, NULL);
		ctrl_none(&f);
	}
	g_write(&f, 1, "again");
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "again");
	close(c);
	fx_teardown(&f);
}

/* A reset while a chain waits for the client: never returned after it. */
TEST(reset_forgets_held_chain)
{
	char *sink = malloc(SLOT_BYTES);
	struct fx f;
	int c, n;

	REQUIRE(sink != NULL);
	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	c = ready_port1(&f);
	REQUIRE(c >= 0);
	n = tx_until_held(&f, 1);
	CHECK_EQ(gq_used_idx(&f, txq(1)), n - 1);
	fake_mmio_wr(&f.bvm, f.common + C_STATUS, 1, 0);
	CHECK_EQ(status(&f), 0);
	/* The client drains; the write event finds nothing to finish. */
	while (c_read(c, sink, SLOT_BYTES) > 0)
		fx_pump(&f);
	fx_pump(&f);
	/* A new driver: fresh queues, nothing stale put in them. */
	drv_start_mp(&f, 0, 1);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, txq(1)), 0);
	CHECK_EQ(c_read(c, sink, SLOT_BYTES), 0);
	CHECK_EQ(status(&f), S_ALL);
	close(c);
	fx_teardown(&f);
	free(sink);
}

/* Without MULTIPORT: port 0 alone, on queues 0 and 1. */
TEST(single_port_without_multiport)
{
	static const int qs[] = { 0, 1, CTRL_RX, CTRL_TX };
	char buf[64];
	struct fx f;
	int c;

	REQUIRE(fx_setup(&f, two_ports) == 0 && f.init_error == 0 && f.pi);
	drv_start(&f, VIRTIO_F_VERSION_1, qs, 4);
	c = client(&f, 0);
	REQUIRE(c >= 0);
	g_write(&f, 0, "single");
	CHECK_EQ(c_read(c, buf, sizeof(buf)), 6);
	CHECK_STR(buf, "single");
	g_post_rx(&f, 0, 1, 64);
	c_write(&f, c, "in");
	CHECK_EQ(g_read(&f, 0, buf, sizeof(buf)), 2);
	CHECK_STR(buf, "in");
	/* No control queues for this driver: messages are ignored. */
	ctrl_post_rx(&f, 2, 512);
	ctrl_send(&f, 0, DEVICE_READY, 1);
	ctrl_none(&f);
	CHECK_EQ(status(&f), S_ALL);
	close(c);
	fx_teardown(&f);
}

/* ---- The console on stdio ---- */

struct stdio_swap {
	int saved[2];
	int in[2], out[2];	/* pipes: we write in[1], read out[0] */
};

static bool
stdio_swap(struct stdio_swap *s)
{
	fflush(stdout);
	if (pipe2(s->in, O_CLOEXEC) != 0 || pipe2(s->out, O_CLOEXEC) != 0)
		return false;
	s->saved[0] = dup(0);
	s->saved[1] = dup(1);
	(void)fcntl(s->out[0], F_SETFL, O_NONBLOCK);
	return s->saved[0] >= 0 && s->saved[1] >= 0 &&
	    dup2(s->in[0], 0) == 0 && dup2(s->out[1], 1) == 1;
}

static void
stdio_restore(struct stdio_swap *s)
{
	fflush(stdout);
	(void)dup2(s->saved[0], 0);
	(void)dup2(s->saved[1], 1);
	for (int i = 0; i < 2; i++) {
		close(s->saved[i]);
		close(s->in[i]);
		close(s->out[i]);
	}
}

/* One stdio user per process: a second console port is refused. */
TEST(stdio_only_once)
{
	static const char *const kv[] = {
		"pci.0.3.0.port.2.path", "stdio",
		"pci.0.4.0.device", "virtio-console",
		"pci.0.4.0.port.0.path", "stdio",
		NULL };
	struct stdio_swap sw;
	struct fx f;

	REQUIRE(stdio_swap(&sw));
	if (fx_setup(&f, kv) == 0) {
		CHECK(f.init_error != 0);
		CHECK(strstr(f.bvm.err, "0:4:0") != NULL &&
		    strstr(f.bvm.err, "port.0.path=stdio") != NULL &&
		    strstr(f.bvm.err, "already in use") != NULL);
	}
	fx_teardown(&f);
	stdio_restore(&sw);
}

TEST(stdio_console)
{
	static const char *const kv[] = {
		"pci.0.3.0.port.0.name", "org.test.zero",
		"pci.0.3.0.port.0.path", "@0",
		"pci.0.3.0.port.2.path", "stdio",
		NULL };
	static const int ids[] = { 0, 2 };
	static const char *const names[] = { "org.test.zero", NULL };
	struct stdio_swap sw;
	char buf[64];
	struct fx f;

	REQUIRE(stdio_swap(&sw));
	if (fx_setup(&f, kv) != 0 || f.init_error || !f.pi) {
		stdio_restore(&sw);
		REQUIRE(false);
	}
	CHECK(dev_features(&f) & F_EMERG);
	/* emerg_wr works before the driver does anything else. */
	fake_mmio_wr(&f.bvm, f.devcfg + 8, 4, '!');
	drv_start_mp(&f, 0, 2);
	handshake(&f, ids, names, 2);
	ctrl_expect(&f, 2, CONSOLE_PORT, 1, NULL);
	ctrl_expect(&f, 2, PORT_OPEN, 1, NULL);
	ctrl_none(&f);
	ctrl_send(&f, 2, PORT_OPEN, 1);	/* its answer to CONSOLE_PORT */
	g_write(&f, 2, "console out\n");
	CHECK_EQ(c_read(sw.out[0], buf, sizeof(buf)), 13);
	CHECK_STR(buf, "!console out\n");
	g_post_rx(&f, 2, 1, 64);
	CHECK_EQ(write(sw.in[1], "typed", 5), 5);
	fx_pump(&f);
	CHECK_EQ(g_read(&f, 2, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "typed");
	/* No buffers: the terminal is not read. */
	CHECK_EQ(write(sw.in[1], "more", 4), 4);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, rxq(2)), 1);
	g_post_rx(&f, 2, 1, 64);
	fx_pump(&f);
	CHECK_EQ(g_read(&f, 2, buf, sizeof(buf)), 4);
	CHECK_STR(buf, "more");
	fx_teardown(&f);
	stdio_restore(&sw);
}

TEST_MAIN(
	TEST_ENTRY(identity_and_config)
	TEST_ENTRY(start_up_errors)
	TEST_ENTRY(socket_path_too_long)
	TEST_ENTRY(socket_in_use_or_stale)
	TEST_ENTRY(socket_replaced_is_kept)
	TEST_ENTRY(control_handshake)
	TEST_ENTRY(control_messages_wait_for_buffers)
	TEST_ENTRY(data_both_ways)
	TEST_ENTRY(rx_waits_for_guest)
	TEST_ENTRY(tx_flow_control)
	TEST_ENTRY(client_leaves_while_full)
	TEST_ENTRY(reconnects)
	TEST_ENTRY(half_close)
	TEST_ENTRY(hostile_control_messages)
	TEST_ENTRY(small_control_buffers)
	TEST_ENTRY(hostile_chains)
	TEST_ENTRY(reset_forgets_held_chain)
	TEST_ENTRY(single_port_without_multiport)
	TEST_ENTRY(stdio_only_once)
	TEST_ENTRY(stdio_console)
)
