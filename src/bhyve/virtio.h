/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio device core (bhyve's virtio.[ch]) and the entry points of
 * its PCI transport (virtio_pci.c): virtio 1.x over PCI with the
 * transitional legacy interface in I/O BAR 0, split virtqueues with
 * indirect descriptors and VIRTIO_F_EVENT_IDX (virtio spec v1.2: 2.7,
 * 4.1).  A device emulation (pci_virtio_rnd.c, pci_virtio_blk.c, ...)
 * supplies a struct virtio_consts and a queue handler; the core does the
 * rest: feature negotiation, status and reset, ring setup, the checked
 * walk of every descriptor chain, the used ring, interrupt suppression
 * and delivery.
 *
 * The consumer API (bhyve's shape).  A queue handler asks for chains,
 * works on each, returns it, and signals once for the batch:
 *
 *	static void
 *	vtfoo_notify(void *dev, struct vqueue_info *vq)
 *	{
 *		struct vtfoo_softc *sc = dev;
 *		struct iovec iov[VTFOO_MAXSEGS];
 *		struct vi_req req;
 *
 *		while (vq_getchain(vq, iov, VTFOO_MAXSEGS, &req) > 0) {
 *			// iov[0 .. req.readable) are device-readable,
 *			// iov[req.readable .. +req.writable) device-writable.
 *			uint32_t written = vtfoo_do(sc, iov, &req);
 *			vq_relchain(vq, req.idx, written);
 *		}
 *		vq_endchains(vq);	// one interrupt, if the guest wants it
 *	}
 *
 *	static const struct virtio_consts vtfoo_vi_consts = {
 *		.vc_name = "virtio-foo", .vc_devtype = VIRTIO_ID_FOO,
 *		.vc_class = 0xff0000, .vc_nvq = 1,
 *		.vc_cfgsize = sizeof(struct vtfoo_config),
 *		.vc_qnotify = vtfoo_notify, .vc_cfgread = vtfoo_cfgread,
 *	};
 *
 *	// pe_init: sc->vq.vq_qsize_max = 128;
 *	//	vi_softc_linkup(&sc->vs, &vtfoo_vi_consts, sc, pi, &sc->vq);
 *	//	if (vi_pci_init(&sc->vs, nvl) != 0) ...
 *	// pe_destroy: vi_pci_destroy(&sc->vs); free(sc);
 *	const struct pci_devemu pci_de_virtio_foo = { .pe_emu = "virtio-foo",
 *		.pe_init = vtfoo_init, .pe_destroy = vtfoo_destroy,
 *		VIRTIO_PCI_DEVEMU_OPS };
 *
 * Every chain is checked once, in vq_getchain(), before the device sees
 * it: the available index may move by at most the queue size; every
 * descriptor index is below the queue size; a direct chain visits at
 * most queue-size descriptors and an indirect table at most as many as
 * it holds (more means a loop); an indirect table needs the feature, a
 * length that is a non-zero multiple of 16 and at most VQ_INDIRECT_MAX
 * entries, no NEXT flag beside INDIRECT and no INDIRECT inside it; the
 * total length stays below 4 GiB and the device's vc_max_chain; every
 * buffer (zero-length ones too) lies in guest RAM in one piece, never
 * across the PCI hole; and device-readable buffers come before
 * device-writable ones (2.7.4.2 makes that a driver MUST; bhyve lets it
 * pass, here it is an error, so that the readable/writable split the
 * device gets is always the chain's real order).  A chain that fails any
 * check puts the device in DEVICE_NEEDS_RESET (status bit 0x40, with a
 * configuration-change interrupt once DRIVER_OK is set, 2.1.2); the
 * queues then stop until the driver resets the device.  Descriptors are
 * copied out of guest memory once and checked on the copy, so a guest
 * rewriting them concurrently cannot get past a check.
 *
 * Bounded work.  Each notification starts a round in which vq_getchain()
 * hands out chains until the queue's budget of descriptors walked
 * (vc_round_budget, default 4 x queue size) is spent; what is left is
 * picked up by a new round that the queue's kick eventfd schedules on the
 * event loop, so a guest that keeps refilling a ring cannot keep a vCPU
 * thread (or the lock) forever, and nothing it posted is left behind.
 * Chains a device takes outside a round, on its own threads, are not
 * counted: those threads are the device's to bound.  (Without an event
 * loop, as in some unit tests, the rest waits for the next notification.)
 *
 * Threads and locking.  Each device has one lock, vs_mtx, which is the
 * PCI function's pi_lock (recursive): the framework already holds it
 * around config-space hooks and takes it to raise MSI/MSI-X/INTx, so
 * making it the device lock too leaves no lock-order question between
 * the VIRTIO_PCI_CAP_PCI_CFG window (a config access that becomes a BAR
 * access) and a device raising an interrupt.  The transport takes it
 * around every register access, and calls the device's callbacks
 * (vc_qnotify, vc_reset, vc_cfgread/write, vc_apply_features) with it
 * held.  All vq_*() and vi_*() calls need it held.  A device that works
 * on another thread (blk's workers, net's receive path on the event
 * loop) takes it with vi_lock()/vi_unlock() around vq_getchain(),
 * vq_relchain() and vq_endchains(), and does the slow part (the I/O on
 * the iovecs, which point into guest RAM and stay valid) unlocked.  It
 * must not wait on a condition variable with vs_mtx held (it is
 * recursive).  Lock order: vs_mtx before a device's own locks, so a
 * worker never calls vi_lock() while holding a lock its queue handler
 * takes.  vc_reset runs under the lock and must make sure that no
 * request taken before the reset is returned after it (cancel and wait,
 * or compare a generation): vq_relchain() on a queue the reset disabled
 * is dropped, but one re-enabled meanwhile would take a stale entry.
 *
 * Notifications.  The modern transport gives each queue its own notify
 * address (notify_off_multiplier 4, queue_notify_off = queue index); the
 * legacy one has QUEUE_NOTIFY.  Both end in vi_queue_notify(), which needs
 * no vCPU: a queue's handler runs wherever the notification is taken.
 * Each queue also owns an eventfd watched by the event loop (vq_kickfd),
 * written by the core to continue a round that ran out of budget, and by
 * the backend for a doorbell it caught: while a queue is enabled its two
 * doorbells are ioeventfds on vq_kickfd (vm_ioeventfd(): KVM_IOEVENTFD),
 * the modern notify address (BAR 4 + VI_PCI_NOTIFY_OFF + 4 * queue, 16
 * bits, any value) and the legacy QUEUE_NOTIFY port (16 bits, value =
 * the queue index), so a notification costs the vCPU no exit and its
 * round runs on the event loop thread, with the same lock, budget and
 * interrupts as on a vCPU thread.  The transport drops them when the
 * queue is disabled or reset, when a BAR moves or stops decoding
 * (pe_baraddr) and at teardown.  Writes of other widths or values exit
 * and are served as before, as is every write where the backend has no
 * ioeventfds (vtx, null) or the root key virtio.ioeventfd or the
 * function's key ioeventfd is false.  Devices do not change.
 */
#ifndef VIRTIO_H
#define VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pci_emul.h"

#define VIRTIO_CHECK __attribute__((warn_unused_result))

/* Device types (5). */
#define VIRTIO_ID_NETWORK 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_ENTROPY 4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_SCSI 8
#define VIRTIO_ID_9P 9
#define VIRTIO_ID_INPUT 18

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_PCI_MODERN_DEVICE_BASE 0x1040 /* + device type */

/* Device status (2.1). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE 0x01
#define VIRTIO_CONFIG_S_DRIVER 0x02
#define VIRTIO_CONFIG_S_DRIVER_OK 0x04
#define VIRTIO_CONFIG_S_FEATURES_OK 0x08
#define VIRTIO_CONFIG_S_NEEDS_RESET 0x40
#define VIRTIO_CONFIG_S_FAILED 0x80

/* Reserved feature bits the core implements (6). */
#define VIRTIO_RING_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_RING_F_EVENT_IDX (1ULL << 29)
#define VIRTIO_F_VERSION_1 (1ULL << 32)
/* Offered on every device, besides its vc_hv_caps. */
#define VIRTIO_CORE_CAPS (VIRTIO_RING_F_INDIRECT_DESC | \
	VIRTIO_RING_F_EVENT_IDX | VIRTIO_F_VERSION_1)

/* Split virtqueues (2.7), little-endian in guest memory. */
#define VRING_DESC_F_NEXT 0x1
#define VRING_DESC_F_WRITE 0x2
#define VRING_DESC_F_INDIRECT 0x4
#define VRING_AVAIL_F_NO_INTERRUPT 0x1
#define VRING_USED_F_NO_NOTIFY 0x1
#define VQ_MAX_SIZE 32768	/* 2.7: the largest queue size */
/*
 * Entries an indirect table may hold.  The spec bounds a chain by the
 * queue size (2.7.5.3.1), but Linux builds tables longer than a small
 * queue when its scatterlist is; this much is accepted on any queue.
 */
#define VQ_INDIRECT_MIN_MAX 128
#define VQ_INDIRECT_MAX(qsize) \
	((qsize) > VQ_INDIRECT_MIN_MAX ? (qsize) : VQ_INDIRECT_MIN_MAX)
#define VQ_ALIGN_DESC 16
#define VQ_ALIGN_AVAIL 2
#define VQ_ALIGN_USED 4
#define VQ_LEGACY_ALIGN 4096	/* 4.1.4.8: the legacy ring layout */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];	/* then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];	/* then avail_event */
};

_Static_assert(sizeof(struct vring_desc) == 16, "a descriptor is 16 bytes");
_Static_assert(sizeof(struct vring_used_elem) == 8, "a used element is 8");

/* Ring sizes in bytes, event fields included (2.7, the table). */
#define VQ_DESC_BYTES(n) (16ULL * (n))
#define VQ_AVAIL_BYTES(n) (6ULL + 2ULL * (n))
#define VQ_USED_BYTES(n) (6ULL + 8ULL * (n))

/*
 * 2.7.7.2 / 2.7.10: with EVENT_IDX, notify when the index moved from
 * 'old' to 'new_idx' past 'event'.  All in 16-bit arithmetic, so it holds
 * across the wrap at 65536.
 */
static inline bool
vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* MSI-X (4.1.4.3, 4.1.5.1.2). */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* ISR status bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE 0x1
#define VIRTIO_ISR_CONFIG 0x2

struct virtio_softc;
struct vqueue_info;

/* What vq_getchain() says about the chain it returned. */
struct vi_req {
	uint16_t idx;		/* the head, for vq_relchain() */
	int readable;		/* iov entries the device reads, first */
	int writable;		/* then the ones it writes */
	uint32_t readable_len;	/* their total lengths */
	uint32_t writable_len;
};

typedef void vq_notify_t(void *dev, struct vqueue_info *vq);

/*
 * One virtqueue.  The device sets vq_qsize_max (a power of 2, at most
 * VQ_MAX_SIZE) and, optionally, vq_notify before vi_pci_init(); the rest
 * is the core's.
 */
struct vqueue_info {
	uint16_t vq_qsize_max;	/* what the device supports */
	vq_notify_t *vq_notify;	/* NULL: vc_qnotify */

	/* Core-private from here on. */
	struct virtio_softc *vq_vs;
	uint16_t vq_num;	/* index in the device */
	uint16_t vq_qsize;	/* as the driver set it */
	bool vq_enabled;	/* rings mapped and checked */
	uint16_t vq_msix_idx;
	uint64_t vq_desc_gpa, vq_avail_gpa, vq_used_gpa;
	const struct vring_desc *vq_desc;
	volatile struct vring_avail *vq_avail;
	volatile struct vring_used *vq_used;
	uint16_t vq_last_avail;	/* next avail entry to take */
	uint16_t vq_next_used;	/* next used entry to fill */
	uint16_t vq_save_used;	/* used index at the last vq_endchains() */
	int32_t vq_budget;	/* descriptors left in this round */
	bool vq_in_round;	/* the handler runs for a notification */
	int vq_kickfd;		/* eventfd: run another round; -1 if none */
	struct mevent *vq_kickev;
	uint8_t vq_ioev;	/* doorbells armed on vq_kickfd (virtio_pci.c) */
};

struct virtio_consts {
	const char *vc_name;	/* "virtio-rnd" */
	uint16_t vc_devtype;	/* VIRTIO_ID_* */
	uint32_t vc_class;	/* PCI class code: class, subclass, progif */
	int vc_nvq;		/* queues, in the array given to linkup */
	size_t vc_cfgsize;	/* device configuration bytes */
	uint64_t vc_hv_caps;	/* device features offered (VIRTIO_CORE_CAPS
				   are added) */
	uint32_t vc_max_chain;	/* bytes in one chain; 0: below 4 GiB */
	uint32_t vc_round_budget; /* descriptors per round; 0: 4 x qsize */
	void (*vc_reset)(void *dev);
	vq_notify_t *vc_qnotify;
	/* Device config reads and writes, bytes 1/2/4 within vc_cfgsize. */
	int (*vc_cfgread)(void *dev, int offset, int size, uint32_t *val);
	int (*vc_cfgwrite)(void *dev, int offset, int size, uint32_t val);
	/* The features agreed on; non-zero refuses them (no FEATURES_OK). */
	int (*vc_apply_features)(void *dev, uint64_t negotiated);
};

/* How the core reaches its transport (the PCI one is virtio_pci.c). */
struct virtio_transport {
	/* A used-buffer notification for vq, or with vq NULL a config one. */
	void (*vt_notify)(struct virtio_softc *vs, struct vqueue_info *vq);
	/* The device was reset: drop interrupt state. */
	void (*vt_reset)(struct virtio_softc *vs);
	/* vq was enabled, or is about to be disabled (reset included). */
	void (*vt_queue_state)(struct virtio_softc *vs, struct vqueue_info *vq,
	    bool enabled);
};

#define VI_ERRLEN 160

/* The PCI transport's two kinds of doorbell (vs_bell_*, vq_ioev bits). */
enum vi_pci_bell { VI_BELL_MODERN, VI_BELL_LEGACY, VI_NBELLS };

struct virtio_softc {
	const struct virtio_consts *vs_vc;
	void *vs_dev;		/* the device's softc, for its callbacks */
	pthread_mutex_t *vs_mtx;	/* the function's pi_lock */
	struct pci_devinst *vs_pi;
	struct vqueue_info *vs_queues;
	const struct virtio_transport *vs_tr;
	uint64_t vs_hv_caps;	/* offered: vc_hv_caps | VIRTIO_CORE_CAPS */
	uint64_t vs_driver_caps; /* what the driver wrote (modern) */
	uint64_t vs_negotiated_caps;
	uint32_t vs_dfselect, vs_gfselect;
	uint16_t vs_curq;
	uint8_t vs_status;
	uint8_t vs_isr;
	uint16_t vs_msix_cfg_idx;
	uint8_t vs_cfggen;	/* config_generation */
	bool vs_cfgdirty;	/* config changed since the driver read it */
	/* PCI transport state (virtio_pci.c). */
	int vs_legacy_bar;	/* -1: modern only */
	int vs_modern_bar;
	int vs_cfgcap;		/* VIRTIO_PCI_CAP_PCI_CFG offset */
	bool vs_msix;		/* MSI-X, else MSI (virtio_msix=false) */
	/*
	 * Doorbells as ioeventfds: wanted (the keys) and not refused by the
	 * backend yet; and where each kind is decoded now (pe_baraddr), the
	 * modern notify area and the legacy QUEUE_NOTIFY port.
	 */
	bool vs_ioeventfd;
	bool vs_ioev_warned;
	bool vs_bell_on[VI_NBELLS];
	uint64_t vs_bell_addr[VI_NBELLS];
	/* Errors: the last reason for NEEDS_RESET, and how many. */
	char vs_err[VI_ERRLEN];
	unsigned vs_nerr;
};

/* ---- Set-up (device init) ---- */

/*
 * Join a device to the core: 'dev' is passed to its callbacks, 'queues'
 * holds vc->vc_nvq queues with vq_qsize_max set.  pi->pi_arg becomes
 * 'vs' (the transport's hooks find the device through it).
 */
void vi_softc_linkup(struct virtio_softc *vs, const struct virtio_consts *vc,
    void *dev, struct pci_devinst *pi, struct vqueue_info *queues);

/*
 * The PCI transport: IDs, BAR 0 (legacy I/O, unless the function's key
 * "legacy" is false: then a modern-only device, PCI ID 0x1040 + type),
 * MSI-X in BAR 1 with a vector per queue and one for config changes (or
 * one MSI message when the root key virtio_msix, alias virtio.msix, is
 * false: bhyve's -W), the modern registers in 64-bit memory BAR 4, the
 * virtio capabilities, INTx.  Doorbells become ioeventfds where the
 * backend has them, unless the function's key "ioeventfd" (default: the
 * root key virtio.ioeventfd, default true) is false.  Errors: -1 with
 * pci_emul_error() said.
 */
int vi_pci_init(struct virtio_softc *vs, struct config_node *nvl)
    VIRTIO_CHECK;
void vi_pci_destroy(struct virtio_softc *vs);

/* The transport's pci_devemu hooks, for a device's pci_devemu. */
void vi_pci_write(struct pci_devinst *pi, int baridx, uint64_t offset,
    int size, uint64_t value);
uint64_t vi_pci_read(struct pci_devinst *pi, int baridx, uint64_t offset,
    int size);
int vi_pci_cfgwrite(struct pci_devinst *pi, int offset, int bytes,
    uint32_t val);
int vi_pci_cfgread(struct pci_devinst *pi, int offset, int bytes,
    uint32_t *val);
void vi_pci_baraddr(struct pci_devinst *pi, int baridx, bool enabled,
    uint64_t addr);
#define VIRTIO_PCI_DEVEMU_OPS						\
	.pe_barwrite = vi_pci_write, .pe_barread = vi_pci_read,		\
	.pe_cfgwrite = vi_pci_cfgwrite, .pe_cfgread = vi_pci_cfgread,	\
	.pe_baraddr = vi_pci_baraddr

/* Where the modern structures sit in the modern BAR (4 KiB each). */
#define VI_PCI_COMMON_OFF 0x0000
#define VI_PCI_ISR_OFF 0x1000
#define VI_PCI_DEVCFG_OFF 0x2000
#define VI_PCI_NOTIFY_OFF 0x3000
#define VI_PCI_NOTIFY_MULT 4
#define VI_PCI_MODERN_BAR_SIZE 0x4000
#define VI_PCI_MODERN_BAR 4
#define VI_PCI_MSIX_BAR 1

/* ---- Running (all with vs_mtx held) ---- */

void vi_lock(struct virtio_softc *vs);
void vi_unlock(struct virtio_softc *vs);

/*
 * The next chain: fills iov (at most niov entries; a chain with more
 * buffers is an error) and *req.  Returns the number of iov entries
 * (at least 1), 0 when there is nothing to take (or the queue is not
 * running, or this round's budget is spent), or a negative errno when
 * the chain is bad: the device is then in NEEDS_RESET and the chain is
 * not the device's to return.
 */
int vq_getchain(struct vqueue_info *vq, struct iovec *iov, int niov,
    struct vi_req *req);
/* Give back the chain just taken, unprocessed (no used entry). */
void vq_retchain(struct vqueue_info *vq);
/* Return a chain: 'iolen' bytes were written to its writable buffers. */
void vq_relchain(struct vqueue_info *vq, uint16_t idx, uint32_t iolen);
/*
 * vq_relchain() in two halves, for chains that must reach the driver
 * together (the buffers of one mergeable frame, 5.1.6.4): fill used
 * entries with prepare, then make them all visible with one publish.
 */
void vq_relchain_prepare(struct vqueue_info *vq, uint16_t idx,
    uint32_t iolen);
void vq_relchain_publish(struct vqueue_info *vq);
/* After a batch of vq_relchain(): interrupt if the driver wants one. */
void vq_endchains(struct vqueue_info *vq);
/* The queue is running and has chains waiting. */
bool vq_has_descs(struct vqueue_info *vq);
/* The queue is enabled and the device may take chains from it. */
bool vq_ring_ready(struct vqueue_info *vq);

/*
 * The device's configuration changed: config_generation moves (at the
 * next config read, 4.1.4.3.1) and the driver gets a config interrupt.
 */
void vi_config_changed(struct virtio_softc *vs);
/* A device-detected error: NEEDS_RESET, as a bad chain does. */
void vi_set_needs_reset(struct virtio_softc *vs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- For transports ---- */

void vi_reset(struct virtio_softc *vs);
void vi_set_status(struct virtio_softc *vs, uint8_t status);
uint32_t vi_get_dev_features(struct virtio_softc *vs, uint32_t select);
uint32_t vi_get_drv_features(struct virtio_softc *vs, uint32_t select);
void vi_set_drv_features(struct virtio_softc *vs, uint32_t select,
    uint32_t val);
/* The legacy interface: features 0-31 accepted as written. */
void vi_set_legacy_features(struct virtio_softc *vs, uint32_t val);
/* The queue vs_curq selects, or NULL. */
struct vqueue_info *vi_cur_queue(struct virtio_softc *vs);
/* Map and check the rings; a bad ring sets NEEDS_RESET.  0 or -EINVAL. */
int vq_enable(struct vqueue_info *vq);
void vq_disable(struct vqueue_info *vq);
/* A driver notification for queue 'qidx' (out of range: ignored). */
void vi_queue_notify(struct virtio_softc *vs, unsigned qidx);
/* Device config space accesses, with config_generation bookkeeping. */
uint32_t vi_devcfg_read(struct virtio_softc *vs, uint64_t off, int size);
void vi_devcfg_write(struct virtio_softc *vs, uint64_t off, int size,
    uint32_t val);
/* Kick eventfds on the event loop (bvm->mev; none without one). */
int vi_queues_init(struct virtio_softc *vs) VIRTIO_CHECK;
void vi_queues_destroy(struct virtio_softc *vs);

/* The emulations. */
extern const struct pci_devemu pci_de_virtio_rnd;

#endif /* VIRTIO_H */
