/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The local APIC timer (SDM vol. 3A 11.5.4) in each mode:
 *   - one-shot fires exactly once;
 *   - periodic fires N times (periodic=N), the handler stops it at the
 *     Nth, and nothing arrives after that;
 *   - TSC-deadline (when CPUID.1:ECX[24] offers it) fires once, and the
 *     MSR reads 0 afterwards;
 *   - the current count decreases and reads 0 once stopped;
 *   - the divide configuration: a one-shot period measured against the
 *     ACPI PM timer is initial_count * divide / timer clock, +-50% (this
 *     is an emulated CPU: the scale is checked, not the speed), on one
 *     of three tries (a host that stalls the vCPU stretches one).
 * The periodic timer's period is printed, not checked, for that reason.
 * x2apic=1 switches to x2APIC mode first (bhyve -x starts there).
 * The timer clock is 100 MHz unless lapichz= says otherwise.
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define V_ONESHOT	0x50
#define V_PERIODIC	0x51
#define V_DEADLINE	0x52
#define V_DIVIDE	0x53
#define PERIOD_US	2000
#define QUIET_US	20000
#define TSC_DELTA	2000000ULL
#define DIVIDE_TRIES	3

static uint64_t periodic_target;
static uint32_t pm_first, pm_last;
static volatile uint32_t pm_divide;

/* Stops the timer from inside its Nth interrupt. */
static void
on_periodic(struct irq_frame *f, void *arg)
{
	uint64_t n = irq_count(V_PERIODIC);
	uint32_t pm = pmtimer_read();

	if (n == 1)
		pm_first = pm;
	pm_last = pm;
	if (n >= periodic_target)
		lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_eoi();
}

static void
on_timer(struct irq_frame *f, void *arg)
{
	lapic_eoi();
}

static void
on_divide(struct irq_frame *f, void *arg)
{
	pm_divide = pmtimer_read();
	lapic_eoi();
}

static void
check_oneshot(void)
{
	lapic_timer_start(V_ONESHOT, LAPIC_TIMER_ONESHOT,
	    lapic_us_to_count(PERIOD_US), 1);
	irq_wait_count(V_ONESHOT, 1, 0);
	CHECK_EQ(lapic_timer_ccr(), 0);
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_ONESHOT), 1);
	printf("lapic_timer: one-shot fired once\n");
}

static void
check_periodic(uint64_t n)
{
	uint64_t at_stop;
	uint64_t us, want = (n - 1) * PERIOD_US;

	periodic_target = n;
	lapic_timer_start(V_PERIODIC, LAPIC_TIMER_PERIODIC,
	    lapic_us_to_count(PERIOD_US), 1);
	irq_wait_count(V_PERIODIC, n, 0);
	at_stop = irq_count(V_PERIODIC);
	/* One more may have been latched before the handler stopped it. */
	CHECK(at_stop == n || at_stop == n + 1);
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_PERIODIC), at_stop);
	us = pmtimer_to_us(pmtimer_delta(pm_first, pm_last));
	/* For the record only: a stalled vCPU stretches it. */
	printf("lapic_timer: periodic fired %lu times, %lu us for %lu "
	    "periods (programmed %lu)\n", at_stop, us, n - 1, want);
}

static void
check_deadline(void)
{
	uint64_t v = 1;

	if (!lapic_has_tsc_deadline()) {
		printf("lapic_timer: no TSC-deadline mode\n");
		return;
	}
	lapic_timer_deadline(V_DEADLINE, rdtsc() + TSC_DELTA);
	irq_wait_count(V_DEADLINE, 1, 0);
	/* An expired deadline reads 0 (SDM vol. 3A 11.5.4.1). */
	CHECK(rdmsr_safe(MSR_TSC_DEADLINE, &v));
	CHECK_EQ(v, 0);
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_DEADLINE), 1);
	printf("lapic_timer: TSC deadline fired once\n");
}

static void
check_current_count(void)
{
	uint32_t icr = lapic_us_to_count(1000000), c1, c2;

	lapic_timer_start(V_ONESHOT, LAPIC_TIMER_ONESHOT, icr, 1);
	c1 = lapic_timer_ccr();
	(void)pmtimer_read();	/* time passes: a few exits */
	(void)pmtimer_read();
	c2 = lapic_timer_ccr();
	CHECK(c1 <= icr);
	CHECK(c2 < c1);
	CHECK_EQ(lapic_read(LAPIC_TIMER_ICR), icr);
	lapic_write(LAPIC_TIMER_ICR, 0);
	CHECK_EQ(lapic_timer_ccr(), 0);
}

/*
 * One one-shot of 'us' microseconds at 'divide', timed by the PM timer
 * from the arming to the handler.  The host may stall the vCPU and make
 * one try long: up to DIVIDE_TRIES, one must land within +-50%.  A wrong
 * divider is off by a factor of 2 at least, on every try.
 */
static bool
divide_try(unsigned divide, uint32_t us)
{
	uint32_t count = lapic_us_to_count(us) / divide, pm0;
	uint64_t got, before = irq_count(V_DIVIDE);

	pm0 = pmtimer_read();
	lapic_timer_start(V_DIVIDE, LAPIC_TIMER_ONESHOT, count, divide);
	CHECK_EQ(lapic_read(LAPIC_TIMER_DCR) & 0xb, lapic_dcr(divide));
	irq_wait_count(V_DIVIDE, before + 1, 0);
	got = pmtimer_to_us(pmtimer_delta(pm0, pm_divide));
	printf("lapic_timer: divide %u count %u: %lu us (want %u)\n", divide,
	    count, got, us);
	return got >= us / 2 && got <= (uint64_t)us * 3 / 2;
}

static void
check_divide(unsigned divide, uint32_t us)
{
	bool ok = false;

	for (int i = 0; i < DIVIDE_TRIES && !ok; i++)
		ok = divide_try(divide, us);
	CHECK(ok);
}

int
guest_main(struct boot_info *bi)
{
	uint64_t n = 5;

	(void)cmdline_get_u64(bi->args, "periodic", &n);
	lapic_init(bi->args);
	pmtimer_init(bi->args);
	if (cmdline_has_word(bi->args, "x2apic=1"))
		CHECK(lapic_enter_x2apic());
	lapic_enable();
	printf("lapic_timer: %s mode, timer clock %lu Hz\n",
	    lapic_x2apic ? "x2APIC" : "xAPIC", lapic_timer_hz);
	irq_register(V_ONESHOT, on_timer, NULL);
	irq_register(V_PERIODIC, on_periodic, NULL);
	irq_register(V_DEADLINE, on_timer, NULL);
	irq_register(V_DIVIDE, on_divide, NULL);

	check_oneshot();
	if (CHECK(n >= 2 && n <= 1000))
		check_periodic(n);
	check_deadline();
	check_current_count();
	check_divide(1, 5000);
	check_divide(16, 10000);
	check_divide(128, 20000);
	return guest_finish("lapic_timer");
}
