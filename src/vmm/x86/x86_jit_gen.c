/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The JIT's code generator: one analysed block (x86_jit_ana.c) into host
 * code.  Two streams are written: the straight path, and cold stubs (slow
 * memory paths, exits, taken branches in the middle of a block) placed
 * after it.  Register and flag state is tracked at compile time (see
 * x86_jit.h): 'dirty' guest registers must be written back before any
 * exit or call, and guest flags are in the host's flags or in memory.
 *
 * Host registers: RBP the CPU (biased), RAX/RCX/RDX/R11 scratch (R11
 * carries a memory operand's address through the TLB lookup, which uses
 * RCX and RDX), the rest hold guest registers.
 */
#include <errno.h>
#include <string.h>

#include "x86_jit_gen.h"

#define OFF(f) X86_JIT_FIELD(f)
#define ROFF(g) (X86_JIT_FIELD(r) + 8 * (g))

enum { CC_B = 2, CC_NE = 5 };

/* ---- labels and fixups ---- */

static int
xj_label(struct xj_ctx *c)
{
	if (c->nlbl >= XJ_MAXLBL) {
		c->err = true;
		return 0;
	}
	c->lbl[c->nlbl].s = -1;
	return c->nlbl++;
}

static void
xj_bind(struct xj_ctx *c, int l, int s)
{
	c->lbl[l].s = (int8_t)s;
	c->lbl[l].at = c->s[s].len;
}

static void
xj_fix(struct xj_ctx *c, int s, uint32_t at, int lbl, uint64_t abs)
{
	if (c->nfix >= XJ_MAXFIX) {
		c->err = true;
		return;
	}
	c->fix[c->nfix++] = (struct xj_fix){ .s = (uint8_t)s, .at = at,
		.lbl = lbl, .abs = abs };
}

static void
xj_jcc_to(struct xj_ctx *c, int s, int cc, int lbl)
{
	xj_fix(c, s, x86_asm_jcc(&c->s[s], cc), lbl, 0);
}

static void
xj_jmp_to(struct xj_ctx *c, int s, int lbl)
{
	xj_fix(c, s, x86_asm_jmp(&c->s[s]), lbl, 0);
}

static uint64_t
xj_exit_addr(const struct xj_ctx *c)
{
	return (uint64_t)(uintptr_t)x86_jit_code_rx(c->j, c->j->exit_off);
}

static void
xj_jcc_exit(struct xj_ctx *c, int s, int cc)
{
	xj_fix(c, s, x86_asm_jcc(&c->s[s], cc), -1, xj_exit_addr(c));
}

static void
xj_jmp_exit(struct xj_ctx *c, int s)
{
	xj_fix(c, s, x86_asm_jmp(&c->s[s]), -1, xj_exit_addr(c));
}

/* ---- state: registers and flags ---- */

static void
xj_wb(struct xj_ctx *c, int s, uint16_t regs)
{
	int g;

	for (g = 0; g < 16; g++)
		if (regs & (1u << g))
			x86_asm_mov_store(&c->s[s], H_RBP, ROFF(g), c->host[g]);
}

static void
xj_reload(struct xj_ctx *c, int s)
{
	int g;

	for (g = 0; g < 16; g++)
		if (c->alloc & (1u << g))
			x86_asm_mov_load(&c->s[s], c->host[g], H_RBP, ROFF(g));
}

/* LAHF; SETO AL; MOV lf_res, AX (lf_op stays LF_HOST). */
static void
xj_flags_save(struct x86_asm *a)
{
	static const uint8_t lahf_seto[4] = { 0x9f, 0x0f, 0x90, 0xc0 };
	struct x86_opnd m = x86_asm_m(H_RBP, OFF(lf_res));

	x86_asm_raw(a, lahf_seto, 4);
	x86_asm_b(a, 0x66);
	x86_asm_op1(a, false, 0x89, H_RAX, &m);
}

/* MOV AX, lf_res; ADD AL, 7F (OF from bit 0); SAHF. */
static void
xj_flags_load(struct x86_asm *a)
{
	static const uint8_t add_sahf[3] = { 0x04, 0x7f, 0x9e };
	struct x86_opnd m = x86_asm_m(H_RBP, OFF(lf_res));

	x86_asm_b(a, 0x66);
	x86_asm_op1(a, false, 0x8b, H_RAX, &m);
	x86_asm_raw(a, add_sahf, 3);
}

/* Everything newer in the host to memory, on stream s; state unchanged. */
static void
xj_sync(struct xj_ctx *c, int s)
{
	xj_wb(c, s, c->dirty);
	if (c->fhost && c->fdirty)
		xj_flags_save(&c->s[s]);
}

/*
 * The host flags are about to be clobbered by a TLB lookup: the guest's
 * go to memory, where the slow path and any exception expect them.
 */
static void
xj_flags_spill(struct xj_ctx *c)
{
	if (c->fhost && c->fdirty)
		xj_flags_save(&c->s[0]);
	c->fhost = c->fdirty = false;
}

static void
xj_flags_in(struct xj_ctx *c)
{
	if (!c->fhost) {
		xj_flags_load(&c->s[0]);
		c->fhost = true;
		c->fdirty = false;
	}
}

static void
xj_set_rip(struct x86_asm *a, uint64_t rip)
{
	x86_asm_mov_imm(a, H_RAX, rip);
	x86_asm_mov_store(a, H_RBP, OFF(rip), H_RAX);
}

static void
xj_exit_code(struct xj_ctx *c, int s, int code)
{
	x86_asm_mov_imm(&c->s[s], H_RAX, (uint64_t)code);
	xj_jmp_exit(c, s);
}

/* x86_jit_generic(cpu, jb, k); a non-zero result leaves the block. */
static void
xj_call_generic(struct xj_ctx *c, int s, int k)
{
	static const uint8_t test_eax[2] = { 0x85, 0xc0 };
	struct x86_asm *a = &c->s[s];
	struct x86_opnd cpu = x86_asm_m(H_RBP, -X86_JIT_BIAS);

	x86_asm_lea(a, true, H_RDI, &cpu);
	x86_asm_mov_imm(a, H_RSI, (uint64_t)(uintptr_t)c->jb);
	x86_asm_mov_imm(a, H_RDX, (uint64_t)k);
	x86_asm_call_abs(a, (const void *)x86_jit_generic);
	x86_asm_raw(a, test_eax, 2);
	xj_jcc_exit(c, s, CC_NE);
}

static uint64_t
xj_next(const struct xj_ctx *c, int k)
{
	const struct x86_insn *in = &c->jb->insn[k];

	return c->jb->rip + in->off + in->len;
}

/* ---- block entry ---- */

/*
 * Valid at this jgen (else x86_jit_reval()), no kick pending, and the
 * budget holds the whole block; then the guest registers come in.
 */
static void
xj_entry(struct xj_ctx *c)
{
	static const uint8_t test_eax[2] = { 0x85, 0xc0 };
	struct x86_asm *a = &c->s[0], *k = &c->s[1];
	struct x86_opnd slot = { .mem = true, .riprel = true };
	struct x86_opnd cpu = x86_asm_m(H_RBP, -X86_JIT_BIAS);
	int reval = xj_label(c), body = xj_label(c), out = xj_label(c);
	int budget = xj_label(c), at;
	uint64_t gen = (uint64_t)(uintptr_t)x86_jit_code_rx(c->j, 0) +
	    (uint64_t)((uint8_t *)&c->jb->gen - c->j->rw);

	x86_asm_mov_load(a, H_RAX, H_RBP, OFF(jgen));
	at = x86_asm_op1(a, true, 0x3b, H_RAX, &slot);
	xj_fix(c, 0, (uint32_t)at, -1, gen);
	xj_jcc_to(c, 0, CC_NE, reval);
	xj_bind(c, body, 0);
	x86_asm_alu_mi(a, 7, false, H_RBP, OFF(kick), 0);
	xj_jcc_to(c, 0, CC_NE, out);
	x86_asm_alu_mi(a, 5, true, H_RBP, OFF(jleft), c->n);
	xj_jcc_to(c, 0, CC_B, budget);
	xj_reload(c, 0);

	xj_bind(c, reval, 1);
	x86_asm_lea(k, true, H_RDI, &cpu);
	x86_asm_mov_imm(k, H_RSI, (uint64_t)(uintptr_t)c->jb);
	x86_asm_call_abs(k, (const void *)x86_jit_reval);
	x86_asm_raw(k, test_eax, 2);
	xj_jcc_to(c, 1, CC_NE, body);
	xj_jmp_to(c, 1, out);
	xj_bind(c, budget, 1);
	x86_asm_alu_mi(k, 0, true, H_RBP, OFF(jleft), c->n);
	xj_bind(c, out, 1);
	xj_set_rip(k, c->jb->rip);
	xj_exit_code(c, 1, JX_DISPATCH);
}

/* ---- edges between blocks ---- */

/*
 * Leave for 'rip' through a patchable JMP (x86_jit_link()), refunding
 * 'refund' instructions of the budget.  Until linked it goes to a stub
 * that exits with JX_LINK.
 */
static void
xj_edge(struct xj_ctx *c, int s, uint64_t rip, int refund)
{
	struct x86_asm *k = &c->s[1];
	struct x86_opnd link = x86_asm_m(H_RBP, OFF(jlink));
	int e, stub;
	uint32_t at;

	xj_sync(c, s);
	if (refund)
		x86_asm_alu_mi(&c->s[s], 0, true, H_RBP, OFF(jleft), refund);
	e = x86_jit_edge_new(c->j, rip);
	if (e < 0 || c->nedge >= XJ_MAXEDGE) {
		c->err = true;
		return;
	}
	stub = xj_label(c);
	at = x86_asm_jmp(&c->s[s]);
	xj_fix(c, s, at, stub, 0);
	c->edge[c->nedge].edge = e;
	c->edge[c->nedge].s = (uint8_t)s;
	c->edge[c->nedge].at = at;
	c->edge[c->nedge++].stub = stub;
	xj_bind(c, stub, 1);
	xj_set_rip(k, rip);
	x86_asm_op1(k, false, 0xc7, 0, &link);
	x86_asm_d(k, (uint32_t)e);
	xj_exit_code(c, 1, JX_LINK);
}

/*
 * An indirect branch to the RIP in R11 (registers and flags already in
 * memory): through the jump cache to a block entry, else out to the
 * dispatcher.  A non-canonical target is the interpreter's #GP: RSP is
 * put back by 'undo' and the instruction runs there.
 */
static void
xj_indirect(struct xj_ctx *c, int k, int32_t undo)
{
	/* mov rax, r11; shl rax, 16; sar rax, 16; cmp rax, r11 */
	static const uint8_t cmp_canon[] = { 0x4c, 0x89, 0xd8, 0x48, 0xc1,
		0xe0, 0x10, 0x48, 0xc1, 0xf8, 0x10, 0x4c, 0x39, 0xd8 };
	struct x86_asm *a = &c->s[0], *s = &c->s[1];
	struct x86_opnd eax = x86_asm_r(H_RAX);
	struct x86_opnd jce = x86_asm_mi(H_RDX, H_RAX, 0, 0);
	struct x86_opnd jct = x86_asm_mi(H_RDX, H_RAX, 0, 8);
	int miss = xj_label(c), bad = xj_label(c);

	x86_asm_op1(a, false, 0x89, H_R11, &eax);	/* mov eax, r11d */
	x86_asm_shift_ri(a, 5, false, H_RAX, X86_JC_BITS);
	x86_asm_op1(a, false, 0x31, H_R11, &eax);	/* xor eax, r11d */
	x86_asm_alu_ri(a, 4, false, H_RAX, X86_JC_SIZE - 1);
	x86_asm_shift_ri(a, 4, false, H_RAX, 4);
	x86_asm_mov_load(a, H_RDX, H_RBP, OFF(jc));
	x86_asm_op1(a, true, 0x3b, H_R11, &jce);	/* cmp r11, [rdx+rax] */
	xj_jcc_to(c, 0, CC_NE, miss);
	x86_asm_op1(a, false, 0xff, 4, &jct);		/* jmp [rdx+rax+8] */

	xj_bind(c, miss, 1);
	x86_asm_raw(s, cmp_canon, sizeof(cmp_canon));
	xj_jcc_to(c, 1, CC_NE, bad);
	x86_asm_mov_store(s, H_RBP, OFF(rip), H_R11);
	xj_exit_code(c, 1, JX_DISPATCH);
	xj_bind(c, bad, 1);
	if (undo)
		x86_asm_alu_mi(s, 0, true, H_RBP, ROFF(X86_RSP), undo);
	xj_call_generic(c, 1, k);
	xj_jmp_exit(c, 1);
}

/* ---- memory operands ---- */

/* The linear address of instruction k's memory operand into R11. */
static void
xj_ea(struct xj_ctx *c, int k)
{
	const struct x86_insn *in = &c->jb->insn[k];
	struct x86_asm *a = &c->s[0];
	uint64_t v;

	if (in->ripr || (in->base == X86_REG_NONE &&
	    in->index == X86_REG_NONE)) {
		v = (uint64_t)(int64_t)in->disp;
		if (in->ripr)
			v += xj_next(c, k);
		x86_asm_mov_imm(a, H_R11, in->asize == 4 ? (uint32_t)v : v);
	} else {
		struct x86_opnd m = x86_asm_mi(in->base == X86_REG_NONE ?
		    H_NONE : c->host[in->base], in->index == X86_REG_NONE ?
		    H_NONE : c->host[in->index], in->scale, in->disp);
		x86_asm_lea(a, in->asize == 8, H_R11, &m);
	}
	if (in->seg == X86_FS || in->seg == X86_GS) {
		struct x86_opnd base = x86_asm_m(H_RBP,
		    (int32_t)(__builtin_offsetof(struct x86_cpu, seg) +
		    in->seg * sizeof(struct x86_seg) +
		    __builtin_offsetof(struct x86_seg, base)) - X86_JIT_BIAS);
		x86_asm_op1(a, true, 0x03, H_R11, &base);
	}
}

/*
 * The software TLB for 'size' bytes at R11 (X86_TLB_IDX, entries of 32
 * bytes): on a hit R11 becomes the host address.  The tag compared is
 * the page of the last byte: adjacent pages never share a slot, so a
 * page-crossing access misses.  A non-canonical address never matches
 * either.  Clobbers RCX, RDX and the host flags.
 */
static void
xj_tlb(struct xj_ctx *c, int size, int acc, int slow)
{
	struct x86_asm *a = &c->s[0];
	struct x86_opnd edx = x86_asm_r(H_RDX), ecx = x86_asm_r(H_RCX);
	struct x86_opnd last = x86_asm_m(H_R11, size - 1);
	int32_t base = (int32_t)(__builtin_offsetof(struct x86_cpu, tlb) +
	    c->cpu->mmu * sizeof(c->cpu->tlb[0])) - X86_JIT_BIAS;
	int32_t tag = acc == X86_ACC_W ? 8 : acc == X86_ACC_X ? 16 : 0;
	struct x86_opnd t = x86_asm_mi(H_RBP, H_RDX, 0, base + tag);
	struct x86_opnd add = x86_asm_mi(H_RBP, H_RDX, 0, base + 24);

	x86_asm_op1(a, false, 0x89, H_R11, &edx);	/* mov edx, r11d */
	x86_asm_shift_ri(a, 5, false, H_RDX, 7);
	x86_asm_op1(a, false, 0x89, H_R11, &ecx);	/* mov ecx, r11d */
	x86_asm_shift_ri(a, 5, false, H_RCX, 15);
	x86_asm_alu_ri(a, 4, false, H_RCX, 0x3fc0);
	x86_asm_op1(a, false, 0x31, H_RCX, &edx);	/* xor edx, ecx */
	x86_asm_alu_ri(a, 4, false, H_RDX, 0x3fe0);
	x86_asm_lea(a, true, H_RCX, &last);
	x86_asm_shift_ri(a, 5, true, H_RCX, 12);
	x86_asm_op1(a, true, 0x3b, H_RCX, &t);		/* cmp rcx, tag */
	xj_jcc_to(c, 0, CC_NE, slow);
	x86_asm_op1(a, true, 0x03, H_R11, &add);	/* add r11, addend */
}

/*
 * The slow path of instruction k: the interpreter runs all of it, then
 * the straight path goes on at 'join' with its state ('dirty_pre': what
 * was newer in the host before the instruction).
 */
static void
xj_slow(struct xj_ctx *c, int k, int slow, int join, uint16_t dirty_pre)
{
	xj_bind(c, slow, 1);
	xj_wb(c, 1, dirty_pre);
	xj_call_generic(c, 1, k);
	if (k == c->n - 1 || join < 0) {
		xj_jmp_exit(c, 1);
		return;
	}
	xj_reload(c, 1);
	if (c->fhost)
		xj_flags_load(&c->s[1]);
	xj_jmp_to(c, 1, join);
}

/* ---- instructions ---- */

static void
xj_imp_in(struct xj_ctx *c, const struct xj_ins *x)
{
	struct x86_asm *a = &c->s[0];

	if (x->imp & (IMP_A | IMP_AW))
		x86_asm_mov_rr(a, H_RAX, c->host[X86_RAX]);
	if (x->imp & (IMP_D | IMP_DW))
		x86_asm_mov_rr(a, H_RDX, c->host[X86_RDX]);
	if (x->imp & IMP_C)
		x86_asm_mov_rr(a, H_RCX, c->host[X86_RCX]);
}

static void
xj_imp_out(struct xj_ctx *c, const struct xj_ins *x)
{
	if (x->imp & IMP_AW)
		x86_asm_mov_rr(&c->s[0], c->host[X86_RAX], H_RAX);
	if (x->imp & IMP_DW)
		x86_asm_mov_rr(&c->s[0], c->host[X86_RDX], H_RDX);
}

/* The guest instruction, operands remapped, memory at [R11]. */
static void
xj_encode(struct xj_ctx *c, const struct xj_ins *x, const uint8_t *b)
{
	struct x86_asm *a = &c->s[0];
	struct x86_opnd rm = x->mem ? x86_asm_m(H_R11, 0) :
	    x86_asm_r(c->host[x->rm]);
	int reg = x->ext ? x->regf : c->host[x->regf];

	if (x->p66)
		x86_asm_b(a, 0x66);
	if (x->rep)
		x86_asm_b(a, x->rep);
	if (x->lock)
		x86_asm_b(a, 0xf0);
	if (x->kind == XK_NATOP) {
		uint8_t op[2] = { x->opc[0], x->opc[1] };
		op[x->nopc - 1] &= 0xf8;
		x86_asm_opreg(a, x->w, x->byte, op, x->nopc, c->host[x->rm]);
	} else if (!x->has_modrm) {
		if (x->w)
			x86_asm_b(a, 0x48);
		x86_asm_raw(a, x->opc, x->nopc);
	} else {
		x86_asm_op(a, x->w, x->byte, x->opc, x->nopc, reg, &rm);
	}
	x86_asm_raw(a, b + x->imm_at, x->imm_len);
}

/* A re-encoded instruction, with its memory operand through the TLB. */
static void
xj_nat(struct xj_ctx *c, int k)
{
	const struct xj_ins *x = &c->ins[k];
	const struct x86_insn *in = &c->jb->insn[k];
	uint16_t dirty_pre = c->dirty;
	int slow = -1, join = -1;

	if (x->mem) {
		xj_flags_spill(c);
		xj_ea(c, k);
		slow = xj_label(c);
		join = xj_label(c);
		xj_tlb(c, x->msize, x->macc, slow);
	}
	if (x->fr || ((x->fw || x->fmay) && (x->live & ~x->fw)))
		xj_flags_in(c);
	xj_imp_in(c, x);
	xj_encode(c, x, c->jb->bytes + in->off);
	xj_imp_out(c, x);
	if (x->fw || x->fmay)
		c->fhost = c->fdirty = true;
	c->dirty |= x->defs;
	if (x->mem) {
		xj_bind(c, join, 0);
		xj_slow(c, k, slow, join, dirty_pre);
	}
}

static void
xj_lea(struct xj_ctx *c, int k)
{
	const struct xj_ins *x = &c->ins[k];
	const struct x86_insn *in = &c->jb->insn[k];
	struct x86_asm *a = &c->s[0];
	int dst = c->host[x->regf];

	if (in->ripr) {
		uint64_t v = xj_next(c, k) + (uint64_t)(int64_t)in->disp;
		if (in->asize == 4 || in->osize == 4)
			v = (uint32_t)v;
		x86_asm_mov_imm(a, dst, v);
	} else {
		struct x86_opnd m = x86_asm_mi(in->base == X86_REG_NONE ?
		    H_NONE : c->host[in->base], in->index == X86_REG_NONE ?
		    H_NONE : c->host[in->index], in->scale, in->disp);
		if (x->p66)
			x86_asm_b(a, 0x66);
		if (x->p67)
			x86_asm_b(a, 0x67);
		x86_asm_lea(a, x->w, dst, &m);
	}
	c->dirty |= x->defs;
}

/* RSP += delta without touching the flags. */
static void
xj_rsp_add(struct xj_ctx *c, int32_t delta)
{
	struct x86_opnd m = x86_asm_m(c->host[X86_RSP], delta);

	x86_asm_lea(&c->s[0], true, c->host[X86_RSP], &m);
	c->dirty |= 1u << X86_RSP;
}

/* PUSH r64 / imm: the write is checked before RSP moves. */
static void
xj_push(struct xj_ctx *c, int k)
{
	const struct xj_ins *x = &c->ins[k];
	struct x86_asm *a = &c->s[0];
	struct x86_opnd sp = x86_asm_m(c->host[X86_RSP], -8);
	struct x86_opnd top = x86_asm_m(H_R11, 0);
	uint16_t dirty_pre = c->dirty;
	int slow, join;

	xj_flags_spill(c);
	x86_asm_lea(a, true, H_R11, &sp);
	slow = xj_label(c);
	join = xj_label(c);
	xj_tlb(c, 8, X86_ACC_W, slow);
	if (x->imm_len == 0xff) {
		x86_asm_op1(a, true, 0xc7, 0, &top);
		x86_asm_d(a, (uint32_t)x->target);
	} else {
		x86_asm_op1(a, true, 0x89, c->host[x->rm], &top);
	}
	xj_rsp_add(c, -8);
	xj_bind(c, join, 0);
	xj_slow(c, k, slow, join, dirty_pre);
}

/* POP r64 and LEAVE (POP RBP from RBP): R11 = [src], src += 8. */
static void
xj_pop(struct xj_ctx *c, int k)
{
	const struct xj_ins *x = &c->ins[k];
	struct x86_asm *a = &c->s[0];
	struct x86_opnd top = x86_asm_m(H_R11, 0);
	int src = x->kind == XK_LEAVE ? X86_RBP : X86_RSP;
	int dst = x->kind == XK_LEAVE ? X86_RBP : x->rm;
	struct x86_opnd after = x86_asm_m(c->host[src], 8);
	uint16_t dirty_pre = c->dirty;
	int slow, join;

	xj_flags_spill(c);
	x86_asm_mov_rr(a, H_R11, c->host[src]);
	slow = xj_label(c);
	join = xj_label(c);
	xj_tlb(c, 8, X86_ACC_R, slow);
	x86_asm_op1(a, true, 0x8b, H_R11, &top);
	x86_asm_lea(a, true, c->host[X86_RSP], &after);
	x86_asm_mov_rr(a, c->host[dst], H_R11);
	c->dirty |= x->defs;
	xj_bind(c, join, 0);
	xj_slow(c, k, slow, join, dirty_pre);
}

static void
xj_jcc(struct xj_ctx *c, int k)
{
	const struct xj_ins *x = &c->ins[k];
	int l = xj_label(c);

	xj_flags_in(c);
	if (k == c->n - 1) {
		/* The taken side inline (loops), the other cold. */
		xj_jcc_to(c, 0, x->cc ^ 1, l);
		xj_bind(c, l, 1);
		xj_edge(c, 1, xj_next(c, k), 0);
		xj_edge(c, 0, x->target, 0);
		return;
	}
	xj_jcc_to(c, 0, x->cc, l);
	xj_bind(c, l, 1);
	xj_edge(c, 1, x->target, c->n - k - 1);
}

/* CALL rel / r/m64: the return address pushed, then on to the target. */
static void
xj_call(struct xj_ctx *c, int k)
{
	const struct xj_ins *x = &c->ins[k];
	struct x86_asm *a = &c->s[0];
	struct x86_opnd sp = x86_asm_m(c->host[X86_RSP], -8);
	struct x86_opnd top = x86_asm_m(H_R11, 0);
	uint16_t dirty_pre = c->dirty;
	int slow = xj_label(c);

	xj_flags_spill(c);
	if (x->kind == XK_CALLI && x->mem) {
		xj_ea(c, k);
		xj_tlb(c, 8, X86_ACC_R, slow);
		x86_asm_op1(a, true, 0x8b, H_RAX, &top);
	} else if (x->kind == XK_CALLI) {
		x86_asm_mov_rr(a, H_RAX, c->host[x->rm]);
	}
	x86_asm_lea(a, true, H_R11, &sp);
	xj_tlb(c, 8, X86_ACC_W, slow);
	x86_asm_mov_imm(a, H_RCX, xj_next(c, k));
	x86_asm_op1(a, true, 0x89, H_RCX, &top);
	xj_rsp_add(c, -8);
	xj_slow(c, k, slow, -1, dirty_pre);
	if (x->kind == XK_CALL) {
		xj_edge(c, 0, x->target, 0);
		return;
	}
	x86_asm_mov_rr(a, H_R11, H_RAX);
	xj_sync(c, 0);
	xj_indirect(c, k, 8);
}

/* RET [imm16], JMP r/m64. */
static void
xj_ret_jmpi(struct xj_ctx *c, int k)
{
	const struct xj_ins *x = &c->ins[k];
	struct x86_asm *a = &c->s[0];
	struct x86_opnd top = x86_asm_m(H_R11, 0);
	int slow = xj_label(c);
	int32_t pop = 8 + (int32_t)(x->target & 0xffff);

	xj_flags_spill(c);
	if (x->kind == XK_JMPI && !x->mem) {
		x86_asm_mov_rr(a, H_R11, c->host[x->rm]);
	} else {
		if (x->kind == XK_RET)
			x86_asm_mov_rr(a, H_R11, c->host[X86_RSP]);
		else
			xj_ea(c, k);
		xj_tlb(c, 8, X86_ACC_R, slow);
		x86_asm_op1(a, true, 0x8b, H_R11, &top);
		xj_slow(c, k, slow, -1, c->dirty);
	}
	if (x->kind == XK_RET)
		xj_rsp_add(c, pop);
	xj_sync(c, 0);
	xj_indirect(c, k, x->kind == XK_RET ? -pop : 0);
}

/* The interpreter's handler for instruction k. */
static void
xj_generic(struct xj_ctx *c, int k)
{
	xj_sync(c, 0);
	c->dirty = 0;
	c->fhost = c->fdirty = false;
	xj_call_generic(c, 0, k);
	if (k == c->n - 1)
		xj_jmp_exit(c, 0);
	else
		xj_reload(c, 0);
}

static void
xj_ins_emit(struct xj_ctx *c, int k)
{
	switch (c->ins[k].kind) {
	case XK_NAT: case XK_NATOP: xj_nat(c, k); break;
	case XK_NOP: break;
	case XK_LEA: xj_lea(c, k); break;
	case XK_PUSH: xj_push(c, k); break;
	case XK_POP: case XK_LEAVE: xj_pop(c, k); break;
	case XK_JCC: xj_jcc(c, k); break;
	case XK_JMP: xj_edge(c, 0, c->ins[k].target, 0); break;
	case XK_CALL: case XK_CALLI: xj_call(c, k); break;
	case XK_RET: case XK_JMPI: xj_ret_jmpi(c, k); break;
	default: xj_generic(c, k); break;
	}
}

/* ---- layout ---- */

static const uint8_t *
xj_rx_of(const struct xj_ctx *c, uint32_t base, int s, uint32_t at)
{
	return x86_jit_code_rx(c->j, base + (s ? c->s[0].len : 0) + at);
}

/* Copy both streams to the code area at 'base' and resolve the rel32s. */
static int
xj_install(struct xj_ctx *c, uint32_t base)
{
	int i;

	memcpy(c->j->rw + base, c->s[0].buf, c->s[0].len);
	memcpy(c->j->rw + base + c->s[0].len, c->s[1].buf, c->s[1].len);
	for (i = 0; i < c->nfix; i++) {
		const struct xj_fix *f = &c->fix[i];
		const uint8_t *src = xj_rx_of(c, base, f->s, f->at) + 4;
		uint64_t to = f->abs;
		int64_t rel;
		int32_t r32;

		if (f->lbl >= 0) {
			if (c->lbl[f->lbl].s < 0)
				return -EINVAL;
			to = (uint64_t)(uintptr_t)xj_rx_of(c, base,
			    c->lbl[f->lbl].s, c->lbl[f->lbl].at);
		}
		rel = (int64_t)(to - (uint64_t)(uintptr_t)src);
		if (rel != (int32_t)rel)
			return -EINVAL;
		r32 = (int32_t)rel;
		memcpy(c->j->rw + base + (f->s ? c->s[0].len : 0) + f->at,
		    &r32, 4);
	}
	for (i = 0; i < c->nedge; i++) {
		struct x86_jedge *e = &c->j->edges[c->edge[i].edge];
		int stub = c->edge[i].stub;

		e->site = base + (c->edge[i].s ? c->s[0].len : 0) +
		    c->edge[i].at;
		e->stub = base + (c->lbl[stub].s ? c->s[0].len : 0) +
		    c->lbl[stub].at;
	}
	return 0;
}

static void
xj_ctx_init(struct xj_ctx *c, struct x86_cpu *cpu, struct x86_jblk *jb)
{
	struct x86_jit *j = cpu->jit;

	memset(c, 0, sizeof(*c));
	c->cpu = cpu;
	c->j = j;
	c->jb = jb;
	c->s[0] = (struct x86_asm){ .buf = j->sbuf[0], .cap = X86_JIT_SBUF };
	c->s[1] = (struct x86_asm){ .buf = j->sbuf[1], .cap = X86_JIT_SBUF };
}

static bool
xj_is_branch(int kind)
{
	return kind == XK_JMP || kind == XK_CALL || kind == XK_RET ||
	    kind == XK_JMPI || kind == XK_CALLI || kind == XK_GEN ||
	    kind == XK_JCC;
}

int
x86_jit_translate(struct x86_cpu *cpu, struct x86_jblk *jb)
{
	struct xj_ctx *c = cpu->jit->ctx;
	struct x86_jit *j = cpu->jit;
	uint32_t base, total;
	int k, r;

	xj_ctx_init(c, cpu, jb);
	if ((r = xj_analyze_block(c)) != 0)
		return r;
	jb->ninsn = (uint16_t)c->n;
	jb->nbytes = (uint16_t)(jb->insn[c->n - 1].off +
	    jb->insn[c->n - 1].len);
	xj_entry(c);
	for (k = 0; k < c->n && !c->err; k++)
		xj_ins_emit(c, k);
	if (!xj_is_branch(c->ins[c->n - 1].kind))
		xj_edge(c, 0, xj_next(c, c->n - 1), 0);
	if (c->err || c->s[0].full || c->s[1].full)
		return -ENOTSUP;
	base = (j->code_used + 15) & ~15u;
	total = c->s[0].len + c->s[1].len;
	if ((uint64_t)base + total > X86_JIT_CODE_SIZE)
		return -ENOSPC;
	if ((r = xj_install(c, base)) != 0)
		return r;
	jb->entry = base;
	j->code_used = base + total;
	return 0;
}

/*
 * x86_jit_enter(cpu, entry): save the host's callee-saved registers, keep
 * the stack 16-byte aligned for calls into C, RBP = cpu + bias, jump.
 * The common exit returns EAX to the caller.
 */
int
x86_jit_gen_trampoline(struct x86_jit *j)
{
	static const uint8_t push[] = { 0x55, 0x53, 0x41, 0x54, 0x41, 0x55,
		0x41, 0x56, 0x41, 0x57, 0x48, 0x83, 0xec, 0x08 };
	static const uint8_t jmp_rsi[] = { 0xff, 0xe6 };
	static const uint8_t pop[] = { 0x48, 0x83, 0xc4, 0x08, 0x41, 0x5f,
		0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5b, 0x5d, 0xc3 };
	struct x86_asm a = { .buf = j->rw, .cap = 256 };
	struct x86_opnd cpu = x86_asm_m(H_RDI, X86_JIT_BIAS);

	x86_asm_raw(&a, push, sizeof(push));
	x86_asm_lea(&a, true, H_RBP, &cpu);
	x86_asm_raw(&a, jmp_rsi, sizeof(jmp_rsi));
	j->exit_off = (a.len + 15) & ~15u;
	while (a.len < j->exit_off)
		x86_asm_b(&a, 0xcc);	/* INT3 between the two */
	x86_asm_raw(&a, pop, sizeof(pop));
	/* An empty jump cache slot: leave for the dispatcher at R11. */
	j->miss_off = (a.len + 15) & ~15u;
	while (a.len < j->miss_off)
		x86_asm_b(&a, 0xcc);
	x86_asm_mov_store(&a, H_RBP, OFF(rip), H_R11);
	x86_asm_mov_imm(&a, H_RAX, JX_DISPATCH);
	x86_asm_b(&a, 0xe9);
	x86_asm_d(&a, j->exit_off - (a.len + 4));
	if (a.full)
		return -ENOSPC;
	j->code_used = (a.len + 63) & ~63u;
	return 0;
}
