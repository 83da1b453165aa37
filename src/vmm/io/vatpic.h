/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's 8259A pair (bhyve's vatpic): master at 0x20-0x21, slave at
 * 0xa0-0xa1 cascaded on master input 2, and the PIIX edge/level control
 * registers (ELCR) at 0x4d0-0x4d1.  ISA IRQ n is master input n (0-7) or
 * slave input n - 8 (8-15); IRQ 2 is the cascade and has no device input.
 *
 * The chip tells the vmm when the master's INTR output changes; the vmm
 * then asks for the vector with vatpic_pending_intr() and, once it has
 * injected it, runs the acknowledge cycle with vatpic_intr_accepted().
 */
#ifndef VATPIC_H
#define VATPIC_H

#include <stdbool.h>

#include "vmm_isa.h"

#define VATPIC_MASTER_PORT 0x20 /* two ports each */
#define VATPIC_SLAVE_PORT 0xa0
#define VATPIC_ELCR_PORT 0x4d0

struct vatpic;

/*
 * Called whenever the master's INTR output changes, with the vatpic lock
 * held: it may kick a vCPU but must not call back into the vatpic.
 */
typedef void vatpic_intr_fn_t(void *arg, bool intr_line);

struct vatpic *vatpic_create(vatpic_intr_fn_t *intr_changed, void *arg);
void vatpic_destroy(struct vatpic *vatpic);

/* Drive ISA input 'irq' (0-15, not 2).  Returns 0 or -EINVAL. */
int vatpic_set_irq(struct vatpic *vatpic, int irq, enum vmm_irq_op op);
/* Trigger mode as firmware would set the ELCR; IRQ 0-2, 8, 13: edge only. */
int vatpic_set_trigger(struct vatpic *vatpic, int irq, bool level);

/*
 * True when INTR is raised; '*vector' is what an acknowledge cycle would
 * return now (the master's spurious IRQ 7 vector when nothing is pending).
 */
bool vatpic_pending_intr(struct vatpic *vatpic, int *vector);
/* The acknowledge cycle for 'vector': IRR to ISR, or AEOI. */
void vatpic_intr_accepted(struct vatpic *vatpic, int vector);

/* Port handlers; 'chip' is the struct vatpic.  Byte accesses only. */
int vatpic_master_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);
int vatpic_slave_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);
/* 1-byte accesses, or a 2-byte access at 0x4d0 covering both registers. */
int vatpic_elcr_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);

#endif /* VATPIC_H */
