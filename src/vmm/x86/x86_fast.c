/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Specialized handlers for the most frequent instruction forms, chosen
 * once at decode time (x86_specialize): register-register and plain
 * memory MOV/ALU/TEST/INC/DEC on 32- and 64-bit operands, and Jcc in
 * 64-bit mode.  Each does exactly what the generic handler would for
 * that form, without the size and operand-kind dispatch.  The
 * differential tests run every form through both paths.
 */
#include "x86_internal.h"

#define FAST __attribute__((hot))

/* ---- MOV ---- */

static FAST int
x86_f_mov_rr64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->r[in->rm] = cpu->r[in->reg];
	return X86_OK;
}

static FAST int
x86_f_mov_rr32(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->r[in->rm] = (uint32_t)cpu->r[in->reg];
	return X86_OK;
}

static FAST int
x86_f_mov_r64_m(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r = x86_read(cpu, in->seg, x86_ea(cpu, in), 8, &v);

	if (likely(r == X86_OK))
		cpu->r[in->reg] = v;
	return r;
}

static FAST int
x86_f_mov_r32_m(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r = x86_read(cpu, in->seg, x86_ea(cpu, in), 4, &v);

	if (likely(r == X86_OK))
		cpu->r[in->reg] = v;
	return r;
}

static FAST int
x86_f_mov_m_r64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_write(cpu, in->seg, x86_ea(cpu, in), 8, cpu->r[in->reg]);
}

static FAST int
x86_f_mov_m_r32(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_write(cpu, in->seg, x86_ea(cpu, in), 4,
	    (uint32_t)cpu->r[in->reg]);
}

static FAST int
x86_f_mov_r_i64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->r[in->reg] = in->imm;
	return X86_OK;
}

static FAST int
x86_f_mov_r_i32(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->r[in->reg] = (uint32_t)in->imm;
	return X86_OK;
}

static FAST int
x86_f_lea64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->r[in->reg] = x86_ea(cpu, in);
	return X86_OK;
}

/* ---- ALU register-register and register-immediate ---- */

#define ALU_RR(name, sz, T, op, lf, store)                                   \
	static FAST int                                                      \
	x86_f_##name(struct x86_cpu *cpu, const struct x86_insn *in)         \
	{                                                                    \
		T a = (T)cpu->r[in->rm], b = (T)cpu->r[in->reg];             \
		T r = (T)(a op b);                                           \
		x86_lf(cpu, lf, sz, r, a, b);                                \
		if (store)                                                   \
			cpu->r[in->rm] = r;                                  \
		return X86_OK;                                               \
	}                                                                    \
	static FAST int                                                      \
	x86_f_##name##_i(struct x86_cpu *cpu, const struct x86_insn *in)     \
	{                                                                    \
		T a = (T)cpu->r[in->rm], b = (T)in->imm;                     \
		T r = (T)(a op b);                                           \
		x86_lf(cpu, lf, sz, r, a, b);                                \
		if (store)                                                   \
			cpu->r[in->rm] = r;                                  \
		return X86_OK;                                               \
	}

ALU_RR(add64, 8, uint64_t, +, LF_ADD, 1)
ALU_RR(add32, 4, uint32_t, +, LF_ADD, 1)
ALU_RR(sub64, 8, uint64_t, -, LF_SUB, 1)
ALU_RR(sub32, 4, uint32_t, -, LF_SUB, 1)
ALU_RR(cmp64, 8, uint64_t, -, LF_SUB, 0)
ALU_RR(cmp32, 4, uint32_t, -, LF_SUB, 0)

/* Logic ops record LF_LOGIC with zero sources, as x86_alu() does. */
#define LOGIC_RR(name, sz, T, op, store)                                     \
	static FAST int                                                      \
	x86_f_##name(struct x86_cpu *cpu, const struct x86_insn *in)         \
	{                                                                    \
		T r = (T)((T)cpu->r[in->rm] op(T)cpu->r[in->reg]);           \
		x86_lf(cpu, LF_LOGIC, sz, r, 0, 0);                          \
		if (store)                                                   \
			cpu->r[in->rm] = r;                                  \
		return X86_OK;                                               \
	}                                                                    \
	static FAST int                                                      \
	x86_f_##name##_i(struct x86_cpu *cpu, const struct x86_insn *in)     \
	{                                                                    \
		T r = (T)((T)cpu->r[in->rm] op(T)in->imm);                   \
		x86_lf(cpu, LF_LOGIC, sz, r, 0, 0);                          \
		if (store)                                                   \
			cpu->r[in->rm] = r;                                  \
		return X86_OK;                                               \
	}

LOGIC_RR(and64, 8, uint64_t, &, 1)
LOGIC_RR(and32, 4, uint32_t, &, 1)
LOGIC_RR(or64, 8, uint64_t, |, 1)
LOGIC_RR(or32, 4, uint32_t, |, 1)
LOGIC_RR(xor64, 8, uint64_t, ^, 1)
LOGIC_RR(xor32, 4, uint32_t, ^, 1)
LOGIC_RR(test64, 8, uint64_t, &, 0)
LOGIC_RR(test32, 4, uint32_t, &, 0)

/* ---- INC/DEC of a register: CF is kept ---- */

static inline uint64_t
x86_f_cf(const struct x86_cpu *cpu)
{
	uint64_t m = x86_size_mask(cpu->lf_size), a = cpu->lf_a;

	switch (cpu->lf_op) {
	case LF_SUB: return a < cpu->lf_b;
	case LF_LOGIC: return 0;
	case LF_ADD: return (cpu->lf_res & m) < a ||
	    ((cpu->lf_res & m) == a && cpu->lf_b != 0);
	default: return x86_flags_arith(cpu) & X86_CF;
	}
}

#define INCDEC(name, sz, T, op, lf)                                          \
	static FAST int                                                      \
	x86_f_##name(struct x86_cpu *cpu, const struct x86_insn *in)         \
	{                                                                    \
		int reg = in->mod == 3 ? in->rm : in->reg;                   \
		T a = (T)cpu->r[reg], r = (T)(a op 1);                       \
		cpu->rflags = (cpu->rflags & ~X86_CF) | x86_f_cf(cpu);      \
		x86_lf(cpu, lf, sz, r, a, 1);                                \
		cpu->r[reg] = r;                                             \
		return X86_OK;                                               \
	}

INCDEC(inc64, 8, uint64_t, +, LF_INC)
INCDEC(inc32, 4, uint32_t, +, LF_INC)
INCDEC(dec64, 8, uint64_t, -, LF_DEC)
INCDEC(dec32, 4, uint32_t, -, LF_DEC)

/* ---- Jcc in 64-bit mode: the target is canonical or #GP ---- */

static FAST int
x86_f_jcc64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;

	if (!x86_cond(cpu, in->b0 & 0xf))
		return X86_OK;
	t = cpu->rip + in->len + in->imm;
	if (unlikely(!x86_is_canonical(t)))
		return x86_gp0(cpu);
	cpu->rip = t;
	return X86_BRANCH;
}

/* ---- selection ---- */

struct x86_fast_alu {
	x86_handler_t rr64, rr32, ri64, ri32;
};

static const struct x86_fast_alu x86_fast_alu[8] = {
	[0] = { x86_f_add64, x86_f_add32, x86_f_add64_i, x86_f_add32_i },
	[1] = { x86_f_or64, x86_f_or32, x86_f_or64_i, x86_f_or32_i },
	[4] = { x86_f_and64, x86_f_and32, x86_f_and64_i, x86_f_and32_i },
	[5] = { x86_f_sub64, x86_f_sub32, x86_f_sub64_i, x86_f_sub32_i },
	[6] = { x86_f_xor64, x86_f_xor32, x86_f_xor64_i, x86_f_xor32_i },
	[7] = { x86_f_cmp64, x86_f_cmp32, x86_f_cmp64_i, x86_f_cmp32_i },
};

static x86_handler_t
x86_pick(int osize, x86_handler_t f64, x86_handler_t f32)
{
	return osize == 8 ? f64 : osize == 4 ? f32 : NULL;
}

static x86_handler_t
x86_fast_alu_pick(const struct x86_insn *in)
{
	const struct x86_fast_alu *a = &x86_fast_alu[in->sub & 7];

	if (in->mod != 3 || (in->pfx & X86_P_LOCK))
		return NULL;
	if (in->fn == x86_h_alu_rm_r)
		return x86_pick(in->osize, a->rr64, a->rr32);
	if (in->fn == x86_h_alu_rm_i)
		return x86_pick(in->osize, a->ri64, a->ri32);
	if (in->fn == x86_h_test_rm_r)
		return x86_pick(in->osize, x86_f_test64, x86_f_test32);
	if (in->fn == x86_h_test_rm_i)
		return x86_pick(in->osize, x86_f_test64_i, x86_f_test32_i);
	return NULL;
}

static x86_handler_t
x86_fast_mov_pick(const struct x86_insn *in, int csize)
{
	bool flat = true;	/* any segment: x86_read() applies it */

	if (in->fn == x86_h_mov_rm_r) {
		if (in->mod == 3)
			return x86_pick(in->osize, x86_f_mov_rr64,
			    x86_f_mov_rr32);
		return flat ? x86_pick(in->osize, x86_f_mov_m_r64,
		    x86_f_mov_m_r32) : NULL;
	}
	if (in->fn == x86_h_mov_r_rm) {
		if (in->mod == 3)
			return NULL;
		return flat ? x86_pick(in->osize, x86_f_mov_r64_m,
		    x86_f_mov_r32_m) : NULL;
	}
	if (in->fn == x86_h_mov_r_i)
		return x86_pick(in->osize, x86_f_mov_r_i64, x86_f_mov_r_i32);
	if (in->fn == x86_h_lea && in->osize == 8)
		return x86_f_lea64;
	return NULL;
}

/* Swap in a specialized handler where one fits (csize: code size). */
void
x86_specialize(struct x86_insn *in, int csize)
{
	x86_handler_t f = NULL;

	if ((in->fn == x86_h_mov_r_rm || in->fn == x86_h_alu_r_rm) &&
	    in->mod == 3 && (in->osize == 8 || in->osize == 4)) {
		/* "op reg, r/m" with registers is "op r/m, reg" reversed. */
		uint8_t t = in->rm;
		in->rm = in->reg;
		in->reg = t;
		if (in->fn == x86_h_mov_r_rm) {
			in->fn = in->osize == 8 ? x86_f_mov_rr64 :
			    x86_f_mov_rr32;
			return;
		}
		in->fn = x86_h_alu_rm_r;
	}
	f = x86_fast_alu_pick(in);
	if (!f)
		f = x86_fast_mov_pick(in, csize);
	if (!f && in->fn == x86_h_incdec && in->mod == 3 &&
	    !(in->pfx & X86_P_LOCK))
		f = in->sub ? x86_pick(in->osize, x86_f_dec64, x86_f_dec32) :
		    x86_pick(in->osize, x86_f_inc64, x86_f_inc32);
	if (!f && in->fn == x86_h_jcc && csize == 8)
		f = x86_f_jcc64;
	if (f)
		in->fn = f;
}
