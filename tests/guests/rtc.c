/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MC146818 RTC:
 *   - its time, read in BCD 24-hour mode, is within tol= seconds (default
 *     2) of now= (epoch seconds the harness took just before the run).
 *     The RTC is compared as UTC: the harness runs bhyve with -u (QEMU's
 *     RTC is UTC by default);
 *   - the time written back in binary mode, then in binary 12-hour mode,
 *     reads back the same (within the tolerance);
 *   - the periodic interrupt at 256 Hz arrives through I/O APIC pin 8,
 *     edge-triggered, with IRQF and PF set in register C (their spacing
 *     against the PM timer is printed);
 *   - register C clears on read: at 2 Hz, a second read right after the
 *     first in the handler returns 0.
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define V_RTC		0x68
#define RTC_PIN		8
#define RATE_256HZ	0x08	/* register A rate select: 32768 >> (8 - 1) */
#define RATE_2HZ	0x0f
#define PERIODS		8
#define WAIT_US		3000000

static int64_t now, tol = 2;
static volatile bool second_read;
static uint8_t c_first, c_second, c_and = 0xff;
static uint32_t pm_first, pm_last;

static void
on_rtc(struct irq_frame *f, void *arg)
{
	uint32_t pm = pmtimer_read();
	uint8_t c = rtc_read(RTC_REG_C);

	if (second_read) {
		c_first = c;
		c_second = rtc_read(RTC_REG_C);
	} else {
		c_and &= c;
	}
	if (irq_count(V_RTC) == 1)
		pm_first = pm;
	pm_last = pm;
	lapic_eoi();
}

static int64_t
read_epoch(const char *how)
{
	struct rtc_time t;
	int64_t e;

	if (!CHECK(rtc_get_time(&t)))
		return -1;
	e = rtc_to_epoch(&t);
	printf("rtc: %s %04d-%02d-%02d %02d:%02d:%02d (now=%ld, off by "
	    "%ld s)\n", how, t.year, t.mon, t.mday, t.hour, t.min, t.sec,
	    now, e - now);
	CHECK(e >= now - tol && e <= now + tol);
	return e;
}

/* Rewrites the time in the format 'regb' selects and reads it back. */
static void
check_format(uint8_t regb, const char *how)
{
	struct rtc_time t;
	int64_t e;

	if (!rtc_get_time(&t))
		return;
	rtc_write(RTC_REG_B, regb | RTC_B_SET);
	rtc_set_time(&t);
	e = read_epoch(how);
	if (!(regb & RTC_B_24H) && e >= 0)
		CHECK_EQ(!!(rtc_read(RTC_HOUR) & RTC_HOUR_PM),
		    e % 86400 >= 12 * 3600);
}

static void
check_periodic(void)
{
	uint64_t us, want = (PERIODS - 1) * 1000000ULL / 256;

	(void)rtc_read(RTC_REG_C);
	rtc_write(RTC_REG_A, RTC_A_DV_NORMAL | RATE_256HZ);
	rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) | RTC_B_PIE);
	CHECK(irq_wait_count(V_RTC, PERIODS, WAIT_US));
	rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) & ~RTC_B_PIE);
	us = pmtimer_to_us(pmtimer_delta(pm_first, pm_last));
	/* For the record only: a stalled vCPU stretches it. */
	printf("rtc: %d periodic interrupts in %lu us (programmed %lu)\n",
	    PERIODS, us, want);
	CHECK_EQ(c_and & (RTC_C_IRQF | RTC_C_PF), RTC_C_IRQF | RTC_C_PF);
}

static void
check_clear_on_read(void)
{
	uint64_t before = irq_count(V_RTC);

	irq_disable();
	second_read = true;
	(void)rtc_read(RTC_REG_C);
	rtc_write(RTC_REG_A, RTC_A_DV_NORMAL | RATE_2HZ);
	rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) | RTC_B_PIE);
	CHECK(irq_wait_count(V_RTC, before + 1, WAIT_US));
	rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) & ~RTC_B_PIE);
	rtc_write(RTC_REG_A, RTC_A_DV_NORMAL);
	CHECK_EQ(c_first & (RTC_C_IRQF | RTC_C_PF), RTC_C_IRQF | RTC_C_PF);
	CHECK_EQ(c_second, 0);
}

int
guest_main(struct boot_info *bi)
{
	uint64_t v;

	if (!CHECK(cmdline_get_u64(bi->args, "now", &v)))
		return guest_finish("rtc");
	now = (int64_t)v;
	if (cmdline_get_u64(bi->args, "tol", &v))
		tol = (int64_t)v;
	lapic_init(bi->args);
	pmtimer_init(bi->args);
	lapic_enable();
	ioapic_mask_all();
	irq_register(V_RTC, on_rtc, NULL);
	ioapic_route(RTC_PIN, V_RTC, false, lapic_id());

	rtc_write(RTC_REG_A, RTC_A_DV_NORMAL);
	rtc_write(RTC_REG_B, RTC_B_24H);
	(void)read_epoch("BCD 24h");
	check_format(RTC_B_24H | RTC_B_DM_BINARY, "binary 24h");
	check_format(RTC_B_DM_BINARY, "binary 12h");
	check_format(RTC_B_24H, "BCD 24h again");
	check_periodic();
	check_clear_on_read();
	return guest_finish("rtc");
}
