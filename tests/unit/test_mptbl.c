/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MP table (MP spec 1.4): floating pointer and configuration table
 * checksums, entry counts by type for several topologies, with and
 * without PCI, the interrupt entries, and running out of room.
 */
#include <errno.h>

#include "acpi.h"
#include "test.h"

#define BASE 0xf0000ULL

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint8_t
sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void
plat(struct acpi_platform *p, int ncpus, bool pci)
{
	memset(p, 0, sizeof(*p));
	p->ncpus = ncpus;
	for (int i = 0; i < ncpus; i++)
		p->apic_id[i] = (uint32_t)i;
	p->ioapic.version = 0x20;
	p->ioapic.addr = 0xfec00000;
	p->ioapic.pins = 32;
	if (!pci)
		return;
	p->pci.present = true;
	for (int s = 0; s < 3; s++)
		p->pci.prt[p->pci.nprt++] = (struct acpi_prt){
			.slot = (uint8_t)(s + 3), .pin = (uint8_t)s,
			.link = (uint8_t)s, .gsi = (uint32_t)(16 + s) };
}

struct mp_counts {
	int proc, bus, ioapic, ioint, lint, bad;
	int bp;
	int pci_ints, isa_ints, sci_level;
};

/* Walk the table at out[] like a guest would, from the pointer on. */
static void
mp_walk(const uint8_t *out, struct mp_counts *c)
{
	const uint8_t *cfg = out + (rd32(out + 4) - BASE);
	uint16_t len = rd16(cfg + 4), n = rd16(cfg + 34);
	const uint8_t *e = cfg + 44;

	memset(c, 0, sizeof(*c));
	for (uint16_t i = 0; i < n; i++) {
		int l = e[0] == 0 ? 20 : 8;

		if (e[0] > 4 || e + l > cfg + len) {
			c->bad++;
			return;
		}
		c->proc += e[0] == 0;
		c->bp += e[0] == 0 && (e[3] & 2);
		c->bus += e[0] == 1;
		c->ioapic += e[0] == 2;
		c->ioint += e[0] == 3;
		c->lint += e[0] == 4;
		if (e[0] == 3 && e[1] == 0) {
			bool pci = e[4] == 0 && rd16(e + 2) == 0x0f;

			c->pci_ints += pci;
			c->isa_ints += !pci;
			c->sci_level += e[5] == 9 && rd16(e + 2) == 0x0d;
		}
		e += l;
	}
	if (e != cfg + len)
		c->bad++;
}

static void
check_sums(const uint8_t *out, long n)
{
	const uint8_t *cfg;

	REQUIRE(n > 16);
	CHECK(memcmp(out, "_MP_", 4) == 0);
	CHECK_EQ(sum8(out, 16), 0);
	CHECK_EQ(out[8], 1);
	CHECK_EQ(out[9], 4);
	CHECK_EQ(rd32(out + 4), BASE + 16);
	cfg = out + 16;
	CHECK(memcmp(cfg, "PCMP", 4) == 0);
	CHECK_EQ(sum8(cfg, rd16(cfg + 4)), 0);
	CHECK_EQ(16 + rd16(cfg + 4), n);
	CHECK_EQ(rd32(cfg + 36), 0xfee00000);
}

TEST(counts_with_pci)
{
	static const int cpus[] = { 1, 2, 7, 64 };

	for (size_t k = 0; k < 4; k++) {
		struct acpi_platform p;
		struct mp_counts c;
		uint8_t out[4096];
		long n;

		plat(&p, cpus[k], true);
		n = mptable_build(&p, BASE, out, sizeof(out));
		check_sums(out, n);
		mp_walk(out, &c);
		CHECK_EQ(c.bad, 0);
		CHECK_EQ(c.proc, cpus[k]);
		CHECK_EQ(c.bp, 1);
		CHECK_EQ(c.bus, 2);
		CHECK_EQ(c.ioapic, 1);
		/* ExtINT on pin 0, ISA IRQs but 2, and three PCI INTx. */
		CHECK_EQ(c.ioint, 1 + 15 + 3);
		CHECK_EQ(c.pci_ints, 3);
		CHECK_EQ(c.sci_level, 1);
		CHECK_EQ(c.lint, 2);
	}
}

TEST(isa_only)
{
	struct acpi_platform p;
	struct mp_counts c;
	uint8_t out[4096];
	const uint8_t *bus;
	long n;

	plat(&p, 2, false);
	n = mptable_build(&p, BASE, out, sizeof(out));
	check_sums(out, n);
	mp_walk(out, &c);
	CHECK_EQ(c.bus, 1);
	CHECK_EQ(c.ioint, 16);
	CHECK_EQ(c.pci_ints, 0);
	/* The bus entry follows the processors: ISA, numbered 0. */
	bus = out + 16 + 44 + 2 * 20;
	CHECK_EQ(bus[0], 1);
	CHECK_EQ(bus[1], 0);
	CHECK(memcmp(bus + 2, "ISA   ", 6) == 0);
}

/* IRQ 0 reaches pin 2; a PCI source is device << 2 | pin on bus 0. */
TEST(interrupt_entries)
{
	struct acpi_platform p;
	uint8_t out[4096];
	const uint8_t *e;
	int irq0 = 0, pci = 0;

	plat(&p, 1, true);
	REQUIRE(mptable_build(&p, BASE, out, sizeof(out)) > 0);
	e = out + 16 + 44 + 20;
	for (; e < out + 16 + rd16(out + 20); e += 8) {
		if (e[0] == 1 && e[1] == 1)
			CHECK(memcmp(e + 2, "ISA   ", 6) == 0);
		if (e[0] == 1 && e[1] == 0)
			CHECK(memcmp(e + 2, "PCI   ", 6) == 0);
		if (e[0] == 3 && e[4] == 1 && e[5] == 0 && e[1] == 0) {
			CHECK_EQ(e[7], 2);
			irq0++;
		}
		if (e[0] == 3 && e[4] == 0) {
			CHECK_EQ(e[5], (uint8_t)((pci + 3) << 2 | pci));
			CHECK_EQ(e[7], 16 + pci);
			pci++;
		}
		if (e[0] == 4 && e[1] == 1)
			CHECK_EQ(e[7], 1); /* NMI on LINT1 */
	}
	CHECK_EQ(irq0, 1);
	CHECK_EQ(pci, 3);
}

TEST(limits)
{
	struct acpi_platform p;
	uint8_t out[4096];
	struct mp_counts c;

	plat(&p, 64, true);
	CHECK_EQ(mptable_build(&p, BASE, out, 200), -ENOSPC);
	CHECK_EQ(mptable_build(&p, BASE, out, 8), -ENOSPC);
	/* APIC IDs an MP table cannot name are left out. */
	p.apic_id[5] = 255;
	p.apic_id[6] = 1000;
	REQUIRE(mptable_build(&p, BASE, out, sizeof(out)) > 0);
	mp_walk(out, &c);
	CHECK_EQ(c.proc, 62);
	plat(&p, 1, false);
	p.apic_id[0] = 300;
	CHECK_EQ(mptable_build(&p, BASE, out, sizeof(out)), -EINVAL);
}

TEST_MAIN(TEST_ENTRY(counts_with_pci) TEST_ENTRY(isa_only)
    TEST_ENTRY(interrupt_entries) TEST_ENTRY(limits))
