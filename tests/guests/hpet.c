/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HPET (IA-PC HPET 1.0a):
 *   - capabilities: a period of at most 100 ns (period= if the harness
 *     knows it exactly), 3 timers or more, legacy replacement offered;
 *   - the main counter is monotonic and advances;
 *   - timer 2, one-shot, edge: one interrupt on the I/O APIC pin its
 *     INT_ROUTE_CAP allows (the lowest at or above 16; route= if the
 *     harness knows the capability exactly), none after;
 *   - timer 2, one-shot, level: its status bit is set in the handler,
 *     the handler clears it, remote IRR is clear afterwards;
 *   - legacy replacement: timer 0 interrupts on IRQ 0 (pin 2), timer 1
 *     on IRQ 8 (pin 8), and the PIT, still programmed, is cut off.
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define V_EDGE		0x70
#define V_LEVEL		0x71
#define V_LEG0		0x72
#define V_LEG8		0x73
#define MAX_PERIOD_FS	100000000u
#define FIRE_US		2000
#define QUIET_US	20000
#define WAIT_US		3000000

static volatile uint64_t isr_seen;

static void
on_edge(struct irq_frame *f, void *arg)
{
	lapic_eoi();
}

/* Level: the status bit holds the line until written with 1. */
static void
on_level(struct irq_frame *f, void *arg)
{
	isr_seen = hpet_read(HPET_ISR);
	hpet_write(HPET_ISR, 1u << 2);
	lapic_eoi();
}

static void
check_caps(const char *args)
{
	uint64_t cap = hpet_read(HPET_CAP), want;
	uint32_t period = hpet_period_fs();

	printf("hpet: cap 0x%lx, %u fs, %d timers\n", cap, period,
	    hpet_timers());
	CHECK(period > 0 && period <= MAX_PERIOD_FS);
	if (cmdline_get_u64(args, "period", &want))
		CHECK_EQ(period, want);
	CHECK(hpet_timers() >= 3);
	CHECK(cap & HPET_CAP_LEG_RT);
}

static void
check_counter(void)
{
	uint64_t prev, first, c;

	hpet_config(true, false);
	first = prev = hpet_counter();
	for (int i = 0; i < 8; i++) {
		c = hpet_counter();
		CHECK(c >= prev);
		prev = c;
	}
	lapic_delay_us(1000);
	CHECK(hpet_counter() > first);
}

static void
check_oneshot(int pin)
{
	uint64_t cnf, base;

	ioapic_route(pin, V_EDGE, false, lapic_id());
	CHECK(hpet_oneshot_us(2, pin, FIRE_US, false));
	base = irq_count(V_EDGE);
	cnf = hpet_read(HPET_TIMER_CONFIG(2));
	CHECK_EQ((cnf >> HPET_TN_ROUTE_SHIFT) & 0x1f, pin);
	CHECK(irq_wait_count(V_EDGE, base + 1, WAIT_US));
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_EDGE), base + 1);

	ioapic_route(pin, V_LEVEL, true, lapic_id());
	CHECK(hpet_oneshot_us(2, pin, FIRE_US, true));
	base = irq_count(V_LEVEL);
	CHECK(irq_wait_count(V_LEVEL, base + 1, WAIT_US));
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_LEVEL), base + 1);
	CHECK(isr_seen & (1u << 2));
	CHECK_EQ(hpet_read(HPET_ISR) & (1u << 2), 0);
	CHECK_EQ(ioapic_rte_read(pin) & RTE_REMOTE_IRR, 0);
	hpet_timer_stop(2);
	ioapic_mask(pin, true);
	printf("hpet: timer 2 interrupted on pin %d, edge and level\n", pin);
}

/* Legacy timer 'n' fires once, on the ISA line's vector 'vec'. */
static void
check_legacy_timer(int n, int vec)
{
	uint64_t base;

	CHECK(hpet_oneshot_us(n, 0, FIRE_US, false));
	base = irq_count(vec);
	CHECK(irq_wait_count(vec, base + 1, WAIT_US));
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(vec), base + 1);
	hpet_timer_stop(n);
}

static void
check_legacy(void)
{
	ioapic_route(2, V_LEG0, false, lapic_id());
	ioapic_route(8, V_LEG8, false, lapic_id());
	hpet_config(true, true);
	/* The PIT's IRQ 0 must not get through while the HPET owns it. */
	pit_start_periodic(PIT_HZ / 1000);
	lapic_delay_us(QUIET_US);
	pit_stop();
	CHECK_EQ(irq_count(V_LEG0), 0);

	check_legacy_timer(0, V_LEG0);
	check_legacy_timer(1, V_LEG8);
	hpet_config(true, false);
	ioapic_mask(2, true);
	ioapic_mask(8, true);
	printf("hpet: legacy replacement on IRQ 0 and 8\n");
}

int
guest_main(struct boot_info *bi)
{
	uint64_t want;
	uint32_t cap;
	int pin;

	lapic_init(bi->args);
	lapic_enable();
	ioapic_mask_all();
	pit_stop();
	irq_register(V_EDGE, on_edge, NULL);
	irq_register(V_LEVEL, on_level, NULL);
	irq_register(V_LEG0, on_edge, NULL);
	irq_register(V_LEG8, on_edge, NULL);

	check_caps(bi->args);
	check_counter();
	cap = hpet_route_cap(2);
	if (cmdline_get_u64(bi->args, "route", &want))
		CHECK_EQ(cap, want);
	pin = hpet_pick_pin(cap);
	if (CHECK(pin >= 0 && pin < ioapic_pins()))
		check_oneshot(pin);
	check_legacy();
	hpet_config(false, false);
	return guest_finish("hpet");
}
