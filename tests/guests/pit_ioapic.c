/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PIT channel 0 in mode 2 (rate generator) at hz= (default 1000) through
 * I/O APIC pin 2 (ISA IRQ 0 with the MADT's override) to the BSP: ticks=
 * interrupts arrive (default 10), and none after the counter is stopped.
 * Their spacing against the ACPI PM timer is printed (not checked: the
 * host may stall the vCPU).  The 8259s stay
 * masked: a tick through them would be an unexpected vector.
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define V_PIT		0x60
#define PIT_PIN		2
#define WAIT_US		3000000
#define QUIET_US	20000

static uint32_t pm_first, pm_last;

static void
on_pit(struct irq_frame *f, void *arg)
{
	uint32_t pm = pmtimer_read();

	if (irq_count(V_PIT) == 1)
		pm_first = pm;
	pm_last = pm;
	lapic_eoi();
}

int
guest_main(struct boot_info *bi)
{
	uint64_t ticks = 10, hz = 1000, at_stop, us, want;
	uint16_t reload;

	(void)cmdline_get_u64(bi->args, "ticks", &ticks);
	(void)cmdline_get_u64(bi->args, "hz", &hz);
	if (!CHECK(ticks >= 2 && ticks <= 10000 && hz >= 20 && hz <= 10000))
		return guest_finish("pit_ioapic");
	lapic_init(bi->args);
	pmtimer_init(bi->args);
	lapic_enable();
	ioapic_mask_all();
	irq_register(V_PIT, on_pit, NULL);
	ioapic_route(PIT_PIN, V_PIT, false, lapic_id());

	reload = (uint16_t)(PIT_HZ / hz);
	pit_start_periodic(reload);
	CHECK(pit_read_count(0) <= reload);
	CHECK(irq_wait_count(V_PIT, ticks, WAIT_US));
	pit_stop();
	at_stop = irq_count(V_PIT);
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_PIT), at_stop);
	ioapic_mask(PIT_PIN, true);

	us = pmtimer_to_us(pmtimer_delta(pm_first, pm_last));
	want = (at_stop - 1) * (uint64_t)reload * 1000000 / PIT_HZ;
	/* For the record only: a stalled vCPU stretches it. */
	printf("pit_ioapic: %lu ticks on pin %d, %lu us for %lu periods "
	    "(programmed %lu)\n", at_stop, PIT_PIN, us, at_stop - 1, want);
	return guest_finish("pit_ioapic");
}
