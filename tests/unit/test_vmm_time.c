/* SPDX-License-Identifier: BSD-2-Clause */
/* Timebases and callouts: deterministic firing on a manual clock. */
#include <stdatomic.h>
#include <unistd.h>

#include "test.h"
#include "vmm_time.h"

struct log {
	struct vmm_timebase *tb;
	int order[8];
	uint64_t when[8];
	int n;
};

struct tick {
	struct log *log;
	int id;
	uint64_t period; /* re-arm from the callout when non-zero */
	int left;
	struct vmm_callout c;
};

static void
tick_fn(void *arg)
{
	struct tick *t = arg;
	struct log *l = t->log;

	if (l->n < 8) {
		l->order[l->n] = t->id;
		l->when[l->n] = vmm_now(l->tb);
		l->n++;
	}
	if (t->period && --t->left > 0)
		vmm_callout_reset(&t->c, t->c.deadline + t->period);
}

TEST(manual_clock_fires_in_deadline_order)
{
	struct vmm_timebase *tb = vmm_timebase_create_manual(1000);
	struct log l = { .tb = tb };
	struct tick a = { .log = &l, .id = 1 }, b = { .log = &l, .id = 2 };

	REQUIRE(tb != NULL);
	CHECK_EQ(vmm_now(tb), 1000);
	vmm_callout_init(&a.c, tb, tick_fn, &a);
	vmm_callout_init(&b.c, tb, tick_fn, &b);
	vmm_callout_reset(&a.c, 1500);
	vmm_callout_reset(&b.c, 1200);
	CHECK(vmm_callout_pending(&a.c));
	vmm_timebase_advance(tb, 100);
	CHECK_EQ(l.n, 0);
	vmm_timebase_advance(tb, 1000);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(l.order[0], 2);
	CHECK_EQ(l.when[0], 1200);
	CHECK_EQ(l.order[1], 1);
	CHECK_EQ(l.when[1], 1500);
	CHECK_EQ(vmm_now(tb), 2100);
	CHECK(!vmm_callout_pending(&a.c));
	vmm_timebase_destroy(tb);
}

TEST(reset_moves_and_stop_cancels)
{
	struct vmm_timebase *tb = vmm_timebase_create_manual(0);
	struct log l = { .tb = tb };
	struct tick a = { .log = &l, .id = 1 };

	REQUIRE(tb != NULL);
	vmm_callout_init(&a.c, tb, tick_fn, &a);
	vmm_callout_reset(&a.c, 100);
	vmm_callout_reset(&a.c, 300);
	vmm_timebase_advance(tb, 200);
	CHECK_EQ(l.n, 0);
	CHECK(vmm_callout_active(&a.c));
	vmm_callout_stop(&a.c);
	CHECK(!vmm_callout_active(&a.c));
	vmm_timebase_advance(tb, 1000);
	CHECK_EQ(l.n, 0);
	vmm_timebase_destroy(tb);
}

TEST(periodic_rearm_from_the_callout)
{
	struct vmm_timebase *tb = vmm_timebase_create_manual(0);
	struct log l = { .tb = tb };
	struct tick a = { .log = &l, .id = 1, .period = 10, .left = 4 };

	REQUIRE(tb != NULL);
	vmm_callout_init(&a.c, tb, tick_fn, &a);
	vmm_callout_reset(&a.c, 10);
	vmm_timebase_advance(tb, 35);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(l.when[2], 30);
	vmm_timebase_advance(tb, 100);
	CHECK_EQ(l.n, 4);
	CHECK(!vmm_callout_pending(&a.c));
	vmm_timebase_destroy(tb);
}

static atomic_int real_fired;

static void
real_fn(void *arg)
{
	atomic_fetch_add(&real_fired, 1);
}

TEST(real_timebase_runs_due_callouts)
{
	struct vmm_timebase *tb = vmm_timebase_create_real();
	struct vmm_callout c;

	REQUIRE(tb != NULL);
	vmm_callout_init(&c, tb, real_fn, NULL);
	vmm_callout_reset(&c, vmm_now(tb) + 1000000);
	/* Bounded wait for the event, not a timing assertion. */
	for (int i = 0; i < 5000 && atomic_load(&real_fired) == 0; i++)
		usleep(1000);
	CHECK_EQ(atomic_load(&real_fired), 1);
	vmm_callout_drain(&c);
	vmm_timebase_destroy(tb);
}

TEST_MAIN(TEST_ENTRY(manual_clock_fires_in_deadline_order)
    TEST_ENTRY(reset_moves_and_stop_cancels)
    TEST_ENTRY(periodic_rearm_from_the_callout)
    TEST_ENTRY(real_timebase_runs_due_callouts))
