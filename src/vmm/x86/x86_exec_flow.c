/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Control flow and the stack: near jumps, calls and returns, LOOP/JCXZ,
 * PUSH/POP in their forms, ENTER/LEAVE, PUSHF/POPF, and the string
 * instructions with REP/REPE/REPNE.  A REP instruction runs at most
 * X86_REP_CHUNK iterations per step and then re-executes itself, so that
 * budget, kicks and interrupt windows are honoured inside long strings
 * (as hardware interrupts a REP between iterations).
 */
#include "x86_internal.h"

#define X86_REP_CHUNK 16384

uint64_t
x86_sp_mask(const struct x86_cpu *cpu)
{
	return cpu->ssize == 8 ? ~0ULL : cpu->ssize == 4 ? 0xffffffffULL :
	    0xffffULL;
}

int
x86_push(struct x86_cpu *cpu, int size, uint64_t v)
{
	uint64_t m = x86_sp_mask(cpu), sp = (cpu->r[X86_RSP] - size) & m;
	int r = x86_write(cpu, X86_SS, sp, size, v);

	if (r == X86_OK)
		cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~m) | sp;
	return r;
}

int
x86_pop(struct x86_cpu *cpu, int size, uint64_t *v)
{
	uint64_t m = x86_sp_mask(cpu), sp = cpu->r[X86_RSP] & m;
	int r = x86_read(cpu, X86_SS, sp, size, v);

	if (r == X86_OK)
		cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~m) | ((sp + size) & m);
	return r;
}

/* A near branch: IP truncated to the operand size, CS limit checked. */
static int
x86_branch(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t t)
{
	if (in->osize == 2)
		t &= 0xffff;
	else if (in->osize == 4)
		t &= 0xffffffffULL;
	if (cpu->mode == X86_MODE_LONG) {
		if (!x86_is_canonical(t))
			return x86_gp0(cpu);
	} else if (t > cpu->seg[X86_CS].limit) {
		return x86_gp0(cpu);
	}
	cpu->rip = t;
	return X86_BRANCH;
}

int
x86_h_jcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!x86_cond(cpu, in->b0 & 0xf))
		return X86_OK;
	return x86_branch(cpu, in, cpu->rip + in->len + in->imm);
}

int
x86_h_jmp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_branch(cpu, in, cpu->rip + in->len + in->imm);
}

int
x86_h_call(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = cpu->r[X86_RSP];
	int r;

	if ((r = x86_push(cpu, in->osize, x86_next_rip(cpu, in))) != X86_OK)
		return r;
	r = x86_branch(cpu, in, cpu->rip + in->len + in->imm);
	if (r != X86_BRANCH)
		cpu->r[X86_RSP] = sp;
	return r;
}

int
x86_h_ret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t, sp = cpu->r[X86_RSP], m = x86_sp_mask(cpu);
	int r;

	if ((r = x86_pop(cpu, in->osize, &t)) != X86_OK)
		return r;
	cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~m) |
	    ((cpu->r[X86_RSP] + in->imm) & m);
	r = x86_branch(cpu, in, t);
	if (r != X86_BRANCH)
		cpu->r[X86_RSP] = sp;
	return r;
}

int
x86_h_jmp_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &t)) != X86_OK)
		return r;
	return x86_branch(cpu, in, t);
}

int
x86_h_call_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t, sp = cpu->r[X86_RSP];
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &t)) != X86_OK)
		return r;
	if ((r = x86_push(cpu, in->osize, x86_next_rip(cpu, in))) != X86_OK)
		return r;
	r = x86_branch(cpu, in, t);
	if (r != X86_BRANCH)
		cpu->r[X86_RSP] = sp;
	return r;
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP: the count register by address size. */
int
x86_h_loop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t c = (x86_greg(cpu, X86_RCX, in->asize) - 1) &
	    x86_size_mask(in->asize);
	bool go = c != 0;

	x86_sreg(cpu, X86_RCX, in->asize, c);
	if (in->sub == 0)
		go = go && !(x86_get_flags(cpu) & X86_ZF);
	else if (in->sub == 1)
		go = go && (x86_get_flags(cpu) & X86_ZF);
	if (!go)
		return X86_OK;
	return x86_branch(cpu, in, cpu->rip + in->len + in->imm);
}

int
x86_h_jcxz(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (x86_greg(cpu, X86_RCX, in->asize) != 0)
		return X86_OK;
	return x86_branch(cpu, in, cpu->rip + in->len + in->imm);
}

int
x86_h_push_r(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_push(cpu, in->osize, x86_greg(cpu, in->reg, in->osize));
}

int
x86_h_pop_r(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if ((r = x86_pop(cpu, in->osize, &v)) == X86_OK)
		x86_sreg(cpu, in->reg, in->osize, v);
	return r;
}

int
x86_h_push_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_push(cpu, in->osize, in->imm);
}

int
x86_h_push_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	return x86_push(cpu, in->osize, v);
}

/* POP r/m: the address is computed with RSP already incremented. */
int
x86_h_pop_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v, sp = cpu->r[X86_RSP];
	int r;

	if ((r = x86_pop(cpu, in->osize, &v)) != X86_OK)
		return r;
	if ((r = x86_write_rm(cpu, in, in->osize, v)) != X86_OK)
		cpu->r[X86_RSP] = sp;
	return r;
}

int
x86_h_pusha(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = cpu->r[X86_RSP];
	int i, r;

	for (i = 0; i < 8; i++) {
		uint64_t v = i == X86_RSP ? sp : cpu->r[i];
		if ((r = x86_push(cpu, in->osize, v)) != X86_OK) {
			cpu->r[X86_RSP] = sp;
			return r;
		}
	}
	return X86_OK;
}

int
x86_h_popa(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v[8], sp = cpu->r[X86_RSP];
	int i, r;

	for (i = 7; i >= 0; i--) {
		if ((r = x86_pop(cpu, in->osize, &v[i])) != X86_OK) {
			cpu->r[X86_RSP] = sp;
			return r;
		}
	}
	for (i = 0; i < 8; i++)
		if (i != X86_RSP)
			x86_sreg(cpu, i, in->osize, v[i]);
	return X86_OK;
}

int
x86_h_enter(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = cpu->r[X86_RSP], bp = cpu->r[X86_RBP], ft, v;
	uint64_t m = x86_sp_mask(cpu);
	int level = (int)(in->imm2 & 31), i, r, osz = in->osize;

	if ((r = x86_push(cpu, osz, x86_greg(cpu, X86_RBP, osz))) != X86_OK)
		return r;
	ft = cpu->r[X86_RSP] & m;
	for (i = 1; i < level; i++) {
		bp = (bp & ~m) | ((bp - osz) & m);
		if ((r = x86_read(cpu, X86_SS, bp & m, osz, &v)) != X86_OK ||
		    (r = x86_push(cpu, osz, v)) != X86_OK)
			goto fail;
	}
	if (level > 0 && (r = x86_push(cpu, osz, ft)) != X86_OK)
		goto fail;
	v = (cpu->r[X86_RSP] - in->imm) & m;
	if ((r = x86_probe_write(cpu, X86_SS, v, 1)) != X86_OK)
		goto fail;
	x86_sreg(cpu, X86_RBP, osz, ft);
	cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~m) | v;
	return X86_OK;
fail:
	cpu->r[X86_RSP] = sp;
	return r;
}

int
x86_h_leave(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t m = x86_sp_mask(cpu), sp = cpu->r[X86_RSP], v;
	int r;

	cpu->r[X86_RSP] = (sp & ~m) | (cpu->r[X86_RBP] & m);
	if ((r = x86_pop(cpu, in->osize, &v)) != X86_OK) {
		cpu->r[X86_RSP] = sp;
		return r;
	}
	x86_sreg(cpu, X86_RBP, in->osize, v);
	return X86_OK;
}

int
x86_h_pushf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_push(cpu, in->osize, x86_get_flags(cpu) &
	    ~(X86_VM | X86_RF));
}

/* POPF (SDM vol. 2, POPF): IOPL at CPL 0 only, IF when CPL <= IOPL. */
int
x86_h_popf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v, m = X86_ARITH | X86_TF | X86_DF | X86_NT;
	int iopl = (int)((cpu->rflags >> 12) & 3), r;

	if ((r = x86_pop(cpu, in->osize, &v)) != X86_OK)
		return r;
	if (in->osize > 2)
		m |= X86_AC | X86_ID;
	if (cpu->cpl <= iopl)
		m |= X86_IF;
	if (cpu->cpl == 0)
		m |= X86_IOPL;
	if (in->osize == 2)
		m &= 0xffff;
	x86_set_rflags(cpu, ((x86_get_flags(cpu) & ~m) | (v & m)) & ~X86_RF);
	return x86_done_end(cpu, in);
}

/* ---- strings ---- */

struct x86_str {
	uint64_t am;		/* address-size mask */
	int sz;
	int64_t step;
	bool rep;
	uint64_t n;		/* iterations to do in this step */
};

static void
x86_str_init(struct x86_cpu *cpu, const struct x86_insn *in,
    struct x86_str *s)
{
	s->am = x86_size_mask(in->asize);
	s->sz = in->osize;
	s->step = (cpu->rflags & X86_DF) ? -(int64_t)s->sz : s->sz;
	s->rep = (in->pfx & (X86_P_REP | X86_P_REPNE)) != 0;
	s->n = s->rep ? (cpu->r[X86_RCX] & s->am) : 1;
	if (s->n > X86_REP_CHUNK)
		s->n = X86_REP_CHUNK;
}

static void
x86_str_adv(struct x86_cpu *cpu, int reg, const struct x86_str *s,
    uint64_t k)
{
	uint64_t v = cpu->r[reg];

	if (s->am == ~0ULL)
		cpu->r[reg] = v + (uint64_t)s->step * k;
	else if (s->am == 0xffffffffULL)
		cpu->r[reg] = (v + (uint64_t)s->step * k) & s->am;
	else
		cpu->r[reg] = (v & ~s->am) | ((v + (uint64_t)s->step * k) &
		    s->am);
}

/* After 'k' iterations: RCX, replay state, and whether to go on. */
static int
x86_str_done(struct x86_cpu *cpu, const struct x86_insn *in,
    const struct x86_str *s, uint64_t k)
{
	if (s->rep) {
		uint64_t c = cpu->r[X86_RCX];
		if (s->am == ~0ULL)
			cpu->r[X86_RCX] = c - k;
		else if (s->am == 0xffffffffULL)
			cpu->r[X86_RCX] = (c - k) & s->am;
		else
			cpu->r[X86_RCX] = (c & ~s->am) | ((c - k) & s->am);
	}
	cpu->replay.n = cpu->replay.next = 0;
	return X86_OK;
}

/* The instruction's result once the iterations of this step are done. */
static int
x86_str_end(struct x86_cpu *cpu, const struct x86_str *s)
{
	if (s->rep && (cpu->r[X86_RCX] & s->am) != 0)
		return X86_BRANCH;	/* RIP stays: go on next step */
	return X86_OK;
}

/* Bulk MOVS/STOS inside one page each, RAM only, DF = 0. */
static uint64_t
x86_str_bulk(struct x86_cpu *cpu, const struct x86_insn *in,
    const struct x86_str *s, uint64_t left, bool movs)
{
	uint64_t ls = 0, ld, gs = 0, gd, cnt, es, ed = cpu->r[X86_RDI] & s->am;
	uint8_t *hs = NULL, *hd;

	if (s->step < 0 || cpu->mode != X86_MODE_LONG || s->am != ~0ULL ||
	    left < 2)
		return 0;
	es = cpu->r[X86_RSI] & s->am;
	if (x86_linear(cpu, X86_ES, ed, s->sz, X86_ACC_W, &ld) != X86_OK ||
	    (movs && x86_linear(cpu, in->seg, es, s->sz, X86_ACC_R, &ls) !=
	    X86_OK))
		return 0;
	cnt = (4096 - (ld & 0xfff)) / s->sz;
	if (movs && (4096 - (ls & 0xfff)) / s->sz < cnt)
		cnt = (4096 - (ls & 0xfff)) / s->sz;
	if (cnt > left)
		cnt = left;
	if (cnt < 2)
		return 0;
	if ((movs && (x86_xlate(cpu, ls, X86_ACC_R, cpu->mmu, &hs, &gs) !=
	    X86_OK || !hs)) ||
	    x86_xlate(cpu, ld, X86_ACC_W, cpu->mmu, &hd, &gd) != X86_OK ||
	    !hd)
		return 0;
	if (movs && hd > hs && hd < hs + cnt * s->sz)
		return 0;	/* overlapping forward copy: element by element */
	if (movs) {
		memmove(hd, hs, cnt * s->sz);
	} else if (s->sz == 1) {
		memset(hd, (int)(cpu->r[X86_RAX] & 0xff), cnt);
	} else {
		uint64_t i, v = cpu->r[X86_RAX];
		for (i = 0; i < cnt; i++)
			memcpy(hd + i * s->sz, &v, s->sz);
	}
	return cnt;
}

int
x86_h_movs(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_str s;
	uint64_t i, v, k;
	int r;

	x86_str_init(cpu, in, &s);
	for (i = 0; i < s.n; i += k) {
		k = s.rep ? x86_str_bulk(cpu, in, &s, s.n - i, true) : 0;
		if (k == 0) {
			k = 1;
			if ((r = x86_read(cpu, in->seg, cpu->r[X86_RSI] & s.am,
			    s.sz, &v)) != X86_OK ||
			    (r = x86_write(cpu, X86_ES, cpu->r[X86_RDI] & s.am,
			    s.sz, v)) != X86_OK)
				return r;
		}
		x86_str_adv(cpu, X86_RSI, &s, k);
		x86_str_adv(cpu, X86_RDI, &s, k);
		x86_str_done(cpu, in, &s, k);
	}
	return x86_str_end(cpu, &s);
}

int
x86_h_stos(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_str s;
	uint64_t i, k;
	int r;

	x86_str_init(cpu, in, &s);
	for (i = 0; i < s.n; i += k) {
		k = s.rep ? x86_str_bulk(cpu, in, &s, s.n - i, false) : 0;
		if (k == 0) {
			k = 1;
			if ((r = x86_write(cpu, X86_ES, cpu->r[X86_RDI] & s.am,
			    s.sz, cpu->r[X86_RAX])) != X86_OK)
				return r;
		}
		x86_str_adv(cpu, X86_RDI, &s, k);
		x86_str_done(cpu, in, &s, k);
	}
	return x86_str_end(cpu, &s);
}

int
x86_h_lods(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_str s;
	uint64_t i, v;
	int r;

	x86_str_init(cpu, in, &s);
	for (i = 0; i < s.n; i++) {
		if ((r = x86_read(cpu, in->seg, cpu->r[X86_RSI] & s.am, s.sz,
		    &v)) != X86_OK)
			return r;
		x86_sreg(cpu, X86_RAX, s.sz, v);
		x86_str_adv(cpu, X86_RSI, &s, 1);
		x86_str_done(cpu, in, &s, 1);
	}
	return x86_str_end(cpu, &s);
}

/* REPE/REPNE termination by ZF after each iteration. */
static bool
x86_str_zf_stop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool zf = x86_cond(cpu, 4);

	if (in->pfx & X86_P_REP)
		return !zf;
	if (in->pfx & X86_P_REPNE)
		return zf;
	return false;
}

int
x86_h_cmps(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_str s;
	uint64_t i, a, b;
	int r;

	x86_str_init(cpu, in, &s);
	for (i = 0; i < s.n; i++) {
		if ((r = x86_read(cpu, in->seg, cpu->r[X86_RSI] & s.am, s.sz,
		    &a)) != X86_OK ||
		    (r = x86_read(cpu, X86_ES, cpu->r[X86_RDI] & s.am, s.sz,
		    &b)) != X86_OK)
			return r;
		x86_lf(cpu, LF_SUB, s.sz, (a - b) & x86_size_mask(s.sz), a, b);
		x86_str_adv(cpu, X86_RSI, &s, 1);
		x86_str_adv(cpu, X86_RDI, &s, 1);
		x86_str_done(cpu, in, &s, 1);
		if (x86_str_zf_stop(cpu, in))
			return X86_OK;
	}
	return x86_str_end(cpu, &s);
}

int
x86_h_scas(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_str s;
	uint64_t i, a = x86_greg(cpu, X86_RAX, in->osize), b;
	int r;

	x86_str_init(cpu, in, &s);
	for (i = 0; i < s.n; i++) {
		if ((r = x86_read(cpu, X86_ES, cpu->r[X86_RDI] & s.am, s.sz,
		    &b)) != X86_OK)
			return r;
		x86_lf(cpu, LF_SUB, s.sz, (a - b) & x86_size_mask(s.sz), a, b);
		x86_str_adv(cpu, X86_RDI, &s, 1);
		x86_str_done(cpu, in, &s, 1);
		if (x86_str_zf_stop(cpu, in))
			return X86_OK;
	}
	return x86_str_end(cpu, &s);
}
