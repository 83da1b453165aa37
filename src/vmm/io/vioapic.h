/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's I/O APIC (bhyve's vioapic): an 82093AA-style redirection
 * table of 24 to 32 pins at 0xfec00000, reached through IOREGSEL/IOWIN,
 * plus the EOI register of the version 0x20 I/O(x)APICs.  Every interrupt
 * it sends leaves through one callback given at creation; the vmm turns
 * it into vlapic_set_intr_ready(), an NMI or an ExtINT.
 *
 * What reaches the callback:
 *   - fixed (0) and lowest-priority (1) entries with a vector of 16-255;
 *     'level' is the entry's trigger mode.  Vectors 0-15 are illegal
 *     (82093AA section 3.2.4: 10h-FEh) and are dropped here: no message,
 *     and no remote IRR that no EOI would ever clear.
 *   - NMI (4) and ExtINT (7), always as edge (the data sheet requires
 *     edge for both; a level setting would leave remote IRR set, since
 *     neither is EOIed at the local APIC).  Their vector means nothing.
 *   - SMI (2) and INIT (5) are dropped: the vmm has no SMM, and no OS
 *     resets processors through the I/O APIC (bhyve drops both too).
 *     Modes 3 and 6 are reserved and dropped.
 * 'dest' is bits 63:56 of the entry, an 8-bit xAPIC physical ID or
 * logical mask.  Bits 55:17 are stored as written but mean nothing: the
 * extended destination ID some hypervisors put in 55:49 is not offered
 * (CPUID does not advertise it), as in bhyve.
 *
 * Inputs are logical: VMM_IRQ_ASSERT means "this source requests an
 * interrupt", whatever the wire's polarity.  The firmware tables declare
 * each pin's polarity and the guest copies it into the entry, where it is
 * stored and read back but does not invert the input, and changing it is
 * no edge (bhyve, QEMU and KVM all do this; inverting would turn every
 * idle active-low PCI line into a stuck interrupt).  Asserts are counted
 * so that sources can share a pin (wire-OR): the line is high while more
 * asserts than deasserts were seen.
 *
 * Locking: one mutex.  'deliver' is called without it, after the state
 * change is complete, so it may call back into the vioapic.
 */
#ifndef VIOAPIC_H
#define VIOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm_isa.h"

#define VIOAPIC_BASE 0xfec00000ULL
#define VIOAPIC_MMIO_SIZE 0x1000
#define VIOAPIC_MIN_PINS 1
#define VIOAPIC_MAX_PINS 32
#define VIOAPIC_DEFAULT_PINS 24
/*
 * Version 0x20 is the I/O(x)APIC with the EOI register at 0x40 (Linux
 * uses it when the version says so).  bhyve says 0x11 and has none.
 */
#define VIOAPIC_VERSION 0x20

/* MMIO offsets. */
#define VIOAPIC_IOREGSEL 0x00
#define VIOAPIC_IOWIN 0x10
#define VIOAPIC_EOIR 0x40

/* Register indexes written to IOREGSEL. */
#define VIOAPIC_REG_ID 0x00
#define VIOAPIC_REG_VER 0x01
#define VIOAPIC_REG_ARB 0x02
#define VIOAPIC_REG_RTE(pin) (0x10 + 2 * (pin)) /* +1: the high word */

/* Redirection table entry fields (82093AA section 3.2.4). */
#define VIOAPIC_RTE_VECTOR 0x00000000000000ffULL
#define VIOAPIC_RTE_DELMODE 0x0000000000000700ULL
#define VIOAPIC_RTE_DELMODE_SHIFT 8
#define VIOAPIC_RTE_DESTLOG 0x0000000000000800ULL
#define VIOAPIC_RTE_DELIVS 0x0000000000001000ULL  /* read-only */
#define VIOAPIC_RTE_POLLOW 0x0000000000002000ULL
#define VIOAPIC_RTE_REMIRR 0x0000000000004000ULL  /* read-only */
#define VIOAPIC_RTE_LEVEL 0x0000000000008000ULL
#define VIOAPIC_RTE_MASKED 0x0000000000010000ULL
#define VIOAPIC_RTE_DEST_SHIFT 56

enum vioapic_delmode {
	VIOAPIC_DM_FIXED = 0,
	VIOAPIC_DM_LOWPRI = 1,
	VIOAPIC_DM_SMI = 2,
	VIOAPIC_DM_NMI = 4,
	VIOAPIC_DM_INIT = 5,
	VIOAPIC_DM_EXTINT = 7,
};

/*
 * Send one interrupt message.  The return value (the vmm's: negative for
 * "nobody took it") is only counted; remote IRR stays set either way, as
 * on the hardware, until an EOI for the vector arrives.
 */
typedef int vioapic_deliver_fn_t(void *arg, uint32_t dest, bool dest_logical,
    int delmode, int vector, bool level);

struct vioapic_stats {
	uint64_t delivered;	/* messages passed to 'deliver' */
	uint64_t deliver_errors; /* ... for which it returned < 0 */
	uint64_t dropped;	/* invalid vector or delivery mode */
	uint64_t eois;		/* remote IRR bits cleared */
};

struct vioapic;

/*
 * 'npins' from VIOAPIC_MIN_PINS to VIOAPIC_MAX_PINS (24 normally; bhyve
 * offers 32).  Every entry starts masked; the ID starts at 0, which the
 * MADT must match.  NULL on a bad argument or no memory.
 */
struct vioapic *vioapic_create(int npins, vioapic_deliver_fn_t *deliver,
    void *arg);
void vioapic_destroy(struct vioapic *vioapic);
int vioapic_pin_count(struct vioapic *vioapic);

/*
 * 'offset' from VIOAPIC_BASE.  Only aligned 32-bit accesses to IOREGSEL,
 * IOWIN and (writes) the EOI register do anything (the data sheet allows
 * nothing else); any other access inside the page reads 0 and writes are
 * ignored.  -EINVAL: 'size' is not 1, 2, 4 or 8, or the access leaves
 * the page (a vmm bug, not a guest's).
 */
int vioapic_mmio_read(struct vioapic *vioapic, uint64_t offset, int size,
    uint64_t *val) __attribute__((warn_unused_result));
int vioapic_mmio_write(struct vioapic *vioapic, uint64_t offset, int size,
    uint64_t val) __attribute__((warn_unused_result));

/*
 * Drive input 'pin'.  An edge-triggered entry sends on the rising edge
 * (a masked one loses it); a level-triggered one sends whenever the line
 * is high, the entry unmasked and remote IRR clear: on the rising edge,
 * on unmasking, and on the EOI that clears remote IRR.  Returns 0, or
 * -EINVAL for a pin beyond the count or an unknown op.
 */
int vioapic_set_irq(struct vioapic *vioapic, int pin, enum vmm_irq_op op);
/* The same, shaped as a struct vmm_irq_sink's set (arg: the vioapic). */
void vioapic_sink_set(void *vioapic, int pin, enum vmm_irq_op op);

/*
 * A local APIC's EOI broadcast for a level-triggered 'vector' (0-255):
 * clears remote IRR on every entry with that vector, and sends again for
 * each whose line is still high.  Writing the EOI register does the same.
 */
void vioapic_process_eoi(struct vioapic *vioapic, int vector);

void vioapic_get_stats(struct vioapic *vioapic, struct vioapic_stats *st);

#endif /* VIOAPIC_H */
