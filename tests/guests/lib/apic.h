/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Local APIC (xAPIC page at 0xfee00000 or x2APIC MSRs, whichever mode
 * the APIC is in; Intel SDM vol. 3A chapter 11) and I/O APIC (IOREGSEL/
 * IOWIN at 0xfec00000; 82093AA data sheet) helpers.
 *
 * Registers are named by their xAPIC offset; in x2APIC mode the same
 * name reaches MSR 0x800 + offset / 16.  The mode is the BSP's, found by
 * lapic_init(); every CPU is brought to it.
 */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE		0xfee00000ULL
#define MSR_APIC_BASE		0x1b
#define APIC_BASE_BSP		(1ULL << 8)
#define APIC_BASE_EXTD		(1ULL << 10)
#define APIC_BASE_EN		(1ULL << 11)
#define MSR_X2APIC_BASE		0x800
#define MSR_TSC_DEADLINE	0x6e0

#define LAPIC_ID		0x020
#define LAPIC_VER		0x030
#define LAPIC_TPR		0x080
#define LAPIC_APR		0x090
#define LAPIC_PPR		0x0a0
#define LAPIC_EOI		0x0b0
#define LAPIC_LDR		0x0d0
#define LAPIC_DFR		0x0e0
#define LAPIC_SVR		0x0f0
#define LAPIC_ISR		0x100	/* 8 registers, 0x10 apart */
#define LAPIC_TMR		0x180
#define LAPIC_IRR		0x200
#define LAPIC_ESR		0x280
#define LAPIC_LVT_CMCI		0x2f0
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_THERMAL	0x330
#define LAPIC_LVT_PMC		0x340
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_LVT_LINT1		0x360
#define LAPIC_LVT_ERROR		0x370
#define LAPIC_TIMER_ICR		0x380
#define LAPIC_TIMER_CCR		0x390
#define LAPIC_TIMER_DCR		0x3e0
#define LAPIC_SELF_IPI		0x3f0	/* x2APIC only */

#define LAPIC_SVR_ENABLE	0x100
#define LAPIC_LVT_MASKED	0x10000
#define LAPIC_LVT_DM_NMI	0x400
#define LAPIC_LVT_DM_EXTINT	0x700
#define LAPIC_TIMER_ONESHOT	0x00000
#define LAPIC_TIMER_PERIODIC	0x20000
#define LAPIC_TIMER_TSCDL	0x40000

/* ICR low word (SDM vol. 3A 11.6.1). */
#define ICR_DM_FIXED		0x000
#define ICR_DM_LOWPRI		0x100
#define ICR_DM_NMI		0x400
#define ICR_DM_INIT		0x500
#define ICR_DM_STARTUP		0x600
#define ICR_LOGICAL		0x800
#define ICR_BUSY		0x1000
#define ICR_ASSERT		0x4000
#define ICR_LEVEL		0x8000
#define ICR_SH_SELF		0x40000
#define ICR_SH_ALL		0x80000
#define ICR_SH_OTHERS		0xc0000

/* Found by lapic_init(): x2APIC mode, and the timer's input clock. */
extern bool lapic_x2apic;
extern uint64_t lapic_timer_hz;

/*
 * Records the BSP's mode and masks the 8259s (pic_init()).  'args' may
 * carry lapichz=<Hz> (the timer's clock: 100 MHz on bhyve, 1 GHz on
 * KVM's in-kernel APIC).
 */
void lapic_init(const char *args);
/* Moves this CPU to x2APIC mode; false if CPUID does not offer it. */
bool lapic_enter_x2apic(void);
bool lapic_cpu_has_x2apic(void);
/* Brings this CPU's APIC to the BSP's mode (for APs). */
void lapic_match_mode(void);

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t val);
uint32_t lapic_id(void);
/* Software enable (SVR) with the kit's spurious vector, TPR 0. */
void lapic_enable(void);
void lapic_eoi(void);
/* The bit for 'vector' in the ISR, TMR or IRR bank. */
bool lapic_vector_bit(uint32_t bank, int vector);

/*
 * Sends an IPI: 'icr' is the low word (vector, mode, shorthand), 'dest'
 * the APIC ID or logical mask.  In xAPIC mode waits for the delivery
 * status to clear; false if it never did.
 */
bool lapic_send_ipi(uint32_t dest, uint32_t icr);

/* DCR encoding of a divider 1, 2, 4 ... 128 (SDM vol. 3A 11.5.4). */
uint32_t lapic_dcr(unsigned divide);
/* One-shot or periodic ('mode'), counting 'count' at timer_hz / divide. */
void lapic_timer_start(int vector, uint32_t mode, uint32_t count,
    unsigned divide);
void lapic_timer_stop(void);
uint32_t lapic_timer_ccr(void);
/* Timer ticks for 'us' microseconds at divide 1 (at most 2^32 - 1). */
uint32_t lapic_us_to_count(uint32_t us);
bool lapic_has_tsc_deadline(void);
/* TSC-deadline mode on 'vector', firing when the TSC reaches 'tsc'. */
void lapic_timer_deadline(int vector, uint64_t tsc);

/* The kit's tick (IRQ_VEC_KIT_TIMER) for irq_wait() timeouts. */
void lapic_kit_tick_start(void);
uint64_t lapic_kit_ticks(void);
/* Sleeps 'us' microseconds on a one-shot kit timer (HLT, not a spin). */
void lapic_delay_us(uint32_t us);

/* ---- I/O APIC ---- */
#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_REGSEL		0x00
#define IOAPIC_WIN		0x10
#define IOAPIC_EOIR		0x40
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REG_RTE(pin)	(0x10 + 2 * (pin))

#define RTE_DM_NMI		(4ULL << 8)
#define RTE_DM_EXTINT		(7ULL << 8)
#define RTE_LOGICAL		(1ULL << 11)
#define RTE_DELIVS		(1ULL << 12)
#define RTE_POLARITY_LOW	(1ULL << 13)
#define RTE_REMOTE_IRR		(1ULL << 14)
#define RTE_LEVEL		(1ULL << 15)
#define RTE_MASKED		(1ULL << 16)
#define RTE_DEST_SHIFT		56

uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t val);
int ioapic_pins(void);
uint64_t ioapic_rte_read(int pin);
/* Writes the high word first, so an unmasked entry is never half new. */
void ioapic_rte_write(int pin, uint64_t rte);
/* Fixed delivery of 'vector' to APIC ID 'dest' (physical), unmasked. */
void ioapic_route(int pin, int vector, bool level, uint32_t dest);
void ioapic_mask(int pin, bool masked);
void ioapic_mask_all(void);
/* The version 0x20 EOI register: clears remote IRR for 'vector'. */
void ioapic_eoi(int vector);

#endif /* GUEST_APIC_H */
