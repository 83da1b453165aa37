/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: virtio-net (loopback backend) as a hostile guest and
 * a hostile network drive it.  The first byte picks the device's options
 * (the header on the backend and with it every offload, the MTU, modern
 * only or transitional, MSI-X or MSI); the rest is a program: feature
 * negotiation and queue set-up with chosen sizes, transmit chains with
 * any addresses, lengths, flags and links and guest-chosen headers and
 * frames, receive chains of any shape inside a receive area, frames put
 * in from the "network" of any length and content, notifications, index
 * games on the rings, config accesses, rounds of the event loop.
 *
 * Besides the sanitizers it checks: every used receive entry names a
 * descriptor in range and reports no more bytes than the writable
 * buffers of that chain hold (walked here as the driver laid it out),
 * every used transmit entry reports 0 bytes, and guest RAM outside the
 * rings and the receive area keeps its canary: the device never writes
 * where the guest did not give it room.  The VM (4 MiB) is made once;
 * PCI, registries, event loop and config are fresh for every input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhyverun.h"
#include "config.h"
#include "iomem.h"
#include "mevent.h"
#include "net_backends.h"
#include "pci_emul.h"
#include "virtio.h"
#include "vmmapi.h"

#define FUZZ_RAM (4ULL << 20)
#define FUZZ_MAX_STEPS 192
#define FUZZ_SLOT 3
#define FUZZ_QMAX 128
#define FUZZ_RING(q) (0x10000ULL + 0x4000ULL * (uint64_t)(q))
#define FUZZ_RINGS_END 0x18000ULL
#define FUZZ_RXA 0x100000ULL	/* receive buffers */
#define FUZZ_RXA_SIZE 0x80000ULL
#define FUZZ_TXA 0x200000ULL	/* transmit buffers */
#define FUZZ_TXA_SIZE 0x80000ULL
#define FUZZ_CANARY 0xa5
#define FUZZ_BIGFRAME (NETBE_MAX_FRAME + 100)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bhyve_vm fuzz_bvm;
static uint8_t *fuzz_ram;
static uint8_t fuzz_frame[FUZZ_BIGFRAME];

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

struct fuzz_q {
	uint16_t size;	/* 0: not set up */
	uint16_t aidx;	/* the driver's avail index */
	uint16_t useen;	/* used entries checked */
};

static struct fuzz_q fuzz_qs[2];
static struct pci_devinst *fuzz_pi;

static void
fuzz_die(const char *why)
{
	fprintf(stderr, "fuzz_virtio_net: %s\n", why);
	abort();
}

static uint64_t
fuzz_take(struct fuzz_input *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

/* Up to 'len' input bytes into dst; the rest a pattern. */
static void
fuzz_fill(struct fuzz_input *in, uint8_t *dst, size_t len)
{
	size_t n = in->n < len ? in->n : len;

	memcpy(dst, in->p, n);
	in->p += n;
	in->n -= n;
	for (size_t i = n; i < len; i++)
		dst[i] = (uint8_t)(i * 13);
}

static void
fuzz_w16(uint64_t gpa, uint16_t v)
{
	memcpy(fuzz_ram + gpa, &v, 2);
}

static uint16_t
fuzz_r16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, fuzz_ram + gpa, 2);
	return v;
}

static uint32_t
fuzz_r32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, fuzz_ram + gpa, 4);
	return v;
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
	return fuzz_pi->pi_bar[VI_PCI_MODERN_BAR].addr + VI_PCI_COMMON_OFF;
}

static void
fuzz_cw(uint64_t off, int size, uint64_t v)
{
	(void)fuzz_mmio(true, fuzz_common() + off, size, v);
}

/* ---- Rings ---- */

static uint64_t
fuzz_desc_gpa(int q)
{
	return FUZZ_RING(q);
}

static uint64_t
fuzz_avail_gpa(int q)
{
	return FUZZ_RING(q) + VQ_DESC_BYTES(FUZZ_QMAX);
}

static uint64_t
fuzz_used_gpa(int q)
{
	return (fuzz_avail_gpa(q) + VQ_AVAIL_BYTES(FUZZ_QMAX) + 3) & ~3ULL;
}

static void
fuzz_desc(int q, int i, uint64_t addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	uint64_t d = fuzz_desc_gpa(q) + 16 * (uint64_t)i;

	memcpy(fuzz_ram + d, &addr, 8);
	memcpy(fuzz_ram + d + 8, &len, 4);
	fuzz_w16(d + 12, flags);
	fuzz_w16(d + 14, next);
}

static void
fuzz_post(int q, uint16_t head)
{
	struct fuzz_q *fq = &fuzz_qs[q];

	if (fq->size == 0)
		return;
	fuzz_w16(fuzz_avail_gpa(q) + 4 + 2 * (uint64_t)(fq->aidx % fq->size),
	    head);
	fq->aidx++;
	fuzz_w16(fuzz_avail_gpa(q) + 2, fq->aidx);
}

static void
fuzz_notify(int q)
{
	uint64_t n = fuzz_pi->pi_bar[VI_PCI_MODERN_BAR].addr +
	    VI_PCI_NOTIFY_OFF + VI_PCI_NOTIFY_MULT * (uint64_t)q;

	(void)fuzz_mmio(true, n, 2, (uint64_t)q);
}

/* The writable bytes of receive chain 'head', walked as laid out. */
static uint64_t
fuzz_rx_room(uint16_t head, uint16_t size)
{
	uint64_t room = 0;
	uint32_t i = head;

	for (int steps = 0; i < size && steps < size; steps++) {
		uint64_t d = fuzz_desc_gpa(0) + 16 * (uint64_t)i;
		uint16_t flags = fuzz_r16(d + 12);

		if (flags & VRING_DESC_F_WRITE)
			room += fuzz_r32(d + 8);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = fuzz_r16(d + 14);
	}
	return room;
}

/* Used entries since the last look: in range, within their room. */
static void
fuzz_check_used(void)
{
	for (int q = 0; q < 2; q++) {
		struct fuzz_q *fq = &fuzz_qs[q];
		uint16_t idx;

		if (fq->size == 0)
			continue;
		idx = fuzz_r16(fuzz_used_gpa(q) + 2);
		for (; fq->useen != idx; fq->useen++) {
			uint64_t e = fuzz_used_gpa(q) + 4 +
			    8 * (uint64_t)(fq->useen % fq->size);
			uint32_t id = fuzz_r32(e), len = fuzz_r32(e + 4);

			if (id >= fq->size)
				fuzz_die("a used entry names no descriptor");
			if (q == 1 && len != 0)
				fuzz_die("a transmit chain reported a length");
			if (q == 0 && len > fuzz_rx_room((uint16_t)id,
			    fq->size))
				fuzz_die("more received than the chain holds");
		}
	}
}

/* ---- Driver operations ---- */

/* Features, queues (sizes from the input), maybe DRIVER_OK. */
static void
fuzz_negotiate(struct fuzz_input *in)
{
	uint64_t want = fuzz_take(in, 8), dev;
	uint8_t x = (uint8_t)fuzz_take(in, 1);

	fuzz_cw(0x14, 1, 0);
	fuzz_cw(0x14, 1, 3);
	fuzz_cw(0x00, 4, 0);
	dev = fuzz_mmio(false, fuzz_common() + 0x04, 4, 0);
	fuzz_cw(0x00, 4, 1);
	dev |= fuzz_mmio(false, fuzz_common() + 0x04, 4, 0) << 32;
	want &= (x & 1) ? ~0ULL : dev;
	fuzz_cw(0x08, 4, 0);
	fuzz_cw(0x0c, 4, (uint32_t)want);
	fuzz_cw(0x08, 4, 1);
	fuzz_cw(0x0c, 4, want >> 32);
	fuzz_cw(0x14, 1, 0x0b);
	memset(fuzz_ram + FUZZ_RING(0), 0, FUZZ_RINGS_END - FUZZ_RING(0));
	for (int q = 0; q < 2; q++) {
		uint16_t size = (uint16_t)(1u << ((x >> (1 + 3 * q)) & 7));

		fuzz_qs[q] = (struct fuzz_q){ .size = size };
		fuzz_cw(0x16, 2, (uint64_t)q);
		fuzz_cw(0x18, 2, size);
		fuzz_cw(0x20, 8, fuzz_desc_gpa(q));
		fuzz_cw(0x28, 8, fuzz_avail_gpa(q));
		fuzz_cw(0x30, 8, fuzz_used_gpa(q));
		fuzz_cw(0x1c, 2, 1);
	}
	if (!(x & 0x80))
		fuzz_cw(0x14, 1, 0x0f);
}

/* A transmit chain: header and frame from the input, any shape. */
static void
fuzz_tx(struct fuzz_input *in)
{
	uint8_t b = (uint8_t)fuzz_take(in, 1);
	int n = 1 + (b & 7), d0 = (int)fuzz_take(in, 1) % FUZZ_QMAX;
	uint64_t at = FUZZ_TXA;

	for (int i = 0; i < n; i++) {
		uint8_t k = (uint8_t)fuzz_take(in, 1);
		uint32_t len = (uint32_t)fuzz_take(in, 2);
		uint64_t addr = at;
		uint16_t next = (uint16_t)((d0 + i + 1) % FUZZ_QMAX);
		uint16_t flags = i + 1 < n ? VRING_DESC_F_NEXT : 0;

		if (k & 1) {
			addr = fuzz_take(in, 8);	/* anywhere at all */
		} else if (at + len <= FUZZ_TXA + FUZZ_TXA_SIZE) {
			fuzz_fill(in, fuzz_ram + at, len < 2048 ? len : 2048);
			at += len;
		}
		if (k & 2)
			flags |= (uint16_t)((k >> 2) & 7);
		if (k & 0x20)
			next = (uint16_t)fuzz_take(in, 1);
		fuzz_desc(1, (d0 + i) % FUZZ_QMAX, addr, len, flags, next);
	}
	fuzz_post(1, (uint16_t)d0);
	if (!(b & 0x80))
		fuzz_notify(1);
}

/* A receive chain inside the receive area; never INDIRECT. */
static void
fuzz_rx(struct fuzz_input *in)
{
	uint8_t b = (uint8_t)fuzz_take(in, 1);
	int n = 1 + (b & 3), d0 = (int)fuzz_take(in, 1) % FUZZ_QMAX;

	for (int i = 0; i < n; i++) {
		uint8_t k = (uint8_t)fuzz_take(in, 1);
		uint32_t len = (uint32_t)fuzz_take(in, 2) % 8192;
		uint64_t off = fuzz_take(in, 3) % (FUZZ_RXA_SIZE - len);
		uint16_t next = (uint16_t)((d0 + i + 1) % FUZZ_QMAX);
		uint16_t flags = (k & 1) ? 0 : VRING_DESC_F_WRITE;

		if (i + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		if (k & 2)
			next = (uint16_t)fuzz_take(in, 1);
		fuzz_desc(0, (d0 + i) % FUZZ_QMAX, FUZZ_RXA + off, len, flags,
		    next);
	}
	fuzz_post(0, (uint16_t)d0);
	if (b & 0x80)
		fuzz_notify(0);
}

/* A frame from the network: any length, any bytes. */
static void
fuzz_inject(struct fuzz_input *in)
{
	struct net_backend *be = pci_vtnet_backend(fuzz_pi);
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	size_t len = (size_t)fuzz_take(in, 2) % 3000;
	struct iovec iov;

	if (x & 1)
		len = (x & 2) ? FUZZ_BIGFRAME : NETBE_MAX_FRAME + 12;
	fuzz_fill(in, fuzz_frame, len);
	iov = (struct iovec){ .iov_base = fuzz_frame, .iov_len = len };
	if (be != NULL)
		(void)netbe_send(be, &iov, 1);
}

/* Index games: jump avail idx, set flags or used_event. */
static void
fuzz_ring_games(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	int q = x & 1;
	uint16_t v = (uint16_t)fuzz_take(in, 2);
	struct fuzz_q *fq = &fuzz_qs[q];

	if (fq->size == 0)
		return;
	switch ((x >> 1) & 3) {
	case 0:
		fq->aidx = (uint16_t)(fq->aidx + v);
		fuzz_w16(fuzz_avail_gpa(q) + 2, fq->aidx);
		break;
	case 1:
		fuzz_w16(fuzz_avail_gpa(q), v);
		break;
	default:
		fuzz_w16(fuzz_avail_gpa(q) + 4 + 2 * (uint64_t)fq->size, v);
		break;
	}
}

static void
fuzz_config(struct fuzz_input *in)
{
	static const int sizes[] = { 1, 2, 4, 8 };
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	uint64_t base = fuzz_pi->pi_bar[VI_PCI_MODERN_BAR].addr;
	uint64_t off = fuzz_take(in, 1) % 20;

	if (x & 1)
		(void)fuzz_mmio(true, base + VI_PCI_DEVCFG_OFF + off,
		    sizes[(x >> 1) & 3], fuzz_take(in, 4));
	else if (x & 2)
		(void)fuzz_mmio(false, base + VI_PCI_ISR_OFF, 1, 0);
	else
		(void)fuzz_mmio(false, base + VI_PCI_DEVCFG_OFF + off,
		    sizes[(x >> 2) & 3], 0);
}

static void
fuzz_step(struct fuzz_input *in, uint8_t op)
{
	switch (op % 9) {
	case 0:
	case 1:
		fuzz_tx(in);
		break;
	case 2:
		fuzz_rx(in);
		break;
	case 3:
		fuzz_inject(in);
		break;
	case 4:
		fuzz_notify((int)fuzz_take(in, 1) % 4);
		break;
	case 5:
		fuzz_negotiate(in);
		break;
	case 6:
		fuzz_ring_games(in);
		break;
	case 7:
		fuzz_config(in);
		break;
	default:
		for (int i = 0; i < 1 + op % 4; i++)
			(void)mevent_run_once(fuzz_bvm.mev, 0);
		break;
	}
	fuzz_check_used();
}

/* RAM the device was never given must be as it was. */
static void
fuzz_check_canary(void)
{
	static const uint64_t keep[][2] = {
		{ 0, FUZZ_RING(0) },
		{ FUZZ_RINGS_END, FUZZ_RXA },
		{ FUZZ_RXA + FUZZ_RXA_SIZE, FUZZ_TXA },
		{ FUZZ_TXA + FUZZ_TXA_SIZE, FUZZ_RAM },
	};

	static uint8_t canary[4096];

	if (canary[0] != FUZZ_CANARY)
		memset(canary, FUZZ_CANARY, sizeof(canary));
	/* Page by page with memcmp: a byte loop is slow under coverage. */
	for (size_t r = 0; r < sizeof(keep) / sizeof(keep[0]); r++)
		for (uint64_t a = keep[r][0]; a < keep[r][1]; a += 4096) {
			uint64_t n = keep[r][1] - a < 4096 ? keep[r][1] - a :
			    4096;

			if (memcmp(fuzz_ram + a, canary, n) != 0)
				fuzz_die("a write outside the buffers");
		}
}

/* ---- Set-up ---- */

static const struct pci_devemu *const fuzz_emus[] = { &pci_de_virtio_net };

static int
fuzz_msi(void *arg, uint64_t addr, uint64_t data)
{
	return 0;
}

static int
fuzz_isa(void *arg, int atpic, int ioapic)
{
	return 0;
}

static int
fuzz_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops fuzz_ops = {
	.isa_assert = fuzz_isa,
	.isa_deassert = fuzz_isa,
	.ioapic_assert = fuzz_pin,
	.ioapic_deassert = fuzz_pin,
	.msi = fuzz_msi,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_bvm = (struct bhyve_vm){ .ncpus = 1 };
	fuzz_bvm.ctx = vm_create("fuzz-vtnet", VMM_BACKEND_NULL, NULL);
	if (fuzz_bvm.ctx == NULL || vm_setup_memory(fuzz_bvm.ctx, FUZZ_RAM))
		fuzz_die("cannot create the VM");
	fuzz_ram = vm_map_gpa(fuzz_bvm.ctx, 0, FUZZ_RAM);
	if (fuzz_ram == NULL)
		fuzz_die("no RAM");
	return 0;
}

/* The device's options from the first byte. */
static void
fuzz_config_tree(uint8_t x)
{
	static const char *const mtus[] = { "1500", "68", "9000", "65535" };
	struct config_node *c = config_new();

	if (c == NULL ||
	    config_set(c, "name", "fuzz") ||
	    config_set(c, "pci.0.0.0.device", "hostbridge") ||
	    config_set(c, "pci.0.3.0.device", "virtio-net") ||
	    config_set(c, "pci.0.3.0.backend", "loopback") ||
	    config_set(c, "pci.0.3.0.vnet_hdr", x & 1 ? "true" : "false") ||
	    config_set(c, "pci.0.3.0.mtu", mtus[(x >> 1) & 3]) ||
	    config_set(c, "pci.0.3.0.legacy", x & 8 ? "false" : "true") ||
	    config_set(c, "virtio_msix", x & 16 ? "false" : "true"))
		fuzz_die("cannot make the config");
	fuzz_bvm.cfg = c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_emul_opts o = { .extra = fuzz_emus, .nextra = 1,
		.intr_ops = &fuzz_ops };
	struct fuzz_input in = { data, size };

	memset(fuzz_ram, FUZZ_CANARY, FUZZ_RAM);
	memset(fuzz_qs, 0, sizeof(fuzz_qs));
	fuzz_config_tree((uint8_t)fuzz_take(&in, 1));
	fuzz_bvm.mev = mevent_create();
	fuzz_bvm.ports = io_registry_create(0x10000);
	fuzz_bvm.mmio = io_registry_create(UINT64_MAX);
	if (fuzz_bvm.mev == NULL || fuzz_bvm.ports == NULL ||
	    fuzz_bvm.mmio == NULL || pci_emul_init_opts(&fuzz_bvm, &o) != 0)
		fuzz_die(fuzz_bvm.err[0] ? fuzz_bvm.err : "cannot start PCI");
	for (fuzz_pi = pci_next(&fuzz_bvm, NULL);
	    fuzz_pi && fuzz_pi->pi_slot != FUZZ_SLOT;
	    fuzz_pi = pci_next(&fuzz_bvm, fuzz_pi))
		;
	if (fuzz_pi == NULL)
		fuzz_die("no virtio-net");
	for (int steps = 0; in.n > 0 && steps < FUZZ_MAX_STEPS; steps++)
		fuzz_step(&in, (uint8_t)fuzz_take(&in, 1));
	for (int i = 0; i < 4; i++)
		(void)mevent_run_once(fuzz_bvm.mev, 0);
	fuzz_check_used();
	fuzz_check_canary();
	pci_emul_destroy(&fuzz_bvm);
	mevent_destroy(fuzz_bvm.mev);
	io_registry_destroy(fuzz_bvm.ports);
	io_registry_destroy(fuzz_bvm.mmio);
	config_free(fuzz_bvm.cfg);
	return 0;
}
