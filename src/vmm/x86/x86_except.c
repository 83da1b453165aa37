/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exceptions and interrupts: delivery through the IVT (real mode) and the
 * IDT (protected mode, long mode with IST), privilege-change stack
 * switches, double- and triple-fault rules (SDM vol. 3, 6.15), the
 * exception bitmap, INT n/INT3/INTO/INT1 and IRET.
 */
#include "x86_internal.h"

int
x86_stop(struct x86_cpu *cpu, int reason)
{
	struct x86_stop_info *o = cpu->out;

	o->reason = reason;
	o->rip = cpu->rip;
	o->inst_len = 0;
	if (cpu->delivering.valid) {
		if (cpu->delivering.type >= X86_EVENT_SWINT)
			o->inst_len = cpu->delivering.inst_len;
		o->idt_vec_valid = true;
		o->idt_vec_type = cpu->delivering.type;
		o->idt_vec_vector = cpu->delivering.vector;
		o->idt_vec_has_error = cpu->delivering.has_error;
		o->idt_vec_error = cpu->delivering.error;
	}
	return X86_STOP;
}

/* A stop at the current instruction, which the driver may emulate. */
int
x86_stop_insn(struct x86_cpu *cpu, int reason)
{
	int r = x86_stop(cpu, reason);

	if (cpu->cur && !cpu->delivering.valid) {
		cpu->out->inst_len = cpu->cur->len;
		memcpy(cpu->out->inst, cpu->cur_code + cpu->cur->off,
		    cpu->cur->len);
	}
	return r;
}

bool
x86_exc_has_error(int vector)
{
	return vector == X86_DFV || (vector >= X86_TS && vector <= X86_PFV) ||
	    vector == X86_AC_EXC;
}

/* 0 benign, 1 contributory, 2 page fault (SDM vol. 3, table 6-4). */
static int
x86_exc_class(int vector)
{
	if (vector == X86_PFV)
		return 2;
	if (vector == X86_DE || (vector >= X86_TS && vector <= X86_GP))
		return 1;
	return 0;
}

static bool
x86_exc_bitmap_hit(struct x86_cpu *cpu, int vector, uint32_t error)
{
	const struct x86_exec_ctl *c = cpu->ctl;
	bool bit = (c->exception_bitmap >> vector) & 1;

	if (vector == X86_PFV)
		return bit == ((error & c->pf_error_mask) == c->pf_error_match);
	return bit;
}

static int
x86_exc_stop(struct x86_cpu *cpu, int type)
{
	struct x86_stop_info *o = cpu->out;
	int r;

	r = cpu->cur && !cpu->delivering.valid ?
	    x86_stop_insn(cpu, X86_STOP_EXCEPTION) :
	    x86_stop(cpu, X86_STOP_EXCEPTION);
	o->u.exc.vector = cpu->exc.vector;
	o->u.exc.type = type;
	o->u.exc.has_error = cpu->exc.has_error;
	o->u.exc.error = cpu->exc.error;
	o->u.exc.cr2 = cpu->exc.cr2;
	return r;
}

static int
x86_triple(struct x86_cpu *cpu)
{
	cpu->delivering.valid = false;
	return x86_stop(cpu, X86_STOP_TRIPLE_FAULT);
}

/*
 * Deliver cpu->exc, raised by an instruction (RIP at it for faults, after
 * it for traps) or by the delivery of an earlier event.  A fault while
 * delivering combines by class into #DF; a fault while delivering #DF is a
 * triple fault.
 */
int
x86_deliver_exc(struct x86_cpu *cpu)
{
	int r, type;

	for (;;) {
		struct x86_exc e = cpu->exc;

		type = e.type;
		if (x86_exc_bitmap_hit(cpu, e.vector, e.error))
			return x86_exc_stop(cpu, type);
		if (e.vector == X86_PFV)
			cpu->cr2 = e.cr2;
		cpu->delivering.inst_len = e.inst_len;
		r = x86_deliver_event(cpu, type, e.vector, e.has_error,
		    e.error, (cpu->rip + e.inst_len) & cpu->ip_mask);
		if (r != X86_EXC)
			return r;
		if (e.vector == X86_DFV)
			return x86_triple(cpu);
		if (x86_exc_class(e.vector) != 0 &&
		    x86_exc_class(cpu->exc.vector) != 0 &&
		    !(x86_exc_class(e.vector) == 1 &&
		    x86_exc_class(cpu->exc.vector) == 2)) {
			cpu->exc.vector = X86_DFV;
			cpu->exc.has_error = true;
			cpu->exc.error = 0;
		}
		cpu->exc.type = X86_EVENT_HWEXC;
		cpu->exc.inst_len = 0;
	}
}

/* ---- frames ---- */

/*
 * Write a frame of 'len' bytes below linear 'base' + 'sp' with the rights
 * of 'cpl': every page is checked before anything is written.
 */
static int
x86_frame_write(struct x86_cpu *cpu, uint64_t lin, const uint8_t *buf,
    int len, int cpl)
{
	int mmu = cpl == 3 ? X86_MMU_USER : X86_MMU_SUP, r, k, n;
	uint64_t gpa;
	uint8_t *h;

	for (k = 0; k < len; k += n) {
		n = 4096 - (int)((lin + k) & 0xfff);
		if ((r = x86_xlate(cpu, lin + k, X86_ACC_W, mmu, &h, &gpa)) !=
		    X86_OK)
			return r;
	}
	for (k = 0; k < len; k += n) {
		n = len - k > 16 ? 16 : len - k;
		if (((lin + k) & 0xfff) + n > 4096)
			n = 4096 - (int)((lin + k) & 0xfff);
		if ((r = x86_mem_slow(cpu, lin + k, n, X86_ACC_W, mmu,
		    (void *)(buf + k))) != X86_OK)
			return r;
	}
	return X86_OK;
}

static void
x86_frame_put(uint8_t *buf, int *off, int size, uint64_t v)
{
	*off -= size;
	memcpy(buf + *off, &v, size);
}

static uint32_t
x86_idt_err(int vector, int type)
{
	bool ext = type != X86_EVENT_SWINT && type != X86_EVENT_SWEXC &&
	    type != X86_EVENT_PRIV_SWEXC;

	return (uint32_t)vector * 8 + 2 + (ext ? 1 : 0);
}

static uint32_t
x86_ext(int type)
{
	return (type == X86_EVENT_SWINT || type == X86_EVENT_SWEXC) ? 0 : 1;
}

/* Real mode (SDM vol. 3, 20.1.4): the 4-byte IVT entry, a 16-bit frame. */
static int
x86_deliver_real(struct x86_cpu *cpu, int vector, uint64_t ret_rip)
{
	uint8_t buf[6];
	int off = 6, r;
	uint64_t ent, sp, lin, spm = x86_sp_mask(cpu);

	if ((uint64_t)vector * 4 + 3 > cpu->idtr.limit)
		return x86_fault(cpu, X86_GP, x86_idt_err(vector, 0));
	if ((r = x86_sys_read(cpu, (cpu->idtr.base + vector * 4) &
	    0xffffffffULL, 4, &ent)) != X86_OK)
		return r;
	x86_frame_put(buf, &off, 2, x86_get_flags(cpu));
	x86_frame_put(buf, &off, 2, cpu->seg[X86_CS].sel);
	x86_frame_put(buf, &off, 2, ret_rip);
	sp = (cpu->r[X86_RSP] - 6) & spm;
	if (sp + 5 > cpu->seg[X86_SS].limit)
		return x86_fault(cpu, X86_SS_EXC, 0);
	lin = (cpu->seg[X86_SS].base + sp) & 0xffffffffULL;
	if ((r = x86_frame_write(cpu, lin, buf, 6, 0)) != X86_OK)
		return r;
	cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~spm) | sp;
	x86_flags_sync(cpu);
	cpu->rflags &= ~(X86_IF | X86_TF | X86_AC | X86_RF);
	x86_seg_real(cpu, X86_CS, (uint16_t)(ent >> 16));
	cpu->rip = ent & 0xffff;
	x86_update_mode(cpu);
	return X86_OK;
}

struct x86_gate {
	uint16_t sel;
	uint64_t off;
	int type, dpl, ist;
	bool present;
};

static int
x86_read_gate(struct x86_cpu *cpu, int vector, int type,
    struct x86_gate *g)
{
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;
	int esz = lm ? 16 : 8, r;
	uint64_t lo, hi = 0, base = cpu->idtr.base + (uint64_t)vector * esz;

	if ((uint64_t)vector * esz + esz - 1 > cpu->idtr.limit)
		return x86_fault(cpu, X86_GP, x86_idt_err(vector, type));
	if (!lm)
		base &= 0xffffffffULL;
	if ((r = x86_sys_read(cpu, base, 8, &lo)) != X86_OK)
		return r;
	if (lm && (r = x86_sys_read(cpu, base + 8, 8, &hi)) != X86_OK)
		return r;
	g->sel = (uint16_t)(lo >> 16);
	g->off = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL) | (hi << 32);
	g->type = (lo >> 40) & 0x1f;
	g->dpl = (lo >> 45) & 3;
	g->present = (lo >> 47) & 1;
	g->ist = lm ? (int)((lo >> 32) & 7) : 0;
	if (lm && g->type != 0xe && g->type != 0xf)
		return x86_fault(cpu, X86_GP, x86_idt_err(vector, type));
	if (!lm && g->type != 0xe && g->type != 0xf && g->type != 6 &&
	    g->type != 7 && g->type != 5)
		return x86_fault(cpu, X86_GP, x86_idt_err(vector, type));
	if ((type == X86_EVENT_SWINT || type == X86_EVENT_SWEXC) &&
	    g->dpl < cpu->cpl)
		return x86_fault(cpu, X86_GP, x86_idt_err(vector, type));
	if (!g->present)
		return x86_fault(cpu, X86_NP, x86_idt_err(vector, type));
	return X86_OK;
}

/* The handler's code segment: present, code, DPL <= CPL. */
static int
x86_gate_cs(struct x86_cpu *cpu, const struct x86_gate *g, int type,
    uint64_t *d)
{
	uint32_t ext = x86_ext(type), a;
	int r;

	if ((g->sel & 0xfffc) == 0)
		return x86_fault(cpu, X86_GP, ext);
	if ((r = x86_read_desc(cpu, g->sel, d, NULL, X86_GP)) != X86_OK) {
		cpu->exc.error |= ext;
		return r;
	}
	a = x86_desc_access(*d);
	if (!(a & SEG_ACCESS_S) || !(a & 8) || (int)SEG_ACCESS_DPL(a) > cpu->cpl)
		return x86_fault(cpu, X86_GP, (g->sel & 0xfffc) | ext);
	if ((cpu->efer & X86_EFER_LMA) &&
	    (!(a & SEG_ACCESS_L) || (a & SEG_ACCESS_DB)))
		return x86_fault(cpu, X86_GP, (g->sel & 0xfffc) | ext);
	if (!(a & SEG_ACCESS_P))
		return x86_fault(cpu, X86_NP, (g->sel & 0xfffc) | ext);
	return X86_OK;
}

/* Read the stack for ring 'dpl' (or IST 'ist') from the TSS. */
static int
x86_tss_stack(struct x86_cpu *cpu, int dpl, int ist, uint16_t *ss,
    uint64_t *sp)
{
	const struct x86_seg *tr = &cpu->seg[X86_TR];
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;
	bool t32 = SEG_ACCESS_TYPE(tr->access) >= 9;
	uint64_t off, v, w;
	int r;

	if (lm)
		off = ist ? 0x24 + (uint64_t)(ist - 1) * 8 : 4 + (uint64_t)dpl * 8;
	else
		off = t32 ? 4 + (uint64_t)dpl * 8 : 2 + (uint64_t)dpl * 4;
	if (off + (lm ? 7 : t32 ? 5 : 3) > tr->limit)
		return x86_fault(cpu, X86_TS, tr->sel & 0xfffc);
	if (lm) {
		r = x86_sys_read(cpu, tr->base + off, 8, sp);
		*ss = 0;
		return r;
	}
	if ((r = x86_sys_read(cpu, (tr->base + off) & 0xffffffffULL,
	    t32 ? 4 : 2, &v)) != X86_OK)
		return r;
	if ((r = x86_sys_read(cpu, (tr->base + off + (t32 ? 4 : 2)) &
	    0xffffffffULL, 2, &w)) != X86_OK)
		return r;
	*sp = v;
	*ss = (uint16_t)w;
	return X86_OK;
}

/* The new stack segment of an inner-privilege delivery (legacy mode). */
static int
x86_inner_ss(struct x86_cpu *cpu, uint16_t ss, int dpl, uint32_t ext,
    uint64_t *d)
{
	uint32_t a;
	int r;

	if ((ss & 0xfffc) == 0 || (ss & 3) != dpl)
		return x86_fault(cpu, X86_TS, (ss & 0xfffc) | ext);
	if ((r = x86_read_desc(cpu, ss, d, NULL, X86_TS)) != X86_OK)
		return r;
	a = x86_desc_access(*d);
	if (!(a & SEG_ACCESS_S) || (a & 8) || !(a & 2) ||
	    (int)SEG_ACCESS_DPL(a) != dpl)
		return x86_fault(cpu, X86_TS, (ss & 0xfffc) | ext);
	if (!(a & SEG_ACCESS_P))
		return x86_fault(cpu, X86_SS_EXC, (ss & 0xfffc) | ext);
	return X86_OK;
}

struct x86_pm_target {
	uint64_t csd, ssd;
	uint16_t ss;
	uint64_t sp, ssbase;
	int dpl;
	bool inner;
};

/* Where the frame goes: the current stack, the TSS's, or an IST. */
static int
x86_pm_stack(struct x86_cpu *cpu, const struct x86_gate *g, int type,
    struct x86_pm_target *t)
{
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;
	int r;

	t->ss = cpu->seg[X86_SS].sel;
	t->sp = cpu->r[X86_RSP];
	t->ssbase = cpu->seg[X86_SS].base;
	if (lm) {
		if ((t->inner || g->ist) && (r = x86_tss_stack(cpu, t->dpl,
		    g->ist, &t->ss, &t->sp)) != X86_OK)
			return r;
		t->ss = t->inner ? (uint16_t)t->dpl : cpu->seg[X86_SS].sel;
		t->sp &= ~0xfULL;
		t->ssbase = 0;
		if (!x86_is_canonical(t->sp))
			return x86_fault(cpu, X86_SS_EXC, x86_ext(type));
		return X86_OK;
	}
	if (!t->inner)
		return X86_OK;
	if ((r = x86_tss_stack(cpu, t->dpl, 0, &t->ss, &t->sp)) != X86_OK)
		return r;
	if ((r = x86_inner_ss(cpu, t->ss, t->dpl, x86_ext(type), &t->ssd)) !=
	    X86_OK)
		return r;
	t->ssbase = x86_desc_base(t->ssd);
	return X86_OK;
}

static int
x86_pm_frame(struct x86_cpu *cpu, const struct x86_gate *g,
    struct x86_pm_target *t, bool has_error, uint32_t error,
    uint64_t ret_rip)
{
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;
	int gsz = lm ? 8 : (g->type & 8) ? 4 : 2, off = 48, len, r;
	uint32_t ssa = t->inner && !lm ? x86_desc_access(t->ssd) :
	    cpu->seg[X86_SS].access;
	uint64_t spm = lm ? ~0ULL : (ssa & SEG_ACCESS_DB) ? 0xffffffffULL :
	    0xffffULL, nsp, lim;
	uint8_t buf[48];

	if (lm || t->inner) {
		x86_frame_put(buf, &off, gsz, cpu->seg[X86_SS].sel);
		x86_frame_put(buf, &off, gsz, cpu->r[X86_RSP]);
	}
	x86_frame_put(buf, &off, gsz, x86_get_flags(cpu));
	x86_frame_put(buf, &off, gsz, cpu->seg[X86_CS].sel);
	x86_frame_put(buf, &off, gsz, ret_rip);
	if (has_error)
		x86_frame_put(buf, &off, gsz, error);
	len = 48 - off;
	nsp = (t->sp - len) & spm;
	if (!lm) {
		lim = t->inner ? x86_desc_limit(t->ssd) :
		    cpu->seg[X86_SS].limit;
		if (nsp + len - 1 > lim)
			return x86_fault(cpu, X86_SS_EXC, t->inner ?
			    (t->ss & 0xfffc) : 0);
	}
	r = x86_frame_write(cpu, lm ? nsp : ((t->ssbase + nsp) &
	    0xffffffffULL), buf + off, len, t->dpl);
	if (r != X86_OK)
		return r;
	t->sp = (t->sp & ~spm) | nsp;
	return X86_OK;
}

static void
x86_pm_commit(struct x86_cpu *cpu, const struct x86_gate *g,
    const struct x86_pm_target *t)
{
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;

	if (t->inner && lm) {
		cpu->seg[X86_SS].sel = (uint16_t)t->dpl;
		x86_canon_null_seg(cpu, X86_SS);
		cpu->seg[X86_SS].access |= (uint32_t)t->dpl << 5;
	} else if (t->inner) {
		x86_set_seg_desc(cpu, X86_SS, t->ss, t->ssd);
	}
	cpu->r[X86_RSP] = t->sp;
	x86_set_seg_desc(cpu, X86_CS, (g->sel & 0xfffc) | t->dpl, t->csd);
	x86_flags_sync(cpu);
	cpu->rflags &= ~(X86_TF | X86_NT | X86_RF | X86_VM);
	if (!(g->type & 1))
		cpu->rflags &= ~X86_IF;
	cpu->cpl = t->dpl;
	x86_update_mode(cpu);
	cpu->rip = g->off & (lm ? ~0ULL : (g->type & 8) ? 0xffffffffULL :
	    0xffffULL);
}

/* Protected and long mode (SDM vol. 3, 6.12 and 6.14). */
static int
x86_deliver_pm(struct x86_cpu *cpu, int type, int vector, bool has_error,
    uint32_t error, uint64_t ret_rip)
{
	struct x86_pm_target t = { 0 };
	struct x86_gate g;
	uint32_t csa;
	int r;

	if ((r = x86_read_gate(cpu, vector, type, &g)) != X86_OK)
		return r;
	if (g.type == 5) {
		cpu->out->u.unsupported.what = "task gate";
		return x86_stop(cpu, X86_STOP_UNSUPPORTED);
	}
	if ((r = x86_gate_cs(cpu, &g, type, &t.csd)) != X86_OK)
		return r;
	csa = x86_desc_access(t.csd);
	t.dpl = (int)SEG_ACCESS_DPL(csa);
	t.inner = !(csa & 4) && t.dpl < cpu->cpl;
	if (!t.inner)
		t.dpl = cpu->cpl;
	if ((r = x86_pm_stack(cpu, &g, type, &t)) != X86_OK ||
	    (r = x86_pm_frame(cpu, &g, &t, has_error, error, ret_rip)) !=
	    X86_OK)
		return r;
	x86_pm_commit(cpu, &g, &t);
	return X86_OK;
}

int
x86_deliver_event(struct x86_cpu *cpu, int type, int vector,
    bool has_error, uint32_t error, uint64_t ret_rip)
{
	int r;

	cpu->delivering.valid = true;
	cpu->delivering.type = type;
	cpu->delivering.vector = vector;
	cpu->delivering.has_error = has_error;
	cpu->delivering.error = error;
	if (cpu->rflags & X86_VM) {
		cpu->out->u.unsupported.what = "virtual-8086 mode";
		return x86_stop(cpu, X86_STOP_UNSUPPORTED);
	}
	if (cpu->mode == X86_MODE_REAL)
		r = x86_deliver_real(cpu, vector, ret_rip);
	else
		r = x86_deliver_pm(cpu, type, vector, has_error, error,
		    ret_rip);
	if (r != X86_OK)
		return r;
	cpu->delivering.valid = false;
	cpu->shadow = 0;
	if (type == X86_EVENT_NMI)
		cpu->nmi_blocked = true;
	return X86_OK;
}

/* ---- INT n, INT3, INTO, INT1 ---- */

int
x86_h_int(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	cpu->delivering.inst_len = in->len;
	r = x86_deliver_event(cpu, X86_EVENT_SWINT, (int)in->imm, false, 0,
	    x86_next_rip(cpu, in));
	return r == X86_OK ? X86_BRANCH : r;
}

static int
x86_sw_exc(struct x86_cpu *cpu, const struct x86_insn *in, int vector,
    int type)
{
	x86_fault_ne(cpu, vector);
	cpu->exc.type = type;
	cpu->exc.inst_len = in->len;
	return X86_EXC;
}

int
x86_h_int3(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_sw_exc(cpu, in, X86_BP, X86_EVENT_SWEXC);
}

int
x86_h_into(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!(x86_get_flags(cpu) & X86_OF))
		return X86_OK;
	return x86_sw_exc(cpu, in, X86_OFV, X86_EVENT_SWEXC);
}

int
x86_h_int1(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_sw_exc(cpu, in, X86_DB, X86_EVENT_PRIV_SWEXC);
}

/* ---- IRET ---- */

struct x86_iret {
	uint64_t rip, cs, fl, sp, ss;
	uint64_t csd, ssd;
	int osz, rpl;
	bool outer, pop_ss;
};

static int
x86_iret_pop(struct x86_cpu *cpu, struct x86_iret *t, int n)
{
	uint64_t v[5], sp = cpu->r[X86_RSP], spm = x86_sp_mask(cpu);
	int i, r;

	for (i = 0; i < n; i++) {
		r = x86_read(cpu, X86_SS, (sp + (uint64_t)i * t->osz) & spm,
		    t->osz, &v[i]);
		if (r != X86_OK)
			return r;
	}
	t->rip = v[0];
	t->cs = v[1] & 0xffff;
	t->fl = v[2];
	if (n == 5) {
		t->sp = v[3];
		t->ss = v[4] & 0xffff;
	}
	return X86_OK;
}

/* Which RFLAGS bits IRET/POPF may change (SDM vol. 2, IRET, POPF). */
static uint64_t
x86_flags_writable(const struct x86_cpu *cpu, int cpl, int osz)
{
	uint64_t m = X86_ARITH | X86_TF | X86_DF | X86_NT;
	int iopl = (int)((cpu->rflags >> 12) & 3);

	if (osz > 2)
		m |= X86_RF | X86_AC | X86_ID;
	if (cpl <= iopl)
		m |= X86_IF;
	if (cpl == 0) {
		m |= X86_IOPL;
		if (osz > 2)
			m |= X86_VIF | X86_VIP;
	}
	if (osz == 2)
		m &= 0xffff;
	return m;
}

static int
x86_iret_real(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_iret t = { .osz = in->osize };
	uint64_t m = t.osz == 2 ? 0xffffULL : 0x257fd5ULL;
	int r;

	if ((r = x86_iret_pop(cpu, &t, 3)) != X86_OK)
		return r;
	if (t.rip > cpu->seg[X86_CS].limit)
		return x86_gp0(cpu);
	cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~x86_sp_mask(cpu)) |
	    ((cpu->r[X86_RSP] + 3 * t.osz) & x86_sp_mask(cpu));
	x86_set_rflags(cpu, (x86_get_flags(cpu) & ~m) | (t.fl & m));
	x86_seg_real(cpu, X86_CS, (uint16_t)t.cs);
	cpu->rip = t.rip;
	cpu->nmi_blocked = false;
	x86_update_mode(cpu);
	return X86_BRANCH;
}

/* The return CS (SDM vol. 2, IRET: protected-mode return). */
static int
x86_iret_check_cs(struct x86_cpu *cpu, struct x86_iret *t)
{
	uint32_t a;
	int r;

	if ((t->cs & 0xfffc) == 0)
		return x86_gp0(cpu);
	if ((r = x86_read_desc(cpu, (uint16_t)t->cs, &t->csd, NULL,
	    X86_GP)) != X86_OK)
		return r;
	a = x86_desc_access(t->csd);
	t->rpl = t->cs & 3;
	if (!(a & SEG_ACCESS_S) || !(a & 8) || t->rpl < cpu->cpl ||
	    ((a & 4) ? (int)SEG_ACCESS_DPL(a) > t->rpl :
	    (int)SEG_ACCESS_DPL(a) != t->rpl))
		return x86_fault(cpu, X86_GP, t->cs & 0xfffc);
	if ((cpu->efer & X86_EFER_LMA) && (a & SEG_ACCESS_L) &&
	    (a & SEG_ACCESS_DB))
		return x86_fault(cpu, X86_GP, t->cs & 0xfffc);
	if (!(a & SEG_ACCESS_P))
		return x86_fault(cpu, X86_NP, t->cs & 0xfffc);
	return X86_OK;
}

static int
x86_iret_check_ss(struct x86_cpu *cpu, struct x86_iret *t)
{
	bool to64 = (cpu->efer & X86_EFER_LMA) &&
	    (x86_desc_access(t->csd) & SEG_ACCESS_L);
	uint32_t a;
	int r;

	if ((t->ss & 0xfffc) == 0) {
		if (to64 && t->rpl != 3)
			return X86_OK;
		return x86_gp0(cpu);
	}
	if ((int)(t->ss & 3) != t->rpl)
		return x86_fault(cpu, X86_GP, t->ss & 0xfffc);
	if ((r = x86_read_desc(cpu, (uint16_t)t->ss, &t->ssd, NULL,
	    X86_GP)) != X86_OK)
		return r;
	a = x86_desc_access(t->ssd);
	if (!(a & SEG_ACCESS_S) || (a & 8) || !(a & 2) ||
	    (int)SEG_ACCESS_DPL(a) != t->rpl)
		return x86_fault(cpu, X86_GP, t->ss & 0xfffc);
	if (!(a & SEG_ACCESS_P))
		return x86_fault(cpu, X86_SS_EXC, t->ss & 0xfffc);
	return X86_OK;
}

/* Data segments a less privileged return may not keep are nulled. */
static void
x86_iret_null_segs(struct x86_cpu *cpu)
{
	static const int segs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
	unsigned i;

	for (i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		struct x86_seg *s = &cpu->seg[segs[i]];
		uint32_t a = s->access;
		if (a & SEG_ACCESS_UNUSABLE)
			continue;
		if ((!(a & 8) || !(a & 4)) && (int)SEG_ACCESS_DPL(a) < cpu->cpl) {
			s->sel = 0;
			x86_canon_null_seg(cpu, segs[i]);
		}
	}
}

static void
x86_iret_commit(struct x86_cpu *cpu, struct x86_iret *t, int n)
{
	uint64_t m = x86_flags_writable(cpu, cpu->cpl, t->osz);
	uint64_t spm = x86_sp_mask(cpu);
	int old_cpl = cpu->cpl;

	x86_set_rflags(cpu, (x86_get_flags(cpu) & ~m) | (t->fl & m));
	if (t->pop_ss) {
		cpu->r[X86_RSP] = t->osz == 8 ? t->sp :
		    t->osz == 4 ? (t->sp & 0xffffffffULL) :
		    ((cpu->r[X86_RSP] & ~0xffffULL) | (t->sp & 0xffff));
	} else {
		cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~spm) |
		    ((cpu->r[X86_RSP] + (uint64_t)n * t->osz) & spm);
	}
	x86_set_seg_desc(cpu, X86_CS, (uint16_t)t->cs, t->csd);
	if (t->pop_ss) {
		if ((t->ss & 0xfffc) == 0) {
			cpu->seg[X86_SS].sel = (uint16_t)t->ss;
			x86_canon_null_seg(cpu, X86_SS);
			cpu->seg[X86_SS].access |= (uint32_t)t->rpl << 5;
		} else {
			x86_set_seg_desc(cpu, X86_SS, (uint16_t)t->ss, t->ssd);
		}
	}
	cpu->cpl = t->rpl;
	x86_update_mode(cpu);
	if (t->rpl > old_cpl)
		x86_iret_null_segs(cpu);
	cpu->rip = t->rip & (cpu->csize == 8 ? ~0ULL : cpu->csize == 4 ?
	    0xffffffffULL : 0xffffULL);
	cpu->nmi_blocked = false;
}

int
x86_h_iret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_iret t = { .osz = in->osize };
	bool lm = (cpu->efer & X86_EFER_LMA) != 0;
	int r, n;

	x86_serialize(cpu);
	if (cpu->mode == X86_MODE_REAL)
		return x86_iret_real(cpu, in);
	if (!lm && (cpu->rflags & X86_NT)) {
		cpu->out->u.unsupported.what = "task return (IRET, NT=1)";
		return x86_stop_insn(cpu, X86_STOP_UNSUPPORTED);
	}
	n = cpu->mode == X86_MODE_LONG ? 5 : 3;
	if ((r = x86_iret_pop(cpu, &t, n)) != X86_OK)
		return r;
	if (!lm && (t.fl & X86_VM) && cpu->cpl == 0) {
		cpu->out->u.unsupported.what = "IRET to virtual-8086 mode";
		return x86_stop_insn(cpu, X86_STOP_UNSUPPORTED);
	}
	if ((r = x86_iret_check_cs(cpu, &t)) != X86_OK)
		return r;
	t.outer = t.rpl > cpu->cpl;
	if (t.outer && n == 3 && (r = x86_iret_pop(cpu, &t, 5)) != X86_OK)
		return r;
	t.pop_ss = t.outer || n == 5;
	if (t.pop_ss && (r = x86_iret_check_ss(cpu, &t)) != X86_OK)
		return r;
	x86_iret_commit(cpu, &t, n);
	return X86_BRANCH;
}
