/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Time for the vmm's chips (xhyve's callout shim, with an injectable
 * clock).  Every chip reads time from one struct vmm_timebase and arms
 * timers as callouts on it.
 *
 * A real timebase reads CLOCK_MONOTONIC and runs due callouts on its own
 * thread.  A manual timebase (unit tests) only moves when the test calls
 * vmm_timebase_advance(), which runs the callouts that fell due, in
 * deadline order, on the caller's thread: chip timers become deterministic.
 *
 * A callout function runs without any timebase lock held and takes its
 * chip's own lock.  The FreeBSD callout idiom applies, because a chip
 * stops or re-arms its timer while holding its lock, possibly just as the
 * function is about to take that lock:
 *
 *	chip_timer_fn(arg): lock chip;
 *	    if (vmm_callout_pending(c) || !vmm_callout_active(c))
 *		unlock, return;		(re-armed or stopped meanwhile)
 *	    vmm_callout_deactivate(c); ... fire ...; unlock
 *
 * vmm_callout_stop() never waits.  vmm_callout_drain() also waits for a
 * running function to return (unless called from it): call it without the
 * chip lock, at teardown, before freeing the callout.
 */
#ifndef VMM_TIME_H
#define VMM_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000ULL

struct vmm_timebase;

typedef void vmm_callout_fn_t(void *arg);

struct vmm_callout {
	struct vmm_timebase *tb;
	vmm_callout_fn_t *fn;
	void *arg;
	uint64_t deadline;	   /* ns on the timebase's clock */
	bool armed;		   /* on the list: "pending" */
	bool active;		   /* armed by reset, cleared by stop */
	struct vmm_callout *next;  /* on the armed list, by deadline */
};

struct vmm_timebase *vmm_timebase_create_real(void);
struct vmm_timebase *vmm_timebase_create_manual(uint64_t start_ns);
/* All callouts must be stopped first. */
void vmm_timebase_destroy(struct vmm_timebase *tb);

uint64_t vmm_now(struct vmm_timebase *tb);
/* Manual timebases only: move the clock to now + ns, firing callouts. */
void vmm_timebase_advance(struct vmm_timebase *tb, uint64_t ns);

void vmm_callout_init(struct vmm_callout *c, struct vmm_timebase *tb,
    vmm_callout_fn_t *fn, void *arg);
/* Arm (or re-arm) for an absolute deadline; a past deadline fires at once. */
void vmm_callout_reset(struct vmm_callout *c, uint64_t deadline_ns);
void vmm_callout_stop(struct vmm_callout *c);
void vmm_callout_drain(struct vmm_callout *c);
bool vmm_callout_pending(struct vmm_callout *c);
bool vmm_callout_active(struct vmm_callout *c);
void vmm_callout_deactivate(struct vmm_callout *c);

#endif /* VMM_TIME_H */
