/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The JIT's x86-64 encoder (see x86_jit_asm.h).  Encodings follow the SDM
 * vol. 2, 2.1-2.2: REX.W/R/X/B, ModRM mod 00/01/10/11, a SIB byte when the
 * base is RSP/R12 or there is an index, and RBP/R13 as a base always with
 * a displacement (mod 00 with rm 101 means RIP-relative in 64-bit mode).
 */
#include <string.h>

#include "x86_jit_asm.h"

void
x86_asm_b(struct x86_asm *a, uint8_t b)
{
	if (a->len >= a->cap) {
		a->full = true;
		return;
	}
	a->buf[a->len++] = b;
}

void
x86_asm_d(struct x86_asm *a, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		x86_asm_b(a, (uint8_t)(v >> (8 * i)));
}

void
x86_asm_q(struct x86_asm *a, uint64_t v)
{
	x86_asm_d(a, (uint32_t)v);
	x86_asm_d(a, (uint32_t)(v >> 32));
}

void
x86_asm_raw(struct x86_asm *a, const uint8_t *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		x86_asm_b(a, p[i]);
}

static bool
x86_asm_fits8(int32_t v)
{
	return v >= -128 && v <= 127;
}

/* REX for a ModRM pair; 0 when none is needed. */
static uint8_t
x86_asm_rex(bool w, bool byte, int reg, const struct x86_opnd *rm)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0);
	bool byte_reg = byte && reg >= 4 && reg < 8;

	if (rm->mem && !rm->riprel) {
		if (rm->base != H_NONE && (rm->base & 8))
			rex |= 1;
		if (rm->index != H_NONE && (rm->index & 8))
			rex |= 2;
	} else if (!rm->mem) {
		rex |= (rm->reg & 8) ? 1 : 0;
		byte_reg = byte_reg || (byte && rm->reg >= 4 && rm->reg < 8);
	}
	/* A bare REX (40) turns AH..BH into SPL..DIL. */
	return (rex != 0x40 || byte_reg) ? rex : 0;
}

/* ModRM, SIB and displacement of a memory operand. */
static int
x86_asm_mem(struct x86_asm *a, int reg, const struct x86_opnd *m)
{
	int base = m->base, idx = m->index, mod, at;

	reg &= 7;
	if (m->riprel) {
		x86_asm_b(a, (uint8_t)(0x05 | (reg << 3)));
		at = (int)a->len;
		x86_asm_d(a, (uint32_t)m->disp);
		return at;
	}
	if (base == H_NONE) {
		x86_asm_b(a, (uint8_t)(0x04 | (reg << 3)));
		x86_asm_b(a, (uint8_t)((m->scale << 6) |
		    ((idx == H_NONE ? 4 : idx & 7) << 3) | 5));
		x86_asm_d(a, (uint32_t)m->disp);
		return -1;
	}
	if (m->disp == 0 && (base & 7) != 5)
		mod = 0;
	else
		mod = x86_asm_fits8(m->disp) ? 1 : 2;
	if (idx != H_NONE || (base & 7) == 4) {
		x86_asm_b(a, (uint8_t)((mod << 6) | (reg << 3) | 4));
		x86_asm_b(a, (uint8_t)((m->scale << 6) |
		    ((idx == H_NONE ? 4 : idx & 7) << 3) | (base & 7)));
	} else {
		x86_asm_b(a, (uint8_t)((mod << 6) | (reg << 3) | (base & 7)));
	}
	if (mod == 1)
		x86_asm_b(a, (uint8_t)m->disp);
	else if (mod == 2)
		x86_asm_d(a, (uint32_t)m->disp);
	return -1;
}

int
x86_asm_op(struct x86_asm *a, bool w, bool byte, const uint8_t *op, int nop,
    int reg, const struct x86_opnd *rm)
{
	uint8_t rex = x86_asm_rex(w, byte, reg, rm);

	if (rex)
		x86_asm_b(a, rex);
	x86_asm_raw(a, op, nop);
	if (rm->mem)
		return x86_asm_mem(a, reg, rm);
	x86_asm_b(a, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm->reg & 7)));
	return -1;
}

int
x86_asm_op1(struct x86_asm *a, bool w, uint8_t op, int reg,
    const struct x86_opnd *rm)
{
	return x86_asm_op(a, w, false, &op, 1, reg, rm);
}

void
x86_asm_opreg(struct x86_asm *a, bool w, bool byte, const uint8_t *op,
    int nop, int reg)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 1 : 0);
	uint8_t last = (uint8_t)(op[nop - 1] + (reg & 7));

	if (rex != 0x40 || (byte && reg >= 4 && reg < 8))
		x86_asm_b(a, rex);
	x86_asm_raw(a, op, nop - 1);
	x86_asm_b(a, last);
}

void
x86_asm_mov_load(struct x86_asm *a, int reg, int base, int32_t disp)
{
	struct x86_opnd m = x86_asm_m(base, disp);

	x86_asm_op1(a, true, 0x8b, reg, &m);
}

void
x86_asm_mov_store(struct x86_asm *a, int base, int32_t disp, int reg)
{
	struct x86_opnd m = x86_asm_m(base, disp);

	x86_asm_op1(a, true, 0x89, reg, &m);
}

void
x86_asm_mov_rr(struct x86_asm *a, int dst, int src)
{
	struct x86_opnd r = x86_asm_r(dst);

	x86_asm_op1(a, true, 0x89, src, &r);
}

/* The shortest MOV reg, imm: 32-bit zero-extending, sign-extended, 64. */
void
x86_asm_mov_imm(struct x86_asm *a, int reg, uint64_t imm)
{
	static const uint8_t b8 = 0xb8;
	struct x86_opnd r = x86_asm_r(reg);

	if (imm <= 0xffffffffULL) {
		x86_asm_opreg(a, false, false, &b8, 1, reg);
		x86_asm_d(a, (uint32_t)imm);
	} else if ((uint64_t)(int64_t)(int32_t)imm == imm) {
		x86_asm_op1(a, true, 0xc7, 0, &r);
		x86_asm_d(a, (uint32_t)imm);
	} else {
		x86_asm_opreg(a, true, false, &b8, 1, reg);
		x86_asm_q(a, imm);
	}
}

void
x86_asm_lea(struct x86_asm *a, bool w, int reg, const struct x86_opnd *m)
{
	x86_asm_op1(a, w, 0x8d, reg, m);
}

void
x86_asm_alu_mi(struct x86_asm *a, int ext, bool w, int base, int32_t disp,
    int32_t imm)
{
	struct x86_opnd m = x86_asm_m(base, disp);

	if (x86_asm_fits8(imm)) {
		x86_asm_op1(a, w, 0x83, ext, &m);
		x86_asm_b(a, (uint8_t)imm);
	} else {
		x86_asm_op1(a, w, 0x81, ext, &m);
		x86_asm_d(a, (uint32_t)imm);
	}
}

void
x86_asm_alu_ri(struct x86_asm *a, int ext, bool w, int reg, int32_t imm)
{
	struct x86_opnd r = x86_asm_r(reg);

	if (x86_asm_fits8(imm)) {
		x86_asm_op1(a, w, 0x83, ext, &r);
		x86_asm_b(a, (uint8_t)imm);
	} else {
		x86_asm_op1(a, w, 0x81, ext, &r);
		x86_asm_d(a, (uint32_t)imm);
	}
}

void
x86_asm_shift_ri(struct x86_asm *a, int ext, bool w, int reg, uint8_t imm)
{
	struct x86_opnd r = x86_asm_r(reg);

	x86_asm_op1(a, w, 0xc1, ext, &r);
	x86_asm_b(a, imm);
}

uint32_t
x86_asm_jcc(struct x86_asm *a, int cc)
{
	uint32_t at;

	x86_asm_b(a, 0x0f);
	x86_asm_b(a, (uint8_t)(0x80 | (cc & 0xf)));
	at = a->len;
	x86_asm_d(a, 0);
	return at;
}

uint32_t
x86_asm_jmp(struct x86_asm *a)
{
	uint32_t at;

	x86_asm_b(a, 0xe9);
	at = a->len;
	x86_asm_d(a, 0);
	return at;
}

void
x86_asm_call_abs(struct x86_asm *a, const void *fn)
{
	static const uint8_t call_rax[2] = { 0xff, 0xd0 };

	x86_asm_mov_imm(a, H_RAX, (uint64_t)(uintptr_t)fn);
	x86_asm_raw(a, call_rax, 2);
}
