/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PIT channel 0 (mode 2, 1 kHz) through the 8259 to the BSP's LINT0 as
 * ExtINT: ticks= interrupts (default 10) at the master's vector base,
 * IRQ 0 in service (OCW3 ISR read) inside the handler until the
 * non-specific EOI to the 8259, and out of service after it.
 *   apic=wire  the local APIC enabled, LVT LINT0 unmasked in ExtINT mode
 *              (virtual wire, MP spec 3.6.2.2)
 *   apic=off   the local APIC disabled in IA32_APIC_BASE: INTR goes
 *              straight to the CPU
 * The I/O APIC keeps pin 2 masked.
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define V_IRQ0		IRQ_VEC_PIC_MASTER
#define PIT_RELOAD	(PIT_HZ / 1000)
#define QUIET_US	20000

static uint16_t isr_in, isr_after;

static void
on_irq0(struct irq_frame *f, void *arg)
{
	if (irq_count(V_IRQ0) == 1)
		isr_in = pic_read_isr();
	pic_eoi(0);
	if (irq_count(V_IRQ0) == 1)
		isr_after = pic_read_isr();
}

static void
apic_setup(bool wire)
{
	if (wire) {
		lapic_enable();
		lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_DM_EXTINT);
		CHECK_EQ(lapic_read(LAPIC_LVT_LINT0) & 0x1ffff,
		    LAPIC_LVT_DM_EXTINT);
	} else {
		wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) & ~APIC_BASE_EN);
		CHECK_EQ(rdmsr(MSR_APIC_BASE) & APIC_BASE_EN, 0);
	}
}

int
guest_main(struct boot_info *bi)
{
	char mode[8] = "wire";
	uint64_t ticks = 10, at_stop;
	bool wire;

	(void)cmdline_get(bi->args, "apic", mode, sizeof(mode));
	(void)cmdline_get_u64(bi->args, "ticks", &ticks);
	wire = strcmp(mode, "off") != 0;
	lapic_init(bi->args);	/* the 8259s come out of it masked */
	ioapic_mask_all();
	apic_setup(wire);
	irq_register(V_IRQ0, on_irq0, NULL);

	pit_start_periodic(PIT_RELOAD);
	pic_set_mask((uint16_t)~1u);
	/* No LAPIC timer when the APIC is off: only the ticks end the wait. */
	CHECK(irq_wait_count(V_IRQ0, ticks, wire ? 3000000 : 0));
	pic_set_mask(0xffff);
	pit_stop();
	at_stop = irq_count(V_IRQ0);
	if (wire) {
		lapic_delay_us(QUIET_US);
		CHECK_EQ(irq_count(V_IRQ0), at_stop);
	}
	printf("pit_pic: APIC %s\n", wire ? "in virtual-wire mode" :
	    "disabled");
	printf("pit_pic: %lu ticks through the 8259\n", at_stop);
	CHECK(at_stop >= ticks);
	CHECK_EQ(isr_in & 1, 1);
	CHECK_EQ(isr_after & 1, 0);
	CHECK_EQ(pic_read_isr(), 0);
	return guest_finish("pit_pic");
}
