/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A level-triggered I/O APIC input driven by a pc-testdev line (port
 * 0x2000 + line=, default 20; pin= if the line reaches another pin).
 * Each delivery is one step of a script the handler follows:
 *   1. the line is asserted and stays so: the handler EOIs without
 *      lowering it, so the EOI broadcast finds the line high, clears
 *      remote IRR and the I/O APIC sends again;
 *   2. the handler lowers the line, then EOIs: nothing more arrives.
 *      Remote IRR (entry bit 14) and the local APIC's TMR bit are set
 *      inside both handlers, remote IRR is clear afterwards;
 *   3. the line goes high while the entry is masked: nothing, until
 *      the entry is unmasked (a level entry sends then);
 *   4. the handler lowers the line and writes the I/O APIC's EOI
 *      register (version 0x20 and up; older ones have none and only the
 *      local APIC's EOI is done): remote IRR is clear before the local
 *      APIC's EOI;
 *   5. the entry is made edge-triggered: the rising edge sends once,
 *      and the line held high sends nothing after the EOI.
 */
#include "apic.h"
#include "guest.h"

#define V_LEVEL		0x80
#define TESTDEV_IRQ	0x2000
#define QUIET_US	20000
#define WAIT_US		3000000
#define STEPS		5

static uint16_t line_port;
static int pin;
static bool has_eoir;
static bool rirr_in[STEPS + 1], tmr_in[STEPS + 1], rirr_ioapic_eoi = true;

static void
set_line(bool high)
{
	outb(line_port, high ? 1 : 0);
}

static void
on_level(struct irq_frame *f, void *arg)
{
	uint64_t n = irq_count(V_LEVEL);

	if (n <= STEPS) {
		rirr_in[n] = (ioapic_rte_read(pin) & RTE_REMOTE_IRR) != 0;
		tmr_in[n] = lapic_vector_bit(LAPIC_TMR, V_LEVEL);
	}
	if (n == 2 || n == 3)
		set_line(false);
	if (n == 4) {
		set_line(false);
		if (has_eoir)
			ioapic_eoi(V_LEVEL);
		rirr_ioapic_eoi = (ioapic_rte_read(pin) & RTE_REMOTE_IRR) != 0;
	}
	lapic_eoi();
}

/* Waits for delivery 'n', then checks nothing more came. */
static void
expect_total(uint64_t n)
{
	CHECK(irq_wait_count(V_LEVEL, n, WAIT_US));
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_LEVEL), n);
}

static void
check_redelivery(void)
{
	set_line(true);
	expect_total(2);
	CHECK(rirr_in[1] && rirr_in[2]);
	CHECK(tmr_in[1] && tmr_in[2]);
	CHECK_EQ(ioapic_rte_read(pin) & RTE_REMOTE_IRR, 0);
	printf("level_irq: redelivered while high, quiet once low\n");
}

static void
check_unmask(void)
{
	ioapic_mask(pin, true);
	set_line(true);
	lapic_delay_us(QUIET_US);
	CHECK_EQ(irq_count(V_LEVEL), 2);
	ioapic_mask(pin, false);
	expect_total(3);
	CHECK(rirr_in[3]);
}

static void
check_ioapic_eoi(void)
{
	set_line(true);
	expect_total(4);
	CHECK(rirr_in[4]);
	if (has_eoir)
		CHECK(!rirr_ioapic_eoi);
	else
		printf("level_irq: I/O APIC version 0x%x has no EOI register\n",
		    ioapic_read(IOAPIC_REG_VER) & 0xff);
	CHECK_EQ(ioapic_rte_read(pin) & RTE_REMOTE_IRR, 0);
}

static void
check_edge(void)
{
	ioapic_route(pin, V_LEVEL, false, lapic_id());
	set_line(true);
	expect_total(5);
	CHECK(!tmr_in[5]);
	set_line(false);
	printf("level_irq: edge entry sent once for a held line\n");
}

int
guest_main(struct boot_info *bi)
{
	uint64_t line = 20, p;

	(void)cmdline_get_u64(bi->args, "line", &line);
	p = line;
	(void)cmdline_get_u64(bi->args, "pin", &p);
	line_port = (uint16_t)(TESTDEV_IRQ + line);
	pin = (int)p;
	lapic_init(bi->args);
	lapic_enable();
	ioapic_mask_all();
	if (!CHECK(pin < ioapic_pins()))
		return guest_finish("level_irq");
	has_eoir = (ioapic_read(IOAPIC_REG_VER) & 0xff) >= 0x20;
	set_line(false);
	irq_register(V_LEVEL, on_level, NULL);
	ioapic_route(pin, V_LEVEL, true, lapic_id());
	printf("level_irq: line %lu, pin %d\n", line, pin);

	check_redelivery();
	check_unmask();
	check_ioapic_eoi();
	check_edge();
	ioapic_mask(pin, true);
	return guest_finish("level_irq");
}
