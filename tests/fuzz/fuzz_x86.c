/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: random instruction bytes run by the x86 core.
 *
 * Input: byte 0 picks the mode (real, 16/32-bit protected, 64-bit ring 0,
 * 64-bit ring 3, compatibility mode) and a few execution controls; the
 * rest is copied into the code page and into a data page.  The guest has
 * 1 MiB of RAM with a GDT, an IDT whose gates all lead back into the code
 * page, a TSS and identity page tables; everything above is MMIO.  The
 * core runs with a small instruction budget; every stop is answered the
 * way a driver would (skip the instruction, complete MMIO with data from
 * the input, inject an interrupt now and then) for a bounded number of
 * rounds.  Inputs of odd length run with the JIT translating every block
 * at once (X86_JIT_EAGER), even ones interpreted: random bytes reach the
 * translator, and its code runs them.  The sanitizers prove that nothing outside guest RAM is
 * touched; the budget proves it cannot hang.  (Few rounds and a small
 * budget: instructions under the sanitizers and coverage cost a few
 * microseconds each, and make check runs 20000 inputs.)
 */
#include <stdlib.h>
#include <string.h>

#include "x86/x86_cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RAM (1u << 20)
#define FZ_GDT 0x1000
#define FZ_IDT 0x2000
#define FZ_TSS 0x3000
#define FZ_PML4 0x10000
#define FZ_CODE 0x20000
#define FZ_DATA 0x30000
#define FZ_STACK 0x48000

struct fz {
	uint8_t *ram;
	struct x86_cpu *cpu;
	struct x86_mem_ops mem;
	struct x86_exec_ctl ctl;
	const uint8_t *in;
	size_t n;
};

static uint8_t *
fz_map(void *arg, uint64_t gpa, int access)
{
	struct fz *f = arg;

	return gpa < FZ_RAM ? f->ram + (gpa & ~0xfffULL) : NULL;
}

static void
fz_put(struct fz *f, uint64_t gpa, uint64_t v)
{
	memcpy(f->ram + gpa, &v, 8);
}

/* GDT: 8 code64 r0, 0x10 data r0, 0x18 code32 r0, 0x20 code16 r0,
 * 0x2b data r3, 0x33 code64 r3, 0x38 TSS (16 bytes). */
static void
fz_tables(struct fz *f)
{
	uint64_t a;
	int v;

	fz_put(f, FZ_GDT + 0x08, 0x00af9b000000ffffULL);
	fz_put(f, FZ_GDT + 0x10, 0x00cf93000000ffffULL);
	fz_put(f, FZ_GDT + 0x18, 0x00cf9b000000ffffULL);
	fz_put(f, FZ_GDT + 0x20, 0x00009b000000ffffULL);
	fz_put(f, FZ_GDT + 0x28, 0x00cff3000000ffffULL);
	fz_put(f, FZ_GDT + 0x30, 0x00affb000000ffffULL);
	fz_put(f, FZ_GDT + 0x38, 0x0000890000000067ULL |
	    ((uint64_t)FZ_TSS << 16));
	fz_put(f, FZ_TSS + 4, FZ_STACK);
	for (v = 0; v < 256; v++) {
		uint64_t off = FZ_CODE + (uint64_t)(v & 15) * 16;
		/* 64-bit gates (16 bytes); legacy mode reads the low half. */
		fz_put(f, FZ_IDT + v * 16, (off & 0xffff) | (0x08ULL << 16) |
		    (0xeeULL << 40) | (((off >> 16) & 0xffff) << 48));
	}
	fz_put(f, FZ_PML4, (FZ_PML4 + 0x1000) | 7);
	fz_put(f, FZ_PML4 + 0x1000, (FZ_PML4 + 0x2000) | 7);
	fz_put(f, FZ_PML4 + 0x2000, (FZ_PML4 + 0x3000) | 7);
	for (a = 0; a < FZ_RAM; a += 4096)
		fz_put(f, FZ_PML4 + 0x3000 + (a >> 12) * 8, a | 7);
	/* Some MMIO above RAM, through a 2 MiB page. */
	fz_put(f, FZ_PML4 + 0x2008, 0x200083);
}

static void
fz_seg(struct fz *f, int reg, uint16_t sel, uint32_t access)
{
	struct seg_desc d = { 0, sel ? 0xffffffff : 0xffff, access };

	x86_set_desc(f->cpu, reg, &d);
	x86_set_reg(f->cpu, reg, sel);
}

static void
fz_mode(struct fz *f, int mode)
{
	struct seg_desc gdtr = { FZ_GDT, 0x47, 0 }, idtr = { FZ_IDT, 0xfff, 0 };
	struct seg_desc tr = { FZ_TSS, 0x67, 0x8b };
	static const uint16_t cs[] = { 0, 0x20, 0x18, 0x08, 0x33, 0x18 };
	static const uint32_t csa[] = { 0x9b, 0x9b, 0xc09b, 0xa09b, 0xa0fb,
		0xc09b };
	int i, ring3 = mode == 4;

	x86_cpu_reset(f->cpu);
	x86_set_desc(f->cpu, VM_REG_GUEST_GDTR, &gdtr);
	x86_set_desc(f->cpu, VM_REG_GUEST_IDTR, &idtr);
	x86_set_desc(f->cpu, VM_REG_GUEST_TR, &tr);
	x86_set_reg(f->cpu, VM_REG_GUEST_TR, 0x38);
	if (mode >= 1)
		x86_set_reg(f->cpu, VM_REG_GUEST_CR0, mode >= 3 || mode == 5 ?
		    0x80050033 : 0x50033);
	if (mode >= 3) {
		x86_set_reg(f->cpu, VM_REG_GUEST_CR3, FZ_PML4);
		x86_set_reg(f->cpu, VM_REG_GUEST_CR4, 0x6a0);
		x86_set_reg(f->cpu, VM_REG_GUEST_EFER, 0xd01);
	}
	for (i = VM_REG_GUEST_ES; i <= VM_REG_GUEST_GS; i++)
		fz_seg(f, i, mode == 0 ? 0 : ring3 ? 0x2b : 0x10, mode == 0 ?
		    0x93 : ring3 ? 0xc0f3 : 0xc093);
	if (mode == 5)
		x86_set_reg(f->cpu, VM_REG_GUEST_CR4, 0x6a0);
	fz_seg(f, VM_REG_GUEST_CS, cs[mode], csa[mode]);
	x86_set_reg(f->cpu, VM_REG_GUEST_RIP, mode == 0 ? FZ_CODE & 0xffff :
	    FZ_CODE);
	if (mode == 0)
		fz_seg(f, VM_REG_GUEST_CS, FZ_CODE >> 4, 0x9b);
	x86_set_reg(f->cpu, VM_REG_GUEST_RSP, mode == 0 ? 0x8000 : FZ_STACK);
	x86_set_reg(f->cpu, VM_REG_GUEST_RBX, FZ_DATA);
	x86_set_reg(f->cpu, VM_REG_GUEST_RSI, FZ_DATA + 0x100);
	x86_set_reg(f->cpu, VM_REG_GUEST_RDI, 0x200000);
	x86_set_reg(f->cpu, VM_REG_GUEST_RCX, 8);
}

/* Answer a stop as a driver would; false ends the run. */
static bool
fz_answer(struct fz *f, const struct x86_stop_info *si, int round)
{
	uint64_t rip;
	uint8_t data[16];

	switch (si->reason) {
	case X86_STOP_MEM:
		memset(data, f->n ? f->in[round % f->n] : 0, sizeof(data));
		return x86_mem_complete(f->cpu, data, si->u.mem.size) == 0;
	case X86_STOP_BUDGET:
	case X86_STOP_TRIPLE_FAULT:
	case X86_STOP_UNSUPPORTED:
		return false;
	case X86_STOP_INTR_WINDOW:
		f->ctl.intr_window_exit = false;
		return x86_inject_event(f->cpu, 0, 0x20 + round, false, 0,
		    0) == 0;
	case X86_STOP_NMI_WINDOW:
		f->ctl.nmi_window_exit = false;
		return true;
	case X86_STOP_EXCEPTION:
		return x86_inject_event(f->cpu, 3, si->u.exc.vector,
		    si->u.exc.has_error, si->u.exc.error, 0) == 0;
	default:
		if (si->inst_len == 0)
			return si->reason == X86_STOP_KICK;
		x86_get_reg(f->cpu, VM_REG_GUEST_RIP, &rip);
		x86_set_reg(f->cpu, VM_REG_GUEST_RIP, rip + si->inst_len);
		return true;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	struct x86_stop_info si;
	uint8_t ctl;
	int round, mode;

	if (size < 2)
		return 0;
	if (!f.ram) {
		f.ram = aligned_alloc(4096, FZ_RAM);
		f.cpu = x86_cpu_create();
		if (!f.ram || !f.cpu)
			abort();
		f.mem = (struct x86_mem_ops){ .map = fz_map, .arg = &f };
	}
	memset(f.ram, 0, FZ_RAM);
	fz_tables(&f);
	ctl = data[0];
	mode = (ctl & 7) % 6;
	/* The code, then HLTs: runs end soon instead of sliding on. */
	memset(f.ram + FZ_CODE, 0xf4, 4096);
	memcpy(f.ram + FZ_CODE, data + 1, size - 1 > 4096 ? 4096 : size - 1);
	memcpy(f.ram + FZ_DATA, data + 1, size - 1 > 4096 ? 4096 : size - 1);
	f.in = data + 1;
	f.n = size - 1;
	fz_mode(&f, mode);
	if (x86_set_jit(f.cpu, (size & 1) ? X86_JIT_EAGER : X86_JIT_OFF) != 0)
		abort();
	f.ctl = (struct x86_exec_ctl){
		.exception_bitmap = (ctl & 0x08) ? 0xffffffffu : 0,
		.intr_window_exit = (ctl & 0x10) != 0,
		.nmi_window_exit = (ctl & 0x20) != 0,
		.rdtsc_exit = (ctl & 0x40) != 0,
		.invlpg_exit = (ctl & 0x80) != 0,
		.cr3_load_exit = (ctl & 0x40) != 0,
		.mov_dr_exit = (ctl & 0x80) != 0,
	};
	if (ctl & 0x10)
		x86_set_reg(f.cpu, VM_REG_GUEST_RFLAGS, 0x202);
	for (round = 0; round < 8; round++) {
		if (x86_run(f.cpu, &f.mem, &f.ctl, 256, &si) != 0)
			abort();
		if (si.reason >= X86_STOP_MAX)
			abort();
		if (!fz_answer(&f, &si, round))
			break;
	}
	return 0;
}
