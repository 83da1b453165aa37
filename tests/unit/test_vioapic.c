/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The I/O APIC on its own, with a recording delivery callback: register
 * access, the redirection table, edge and level delivery, remote IRR and
 * EOI, masking, and what happens to garbage a guest programs.
 */
#include <errno.h>

#include "io/vioapic.h"
#include "test.h"

#define MAX_MSGS 64

struct msg {
	uint32_t dest;
	bool logical;
	int delmode;
	int vector;
	bool level;
};

struct rec {
	int n;
	struct msg m[MAX_MSGS];
	int ret;		  /* what deliver returns */
	struct vioapic *reenter;  /* read this vioapic from inside deliver */
	uint64_t seen_rte_lo;	  /* ... and keep what IOWIN said */
};

static int
rec_deliver(void *arg, uint32_t dest, bool logical, int delmode, int vector,
    bool level)
{
	struct rec *r = arg;

	if (r->n < MAX_MSGS)
		r->m[r->n] = (struct msg){ .dest = dest, .logical = logical,
			.delmode = delmode, .vector = vector, .level = level };
	r->n++;
	if (r->reenter != NULL) {
		/* Would deadlock if deliver ran under the vioapic lock. */
		if (vioapic_mmio_write(r->reenter, VIOAPIC_IOREGSEL, 4,
		    VIOAPIC_REG_RTE(9)) != 0 ||
		    vioapic_mmio_read(r->reenter, VIOAPIC_IOWIN, 4,
		    &r->seen_rte_lo) != 0)
			r->seen_rte_lo = 0;
	}
	return r->ret;
}

static void
ioa_write(struct vioapic *v, unsigned reg, uint32_t val)
{
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOREGSEL, 4, reg), 0);
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOWIN, 4, val), 0);
}

static uint32_t
ioa_read(struct vioapic *v, unsigned reg)
{
	uint64_t val = 0xdead;

	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOREGSEL, 4, reg), 0);
	CHECK_EQ(vioapic_mmio_read(v, VIOAPIC_IOWIN, 4, &val), 0);
	return (uint32_t)val;
}

/* High word first, as drivers do, so the low word's unmask comes last. */
static void
set_rte(struct vioapic *v, int pin, uint32_t lo, uint8_t dest)
{
	ioa_write(v, VIOAPIC_REG_RTE(pin) + 1, (uint32_t)dest << 24);
	ioa_write(v, VIOAPIC_REG_RTE(pin), lo);
}

static uint32_t
rte_lo(struct vioapic *v, int pin)
{
	return ioa_read(v, VIOAPIC_REG_RTE(pin));
}

#define LEVEL ((uint32_t)VIOAPIC_RTE_LEVEL)
#define MASKED ((uint32_t)VIOAPIC_RTE_MASKED)
#define REMIRR ((uint32_t)VIOAPIC_RTE_REMIRR)
#define DM(m) ((uint32_t)(m) << VIOAPIC_RTE_DELMODE_SHIFT)

TEST(create_checks_arguments)
{
	struct rec r = { 0 };
	struct vioapic *v;

	CHECK(vioapic_create(0, rec_deliver, &r) == NULL);
	CHECK(vioapic_create(VIOAPIC_MAX_PINS + 1, rec_deliver, &r) == NULL);
	CHECK(vioapic_create(24, NULL, &r) == NULL);
	v = vioapic_create(32, rec_deliver, &r);
	REQUIRE(v != NULL);
	CHECK_EQ(vioapic_pin_count(v), 32);
	vioapic_destroy(v);
	vioapic_destroy(NULL);
}

TEST(select_window_id_version)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);
	struct vioapic *v32 = vioapic_create(32, rec_deliver, &r);
	uint64_t val;

	REQUIRE(v != NULL && v32 != NULL);
	/* IOREGSEL keeps its 8 defined bits. */
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOREGSEL, 4, 0x12345601), 0);
	CHECK_EQ(vioapic_mmio_read(v, VIOAPIC_IOREGSEL, 4, &val), 0);
	CHECK_EQ(val, 0x01);
	CHECK_EQ(vioapic_mmio_read(v, VIOAPIC_IOWIN, 4, &val), 0);
	CHECK_EQ(val, 0x170020);	/* 24 pins: max entry 23 */
	CHECK_EQ(ioa_read(v32, VIOAPIC_REG_VER), 0x1f0020);
	ioa_write(v, VIOAPIC_REG_VER, 0);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_VER), 0x170020);
	/* ID is bits 31:24; ARB follows it and is read-only. */
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_ID), 0);
	ioa_write(v, VIOAPIC_REG_ID, 0xffffffff);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_ID), 0xff000000);
	ioa_write(v, VIOAPIC_REG_ID, 0x05000000);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_ID), 0x05000000);
	ioa_write(v, VIOAPIC_REG_ARB, 0x0f000000);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_ARB), 0x05000000);
	/* Nothing lives between ARB and the table, or past it. */
	CHECK_EQ(ioa_read(v, 0x03), 0);
	CHECK_EQ(ioa_read(v, 0xff), 0);
	vioapic_destroy(v);
	vioapic_destroy(v32);
}

TEST(only_dword_accesses_count)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);
	uint64_t val;

	REQUIRE(v != NULL);
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOREGSEL, 4, 0x01), 0);
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOREGSEL, 1, 0x10), 0);
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOREGSEL, 8, 0x10), 0);
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_IOREGSEL, 2, 0x10), 0);
	CHECK_EQ(vioapic_mmio_read(v, VIOAPIC_IOREGSEL, 4, &val), 0);
	CHECK_EQ(val, 0x01);
	val = 0xdead;
	CHECK_EQ(vioapic_mmio_read(v, VIOAPIC_IOWIN, 2, &val), 0);
	CHECK_EQ(val, 0);
	val = 0xdead;
	CHECK_EQ(vioapic_mmio_read(v, VIOAPIC_IOWIN, 8, &val), 0);
	CHECK_EQ(val, 0);
	val = 0xdead;
	CHECK_EQ(vioapic_mmio_read(v, 0x04, 4, &val), 0);
	CHECK_EQ(val, 0);
	val = 0xdead;
	CHECK_EQ(vioapic_mmio_read(v, VIOAPIC_EOIR, 4, &val), 0);
	CHECK_EQ(val, 0);	/* write-only */
	CHECK_EQ(vioapic_mmio_read(v, 0xffc, 4, &val), 0);
	/* Outside the page, or an impossible size: the caller's bug. */
	CHECK_EQ(vioapic_mmio_read(v, 0xffe, 4, &val), -EINVAL);
	CHECK_EQ(vioapic_mmio_read(v, 0x1000, 4, &val), -EINVAL);
	CHECK_EQ(vioapic_mmio_read(v, UINT64_MAX, 4, &val), -EINVAL);
	CHECK_EQ(vioapic_mmio_write(v, 0, 3, 0), -EINVAL);
	CHECK_EQ(vioapic_mmio_write(v, 0, 0, 0), -EINVAL);
	vioapic_destroy(v);
}

TEST(redirection_entry_masks)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);

	REQUIRE(v != NULL);
	for (int pin = 0; pin < 24; pin++) {
		CHECK_EQ(rte_lo(v, pin), MASKED);
		CHECK_EQ(ioa_read(v, VIOAPIC_REG_RTE(pin) + 1), 0);
	}
	/* Delivery status and remote IRR cannot be written. */
	ioa_write(v, VIOAPIC_REG_RTE(3), 0xffffffff);
	CHECK_EQ(rte_lo(v, 3), 0xffffffff & ~REMIRR &
	    ~(uint32_t)VIOAPIC_RTE_DELIVS);
	ioa_write(v, VIOAPIC_REG_RTE(3) + 1, 0xffffffff);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_RTE(3) + 1), 0xffffffff);
	ioa_write(v, VIOAPIC_REG_RTE(3), 0x00012345);
	CHECK_EQ(rte_lo(v, 3), 0x00012345 & ~(uint32_t)VIOAPIC_RTE_DELIVS);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_RTE(3) + 1), 0xffffffff);
	/* Set remote IRR by a level delivery; a write cannot clear it. */
	set_rte(v, 4, LEVEL | 0x44, 0);
	CHECK_EQ(vioapic_set_irq(v, 4, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 1);
	CHECK(rte_lo(v, 4) & REMIRR);
	ioa_write(v, VIOAPIC_REG_RTE(4), LEVEL | 0x44);
	CHECK(rte_lo(v, 4) & REMIRR);
	CHECK_EQ(r.n, 1);
	vioapic_destroy(v);
}

TEST(edge_delivers_on_rising_edges)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);

	REQUIRE(v != NULL);
	set_rte(v, 5, 0x35, 3);
	CHECK_EQ(r.n, 0);
	CHECK_EQ(vioapic_set_irq(v, 5, VMM_IRQ_PULSE), 0);
	REQUIRE(r.n == 1);
	CHECK_EQ(r.m[0].dest, 3);
	CHECK(!r.m[0].logical);
	CHECK_EQ(r.m[0].delmode, VIOAPIC_DM_FIXED);
	CHECK_EQ(r.m[0].vector, 0x35);
	CHECK(!r.m[0].level);
	CHECK_EQ(rte_lo(v, 5), 0x35); /* no remote IRR for edge */
	CHECK_EQ(vioapic_set_irq(v, 5, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(vioapic_set_irq(v, 5, VMM_IRQ_PULSE), 0); /* already high */
	CHECK_EQ(r.n, 2);
	CHECK_EQ(vioapic_set_irq(v, 5, VMM_IRQ_DEASSERT), 0);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(vioapic_set_irq(v, 5, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 3);
	CHECK_EQ(vioapic_set_irq(v, 5, VMM_IRQ_DEASSERT), 0);
	/* Lowest priority, logical destination. */
	set_rte(v, 6, DM(VIOAPIC_DM_LOWPRI) | VIOAPIC_RTE_DESTLOG | 0x36, 0x0f);
	CHECK_EQ(vioapic_set_irq(v, 6, VMM_IRQ_PULSE), 0);
	REQUIRE(r.n == 4);
	CHECK_EQ(r.m[3].dest, 0x0f);
	CHECK(r.m[3].logical);
	CHECK_EQ(r.m[3].delmode, VIOAPIC_DM_LOWPRI);
	CHECK_EQ(r.m[3].vector, 0x36);
	vioapic_destroy(v);
}

TEST(level_remote_irr_and_eoi_broadcast)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);
	struct vioapic_stats st;

	REQUIRE(v != NULL);
	set_rte(v, 9, LEVEL | 0x49, 1);
	CHECK_EQ(vioapic_set_irq(v, 9, VMM_IRQ_ASSERT), 0);
	REQUIRE(r.n == 1);
	CHECK(r.m[0].level);
	CHECK_EQ(r.m[0].vector, 0x49);
	CHECK(rte_lo(v, 9) & REMIRR);
	/* While remote IRR is set nothing more goes out. */
	CHECK_EQ(vioapic_set_irq(v, 9, VMM_IRQ_PULSE), 0);
	CHECK_EQ(r.n, 1);
	vioapic_process_eoi(v, 0x48); /* another vector */
	CHECK(rte_lo(v, 9) & REMIRR);
	CHECK_EQ(r.n, 1);
	/* EOI with the line still high: sent again, remote IRR set again. */
	vioapic_process_eoi(v, 0x49);
	CHECK_EQ(r.n, 2);
	CHECK(rte_lo(v, 9) & REMIRR);
	CHECK_EQ(vioapic_set_irq(v, 9, VMM_IRQ_DEASSERT), 0);
	vioapic_process_eoi(v, 0x49);
	CHECK_EQ(r.n, 2);
	CHECK(!(rte_lo(v, 9) & REMIRR));
	vioapic_process_eoi(v, 0x49); /* a stray EOI does nothing */
	vioapic_process_eoi(v, -1);
	vioapic_process_eoi(v, 256);
	CHECK_EQ(r.n, 2);
	vioapic_get_stats(v, &st);
	CHECK_EQ(st.delivered, 2);
	CHECK_EQ(st.eois, 2);
	vioapic_destroy(v);
}

TEST(eoi_register_clears_every_matching_pin)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);

	REQUIRE(v != NULL);
	set_rte(v, 16, LEVEL | 0x60, 0);
	set_rte(v, 17, LEVEL | 0x60, 0);
	CHECK_EQ(vioapic_set_irq(v, 16, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(vioapic_set_irq(v, 17, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(vioapic_set_irq(v, 17, VMM_IRQ_DEASSERT), 0);
	/* Only a 32-bit write counts; bits 31:8 are not part of it. */
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_EOIR, 1, 0x60), 0);
	CHECK(rte_lo(v, 16) & REMIRR);
	CHECK_EQ(vioapic_mmio_write(v, VIOAPIC_EOIR, 4, 0xabcd0060), 0);
	CHECK_EQ(r.n, 3); /* pin 16 is still high */
	CHECK(rte_lo(v, 16) & REMIRR);
	CHECK(!(rte_lo(v, 17) & REMIRR));
	vioapic_destroy(v);
}

TEST(masking_and_unmask_with_line_high)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);

	REQUIRE(v != NULL);
	/* A masked edge is lost, even once unmasked with the line high. */
	set_rte(v, 3, MASKED | 0x33, 0);
	CHECK_EQ(vioapic_set_irq(v, 3, VMM_IRQ_ASSERT), 0);
	ioa_write(v, VIOAPIC_REG_RTE(3), 0x33);
	CHECK_EQ(r.n, 0);
	/* A masked level waits for the unmask. */
	set_rte(v, 10, MASKED | LEVEL | 0x4a, 2);
	CHECK_EQ(vioapic_set_irq(v, 10, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 0);
	CHECK(!(rte_lo(v, 10) & REMIRR));
	ioa_write(v, VIOAPIC_REG_RTE(10), LEVEL | 0x4a);
	REQUIRE(r.n == 1);
	CHECK_EQ(r.m[0].vector, 0x4a);
	CHECK_EQ(r.m[0].dest, 2);
	CHECK(rte_lo(v, 10) & REMIRR);
	/* Mask and unmask again: remote IRR still blocks. */
	ioa_write(v, VIOAPIC_REG_RTE(10), MASKED | LEVEL | 0x4a);
	ioa_write(v, VIOAPIC_REG_RTE(10), LEVEL | 0x4a);
	CHECK_EQ(r.n, 1);
	/* EOI while masked: remote IRR clears, the line waits. */
	ioa_write(v, VIOAPIC_REG_RTE(10), MASKED | LEVEL | 0x4a);
	vioapic_process_eoi(v, 0x4a);
	CHECK_EQ(r.n, 1);
	ioa_write(v, VIOAPIC_REG_RTE(10), LEVEL | 0x4a);
	CHECK_EQ(r.n, 2);
	vioapic_destroy(v);
}

TEST(polarity_is_stored_not_applied)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);
	uint32_t lo = LEVEL | (uint32_t)VIOAPIC_RTE_POLLOW | 0x50;

	REQUIRE(v != NULL);
	set_rte(v, 18, lo, 0);
	CHECK_EQ(rte_lo(v, 18), lo);
	CHECK_EQ(r.n, 0); /* an idle active-low line is not a request */
	CHECK_EQ(vioapic_set_irq(v, 18, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 1);
	vioapic_process_eoi(v, 0x50);
	CHECK_EQ(r.n, 2);
	/* Flipping the polarity of an edge pin is no edge. */
	set_rte(v, 19, 0x51, 0);
	CHECK_EQ(vioapic_set_irq(v, 19, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 3);
	ioa_write(v, VIOAPIC_REG_RTE(19), (uint32_t)VIOAPIC_RTE_POLLOW | 0x51);
	ioa_write(v, VIOAPIC_REG_RTE(19), 0x51);
	CHECK_EQ(r.n, 3);
	vioapic_destroy(v);
}

TEST(shared_line_counts_asserts)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);

	REQUIRE(v != NULL);
	set_rte(v, 20, LEVEL | 0x70, 0);
	CHECK_EQ(vioapic_set_irq(v, 20, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(vioapic_set_irq(v, 20, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(vioapic_set_irq(v, 20, VMM_IRQ_DEASSERT), 0);
	vioapic_process_eoi(v, 0x70);
	CHECK_EQ(r.n, 2); /* the other source still holds it */
	CHECK_EQ(vioapic_set_irq(v, 20, VMM_IRQ_DEASSERT), 0);
	/* Extra deasserts do not make the line owe asserts. */
	CHECK_EQ(vioapic_set_irq(v, 20, VMM_IRQ_DEASSERT), 0);
	vioapic_process_eoi(v, 0x70);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(vioapic_set_irq(v, 20, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 3);
	vioapic_destroy(v);
}

TEST(pins_beyond_the_count)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);
	struct vioapic *v32 = vioapic_create(32, rec_deliver, &r);

	REQUIRE(v != NULL && v32 != NULL);
	CHECK_EQ(vioapic_set_irq(v, 24, VMM_IRQ_PULSE), -EINVAL);
	CHECK_EQ(vioapic_set_irq(v, -1, VMM_IRQ_PULSE), -EINVAL);
	CHECK_EQ(vioapic_set_irq(v, 0, (enum vmm_irq_op)7), -EINVAL);
	vioapic_sink_set(v, 99, VMM_IRQ_PULSE); /* ignored, no crash */
	ioa_write(v, VIOAPIC_REG_RTE(24), 0x40);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_RTE(24)), 0);
	CHECK_EQ(ioa_read(v, VIOAPIC_REG_RTE(24) + 1), 0);
	/* 32 pins: the last entry is 0x4e/0x4f. */
	set_rte(v32, 31, 0x9f, 7);
	CHECK_EQ(ioa_read(v32, 0x4e), 0x9f);
	CHECK_EQ(ioa_read(v32, 0x4f), 0x07000000);
	vioapic_sink_set(v32, 31, VMM_IRQ_PULSE);
	REQUIRE(r.n == 1);
	CHECK_EQ(r.m[0].vector, 0x9f);
	CHECK_EQ(r.m[0].dest, 7);
	vioapic_destroy(v);
	vioapic_destroy(v32);
}

TEST(hostile_entries_are_dropped_or_tamed)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);
	struct vioapic_stats st;
	static const int dropped_modes[] = { VIOAPIC_DM_SMI, 3,
		VIOAPIC_DM_INIT, 6 };

	REQUIRE(v != NULL);
	/* Vectors 0-15: nothing sent, no remote IRR to get stuck. */
	for (uint32_t vec = 0; vec < 16; vec++) {
		set_rte(v, 1, LEVEL | vec, 0);
		CHECK_EQ(vioapic_set_irq(v, 1, VMM_IRQ_PULSE), 0);
		CHECK(!(rte_lo(v, 1) & REMIRR));
	}
	for (size_t i = 0; i < 4; i++) {
		set_rte(v, 2, DM(dropped_modes[i]) | 0x80, 0);
		CHECK_EQ(vioapic_set_irq(v, 2, VMM_IRQ_PULSE), 0);
	}
	CHECK_EQ(r.n, 0);
	vioapic_get_stats(v, &st);
	CHECK_EQ(st.dropped, 20);
	/* NMI and ExtINT go out, as edge even when programmed level. */
	set_rte(v, 4, DM(VIOAPIC_DM_NMI) | LEVEL | 0x02, 0);
	CHECK_EQ(vioapic_set_irq(v, 4, VMM_IRQ_ASSERT), 0);
	REQUIRE(r.n == 1);
	CHECK_EQ(r.m[0].delmode, VIOAPIC_DM_NMI);
	CHECK(!r.m[0].level);
	CHECK(!(rte_lo(v, 4) & REMIRR));
	set_rte(v, 0, DM(VIOAPIC_DM_EXTINT), 0);
	CHECK_EQ(vioapic_set_irq(v, 0, VMM_IRQ_PULSE), 0);
	REQUIRE(r.n == 2);
	CHECK_EQ(r.m[1].delmode, VIOAPIC_DM_EXTINT);
	/* Vector 255 is legal for the I/O APIC: the local APIC decides. */
	set_rte(v, 7, 0xff, 0xff);
	CHECK_EQ(vioapic_set_irq(v, 7, VMM_IRQ_PULSE), 0);
	REQUIRE(r.n == 3);
	CHECK_EQ(r.m[2].vector, 0xff);
	CHECK_EQ(r.m[2].dest, 0xff);
	vioapic_destroy(v);
}

TEST(switch_to_edge_clears_remote_irr)
{
	struct rec r = { 0 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);

	REQUIRE(v != NULL);
	set_rte(v, 11, LEVEL | 0x4b, 0);
	CHECK_EQ(vioapic_set_irq(v, 11, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 1);
	/* Linux's unstick sequence: mask, edge, level, unmask. */
	ioa_write(v, VIOAPIC_REG_RTE(11), MASKED | LEVEL | 0x4b);
	ioa_write(v, VIOAPIC_REG_RTE(11), MASKED | 0x4b);
	CHECK(!(rte_lo(v, 11) & REMIRR));
	ioa_write(v, VIOAPIC_REG_RTE(11), MASKED | LEVEL | 0x4b);
	CHECK_EQ(r.n, 1);
	ioa_write(v, VIOAPIC_REG_RTE(11), LEVEL | 0x4b);
	CHECK_EQ(r.n, 2); /* the line is still high */
	vioapic_destroy(v);
}

TEST(deliver_runs_unlocked_after_the_state_change)
{
	struct rec r = { .ret = -1 };
	struct vioapic *v = vioapic_create(24, rec_deliver, &r);
	struct vioapic_stats st;

	REQUIRE(v != NULL);
	set_rte(v, 9, LEVEL | 0x49, 0);
	r.reenter = v;
	CHECK_EQ(vioapic_set_irq(v, 9, VMM_IRQ_ASSERT), 0);
	CHECK_EQ(r.n, 1);
	CHECK(r.seen_rte_lo & REMIRR);
	vioapic_get_stats(v, &st);
	CHECK_EQ(st.deliver_errors, 1);
	vioapic_destroy(v);
}

TEST_MAIN(
	TEST_ENTRY(create_checks_arguments)
	TEST_ENTRY(select_window_id_version)
	TEST_ENTRY(only_dword_accesses_count)
	TEST_ENTRY(redirection_entry_masks)
	TEST_ENTRY(edge_delivers_on_rising_edges)
	TEST_ENTRY(level_remote_irr_and_eoi_broadcast)
	TEST_ENTRY(eoi_register_clears_every_matching_pin)
	TEST_ENTRY(masking_and_unmask_with_line_high)
	TEST_ENTRY(polarity_is_stored_not_applied)
	TEST_ENTRY(shared_line_counts_asserts)
	TEST_ENTRY(pins_beyond_the_count)
	TEST_ENTRY(hostile_entries_are_dropped_or_tamed)
	TEST_ENTRY(switch_to_edge_clears_remote_irr)
	TEST_ENTRY(deliver_runs_unlocked_after_the_state_change)
)
