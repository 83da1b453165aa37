/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_run(): fetch, the decoded-block cache and the dispatch loop.
 *
 * A block is a run of decoded instructions inside one guest-physical page,
 * ending at an unconditional control transfer, a page end or a size
 * limit.  Blocks are cached by (gpa, code size) and carry their bytes,
 * compared with guest memory on every entry.  Conditional branches that
 * fall through stay inside the block.  An instruction crossing a page is
 * decoded each time it runs (the slow path), as is everything executed
 * one instruction at a time (single-step, interrupt shadow, budget end).
 */
#include <errno.h>

#include "x86_jit.h"

#define X86_NBLOCKS (1 << X86_BLK_BITS)

static inline uint32_t
x86_blk_hash(uint64_t gpa)
{
	return (uint32_t)((gpa ^ (gpa >> X86_BLK_BITS) ^ (gpa >> 20)) &
	    (X86_NBLOCKS - 1));
}

/* Linear address of RIP with the CS checks of the mode. */
static inline int
x86_fetch_lin(struct x86_cpu *cpu, uint64_t *lin, int *limit_left)
{
	const struct x86_seg *cs = &cpu->seg[X86_CS];

	*limit_left = 4096;
	if (cpu->mode == X86_MODE_LONG) {
		if (!x86_is_canonical(cpu->rip))
			return x86_gp0(cpu);
		*lin = cpu->rip;
		return X86_OK;
	}
	if (cpu->rip > cs->limit)
		return x86_gp0(cpu);
	if ((uint64_t)cs->limit - cpu->rip + 1 < 4096)
		*limit_left = (int)(cs->limit - cpu->rip + 1);
	*lin = (cs->base + cpu->rip) & 0xffffffffULL;
	return X86_OK;
}

static int
x86_fetch_page(struct x86_cpu *cpu, uint64_t lin, uint8_t **host,
    uint64_t *gpa)
{
	int r = x86_xlate(cpu, lin, X86_ACC_X, cpu->mmu, host, gpa);

	if (r != X86_OK || *host)
		return r;
	memset(&cpu->out->u.mem, 0, sizeof(cpu->out->u.mem));
	cpu->out->u.mem.gpa = *gpa;
	cpu->out->u.mem.gla = lin;
	cpu->out->u.mem.gla_valid = true;
	cpu->out->u.mem.access = X86_ACC_X;
	cpu->out->u.mem.size = 1;
	cpu->cur = NULL;
	return x86_stop(cpu, X86_STOP_MEM);
}

/* Decode a new block at 'host' (bytes left in the page: 'avail'). */
static void
x86_block_fill(struct x86_cpu *cpu, struct x86_block *b, uint64_t gpa,
    const uint8_t *host, int avail)
{
	int off = 0, n = 0, r;

	b->gpa = ~0ULL;
	while (n < X86_BLK_INSNS) {
		int left = avail - off;
		if (left <= 0)
			break;
		r = x86_decode(cpu, host + off, left > 15 ? 15 : left,
		    cpu->csize, &b->insn[n]);
		if (r < 0 || off + b->insn[n].len > X86_BLK_BYTES)
			break;
		b->insn[n].off = (uint8_t)off;
		off += b->insn[n].len;
		n++;
		if (r == 1)
			break;
	}
	if (n == 0)
		return;
	x86_code_page_add(cpu, gpa);
	b->gpa = gpa;
	b->key = cpu->csize;
	b->epoch = cpu->epoch;
	b->link[0].blk = b->link[1].blk = NULL;
	b->link[0].gen = b->link[1].gen = ~0ULL;
	b->hits = 0;
	b->ninsn = n;
	b->nbytes = off;
	memcpy(b->bytes, host, off);
}

/* The cached bytes still match guest memory (8 bytes at a time). */
static inline bool
x86_block_same(const struct x86_block *b, const uint8_t *host)
{
	int n = b->nbytes, i;
	uint64_t x, y, diff = 0;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, b->bytes + i, 8);
		memcpy(&y, host + i, 8);
		diff |= x ^ y;
	}
	for (; i < n; i++)
		diff |= (uint64_t)(b->bytes[i] ^ host[i]);
	return diff == 0;
}

static struct x86_block *
x86_block_get(struct x86_cpu *cpu, uint64_t gpa, const uint8_t *host,
    int avail)
{
	struct x86_block *b = &cpu->blocks[x86_blk_hash(gpa)];

	if (likely(b->gpa == gpa && b->key == cpu->csize &&
	    b->nbytes <= avail)) {
		if (likely(b->epoch == cpu->epoch))
			return b;
		if (x86_block_same(b, host)) {
			b->epoch = cpu->epoch;
			return b;
		}
	}
	x86_block_fill(cpu, b, gpa, host, avail);
	return b->gpa == gpa ? b : NULL;
}

/* The successor of 'prev' at RIP, if a link still holds. */
static inline struct x86_block *
x86_link_get(struct x86_cpu *cpu, const struct x86_block *prev)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct x86_block *b = prev->link[k].blk;
		if (prev->link[k].rip == cpu->rip &&
		    prev->link[k].gen == cpu->link_gen && b &&
		    b->gpa == prev->link[k].gpa && b->key == cpu->csize &&
		    b->epoch == cpu->epoch)
			return b;
	}
	return NULL;
}

static void
x86_link_set(struct x86_cpu *cpu, struct x86_block *prev,
    struct x86_block *b)
{
	int k = prev->link_next;

	prev->link[k].rip = cpu->rip;
	prev->link[k].gen = cpu->link_gen;
	prev->link[k].gpa = b->gpa;
	prev->link[k].blk = b;
	prev->link_next = (uint8_t)(k ^ 1);
}

/*
 * One instruction decoded on the spot, possibly crossing into a second
 * page (which is translated only if the instruction needs it).
 */
static int
x86_step_slow(struct x86_cpu *cpu, uint64_t lin, const uint8_t *host,
    int avail, int limit_left)
{
	uint8_t *buf = cpu->slow_buf;
	struct x86_insn *in = &cpu->slow_in;
	uint64_t gpa2;
	uint8_t *h2;
	int n = avail > 15 ? 15 : avail, r;

	memset(buf, 0, sizeof(cpu->slow_buf));
	memcpy(buf, host, n);
	r = x86_decode(cpu, buf, n, cpu->csize, in);
	if (r == -1 && n < 15 && n < limit_left) {
		uint64_t l2 = cpu->mode == X86_MODE_LONG ? lin + n :
		    ((lin + n) & 0xffffffffULL);
		if ((r = x86_fetch_page(cpu, l2, &h2, &gpa2)) != X86_OK)
			return r;
		memcpy(buf + n, h2, 15 - n);
		n = 15;
		r = x86_decode(cpu, buf, n, cpu->csize, in);
	}
	if (r < 0 || in->len > limit_left)
		return x86_gp0(cpu);
	in->off = 0;
	cpu->cur = in;
	cpu->cur_code = buf;
	r = in->fn(cpu, in);
	if (r == X86_OK) {
		cpu->rip = (cpu->rip + in->len) & cpu->ip_mask;
		r = X86_BRANCH;
	}
	return r;
}

struct x86_loop {
	uint64_t budget;	/* instructions left, ~0: no limit */
	uint64_t done;
	struct x86_block *prev;	/* the block run last, for links */
};

/* Execute up to 'max' instructions of a block. */
static int
x86_exec_block(struct x86_cpu *cpu, const struct x86_block *b, int max,
    struct x86_loop *lp)
{
	const struct x86_insn *in = b->insn, *end = b->insn + max;
	int r = X86_OK;

	cpu->cur_code = b->bytes;
	cpu->blk_page = b->gpa & ~0xfffULL;
	cpu->blk_dirty = false;
	for (; in < end; in++) {
		cpu->cur = in;
		r = in->fn(cpu, in);
		if (likely(r == X86_OK)) {
			cpu->rip = (cpu->rip + in->len) & cpu->ip_mask;
			if (unlikely(cpu->blk_dirty)) {
				in++;
				break;
			}
			continue;
		}
		if (r == X86_BRANCH)
			in++;
		break;
	}
	lp->done += (uint64_t)(in - b->insn);
	cpu->blk_page = ~0ULL;
	return r == X86_BRANCH ? X86_OK : r;
}

/* The block at RIP: through the TLB and the cache (NULL: slow path). */
static int
x86_find_block(struct x86_cpu *cpu, struct x86_block **bp, uint64_t *linp,
    uint8_t **hostp, int *availp, int *limitp)
{
	const struct x86_tlb_ent *e;
	uint64_t lin, gpa;
	uint8_t *host;
	int r;

	if ((r = x86_fetch_lin(cpu, &lin, limitp)) != X86_OK)
		return r;
	e = &cpu->tlb[cpu->mmu][X86_TLB_IDX(lin)];
	if (likely(e->tag_x == (lin >> 12))) {
		host = (uint8_t *)(uintptr_t)(lin + e->addend);
		gpa = (cpu->tlb_gpa[cpu->mmu][X86_TLB_IDX(lin)] & ~0xfffULL) |
		    (lin & 0xfff);
	} else if ((r = x86_fetch_page(cpu, lin, &host, &gpa)) != X86_OK) {
		return r;
	}
	*availp = 4096 - (int)(lin & 0xfff);
	if (*availp > *limitp)
		*availp = *limitp;
	*linp = lin;
	*hostp = host;
	*bp = x86_block_get(cpu, gpa, host, *availp);
	return X86_OK;
}

/* Translated code at cpu->rip, if there is some (-1: none ran). */
static int
x86_step_jit(struct x86_cpu *cpu, struct x86_loop *lp, struct x86_block *b)
{
	uint64_t ran = 0;
	int r;

	if (b)
		r = x86_jit_hot(cpu, b, lp->budget - lp->done, &ran);
	else
		r = x86_jit_try(cpu, lp->budget - lp->done, &ran);
	if (r < 0)
		return r;
	lp->done += ran;
	lp->prev = NULL;
	return r;
}

/* One step: a block, or one instruction when 'one' is set. */
static int
x86_step(struct x86_cpu *cpu, struct x86_loop *lp, bool one)
{
	struct x86_block *b = NULL;
	uint64_t lin;
	uint8_t *host;
	int limit_left, avail, r, max;
	bool jit = !one && x86_jit_active(cpu);

	if (jit && (r = x86_step_jit(cpu, lp, NULL)) >= 0)
		return r;
	if (lp->prev && cpu->mode == X86_MODE_LONG)
		b = x86_link_get(cpu, lp->prev);
	if (!b) {
		r = x86_find_block(cpu, &b, &lin, &host, &avail, &limit_left);
		if (r != X86_OK)
			return r;
		if (!b) {
			lp->prev = NULL;
			r = x86_step_slow(cpu, lin, host, avail, limit_left);
			if (r == X86_BRANCH) {
				lp->done++;
				r = X86_OK;
			}
			return r;
		}
		if (lp->prev)
			x86_link_set(cpu, lp->prev, b);
	}
	if (jit && (r = x86_step_jit(cpu, lp, b)) >= 0)
		return r;
	max = b->ninsn;
	if (one)
		max = 1;
	else if (lp->budget - lp->done < (uint64_t)max)
		max = (int)(lp->budget - lp->done);
	lp->prev = max == b->ninsn ? b : NULL;
	return x86_exec_block(cpu, b, max, lp);
}

static int
x86_deliver_pending(struct x86_cpu *cpu)
{
	struct x86_event e = cpu->pending;
	uint64_t ret = cpu->rip;
	int r;

	cpu->pending.valid = false;
	if (e.type >= X86_EVENT_SWINT)
		ret = (cpu->rip + e.inst_len) & cpu->ip_mask;
	cpu->delivering.inst_len = e.inst_len;
	r = x86_deliver_event(cpu, e.type, e.vector, e.has_error, e.error,
	    ret);
	if (r == X86_EXC)
		r = x86_deliver_exc(cpu);
	return r;
}

/* Checks at an instruction boundary before a step. */
static int
x86_boundary(struct x86_cpu *cpu, const struct x86_loop *lp)
{
	const struct x86_exec_ctl *c = cpu->ctl;

	if (unlikely(__atomic_load_n(&cpu->kick, __ATOMIC_ACQUIRE))) {
		__atomic_store_n(&cpu->kick, 0, __ATOMIC_RELAXED);
		return x86_stop(cpu, X86_STOP_KICK);
	}
	if (lp->done >= lp->budget)
		return x86_stop(cpu, X86_STOP_BUDGET);
	if (c->intr_window_exit && x86_interruptible(cpu))
		return x86_stop(cpu, X86_STOP_INTR_WINDOW);
	if (c->nmi_window_exit && !cpu->nmi_blocked && !(cpu->shadow & 2))
		return x86_stop(cpu, X86_STOP_NMI_WINDOW);
	if (cpu->rflags & X86_VM) {
		cpu->out->u.unsupported.what = "virtual-8086 mode";
		return x86_stop(cpu, X86_STOP_UNSUPPORTED);
	}
	return X86_OK;
}

/* Single-step trap after an instruction that ran with TF set. */
static int
x86_single_step(struct x86_cpu *cpu)
{
	cpu->dr[6] |= 0x4000;
	cpu->cur = NULL;
	x86_fault_ne(cpu, X86_DB);
	return x86_deliver_exc(cpu);
}

static int
x86_loop(struct x86_cpu *cpu, struct x86_loop *lp)
{
	int r;

	for (;;) {
		uint8_t shadow = cpu->shadow;
		bool tf = (cpu->rflags & X86_TF) != 0;
		uint64_t before = lp->done;

		if ((r = x86_boundary(cpu, lp)) != X86_OK)
			return r;
		cpu->cur = NULL;
		r = x86_step(cpu, lp, shadow || tf);
		if (r == X86_EXC) {
			cpu->replay.n = cpu->replay.next = 0;
			lp->prev = NULL;
			r = x86_deliver_exc(cpu);
		} else if (r == X86_OK && cpu->replay.n) {
			cpu->replay.n = cpu->replay.next = 0;
		}
		if (r != X86_OK)
			return r;
		if (shadow && cpu->shadow == shadow && lp->done != before)
			cpu->shadow = 0;
		if (tf && lp->done != before && (r = x86_single_step(cpu)) !=
		    X86_OK)
			return r;
	}
}

int
x86_run(struct x86_cpu *cpu, const struct x86_mem_ops *mem,
    const struct x86_exec_ctl *ctl, uint64_t budget,
    struct x86_stop_info *out)
{
	struct x86_loop lp = { .budget = budget ? budget : ~0ULL };
	int r;

	if (!cpu || !mem || !mem->map || !ctl || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	cpu->mem = mem;
	cpu->ctl = ctl;
	cpu->out = out;
	cpu->cur = NULL;
	cpu->blk_page = ~0ULL;
	cpu->replay.next = 0;
	cpu->delivering.valid = false;
	x86_serialize(cpu);	/* VM entry */
	r = X86_OK;
	if (cpu->pending.valid)
		r = x86_deliver_pending(cpu);
	if (r == X86_OK)
		r = x86_loop(cpu, &lp);
	cpu->icount += lp.done;
	if (r != X86_STOP)
		return -EFAULT;
	return 0;
}
