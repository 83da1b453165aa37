/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ACPI from inside: find the RSDP where a BIOS leaves it (ACPI 6.5,
 * 5.2.5.1: 16-byte boundaries in 0xe0000-0xfffff), check both its
 * checksums, walk the XSDT (the RSDT if there is none) and check every
 * table's checksum, the DSDT and FACS the FADT names included; count the
 * MADT's enabled processors against cpus=<n>; then power off the way an
 * OS does: ACPI mode through SMI_CMD if SCI_EN is clear (16.3.1), then
 * SLP_TYPa from \_S5 with SLP_EN into PM1a_CNT (7.4.2, 16.1.6).
 *
 * Nothing here is bhyve-specific, so under QEMU (SeaBIOS's tables, the
 * PIIX4's PM ports) the same steps power the VM off too.  A VM still
 * running after the S5 write fails a check (a FAIL line).
 */
#include "guest.h"

#define BIOS_START 0xe0000UL
#define BIOS_END 0x100000UL
#define SCI_EN 0x0001
#define SLP_EN 0x2000
#define MAX_TABLES 32

static const uint8_t *fadt;
static const uint8_t *madt;

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t
sum8(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static const uint8_t *
find_rsdp(void)
{
	for (uintptr_t a = BIOS_START; a < BIOS_END; a += 16)
		if (memcmp((const void *)a, "RSD PTR ", 8) == 0 &&
		    sum8((const uint8_t *)a, 20) == 0)
			return (const uint8_t *)a;
	return NULL;
}

/* A table below 4 GiB (the kit maps 0-4 GiB) with a good checksum. */
static const uint8_t *
table_at(uint64_t addr, const char *why)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
	char sig[5] = { 0 };
	uint32_t len;

	if (!CHECK(addr != 0 && addr < (1ULL << 32)))
		return NULL;
	len = rd32(t + 4);
	memcpy(sig, t, 4);
	printf("acpi: %s at 0x%lx, %u bytes (from the %s)\n", sig,
	    (unsigned long)addr, len, why);
	if (!CHECK(len >= 36 && len < (1u << 20)))
		return NULL;
	CHECK_EQ(sum8(t, len), 0);
	return t;
}

static void
walk_sdt(const uint8_t *sdt, int width)
{
	uint32_t n = (rd32(sdt + 4) - 36) / (uint32_t)width;

	CHECK(n > 0 && n <= MAX_TABLES);
	for (uint32_t i = 0; i < n && i < MAX_TABLES; i++) {
		const uint8_t *e = sdt + 36 + i * (uint32_t)width;
		uint64_t a = width == 8 ? rd64(e) : rd32(e);
		const uint8_t *t = table_at(a, width == 8 ? "XSDT" : "RSDT");

		if (t && memcmp(t, "FACP", 4) == 0)
			fadt = t;
		if (t && memcmp(t, "APIC", 4) == 0)
			madt = t;
	}
}

/* Revision 2 and later: the extended checksum and the XSDT. */
static void
walk_tables(const uint8_t *rsdp)
{
	const uint8_t *sdt;

	printf("acpi: RSDP at 0x%lx, revision %u\n", (unsigned long)rsdp,
	    rsdp[15]);
	if (rsdp[15] >= 2 && rd64(rsdp + 24) != 0) {
		CHECK_EQ(rd32(rsdp + 20), 36);
		CHECK_EQ(sum8(rsdp, rd32(rsdp + 20)), 0);
		sdt = table_at(rd64(rsdp + 24), "RSDP");
		if (sdt && CHECK(memcmp(sdt, "XSDT", 4) == 0))
			walk_sdt(sdt, 8);
	} else {
		sdt = table_at(rd32(rsdp + 16), "RSDP");
		if (sdt && CHECK(memcmp(sdt, "RSDT", 4) == 0))
			walk_sdt(sdt, 4);
	}
}

/* The FADT's DSDT and FACS: 64-bit fields first when the table has them. */
static const uint8_t *
fadt_dsdt(void)
{
	uint64_t a = rd32(fadt + 40);
	const uint8_t *facs;

	if (rd32(fadt + 4) >= 148 && rd64(fadt + 140) != 0)
		a = rd64(fadt + 140);
	facs = (const uint8_t *)(uintptr_t)rd32(fadt + 36);
	if (rd32(fadt + 4) >= 140 && rd64(fadt + 132) != 0)
		facs = (const uint8_t *)(uintptr_t)rd64(fadt + 132);
	if (CHECK(facs != NULL)) {
		CHECK(memcmp(facs, "FACS", 4) == 0);
		CHECK_EQ((uintptr_t)facs % 64, 0);
	}
	return table_at(a, "FADT");
}

static int
count_cpus(void)
{
	uint32_t len = rd32(madt + 4);
	int n = 0;

	for (uint32_t off = 44; off + 2 <= len && madt[off + 1] >= 2;
	    off += madt[off + 1]) {
		if (madt[off] == 0 && (rd32(madt + off + 4) & 1))
			n++;
		if (madt[off] == 9 && (rd32(madt + off + 8) & 1))
			n++;
	}
	return n;
}

/* An AML integer: Zero, One, or a Byte/Word/DWord prefix. */
static bool
aml_int(const uint8_t *p, uint32_t *v)
{
	switch (p[0]) {
	case 0x00: *v = 0; return true;
	case 0x01: *v = 1; return true;
	case 0x0a: *v = p[1]; return true;
	case 0x0b: *v = (uint32_t)(p[1] | p[2] << 8); return true;
	case 0x0c: *v = rd32(p + 1); return true;
	default: return false;
	}
}

/* Name(_S5_, Package(){SLP_TYPa, ...}) in the DSDT's AML. */
static bool
s5_slp_typ(const uint8_t *dsdt, uint32_t *typ)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint32_t i = 37; i + 12 < len; i++) {
		const uint8_t *p = dsdt + i;

		if (memcmp(p, "_S5_", 4) != 0 ||
		    !(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)) ||
		    p[4] != 0x12)
			continue;
		/* PackageOp, PkgLength (1-4 bytes), NumElements, elements */
		p += 5 + 1 + (p[5] >> 6) + 1;
		return aml_int(p, typ);
	}
	return false;
}

/* ACPI mode as an OS asks for it, polling SCI_EN a bounded while. */
static void
acpi_enable(uint16_t cnt)
{
	uint32_t smi = rd32(fadt + 48);
	uint8_t on = fadt[52];

	if (inw(cnt) & SCI_EN) {
		printf("acpi: already in ACPI mode\n");
		return;
	}
	if (!CHECK(smi != 0 && on != 0))
		return;
	outb((uint16_t)smi, on);
	for (int i = 0; i < 100000 && !(inw(cnt) & SCI_EN); i++)
		;
	CHECK(inw(cnt) & SCI_EN);
	printf("acpi: ACPI mode on through SMI_CMD 0x%x\n", smi);
}

static void
power_off(const uint8_t *dsdt)
{
	uint16_t cnt = (uint16_t)rd32(fadt + 64);
	uint32_t typ = 0;

	CHECK(cnt != 0);
	if (!CHECK(s5_slp_typ(dsdt, &typ)))
		return;
	acpi_enable(cnt);
	printf("acpi: powering off through S5\n");
	serial_drain();
	outw(cnt, (uint16_t)((typ & 7) << 10 | SLP_EN));
	for (volatile int i = 0; i < 100000; i++)
		;
	printf("acpi: still running after S5 (PM1a_CNT 0x%x, SLP_TYP %u)\n",
	    cnt, typ);
	CHECK(!"the S5 write powered the VM off");
}

int
guest_main(struct boot_info *bi)
{
	const uint8_t *rsdp = find_rsdp(), *dsdt;
	uint64_t cpus = 0;

	if (!CHECK(rsdp != NULL))
		return guest_finish("acpi");
	walk_tables(rsdp);
	if (!CHECK(fadt != NULL) || !CHECK(madt != NULL))
		return guest_finish("acpi");
	if (CHECK(cmdline_get_u64(bi->args, "cpus", &cpus)))
		CHECK_EQ(count_cpus(), cpus);
	printf("acpi: MADT lists %d processors\n", count_cpus());
	dsdt = fadt_dsdt();
	if (dsdt && CHECK(memcmp(dsdt, "DSDT", 4) == 0) &&
	    check_failures() == 0)
		power_off(dsdt);
	return guest_finish("acpi");
}
