/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio core and its PCI transport, driven as a guest driver drives
 * them: config space through ECAM, the modern registers and the legacy
 * I/O BAR through the VM's registries (io_dispatch), rings and buffers
 * built in the fake VM's RAM.  A null-backend VM with 64 MiB, the host
 * bridge, and at slot 3 either virtio-rnd or "vtest", a test-only device
 * whose queue handler records what the core hands it.  MSI/MSI-X and
 * INTx are intercepted through the framework's interrupt ops.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bhyverun.h"
#include "config.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "test.h"
#include "virtio.h"
#include "vmmapi.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define RAM_SIZE (64 * MiB)
#define SLOT 3
#define MSI_DATA_BASE 0x30	/* vector i sends data 0x30 + i */

/* Common config offsets (4.1.4.3). */
#define C_DFSEL 0x00
#define C_DF 0x04
#define C_GFSEL 0x08
#define C_GF 0x0c
#define C_CFGVEC 0x10
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_CFGGEN 0x15
#define C_QSEL 0x16
#define C_QSIZE 0x18
#define C_QVEC 0x1a
#define C_QENABLE 0x1c
#define C_QNOFF 0x1e
#define C_QDESC 0x20
#define C_QDRIVER 0x28
#define C_QDEVICE 0x30

/* Legacy registers (4.1.4.8). */
#define L_HOSTF 0x00
#define L_GUESTF 0x04
#define L_PFN 0x08
#define L_QNUM 0x0c
#define L_QSEL 0x0e
#define L_QNOTIFY 0x10
#define L_STATUS 0x12
#define L_ISR 0x13
#define L_CFGVEC 0x14
#define L_QVEC 0x16

#define S_DRIVEROK (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
	VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define F_RING (VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX)
#define F_ALL (VIRTIO_F_VERSION_1 | F_RING)

/* ---- vtest: a device that records what the core gives it ---- */

#define VT_MAXQ 2
#define VT_MAXIOV 160

enum vt_mode {
	VT_COMPLETE,	/* fill the writable buffers, return the chain */
	VT_HOLD,	/* keep the chain (a request in flight) */
	VT_RETCHAIN,	/* give it back untouched, once */
};

struct vtest {
	struct virtio_softc vs;
	struct vqueue_info vq[VT_MAXQ];
	struct virtio_consts vc;
	uint8_t cfg[16];
	int niov;
	enum vt_mode mode;
	int notifies, chains, errors, resets, applies;
	uint64_t applied;
	bool refuse;
	struct vi_req last;
	int last_n;
	size_t last_len[VT_MAXIOV];
	struct vi_req held[64];
	int nheld;
	/* Run after each chain: a guest refilling the ring meanwhile. */
	void (*during)(struct vtest *t);
	void *during_arg;
};

static void
vtest_notify(void *dev, struct vqueue_info *vq)
{
	struct vtest *t = dev;
	struct iovec iov[VT_MAXIOV];
	struct vi_req req;
	int n;

	t->notifies++;
	while ((n = vq_getchain(vq, iov, t->niov, &req)) > 0) {
		t->chains++;
		t->last = req;
		t->last_n = n;
		for (int i = 0; i < n; i++)
			t->last_len[i] = iov[i].iov_len;
		if (t->mode == VT_RETCHAIN) {
			vq_retchain(vq);
			t->mode = VT_COMPLETE;
			break;
		}
		if (t->mode == VT_HOLD) {
			if (t->nheld < 64)
				t->held[t->nheld++] = req;
			continue;
		}
		for (int i = req.readable; i < n; i++)
			memset(iov[i].iov_base, 0xa5, iov[i].iov_len);
		vq_relchain(vq, req.idx, req.writable_len);
		if (t->during)
			t->during(t);
	}
	if (n < 0)
		t->errors++;
	vq_endchains(vq);
}

static int
vtest_cfgread(void *dev, int off, int size, uint32_t *val)
{
	struct vtest *t = dev;

	*val = 0;
	memcpy(val, &t->cfg[off], (size_t)size);
	return 0;
}

static int
vtest_cfgwrite(void *dev, int off, int size, uint32_t val)
{
	struct vtest *t = dev;

	memcpy(&t->cfg[off], &val, (size_t)size);
	return 0;
}

static void
vtest_reset(void *dev)
{
	struct vtest *t = dev;

	t->resets++;
	t->nheld = 0;
}

static int
vtest_apply(void *dev, uint64_t f)
{
	struct vtest *t = dev;

	t->applies++;
	t->applied = f;
	return t->refuse ? -1 : 0;
}

static uint64_t
knum(struct config_node *nvl, const char *key, uint64_t def)
{
	uint64_t v = def;

	return config_get_uint(nvl, key, def, &v) == 0 ? v : def;
}

/*
 * Keys: nvq, qsize, niov, maxchain, budget, cfgsize, feat (device
 * features), refuse (refuse any features), legacy.
 */
static int
vtest_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct vtest *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	t->vc = (struct virtio_consts){ .vc_name = "vtest",
		.vc_devtype = VIRTIO_ID_BLOCK, .vc_class = 0x010000,
		.vc_nvq = (int)knum(nvl, "nvq", 1),
		.vc_cfgsize = knum(nvl, "cfgsize", 8),
		.vc_hv_caps = knum(nvl, "feat", 1ULL << 5),
		.vc_max_chain = (uint32_t)knum(nvl, "maxchain", 0),
		.vc_round_budget = (uint32_t)knum(nvl, "budget", 0),
		.vc_reset = vtest_reset, .vc_qnotify = vtest_notify,
		.vc_cfgread = vtest_cfgread, .vc_cfgwrite = vtest_cfgwrite,
		.vc_apply_features = vtest_apply };
	t->niov = (int)knum(nvl, "niov", 8);
	t->refuse = knum(nvl, "refuse", 0) != 0;
	for (int i = 0; i < 16; i++)
		t->cfg[i] = (uint8_t)(0x10 + i);
	for (int i = 0; i < VT_MAXQ; i++)
		t->vq[i].vq_qsize_max = (uint16_t)knum(nvl, "qsize", 16);
	vi_softc_linkup(&t->vs, &t->vc, t, pi, t->vq);
	if (vi_pci_init(&t->vs, nvl) != 0) {
		free(t);
		return -1;
	}
	return 0;
}

static void
vtest_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;

	vi_pci_destroy(vs);
	free(vs->vs_dev);
}

static const struct pci_devemu vtest_emu = {
	.pe_emu = "vtest",
	.pe_init = vtest_init,
	.pe_destroy = vtest_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};

static const struct pci_devemu *const test_emus[] = { &vtest_emu,
	&pci_de_virtio_rnd };

/* ---- Interrupts, intercepted ---- */

struct irqs {
	int nmsi;
	int per_vec[64];	/* by data - MSI_DATA_BASE */
	uint64_t last_addr, last_data;
	int intx;		/* INTx lines up (only the device has one) */
};

static int
rec_msi(void *arg, uint64_t addr, uint64_t data)
{
	struct irqs *l = arg;

	l->nmsi++;
	l->last_addr = addr;
	l->last_data = data;
	if (data >= MSI_DATA_BASE && data < MSI_DATA_BASE + 64)
		l->per_vec[data - MSI_DATA_BASE]++;
	return 0;
}

static int
rec_isa_up(void *arg, int atpic, int ioapic)
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
rec_pin_up(void *arg, int pin)
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
	.isa_assert = rec_isa_up,
	.isa_deassert = rec_isa_down,
	.ioapic_assert = rec_pin_up,
	.ioapic_deassert = rec_pin_down,
	.msi = rec_msi,
};

/* ---- The fake VM ---- */

struct fx {
	struct bhyve_vm bvm;
	struct irqs irq;
	int init_error;
	struct pci_devinst *pi;
	struct virtio_softc *vs;
	uint8_t *ram;
	uint64_t ramsize;
	/* Where the capabilities say the structures are. */
	uint64_t common, isr, devcfg, notify;
	uint32_t notify_mult, devcfg_len;
	int ncaps[6], cfgcap, msixcap, msicap;
	uint16_t legacy;	/* BAR 0's port, 0 if none */
};




static uint64_t
bar_addr(struct fx *f, int bar)
{
	uint64_t lo = fake_cfg_rd(&f->bvm, SLOT, 0x10 + 4 * bar, 4);

	if ((lo & 6) == 4)
		return (lo & ~0xfULL) | fake_cfg_rd(&f->bvm, SLOT,
		    0x14 + 4 * bar, 4) << 32;
	return lo & ~0xfULL;
}

static void
take_cap(struct fx *f, int off)
{
	int type = (int)fake_cfg_rd(&f->bvm, SLOT, off + 3, 1);
	uint64_t at = bar_addr(f, (int)fake_cfg_rd(&f->bvm, SLOT, off + 4, 1)) +
	    fake_cfg_rd(&f->bvm, SLOT, off + 8, 4);

	if (type < 1 || type > 5)
		return;
	f->ncaps[type]++;
	switch (type) {
	case 1:
		f->common = at;
		break;
	case 2:
		f->notify = at;
		f->notify_mult = (uint32_t)fake_cfg_rd(&f->bvm, SLOT,
		    off + 16, 4);
		break;
	case 3:
		f->isr = at;
		break;
	case 4:
		f->devcfg = at;
		f->devcfg_len = (uint32_t)fake_cfg_rd(&f->bvm, SLOT,
		    off + 12, 4);
		break;
	default:
		f->cfgcap = off;
		break;
	}
}

/* Walk the capability list as a driver does. */
static void
find_caps(struct fx *f)
{
	int off = (int)fake_cfg_rd(&f->bvm, SLOT, PCIR_CAP_PTR, 1), steps = 0;

	while (off != 0 && steps++ < 48) {
		int id = (int)fake_cfg_rd(&f->bvm, SLOT, off, 1);

		if (id == PCIY_VENDOR)
			take_cap(f, off);
		else if (id == PCIY_MSIX)
			f->msixcap = off;
		else if (id == PCIY_MSI)
			f->msicap = off;
		off = (int)fake_cfg_rd(&f->bvm, SLOT, off + 1, 1);
	}
}

static int
fx_setup_mem(struct fx *f, const char *const *kv, uint64_t ram)
{
	struct pci_emul_opts o = { .extra = test_emus, .nextra = 2,
		.intr_ops = &rec_ops, .intr_arg = &f->irq };

	memset(f, 0, sizeof(*f));
	f->ramsize = ram;
	if (fake_vm_init(&f->bvm, "t-virtio", VMM_BACKEND_NULL, ram, kv) != 0 ||
	    config_set(f->bvm.cfg, "pci.0.0.0.device", "hostbridge") != 0)
		return -1;
	f->ram = vm_map_gpa(f->bvm.ctx, 0, vm_get_lowmem_size(f->bvm.ctx));
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

static int
fx_setup(struct fx *f, const char *const *kv)
{
	return fx_setup_mem(f, kv, RAM_SIZE);
}

static void
fx_teardown(struct fx *f)
{
	fake_vm_fini(&f->bvm);
}

static struct vtest *
fx_vtest(struct fx *f)
{
	return f->vs->vs_dev;
}

/* Run what the event loop has: continued rounds. */
static void
fx_pump(struct fx *f)
{
	for (int i = 0; i < 64; i++)
		CHECK_EQ(mevent_run_once(f->bvm.mev, 0), 0);
}

/* ---- Guest accesses: registers ---- */



static uint64_t
cr(struct fx *f, uint64_t off, int size)
{
	return fake_mmio_rd(&f->bvm, f->common + off, size);
}

static void
cw(struct fx *f, uint64_t off, int size, uint64_t v)
{
	fake_mmio_wr(&f->bvm, f->common + off, size, v);
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

static uint8_t
status(struct fx *f)
{
	return (uint8_t)cr(f, C_STATUS, 1);
}

static uint64_t
dev_features(struct fx *f)
{
	uint64_t lo;

	cw(f, C_DFSEL, 4, 0);
	lo = cr(f, C_DF, 4);
	cw(f, C_DFSEL, 4, 1);
	return lo | cr(f, C_DF, 4) << 32;
}

/* 3.1.1 up to FEATURES_OK; returns the status read back. */
static uint8_t
drv_negotiate(struct fx *f, uint64_t features)
{
	cw(f, C_STATUS, 1, 0);
	cw(f, C_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cw(f, C_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	    VIRTIO_CONFIG_S_DRIVER);
	cw(f, C_GFSEL, 4, 0);
	cw(f, C_GF, 4, (uint32_t)features);
	cw(f, C_GFSEL, 4, 1);
	cw(f, C_GF, 4, features >> 32);
	cw(f, C_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	    VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return status(f);
}

static void
drv_ok(struct fx *f)
{
	cw(f, C_STATUS, 1, S_DRIVEROK);
}

/* MSI-X on: vector i sends MSI_DATA_BASE + i, all unmasked. */
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
		    MSI_DATA_BASE + (uint64_t)i);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 12, 4, 0);
	}
	fake_cfg_wr(&f->bvm, SLOT, f->msixcap + 2, 2,
	    PCIM_MSIXCTRL_MSIX_ENABLE);
}

/* ---- Guest accesses: rings in guest RAM ---- */

struct gq {
	int q;
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t aidx;		/* the driver's avail->idx */
};

static void
g_w16(struct fx *f, uint64_t gpa, uint16_t v)
{
	memcpy(f->ram + gpa, &v, 2);
}

static void
g_w32(struct fx *f, uint64_t gpa, uint32_t v)
{
	memcpy(f->ram + gpa, &v, 4);
}

static void
g_w64(struct fx *f, uint64_t gpa, uint64_t v)
{
	memcpy(f->ram + gpa, &v, 8);
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

/* A descriptor at 'table' (the queue's or an indirect one). */
static void
g_desc(struct fx *f, uint64_t table, int i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	uint64_t d = table + 16 * (uint64_t)i;

	g_w64(f, d, addr);
	g_w32(f, d + 8, len);
	g_w16(f, d + 12, flags);
	g_w16(f, d + 14, next);
}

static void
gq_desc(struct fx *f, struct gq *r, int i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	g_desc(f, r->desc, i, addr, len, flags, next);
}

/* Put 'head' in the available ring; with 'publish', move idx too. */
static void
gq_add(struct fx *f, struct gq *r, uint16_t head, bool publish)
{
	g_w16(f, r->avail + 4 + 2 * (uint64_t)(r->aidx % r->size), head);
	r->aidx++;
	if (publish)
		g_w16(f, r->avail + 2, r->aidx);
}

static void
gq_post(struct fx *f, struct gq *r, uint16_t head)
{
	gq_add(f, r, head, true);
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
gq_set_used_event(struct fx *f, struct gq *r, uint16_t v)
{
	g_w16(f, r->avail + 4 + 2 * (uint64_t)r->size, v);
}

static uint16_t
gq_avail_event(struct fx *f, struct gq *r)
{
	return g_r16(f, r->used + 4 + 8 * (uint64_t)r->size);
}

/* The driver's side of queue set-up (4.1.5.1.3), rings at 'base'. */
static void
gq_setup(struct fx *f, struct gq *r, int q, uint16_t size, uint64_t base)
{
	*r = (struct gq){ .q = q, .size = size, .desc = base,
		.avail = base + VQ_DESC_BYTES(size) };
	r->used = (r->avail + VQ_AVAIL_BYTES(size) + 3) & ~3ULL;
	memset(f->ram + base, 0, (size_t)(r->used + VQ_USED_BYTES(size) -
	    base));
	cw(f, C_QSEL, 2, (uint64_t)q);
	cw(f, C_QSIZE, 2, size);
	cw(f, C_QDESC, 8, r->desc);
	cw(f, C_QDRIVER, 4, (uint32_t)r->avail);
	cw(f, C_QDRIVER + 4, 4, r->avail >> 32);
	cw(f, C_QDEVICE, 8, r->used);
	cw(f, C_QENABLE, 2, 1);
}

static void
gq_notify(struct fx *f, struct gq *r)
{
	fake_mmio_wr(&f->bvm, f->notify + (uint64_t)r->q * f->notify_mult, 2,
	    (uint64_t)r->q);
}

/* A running modern device with queue 0 at 0x10000 and MSI-X on. */
static void
fx_ready(struct fx *f, struct gq *r, uint64_t features, uint16_t qsize)
{
	msix_on(f);
	CHECK(drv_negotiate(f, features) & VIRTIO_CONFIG_S_FEATURES_OK);
	cw(f, C_CFGVEC, 2, (uint64_t)f->vs->vs_vc->vc_nvq);
	gq_setup(f, r, 0, qsize, 0x10000);
	cw(f, C_QVEC, 2, 0);
	drv_ok(f);
	CHECK_EQ(status(f), S_DRIVEROK);
}

#define BUF 0x100000ULL	/* buffers from 1 MiB */
#define ITAB 0x80000ULL	/* indirect tables */

static const char *const rnd_kv[] = { "pci.0.3.0.device", "virtio-rnd",
	NULL };
static const char *const vtest_kv[] = { "pci.0.3.0.device", "vtest", NULL };

/* ---- Identity and layout ---- */

TEST(transitional_identity_and_caps)
{
	struct fx f;

	REQUIRE(fx_setup(&f, rnd_kv) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_VENDOR, 2), VIRTIO_VENDOR);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_DEVICE, 2), 0x1005);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_REVID, 1), 0);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBVEND_0, 2), VIRTIO_VENDOR);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBDEV_0, 2),
	    VIRTIO_ID_ENTROPY);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_CLASS, 1), 0xff);
	CHECK(fake_cfg_rd(&f.bvm, SLOT, PCIR_INTPIN, 1) != 0);
	/* BAR 0 is I/O (legacy), BAR 4 64-bit memory. */
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_BAR(0), 4) & 1, 1);
	CHECK(f.legacy != 0);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_BAR(4), 4) & 7, 4);
	/* One of each structure, no device config for rnd. */
	CHECK_EQ(f.ncaps[1], 1);
	CHECK_EQ(f.ncaps[2], 1);
	CHECK_EQ(f.ncaps[3], 1);
	CHECK_EQ(f.ncaps[4], 0);
	CHECK_EQ(f.ncaps[5], 1);
	CHECK_EQ(f.notify_mult, VI_PCI_NOTIFY_MULT);
	CHECK_EQ(f.common, bar_addr(&f, 4));
	CHECK_EQ(f.isr, f.common + VI_PCI_ISR_OFF);
	CHECK_EQ(f.notify, f.common + VI_PCI_NOTIFY_OFF);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, f.cfgcap + 2, 1),
	    20); /* cap_len with data */
	/* MSI-X: one vector for the queue, one for config. */
	REQUIRE(f.msixcap != 0);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, f.msixcap + 2, 2) & 0x7ff, 1);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, f.msixcap + 4, 4), VI_PCI_MSIX_BAR);
	CHECK_EQ(f.msicap, 0);
	CHECK_EQ(cr(&f, C_NUMQ, 2), 1);
	CHECK_EQ(cr(&f, C_QSIZE, 2), 64);
	fx_teardown(&f);
}

TEST(modern_only_identity)
{
	static const char *const kv[] = { "pci.0.3.0.device", "virtio-rnd",
		"pci.0.3.0.legacy", "false", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_DEVICE, 2), 0x1044);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_REVID, 1), 1);
	CHECK(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBDEV_0, 2) >= 0x40);
	CHECK_EQ(f.legacy, 0);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_BAR(0), 4), 0);
	CHECK(f.common != 0);
	fx_teardown(&f);
}

TEST(msi_instead_of_msix)
{
	static const char *const kv[] = { "pci.0.3.0.device", "virtio-rnd",
		"virtio_msix", "false", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(f.msixcap, 0);
	CHECK(f.msicap != 0);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_BAR(VI_PCI_MSIX_BAR), 4), 0);
	fx_teardown(&f);
}

TEST(bad_options_fail_start_up)
{
	static const char *const kv1[] = { "pci.0.3.0.device", "virtio-rnd",
		"pci.0.3.0.legacy", "maybe", NULL };
	static const char *const kv2[] = { "pci.0.3.0.device", "vtest",
		"pci.0.3.0.qsize", "24", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, kv1) == 0);
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "0:3:0") && strstr(f.bvm.err, "legacy"));
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, kv2) == 0);
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "power of 2") != NULL);
	fx_teardown(&f);
}

/* ---- Features and status ---- */

TEST(modern_feature_negotiation)
{
	struct fx f;
	struct vtest *t;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	t = fx_vtest(&f);
	CHECK_EQ(dev_features(&f), F_ALL | (1ULL << 5));
	cw(&f, C_DFSEL, 4, 2);
	CHECK_EQ(cr(&f, C_DF, 4), 0);
	/* Without VERSION_1: FEATURES_OK refused (6.1). */
	CHECK_EQ(drv_negotiate(&f, 1ULL << 5) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	/* A bit the device does not offer: refused. */
	CHECK_EQ(drv_negotiate(&f, VIRTIO_F_VERSION_1 | (1ULL << 6)) &
	    VIRTIO_CONFIG_S_FEATURES_OK, 0);
	/* A subset: accepted, and the device hears of it. */
	CHECK(drv_negotiate(&f, VIRTIO_F_VERSION_1 | (1ULL << 5)) &
	    VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK_EQ(t->applied, VIRTIO_F_VERSION_1 | (1ULL << 5));
	CHECK_EQ(f.vs->vs_negotiated_caps, VIRTIO_F_VERSION_1 | (1ULL << 5));
	cw(&f, C_GFSEL, 4, 1);
	CHECK_EQ(cr(&f, C_GF, 4), 1);
	/* After FEATURES_OK the driver's features are frozen. */
	cw(&f, C_GFSEL, 4, 0);
	cw(&f, C_GF, 4, 0);
	CHECK_EQ(cr(&f, C_GF, 4), 1u << 5);
	fx_teardown(&f);
}

TEST(device_may_refuse_features)
{
	static const char *const kv[] = { "pci.0.3.0.device", "vtest",
		"pci.0.3.0.refuse", "1", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(drv_negotiate(&f, VIRTIO_F_VERSION_1) &
	    VIRTIO_CONFIG_S_FEATURES_OK, 0);
	CHECK_EQ(fx_vtest(&f)->applies, 1);
	CHECK_EQ(f.vs->vs_negotiated_caps, 0);
	fx_teardown(&f);
}

TEST(legacy_feature_negotiation)
{
	struct fx f;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.legacy);
	/* Bits 0-31 only: VERSION_1 is not visible here. */
	CHECK_EQ(lr(&f, L_HOSTF, 4), (uint32_t)(F_RING | (1ULL << 5)));
	lw(&f, L_STATUS, 1, 3);
	lw(&f, L_GUESTF, 4, 0xffffffff);
	CHECK_EQ(lr(&f, L_GUESTF, 4), (uint32_t)(F_RING | (1ULL << 5)));
	CHECK_EQ(f.vs->vs_negotiated_caps, F_RING | (1ULL << 5));
	CHECK_EQ(fx_vtest(&f)->applied, F_RING | (1ULL << 5));
	CHECK_EQ(lr(&f, L_STATUS, 1), 3);
	/* The same status through both interfaces. */
	CHECK_EQ(status(&f), 3);
	fx_teardown(&f);
}

TEST(status_rules_and_reset)
{
	struct fx f;
	struct gq r;
	int resets;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, F_ALL, 8);
	resets = fx_vtest(&f)->resets;
	CHECK_EQ(cr(&f, C_QVEC, 2), 0);
	/* The driver cannot set NEEDS_RESET, nor clear bits. */
	cw(&f, C_STATUS, 1, VIRTIO_CONFIG_S_NEEDS_RESET | 1);
	CHECK_EQ(status(&f), S_DRIVEROK);
	/* Reset: everything the driver set is gone. */
	cw(&f, C_STATUS, 1, 0);
	CHECK_EQ(status(&f), 0);
	CHECK_EQ(fx_vtest(&f)->resets, resets + 1);
	CHECK_EQ(cr(&f, C_QENABLE, 2), 0);
	CHECK_EQ(cr(&f, C_QSIZE, 2), 16);
	CHECK_EQ(cr(&f, C_QVEC, 2), VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(cr(&f, C_CFGVEC, 2), VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(cr(&f, C_QDESC, 8), 0);
	CHECK_EQ(f.vs->vs_negotiated_caps, 0);
	cw(&f, C_GFSEL, 4, 1);
	CHECK_EQ(cr(&f, C_GF, 4), 0);
	fx_teardown(&f);
}

TEST(common_config_access_widths)
{
	static const char *const kv[] = { "pci.0.3.0.device", "vtest",
		"pci.0.3.0.nvq", "2", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	CHECK_EQ(cr(&f, C_NUMQ, 2), 2);
	/* Not the field's width: reads 0, writes nothing. */
	CHECK_EQ(cr(&f, C_NUMQ, 4), 0);
	CHECK_EQ(cr(&f, C_NUMQ, 1), 0);
	cw(&f, C_QSEL, 4, 1);
	CHECK_EQ(cr(&f, C_QSEL, 2), 0);
	/* 64-bit fields: whole, or either half alone (4.1.3.1). */
	cw(&f, C_QDESC, 8, 0x1122334455667780ULL);
	CHECK_EQ(cr(&f, C_QDESC, 8), 0x1122334455667780ULL);
	cw(&f, C_QDESC + 4, 4, 0xaabbccdd);
	CHECK_EQ(cr(&f, C_QDESC, 4), 0x55667780);
	CHECK_EQ(cr(&f, C_QDESC + 4, 4), 0xaabbccdd);
	CHECK_EQ(cr(&f, C_QDESC + 2, 2), 0);
	/* Queue fields follow queue_select; out of range reads 0. */
	cw(&f, C_QSEL, 2, 1);
	CHECK_EQ(cr(&f, C_QDESC, 8), 0);
	CHECK_EQ(cr(&f, C_QNOFF, 2), 1);
	cw(&f, C_QSEL, 2, 2);
	CHECK_EQ(cr(&f, C_QSIZE, 2), 0);
	cw(&f, C_QSIZE, 2, 4);
	cw(&f, C_QENABLE, 2, 1);
	CHECK_EQ(cr(&f, C_QENABLE, 2), 0);
	CHECK_EQ(f.vs->vs_status, 0);
	/* Past the structure: zeros, and writes land nowhere. */
	CHECK_EQ(cr(&f, 0x38, 2), 0);
	CHECK_EQ(cr(&f, 0x100, 4), 0);
	cw(&f, 0x800, 4, 0xffffffff);
	CHECK_EQ(status(&f), 0);
	fx_teardown(&f);
}

TEST(queue_fields_locked_once_enabled)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, F_ALL, 8);
	cw(&f, C_QSIZE, 2, 4);
	cw(&f, C_QDESC, 8, 0x40000);
	cw(&f, C_QENABLE, 2, 0); /* forbidden: ignored */
	CHECK_EQ(cr(&f, C_QSIZE, 2), 8);
	CHECK_EQ(cr(&f, C_QDESC, 8), 0x10000);
	CHECK_EQ(cr(&f, C_QENABLE, 2), 1);
	/* Vectors: a table entry, or NO_VECTOR for anything else. */
	cw(&f, C_QVEC, 2, 1);
	CHECK_EQ(cr(&f, C_QVEC, 2), 1);
	cw(&f, C_QVEC, 2, 2);
	CHECK_EQ(cr(&f, C_QVEC, 2), VIRTIO_MSI_NO_VECTOR);
	cw(&f, C_CFGVEC, 2, 0x7ff);
	CHECK_EQ(cr(&f, C_CFGVEC, 2), VIRTIO_MSI_NO_VECTOR);
	fx_teardown(&f);
}

/* A queue set up with a bad ring: NEEDS_RESET, queue stays off. */
static void
bad_ring(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
    const char *why)
{
	struct fx f;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	CHECK(drv_negotiate(&f, F_ALL) & VIRTIO_CONFIG_S_FEATURES_OK);
	cw(&f, C_QSEL, 2, 0);
	cw(&f, C_QSIZE, 2, size);
	cw(&f, C_QDESC, 8, desc);
	cw(&f, C_QDRIVER, 8, avail);
	cw(&f, C_QDEVICE, 8, used);
	cw(&f, C_QENABLE, 2, 1);
	CHECK_EQ(cr(&f, C_QENABLE, 2), 0);
	CHECK(status(&f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (strstr(f.vs->vs_err, why) == NULL) {
		fprintf(stderr, "  case '%s': \"%s\"\n", why, f.vs->vs_err);
		CHECK(false);
	}
	fx_teardown(&f);
}

TEST(queue_setup_checks_rings)
{
	bad_ring(12, 0x10000, 0x20000, 0x30000, "queue size 12");
	bad_ring(32, 0x10000, 0x20000, 0x30000, "queue size 32");
	bad_ring(8, 0x10008, 0x20000, 0x30000, "misaligned");
	bad_ring(8, 0x10000, 0x20001, 0x30000, "misaligned");
	bad_ring(8, 0x10000, 0x20000, 0x30002, "misaligned");
	bad_ring(8, RAM_SIZE, 0x20000, 0x30000, "descriptor ring");
	bad_ring(8, 0x10000, RAM_SIZE - 8, 0x30000, "available ring");
	bad_ring(8, 0x10000, 0x20000, RAM_SIZE - 64, "used ring");
	bad_ring(8, 0x10000, 0x20000, 0xfffffffffffffff0ULL, "used ring");
}

/* ---- virtio-rnd end to end ---- */

static bool
all_zero(struct fx *f, uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (f->ram[gpa + i] != 0)
			return false;
	return true;
}

TEST(rnd_modern_msix)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, rnd_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, VIRTIO_F_VERSION_1, 16);
	/* One 128-byte writable buffer. */
	memset(f.ram + BUF, 0, 8192);
	gq_desc(&f, &r, 0, BUF, 128, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 0);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	CHECK_EQ(gq_used_id(&f, &r, 0), 0);
	CHECK_EQ(gq_used_len(&f, &r, 0), 128);
	CHECK(!all_zero(&f, BUF, 128));
	CHECK(all_zero(&f, BUF + 128, 64));
	/* The queue's vector 0, as the MSI-X table says. */
	CHECK_EQ(f.irq.per_vec[0], 1);
	CHECK_EQ(f.irq.last_addr, 0xfee00000);
	CHECK_EQ(f.irq.nmsi, 1);
	/*
	 * A readable buffer (skipped), then two writable ones: 16 bytes and
	 * 8 KiB, of which the device fills 4 KiB in all.
	 */
	memset(f.ram + BUF, 0, 16384);
	gq_desc(&f, &r, 1, BUF + 12288, 16, VRING_DESC_F_NEXT, 2);
	gq_desc(&f, &r, 2, BUF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	gq_desc(&f, &r, 3, BUF + 16, 8192, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 2);
	CHECK_EQ(gq_used_id(&f, &r, 1), 1);
	CHECK_EQ(gq_used_len(&f, &r, 1), 4096);
	CHECK(all_zero(&f, BUF + 12288, 16));
	CHECK(!all_zero(&f, BUF + 4096 - 64, 64));
	CHECK(all_zero(&f, BUF + 4096, 64));
	CHECK_EQ(f.irq.per_vec[0], 2);
	/* A notify for a queue that does not exist: nothing. */
	fake_mmio_wr(&f.bvm, f.notify + 4, 2, 1);
	CHECK_EQ(f.irq.nmsi, 2);
	CHECK_EQ(status(&f), S_DRIVEROK);
	fx_teardown(&f);
}

/* The legacy interface with INTx: ring at a page frame, ISR, the pin. */
TEST(rnd_legacy_intx)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, rnd_kv) == 0 && f.init_error == 0 && f.legacy);
	lw(&f, L_STATUS, 1, 0);
	lw(&f, L_STATUS, 1, 3);
	lw(&f, L_GUESTF, 4, 0);
	lw(&f, L_QSEL, 2, 0);
	CHECK_EQ(lr(&f, L_QNUM, 2), 64);
	/* The legacy layout (2.7.2): desc, avail, used on the next page. */
	r = (struct gq){ .q = 0, .size = 64, .desc = 0x40000,
		.avail = 0x40000 + 16 * 64, .used = 0x41000 };
	memset(f.ram + 0x40000, 0, 0x2000);
	lw(&f, L_PFN, 4, 0x40);
	CHECK_EQ(lr(&f, L_PFN, 4), 0x40);
	lw(&f, L_STATUS, 1, 7);
	memset(f.ram + BUF, 0, 64);
	gq_desc(&f, &r, 5, BUF, 32, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 5);
	lw(&f, L_QNOTIFY, 2, 0);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	CHECK_EQ(gq_used_id(&f, &r, 0), 5);
	CHECK_EQ(gq_used_len(&f, &r, 0), 32);
	CHECK(!all_zero(&f, BUF, 32));
	/* No MSI-X: the ISR says "queue", INTx is up until the ISR read. */
	CHECK_EQ(f.irq.nmsi, 0);
	CHECK_EQ(f.irq.intx, 1);
	CHECK(fake_cfg_rd(&f.bvm, SLOT, PCIR_STATUS, 2) &
	    PCIM_STATUS_INTxSTATE);
	CHECK_EQ(lr(&f, L_ISR, 1), VIRTIO_ISR_QUEUE);
	CHECK_EQ(f.irq.intx, 0);
	CHECK_EQ(lr(&f, L_ISR, 1), 0);
	/* The modern ISR is the same register. */
	gq_post(&f, &r, 5);
	lw(&f, L_QNOTIFY, 2, 0);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.isr, 1), VIRTIO_ISR_QUEUE);
	CHECK_EQ(f.irq.intx, 0);
	/* PFN 0 takes the queue down. */
	lw(&f, L_PFN, 4, 0);
	CHECK_EQ(lr(&f, L_PFN, 4), 0);
	gq_post(&f, &r, 5);
	lw(&f, L_QNOTIFY, 2, 0);
	CHECK_EQ(gq_used_idx(&f, &r), 2);
	fx_teardown(&f);
}

/* With MSI-X on, the legacy config vectors appear and config moves. */
TEST(legacy_msix_layout)
{
	struct fx f;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.legacy);
	CHECK_EQ(lr(&f, 0x14, 1), 0x10);
	CHECK_EQ(lr(&f, 0x14, 4), 0x13121110);
	msix_on(&f);
	CHECK_EQ(lr(&f, L_CFGVEC, 2), VIRTIO_MSI_NO_VECTOR);
	lw(&f, L_CFGVEC, 2, 1);
	CHECK_EQ(lr(&f, L_CFGVEC, 2), 1);
	lw(&f, L_QVEC, 2, 0);
	CHECK_EQ(lr(&f, L_QVEC, 2), 0);
	CHECK_EQ(lr(&f, 0x18, 2), 0x1110);
	lw(&f, 0x18 + 7, 1, 0x77);
	CHECK_EQ(fx_vtest(&f)->cfg[7], 0x77);
	/* And the modern view of the same device config. */
	CHECK_EQ(f.devcfg_len, 8);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 4, 4), 0x77161514);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 8, 1), 0);
	fx_teardown(&f);
}

/* virtio_msix=false (-W): one MSI message, the ISR says why. */
TEST(rnd_msi)
{
	static const char *const kv[] = { "pci.0.3.0.device", "virtio-rnd",
		"virtio_msix", "false", NULL };
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.msicap);
	fake_cfg_wr(&f.bvm, SLOT, f.msicap + 4, 4, 0xfee01000);
	fake_cfg_wr(&f.bvm, SLOT, f.msicap + 8, 4, 0);
	fake_cfg_wr(&f.bvm, SLOT, f.msicap + 12, 2, 0x41);
	fake_cfg_wr(&f.bvm, SLOT, f.msicap + 2, 2, PCIM_MSICTRL_MSI_ENABLE);
	CHECK(drv_negotiate(&f, VIRTIO_F_VERSION_1) &
	    VIRTIO_CONFIG_S_FEATURES_OK);
	gq_setup(&f, &r, 0, 8, 0x10000);
	cw(&f, C_QVEC, 2, 0);
	CHECK_EQ(cr(&f, C_QVEC, 2), VIRTIO_MSI_NO_VECTOR);
	drv_ok(&f);
	gq_desc(&f, &r, 0, BUF, 16, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 0);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	CHECK_EQ(f.irq.nmsi, 1);
	CHECK_EQ(f.irq.last_addr, 0xfee01000);
	CHECK_EQ(f.irq.last_data, 0x41);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.isr, 1), VIRTIO_ISR_QUEUE);
	fx_teardown(&f);
}

/*
 * Bounded work: 64 chains posted at once, one notification.  The round
 * takes 16 descriptors' worth; the event loop finishes the rest, and one
 * interrupt per round reports them.
 */
TEST(rnd_round_is_bounded)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, rnd_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, VIRTIO_F_VERSION_1, 64);
	for (int i = 0; i < 64; i++) {
		gq_desc(&f, &r, i, BUF + 4096 * (uint64_t)i, 4096,
		    VRING_DESC_F_WRITE, 0);
		gq_add(&f, &r, (uint16_t)i, i == 63);
	}
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 16);
	CHECK_EQ(f.irq.per_vec[0], 1);
	fx_pump(&f);
	CHECK_EQ(gq_used_idx(&f, &r), 64);
	CHECK_EQ(f.irq.per_vec[0], 4);
	for (uint16_t i = 0; i < 64; i++)
		CHECK_EQ(gq_used_len(&f, &r, i), 4096);
	CHECK(!all_zero(&f, BUF + 63 * 4096, 4096));
	fx_teardown(&f);
}

/* ---- Interrupt suppression ---- */

TEST(vring_need_event_arithmetic)
{
	static const struct {
		uint16_t event, new_idx, old;
		bool want;
	} c[] = {
		{ 0, 1, 0, true },	/* the first entry, used_event 0 */
		{ 1, 1, 0, false },
		{ 2, 3, 2, true },
		{ 2, 4, 3, false },
		{ 5, 7, 4, true },	/* crossed inside a batch */
		{ 7, 7, 4, false },
		{ 3, 7, 4, false },	/* already behind */
		{ 65535, 0, 65532, true },	/* across the wrap */
		{ 0, 0, 65532, false },
		{ 65531, 0, 65532, false },
		{ 65532, 0, 65532, true },
		{ 65535, 4, 0, false },
		{ 3, 4, 65535, true },
		{ 100, 100, 100, false },	/* nothing new */
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (vring_need_event(c[i].event, c[i].new_idx, c[i].old) !=
		    c[i].want) {
			fprintf(stderr, "  case %zu\n", i);
			CHECK(false);
		}
}

static void
post_writable(struct fx *f, struct gq *r, int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)(r->aidx % r->size);

		gq_desc(f, r, d, BUF + 64 * (uint64_t)d, 16,
		    VRING_DESC_F_WRITE, 0);
		gq_add(f, r, d, i == n - 1);
	}
}

TEST(event_idx_suppression)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, F_ALL, 8);
	gq_set_used_event(&f, &r, 2);
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 2);
	CHECK_EQ(f.irq.per_vec[0], 0);
	post_writable(&f, &r, 1); /* the one at index used_event */
	gq_notify(&f, &r);
	CHECK_EQ(f.irq.per_vec[0], 1);
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK_EQ(f.irq.per_vec[0], 1);
	/* Drained: the device wants a kick at the next entry (2.7.10). */
	CHECK_EQ(gq_avail_event(&f, &r), 4);
	/* A batch crossing used_event: one interrupt. */
	gq_set_used_event(&f, &r, 5);
	post_writable(&f, &r, 3);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 7);
	CHECK_EQ(f.irq.per_vec[0], 2);
	/* VRING_AVAIL_F_NO_INTERRUPT means nothing with EVENT_IDX. */
	g_w16(&f, r.avail, VRING_AVAIL_F_NO_INTERRUPT);
	gq_set_used_event(&f, &r, 7);
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK_EQ(f.irq.per_vec[0], 3);
	CHECK_EQ(gq_avail_event(&f, &r), 8);
	fx_teardown(&f);
}

TEST(event_idx_across_the_wrap)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, F_ALL, 4);
	/* 65532 chains, four a notification, used_event always ahead. */
	while (r.aidx != 65532) {
		gq_set_used_event(&f, &r, (uint16_t)(r.aidx + 100));
		post_writable(&f, &r, 4);
		gq_notify(&f, &r);
	}
	CHECK_EQ(gq_used_idx(&f, &r), 65532);
	CHECK_EQ(f.irq.per_vec[0], 0);
	CHECK_EQ(fx_vtest(&f)->chains, 65532);
	/* 65532 -> 0 passes used_event 65535. */
	gq_set_used_event(&f, &r, 65535);
	post_writable(&f, &r, 4);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 0);
	CHECK_EQ(f.irq.per_vec[0], 1);
	CHECK_EQ(gq_used_id(&f, &r, 65535), 3);
	CHECK_EQ(gq_avail_event(&f, &r), 0);
	/* 0 -> 4 with used_event left behind at 65535: quiet. */
	post_writable(&f, &r, 4);
	gq_notify(&f, &r);
	CHECK_EQ(f.irq.per_vec[0], 1);
	/* 4 -> 8 with used_event 4: one. */
	gq_set_used_event(&f, &r, 4);
	post_writable(&f, &r, 4);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 8);
	CHECK_EQ(f.irq.per_vec[0], 2);
	CHECK_EQ(gq_avail_event(&f, &r), 8);
	CHECK_EQ(status(&f), S_DRIVEROK);
	fx_teardown(&f);
}

TEST(no_interrupt_flag_and_no_vector)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, VIRTIO_F_VERSION_1, 8);
	g_w16(&f, r.avail, VRING_AVAIL_F_NO_INTERRUPT);
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	CHECK_EQ(f.irq.nmsi, 0);
	g_w16(&f, r.avail, 0);
	post_writable(&f, &r, 2);
	gq_notify(&f, &r);
	CHECK_EQ(f.irq.per_vec[0], 1);
	/* Without EVENT_IDX, used_event is not looked at. */
	CHECK_EQ(gq_avail_event(&f, &r), 0);
	/* An unmapped queue vector: no interrupt at all (4.1.5.3). */
	cw(&f, C_QVEC, 2, VIRTIO_MSI_NO_VECTOR);
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 4);
	CHECK_EQ(f.irq.nmsi, 1);
	CHECK_EQ(f.irq.intx, 0);
	fx_teardown(&f);
}

/* ---- Hostile rings: each ends in NEEDS_RESET, the VM unharmed ---- */

struct hostile {
	const char *name;
	void (*build)(struct fx *f, struct gq *r);
	const char *why;	/* in the recorded reason */
	uint64_t features;	/* 0: F_ALL */
	const char *key, *val;	/* a vtest option */
	uint16_t qsize;		/* 0: 16 */
};

static void
h_loop2(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	gq_desc(f, r, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
	gq_post(f, r, 0);
}

static void
h_self_loop(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 3, BUF, 16, VRING_DESC_F_NEXT, 3);
	gq_post(f, r, 3);
}

static void
h_next_range(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 0, BUF, 16, VRING_DESC_F_NEXT, 16);
	gq_post(f, r, 0);
}

static void
h_head_range(struct fx *f, struct gq *r)
{
	gq_post(f, r, 21);
}

static void
h_avail_jump(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 0, BUF, 16, 0, 0);
	g_w16(f, r->avail + 2, 17);
}

static void
h_avail_back(struct fx *f, struct gq *r)
{
	g_w16(f, r->avail + 2, 0xffff);
}

/* An indirect descriptor at 0 naming 'len' bytes at ITAB. */
static void
h_ind(struct fx *f, struct gq *r, uint32_t len, uint16_t flags)
{
	gq_desc(f, r, 0, ITAB, len, VRING_DESC_F_INDIRECT | flags, 1);
	gq_post(f, r, 0);
}

static void
h_ind_zero(struct fx *f, struct gq *r)
{
	h_ind(f, r, 0, 0);
}

static void
h_ind_odd(struct fx *f, struct gq *r)
{
	h_ind(f, r, 24, 0);
}

static void
h_ind_huge(struct fx *f, struct gq *r)
{
	h_ind(f, r, 16 * 129, 0);
}

static void
h_ind_1mib(struct fx *f, struct gq *r)
{
	h_ind(f, r, 1 << 20, 0);
}

static void
h_ind_nested(struct fx *f, struct gq *r)
{
	g_desc(f, ITAB, 0, ITAB + 64, 32, VRING_DESC_F_INDIRECT, 0);
	h_ind(f, r, 32, 0);
}

static void
h_ind_next(struct fx *f, struct gq *r)
{
	g_desc(f, ITAB, 0, BUF, 16, 0, 0);
	gq_desc(f, r, 1, BUF, 16, 0, 0);
	h_ind(f, r, 16, VRING_DESC_F_NEXT);
}

static void
h_ind_plain(struct fx *f, struct gq *r)
{
	g_desc(f, ITAB, 0, BUF, 16, VRING_DESC_F_WRITE, 0);
	h_ind(f, r, 16, 0);
}

static void
h_ind_loop(struct fx *f, struct gq *r)
{
	g_desc(f, ITAB, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	g_desc(f, ITAB, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
	h_ind(f, r, 32, 0);
}

static void
h_ind_next_range(struct fx *f, struct gq *r)
{
	g_desc(f, ITAB, 0, BUF, 16, VRING_DESC_F_NEXT, 2);
	h_ind(f, r, 32, 0);
}

static void
h_ind_outside(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 0, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	gq_post(f, r, 0);
}

static void
h_ind_buf_outside(struct fx *f, struct gq *r)
{
	g_desc(f, ITAB, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	g_desc(f, ITAB, 1, RAM_SIZE, 16, VRING_DESC_F_WRITE, 0);
	h_ind(f, r, 32, 0);
}

static void
h_buf(struct fx *f, struct gq *r, uint64_t addr, uint32_t len)
{
	gq_desc(f, r, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	gq_desc(f, r, 1, addr, len, VRING_DESC_F_WRITE, 0);
	gq_post(f, r, 0);
}

static void
h_buf_outside(struct fx *f, struct gq *r)
{
	h_buf(f, r, RAM_SIZE, 16);
}

static void
h_buf_wraps(struct fx *f, struct gq *r)
{
	h_buf(f, r, 0xfffffffffffffff8ULL, 16);
}

static void
h_buf_straddles(struct fx *f, struct gq *r)
{
	h_buf(f, r, RAM_SIZE - 8, 16);
}

/* The largest length the total allows, beyond RAM. */
static void
h_buf_huge(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 0, 0, 0xffffffff, VRING_DESC_F_WRITE, 0);
	gq_post(f, r, 0);
}

static void
h_zero_len_outside(struct fx *f, struct gq *r)
{
	h_buf(f, r, 1ULL << 63, 0);
}

static void
h_read_after_write(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 0, BUF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	gq_desc(f, r, 1, BUF + 16, 16, 0, 0);
	gq_post(f, r, 0);
}

static void
h_too_many(struct fx *f, struct gq *r)
{
	for (int i = 0; i < 9; i++)
		gq_desc(f, r, i, BUF + 16 * (uint64_t)i, 16,
		    i < 8 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	gq_post(f, r, 0);
}

static void
h_over_limit(struct fx *f, struct gq *r)
{
	gq_desc(f, r, 0, BUF, 4096, VRING_DESC_F_NEXT, 1);
	gq_desc(f, r, 1, BUF, 1, VRING_DESC_F_WRITE, 0);
	gq_post(f, r, 0);
}

/* 65 x 64 MiB: past 4 GiB with every buffer in RAM. */
static void
h_over_4g(struct fx *f, struct gq *r)
{
	for (int i = 0; i < 65; i++)
		gq_desc(f, r, i, 0, 64 * MiB, i < 64 ? VRING_DESC_F_NEXT : 0,
		    (uint16_t)(i + 1));
	gq_post(f, r, 0);
}

static const struct hostile hostile_cases[] = {
	{ .name = "loop", .build = h_loop2, .why = "chain 0 loops",
	  .key = "pci.0.3.0.niov", .val = "160" },
	{ .name = "self loop", .build = h_self_loop, .why = "chain 3 loops",
	  .key = "pci.0.3.0.niov", .val = "160" },
	{ .name = "next out of range", .build = h_next_range,
	  .why = "next 16 of 16" },
	{ .name = "head out of range", .build = h_head_range,
	  .why = "names descriptor 21 of 16" },
	{ .name = "avail index jump", .build = h_avail_jump,
	  .why = "moved by 17" },
	{ .name = "avail index backwards", .build = h_avail_back,
	  .why = "moved by 65535" },
	{ .name = "indirect zero length", .build = h_ind_zero,
	  .why = "indirect table of 0 bytes" },
	{ .name = "indirect odd length", .build = h_ind_odd,
	  .why = "indirect table of 24 bytes" },
	{ .name = "indirect too big", .build = h_ind_huge,
	  .why = "indirect table of 2064 bytes" },
	{ .name = "indirect 1 MiB", .build = h_ind_1mib,
	  .why = "at most 128 entries" },
	{ .name = "nested indirect", .build = h_ind_nested,
	  .why = "nested indirect" },
	{ .name = "indirect with next", .build = h_ind_next,
	  .why = "INDIRECT and NEXT" },
	{ .name = "indirect not negotiated", .build = h_ind_plain,
	  .why = "without VIRTIO_F_INDIRECT",
	  .features = VIRTIO_F_VERSION_1 | VIRTIO_RING_F_EVENT_IDX },
	{ .name = "indirect loop", .build = h_ind_loop,
	  .why = "indirect table loops" },
	{ .name = "indirect next out of table", .build = h_ind_next_range,
	  .why = "indirect next 2 of 2" },
	{ .name = "indirect table outside RAM", .build = h_ind_outside,
	  .why = "indirect table 0x3fffff0+0x20 is not in guest RAM" },
	{ .name = "indirect buffer outside RAM", .build = h_ind_buf_outside,
	  .why = "buffer 0x4000000+0x10" },
	{ .name = "buffer outside RAM", .build = h_buf_outside,
	  .why = "buffer 0x4000000+0x10" },
	{ .name = "buffer address wraps", .build = h_buf_wraps,
	  .why = "buffer 0xfffffffffffffff8+0x10" },
	{ .name = "buffer straddles the end", .build = h_buf_straddles,
	  .why = "buffer 0x3fffff8+0x10" },
	{ .name = "buffer of 4 GiB - 1", .build = h_buf_huge,
	  .why = "buffer 0x0+0xffffffff" },
	{ .name = "empty buffer outside RAM", .build = h_zero_len_outside,
	  .why = "buffer 0x8000000000000000+0x0" },
	{ .name = "readable after writable", .build = h_read_after_write,
	  .why = "device-readable buffer after" },
	{ .name = "more buffers than the device takes", .build = h_too_many,
	  .why = "more than 8 buffers" },
	{ .name = "over the device's limit", .build = h_over_limit,
	  .why = "more than 4096 bytes", .key = "pci.0.3.0.maxchain",
	  .val = "4096" },
	{ .name = "over 4 GiB", .build = h_over_4g,
	  .why = "more than 4294967295 bytes", .key = "pci.0.3.0.niov",
	  .val = "160", .qsize = 128 },
};

/* After an error: the queue stops; a reset brings the device back. */
static void
hostile_recover(struct fx *f, struct gq *r, uint16_t qsize)
{
	struct vtest *t = fx_vtest(f);
	int notifies = t->notifies;

	gq_desc(f, r, 0, BUF, 16, VRING_DESC_F_WRITE, 0);
	gq_post(f, r, 0);
	gq_notify(f, r);
	CHECK_EQ(t->notifies, notifies);
	cw(f, C_STATUS, 1, S_DRIVEROK);
	CHECK(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	fx_ready(f, r, F_ALL, qsize);
	gq_desc(f, r, 0, BUF, 16, VRING_DESC_F_WRITE, 0);
	gq_post(f, r, 0);
	gq_notify(f, r);
	CHECK_EQ(gq_used_idx(f, r), 1);
	CHECK_EQ(status(f), S_DRIVEROK);
}

static void
hostile_run(const struct hostile *h)
{
	const char *kv[] = { "pci.0.3.0.device", "vtest", "pci.0.3.0.qsize",
		h->qsize == 128 ? "128" : "16", h->key, h->val, NULL };
	uint16_t qsize = h->qsize ? h->qsize : 16;
	struct fx f;
	struct gq r;
	struct vtest *t;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	t = fx_vtest(&f);
	fx_ready(&f, &r, h->features ? h->features : F_ALL, qsize);
	h->build(&f, &r);
	gq_notify(&f, &r);
	if (!(status(&f) & VIRTIO_CONFIG_S_NEEDS_RESET) ||
	    strstr(f.vs->vs_err, h->why) == NULL) {
		fprintf(stderr, "  case '%s': status 0x%x, \"%s\"\n", h->name,
		    status(&f), f.vs->vs_err);
		CHECK(false);
	}
	CHECK_EQ(t->chains, 0);
	CHECK_EQ(t->errors, 1);
	CHECK_EQ(gq_used_idx(&f, &r), 0);
	/* The config vector (1) told the driver; the ISR says config. */
	CHECK_EQ(f.irq.per_vec[1], 1);
	CHECK_EQ(f.irq.per_vec[0], 0);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.isr, 1), VIRTIO_ISR_CONFIG);
	hostile_recover(&f, &r, qsize);
	fx_teardown(&f);
}

TEST(hostile_rings_need_reset)
{
	for (size_t i = 0; i < sizeof(hostile_cases) /
	    sizeof(hostile_cases[0]); i++)
		hostile_run(&hostile_cases[i]);
}

/* RAM on both sides of the PCI hole: a buffer may not cross it. */
TEST(buffer_across_the_pci_hole)
{
	struct fx f;
	struct gq r;
	uint64_t *high;

	REQUIRE(fx_setup_mem(&f, vtest_kv, 3 * GiB + 2 * MiB) == 0 &&
	    f.init_error == 0 && f.pi);
	REQUIRE(vm_get_lowmem_size(f.bvm.ctx) == 3 * GiB);
	fx_ready(&f, &r, F_ALL, 16);
	/* Wholly above 4 GiB: fine. */
	gq_desc(&f, &r, 0, 4 * GiB, 16, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 0);
	gq_notify(&f, &r);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	high = vm_map_gpa(f.bvm.ctx, 4 * GiB, 8);
	REQUIRE(high != NULL);
	CHECK_EQ(*high, 0xa5a5a5a5a5a5a5a5ULL);
	/* From below 3 GiB into the hole. */
	gq_desc(&f, &r, 1, 3 * GiB - 8, 16, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK(status(&f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(strstr(f.vs->vs_err, "buffer 0xbffffff8+0x10") != NULL);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	fx_teardown(&f);
}

/* What the spec allows must pass, however unusual. */
TEST(unusual_but_legal_chains)
{
	static const char *const kv[] = { "pci.0.3.0.device", "vtest",
		"pci.0.3.0.niov", "160", NULL };
	struct fx f;
	struct gq r;
	struct vtest *t;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	t = fx_vtest(&f);
	fx_ready(&f, &r, F_ALL, 16);
	/* A direct chain of exactly queue-size descriptors. */
	for (int i = 0; i < 16; i++)
		gq_desc(&f, &r, i, BUF + 16 * (uint64_t)i, 16,
		    i < 15 ? VRING_DESC_F_NEXT : VRING_DESC_F_WRITE,
		    (uint16_t)(i + 1));
	gq_post(&f, &r, 0);
	gq_notify(&f, &r);
	CHECK_EQ(t->last_n, 16);
	CHECK_EQ(t->last.readable, 15);
	CHECK_EQ(t->last.writable, 1);
	/* An indirect table longer than the queue (Linux does it). */
	for (int i = 0; i < 128; i++)
		g_desc(&f, ITAB, i, BUF + 16 * (uint64_t)i, 16,
		    VRING_DESC_F_WRITE | (i < 127 ? VRING_DESC_F_NEXT : 0),
		    (uint16_t)(i + 1));
	gq_desc(&f, &r, 0, ITAB, 128 * 16, VRING_DESC_F_INDIRECT, 0);
	gq_post(&f, &r, 0);
	gq_notify(&f, &r);
	CHECK_EQ(t->last_n, 128);
	CHECK_EQ(t->last.writable_len, 128 * 16);
	/* Direct buffers, then an indirect table (its WRITE flag ignored),
	 * with an empty buffer in RAM inside it. */
	g_desc(&f, ITAB, 0, BUF + 4096, 0, VRING_DESC_F_WRITE |
	    VRING_DESC_F_NEXT, 1);
	g_desc(&f, ITAB, 1, BUF + 8192, 100, VRING_DESC_F_WRITE, 0);
	gq_desc(&f, &r, 2, BUF, 10, VRING_DESC_F_NEXT, 3);
	gq_desc(&f, &r, 3, ITAB, 32, VRING_DESC_F_INDIRECT |
	    VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 2);
	gq_notify(&f, &r);
	CHECK_EQ(t->last_n, 3);
	CHECK_EQ(t->last.idx, 2);
	CHECK_EQ(t->last.readable, 1);
	CHECK_EQ(t->last.readable_len, 10);
	CHECK_EQ(t->last.writable, 2);
	CHECK_EQ(t->last_len[1], 0);
	CHECK_EQ(t->last.writable_len, 100);
	CHECK_EQ(gq_used_idx(&f, &r), 3);
	CHECK_EQ(gq_used_len(&f, &r, 2), 100);
	CHECK_EQ(t->errors, 0);
	CHECK_EQ(status(&f), S_DRIVEROK);
	fx_teardown(&f);
}

/*
 * The budget bounds a notification's round; the event loop continues it.
 * A device taking chains on its own thread, outside a round, is not cut.
 */
TEST(budget_bounds_rounds_only)
{
	static const char *const kv[] = { "pci.0.3.0.device", "vtest",
		"pci.0.3.0.budget", "2", NULL };
	struct fx f;
	struct gq r;
	struct vtest *t;
	struct iovec iov[8];
	struct vi_req req;
	int taken = 0;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0 && f.pi);
	t = fx_vtest(&f);
	fx_ready(&f, &r, F_ALL, 16);
	post_writable(&f, &r, 10);
	gq_notify(&f, &r);
	CHECK_EQ(t->chains, 2);
	CHECK_EQ(t->notifies, 1);
	vi_lock(f.vs);
	while (vq_getchain(&t->vq[0], iov, 8, &req) > 0) {
		vq_relchain(&t->vq[0], req.idx, 0);
		taken++;
	}
	vq_endchains(&t->vq[0]);
	vi_unlock(f.vs);
	CHECK_EQ(taken, 8);
	CHECK_EQ(gq_used_idx(&f, &r), 10);
	/* The round's kick still comes, and finds nothing to do. */
	fx_pump(&f);
	CHECK_EQ(t->notifies, 2);
	CHECK_EQ(t->chains, 2);
	fx_teardown(&f);
}

/* ---- The rest of the transport ---- */

/* VIRTIO_PCI_CAP_PCI_CFG: the BAR reached through config space. */
TEST(pci_cfg_window)
{
	struct fx f;
	struct gq r;
	int cap;

	REQUIRE(fx_setup(&f, rnd_kv) == 0 && f.init_error == 0 && f.cfgcap);
	cap = f.cfgcap;
	fake_cfg_wr(&f.bvm, SLOT, cap + 4, 1, VI_PCI_MODERN_BAR);
	fake_cfg_wr(&f.bvm, SLOT, cap + 12, 4, 4);
	fake_cfg_wr(&f.bvm, SLOT, cap + 8, 4, C_DF);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 16, 4), (uint32_t)F_RING);
	fake_cfg_wr(&f.bvm, SLOT, cap + 8, 4, C_DFSEL);
	fake_cfg_wr(&f.bvm, SLOT, cap + 16, 4, 1);
	fake_cfg_wr(&f.bvm, SLOT, cap + 8, 4, C_DF);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 16, 4), 1);
	/* One byte: the status register. */
	fake_cfg_wr(&f.bvm, SLOT, cap + 12, 4, 1);
	fake_cfg_wr(&f.bvm, SLOT, cap + 8, 4, C_STATUS);
	fake_cfg_wr(&f.bvm, SLOT, cap + 16, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	CHECK_EQ(status(&f), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 16, 1),
	    VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* Not a window: 3 bytes, a misaligned offset, another BAR. */
	fake_cfg_wr(&f.bvm, SLOT, cap + 12, 4, 3);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 16, 4), 0);
	fake_cfg_wr(&f.bvm, SLOT, cap + 12, 4, 2);
	fake_cfg_wr(&f.bvm, SLOT, cap + 8, 4, C_NUMQ + 1);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 16, 4), 0);
	fake_cfg_wr(&f.bvm, SLOT, cap + 8, 4, C_NUMQ);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 16, 2), 1);
	fake_cfg_wr(&f.bvm, SLOT, cap + 4, 1, 0);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 16, 2), 0);
	/* A queue notification through the window runs the device. */
	fx_ready(&f, &r, VIRTIO_F_VERSION_1, 8);
	gq_desc(&f, &r, 0, BUF, 16, VRING_DESC_F_WRITE, 0);
	gq_post(&f, &r, 0);
	fake_cfg_wr(&f.bvm, SLOT, cap + 4, 1, VI_PCI_MODERN_BAR);
	fake_cfg_wr(&f.bvm, SLOT, cap + 8, 4, VI_PCI_NOTIFY_OFF);
	fake_cfg_wr(&f.bvm, SLOT, cap + 16, 2, 0);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	CHECK_EQ(f.irq.per_vec[0], 1);
	/* The capability's own header is read-only. */
	fake_cfg_wr(&f.bvm, SLOT, cap + 3, 1, 1);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, cap + 3, 1), 5);
	fx_teardown(&f);
}

TEST(config_change_generation_and_interrupt)
{
	struct fx f;
	struct gq r;
	uint64_t gen;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	/* Before DRIVER_OK a change is only recorded. */
	vi_lock(f.vs);
	vi_config_changed(f.vs);
	vi_unlock(f.vs);
	CHECK_EQ(f.irq.nmsi, 0);
	fx_ready(&f, &r, F_ALL, 8);
	gen = cr(&f, C_CFGGEN, 1);
	fake_mmio_rd(&f.bvm, f.devcfg, 4);
	CHECK_EQ(cr(&f, C_CFGGEN, 1), gen);
	vi_lock(f.vs);
	vi_config_changed(f.vs);
	vi_unlock(f.vs);
	CHECK_EQ(f.irq.per_vec[1], 1);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.isr, 1), VIRTIO_ISR_CONFIG);
	/* The generation moves when the driver next reads the config. */
	CHECK_EQ(cr(&f, C_CFGGEN, 1), gen);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 2, 2), 0x1312);
	CHECK_EQ(cr(&f, C_CFGGEN, 1), (gen + 1) & 0xff);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg, 1), 0x10);
	CHECK_EQ(cr(&f, C_CFGGEN, 1), (gen + 1) & 0xff);
	/* Device config: within its length, widths 1, 2, 4. */
	fake_mmio_wr(&f.bvm, f.devcfg + 6, 2, 0xbeef);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 4, 4), 0xbeef1514);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg + 6, 4), 0);
	CHECK_EQ(fake_mmio_rd(&f.bvm, f.devcfg, 8), 0);
	fx_teardown(&f);
}

TEST(retchain_gives_the_chain_back)
{
	struct fx f;
	struct gq r;
	struct vtest *t;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	t = fx_vtest(&f);
	fx_ready(&f, &r, F_ALL, 8);
	t->mode = VT_RETCHAIN;
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	CHECK_EQ(t->chains, 1);
	CHECK_EQ(gq_used_idx(&f, &r), 0);
	gq_notify(&f, &r);
	CHECK_EQ(t->chains, 2);
	CHECK_EQ(gq_used_idx(&f, &r), 1);
	CHECK_EQ(gq_used_id(&f, &r, 0), 0);
	fx_teardown(&f);
}

/* A modern driver's queue runs from DRIVER_OK on (3.1.1). */
TEST(modern_queue_waits_for_driver_ok)
{
	struct fx f;
	struct gq r;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	msix_on(&f);
	CHECK(drv_negotiate(&f, F_ALL) & VIRTIO_CONFIG_S_FEATURES_OK);
	gq_setup(&f, &r, 0, 8, 0x10000);
	cw(&f, C_QVEC, 2, 0);
	post_writable(&f, &r, 2);
	gq_notify(&f, &r);
	CHECK_EQ(fx_vtest(&f)->notifies, 0);
	CHECK_EQ(gq_used_idx(&f, &r), 0);
	drv_ok(&f);
	CHECK_EQ(gq_used_idx(&f, &r), 2);
	CHECK_EQ(f.irq.per_vec[0], 1);
	fx_teardown(&f);
}

/* A request taken before a reset and completed after it goes nowhere. */
TEST(completion_after_reset_is_dropped)
{
	struct fx f;
	struct gq r;
	struct vtest *t;
	struct vi_req req;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	t = fx_vtest(&f);
	fx_ready(&f, &r, F_ALL, 8);
	t->mode = VT_HOLD;
	post_writable(&f, &r, 1);
	gq_notify(&f, &r);
	REQUIRE(t->nheld == 1);
	req = t->held[0];
	cw(&f, C_STATUS, 1, 0);
	vi_lock(f.vs);
	vq_relchain(&t->vq[0], req.idx, 16);
	vq_endchains(&t->vq[0]);
	vi_unlock(f.vs);
	CHECK_EQ(gq_used_idx(&f, &r), 0);
	CHECK_EQ(f.irq.nmsi, 0);
	fx_teardown(&f);
}

/*
 * blk's shape: the handler only queues requests, a worker thread
 * completes them under the device lock while notifications keep coming.
 * Whatever the interleaving, every request comes back once, in order.
 */
struct worker {
	struct fx *f;
	int want, done;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct vtest *t = fx_vtest(w->f);

	while (w->done < w->want) {
		vi_lock(w->f->vs);
		for (int i = 0; i < t->nheld; i++)
			vq_relchain(&t->vq[0], t->held[i].idx, 16);
		w->done += t->nheld;
		t->nheld = 0;
		vq_endchains(&t->vq[0]);
		vi_unlock(w->f->vs);
		sched_yield();
	}
	return NULL;
}

TEST(worker_completes_while_vcpu_notifies)
{
	struct fx f;
	struct gq r;
	struct worker w = { .f = &f, .want = 3000 };
	pthread_t th;
	uint16_t *used_idx;

	REQUIRE(fx_setup(&f, vtest_kv) == 0 && f.init_error == 0 && f.pi);
	fx_ready(&f, &r, F_ALL, 16);
	fx_vtest(&f)->mode = VT_HOLD;
	used_idx = (uint16_t *)(f.ram + r.used + 2);
	REQUIRE(pthread_create(&th, NULL, worker_main, &w) == 0);
	for (int posted = 0; posted < w.want;) {
		uint16_t u = __atomic_load_n(used_idx, __ATOMIC_ACQUIRE);

		if ((uint16_t)(posted - u) >= 16) {
			sched_yield();
			continue;
		}
		gq_set_used_event(&f, &r, (uint16_t)posted);
		post_writable(&f, &r, 1);
		posted++;
		vi_lock(f.vs); /* a vCPU's notify, as the transport does it */
		vi_queue_notify(f.vs, 0);
		vi_unlock(f.vs);
	}
	pthread_join(th, NULL);
	CHECK_EQ(w.done, w.want);
	CHECK_EQ(gq_used_idx(&f, &r), (uint16_t)w.want);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(gq_used_id(&f, &r, (uint16_t)(w.want - 16 + i)),
		    (w.want - 16 + i) % 16);
	CHECK(f.irq.per_vec[0] >= 1);
	CHECK_EQ(status(&f), S_DRIVEROK);
	fx_teardown(&f);
}

TEST_MAIN(
	TEST_ENTRY(transitional_identity_and_caps)
	TEST_ENTRY(modern_only_identity)
	TEST_ENTRY(msi_instead_of_msix)
	TEST_ENTRY(bad_options_fail_start_up)
	TEST_ENTRY(modern_feature_negotiation)
	TEST_ENTRY(device_may_refuse_features)
	TEST_ENTRY(legacy_feature_negotiation)
	TEST_ENTRY(status_rules_and_reset)
	TEST_ENTRY(common_config_access_widths)
	TEST_ENTRY(queue_fields_locked_once_enabled)
	TEST_ENTRY(queue_setup_checks_rings)
	TEST_ENTRY(rnd_modern_msix)
	TEST_ENTRY(rnd_legacy_intx)
	TEST_ENTRY(legacy_msix_layout)
	TEST_ENTRY(rnd_msi)
	TEST_ENTRY(rnd_round_is_bounded)
	TEST_ENTRY(budget_bounds_rounds_only)
	TEST_ENTRY(vring_need_event_arithmetic)
	TEST_ENTRY(event_idx_suppression)
	TEST_ENTRY(event_idx_across_the_wrap)
	TEST_ENTRY(no_interrupt_flag_and_no_vector)
	TEST_ENTRY(hostile_rings_need_reset)
	TEST_ENTRY(buffer_across_the_pci_hole)
	TEST_ENTRY(unusual_but_legal_chains)
	TEST_ENTRY(pci_cfg_window)
	TEST_ENTRY(config_change_generation_and_interrupt)
	TEST_ENTRY(retchain_gives_the_chain_back)
	TEST_ENTRY(modern_queue_waits_for_driver_ok)
	TEST_ENTRY(completion_after_reset_is_dropped)
	TEST_ENTRY(worker_completes_while_vcpu_notifies)
)
