/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A sorted array of regions searched by bisection.  Lookups take a
 * reference on the region under the lock and call the handler without it,
 * so handlers run in parallel on different vCPUs and may register or
 * remove other regions (PCI BAR moves from a config-space write).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "iomem.h"

struct io_entry {
	struct io_region r;
	int refs;      /* handlers running, plus one while registered */
};

struct io_registry {
	uint64_t limit;
	pthread_mutex_t lock;
	pthread_cond_t released; /* an entry's refs dropped */
	struct io_entry **ents;	 /* sorted by base */
	size_t n, cap;
};

struct io_registry *
io_registry_create(uint64_t limit)
{
	struct io_registry *reg = calloc(1, sizeof(*reg));

	if (reg == NULL)
		return NULL;
	reg->limit = limit;
	pthread_mutex_init(&reg->lock, NULL);
	pthread_cond_init(&reg->released, NULL);
	return reg;
}

void
io_registry_destroy(struct io_registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->n; i++)
		free(reg->ents[i]);
	free(reg->ents);
	pthread_cond_destroy(&reg->released);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* Index of the first entry whose base is above 'addr'. */
static size_t
upper_bound(const struct io_registry *reg, uint64_t addr)
{
	size_t lo = 0, hi = reg->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reg->ents[mid]->r.base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entry holding [addr, addr+size), or NULL. */
static struct io_entry *
lookup(const struct io_registry *reg, uint64_t addr, uint64_t size)
{
	size_t i = upper_bound(reg, addr);
	struct io_entry *e;

	if (i == 0)
		return NULL;
	e = reg->ents[i - 1];
	if (addr - e->r.base >= e->r.size || size > e->r.size ||
	    addr - e->r.base > e->r.size - size)
		return NULL;
	return e;
}

static bool
overlaps(const struct io_registry *reg, size_t i, const struct io_region *r)
{
	const struct io_region *prev = i > 0 ? &reg->ents[i - 1]->r : NULL;
	const struct io_region *next = i < reg->n ? &reg->ents[i]->r : NULL;

	if (prev && r->base - prev->base < prev->size)
		return true;
	return next && next->base - r->base < r->size;
}

static int
grow(struct io_registry *reg)
{
	size_t cap = reg->cap ? reg->cap * 2 : 16;
	struct io_entry **p = realloc(reg->ents, cap * sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	reg->ents = p;
	reg->cap = cap;
	return 0;
}

int
io_register(struct io_registry *reg, const struct io_region *region)
{
	struct io_entry *e;
	size_t i;
	int error = 0;

	if (region->size == 0 || region->handler == NULL ||
	    region->base >= reg->limit ||
	    region->size > reg->limit - region->base)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->r = *region;
	e->refs = 1;
	pthread_mutex_lock(&reg->lock);
	i = upper_bound(reg, region->base);
	if (overlaps(reg, i, region))
		error = -EEXIST;
	else if (reg->n == reg->cap)
		error = grow(reg);
	if (error == 0) {
		memmove(&reg->ents[i + 1], &reg->ents[i],
		    (reg->n - i) * sizeof(reg->ents[0]));
		reg->ents[i] = e;
		reg->n++;
	}
	pthread_mutex_unlock(&reg->lock);
	if (error)
		free(e);
	return error;
}

int
io_unregister(struct io_registry *reg, uint64_t base)
{
	struct io_entry *e;
	size_t i;

	pthread_mutex_lock(&reg->lock);
	i = upper_bound(reg, base);
	if (i == 0 || reg->ents[i - 1]->r.base != base) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOENT;
	}
	e = reg->ents[i - 1];
	memmove(&reg->ents[i - 1], &reg->ents[i],
	    (reg->n - i) * sizeof(reg->ents[0]));
	reg->n--;
	e->refs--;
	while (e->refs > 0)
		pthread_cond_wait(&reg->released, &reg->lock);
	pthread_mutex_unlock(&reg->lock);
	free(e);
	return 0;
}

int
io_dispatch(struct io_registry *reg, struct vcpu *vcpu, bool write,
    uint64_t addr, int size, uint64_t *val)
{
	struct io_entry *e;
	int error;

	pthread_mutex_lock(&reg->lock);
	e = lookup(reg, addr, (uint64_t)size);
	if (e)
		e->refs++;
	pthread_mutex_unlock(&reg->lock);
	if (e == NULL)
		return -ENOENT;

	error = e->r.handler(vcpu, write, addr - e->r.base, size, val,
	    e->r.arg);

	pthread_mutex_lock(&reg->lock);
	if (--e->refs == 0)
		pthread_cond_broadcast(&reg->released);
	pthread_mutex_unlock(&reg->lock);
	return error;
}

const char *
io_region_name(struct io_registry *reg, uint64_t addr)
{
	const char *name;
	struct io_entry *e;

	pthread_mutex_lock(&reg->lock);
	e = lookup(reg, addr, 1);
	name = e ? e->r.name : NULL;
	pthread_mutex_unlock(&reg->lock);
	return name;
}
