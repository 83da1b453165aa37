/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * String port I/O (rep ins/outs) at every width, against pc-testdev's
 * port 0xe0.  That port keeps only the last value written, so an outs
 * is judged by the last element (which one is last depends on DF) and by
 * the untouched byte lanes, and an ins by every element equal to the
 * port's value, nothing written past the count, RSI/RDI/RCX advanced
 * exactly.  Buffers straddle a page boundary, where an emulator has to
 * split the guest-memory side.  Then a rep outsb line to COM1.
 */
#include "guest.h"

#define TEST_PORT	0xe0
#define UNUSED_PORT	0x666
#define PAGE_SIZE	4096
#define FILL		0x5a
#define COM1_LSR	(COM1_PORT + 5)
#define LSR_TEMT	0x40

static uint8_t pages[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* n bytes ending 'before' bytes short of the page boundary + 'after'. */
static uint8_t *
straddle(size_t before)
{
	return pages + PAGE_SIZE - before;
}

static void
fill_pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(0x11 * (i + 1) + (i >> 4));
}

static void
check_outs(void)
{
	uint8_t *src = straddle(5);
	const void *end;

	fill_pattern(src, 64);
	outl(TEST_PORT, 0xaabbccdd);
	end = outsb(TEST_PORT, src, 13);
	CHECK_EQ((const uint8_t *)end - src, 13);
	CHECK_EQ(inl(TEST_PORT), 0xaabbcc00u | src[12]);

	end = outsw(TEST_PORT, src, 7);
	CHECK_EQ((const uint8_t *)end - src, 14);
	CHECK_EQ(inl(TEST_PORT), 0xaabb0000u | src[12] | src[13] << 8);

	end = outsl(TEST_PORT, src + 1, 5);
	CHECK_EQ((const uint8_t *)end - src, 21);
	CHECK_EQ(inl(TEST_PORT), src[17] | src[18] << 8 | src[19] << 16 |
	    (uint32_t)src[20] << 24);

	/* A count of zero does nothing at all. */
	end = outsb(TEST_PORT, src, 0);
	CHECK(end == src);
	CHECK_EQ(inb(TEST_PORT), src[17]);

	/* DF=1: the walk goes down, so the first byte is the last out. */
	__asm__ volatile("std");
	end = outsb(TEST_PORT, src + 9, 10);
	__asm__ volatile("cld");
	CHECK(end == src - 1);
	CHECK_EQ(inb(TEST_PORT), src[0]);
}

static bool
all_equal(const uint8_t *p, size_t n, const uint8_t *unit, size_t width)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != unit[i % width])
			return false;
	return true;
}

static void
check_ins_width(size_t width, size_t count, size_t before)
{
	static const uint8_t value[4] = { 0x44, 0x33, 0x22, 0x11 };
	uint8_t *dst = straddle(before);
	size_t n = width * count;
	void *end;

	memset(pages, FILL, sizeof(pages));
	outl(TEST_PORT, 0x11223344);
	if (width == 1)
		end = insb(TEST_PORT, dst, count);
	else if (width == 2)
		end = insw(TEST_PORT, dst, count);
	else
		end = insl(TEST_PORT, dst, count);
	CHECK_EQ((uint8_t *)end - dst, n);
	CHECK(all_equal(dst, n, value, width));
	CHECK_EQ(dst[-1], FILL);
	CHECK_EQ(dst[n], FILL);
}

static void
check_ins(void)
{
	check_ins_width(1, 13, 7);
	check_ins_width(2, 7, 5);
	check_ins_width(4, 5, 6);
	/* A long one: a few hundred elements across the boundary. */
	check_ins_width(4, 300, 600);

	/* Nobody's port: all ones at every position. */
	memset(pages, 0, sizeof(pages));
	insw(UNUSED_PORT, straddle(3), 4);
	CHECK(all_equal(straddle(3), 8, (const uint8_t *)"\xff", 1));
	CHECK_EQ(straddle(3)[8], 0);
}

static void
check_serial_outs(void)
{
	static const char line[] = "string-io-ok\r\n";

	/* 14 bytes fit the 16550's FIFO once the transmitter is idle. */
	for (int i = 0; i < 10000 && !(inb(COM1_LSR) & LSR_TEMT); i++)
		;
	outsb(COM1_PORT, line, sizeof(line) - 1);
}

int
guest_main(struct boot_info *bi)
{
	check_outs();
	check_ins();
	check_serial_outs();
	return guest_finish("stringio");
}
