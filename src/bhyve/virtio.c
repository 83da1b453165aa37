/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio device core: what every device and transport shares (see
 * virtio.h for the API, the chain checks and the locking rules).
 *
 * Guest memory.  The rings are mapped once, when the driver enables a
 * queue, through vm_map_gpa() for their whole size; buffers are mapped
 * one by one as chains are walked.  The guest writes the rings from
 * other vCPUs while we read them, so every index that publishes data is
 * read or written with an explicit barrier (comments at each), and
 * descriptors are copied out before they are looked at.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mevent.h"
#include "virtio.h"

/* Error reports on stderr per device; later ones are only recorded. */
#define VI_ERR_PRINT_MAX 4

void
vi_lock(struct virtio_softc *vs)
{
	pthread_mutex_lock(vs->vs_mtx);
}

void
vi_unlock(struct virtio_softc *vs)
{
	pthread_mutex_unlock(vs->vs_mtx);
}

static bool
vi_has(const struct virtio_softc *vs, uint64_t feature)
{
	return (vs->vs_negotiated_caps & feature) != 0;
}

/* ---- Errors: DEVICE_NEEDS_RESET (2.1.2) ---- */

static void __attribute__((format(printf, 2, 0)))
vi_vset_needs_reset(struct virtio_softc *vs, const char *fmt, va_list ap)
{
	vsnprintf(vs->vs_err, sizeof(vs->vs_err), fmt, ap);
	vs->vs_nerr++;
	if (vs->vs_nerr <= VI_ERR_PRINT_MAX)
		fprintf(stderr, "bhyve: %s: %s: device needs reset%s\n",
		    vs->vs_pi->pi_name, vs->vs_err,
		    vs->vs_nerr == VI_ERR_PRINT_MAX ?
		    " (further errors not reported)" : "");
	if (vs->vs_status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	vs->vs_status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* 2.1.2: with DRIVER_OK set, tell the driver by a config change. */
	if ((vs->vs_status & VIRTIO_CONFIG_S_DRIVER_OK) && vs->vs_tr)
		vs->vs_tr->vt_notify(vs, NULL);
}

void
vi_set_needs_reset(struct virtio_softc *vs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vi_vset_needs_reset(vs, fmt, ap);
	va_end(ap);
}

/* A bad ring or chain on 'vq': NEEDS_RESET, and -EINVAL to return. */
static int __attribute__((format(printf, 2, 3)))
vq_bad(struct vqueue_info *vq, const char *fmt, ...)
{
	char msg[VI_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vi_set_needs_reset(vq->vq_vs, "queue %u: %s", vq->vq_num, msg);
	return -EINVAL;
}

void
vi_config_changed(struct virtio_softc *vs)
{
	vs->vs_cfgdirty = true;
	if ((vs->vs_status & VIRTIO_CONFIG_S_DRIVER_OK) && vs->vs_tr)
		vs->vs_tr->vt_notify(vs, NULL);
}

/* ---- Set-up and reset ---- */

static void
vq_reset_state(struct vqueue_info *vq)
{
	vq_disable(vq);
	vq->vq_qsize = vq->vq_qsize_max;
	vq->vq_msix_idx = VIRTIO_MSI_NO_VECTOR;
	vq->vq_desc_gpa = vq->vq_avail_gpa = vq->vq_used_gpa = 0;
	vq->vq_budget = 0;
	vq->vq_in_round = false;
}

void
vi_softc_linkup(struct virtio_softc *vs, const struct virtio_consts *vc,
    void *dev, struct pci_devinst *pi, struct vqueue_info *queues)
{
	*vs = (struct virtio_softc){ .vs_vc = vc, .vs_dev = dev,
		.vs_mtx = &pi->pi_lock, .vs_pi = pi, .vs_queues = queues,
		.vs_hv_caps = vc->vc_hv_caps | VIRTIO_CORE_CAPS,
		.vs_msix_cfg_idx = VIRTIO_MSI_NO_VECTOR,
		.vs_legacy_bar = -1, .vs_modern_bar = -1 };
	pi->pi_arg = vs;
	for (int i = 0; i < vc->vc_nvq; i++) {
		struct vqueue_info *vq = &queues[i];

		vq->vq_vs = vs;
		vq->vq_num = (uint16_t)i;
		vq->vq_kickfd = -1;
		vq->vq_kickev = NULL;
		vq_reset_state(vq);
	}
}

/*
 * Device reset (2.4): the device forgets everything the driver set up.
 * The device's own hook runs first, so that it lets go of the queues
 * before they disappear.
 */
void
vi_reset(struct virtio_softc *vs)
{
	const struct virtio_consts *vc = vs->vs_vc;

	if (vc->vc_reset)
		vc->vc_reset(vs->vs_dev);
	for (int i = 0; i < vc->vc_nvq; i++)
		vq_reset_state(&vs->vs_queues[i]);
	vs->vs_status = 0;
	vs->vs_driver_caps = vs->vs_negotiated_caps = 0;
	vs->vs_dfselect = vs->vs_gfselect = 0;
	vs->vs_curq = 0;
	vs->vs_msix_cfg_idx = VIRTIO_MSI_NO_VECTOR;
	vs->vs_cfgdirty = false;
	vs->vs_tr->vt_reset(vs);
}

/* ---- Features (2.2, 3.1.1) ---- */

uint32_t
vi_get_dev_features(struct virtio_softc *vs, uint32_t select)
{
	return select < 2 ? (uint32_t)(vs->vs_hv_caps >> (32 * select)) : 0;
}

/* What the driver wrote, limited to what is offered (4.1.4.3.1). */
uint32_t
vi_get_drv_features(struct virtio_softc *vs, uint32_t select)
{
	uint64_t f = vs->vs_driver_caps & vs->vs_hv_caps;

	return select < 2 ? (uint32_t)(f >> (32 * select)) : 0;
}

/* Feature bits are the driver's only until FEATURES_OK (3.1.1). */
void
vi_set_drv_features(struct virtio_softc *vs, uint32_t select, uint32_t val)
{
	uint64_t mask;

	if (select >= 2 || (vs->vs_status & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	mask = 0xffffffffULL << (32 * select);
	vs->vs_driver_caps = (vs->vs_driver_caps & ~mask) |
	    ((uint64_t)val << (32 * select));
}

/*
 * A legacy driver has no FEATURES_OK: what it writes is what it uses,
 * bits 0-31 only, so never VERSION_1 (4.1.4.8).
 */
void
vi_set_legacy_features(struct virtio_softc *vs, uint32_t val)
{
	const struct virtio_consts *vc = vs->vs_vc;
	uint64_t f = val & (uint32_t)vs->vs_hv_caps;

	vs->vs_driver_caps = vs->vs_negotiated_caps = f;
	if (vc->vc_apply_features)
		(void)vc->vc_apply_features(vs->vs_dev, f);
}

/*
 * FEATURES_OK (3.1.1): accepted only for a subset of what is offered
 * that includes VERSION_1 (this is the modern interface; a device may
 * refuse a driver without it, 6.1), and that the device agrees to.
 */
static bool
vi_features_ok(struct virtio_softc *vs)
{
	const struct virtio_consts *vc = vs->vs_vc;
	uint64_t f = vs->vs_driver_caps;

	if ((f & ~vs->vs_hv_caps) != 0 || !(f & VIRTIO_F_VERSION_1))
		return false;
	if (vc->vc_apply_features && vc->vc_apply_features(vs->vs_dev, f))
		return false;
	vs->vs_negotiated_caps = f;
	return true;
}

/* ---- Device status (2.1) ---- */

/* DRIVER_OK: run what the driver queued before it (harmless if none). */
static void
vi_kick_ready(struct virtio_softc *vs)
{
	for (int i = 0; i < vs->vs_vc->vc_nvq; i++)
		if (vq_has_descs(&vs->vs_queues[i]))
			vi_queue_notify(vs, (unsigned)i);
}

/*
 * 0 resets.  Otherwise bits only accumulate (the driver must not clear
 * one, 2.1.1), DEVICE_NEEDS_RESET is the device's, and FEATURES_OK
 * stays clear when the features are refused, for the driver to see.
 */
void
vi_set_status(struct virtio_softc *vs, uint8_t status)
{
	uint8_t old = vs->vs_status, new;

	if (status == 0) {
		vi_reset(vs);
		return;
	}
	new = old | (status & (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((new & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK) && !vi_features_ok(vs))
		new &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	vs->vs_status = new;
	if ((new & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		vi_kick_ready(vs);
}

/* ---- Device configuration space ---- */

static bool
vi_devcfg_access_ok(struct virtio_softc *vs, uint64_t off, int size)
{
	uint64_t len = vs->vs_vc->vc_cfgsize;

	return (size == 1 || size == 2 || size == 4) && off < len &&
	    (uint64_t)size <= len - off;
}

/*
 * A read moves config_generation if the configuration changed since the
 * last read (the way 4.1.4.3.1's note suggests, so no number of changes
 * can wrap it back to what the driver saw).
 */
uint32_t
vi_devcfg_read(struct virtio_softc *vs, uint64_t off, int size)
{
	const struct virtio_consts *vc = vs->vs_vc;
	uint32_t v = 0;

	if (!vi_devcfg_access_ok(vs, off, size))
		return 0;
	if (vs->vs_cfgdirty) {
		vs->vs_cfggen++;
		vs->vs_cfgdirty = false;
	}
	if (vc->vc_cfgread &&
	    vc->vc_cfgread(vs->vs_dev, (int)off, size, &v) != 0)
		v = 0;
	return v;
}

void
vi_devcfg_write(struct virtio_softc *vs, uint64_t off, int size,
    uint32_t val)
{
	const struct virtio_consts *vc = vs->vs_vc;

	if (vi_devcfg_access_ok(vs, off, size) && vc->vc_cfgwrite)
		(void)vc->vc_cfgwrite(vs->vs_dev, (int)off, size, val);
}

/* ---- Queue set-up ---- */

struct vqueue_info *
vi_cur_queue(struct virtio_softc *vs)
{
	return vs->vs_curq < vs->vs_vc->vc_nvq ?
	    &vs->vs_queues[vs->vs_curq] : NULL;
}

/* The transport hears first: it may have the queue's doorbells armed. */
void
vq_disable(struct vqueue_info *vq)
{
	const struct virtio_transport *tr = vq->vq_vs->vs_tr;

	if (tr != NULL && tr->vt_queue_state != NULL)
		tr->vt_queue_state(vq->vq_vs, vq, false);
	vq->vq_enabled = false;
	vq->vq_desc = NULL;
	vq->vq_avail = NULL;
	vq->vq_used = NULL;
}

/*
 * The rings, checked once here: a power-of-2 size the device supports
 * (2.7), each part aligned as 2.7's table says and wholly inside guest
 * RAM.  Indices start at 0: the driver zeroed the rings (2.7.13.1).
 */
int
vq_enable(struct vqueue_info *vq)
{
	struct vmctx *ctx = vq->vq_vs->vs_pi->pi_vmctx;
	uint16_t n = vq->vq_qsize;
	void *desc, *avail, *used;

	if (vq->vq_enabled)
		return 0;
	if (n == 0 || n > vq->vq_qsize_max || (n & (n - 1)) != 0)
		return vq_bad(vq, "queue size %u (a power of 2 up to %u)", n,
		    vq->vq_qsize_max);
	if (vq->vq_desc_gpa % VQ_ALIGN_DESC ||
	    vq->vq_avail_gpa % VQ_ALIGN_AVAIL ||
	    vq->vq_used_gpa % VQ_ALIGN_USED)
		return vq_bad(vq, "misaligned rings (desc 0x%llx, avail "
		    "0x%llx, used 0x%llx)", (unsigned long long)vq->vq_desc_gpa,
		    (unsigned long long)vq->vq_avail_gpa,
		    (unsigned long long)vq->vq_used_gpa);
	desc = vm_map_gpa(ctx, vq->vq_desc_gpa, VQ_DESC_BYTES(n));
	avail = vm_map_gpa(ctx, vq->vq_avail_gpa, VQ_AVAIL_BYTES(n));
	used = vm_map_gpa(ctx, vq->vq_used_gpa, VQ_USED_BYTES(n));
	if (desc == NULL || avail == NULL || used == NULL)
		return vq_bad(vq, "%s ring at 0x%llx is not in guest RAM",
		    !desc ? "descriptor" : !avail ? "available" : "used",
		    (unsigned long long)(!desc ? vq->vq_desc_gpa :
		    !avail ? vq->vq_avail_gpa : vq->vq_used_gpa));
	vq->vq_desc = desc;
	vq->vq_avail = avail;
	vq->vq_used = used;
	vq->vq_last_avail = vq->vq_next_used = vq->vq_save_used = 0;
	vq->vq_enabled = true;
	if (vq->vq_vs->vs_tr && vq->vq_vs->vs_tr->vt_queue_state)
		vq->vq_vs->vs_tr->vt_queue_state(vq->vq_vs, vq, true);
	return 0;
}

/*
 * The device may take chains: the queue is enabled, no error stopped the
 * device, and the driver said DRIVER_OK (3.1.1), which a legacy driver
 * (no VERSION_1) often never waited for before using a queue (3.1.2).
 */
bool
vq_ring_ready(struct vqueue_info *vq)
{
	struct virtio_softc *vs = vq->vq_vs;

	return vq->vq_enabled &&
	    !(vs->vs_status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
	    ((vs->vs_status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    !vi_has(vs, VIRTIO_F_VERSION_1));
}

/* ---- Ring indices and barriers ---- */

/*
 * avail->idx, with acquire semantics: the ring entries and descriptors
 * it covers are read after it, pairing with the write barrier the driver
 * puts before moving idx (2.7.13.3.1).
 */
static uint16_t
vq_avail_idx(struct vqueue_info *vq)
{
	return le16toh(__atomic_load_n(&vq->vq_avail->idx, __ATOMIC_ACQUIRE));
}

static uint16_t
vq_avail_entry(struct vqueue_info *vq, uint16_t i)
{
	return le16toh(vq->vq_avail->ring[i & (vq->vq_qsize - 1)]);
}

/* used_event follows the available ring (2.7.6). */
static uint16_t
vq_used_event(struct vqueue_info *vq)
{
	return le16toh(vq->vq_avail->ring[vq->vq_qsize]);
}

/* avail_event follows the used ring (2.7.8). */
static void
vq_set_avail_event(struct vqueue_info *vq, uint16_t v)
{
	volatile uint16_t *p =
	    (volatile uint16_t *)&vq->vq_used->ring[vq->vq_qsize];

	*p = htole16(v);
}

/*
 * Chains waiting.  When there are none and EVENT_IDX is on, ask for a
 * notification at the very next one (avail_event = the next index we
 * take, 2.7.10) and look once more: the driver may have added a chain
 * after our first look but before it read avail_event.  The full
 * barrier orders our avail_event store before that second load, pairing
 * with the driver's barrier between its idx store and avail_event load.
 */
static uint16_t
vq_pending(struct vqueue_info *vq)
{
	uint16_t n = (uint16_t)(vq_avail_idx(vq) - vq->vq_last_avail);

	if (n != 0 || !vi_has(vq->vq_vs, VIRTIO_RING_F_EVENT_IDX))
		return n;
	vq_set_avail_event(vq, vq->vq_last_avail);
	atomic_thread_fence(memory_order_seq_cst);
	return (uint16_t)(vq_avail_idx(vq) - vq->vq_last_avail);
}

bool
vq_has_descs(struct vqueue_info *vq)
{
	return vq_ring_ready(vq) && vq_avail_idx(vq) != vq->vq_last_avail;
}

/* ---- The chain walker: the one place chains are read and checked ---- */

struct vq_walk {
	struct vqueue_info *vq;
	struct vmctx *ctx;
	struct iovec *iov;
	int niov;
	int n;			/* iov entries filled */
	uint32_t ndesc;		/* descriptors visited, for the budget */
	uint64_t total;		/* bytes in all buffers */
	uint64_t limit;
	struct vi_req *req;
};

/* One descriptor, copied out of guest memory once and made host-order. */
static void
vq_copy_desc(const void *table, uint32_t i, struct vring_desc *d)
{
	memcpy(d, (const uint8_t *)table + (size_t)i * sizeof(*d), sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* One buffer: in order, in bounds, in guest RAM. */
static int
vq_walk_buf(struct vq_walk *w, const struct vring_desc *d)
{
	struct vi_req *req = w->req;
	bool wr = (d->flags & VRING_DESC_F_WRITE) != 0;
	void *p;

	if (!wr && req->writable > 0)
		return vq_bad(w->vq, "chain %u: a device-readable buffer after "
		    "a device-writable one", req->idx);
	w->total += d->len;
	if (w->total > w->limit)
		return vq_bad(w->vq, "chain %u: more than %llu bytes",
		    req->idx, (unsigned long long)w->limit);
	if (w->n >= w->niov)
		return vq_bad(w->vq, "chain %u: more than %d buffers",
		    req->idx, w->niov);
	p = vm_map_gpa(w->ctx, d->addr, d->len);
	if (p == NULL)
		return vq_bad(w->vq, "chain %u: buffer 0x%llx+0x%x is not in "
		    "guest RAM", req->idx, (unsigned long long)d->addr, d->len);
	w->iov[w->n++] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	if (wr) {
		req->writable++;
		req->writable_len += d->len;
	} else {
		req->readable++;
		req->readable_len += d->len;
	}
	return 0;
}

static int
vq_check_indirect(struct vq_walk *w, const struct vring_desc *d)
{
	struct vqueue_info *vq = w->vq;
	uint32_t max = VQ_INDIRECT_MAX(vq->vq_qsize);

	if (!vi_has(vq->vq_vs, VIRTIO_RING_F_INDIRECT_DESC))
		return vq_bad(vq, "chain %u: indirect descriptor without "
		    "VIRTIO_F_INDIRECT_DESC", w->req->idx);
	if (d->flags & VRING_DESC_F_NEXT)
		return vq_bad(vq, "chain %u: INDIRECT and NEXT together",
		    w->req->idx);
	if (d->len == 0 || d->len % sizeof(struct vring_desc) != 0 ||
	    d->len / sizeof(struct vring_desc) > max)
		return vq_bad(vq, "chain %u: indirect table of %u bytes (a "
		    "multiple of 16, at most %u entries)", w->req->idx, d->len,
		    max);
	return 0;
}

/*
 * An indirect table (2.7.5.3): its chain starts at entry 0 and follows
 * NEXT within the table.  Visiting more entries than it has means a
 * loop.  The WRITE flag of the descriptor naming the table is ignored,
 * as 2.7.5.3.2 says.
 */
static int
vq_walk_indirect(struct vq_walk *w, const struct vring_desc *d)
{
	uint32_t n = d->len / sizeof(struct vring_desc), i = 0, seen = 0;
	struct vring_desc id;
	const void *table;
	int error;

	if ((error = vq_check_indirect(w, d)) != 0)
		return error;
	table = vm_map_gpa(w->ctx, d->addr, d->len);
	if (table == NULL)
		return vq_bad(w->vq, "chain %u: indirect table 0x%llx+0x%x is "
		    "not in guest RAM", w->req->idx,
		    (unsigned long long)d->addr, d->len);
	for (;;) {
		if (++seen > n)
			return vq_bad(w->vq, "chain %u: the indirect table "
			    "loops", w->req->idx);
		vq_copy_desc(table, i, &id);
		if (id.flags & VRING_DESC_F_INDIRECT)
			return vq_bad(w->vq, "chain %u: nested indirect table",
			    w->req->idx);
		if ((error = vq_walk_buf(w, &id)) != 0)
			return error;
		if (!(id.flags & VRING_DESC_F_NEXT))
			break;
		i = id.next;
		if (i >= n)
			return vq_bad(w->vq, "chain %u: indirect next %u of %u "
			    "entries", w->req->idx, i, n);
	}
	w->ndesc += seen;
	return 0;
}

/*
 * The chain from 'head': descriptors below the queue size, at most
 * queue-size of them (more means a loop, 2.7.5.3.1), the last one
 * possibly naming an indirect table (2.7.5.3.2).
 */
static int
vq_walk_chain(struct vq_walk *w, uint16_t head)
{
	struct vqueue_info *vq = w->vq;
	uint32_t qsize = vq->vq_qsize, i = head, seen = 0;
	struct vring_desc d;
	int error;

	if (head >= qsize)
		return vq_bad(vq, "available entry %u names descriptor %u of "
		    "%u", vq->vq_last_avail, head, qsize);
	for (;;) {
		if (++seen > qsize)
			return vq_bad(vq, "chain %u loops", head);
		vq_copy_desc(vq->vq_desc, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			error = vq_walk_indirect(w, &d);
			break;
		}
		if ((error = vq_walk_buf(w, &d)) != 0 ||
		    !(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= qsize)
			return vq_bad(vq, "chain %u: next %u of %u", head, i,
			    qsize);
	}
	w->ndesc += seen;
	return error;
}

/* Continue in a new round from the event loop, if there is one. */
static void
vq_kick_later(struct vqueue_info *vq)
{
	uint64_t one = 1;

	if (vq->vq_kickfd >= 0 &&
	    write(vq->vq_kickfd, &one, sizeof(one)) != sizeof(one)) {
		/* EAGAIN: the counter is already non-zero, a kick is due. */
	}
}

int
vq_getchain(struct vqueue_info *vq, struct iovec *iov, int niov,
    struct vi_req *req)
{
	uint32_t max = vq->vq_vs->vs_vc->vc_max_chain;
	struct vq_walk w = { .vq = vq, .ctx = vq->vq_vs->vs_pi->pi_vmctx,
		.iov = iov, .niov = niov, .req = req,
		.limit = max ? max : UINT32_MAX };
	uint16_t pending;
	int error;

	if (!vq_ring_ready(vq) || (pending = vq_pending(vq)) == 0)
		return 0;
	/* The driver cannot have more than the queue size outstanding. */
	if (pending > vq->vq_qsize)
		return vq_bad(vq, "available index moved by %u (queue size "
		    "%u)", pending, vq->vq_qsize);
	if (vq->vq_in_round && vq->vq_budget <= 0) {
		vq_kick_later(vq);
		return 0;
	}
	*req = (struct vi_req){ .idx = vq_avail_entry(vq, vq->vq_last_avail) };
	if ((error = vq_walk_chain(&w, req->idx)) != 0)
		return error;
	vq->vq_last_avail++;
	if (vq->vq_in_round)
		vq->vq_budget -= (int32_t)w.ndesc;
	return w.n;
}

void
vq_retchain(struct vqueue_info *vq)
{
	vq->vq_last_avail--;
}

void
vq_relchain_prepare(struct vqueue_info *vq, uint16_t idx, uint32_t iolen)
{
	volatile struct vring_used_elem *e;

	/* A chain taken before a reset is not returned after it. */
	if (!vq->vq_enabled || idx >= vq->vq_qsize)
		return;
	e = &vq->vq_used->ring[vq->vq_next_used & (vq->vq_qsize - 1)];
	e->id = htole32(idx);
	e->len = htole32(iolen);
	vq->vq_next_used++;
}

void
vq_relchain_publish(struct vqueue_info *vq)
{
	if (!vq->vq_enabled)
		return;
	/*
	 * Release: the elements, and what the device wrote into the
	 * buffers, are visible before the index that publishes them
	 * (2.7.8.2).
	 */
	__atomic_store_n(&vq->vq_used->idx, htole16(vq->vq_next_used),
	    __ATOMIC_RELEASE);
}

void
vq_relchain(struct vqueue_info *vq, uint16_t idx, uint32_t iolen)
{
	vq_relchain_prepare(vq, idx, iolen);
	vq_relchain_publish(vq);
}

/*
 * Interrupt suppression (2.7.7, 2.7.10): with EVENT_IDX, interrupt when
 * the used index went past used_event since the last time we decided;
 * without it, unless the driver set VRING_AVAIL_F_NO_INTERRUPT.
 */
void
vq_endchains(struct vqueue_info *vq)
{
	struct virtio_softc *vs = vq->vq_vs;
	uint16_t old = vq->vq_save_used, new_idx = vq->vq_next_used;
	bool intr;

	if (!vq->vq_enabled || old == new_idx)
		return;
	vq->vq_save_used = new_idx;
	/*
	 * Full barrier: our used->idx store must be visible before we read
	 * the driver's used_event/flags, or the driver, doing the mirror
	 * image, and we could each miss the other's update.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (vi_has(vs, VIRTIO_RING_F_EVENT_IDX))
		intr = vring_need_event(vq_used_event(vq), new_idx, old);
	else
		intr = !(le16toh(vq->vq_avail->flags) &
		    VRING_AVAIL_F_NO_INTERRUPT);
	if (intr)
		vs->vs_tr->vt_notify(vs, vq);
}

/* ---- Notifications ---- */

static int32_t
vq_round_budget(struct vqueue_info *vq)
{
	uint32_t b = vq->vq_vs->vs_vc->vc_round_budget;

	return b ? (int32_t)(b > INT32_MAX ? INT32_MAX : b) :
	    4 * (int32_t)vq->vq_qsize;
}

/*
 * A round: the queue's handler, with a budget of descriptors that
 * vq_getchain() spends (chains a device takes outside a round, on its own
 * threads, are not counted).
 */
void
vi_queue_notify(struct virtio_softc *vs, unsigned qidx)
{
	struct vqueue_info *vq;
	vq_notify_t *fn;

	if (qidx >= (unsigned)vs->vs_vc->vc_nvq)
		return;
	vq = &vs->vs_queues[qidx];
	fn = vq->vq_notify ? vq->vq_notify : vs->vs_vc->vc_qnotify;
	if (fn == NULL || !vq_ring_ready(vq) || vq->vq_in_round)
		return;
	vq->vq_budget = vq_round_budget(vq);
	vq->vq_in_round = true;
	fn(vs->vs_dev, vq);
	vq->vq_in_round = false;
}

/*
 * The event loop's side of vq_kickfd: a doorbell the backend caught (an
 * ioeventfd, virtio_pci.c) or a round that ran out of budget.  Either
 * way it is the round a vCPU's notification runs: same lock, same
 * budget, same interrupts.  Several signals before this read are one.
 */
static void
vq_kick_event(int fd, enum mevent_type type, void *arg)
{
	struct vqueue_info *vq = arg;
	struct virtio_softc *vs = vq->vq_vs;
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	vi_lock(vs);
	vi_queue_notify(vs, vq->vq_num);
	vi_unlock(vs);
}

int
vi_queues_init(struct virtio_softc *vs)
{
	struct mevent_ctx *mev = vs->vs_pi->pi_bvm->mev;
	int error = 0;

	for (int i = 0; mev && i < vs->vs_vc->vc_nvq && error == 0; i++) {
		struct vqueue_info *vq = &vs->vs_queues[i];

		vq->vq_kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vq->vq_kickfd < 0) {
			error = -errno;
			break;
		}
		vq->vq_kickev = mevent_add(mev, vq->vq_kickfd, EVF_READ,
		    vq_kick_event, vq);
		if (vq->vq_kickev == NULL)
			error = -ENOMEM;
	}
	if (error)
		vi_queues_destroy(vs);
	return error;
}

void
vi_queues_destroy(struct virtio_softc *vs)
{
	for (int i = 0; i < vs->vs_vc->vc_nvq; i++) {
		struct vqueue_info *vq = &vs->vs_queues[i];

		if (vq->vq_kickev != NULL)
			(void)mevent_delete_close(vq->vq_kickev);
		else if (vq->vq_kickfd >= 0)
			close(vq->vq_kickfd);
		vq->vq_kickev = NULL;
		vq->vq_kickfd = -1;
	}
}
