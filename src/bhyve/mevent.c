/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * epoll-based event loop.  Deleted events go on a list that the loop
 * frees after the round in which they were deleted, so a callback that
 * was already picked up in the current epoll batch is skipped rather than
 * called on freed memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "mevent.h"

#define MEVENT_BATCH 32

struct mevent {
	struct mevent_ctx *mev;
	int fd;
	enum mevent_type type;
	mevent_cb_t *cb;
	void *arg;
	bool enabled;
	bool deleted;
	bool close_fd;
	struct mevent *next; /* on the live or the dead list */
};

struct mevent_ctx {
	int epfd;
	int wakefd; /* eventfd: mevent_stop() */
	atomic_bool stop;
	pthread_mutex_t lock; /* the lists */
	struct mevent *live;
	struct mevent *dead;
};

struct mevent_ctx *
mevent_create(void)
{
	struct mevent_ctx *mev = calloc(1, sizeof(*mev));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (mev == NULL)
		return NULL;
	mev->epfd = epoll_create1(EPOLL_CLOEXEC);
	mev->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mev->epfd < 0 || mev->wakefd < 0 ||
	    epoll_ctl(mev->epfd, EPOLL_CTL_ADD, mev->wakefd, &ev) < 0) {
		if (mev->epfd >= 0)
			close(mev->epfd);
		if (mev->wakefd >= 0)
			close(mev->wakefd);
		free(mev);
		return NULL;
	}
	pthread_mutex_init(&mev->lock, NULL);
	return mev;
}

static void
mevent_free(struct mevent *evp)
{
	if (evp->close_fd)
		close(evp->fd);
	free(evp);
}

static void
free_list(struct mevent *evp)
{
	while (evp) {
		struct mevent *next = evp->next;

		mevent_free(evp);
		evp = next;
	}
}

void
mevent_destroy(struct mevent_ctx *mev)
{
	if (mev == NULL)
		return;
	free_list(mev->live);
	free_list(mev->dead);
	close(mev->epfd);
	close(mev->wakefd);
	pthread_mutex_destroy(&mev->lock);
	free(mev);
}

static int
epoll_update(struct mevent *evp, int op)
{
	struct epoll_event ev = {
		.events = evp->type == EVF_WRITE ? EPOLLOUT : EPOLLIN,
		.data.ptr = evp,
	};

	return epoll_ctl(evp->mev->epfd, op, evp->fd, &ev) < 0 ? -errno : 0;
}

static struct mevent *
mevent_register(struct mevent_ctx *mev, int fd, enum mevent_type type,
    mevent_cb_t *cb, void *arg, bool close_fd)
{
	struct mevent *evp = calloc(1, sizeof(*evp));
	int error;

	if (evp == NULL)
		return NULL;
	*evp = (struct mevent){ .mev = mev, .fd = fd, .type = type,
		.cb = cb, .arg = arg, .enabled = true, .close_fd = close_fd };
	error = epoll_update(evp, EPOLL_CTL_ADD);
	if (error) {
		free(evp);
		errno = -error;
		return NULL;
	}
	pthread_mutex_lock(&mev->lock);
	evp->next = mev->live;
	mev->live = evp;
	pthread_mutex_unlock(&mev->lock);
	return evp;
}

struct mevent *
mevent_add(struct mevent_ctx *mev, int fd, enum mevent_type type,
    mevent_cb_t *cb, void *arg)
{
	if (type == EVF_TIMER) {
		errno = EINVAL;
		return NULL;
	}
	return mevent_register(mev, fd, type, cb, arg, false);
}

static struct timespec
ns_to_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u) };
}

struct mevent *
mevent_add_timer(struct mevent_ctx *mev, uint64_t first_ns,
    uint64_t period_ns, mevent_cb_t *cb, void *arg)
{
	struct itimerspec its = { .it_value = ns_to_ts(first_ns ? first_ns : 1),
		.it_interval = ns_to_ts(period_ns) };
	struct mevent *evp;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return NULL;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return NULL;
	}
	evp = mevent_register(mev, fd, EVF_TIMER, cb, arg, true);
	if (evp == NULL)
		close(fd);
	return evp;
}

static int
mevent_set_enabled(struct mevent *evp, bool on)
{
	int error = 0;

	pthread_mutex_lock(&evp->mev->lock);
	if (evp->deleted)
		error = -EINVAL;
	else if (evp->enabled != on)
		error = epoll_update(evp, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL);
	if (error == 0)
		evp->enabled = on;
	pthread_mutex_unlock(&evp->mev->lock);
	return error;
}

int
mevent_enable(struct mevent *evp)
{
	return mevent_set_enabled(evp, true);
}

int
mevent_disable(struct mevent *evp)
{
	return mevent_set_enabled(evp, false);
}

static int
mevent_remove(struct mevent *evp, bool close_fd)
{
	struct mevent_ctx *mev = evp->mev;
	struct mevent **pp;

	pthread_mutex_lock(&mev->lock);
	if (evp->deleted) {
		pthread_mutex_unlock(&mev->lock);
		return -EINVAL;
	}
	if (evp->enabled)
		epoll_ctl(mev->epfd, EPOLL_CTL_DEL, evp->fd, NULL);
	evp->deleted = true;
	evp->close_fd |= close_fd;
	for (pp = &mev->live; *pp != evp; pp = &(*pp)->next)
		;
	*pp = evp->next;
	evp->next = mev->dead;
	mev->dead = evp;
	pthread_mutex_unlock(&mev->lock);
	return 0;
}

int
mevent_delete(struct mevent *evp)
{
	return mevent_remove(evp, false);
}

int
mevent_delete_close(struct mevent *evp)
{
	return mevent_remove(evp, true);
}

void
mevent_stop(struct mevent_ctx *mev)
{
	uint64_t one = 1;

	atomic_store(&mev->stop, true);
	/* A full counter already wakes the loop; nothing else can fail. */
	(void)!write(mev->wakefd, &one, sizeof(one));
}

static void
drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static void
reap_dead(struct mevent_ctx *mev)
{
	struct mevent *dead;

	pthread_mutex_lock(&mev->lock);
	dead = mev->dead;
	mev->dead = NULL;
	pthread_mutex_unlock(&mev->lock);
	free_list(dead);
}

static void
mevent_fire(struct mevent_ctx *mev, struct mevent *evp)
{
	bool skip;

	pthread_mutex_lock(&mev->lock);
	skip = evp->deleted || !evp->enabled;
	pthread_mutex_unlock(&mev->lock);
	if (skip)
		return;
	if (evp->type == EVF_TIMER)
		drain(evp->fd);
	evp->cb(evp->fd, evp->type, evp->arg);
}

int
mevent_run_once(struct mevent_ctx *mev, int timeout_ms)
{
	struct epoll_event evs[MEVENT_BATCH];
	int n = epoll_wait(mev->epfd, evs, MEVENT_BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL)
			drain(mev->wakefd);
		else
			mevent_fire(mev, evs[i].data.ptr);
	}
	reap_dead(mev);
	return 0;
}

int
mevent_dispatch(struct mevent_ctx *mev)
{
	while (!atomic_load(&mev->stop)) {
		int error = mevent_run_once(mev, -1);

		if (error)
			return error;
	}
	return 0;
}
