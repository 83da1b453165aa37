/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's local APIC (bhyve's vlapic): one per vCPU, a state machine
 * that decides every interrupt the guest sees.  It knows nothing of the
 * VM around it; the vmm wires it through struct vlapic_ops:
 *
 *   - IPIs: an ICR write the vlapic cannot finish alone is handed to
 *     ops->ipi; the vmm delivers it to every vlapic for which
 *     vlapic_ipi_match() is true (the sender included when selected), with
 *     vlapic_set_intr_ready() for fixed and lowest-priority modes (edge;
 *     lowest priority picks the matching vlapic with the lowest
 *     vlapic_priority()), and its own NMI/INIT/SIPI machinery for the rest.
 *     Only a fixed IPI to self (shorthand "self", or the x2APIC SELF IPI
 *     register) is delivered inside the vlapic.
 *   - EOI of a vector whose TMR bit is set goes to ops->eoi_broadcast (the
 *     I/O APIC clears its remote IRR).  EOI-broadcast suppression (SVR bit
 *     12) is not offered: the version register does not advertise it, so
 *     the bit is reserved and reads 0 (the I/O APIC, version 0x20, has the
 *     EOI register a directed EOI would need; nothing uses it that way).
 *   - ops->notify: an interrupt was latched in IRR; kick or wake the vCPU.
 *
 * Locking: one mutex per vlapic.  Every function here may be called from
 * any thread; the timer runs on the timebase's thread.  No callback is
 * called with the mutex held, except ops->guest_tsc (which must not call
 * back into any vlapic).  So ops->ipi may take other vlapics' locks, and
 * the vmm must not call into a vlapic while holding a lock that one of
 * these callbacks takes.
 */
#ifndef VLAPIC_H
#define VLAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm_time.h"

struct vlapic;

/* Local vector table entries; the numbering is bhyve's (APIC_LVT_*). */
enum vlapic_lvt {
	VLAPIC_LVT_LINT0,
	VLAPIC_LVT_LINT1,
	VLAPIC_LVT_TIMER,
	VLAPIC_LVT_ERROR,
	VLAPIC_LVT_PMC,
	VLAPIC_LVT_THERMAL,
	VLAPIC_LVT_CMCI,
	VLAPIC_LVT_COUNT
};

/* What an LVT input turns into; the vmm acts on NMI and EXTINT. */
enum vlapic_lint {
	VLAPIC_LINT_MASKED,  /* nothing: masked, or a mode we ignore */
	VLAPIC_LINT_FIXED,   /* a vector, latched in IRR by the vlapic */
	VLAPIC_LINT_NMI,     /* the vmm injects an NMI */
	VLAPIC_LINT_EXTINT,  /* the vmm takes the vector from the 8259 */
};

/* IPI delivery modes and shorthands, as encoded in the ICR. */
enum vlapic_delmode {
	VLAPIC_DM_FIXED = 0,
	VLAPIC_DM_LOWPRI = 1,
	VLAPIC_DM_NMI = 4,
	VLAPIC_DM_INIT = 5,
	VLAPIC_DM_STARTUP = 6,
};

enum vlapic_shorthand {
	VLAPIC_SH_NONE,
	VLAPIC_SH_SELF,
	VLAPIC_SH_ALL_INCL,
	VLAPIC_SH_ALL_EXCL,
};

/*
 * An IPI for the vmm to route.  'dest' is 8 bits (xAPIC) or 32 bits
 * (x2APIC, 'x2apic' true).  Only valid combinations are passed on: no
 * vectors below 16 in fixed/lowest-priority mode, no INIT level
 * de-assert, no SMI; level-triggered IPIs are treated as edge (the target
 * latches them with level = false), the bits are there for the record.
 */
struct vlapic_ipi {
	int vector;		/* SIPI: the start page */
	int delmode;		/* enum vlapic_delmode */
	bool level_assert;
	bool level_trigger;
	int shorthand;		/* enum vlapic_shorthand */
	bool dest_logical;
	uint32_t dest;
	uint32_t src_apic_id;
	bool x2apic;
};

struct vlapic_ops {
	void (*notify)(void *arg);
	void (*ipi)(void *arg, const struct vlapic_ipi *ipi);
	void (*eoi_broadcast)(void *arg, int vector);
	uint64_t (*guest_tsc)(void *arg);
	uint64_t tsc_hz;	/* 0 or no guest_tsc: no TSC-deadline mode */
	bool x2apic;		/* CPUID offers x2APIC: EXTD may be set */
	int maxphyaddr;		/* for APIC base reserved bits; 0: 52 */
	void *arg;
};

struct vlapic_stats {
	uint64_t timer_fires;	 /* expiries, delivered or masked */
	uint64_t ipis_sent;	 /* ICR and SELF IPI writes */
	uint64_t eois;
	uint64_t gratuitous_eois; /* EOI with nothing in service */
	uint64_t errors;	 /* ESR bits raised */
	uint64_t accepted;	 /* vectors moved IRR -> ISR */
};

/*
 * The timer counts at this bus frequency divided by the DCR: whole
 * nanoseconds per tick keep the current count and periodic deadlines
 * exact.  (bhyve uses 128 MiHz; a guest calibrates against another
 * clock either way.)
 */
#define VLAPIC_BUS_FREQ_HZ	100000000ull

/*
 * The shortest period the periodic timer really runs at.  A guest may
 * program an initial count of 1 with divide-by-1 (10 ns); re-arming that
 * would keep the timer thread busy forever.  bhyve has no bound of its
 * own: its callout re-arms one period after "now" once it falls behind,
 * so the host's event timer and callout overhead are the only limit and
 * a guest can keep a host CPU busy.  KVM clamps periodic mode to
 * min_timer_period_us (200 us by default).  We clamp to 50 us: 20000
 * expiries a second, faster than any real guest asks for (HZ=1000 is
 * 1 ms).  One-shot and TSC-deadline fire once per guest register write,
 * so the guest's own exits bound them.
 */
#define VLAPIC_TIMER_MIN_PERIOD_NS 50000ull

struct vlapic *vlapic_create(int vcpuid, uint32_t apic_id, bool bsp,
    struct vmm_timebase *tb, const struct vlapic_ops *ops);
void vlapic_destroy(struct vlapic *vlapic);
/* INIT: every register to its INIT state; ID and APIC base mode kept. */
void vlapic_reset(struct vlapic *vlapic);

/*
 * The xAPIC page, 'offset' from the APIC base, 'size' 1, 2, 4 or 8.  Only
 * an aligned 32-bit access to a register's 16-byte slot has its full
 * effect; narrower or unaligned reads return the bytes of the register
 * that fall in the slot's first 4 bytes (0 elsewhere) and such writes are
 * ignored.  In x2APIC mode or when globally disabled the page reads as
 * all ones and ignores writes.  -EINVAL: a bad size or offset.
 */
int vlapic_mmio_read(struct vlapic *vlapic, uint64_t offset, int size,
    uint64_t *val) __attribute__((warn_unused_result));
int vlapic_mmio_write(struct vlapic *vlapic, uint64_t offset, int size,
    uint64_t val) __attribute__((warn_unused_result));

/*
 * IA32_APIC_BASE, the x2APIC MSRs 0x800-0x8ff and IA32_TSC_DEADLINE.
 * -EINVAL: the vmm injects #GP.  -ENOENT: not an MSR of the vlapic.
 */
bool vlapic_owns_msr(uint32_t msr);
int vlapic_rdmsr(struct vlapic *vlapic, uint32_t msr, uint64_t *val)
    __attribute__((warn_unused_result));
int vlapic_wrmsr(struct vlapic *vlapic, uint32_t msr, uint64_t val)
    __attribute__((warn_unused_result));

uint64_t vlapic_get_apicbase(struct vlapic *vlapic);
/* 0, or -EINVAL for an illegal value or transition (#GP). */
int vlapic_set_apicbase(struct vlapic *vlapic, uint64_t val)
    __attribute__((warn_unused_result));
bool vlapic_x2apic_mode(struct vlapic *vlapic);
bool vlapic_hw_enabled(struct vlapic *vlapic);
bool vlapic_sw_enabled(struct vlapic *vlapic);

/*
 * Latch 'vector' in IRR (and its trigger mode in TMR): from the I/O APIC,
 * an MSI or an IPI.  Returns 1 when latched (ops->notify was called), 0
 * when dropped (APIC disabled, or vector < 16: a receive-illegal-vector
 * error), -EINVAL for a vector outside 0-255.
 */
int vlapic_set_intr_ready(struct vlapic *vlapic, int vector, bool level);
/* The highest vector in IRR whose priority class is above the PPR's. */
bool vlapic_pending_intr(struct vlapic *vlapic, int *vector);
/* The vmm injected 'vector' (from vlapic_pending_intr): IRR -> ISR. */
void vlapic_intr_accepted(struct vlapic *vlapic, int vector);

/*
 * An input on an LVT (enum vlapic_lvt): a fixed vector is latched here;
 * the return value (enum vlapic_lint) tells the vmm what else to do.
 * When the APIC is disabled LINT0 acts as ExtINT and LINT1 as NMI, as
 * bhyve does (virtual-wire mode for guests that never enable the APIC).
 * -EINVAL: no such LVT.
 */
int vlapic_trigger_lvt(struct vlapic *vlapic, int lvt);
/* How LINT'pin' (0 or 1) is routed now; '*vector' for FIXED. */
enum vlapic_lint vlapic_lint_mode(struct vlapic *vlapic, int pin,
    int *vector);

/*
 * Does this vlapic accept a message for 'dest' (physical or logical,
 * 8-bit xAPIC or 32-bit x2APIC format)?  Broadcast included.
 */
bool vlapic_match_dest(struct vlapic *vlapic, uint32_t dest, bool logical,
    bool x2apic_dest);
/* Is this vlapic a target of 'ipi' (shorthand and destination)? */
bool vlapic_ipi_match(struct vlapic *vlapic, const struct vlapic_ipi *ipi);
/* Arbitration priority (APR) for lowest-priority delivery. */
int vlapic_priority(struct vlapic *vlapic);

/* TPR for CR8 (CR8 = TPR >> 4). */
uint8_t vlapic_get_tpr(struct vlapic *vlapic);
void vlapic_set_tpr(struct vlapic *vlapic, uint8_t tpr);

uint32_t vlapic_apic_id(struct vlapic *vlapic);
int vlapic_vcpuid(struct vlapic *vlapic);
void vlapic_get_stats(struct vlapic *vlapic, struct vlapic_stats *stats);

#endif /* VLAPIC_H */
