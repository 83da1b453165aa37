/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Virtio over PCI (virtio spec v1.2, 4.1): the modern interface, whose
 * structures vendor-specific capabilities point at in memory BAR 4, and
 * the transitional legacy interface in I/O BAR 0 (4.1.4.8).  Both drive
 * the same core state (virtio.c).
 *
 *   BAR 0  I/O, legacy registers then device config (transitional only)
 *   BAR 1  MSI-X table and PBA (the framework's), one vector per queue
 *          plus one for config changes; absent with virtio_msix=false,
 *          which gives a one-message MSI capability instead (bhyve -W)
 *   BAR 4  64-bit memory, 16 KiB: common config at 0x0000, ISR at
 *          0x1000, device config at 0x2000, notify at 0x3000 (4 bytes a
 *          queue), each in its own page
 *
 * Registers are decoded through tables: a field is accessed at its own
 * width, or a 64-bit field as two 32-bit halves (4.1.3.1); other accesses
 * read 0 and write nothing.  Every access runs under the device lock.
 * Queue doorbells are ioeventfds where the backend has them (below).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "virtio.h"

/* Capability types (4.1.4) and struct virtio_pci_cap offsets. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5
#define VI_CAP_LEN 16
#define VI_CAP_EXT_LEN 20	/* notify and pci_cfg: one more dword */
#define VI_CAP_BAR 4
#define VI_CAP_OFFSET 8
#define VI_CAP_LENGTH 12
#define VI_CAP_EXTRA 16		/* notify_off_multiplier, pci_cfg_data */

/* struct virtio_pci_common_cfg (4.1.4.3), up to queue_device. */
#define VI_COMMON_LEN 0x38

/* The legacy header (4.1.4.8); config follows at 20, or 24 with MSI-X. */
#define VI_LEGACY_HDR_LEN 0x14
#define VI_LEGACY_MSIX_HDR_LEN 0x18

/* Transitional PCI device IDs (4.1.2.1): not a formula. */
static const struct {
	uint16_t type, id;
} vi_pci_transitional[] = {
	{ VIRTIO_ID_NETWORK, 0x1000 },
	{ VIRTIO_ID_BLOCK, 0x1001 },
	{ VIRTIO_ID_BALLOON, 0x1002 },
	{ VIRTIO_ID_CONSOLE, 0x1003 },
	{ VIRTIO_ID_SCSI, 0x1004 },
	{ VIRTIO_ID_ENTROPY, 0x1005 },
	{ VIRTIO_ID_9P, 0x1009 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Interrupts (4.1.4.5, 4.1.5.3, 4.1.5.4) ---- */

/*
 * MSI-X: the queue's or the config vector, unless unmapped.  Otherwise
 * the ISR bits say why, and the interrupt is MSI message 0 when MSI is
 * on, else INTx; INTx is asserted either way (the framework keeps it
 * pending while MSI masks it) and ISR reads drop it.  The config bit is
 * set even with MSI-X (4.1.4.5.1).
 */
static void
vi_pci_notify(struct virtio_softc *vs, struct vqueue_info *vq)
{
	struct pci_devinst *pi = vs->vs_pi;
	uint16_t vec = vq ? vq->vq_msix_idx : vs->vs_msix_cfg_idx;

	if (vq == NULL)
		vs->vs_isr |= VIRTIO_ISR_CONFIG;
	if (pci_msix_enabled(pi)) {
		if (vec != VIRTIO_MSI_NO_VECTOR)
			(void)pci_generate_msix(pi, vec);
		return;
	}
	if (vq != NULL)
		vs->vs_isr |= VIRTIO_ISR_QUEUE;
	if (pci_msi_enabled(pi))
		(void)pci_generate_msi(pi, 0);
	pci_lintr_assert(pi);
}

static void
vi_pci_reset(struct virtio_softc *vs)
{
	vs->vs_isr = 0;
	pci_lintr_deassert(vs->vs_pi);
}

/* ---- Doorbells as ioeventfds ---- */

/*
 * While a queue is enabled, each of its doorbells that is decoded is an
 * ioeventfd on the queue's kick eventfd: the backend signals it and the
 * vCPU goes on, and the event loop runs the round (virtio.c).  Both
 * kinds are armed whichever interface set the queue up, because the
 * exit path serves both.  The modern one is the queue's own notify
 * address, written 16 bits wide by drivers (4.1.5.2: the queue index;
 * each queue has its own address, so the value needs no matching); the
 * legacy one is the QUEUE_NOTIFY port, matched on the queue index.  A
 * write of another width or value misses and exits as before.
 */
#define VI_LEGACY_QNOTIFY 0x10
#define VI_BELL_BYTES 2

static int
vi_bell_ioeventfd(struct virtio_softc *vs, struct vqueue_info *vq,
    enum vi_pci_bell b, bool assign)
{
	bool legacy = b == VI_BELL_LEGACY;
	uint64_t addr = vs->vs_bell_addr[b] +
	    (legacy ? 0 : (uint64_t)vq->vq_num * VI_PCI_NOTIFY_MULT);

	return vm_ioeventfd(vs->vs_pi->pi_vmctx, addr, VI_BELL_BYTES, legacy,
	    legacy, vq->vq_num, vq->vq_kickfd, assign);
}

/*
 * -ENOTSUP: the backend has none (vtx, null), so stop asking.  Another
 * error leaves that doorbell to the exit path, which is said once.
 */
static void
vi_bell_arm(struct virtio_softc *vs, struct vqueue_info *vq,
    enum vi_pci_bell b)
{
	int error;

	if (!vs->vs_ioeventfd || !vs->vs_bell_on[b] || vq->vq_kickfd < 0 ||
	    !vq->vq_enabled || (vq->vq_ioev & (1u << b)))
		return;
	error = vi_bell_ioeventfd(vs, vq, b, true);
	if (error == 0) {
		vq->vq_ioev |= (uint8_t)(1u << b);
	} else if (error == -ENOTSUP) {
		vs->vs_ioeventfd = false;
	} else if (!vs->vs_ioev_warned) {
		vs->vs_ioev_warned = true;
		fprintf(stderr, "bhyve: %s: queue %u: no ioeventfd (%s); its "
		    "notifications exit\n", vs->vs_pi->pi_name, vq->vq_num,
		    strerror(-error));
	}
}

static void
vi_bell_disarm(struct virtio_softc *vs, struct vqueue_info *vq,
    enum vi_pci_bell b)
{
	if (!(vq->vq_ioev & (1u << b)))
		return;
	(void)vi_bell_ioeventfd(vs, vq, b, false);
	vq->vq_ioev &= (uint8_t)~(1u << b);
}

/* vt_queue_state: arm on enable, disarm before a disable or reset. */
static void
vi_pci_queue_state(struct virtio_softc *vs, struct vqueue_info *vq,
    bool enabled)
{
	for (int b = 0; b < VI_NBELLS; b++) {
		if (enabled)
			vi_bell_arm(vs, vq, (enum vi_pci_bell)b);
		else
			vi_bell_disarm(vs, vq, (enum vi_pci_bell)b);
	}
}

/*
 * pe_baraddr: a BAR stopped or started decoding (a move is both).  The
 * doorbells in it go with it.  Called with the config lock held, which
 * comes before the device lock.
 */
void
vi_pci_baraddr(struct pci_devinst *pi, int baridx, bool enabled,
    uint64_t addr)
{
	struct virtio_softc *vs = pi->pi_arg;
	enum vi_pci_bell b;

	if (baridx == vs->vs_modern_bar)
		b = VI_BELL_MODERN;
	else if (baridx == vs->vs_legacy_bar)
		b = VI_BELL_LEGACY;
	else
		return;
	vi_lock(vs);
	for (int i = 0; i < vs->vs_vc->vc_nvq; i++)
		vi_bell_disarm(vs, &vs->vs_queues[i], b);
	vs->vs_bell_on[b] = enabled;
	vs->vs_bell_addr[b] = addr + (b == VI_BELL_MODERN ? VI_PCI_NOTIFY_OFF :
	    VI_LEGACY_QNOTIFY);
	for (int i = 0; enabled && i < vs->vs_vc->vc_nvq; i++)
		vi_bell_arm(vs, &vs->vs_queues[i], b);
	vi_unlock(vs);
}

static const struct virtio_transport vi_pci_transport = {
	.vt_notify = vi_pci_notify,
	.vt_reset = vi_pci_reset,
	.vt_queue_state = vi_pci_queue_state,
};

/* Reading the ISR clears it and drops INTx (4.1.4.5). */
static uint8_t
vi_pci_isr_read(struct virtio_softc *vs)
{
	uint8_t v = vs->vs_isr;

	vs->vs_isr = 0;
	pci_lintr_deassert(vs->vs_pi);
	return v;
}

/* A vector the MSI-X table has, else NO_VECTOR (4.1.5.1.2). */
static uint16_t
vi_pci_vector(struct virtio_softc *vs, uint64_t v)
{
	if (!vs->vs_msix || v >= (uint64_t)vs->vs_pi->pi_msix.table_count)
		return VIRTIO_MSI_NO_VECTOR;
	return (uint16_t)v;
}

/* ---- Register tables ---- */

typedef uint64_t vi_rd_t(struct virtio_softc *vs);
typedef void vi_wr_t(struct virtio_softc *vs, uint64_t v);

struct vi_reg {
	uint16_t off;
	uint8_t width;
	vi_rd_t *rd;
	vi_wr_t *wr; /* NULL: read-only */
};

static uint64_t
vi_rd_dfselect(struct virtio_softc *vs)
{
	return vs->vs_dfselect;
}

static void
vi_wr_dfselect(struct virtio_softc *vs, uint64_t v)
{
	vs->vs_dfselect = (uint32_t)v;
}

static uint64_t
vi_rd_dfeatures(struct virtio_softc *vs)
{
	return vi_get_dev_features(vs, vs->vs_dfselect);
}

static uint64_t
vi_rd_gfselect(struct virtio_softc *vs)
{
	return vs->vs_gfselect;
}

static void
vi_wr_gfselect(struct virtio_softc *vs, uint64_t v)
{
	vs->vs_gfselect = (uint32_t)v;
}

static uint64_t
vi_rd_gfeatures(struct virtio_softc *vs)
{
	return vi_get_drv_features(vs, vs->vs_gfselect);
}

static void
vi_wr_gfeatures(struct virtio_softc *vs, uint64_t v)
{
	vi_set_drv_features(vs, vs->vs_gfselect, (uint32_t)v);
}

static uint64_t
vi_rd_cfgvec(struct virtio_softc *vs)
{
	return vs->vs_msix_cfg_idx;
}

static void
vi_wr_cfgvec(struct virtio_softc *vs, uint64_t v)
{
	vs->vs_msix_cfg_idx = vi_pci_vector(vs, v);
}

static uint64_t
vi_rd_numq(struct virtio_softc *vs)
{
	return (uint64_t)vs->vs_vc->vc_nvq;
}

static uint64_t
vi_rd_status(struct virtio_softc *vs)
{
	return vs->vs_status;
}

static void
vi_wr_status(struct virtio_softc *vs, uint64_t v)
{
	vi_set_status(vs, (uint8_t)v);
}

static uint64_t
vi_rd_cfggen(struct virtio_softc *vs)
{
	return vs->vs_cfggen;
}

static uint64_t
vi_rd_qsel(struct virtio_softc *vs)
{
	return vs->vs_curq;
}

static void
vi_wr_qsel(struct virtio_softc *vs, uint64_t v)
{
	vs->vs_curq = (uint16_t)v;
}

/* 4.1.4.3.1: an unavailable queue reads 0. */
static uint64_t
vi_rd_qsize(struct virtio_softc *vs)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	return vq ? vq->vq_qsize : 0;
}

/* Queue fields are set before queue_enable (4.1.4.3.2), not after. */
static void
vi_wr_qsize(struct virtio_softc *vs, uint64_t v)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	if (vq && !vq->vq_enabled)
		vq->vq_qsize = (uint16_t)v;
}

static uint64_t
vi_rd_qvec(struct virtio_softc *vs)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	return vq ? vq->vq_msix_idx : VIRTIO_MSI_NO_VECTOR;
}

static void
vi_wr_qvec(struct virtio_softc *vs, uint64_t v)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	if (vq)
		vq->vq_msix_idx = vi_pci_vector(vs, v);
}

static uint64_t
vi_rd_qenable(struct virtio_softc *vs)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	return vq && vq->vq_enabled;
}

/* Writing 0 is forbidden to the driver (4.1.4.3.2): ignored. */
static void
vi_wr_qenable(struct virtio_softc *vs, uint64_t v)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	if (vq && v == 1)
		(void)vq_enable(vq);
}

static uint64_t
vi_rd_qnotifyoff(struct virtio_softc *vs)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	return vq ? vq->vq_num : 0;
}

enum vi_qaddr {
	VI_QDESC,
	VI_QDRIVER,
	VI_QDEVICE,
};

/*
 * One of the selected queue's three ring addresses; NULL without a queue.
 * Written only while the queue is disabled (4.1.4.3.2).
 */
static uint64_t *
vi_qaddr(struct virtio_softc *vs, enum vi_qaddr which, bool write)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	if (vq == NULL || (write && vq->vq_enabled))
		return NULL;
	return which == VI_QDESC ? &vq->vq_desc_gpa :
	    which == VI_QDRIVER ? &vq->vq_avail_gpa : &vq->vq_used_gpa;
}

#define VI_QADDR_FNS(name, which)					\
static uint64_t								\
vi_rd_##name(struct virtio_softc *vs)					\
{									\
	uint64_t *p = vi_qaddr(vs, which, false);			\
									\
	return p ? *p : 0;						\
}									\
									\
static void								\
vi_wr_##name(struct virtio_softc *vs, uint64_t v)			\
{									\
	uint64_t *p = vi_qaddr(vs, which, true);			\
									\
	if (p)								\
		*p = v;							\
}

VI_QADDR_FNS(qdesc, VI_QDESC)
VI_QADDR_FNS(qdriver, VI_QDRIVER)
VI_QADDR_FNS(qdevice, VI_QDEVICE)

static const struct vi_reg vi_common_regs[] = {
	{ 0x00, 4, vi_rd_dfselect, vi_wr_dfselect },
	{ 0x04, 4, vi_rd_dfeatures, NULL },
	{ 0x08, 4, vi_rd_gfselect, vi_wr_gfselect },
	{ 0x0c, 4, vi_rd_gfeatures, vi_wr_gfeatures },
	{ 0x10, 2, vi_rd_cfgvec, vi_wr_cfgvec },
	{ 0x12, 2, vi_rd_numq, NULL },
	{ 0x14, 1, vi_rd_status, vi_wr_status },
	{ 0x15, 1, vi_rd_cfggen, NULL },
	{ 0x16, 2, vi_rd_qsel, vi_wr_qsel },
	{ 0x18, 2, vi_rd_qsize, vi_wr_qsize },
	{ 0x1a, 2, vi_rd_qvec, vi_wr_qvec },
	{ 0x1c, 2, vi_rd_qenable, vi_wr_qenable },
	{ 0x1e, 2, vi_rd_qnotifyoff, NULL },
	{ 0x20, 8, vi_rd_qdesc, vi_wr_qdesc },
	{ 0x28, 8, vi_rd_qdriver, vi_wr_qdriver },
	{ 0x30, 8, vi_rd_qdevice, vi_wr_qdevice },
};

/* ---- The legacy registers ---- */

static uint64_t
vi_rd_hostf(struct virtio_softc *vs)
{
	return vi_get_dev_features(vs, 0);
}

static uint64_t
vi_rd_guestf(struct virtio_softc *vs)
{
	return (uint32_t)vs->vs_negotiated_caps;
}

static void
vi_wr_guestf(struct virtio_softc *vs, uint64_t v)
{
	vi_set_legacy_features(vs, (uint32_t)v);
}

static uint64_t
vi_rd_pfn(struct virtio_softc *vs)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	return vq && vq->vq_enabled ? vq->vq_desc_gpa / VQ_LEGACY_ALIGN : 0;
}

/*
 * One page frame places the whole queue at its maximum size, the used
 * ring on the next 4 KiB boundary after the available ring (2.7.2);
 * 0 takes the queue down.
 */
static void
vi_wr_pfn(struct virtio_softc *vs, uint64_t v)
{
	struct vqueue_info *vq = vi_cur_queue(vs);
	uint64_t base = (uint32_t)v * (uint64_t)VQ_LEGACY_ALIGN, used;

	if (vq == NULL)
		return;
	vq_disable(vq);
	if (base == 0)
		return;
	vq->vq_qsize = vq->vq_qsize_max;
	vq->vq_desc_gpa = base;
	vq->vq_avail_gpa = base + VQ_DESC_BYTES(vq->vq_qsize);
	used = vq->vq_avail_gpa + VQ_AVAIL_BYTES(vq->vq_qsize);
	vq->vq_used_gpa = (used + VQ_LEGACY_ALIGN - 1) &
	    ~(uint64_t)(VQ_LEGACY_ALIGN - 1);
	(void)vq_enable(vq);
}

static uint64_t
vi_rd_qnum(struct virtio_softc *vs)
{
	struct vqueue_info *vq = vi_cur_queue(vs);

	return vq ? vq->vq_qsize_max : 0;
}

static uint64_t
vi_rd_zero(struct virtio_softc *vs)
{
	return 0;
}

static void
vi_wr_qnotify(struct virtio_softc *vs, uint64_t v)
{
	vi_queue_notify(vs, (uint16_t)v);
}

static uint64_t
vi_rd_isr(struct virtio_softc *vs)
{
	return vi_pci_isr_read(vs);
}

/* The last two exist only while MSI-X is enabled. */
static const struct vi_reg vi_legacy_regs[] = {
	{ 0x00, 4, vi_rd_hostf, NULL },
	{ 0x04, 4, vi_rd_guestf, vi_wr_guestf },
	{ 0x08, 4, vi_rd_pfn, vi_wr_pfn },
	{ 0x0c, 2, vi_rd_qnum, NULL },
	{ 0x0e, 2, vi_rd_qsel, vi_wr_qsel },
	{ VI_LEGACY_QNOTIFY, 2, vi_rd_zero, vi_wr_qnotify },
	{ 0x12, 1, vi_rd_status, vi_wr_status },
	{ 0x13, 1, vi_rd_isr, NULL },
	{ 0x14, 2, vi_rd_cfgvec, vi_wr_cfgvec },
	{ 0x16, 2, vi_rd_qvec, vi_wr_qvec },
};

/* ---- Table-driven access ---- */

/* The field an access of 'size' at 'off' may touch, or NULL. */
static const struct vi_reg *
vi_reg_find(const struct vi_reg *t, size_t n, uint64_t off, int size)
{
	for (size_t i = 0; i < n; i++) {
		const struct vi_reg *r = &t[i];

		if (off < r->off || off >= (uint64_t)r->off + r->width)
			continue;
		if (off == r->off && size == r->width)
			return r;
		if (r->width == 8 && size == 4 && (off - r->off) % 4 == 0)
			return r;
		return NULL;
	}
	return NULL;
}

static uint64_t
vi_reg_read(struct virtio_softc *vs, const struct vi_reg *t, size_t n,
    uint64_t off, int size)
{
	const struct vi_reg *r = vi_reg_find(t, n, off, size);
	uint64_t v;

	if (r == NULL)
		return 0;
	v = r->rd(vs) >> (8 * (off - r->off));
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

/* A 32-bit half of a 64-bit field merges into the rest of it. */
static void
vi_reg_write(struct virtio_softc *vs, const struct vi_reg *t, size_t n,
    uint64_t off, int size, uint64_t v)
{
	const struct vi_reg *r = vi_reg_find(t, n, off, size);
	unsigned shift;
	uint64_t mask;

	if (r == NULL || r->wr == NULL)
		return;
	if (size == r->width) {
		r->wr(vs, v);
		return;
	}
	shift = 8 * (unsigned)(off - r->off);
	mask = 0xffffffffULL << shift;
	r->wr(vs, (r->rd(vs) & ~mask) | ((v << shift) & mask));
}

/* ---- The modern BAR ---- */

static uint64_t
vi_modern_read(struct virtio_softc *vs, uint64_t off, int size)
{
	if (off < VI_PCI_COMMON_OFF + VI_COMMON_LEN)
		return vi_reg_read(vs, vi_common_regs, NELEM(vi_common_regs),
		    off - VI_PCI_COMMON_OFF, size);
	if (off == VI_PCI_ISR_OFF)
		return vi_pci_isr_read(vs);
	if (off >= VI_PCI_DEVCFG_OFF && off < VI_PCI_NOTIFY_OFF)
		return vi_devcfg_read(vs, off - VI_PCI_DEVCFG_OFF, size);
	return 0;
}

/* A notify write names its queue by address; the value is not needed. */
static void
vi_modern_write(struct virtio_softc *vs, uint64_t off, int size, uint64_t v)
{
	if (off < VI_PCI_COMMON_OFF + VI_COMMON_LEN) {
		vi_reg_write(vs, vi_common_regs, NELEM(vi_common_regs),
		    off - VI_PCI_COMMON_OFF, size, v);
	} else if (off >= VI_PCI_DEVCFG_OFF && off < VI_PCI_NOTIFY_OFF) {
		vi_devcfg_write(vs, off - VI_PCI_DEVCFG_OFF, size, (uint32_t)v);
	} else if (off >= VI_PCI_NOTIFY_OFF &&
	    off < VI_PCI_MODERN_BAR_SIZE && (size == 2 || size == 4) &&
	    (off - VI_PCI_NOTIFY_OFF) % VI_PCI_NOTIFY_MULT == 0) {
		vi_queue_notify(vs,
		    (unsigned)((off - VI_PCI_NOTIFY_OFF) / VI_PCI_NOTIFY_MULT));
	}
}

/* ---- The legacy BAR (4.1.4.8) ---- */

static uint64_t
vi_legacy_hdr_len(struct virtio_softc *vs, size_t *nregs)
{
	bool msix = pci_msix_enabled(vs->vs_pi);

	*nregs = msix ? NELEM(vi_legacy_regs) : NELEM(vi_legacy_regs) - 2;
	return msix ? VI_LEGACY_MSIX_HDR_LEN : VI_LEGACY_HDR_LEN;
}

static uint64_t
vi_legacy_read(struct virtio_softc *vs, uint64_t off, int size)
{
	size_t n;
	uint64_t hdr = vi_legacy_hdr_len(vs, &n);

	if (off >= hdr)
		return vi_devcfg_read(vs, off - hdr, size);
	return vi_reg_read(vs, vi_legacy_regs, n, off, size);
}

static void
vi_legacy_write(struct virtio_softc *vs, uint64_t off, int size, uint64_t v)
{
	size_t n;
	uint64_t hdr = vi_legacy_hdr_len(vs, &n);

	if (off >= hdr)
		vi_devcfg_write(vs, off - hdr, size, (uint32_t)v);
	else
		vi_reg_write(vs, vi_legacy_regs, n, off, size, v);
}

/* ---- pci_devemu hooks ---- */

uint64_t
vi_pci_read(struct pci_devinst *pi, int baridx, uint64_t offset, int size)
{
	struct virtio_softc *vs = pi->pi_arg;
	uint64_t v = 0;

	vi_lock(vs);
	if (baridx == vs->vs_modern_bar)
		v = vi_modern_read(vs, offset, size);
	else if (baridx == vs->vs_legacy_bar)
		v = vi_legacy_read(vs, offset, size);
	vi_unlock(vs);
	return v;
}

void
vi_pci_write(struct pci_devinst *pi, int baridx, uint64_t offset, int size,
    uint64_t value)
{
	struct virtio_softc *vs = pi->pi_arg;

	vi_lock(vs);
	if (baridx == vs->vs_modern_bar)
		vi_modern_write(vs, offset, size, value);
	else if (baridx == vs->vs_legacy_bar)
		vi_legacy_write(vs, offset, size, value);
	vi_unlock(vs);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): cap.bar, cap.offset and cap.length
 * name a window of 1, 2 or 4 aligned bytes in a virtio BAR, and
 * pci_cfg_data reaches it.  False when the window is not one.
 */
static bool
vi_pci_window(struct virtio_softc *vs, uint64_t *off, int *len)
{
	struct pci_devinst *pi = vs->vs_pi;
	int cap = vs->vs_cfgcap;
	uint8_t bar = pci_get_cfgdata8(pi, cap + VI_CAP_BAR);
	uint32_t o = pci_get_cfgdata32(pi, cap + VI_CAP_OFFSET);
	uint32_t l = pci_get_cfgdata32(pi, cap + VI_CAP_LENGTH);

	if (bar != vs->vs_modern_bar || (l != 1 && l != 2 && l != 4) ||
	    o % l != 0 || o >= VI_PCI_MODERN_BAR_SIZE)
		return false;
	*off = o;
	*len = (int)l;
	return true;
}

static bool
vi_pci_is_cfgdata(struct virtio_softc *vs, int offset)
{
	int data = vs->vs_cfgcap + VI_CAP_EXTRA;

	return vs->vs_cfgcap != 0 && offset >= data && offset < data + 4;
}

int
vi_pci_cfgwrite(struct pci_devinst *pi, int offset, int bytes, uint32_t val)
{
	struct virtio_softc *vs = pi->pi_arg;
	int data = vs->vs_cfgcap + VI_CAP_EXTRA, len;
	uint64_t off;
	uint32_t v;

	if (!vi_pci_is_cfgdata(vs, offset))
		return PCI_EMUL_FALLBACK;
	vi_lock(vs);
	for (int i = 0; i < bytes; i++)
		pci_set_cfgdata8(pi, offset + i, (uint8_t)(val >> (8 * i)));
	v = pci_get_cfgdata32(pi, data);
	if (vi_pci_window(vs, &off, &len))
		vi_modern_write(vs, off, len, len == 4 ? v :
		    v & ((1u << (8 * len)) - 1));
	vi_unlock(vs);
	return 0;
}

int
vi_pci_cfgread(struct pci_devinst *pi, int offset, int bytes, uint32_t *val)
{
	struct virtio_softc *vs = pi->pi_arg;
	int data = vs->vs_cfgcap + VI_CAP_EXTRA, len;
	uint64_t off, v = 0;

	if (!vi_pci_is_cfgdata(vs, offset))
		return PCI_EMUL_FALLBACK;
	vi_lock(vs);
	if (vi_pci_window(vs, &off, &len))
		v = vi_modern_read(vs, off, len);
	pci_set_cfgdata32(pi, data, (uint32_t)v);
	vi_unlock(vs);
	v >>= 8 * (offset - data);
	*val = bytes == 4 ? (uint32_t)v :
	    (uint32_t)v & ((1u << (8 * bytes)) - 1);
	return 0;
}

/* ---- Set-up ---- */

static int
vi_pci_transitional_id(uint16_t type)
{
	for (size_t i = 0; i < NELEM(vi_pci_transitional); i++)
		if (vi_pci_transitional[i].type == type)
			return vi_pci_transitional[i].id;
	return -1;
}

/*
 * 4.1.2: a transitional device has its transitional ID, revision 0 and
 * the device type as subsystem ID (what legacy drivers match); a modern
 * one 0x1040 + type, revision 1, a subsystem ID of 0x40 or more.
 */
static void
vi_pci_ids(struct virtio_softc *vs, bool legacy)
{
	struct pci_devinst *pi = vs->vs_pi;
	const struct virtio_consts *vc = vs->vs_vc;
	uint16_t modern = VIRTIO_PCI_MODERN_DEVICE_BASE + vc->vc_devtype;

	pci_set_cfgdata16(pi, PCIR_VENDOR, VIRTIO_VENDOR);
	pci_set_cfgdata16(pi, PCIR_DEVICE, legacy ?
	    (uint16_t)vi_pci_transitional_id(vc->vc_devtype) : modern);
	pci_set_cfgdata8(pi, PCIR_REVID, legacy ? 0 : 1);
	pci_set_cfgdata16(pi, PCIR_SUBVEND_0, VIRTIO_VENDOR);
	pci_set_cfgdata16(pi, PCIR_SUBDEV_0, legacy ? vc->vc_devtype : modern);
	pci_set_cfgdata8(pi, PCIR_CLASS, (uint8_t)(vc->vc_class >> 16));
	pci_set_cfgdata8(pi, PCIR_SUBCLASS, (uint8_t)(vc->vc_class >> 8));
	pci_set_cfgdata8(pi, PCIR_PROGIF, (uint8_t)vc->vc_class);
}

/*
 * The function's "ioeventfd" key, by default the root's virtio.ioeventfd:
 * false keeps every doorbell on the exit path (to compare, or debug).
 */
static int
vi_pci_ioeventfd_option(struct virtio_softc *vs, struct config_node *nvl)
{
	struct pci_devinst *pi = vs->vs_pi;
	struct config_node *root = pi->pi_bvm->cfg;
	bool on;

	if (config_get_bool(root, "virtio.ioeventfd", true, &on) != 0)
		return pci_emul_error(pi, "invalid virtio.ioeventfd '%s' (want "
		    "true or false)", config_get(root, "virtio.ioeventfd"));
	if (config_get_bool(nvl, "ioeventfd", on, &on) != 0)
		return pci_emul_error(pi, "invalid ioeventfd '%s' (want true "
		    "or false)", config_get(nvl, "ioeventfd"));
	vs->vs_ioeventfd = on;
	return 0;
}

/* The function's "legacy" key and the root's virtio_msix/virtio.msix. */
static int
vi_pci_options(struct virtio_softc *vs, struct config_node *nvl,
    bool *legacy, bool *msix)
{
	struct pci_devinst *pi = vs->vs_pi;
	struct config_node *root = pi->pi_bvm->cfg;
	bool can = vi_pci_transitional_id(vs->vs_vc->vc_devtype) >= 0;

	if (config_get_bool(nvl, "legacy", can, legacy) != 0)
		return pci_emul_error(pi, "invalid legacy '%s' (want true or "
		    "false)", config_get(nvl, "legacy"));
	if (*legacy && !can)
		return pci_emul_error(pi, "%s has no legacy interface",
		    vs->vs_vc->vc_name);
	if (config_get_bool(root, "virtio_msix", true, msix) != 0)
		return pci_emul_error(pi, "invalid virtio_msix '%s' (want true "
		    "or false)", config_get(root, "virtio_msix"));
	if (config_get_bool(root, "virtio.msix", *msix, msix) != 0)
		return pci_emul_error(pi, "invalid virtio.msix '%s' (want true "
		    "or false)", config_get(root, "virtio.msix"));
	for (int i = 0; i < vs->vs_vc->vc_nvq; i++) {
		uint16_t n = vs->vs_queues[i].vq_qsize_max;

		if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)) != 0)
			return pci_emul_error(pi, "queue %d: size %u is not a "
			    "power of 2 up to %u", i, n, VQ_MAX_SIZE);
	}
	return vi_pci_ioeventfd_option(vs, nvl);
}

/* One struct virtio_pci_cap (4.1.4), with its extra dword if any. */
static int
vi_pci_add_cap(struct virtio_softc *vs, uint8_t type, uint32_t off,
    uint32_t len, bool ext, uint32_t extra)
{
	uint8_t cap[VI_CAP_EXT_LEN] = { PCIY_VENDOR, 0,
		ext ? VI_CAP_EXT_LEN : VI_CAP_LEN, type,
		(uint8_t)vs->vs_modern_bar };
	uint32_t le;

	le = htole32(off);
	memcpy(&cap[VI_CAP_OFFSET], &le, 4);
	le = htole32(len);
	memcpy(&cap[VI_CAP_LENGTH], &le, 4);
	le = htole32(extra);
	memcpy(&cap[VI_CAP_EXTRA], &le, 4);
	return pci_emul_add_capability(vs->vs_pi, cap, cap[2]);
}

/*
 * In the order drivers should prefer them (4.1.4): common, ISR, device
 * config (if the device has one), notify, and the PCI config window,
 * whose bar, offset, length and data are the driver's to write.
 */
static int
vi_pci_add_caps(struct virtio_softc *vs)
{
	const struct virtio_consts *vc = vs->vs_vc;
	struct pci_devinst *pi = vs->vs_pi;
	int off;

	if (vi_pci_add_cap(vs, VIRTIO_PCI_CAP_COMMON_CFG, VI_PCI_COMMON_OFF,
	    VI_COMMON_LEN, false, 0) < 0 ||
	    vi_pci_add_cap(vs, VIRTIO_PCI_CAP_ISR_CFG, VI_PCI_ISR_OFF, 1,
	    false, 0) < 0 ||
	    (vc->vc_cfgsize > 0 && vi_pci_add_cap(vs,
	    VIRTIO_PCI_CAP_DEVICE_CFG, VI_PCI_DEVCFG_OFF,
	    (uint32_t)vc->vc_cfgsize, false, 0) < 0) ||
	    vi_pci_add_cap(vs, VIRTIO_PCI_CAP_NOTIFY_CFG, VI_PCI_NOTIFY_OFF,
	    (uint32_t)vc->vc_nvq * VI_PCI_NOTIFY_MULT, true,
	    VI_PCI_NOTIFY_MULT) < 0)
		return -ENOSPC;
	off = vi_pci_add_cap(vs, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, true, 0);
	if (off < 0)
		return off;
	vs->vs_cfgcap = off;
	pci_set_cfgdata8(pi, off + VI_CAP_BAR, 0);
	pci_set_cfgwritable(pi, off + VI_CAP_BAR, 1, 0xff);
	pci_set_cfgwritable(pi, off + VI_CAP_OFFSET, 8, 0xff);
	pci_set_cfgwritable(pi, off + VI_CAP_EXTRA, 4, 0xff);
	return 0;
}

static int
vi_pci_bars(struct virtio_softc *vs, bool legacy)
{
	const struct virtio_consts *vc = vs->vs_vc;
	struct pci_devinst *pi = vs->vs_pi;
	int nvec = vc->vc_nvq + 1;

	if (vc->vc_cfgsize > VI_PCI_NOTIFY_OFF - VI_PCI_DEVCFG_OFF ||
	    (uint64_t)vc->vc_nvq * VI_PCI_NOTIFY_MULT >
	    VI_PCI_MODERN_BAR_SIZE - VI_PCI_NOTIFY_OFF)
		return pci_emul_error(pi, "too many queues or config bytes");
	if (legacy) {
		if (pci_emul_alloc_bar(pi, 0, PCIBAR_IO,
		    VI_LEGACY_MSIX_HDR_LEN + vc->vc_cfgsize) != 0)
			return pci_emul_error(pi, "cannot add the legacy BAR");
		vs->vs_legacy_bar = 0;
	}
	if (vs->vs_msix ?
	    pci_emul_add_msixcap(pi, nvec, VI_PCI_MSIX_BAR) < 0 :
	    pci_emul_add_msicap(pi, 1, PCI_MSI_64BIT) < 0)
		return pci_emul_error(pi, "cannot add the %s capability",
		    vs->vs_msix ? "MSI-X" : "MSI");
	if (pci_emul_alloc_bar(pi, VI_PCI_MODERN_BAR, PCIBAR_MEM64,
	    VI_PCI_MODERN_BAR_SIZE) != 0)
		return pci_emul_error(pi, "cannot add the modern BAR");
	vs->vs_modern_bar = VI_PCI_MODERN_BAR;
	return 0;
}

int
vi_pci_init(struct virtio_softc *vs, struct config_node *nvl)
{
	struct pci_devinst *pi = vs->vs_pi;
	bool legacy, msix;
	int error;

	if (vi_pci_options(vs, nvl, &legacy, &msix) != 0)
		return -1;
	vs->vs_tr = &vi_pci_transport;
	vs->vs_msix = msix;
	vi_pci_ids(vs, legacy);
	if (vi_pci_bars(vs, legacy) != 0)
		return -1;
	if (vi_pci_add_caps(vs) != 0)
		return pci_emul_error(pi, "no room for the virtio "
		    "capabilities");
	if (pci_lintr_request(pi) != 0)
		return pci_emul_error(pi, "cannot get an interrupt pin");
	error = vi_queues_init(vs);
	if (error)
		return pci_emul_error(pi, "cannot set up queue kicks: %s",
		    strerror(-error));
	return 0;
}

/* The doorbells go before the eventfds they signal are closed. */
void
vi_pci_destroy(struct virtio_softc *vs)
{
	vi_lock(vs);
	for (int i = 0; i < vs->vs_vc->vc_nvq; i++)
		vi_pci_queue_state(vs, &vs->vs_queues[i], false);
	vs->vs_bell_on[VI_BELL_MODERN] = vs->vs_bell_on[VI_BELL_LEGACY] = false;
	vi_unlock(vs);
	vi_queues_destroy(vs);
}
