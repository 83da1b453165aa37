/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's local APIC against a manual clock and recording callbacks:
 * register semantics, priorities, the IRR/ISR/EOI cycle, errors, IPIs and
 * destination matching, x2APIC and the APIC base MSR, and the timer in
 * its three modes.
 */
#include <errno.h>
#include <pthread.h>

#include "test.h"
#include "io/apicreg.h"
#include "io/vlapic.h"

#define TSC_HZ 2000000000ull /* fake guest TSC: 2 ticks per ns */

struct rec {
	struct vmm_timebase *tb;
	struct vlapic *self;	/* for callbacks that call back in */
	int notifies;
	struct vlapic_ipi ipis[16];
	int n_ipis;
	int eois[16];
	int n_eois;
	uint64_t tsc_base;
	bool reraise_on_eoi;	/* eoi_broadcast re-latches (level line) */
	bool route_ipis;	/* ipi delivers fixed IPIs to 'self' */
};

static void
rec_notify(void *arg)
{
	((struct rec *)arg)->notifies++;
}

static void
rec_ipi(void *arg, const struct vlapic_ipi *ipi)
{
	struct rec *r = arg;

	if (r->n_ipis < 16)
		r->ipis[r->n_ipis] = *ipi;
	r->n_ipis++;
	/* Calls back into the sender: deadlocks if it held its lock. */
	if (r->route_ipis && ipi->delmode == VLAPIC_DM_FIXED &&
	    vlapic_ipi_match(r->self, ipi))
		(void)vlapic_set_intr_ready(r->self, ipi->vector, false);
}

static void
rec_eoi(void *arg, int vector)
{
	struct rec *r = arg;

	if (r->n_eois < 16)
		r->eois[r->n_eois] = vector;
	r->n_eois++;
	if (r->reraise_on_eoi)
		(void)vlapic_set_intr_ready(r->self, vector, true);
}

static uint64_t
rec_tsc(void *arg)
{
	struct rec *r = arg;

	return r->tsc_base + vmm_now(r->tb) * (TSC_HZ / NS_PER_SEC);
}

static struct vlapic *
mk(struct rec *r, uint32_t id, bool bsp, bool tscdl)
{
	struct vlapic_ops ops = {
		.notify = rec_notify,
		.ipi = rec_ipi,
		.eoi_broadcast = rec_eoi,
		.guest_tsc = tscdl ? rec_tsc : NULL,
		.tsc_hz = tscdl ? TSC_HZ : 0,
		.x2apic = true,
		.maxphyaddr = 39,
		.arg = r,
	};

	if (r->tb == NULL)
		r->tb = vmm_timebase_create_manual(1000000);
	r->tsc_base = 5000;
	r->self = vlapic_create(0, id, bsp, r->tb, &ops);
	return r->self;
}

static void
done(struct rec *r)
{
	vlapic_destroy(r->self);
	vmm_timebase_destroy(r->tb);
}

static uint32_t
rd(struct vlapic *v, uint64_t off)
{
	uint64_t val = 0xdeadbeef;

	CHECK_EQ(vlapic_mmio_read(v, off, 4, &val), 0);
	return (uint32_t)val;
}

static void
wr(struct vlapic *v, uint64_t off, uint32_t val)
{
	CHECK_EQ(vlapic_mmio_write(v, off, 4, val), 0);
}

static uint32_t
esr(struct vlapic *v)
{
	wr(v, APIC_OFF_ESR, 0);
	return rd(v, APIC_OFF_ESR);
}

static bool
bit(struct vlapic *v, uint64_t bank, int vec)
{
	return (rd(v, bank + (uint64_t)(vec / 32) * 16) >> (vec % 32)) & 1;
}

static void
enable(struct vlapic *v)
{
	wr(v, APIC_OFF_SVR, APIC_SVR_ENABLE | 0xff);
}

static void
to_x2apic(struct vlapic *v)
{
	CHECK_EQ(vlapic_set_apicbase(v, vlapic_get_apicbase(v) | APICBASE_EXTD),
	    0);
}

static uint64_t
rdmsr(struct vlapic *v, uint32_t msr)
{
	uint64_t val = 0xdeadbeef;

	CHECK_EQ(vlapic_rdmsr(v, msr, &val), 0);
	return val;
}

static uint64_t
fires(struct vlapic *v)
{
	struct vlapic_stats st;

	vlapic_get_stats(v, &st);
	return st.timer_fires;
}

/* Take the pending interrupt, if any, into service; -1 if none. */
static int
take(struct vlapic *v)
{
	int vec = -1;

	if (!vlapic_pending_intr(v, &vec))
		return -1;
	vlapic_intr_accepted(v, vec);
	return vec;
}

/* ---- Reset state and register semantics ---- */

TEST(reset_state)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 3, true, true);
	static const uint32_t lvts[] = { APIC_OFF_LVT_CMCI, APIC_OFF_LVT_TIMER,
		APIC_OFF_LVT_THERMAL, APIC_OFF_LVT_PMC, APIC_OFF_LVT_LINT0,
		APIC_OFF_LVT_LINT1, APIC_OFF_LVT_ERROR };

	REQUIRE(v != NULL);
	CHECK_EQ(vlapic_get_apicbase(v),
	    0xfee00000 | APICBASE_EN | APICBASE_BSP);
	CHECK(vlapic_hw_enabled(v) && !vlapic_x2apic_mode(v));
	CHECK(!vlapic_sw_enabled(v));
	CHECK_EQ(rd(v, APIC_OFF_ID), 0x03000000);
	CHECK_EQ(rd(v, APIC_OFF_VER), 0x00060014);
	CHECK_EQ(rd(v, APIC_OFF_TPR), 0);
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0);
	CHECK_EQ(rd(v, APIC_OFF_LDR), 0);
	CHECK_EQ(rd(v, APIC_OFF_DFR), 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_SVR), 0xff);
	for (size_t i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++)
		CHECK_EQ(rd(v, lvts[i]), APIC_LVT_MASKED);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(rd(v, APIC_OFF_ISR0 + i * 16), 0);
		CHECK_EQ(rd(v, APIC_OFF_TMR0 + i * 16), 0);
		CHECK_EQ(rd(v, APIC_OFF_IRR0 + i * 16), 0);
	}
	CHECK_EQ(rd(v, APIC_OFF_ICR_LO) | rd(v, APIC_OFF_ICR_HI), 0);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_ICR) | rd(v, APIC_OFF_TIMER_CCR), 0);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_DCR), 0);
	CHECK_EQ(vlapic_apic_id(v), 3);
	CHECK_EQ(vlapic_vcpuid(v), 0);
	done(&r);

	struct rec r2 = { 0 };
	v = mk(&r2, 1, false, false);
	REQUIRE(v != NULL);
	CHECK_EQ(vlapic_get_apicbase(v), 0xfee00000 | APICBASE_EN);
	done(&r2);
}

TEST(register_write_masks)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 3, true, true);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_TPR, 0x1ff);
	CHECK_EQ(rd(v, APIC_OFF_TPR), 0xff);
	wr(v, APIC_OFF_ID, 0x07000000);
	CHECK_EQ(rd(v, APIC_OFF_ID), 0x03000000); /* read-only here */
	wr(v, APIC_OFF_VER, 0);
	CHECK_EQ(rd(v, APIC_OFF_VER), 0x00060014);
	wr(v, APIC_OFF_LDR, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LDR), 0xff000000);
	wr(v, APIC_OFF_DFR, 0);
	CHECK_EQ(rd(v, APIC_OFF_DFR), 0x0fffffff);
	wr(v, APIC_OFF_SVR, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_SVR), 0x3ff); /* no EOI suppression */
	wr(v, APIC_OFF_ICR_HI, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_ICR_HI), 0xff000000);
	wr(v, APIC_OFF_TIMER_DCR, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_DCR), 0xb);
	wr(v, APIC_OFF_LVT_LINT0, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_LINT0), 0x1a7ff);
	wr(v, APIC_OFF_LVT_LINT1, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_LINT1), 0x1a7ff);
	wr(v, APIC_OFF_LVT_TIMER, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_TIMER), 0x700ff);
	wr(v, APIC_OFF_LVT_ERROR, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_ERROR), 0x100ff);
	wr(v, APIC_OFF_LVT_PMC, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_PMC), 0x107ff);
	wr(v, APIC_OFF_LVT_THERMAL, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_THERMAL), 0x107ff);
	wr(v, APIC_OFF_LVT_CMCI, 0xffffffff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_CMCI), 0x107ff);
	done(&r);
}

TEST(read_only_and_write_only_registers)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 3, true, false);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_ISR0 + 0x30, 0xffffffff);
	wr(v, APIC_OFF_TMR0 + 0x30, 0xffffffff);
	wr(v, APIC_OFF_IRR0 + 0x30, 0xffffffff);
	wr(v, APIC_OFF_PPR, 0xff);
	wr(v, APIC_OFF_APR, 0xff);
	wr(v, APIC_OFF_TIMER_CCR, 1234);
	CHECK_EQ(rd(v, APIC_OFF_ISR0 + 0x30), 0);
	CHECK_EQ(rd(v, APIC_OFF_TMR0 + 0x30), 0);
	CHECK_EQ(rd(v, APIC_OFF_IRR0 + 0x30), 0);
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0);
	CHECK_EQ(rd(v, APIC_OFF_APR), 0);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 0);
	CHECK_EQ(rd(v, APIC_OFF_EOI), 0);
	CHECK_EQ(rd(v, APIC_OFF_RRD), 0);
	CHECK_EQ(esr(v), 0); /* none of that is an error */
	CHECK_EQ(r.notifies, 0);
	done(&r);
}

TEST(unimplemented_registers_set_esr)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	CHECK_EQ(rd(v, 0x010), 0);
	CHECK_EQ(esr(v), APIC_ESR_ILLEGAL_REG);
	CHECK_EQ(esr(v), 0);
	wr(v, 0x400, 1);
	CHECK_EQ(esr(v), APIC_ESR_ILLEGAL_REG);
	wr(v, APIC_OFF_SELF_IPI, 0x40); /* x2APIC only */
	CHECK_EQ(esr(v), APIC_ESR_ILLEGAL_REG);
	CHECK(!bit(v, APIC_OFF_IRR0, 0x40));
	/* With the error LVT unmasked, the error raises its vector. */
	wr(v, APIC_OFF_LVT_ERROR, 0xfe);
	CHECK_EQ(rd(v, 0x3a0), 0);
	CHECK(bit(v, APIC_OFF_IRR0, 0xfe));
	done(&r);
}

TEST(mmio_narrow_and_unaligned_access)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0x12, true, false);
	uint64_t val;

	REQUIRE(v != NULL);
	wr(v, APIC_OFF_TPR, 0xa5);
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_TPR, 1, &val), 0);
	CHECK_EQ(val, 0xa5);
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_ID + 3, 1, &val), 0);
	CHECK_EQ(val, 0x12);
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_ID + 2, 2, &val), 0);
	CHECK_EQ(val, 0x1200);
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_TPR + 4, 4, &val), 0);
	CHECK_EQ(val, 0);
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_TPR, 8, &val), 0);
	CHECK_EQ(val, 0xa5);
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_TPR + 0xc, 8, &val), 0);
	CHECK_EQ(val, 0xa5ull << 32); /* 4 zero bytes, then APR = TPR */
	CHECK_EQ(vlapic_mmio_write(v, APIC_OFF_TPR, 1, 0x11), 0);
	CHECK_EQ(vlapic_mmio_write(v, APIC_OFF_TPR + 4, 4, 0x11), 0);
	CHECK_EQ(vlapic_mmio_write(v, APIC_OFF_TPR, 8, 0x11), 0);
	CHECK_EQ(rd(v, APIC_OFF_TPR), 0xa5); /* all ignored */
	CHECK_EQ(vlapic_mmio_read(v, 0, 3, &val), -EINVAL);
	CHECK_EQ(vlapic_mmio_read(v, 0xffe, 4, &val), -EINVAL);
	CHECK_EQ(vlapic_mmio_write(v, 0x1000, 4, 0), -EINVAL);
	CHECK_EQ(esr(v), 0);
	done(&r);
}

/* ---- Priorities and the IRR/ISR/EOI cycle ---- */

TEST(ppr_follows_tpr_and_isr)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);
	int vec;

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_TPR, 0x35);
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0x35);
	CHECK_EQ(vlapic_set_intr_ready(v, 0x51, false), 1);
	CHECK_EQ(take(v), 0x51);
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0x50); /* ISRV class wins */
	wr(v, APIC_OFF_TPR, 0x5f);
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0x5f); /* same class: TPR */
	wr(v, APIC_OFF_TPR, 0x60);
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0x60);
	vlapic_set_intr_ready(v, 0x6f, false);
	CHECK(!vlapic_pending_intr(v, &vec)); /* class 6 is not above 6 */
	vlapic_set_intr_ready(v, 0x70, false);
	CHECK(vlapic_pending_intr(v, &vec));
	CHECK_EQ(vec, 0x70);
	vlapic_set_tpr(v, 0x80); /* CR8 = 8 */
	CHECK_EQ(vlapic_get_tpr(v), 0x80);
	CHECK_EQ(rd(v, APIC_OFF_TPR), 0x80);
	CHECK(!vlapic_pending_intr(v, &vec));
	vlapic_set_tpr(v, 0);
	CHECK(vlapic_pending_intr(v, &vec));
	CHECK_EQ(vec, 0x70);
	done(&r);
}

TEST(apr_for_arbitration)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_TPR, 0x27);
	CHECK_EQ(vlapic_priority(v), 0x27); /* TPR alone */
	vlapic_set_intr_ready(v, 0x45, false);
	CHECK_EQ(rd(v, APIC_OFF_APR), 0x40); /* IRRV class above TPR */
	CHECK_EQ(take(v), 0x45);
	vlapic_set_intr_ready(v, 0x31, false);
	CHECK_EQ(vlapic_priority(v), 0x40); /* ISRV 0x45 */
	wr(v, APIC_OFF_TPR, 0x5a);
	CHECK_EQ(vlapic_priority(v), 0x5a);
	done(&r);
}

TEST(nested_accept_and_eoi)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);
	struct vlapic_stats st;

	REQUIRE(v != NULL);
	enable(v);
	vlapic_set_intr_ready(v, 0x40, false);
	vlapic_set_intr_ready(v, 0x80, false);
	CHECK_EQ(r.notifies, 2);
	CHECK_EQ(take(v), 0x80);
	CHECK(bit(v, APIC_OFF_ISR0, 0x80) && !bit(v, APIC_OFF_IRR0, 0x80));
	CHECK_EQ(take(v), -1); /* 0x40 waits below PPR 0x80 */
	vlapic_set_intr_ready(v, 0x80, false); /* again, while in service */
	CHECK_EQ(take(v), -1);
	vlapic_set_intr_ready(v, 0x91, false);
	CHECK_EQ(take(v), 0x91); /* nests */
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0x90);
	wr(v, APIC_OFF_EOI, 0);
	CHECK(!bit(v, APIC_OFF_ISR0, 0x91) && bit(v, APIC_OFF_ISR0, 0x80));
	CHECK_EQ(rd(v, APIC_OFF_PPR), 0x80);
	wr(v, APIC_OFF_EOI, 0);
	CHECK_EQ(take(v), 0x80); /* the second 0x80, once */
	wr(v, APIC_OFF_EOI, 0);
	CHECK_EQ(take(v), 0x40);
	wr(v, APIC_OFF_EOI, 0);
	CHECK_EQ(take(v), -1);
	wr(v, APIC_OFF_EOI, 0); /* gratuitous */
	vlapic_get_stats(v, &st);
	CHECK_EQ(st.eois, 4);
	CHECK_EQ(st.gratuitous_eois, 1);
	CHECK_EQ(st.accepted, 4);
	CHECK_EQ(r.n_eois, 0); /* all edge */
	vlapic_intr_accepted(v, 0x33); /* not in IRR: ignored */
	CHECK(!bit(v, APIC_OFF_ISR0, 0x33));
	done(&r);
}

TEST(level_eoi_broadcast)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	CHECK_EQ(vlapic_set_intr_ready(v, 0x70, true), 1);
	CHECK(bit(v, APIC_OFF_TMR0, 0x70));
	CHECK_EQ(take(v), 0x70);
	r.reraise_on_eoi = true; /* the line is still asserted */
	wr(v, APIC_OFF_EOI, 0);
	CHECK_EQ(r.n_eois, 1);
	CHECK_EQ(r.eois[0], 0x70);
	CHECK(bit(v, APIC_OFF_IRR0, 0x70)); /* re-latched from the callback */
	CHECK_EQ(take(v), 0x70);
	r.reraise_on_eoi = false;
	wr(v, APIC_OFF_EOI, 0);
	CHECK_EQ(r.n_eois, 2);
	/* The same vector as edge clears TMR and broadcasts nothing. */
	vlapic_set_intr_ready(v, 0x70, false);
	CHECK(!bit(v, APIC_OFF_TMR0, 0x70));
	CHECK_EQ(take(v), 0x70);
	wr(v, APIC_OFF_EOI, 0);
	CHECK_EQ(r.n_eois, 2);
	done(&r);
}

TEST(illegal_vectors_set_esr)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	CHECK_EQ(vlapic_set_intr_ready(v, 5, false), 0);
	CHECK_EQ(vlapic_set_intr_ready(v, 256, false), -EINVAL);
	CHECK_EQ(vlapic_set_intr_ready(v, -1, false), -EINVAL);
	CHECK_EQ(rd(v, APIC_OFF_IRR0), 0);
	CHECK_EQ(rd(v, APIC_OFF_ESR), 0); /* not latched yet */
	wr(v, APIC_OFF_ESR, 0);
	CHECK_EQ(rd(v, APIC_OFF_ESR), APIC_ESR_RECV_ILLEGAL);
	CHECK_EQ(esr(v), 0);
	wr(v, APIC_OFF_ICR_LO, 0x03); /* fixed, vector 3 */
	CHECK_EQ(r.n_ipis, 0);
	CHECK_EQ(esr(v), APIC_ESR_SEND_ILLEGAL);
	/* Lowest priority to self: an invalid combination, dropped. */
	wr(v, APIC_OFF_ICR_LO, 0x00040103);
	CHECK_EQ(esr(v), 0);
	wr(v, APIC_OFF_ICR_LO, 0x00040003); /* fixed, self */
	CHECK_EQ(esr(v), APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL);
	/* An LVT with a low vector: received illegal, nothing latched. */
	wr(v, APIC_OFF_LVT_LINT0, 0x08);
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_LINT0), VLAPIC_LINT_FIXED);
	CHECK_EQ(esr(v), APIC_ESR_RECV_ILLEGAL);
	CHECK_EQ(rd(v, APIC_OFF_IRR0), 0);
	/* Error LVT with an illegal vector: no recursion. */
	wr(v, APIC_OFF_LVT_ERROR, 0x02);
	vlapic_set_intr_ready(v, 1, false);
	CHECK_EQ(esr(v), APIC_ESR_RECV_ILLEGAL);
	CHECK_EQ(rd(v, APIC_OFF_IRR0), 0);
	/* Error LVT with a good vector: raised. */
	wr(v, APIC_OFF_LVT_ERROR, 0xe3);
	vlapic_set_intr_ready(v, 1, false);
	CHECK(bit(v, APIC_OFF_IRR0, 0xe3));
	done(&r);
}

/* ---- SVR and the LVT inputs ---- */

TEST(software_disable_masks_lvts)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	wr(v, APIC_OFF_LVT_LINT0, 0x700); /* while disabled: stays masked */
	CHECK_EQ(rd(v, APIC_OFF_LVT_LINT0), 0x10700);
	CHECK_EQ(vlapic_set_intr_ready(v, 0x40, false), 0);
	CHECK_EQ(r.notifies, 0);
	enable(v);
	CHECK_EQ(rd(v, APIC_OFF_LVT_LINT0), 0x10700);
	wr(v, APIC_OFF_LVT_LINT0, 0x700);
	wr(v, APIC_OFF_LVT_TIMER, 0x20030);
	CHECK_EQ(rd(v, APIC_OFF_LVT_LINT0), 0x700);
	wr(v, APIC_OFF_SVR, 0xff);
	CHECK_EQ(rd(v, APIC_OFF_LVT_LINT0), 0x10700);
	CHECK_EQ(rd(v, APIC_OFF_LVT_TIMER), 0x30030);
	wr(v, APIC_OFF_LVT_TIMER, 0x20030);
	CHECK_EQ(rd(v, APIC_OFF_LVT_TIMER), 0x30030);
	/* What was pending stays pending (SDM 11.4.7.2). */
	enable(v);
	vlapic_set_intr_ready(v, 0x40, false);
	wr(v, APIC_OFF_SVR, 0xff);
	CHECK(bit(v, APIC_OFF_IRR0, 0x40));
	done(&r);
}

TEST(lint_modes_and_trigger)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);
	int vec = -1;

	REQUIRE(v != NULL);
	/* Not enabled: virtual wire, as bhyve. */
	CHECK_EQ(vlapic_lint_mode(v, 0, &vec), VLAPIC_LINT_EXTINT);
	CHECK_EQ(vlapic_lint_mode(v, 1, &vec), VLAPIC_LINT_NMI);
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_LINT0), VLAPIC_LINT_EXTINT);
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_TIMER), VLAPIC_LINT_MASKED);
	enable(v);
	CHECK_EQ(vlapic_lint_mode(v, 0, &vec), VLAPIC_LINT_MASKED);
	wr(v, APIC_OFF_LVT_LINT0, 0x700);
	wr(v, APIC_OFF_LVT_LINT1, 0x400);
	CHECK_EQ(vlapic_lint_mode(v, 0, &vec), VLAPIC_LINT_EXTINT);
	CHECK_EQ(vlapic_lint_mode(v, 1, &vec), VLAPIC_LINT_NMI);
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_LINT1), VLAPIC_LINT_NMI);
	CHECK_EQ(rd(v, APIC_OFF_IRR0 + 0x10), 0);
	wr(v, APIC_OFF_LVT_LINT0, 0x30);
	CHECK_EQ(vlapic_lint_mode(v, 0, &vec), VLAPIC_LINT_FIXED);
	CHECK_EQ(vec, 0x30);
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_LINT0), VLAPIC_LINT_FIXED);
	CHECK(bit(v, APIC_OFF_IRR0, 0x30));
	CHECK_EQ(vlapic_lint_mode(v, 2, &vec), VLAPIC_LINT_MASKED);
	wr(v, APIC_OFF_LVT_THERMAL, 0x700); /* ExtINT: LINT pins only */
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_THERMAL), VLAPIC_LINT_MASKED);
	wr(v, APIC_OFF_LVT_PMC, 0x3c);
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_PMC), VLAPIC_LINT_FIXED);
	CHECK(bit(v, APIC_OFF_IRR0, 0x3c));
	wr(v, APIC_OFF_LVT_CMCI, 0x200); /* SMI: ignored */
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_CMCI), VLAPIC_LINT_MASKED);
	CHECK_EQ(vlapic_trigger_lvt(v, VLAPIC_LVT_COUNT), -EINVAL);
	CHECK_EQ(vlapic_trigger_lvt(v, -1), -EINVAL);
	CHECK_EQ(vlapic_set_apicbase(v, APICBASE_DEFAULT | APICBASE_BSP), 0);
	CHECK_EQ(vlapic_lint_mode(v, 0, &vec), VLAPIC_LINT_EXTINT);
	CHECK_EQ(vlapic_lint_mode(v, 1, &vec), VLAPIC_LINT_NMI);
	done(&r);
}

/* ---- Destinations ---- */

TEST(xapic_physical_and_logical_matching)
{
	struct rec ra = { 0 }, rb = { 0 };
	struct vlapic *a = mk(&ra, 1, true, false);
	struct vlapic *b = mk(&rb, 2, false, false);

	REQUIRE(a != NULL && b != NULL);
	CHECK(vlapic_match_dest(a, 1, false, false));
	CHECK(!vlapic_match_dest(a, 2, false, false));
	CHECK(vlapic_match_dest(a, 0xff, false, false));
	CHECK(vlapic_match_dest(b, 0xff, true, false));
	/* Flat model: the MDA is a bit mask. */
	wr(a, APIC_OFF_LDR, 0x01000000);
	wr(b, APIC_OFF_LDR, 0x02000000);
	CHECK(vlapic_match_dest(a, 0x01, true, false));
	CHECK(!vlapic_match_dest(b, 0x01, true, false));
	CHECK(vlapic_match_dest(a, 0x03, true, false));
	CHECK(vlapic_match_dest(b, 0x03, true, false));
	CHECK(!vlapic_match_dest(a, 0x00, true, false));
	/* Cluster model: cluster in 7:4, members in 3:0. */
	wr(a, APIC_OFF_DFR, 0x0fffffff);
	wr(a, APIC_OFF_LDR, 0x12000000);
	CHECK(vlapic_match_dest(a, 0x12, true, false));
	CHECK(vlapic_match_dest(a, 0x13, true, false));
	CHECK(!vlapic_match_dest(a, 0x22, true, false));
	CHECK(!vlapic_match_dest(a, 0x11, true, false));
	/* A model the SDM does not define matches nothing. */
	wr(a, APIC_OFF_DFR, 0x5fffffff);
	CHECK(!vlapic_match_dest(a, 0x12, true, false));
	/* Globally disabled: absent. */
	CHECK_EQ(vlapic_set_apicbase(b, APICBASE_DEFAULT), 0);
	CHECK(!vlapic_match_dest(b, 2, false, false));
	CHECK(!vlapic_match_dest(b, 0xff, false, false));
	done(&ra);
	done(&rb);
}

TEST(x2apic_matching_and_ldr)
{
	struct rec ra = { 0 }, rb = { 0 };
	struct vlapic *a = mk(&ra, 0x23, true, false);
	struct vlapic *b = mk(&rb, 0x25, false, false);

	REQUIRE(a != NULL && b != NULL);
	to_x2apic(a);
	to_x2apic(b);
	CHECK_EQ(rdmsr(a, APIC_MSR(APIC_OFF_ID)), 0x23);
	CHECK_EQ(rdmsr(a, APIC_MSR(APIC_OFF_LDR)), 0x20008);
	CHECK_EQ(rdmsr(b, APIC_MSR(APIC_OFF_LDR)), 0x20020);
	CHECK(vlapic_match_dest(a, 0x20008, true, true));
	CHECK(!vlapic_match_dest(b, 0x20008, true, true));
	CHECK(vlapic_match_dest(a, 0x20028, true, true));
	CHECK(vlapic_match_dest(b, 0x20028, true, true));
	CHECK(!vlapic_match_dest(a, 0x30008, true, true));
	CHECK(vlapic_match_dest(a, 0x23, false, true));
	CHECK(!vlapic_match_dest(a, 0x25, false, true));
	CHECK(vlapic_match_dest(a, 0xffffffff, false, true));
	CHECK(vlapic_match_dest(b, 0xffffffff, true, true));
	/* An 8-bit destination from the I/O APIC or an MSI. */
	CHECK(vlapic_match_dest(a, 0xff, false, false));
	CHECK(vlapic_match_dest(a, 0x23, false, false));
	CHECK(!vlapic_match_dest(a, 0xff, false, true)); /* not broadcast */
	done(&ra);
	done(&rb);
}

/* ---- IPIs ---- */

static const struct vlapic_ipi *
send(struct rec *r, struct vlapic *v, uint8_t dest, uint32_t lo)
{
	int before = r->n_ipis;

	wr(v, APIC_OFF_ICR_HI, (uint32_t)dest << 24);
	wr(v, APIC_OFF_ICR_LO, lo);
	return r->n_ipis == before + 1 ? &r->ipis[before] : NULL;
}

TEST(icr_delivery_modes)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 4, true, false);
	const struct vlapic_ipi *ipi;

	REQUIRE(v != NULL);
	enable(v);
	ipi = send(&r, v, 2, 0x4031); /* fixed, physical, assert */
	REQUIRE(ipi != NULL);
	CHECK_EQ(ipi->vector, 0x31);
	CHECK_EQ(ipi->delmode, VLAPIC_DM_FIXED);
	CHECK(!ipi->dest_logical && ipi->level_assert && !ipi->level_trigger);
	CHECK_EQ(ipi->dest, 2);
	CHECK_EQ(ipi->shorthand, VLAPIC_SH_NONE);
	CHECK_EQ(ipi->src_apic_id, 4);
	CHECK(!ipi->x2apic);
	CHECK_EQ(rd(v, APIC_OFF_ICR_LO), 0x4031); /* delivery status idle */
	ipi = send(&r, v, 0x0c, 0x0941); /* lowest priority, logical */
	REQUIRE(ipi != NULL);
	CHECK_EQ(ipi->delmode, VLAPIC_DM_LOWPRI);
	CHECK(ipi->dest_logical);
	CHECK_EQ(ipi->dest, 0x0c);
	ipi = send(&r, v, 3, 0x0400); /* NMI */
	REQUIRE(ipi != NULL);
	CHECK_EQ(ipi->delmode, VLAPIC_DM_NMI);
	ipi = send(&r, v, 3, 0xc500); /* INIT level assert */
	REQUIRE(ipi != NULL);
	CHECK_EQ(ipi->delmode, VLAPIC_DM_INIT);
	CHECK(ipi->level_trigger && ipi->level_assert);
	CHECK(send(&r, v, 3, 0x8500) == NULL); /* INIT de-assert: ignored */
	ipi = send(&r, v, 3, 0x069f); /* SIPI, page 0x9f */
	REQUIRE(ipi != NULL);
	CHECK_EQ(ipi->delmode, VLAPIC_DM_STARTUP);
	CHECK_EQ(ipi->vector, 0x9f);
	CHECK(send(&r, v, 3, 0x0200) == NULL); /* SMI: no SMM */
	CHECK(send(&r, v, 3, 0x0340) == NULL); /* reserved mode */
	CHECK(send(&r, v, 3, 0x0740) == NULL); /* ExtINT is no IPI */
	wr(v, APIC_OFF_ICR_LO, 0xfff3ffff);
	CHECK_EQ(rd(v, APIC_OFF_ICR_LO), 0x000ccfff & 0xfff3ffff);
	done(&r);
}

TEST(icr_shorthands)
{
	struct rec r = { 0 }, ro = { 0 };
	struct vlapic *v = mk(&r, 4, true, false);
	struct vlapic *other = mk(&ro, 5, false, false);
	const struct vlapic_ipi *ipi;

	REQUIRE(v != NULL && other != NULL);
	enable(v);
	CHECK(send(&r, v, 9, 0x00040055) == NULL); /* fixed to self */
	CHECK(bit(v, APIC_OFF_IRR0, 0x55));
	CHECK_EQ(r.notifies, 1);
	ipi = send(&r, v, 9, 0x00080056); /* all including self */
	REQUIRE(ipi != NULL);
	CHECK_EQ(ipi->shorthand, VLAPIC_SH_ALL_INCL);
	CHECK(vlapic_ipi_match(v, ipi) && vlapic_ipi_match(other, ipi));
	ipi = send(&r, v, 9, 0x000c0057); /* all excluding self */
	REQUIRE(ipi != NULL);
	CHECK(!vlapic_ipi_match(v, ipi) && vlapic_ipi_match(other, ipi));
	ipi = send(&r, v, 5, 0x0058); /* destination field */
	REQUIRE(ipi != NULL);
	CHECK(!vlapic_ipi_match(v, ipi) && vlapic_ipi_match(other, ipi));
	ipi = send(&r, v, 9, 0x00040400); /* NMI to self goes to the vmm */
	REQUIRE(ipi != NULL);
	CHECK(vlapic_ipi_match(v, ipi) && !vlapic_ipi_match(other, ipi));
	ipi = send(&r, v, 9, 0x000c4500); /* INIT all-but-self */
	REQUIRE(ipi != NULL);
	CHECK(send(&r, v, 9, 0x00084500) == NULL); /* INIT incl. self */
	CHECK(send(&r, v, 9, 0x00040600) == NULL); /* SIPI to self */
	CHECK(send(&r, v, 9, 0x00080150) == NULL); /* lowpri to all */
	done(&r);
	done(&ro);
}

TEST(ipi_callback_runs_unlocked)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 4, true, false);

	REQUIRE(v != NULL);
	enable(v);
	r.route_ipis = true;
	/* Physical destination = own ID: the vmm delivers back to us. */
	CHECK(send(&r, v, 4, 0x0066) != NULL);
	CHECK(bit(v, APIC_OFF_IRR0, 0x66));
	CHECK(send(&r, v, 0xff, 0x0067) != NULL); /* broadcast */
	CHECK(bit(v, APIC_OFF_IRR0, 0x67));
	done(&r);
}

struct pingpong {
	struct vlapic *me, *peer;
	int vec;
	int received;
	int errors;
};

static void
pp_route(void *arg, const struct vlapic_ipi *ipi)
{
	struct pingpong *p = arg;

	if (vlapic_ipi_match(p->peer, ipi))
		(void)vlapic_set_intr_ready(p->peer, ipi->vector, false);
}

static void *
pp_thread(void *arg)
{
	struct pingpong *p = arg;

	for (int i = 0; i < 2000; i++) {
		if (vlapic_mmio_write(p->me, APIC_OFF_ICR_LO, 4,
		    (uint32_t)p->vec) != 0)
			p->errors++;
		if (take(p->me) >= 0) {
			p->received++;
			if (vlapic_mmio_write(p->me, APIC_OFF_EOI, 4, 0) != 0)
				p->errors++;
		}
	}
	return NULL;
}

/* Two vCPUs IPI each other at once: no lock is held across callbacks. */
TEST(concurrent_ipis_do_not_deadlock)
{
	struct vmm_timebase *tb = vmm_timebase_create_manual(0);
	struct pingpong pa = { .vec = 0x41 }, pb = { .vec = 0x42 };
	struct vlapic_ops oa = { .ipi = pp_route, .arg = &pa };
	struct vlapic_ops ob = { .ipi = pp_route, .arg = &pb };
	pthread_t ta, tb_thread;
	struct vlapic_stats st;

	REQUIRE(tb != NULL);
	pa.me = pb.peer = vlapic_create(0, 0, true, tb, &oa);
	pb.me = pa.peer = vlapic_create(1, 1, false, tb, &ob);
	REQUIRE(pa.me != NULL && pb.me != NULL);
	enable(pa.me);
	enable(pb.me);
	/* ICR_HI: each targets the other's ID, physical. */
	wr(pa.me, APIC_OFF_ICR_HI, 1u << 24);
	wr(pb.me, APIC_OFF_ICR_HI, 0);
	pthread_create(&ta, NULL, pp_thread, &pa);
	pthread_create(&tb_thread, NULL, pp_thread, &pb);
	pthread_join(ta, NULL);
	pthread_join(tb_thread, NULL);
	CHECK_EQ(pa.errors + pb.errors, 0);
	vlapic_get_stats(pa.me, &st);
	CHECK_EQ(st.ipis_sent, 2000);
	vlapic_get_stats(pb.me, &st);
	CHECK_EQ(st.ipis_sent, 2000);
	/* Whatever the interleaving: taken in the loop, or still in IRR. */
	CHECK(pa.received > 0 || bit(pa.me, APIC_OFF_IRR0, 0x42));
	CHECK(pb.received > 0 || bit(pb.me, APIC_OFF_IRR0, 0x41));
	CHECK_EQ(rd(pa.me, APIC_OFF_ISR0 + 0x20), 0); /* every take EOI'd */
	CHECK_EQ(rd(pb.me, APIC_OFF_ISR0 + 0x20), 0);
	vlapic_destroy(pa.me);
	vlapic_destroy(pb.me);
	vmm_timebase_destroy(tb);
}

/* ---- x2APIC ---- */

TEST(x2apic_msr_access_rules)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0x123, true, false);
	uint64_t val;

	REQUIRE(v != NULL);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_ID), &val), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_TPR), 0), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, 0x10, &val), -ENOENT);
	CHECK(vlapic_owns_msr(0x800) && vlapic_owns_msr(0x8ff));
	CHECK(!vlapic_owns_msr(0x900));
	to_x2apic(v);
	CHECK(vlapic_x2apic_mode(v));
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_ID)), 0x123);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_VER)), 0x60014);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_LDR)), 0x120008);
	/* Read-only, write-only and absent registers raise #GP. */
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_ID), 0), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_VER), 0), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_PPR), 0), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_LDR), 0), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_ISR0), 0), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_TIMER_CCR), 0), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_EOI), &val), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_SELF_IPI), &val), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_APR), &val), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_DFR), &val), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_RRD), &val), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_ICR_HI), &val), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_ICR_HI), 0), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, 0x801, &val), -EINVAL);
	CHECK_EQ(vlapic_rdmsr(v, 0x840, &val), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, 0x8ff, 0), -EINVAL);
	/* Value rules: EOI and ESR take only 0, high halves are reserved. */
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_EOI), 1), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_EOI), 0), 0);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_ESR), 1), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_ESR), 0), 0);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_TPR), 1ull << 32), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_TPR), 0x40), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_TPR)), 0x40);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_SVR), 0x1ff), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_SVR)), 0x1ff);
	/* The page is gone in x2APIC mode. */
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_TPR, 4, &val), 0);
	CHECK_EQ(val, 0xffffffff);
	CHECK_EQ(vlapic_mmio_write(v, APIC_OFF_TPR, 4, 0), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_TPR)), 0x40);
	done(&r);
}

TEST(x2apic_icr_and_self_ipi)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0x123, true, false);
	uint64_t val;

	REQUIRE(v != NULL);
	to_x2apic(v);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_SVR), 0x1ff), 0);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_ICR_LO),
	    0x0000054300000831ull), 0);
	REQUIRE(r.n_ipis == 1);
	CHECK_EQ(r.ipis[0].dest, 0x543);
	CHECK(r.ipis[0].x2apic && r.ipis[0].dest_logical);
	CHECK_EQ(r.ipis[0].vector, 0x31);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_ICR_LO)), 0x0000054300000831ull);
	/* SELF IPI: write-only, delivered here. */
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_SELF_IPI), 0x44), 0);
	CHECK(vlapic_pending_intr(v, NULL));
	CHECK_EQ(r.n_ipis, 1);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_SELF_IPI), 0x05), 0);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_ESR), 0), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_ESR)),
	    APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_IRR0 + 0x20)), 1u << (0x44 - 64));
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_SELF_IPI), &val), -EINVAL);
	done(&r);
}

/* ---- IA32_APIC_BASE ---- */

TEST(apicbase_transitions)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 2, true, false);
	const uint64_t xapic = APICBASE_DEFAULT | APICBASE_EN | APICBASE_BSP;
	uint64_t val;

	REQUIRE(v != NULL);
	CHECK_EQ(vlapic_set_apicbase(v, xapic | (1ull << 9)), -EINVAL);
	CHECK_EQ(vlapic_set_apicbase(v, xapic | 1), -EINVAL);
	CHECK_EQ(vlapic_set_apicbase(v, xapic | (1ull << 39)), -EINVAL);
	CHECK_EQ(vlapic_set_apicbase(v, APICBASE_DEFAULT | APICBASE_EXTD),
	    -EINVAL); /* EXTD without EN */
	/* Relocation in xAPIC mode; BSP is read-only. */
	CHECK_EQ(vlapic_set_apicbase(v, 0xfed00000 | APICBASE_EN), 0);
	CHECK_EQ(vlapic_get_apicbase(v), 0xfed00000 | APICBASE_EN |
	    APICBASE_BSP);
	CHECK_EQ(vlapic_wrmsr(v, MSR_APICBASE, xapic), 0);
	CHECK_EQ(rdmsr(v, MSR_APICBASE), xapic);
	wr(v, APIC_OFF_TPR, 0x30);
	/* xAPIC -> x2APIC keeps the registers. */
	CHECK_EQ(vlapic_set_apicbase(v, xapic | APICBASE_EXTD), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_TPR)), 0x30);
	CHECK_EQ(vlapic_set_apicbase(v, xapic), -EINVAL); /* x2APIC -> xAPIC */
	CHECK(vlapic_x2apic_mode(v));
	/* x2APIC -> disabled loses state; disabled -> x2APIC is illegal. */
	CHECK_EQ(vlapic_set_apicbase(v, APICBASE_DEFAULT | APICBASE_BSP), 0);
	CHECK(!vlapic_hw_enabled(v));
	CHECK_EQ(vlapic_mmio_read(v, APIC_OFF_TPR, 2, &val), 0);
	CHECK_EQ(val, 0xffff);
	CHECK_EQ(vlapic_rdmsr(v, APIC_MSR(APIC_OFF_TPR), &val), -EINVAL);
	CHECK_EQ(vlapic_set_intr_ready(v, 0x40, false), 0);
	CHECK(!vlapic_pending_intr(v, NULL));
	CHECK_EQ(vlapic_set_apicbase(v, xapic | APICBASE_EXTD), -EINVAL);
	CHECK_EQ(vlapic_set_apicbase(v, xapic), 0);
	CHECK_EQ(rd(v, APIC_OFF_TPR), 0);
	CHECK_EQ(rd(v, APIC_OFF_ID), 0x02000000);
	CHECK_EQ(rd(v, APIC_OFF_SVR), 0xff);
	done(&r);
}

TEST(apicbase_without_x2apic_support)
{
	struct rec r = { 0 };
	struct vlapic_ops ops = { .x2apic = false };
	struct vmm_timebase *tb = vmm_timebase_create_manual(0);
	struct vlapic *v;

	REQUIRE(tb != NULL);
	v = vlapic_create(1, 1, false, tb, &ops);
	REQUIRE(v != NULL);
	CHECK_EQ(vlapic_set_apicbase(v, APICBASE_DEFAULT | APICBASE_EN |
	    APICBASE_EXTD), -EINVAL);
	CHECK_EQ(vlapic_set_apicbase(v, APICBASE_DEFAULT | APICBASE_EN |
	    APICBASE_BSP), 0);
	CHECK_EQ(vlapic_get_apicbase(v), APICBASE_DEFAULT | APICBASE_EN);
	/* maxphyaddr 0 means 52: bit 40 is a valid address bit. */
	CHECK_EQ(vlapic_set_apicbase(v, (1ull << 40) | APICBASE_EN), 0);
	CHECK_EQ(vlapic_set_apicbase(v, (1ull << 52) | APICBASE_EN), -EINVAL);
	vlapic_destroy(v);
	vmm_timebase_destroy(tb);
	(void)r;
}

TEST(init_reset_keeps_mode_and_id)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0x31, true, false);

	REQUIRE(v != NULL);
	to_x2apic(v);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_SVR), 0x1ff), 0);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_TPR), 0x20), 0);
	CHECK_EQ(vlapic_wrmsr(v, APIC_MSR(APIC_OFF_TIMER_ICR), 1000), 0);
	vlapic_set_intr_ready(v, 0x50, false);
	vlapic_reset(v);
	CHECK(vlapic_x2apic_mode(v));
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_ID)), 0x31);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_LDR)), 0x30002);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_TPR)), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_SVR)), 0xff);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_IRR0 + 0x20)), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_TIMER_ICR)), 0);
	CHECK_EQ(rdmsr(v, APIC_MSR(APIC_OFF_LVT_LINT0)), APIC_LVT_MASKED);
	vmm_timebase_advance(r.tb, 1000000);
	CHECK_EQ(fires(v), 0);
	done(&r);
}

/* ---- Timer ---- */

static const uint32_t dcr_codes[8] = { 0xb, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9,
	0xa };			/* divide by 1, 2, 4 ... 128 */

TEST(timer_one_shot_each_divider)
{
	for (int i = 0; i < 8; i++) {
		struct rec r = { 0 };
		struct vlapic *v = mk(&r, 0, true, false);
		uint64_t period = 1000ull * 10 * (1ull << i);

		REQUIRE(v != NULL);
		enable(v);
		wr(v, APIC_OFF_LVT_TIMER, 0x40);
		wr(v, APIC_OFF_TIMER_DCR, dcr_codes[i]);
		wr(v, APIC_OFF_TIMER_ICR, 1000);
		vmm_timebase_advance(r.tb, period - 1);
		CHECK_EQ(fires(v), 0);
		CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 1);
		CHECK(!bit(v, APIC_OFF_IRR0, 0x40));
		vmm_timebase_advance(r.tb, 1);
		CHECK_EQ(fires(v), 1);
		CHECK(bit(v, APIC_OFF_IRR0, 0x40));
		CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 0);
		vmm_timebase_advance(r.tb, period * 5);
		CHECK_EQ(fires(v), 1);
		CHECK_EQ(r.notifies, 1);
		done(&r);
	}
}

TEST(timer_periodic_each_divider)
{
	for (int i = 0; i < 8; i++) {
		struct rec r = { 0 };
		struct vlapic *v = mk(&r, 0, true, false);
		uint64_t period = 10000ull * 10 * (1ull << i);

		REQUIRE(v != NULL);
		enable(v);
		wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_PERIODIC | 0x40);
		wr(v, APIC_OFF_TIMER_DCR, dcr_codes[i]);
		wr(v, APIC_OFF_TIMER_ICR, 10000);
		vmm_timebase_advance(r.tb, period * 10);
		CHECK_EQ(fires(v), 10);
		vmm_timebase_advance(r.tb, period / 2);
		CHECK_EQ(fires(v), 10);
		CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 5000);
		vmm_timebase_advance(r.tb, period / 2);
		CHECK_EQ(fires(v), 11);
		CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 10000); /* reloaded */
		wr(v, APIC_OFF_TIMER_ICR, 0); /* stops */
		vmm_timebase_advance(r.tb, period * 3);
		CHECK_EQ(fires(v), 11);
		done(&r);
	}
}

TEST(timer_current_count)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_LVT_TIMER, 0x40);
	wr(v, APIC_OFF_TIMER_DCR, 0xb); /* 10 ns a tick */
	wr(v, APIC_OFF_TIMER_ICR, 1000);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_ICR), 1000);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 1000);
	vmm_timebase_advance(r.tb, 5);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 1000); /* less than a tick */
	vmm_timebase_advance(r.tb, 5);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 999);
	vmm_timebase_advance(r.tb, 2495);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 750);
	/* A new initial count restarts the count. */
	wr(v, APIC_OFF_TIMER_ICR, 300);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 300);
	vmm_timebase_advance(r.tb, 3000);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 0);
	CHECK_EQ(fires(v), 1);
	done(&r);
}

TEST(timer_divider_change_rescales)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_LVT_TIMER, 0x40);
	wr(v, APIC_OFF_TIMER_DCR, 0xb);
	wr(v, APIC_OFF_TIMER_ICR, 1000);
	vmm_timebase_advance(r.tb, 5000);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 500);
	wr(v, APIC_OFF_TIMER_DCR, 0x0); /* divide by 2: 20 ns a tick */
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 500);
	vmm_timebase_advance(r.tb, 9999);
	CHECK_EQ(fires(v), 0);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 1);
	vmm_timebase_advance(r.tb, 1);
	CHECK_EQ(fires(v), 1);
	done(&r);
}

TEST(timer_masked_and_mode_switches)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_TIMER_DCR, 0xb);
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVT_MASKED | APIC_LVTT_PERIODIC | 0x40);
	wr(v, APIC_OFF_TIMER_ICR, 10000); /* 100 us */
	vmm_timebase_advance(r.tb, 300000);
	CHECK_EQ(fires(v), 3);		  /* counts on, masked */
	CHECK_EQ(rd(v, APIC_OFF_IRR0 + 0x20), 0);
	CHECK_EQ(r.notifies, 0);
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_PERIODIC | 0x40); /* unmask */
	vmm_timebase_advance(r.tb, 100000);
	CHECK_EQ(fires(v), 4);
	CHECK(bit(v, APIC_OFF_IRR0, 0x40));
	/* Periodic -> one-shot: the running count ends at its expiry. */
	wr(v, APIC_OFF_LVT_TIMER, 0x40);
	vmm_timebase_advance(r.tb, 500000);
	CHECK_EQ(fires(v), 5);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 0);
	/* Software disable masks the timer LVT; the count goes on. */
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_PERIODIC | 0x41);
	wr(v, APIC_OFF_TIMER_ICR, 10000);
	wr(v, APIC_OFF_SVR, 0xff);
	vmm_timebase_advance(r.tb, 100000);
	CHECK_EQ(fires(v), 6);
	CHECK(!bit(v, APIC_OFF_IRR0, 0x41));
	done(&r);
}

TEST(timer_rate_is_bounded)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_TIMER_DCR, 0xb);
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_PERIODIC | 0x40);
	wr(v, APIC_OFF_TIMER_ICR, 1); /* 10 ns asked */
	vmm_timebase_advance(r.tb, 1000000);
	CHECK_EQ(fires(v), 1000000 / VLAPIC_TIMER_MIN_PERIOD_NS);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 1);
	/* One-shot: one expiry per write, unclamped. */
	wr(v, APIC_OFF_LVT_TIMER, 0x40);
	wr(v, APIC_OFF_TIMER_ICR, 1);
	vmm_timebase_advance(r.tb, 10);
	CHECK_EQ(fires(v), 1000000 / VLAPIC_TIMER_MIN_PERIOD_NS + 1);
	done(&r);
}

static uint64_t
guest_tsc_now(struct rec *r)
{
	return rec_tsc(r);
}

TEST(tsc_deadline_mode)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, true);
	uint64_t val;

	REQUIRE(v != NULL);
	enable(v);
	/* Not in TSC-deadline mode: the MSR reads 0, writes are dropped. */
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, 12345), 0);
	CHECK_EQ(rdmsr(v, MSR_TSC_DEADLINE), 0);
	wr(v, APIC_OFF_TIMER_ICR, 100000);
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_TSCDL | 0x40);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_ICR), 0); /* the switch disarmed it */
	vmm_timebase_advance(r.tb, 2000000);
	CHECK_EQ(fires(v), 0);
	wr(v, APIC_OFF_TIMER_ICR, 1000); /* ignored in this mode */
	CHECK_EQ(rd(v, APIC_OFF_TIMER_ICR), 0);
	CHECK_EQ(rd(v, APIC_OFF_TIMER_CCR), 0);
	/* 2000 TSC ticks at 2 GHz: 1000 ns. */
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, guest_tsc_now(&r) + 2000),
	    0);
	CHECK(rdmsr(v, MSR_TSC_DEADLINE) != 0);
	vmm_timebase_advance(r.tb, 999);
	CHECK_EQ(fires(v), 0);
	vmm_timebase_advance(r.tb, 1);
	CHECK_EQ(fires(v), 1);
	CHECK(bit(v, APIC_OFF_IRR0, 0x40));
	CHECK_EQ(rdmsr(v, MSR_TSC_DEADLINE), 0);
	/* Odd tick counts round up: never early. */
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, guest_tsc_now(&r) + 3), 0);
	vmm_timebase_advance(r.tb, 1);
	CHECK_EQ(fires(v), 1);
	vmm_timebase_advance(r.tb, 1);
	CHECK_EQ(fires(v), 2);
	/* In the past: at once. */
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, 1), 0);
	CHECK_EQ(fires(v), 3);
	/* Writing 0 disarms. */
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, guest_tsc_now(&r) + 100), 0);
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, 0), 0);
	vmm_timebase_advance(r.tb, 1000);
	CHECK_EQ(fires(v), 3);
	/* Leaving the mode disarms and clears the deadline. */
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, guest_tsc_now(&r) + 100), 0);
	wr(v, APIC_OFF_LVT_TIMER, 0x40);
	vmm_timebase_advance(r.tb, 1000);
	CHECK_EQ(fires(v), 3);
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_TSCDL | 0x40);
	CHECK_EQ(rdmsr(v, MSR_TSC_DEADLINE), 0);
	/* A huge deadline is armed, not overflowed into the past. */
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, ~0ull), 0);
	vmm_timebase_advance(r.tb, 1000000000);
	CHECK_EQ(fires(v), 3);
	CHECK_EQ(vlapic_rdmsr(v, MSR_TSC_DEADLINE, &val), 0);
	CHECK_EQ(val, ~0ull);
	done(&r);
}

TEST(tsc_deadline_unsupported)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);
	uint64_t val;

	REQUIRE(v != NULL);
	enable(v);
	CHECK_EQ(vlapic_rdmsr(v, MSR_TSC_DEADLINE, &val), -EINVAL);
	CHECK_EQ(vlapic_wrmsr(v, MSR_TSC_DEADLINE, 1), -EINVAL);
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_TSCDL | 0x40);
	CHECK_EQ(rd(v, APIC_OFF_LVT_TIMER), 0x40); /* mode bit 18 absent */
	done(&r);
}

TEST(destroy_with_armed_timer)
{
	struct rec r = { 0 };
	struct vlapic *v = mk(&r, 0, true, false);

	REQUIRE(v != NULL);
	enable(v);
	wr(v, APIC_OFF_LVT_TIMER, APIC_LVTT_PERIODIC | 0x40);
	wr(v, APIC_OFF_TIMER_ICR, 100000);
	vlapic_destroy(v);
	vmm_timebase_advance(r.tb, 10000000); /* nothing left to fire */
	vmm_timebase_destroy(r.tb);
	CHECK_EQ(r.notifies, 0);
}

TEST_MAIN(
    TEST_ENTRY(reset_state)
    TEST_ENTRY(register_write_masks)
    TEST_ENTRY(read_only_and_write_only_registers)
    TEST_ENTRY(unimplemented_registers_set_esr)
    TEST_ENTRY(mmio_narrow_and_unaligned_access)
    TEST_ENTRY(ppr_follows_tpr_and_isr)
    TEST_ENTRY(apr_for_arbitration)
    TEST_ENTRY(nested_accept_and_eoi)
    TEST_ENTRY(level_eoi_broadcast)
    TEST_ENTRY(illegal_vectors_set_esr)
    TEST_ENTRY(software_disable_masks_lvts)
    TEST_ENTRY(lint_modes_and_trigger)
    TEST_ENTRY(xapic_physical_and_logical_matching)
    TEST_ENTRY(x2apic_matching_and_ldr)
    TEST_ENTRY(icr_delivery_modes)
    TEST_ENTRY(icr_shorthands)
    TEST_ENTRY(ipi_callback_runs_unlocked)
    TEST_ENTRY(concurrent_ipis_do_not_deadlock)
    TEST_ENTRY(x2apic_msr_access_rules)
    TEST_ENTRY(x2apic_icr_and_self_ipi)
    TEST_ENTRY(apicbase_transitions)
    TEST_ENTRY(apicbase_without_x2apic_support)
    TEST_ENTRY(init_reset_keeps_mode_and_id)
    TEST_ENTRY(timer_one_shot_each_divider)
    TEST_ENTRY(timer_periodic_each_divider)
    TEST_ENTRY(timer_current_count)
    TEST_ENTRY(timer_divider_change_rescales)
    TEST_ENTRY(timer_masked_and_mode_switches)
    TEST_ENTRY(timer_rate_is_bounded)
    TEST_ENTRY(tsc_deadline_mode)
    TEST_ENTRY(tsc_deadline_unsupported)
    TEST_ENTRY(destroy_with_armed_timer)
)
