/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Table-driven instruction decoder (SDM vol. 2, chapter 2 and appendix A):
 * prefixes, REX, one/two/three-byte opcode maps, ModRM/SIB/displacement
 * and immediates into a struct x86_insn with its handler.  Groups select
 * by ModRM.reg (and by ModRM for register forms of 0F 01, 0F AE, 0F C7);
 * SSE opcodes select by mandatory prefix.
 */
#include "x86_internal.h"

/* LOCK CMP is #UD (SDM vol. 2, LOCK): CMP (s == 7) is not lockable. */
#define ALU_LOCK(s) ((s) == 7 ? 0 : D_LOCK)
#define ALU(n, s) [n] = OP(x86_h_alu_rm_r, D_MODRM | D_BYTE | ALU_LOCK(s), s), \
	[n + 1] = OP(x86_h_alu_rm_r, D_MODRM | ALU_LOCK(s), s),           \
	[n + 2] = OP(x86_h_alu_r_rm, D_MODRM | D_BYTE, s),                \
	[n + 3] = OP(x86_h_alu_r_rm, D_MODRM, s),                         \
	[n + 4] = OP(x86_h_alu_a_i, D_BYTE | D_I8, s),                    \
	[n + 5] = OP(x86_h_alu_a_i, D_IZ, s)

#define OP(h, fl, s) { .fn = (h), .f = (fl), .sub = (s) }
#define TAB(fl, t) { .f = (fl), .tab = (t) }
#define UD OP(x86_h_ud, 0, 0)

static const struct x86_opdesc x86_grp1[8] = {
	[0] = OP(x86_h_alu_rm_i, D_LOCK, 0),
	[1] = OP(x86_h_alu_rm_i, D_LOCK, 1),
	[2] = OP(x86_h_alu_rm_i, D_LOCK, 2),
	[3] = OP(x86_h_alu_rm_i, D_LOCK, 3),
	[4] = OP(x86_h_alu_rm_i, D_LOCK, 4),
	[5] = OP(x86_h_alu_rm_i, D_LOCK, 5),
	[6] = OP(x86_h_alu_rm_i, D_LOCK, 6),
	[7] = OP(x86_h_alu_rm_i, 0, 7),
};
static const struct x86_opdesc x86_grp1a[8] = {
	[0] = OP(x86_h_pop_rm, D_DEF64, 0),
	[1 ... 7] = UD,
};
static const struct x86_opdesc x86_grp2[8] = {
	[0] = OP(x86_h_shift, 0, 0), [1] = OP(x86_h_shift, 0, 1),
	[2] = OP(x86_h_shift, 0, 2), [3] = OP(x86_h_shift, 0, 3),
	[4] = OP(x86_h_shift, 0, 4), [5] = OP(x86_h_shift, 0, 5),
	[6] = OP(x86_h_shift, 0, 6), [7] = OP(x86_h_shift, 0, 7),
};
static const struct x86_opdesc x86_grp3b[8] = {
	[0 ... 1] = OP(x86_h_test_rm_i, D_I8, 0),
	[2] = OP(x86_h_not, D_LOCK, 0),
	[3] = OP(x86_h_neg, D_LOCK, 0),
	[4] = OP(x86_h_mul, 0, 0),
	[5] = OP(x86_h_imul1, 0, 0),
	[6] = OP(x86_h_div, 0, 0),
	[7] = OP(x86_h_div, 0, 1),
};
static const struct x86_opdesc x86_grp3v[8] = {
	[0 ... 1] = OP(x86_h_test_rm_i, D_IZ, 0),
	[2] = OP(x86_h_not, D_LOCK, 0),
	[3] = OP(x86_h_neg, D_LOCK, 0),
	[4] = OP(x86_h_mul, 0, 0),
	[5] = OP(x86_h_imul1, 0, 0),
	[6] = OP(x86_h_div, 0, 0),
	[7] = OP(x86_h_div, 0, 1),
};
static const struct x86_opdesc x86_grp4[8] = {
	[0] = OP(x86_h_incdec, D_LOCK, 0),
	[1] = OP(x86_h_incdec, D_LOCK, 1),
	[2 ... 7] = UD,
};
static const struct x86_opdesc x86_grp5[8] = {
	[0] = OP(x86_h_incdec, D_LOCK, 0),
	[1] = OP(x86_h_incdec, D_LOCK, 1),
	[2] = OP(x86_h_call_rm, D_F64 | D_END, 0),
	[3] = OP(x86_h_callf_rm, D_MEM | D_END, 0),
	[4] = OP(x86_h_jmp_rm, D_F64 | D_END, 0),
	[5] = OP(x86_h_jmpf_rm, D_MEM | D_END, 0),
	[6] = OP(x86_h_push_rm, D_DEF64, 0),
	[7] = UD,
};
static const struct x86_opdesc x86_grp11b[8] = {
	[0] = OP(x86_h_mov_rm_i, D_I8, 0),
	[1 ... 7] = UD,
};
static const struct x86_opdesc x86_grp11v[8] = {
	[0] = OP(x86_h_mov_rm_i, D_IZ, 0),
	[1 ... 7] = UD,
};

const struct x86_opdesc x86_op1[256] = {
	ALU(0x00, 0), ALU(0x08, 1), ALU(0x10, 2), ALU(0x18, 3),
	ALU(0x20, 4), ALU(0x28, 5), ALU(0x30, 6), ALU(0x38, 7),
	[0x06] = OP(x86_h_push_sreg, D_NO64, X86_ES),
	[0x07] = OP(x86_h_pop_sreg, D_NO64 | D_END, X86_ES),
	[0x0e] = OP(x86_h_push_sreg, D_NO64, X86_CS),
	[0x0f] = UD,	/* escape, handled by the decoder */
	[0x16] = OP(x86_h_push_sreg, D_NO64, X86_SS),
	[0x17] = OP(x86_h_pop_sreg, D_NO64 | D_END, X86_SS),
	[0x1e] = OP(x86_h_push_sreg, D_NO64, X86_DS),
	[0x1f] = OP(x86_h_pop_sreg, D_NO64 | D_END, X86_DS),
	[0x26] = UD, [0x2e] = UD, [0x36] = UD, [0x3e] = UD,	/* prefixes */
	[0x27] = UD, [0x2f] = UD, [0x37] = UD, [0x3f] = UD,	/* BCD */
	[0x40 ... 0x47] = OP(x86_h_incdec_r, D_OPREG, 0),
	[0x48 ... 0x4f] = OP(x86_h_incdec_r, D_OPREG, 1),
	[0x50 ... 0x57] = OP(x86_h_push_r, D_OPREG | D_DEF64, 0),
	[0x58 ... 0x5f] = OP(x86_h_pop_r, D_OPREG | D_DEF64, 0),
	[0x60] = OP(x86_h_pusha, D_NO64, 0),
	[0x61] = OP(x86_h_popa, D_NO64, 0),
	[0x62] = UD,	/* BOUND */
	[0x63] = OP(x86_h_movsxd, D_MODRM, 0),
	[0x64 ... 0x67] = UD,	/* prefixes */
	[0x68] = OP(x86_h_push_i, D_IZ | D_DEF64, 0),
	[0x69] = OP(x86_h_imul_r_rm_i, D_MODRM | D_IZ, 0),
	[0x6a] = OP(x86_h_push_i, D_I8 | D_DEF64, 0),
	[0x6b] = OP(x86_h_imul_r_rm_i, D_MODRM | D_I8, 0),
	[0x6c] = OP(x86_h_ins, D_BYTE, 0),
	[0x6d] = OP(x86_h_ins, 0, 0),
	[0x6e] = OP(x86_h_outs, D_BYTE, 0),
	[0x6f] = OP(x86_h_outs, 0, 0),
	[0x70 ... 0x7f] = OP(x86_h_jcc, D_I8 | D_F64, 0),
	[0x80] = TAB(D_MODRM | D_BYTE | D_I8 | D_GRP, x86_grp1),
	[0x81] = TAB(D_MODRM | D_IZ | D_GRP, x86_grp1),
	[0x82] = TAB(D_MODRM | D_BYTE | D_I8 | D_GRP | D_NO64, x86_grp1),
	[0x83] = TAB(D_MODRM | D_I8 | D_GRP, x86_grp1),
	[0x84] = OP(x86_h_test_rm_r, D_MODRM | D_BYTE, 0),
	[0x85] = OP(x86_h_test_rm_r, D_MODRM, 0),
	[0x86] = OP(x86_h_xchg, D_MODRM | D_BYTE | D_LOCK, 0),
	[0x87] = OP(x86_h_xchg, D_MODRM | D_LOCK, 0),
	[0x88] = OP(x86_h_mov_rm_r, D_MODRM | D_BYTE, 0),
	[0x89] = OP(x86_h_mov_rm_r, D_MODRM, 0),
	[0x8a] = OP(x86_h_mov_r_rm, D_MODRM | D_BYTE, 0),
	[0x8b] = OP(x86_h_mov_r_rm, D_MODRM, 0),
	[0x8c] = OP(x86_h_mov_rm_sreg, D_MODRM, 0),
	[0x8d] = OP(x86_h_lea, D_MODRM | D_MEM, 0),
	[0x8e] = OP(x86_h_mov_sreg_rm, D_MODRM | D_END, 0),
	[0x8f] = TAB(D_MODRM | D_GRP | D_DEF64, x86_grp1a),
	[0x90] = OP(x86_h_xchg_a, D_OPREG, 0),
	[0x91 ... 0x97] = OP(x86_h_xchg_a, D_OPREG, 0),
	[0x98] = OP(x86_h_cbw, 0, 0),
	[0x99] = OP(x86_h_cwd, 0, 0),
	[0x9a] = OP(x86_h_callf, D_FAR | D_NO64 | D_END, 0),
	[0x9b] = OP(x86_h_fwait, 0, 0),
	[0x9c] = OP(x86_h_pushf, D_DEF64, 0),
	[0x9d] = OP(x86_h_popf, D_DEF64 | D_END, 0),
	[0x9e] = OP(x86_h_sahf, 0, 0),
	[0x9f] = OP(x86_h_lahf, 0, 0),
	[0xa0] = OP(x86_h_mov_moffs, D_MOFFS | D_BYTE, 0),
	[0xa1] = OP(x86_h_mov_moffs, D_MOFFS, 0),
	[0xa2] = OP(x86_h_mov_moffs, D_MOFFS | D_BYTE, 1),
	[0xa3] = OP(x86_h_mov_moffs, D_MOFFS, 1),
	[0xa4] = OP(x86_h_movs, D_BYTE, 0),
	[0xa5] = OP(x86_h_movs, 0, 0),
	[0xa6] = OP(x86_h_cmps, D_BYTE, 0),
	[0xa7] = OP(x86_h_cmps, 0, 0),
	[0xa8] = OP(x86_h_test_a_i, D_BYTE | D_I8, 0),
	[0xa9] = OP(x86_h_test_a_i, D_IZ, 0),
	[0xaa] = OP(x86_h_stos, D_BYTE, 0),
	[0xab] = OP(x86_h_stos, 0, 0),
	[0xac] = OP(x86_h_lods, D_BYTE, 0),
	[0xad] = OP(x86_h_lods, 0, 0),
	[0xae] = OP(x86_h_scas, D_BYTE, 0),
	[0xaf] = OP(x86_h_scas, 0, 0),
	[0xb0 ... 0xb7] = OP(x86_h_mov_r_i, D_OPREG | D_BYTE | D_I8, 0),
	[0xb8 ... 0xbf] = OP(x86_h_mov_r_i, D_OPREG | D_IV, 0),
	[0xc0] = TAB(D_MODRM | D_BYTE | D_IU8 | D_GRP, x86_grp2),
	[0xc1] = TAB(D_MODRM | D_IU8 | D_GRP, x86_grp2),
	[0xc2] = OP(x86_h_ret, D_I16 | D_F64 | D_END, 0),
	[0xc3] = OP(x86_h_ret, D_F64 | D_END, 0),
	[0xc4] = OP(x86_h_lfp, D_MODRM | D_MEM | D_NO64 | D_END, X86_ES),
	[0xc5] = OP(x86_h_lfp, D_MODRM | D_MEM | D_NO64 | D_END, X86_DS),
	[0xc6] = TAB(D_MODRM | D_BYTE | D_GRP, x86_grp11b),
	[0xc7] = TAB(D_MODRM | D_GRP, x86_grp11v),
	[0xc8] = OP(x86_h_enter, D_ENTER | D_DEF64, 0),
	[0xc9] = OP(x86_h_leave, D_DEF64, 0),
	[0xca] = OP(x86_h_retf, D_I16 | D_END, 0),
	[0xcb] = OP(x86_h_retf, D_END, 0),
	[0xcc] = OP(x86_h_int3, D_END, 0),
	[0xcd] = OP(x86_h_int, D_IU8 | D_END, 0),
	[0xce] = OP(x86_h_into, D_NO64 | D_END, 0),
	[0xcf] = OP(x86_h_iret, D_END, 0),
	[0xd0] = TAB(D_MODRM | D_BYTE | D_GRP, x86_grp2),
	[0xd1] = TAB(D_MODRM | D_GRP, x86_grp2),
	[0xd2] = TAB(D_MODRM | D_BYTE | D_GRP, x86_grp2),
	[0xd3] = TAB(D_MODRM | D_GRP, x86_grp2),
	[0xd4 ... 0xd6] = UD,	/* AAM, AAD, SALC */
	[0xd7] = OP(x86_h_xlat, 0, 0),
	[0xd8 ... 0xdf] = OP(x86_h_fpu, D_MODRM, 0),
	[0xe0] = OP(x86_h_loop, D_I8 | D_F64, 0),
	[0xe1] = OP(x86_h_loop, D_I8 | D_F64, 1),
	[0xe2] = OP(x86_h_loop, D_I8 | D_F64, 2),
	[0xe3] = OP(x86_h_jcxz, D_I8 | D_F64, 0),
	[0xe4] = OP(x86_h_in, D_BYTE | D_IU8, 0),
	[0xe5] = OP(x86_h_in, D_IU8, 0),
	[0xe6] = OP(x86_h_out, D_BYTE | D_IU8, 0),
	[0xe7] = OP(x86_h_out, D_IU8, 0),
	[0xe8] = OP(x86_h_call, D_IZ | D_F64 | D_END, 0),
	[0xe9] = OP(x86_h_jmp, D_IZ | D_F64 | D_END, 0),
	[0xea] = OP(x86_h_jmpf, D_FAR | D_NO64 | D_END, 0),
	[0xeb] = OP(x86_h_jmp, D_I8 | D_F64 | D_END, 0),
	[0xec] = OP(x86_h_in, D_BYTE, 1),
	[0xed] = OP(x86_h_in, 0, 1),
	[0xee] = OP(x86_h_out, D_BYTE, 1),
	[0xef] = OP(x86_h_out, 0, 1),
	[0xf0] = UD,
	[0xf1] = OP(x86_h_int1, D_END, 0),
	[0xf2 ... 0xf3] = UD,
	[0xf4] = OP(x86_h_hlt, D_END, 0),
	[0xf5] = OP(x86_h_flagop, 0, 0),
	[0xf6] = TAB(D_MODRM | D_BYTE | D_GRP, x86_grp3b),
	[0xf7] = TAB(D_MODRM | D_GRP, x86_grp3v),
	[0xf8] = OP(x86_h_flagop, 0, 1),
	[0xf9] = OP(x86_h_flagop, 0, 2),
	[0xfa] = OP(x86_h_cli, D_END, 0),
	[0xfb] = OP(x86_h_sti, D_END, 0),
	[0xfc] = OP(x86_h_flagop, 0, 3),
	[0xfd] = OP(x86_h_flagop, 0, 4),
	[0xfe] = TAB(D_MODRM | D_BYTE | D_GRP, x86_grp4),
	[0xff] = TAB(D_MODRM | D_GRP, x86_grp5),
};

static const struct x86_opdesc x86_grp6[8] = {
	[0] = OP(x86_h_sldt, 0, 0),
	[1] = OP(x86_h_str, 0, 0),
	[2] = OP(x86_h_lldt, D_END, 0),
	[3] = OP(x86_h_ltr, D_END, 0),
	[4] = OP(x86_h_verrw, 0, 0),
	[5] = OP(x86_h_verrw, 0, 1),
	[6 ... 7] = UD,
};

/* 0F 01: [reg] for memory forms, [8 + (ModRM & 0x3f)] for mod == 3. */
static const struct x86_opdesc x86_grp7[8 + 64] = {
	[0] = OP(x86_h_sgdt, 0, 0),
	[1] = OP(x86_h_sgdt, 0, 1),
	[2] = OP(x86_h_lgdt, D_END, 0),
	[3] = OP(x86_h_lgdt, D_END, 1),
	[4] = OP(x86_h_smsw, 0, 0),
	[5] = UD,
	[6] = OP(x86_h_lmsw, D_END, 0),
	[7] = OP(x86_h_invlpg, D_END, 0),
	[8 ... 8 + 0x00] = UD,
	[8 + 0x01] = OP(x86_h_vmcall, D_END, 0),
	[8 + 0x02 ... 8 + 0x07] = UD,
	[8 + 0x08] = OP(x86_h_monitor, 0, 0),
	[8 + 0x09] = OP(x86_h_mwait, D_END, 0),
	[8 + 0x0a] = OP(x86_h_clac, 0, 0),
	[8 + 0x0b] = OP(x86_h_stac, 0, 0),
	[8 + 0x0c ... 8 + 0x0f] = UD,
	[8 + 0x10] = OP(x86_h_xgetbv, 0, 0),
	[8 + 0x11] = OP(x86_h_xsetbv, D_END, 0),
	[8 + 0x12 ... 8 + 0x1f] = UD,
	[8 + 0x20 ... 8 + 0x27] = OP(x86_h_smsw, 0, 0),
	[8 + 0x28 ... 8 + 0x2f] = UD,
	[8 + 0x30 ... 8 + 0x37] = OP(x86_h_lmsw, D_END, 0),
	[8 + 0x38] = OP(x86_h_swapgs, 0, 0),
	[8 + 0x39] = OP(x86_h_rdtscp, 0, 0),
	[8 + 0x3a ... 8 + 0x3f] = UD,
};

static const struct x86_opdesc x86_grp8[8] = {
	[0 ... 3] = UD,
	[4] = OP(x86_h_bt_i, 0, 0),
	[5 ... 7] = OP(x86_h_bt_i, D_LOCK, 0),
};

/* 0F C7 */
static const struct x86_opdesc x86_grp9[8 + 64] = {
	[0] = UD,
	[1] = OP(x86_h_cmpxchg8b, D_LOCK, 0),
	[2 ... 7] = UD,
	[8 ... 8 + 0x2f] = UD,
	[8 + 0x30 ... 8 + 0x37] = OP(x86_h_rdrand, 0, 0),
	[8 + 0x38 ... 8 + 0x3f] = OP(x86_h_rdrand, 0, 1),
};

/* 0F AE */
static const struct x86_opdesc x86_grp15[8 + 64] = {
	[0] = OP(x86_h_fxsave, 0, 0),
	[1] = OP(x86_h_fxrstor, 0, 0),
	[2] = OP(x86_h_ldmxcsr, 0, 0),
	[3] = OP(x86_h_stmxcsr, 0, 0),
	[4 ... 6] = UD,
	[7] = OP(x86_h_clflush, 0, 0),
	[8 ... 8 + 0x1f] = OP(x86_h_fsgsbase, 0, 0),
	[8 + 0x20 ... 8 + 0x27] = UD,
	[8 + 0x28 ... 8 + 0x3f] = OP(x86_h_fence, 0, 0),
};

const struct x86_opdesc x86_op2[256] = {
	[0x00] = TAB(D_MODRM | D_GRP, x86_grp6),
	[0x01] = TAB(D_MODRM | D_GRPM, x86_grp7),
	[0x02] = OP(x86_h_lar, D_MODRM, 0),
	[0x03] = OP(x86_h_lsl, D_MODRM, 0),
	[0x05] = OP(x86_h_syscall, D_END, 0),
	[0x06] = OP(x86_h_clts, D_END, 0),
	[0x07] = OP(x86_h_sysret, D_END, 0),
	[0x08] = OP(x86_h_invd, D_END, 0),
	[0x09] = OP(x86_h_wbinvd, 0, 0),
	[0x0b] = OP(x86_h_ud, D_END, 0),
	[0x0d] = OP(x86_h_nop, D_MODRM | D_MEM, 0),
	[0x18 ... 0x1f] = OP(x86_h_nop, D_MODRM | D_NOREP, 0),
	[0x20 ... 0x21] = OP(x86_h_mov_cr, D_MODRM | D_CRDR, 0),
	[0x22 ... 0x23] = OP(x86_h_mov_cr, D_MODRM | D_CRDR | D_END, 1),
	[0x30] = OP(x86_h_wrmsr, D_END, 0),
	[0x31] = OP(x86_h_rdtsc, 0, 0),
	[0x32] = OP(x86_h_rdmsr, 0, 0),
	[0x33] = OP(x86_h_rdpmc, 0, 0),
	[0x34] = OP(x86_h_sysenter, D_END, 0),
	[0x35] = OP(x86_h_sysexit, D_END, 0),
	[0x40 ... 0x4f] = OP(x86_h_cmov, D_MODRM, 0),
	[0x80 ... 0x8f] = OP(x86_h_jcc, D_IZ | D_F64, 0),
	[0x90 ... 0x9f] = OP(x86_h_setcc, D_MODRM | D_BYTE, 0),
	[0xa0] = OP(x86_h_push_sreg, D_DEF64, X86_FS),
	[0xa1] = OP(x86_h_pop_sreg, D_DEF64, X86_FS),
	[0xa2] = OP(x86_h_cpuid, 0, 0),
	[0xa3] = OP(x86_h_bt, D_MODRM, 0),
	[0xa4] = OP(x86_h_shd, D_MODRM | D_IU8, 0),
	[0xa5] = OP(x86_h_shd, D_MODRM, 0),
	[0xa8] = OP(x86_h_push_sreg, D_DEF64, X86_GS),
	[0xa9] = OP(x86_h_pop_sreg, D_DEF64, X86_GS),
	[0xab] = OP(x86_h_bt, D_MODRM | D_LOCK, 1),
	[0xac] = OP(x86_h_shd, D_MODRM | D_IU8, 1),
	[0xad] = OP(x86_h_shd, D_MODRM, 1),
	[0xae] = TAB(D_MODRM | D_GRPM, x86_grp15),
	[0xaf] = OP(x86_h_imul_r_rm, D_MODRM, 0),
	[0xb0] = OP(x86_h_cmpxchg, D_MODRM | D_BYTE | D_LOCK, 0),
	[0xb1] = OP(x86_h_cmpxchg, D_MODRM | D_LOCK, 0),
	[0xb2] = OP(x86_h_lfp, D_MODRM | D_MEM | D_END, X86_SS),
	[0xb3] = OP(x86_h_bt, D_MODRM | D_LOCK, 2),
	[0xb4] = OP(x86_h_lfp, D_MODRM | D_MEM, X86_FS),
	[0xb5] = OP(x86_h_lfp, D_MODRM | D_MEM, X86_GS),
	[0xb6] = OP(x86_h_movzx, D_MODRM | D_RM8, 1),
	[0xb7] = OP(x86_h_movzx, D_MODRM, 2),
	[0xb8] = OP(x86_h_popcnt, D_MODRM | D_NOREP, 0),
	[0xb9] = OP(x86_h_ud, D_MODRM | D_END, 0),
	[0xba] = TAB(D_MODRM | D_IU8 | D_GRP, x86_grp8),
	[0xbb] = OP(x86_h_bt, D_MODRM | D_LOCK, 3),
	[0xbc] = OP(x86_h_bsf, D_MODRM | D_NOREP, 0),
	[0xbd] = OP(x86_h_bsr, D_MODRM | D_NOREP, 0),
	[0xbe] = OP(x86_h_movsx, D_MODRM | D_RM8, 1),
	[0xbf] = OP(x86_h_movsx, D_MODRM, 2),
	[0xc0] = OP(x86_h_xadd, D_MODRM | D_BYTE | D_LOCK, 0),
	[0xc1] = OP(x86_h_xadd, D_MODRM | D_LOCK, 0),
	[0xc7] = TAB(D_MODRM | D_GRPM, x86_grp9),
	[0xc8 ... 0xcf] = OP(x86_h_bswap, D_OPREG, 0),
	[0xff] = OP(x86_h_ud, D_MODRM | D_END, 0),
};

const struct x86_opdesc x86_op38[256] = {
	[0x82] = OP(x86_h_invpcid, D_MODRM | D_MEM | D_F64, 0),
	[0xf0] = OP(x86_h_movbe, D_MODRM | D_NOREP, 0),
	[0xf1] = OP(x86_h_movbe, D_MODRM | D_NOREP, 1),
};

const struct x86_opdesc x86_op3a[256];

struct x86_dec {
	const uint8_t *b;
	int avail;
	int i;
	uint8_t rex;
	uint8_t rep;		/* last of F2/F3 */
	bool opsz, adsz, lock;
	uint8_t segovr;
	int csize;
};

#define X86_DEC_MORE (-1)
#define X86_DEC_UD (-2)
#define X86_DEC_GP (-3)

static int
x86_dec_byte(struct x86_dec *d, uint8_t *v)
{
	if (d->i >= 15)
		return X86_DEC_GP;
	if (d->i >= d->avail)
		return X86_DEC_MORE;
	*v = d->b[d->i++];
	return 0;
}

static int
x86_dec_imm(struct x86_dec *d, int size, uint64_t *v)
{
	uint64_t x = 0;
	uint8_t c;
	int r, k;

	for (k = 0; k < size; k++) {
		if ((r = x86_dec_byte(d, &c)) < 0)
			return r;
		x |= (uint64_t)c << (8 * k);
	}
	*v = x;
	return 0;
}

static int
x86_dec_prefixes(struct x86_dec *d, uint8_t *op)
{
	static const uint8_t segs[8] = { X86_ES, X86_CS, X86_SS, X86_DS };
	uint8_t c;
	int r;

	for (;;) {
		if ((r = x86_dec_byte(d, &c)) < 0)
			return r;
		if (d->csize == 8 && (c & 0xf0) == 0x40) {
			d->rex = c;
			continue;
		}
		switch (c) {
		case 0xf0: d->lock = true; break;
		case 0xf2: case 0xf3: d->rep = c; break;
		case 0x66: d->opsz = true; break;
		case 0x67: d->adsz = true; break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			d->segovr = segs[(c >> 3) & 3];
			break;
		case 0x64: d->segovr = X86_FS; break;
		case 0x65: d->segovr = X86_GS; break;
		default:
			*op = c;
			return 0;
		}
		/* A REX prefix counts only right before the opcode. */
		d->rex = 0;
	}
}

/* 16-bit ModRM addressing (SDM vol. 2, table 2-1). */
static void
x86_dec_ea16(struct x86_insn *in, int rm)
{
	static const uint8_t base[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP,
		X86_RSI, X86_RDI, X86_RBP, X86_RBX };
	static const uint8_t idx[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI,
		X86_REG_NONE, X86_REG_NONE, X86_REG_NONE, X86_REG_NONE };

	in->base = base[rm];
	in->index = idx[rm];
	if (rm == 6 && in->mod == 0)
		in->base = X86_REG_NONE;
	in->seg = (in->base == X86_RBP) ? X86_SS : X86_DS;
}

static int
x86_dec_sib(struct x86_dec *d, struct x86_insn *in, bool *disp32)
{
	uint8_t sib;
	int r, idx, base;

	if ((r = x86_dec_byte(d, &sib)) < 0)
		return r;
	in->scale = sib >> 6;
	idx = ((sib >> 3) & 7) | ((d->rex & 2) << 2);
	in->index = (idx == 4) ? X86_REG_NONE : idx;
	base = (sib & 7) | ((d->rex & 1) << 3);
	if ((base & 7) == 5 && in->mod == 0) {
		in->base = X86_REG_NONE;
		*disp32 = true;
	} else {
		in->base = base;
	}
	return 0;
}

static int
x86_dec_modrm_mem(struct x86_dec *d, struct x86_insn *in, int rm)
{
	bool dispw = false;	/* a full-width (16/32) displacement */
	uint64_t v;
	int r;

	in->index = X86_REG_NONE;
	in->scale = 0;
	if (in->asize == 2) {
		x86_dec_ea16(in, rm & 7);
		dispw = (in->mod == 0 && (rm & 7) == 6);
	} else {
		if ((rm & 7) == 4) {
			if ((r = x86_dec_sib(d, in, &dispw)) < 0)
				return r;
		} else if ((rm & 7) == 5 && in->mod == 0) {
			in->base = X86_REG_NONE;
			in->ripr = (d->csize == 8);
			dispw = true;
		} else {
			in->base = rm;
		}
		in->seg = (in->base == X86_RSP || in->base == X86_RBP) ?
		    X86_SS : X86_DS;
	}
	if (in->mod == 1) {
		if ((r = x86_dec_imm(d, 1, &v)) < 0)
			return r;
		in->disp = (int8_t)v;
	} else if (in->mod == 2 || dispw) {
		if ((r = x86_dec_imm(d, in->asize == 2 ? 2 : 4, &v)) < 0)
			return r;
		in->disp = in->asize == 2 ? (int16_t)v : (int32_t)v;
	}
	return 0;
}

static uint8_t
x86_dec_breg(const struct x86_dec *d, int r)
{
	if (!d->rex && r >= 4 && r < 8)
		return X86_REG_HIGH8 + r - 4;
	return r;
}

/* Resolve group and prefix tables; needs the ModRM byte for groups. */
static const struct x86_opdesc *
x86_dec_resolve(struct x86_dec *d, const struct x86_opdesc *od,
    uint8_t modrm, uint32_t *flags)
{
	*flags = od->f;
	if (od->f & D_GRPM) {
		if ((modrm >> 6) == 3)
			od = &od->tab[8 + (modrm & 0x3f)];
		else
			od = &od->tab[(modrm >> 3) & 7];
		*flags |= od->f;
	} else if (od->f & D_GRP) {
		od = &od->tab[(modrm >> 3) & 7];
		*flags |= od->f;
	}
	if (od->f & D_PFX) {
		int k = d->rep == 0xf3 ? 2 : d->rep == 0xf2 ? 3 :
		    d->opsz ? 1 : 0;
		od = &od->tab[k];
		*flags = (*flags & ~D_PFX) | od->f;
	}
	return od;
}

static void
x86_dec_sizes(struct x86_dec *d, struct x86_insn *in, uint32_t f)
{
	int os = d->csize == 2 ? 2 : 4;

	if (d->opsz)
		os = (os == 2) ? 4 : 2;
	if (d->csize == 8) {
		if (d->rex & 8)
			os = 8;
		else if ((f & D_DEF64) && !d->opsz)
			os = 8;
		if (f & D_F64)
			os = 8;
	}
	if (f & D_BYTE)
		os = 1;
	in->osize = os;
	if (d->csize == 8)
		in->asize = d->adsz ? 4 : 8;
	else
		in->asize = (d->csize == 2) != d->adsz ? 2 : 4;
}

static int
x86_dec_imms(struct x86_dec *d, struct x86_insn *in, uint32_t f)
{
	uint64_t v = 0, w = 0;
	int r = 0;

	if (f & D_I8) {
		r = x86_dec_imm(d, 1, &v);
		v = (uint64_t)(int64_t)(int8_t)v;
	} else if (f & D_IU8) {
		r = x86_dec_imm(d, 1, &v);
	} else if (f & D_IZ) {
		r = x86_dec_imm(d, in->osize == 2 ? 2 : 4, &v);
		v = in->osize == 2 ? (uint64_t)(int64_t)(int16_t)v :
		    (uint64_t)(int64_t)(int32_t)v;
	} else if (f & D_IV) {
		r = x86_dec_imm(d, in->osize, &v);
	} else if (f & D_I16) {
		r = x86_dec_imm(d, 2, &v);
	} else if (f & D_MOFFS) {
		r = x86_dec_imm(d, in->asize, &v);
	} else if (f & D_FAR) {
		if ((r = x86_dec_imm(d, in->osize == 2 ? 2 : 4, &v)) == 0)
			r = x86_dec_imm(d, 2, &w);
	} else if (f & D_ENTER) {
		if ((r = x86_dec_imm(d, 2, &v)) == 0)
			r = x86_dec_imm(d, 1, &w);
	}
	in->imm = v;
	in->imm2 = w;
	return r;
}

static int
x86_dec_opcode(struct x86_dec *d, uint8_t op, const struct x86_opdesc **od,
    uint8_t *b0)
{
	int r;

	*b0 = op;
	if (op != 0x0f) {
		*od = &x86_op1[op];
		return 0;
	}
	if ((r = x86_dec_byte(d, &op)) < 0)
		return r;
	if (op == 0x38 || op == 0x3a) {
		bool t38 = (op == 0x38);

		if ((r = x86_dec_byte(d, &op)) < 0)
			return r;
		*od = t38 ? &x86_op38[op] : &x86_op3a[op];
		if (!(*od)->fn && !(*od)->tab)
			*od = t38 ? &x86_sse_op38[op] : &x86_sse_op3a[op];
	} else {
		*od = &x86_op2[op];
		if (!(*od)->fn && !(*od)->tab)
			*od = &x86_sse_op2[op];
	}
	*b0 = op;
	return 0;
}

static int
x86_dec_operands(struct x86_dec *d, struct x86_insn *in, uint32_t f,
    uint8_t modrm)
{
	int reg = ((modrm >> 3) & 7) | ((d->rex & 4) << 1);
	int rm = (modrm & 7) | ((d->rex & 1) << 3);

	in->mod = modrm >> 6;
	if (f & D_CRDR)
		in->mod = 3;
	in->reg = (f & D_BYTE) ? x86_dec_breg(d, reg) : reg;
	if (in->mod == 3) {
		in->rm = (f & (D_BYTE | D_RM8)) ? x86_dec_breg(d, rm) : rm;
		in->base = in->index = X86_REG_NONE;
		return (f & D_MEM) ? X86_DEC_UD : 0;
	}
	if (f & D_REGO)
		return X86_DEC_UD;
	return x86_dec_modrm_mem(d, in, rm);
}

int
x86_decode(struct x86_cpu *cpu, const uint8_t *b, int avail, int csize,
    struct x86_insn *in)
{
	struct x86_dec d = { .b = b, .avail = avail, .csize = csize,
		.segovr = X86_SEG_NONE };
	const struct x86_opdesc *od;
	uint8_t op, b0, modrm = 0;
	uint32_t f;
	int r;

	memset(in, 0, sizeof(*in));
	if ((r = x86_dec_prefixes(&d, &op)) < 0 ||
	    (r = x86_dec_opcode(&d, op, &od, &b0)) < 0)
		return r;
	if ((od->f & (D_MODRM | D_GRP | D_GRPM)) &&
	    (r = x86_dec_byte(&d, &modrm)) < 0)
		return r;
	od = x86_dec_resolve(&d, od, modrm, &f);
	if ((f & D_NO64) && csize == 8)
		od = &x86_op1[0x0f];	/* #UD */
	x86_dec_sizes(&d, in, f);
	in->base = in->index = X86_REG_NONE;
	in->seg = X86_DS;
	if ((f & D_MODRM) && (r = x86_dec_operands(&d, in, f, modrm)) < 0)
		goto bad;
	if (f & D_OPREG) {
		int reg = (b0 & 7) | ((d.rex & 1) << 3);
		in->reg = (f & D_BYTE) ? x86_dec_breg(&d, reg) : reg;
	}
	if (d.segovr != X86_SEG_NONE)
		in->seg = d.segovr;
	if ((r = x86_dec_imms(&d, in, f)) < 0)
		return r;
	in->fn = od->fn ? od->fn : x86_h_ud;
	in->sub = od->sub;
	in->b0 = b0;
	in->len = d.i;
	in->pfx = (d.lock ? X86_P_LOCK : 0) | (d.rep == 0xf3 ? X86_P_REP : 0) |
	    (d.rep == 0xf2 ? X86_P_REPNE : 0) | (d.opsz ? X86_P_OPSZ : 0) |
	    (d.rex ? X86_P_REX : 0) | ((d.rex & 8) ? X86_P_REXW : 0) |
	    (d.segovr != X86_SEG_NONE ? X86_P_SEGOVR : 0);
	if (d.lock && (!(f & D_LOCK) || in->mod == 3))
		in->fn = x86_h_ud;
	x86_specialize(in, csize);
	return (f & D_END) ? 1 : 0;
bad:
	if (r == X86_DEC_UD) {
		/* Finish the length anyway: #UD has no length, keep it sane. */
		in->fn = x86_h_ud;
		in->len = d.i;
		return 1;
	}
	return r;
}
