/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's HPET (bhyve's vhpet): one timer block at 0xfed00000 with a
 * 64-bit main counter and three 64-bit comparators, after the IA-PC HPET
 * specification 1.0a.  The counter is computed from the timebase when
 * read; comparator matches fire through one callout per timer.
 *
 * Where this differs from bhyve's vhpet (which has a 32-bit counter, eight
 * 32-bit timers, no legacy replacement and a 2^24 Hz clock):
 *   - the counter ticks every 60 ns (16.67 MHz).  The period register is
 *     in femtoseconds; 60 ns is exact there and whole in nanoseconds, so
 *     what the guest computes from the period is exactly how the counter
 *     runs (bhyve's 2^24 Hz reads back as 59604644 fs, 13 ppb off).
 *   - LEG_RT_CAP: legacy replacement sends timer 0 to ISA IRQ 0 and timer
 *     1 to ISA IRQ 8 (General Configuration, LEG_RT_CNF), through the
 *     'isa' sink.
 *     The 8254 and RTC interrupts should then be blocked; the vmm can ask
 *     vhpet_legacy_replacement().
 *
 * Interrupts: a timer routed to the I/O APIC drives 'pin' sink input
 * INT_ROUTE_CNF: an I/O APIC pin number, not an ISA IRQ.  Edge timers
 * pulse; level timers set their status bit and hold the line until the
 * guest writes 1 to the bit.  A timer with FSB_EN_CNF sends 'msi' with
 * the address/value pair of its FSB route register.  All three outputs
 * are called with the vhpet lock held (keeping a level line's asserts and
 * deasserts in order): they must not call back into this vhpet.
 */
#ifndef VHPET_H
#define VHPET_H

#include <stdbool.h>
#include <stddef.h> /* vmm_isa.h uses NULL */
#include <stdint.h>

#include "vmm_isa.h"
#include "vmm_time.h"

#define VHPET_BASE 0xfed00000ULL
#define VHPET_MMIO_SIZE 0x400
#define VHPET_NUM_TIMERS 3
#define VHPET_TICK_NS 60ULL
#define VHPET_PERIOD_FS (VHPET_TICK_NS * 1000000ULL)

/* Register offsets and their fields. */
#define VHPET_CAP 0x000
#define VHPET_CONFIG 0x010
#define VHPET_ISR 0x020
#define VHPET_COUNTER 0x0f0
#define VHPET_TIMER_CONFIG(n) (0x100 + 0x20 * (n))
#define VHPET_TIMER_CMP(n) (0x108 + 0x20 * (n))
#define VHPET_TIMER_FSB(n) (0x110 + 0x20 * (n))

#define VHPET_CAP_COUNT_SIZE (1ULL << 13)
#define VHPET_CAP_LEG_RT (1ULL << 15)

#define VHPET_CNF_ENABLE (1ULL << 0)
#define VHPET_CNF_LEG_RT (1ULL << 1)

#define VHPET_TCNF_INT_TYPE (1ULL << 1) /* 1: level */
#define VHPET_TCNF_INT_ENB (1ULL << 2)
#define VHPET_TCNF_TYPE (1ULL << 3)	/* 1: periodic */
#define VHPET_TCAP_PER_INT (1ULL << 4)
#define VHPET_TCAP_SIZE (1ULL << 5)	/* 1: 64-bit */
#define VHPET_TCNF_VAL_SET (1ULL << 6)
#define VHPET_TCNF_32MODE (1ULL << 8)
#define VHPET_TCNF_INT_ROUTE (0x1fULL << 9)
#define VHPET_TCNF_INT_ROUTE_SHIFT 9
#define VHPET_TCNF_FSB_EN (1ULL << 14)
#define VHPET_TCAP_FSB_INT_DEL (1ULL << 15)
#define VHPET_TCAP_INT_ROUTE_SHIFT 32

/*
 * I/O APIC pins the timers may be routed to: 20-23, as on Intel's PCHs
 * (timers 0 and 1) and bhyve with a 24-pin I/O APIC.  The vmm passes it,
 * or another set of pins no PCI INTx uses.
 */
#define VHPET_ROUTE_CAP_DEFAULT 0x00f00000u

/*
 * A periodic timer interrupts at most once per this interval: 10 kHz,
 * like the vatpit's bound.  A guest may program a period of one tick
 * (60 ns); re-arming a callout for each would keep the timer thread busy
 * forever.  bhyve has no explicit bound (its callout re-arms for the next
 * match after "now", so host timer latency is the only limit).  Matches
 * that fall inside the interval are coalesced into one interrupt; the
 * comparator still advances by one period per match (between two such
 * interrupts it reads as of the last one).  One-shot timers fire once per
 * guest write.
 */
#define VHPET_MIN_PERIOD_NS 100000ULL

typedef void vhpet_msi_fn_t(void *arg, uint64_t addr, uint64_t data);

struct vhpet_ops {
	struct vmm_irq_sink pin; /* I/O APIC pins (INT_ROUTE_CNF) */
	struct vmm_irq_sink isa; /* legacy replacement: ISA IRQ 0 and 8 */
	vhpet_msi_fn_t *msi;	 /* FSB delivery */
	void *msi_arg;
	uint32_t route_cap;	 /* INT_ROUTE_CAP, the pins allowed */
};

struct vhpet_stats {
	uint64_t fires;	     /* matches handled, one interrupt each */
	uint64_t coalesced;  /* further matches folded into those */
	uint64_t interrupts; /* pulses, asserts and FSB messages sent */
};

struct vhpet;

/* NULL on a bad argument or no memory. */
struct vhpet *vhpet_create(struct vmm_timebase *tb,
    const struct vhpet_ops *ops);
void vhpet_destroy(struct vhpet *vhpet);

/*
 * 'offset' from VHPET_BASE.  Aligned 32- and 64-bit accesses to the
 * registers (32-bit ones to either half of a 64-bit register) take
 * effect; any other access inside the block reads 0 and writes are
 * ignored, as in bhyve.  -EINVAL: 'size' is not 1, 2, 4 or 8, or the
 * access leaves the block (a vmm bug, not a guest's).
 */
int vhpet_mmio_read(struct vhpet *vhpet, uint64_t offset, int size,
    uint64_t *val) __attribute__((warn_unused_result));
int vhpet_mmio_write(struct vhpet *vhpet, uint64_t offset, int size,
    uint64_t val) __attribute__((warn_unused_result));

/* The capabilities register (the ACPI HPET table's block ID: bits 31:0). */
uint64_t vhpet_capabilities(void);
/* LEG_RT_CNF: timers 0 and 1 own ISA IRQ 0 and 8 (block the PIT and RTC). */
bool vhpet_legacy_replacement(struct vhpet *vhpet);
void vhpet_get_stats(struct vhpet *vhpet, struct vhpet_stats *st);

#endif /* VHPET_H */
