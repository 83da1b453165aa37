/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The I/O APIC.  Behaviour follows the Intel 82093AA I/O APIC data sheet
 * (order no. 290566); the EOI register is the one of Intel's later
 * I/O(x)APICs (ICH data sheets, "EOI Register", offset 40h).
 *
 * A pin is its 64-bit redirection entry plus the count of asserts minus
 * deasserts of its input.  Whatever makes a message (an edge, an unmask,
 * an EOI) puts it in a batch under the lock, with remote IRR already
 * updated; the batch is sent after the lock is dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vioapic.h"

#define RTE_RO_BITS (VIOAPIC_RTE_REMIRR | VIOAPIC_RTE_DELIVS)
#define ID_MASK 0xff000000u	/* bits 31:24, as bhyve: see vioapic_write */
#define EOIR_VECTOR 0xffu

struct vioapic_pin {
	uint64_t rte;
	int acnt; /* asserts minus deasserts; the line is high while > 0 */
};

struct vioapic_msg {
	uint32_t dest;
	bool logical;
	int delmode;
	int vector;
	bool level;
};

/* Messages made under the lock, sent after it; at most one per pin. */
struct vioapic_batch {
	int n;
	struct vioapic_msg msg[VIOAPIC_MAX_PINS];
};

struct vioapic {
	pthread_mutex_t lock;
	vioapic_deliver_fn_t *deliver;
	void *arg;
	int npins;
	uint32_t id;
	uint8_t ioregsel;
	struct vioapic_stats stats;
	struct vioapic_pin pin[VIOAPIC_MAX_PINS];
};

static int
vioapic_rte_delmode(uint64_t rte)
{
	return (int)((rte & VIOAPIC_RTE_DELMODE) >> VIOAPIC_RTE_DELMODE_SHIFT);
}

/*
 * Only fixed and lowest-priority messages are level-triggered: they are
 * the ones a local APIC EOIs back to us.  Every other mode acts as edge.
 */
static bool
vioapic_rte_level(uint64_t rte)
{
	int dm = vioapic_rte_delmode(rte);

	return (rte & VIOAPIC_RTE_LEVEL) != 0 &&
	    (dm == VIOAPIC_DM_FIXED || dm == VIOAPIC_DM_LOWPRI);
}

static bool
vioapic_rte_valid(uint64_t rte)
{
	switch (vioapic_rte_delmode(rte)) {
	case VIOAPIC_DM_FIXED:
	case VIOAPIC_DM_LOWPRI:
		return (rte & VIOAPIC_RTE_VECTOR) >= 16;
	case VIOAPIC_DM_NMI:
	case VIOAPIC_DM_EXTINT:
		return true;
	default: /* SMI, INIT, reserved 3 and 6: see vioapic.h */
		return false;
	}
}

/* Queue the message for 'pin' (unmasked, with a reason to send). */
static void
vioapic_send(struct vioapic *v, int pin, struct vioapic_batch *b)
{
	uint64_t *rte = &v->pin[pin].rte;
	bool level = vioapic_rte_level(*rte);

	if (!vioapic_rte_valid(*rte)) {
		v->stats.dropped++;
		return;
	}
	if (level)
		*rte |= VIOAPIC_RTE_REMIRR;
	b->msg[b->n++] = (struct vioapic_msg){
		.dest = (uint32_t)(*rte >> VIOAPIC_RTE_DEST_SHIFT),
		.logical = (*rte & VIOAPIC_RTE_DESTLOG) != 0,
		.delmode = vioapic_rte_delmode(*rte),
		.vector = (int)(*rte & VIOAPIC_RTE_VECTOR),
		.level = level,
	};
	v->stats.delivered++;
}

/*
 * Something changed on 'pin': its input ('rising': a new edge), its
 * entry, or its remote IRR.  Decide whether that makes a message.
 */
static void
vioapic_pin_eval(struct vioapic *v, int pin, bool rising,
    struct vioapic_batch *b)
{
	uint64_t rte = v->pin[pin].rte;

	if (rte & VIOAPIC_RTE_MASKED)
		return; /* an edge is lost, a level waits for the unmask */
	if (vioapic_rte_level(rte)) {
		if (v->pin[pin].acnt > 0 && !(rte & VIOAPIC_RTE_REMIRR))
			vioapic_send(v, pin, b);
	} else if (rising) {
		vioapic_send(v, pin, b);
	}
}

static void
vioapic_flush(struct vioapic *v, const struct vioapic_batch *b)
{
	uint64_t errors = 0;

	for (int i = 0; i < b->n; i++) {
		const struct vioapic_msg *m = &b->msg[i];

		if (v->deliver(v->arg, m->dest, m->logical, m->delmode,
		    m->vector, m->level) < 0)
			errors++;
	}
	if (errors == 0)
		return;
	pthread_mutex_lock(&v->lock);
	v->stats.deliver_errors += errors;
	pthread_mutex_unlock(&v->lock);
}

static void
vioapic_line(struct vioapic *v, int pin, bool up, struct vioapic_batch *b)
{
	struct vioapic_pin *p = &v->pin[pin];

	if (up) {
		if (++p->acnt == 1)
			vioapic_pin_eval(v, pin, true, b);
	} else if (p->acnt > 0) {
		/* More deasserts than asserts: a caller's bug; stay low. */
		p->acnt--;
	}
}

int
vioapic_set_irq(struct vioapic *v, int pin, enum vmm_irq_op op)
{
	struct vioapic_batch b = { .n = 0 };

	if (pin < 0 || pin >= v->npins)
		return -EINVAL;
	if (op != VMM_IRQ_ASSERT && op != VMM_IRQ_DEASSERT &&
	    op != VMM_IRQ_PULSE)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (op != VMM_IRQ_DEASSERT)
		vioapic_line(v, pin, true, &b);
	if (op != VMM_IRQ_ASSERT)
		vioapic_line(v, pin, false, &b);
	pthread_mutex_unlock(&v->lock);
	vioapic_flush(v, &b);
	return 0;
}

void
vioapic_sink_set(void *vioapic, int pin, enum vmm_irq_op op)
{
	(void)vioapic_set_irq(vioapic, pin, op);
}

static void
vioapic_eoi_locked(struct vioapic *v, int vector, struct vioapic_batch *b)
{
	for (int pin = 0; pin < v->npins; pin++) {
		uint64_t *rte = &v->pin[pin].rte;

		if (!(*rte & VIOAPIC_RTE_REMIRR) ||
		    (int)(*rte & VIOAPIC_RTE_VECTOR) != vector)
			continue;
		*rte &= ~VIOAPIC_RTE_REMIRR;
		v->stats.eois++;
		vioapic_pin_eval(v, pin, false, b);
	}
}

void
vioapic_process_eoi(struct vioapic *v, int vector)
{
	struct vioapic_batch b = { .n = 0 };

	if (vector < 0 || vector > 255)
		return;
	pthread_mutex_lock(&v->lock);
	vioapic_eoi_locked(v, vector, &b);
	pthread_mutex_unlock(&v->lock);
	vioapic_flush(v, &b);
}

/* Is 'reg' a redirection table word?  Which pin, and which half. */
static bool
vioapic_rte_reg(const struct vioapic *v, unsigned reg, int *pin, bool *high)
{
	if (reg < VIOAPIC_REG_RTE(0) ||
	    reg >= (unsigned)VIOAPIC_REG_RTE(v->npins))
		return false;
	*pin = (int)(reg - VIOAPIC_REG_RTE(0)) / 2;
	*high = (reg - VIOAPIC_REG_RTE(0)) % 2;
	return true;
}

static uint32_t
vioapic_read(struct vioapic *v, unsigned reg)
{
	int pin;
	bool high;

	switch (reg) {
	case VIOAPIC_REG_ID:
	case VIOAPIC_REG_ARB: /* the arbitration ID is loaded from the ID */
		return v->id;
	case VIOAPIC_REG_VER:
		return (uint32_t)(v->npins - 1) << 16 | VIOAPIC_VERSION;
	}
	if (!vioapic_rte_reg(v, reg, &pin, &high))
		return 0;
	return (uint32_t)(v->pin[pin].rte >> (high ? 32 : 0));
}

/*
 * A write of one half of an entry.  Remote IRR and delivery status are
 * read-only.  Switching the entry to edge (or to a mode that acts as edge)
 * clears remote IRR: the data sheet leaves remote IRR undefined for edge
 * entries, and Linux relies on this (mask, set edge, set level) to unstick
 * a pin on I/O APICs older than version 0x20.
 */
static void
vioapic_write_rte(struct vioapic *v, int pin, bool high, uint32_t data,
    struct vioapic_batch *b)
{
	uint64_t *rte = &v->pin[pin].rte;
	unsigned shift = high ? 32 : 0;
	uint64_t mask = (0xffffffffULL << shift) & ~RTE_RO_BITS;

	*rte = (*rte & ~mask) | (((uint64_t)data << shift) & mask);
	if (!vioapic_rte_level(*rte))
		*rte &= ~VIOAPIC_RTE_REMIRR;
	/* An unmask (or a new mode) may find a level line waiting. */
	vioapic_pin_eval(v, pin, false, b);
}

static void
vioapic_write(struct vioapic *v, unsigned reg, uint32_t data,
    struct vioapic_batch *b)
{
	int pin;
	bool high;

	if (reg == VIOAPIC_REG_ID) {
		/*
		 * The 82093AA's ID is bits 27:24; bhyve keeps 31:24, which
		 * lets the MADT give an ID above 15 with many vCPUs.
		 */
		v->id = data & ID_MASK;
		return;
	}
	/* VER and ARB are read-only; nothing else is there. */
	if (vioapic_rte_reg(v, reg, &pin, &high))
		vioapic_write_rte(v, pin, high, data, b);
}

static bool
vioapic_access_ok(uint64_t offset, int size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	return offset < VIOAPIC_MMIO_SIZE &&
	    (uint64_t)size <= VIOAPIC_MMIO_SIZE - offset;
}

int
vioapic_mmio_read(struct vioapic *v, uint64_t offset, int size,
    uint64_t *val)
{
	if (!vioapic_access_ok(offset, size))
		return -EINVAL;
	*val = 0;
	if (size != 4)
		return 0;
	pthread_mutex_lock(&v->lock);
	if (offset == VIOAPIC_IOREGSEL)
		*val = v->ioregsel;
	else if (offset == VIOAPIC_IOWIN)
		*val = vioapic_read(v, v->ioregsel);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int
vioapic_mmio_write(struct vioapic *v, uint64_t offset, int size,
    uint64_t val)
{
	struct vioapic_batch b = { .n = 0 };
	uint32_t data = (uint32_t)val;

	if (!vioapic_access_ok(offset, size))
		return -EINVAL;
	if (size != 4)
		return 0;
	pthread_mutex_lock(&v->lock);
	if (offset == VIOAPIC_IOREGSEL)
		v->ioregsel = (uint8_t)data; /* bits 31:8 are reserved */
	else if (offset == VIOAPIC_IOWIN)
		vioapic_write(v, v->ioregsel, data, &b);
	else if (offset == VIOAPIC_EOIR)
		vioapic_eoi_locked(v, (int)(data & EOIR_VECTOR), &b);
	pthread_mutex_unlock(&v->lock);
	vioapic_flush(v, &b);
	return 0;
}

struct vioapic *
vioapic_create(int npins, vioapic_deliver_fn_t *deliver, void *arg)
{
	struct vioapic *v;

	if (npins < VIOAPIC_MIN_PINS || npins > VIOAPIC_MAX_PINS ||
	    deliver == NULL)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return NULL;
	}
	v->deliver = deliver;
	v->arg = arg;
	v->npins = npins;
	/* 82093AA section 3.2.4: the mask bit is set at reset. */
	for (int i = 0; i < VIOAPIC_MAX_PINS; i++)
		v->pin[i].rte = VIOAPIC_RTE_MASKED;
	return v;
}

void
vioapic_destroy(struct vioapic *v)
{
	if (v == NULL)
		return;
	pthread_mutex_destroy(&v->lock);
	free(v);
}

int
vioapic_pin_count(struct vioapic *v)
{
	return v->npins;
}

void
vioapic_get_stats(struct vioapic *v, struct vioapic_stats *st)
{
	pthread_mutex_lock(&v->lock);
	*st = v->stats;
	pthread_mutex_unlock(&v->lock);
}
