/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Integer instructions: ALU, moves, INC/DEC/NOT/NEG, multiply and divide,
 * shifts and rotates, bit tests and scans, exchanges and compare-exchange.
 * Read-modify-write forms go through x86_rmw(): with LOCK on an aligned
 * RAM operand the update is a host compare-and-swap loop.
 */
#include "x86_internal.h"

static inline uint64_t
x86_cf(struct x86_cpu *cpu)
{
	return x86_get_flags(cpu) & X86_CF;
}

/* ADD OR ADC SBB AND SUB XOR CMP on masked operands; sets lazy flags. */
static inline uint64_t
x86_alu(struct x86_cpu *cpu, int op, int size, uint64_t a, uint64_t b)
{
	uint64_t m = x86_size_mask(size), r;

	a &= m;
	b &= m;
	switch (op) {
	case 0: r = (a + b) & m; x86_lf(cpu, LF_ADD, size, r, a, b); break;
	case 1: r = a | b; x86_lf(cpu, LF_LOGIC, size, r, 0, 0); break;
	case 2:
		r = (a + b + x86_cf(cpu)) & m;
		x86_lf(cpu, LF_ADD, size, r, a, b);
		break;
	case 3:
		r = (a - b - x86_cf(cpu)) & m;
		x86_lf(cpu, LF_SBB, size, r, a, b);
		break;
	case 4: r = a & b; x86_lf(cpu, LF_LOGIC, size, r, 0, 0); break;
	case 6: r = a ^ b; x86_lf(cpu, LF_LOGIC, size, r, 0, 0); break;
	default: r = (a - b) & m; x86_lf(cpu, LF_SUB, size, r, a, b); break;
	}
	return r;
}

static bool
x86_cas(uint8_t *p, int size, uint64_t *old, uint64_t nv)
{
	switch (size) {
	case 1: {
		uint8_t o = (uint8_t)*old;
		bool ok = __atomic_compare_exchange_n(p, &o, (uint8_t)nv,
		    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 2: {
		uint16_t o = (uint16_t)*old;
		bool ok = __atomic_compare_exchange_n((uint16_t *)(void *)p,
		    &o, (uint16_t)nv, false, __ATOMIC_SEQ_CST,
		    __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 4: {
		uint32_t o = (uint32_t)*old;
		bool ok = __atomic_compare_exchange_n((uint32_t *)(void *)p,
		    &o, (uint32_t)nv, false, __ATOMIC_SEQ_CST,
		    __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	default:
		return __atomic_compare_exchange_n((uint64_t *)(void *)p, old,
		    nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

static uint64_t
x86_load_host(const uint8_t *p, int size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

typedef uint64_t (*x86_rmw_op)(struct x86_cpu *cpu,
    const struct x86_insn *in, uint64_t dst, uint64_t src);

/*
 * dst = op(dst, src) on memory at seg:ea.  *oldp gets the old value.  A
 * LOCKed aligned operand is updated with a host CAS loop; the flags left
 * are those of the attempt that succeeded.
 */
static int
x86_rmw_mem(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t ea,
    int size, uint64_t src, x86_rmw_op op, uint64_t *oldp)
{
	uint64_t old, nv, lin;
	uint8_t *p;
	int r;

	if (in->pfx & X86_P_LOCK) {
		p = x86_atomic_ptr(cpu, in->seg, ea, size, &r);
		if (r != X86_OK)
			return r;
		if (p) {
			old = x86_load_host(p, size);
			do {
				nv = op(cpu, in, old, src);
			} while (!x86_cas(p, size, &old, nv));
			if (oldp)
				*oldp = old;
			return X86_OK;
		}
	}
	if ((r = x86_probe_write(cpu, in->seg, ea, size)) != X86_OK)
		return r;
	if ((r = x86_linear(cpu, in->seg, ea, size, X86_ACC_W, &lin)) !=
	    X86_OK)
		return r;
	if ((r = x86_lread(cpu, lin, size, cpu->mmu, &old)) != X86_OK)
		return r;
	nv = op(cpu, in, old, src);
	if ((r = x86_lwrite(cpu, lin, size, cpu->mmu, nv)) != X86_OK)
		return r;
	if (oldp)
		*oldp = old;
	return X86_OK;
}

/* dst = op(dst, src) on the r/m operand. */
static int
x86_rmw(struct x86_cpu *cpu, const struct x86_insn *in, int size,
    uint64_t src, x86_rmw_op op, uint64_t *oldp)
{
	uint64_t old;

	if (in->mod == 3) {
		old = x86_greg(cpu, in->rm, size);
		x86_sreg(cpu, in->rm, size, op(cpu, in, old, src));
		if (oldp)
			*oldp = old;
		return X86_OK;
	}
	return x86_rmw_mem(cpu, in, x86_ea(cpu, in), size, src, op, oldp);
}

static uint64_t
x86_op_alu(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	return x86_alu(cpu, in->sub, in->osize, d, s);
}

int
x86_h_alu_rm_r(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t s = x86_greg(cpu, in->reg, in->osize);

	if (in->mod == 3) {
		uint64_t d = x86_greg(cpu, in->rm, in->osize);
		uint64_t r = x86_alu(cpu, in->sub, in->osize, d, s);
		if (in->sub != 7)
			x86_sreg(cpu, in->rm, in->osize, r);
		return X86_OK;
	}
	if (in->sub == 7) {
		uint64_t d;
		int r = x86_read(cpu, in->seg, x86_ea(cpu, in), in->osize, &d);
		if (r == X86_OK)
			x86_alu(cpu, 7, in->osize, d, s);
		return r;
	}
	return x86_rmw(cpu, in, in->osize, s, x86_op_alu, NULL);
}

int
x86_h_alu_r_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t s, d = x86_greg(cpu, in->reg, in->osize), r;
	int rc;

	if ((rc = x86_read_rm(cpu, in, in->osize, &s)) != X86_OK)
		return rc;
	r = x86_alu(cpu, in->sub, in->osize, d, s);
	if (in->sub != 7)
		x86_sreg(cpu, in->reg, in->osize, r);
	return X86_OK;
}

int
x86_h_alu_rm_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->mod == 3) {
		uint64_t d = x86_greg(cpu, in->rm, in->osize);
		uint64_t r = x86_alu(cpu, in->sub, in->osize, d, in->imm);
		if (in->sub != 7)
			x86_sreg(cpu, in->rm, in->osize, r);
		return X86_OK;
	}
	if (in->sub == 7) {
		uint64_t d;
		int r = x86_read(cpu, in->seg, x86_ea(cpu, in), in->osize, &d);
		if (r == X86_OK)
			x86_alu(cpu, 7, in->osize, d, in->imm);
		return r;
	}
	return x86_rmw(cpu, in, in->osize, in->imm, x86_op_alu, NULL);
}

int
x86_h_alu_a_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t d = x86_greg(cpu, X86_RAX, in->osize);
	uint64_t r = x86_alu(cpu, in->sub, in->osize, d, in->imm);

	if (in->sub != 7)
		x86_sreg(cpu, X86_RAX, in->osize, r);
	return X86_OK;
}

int
x86_h_test_rm_r(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t d;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &d)) != X86_OK)
		return r;
	x86_alu(cpu, 4, in->osize, d, x86_greg(cpu, in->reg, in->osize));
	return X86_OK;
}

int
x86_h_test_rm_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t d;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &d)) != X86_OK)
		return r;
	x86_alu(cpu, 4, in->osize, d, in->imm);
	return X86_OK;
}

int
x86_h_test_a_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_alu(cpu, 4, in->osize, cpu->r[X86_RAX], in->imm);
	return X86_OK;
}

int
x86_h_mov_rm_r(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_write_rm(cpu, in, in->osize,
	    x86_greg(cpu, in->reg, in->osize));
}

int
x86_h_mov_r_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, in->osize, v);
	return X86_OK;
}

int
x86_h_mov_rm_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_write_rm(cpu, in, in->osize, in->imm);
}

int
x86_h_mov_r_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_sreg(cpu, in->reg, in->osize, in->imm);
	return X86_OK;
}

/* A0-A3: MOV AL/eAX <-> moffs (sub 1: store). */
int
x86_h_mov_moffs(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if (in->sub)
		return x86_write(cpu, in->seg, in->imm, in->osize,
		    x86_greg(cpu, X86_RAX, in->osize));
	if ((r = x86_read(cpu, in->seg, in->imm, in->osize, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, X86_RAX, in->osize, v);
	return X86_OK;
}

int
x86_h_lea(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_sreg(cpu, in->reg, in->osize, x86_ea(cpu, in));
	return X86_OK;
}

static uint64_t
x86_op_xchg(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	return s;
}

/* XCHG with memory is always locked (SDM vol. 2, XCHG). */
int
x86_h_xchg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_insn li = *in;
	uint64_t old;
	int r;

	li.pfx |= X86_P_LOCK;
	r = x86_rmw(cpu, &li, in->osize, x86_greg(cpu, in->reg, in->osize),
	    x86_op_xchg, &old);
	if (r == X86_OK)
		x86_sreg(cpu, in->reg, in->osize, old);
	return r;
}

/* 90+r: XCHG rAX, r; 90 is NOP (F3 90: PAUSE). */
int
x86_h_xchg_a(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a, b;

	if (in->reg == 0) {
		if (in->pfx & X86_P_REP)
			return x86_h_pause(cpu, in);
		return X86_OK;
	}
	a = x86_greg(cpu, X86_RAX, in->osize);
	b = x86_greg(cpu, in->reg, in->osize);
	x86_sreg(cpu, X86_RAX, in->osize, b);
	x86_sreg(cpu, in->reg, in->osize, a);
	return X86_OK;
}

static uint64_t
x86_op_incdec(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	int size = in->osize;
	uint64_t r = (in->sub ? d - 1 : d + 1) & x86_size_mask(size);

	x86_flags_sync(cpu);
	x86_lf(cpu, in->sub ? LF_DEC : LF_INC, size, r,
	    d & x86_size_mask(size), 1);
	return r;
}

int
x86_h_incdec(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_rmw(cpu, in, in->osize, 0, x86_op_incdec, NULL);
}

int
x86_h_incdec_r(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t d = x86_greg(cpu, in->reg, in->osize);

	x86_sreg(cpu, in->reg, in->osize, x86_op_incdec(cpu, in, d, 0));
	return X86_OK;
}

static uint64_t
x86_op_not(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	return ~d;
}

int
x86_h_not(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_rmw(cpu, in, in->osize, 0, x86_op_not, NULL);
}

static uint64_t
x86_op_neg(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	return x86_alu(cpu, 5, in->osize, 0, d);
}

int
x86_h_neg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_rmw(cpu, in, in->osize, 0, x86_op_neg, NULL);
}

/* Flags after MUL/IMUL: CF = OF = overflow; SF/ZF/PF from the low half. */
static void
x86_mul_flags(struct x86_cpu *cpu, int size, uint64_t lo, bool ovf)
{
	uint64_t f = x86_parity[lo & 0xff];

	if ((lo & x86_size_mask(size)) == 0)
		f |= X86_ZF;
	if ((lo >> (size * 8 - 1)) & 1)
		f |= X86_SF;
	if (ovf)
		f |= X86_CF | X86_OF;
	x86_set_aflags(cpu, X86_ARITH, f);
}

/* Store a double-width result into AX, DX:AX, EDX:EAX or RDX:RAX. */
static void
x86_store_wide(struct x86_cpu *cpu, int size, uint64_t lo, uint64_t hi)
{
	if (size == 1) {
		x86_sreg(cpu, X86_RAX, 2, (lo & 0xff) | ((hi & 0xff) << 8));
		return;
	}
	x86_sreg(cpu, X86_RAX, size, lo);
	x86_sreg(cpu, X86_RDX, size, hi);
}

int
x86_h_mul(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int size = in->osize;
	uint64_t s, a = x86_greg(cpu, X86_RAX, size), lo, hi;
	unsigned __int128 p;
	int r;

	if ((r = x86_read_rm(cpu, in, size, &s)) != X86_OK)
		return r;
	p = (unsigned __int128)a * s;
	if (size == 8) {
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		lo = (uint64_t)p & x86_size_mask(size);
		hi = ((uint64_t)p >> (size * 8)) & x86_size_mask(size);
	}
	x86_store_wide(cpu, size, lo, hi);
	x86_mul_flags(cpu, size, lo, hi != 0);
	return X86_OK;
}

/* Signed product of two operands of 'size'; *ovf if it does not fit. */
static uint64_t
x86_imul(int size, uint64_t a, uint64_t b, uint64_t *hi, bool *ovf)
{
	__int128 p = (__int128)(int64_t)x86_sext(a, size) *
	    (__int128)(int64_t)x86_sext(b, size);
	uint64_t lo = (uint64_t)p & x86_size_mask(size);

	if (size == 8)
		*hi = (uint64_t)(p >> 64);
	else
		*hi = (uint64_t)(p >> (size * 8)) & x86_size_mask(size);
	*ovf = p != (__int128)(int64_t)x86_sext(lo, size);
	return lo;
}

int
x86_h_imul1(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int size = in->osize;
	uint64_t s, lo, hi;
	bool ovf;
	int r;

	if ((r = x86_read_rm(cpu, in, size, &s)) != X86_OK)
		return r;
	lo = x86_imul(size, x86_greg(cpu, X86_RAX, size), s, &hi, &ovf);
	x86_store_wide(cpu, size, lo, hi);
	x86_mul_flags(cpu, size, lo, ovf);
	return X86_OK;
}

int
x86_h_imul_r_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t s, lo, hi;
	bool ovf;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &s)) != X86_OK)
		return r;
	lo = x86_imul(in->osize, x86_greg(cpu, in->reg, in->osize), s, &hi,
	    &ovf);
	x86_sreg(cpu, in->reg, in->osize, lo);
	x86_mul_flags(cpu, in->osize, lo, ovf);
	return X86_OK;
}

int
x86_h_imul_r_rm_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t s, lo, hi;
	bool ovf;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &s)) != X86_OK)
		return r;
	lo = x86_imul(in->osize, s, in->imm, &hi, &ovf);
	x86_sreg(cpu, in->reg, in->osize, lo);
	x86_mul_flags(cpu, in->osize, lo, ovf);
	return X86_OK;
}

/* DIV/IDIV: #DE on a zero divisor or a quotient that does not fit. */
static int
x86_divide(struct x86_cpu *cpu, int size, bool sgn, uint64_t s)
{
	unsigned __int128 n;
	uint64_t q, rem, m = x86_size_mask(size);

	if (size == 1)
		n = x86_greg(cpu, X86_RAX, 2);
	else
		n = ((unsigned __int128)x86_greg(cpu, X86_RDX, size) <<
		    (size * 8)) | x86_greg(cpu, X86_RAX, size);
	if ((s & m) == 0)
		return x86_fault_ne(cpu, X86_DE);
	if (!sgn) {
		unsigned __int128 qq = n / (s & m);
		if (qq > m)
			return x86_fault_ne(cpu, X86_DE);
		q = (uint64_t)qq;
		rem = (uint64_t)(n % (s & m));
	} else {
		int bits = size * 16;
		__int128 sn = (bits == 128) ? (__int128)n :
		    ((__int128)(n << (128 - bits)) >> (128 - bits));
		__int128 d = (int64_t)x86_sext(s, size), qq = sn / d;
		__int128 lim = (__int128)1 << (size * 8 - 1);
		if (qq >= lim || qq < -lim)
			return x86_fault_ne(cpu, X86_DE);
		q = (uint64_t)qq & m;
		rem = (uint64_t)(sn % d) & m;
	}
	if (size == 1)
		x86_sreg(cpu, X86_RAX, 2, (q & 0xff) | ((rem & 0xff) << 8));
	else
		x86_store_wide(cpu, size, q, rem);
	return X86_OK;
}

int
x86_h_div(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t s;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &s)) != X86_OK)
		return r;
	return x86_divide(cpu, in->osize, in->sub, s);
}

static uint64_t
x86_szp(uint64_t res, int size)
{
	uint64_t f = x86_parity[res & 0xff];

	if ((res & x86_size_mask(size)) == 0)
		f |= X86_ZF;
	if ((res >> (size * 8 - 1)) & 1)
		f |= X86_SF;
	return f;
}

static uint64_t
x86_rot(struct x86_cpu *cpu, int op, int size, uint64_t a, int c)
{
	int bits = size * 8, top = bits - 1;
	uint64_t m = x86_size_mask(size), r, cf, f;

	if (op < 2) {
		int k = c & (bits - 1);
		r = op == 0 ? ((a << k) | (a >> ((bits - k) & 63))) :
		    ((a >> k) | (a << ((bits - k) & 63)));
		r = k ? r & m : a;
		cf = op == 0 ? r & 1 : (r >> top) & 1;
		f = cf | ((op == 0 ? (((r >> top) & 1) ^ cf) :
		    (((r >> top) ^ (r >> (top - 1))) & 1)) ? X86_OF : 0);
	} else {
		int k = size <= 2 ? c % (bits + 1) : c;
		cf = x86_cf(cpu);
		r = a;
		for (; k > 0; k--) {
			uint64_t out;
			if (op == 2) {
				out = (r >> top) & 1;
				r = ((r << 1) | cf) & m;
			} else {
				out = r & 1;
				r = (r >> 1) | (cf << top);
			}
			cf = out;
		}
		f = cf | ((op == 2 ? (((r >> top) & 1) ^ cf) :
		    (((r >> top) ^ (r >> (top - 1))) & 1)) ? X86_OF : 0);
	}
	x86_set_aflags(cpu, X86_CF | X86_OF, f);
	return r;
}

/* SHL/SHR/SAR with a non-zero masked count. */
static uint64_t
x86_shf(struct x86_cpu *cpu, int op, int size, uint64_t a, int c)
{
	int bits = size * 8, top = bits - 1;
	uint64_t m = x86_size_mask(size), r, cf, of;
	int64_t sa = (int64_t)x86_sext(a, size);

	if (op == 4 || op == 6) {
		r = c >= 64 ? 0 : (a << c) & m;
		cf = c > bits ? 0 : (a >> (bits - c)) & 1;
		of = ((r >> top) & 1) ^ cf;
	} else if (op == 5) {
		r = c >= 64 ? 0 : a >> c;
		cf = (a >> (c - 1)) & 1;
		of = (a >> top) & 1;
	} else {
		r = (uint64_t)(sa >> (c > 63 ? 63 : c)) & m;
		cf = (uint64_t)(sa >> (c - 1 > 63 ? 63 : c - 1)) & 1;
		of = 0;
	}
	x86_set_aflags(cpu, X86_ARITH, x86_szp(r, size) | cf |
	    (of ? X86_OF : 0));
	return r;
}

static uint64_t
x86_op_shift(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t cnt)
{
	int c = (int)(cnt & (in->osize == 8 ? 0x3f : 0x1f));

	d &= x86_size_mask(in->osize);
	if (c == 0)
		return d;
	if (in->sub < 4)
		return x86_rot(cpu, in->sub, in->osize, d, c);
	return x86_shf(cpu, in->sub, in->osize, d, c);
}

int
x86_h_shift(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t cnt;

	if (in->b0 == 0xc0 || in->b0 == 0xc1)
		cnt = in->imm;
	else if (in->b0 == 0xd0 || in->b0 == 0xd1)
		cnt = 1;
	else
		cnt = cpu->r[X86_RCX] & 0xff;
	return x86_rmw(cpu, in, in->osize, cnt, x86_op_shift, NULL);
}

/* SHLD/SHRD (sub 1): the count from imm8 or CL. */
static uint64_t
x86_op_shd(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	int size = in->osize, bits = size * 8, top = bits - 1;
	uint64_t m = x86_size_mask(size), r, cf, cnt;
	unsigned __int128 w;
	int c;

	cnt = (in->b0 & 1) ? cpu->r[X86_RCX] : in->imm;
	c = (int)(cnt & (size == 8 ? 0x3f : 0x1f));
	d &= m;
	s &= m;
	if (c == 0)
		return d;
	if (in->sub == 0) {
		w = ((unsigned __int128)d << bits) | s;
		r = (uint64_t)(w >> (bits - (c % (bits + 1)))) & m;
		cf = (uint64_t)(w >> (2 * bits - c)) & 1;
		if (c > bits)
			cf = (uint64_t)(w >> (2 * bits - c)) & 1;
	} else {
		w = ((unsigned __int128)s << bits) | d;
		r = (uint64_t)(w >> c) & m;
		cf = (uint64_t)(w >> (c - 1)) & 1;
	}
	x86_set_aflags(cpu, X86_ARITH, x86_szp(r, size) | cf |
	    ((((r ^ d) >> top) & 1) ? X86_OF : 0));
	return r;
}

int
x86_h_shd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_rmw(cpu, in, in->osize, x86_greg(cpu, in->reg, in->osize),
	    x86_op_shd, NULL);
}

int
x86_h_cbw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int half = in->osize / 2;

	x86_sreg(cpu, X86_RAX, in->osize,
	    x86_sext(x86_greg(cpu, X86_RAX, half), half));
	return X86_OK;
}

int
x86_h_cwd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a = x86_greg(cpu, X86_RAX, in->osize);

	x86_sreg(cpu, X86_RDX, in->osize,
	    ((a >> (in->osize * 8 - 1)) & 1) ? ~0ULL : 0);
	return X86_OK;
}

int
x86_h_movzx(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if ((r = x86_read_rm(cpu, in, in->sub, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, in->osize, v);
	return X86_OK;
}

int
x86_h_movsx(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if ((r = x86_read_rm(cpu, in, in->sub, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, in->osize, x86_sext(v, in->sub));
	return X86_OK;
}

/* 63: MOVSXD in 64-bit mode (ARPL elsewhere is not implemented). */
int
x86_h_movsxd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if (cpu->mode != X86_MODE_LONG)
		return x86_ud(cpu);
	if ((r = x86_read_rm(cpu, in, in->osize == 2 ? 2 : 4, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, in->osize, in->osize == 8 ? x86_sext(v, 4) :
	    v);
	return X86_OK;
}

/* CMOVcc always reads its source and writes a 32-bit destination. */
int
x86_h_cmov(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	if (x86_cond(cpu, in->b0 & 0xf))
		x86_sreg(cpu, in->reg, in->osize, v);
	else if (in->osize == 4)
		x86_sreg(cpu, in->reg, 4, cpu->r[in->reg]);
	return X86_OK;
}

int
x86_h_setcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_write_rm(cpu, in, 1, x86_cond(cpu, in->b0 & 0xf));
}

/* BT/BTS/BTR/BTC: sub 0..3; flags other than CF are left alone. */
static uint64_t
x86_op_bt(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t bit)
{
	int op = in->b0 == 0xba ? ((in->reg & 7) - 4) : in->sub;
	uint64_t b = 1ULL << (bit & (in->osize * 8 - 1));

	x86_set_aflags(cpu, X86_CF, (d & b) ? X86_CF : 0);
	switch (op) {
	case 1: return d | b;
	case 2: return d & ~b;
	case 3: return d ^ b;
	default: return d;
	}
}

/*
 * With a register bit offset and a memory operand, the offset reaches
 * beyond the operand: the word at ea + (offset SAR log2(bits)) * size
 * (SDM vol. 2, BT).
 */
static int
x86_bt_common(struct x86_cpu *cpu, const struct x86_insn *in, int64_t bit,
    bool reg_off)
{
	int op = in->b0 == 0xba ? ((in->reg & 7) - 4) : in->sub;
	int bits = in->osize * 8;
	uint64_t d, ea;
	int r;

	if (in->mod == 3 || !reg_off) {
		if (op != 0)
			return x86_rmw(cpu, in, in->osize, (uint64_t)bit,
			    x86_op_bt, NULL);
		if ((r = x86_read_rm(cpu, in, in->osize, &d)) == X86_OK)
			x86_op_bt(cpu, in, d, (uint64_t)bit);
		return r;
	}
	ea = x86_ea(cpu, in) + (uint64_t)((bit >> (bits == 16 ? 4 :
	    bits == 32 ? 5 : 6)) * in->osize);
	if (in->asize != 8)
		ea &= x86_size_mask(in->asize);
	if (op != 0)
		return x86_rmw_mem(cpu, in, ea, in->osize, (uint64_t)bit,
		    x86_op_bt, NULL);
	if ((r = x86_read(cpu, in->seg, ea, in->osize, &d)) == X86_OK)
		x86_op_bt(cpu, in, d, (uint64_t)bit);
	return r;
}

int
x86_h_bt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t off = x86_greg(cpu, in->reg, in->osize);

	return x86_bt_common(cpu, in, (int64_t)x86_sext(off, in->osize),
	    true);
}

int
x86_h_bt_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_bt_common(cpu, in, (int64_t)(in->imm & 0xff), false);
}

int
x86_h_bsf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if (in->pfx & X86_P_REP)
		return x86_h_tzcnt(cpu, in);
	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	if (v == 0) {
		x86_set_aflags(cpu, X86_ARITH, X86_ZF);
		return X86_OK;
	}
	x86_sreg(cpu, in->reg, in->osize, (uint64_t)__builtin_ctzll(v));
	x86_set_aflags(cpu, X86_ARITH, 0);
	return X86_OK;
}

int
x86_h_bsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if (in->pfx & X86_P_REP)
		return x86_h_lzcnt(cpu, in);
	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	if (v == 0) {
		x86_set_aflags(cpu, X86_ARITH, X86_ZF);
		return X86_OK;
	}
	x86_sreg(cpu, in->reg, in->osize, (uint64_t)(63 - __builtin_clzll(v)));
	x86_set_aflags(cpu, X86_ARITH, 0);
	return X86_OK;
}

int
x86_h_tzcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v, n;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	n = v ? (uint64_t)__builtin_ctzll(v) : (uint64_t)in->osize * 8;
	x86_sreg(cpu, in->reg, in->osize, n);
	x86_set_aflags(cpu, X86_ARITH, (v == 0 ? X86_CF : 0) |
	    (n == 0 ? X86_ZF : 0));
	return X86_OK;
}

int
x86_h_lzcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v, n;
	int r;

	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	n = v ? (uint64_t)(__builtin_clzll(v) - (64 - in->osize * 8)) :
	    (uint64_t)in->osize * 8;
	x86_sreg(cpu, in->reg, in->osize, n);
	x86_set_aflags(cpu, X86_ARITH, (v == 0 ? X86_CF : 0) |
	    (n == 0 ? X86_ZF : 0));
	return X86_OK;
}

int
x86_h_popcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if (!(in->pfx & X86_P_REP))
		return x86_ud(cpu);
	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, in->osize, (uint64_t)__builtin_popcountll(v));
	x86_set_aflags(cpu, X86_ARITH, v == 0 ? X86_ZF : 0);
	return X86_OK;
}

int
x86_h_bswap(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = cpu->r[in->reg];

	if (in->osize == 8)
		cpu->r[in->reg] = __builtin_bswap64(v);
	else if (in->osize == 4)
		cpu->r[in->reg] = __builtin_bswap32((uint32_t)v);
	else
		x86_sreg(cpu, in->reg, 2, 0);	/* undefined: Intel gives 0 */
	return X86_OK;
}

static uint64_t
x86_op_xadd(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	return x86_alu(cpu, 0, in->osize, d, s);
}

int
x86_h_xadd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t old;
	int r;

	r = x86_rmw(cpu, in, in->osize, x86_greg(cpu, in->reg, in->osize),
	    x86_op_xadd, &old);
	/* SRC <- DEST, then DEST <- sum: XADD r, r leaves the sum. */
	if (r == X86_OK && !(in->mod == 3 && in->rm == in->reg))
		x86_sreg(cpu, in->reg, in->osize, old);
	return r;
}

static uint64_t
x86_op_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	uint64_t a = x86_greg(cpu, X86_RAX, in->osize);

	x86_alu(cpu, 7, in->osize, a, d);
	return ((a ^ d) & x86_size_mask(in->osize)) == 0 ? s : d;
}

/*
 * CMPXCHG: the destination is always written (with its own value when
 * unequal) and the accumulator loaded only when unequal.
 */
int
x86_h_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t old;
	int r;

	r = x86_rmw(cpu, in, in->osize, x86_greg(cpu, in->reg, in->osize),
	    x86_op_cmpxchg, &old);
	if (r != X86_OK)
		return r;
	if (((old ^ cpu->r[X86_RAX]) & x86_size_mask(in->osize)) != 0)
		x86_sreg(cpu, X86_RAX, in->osize, old);
	return X86_OK;
}

/* The host's CMPXCHG16B (the guest's needs 16-byte alignment too). */
static bool
x86_cas16(uint8_t *p, unsigned __int128 *old, unsigned __int128 nv)
{
	uint64_t lo = (uint64_t)*old, hi = (uint64_t)(*old >> 64);
	bool ok;

	__asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
	    : "=q"(ok), "+m"(*(unsigned __int128 *)(void *)p), "+a"(lo),
	    "+d"(hi)
	    : "b"((uint64_t)nv), "c"((uint64_t)(nv >> 64))
	    : "memory", "cc");
	*old = ((unsigned __int128)hi << 64) | lo;
	return ok;
}

static int
x86_cmpxchg16b(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t ea)
{
	unsigned __int128 cmp, nv, old;
	uint8_t *p;
	int r;

	if (ea & 15)
		return x86_gp0(cpu);
	cmp = ((unsigned __int128)cpu->r[X86_RDX] << 64) | cpu->r[X86_RAX];
	nv = ((unsigned __int128)cpu->r[X86_RCX] << 64) | cpu->r[X86_RBX];
	p = x86_atomic_ptr(cpu, in->seg, ea, 16, &r);
	if (r != X86_OK)
		return r;
	if (p) {
		old = cmp;
		if (x86_cas16(p, &old, nv))
			old = cmp;
	} else {
		if ((r = x86_read_buf(cpu, in->seg, ea, 16, &old)) != X86_OK)
			return r;
		r = x86_write_buf(cpu, in->seg, ea, 16, old == cmp ? &nv :
		    &old);
		if (r != X86_OK)
			return r;
	}
	x86_set_aflags(cpu, X86_ZF, old == cmp ? X86_ZF : 0);
	if (old != cmp) {
		cpu->r[X86_RAX] = (uint64_t)old;
		cpu->r[X86_RDX] = (uint64_t)(old >> 64);
	}
	return X86_OK;
}

static uint64_t
x86_op_cx8(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t d,
    uint64_t s)
{
	uint64_t cmp = (cpu->r[X86_RDX] << 32) | (uint32_t)cpu->r[X86_RAX];

	x86_set_aflags(cpu, X86_ZF, d == cmp ? X86_ZF : 0);
	return d == cmp ? s : d;
}

int
x86_h_cmpxchg8b(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t old, nv, ea = x86_ea(cpu, in);
	int r;

	if (in->pfx & X86_P_REXW)
		return x86_cmpxchg16b(cpu, in, ea);
	nv = (cpu->r[X86_RCX] << 32) | (uint32_t)cpu->r[X86_RBX];
	if ((r = x86_rmw_mem(cpu, in, ea, 8, nv, x86_op_cx8, &old)) !=
	    X86_OK)
		return r;
	if (!(x86_get_flags(cpu) & X86_ZF)) {
		cpu->r[X86_RAX] = (uint32_t)old;
		cpu->r[X86_RDX] = old >> 32;
	}
	return X86_OK;
}

/* CRC-32C (Castagnoli, reflected), one byte at a time. */
static uint32_t
x86_crc32c(uint32_t crc, uint64_t v, int size)
{
	int i, k;

	for (i = 0; i < size; i++) {
		crc ^= (uint8_t)(v >> (8 * i));
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
	}
	return crc;
}

int
x86_h_crc32(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int size = in->b0 == 0xf0 ? 1 : in->osize;
	uint64_t v;
	int r;

	if ((r = x86_read_rm(cpu, in, size, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, (in->pfx & X86_P_REXW) ? 8 : 4,
	    x86_crc32c((uint32_t)cpu->r[in->reg], v, size));
	return X86_OK;
}

static uint64_t
x86_bswap_n(uint64_t v, int size)
{
	if (size == 2)
		return __builtin_bswap16((uint16_t)v);
	if (size == 4)
		return __builtin_bswap32((uint32_t)v);
	return __builtin_bswap64(v);
}

/* 0F 38 F0/F1: MOVBE (memory only), or CRC32 with F2. */
int
x86_h_movbe(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if (in->pfx & X86_P_REPNE)
		return x86_h_crc32(cpu, in);
	if (in->mod == 3 || (in->pfx & X86_P_REP))
		return x86_ud(cpu);
	if (in->sub)
		return x86_write_rm(cpu, in, in->osize, x86_bswap_n(
		    x86_greg(cpu, in->reg, in->osize), in->osize));
	if ((r = x86_read_rm(cpu, in, in->osize, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, in->reg, in->osize, x86_bswap_n(v, in->osize));
	return X86_OK;
}

/* F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD. */
int
x86_h_flagop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	switch (in->sub) {
	case 0:
		x86_set_aflags(cpu, X86_CF, ~x86_cf(cpu));
		break;
	case 1: x86_set_aflags(cpu, X86_CF, 0); break;
	case 2: x86_set_aflags(cpu, X86_CF, X86_CF); break;
	case 3: cpu->rflags &= ~X86_DF; break;
	default: cpu->rflags |= X86_DF; break;
	}
	return X86_OK;
}

int
x86_h_lahf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = x86_get_flags(cpu);

	x86_sreg(cpu, X86_REG_HIGH8, 1, (f & 0xd5) | 2);
	return X86_OK;
}

int
x86_h_sahf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ah = x86_greg(cpu, X86_REG_HIGH8, 1);

	x86_set_aflags(cpu, X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF, ah);
	return X86_OK;
}

int
x86_h_xlat(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = cpu->r[X86_RBX] + (cpu->r[X86_RAX] & 0xff), v;
	int r;

	if (in->asize != 8)
		ea &= x86_size_mask(in->asize);
	if ((r = x86_read(cpu, in->seg, ea, 1, &v)) != X86_OK)
		return r;
	x86_sreg(cpu, X86_RAX, 1, v);
	return X86_OK;
}

int
x86_h_salc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_ud(cpu);
}
