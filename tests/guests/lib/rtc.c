/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MC146818 RTC helpers (see chips.h).  Register B says how the time
 * registers are coded: BCD or binary (DM), 24- or 12-hour (bit 7 of the
 * hour is PM in 12-hour mode; 12 AM is midnight).  The century byte at
 * 0x32 follows DM too, as on bhyve and QEMU.
 */
#include "chips.h"
#include "guest.h"

#define RTC_INDEX		0x70
#define RTC_DATA		0x71
/* Reads of register A waiting for UIP to drop (244 us at most). */
#define RTC_UIP_POLLS		1000
#define RTC_READ_TRIES		5

uint8_t
rtc_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

void
rtc_write(uint8_t reg, uint8_t val)
{
	outb(RTC_INDEX, reg);
	outb(RTC_DATA, val);
}

static int
rtc_dec(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

static uint8_t
rtc_enc(int v, bool binary)
{
	return (uint8_t)(binary ? v : (v / 10) << 4 | v % 10);
}

static int
rtc_dec_hour(uint8_t v, uint8_t b)
{
	bool binary = (b & RTC_B_DM_BINARY) != 0;
	int h;

	if (b & RTC_B_24H)
		return rtc_dec(v, binary);
	h = rtc_dec(v & ~RTC_HOUR_PM, binary) % 12;
	return h + ((v & RTC_HOUR_PM) ? 12 : 0);
}

static uint8_t
rtc_enc_hour(int h, uint8_t b)
{
	bool binary = (b & RTC_B_DM_BINARY) != 0;

	if (b & RTC_B_24H)
		return rtc_enc(h, binary);
	return rtc_enc(h % 12 == 0 ? 12 : h % 12, binary) |
	    (h >= 12 ? RTC_HOUR_PM : 0);
}

static void
rtc_wait_uip(void)
{
	for (int i = 0; i < RTC_UIP_POLLS; i++)
		if (!(rtc_read(RTC_REG_A) & RTC_A_UIP))
			return;
}

/* The raw time registers, in rtc_time order, plus the century. */
static void
rtc_read_raw(uint8_t raw[7])
{
	static const uint8_t regs[7] = { RTC_YEAR, RTC_MON, RTC_MDAY,
		RTC_HOUR, RTC_MIN, RTC_SEC, RTC_CENTURY };

	rtc_wait_uip();
	for (int i = 0; i < 7; i++)
		raw[i] = rtc_read(regs[i]);
}

bool
rtc_get_time(struct rtc_time *t)
{
	uint8_t a[7], b[7], regb = rtc_read(RTC_REG_B);
	bool binary = (regb & RTC_B_DM_BINARY) != 0;
	int century;

	rtc_read_raw(a);
	for (int i = 0; i < RTC_READ_TRIES; i++) {
		rtc_read_raw(b);
		if (memcmp(a, b, sizeof(a)) == 0)
			break;
		memcpy(a, b, sizeof(a));
	}
	if (memcmp(a, b, sizeof(a)) != 0)
		return false;
	century = rtc_dec(a[6], binary);
	if (century < 19 || century > 99)
		century = 20;
	*t = (struct rtc_time){
		.year = century * 100 + rtc_dec(a[0], binary),
		.mon = rtc_dec(a[1], binary),
		.mday = rtc_dec(a[2], binary),
		.hour = rtc_dec_hour(a[3], regb),
		.min = rtc_dec(a[4], binary),
		.sec = rtc_dec(a[5], binary),
	};
	return true;
}

void
rtc_set_time(const struct rtc_time *t)
{
	uint8_t regb = rtc_read(RTC_REG_B) & ~RTC_B_SET;
	bool binary = (regb & RTC_B_DM_BINARY) != 0;

	rtc_write(RTC_REG_B, regb | RTC_B_SET);
	rtc_write(RTC_SEC, rtc_enc(t->sec, binary));
	rtc_write(RTC_MIN, rtc_enc(t->min, binary));
	rtc_write(RTC_HOUR, rtc_enc_hour(t->hour, regb));
	rtc_write(RTC_MDAY, rtc_enc(t->mday, binary));
	rtc_write(RTC_MON, rtc_enc(t->mon, binary));
	rtc_write(RTC_YEAR, rtc_enc(t->year % 100, binary));
	rtc_write(RTC_CENTURY, rtc_enc(t->year / 100, binary));
	rtc_write(RTC_REG_B, regb);
}

/* Days from 1970-01-01 to year-mon-mday (proleptic Gregorian). */
static int64_t
rtc_days(int year, int mon, int mday)
{
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212,
		243, 273, 304, 334 };
	int64_t y = year - 1;
	int64_t days = 365 * (y - 1969) + (y / 4 - 492) - (y / 100 - 19) +
	    (y / 400 - 4);
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (mon < 1 || mon > 12)
		return -1;
	days += before[mon - 1] + (leap && mon > 2 ? 1 : 0);
	return days + mday - 1;
}

int64_t
rtc_to_epoch(const struct rtc_time *t)
{
	int64_t d = rtc_days(t->year, t->mon, t->mday);

	if (d < 0)
		return -1;
	return ((d * 24 + t->hour) * 60 + t->min) * 60 + t->sec;
}

void
rtc_from_epoch(int64_t secs, struct rtc_time *t)
{
	int64_t days = secs / 86400, rem = secs % 86400;
	int year = 1970, mon = 1;

	while (days >= rtc_days(year + 1, 1, 1))
		year++;
	while (mon < 12 && days >= rtc_days(year, mon + 1, 1))
		mon++;
	*t = (struct rtc_time){
		.year = year,
		.mon = mon,
		.mday = (int)(days - rtc_days(year, mon, 1)) + 1,
		.hour = (int)(rem / 3600),
		.min = (int)(rem / 60 % 60),
		.sec = (int)(rem % 60),
	};
}
