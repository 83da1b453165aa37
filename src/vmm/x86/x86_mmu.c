/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Segmentation checks, paging (32-bit, PAE, 4-level; SDM vol. 3, ch. 4),
 * the software TLB and the slow memory path: page-crossing accesses,
 * not-RAM (MMIO) accesses that stop with X86_STOP_MEM, and their replay
 * after x86_mem_complete().
 */
#include <errno.h>

#include "x86_internal.h"

/* ---- segmentation (SDM vol. 3, 5.3) ---- */

static int
x86_seg_fault(struct x86_cpu *cpu, int seg)
{
	return x86_fault(cpu, seg == X86_SS ? X86_SS_EXC : X86_GP, 0);
}

int
x86_seg_check(struct x86_cpu *cpu, int seg, uint64_t ea, int size, int acc,
    uint64_t *lin)
{
	const struct x86_seg *s = &cpu->seg[seg];
	uint32_t a = s->access, type = SEG_ACCESS_TYPE(a);
	uint64_t last = ea + size - 1, hi;

	if (cpu->mode == X86_MODE_LONG) {
		*lin = ea + (seg >= X86_FS ? s->base : 0);
		if (!x86_is_canonical(*lin))
			return x86_seg_fault(cpu, seg);
		return X86_OK;
	}
	if (cpu->mode != X86_MODE_REAL) {
		if (a & SEG_ACCESS_UNUSABLE)
			return x86_seg_fault(cpu, seg);
		if ((type & 8) && ((acc & X86_ACC_W) || !(type & 2)))
			return x86_seg_fault(cpu, seg);	/* code segment */
		if (!(type & 8) && (acc & X86_ACC_W) && !(type & 2))
			return x86_seg_fault(cpu, seg);	/* read-only data */
	}
	if (!(type & 8) && (type & 4) && cpu->mode != X86_MODE_REAL) {
		/* Expand-down: valid offsets are (limit, 64K or 4G). */
		hi = (a & SEG_ACCESS_DB) ? 0xffffffffULL : 0xffffULL;
		if (ea <= s->limit || last > hi)
			return x86_seg_fault(cpu, seg);
	} else if (last > s->limit) {
		return x86_seg_fault(cpu, seg);
	}
	*lin = (s->base + ea) & 0xffffffffULL;
	return X86_OK;
}

/* ---- TLB ---- */

/* ---- code pages ---- */

static unsigned
x86_code_slot(uint64_t pn)
{
	return (unsigned)((pn * 0x9e3779b97f4a7c15ULL) >> (64 -
	    X86_CODE_SET_BITS));
}

bool
x86_code_page(const struct x86_cpu *cpu, uint64_t gpa)
{
	uint64_t key = (gpa >> 12) + 1;
	unsigned i = x86_code_slot(key), mask = (1u << X86_CODE_SET_BITS) - 1;

	while (cpu->code_set[i]) {
		if (cpu->code_set[i] == key)
			return true;
		i = (i + 1) & mask;
	}
	return false;
}

/* Writes to the page lose their fast path from now on. */
void
x86_code_page_add(struct x86_cpu *cpu, uint64_t gpa)
{
	uint64_t key = (gpa >> 12) + 1;
	unsigned i, mask = (1u << X86_CODE_SET_BITS) - 1;
	int m;

	if (x86_code_page(cpu, gpa))
		return;
	if (cpu->code_count >= (3u << X86_CODE_SET_BITS) / 4) {
		x86_flush_code(cpu);	/* start over, rarely */
		x86_tlb_flush(cpu, true);
	}
	for (i = x86_code_slot(key); cpu->code_set[i]; i = (i + 1) & mask)
		;
	cpu->code_set[i] = key;
	cpu->code_count++;
	for (m = 0; m < 3; m++)
		for (i = 0; i < X86_TLB_SIZE; i++)
			if ((cpu->tlb_gpa[m][i] & ~0xfffULL) ==
			    (gpa & ~0xfffULL))
				cpu->tlb[m][i].tag_w = X86_TLB_INVALID;
}

void
x86_code_write(struct x86_cpu *cpu, uint64_t gpa)
{
	if (!x86_code_page(cpu, gpa))
		return;
	cpu->epoch++;
	cpu->jgen++;
	if ((gpa & ~0xfffULL) == cpu->blk_page)
		cpu->blk_dirty = true;
}

void
x86_tlb_flush(struct x86_cpu *cpu, bool global)
{
	int m, i;

	cpu->link_gen++;
	cpu->jgen++;
	for (m = 0; m < 3; m++) {
		for (i = 0; i < X86_TLB_SIZE; i++) {
			struct x86_tlb_ent *e = &cpu->tlb[m][i];
			if (!global && (cpu->tlb_gpa[m][i] & X86_TLB_GLOBAL))
				continue;
			e->tag_r = e->tag_w = e->tag_x = X86_TLB_INVALID;
			cpu->tlb_gpa[m][i] &= ~X86_TLB_GLOBAL;
		}
	}
}

void
x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t lin)
{
	int m;

	cpu->link_gen++;
	cpu->jgen++;
	for (m = 0; m < 3; m++) {
		struct x86_tlb_ent *e = &cpu->tlb[m][X86_TLB_IDX(lin)];
		e->tag_r = e->tag_w = e->tag_x = X86_TLB_INVALID;
		cpu->tlb_gpa[m][X86_TLB_IDX(lin)] &= ~X86_TLB_GLOBAL;
	}
}

/* ---- page walk ---- */

struct x86_walk {
	uint64_t gpa;
	bool user, rw, nx, dirty, global;
};

static int
x86_pf(struct x86_cpu *cpu, uint64_t lin, uint32_t err)
{
	cpu->exc.vector = X86_PFV;
	cpu->exc.has_error = true;
	cpu->exc.error = err;
	cpu->exc.cr2 = lin;
	cpu->exc.type = X86_EVENT_HWEXC;
	cpu->exc.inst_len = 0;
	return X86_EXC;
}

/* Map a paging-structure entry for read and A/D update. */
static int
x86_pte_ptr(struct x86_cpu *cpu, uint64_t gpa, uint64_t lin,
    uint8_t **p)
{
	uint8_t *pg = cpu->mem->map(cpu->mem->arg, gpa & ~0xfffULL,
	    X86_ACC_R | X86_ACC_W);
	struct x86_stop_info *o = cpu->out;

	if (pg) {
		*p = pg + (gpa & 0xfff);
		return X86_OK;
	}
	o->u.mem.gpa = gpa;
	o->u.mem.gla = lin;
	o->u.mem.gla_valid = true;
	o->u.mem.walk = true;
	o->u.mem.access = X86_ACC_R;
	o->u.mem.size = 8;
	return x86_stop_insn(cpu, X86_STOP_MEM);
}

static uint64_t
x86_pte_load(const uint8_t *p, bool wide)
{
	if (wide)
		return __atomic_load_n((const uint64_t *)(const void *)p,
		    __ATOMIC_RELAXED);
	return __atomic_load_n((const uint32_t *)(const void *)p,
	    __ATOMIC_RELAXED);
}

static void
x86_pte_setbits(uint8_t *p, bool wide, uint64_t bits)
{
	if (wide)
		__atomic_fetch_or((uint64_t *)(void *)p, bits,
		    __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or((uint32_t *)(void *)p, (uint32_t)bits,
		    __ATOMIC_SEQ_CST);
}

struct x86_wctx {
	int levels;		/* 2, 3 (PAE, PDPTE first), 4 */
	bool wide;		/* 8-byte entries */
	bool nxe;
	uint64_t rsvd_hi;	/* reserved address bits of an entry */
};

static uint32_t
x86_pf_code(struct x86_cpu *cpu, int acc, int mmu, bool present)
{
	uint32_t e = present ? X86_PFE_P : 0;

	if (acc & X86_ACC_W)
		e |= X86_PFE_W;
	if (mmu == X86_MMU_USER)
		e |= X86_PFE_U;
	if ((acc & X86_ACC_X) && ((cpu->cr4 & X86_CR4_SMEP) ||
	    ((cpu->cr4 & X86_CR4_PAE) && (cpu->efer & X86_EFER_NXE))))
		e |= X86_PFE_I;
	return e;
}

/* Reserved bits of an entry at 'level' (1: PTE) with PS 'ps'. */
static bool
x86_pte_rsvd(const struct x86_wctx *w, uint64_t e, int level, bool ps)
{
	if (!w->wide)
		return false;
	if (e & w->rsvd_hi)
		return true;
	if (!w->nxe && (e & (1ULL << 63)))
		return true;
	if (w->levels == 3 && level == 3)	/* PDPTE */
		return (e & 0x1e6ULL) != 0;
	if (level == 4 && (e & 0x80))
		return true;
	if (ps && level == 2 && (e & 0x1fe000ULL))
		return true;
	if (ps && level == 3 && (e & 0x3fffe000ULL))
		return true;
	return false;
}

static uint64_t
x86_pte_addr(const struct x86_wctx *w, uint64_t e)
{
	return w->wide ? (e & 0x000ffffffffff000ULL) : (e & 0xfffff000ULL);
}

/* Access rights (SDM vol. 3, 4.6). */
static bool
x86_walk_allowed(struct x86_cpu *cpu, const struct x86_walk *w, int acc,
    int mmu)
{
	if (acc & X86_ACC_X) {
		if (w->nx)
			return false;
		if (mmu == X86_MMU_USER)
			return w->user;
		return !(w->user && (cpu->cr4 & X86_CR4_SMEP));
	}
	if (mmu == X86_MMU_USER)
		return w->user && (!(acc & X86_ACC_W) || w->rw);
	if (w->user && mmu == X86_MMU_SUP && (cpu->cr4 & X86_CR4_SMAP))
		return false;
	return !((acc & X86_ACC_W) && !w->rw && (cpu->cr0 & X86_CR0_WP));
}

/* Accessed flags on every entry used, dirty on the last for a write. */
static void
x86_walk_ad(const struct x86_wctx *w, uint8_t **ptes, int last, int acc,
    struct x86_walk *out)
{
	int level;
	uint64_t e;

	for (level = w->levels; level >= last; level--) {
		if (w->levels == 3 && level == 3)
			continue;	/* PAE PDPTEs have no A bit */
		e = x86_pte_load(ptes[level], w->wide);
		if (level == last && (acc & X86_ACC_W) && !(e & 0x40)) {
			x86_pte_setbits(ptes[level], w->wide, 0x60);
			e |= 0x40;
		} else if (!(e & 0x20)) {
			x86_pte_setbits(ptes[level], w->wide, 0x20);
		}
		if (level == last)
			out->dirty = (e & 0x40) != 0;
	}
}

/* Translate through the paging structures; sets A (and D for writes). */
static int
x86_walk(struct x86_cpu *cpu, uint64_t lin, int acc, int mmu,
    struct x86_walk *out)
{
	struct x86_wctx w = {
		.wide = (cpu->cr4 & X86_CR4_PAE) != 0,
		.nxe = (cpu->efer & X86_EFER_NXE) != 0,
		.rsvd_hi = ~((1ULL << cpu->maxphyaddr) - 1) &
		    0x000fffffffffffffULL,
	};
	uint64_t table, e = 0;
	uint8_t *ptes[5] = { 0 };
	bool user = true, rw = true, nx = false, ps = false;
	int level, shift, r;

	w.levels = !w.wide ? 2 : (cpu->efer & X86_EFER_LMA) ? 4 : 3;
	table = cpu->cr3 & (w.levels == 3 ? 0xffffffe0ULL :
	    w.levels == 2 ? 0xfffff000ULL : 0x000ffffffffff000ULL);
	for (level = w.levels; level >= 1; level--) {
		uint64_t idx;
		shift = 12 + (level - 1) * (w.wide ? 9 : 10);
		idx = (lin >> shift) & (w.wide ? 0x1ff : 0x3ff);
		if (w.levels == 3 && level == 3)
			idx = (lin >> 30) & 3;
		r = x86_pte_ptr(cpu, table + idx * (w.wide ? 8 : 4), lin,
		    &ptes[level]);
		if (r != X86_OK)
			return r;
		e = x86_pte_load(ptes[level], w.wide);
		if (!(e & 1))
			return x86_pf(cpu, lin, x86_pf_code(cpu, acc, mmu,
			    false));
		ps = level > 1 && level < 4 && (e & 0x80) &&
		    (w.wide || (cpu->cr4 & X86_CR4_PSE)) &&
		    !(w.levels == 3 && level == 3);
		if (x86_pte_rsvd(&w, e, level, ps))
			return x86_pf(cpu, lin, x86_pf_code(cpu, acc, mmu,
			    true) | X86_PFE_RSVD);
		if (!(w.levels == 3 && level == 3)) {
			user = user && (e & 4);
			rw = rw && (e & 2);
		}
		nx = nx || (w.nxe && (e >> 63));
		if (ps || level == 1)
			break;
		table = x86_pte_addr(&w, e);
	}
	out->user = user;
	out->rw = rw;
	out->nx = nx;
	out->global = (e & 0x100) && (cpu->cr4 & X86_CR4_PGE);
	if (ps && !w.wide)	/* 4 MiB page, PSE-36 bits 13+ ignored */
		out->gpa = (e & 0xffc00000ULL) | (lin & 0x3fffffULL);
	else if (ps)
		out->gpa = (x86_pte_addr(&w, e) & ~((1ULL << shift) - 1)) |
		    (lin & ((1ULL << shift) - 1));
	else
		out->gpa = x86_pte_addr(&w, e) | (lin & 0xfff);
	if (!x86_walk_allowed(cpu, out, acc, mmu))
		return x86_pf(cpu, lin, x86_pf_code(cpu, acc, mmu, true));
	x86_walk_ad(&w, ptes, level, acc, out);
	return X86_OK;
}

/* ---- translation with the TLB ---- */

static uint64_t *
x86_tlb_tag(struct x86_tlb_ent *e, int acc)
{
	if (acc & X86_ACC_W)
		return &e->tag_w;
	if (acc & X86_ACC_X)
		return &e->tag_x;
	return &e->tag_r;
}

static void
x86_tlb_fill(struct x86_cpu *cpu, int mmu, uint64_t lin, int acc,
    uint8_t *pg, const struct x86_walk *w)
{
	unsigned i = X86_TLB_IDX(lin);
	struct x86_tlb_ent *e = &cpu->tlb[mmu][i];
	uint64_t vpn = lin >> 12, *g = &cpu->tlb_gpa[mmu][i];
	uintptr_t addend = (uintptr_t)pg - (uintptr_t)(lin & ~0xfffULL);

	if ((e->tag_r != vpn && e->tag_w != vpn && e->tag_x != vpn) ||
	    e->addend != addend) {
		e->tag_r = e->tag_w = e->tag_x = X86_TLB_INVALID;
		*g = 0;
	}
	e->addend = addend;
	*g = (w->gpa & ~0xfffULL) | (*g & X86_TLB_GLOBAL) |
	    (w->global ? X86_TLB_GLOBAL : 0);
	if (!(acc & X86_ACC_W) || w->dirty)
		*x86_tlb_tag(e, acc) = vpn;
	if ((acc & X86_ACC_W) && x86_code_page(cpu, w->gpa & ~0xfffULL))
		e->tag_w = X86_TLB_INVALID;
}

/*
 * Linear to guest-physical and host.  X86_OK with *host NULL when the
 * page is not RAM (the caller stops or replays); X86_EXC for #PF;
 * X86_STOP when a paging structure is not RAM.
 */
int
x86_xlate(struct x86_cpu *cpu, uint64_t lin, int acc, int mmu,
    uint8_t **host, uint64_t *gpa)
{
	struct x86_tlb_ent *e = &cpu->tlb[mmu][X86_TLB_IDX(lin)];
	struct x86_walk w = { .gpa = lin, .dirty = true };
	uint8_t *pg;
	int r;

	if (*x86_tlb_tag(e, acc) == (lin >> 12)) {
		*host = (uint8_t *)(uintptr_t)(lin + e->addend);
		*gpa = (cpu->tlb_gpa[mmu][X86_TLB_IDX(lin)] & ~0xfffULL) |
		    (lin & 0xfff);
		return X86_OK;
	}
	if (cpu->paging && (r = x86_walk(cpu, lin, acc, mmu, &w)) != X86_OK)
		return r;
	*gpa = w.gpa;
	pg = cpu->mem->map(cpu->mem->arg, w.gpa & ~0xfffULL, acc);
	if (!pg) {
		*host = NULL;
		return X86_OK;
	}
	x86_tlb_fill(cpu, mmu, lin, acc, pg, &w);
	*host = pg + (lin & 0xfff);
	if (acc & X86_ACC_W)
		x86_code_write(cpu, w.gpa);
	return X86_OK;
}

/* A not-RAM access: the completed value of a replay, or a stop. */
static int
x86_mmio(struct x86_cpu *cpu, uint64_t gpa, uint64_t lin, int size,
    int acc, void *buf)
{
	struct x86_stop_info *o = cpu->out;

	if (cpu->replay.next < cpu->replay.n && cpu->replay.rip == cpu->rip) {
		if (!(acc & X86_ACC_W))
			memcpy(buf, cpu->replay.data[cpu->replay.next], size);
		cpu->replay.next++;
		return X86_OK;
	}
	memset(&o->u.mem, 0, sizeof(o->u.mem));
	o->u.mem.gpa = gpa;
	o->u.mem.gla = lin;
	o->u.mem.gla_valid = true;
	o->u.mem.access = acc & (X86_ACC_R | X86_ACC_W | X86_ACC_X);
	o->u.mem.size = size;
	if (acc & X86_ACC_W)
		memcpy(o->u.mem.data, buf, size);
	return x86_stop_insn(cpu, X86_STOP_MEM);
}

static uint64_t
x86_lin_add(const struct x86_cpu *cpu, uint64_t lin, uint64_t n)
{
	lin += n;
	return cpu->mode == X86_MODE_LONG ? lin : (lin & 0xffffffffULL);
}

/* Any access the inline fast path did not take: up to 16 bytes. */
int
x86_mem_slow(struct x86_cpu *cpu, uint64_t lin, int size, int acc,
    int mmu, void *buf)
{
	int n1 = 4096 - (int)(lin & 0xfff), r;
	uint64_t lin2 = 0, g1, g2 = 0;
	uint8_t *h1, *h2 = NULL, *b = buf;

	if (n1 > size)
		n1 = size;
	if ((r = x86_xlate(cpu, lin, acc, mmu, &h1, &g1)) != X86_OK)
		return r;
	if (n1 < size) {
		lin2 = x86_lin_add(cpu, lin, n1);
		if ((r = x86_xlate(cpu, lin2, acc, mmu, &h2, &g2)) != X86_OK)
			return r;
	}
	if (!h1 && (r = x86_mmio(cpu, g1, lin, n1, acc, b)) != X86_OK)
		return r;
	if (n1 < size && !h2 &&
	    (r = x86_mmio(cpu, g2, lin2, size - n1, acc, b + n1)) != X86_OK)
		return r;
	if (acc & X86_ACC_W) {
		if (h1)
			memcpy(h1, b, n1);
		if (h2)
			memcpy(h2, b + n1, size - n1);
	} else {
		if (h1)
			memcpy(b, h1, n1);
		if (h2)
			memcpy(b + n1, h2, size - n1);
	}
	return X86_OK;
}

int
x86_read_buf(struct x86_cpu *cpu, int seg, uint64_t ea, int size,
    void *buf)
{
	uint64_t lin;
	int r = x86_linear(cpu, seg, ea, size, X86_ACC_R, &lin);

	if (r != X86_OK)
		return r;
	return x86_mem_slow(cpu, lin, size, X86_ACC_R, cpu->mmu, buf);
}

int
x86_write_buf(struct x86_cpu *cpu, int seg, uint64_t ea, int size,
    const void *buf)
{
	uint8_t tmp[16];
	uint64_t lin;
	int r = x86_linear(cpu, seg, ea, size, X86_ACC_W, &lin);

	if (r != X86_OK)
		return r;
	memcpy(tmp, buf, size);
	return x86_mem_slow(cpu, lin, size, X86_ACC_W, cpu->mmu, tmp);
}

int
x86_probe_write(struct x86_cpu *cpu, int seg, uint64_t ea, int size)
{
	uint64_t lin, gpa;
	uint8_t *h;
	int r = x86_linear(cpu, seg, ea, size, X86_ACC_W, &lin), n1;

	if (r != X86_OK)
		return r;
	if ((r = x86_xlate(cpu, lin, X86_ACC_W, cpu->mmu, &h, &gpa)) !=
	    X86_OK)
		return r;
	n1 = 4096 - (int)(lin & 0xfff);
	if (n1 < size)
		r = x86_xlate(cpu, x86_lin_add(cpu, lin, n1), X86_ACC_W,
		    cpu->mmu, &h, &gpa);
	return r;
}

int
x86_sys_read(struct x86_cpu *cpu, uint64_t lin, int size, uint64_t *val)
{
	return x86_lread(cpu, lin, size, X86_MMU_SUP, val);
}

int
x86_sys_write(struct x86_cpu *cpu, uint64_t lin, int size, uint64_t val)
{
	return x86_lwrite(cpu, lin, size, X86_MMU_SUP, val);
}

uint8_t *
x86_atomic_ptr(struct x86_cpu *cpu, int seg, uint64_t ea, int size, int *r)
{
	uint64_t lin, gpa;
	uint8_t *h;

	*r = x86_linear(cpu, seg, ea, size, X86_ACC_W, &lin);
	if (*r != X86_OK || (lin & (size - 1)) != 0)
		return NULL;
	*r = x86_xlate(cpu, lin, X86_ACC_W, cpu->mmu, &h, &gpa);
	if (*r != X86_OK || !h)
		return NULL;
	return h;
}

int
x86_mem_complete(struct x86_cpu *cpu, const void *data, int size)
{
	if (size < 0 || size > 16 || cpu->replay.n >= X86_REPLAY_MAX)
		return -EINVAL;
	if (cpu->replay.n == 0 || cpu->replay.rip != cpu->rip)
		cpu->replay.n = 0;
	cpu->replay.rip = cpu->rip;
	memset(cpu->replay.data[cpu->replay.n], 0, 16);
	if (data)
		memcpy(cpu->replay.data[cpu->replay.n], data, size);
	cpu->replay.n++;
	return 0;
}

int
x86_gla2gpa(struct x86_cpu *cpu, const struct x86_mem_ops *mem,
    uint64_t gla, int access, bool user, uint64_t *gpa,
    uint32_t *pf_error)
{
	struct x86_stop_info scratch;
	uint8_t *host;
	int r;

	if (!mem || !mem->map || !gpa || !pf_error ||
	    (access & ~(X86_ACC_R | X86_ACC_W | X86_ACC_X)) || !access)
		return -EINVAL;
	memset(&scratch, 0, sizeof(scratch));
	cpu->mem = mem;
	cpu->out = &scratch;
	cpu->cur = NULL;
	r = x86_xlate(cpu, gla, access, user ? X86_MMU_USER : X86_MMU_SUP,
	    &host, gpa);
	cpu->out = NULL;
	if (r == X86_EXC) {
		*pf_error = cpu->exc.error;
		return 1;
	}
	return r == X86_OK ? 0 : -EFAULT;
}
