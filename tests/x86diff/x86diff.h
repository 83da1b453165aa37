/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Differential testing of the x86 core against the host CPU.
 *
 * A case is a short sequence of instruction bytes and an initial register,
 * flag, SSE and memory state.  The harness runs it natively in this
 * process (a trampoline loads the state, runs the bytes on an RWX page at
 * a fixed address and saves the state; SIGSEGV/SIGFPE/SIGILL/SIGTRAP/SIGBUS
 * record the exception) and in the core at CPL 3 in 64-bit mode, on the
 * same linear addresses (identity-mapped guest pages holding copies of the
 * host pages), then compares every GPR, the defined RFLAGS bits, the XMM
 * registers and MXCSR, the data and stack pages, and the exception.
 *
 * With 'compat' the sequence runs as 32-bit code in compatibility mode
 * (far jumps through the host's __USER32_CS, 0x23, with DS/ES = 0x2b);
 * then only the low 32 bits of the GPRs are compared.
 *
 * Layout (host virtual = guest linear = guest physical):
 *   XD_CODE   code page (the sequence, then a jump back / CPUID stop)
 *   XD_DATA   two data pages, XD_STACK one stack page, then an unmapped
 *             guard page (XD_GUARD) for page faults.
 */
#ifndef X86DIFF_H
#define X86DIFF_H

#include <stdbool.h>
#include <stdint.h>

#define XD_CODE 0x10000000ULL
#define XD_DATA 0x10001000ULL
#define XD_STACK 0x10003000ULL
#define XD_GUARD 0x10004000ULL
#define XD_NPAGES 4

struct xd_state {
	uint64_t r[16];		/* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
	uint64_t rflags;
	uint64_t rip;
	uint64_t pad[14];
	uint8_t fx[512] __attribute__((aligned(16)));
} __attribute__((aligned(64)));

struct xd_result {
	struct xd_state st;
	int vector;		/* -1: ran to the end */
	uint32_t error;		/* #PF/#GP error code */
	uint64_t cr2;
	uint8_t mem[XD_NPAGES - 1][4096];	/* data and stack pages */
};

struct xd_case {
	const char *name;
	const uint8_t *code;
	int len;
	uint64_t undef;		/* RFLAGS bits the SDM leaves undefined */
	bool cmp_xmm;		/* XMM registers and MXCSR */
	bool cmp_x87;		/* FCW FSW FTW and the valid ST(i) */
	bool compat;		/* 32-bit code (compatibility mode) */
};

struct xd_env;

struct xd_env *xd_create(void);
void xd_destroy(struct xd_env *e);
/* Initial memory of the data and stack pages for the next runs. */
uint8_t *xd_mem(struct xd_env *e);
/* Run natively and in the core; 0 if they agree, else prints why. */
int xd_check(struct xd_env *e, const struct xd_case *c,
    const struct xd_state *init);
/* Counters for the report. */
uint64_t xd_cases_run(const struct xd_env *e);
uint64_t xd_jit_cases_run(const struct xd_env *e);
bool xd_host_has(const char *feature);

#endif /* X86DIFF_H */
