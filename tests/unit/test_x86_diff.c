/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Differential ISA tests of the x86 core: every integer opcode form the
 * core implements, run natively and in the core at CPL 3 (64-bit mode) on
 * the same state; hand-written sequences plus generated ones (each ALU op
 * x operand size x edge and random operands x input flags).  The host CPU
 * is the oracle (tests/x86diff/); every case runs interpreted and through
 * the JIT.
 */
#define _GNU_SOURCE	/* REG_* in ucontext.h */
#include "test.h"
#include "../x86diff/x86diff.c"

#define F_CF 0x1ULL
#define F_PF 0x4ULL
#define F_AF 0x10ULL
#define F_ZF 0x40ULL
#define F_SF 0x80ULL
#define F_OF 0x800ULL
#define F_ALL (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

static struct xd_env *env;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static int ncases;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const uint64_t edges[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
	0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
	0x8000000000000000ULL, 0xffffffffffffffffULL, 0xfffffffffffffffeULL,
	0x0123456789abcdefULL,
};
#define NEDGES (sizeof(edges) / sizeof(edges[0]))

static uint64_t
operand(int i)
{
	if (i < (int)NEDGES)
		return edges[i];
	switch (rnd() & 3) {
	case 0: return rnd() & 0xff;
	case 1: return rnd() & 0xffff;
	case 2: return rnd() & 0xffffffff;
	default: return rnd();
	}
}

/* A fresh state: data pointers in RBX/RSI/RDI, stack in the stack page. */
static void
init_state(struct xd_state *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 16; i++)
		s->r[i] = rnd();
	s->r[4] = XD_STACK + 0x800;
	s->rflags = 0x2 | (rnd() & 0xcd5);
	s->fx[0] = 0x7f;	/* FCW 0x37f */
	s->fx[1] = 0x03;
	s->fx[24] = 0x80;	/* MXCSR 0x1f80 */
	s->fx[25] = 0x1f;
	for (i = 160; i < 416; i++)
		s->fx[i] = (uint8_t)rnd();
}

static void
init_mem(void)
{
	uint8_t *m;
	int i;

	if (!env)
		return;
	m = xd_mem(env);
	for (i = 0; i < 3 * 4096; i++)
		m[i] = (uint8_t)rnd();
}

static void
run(const char *name, const uint8_t *code, int len, uint64_t undef,
    const struct xd_state *s)
{
	struct xd_case c = { .name = name, .code = code, .len = len,
		.undef = undef };

	if (!env)
		return;
	ncases++;
	if (xd_check(env, &c, s) != 0)
		test_failures++;
}

/* ---- encoding helpers ---- */

struct enc {
	uint8_t b[32];
	int n;
};

static void
put(struct enc *e, int byte)
{
	e->b[e->n++] = (uint8_t)byte;
}

static void
put_imm(struct enc *e, uint64_t v, int size)
{
	int i;

	for (i = 0; i < size; i++)
		put(e, (int)(v >> (8 * i)));
}

/*
 * Prefixes, REX and ModRM for "op rm, reg" with register operands.  For
 * byte operands, 'hi' selects AH..BH encodings (no REX) for regs 4-7.
 */
static void
enc_rr(struct enc *e, int size, const uint8_t *op, int oplen, int reg,
    int rm, bool hi)
{
	int rex = 0x40 | (size == 8 ? 8 : 0) | (reg & 8 ? 4 : 0) |
	    (rm & 8 ? 1 : 0);
	int i;

	if (size == 2)
		put(e, 0x66);
	if (rex != 0x40 || (size == 1 && !hi))
		put(e, rex);
	for (i = 0; i < oplen; i++)
		put(e, op[i]);
	put(e, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

/* "op [rbx + disp8], reg" */
static void
enc_rm(struct enc *e, int size, const uint8_t *op, int oplen, int reg,
    int disp, bool lock)
{
	int rex = 0x40 | (size == 8 ? 8 : 0) | (reg & 8 ? 4 : 0);
	int i;

	if (lock)
		put(e, 0xf0);
	if (size == 2)
		put(e, 0x66);
	if (rex != 0x40 || size == 1)
		put(e, rex);
	for (i = 0; i < oplen; i++)
		put(e, op[i]);
	put(e, 0x43 | ((reg & 7) << 3));
	put(e, disp);
}

static int
pick_reg(void)
{
	static const int regs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13,
		14, 15 };
	return regs[rnd() % 15];
}

static const int sizes[] = { 1, 2, 4, 8 };

/* ---- ALU ---- */

TEST(alu_reg_reg)
{
	int op, si, i;

	for (op = 0; op < 8; op++) {
		for (si = 0; si < 4; si++) {
			for (i = 0; i < 60; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], reg = pick_reg();
				int rm = pick_reg();
				bool hi = size == 1 && (rnd() & 1);
				uint8_t opc = (uint8_t)(op * 8 +
				    (size == 1 ? 0 : 1) + ((rnd() & 1) ? 2 : 0));
				init_state(&s);
				if (hi) {
					reg &= 7;
					rm &= 7;
				}
				s.r[reg] = operand(i);
				s.r[rm] = operand((i * 7 + 3) % 40);
				enc_rr(&e, size, &opc, 1, reg, rm, hi);
				run("alu r,r", e.b, e.n,
				    (op == 1 || op == 4 || op == 6) ? F_AF : 0,
				    &s);
			}
		}
	}
}

TEST(alu_imm)
{
	int op, si, i, form;

	for (op = 0; op < 8; op++) {
		for (si = 0; si < 4; si++) {
			for (form = 0; form < 3; form++) {
				for (i = 0; i < 20; i++) {
					struct xd_state s;
					struct enc e = { .n = 0 };
					int size = sizes[si], rm = pick_reg();
					uint64_t imm = operand(i);
					uint8_t opc;
					init_state(&s);
					s.r[rm] = operand(i + 3);
					if (form == 2) {
						/* AL/eAX, imm */
						rm = 0;
						s.r[0] = operand(i + 5);
						if (size == 2)
							put(&e, 0x66);
						if (size == 8)
							put(&e, 0x48);
						put(&e, op * 8 + (size == 1 ?
						    4 : 5));
						put_imm(&e, imm, size == 1 ? 1 :
						    size == 2 ? 2 : 4);
					} else {
						opc = size == 1 ? 0x80 :
						    form ? 0x83 : 0x81;
						enc_rr(&e, size, &opc, 1, op, rm,
						    false);
						put_imm(&e, imm, size == 1 ||
						    form ? 1 : size == 2 ? 2 :
						    4);
					}
					run("alu imm", e.b, e.n,
					    (op == 1 || op == 4 || op == 6) ?
					    F_AF : 0, &s);
				}
			}
		}
	}
}

TEST(alu_mem_and_lock)
{
	int op, si, i;

	init_mem();
	for (op = 0; op < 8; op++) {
		for (si = 0; si < 4; si++) {
			for (i = 0; i < 12; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], reg = pick_reg();
				bool lock = (i & 1) && op != 7;
				uint8_t opc = (uint8_t)(op * 8 + (size == 1 ?
				    0 : 1) + (!lock && (i & 2) ? 2 : 0));
				init_state(&s);
				if (reg == 3)
					reg = 1;
				s.r[3] = XD_DATA + 64;
				s.r[reg] = operand(i + 20);
				enc_rm(&e, size, &opc, 1, reg,
				    (int)(rnd() % 120), lock);
				run("alu mem", e.b, e.n,
				    (op == 1 || op == 4 || op == 6) ? F_AF : 0,
				    &s);
			}
		}
	}
	/* LOCK CMP is not a locked operation: #UD. */
	for (i = 0; i < 4; i++) {
		static const uint8_t t[][4] = { { 0xf0, 0x39, 0x03 },
			{ 0xf0, 0x38, 0x03 }, { 0xf0, 0x48, 0x39, 0x0b },
			{ 0xf0, 0x3b, 0x03 } };
		struct xd_state s;

		init_state(&s);
		s.r[3] = XD_DATA + 64;
		run("lock cmp", t[i], i == 2 ? 4 : 3, 0, &s);
	}
}

/* F6/F7 /2../7, FE/FF /0 /1, 84/85 TEST, A8/A9. */
TEST(unary_mul_div)
{
	int sub, si, i;

	for (sub = 0; sub < 8; sub++) {
		for (si = 0; si < 4; si++) {
			for (i = 0; i < 40; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], rm = pick_reg();
				uint8_t opc = size == 1 ? 0xf6 : 0xf7;
				uint64_t undef = 0;
				init_state(&s);
				s.r[rm] = operand(i);
				s.r[0] = operand(i + 11);
				s.r[2] = (sub >= 6 && (i & 1)) ? 0 : operand(i +
				    7);
				if (sub == 1)
					continue;	/* alias of /0 */
				if (sub == 0 || sub == 1)
					undef = F_AF;
				if (sub == 4 || sub == 5)
					undef = F_SF | F_ZF | F_AF | F_PF;
				if (sub >= 6)
					undef = F_ALL;
				enc_rr(&e, size, &opc, 1, sub, rm, false);
				if (sub <= 1)
					put_imm(&e, operand(i + 2), size == 1 ?
					    1 : size == 2 ? 2 : 4);
				run("grp3", e.b, e.n, undef, &s);
			}
		}
	}
}

TEST(incdec_imul)
{
	int si, i, k;

	for (si = 0; si < 4; si++) {
		for (i = 0; i < 40; i++) {
			for (k = 0; k < 4; k++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], reg = pick_reg();
				int rm = pick_reg();
				uint8_t op2[2] = { 0x0f, 0xaf };
				uint8_t opc;
				init_state(&s);
				s.r[reg] = operand(i);
				s.r[rm] = operand(i + 9);
				if (k < 2) {
					opc = size == 1 ? 0xfe : 0xff;
					enc_rr(&e, size, &opc, 1, k, rm, false);
					run("inc/dec", e.b, e.n, 0, &s);
					continue;
				}
				if (size == 1)
					continue;
				if (k == 2) {
					enc_rr(&e, size, op2, 2, reg, rm,
					    false);
				} else {
					opc = (i & 1) ? 0x6b : 0x69;
					enc_rr(&e, size, &opc, 1, reg, rm,
					    false);
					put_imm(&e, operand(i + 1), (i & 1) ?
					    1 : size == 2 ? 2 : 4);
				}
				run("imul", e.b, e.n, F_SF | F_ZF | F_AF | F_PF,
				    &s);
			}
		}
	}
}

/* C0/C1 imm, D0/D1 by 1, D2/D3 by CL; all eight operations. */
TEST(shifts_rotates)
{
	int sub, si, i;

	for (sub = 0; sub < 8; sub++) {
		for (si = 0; si < 4; si++) {
			for (i = 0; i < 48; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], rm = pick_reg(), form =
				    i % 3, cnt;
				int mask = size == 8 ? 63 : 31, mc;
				uint8_t opc;
				uint64_t undef = 0;
				init_state(&s);
				if (rm == 1)
					rm = 2;
				s.r[rm] = operand(i);
				cnt = form == 1 ? 1 : (int)(rnd() % 72);
				if (i < 8)
					cnt = i;
				s.r[1] = (s.r[1] & ~0xffULL) | (uint64_t)cnt;
				opc = (uint8_t)((form == 0 ? 0xc0 : form == 1 ?
				    0xd0 : 0xd2) + (size == 1 ? 0 : 1));
				enc_rr(&e, size, &opc, 1, sub, rm, false);
				if (form == 0)
					put(&e, cnt);
				mc = cnt & mask;
				if (mc != 1)
					undef |= F_OF;
				if (sub >= 4 && mc != 0)
					undef |= F_AF;
				if (sub >= 4 && mc > size * 8)
					undef |= F_CF;
				run("shift", e.b, e.n, undef, &s);
			}
		}
	}
}

TEST(shld_shrd)
{
	int si, i, d;

	for (si = 1; si < 4; si++) {
		for (d = 0; d < 2; d++) {
			for (i = 0; i < 60; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], reg = pick_reg();
				int rm = pick_reg(), cnt = (int)(rnd() % 64);
				int mc = cnt & (size == 8 ? 63 : 31);
				uint8_t op2[2] = { 0x0f, (uint8_t)(d ? 0xac :
				    0xa4) };
				uint64_t undef = 0;
				if (size == 2 && mc > 16)
					continue;
				init_state(&s);
				s.r[reg] = operand(i);
				s.r[rm] = operand(i + 5);
				enc_rr(&e, size, op2, 2, reg, rm, false);
				put(&e, cnt);
				if (mc != 1)
					undef |= F_OF;
				if (mc != 0)
					undef |= F_AF;
				run("shd", e.b, e.n, undef, &s);
			}
		}
	}
}

TEST(bit_ops)
{
	static const uint8_t ops[][2] = { { 0x0f, 0xa3 }, { 0x0f, 0xab },
		{ 0x0f, 0xb3 }, { 0x0f, 0xbb }, { 0x0f, 0xbc }, { 0x0f, 0xbd } };
	int k, si, i;

	init_mem();
	for (k = 0; k < 6; k++) {
		for (si = 1; si < 4; si++) {
			for (i = 0; i < 40; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], reg = pick_reg();
				int rm = pick_reg();
				uint64_t undef = k < 4 ? (F_OF | F_SF | F_AF |
				    F_PF) : (F_CF | F_OF | F_SF | F_AF | F_PF);
				init_state(&s);
				if (reg == 3)
					reg = 2;
				s.r[reg] = operand(i);
				s.r[rm] = operand(i + 4);
				if (k < 4 && (i & 1)) {
					/* memory form, offset within +-512 bits */
					s.r[3] = XD_DATA + 2048;
					s.r[reg] = (uint64_t)((int64_t)(rnd() %
					    1024) - 512);
					enc_rm(&e, size, ops[k], 2, reg, 0,
					    (i & 2) && k > 0);
				} else {
					enc_rr(&e, size, ops[k], 2, reg, rm,
					    false);
				}
				run("bt/bsf", e.b, e.n, undef, &s);
			}
		}
	}
}

TEST(bt_imm_and_counts)
{
	int si, i, sub;

	for (si = 1; si < 4; si++) {
		for (i = 0; i < 40; i++) {
			for (sub = 4; sub < 8; sub++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				uint8_t op2[2] = { 0x0f, 0xba };
				int rm = pick_reg();
				init_state(&s);
				s.r[rm] = operand(i);
				enc_rr(&e, sizes[si], op2, 2, sub, rm, false);
				put(&e, (int)(rnd() & 0xff));
				run("bt imm", e.b, e.n, F_OF | F_SF | F_AF |
				    F_PF, &s);
			}
			{
				static const uint8_t cnt[3][3] = {
					{ 0xf3, 0x0f, 0xb8 },
					{ 0xf3, 0x0f, 0xbc },
					{ 0xf3, 0x0f, 0xbd } };
				int k;
				for (k = 0; k < 3; k++) {
					if (!xd_host_has(k == 0 ? "popcnt" :
					    k == 1 ? "bmi1" : "lzcnt"))
						continue;
					struct xd_state s;
					struct enc e = { .n = 0 };
					int reg = pick_reg(), rm = pick_reg();
					int size = sizes[si];
					init_state(&s);
					s.r[rm] = operand(i);
					put(&e, 0xf3);
					enc_rr(&e, size, cnt[k] + 1, 2, reg,
					    rm, false);
					if (size == 2) {
						/* 66 must precede F3 here */
						e.b[0] = 0x66;
						e.b[1] = 0xf3;
					}
					run("popcnt/tzcnt/lzcnt", e.b, e.n,
					    k == 0 ? 0 : (F_OF | F_SF | F_AF |
					    F_PF), &s);
				}
			}
		}
	}
}

TEST(moves_and_extends)
{
	static const uint8_t ops[][2] = { { 0x0f, 0xb6 }, { 0x0f, 0xb7 },
		{ 0x0f, 0xbe }, { 0x0f, 0xbf }, { 0x63, 0 }, { 0x8b, 0 },
		{ 0x89, 0 }, { 0x87, 0 }, { 0x8d, 0 } };
	int k, si, i;

	for (k = 0; k < 9; k++) {
		for (si = 1; si < 4; si++) {
			for (i = 0; i < 12; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int reg = pick_reg(), rm = pick_reg();
				int len = ops[k][0] == 0x0f ? 2 : 1;
				init_state(&s);
				if (k == 8) {
					/* LEA reg, [rm + rm2*4 + disp32] */
					if (sizes[si] == 2)
						put(&e, 0x66);
					put(&e, 0x48 | (reg & 8 ? 4 : 0));
					put(&e, 0x8d);
					put(&e, 0x84 | ((reg & 7) << 3));
					put(&e, 0x80 | (1 << 3) | 3);
					put_imm(&e, rnd(), 4);
					run("lea", e.b, e.n, 0, &s);
					continue;
				}
				enc_rr(&e, sizes[si], ops[k], len, reg, rm,
				    false);
				run("mov/ext", e.b, e.n, 0, &s);
			}
		}
	}
}

TEST(cmov_setcc)
{
	int cc, si, i;

	for (cc = 0; cc < 16; cc++) {
		for (i = 0; i < 16; i++) {
			for (si = 0; si < 4; si++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int reg = pick_reg(), rm = pick_reg();
				uint8_t op2[2] = { 0x0f, (uint8_t)((si == 0 ?
				    0x90 : 0x40) + cc) };
				init_state(&s);
				s.rflags = 2 | (rnd() & 0x8d5);
				enc_rr(&e, sizes[si], op2, 2, 0, rm, false);
				if (si != 0) {
					e.n = 0;
					enc_rr(&e, sizes[si], op2, 2, reg, rm,
					    false);
				}
				run("cmov/setcc", e.b, e.n, 0, &s);
			}
			{
				/* cmp then jcc over an inc: flags from CMP */
				struct xd_state s;
				uint8_t code[] = { 0x48, 0x39, 0xd8,
				    (uint8_t)(0x70 + cc), 0x03, 0x48, 0xff,
				    0xc1 };
				init_state(&s);
				s.r[0] = operand(i);
				s.r[3] = (i & 1) ? s.r[0] : operand(i + 1);
				run("cmp/jcc", code, sizeof(code), 0, &s);
			}
		}
	}
}

TEST(xadd_cmpxchg_xchg)
{
	int si, i, k;

	init_mem();
	for (si = 0; si < 4; si++) {
		for (i = 0; i < 30; i++) {
			for (k = 0; k < 3; k++) {
				static const uint8_t ops[3][2] = {
					{ 0x0f, 0xc0 }, { 0x0f, 0xb0 },
					{ 0x86, 0 } };
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], reg = pick_reg();
				uint8_t op[2] = { ops[k][0], ops[k][1] };
				int len = k == 2 ? 1 : 2;
				if (size != 1)
					op[len - 1]++;
				init_state(&s);
				if (reg == 3 || reg == 0)
					reg = 6;
				s.r[reg] = operand(i);
				s.r[3] = XD_DATA + 256;
				if (k == 1 && (i & 1))
					memcpy(xd_mem(env) + 256 + 8, &s.r[0],
					    8);
				else
					init_mem();
				enc_rm(&e, size, op, len, reg, 8, i & 2);
				run("xadd/cmpxchg/xchg", e.b, e.n, 0, &s);
			}
		}
	}
	/* XADD r, r with one register: the sum is written last. */
	for (i = 0; i < 30; i++) {
		static const uint8_t t[][5] = {
			{ 0x48, 0x0f, 0xc1, 0xc0 }, { 0x66, 0x45, 0x0f, 0xc1,
			0xc9 }, { 0x0f, 0xc0, 0xd2 }, { 0x0f, 0xc1, 0xf6 },
		};
		static const int len[] = { 4, 5, 3, 3 };
		struct xd_state s;

		init_state(&s);
		s.r[0] = s.r[9] = s.r[2] = s.r[6] = operand(i);
		run("xadd r,r", t[i & 3], len[i & 3], 0, &s);
	}
}

TEST(cmpxchg8b_16b)
{
	int i, w;

	for (w = 0; w < 2; w++) {
		for (i = 0; i < 20; i++) {
			struct xd_state s;
			uint8_t code[] = { 0xf0, 0x48, 0x0f, 0xc7, 0x0b };
			uint8_t *m = xd_mem(env) + 512;
			init_state(&s);
			init_mem();
			s.r[3] = XD_DATA + 512;
			if (i & 1) {
				memcpy(m, &s.r[0], w ? 8 : 4);
				memcpy(m + (w ? 8 : 4), &s.r[2], w ? 8 : 4);
			}
			if (!w)
				code[1] = 0x40;
			run("cmpxchg8b/16b", code, sizeof(code), 0, &s);
		}
	}
}

TEST(misc_int)
{
	static const struct {
		const char *name;
		uint8_t code[12];
		int len;
		uint64_t undef;
	} t[] = {
		{ "cbw", { 0x66, 0x98 }, 2, 0 },
		{ "cwde", { 0x98 }, 1, 0 },
		{ "cdqe", { 0x48, 0x98 }, 2, 0 },
		{ "cwd", { 0x66, 0x99 }, 2, 0 },
		{ "cdq", { 0x99 }, 1, 0 },
		{ "cqo", { 0x48, 0x99 }, 2, 0 },
		{ "bswap32", { 0x0f, 0xc9 }, 2, 0 },
		{ "bswap64", { 0x49, 0x0f, 0xca }, 3, 0 },
		{ "lahf", { 0x9f }, 1, 0 },
		{ "sahf", { 0x9e }, 1, 0 },
		{ "cmc", { 0xf5 }, 1, 0 },
		{ "clc stc", { 0xf8, 0xf9 }, 2, 0 },
		{ "std cld", { 0xfd, 0xfc }, 2, 0 },
		{ "neg mem", { 0x48, 0xf7, 0x5b, 0x10 }, 4, 0 },
		{ "not mem", { 0xf6, 0x53, 0x11 }, 3, 0 },
		{ "xchg rax,r9", { 0x49, 0x91 }, 2, 0 },
		{ "nop", { 0x90 }, 1, 0 },
		{ "nopw", { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6, 0 },
		{ "movabs", { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 0 },
		{ "mov r8b,imm", { 0x41, 0xb0, 0x99 }, 3, 0 },
		{ "mov ah,imm", { 0xb4, 0x99 }, 2, 0 },
		{ "mov m,imm32", { 0x48, 0xc7, 0x43, 0x08, 0xf0, 0xff, 0xff,
		    0xff }, 8, 0 },
		{ "movbe load", { 0x48, 0x0f, 0x38, 0xf0, 0x03 }, 5, 0 },
		{ "movbe store", { 0x0f, 0x38, 0xf1, 0x0b }, 4, 0 },
		{ "xlat", { 0xd7 }, 1, 0 },
		{ "rip-rel lea", { 0x48, 0x8d, 0x05, 0x10, 0, 0, 0 }, 7, 0 },
		{ "test m,r", { 0x48, 0x85, 0x0b }, 3, F_AF },
		{ "adc chain", { 0x48, 0x01, 0xc8, 0x48, 0x11, 0xd3, 0x48,
		    0x19, 0xf7 }, 9, 0 },
		{ "inc keeps cf", { 0xf9, 0x48, 0xff, 0xc0, 0x48, 0x83, 0xd1,
		    0x00 }, 8, 0 },
		{ "crc32", { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1 }, 6, 0 },
		{ "crc32b", { 0xf2, 0x0f, 0x38, 0xf0, 0xc1 }, 5, 0 },
	};
	unsigned k;
	int i;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		if ((strstr(t[k].name, "movbe") && !xd_host_has("movbe")) ||
		    (strstr(t[k].name, "crc32") && !xd_host_has("sse4.2")))
			continue;
		for (i = 0; i < 10; i++) {
			struct xd_state s;
			init_state(&s);
			init_mem();
			s.r[3] = XD_DATA + 128;
			s.r[0] = (s.r[0] & ~0xffULL) | (rnd() & 0x7f);
			run(t[k].name, t[k].code, t[k].len, t[k].undef, &s);
		}
	}
}

/* PUSH/POP/CALL/RET/ENTER/LEAVE and loops. */
TEST(stack_and_flow)
{
	static const struct {
		const char *name;
		uint8_t code[24];
		int len;
	} t[] = {
		{ "push/pop", { 0x50, 0x41, 0x51, 0x5b, 0x41, 0x5a }, 6 },
		{ "push imm", { 0x6a, 0x80, 0x68, 1, 2, 3, 0x84, 0x5a, 0x59 },
		    9 },
		{ "push/pop 16", { 0x66, 0x50, 0x66, 0x5b }, 4 },
		{ "push mem", { 0xff, 0x73, 0x08, 0x8f, 0x43, 0x10 }, 6 },
		{ "pushf/popf", { 0x9c, 0x48, 0x83, 0x04, 0x24, 0x01, 0x9d },
		    7 },
		{ "call/ret", { 0xe8, 0x02, 0, 0, 0, 0xeb, 0x04, 0x48, 0xff,
		    0xc0, 0xc3 }, 11 },
		{ "call r/ret imm", { 0x48, 0x8d, 0x0d, 0x05, 0, 0, 0, 0xff,
		    0xd1, 0xeb, 0x04, 0x90, 0xc2, 0x00, 0x00 }, 15 },
		{ "enter/leave", { 0xc8, 0x20, 0x00, 0x00, 0x48, 0x89, 0x6d,
		    0xf8, 0xc9 }, 9 },
		{ "enter level", { 0xc8, 0x10, 0x00, 0x03, 0xc9 }, 5 },
		{ "loop", { 0xb9, 0x05, 0, 0, 0, 0x48, 0xff, 0xc0, 0xe2, 0xfb },
		    10 },
		{ "loope", { 0xb9, 0x05, 0, 0, 0, 0x48, 0x39, 0xc0, 0xe1, 0xfb },
		    10 },
		{ "jrcxz", { 0x31, 0xc9, 0xe3, 0x02, 0xff, 0xc0 }, 6 },
		{ "jmp r/m", { 0x48, 0x8d, 0x05, 0x02, 0, 0, 0, 0xff, 0xe0 },
		    9 },
		{ "sum loop", { 0x31, 0xc0, 0xb9, 0x64, 0, 0, 0, 0x48, 0x01,
		    0xc8, 0xff, 0xc9, 0x75, 0xf9 }, 14 },
	};
	unsigned k;
	int i;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		for (i = 0; i < 8; i++) {
			struct xd_state s;
			init_state(&s);
			init_mem();
			s.r[3] = XD_DATA + 128;
			s.r[5] = XD_STACK + 0x900;
			run(t[k].name, t[k].code, t[k].len, F_AF, &s);
		}
	}
}

TEST(strings)
{
	static const uint8_t ops[] = { 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab,
		0xac, 0xad, 0xae, 0xaf };
	int k, i, sz;

	for (k = 0; k < 10; k++) {
		for (sz = 0; sz < 3; sz++) {
			for (i = 0; i < 10; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				bool df = i & 1;
				int rep = (i >> 1) % 3;
				init_state(&s);
				init_mem();
				if (i == 4)	/* make REPE CMPS run far */
					memcpy(xd_mem(env) + 4096,
					    xd_mem(env), 1024);
				if (df)
					put(&e, 0xfd);
				if (rep)
					put(&e, rep == 1 ? 0xf3 : 0xf2);
				if (sz == 2)
					put(&e, 0x48);
				if (sz == 1 && !(ops[k] & 1))
					put(&e, 0x66);
				put(&e, ops[k] | (sz ? 1 : 0));
				put(&e, 0xfc);
				s.r[6] = XD_DATA + 1024;
				s.r[7] = XD_DATA + 4096 + 1024;
				s.r[1] = rnd() % 40;
				s.r[0] = (i == 3) ? 0 : s.r[0];
				run("string", e.b, e.n, 0, &s);
			}
		}
	}
}

TEST(faults)
{
	static const struct {
		const char *name;
		uint8_t code[12];
		int len;
	} t[] = {
		{ "div0", { 0x48, 0xf7, 0xf1 }, 3 },
		{ "idiv ovf", { 0x48, 0xf7, 0xf9 }, 3 },
		{ "ud2", { 0x0f, 0x0b }, 2 },
		{ "int3", { 0xcc }, 1 },
		{ "pf read", { 0x48, 0x8b, 0x03 }, 3 },
		{ "pf write", { 0x48, 0x89, 0x03 }, 3 },
		{ "pf cross", { 0x48, 0x8b, 0x43, 0xfc }, 4 },
		{ "gp noncanon", { 0x48, 0x8b, 0x06 }, 3 },
		{ "hlt cpl3", { 0xf4 }, 1 },
		{ "cli cpl3", { 0xfa }, 1 },
		{ "lock reg", { 0xf0, 0x01, 0xc0 }, 3 },
		{ "in cpl3", { 0xe4, 0x80 }, 2 },
		{ "mov cr cpl3", { 0x0f, 0x20, 0xc0 }, 3 },
		{ "push pf", { 0x48, 0x89, 0xdc, 0x50 }, 4 },
	};
	unsigned k;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct xd_state s;
		init_state(&s);
		init_mem();
		s.r[1] = 0;
		s.r[7] = 0xffffffffffffffffULL;
		s.r[0] = 0;
		s.r[2] = 0x8000000000000000ULL;
		s.r[3] = XD_GUARD;
		s.r[6] = 0x0000800000000000ULL;
		if (k == 1) {
			s.r[0] = 0;
			s.r[2] = 0x8000000000000000ULL;
			s.r[7] = 0xffffffffffffffffULL;
		}
		if (k == 13)
			s.r[3] = XD_DATA;
		run(t[k].name, t[k].code, t[k].len, F_ALL, &s);
	}
}

static void
run32(const char *name, const uint8_t *code, int len, uint64_t undef,
    const struct xd_state *s)
{
	struct xd_case c = { .name = name, .code = code, .len = len,
		.undef = undef, .compat = true };

	if (!env)
		return;
	ncases++;
	if (xd_check(env, &c, s) != 0)
		test_failures++;
}

/* 32-bit code: default sizes, 66/67 overrides, 16-bit addressing. */
TEST(compat_mode_alu)
{
	int op, si, i;

	for (op = 0; op < 8; op++) {
		for (si = 0; si < 3; si++) {
			for (i = 0; i < 30; i++) {
				struct xd_state s;
				struct enc e = { .n = 0 };
				int size = sizes[si], reg = (int)(rnd() % 8);
				int rm = (int)(rnd() % 8);
				uint8_t opc = (uint8_t)(op * 8 +
				    (size == 1 ? 0 : 1) + ((rnd() & 1) ? 2 : 0));
				init_state(&s);
				if (reg == 4)
					reg = 5;
				if (rm == 4)
					rm = 1;
				s.r[reg] = operand(i);
				s.r[rm] = operand((i * 7 + 3) % 40);
				if (size == 2)
					put(&e, 0x66);
				put(&e, opc);
				put(&e, 0xc0 | (reg << 3) | rm);
				run32("compat alu", e.b, e.n, (op == 1 ||
				    op == 4 || op == 6) ? F_AF : 0, &s);
			}
		}
	}
}

TEST(compat_mode_misc)
{
	static const struct {
		const char *name;
		uint8_t code[16];
		int len;
	} t[] = {
		{ "inc/dec 40", { 0x40, 0x4b, 0x66, 0x41 }, 4 },
		{ "push/pop 32", { 0x50, 0x53, 0x5a, 0x59, 0x66, 0x56,
		    0x66, 0x5f }, 8 },
		{ "pusha/popa", { 0x60, 0x31, 0xc0, 0x61 }, 4 },
		{ "pushad 16", { 0x66, 0x60, 0x66, 0x61 }, 4 },
		{ "mem32", { 0x8b, 0x43, 0x08, 0x01, 0x43, 0x10, 0x66, 0x89,
		    0x4b, 0x20 }, 10 },
		{ "addr16", { 0x67, 0x8b, 0x00 }, 3 },
		{ "addr16 bp", { 0x67, 0x8b, 0x46, 0x10 }, 4 },
		{ "addr16 disp", { 0x67, 0x8b, 0x06, 0x34, 0x12 }, 5 },
		{ "sib", { 0x8b, 0x44, 0x8b, 0x04 }, 4 },
		{ "cwde cdq", { 0x98, 0x99, 0x66, 0x98, 0x66, 0x99 }, 6 },
		{ "call/ret", { 0xe8, 0x02, 0, 0, 0, 0xeb, 0x02, 0x40, 0xc3 },
		    9 },
		{ "loop ecx", { 0xb9, 0x05, 0, 0, 0, 0x40, 0xe2, 0xfd }, 8 },
		{ "jecxz", { 0x31, 0xc9, 0xe3, 0x01, 0x40 }, 5 },
		{ "movs 32", { 0xb9, 0x04, 0, 0, 0, 0xf3, 0xa5 }, 7 },
		{ "stos addr16", { 0x67, 0xaa }, 2 },
		{ "enter/leave", { 0xc8, 0x10, 0, 0, 0xc9 }, 5 },
		{ "push imm", { 0x6a, 0xff, 0x68, 1, 2, 3, 4, 0x58, 0x5b }, 9 },
		{ "xchg/bswap", { 0x93, 0x0f, 0xc8, 0x87, 0xca }, 5 },
		{ "shifts", { 0xd1, 0xe0, 0xc1, 0xfb, 0x05, 0x66, 0xd3, 0xea },
		    8 },
		{ "mul/div", { 0xf7, 0xe3, 0xf7, 0xf1 }, 4 },
		{ "lea 16", { 0x66, 0x8d, 0x44, 0x08, 0x10 }, 5 },
		{ "movzx/sx", { 0x0f, 0xb6, 0xc3, 0x0f, 0xbf, 0xca }, 6 },
		{ "pushf/popf", { 0x9c, 0x83, 0x04, 0x24, 0x01, 0x9d }, 6 },
	};
	unsigned k;
	int i;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		for (i = 0; i < 12; i++) {
			struct xd_state s;
			init_state(&s);
			init_mem();
			s.r[3] = XD_DATA + 128;
			s.r[5] = XD_STACK + 0x900;
			s.r[6] = XD_DATA + 64;
			s.r[7] = XD_DATA + 0x1000;
			s.r[1] = (rnd() % 30) + 1;
			if (k == 5 || k == 6 || k == 7 || k == 14)
				s.r[0] = rnd() & 0xffff;
			/* Flags: compat_mode_alu checks them; MUL/DIV and
			 * shifts leave some undefined. */
			run32(t[k].name, t[k].code, t[k].len, F_ALL, &s);
		}
	}
}

TEST(summary)
{
	struct x86_jit_stats st;

	x86_get_jit_stats(env->cpu, &st);
	printf("x86diff: %d cases, host and core agree on %d (%llu of them "
	    "also through the JIT: %llu blocks, %llu instructions)\n",
	    ncases, ncases - test_failures,
	    (unsigned long long)xd_jit_cases_run(env),
	    (unsigned long long)st.blocks, (unsigned long long)st.insns);
	CHECK(ncases > 3000);
	/* The JIT must have checked every case where it can run. */
	CHECK(xd_jit_cases_run(env) == 0 ||
	    xd_jit_cases_run(env) == xd_cases_run(env));
	CHECK(xd_jit_cases_run(env) == 0 || st.insns > 10000);
}

TEST(start)
{
	env = xd_create();
	if (!env) {
		/* Every later case needs the fixed test pages. */
		fprintf(stderr, "x86diff: cannot map the pages at %#llx\n",
		    (unsigned long long)XD_CODE);
		exit(1);
	}
	CHECK(env != NULL);
}

TEST_MAIN(TEST_ENTRY(start) TEST_ENTRY(alu_reg_reg) TEST_ENTRY(alu_imm)
    TEST_ENTRY(alu_mem_and_lock) TEST_ENTRY(unary_mul_div)
    TEST_ENTRY(incdec_imul) TEST_ENTRY(shifts_rotates)
    TEST_ENTRY(shld_shrd) TEST_ENTRY(bit_ops) TEST_ENTRY(bt_imm_and_counts)
    TEST_ENTRY(moves_and_extends) TEST_ENTRY(cmov_setcc)
    TEST_ENTRY(xadd_cmpxchg_xchg) TEST_ENTRY(cmpxchg8b_16b)
    TEST_ENTRY(misc_int) TEST_ENTRY(stack_and_flow) TEST_ENTRY(strings)
    TEST_ENTRY(faults) TEST_ENTRY(compat_mode_alu)
    TEST_ENTRY(compat_mode_misc) TEST_ENTRY(summary))
