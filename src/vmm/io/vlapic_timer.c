/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The local APIC timer (SDM 11.5.4): one-shot, periodic and TSC-deadline
 * modes on a callout of the vmm timebase.  Nothing polls: the current
 * count is computed from the next expiry and the time now, and a
 * callout fires at each expiry.
 *
 * State: 'timer_running' and 'timer_fire_ns' say when the count reaches
 * zero next (or when the TSC deadline falls due).  Periodic mode re-arms
 * from the deadline it fired for, not from "now", so expiries do not
 * drift; if the timer thread fell more than a period behind, missed
 * expiries are dropped (a guest IRR holds one anyway), as bhyve does.
 */
#include <errno.h>

#include "vlapic_priv.h"

#define VLAPIC_NS_PER_BUS_TICK (NS_PER_SEC / VLAPIC_BUS_FREQ_HZ)

/* Cap for a TSC deadline converted to ns: about 146 years from now. */
#define VLAPIC_TSCDL_MAX_NS (1ull << 62)

static void vlapic_timer_callout(void *arg);

static uint32_t
vlapic_timer_mode(const struct vlapic *v)
{
	return v->lvt[VLAPIC_LVT_TIMER] & APIC_LVTT_MODE_MASK;
}

static bool
vlapic_timer_periodic(const struct vlapic *v)
{
	return vlapic_timer_mode(v) == APIC_LVTT_PERIODIC;
}

static bool
vlapic_timer_tscdl(const struct vlapic *v)
{
	return vlapic_timer_mode(v) == APIC_LVTT_TSCDL;
}

/* DCR bits 3,1,0: 000 -> 2, 001 -> 4, ... 110 -> 128, 111 -> 1. */
static uint64_t
vlapic_timer_tick_ns(const struct vlapic *v)
{
	uint32_t code = (v->timer_dcr & 8) >> 1 | (v->timer_dcr & 3);
	uint64_t div = code == 7 ? 1 : 2ull << code;

	return VLAPIC_NS_PER_BUS_TICK * div;
}

/* The length of a full count; periodic mode is held to the minimum. */
static uint64_t
vlapic_timer_period_ns(const struct vlapic *v)
{
	uint64_t period = (uint64_t)v->timer_icr * vlapic_timer_tick_ns(v);

	if (vlapic_timer_periodic(v) && period < VLAPIC_TIMER_MIN_PERIOD_NS)
		period = VLAPIC_TIMER_MIN_PERIOD_NS;
	return period;
}

static void
vlapic_timer_arm_locked(struct vlapic *v, uint64_t fire_ns)
{
	v->timer_running = true;
	v->timer_fire_ns = fire_ns;
	vmm_callout_reset(&v->callout, fire_ns);
}

static void
vlapic_timer_stop_locked(struct vlapic *v)
{
	v->timer_running = false;
	vmm_callout_stop(&v->callout);
}

void
vlapic_timer_init(struct vlapic *v)
{
	vmm_callout_init(&v->callout, v->tb, vlapic_timer_callout, v);
}

void
vlapic_timer_reset_locked(struct vlapic *v)
{
	vlapic_timer_stop_locked(v);
	v->timer_icr = 0;
	v->timer_dcr = 0;
	v->timer_fire_ns = 0;
	v->tsc_deadline = 0;
}

/*
 * Current count: the ticks left until the next expiry, rounded up (the
 * counter only drops once a whole tick has passed), never above the
 * initial count (a clamped periodic timer shows its count held there).
 * Past an expiry the callout has not handled yet, a one-shot timer reads
 * 0 and a periodic one has reloaded.  TSC-deadline mode reads 0.
 */
uint32_t
vlapic_timer_ccr_locked(struct vlapic *v)
{
	uint64_t now, rem, tick, ccr;

	if (!v->timer_running || vlapic_timer_tscdl(v) || v->timer_icr == 0)
		return 0;
	now = vmm_now(v->tb);
	tick = vlapic_timer_tick_ns(v);
	if (now < v->timer_fire_ns) {
		rem = v->timer_fire_ns - now;
	} else if (vlapic_timer_periodic(v)) {
		uint64_t period = vlapic_timer_period_ns(v);

		rem = period - (now - v->timer_fire_ns) % period;
	} else {
		return 0;
	}
	ccr = (rem + tick - 1) / tick;
	return ccr < v->timer_icr ? (uint32_t)ccr : v->timer_icr;
}

/* Initial count: starts (or, with 0, stops) the count (SDM 11.5.4). */
void
vlapic_timer_write_icr_locked(struct vlapic *v, uint32_t val)
{
	if (vlapic_timer_tscdl(v))
		return; /* ignored in TSC-deadline mode */
	v->timer_icr = val;
	if (val == 0) {
		vlapic_timer_stop_locked(v);
		return;
	}
	vlapic_timer_arm_locked(v, vmm_now(v->tb) + vlapic_timer_period_ns(v));
}

/*
 * A new divider changes the count rate at once: the ticks left are kept
 * and counted at the new rate, and later periods use it too.
 */
void
vlapic_timer_write_dcr_locked(struct vlapic *v, uint32_t val)
{
	uint64_t left, delay;

	val &= APIC_DCR_MASK;
	if (val == v->timer_dcr)
		return;
	if (!v->timer_running || vlapic_timer_tscdl(v) || v->timer_icr == 0) {
		v->timer_dcr = val;
		return;
	}
	left = vlapic_timer_ccr_locked(v);
	v->timer_dcr = val;
	delay = left * vlapic_timer_tick_ns(v);
	vlapic_timer_arm_locked(v, vmm_now(v->tb) + delay);
}

/*
 * Moving into or out of TSC-deadline mode disarms the timer and clears
 * the initial count and the deadline (SDM 11.5.4.1).  Between one-shot
 * and periodic the count goes on; the mode is looked at on expiry.
 */
void
vlapic_timer_lvt_changed_locked(struct vlapic *v, uint32_t old_lvt)
{
	bool was_tscdl = (old_lvt & APIC_LVTT_MODE_MASK) == APIC_LVTT_TSCDL;

	if (was_tscdl == vlapic_timer_tscdl(v))
		return;
	vlapic_timer_stop_locked(v);
	v->timer_icr = 0;
	v->tsc_deadline = 0;
}

/* The count reached zero, or the TSC deadline passed. */
static void
vlapic_timer_expire_locked(struct vlapic *v, struct vlapic_work *w)
{
	uint64_t now, next, period;

	v->stats.timer_fires++;
	(void)vlapic_fire_lvt_locked(v, VLAPIC_LVT_TIMER, w);
	if (vlapic_timer_tscdl(v)) {
		/* The MSR reads 0 once its deadline has fired. */
		v->tsc_deadline = 0;
		v->timer_running = false;
		return;
	}
	if (!vlapic_timer_periodic(v)) {
		v->timer_running = false;
		return;
	}
	now = vmm_now(v->tb);
	period = vlapic_timer_period_ns(v);
	next = v->timer_fire_ns + period;
	if (next <= now)
		next = now + period; /* a period or more behind: drop them */
	vlapic_timer_arm_locked(v, next);
}

/* The FreeBSD callout idiom: see vmm_time.h. */
static void
vlapic_timer_callout(void *arg)
{
	struct vlapic *v = arg;
	struct vlapic_work w;

	vlapic_lock(v, &w);
	if (vmm_callout_pending(&v->callout) ||
	    !vmm_callout_active(&v->callout))
		goto out; /* re-armed or stopped meanwhile */
	vmm_callout_deactivate(&v->callout);
	if (v->timer_running)
		vlapic_timer_expire_locked(v, &w);
out:
	vlapic_unlock(v, &w);
}

/* ---- IA32_TSC_DEADLINE (SDM 11.5.4.1). ---- */

/* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
int
vlapic_tscdl_read_locked(struct vlapic *v, uint64_t *val)
{
	if (!vlapic_tscdl_supported(v))
		return -EINVAL;
	*val = vlapic_timer_tscdl(v) ? v->tsc_deadline : 0;
	return 0;
}

/* Guest TSC ticks to ns on the timebase, rounded up: never early. */
static uint64_t
vlapic_tscdl_delay_ns(const struct vlapic *v, uint64_t ticks)
{
	unsigned __int128 ns = (unsigned __int128)ticks * NS_PER_SEC;

	ns = (ns + v->ops.tsc_hz - 1) / v->ops.tsc_hz;
	return ns > VLAPIC_TSCDL_MAX_NS ? VLAPIC_TSCDL_MAX_NS : (uint64_t)ns;
}

int
vlapic_tscdl_write_locked(struct vlapic *v, uint64_t val,
    struct vlapic_work *w)
{
	uint64_t tsc, delay;

	if (!vlapic_tscdl_supported(v))
		return -EINVAL;
	if (!vlapic_timer_tscdl(v))
		return 0;
	v->tsc_deadline = val;
	if (val == 0) {
		vlapic_timer_stop_locked(v); /* writing 0 disarms */
		return 0;
	}
	tsc = v->ops.guest_tsc(v->ops.arg);
	if (val <= tsc) {
		vlapic_timer_stop_locked(v); /* already due: fire now */
		vlapic_timer_expire_locked(v, w);
		return 0;
	}
	delay = vlapic_tscdl_delay_ns(v, val - tsc);
	vlapic_timer_arm_locked(v, vmm_now(v->tb) + delay);
	return 0;
}
