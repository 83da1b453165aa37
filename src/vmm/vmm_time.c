/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Timebases and callouts.  Armed callouts sit on one list sorted by
 * deadline; the real timebase's thread sleeps on a condition variable
 * until the earliest deadline (CLOCK_MONOTONIC) or until the list changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "vmm_time.h"

struct vmm_timebase {
	bool manual;
	uint64_t manual_now;

	pthread_mutex_t lock;
	pthread_cond_t cv;	 /* the list changed, or stop */
	pthread_cond_t done_cv;	 /* a callout function returned */
	struct vmm_callout *armed;
	struct vmm_callout *running; /* whose function is running now */
	pthread_t runner;	     /* the thread running it */
	bool stopping;
	bool have_thread;
	pthread_t thread;
};

static uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t
vmm_now(struct vmm_timebase *tb)
{
	uint64_t t;

	if (!tb->manual)
		return monotonic_ns();
	pthread_mutex_lock(&tb->lock);
	t = tb->manual_now;
	pthread_mutex_unlock(&tb->lock);
	return t;
}

static void
unlink_locked(struct vmm_callout *c)
{
	struct vmm_callout **pp = &c->tb->armed;

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->next;
	if (*pp == c)
		*pp = c->next;
	c->next = NULL;
	c->armed = false;
}

/*
 * Take the earliest due callout off the list and run it with the lock
 * dropped.  Returns false when nothing is due at 'now'.
 */
static bool
fire_one_locked(struct vmm_timebase *tb, uint64_t now)
{
	struct vmm_callout *c = tb->armed;

	if (c == NULL || c->deadline > now)
		return false;
	unlink_locked(c);
	tb->running = c;
	tb->runner = pthread_self();
	pthread_mutex_unlock(&tb->lock);
	c->fn(c->arg);
	pthread_mutex_lock(&tb->lock);
	tb->running = NULL;
	pthread_cond_broadcast(&tb->done_cv);
	return true;
}

static struct timespec
abs_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NS_PER_SEC),
		.tv_nsec = (long)(ns % NS_PER_SEC) };
}

static void *
timebase_thread(void *arg)
{
	struct vmm_timebase *tb = arg;

	pthread_setname_np(pthread_self(), "vmm timers");
	/*
	 * Linux lets a timed wait end up to 50 us late by default (timer
	 * slack); every guest timer would inherit that.  QEMU does the same.
	 */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	pthread_mutex_lock(&tb->lock);
	while (!tb->stopping) {
		if (fire_one_locked(tb, monotonic_ns()))
			continue;
		if (tb->armed == NULL) {
			pthread_cond_wait(&tb->cv, &tb->lock);
		} else {
			struct timespec ts = abs_timespec(tb->armed->deadline);

			pthread_cond_timedwait(&tb->cv, &tb->lock, &ts);
		}
	}
	pthread_mutex_unlock(&tb->lock);
	return NULL;
}

static struct vmm_timebase *
timebase_alloc(bool manual)
{
	struct vmm_timebase *tb = calloc(1, sizeof(*tb));
	pthread_condattr_t attr;

	if (tb == NULL)
		return NULL;
	tb->manual = manual;
	pthread_mutex_init(&tb->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&tb->cv, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&tb->done_cv, NULL);
	return tb;
}

struct vmm_timebase *
vmm_timebase_create_real(void)
{
	struct vmm_timebase *tb = timebase_alloc(false);

	if (tb == NULL)
		return NULL;
	if (pthread_create(&tb->thread, NULL, timebase_thread, tb) != 0) {
		vmm_timebase_destroy(tb);
		return NULL;
	}
	tb->have_thread = true;
	return tb;
}

struct vmm_timebase *
vmm_timebase_create_manual(uint64_t start_ns)
{
	struct vmm_timebase *tb = timebase_alloc(true);

	if (tb)
		tb->manual_now = start_ns;
	return tb;
}

void
vmm_timebase_destroy(struct vmm_timebase *tb)
{
	if (tb == NULL)
		return;
	if (tb->have_thread) {
		pthread_mutex_lock(&tb->lock);
		tb->stopping = true;
		pthread_cond_broadcast(&tb->cv);
		pthread_mutex_unlock(&tb->lock);
		pthread_join(tb->thread, NULL);
	}
	pthread_cond_destroy(&tb->cv);
	pthread_cond_destroy(&tb->done_cv);
	pthread_mutex_destroy(&tb->lock);
	free(tb);
}

void
vmm_timebase_advance(struct vmm_timebase *tb, uint64_t ns)
{
	uint64_t target;

	pthread_mutex_lock(&tb->lock);
	target = tb->manual_now + ns;
	/* Step through each deadline so callouts see the time they fire at. */
	while (tb->armed != NULL && tb->armed->deadline <= target) {
		if (tb->armed->deadline > tb->manual_now)
			tb->manual_now = tb->armed->deadline;
		fire_one_locked(tb, tb->manual_now);
	}
	tb->manual_now = target;
	pthread_mutex_unlock(&tb->lock);
}

void
vmm_callout_init(struct vmm_callout *c, struct vmm_timebase *tb,
    vmm_callout_fn_t *fn, void *arg)
{
	*c = (struct vmm_callout){ .tb = tb, .fn = fn, .arg = arg };
}

void
vmm_callout_reset(struct vmm_callout *c, uint64_t deadline_ns)
{
	struct vmm_timebase *tb = c->tb;
	struct vmm_callout **pp;

	pthread_mutex_lock(&tb->lock);
	if (c->armed)
		unlink_locked(c);
	c->deadline = deadline_ns;
	for (pp = &tb->armed; *pp != NULL && (*pp)->deadline <= deadline_ns;
	     pp = &(*pp)->next)
		;
	c->next = *pp;
	*pp = c;
	c->armed = true;
	c->active = true;
	if (tb->armed == c)
		pthread_cond_broadcast(&tb->cv); /* a new earliest deadline */
	pthread_mutex_unlock(&tb->lock);
}

void
vmm_callout_stop(struct vmm_callout *c)
{
	pthread_mutex_lock(&c->tb->lock);
	if (c->armed)
		unlink_locked(c);
	c->active = false;
	pthread_mutex_unlock(&c->tb->lock);
}

void
vmm_callout_drain(struct vmm_callout *c)
{
	struct vmm_timebase *tb = c->tb;

	pthread_mutex_lock(&tb->lock);
	if (c->armed)
		unlink_locked(c);
	c->active = false;
	while (tb->running == c && !pthread_equal(tb->runner, pthread_self()))
		pthread_cond_wait(&tb->done_cv, &tb->lock);
	pthread_mutex_unlock(&tb->lock);
}

bool
vmm_callout_pending(struct vmm_callout *c)
{
	bool armed;

	pthread_mutex_lock(&c->tb->lock);
	armed = c->armed;
	pthread_mutex_unlock(&c->tb->lock);
	return armed;
}

bool
vmm_callout_active(struct vmm_callout *c)
{
	bool active;

	pthread_mutex_lock(&c->tb->lock);
	active = c->active;
	pthread_mutex_unlock(&c->tb->lock);
	return active;
}

void
vmm_callout_deactivate(struct vmm_callout *c)
{
	pthread_mutex_lock(&c->tb->lock);
	c->active = false;
	pthread_mutex_unlock(&c->tb->lock);
}
