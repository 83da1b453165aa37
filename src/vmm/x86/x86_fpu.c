/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x87 and the FXSAVE image.  Values are 80-bit extended reals held in
 * host long double (the same format on x86-64); arithmetic runs on the
 * host x87 with the guest's control word, exceptions masked on the host,
 * so the masked responses and the status flags are the hardware's.
 * Implemented: control (FNINIT FNCLEX FLDCW FNSTCW FNSTSW FNSTENV FLDENV
 * FNSAVE FRSTOR FWAIT), loads/stores (FLD FST FSTP FILD FIST FISTP FISTTP
 * of every memory size, FLD/FST/FSTP/FXCH ST(i), FLDZ FLD1 FLDPI FLDL2E
 * FLDL2T FLDLG2 FLDLN2), FADD FSUB FSUBR FMUL FDIV FDIVR in all forms,
 * FCOM/FCOMP/FCOMPP/FUCOM*, FCOMI/FUCOMI(P), FTST, FXAM, FCHS, FABS,
 * FSQRT, FRNDINT, FSCALE, FPREM, FPREM1, FXTRACT, FCMOVcc, FFREE,
 * FINCSTP/FDECSTP, FNOP.  Others (transcendentals, BCD) raise #UD.
 * Unmasked x87 exceptions set ES and raise #MF at the next waiting
 * instruction (CR0.NE=1 behaviour).
 */
#include "x86_internal.h"

typedef long double x87_t;

enum { M_F32, M_F64, M_F80, M_I16, M_I32, M_I64 };
static const int x87_msize[] = { 4, 8, 10, 2, 4, 8 };

#define X87_TOP(cpu) (((cpu)->fpu.fsw >> 11) & 7)
#define X87_C0 0x100
#define X87_C1 0x200
#define X87_C2 0x400
#define X87_C3 0x4000

void
x86_fpu_reset(struct x86_cpu *cpu)
{
	memset(&cpu->fpu, 0, sizeof(cpu->fpu));
	cpu->fpu.fcw = 0x37f;
	cpu->fpu.mxcsr = 0x1f80;
}

static int
x87_check(struct x86_cpu *cpu, bool wait)
{
	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return x86_fault_ne(cpu, X86_NM);
	if (wait && (cpu->fpu.fsw & 0x80))
		return x86_fault_ne(cpu, X86_MF);
	return X86_OK;
}

static x87_t
x87_get(struct x86_cpu *cpu, int i)
{
	x87_t v = 0;

	memcpy(&v, cpu->fpu.st[(X87_TOP(cpu) + i) & 7], 10);
	return v;
}

static bool
x87_valid(struct x86_cpu *cpu, int i)
{
	return (cpu->fpu.ftw >> ((X87_TOP(cpu) + i) & 7)) & 1;
}

static void
x87_set(struct x86_cpu *cpu, int i, x87_t v)
{
	int p = (X87_TOP(cpu) + i) & 7;

	memset(cpu->fpu.st[p], 0, 16);
	memcpy(cpu->fpu.st[p], &v, 10);
	cpu->fpu.ftw |= 1 << p;
}

static void
x87_settop(struct x86_cpu *cpu, int top)
{
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~0x3800) | ((top & 7) << 11));
}

/* Stack fault: invalid operation with SF; the masked result is a NaN. */
static void
x87_stack_fault(struct x86_cpu *cpu, bool overflow)
{
	cpu->fpu.fsw |= 0x41 | (overflow ? X87_C1 : 0);
	if (!(cpu->fpu.fcw & 1))
		cpu->fpu.fsw |= 0x8080;
}

static void
x87_push(struct x86_cpu *cpu, x87_t v)
{
	int top = (X87_TOP(cpu) - 1) & 7;

	if ((cpu->fpu.ftw >> top) & 1) {
		x87_stack_fault(cpu, true);
		v = __builtin_nanl("");
		v = -v;
	}
	x87_settop(cpu, top);
	x87_set(cpu, 0, v);
}

static void
x87_pop(struct x86_cpu *cpu)
{
	cpu->fpu.ftw &= ~(1 << X87_TOP(cpu));
	x87_settop(cpu, X87_TOP(cpu) + 1);
}

/* ST(i) for reading, with the empty-register check. */
static x87_t
x87_rd(struct x86_cpu *cpu, int i)
{
	if (!x87_valid(cpu, i)) {
		x87_t n = __builtin_nanl("");
		x87_stack_fault(cpu, false);
		return -n;
	}
	return x87_get(cpu, i);
}

/* ---- the host x87 with the guest's control word ---- */

static uint16_t
x87_enter(struct x86_cpu *cpu)
{
	uint16_t host, cw = cpu->fpu.fcw | 0x3f;

	__asm__ volatile("fnstcw %0" : "=m"(host));
	__asm__ volatile("fnclex\n\tfldcw %0" : : "m"(cw));
	return host;
}

static void
x87_leave(struct x86_cpu *cpu, uint16_t host)
{
	uint16_t sw;

	__asm__ volatile("fnstsw %0" : "=m"(sw));
	__asm__ volatile("fnclex\n\tfldcw %0" : : "m"(host));
	/* C1 says whether the result was rounded up. */
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~X87_C1) | (sw & X87_C1) |
	    (sw & 0x3f));
	if (sw & 0x3f & ~cpu->fpu.fcw)
		cpu->fpu.fsw |= 0x8080;	/* ES, B: #MF at the next one */
}

#define X87_PIN(v) __asm__ volatile("" : "+m"(v))

static x87_t
x87_arith(int op, x87_t a, x87_t b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a * b;
	case 4: return a - b;
	case 5: return b - a;
	case 6: return a / b;
	default: return b / a;
	}
}

static void
x87_raise(struct x86_cpu *cpu, uint16_t flags)
{
	cpu->fpu.fsw |= flags;
	if (flags & ~cpu->fpu.fcw & 0x3f)
		cpu->fpu.fsw |= 0x8080;
}

static bool
x87_is_snan(x87_t v)
{
	uint8_t b[16] = { 0 };
	uint64_t m;

	memcpy(b, &v, 10);
	memcpy(&m, b, 8);
	return ((b[8] | (b[9] << 8)) & 0x7fff) == 0x7fff &&
	    !(m & (1ULL << 62)) && (m << 1) != 0;
}

static bool
x87_is_denormal(x87_t v)
{
	uint8_t b[16] = { 0 };
	uint64_t m;

	memcpy(b, &v, 10);
	memcpy(&m, b, 8);
	return ((b[8] | (b[9] << 8)) & 0x7fff) == 0 && m != 0;
}

/*
 * Compare into C0/C2/C3 (FCOM) or CF/PF/ZF (FCOMI): 0 greater, 1 less,
 * 2 equal, 3 unordered.  A NaN is invalid for the signaling compares, an
 * SNaN for all; a denormal operand sets DE.
 */
static int
x87_cmp_x(struct x86_cpu *cpu, x87_t a, x87_t b, bool sig)
{
	if (a != a || b != b) {
		if (sig || x87_is_snan(a) || x87_is_snan(b))
			x87_raise(cpu, 0x01);
		return 3;
	}
	if (x87_is_denormal(a) || x87_is_denormal(b))
		x87_raise(cpu, 0x02);
	return a < b ? 1 : a == b ? 2 : 0;
}

#define x87_cmp(a, b) x87_cmp_x(cpu, (a), (b), true)

static void
x87_set_cc(struct x86_cpu *cpu, int c)
{
	static const uint16_t cc[4] = { 0, X87_C0, X87_C3,
		X87_C0 | X87_C2 | X87_C3 };

	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~(X87_C0 | X87_C1 | X87_C2 |
	    X87_C3)) | cc[c]);
}

static void
x87_set_eflags(struct x86_cpu *cpu, int c)
{
	static const uint64_t f[4] = { 0, X86_CF, X86_ZF,
		X86_ZF | X86_PF | X86_CF };

	x86_set_aflags(cpu, X86_ARITH, f[c]);
}

/* ---- memory operands ---- */

static int
x87_load(struct x86_cpu *cpu, const struct x86_insn *in, int t, x87_t *v)
{
	uint8_t b[16] = { 0 };
	int r = x86_read_buf(cpu, in->seg, x86_ea(cpu, in), x87_msize[t], b);
	uint16_t host;
	float f;
	double d;

	if (r != X86_OK)
		return r;
	host = x87_enter(cpu);
	switch (t) {
	case M_F32: memcpy(&f, b, 4); X87_PIN(f); *v = f; break;
	case M_F64: memcpy(&d, b, 8); X87_PIN(d); *v = d; break;
	case M_F80: memcpy(v, b, 10); break;
	case M_I16: *v = (int16_t)(b[0] | (b[1] << 8)); break;
	case M_I32: { int32_t i; memcpy(&i, b, 4); *v = i; } break;
	default: { int64_t i; memcpy(&i, b, 8); *v = (x87_t)i; } break;
	}
	X87_PIN(*v);
	x87_leave(cpu, host);
	return X86_OK;
}

/* Integer conversion with the rounding control (or truncation). */
static int64_t
x87_to_int(x87_t v, int size, bool trunc, uint16_t fcw, bool *ovf)
{
	int64_t i;
	uint16_t cw = (uint16_t)(fcw | 0x3f | (trunc ? 0xc00 : 0));
	uint16_t old;

	__asm__ volatile("fnstcw %0" : "=m"(old));
	__asm__ volatile("fldcw %0" : : "m"(cw));
	__asm__ volatile("fistpll %0" : "=m"(i) : "t"(v) : "st");
	__asm__ volatile("fldcw %0" : : "m"(old));
	*ovf = false;
	if (size < 8 && (i < -(1LL << (size * 8 - 1)) ||
	    i >= (1LL << (size * 8 - 1)))) {
		i = -(1LL << (size * 8 - 1));	/* integer indefinite */
		*ovf = true;
	}
	return i;
}

static int
x87_store(struct x86_cpu *cpu, const struct x86_insn *in, int t, x87_t v,
    bool trunc)
{
	uint8_t b[16] = { 0 };
	uint16_t host = x87_enter(cpu);
	float f;
	double d;
	int64_t i;
	bool ovf = false;

	X87_PIN(v);
	switch (t) {
	case M_F32: f = (float)v; X87_PIN(f); memcpy(b, &f, 4); break;
	case M_F64: d = (double)v; X87_PIN(d); memcpy(b, &d, 8); break;
	case M_F80: memcpy(b, &v, 10); break;
	default:
		i = x87_to_int(v, x87_msize[t], trunc, cpu->fpu.fcw, &ovf);
		memcpy(b, &i, 8);
		break;
	}
	x87_leave(cpu, host);
	if (ovf)
		x87_raise(cpu, 0x01);
	return x86_write_buf(cpu, in->seg, x86_ea(cpu, in), x87_msize[t], b);
}

/* ---- environment, FNSAVE/FRSTOR, FXSAVE/FXRSTOR ---- */

/* The full 2-bit tag of physical register p (SDM vol. 1, 8.1.7). */
static unsigned
x87_tag(struct x86_cpu *cpu, int p)
{
	const uint8_t *r = cpu->fpu.st[p];
	uint16_t exp = (uint16_t)(r[8] | ((r[9] & 0x7f) << 8));
	uint64_t mant;

	if (!((cpu->fpu.ftw >> p) & 1))
		return 3;
	memcpy(&mant, r, 8);
	if (exp == 0x7fff || (exp == 0 && mant != 0) || !(mant >> 63))
		return exp == 0 && mant == 0 ? 1 : 2;
	return 0;
}

static uint16_t
x87_full_tags(struct x86_cpu *cpu)
{
	uint16_t t = 0;
	int p;

	for (p = 0; p < 8; p++)
		t |= (uint16_t)(x87_tag(cpu, p) << (2 * p));
	return t;
}

/* FNSTENV/FLDENV image: 28 bytes (osize 4/8) or 14 (osize 2). */
static int
x87_env_size(const struct x86_insn *in)
{
	return in->osize == 2 ? 14 : 28;
}

static void
x87_env_put(struct x86_cpu *cpu, const struct x86_insn *in, uint8_t *b)
{
	int w = in->osize == 2 ? 2 : 4, i;
	uint32_t v[7] = { cpu->fpu.fcw, cpu->fpu.fsw, x87_full_tags(cpu),
		(uint32_t)cpu->fpu.fip,
		cpu->fpu.fcs | ((uint32_t)(cpu->fpu.fop & 0x7ff) << 16),
		(uint32_t)cpu->fpu.fdp, cpu->fpu.fds };

	memset(b, 0, 28);
	for (i = 0; i < 7; i++)
		memcpy(b + i * w, &v[i], w);
	if (w == 4) {
		b[2] = b[3] = b[6] = b[7] = b[10] = b[11] = 0xff;
		b[26] = b[27] = 0xff;
	}
}

static void
x87_env_get(struct x86_cpu *cpu, const struct x86_insn *in,
    const uint8_t *b)
{
	int w = in->osize == 2 ? 2 : 4, p;
	uint16_t tags;

	memcpy(&cpu->fpu.fcw, b, 2);
	memcpy(&cpu->fpu.fsw, b + w, 2);
	memcpy(&tags, b + 2 * w, 2);
	cpu->fpu.ftw = 0;
	for (p = 0; p < 8; p++)
		if (((tags >> (2 * p)) & 3) != 3)
			cpu->fpu.ftw |= 1 << p;
	/* Pending unmasked exceptions set ES/B again. */
	if (cpu->fpu.fsw & 0x3f & ~cpu->fpu.fcw)
		cpu->fpu.fsw |= 0x8080;
	else
		cpu->fpu.fsw &= ~0x8080;
}

static void
x87_init(struct x86_cpu *cpu)
{
	cpu->fpu.fcw = 0x37f;
	cpu->fpu.fsw = 0;
	cpu->fpu.ftw = 0;
	cpu->fpu.fop = 0;
	cpu->fpu.fip = cpu->fpu.fdp = 0;
	cpu->fpu.fcs = cpu->fpu.fds = 0;
}

static int
x87_save(struct x86_cpu *cpu, const struct x86_insn *in, bool regs)
{
	uint8_t b[28 + 80];
	int n = x87_env_size(in), i, r;

	x87_env_put(cpu, in, b);
	if (regs) {
		for (i = 0; i < 8; i++)
			memcpy(b + n + i * 10, cpu->fpu.st[(X87_TOP(cpu) + i) &
			    7], 10);
		n += 80;
	}
	for (i = 0; i < n; i += 16) {
		r = x86_write_buf(cpu, in->seg, (x86_ea(cpu, in) + i) &
		    x86_size_mask(in->asize), n - i > 16 ? 16 : n - i, b + i);
		if (r != X86_OK)
			return r;
	}
	if (regs)
		x87_init(cpu);
	else
		cpu->fpu.fcw |= 0x3f;	/* FNSTENV masks all exceptions */
	return X86_OK;
}

static int
x87_restore(struct x86_cpu *cpu, const struct x86_insn *in, bool regs)
{
	uint8_t b[28 + 80];
	int n = x87_env_size(in) + (regs ? 80 : 0), i, r;

	for (i = 0; i < n; i += 16) {
		r = x86_read_buf(cpu, in->seg, (x86_ea(cpu, in) + i) &
		    x86_size_mask(in->asize), n - i > 16 ? 16 : n - i, b + i);
		if (r != X86_OK)
			return r;
	}
	x87_env_get(cpu, in, b);
	if (regs) {
		n = x87_env_size(in);
		for (i = 0; i < 8; i++) {
			uint8_t *p = cpu->fpu.st[(X87_TOP(cpu) + i) & 7];
			memset(p, 0, 16);
			memcpy(p, b + n + i * 10, 10);
		}
	}
	return X86_OK;
}

void
x86_get_fxsave(struct x86_cpu *cpu, uint8_t img[512])
{
	const struct x86_fpu *f = &cpu->fpu;
	uint32_t mask = 0xffff;
	int i;

	memset(img, 0, 512);
	memcpy(img, &f->fcw, 2);
	memcpy(img + 2, &f->fsw, 2);
	img[4] = f->ftw;
	memcpy(img + 6, &f->fop, 2);
	memcpy(img + 8, &f->fip, 8);
	memcpy(img + 16, &f->fdp, 8);
	memcpy(img + 24, &f->mxcsr, 4);
	memcpy(img + 28, &mask, 4);
	for (i = 0; i < 8; i++)
		memcpy(img + 32 + i * 16, f->st[(X87_TOP(cpu) + i) & 7], 10);
	memcpy(img + 160, f->xmm, 256);
}

void
x86_set_fxsave(struct x86_cpu *cpu, const uint8_t img[512])
{
	struct x86_fpu *f = &cpu->fpu;
	int i;

	memcpy(&f->fcw, img, 2);
	memcpy(&f->fsw, img + 2, 2);
	f->ftw = img[4];
	memcpy(&f->fop, img + 6, 2);
	memcpy(&f->fip, img + 8, 8);
	memcpy(&f->fdp, img + 16, 8);
	memcpy(&f->mxcsr, img + 24, 4);
	for (i = 0; i < 8; i++) {
		uint8_t *p = f->st[(X87_TOP(cpu) + i) & 7];
		memset(p, 0, 16);
		memcpy(p, img + 32 + i * 16, 10);
	}
	memcpy(f->xmm, img + 160, 256);
}

/* 0F AE /0 FXSAVE, /1 FXRSTOR (16-byte aligned, 512 bytes). */
int
x86_h_fxsave(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = x86_ea(cpu, in);
	uint8_t img[512];
	int i, r;

	if ((r = x87_check(cpu, false)) != X86_OK)
		return r;
	if (ea & 15)
		return x86_gp0(cpu);
	if ((r = x86_probe_write(cpu, in->seg, ea, 512)) != X86_OK)
		return r;
	x86_get_fxsave(cpu, img);
	if (!(in->pfx & X86_P_REXW)) {	/* 32-bit format: FCS/FDS */
		memset(img + 12, 0, 4);
		memcpy(img + 12, &cpu->fpu.fcs, 2);
		memset(img + 20, 0, 4);
		memcpy(img + 20, &cpu->fpu.fds, 2);
	}
	for (i = 0; i < 512; i += 16)
		if ((r = x86_write_buf(cpu, in->seg, (ea + i) &
		    x86_size_mask(in->asize), 16, img + i)) != X86_OK)
			return r;
	return X86_OK;
}

int
x86_h_fxrstor(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = x86_ea(cpu, in);
	uint8_t img[512];
	uint32_t mx;
	int i, r;

	if ((r = x87_check(cpu, false)) != X86_OK)
		return r;
	if (ea & 15)
		return x86_gp0(cpu);
	for (i = 0; i < 512; i += 16)
		if ((r = x86_read_buf(cpu, in->seg, (ea + i) &
		    x86_size_mask(in->asize), 16, img + i)) != X86_OK)
			return r;
	memcpy(&mx, img + 24, 4);
	if (mx & ~0xffffU)
		return x86_gp0(cpu);
	x86_set_fxsave(cpu, img);
	return X86_OK;
}

int
x86_h_fwait(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr0 & (X86_CR0_MP | X86_CR0_TS)) ==
	    (X86_CR0_MP | X86_CR0_TS))
		return x86_fault_ne(cpu, X86_NM);
	if (cpu->fpu.fsw & 0x80)
		return x86_fault_ne(cpu, X86_MF);
	return X86_OK;
}

/* ---- instructions with a memory operand ---- */

static int
x87_arith_mem(struct x86_cpu *cpu, const struct x86_insn *in, int t)
{
	int op = in->reg & 7, r;
	x87_t m, a;
	uint16_t host;

	if ((r = x87_load(cpu, in, t, &m)) != X86_OK)
		return r;
	a = x87_rd(cpu, 0);
	if (op == 2 || op == 3) {
		x87_set_cc(cpu, x87_cmp(a, m));
		if (op == 3)
			x87_pop(cpu);
		return X86_OK;
	}
	host = x87_enter(cpu);
	X87_PIN(a);
	X87_PIN(m);
	a = x87_arith(op, a, m);
	X87_PIN(a);
	x87_leave(cpu, host);
	x87_set(cpu, 0, a);
	return X86_OK;
}

static int
x87_ld_st(struct x86_cpu *cpu, const struct x86_insn *in, int t, int op)
{
	x87_t v;
	int r;

	switch (op) {
	case 0:	/* FLD / FILD */
		if ((r = x87_load(cpu, in, t, &v)) == X86_OK)
			x87_push(cpu, v);
		return r;
	case 1:	/* FISTTP */
	case 2:	/* FST / FIST */
	case 3:	/* FSTP / FISTP */
		r = x87_store(cpu, in, t, x87_rd(cpu, 0), op == 1);
		if (r == X86_OK && op != 2)
			x87_pop(cpu);
		return r;
	default:
		return x86_ud(cpu);
	}
}

static int
x87_mem_d9(struct x86_cpu *cpu, const struct x86_insn *in, int reg)
{
	uint64_t v;
	int r;

	switch (reg) {
	case 4: return x87_restore(cpu, in, false);
	case 5:
		if ((r = x86_read(cpu, in->seg, x86_ea(cpu, in), 2, &v)) ==
		    X86_OK) {
			cpu->fpu.fcw = (uint16_t)v;
			if (cpu->fpu.fsw & 0x3f & ~cpu->fpu.fcw)
				cpu->fpu.fsw |= 0x8080;
			else
				cpu->fpu.fsw &= ~0x8080;
		}
		return r;
	case 6: return x87_save(cpu, in, false);
	case 7: return x86_write(cpu, in->seg, x86_ea(cpu, in), 2,
	    cpu->fpu.fcw);
	default: return x87_ld_st(cpu, in, M_F32, reg);
	}
}

static int
x87_mem(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int reg = in->reg & 7;

	switch (in->b0 & 7) {
	case 0: return x87_arith_mem(cpu, in, M_F32);
	case 1: return x87_mem_d9(cpu, in, reg);
	case 2: return x87_arith_mem(cpu, in, M_I32);
	case 3:
		if (reg == 5 || reg == 7)
			return x87_ld_st(cpu, in, M_F80, reg - 5 ? 3 : 0);
		return x87_ld_st(cpu, in, M_I32, reg);
	case 4: return x87_arith_mem(cpu, in, M_F64);
	case 5:
		if (reg == 4 || reg == 6)
			return reg == 4 ? x87_restore(cpu, in, true) :
			    x87_save(cpu, in, true);
		if (reg == 7)
			return x86_write(cpu, in->seg, x86_ea(cpu, in), 2,
			    cpu->fpu.fsw);
		return x87_ld_st(cpu, in, reg == 1 ? M_I64 : M_F64, reg);
	case 6: return x87_arith_mem(cpu, in, M_I16);
	default:
		if (reg == 5 || reg == 7)
			return x87_ld_st(cpu, in, M_I64, reg - 5 ? 3 : 0);
		return x87_ld_st(cpu, in, M_I16, reg);
	}
}

/* ---- register forms ---- */

static int
x87_arith_reg(struct x86_cpu *cpu, int grp, int op, int i)
{
	x87_t a, b;
	uint16_t host;
	int dst = grp == 0 ? 0 : i;

	if (op == 2 || op == 3) {
		if (grp == 6 && !(op == 3 && i == 1))
			return x86_ud(cpu);
		x87_set_cc(cpu, x87_cmp(x87_rd(cpu, 0), x87_rd(cpu, i)));
		if (op == 3 || grp == 6)
			x87_pop(cpu);
		if (grp == 6)
			x87_pop(cpu);	/* FCOMPP */
		return X86_OK;
	}
	if (grp != 0 && op >= 4)
		op ^= 1;	/* DC/DE: SUB/SUBR and DIV/DIVR swap */
	a = x87_rd(cpu, dst);
	b = x87_rd(cpu, dst == 0 ? i : 0);
	host = x87_enter(cpu);
	X87_PIN(a);
	X87_PIN(b);
	a = x87_arith(op, a, b);
	X87_PIN(a);
	x87_leave(cpu, host);
	x87_set(cpu, dst, a);
	if (grp == 6)
		x87_pop(cpu);
	return X86_OK;
}

static int
x87_const(struct x86_cpu *cpu, int k)
{
	static const uint64_t mant[7] = { 0x8000000000000000ULL,
		0xd49a784bcd1b8afeULL, 0xb8aa3b295c17f0bcULL,
		0xc90fdaa22168c235ULL, 0x9a209a84fbcff799ULL,
		0xb17217f7d1cf79acULL, 0 };
	static const uint16_t exp[7] = { 0x3fff, 0x4000, 0x3fff, 0x4000,
		0x3ffd, 0x3ffe, 0 };
	uint8_t b[16] = { 0 };
	x87_t v;

	memcpy(b, &mant[k], 8);
	memcpy(b + 8, &exp[k], 2);
	memcpy(&v, b, 10);
	x87_push(cpu, v);
	return X86_OK;
}

/* FXAM classes into C3 C2 C0, sign into C1. */
static void
x87_fxam(struct x86_cpu *cpu)
{
	static const uint16_t cls[] = { X87_C2, X87_C3, X87_C2 | X87_C0 };
	const uint8_t *r = cpu->fpu.st[X87_TOP(cpu)];
	uint16_t c, exp = (uint16_t)(r[8] | ((r[9] & 0x7f) << 8));
	uint64_t mant;

	memcpy(&mant, r, 8);
	if (!x87_valid(cpu, 0))
		c = X87_C3 | X87_C0;
	else if (exp == 0x7fff)
		c = (mant << 1) ? X87_C0 : cls[2];
	else if (exp == 0)
		c = mant ? X87_C3 | X87_C2 : cls[1];
	else
		c = (mant >> 63) ? cls[0] : 0;
	if (r[9] & 0x80)
		c |= X87_C1;
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~(X87_C0 | X87_C1 | X87_C2 |
	    X87_C3)) | c);
}

/* D9 F4..FF: the functions done on the host x87. */
static int
x87_d9_func(struct x86_cpu *cpu, int k)
{
	x87_t a = x87_rd(cpu, 0), b = x87_valid(cpu, 1) ? x87_get(cpu, 1) : 0;
	uint16_t host, sw = 0;

	host = x87_enter(cpu);
	switch (k) {
	case 0xa: __asm__("fsqrt" : "+t"(a)); break;
	case 0xc: __asm__("frndint" : "+t"(a)); break;
	case 0xd: __asm__("fscale" : "+t"(a) : "u"(b)); break;
	case 0x8:
	case 0x5:
		if (k == 8)
			__asm__("fprem\n\tfnstsw %1" : "+t"(a), "=m"(sw) :
			    "u"(b));
		else
			__asm__("fprem1\n\tfnstsw %1" : "+t"(a), "=m"(sw) :
			    "u"(b));
		/* No quotient for NaN/infinite/zero operands: C0 C1 C3 stay
		 * (the host's would be stale). */
		if (a == a && b == b && b != 0 && __builtin_isfinite(b))
			cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~(X87_C0 |
			    X87_C1 | X87_C2 | X87_C3)) | (sw & (X87_C0 |
			    X87_C1 | X87_C2 | X87_C3)));
		else
			cpu->fpu.fsw &= ~X87_C2;
		break;
	default:
		x87_leave(cpu, host);
		return x86_ud(cpu);
	}
	x87_leave(cpu, host);
	x87_set(cpu, 0, a);
	return X86_OK;
}

static int
x87_reg_d9(struct x86_cpu *cpu, int m)
{
	int i = m & 7;
	x87_t a, b;

	switch (m >> 3) {
	case 0: x87_push(cpu, x87_rd(cpu, i)); return X86_OK;
	case 1:
		a = x87_rd(cpu, 0);
		b = x87_rd(cpu, i);
		x87_set(cpu, 0, b);
		x87_set(cpu, i, a);
		return X86_OK;
	case 2: return m == 0x10 ? X86_OK : x86_ud(cpu);
	case 4:
		if (i == 0 || i == 1) {
			uint8_t *r = cpu->fpu.st[X87_TOP(cpu)];
			(void)x87_rd(cpu, 0);
			r[9] = i ? (r[9] & 0x7f) : (r[9] ^ 0x80);
			return X86_OK;
		}
		if (i == 4) {
			x87_set_cc(cpu, x87_cmp(x87_rd(cpu, 0), 0));
			return X86_OK;
		}
		if (i == 5) {
			x87_fxam(cpu);
			return X86_OK;
		}
		return x86_ud(cpu);
	case 5: return i == 7 ? x86_ud(cpu) : x87_const(cpu, i == 6 ? 6 :
	    i == 0 ? 0 : i);
	case 6:
		if (i == 6 || i == 7) {
			x87_settop(cpu, X87_TOP(cpu) + (i == 7 ? 1 : -1));
			return X86_OK;
		}
		if (i == 4) {	/* FXTRACT */
			x87_t v = x87_rd(cpu, 0), e, s;
			__asm__("fxtract" : "=t"(s), "=u"(e) : "0"(v));
			x87_set(cpu, 0, e);
			x87_push(cpu, s);
			return X86_OK;
		}
		return x87_d9_func(cpu, i == 5 ? 5 : i);
	default:
		return x87_d9_func(cpu, 8 + i);
	}
}

static bool
x87_fcmov_cond(struct x86_cpu *cpu, int k)
{
	uint64_t f = x86_get_flags(cpu);

	switch (k & 3) {
	case 0: return f & X86_CF;
	case 1: return f & X86_ZF;
	case 2: return f & (X86_CF | X86_ZF);
	default: return f & X86_PF;
	}
}

static int
x87_reg_dadb(struct x86_cpu *cpu, int grp, int m)
{
	int i = m & 7, k = m >> 3;

	if (k < 4) {
		bool c = x87_fcmov_cond(cpu, k);
		if (grp == 3)
			c = !c;
		if (c)
			x87_set(cpu, 0, x87_rd(cpu, i));
		return X86_OK;
	}
	if (grp == 2 && m == 0x29) {	/* FUCOMPP */
		x87_set_cc(cpu, x87_cmp_x(cpu, x87_rd(cpu, 0), x87_rd(cpu, 1),
		    false));
		x87_pop(cpu);
		x87_pop(cpu);
		return X86_OK;
	}
	if (grp == 3 && m == 0x22) {
		cpu->fpu.fsw &= 0x7f00;
		return X86_OK;
	}
	if (grp == 3 && m == 0x23) {
		x87_init(cpu);
		return X86_OK;
	}
	if (grp == 3 && (k == 5 || k == 6)) {	/* FUCOMI, FCOMI */
		x87_set_eflags(cpu, x87_cmp_x(cpu, x87_rd(cpu, 0),
		    x87_rd(cpu, i), k == 6));
		return X86_OK;
	}
	return x86_ud(cpu);
}

static int
x87_reg_dddf(struct x86_cpu *cpu, int grp, int m)
{
	int i = m & 7, k = m >> 3;

	if (grp == 7) {
		if (m == 0x20) {
			x86_sreg(cpu, X86_RAX, 2, cpu->fpu.fsw);
			return X86_OK;
		}
		if (k == 5 || k == 6) {	/* FUCOMIP, FCOMIP */
			x87_set_eflags(cpu, x87_cmp_x(cpu, x87_rd(cpu, 0),
			    x87_rd(cpu, i), k == 6));
			x87_pop(cpu);
			return X86_OK;
		}
		if (k == 0) {	/* FFREEP */
			cpu->fpu.ftw &= ~(1 << ((X87_TOP(cpu) + i) & 7));
			x87_pop(cpu);
			return X86_OK;
		}
		return x86_ud(cpu);
	}
	switch (k) {
	case 0: cpu->fpu.ftw &= ~(1 << ((X87_TOP(cpu) + i) & 7));
		return X86_OK;
	case 2:
	case 3:
		x87_set(cpu, i, x87_rd(cpu, 0));
		if (k == 3)
			x87_pop(cpu);
		return X86_OK;
	case 4:
	case 5:	/* FUCOM, FUCOMP */
		x87_set_cc(cpu, x87_cmp_x(cpu, x87_rd(cpu, 0), x87_rd(cpu, i),
		    false));
		if (k == 5)
			x87_pop(cpu);
		return X86_OK;
	default:
		return x86_ud(cpu);
	}
}

static int
x87_reg(struct x86_cpu *cpu, const struct x86_insn *in, uint8_t modrm)
{
	int grp = in->b0 & 7, m = modrm & 0x3f;

	switch (grp) {
	case 0: case 4: case 6:
		return x87_arith_reg(cpu, grp, m >> 3, m & 7);
	case 1: return x87_reg_d9(cpu, m);
	case 2: case 3: return x87_reg_dadb(cpu, grp, m);
	default: return x87_reg_dddf(cpu, grp, m);
	}
}

/* Instructions that do not wait for pending exceptions (FN...). */
static bool
x87_nowait(const struct x86_insn *in, uint8_t modrm)
{
	int g = in->b0 & 7, reg = (modrm >> 3) & 7;

	if (in->mod == 3)
		return (g == 3 && (modrm == 0xe2 || modrm == 0xe3)) ||
		    (g == 7 && modrm == 0xe0);
	return (g == 1 && (reg == 5 || reg == 6 || reg == 7)) ||
	    (g == 5 && (reg == 6 || reg == 7));
}

int
x86_h_fpu(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t modrm = (uint8_t)((in->mod << 6) | ((in->reg & 7) << 3) |
	    (in->rm & 7));
	int r;

	if ((r = x87_check(cpu, !x87_nowait(in, modrm))) != X86_OK)
		return r;
	cpu->fpu.fop = (uint16_t)(((in->b0 & 7) << 8) | modrm);
	cpu->fpu.fip = cpu->rip;
	cpu->fpu.fcs = cpu->seg[X86_CS].sel;
	if (in->mod != 3) {
		cpu->fpu.fdp = x86_ea(cpu, in);
		cpu->fpu.fds = cpu->seg[in->seg].sel;
		return x87_mem(cpu, in);
	}
	return x87_reg(cpu, in, modrm);
}
