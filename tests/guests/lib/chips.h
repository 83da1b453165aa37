/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PC's other interrupt and timer chips: the 8259A pair and its ELCR
 * (isa.c), the 8254 PIT (isa.c), the ACPI PM timer (isa.c), the
 * MC146818 RTC (rtc.c) and the HPET (hpet.c).
 */
#ifndef GUEST_CHIPS_H
#define GUEST_CHIPS_H

#include <stdbool.h>
#include <stdint.h>

/* ---- 8259A (8259A data sheet; ELCR: PIIX3 data sheet 2.3.x) ---- */
#define PIC_MASTER		0x20
#define PIC_SLAVE		0xa0
#define PIC_ELCR		0x4d0

/*
 * ICW1-ICW4: edge-triggered, cascaded (slave on IR2), 8086 mode, normal
 * EOI; IRQ 0-7 at vectors base0.., 8-15 at base8..  Every input masked.
 */
void pic_init(uint8_t base0, uint8_t base8);
/* Bit n masks IRQ n (bit 2, the cascade, is the guest's business). */
void pic_set_mask(uint16_t mask);
uint16_t pic_get_mask(void);
/* Non-specific EOI, to the slave as well for IRQ 8-15. */
void pic_eoi(int irq);
/* OCW3 reads: in-service and request registers, IRQ n at bit n. */
uint16_t pic_read_isr(void);
uint16_t pic_read_irr(void);
void pic_set_elcr(uint16_t level_irqs);
uint16_t pic_get_elcr(void);

/* ---- 8254 PIT ---- */
#define PIT_PORT		0x40
#define PIT_CONTROL		0x43
#define PIT_HZ			1193182u

/* Channel 0, mode 2 (rate generator), reload 'count' (0 means 65536). */
void pit_start_periodic(uint16_t count);
/* Channel 0 to mode 0 with no count written: OUT stays low. */
void pit_stop(void);
/* Latches and reads the count of channel 'ch' (lo/hi mode assumed). */
uint16_t pit_read_count(int ch);

/* ---- ACPI PM timer ---- */
/*
 * Port and width from 'args' (pmport=, pmbits=); bhyve's 0x408 and 32
 * bits otherwise.  QEMU's PIIX4 has it where the firmware put PMBASE
 * (+8), 24 bits wide.
 */
#define PMTIMER_HZ		3579545u
void pmtimer_init(const char *args);
uint32_t pmtimer_read(void);
/* Ticks from a to b, modulo the counter's width. */
uint32_t pmtimer_delta(uint32_t a, uint32_t b);
/* Ticks to microseconds. */
uint64_t pmtimer_to_us(uint64_t ticks);

/* ---- MC146818 RTC (index 0x70, data 0x71) ---- */
#define RTC_SEC			0x00
#define RTC_SEC_ALARM		0x01
#define RTC_MIN			0x02
#define RTC_MIN_ALARM		0x03
#define RTC_HOUR		0x04
#define RTC_HOUR_ALARM		0x05
#define RTC_WDAY		0x06
#define RTC_MDAY		0x07
#define RTC_MON			0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d
#define RTC_CENTURY		0x32

#define RTC_A_UIP		0x80
#define RTC_A_DV_NORMAL		0x20	/* 32.768 kHz time base, running */
#define RTC_B_SET		0x80
#define RTC_B_PIE		0x40
#define RTC_B_AIE		0x20
#define RTC_B_UIE		0x10
#define RTC_B_DM_BINARY		0x04
#define RTC_B_24H		0x02
#define RTC_C_IRQF		0x80
#define RTC_C_PF		0x40
#define RTC_C_AF		0x20
#define RTC_C_UF		0x10
#define RTC_HOUR_PM		0x80	/* 12-hour mode */
#define RTC_IRQ			8

struct rtc_time {
	int year;	/* e.g. 2024 */
	int mon;	/* 1-12 */
	int mday;	/* 1-31 */
	int hour;	/* 0-23 */
	int min;
	int sec;
};

uint8_t rtc_read(uint8_t reg);
void rtc_write(uint8_t reg, uint8_t val);
/*
 * Reads the time in whatever format register B says (BCD or binary, 12
 * or 24 hours), outside an update: false if it never got two equal
 * reads in a row.
 */
bool rtc_get_time(struct rtc_time *t);
/* Writes the time in register B's format, under the SET bit. */
void rtc_set_time(const struct rtc_time *t);
/* Seconds since 1970-01-01 00:00, the fields taken as UTC. */
int64_t rtc_to_epoch(const struct rtc_time *t);
void rtc_from_epoch(int64_t secs, struct rtc_time *t);

/* ---- HPET (IA-PC HPET specification 1.0a) ---- */
#define HPET_BASE		0xfed00000ULL
#define HPET_CAP		0x000
#define HPET_CONFIG		0x010
#define HPET_ISR		0x020
#define HPET_COUNTER		0x0f0
#define HPET_TIMER_CONFIG(n)	(0x100 + 0x20 * (n))
#define HPET_TIMER_CMP(n)	(0x108 + 0x20 * (n))
#define HPET_TIMER_FSB(n)	(0x110 + 0x20 * (n))

#define HPET_CAP_LEG_RT		(1ULL << 15)
#define HPET_CAP_COUNT_64	(1ULL << 13)
#define HPET_CNF_ENABLE		(1ULL << 0)
#define HPET_CNF_LEG_RT		(1ULL << 1)
#define HPET_TN_LEVEL		(1ULL << 1)
#define HPET_TN_INT_ENB		(1ULL << 2)
#define HPET_TN_PERIODIC	(1ULL << 3)
#define HPET_TN_PER_CAP		(1ULL << 4)
#define HPET_TN_64BIT_CAP	(1ULL << 5)
#define HPET_TN_VAL_SET		(1ULL << 6)
#define HPET_TN_32MODE		(1ULL << 8)
#define HPET_TN_ROUTE_SHIFT	9
#define HPET_TN_FSB_EN		(1ULL << 14)

uint64_t hpet_read(uint32_t off);
void hpet_write(uint32_t off, uint64_t val);
/* Counter period in femtoseconds (capabilities bits 63:32). */
uint32_t hpet_period_fs(void);
uint64_t hpet_hz(void);
int hpet_timers(void);
uint64_t hpet_counter(void);
/* Main counter on or off, legacy replacement on or off. */
void hpet_config(bool enable, bool legacy);
/* INT_ROUTE_CAP of timer n: bit p set when I/O APIC pin p is allowed. */
uint32_t hpet_route_cap(int timer);
/*
 * The lowest allowed pin at or above 16 (no ISA device there), else the
 * lowest allowed (QEMU's i440fx HPET offers pin 2 only); -1 for none.
 */
int hpet_pick_pin(uint32_t cap);
/*
 * One-shot timer n firing 'ticks' from now, through I/O APIC pin 'route'
 * (ignored for timers 0/1 under legacy replacement).  False when the
 * counter passed the comparator before the interrupt was enabled (the
 * host stalled the vCPU): the timer is stopped, an interrupt may or may
 * not have been sent.
 */
bool hpet_timer_oneshot(int timer, int route, uint64_t ticks, bool level);
/*
 * The same 'us' microseconds from now, tried again (twice the delay,
 * after taking what the late try may have sent) until armed in time.
 * Uses the LAPIC timer between tries.  A count of the interrupts taken
 * after it returns true sees exactly the one it armed.
 */
bool hpet_oneshot_us(int timer, int route, uint64_t us, bool level);
void hpet_timer_stop(int timer);
/* Microseconds to counter ticks. */
uint64_t hpet_us_to_ticks(uint64_t us);

/* ---- The TSC's rate (tsc.c) ---- */

typedef uint64_t tsc_counter_fn(void);
/*
 * The TSC rate: CPUID 0x15/0x16, else measured against the HPET (turned
 * on), else the PM timer; args may say tscsrc=cpuid|hpet|pmtimer and
 * pmbits=24.  *source names what was used; 0 if nothing worked.
 */
uint64_t tsc_calibrate(const char *args, const char **source);
/* The HPET exists and ticks at 10 MHz or more (HPET 1.0a 2.3.9.1). */
bool tsc_hpet_usable(void);
/* The TSC at the midpoint of the tightest TSC-bracketed read(), and it. */
uint64_t tsc_pair(tsc_counter_fn *read, uint64_t *counter);

#endif /* GUEST_CHIPS_H */
