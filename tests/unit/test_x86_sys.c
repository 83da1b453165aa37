/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * System-level tests of the x86 core, checked against the SDM (no
 * oracle): a bootloader-like real -> protected -> long mode sequence,
 * page-fault error codes and CR2, NX/SMEP/SMAP/WP, IDT delivery with
 * privilege change and IST, double and triple faults, SYSCALL/SYSRET,
 * IRET to ring 3, the STI/MOV SS interrupt shadow, I/O permission checks,
 * event injection, stop reasons and MMIO completion, self-modifying code.
 */
#include <errno.h>

#include "test.h"
#include "x86/x86_cpu.h"

#define RAM_SIZE (4u << 20)
#define GDT 0x1000
#define IDT 0x2000
#define TSS 0x3000
#define PML4 0x10000
#define CODE 0x100000
#define UCODE 0x180000	/* user code page */
#define KSTACK 0x90000
#define USTACK 0x1a0000
#define IST1 0x98000
#define MMIO_BASE 0xfee00000ULL

struct env {
	uint8_t *ram;
	struct x86_cpu *cpu;
	struct x86_mem_ops mem;
	struct x86_exec_ctl ctl;
	struct x86_stop_info si;
};

static uint8_t *
env_map(void *arg, uint64_t gpa, int access)
{
	struct env *e = arg;

	if (gpa < RAM_SIZE)
		return e->ram + (gpa & ~0xfffULL);
	return NULL;
}

static void
env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->ram = aligned_alloc(4096, RAM_SIZE);
	memset(e->ram, 0, RAM_SIZE);
	e->cpu = x86_cpu_create();
	e->mem = (struct x86_mem_ops){ .map = env_map, .arg = e };
}

static void
env_fini(struct env *e)
{
	x86_cpu_destroy(e->cpu);
	free(e->ram);
}

static int
env_run(struct env *e)
{
	int r = x86_run(e->cpu, &e->mem, &e->ctl, 1000000, &e->si);

	return r ? -1 : (int)e->si.reason;
}

static uint64_t
reg(struct env *e, int r)
{
	uint64_t v = 0;

	x86_get_reg(e->cpu, r, &v);
	return v;
}

static void
put64(struct env *e, uint64_t gpa, uint64_t v)
{
	memcpy(e->ram + gpa, &v, 8);
}

static uint64_t
get64(struct env *e, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, e->ram + gpa, 8);
	return v;
}

static void
skip(struct env *e)
{
	x86_set_reg(e->cpu, VM_REG_GUEST_RIP,
	    reg(e, VM_REG_GUEST_RIP) + e->si.inst_len);
}

/* ---- code snippets (assembled here, copied into guest RAM) ---- */

#define SNIP(name) extern const uint8_t name[], name##_end[]
#define SNIP_LEN(name) ((size_t)(name##_end - name))
SNIP(boot16);
SNIP(pf_handler);
SNIP(int80_user);
SNIP(int80_handler);
SNIP(syscall_user);
SNIP(syscall_entry);
SNIP(sti_nop);
SNIP(smc);
SNIP(real_int);

__asm__(
	".pushsection .rodata\n"
	/* Bootloader: real mode at 0x8000 -> protected -> long mode. */
	".globl boot16, boot16_end\n"
	"boot16:\n"
	".code16\n"
	"	cli\n"
	"	xor %ax, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl (b_gdtr - boot16 + 0x8000)\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmpl $0x08, $(b_pm32 - boot16 + 0x8000)\n"
	".code32\n"
	"b_pm32:\n"
	"	mov $0x10, %ax\n"
	"	mov %ax, %ds\n mov %ax, %es\n mov %ax, %ss\n"
	"	mov $0x9000, %esp\n"
	"	push $0x1234\n"
	"	pop %ebx\n"
	"	mov %cr4, %eax\n or $0x20, %eax\n mov %eax, %cr4\n"
	"	mov $0x10000, %eax\n mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n rdmsr\n or $0x100, %eax\n wrmsr\n"
	"	mov %cr0, %eax\n or $0x80000000, %eax\n mov %eax, %cr0\n"
	"	ljmp $0x18, $(b_lm64 - boot16 + 0x8000)\n"
	".code64\n"
	"b_lm64:\n"
	"	movabs $0x1122334455667788, %rax\n"
	"	mov $0x3f8, %dx\n"
	"	out %al, %dx\n"
	"	hlt\n"
	"	.p2align 3\n"
	"b_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n"
	"	.quad 0x00cf92000000ffff\n"
	"	.quad 0x00af9a000000ffff\n"
	"b_gdtr:\n"
	"	.word b_gdtr - b_gdt - 1\n"
	"	.long b_gdt - boot16 + 0x8000\n"
	"boot16_end:\n"
	/* #PF handler: error code -> rbx, CR2 -> rcx, then OUT 0x10. */
	".globl pf_handler, pf_handler_end\n"
	"pf_handler:\n"
	"	pop %rbx\n"
	"	mov %cr2, %rcx\n"
	"	mov %rsp, %rsi\n"
	"	out %al, $0x10\n"
	"pf_handler_end:\n"
	/* Ring 3: int $0x80, then out to port 0x20 (after IRET). */
	".globl int80_user, int80_user_end\n"
	"int80_user:\n"
	"	mov $7, %eax\n"
	"	int $0x80\n"
	"	mov %cs, %rbx\n"
	"	pushf\n pop %rcx\n"
	"	hlt\n"
	"int80_user_end:\n"
	".globl int80_handler, int80_handler_end\n"
	"int80_handler:\n"
	"	mov %rsp, %rdi\n"
	"	mov 0x18(%rsp), %rsi\n"
	"	add $1, %eax\n"
	"	mov %cs, %r8\n"
	"	iretq\n"
	"int80_handler_end:\n"
	".globl syscall_user, syscall_user_end\n"
	"syscall_user:\n"
	"	mov $0x55, %eax\n"
	"	syscall\n"
	"	mov %cs, %rbx\n"
	"	hlt\n"
	"syscall_user_end:\n"
	".globl syscall_entry, syscall_entry_end\n"
	"syscall_entry:\n"
	"	mov %cs, %r8\n"
	"	mov %ss, %r9\n"
	"	add $1, %eax\n"
	"	sysretq\n"
	"syscall_entry_end:\n"
	".globl sti_nop, sti_nop_end\n"
	"sti_nop:\n"
	"	sti\n"
	"	nop\n"
	"	nop\n"
	"	mov %ax, %ss\n"
	"	nop\n"
	"	nop\n"
	"	hlt\n"
	"sti_nop_end:\n"
	/* Self-modifying: patch the immediate of the next mov, run it. */
	".globl smc, smc_end\n"
	"smc:\n"
	"	lea s_patch+1(%rip), %rbx\n"
	"	xor %ecx, %ecx\n"
	"s_loop:\n"
	"	movl %ecx, (%rbx)\n"
	"s_patch:\n"
	"	mov $0, %eax\n"
	"	add %eax, %edx\n"
	"	inc %ecx\n"
	"	cmp $5, %ecx\n"
	"	jne s_loop\n"
	"	hlt\n"
	"smc_end:\n"
	/* Real mode: INT 0x21 through the IVT, handler at 0:0x600. */
	".globl real_int, real_int_end\n"
	".code16\n"
	"real_int:\n"
	"	mov $0x7000, %sp\n"
	"	mov $5, %ax\n"
	"	int $0x21\n"
	"	hlt\n"
	"	.org real_int + 0x100\n"
	"	add $3, %ax\n"
	"	pushf\n"
	"	pop %bx\n"
	"	iret\n"
	"real_int_end:\n"
	".code64\n"
	".popsection\n");

static void
load(struct env *e, uint64_t gpa, const uint8_t *b, size_t n)
{
	memcpy(e->ram + gpa, b, n);
}

TEST(boot_real_to_long)
{
	struct env e;
	struct seg_desc cs;

	env_init(&e);
	load(&e, 0x8000, boot16, SNIP_LEN(boot16));
	/* Identity map of 4 MiB with 2 MiB pages. */
	put64(&e, PML4, (PML4 + 0x1000) | 3);
	put64(&e, PML4 + 0x1000, (PML4 + 0x2000) | 3);
	put64(&e, PML4 + 0x2000, 0x83);
	put64(&e, PML4 + 0x2008, 0x200083);
	x86_set_reg(e.cpu, VM_REG_GUEST_CS, 0);
	cs = (struct seg_desc){ 0, 0xffff, 0x9b };
	x86_set_desc(e.cpu, VM_REG_GUEST_CS, &cs);
	x86_set_reg(e.cpu, VM_REG_GUEST_RIP, 0x8000);
	CHECK_EQ(env_run(&e), X86_STOP_IO);
	CHECK_EQ(e.si.u.io.port, 0x3f8);
	CHECK_EQ(e.si.u.io.size, 1);
	CHECK(!e.si.u.io.in);
	CHECK_EQ(e.si.inst_len, 1);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RAX), 0x1122334455667788ULL);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RBX), 0x1234);
	CHECK_EQ(reg(&e, VM_REG_GUEST_EFER) & 0x500, 0x500);
	CHECK_EQ(reg(&e, VM_REG_GUEST_CS), 0x18);
	x86_get_desc(e.cpu, VM_REG_GUEST_CS, &cs);
	CHECK(cs.access & SEG_ACCESS_L);
	skip(&e);
	CHECK_EQ(env_run(&e), X86_STOP_HLT);
	CHECK_EQ(e.si.inst_len, 1);
	/* The GDT descriptors got their accessed bit set. */
	CHECK(e.ram[0x8000 + (size_t)(SNIP_LEN(boot16) - 6 - 32 + 16 + 5)] & 1);
	env_fini(&e);
}

/* ---- a long-mode environment built from C ---- */

static uint64_t
gdt_code(int dpl, bool l)
{
	return 0x00009a000000ffffULL | ((uint64_t)dpl << 45) |
	    (l ? (1ULL << 53) : (1ULL << 54)) | (0xfULL << 48) | (1ULL << 55);
}

static uint64_t
gdt_data(int dpl)
{
	return 0x00cf92000000ffffULL | ((uint64_t)dpl << 45);
}

static void
set_gate(struct env *e, int vec, uint64_t off, int dpl, int ist)
{
	uint64_t lo = (off & 0xffff) | (0x08ULL << 16) | ((uint64_t)ist << 32) |
	    (0x8eULL << 40) | ((uint64_t)dpl << 45) |
	    ((off >> 16) & 0xffff) << 48;

	put64(e, IDT + vec * 16, lo);
	put64(e, IDT + vec * 16 + 8, off >> 32);
}

/* 4 KiB pages for 0-4 MiB: PT at PML4+0x3000 (2 tables). */
static uint64_t
pte_addr(uint64_t va)
{
	return PML4 + 0x3000 + (va >> 12) * 8;
}

static void
long_env(struct env *e, int cpl)
{
	struct seg_desc cs = { 0, 0xffffffff, cpl ? 0xa0fb : 0xa09b };
	struct seg_desc ds = { 0, 0xffffffff, cpl ? 0xc0f3 : 0xc093 };
	struct seg_desc tr = { TSS, 0x67, 0x8b };
	struct seg_desc gdtr = { GDT, 0x3f, 0 }, idtr = { IDT, 0xfff, 0 };
	uint64_t a;
	int i;

	env_init(e);
	put64(e, GDT + 0x08, gdt_code(0, true));
	put64(e, GDT + 0x10, gdt_data(0));
	put64(e, GDT + 0x18, gdt_data(3));
	put64(e, GDT + 0x20, gdt_code(3, true));
	put64(e, GDT + 0x28, 0x0000890000000067ULL | ((uint64_t)TSS << 16));
	put64(e, TSS + 4, KSTACK);	/* RSP0 */
	put64(e, TSS + 0x24, IST1);	/* IST1 */
	put64(e, PML4, (PML4 + 0x1000) | 7);
	put64(e, PML4 + 0x1000, (PML4 + 0x2000) | 7);
	put64(e, PML4 + 0x2000, (PML4 + 0x3000) | 7);
	put64(e, PML4 + 0x2008, (PML4 + 0x4000) | 7);
	for (a = 0; a < RAM_SIZE; a += 4096)
		put64(e, pte_addr(a), a | 7);
	x86_set_reg(e->cpu, VM_REG_GUEST_CR0, 0x80010033);
	x86_set_reg(e->cpu, VM_REG_GUEST_CR3, PML4);
	x86_set_reg(e->cpu, VM_REG_GUEST_CR4, 0x6a0);
	x86_set_reg(e->cpu, VM_REG_GUEST_EFER, 0xd01);
	for (i = VM_REG_GUEST_ES; i <= VM_REG_GUEST_GS; i++) {
		x86_set_desc(e->cpu, i, i == VM_REG_GUEST_CS ? &cs : &ds);
		x86_set_reg(e->cpu, i, i == VM_REG_GUEST_CS ?
		    (cpl ? 0x23 : 0x08) : (cpl ? 0x1b : 0x10));
	}
	x86_set_desc(e->cpu, VM_REG_GUEST_TR, &tr);
	x86_set_reg(e->cpu, VM_REG_GUEST_TR, 0x28);
	x86_set_desc(e->cpu, VM_REG_GUEST_GDTR, &gdtr);
	x86_set_desc(e->cpu, VM_REG_GUEST_IDTR, &idtr);
	x86_set_reg(e->cpu, VM_REG_GUEST_RSP, cpl ? USTACK : KSTACK);
	x86_set_reg(e->cpu, VM_REG_GUEST_RIP, cpl ? UCODE : CODE);
	x86_set_reg(e->cpu, VM_REG_GUEST_RFLAGS, 0x2);
}

/* Run 'code' at CODE (or UCODE for cpl 3) until the first stop. */
static int
run_code(struct env *e, const uint8_t *code, size_t n, int cpl)
{
	load(e, cpl ? UCODE : CODE, code, n);
	return env_run(e);
}

struct pf_case {
	const char *name;
	uint8_t code[8];
	int len;
	int cpl;
	uint64_t pte_clear, pte_set;	/* on the page at 0x200000 */
	uint64_t cr0_clear, cr4_set, rflags;
	int fault;		/* 0: no fault, 1: fault with 'err' */
	uint32_t err;
};

static void
pf_one(const struct pf_case *c)
{
	struct env e;
	uint64_t pte;
	int r;

	long_env(&e, c->cpl);
	e.ctl.exception_bitmap = 1u << 14;
	pte = pte_addr(0x200000);
	put64(&e, pte, (get64(&e, pte) & ~c->pte_clear) | c->pte_set);
	if (c->cr0_clear)
		x86_set_reg(e.cpu, VM_REG_GUEST_CR0, 0x80010033 & ~c->cr0_clear);
	if (c->cr4_set)
		x86_set_reg(e.cpu, VM_REG_GUEST_CR4, 0x6a0 | c->cr4_set);
	if (c->cr4_set & (1 << 20))	/* SMEP: kernel code not user */
		put64(&e, pte_addr(CODE), CODE | 3);
	if (c->rflags)
		x86_set_reg(e.cpu, VM_REG_GUEST_RFLAGS, c->rflags);
	x86_set_reg(e.cpu, VM_REG_GUEST_RBX, 0x200010);
	r = run_code(&e, c->code, c->len, c->cpl);
	if (c->fault) {
		if (r != X86_STOP_EXCEPTION || e.si.u.exc.vector != 14 ||
		    e.si.u.exc.error != c->err)
			fprintf(stderr, "%s: stop %d vec %d err %#x\n", c->name,
			    r, e.si.u.exc.vector, e.si.u.exc.error);
		CHECK_EQ(r, X86_STOP_EXCEPTION);
		CHECK_EQ(e.si.u.exc.vector, 14);
		CHECK_EQ(e.si.u.exc.error, c->err);
		CHECK_EQ(e.si.u.exc.cr2, 0x200010);
		/* A fetch fault is at the jump's target. */
		CHECK_EQ(reg(&e, VM_REG_GUEST_RIP), c->code[0] == 0xff ?
		    0x200010 : c->cpl ? UCODE : CODE);
	} else {
		if (r == X86_STOP_EXCEPTION)
			fprintf(stderr, "%s: unexpected err %#x\n", c->name,
			    e.si.u.exc.error);
		CHECK(r != X86_STOP_EXCEPTION);
	}
	env_fini(&e);
}

TEST(page_fault_error_codes)
{
	/* mov (%rbx),%eax; mov %eax,(%rbx); jmp *%rbx; hlt after. */
#define RD { 0x8b, 0x03, 0x0f, 0xa2 }, 4
#define WR { 0x89, 0x03, 0x0f, 0xa2 }, 4
#define EX { 0xff, 0xe3 }, 2
	static const struct pf_case cases[] = {
		{ "np read cpl0", RD, 0, 1, 0, 0, 0, 0, 1, 0x0 },
		{ "np write cpl3", WR, 3, 1, 0, 0, 0, 0, 1, 0x6 },
		{ "ro write cpl3", WR, 3, 2, 0, 0, 0, 0, 1, 0x7 },
		{ "ro write cpl0 wp", WR, 0, 2, 0, 0, 0, 0, 1, 0x3 },
		{ "ro write cpl0 !wp", WR, 0, 2, 0, 0x10000, 0, 0, 0, 0 },
		{ "sup read cpl3", RD, 3, 4, 0, 0, 0, 0, 1, 0x5 },
		{ "nx fetch cpl0", EX, 0, 0, 1ULL << 63, 0, 0, 0, 1, 0x11 },
		{ "rsvd bit", RD, 0, 0, 1ULL << 50, 0, 0, 0, 1, 0x9 },
		{ "smep", EX, 0, 0, 0, 0, 1 << 20, 0, 1, 0x11 },
		{ "smap", RD, 0, 0, 0, 0, 1 << 21, 0x2, 1, 0x1 },
		{ "smap ac", RD, 0, 0, 0, 0, 1 << 21, 0x40002, 0, 0 },
		{ "user read ok", RD, 3, 0, 0, 0, 0, 0, 0, 0 },
	};
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		pf_one(&cases[i]);
}

/* #PF through the IDT: error code and CR2 seen by the handler, A/D bits. */
TEST(page_fault_delivery)
{
	struct env e;
	static const uint8_t code[] = { 0x48, 0xc7, 0x03, 0x05, 0, 0, 0 };

	long_env(&e, 0);
	load(&e, 0x120000, pf_handler, SNIP_LEN(pf_handler));
	set_gate(&e, 14, 0x120000, 0, 0);
	put64(&e, pte_addr(0x200000), 0x200000 | 5);	/* read-only */
	x86_set_reg(e.cpu, VM_REG_GUEST_RBX, 0x200ff8);
	CHECK_EQ(run_code(&e, code, sizeof(code), 0), X86_STOP_IO);
	CHECK_EQ(e.si.u.io.port, 0x10);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RBX), 3);	/* P | W */
	CHECK_EQ(reg(&e, VM_REG_GUEST_RCX), 0x200ff8);
	CHECK_EQ(reg(&e, VM_REG_GUEST_CR2), 0x200ff8);
	/* Frame: RIP, CS, RFLAGS, RSP, SS after the popped error code. */
	CHECK_EQ(get64(&e, KSTACK - 40), CODE);
	CHECK_EQ(get64(&e, KSTACK - 32), 0x08);
	CHECK_EQ(get64(&e, KSTACK - 16), KSTACK);
	/* Accessed bits were set on the walk. */
	CHECK(get64(&e, PML4) & 0x20);
	CHECK(get64(&e, pte_addr(CODE)) & 0x20);
	CHECK(!(get64(&e, pte_addr(CODE)) & 0x40));
	env_fini(&e);
}

TEST(ist_stack)
{
	struct env e;
	static const uint8_t code[] = { 0x8b, 0x03 };

	long_env(&e, 0);
	load(&e, 0x120000, pf_handler, SNIP_LEN(pf_handler));
	set_gate(&e, 14, 0x120000, 0, 1);
	put64(&e, pte_addr(0x200000), 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RBX, 0x200000);
	CHECK_EQ(run_code(&e, code, sizeof(code), 0), X86_STOP_IO);
	/* The handler's RSP after popping the error code: IST1 - 40. */
	CHECK_EQ(reg(&e, VM_REG_GUEST_RSI), IST1 - 40);
	CHECK_EQ(get64(&e, IST1 - 16), KSTACK);
	env_fini(&e);
}

TEST(double_and_triple_fault)
{
	struct env e;
	static const uint8_t code[] = { 0x8b, 0x03 };

	/* #PF gate not present -> #NP (contributory after #PF) -> #DF. */
	long_env(&e, 0);
	load(&e, 0x120000, pf_handler, SNIP_LEN(pf_handler));
	set_gate(&e, 8, 0x120000, 0, 0);
	put64(&e, pte_addr(0x200000), 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RBX, 0x200000);
	CHECK_EQ(run_code(&e, code, sizeof(code), 0), X86_STOP_IO);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RBX), 0);	/* #DF error code */
	env_fini(&e);

	/* No #DF handler either: triple fault. */
	long_env(&e, 0);
	put64(&e, pte_addr(0x200000), 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RBX, 0x200000);
	CHECK_EQ(run_code(&e, code, sizeof(code), 0), X86_STOP_TRIPLE_FAULT);
	env_fini(&e);

	/* #DF in the exception bitmap stops with the #DF. */
	long_env(&e, 0);
	e.ctl.exception_bitmap = 1u << 8;
	put64(&e, pte_addr(0x200000), 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RBX, 0x200000);
	CHECK_EQ(run_code(&e, code, sizeof(code), 0), X86_STOP_EXCEPTION);
	CHECK_EQ(e.si.u.exc.vector, 8);
	CHECK(e.si.idt_vec_valid);
	CHECK_EQ(e.si.idt_vec_vector, 14);
	env_fini(&e);
}

TEST(int80_ring3_and_iret)
{
	struct env e;

	/* HLT at CPL 3 is #GP: with no handler, a triple fault. */
	long_env(&e, 3);
	load(&e, 0x120000, int80_handler, SNIP_LEN(int80_handler));
	set_gate(&e, 0x80, 0x120000, 3, 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RFLAGS, 0x202);
	CHECK_EQ(run_code(&e, int80_user, SNIP_LEN(int80_user), 3),
	    X86_STOP_TRIPLE_FAULT);
	env_fini(&e);

	long_env(&e, 3);
	e.ctl.exception_bitmap = 1u << 13;
	load(&e, 0x120000, int80_handler, SNIP_LEN(int80_handler));
	set_gate(&e, 0x80, 0x120000, 3, 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RFLAGS, 0x202);
	CHECK_EQ(run_code(&e, int80_user, SNIP_LEN(int80_user), 3),
	    X86_STOP_EXCEPTION);
	CHECK_EQ(e.si.u.exc.vector, 13);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RAX), 8);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RDI), KSTACK - 40);	/* RSP0 */
	CHECK_EQ(reg(&e, VM_REG_GUEST_RSI), USTACK);	/* saved RSP */
	CHECK_EQ(reg(&e, VM_REG_GUEST_R8), 0x08);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RBX), 0x23);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RCX) & 0x200, 0x200);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RSP), USTACK);
	CHECK_EQ(reg(&e, VM_REG_GUEST_SS), 0x1b);
	env_fini(&e);

	/* A gate with DPL 0 is #GP(vector * 8 + 2) for INT n at CPL 3. */
	long_env(&e, 3);
	e.ctl.exception_bitmap = 1u << 13;
	set_gate(&e, 0x80, 0x120000, 0, 0);
	CHECK_EQ(run_code(&e, int80_user, SNIP_LEN(int80_user), 3),
	    X86_STOP_EXCEPTION);
	CHECK_EQ(e.si.u.exc.error, 0x80 * 8 + 2);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RIP), UCODE + 5);
	env_fini(&e);
}

TEST(syscall_sysret)
{
	struct env e;

	long_env(&e, 3);
	e.ctl.exception_bitmap = 1u << 13;
	load(&e, 0x120000, syscall_entry, SNIP_LEN(syscall_entry));
	x86_set_msr(e.cpu, 0xc0000081, (0x10ULL << 48) | (0x08ULL << 32));
	x86_set_msr(e.cpu, 0xc0000082, 0x120000);
	x86_set_msr(e.cpu, 0xc0000084, 0x200);
	x86_set_reg(e.cpu, VM_REG_GUEST_RFLAGS, 0x202);
	CHECK_EQ(run_code(&e, syscall_user, SNIP_LEN(syscall_user), 3),
	    X86_STOP_EXCEPTION);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RAX), 0x56);
	CHECK_EQ(reg(&e, VM_REG_GUEST_R8), 0x08);
	CHECK_EQ(reg(&e, VM_REG_GUEST_R9), 0x10);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RBX), 0x23);	/* STAR[63:48]+16|3 */
	CHECK_EQ(reg(&e, VM_REG_GUEST_SS), 0x1b);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RCX), UCODE + 7);
	CHECK_EQ(reg(&e, VM_REG_GUEST_R11) & 0x200, 0x200);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RFLAGS) & 0x200, 0x200);
	env_fini(&e);
}

TEST(interrupt_shadow)
{
	struct env e;

	long_env(&e, 0);
	e.ctl.intr_window_exit = true;
	CHECK_EQ(run_code(&e, sti_nop, SNIP_LEN(sti_nop), 0),
	    X86_STOP_INTR_WINDOW);
	/* STI; NOP: the window opens after the NOP, not after STI. */
	CHECK_EQ(reg(&e, VM_REG_GUEST_RIP), CODE + 2);
	CHECK(x86_interruptible(e.cpu));
	e.ctl.intr_window_exit = false;
	x86_set_reg(e.cpu, VM_REG_GUEST_RAX, 0x10);
	CHECK_EQ(x86_run(e.cpu, &e.mem, &e.ctl, 2, &e.si), 0);
	CHECK_EQ(e.si.reason, X86_STOP_BUDGET);
	/* After MOV SS the next instruction runs in the shadow. */
	CHECK_EQ(reg(&e, VM_REG_GUEST_RIP), CODE + 5);
	CHECK(!x86_interruptible(e.cpu));
	CHECK_EQ(reg(&e, VM_REG_GUEST_INTR_SHADOW), 1);
	e.ctl.intr_window_exit = true;
	CHECK_EQ(env_run(&e), X86_STOP_INTR_WINDOW);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RIP), CODE + 6);
	env_fini(&e);
}

TEST(injection)
{
	struct env e;
	static const uint8_t code[] = { 0x90, 0xf4 };

	long_env(&e, 0);
	load(&e, 0x120000, pf_handler, SNIP_LEN(pf_handler));
	set_gate(&e, 0x30, 0x120000 + 1, 0, 0);	/* skip the pop */
	x86_set_reg(e.cpu, VM_REG_GUEST_RFLAGS, 0x202);
	CHECK_EQ(x86_inject_event(e.cpu, 0, 0x30, false, 0, 0), 0);
	CHECK_EQ(x86_inject_event(e.cpu, 0, 0x31, false, 0, 0), -EBUSY);
	CHECK_EQ(run_code(&e, code, sizeof(code), 0), X86_STOP_IO);
	CHECK_EQ(get64(&e, KSTACK - 40), CODE);	/* return RIP */
	CHECK_EQ(get64(&e, KSTACK - 24) & 0x200, 0x200);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RFLAGS) & 0x200, 0);
	CHECK(!x86_event_pending(e.cpu));
	env_fini(&e);
}

static bool
io_exit_all(void *arg, uint16_t port)
{
	return true;
}

TEST(io_permission)
{
	struct env e;
	static const uint8_t in80[] = { 0xe4, 0x80 };
	static const uint8_t in81[] = { 0xe5, 0x81 };

	long_env(&e, 3);
	e.ctl.exception_bitmap = 1u << 13;
	e.ctl.io_exit = io_exit_all;
	put64(&e, GDT + 0x28, 0x0000890000000000ULL | ((uint64_t)TSS << 16) |
	    0x2067);
	{
		struct seg_desc tr = { TSS, 0x2067, 0x8b };
		x86_set_desc(e.cpu, VM_REG_GUEST_TR, &tr);
	}
	e.ram[TSS + 0x66] = 0x68;	/* bitmap at TSS + 0x68 */
	e.ram[TSS + 0x67] = 0;
	memset(e.ram + TSS + 0x68, 0xff, 0x2000);
	e.ram[TSS + 0x68 + 0x80 / 8] = 0xfe;	/* port 0x80 allowed */
	CHECK_EQ(run_code(&e, in80, sizeof(in80), 3), X86_STOP_IO);
	CHECK_EQ(e.si.u.io.port, 0x80);
	CHECK(e.si.u.io.in);
	x86_set_reg(e.cpu, VM_REG_GUEST_RIP, UCODE);
	CHECK_EQ(run_code(&e, in81, sizeof(in81), 3), X86_STOP_EXCEPTION);
	CHECK_EQ(e.si.u.exc.vector, 13);
	/* IOPL 3 skips the bitmap. */
	x86_set_reg(e.cpu, VM_REG_GUEST_RIP, UCODE);
	x86_set_reg(e.cpu, VM_REG_GUEST_RFLAGS, 0x3002);
	CHECK_EQ(run_code(&e, in81, sizeof(in81), 3), X86_STOP_IO);
	CHECK_EQ(e.si.u.io.size, 4);
	env_fini(&e);
}

TEST(stop_reasons)
{
	struct env e;
	static const uint8_t code[] = {
		0x0f, 0xa2,			/* cpuid */
		0xb9, 0x34, 0x12, 0, 0,		/* mov $0x1234, %ecx */
		0x0f, 0x32,			/* rdmsr */
		0x0f, 0x30,			/* wrmsr */
		0xf3, 0xaa,			/* rep stosb -> MMIO */
		0x8b, 0x06,			/* mov (%rsi), %eax: MMIO */
		0x01, 0x06,			/* add %eax, (%rsi): MMIO rmw */
		0x0f, 0x01, 0xc1,		/* vmcall */
		0xf4,				/* hlt */
	};

	long_env(&e, 0);
	/* MMIO at 0xfee00000 through a 2 MiB identity page. */
	put64(&e, PML4 + 0x1000 + 3 * 8, (PML4 + 0x5000) | 7);
	put64(&e, PML4 + 0x5000 + 0x1f7 * 8, 0xfee00083);
	CHECK_EQ(run_code(&e, code, sizeof(code), 0), X86_STOP_CPUID);
	CHECK_EQ(e.si.inst_len, 2);
	CHECK_EQ(e.si.inst[0], 0x0f);
	skip(&e);
	CHECK_EQ(env_run(&e), X86_STOP_RDMSR);
	CHECK_EQ(e.si.u.msr.index, 0x1234);
	skip(&e);
	x86_set_reg(e.cpu, VM_REG_GUEST_RAX, 0xaabbccdd);
	x86_set_reg(e.cpu, VM_REG_GUEST_RDX, 0x11);
	CHECK_EQ(env_run(&e), X86_STOP_WRMSR);
	CHECK_EQ(e.si.u.msr.value, 0x11aabbccddULL);
	skip(&e);
	x86_set_reg(e.cpu, VM_REG_GUEST_RDI, MMIO_BASE + 0x10);
	x86_set_reg(e.cpu, VM_REG_GUEST_RCX, 2);
	x86_set_reg(e.cpu, VM_REG_GUEST_RAX, 0x5a);
	CHECK_EQ(env_run(&e), X86_STOP_MEM);
	CHECK_EQ(e.si.u.mem.gpa, MMIO_BASE + 0x10);
	CHECK_EQ(e.si.u.mem.access, X86_ACC_W);
	CHECK_EQ(e.si.u.mem.data[0], 0x5a);
	CHECK_EQ(x86_mem_complete(e.cpu, NULL, 1), 0);
	CHECK_EQ(env_run(&e), X86_STOP_MEM);
	CHECK_EQ(e.si.u.mem.gpa, MMIO_BASE + 0x11);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RCX), 1);
	CHECK_EQ(x86_mem_complete(e.cpu, NULL, 1), 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RSI, MMIO_BASE + 0x20);
	CHECK_EQ(env_run(&e), X86_STOP_MEM);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RCX), 0);
	CHECK_EQ(e.si.u.mem.access, X86_ACC_R);
	CHECK_EQ(e.si.u.mem.size, 4);
	CHECK_EQ(e.si.u.mem.gla, MMIO_BASE + 0x20);
	{
		uint32_t v = 0x12345678;
		CHECK_EQ(x86_mem_complete(e.cpu, &v, 4), 0);
	}
	CHECK_EQ(env_run(&e), X86_STOP_MEM);	/* the RMW's read */
	CHECK_EQ(reg(&e, VM_REG_GUEST_RAX), 0x12345678);
	{
		uint32_t v = 1;
		CHECK_EQ(x86_mem_complete(e.cpu, &v, 4), 0);
	}
	CHECK_EQ(env_run(&e), X86_STOP_MEM);	/* its write */
	CHECK_EQ(e.si.u.mem.access, X86_ACC_W);
	CHECK_EQ(e.si.u.mem.data[0], 0x79);
	CHECK_EQ(x86_mem_complete(e.cpu, NULL, 4), 0);
	CHECK_EQ(env_run(&e), X86_STOP_VMCALL);
	skip(&e);
	CHECK_EQ(env_run(&e), X86_STOP_HLT);
	env_fini(&e);
}

TEST(self_modifying_code)
{
	struct env e;

	long_env(&e, 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RDX, 0);
	CHECK_EQ(run_code(&e, smc, SNIP_LEN(smc), 0), X86_STOP_HLT);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RDX), 0 + 1 + 2 + 3 + 4);
	/* The same code again after the harness rewrites it from outside. */
	x86_set_reg(e.cpu, VM_REG_GUEST_RIP, CODE);
	x86_set_reg(e.cpu, VM_REG_GUEST_RDX, 0);
	e.ram[CODE + SNIP_LEN(smc) - 1] = 0x0f;	/* hlt -> cpuid */
	e.ram[CODE + SNIP_LEN(smc)] = 0xa2;
	CHECK_EQ(env_run(&e), X86_STOP_CPUID);
	env_fini(&e);
}

TEST(real_mode_ivt)
{
	struct env e;
	struct seg_desc cs = { 0, 0xffff, 0x9b };

	env_init(&e);
	load(&e, 0x500, real_int, SNIP_LEN(real_int));
	e.ram[0x21 * 4] = 0x00;		/* IVT[0x21] = 0000:0600 */
	e.ram[0x21 * 4 + 1] = 0x06;
	x86_set_desc(e.cpu, VM_REG_GUEST_CS, &cs);
	x86_set_reg(e.cpu, VM_REG_GUEST_CS, 0);
	x86_set_reg(e.cpu, VM_REG_GUEST_RIP, 0x500);
	x86_set_reg(e.cpu, VM_REG_GUEST_RFLAGS, 0x202);
	CHECK_EQ(env_run(&e), X86_STOP_HLT);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RAX) & 0xffff, 8);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RBX) & 0x200, 0);	/* IF clear */
	CHECK_EQ(reg(&e, VM_REG_GUEST_RFLAGS) & 0x200, 0x200);
	CHECK_EQ(reg(&e, VM_REG_GUEST_RSP) & 0xffff, 0x7000);
	env_fini(&e);
}

TEST(budget_and_kick)
{
	struct env e;
	static const uint8_t loop[] = { 0xeb, 0xfe };

	long_env(&e, 0);
	load(&e, CODE, loop, sizeof(loop));
	CHECK_EQ(x86_run(e.cpu, &e.mem, &e.ctl, 1000, &e.si), 0);
	CHECK_EQ(e.si.reason, X86_STOP_BUDGET);
	CHECK_EQ(x86_icount(e.cpu), 1000);
	x86_kick(e.cpu);
	CHECK_EQ(env_run(&e), X86_STOP_KICK);
	env_fini(&e);
}

TEST(gla2gpa)
{
	struct env e;
	uint64_t gpa = 0;
	uint32_t err = 0;

	long_env(&e, 0);
	put64(&e, pte_addr(0x201000), 0x5000 | 5);	/* user, read-only */
	put64(&e, pte_addr(0x202000), 0);
	CHECK_EQ(x86_gla2gpa(e.cpu, &e.mem, 0x201abc, X86_ACC_R, true, &gpa,
	    &err), 0);
	CHECK_EQ(gpa, 0x5abc);
	CHECK(get64(&e, pte_addr(0x201000)) & 0x20);	/* accessed */
	CHECK_EQ(x86_gla2gpa(e.cpu, &e.mem, 0x201abc, X86_ACC_W, true, &gpa,
	    &err), 1);
	CHECK_EQ(err, 7);
	CHECK_EQ(x86_gla2gpa(e.cpu, &e.mem, 0x202000, X86_ACC_R, false,
	    &gpa, &err), 1);
	CHECK_EQ(err, 0);
	CHECK_EQ(x86_gla2gpa(e.cpu, &e.mem, 0x202000, 0, false, &gpa, &err),
	    -EINVAL);
	env_fini(&e);
}

TEST_MAIN(TEST_ENTRY(boot_real_to_long) TEST_ENTRY(gla2gpa) TEST_ENTRY(page_fault_error_codes)
    TEST_ENTRY(page_fault_delivery) TEST_ENTRY(ist_stack)
    TEST_ENTRY(double_and_triple_fault) TEST_ENTRY(int80_ring3_and_iret)
    TEST_ENTRY(syscall_sysret) TEST_ENTRY(interrupt_shadow)
    TEST_ENTRY(injection) TEST_ENTRY(io_permission)
    TEST_ENTRY(stop_reasons) TEST_ENTRY(self_modifying_code)
    TEST_ENTRY(real_mode_ivt) TEST_ENTRY(budget_and_kick))
