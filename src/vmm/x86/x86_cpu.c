/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's entry points: creation and reset, register access by vmm.h
 * name, event injection, and x86_run(): the block cache and the dispatch
 * loop.  Blocks are looked up by guest-physical address and checked
 * against guest memory with one memcmp on entry (see x86_cpu.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "x86_jit.h"

#define X86_NBLOCKS (1 << X86_BLK_BITS)

/*
 * The JIT's mode from the environment: X86_JIT=0 (or "off") is the kill
 * switch, X86_JIT=eager translates every block at once.
 */
static void
x86_cpu_jit_init(struct x86_cpu *cpu)
{
	const char *e = getenv("X86_JIT");

	cpu->jc = cpu->jit->jc;
	if (e && (!strcmp(e, "0") || !strcmp(e, "off")))
		cpu->jit->mode = X86_JIT_OFF;
	else if (e && !strcmp(e, "eager"))
		cpu->jit->mode = X86_JIT_EAGER;
}

struct x86_cpu *
x86_cpu_create(void)
{
	struct x86_cpu *cpu;
	void *p;

	if (posix_memalign(&p, 64, sizeof(*cpu)) != 0)
		return NULL;
	cpu = p;
	memset(cpu, 0, sizeof(*cpu));
	cpu->blocks = calloc(X86_NBLOCKS, sizeof(*cpu->blocks));
	cpu->code_set = calloc(1u << X86_CODE_SET_BITS, sizeof(uint64_t));
	cpu->jit = x86_jit_create();
	if (!cpu->blocks || !cpu->code_set || !cpu->jit) {
		free(cpu->blocks);
		free(cpu->code_set);
		x86_jit_destroy(cpu->jit);
		free(cpu);
		return NULL;
	}
	/* Zeroed blocks are empty (key 0) and stay untouched until used. */
	cpu->maxphyaddr = 46;
	cpu->jgen = 1;
	x86_cpu_jit_init(cpu);
	x86_cpu_reset(cpu);
	return cpu;
}

void
x86_cpu_destroy(struct x86_cpu *cpu)
{
	if (!cpu)
		return;
	free(cpu->blocks);
	free(cpu->code_set);
	x86_jit_destroy(cpu->jit);
	free(cpu);
}

static void
x86_reset_seg(struct x86_cpu *cpu, int seg, uint16_t sel, uint64_t base,
    uint32_t access)
{
	cpu->seg[seg].sel = sel;
	cpu->seg[seg].base = base;
	cpu->seg[seg].limit = 0xffff;
	cpu->seg[seg].access = access;
}

/* SDM vol. 3, 9.1.1, table 9-1. */
void
x86_cpu_reset(struct x86_cpu *cpu)
{
	int i;

	memset(cpu->r, 0, sizeof(cpu->r));
	cpu->r[X86_RDX] = 0x600;
	cpu->rip = 0xfff0;
	cpu->rflags = 2;
	cpu->lf_op = LF_NONE;
	cpu->cr0 = 0x60000010;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = cpu->efer = 0;
	cpu->xcr0 = 1;
	for (i = X86_ES; i <= X86_GS; i++)
		x86_reset_seg(cpu, i, 0, 0, 0x93);
	x86_reset_seg(cpu, X86_CS, 0xf000, 0xffff0000ULL, 0x9b);
	x86_reset_seg(cpu, X86_LDTR, 0, 0, 0x82);
	x86_reset_seg(cpu, X86_TR, 0, 0, 0x8b);
	cpu->gdtr.base = cpu->idtr.base = 0;
	cpu->gdtr.limit = cpu->idtr.limit = 0xffff;
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr[6] = 0xffff0ff0;
	cpu->dr[7] = 0x400;
	cpu->star = cpu->lstar = cpu->cstar = cpu->fmask = 0;
	cpu->kernel_gs_base = cpu->tsc_aux = 0;
	cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
	cpu->pat = 0x0007040600070406ULL;
	x86_fpu_reset(cpu);
	cpu->shadow = 0;
	cpu->nmi_blocked = false;
	cpu->pending.valid = false;
	cpu->replay.n = cpu->replay.next = 0;
	cpu->cpl = 0;
	x86_tlb_flush(cpu, true);
	x86_update_mode(cpu);
}

/* ---- registers ---- */

static const int8_t x86_gpr_of[VM_REG_GUEST_R15 + 1] = {
	[VM_REG_GUEST_RAX] = 0, [VM_REG_GUEST_RBX] = 3,
	[VM_REG_GUEST_RCX] = 1, [VM_REG_GUEST_RDX] = 2,
	[VM_REG_GUEST_RSI] = 6, [VM_REG_GUEST_RDI] = 7,
	[VM_REG_GUEST_RBP] = 5, [VM_REG_GUEST_RSP] = 4,
	[VM_REG_GUEST_R8] = 8, [VM_REG_GUEST_R9] = 9,
	[VM_REG_GUEST_R10] = 10, [VM_REG_GUEST_R11] = 11,
	[VM_REG_GUEST_R12] = 12, [VM_REG_GUEST_R13] = 13,
	[VM_REG_GUEST_R14] = 14, [VM_REG_GUEST_R15] = 15,
};

static int
x86_seg_of(int reg)
{
	return reg - VM_REG_GUEST_ES;	/* ES CS SS DS FS GS LDTR TR */
}

int
x86_get_reg(struct x86_cpu *cpu, int reg, uint64_t *val)
{
	if (reg >= 0 && reg <= VM_REG_GUEST_R15) {
		*val = cpu->r[x86_gpr_of[reg]];
		return 0;
	}
	if (VM_REG_IS_SEGMENT(reg)) {
		*val = cpu->seg[x86_seg_of(reg)].sel;
		return 0;
	}
	switch (reg) {
	case VM_REG_GUEST_RIP: *val = cpu->rip; break;
	case VM_REG_GUEST_RFLAGS: *val = x86_get_flags(cpu); break;
	case VM_REG_GUEST_CR0: *val = cpu->cr0; break;
	case VM_REG_GUEST_CR2: *val = cpu->cr2; break;
	case VM_REG_GUEST_CR3: *val = cpu->cr3; break;
	case VM_REG_GUEST_CR4: *val = cpu->cr4; break;
	case VM_REG_GUEST_CR8: *val = cpu->cr8; break;
	case VM_REG_GUEST_EFER: *val = cpu->efer; break;
	case VM_REG_GUEST_DR0: case VM_REG_GUEST_DR1:
	case VM_REG_GUEST_DR2: case VM_REG_GUEST_DR3:
		*val = cpu->dr[reg - VM_REG_GUEST_DR0];
		break;
	case VM_REG_GUEST_DR6: *val = cpu->dr[6]; break;
	case VM_REG_GUEST_DR7: *val = cpu->dr[7]; break;
	case VM_REG_GUEST_INTR_SHADOW: *val = cpu->shadow != 0; break;
	default: return -EINVAL;
	}
	return 0;
}

/* Control registers are loaded as VM entry would: no checks, flushes. */
static int
x86_set_ctl_reg(struct x86_cpu *cpu, int reg, uint64_t val)
{
	switch (reg) {
	case VM_REG_GUEST_CR0: cpu->cr0 = val; break;
	case VM_REG_GUEST_CR3: cpu->cr3 = val; break;
	case VM_REG_GUEST_CR4: cpu->cr4 = val; break;
	case VM_REG_GUEST_EFER: cpu->efer = val; break;
	default: return -EINVAL;
	}
	x86_tlb_flush(cpu, true);
	x86_update_mode(cpu);
	return 0;
}

int
x86_set_reg(struct x86_cpu *cpu, int reg, uint64_t val)
{
	if (reg >= 0 && reg <= VM_REG_GUEST_R15) {
		cpu->r[x86_gpr_of[reg]] = val;
		return 0;
	}
	if (VM_REG_IS_SEGMENT(reg)) {
		cpu->seg[x86_seg_of(reg)].sel = (uint16_t)val;
		return 0;
	}
	switch (reg) {
	case VM_REG_GUEST_RIP: cpu->rip = val; break;
	case VM_REG_GUEST_RFLAGS: x86_set_rflags(cpu, val); break;
	case VM_REG_GUEST_CR2: cpu->cr2 = val; break;
	case VM_REG_GUEST_CR8: cpu->cr8 = val & 0xf; break;
	case VM_REG_GUEST_DR0: case VM_REG_GUEST_DR1:
	case VM_REG_GUEST_DR2: case VM_REG_GUEST_DR3:
		cpu->dr[reg - VM_REG_GUEST_DR0] = val;
		break;
	case VM_REG_GUEST_DR6: cpu->dr[6] = val; break;
	case VM_REG_GUEST_DR7: cpu->dr[7] = val; break;
	case VM_REG_GUEST_INTR_SHADOW: cpu->shadow = val ? 1 : 0; break;
	default: return x86_set_ctl_reg(cpu, reg, val);
	}
	return 0;
}

int
x86_get_desc(struct x86_cpu *cpu, int reg, struct seg_desc *d)
{
	if (VM_REG_IS_SEGMENT(reg)) {
		const struct x86_seg *s = &cpu->seg[x86_seg_of(reg)];
		d->base = s->base;
		d->limit = s->limit;
		d->access = s->access;
	} else if (reg == VM_REG_GUEST_GDTR || reg == VM_REG_GUEST_IDTR) {
		d->base = reg == VM_REG_GUEST_GDTR ? cpu->gdtr.base :
		    cpu->idtr.base;
		d->limit = reg == VM_REG_GUEST_GDTR ? cpu->gdtr.limit :
		    cpu->idtr.limit;
		d->access = 0;
	} else {
		return -EINVAL;
	}
	return 0;
}

int
x86_set_desc(struct x86_cpu *cpu, int reg, const struct seg_desc *d)
{
	if (VM_REG_IS_SEGMENT(reg)) {
		struct x86_seg *s = &cpu->seg[x86_seg_of(reg)];
		s->base = d->base;
		s->limit = d->limit;
		s->access = d->access;
		/* VMX: the CPL is SS.DPL. */
		if (reg == VM_REG_GUEST_SS)
			cpu->cpl = (int)SEG_ACCESS_DPL(d->access);
	} else if (reg == VM_REG_GUEST_GDTR) {
		cpu->gdtr.base = d->base;
		cpu->gdtr.limit = d->limit;
	} else if (reg == VM_REG_GUEST_IDTR) {
		cpu->idtr.base = d->base;
		cpu->idtr.limit = d->limit;
	} else {
		return -EINVAL;
	}
	x86_update_mode(cpu);
	return 0;
}

uint64_t
x86_get_xcr0(struct x86_cpu *cpu)
{
	return cpu->xcr0;
}

int
x86_set_xcr0(struct x86_cpu *cpu, uint64_t val)
{
	if (!(val & 1) || (val & ~3ULL))
		return -EINVAL;
	cpu->xcr0 = val;
	return 0;
}

/* ---- events ---- */

int
x86_inject_event(struct x86_cpu *cpu, int type, int vector, bool has_error,
    uint32_t error, int inst_len)
{
	if (cpu->pending.valid)
		return -EBUSY;
	if (vector < 0 || vector > 255 || type < 0 || type > 6 || type == 1 ||
	    inst_len < 0 || inst_len > 15)
		return -EINVAL;
	cpu->pending = (struct x86_event){ .valid = true, .type = type,
		.vector = vector, .has_error = has_error, .error = error,
		.inst_len = inst_len };
	return 0;
}

bool
x86_event_pending(const struct x86_cpu *cpu)
{
	return cpu->pending.valid;
}

bool
x86_interruptible(const struct x86_cpu *cpu)
{
	return (cpu->rflags & X86_IF) && cpu->shadow == 0;
}

bool
x86_nmi_blocked(const struct x86_cpu *cpu)
{
	return cpu->nmi_blocked;
}

void
x86_set_nmi_blocked(struct x86_cpu *cpu, bool blocked)
{
	cpu->nmi_blocked = blocked;
}

void
x86_kick(struct x86_cpu *cpu)
{
	__atomic_store_n(&cpu->kick, 1, __ATOMIC_RELEASE);
}

void
x86_flush_tlb(struct x86_cpu *cpu)
{
	x86_tlb_flush(cpu, true);
}

void
x86_flush_code(struct x86_cpu *cpu)
{
	int i;

	for (i = 0; i < X86_NBLOCKS; i++)
		if (cpu->blocks[i].key != 0)
			cpu->blocks[i].key = 0;
	memset(cpu->code_set, 0, sizeof(uint64_t) << X86_CODE_SET_BITS);
	cpu->code_count = 0;
	cpu->epoch++;
	cpu->link_gen++;
	cpu->jgen++;
	x86_jit_flush(cpu);
}

uint64_t
x86_icount(const struct x86_cpu *cpu)
{
	return cpu->icount;
}

const char *
x86_stop_name(int reason)
{
	static const char *const names[X86_STOP_MAX] = {
		"none", "io", "cpuid", "rdmsr", "wrmsr", "hlt", "pause",
		"mem", "triple-fault", "budget", "kick", "exception",
		"invlpg", "cr-access", "rdtsc", "rdtscp", "intr-window",
		"nmi-window", "vmcall", "xsetbv", "mwait", "monitor", "invd",
		"wbinvd", "rdpmc", "dr-access", "desc-table", "rdrand",
		"rdseed", "unsupported",
	};

	if (reason < 0 || reason >= X86_STOP_MAX || !names[reason])
		return "?";
	return names[reason];
}
