/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MC146818A on a manual clock: date formats, the UIP window, periodic,
 * update-ended and alarm interrupts, register C, SET and the divider, time
 * set from the host, and the CMOS memory-size bytes.
 */
#include <errno.h>

#include "io/vrtc.h"
#include "test.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define MS (1000 * 1000ULL)
#define US 1000ULL

/* 2024-02-29 13:45:56 UTC, a Thursday. */
#define T0 1709214356

struct rec {
	int asserts;
	int deasserts;
	int other;
	bool line;
};

static void
rec_set(void *arg, int irq, enum vmm_irq_op op)
{
	struct rec *r = arg;

	if (irq != 8 || op == VMM_IRQ_PULSE) {
		r->other++;
	} else if (op == VMM_IRQ_ASSERT) {
		r->asserts++;
		r->line = true;
	} else {
		r->deasserts++;
		r->line = false;
	}
}

struct fix {
	struct vmm_timebase *tb;
	struct vrtc *rtc;
	struct rec rec;
};

static bool
fix_init_mem(struct fix *f, time_t t, uint64_t lowmem, uint64_t highmem)
{
	struct vmm_irq_sink sink = { .set = rec_set, .arg = &f->rec };

	*f = (struct fix){ .tb = vmm_timebase_create_manual(5 * NS_PER_SEC) };
	if (f->tb == NULL)
		return false;
	f->rtc = vrtc_create(f->tb, &sink, t, false, lowmem, highmem);
	return f->rtc != NULL;
}

static bool
fix_init(struct fix *f)
{
	return fix_init_mem(f, T0, 128 * MiB, 0);
}

static void
fix_fini(struct fix *f)
{
	vrtc_destroy(f->rtc);
	vmm_timebase_destroy(f->tb);
}

static uint8_t
rd(struct fix *f, uint8_t reg)
{
	uint32_t x = reg;

	CHECK_EQ(vrtc_handler(f->rtc, false, 0x70, 1, &x), 0);
	CHECK_EQ(vrtc_handler(f->rtc, true, 0x71, 1, &x), 0);
	return (uint8_t)x;
}

static void
wr(struct fix *f, uint8_t reg, uint8_t val)
{
	uint32_t x = reg | 0x80; /* the NMI mask bit is ignored */

	CHECK_EQ(vrtc_handler(f->rtc, false, 0x70, 1, &x), 0);
	x = val;
	CHECK_EQ(vrtc_handler(f->rtc, false, 0x71, 1, &x), 0);
}

static void
adv(struct fix *f, uint64_t ns)
{
	vmm_timebase_advance(f->tb, ns);
}

TEST(bcd_binary_and_12h_reads)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	CHECK_EQ(rd(&f, 0x0b), 0x02); /* 24 h, BCD */
	CHECK_EQ(rd(&f, 0x00), 0x56);
	CHECK_EQ(rd(&f, 0x02), 0x45);
	CHECK_EQ(rd(&f, 0x04), 0x13);
	CHECK_EQ(rd(&f, 0x06), 5); /* Thursday; Sunday is 1 */
	CHECK_EQ(rd(&f, 0x07), 0x29);
	CHECK_EQ(rd(&f, 0x08), 0x02);
	CHECK_EQ(rd(&f, 0x09), 0x24);
	CHECK_EQ(rd(&f, 0x32), 0x20);
	CHECK_EQ(rd(&f, 0x0d), 0x80);
	wr(&f, 0x0b, 0x06); /* binary */
	CHECK_EQ(rd(&f, 0x00), 56);
	CHECK_EQ(rd(&f, 0x04), 13);
	CHECK_EQ(rd(&f, 0x09), 24);
	CHECK_EQ(rd(&f, 0x32), 20);
	wr(&f, 0x0b, 0x00); /* 12 h, BCD: 1 PM */
	CHECK_EQ(rd(&f, 0x04), 0x81);
	wr(&f, 0x0b, 0x04); /* 12 h, binary */
	CHECK_EQ(rd(&f, 0x04), 0x81);
	CHECK_EQ(vrtc_get_time(f.rtc), T0);
	fix_fini(&f);
}

TEST(twelve_hour_midnight_and_noon)
{
	struct fix f;

	REQUIRE(fix_init_mem(&f, 1709166600, 128 * MiB, 0)); /* 00:30 */
	wr(&f, 0x0b, 0x00);
	CHECK_EQ(rd(&f, 0x04), 0x12); /* 12 AM */
	CHECK_EQ(vrtc_set_time(f.rtc, 1709166600 + 12 * 3600), 0);
	CHECK_EQ(rd(&f, 0x04), 0x92); /* 12 PM */
	/* Written in 12 h form, read back as time. */
	wr(&f, 0x0b, 0x80);
	wr(&f, 0x04, 0x91); /* 11 PM */
	wr(&f, 0x0b, 0x00);
	CHECK_EQ(vrtc_get_time(f.rtc), 1709166600 + 23 * 3600);
	fix_fini(&f);
}

TEST(update_and_uip_window)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	CHECK_EQ(rd(&f, 0x0a), 0x26);
	adv(&f, 500 * MS);
	CHECK_EQ(rd(&f, 0x0a) & 0x80, 0);
	adv(&f, 500 * MS - 245 * US);
	CHECK_EQ(rd(&f, 0x0a) & 0x80, 0);
	adv(&f, 2 * US); /* 243 us before the update */
	CHECK_EQ(rd(&f, 0x0a) & 0x80, 0x80);
	CHECK_EQ(rd(&f, 0x00), 0x56);
	adv(&f, 243 * US - 1);
	CHECK_EQ(rd(&f, 0x0a) & 0x80, 0x80);
	CHECK_EQ(rd(&f, 0x00), 0x56);
	adv(&f, 1); /* the update */
	CHECK_EQ(rd(&f, 0x0a) & 0x80, 0);
	CHECK_EQ(rd(&f, 0x00), 0x57);
	adv(&f, 3 * NS_PER_SEC);
	CHECK_EQ(rd(&f, 0x00), 0x00);
	CHECK_EQ(rd(&f, 0x02), 0x46);
	CHECK_EQ(vrtc_get_time(f.rtc), T0 + 4);
	/* Writing A cannot set UIP. */
	wr(&f, 0x0a, 0xa6);
	CHECK_EQ(rd(&f, 0x0a), 0x26);
	fix_fini(&f);
}

/* Count PF over 'span' reading C every 50 us, as an ISR would. */
static int
count_periodic(struct fix *f, uint8_t rs, uint64_t span)
{
	int n = 0;

	wr(f, 0x0a, 0x20 | rs);
	(void)rd(f, 0x0c);
	f->rec.asserts = f->rec.deasserts = 0;
	for (uint64_t t = 0; t < span; t += 50 * US) {
		adv(f, 50 * US);
		if (rd(f, 0x0c) & 0x40)
			n++;
	}
	return n;
}

TEST(periodic_rates)
{
	static const struct {
		uint8_t rs;
		int hz;
	} rates[] = { { 3, 8192 }, { 6, 1024 }, { 1, 256 }, { 2, 128 },
		{ 9, 128 }, { 15, 2 } };
	struct fix f;

	REQUIRE(fix_init(&f));
	wr(&f, 0x0b, 0x42); /* PIE */
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		int n = count_periodic(&f, rates[i].rs, NS_PER_SEC);

		CHECK_EQ(n, rates[i].hz);
		CHECK_EQ(f.rec.asserts, rates[i].hz);
		CHECK_EQ(f.rec.deasserts, f.rec.asserts);
	}
	CHECK_EQ(count_periodic(&f, 0, 10 * MS), 0); /* rate 0: off */
	CHECK_EQ(f.rec.other, 0);
	fix_fini(&f);
}

TEST(unread_c_holds_the_irq)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	wr(&f, 0x0a, 0x23);	/* 8192 Hz */
	wr(&f, 0x0b, 0x42);
	adv(&f, NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 1);
	CHECK(f.rec.line);
	CHECK_EQ(rd(&f, 0x0c), 0xd0); /* UF too: a second passed */
	CHECK(!f.rec.line);
	CHECK_EQ(rd(&f, 0x0c), 0x00);
	/* Without PIE the flag still sets, but no interrupt. */
	wr(&f, 0x0b, 0x02);
	adv(&f, MS);
	CHECK_EQ(rd(&f, 0x0c), 0x40);
	CHECK_EQ(f.rec.asserts, 1);
	/* Enabling PIE over a set PF interrupts at once. */
	adv(&f, MS);
	wr(&f, 0x0b, 0x42);
	CHECK_EQ(f.rec.asserts, 2);
	CHECK(f.rec.line);
	fix_fini(&f);
}

TEST(update_ended_interrupt)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	wr(&f, 0x0b, 0x12); /* UIE */
	adv(&f, NS_PER_SEC - 1);
	CHECK_EQ(f.rec.asserts, 0);
	adv(&f, 1);
	CHECK_EQ(f.rec.asserts, 1);
	/* PF too: rate 6 runs, flags set whatever the enables. */
	CHECK_EQ(rd(&f, 0x0c), 0xd0);
	CHECK_EQ(f.rec.deasserts, 1);
	adv(&f, 10 * NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 2); /* held until C is read */
	CHECK_EQ(rd(&f, 0x0c), 0xd0);
	adv(&f, NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 3);
	fix_fini(&f);
}

TEST(alarm_interrupt)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	wr(&f, 0x01, 0x59); /* 13:45:59, three seconds on */
	wr(&f, 0x03, 0x45);
	wr(&f, 0x05, 0x13);
	wr(&f, 0x0b, 0x22); /* AIE */
	adv(&f, 2 * NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 0);
	CHECK_EQ(rd(&f, 0x0c) & 0x20, 0);
	adv(&f, NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 1);
	CHECK_EQ(rd(&f, 0x0c), 0xf0); /* IRQF, PF, AF and UF */
	adv(&f, 60 * NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 1); /* only at 13:45:59 */
	/* Don't care hours and minutes: at second 30 of every minute. */
	wr(&f, 0x01, 0x30);
	wr(&f, 0x03, 0xc0);
	wr(&f, 0x05, 0xff);
	(void)rd(&f, 0x0c);
	adv(&f, 3 * 60 * NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 2); /* held: C unread */
	for (int i = 0; i < 180; i++) {
		adv(&f, NS_PER_SEC);
		(void)rd(&f, 0x0c);
	}
	CHECK_EQ(f.rec.asserts, 5);
	/* All three don't care: every second. */
	wr(&f, 0x01, 0xff);
	for (int i = 0; i < 10; i++) {
		adv(&f, NS_PER_SEC);
		CHECK_EQ(rd(&f, 0x0c), 0xf0);
	}
	fix_fini(&f);
}

TEST(set_bit_freezes_and_time_moves)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	wr(&f, 0x0b, 0x92); /* SET, with UIE: SET clears UIE */
	CHECK_EQ(rd(&f, 0x0b), 0x82);
	adv(&f, 5 * NS_PER_SEC - 100 * US);
	CHECK_EQ(rd(&f, 0x00), 0x56);
	CHECK_EQ(rd(&f, 0x0a) & 0x80, 0); /* no UIP while SET */
	CHECK_EQ(rd(&f, 0x0c), 0x40);	  /* periodic only: no updates */
	CHECK_EQ(vrtc_set_time(f.rtc, 0), -EBUSY);
	/* 2030-01-01 00:00:00 */
	wr(&f, 0x00, 0x00);
	wr(&f, 0x02, 0x00);
	wr(&f, 0x04, 0x00);
	wr(&f, 0x07, 0x01);
	wr(&f, 0x08, 0x01);
	wr(&f, 0x09, 0x30);
	wr(&f, 0x32, 0x20);
	wr(&f, 0x0b, 0x02);
	CHECK_EQ(vrtc_get_time(f.rtc), 1893456000);
	CHECK_EQ(rd(&f, 0x06), 3); /* a Tuesday, recomputed */
	adv(&f, 2 * NS_PER_SEC);
	CHECK_EQ(vrtc_get_time(f.rtc), 1893456002);
	/* Century written alone, while running (OpenBSD does). */
	wr(&f, 0x32, 0x21);
	CHECK_EQ(vrtc_get_time(f.rtc), 1893456002 + 3155673600LL);
	fix_fini(&f);
}

TEST(invalid_date_stops_the_clock)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	wr(&f, 0x0b, 0x82);
	wr(&f, 0x08, 0x13); /* month 13 */
	wr(&f, 0x0b, 0x12);
	CHECK_EQ(vrtc_get_time(f.rtc), (time_t)-1);
	adv(&f, 3 * NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 0); /* no updates, no UF */
	CHECK_EQ(rd(&f, 0x08), 0x13);
	wr(&f, 0x07, 0x31);
	wr(&f, 0x08, 0x02); /* February 31st: still invalid */
	CHECK_EQ(vrtc_get_time(f.rtc), (time_t)-1);
	wr(&f, 0x07, 0x28);
	CHECK_EQ(vrtc_get_time(f.rtc), T0 - 86400);
	adv(&f, NS_PER_SEC);
	CHECK_EQ(f.rec.asserts, 1);
	fix_fini(&f);
}

TEST(host_set_and_get_time)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	CHECK_EQ(vrtc_set_time(f.rtc, 946684798), 0); /* 1999-12-31 23:59:58 */
	CHECK_EQ(rd(&f, 0x32), 0x19);
	CHECK_EQ(rd(&f, 0x09), 0x99);
	adv(&f, 2 * NS_PER_SEC);
	CHECK_EQ(rd(&f, 0x32), 0x20);
	CHECK_EQ(rd(&f, 0x09), 0x00);
	CHECK_EQ(rd(&f, 0x08), 0x01);
	CHECK_EQ(rd(&f, 0x07), 0x01);
	CHECK_EQ(vrtc_get_time(f.rtc), 946684800);
	CHECK_EQ(vrtc_set_time(f.rtc, -1), -EINVAL);
	CHECK_EQ(vrtc_set_time(f.rtc, 253402300800LL), -EINVAL); /* 10000 */
	CHECK_EQ(vrtc_set_time(f.rtc, 253402300799LL), 0);
	CHECK_EQ(vrtc_get_time(f.rtc), 253402300799LL);
	fix_fini(&f);
}

TEST(divider_reset_and_release)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	wr(&f, 0x0a, 0x70); /* chain held in reset */
	adv(&f, 10 * NS_PER_SEC);
	CHECK_EQ(vrtc_get_time(f.rtc), T0);
	CHECK_EQ(rd(&f, 0x00), 0x56);
	wr(&f, 0x0a, 0x26);
	adv(&f, 500 * MS - 1);
	CHECK_EQ(rd(&f, 0x00), 0x56);
	adv(&f, 1); /* the first update, half a second later */
	CHECK_EQ(rd(&f, 0x00), 0x57);
	adv(&f, NS_PER_SEC);
	CHECK_EQ(rd(&f, 0x00), 0x58);
	fix_fini(&f);
}

TEST(nvram_memory_bytes)
{
	static const struct {
		uint64_t lo, hi;
		uint16_t ext, mid;
		uint32_t above4g;
	} cases[] = {
		{ 128 * MiB, 0, 63 * 1024, (128 - 16) * 16, 0 },
		{ 3 * GiB, 0, 63 * 1024, (3072 - 16) * 16, 0 },
		{ 3 * GiB, 2 * GiB, 63 * 1024, (3072 - 16) * 16, 2 * 16384 },
		{ 8 * MiB, 0, 7 * 1024, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fix f;
		uint8_t b[128];

		REQUIRE(fix_init_mem(&f, T0, cases[i].lo, cases[i].hi));
		for (int off = 0; off < 128; off++)
			CHECK_EQ(vrtc_nvram_read(f.rtc, off, &b[off]), 0);
		CHECK_EQ(b[0x15] | b[0x16] << 8, 640);
		CHECK_EQ(b[0x17] | b[0x18] << 8, cases[i].ext);
		CHECK_EQ(b[0x30] | b[0x31] << 8, cases[i].ext);
		CHECK_EQ(b[0x34] | b[0x35] << 8, cases[i].mid);
		CHECK_EQ(b[0x5b] | b[0x5c] << 8 | b[0x5d] << 16,
		    cases[i].above4g);
		CHECK_EQ(b[0x32], 0x20);
		unsigned sum = 0;
		for (int off = 0x10; off <= 0x2d; off++)
			sum += b[off];
		CHECK_EQ(b[0x2e] << 8 | b[0x2f], sum);
		fix_fini(&f);
	}
}

TEST(nvram_access_rules)
{
	struct fix f;
	uint8_t v;

	REQUIRE(fix_init(&f));
	CHECK_EQ(vrtc_nvram_write(f.rtc, 0x40, 0xa5), 0);
	CHECK_EQ(rd(&f, 0x40), 0xa5);
	wr(&f, 0x41, 0x5a);
	CHECK_EQ(vrtc_nvram_read(f.rtc, 0x41, &v), 0);
	CHECK_EQ(v, 0x5a);
	CHECK_EQ(vrtc_nvram_write(f.rtc, 0x00, 1), -EINVAL);
	CHECK_EQ(vrtc_nvram_write(f.rtc, 0x0b, 1), -EINVAL);
	CHECK_EQ(vrtc_nvram_write(f.rtc, 0x32, 1), -EINVAL);
	CHECK_EQ(vrtc_nvram_write(f.rtc, 128, 1), -EINVAL);
	CHECK_EQ(vrtc_nvram_read(f.rtc, -1, &v), -EINVAL);
	CHECK_EQ(vrtc_nvram_read(f.rtc, 128, &v), -EINVAL);
	CHECK_EQ(vrtc_nvram_write(f.rtc, 0x10, 0x20), 0); /* re-summed */
	CHECK_EQ(vrtc_nvram_read(f.rtc, 0x2f, &v), 0);
	CHECK_EQ(v, (0x20 + 0x80 + 0x02 + 0x00 + 0xfc) & 0xff);
	/* API reads of C do not clear it. */
	wr(&f, 0x0b, 0x12);
	adv(&f, NS_PER_SEC);
	CHECK_EQ(vrtc_nvram_read(f.rtc, 0x0c, &v), 0);
	CHECK_EQ(v, 0xd0);
	CHECK_EQ(rd(&f, 0x0c), 0xd0);
	CHECK_EQ(rd(&f, 0x0c), 0x00);
	fix_fini(&f);
}

/* Index, write, read: only byte accesses are accepted. */
static void
poke(struct fix *f, int w, uint32_t idx, uint32_t val)
{
	uint32_t a = idx, x = val, y = 0;
	int want = w == 1 ? 0 : -EINVAL;

	CHECK_EQ(vrtc_handler(f->rtc, false, 0x70, w, &a), want);
	CHECK_EQ(vrtc_handler(f->rtc, false, 0x71, w, &x), want);
	CHECK_EQ(vrtc_handler(f->rtc, true, 0x71, w, &y), want);
}

TEST(hostile_ports)
{
	struct fix f;

	REQUIRE(fix_init(&f));
	for (int w = 1; w <= 4; w++) {
		for (uint32_t idx = 0; idx < 256; idx++) {
			for (uint32_t val = 0; val < 256; val += 17)
				poke(&f, w, idx, val);
			adv(&f, idx * 997 * US);
		}
	}
	CHECK_EQ(rd(&f, 0x0d), 0x80);
	fix_fini(&f);
}

TEST_MAIN(TEST_ENTRY(bcd_binary_and_12h_reads)
    TEST_ENTRY(twelve_hour_midnight_and_noon)
    TEST_ENTRY(update_and_uip_window) TEST_ENTRY(periodic_rates)
    TEST_ENTRY(unread_c_holds_the_irq)
    TEST_ENTRY(update_ended_interrupt) TEST_ENTRY(alarm_interrupt)
    TEST_ENTRY(set_bit_freezes_and_time_moves)
    TEST_ENTRY(invalid_date_stops_the_clock)
    TEST_ENTRY(host_set_and_get_time) TEST_ENTRY(divider_reset_and_release)
    TEST_ENTRY(nvram_memory_bytes) TEST_ENTRY(nvram_access_rules)
    TEST_ENTRY(hostile_ports))
