/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: virtqueues as a hostile guest drives them.  The input
 * is a program for a guest driver: raw writes into guest RAM, rings set
 * up at chosen (good and bad) places and sizes, descriptors and indirect
 * tables with addresses, lengths, flags and links drawn from interesting
 * values, available-ring posts and index jumps, notifications through
 * the modern and the legacy interface, common-config and legacy register
 * writes, status and feature sequences, MSI-X, EVENT_IDX fields, and
 * rounds of the event loop that continue budget-limited work.
 *
 * Two devices take it: virtio-rnd at slot 3, and at slot 4 "fvq", a test
 * device with two queues that touches every byte of every buffer it is
 * given and checks, besides the sanitizers: each buffer lies inside the
 * guest's RAM mapping; readable buffers come first and the counts and
 * lengths add up; no chain is handed out while the device is in
 * NEEDS_RESET or from a queue that is not enabled; a round never hands
 * out more chains than its budget.  The VM (4 MiB) is made once; its RAM
 * is cleared and PCI, registries and event loop are made fresh for every
 * input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhyverun.h"
#include "config.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "virtio.h"
#include "vmmapi.h"

#define FUZZ_RAM (4ULL << 20)
#define FUZZ_MAX_STEPS 256
#define FUZZ_NDEV 2		/* 0: virtio-rnd, 1: fvq */
#define FUZZ_NQ 2
#define FVQ_QSIZE 16
#define FVQ_BUDGET 8
#define FVQ_NIOV 32
#define FUZZ_BUF 0x100000ULL
#define FUZZ_ITAB 0x80000ULL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bhyve_vm fuzz_bvm;
static uint8_t *fuzz_ram;

static void
fuzz_die(const char *why)
{
	fprintf(stderr, "fuzz_virtq: %s\n", why);
	abort();
}

/* ---- fvq: a device that uses every byte it is given ---- */

struct fvq {
	struct virtio_softc vs;
	struct vqueue_info vq[FUZZ_NQ];
	uint8_t cfg[8];
	uint64_t sum;
};

static void
fvq_check_iov(const struct iovec *iov, int n, const struct vi_req *req)
{
	uint64_t rlen = 0, wlen = 0;

	if (req->readable + req->writable != n)
		fuzz_die("iov counts do not add up");
	for (int i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;

		if (p < fuzz_ram || p > fuzz_ram + FUZZ_RAM ||
		    iov[i].iov_len > (size_t)(fuzz_ram + FUZZ_RAM - p))
			fuzz_die("a buffer outside guest RAM");
		if (i < req->readable)
			rlen += iov[i].iov_len;
		else
			wlen += iov[i].iov_len;
	}
	if (rlen != req->readable_len || wlen != req->writable_len ||
	    rlen + wlen > UINT32_MAX)
		fuzz_die("iov lengths do not add up");
}

static void
fvq_notify(void *dev, struct vqueue_info *vq)
{
	struct fvq *sc = dev;
	struct iovec iov[FVQ_NIOV];
	struct vi_req req;
	int n, chains = 0;

	while ((n = vq_getchain(vq, iov, FVQ_NIOV, &req)) > 0) {
		if (sc->vs.vs_status & VIRTIO_CONFIG_S_NEEDS_RESET)
			fuzz_die("a chain handed out in NEEDS_RESET");
		if (!vq->vq_enabled || n > FVQ_NIOV)
			fuzz_die("a chain from a queue that is not running");
		if (++chains > FVQ_BUDGET)
			fuzz_die("a round went past its budget");
		fvq_check_iov(iov, n, &req);
		for (int i = 0; i < n; i++) {
			uint8_t *p = iov[i].iov_base;

			if (i < req.readable)
				for (size_t j = 0; j < iov[i].iov_len; j++)
					sc->sum += p[j];
			else
				memset(p, 0x5a, iov[i].iov_len);
		}
		vq_relchain(vq, req.idx, req.writable_len);
	}
	vq_endchains(vq);
}

static int
fvq_cfgread(void *dev, int off, int size, uint32_t *val)
{
	struct fvq *sc = dev;

	*val = 0;
	memcpy(val, &sc->cfg[off], (size_t)size);
	return 0;
}

static int
fvq_cfgwrite(void *dev, int off, int size, uint32_t val)
{
	struct fvq *sc = dev;

	memcpy(&sc->cfg[off], &val, (size_t)size);
	return 0;
}

static const struct virtio_consts fvq_consts = {
	.vc_name = "fvq",
	.vc_devtype = VIRTIO_ID_NETWORK,
	.vc_class = 0x020000,
	.vc_nvq = FUZZ_NQ,
	.vc_cfgsize = 8,
	.vc_hv_caps = 0x7,
	.vc_max_chain = 1 << 20,
	.vc_round_budget = FVQ_BUDGET,
	.vc_qnotify = fvq_notify,
	.vc_cfgread = fvq_cfgread,
	.vc_cfgwrite = fvq_cfgwrite,
};

static int
fvq_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct fvq *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return -1;
	for (int i = 0; i < FUZZ_NQ; i++)
		sc->vq[i].vq_qsize_max = FVQ_QSIZE;
	vi_softc_linkup(&sc->vs, &fvq_consts, sc, pi, sc->vq);
	if (vi_pci_init(&sc->vs, nvl) != 0) {
		free(sc);
		return -1;
	}
	return 0;
}

static void
fvq_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;

	vi_pci_destroy(vs);
	free(vs->vs_dev);
}

static const struct pci_devemu fvq_emu = {
	.pe_emu = "fvq",
	.pe_init = fvq_init,
	.pe_destroy = fvq_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};

static const struct pci_devemu *const fuzz_emus[] = { &fvq_emu,
	&pci_de_virtio_rnd };

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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const kv[] = {
		"pci.0.0.0.device", "hostbridge",
		"pci.0.3.0.device", "virtio-rnd",
		"pci.0.4.0.device", "fvq",
		NULL };

	fuzz_bvm = (struct bhyve_vm){ .ncpus = 1 };
	fuzz_bvm.cfg = config_new();
	fuzz_bvm.ctx = vm_create("fuzz-virtq", VMM_BACKEND_NULL, NULL);
	if (fuzz_bvm.cfg == NULL || fuzz_bvm.ctx == NULL ||
	    vm_setup_memory(fuzz_bvm.ctx, FUZZ_RAM))
		fuzz_die("cannot create the VM");
	fuzz_ram = vm_map_gpa(fuzz_bvm.ctx, 0, FUZZ_RAM);
	if (fuzz_ram == NULL)
		fuzz_die("no RAM");
	for (const char *const *p = kv; p[0]; p += 2)
		if (config_set(fuzz_bvm.cfg, p[0], p[1]) != 0)
			fuzz_die("cannot build the config");
	return 0;
}

/* ---- The guest driver's view ---- */

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

struct fuzz_ring {
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t aidx;
};

static struct fuzz_ring fuzz_rings[FUZZ_NDEV][FUZZ_NQ];
static const int fuzz_sizes[] = { 1, 2, 4, 8 };

static struct pci_devinst *
fuzz_dev(int d)
{
	for (struct pci_devinst *pi = pci_next(&fuzz_bvm, NULL); pi;
	    pi = pci_next(&fuzz_bvm, pi))
		if (pi->pi_slot == 3 + d)
			return pi;
	fuzz_die("a device is missing");
	return NULL;
}

static uint64_t
fuzz_mmio(bool write, uint64_t addr, int size, uint64_t v)
{
	(void)io_dispatch(fuzz_bvm.mmio, NULL, write, addr, size, &v);
	return v;
}

static uint64_t
fuzz_port(bool write, uint64_t port, int size, uint64_t v)
{
	(void)io_dispatch(fuzz_bvm.ports, NULL, write, port & 0xffff,
	    size > 4 ? 4 : size, &v);
	return v;
}

/* The modern BAR wherever it is now (the input may move it). */
static uint64_t
fuzz_common(int d)
{
	return fuzz_dev(d)->pi_bar[VI_PCI_MODERN_BAR].addr;
}

static void
fuzz_cw(int d, uint64_t off, int size, uint64_t v)
{
	(void)fuzz_mmio(true, fuzz_common(d) + off, size, v);
}

static void
fuzz_wr(uint64_t gpa, const void *src, size_t len)
{
	if (gpa < FUZZ_RAM && len <= FUZZ_RAM - gpa)
		memcpy(fuzz_ram + gpa, src, len);
}

static void
fuzz_w16(uint64_t gpa, uint16_t v)
{
	fuzz_wr(gpa, &v, 2);
}

/* ---- Steps ---- */

static void
fuzz_ram_write(struct fuzz_input *in)
{
	uint64_t off = fuzz_take(in, 3) % FUZZ_RAM;
	size_t n = (size_t)fuzz_take(in, 1) % 64;

	n = n < in->n ? n : in->n;
	fuzz_wr(off, in->p, n);
	in->p += n;
	in->n -= n;
}

/* The driver's queue set-up, at a good or a bad place and size. */
static void
fuzz_queue_setup(struct fuzz_input *in)
{
	static const uint16_t sizes[] = { 1, 2, 4, 8, 16, 64, 3, 0 };
	static const uint64_t bases[] = { 0x10000, 0x20000,
		FUZZ_RAM - 0x100, 0 };
	uint8_t x = (uint8_t)fuzz_take(in, 1), b = (uint8_t)fuzz_take(in, 1);
	int d = x & 1, q = (x >> 1) & 1;
	struct fuzz_ring *r = &fuzz_rings[d][q];

	r->size = sizes[(x >> 2) & 7];
	r->desc = (b & 3) == 3 ? fuzz_take(in, 4) : bases[b & 3];
	r->avail = r->desc + VQ_DESC_BYTES(r->size);
	r->used = ((r->avail + VQ_AVAIL_BYTES(r->size) + 3) & ~3ULL) +
	    (b & 4 ? 2 : 0);
	r->aidx = 0;
	fuzz_cw(d, 0x16, 2, (uint64_t)q);
	fuzz_cw(d, 0x18, 2, r->size);
	fuzz_cw(d, 0x20, 8, r->desc);
	fuzz_cw(d, 0x28, 8, r->avail);
	fuzz_cw(d, 0x30, 8, r->used);
	if (!(b & 8))
		fuzz_cw(d, 0x1a, 2, (uint64_t)q);
	fuzz_cw(d, 0x1c, 2, 1);
}

static uint64_t
fuzz_addr(struct fuzz_input *in)
{
	uint8_t a = (uint8_t)fuzz_take(in, 1);

	switch (a & 7) {
	case 0:
		return FUZZ_BUF + (fuzz_take(in, 2) << 4);
	case 1:
		return FUZZ_ITAB + ((uint64_t)(a >> 3) << 4);
	case 2:
		return 0;
	case 3:
		return FUZZ_RAM - 16;
	case 4:
		return FUZZ_RAM;
	case 5:
		return 0xfffffffffffffff8ULL;
	case 6:
		return 3ULL << 30;
	default:
		return fuzz_take(in, 8);
	}
}

static uint32_t
fuzz_len(struct fuzz_input *in)
{
	static const uint32_t lens[] = { 0, 1, 16, 512, 4096, 32, 0x10000 };
	uint8_t l = (uint8_t)fuzz_take(in, 1);

	return (l & 7) < 7 ? lens[l & 7] : (uint32_t)fuzz_take(in, 4);
}

/* A descriptor in a queue's table or in the indirect-table area. */
static void
fuzz_desc(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	struct fuzz_ring *r = &fuzz_rings[x & 1][(x >> 1) & 1];
	uint8_t i = (uint8_t)fuzz_take(in, 1);
	uint64_t table = x & 4 ? FUZZ_ITAB : r->desc;
	unsigned n = x & 4 ? 256 : (r->size ? r->size : 1);
	struct vring_desc d = { .addr = fuzz_addr(in), .len = fuzz_len(in) };

	d.flags = (uint16_t)fuzz_take(in, 1);
	d.next = (uint16_t)fuzz_take(in, 1);
	fuzz_wr(table + 16 * (uint64_t)(i % n), &d, sizeof(d));
}

static void
fuzz_post(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	struct fuzz_ring *r = &fuzz_rings[x & 1][(x >> 1) & 1];
	uint16_t head = (uint16_t)fuzz_take(in, 1);
	int count = 1 + ((x >> 3) & 3);

	if (x & 4) {
		r->aidx = (uint16_t)fuzz_take(in, 2);
	} else {
		for (int i = 0; i < count && r->size; i++) {
			fuzz_w16(r->avail + 4 + 2 * (uint64_t)(r->aidx %
			    r->size), (uint16_t)(head + i));
			r->aidx++;
		}
	}
	fuzz_w16(r->avail + 2, r->aidx);
}

static void
fuzz_notify(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	int d = x & 1, q = (x >> 1) & 3;
	struct pci_devinst *pi = fuzz_dev(d);

	if (x & 8)
		(void)fuzz_port(true, pi->pi_bar[0].addr + 0x10, 2,
		    (uint64_t)q);
	else
		(void)fuzz_mmio(true, fuzz_common(d) + VI_PCI_NOTIFY_OFF +
		    VI_PCI_NOTIFY_MULT * (uint64_t)q, 2, (uint64_t)q);
}

/* 3.1.1, with the features from the input or everything offered. */
static void
fuzz_negotiate(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	int d = x & 1;
	uint64_t f = x & 2 ? VIRTIO_CORE_CAPS | (d ? fvq_consts.vc_hv_caps :
	    0) : fuzz_take(in, 8);

	fuzz_cw(d, 0x14, 1, 0);
	fuzz_cw(d, 0x14, 1, 3);
	fuzz_cw(d, 0x08, 4, 0);
	fuzz_cw(d, 0x0c, 4, (uint32_t)f);
	fuzz_cw(d, 0x08, 4, 1);
	fuzz_cw(d, 0x0c, 4, f >> 32);
	fuzz_cw(d, 0x14, 1, 0xb);
	if (x & 4)
		fuzz_cw(d, 0x14, 1, 0xf);
	if (x & 8)
		fuzz_cw(d, 0x10, 2, FUZZ_NQ);
}

static void
fuzz_msix_on(struct pci_devinst *pi, uint64_t ecam)
{
	struct pci_msix *m = &pi->pi_msix;
	uint64_t t = pi->pi_bar[m->table_bar].addr;

	for (int i = 0; i < m->table_count; i++) {
		(void)fuzz_mmio(true, t + 16 * (uint64_t)i, 4, 0xfee00000);
		(void)fuzz_mmio(true, t + 16 * (uint64_t)i + 12, 4, 0);
	}
	(void)fuzz_mmio(true, ecam + (uint64_t)m->capoff + 2, 2,
	    PCIM_MSIXCTRL_MSIX_ENABLE);
}

/* The VIRTIO_PCI_CAP_PCI_CFG window: set it up, then use it. */
static void
fuzz_window(struct fuzz_input *in, struct pci_devinst *pi, uint64_t ecam,
    uint8_t x)
{
	static const uint32_t lens[] = { 1, 2, 4, 3 };
	struct virtio_softc *vs = pi->pi_arg;
	uint64_t cap = ecam + (uint64_t)vs->vs_cfgcap;
	uint8_t y = (uint8_t)fuzz_take(in, 1);

	(void)fuzz_mmio(true, cap + 4, 1, x & 0x20 ? VI_PCI_MODERN_BAR :
	    fuzz_take(in, 1));
	(void)fuzz_mmio(true, cap + 12, 4, lens[x >> 6]);
	(void)fuzz_mmio(true, cap + 8, 4, fuzz_take(in, 2));
	(void)fuzz_mmio(y & 1, cap + 16 + ((y >> 1) & 3), fuzz_sizes[
	    (y >> 3) % 3], y & 1 ? fuzz_take(in, 4) : 0);
}

/* MSI-X on, the config window, or a raw config access. */
static void
fuzz_config(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	struct pci_devinst *pi = fuzz_dev(x & 1);
	uint64_t ecam = PCI_ECAM_BASE + ((uint64_t)pi->pi_slot << 15);

	if ((x & 2) && pi->pi_msix.capoff)
		fuzz_msix_on(pi, ecam);
	else if (x & 0x10)
		fuzz_window(in, pi, ecam, x);
	else
		(void)fuzz_mmio(!(x & 0x20), ecam + fuzz_take(in, 1),
		    fuzz_sizes[(x >> 2) & 3] > 4 ? 4 :
		    fuzz_sizes[(x >> 2) & 3], fuzz_take(in, 4));
}

/* Registers: common config, legacy, device config, ISR, window. */
static void
fuzz_regs(struct fuzz_input *in, uint8_t op)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	int d = x & 1, size = fuzz_sizes[(x >> 1) & 3];
	bool write = x & 8;
	uint64_t off = fuzz_take(in, 1), v = write ? fuzz_take(in, 8) : 0;
	struct pci_devinst *pi = fuzz_dev(d);

	switch (op) {
	case 0:
		(void)fuzz_mmio(write, fuzz_common(d) + off % 0x40, size, v);
		break;
	case 1:
		(void)fuzz_port(write, pi->pi_bar[0].addr + off % 0x20, size,
		    v);
		break;
	default:
		(void)fuzz_mmio(write, fuzz_common(d) + (x & 0x10 ?
		    VI_PCI_ISR_OFF : VI_PCI_DEVCFG_OFF) + off % 16, size, v);
		break;
	}
}

static void
fuzz_events(struct fuzz_input *in)
{
	uint8_t x = (uint8_t)fuzz_take(in, 1);
	struct fuzz_ring *r = &fuzz_rings[x & 1][(x >> 1) & 1];
	uint16_t v = (uint16_t)fuzz_take(in, 2);

	if (x & 4)
		fuzz_w16(r->avail + 4 + 2 * (uint64_t)r->size, v);
	else
		fuzz_w16(r->avail, v);
}

static void
fuzz_step(struct fuzz_input *in, uint8_t op)
{
	switch (op % 13) {
	case 0:
		fuzz_ram_write(in);
		break;
	case 1:
		fuzz_queue_setup(in);
		break;
	case 2:
	case 3:
		fuzz_desc(in);
		break;
	case 4:
		fuzz_post(in);
		break;
	case 5:
		fuzz_notify(in);
		break;
	case 6:
		fuzz_negotiate(in);
		break;
	case 7:
		fuzz_config(in);
		break;
	case 8:
	case 9:
	case 10:
		fuzz_regs(in, (uint8_t)(op % 13 - 8));
		break;
	case 11:
		fuzz_events(in);
		break;
	default:
		for (int i = 0; i < 4; i++)
			(void)mevent_run_once(fuzz_bvm.mev, 0);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_emul_opts o = { .extra = fuzz_emus, .nextra = 2,
		.intr_ops = &fuzz_ops };
	struct fuzz_input in = { data, size };

	memset(fuzz_ram, 0, FUZZ_RAM);
	memset(fuzz_rings, 0, sizeof(fuzz_rings));
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
	pci_emul_destroy(&fuzz_bvm);
	mevent_destroy(fuzz_bvm.mev);
	io_registry_destroy(fuzz_bvm.ports);
	io_registry_destroy(fuzz_bvm.mmio);
	return 0;
}
