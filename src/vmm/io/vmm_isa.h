/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the vmm's ISA chips (vatpic, vatpit, vrtc, vpmtmr, vhpet) share:
 * the port-handler shape and the interrupt lines they drive.  A chip gets
 * its dependencies as arguments at creation (a timebase, a line sink), so
 * each chip can be unit-tested on its own with a manual clock and a
 * recording sink.
 */
#ifndef VMM_ISA_H
#define VMM_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One port access handled inside the vmm.  'port' is absolute; 'val'
 * holds the value written, or receives the value read (only the low
 * 'bytes' bytes count).  Returns 0, or a negative errno when the chip
 * refuses the access (the vmm then answers as for an unhandled port).
 */
typedef int vmm_port_fn_t(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);

enum vmm_irq_op {
	VMM_IRQ_ASSERT,	  /* raise and hold the line */
	VMM_IRQ_DEASSERT, /* lower it */
	VMM_IRQ_PULSE,	  /* raise then lower: an edge */
};

/*
 * Where a chip's interrupt output goes: ISA IRQ 'irq' reaches 8259 input
 * 'irq' and I/O APIC pin 'irq' (IRQ 0 is I/O APIC pin 2, the override the
 * MADT will describe); the sink does that routing.
 */
struct vmm_irq_sink {
	void (*set)(void *arg, int irq, enum vmm_irq_op op);
	void *arg;
};

static inline void
vmm_irq(const struct vmm_irq_sink *sink, int irq, enum vmm_irq_op op)
{
	if (sink != NULL && sink->set != NULL)
		sink->set(sink->arg, irq, op);
}

#endif /* VMM_ISA_H */
