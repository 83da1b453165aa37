/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SSE, SSE2, SSE3, SSSE3 and SSE4.1 (PCMPxSTRx of SSE4.2 is not here).
 * Arithmetic runs on the host's SSE units with the guest's MXCSR loaded
 * (exceptions masked on the host): results, NaN handling and MXCSR flags
 * are those of the hardware.  An unmasked exception raises #XM (#UD when
 * CR4.OSXMMEXCPT is clear) without writing the destination (SDM vol. 1,
 * 11.5.1).  The core therefore needs a host with SSE4.1.
 */
#include <immintrin.h>

#include "x86_internal.h"

#define SSE41 __attribute__((target("sse4.1")))

union x86_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	int8_t sb[16];
	int16_t sw[8];
	int32_t sd[4];
	int64_t sq[2];
	float f[4];
	double df[2];
	__m128i vi;
	__m128 vf;
	__m128d vd;
};

static inline union x86_xmm *
x86_xmm(struct x86_cpu *cpu, int r)
{
	return (union x86_xmm *)(void *)cpu->fpu.xmm[r & 15];
}

/* none, 66, F3, F2: as the decoder picked the prefix table. */
static int
x86_sse_pfx(const struct x86_insn *in)
{
	if (in->pfx & X86_P_REP)
		return 2;
	if (in->pfx & X86_P_REPNE)
		return 3;
	return (in->pfx & X86_P_OPSZ) ? 1 : 0;
}

int
x86_sse_check(struct x86_cpu *cpu)
{
	if ((cpu->cr0 & X86_CR0_EM) || !(cpu->cr4 & X86_CR4_OSFXSR))
		return x86_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		return x86_fault_ne(cpu, X86_NM);
	return X86_OK;
}

/* The r/m source: a register, or 'size' bytes of memory. */
static int
x86_xsrc(struct x86_cpu *cpu, const struct x86_insn *in, union x86_xmm *v,
    int size, bool align)
{
	uint64_t ea;

	if (in->mod == 3) {
		*v = *x86_xmm(cpu, in->rm);
		return X86_OK;
	}
	ea = x86_ea(cpu, in);
	memset(v, 0, sizeof(*v));
	if (align && (ea & 15))
		return x86_gp0(cpu);
	if (size <= 8) {
		uint64_t x = 0;
		int r = x86_read(cpu, in->seg, ea, size, &x);
		v->q[0] = x;
		return r;
	}
	return x86_read_buf(cpu, in->seg, ea, size, v);
}

static int
x86_xstore(struct x86_cpu *cpu, const struct x86_insn *in,
    const union x86_xmm *v, int size, bool align)
{
	uint64_t ea = x86_ea(cpu, in);

	if (align && (ea & 15))
		return x86_gp0(cpu);
	if (size <= 8)
		return x86_write(cpu, in->seg, ea, size, v->q[0] &
		    x86_size_mask(size));
	return x86_write_buf(cpu, in->seg, ea, size, v);
}

/* ---- MXCSR around host arithmetic ---- */

/* Keep host FP operations between the MXCSR load and the flag read. */
#define X86_PIN(v) __asm__ volatile("" : "+x"(v))

static uint32_t
x86_mx_enter(struct x86_cpu *cpu)
{
	uint32_t host = _mm_getcsr();

	_mm_setcsr((cpu->fpu.mxcsr & 0xffc0) | 0x1f80);
	return host;
}

/* Collect the flags; X86_EXC if one of them is unmasked. */
static int
x86_mx_leave(struct x86_cpu *cpu, uint32_t host)
{
	uint32_t fl = _mm_getcsr() & 0x3f;

	_mm_setcsr(host);
	cpu->fpu.mxcsr |= fl;
	if (fl & ~(cpu->fpu.mxcsr >> 7) & 0x3f) {
		if (!(cpu->cr4 & X86_CR4_OSXMMEXCPT))
			return x86_ud(cpu);
		return x86_fault_ne(cpu, X86_XM);
	}
	return X86_OK;
}

/* ---- packed integer binary operations (66 0F ..., 66 0F 38 ...) ---- */

typedef void (*x86_xop)(union x86_xmm *d, const union x86_xmm *s);

#define X86_PI_OPS(X)                                                        \
	X(punpcklbw, _mm_unpacklo_epi8(a, b))                                \
	X(punpcklwd, _mm_unpacklo_epi16(a, b))                               \
	X(punpckldq, _mm_unpacklo_epi32(a, b))                               \
	X(packsswb, _mm_packs_epi16(a, b))                                   \
	X(pcmpgtb, _mm_cmpgt_epi8(a, b))                                     \
	X(pcmpgtw, _mm_cmpgt_epi16(a, b))                                    \
	X(pcmpgtd, _mm_cmpgt_epi32(a, b))                                    \
	X(packuswb, _mm_packus_epi16(a, b))                                  \
	X(punpckhbw, _mm_unpackhi_epi8(a, b))                                \
	X(punpckhwd, _mm_unpackhi_epi16(a, b))                               \
	X(punpckhdq, _mm_unpackhi_epi32(a, b))                               \
	X(packssdw, _mm_packs_epi32(a, b))                                   \
	X(punpcklqdq, _mm_unpacklo_epi64(a, b))                              \
	X(punpckhqdq, _mm_unpackhi_epi64(a, b))                              \
	X(pcmpeqb, _mm_cmpeq_epi8(a, b))                                     \
	X(pcmpeqw, _mm_cmpeq_epi16(a, b))                                    \
	X(pcmpeqd, _mm_cmpeq_epi32(a, b))                                    \
	X(psrlw, _mm_srl_epi16(a, b))                                        \
	X(psrld, _mm_srl_epi32(a, b))                                        \
	X(psrlq, _mm_srl_epi64(a, b))                                        \
	X(paddq, _mm_add_epi64(a, b))                                        \
	X(pmullw, _mm_mullo_epi16(a, b))                                     \
	X(psubusb, _mm_subs_epu8(a, b))                                      \
	X(psubusw, _mm_subs_epu16(a, b))                                     \
	X(pminub, _mm_min_epu8(a, b))                                        \
	X(pand, _mm_and_si128(a, b))                                         \
	X(paddusb, _mm_adds_epu8(a, b))                                      \
	X(paddusw, _mm_adds_epu16(a, b))                                     \
	X(pmaxub, _mm_max_epu8(a, b))                                        \
	X(pandn, _mm_andnot_si128(a, b))                                     \
	X(pavgb, _mm_avg_epu8(a, b))                                         \
	X(psraw, _mm_sra_epi16(a, b))                                        \
	X(psrad, _mm_sra_epi32(a, b))                                        \
	X(pavgw, _mm_avg_epu16(a, b))                                        \
	X(pmulhuw, _mm_mulhi_epu16(a, b))                                    \
	X(pmulhw, _mm_mulhi_epi16(a, b))                                     \
	X(psubsb, _mm_subs_epi8(a, b))                                       \
	X(psubsw, _mm_subs_epi16(a, b))                                      \
	X(pminsw, _mm_min_epi16(a, b))                                       \
	X(por, _mm_or_si128(a, b))                                           \
	X(paddsb, _mm_adds_epi8(a, b))                                       \
	X(paddsw, _mm_adds_epi16(a, b))                                      \
	X(pmaxsw, _mm_max_epi16(a, b))                                       \
	X(pxor, _mm_xor_si128(a, b))                                         \
	X(psllw, _mm_sll_epi16(a, b))                                        \
	X(pslld, _mm_sll_epi32(a, b))                                        \
	X(psllq, _mm_sll_epi64(a, b))                                        \
	X(pmuludq, _mm_mul_epu32(a, b))                                      \
	X(pmaddwd, _mm_madd_epi16(a, b))                                     \
	X(psadbw, _mm_sad_epu8(a, b))                                        \
	X(psubb, _mm_sub_epi8(a, b))                                         \
	X(psubw, _mm_sub_epi16(a, b))                                        \
	X(psubd, _mm_sub_epi32(a, b))                                        \
	X(psubq, _mm_sub_epi64(a, b))                                        \
	X(paddb, _mm_add_epi8(a, b))                                         \
	X(paddw, _mm_add_epi16(a, b))                                        \
	X(paddd, _mm_add_epi32(a, b))                                        \
	X(pshufb, _mm_shuffle_epi8(a, b))                                    \
	X(phaddw, _mm_hadd_epi16(a, b))                                      \
	X(phaddd, _mm_hadd_epi32(a, b))                                      \
	X(phaddsw, _mm_hadds_epi16(a, b))                                    \
	X(pmaddubsw, _mm_maddubs_epi16(a, b))                                \
	X(phsubw, _mm_hsub_epi16(a, b))                                      \
	X(phsubd, _mm_hsub_epi32(a, b))                                      \
	X(phsubsw, _mm_hsubs_epi16(a, b))                                    \
	X(psignb, _mm_sign_epi8(a, b))                                       \
	X(psignw, _mm_sign_epi16(a, b))                                      \
	X(psignd, _mm_sign_epi32(a, b))                                      \
	X(pmulhrsw, _mm_mulhrs_epi16(a, b))                                  \
	X(pabsb, _mm_abs_epi8(b))                                            \
	X(pabsw, _mm_abs_epi16(b))                                           \
	X(pabsd, _mm_abs_epi32(b))                                           \
	X(pmuldq, _mm_mul_epi32(a, b))                                       \
	X(pcmpeqq, _mm_cmpeq_epi64(a, b))                                    \
	X(packusdw, _mm_packus_epi32(a, b))                                  \
	X(pminsb, _mm_min_epi8(a, b))                                        \
	X(pminsd, _mm_min_epi32(a, b))                                       \
	X(pminuw, _mm_min_epu16(a, b))                                       \
	X(pminud, _mm_min_epu32(a, b))                                       \
	X(pmaxsb, _mm_max_epi8(a, b))                                        \
	X(pmaxsd, _mm_max_epi32(a, b))                                       \
	X(pmaxuw, _mm_max_epu16(a, b))                                       \
	X(pmaxud, _mm_max_epu32(a, b))                                       \
	X(pmulld, _mm_mullo_epi32(a, b))                                     \
	X(phminposuw, _mm_minpos_epu16(b))                                   \
	X(pmovsxbw, _mm_cvtepi8_epi16(b))                                    \
	X(pmovsxbd, _mm_cvtepi8_epi32(b))                                    \
	X(pmovsxbq, _mm_cvtepi8_epi64(b))                                    \
	X(pmovsxwd, _mm_cvtepi16_epi32(b))                                   \
	X(pmovsxwq, _mm_cvtepi16_epi64(b))                                   \
	X(pmovsxdq, _mm_cvtepi32_epi64(b))                                   \
	X(pmovzxbw, _mm_cvtepu8_epi16(b))                                    \
	X(pmovzxbd, _mm_cvtepu8_epi32(b))                                    \
	X(pmovzxbq, _mm_cvtepu8_epi64(b))                                    \
	X(pmovzxwd, _mm_cvtepu16_epi32(b))                                   \
	X(pmovzxwq, _mm_cvtepu16_epi64(b))                                   \
	X(pmovzxdq, _mm_cvtepu32_epi64(b))                                   \
	X(andps, _mm_and_si128(a, b))                                        \
	X(andnps, _mm_andnot_si128(a, b))                                    \
	X(orps, _mm_or_si128(a, b))                                          \
	X(xorps, _mm_xor_si128(a, b))                                        \
	X(unpcklps, _mm_unpacklo_epi32(a, b))                                \
	X(unpckhps, _mm_unpackhi_epi32(a, b))                                \
	X(unpcklpd, _mm_unpacklo_epi64(a, b))                                \
	X(unpckhpd, _mm_unpackhi_epi64(a, b))

#define X86_PI_FN(n, e)                                                      \
	static SSE41 void x86_pi_##n(union x86_xmm *d,                       \
	    const union x86_xmm *s)                                          \
	{                                                                    \
		__m128i a = d->vi, b = s->vi;                                \
		(void)a;                                                     \
		d->vi = (e);                                                 \
	}
X86_PI_OPS(X86_PI_FN)

#define X86_PI_ENUM(n, e) PI_##n,
enum { X86_PI_OPS(X86_PI_ENUM) PI_COUNT };
#define X86_PI_PTR(n, e) x86_pi_##n,
static const x86_xop x86_pi_tab[PI_COUNT] = { X86_PI_OPS(X86_PI_PTR) };

/* Sources narrower than 16 bytes (PMOVZX/SX read 2, 4 or 8 bytes). */
static int
x86_pi_src_size(int op)
{
	switch (op) {
	case PI_pmovsxbq: case PI_pmovzxbq: return 2;
	case PI_pmovsxbd: case PI_pmovzxbd: case PI_pmovsxwq:
	case PI_pmovzxwq: return 4;
	case PI_pmovsxbw: case PI_pmovzxbw: case PI_pmovsxwd:
	case PI_pmovzxwd: case PI_pmovsxdq: case PI_pmovzxdq: return 8;
	default: return 16;
	}
}

static int
x86_h_sse_pi(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s;
	int size = x86_pi_src_size(in->sub), r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, size, size == 16)) != X86_OK)
		return r;
	x86_pi_tab[in->sub](x86_xmm(cpu, in->reg), &s);
	return X86_OK;
}

/*
 * ---- floating point ----
 *
 * Every operation is its own function reached through a table: the
 * compiler must not evaluate an operation the guest did not ask for
 * (it would if-convert a switch of intrinsics and raise their MXCSR
 * flags speculatively).
 */

typedef __m128i (*x86_fop)(__m128i a, __m128i b);

#define PS(x) _mm_castsi128_ps(x)
#define PD(x) _mm_castsi128_pd(x)
#define IPS(x) _mm_castps_si128(x)
#define IPD(x) _mm_castpd_si128(x)

#define X86_FP_OPS(X)                                                        \
	X(add, IPS(_mm_add_ps(PS(a), PS(b))), IPD(_mm_add_pd(PD(a), PD(b))), \
	    IPS(_mm_add_ss(PS(a), PS(b))), IPD(_mm_add_sd(PD(a), PD(b))))    \
	X(mul, IPS(_mm_mul_ps(PS(a), PS(b))), IPD(_mm_mul_pd(PD(a), PD(b))), \
	    IPS(_mm_mul_ss(PS(a), PS(b))), IPD(_mm_mul_sd(PD(a), PD(b))))    \
	X(sub, IPS(_mm_sub_ps(PS(a), PS(b))), IPD(_mm_sub_pd(PD(a), PD(b))), \
	    IPS(_mm_sub_ss(PS(a), PS(b))), IPD(_mm_sub_sd(PD(a), PD(b))))    \
	X(min, IPS(_mm_min_ps(PS(a), PS(b))), IPD(_mm_min_pd(PD(a), PD(b))), \
	    IPS(_mm_min_ss(PS(a), PS(b))), IPD(_mm_min_sd(PD(a), PD(b))))    \
	X(div, IPS(_mm_div_ps(PS(a), PS(b))), IPD(_mm_div_pd(PD(a), PD(b))), \
	    IPS(_mm_div_ss(PS(a), PS(b))), IPD(_mm_div_sd(PD(a), PD(b))))    \
	X(max, IPS(_mm_max_ps(PS(a), PS(b))), IPD(_mm_max_pd(PD(a), PD(b))), \
	    IPS(_mm_max_ss(PS(a), PS(b))), IPD(_mm_max_sd(PD(a), PD(b))))    \
	X(sqrt, IPS(_mm_sqrt_ps(PS(b))), IPD(_mm_sqrt_pd(PD(b))),            \
	    IPS(_mm_move_ss(PS(a), _mm_sqrt_ss(PS(b)))),                     \
	    IPD(_mm_sqrt_sd(PD(a), PD(b))))                                  \
	X(rsqrt, IPS(_mm_rsqrt_ps(PS(b))), a,                                \
	    IPS(_mm_move_ss(PS(a), _mm_rsqrt_ss(PS(b)))), a)                 \
	X(rcp, IPS(_mm_rcp_ps(PS(b))), a,                                    \
	    IPS(_mm_move_ss(PS(a), _mm_rcp_ss(PS(b)))), a)                   \
	X(addsub, IPS(_mm_addsub_ps(PS(a), PS(b))),                          \
	    IPD(_mm_addsub_pd(PD(a), PD(b))), a, a)                          \
	X(hadd, IPS(_mm_hadd_ps(PS(a), PS(b))), IPD(_mm_hadd_pd(PD(a),       \
	    PD(b))), a, a)                                                   \
	X(hsub, IPS(_mm_hsub_ps(PS(a), PS(b))), IPD(_mm_hsub_pd(PD(a),       \
	    PD(b))), a, a)                                                   \
	X(cmp0, IPS(_mm_cmpeq_ps(PS(a), PS(b))), IPD(_mm_cmpeq_pd(PD(a),     \
	    PD(b))), IPS(_mm_cmpeq_ss(PS(a), PS(b))), IPD(_mm_cmpeq_sd(PD(a),\
	    PD(b))))                                                         \
	X(cmp1, IPS(_mm_cmplt_ps(PS(a), PS(b))), IPD(_mm_cmplt_pd(PD(a),     \
	    PD(b))), IPS(_mm_cmplt_ss(PS(a), PS(b))), IPD(_mm_cmplt_sd(PD(a),\
	    PD(b))))                                                         \
	X(cmp2, IPS(_mm_cmple_ps(PS(a), PS(b))), IPD(_mm_cmple_pd(PD(a),     \
	    PD(b))), IPS(_mm_cmple_ss(PS(a), PS(b))), IPD(_mm_cmple_sd(PD(a),\
	    PD(b))))                                                         \
	X(cmp3, IPS(_mm_cmpunord_ps(PS(a), PS(b))), IPD(_mm_cmpunord_pd(     \
	    PD(a), PD(b))), IPS(_mm_cmpunord_ss(PS(a), PS(b))),              \
	    IPD(_mm_cmpunord_sd(PD(a), PD(b))))                              \
	X(cmp4, IPS(_mm_cmpneq_ps(PS(a), PS(b))), IPD(_mm_cmpneq_pd(PD(a),   \
	    PD(b))), IPS(_mm_cmpneq_ss(PS(a), PS(b))),                       \
	    IPD(_mm_cmpneq_sd(PD(a), PD(b))))                                \
	X(cmp5, IPS(_mm_cmpnlt_ps(PS(a), PS(b))), IPD(_mm_cmpnlt_pd(PD(a),   \
	    PD(b))), IPS(_mm_cmpnlt_ss(PS(a), PS(b))),                       \
	    IPD(_mm_cmpnlt_sd(PD(a), PD(b))))                                \
	X(cmp6, IPS(_mm_cmpnle_ps(PS(a), PS(b))), IPD(_mm_cmpnle_pd(PD(a),   \
	    PD(b))), IPS(_mm_cmpnle_ss(PS(a), PS(b))),                       \
	    IPD(_mm_cmpnle_sd(PD(a), PD(b))))                                \
	X(cmp7, IPS(_mm_cmpord_ps(PS(a), PS(b))), IPD(_mm_cmpord_pd(PD(a),   \
	    PD(b))), IPS(_mm_cmpord_ss(PS(a), PS(b))),                       \
	    IPD(_mm_cmpord_sd(PD(a), PD(b))))                                \
	X(round, IPS(_mm_round_ps(PS(b), _MM_FROUND_CUR_DIRECTION)),         \
	    IPD(_mm_round_pd(PD(b), _MM_FROUND_CUR_DIRECTION)),              \
	    IPS(_mm_round_ss(PS(a), PS(b), _MM_FROUND_CUR_DIRECTION)),       \
	    IPD(_mm_round_sd(PD(a), PD(b), _MM_FROUND_CUR_DIRECTION)))

#define X86_FP_FN(n, ps, pd, ss, sd)                                         \
	static SSE41 __m128i x86_fp_##n##_ps(__m128i a, __m128i b)           \
	{ (void)a; (void)b; return ps; }                                     \
	static SSE41 __m128i x86_fp_##n##_pd(__m128i a, __m128i b)           \
	{ (void)a; (void)b; return pd; }                                     \
	static SSE41 __m128i x86_fp_##n##_ss(__m128i a, __m128i b)           \
	{ (void)a; (void)b; return ss; }                                     \
	static SSE41 __m128i x86_fp_##n##_sd(__m128i a, __m128i b)           \
	{ (void)a; (void)b; return sd; }
X86_FP_OPS(X86_FP_FN)

#define X86_FP_ENUM(n, ps, pd, ss, sd) FP_##n,
enum { X86_FP_OPS(X86_FP_ENUM) FP_COUNT };
#define FP_ADD FP_add
#define FP_MUL FP_mul
#define FP_SUB FP_sub
#define FP_MIN FP_min
#define FP_DIV FP_div
#define FP_MAX FP_max
#define FP_SQRT FP_sqrt
#define FP_RSQRT FP_rsqrt
#define FP_RCP FP_rcp
#define FP_ADDSUB FP_addsub
#define FP_HADD FP_hadd
#define FP_HSUB FP_hsub

#define X86_FP_ROW(n, ps, pd, ss, sd)                                        \
	{ x86_fp_##n##_ps, x86_fp_##n##_pd, x86_fp_##n##_ss, x86_fp_##n##_sd },
static const x86_fop x86_fp_tab[FP_COUNT][4] = { X86_FP_OPS(X86_FP_ROW) };

/* Run one table operation with the guest's MXCSR; d is written only if
 * no unmasked exception was raised. */
static int
x86_fp_run(struct x86_cpu *cpu, x86_fop fn, union x86_xmm *d,
    const union x86_xmm *s)
{
	uint32_t host = x86_mx_enter(cpu);
	__m128i res;
	int r;

	__asm__ volatile("" ::: "memory");
	res = fn(d->vi, s->vi);
	X86_PIN(res);
	r = x86_mx_leave(cpu, host);
	if (r == X86_OK)
		d->vi = res;
	return r;
}

/* The prefix picks ps, pd, ss, sd; the op is in->sub. */
static int
x86_h_sse_fp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	static const int size[4] = { 16, 16, 4, 8 };
	static const int tidx[4] = { 0, 1, 2, 3 };
	int t = x86_sse_pfx(in), r;
	union x86_xmm s;

	if (in->sub >= FP_ADDSUB)	/* SSE3: 66 = pd, F2 = ps */
		t = t == 3 ? 0 : 1;
	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, size[t], size[t] == 16)) != X86_OK)
		return r;
	return x86_fp_run(cpu, x86_fp_tab[in->sub][tidx[t]],
	    x86_xmm(cpu, in->reg), &s);
}

/* CMPPS/PD/SS/SD imm8 predicates 0-7. */
static int
x86_h_sse_cmp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	static const int size[4] = { 16, 16, 4, 8 };
	int t = x86_sse_pfx(in), r;
	union x86_xmm s;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, size[t], size[t] == 16)) != X86_OK)
		return r;
	return x86_fp_run(cpu, x86_fp_tab[FP_cmp0 + (in->imm & 7)][t],
	    x86_xmm(cpu, in->reg), &s);
}

/* (U)COMISS/SD: ZF PF CF from the compare, OF SF AF cleared. */
static SSE41 int
x86_h_sse_comi(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool dbl = (in->pfx & X86_P_OPSZ) != 0, sig = in->b0 == 0x2f;
	union x86_xmm s, *d = x86_xmm(cpu, in->reg);
	uint64_t f = 0;
	uint32_t host;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, dbl ? 8 : 4, false)) != X86_OK)
		return r;
	host = x86_mx_enter(cpu);
	/* The host instruction itself, for its MXCSR flags. */
	if (dbl && sig)
		__asm__ volatile("comisd %1, %0" : : "x"(d->vd), "x"(s.vd)
		    : "cc");
	else if (dbl)
		__asm__ volatile("ucomisd %1, %0" : : "x"(d->vd), "x"(s.vd)
		    : "cc");
	else if (sig)
		__asm__ volatile("comiss %1, %0" : : "x"(d->vf), "x"(s.vf)
		    : "cc");
	else
		__asm__ volatile("ucomiss %1, %0" : : "x"(d->vf), "x"(s.vf)
		    : "cc");
	if (dbl) {
		double a = d->df[0], b = s.df[0];
		f = (a != a || b != b) ? (X86_ZF | X86_PF | X86_CF) :
		    a < b ? X86_CF : a == b ? X86_ZF : 0;
	} else {
		float a = d->f[0], b = s.f[0];
		f = (a != a || b != b) ? (X86_ZF | X86_PF | X86_CF) :
		    a < b ? X86_CF : a == b ? X86_ZF : 0;
	}
	if ((r = x86_mx_leave(cpu, host)) == X86_OK)
		x86_set_aflags(cpu, X86_ARITH, f);
	return r;
}

/* ---- conversions ---- */

enum { CV_PS2PD, CV_PD2PS, CV_SS2SD, CV_SD2SS, CV_DQ2PS, CV_PS2DQ,
	CV_TPS2DQ, CV_TPD2DQ, CV_DQ2PD, CV_PD2DQ };

#define X86_CV(n, e)                                                         \
	static SSE41 __m128i x86_cv_##n(__m128i d, __m128i s)                \
	{ (void)d; return (e); }
X86_CV(ps2pd, IPD(_mm_cvtps_pd(PS(s))))
X86_CV(pd2ps, IPS(_mm_cvtpd_ps(PD(s))))
X86_CV(ss2sd, IPD(_mm_cvtss_sd(PD(d), PS(s))))
X86_CV(sd2ss, IPS(_mm_cvtsd_ss(PS(d), PD(s))))
X86_CV(dq2ps, IPS(_mm_cvtepi32_ps(s)))
X86_CV(ps2dq, _mm_cvtps_epi32(PS(s)))
X86_CV(tps2dq, _mm_cvttps_epi32(PS(s)))
X86_CV(tpd2dq, _mm_cvttpd_epi32(PD(s)))
X86_CV(dq2pd, IPD(_mm_cvtepi32_pd(s)))
X86_CV(pd2dq, _mm_cvtpd_epi32(PD(s)))

static const x86_fop x86_cv_tab[] = { x86_cv_ps2pd, x86_cv_pd2ps,
	x86_cv_ss2sd, x86_cv_sd2ss, x86_cv_dq2ps, x86_cv_ps2dq, x86_cv_tps2dq,
	x86_cv_tpd2dq, x86_cv_dq2pd, x86_cv_pd2dq };

static int
x86_cvt_src_size(int op)
{
	switch (op) {
	case CV_PS2PD: case CV_DQ2PD: case CV_SD2SS: return 8;
	case CV_SS2SD: return 4;
	default: return 16;
	}
}

static int
x86_h_sse_cvt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s;
	int size = x86_cvt_src_size(in->sub), r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, size, size == 16)) != X86_OK)
		return r;
	return x86_fp_run(cpu, x86_cv_tab[in->sub], x86_xmm(cpu, in->reg),
	    &s);
}

/* F3/F2 0F 2A: CVTSI2SS/SD from a 32/64-bit integer. */
typedef __m128i (*x86_cvti)(__m128i d, int64_t v);
#define X86_CVI(n, e)                                                        \
	static SSE41 __m128i x86_cvi_##n(__m128i d, int64_t v) { return (e); }
X86_CVI(ss32, IPS(_mm_cvtsi32_ss(PS(d), (int32_t)v)))
X86_CVI(ss64, IPS(_mm_cvtsi64_ss(PS(d), v)))
X86_CVI(sd32, IPD(_mm_cvtsi32_sd(PD(d), (int32_t)v)))
X86_CVI(sd64, IPD(_mm_cvtsi64_sd(PD(d), v)))
static const x86_cvti x86_cvi_tab[4] = { x86_cvi_ss32, x86_cvi_ss64,
	x86_cvi_sd32, x86_cvi_sd64 };

static int
x86_h_cvtsi2f(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool w = (in->pfx & X86_P_REXW) != 0;
	union x86_xmm *d = x86_xmm(cpu, in->reg);
	__m128i res;
	uint32_t host;
	uint64_t v;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_read_rm(cpu, in, w ? 8 : 4, &v)) != X86_OK)
		return r;
	host = x86_mx_enter(cpu);
	__asm__ volatile("" ::: "memory");
	res = x86_cvi_tab[((in->pfx & X86_P_REP) ? 0 : 2) + w](d->vi,
	    (int64_t)v);
	X86_PIN(res);
	if ((r = x86_mx_leave(cpu, host)) == X86_OK)
		d->vi = res;
	return r;
}

/* F3/F2 0F 2C/2D: CVT(T)SS/SD2SI to a 32/64-bit register. */
typedef uint64_t (*x86_cvf)(__m128i s);
#define X86_CVF(n, e)                                                        \
	static SSE41 uint64_t x86_cvf_##n(__m128i s) { return (e); }
X86_CVF(ss32, (uint32_t)_mm_cvtss_si32(PS(s)))
X86_CVF(ss64, (uint64_t)_mm_cvtss_si64(PS(s)))
X86_CVF(tss32, (uint32_t)_mm_cvttss_si32(PS(s)))
X86_CVF(tss64, (uint64_t)_mm_cvttss_si64(PS(s)))
X86_CVF(sd32, (uint32_t)_mm_cvtsd_si32(PD(s)))
X86_CVF(sd64, (uint64_t)_mm_cvtsd_si64(PD(s)))
X86_CVF(tsd32, (uint32_t)_mm_cvttsd_si32(PD(s)))
X86_CVF(tsd64, (uint64_t)_mm_cvttsd_si64(PD(s)))
static const x86_cvf x86_cvf_tab[8] = { x86_cvf_ss32, x86_cvf_ss64,
	x86_cvf_tss32, x86_cvf_tss64, x86_cvf_sd32, x86_cvf_sd64,
	x86_cvf_tsd32, x86_cvf_tsd64 };

static int
x86_h_cvtf2si(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool dbl = (in->pfx & X86_P_REPNE) != 0, trunc = in->b0 == 0x2c;
	bool w = (in->pfx & X86_P_REXW) != 0;
	union x86_xmm s;
	uint32_t host;
	uint64_t v;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, dbl ? 8 : 4, false)) != X86_OK)
		return r;
	host = x86_mx_enter(cpu);
	__asm__ volatile("" ::: "memory");
	v = x86_cvf_tab[dbl * 4 + trunc * 2 + w](s.vi);
	__asm__ volatile("" : "+r"(v));
	if ((r = x86_mx_leave(cpu, host)) == X86_OK)
		x86_sreg(cpu, in->reg, w ? 8 : 4, v);
	return r;
}

/* ---- moves ---- */

/* sub: bit 0 store; bits 2..1: size (0: 16 aligned, 1: 16, 2: 4, 3: 8). */
#define MV_ST 1
#define MV_A16 0
#define MV_U16 2
#define MV_S4 4
#define MV_S8 6

static int
x86_h_sse_mov(struct x86_cpu *cpu, const struct x86_insn *in)
{
	static const int size[4] = { 16, 16, 4, 8 };
	int sz = size[(in->sub >> 1) & 3], r;
	union x86_xmm v, *d = x86_xmm(cpu, in->reg);

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->sub & MV_ST) {
		if (in->mod == 3) {
			union x86_xmm *t = x86_xmm(cpu, in->rm);
			if (sz == 16)
				*t = *d;
			else
				memcpy(t, d, sz);	/* MOVSS/SD merge */
			return X86_OK;
		}
		return x86_xstore(cpu, in, d, sz, (in->sub >> 1) == 0);
	}
	if ((r = x86_xsrc(cpu, in, &v, sz, (in->sub >> 1) == 0)) != X86_OK)
		return r;
	if (in->mod == 3 && sz < 16)
		memcpy(d, &v, sz);	/* register MOVSS/SD merge */
	else
		*d = v;
	return X86_OK;
}

/* 66 0F 6E / 7E: MOVD/MOVQ between a GPR or memory and an XMM. */
static int
x86_h_movd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int sz = (in->pfx & X86_P_REXW) ? 8 : 4, r;
	union x86_xmm *d = x86_xmm(cpu, in->reg);
	uint64_t v;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->b0 == 0x7e)
		return x86_write_rm(cpu, in, sz, d->q[0] & x86_size_mask(sz));
	if ((r = x86_read_rm(cpu, in, sz, &v)) != X86_OK)
		return r;
	d->q[0] = v;
	d->q[1] = 0;
	return X86_OK;
}

/* F3 0F 7E: MOVQ xmm, xmm/m64; 66 0F D6: MOVQ xmm/m64, xmm. */
static int
x86_h_movq(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm v, *d = x86_xmm(cpu, in->reg);
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->b0 == 0xd6) {
		if (in->mod != 3)
			return x86_xstore(cpu, in, d, 8, false);
		v.q[0] = d->q[0];
		v.q[1] = 0;
		*x86_xmm(cpu, in->rm) = v;
		return X86_OK;
	}
	if ((r = x86_xsrc(cpu, in, &v, 8, false)) != X86_OK)
		return r;
	d->q[0] = v.q[0];
	d->q[1] = 0;
	return X86_OK;
}

/*
 * 0F 12/13/16/17: MOVLPS/MOVHPS/MOVLPD/MOVHPD (memory), MOVHLPS/MOVLHPS
 * (registers), MOVSLDUP/MOVSHDUP/MOVDDUP.  sub 0: low half, 1: high.
 */
static int
x86_h_movlh(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm v, *d = x86_xmm(cpu, in->reg);
	int r, hi = in->sub;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->b0 & 1) {	/* store */
		if (in->mod == 3)
			return x86_ud(cpu);
		v.q[0] = d->q[hi];
		return x86_xstore(cpu, in, &v, 8, false);
	}
	if ((r = x86_xsrc(cpu, in, &v, 8, false)) != X86_OK)
		return r;
	if (in->mod == 3 && !(in->pfx & X86_P_OPSZ))
		d->q[hi] = v.q[hi ? 0 : 1];	/* MOVLHPS / MOVHLPS */
	else if (in->mod == 3)
		return x86_ud(cpu);
	else
		d->q[hi] = v.q[0];
	return X86_OK;
}

static int
x86_h_movdup(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm v, *d = x86_xmm(cpu, in->reg);
	bool ddup = (in->pfx & X86_P_REPNE) != 0;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &v, ddup ? 8 : 16, !ddup)) != X86_OK)
		return r;
	if (ddup) {
		v.q[1] = v.q[0];
	} else if (in->b0 == 0x12) {
		v.d[1] = v.d[0];
		v.d[3] = v.d[2];
	} else {
		v.d[0] = v.d[1];
		v.d[2] = v.d[3];
	}
	*d = v;
	return X86_OK;
}

/* MOVMSKPS/PD, PMOVMSKB into a GPR. */
static SSE41 int
x86_h_movmsk(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm *s = x86_xmm(cpu, in->rm);
	uint64_t v;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->b0 == 0xd7)
		v = (uint32_t)_mm_movemask_epi8(s->vi);
	else if (in->pfx & X86_P_OPSZ)
		v = (uint32_t)_mm_movemask_pd(s->vd);
	else
		v = (uint32_t)_mm_movemask_ps(s->vf);
	x86_sreg(cpu, in->reg, in->osize == 8 ? 8 : 4, v);
	return X86_OK;
}

/* 0F C3 MOVNTI, 0F 2B MOVNTPS/PD, 66 0F E7 MOVNTDQ: plain stores. */
static int
x86_h_movnti(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int sz = (in->pfx & X86_P_REXW) ? 8 : 4;

	if (in->pfx & (X86_P_OPSZ | X86_P_REP | X86_P_REPNE))
		return x86_ud(cpu);
	return x86_write_rm(cpu, in, sz, x86_greg(cpu, in->reg, sz));
}

/* 66 0F F7: MASKMOVDQU to DS:rDI. */
static int
x86_h_maskmov(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm *d = x86_xmm(cpu, in->reg), *m = x86_xmm(cpu, in->rm);
	uint64_t ea = cpu->r[X86_RDI] & x86_size_mask(in->asize);
	int i, r;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	for (i = 0; i < 16; i++) {
		if (!(m->b[i] & 0x80))
			continue;
		r = x86_write(cpu, in->seg, (ea + i) & x86_size_mask(in->asize),
		    1, d->b[i]);
		if (r != X86_OK)
			return r;
	}
	return X86_OK;
}

/* ---- shuffles and immediates ---- */

static int
x86_h_pshuf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, res, *d = x86_xmm(cpu, in->reg);
	int t = x86_sse_pfx(in), i, r;
	uint8_t im = (uint8_t)in->imm;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, 16, true)) != X86_OK)
		return r;
	res = s;
	for (i = 0; i < 4; i++) {
		int sel = (im >> (2 * i)) & 3;
		if (t == 1)
			res.d[i] = s.d[sel];
		else if (t == 2)
			res.w[4 + i] = s.w[4 + sel];
		else
			res.w[i] = s.w[sel];
	}
	*d = res;
	return X86_OK;
}

static int
x86_h_shufp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, res, *d = x86_xmm(cpu, in->reg);
	uint8_t im = (uint8_t)in->imm;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, 16, true)) != X86_OK)
		return r;
	if (in->pfx & X86_P_OPSZ) {
		res.q[0] = d->q[im & 1];
		res.q[1] = s.q[(im >> 1) & 1];
	} else {
		res.d[0] = d->d[im & 3];
		res.d[1] = d->d[(im >> 2) & 3];
		res.d[2] = s.d[(im >> 4) & 3];
		res.d[3] = s.d[(im >> 6) & 3];
	}
	*d = res;
	return X86_OK;
}

/* 0F 71/72/73 groups: shifts of an XMM by imm8 (sub: 0 w, 1 d, 2 q). */
static SSE41 int
x86_h_pshift_i(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm *d = x86_xmm(cpu, in->rm), res;
	int op = in->reg & 7, n = (int)(in->imm & 0xff), i, r;
	__m128i c = _mm_cvtsi32_si128(n), a = d->vi;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->mod != 3)
		return x86_ud(cpu);
	if (in->sub == 2 && (op == 3 || op == 7)) {	/* PSRLDQ/PSLLDQ */
		memset(&res, 0, sizeof(res));
		for (i = 0; i < 16; i++) {
			int k = op == 3 ? i + n : i - n;
			if (k >= 0 && k < 16)
				res.b[i] = d->b[k];
		}
		*d = res;
		return X86_OK;
	}
	switch (in->sub * 8 + op) {
	case 2: d->vi = _mm_srl_epi16(a, c); break;
	case 4: d->vi = _mm_sra_epi16(a, c); break;
	case 6: d->vi = _mm_sll_epi16(a, c); break;
	case 10: d->vi = _mm_srl_epi32(a, c); break;
	case 12: d->vi = _mm_sra_epi32(a, c); break;
	case 14: d->vi = _mm_sll_epi32(a, c); break;
	case 18: d->vi = _mm_srl_epi64(a, c); break;
	case 22: d->vi = _mm_sll_epi64(a, c); break;
	default: return x86_ud(cpu);
	}
	return X86_OK;
}

/* 66 0F C4 PINSRW, 66 0F C5 PEXTRW (register form). */
static int
x86_h_pinsrw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm *d = x86_xmm(cpu, in->reg);
	uint64_t v;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->b0 == 0xc5) {
		if (in->mod != 3)
			return x86_ud(cpu);
		x86_sreg(cpu, in->reg, in->osize == 8 ? 8 : 4,
		    x86_xmm(cpu, in->rm)->w[in->imm & 7]);
		return X86_OK;
	}
	if ((r = x86_read_rm(cpu, in, 2, &v)) != X86_OK)
		return r;
	d->w[in->imm & 7] = (uint16_t)v;
	return X86_OK;
}

/* 66 0F 3A 0F: PALIGNR. */
static int
x86_h_palignr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, res, *d = x86_xmm(cpu, in->reg);
	int n = (int)(in->imm & 0xff), i, r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, 16, true)) != X86_OK)
		return r;
	for (i = 0; i < 16; i++) {
		int k = i + n;
		res.b[i] = k < 16 ? s.b[k] : k < 32 ? d->b[k - 16] : 0;
	}
	*d = res;
	return X86_OK;
}

/* ---- SSE4.1 ---- */

/* 66 0F 38 17: PTEST sets ZF and CF. */
static SSE41 int
x86_h_ptest(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, *d = x86_xmm(cpu, in->reg);
	uint64_t f = 0;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, 16, true)) != X86_OK)
		return r;
	if (((d->q[0] & s.q[0]) | (d->q[1] & s.q[1])) == 0)
		f |= X86_ZF;
	if (((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1])) == 0)
		f |= X86_CF;
	x86_set_aflags(cpu, X86_ARITH, f);
	return X86_OK;
}

/*
 * Blends: 66 0F 3A 0C/0D/0E by imm8 (sub 4, 8, 2 = element size) and
 * 66 0F 38 10/14/15 by the sign bits of XMM0 (sub | 0x80).
 */
static int
x86_h_blend(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, *d = x86_xmm(cpu, in->reg), *x0 = x86_xmm(cpu, 0);
	int esz = in->sub & 0x7f, n = 16 / esz, i, r;
	bool sel;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, 16, true)) != X86_OK)
		return r;
	for (i = 0; i < n; i++) {
		if (in->sub & 0x80)
			sel = x0->b[i * esz + esz - 1] & 0x80;
		else
			sel = (in->imm >> i) & 1;
		if (sel)
			memcpy(&d->b[i * esz], &s.b[i * esz], esz);
	}
	return X86_OK;
}

/* 66 0F 3A 14/15/16/17: PEXTRB/W/D/Q, EXTRACTPS to r/m. */
static int
x86_h_pextr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm *s = x86_xmm(cpu, in->reg);
	int esz = in->sub, r, n;
	uint64_t v = 0;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (esz == 4 && (in->pfx & X86_P_REXW) && in->b0 == 0x16)
		esz = 8;
	n = (int)(in->imm & (16 / esz - 1));
	memcpy(&v, &s->b[n * esz], esz);
	if (in->mod == 3)
		return x86_write_rm(cpu, in, esz == 8 ? 8 : 4, v);
	return x86_write_rm(cpu, in, esz, v);
}

/* 66 0F 3A 20/22: PINSRB/D/Q; 21: INSERTPS. */
static int
x86_h_pinsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm *d = x86_xmm(cpu, in->reg), s;
	int esz = in->sub, r, i;
	uint64_t v;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	if (in->b0 == 0x21) {
		uint8_t im = (uint8_t)in->imm;
		if ((r = x86_xsrc(cpu, in, &s, 4, false)) != X86_OK)
			return r;
		v = in->mod == 3 ? s.d[(im >> 6) & 3] : s.d[0];
		d->d[(im >> 4) & 3] = (uint32_t)v;
		for (i = 0; i < 4; i++)
			if (im & (1 << i))
				d->d[i] = 0;
		return X86_OK;
	}
	if (esz == 4 && (in->pfx & X86_P_REXW))
		esz = 8;
	if ((r = x86_read_rm(cpu, in, esz, &v)) != X86_OK)
		return r;
	memcpy(&d->b[(in->imm & (16 / esz - 1)) * esz], &v, esz);
	return X86_OK;
}

/* 66 0F 3A 08-0B: ROUNDPS/PD/SS/SD. */
static int
x86_h_round(struct x86_cpu *cpu, const struct x86_insn *in)
{
	static const int size[4] = { 16, 16, 4, 8 };
	int op = in->b0 - 8, r;
	union x86_xmm s;
	uint32_t mx = cpu->fpu.mxcsr;
	uint8_t im = (uint8_t)in->imm;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, size[op], op < 2)) != X86_OK)
		return r;
	/* The immediate's rounding mode; bit 3 suppresses precision. */
	if (!(im & 4))
		cpu->fpu.mxcsr = (mx & ~0x6000U) | ((im & 3U) << 13);
	if (im & 8)
		cpu->fpu.mxcsr |= 0x1000;
	r = x86_fp_run(cpu, x86_fp_tab[FP_round][op], x86_xmm(cpu, in->reg),
	    &s);
	cpu->fpu.mxcsr = mx | (cpu->fpu.mxcsr & 0x3f & ~((im & 8) ? 0x20U :
	    0));
	return r;
}

/* 66 0F 38 37: PCMPGTQ (SSE4.2). */
static SSE41 int
x86_h_pcmpgtq(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, *d = x86_xmm(cpu, in->reg);
	int r, i;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_xsrc(cpu, in, &s, 16, true)) != X86_OK)
		return r;
	for (i = 0; i < 2; i++)
		d->q[i] = d->sq[i] > s.sq[i] ? ~0ULL : 0;
	return X86_OK;
}

/* 66 0F 38 2A: MOVNTDQA (aligned load). */
static int
x86_h_movntdqa(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	if (in->mod == 3)
		return x86_ud(cpu);
	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	return x86_xsrc(cpu, in, x86_xmm(cpu, in->reg), 16, true);
}

/* ---- MXCSR ---- */

int
x86_h_ldmxcsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK ||
	    (r = x86_read(cpu, in->seg, x86_ea(cpu, in), 4, &v)) != X86_OK)
		return r;
	if (v & ~0xffffULL)
		return x86_gp0(cpu);
	cpu->fpu.mxcsr = (uint32_t)v;
	return X86_OK;
}

int
x86_h_stmxcsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int r;

	if ((r = x86_sse_check(cpu)) != X86_OK)
		return r;
	return x86_write(cpu, in->seg, x86_ea(cpu, in), 4, cpu->fpu.mxcsr);
}

/* ---- opcode tables ---- */

#define T4(a, b, c, d) (const struct x86_opdesc[4]){ a, b, c, d }
#define PX(t) { .f = D_MODRM | D_PFX, .tab = (t) }
#define PXI(t) { .f = D_MODRM | D_PFX | D_IU8, .tab = (t) }
#define NO { .fn = NULL }
#define PI(op) { .fn = x86_h_sse_pi, .sub = PI_##op }
#define PI66(op) PX(T4(NO, PI(op), NO, NO))
#define FPA(op) { .fn = x86_h_sse_fp, .sub = (op) }
#define FP4(op) PX(T4(FPA(op), FPA(op), FPA(op), FPA(op)))
#define MV(s) { .fn = x86_h_sse_mov, .sub = (s) }
#define CV(s) { .fn = x86_h_sse_cvt, .sub = (s) }
#define H(h) { .fn = (h) }
#define HS(h, s) { .fn = (h), .sub = (s) }

static const struct x86_opdesc x86_grp12[8] = {
	[2] = PX(T4(NO, HS(x86_h_pshift_i, 0), NO, NO)),
	[4] = PX(T4(NO, HS(x86_h_pshift_i, 0), NO, NO)),
	[6] = PX(T4(NO, HS(x86_h_pshift_i, 0), NO, NO)),
};
static const struct x86_opdesc x86_grp13[8] = {
	[2] = PX(T4(NO, HS(x86_h_pshift_i, 1), NO, NO)),
	[4] = PX(T4(NO, HS(x86_h_pshift_i, 1), NO, NO)),
	[6] = PX(T4(NO, HS(x86_h_pshift_i, 1), NO, NO)),
};
static const struct x86_opdesc x86_grp14[8] = {
	[2] = PX(T4(NO, HS(x86_h_pshift_i, 2), NO, NO)),
	[3] = PX(T4(NO, HS(x86_h_pshift_i, 2), NO, NO)),
	[6] = PX(T4(NO, HS(x86_h_pshift_i, 2), NO, NO)),
	[7] = PX(T4(NO, HS(x86_h_pshift_i, 2), NO, NO)),
};

const struct x86_opdesc x86_sse_op2[256] = {
	[0x10] = PX(T4(MV(MV_U16), MV(MV_U16), MV(MV_S4), MV(MV_S8))),
	[0x11] = PX(T4(MV(MV_U16 | MV_ST), MV(MV_U16 | MV_ST),
	    MV(MV_S4 | MV_ST), MV(MV_S8 | MV_ST))),
	[0x12] = PX(T4(HS(x86_h_movlh, 0), HS(x86_h_movlh, 0),
	    H(x86_h_movdup), H(x86_h_movdup))),
	[0x13] = PX(T4(HS(x86_h_movlh, 0), HS(x86_h_movlh, 0), NO, NO)),
	[0x14] = PX(T4(PI(unpcklps), PI(unpcklpd), NO, NO)),
	[0x15] = PX(T4(PI(unpckhps), PI(unpckhpd), NO, NO)),
	[0x16] = PX(T4(HS(x86_h_movlh, 1), HS(x86_h_movlh, 1),
	    H(x86_h_movdup), NO)),
	[0x17] = PX(T4(HS(x86_h_movlh, 1), HS(x86_h_movlh, 1), NO, NO)),
	[0x28] = PX(T4(MV(MV_A16), MV(MV_A16), NO, NO)),
	[0x29] = PX(T4(MV(MV_A16 | MV_ST), MV(MV_A16 | MV_ST), NO, NO)),
	[0x2a] = PX(T4(NO, NO, H(x86_h_cvtsi2f), H(x86_h_cvtsi2f))),
	[0x2b] = PX(T4(MV(MV_A16 | MV_ST), MV(MV_A16 | MV_ST), NO, NO)),
	[0x2c] = PX(T4(NO, NO, H(x86_h_cvtf2si), H(x86_h_cvtf2si))),
	[0x2d] = PX(T4(NO, NO, H(x86_h_cvtf2si), H(x86_h_cvtf2si))),
	[0x2e] = PX(T4(H(x86_h_sse_comi), H(x86_h_sse_comi), NO, NO)),
	[0x2f] = PX(T4(H(x86_h_sse_comi), H(x86_h_sse_comi), NO, NO)),
	[0x50] = PX(T4(H(x86_h_movmsk), H(x86_h_movmsk), NO, NO)),
	[0x51] = FP4(FP_SQRT),
	[0x52] = PX(T4(FPA(FP_RSQRT), NO, FPA(FP_RSQRT), NO)),
	[0x53] = PX(T4(FPA(FP_RCP), NO, FPA(FP_RCP), NO)),
	[0x54] = PX(T4(PI(andps), PI(andps), NO, NO)),
	[0x55] = PX(T4(PI(andnps), PI(andnps), NO, NO)),
	[0x56] = PX(T4(PI(orps), PI(orps), NO, NO)),
	[0x57] = PX(T4(PI(xorps), PI(xorps), NO, NO)),
	[0x58] = FP4(FP_ADD),
	[0x59] = FP4(FP_MUL),
	[0x5a] = PX(T4(CV(CV_PS2PD), CV(CV_PD2PS), CV(CV_SS2SD),
	    CV(CV_SD2SS))),
	[0x5b] = PX(T4(CV(CV_DQ2PS), CV(CV_PS2DQ), CV(CV_TPS2DQ), NO)),
	[0x5c] = FP4(FP_SUB),
	[0x5d] = FP4(FP_MIN),
	[0x5e] = FP4(FP_DIV),
	[0x5f] = FP4(FP_MAX),
	[0x60] = PI66(punpcklbw), [0x61] = PI66(punpcklwd),
	[0x62] = PI66(punpckldq), [0x63] = PI66(packsswb),
	[0x64] = PI66(pcmpgtb), [0x65] = PI66(pcmpgtw),
	[0x66] = PI66(pcmpgtd), [0x67] = PI66(packuswb),
	[0x68] = PI66(punpckhbw), [0x69] = PI66(punpckhwd),
	[0x6a] = PI66(punpckhdq), [0x6b] = PI66(packssdw),
	[0x6c] = PI66(punpcklqdq), [0x6d] = PI66(punpckhqdq),
	[0x6e] = PX(T4(NO, H(x86_h_movd), NO, NO)),
	[0x6f] = PX(T4(NO, MV(MV_A16), MV(MV_U16), NO)),
	[0x70] = PXI(T4(NO, H(x86_h_pshuf), H(x86_h_pshuf), H(x86_h_pshuf))),
	[0x71] = { .f = D_MODRM | D_GRP | D_IU8, .tab = x86_grp12 },
	[0x72] = { .f = D_MODRM | D_GRP | D_IU8, .tab = x86_grp13 },
	[0x73] = { .f = D_MODRM | D_GRP | D_IU8, .tab = x86_grp14 },
	[0x74] = PI66(pcmpeqb), [0x75] = PI66(pcmpeqw),
	[0x76] = PI66(pcmpeqd),
	[0x7c] = PX(T4(NO, FPA(FP_HADD), NO, FPA(FP_HADD))),
	[0x7d] = PX(T4(NO, FPA(FP_HSUB), NO, FPA(FP_HSUB))),
	[0x7e] = PX(T4(NO, H(x86_h_movd), H(x86_h_movq), NO)),
	[0x7f] = PX(T4(NO, MV(MV_A16 | MV_ST), MV(MV_U16 | MV_ST), NO)),
	[0xc2] = PXI(T4(H(x86_h_sse_cmp), H(x86_h_sse_cmp), H(x86_h_sse_cmp),
	    H(x86_h_sse_cmp))),
	[0xc3] = { .fn = x86_h_movnti, .f = D_MODRM | D_MEM },
	[0xc4] = PXI(T4(NO, H(x86_h_pinsrw), NO, NO)),
	[0xc5] = PXI(T4(NO, H(x86_h_pinsrw), NO, NO)),
	[0xc6] = PXI(T4(H(x86_h_shufp), H(x86_h_shufp), NO, NO)),
	[0xd0] = PX(T4(NO, FPA(FP_ADDSUB), NO, FPA(FP_ADDSUB))),
	[0xd1] = PI66(psrlw), [0xd2] = PI66(psrld), [0xd3] = PI66(psrlq),
	[0xd4] = PI66(paddq), [0xd5] = PI66(pmullw),
	[0xd6] = PX(T4(NO, H(x86_h_movq), NO, NO)),
	[0xd7] = PX(T4(NO, H(x86_h_movmsk), NO, NO)),
	[0xd8] = PI66(psubusb), [0xd9] = PI66(psubusw), [0xda] = PI66(pminub),
	[0xdb] = PI66(pand), [0xdc] = PI66(paddusb), [0xdd] = PI66(paddusw),
	[0xde] = PI66(pmaxub), [0xdf] = PI66(pandn),
	[0xe0] = PI66(pavgb), [0xe1] = PI66(psraw), [0xe2] = PI66(psrad),
	[0xe3] = PI66(pavgw), [0xe4] = PI66(pmulhuw), [0xe5] = PI66(pmulhw),
	[0xe6] = PX(T4(NO, CV(CV_TPD2DQ), CV(CV_DQ2PD), CV(CV_PD2DQ))),
	[0xe7] = PX(T4(NO, MV(MV_A16 | MV_ST), NO, NO)),
	[0xe8] = PI66(psubsb), [0xe9] = PI66(psubsw), [0xea] = PI66(pminsw),
	[0xeb] = PI66(por), [0xec] = PI66(paddsb), [0xed] = PI66(paddsw),
	[0xee] = PI66(pmaxsw), [0xef] = PI66(pxor),
	[0xf0] = PX(T4(NO, NO, NO, MV(MV_U16))),
	[0xf1] = PI66(psllw), [0xf2] = PI66(pslld), [0xf3] = PI66(psllq),
	[0xf4] = PI66(pmuludq), [0xf5] = PI66(pmaddwd), [0xf6] = PI66(psadbw),
	[0xf7] = PX(T4(NO, H(x86_h_maskmov), NO, NO)),
	[0xf8] = PI66(psubb), [0xf9] = PI66(psubw), [0xfa] = PI66(psubd),
	[0xfb] = PI66(psubq), [0xfc] = PI66(paddb), [0xfd] = PI66(paddw),
	[0xfe] = PI66(paddd),
};

const struct x86_opdesc x86_sse_op38[256] = {
	[0x00] = PI66(pshufb), [0x01] = PI66(phaddw), [0x02] = PI66(phaddd),
	[0x03] = PI66(phaddsw), [0x04] = PI66(pmaddubsw),
	[0x05] = PI66(phsubw), [0x06] = PI66(phsubd), [0x07] = PI66(phsubsw),
	[0x08] = PI66(psignb), [0x09] = PI66(psignw), [0x0a] = PI66(psignd),
	[0x0b] = PI66(pmulhrsw),
	[0x10] = PX(T4(NO, HS(x86_h_blend, 0x81), NO, NO)),
	[0x14] = PX(T4(NO, HS(x86_h_blend, 0x84), NO, NO)),
	[0x15] = PX(T4(NO, HS(x86_h_blend, 0x88), NO, NO)),
	[0x17] = PX(T4(NO, H(x86_h_ptest), NO, NO)),
	[0x1c] = PI66(pabsb), [0x1d] = PI66(pabsw), [0x1e] = PI66(pabsd),
	[0x20] = PI66(pmovsxbw), [0x21] = PI66(pmovsxbd),
	[0x22] = PI66(pmovsxbq), [0x23] = PI66(pmovsxwd),
	[0x24] = PI66(pmovsxwq), [0x25] = PI66(pmovsxdq),
	[0x28] = PI66(pmuldq), [0x29] = PI66(pcmpeqq),
	[0x2a] = PX(T4(NO, H(x86_h_movntdqa), NO, NO)),
	[0x2b] = PI66(packusdw),
	[0x30] = PI66(pmovzxbw), [0x31] = PI66(pmovzxbd),
	[0x32] = PI66(pmovzxbq), [0x33] = PI66(pmovzxwd),
	[0x34] = PI66(pmovzxwq), [0x35] = PI66(pmovzxdq),
	[0x37] = PX(T4(NO, H(x86_h_pcmpgtq), NO, NO)),
	[0x38] = PI66(pminsb), [0x39] = PI66(pminsd), [0x3a] = PI66(pminuw),
	[0x3b] = PI66(pminud), [0x3c] = PI66(pmaxsb), [0x3d] = PI66(pmaxsd),
	[0x3e] = PI66(pmaxuw), [0x3f] = PI66(pmaxud), [0x40] = PI66(pmulld),
	[0x41] = PI66(phminposuw),
};

const struct x86_opdesc x86_sse_op3a[256] = {
	[0x08] = PXI(T4(NO, H(x86_h_round), NO, NO)),
	[0x09] = PXI(T4(NO, H(x86_h_round), NO, NO)),
	[0x0a] = PXI(T4(NO, H(x86_h_round), NO, NO)),
	[0x0b] = PXI(T4(NO, H(x86_h_round), NO, NO)),
	[0x0c] = PXI(T4(NO, HS(x86_h_blend, 4), NO, NO)),
	[0x0d] = PXI(T4(NO, HS(x86_h_blend, 8), NO, NO)),
	[0x0e] = PXI(T4(NO, HS(x86_h_blend, 2), NO, NO)),
	[0x0f] = PXI(T4(NO, H(x86_h_palignr), NO, NO)),
	[0x14] = PXI(T4(NO, HS(x86_h_pextr, 1), NO, NO)),
	[0x15] = PXI(T4(NO, HS(x86_h_pextr, 2), NO, NO)),
	[0x16] = PXI(T4(NO, HS(x86_h_pextr, 4), NO, NO)),
	[0x17] = PXI(T4(NO, HS(x86_h_pextr, 4), NO, NO)),
	[0x20] = PXI(T4(NO, HS(x86_h_pinsr, 1), NO, NO)),
	[0x21] = PXI(T4(NO, HS(x86_h_pinsr, 4), NO, NO)),
	[0x22] = PXI(T4(NO, HS(x86_h_pinsr, 4), NO, NO)),
};
