/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's ACPI power-management timer (bhyve's vpmtmr): a free-running
 * counter at 3.579545 MHz, read at a port the vmm chooses (bhyve: 0x408).
 * It is 32 bits wide: the FADT must set TMR_VAL_EXT (flags bit 8) and
 * PM_TMR_LEN = 4 (ACPI 6.x section 4.8.3.3).
 */
#ifndef VPMTMR_H
#define VPMTMR_H


#include "vmm_isa.h"
#include "vmm_time.h"

#define VPMTMR_PORT 0x408
#define VPMTMR_HZ 3579545ULL

struct vpmtmr;

struct vpmtmr *vpmtmr_create(struct vmm_timebase *tb);
void vpmtmr_destroy(struct vpmtmr *pmtmr);

/*
 * A read of 1, 2 or 4 bytes returns the counter's bytes from (port & 3);
 * writes are ignored, as on the chipset.  'chip' is the struct vpmtmr.
 */
int vpmtmr_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);

#endif /* VPMTMR_H */
