/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IDT, per-vector handlers and counts, and waiting for interrupts
 * with HLT (see irq.h for the conventions).
 */
#include "apic.h"
#include "guest.h"
#include "smp.h"

#define IDT_INTERRUPT_GATE	0x8e	/* present, DPL 0, 64-bit int gate */
#define ISR_STUB_SIZE		16

struct idt_gate {
	uint16_t offset0;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset1;
	uint32_t offset2;
	uint32_t reserved;
};

struct irq_slot {
	irq_handler_t *fn;
	void *arg;
};

/* A faulting instruction and where to resume (isr.S). */
struct kit_fixup {
	uint64_t insn;
	uint64_t landing;
};

extern const uint8_t isr_stubs[], isr_stubs_end[];
extern const struct kit_fixup kit_fixups[], kit_fixups_end[];

void irq_dispatch(struct irq_frame *f);

static struct idt_gate irq_idt[IRQ_VECTORS] __attribute__((aligned(16)));
static struct irq_slot irq_slots[IRQ_VECTORS];
/* Written only by the CPU they belong to. */
static volatile uint64_t irq_counts[SMP_MAX_CPUS][IRQ_VECTORS];

void
irq_load_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {
		.limit = sizeof(irq_idt) - 1,
		.base = (uint64_t)irq_idt,
	};

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static void
irq_gate(int v, uint64_t a)
{
	irq_idt[v] = (struct idt_gate){
		.offset0 = (uint16_t)a,
		.selector = GDT_CODE64,
		.type = IDT_INTERRUPT_GATE,
		.offset1 = (uint16_t)(a >> 16),
		.offset2 = (uint32_t)(a >> 32),
	};
}

void
irq_set_gate(int vector, void (*entry)(void))
{
	if (vector >= 0 && vector < IRQ_VECTORS)
		irq_gate(vector, (uint64_t)entry);
}

void
irq_init(void)
{
	for (int v = 0; v < IRQ_VECTORS; v++)
		irq_gate(v, (uint64_t)isr_stubs + (uint64_t)v * ISR_STUB_SIZE);
	irq_load_idt();
	/* A stub longer than its slot would shift every later vector. */
	if (isr_stubs_end - isr_stubs != IRQ_VECTORS * ISR_STUB_SIZE)
		printf("FAIL kit: isr stubs are %ld bytes\n",
		    (long)(isr_stubs_end - isr_stubs));
}

void
irq_register(int vector, irq_handler_t *fn, void *arg)
{
	if (vector < 0 || vector >= IRQ_VECTORS)
		return;
	/* Never half-updated as seen from a handler: fn last. */
	irq_slots[vector].fn = NULL;
	__asm__ volatile("" ::: "memory");
	irq_slots[vector].arg = arg;
	__asm__ volatile("" ::: "memory");
	irq_slots[vector].fn = fn;
}

void
irq_register_range(int first, int last, irq_handler_t *fn, void *arg)
{
	for (int v = first; v <= last; v++)
		irq_register(v, fn, arg);
}

uint64_t
irq_count_cpu(unsigned cpu, int vector)
{
	if (cpu >= SMP_MAX_CPUS || vector < 0 || vector >= IRQ_VECTORS)
		return 0;
	return irq_counts[cpu][vector];
}

uint64_t
irq_count(int vector)
{
	uint64_t n = 0;

	for (unsigned cpu = 0; cpu < SMP_MAX_CPUS; cpu++)
		n += irq_count_cpu(cpu, vector);
	return n;
}

void
irq_counts_reset(void)
{
	for (unsigned cpu = 0; cpu < SMP_MAX_CPUS; cpu++)
		for (int v = 0; v < IRQ_VECTORS; v++)
			irq_counts[cpu][v] = 0;
}

/* rdmsr_safe/wrmsr_safe: resume a #GP at the landing pad. */
static bool
irq_fixup(struct irq_frame *f)
{
	for (const struct kit_fixup *x = kit_fixups; x < kit_fixups_end; x++) {
		if (f->rip == x->insn) {
			f->rip = x->landing;
			return true;
		}
	}
	return false;
}

static void
irq_unexpected(const struct irq_frame *f)
{
	printf("FAIL unexpected interrupt vector 0x%lx on cpu %u at rip 0x%lx\n",
	    f->vector, smp_cpu_index(), f->rip);
	check_note_failure();
}

void
irq_dispatch(struct irq_frame *f)
{
	unsigned vec = (unsigned)f->vector & 0xff;
	unsigned cpu = smp_cpu_index();
	const struct irq_slot *s = &irq_slots[vec];
	irq_handler_t *fn = s->fn;

	irq_counts[cpu][vec]++;
	if (vec < 32 && irq_fixup(f))
		return;
	if (fn != NULL) {
		fn(f, s->arg);
		return;
	}
	if (vec < 32)
		guest_exception(f);
	irq_unexpected(f);
}

bool
irq_wait(irq_cond_t *cond, void *arg, uint32_t timeout_us)
{
	uint64_t start = 0, limit = 0;
	bool ok;

	irq_disable();
	if (cond(arg))
		return true;
	if (timeout_us != 0) {
		start = lapic_kit_ticks();
		limit = (timeout_us + 999) / 1000;
		lapic_kit_tick_start();
	}
	while (!(ok = cond(arg))) {
		if (timeout_us != 0 && lapic_kit_ticks() - start >= limit)
			break;
		irq_halt_once();
	}
	if (timeout_us != 0)
		lapic_timer_stop();
	return ok;
}

struct irq_count_goal {
	int vector;
	uint64_t target;
};

static bool
irq_count_reached(void *arg)
{
	const struct irq_count_goal *g = arg;

	return irq_count(g->vector) >= g->target;
}

bool
irq_wait_count(int vector, uint64_t target, uint32_t timeout_us)
{
	struct irq_count_goal g = { .vector = vector, .target = target };

	return irq_wait(irq_count_reached, &g, timeout_us);
}
