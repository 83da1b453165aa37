/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Speed of the x86 core (the software VT-x backend's CPU): an integer,
 * memory and branch heavy loop run at ring 0 and at ring 3 in 64-bit mode
 * with 4-level paging; prints guest instructions per second (by wall and
 * by CPU time), interpreted and through the JIT.
 *
 *   build/bench/x86core [iterations]
 *   build/bench/x86core --count iterations
 *	the loop's instruction count for that many iterations (the same
 *	loop as bench/cpuloop.c's guest: bench/cpuloop-compare uses it)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "x86/x86_cpu.h"

#define RAM (4u << 20)
#define PML4 0x10000
#define CODE 0x100000
#define DATA 0x200000
#define STACK 0x300000

/*
 * The loop: load, add, xor, multiply, store over a 8 KiB array, a
 * data-dependent branch, a call/ret every 4th iteration; 16 instructions
 * per iteration on average.  The iteration count is in ECX.
 */
extern const unsigned char x86b_loop[], x86b_loop_end[];
__asm__(
	".pushsection .rodata\n"
	".globl x86b_loop, x86b_loop_end\n"
	"x86b_loop:\n"
	"	mov $0x200000, %esi\n"
	"	xor %edx, %edx\n"
	"	xor %ebx, %ebx\n"
	"1:	mov (%rsi,%rdx,8), %rax\n"
	"	add %rbx, %rax\n"
	"	xor %rdx, %rax\n"
	"	imul $31, %rax, %rax\n"
	"	mov %rax, (%rsi,%rdx,8)\n"
	"	inc %rdx\n"
	"	and $1023, %edx\n"
	"	test $1, %al\n"
	"	jz 2f\n"
	"	add $3, %rbx\n"
	"2:	test $3, %cl\n"
	"	jnz 3f\n"
	"	call 4f\n"
	"3:	dec %ecx\n"
	"	jnz 1b\n"
	"	cpuid\n"
	"4:	add %rax, %rbx\n"
	"	ret\n"
	"x86b_loop_end:\n"
	".popsection\n");

struct bench {
	unsigned char *ram;
	struct x86_cpu *cpu;
	struct x86_mem_ops mem;
	struct x86_exec_ctl ctl;
};

static unsigned char *
bench_map(void *arg, uint64_t gpa, int access)
{
	struct bench *b = arg;

	return gpa < RAM ? b->ram + (gpa & ~0xfffULL) : NULL;
}

static void
bench_put(struct bench *b, uint64_t gpa, uint64_t v)
{
	memcpy(b->ram + gpa, &v, 8);
}

static void
bench_setup(struct bench *b, int cpl)
{
	struct seg_desc cs = { 0, 0xffffffff, cpl ? 0xa0fb : 0xa09b };
	struct seg_desc ds = { 0, 0xffffffff, cpl ? 0xc0f3 : 0xc093 };
	uint64_t a;
	int i;

	memset(b->ram, 0, RAM);
	bench_put(b, PML4, (PML4 + 0x1000) | 7);
	bench_put(b, PML4 + 0x1000, (PML4 + 0x2000) | 7);
	bench_put(b, PML4 + 0x2000, (PML4 + 0x3000) | 7);
	bench_put(b, PML4 + 0x2008, (PML4 + 0x4000) | 7);
	for (a = 0; a < RAM; a += 4096)
		bench_put(b, PML4 + 0x3000 + (a >> 12) * 8, a | 7);
	memcpy(b->ram + CODE, x86b_loop, x86b_loop_end - x86b_loop);
	x86_cpu_reset(b->cpu);
	x86_set_reg(b->cpu, VM_REG_GUEST_CR0, 0x80010033);
	x86_set_reg(b->cpu, VM_REG_GUEST_CR3, PML4);
	x86_set_reg(b->cpu, VM_REG_GUEST_CR4, 0x6a0);
	x86_set_reg(b->cpu, VM_REG_GUEST_EFER, 0xd01);
	for (i = VM_REG_GUEST_ES; i <= VM_REG_GUEST_GS; i++)
		x86_set_desc(b->cpu, i, i == VM_REG_GUEST_CS ? &cs : &ds);
	x86_set_reg(b->cpu, VM_REG_GUEST_RIP, CODE);
	x86_set_reg(b->cpu, VM_REG_GUEST_RSP, STACK);
}

static double
bench_now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The loop to its CPUID; the instructions it took (0: it went wrong). */
static uint64_t
bench_loop(struct bench *b, int cpl, uint64_t iters)
{
	struct x86_stop_info si;
	uint64_t before;

	bench_setup(b, cpl);
	x86_set_reg(b->cpu, VM_REG_GUEST_RCX, iters);
	before = x86_icount(b->cpu);
	if (x86_run(b->cpu, &b->mem, &b->ctl, 0, &si) != 0 ||
	    si.reason != X86_STOP_CPUID) {
		fprintf(stderr, "x86core: ring %d stopped: %s\n", cpl,
		    x86_stop_name((int)si.reason));
		return 0;
	}
	return x86_icount(b->cpu) - before;
}

static int
bench_run(struct bench *b, int cpl, uint64_t iters, int jit)
{
	double w0, c0, w, c;
	uint64_t n;

	if (x86_set_jit(b->cpu, jit) != 0 && jit != X86_JIT_OFF)
		return 0;	/* no JIT on this host: nothing to show */
	w0 = bench_now(CLOCK_MONOTONIC);
	c0 = bench_now(CLOCK_PROCESS_CPUTIME_ID);
	if ((n = bench_loop(b, cpl, iters)) == 0)
		return -1;
	w = bench_now(CLOCK_MONOTONIC) - w0;
	c = bench_now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("x86core ring %d %-11s: %llu instructions in %.3f s (CPU "
	    "%.3f s): %.1f M instructions/s (by CPU time %.1f M)\n", cpl,
	    jit == X86_JIT_OFF ? "interpreter" : "JIT",
	    (unsigned long long)n, w, c, (double)n / w / 1e6,
	    (double)n / c / 1e6);
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b = { 0 };
	bool count = argc > 2 && strcmp(argv[1], "--count") == 0;
	uint64_t iters = argc > 1 ? strtoull(argv[argc - 1], NULL, 0) :
	    20000000;
	int rc = 0, cpl, jit;

	b.ram = aligned_alloc(4096, RAM);
	b.cpu = x86_cpu_create();
	if (!b.ram || !b.cpu) {
		fprintf(stderr, "x86core: out of memory\n");
		return 1;
	}
	b.mem = (struct x86_mem_ops){ .map = bench_map, .arg = &b };
	if (count) {
		uint64_t n = bench_loop(&b, 0, iters);
		printf("%llu\n", (unsigned long long)n);
		rc = n == 0;
	}
	for (cpl = 0; !count && cpl <= 3; cpl += 3)
		for (jit = X86_JIT_OFF; jit <= X86_JIT_ON; jit++)
			if (bench_run(&b, cpl, jit ? iters : iters / 8, jit))
				rc = 1;
	x86_cpu_destroy(b.cpu);
	free(b.ram);
	return rc;
}
