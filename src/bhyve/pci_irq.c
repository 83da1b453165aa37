/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI INTx routing through eight PIRQ links (see pci_irq.h).
 *
 * The swizzle is the fixed one bhyve uses when it boots firmware:
 * link = (4 + slot + pin) mod 8, pin counted from 1 = INTA#.  A fixed
 * mapping lets firmware and ACPI agree without asking, and it spreads the
 * four pins of a slot and the same pin of neighbouring slots over
 * different links, as the conventional "barber pole" does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "pci_irq.h"
#include "vmmapi.h"

#define PIRQ_REG_MASK (PIRQ_DIS | PIRQ_IRQ)
#define ISA_NIRQS 16

struct pci_irq_link {
	uint8_t reg;	/* the PIRQ register */
	int use_count;	/* (slot, pin) pairs routed here at start-up */
	int active;	/* functions asserting the link now */
};

struct pci_irq {
	pthread_mutex_t lock;
	const struct pci_intr_ops *ops;
	void *arg;
	int ioapic_pins;
	uint16_t reserved;
	int isa_use[ISA_NIRQS]; /* links routed to each ISA IRQ at start-up */
	struct pci_irq_link links[PCI_IRQ_NLINKS];
};

static int
vmm_isa_assert(void *arg, int atpic_irq, int ioapic_irq)
{
	return vm_isa_assert_irq(arg, atpic_irq, ioapic_irq);
}

static int
vmm_isa_deassert(void *arg, int atpic_irq, int ioapic_irq)
{
	return vm_isa_deassert_irq(arg, atpic_irq, ioapic_irq);
}

static int
vmm_ioapic_assert(void *arg, int pin)
{
	return vm_ioapic_assert_irq(arg, pin);
}

static int
vmm_ioapic_deassert(void *arg, int pin)
{
	return vm_ioapic_deassert_irq(arg, pin);
}

static int
vmm_msi(void *arg, uint64_t addr, uint64_t data)
{
	return vm_lapic_msi(arg, addr, data);
}

static int
vmm_isa_level(void *arg, int atpic_irq)
{
	return vm_isa_set_irq_trigger(arg, atpic_irq, true);
}

const struct pci_intr_ops pci_intr_vmm_ops = {
	.isa_assert = vmm_isa_assert,
	.isa_deassert = vmm_isa_deassert,
	.ioapic_assert = vmm_ioapic_assert,
	.ioapic_deassert = vmm_ioapic_deassert,
	.msi = vmm_msi,
	.isa_level = vmm_isa_level,
};

struct pci_irq *
pci_irq_create(const struct pci_intr_ops *ops, void *arg, int ioapic_pins,
    uint16_t reserved)
{
	struct pci_irq *irq = calloc(1, sizeof(*irq));

	if (irq == NULL)
		return NULL;
	pthread_mutex_init(&irq->lock, NULL);
	irq->ops = ops;
	irq->arg = arg;
	irq->ioapic_pins = ioapic_pins;
	irq->reserved = reserved;
	for (int i = 0; i < PCI_IRQ_NLINKS; i++)
		irq->links[i].reg = PIRQ_DIS;
	return irq;
}

void
pci_irq_destroy(struct pci_irq *irq)
{
	if (irq == NULL)
		return;
	pthread_mutex_destroy(&irq->lock);
	free(irq);
}

int
pci_irq_link(int slot, int pin)
{
	return (4 + slot + pin) % PCI_IRQ_NLINKS;
}

int
pci_irq_ioapic_pin(const struct pci_irq *irq, int link)
{
	int pin = PCI_IRQ_IOAPIC_BASE + link;

	return pin < irq->ioapic_pins ? pin : -1;
}

/* The ISA IRQ a PIRQ register value routes to, or -1. */
static int
pirq_isa_irq(uint8_t reg)
{
	int isa = reg & PIRQ_IRQ;

	if ((reg & PIRQ_DIS) || !(PCI_IRQ_PERMITTED & (1u << isa)))
		return -1;
	return isa;
}

int
pci_irq_isa_irq(struct pci_irq *irq, int link)
{
	int isa;

	pthread_mutex_lock(&irq->lock);
	isa = pirq_isa_irq(irq->links[link].reg);
	pthread_mutex_unlock(&irq->lock);
	return isa;
}

/* PIRQA-D at 0x60-0x63, PIRQE-H at 0x68-0x6b (ICH10 LPC config space). */
int
pci_irq_pirq_offset(int link)
{
	return link < 4 ? 0x60 + link : 0x68 + (link - 4);
}

int
pci_irq_pirq_link(int off)
{
	if (off >= 0x60 && off <= 0x63)
		return off - 0x60;
	if (off >= 0x68 && off <= 0x6b)
		return off - 0x68 + 4;
	return -1;
}

void
pci_irq_use(struct pci_irq *irq, int link)
{
	struct pci_irq_link *l = &irq->links[link];
	int best = -1;

	pthread_mutex_lock(&irq->lock);
	l->use_count++;
	if (l->reg == PIRQ_DIS) {
		for (int i = 0; i < ISA_NIRQS; i++) {
			if (!(PCI_IRQ_PERMITTED & (1u << i)) ||
			    (irq->reserved & (1u << i)))
				continue;
			if (best < 0 || irq->isa_use[i] < irq->isa_use[best])
				best = i;
		}
		/*
		 * PCI INTx is level-triggered and shareable: set the ELCR
		 * bit now, as firmware would (bhyve does the same), since a
		 * directly booted guest has no firmware to do it.
		 */
		if (best >= 0) {
			irq->isa_use[best]++;
			l->reg = (uint8_t)best;
			if (irq->ops->isa_level)
				(void)irq->ops->isa_level(irq->arg, best);
		}
	}
	pthread_mutex_unlock(&irq->lock);
}

void
pci_irq_isa_used(struct pci_irq *irq, int isa_irq)
{
	if (isa_irq < 0 || isa_irq >= ISA_NIRQS)
		return;
	pthread_mutex_lock(&irq->lock);
	irq->isa_use[isa_irq]++;
	pthread_mutex_unlock(&irq->lock);
}

uint8_t
pci_irq_pirq_read(struct pci_irq *irq, int link)
{
	uint8_t reg;

	pthread_mutex_lock(&irq->lock);
	reg = irq->links[link].reg;
	pthread_mutex_unlock(&irq->lock);
	return reg;
}

/*
 * Re-routing a link that is asserted moves the level from the old ISA IRQ
 * to the new one; the I/O APIC pin is the link's own and stays asserted.
 */
void
pci_irq_pirq_write(struct pci_irq *irq, int link, uint8_t val)
{
	struct pci_irq_link *l = &irq->links[link];
	int old, new;

	pthread_mutex_lock(&irq->lock);
	val &= PIRQ_REG_MASK;
	if (val != l->reg) {
		old = pirq_isa_irq(l->reg);
		new = pirq_isa_irq(val);
		l->reg = val;
		if (l->active > 0 && old != new) {
			if (old >= 0)
				(void)irq->ops->isa_deassert(irq->arg, old, -1);
			if (new >= 0)
				(void)irq->ops->isa_assert(irq->arg, new, -1);
		}
	}
	pthread_mutex_unlock(&irq->lock);
}

/* The level of a whole link, on its I/O APIC pin and ISA IRQ together. */
static void
link_set(struct pci_irq *irq, int link, bool up)
{
	int isa = pirq_isa_irq(irq->links[link].reg);
	int pin = pci_irq_ioapic_pin(irq, link);

	if (isa >= 0) {
		if (up)
			(void)irq->ops->isa_assert(irq->arg, isa, pin);
		else
			(void)irq->ops->isa_deassert(irq->arg, isa, pin);
	} else if (pin >= 0) {
		if (up)
			(void)irq->ops->ioapic_assert(irq->arg, pin);
		else
			(void)irq->ops->ioapic_deassert(irq->arg, pin);
	}
}

void
pci_irq_assert(struct pci_irq *irq, int link)
{
	pthread_mutex_lock(&irq->lock);
	if (irq->links[link].active++ == 0)
		link_set(irq, link, true);
	pthread_mutex_unlock(&irq->lock);
}

void
pci_irq_deassert(struct pci_irq *irq, int link)
{
	pthread_mutex_lock(&irq->lock);
	if (irq->links[link].active > 0 && --irq->links[link].active == 0)
		link_set(irq, link, false);
	pthread_mutex_unlock(&irq->lock);
}

int
pci_irq_msi(struct pci_irq *irq, uint64_t addr, uint64_t data)
{
	return irq->ops->msi(irq->arg, addr, data);
}
