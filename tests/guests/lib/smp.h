/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Application processors: the INIT / SIPI / SIPI start-up (Intel MP
 * specification B.4; SDM vol. 3A 9.4.4) with a real-mode trampoline
 * (ap.S), and the per-CPU index every CPU finds through its GS base.
 *
 * The BSP is CPU 0.  APs take indexes 1, 2, ... in the order they reach
 * long mode, so an index says nothing about an APIC ID: smp_cpus[] has
 * both.  Each AP runs on its own stack with the kit's IDT and its local
 * APIC software-enabled (same xAPIC/x2APIC mode as the BSP), then calls
 * the guest's function; when that returns it waits in "sti; hlt" for
 * good, so it still takes IPIs.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "entry.h"

struct smp_cpu {
	uint32_t index;		/* first: %gs:0 reads it */
	uint32_t apic_id;	/* from the local APIC's ID register */
	volatile uint32_t online;
};

extern struct smp_cpu smp_cpus[SMP_MAX_CPUS];

typedef void smp_ap_fn_t(unsigned index);

/* This CPU's index (GS base points at its struct smp_cpu). */
static inline unsigned
smp_cpu_index(void)
{
	uint32_t i;

	__asm__ volatile("movl %%gs:0, %0" : "=r"(i));
	return i & (SMP_MAX_CPUS - 1);
}

/* Called first by guest_start(): the BSP is CPU 0. */
void smp_bsp_init(void);

/*
 * Sends INIT, then SIPI twice, to all other CPUs (lapic_init() and
 * lapic_enable() first), and waits with HLT and the kit timer until
 * 'expected' APs are online or timeout_us passed.  Each AP calls fn(its
 * index) once online; fn may be NULL.  Returns the number of APs online.
 */
unsigned smp_start_aps(smp_ap_fn_t *fn, unsigned expected,
    uint32_t timeout_us);
/* CPUs online, the BSP included. */
unsigned smp_cpus_online(void);
/* The index of the CPU with this APIC ID, or -1. */
int smp_index_of_apic(uint32_t apic_id);

#endif /* GUEST_SMP_H */
