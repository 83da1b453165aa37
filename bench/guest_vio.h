/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small virtio driver for the benchmark guests (bench/guest_vblk.c,
 * bench/guest_vnet.c), on the test-guest kit: the modern virtio-pci
 * transport (virtio spec v1.2, 4.1) found through configuration
 * mechanism #1, split virtqueues with rings in the guest image, MSI-X
 * vectors that reach a minimal interrupt stub, and the TSC calibrated in
 * the guest (as bench/guest_latency.c does).
 *
 * Everything here is written for the test machines, where ring-0 guest
 * code is emulated at about 1 us per instruction: the hot paths (post,
 * reap, wait) are a handful of instructions, and the interrupt stubs
 * bypass the kit's common path (which would add a hundred per
 * interrupt).  The stubs count deliveries, EOI the xAPIC (the benchmark
 * guests stay in xAPIC mode) and return.
 *
 * Meant to move to tests/guests/lib/virtio.[ch] once more guests use it
 * (tests/guests/virtio_blk.c and virtio_net.c carry private copies of the
 * probing half).
 */
#ifndef BENCH_GUEST_VIO_H
#define BENCH_GUEST_VIO_H

#include "guest.h"
#include "virtio_pci.h"

#define VIO_VENDOR		0x1af4
#define VIO_QSZ			128	/* ring entries (a power of 2) */
#define VIO_NO_VECTOR		0xffff

/* Vectors: one per queue from VIO_VEC_QUEUE, the watchdog tick. */
#define VIO_VEC_QUEUE		0x50
#define VIO_VEC_TICK		0x5f
#define VIO_MAX_QUEUES		2

/* Device status (2.1) and split-ring flags (2.7). */
#define VIO_S_ACK		0x01
#define VIO_S_DRIVER		0x02
#define VIO_S_DRIVER_OK		0x04
#define VIO_S_FEATURES_OK	0x08
#define VIO_DESC_F_NEXT		0x1
#define VIO_DESC_F_WRITE	0x2
#define VIO_USED_F_NO_NOTIFY	0x1
#define VIO_F_VERSION_1		(1ULL << 32)

struct vio_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vio_ring {
	struct vio_desc desc[VIO_QSZ] __attribute__((aligned(16)));
	volatile struct {
		uint16_t flags, idx, ring[VIO_QSZ], used_event;
	} avail __attribute__((aligned(4)));
	volatile struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[VIO_QSZ];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
	/* The driver's side. */
	uint16_t size;		/* as set up, at most VIO_QSZ */
	uint16_t next_avail;	/* avail.idx as the driver will publish */
	uint16_t seen;		/* used entries taken */
	uint64_t notify;	/* this queue's notify address */
	uint64_t kicks;		/* notifications written */
};

struct vio_dev {
	struct vpci v;
	uint64_t msix_table;	/* 0: no MSI-X capability */
	int msix_cap;
	uint16_t msix_count;
};

/* Deliveries to each stub: queue q's vector, the watchdog tick. */
extern volatile uint64_t vio_irqs[VIO_MAX_QUEUES];
extern volatile uint64_t vio_ticks;

/* ---- PCI and the transport ---- */

/* vpci_probe() (ISR and device config required), then the MSI-X capability. */
bool vio_probe(struct vio_dev *d, int slot);
/* Reset, then 3.1.1 up to FEATURES_OK with exactly 'want'. */
bool vio_negotiate(struct vio_dev *d, uint64_t want);
/*
 * MSI-X on with 'nvec' table entries unmasked, entry i to vector
 * VIO_VEC_QUEUE + i on this CPU; config changes get no vector.
 */
bool vio_msix_setup(struct vio_dev *d, int nvec);
/* Queue q of 'size' entries on ring r, MSI-X entry q (read back). */
bool vio_queue_setup(struct vio_dev *d, struct vio_ring *r, uint16_t q,
    uint16_t size);
bool vio_driver_ok(struct vio_dev *d);
void vio_reset(struct vio_dev *d);
uint16_t vio_devcfg_read16(const struct vio_dev *d, uint32_t off);
uint32_t vio_devcfg_read32(const struct vio_dev *d, uint32_t off);

/* ---- Interrupts and waiting ---- */

/* The stubs in the IDT; the LAPIC software-enabled. */
void vio_irq_init(const char *args);
/*
 * A periodic LAPIC tick every 'ms' (at the kit's lapic_timer_hz, which
 * 'lapichz=' sets): it only wakes HLT, so that a wait can check its
 * deadline when the device has gone quiet.  0 stops it.
 */
void vio_watchdog(uint32_t ms);

/* ---- Rings (hot paths: inline, a few instructions each) ---- */

/* Make the chain at head 'head' available (not yet published). */
static inline void
vio_ring_add(struct vio_ring *r, uint16_t head)
{
	r->avail.ring[r->next_avail & (r->size - 1)] = head;
	r->next_avail++;
}

/* Publish what was added and notify unless the device said not to. */
static inline void
vio_ring_kick(struct vio_ring *r, uint16_t qidx)
{
	__asm__ volatile("" ::: "memory");	/* entries before idx (x86) */
	r->avail.idx = r->next_avail;
	__sync_synchronize();	/* idx before reading used.flags (2.7.13) */
	if (!(r->used.flags & VIO_USED_F_NO_NOTIFY)) {
		mmio_write16(r->notify, qidx);
		r->kicks++;
	}
}

/* A used entry not yet taken? */
static inline bool
vio_ring_pending(const struct vio_ring *r)
{
	return r->used.idx != r->seen;
}

/* Take the next used entry: its id; *len the bytes written. */
static inline uint32_t
vio_ring_take(struct vio_ring *r, uint32_t *len)
{
	uint16_t i = r->seen++ & (r->size - 1);

	__asm__ volatile("" ::: "memory");	/* entry after idx (x86) */
	*len = r->used.ring[i].len;
	return r->used.ring[i].id;
}

/* One HLT with interrupts open: returns after the next interrupt. */
static inline void
vio_halt(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* ---- Clocks and figures ---- */

struct vio_clock {
	uint64_t tsc_hz;
	const char *source;
	uint64_t hpet_hz;	/* 0: no HPET to cross-check with */
};

/* A point in time on both clocks. */
struct vio_stamp {
	uint64_t tsc;
	uint64_t hpet;
};

/* The TSC rate: CPUID 0x15/0x16, else the HPET, else the PM timer. */
void vio_tsc_calibrate(struct vio_clock *c, const char *args);
uint64_t vio_ticks_to_us(const struct vio_clock *c, uint64_t ticks);
/* Both clocks now (the HPET read is an exit: once per run, not more). */
void vio_stamp(const struct vio_clock *c, struct vio_stamp *s);
/* From a to b in us by the TSC; *hpet_us by the HPET (0: none). */
uint64_t vio_elapsed_us(const struct vio_clock *c, const struct vio_stamp *a,
    const struct vio_stamp *b, uint64_t *hpet_us);
/* v * 1000 / d, for figures printed with three decimals. */
uint64_t vio_milli(uint64_t v, uint64_t d);
/* Prints m (thousandths) as N.NNN into a small static buffer (4 slots). */
const char *vio_fmt_milli(uint64_t m);
/* A cmdline number clamped to [lo, hi], else def. */
uint64_t vio_arg(const char *args, const char *key, uint64_t def,
    uint64_t lo, uint64_t hi);

#endif /* BENCH_GUEST_VIO_H */
