/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The x86 core's JIT against its interpreter: the same guest programs run
 * with X86_JIT_OFF and with translated code (X86_JIT_EAGER, X86_JIT_ON),
 * and every register, the flags, the instruction count, every stop and
 * all of guest RAM must agree.  The programs cover what the translator
 * handles natively and where it falls back: flags carried across block
 * edges, more guest registers than the host can cache, 8-bit forms,
 * indirect branches, self-modifying and cross-modified code, blocks and
 * accesses at page ends, MMIO operands, #PF/#GP/#DE inside translated
 * blocks, exact budgets, kicks during an endless translated loop, and
 * random instruction mixes.  (The instruction forms themselves are
 * checked against the host CPU by test_x86_diff, in both modes.)
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "test.h"
#include "x86/x86_cpu.h"

#define RAM (4u << 20)
#define PML4 0x10000
#define CODE 0x100000
#define DATA 0x200000
#define STACK 0x300000
/* Linear pages above RAM: MMIO, RAM (gpa RAM_ALIAS), not present. */
#define MMIO_LIN 0x400000
#define MMIO_GPA 0xf0000000ULL
#define ALIAS_LIN 0x401000
#define ALIAS_GPA 0x3fe000
#define HOLE_LIN 0x402000

/*
 * The programs, position independent, each ending in CPUID (a stop).
 * jt_mix: most natively translated forms, in a loop that touches 15
 * registers, memory at page-crossing offsets, and calls.
 */
extern const unsigned char jt_mix[], jt_mix_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_mix:\n"
	"	mov $0x200000, %esi\n"
	"	mov $700, %r15d\n"
	"	mov $0x0123456789abcdef, %rbx\n"
	"	xor %edi, %edi\n"
	"	mov $7, %ecx\n"
	"1:	mov %rdi, %rax\n"
	"	and $255, %eax\n"
	"	mov (%rsi,%rax,8), %rdx\n"
	"	add %rbx, %rdx\n"
	"	adc %rcx, %rdx\n"
	"	mov %rdx, (%rsi,%rax,8)\n"
	"	rol $13, %rbx\n"
	"	xor %rdx, %rbx\n"
	"	lea 0x11(%rbx,%rcx,4), %r8\n"
	"	imul $0x45d9f3b, %r8d, %r9d\n"
	"	movzbl %r9b, %r10d\n"
	"	movsbq %r9b, %r11\n"
	"	shr %cl, %r8\n"
	"	sar $3, %r11\n"
	"	sbb %r11, %r10\n"
	"	setc %r12b\n"
	"	setnz %r13b\n"
	"	movzwl 8(%rsi), %r14d\n"
	"	add %r14w, 16(%rsi)\n"
	"	mov 0xffc(%rsi), %r14\n"
	"	add %r14, 0x1ffa(%rsi)\n"
	"	inc %ecx\n"
	"	and $31, %ecx\n"
	"	bt $5, %rdx\n"
	"	cmovc %r9, %r10\n"
	"	bswap %r10d\n"
	"	not %r11\n"
	"	neg %r13\n"
	"	test $0x80, %dl\n"
	"	jz 2f\n"
	"	lock xadd %r10, 24(%rsi)\n"
	"	cmpxchg %r9, 32(%rsi)\n"
	"	xchg %r11, 40(%rsi)\n"
	"	push %r10\n"
	"	push $-5\n"
	"	pop %r12\n"
	"	pop %r13\n"
	"	call 5f\n"
	"2:	mov %ah, 48(%rsi)\n"
	"	add %dh, %al\n"
	"	cqto\n"
	"	cltq\n"
	"	mul %rbx\n"
	"	add %rax, 56(%rsi)\n"
	"	adc %rdx, 64(%rsi)\n"
	"	sub %r12d, %r13d\n"
	"	sbb $3, %r13w\n"
	"	rcl $1, %r12\n"
	"	movsxd %r13d, %r14\n"
	"	shld $7, %r14, %r12\n"
	"	shrd %cl, %r12, %r14\n"
	"	or %r14b, 72(%rsi)\n"
	"	inc %rdi\n"
	"	sub $1, %r15d\n"
	"	jnz 1b\n"
	"	cpuid\n"
	"5:	add %r13, %r12\n"
	"	rcr %cl, %r12\n"
	"	lea 8(%rsp), %r14\n"
	"	ret\n"
	"jt_mix_end:\n"
	".popsection\n");

/*
 * jt_flags: flags made in one block and used in the next; INC/DEC keep
 * CF across a block edge; the interpreter's PUSHF/LAHF/LOOP in between.
 */
extern const unsigned char jt_flags[], jt_flags_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_flags:\n"
	"	mov $900, %ecx\n"
	"	xor %eax, %eax\n"
	"	xor %edx, %edx\n"
	"	xor %esi, %esi\n"
	"1:	add $0x7ffffff3, %eax\n"
	"	jmp 2f\n"
	"2:	adc $0, %edx\n"
	"	jo 3f\n"
	"	inc %edx\n"
	"	jmp 4f\n"
	"3:	dec %edx\n"
	"4:	adc %eax, %edx\n"
	"	pushf\n"
	"	pop %rbx\n"
	"	add %rbx, %rsi\n"
	"	lahf\n"
	"	add %eax, %esi\n"
	"	cmp %edx, %esi\n"
	"	ja 5f\n"
	"	sbb %esi, %edx\n"
	"5:	loop 1b\n"
	"	cpuid\n"
	"jt_flags_end:\n"
	".popsection\n");

/* jt_smc: patches an immediate of its own loop at iteration 500. */
extern const unsigned char jt_smc[], jt_smc_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_smc:\n"
	"	xor %ebx, %ebx\n"
	"	mov $1000, %ecx\n"
	"1:	mov $1, %eax\n"
	"jt_smc_imm:\n"
	"	add %rax, %rbx\n"
	"	cmp $500, %ecx\n"
	"	jne 2f\n"
	"	movl $2, jt_smc_imm-4(%rip)\n"
	"2:	dec %ecx\n"
	"	jnz 1b\n"
	/* The store patches the very next instruction of its block. */
	"	movl $77, 3f+1(%rip)\n"
	"3:	mov $5, %edx\n"
	"	cpuid\n"
	"jt_smc_end:\n"
	".popsection\n");

/* jt_mmio: an MMIO read and write in every iteration. */
extern const unsigned char jt_mmio[], jt_mmio_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_mmio:\n"
	"	mov $0x400000, %esi\n"
	"	mov $40, %ecx\n"
	"	xor %ebx, %ebx\n"
	"1:	mov (%rsi), %eax\n"
	"	add %rax, %rbx\n"
	"	mov %ecx, 8(%rsi)\n"
	"	add %ecx, 0xff0(%rsi)\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"	cpuid\n"
	"jt_mmio_end:\n"
	".popsection\n");

/*
 * jt_pf: a walk through RAM into a page that is not present; the access
 * that faults starts in the last present page.
 */
extern const unsigned char jt_pf[], jt_pf_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_pf:\n"
	"	mov $0x401000, %esi\n"
	"	xor %ebx, %ebx\n"
	"	mov $1000, %ecx\n"
	"1:	add %rcx, %rbx\n"
	"	mov (%rsi), %rax\n"
	"	add %rax, %rbx\n"
	"	add $44, %rsi\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"	cpuid\n"
	"jt_pf_end:\n"
	".popsection\n");

/* jt_gp: a non-canonical address at iteration 50; jt_de: DIV by 0. */
extern const unsigned char jt_gp[], jt_gp_end[];
extern const unsigned char jt_de[], jt_de_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_gp:\n"
	"	mov $0x200000, %esi\n"
	"	mov $0x8000000000000000, %r9\n"
	"	mov $100, %ecx\n"
	"1:	xor %r8d, %r8d\n"
	"	cmp $50, %ecx\n"
	"	cmove %r9, %r8\n"
	"	add %rcx, %rbx\n"
	"	mov %rbx, (%rsi,%r8)\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"	cpuid\n"
	"jt_gp_end:\n"
	"jt_de:\n"
	"	mov $100, %ecx\n"
	"	mov $60, %r8d\n"
	"1:	mov %rcx, %rax\n"
	"	xor %edx, %edx\n"
	"	add %rax, %rbx\n"
	"	div %r8\n"
	"	add %rax, %rdi\n"
	"	dec %r8\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"	cpuid\n"
	"jt_de_end:\n"
	".popsection\n");

/* jt_ind: RET, JMP/CALL through registers and memory, a #GP target. */
extern const unsigned char jt_ind[], jt_ind_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_ind:\n"
	"	mov $0x200000, %esi\n"
	"	mov $300, %ecx\n"
	"	lea 7f(%rip), %rax\n"
	"	mov %rax, (%rsi)\n"
	"	lea 8f(%rip), %rdx\n"
	"1:	call *(%rsi)\n"
	"	call *%rdx\n"
	"	lea 2f(%rip), %rax\n"
	"	jmp *%rax\n"
	"2:	dec %ecx\n"
	"	jnz 1b\n"
	"	mov %rdi, 8(%rsi)\n"
	"	mov $0x8000000000001234, %rax\n"
	"	jmp *%rax\n"
	"7:	add $3, %rdi\n"
	"	ret\n"
	"8:	add %rcx, %rdi\n"
	"	ret $0\n"
	"jt_ind_end:\n"
	".popsection\n");

/* jt_spin: endless; only a kick or the budget stops it. */
extern const unsigned char jt_spin[], jt_spin_end[];
__asm__(
	".pushsection .rodata\n"
	"jt_spin:\n"
	"	xor %eax, %eax\n"
	"	xor %ebx, %ebx\n"
	"1:	inc %rax\n"
	"	add %rax, %rbx\n"
	"	jmp 1b\n"
	"jt_spin_end:\n"
	".popsection\n");

/* ---- the machine ---- */

struct jt {
	uint8_t *ram;
	struct x86_cpu *cpu;
	struct x86_mem_ops mem;
	struct x86_exec_ctl ctl;
	struct x86_stop_info si;
	uint64_t mmio_reads, mmio_writes, mmio_sum;
};

static uint8_t *
jt_map(void *arg, uint64_t gpa, int access)
{
	struct jt *t = arg;

	return gpa < RAM ? t->ram + (gpa & ~0xfffULL) : NULL;
}

static void
jt_put(struct jt *t, uint64_t gpa, uint64_t v)
{
	memcpy(t->ram + gpa, &v, 8);
}

/* 4-level paging: RAM identity mapped, then the three special pages. */
static void
jt_tables(struct jt *t)
{
	uint64_t a;

	jt_put(t, PML4, (PML4 + 0x1000) | 7);
	jt_put(t, PML4 + 0x1000, (PML4 + 0x2000) | 7);
	jt_put(t, PML4 + 0x2000, (PML4 + 0x3000) | 7);
	jt_put(t, PML4 + 0x2008, (PML4 + 0x4000) | 7);
	jt_put(t, PML4 + 0x2010, (PML4 + 0x5000) | 7);
	for (a = 0; a < RAM; a += 4096)
		jt_put(t, PML4 + 0x3000 + (a >> 12) * 8, a | 7);
	jt_put(t, PML4 + 0x5000, MMIO_GPA | 7);
	jt_put(t, PML4 + 0x5008, ALIAS_GPA | 7);
}

static void
jt_init(struct jt *t, int mode)
{
	memset(t, 0, sizeof(*t));
	t->ram = aligned_alloc(4096, RAM);
	t->cpu = x86_cpu_create();
	REQUIRE(t->ram && t->cpu);
	memset(t->ram, 0, RAM);
	t->mem = (struct x86_mem_ops){ .map = jt_map, .arg = t };
	t->ctl = (struct x86_exec_ctl){ .exception_bitmap = ~0u };
	CHECK(x86_set_jit(t->cpu, mode) == 0);
}

static void
jt_fini(struct jt *t)
{
	x86_cpu_destroy(t->cpu);
	free(t->ram);
}

/* Long mode at 'cpl', RIP at CODE + off, the data area patterned. */
static void
jt_boot(struct jt *t, int cpl, uint64_t off)
{
	struct seg_desc cs = { 0, 0xffffffff, cpl ? 0xa0fb : 0xa09b };
	struct seg_desc ds = { 0, 0xffffffff, cpl ? 0xc0f3 : 0xc093 };
	int i;

	jt_tables(t);
	for (i = 0; i < 0x4000; i++)
		t->ram[DATA + i] = (uint8_t)(i * 7 + (i >> 8));
	x86_cpu_reset(t->cpu);
	x86_set_reg(t->cpu, VM_REG_GUEST_CR0, 0x80010033);
	x86_set_reg(t->cpu, VM_REG_GUEST_CR3, PML4);
	x86_set_reg(t->cpu, VM_REG_GUEST_CR4, 0x6a0);
	x86_set_reg(t->cpu, VM_REG_GUEST_EFER, 0xd01);
	for (i = VM_REG_GUEST_ES; i <= VM_REG_GUEST_GS; i++)
		x86_set_desc(t->cpu, i, i == VM_REG_GUEST_CS ? &cs : &ds);
	x86_set_reg(t->cpu, VM_REG_GUEST_RIP, CODE + off);
	x86_set_reg(t->cpu, VM_REG_GUEST_RSP, STACK);
	x86_set_reg(t->cpu, VM_REG_GUEST_RFLAGS, 0x2);
}

static void
jt_load(struct jt *t, const unsigned char *p, const unsigned char *end,
    uint64_t off)
{
	memcpy(t->ram + CODE + off, p, (size_t)(end - p));
}

/* Everything a run leaves behind. */
struct snap {
	uint64_t r[16], rip, rflags, icount, memsum;
	uint32_t reason;
	int vector;
	uint32_t error;
	uint64_t cr2;
};

/* vmm.h register names in the x86 encoding order. */
static const int jt_gpr[16] = { VM_REG_GUEST_RAX, VM_REG_GUEST_RCX,
	VM_REG_GUEST_RDX, VM_REG_GUEST_RBX, VM_REG_GUEST_RSP,
	VM_REG_GUEST_RBP, VM_REG_GUEST_RSI, VM_REG_GUEST_RDI,
	VM_REG_GUEST_R8, VM_REG_GUEST_R9, VM_REG_GUEST_R10, VM_REG_GUEST_R11,
	VM_REG_GUEST_R12, VM_REG_GUEST_R13, VM_REG_GUEST_R14,
	VM_REG_GUEST_R15 };

static void
jt_snap(struct jt *t, struct snap *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 16; i++)
		x86_get_reg(t->cpu, jt_gpr[i], &s->r[i]);
	x86_get_reg(t->cpu, VM_REG_GUEST_RIP, &s->rip);
	x86_get_reg(t->cpu, VM_REG_GUEST_RFLAGS, &s->rflags);
	s->icount = x86_icount(t->cpu);
	/* What programs may touch: code, data, stack, the alias page. */
	for (i = 0; i < RAM; i += 8) {
		uint64_t v;
		if (!(i >= CODE && i < CODE + 0x2000) &&
		    !(i >= DATA && i < DATA + 0x4000) &&
		    !(i >= STACK - 0x1000 && i < STACK) &&
		    !(i >= ALIAS_GPA && i < ALIAS_GPA + 0x1000))
			continue;
		memcpy(&v, t->ram + i, 8);
		h = (h ^ v) * 0x100000001b3ULL;
	}
	s->memsum = h;
	s->reason = t->si.reason;
	s->vector = t->si.reason == X86_STOP_EXCEPTION ? t->si.u.exc.vector :
	    -1;
	s->error = t->si.u.exc.error;
	s->cr2 = t->si.u.exc.cr2;
}

static bool
jt_same(const struct snap *a, const struct snap *b, const char *what)
{
	if (memcmp(a, b, sizeof(*a)) == 0)
		return true;
	fprintf(stderr, "%s: interpreter and JIT differ: reason %u/%u "
	    "vector %d/%d rip %#llx/%#llx icount %llu/%llu flags %#llx/%#llx "
	    "mem %s\n", what, a->reason, b->reason, a->vector, b->vector,
	    (unsigned long long)a->rip, (unsigned long long)b->rip,
	    (unsigned long long)a->icount, (unsigned long long)b->icount,
	    (unsigned long long)a->rflags, (unsigned long long)b->rflags,
	    a->memsum == b->memsum ? "same" : "differs");
	for (int i = 0; i < 16; i++)
		if (a->r[i] != b->r[i])
			fprintf(stderr, "  r%d %#llx/%#llx\n", i,
			    (unsigned long long)a->r[i],
			    (unsigned long long)b->r[i]);
	return false;
}

/* A driver's answer to MMIO: reads see a counter, writes are summed. */
static bool
jt_answer(struct jt *t)
{
	uint64_t v = 0x1000 + t->mmio_reads;

	if (t->si.reason != X86_STOP_MEM)
		return false;
	if (t->si.u.mem.access & X86_ACC_W) {
		memcpy(&v, t->si.u.mem.data, 8);
		t->mmio_sum += v & (t->si.u.mem.size == 8 ? ~0ULL :
		    (1ULL << (8 * t->si.u.mem.size)) - 1);
		t->mmio_writes++;
	} else {
		t->mmio_reads++;
	}
	return x86_mem_complete(t->cpu, &v, t->si.u.mem.size) == 0;
}

/* Run to the first stop that is not MMIO (budget per x86_run call). */
static void
jt_go(struct jt *t, uint64_t budget)
{
	int rounds = 0;

	do {
		REQUIRE(x86_run(t->cpu, &t->mem, &t->ctl, budget, &t->si) == 0);
	} while (jt_answer(t) && ++rounds < 100000);
}

struct prog {
	const char *name;
	const unsigned char *p, *end;
};

/* The program under 'mode' from a fresh machine; its final snapshot. */
static void
jt_run_prog(const struct prog *p, int mode, int cpl, uint64_t off,
    uint64_t budget, struct snap *s)
{
	struct jt t;

	jt_init(&t, mode);
	jt_boot(&t, cpl, off);
	jt_load(&t, p->p, p->end, off);
	jt_go(&t, budget);
	jt_snap(&t, s);
	s->memsum ^= t.mmio_sum * 31 + t.mmio_reads * 7 + t.mmio_writes;
	jt_fini(&t);
}

/* Interpreter, eager JIT and hot-block JIT must leave the same state. */
static void
jt_compare(const struct prog *p, int cpl, uint64_t off, uint64_t budget,
    struct snap *out)
{
	struct snap a, b, c;

	jt_run_prog(p, X86_JIT_OFF, cpl, off, budget, &a);
	jt_run_prog(p, X86_JIT_EAGER, cpl, off, budget, &b);
	jt_run_prog(p, X86_JIT_ON, cpl, off, budget, &c);
	if (!jt_same(&a, &b, p->name) || !jt_same(&a, &c, p->name))
		test_failures++;
	if (out)
		*out = a;
}

#define PROG(n) { #n, n, n##_end }

/* ---- tests ---- */

TEST(host_has_jit)
{
	struct x86_cpu *cpu = x86_cpu_create();

	REQUIRE(cpu != NULL);
	/* The project's hosts are x86-64 with LAHF in 64-bit mode. */
	CHECK(x86_set_jit(cpu, X86_JIT_EAGER) == 0);
	CHECK(x86_get_jit(cpu) == X86_JIT_EAGER);
	CHECK(x86_set_jit(cpu, 7) == -EINVAL);
	CHECK(x86_set_jit(cpu, X86_JIT_OFF) == 0);
	CHECK(x86_get_jit(cpu) == X86_JIT_OFF);
	x86_cpu_destroy(cpu);
}

/* Translated code really runs, and agrees with the interpreter. */
TEST(mix_runs_translated)
{
	static const struct prog p = PROG(jt_mix);
	struct x86_jit_stats st;
	struct snap s;
	struct jt t;

	jt_compare(&p, 0, 0, 0, &s);
	CHECK_EQ(s.reason, X86_STOP_CPUID);
	CHECK(s.icount > 700 * 50);
	jt_init(&t, X86_JIT_ON);
	jt_boot(&t, 0, 0);
	jt_load(&t, p.p, p.end, 0);
	jt_go(&t, 0);
	x86_get_jit_stats(t.cpu, &st);
	CHECK(st.blocks >= 3);
	CHECK(st.insns * 10 > x86_icount(t.cpu) * 9);
	CHECK(st.runs * 20 < st.insns);	/* blocks are chained */
	jt_fini(&t);
	jt_compare(&p, 3, 0, 0, NULL);
}

TEST(flags_across_blocks)
{
	static const struct prog p = PROG(jt_flags);
	struct snap s;

	jt_compare(&p, 0, 0, 0, &s);
	CHECK_EQ(s.reason, X86_STOP_CPUID);
	jt_compare(&p, 3, 0, 0, NULL);
}

TEST(self_modifying_code)
{
	static const struct prog p = PROG(jt_smc);
	struct snap s;

	jt_compare(&p, 0, 0, 0, &s);
	CHECK_EQ(s.reason, X86_STOP_CPUID);
	/* 501 iterations added 1, then 499 added 2. */
	CHECK_EQ(s.r[3], 501 + 2 * 499);
	CHECK_EQ(s.r[2], 77);
	jt_compare(&p, 3, 0, 0, NULL);
}

/* Blocks that run into a page end, instructions and data across it. */
TEST(page_ends)
{
	static const struct prog p = PROG(jt_mix);
	uint64_t d;

	for (d = 1; d <= 48; d++)
		jt_compare(&p, 0, 0x1000 - d, 0, NULL);
	jt_compare(&p, 3, 0x1000 - 5, 0, NULL);
}

TEST(mmio_operands)
{
	static const struct prog p = PROG(jt_mmio);
	struct snap s;
	struct jt t;

	jt_compare(&p, 0, 0, 0, &s);
	CHECK_EQ(s.reason, X86_STOP_CPUID);
	jt_init(&t, X86_JIT_EAGER);
	jt_boot(&t, 0, 0);
	jt_load(&t, p.p, p.end, 0);
	jt_go(&t, 0);
	CHECK_EQ(t.mmio_reads, 80);	/* the read, the read of the add */
	CHECK_EQ(t.mmio_writes, 80);
	jt_fini(&t);
	jt_compare(&p, 3, 0, 0, NULL);
}

/* Each stop's RIP, registers and exception info, in both engines. */
TEST(exceptions_in_blocks)
{
	static const struct prog pf = PROG(jt_pf), gp = PROG(jt_gp);
	static const struct prog de = PROG(jt_de), ind = PROG(jt_ind);
	struct snap s;

	jt_compare(&pf, 0, 0, 0, &s);
	CHECK_EQ(s.vector, 14);
	CHECK_EQ(s.cr2, HOLE_LIN);
	CHECK_EQ(s.error, 0);
	jt_compare(&pf, 3, 0, 0, &s);
	CHECK_EQ(s.error, 4);
	jt_compare(&gp, 0, 0, 0, &s);
	CHECK_EQ(s.vector, 13);
	CHECK_EQ(s.r[1], 50);
	jt_compare(&de, 3, 0, 0, &s);
	CHECK_EQ(s.vector, 0);
	CHECK_EQ(s.r[1], 40);
	jt_compare(&ind, 0, 0, 0, &s);
	CHECK_EQ(s.vector, 13);
	CHECK_EQ(s.r[0], 0x8000000000001234ULL);
	jt_compare(&ind, 3, 0, 0, NULL);
}

/* Any budget stops at exactly that instruction. */
TEST(exact_budgets)
{
	static const struct prog mix = PROG(jt_mix), ind = PROG(jt_ind);
	static const struct prog mmio = PROG(jt_mmio);
	struct snap s;
	uint64_t n;

	for (n = 1; n <= 160; n++) {
		jt_compare(&mix, 0, 0, n, &s);
		CHECK_EQ(s.icount, n);
		CHECK_EQ(s.reason, X86_STOP_BUDGET);
	}
	for (n = 1000; n < 40000; n += 3331)
		jt_compare(&mix, 0, 0, n, NULL);
	for (n = 1; n <= 60; n++) {
		jt_compare(&ind, 3, 0, n, NULL);
		jt_compare(&mmio, 0, 0, n, NULL);
	}
}

/* Code rewritten by the "driver" (DMA, another vCPU) between runs. */
TEST(cross_modified_code)
{
	static const struct prog p = PROG(jt_spin);
	struct snap a, b;
	struct jt t[2];
	int m;

	for (m = 0; m < 2; m++) {
		jt_init(&t[m], m ? X86_JIT_EAGER : X86_JIT_OFF);
		jt_boot(&t[m], 0, 0);
		jt_load(&t[m], p.p, p.end, 0);
		jt_go(&t[m], 3002);
		/* inc %rax (48 ff c0) becomes dec %rax (48 ff c8). */
		REQUIRE(t[m].ram[CODE + 4] == 0x48 &&
		    t[m].ram[CODE + 6] == 0xc0);
		t[m].ram[CODE + 6] = 0xc8;
		jt_go(&t[m], 3000);
		jt_snap(&t[m], m ? &b : &a);
		jt_fini(&t[m]);
	}
	CHECK(jt_same(&a, &b, "cross-modified"));
	CHECK_EQ(a.r[0], 0);	/* 1000 increments, then 1000 decrements */
}

struct kicker {
	struct x86_cpu *cpu;
	volatile int done;
};

static void *
jt_kicker(void *arg)
{
	struct kicker *k = arg;

	/* Until the run has stopped: a lost kick would hang the test. */
	while (!k->done) {
		usleep(2000);
		x86_kick(k->cpu);
	}
	return NULL;
}

/* A kick ends an endless translated loop at a block boundary. */
TEST(kick_ends_translated_loop)
{
	static const struct prog p = PROG(jt_spin);
	struct kicker k = { 0 };
	struct x86_jit_stats st;
	pthread_t th;
	struct snap s;
	struct jt t;

	jt_init(&t, X86_JIT_ON);
	jt_boot(&t, 3, 0);
	jt_load(&t, p.p, p.end, 0);
	k.cpu = t.cpu;
	REQUIRE(pthread_create(&th, NULL, jt_kicker, &k) == 0);
	/* Kicks may come before the loop is hot: run on until it was. */
	do {
		REQUIRE(x86_run(t.cpu, &t.mem, &t.ctl, 0, &t.si) == 0);
	} while (t.si.reason == X86_STOP_KICK && x86_icount(t.cpu) < 300000);
	k.done = 1;
	pthread_join(th, NULL);
	jt_snap(&t, &s);
	x86_get_jit_stats(t.cpu, &st);
	CHECK_EQ(s.reason, X86_STOP_KICK);
	CHECK(st.insns > 0);
	/* Whole iterations: RBX is 1 + ... + RAX, two XORs before them. */
	CHECK_EQ(s.r[3], s.r[0] * (s.r[0] + 1) / 2);
	CHECK_EQ(s.icount, 2 + 3 * s.r[0]);
	CHECK_EQ(s.rip, CODE + 4);
	/* A kick before the run stops it before any instruction. */
	x86_kick(t.cpu);
	REQUIRE(x86_run(t.cpu, &t.mem, &t.ctl, 0, &t.si) == 0);
	CHECK_EQ(t.si.reason, X86_STOP_KICK);
	CHECK_EQ(x86_icount(t.cpu), s.icount);
	jt_fini(&t);
}

/*
 * Translations dropped and the JIT switched off and on in the middle of
 * a run change nothing the guest can see.
 */
TEST(flush_and_toggle)
{
	static const struct prog p = PROG(jt_mix);
	struct snap a, b;
	struct jt t;
	int i;

	jt_run_prog(&p, X86_JIT_OFF, 0, 0, 0, &a);
	jt_init(&t, X86_JIT_EAGER);
	jt_boot(&t, 0, 0);
	jt_load(&t, p.p, p.end, 0);
	for (i = 0; i < 100; i++) {
		REQUIRE(x86_run(t.cpu, &t.mem, &t.ctl, 997, &t.si) == 0);
		if (t.si.reason != X86_STOP_BUDGET)
			break;
		if (i % 3 == 0)
			x86_flush_code(t.cpu);
		if (i % 7 == 0)
			x86_flush_tlb(t.cpu);
		CHECK(x86_set_jit(t.cpu, i % 2 ? X86_JIT_OFF :
		    X86_JIT_EAGER) == 0);
	}
	jt_snap(&t, &b);
	jt_fini(&t);
	CHECK(jt_same(&a, &b, "flush/toggle"));
}

/* ---- random programs ---- */

struct gen {
	uint8_t b[4096];
	int n;
	uint64_t rng;
};

static uint64_t
gen_rnd(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

static unsigned
gen_pick(struct gen *g, unsigned n)
{
	return (unsigned)(gen_rnd(g) % n);
}

static void
gen_b(struct gen *g, int v)
{
	if (g->n < (int)sizeof(g->b))
		g->b[g->n++] = (uint8_t)v;
}

/*
 * A register the program may change: not RSP, not RBX (the data
 * pointer), not R15 (the loop count).
 */
static int
gen_reg(struct gen *g)
{
	static const uint8_t ok[] = { 0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13,
		14 };

	return ok[gen_pick(g, sizeof(ok))];
}

/* Prefixes for operand size 'sz' (1, 2, 4, 8) and registers reg, rm. */
static void
gen_pfx(struct gen *g, int sz, int reg, int rm, bool rex_byte)
{
	int rex = 0x40 | (sz == 8 ? 8 : 0) | ((reg & 8) ? 4 : 0) |
	    ((rm & 8) ? 1 : 0);

	if (sz == 2)
		gen_b(g, 0x66);
	if (rex != 0x40 || rex_byte)
		gen_b(g, rex);
}

/* An 8-bit register operand: AL..DH without REX, else SIL etc. */
static int
gen_reg8(struct gen *g, bool *rex)
{
	static const uint8_t high[] = { 4, 5, 6 };	/* AH CH DH */

	if (gen_pick(g, 3) == 0) {
		*rex = false;
		return high[gen_pick(g, 3)];
	}
	*rex = true;
	return gen_reg(g);
}

static void
gen_modrm_mem(struct gen *g, int reg)
{
	/* [rbx + disp8]: RBX sits 0x80 below a page end. */
	gen_b(g, 0x43 | ((reg & 7) << 3));
	gen_b(g, (int)(gen_rnd(g) & 0xff));
}

/*
 * After an instruction that leaves flags undefined (where the JIT gives
 * the host's values and the interpreter its own): ADC $0 keeps CF and
 * defines the rest; CMP defines all six.
 */
static void
gen_defined(struct gen *g, bool cf_too)
{
	int reg = gen_reg(g), rm = gen_reg(g);

	gen_pfx(g, 8, reg, rm, false);
	if (cf_too) {
		gen_b(g, 0x39);
		gen_b(g, 0xc0 | ((reg & 7) << 3) | (rm & 7));
	} else {
		gen_b(g, 0x83);
		gen_b(g, 0xd0 | (rm & 7));
		gen_b(g, 0);
	}
}

/* An ALU, MOV, TEST or XCHG with register or memory operands. */
static void
gen_alu(struct gen *g)
{
	static const uint8_t ops[] = { 0x01, 0x09, 0x11, 0x19, 0x21, 0x29,
		0x31, 0x39, 0x03, 0x0b, 0x13, 0x1b, 0x23, 0x2b, 0x33, 0x3b,
		0x85, 0x87, 0x89, 0x8b };
	int op = ops[gen_pick(g, sizeof(ops))], sz = 1 << gen_pick(g, 4);
	int reg = gen_reg(g), rm = gen_reg(g);
	bool mem = gen_pick(g, 3) == 0, rex = true;

	if (sz == 1) {
		op &= ~1;
		reg = gen_reg8(g, &rex);
		rm = rex ? gen_reg(g) : gen_reg8(g, &rex);
		if (!rex && (reg >= 8 || rm >= 8))
			rex = true;
	}
	gen_pfx(g, sz, reg, mem ? 0 : rm, sz == 1 && rex);
	gen_b(g, op);
	if (mem)
		gen_modrm_mem(g, reg);
	else
		gen_b(g, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

/* Group 1 immediates, shifts, unary, INC/DEC on a register or memory. */
static void
gen_group(struct gen *g)
{
	static const uint8_t ops[] = { 0x83, 0x81, 0xc1, 0xd1, 0xd3, 0xf7,
		0xff, 0xc7 };
	int op = ops[gen_pick(g, sizeof(ops))], sz = 2 << gen_pick(g, 3);
	int ext = (int)gen_pick(g, 8), rm = gen_reg(g);
	bool mem = gen_pick(g, 4) == 0;

	if (op == 0xf7)
		ext = 2 + (int)gen_pick(g, 4);	/* NOT NEG MUL IMUL */
	else if (op == 0xff)
		ext = (int)gen_pick(g, 2);	/* INC DEC */
	else if (op == 0xc7)
		ext = 0;
	gen_pfx(g, sz, 0, mem ? 0 : rm, false);
	gen_b(g, op);
	if (mem)
		gen_modrm_mem(g, ext);
	else
		gen_b(g, 0xc0 | (ext << 3) | (rm & 7));
	if (op == 0x83 || op == 0xc1)
		gen_b(g, (int)(gen_rnd(g) & 0xff));
	else if (op == 0x81 || op == 0xc7)
		for (int i = 0; i < (sz == 2 ? 2 : 4); i++)
			gen_b(g, (int)(gen_rnd(g) & 0xff));
	/* Shifts: AF and OF; MUL/IMUL: SF ZF AF PF. */
	if (op == 0xc1 || op == 0xd1 || op == 0xd3 || (op == 0xf7 && ext >= 4))
		gen_defined(g, false);
}

static void gen_0f_one(struct gen *g, int op, int sz);

/* Two-byte forms: IMUL, MOVZX/SX, CMOVcc, SETcc, BT*, BSWAP, XADD. */
static void
gen_0f(struct gen *g)
{
	static const uint8_t ops[] = { 0xaf, 0xb6, 0xb7, 0xbe, 0xbf, 0x40,
		0x90, 0xa3, 0xab, 0xba, 0xc8, 0xc1, 0xb1, 0xa4, 0xbc };
	int op = ops[gen_pick(g, sizeof(ops))], sz = 2 << gen_pick(g, 3);

	if (op == 0xa4 && sz == 2)
		sz = 4;		/* a 16-bit SHLD count above 16 is undefined */
	gen_0f_one(g, op, sz);
	if (op == 0xaf || op == 0xa3 || op == 0xab || op == 0xba ||
	    op == 0xa4)
		gen_defined(g, false);
	else if (op == 0xbc)
		gen_defined(g, true);
}

static void
gen_0f_one(struct gen *g, int op, int sz)
{
	int reg = gen_reg(g), rm = gen_reg(g);
	bool mem = gen_pick(g, 4) == 0 && op != 0xa3 && op != 0xab &&
	    op != 0xc8;

	if (op == 0x40 || op == 0x90)
		op |= (int)gen_pick(g, 16);
	if (op == 0xc8) {
		gen_pfx(g, sz == 2 ? 4 : sz, 0, rm, false);
		gen_b(g, 0x0f);
		gen_b(g, 0xc8 | (rm & 7));
		return;
	}
	gen_pfx(g, op >= 0x90 && op <= 0x9f ? 4 : sz, reg, mem ? 0 : rm,
	    op >= 0x90 && op <= 0x9f);
	gen_b(g, 0x0f);
	gen_b(g, op);
	if (op == 0xba)
		reg = 4 + (int)gen_pick(g, 4);
	if (mem)
		gen_modrm_mem(g, reg);
	else
		gen_b(g, 0xc0 | ((reg & 7) << 3) | (rm & 7));
	if (op == 0xba || op == 0xa4)
		gen_b(g, (int)(gen_rnd(g) & 0x3f));
}

/* LEA, PUSH/POP pairs, CBW/CWD, LAHF/SAHF, and short forward Jcc. */
static void
gen_misc(struct gen *g)
{
	int reg = gen_reg(g), idx = gen_reg(g), k = (int)gen_pick(g, 5);

	if (k == 0) {
		gen_pfx(g, 8, reg, idx, false);
		gen_b(g, 0x8d);
		gen_b(g, 0x44 | ((reg & 7) << 3));
		gen_b(g, (int)((gen_pick(g, 4) << 6) | ((idx & 7) << 3) |
		    (idx & 8 ? 0 : 0) | 3));
		gen_b(g, (int)(gen_rnd(g) & 0xff));
	} else if (k == 1) {
		gen_pfx(g, 4, 0, idx, false);
		gen_b(g, 0x50 | (idx & 7));
		gen_pfx(g, 4, 0, reg, false);
		gen_b(g, 0x58 | (reg & 7));
	} else if (k == 2) {
		gen_pfx(g, 2 << gen_pick(g, 3), 0, 0, false);
		gen_b(g, 0x98 + (int)gen_pick(g, 2));
	} else if (k == 3) {
		gen_b(g, 0x9e + (int)gen_pick(g, 2));
	} else {
		gen_b(g, 0x70 | (int)gen_pick(g, 16));
		gen_b(g, 3);
		gen_pfx(g, 8, 0, reg, false);
		gen_b(g, 0xff);
		gen_b(g, 0xc0 | (reg & 7));	/* INC reg, 3 bytes */
	}
}

/* A loop of 'len' random instructions run 'iters' times; then CPUID. */
static void
gen_program(struct gen *g, int len, int iters)
{
	static const uint8_t head[] = { 0xbb, 0x80, 0x0f, 0x20, 0x00,
		0x41, 0xbf };
	int i, top;

	g->n = 0;
	for (i = 0; i < (int)sizeof(head); i++)
		gen_b(g, head[i]);
	for (i = 0; i < 4; i++)
		gen_b(g, (iters >> (8 * i)) & 0xff);
	top = g->n;
	for (i = 0; i < len; i++) {
		switch (gen_pick(g, 4)) {
		case 0: gen_alu(g); break;
		case 1: gen_group(g); break;
		case 2: gen_0f(g); break;
		default: gen_misc(g); break;
		}
	}
	gen_b(g, 0x41);		/* dec %r15d */
	gen_b(g, 0xff);
	gen_b(g, 0xcf);
	gen_b(g, 0x0f);		/* jnz top */
	gen_b(g, 0x85);
	i = top - (g->n + 4);
	gen_b(g, i & 0xff);
	gen_b(g, (i >> 8) & 0xff);
	gen_b(g, (i >> 16) & 0xff);
	gen_b(g, (i >> 24) & 0xff);
	gen_b(g, 0x0f);		/* cpuid */
	gen_b(g, 0xa2);
}

TEST(random_programs)
{
	struct gen g = { .rng = 0x2545f4914f6cdd1dULL };
	struct prog p = { .name = "random" };
	int k, bad = test_failures;

	for (k = 0; k < 300; k++) {
		gen_program(&g, 8 + (int)gen_pick(&g, 40), 25);
		p.p = g.b;
		p.end = g.b + g.n;
		jt_compare(&p, (int)gen_pick(&g, 2) * 3, 0, 0, NULL);
		if (test_failures != bad) {
			fprintf(stderr, "random program %d:", k);
			for (int i = 0; i < g.n; i++)
				fprintf(stderr, " %02x", g.b[i]);
			fprintf(stderr, "\n");
			break;
		}
	}
}

TEST_MAIN(TEST_ENTRY(host_has_jit) TEST_ENTRY(mix_runs_translated)
    TEST_ENTRY(flags_across_blocks) TEST_ENTRY(self_modifying_code)
    TEST_ENTRY(page_ends) TEST_ENTRY(mmio_operands)
    TEST_ENTRY(exceptions_in_blocks) TEST_ENTRY(exact_budgets)
    TEST_ENTRY(cross_modified_code) TEST_ENTRY(kick_ends_translated_loop)
    TEST_ENTRY(flush_and_toggle) TEST_ENTRY(random_programs))
