/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI PM timer: it increases (modulo its width), and its rate
 * against the HPET's counter (whose period register says how fast it
 * runs) is 3.579545 MHz +-5%.  The interval is about 50 ms, waited for
 * with HLT on an HPET one-shot interrupt, not with a busy loop; each end
 * reads both counters within 100 us of each other (bracketed, taken
 * again if the host stalled the vCPU), so the error stays below 0.5%.
 * pmport= and pmbits= say where the timer is (bhyve: 0x408, 32 bits).
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define V_HPET		0x78
#define INTERVAL_US	50000
#define WAIT_US		3000000
#define PAIR_MAX_TICKS	360	/* 100 us */
#define PAIR_TRIES	20

static void
on_hpet(struct irq_frame *f, void *arg)
{
	lapic_eoi();
}

static void
check_increasing(void)
{
	uint32_t prev = pmtimer_read(), v;
	uint64_t total = 0;

	for (int i = 0; i < 8; i++) {
		v = pmtimer_read();
		total += pmtimer_delta(prev, v);
		/* 2^23 ticks is 2.3 s: a bigger step is the counter going back. */
		CHECK(pmtimer_delta(prev, v) < (1u << 23));
		prev = v;
	}
	CHECK(total > 0);
}

/*
 * A (PM timer, HPET) pair read together: the HPET read is bracketed by
 * two PM timer reads, taken again while they are more than
 * PAIR_MAX_TICKS apart (the host stalled the vCPU in between).
 */
struct sample {
	uint32_t pm;
	uint64_t hpet;
};

static bool
sample_take(struct sample *s)
{
	for (int i = 0; i < PAIR_TRIES; i++) {
		uint32_t a = pmtimer_read();
		uint64_t h = hpet_counter();
		uint32_t b = pmtimer_read();

		if (pmtimer_delta(a, b) <= PAIR_MAX_TICKS) {
			*s = (struct sample){ .pm = a + pmtimer_delta(a, b) / 2,
				.hpet = h };
			return true;
		}
	}
	return false;
}

/* One measurement over INTERVAL_US; the rate, or 0. */
static uint64_t
rate_once(int pin)
{
	struct sample s0, s1;
	uint64_t base;

	if (!CHECK(hpet_oneshot_us(2, pin, INTERVAL_US, false)))
		return 0;
	base = irq_count(V_HPET);
	if (!CHECK(sample_take(&s0)))
		return 0;
	CHECK(irq_wait_count(V_HPET, base + 1, WAIT_US));
	hpet_timer_stop(2);
	if (!CHECK(sample_take(&s1)) || !CHECK(s1.hpet > s0.hpet))
		return 0;
	return (uint64_t)pmtimer_delta(s0.pm, s1.pm) * hpet_hz() /
	    (s1.hpet - s0.hpet);
}

static void
check_rate(void)
{
	uint64_t hz;
	int pin = hpet_pick_pin(hpet_route_cap(2));

	if (!CHECK(pin >= 0))
		return;
	hpet_config(true, false);
	ioapic_route(pin, V_HPET, false, lapic_id());
	hz = rate_once(pin);
	printf("pmtimer: %lu Hz against the HPET's %lu Hz (want %u)\n", hz,
	    hpet_hz(), PMTIMER_HZ);
	CHECK(hz >= PMTIMER_HZ - PMTIMER_HZ / 20 &&
	    hz <= PMTIMER_HZ + PMTIMER_HZ / 20);
	hpet_config(false, false);
	ioapic_mask(pin, true);
}

int
guest_main(struct boot_info *bi)
{
	lapic_init(bi->args);
	pmtimer_init(bi->args);
	lapic_enable();
	ioapic_mask_all();
	irq_register(V_HPET, on_hpet, NULL);
	check_increasing();
	check_rate();
	return guest_finish("pmtimer");
}
