/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the vmm's local APIC as a guest and the vmm drive it.
 * The input is a program of steps for two vlapics on a manual clock:
 * xAPIC page and MSR reads and writes (x2APIC range, APIC base, TSC
 * deadline), interrupts latched from outside, the vmm's accept cycle, LVT
 * inputs, INIT, CR8 writes and clock advances.  IPIs are routed between
 * the two as a vmm would (fixed, lowest priority by vlapic_priority(),
 * INIT resetting the target from inside the callback), and EOIs of
 * level-triggered vectors re-raise those whose "line" is still asserted.
 *
 * Besides the sanitizers, after every step each vlapic must hold:
 *   - PPR is TPR or the in-service class, whichever is higher (SDM 11.8.3.1);
 *   - ISR holds at most one vector per priority class, none below 16: no
 *     vector is ever delivered while it, or one of its class, is in service;
 *   - a pending vector is in IRR, not in ISR, and above PPR; with nothing
 *     pending, IRR's highest class is at or below PPR's;
 *   - the current count never exceeds the initial count;
 *   - ESR only ever shows the error bits this model raises;
 *   - a clock advance fires the timer at most once per 50 us, plus one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/apicreg.h"
#include "io/vlapic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NLAPIC 2
#define FZ_TSC_HZ 3000000000ull

struct fz_input {
	const uint8_t *p;
	size_t n;
};

struct fz {
	struct vmm_timebase *tb;
	struct vlapic *lapic[FZ_NLAPIC];
	uint64_t tsc_base;
	uint32_t level_lines[8]; /* vectors whose level source stays high */
	int nmis, inits, sipis;
};

struct fz_cb {
	struct fz *fz;
	int idx;
};

static struct fz_cb fz_cbs[FZ_NLAPIC];

static void fz_die(const char *why, int idx) __attribute__((noreturn));

static void
fz_die(const char *why, int idx)
{
	fprintf(stderr, "fuzz_vlapic: vlapic %d: %s\n", idx, why);
	abort();
}

static uint64_t
fz_take(struct fz_input *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

/* ---- The vmm side of the callbacks ---- */

static void
fz_notify(void *arg)
{
}

static uint64_t
fz_guest_tsc(void *arg)
{
	struct fz *fz = ((struct fz_cb *)arg)->fz;

	return fz->tsc_base + vmm_now(fz->tb) * 3;
}

/* Lowest priority: the matching vlapic with the lowest APR. */
static void
fz_route_lowpri(struct fz *fz, const struct vlapic_ipi *ipi)
{
	int best = -1, best_prio = 0x100;

	for (int i = 0; i < FZ_NLAPIC; i++) {
		int prio;

		if (!vlapic_ipi_match(fz->lapic[i], ipi))
			continue;
		prio = vlapic_priority(fz->lapic[i]);
		if (prio < 0 || prio > 0xff)
			fz_die("priority out of range", i);
		if (prio < best_prio) {
			best = i;
			best_prio = prio;
		}
	}
	if (best >= 0)
		(void)vlapic_set_intr_ready(fz->lapic[best], ipi->vector,
		    false);
}

static void
fz_ipi(void *arg, const struct vlapic_ipi *ipi)
{
	struct fz *fz = ((struct fz_cb *)arg)->fz;

	if (ipi->delmode == VLAPIC_DM_FIXED && ipi->vector < 16)
		fz_die("illegal vector passed on", ((struct fz_cb *)arg)->idx);
	if (ipi->delmode == VLAPIC_DM_LOWPRI) {
		fz_route_lowpri(fz, ipi);
		return;
	}
	for (int i = 0; i < FZ_NLAPIC; i++) {
		if (!vlapic_ipi_match(fz->lapic[i], ipi))
			continue;
		switch (ipi->delmode) {
		case VLAPIC_DM_FIXED:
			(void)vlapic_set_intr_ready(fz->lapic[i], ipi->vector,
			    false);
			break;
		case VLAPIC_DM_NMI:
			fz->nmis++;
			break;
		case VLAPIC_DM_INIT:
			fz->inits++;
			vlapic_reset(fz->lapic[i]);
			break;
		case VLAPIC_DM_STARTUP:
			fz->sipis++;
			break;
		default:
			fz_die("unexpected delivery mode", i);
		}
	}
}

static void
fz_eoi(void *arg, int vector)
{
	struct fz_cb *cb = arg;
	struct fz *fz = cb->fz;

	if (vector < 16 || vector > 255)
		fz_die("EOI broadcast of a bad vector", cb->idx);
	if (fz->level_lines[vector / 32] & (1u << (vector % 32)))
		(void)vlapic_set_intr_ready(fz->lapic[cb->idx], vector, true);
}

/* ---- Invariants ---- */

/* Read a register in whichever interface the mode offers. */
static bool
fz_reg(struct vlapic *v, uint32_t off, uint64_t *val)
{
	if (vlapic_x2apic_mode(v))
		return vlapic_rdmsr(v, APIC_MSR(off), val) == 0;
	if (vlapic_hw_enabled(v))
		return vlapic_mmio_read(v, off, 4, val) == 0;
	return false;
}

static void
fz_read_bank(struct vlapic *v, uint32_t base, uint32_t bank[8], int idx)
{
	for (int i = 0; i < 8; i++) {
		uint64_t val;

		if (!fz_reg(v, base + (uint32_t)i * 16, &val))
			fz_die("bank unreadable", idx);
		bank[i] = (uint32_t)val;
	}
}

static int
fz_highest(const uint32_t bank[8])
{
	for (int i = 7; i >= 0; i--) {
		if (bank[i])
			return i * 32 + 31 - __builtin_clz(bank[i]);
	}
	return -1;
}

static bool
fz_bit(const uint32_t bank[8], int vec)
{
	return (bank[vec / 32] >> (vec % 32)) & 1;
}

static void
fz_check_isr(const uint32_t isr[8], int idx)
{
	if (isr[0] & 0xffff)
		fz_die("ISR holds a vector below 16", idx);
	for (int c = 0; c < 16; c++) {
		uint32_t cls = (isr[c / 2] >> ((c % 2) * 16)) & 0xffff;

		if (__builtin_popcount(cls) > 1)
			fz_die("two vectors of one class in service", idx);
	}
}

static void
fz_check_ppr(struct vlapic *v, const uint32_t isr[8], int idx)
{
	uint64_t ppr, tpr;
	int isrv = fz_highest(isr);
	uint64_t isr_class = isrv < 0 ? 0 : (uint64_t)isrv & 0xf0;

	if (!fz_reg(v, APIC_OFF_PPR, &ppr) || !fz_reg(v, APIC_OFF_TPR, &tpr))
		fz_die("PPR/TPR unreadable", idx);
	if ((tpr & 0xf0) >= isr_class ? ppr != tpr : ppr != isr_class)
		fz_die("PPR does not follow TPR and ISR", idx);
	if (tpr != vlapic_get_tpr(v))
		fz_die("TPR register and CR8 view differ", idx);
}

static void
fz_check_pending(struct vlapic *v, const uint32_t isr[8],
    const uint32_t irr[8], int idx)
{
	uint64_t ppr;
	int vec = -1, irrv = fz_highest(irr);

	if (!fz_reg(v, APIC_OFF_PPR, &ppr))
		fz_die("PPR unreadable", idx);
	if (irr[0] & 0xffff)
		fz_die("IRR holds a vector below 16", idx);
	if (vlapic_pending_intr(v, &vec)) {
		if (vec != irrv || fz_bit(isr, vec))
			fz_die("pending vector not highest in IRR, or in ISR",
			    idx);
		if ((uint64_t)(vec & 0xf0) <= (ppr & 0xf0))
			fz_die("pending vector not above PPR", idx);
	} else if (irrv >= 0 && (uint64_t)(irrv & 0xf0) > (ppr & 0xf0)) {
		fz_die("deliverable vector not pending", idx);
	}
}

static void
fz_check_misc(struct vlapic *v, int idx)
{
	uint64_t icr, ccr, esr;

	if (!fz_reg(v, APIC_OFF_TIMER_ICR, &icr) ||
	    !fz_reg(v, APIC_OFF_TIMER_CCR, &ccr) ||
	    !fz_reg(v, APIC_OFF_ESR, &esr))
		fz_die("timer/ESR unreadable", idx);
	if (ccr > icr)
		fz_die("current count above initial count", idx);
	if (esr & ~(uint64_t)(APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL |
	    APIC_ESR_ILLEGAL_REG))
		fz_die("ESR bit this model never raises", idx);
}

static void
fz_check(struct vlapic *v, int idx)
{
	uint32_t isr[8], irr[8];

	if (!vlapic_hw_enabled(v)) {
		if (vlapic_pending_intr(v, NULL))
			fz_die("disabled APIC has a pending interrupt", idx);
		return;
	}
	fz_read_bank(v, APIC_OFF_ISR0, isr, idx);
	fz_read_bank(v, APIC_OFF_IRR0, irr, idx);
	fz_check_isr(isr, idx);
	fz_check_ppr(v, isr, idx);
	fz_check_pending(v, isr, irr, idx);
	fz_check_misc(v, idx);
}

/* ---- Steps ---- */

/* ---- Steps: one opcode byte (low nibble: step, bit 7: which vlapic) ---- */

struct fz_ctx {
	struct fz *fz;
	struct vlapic *v;
	int idx;
	struct fz_input *in;
};

static const uint32_t fz_msrs[] = { MSR_APICBASE, MSR_TSC_DEADLINE, 0x10,
	0x80b, 0x830, 0x83f, 0x838, 0x832, 0x80f, 0x828 };

static uint32_t
fz_msr(struct fz_input *in)
{
	uint8_t sel = (uint8_t)fz_take(in, 1);

	if (sel < 0x80)
		return MSR_X2APIC_FIRST + sel;
	return fz_msrs[sel % (sizeof(fz_msrs) / sizeof(fz_msrs[0]))];
}

/* Offset and size; biased toward the register area, some out of range. */
static uint64_t
fz_mmio_off(struct fz_input *in, int *size)
{
	static const int sizes[4] = { 1, 2, 4, 8 };
	uint64_t off = fz_take(in, 2);

	*size = sizes[off >> 14];
	off &= 0x3fff;
	if (off >= APIC_PAGE_SIZE)
		off = (off & 0x3f0) | (off & 0xf) % 4;
	return off;
}

static void
fz_op_mmio_write(struct fz_ctx *c)
{
	int size;
	uint64_t off = fz_mmio_off(c->in, &size);

	(void)vlapic_mmio_write(c->v, off, size, fz_take(c->in, 4));
}

static void
fz_op_mmio_read(struct fz_ctx *c)
{
	int size;
	uint64_t off = fz_mmio_off(c->in, &size), val;

	(void)vlapic_mmio_read(c->v, off, size, &val);
}

static void
fz_op_wrmsr(struct fz_ctx *c)
{
	uint32_t msr = fz_msr(c->in);

	(void)vlapic_wrmsr(c->v, msr, fz_take(c->in, 8));
}

static void
fz_op_rdmsr(struct fz_ctx *c)
{
	uint64_t val;

	(void)vlapic_rdmsr(c->v, fz_msr(c->in), &val);
}

/* From outside (I/O APIC, MSI): vectors -20..279, some illegal. */
static void
fz_op_intr(struct fz_ctx *c)
{
	int vec = (int)(fz_take(c->in, 2) % 300) - 20;

	(void)vlapic_set_intr_ready(c->v, vec, false);
}

/* The vmm's injection: take what is pending into service. */
static void
fz_op_accept(struct fz_ctx *c)
{
	int vec = -1;

	if (!vlapic_pending_intr(c->v, &vec))
		return;
	if (vec < 16 || vec > 255)
		fz_die("pending vector out of range", c->idx);
	vlapic_intr_accepted(c->v, vec);
}

/* Timer expiries allowed for an advance of 'ns'. */
static uint64_t
fz_timer_budget(uint64_t ns)
{
	return ns / VLAPIC_TIMER_MIN_PERIOD_NS + 2;
}

static void
fz_op_advance(struct fz_ctx *c)
{
	struct fz *fz = c->fz;
	uint64_t ns = fz_take(c->in, 3); /* up to ~16 ms */
	struct vlapic_stats before[FZ_NLAPIC], after;

	for (int i = 0; i < FZ_NLAPIC; i++)
		vlapic_get_stats(fz->lapic[i], &before[i]);
	vmm_timebase_advance(fz->tb, ns);
	for (int i = 0; i < FZ_NLAPIC; i++) {
		vlapic_get_stats(fz->lapic[i], &after);
		if (after.timer_fires - before[i].timer_fires >
		    fz_timer_budget(ns))
			fz_die("timer fired faster than the bound", i);
	}
}

static void
fz_op_lvt(struct fz_ctx *c)
{
	(void)vlapic_trigger_lvt(c->v, (int)(fz_take(c->in, 1) % 9) - 1);
}

static void
fz_op_cr8(struct fz_ctx *c)
{
	vlapic_set_tpr(c->v, (uint8_t)fz_take(c->in, 1));
}

static void
fz_op_init(struct fz_ctx *c)
{
	vlapic_reset(c->v);
}

/* APIC base values worth trying: every mode, relocations, junk. */
static void
fz_op_apicbase(struct fz_ctx *c)
{
	uint8_t sel = (uint8_t)fz_take(c->in, 1);
	uint64_t val = vlapic_get_apicbase(c->v) &
	    ~(APICBASE_EN | APICBASE_EXTD);
	static const uint64_t modes[5] = { 0, APICBASE_EN,
		APICBASE_EN | APICBASE_EXTD, APICBASE_EXTD, APICBASE_EN };

	if ((sel & 7) < 5)
		val = ((sel & 7) == 4 ? 0xfed00000 : val) | modes[sel & 7];
	else
		val = fz_take(c->in, 8);
	(void)vlapic_set_apicbase(c->v, val);
}

/* A level source: assert latches (TMR set) and holds the line. */
static void
fz_op_level(struct fz_ctx *c)
{
	uint8_t vec = (uint8_t)fz_take(c->in, 1);
	uint32_t bit = 1u << (vec % 32);

	if (fz_take(c->in, 1) & 1) {
		c->fz->level_lines[vec / 32] |= bit;
		(void)vlapic_set_intr_ready(c->v, vec, true);
	} else {
		c->fz->level_lines[vec / 32] &= ~bit;
	}
}

static void
fz_op_tsc_jump(struct fz_ctx *c)
{
	c->fz->tsc_base += fz_take(c->in, 4);
}

static void
fz_op_query(struct fz_ctx *c)
{
	uint32_t dest = (uint32_t)fz_take(c->in, 4);
	uint8_t flags = (uint8_t)fz_take(c->in, 1);
	struct vlapic_ipi ipi = { .dest = dest, .shorthand = flags & 3,
		.dest_logical = (flags & 4) != 0, .x2apic = (flags & 8) != 0,
		.src_apic_id = vlapic_apic_id(c->fz->lapic[0]) };
	int vector;

	(void)vlapic_match_dest(c->v, dest, (flags & 4) != 0,
	    (flags & 8) != 0);
	(void)vlapic_ipi_match(c->v, &ipi);
	(void)vlapic_lint_mode(c->v, (flags >> 4) & 3, &vector);
}

/* The guest's usual EOI, through whichever interface the mode has. */
static void
fz_op_eoi(struct fz_ctx *c)
{
	if (vlapic_wrmsr(c->v, APIC_MSR(APIC_OFF_EOI), 0) != 0)
		(void)vlapic_mmio_write(c->v, APIC_OFF_EOI, 4, 0);
}

/* Software enable, a common first step, the same way. */
static void
fz_op_enable(struct fz_ctx *c)
{
	if (vlapic_wrmsr(c->v, APIC_MSR(APIC_OFF_SVR), 0x1ff) != 0)
		(void)vlapic_mmio_write(c->v, APIC_OFF_SVR, 4, 0x1ff);
}

static void (*const fz_ops[16])(struct fz_ctx *c) = {
	fz_op_mmio_write, fz_op_mmio_read, fz_op_wrmsr, fz_op_rdmsr,
	fz_op_intr, fz_op_accept, fz_op_advance, fz_op_lvt,
	fz_op_cr8, fz_op_init, fz_op_apicbase, fz_op_level,
	fz_op_tsc_jump, fz_op_query, fz_op_eoi, fz_op_enable,
};

static void
fz_step(struct fz *fz, struct fz_input *in)
{
	uint8_t op = (uint8_t)fz_take(in, 1);
	int idx = (op >> 7) & 1;
	struct fz_ctx c = { .fz = fz, .v = fz->lapic[idx], .idx = idx,
		.in = in };

	fz_ops[op & 0xf](&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz fz = { .tsc_base = 0 };
	struct fz_input in = { .p = data, .n = size };
	uint32_t id1 = (uint32_t)fz_take(&in, 2);

	fz.tb = vmm_timebase_create_manual(0);
	if (fz.tb == NULL)
		return 0;
	for (int i = 0; i < FZ_NLAPIC; i++) {
		struct vlapic_ops ops = { .notify = fz_notify, .ipi = fz_ipi,
			.eoi_broadcast = fz_eoi, .guest_tsc = fz_guest_tsc,
			.tsc_hz = FZ_TSC_HZ, .x2apic = true, .maxphyaddr = 46,
			.arg = &fz_cbs[i] };

		fz_cbs[i] = (struct fz_cb){ .fz = &fz, .idx = i };
		fz.lapic[i] = vlapic_create(i, i == 0 ? 0 : id1 | 1, i == 0,
		    fz.tb, &ops);
		if (fz.lapic[i] == NULL)
			fz_die("create failed", i);
	}
	while (in.n > 0) {
		fz_step(&fz, &in);
		for (int i = 0; i < FZ_NLAPIC; i++)
			fz_check(fz.lapic[i], i);
	}
	for (int i = 0; i < FZ_NLAPIC; i++)
		vlapic_destroy(fz.lapic[i]);
	vmm_timebase_destroy(fz.tb);
	return 0;
}
