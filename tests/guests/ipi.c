/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IPIs between vCPUs (run with 2 or more; cpus=N on the command line):
 *   - a fixed IPI from the BSP to each AP, which answers with a fixed
 *     IPI back (both sides count);
 *   - a self IPI (ICR shorthand "self"; in x2APIC mode the SELF IPI
 *     register too);
 *   - a broadcast to all excluding self;
 *   - logical destinations: flat model in xAPIC mode (LDR bit = CPU
 *     index), the x2APIC cluster model otherwise, to one AP and then to
 *     all of them;
 *   - an NMI to each AP, taken by its NMI handler.
 * Every AP handler counts in 'acks' and sends IPI_ACK to wake the BSP,
 * which waits for the count with HLT.  (The IPIs alone cannot count:
 * acknowledgements that reach the BSP together share one IRR bit.)
 */
#include "apic.h"
#include "guest.h"
#include "smp.h"

#define IPI_PING	0x40
#define IPI_ACK		0x41
#define IPI_SELF	0x42
#define IPI_BCAST	0x43
#define IPI_LOGICAL	0x44
#define WAIT_US		2000000
#define DFR_FLAT	0xffffffffu

static volatile uint32_t ap_ready[SMP_MAX_CPUS];
static uint32_t acks;

static void
ack_to_bsp(void)
{
	__atomic_fetch_add(&acks, 1, __ATOMIC_SEQ_CST);
	lapic_send_ipi(smp_cpus[0].apic_id, ICR_DM_FIXED | IPI_ACK);
}

/* Fixed IPIs on an AP: answer, then EOI. */
static void
on_fixed(struct irq_frame *f, void *arg)
{
	ack_to_bsp();
	lapic_eoi();
}

/* An NMI is not in service at the local APIC: no EOI. */
static void
on_nmi(struct irq_frame *f, void *arg)
{
	ack_to_bsp();
}

static void
on_eoi_only(struct irq_frame *f, void *arg)
{
	lapic_eoi();
}

/* xAPIC flat model: one LDR bit per CPU index (SDM vol. 3A 11.6.2.2). */
static void
set_logical_id(unsigned index)
{
	if (lapic_x2apic)
		return;	/* the x2APIC LDR is derived from the ID */
	lapic_write(LAPIC_DFR, DFR_FLAT);
	lapic_write(LAPIC_LDR, (1u << index) << 24);
}

static void
ap_setup(unsigned index)
{
	set_logical_id(index);
	ap_ready[index] = 1;
}

static bool
aps_ready(void *arg)
{
	unsigned n = *(const unsigned *)arg;

	for (unsigned i = 1; i <= n; i++)
		if (!ap_ready[i])
			return false;
	return true;
}

/* The logical destination that selects the CPUs in 'cpus' (index bits). */
static uint32_t
logical_dest(uint32_t cpus)
{
	uint32_t dest = 0;

	for (unsigned i = 0; i < SMP_MAX_CPUS; i++) {
		uint32_t id = smp_cpus[i].apic_id;

		if (!(cpus & (1u << i)))
			continue;
		if (lapic_x2apic)	/* cluster in 31:16 (SDM 11.12.10.2) */
			dest |= (id >> 4) << 16 | 1u << (id & 0xf);
		else
			dest |= 1u << i;
	}
	return dest;
}

static bool
acks_reached(void *arg)
{
	return __atomic_load_n(&acks, __ATOMIC_SEQ_CST) >=
	    *(const uint32_t *)arg;
}

/* Sends one IPI and waits for 'more' acknowledgements. */
static bool
send_and_wait(uint32_t dest, uint32_t icr, unsigned more)
{
	uint32_t want = __atomic_load_n(&acks, __ATOMIC_SEQ_CST) + more;

	CHECK(lapic_send_ipi(dest, icr));
	return irq_wait(acks_reached, &want, WAIT_US);
}

static void
check_ping(unsigned aps)
{
	for (unsigned i = 1; i <= aps; i++) {
		CHECK(send_and_wait(smp_cpus[i].apic_id, ICR_DM_FIXED |
		    IPI_PING, 1));
		/* The AP counted before its IPI left: wait for that too. */
		CHECK(irq_wait_count(IPI_ACK, i, WAIT_US));
		CHECK_EQ(irq_count_cpu(i, IPI_PING), 1);
	}
	CHECK_EQ(irq_count_cpu(0, IPI_PING), 0);
	CHECK_EQ(irq_count_cpu(0, IPI_ACK), aps);
	printf("ipi: ping/ack with %u APs\n", aps);
}

static void
check_self(void)
{
	CHECK(lapic_send_ipi(0, ICR_SH_SELF | ICR_DM_FIXED | IPI_SELF));
	CHECK(irq_wait_count(IPI_SELF, 1, WAIT_US));
	if (lapic_x2apic) {
		wrmsr(MSR_X2APIC_BASE + (LAPIC_SELF_IPI >> 4), IPI_SELF);
		CHECK(irq_wait_count(IPI_SELF, 2, WAIT_US));
	}
	CHECK_EQ(irq_count_cpu(0, IPI_SELF), lapic_x2apic ? 2 : 1);
	CHECK_EQ(irq_count(IPI_SELF), lapic_x2apic ? 2 : 1);
}

static void
check_broadcast(unsigned aps)
{
	CHECK(send_and_wait(0, ICR_SH_OTHERS | ICR_DM_FIXED | IPI_BCAST,
	    aps));
	for (unsigned i = 1; i <= aps; i++)
		CHECK_EQ(irq_count_cpu(i, IPI_BCAST), 1);
	CHECK_EQ(irq_count_cpu(0, IPI_BCAST), 0);
}

static void
check_logical(unsigned aps)
{
	uint32_t all_aps = ((1u << (aps + 1)) - 1) & ~1u;

	CHECK(send_and_wait(logical_dest(1u << 1), ICR_LOGICAL |
	    ICR_DM_FIXED | IPI_LOGICAL, 1));
	CHECK(send_and_wait(logical_dest(all_aps), ICR_LOGICAL |
	    ICR_DM_FIXED | IPI_LOGICAL, aps));
	for (unsigned i = 1; i <= aps; i++)
		CHECK_EQ(irq_count_cpu(i, IPI_LOGICAL), i == 1 ? 2 : 1);
	CHECK_EQ(irq_count_cpu(0, IPI_LOGICAL), 0);
}

static void
check_nmi(unsigned aps)
{
	for (unsigned i = 1; i <= aps; i++) {
		CHECK(send_and_wait(smp_cpus[i].apic_id, ICR_DM_NMI, 1));
		CHECK_EQ(irq_count_cpu(i, IRQ_VEC_NMI), 1);
	}
	CHECK_EQ(irq_count_cpu(0, IRQ_VEC_NMI), 0);
}

int
guest_main(struct boot_info *bi)
{
	uint64_t cpus = 0;
	unsigned aps;

	if (!CHECK(cmdline_get_u64(bi->args, "cpus", &cpus) && cpus >= 2 &&
	    cpus <= SMP_MAX_CPUS))
		return guest_finish("ipi");
	lapic_init(bi->args);
	if (cmdline_has_word(bi->args, "x2apic=1"))
		CHECK(lapic_enter_x2apic());
	lapic_enable();
	irq_register(IPI_PING, on_fixed, NULL);
	irq_register(IPI_BCAST, on_fixed, NULL);
	irq_register(IPI_LOGICAL, on_fixed, NULL);
	irq_register(IRQ_VEC_NMI, on_nmi, NULL);
	irq_register(IPI_ACK, on_eoi_only, NULL);
	irq_register(IPI_SELF, on_eoi_only, NULL);
	set_logical_id(0);

	aps = smp_start_aps(ap_setup, (unsigned)cpus - 1, WAIT_US);
	if (!CHECK_EQ(aps, cpus - 1) || !CHECK(irq_wait(aps_ready, &aps,
	    WAIT_US)))
		return guest_finish("ipi");
	printf("ipi: %s mode, %u cpus\n", lapic_x2apic ? "x2APIC" : "xAPIC",
	    aps + 1);
	check_ping(aps);
	check_self();
	check_broadcast(aps);
	check_logical(aps);
	check_nmi(aps);
	lapic_write(LAPIC_ESR, 0);
	CHECK_EQ(lapic_read(LAPIC_ESR), 0);
	return guest_finish("ipi");
}
