/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MSRs, fast system calls (SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS),
 * port I/O with the IOPL and TSS I/O-bitmap checks, and the instructions
 * that stop for the driver (CPUID, HLT, RDTSC, ...) or are no-ops here.
 */
#include <errno.h>
#include <x86intrin.h>

#include "x86_internal.h"

/* ---- MSRs ---- */

bool
x86_msr_owned(uint32_t msr)
{
	switch (msr) {
	case X86_MSR_SYSENTER_CS: case X86_MSR_SYSENTER_ESP:
	case X86_MSR_SYSENTER_EIP: case X86_MSR_PAT: case X86_MSR_EFER:
	case X86_MSR_STAR: case X86_MSR_LSTAR: case X86_MSR_CSTAR:
	case X86_MSR_FMASK: case X86_MSR_FS_BASE: case X86_MSR_GS_BASE:
	case X86_MSR_KERNEL_GS_BASE: case X86_MSR_TSC_AUX:
		return true;
	default:
		return false;
	}
}

static bool
x86_canonical(uint64_t v)
{
	return x86_is_canonical(v);
}

int
x86_get_msr(struct x86_cpu *cpu, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case X86_MSR_SYSENTER_CS: *val = cpu->sysenter_cs; break;
	case X86_MSR_SYSENTER_ESP: *val = cpu->sysenter_esp; break;
	case X86_MSR_SYSENTER_EIP: *val = cpu->sysenter_eip; break;
	case X86_MSR_PAT: *val = cpu->pat; break;
	case X86_MSR_EFER: *val = cpu->efer; break;
	case X86_MSR_STAR: *val = cpu->star; break;
	case X86_MSR_LSTAR: *val = cpu->lstar; break;
	case X86_MSR_CSTAR: *val = cpu->cstar; break;
	case X86_MSR_FMASK: *val = cpu->fmask; break;
	case X86_MSR_FS_BASE: *val = cpu->seg[X86_FS].base; break;
	case X86_MSR_GS_BASE: *val = cpu->seg[X86_GS].base; break;
	case X86_MSR_KERNEL_GS_BASE: *val = cpu->kernel_gs_base; break;
	case X86_MSR_TSC_AUX: *val = cpu->tsc_aux; break;
	default: return -ENOENT;
	}
	return 0;
}

/* Validity of a guest WRMSR (#GP when it fails). */
static bool
x86_msr_valid(struct x86_cpu *cpu, uint32_t msr, uint64_t v)
{
	int i;

	switch (msr) {
	case X86_MSR_SYSENTER_ESP: case X86_MSR_SYSENTER_EIP:
	case X86_MSR_LSTAR: case X86_MSR_CSTAR: case X86_MSR_FS_BASE:
	case X86_MSR_GS_BASE: case X86_MSR_KERNEL_GS_BASE:
		return x86_canonical(v);
	case X86_MSR_PAT:
		for (i = 0; i < 8; i++) {
			uint8_t t = (uint8_t)(v >> (8 * i));
			if (t > 7 || t == 2 || t == 3)
				return false;
		}
		return true;
	case X86_MSR_TSC_AUX:
		return (v >> 32) == 0;
	default:
		return true;
	}
}

int
x86_set_msr(struct x86_cpu *cpu, uint32_t msr, uint64_t v)
{
	switch (msr) {
	case X86_MSR_SYSENTER_CS: cpu->sysenter_cs = v & 0xffff; break;
	case X86_MSR_SYSENTER_ESP: cpu->sysenter_esp = v; break;
	case X86_MSR_SYSENTER_EIP: cpu->sysenter_eip = v; break;
	case X86_MSR_PAT: cpu->pat = v; break;
	case X86_MSR_EFER:
		cpu->efer = v;
		x86_tlb_flush(cpu, true);
		x86_update_mode(cpu);
		break;
	case X86_MSR_STAR: cpu->star = v; break;
	case X86_MSR_LSTAR: cpu->lstar = v; break;
	case X86_MSR_CSTAR: cpu->cstar = v; break;
	case X86_MSR_FMASK: cpu->fmask = v & 0xffffffffULL; break;
	case X86_MSR_FS_BASE: cpu->seg[X86_FS].base = v; break;
	case X86_MSR_GS_BASE: cpu->seg[X86_GS].base = v; break;
	case X86_MSR_KERNEL_GS_BASE: cpu->kernel_gs_base = v; break;
	case X86_MSR_TSC_AUX: cpu->tsc_aux = v & 0xffffffffULL; break;
	default: return -ENOENT;
	}
	return 0;
}

static bool
x86_msr_exits(struct x86_cpu *cpu, uint32_t msr, bool wr)
{
	const struct x86_exec_ctl *c = cpu->ctl;

	if (!x86_msr_owned(msr))
		return true;
	return c->msr_exit && c->msr_exit(c->arg, msr, wr);
}

int
x86_h_rdmsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint32_t msr = (uint32_t)cpu->r[X86_RCX];
	uint64_t v = 0;

	if (cpu->cpl != 0)
		return x86_gp0(cpu);
	if (x86_msr_exits(cpu, msr, false)) {
		cpu->out->u.msr.index = msr;
		return x86_stop_insn(cpu, X86_STOP_RDMSR);
	}
	x86_get_msr(cpu, msr, &v);
	cpu->r[X86_RAX] = v & 0xffffffffULL;
	cpu->r[X86_RDX] = v >> 32;
	return X86_OK;
}

int
x86_h_wrmsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint32_t msr = (uint32_t)cpu->r[X86_RCX];
	uint64_t v = (cpu->r[X86_RDX] << 32) | (uint32_t)cpu->r[X86_RAX];
	int r;

	if (cpu->cpl != 0)
		return x86_gp0(cpu);
	x86_serialize(cpu);
	if (x86_msr_exits(cpu, msr, true)) {
		cpu->out->u.msr.index = msr;
		cpu->out->u.msr.value = v;
		return x86_stop_insn(cpu, X86_STOP_WRMSR);
	}
	if (msr == X86_MSR_EFER) {
		if ((r = x86_write_efer(cpu, v)) != X86_OK)
			return r;
	} else {
		if (!x86_msr_valid(cpu, msr, v))
			return x86_gp0(cpu);
		x86_set_msr(cpu, msr, v);
	}
	return x86_done_end(cpu, in);
}

/* ---- SYSCALL/SYSRET (SDM vol. 2), Intel: 64-bit mode only ---- */

static void
x86_flat_seg(struct x86_cpu *cpu, int seg, uint16_t sel, uint32_t access)
{
	cpu->seg[seg].sel = sel;
	cpu->seg[seg].base = 0;
	cpu->seg[seg].limit = 0xffffffff;
	cpu->seg[seg].access = access;
}

int
x86_h_syscall(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)(cpu->star >> 32);
	uint64_t fl = x86_get_flags(cpu);

	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != X86_MODE_LONG)
		return x86_ud(cpu);
	cpu->r[X86_RCX] = x86_next_rip(cpu, in);
	cpu->r[X86_R11] = fl & ~X86_RF;
	x86_flat_seg(cpu, X86_CS, sel & 0xfffc, 0xa09b);
	x86_flat_seg(cpu, X86_SS, (sel + 8) & 0xfffc, 0xc093);
	cpu->cpl = 0;
	x86_set_rflags(cpu, fl & ~(cpu->fmask | X86_RF));
	cpu->rip = cpu->lstar;
	return X86_BRANCH;
}

int
x86_h_sysret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)(cpu->star >> 48);
	bool to64 = (in->pfx & X86_P_REXW) != 0;

	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != X86_MODE_LONG)
		return x86_ud(cpu);
	if (cpu->cpl != 0 || (to64 && !x86_canonical(cpu->r[X86_RCX])))
		return x86_gp0(cpu);
	if (to64)
		x86_flat_seg(cpu, X86_CS, (sel + 16) | 3, 0xa0fb);
	else
		x86_flat_seg(cpu, X86_CS, sel | 3, 0xc0fb);
	cpu->seg[X86_SS].sel = (sel + 8) | 3;
	cpu->seg[X86_SS].access = (cpu->seg[X86_SS].access & ~0x60) | 0x60;
	if (cpu->seg[X86_SS].access & SEG_ACCESS_UNUSABLE)
		x86_flat_seg(cpu, X86_SS, (sel + 8) | 3, 0xc0f3);
	cpu->cpl = 3;
	x86_set_rflags(cpu, (cpu->r[X86_R11] & 0x3c7fd7ULL) | 2);
	cpu->rip = to64 ? cpu->r[X86_RCX] : (cpu->r[X86_RCX] & 0xffffffffULL);
	return X86_BRANCH;
}

int
x86_h_sysenter(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)cpu->sysenter_cs & 0xfffc;
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;

	if (cpu->mode == X86_MODE_REAL || sel == 0)
		return x86_gp0(cpu);
	x86_flat_seg(cpu, X86_CS, sel, lm ? 0xa09b : 0xc09b);
	x86_flat_seg(cpu, X86_SS, sel + 8, 0xc093);
	cpu->cpl = 0;
	x86_set_rflags(cpu, x86_get_flags(cpu) & ~(X86_VM | X86_IF | X86_RF));
	cpu->r[X86_RSP] = lm ? cpu->sysenter_esp :
	    (cpu->sysenter_esp & 0xffffffffULL);
	cpu->rip = lm ? cpu->sysenter_eip : (cpu->sysenter_eip & 0xffffffffULL);
	return X86_BRANCH;
}

int
x86_h_sysexit(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)cpu->sysenter_cs & 0xfffc;
	bool to64 = (in->pfx & X86_P_REXW) != 0;

	if (cpu->mode == X86_MODE_REAL || sel == 0 || cpu->cpl != 0)
		return x86_gp0(cpu);
	if (to64 && (!x86_canonical(cpu->r[X86_RDX]) ||
	    !x86_canonical(cpu->r[X86_RCX])))
		return x86_gp0(cpu);
	x86_flat_seg(cpu, X86_CS, (sel + (to64 ? 32 : 16)) | 3,
	    to64 ? 0xa0fb : 0xc0fb);
	x86_flat_seg(cpu, X86_SS, (sel + (to64 ? 40 : 24)) | 3, 0xc0f3);
	cpu->cpl = 3;
	x86_update_mode(cpu);
	cpu->r[X86_RSP] = to64 ? cpu->r[X86_RCX] :
	    (cpu->r[X86_RCX] & 0xffffffffULL);
	cpu->rip = to64 ? cpu->r[X86_RDX] : (cpu->r[X86_RDX] & 0xffffffffULL);
	return X86_BRANCH;
}

int
x86_h_swapgs(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;

	if (cpu->mode != X86_MODE_LONG)
		return x86_ud(cpu);
	if (cpu->cpl != 0)
		return x86_gp0(cpu);
	t = cpu->seg[X86_GS].base;
	cpu->seg[X86_GS].base = cpu->kernel_gs_base;
	cpu->kernel_gs_base = t;
	return X86_OK;
}

/* RD/WR FS/GS BASE (F3 0F AE /0-3, register forms). */
int
x86_h_fsgsbase(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int op = (in->reg & 7), sz = (in->pfx & X86_P_REXW) ? 8 : 4;
	int seg = (op & 1) ? X86_GS : X86_FS;
	uint64_t v;

	if (!(in->pfx & X86_P_REP) || cpu->mode != X86_MODE_LONG ||
	    !(cpu->cr4 & X86_CR4_FSGSBASE) || op > 3)
		return x86_ud(cpu);
	if (op < 2) {
		x86_sreg(cpu, in->rm, sz, cpu->seg[seg].base);
		return X86_OK;
	}
	v = x86_greg(cpu, in->rm, sz);
	if (!x86_canonical(v))
		return x86_gp0(cpu);
	cpu->seg[seg].base = v;
	return X86_OK;
}

/* ---- port I/O (SDM vol. 1, 19.5) ---- */

/* CPL > IOPL: every port bit in the TSS I/O bitmap must be clear. */
static int
x86_io_allowed(struct x86_cpu *cpu, uint16_t port, int size)
{
	const struct x86_seg *tr = &cpu->seg[X86_TR];
	uint64_t base, bits;
	uint32_t off;
	int t = SEG_ACCESS_TYPE(tr->access);

	if (cpu->mode == X86_MODE_REAL ||
	    cpu->cpl <= ((cpu->rflags >> 12) & 3))
		return X86_OK;
	if ((t != 9 && t != 0xb) || tr->limit < 0x67)
		return x86_gp0(cpu);
	if (x86_sys_read(cpu, tr->base + 0x66, 2, &base) != X86_OK)
		return x86_gp0(cpu);
	off = (uint32_t)base + port / 8;
	if (off + 1 > tr->limit)
		return x86_gp0(cpu);
	if (x86_sys_read(cpu, tr->base + off, 2, &bits) != X86_OK)
		return x86_gp0(cpu);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		return x86_gp0(cpu);
	return X86_OK;
}

static int
x86_io_stop(struct x86_cpu *cpu, uint16_t port, int size, bool in_dir)
{
	struct x86_stop_info *o = cpu->out;

	memset(&o->u.io, 0, sizeof(o->u.io));
	o->u.io.port = port;
	o->u.io.size = size;
	o->u.io.in = in_dir;
	return x86_stop_insn(cpu, X86_STOP_IO);
}

static bool
x86_io_exits(struct x86_cpu *cpu, uint16_t port)
{
	const struct x86_exec_ctl *c = cpu->ctl;

	return !c->io_exit || c->io_exit(c->arg, port);
}

/* E4/E5 IN imm8, EC/ED IN DX (sub 1). */
int
x86_h_in(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t port = in->sub ? (uint16_t)cpu->r[X86_RDX] :
	    (uint16_t)in->imm;
	int size = in->osize > 4 ? 4 : in->osize, r;

	if ((r = x86_io_allowed(cpu, port, size)) != X86_OK)
		return r;
	if (x86_io_exits(cpu, port))
		return x86_io_stop(cpu, port, size, true);
	x86_sreg(cpu, X86_RAX, size, ~0ULL);
	return X86_OK;
}

int
x86_h_out(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t port = in->sub ? (uint16_t)cpu->r[X86_RDX] :
	    (uint16_t)in->imm;
	int size = in->osize > 4 ? 4 : in->osize, r;

	if ((r = x86_io_allowed(cpu, port, size)) != X86_OK)
		return r;
	if (x86_io_exits(cpu, port))
		return x86_io_stop(cpu, port, size, false);
	return X86_OK;
}

static int
x86_io_string(struct x86_cpu *cpu, const struct x86_insn *in, bool in_dir)
{
	uint16_t port = (uint16_t)cpu->r[X86_RDX];
	int size = in->osize > 4 ? 4 : in->osize, seg = in_dir ? X86_ES :
	    in->seg, r;
	uint64_t am = x86_size_mask(in->asize), ea, lin = 0;
	struct x86_stop_info *o = cpu->out;
	bool rep = (in->pfx & (X86_P_REP | X86_P_REPNE)) != 0;

	if ((r = x86_io_allowed(cpu, port, size)) != X86_OK)
		return r;
	if (rep && (cpu->r[X86_RCX] & am) == 0)
		return X86_OK;
	ea = cpu->r[in_dir ? X86_RDI : X86_RSI] & am;
	if ((r = x86_linear(cpu, seg, ea, size, in_dir ? X86_ACC_W :
	    X86_ACC_R, &lin)) != X86_OK)
		return r;
	if (!x86_io_exits(cpu, port))
		return x86_ud(cpu);
	r = x86_io_stop(cpu, port, size, in_dir);
	o->u.io.string = true;
	o->u.io.rep = rep;
	o->u.io.addr_size = in->asize;
	o->u.io.seg = seg;
	o->u.io.gla = lin;
	o->u.io.count = rep ? (cpu->r[X86_RCX] & am) : 1;
	o->u.io.df = (cpu->rflags & X86_DF) != 0;
	return r;
}

int
x86_h_ins(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_io_string(cpu, in, true);
}

int
x86_h_outs(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_io_string(cpu, in, false);
}

/* ---- stops and simple system instructions ---- */

int
x86_h_cpuid(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_stop_insn(cpu, X86_STOP_CPUID);
}

/* HLT always stops before it; the driver advances RIP and idles. */
int
x86_h_hlt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return x86_gp0(cpu);
	return x86_stop_insn(cpu, X86_STOP_HLT);
}

int
x86_h_pause(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->ctl->pause_exit)
		return x86_stop_insn(cpu, X86_STOP_PAUSE);
	return X86_OK;
}

int
x86_h_cli(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->mode != X86_MODE_REAL &&
	    cpu->cpl > ((cpu->rflags >> 12) & 3))
		return x86_gp0(cpu);
	cpu->rflags &= ~X86_IF;
	return x86_done_end(cpu, in);
}

/* STI blocks interrupts for one instruction when it sets IF. */
int
x86_h_sti(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->mode != X86_MODE_REAL &&
	    cpu->cpl > ((cpu->rflags >> 12) & 3))
		return x86_gp0(cpu);
	if (!(cpu->rflags & X86_IF))
		cpu->shadow |= 1;
	cpu->rflags |= X86_IF;
	return x86_done_end(cpu, in);
}

/*
 * The host's RDTSC may run ahead of this vCPU's earlier loads (SDM vol. 2,
 * RDTSC: it is not serializing), such as the lock a guest takes before
 * reading the TSC, so two vCPUs comparing readings (Linux's TSC sync
 * check) would see the TSC go backwards.  LFENCE first: every guest
 * RDTSC behaves as if the guest had fenced it (Linux's rdtsc_ordered()).
 */
static uint64_t
x86_tsc(struct x86_cpu *cpu)
{
	_mm_lfence();
	return __rdtsc() + cpu->ctl->tsc_offset;
}

int
x86_h_rdtsc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;

	if ((cpu->cr4 & X86_CR4_TSD) && cpu->cpl != 0)
		return x86_gp0(cpu);
	if (cpu->ctl->rdtsc_exit)
		return x86_stop_insn(cpu, X86_STOP_RDTSC);
	t = x86_tsc(cpu);
	cpu->r[X86_RAX] = t & 0xffffffffULL;
	cpu->r[X86_RDX] = t >> 32;
	return X86_OK;
}

int
x86_h_rdtscp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;

	if ((cpu->cr4 & X86_CR4_TSD) && cpu->cpl != 0)
		return x86_gp0(cpu);
	if (cpu->ctl->rdtsc_exit)
		return x86_stop_insn(cpu, X86_STOP_RDTSCP);
	t = x86_tsc(cpu);
	cpu->r[X86_RAX] = t & 0xffffffffULL;
	cpu->r[X86_RDX] = t >> 32;
	cpu->r[X86_RCX] = cpu->tsc_aux & 0xffffffffULL;
	return X86_OK;
}

int
x86_h_rdpmc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->cr4 & X86_CR4_PCE) && cpu->cpl != 0)
		return x86_gp0(cpu);
	if (cpu->ctl->rdpmc_exit)
		return x86_stop_insn(cpu, X86_STOP_RDPMC);
	return x86_gp0(cpu);	/* no counters are advertised */
}

int
x86_h_invlpg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = x86_ea(cpu, in), lin;
	int r;

	if (in->mod == 3)
		return x86_ud(cpu);
	if ((r = (cpu->cpl != 0 ? x86_gp0(cpu) : X86_OK)) != X86_OK)
		return r;
	lin = ea + cpu->seg[in->seg].base;
	if (cpu->mode == X86_MODE_LONG)
		lin = in->seg >= X86_FS ? lin : ea;
	else
		lin &= 0xffffffffULL;
	if (cpu->ctl->invlpg_exit) {
		cpu->out->u.invlpg.gla = lin;
		return x86_stop_insn(cpu, X86_STOP_INVLPG);
	}
	x86_tlb_flush_page(cpu, lin);
	return x86_done_end(cpu, in);
}

/* INVPCID (66 0F 38 82): every type flushes everything here. */
int
x86_h_invpcid(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t desc[2];
	int r;

	if (!(in->pfx & X86_P_OPSZ) || cpu->mode == X86_MODE_REAL)
		return x86_ud(cpu);
	if ((r = (cpu->cpl != 0 ? x86_gp0(cpu) : X86_OK)) != X86_OK)
		return r;
	if ((r = x86_read_buf(cpu, in->seg, x86_ea(cpu, in), 16, desc)) !=
	    X86_OK)
		return r;
	if (x86_greg(cpu, in->reg, 8) > 3)
		return x86_gp0(cpu);
	x86_tlb_flush(cpu, true);
	return x86_done_end(cpu, in);
}

int
x86_h_wbinvd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	if ((r = (cpu->cpl != 0 ? x86_gp0(cpu) : X86_OK)) != X86_OK)
		return r;
	if (cpu->ctl->wbinvd_exit)
		return x86_stop_insn(cpu, X86_STOP_WBINVD);
	return X86_OK;
}

int
x86_h_invd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	if ((r = (cpu->cpl != 0 ? x86_gp0(cpu) : X86_OK)) != X86_OK)
		return r;
	return x86_stop_insn(cpu, X86_STOP_INVD);
}

int
x86_h_vmcall(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_stop_insn(cpu, X86_STOP_VMCALL);
}

int
x86_h_monitor(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return x86_ud(cpu);
	if (cpu->ctl->monitor_exit)
		return x86_stop_insn(cpu, X86_STOP_MONITOR);
	return X86_OK;
}

int
x86_h_mwait(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return x86_ud(cpu);
	if (cpu->ctl->mwait_exit)
		return x86_stop_insn(cpu, X86_STOP_MWAIT);
	return X86_OK;
}

int
x86_h_xgetbv(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->cr4 & X86_CR4_OSXSAVE))
		return x86_ud(cpu);
	if ((uint32_t)cpu->r[X86_RCX] != 0)
		return x86_gp0(cpu);
	cpu->r[X86_RAX] = cpu->xcr0 & 0xffffffffULL;
	cpu->r[X86_RDX] = cpu->xcr0 >> 32;
	return X86_OK;
}

int
x86_h_xsetbv(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->cr4 & X86_CR4_OSXSAVE))
		return x86_ud(cpu);
	cpu->out->u.xsetbv.xcr = (uint32_t)cpu->r[X86_RCX];
	cpu->out->u.xsetbv.value = (cpu->r[X86_RDX] << 32) |
	    (uint32_t)cpu->r[X86_RAX];
	return x86_stop_insn(cpu, X86_STOP_XSETBV);
}

static int
x86_ac_set(struct x86_cpu *cpu, const struct x86_insn *in, bool on)
{
	if (cpu->cpl != 0)
		return x86_ud(cpu);
	x86_set_rflags(cpu, on ? (x86_get_flags(cpu) | X86_AC) :
	    (x86_get_flags(cpu) & ~X86_AC));
	return X86_OK;
}

int
x86_h_clac(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_ac_set(cpu, in, false);
}

int
x86_h_stac(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_ac_set(cpu, in, true);
}

static bool
x86_host_rand(bool seed, uint64_t *v)
{
	unsigned char ok;

	if (seed)
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
	else
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
	return ok;
}

/* 0F C7 /6 RDRAND, /7 RDSEED (F3 /7: RDPID). */
int
x86_h_rdrand(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = 0;
	bool ok;

	if (in->sub && (in->pfx & X86_P_REP))
		return x86_h_rdpid(cpu, in);
	if (in->pfx & (X86_P_REP | X86_P_REPNE))
		return x86_ud(cpu);
	if (cpu->ctl->rdrand_exit) {
		cpu->out->u.rand.gpr = x86_vm_gpr(in->rm);
		cpu->out->u.rand.size = in->osize;
		return x86_stop_insn(cpu, in->sub ? X86_STOP_RDSEED :
		    X86_STOP_RDRAND);
	}
	ok = x86_host_rand(in->sub, &v);
	x86_sreg(cpu, in->rm, in->osize, ok ? v : 0);
	x86_set_aflags(cpu, X86_ARITH, ok ? X86_CF : 0);
	return X86_OK;
}

int
x86_h_rdpid(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_sreg(cpu, in->rm, cpu->mode == X86_MODE_LONG ? 8 : 4,
	    cpu->tsc_aux);
	return X86_OK;
}

int
x86_h_fence(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->pfx & (X86_P_REP | X86_P_REPNE))
		return x86_ud(cpu);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return X86_OK;
}

/* CLFLUSH (and CLFLUSHOPT with 66): a checked read of the line. */
int
x86_h_clflush(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;

	return x86_read(cpu, in->seg, x86_ea(cpu, in), 1, &v);
}

int
x86_h_ud(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_ud(cpu);
}

int
x86_h_nop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return X86_OK;
}
