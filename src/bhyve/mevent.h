/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The event loop (bhyve's mevent): one thread waits on file descriptors
 * and timers with epoll and runs their callbacks.  Events may be added and
 * deleted from any thread; a deleted event's callback is never called
 * again, and its memory is released by the loop once no callback can be
 * using it.
 */
#ifndef MEVENT_H
#define MEVENT_H

#include <stdint.h>

enum mevent_type {
	EVF_READ,
	EVF_WRITE,
	EVF_TIMER, /* 'fd' is ignored; a timerfd is made */
};

struct mevent_ctx;
struct mevent;

typedef void mevent_cb_t(int fd, enum mevent_type type, void *arg);

struct mevent_ctx *mevent_create(void);
/* Frees every event still registered; the loop must not be running. */
void mevent_destroy(struct mevent_ctx *mev);

struct mevent *mevent_add(struct mevent_ctx *mev, int fd,
    enum mevent_type type, mevent_cb_t *cb, void *arg);
/* A timer firing every 'period_ns' (0: once, after 'first_ns'). */
struct mevent *mevent_add_timer(struct mevent_ctx *mev, uint64_t first_ns,
    uint64_t period_ns, mevent_cb_t *cb, void *arg);
int mevent_enable(struct mevent *evp);
int mevent_disable(struct mevent *evp);
/* Stop watching; closes the fd too for mevent_delete_close. */
int mevent_delete(struct mevent *evp);
int mevent_delete_close(struct mevent *evp);

/* Run callbacks until mevent_stop(); returns 0 or a negative errno. */
int mevent_dispatch(struct mevent_ctx *mev);
/* Make mevent_dispatch() return; safe from any thread or signal handler. */
void mevent_stop(struct mevent_ctx *mev);
/* Run one round: wait up to timeout_ms (-1 forever) and dispatch. */
int mevent_run_once(struct mevent_ctx *mev, int timeout_ms);

#endif /* MEVENT_H */
