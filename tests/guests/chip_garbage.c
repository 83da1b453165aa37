/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A hostile guest for the interrupt and timer chips: with interrupts
 * disabled, rounds= passes (default 4) of pseudo-random values (seed=)
 * written to, and read from, every register of the 8259 pair and ELCR,
 * the 8254 and port 0x61, the RTC index and data ports, the PM timer,
 * the I/O APIC (IOREGSEL/IOWIN and the rest of its page), the HPET and
 * the local APIC (xAPIC page, or every x2APIC MSR and TSC_DEADLINE
 * through a #GP-proof wrmsr), at odd widths and with string I/O too.
 * x2apic=1 moves to x2APIC mode first (bhyve -x starts there).
 * Then everything this guest needs is set up again, stray interrupts
 * are drained, and each chip must still work: LAPIC timer, a self IPI,
 * PIT through the I/O APIC, RTC, HPET comparator, PM timer.  The point
 * is the VMM: it must survive all of it.
 *
 * Spared, so the guest survives to tell: the ICR (an INIT to ourselves
 * would end the test), the APIC base MSR, INIT and SMI delivery modes in
 * I/O APIC entries (they reset the CPU or enter SMM on real hardware),
 * HPET FSB delivery (random MSIs), and vectors 16-31 in entries and
 * LVTs (the guest would take them for exceptions: with an error code
 * for some, which an interrupt does not push).  Vectors 0-15, illegal
 * for the APICs, are kept.  NMIs may come; they are counted.
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"

#define V_CHECK		0x50
#define V_PIT		0x51
#define V_HPET		0x52
#define V_SELF		0x53
#define WAIT_US		3000000
#define DRAIN_US	5000

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t absorbed;

/* xorshift64: the same sequence on every run for a given seed. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint32_t
vector_safe(uint32_t v)
{
	uint32_t vec = v & 0xff;

	return vec >= 16 && vec < 32 ? v | 0x20 : v;
}

/* An I/O APIC entry's low word: no INIT or SMI, no vector 16-31. */
static uint32_t
rte_safe(uint32_t v)
{
	uint32_t dm = (v >> 8) & 7;

	if (dm == 2 || dm == 5)
		v &= ~0x700u;
	return vector_safe(v);
}

static void
on_nmi(struct irq_frame *f, void *arg)
{
}

static void
on_stray(struct irq_frame *f, void *arg)
{
	absorbed++;
	lapic_eoi();
}

static void
on_eoi(struct irq_frame *f, void *arg)
{
	lapic_eoi();
}

static void
hammer_ports(const uint16_t *ports, int n, int times)
{
	for (int t = 0; t < times; t++) {
		for (int i = 0; i < n; i++) {
			outb(ports[i], (uint8_t)rng());
			(void)inb(ports[i]);
		}
	}
	/* Widths the chips do not take, and string I/O through them. */
	for (int i = 0; i < n; i++) {
		uint8_t buf[16];

		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)rng();
		outw(ports[i], (uint16_t)rng());
		outl(ports[i], (uint32_t)rng());
		(void)inw(ports[i]);
		(void)inl(ports[i]);
		outsb(ports[i], buf, sizeof(buf));
		insb(ports[i], buf, sizeof(buf));
		insw(ports[i], buf, sizeof(buf) / 2);
	}
}

static void
hammer_isa(uint16_t pm_port)
{
	static const uint16_t pic[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
	static const uint16_t pit[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };
	uint16_t pm[] = { pm_port, (uint16_t)(pm_port + 1),
		(uint16_t)(pm_port + 2), (uint16_t)(pm_port + 3) };

	hammer_ports(pic, 6, 16);
	hammer_ports(pit, 5, 16);
	hammer_ports(pm, 4, 4);
	for (int i = 0; i < 64; i++) {
		outb(0x70, (uint8_t)rng());
		outb(0x71, (uint8_t)rng());
		(void)inb(0x71);
	}
	hammer_ports((const uint16_t[]){ 0x70, 0x71 }, 2, 2);
}

static void
hammer_ioapic(void)
{
	for (int i = 0; i < 128; i++) {
		uint32_t sel = (uint32_t)rng(), val = (uint32_t)rng();

		/* Mostly real registers: IDs, version, the entries. */
		if (i & 1)
			sel &= 0x3f;
		mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, sel);
		if ((sel & 0xff) >= 0x10 && (sel & 0xff) < 0x50 && !(sel & 1))
			val = rte_safe(val);
		mmio_write32(IOAPIC_BASE + IOAPIC_WIN, val);
		(void)mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
	}
	for (int i = 0; i < 64; i++) {
		uint64_t r = rng(), off = (r >> 40) & 0xff8;

		if (off == IOAPIC_REGSEL || off == IOAPIC_WIN)
			continue;	/* done above, with the entries spared */
		mmio_write64(IOAPIC_BASE + off, r);
		mmio_write8(IOAPIC_BASE + off + 3, (uint8_t)r);
		(void)mmio_read16(IOAPIC_BASE + off + 1);
		(void)mmio_read64(IOAPIC_BASE + off);
	}
	(void)mmio_read8(IOAPIC_BASE + IOAPIC_WIN + 1);
	mmio_write16(IOAPIC_BASE + IOAPIC_REGSEL, (uint16_t)rng());
}

static void
hammer_hpet(void)
{
	for (uint32_t off = 0; off < 0x400; off += 8) {
		uint64_t r = rng();

		if (off >= 0x100 && (off & 0x1f) == 0)
			r &= ~HPET_TN_FSB_EN;
		hpet_write(off, r);
		mmio_write32(HPET_BASE + off + 4, (uint32_t)rng());
		(void)hpet_read(off);
		(void)mmio_read32(HPET_BASE + off + 4);
		(void)mmio_read8(HPET_BASE + off + 1);
		mmio_write16(HPET_BASE + off + 2, (uint16_t)r);
	}
}

static bool
lapic_spared(uint32_t off)
{
	return off == LAPIC_ICR_LO || off == LAPIC_ICR_HI;
}

static void
hammer_xapic(void)
{
	for (uint32_t off = 0; off < 0x400; off += 0x10) {
		uint32_t r = (uint32_t)rng();

		if (lapic_spared(off))
			continue;
		if (off >= LAPIC_LVT_CMCI && off <= LAPIC_LVT_ERROR)
			r = vector_safe(r);
		mmio_write32(LAPIC_BASE + off, r);
		(void)mmio_read32(LAPIC_BASE + off);
		mmio_write8(LAPIC_BASE + off + 1, (uint8_t)rng());
		(void)mmio_read16(LAPIC_BASE + off + 2);
		(void)mmio_read64(LAPIC_BASE + off + 4);
	}
}

static void
hammer_x2apic(void)
{
	uint64_t v;

	for (uint32_t msr = 0x800; msr < 0x900; msr++) {
		uint64_t r = rng();
		uint32_t off = (msr - 0x800) << 4;

		if (lapic_spared(off))
			continue;
		if (msr & 1)
			r &= 0xffffffffu;	/* high bits #GP everywhere */
		if ((off >= LAPIC_LVT_CMCI && off <= LAPIC_LVT_ERROR) ||
		    off == LAPIC_SELF_IPI)
			r = vector_safe((uint32_t)r);
		(void)wrmsr_safe(msr, r);
		(void)rdmsr_safe(msr, &v);
	}
	(void)wrmsr_safe(MSR_TSC_DEADLINE, rng());
	(void)rdmsr_safe(MSR_TSC_DEADLINE, &v);
}

static void
hammer(uint16_t pm_port)
{
	hammer_isa(pm_port);
	hammer_ioapic();
	hammer_hpet();
	if (lapic_x2apic)
		hammer_x2apic();
	else
		hammer_xapic();
}

/* Back to a state this guest knows, then take whatever is still pending. */
static void
reinit(void)
{
	static const uint32_t lvts[] = { LAPIC_LVT_TIMER, LAPIC_LVT_LINT0,
		LAPIC_LVT_LINT1, LAPIC_LVT_ERROR, LAPIC_LVT_PMC,
		LAPIC_LVT_THERMAL, LAPIC_LVT_CMCI };
	int pins = ioapic_pins();
	/* The CMCI LVT exists only with 7 LVTs (KVM has 6: #GP in x2APIC). */
	size_t nlvt = ((lapic_read(LAPIC_VER) >> 16) & 0xff) >= 6 ? 7 : 6;

	lapic_enable();
	lapic_write(LAPIC_TIMER_ICR, 0);
	for (size_t i = 0; i < nlvt; i++)
		lapic_write(lvts[i], LAPIC_LVT_MASKED | IRQ_VEC_KIT_TIMER);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	pic_init(IRQ_VEC_PIC_MASTER, IRQ_VEC_PIC_SLAVE);
	pic_set_elcr(0);
	pit_stop();
	rtc_write(RTC_REG_A, RTC_A_DV_NORMAL);
	rtc_write(RTC_REG_B, RTC_B_24H);
	(void)rtc_read(RTC_REG_C);
	hpet_write(HPET_CONFIG, 0);
	for (int t = 0; t < 3; t++)
		hpet_timer_stop(t);
	hpet_write(HPET_ISR, ~0ULL);
	for (int pin = 0; pin < pins; pin++) {
		uint64_t rte = ioapic_rte_read(pin);

		ioapic_rte_write(pin, RTE_MASKED);
		if (rte & RTE_REMOTE_IRR)
			ioapic_eoi((int)(rte & 0xff));
	}
	/* Every vector but the kit's timer and spurious ones. */
	irq_register_range(0x20, IRQ_VEC_KIT_TIMER - 1, on_stray, NULL);
	irq_register_range(IRQ_VEC_KIT_TIMER + 1, 0xfe, on_stray, NULL);
	lapic_delay_us(DRAIN_US);
	lapic_delay_us(DRAIN_US);
	irq_register_range(0x20, IRQ_VEC_KIT_TIMER - 1, NULL, NULL);
	irq_register_range(IRQ_VEC_KIT_TIMER + 1, 0xfe, NULL, NULL);
}

static void
check_chips(void)
{
	struct rtc_time t;
	uint32_t pm = pmtimer_read(), cap;
	uint64_t h, base;
	int pin;

	irq_counts_reset();
	lapic_timer_start(V_CHECK, LAPIC_TIMER_ONESHOT, lapic_us_to_count(1000),
	    1);
	CHECK(irq_wait_count(V_CHECK, 1, 0));
	CHECK(lapic_send_ipi(0, ICR_SH_SELF | V_SELF));
	CHECK(irq_wait_count(V_SELF, 1, WAIT_US));
	ioapic_route(2, V_PIT, false, lapic_id());
	pit_start_periodic(PIT_HZ / 1000);
	CHECK(irq_wait_count(V_PIT, 5, WAIT_US));
	pit_stop();
	ioapic_mask(2, true);
	CHECK(rtc_get_time(&t));
	CHECK(rtc_read(RTC_REG_D) & 0x80);	/* VRT: RAM and time valid */
	cap = hpet_route_cap(2);
	pin = hpet_pick_pin(cap);
	hpet_config(true, false);
	h = hpet_counter();
	if (CHECK(pin >= 0)) {
		ioapic_route(pin, V_HPET, false, lapic_id());
		CHECK(hpet_oneshot_us(2, pin, 1000, false));
		base = irq_count(V_HPET);
		CHECK(irq_wait_count(V_HPET, base + 1, WAIT_US));
		hpet_timer_stop(2);
		ioapic_mask(pin, true);
	}
	CHECK(hpet_counter() > h);
	hpet_config(false, false);
	CHECK(pmtimer_delta(pm, pmtimer_read()) > 0);
}

int
guest_main(struct boot_info *bi)
{
	uint64_t rounds = 4, seed, pm_port = 0x408;

	(void)cmdline_get_u64(bi->args, "rounds", &rounds);
	if (cmdline_get_u64(bi->args, "seed", &seed) && seed != 0)
		rng_state = seed;
	(void)cmdline_get_u64(bi->args, "pmport", &pm_port);
	lapic_init(bi->args);
	pmtimer_init(bi->args);
	if (cmdline_has_word(bi->args, "x2apic=1"))
		CHECK(lapic_enter_x2apic());
	lapic_enable();
	irq_register(IRQ_VEC_NMI, on_nmi, NULL);

	irq_disable();
	for (uint64_t r = 0; r < rounds; r++)
		hammer((uint16_t)pm_port);
	printf("chip_garbage: %lu rounds done, %lu NMIs\n", rounds,
	    irq_count(IRQ_VEC_NMI));
	reinit();
	printf("chip_garbage: %lu stray interrupts drained\n", absorbed);
	irq_register(V_CHECK, on_eoi, NULL);
	irq_register(V_PIT, on_eoi, NULL);
	irq_register(V_HPET, on_eoi, NULL);
	irq_register(V_SELF, on_eoi, NULL);
	check_chips();
	printf("chip_garbage: survived\n");
	return guest_finish("chip_garbage");
}
