/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The JIT's view of a block: which instructions it re-encodes natively
 * (opcode tables below, 64-bit mode only), their register and flag
 * effects (SDM vol. 1, appendix A, for the flags each one writes), the
 * guest registers each block keeps in host registers, and flag liveness.
 *
 * An instruction is translated natively only where the host instruction
 * has exactly the guest's architectural effect once its register and
 * memory operands are remapped; everything else (and every form with an
 * AH..BH operand, a far or string or I/O or system instruction, DIV and
 * IDIV) runs the interpreter's handler.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>

#include "x86_jit_gen.h"

/* Opcode descriptor bits. */
#define O_M 0x1		/* ModRM */
#define O_WRM 0x2	/* r/m written */
#define O_WREG 0x4	/* ModRM.reg written */
#define O_B 0x8		/* 8-bit register operands */
#define O_RONLY 0x10	/* register r/m only */
#define O_MONLY 0x20	/* memory r/m only */
#define O_SHI 0x40	/* flags by count: imm8 after ModRM */
#define O_SH1 0x80	/* ... count 1 */
#define O_SHCL 0x100	/* ... count CL */
#define O_AIMM 0x200	/* op AL/eAX, imm: re-encoded as 80/81 /op */
#define O_TAIMM 0x400	/* TEST AL/eAX, imm: re-encoded as F6/F7 /0 */
#define O_REP 0x800	/* F3 is a mandatory prefix (kept) */
#define O_HOST 0x1000	/* needs a host feature (x86_jit_host_ok) */
#define O_EXT 0x2000	/* ModRM.reg is an opcode extension */
#define O_BRM 0x4000	/* only r/m is an 8-bit register (MOVZX/MOVSX) */
#define O_LOCK 0x8000	/* LOCK allowed (with a memory destination) */

struct xj_opd {
	uint8_t kind;
	uint16_t f;
	uint16_t fr, fw;
	uint8_t imp;
	uint8_t ms;		/* memory size: 0 operand size, 0xff MOVSXD */
	const struct xj_opd *grp;	/* by ModRM.reg */
};

#define CF X86_CF
#define NC (FL_ALL & ~X86_CF)
#define NAT(fl, r, w) { .kind = XK_NAT, .f = (fl), .fr = (r), .fw = (w) }
#define NATI(fl, r, w, i) { .kind = XK_NAT, .f = (fl), .fr = (r), \
	.fw = (w), .imp = (i) }
#define NATS(fl, w, s) { .kind = XK_NAT, .f = (fl), .fw = (w), .ms = (s) }
#define K(k, fl) { .kind = (k), .f = (fl) }
#define GRP(t, fl) { .kind = XK_NAT, .f = (fl) | O_M | O_EXT, .grp = (t) }

/* ADD OR ADC SBB AND SUB XOR CMP: CMP writes no operand. */
#define ALU_W(g) ((g) == 7 ? 0 : 1)
#define ALU_R(g) (((g) == 2 || (g) == 3) ? CF : 0)
#define ALU(g)								\
	[(g) * 8] = NAT(O_M | O_B | (ALU_W(g) ? O_WRM | O_LOCK : 0),	\
	    ALU_R(g), FL_ALL),						\
	[(g) * 8 + 1] = NAT(O_M | (ALU_W(g) ? O_WRM | O_LOCK : 0),	\
	    ALU_R(g), FL_ALL),						\
	[(g) * 8 + 2] = NAT(O_M | O_B | (ALU_W(g) ? O_WREG : 0),	\
	    ALU_R(g), FL_ALL),						\
	[(g) * 8 + 3] = NAT(O_M | (ALU_W(g) ? O_WREG : 0), ALU_R(g),	\
	    FL_ALL),							\
	[(g) * 8 + 4] = NAT(O_AIMM | O_B, ALU_R(g), FL_ALL),		\
	[(g) * 8 + 5] = NAT(O_AIMM, ALU_R(g), FL_ALL)

#define WL (O_WRM | O_LOCK)
static const struct xj_opd xj_grp1[8] = {
	[0] = NAT(WL, 0, FL_ALL), [1] = NAT(WL, 0, FL_ALL),
	[2] = NAT(WL, CF, FL_ALL), [3] = NAT(WL, CF, FL_ALL),
	[4] = NAT(WL, 0, FL_ALL), [5] = NAT(WL, 0, FL_ALL),
	[6] = NAT(WL, 0, FL_ALL), [7] = NAT(0, 0, FL_ALL),
};

/* ROL ROR RCL RCR SHL SHR SAL SAR, for a count that is not 0. */
static const struct xj_opd xj_grp2[8] = {
	[0] = NAT(O_WRM, 0, CF | X86_OF), [1] = NAT(O_WRM, 0, CF | X86_OF),
	[2] = NAT(O_WRM, CF, CF | X86_OF), [3] = NAT(O_WRM, CF, CF | X86_OF),
	[4] = NAT(O_WRM, 0, FL_ALL), [5] = NAT(O_WRM, 0, FL_ALL),
	[6] = NAT(O_WRM, 0, FL_ALL), [7] = NAT(O_WRM, 0, FL_ALL),
};

/* TEST, NOT, NEG, MUL, IMUL; DIV/IDIV raise #DE: the interpreter's. */
static const struct xj_opd xj_grp3[8] = {
	[0] = NAT(0, 0, FL_ALL), [1] = NAT(0, 0, FL_ALL),
	[2] = NAT(WL, 0, 0), [3] = NAT(WL, 0, FL_ALL),
	[4] = NATI(0, 0, FL_ALL, IMP_A | IMP_AW | IMP_D | IMP_DW),
	[5] = NATI(0, 0, FL_ALL, IMP_A | IMP_AW | IMP_D | IMP_DW),
	[6] = K(XK_GEN, 0), [7] = K(XK_GEN, 0),
};

static const struct xj_opd xj_grp4[8] = {
	[0] = NAT(WL, 0, NC), [1] = NAT(WL, 0, NC),
	[2 ... 7] = K(XK_GEN, 0),
};

static const struct xj_opd xj_grp5[8] = {
	[0] = NAT(WL, 0, NC), [1] = NAT(WL, 0, NC),
	[2] = K(XK_CALLI, 0), [3] = K(XK_GEN, 0),
	[4] = K(XK_JMPI, 0), [5] = K(XK_GEN, 0),
	[6] = K(XK_PUSH, O_RONLY), [7] = K(XK_GEN, 0),
};

static const struct xj_opd xj_grp11[8] = {
	[0] = NAT(O_WRM, 0, 0),
	[1 ... 7] = K(XK_GEN, 0),
};

/* BT BTS BTR BTC with an imm8 bit offset (masked: memory is fine). */
static const struct xj_opd xj_grp8[8] = {
	[0 ... 3] = K(XK_GEN, 0),
	[4] = NAT(0, 0, CF),
	[5 ... 7] = NAT(WL, 0, CF),
};

static const struct xj_opd xj_op1[256] = {
	ALU(0), ALU(1), ALU(2), ALU(3), ALU(4), ALU(5), ALU(6), ALU(7),
	[0x06 ... 0x07] = K(XK_GEN, 0), [0x0e ... 0x0f] = K(XK_GEN, 0),
	[0x16 ... 0x17] = K(XK_GEN, 0), [0x1e ... 0x1f] = K(XK_GEN, 0),
	[0x26 ... 0x27] = K(XK_GEN, 0), [0x2e ... 0x2f] = K(XK_GEN, 0),
	[0x36 ... 0x37] = K(XK_GEN, 0), [0x3e ... 0x3f] = K(XK_GEN, 0),
	[0x50 ... 0x57] = K(XK_PUSH, 0),
	[0x58 ... 0x5f] = K(XK_POP, 0),
	[0x63] = NATS(O_M | O_WREG, 0, 0xff),
	[0x68] = K(XK_PUSH, 0),
	[0x69] = NAT(O_M | O_WREG, 0, FL_ALL),
	[0x6a] = K(XK_PUSH, 0),
	[0x6b] = NAT(O_M | O_WREG, 0, FL_ALL),
	[0x70 ... 0x7f] = K(XK_JCC, 0),
	[0x80] = GRP(xj_grp1, O_B), [0x81] = GRP(xj_grp1, 0),
	[0x83] = GRP(xj_grp1, 0),
	[0x84] = NAT(O_M | O_B, 0, FL_ALL), [0x85] = NAT(O_M, 0, FL_ALL),
	[0x86] = NAT(O_M | O_B | WL | O_WREG, 0, 0),
	[0x87] = NAT(O_M | WL | O_WREG, 0, 0),
	[0x88] = NAT(O_M | O_B | O_WRM, 0, 0), [0x89] = NAT(O_M | O_WRM, 0, 0),
	[0x8a] = NAT(O_M | O_B | O_WREG, 0, 0),
	[0x8b] = NAT(O_M | O_WREG, 0, 0),
	[0x8d] = K(XK_LEA, O_M | O_MONLY),
	[0x90 ... 0x97] = K(XK_NATOP, 0),
	[0x98] = NATI(0, 0, 0, IMP_A | IMP_AW),
	[0x99] = NATI(0, 0, 0, IMP_A | IMP_D | IMP_DW),
	[0xa8] = NAT(O_TAIMM | O_B, 0, FL_ALL),
	[0xa9] = NAT(O_TAIMM, 0, FL_ALL),
	[0xb0 ... 0xbf] = K(XK_NATOP, 0),
	[0xc0] = GRP(xj_grp2, O_B | O_SHI), [0xc1] = GRP(xj_grp2, O_SHI),
	[0xc2 ... 0xc3] = K(XK_RET, 0),
	[0xc6] = GRP(xj_grp11, O_B), [0xc7] = GRP(xj_grp11, 0),
	[0xc9] = K(XK_LEAVE, 0),
	[0xd0] = GRP(xj_grp2, O_B | O_SH1), [0xd1] = GRP(xj_grp2, O_SH1),
	[0xd2] = GRP(xj_grp2, O_B | O_SHCL), [0xd3] = GRP(xj_grp2, O_SHCL),
	[0xe8] = K(XK_CALL, 0), [0xe9] = K(XK_JMP, 0), [0xeb] = K(XK_JMP, 0),
	[0xf6] = GRP(xj_grp3, O_B), [0xf7] = GRP(xj_grp3, 0),
	[0xfe] = GRP(xj_grp4, O_B), [0xff] = GRP(xj_grp5, 0),
};

static const struct xj_opd xj_op2[256] = {
	[0x18 ... 0x1f] = K(XK_NOP, O_M),
	[0x40 ... 0x4f] = NAT(O_M | O_WREG, FL_ALL, 0),
	[0x80 ... 0x8f] = K(XK_JCC, 0),
	[0x90 ... 0x9f] = NAT(O_M | O_B | O_WRM | O_EXT, FL_ALL, 0),
	[0xa3] = NAT(O_M | O_RONLY, 0, CF),
	[0xa4] = NAT(O_M | O_WRM | O_SHI, 0, FL_ALL),
	[0xa5] = NAT(O_M | O_WRM | O_SHCL, 0, FL_ALL),
	[0xab] = NAT(O_M | O_WRM | O_RONLY, 0, CF),
	[0xac] = NAT(O_M | O_WRM | O_SHI, 0, FL_ALL),
	[0xad] = NAT(O_M | O_WRM | O_SHCL, 0, FL_ALL),
	[0xaf] = NAT(O_M | O_WREG, 0, FL_ALL),
	/*
	 * CMPXCHG: memory only.  A 32-bit register destination that is not
	 * equal keeps its upper half on AMD and is zero-extended on Intel
	 * (and in the interpreter): left to the interpreter.
	 */
	[0xb0] = NATI(O_M | O_B | WL | O_MONLY, 0, FL_ALL, IMP_A | IMP_AW),
	[0xb1] = NATI(O_M | WL | O_MONLY, 0, FL_ALL, IMP_A | IMP_AW),
	[0xb3] = NAT(O_M | O_WRM | O_RONLY, 0, CF),
	[0xb6] = NATS(O_M | O_WREG | O_BRM, 0, 1),
	[0xb7] = NATS(O_M | O_WREG, 0, 2),
	[0xb8] = NAT(O_M | O_WREG | O_REP | O_HOST, 0, FL_ALL),
	[0xba] = GRP(xj_grp8, 0),
	[0xbb] = NAT(O_M | O_WRM | O_RONLY, 0, CF),
	[0xbc] = NAT(O_M | O_WREG, 0, X86_ZF),
	[0xbd] = NAT(O_M | O_WREG, 0, X86_ZF),
	[0xbe] = NATS(O_M | O_WREG | O_BRM, 0, 1),
	[0xbf] = NATS(O_M | O_WREG, 0, 2),
	[0xc0] = NAT(O_M | O_B | WL | O_WREG, 0, FL_ALL),
	[0xc1] = NAT(O_M | WL | O_WREG, 0, FL_ALL),
	[0xc8 ... 0xcf] = K(XK_NATOP, 0),
};

/* Prefixes and opcode of the raw bytes (64-bit mode). */
struct xj_raw {
	bool p66, p67, lock;
	uint8_t rep, rex;
	uint8_t map;		/* 1: one byte, 2: 0F, 3: 0F 38 / 0F 3A */
	uint8_t op;
	int at;			/* first byte after the opcode */
};

static int
xj_parse(const uint8_t *b, int len, struct xj_raw *r)
{
	int i;

	for (i = 0; i < len; i++) {
		uint8_t c = b[i];
		if ((c & 0xf0) == 0x40) {
			r->rex = c;
			continue;
		}
		if (c == 0x66)
			r->p66 = true;
		else if (c == 0x67)
			r->p67 = true;
		else if (c == 0xf0)
			r->lock = true;
		else if (c == 0xf2 || c == 0xf3)
			r->rep = c;
		else if (c != 0x26 && c != 0x2e && c != 0x36 && c != 0x3e &&
		    c != 0x64 && c != 0x65)
			break;
		r->rex = 0;	/* REX counts only right before the opcode */
	}
	if (i >= len)
		return -1;
	r->map = 1;
	if (b[i] == 0x0f && i + 1 < len) {
		i++;
		r->map = (b[i] == 0x38 || b[i] == 0x3a) ? 3 : 2;
		if (r->map == 3)
			i++;
	}
	if (i >= len)
		return -1;
	r->op = b[i];
	r->at = i + 1;
	return 0;
}

/* Where the bytes after ModRM, SIB and displacement start. */
static int
xj_modrm_end(const uint8_t *b, int at, int len)
{
	uint8_t m = b[at];
	int mod = m >> 6, rm = m & 7, i = at + 1, disp = 0;

	if (mod != 3 && rm == 4) {
		if (i >= len)
			return -1;
		if (mod == 0 && (b[i] & 7) == 5)
			disp = 4;
		i++;
	}
	if (mod == 1)
		disp = 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		disp = 4;
	return i + disp <= len ? i + disp : -1;
}

/* Host features for O_HOST opcodes: POPCNT, LZCNT (ABM), TZCNT (BMI1). */
static bool
xj_host_ok(uint8_t op)
{
	unsigned a, b, c, d;

	if (op == 0xb8) {
		__cpuid(1, a, b, c, d);
		return (c >> 23) & 1;
	}
	if (op == 0xbd) {
		__cpuid(0x80000001, a, b, c, d);
		return (c >> 5) & 1;
	}
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 3) & 1;
}

static const struct xj_opd *
xj_opd_of(const struct xj_raw *r, const uint8_t *b, int len,
    uint16_t *fl)
{
	const struct xj_opd *d = NULL;

	if (r->map == 1)
		d = &xj_op1[r->op];
	else if (r->map == 2)
		d = &xj_op2[r->op];
	if (!d || d->kind == XK_GEN)
		return NULL;
	*fl = d->f;
	if (d->grp) {
		if (r->at >= len)
			return NULL;
		d = &d->grp[(b[r->at] >> 3) & 7];
		*fl |= d->f;
	}
	return d->kind == XK_GEN ? NULL : d;
}

static uint16_t
xj_bit(int reg)
{
	return (uint16_t)(1u << reg);
}

/* ModRM operands and where the immediate bytes are. */
static bool
xj_ana_modrm(const struct x86_insn *in, const uint8_t *b,
    const struct xj_raw *r, uint16_t f, struct xj_ins *x)
{
	uint8_t m;
	int end;

	x->imm_at = (uint8_t)r->at;
	if (f & O_M) {
		if (r->at >= in->len ||
		    (end = xj_modrm_end(b, r->at, in->len)) < 0)
			return false;
		m = b[r->at];
		x->has_modrm = true;
		x->mem = (m >> 6) != 3;
		x->ext = (f & O_EXT) != 0;
		x->regf = (uint8_t)(((m >> 3) & 7) |
		    (x->ext ? 0 : (r->rex & 4) << 1));
		x->rm = (uint8_t)((m & 7) | ((r->rex & 1) << 3));
		x->imm_at = (uint8_t)end;
		if ((x->mem && (f & O_RONLY)) || (!x->mem && (f & O_MONLY)))
			return false;
	}
	x->imm_len = (uint8_t)(in->len - x->imm_at);
	return x->imm_len <= 8;
}

/* An AH..BH operand (8-bit register 4-7 without REX): not translated. */
static bool
xj_high_byte(const struct xj_ins *x, const struct xj_raw *r, uint16_t f)
{
	if (r->rex || !(f & (O_B | O_BRM)))
		return false;
	if ((f & O_B) && x->has_modrm && !x->ext && x->regf >= 4 &&
	    x->regf < 8)
		return true;
	return x->has_modrm && !x->mem && x->rm >= 4 && x->rm < 8;
}

/* Registers, memory access and flags of a ModRM (or A, imm) form. */
static void
xj_ana_effects(const struct x86_insn *in, const struct xj_opd *d,
    uint16_t f, struct xj_ins *x)
{
	if (x->has_modrm && !x->ext) {
		x->uses |= xj_bit(x->regf);
		if (f & O_WREG)
			x->defs |= xj_bit(x->regf);
	}
	if (x->has_modrm && !x->mem) {
		x->uses |= xj_bit(x->rm);
		if (f & O_WRM)
			x->defs |= xj_bit(x->rm);
	}
	if (x->mem) {
		if (in->base != X86_REG_NONE)
			x->uses |= xj_bit(in->base);
		if (in->index != X86_REG_NONE)
			x->uses |= xj_bit(in->index);
		x->msize = d->ms == 0xff ? (in->osize == 2 ? 2 : 4) :
		    d->ms ? d->ms : in->osize;
		x->macc = (f & O_WRM) ? X86_ACC_W : X86_ACC_R;
	}
	/*
	 * An explicit destination that is also an implicit result (CMPXCHG
	 * RAX, r) would be overwritten by the copy back: interpreter.
	 */
	if (((x->imp & IMP_AW) && (x->defs & xj_bit(X86_RAX))) ||
	    ((x->imp & IMP_DW) && (x->defs & xj_bit(X86_RDX))))
		x->kind = XK_GEN;
	if (x->imp & (IMP_A | IMP_AW))
		x->uses |= xj_bit(X86_RAX);
	if (x->imp & IMP_AW)
		x->defs |= xj_bit(X86_RAX);
	if (x->imp & (IMP_D | IMP_DW))
		x->uses |= xj_bit(X86_RDX);
	if (x->imp & IMP_DW)
		x->defs |= xj_bit(X86_RDX);
	if (x->imp & IMP_C)
		x->uses |= xj_bit(X86_RCX);
}

/* Shifts and rotates: the flags move only for a count that is not 0. */
static void
xj_ana_count(const uint8_t *b, uint16_t f, struct xj_ins *x)
{
	unsigned count;

	if (f & O_SHCL) {
		x->imp |= IMP_C;
		x->fmay = x->fw != 0;
		x->fw = 0;
		return;
	}
	count = (f & O_SH1) ? 1 : b[x->imm_at];
	if ((count & (x->w ? 0x3f : 0x1f)) == 0)
		x->fr = x->fw = 0;
}

/* F2/F3: mandatory for POPCNT/TZCNT/LZCNT, else not translated. */
static bool
xj_ana_rep(const struct xj_raw *r, uint16_t f, struct xj_ins *x)
{
	bool cnt = r->map == 2 && (r->op == 0xbc || r->op == 0xbd);

	if ((f & O_REP) && r->rep != 0xf3)
		return false;
	if (!r->rep)
		return true;
	if (r->rep != 0xf3 || (!(f & O_REP) && !cnt))
		return false;
	if (!xj_host_ok(r->op))
		return false;
	x->rep = r->rep;
	if (cnt)
		x->fw = X86_CF | X86_ZF;
	return true;
}

/* The forms the descriptor tables call XK_NAT. */
static bool
xj_ana_nat(const struct x86_insn *in, const uint8_t *b,
    const struct xj_raw *r, const struct xj_opd *d, uint16_t f,
    struct xj_ins *x)
{
	if (!xj_ana_modrm(in, b, r, f, x) || xj_high_byte(x, r, f))
		return false;
	/* Never emit a LOCK the host would refuse (#UD): interpreter. */
	if (r->lock && (!(f & O_LOCK) || !x->mem))
		return false;
	if (f & (O_AIMM | O_TAIMM)) {
		/* op AL/eAX, imm is op r/m, imm with r/m = RAX. */
		x->opc[0] = (uint8_t)(((f & O_AIMM) ? 0x80 : 0xf6) |
		    (r->op & 1));
		x->has_modrm = x->ext = true;
		x->regf = (f & O_AIMM) ? (uint8_t)(r->op >> 3) : 0;
		x->rm = X86_RAX;
		if ((f & O_AIMM) && (r->op >> 3) != 7)
			f |= O_WRM;
	}
	if ((f & (O_SHI | O_SH1 | O_SHCL)))
		xj_ana_count(b, f, x);
	xj_ana_effects(in, d, f, x);
	if (x->kind == XK_GEN || (r->rep && !xj_ana_rep(r, f, x)))
		return false;
	if ((f & O_REP) && !r->rep)
		return false;
	return true;
}

/* XCHG rAX, r; MOV r, imm; BSWAP r: the register is in the opcode. */
static bool
xj_ana_opreg(const struct x86_insn *in, const struct xj_raw *r,
    struct xj_ins *x)
{
	uint8_t reg = (uint8_t)((r->op & 7) | ((r->rex & 1) << 3));

	x->imm_at = (uint8_t)r->at;
	x->imm_len = (uint8_t)(in->len - r->at);
	if (r->map == 1 && r->op < 0x98) {
		if (r->rep)
			return false;	/* PAUSE */
		if (reg == X86_RAX) {
			x->kind = XK_NOP;
			return true;
		}
		/* XCHG rAX, r as 87 /r. */
		x->kind = XK_NAT;
		x->opc[0] = 0x87;
		x->has_modrm = true;
		x->regf = X86_RAX;
		x->rm = reg;
		x->uses = x->defs = xj_bit(X86_RAX) | xj_bit(reg);
		return true;
	}
	x->byte = r->map == 1 && r->op < 0xb8;
	if (x->byte && !r->rex && reg >= 4 && reg < 8)
		return false;
	x->rm = reg;
	x->uses = x->defs = xj_bit(reg);
	return true;
}

static bool
xj_ana_lea(const struct x86_insn *in, const uint8_t *b,
    const struct xj_raw *r, struct xj_ins *x)
{
	if (!xj_ana_modrm(in, b, r, O_M | O_MONLY, x))
		return false;
	if (in->ripr && in->osize == 2)
		return false;
	x->p67 = r->p67;
	x->uses = xj_bit(x->regf);
	x->defs = xj_bit(x->regf);
	if (in->base != X86_REG_NONE)
		x->uses |= xj_bit(in->base);
	if (in->index != X86_REG_NONE)
		x->uses |= xj_bit(in->index);
	return true;
}

/* PUSH r/imm/r64 (FF /6), POP r, LEAVE: 64-bit operands only. */
static bool
xj_ana_stack(const struct x86_insn *in, const uint8_t *b,
    const struct xj_raw *r, uint16_t f, struct xj_ins *x)
{
	if (r->p66)
		return false;
	x->uses = x->defs = xj_bit(X86_RSP);
	if (x->kind == XK_LEAVE) {
		x->uses |= xj_bit(X86_RBP);
		x->defs |= xj_bit(X86_RBP);
		return true;
	}
	if (r->op == 0xff) {
		if (!xj_ana_modrm(in, b, r, f, x))
			return false;
		x->uses |= xj_bit(x->rm);
		return true;
	}
	if (r->op == 0x68 || r->op == 0x6a) {
		x->target = in->imm;	/* the value, sign-extended */
		x->imm_len = 0xff;	/* marks an immediate push */
		return true;
	}
	x->rm = (uint8_t)((r->op & 7) | ((r->rex & 1) << 3));
	x->uses |= xj_bit(x->rm);
	if (x->kind == XK_POP)
		x->defs |= xj_bit(x->rm);
	return true;
}

/* Jcc, JMP, CALL, RET, JMP/CALL r/m64. */
static bool
xj_ana_branch(const struct x86_jblk *jb, const struct x86_insn *in,
    const uint8_t *b, const struct xj_raw *r, uint16_t f, struct xj_ins *x)
{
	uint64_t next = jb->rip + in->off + in->len;

	if (x->kind == XK_JCC || x->kind == XK_JMP || x->kind == XK_CALL) {
		x->target = next + in->imm;
		x->cc = r->op & 0xf;
		if (!x86_is_canonical(x->target))
			return false;
		if (x->kind == XK_JCC)
			x->fr = FL_ALL;
	} else if (x->kind == XK_RET) {
		x->target = r->op == 0xc2 ? in->imm : 0;	/* imm16 */
	} else {
		if (!xj_ana_modrm(in, b, r, f | O_M, x))
			return false;
		if (x->mem) {
			x->msize = 8;
			x->macc = X86_ACC_R;
			if (in->base != X86_REG_NONE)
				x->uses |= xj_bit(in->base);
			if (in->index != X86_REG_NONE)
				x->uses |= xj_bit(in->index);
		} else {
			x->uses |= xj_bit(x->rm);
		}
	}
	if (x->kind == XK_CALL || x->kind == XK_RET || x->kind == XK_CALLI) {
		x->uses |= xj_bit(X86_RSP);
		x->defs |= xj_bit(X86_RSP);
	}
	return true;
}

/* Fill 'x' for instruction k; false: the interpreter runs it. */
static bool
xj_ana_ins(const struct x86_jblk *jb, int k, struct xj_ins *x)
{
	const struct x86_insn *in = &jb->insn[k];
	const uint8_t *b = jb->bytes + in->off;
	struct xj_raw r = { 0 };
	const struct xj_opd *d;
	uint16_t f = 0;

	if (in->fn == x86_h_ud || xj_parse(b, in->len, &r) != 0 ||
	    !(d = xj_opd_of(&r, b, in->len, &f)))
		return false;
	x->kind = d->kind;
	x->fr = d->fr;
	x->fw = d->fw;
	x->imp = d->imp;
	x->w = (r.rex & 8) != 0;
	x->p66 = r.p66;
	x->lock = r.lock;
	x->byte = (f & (O_B | O_BRM)) != 0;
	x->nopc = r.map == 1 ? 1 : 2;
	x->opc[0] = r.map == 1 ? r.op : 0x0f;
	x->opc[1] = r.op;
	switch (x->kind) {
	case XK_NAT:
		return xj_ana_nat(in, b, &r, d, f, x);
	case XK_NATOP:
		return xj_ana_opreg(in, &r, x);
	case XK_NOP:
		return true;
	case XK_LEA:
		return xj_ana_lea(in, b, &r, x);
	case XK_PUSH: case XK_POP: case XK_LEAVE:
		return xj_ana_stack(in, b, &r, f, x);
	default:
		return xj_ana_branch(jb, in, b, &r, f, x);
	}
}

/* Whether instruction x may leave the block before it completes. */
static bool
xj_may_exit(const struct xj_ins *x)
{
	return x->kind == XK_GEN || x->mem || x->kind == XK_PUSH ||
	    x->kind == XK_POP || x->kind == XK_LEAVE || x->kind == XK_CALL ||
	    x->kind == XK_RET || x->kind == XK_JMPI || x->kind == XK_CALLI;
}

/*
 * Flags live after each instruction.  A block's exit reads them all, and
 * so does every instruction that may fault or stop: its exception or stop
 * shows RFLAGS as they were before it.
 */
static void
xj_liveness(struct xj_ctx *c)
{
	uint16_t live = FL_ALL;
	int k;

	for (k = c->n - 1; k >= 0; k--) {
		struct xj_ins *x = &c->ins[k];

		x->live = live;
		if (xj_may_exit(x))
			live = FL_ALL;
		else
			live = x->fr | (live & ~x->fw);
	}
}

/* Guest registers of the block into the host's callee-saved and spare. */
static void
xj_alloc(struct xj_ctx *c, uint16_t all)
{
	static const uint8_t pool[X86_JIT_NCACHE] = { H_RBX, H_RSI, H_RDI,
		H_R8, H_R9, H_R10, H_R12, H_R13, H_R14, H_R15 };
	int g, i = 0;

	memset(c->host, H_NONE, sizeof(c->host));
	for (g = 0; g < 16; g++)
		if (all & xj_bit(g))
			c->host[g] = pool[i++];
	c->alloc = all;
}

/*
 * Analyse c->jb: how many instructions to translate (at most what ten
 * host registers can hold), how, which registers live where and flag
 * liveness.  -ENOTSUP when nothing would be translated natively.
 */
int
xj_analyze_block(struct xj_ctx *c)
{
	uint16_t all = 0;
	int k, n = c->jb->ninsn;

	c->ngen = 0;
	for (k = 0; k < n; k++) {
		struct xj_ins *x = &c->ins[k];

		memset(x, 0, sizeof(*x));
		if (!xj_ana_ins(c->jb, k, x)) {
			memset(x, 0, sizeof(*x));
			x->kind = XK_GEN;
		}
		if (__builtin_popcount(all | x->uses) > X86_JIT_NCACHE)
			break;
		all |= x->uses;
		if (x->kind == XK_GEN)
			c->ngen++;
	}
	c->n = k;
	if (c->n == 0 || c->ngen == c->n)
		return -ENOTSUP;
	xj_alloc(c, all);
	xj_liveness(c);
	return 0;
}
