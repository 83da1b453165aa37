/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The JIT's bookkeeping (see x86_jit.h): the doubly mapped code memory,
 * translated blocks and their hash, patchable edges between blocks, the
 * jump cache, the helpers translated code calls, and the dispatcher's
 * way into translated code.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "x86_jit_gen.h"

#define X86_JIT_DATA_SIZE \
	((X86_JIT_MAX_BLKS * sizeof(struct x86_jblk) + 4095) & ~(size_t)4095)

/* LAHF/SAHF in 64-bit mode (CPUID 80000001h:ECX.0) carry the flags. */
static bool
x86_jit_host_ok(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(0x80000001, &a, &b, &c, &d))
		return false;
	return (c & 1) != 0;
}

struct x86_jit *
x86_jit_create(void)
{
	struct x86_jit *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->fd = -1;
	j->mode = X86_JIT_ON;
	j->broken = !x86_jit_host_ok();
	return j;
}

void
x86_jit_destroy(struct x86_jit *j)
{
	if (!j)
		return;
	if (j->rw)
		munmap(j->rw, j->map_size);
	if (j->rx)
		munmap(j->rx, j->map_size);
	if (j->fd >= 0)
		close(j->fd);
	free(j->edges);
	free(j->ctx);
	free(j->sbuf[0]);
	free(j->sbuf[1]);
	free(j);
}

const uint8_t *
x86_jit_code_rx(const struct x86_jit *j, uint32_t off)
{
	return j->rx + off;
}

static void
x86_jit_reset(struct x86_jit *j)
{
	int i;

	j->nblk = 0;
	j->nedge = 0;
	for (i = 0; i < (1 << X86_JIT_HASH_BITS); i++)
		j->hash[i] = -1;
	for (i = 0; i < X86_JC_SIZE; i++) {
		j->jc[i].rip = 0;
		j->jc[i].entry = x86_jit_code_rx(j, j->miss_off);
		j->jc_blk[i] = -1;
	}
}

/*
 * One memfd, two views: read/write for the translator, and at another
 * address the code read/execute and the block records read-only.
 */
static int
x86_jit_map_views(struct x86_jit *j)
{
	uint8_t *base;

	j->map_size = X86_JIT_CODE_SIZE + X86_JIT_DATA_SIZE;
	j->fd = memfd_create("x86-jit", MFD_CLOEXEC);
	if (j->fd < 0 || ftruncate(j->fd, (off_t)j->map_size) != 0)
		return -errno;
	j->rw = mmap(NULL, j->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    j->fd, 0);
	if (j->rw == MAP_FAILED) {
		j->rw = NULL;
		return -errno;
	}
	base = mmap(NULL, j->map_size, PROT_NONE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	j->rx = base;
	if (mmap(base, X86_JIT_CODE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED |
	    MAP_FIXED, j->fd, 0) == MAP_FAILED ||
	    mmap(base + X86_JIT_CODE_SIZE, X86_JIT_DATA_SIZE, PROT_READ,
	    MAP_SHARED | MAP_FIXED, j->fd, X86_JIT_CODE_SIZE) == MAP_FAILED)
		return -errno;
	return 0;
}

/* Code memory on first use; a host that cannot have it runs without. */
static int
x86_jit_map(struct x86_jit *j)
{
	int r;

	if ((r = x86_jit_map_views(j)) != 0)
		return r;
	j->blks = (struct x86_jblk *)(void *)(j->rw + X86_JIT_CODE_SIZE);
	j->edges = calloc(X86_JIT_MAX_EDGES, sizeof(*j->edges));
	j->ctx = malloc(sizeof(*j->ctx));
	j->sbuf[0] = malloc(X86_JIT_SBUF);
	j->sbuf[1] = malloc(X86_JIT_SBUF);
	if (!j->edges || !j->ctx || !j->sbuf[0] || !j->sbuf[1])
		return -ENOMEM;
	if ((r = x86_jit_gen_trampoline(j)) != 0)
		return r;
	j->code_start = j->code_used;
	j->enter = (int (*)(struct x86_cpu *, const uint8_t *))(uintptr_t)
	    j->rx;
	x86_jit_reset(j);
	return 0;
}

/* Drop every translation (never while translated code runs). */
void
x86_jit_flush(struct x86_cpu *cpu)
{
	struct x86_jit *j = cpu->jit;

	if (!j || !j->rw)
		return;
	j->code_used = j->code_start;
	x86_jit_reset(j);
	j->flushes++;
}

uint32_t
x86_jit_key(const struct x86_cpu *cpu)
{
	return (uint32_t)cpu->mode | ((uint32_t)cpu->mmu << 4) |
	    ((uint32_t)cpu->csize << 8);
}

/* ---- blocks: hash by RIP ---- */

static unsigned
x86_jit_hidx(uint64_t rip)
{
	return (unsigned)((rip * 0x9e3779b97f4a7c15ULL) >> (64 -
	    X86_JIT_HASH_BITS));
}

static struct x86_jblk *
x86_jit_find(struct x86_jit *j, uint64_t rip, uint64_t gpa, uint32_t key)
{
	int32_t i;

	for (i = j->hash[x86_jit_hidx(rip)]; i >= 0; i = j->blks[i].hnext) {
		struct x86_jblk *jb = &j->blks[i];
		if (jb->rip == rip && jb->gpa == gpa && jb->key == key)
			return jb;
	}
	return NULL;
}

static void
x86_jit_unhash(struct x86_jit *j, struct x86_jblk *jb)
{
	int32_t *p = &j->hash[x86_jit_hidx(jb->rip)];
	int32_t me = (int32_t)(jb - j->blks);

	while (*p >= 0 && *p != me)
		p = &j->blks[*p].hnext;
	if (*p == me)
		*p = jb->hnext;
}

static void
x86_jit_jc_set(struct x86_jit *j, struct x86_jblk *jb)
{
	unsigned i = X86_JC_IDX(jb->rip);

	j->jc[i].rip = jb->rip;
	j->jc[i].entry = x86_jit_code_rx(j, jb->entry);
	j->jc_blk[i] = (int32_t)(jb - j->blks);
}

static void
x86_jit_jc_drop(struct x86_jit *j, const struct x86_jblk *jb)
{
	unsigned i = X86_JC_IDX(jb->rip);

	if (j->jc_blk[i] == (int32_t)(jb - j->blks)) {
		j->jc[i].rip = 0;
		j->jc[i].entry = x86_jit_code_rx(j, j->miss_off);
		j->jc_blk[i] = -1;
	}
}

/* ---- edges ---- */

int
x86_jit_edge_new(struct x86_jit *j, uint64_t rip)
{
	struct x86_jedge *e;

	if (j->nedge >= X86_JIT_MAX_EDGES)
		return -1;
	e = &j->edges[j->nedge];
	*e = (struct x86_jedge){ .to = -1, .next = -1, .rip = rip };
	return (int)j->nedge++;
}

static void
x86_jit_patch(struct x86_jit *j, uint32_t site, uint32_t to)
{
	int32_t rel = (int32_t)to - (int32_t)(site + 4);

	memcpy(j->rw + site, &rel, 4);
}

/* A JX_LINK exit: point its edge at the block now in the jump cache. */
static void
x86_jit_link(struct x86_cpu *cpu)
{
	struct x86_jit *j = cpu->jit;
	struct x86_jedge *e;
	struct x86_jblk *to;
	unsigned i;

	if (cpu->jlink >= j->nedge)
		return;
	e = &j->edges[cpu->jlink];
	i = X86_JC_IDX(e->rip);
	if (e->to >= 0 || j->jc_blk[i] < 0 || j->jc[i].rip != e->rip)
		return;
	to = &j->blks[j->jc_blk[i]];
	if (to->dead || to->gen != cpu->jgen)
		return;
	x86_jit_patch(j, e->site, to->entry);
	e->to = j->jc_blk[i];
	e->next = to->in_edges;
	to->in_edges = (int32_t)cpu->jlink;
}

/* Edges into 'jb' back to their stubs: relinked at their next use. */
static void
x86_jit_unlink(struct x86_jit *j, struct x86_jblk *jb)
{
	int32_t i;

	for (i = jb->in_edges; i >= 0; i = j->edges[i].next) {
		x86_jit_patch(j, j->edges[i].site, j->edges[i].stub);
		j->edges[i].to = -1;
	}
	jb->in_edges = -1;
}

/* A block whose guest bytes changed: unreachable from now on. */
static void
x86_jit_kill(struct x86_jit *j, struct x86_jblk *jb)
{
	jb->dead = true;
	jb->gen = 0;
	x86_jit_unlink(j, jb);
	x86_jit_unhash(j, jb);
	x86_jit_jc_drop(j, jb);
}

/* ---- helpers called from translated code ---- */

/* The flags in LF_HOST form, as translated code keeps them in memory. */
static void
x86_jit_flags_norm(struct x86_cpu *cpu)
{
	uint64_t f;

	if (cpu->lf_op == LF_HOST)
		return;
	f = x86_get_flags(cpu);
	cpu->lf_res = ((f & (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF)) <<
	    8) | ((f >> 11) & 1);
	cpu->lf_op = LF_HOST;
}

/*
 * A block entered at a new jgen: still what is at its RIP?  Only the TLB
 * is consulted (no page walk: a miss goes back to the dispatcher, which
 * fetches properly and may fault).  1: valid again.
 */
int
x86_jit_reval(struct x86_cpu *cpu, struct x86_jblk *jb)
{
	unsigned i = X86_TLB_IDX(jb->rip);
	const struct x86_tlb_ent *e = &cpu->tlb[cpu->mmu][i];
	const uint8_t *host;

	if (jb->dead || cpu->mode != X86_MODE_LONG ||
	    jb->key != x86_jit_key(cpu) || e->tag_x != (jb->rip >> 12) ||
	    (cpu->tlb_gpa[cpu->mmu][i] & ~0xfffULL) != (jb->gpa & ~0xfffULL))
		goto stale;
	host = (const uint8_t *)(uintptr_t)(jb->rip + e->addend);
	if (memcmp(host, jb->bytes, jb->nbytes) != 0) {
		x86_jit_kill(cpu->jit, jb);
		goto stale;
	}
	jb->gen = cpu->jgen;
	return 1;
stale:
	/* Whoever jumped here should ask the dispatcher next time. */
	x86_jit_unlink(cpu->jit, jb);
	x86_jit_jc_drop(cpu->jit, jb);
	return 0;
}

/*
 * Instruction k of 'jb' through the interpreter's handler.  JX_CONT to go
 * on with the block; else the block is left with the budget refunded for
 * what did not run and cpu->rip where the dispatcher goes on.
 */
int
x86_jit_generic(struct x86_cpu *cpu, struct x86_jblk *jb, uint32_t k)
{
	const struct x86_insn *in = &jb->insn[k];
	uint64_t gen = cpu->jgen;
	int r;

	cpu->rip = jb->rip + in->off;
	cpu->cur = in;
	cpu->cur_code = jb->bytes;
	r = in->fn(cpu, in);
	x86_jit_flags_norm(cpu);
	switch (r) {
	case X86_OK:
		cpu->rip = (cpu->rip + in->len) & cpu->ip_mask;
		if (k + 1 < jb->ninsn && cpu->jgen == gen)
			return JX_CONT;
		cpu->jleft += jb->ninsn - k - 1;
		return JX_DISPATCH;
	case X86_BRANCH:
		cpu->jleft += jb->ninsn - k - 1;
		return JX_DISPATCH;
	case X86_EXC:
		cpu->jleft += jb->ninsn - k;
		return JX_EXC;
	default:
		cpu->jleft += jb->ninsn - k;
		return JX_STOP;
	}
}

/* ---- the dispatcher's side ---- */

static int
x86_jit_run(struct x86_cpu *cpu, const uint8_t *entry, uint64_t left,
    uint64_t *ran)
{
	struct x86_jit *j = cpu->jit;
	int code;

	x86_jit_flags_norm(cpu);
	cpu->jleft = left;
	code = j->enter(cpu, entry);
	*ran = left - cpu->jleft;
	j->runs++;
	j->insns += *ran;
	cpu->cur = NULL;
	switch (code) {
	case JX_EXC:
		return X86_EXC;
	case JX_STOP:
		return X86_STOP;
	case JX_LINK:
		x86_jit_link(cpu);
		return X86_OK;
	default:
		return X86_OK;
	}
}

/*
 * The translation for cpu->rip where the TLB maps it now, if any.  It may
 * be of an older jgen: its entry then compares its bytes with memory.
 */
static struct x86_jblk *
x86_jit_lookup(struct x86_cpu *cpu)
{
	unsigned t = X86_TLB_IDX(cpu->rip);
	uint64_t gpa;

	if (cpu->tlb[cpu->mmu][t].tag_x != (cpu->rip >> 12))
		return NULL;
	gpa = (cpu->tlb_gpa[cpu->mmu][t] & ~0xfffULL) | (cpu->rip & 0xfff);
	return x86_jit_find(cpu->jit, cpu->rip, gpa, x86_jit_key(cpu));
}

/*
 * Through the jump cache, else the translations' hash: a block that fell
 * out of the interpreter's block cache (which is smaller) still runs
 * without being decoded again.
 */
int
x86_jit_try(struct x86_cpu *cpu, uint64_t left, uint64_t *ran)
{
	struct x86_jit *j = cpu->jit;
	unsigned i = X86_JC_IDX(cpu->rip);
	struct x86_jblk *jb;

	if (left < X86_BLK_INSNS || !j->rw)
		return -1;
	if (j->jc_blk[i] < 0 || j->jc[i].rip != cpu->rip) {
		if ((jb = x86_jit_lookup(cpu)) == NULL)
			return -1;
		x86_jit_jc_set(j, jb);
	}
	return x86_jit_run(cpu, j->jc[i].entry, left, ran);
}

/* A new translation of 'b' at cpu->rip; NULL when it is not worth it. */
static struct x86_jblk *
x86_jit_compile(struct x86_cpu *cpu, const struct x86_block *b)
{
	struct x86_jit *j = cpu->jit;
	struct x86_jblk *jb;
	int r, tries;

	if (!j->rw && (j->broken || x86_jit_map(j) != 0)) {
		j->broken = true;
		return NULL;
	}
	for (tries = 0; tries < 2; tries++) {
		if (j->nblk >= X86_JIT_MAX_BLKS ||
		    j->nedge + 2 * X86_BLK_INSNS > X86_JIT_MAX_EDGES)
			x86_jit_flush(cpu);
		jb = &j->blks[j->nblk];
		memset(jb, 0, __builtin_offsetof(struct x86_jblk, insn));
		jb->rip = cpu->rip;
		jb->gpa = b->gpa;
		jb->key = x86_jit_key(cpu);
		jb->gen = cpu->jgen;
		jb->hnext = jb->in_edges = -1;
		jb->ninsn = b->ninsn;
		jb->nbytes = b->nbytes;
		memcpy(jb->bytes, b->bytes, b->nbytes);
		memcpy(jb->insn, b->insn, b->ninsn * sizeof(b->insn[0]));
		r = x86_jit_translate(cpu, jb);
		if (r != -ENOSPC)
			break;
		x86_jit_flush(cpu);
	}
	if (r != 0)
		return NULL;
	jb->hnext = j->hash[x86_jit_hidx(jb->rip)];
	j->hash[x86_jit_hidx(jb->rip)] = (int32_t)j->nblk++;
	j->compiled++;
	return jb;
}

int
x86_jit_hot(struct x86_cpu *cpu, struct x86_block *b, uint64_t left,
    uint64_t *ran)
{
	struct x86_jit *j = cpu->jit;
	uint16_t hot = j->mode == X86_JIT_EAGER ? 1 : X86_JIT_HOT;
	struct x86_jblk *jb = NULL;

	if (left < X86_BLK_INSNS || j->broken)
		return -1;
	if (j->rw)
		jb = x86_jit_find(j, cpu->rip, b->gpa, x86_jit_key(cpu));
	/* 'b' matches guest memory right now: so does jb if it matches b. */
	if (jb && jb->gen != cpu->jgen) {
		if (jb->nbytes <= b->nbytes &&
		    memcmp(jb->bytes, b->bytes, jb->nbytes) == 0) {
			jb->gen = cpu->jgen;
		} else {
			x86_jit_kill(j, jb);
			jb = NULL;
		}
	}
	if (!jb) {
		if (b->hits == UINT16_MAX || ++b->hits < hot)
			return -1;
		if (!(jb = x86_jit_compile(cpu, b))) {
			b->hits = UINT16_MAX;
			return -1;
		}
	}
	x86_jit_jc_set(j, jb);
	return x86_jit_run(cpu, x86_jit_code_rx(j, jb->entry), left, ran);
}

/* ---- the public side (x86_cpu.h) ---- */

int
x86_set_jit(struct x86_cpu *cpu, int mode)
{
	if (mode < X86_JIT_OFF || mode > X86_JIT_EAGER)
		return -EINVAL;
	if (!cpu->jit)
		return mode == X86_JIT_OFF ? 0 : -ENOTSUP;
	cpu->jit->mode = mode;
	if (mode != X86_JIT_OFF && cpu->jit->broken)
		return -ENOTSUP;
	return 0;
}

int
x86_get_jit(const struct x86_cpu *cpu)
{
	if (!cpu->jit || cpu->jit->broken)
		return X86_JIT_OFF;
	return cpu->jit->mode;
}

void
x86_get_jit_stats(const struct x86_cpu *cpu, struct x86_jit_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!cpu->jit)
		return;
	st->blocks = cpu->jit->compiled;
	st->flushes = cpu->jit->flushes;
	st->runs = cpu->jit->runs;
	st->insns = cpu->jit->insns;
}
