/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HPET on a manual clock with recording sinks: the counter against
 * exact advances, one-shot and periodic timers, 32-bit mode, interrupt
 * routing (I/O APIC pins, legacy replacement, FSB) and the rate bound.
 */
#include <errno.h>

#include "io/vhpet.h"
#include "test.h"

#define TICK VHPET_TICK_NS
#define T0 1000		/* the manual clock's start */

enum { SINK_PIN, SINK_ISA, NSINKS };

struct rec {
	unsigned pulses[NSINKS][32];
	unsigned asserts[NSINKS][32];
	unsigned deasserts[NSINKS][32];
	int level[NSINKS][32];
	unsigned bad;
	unsigned msis;
	uint64_t msi_addr, msi_data;
};

struct rig {
	struct vmm_timebase *tb;
	struct vhpet *h;
	struct rec r;
};

static void
rec_line(struct rec *r, int sink, int irq, enum vmm_irq_op op)
{
	if (irq < 0 || irq >= 32) {
		r->bad++;
		return;
	}
	switch (op) {
	case VMM_IRQ_PULSE:
		r->pulses[sink][irq]++;
		break;
	case VMM_IRQ_ASSERT:
		r->asserts[sink][irq]++;
		r->level[sink][irq]++;
		break;
	default:
		r->deasserts[sink][irq]++;
		r->level[sink][irq]--;
		break;
	}
}

static void
rec_pin(void *arg, int irq, enum vmm_irq_op op)
{
	rec_line(arg, SINK_PIN, irq, op);
}

static void
rec_isa(void *arg, int irq, enum vmm_irq_op op)
{
	rec_line(arg, SINK_ISA, irq, op);
}

static void
rec_msi(void *arg, uint64_t addr, uint64_t data)
{
	struct rec *r = arg;

	r->msis++;
	r->msi_addr = addr;
	r->msi_data = data;
}

static bool
rig_init(struct rig *g)
{
	struct vhpet_ops ops = {
		.pin = { .set = rec_pin, .arg = &g->r },
		.isa = { .set = rec_isa, .arg = &g->r },
		.msi = rec_msi,
		.msi_arg = &g->r,
		.route_cap = VHPET_ROUTE_CAP_DEFAULT,
	};

	memset(g, 0, sizeof(*g));
	g->tb = vmm_timebase_create_manual(T0);
	if (g->tb == NULL)
		return false;
	g->h = vhpet_create(g->tb, &ops);
	return g->h != NULL;
}

static void
rig_fini(struct rig *g)
{
	vhpet_destroy(g->h);
	vmm_timebase_destroy(g->tb);
}

static uint64_t
rd(struct rig *g, uint64_t off, int size)
{
	uint64_t val = 0xdeadbeef;

	CHECK_EQ(vhpet_mmio_read(g->h, off, size, &val), 0);
	return val;
}

static void
wr(struct rig *g, uint64_t off, int size, uint64_t val)
{
	CHECK_EQ(vhpet_mmio_write(g->h, off, size, val), 0);
}

static void
ticks(struct rig *g, uint64_t n)
{
	vmm_timebase_advance(g->tb, n * TICK);
}

#define TCFG(n) VHPET_TIMER_CONFIG(n)
#define TCMP(n) VHPET_TIMER_CMP(n)
#define ROUTE(p) ((uint64_t)(p) << VHPET_TCNF_INT_ROUTE_SHIFT)
#define ENB VHPET_TCNF_INT_ENB
#define LVL VHPET_TCNF_INT_TYPE
#define PER VHPET_TCNF_TYPE
#define M32 VHPET_TCNF_32MODE

static void
enable(struct rig *g, uint64_t extra)
{
	wr(g, VHPET_CONFIG, 8, VHPET_CNF_ENABLE | extra);
}

TEST(capabilities)
{
	struct rig g;
	uint64_t cap;

	REQUIRE(rig_init(&g));
	cap = rd(&g, VHPET_CAP, 8);
	CHECK_EQ(cap, vhpet_capabilities());
	CHECK_EQ(cap & 0xff, 1);		/* revision */
	CHECK_EQ((cap >> 8) & 0x1f, 2);		/* three timers */
	CHECK(cap & VHPET_CAP_COUNT_SIZE);
	CHECK(cap & VHPET_CAP_LEG_RT);
	CHECK_EQ((cap >> 16) & 0xffff, 0x8086);
	CHECK_EQ(cap >> 32, 60000000);		/* fs: 16.67 MHz */
	CHECK_EQ(rd(&g, VHPET_CAP, 4), 0x8086a201);
	CHECK_EQ(rd(&g, VHPET_CAP + 4, 4), 60000000);
	wr(&g, VHPET_CAP, 8, 0);		/* read-only */
	CHECK_EQ(rd(&g, VHPET_CAP, 8), cap);
	for (int n = 0; n < VHPET_NUM_TIMERS; n++) {
		uint64_t c = rd(&g, TCFG(n), 8);

		CHECK_EQ(c >> 32, VHPET_ROUTE_CAP_DEFAULT);
		CHECK(c & VHPET_TCAP_PER_INT);
		CHECK(c & VHPET_TCAP_SIZE);
		CHECK(c & VHPET_TCAP_FSB_INT_DEL);
		CHECK_EQ(c & 0xffff & ~(VHPET_TCAP_PER_INT | VHPET_TCAP_SIZE |
		    VHPET_TCAP_FSB_INT_DEL), 0);
		CHECK_EQ(rd(&g, TCMP(n), 8), UINT64_MAX);
	}
	CHECK_EQ(rd(&g, VHPET_CONFIG, 8), 0);
	CHECK_EQ(rd(&g, VHPET_TIMER_CONFIG(3), 8), 0); /* no fourth timer */
	rig_fini(&g);
}

TEST(counter_runs_only_when_enabled)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	ticks(&g, 1000);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 0);
	vmm_timebase_advance(g.tb, 7); /* enable off a tick boundary */
	enable(&g, 0);
	ticks(&g, 10);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 10);
	vmm_timebase_advance(g.tb, TICK - 1);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 10);
	vmm_timebase_advance(g.tb, 1);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 11);
	vmm_timebase_advance(g.tb, 1000000000); /* one second */
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 11 + 1000000000 / TICK);
	wr(&g, VHPET_CONFIG, 8, 0);
	ticks(&g, 5000);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 11 + 1000000000 / TICK);
	enable(&g, 0);
	ticks(&g, 1);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 12 + 1000000000 / TICK);
	rig_fini(&g);
}

TEST(counter_writes_and_halves)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, VHPET_COUNTER, 8, 0x123456789ULL);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 0x123456789ULL);
	wr(&g, VHPET_COUNTER + 4, 4, 0xab);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 0xab23456789ULL);
	wr(&g, VHPET_COUNTER, 4, 0xffffffff);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 4), 0xffffffff);
	CHECK_EQ(rd(&g, VHPET_COUNTER + 4, 4), 0xab);
	enable(&g, 0);
	ticks(&g, 1); /* the low half carries into the high half */
	CHECK_EQ(rd(&g, VHPET_COUNTER, 4), 0);
	CHECK_EQ(rd(&g, VHPET_COUNTER + 4, 4), 0xac);
	/* A write while running is taken; counting goes on from it. */
	wr(&g, VHPET_COUNTER, 8, 100);
	ticks(&g, 3);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 103);
	/* The 64-bit counter wraps to 0. */
	wr(&g, VHPET_COUNTER, 8, UINT64_MAX);
	ticks(&g, 2);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 1);
	rig_fini(&g);
}

TEST(odd_accesses)
{
	struct rig g;
	uint64_t val;

	REQUIRE(rig_init(&g));
	wr(&g, VHPET_COUNTER, 8, 0x1122334455667788ULL);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 1), 0);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 2), 0);
	CHECK_EQ(rd(&g, VHPET_COUNTER + 2, 4), 0); /* misaligned */
	CHECK_EQ(rd(&g, VHPET_COUNTER + 4, 8), 0);
	wr(&g, VHPET_COUNTER, 1, 0);
	wr(&g, VHPET_COUNTER + 2, 4, 0);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 0x1122334455667788ULL);
	CHECK_EQ(rd(&g, 0x08, 8), 0); /* reserved */
	CHECK_EQ(rd(&g, 0x3f8, 8), 0);
	CHECK_EQ(vhpet_mmio_read(g.h, 0x3fc, 8, &val), -EINVAL);
	CHECK_EQ(vhpet_mmio_read(g.h, 0x400, 4, &val), -EINVAL);
	CHECK_EQ(vhpet_mmio_read(g.h, UINT64_MAX - 1, 4, &val), -EINVAL);
	CHECK_EQ(vhpet_mmio_write(g.h, 0, 3, 0), -EINVAL);
	rig_fini(&g);
}

TEST(one_shot_fires_once)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, TCFG(0), 8, ENB | ROUTE(20));
	wr(&g, TCMP(0), 8, 100);
	enable(&g, 0);
	ticks(&g, 99);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 0);
	ticks(&g, 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 1);
	CHECK_EQ(rd(&g, VHPET_ISR, 8), 0); /* edge: no status */
	CHECK_EQ(rd(&g, TCMP(0), 8), 100);
	/* 64 bits do not come round again. */
	vmm_timebase_advance(g.tb, 1000ULL * NS_PER_SEC);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 1);
	/* A new comparator value fires again. */
	wr(&g, TCMP(0), 8, rd(&g, VHPET_COUNTER, 8) + 5);
	ticks(&g, 5);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 2);
	/* Equal to the counter now: the match was the step onto it. */
	wr(&g, TCMP(0), 8, rd(&g, VHPET_COUNTER, 8));
	ticks(&g, 1000);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 2);
	CHECK_EQ(g.r.bad, 0);
	rig_fini(&g);
}

TEST(disable_holds_timers)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, TCFG(2), 8, ENB | ROUTE(22));
	wr(&g, TCMP(2), 8, 100);
	enable(&g, 0);
	ticks(&g, 60);
	wr(&g, VHPET_CONFIG, 8, 0);
	ticks(&g, 1000);
	CHECK_EQ(g.r.pulses[SINK_PIN][22], 0);
	enable(&g, 0);
	ticks(&g, 39);
	CHECK_EQ(g.r.pulses[SINK_PIN][22], 0);
	ticks(&g, 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][22], 1);
	rig_fini(&g);
}

TEST(periodic_with_val_set)
{
	struct rig g;
	struct vhpet_stats st;

	REQUIRE(rig_init(&g));
	/*
	 * Linux's sequence: 32-bit mode and VAL_SET, the first match, then
	 * the period, with 32-bit writes.
	 */
	wr(&g, TCFG(0), 8, ENB | PER | M32 | VHPET_TCNF_VAL_SET | ROUTE(21));
	CHECK(rd(&g, TCFG(0), 8) & VHPET_TCNF_VAL_SET);
	wr(&g, TCMP(0), 4, 1000);
	CHECK(!(rd(&g, TCFG(0), 8) & VHPET_TCNF_VAL_SET));
	wr(&g, TCMP(0), 4, 2000);
	CHECK_EQ(rd(&g, TCMP(0), 4), 1000); /* only the period changed */
	enable(&g, 0);
	ticks(&g, 999);
	CHECK_EQ(g.r.pulses[SINK_PIN][21], 0);
	ticks(&g, 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][21], 1);
	CHECK_EQ(rd(&g, TCMP(0), 8), 3000);
	ticks(&g, 10999 - 1000); /* matches at 3000, 5000, 7000, 9000 */
	CHECK_EQ(g.r.pulses[SINK_PIN][21], 5);
	CHECK_EQ(rd(&g, TCMP(0), 8), 11000);
	ticks(&g, 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][21], 6);
	/* A plain write changes the period from the next match on. */
	wr(&g, TCMP(0), 8, 3000);
	CHECK_EQ(rd(&g, TCMP(0), 8), 13000);
	ticks(&g, 2000);
	CHECK_EQ(g.r.pulses[SINK_PIN][21], 7);
	CHECK_EQ(rd(&g, TCMP(0), 8), 16000);
	/* VAL_SET with a 64-bit write sets the accumulator directly. */
	wr(&g, TCFG(0), 8, ENB | PER | VHPET_TCNF_VAL_SET | ROUTE(21));
	wr(&g, TCMP(0), 8, 14000);
	CHECK_EQ(rd(&g, TCMP(0), 8), 14000);
	ticks(&g, 999);
	CHECK_EQ(g.r.pulses[SINK_PIN][21], 7);
	ticks(&g, 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][21], 8);
	CHECK_EQ(rd(&g, TCMP(0), 8), 28000);
	vhpet_get_stats(g.h, &st);
	CHECK_EQ(st.fires, 8);
	CHECK_EQ(st.coalesced, 0);
	rig_fini(&g);
}

TEST(one_shot_32bit_mode_wraps)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, TCFG(1), 8, ENB | M32 | ROUTE(23));
	/* Going 32-bit zeroes the comparator's high half for good. */
	CHECK_EQ(rd(&g, TCMP(1), 8), 0xffffffff);
	wr(&g, TCMP(1) + 4, 4, 0x55);
	CHECK_EQ(rd(&g, TCMP(1) + 4, 4), 0);
	wr(&g, TCMP(1), 8, 0x1234500000010ULL);
	CHECK_EQ(rd(&g, TCMP(1), 8), 0x10);
	wr(&g, VHPET_COUNTER, 8, 0x7fffffff0ULL);
	enable(&g, 0);
	ticks(&g, 0x1f);
	CHECK_EQ(g.r.pulses[SINK_PIN][23], 0);
	ticks(&g, 1);	/* the low half stepped onto 0x10 */
	CHECK_EQ(g.r.pulses[SINK_PIN][23], 1);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 0x800000010ULL);
	/* ... and does again after 2^32 ticks (about 258 s). */
	ticks(&g, (1ULL << 32) - 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][23], 1);
	ticks(&g, 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][23], 2);
	/* Back to 64-bit mode: the high half stays 0. */
	wr(&g, TCFG(1), 8, ENB | ROUTE(23));
	CHECK_EQ(rd(&g, TCMP(1), 8), 0x10);
	rig_fini(&g);
}

TEST(periodic_32bit_mode_wraps)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, VHPET_COUNTER, 8, 0xffff0000ULL);
	wr(&g, TCFG(0), 8, ENB | PER | M32 | VHPET_TCNF_VAL_SET | ROUTE(20));
	wr(&g, TCMP(0), 4, 0xffff8000);
	wr(&g, TCMP(0), 4, 0x10000);
	enable(&g, 0);
	ticks(&g, 0x8000);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 1);
	CHECK_EQ(rd(&g, TCMP(0), 8), 0x8000); /* wrapped in 32 bits */
	ticks(&g, 0x10000);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 2);
	CHECK_EQ(rd(&g, TCMP(0), 8), 0x18000);
	CHECK_EQ(rd(&g, VHPET_COUNTER, 8), 0x100008000ULL);
	ticks(&g, 10 * 0x10000);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 12);
	rig_fini(&g);
}

TEST(level_status_and_line)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, TCFG(1), 8, ENB | LVL | PER | VHPET_TCNF_VAL_SET | ROUTE(21));
	wr(&g, TCMP(1), 8, 2000);
	wr(&g, TCMP(1), 8, 2000);
	enable(&g, 0);
	ticks(&g, 2000);
	CHECK_EQ(rd(&g, VHPET_ISR, 8), 2);
	CHECK_EQ(g.r.level[SINK_PIN][21], 1);
	/* The next match finds it asserted: nothing more. */
	ticks(&g, 2000);
	CHECK_EQ(g.r.asserts[SINK_PIN][21], 1);
	CHECK_EQ(rd(&g, TCMP(1), 8), 6000);
	wr(&g, VHPET_ISR, 8, 0x5);	/* not its bit */
	CHECK_EQ(g.r.level[SINK_PIN][21], 1);
	wr(&g, VHPET_ISR, 4, 0x2);	/* write 1 to clear */
	CHECK_EQ(rd(&g, VHPET_ISR, 8), 0);
	CHECK_EQ(g.r.level[SINK_PIN][21], 0);
	ticks(&g, 2000);
	CHECK_EQ(g.r.asserts[SINK_PIN][21], 2);
	/* Halting the counter drops the line; the status stays. */
	wr(&g, VHPET_CONFIG, 8, 0);
	CHECK_EQ(g.r.level[SINK_PIN][21], 0);
	CHECK_EQ(rd(&g, VHPET_ISR, 8), 2);
	enable(&g, 0);
	CHECK_EQ(g.r.level[SINK_PIN][21], 1);
	/* Moving the route moves the line. */
	wr(&g, TCFG(1), 8, ENB | LVL | PER | ROUTE(22));
	CHECK_EQ(g.r.level[SINK_PIN][21], 0);
	CHECK_EQ(g.r.level[SINK_PIN][22], 1);
	/* Switching to edge drops the status and the line. */
	wr(&g, TCFG(1), 8, ENB | PER | ROUTE(22));
	CHECK_EQ(rd(&g, VHPET_ISR, 8), 0);
	CHECK_EQ(g.r.level[SINK_PIN][22], 0);
	CHECK_EQ(g.r.bad, 0);
	rig_fini(&g);
}

TEST(level_status_without_int_enb)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	/* Tn_INT_ENB_CNF off: the timer still sets its status bit. */
	wr(&g, TCFG(2), 8, LVL | ROUTE(20));
	wr(&g, TCMP(2), 8, 50);
	enable(&g, 0);
	ticks(&g, 50);
	CHECK_EQ(rd(&g, VHPET_ISR, 8), 4);
	CHECK_EQ(g.r.asserts[SINK_PIN][20], 0);
	wr(&g, TCFG(2), 8, ENB | LVL | ROUTE(20));
	CHECK_EQ(g.r.level[SINK_PIN][20], 1);
	wr(&g, TCFG(2), 8, LVL | ROUTE(20));
	CHECK_EQ(g.r.level[SINK_PIN][20], 0);
	rig_fini(&g);
}

TEST(legacy_replacement_routing)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	/* Timer 0's own routing, FSB included, does not matter. */
	wr(&g, TCFG(0), 8, ENB | VHPET_TCNF_FSB_EN | ROUTE(20));
	wr(&g, TCMP(0), 8, 10);
	wr(&g, TCFG(1), 8, ENB | LVL | ROUTE(21));
	wr(&g, TCMP(1), 8, 20);
	wr(&g, TCFG(2), 8, ENB | ROUTE(22));
	wr(&g, TCMP(2), 8, 30);
	enable(&g, VHPET_CNF_LEG_RT);
	CHECK(vhpet_legacy_replacement(g.h));
	CHECK_EQ(rd(&g, VHPET_CONFIG, 8), 3);
	ticks(&g, 30);
	CHECK_EQ(g.r.pulses[SINK_ISA][0], 1);
	CHECK_EQ(g.r.level[SINK_ISA][8], 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][22], 1);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 0);
	CHECK_EQ(g.r.msis, 0);
	/* Leaving legacy mode moves timer 1's held line to its pin. */
	enable(&g, 0);
	CHECK(!vhpet_legacy_replacement(g.h));
	CHECK_EQ(g.r.level[SINK_ISA][8], 0);
	CHECK_EQ(g.r.level[SINK_PIN][21], 1);
	CHECK_EQ(g.r.bad, 0);
	rig_fini(&g);
}

TEST(fsb_delivery)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, VHPET_TIMER_FSB(2), 4, 0x4041);
	wr(&g, VHPET_TIMER_FSB(2) + 4, 4, 0xfee01000);
	CHECK_EQ(rd(&g, VHPET_TIMER_FSB(2), 8), 0xfee0100000004041ULL);
	/* Level type means nothing for a message: no status bit. */
	wr(&g, TCFG(2), 8, ENB | LVL | VHPET_TCNF_FSB_EN | ROUTE(22));
	wr(&g, TCMP(2), 8, 10);
	enable(&g, 0);
	ticks(&g, 10);
	CHECK_EQ(g.r.msis, 1);
	CHECK_EQ(g.r.msi_addr, 0xfee01000);
	CHECK_EQ(g.r.msi_data, 0x4041);
	CHECK_EQ(rd(&g, VHPET_ISR, 8), 0);
	CHECK_EQ(g.r.asserts[SINK_PIN][22], 0);
	/* Without INT_ENB nothing is sent. */
	wr(&g, TCFG(2), 8, VHPET_TCNF_FSB_EN);
	wr(&g, TCMP(2), 8, rd(&g, VHPET_COUNTER, 8) + 10);
	ticks(&g, 10);
	CHECK_EQ(g.r.msis, 1);
	rig_fini(&g);
}

TEST(illegal_routes_are_ignored)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, TCFG(0), 8, ENB | ROUTE(5));
	CHECK_EQ(rd(&g, TCFG(0), 4) & VHPET_TCNF_INT_ROUTE, 0);
	CHECK(rd(&g, TCFG(0), 4) & ENB); /* the rest of the write took */
	wr(&g, TCFG(0), 8, ENB | ROUTE(21));
	CHECK_EQ(rd(&g, TCFG(0), 4) & VHPET_TCNF_INT_ROUTE, ROUTE(21));
	wr(&g, TCFG(0), 8, ENB | ROUTE(31));
	CHECK_EQ(rd(&g, TCFG(0), 4) & VHPET_TCNF_INT_ROUTE, ROUTE(21));
	/* The capability half is read-only. */
	wr(&g, TCFG(0) + 4, 4, 0xffffffff);
	CHECK_EQ(rd(&g, TCFG(0) + 4, 4), VHPET_ROUTE_CAP_DEFAULT);
	/* Reserved bits stay 0. */
	wr(&g, TCFG(1), 4, 0xffff0081);
	CHECK_EQ(rd(&g, TCFG(1), 4) & 0xffff0081, 0);
	/* An unrouted timer (pin 0 is not in the capability) is silent. */
	wr(&g, TCFG(2), 8, ENB);
	wr(&g, TCMP(2), 8, 10);
	enable(&g, 0);
	ticks(&g, 10);
	for (int i = 0; i < 32; i++) {
		CHECK_EQ(g.r.pulses[SINK_PIN][i], 0);
		CHECK_EQ(g.r.asserts[SINK_PIN][i], 0);
	}
	CHECK_EQ(g.r.msis, 0);
	rig_fini(&g);
}

TEST(tiny_period_is_rate_bounded)
{
	struct rig g;
	struct vhpet_stats st;
	uint64_t cmp, cnt;

	REQUIRE(rig_init(&g));
	wr(&g, TCFG(0), 8, ENB | PER | VHPET_TCNF_VAL_SET | ROUTE(20));
	wr(&g, TCMP(0), 8, 1);
	wr(&g, TCMP(0), 8, 1);	/* a period of 60 ns */
	enable(&g, 0);
	vmm_timebase_advance(g.tb, NS_PER_SEC);
	/* First match at 60 ns, then one interrupt per 100 us. */
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 10000);
	vhpet_get_stats(g.h, &st);
	CHECK_EQ(st.fires, 10000);
	CHECK(st.coalesced > 16000000);
	/* The comparator still moved one period per match. */
	cmp = rd(&g, TCMP(0), 8);
	cnt = rd(&g, VHPET_COUNTER, 8);
	CHECK(cmp > cnt - VHPET_MIN_PERIOD_NS / TICK && cmp <= cnt + 1);
	rig_fini(&g);
}

TEST(comparator_halves_in_64bit_mode)
{
	struct rig g;

	REQUIRE(rig_init(&g));
	wr(&g, TCFG(0), 8, ENB | ROUTE(20));
	wr(&g, TCMP(0), 4, 0x100);
	CHECK_EQ(rd(&g, TCMP(0), 8), 0xffffffff00000100ULL);
	wr(&g, TCMP(0) + 4, 4, 0x1);
	CHECK_EQ(rd(&g, TCMP(0), 8), 0x100000100ULL);
	CHECK_EQ(rd(&g, TCMP(0) + 4, 4), 1);
	wr(&g, VHPET_COUNTER, 8, 0x1000000f0ULL);
	enable(&g, 0);
	ticks(&g, 0x10);
	CHECK_EQ(g.r.pulses[SINK_PIN][20], 1);
	rig_fini(&g);
}

TEST_MAIN(
	TEST_ENTRY(capabilities)
	TEST_ENTRY(counter_runs_only_when_enabled)
	TEST_ENTRY(counter_writes_and_halves)
	TEST_ENTRY(odd_accesses)
	TEST_ENTRY(one_shot_fires_once)
	TEST_ENTRY(disable_holds_timers)
	TEST_ENTRY(periodic_with_val_set)
	TEST_ENTRY(one_shot_32bit_mode_wraps)
	TEST_ENTRY(periodic_32bit_mode_wraps)
	TEST_ENTRY(level_status_and_line)
	TEST_ENTRY(level_status_without_int_enb)
	TEST_ENTRY(legacy_replacement_routing)
	TEST_ENTRY(fsb_delivery)
	TEST_ENTRY(illegal_routes_are_ignored)
	TEST_ENTRY(tiny_period_is_rate_bounded)
	TEST_ENTRY(comparator_halves_in_64bit_mode)
)
