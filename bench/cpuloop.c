/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CPU benchmark guest: the integer, memory and branch heavy loop of
 * bench/x86core.c (the same instructions, the same data-dependent
 * branches) as a multiboot kernel, so that one binary is timed under
 * bhyve's vtx backend and under QEMU's TCG (bench/cpuloop-compare).
 *
 * Command line: iters=N (default 100000000), ring=0|3.  Ring 3 enters
 * user mode with IRETQ on a GDT of its own and comes back with SYSCALL;
 * the loop, its data and its stack live on pages of their own, never on
 * a page holding code.  The guest prints the loop's checksum and exits
 * through isa-debug-exit with 0 (bhyve status 1).
 */
#include "guest.h"

#define CPULOOP_STACK	16384
#define USER_DS		0x20
#define USER_CS		0x28
#define MSR_EFER	0xc0000080
#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_FMASK	0xc0000084
#define PTE_USER	0x4ULL

uint64_t cpuloop_ring0(uint64_t iters, uint64_t *data, void *stack_top);
uint64_t cpuloop_ring3(uint64_t iters, uint64_t *data, void *stack_top);
void cpuloop_sysentry(void);

static uint64_t cpuloop_data[1024] __attribute__((aligned(4096)));
static uint8_t cpuloop_stack[CPULOOP_STACK] __attribute__((aligned(4096)));
/* Kernel RSP while the loop runs in ring 3 (read by the SYSCALL entry). */
uint64_t cpuloop_ksp;

/* The kit's descriptors at the kit's selectors, then ring-3 data/code. */
static uint64_t cpuloop_gdt[6] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffULL,	/* 0x08 code64, DPL 0 */
	0x00cf92000000ffffULL,	/* 0x10 data, DPL 0 */
	0x00cf9a000000ffffULL,	/* 0x18 code32 (unused) */
	0x00cff2000000ffffULL,	/* 0x20 data, DPL 3 */
	0x00affa000000ffffULL,	/* 0x28 code64, DPL 3 */
};

/*
 * The loop (RCX iterations, RSI the 8 KiB array): load, add, xor,
 * multiply, store, a data-dependent branch, a call/ret every 4th
 * iteration.  Identical to bench/x86core.c's, so both count the same
 * instructions for the same N.
 */
#define CPULOOP_BODY(after)						\
	"	xor %edx, %edx\n"					\
	"	xor %ebx, %ebx\n"					\
	"1:	mov (%rsi,%rdx,8), %rax\n"				\
	"	add %rbx, %rax\n"					\
	"	xor %rdx, %rax\n"					\
	"	imul $31, %rax, %rax\n"					\
	"	mov %rax, (%rsi,%rdx,8)\n"				\
	"	inc %rdx\n"						\
	"	and $1023, %edx\n"					\
	"	test $1, %al\n"						\
	"	jz 2f\n"						\
	"	add $3, %rbx\n"						\
	"2:	test $3, %cl\n"						\
	"	jnz 3f\n"						\
	"	call 4f\n"						\
	"3:	dec %ecx\n"						\
	"	jnz 1b\n"						\
	after								\
	"4:	add %rax, %rbx\n"					\
	"	ret\n"

__asm__(
	".text\n"
	".globl cpuloop_ring0\n"
	"cpuloop_ring0:\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	mov %rdx, %rsp\n"
	"	mov %rdi, %rcx\n"
	CPULOOP_BODY("	jmp 5f\n")
	"5:	mov %rbx, %rax\n"
	"	mov %rbp, %rsp\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n"
	/* Into ring 3 with IRETQ (IF stays 0), back with SYSCALL. */
	".globl cpuloop_ring3\n"
	"cpuloop_ring3:\n"
	"	push %rbx\n push %rbp\n push %r12\n"
	"	push %r13\n push %r14\n push %r15\n"
	"	mov %rsp, cpuloop_ksp(%rip)\n"
	"	pushq $0x23\n"		/* SS: USER_DS | 3 */
	"	push %rdx\n"		/* RSP */
	"	pushq $0x2\n"		/* RFLAGS */
	"	pushq $0x2b\n"		/* CS: USER_CS | 3 */
	"	lea cpuloop_user(%rip), %rax\n"
	"	push %rax\n"
	"	mov %rdi, %rcx\n"
	"	iretq\n"
	"cpuloop_user:\n"
	CPULOOP_BODY("	syscall\n")
	".globl cpuloop_sysentry\n"
	"cpuloop_sysentry:\n"
	"	mov cpuloop_ksp(%rip), %rsp\n"
	"	mov $0x10, %eax\n"
	"	mov %eax, %ds\n mov %eax, %es\n"
	"	mov %rbx, %rax\n"
	"	pop %r15\n pop %r14\n pop %r13\n"
	"	pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n");

/* User access to the 2 MiB pages holding [0, end) and a fresh TLB. */
static void
cpuloop_user_pages(uint64_t end)
{
	uint64_t *pml4 = (uint64_t *)read_cr3();
	uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xfffULL);
	uint64_t *pd = (uint64_t *)(pdpt[0] & ~0xfffULL);
	uint64_t a;

	pml4[0] |= PTE_USER;
	pdpt[0] |= PTE_USER;
	for (a = 0; a < end; a += 1ULL << 21)
		pd[a >> 21] |= PTE_USER;
	__asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");
}

static void
cpuloop_user_setup(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = {
		.limit = sizeof(cpuloop_gdt) - 1,
		.base = (uint64_t)cpuloop_gdt,
	};
	extern const char _end[];

	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	wrmsr(MSR_STAR, (0x18ULL << 48) | (0x08ULL << 32));
	wrmsr(MSR_LSTAR, (uint64_t)cpuloop_sysentry);
	wrmsr(MSR_FMASK, 0);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);	/* SCE */
	cpuloop_user_pages((uint64_t)_end);
}

int
guest_main(struct boot_info *bi)
{
	uint64_t iters = 100000000, ring = 0, sum;
	void *top = cpuloop_stack + CPULOOP_STACK;

	cmdline_get_u64(bi->args, "iters", &iters);
	cmdline_get_u64(bi->args, "ring", &ring);
	CHECK(iters > 0 && iters <= 0xffffffffULL);
	CHECK(ring == 0 || ring == 3);
	if (check_failures())
		return guest_finish("cpuloop");
	if (ring == 3) {
		cpuloop_user_setup();
		sum = cpuloop_ring3(iters, cpuloop_data, top);
	} else {
		sum = cpuloop_ring0(iters, cpuloop_data, top);
	}
	printf("cpuloop: ring %lu iters %lu sum 0x%lx\n", ring, iters, sum);
	return guest_finish("cpuloop");
}
