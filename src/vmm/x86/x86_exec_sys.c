/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * System instructions: control and debug registers, MSRs, descriptor
 * tables, LAR/LSL/VERR/VERW, SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS,
 * HLT/PAUSE/CLI/STI and the instructions that stop as the execution
 * controls say (SDM vol. 3, 25.1-25.3 for what exits unconditionally).
 */
#include <x86intrin.h>

#include "x86_internal.h"

static int
x86_need_cpl0(struct x86_cpu *cpu)
{
	return cpu->cpl != 0 ? x86_gp0(cpu) : X86_OK;
}

/* The GPR of a stop, in vmm.h naming (VM_REG_GUEST_RAX ...). */
uint8_t
x86_vm_gpr(int r)
{
	static const uint8_t map[16] = { VM_REG_GUEST_RAX, VM_REG_GUEST_RCX,
		VM_REG_GUEST_RDX, VM_REG_GUEST_RBX, VM_REG_GUEST_RSP,
		VM_REG_GUEST_RBP, VM_REG_GUEST_RSI, VM_REG_GUEST_RDI,
		VM_REG_GUEST_R8, VM_REG_GUEST_R9, VM_REG_GUEST_R10,
		VM_REG_GUEST_R11, VM_REG_GUEST_R12, VM_REG_GUEST_R13,
		VM_REG_GUEST_R14, VM_REG_GUEST_R15 };

	return map[r & 15];
}

void
x86_set_rflags(struct x86_cpu *cpu, uint64_t v)
{
	cpu->rflags = (v & 0x3f7fd7ULL) | 2;
	cpu->lf_op = LF_NONE;
	x86_update_mode(cpu);
}

/* ---- control registers (SDM vol. 3, 2.5; vol. 2 MOV CR) ---- */

int
x86_write_cr0(struct x86_cpu *cpu, uint64_t v)
{
	uint64_t old = cpu->cr0;

	if ((v >> 32) || ((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
	    ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
		return x86_gp0(cpu);
	if ((v & X86_CR0_PG) && !(old & X86_CR0_PG) &&
	    (cpu->efer & X86_EFER_LME) && !(cpu->cr4 & X86_CR4_PAE))
		return x86_gp0(cpu);
	if (!(v & X86_CR0_PG) && cpu->mode == X86_MODE_LONG)
		return x86_gp0(cpu);
	cpu->cr0 = v | X86_CR0_ET;
	if ((v & X86_CR0_PG) && (cpu->efer & X86_EFER_LME))
		cpu->efer |= X86_EFER_LMA;
	else if (!(v & X86_CR0_PG))
		cpu->efer &= ~X86_EFER_LMA;
	if ((old ^ cpu->cr0) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
		x86_tlb_flush(cpu, true);
	x86_update_mode(cpu);
	return X86_OK;
}

int
x86_write_cr4(struct x86_cpu *cpu, uint64_t v)
{
	const uint64_t ok = 0x7fffffULL & ~(X86_CR4_LA57 | (1ULL << 15) |
	    (1ULL << 19) | X86_CR4_VMXE | X86_CR4_PKE | (1ULL << 14) |
	    (1ULL << 13));
	uint64_t old = cpu->cr4;

	if (v & ~ok)
		return x86_gp0(cpu);
	if (!(v & X86_CR4_PAE) && (cpu->efer & X86_EFER_LMA))
		return x86_gp0(cpu);
	if ((v & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	    ((cpu->cr3 & 0xfff) || !(cpu->efer & X86_EFER_LMA)))
		return x86_gp0(cpu);
	cpu->cr4 = v;
	if ((old ^ v) & (X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE |
	    X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PCIDE))
		x86_tlb_flush(cpu, true);
	x86_update_mode(cpu);
	return X86_OK;
}

/* Every CR3 load flushes non-global entries, with or without PCID. */
int
x86_write_cr3(struct x86_cpu *cpu, uint64_t v)
{
	if (cpu->cr4 & X86_CR4_PCIDE)
		v &= ~(1ULL << 63);
	if (v >> cpu->maxphyaddr)
		return x86_gp0(cpu);
	cpu->cr3 = v;
	x86_tlb_flush(cpu, false);
	return X86_OK;
}

int
x86_write_efer(struct x86_cpu *cpu, uint64_t v)
{
	const uint64_t ok = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA |
	    X86_EFER_NXE;

	if (v & ~ok)
		return x86_gp0(cpu);
	if ((cpu->cr0 & X86_CR0_PG) &&
	    ((v ^ cpu->efer) & X86_EFER_LME))
		return x86_gp0(cpu);
	v = (v & ~X86_EFER_LMA) | (cpu->efer & X86_EFER_LMA);
	if ((v ^ cpu->efer) & X86_EFER_NXE)
		x86_tlb_flush(cpu, true);
	cpu->efer = v;
	x86_update_mode(cpu);
	return X86_OK;
}

uint64_t
x86_read_cr8(struct x86_cpu *cpu)
{
	return cpu->cr8 & 0xf;
}

static int
x86_cr_stop(struct x86_cpu *cpu, const struct x86_insn *in, int cr,
    int kind, uint64_t v)
{
	struct x86_stop_info *o = cpu->out;

	o->u.cr.cr = cr;
	o->u.cr.kind = kind;
	o->u.cr.gpr = x86_vm_gpr(in->rm);
	o->u.cr.value = v;
	return x86_stop_insn(cpu, X86_STOP_CR_ACCESS);
}

static int
x86_mov_from_cr(struct x86_cpu *cpu, const struct x86_insn *in, int cr)
{
	const struct x86_exec_ctl *c = cpu->ctl;
	uint64_t v;

	switch (cr) {
	case 0: v = (cpu->cr0 & ~c->cr0_mask) | (c->cr0_shadow & c->cr0_mask);
		break;
	case 2: v = cpu->cr2; break;
	case 3:
		if (c->cr3_store_exit)
			return x86_cr_stop(cpu, in, 3, X86_CR_MOV_FROM, 0);
		v = cpu->cr3;
		break;
	case 4: v = (cpu->cr4 & ~c->cr4_mask) | (c->cr4_shadow & c->cr4_mask);
		break;
	case 8:
		if (c->cr8_store_exit)
			return x86_cr_stop(cpu, in, 8, X86_CR_MOV_FROM, 0);
		v = x86_read_cr8(cpu);
		break;
	default:
		return x86_ud(cpu);
	}
	x86_sreg(cpu, in->rm, cpu->mode == X86_MODE_LONG ? 8 : 4, v);
	return X86_OK;
}

static int
x86_mov_to_cr(struct x86_cpu *cpu, const struct x86_insn *in, int cr)
{
	const struct x86_exec_ctl *c = cpu->ctl;
	uint64_t v = x86_greg(cpu, in->rm, cpu->mode == X86_MODE_LONG ? 8 : 4);
	int r;

	x86_serialize(cpu);	/* MOV to CR is serializing */
	switch (cr) {
	case 0:
		if ((v ^ c->cr0_shadow) & c->cr0_mask)
			return x86_cr_stop(cpu, in, 0, X86_CR_MOV_TO, v);
		r = x86_write_cr0(cpu, (v & ~c->cr0_mask) |
		    (cpu->cr0 & c->cr0_mask));
		break;
	case 2: cpu->cr2 = v; r = X86_OK; break;
	case 3:
		if (c->cr3_load_exit)
			return x86_cr_stop(cpu, in, 3, X86_CR_MOV_TO, v);
		r = x86_write_cr3(cpu, v);
		break;
	case 4:
		if ((v ^ c->cr4_shadow) & c->cr4_mask)
			return x86_cr_stop(cpu, in, 4, X86_CR_MOV_TO, v);
		r = x86_write_cr4(cpu, (v & ~c->cr4_mask) |
		    (cpu->cr4 & c->cr4_mask));
		break;
	case 8:
		if (v & ~0xfULL)
			return x86_gp0(cpu);
		if (c->cr8_load_exit)
			return x86_cr_stop(cpu, in, 8, X86_CR_MOV_TO, v);
		cpu->cr8 = v;
		r = X86_OK;
		break;
	default:
		return x86_ud(cpu);
	}
	return r == X86_OK ? x86_done_end(cpu, in) : r;
}

/* 0F 20-23: MOV r, CRn / DRn and back (sub 1: to CR/DR). */
int
x86_h_mov_cr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	if (in->b0 & 1)
		return x86_h_mov_dr(cpu, in);
	if ((r = x86_need_cpl0(cpu)) != X86_OK)
		return r;
	if (in->sub)
		return x86_mov_to_cr(cpu, in, in->reg);
	return x86_mov_from_cr(cpu, in, in->reg);
}

int
x86_h_mov_dr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int dr = in->reg, sz = cpu->mode == X86_MODE_LONG ? 8 : 4, r;
	uint64_t v;

	if ((r = x86_need_cpl0(cpu)) != X86_OK)
		return r;
	if (dr > 7 || ((dr == 4 || dr == 5) && (cpu->cr4 & X86_CR4_DE)))
		return x86_ud(cpu);
	if (dr == 4 || dr == 5)
		dr += 2;
	if (cpu->ctl->mov_dr_exit) {
		cpu->out->u.dr.dr = dr;
		cpu->out->u.dr.to_dr = in->sub;
		cpu->out->u.dr.gpr = x86_vm_gpr(in->rm);
		return x86_stop_insn(cpu, X86_STOP_DR_ACCESS);
	}
	if (!in->sub) {
		v = cpu->dr[dr];
		if (dr == 6)
			v |= 0xffff0ff0ULL;
		else if (dr == 7)
			v |= 0x400;
		x86_sreg(cpu, in->rm, sz, v);
		return X86_OK;
	}
	v = x86_greg(cpu, in->rm, sz);
	if (dr >= 6 && (v >> 32))
		return x86_gp0(cpu);
	cpu->dr[dr] = v;
	return X86_OK;
}

int
x86_h_clts(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const struct x86_exec_ctl *c = cpu->ctl;
	int r;

	if ((r = x86_need_cpl0(cpu)) != X86_OK)
		return r;
	if ((c->cr0_mask & X86_CR0_TS) && (c->cr0_shadow & X86_CR0_TS))
		return x86_cr_stop(cpu, in, 0, X86_CR_CLTS, 0);
	if (!(c->cr0_mask & X86_CR0_TS))
		cpu->cr0 &= ~X86_CR0_TS;
	return x86_done_end(cpu, in);
}

int
x86_h_lmsw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const struct x86_exec_ctl *c = cpu->ctl;
	uint64_t v, nv;
	int r;

	if ((r = x86_need_cpl0(cpu)) != X86_OK)
		return r;
	if ((r = x86_read_rm(cpu, in, 2, &v)) != X86_OK)
		return r;
	v &= 0xf;
	if ((c->cr0_mask & 0xf & (v ^ c->cr0_shadow)) ||
	    ((c->cr0_mask & X86_CR0_PE) && !(c->cr0_shadow & 1) && (v & 1)))
		return x86_cr_stop(cpu, in, 0, X86_CR_LMSW, v);
	nv = (cpu->cr0 & ~0xeULL) | (v & 0xe) | (cpu->cr0 & 1) | (v & 1);
	nv = (nv & ~c->cr0_mask) | (cpu->cr0 & c->cr0_mask);
	if ((r = x86_write_cr0(cpu, nv)) != X86_OK)
		return r;
	return x86_done_end(cpu, in);
}

static int
x86_umip(struct x86_cpu *cpu)
{
	if (cpu->cpl > 0 && (cpu->cr4 & X86_CR4_UMIP))
		return x86_gp0(cpu);
	return X86_OK;
}

int
x86_h_smsw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const struct x86_exec_ctl *c = cpu->ctl;
	uint64_t v = (cpu->cr0 & ~c->cr0_mask) | (c->cr0_shadow & c->cr0_mask);
	int r;

	if ((r = x86_umip(cpu)) != X86_OK)
		return r;
	return x86_write_rm(cpu, in, in->mod == 3 ? in->osize : 2, v);
}

/* ---- descriptor tables ---- */

static int
x86_desc_exit(struct x86_cpu *cpu)
{
	return cpu->ctl->desc_table_exit ?
	    x86_stop_insn(cpu, X86_STOP_DESC_TABLE) : X86_OK;
}

/* 0F 01 /2 /3: LGDT, LIDT (sub 1). */
int
x86_h_lgdt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = x86_ea(cpu, in), lim, base;
	int r, bsz = cpu->mode == X86_MODE_LONG ? 8 : 4;

	if (in->mod == 3)
		return x86_ud(cpu);
	if ((r = x86_need_cpl0(cpu)) != X86_OK ||
	    (r = x86_desc_exit(cpu)) != X86_OK)
		return r;
	if ((r = x86_read(cpu, in->seg, ea, 2, &lim)) != X86_OK ||
	    (r = x86_read(cpu, in->seg, (ea + 2) & x86_size_mask(in->asize),
	    bsz, &base)) != X86_OK)
		return r;
	if (in->osize == 2 && bsz == 4)
		base &= 0xffffff;
	if (bsz == 8 && !x86_is_canonical(base))
		return x86_gp0(cpu);
	if (in->sub) {
		cpu->idtr.base = base;
		cpu->idtr.limit = (uint32_t)lim;
	} else {
		cpu->gdtr.base = base;
		cpu->gdtr.limit = (uint32_t)lim;
	}
	return x86_done_end(cpu, in);
}

int
x86_h_sgdt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = x86_ea(cpu, in);
	int r, bsz = cpu->mode == X86_MODE_LONG ? 8 : 4;
	uint8_t buf[10];
	uint16_t lim = (uint16_t)(in->sub ? cpu->idtr.limit : cpu->gdtr.limit);
	uint64_t base = in->sub ? cpu->idtr.base : cpu->gdtr.base;

	if ((r = x86_umip(cpu)) != X86_OK ||
	    (r = x86_desc_exit(cpu)) != X86_OK)
		return r;
	memcpy(buf, &lim, 2);
	memcpy(buf + 2, &base, 8);
	return x86_write_buf(cpu, in->seg, ea, 2 + bsz, buf);
}

int
x86_h_sldt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	if (cpu->mode == X86_MODE_REAL)
		return x86_ud(cpu);
	if ((r = x86_umip(cpu)) != X86_OK ||
	    (r = x86_desc_exit(cpu)) != X86_OK)
		return r;
	return x86_write_rm(cpu, in, in->mod == 3 ? in->osize : 2,
	    cpu->seg[X86_LDTR].sel);
}

int
x86_h_str(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	if (cpu->mode == X86_MODE_REAL)
		return x86_ud(cpu);
	if ((r = x86_umip(cpu)) != X86_OK ||
	    (r = x86_desc_exit(cpu)) != X86_OK)
		return r;
	return x86_write_rm(cpu, in, in->mod == 3 ? in->osize : 2,
	    cpu->seg[X86_TR].sel);
}

/* LLDT/LTR: a system descriptor from the GDT (16 bytes in long mode). */
static int
x86_load_sys_seg(struct x86_cpu *cpu, const struct x86_insn *in, int seg)
{
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;
	uint64_t sel, d, hi = 0;
	uint32_t a, t;
	int r;

	if (cpu->mode == X86_MODE_REAL)
		return x86_ud(cpu);
	if ((r = x86_need_cpl0(cpu)) != X86_OK ||
	    (r = x86_desc_exit(cpu)) != X86_OK ||
	    (r = x86_read_rm(cpu, in, 2, &sel)) != X86_OK)
		return r;
	if ((sel & 0xfffc) == 0) {
		if (seg == X86_TR)
			return x86_gp0(cpu);
		cpu->seg[X86_LDTR].sel = (uint16_t)sel;
		x86_canon_null_seg(cpu, X86_LDTR);
		return x86_done_end(cpu, in);
	}
	if (sel & 4)
		return x86_fault(cpu, X86_GP, sel & 0xfffc);
	if ((r = x86_read_desc(cpu, (uint16_t)sel, &d, lm ? &hi : NULL,
	    X86_GP)) != X86_OK)
		return r;
	a = x86_desc_access(d);
	t = SEG_ACCESS_TYPE(a);
	if ((a & SEG_ACCESS_S) || (seg == X86_LDTR ? t != 2 :
	    !(t == 9 || (t == 1 && !lm))))
		return x86_fault(cpu, X86_GP, sel & 0xfffc);
	if (!(a & SEG_ACCESS_P))
		return x86_fault(cpu, X86_NP, sel & 0xfffc);
	if (seg == X86_TR && (r = x86_set_desc_busy(cpu, (uint16_t)sel, 2)) !=
	    X86_OK)
		return r;
	x86_set_seg_desc(cpu, seg, (uint16_t)sel, d);
	cpu->seg[seg].access = a | (seg == X86_TR ? 2 : 0);
	if (lm)
		cpu->seg[seg].base |= hi << 32;
	return x86_done_end(cpu, in);
}

int
x86_h_lldt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_load_sys_seg(cpu, in, X86_LDTR);
}

int
x86_h_ltr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_load_sys_seg(cpu, in, X86_TR);
}

/*
 * LAR/LSL/VERR/VERW: ZF says whether the selector is visible at CPL/RPL
 * (conforming code always) and of a type the instruction accepts.
 */
static bool
x86_desc_visible(struct x86_cpu *cpu, uint16_t sel, uint64_t *d, int kind)
{
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;
	uint32_t a, t;
	int dpl;

	if ((sel & 0xfffc) == 0 ||
	    x86_read_desc(cpu, sel, d, NULL, X86_GP) != X86_OK)
		return false;
	a = x86_desc_access(*d);
	t = SEG_ACCESS_TYPE(a);
	dpl = (int)SEG_ACCESS_DPL(a);
	if (!(a & SEG_ACCESS_S)) {
		/* kind 0: LAR, 1: LSL; VERR/VERW never accept system. */
		if (kind > 1)
			return false;
		if (lm ? !(t == 2 || t == 9 || t == 0xb || (kind == 0 &&
		    t == 0xc)) : !(t == 1 || t == 2 || t == 3 || t == 9 ||
		    t == 0xb || (kind == 0 && (t == 4 || t == 5 ||
		    t == 0xc))))
			return false;
	} else if (kind == 2 && (t & 8) && !(t & 2)) {
		return false;	/* VERR: execute-only code */
	} else if (kind == 3 && ((t & 8) || !(t & 2))) {
		return false;	/* VERW: writable data only */
	}
	if ((a & SEG_ACCESS_S) && (t & 0xc) == 0xc)
		return true;	/* conforming code */
	return dpl >= cpu->cpl && dpl >= (sel & 3);
}

static int
x86_larlsl(struct x86_cpu *cpu, const struct x86_insn *in, int kind)
{
	uint64_t sel, d;
	bool ok;
	int r;

	if (cpu->mode == X86_MODE_REAL)
		return x86_ud(cpu);
	if ((r = x86_read_rm(cpu, in, 2, &sel)) != X86_OK)
		return r;
	ok = x86_desc_visible(cpu, (uint16_t)sel, &d, kind);
	x86_set_aflags(cpu, X86_ZF, ok ? X86_ZF : 0);
	if (ok && kind == 0)
		x86_sreg(cpu, in->reg, in->osize, (d >> 32) & 0x00ffff00ULL &
		    (in->osize == 2 ? 0xff00ULL : 0xf0ff00ULL));
	else if (ok && kind == 1)
		x86_sreg(cpu, in->reg, in->osize, x86_desc_limit(d));
	return X86_OK;
}

int
x86_h_lar(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_larlsl(cpu, in, 0);
}

int
x86_h_lsl(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_larlsl(cpu, in, 1);
}

int
x86_h_verrw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_larlsl(cpu, in, 2 + in->sub);
}
