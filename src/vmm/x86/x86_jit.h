/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The x86 core's JIT: hot blocks of guest code translated into host
 * x86-64 code (the host and the guest share the ISA, so most integer
 * instructions are re-encoded with guest registers mapped to host
 * registers and memory operands pointed at the guest page).
 *
 * Model.  A translated block (struct x86_jblk) is an interpreter block
 * (x86_run.c) compiled for one linear RIP, one guest-physical address and
 * one mode key.  Inside translated code:
 *  - RBP is the CPU (biased by X86_JIT_BIAS); guest registers used by the
 *    block live in ten host registers, loaded at block entry and written
 *    back at every exit and before every call into C;
 *  - guest arithmetic flags are the host's own flags right after the
 *    instruction that produced them; they go to memory (LF_HOST, LAHF and
 *    SETO) only when something else needs the host flags or the block is
 *    left, and come back with SAHF.  Between blocks lf_op is LF_HOST;
 *  - memory operands go through an inline lookup of the software TLB
 *    (x86_internal.h); a miss, an MMIO page, a code page (no write tag),
 *    a page-crossing or non-canonical address take the slow path: the
 *    interpreter's handler for the whole instruction (x86_jit_generic()),
 *    which raises exceptions and stops exactly as the interpreter does;
 *  - instructions the translator does not know run through the same call
 *    to the interpreter's handler.
 *
 * Exactness.  RIP is known at compile time; the interpreter's handlers get
 * cpu->rip and cpu->cur set before they run.  Every block entry checks
 * x86_kick() and the budget (cpu->jleft, decremented by the block's length
 * at entry and refunded by every early exit), so kicks are seen within one
 * block and budgets are exact: a block that does not fit the budget is
 * left to the interpreter.
 *
 * Validity.  A block is valid at one value of cpu->jgen, which moves with
 * the epoch (code written through this core, serializing events), TLB
 * flushes and mode changes.  The entry of every block compares its gen
 * slot with cpu->jgen; on a mismatch x86_jit_reval() looks its RIP up in
 * the TLB, checks the guest-physical address and mode key and compares the
 * guest bytes, then marks it valid again or kills it.  So direct jumps
 * between blocks (patched edges) and the jump cache of indirect branches
 * never need invalidating: they always land on a block entry, which
 * checks itself.  A write through this core to a page holding code moves
 * the epoch; a call into C that moved jgen ends the block.
 *
 * Memory.  Code and block records live in one memfd mapped twice: the
 * code read/execute, everything read/write at another address (W^X: no
 * page is ever writable and executable through one mapping).  When either
 * area fills, everything is thrown away at once (x86_jit_flush).
 */
#ifndef X86_JIT_H
#define X86_JIT_H

#include "x86_internal.h"

/* Translated code addresses the CPU as [rbp + offset - X86_JIT_BIAS]. */
#define X86_JIT_BIAS 128
#define X86_JIT_FIELD(field) \
	((int32_t)__builtin_offsetof(struct x86_cpu, field) - X86_JIT_BIAS)

/* Modes of x86_set_jit() (x86_cpu.h); the threshold of X86_JIT_ON. */
#define X86_JIT_HOT 16

/* Exit codes of translated code (0: go on, only from helpers). */
enum {
	JX_CONT = 0,
	JX_DISPATCH,	/* continue at cpu->rip in the dispatcher */
	JX_LINK,	/* the same, and link edge cpu->jlink if possible */
	JX_EXC,		/* an exception is raised (cpu->exc) */
	JX_STOP,	/* a stop is filled in (cpu->out) */
};

/*
 * The jump cache: linear RIP -> block entry, for indirect branches.  An
 * empty slot says RIP 0 and leads to code that exits to the dispatcher
 * with RIP = the target: never a null entry, whatever the guest jumps to.
 */
#define X86_JC_BITS 10
#define X86_JC_SIZE (1 << X86_JC_BITS)
struct x86_jc_ent {
	uint64_t rip;
	const uint8_t *entry;	/* read/execute address */
};
#define X86_JC_IDX(rip) ((((rip) >> X86_JC_BITS) ^ (rip)) & \
	(X86_JC_SIZE - 1))

/* A translated block (in the read/write view of the data area). */
struct x86_jblk {
	uint64_t gen;		/* valid at this cpu->jgen; 0: never */
	uint64_t rip;
	uint64_t gpa;
	uint32_t key;		/* x86_jit_key() at compile time */
	uint32_t entry;		/* code offset of the entry */
	int32_t hnext;		/* hash chain (block index), -1: end */
	int32_t in_edges;	/* edges linked to us (edge index), -1 */
	uint16_t ninsn;
	uint16_t nbytes;
	bool dead;
	uint8_t bytes[X86_BLK_BYTES];
	struct x86_insn insn[X86_BLK_INSNS];
};

/* A patchable jump out of a block (rel32 at 'site'). */
struct x86_jedge {
	uint32_t site;		/* code offset of the rel32 */
	uint32_t stub;		/* code offset it jumps to when unlinked */
	int32_t to;		/* linked to this block, -1: not */
	int32_t next;		/* next edge linked to the same block */
	uint64_t rip;		/* target RIP */
};

#define X86_JIT_CODE_SIZE (32u << 20)
#define X86_JIT_MAX_BLKS 16384
#define X86_JIT_MAX_EDGES (4 * X86_JIT_MAX_BLKS)
#define X86_JIT_HASH_BITS 13
#define X86_JIT_SBUF (48u << 10)	/* per stream, while translating */

struct x86_jit {
	int mode;		/* X86_JIT_OFF / ON / EAGER */
	bool broken;		/* no memfd or host lacks LAHF: off */
	int fd;
	uint8_t *rw, *rx;	/* the two views of the memfd */
	size_t map_size;
	uint32_t code_used;
	uint32_t code_start;	/* after the trampoline */
	struct x86_jblk *blks;	/* rw view of the data area */
	uint32_t nblk;
	struct x86_jedge *edges;	/* heap */
	uint32_t nedge;
	int32_t hash[1 << X86_JIT_HASH_BITS];
	int (*enter)(struct x86_cpu *, const uint8_t *);
	uint32_t exit_off;	/* code offset of the common exit */
	uint32_t miss_off;	/* ... of the empty jump cache slot's code */
	struct xj_ctx *ctx;	/* translation scratch */
	uint8_t *sbuf[2];
	uint64_t compiled, flushes, runs, insns;
	struct x86_jc_ent jc[X86_JC_SIZE];
	int32_t jc_blk[X86_JC_SIZE];	/* the block of each jc entry */
};

/* The host registers holding guest registers inside a block. */
#define X86_JIT_NCACHE 10

/* ---- x86_jit.c ---- */
struct x86_jit *x86_jit_create(void);
void x86_jit_destroy(struct x86_jit *j);
void x86_jit_flush(struct x86_cpu *cpu);
/*
 * The dispatcher's side (x86_run.c), in long mode when not single-
 * stepping: run translated code from cpu->rip, through the jump cache
 * (x86_jit_try) or for the interpreter block 'b' just found there
 * (x86_jit_hot, which translates it once it is hot).  X86_OK, X86_EXC or
 * X86_STOP with *ran instructions executed, or -1 when nothing ran.
 */
int x86_jit_try(struct x86_cpu *cpu, uint64_t left, uint64_t *ran);
int x86_jit_hot(struct x86_cpu *cpu, struct x86_block *b, uint64_t left,
    uint64_t *ran);

static inline bool
x86_jit_active(const struct x86_cpu *cpu)
{
	return cpu->jit && cpu->jit->mode != X86_JIT_OFF &&
	    cpu->mode == X86_MODE_LONG;
}

uint32_t x86_jit_key(const struct x86_cpu *cpu);
const uint8_t *x86_jit_code_rx(const struct x86_jit *j, uint32_t off);
int x86_jit_edge_new(struct x86_jit *j, uint64_t rip);
/* Helpers called from translated code. */
int x86_jit_generic(struct x86_cpu *cpu, struct x86_jblk *jb, uint32_t k);
int x86_jit_reval(struct x86_cpu *cpu, struct x86_jblk *jb);

/* ---- x86_jit_gen.c ---- */
/*
 * Translate 'jb' (rip, gpa, key and insns filled) into the code area:
 * 0 with jb->entry set, or -ENOSPC when the code area is full, -ENOTSUP
 * when the block is not worth translating.
 */
int x86_jit_translate(struct x86_cpu *cpu, struct x86_jblk *jb);
/* The trampoline and the common exit, at the start of the code area. */
int x86_jit_gen_trampoline(struct x86_jit *j);

#endif /* X86_JIT_H */
