/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HPET timer block.  Behaviour follows the IA-PC HPET (High Precision
 * Event Timers) Specification, revision 1.0a; comments name the register
 * whose description they rely on.
 *
 * Nothing ticks.  While enabled, the main counter is 'count_base' plus the
 * 60 ns ticks since 'base_ns'; halted, it is 'count_base'.  A timer armed
 * for its next match knows it as 'match', ticks since 'base_ns', so every
 * change of the base (a counter write, enabling) re-arms all timers.
 *
 * A match is the counter stepping onto the comparator value (in 32-bit
 * mode, its low half doing so).  Arming looks for the next such step after
 * the current tick: writing a comparator equal to the counter waits for
 * the counter to come round again, and re-arming after any register write
 * can never fire the same match twice.
 *
 * Every register access first runs matches that are due but whose callout
 * has not run yet (a late timer thread), so that status bits and the
 * comparator read as the hardware's would.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vhpet.h"

#define VENDOR_INTEL 0x8086ULL
#define REV_ID 1ULL
#define GCNF_BITS (VHPET_CNF_ENABLE | VHPET_CNF_LEG_RT)
#define TCNF_BITS (VHPET_TCNF_INT_TYPE | VHPET_TCNF_INT_ENB | \
	VHPET_TCNF_TYPE | VHPET_TCNF_VAL_SET | VHPET_TCNF_32MODE | \
	VHPET_TCNF_INT_ROUTE | VHPET_TCNF_FSB_EN)
/* Every timer is 64-bit, periodic-capable and FSB-capable. */
#define TCAP_BITS (VHPET_TCAP_PER_INT | VHPET_TCAP_SIZE | \
	VHPET_TCAP_FSB_INT_DEL)
#define TIMER_BLOCK 0x100
#define TIMER_STRIDE 0x20
#define LOW32 0xffffffffULL
/* Periods shorter than this many ticks are subject to the rate bound. */
#define MIN_PERIOD_TICKS (VHPET_MIN_PERIOD_NS / VHPET_TICK_NS)

/* Where a timer's interrupt goes now. */
enum vhpet_route {
	ROUTE_NONE,
	ROUTE_PIN,	/* an I/O APIC pin */
	ROUTE_ISA,	/* legacy replacement: ISA IRQ 0 or 8 */
	ROUTE_FSB,
};

struct vhpet_timer {
	struct vhpet *vhpet;
	int num;
	uint64_t config;	/* the writable bits (TCNF_BITS) */
	uint64_t cmp;
	uint64_t period;	/* the value last written to the comparator */
	uint64_t fsb;		/* FSB_INT_VAL 31:0, FSB_INT_ADDR 63:32 */
	bool armed;
	uint64_t match;		/* ticks since base_ns */
	uint64_t deadline_ns;
	bool fired;
	uint64_t last_fire_ns;
	enum vhpet_route line;	/* the level line held asserted, if any */
	int line_irq;
	struct vmm_callout callout;
};

struct vhpet {
	pthread_mutex_t lock;
	struct vmm_timebase *tb;
	struct vhpet_ops ops;
	uint64_t config;
	uint64_t isr;
	uint64_t count_base;
	uint64_t base_ns;
	struct vhpet_stats stats;
	struct vhpet_timer timer[VHPET_NUM_TIMERS];
};

uint64_t
vhpet_capabilities(void)
{
	return VHPET_PERIOD_FS << 32 | VENDOR_INTEL << 16 | VHPET_CAP_LEG_RT |
	    VHPET_CAP_COUNT_SIZE | (uint64_t)(VHPET_NUM_TIMERS - 1) << 8 |
	    REV_ID;
}

static bool
vhpet_enabled(const struct vhpet *v)
{
	return (v->config & VHPET_CNF_ENABLE) != 0;
}

static uint64_t
vhpet_elapsed(const struct vhpet *v, uint64_t now)
{
	return now > v->base_ns ? (now - v->base_ns) / VHPET_TICK_NS : 0;
}

static uint64_t
vhpet_counter(const struct vhpet *v, uint64_t now)
{
	if (!vhpet_enabled(v))
		return v->count_base;
	return v->count_base + vhpet_elapsed(v, now);
}

/* The instant the counter has run 'ticks' past the base; false: never. */
static bool
vhpet_tick_ns(const struct vhpet *v, uint64_t ticks, uint64_t *ns)
{
	if (ticks > (UINT64_MAX - v->base_ns) / VHPET_TICK_NS)
		return false;
	*ns = v->base_ns + ticks * VHPET_TICK_NS;
	return true;
}

static uint64_t
vhpet_timer_mask(const struct vhpet_timer *t)
{
	return (t->config & VHPET_TCNF_32MODE) ? LOW32 : UINT64_MAX;
}

static bool
vhpet_timer_periodic(const struct vhpet_timer *t)
{
	return (t->config & VHPET_TCNF_TYPE) != 0;
}

/*
 * Ticks from one match to the next: the period, or a full turn of the
 * comparator's width for a one-shot timer (or a period of 0).  0 stands
 * for 2^64: never again.
 */
static uint64_t
vhpet_timer_spacing(const struct vhpet_timer *t)
{
	uint64_t m = vhpet_timer_mask(t);

	if (vhpet_timer_periodic(t) && (t->period & m) != 0)
		return t->period & m;
	return m == LOW32 ? LOW32 + 1 : 0;
}

static enum vhpet_route
vhpet_timer_route(const struct vhpet *v, const struct vhpet_timer *t,
    int *irq)
{
	int pin;

	/*
	 * General Configuration, LEG_RT_CNF: timers 0 and 1 then ignore
	 * their own routing, FSB included.
	 */
	if ((v->config & VHPET_CNF_LEG_RT) && t->num < 2) {
		*irq = t->num == 0 ? 0 : 8;
		return ROUTE_ISA;
	}
	if (t->config & VHPET_TCNF_FSB_EN)
		return ROUTE_FSB;
	pin = (int)((t->config & VHPET_TCNF_INT_ROUTE) >>
	    VHPET_TCNF_INT_ROUTE_SHIFT);
	if (!(v->ops.route_cap & (1u << pin)))
		return ROUTE_NONE;
	*irq = pin;
	return ROUTE_PIN;
}

static const struct vmm_irq_sink *
vhpet_sink(const struct vhpet *v, enum vhpet_route r)
{
	return r == ROUTE_ISA ? &v->ops.isa : &v->ops.pin;
}

/*
 * A level-triggered timer holds its line while its status bit is set, its
 * interrupt is enabled and the counter runs (ENABLE_CNF off "disables all
 * timer interrupts", General Configuration).  Bring the line in step.
 */
static void
vhpet_timer_update_line(struct vhpet *v, struct vhpet_timer *t)
{
	int irq = -1;
	enum vhpet_route r = vhpet_timer_route(v, t, &irq);
	bool want = (r == ROUTE_PIN || r == ROUTE_ISA) &&
	    (t->config & VHPET_TCNF_INT_TYPE) &&
	    (t->config & VHPET_TCNF_INT_ENB) && vhpet_enabled(v) &&
	    (v->isr & (1ULL << t->num));

	if (t->line != ROUTE_NONE && (!want || r != t->line ||
	    irq != t->line_irq)) {
		vmm_irq(vhpet_sink(v, t->line), t->line_irq, VMM_IRQ_DEASSERT);
		t->line = ROUTE_NONE;
	}
	if (want && t->line == ROUTE_NONE) {
		vmm_irq(vhpet_sink(v, r), irq, VMM_IRQ_ASSERT);
		t->line = r;
		t->line_irq = irq;
		v->stats.interrupts++;
	}
}

static void
vhpet_timer_interrupt(struct vhpet *v, struct vhpet_timer *t)
{
	int irq = -1;
	enum vhpet_route r = vhpet_timer_route(v, t, &irq);

	/* FSB messages are edges; the status bit is for level timers. */
	if ((t->config & VHPET_TCNF_INT_TYPE) && r != ROUTE_FSB) {
		v->isr |= 1ULL << t->num;
		vhpet_timer_update_line(v, t);
		return;
	}
	if (!(t->config & VHPET_TCNF_INT_ENB) || r == ROUTE_NONE)
		return;
	if (r == ROUTE_FSB) {
		if (v->ops.msi != NULL)
			v->ops.msi(v->ops.msi_arg, t->fsb >> 32,
			    t->fsb & LOW32);
	} else {
		vmm_irq(vhpet_sink(v, r), irq, VMM_IRQ_PULSE);
	}
	v->stats.interrupts++;
}

static void
vhpet_timer_disarm(struct vhpet_timer *t)
{
	if (!t->armed)
		return;
	t->armed = false;
	vmm_callout_stop(&t->callout);
}

/* Arm for the next match after the current tick (see the file comment). */
static void
vhpet_timer_arm(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	uint64_t e = vhpet_elapsed(v, now), s = vhpet_timer_spacing(t);
	uint64_t d, deadline;

	if (!vhpet_enabled(v)) {
		vhpet_timer_disarm(t);
		return;
	}
	/* 1 .. 2^width ticks; 0 when 2^64, which the counter never runs. */
	d = ((t->cmp - (v->count_base + e) - 1) & vhpet_timer_mask(t)) + 1;
	if (d == 0 || d > UINT64_MAX - e ||
	    !vhpet_tick_ns(v, e + d, &deadline)) {
		vhpet_timer_disarm(t);
		return;
	}
	/* The rate bound: see VHPET_MIN_PERIOD_NS. */
	if (vhpet_timer_periodic(t) && s != 0 && s < MIN_PERIOD_TICKS &&
	    t->fired && deadline < t->last_fire_ns + VHPET_MIN_PERIOD_NS)
		deadline = t->last_fire_ns + VHPET_MIN_PERIOD_NS;
	t->match = e + d;
	t->deadline_ns = deadline;
	t->armed = true;
	vmm_callout_reset(&t->callout, deadline);
}

/*
 * The armed match (and, past a late callout or the rate bound, every one
 * after it up to now) happened: advance a periodic comparator by one
 * period per match, interrupt once, arm for the next.
 */
static void
vhpet_timer_fire(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	uint64_t e = vhpet_elapsed(v, now), s = vhpet_timer_spacing(t);
	uint64_t k = 1;

	if (s != 0 && e > t->match)
		k = (e - t->match) / s + 1;
	if (vhpet_timer_periodic(t))
		t->cmp = (t->cmp + k * (t->period & vhpet_timer_mask(t))) &
		    vhpet_timer_mask(t);
	v->stats.fires++;
	v->stats.coalesced += k - 1;
	t->armed = false;
	t->fired = true;
	t->last_fire_ns = now;
	vhpet_timer_interrupt(v, t);
	vhpet_timer_arm(v, t, now);
}

static void
vhpet_sync(struct vhpet *v, uint64_t now)
{
	for (int i = 0; i < VHPET_NUM_TIMERS; i++) {
		struct vhpet_timer *t = &v->timer[i];

		if (t->armed && now >= t->deadline_ns)
			vhpet_timer_fire(v, t, now);
	}
}

static void
vhpet_callout(void *arg)
{
	struct vhpet_timer *t = arg;
	struct vhpet *v = t->vhpet;

	pthread_mutex_lock(&v->lock);
	if (vmm_callout_pending(&t->callout) ||
	    !vmm_callout_active(&t->callout)) {
		pthread_mutex_unlock(&v->lock); /* re-armed or stopped */
		return;
	}
	vmm_callout_deactivate(&t->callout);
	vhpet_sync(v, vmm_now(v->tb));
	/* Early (it should not be): keep the timer alive. */
	if (t->armed && !vmm_callout_pending(&t->callout))
		vmm_callout_reset(&t->callout, t->deadline_ns);
	pthread_mutex_unlock(&v->lock);
}

static void
vhpet_rearm_all(struct vhpet *v, uint64_t now)
{
	for (int i = 0; i < VHPET_NUM_TIMERS; i++)
		vhpet_timer_arm(v, &v->timer[i], now);
}

static void
vhpet_update_lines(struct vhpet *v)
{
	for (int i = 0; i < VHPET_NUM_TIMERS; i++)
		vhpet_timer_update_line(v, &v->timer[i]);
}

/*
 * Register handlers.  'data' and 'mask' are aligned to the 64-bit
 * register: a 32-bit access to the high half has both shifted up, and
 * only the bits in 'mask' are written.
 */
typedef uint64_t vhpet_read_fn_t(struct vhpet *v, struct vhpet_timer *t,
    uint64_t now);
typedef void vhpet_write_fn_t(struct vhpet *v, struct vhpet_timer *t,
    uint64_t data, uint64_t mask, uint64_t now);

static uint64_t
vhpet_merge(uint64_t old, uint64_t data, uint64_t mask)
{
	return (old & ~mask) | (data & mask);
}

static uint64_t
vhpet_read_cap(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	return vhpet_capabilities();
}

static uint64_t
vhpet_read_config(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	return v->config;
}

static void
vhpet_write_config(struct vhpet *v, struct vhpet_timer *t, uint64_t data,
    uint64_t mask, uint64_t now)
{
	uint64_t config = vhpet_merge(v->config, data, mask) & GCNF_BITS;
	bool was = vhpet_enabled(v);

	/* Halting keeps the count; starting runs on from it. */
	if (was && !(config & VHPET_CNF_ENABLE))
		v->count_base = vhpet_counter(v, now);
	else if (!was && (config & VHPET_CNF_ENABLE))
		v->base_ns = now;
	v->config = config;
	if (was != vhpet_enabled(v))
		vhpet_rearm_all(v, now);
	vhpet_update_lines(v); /* legacy routing or the enable changed */
}

static uint64_t
vhpet_read_isr(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	return v->isr;
}

/* General Interrupt Status: writing 1 clears a level-triggered bit. */
static void
vhpet_write_isr(struct vhpet *v, struct vhpet_timer *t, uint64_t data,
    uint64_t mask, uint64_t now)
{
	v->isr &= ~(data & mask);
	vhpet_update_lines(v);
}

static uint64_t
vhpet_read_counter(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	return vhpet_counter(v, now);
}

/*
 * The Main Counter Value register asks software to halt the counter
 * before writing it; a
 * write while it runs is taken as well (bhyve and QEMU do the same) and
 * the counter goes on from the new value.
 */
static void
vhpet_write_counter(struct vhpet *v, struct vhpet_timer *t, uint64_t data,
    uint64_t mask, uint64_t now)
{
	v->count_base = vhpet_merge(vhpet_counter(v, now), data, mask);
	v->base_ns = now;
	vhpet_rearm_all(v, now);
}

static uint64_t
vhpet_read_tconfig(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	return t->config | TCAP_BITS |
	    (uint64_t)v->ops.route_cap << VHPET_TCAP_INT_ROUTE_SHIFT;
}

/*
 * An INT_ROUTE_CNF value outside INT_ROUTE_CAP is ignored: the field keeps
 * its old value, so it "reads back differently from what was written"
 * (Timer N Configuration).  Going to 32-bit mode zeroes the high halves of the
 * comparator and period, as Intel's PCHs do.  A status bit that can no
 * longer be cleared by its owner's level semantics (now edge or FSB) is
 * dropped so that no line stays asserted.
 */
static void
vhpet_write_tconfig(struct vhpet *v, struct vhpet_timer *t, uint64_t data,
    uint64_t mask, uint64_t now)
{
	uint64_t config = vhpet_merge(t->config, data, mask) & TCNF_BITS;
	int pin = (int)((config & VHPET_TCNF_INT_ROUTE) >>
	    VHPET_TCNF_INT_ROUTE_SHIFT);
	int irq;

	if (!(v->ops.route_cap & (1u << pin)))
		config = (config & ~VHPET_TCNF_INT_ROUTE) |
		    (t->config & VHPET_TCNF_INT_ROUTE);
	t->config = config;
	if (config & VHPET_TCNF_32MODE) {
		t->cmp &= LOW32;
		t->period &= LOW32;
	}
	if (!(config & VHPET_TCNF_INT_TYPE) ||
	    vhpet_timer_route(v, t, &irq) == ROUTE_FSB)
		v->isr &= ~(1ULL << t->num);
	vhpet_timer_arm(v, t, now);
	vhpet_timer_update_line(v, t);
}

static uint64_t
vhpet_read_cmp(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	return t->cmp;
}

/*
 * Timer N Comparator, periodic mode: the comparator is set only with
 * VAL_SET_CNF (which then clears); otherwise the write sets the period
 * added at each match.  Every write sets the period ("the value last
 * written"), so Linux's and FreeBSD's sequence (VAL_SET, write the first
 * match, write the period) works.  In 32-bit mode the high half is
 * read-only 0.
 */
static void
vhpet_write_cmp(struct vhpet *v, struct vhpet_timer *t, uint64_t data,
    uint64_t mask, uint64_t now)
{
	mask &= vhpet_timer_mask(t);
	if (mask == 0)
		return;
	if (!vhpet_timer_periodic(t) || (t->config & VHPET_TCNF_VAL_SET))
		t->cmp = vhpet_merge(t->cmp, data, mask);
	t->period = vhpet_merge(t->period, data, mask);
	t->config &= ~VHPET_TCNF_VAL_SET;
	vhpet_timer_arm(v, t, now);
}

static uint64_t
vhpet_read_fsb(struct vhpet *v, struct vhpet_timer *t, uint64_t now)
{
	return t->fsb;
}

static void
vhpet_write_fsb(struct vhpet *v, struct vhpet_timer *t, uint64_t data,
    uint64_t mask, uint64_t now)
{
	t->fsb = vhpet_merge(t->fsb, data, mask);
}

struct vhpet_reg {
	uint32_t offset;
	vhpet_read_fn_t *read;
	vhpet_write_fn_t *write; /* NULL: read-only */
};

static const struct vhpet_reg vhpet_global_regs[] = {
	{ .offset = VHPET_CAP, .read = vhpet_read_cap },
	{ .offset = VHPET_CONFIG, .read = vhpet_read_config,
	    .write = vhpet_write_config },
	{ .offset = VHPET_ISR, .read = vhpet_read_isr,
	    .write = vhpet_write_isr },
	{ .offset = VHPET_COUNTER, .read = vhpet_read_counter,
	    .write = vhpet_write_counter },
};

/* Offsets within a timer's 32-byte block. */
static const struct vhpet_reg vhpet_timer_regs[] = {
	{ .offset = 0x00, .read = vhpet_read_tconfig,
	    .write = vhpet_write_tconfig },
	{ .offset = 0x08, .read = vhpet_read_cmp, .write = vhpet_write_cmp },
	{ .offset = 0x10, .read = vhpet_read_fsb, .write = vhpet_write_fsb },
};

#define NREGS(a) (sizeof(a) / sizeof((a)[0]))

/* The register at 64-bit aligned 'reg', and its timer; NULL: none. */
static const struct vhpet_reg *
vhpet_lookup(struct vhpet *v, uint64_t reg, struct vhpet_timer **t)
{
	const struct vhpet_reg *tab = vhpet_global_regs;
	size_t n = NREGS(vhpet_global_regs);

	*t = NULL;
	if (reg >= TIMER_BLOCK &&
	    reg < TIMER_BLOCK + TIMER_STRIDE * VHPET_NUM_TIMERS) {
		*t = &v->timer[(reg - TIMER_BLOCK) / TIMER_STRIDE];
		reg = (reg - TIMER_BLOCK) % TIMER_STRIDE;
		tab = vhpet_timer_regs;
		n = NREGS(vhpet_timer_regs);
	}
	for (size_t i = 0; i < n; i++)
		if (tab[i].offset == reg)
			return &tab[i];
	return NULL;
}

/*
 * Decode an access: false for one that does nothing (not 4 or 8 bytes,
 * or not aligned to its size: the spec allows 32- and 64-bit aligned
 * accesses only); else the register, and the
 * shift of the accessed bits within it.
 */
static bool
vhpet_decode(uint64_t offset, int size, uint64_t *reg, unsigned *shift,
    uint64_t *mask)
{
	if ((size != 4 && size != 8) || (offset & (uint64_t)(size - 1)))
		return false;
	*reg = offset & ~7ULL;
	*shift = (unsigned)(offset & 4) * 8;
	*mask = size == 8 ? UINT64_MAX : LOW32 << *shift;
	return true;
}

static bool
vhpet_access_ok(uint64_t offset, int size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	return offset < VHPET_MMIO_SIZE &&
	    (uint64_t)size <= VHPET_MMIO_SIZE - offset;
}

int
vhpet_mmio_read(struct vhpet *v, uint64_t offset, int size, uint64_t *val)
{
	const struct vhpet_reg *r;
	struct vhpet_timer *t;
	uint64_t reg, mask, now;
	unsigned shift;

	if (!vhpet_access_ok(offset, size))
		return -EINVAL;
	*val = 0;
	if (!vhpet_decode(offset, size, &reg, &shift, &mask))
		return 0;
	pthread_mutex_lock(&v->lock);
	now = vmm_now(v->tb);
	vhpet_sync(v, now);
	r = vhpet_lookup(v, reg, &t);
	if (r != NULL)
		*val = (r->read(v, t, now) & mask) >> shift;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int
vhpet_mmio_write(struct vhpet *v, uint64_t offset, int size, uint64_t val)
{
	const struct vhpet_reg *r;
	struct vhpet_timer *t;
	uint64_t reg, mask, now;
	unsigned shift;

	if (!vhpet_access_ok(offset, size))
		return -EINVAL;
	if (!vhpet_decode(offset, size, &reg, &shift, &mask))
		return 0;
	pthread_mutex_lock(&v->lock);
	now = vmm_now(v->tb);
	vhpet_sync(v, now);
	r = vhpet_lookup(v, reg, &t);
	if (r != NULL && r->write != NULL)
		r->write(v, t, (val << shift) & mask, mask, now);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

struct vhpet *
vhpet_create(struct vmm_timebase *tb, const struct vhpet_ops *ops)
{
	struct vhpet *v;

	if (tb == NULL || ops == NULL)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return NULL;
	}
	v->tb = tb;
	v->ops = *ops;
	v->base_ns = vmm_now(tb);
	for (int i = 0; i < VHPET_NUM_TIMERS; i++) {
		struct vhpet_timer *t = &v->timer[i];

		t->vhpet = v;
		t->num = i;
		t->cmp = UINT64_MAX; /* the comparators' reset value */
		t->period = UINT64_MAX;
		vmm_callout_init(&t->callout, tb, vhpet_callout, t);
	}
	return v;
}

void
vhpet_destroy(struct vhpet *v)
{
	if (v == NULL)
		return;
	for (int i = 0; i < VHPET_NUM_TIMERS; i++)
		vmm_callout_drain(&v->timer[i].callout);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

bool
vhpet_legacy_replacement(struct vhpet *v)
{
	bool on;

	pthread_mutex_lock(&v->lock);
	on = (v->config & VHPET_CNF_LEG_RT) != 0;
	pthread_mutex_unlock(&v->lock);
	return on;
}

void
vhpet_get_stats(struct vhpet *v, struct vhpet_stats *st)
{
	pthread_mutex_lock(&v->lock);
	*st = v->stats;
	pthread_mutex_unlock(&v->lock);
}
