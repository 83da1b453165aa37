/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 8254 interval timer.  Behaviour follows the Intel 82C54 data sheet
 * (order no. 231244); section names below refer to it.
 *
 * Nothing ticks.  The PIT's clocks are counted from the timebase: 'g', the
 * global tick, is the number of 1.193182 MHz clocks since creation.  A
 * channel's counting element (CE) is described by 't', the clocks it has
 * counted since it was loaded with 'n': g - start while counting, 'held'
 * while stopped by its gate.  The CE value and OUT are functions of the
 * mode, n and t, so reads cost a division, not a callout.  Channel 0's
 * rising OUT edges are IRQ 0 pulses, delivered by one callout armed for
 * the next edge.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vatpit.h"

#define CTRL_PORT 3
#define CW_SC(v) ((v) >> 6)
#define CW_RW(v) (((v) >> 4) & 3)
#define CW_M(v) (((v) >> 1) & 7)
#define CW_BCD 0x01
#define SC_READBACK 3
#define RB_NO_COUNT 0x20 /* read-back select bits are active low */
#define RB_NO_STATUS 0x10
#define ST_OUT 0x80
#define ST_NULL 0x40

#define P61_GATE2 0x01
#define P61_WRITABLE 0x0f
#define P61_REFRESH 0x10
#define P61_OUT2 0x20
/* The PC/AT BIOS runs channel 1 with count 18: a refresh every 15 us. */
#define REFRESH_TICKS 18

enum { RW_LSB = 1, RW_MSB = 2, RW_WORD = 3 };

struct pit_chan {
	uint8_t mode;	     /* 0-5 */
	uint8_t mode_bits;   /* M2-M0 as written (6, 7 alias 2, 3) */
	uint8_t rw;	     /* RW_* */
	bool bcd;
	bool gate;
	bool cr_full;	     /* a count was written since the control word */
	bool null_count;     /* the count register is not loaded yet */
	bool reload_pending; /* modes 2, 3: CR loads at t == reload_t */
	bool loaded;	     /* the CE counts down from n */
	bool running;	     /* the CE counts (gate) */
	uint32_t cr;	     /* count register, 1-65536 (BCD: 1-10000) */
	uint32_t n;
	uint64_t start;	     /* g at t == 0, while running */
	uint64_t held;	     /* t, while stopped */
	uint64_t reload_t;
	uint16_t frozen;     /* what a read shows before the CE is loaded */
	uint8_t wr_lsb;
	bool wr_msb;	     /* write flip-flop: the MSB comes next */
	bool rd_msb;	     /* read flip-flop */
	bool ol_full;	     /* output latch holds a count */
	uint16_t ol;
	bool st_full;	     /* status latched */
	uint8_t status;
};

struct vatpit {
	pthread_mutex_t lock;
	struct vmm_timebase *tb;
	struct vmm_irq_sink sink;
	uint64_t epoch_ns;
	struct pit_chan ch[3];
	uint8_t port61;		    /* writable bits of port 0x61 */
	struct vmm_callout callout; /* channel 0's next OUT edge */
	uint64_t irq_tick;	    /* g of that edge */
	uint64_t last_pulse_ns;
	bool pulsed;
};

static uint64_t
vatpit_ticks(const struct vatpit *pit, uint64_t now)
{
	unsigned __int128 d;

	if (now <= pit->epoch_ns)
		return 0;
	d = (unsigned __int128)(now - pit->epoch_ns) * VATPIT_HZ;
	return (uint64_t)(d / NS_PER_SEC);
}

/* The first instant at which vatpit_ticks() reaches 'tick'. */
static uint64_t
vatpit_tick_ns(const struct vatpit *pit, uint64_t tick)
{
	unsigned __int128 ns = (unsigned __int128)tick * NS_PER_SEC;

	ns = (ns + VATPIT_HZ - 1) / VATPIT_HZ + pit->epoch_ns;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static uint32_t
vatpit_ch_modulus(const struct pit_chan *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint64_t
vatpit_ch_t(const struct pit_chan *c, uint64_t g)
{
	if (!c->running)
		return c->held;
	return g > c->start ? g - c->start : 0;
}

static void
vatpit_ch_load(struct pit_chan *c, uint64_t g, bool counting)
{
	c->n = c->cr;
	c->loaded = true;
	c->null_count = false;
	c->reload_pending = false;
	c->running = counting;
	c->start = g;
	c->held = 0;
}

static void
vatpit_ch_stop(struct pit_chan *c, uint64_t g)
{
	if (!c->running)
		return;
	c->held = vatpit_ch_t(c, g);
	c->running = false;
}

static void
vatpit_ch_resume(struct pit_chan *c, uint64_t g)
{
	if (c->running)
		return;
	c->start = g > c->held ? g - c->held : 0;
	c->running = true;
}

/* Modes 2 and 3 take a new count at the end of the period (Mode 2). */
static void
vatpit_ch_catch_up(struct pit_chan *c, uint64_t g)
{
	if (!c->reload_pending || !c->running ||
	    vatpit_ch_t(c, g) < c->reload_t)
		return;
	c->start += c->reload_t;
	c->n = c->cr;
	c->null_count = false;
	c->reload_pending = false;
}

/*
 * The CE after t clocks.  Mode 3 counts by two: an even n is reloaded
 * each half period, an odd one as n - 1, and OUT is high for (n + 1) / 2
 * clocks ("Mode 3: Square Wave Mode").
 */
static uint32_t
vatpit_ch_ce(const struct pit_chan *c, uint64_t t)
{
	uint32_t n = c->n, m = vatpit_ch_modulus(c), high = (n + 1) / 2;
	uint32_t p;

	switch (c->mode) {
	case 2:
		return n - (uint32_t)(t % n);
	case 3:
		p = (uint32_t)(t % n);
		if (p >= high)
			p -= high;
		return (n & ~1u) - 2 * p;
	default: /* 0, 1, 4, 5: down through zero and around */
		return (uint32_t)((n + m - t % m) % m);
	}
}

static bool
vatpit_ch_out(const struct pit_chan *c, uint64_t g)
{
	uint64_t t;

	if (!c->loaded)
		return c->mode != 0; /* a mode 0 control word: "OUT low" */
	t = vatpit_ch_t(c, g);
	switch (c->mode) {
	case 0:
	case 1:
		return t >= c->n;
	case 2: /* low for the clock at count 1; high while gated off */
		return !c->running || t % c->n != c->n - 1;
	case 3:
		return !c->running || t % c->n < (c->n + 1) / 2;
	default: /* 4, 5: a one-clock strobe at terminal count */
		return t != c->n;
	}
}

/* t of the first rising OUT edge after t, or 0 for none. */
static uint64_t
vatpit_ch_next_edge(const struct pit_chan *c, uint64_t t)
{
	if (!c->loaded || !c->running)
		return 0;
	switch (c->mode) {
	case 0:
	case 1:
		return t < c->n ? c->n : 0;
	case 2:
	case 3:
		return (t / c->n + 1) * c->n;
	default:
		return t < (uint64_t)c->n + 1 ? c->n + 1 : 0;
	}
}

static uint16_t
vatpit_to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 |
	    (v / 10 % 10) << 4 | v % 10);
}

/* The count a read shows now, in the channel's encoding. */
static uint16_t
vatpit_ch_value(const struct pit_chan *c, uint64_t g)
{
	uint32_t v;

	if (!c->loaded)
		return c->frozen;
	v = vatpit_ch_ce(c, vatpit_ch_t(c, g));
	if (v >= vatpit_ch_modulus(c))
		v = 0; /* a full count reads as 0 */
	return c->bcd ? vatpit_to_bcd(v) : (uint16_t)v;
}

/* A written count; 0 is the largest ("Counter Loading"). */
static uint32_t
vatpit_ch_count(const struct pit_chan *c, uint16_t raw)
{
	uint32_t v = raw;

	if (c->bcd)
		v = ((raw >> 12) * 1000u + ((raw >> 8) & 15) * 100u +
		    ((raw >> 4) & 15) * 10u + (raw & 15)) % 10000;
	return v != 0 ? v : vatpit_ch_modulus(c);
}

static void
vatpit_ch_set_gate(struct pit_chan *c, bool high, uint64_t g)
{
	if (high == c->gate)
		return;
	c->gate = high;
	switch (c->mode) {
	case 0:
	case 4: /* the gate suspends counting */
		if (!c->loaded)
			break;
		if (high)
			vatpit_ch_resume(c, g);
		else
			vatpit_ch_stop(c, g);
		break;
	case 2:
	case 3: /* low stops and forces OUT high; a rising edge reloads */
		if (!high)
			vatpit_ch_stop(c, g);
		else if (c->cr_full)
			vatpit_ch_load(c, g, true);
		break;
	default: /* 1, 5: a rising edge (re)triggers */
		if (high && c->cr_full)
			vatpit_ch_load(c, g, true);
		break;
	}
}

static void
vatpit_ch_new_count(struct pit_chan *c, uint32_t n, uint64_t g)
{
	c->cr = n;
	c->cr_full = true;
	c->null_count = true;
	switch (c->mode) {
	case 1:
	case 5: /* loaded by the next trigger */
		break;
	case 2:
	case 3:
		if (c->loaded && c->running) {
			c->reload_t = (vatpit_ch_t(c, g) / c->n + 1) * c->n;
			c->reload_pending = true;
			break;
		}
		vatpit_ch_load(c, g, c->gate);
		break;
	default:
		vatpit_ch_load(c, g, c->gate);
		break;
	}
}

static void
vatpit_ch_write(struct pit_chan *c, uint8_t val, uint64_t g)
{
	uint16_t raw;

	switch (c->rw) {
	case RW_LSB:
		raw = val;
		break;
	case RW_MSB:
		raw = (uint16_t)(val << 8);
		break;
	default:
		if (!c->wr_msb) {
			c->wr_lsb = val;
			c->wr_msb = true;
			/* Mode 0: the first byte stops the count, OUT low. */
			if (c->mode == 0 && c->loaded) {
				c->frozen = vatpit_ch_value(c, g);
				c->loaded = c->running = false;
			}
			return;
		}
		c->wr_msb = false;
		raw = (uint16_t)(c->wr_lsb | val << 8);
		break;
	}
	vatpit_ch_new_count(c, vatpit_ch_count(c, raw), g);
}

static uint8_t
vatpit_ch_read(struct pit_chan *c, uint64_t g)
{
	uint16_t v;
	bool msb;

	if (c->st_full) {
		c->st_full = false;
		return c->status;
	}
	v = c->ol_full ? c->ol : vatpit_ch_value(c, g);
	msb = c->rw == RW_MSB || (c->rw == RW_WORD && c->rd_msb);
	if (c->rw == RW_WORD)
		c->rd_msb = !c->rd_msb;
	if (c->rw != RW_WORD || msb)
		c->ol_full = false; /* the latch is read out */
	return (uint8_t)(msb ? v >> 8 : v);
}

/* A second latch before the first is read is ignored ("Counter Latch"). */
static void
vatpit_ch_latch(struct pit_chan *c, uint64_t g)
{
	if (c->ol_full)
		return;
	c->ol = vatpit_ch_value(c, g);
	c->ol_full = true;
}

static void
vatpit_ch_latch_status(struct pit_chan *c, uint64_t g)
{
	if (c->st_full)
		return;
	c->status = (uint8_t)((vatpit_ch_out(c, g) ? ST_OUT : 0) |
	    (c->null_count ? ST_NULL : 0) | c->rw << 4 | c->mode_bits << 1 |
	    (c->bcd ? CW_BCD : 0));
	c->st_full = true;
}

/* "Read-Back Command": bits 3-1 select counters 2-0. */
static void
vatpit_readback(struct vatpit *pit, uint8_t cmd, uint64_t g)
{
	for (int i = 0; i < 3; i++) {
		if (!(cmd & (2 << i)))
			continue;
		if (!(cmd & RB_NO_COUNT))
			vatpit_ch_latch(&pit->ch[i], g);
		if (!(cmd & RB_NO_STATUS))
			vatpit_ch_latch_status(&pit->ch[i], g);
	}
}

/* A control word resets the channel ("Write Operations"). */
static void
vatpit_control(struct vatpit *pit, uint8_t val, uint64_t g)
{
	struct pit_chan *c;

	if (CW_SC(val) == SC_READBACK) {
		vatpit_readback(pit, val, g);
		return;
	}
	c = &pit->ch[CW_SC(val)];
	if (CW_RW(val) == 0) {
		vatpit_ch_latch(c, g);
		return;
	}
	c->frozen = vatpit_ch_value(c, g);
	c->rw = (uint8_t)CW_RW(val);
	c->mode_bits = (uint8_t)CW_M(val);
	c->mode = (c->mode_bits & 2) ? (c->mode_bits & 3) : c->mode_bits;
	c->bcd = (val & CW_BCD) != 0;
	c->loaded = c->running = c->cr_full = c->reload_pending = false;
	c->null_count = true;
	c->wr_msb = c->rd_msb = false;
	c->ol_full = c->st_full = false;
	c->held = 0;
}

/* Apply pending reloads up to now; returns the global tick. */
static uint64_t
vatpit_sync(struct vatpit *pit, uint64_t now)
{
	uint64_t g = vatpit_ticks(pit, now);

	for (int i = 0; i < 3; i++)
		vatpit_ch_catch_up(&pit->ch[i], g);
	return g;
}

/*
 * Arm the callout for channel 0's next rising edge, no sooner than
 * VATPIT_MIN_PERIOD_NS after the last pulse.  Edges that pass meanwhile
 * coalesce, as bhyve never catches up on periods it missed.
 */
static void
vatpit_arm(struct vatpit *pit, uint64_t now)
{
	struct pit_chan *c = &pit->ch[0];
	uint64_t g = vatpit_ticks(pit, now), edge, deadline;

	edge = vatpit_ch_next_edge(c, vatpit_ch_t(c, g));
	if (edge == 0) {
		vmm_callout_stop(&pit->callout);
		return;
	}
	pit->irq_tick = c->start + edge;
	deadline = vatpit_tick_ns(pit, pit->irq_tick);
	if (pit->pulsed &&
	    deadline < pit->last_pulse_ns + VATPIT_MIN_PERIOD_NS)
		deadline = pit->last_pulse_ns + VATPIT_MIN_PERIOD_NS;
	vmm_callout_reset(&pit->callout, deadline);
}

static void
vatpit_callout(void *arg)
{
	struct vatpit *pit = arg;
	uint64_t now;

	pthread_mutex_lock(&pit->lock);
	if (vmm_callout_pending(&pit->callout) ||
	    !vmm_callout_active(&pit->callout))
		goto out; /* re-armed or stopped meanwhile */
	vmm_callout_deactivate(&pit->callout);
	now = vmm_now(pit->tb);
	if (vatpit_sync(pit, now) >= pit->irq_tick) {
		vmm_irq(&pit->sink, 0, VMM_IRQ_PULSE);
		pit->last_pulse_ns = now;
		pit->pulsed = true;
	}
	vatpit_arm(pit, now);
out:
	pthread_mutex_unlock(&pit->lock);
}

int
vatpit_handler(void *chip, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct vatpit *pit = chip;
	int idx = port & 3;
	uint64_t now, g;

	if (bytes != 1)
		return -EINVAL;
	pthread_mutex_lock(&pit->lock);
	now = vmm_now(pit->tb);
	g = vatpit_sync(pit, now);
	if (idx == CTRL_PORT && in)
		*val = 0xff; /* the control word register cannot be read */
	else if (idx == CTRL_PORT)
		vatpit_control(pit, (uint8_t)*val, g);
	else if (in)
		*val = vatpit_ch_read(&pit->ch[idx], g);
	else
		vatpit_ch_write(&pit->ch[idx], (uint8_t)*val, g);
	if (!in)
		vatpit_arm(pit, now);
	pthread_mutex_unlock(&pit->lock);
	return 0;
}

int
vatpit_nmisc_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val)
{
	struct vatpit *pit = chip;
	uint64_t g;

	if (bytes != 1)
		return -EINVAL;
	pthread_mutex_lock(&pit->lock);
	g = vatpit_sync(pit, vmm_now(pit->tb));
	if (in) {
		*val = pit->port61;
		if ((g / REFRESH_TICKS) & 1)
			*val |= P61_REFRESH;
		if (vatpit_ch_out(&pit->ch[2], g))
			*val |= P61_OUT2;
	} else {
		pit->port61 = (uint8_t)*val & P61_WRITABLE;
		vatpit_ch_set_gate(&pit->ch[2], (*val & P61_GATE2) != 0, g);
	}
	pthread_mutex_unlock(&pit->lock);
	return 0;
}

struct vatpit *
vatpit_create(struct vmm_timebase *tb, const struct vmm_irq_sink *sink)
{
	struct vatpit *pit;

	if (tb == NULL)
		return NULL;
	pit = calloc(1, sizeof(*pit));
	if (pit == NULL)
		return NULL;
	if (pthread_mutex_init(&pit->lock, NULL) != 0) {
		free(pit);
		return NULL;
	}
	pit->tb = tb;
	if (sink != NULL)
		pit->sink = *sink;
	pit->epoch_ns = vmm_now(tb);
	for (int i = 0; i < 3; i++) {
		pit->ch[i].rw = RW_WORD;
		pit->ch[i].null_count = true;
		pit->ch[i].gate = i != 2; /* gates 0, 1 are tied high */
	}
	vmm_callout_init(&pit->callout, tb, vatpit_callout, pit);
	return pit;
}

void
vatpit_destroy(struct vatpit *pit)
{
	if (pit == NULL)
		return;
	vmm_callout_drain(&pit->callout);
	pthread_mutex_destroy(&pit->lock);
	free(pit);
}
