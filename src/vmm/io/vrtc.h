/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's MC146818A real-time clock and CMOS RAM (bhyve's vrtc) at
 * 0x70 (index; bit 7, the NMI mask, is ignored) and 0x71 (data).  The
 * clock advances with the timebase from the time given at creation; its
 * interrupt is ISA IRQ 8, held asserted while register C's IRQF is set.
 *
 * Times here are "RTC seconds": the date and time the guest reads,
 * counted as if they were UTC.  With 'localtime', creation adds the host's
 * UTC offset, as bhyve does (rtc.use_localtime).
 */
#ifndef VRTC_H
#define VRTC_H

#include <time.h>


#include "vmm_isa.h"
#include "vmm_time.h"

#define VRTC_PORT 0x70	  /* two ports: index, data */
#define VRTC_IRQ 8
#define VRTC_CENTURY 0x32 /* the FADT's CENTURY field */

struct vrtc;

/*
 * lowmem: bytes of RAM from address 0 (up to 4 GiB); highmem: bytes from
 * 4 GiB.  They fill the CMOS memory-size bytes firmware reads.
 */
struct vrtc *vrtc_create(struct vmm_timebase *tb,
    const struct vmm_irq_sink *sink, time_t now, bool localtime,
    uint64_t lowmem, uint64_t highmem);
void vrtc_destroy(struct vrtc *rtc);

/* Offsets 0-127.  Reads have no side effects (register C is not cleared). */
int vrtc_nvram_read(struct vrtc *rtc, int offset, uint8_t *val);
/* NVRAM only: 0x0e-0x7f except the century byte.  -EINVAL otherwise. */
int vrtc_nvram_write(struct vrtc *rtc, int offset, uint8_t val);

/* The RTC's time; -1 while the guest has left invalid date fields. */
time_t vrtc_get_time(struct vrtc *rtc);
/* -EBUSY while the guest holds the SET bit, -EINVAL outside 1970-9999. */
int vrtc_set_time(struct vrtc *rtc, time_t secs);

/*
 * 0x70-0x71, byte accesses only; 'chip' is the struct vrtc.  The sink is
 * called with the vrtc lock held: it must not call back into it.
 */
int vrtc_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val);

#endif /* VRTC_H */
