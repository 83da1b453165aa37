/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-net through the PCI transport in a fake VM (null backend, 64
 * MiB), driven as a driver drives it: config space through ECAM, the
 * modern registers through the MMIO registry, the legacy ones through the
 * port registry, rings and buffers in guest RAM.  The network is the
 * loopback backend: what the guest transmits comes back on its receive
 * queue once the event loop has run; frames "from the network" are put
 * in with netbe_send() on the device's backend.
 */
#include <errno.h>
#include <string.h>

#include "bhyverun.h"
#include "config.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "net_backends.h"
#include "net_utils.h"
#include "pci_emul.h"
#include "test.h"
#include "virtio.h"
#include "vmmapi.h"

#define RAM_SIZE (64ULL << 20)
#define SLOT 3
#define MSI_BASE 0x40

#define C_DFSEL 0x00
#define C_DF 0x04
#define C_GFSEL 0x08
#define C_GF 0x0c
#define C_CFGVEC 0x10
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_QSEL 0x16
#define C_QSIZE 0x18
#define C_QVEC 0x1a
#define C_QENABLE 0x1c
#define C_QDESC 0x20
#define C_QDRIVER 0x28
#define C_QDEVICE 0x30

#define L_HOSTF 0x00
#define L_GUESTF 0x04
#define L_PFN 0x08
#define L_QNUM 0x0c
#define L_QSEL 0x0e
#define L_QNOTIFY 0x10
#define L_STATUS 0x12
#define L_CFG 0x14	/* device config, without MSI-X */

#define S_OK (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
	VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define F_BASE (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS \
	| VIRTIO_NET_F_MTU)
#define F_MRG (F_BASE | VIRTIO_NET_F_MRG_RXBUF)

#define QSZ 64
#define RXRING 0x10000ULL
#define TXRING 0x20000ULL
#define RXBUF 0x100000ULL	/* receive buffers from 1 MiB */
#define TXBUF 0x800000ULL	/* transmit buffers from 8 MiB */
#define HDR 12

/* ---- Interrupts ---- */

struct irqs {
	int nmsi;
	int vec[8];
	int intx;
};

static int
rec_msi(void *arg, uint64_t addr, uint64_t data)
{
	struct irqs *l = arg;

	l->nmsi++;
	if (data >= MSI_BASE && data < MSI_BASE + 8)
		l->vec[data - MSI_BASE]++;
	return 0;
}

static int
rec_isa(void *arg, int atpic, int ioapic)
{
	((struct irqs *)arg)->intx++;
	return 0;
}

static int
rec_isa_down(void *arg, int atpic, int ioapic)
{
	((struct irqs *)arg)->intx--;
	return 0;
}

static int
rec_pin(void *arg, int pin)
{
	((struct irqs *)arg)->intx++;
	return 0;
}

static int
rec_pin_down(void *arg, int pin)
{
	((struct irqs *)arg)->intx--;
	return 0;
}

static const struct pci_intr_ops rec_ops = {
	.isa_assert = rec_isa,
	.isa_deassert = rec_isa_down,
	.ioapic_assert = rec_pin,
	.ioapic_deassert = rec_pin_down,
	.msi = rec_msi,
};

static const struct pci_devemu *const test_emus[] = { &pci_de_virtio_net };

/* ---- The fake VM ---- */

struct gq {
	int q;
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t aidx, uidx;	/* driver's avail idx, used entries seen */
};

struct fx {
	struct bhyve_vm bvm;
	struct irqs irq;
	int init_error;
	struct pci_devinst *pi;
	struct virtio_softc *vs;
	uint8_t *ram;
	uint64_t common, notify, isr, devcfg;
	uint32_t notify_mult;
	int msixcap;
	uint16_t legacy;
	struct gq rx, tx;
};




static uint64_t
bar_addr(struct fx *f, int bar)
{
	uint64_t lo = fake_cfg_rd(&f->bvm, SLOT, PCIR_BAR(bar), 4);

	if ((lo & 6) == 4)
		return (lo & ~0xfULL) | fake_cfg_rd(&f->bvm, SLOT,
		    PCIR_BAR(bar + 1), 4) << 32;
	return lo & ~0xfULL;
}

static void
find_caps(struct fx *f)
{
	int off = (int)fake_cfg_rd(&f->bvm, SLOT, PCIR_CAP_PTR, 1), steps = 0;

	while (off != 0 && steps++ < 48) {
		int id = (int)fake_cfg_rd(&f->bvm, SLOT, off, 1);
		int type = (int)fake_cfg_rd(&f->bvm, SLOT, off + 3, 1);
		uint64_t at = 0;

		if (id == PCIY_MSIX)
			f->msixcap = off;
		if (id == PCIY_VENDOR && type >= 1 && type <= 4)
			at = bar_addr(f, (int)fake_cfg_rd(&f->bvm, SLOT,
			    off + 4, 1)) +
			    fake_cfg_rd(&f->bvm, SLOT, off + 8, 4);
		if (id == PCIY_VENDOR && type == 1)
			f->common = at;
		if (id == PCIY_VENDOR && type == 2) {
			f->notify = at;
			f->notify_mult = (uint32_t)fake_cfg_rd(&f->bvm, SLOT,
			    off + 16, 4);
		}
		if (id == PCIY_VENDOR && type == 3)
			f->isr = at;
		if (id == PCIY_VENDOR && type == 4)
			f->devcfg = at;
		off = (int)fake_cfg_rd(&f->bvm, SLOT, off + 1, 1);
	}
}

static int
fx_setup(struct fx *f, const char *const *kv)
{
	struct pci_emul_opts o = { .extra = test_emus, .nextra = 1,
		.intr_ops = &rec_ops, .intr_arg = &f->irq };

	memset(f, 0, sizeof(*f));
	if (fake_vm_init(&f->bvm, "t-vtnet", VMM_BACKEND_NULL, RAM_SIZE,
	    kv) != 0 || config_set(f->bvm.cfg, "name", "netvm") != 0 ||
	    config_set(f->bvm.cfg, "pci.0.0.0.device", "hostbridge") != 0)
		return -1;
	f->ram = vm_map_gpa(f->bvm.ctx, 0, RAM_SIZE);
	f->init_error = pci_emul_init_opts(&f->bvm, &o);
	for (f->pi = pci_next(&f->bvm, NULL); f->pi && f->pi->pi_slot != SLOT;
	    f->pi = pci_next(&f->bvm, f->pi))
		;
	if (f->init_error || f->pi == NULL)
		return 0;
	f->vs = f->pi->pi_arg;
	find_caps(f);
	if (f->pi->pi_bar[0].type == PCIBAR_IO)
		f->legacy = (uint16_t)f->pi->pi_bar[0].addr;
	return 0;
}

static void
fx_teardown(struct fx *f)
{
	fake_vm_fini(&f->bvm);
}

/* Run the event loop until it has nothing to do (bounded). */
static void
fx_pump(struct fx *f)
{
	for (int i = 0; i < 16; i++)
		CHECK_EQ(mevent_run_once(f->bvm.mev, 0), 0);
}



static void
cw(struct fx *f, uint64_t off, int size, uint64_t v)
{
	fake_mmio_wr(&f->bvm, f->common + off, size, v);
}

static uint8_t
status(struct fx *f)
{
	return (uint8_t)fake_mmio_rd(&f->bvm, f->common + C_STATUS, 1);
}

static uint64_t
lr(struct fx *f, uint16_t off, int size)
{
	uint64_t v = 0;

	if (io_dispatch(f->bvm.ports, NULL, false, f->legacy + off, size,
	    &v) != 0)
		return 0xdead;
	return v & ((1ULL << (8 * size)) - 1);
}

static void
lw(struct fx *f, uint16_t off, int size, uint64_t v)
{
	CHECK_EQ(io_dispatch(f->bvm.ports, NULL, true, f->legacy + off, size,
	    &v), 0);
}

static uint64_t
dev_features(struct fx *f)
{
	uint64_t lo;

	cw(f, C_DFSEL, 4, 0);
	lo = fake_mmio_rd(&f->bvm, f->common + C_DF, 4);
	cw(f, C_DFSEL, 4, 1);
	return lo | fake_mmio_rd(&f->bvm, f->common + C_DF, 4) << 32;
}

static uint8_t
negotiate(struct fx *f, uint64_t feat)
{
	cw(f, C_STATUS, 1, 0);
	cw(f, C_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cw(f, C_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	    VIRTIO_CONFIG_S_DRIVER);
	cw(f, C_GFSEL, 4, 0);
	cw(f, C_GF, 4, (uint32_t)feat);
	cw(f, C_GFSEL, 4, 1);
	cw(f, C_GF, 4, feat >> 32);
	cw(f, C_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	    VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return status(f);
}

static void
msix_on(struct fx *f)
{
	uint64_t table = bar_addr(f, VI_PCI_MSIX_BAR);
	int n = (int)(fake_cfg_rd(&f->bvm, SLOT, f->msixcap + 2, 2) &
	    0x7ff) + 1;

	for (int i = 0; i < n; i++) {
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i, 4, 0xfee00000);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 4, 4, 0);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 8, 4,
		    MSI_BASE + (uint64_t)i);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 12, 4, 0);
	}
	fake_cfg_wr(&f->bvm, SLOT, f->msixcap + 2, 2,
	    PCIM_MSIXCTRL_MSIX_ENABLE);
}

/* ---- Rings in guest RAM ---- */

static void
g_w16(struct fx *f, uint64_t a, uint16_t v)
{
	memcpy(f->ram + a, &v, 2);
}

static uint16_t
g_r16(struct fx *f, uint64_t a)
{
	uint16_t v;

	memcpy(&v, f->ram + a, 2);
	return v;
}

static uint32_t
g_r32(struct fx *f, uint64_t a)
{
	uint32_t v;

	memcpy(&v, f->ram + a, 4);
	return v;
}

static void
gq_desc(struct fx *f, struct gq *r, int i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	uint64_t d = r->desc + 16 * (uint64_t)i;

	memcpy(f->ram + d, &addr, 8);
	memcpy(f->ram + d + 8, &len, 4);
	g_w16(f, d + 12, flags);
	g_w16(f, d + 14, next);
}

static void
gq_post(struct fx *f, struct gq *r, uint16_t head)
{
	g_w16(f, r->avail + 4 + 2 * (uint64_t)(r->aidx % r->size), head);
	r->aidx++;
	g_w16(f, r->avail + 2, r->aidx);
}

static uint16_t
gq_used_idx(struct fx *f, struct gq *r)
{
	return g_r16(f, r->used + 2);
}

static uint32_t
gq_used_id(struct fx *f, struct gq *r, uint16_t i)
{
	return g_r32(f, r->used + 4 + 8 * (uint64_t)(i % r->size));
}

static uint32_t
gq_used_len(struct fx *f, struct gq *r, uint16_t i)
{
	return g_r32(f, r->used + 8 + 8 * (uint64_t)(i % r->size));
}

static void
gq_setup(struct fx *f, struct gq *r, int q, uint64_t base)
{
	*r = (struct gq){ .q = q, .size = QSZ, .desc = base,
		.avail = base + VQ_DESC_BYTES(QSZ) };
	r->used = (r->avail + VQ_AVAIL_BYTES(QSZ) + 3) & ~3ULL;
	memset(f->ram + base, 0, (size_t)(r->used + VQ_USED_BYTES(QSZ) - base));
	cw(f, C_QSEL, 2, (uint64_t)q);
	cw(f, C_QSIZE, 2, QSZ);
	cw(f, C_QDESC, 8, r->desc);
	cw(f, C_QDRIVER, 8, r->avail);
	cw(f, C_QDEVICE, 8, r->used);
	cw(f, C_QVEC, 2, (uint64_t)q);
	cw(f, C_QENABLE, 2, 1);
}

static void
gq_notify(struct fx *f, struct gq *r)
{
	fake_mmio_wr(&f->bvm, f->notify + (uint64_t)r->q * f->notify_mult, 2,
	    (uint64_t)r->q);
}

/* A running modern device: MSI-X, both queues, DRIVER_OK. */
static void
fx_ready(struct fx *f, uint64_t feat)
{
	msix_on(f);
	CHECK(negotiate(f, feat) & VIRTIO_CONFIG_S_FEATURES_OK);
	cw(f, C_CFGVEC, 2, 2);
	gq_setup(f, &f->rx, 0, RXRING);
	gq_setup(f, &f->tx, 1, TXRING);
	cw(f, C_STATUS, 1, S_OK);
	CHECK_EQ(status(f), S_OK);
}

/* ---- Frames ---- */

/* A test frame: broadcast destination, a source MAC, a pattern. */
static void
make_frame(uint8_t *p, size_t len, uint8_t seed)
{
	memset(p, 0xff, 6);
	for (int i = 0; i < 6; i++)
		p[6 + i] = (uint8_t)(0x02 + i);
	p[12] = 0x88;
	p[13] = 0xb5;	/* local experimental ethertype */
	for (size_t i = 14; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/*
 * Post one receive chain at descriptor 'd': buffers of the given sizes
 * at 'addr' (contiguous), all device-writable.
 */
static void
post_rx(struct fx *f, int d, uint64_t addr, const uint32_t *lens, int n)
{
	for (int i = 0; i < n; i++) {
		gq_desc(f, &f->rx, d + i, addr, lens[i], VRING_DESC_F_WRITE |
		    (i + 1 < n ? VRING_DESC_F_NEXT : 0), (uint16_t)(d + i + 1));
		addr += lens[i];
	}
	gq_post(f, &f->rx, (uint16_t)d);
}

/* 'count' single-buffer receive chains of 'len' bytes each. */
static void
post_rx_bufs(struct fx *f, int count, uint32_t len)
{
	for (int i = 0; i < count; i++)
		post_rx(f, i, RXBUF + (uint64_t)i * 0x10000, &len, 1);
	gq_notify(f, &f->rx);
}

/* Transmit a frame: a zero header and the frame, in 'split' pieces. */
static void
send_tx(struct fx *f, int d, const uint8_t *frame, size_t len, int split)
{
	uint64_t at = TXBUF + (uint64_t)d * 0x10000;
	size_t total = HDR + len, piece = (total + (size_t)split - 1) /
	    (size_t)split, off = 0;
	int i = 0;

	memset(f->ram + at, 0, HDR);
	memcpy(f->ram + at + HDR, frame, len);
	for (; off < total; i++, off += piece) {
		size_t l = total - off < piece ? total - off : piece;

		gq_desc(f, &f->tx, d + i, at + off, (uint32_t)l,
		    off + l < total ? VRING_DESC_F_NEXT : 0,
		    (uint16_t)(d + i + 1));
	}
	gq_post(f, &f->tx, (uint16_t)d);
	gq_notify(f, &f->tx);
}

/* Put a frame in as if it came from the network. */
static void
inject(struct fx *f, const uint8_t *frame, size_t len)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

	CHECK_EQ(netbe_send(pci_vtnet_backend(f->pi), &iov, 1), len);
}

static const char *const loop_kv[] = { "pci.0.3.0.device", "virtio-net",
	"pci.0.3.0.backend", "loopback", NULL };

/* ---- Identity, configuration, options ---- */

TEST(identity_features_and_config)
{
	struct fx f;
	uint8_t mac[6];
	uint64_t df;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_VENDOR, 2), VIRTIO_VENDOR);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_DEVICE, 2),
	    0x1000);	/* transitional */
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBDEV_0, 2),
	    VIRTIO_ID_NETWORK);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_CLASS, 1), 0x02);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBCLASS, 1), 0x00);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.common + C_NUMQ, 2), 2);
	df = dev_features(&f);
	CHECK((df & F_MRG) == F_MRG);
	/* Loopback carries no offloads, and there is no control queue. */
	CHECK_EQ(df & NETBE_OFFLOAD_CAPS, 0);
	CHECK_EQ(df & (VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_MQ), 0);
	/* bhyve's default MAC: 58:9c:fc and MD5("3-0-netvm"). */
	net_genmac("netvm", SLOT, 0, mac);
	CHECK_EQ(mac[0], 0x58);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + (uint64_t)i, 1),
		    mac[i]);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 6, 2), 1);	/* link up */
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 8, 2),
	    1);	/* one queue pair */
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 10, 2), 1500);
	/* Writes to the configuration are ignored. */
	fake_mmio_wr(&f.bvm, f.devcfg, 1, 0x77);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg, 1), mac[0]);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 12, 1),
	    0);	/* past the end */
	fx_teardown(&f);
}

TEST(mac_and_mtu_options)
{
	static const char *const kv[] = { "pci.0.3.0.device", "virtio-net",
		"pci.0.3.0.backend", "loopback", "pci.0.3.0.mac",
		"02:AB:cd:00:11:22", "pci.0.3.0.mtu", "9000", NULL };
	static const uint8_t want[6] = { 0x02, 0xab, 0xcd, 0x00, 0x11, 0x22 };
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + (uint64_t)i, 1),
		    want[i]);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 10, 2), 9000);
	fx_teardown(&f);
}

/* Each bad option: start-up fails with one line naming it. */
static void
expect_bad(const char *key, const char *val, const char *what)
{
	const char *kv[] = { "pci.0.3.0.device", "virtio-net",
		"pci.0.3.0.backend", "loopback", key, val, NULL };
	struct fx f;

	if (fx_setup(&f, kv) != 0) {
		CHECK(0);
		return;
	}
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "0:3:0") != NULL);
	CHECK(strstr(f.bvm.err, what) != NULL);
	CHECK(strchr(f.bvm.err, '\n') == NULL);
	if (strstr(f.bvm.err, what) == NULL)
		fprintf(stderr, "  error was: %s\n", f.bvm.err);
	fx_teardown(&f);
}

TEST(bad_options_fail_start_up)
{
	expect_bad("pci.0.3.0.mac", "zz:00:00:00:00:01", "mac 'zz:");
	expect_bad("pci.0.3.0.mac", "01:00:5e:00:00:01", "mac '01:");
	expect_bad("pci.0.3.0.mac", "00:00:00:00:00:00", "invalid mac");
	expect_bad("pci.0.3.0.mac", "02:00:00:00:00", "invalid mac");
	expect_bad("pci.0.3.0.mtu", "67", "mtu '67'");
	expect_bad("pci.0.3.0.mtu", "65536", "mtu '65536'");
	expect_bad("pci.0.3.0.mtu", "15OO", "mtu '15OO'");
	expect_bad("pci.0.3.0.mtu", "-1500", "mtu '-1500'");
	expect_bad("pci.0.3.0.backend", "nosuchnet", "'nosuchnet'");
	expect_bad("pci.0.3.0.backend", "netgraph", "not supported");
	expect_bad("pci.0.3.0.type", "bogus", "type 'bogus'");
	expect_bad("pci.0.3.0.backend", "tap-name-far-too-long-for-linux",
	    "tap 'tap-name-far-too-long-for-linux'");
	expect_bad("pci.0.3.0.legacy", "maybe", "legacy");
}

/* No backend: a NIC whose frames go nowhere, and that still works. */
TEST(no_backend_drops_transmits)
{
	static const char *const kv[] = { "pci.0.3.0.device", "virtio-net",
		NULL };
	uint8_t fr[60];
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	CHECK(pci_vtnet_backend(f.pi) == NULL);
	fx_ready(&f, F_MRG);
	make_frame(fr, sizeof(fr), 1);
	send_tx(&f, 0, fr, sizeof(fr), 1);
	CHECK_EQ(gq_used_idx(&f, &f.tx), 1);
	CHECK_EQ(gq_used_len(&f, &f.tx, 0), 0);
	post_rx_bufs(&f, 2, 2048);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, &f.rx), 0);
	fx_teardown(&f);
}

/* ---- Transmit and receive through loopback ---- */

/* Check receive entry 'i': a whole frame after a header. */
static void
check_rx(struct fx *f, uint16_t i, const uint8_t *frame, size_t len,
    uint16_t nbufs)
{
	uint32_t id = gq_used_id(f, &f->rx, i);
	uint64_t at = RXBUF + (uint64_t)id * 0x10000;

	CHECK_EQ(gq_used_len(f, &f->rx, i), HDR + len);
	CHECK_EQ(f->ram[at], 0);		/* flags */
	CHECK_EQ(f->ram[at + 1], 0);		/* gso_type */
	CHECK_EQ(g_r16(f, at + 10), nbufs);	/* num_buffers */
	CHECK(memcmp(f->ram + at + HDR, frame, len) == 0);
}

TEST(loopback_frames_of_several_sizes)
{
	static const size_t sizes[] = { 14, 60, 64, 600, 1514, 1518 };
	uint8_t fr[6][1518];
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_BASE);
	post_rx_bufs(&f, 8, HDR + 1518);
	for (int i = 0; i < 6; i++) {
		make_frame(fr[i], sizes[i], (uint8_t)i);
		send_tx(&f, 2 * i, fr[i], sizes[i], 1 + i % 2);
	}
	CHECK_EQ(gq_used_idx(&f, &f.tx), 6);
	for (uint16_t i = 0; i < 6; i++)
		CHECK_EQ(gq_used_len(&f, &f.tx, i), 0);
	CHECK(f.irq.vec[1] > 0);
	CHECK_EQ(gq_used_idx(&f, &f.rx), 0);	/* the loop has not run */
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 6);
	for (uint16_t i = 0; i < 6; i++)
		check_rx(&f, i, fr[i], sizes[i], 1);
	CHECK(f.irq.vec[0] > 0);
	fx_teardown(&f);
}

/* 5.1.6.4: one frame over several small buffers, num_buffers says so. */
TEST(mergeable_receive_buffers)
{
	uint8_t fr[1514], got[1514];
	struct fx f;
	uint32_t lens[7];
	size_t off = 0;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_MRG);
	post_rx_bufs(&f, 10, 256);
	make_frame(fr, sizeof(fr), 9);
	send_tx(&f, 0, fr, sizeof(fr), 3);
	fx_pump(&f);
	/* 12 + 1514 bytes: five full buffers and one of 246. */
	REQUIRE(gq_used_idx(&f, &f.rx) == 6);
	for (uint16_t i = 0; i < 6; i++) {
		lens[i] = gq_used_len(&f, &f.rx, i);
		CHECK_EQ(gq_used_id(&f, &f.rx, i), i);
		CHECK_EQ(lens[i], i < 5 ? 256 : 246);
	}
	CHECK_EQ(g_r16(&f, RXBUF + 10), 6);
	for (uint16_t i = 0; i < 6; i++) {
		uint64_t at = RXBUF + (uint64_t)i * 0x10000;
		size_t skip = i == 0 ? HDR : 0, n = lens[i] - skip;

		REQUIRE(off + n <= sizeof(got));
		memcpy(got + off, f.ram + at + skip, n);
		off += n;
	}
	CHECK_EQ(off, sizeof(fr));
	CHECK(memcmp(got, fr, sizeof(fr)) == 0);
	/* A second, small frame takes the next buffer alone. */
	send_tx(&f, 4, fr, 100, 1);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 7);
	CHECK_EQ(gq_used_len(&f, &f.rx, 6), HDR + 100);
	CHECK_EQ(g_r16(&f, RXBUF + 6 * 0x10000 + 10), 1);
	fx_teardown(&f);
}

/* With too few buffers for a frame, none are used until more come. */
TEST(mergeable_waits_for_enough_buffers)
{
	uint8_t fr[1000];
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_MRG);
	post_rx_bufs(&f, 2, 256);
	make_frame(fr, sizeof(fr), 3);
	send_tx(&f, 0, fr, sizeof(fr), 1);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, &f.rx), 0);
	CHECK(!netbe_rx_enabled(pci_vtnet_backend(f.pi)));
	for (int i = 2; i < 5; i++) {
		uint32_t l = 256;

		post_rx(&f, i, RXBUF + (uint64_t)i * 0x10000, &l, 1);
	}
	gq_notify(&f, &f.rx);
	REQUIRE(gq_used_idx(&f, &f.rx) == 4);
	CHECK_EQ(g_r16(&f, RXBUF + 10), 4);
	CHECK_EQ(gq_used_len(&f, &f.rx, 3), HDR + 1000 - 3 * 256);
	CHECK(memcmp(f.ram + RXBUF + HDR, fr, 256 - HDR) == 0);
	CHECK(memcmp(f.ram + RXBUF + 3 * 0x10000, fr + 3 * 256 - HDR,
	    1000 + HDR - 3 * 256) == 0);
	fx_teardown(&f);
}

/*
 * Flow control: with no receive buffers the device holds the frame and
 * stops reading the backend; buffers posted later get every frame, in
 * order, none lost.
 */
TEST(flow_control_holds_frames)
{
	uint8_t fr[5][200];
	struct net_backend *be;
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	be = pci_vtnet_backend(f.pi);
	fx_ready(&f, F_BASE);
	/* One buffer: it is filled, and then the device has to wait. */
	post_rx_bufs(&f, 1, 2048);
	CHECK(netbe_rx_enabled(be));
	for (int i = 0; i < 5; i++) {
		make_frame(fr[i], sizeof(fr[i]), (uint8_t)(i * 3));
		send_tx(&f, 2 * i, fr[i], sizeof(fr[i]), 1);
	}
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, &f.rx), 1);
	CHECK(!netbe_rx_enabled(be));
	for (int i = 1; i < 5; i++) {
		uint32_t l = 2048;

		post_rx(&f, i, RXBUF + (uint64_t)i * 0x10000, &l, 1);
	}
	/* The held frame goes at the notification, the rest on the loop. */
	gq_notify(&f, &f.rx);
	CHECK(gq_used_idx(&f, &f.rx) >= 2);
	CHECK(netbe_rx_enabled(be));
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 5);
	for (uint16_t i = 0; i < 5; i++)
		check_rx(&f, i, fr[i], sizeof(fr[i]), 1);
	fx_teardown(&f);
}

/* 2.6.4: headers split over descriptors, both ways. */
TEST(split_headers)
{
	uint8_t fr[300];
	uint32_t lens[3] = { 5, 9, 1000 };
	uint64_t at = TXBUF;
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_BASE);
	post_rx(&f, 0, RXBUF, lens, 3);
	gq_notify(&f, &f.rx);
	make_frame(fr, sizeof(fr), 0x31);
	/* Transmit header 3 + 9 bytes, then the frame in 2 pieces. */
	memset(f.ram + at, 0, HDR);
	memcpy(f.ram + at + HDR, fr, sizeof(fr));
	gq_desc(&f, &f.tx, 0, at, 3, VRING_DESC_F_NEXT, 1);
	gq_desc(&f, &f.tx, 1, at + 3, 9, VRING_DESC_F_NEXT, 2);
	gq_desc(&f, &f.tx, 2, at + HDR, 100, VRING_DESC_F_NEXT, 3);
	gq_desc(&f, &f.tx, 3, at + HDR + 100, 200, 0, 0);
	gq_post(&f, &f.tx, 0);
	gq_notify(&f, &f.tx);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 1);
	CHECK_EQ(gq_used_len(&f, &f.rx, 0), HDR + sizeof(fr));
	/* Receive buffers of 5, 9, 1000 bytes hold the frame from byte 12. */
	CHECK_EQ(g_r16(&f, RXBUF + 10), 1);
	CHECK(memcmp(f.ram + RXBUF + HDR, fr, sizeof(fr)) == 0);
	fx_teardown(&f);
}

/* ---- Hostile or broken chains ---- */

TEST(bad_transmits_are_dropped)
{
	uint8_t fr[1600];
	uint64_t at = TXBUF + 0x100000;
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_BASE);
	post_rx_bufs(&f, 8, 4096);
	make_frame(fr, sizeof(fr), 5);
	/* A chain shorter than header and Ethernet header. */
	send_tx(&f, 0, fr, 13, 1);
	/* Over the MTU: 1500 + 14 + 4 is the most. */
	send_tx(&f, 2, fr, 1519, 2);
	/* NEEDS_CSUM without VIRTIO_NET_F_CSUM; a GSO type not agreed. */
	memset(f.ram + at, 0, HDR);
	f.ram[at] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	memcpy(f.ram + at + HDR, fr, 100);
	gq_desc(&f, &f.tx, 4, at, HDR + 100, 0, 0);
	gq_post(&f, &f.tx, 4);
	memset(f.ram + at + 0x1000, 0, HDR);
	f.ram[at + 0x1000 + 1] = VIRTIO_NET_HDR_GSO_TCPV4;
	memcpy(f.ram + at + 0x1000 + HDR, fr, 100);
	gq_desc(&f, &f.tx, 5, at + 0x1000, HDR + 100, 0, 0);
	gq_post(&f, &f.tx, 5);
	/* Only a header. */
	gq_desc(&f, &f.tx, 6, at, HDR, 0, 0);
	gq_post(&f, &f.tx, 6);
	gq_notify(&f, &f.tx);
	CHECK_EQ(gq_used_idx(&f, &f.tx), 5);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, &f.rx), 0);
	/* The device is fine: a good frame, with a writable buffer after
	   it that is ignored, goes through. */
	send_tx(&f, 10, fr, 1518, 1);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 1);
	check_rx(&f, 0, fr, 1518, 1);
	CHECK_EQ(status(&f), S_OK);
	fx_teardown(&f);
}

TEST(transmit_ignores_writable_buffers)
{
	uint8_t fr[80];
	uint64_t at = TXBUF;
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_BASE);
	post_rx_bufs(&f, 2, 2048);
	make_frame(fr, sizeof(fr), 0x44);
	memset(f.ram + at, 0, HDR);
	memcpy(f.ram + at + HDR, fr, sizeof(fr));
	memset(f.ram + at + 0x1000, 0x5a, 64);
	gq_desc(&f, &f.tx, 0, at, HDR + sizeof(fr), VRING_DESC_F_NEXT, 1);
	gq_desc(&f, &f.tx, 1, at + 0x1000, 64, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &f.tx, 0);
	gq_notify(&f, &f.tx);
	CHECK_EQ(gq_used_len(&f, &f.tx, 0), 0);
	CHECK_EQ(f.ram[at + 0x1000], 0x5a);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 1);
	check_rx(&f, 0, fr, sizeof(fr), 1);
	fx_teardown(&f);
}

/*
 * Without MRG_RXBUF a chain too small for a frame is not written: the
 * frame is dropped and the chain stays for the next, smaller one.
 */
TEST(receive_never_exceeds_buffers)
{
	uint8_t big[600], small[60];
	uint32_t len = 100;
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_BASE);
	memset(f.ram + RXBUF, 0xee, 0x1000);
	post_rx(&f, 0, RXBUF, &len, 1);
	gq_notify(&f, &f.rx);
	make_frame(big, sizeof(big), 1);
	make_frame(small, sizeof(small), 2);
	inject(&f, big, sizeof(big));
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, &f.rx), 0);
	CHECK_EQ(f.ram[RXBUF], 0xee);
	inject(&f, small, sizeof(small));
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 1);
	CHECK_EQ(gq_used_len(&f, &f.rx, 0), HDR + sizeof(small));
	CHECK(memcmp(f.ram + RXBUF + HDR, small, sizeof(small)) == 0);
	CHECK_EQ(f.ram[RXBUF + HDR + sizeof(small)], 0xee);
	/* A frame from the network over the MTU is dropped too. */
	post_rx_bufs(&f, 1, 4096);
	{
		uint8_t huge[1600];

		make_frame(huge, sizeof(huge), 3);
		inject(&f, huge, sizeof(huge));
		inject(&f, small, sizeof(small));
	}
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 2);
	CHECK_EQ(gq_used_len(&f, &f.rx, 1), HDR + sizeof(small));
	fx_teardown(&f);
}

/* A device-readable buffer first in a receive chain is skipped. */
TEST(receive_skips_readable_buffers)
{
	uint8_t fr[100];
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_BASE);
	memset(f.ram + RXBUF, 0x11, 64);
	gq_desc(&f, &f.rx, 0, RXBUF, 64, VRING_DESC_F_NEXT, 1);
	gq_desc(&f, &f.rx, 1, RXBUF + 0x1000, 2048, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &f.rx, 0);
	gq_notify(&f, &f.rx);
	make_frame(fr, sizeof(fr), 7);
	inject(&f, fr, sizeof(fr));
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 1);
	CHECK_EQ(gq_used_len(&f, &f.rx, 0), HDR + sizeof(fr));
	CHECK_EQ(f.ram[RXBUF], 0x11);
	CHECK(memcmp(f.ram + RXBUF + 0x1000 + HDR, fr, sizeof(fr)) == 0);
	fx_teardown(&f);
}

/*
 * A bad receive chain puts the device in NEEDS_RESET and stops receive;
 * after the reset the held frame is delivered to the new rings.
 */
TEST(bad_receive_chain_needs_reset)
{
	uint8_t fr[70];
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_BASE);
	gq_desc(&f, &f.rx, 0, RXBUF, 2048, VRING_DESC_F_WRITE |
	    VRING_DESC_F_NEXT, 200);	/* next out of range */
	gq_post(&f, &f.rx, 0);
	gq_notify(&f, &f.rx);
	make_frame(fr, sizeof(fr), 8);
	inject(&f, fr, sizeof(fr));
	fx_pump(&f);
	CHECK(status(&f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(gq_used_idx(&f, &f.rx), 0);
	CHECK(!netbe_rx_enabled(pci_vtnet_backend(f.pi)));
	/* A fresh start. */
	fx_ready(&f, F_BASE);
	post_rx_bufs(&f, 1, 2048);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 1);
	check_rx(&f, 0, fr, sizeof(fr), 1);
	fx_teardown(&f);
}

/*
 * Transmit work per notification is bounded (VTNET_ROUND_DESCS): a ring
 * of indirect chains of 16 descriptors each is more than one round; the
 * rest is done by the event loop, and nothing is lost.
 */
TEST(transmit_rounds_are_bounded)
{
	const uint64_t itab = 0x80000;
	uint8_t fr[60];
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_MRG | VIRTIO_RING_F_INDIRECT_DESC);
	make_frame(fr, sizeof(fr), 0x66);
	memset(f.ram + TXBUF, 0, HDR);
	memcpy(f.ram + TXBUF + HDR, fr, sizeof(fr));
	for (int i = 0; i < QSZ; i++) {
		uint64_t t = itab + 256 * (uint64_t)i;
		struct gq tab = { .desc = t };

		/* The header, then the frame in 15 pieces of 4 bytes. */
		gq_desc(&f, &tab, 0, TXBUF, HDR, VRING_DESC_F_NEXT, 1);
		for (int j = 1; j < 16; j++)
			gq_desc(&f, &tab, j, TXBUF + HDR + 4 * (uint64_t)(j - 1),
			    4, j < 15 ? VRING_DESC_F_NEXT : 0,
			    (uint16_t)(j + 1));
		gq_desc(&f, &f.tx, i, t, 256, VRING_DESC_F_INDIRECT, 0);
		gq_post(&f, &f.tx, (uint16_t)i);
	}
	gq_notify(&f, &f.tx);
	CHECK(gq_used_idx(&f, &f.tx) > 0);
	CHECK(gq_used_idx(&f, &f.tx) < QSZ);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, &f.tx), QSZ);
	/* Every frame came out whole. */
	post_rx_bufs(&f, QSZ, 128);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == QSZ);
	for (uint16_t i = 0; i < QSZ; i++)
		check_rx(&f, i, fr, sizeof(fr), 1);
	fx_teardown(&f);
}

/* ---- Offloads (loopback with the header, as a tap) ---- */

static const char *const vnet_kv[] = { "pci.0.3.0.device", "virtio-net",
	"pci.0.3.0.backend", "loopback", "pci.0.3.0.vnet_hdr", "true", NULL };

#define F_OFF (F_MRG | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | \
	VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_GUEST_TSO4)

/* 5.1.3.1: the dependencies between offloads are enforced. */
TEST(offloads_offered_and_dependencies_checked)
{
	static const uint64_t bad[] = {
		F_BASE | VIRTIO_NET_F_HOST_TSO4,
		F_BASE | VIRTIO_NET_F_GUEST_TSO6,
		F_BASE | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_ECN,
		F_BASE | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_ECN,
	};
	struct fx f;

	REQUIRE(fx_setup(&f, vnet_kv) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(dev_features(&f) & NETBE_OFFLOAD_CAPS, NETBE_OFFLOAD_CAPS);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(negotiate(&f, bad[i]) & VIRTIO_CONFIG_S_FEATURES_OK,
		    0);
	CHECK(negotiate(&f, F_OFF | VIRTIO_NET_F_GUEST_ECN |
	    VIRTIO_NET_F_HOST_ECN) & VIRTIO_CONFIG_S_FEATURES_OK);
	fx_teardown(&f);
}

/* Transmit a frame after the given header (split in two descriptors). */
static void
send_hdr(struct fx *f, int d, const struct virtio_net_hdr *h,
    const uint8_t *frame, size_t len)
{
	uint64_t at = TXBUF + (uint64_t)d * 0x10000;

	memcpy(f->ram + at, h, HDR);
	memcpy(f->ram + at + HDR, frame, len);
	gq_desc(f, &f->tx, d, at, HDR, VRING_DESC_F_NEXT, (uint16_t)(d + 1));
	gq_desc(f, &f->tx, d + 1, at + HDR, (uint32_t)len, 0, 0);
	gq_post(f, &f->tx, (uint16_t)d);
	gq_notify(f, &f->tx);
}

TEST(offload_headers_pass_through)
{
	static uint8_t fr[20000];
	struct virtio_net_hdr h = { 0 }, got;
	struct fx f;

	REQUIRE(fx_setup(&f, vnet_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_OFF);
	post_rx_bufs(&f, 16, 4096);
	make_frame(fr, sizeof(fr), 0x21);
	/* A partial checksum: the header comes back as it was sent. */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 16;
	send_hdr(&f, 0, &h, fr, 200);
	/* TSO: 20000 bytes with an MSS, over five mergeable buffers. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.hdr_len = 54;
	send_hdr(&f, 2, &h, fr, sizeof(fr));
	/* Not agreed or malformed: TSO6, no MSS, no NEEDS_CSUM, ECN. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	send_hdr(&f, 4, &h, fr, 3000);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	send_hdr(&f, 6, &h, fr, 3000);
	h.gso_size = 1448;
	h.flags = 0;
	send_hdr(&f, 8, &h, fr, 3000);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	send_hdr(&f, 10, &h, fr, 3000);
	/* A checksum offset past the end of the frame. */
	h.gso_type = 0;
	h.csum_start = 190;
	send_hdr(&f, 12, &h, fr, 200);
	CHECK_EQ(gq_used_idx(&f, &f.tx), 7);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 6);
	memcpy(&got, f.ram + RXBUF, HDR);
	CHECK_EQ(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(got.csum_start, 34);
	CHECK_EQ(got.csum_offset, 16);
	CHECK_EQ(got.gso_type, 0);
	CHECK_EQ(got.num_buffers, 1);
	CHECK_EQ(gq_used_len(&f, &f.rx, 0), HDR + 200);
	memcpy(&got, f.ram + RXBUF + 0x10000, HDR);
	CHECK_EQ(got.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(got.gso_size, 1448);
	CHECK_EQ(got.hdr_len, 54);
	CHECK_EQ(got.num_buffers, 5);
	CHECK_EQ(gq_used_len(&f, &f.rx, 5), HDR + sizeof(fr) - 4 * 4096);
	CHECK(memcmp(f.ram + RXBUF + 4 * 0x10000 + HDR, fr + 3 * 4096,
	    4096 - HDR) == 0);
	fx_teardown(&f);
}

/* Put a frame with a header in, as a tap would hand it over. */
static void
inject_hdr(struct fx *f, const struct virtio_net_hdr *h, const uint8_t *fr,
    size_t len)
{
	struct iovec iov[2] = { { .iov_base = (void *)h, .iov_len = HDR },
		{ .iov_base = (void *)fr, .iov_len = len } };

	CHECK_EQ(netbe_send(pci_vtnet_backend(f->pi), iov, 2), HDR + len);
}

/* 5.1.6.3.2: what the driver did not agree to is not delivered. */
TEST(receive_header_follows_features)
{
	struct virtio_net_hdr h = { 0 }, got;
	uint8_t fr[3000];
	struct fx f;

	REQUIRE(fx_setup(&f, vnet_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, F_MRG);
	post_rx_bufs(&f, 8, 4096);
	make_frame(fr, sizeof(fr), 0x55);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;	/* cleared */
	inject_hdr(&f, &h, fr, 100);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;	/* dropped */
	inject_hdr(&f, &h, fr, 100);
	h.flags = 0;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;	/* dropped */
	h.gso_size = 1448;
	inject_hdr(&f, &h, fr, sizeof(fr));
	h.gso_type = 0x7f;			/* dropped */
	inject_hdr(&f, &h, fr, 100);
	h.gso_type = 0;
	inject_hdr(&f, &h, fr, 1519);		/* over the MTU */
	inject_hdr(&f, &h, fr, 300);
	fx_pump(&f);
	REQUIRE(gq_used_idx(&f, &f.rx) == 2);
	memcpy(&got, f.ram + RXBUF, HDR);
	CHECK_EQ(got.flags, 0);
	CHECK_EQ(gq_used_len(&f, &f.rx, 0), HDR + 100);
	CHECK_EQ(gq_used_len(&f, &f.rx, 1), HDR + 300);
	fx_teardown(&f);
}

/* ---- Legacy ---- */

TEST(legacy_driver_ten_byte_header)
{
	uint8_t fr[90];
	uint64_t desc = 0x40000, avail, used, at = TXBUF;
	struct gq tx;
	uint16_t qn;
	struct fx f;

	REQUIRE(fx_setup(&f, loop_kv) == 0 && f.init_error == 0 && f.legacy);
	lw(&f, L_STATUS, 1, 0);
	lw(&f, L_STATUS, 1, 3);
	CHECK(lr(&f, L_HOSTF, 4) & VIRTIO_NET_F_MRG_RXBUF);
	lw(&f, L_GUESTF, 4, VIRTIO_NET_F_MAC);
	CHECK_EQ(lr(&f, L_CFG + 10, 2), 1500);
	/* Transmit queue in the legacy layout (2.7.2). */
	lw(&f, L_QSEL, 2, 1);
	qn = (uint16_t)lr(&f, L_QNUM, 2);
	REQUIRE(qn == 1024);
	avail = desc + 16ULL * qn;
	used = (avail + 6 + 2ULL * qn + 4095) & ~4095ULL;
	memset(f.ram + desc, 0, (size_t)(used + 8ULL * qn + 6 - desc));
	lw(&f, L_PFN, 4, desc >> 12);
	lw(&f, L_STATUS, 1, 7);
	tx = (struct gq){ .q = 1, .size = qn, .desc = desc, .avail = avail,
		.used = used };
	/* A 10-byte header, then the frame. */
	make_frame(fr, sizeof(fr), 4);
	memset(f.ram + at, 0, 10);
	memcpy(f.ram + at + 10, fr, sizeof(fr));
	gq_desc(&f, &tx, 0, at, 10 + sizeof(fr), 0, 0);
	gq_post(&f, &tx, 0);
	lw(&f, L_QNOTIFY, 2, 1);
	CHECK_EQ(gq_used_idx(&f, &tx), 1);
	/* It came out whole: read it back from the backend. */
	{
		struct net_backend *be = pci_vtnet_backend(f.pi);
		const uint8_t *got;

		CHECK_EQ(netbe_rx_peek(be, &got), sizeof(fr));
		CHECK(memcmp(got, fr, sizeof(fr)) == 0);
		netbe_rx_consume(be);
	}
	fx_teardown(&f);
}

/* ---- Helpers: MAC, MTU, MD5 ---- */

TEST(md5_and_default_mac)
{
	static const struct {
		const char *in;
		const char *hex;
	} v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "12345678901234567890123456789012345678901234567890123456789"
		  "012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	uint8_t d[16], m1[6], m2[6];
	char hex[33];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		net_md5(v[i].in, strlen(v[i].in), d);
		for (int j = 0; j < 16; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		CHECK_STR(hex, v[i].hex);
	}
	/* MD5("3-0-netvm") starts the default MAC after the OUI. */
	net_md5("3-0-netvm", 9, d);
	net_genmac("netvm", 3, 0, m1);
	CHECK(m1[0] == 0x58 && m1[1] == 0x9c && m1[2] == 0xfc);
	CHECK(memcmp(m1 + 3, d, 3) == 0);
	net_genmac("netvm", 4, 0, m2);
	CHECK(memcmp(m1, m2, 6) != 0);
	net_genmac(NULL, 4, 0, m2);
	CHECK_EQ(m2[0], 0x58);
}

TEST(mac_and_mtu_parsing)
{
	uint8_t m[6] = { 0 };
	unsigned mtu = 0;

	CHECK_EQ(net_parsemac("52:54:00:12:34:56", m), 0);
	CHECK(m[0] == 0x52 && m[5] == 0x56);
	CHECK_EQ(net_parsemac("52-54-00-AB-cd-EF", m), 0);
	CHECK(m[3] == 0xab && m[5] == 0xef);
	CHECK_EQ(net_parsemac("52:54:00:12:34", m), -EINVAL);
	CHECK_EQ(net_parsemac("52:54:00:12:34:567", m), -EINVAL);
	CHECK_EQ(net_parsemac("52:54:00:12:34:5g", m), -EINVAL);
	CHECK_EQ(net_parsemac("52.54.00.12.34.56", m), -EINVAL);
	CHECK_EQ(net_parsemac("ff:ff:ff:ff:ff:ff", m), -EINVAL);
	CHECK_EQ(net_parsemac("00:00:00:00:00:00", m), -EINVAL);
	CHECK_EQ(net_parsemac(NULL, m), -EINVAL);
	CHECK_EQ(net_parsemtu("1500", 68, 65535, &mtu), 0);
	CHECK_EQ(mtu, 1500);
	CHECK_EQ(net_parsemtu("0x2328", 68, 65535, &mtu), 0);
	CHECK_EQ(mtu, 9000);
	CHECK_EQ(net_parsemtu("68", 68, 65535, &mtu), 0);
	CHECK_EQ(net_parsemtu("67", 68, 65535, &mtu), -ERANGE);
	CHECK_EQ(net_parsemtu("65536", 68, 65535, &mtu), -ERANGE);
	CHECK_EQ(net_parsemtu("99999999999999999999999", 68, 65535, &mtu),
	    -ERANGE);
	CHECK_EQ(net_parsemtu("", 68, 65535, &mtu), -EINVAL);
	CHECK_EQ(net_parsemtu(" 1500", 68, 65535, &mtu), -EINVAL);
	CHECK_EQ(net_parsemtu("1500k", 68, 65535, &mtu), -EINVAL);
}

TEST_MAIN(
	TEST_ENTRY(identity_features_and_config)
	TEST_ENTRY(mac_and_mtu_options)
	TEST_ENTRY(bad_options_fail_start_up)
	TEST_ENTRY(no_backend_drops_transmits)
	TEST_ENTRY(loopback_frames_of_several_sizes)
	TEST_ENTRY(mergeable_receive_buffers)
	TEST_ENTRY(mergeable_waits_for_enough_buffers)
	TEST_ENTRY(flow_control_holds_frames)
	TEST_ENTRY(split_headers)
	TEST_ENTRY(bad_transmits_are_dropped)
	TEST_ENTRY(transmit_ignores_writable_buffers)
	TEST_ENTRY(receive_never_exceeds_buffers)
	TEST_ENTRY(receive_skips_readable_buffers)
	TEST_ENTRY(bad_receive_chain_needs_reset)
	TEST_ENTRY(transmit_rounds_are_bounded)
	TEST_ENTRY(offloads_offered_and_dependencies_checked)
	TEST_ENTRY(offload_headers_pass_through)
	TEST_ENTRY(receive_header_follows_features)
	TEST_ENTRY(legacy_driver_ten_byte_header)
	TEST_ENTRY(md5_and_default_mac)
	TEST_ENTRY(mac_and_mtu_parsing)
)
