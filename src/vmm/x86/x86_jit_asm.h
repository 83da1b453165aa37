/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small x86-64 encoder for the JIT (SDM vol. 2, chapter 2): REX,
 * ModRM/SIB/displacement for any register or memory operand, and the few
 * fixed instructions translated code needs.  Output goes to a bounded
 * buffer; running out sets 'full' and the translation is dropped.
 */
#ifndef X86_JIT_ASM_H
#define X86_JIT_ASM_H

#include <stdbool.h>
#include <stdint.h>

/* Host registers, by encoding. */
enum { H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI, H_R8, H_R9,
	H_R10, H_R11, H_R12, H_R13, H_R14, H_R15 };
#define H_NONE 0xff

struct x86_asm {
	uint8_t *buf;
	uint32_t len, cap;
	bool full;
};

/* A register, or memory at [base + index << scale + disp] / [rip + disp]. */
struct x86_opnd {
	bool mem;
	bool riprel;
	uint8_t reg;
	uint8_t base, index;	/* H_NONE when absent */
	uint8_t scale;
	int32_t disp;
};

static inline struct x86_opnd
x86_asm_r(int reg)
{
	return (struct x86_opnd){ .reg = (uint8_t)reg, .base = H_NONE,
		.index = H_NONE };
}

static inline struct x86_opnd
x86_asm_m(int base, int32_t disp)
{
	return (struct x86_opnd){ .mem = true, .base = (uint8_t)base,
		.index = H_NONE, .disp = disp };
}

static inline struct x86_opnd
x86_asm_mi(int base, int index, int scale, int32_t disp)
{
	return (struct x86_opnd){ .mem = true, .base = (uint8_t)base,
		.index = (uint8_t)index, .scale = (uint8_t)scale,
		.disp = disp };
}

void x86_asm_b(struct x86_asm *a, uint8_t b);
void x86_asm_d(struct x86_asm *a, uint32_t v);
void x86_asm_q(struct x86_asm *a, uint64_t v);
void x86_asm_raw(struct x86_asm *a, const uint8_t *p, int n);
/*
 * REX, opcode bytes and the ModRM operand pair: 'reg' is a register or
 * an opcode extension, 'rm' the other operand.  'w' sets REX.W; 'byte'
 * means 8-bit register operands (REX is forced for SPL, BPL, SIL, DIL).
 * Prefixes such as 66, F2, F3 and F0 are the caller's, before this.
 * Returns the offset of the displacement (for [rip + disp]), or -1.
 */
int x86_asm_op(struct x86_asm *a, bool w, bool byte, const uint8_t *op,
    int nop, int reg, const struct x86_opnd *rm);
/* The same with one opcode byte. */
int x86_asm_op1(struct x86_asm *a, bool w, uint8_t op, int reg,
    const struct x86_opnd *rm);
/* An opcode with the register in its low 3 bits (B8+r, 50+r ...). */
void x86_asm_opreg(struct x86_asm *a, bool w, bool byte, const uint8_t *op,
    int nop, int reg);

/* Common moves (no flags touched by any of them). */
void x86_asm_mov_load(struct x86_asm *a, int reg, int base, int32_t disp);
void x86_asm_mov_store(struct x86_asm *a, int base, int32_t disp, int reg);
void x86_asm_mov_rr(struct x86_asm *a, int dst, int src);
void x86_asm_mov_imm(struct x86_asm *a, int reg, uint64_t imm);
void x86_asm_lea(struct x86_asm *a, bool w, int reg, const struct x86_opnd *m);
/* 'op'(w) [base + disp], imm32 or imm8 through 81 /ext or 83 /ext. */
void x86_asm_alu_mi(struct x86_asm *a, int ext, bool w, int base,
    int32_t disp, int32_t imm);
/* 'op'(w) reg, imm through 81/83 /ext. */
void x86_asm_alu_ri(struct x86_asm *a, int ext, bool w, int reg,
    int32_t imm);
/* Shift reg by imm (C1 /ext). */
void x86_asm_shift_ri(struct x86_asm *a, int ext, bool w, int reg,
    uint8_t imm);
/* Jcc/JMP rel32: returns the offset of the rel32 to fix up. */
uint32_t x86_asm_jcc(struct x86_asm *a, int cc);
uint32_t x86_asm_jmp(struct x86_asm *a);
/* CALL to an absolute address through RAX. */
void x86_asm_call_abs(struct x86_asm *a, const void *fn);

#endif /* X86_JIT_ASM_H */
