/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The E820 memory map (see e820.h).
 */
#include <errno.h>
#include <string.h>

#include "e820.h"
#include "fwcfg.h"
#include "vmmapi.h"

void
e820_init(struct e820_map *m)
{
	*m = (struct e820_map){ .n = 0 };
}

static void
e820_remove_at(struct e820_map *m, int i)
{
	memmove(&m->ent[i], &m->ent[i + 1],
	    (size_t)(m->n - i - 1) * sizeof(m->ent[0]));
	m->n--;
}

static int
e820_insert_at(struct e820_map *m, int i, const struct e820_entry *e)
{
	if (m->n == E820_MAX)
		return -ENOSPC;
	memmove(&m->ent[i + 1], &m->ent[i],
	    (size_t)(m->n - i) * sizeof(m->ent[0]));
	m->ent[i] = *e;
	m->n++;
	return 0;
}

/*
 * Cut [base, end) out of entry i, which overlaps it: the entry shrinks,
 * disappears, or splits in two.  Returns the index after what is left.
 */
static int
e820_cut(struct e820_map *m, int i, uint64_t base, uint64_t end)
{
	struct e820_entry *e = &m->ent[i];
	uint64_t e_end = e->base + e->len;

	if (e->base < base && e_end > end) {
		struct e820_entry tail = { .base = end, .len = e_end - end,
			.type = e->type };

		e->len = base - e->base;
		return e820_insert_at(m, i + 1, &tail) == 0 ? i + 2 : -ENOSPC;
	}
	if (e->base < base) {
		e->len = base - e->base;
		return i + 1;
	}
	if (e_end > end) {
		e->len = e_end - end;
		e->base = end;
		return i + 1;
	}
	e820_remove_at(m, i);
	return i;
}

/* Join neighbours that touch and share a type. */
static void
e820_merge(struct e820_map *m)
{
	for (int i = 0; i + 1 < m->n;) {
		struct e820_entry *a = &m->ent[i], *b = &m->ent[i + 1];

		if (a->type == b->type && a->base + a->len == b->base) {
			a->len += b->len;
			e820_remove_at(m, i + 1);
		} else {
			i++;
		}
	}
}

/* Works on a copy, so that a map that runs out of room is left as it was. */
int
e820_add(struct e820_map *m, uint64_t base, uint64_t len, uint32_t type)
{
	struct e820_entry e = { .base = base, .len = len, .type = type };
	struct e820_map t = *m;
	uint64_t end = base + len;
	int i = 0;

	if (len == 0 || end < base || type < E820_TYPE_RAM ||
	    type > E820_TYPE_UNUSABLE)
		return -EINVAL;
	while (i < t.n) {
		const struct e820_entry *c = &t.ent[i];

		if (c->base >= end || c->base + c->len <= base) {
			i++;
			continue;
		}
		i = e820_cut(&t, i, base, end);
		if (i < 0)
			return i;
	}
	for (i = 0; i < t.n && t.ent[i].base < base; i++)
		;
	if (e820_insert_at(&t, i, &e) != 0)
		return -ENOSPC;
	e820_merge(&t);
	*m = t;
	return 0;
}

int
e820_from_ram(struct e820_map *m, uint64_t lowmem, uint64_t highmem)
{
	int error = 0;

	e820_init(m);
	if (lowmem > E820_EBDA)
		error = e820_add(m, 0, E820_EBDA, E820_TYPE_RAM);
	else if (lowmem > 0)
		error = e820_add(m, 0, lowmem, E820_TYPE_RAM);
	if (error == 0)
		error = e820_add(m, E820_EBDA, E820_1M - E820_EBDA,
		    E820_TYPE_RESERVED);
	if (error == 0 && lowmem > E820_1M)
		error = e820_add(m, E820_1M, lowmem - E820_1M, E820_TYPE_RAM);
	if (error == 0 && highmem > 0)
		error = e820_add(m, E820_4G, highmem, E820_TYPE_RAM);
	return error;
}

int
e820_from_vm(struct e820_map *m, struct vmctx *ctx)
{
	return e820_from_ram(m, vm_get_lowmem_size(ctx),
	    vm_get_highmem_size(ctx));
}

uint64_t
e820_total(const struct e820_map *m, uint32_t type)
{
	uint64_t sum = 0;

	for (int i = 0; i < m->n; i++)
		if (m->ent[i].type == type)
			sum += m->ent[i].len;
	return sum;
}

bool
e820_covers(const struct e820_map *m, uint64_t base, uint64_t len,
    uint32_t type)
{
	for (int i = 0; i < m->n; i++) {
		const struct e820_entry *e = &m->ent[i];

		if (e->type == type && base >= e->base &&
		    base - e->base <= e->len && len <= e->len - (base - e->base))
			return true;
	}
	return false;
}

static void
e820_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

size_t
e820_encode(const struct e820_map *m, uint8_t *out)
{
	for (int i = 0; i < m->n; i++) {
		uint8_t *p = out + (size_t)i * E820_FWCFG_ENTRY;

		e820_put_le(p, m->ent[i].base, 8);
		e820_put_le(p + 8, m->ent[i].len, 8);
		e820_put_le(p + 16, m->ent[i].type, 4);
	}
	return (size_t)m->n * E820_FWCFG_ENTRY;
}

int
e820_fwcfg_install(struct fwcfg_softc *sc, const struct e820_map *m)
{
	uint8_t buf[E820_MAX * E820_FWCFG_ENTRY];
	size_t len = e820_encode(m, buf);

	return fwcfg_add_file(sc, "etc/e820", buf, (uint32_t)len);
}
