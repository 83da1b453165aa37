/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: virtio-console as a hostile guest and hostile socket
 * clients drive it.  The input is a program: feature negotiation (with
 * or without MULTIPORT), queue set-up, control messages with any id,
 * event, value and length (split over descriptors or truncated),
 * control and data buffers of any size, data chains both ways, raw
 * descriptor writes and index jumps, notifications of any queue, device
 * config reads and emergency writes, resets, and on the host side
 * clients that connect, send, drain, half-close and hang up, with
 * rounds of the event loop in between.
 *
 * Besides the sanitizers it checks what the device tells the driver:
 * every control message it puts in a plain buffer is a device event
 * (DEVICE_ADD, CONSOLE_PORT, PORT_OPEN, PORT_NAME) for a configured
 * port, with a flag value, and a PORT_NAME carries exactly that port's
 * name; no used length is larger than a plain buffer.  The VM (4 MiB)
 * and a socket directory are made once; PCI, the registries, the event
 * loop and the sockets are made fresh for each input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "virtio.h"
#include "vmmapi.h"

extern const struct pci_devemu pci_de_virtio_console;

#define FUZZ_RAM (4ULL << 20)
#define FUZZ_MAX_STEPS 256
#define FUZZ_NQ 34
#define FUZZ_QSZ 8
#define FUZZ_RINGS 0x10000ULL	/* queue q at + q * 4 KiB */
#define FUZZ_BUFS 0x100000ULL	/* queue q at + q * 64 KiB, 8 KiB a slot */
#define FUZZ_SLOT 0x2000U
#define FUZZ_NPORTS 3

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int fuzz_port_ids[FUZZ_NPORTS] = { 0, 1, 5 };
static const char *const fuzz_names[FUZZ_NPORTS] = { "org.fuzz.zero",
	"org.fuzz.one", "org.fuzz.five" };
/* The queues the input may use: port 0's, control, port 1's, port 5's. */
static const int fuzz_queues[8] = { 0, 1, 2, 3, 4, 5, 12, 13 };

static struct bhyve_vm fuzz_bvm;
static uint8_t *fuzz_ram;
static char fuzz_dir[64];
static char fuzz_path[FUZZ_NPORTS][96];

struct fuzz_ring {
	bool on;
	uint16_t aidx, dnext, seen;
};

static struct fuzz_ring fuzz_rings[FUZZ_NQ];
/* A client per port, and another that knocks while the first is on. */
static int fuzz_client[FUZZ_NPORTS], fuzz_extra[FUZZ_NPORTS];

static void
fuzz_die(const char *why)
{
	fprintf(stderr, "fuzz_virtio_console: %s\n", why);
	abort();
}

static int
fuzz_msi(void *arg, uint64_t addr, uint64_t data)
{
	return 0;
}

static int
fuzz_line(void *arg, int a, int b)
{
	return 0;
}

static int
fuzz_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops fuzz_ops = {
	.isa_assert = fuzz_line,
	.isa_deassert = fuzz_line,
	.ioapic_assert = fuzz_pin,
	.ioapic_deassert = fuzz_pin,
	.msi = fuzz_msi,
};

static const struct pci_devemu *const fuzz_emus[] = {
	&pci_de_virtio_console };

static void
fuzz_set(const char *key, const char *value)
{
	if (config_set(fuzz_bvm.cfg, key, value) != 0)
		fuzz_die("cannot build the config");
}

/* The device removes its sockets; the directory is ours. */
static void
fuzz_cleanup(void)
{
	for (int i = 0; i < FUZZ_NPORTS; i++)
		(void)unlink(fuzz_path[i]);
	(void)rmdir(fuzz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char key[64];

	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/fuzz-vcon-XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL)
		fuzz_die("cannot make a socket directory");
	(void)atexit(fuzz_cleanup);
	fuzz_bvm = (struct bhyve_vm){ .ncpus = 1 };
	fuzz_bvm.cfg = config_new();
	fuzz_bvm.ctx = vm_create("fuzz-vcon", VMM_BACKEND_NULL, NULL);
	if (fuzz_bvm.cfg == NULL || fuzz_bvm.ctx == NULL ||
	    vm_setup_memory(fuzz_bvm.ctx, FUZZ_RAM))
		fuzz_die("cannot create the VM");
	fuzz_ram = vm_map_gpa(fuzz_bvm.ctx, 0, FUZZ_RAM);
	if (fuzz_ram == NULL)
		fuzz_die("no RAM");
	fuzz_set("pci.0.0.0.device", "hostbridge");
	fuzz_set("pci.0.3.0.device", "virtio-console");
	for (int i = 0; i < FUZZ_NPORTS; i++) {
		snprintf(fuzz_path[i], sizeof(fuzz_path[i]), "%s/p%d.sock",
		    fuzz_dir, i);
		snprintf(key, sizeof(key), "pci.0.3.0.port.%d.name",
		    fuzz_port_ids[i]);
		fuzz_set(key, fuzz_names[i]);
		snprintf(key, sizeof(key), "pci.0.3.0.port.%d.path",
		    fuzz_port_ids[i]);
		fuzz_set(key, fuzz_path[i]);
	}
	return 0;
}

/* ---- Input ---- */

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

static uint64_t
fuzz_take(struct fuzz_input *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

/* Up to 'max' bytes of the input itself, for data. */
static const uint8_t *
fuzz_bytes(struct fuzz_input *in, size_t *len, size_t max)
{
	const uint8_t *p = in->p;

	*len = *len < max ? *len : max;
	*len = *len < in->n ? *len : in->n;
	in->p += *len;
	in->n -= *len;
	return p;
}

/* ---- The guest ---- */

static struct pci_devinst *
fuzz_dev(void)
{
	for (struct pci_devinst *pi = pci_next(&fuzz_bvm, NULL); pi;
	    pi = pci_next(&fuzz_bvm, pi))
		if (pi->pi_slot == 3)
			return pi;
	fuzz_die("the device is missing");
	return NULL;
}

static uint64_t
fuzz_mmio(bool write, uint64_t addr, int size, uint64_t v)
{
	(void)io_dispatch(fuzz_bvm.mmio, NULL, write, addr, size, &v);
	return v;
}

static uint64_t
fuzz_common(void)
{
	return fuzz_dev()->pi_bar[VI_PCI_MODERN_BAR].addr;
}

static void
fuzz_cw(uint64_t off, int size, uint64_t v)
{
	(void)fuzz_mmio(true, fuzz_common() + off, size, v);
}

static void
fuzz_wr(uint64_t gpa, const void *src, size_t len)
{
	if (gpa < FUZZ_RAM && len <= FUZZ_RAM - gpa)
		memcpy(fuzz_ram + gpa, src, len);
}

static uint64_t
fuzz_desc_gpa(int q, int i)
{
	return FUZZ_RINGS + (uint64_t)q * 0x1000 + 16 * (uint64_t)i;
}

static uint64_t
fuzz_avail_gpa(int q)
{
	return fuzz_desc_gpa(q, 0) + VQ_DESC_BYTES(FUZZ_QSZ);
}

static uint64_t
fuzz_used_gpa(int q)
{
	return (fuzz_avail_gpa(q) + VQ_AVAIL_BYTES(FUZZ_QSZ) + 3) & ~3ULL;
}

static uint64_t
fuzz_slot_gpa(int q, int d)
{
	return FUZZ_BUFS + (uint64_t)q * 0x10000 + (uint64_t)d * FUZZ_SLOT;
}

static void
fuzz_queue_setup(int q)
{
	memset(fuzz_ram + FUZZ_RINGS + (uint64_t)q * 0x1000, 0, 0x1000);
	fuzz_rings[q] = (struct fuzz_ring){ .on = true };
	fuzz_cw(0x16, 2, (uint64_t)q);
	fuzz_cw(0x18, 2, FUZZ_QSZ);
	fuzz_cw(0x20, 8, fuzz_desc_gpa(q, 0));
	fuzz_cw(0x28, 8, fuzz_avail_gpa(q));
	fuzz_cw(0x30, 8, fuzz_used_gpa(q));
	fuzz_cw(0x1c, 2, 1);
}

/* Features from the input, queues from a mask, maybe DRIVER_OK. */
static void
fuzz_negotiate(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1), mask = (uint8_t)fuzz_take(in, 1);
	uint64_t f = (x & 0x10 ? 0 : VIRTIO_F_VERSION_1) | (x & 1 ? 2 : 0) |
	    (x & 2 ? VIRTIO_RING_F_EVENT_IDX : 0) |
	    (x & 4 ? VIRTIO_RING_F_INDIRECT_DESC : 0) | (x & 8 ? 4 : 0);

	memset(fuzz_rings, 0, sizeof(fuzz_rings));
	fuzz_cw(0x14, 1, 0);
	fuzz_cw(0x14, 1, 3);
	fuzz_cw(0x08, 4, 0);
	fuzz_cw(0x0c, 4, (uint32_t)f);
	fuzz_cw(0x08, 4, 1);
	fuzz_cw(0x0c, 4, f >> 32);
	fuzz_cw(0x14, 1, 0xb);
	for (int i = 0; i < 8; i++)
		if (mask & (1u << i))
			fuzz_queue_setup(fuzz_queues[i]);
	if (!(x & 0x20))
		fuzz_cw(0x14, 1, 0xf);
}

static void
fuzz_notify(int q)
{
	(void)fuzz_mmio(true, fuzz_common() + VI_PCI_NOTIFY_OFF +
	    VI_PCI_NOTIFY_MULT * (uint64_t)q, 2, (uint64_t)q);
}

struct fuzz_seg {
	uint32_t len;
	bool write;
	const uint8_t *data;	/* readable: up to len bytes of it */
	size_t dlen;
};

/* A chain of plain descriptors in their own slots, published. */
static void
fuzz_chain(int q, const struct fuzz_seg *s, int n)
{
	struct fuzz_ring *r = &fuzz_rings[q];
	uint16_t head = r->dnext % FUZZ_QSZ, idx;

	for (int i = 0; i < n; i++) {
		int d = r->dnext++ % FUZZ_QSZ;
		struct vring_desc desc = { .addr = fuzz_slot_gpa(q, d),
			.len = s[i].len, .flags = (uint16_t)((s[i].write ?
			VRING_DESC_F_WRITE : 0) | (i + 1 < n ?
			VRING_DESC_F_NEXT : 0)),
			.next = (uint16_t)(r->dnext % FUZZ_QSZ) };

		if (s[i].data != NULL)
			fuzz_wr(desc.addr, s[i].data, s[i].dlen);
		fuzz_wr(fuzz_desc_gpa(q, d), &desc, sizeof(desc));
	}
	fuzz_wr(fuzz_avail_gpa(q) + 4 + 2 * (uint64_t)(r->aidx % FUZZ_QSZ),
	    &head, 2);
	idx = ++r->aidx;
	fuzz_wr(fuzz_avail_gpa(q) + 2, &idx, 2);
}

static int
fuzz_pick_port(uint8_t x)
{
	return x % FUZZ_NPORTS;
}

static int
fuzz_rxq(int i)
{
	int id = fuzz_port_ids[i];

	return id == 0 ? 0 : 2 * id + 2;
}

/* ---- Steps: the driver ---- */

static void
fuzz_ctrl_msg(struct fuzz_input *in)
{
	static const uint32_t ids[] = { 0, 1, 5, 7, 15, 16, 0xffffffffu };
	uint8_t x = (uint8_t)fuzz_take(in, 1), y = (uint8_t)fuzz_take(in, 1);
	uint32_t id = (x & 7) < 7 ? ids[x & 7] : (uint32_t)fuzz_take(in, 4);
	uint16_t event = y & 0x80 ? (uint16_t)fuzz_take(in, 2) :
	    (uint16_t)((x >> 3) & 7);
	uint16_t value = (uint16_t)(y & 3);
	uint32_t len = (y & 0x30) ? 8 : (uint32_t)((x >> 6) | (y & 4)) * 3;
	uint8_t msg[24] = { 0 };
	struct fuzz_seg s[2] = {
		{ .len = len, .data = msg, .dlen = sizeof(msg) },
		{ .len = len > 4 ? len - 4 : 0, .data = msg + 4,
			.dlen = sizeof(msg) - 4 } };

	memcpy(msg, &id, 4);
	memcpy(msg + 4, &event, 2);
	memcpy(msg + 6, &value, 2);
	if (y & 0x40 && len > 4) {
		s[0].len = 4;	/* the message split over two buffers */
		fuzz_chain(3, s, 2);
	} else {
		fuzz_chain(3, s, 1);
	}
	fuzz_notify(3);
}

static void
fuzz_ctrl_bufs(struct fuzz_input *in)
{
	static const uint32_t sizes[] = { 0, 4, 8, 12, 20, 64, 300, 8192 };
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	struct fuzz_seg s = { .len = sizes[x & 7], .write = true };

	for (int i = 0; i <= ((x >> 3) & 3); i++)
		fuzz_chain(2, &s, 1);
	if (!(x & 0x20))
		fuzz_notify(2);
}

/* Data for a port: 1-3 readable buffers, maybe a writable one after. */
static void
fuzz_tx(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	int q = fuzz_rxq(fuzz_pick_port(x)) + 1, n = 1 + ((x >> 2) & 1) +
	    ((x >> 3) & 1);
	struct fuzz_seg s[4];

	for (int i = 0; i < n; i++) {
		size_t len = (size_t)fuzz_take(in, 2) % (FUZZ_SLOT + 1);

		/* The first bytes from the input; the rest what RAM holds. */
		s[i] = (struct fuzz_seg){ .len = (uint32_t)len };
		s[i].data = fuzz_bytes(in, &len, 64);
		s[i].dlen = len;
	}
	if (x & 0x10)
		s[n++] = (struct fuzz_seg){ .len = 16, .write = true };
	fuzz_chain(q, s, n);
	if (!(x & 0x20))
		fuzz_notify(q);
}

/* Receive buffers for a port, maybe with a readable one in front. */
static void
fuzz_rx_bufs(struct fuzz_input *in)
{
	static const uint32_t sizes[] = { 0, 1, 16, 100, 4096, FUZZ_SLOT };
	uint8_t x = (uint8_t)fuzz_take(in, 1), y = (uint8_t)fuzz_take(in, 1);
	int q = fuzz_rxq(fuzz_pick_port(x));
	struct fuzz_seg s[2] = {
		{ .len = 4, .data = (const uint8_t *)"junk", .dlen = 4 },
		{ .len = sizes[y % 6], .write = true } };

	for (int i = 0; i <= ((x >> 2) & 3); i++) {
		if (x & 0x10)
			fuzz_chain(q, s, 2);
		else
			fuzz_chain(q, &s[1], 1);
	}
	if (!(x & 0x20))
		fuzz_notify(q);
}

static uint64_t
fuzz_addr(struct fuzz_input *in, int q, int d)
{
	uint8_t a = (uint8_t)fuzz_take(in, 1);

	switch (a & 7) {
	case 0:
	case 1:
		return fuzz_slot_gpa(q, d);
	case 2:
		return 0;
	case 3:
		return FUZZ_RAM - 8;
	case 4:
		return FUZZ_RAM;
	case 5:
		return fuzz_desc_gpa(q, 0);
	case 6:
		return 3ULL << 30;
	default:
		return fuzz_take(in, 8);
	}
}

/* A descriptor with anything in it; maybe posted, maybe an index jump. */
static void
fuzz_raw_desc(struct fuzz_input *in)
{
	static const uint32_t lens[] = { 0, 1, 8, 16, 4096, FUZZ_SLOT,
		0x10000, 0xffffffffu };
	uint8_t x = (uint8_t)fuzz_take(in, 1), y = (uint8_t)fuzz_take(in, 1);
	int q = fuzz_queues[x & 7], d = (x >> 3) % FUZZ_QSZ;
	struct fuzz_ring *r = &fuzz_rings[q];
	struct vring_desc desc = { .addr = fuzz_addr(in, q, d),
		.len = lens[y & 7], .flags = (uint16_t)fuzz_take(in, 1),
		.next = (uint16_t)fuzz_take(in, 1) };
	uint16_t head = (uint16_t)d, idx;

	fuzz_wr(fuzz_desc_gpa(q, d), &desc, sizeof(desc));
	if (y & 0x08) {
		fuzz_wr(fuzz_avail_gpa(q) + 4 + 2 * (uint64_t)(r->aidx %
		    FUZZ_QSZ), &head, 2);
		r->aidx++;
	}
	if (y & 0x10)
		r->aidx = (uint16_t)fuzz_take(in, 2);
	idx = r->aidx;
	fuzz_wr(fuzz_avail_gpa(q) + 2, &idx, 2);
	if (y & 0x20)
		fuzz_notify(q);
}

/* Device config reads, emerg_wr, status, notifications of anything. */
static void
fuzz_regs(struct fuzz_input *in)
{
	static const int sizes[] = { 1, 2, 4, 4 };
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	uint64_t off = fuzz_take(in, 1) % 16, v = fuzz_take(in, 4);
	uint64_t cfg = fuzz_common() + VI_PCI_DEVCFG_OFF;

	switch (x & 3) {
	case 0:
		(void)fuzz_mmio(false, cfg + off, sizes[(x >> 2) & 3], 0);
		break;
	case 1:
		(void)fuzz_mmio(true, cfg + (x & 4 ? 8 : off),
		    sizes[(x >> 3) & 3], v);
		break;
	case 2:
		fuzz_cw(0x14, 1, x & 4 ? 0 : v & 0xff);
		break;
	default:
		fuzz_notify((int)(v % 40));
		break;
	}
}

/* ---- Steps: the clients ---- */

/* A new connection to port i's socket in *fdp (the old one closed). */
static void
fuzz_client_connect(int i, int *fdp)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s;

	if (*fdp >= 0)
		close(*fdp);
	*fdp = -1;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	memcpy(sun.sun_path, fuzz_path[i], strlen(fuzz_path[i]) + 1);
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0 &&
	    errno != EAGAIN) {
		close(s);
		return;
	}
	*fdp = s;
}

static void
fuzz_client_drain(int s)
{
	uint8_t buf[4096];

	for (int i = 0; i < 64 && read(s, buf, sizeof(buf)) > 0; i++)
		;
}

static void
fuzz_client_op(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	int i = fuzz_pick_port(x), s = fuzz_client[i];
	size_t len = (size_t)fuzz_take(in, 2) % 4097;
	const uint8_t *p;

	switch ((x >> 2) & 7) {
	case 0:
		fuzz_client_connect(i, &fuzz_client[i]);
		break;
	case 1:
		fuzz_client_connect(i, &fuzz_extra[i]);
		break;
	case 2:
	case 3:
		p = fuzz_bytes(in, &len, 4096);
		if (s >= 0)
			(void)!send(s, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 4:
	case 5:
		if (s >= 0)
			fuzz_client_drain(s);
		break;
	case 6:
		if (s >= 0)
			(void)shutdown(s, SHUT_WR);
		break;
	default:
		if (s >= 0)
			close(s);
		fuzz_client[i] = -1;
		break;
	}
}

/* ---- What the device told the driver ---- */

/* A control message in a plain buffer: a device event, well formed. */
static void
fuzz_check_ctrl_msg(const uint8_t *b, uint32_t len)
{
	uint32_t id;
	uint16_t event, value;
	int port = -1;

	if (len == 0)
		return;		/* a buffer too small, given back empty */
	if (len < 8)
		fuzz_die("a control message shorter than 8 bytes");
	memcpy(&id, b, 4);
	memcpy(&event, b + 4, 2);
	memcpy(&value, b + 6, 2);
	for (int i = 0; i < FUZZ_NPORTS; i++)
		if ((uint32_t)fuzz_port_ids[i] == id)
			port = i;
	if (port < 0)
		fuzz_die("a control message for a port not configured");
	if (event == 7) {
		if (len - 8 != strlen(fuzz_names[port]) ||
		    memcmp(b + 8, fuzz_names[port], len - 8) != 0)
			fuzz_die("PORT_NAME with the wrong name");
	} else if (len != 8) {
		fuzz_die("a control message with a payload");
	}
	if (event != 1 && event != 4 && event != 6 && event != 7)
		fuzz_die("a control event that is not the device's");
	if (value > 1 || (event != 6 && value != 1))
		fuzz_die("a control message with a bad value");
}

/* New used entries of queue q: lengths within plain buffers. */
static void
fuzz_check_used(int q)
{
	struct fuzz_ring *r = &fuzz_rings[q];
	uint16_t uidx;

	if (!r->on)
		return;
	memcpy(&uidx, fuzz_ram + fuzz_used_gpa(q) + 2, 2);
	if ((uint16_t)(uidx - r->seen) > FUZZ_QSZ)
		r->seen = (uint16_t)(uidx - FUZZ_QSZ);
	for (; r->seen != uidx; r->seen++) {
		uint64_t e = fuzz_used_gpa(q) + 4 + 8 * (uint64_t)(r->seen %
		    FUZZ_QSZ);
		struct vring_desc d;
		uint32_t id, len;

		memcpy(&id, fuzz_ram + e, 4);
		memcpy(&len, fuzz_ram + e + 4, 4);
		if (id >= FUZZ_QSZ)
			fuzz_die("a used id past the queue size");
		memcpy(&d, fuzz_ram + fuzz_desc_gpa(q, (int)id), sizeof(d));
		/* Only a buffer we made, unchanged, is known here. */
		if (d.flags != VRING_DESC_F_WRITE ||
		    d.addr != fuzz_slot_gpa(q, (int)id))
			continue;
		if (len > d.len)
			fuzz_die("a used length past the buffer");
		if (q == 2)
			fuzz_check_ctrl_msg(fuzz_ram + d.addr, len);
	}
}

static void
fuzz_checks(void)
{
	for (int i = 0; i < 8; i++)
		if (fuzz_queues[i] % 2 == 0)
			fuzz_check_used(fuzz_queues[i]);
}

static void
fuzz_step(struct fuzz_input *in, uint8_t op)
{
	switch (op % 12) {
	case 0:
		fuzz_negotiate(in);
		break;
	case 1:
	case 2:
		fuzz_ctrl_msg(in);
		break;
	case 3:
		fuzz_ctrl_bufs(in);
		break;
	case 4:
		fuzz_tx(in);
		break;
	case 5:
		fuzz_rx_bufs(in);
		break;
	case 6:
		fuzz_raw_desc(in);
		break;
	case 7:
		fuzz_regs(in);
		break;
	case 8:
	case 9:
		fuzz_client_op(in);
		break;
	default:
		for (int i = 0; i < 4; i++)
			(void)mevent_run_once(fuzz_bvm.mev, 0);
		break;
	}
	fuzz_checks();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_emul_opts o = { .extra = fuzz_emus, .nextra = 1,
		.intr_ops = &fuzz_ops };
	struct fuzz_input in = { data, size };

	memset(fuzz_ram, 0, FUZZ_RAM);
	memset(fuzz_rings, 0, sizeof(fuzz_rings));
	for (int i = 0; i < FUZZ_NPORTS; i++)
		fuzz_client[i] = fuzz_extra[i] = -1;
	fuzz_bvm.mev = mevent_create();
	fuzz_bvm.ports = io_registry_create(0x10000);
	fuzz_bvm.mmio = io_registry_create(UINT64_MAX);
	if (fuzz_bvm.mev == NULL || fuzz_bvm.ports == NULL ||
	    fuzz_bvm.mmio == NULL || pci_emul_init_opts(&fuzz_bvm, &o) != 0)
		fuzz_die(fuzz_bvm.err[0] ? fuzz_bvm.err : "cannot start PCI");
	for (int steps = 0; in.n > 0 && steps < FUZZ_MAX_STEPS; steps++)
		fuzz_step(&in, (uint8_t)fuzz_take(&in, 1));
	for (int i = 0; i < 4; i++)
		(void)mevent_run_once(fuzz_bvm.mev, 0);
	fuzz_checks();
	for (int i = 0; i < FUZZ_NPORTS; i++) {
		if (fuzz_client[i] >= 0)
			close(fuzz_client[i]);
		if (fuzz_extra[i] >= 0)
			close(fuzz_extra[i]);
	}
	pci_emul_destroy(&fuzz_bvm);
	mevent_destroy(fuzz_bvm.mev);
	io_registry_destroy(fuzz_bvm.ports);
	io_registry_destroy(fuzz_bvm.mmio);
	return 0;
}
