/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The differential harness (see x86diff.h).  Included by the unit tests
 * that use it, so that it is built with them and nothing else.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "x86/x86_cpu.h"
#include "x86diff.h"

/* Guest-physical pages of the page tables. */
#define XD_PT_BASE 0x1000ULL
#define XD_PT_PAGES 4

struct xd_env {
	bool jit;			/* the JIT can run: check it too */
	uint64_t jit_runs;
	uint8_t *host;			/* XD_CODE .. XD_GUARD (mapped) */
	uint8_t *gmem[XD_NPAGES];	/* guest copies of those pages */
	uint8_t *pt[XD_PT_PAGES];	/* guest page tables */
	uint8_t init[XD_NPAGES - 1][4096];
	struct x86_cpu *cpu;
	struct x86_mem_ops mem;
	struct x86_exec_ctl ctl;
	uint64_t runs;
	stack_t altstack;
};

/* ---- the host side ---- */

void xd_host_run(struct xd_state *st, uint64_t entry);
void xd_host_run32(struct xd_state *st, uint64_t entry);
void xd_host_back(void);

/* Where 32-bit test code far-jumps back to 64-bit code (in the page). */
#define XD_BACK64 (XD_CODE + 0xf00)

/* Trampoline state: the test runs on its own stack with all GPRs live. */
uint64_t xd_host_rsp, xd_ctx, xd_target, xd_scratch, xd_far;

__asm__(
	".text\n"
	".globl xd_host_run\n"
	"xd_host_run:\n"
	"	push %rbx\n push %rbp\n push %r12\n"
	"	push %r13\n push %r14\n push %r15\n"
	"	mov %rsp, xd_host_rsp(%rip)\n"
	"	mov %rdi, xd_ctx(%rip)\n"
	"	mov %rsi, xd_target(%rip)\n"
	"	fxrstor 256(%rdi)\n"
	"	pushq 128(%rdi)\n"
	"	popfq\n"
	"	mov 0(%rdi), %rax\n mov 8(%rdi), %rcx\n mov 16(%rdi), %rdx\n"
	"	mov 24(%rdi), %rbx\n mov 32(%rdi), %rsp\n mov 40(%rdi), %rbp\n"
	"	mov 48(%rdi), %rsi\n mov 64(%rdi), %r8\n mov 72(%rdi), %r9\n"
	"	mov 80(%rdi), %r10\n mov 88(%rdi), %r11\n mov 96(%rdi), %r12\n"
	"	mov 104(%rdi), %r13\n mov 112(%rdi), %r14\n"
	"	mov 120(%rdi), %r15\n mov 56(%rdi), %rdi\n"
	"	jmp *xd_target(%rip)\n"
	/* The same into 32-bit code: DS/ES usable, far jump to 0x23. */
	".globl xd_host_run32\n"
	"xd_host_run32:\n"
	"	push %rbx\n push %rbp\n push %r12\n"
	"	push %r13\n push %r14\n push %r15\n"
	"	mov %rsp, xd_host_rsp(%rip)\n"
	"	mov %rdi, xd_ctx(%rip)\n"
	"	mov %esi, xd_far(%rip)\n"
	"	movw $0x23, xd_far+4(%rip)\n"
	"	mov $0x2b, %eax\n"
	"	mov %eax, %ds\n mov %eax, %es\n"
	"	fxrstor 256(%rdi)\n"
	"	pushq 128(%rdi)\n"
	"	popfq\n"
	"	mov 0(%rdi), %rax\n mov 8(%rdi), %rcx\n mov 16(%rdi), %rdx\n"
	"	mov 24(%rdi), %rbx\n mov 32(%rdi), %rsp\n mov 40(%rdi), %rbp\n"
	"	mov 48(%rdi), %rsi\n mov 64(%rdi), %r8\n mov 72(%rdi), %r9\n"
	"	mov 80(%rdi), %r10\n mov 88(%rdi), %r11\n mov 96(%rdi), %r12\n"
	"	mov 104(%rdi), %r13\n mov 112(%rdi), %r14\n"
	"	mov 120(%rdi), %r15\n mov 56(%rdi), %rdi\n"
	"	ljmpl *xd_far(%rip)\n"
	".globl xd_host_back\n"
	"xd_host_back:\n"
	"	mov %rax, xd_scratch(%rip)\n"
	"	mov xd_ctx(%rip), %rax\n"
	"	mov %rcx, 8(%rax)\n mov %rdx, 16(%rax)\n mov %rbx, 24(%rax)\n"
	"	mov %rsp, 32(%rax)\n mov %rbp, 40(%rax)\n mov %rsi, 48(%rax)\n"
	"	mov %rdi, 56(%rax)\n mov %r8, 64(%rax)\n mov %r9, 72(%rax)\n"
	"	mov %r10, 80(%rax)\n mov %r11, 88(%rax)\n mov %r12, 96(%rax)\n"
	"	mov %r13, 104(%rax)\n mov %r14, 112(%rax)\n mov %r15, 120(%rax)\n"
	"	mov xd_scratch(%rip), %rcx\n"
	"	mov %rcx, 0(%rax)\n"
	"	mov xd_host_rsp(%rip), %rsp\n"
	"	pushfq\n"
	"	popq 128(%rax)\n"
	"	fxsave 256(%rax)\n"
	"	cld\n"
	"	xor %ecx, %ecx\n"
	"	mov %ecx, %ds\n mov %ecx, %es\n"
	"	pop %r15\n pop %r14\n pop %r13\n"
	"	pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n");

static sigjmp_buf xd_jmp;
/* Set while the test code runs natively: other faults are real crashes. */
static volatile sig_atomic_t xd_in_host;
static struct {
	int sig;
	uint64_t trapno, err, addr;
	struct xd_state st;
} xd_fault;

static void
xd_sig(int sig, siginfo_t *si, void *ucv)
{
	static const int map[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX,
		REG_RSP, REG_RBP, REG_RSI, REG_RDI, REG_R8, REG_R9, REG_R10,
		REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };
	ucontext_t *uc = ucv;
	int i;

	if (!xd_in_host) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	xd_in_host = 0;
	xd_fault.sig = sig;
	xd_fault.trapno = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
	xd_fault.err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
	xd_fault.addr = (uint64_t)(uintptr_t)si->si_addr;
	for (i = 0; i < 16; i++)
		xd_fault.st.r[i] = (uint64_t)uc->uc_mcontext.gregs[map[i]];
	xd_fault.st.rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	xd_fault.st.rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
	siglongjmp(xd_jmp, 1);
}

static void
xd_host_exec(struct xd_env *e, const struct xd_case *c,
    const struct xd_state *init, struct xd_result *res)
{
	static uint8_t hostfx[512] __attribute__((aligned(16)));
	uint8_t *code = e->host;
	uint64_t back = (uint64_t)(uintptr_t)xd_host_back;

	memset(code, 0xcc, 4096);
	memcpy(code, c->code, c->len);
	if (c->compat) {
		/* ljmp $0x33, $XD_BACK64, then the 64-bit jump home. */
		uint32_t b64 = (uint32_t)XD_BACK64;
		code[c->len] = 0xea;
		memcpy(code + c->len + 1, &b64, 4);
		memcpy(code + c->len + 5, "\x33\x00", 2);
		code += XD_BACK64 - XD_CODE;
		memcpy(code, "\xff\x25\x00\x00\x00\x00", 6);
		memcpy(code + 6, &back, 8);
	} else {
		/* jmp *0(%rip); .quad xd_host_back */
		memcpy(code + c->len, "\xff\x25\x00\x00\x00\x00", 6);
		memcpy(code + c->len + 6, &back, 8);
	}
	memcpy(e->host + 4096, e->init, sizeof(e->init));
	res->st = *init;
	res->vector = -1;
	__builtin_ia32_fxsave(hostfx);
	if (sigsetjmp(xd_jmp, 1) == 0) {
		xd_in_host = 1;
		if (c->compat)
			xd_host_run32(&res->st, XD_CODE);
		else
			xd_host_run(&res->st, XD_CODE);
		xd_in_host = 0;
		res->st.rip = XD_CODE + c->len;
	} else {
		/* A fault in compat mode left DS/ES at 0x2b: harmless. */
		__builtin_ia32_fxrstor(hostfx);
		memcpy(res->st.r, xd_fault.st.r, sizeof(res->st.r));
		res->st.rip = xd_fault.st.rip;
		res->st.rflags = xd_fault.st.rflags;
		res->vector = (int)xd_fault.trapno;
		res->error = (uint32_t)xd_fault.err;
		res->cr2 = xd_fault.addr;
		if (res->vector == 3)	/* INT3 reports RIP past it */
			res->st.rip -= 1;
	}
	__builtin_ia32_fxrstor(hostfx);
	memcpy(res->mem, e->host + 4096, sizeof(res->mem));
}

/* ---- the core side ---- */

static uint8_t *
xd_map(void *arg, uint64_t gpa, int access)
{
	struct xd_env *e = arg;

	if (gpa >= XD_CODE && gpa < XD_CODE + XD_NPAGES * 4096ULL)
		return e->gmem[(gpa - XD_CODE) >> 12];
	if (gpa >= XD_PT_BASE && gpa < XD_PT_BASE + XD_PT_PAGES * 4096ULL)
		return e->pt[(gpa - XD_PT_BASE) >> 12];
	return NULL;
}

/* 4-level identity map of XD_CODE .. XD_GUARD (not the guard page). */
static void
xd_build_pt(struct xd_env *e)
{
	uint64_t *pml4 = (uint64_t *)(void *)e->pt[0];
	uint64_t *pdpt = (uint64_t *)(void *)e->pt[1];
	uint64_t *pd = (uint64_t *)(void *)e->pt[2];
	uint64_t *pt = (uint64_t *)(void *)e->pt[3];
	int i;

	pml4[(XD_CODE >> 39) & 511] = (XD_PT_BASE + 0x1000) | 7;
	pdpt[(XD_CODE >> 30) & 511] = (XD_PT_BASE + 0x2000) | 7;
	pd[(XD_CODE >> 21) & 511] = (XD_PT_BASE + 0x3000) | 7;
	for (i = 0; i < XD_NPAGES; i++)
		pt[((XD_CODE >> 12) & 511) + i] = (XD_CODE + i * 4096ULL) | 7;
}

static void
xd_guest_setup(struct xd_env *e)
{
	struct seg_desc cs = { 0, 0xffffffff, 0xa0fb };
	struct seg_desc ds = { 0, 0xffffffff, 0xc0f3 };
	struct seg_desc tr = { 0, 0x67, 0x8b };
	int i;

	x86_set_reg(e->cpu, VM_REG_GUEST_CR0, 0x80010033);
	x86_set_reg(e->cpu, VM_REG_GUEST_CR3, XD_PT_BASE);
	x86_set_reg(e->cpu, VM_REG_GUEST_CR4, 0x6a0);
	x86_set_reg(e->cpu, VM_REG_GUEST_EFER, 0xd01);
	x86_set_desc(e->cpu, VM_REG_GUEST_CS, &cs);
	x86_set_reg(e->cpu, VM_REG_GUEST_CS, 0x33);
	for (i = VM_REG_GUEST_ES; i <= VM_REG_GUEST_GS; i++) {
		if (i == VM_REG_GUEST_CS)
			continue;
		x86_set_desc(e->cpu, i, &ds);
		x86_set_reg(e->cpu, i, 0x2b);
	}
	x86_set_desc(e->cpu, VM_REG_GUEST_TR, &tr);
}

static void
xd_guest_exec(struct xd_env *e, const struct xd_case *c,
    const struct xd_state *init, struct xd_result *res)
{
	static const int map[16] = { VM_REG_GUEST_RAX, VM_REG_GUEST_RCX,
		VM_REG_GUEST_RDX, VM_REG_GUEST_RBX, VM_REG_GUEST_RSP,
		VM_REG_GUEST_RBP, VM_REG_GUEST_RSI, VM_REG_GUEST_RDI,
		VM_REG_GUEST_R8, VM_REG_GUEST_R9, VM_REG_GUEST_R10,
		VM_REG_GUEST_R11, VM_REG_GUEST_R12, VM_REG_GUEST_R13,
		VM_REG_GUEST_R14, VM_REG_GUEST_R15 };
	struct x86_stop_info si;
	int i;

	memset(e->gmem[0], 0xcc, 4096);
	memcpy(e->gmem[0], c->code, c->len);
	memcpy(e->gmem[0] + c->len, "\x0f\xa2", 2);	/* CPUID: stop */
	for (i = 1; i < XD_NPAGES; i++)
		memcpy(e->gmem[i], e->init[i - 1], 4096);
	for (i = 0; i < 16; i++)
		x86_set_reg(e->cpu, map[i], init->r[i]);
	{
		struct seg_desc cs = { 0, 0xffffffff,
			c->compat ? 0xc0fb : 0xa0fb };
		x86_set_desc(e->cpu, VM_REG_GUEST_CS, &cs);
		x86_set_reg(e->cpu, VM_REG_GUEST_CS, c->compat ? 0x23 : 0x33);
	}
	x86_set_reg(e->cpu, VM_REG_GUEST_RIP, XD_CODE);
	x86_set_reg(e->cpu, VM_REG_GUEST_RFLAGS, init->rflags | 0x202);
	x86_set_fxsave(e->cpu, init->fx);
	res->vector = -1;
	if (x86_run(e->cpu, &e->mem, &e->ctl, 1000000, &si) != 0)
		res->vector = -2;
	else if (si.reason == X86_STOP_EXCEPTION) {
		res->vector = si.u.exc.vector;
		res->error = si.u.exc.error;
		res->cr2 = si.u.exc.cr2;
	} else if (si.reason != X86_STOP_CPUID) {
		res->vector = 1000 + (int)si.reason;
	}
	for (i = 0; i < 16; i++)
		x86_get_reg(e->cpu, map[i], &res->st.r[i]);
	x86_get_reg(e->cpu, VM_REG_GUEST_RIP, &res->st.rip);
	x86_get_reg(e->cpu, VM_REG_GUEST_RFLAGS, &res->st.rflags);
	x86_get_fxsave(e->cpu, res->st.fx);
	for (i = 1; i < XD_NPAGES; i++)
		memcpy(res->mem[i - 1], e->gmem[i], 4096);
}

/* ---- setup and comparison ---- */

static int
xd_signals(struct xd_env *e)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
	struct sigaction sa;
	unsigned i;

	e->altstack.ss_size = 65536;
	e->altstack.ss_sp = malloc(e->altstack.ss_size);
	e->altstack.ss_flags = 0;
	if (!e->altstack.ss_sp || sigaltstack(&e->altstack, NULL) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = xd_sig;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	return 0;
}

struct xd_env *
xd_create(void)
{
	struct xd_env *e = calloc(1, sizeof(*e));
	int i;

	if (!e)
		return NULL;
	e->host = mmap((void *)(uintptr_t)XD_CODE, XD_NPAGES * 4096,
	    PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (e->host != (void *)(uintptr_t)XD_CODE)
		goto fail;
	for (i = 0; i < XD_NPAGES; i++)
		e->gmem[i] = aligned_alloc(4096, 4096);
	for (i = 0; i < XD_PT_PAGES; i++)
		e->pt[i] = calloc(1, 4096);
	e->cpu = x86_cpu_create();
	if (!e->cpu || xd_signals(e) != 0)
		goto fail;
	xd_build_pt(e);
	xd_guest_setup(e);
	e->mem = (struct x86_mem_ops){ .map = xd_map, .arg = e };
	e->ctl = (struct x86_exec_ctl){ .exception_bitmap = ~0u };
	e->jit = x86_set_jit(e->cpu, X86_JIT_EAGER) == 0;
	return e;
fail:
	xd_destroy(e);
	return NULL;
}

void
xd_destroy(struct xd_env *e)
{
	int i;

	if (!e)
		return;
	if (e->host && e->host != MAP_FAILED)
		munmap(e->host, XD_NPAGES * 4096);
	for (i = 0; i < XD_NPAGES; i++)
		free(e->gmem[i]);
	for (i = 0; i < XD_PT_PAGES; i++)
		free(e->pt[i]);
	x86_cpu_destroy(e->cpu);
	if (e->altstack.ss_sp) {
		stack_t off = { .ss_flags = SS_DISABLE };
		sigaltstack(&off, NULL);
		free(e->altstack.ss_sp);
	}
	free(e);
}

uint8_t *
xd_mem(struct xd_env *e)
{
	return &e->init[0][0];
}

uint64_t
xd_cases_run(const struct xd_env *e)
{
	return e->runs;
}

static void
xd_dump(const char *what, const struct xd_result *r)
{
	int i;

	fprintf(stderr, "  %s: vector %d err %#x rip %#llx rflags %#llx\n  ",
	    what, r->vector, r->error, (unsigned long long)r->st.rip,
	    (unsigned long long)r->st.rflags);
	for (i = 0; i < 16; i++)
		fprintf(stderr, "r%d=%llx%s", i,
		    (unsigned long long)r->st.r[i], i % 4 == 3 ? "\n  " : " ");
	fprintf(stderr, "fcw %02x%02x fsw %02x%02x ftw %02x mxcsr %02x%02x "
	    "st0 ", r->st.fx[1], r->st.fx[0], r->st.fx[3], r->st.fx[2],
	    r->st.fx[4], r->st.fx[25], r->st.fx[24]);
	for (i = 9; i >= 0; i--)
		fprintf(stderr, "%02x", r->st.fx[32 + i]);
	fprintf(stderr, "\n");
	if (getenv("XD_XMM")) {
		for (i = 0; i < 16; i++) {
			uint64_t q[2];
			memcpy(q, r->st.fx + 160 + 16 * i, 16);
			fprintf(stderr, "  xmm%d %016llx%016llx\n", i,
			    (unsigned long long)q[1],
			    (unsigned long long)q[0]);
		}
	}
}

/* FCW, FSW, abridged FTW and the valid registers of the FXSAVE image. */
static bool
xd_x87_differs(const struct xd_result *h, const struct xd_result *g)
{
	int i;

	if (memcmp(h->st.fx, g->st.fx, 5) != 0)
		return true;
	for (i = 0; i < 8; i++) {
		int top = (h->st.fx[3] >> 3) & 7;
		if (!((h->st.fx[4] >> ((top + i) & 7)) & 1))
			continue;
		if (memcmp(h->st.fx + 32 + i * 16, g->st.fx + 32 + i * 16, 10))
			return true;
	}
	return false;
}

static int
xd_compare(const struct xd_case *c, const struct xd_result *h,
    const struct xd_result *g)
{
	uint64_t fm = 0xcd5ULL & ~c->undef;
	int i;

	if (h->vector != g->vector || h->st.rip != g->st.rip)
		return 1;
	if ((h->vector == 13 || h->vector == 14) && h->error != g->error)
		return 2;
	if (h->vector == 14 && h->cr2 != g->cr2)
		return 3;
	for (i = 0; i < 16; i++) {
		uint64_t m = c->compat ? 0xffffffffULL : ~0ULL;
		if (c->compat && i >= 8)
			break;	/* R8-R15 do not exist there */
		if ((h->st.r[i] ^ g->st.r[i]) & m)
			return 10 + i;
	}
	if ((h->st.rflags & fm) != (g->st.rflags & fm))
		return 4;
	if (c->cmp_xmm && h->vector == -1 &&
	    (memcmp(h->st.fx + 160, g->st.fx + 160, 256) ||
	    memcmp(h->st.fx + 24, g->st.fx + 24, 4)))
		return 5;
	if (c->cmp_x87 && h->vector == -1 && xd_x87_differs(h, g))
		return 7;
	if (memcmp(h->mem, g->mem, sizeof(h->mem)) != 0)
		return 6;
	return 0;
}

static void
xd_report(struct xd_env *e, const struct xd_case *c,
    const struct xd_state *init, const struct xd_result *h,
    const struct xd_result *g, int why, const char *how)
{
	int i;

	fprintf(stderr, "x86diff: %s differs (%d, %s); code:", c->name, why,
	    how);
	for (i = 0; i < c->len; i++)
		fprintf(stderr, " %02x", c->code[i]);
	fprintf(stderr, "\n");
	xd_dump("initial", &(struct xd_result){ .st = *init, .vector = -1 });
	if (getenv("XD_XMM")) {
		uint64_t m[2];
		memcpy(m, &e->init[0][0x100], 16);
		fprintf(stderr, "  mem+0x100: %016llx %016llx\n",
		    (unsigned long long)m[0], (unsigned long long)m[1]);
	}
	xd_dump("host", h);
	xd_dump("core", g);
}

/*
 * The case natively, then in the core twice: interpreted, and with every
 * block translated at once by the JIT (when this host can run it).
 */
int
xd_check(struct xd_env *e, const struct xd_case *c,
    const struct xd_state *init)
{
	static struct xd_result h, g;
	int why, pass, bad = 0;

	xd_host_exec(e, c, init, &h);
	for (pass = 0; pass < (e->jit ? 2 : 1); pass++) {
		if (e->jit)
			(void)x86_set_jit(e->cpu, pass ? X86_JIT_EAGER :
			    X86_JIT_OFF);
		xd_guest_exec(e, c, init, &g);
		why = xd_compare(c, &h, &g);
		if (pass)
			e->jit_runs++;
		if (why != 0) {
			xd_report(e, c, init, &h, &g, why, pass ? "jit" :
			    "interpreter");
			bad = 1;
		}
	}
	e->runs++;
	return bad;
}

/* Cases also run through translated code (0 without a JIT). */
uint64_t
xd_jit_cases_run(const struct xd_env *e)
{
	return e->jit_runs;
}

bool
xd_host_has(const char *f)
{
	unsigned a, b, c, d;

	__cpuid_count(7, 0, a, b, c, d);
	if (!strcmp(f, "bmi1"))
		return b & (1u << 3);
	if (!strcmp(f, "adx"))
		return b & (1u << 19);
	__cpuid(0x80000001, a, b, c, d);
	if (!strcmp(f, "lzcnt"))
		return c & (1u << 5);
	__cpuid(1, a, b, c, d);
	if (!strcmp(f, "popcnt"))
		return c & (1u << 23);
	if (!strcmp(f, "movbe"))
		return c & (1u << 22);
	if (!strcmp(f, "sse4.2"))
		return c & (1u << 20);
	if (!strcmp(f, "sse4.1"))
		return c & (1u << 19);
	if (!strcmp(f, "ssse3"))
		return c & (1u << 9);
	if (!strcmp(f, "sse3"))
		return c & 1u;
	if (!strcmp(f, "cx16"))
		return c & (1u << 13);
	return false;
}
