/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupts in the test guests: a 256-entry IDT shared by every CPU, a
 * handler per vector registered from C, and per-CPU counts of what each
 * CPU took.
 *
 * Conventions:
 *   - Guests run with interrupts disabled and open them only to wait:
 *     irq_wait() does "cli; test; sti; hlt" until the condition holds.
 *     On the test machines an interrupt that becomes pending while IF=1
 *     is not taken at once (no interrupt-window exit fires while the
 *     CPU emulates CPL-0 code): it arrives at the next HLT (QEMU) or the
 *     next VM exit (bhyve).  A HLT is the one reliable place.
 *   - A vector without a handler: 0-31 report "FAIL exception ..." and
 *     end the test, as before; 32-255 print "FAIL unexpected interrupt"
 *     and count as a failed check.  NMI (2) may have a handler.
 *   - Counts are taken before the handler runs; a handler may read its
 *     own count to know which delivery it is.
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "entry.h"

#define IRQ_VECTORS		256
#define IRQ_VEC_NMI		2
#define IRQ_VEC_GP		13
/* Where lapic_init() puts the 8259's IRQs 0-7 and 8-15. */
#define IRQ_VEC_PIC_MASTER	0x20
#define IRQ_VEC_PIC_SLAVE	0x28
/* Vectors the kit keeps for itself: its timer tick and the spurious one. */
#define IRQ_VEC_KIT_TIMER	0xef
#define IRQ_VEC_SPURIOUS	0xff

/* What isr.S saved, lowest address first; handlers may change it. */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

typedef void irq_handler_t(struct irq_frame *f, void *arg);
typedef bool irq_cond_t(void *arg);

/* Fills the IDT (once) and loads it on this CPU. */
void irq_init(void);
void irq_load_idt(void);

/*
 * Points a vector's gate (shared by every CPU) at an entry of the
 * caller's own, bypassing the kit's stubs, counts and handlers: for
 * benchmarks that want the shortest path to IRETQ.
 */
void irq_set_gate(int vector, void (*entry)(void));

/* Handlers are shared by every CPU; NULL restores the default. */
void irq_register(int vector, irq_handler_t *fn, void *arg);
/* Registers fn for every vector in [first, last]. */
void irq_register_range(int first, int last, irq_handler_t *fn, void *arg);

/* Deliveries of 'vector' to one CPU, or to all of them. */
uint64_t irq_count_cpu(unsigned cpu, int vector);
uint64_t irq_count(int vector);
/* Forgets every count (only while nothing is being delivered). */
void irq_counts_reset(void);

static inline void
irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void
irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/*
 * One "sti; hlt" then "cli": whatever was pending, or the next
 * interrupt, has been taken when it returns.
 */
static inline void
irq_halt_once(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/*
 * Waits with HLT until cond(arg) holds, and returns it.  With a nonzero
 * timeout the kit's LAPIC timer ticks every millisecond (lapic_enable()
 * first; the guest must not be using the LAPIC timer itself) and ends
 * the wait after about timeout_us; with 0 only the condition ends it.
 * Returns with interrupts disabled.
 */
bool irq_wait(irq_cond_t *cond, void *arg, uint32_t timeout_us);
/* irq_wait() for "irq_count(vector) >= target". */
bool irq_wait_count(int vector, uint64_t target, uint32_t timeout_us);

/* MSR access that returns false instead of taking a #GP (isr.S). */
bool rdmsr_safe(uint32_t msr, uint64_t *val);
bool wrmsr_safe(uint32_t msr, uint64_t val);

#endif /* GUEST_IRQ_H */
