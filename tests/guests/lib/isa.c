/* SPDX-License-Identifier: BSD-2-Clause */
/* 8259A pair, 8254 PIT and ACPI PM timer helpers (see chips.h). */
#include "chips.h"
#include "guest.h"

#define ICW1_INIT		0x10
#define ICW1_ICW4		0x01
#define ICW4_8086		0x01
#define OCW2_EOI		0x20
#define OCW3_READ_IRR		0x0a
#define OCW3_READ_ISR		0x0b

#define PIT_SC(ch)		((uint8_t)((ch) << 6))
#define PIT_RW_LOHI		0x30
#define PIT_MODE0		0x00
#define PIT_MODE2		0x04

/* ---- 8259A ---- */

void
pic_init(uint8_t base0, uint8_t base8)
{
	outb(PIC_MASTER, ICW1_INIT | ICW1_ICW4);
	outb(PIC_SLAVE, ICW1_INIT | ICW1_ICW4);
	outb(PIC_MASTER + 1, base0);		/* ICW2 */
	outb(PIC_SLAVE + 1, base8);
	outb(PIC_MASTER + 1, 1 << 2);		/* ICW3: slave on IR2 */
	outb(PIC_SLAVE + 1, 2);			/* ICW3: my cascade ID */
	outb(PIC_MASTER + 1, ICW4_8086);
	outb(PIC_SLAVE + 1, ICW4_8086);
	pic_set_mask(0xffff);
}

void
pic_set_mask(uint16_t mask)
{
	outb(PIC_MASTER + 1, (uint8_t)mask);
	outb(PIC_SLAVE + 1, (uint8_t)(mask >> 8));
}

uint16_t
pic_get_mask(void)
{
	return (uint16_t)(inb(PIC_MASTER + 1) | inb(PIC_SLAVE + 1) << 8);
}

void
pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC_SLAVE, OCW2_EOI);
	outb(PIC_MASTER, OCW2_EOI);
}

static uint16_t
pic_read_ocw3(uint8_t ocw3)
{
	uint16_t v;

	outb(PIC_MASTER, ocw3);
	outb(PIC_SLAVE, ocw3);
	v = (uint16_t)(inb(PIC_MASTER) | inb(PIC_SLAVE) << 8);
	return v;
}

uint16_t
pic_read_isr(void)
{
	return pic_read_ocw3(OCW3_READ_ISR);
}

uint16_t
pic_read_irr(void)
{
	return pic_read_ocw3(OCW3_READ_IRR);
}

void
pic_set_elcr(uint16_t level_irqs)
{
	outb(PIC_ELCR, (uint8_t)level_irqs);
	outb(PIC_ELCR + 1, (uint8_t)(level_irqs >> 8));
}

uint16_t
pic_get_elcr(void)
{
	return (uint16_t)(inb(PIC_ELCR) | inb(PIC_ELCR + 1) << 8);
}

/* ---- 8254 ---- */

void
pit_start_periodic(uint16_t count)
{
	outb(PIT_CONTROL, PIT_SC(0) | PIT_RW_LOHI | PIT_MODE2);
	outb(PIT_PORT, (uint8_t)count);
	outb(PIT_PORT, (uint8_t)(count >> 8));
}

/* Mode 0 drives OUT low at the control word and waits for a count. */
void
pit_stop(void)
{
	outb(PIT_CONTROL, PIT_SC(0) | PIT_RW_LOHI | PIT_MODE0);
}

uint16_t
pit_read_count(int ch)
{
	uint8_t lo, hi;

	outb(PIT_CONTROL, PIT_SC(ch));		/* counter latch command */
	lo = inb((uint16_t)(PIT_PORT + ch));
	hi = inb((uint16_t)(PIT_PORT + ch));
	return (uint16_t)(lo | hi << 8);
}

/* ---- ACPI PM timer ---- */

static uint16_t pmtimer_port = 0x408;
static uint32_t pmtimer_mask = 0xffffffffu;

void
pmtimer_init(const char *args)
{
	uint64_t v;

	if (cmdline_get_u64(args, "pmport", &v) && v != 0 && v < 0x10000)
		pmtimer_port = (uint16_t)v;
	if (cmdline_get_u64(args, "pmbits", &v) && (v == 24 || v == 32))
		pmtimer_mask = v == 24 ? 0xffffffu : 0xffffffffu;
}

uint32_t
pmtimer_read(void)
{
	return inl(pmtimer_port) & pmtimer_mask;
}

uint32_t
pmtimer_delta(uint32_t a, uint32_t b)
{
	return (b - a) & pmtimer_mask;
}

uint64_t
pmtimer_to_us(uint64_t ticks)
{
	return ticks * 1000000ULL / PMTIMER_HZ;
}
