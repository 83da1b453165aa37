/* SPDX-License-Identifier: BSD-2-Clause */
/* The event loop: fd readiness, timers, enable/disable, deletion, stop. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "mevent.h"
#include "test.h"

struct counter {
	int calls;
	int fd;
	struct mevent *self;
	struct mevent *victim; /* deleted from inside the callback */
};

static void
count_cb(int fd, enum mevent_type type, void *arg)
{
	struct counter *c = arg;
	char buf[16];

	c->calls++;
	c->fd = fd;
	if (type == EVF_READ)
		(void)!read(fd, buf, sizeof(buf));
	if (c->victim) {
		mevent_delete(c->victim);
		c->victim = NULL;
	}
}

TEST(read_event_fires_and_disable_stops_it)
{
	struct mevent_ctx *mev = mevent_create();
	struct counter c = { 0 };
	struct mevent *evp;
	int p[2];

	REQUIRE(mev != NULL && pipe(p) == 0);
	evp = mevent_add(mev, p[0], EVF_READ, count_cb, &c);
	REQUIRE(evp != NULL);
	CHECK_EQ(mevent_run_once(mev, 0), 0);
	CHECK_EQ(c.calls, 0);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(mevent_run_once(mev, -1), 0);
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(c.fd, p[0]);
	CHECK_EQ(mevent_disable(evp), 0);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(mevent_run_once(mev, 0), 0);
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(mevent_enable(evp), 0);
	CHECK_EQ(mevent_run_once(mev, -1), 0);
	CHECK_EQ(c.calls, 2);
	CHECK_EQ(mevent_delete_close(evp), 0);
	mevent_destroy(mev);
	/* delete_close closed the read end: writing now fails. */
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(p[1], "x", 1) < 0);
	close(p[1]);
}

TEST(timer_fires_repeatedly)
{
	struct mevent_ctx *mev = mevent_create();
	struct counter c = { 0 };
	struct mevent *evp;

	REQUIRE(mev != NULL);
	evp = mevent_add_timer(mev, 1000, 1000, count_cb, &c);
	REQUIRE(evp != NULL);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(mevent_run_once(mev, -1), 0);
	CHECK_EQ(c.calls, 3);
	CHECK_EQ(mevent_delete(evp), 0);
	CHECK(mevent_delete(evp) != 0);
	mevent_destroy(mev);
}

TEST(event_deleted_by_earlier_callback_is_skipped)
{
	struct mevent_ctx *mev = mevent_create();
	struct counter a = { 0 }, b = { 0 };
	int p[2], q[2];

	REQUIRE(mev != NULL && pipe(p) == 0 && pipe(q) == 0);
	a.self = mevent_add(mev, p[0], EVF_READ, count_cb, &a);
	b.self = mevent_add(mev, q[0], EVF_READ, count_cb, &b);
	REQUIRE(a.self && b.self);
	/* Both ready in one round; whichever runs first deletes the other. */
	a.victim = b.self;
	b.victim = a.self;
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(write(q[1], "x", 1), 1);
	CHECK_EQ(mevent_run_once(mev, -1), 0);
	CHECK_EQ(a.calls + b.calls, 1);
	mevent_destroy(mev);
	close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

static void *
stopper(void *arg)
{
	mevent_stop(arg);
	return NULL;
}

TEST(stop_from_another_thread_ends_dispatch)
{
	struct mevent_ctx *mev = mevent_create();
	pthread_t t;

	REQUIRE(mev != NULL);
	pthread_create(&t, NULL, stopper, mev);
	CHECK_EQ(mevent_dispatch(mev), 0);
	pthread_join(t, NULL);
	mevent_destroy(mev);
}

TEST(refuses_timer_type_for_fd_events)
{
	struct mevent_ctx *mev = mevent_create();

	REQUIRE(mev != NULL);
	CHECK(mevent_add(mev, 0, EVF_TIMER, count_cb, NULL) == NULL);
	CHECK(mevent_add(mev, -1, EVF_READ, count_cb, NULL) == NULL);
	mevent_destroy(mev);
}

TEST_MAIN(TEST_ENTRY(read_event_fires_and_disable_stops_it)
    TEST_ENTRY(timer_fires_repeatedly)
    TEST_ENTRY(event_deleted_by_earlier_callback_is_skipped)
    TEST_ENTRY(stop_from_another_thread_ends_dispatch)
    TEST_ENTRY(refuses_timer_type_for_fd_events))
