/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's 8254 programmable interval timer (bhyve's vatpit) at
 * 0x40-0x43, clocked at 1.193182 MHz, and the timer bits of the PC's
 * port 0x61 (NMI status and control).  Channel 0's output drives ISA
 * IRQ 0 through the sink; channel 2's gate and output are port 0x61's
 * bits 0 and 5.  Counts are computed from the timebase when read; only
 * channel 0's interrupt uses a callout.
 */
#ifndef VATPIT_H
#define VATPIT_H


#include "vmm_isa.h"
#include "vmm_time.h"

#define VATPIT_PORT 0x40	/* four ports: counters 0-2, control word */
#define VATPIT_NMISC_PORT 0x61
#define VATPIT_HZ 1193182ULL

/*
 * Channel 0 interrupts are at least this far apart (10 kHz at most):
 * shorter periods are coalesced into one pulse per callout, so a guest
 * programming a count of 1 cannot make the timer thread spin.
 */
#define VATPIT_MIN_PERIOD_NS 100000ULL

struct vatpit;

struct vatpit *vatpit_create(struct vmm_timebase *tb,
    const struct vmm_irq_sink *sink);
void vatpit_destroy(struct vatpit *pit);

/*
 * 0x40-0x43, byte accesses only; 'chip' is the struct vatpit.  The sink
 * is called with the vatpit lock held: it must not call back into it.
 */
int vatpit_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);
/* Port 0x61: bits 0 (gate 2), 1 (speaker), 2-3 writable; 4, 5 status. */
int vatpit_nmisc_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);

#endif /* VATPIT_H */
