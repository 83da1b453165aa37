/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Lazy RFLAGS: arithmetic instructions record (op, size, result, sources)
 * and the six status flags are computed only when something reads them.
 * The carry and overflow formulas work on the sources and the result, so
 * ADC/SBB share them with ADD/SUB (the carry into the top bit is visible
 * as a ^ b ^ res).  LF_HOST holds the flags translated code saved from
 * the host's own (LAHF and SETO).
 */
#include "x86_internal.h"

const uint8_t x86_parity[256] = {
#define P2(n) n, n ^ 4, n ^ 4, n
#define P4(n) P2(n), P2(n ^ 4), P2(n ^ 4), P2(n)
#define P6(n) P4(n), P4(n ^ 4), P4(n ^ 4), P4(n)
	P6(4), P6(0), P6(0), P6(4)
#undef P2
#undef P4
#undef P6
};

static uint64_t
x86_flags_szp(uint64_t res, int size)
{
	uint64_t f = x86_parity[res & 0xff];
	uint64_t m = x86_size_mask(size);

	if ((res & m) == 0)
		f |= X86_ZF;
	if ((res >> (size * 8 - 1)) & 1)
		f |= X86_SF;
	return f;
}

static uint64_t
x86_flags_add(uint64_t a, uint64_t b, uint64_t res, int size)
{
	int top = size * 8 - 1;
	uint64_t f = x86_flags_szp(res, size);

	if ((((a & b) | ((a ^ b) & ~res)) >> top) & 1)
		f |= X86_CF;
	if ((((a ^ res) & (b ^ res)) >> top) & 1)
		f |= X86_OF;
	f |= (a ^ b ^ res) & X86_AF;
	return f;
}

static uint64_t
x86_flags_sub(uint64_t a, uint64_t b, uint64_t res, int size)
{
	int top = size * 8 - 1;
	uint64_t f = x86_flags_szp(res, size);

	if ((((~a & b) | (~(a ^ b) & res)) >> top) & 1)
		f |= X86_CF;
	if ((((a ^ b) & (a ^ res)) >> top) & 1)
		f |= X86_OF;
	f |= (a ^ b ^ res) & X86_AF;
	return f;
}

uint64_t
x86_flags_arith(const struct x86_cpu *cpu)
{
	uint64_t a = cpu->lf_a, b = cpu->lf_b, res = cpu->lf_res;
	int size = cpu->lf_size;
	uint64_t cf = cpu->rflags & X86_CF;

	switch (cpu->lf_op) {
	case LF_ADD:
		return x86_flags_add(a, b, res, size);
	case LF_SUB:
	case LF_SBB:
		return x86_flags_sub(a, b, res, size);
	case LF_LOGIC:
		return x86_flags_szp(res, size);
	case LF_INC:
		return (x86_flags_add(a, 1, res, size) & ~X86_CF) | cf;
	case LF_DEC:
		return (x86_flags_sub(a, 1, res, size) & ~X86_CF) | cf;
	case LF_HOST:
		return ((res >> 8) & (X86_CF | X86_PF | X86_AF | X86_ZF |
		    X86_SF)) | ((res & 1) ? X86_OF : 0);
	default:
		return cpu->rflags & X86_ARITH;
	}
}

/* Condition codes (SDM vol. 2, appendix B.1). */
bool
x86_cond_slow(struct x86_cpu *cpu, int cc)
{
	uint64_t f = x86_get_flags(cpu);
	bool r;

	switch (cc >> 1) {
	case 0: r = f & X86_OF; break;
	case 1: r = f & X86_CF; break;
	case 2: r = f & X86_ZF; break;
	case 3: r = f & (X86_CF | X86_ZF); break;
	case 4: r = f & X86_SF; break;
	case 5: r = f & X86_PF; break;
	case 6: r = !(f & X86_SF) != !(f & X86_OF); break;
	default:
		r = (f & X86_ZF) || (!(f & X86_SF) != !(f & X86_OF));
		break;
	}
	return (cc & 1) ? !r : r;
}
