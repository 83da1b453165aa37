/* SPDX-License-Identifier: BSD-2-Clause */
/* HPET helpers (see chips.h); registers are read and written 64 bits wide. */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define FS_PER_US		1000000000ULL
#define FS_PER_SEC		1000000000000000ULL
#define HPET_ARM_TRIES		6

uint64_t
hpet_read(uint32_t off)
{
	return mmio_read64(HPET_BASE + off);
}

void
hpet_write(uint32_t off, uint64_t val)
{
	mmio_write64(HPET_BASE + off, val);
}

uint32_t
hpet_period_fs(void)
{
	return (uint32_t)(hpet_read(HPET_CAP) >> 32);
}

uint64_t
hpet_hz(void)
{
	uint32_t p = hpet_period_fs();

	return p ? FS_PER_SEC / p : 0;
}

int
hpet_timers(void)
{
	return (int)((hpet_read(HPET_CAP) >> 8) & 0x1f) + 1;
}

uint64_t
hpet_counter(void)
{
	return hpet_read(HPET_COUNTER);
}

void
hpet_config(bool enable, bool legacy)
{
	uint64_t cnf = hpet_read(HPET_CONFIG) &
	    ~(HPET_CNF_ENABLE | HPET_CNF_LEG_RT);

	hpet_write(HPET_CONFIG, cnf | (enable ? HPET_CNF_ENABLE : 0) |
	    (legacy ? HPET_CNF_LEG_RT : 0));
}

uint32_t
hpet_route_cap(int timer)
{
	return (uint32_t)(hpet_read(HPET_TIMER_CONFIG(timer)) >> 32);
}

/*
 * The comparator is written before the interrupt is enabled, so a stale
 * comparator cannot fire in between; a match that falls in between is
 * lost, as on the hardware.  So the counter is read once the interrupt
 * is on: still short of the comparator, the interrupt will come.
 */
bool
hpet_timer_oneshot(int timer, int route, uint64_t ticks, bool level)
{
	uint64_t cnf = (uint64_t)(route & 0x1f) << HPET_TN_ROUTE_SHIFT |
	    (level ? HPET_TN_LEVEL : 0);
	uint64_t cmp;

	hpet_write(HPET_TIMER_CONFIG(timer), cnf);
	cmp = hpet_counter() + ticks;
	hpet_write(HPET_TIMER_CMP(timer), cmp);
	hpet_write(HPET_TIMER_CONFIG(timer), cnf | HPET_TN_INT_ENB);
	if ((int64_t)(hpet_counter() - cmp) < 0)
		return true;
	hpet_timer_stop(timer);
	return false;
}

/*
 * A vCPU stalled by the host past the match gets another try with twice
 * the delay, once any interrupt the late match may still have sent has
 * been taken.
 */
bool
hpet_oneshot_us(int timer, int route, uint64_t us, bool level)
{
	for (int i = 0; i < HPET_ARM_TRIES; i++, us *= 2) {
		if (hpet_timer_oneshot(timer, route, hpet_us_to_ticks(us),
		    level))
			return true;
		printf("hpet: timer %d armed too late, again\n", timer);
		lapic_delay_us((uint32_t)us);
	}
	return false;
}

void
hpet_timer_stop(int timer)
{
	hpet_write(HPET_TIMER_CONFIG(timer), 0);
}

uint64_t
hpet_us_to_ticks(uint64_t us)
{
	uint32_t p = hpet_period_fs();

	return p ? us * FS_PER_US / p : 0;
}

int
hpet_pick_pin(uint32_t cap)
{
	for (int pin = 16; pin < 32; pin++)
		if (cap & (1u << pin))
			return pin;
	return cap ? __builtin_ctz(cap) : -1;
}
