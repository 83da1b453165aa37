/* SPDX-License-Identifier: BSD-2-Clause */
/* Local APIC and I/O APIC helpers (see apic.h). */
#include "apic.h"
#include "chips.h"
#include "guest.h"
#include "smp.h"

#define CPUID1_ECX_X2APIC	(1u << 21)
#define CPUID1_ECX_TSCDL	(1u << 24)
/* Delivery-status polls before an xAPIC IPI counts as stuck. */
#define LAPIC_ICR_POLLS		1000

bool lapic_x2apic;
uint64_t lapic_timer_hz = 100000000ULL;

static volatile uint64_t lapic_ticks[SMP_MAX_CPUS];

static void
lapic_kit_tick(struct irq_frame *f, void *arg)
{
	lapic_ticks[smp_cpu_index()]++;
	lapic_eoi();
}

/*
 * A spurious interrupt is not in service: no EOI (SDM vol. 3A 11.9).
 * The same vector sent as a real interrupt (an I/O APIC entry or an IPI
 * may name it) is in service, and needs one.
 */
static void
lapic_spurious(struct irq_frame *f, void *arg)
{
	if (lapic_vector_bit(LAPIC_ISR, IRQ_VEC_SPURIOUS))
		lapic_eoi();
}

/*
 * Also masks the 8259 pair, with its vectors moved out of the exception
 * range: firmware (SeaBIOS under QEMU) leaves the PIT's IRQ 0 unmasked at
 * vector 8, where it would look like a double fault.
 */
void
lapic_init(const char *args)
{
	uint64_t hz;

	pic_init(IRQ_VEC_PIC_MASTER, IRQ_VEC_PIC_SLAVE);
	lapic_x2apic = (rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD) != 0;
	if (args != NULL && cmdline_get_u64(args, "lapichz", &hz) && hz != 0)
		lapic_timer_hz = hz;
	irq_register(IRQ_VEC_KIT_TIMER, lapic_kit_tick, NULL);
	irq_register(IRQ_VEC_SPURIOUS, lapic_spurious, NULL);
}

bool
lapic_cpu_has_x2apic(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (r[2] & CPUID1_ECX_X2APIC) != 0;
}

/* xAPIC -> x2APIC is a legal step (SDM vol. 3A 11.12.5). */
bool
lapic_enter_x2apic(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (!lapic_cpu_has_x2apic())
		return false;
	if (!(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	lapic_x2apic = true;
	return true;
}

void
lapic_match_mode(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (lapic_x2apic && !(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
}

uint32_t
lapic_read(uint32_t reg)
{
	if (lapic_x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + (reg >> 4));
	return mmio_read32(LAPIC_BASE + reg);
}

void
lapic_write(uint32_t reg, uint32_t val)
{
	if (lapic_x2apic)
		wrmsr(MSR_X2APIC_BASE + (reg >> 4), val);
	else
		mmio_write32(LAPIC_BASE + reg, val);
}

uint32_t
lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);

	return lapic_x2apic ? id : id >> 24;
}

void
lapic_enable(void)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | IRQ_VEC_SPURIOUS);
}

void
lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool
lapic_vector_bit(uint32_t bank, int vector)
{
	uint32_t reg = lapic_read(bank + 0x10 * (uint32_t)(vector >> 5));

	return (reg >> (vector & 31)) & 1;
}

bool
lapic_send_ipi(uint32_t dest, uint32_t icr)
{
	if (lapic_x2apic) {
		wrmsr(MSR_X2APIC_BASE + (LAPIC_ICR_LO >> 4),
		    (uint64_t)dest << 32 | icr);
		return true;
	}
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	for (int i = 0; i < LAPIC_ICR_POLLS; i++)
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
			return true;
	return false;
}

uint32_t
lapic_dcr(unsigned divide)
{
	uint32_t code = 7;	/* divide by 1 */

	for (unsigned d = 2, c = 0; d <= 128; d <<= 1, c++)
		if (d == divide)
			code = c;
	return (code & 4) << 1 | (code & 3);
}

void
lapic_timer_start(int vector, uint32_t mode, uint32_t count, unsigned divide)
{
	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_TIMER_DCR, lapic_dcr(divide));
	lapic_write(LAPIC_LVT_TIMER, mode | (uint32_t)vector);
	lapic_write(LAPIC_TIMER_ICR, count);
}

void
lapic_timer_stop(void)
{
	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_VEC_KIT_TIMER);
}

uint32_t
lapic_timer_ccr(void)
{
	return lapic_read(LAPIC_TIMER_CCR);
}

uint32_t
lapic_us_to_count(uint32_t us)
{
	uint64_t n = (uint64_t)us * lapic_timer_hz / 1000000;

	if (n == 0)
		n = 1;
	return n > 0xffffffffULL ? 0xffffffffu : (uint32_t)n;
}

bool
lapic_has_tsc_deadline(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (r[2] & CPUID1_ECX_TSCDL) != 0;
}

/* The LVT write must come first: the MSR is ignored in other modes. */
void
lapic_timer_deadline(int vector, uint64_t tsc)
{
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_TSCDL | (uint32_t)vector);
	wrmsr(MSR_TSC_DEADLINE, tsc);
}

void
lapic_kit_tick_start(void)
{
	lapic_timer_start(IRQ_VEC_KIT_TIMER, LAPIC_TIMER_PERIODIC,
	    lapic_us_to_count(1000), 1);
}

uint64_t
lapic_kit_ticks(void)
{
	return lapic_ticks[smp_cpu_index()];
}

static bool
lapic_ticked(void *arg)
{
	return lapic_kit_ticks() != *(const uint64_t *)arg;
}

void
lapic_delay_us(uint32_t us)
{
	uint64_t start;

	irq_disable();
	start = lapic_kit_ticks();
	lapic_timer_start(IRQ_VEC_KIT_TIMER, LAPIC_TIMER_ONESHOT,
	    lapic_us_to_count(us), 1);
	(void)irq_wait(lapic_ticked, &start, 0);
	lapic_timer_stop();
}

/* ---- I/O APIC ---- */

uint32_t
ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

void
ioapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, val);
}

int
ioapic_pins(void)
{
	return (int)((ioapic_read(IOAPIC_REG_VER) >> 16) & 0xff) + 1;
}

uint64_t
ioapic_rte_read(int pin)
{
	uint32_t lo = ioapic_read(IOAPIC_REG_RTE(pin));
	uint32_t hi = ioapic_read(IOAPIC_REG_RTE(pin) + 1);

	return (uint64_t)hi << 32 | lo;
}

void
ioapic_rte_write(int pin, uint64_t rte)
{
	ioapic_write(IOAPIC_REG_RTE(pin), RTE_MASKED);
	ioapic_write(IOAPIC_REG_RTE(pin) + 1, (uint32_t)(rte >> 32));
	ioapic_write(IOAPIC_REG_RTE(pin), (uint32_t)rte);
}

void
ioapic_route(int pin, int vector, bool level, uint32_t dest)
{
	ioapic_rte_write(pin, (uint64_t)dest << RTE_DEST_SHIFT |
	    (level ? RTE_LEVEL : 0) | (uint32_t)vector);
}

void
ioapic_mask(int pin, bool masked)
{
	uint32_t lo = ioapic_read(IOAPIC_REG_RTE(pin));

	lo = masked ? lo | (uint32_t)RTE_MASKED : lo & ~(uint32_t)RTE_MASKED;
	ioapic_write(IOAPIC_REG_RTE(pin), lo);
}

void
ioapic_mask_all(void)
{
	int n = ioapic_pins();

	for (int pin = 0; pin < n; pin++)
		ioapic_write(IOAPIC_REG_RTE(pin), RTE_MASKED);
}

void
ioapic_eoi(int vector)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_EOIR, (uint32_t)vector);
}
