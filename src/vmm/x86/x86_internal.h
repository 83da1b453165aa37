/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the x86 core: the CPU state, the predecoded instruction, the
 * handler and table types, and the small inline helpers every execution
 * file uses (register access, lazy flags, memory fast paths).
 */
#ifndef X86_INTERNAL_H
#define X86_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "x86_cpu.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Segment register indexes: the x86 encoding, then LDTR and TR. */
enum { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_LDTR, X86_TR };
#define X86_SEG_NONE 15

/* GPR indexes. */
enum { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI,
	X86_RDI, X86_R8, X86_R9, X86_R10, X86_R11 };
/* A byte register AH..BH in an operand: 16 + (encoding - 4). */
#define X86_REG_HIGH8 16
#define X86_REG_NONE 0xff

/* RFLAGS bits. */
#define X86_CF 0x1ULL
#define X86_PF 0x4ULL
#define X86_AF 0x10ULL
#define X86_ZF 0x40ULL
#define X86_SF 0x80ULL
#define X86_TF 0x100ULL
#define X86_IF 0x200ULL
#define X86_DF 0x400ULL
#define X86_OF 0x800ULL
#define X86_IOPL 0x3000ULL
#define X86_NT 0x4000ULL
#define X86_RF 0x10000ULL
#define X86_VM 0x20000ULL
#define X86_AC 0x40000ULL
#define X86_VIF 0x80000ULL
#define X86_VIP 0x100000ULL
#define X86_ID 0x200000ULL
#define X86_ARITH (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

#define X86_CR0_PE 0x1ULL
#define X86_CR0_MP 0x2ULL
#define X86_CR0_EM 0x4ULL
#define X86_CR0_TS 0x8ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NE 0x20ULL
#define X86_CR0_WP 0x10000ULL
#define X86_CR0_AM 0x40000ULL
#define X86_CR0_NW 0x20000000ULL
#define X86_CR0_CD 0x40000000ULL
#define X86_CR0_PG 0x80000000ULL

#define X86_CR4_VME 0x1ULL
#define X86_CR4_PVI 0x2ULL
#define X86_CR4_TSD 0x4ULL
#define X86_CR4_DE 0x8ULL
#define X86_CR4_PSE 0x10ULL
#define X86_CR4_PAE 0x20ULL
#define X86_CR4_MCE 0x40ULL
#define X86_CR4_PGE 0x80ULL
#define X86_CR4_PCE 0x100ULL
#define X86_CR4_OSFXSR 0x200ULL
#define X86_CR4_OSXMMEXCPT 0x400ULL
#define X86_CR4_UMIP 0x800ULL
#define X86_CR4_LA57 0x1000ULL
#define X86_CR4_VMXE 0x2000ULL
#define X86_CR4_FSGSBASE 0x10000ULL
#define X86_CR4_PCIDE 0x20000ULL
#define X86_CR4_OSXSAVE 0x40000ULL
#define X86_CR4_SMEP 0x100000ULL
#define X86_CR4_SMAP 0x200000ULL
#define X86_CR4_PKE 0x400000ULL

#define X86_EFER_SCE 0x1ULL
#define X86_EFER_LME 0x100ULL
#define X86_EFER_LMA 0x400ULL
#define X86_EFER_NXE 0x800ULL

/* MSRs. */
#define X86_MSR_TSC 0x10
#define X86_MSR_SYSENTER_CS 0x174
#define X86_MSR_SYSENTER_ESP 0x175
#define X86_MSR_SYSENTER_EIP 0x176
#define X86_MSR_PAT 0x277
#define X86_MSR_EFER 0xc0000080
#define X86_MSR_STAR 0xc0000081
#define X86_MSR_LSTAR 0xc0000082
#define X86_MSR_CSTAR 0xc0000083
#define X86_MSR_FMASK 0xc0000084
#define X86_MSR_FS_BASE 0xc0000100
#define X86_MSR_GS_BASE 0xc0000101
#define X86_MSR_KERNEL_GS_BASE 0xc0000102
#define X86_MSR_TSC_AUX 0xc0000103

/* Exception vectors. */
enum { X86_DE = 0, X86_DB = 1, X86_NMI = 2, X86_BP = 3, X86_OFV = 4,
	X86_BR = 5, X86_UD = 6, X86_NM = 7, X86_DFV = 8, X86_TS = 10,
	X86_NP = 11, X86_SS_EXC = 12, X86_GP = 13, X86_PFV = 14, X86_MF = 16,
	X86_AC_EXC = 17, X86_MC = 18, X86_XM = 19 };

/* #PF error code bits. */
#define X86_PFE_P 0x1
#define X86_PFE_W 0x2
#define X86_PFE_U 0x4
#define X86_PFE_RSVD 0x8
#define X86_PFE_I 0x10

/* Handler results. */
enum {
	X86_OK = 0,	/* done: RIP += length, next instruction */
	X86_BRANCH,	/* done, RIP set by the handler: end of block */
	X86_EXC,	/* an exception is raised (cpu->exc) */
	X86_STOP,	/* a stop is filled in (cpu->out) */
};

/* TLBs: supervisor (SMAP enforced), user, supervisor with RFLAGS.AC. */
enum { X86_MMU_SUP, X86_MMU_USER, X86_MMU_SUP_AC };

/* Modes. */
enum { X86_MODE_REAL, X86_MODE_PROT, X86_MODE_COMPAT, X86_MODE_LONG };

struct x86_seg {
	uint64_t base;
	uint32_t limit;
	uint32_t access;	/* VMX access rights, vmm.h */
	uint16_t sel;
};

/*
 * One TLB entry: fast tags per access kind (the page number or ~0) and
 * the host address delta, 32 bytes so that translated code indexes the
 * array with a shift.  The guest-physical page of each entry (with bit 0:
 * global) is in the parallel array x86_cpu.tlb_gpa.
 */
struct x86_tlb_ent {
	uint64_t tag_r;
	uint64_t tag_w;
	uint64_t tag_x;
	uintptr_t addend;	/* host = linear + addend */
};
#define X86_TLB_BITS 9
#define X86_TLB_SIZE (1 << X86_TLB_BITS)
/*
 * The slot of a linear page: folding in higher bits keeps code, data and
 * stack at 1 MiB-aligned addresses from colliding.  The folded bits are
 * even, so two adjacent pages never share a slot: translated code relies
 * on that to catch a page-crossing access with one tag compare (the page
 * of the last byte against the slot of the first).
 */
#define X86_TLB_IDX(lin) ((((lin) >> 12) ^ (((lin) >> 20) & 0x1fe)) & \
	(X86_TLB_SIZE - 1))
#define X86_TLB_INVALID (~0ULL)
#define X86_TLB_GLOBAL 1ULL

struct x86_insn;
struct x86_jit;
struct x86_jc_ent;
typedef int (*x86_handler_t)(struct x86_cpu *, const struct x86_insn *);

/* Predecoded instruction. */
struct x86_insn {
	x86_handler_t fn;
	int32_t disp;
	uint8_t len;
	uint8_t osize;		/* operand size in bytes */
	uint8_t asize;		/* address size in bytes */
	uint8_t reg;		/* ModRM.reg (+REX.R), byte-register mapped */
	uint8_t rm;		/* ModRM.rm register when mod == 3 */
	uint8_t mod;		/* 3: register operand */
	uint8_t base, index;	/* X86_REG_NONE when absent */
	uint8_t scale;		/* shift */
	uint8_t seg;		/* effective segment */
	uint8_t sub;		/* table's sub-operation (ALU op, cc ...) */
	uint8_t pfx;		/* X86_P_* */
	uint8_t b0;		/* the opcode byte */
	uint8_t ripr;		/* RIP-relative */
	uint8_t off;		/* offset of its bytes in the block */
	uint8_t pad;
	uint64_t imm;
	uint64_t imm2;		/* second immediate (ENTER, far pointer) */
};

#define X86_P_LOCK 0x1
#define X86_P_REP 0x2		/* F3 */
#define X86_P_REPNE 0x4		/* F2 */
#define X86_P_OPSZ 0x8		/* 66 */
#define X86_P_REX 0x10
#define X86_P_REXW 0x20
#define X86_P_SEGOVR 0x40

/* Decoded blocks, cached by guest-physical address. */
#define X86_BLK_INSNS 24
#define X86_BLK_BYTES 96
#define X86_BLK_BITS 13
struct x86_block {
	uint64_t gpa;		/* ~0: empty */
	uint8_t key;		/* code size the block was decoded for; 0: empty */
	uint8_t ninsn;
	uint16_t nbytes;
	uint8_t link_next;	/* link slot to replace next */
	uint16_t hits;		/* runs, for the JIT's choice of hot blocks */
	uint64_t epoch;		/* bytes checked against memory at this epoch */
	/* Successors seen: (RIP, link generation) -> block at gpa. */
	struct {
		uint64_t rip, gen, gpa;
		struct x86_block *blk;
	} link[2];
	uint8_t bytes[X86_BLK_BYTES];
	struct x86_insn insn[X86_BLK_INSNS];
};

/* Pages holding decoded code (guest-physical page numbers + 1). */
#define X86_CODE_SET_BITS 13

struct x86_event {
	bool valid;
	uint8_t type;
	uint8_t vector;
	bool has_error;
	uint32_t error;
	uint8_t inst_len;
};

struct x86_exc {
	uint8_t vector;
	bool has_error;
	uint32_t error;
	uint64_t cr2;
	uint8_t type;		/* X86_EVENT_HWEXC, SWEXC, PRIV_SWEXC */
	uint8_t inst_len;	/* software exceptions: return past it */
};

struct x86_fpu {
	uint16_t fcw, fsw;
	uint8_t ftw;		/* abridged: bit i set = ST-physical i valid */
	uint16_t fop;
	uint64_t fip, fdp;
	uint16_t fcs, fds;
	uint8_t st[8][16];	/* physical registers, 80-bit in 16 bytes */
	uint32_t mxcsr;
	uint8_t xmm[16][16] __attribute__((aligned(16)));
};

#define X86_REPLAY_MAX 4
/*
 * The fields translated code reaches most (GPRs to ip_mask, the JIT's
 * counters) come first: the JIT addresses the structure from its middle
 * (X86_JIT_BIAS) so that all of them take an 8-bit displacement.
 */
struct x86_cpu {
	uint64_t r[16];
	uint64_t rip;
	uint64_t rflags;	/* arithmetic bits valid when lf_op == 0 */
	/* Lazy flags: op, size in bytes, result and the two sources. */
	uint64_t lf_res, lf_a, lf_b;
	uint8_t lf_op, lf_size;

	/* Mode caches (x86_update_mode()). */
	uint8_t cpl;
	uint8_t mode;
	uint8_t csize;		/* 2, 4, 8: code size */
	uint8_t ssize;		/* stack address size */
	uint8_t mmu;		/* TLB of normal accesses: X86_MMU_* */
	bool paging;
	uint64_t ip_mask;

	/*
	 * Translated code: 'jgen' moves whenever cached code or translations
	 * may have gone stale (every epoch or link_gen step, mode changes);
	 * 'jleft' counts the instructions a JIT run may still execute;
	 * 'jlink' names the edge a JX_LINK exit wants linked; 'jc' is the
	 * jump cache of indirect branches (x86_jit.h).
	 */
	uint64_t jgen;
	uint64_t jleft;
	volatile int kick;
	uint32_t jlink;
	struct x86_jc_ent *jc;
	struct x86_jit *jit;

	struct x86_seg seg[8];
	struct { uint64_t base; uint32_t limit; } gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, xcr0;
	uint64_t dr[8];
	uint64_t star, lstar, cstar, fmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t pat, tsc_aux;
	struct x86_fpu fpu;

	uint8_t shadow;		/* 1: STI, 2: MOV SS blocking */
	bool nmi_blocked;
	struct x86_event pending;
	struct x86_event delivering;	/* being delivered, for stops */
	struct x86_exc exc;

	/* The run in progress. */
	const struct x86_mem_ops *mem;
	const struct x86_exec_ctl *ctl;
	struct x86_stop_info *out;
	const struct x86_insn *cur;	/* instruction being executed */
	const uint8_t *cur_code;	/* bytes of the running block */
	struct x86_insn slow_in;	/* an instruction decoded on the spot */
	uint8_t slow_buf[16];
	uint64_t icount;
	bool blk_dirty;		/* a store hit the running block's page */
	uint64_t blk_page;	/* its guest-physical page */

	/* MMIO completion: values for the k-th not-RAM access. */
	struct {
		uint64_t rip;
		int n, next;
		uint8_t data[X86_REPLAY_MAX][16];
	} replay;

	struct x86_tlb_ent tlb[3][X86_TLB_SIZE];
	uint64_t tlb_gpa[3][X86_TLB_SIZE];
	uint8_t maxphyaddr;
	struct x86_block *blocks;	/* 1 << X86_BLK_BITS */
	/*
	 * Cached code is checked against memory once per epoch; the epoch
	 * moves on a write to a code page through this core and at every
	 * serializing event (x86_run entry, IRET, CR/MSR writes, ...), which
	 * is when cross-modified code must be seen (SDM vol. 3, 8.1.3).
	 * Links between blocks hold while link_gen (translations, mode)
	 * stays.
	 */
	uint64_t epoch;
	uint64_t link_gen;
	uint64_t *code_set;
	unsigned code_count;
};

/* ---- opcode tables (x86_decode.c) ---- */
struct x86_opdesc {
	x86_handler_t fn;
	uint32_t f;		/* D_* */
	uint8_t sub;
	const struct x86_opdesc *tab;	/* group or prefix table */
};

#define D_MODRM 0x1
#define D_BYTE 0x2		/* 8-bit operand size */
#define D_I8 0x4		/* imm8, sign-extended to osize */
#define D_IZ 0x8		/* imm16/32 (sign-extended to 64) */
#define D_IV 0x10		/* imm of osize (MOV r, imm64) */
#define D_I16 0x20
#define D_DEF64 0x40		/* 64-bit default in long mode */
#define D_F64 0x80		/* always 64-bit in long mode */
#define D_GRP 0x100		/* tab[ModRM.reg] */
#define D_PFX 0x200		/* tab[none, 66, F3, F2] */
#define D_LOCK 0x400		/* LOCK allowed (memory destination) */
#define D_NO64 0x800		/* #UD in 64-bit mode */
#define D_END 0x1000		/* ends a block */
#define D_MEM 0x2000		/* memory operand only */
#define D_REGO 0x4000		/* register operand only */
#define D_GRPM 0x8000		/* mod == 3: tab[8 + ModRM.rm] ... */
#define D_OPREG 0x10000		/* register in opcode bits 2:0 */
#define D_IU8 0x20000		/* imm8 zero-extended */
#define D_MOFFS 0x40000		/* moffs of address size */
#define D_FAR 0x80000		/* ptr16:16/32 */
#define D_ENTER 0x100000	/* imm16, imm8 */
#define D_O32 0x200000		/* 32-bit operand in 64-bit mode w/o REX.W */
#define D_SSE 0x400000		/* operands are XMM registers */
#define D_NOREP 0x800000	/* F2/F3 do not select a prefix table */
#define D_RM8 0x1000000		/* ModRM.rm is a byte register */
#define D_CRDR 0x2000000	/* MOV CR/DR: mod is ignored */

extern const struct x86_opdesc x86_op1[256];
extern const struct x86_opdesc x86_op2[256];
extern const struct x86_opdesc x86_op38[256];
extern const struct x86_opdesc x86_op3a[256];

void x86_specialize(struct x86_insn *in, int csize);
/* Decode at most 'avail' bytes; 0, -1 need more bytes, -2 #UD, -3 #GP. */
int x86_decode(struct x86_cpu *cpu, const uint8_t *b, int avail,
    int csize, struct x86_insn *in);

static inline bool
x86_is_canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

/* ---- register access ---- */
static inline uint64_t
x86_size_mask(int size)
{
	return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static inline uint64_t
x86_sext(uint64_t v, int size)
{
	switch (size) {
	case 1: return (uint64_t)(int64_t)(int8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)v;
	default: return v;
	}
}

static inline __attribute__((always_inline)) uint64_t
x86_greg(const struct x86_cpu *cpu, int r, int size)
{
	switch (size) {
	case 1:
		if (r >= X86_REG_HIGH8)
			return (cpu->r[r - X86_REG_HIGH8] >> 8) & 0xff;
		return cpu->r[r] & 0xff;
	case 2: return cpu->r[r] & 0xffff;
	case 4: return cpu->r[r] & 0xffffffff;
	default: return cpu->r[r];
	}
}

static inline __attribute__((always_inline)) void
x86_sreg(struct x86_cpu *cpu, int r, int size, uint64_t v)
{
	switch (size) {
	case 1:
		if (r >= X86_REG_HIGH8) {
			r -= X86_REG_HIGH8;
			cpu->r[r] = (cpu->r[r] & ~0xff00ULL) |
			    ((v & 0xff) << 8);
		} else {
			cpu->r[r] = (cpu->r[r] & ~0xffULL) | (v & 0xff);
		}
		break;
	case 2: cpu->r[r] = (cpu->r[r] & ~0xffffULL) | (v & 0xffff); break;
	case 4: cpu->r[r] = v & 0xffffffff; break;
	default: cpu->r[r] = v; break;
	}
}

/* ---- lazy flags (x86_flags.c) ---- */
/*
 * LF_HOST: the flags as translated code saves them with LAHF; SETO AL:
 * lf_res bits 15:8 are SF ZF - AF - PF - CF, bit 0 is OF.
 */
enum { LF_NONE, LF_ADD, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC, LF_HOST };

uint64_t x86_flags_arith(const struct x86_cpu *cpu);
bool x86_cond_slow(struct x86_cpu *cpu, int cc);
extern const uint8_t x86_parity[256];

static inline __attribute__((always_inline)) void
x86_lf(struct x86_cpu *cpu, int op, int size, uint64_t res, uint64_t a,
    uint64_t b)
{
	cpu->lf_op = op;
	cpu->lf_size = size;
	cpu->lf_res = res;
	cpu->lf_a = a;
	cpu->lf_b = b;
}

static inline uint64_t
x86_get_flags(const struct x86_cpu *cpu)
{
	if (cpu->lf_op == LF_NONE)
		return cpu->rflags;
	return (cpu->rflags & ~X86_ARITH) | x86_flags_arith(cpu);
}

/* Materialize the flags into cpu->rflags (before eager updates). */
static inline void
x86_flags_sync(struct x86_cpu *cpu)
{
	if (cpu->lf_op != LF_NONE) {
		cpu->rflags = x86_get_flags(cpu);
		cpu->lf_op = LF_NONE;
	}
}

/* Set arithmetic flags eagerly: 'mask' bits take 'val'. */
static inline void
x86_set_aflags(struct x86_cpu *cpu, uint64_t mask, uint64_t val)
{
	x86_flags_sync(cpu);
	cpu->rflags = (cpu->rflags & ~mask) | (val & mask);
}

static inline __attribute__((always_inline)) bool
x86_cond(struct x86_cpu *cpu, int cc)
{
	if (cpu->lf_op == LF_SUB) {
		uint64_t m = x86_size_mask(cpu->lf_size);
		switch (cc) {
		case 2: return cpu->lf_a < cpu->lf_b;
		case 3: return cpu->lf_a >= cpu->lf_b;
		case 4: return (cpu->lf_res & m) == 0;
		case 5: return (cpu->lf_res & m) != 0;
		case 6: return cpu->lf_a <= cpu->lf_b;
		case 7: return cpu->lf_a > cpu->lf_b;
		case 0xc: return (int64_t)x86_sext(cpu->lf_a, cpu->lf_size) <
			    (int64_t)x86_sext(cpu->lf_b, cpu->lf_size);
		case 0xd: return (int64_t)x86_sext(cpu->lf_a, cpu->lf_size) >=
			    (int64_t)x86_sext(cpu->lf_b, cpu->lf_size);
		case 0xe: return (int64_t)x86_sext(cpu->lf_a, cpu->lf_size) <=
			    (int64_t)x86_sext(cpu->lf_b, cpu->lf_size);
		case 0xf: return (int64_t)x86_sext(cpu->lf_a, cpu->lf_size) >
			    (int64_t)x86_sext(cpu->lf_b, cpu->lf_size);
		default: break;
		}
	} else if (cpu->lf_op != LF_NONE && cpu->lf_op != LF_HOST &&
	    (cc == 4 || cc == 5)) {
		/* ZF is the result being zero for every arithmetic op. */
		bool z = (cpu->lf_res & x86_size_mask(cpu->lf_size)) == 0;
		return cc == 4 ? z : !z;
	} else if (cpu->lf_op != LF_NONE && cpu->lf_op != LF_HOST &&
	    (cc == 8 || cc == 9)) {
		bool sf = (cpu->lf_res >> (cpu->lf_size * 8 - 1)) & 1;
		return cc == 8 ? sf : !sf;
	}
	return x86_cond_slow(cpu, cc);
}

/* ---- exceptions (x86_except.c) ---- */
static inline int
x86_fault(struct x86_cpu *cpu, int vector, uint32_t error)
{
	cpu->exc.vector = vector;
	cpu->exc.has_error = true;
	cpu->exc.error = error;
	cpu->exc.type = X86_EVENT_HWEXC;
	cpu->exc.inst_len = 0;
	return X86_EXC;
}

static inline int
x86_fault_ne(struct x86_cpu *cpu, int vector)
{
	cpu->exc.vector = vector;
	cpu->exc.has_error = false;
	cpu->exc.error = 0;
	cpu->exc.type = X86_EVENT_HWEXC;
	cpu->exc.inst_len = 0;
	return X86_EXC;
}

#define x86_ud(cpu) x86_fault_ne((cpu), X86_UD)
#define x86_gp0(cpu) x86_fault((cpu), X86_GP, 0)

bool x86_exc_has_error(int vector);
/* Deliver cpu->exc (with double/triple fault rules); X86_OK or X86_STOP. */
int x86_deliver_exc(struct x86_cpu *cpu);
/* Deliver an event through the IDT; X86_OK, X86_EXC or X86_STOP. */
int x86_deliver_event(struct x86_cpu *cpu, int type, int vector,
    bool has_error, uint32_t error, uint64_t ret_rip);
int x86_stop(struct x86_cpu *cpu, int reason);
int x86_stop_insn(struct x86_cpu *cpu, int reason);

/* ---- memory (x86_mmu.c) ---- */
int x86_mem_slow(struct x86_cpu *cpu, uint64_t lin, int size, int acc,
    int mmu, void *buf);
int x86_xlate(struct x86_cpu *cpu, uint64_t lin, int acc, int mmu,
    uint8_t **host, uint64_t *gpa);
int x86_seg_check(struct x86_cpu *cpu, int seg, uint64_t ea, int size,
    int acc, uint64_t *lin);
void x86_tlb_flush(struct x86_cpu *cpu, bool global);
void x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t lin);
uint8_t *x86_map_gpa(struct x86_cpu *cpu, uint64_t gpa, int acc,
    uint64_t gla, bool gla_valid, int size, const void *wdata, int *err);

/* Code pages never get a fast write tag: their writes come here. */
bool x86_code_page(const struct x86_cpu *cpu, uint64_t gpa);
void x86_code_page_add(struct x86_cpu *cpu, uint64_t gpa);
void x86_code_write(struct x86_cpu *cpu, uint64_t gpa);
/* A serializing instruction: cross-modified code becomes visible. */
static inline void
x86_serialize(struct x86_cpu *cpu)
{
	cpu->epoch++;
	cpu->jgen++;
}

/*
 * Linear address of a data access: the segment base and, outside 64-bit
 * mode, the limit and type checks.  X86_OK or X86_EXC.
 */
static inline __attribute__((always_inline)) int
x86_linear(struct x86_cpu *cpu, int seg, uint64_t ea, int size, int acc,
    uint64_t *lin)
{
	if (likely(cpu->mode == X86_MODE_LONG)) {
		uint64_t l = ea;
		if (seg >= X86_FS)
			l += cpu->seg[seg].base;
		if (unlikely(!x86_is_canonical(l)))
			return x86_fault(cpu, seg == X86_SS ? X86_SS_EXC :
			    X86_GP, 0);
		*lin = l;
		return X86_OK;
	}
	return x86_seg_check(cpu, seg, ea, size, acc, lin);
}

static inline __attribute__((always_inline)) int
x86_lread(struct x86_cpu *cpu, uint64_t lin, int size, int mmu,
    uint64_t *val)
{
	struct x86_tlb_ent *e = &cpu->tlb[mmu][X86_TLB_IDX(lin)];
	if (likely(e->tag_r == (lin >> 12) && ((lin & 0xfff) + size) <=
	    4096)) {
		const uint8_t *p = (const uint8_t *)(lin + e->addend);
		switch (size) {
		case 1: *val = *p; return X86_OK;
		case 2: { uint16_t v; memcpy(&v, p, 2); *val = v; } break;
		case 4: { uint32_t v; memcpy(&v, p, 4); *val = v; } break;
		default: memcpy(val, p, 8); break;
		}
		return X86_OK;
	}
	*val = 0;
	return x86_mem_slow(cpu, lin, size, X86_ACC_R, mmu, val);
}

static inline __attribute__((always_inline)) int
x86_lwrite(struct x86_cpu *cpu, uint64_t lin, int size, int mmu,
    uint64_t val)
{
	struct x86_tlb_ent *e = &cpu->tlb[mmu][X86_TLB_IDX(lin)];
	if (likely(e->tag_w == (lin >> 12) && ((lin & 0xfff) + size) <=
	    4096)) {
		uint8_t *p = (uint8_t *)(lin + e->addend);
		switch (size) {
		case 1: *p = (uint8_t)val; break;
		case 2: { uint16_t v = (uint16_t)val; memcpy(p, &v, 2); } break;
		case 4: { uint32_t v = (uint32_t)val; memcpy(p, &v, 4); } break;
		default: memcpy(p, &val, 8); break;
		}
		return X86_OK;
	}
	return x86_mem_slow(cpu, lin, size, X86_ACC_W, mmu, &val);
}

static inline __attribute__((always_inline)) int
x86_read(struct x86_cpu *cpu, int seg, uint64_t ea, int size,
    uint64_t *val)
{
	uint64_t lin;
	int r = x86_linear(cpu, seg, ea, size, X86_ACC_R, &lin);
	if (unlikely(r != X86_OK))
		return r;
	return x86_lread(cpu, lin, size, cpu->mmu, val);
}

static inline __attribute__((always_inline)) int
x86_write(struct x86_cpu *cpu, int seg, uint64_t ea, int size,
    uint64_t val)
{
	uint64_t lin;
	int r = x86_linear(cpu, seg, ea, size, X86_ACC_W, &lin);
	if (unlikely(r != X86_OK))
		return r;
	return x86_lwrite(cpu, lin, size, cpu->mmu, val);
}

/* Blocks of up to 16 bytes (SSE, FXSAVE pieces, descriptors). */
int x86_read_buf(struct x86_cpu *cpu, int seg, uint64_t ea, int size,
    void *buf);
int x86_write_buf(struct x86_cpu *cpu, int seg, uint64_t ea, int size,
    const void *buf);
/* Check that [ea, ea+size) is writable before a multi-part store. */
int x86_probe_write(struct x86_cpu *cpu, int seg, uint64_t ea, int size);
/* Supervisor-implicit access (descriptor tables, TSS, IDT). */
int x86_sys_read(struct x86_cpu *cpu, uint64_t lin, int size,
    uint64_t *val);
int x86_sys_write(struct x86_cpu *cpu, uint64_t lin, int size,
    uint64_t val);
/* Host pointer for an atomic access inside one RAM page, else NULL. */
uint8_t *x86_atomic_ptr(struct x86_cpu *cpu, int seg, uint64_t ea,
    int size, int *r);

/* ---- operands ---- */
static inline __attribute__((always_inline)) uint64_t
x86_ea(const struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = (uint64_t)(int64_t)in->disp;
	if (in->base != X86_REG_NONE)
		ea += cpu->r[in->base];
	if (in->index != X86_REG_NONE)
		ea += cpu->r[in->index] << in->scale;
	if (in->ripr)
		ea += cpu->rip + in->len;
	if (in->asize != 8)
		ea &= x86_size_mask(in->asize);
	return ea;
}

static inline __attribute__((always_inline)) int
x86_read_rm(struct x86_cpu *cpu, const struct x86_insn *in, int size,
    uint64_t *v)
{
	if (in->mod == 3) {
		*v = x86_greg(cpu, in->rm, size);
		return X86_OK;
	}
	return x86_read(cpu, in->seg, x86_ea(cpu, in), size, v);
}

static inline __attribute__((always_inline)) int
x86_write_rm(struct x86_cpu *cpu, const struct x86_insn *in, int size,
    uint64_t v)
{
	if (in->mod == 3) {
		x86_sreg(cpu, in->rm, size, v);
		return X86_OK;
	}
	return x86_write(cpu, in->seg, x86_ea(cpu, in), size, v);
}

/* ---- stack (x86_exec_flow.c) ---- */
int x86_push(struct x86_cpu *cpu, int size, uint64_t v);
int x86_pop(struct x86_cpu *cpu, int size, uint64_t *v);
uint64_t x86_sp_mask(const struct x86_cpu *cpu);

/* ---- mode and segments (x86_exec_sys.c) ---- */
void x86_update_mode(struct x86_cpu *cpu);
void x86_seg_real(struct x86_cpu *cpu, int seg, uint16_t sel);
int x86_load_seg(struct x86_cpu *cpu, int seg, uint16_t sel);
int x86_read_desc(struct x86_cpu *cpu, uint16_t sel, uint64_t *lo,
    uint64_t *hi, int exc);
uint32_t x86_desc_access(uint64_t d);
uint64_t x86_desc_base(uint64_t d);
uint32_t x86_desc_limit(uint64_t d);
void x86_set_seg_desc(struct x86_cpu *cpu, int seg, uint16_t sel,
    uint64_t d);
int x86_set_desc_busy(struct x86_cpu *cpu, uint16_t sel, uint32_t bit);
int x86_write_cr0(struct x86_cpu *cpu, uint64_t v);
int x86_write_cr4(struct x86_cpu *cpu, uint64_t v);
int x86_write_cr3(struct x86_cpu *cpu, uint64_t v);
int x86_write_efer(struct x86_cpu *cpu, uint64_t v);
void x86_set_rflags(struct x86_cpu *cpu, uint64_t v);
void x86_canon_null_seg(struct x86_cpu *cpu, int seg);
uint64_t x86_read_cr8(struct x86_cpu *cpu);
uint8_t x86_vm_gpr(int r);

static inline uint64_t
x86_next_rip(const struct x86_cpu *cpu, const struct x86_insn *in)
{
	return (cpu->rip + in->len) & cpu->ip_mask;
}

static inline int
x86_jump(struct x86_cpu *cpu, uint64_t target)
{
	cpu->rip = target & cpu->ip_mask;
	return X86_BRANCH;
}

/* Finish an instruction that must end the block. */
static inline int
x86_done_end(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->rip = x86_next_rip(cpu, in);
	return X86_BRANCH;
}

/* ---- handlers shared by the tables ---- */
#define X86_H(name) int name(struct x86_cpu *, const struct x86_insn *)
X86_H(x86_h_ud);
X86_H(x86_h_nop);
/* integer (x86_exec_int.c) */
X86_H(x86_h_alu_rm_r); X86_H(x86_h_alu_r_rm); X86_H(x86_h_alu_rm_i);
X86_H(x86_h_alu_a_i); X86_H(x86_h_test_rm_r); X86_H(x86_h_test_rm_i);
X86_H(x86_h_test_a_i); X86_H(x86_h_mov_rm_r); X86_H(x86_h_mov_r_rm);
X86_H(x86_h_mov_rm_i); X86_H(x86_h_mov_r_i); X86_H(x86_h_mov_moffs);
X86_H(x86_h_lea); X86_H(x86_h_xchg); X86_H(x86_h_xchg_a);
X86_H(x86_h_incdec); X86_H(x86_h_incdec_r); X86_H(x86_h_not);
X86_H(x86_h_neg); X86_H(x86_h_mul); X86_H(x86_h_imul1); X86_H(x86_h_div);
X86_H(x86_h_imul_r_rm); X86_H(x86_h_imul_r_rm_i); X86_H(x86_h_shift);
X86_H(x86_h_shd); X86_H(x86_h_cbw); X86_H(x86_h_cwd); X86_H(x86_h_movzx);
X86_H(x86_h_movsx); X86_H(x86_h_movsxd); X86_H(x86_h_cmov);
X86_H(x86_h_setcc); X86_H(x86_h_bt); X86_H(x86_h_bt_i); X86_H(x86_h_bsf);
X86_H(x86_h_bsr); X86_H(x86_h_tzcnt); X86_H(x86_h_lzcnt);
X86_H(x86_h_popcnt); X86_H(x86_h_bswap); X86_H(x86_h_xadd);
X86_H(x86_h_cmpxchg); X86_H(x86_h_cmpxchg8b); X86_H(x86_h_movbe);
X86_H(x86_h_flagop); X86_H(x86_h_lahf); X86_H(x86_h_sahf);
X86_H(x86_h_crc32); X86_H(x86_h_xlat); X86_H(x86_h_salc);
/* flow (x86_exec_flow.c) */
X86_H(x86_h_jcc); X86_H(x86_h_jmp); X86_H(x86_h_call); X86_H(x86_h_ret);
X86_H(x86_h_jmp_rm); X86_H(x86_h_call_rm); X86_H(x86_h_loop);
X86_H(x86_h_jcxz); X86_H(x86_h_push_r); X86_H(x86_h_pop_r);
X86_H(x86_h_push_i); X86_H(x86_h_push_rm); X86_H(x86_h_pop_rm);
X86_H(x86_h_pusha); X86_H(x86_h_popa); X86_H(x86_h_enter);
X86_H(x86_h_leave); X86_H(x86_h_movs); X86_H(x86_h_cmps);
X86_H(x86_h_stos); X86_H(x86_h_lods); X86_H(x86_h_scas);
X86_H(x86_h_pushf); X86_H(x86_h_popf);
/* system (x86_exec_sys.c and friends) */
X86_H(x86_h_hlt); X86_H(x86_h_pause); X86_H(x86_h_cli); X86_H(x86_h_sti);
X86_H(x86_h_in); X86_H(x86_h_out); X86_H(x86_h_ins); X86_H(x86_h_outs);
X86_H(x86_h_int); X86_H(x86_h_int3); X86_H(x86_h_into); X86_H(x86_h_int1);
X86_H(x86_h_iret); X86_H(x86_h_cpuid); X86_H(x86_h_rdtsc);
X86_H(x86_h_rdtscp); X86_H(x86_h_rdmsr); X86_H(x86_h_wrmsr);
X86_H(x86_h_mov_cr); X86_H(x86_h_mov_dr); X86_H(x86_h_clts);
X86_H(x86_h_lgdt); X86_H(x86_h_sgdt); X86_H(x86_h_lldt); X86_H(x86_h_sldt);
X86_H(x86_h_ltr); X86_H(x86_h_str); X86_H(x86_h_lmsw); X86_H(x86_h_smsw);
X86_H(x86_h_invlpg); X86_H(x86_h_lar); X86_H(x86_h_lsl);
X86_H(x86_h_verrw); X86_H(x86_h_mov_sreg_rm); X86_H(x86_h_mov_rm_sreg);
X86_H(x86_h_push_sreg); X86_H(x86_h_pop_sreg); X86_H(x86_h_lfp);
X86_H(x86_h_jmpf); X86_H(x86_h_callf); X86_H(x86_h_jmpf_rm);
X86_H(x86_h_callf_rm); X86_H(x86_h_retf); X86_H(x86_h_syscall);
X86_H(x86_h_sysret); X86_H(x86_h_sysenter); X86_H(x86_h_sysexit);
X86_H(x86_h_swapgs); X86_H(x86_h_wbinvd); X86_H(x86_h_invd);
X86_H(x86_h_vmcall); X86_H(x86_h_monitor); X86_H(x86_h_mwait);
X86_H(x86_h_xgetbv); X86_H(x86_h_xsetbv); X86_H(x86_h_rdpmc);
X86_H(x86_h_clac); X86_H(x86_h_stac); X86_H(x86_h_rdrand);
X86_H(x86_h_rdpid); X86_H(x86_h_fsgsbase); X86_H(x86_h_invpcid);
X86_H(x86_h_fence); X86_H(x86_h_clflush);
/* x87 and SSE (x86_fpu.c, x86_sse.c) */
X86_H(x86_h_fpu); X86_H(x86_h_fwait); X86_H(x86_h_fxsave);
X86_H(x86_h_fxrstor); X86_H(x86_h_ldmxcsr); X86_H(x86_h_stmxcsr);
extern const struct x86_opdesc x86_sse_op2[256];
extern const struct x86_opdesc x86_sse_op38[256];
extern const struct x86_opdesc x86_sse_op3a[256];
void x86_fpu_reset(struct x86_cpu *cpu);
int x86_sse_check(struct x86_cpu *cpu);

#endif /* X86_INTERNAL_H */
