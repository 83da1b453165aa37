/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every AP starts through INIT / SIPI / SIPI and reports what it is:
 * its local APIC ID, CPUID leaf 1 EBX[31:24] and leaf 0xb's x2APIC ID
 * (all three must agree), and leaf 0xb's topology levels.  The harness
 * passes the shape it gave the VM:
 *   cpus=N sockets=S cores=C threads=T
 * APIC IDs must be distinct and be exactly the IDs that shape packs
 * (thread in the low bits, then core, then socket, each field as wide
 * as the next power of two; SDM vol. 3A 9.4.1).
 */
#include "apic.h"
#include "guest.h"
#include "smp.h"

#define AP_TIMEOUT_US	3000000
#define LEVEL_SMT	1
#define LEVEL_CORE	2

struct cpu_report {
	uint32_t lapic_id;
	uint32_t leaf1_id;	/* CPUID.1:EBX[31:24] */
	uint32_t leaf1_count;	/* CPUID.1:EBX[23:16] */
	uint32_t leaf1_edx;
	uint32_t leafb[3][4];	/* subleaves 0-2 */
	volatile uint32_t done;
};

struct shape {
	unsigned cpus, sockets, cores, threads;
};

static struct cpu_report reports[SMP_MAX_CPUS];
static uint32_t max_leaf;

static void
collect(unsigned index)
{
	struct cpu_report *r = &reports[index];
	uint32_t regs[4];

	r->lapic_id = lapic_id();
	cpuid(1, 0, regs);
	r->leaf1_id = regs[1] >> 24;
	r->leaf1_count = (regs[1] >> 16) & 0xff;
	r->leaf1_edx = regs[3];
	if (max_leaf >= 0xb)
		for (uint32_t sub = 0; sub < 3; sub++)
			cpuid(0xb, sub, r->leafb[sub]);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

static unsigned
width(unsigned n)
{
	unsigned w = 0;

	while ((1u << w) < n)
		w++;
	return w;
}

static bool
all_reported(void *arg)
{
	unsigned n = *(const unsigned *)arg;

	for (unsigned i = 0; i < n; i++)
		if (!reports[i].done)
			return false;
	return true;
}

/* Leaf 0xb for one CPU (SDM vol. 2A, CPUID, leaf 0BH). */
static void
check_leafb(const struct cpu_report *r, const struct shape *s)
{
	unsigned tw = width(s->threads), cw = width(s->cores);

	CHECK_EQ(r->leafb[0][3], r->lapic_id);
	CHECK_EQ(r->leafb[0][0] & 0x1f, tw);
	CHECK_EQ(r->leafb[0][1] & 0xffff, s->threads);
	CHECK_EQ((r->leafb[0][2] >> 8) & 0xff, LEVEL_SMT);
	CHECK_EQ(r->leafb[1][0] & 0x1f, tw + cw);
	CHECK_EQ(r->leafb[1][1] & 0xffff, s->threads * s->cores);
	CHECK_EQ((r->leafb[1][2] >> 8) & 0xff, LEVEL_CORE);
	CHECK_EQ((r->leafb[2][2] >> 8) & 0xff, 0);	/* no third level */
}

static void
check_cpu(unsigned i, const struct shape *s)
{
	const struct cpu_report *r = &reports[i];
	unsigned per_pkg = s->threads * s->cores;

	printf("smp: cpu %u apic id %u\n", i, r->lapic_id);
	CHECK_EQ(r->lapic_id, smp_cpus[i].apic_id);
	CHECK_EQ(r->leaf1_id, r->lapic_id);
	if (per_pkg > 1) {
		CHECK(r->leaf1_edx & (1u << 28));	/* HTT */
		CHECK_EQ(r->leaf1_count, per_pkg);
	}
	if (CHECK(max_leaf >= 0xb))
		check_leafb(r, s);
}

/* The IDs the shape packs, each seen exactly once. */
static void
check_id_set(const struct shape *s)
{
	unsigned tw = width(s->threads), cw = width(s->cores);

	for (unsigned sk = 0; sk < s->sockets; sk++)
		for (unsigned c = 0; c < s->cores; c++)
			for (unsigned t = 0; t < s->threads; t++) {
				uint32_t id = sk << (tw + cw) | c << tw | t;
				unsigned seen = 0;

				for (unsigned i = 0; i < s->cpus; i++)
					seen += reports[i].lapic_id == id;
				if (seen != 1)
					printf("FAIL smp: apic id %u seen %u "
					    "times\n", id, seen);
				if (seen != 1)
					check_note_failure();
			}
}

static bool
get_shape(const char *args, struct shape *s)
{
	uint64_t v[4];
	static const char *const keys[4] = { "cpus", "sockets", "cores",
		"threads" };

	for (int i = 0; i < 4; i++)
		if (!cmdline_get_u64(args, keys[i], &v[i]) || v[i] == 0 ||
		    v[i] > SMP_MAX_CPUS)
			return false;
	*s = (struct shape){ .cpus = (unsigned)v[0],
		.sockets = (unsigned)v[1], .cores = (unsigned)v[2],
		.threads = (unsigned)v[3] };
	return s->cpus == s->sockets * s->cores * s->threads;
}

int
guest_main(struct boot_info *bi)
{
	struct shape s = { 0 };
	uint32_t regs[4];
	unsigned aps;

	if (!CHECK(get_shape(bi->args, &s)))
		return guest_finish("smp");
	cpuid(0, 0, regs);
	max_leaf = regs[0];
	lapic_init(bi->args);
	lapic_enable();
	collect(0);
	aps = smp_start_aps(collect, s.cpus - 1, AP_TIMEOUT_US);
	printf("smp: %u cpus online\n", aps + 1);
	CHECK_EQ(aps + 1, s.cpus);
	CHECK(irq_wait(all_reported, &aps, AP_TIMEOUT_US));
	for (unsigned i = 0; i <= aps && i < SMP_MAX_CPUS; i++)
		check_cpu(i, &s);
	check_id_set(&s);
	return guest_finish("smp");
}
