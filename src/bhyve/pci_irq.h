/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI INTx routing (bhyve's pci_irq.c): an ICH-style interrupt router with
 * eight PIRQ links, A to H.
 *
 *   - A slot's INTx pin reaches a link by a fixed swizzle (pci_irq_link()).
 *   - Each link drives its own I/O APIC pin, 16 + link, and, when its PIRQ
 *     register (in the LPC bridge's config space, 0x60-0x63 and 0x68-0x6b)
 *     routes it to an ISA IRQ, that 8259 input too.
 *   - Lines are level-triggered and shared: a link counts the functions
 *     asserting it, and the interrupt controllers see only its 0 -> 1 and
 *     1 -> 0 transitions, so sharing works whether or not the vmm's chips
 *     count assertions themselves.
 *
 * Interrupts leave through struct pci_intr_ops, which a test may replace
 * to watch exactly what the routing did.
 */
#ifndef PCI_IRQ_H
#define PCI_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct vmctx;
struct pci_irq;

#define PCI_IRQ_NLINKS 8
#define PCI_IRQ_IOAPIC_BASE 16 /* link n drives I/O APIC pin 16 + n */

/* PIRQ register fields (ICH10 datasheet, "PIRQ[n]_ROUT"). */
#define PIRQ_DIS 0x80 /* the link is not routed to an ISA IRQ */
#define PIRQ_IRQ 0x0f /* the ISA IRQ it is routed to */

/*
 * ISA IRQs a link may use: 3-7, 9-12, 14 and 15, as bhyve's router allows.
 * A PIRQ register naming another IRQ leaves the link off the 8259, as if
 * disabled.  This is also the list for the link devices' _PRS.
 */
#define PCI_IRQ_PERMITTED 0xdef8u

/*
 * Where interrupts go.  Each call returns 0 or a negative errno (which the
 * routing ignores: a lost interrupt is the controller's business).  The
 * default ops call libvmmapi with 'arg' as the struct vmctx *.
 */
struct pci_intr_ops {
	int (*isa_assert)(void *arg, int atpic_irq, int ioapic_irq);
	int (*isa_deassert)(void *arg, int atpic_irq, int ioapic_irq);
	int (*ioapic_assert)(void *arg, int pin);
	int (*ioapic_deassert)(void *arg, int pin);
	int (*msi)(void *arg, uint64_t addr, uint64_t data);
	/* The 8259 input is level-triggered (its ELCR bit). */
	int (*isa_level)(void *arg, int atpic_irq);
};

extern const struct pci_intr_ops pci_intr_vmm_ops;

/*
 * 'ioapic_pins' is the I/O APIC's pin count: with fewer than 24 the links
 * have no I/O APIC pin and interrupt the 8259 only.  'reserved' is a mask
 * of ISA IRQs that the initial routing must not hand out (the legacy
 * devices' own lines).
 */
struct pci_irq *pci_irq_create(const struct pci_intr_ops *ops, void *arg,
    int ioapic_pins, uint16_t reserved);
void pci_irq_destroy(struct pci_irq *irq);

/* The link of INTx pin 'pin' (1 = INTA# .. 4 = INTD#) in 'slot'. */
int pci_irq_link(int slot, int pin);
/* The I/O APIC pin of 'link', or -1 if the I/O APIC is too small. */
int pci_irq_ioapic_pin(const struct pci_irq *irq, int link);
/* The ISA IRQ 'link' is routed to now, or -1 if none. */
int pci_irq_isa_irq(struct pci_irq *irq, int link);
/* The LPC config-space offset of link's PIRQ register. */
int pci_irq_pirq_offset(int link);
/* The link whose PIRQ register is at LPC offset 'off', or -1. */
int pci_irq_pirq_link(int off);

/*
 * At start-up, once per (slot, pin) some function uses: a link that is
 * still disabled gets the least-used permitted, unreserved ISA IRQ (so a
 * guest without ACPI finds working routing, as bhyve arranges).
 */
void pci_irq_use(struct pci_irq *irq, int link);
/*
 * An ISA IRQ some other level-triggered source already uses (the ACPI SCI
 * on IRQ 9, as bhyve): links may share it but prefer others.
 */
void pci_irq_isa_used(struct pci_irq *irq, int isa_irq);

/* The PIRQ register as the guest sees it, and a guest write to it. */
uint8_t pci_irq_pirq_read(struct pci_irq *irq, int link);
void pci_irq_pirq_write(struct pci_irq *irq, int link, uint8_t val);

/* One function's INTx line going up or down (callers keep them paired). */
void pci_irq_assert(struct pci_irq *irq, int link);
void pci_irq_deassert(struct pci_irq *irq, int link);

/* The MSI path shares the ops: one place for a test to intercept. */
int pci_irq_msi(struct pci_irq *irq, uint64_t addr, uint64_t data);

#endif /* PCI_IRQ_H */
