/* SPDX-License-Identifier: BSD-2-Clause */
/* Starting the application processors (see smp.h and ap.S). */
#include "apic.h"
#include "guest.h"
#include "smp.h"

/* Delays of the MP start-up sequence, shortened: the vmm needs none. */
#define SMP_INIT_DELAY_US	1000
#define SMP_SIPI_DELAY_US	200

struct smp_cpu smp_cpus[SMP_MAX_CPUS];

/* Read by ap.S. */
uint32_t smp_boot_cr3;
volatile uint32_t smp_next_index;

extern const uint8_t ap_tramp_start[], ap_tramp_end[];

void smp_ap_entry(unsigned index);

static smp_ap_fn_t *volatile smp_ap_fn;
static volatile uint32_t smp_online_aps;

static void
smp_set_gs(unsigned index)
{
	smp_cpus[index].index = index;
	wrmsr(MSR_GS_BASE, (uint64_t)&smp_cpus[index]);
}

void
smp_bsp_init(void)
{
	smp_set_gs(0);
	smp_cpus[0].online = 1;
}

/* From ap.S, on the AP's own stack, interrupts disabled. */
void
smp_ap_entry(unsigned index)
{
	smp_ap_fn_t *fn = smp_ap_fn;

	smp_set_gs(index);
	irq_load_idt();
	lapic_match_mode();
	lapic_enable();
	smp_cpus[index].apic_id = lapic_id();
	smp_cpus[index].online = 1;
	__atomic_fetch_add(&smp_online_aps, 1, __ATOMIC_SEQ_CST);
	if (fn != NULL)
		fn(index);
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}

struct smp_goal {
	unsigned expected;
};

static bool
smp_enough(void *arg)
{
	const struct smp_goal *g = arg;

	return smp_online_aps >= g->expected;
}

unsigned
smp_start_aps(smp_ap_fn_t *fn, unsigned expected, uint32_t timeout_us)
{
	struct smp_goal goal = { .expected = expected };
	uint32_t sipi = ICR_SH_OTHERS | ICR_ASSERT | ICR_DM_STARTUP |
	    (SMP_TRAMPOLINE >> 12);

	memcpy((void *)(uint64_t)SMP_TRAMPOLINE, ap_tramp_start,
	    (size_t)(ap_tramp_end - ap_tramp_start));
	smp_boot_cr3 = (uint32_t)read_cr3();
	smp_ap_fn = fn;
	smp_next_index = 1;
	smp_cpus[0].apic_id = lapic_id();
	__asm__ volatile("" ::: "memory");

	if (!lapic_send_ipi(0, ICR_SH_OTHERS | ICR_ASSERT | ICR_DM_INIT))
		printf("smp: INIT IPI still pending\n");
	lapic_delay_us(SMP_INIT_DELAY_US);
	for (int i = 0; i < 2; i++) {
		if (!lapic_send_ipi(0, sipi))
			printf("smp: SIPI still pending\n");
		lapic_delay_us(SMP_SIPI_DELAY_US);
	}
	(void)irq_wait(smp_enough, &goal, timeout_us);
	return smp_online_aps;
}

unsigned
smp_cpus_online(void)
{
	return smp_online_aps + 1;
}

int
smp_index_of_apic(uint32_t apic_id)
{
	for (int i = 0; i < SMP_MAX_CPUS; i++)
		if (smp_cpus[i].online && smp_cpus[i].apic_id == apic_id)
			return i;
	return -1;
}
