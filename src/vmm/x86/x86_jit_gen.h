/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the JIT's translator: the analysis of a block (x86_jit_ana.c)
 * and the code generator (x86_jit_gen.c) share these.
 */
#ifndef X86_JIT_GEN_H
#define X86_JIT_GEN_H

#include "x86_jit.h"
#include "x86_jit_asm.h"

/* How an instruction is translated. */
enum {
	XK_GEN,		/* the interpreter's handler, called */
	XK_NAT,		/* re-encoded: ModRM (or no) operands */
	XK_NATOP,	/* re-encoded: register in the opcode byte */
	XK_NOP,
	XK_LEA,
	XK_PUSH,	/* PUSH r64 / imm */
	XK_POP,		/* POP r64 */
	XK_LEAVE,
	XK_JCC,
	XK_JMP,
	XK_CALL,
	XK_RET,
	XK_JMPI,	/* JMP r/m64 */
	XK_CALLI,	/* CALL r/m64 */
};

/* The six arithmetic flags. */
#define FL_ALL (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* Implicit registers (host RAX/RDX/RCX carry the guest's). */
#define IMP_A 0x1	/* RAX read */
#define IMP_AW 0x2	/* RAX written */
#define IMP_D 0x4	/* RDX read */
#define IMP_DW 0x8	/* RDX written */
#define IMP_C 0x10	/* CL read (a shift count) */

/* One analysed instruction. */
struct xj_ins {
	uint8_t kind;
	uint8_t nopc;
	uint8_t opc[3];		/* opcode bytes to emit, escapes included */
	bool p66, lock;
	uint8_t rep;		/* F2/F3 kept (mandatory prefix), or 0 */
	bool p67;		/* kept for LEA only */
	bool w;			/* REX.W */
	bool byte;		/* 8-bit register operands */
	bool mem;		/* r/m is memory */
	bool ext;		/* ModRM.reg is 'regf' (an opcode extension) */
	bool has_modrm;
	uint8_t regf;		/* ModRM.reg: guest register or extension */
	uint8_t rm;		/* guest register of r/m when !mem */
	uint8_t imm_at, imm_len;	/* raw immediate bytes */
	uint8_t msize;		/* memory access size */
	uint8_t macc;		/* X86_ACC_R or X86_ACC_W */
	uint8_t imp;		/* IMP_* */
	uint16_t uses, defs;	/* guest registers */
	uint16_t fr, fw;	/* flags read, flags surely written */
	bool fmay;		/* may write flags (a count that may be 0) */
	uint16_t live;		/* flags live after it */
	uint64_t target;	/* branches: the target RIP */
	uint8_t cc;		/* Jcc condition */
};

#define XJ_MAXLBL 160
#define XJ_MAXFIX 320
#define XJ_MAXEDGE (X86_BLK_INSNS + 2)

/* A rel32 to fill at layout time. */
struct xj_fix {
	uint8_t s;		/* stream of the rel32: 0 hot, 1 cold */
	uint32_t at;
	int lbl;		/* target label, or -1 */
	uint64_t abs;		/* else an absolute read/execute address */
};

struct xj_ctx {
	struct x86_cpu *cpu;
	struct x86_jit *j;
	struct x86_jblk *jb;
	uint32_t blk_idx;
	struct x86_asm s[2];	/* 0: the straight path, 1: cold stubs */
	struct { int8_t s; uint32_t at; } lbl[XJ_MAXLBL];
	int nlbl;
	struct xj_fix fix[XJ_MAXFIX];
	int nfix;
	struct { int edge; uint8_t s; uint32_t at; int stub; } edge[XJ_MAXEDGE];
	int nedge;
	bool err;
	struct xj_ins ins[X86_BLK_INSNS];
	int n;			/* instructions translated */
	int ngen;		/* of which through the interpreter */
	uint8_t host[16];	/* guest register -> host register */
	uint16_t alloc;
	/* State while emitting the straight path. */
	uint16_t dirty;		/* guest registers newer in the host */
	bool fhost;		/* guest flags are the host's flags */
	bool fdirty;		/* ... and newer than memory */
};

/* x86_jit_ana.c */
int xj_analyze_block(struct xj_ctx *c);

#endif /* X86_JIT_GEN_H */
