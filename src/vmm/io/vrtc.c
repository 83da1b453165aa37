/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MC146818A real-time clock.  Behaviour follows the Motorola MC146818A
 * data sheet; section names below refer to it.
 *
 * The clock is not stepped.  Its divider chain is described by 'phase_ns',
 * an instant at which a second began: updates happen at phase_ns + k s and
 * periodic edges at phase_ns + k * period.  While updates run, the time is
 * secs_at_phase + (whole seconds since phase_ns), and the date registers
 * are rendered from it before every access; while they are stopped (SET,
 * divider off, invalid date), the registers themselves hold the time.
 *
 * Register C's flags are set "regardless of the enable bits"
 * (Register C): every access first accounts for the edges since the last
 * one (vrtc_catch_up).  A callout is armed only when an enabled flag would
 * raise IRQF, and not at all while IRQF is already set, so an unread
 * register C stops the callouts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vrtc.h"

#define REG_SEC 0x00
#define REG_ASEC 0x01
#define REG_MIN 0x02
#define REG_AMIN 0x03
#define REG_HOUR 0x04
#define REG_AHOUR 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_NVRAM 0x0e
#define REG_CENTURY VRTC_CENTURY

#define A_UIP 0x80
#define A_DV 0x70
#define A_DV_32K 0x20 /* 32.768 kHz time base, dividers running */
#define A_RS 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM 0x04 /* binary, else BCD */
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40 /* the enables in B sit at the same bits */
#define C_AF 0x20
#define C_UF 0x10
#define C_FLAGS (C_PF | C_AF | C_UF)
#define D_VRT 0x80
#define HOUR_PM 0x80
#define ALARM_ANY 0xc0

#define SECS_PER_DAY 86400
/* UIP rises 244 us (8 time-base cycles) before the update (Register A). */
#define UIP_NS 244141
/* The first update comes 500 ms after the divider reset ends. */
#define RELEASE_NS 500000000

/* CMOS bytes firmware reads (IBM AT layout; 0x34/0x35, 0x5b-0x5d: bhyve). */
#define NV_BASEMEM 0x15	 /* KiB below 1 MiB */
#define NV_EXTMEM 0x17	 /* KiB from 1 MiB, at most 63 MiB */
#define NV_CSUM_FIRST 0x10
#define NV_CSUM_LAST 0x2d
#define NV_CSUM 0x2e	 /* big-endian sum of 0x10-0x2d */
#define NV_EXTMEM2 0x30	 /* copy of 0x17 */
#define NV_MEM16M 0x34	 /* 64 KiB units from 16 MiB to lowmem */
#define NV_MEM4G 0x5b	 /* 64 KiB units from 4 GiB, three bytes */

#define KiB 1024ULL
#define MiB (1024 * KiB)

static const uint8_t vrtc_time_regs[] = { REG_SEC, REG_MIN, REG_HOUR,
	REG_WDAY, REG_MDAY, REG_MONTH, REG_YEAR, REG_CENTURY };

struct vrtc {
	pthread_mutex_t lock;
	struct vmm_timebase *tb;
	struct vmm_irq_sink sink;
	struct vmm_callout callout;
	uint8_t index;
	uint8_t reg[128];
	bool valid;		/* the date registers hold a valid time */
	int64_t phase_ns;
	int64_t secs_at_phase;
	int64_t flags_ns;	/* register C accounts for edges up to here */
	bool irq;		/* IRQ 8 asserted */
};

/* ---- calendar ---- */

static bool
vrtc_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
vrtc_month_days(int64_t y, int m)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
		31, 30, 31 };

	return days[m - 1] + (m == 2 && vrtc_leap(y));
}

static int64_t
vrtc_leaps_before(int64_t y)
{
	return (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
}

/* Days from 1970-01-01 to y-m-d (y >= 1970). */
static int64_t
vrtc_days(int64_t y, int m, int d)
{
	int64_t days = (y - 1970) * 365 + vrtc_leaps_before(y) -
	    vrtc_leaps_before(1970);

	for (int i = 1; i < m; i++)
		days += vrtc_month_days(y, i);
	return days + d - 1;
}

static void
vrtc_civil(int64_t days, int64_t *y, int *m, int *d)
{
	*y = 1970 + days / 366; /* never past the answer */
	while (vrtc_days(*y + 1, 1, 1) <= days)
		(*y)++;
	days -= vrtc_days(*y, 1, 1);
	for (*m = 1; days >= vrtc_month_days(*y, *m); (*m)++)
		days -= vrtc_month_days(*y, *m);
	*d = (int)days + 1;
}

static int64_t
vrtc_max_secs(void)
{
	return vrtc_days(10000, 1, 1) * SECS_PER_DAY - 1;
}

static int64_t
vrtc_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- register formats (Register B: DM, 24/12) ---- */

static uint8_t
vrtc_enc(const struct vrtc *v, int x)
{
	if (v->reg[REG_B] & B_DM)
		return (uint8_t)x;
	return (uint8_t)((x / 10) << 4 | x % 10);
}

static bool
vrtc_dec(const struct vrtc *v, uint8_t b, int lo, int hi, int *x)
{
	if (v->reg[REG_B] & B_DM)
		*x = b;
	else if ((b >> 4) > 9 || (b & 15) > 9)
		return false;
	else
		*x = (b >> 4) * 10 + (b & 15);
	return *x >= lo && *x <= hi;
}

static uint8_t
vrtc_hour_byte(const struct vrtc *v, int h)
{
	if (v->reg[REG_B] & B_24H)
		return vrtc_enc(v, h);
	return vrtc_enc(v, h % 12 == 0 ? 12 : h % 12) | (h >= 12 ? HOUR_PM : 0);
}

static bool
vrtc_parse_hour(const struct vrtc *v, int *h)
{
	uint8_t b = v->reg[REG_HOUR];

	if (v->reg[REG_B] & B_24H)
		return vrtc_dec(v, b, 0, 23, h);
	if (!vrtc_dec(v, b & ~HOUR_PM, 1, 12, h))
		return false;
	*h = *h % 12 + ((b & HOUR_PM) ? 12 : 0);
	return true;
}

static void
vrtc_render(struct vrtc *v, int64_t secs)
{
	int64_t days = secs / SECS_PER_DAY, y;
	int tod = (int)(secs % SECS_PER_DAY), m, d;

	vrtc_civil(days, &y, &m, &d);
	v->reg[REG_SEC] = vrtc_enc(v, tod % 60);
	v->reg[REG_MIN] = vrtc_enc(v, tod / 60 % 60);
	v->reg[REG_HOUR] = vrtc_hour_byte(v, tod / 3600);
	v->reg[REG_WDAY] = vrtc_enc(v, (int)((days + 4) % 7) + 1); /* Thu */
	v->reg[REG_MDAY] = vrtc_enc(v, d);
	v->reg[REG_MONTH] = vrtc_enc(v, m);
	v->reg[REG_YEAR] = vrtc_enc(v, (int)(y % 100));
	v->reg[REG_CENTURY] = vrtc_enc(v, (int)(y / 100 % 100));
}

/* The date registers as a time; the weekday is ignored, as bhyve does. */
static bool
vrtc_parse(const struct vrtc *v, int64_t *secs)
{
	int s, mi, h, d, mo, y, c;

	if (!vrtc_dec(v, v->reg[REG_SEC], 0, 59, &s) ||
	    !vrtc_dec(v, v->reg[REG_MIN], 0, 59, &mi) ||
	    !vrtc_parse_hour(v, &h) ||
	    !vrtc_dec(v, v->reg[REG_MONTH], 1, 12, &mo) ||
	    !vrtc_dec(v, v->reg[REG_YEAR], 0, 99, &y) ||
	    !vrtc_dec(v, v->reg[REG_CENTURY], 19, 99, &c))
		return false;
	y += c * 100;
	if (y < 1970 ||
	    !vrtc_dec(v, v->reg[REG_MDAY], 1, vrtc_month_days(y, mo), &d))
		return false;
	*secs = vrtc_days(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + s;
	return true;
}

/* ---- time ---- */

static bool
vrtc_divider_on(const struct vrtc *v)
{
	return (v->reg[REG_A] & A_DV) == A_DV_32K;
}

static bool
vrtc_updating(const struct vrtc *v)
{
	return vrtc_divider_on(v) && !(v->reg[REG_B] & B_SET) && v->valid;
}

/* Updates since phase_ns, as of 'ns'. */
static int64_t
vrtc_second(const struct vrtc *v, int64_t ns)
{
	return vrtc_floor_div(ns - v->phase_ns, (int64_t)NS_PER_SEC);
}

static int64_t
vrtc_secs(const struct vrtc *v, int64_t ns)
{
	return v->secs_at_phase + vrtc_second(v, ns);
}

/* Refresh the date registers from the clock, if it runs. */
static void
vrtc_sync(struct vrtc *v, int64_t now)
{
	if (vrtc_updating(v))
		vrtc_render(v, vrtc_secs(v, now));
}

/* Run the clock from the date registers, if they hold a valid time. */
static void
vrtc_start(struct vrtc *v, int64_t now)
{
	int64_t secs;

	v->valid = vrtc_parse(v, &secs);
	if (v->valid)
		v->secs_at_phase = secs - vrtc_second(v, now);
}

static bool
vrtc_uip(const struct vrtc *v, int64_t now)
{
	int64_t into = now - v->phase_ns - vrtc_second(v, now) * NS_PER_SEC;

	return vrtc_updating(v) && into >= (int64_t)(NS_PER_SEC - UIP_NS);
}

/* ---- interrupt sources ---- */

/*
 * The periodic rate as a shift: period = 2^shift / 65536 s.  Rate
 * selects 1 and 2 are the slow taps of the 32.768 kHz time base, 256 and
 * 128 Hz (table "Periodic Interrupt Rate"); 0 is off.
 */
static int
vrtc_rate_shift(const struct vrtc *v)
{
	int rs = v->reg[REG_A] & A_RS;

	if (!vrtc_divider_on(v) || rs == 0)
		return 0;
	return rs <= 2 ? rs + 7 : rs;
}

/* Periodic edges since phase_ns, as of 'ns'. */
static int64_t
vrtc_pf_count(const struct vrtc *v, int shift, int64_t ns)
{
	__int128 num = (__int128)(ns - v->phase_ns) * 65536;
	__int128 den = (__int128)NS_PER_SEC << shift;
	__int128 q = num / den;

	return (int64_t)(q - (num % den != 0 && num < 0));
}

static int64_t
vrtc_pf_time(const struct vrtc *v, int shift, int64_t k)
{
	__int128 num = (__int128)k * ((__int128)NS_PER_SEC << shift);

	/* round up: the edge is the first instant counted */
	return v->phase_ns + (int64_t)(num / 65536 + (num % 65536 > 0));
}

static bool
vrtc_alarm_field(const struct vrtc *v, int reg, uint8_t now)
{
	uint8_t a = v->reg[reg];

	return (a & ALARM_ANY) == ALARM_ANY || a == now;
}

/* Does an update in the 'n' seconds ending at 'secs' match the alarm? */
static bool
vrtc_alarm_hit(const struct vrtc *v, int64_t secs, int64_t n)
{
	if (n > SECS_PER_DAY)
		n = SECS_PER_DAY; /* the alarm repeats daily */
	for (int64_t i = 0; i < n; i++) {
		int tod = (int)(((secs - i) % SECS_PER_DAY + SECS_PER_DAY) %
		    SECS_PER_DAY);
		uint8_t h = vrtc_hour_byte(v, tod / 3600);

		if (vrtc_alarm_field(v, REG_ASEC, vrtc_enc(v, tod % 60)) &&
		    vrtc_alarm_field(v, REG_AMIN, vrtc_enc(v, tod / 60 % 60)) &&
		    vrtc_alarm_field(v, REG_AHOUR, h))
			return true;
	}
	return false;
}

/* Set register C's flags for the edges in (flags_ns, now]. */
static void
vrtc_catch_up(struct vrtc *v, int64_t now)
{
	int64_t from = v->flags_ns, n;
	int shift = vrtc_rate_shift(v);

	if (now <= from)
		return;
	v->flags_ns = now;
	if (shift &&
	    vrtc_pf_count(v, shift, now) > vrtc_pf_count(v, shift, from))
		v->reg[REG_C] |= C_PF;
	if (!vrtc_updating(v))
		return;
	n = vrtc_second(v, now) - vrtc_second(v, from);
	if (n <= 0)
		return;
	v->reg[REG_C] |= C_UF;
	if (vrtc_alarm_hit(v, vrtc_secs(v, now), n))
		v->reg[REG_C] |= C_AF;
}

/* IRQF = PF.PIE + AF.AIE + UF.UIE; the IRQ pin follows it. */
static void
vrtc_update_irq(struct vrtc *v)
{
	uint8_t flags = v->reg[REG_C] & C_FLAGS;
	bool irqf = (flags & v->reg[REG_B]) != 0;

	v->reg[REG_C] = flags | (irqf ? C_IRQF : 0);
	if (irqf == v->irq)
		return;
	v->irq = irqf;
	vmm_irq(&v->sink, VRTC_IRQ, irqf ? VMM_IRQ_ASSERT : VMM_IRQ_DEASSERT);
}

/* The callout wakes for the next edge that would raise IRQF. */
static void
vrtc_arm(struct vrtc *v, int64_t now)
{
	int64_t next = INT64_MAX;
	int shift = vrtc_rate_shift(v);

	if ((v->reg[REG_B] & B_PIE) && shift)
		next = vrtc_pf_time(v, shift, vrtc_pf_count(v, shift, now) + 1);
	if ((v->reg[REG_B] & (B_AIE | B_UIE)) && vrtc_updating(v)) {
		int64_t up = v->phase_ns +
		    (vrtc_second(v, now) + 1) * (int64_t)NS_PER_SEC;

		next = up < next ? up : next;
	}
	if (v->irq || next == INT64_MAX)
		vmm_callout_stop(&v->callout);
	else
		vmm_callout_reset(&v->callout, next > 0 ? (uint64_t)next : 0);
}

static void
vrtc_callout(void *arg)
{
	struct vrtc *v = arg;
	int64_t now;

	pthread_mutex_lock(&v->lock);
	if (vmm_callout_pending(&v->callout) ||
	    !vmm_callout_active(&v->callout))
		goto out; /* re-armed or stopped meanwhile */
	vmm_callout_deactivate(&v->callout);
	now = (int64_t)vmm_now(v->tb);
	vrtc_catch_up(v, now);
	vrtc_update_irq(v);
	vrtc_arm(v, now);
out:
	pthread_mutex_unlock(&v->lock);
}

/* ---- registers ---- */

static void
vrtc_write_a(struct vrtc *v, uint8_t val, int64_t now)
{
	bool was_on = vrtc_divider_on(v);

	v->reg[REG_A] = val & ~A_UIP;
	if (was_on || !vrtc_divider_on(v))
		return;
	/* Out of reset: the chain restarts half a second before an update. */
	v->phase_ns = now - RELEASE_NS;
	if (!(v->reg[REG_B] & B_SET))
		vrtc_start(v, now);
}

/*
 * SET stops updates (and clears UIE); clearing it runs the clock from
 * whatever the guest wrote, in the format B now selects.
 */
static void
vrtc_write_b(struct vrtc *v, uint8_t val, int64_t now)
{
	uint8_t old = v->reg[REG_B];

	if ((val & B_SET) && !(old & B_SET))
		val &= (uint8_t)~B_UIE;
	v->reg[REG_B] = val;
	if ((old & B_SET) && !(val & B_SET) && vrtc_divider_on(v))
		vrtc_start(v, now);
}

static bool
vrtc_is_time_reg(int idx)
{
	for (size_t i = 0; i < sizeof(vrtc_time_regs); i++)
		if (vrtc_time_regs[i] == idx)
			return true;
	return false;
}

static void
vrtc_write(struct vrtc *v, int idx, uint8_t val, int64_t now)
{
	switch (idx) {
	case REG_A:
		vrtc_write_a(v, val, now);
		break;
	case REG_B:
		vrtc_write_b(v, val, now);
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		v->reg[idx] = val;
		/* A date written while the clock runs takes effect now. */
		if (vrtc_is_time_reg(idx) && vrtc_divider_on(v) &&
		    !(v->reg[REG_B] & B_SET))
			vrtc_start(v, now);
		break;
	}
}

static uint8_t
vrtc_read(struct vrtc *v, int idx, int64_t now, bool clear)
{
	uint8_t val;

	switch (idx) {
	case REG_A:
		return v->reg[REG_A] | (vrtc_uip(v, now) ? A_UIP : 0);
	case REG_C:
		val = v->reg[REG_C];
		if (clear)
			v->reg[REG_C] = 0;
		return val;
	case REG_D:
		return D_VRT; /* the battery is always good */
	default:
		return v->reg[idx];
	}
}

/* Bring flags and date registers up to 'now'; returns now. */
static int64_t
vrtc_enter(struct vrtc *v)
{
	int64_t now = (int64_t)vmm_now(v->tb);

	vrtc_catch_up(v, now);
	vrtc_sync(v, now);
	return now;
}

static void
vrtc_leave(struct vrtc *v, int64_t now)
{
	vrtc_update_irq(v);
	vrtc_arm(v, now);
}

int
vrtc_handler(void *chip, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct vrtc *v = chip;
	int64_t now;

	if (bytes != 1)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (!(port & 1)) {
		if (in)
			*val = 0xff; /* the index register is write-only */
		else
			v->index = (uint8_t)*val & 0x7f;
	} else {
		now = vrtc_enter(v);
		if (in)
			*val = vrtc_read(v, v->index, now, true);
		else
			vrtc_write(v, v->index, (uint8_t)*val, now);
		vrtc_leave(v, now);
	}
	pthread_mutex_unlock(&v->lock);
	return 0;
}

/* ---- host interface ---- */

static void
vrtc_nvram_checksum(struct vrtc *v)
{
	unsigned sum = 0;

	for (int i = NV_CSUM_FIRST; i <= NV_CSUM_LAST; i++)
		sum += v->reg[i];
	v->reg[NV_CSUM] = (uint8_t)(sum >> 8);
	v->reg[NV_CSUM + 1] = (uint8_t)sum;
}

int
vrtc_nvram_read(struct vrtc *v, int offset, uint8_t *val)
{
	int64_t now;

	if (offset < 0 || offset >= (int)sizeof(v->reg))
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	now = vrtc_enter(v);
	*val = vrtc_read(v, offset, now, false);
	vrtc_leave(v, now);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int
vrtc_nvram_write(struct vrtc *v, int offset, uint8_t val)
{
	if (offset < REG_NVRAM || offset >= (int)sizeof(v->reg) ||
	    offset == REG_CENTURY)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	v->reg[offset] = val;
	if (offset >= NV_CSUM_FIRST && offset <= NV_CSUM_LAST)
		vrtc_nvram_checksum(v);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

time_t
vrtc_get_time(struct vrtc *v)
{
	int64_t now, secs = -1;

	pthread_mutex_lock(&v->lock);
	now = (int64_t)vmm_now(v->tb);
	if (vrtc_updating(v))
		secs = vrtc_secs(v, now);
	else if (!vrtc_parse(v, &secs))
		secs = -1;
	pthread_mutex_unlock(&v->lock);
	return (time_t)secs;
}

int
vrtc_set_time(struct vrtc *v, time_t secs)
{
	int64_t now;
	int err = 0;

	if (secs < 0 || (int64_t)secs > vrtc_max_secs())
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	now = vrtc_enter(v);
	if (v->reg[REG_B] & B_SET) {
		err = -EBUSY;
	} else {
		vrtc_render(v, secs);
		vrtc_start(v, now);
	}
	vrtc_leave(v, now);
	pthread_mutex_unlock(&v->lock);
	return err;
}

static void
vrtc_put(struct vrtc *v, int offset, uint64_t val, int bytes)
{
	for (int i = 0; i < bytes; i++)
		v->reg[offset + i] = (uint8_t)(val >> (8 * i));
}

static uint64_t
vrtc_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The memory sizes the PC BIOS (and OVMF, from 0x34 and 0x5b) reads. */
static void
vrtc_nvram_memory(struct vrtc *v, uint64_t lowmem, uint64_t highmem)
{
	uint64_t ext = 0, mid = 0;

	if (lowmem > MiB)
		ext = vrtc_min(lowmem - MiB, 63 * MiB) / KiB;
	if (lowmem > 16 * MiB)
		mid = vrtc_min((lowmem - 16 * MiB) / (64 * KiB), 0xffff);
	vrtc_put(v, NV_BASEMEM, 640, 2);
	vrtc_put(v, NV_EXTMEM, ext, 2);
	vrtc_put(v, NV_EXTMEM2, ext, 2);
	vrtc_put(v, NV_MEM16M, mid, 2);
	vrtc_put(v, NV_MEM4G, vrtc_min(highmem / (64 * KiB), 0xffffff), 3);
	vrtc_nvram_checksum(v);
}

static int64_t
vrtc_host_time(time_t now, bool localtime)
{
	struct tm tm;
	int64_t t = now;

	if (localtime && localtime_r(&now, &tm) != NULL)
		t += tm.tm_gmtoff;
	if (t < 0)
		return 0;
	return t > vrtc_max_secs() ? vrtc_max_secs() : t;
}

struct vrtc *
vrtc_create(struct vmm_timebase *tb, const struct vmm_irq_sink *sink,
    time_t now, bool localtime, uint64_t lowmem, uint64_t highmem)
{
	struct vrtc *v;

	if (tb == NULL)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return NULL;
	}
	v->tb = tb;
	if (sink != NULL)
		v->sink = *sink;
	v->reg[REG_A] = A_DV_32K | 0x06; /* what PC firmware leaves: 1024 Hz */
	v->reg[REG_B] = B_24H;
	v->reg[REG_D] = D_VRT;
	v->index = REG_D;
	v->phase_ns = v->flags_ns = (int64_t)vmm_now(tb);
	vrtc_render(v, vrtc_host_time(now, localtime));
	vrtc_start(v, v->phase_ns);
	vrtc_nvram_memory(v, lowmem, highmem);
	vmm_callout_init(&v->callout, tb, vrtc_callout, v);
	return v;
}

void
vrtc_destroy(struct vrtc *v)
{
	if (v == NULL)
		return;
	vmm_callout_drain(&v->callout);
	pthread_mutex_destroy(&v->lock);
	free(v);
}
