/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 8254 on a manual clock: count readback in each mode, latch and
 * read-back commands, the byte flip-flops, reloads, IRQ 0 pulses counted
 * over exact intervals, the rate bound, and channel 2 through port 0x61
 * as Linux's TSC calibration drives it.
 */
#include <errno.h>

#include "io/vatpit.h"
#include "test.h"

struct rec {
	int pulses;
	int other; /* anything but a pulse on IRQ 0 */
};

static void
rec_set(void *arg, int irq, enum vmm_irq_op op)
{
	struct rec *r = arg;

	if (irq == 0 && op == VMM_IRQ_PULSE)
		r->pulses++;
	else
		r->other++;
}

struct fix {
	struct vmm_timebase *tb;
	struct vatpit *pit;
	struct rec rec;
};

static bool
fix_init(struct fix *f)
{
	struct vmm_irq_sink sink = { .set = rec_set, .arg = &f->rec };

	*f = (struct fix){ .tb = vmm_timebase_create_manual(0) };
	if (f->tb == NULL)
		return false;
	f->pit = vatpit_create(f->tb, &sink);
	return f->pit != NULL;
}

static void
fix_fini(struct fix *f)
{
	vatpit_destroy(f->pit);
	vmm_timebase_destroy(f->tb);
}

/* The first instant at which 'ticks' PIT clocks have passed since 0. */
static uint64_t
tick_ns(uint64_t ticks)
{
	return (ticks * NS_PER_SEC + VATPIT_HZ - 1) / VATPIT_HZ;
}

static void
to_tick(struct fix *f, uint64_t ticks)
{
	uint64_t target = tick_ns(ticks), now = vmm_now(f->tb);

	if (target > now)
		vmm_timebase_advance(f->tb, target - now);
}

static void
out8(struct fix *f, uint16_t port, uint8_t val)
{
	uint32_t x = val;

	if (port == VATPIT_NMISC_PORT)
		CHECK_EQ(vatpit_nmisc_handler(f->pit, false, port, 1, &x), 0);
	else
		CHECK_EQ(vatpit_handler(f->pit, false, port, 1, &x), 0);
}

static uint8_t
in8(struct fix *f, uint16_t port)
{
	uint32_t x = 0;

	if (port == VATPIT_NMISC_PORT)
		CHECK_EQ(vatpit_nmisc_handler(f->pit, true, port, 1, &x), 0);
	else
		CHECK_EQ(vatpit_handler(f->pit, true, port, 1, &x), 0);
	return (uint8_t)x;
}

/* Control word for channel 'ch', LSB then MSB, 'mode'; then the count. */
static void
program(struct fix *f, int ch, int mode, uint16_t count)
{
	out8(f, 0x43, (uint8_t)(ch << 6 | 0x30 | mode << 1));
	out8(f, (uint16_t)(0x40 + ch), count & 0xff);
	out8(f, (uint16_t)(0x40 + ch), count >> 8);
}

/* Counter latch command, then both bytes. */
static unsigned
latched(struct fix *f, int ch)
{
	unsigned lo, hi;

	out8(f, 0x43, (uint8_t)(ch << 6));
	lo = in8(f, (uint16_t)(0x40 + ch));
	hi = in8(f, (uint16_t)(0x40 + ch));
	return lo | hi << 8;
}

static uint8_t
status(struct fix *f, int ch)
{
	out8(f, 0x43, (uint8_t)(0xe0 | 2 << ch)); /* status only */
	return in8(f, (uint16_t)(0x40 + ch));
}

TEST(mode2_readback_and_period)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 2, 1000);
	CHECK_EQ(latched(&f, 0), 1000);
	to_tick(&f, 100);
	CHECK_EQ(latched(&f, 0), 900);
	to_tick(&f, 999);
	CHECK_EQ(latched(&f, 0), 1);
	CHECK_EQ(f.rec.pulses, 0);
	to_tick(&f, 1000);
	CHECK_EQ(latched(&f, 0), 1000); /* reloaded */
	CHECK_EQ(f.rec.pulses, 1);
	to_tick(&f, 2500);
	CHECK_EQ(latched(&f, 0), 500);
	CHECK_EQ(f.rec.pulses, 2);
	CHECK_EQ(f.rec.other, 0);
	fix_fini(&f);
}

TEST(mode2_exact_pulse_count)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 2, 1193); /* ~1 kHz */
	vmm_timebase_advance(f.tb, NS_PER_SEC);
	CHECK_EQ(f.rec.pulses, 1000); /* 1193182 / 1193 = 1000.15 */
	vmm_timebase_advance(f.tb, NS_PER_SEC / 2);
	CHECK_EQ(f.rec.pulses, 1500);
	/* A control word stops the channel: no more pulses. */
	out8(&f, 0x43, 0x34);
	vmm_timebase_advance(f.tb, NS_PER_SEC);
	CHECK_EQ(f.rec.pulses, 1500);
	fix_fini(&f);
}

TEST(mode0_one_shot)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 0, 500);
	CHECK_EQ(status(&f, 0) & 0x80, 0); /* OUT low while counting */
	to_tick(&f, 499);
	CHECK_EQ(latched(&f, 0), 1);
	CHECK_EQ(f.rec.pulses, 0);
	to_tick(&f, 500);
	CHECK_EQ(f.rec.pulses, 1);
	CHECK_EQ(status(&f, 0), 0x80 | 0x30); /* OUT high, mode 0 */
	to_tick(&f, 501);
	CHECK_EQ(latched(&f, 0), 0xffff); /* counts on through zero */
	vmm_timebase_advance(f.tb, NS_PER_SEC);
	CHECK_EQ(f.rec.pulses, 1);
	CHECK(status(&f, 0) & 0x80);
	fix_fini(&f);
}

TEST(mode0_first_byte_stops_count)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 0, 100);
	to_tick(&f, 40);
	out8(&f, 0x40, 0x10); /* LSB of a new count */
	CHECK_EQ(latched(&f, 0), 60);
	to_tick(&f, 200);
	CHECK_EQ(latched(&f, 0), 60); /* stopped */
	CHECK_EQ(f.rec.pulses, 0);
	out8(&f, 0x40, 0x00); /* MSB: count 16 starts */
	to_tick(&f, 216);
	CHECK_EQ(f.rec.pulses, 1);
	fix_fini(&f);
}

TEST(mode3_square_wave_counts)
{
	struct fix f;
	static const unsigned even[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
	static const unsigned odd[] = { 4, 2, 0, 4, 2, 4 };

	REQUIRE(fix_init(&f));
	program(&f, 1, 3, 10);
	for (unsigned t = 0; t < 11; t++) {
		to_tick(&f, t);
		CHECK_EQ(latched(&f, 1), even[t]);
		CHECK_EQ(!!(status(&f, 1) & 0x80), (t % 10) < 5);
	}
	program(&f, 1, 3, 5); /* at tick 10 */
	for (unsigned t = 0; t < 6; t++) {
		to_tick(&f, 10 + t);
		CHECK_EQ(latched(&f, 1), odd[t]);
		CHECK_EQ(!!(status(&f, 1) & 0x80), (t % 5) < 3);
	}
	CHECK_EQ(f.rec.pulses, 0); /* channel 1 has no interrupt */
	fix_fini(&f);
}

TEST(mode3_and_mode4_interrupts)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 3, 2000);
	to_tick(&f, 10 * 2000);
	CHECK_EQ(f.rec.pulses, 10);
	program(&f, 0, 4, 1000); /* at tick 20000 */
	to_tick(&f, 20000 + 400);
	CHECK_EQ(latched(&f, 0), 600);
	to_tick(&f, 20000 + 1000);
	CHECK_EQ(f.rec.pulses, 10);
	CHECK_EQ(status(&f, 0) & 0x80, 0); /* the strobe */
	to_tick(&f, 20000 + 1001);
	CHECK_EQ(f.rec.pulses, 11);
	CHECK(status(&f, 0) & 0x80);
	to_tick(&f, 200000);
	CHECK_EQ(f.rec.pulses, 11);
	fix_fini(&f);
}

TEST(latch_and_readback_commands)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 2, 1000);
	program(&f, 1, 2, 3000);
	to_tick(&f, 10);
	out8(&f, 0x43, 0x00);
	to_tick(&f, 20);
	out8(&f, 0x43, 0x00); /* ignored: the first latch is unread */
	CHECK_EQ(in8(&f, 0x40), 990 & 0xff);
	to_tick(&f, 30);
	CHECK_EQ(in8(&f, 0x40), 990 >> 8);
	CHECK_EQ(latched(&f, 0), 970);
	/* Read-back: count and status of 0 and 1 at once. */
	out8(&f, 0x43, 0xc6);
	to_tick(&f, 50);
	CHECK_EQ(in8(&f, 0x40), 0xb4); /* OUT, lohi, mode 2, binary */
	CHECK_EQ(in8(&f, 0x40), 970 & 0xff);
	CHECK_EQ(in8(&f, 0x40), 970 >> 8);
	CHECK_EQ(in8(&f, 0x41), 0xb4);
	CHECK_EQ(latched(&f, 1), 2970); /* the read-back latch held */
	/* Null count between control word and count. */
	out8(&f, 0x43, 0x74);
	CHECK_EQ(status(&f, 1), 0x40 | 0x80 | 0x34);
	out8(&f, 0x41, 0x10);
	out8(&f, 0x41, 0x00);
	CHECK_EQ(status(&f, 1), 0x80 | 0x34);
	/* Modes 6 and 7 are 2 and 3; the status keeps the bits. */
	out8(&f, 0x43, 0x7c);
	CHECK_EQ(status(&f, 1) & 0x0e, 0x0c);
	CHECK_EQ(in8(&f, 0x43), 0xff); /* no reading the control word */
	fix_fini(&f);
}

TEST(byte_modes_and_flip_flops)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	out8(&f, 0x43, 0x14); /* LSB only, mode 2 */
	out8(&f, 0x40, 200);
	to_tick(&f, 50);
	CHECK_EQ(in8(&f, 0x40), 150);
	CHECK_EQ(in8(&f, 0x40), 150); /* every read is the LSB */
	out8(&f, 0x43, 0x24); /* MSB only */
	out8(&f, 0x40, 0x02); /* count 0x200 */
	to_tick(&f, 50 + 0x100);
	CHECK_EQ(in8(&f, 0x40), 0x01);
	out8(&f, 0x43, 0x34); /* word: reads alternate without a latch */
	out8(&f, 0x40, 0x34);
	out8(&f, 0x40, 0x12);
	CHECK_EQ(in8(&f, 0x40), 0x34);
	CHECK_EQ(in8(&f, 0x40), 0x12);
	CHECK_EQ(in8(&f, 0x40), 0x34);
	out8(&f, 0x43, 0x34); /* a control word resets the flip-flop */
	out8(&f, 0x40, 0x00);
	out8(&f, 0x40, 0x10);
	CHECK_EQ(in8(&f, 0x40), 0x00);
	CHECK_EQ(in8(&f, 0x40), 0x10);
	fix_fini(&f);
}

TEST(count_zero_and_bcd)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 2, 0); /* 65536 */
	CHECK_EQ(latched(&f, 0), 0);
	to_tick(&f, 1);
	CHECK_EQ(latched(&f, 0), 0xffff);
	to_tick(&f, 65535);
	CHECK_EQ(f.rec.pulses, 0);
	to_tick(&f, 65536);
	CHECK_EQ(f.rec.pulses, 1);
	out8(&f, 0x43, 0x75); /* channel 1, mode 2, BCD */
	out8(&f, 0x41, 0x00);
	out8(&f, 0x41, 0x10); /* 1000 decimal */
	CHECK_EQ(latched(&f, 1), 0x1000);
	to_tick(&f, 65536 + 1);
	CHECK_EQ(latched(&f, 1), 0x0999);
	out8(&f, 0x41, 0x00); /* BCD 0 is 10000 */
	out8(&f, 0x41, 0x00);
	to_tick(&f, 65536 + 1000 + 1); /* taken at the end of the period */
	CHECK_EQ(latched(&f, 1), 0x9999);
	fix_fini(&f);
}

TEST(reload_at_end_of_period)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 0, 2, 1000);
	to_tick(&f, 300);
	out8(&f, 0x40, 500 & 0xff);
	out8(&f, 0x40, 500 >> 8);
	CHECK(status(&f, 0) & 0x40); /* written, not loaded */
	CHECK_EQ(latched(&f, 0), 700);
	to_tick(&f, 1000);
	CHECK_EQ(latched(&f, 0), 500);
	CHECK_EQ(status(&f, 0) & 0x40, 0);
	CHECK_EQ(f.rec.pulses, 1);
	to_tick(&f, 1500);
	CHECK_EQ(f.rec.pulses, 2);
	to_tick(&f, 1700);
	CHECK_EQ(latched(&f, 0), 300);
	fix_fini(&f);
}

TEST(rate_bound_for_count_1)
{
	struct fix f;
	uint64_t span = 10 * 1000 * 1000; /* 10 ms */
	int bound = (int)(span / VATPIT_MIN_PERIOD_NS);

	REQUIRE(fix_init(&f));
	program(&f, 0, 2, 1); /* 1.19 MHz asked for */
	vmm_timebase_advance(f.tb, span);
	CHECK(f.rec.pulses >= bound - 1);
	CHECK(f.rec.pulses <= bound + 1);
	/* Reprogramming cannot beat the bound either. */
	f.rec.pulses = 0;
	for (int i = 0; i < 100; i++) {
		program(&f, 0, 2, 1);
		vmm_timebase_advance(f.tb, 1000);
	}
	CHECK(f.rec.pulses <= 2);
	fix_fini(&f);
}

/*
 * Linux's pit_calibrate_tsc(): gate 2 on, speaker off, mode 0 one-shot,
 * then poll port 0x61 bit 5.
 */
TEST(channel2_gate_and_out_via_port61)
{
	struct fix f;
	uint16_t latch = 11932; /* 10 ms */

	REQUIRE(fix_init(&f));
	CHECK_EQ(in8(&f, 0x61) & 0x23, 0);
	out8(&f, 0x61, (in8(&f, 0x61) & ~0x02) | 0x01);
	out8(&f, 0x43, 0xb0);
	out8(&f, 0x42, latch & 0xff);
	out8(&f, 0x42, latch >> 8);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0);
	to_tick(&f, latch - 1);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0);
	to_tick(&f, latch);
	CHECK_EQ(in8(&f, 0x61) & 0x23, 0x21);
	CHECK_EQ(f.rec.pulses + f.rec.other, 0); /* no IRQ from channel 2 */

	/* Gate low suspends mode 0; high resumes. */
	program(&f, 2, 0, 1000); /* at tick 11932 */
	to_tick(&f, latch + 100);
	out8(&f, 0x61, 0x00);
	to_tick(&f, latch + 5000);
	CHECK_EQ(latched(&f, 2), 900);
	out8(&f, 0x61, 0x01);
	to_tick(&f, latch + 5000 + 899);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0);
	to_tick(&f, latch + 5000 + 900);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0x20);
	fix_fini(&f);
}

TEST(gate_triggers_modes_1_and_5)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	program(&f, 2, 1, 100);
	to_tick(&f, 50);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0x20); /* waiting: OUT high */
	out8(&f, 0x61, 0x01);		      /* trigger */
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0);
	to_tick(&f, 149);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0);
	CHECK_EQ(latched(&f, 2), 1);
	to_tick(&f, 150);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0x20);
	out8(&f, 0x61, 0x00);
	program(&f, 2, 5, 10); /* at tick 150 */
	out8(&f, 0x61, 0x01);
	to_tick(&f, 153);
	CHECK_EQ(latched(&f, 2), 7);
	to_tick(&f, 160);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0); /* the strobe */
	to_tick(&f, 161);
	CHECK_EQ(in8(&f, 0x61) & 0x20, 0x20);
	/* Mode 2 with the gate low holds OUT high and the count still. */
	out8(&f, 0x61, 0x00);
	program(&f, 2, 2, 50);
	to_tick(&f, 300);
	CHECK_EQ(latched(&f, 2), 50);
	out8(&f, 0x61, 0x01);
	to_tick(&f, 310);
	CHECK_EQ(latched(&f, 2), 40);
	fix_fini(&f);
}

TEST(port61_bits)
{
	struct fix f;
	uint8_t a, b;

	REQUIRE(fix_init(&f));
	out8(&f, 0x61, 0xff);
	CHECK_EQ(in8(&f, 0x61) & 0xcf, 0x0f); /* 4-7 are not writable */
	a = in8(&f, 0x61) & 0x10;
	to_tick(&f, 18);
	b = in8(&f, 0x61) & 0x10;
	CHECK(a != b); /* the refresh bit toggles with time */
	fix_fini(&f);
}

/* A write, a read and a port 0x61 access: only bytes are accepted. */
static void
poke(struct fix *f, uint16_t port, int w, uint32_t val)
{
	uint32_t x = val, y = 0;
	int want = w == 1 ? 0 : -EINVAL;

	CHECK_EQ(vatpit_handler(f->pit, false, port, w, &x), want);
	CHECK_EQ(vatpit_handler(f->pit, true, port, w, &y), want);
	CHECK_EQ(vatpit_nmisc_handler(f->pit, val & 1, 0x61, w, &x), want);
}

TEST(hostile_ports)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	for (int w = 1; w <= 4; w++) {
		for (uint16_t port = 0x40; port <= 0x43; port++) {
			for (uint32_t val = 0; val < 256; val++) {
				poke(&f, port, w, val);
				vmm_timebase_advance(f.tb, val * 7);
			}
		}
	}
	/* Whatever the state, a second of time stays bounded. */
	f.rec.pulses = 0;
	program(&f, 0, 2, 1);
	vmm_timebase_advance(f.tb, NS_PER_SEC);
	CHECK(f.rec.pulses <= (int)(NS_PER_SEC / VATPIT_MIN_PERIOD_NS) + 1);
	fix_fini(&f);
}

TEST_MAIN(TEST_ENTRY(mode2_readback_and_period)
    TEST_ENTRY(mode2_exact_pulse_count) TEST_ENTRY(mode0_one_shot)
    TEST_ENTRY(mode0_first_byte_stops_count)
    TEST_ENTRY(mode3_square_wave_counts)
    TEST_ENTRY(mode3_and_mode4_interrupts)
    TEST_ENTRY(latch_and_readback_commands)
    TEST_ENTRY(byte_modes_and_flip_flops) TEST_ENTRY(count_zero_and_bcd)
    TEST_ENTRY(reload_at_end_of_period) TEST_ENTRY(rate_bound_for_count_1)
    TEST_ENTRY(channel2_gate_and_out_via_port61)
    TEST_ENTRY(gate_triggers_modes_1_and_5) TEST_ENTRY(port61_bits)
    TEST_ENTRY(hostile_ports))
