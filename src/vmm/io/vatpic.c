/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Two 8259A programmable interrupt controllers, cascaded as on the PC/AT.
 * Behaviour follows the Intel 8259A data sheet (order no. 231468); section
 * names below refer to it.
 *
 * Each input keeps a count of the sources holding it high, so lines can be
 * shared.  An edge-triggered input latches its IRR bit on a rising edge and
 * keeps it until acknowledged (so a pulse is enough); a level-triggered
 * input's IRR bit follows the line, so a request that vanishes before the
 * acknowledge gives the spurious IRQ 7 vector.  The slave's INT output is
 * master input 2, an edge-triggered line like any other.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "vatpic.h"

#define ICW1_IC4 0x01	/* ICW4 follows */
#define ICW1_SNGL 0x02	/* single PIC, no ICW3 */
#define ICW1_LTIM 0x08	/* every input level-triggered */
#define ICW1_SEL 0x10	/* on A0 = 0: this byte is ICW1 */
#define ICW4_UPM 0x01	/* 8086 mode */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10	/* special fully nested mode */
#define OCW3_SEL 0x08	/* on A0 = 0 with bit 4 clear: OCW3, else OCW2 */
#define OCW3_RIS 0x01
#define OCW3_RR 0x02
#define OCW3_P 0x04
#define OCW3_SMM 0x20
#define OCW3_ESMM 0x40

#define CASCADE_PIN 2
/* ELCR bits that stay 0: IRQ 0, 1, 2 and IRQ 8, 13 (PIIX ELCR). */
#define ELCR_MASTER_MASK 0xf8
#define ELCR_SLAVE_MASK 0xde

struct pic {
	bool ready;	    /* initialization sequence complete */
	uint8_t icw_next;   /* 2-4: the ICW expected on A0 = 1; 0: none */
	bool single;	    /* ICW1 SNGL */
	bool need_icw4;	    /* ICW1 IC4 */
	bool ltim;	    /* ICW1 LTIM */
	bool x86;	    /* ICW4 uPM; 8080 mode gets the same vectors */
	bool aeoi;	    /* ICW4 AEOI */
	bool sfnm;	    /* ICW4 SFNM, master only */
	uint8_t base;	    /* ICW2: vector of input 0 */
	uint8_t icw3;
	uint8_t line;	    /* input levels */
	uint8_t irr_edge;   /* requests latched by rising edges */
	uint8_t isr;
	uint8_t imr;
	uint8_t elcr;
	uint8_t lowest;	    /* level with the lowest priority */
	bool rotate_aeoi;   /* rotate on automatic EOI */
	bool read_isr;	    /* OCW3 RR/RIS: A0 = 0 reads ISR, else IRR */
	bool poll;	    /* the next read is a poll */
	bool smm;	    /* special mask mode */
	int sources[8];	    /* sources holding each input high */
};

struct vatpic {
	pthread_mutex_t lock;
	struct pic pic[2];  /* master, slave */
	bool intr;	    /* the master's INTR output */
	vatpic_intr_fn_t *intr_changed;
	void *arg;
};

static uint8_t
vatpic_level_mask(const struct pic *p)
{
	return p->ltim ? 0xff : p->elcr;
}

static uint8_t
vatpic_irr(const struct pic *p)
{
	uint8_t level = vatpic_level_mask(p);

	return (uint8_t)((p->irr_edge & ~level) | (p->line & level));
}

/* Levels in priority order, highest first (section "Priority Modes"). */
static int
vatpic_level_at(const struct pic *p, int i)
{
	return (p->lowest + 1 + i) & 7;
}

/*
 * The request the priority resolver would pass on: the highest unmasked
 * request not blocked by an in-service level of equal or higher priority.
 * In special mask mode a masked in-service level blocks nothing; in
 * special fully nested mode the cascade input may interrupt itself.
 */
static int
vatpic_resolve(const struct pic *p, bool master)
{
	uint8_t req = vatpic_irr(p) & ~p->imr;
	uint8_t block = p->smm ? (uint8_t)(p->isr & ~p->imr) : p->isr;

	for (int i = 0; i < 8; i++) {
		int lvl = vatpic_level_at(p, i);
		uint8_t bit = (uint8_t)(1u << lvl);
		bool nested = master && p->sfnm && lvl == CASCADE_PIN;

		if ((req & bit) && (!(block & bit) || nested))
			return lvl;
		if (block & bit)
			return -1;
	}
	return -1;
}

/* The level a non-specific EOI clears: the highest one in service. */
static int
vatpic_highest_isr(const struct pic *p)
{
	uint8_t isr = p->smm ? (uint8_t)(p->isr & ~p->imr) : p->isr;

	for (int i = 0; i < 8; i++) {
		int lvl = vatpic_level_at(p, i);

		if (isr & (1u << lvl))
			return lvl;
	}
	return -1;
}

static void
vatpic_set_line(struct pic *p, int pin, bool high)
{
	uint8_t bit = (uint8_t)(1u << pin);

	if (high && !(p->line & bit) && !(vatpic_level_mask(p) & bit))
		p->irr_edge |= bit;
	if (high)
		p->line |= bit;
	else
		p->line &= (uint8_t)~bit;
}

/* The acknowledge of one level: IRR to ISR, or straight out with AEOI. */
static void
vatpic_accept(struct pic *p, int pin)
{
	uint8_t bit = (uint8_t)(1u << pin);

	p->irr_edge &= (uint8_t)~bit;
	if (!p->aeoi)
		p->isr |= bit;
	else if (p->rotate_aeoi)
		p->lowest = (uint8_t)pin;
}

static bool
vatpic_cascaded(const struct vatpic *v)
{
	return !v->pic[0].single;
}

/*
 * Propagate the slave's INT output to master input 2, then the master's
 * INTR output to the vmm.
 */
static void
vatpic_update(struct vatpic *v)
{
	struct pic *m = &v->pic[0], *s = &v->pic[1];
	bool slave_int, intr;

	slave_int = vatpic_cascaded(v) && s->ready &&
	    vatpic_resolve(s, false) >= 0;
	vatpic_set_line(m, CASCADE_PIN, slave_int);
	intr = m->ready && vatpic_resolve(m, true) >= 0;
	if (intr != v->intr) {
		v->intr = intr;
		if (v->intr_changed != NULL)
			v->intr_changed(v->arg, intr);
	}
}

/*
 * ICW1 starts the initialization sequence ("Initialization Command
 * Words"): edge sense reset, IMR cleared, IR7 lowest, special mask mode
 * off, IRR selected for reading, ICW4 functions zero unless ICW4 follows.
 */
static void
vatpic_icw1(struct pic *p, uint8_t val)
{
	p->ready = false;
	p->icw_next = 2;
	p->single = (val & ICW1_SNGL) != 0;
	p->need_icw4 = (val & ICW1_IC4) != 0;
	p->ltim = (val & ICW1_LTIM) != 0;
	p->x86 = p->aeoi = p->sfnm = false;
	p->irr_edge = 0;
	p->isr = 0;
	p->imr = 0;
	p->lowest = 7;
	p->rotate_aeoi = false;
	p->read_isr = false;
	p->poll = false;
	p->smm = false;
}

static void
vatpic_icw_done(struct pic *p)
{
	p->icw_next = 0;
	p->ready = true;
}

static void
vatpic_write_data(struct pic *p, bool master, uint8_t val)
{
	switch (p->icw_next) {
	case 2:
		p->base = val & 0xf8;
		if (!p->single)
			p->icw_next = 3;
		else if (p->need_icw4)
			p->icw_next = 4;
		else
			vatpic_icw_done(p);
		break;
	case 3:
		p->icw3 = val;
		if (p->need_icw4)
			p->icw_next = 4;
		else
			vatpic_icw_done(p);
		break;
	case 4:
		p->x86 = (val & ICW4_UPM) != 0;
		p->aeoi = (val & ICW4_AEOI) != 0;
		p->sfnm = master && (val & ICW4_SFNM) != 0;
		vatpic_icw_done(p);
		break;
	default:
		p->imr = val; /* OCW1 */
		break;
	}
}

static void
vatpic_eoi(struct pic *p, int lvl, bool rotate)
{
	if (lvl < 0)
		return;
	p->isr &= (uint8_t)~(1u << lvl);
	if (rotate)
		p->lowest = (uint8_t)lvl;
}

/*
 * OCW2: the R, SL, EOI bits (7-5) select the command ("Operation Command
 * Words", the OCW2 table).
 */
static void
vatpic_ocw2(struct pic *p, uint8_t val)
{
	int lvl = val & 7;

	switch (val >> 5) {
	case 1: /* non-specific EOI */
		vatpic_eoi(p, vatpic_highest_isr(p), false);
		break;
	case 3: /* specific EOI */
		vatpic_eoi(p, lvl, false);
		break;
	case 5: /* rotate on non-specific EOI */
		vatpic_eoi(p, vatpic_highest_isr(p), true);
		break;
	case 7: /* rotate on specific EOI */
		vatpic_eoi(p, lvl, true);
		break;
	case 4: /* set rotate in AEOI mode */
	case 0: /* clear rotate in AEOI mode */
		p->rotate_aeoi = (val >> 5) == 4;
		break;
	case 6: /* set priority: 'lvl' becomes the lowest */
		p->lowest = (uint8_t)lvl;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void
vatpic_ocw3(struct pic *p, uint8_t val)
{
	if (val & OCW3_ESMM)
		p->smm = (val & OCW3_SMM) != 0;
	if (val & OCW3_RR)
		p->read_isr = (val & OCW3_RIS) != 0;
	p->poll = (val & OCW3_P) != 0;
}

static void
vatpic_write_cmd(struct pic *p, uint8_t val)
{
	if (val & ICW1_SEL)
		vatpic_icw1(p, val);
	else if (!p->ready)
		return; /* OCW2/3 before or amid initialization: ignored */
	else if (val & OCW3_SEL)
		vatpic_ocw3(p, val);
	else
		vatpic_ocw2(p, val);
}

/*
 * A poll ("The Poll Command") is an acknowledge done by a read: it
 * returns 0x80 | level, or 0 when nothing is pending, and sets the ISR.
 */
static uint8_t
vatpic_poll(struct pic *p, bool master)
{
	int lvl = vatpic_resolve(p, master);

	p->poll = false;
	if (lvl < 0)
		return 0;
	vatpic_accept(p, lvl);
	return (uint8_t)(0x80 | lvl);
}

static uint8_t
vatpic_read(struct pic *p, bool master, bool a0)
{
	if (p->poll)
		return vatpic_poll(p, master);
	if (a0)
		return p->imr;
	return p->read_isr ? p->isr : vatpic_irr(p);
}

static int
vatpic_port(struct vatpic *v, int which, bool in, uint16_t port, int bytes,
    uint32_t *val)
{
	struct pic *p = &v->pic[which];
	bool a0 = (port & 1) != 0;

	if (bytes != 1)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (in)
		*val = vatpic_read(p, which == 0, a0);
	else if (a0)
		vatpic_write_data(p, which == 0, (uint8_t)*val);
	else
		vatpic_write_cmd(p, (uint8_t)*val);
	vatpic_update(v);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int
vatpic_master_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val)
{
	return vatpic_port(chip, 0, in, port, bytes, val);
}

int
vatpic_slave_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val)
{
	return vatpic_port(chip, 1, in, port, bytes, val);
}

/* A changed trigger mode starts from a clean edge detector. */
static void
vatpic_set_elcr(struct pic *p, uint8_t elcr)
{
	p->irr_edge &= (uint8_t)~(p->elcr ^ elcr);
	p->elcr = elcr;
}

int
vatpic_elcr_handler(void *chip, bool in, uint16_t port, int bytes,
    uint32_t *val)
{
	struct vatpic *v = chip;
	int first = port & 1;

	if (bytes != 1 && !(bytes == 2 && first == 0))
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (in) {
		*val = v->pic[first].elcr;
		if (bytes == 2)
			*val |= (uint32_t)v->pic[1].elcr << 8;
	} else {
		uint8_t mask = first ? ELCR_SLAVE_MASK : ELCR_MASTER_MASK;

		vatpic_set_elcr(&v->pic[first], (uint8_t)*val & mask);
		if (bytes == 2)
			vatpic_set_elcr(&v->pic[1],
			    (uint8_t)(*val >> 8) & ELCR_SLAVE_MASK);
		vatpic_update(v);
	}
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int
vatpic_set_trigger(struct vatpic *v, int irq, bool level)
{
	static const uint8_t edge_only[2] = { (uint8_t)~ELCR_MASTER_MASK,
		(uint8_t)~ELCR_SLAVE_MASK };
	struct pic *p;
	uint8_t bit;

	if (irq < 0 || irq > 15)
		return -EINVAL;
	bit = (uint8_t)(1u << (irq & 7));
	if (level && (edge_only[irq >> 3] & bit))
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	p = &v->pic[irq >> 3];
	vatpic_set_elcr(p, level ? (uint8_t)(p->elcr | bit) :
				(uint8_t)(p->elcr & ~bit));
	vatpic_update(v);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

/* One source raises or drops its hold on an input. */
static void
vatpic_source(struct pic *p, int pin, bool raise)
{
	int *n = &p->sources[pin];

	if (raise && *n < INT_MAX)
		(*n)++;
	else if (!raise && *n > 0)
		(*n)--;
	vatpic_set_line(p, pin, *n > 0);
}

int
vatpic_set_irq(struct vatpic *v, int irq, enum vmm_irq_op op)
{
	struct pic *p;
	int pin = irq & 7;

	if (irq < 0 || irq > 15 || irq == CASCADE_PIN)
		return -EINVAL;
	if (op != VMM_IRQ_ASSERT && op != VMM_IRQ_DEASSERT &&
	    op != VMM_IRQ_PULSE)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	p = &v->pic[irq >> 3];
	if (op == VMM_IRQ_ASSERT || op == VMM_IRQ_PULSE)
		vatpic_source(p, pin, true);
	if (op == VMM_IRQ_DEASSERT || op == VMM_IRQ_PULSE)
		vatpic_source(p, pin, false);
	vatpic_update(v);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

bool
vatpic_pending_intr(struct vatpic *v, int *vector)
{
	struct pic *m = &v->pic[0], *s = &v->pic[1];
	bool pending = false;
	int lvl;

	pthread_mutex_lock(&v->lock);
	lvl = m->ready ? vatpic_resolve(m, true) : -1;
	if (lvl < 0) {
		*vector = m->base + 7;
	} else if (lvl == CASCADE_PIN && vatpic_cascaded(v)) {
		/* The slave answers; with nothing left, its IRQ 7 vector. */
		lvl = s->ready ? vatpic_resolve(s, false) : -1;
		*vector = s->base + (lvl < 0 ? 7 : lvl);
		pending = true;
	} else {
		*vector = m->base + lvl;
		pending = true;
	}
	pthread_mutex_unlock(&v->lock);
	return pending;
}

/*
 * Acknowledge 'pin' unless it is a spurious IRQ 7: a 7 whose request has
 * gone sets no ISR bit ("Interrupt Sequence", default IR7).
 */
static void
vatpic_ack(struct pic *p, int pin)
{
	if (pin == 7 && !(vatpic_irr(p) & 0x80))
		return;
	vatpic_accept(p, pin);
}

void
vatpic_intr_accepted(struct vatpic *v, int vector)
{
	struct pic *m = &v->pic[0], *s = &v->pic[1];

	if (vector < 0 || vector > 255)
		return;
	pthread_mutex_lock(&v->lock);
	if ((vector & 0xf8) == m->base) {
		vatpic_ack(m, vector & 7);
	} else if ((vector & 0xf8) == s->base && vatpic_cascaded(v)) {
		/*
		 * The master took input 2 even if the slave's IRQ 15 is
		 * spurious; the slave's INT drops during the cycle.
		 */
		vatpic_accept(m, CASCADE_PIN);
		vatpic_ack(s, vector & 7);
		vatpic_set_line(m, CASCADE_PIN, false);
	}
	vatpic_update(v);
	pthread_mutex_unlock(&v->lock);
}

struct vatpic *
vatpic_create(vatpic_intr_fn_t *intr_changed, void *arg)
{
	struct vatpic *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return NULL;
	}
	v->intr_changed = intr_changed;
	v->arg = arg;
	for (int i = 0; i < 2; i++)
		v->pic[i].lowest = 7;
	return v;
}

void
vatpic_destroy(struct vatpic *v)
{
	if (v == NULL)
		return;
	pthread_mutex_destroy(&v->lock);
	free(v);
}
