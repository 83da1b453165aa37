/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Segmentation: descriptor fetch and decoding, segment register loads with
 * the protected-mode checks (SDM vol. 3, 5.5-5.8 and vol. 2 MOV/POP/Lxx),
 * far JMP/CALL/RET to code segments, the mode caches.
 */
#include "x86_internal.h"

uint32_t
x86_desc_access(uint64_t d)
{
	return (uint32_t)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 12));
}

uint64_t
x86_desc_base(uint64_t d)
{
	return ((d >> 16) & 0xffffffULL) | (((d >> 56) & 0xff) << 24);
}

uint32_t
x86_desc_limit(uint64_t d)
{
	uint32_t l = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));

	if (d & (1ULL << 55))
		l = (l << 12) | 0xfff;
	return l;
}

void
x86_update_mode(struct x86_cpu *cpu)
{
	uint32_t csa = cpu->seg[X86_CS].access;
	uint8_t old_mode = cpu->mode, old_csize = cpu->csize;
	uint8_t old_mmu = cpu->mmu;

	if (!(cpu->cr0 & X86_CR0_PE)) {
		cpu->mode = X86_MODE_REAL;
		cpu->cpl = 0;
	} else if ((cpu->efer & X86_EFER_LMA) && (csa & SEG_ACCESS_L)) {
		cpu->mode = X86_MODE_LONG;
	} else if (cpu->efer & X86_EFER_LMA) {
		cpu->mode = X86_MODE_COMPAT;
	} else {
		cpu->mode = X86_MODE_PROT;
	}
	cpu->csize = cpu->mode == X86_MODE_LONG ? 8 :
	    (csa & SEG_ACCESS_DB) ? 4 : 2;
	cpu->ssize = cpu->mode == X86_MODE_LONG ? 8 :
	    (cpu->seg[X86_SS].access & SEG_ACCESS_DB) ? 4 : 2;
	cpu->ip_mask = cpu->csize == 8 ? ~0ULL : cpu->csize == 4 ?
	    0xffffffffULL : 0xffffULL;
	cpu->paging = (cpu->cr0 & X86_CR0_PG) && (cpu->cr0 & X86_CR0_PE);
	if (cpu->cpl == 3)
		cpu->mmu = X86_MMU_USER;
	else if ((cpu->cr4 & X86_CR4_SMAP) && (cpu->rflags & X86_AC))
		cpu->mmu = X86_MMU_SUP_AC;
	else
		cpu->mmu = X86_MMU_SUP;
	/* Links between blocks assume the same decoding and TLB. */
	if (cpu->mode != old_mode || cpu->csize != old_csize ||
	    cpu->mmu != old_mmu || cpu->mode != X86_MODE_LONG) {
		cpu->link_gen++;
		cpu->jgen++;
	}
}

void
x86_seg_real(struct x86_cpu *cpu, int seg, uint16_t sel)
{
	struct x86_seg *s = &cpu->seg[seg];

	s->sel = sel;
	s->base = (uint64_t)sel << 4;
	/* Limit and attributes stay (SDM vol. 3, 20.1.1); make it usable. */
	s->access &= ~SEG_ACCESS_UNUSABLE;
	s->access |= SEG_ACCESS_P | SEG_ACCESS_S;
	if (seg == X86_CS)
		s->access |= 0xb;
}

void
x86_canon_null_seg(struct x86_cpu *cpu, int seg)
{
	struct x86_seg *s = &cpu->seg[seg];

	s->base = 0;
	s->limit = 0;
	s->access = SEG_ACCESS_UNUSABLE;
}

void
x86_set_seg_desc(struct x86_cpu *cpu, int seg, uint16_t sel, uint64_t d)
{
	struct x86_seg *s = &cpu->seg[seg];

	s->sel = sel;
	s->base = x86_desc_base(d);
	s->limit = x86_desc_limit(d);
	s->access = x86_desc_access(d) | 1;	/* accessed */
}

static int
x86_desc_lin(struct x86_cpu *cpu, uint16_t sel, int size, int exc,
    uint64_t *lin)
{
	uint64_t base, limit, off = sel & ~7ULL;

	if (sel & 4) {
		if (cpu->seg[X86_LDTR].access & SEG_ACCESS_UNUSABLE)
			return x86_fault(cpu, exc, sel & 0xfffc);
		base = cpu->seg[X86_LDTR].base;
		limit = cpu->seg[X86_LDTR].limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	if (off + size - 1 > limit)
		return x86_fault(cpu, exc, sel & 0xfffc);
	*lin = base + off;
	if (!(cpu->efer & X86_EFER_LMA))
		*lin &= 0xffffffffULL;
	return X86_OK;
}

/* The 8-byte descriptor of 'sel' (and the next 8 bytes if 'hi'). */
int
x86_read_desc(struct x86_cpu *cpu, uint16_t sel, uint64_t *lo,
    uint64_t *hi, int exc)
{
	uint64_t lin;
	int r;

	if ((r = x86_desc_lin(cpu, sel, hi ? 16 : 8, exc, &lin)) != X86_OK)
		return r;
	if ((r = x86_sys_read(cpu, lin, 8, lo)) != X86_OK)
		return r;
	if (hi)
		r = x86_sys_read(cpu, lin + 8, 8, hi);
	return r;
}

/* Set a bit of the descriptor's type byte (accessed, TSS busy). */
int
x86_set_desc_busy(struct x86_cpu *cpu, uint16_t sel, uint32_t bit)
{
	uint64_t lin, v;
	int r;

	if ((r = x86_desc_lin(cpu, sel, 8, X86_GP, &lin)) != X86_OK)
		return r;
	if ((r = x86_sys_read(cpu, lin + 5, 1, &v)) != X86_OK)
		return r;
	if (v & bit)
		return X86_OK;
	return x86_sys_write(cpu, lin + 5, 1, v | bit);
}

static int
x86_load_null(struct x86_cpu *cpu, int seg, uint16_t sel)
{
	if (seg == X86_SS && !(cpu->mode == X86_MODE_LONG && cpu->cpl != 3 &&
	    (sel & 3) == cpu->cpl))
		return x86_gp0(cpu);
	cpu->seg[seg].sel = sel;
	x86_canon_null_seg(cpu, seg);
	if (seg == X86_SS)
		cpu->seg[seg].access |= (uint32_t)cpu->cpl << 5;
	return X86_OK;
}

/* MOV/POP/Lxx to a data or stack segment register. */
int
x86_load_seg(struct x86_cpu *cpu, int seg, uint16_t sel)
{
	uint64_t d;
	uint32_t a, dpl, rpl = sel & 3;
	int r;

	if (cpu->mode == X86_MODE_REAL) {
		x86_seg_real(cpu, seg, sel);
		goto out;
	}
	if ((sel & 0xfffc) == 0) {
		r = x86_load_null(cpu, seg, sel);
		goto done;
	}
	if ((r = x86_read_desc(cpu, sel, &d, NULL, X86_GP)) != X86_OK)
		return r;
	a = x86_desc_access(d);
	dpl = (int)SEG_ACCESS_DPL(a);
	if (seg == X86_SS) {
		if (rpl != cpu->cpl || dpl != cpu->cpl || !(a & SEG_ACCESS_S) ||
		    (a & 8) || !(a & 2))
			return x86_fault(cpu, X86_GP, sel & 0xfffc);
		if (!(a & SEG_ACCESS_P))
			return x86_fault(cpu, X86_SS_EXC, sel & 0xfffc);
	} else {
		if (!(a & SEG_ACCESS_S) || ((a & 8) && !(a & 2)))
			return x86_fault(cpu, X86_GP, sel & 0xfffc);
		if ((!(a & 8) || !(a & 4)) && (rpl > dpl || cpu->cpl > dpl))
			return x86_fault(cpu, X86_GP, sel & 0xfffc);
		if (!(a & SEG_ACCESS_P))
			return x86_fault(cpu, X86_NP, sel & 0xfffc);
	}
	if (!(a & 1) && (r = x86_set_desc_busy(cpu, sel, 1)) != X86_OK)
		return r;
	x86_set_seg_desc(cpu, seg, sel, d);
	r = X86_OK;
done:
	if (r != X86_OK)
		return r;
out:
	if (seg == X86_SS)
		x86_update_mode(cpu);
	return X86_OK;
}

int
x86_h_mov_sreg_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int seg = in->reg & 7, r;
	uint64_t v;

	if (seg == X86_CS || seg > X86_GS)
		return x86_ud(cpu);
	if ((r = x86_read_rm(cpu, in, 2, &v)) != X86_OK)
		return r;
	if ((r = x86_load_seg(cpu, seg, (uint16_t)v)) != X86_OK)
		return r;
	if (seg == X86_SS)
		cpu->shadow |= 2;
	return x86_done_end(cpu, in);
}

int
x86_h_mov_rm_sreg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int seg = in->reg & 7;

	if (seg > X86_GS)
		return x86_ud(cpu);
	return x86_write_rm(cpu, in, in->mod == 3 ? in->osize : 2,
	    cpu->seg[seg].sel);
}

int
x86_h_push_sreg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_push(cpu, in->osize, cpu->seg[in->sub].sel);
}

int
x86_h_pop_sreg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v, sp = cpu->r[X86_RSP];
	int r;

	if ((r = x86_pop(cpu, in->osize, &v)) != X86_OK)
		return r;
	if ((r = x86_load_seg(cpu, in->sub, (uint16_t)v)) != X86_OK) {
		cpu->r[X86_RSP] = sp;
		return r;
	}
	if (in->sub == X86_SS)
		cpu->shadow |= 2;
	return x86_done_end(cpu, in);
}

/* LDS/LES/LSS/LFS/LGS: offset then selector in memory. */
int
x86_h_lfp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = x86_ea(cpu, in), off, sel;
	int r;

	if ((r = x86_read(cpu, in->seg, ea, in->osize, &off)) != X86_OK)
		return r;
	if ((r = x86_read(cpu, in->seg, (ea + in->osize) &
	    x86_size_mask(in->asize), 2, &sel)) != X86_OK)
		return r;
	if ((r = x86_load_seg(cpu, in->sub, (uint16_t)sel)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, in->osize, off);
	return x86_done_end(cpu, in);
}

/* A far JMP/CALL target: a code segment (gates and TSSs: unsupported). */
static int
x86_far_desc(struct x86_cpu *cpu, uint16_t sel, uint64_t *d)
{
	uint32_t a, dpl;
	int r;

	if ((sel & 0xfffc) == 0)
		return x86_gp0(cpu);
	if ((r = x86_read_desc(cpu, sel, d, NULL, X86_GP)) != X86_OK)
		return r;
	a = x86_desc_access(*d);
	dpl = (int)SEG_ACCESS_DPL(a);
	if (!(a & SEG_ACCESS_S)) {
		cpu->out->u.unsupported.what = "far transfer through a gate "
		    "or TSS";
		return x86_stop_insn(cpu, X86_STOP_UNSUPPORTED);
	}
	if (!(a & 8))
		return x86_fault(cpu, X86_GP, sel & 0xfffc);
	if ((a & 4) ? dpl > cpu->cpl : ((sel & 3) > cpu->cpl ||
	    dpl != cpu->cpl))
		return x86_fault(cpu, X86_GP, sel & 0xfffc);
	if ((cpu->efer & X86_EFER_LMA) && (a & SEG_ACCESS_L) &&
	    (a & SEG_ACCESS_DB))
		return x86_fault(cpu, X86_GP, sel & 0xfffc);
	if (!(a & SEG_ACCESS_P))
		return x86_fault(cpu, X86_NP, sel & 0xfffc);
	return X86_OK;
}

static int
x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t off, int osz,
    bool call)
{
	uint64_t d = 0;
	uint16_t ocs = cpu->seg[X86_CS].sel;
	uint64_t ret = cpu->rip + cpu->cur->len, sp = cpu->r[X86_RSP];
	int r;

	if (cpu->mode != X86_MODE_REAL) {
		if ((r = x86_far_desc(cpu, sel, &d)) != X86_OK)
			return r;
		if (!(cpu->mode == X86_MODE_LONG || ((x86_desc_access(d) &
		    SEG_ACCESS_L) && (cpu->efer & X86_EFER_LMA))) &&
		    off > x86_desc_limit(d))
			return x86_gp0(cpu);
	}
	if (call && ((r = x86_push(cpu, osz, ocs)) != X86_OK ||
	    (r = x86_push(cpu, osz, ret & cpu->ip_mask)) != X86_OK)) {
		cpu->r[X86_RSP] = sp;
		return r;
	}
	if (cpu->mode == X86_MODE_REAL)
		x86_seg_real(cpu, X86_CS, sel);
	else
		x86_set_seg_desc(cpu, X86_CS, (sel & 0xfffc) | cpu->cpl, d);
	x86_update_mode(cpu);
	cpu->rip = off & (osz == 8 ? ~0ULL : osz == 4 ? 0xffffffffULL :
	    0xffffULL);
	return X86_BRANCH;
}

int
x86_h_jmpf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_far_jump(cpu, (uint16_t)in->imm2, in->imm, in->osize,
	    false);
}

int
x86_h_callf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_far_jump(cpu, (uint16_t)in->imm2, in->imm, in->osize,
	    true);
}

static int
x86_far_mem(struct x86_cpu *cpu, const struct x86_insn *in, bool call)
{
	uint64_t ea = x86_ea(cpu, in), off, sel;
	int r;

	if ((r = x86_read(cpu, in->seg, ea, in->osize, &off)) != X86_OK)
		return r;
	if ((r = x86_read(cpu, in->seg, (ea + in->osize) &
	    x86_size_mask(in->asize), 2, &sel)) != X86_OK)
		return r;
	return x86_far_jump(cpu, (uint16_t)sel, off, in->osize, call);
}

int
x86_h_jmpf_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_far_mem(cpu, in, false);
}

int
x86_h_callf_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_far_mem(cpu, in, true);
}

/* RETF to the same or an outer privilege level. */
static int
x86_retf_pm(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t ip,
    uint16_t cs, uint64_t sp)
{
	uint64_t d, ssd = 0, nsp = 0, nss = 0, spm = x86_sp_mask(cpu);
	int osz = in->osize, rpl = cs & 3, r;
	uint32_t a;

	if ((cs & 0xfffc) == 0)
		return x86_gp0(cpu);
	if ((r = x86_read_desc(cpu, cs, &d, NULL, X86_GP)) != X86_OK)
		return r;
	a = x86_desc_access(d);
	if (!(a & SEG_ACCESS_S) || !(a & 8) || rpl < cpu->cpl ||
	    ((a & 4) ? (int)SEG_ACCESS_DPL(a) > rpl : (int)SEG_ACCESS_DPL(a) != rpl))
		return x86_fault(cpu, X86_GP, cs & 0xfffc);
	if (!(a & SEG_ACCESS_P))
		return x86_fault(cpu, X86_NP, cs & 0xfffc);
	sp = (sp + 2ULL * osz + in->imm) & spm;
	if (rpl > cpu->cpl) {
		if ((r = x86_read(cpu, X86_SS, sp, osz, &nsp)) != X86_OK ||
		    (r = x86_read(cpu, X86_SS, (sp + osz) & spm, 2, &nss)) !=
		    X86_OK)
			return r;
		if ((nss & 0xfffc) == 0 || (int)(nss & 3) != rpl)
			return x86_fault(cpu, X86_GP, nss & 0xfffc);
		if ((r = x86_read_desc(cpu, (uint16_t)nss, &ssd, NULL,
		    X86_GP)) != X86_OK)
			return r;
		a = x86_desc_access(ssd);
		if ((a & 8) || !(a & 2) || (int)SEG_ACCESS_DPL(a) != rpl)
			return x86_fault(cpu, X86_GP, nss & 0xfffc);
		if (!(a & SEG_ACCESS_P))
			return x86_fault(cpu, X86_SS_EXC, nss & 0xfffc);
	}
	x86_set_seg_desc(cpu, X86_CS, cs, d);
	if (rpl > cpu->cpl) {
		x86_set_seg_desc(cpu, X86_SS, (uint16_t)nss, ssd);
		cpu->cpl = rpl;
		x86_update_mode(cpu);
		sp = (nsp + in->imm) & x86_sp_mask(cpu);
		cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~x86_sp_mask(cpu)) | sp;
	} else {
		cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~spm) | sp;
		x86_update_mode(cpu);
	}
	cpu->rip = ip & cpu->ip_mask;
	return X86_BRANCH;
}

int
x86_h_retf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ip, cs, sp = cpu->r[X86_RSP], spm = x86_sp_mask(cpu);
	int r;

	if ((r = x86_read(cpu, X86_SS, sp & spm, in->osize, &ip)) != X86_OK ||
	    (r = x86_read(cpu, X86_SS, (sp + in->osize) & spm, 2, &cs)) !=
	    X86_OK)
		return r;
	if (cpu->mode != X86_MODE_REAL)
		return x86_retf_pm(cpu, in, ip, (uint16_t)cs, sp);
	x86_seg_real(cpu, X86_CS, (uint16_t)cs);
	cpu->r[X86_RSP] = (sp & ~spm) | ((sp + 2ULL * in->osize + in->imm) &
	    spm);
	cpu->rip = ip & 0xffff;
	x86_update_mode(cpu);
	return X86_BRANCH;
}
