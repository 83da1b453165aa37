/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI tables (ACPI 6.5, chapter 5), written in C with the DSDT's AML
 * emitted by acpi_aml.c, and the installation of every firmware table
 * (see acpi.h).  Section numbers below are ACPI 6.5's unless another
 * document is named.
 *
 * Integration (bhyverun.c), after bhyve_devices_init() and
 * pci_emul_init() and before the kernel loader:
 *
 *	struct acpi_platform *plat = calloc(1, sizeof(*plat));
 *	acpi_platform_init(bvm, plat);
 *	... plat->pci from the PCI framework ...
 *	pm_reset_attach(bvm);
 *	acpi_tables_install(bvm, plat, &rsdp_gpa);
 *
 * What the tables promise and pm.c keeps:
 *   - SCI on ISA IRQ 9, level-triggered, active high (MADT override);
 *     PM1a_EVT_BLK 0x400, PM1a_CNT_BLK 0x404, SMI_CMD 0xb2 with
 *     ACPI_ENABLE 0xa0 / ACPI_DISABLE 0xa1; _S5 = {5, 5, 0, 0}.
 *   - The power button is fixed hardware (FADT PWR_BUTTON clear): a press
 *     sets PM1_STS.PWRBTN_STS; there is no sleep button.
 *   - RESET_REG: one byte at I/O port 0xcf9, value 6.
 *   - IAPC_BOOT_ARCH: legacy devices present (COM ports, RTC, PIT, PIC on
 *     the LPC bus), no 8042 (there is no PS/2 controller), no VGA, MSI
 *     allowed, ASPM not to be touched, CMOS RTC present.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "uuid.h"
#include "acpi_aml.h"
#include "config.h"
#include "fwcfg.h"
#include "vmmapi.h"

#define ACPI_HDR_LEN 36
#define ACPI_OEM_ID "BHYVE "
#define ACPI_OEM_REV 1
#define ACPI_CREATOR_ID "BHYV"
#define ACPI_CREATOR_REV 1

#define ACPI_FADT_REV 6
#define ACPI_FADT_MINOR 5
#define ACPI_FADT_LEN 276
#define ACPI_FACS_LEN 64
#define ACPI_MADT_REV 5
#define ACPI_DSDT_REV 2 /* 64-bit integers */

/* 5.2.3.2: Generic Address Structure address spaces and access sizes. */
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2
#define ACPI_GAS_ACCESS_DWORD 3

/* 5.2.9, table 5.10: FADT fixed feature flags. */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5) /* 1: no fixed sleep button */
#define FADT_FIX_RTC (1u << 6)	  /* 1: no RTC wake status in PM1 */
#define FADT_TMR_VAL_EXT (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HEADLESS (1u << 12)
#define FADT_FORCE_APIC_PHYS (1u << 19)
#define ACPI_FADT_FLAGS (FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | \
	FADT_FIX_RTC | FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP | FADT_HEADLESS | \
	FADT_FORCE_APIC_PHYS)

/* 5.2.9.3, table 5.11: IA-PC boot architecture flags. */
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_VGA_NOT_PRESENT (1u << 2)
#define BOOT_PCIE_ASPM_CONTROLS (1u << 4)
#define ACPI_BOOT_ARCH (BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT | \
	BOOT_PCIE_ASPM_CONTROLS)

/* 5.2.12: MADT structure types and MPS INTI flags. */
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_X2APIC 9
#define MADT_X2APIC_NMI 10
#define MADT_ENABLED 1u
#define MPS_HIGH_EDGE 0x0005  /* active high, edge-triggered */
#define MPS_HIGH_LEVEL 0x000d /* active high, level-triggered */

/*
 * HPET table (IA-PC HPET spec 1.0a, 3.2.4): the least period, in ticks,
 * the vmm's HPET keeps in periodic mode without dropping interrupts
 * (VHPET_MIN_PERIOD_NS / VHPET_TICK_NS, rounded up).
 */
#define ACPI_HPET_MIN_TICK 1667

/*
 * The vmm's HPET capabilities, bits 31:0 (vhpet_capabilities()): vendor
 * 0x8086, LEG_RT_CAP, COUNT_SIZE_CAP, three timers, revision 1.
 */
#define ACPI_HPET_BLOCK_ID 0x8086a201u

/* QEMU's linker/loader commands (hw/acpi/bios-linker-loader.c). */
#define LOADER_CMD_LEN 128
#define LOADER_FILE_LEN 56
#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH 1
#define LOADER_ZONE_FSEG 2
#define ACPI_FILE_TABLES_NAME "etc/acpi/tables"
#define ACPI_FILE_RSDP_NAME "etc/acpi/rsdp"
#define ACPI_FILE_LOADER_NAME "etc/table-loader"

/* The BIOS-area image: RSDP, then the blob 64 bytes further on. */
#define ACPI_BLOB_OFFSET 64

/* ---- Bytes ---- */

static void
acpi_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
acpi_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint8_t
acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/* A fixed-width text field, padded with spaces. */
static void
acpi_text(struct aml_buf *b, const char *s, size_t width)
{
	char f[16];
	size_t n = strlen(s);

	memset(f, ' ', sizeof(f));
	memcpy(f, s, n < width ? n : width);
	aml_bytes(b, f, width);
}

/*
 * 5.2.6: the common header; the length is set by acpi_hdr_end() and the
 * checksum when the set is laid out (pointers change it).
 */
static void
acpi_hdr(struct aml_buf *b, const char *sig, uint8_t rev, const char *tid)
{
	aml_bytes(b, sig, 4);
	aml_le(b, 0, 4); /* length */
	aml_byte(b, rev);
	aml_byte(b, 0); /* checksum */
	acpi_text(b, ACPI_OEM_ID, 6);
	acpi_text(b, tid, 8);
	aml_le(b, ACPI_OEM_REV, 4);
	aml_bytes(b, ACPI_CREATOR_ID, 4);
	aml_le(b, ACPI_CREATOR_REV, 4);
}

static void
acpi_hdr_end(struct aml_buf *b)
{
	if (b->error == 0 && b->len >= ACPI_HDR_LEN)
		acpi_put_le(b->data + 4, b->len, 4);
}

/* 5.2.3.2: Generic Address Structure. */
static void
acpi_gas(struct aml_buf *b, uint8_t space, uint8_t bits, uint8_t access,
    uint64_t addr)
{
	aml_byte(b, space);
	aml_byte(b, bits);
	aml_byte(b, 0); /* bit offset */
	aml_byte(b, access);
	aml_le(b, addr, 8);
}

/* ---- FACS, FADT, MADT, HPET, MCFG ---- */

/* 5.2.10: no waking vector, no global lock, version 2. */
static void
acpi_build_facs(struct aml_buf *b)
{
	uint8_t zero[24] = { 0 };

	aml_bytes(b, "FACS", 4);
	aml_le(b, ACPI_FACS_LEN, 4);
	aml_le(b, 0, 4); /* hardware signature */
	aml_le(b, 0, 4); /* firmware waking vector */
	aml_le(b, 0, 4); /* global lock */
	aml_le(b, 0, 4); /* flags */
	aml_le(b, 0, 8); /* X firmware waking vector */
	aml_byte(b, 2);	 /* version */
	aml_bytes(b, zero, 3);
	aml_le(b, 0, 4); /* OSPM flags */
	aml_bytes(b, zero, 24);
}

/* 5.2.9 fields 36-111: the legacy block addresses and lengths. */
static void
acpi_fadt_legacy(struct aml_buf *b, const struct acpi_platform *p)
{
	aml_le(b, 0, 4); /* FIRMWARE_CTRL: a pointer, set later */
	aml_le(b, 0, 4); /* DSDT: likewise */
	aml_byte(b, 0);	 /* reserved */
	aml_byte(b, 0);	 /* preferred PM profile: unspecified */
	aml_le(b, ACPI_SCI_IRQ, 2);
	aml_le(b, ACPI_SMI_CMD_PORT, 4);
	aml_byte(b, ACPI_ENABLE_VALUE);
	aml_byte(b, ACPI_DISABLE_VALUE);
	aml_byte(b, 0); /* S4BIOS_REQ */
	aml_byte(b, 0); /* PSTATE_CNT */
	aml_le(b, ACPI_PM1A_EVT_PORT, 4);
	aml_le(b, 0, 4); /* PM1b_EVT_BLK */
	aml_le(b, ACPI_PM1A_CNT_PORT, 4);
	aml_le(b, 0, 4); /* PM1b_CNT_BLK */
	aml_le(b, 0, 4); /* PM2_CNT_BLK */
	aml_le(b, p->pm_timer_port, 4);
	aml_le(b, 0, 4); /* GPE0_BLK */
	aml_le(b, 0, 4); /* GPE1_BLK */
	aml_byte(b, ACPI_PM1_EVT_LEN);
	aml_byte(b, ACPI_PM1_CNT_LEN);
	aml_byte(b, 0); /* PM2_CNT_LEN */
	aml_byte(b, ACPI_PM_TMR_LEN);
	aml_byte(b, 0); /* GPE0_BLK_LEN */
	aml_byte(b, 0); /* GPE1_BLK_LEN */
	aml_byte(b, 0); /* GPE1_BASE */
	aml_byte(b, 0); /* CST_CNT */
	/* 4.8.2.x: latencies over 100 and 1000 us mean no C2 and no C3. */
	aml_le(b, 101, 2);
	aml_le(b, 1001, 2);
	aml_le(b, 0, 2); /* FLUSH_SIZE */
	aml_le(b, 0, 2); /* FLUSH_STRIDE */
	aml_byte(b, 0);	 /* DUTY_OFFSET */
	aml_byte(b, 0);	 /* DUTY_WIDTH */
	aml_byte(b, 0);	 /* DAY_ALRM */
	aml_byte(b, 0);	 /* MON_ALRM */
	aml_byte(b, ACPI_RTC_CENTURY);
	aml_le(b, ACPI_BOOT_ARCH, 2);
	aml_byte(b, 0); /* reserved */
}

static void
acpi_build_fadt(struct aml_buf *b, const struct acpi_platform *p)
{
	acpi_hdr(b, "FACP", ACPI_FADT_REV, "BVFACP");
	acpi_fadt_legacy(b, p);
	aml_le(b, ACPI_FADT_FLAGS, 4);
	acpi_gas(b, ACPI_GAS_IO, 8, ACPI_GAS_ACCESS_BYTE, ACPI_RESET_PORT);
	aml_byte(b, ACPI_RESET_VALUE);
	aml_le(b, 0, 2); /* ARM_BOOT_ARCH */
	aml_byte(b, ACPI_FADT_MINOR);
	aml_le(b, 0, 8); /* X_FIRMWARE_CTRL: a pointer, set later */
	aml_le(b, 0, 8); /* X_DSDT: likewise */
	acpi_gas(b, ACPI_GAS_IO, ACPI_PM1_EVT_LEN * 8, ACPI_GAS_ACCESS_WORD,
	    ACPI_PM1A_EVT_PORT);
	acpi_gas(b, 0, 0, 0, 0); /* X_PM1b_EVT_BLK */
	acpi_gas(b, ACPI_GAS_IO, ACPI_PM1_CNT_LEN * 8, ACPI_GAS_ACCESS_WORD,
	    ACPI_PM1A_CNT_PORT);
	acpi_gas(b, 0, 0, 0, 0); /* X_PM1b_CNT_BLK */
	acpi_gas(b, 0, 0, 0, 0); /* X_PM2_CNT_BLK */
	acpi_gas(b, ACPI_GAS_IO, ACPI_PM_TMR_LEN * 8, ACPI_GAS_ACCESS_DWORD,
	    p->pm_timer_port);
	acpi_gas(b, 0, 0, 0, 0); /* X_GPE0_BLK */
	acpi_gas(b, 0, 0, 0, 0); /* X_GPE1_BLK */
	acpi_gas(b, 0, 0, 0, 0); /* SLEEP_CONTROL_REG */
	acpi_gas(b, 0, 0, 0, 0); /* SLEEP_STATUS_REG */
	acpi_text(b, "bhyve", 8); /* hypervisor vendor identity */
	acpi_hdr_end(b);
}

/*
 * 5.2.12.2 and 5.2.12.12: an APIC ID below 255 gets a Processor Local
 * APIC structure whatever the APIC's mode; only larger IDs need x2APIC
 * structures.  The ACPI processor UID is the vCPU number.
 */
static bool
acpi_madt_cpus(struct aml_buf *b, const struct acpi_platform *p)
{
	bool x2 = false;

	for (int i = 0; i < p->ncpus; i++) {
		uint32_t id = p->apic_id[i];

		if (id < 255) {
			aml_byte(b, MADT_LAPIC);
			aml_byte(b, 8);
			aml_byte(b, (uint8_t)i);
			aml_byte(b, (uint8_t)id);
			aml_le(b, MADT_ENABLED, 4);
			continue;
		}
		x2 = true;
		aml_byte(b, MADT_X2APIC);
		aml_byte(b, 16);
		aml_le(b, 0, 2);
		aml_le(b, id, 4);
		aml_le(b, MADT_ENABLED, 4);
		aml_le(b, (uint64_t)i, 4);
	}
	return x2;
}

static void
acpi_madt_iso(struct aml_buf *b, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	aml_byte(b, MADT_ISO);
	aml_byte(b, 10);
	aml_byte(b, 0); /* ISA */
	aml_byte(b, irq);
	aml_le(b, gsi, 4);
	aml_le(b, flags, 2);
}

/* 5.2.12.7 and 5.2.12.13: NMI on every processor's LINT1. */
static void
acpi_madt_nmi(struct aml_buf *b, bool x2)
{
	aml_byte(b, MADT_LAPIC_NMI);
	aml_byte(b, 6);
	aml_byte(b, 0xff); /* all processors */
	aml_le(b, MPS_HIGH_EDGE, 2);
	aml_byte(b, 1);
	if (!x2)
		return;
	aml_byte(b, MADT_X2APIC_NMI);
	aml_byte(b, 12);
	aml_le(b, MPS_HIGH_EDGE, 2);
	aml_le(b, 0xffffffffu, 4);
	aml_byte(b, 1);
	aml_le(b, 0, 3);
}

static void
acpi_build_madt(struct aml_buf *b, const struct acpi_platform *p)
{
	bool x2;

	acpi_hdr(b, "APIC", ACPI_MADT_REV, "BVMADT");
	aml_le(b, ACPI_LAPIC_ADDR, 4);
	aml_le(b, MADT_PCAT_COMPAT, 4); /* the 8259s are there too */
	x2 = acpi_madt_cpus(b, p);
	aml_byte(b, MADT_IOAPIC);
	aml_byte(b, 12);
	aml_byte(b, p->ioapic.id);
	aml_byte(b, 0);
	aml_le(b, p->ioapic.addr, 4);
	aml_le(b, p->ioapic.gsi_base, 4);
	/* 5.2.12.5: the PIT's IRQ 0 is wired to pin 2; the SCI is level. */
	acpi_madt_iso(b, 0, p->ioapic.gsi_base + 2, MPS_HIGH_EDGE);
	acpi_madt_iso(b, ACPI_SCI_IRQ, p->ioapic.gsi_base + ACPI_SCI_IRQ,
	    MPS_HIGH_LEVEL);
	acpi_madt_nmi(b, x2);
	acpi_hdr_end(b);
}

static void
acpi_build_hpet(struct aml_buf *b, const struct acpi_platform *p)
{
	acpi_hdr(b, "HPET", 1, "BVHPET");
	aml_le(b, p->hpet.block_id, 4);
	acpi_gas(b, ACPI_GAS_MEMORY, 64, 0, p->hpet.addr);
	aml_byte(b, 0); /* HPET number */
	aml_le(b, ACPI_HPET_MIN_TICK, 2);
	aml_byte(b, 0); /* no page protection */
	acpi_hdr_end(b);
}

/* PCI Firmware spec 3.0, 4.1.2: one allocation, segment 0. */
static void
acpi_build_mcfg(struct aml_buf *b, const struct acpi_platform *p)
{
	acpi_hdr(b, "MCFG", 1, "BVMCFG");
	aml_le(b, 0, 8);
	aml_le(b, p->pci.ecam_base, 8);
	aml_le(b, 0, 2);
	aml_byte(b, p->pci.bus_min);
	aml_byte(b, p->pci.bus_max);
	aml_le(b, 0, 4);
	acpi_hdr_end(b);
}

/* ---- The set: layout, pointers, checksums ---- */

enum acpi_part {
	PART_FACS,
	PART_DSDT,
	PART_FADT,
	PART_MADT,
	PART_HPET,
	PART_MCFG,
	PART_RSDT,
	PART_XSDT,
	PART_COUNT
};

struct acpi_parts {
	struct aml_buf buf[PART_COUNT];
	uint32_t off[PART_COUNT];
};

static bool
acpi_part_listed(enum acpi_part i)
{
	return i >= PART_FADT && i <= PART_MCFG;
}

/* 5.2.7 and 5.2.8: entries are filled in as pointers afterwards. */
static void
acpi_build_sdt(struct aml_buf *b, const struct acpi_parts *s, bool x)
{
	acpi_hdr(b, x ? "XSDT" : "RSDT", 1, x ? "BVXSDT" : "BVRSDT");
	for (int i = 0; i < PART_COUNT; i++)
		if (acpi_part_listed(i) && s->buf[i].len > 0)
			aml_le(b, 0, x ? 8 : 4);
	acpi_hdr_end(b);
}

static int
acpi_build_parts(const struct acpi_platform *p, struct acpi_parts *s)
{
	for (int i = 0; i < PART_COUNT; i++)
		aml_init(&s->buf[i]);
	acpi_build_facs(&s->buf[PART_FACS]);
	if (acpi_build_dsdt(p, &s->buf[PART_DSDT]) != 0)
		return s->buf[PART_DSDT].error;
	acpi_build_fadt(&s->buf[PART_FADT], p);
	acpi_build_madt(&s->buf[PART_MADT], p);
	if (p->hpet.present)
		acpi_build_hpet(&s->buf[PART_HPET], p);
	if (p->pci.present)
		acpi_build_mcfg(&s->buf[PART_MCFG], p);
	acpi_build_sdt(&s->buf[PART_RSDT], s, false);
	acpi_build_sdt(&s->buf[PART_XSDT], s, true);
	for (int i = 0; i < PART_COUNT; i++)
		if (s->buf[i].error)
			return s->buf[i].error;
	return 0;
}

static void
acpi_parts_free(struct acpi_parts *s)
{
	for (int i = 0; i < PART_COUNT; i++)
		aml_free(&s->buf[i]);
}

/* Concatenate: the FACS first, 64-byte aligned (5.2.10), others at 16. */
static int
acpi_concat(struct acpi_tables *t, struct acpi_parts *s)
{
	size_t len = 0;

	for (int i = 0; i < PART_COUNT; i++) {
		len = (len + 15) & ~(size_t)15;
		s->off[i] = (uint32_t)len;
		len += s->buf[i].len;
	}
	t->blob = calloc(1, len);
	if (t->blob == NULL)
		return -ENOMEM;
	t->len = len;
	for (int i = 0; i < PART_COUNT; i++) {
		struct acpi_table_ref *r;

		if (s->buf[i].len == 0)
			continue;
		memcpy(t->blob + s->off[i], s->buf[i].data, s->buf[i].len);
		r = &t->table[t->ntables++];
		memcpy(r->sig, s->buf[i].data, 4);
		r->sig[4] = '\0';
		r->offset = s->off[i];
		r->len = (uint32_t)s->buf[i].len;
	}
	return 0;
}

/* Store target offset 'target' in a pointer field and remember it. */
static void
acpi_add_ptr(struct acpi_tables *t, enum acpi_file file, uint32_t offset,
    uint8_t size, uint32_t target)
{
	uint8_t *base = file == ACPI_FILE_RSDP ? t->rsdp : t->blob;

	acpi_put_le(base + offset, target, size);
	t->ptr[t->nptrs++] = (struct acpi_ptr_fixup){ .file = (uint8_t)file,
		.size = size, .offset = offset };
}

static void
acpi_add_csum(struct acpi_tables *t, enum acpi_file file, uint32_t offset,
    uint32_t start, uint32_t len)
{
	t->csum[t->ncsums++] = (struct acpi_csum_fixup){ .file = (uint8_t)file,
		.offset = offset, .start = start, .len = len };
}

static void
acpi_link_sdts(struct acpi_tables *t, const struct acpi_parts *s)
{
	uint32_t rsdt = s->off[PART_RSDT] + ACPI_HDR_LEN;
	uint32_t xsdt = s->off[PART_XSDT] + ACPI_HDR_LEN;

	for (int i = 0; i < PART_COUNT; i++) {
		if (!acpi_part_listed(i) || s->buf[i].len == 0)
			continue;
		acpi_add_ptr(t, ACPI_FILE_TABLES, rsdt, 4, s->off[i]);
		acpi_add_ptr(t, ACPI_FILE_TABLES, xsdt, 8, s->off[i]);
		rsdt += 4;
		xsdt += 8;
	}
}

/* 5.2.5.3: revision 2, both checksums. */
static void
acpi_build_rsdp(struct acpi_tables *t, const struct acpi_parts *s)
{
	uint8_t *r = t->rsdp;

	memset(r, 0, ACPI_RSDP_LEN);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2;
	acpi_put_le(r + 20, ACPI_RSDP_LEN, 4);
	acpi_add_ptr(t, ACPI_FILE_RSDP, 16, 4, s->off[PART_RSDT]);
	acpi_add_ptr(t, ACPI_FILE_RSDP, 24, 8, s->off[PART_XSDT]);
	/* The 20-byte checksum first: the extended one covers it. */
	acpi_add_csum(t, ACPI_FILE_RSDP, 8, 0, 20);
	acpi_add_csum(t, ACPI_FILE_RSDP, 32, 0, ACPI_RSDP_LEN);
}

static void
acpi_apply_csums(const struct acpi_tables *t, uint8_t *blob, uint8_t *rsdp)
{
	for (int i = 0; i < t->ncsums; i++) {
		const struct acpi_csum_fixup *c = &t->csum[i];
		uint8_t *f = c->file == ACPI_FILE_RSDP ? rsdp : blob;

		f[c->offset] = 0;
		f[c->offset] = acpi_checksum(f + c->start, c->len);
	}
}

static void
acpi_link(struct acpi_tables *t, const struct acpi_parts *s)
{
	uint32_t fadt = s->off[PART_FADT];

	acpi_add_ptr(t, ACPI_FILE_TABLES, fadt + 36, 4, s->off[PART_FACS]);
	acpi_add_ptr(t, ACPI_FILE_TABLES, fadt + 40, 4, s->off[PART_DSDT]);
	acpi_add_ptr(t, ACPI_FILE_TABLES, fadt + 132, 8, s->off[PART_FACS]);
	acpi_add_ptr(t, ACPI_FILE_TABLES, fadt + 140, 8, s->off[PART_DSDT]);
	acpi_link_sdts(t, s);
	/* The FACS has no checksum (5.2.10); every other table has. */
	for (int i = 0; i < t->ntables; i++)
		if (memcmp(t->table[i].sig, "FACS", 4) != 0)
			acpi_add_csum(t, ACPI_FILE_TABLES, t->table[i].offset + 9,
			    t->table[i].offset, t->table[i].len);
	acpi_build_rsdp(t, s);
	acpi_apply_csums(t, t->blob, t->rsdp);
}

int
acpi_build(const struct acpi_platform *p, struct acpi_tables *t)
{
	struct acpi_parts s;
	int error;

	*t = (struct acpi_tables){ .blob = NULL };
	error = acpi_build_parts(p, &s);
	if (error == 0)
		error = acpi_concat(t, &s);
	if (error == 0)
		acpi_link(t, &s);
	acpi_parts_free(&s);
	if (error)
		acpi_tables_free(t);
	return error;
}

void
acpi_tables_free(struct acpi_tables *t)
{
	free(t->blob);
	*t = (struct acpi_tables){ .blob = NULL };
}

long
acpi_tables_place(const struct acpi_tables *t, uint64_t base, uint8_t *out,
    size_t outlen)
{
	uint64_t blob_addr = base + ACPI_BLOB_OFFSET;
	size_t need = ACPI_BLOB_OFFSET + t->len;
	uint8_t *blob = out + ACPI_BLOB_OFFSET;

	if (outlen < need)
		return -ENOSPC;
	memset(out, 0, ACPI_BLOB_OFFSET);
	memcpy(out, t->rsdp, ACPI_RSDP_LEN);
	memcpy(blob, t->blob, t->len);
	for (int i = 0; i < t->nptrs; i++) {
		const struct acpi_ptr_fixup *f = &t->ptr[i];
		uint8_t *field = (f->file == ACPI_FILE_RSDP ? out : blob) +
		    f->offset;
		uint64_t v = acpi_get_le(field, f->size) + blob_addr;

		if (f->size == 4 && v > UINT32_MAX)
			return -ERANGE;
		acpi_put_le(field, v, f->size);
	}
	acpi_apply_csums(t, blob, out);
	return (long)need;
}

static const char *
acpi_file_name(uint8_t file)
{
	return file == ACPI_FILE_RSDP ? ACPI_FILE_RSDP_NAME :
					ACPI_FILE_TABLES_NAME;
}

/* A NUL-padded file name field (the command is zeroed already). */
static void
acpi_loader_name(uint8_t *field, const char *name)
{
	size_t n = strlen(name);

	memcpy(field, name, n < LOADER_FILE_LEN ? n : LOADER_FILE_LEN - 1);
}

static void
acpi_loader_alloc(uint8_t *c, const char *file, uint32_t align, uint8_t zone)
{
	acpi_put_le(c, LOADER_ALLOCATE, 4);
	acpi_loader_name(c + 4, file);
	acpi_put_le(c + 4 + LOADER_FILE_LEN, align, 4);
	c[8 + LOADER_FILE_LEN] = zone;
}

static void
acpi_loader_ptr(uint8_t *c, const struct acpi_ptr_fixup *f)
{
	acpi_put_le(c, LOADER_ADD_POINTER, 4);
	acpi_loader_name(c + 4, acpi_file_name(f->file));
	acpi_loader_name(c + 4 + LOADER_FILE_LEN, ACPI_FILE_TABLES_NAME);
	acpi_put_le(c + 4 + 2 * LOADER_FILE_LEN, f->offset, 4);
	c[8 + 2 * LOADER_FILE_LEN] = f->size;
}

static void
acpi_loader_csum(uint8_t *c, const struct acpi_csum_fixup *f)
{
	acpi_put_le(c, LOADER_ADD_CHECKSUM, 4);
	acpi_loader_name(c + 4, acpi_file_name(f->file));
	acpi_put_le(c + 4 + LOADER_FILE_LEN, f->offset, 4);
	acpi_put_le(c + 8 + LOADER_FILE_LEN, f->start, 4);
	acpi_put_le(c + 12 + LOADER_FILE_LEN, f->len, 4);
}

/*
 * Allocate both files, then every pointer, then every checksum: a
 * checksum must see the pointers it covers already patched.
 */
int
acpi_tables_loader(const struct acpi_tables *t, uint8_t **cmds, size_t *len)
{
	size_t n = 2 + (size_t)t->nptrs + (size_t)t->ncsums;
	uint8_t *c = calloc(n, LOADER_CMD_LEN);

	if (c == NULL)
		return -ENOMEM;
	*cmds = c;
	*len = n * LOADER_CMD_LEN;
	acpi_loader_alloc(c, ACPI_FILE_TABLES_NAME, 64, LOADER_ZONE_HIGH);
	c += LOADER_CMD_LEN;
	acpi_loader_alloc(c, ACPI_FILE_RSDP_NAME, 16, LOADER_ZONE_FSEG);
	c += LOADER_CMD_LEN;
	for (int i = 0; i < t->nptrs; i++, c += LOADER_CMD_LEN)
		acpi_loader_ptr(c, &t->ptr[i]);
	for (int i = 0; i < t->ncsums; i++, c += LOADER_CMD_LEN)
		acpi_loader_csum(c, &t->csum[i]);
	return 0;
}

/* ---- DSDT (5.2.11.1) ---- */

#define DSDT_LPC_PATH "\\_SB_.PCI0.ISA_"
#define DSDT_PIRQ_DISABLED 0x80 /* PIRQ register: not routed to the 8259 */
#define DSDT_PIRQ_IRQ 0x0f
#define DSDT_STA_ON 0x0b  /* present, enabled, functioning (6.3.7) */
#define DSDT_STA_OFF 0x09 /* present, functioning, disabled */

static const char *const dsdt_link_names[ACPI_NLINKS] = { "LNKA", "LNKB",
	"LNKC", "LNKD", "LNKE", "LNKF", "LNKG", "LNKH" };
static const char *const dsdt_pirq_names[ACPI_NLINKS] = { "PIRA", "PIRB",
	"PIRC", "PIRD", "PIRE", "PIRF", "PIRG", "PIRH" };

static void
dsdt_name_rt(struct aml_buf *b, const char *name, struct aml_buf *rb)
{
	aml_name(b, name);
	aml_resource_template(b, rb);
}

/* Device(name) { _HID, _UID (if uid >= 0), _CRS } */
static void
dsdt_dev(struct aml_buf *b, const char *name, const char *hid, int uid,
    struct aml_buf *crs)
{
	size_t m = aml_device_begin(b, name);

	aml_name_id(b, "_HID", hid);
	if (uid >= 0)
		aml_name_integer(b, "_UID", (uint64_t)uid);
	dsdt_name_rt(b, "_CRS", crs);
	aml_end(b, m);
}

static void
dsdt_com(struct aml_buf *b, const struct acpi_com *c, int unit)
{
	struct aml_buf rb;
	char name[8];

	aml_init(&rb);
	aml_res_io(&rb, c->port, c->port, 1, 8);
	aml_res_irq_noflags(&rb, (uint16_t)(1u << (c->irq & 15)));
	snprintf(name, sizeof(name), "COM%d", unit + 1);
	dsdt_dev(b, name, "PNP0501", unit + 1, &rb);
}

/* The vmm's RTC (ports 0x70-0x71, IRQ 8), PIT (0x40-0x43, IRQ 0), PICs. */
static void
dsdt_chips(struct aml_buf *b)
{
	struct aml_buf rb;

	aml_init(&rb);
	aml_res_io(&rb, 0x70, 0x70, 1, 2);
	aml_res_irq_noflags(&rb, 1u << 8);
	dsdt_dev(b, "RTC", "PNP0B00", -1, &rb);
	aml_init(&rb);
	aml_res_io(&rb, 0x40, 0x40, 1, 4);
	aml_res_irq_noflags(&rb, 1u << 0);
	dsdt_dev(b, "TIMR", "PNP0100", -1, &rb);
	aml_init(&rb);
	aml_res_io(&rb, 0x20, 0x20, 1, 2);
	aml_res_io(&rb, 0xa0, 0xa0, 1, 2);
	aml_res_irq_noflags(&rb, 1u << 2);
	dsdt_dev(b, "PIC", "PNP0000", -1, &rb);
}

/*
 * One of QEMU's own ISA devices: _HID, an I/O range, and _STA 0x0b as
 * QEMU gives them (not shown in UIs).
 */
static void
dsdt_qemu_dev(struct aml_buf *b, const char *name, const char *hid,
    uint16_t port, uint8_t len)
{
	struct aml_buf rb;
	size_t m = aml_device_begin(b, name);

	aml_name_id(b, "_HID", hid);
	aml_name_integer(b, "_STA", DSDT_STA_ON);
	aml_init(&rb);
	aml_res_io(&rb, port, port, 1, len);
	dsdt_name_rt(b, "_CRS", &rb);
	aml_end(b, m);
}

/* What sits on the LPC bus (or, without an LPC bridge, under \_SB). */
static void
dsdt_legacy(struct aml_buf *b, const struct acpi_platform *p)
{
	for (int i = 0; i < ACPI_NCOM; i++)
		if (p->com[i].present)
			dsdt_com(b, &p->com[i], i);
	dsdt_chips(b);
	/* fw_cfg; pvpanic (pvpanic.c), which Linux's pvpanic-mmio takes. */
	if (p->fwcfg)
		dsdt_qemu_dev(b, "FWCF", "QEMU0002", ACPI_FWCFG_PORT,
		    ACPI_FWCFG_LEN);
	if (p->pvpanic)
		dsdt_qemu_dev(b, "PEVT", "QEMU0001", ACPI_PVPANIC_PORT, 1);
}

/* And(name, mask) with no target, as an operand. */
static void
dsdt_and(struct aml_buf *b, const char *name, uint64_t mask)
{
	aml_byte(b, AML_AND_OP);
	aml_name_string(b, name);
	aml_integer(b, mask);
	aml_byte(b, AML_ZERO);
}

/* If (And(pirq, 0x80)) { Return (0x09) } Return (0x0b) */
static void
dsdt_link_sta(struct aml_buf *b, const char *pirq)
{
	size_t m = aml_method_begin(b, "_STA", 0, false);
	size_t i = aml_if_begin(b);

	dsdt_and(b, pirq, DSDT_PIRQ_DISABLED);
	aml_return(b);
	aml_integer(b, DSDT_STA_OFF);
	aml_end(b, i);
	aml_return(b);
	aml_integer(b, DSDT_STA_ON);
	aml_end(b, m);
}

/* CreateWordField(source, One, IRQX): the IRQ descriptor's mask. */
static void
dsdt_irq_field(struct aml_buf *b, const char *source)
{
	aml_byte(b, AML_CREATE_WORD_FIELD_OP);
	if (source)
		aml_name_string(b, source);
	else
		aml_byte(b, AML_ARG0);
	aml_integer(b, 1);
	aml_name_string(b, "IRQX");
}

/*
 * Name(RTLA, ResourceTemplate() { IRQ(Level, ActiveLow, Shared) {} })
 * CreateWordField(RTLA, One, IRQX)
 * If (And(pirq, 0x80)) { Return (RTLA) }
 * ShiftLeft(One, And(pirq, 0x0f), IRQX)
 * Return (RTLA)
 */
static void
dsdt_link_crs(struct aml_buf *b, const char *pirq)
{
	size_t m = aml_method_begin(b, "_CRS", 0, true);
	struct aml_buf rb;
	size_t i;

	aml_init(&rb);
	aml_res_irq(&rb, 0, true, true, true);
	dsdt_name_rt(b, "RTLA", &rb);
	dsdt_irq_field(b, "RTLA");
	i = aml_if_begin(b);
	dsdt_and(b, pirq, DSDT_PIRQ_DISABLED);
	aml_return(b);
	aml_name_string(b, "RTLA");
	aml_end(b, i);
	aml_byte(b, AML_SHIFT_LEFT_OP);
	aml_integer(b, 1);
	dsdt_and(b, pirq, DSDT_PIRQ_IRQ);
	aml_name_string(b, "IRQX");
	aml_return(b);
	aml_name_string(b, "RTLA");
	aml_end(b, m);
}

/* _DIS: Or(pirq, 0x80, pirq) */
static void
dsdt_link_dis(struct aml_buf *b, const char *pirq)
{
	size_t m = aml_method_begin(b, "_DIS", 0, false);

	aml_byte(b, AML_OR_OP);
	aml_name_string(b, pirq);
	aml_integer(b, DSDT_PIRQ_DISABLED);
	aml_name_string(b, pirq);
	aml_end(b, m);
}

/*
 * _SRS(Arg0): CreateWordField(Arg0, One, IRQX)
 * FindSetRightBit(IRQX, Local0) Decrement(Local0) Store(Local0, pirq)
 * (an empty mask stores 0xff: disabled)
 */
static void
dsdt_link_srs(struct aml_buf *b, const char *pirq)
{
	size_t m = aml_method_begin(b, "_SRS", 1, true);

	dsdt_irq_field(b, NULL);
	aml_byte(b, AML_FIND_SET_RIGHT_BIT_OP);
	aml_name_string(b, "IRQX");
	aml_byte(b, AML_LOCAL0);
	aml_byte(b, AML_DECREMENT_OP);
	aml_byte(b, AML_LOCAL0);
	aml_byte(b, AML_STORE_OP);
	aml_byte(b, AML_LOCAL0);
	aml_name_string(b, pirq);
	aml_end(b, m);
}

/* 6.2.13 and the PCI interrupt link device (PNP0C0F) of an ICH. */
static void
dsdt_link(struct aml_buf *b, const struct acpi_platform *p, int i)
{
	const char *pirq = dsdt_pirq_names[i];
	size_t m = aml_device_begin(b, dsdt_link_names[i]);
	struct aml_buf rb;

	aml_name_eisaid(b, "_HID", "PNP0C0F");
	aml_name_integer(b, "_UID", (uint64_t)i + 1);
	dsdt_link_sta(b, pirq);
	aml_init(&rb);
	aml_res_irq(&rb, p->pci.link_irqs, true, true, true);
	dsdt_name_rt(b, "_PRS", &rb);
	dsdt_link_crs(b, pirq);
	dsdt_link_dis(b, pirq);
	dsdt_link_srs(b, pirq);
	aml_end(b, m);
}

/* The LPC bridge's PIRQ registers, 0x60-0x63 and 0x68-0x6b. */
static void
dsdt_pirq_fields(struct aml_buf *b)
{
	static const struct aml_field f[] = {
		{ "PIRA", 8 }, { "PIRB", 8 }, { "PIRC", 8 }, { "PIRD", 8 },
		{ NULL, 32 },
		{ "PIRE", 8 }, { "PIRF", 8 }, { "PIRG", 8 }, { "PIRH", 8 },
	};

	aml_op_region(b, "PIRQ", AML_REGION_PCI_CONFIG, 0x60, 0x0c);
	aml_field(b, "PIRQ", AML_FIELD_BYTE_ACC, f,
	    (int)(sizeof(f) / sizeof(f[0])));
}

static void
dsdt_lpc(struct aml_buf *b, const struct acpi_platform *p)
{
	size_t m = aml_device_begin(b, "ISA");

	aml_name_integer(b, "_ADR",
	    (uint64_t)p->pci.lpc_slot << 16 | p->pci.lpc_func);
	dsdt_pirq_fields(b);
	for (int i = 0; i < ACPI_NLINKS; i++)
		dsdt_link(b, p, i);
	dsdt_legacy(b, p);
	aml_end(b, m);
}

/* Package(){ Package(){ slot << 16 | 0xffff, pin, source, index } ... } */
static void
dsdt_prt_pkg(struct aml_buf *b, const struct acpi_platform *p, bool pic)
{
	size_t m = aml_package_begin(b, (unsigned)p->pci.nprt);

	for (int i = 0; i < p->pci.nprt; i++) {
		const struct acpi_prt *r = &p->pci.prt[i];
		size_t e = aml_package_begin(b, 4);
		char link[32];

		aml_integer(b, (uint64_t)r->slot << 16 | 0xffff);
		aml_integer(b, r->pin);
		if (pic) {
			snprintf(link, sizeof(link), DSDT_LPC_PATH ".%s",
			    dsdt_link_names[r->link % ACPI_NLINKS]);
			aml_name_string(b, link);
			aml_integer(b, 0);
		} else {
			aml_integer(b, 0);
			aml_integer(b, r->gsi);
		}
		aml_end(b, e);
	}
	aml_end(b, m);
}

/*
 * 6.2.13: in APIC mode (_PIC(1), what every modern OS asks for) each
 * INTx names its GSI; in PIC mode it names a link device.  Without an
 * LPC bridge there are no links, and only the APIC form.
 */
static void
dsdt_prt(struct aml_buf *b, const struct acpi_platform *p)
{
	size_t m, i;

	if (!p->pci.lpc) {
		aml_name(b, "_PRT");
		dsdt_prt_pkg(b, p, false);
		return;
	}
	aml_name(b, "PRTA");
	dsdt_prt_pkg(b, p, false);
	aml_name(b, "PRTP");
	dsdt_prt_pkg(b, p, true);
	m = aml_method_begin(b, "_PRT", 0, false);
	i = aml_if_begin(b);
	aml_name_string(b, "\\PICM");
	aml_return(b);
	aml_name_string(b, "PRTA");
	aml_end(b, i);
	aml_return(b);
	aml_name_string(b, "PRTP");
	aml_end(b, m);
}

/* All of 0xd00-0xffff, split where the BAR window starts and ends. */
static void
dsdt_io_windows(struct aml_buf *rb, const struct acpi_window *w)
{
	uint64_t lo = 0xd00, hi = 0x10000;
	uint64_t base = w->base < lo ? lo : (w->base > hi ? hi : w->base);
	uint64_t limit = w->limit < base ? base :
					   (w->limit > hi ? hi : w->limit);

	if (base > lo)
		aml_res_word_io(rb, (uint16_t)lo, (uint16_t)(base - 1));
	if (limit > base)
		aml_res_word_io(rb, (uint16_t)base, (uint16_t)(limit - 1));
	if (hi > limit)
		aml_res_word_io(rb, (uint16_t)limit, (uint16_t)(hi - 1));
}

/*
 * The root bridge decodes its buses, the configuration ports, all other
 * I/O (the ISA devices behind the LPC bridge included), the VGA window
 * and the BAR windows.
 */
static void
dsdt_pci_crs(struct aml_buf *b, const struct acpi_platform *p)
{
	const struct acpi_pci *pci = &p->pci;
	struct aml_buf rb;

	aml_init(&rb);
	aml_res_word_bus(&rb, pci->bus_min, pci->bus_max);
	aml_res_io(&rb, 0xcf8, 0xcf8, 1, 8);
	aml_res_word_io(&rb, 0, 0xcf7);
	dsdt_io_windows(&rb, &pci->io);
	aml_res_dword_mem(&rb, 0xa0000, 0xbffff, false);
	if (pci->mem32.limit > pci->mem32.base && pci->mem32.limit <= E820_4G)
		aml_res_dword_mem(&rb, (uint32_t)pci->mem32.base,
		    (uint32_t)(pci->mem32.limit - 1), false);
	if (pci->mem64.limit > pci->mem64.base)
		aml_res_qword_mem(&rb, pci->mem64.base, pci->mem64.limit - 1,
		    true);
	dsdt_name_rt(b, "_CRS", &rb);
}

static void
dsdt_pci0(struct aml_buf *b, const struct acpi_platform *p)
{
	size_t m = aml_device_begin(b, "PCI0");

	aml_name_eisaid(b, "_HID", "PNP0A08");
	aml_name_eisaid(b, "_CID", "PNP0A03");
	aml_name_integer(b, "_UID", 0);
	aml_name_integer(b, "_SEG", 0);
	aml_name_integer(b, "_BBN", p->pci.bus_min);
	dsdt_pci_crs(b, p);
	dsdt_prt(b, p);
	if (p->pci.lpc)
		dsdt_lpc(b, p);
	aml_end(b, m);
}

static void
dsdt_hpet(struct aml_buf *b, const struct acpi_platform *p)
{
	struct aml_buf rb;

	aml_init(&rb);
	aml_res_mem32_fixed(&rb, (uint32_t)p->hpet.addr, ACPI_HPET_LEN, false);
	dsdt_dev(b, "HPET", "PNP0103", 0, &rb);
}

/*
 * Motherboard resources (PNP0C02): ports the FADT's blocks and the
 * ELCR use, and the ECAM window, so that the OS leaves them alone.
 */
static void
dsdt_mres(struct aml_buf *b, const struct acpi_platform *p)
{
	struct aml_buf rb;
	uint64_t ecam_len = ((uint64_t)p->pci.bus_max + 1) << 20;

	aml_init(&rb);
	aml_res_io(&rb, ACPI_PM1A_EVT_PORT, ACPI_PM1A_EVT_PORT, 1,
	    ACPI_PM1_EVT_LEN + ACPI_PM1_CNT_LEN);
	aml_res_io(&rb, p->pm_timer_port, p->pm_timer_port, 1,
	    ACPI_PM_TMR_LEN);
	aml_res_io(&rb, ACPI_SMI_CMD_PORT, ACPI_SMI_CMD_PORT, 1, 1);
	aml_res_io(&rb, ACPI_ELCR_PORT, ACPI_ELCR_PORT, 1, 2);
	if (p->pci.present && p->pci.ecam_base + ecam_len <= E820_4G)
		aml_res_mem32_fixed(&rb, (uint32_t)(p->pci.ecam_base +
		    ((uint64_t)p->pci.bus_min << 20)),
		    (uint32_t)(ecam_len - ((uint64_t)p->pci.bus_min << 20)),
		    true);
	dsdt_dev(b, "MRES", "PNP0C02", 0, &rb);
}

static void
dsdt_sb(struct aml_buf *b, const struct acpi_platform *p)
{
	size_t m = aml_scope_begin(b, "\\_SB");

	if (p->pci.present)
		dsdt_pci0(b, p);
	if (!p->pci.present || !p->pci.lpc)
		dsdt_legacy(b, p);
	if (p->hpet.present)
		dsdt_hpet(b, p);
	dsdt_mres(b, p);
	aml_end(b, m);
}

/*
 * 7.4.2.6: \_S5 = {SLP_TYPa, SLP_TYPb, reserved, reserved}; pm.c powers
 * off on SLP_TYP 5.  With link devices, \_PIC records the interrupt model
 * the OS chose (5.8.1) for _PRT.
 */
static void
dsdt_root(struct aml_buf *b, const struct acpi_platform *p)
{
	size_t m;

	aml_name(b, "_S5");
	m = aml_package_begin(b, 4);
	aml_integer(b, ACPI_SLP_TYP_S5);
	aml_integer(b, ACPI_SLP_TYP_S5);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_end(b, m);
	if (p->pci.present && p->pci.lpc) {
		aml_name_integer(b, "PICM", 0);
		m = aml_method_begin(b, "_PIC", 1, false);
		aml_byte(b, AML_STORE_OP);
		aml_byte(b, AML_ARG0);
		aml_name_string(b, "\\PICM");
		aml_end(b, m);
	}
}

int
acpi_build_dsdt(const struct acpi_platform *p, struct aml_buf *b)
{
	acpi_hdr(b, "DSDT", ACPI_DSDT_REV, "BVDSDT");
	dsdt_root(b, p);
	dsdt_sb(b, p);
	acpi_hdr_end(b);
	return b->error;
}

/* ---- The platform description ---- */

/* Bits needed to count to n (SDM vol. 3, 9.4.1: APIC ID packing). */
static unsigned
acpi_topo_width(int n)
{
	unsigned w = 0;

	while ((1 << w) < n)
		w++;
	return w;
}

/*
 * The IDs the vmm gives (vmm_topology_apic_id()): thread, core and
 * socket fields, each as wide as its count rounded up to a power of two.
 */
static int
acpi_platform_cpus(struct bhyve_vm *bvm, struct acpi_platform *p)
{
	int sockets, cores, threads, maxcpus;
	unsigned tw, cw;

	vm_get_topology(bvm->ctx, &sockets, &cores, &threads, &maxcpus);
	if (sockets < 1 || cores < 1 || threads < 1)
		sockets = cores = threads = 1;
	if (bvm->ncpus < 1 || bvm->ncpus > ACPI_MAX_CPUS)
		return bhyve_error(bvm, "acpi: %d vCPUs", bvm->ncpus);
	p->ncpus = bvm->ncpus;
	p->sockets = sockets;
	p->cores = cores;
	p->threads = threads;
	tw = acpi_topo_width(threads);
	cw = acpi_topo_width(cores);
	for (int i = 0; i < p->ncpus; i++) {
		uint32_t thread = (uint32_t)(i % threads);
		uint32_t core = (uint32_t)((i / threads) % cores);
		uint32_t socket = (uint32_t)(i / (threads * cores));

		p->apic_id[i] = socket << (tw + cw) | core << tw | thread;
	}
	if (config_get_bool(bvm->cfg, "x86.x2apic", false, &p->x2apic) != 0)
		return bhyve_error(bvm, "acpi: invalid x86.x2apic '%s'",
		    config_get(bvm->cfg, "x86.x2apic"));
	return 0;
}

/* The vmm's chips, as src/vmm/vmm_platform.c sets them up. */
static void
acpi_platform_chips(struct acpi_platform *p)
{
	p->ioapic.id = 0;
	p->ioapic.version = ACPI_IOAPIC_VERSION;
	p->ioapic.addr = ACPI_IOAPIC_ADDR;
	p->ioapic.gsi_base = 0;
	p->ioapic.pins = ACPI_IOAPIC_PINS;
	p->hpet.present = true;
	p->hpet.addr = ACPI_HPET_ADDR;
	p->hpet.block_id = ACPI_HPET_BLOCK_ID;
	p->pm_timer_port = ACPI_PM_TMR_PORT;
}

/* A leaf named 'leaf' under 'node', whether or not its value expands. */
static bool
acpi_config_has_leaf(struct bhyve_vm *bvm, const char *node, const char *leaf)
{
	struct config_node *n = config_find_node(bvm->cfg, node);

	for (n = n ? config_first_child(n) : NULL; n != NULL;
	    n = config_next_sibling(n))
		if (config_node_is_leaf(n) &&
		    strcmp(config_node_name(n), leaf) == 0)
			return true;
	return false;
}

/* COM1-COM4 as lpc_uart.c creates them: wanted when a 'path' is set. */
static void
acpi_platform_com(struct bhyve_vm *bvm, struct acpi_platform *p)
{
	static const struct acpi_com std[ACPI_NCOM] = {
		{ .port = 0x3f8, .irq = 4 }, { .port = 0x2f8, .irq = 3 },
		{ .port = 0x3e8, .irq = 4 }, { .port = 0x2e8, .irq = 3 },
	};

	for (int i = 0; i < ACPI_NCOM; i++) {
		char node[16];

		snprintf(node, sizeof(node), "lpc.com%d", i + 1);
		p->com[i] = std[i];
		p->com[i].present = acpi_config_has_leaf(bvm, node, "path");
	}
}

/* A string key: its default when unset, an error when it won't expand. */
static int
acpi_config_str(struct bhyve_vm *bvm, const char *key, const char *def,
    const char **out)
{
	errno = 0;
	*out = config_get(bvm->cfg, key);
	if (*out == NULL && errno == EINVAL)
		return bhyve_error(bvm, "acpi: invalid %s", key);
	if (*out == NULL)
		*out = def;
	return 0;
}

struct acpi_smbios_key {
	const char *key;
	const char *def;
	size_t off; /* of the const char * in struct acpi_smbios */
};

#define SMBIOS_KEY(k, d, f) { k, d, offsetof(struct acpi_smbios, f) }

/* bhyve_config(5) keys and bhyve's defaults (smbiostbl.c). */
static const struct acpi_smbios_key acpi_smbios_keys[] = {
	SMBIOS_KEY("bios.vendor", "BHYVE", bios_vendor),
	SMBIOS_KEY("bios.version", "14.0", bios_version),
	SMBIOS_KEY("bios.release_date", "10/17/2021", bios_date),
	SMBIOS_KEY("system.manufacturer", "FreeBSD", sys_manufacturer),
	SMBIOS_KEY("system.product_name", "BHYVE", sys_product),
	SMBIOS_KEY("system.version", "1.0", sys_version),
	SMBIOS_KEY("system.serial_number", "None", sys_serial),
	SMBIOS_KEY("system.sku", "None", sys_sku),
	SMBIOS_KEY("system.family_name", "Virtual Machine", sys_family),
	SMBIOS_KEY("board.manufacturer", "FreeBSD", board_manufacturer),
	SMBIOS_KEY("board.product_name", "BHYVE", board_product),
	SMBIOS_KEY("board.version", "1.0", board_version),
	SMBIOS_KEY("board.serial_number", "None", board_serial),
	SMBIOS_KEY("board.asset_tag", "None", board_asset),
	SMBIOS_KEY("board.location", "None", board_location),
	SMBIOS_KEY("chassis.manufacturer", "FreeBSD", chassis_manufacturer),
	SMBIOS_KEY("chassis.version", "1.0", chassis_version),
	SMBIOS_KEY("chassis.serial_number", "None", chassis_serial),
	SMBIOS_KEY("chassis.asset_tag", "None", chassis_asset),
	SMBIOS_KEY("chassis.sku", "None", chassis_sku),
};

/* Strings from the config; the UUID is the one fw_cfg shows too. */
static int
acpi_platform_smbios(struct bhyve_vm *bvm, struct acpi_smbios *s)
{
	for (size_t i = 0; i < sizeof(acpi_smbios_keys) /
	    sizeof(acpi_smbios_keys[0]); i++) {
		const struct acpi_smbios_key *k = &acpi_smbios_keys[i];
		const char **field = (const char **)(void *)((char *)s +
		    k->off);

		if (acpi_config_str(bvm, k->key, k->def, field) != 0)
			return -1;
	}
	return bhyve_vm_uuid(bvm, s->uuid);
}

int
acpi_platform_init(struct bhyve_vm *bvm, struct acpi_platform *p)
{
	const char *fwcfg = config_get(bvm->cfg, "lpc.fwcfg");

	memset(p, 0, sizeof(*p));
	if (acpi_platform_cpus(bvm, p) != 0)
		return -1;
	acpi_platform_chips(p);
	p->lowmem = vm_get_lowmem_size(bvm->ctx);
	p->highmem = vm_get_highmem_size(bvm->ctx);
	if (e820_from_ram(&p->mem, p->lowmem, p->highmem) != 0)
		return bhyve_error(bvm, "acpi: cannot build the memory map");
	acpi_platform_com(bvm, p);
	p->fwcfg = fwcfg != NULL && strcmp(fwcfg, "qemu") == 0;
	if (config_get_bool(bvm->cfg, "lpc.pvpanic", false, &p->pvpanic) != 0)
		return bhyve_error(bvm, "acpi: invalid lpc.pvpanic '%s'",
		    config_get(bvm->cfg, "lpc.pvpanic"));
	if (config_get_bool(bvm->cfg, "x86.mptable", true, &p->mptable) != 0)
		return bhyve_error(bvm, "acpi: invalid x86.mptable '%s'",
		    config_get(bvm->cfg, "x86.mptable"));
	if (config_get_bool(bvm->cfg, "acpi_tables", true, &p->acpi) != 0)
		return bhyve_error(bvm, "acpi: invalid acpi_tables '%s'",
		    config_get(bvm->cfg, "acpi_tables"));
	return acpi_platform_smbios(bvm, &p->smbios);
}

int
acpi_platform_e820(const struct acpi_platform *p, struct e820_map *out)
{
	uint64_t lo, hi;

	*out = p->mem;
	if (!p->pci.present)
		return 0;
	lo = p->pci.ecam_base + ((uint64_t)p->pci.bus_min << 20);
	hi = p->pci.ecam_base + (((uint64_t)p->pci.bus_max + 1) << 20);
	if (hi <= lo)
		return -EINVAL;
	return e820_add(out, lo, hi - lo, E820_TYPE_RESERVED);
}

/* ---- Installing everything ---- */

/* A zeroed view of guest RAM [gpa, end) to write a table into. */
static uint8_t *
acpi_bios_area(struct bhyve_vm *bvm, uint64_t gpa, uint64_t end)
{
	uint8_t *p = vm_map_gpa(bvm->ctx, gpa, end - gpa);

	if (p != NULL)
		memset(p, 0, end - gpa);
	return p;
}

static int
acpi_install_mptable(struct bhyve_vm *bvm, const struct acpi_platform *p)
{
	uint8_t *area;
	long n;

	if (!p->mptable)
		return 0;
	area = acpi_bios_area(bvm, ACPI_MPTABLE_BASE, ACPI_SMBIOS_BASE);
	if (area == NULL)
		return bhyve_error(bvm, "mptable: 0x%llx is not guest RAM",
		    (unsigned long long)ACPI_MPTABLE_BASE);
	n = mptable_build(p, ACPI_MPTABLE_BASE, area,
	    ACPI_SMBIOS_BASE - ACPI_MPTABLE_BASE);
	if (n < 0)
		return bhyve_error(bvm, "mptable: cannot build it: %s",
		    strerror((int)-n));
	return 0;
}

/* Entry points at 0xf1000 (2.1) and 0xf1020 (3.0), the table at 0xf1040. */
static int
acpi_install_smbios(struct bhyve_vm *bvm, const struct acpi_platform *p)
{
	const uint64_t table = ACPI_SMBIOS_BASE + 0x40;
	struct smbios_tables st;
	uint8_t *area;
	int error;

	area = acpi_bios_area(bvm, ACPI_SMBIOS_BASE, ACPI_TABLES_BASE);
	if (area == NULL)
		return bhyve_error(bvm, "smbios: 0x%llx is not guest RAM",
		    (unsigned long long)ACPI_SMBIOS_BASE);
	error = smbios_build(p, table, &st);
	if (error == 0 && st.len > ACPI_TABLES_BASE - table)
		error = -ENOSPC;
	if (error == 0) {
		memcpy(area, st.ep21, SMBIOS_EP21_LEN);
		memcpy(area + 0x20, st.ep30, SMBIOS_EP30_LEN);
		memcpy(area + 0x40, st.table, st.len);
	}
	/* For fw_cfg as QEMU: the firmware places the table itself. */
	if (error == 0 && bvm->fwcfg != NULL) {
		smbios_tables_free(&st);
		error = smbios_build(p, 0, &st);
		if (error == 0)
			error = fwcfg_add_file(bvm->fwcfg,
			    "etc/smbios/smbios-tables", st.table,
			    (uint32_t)st.len);
		if (error == 0)
			error = fwcfg_add_file(bvm->fwcfg,
			    "etc/smbios/smbios-anchor", st.ep30,
			    SMBIOS_EP30_LEN);
	}
	smbios_tables_free(&st);
	if (error)
		return bhyve_error(bvm, "smbios: cannot install: %s",
		    strerror(-error));
	return 0;
}

static int
acpi_install_fwcfg(struct bhyve_vm *bvm, const struct acpi_tables *t)
{
	uint8_t *cmds = NULL;
	size_t len = 0;
	int error;

	error = fwcfg_add_file(bvm->fwcfg, ACPI_FILE_TABLES_NAME, t->blob,
	    (uint32_t)t->len);
	if (error == 0)
		error = fwcfg_add_file(bvm->fwcfg, ACPI_FILE_RSDP_NAME, t->rsdp,
		    ACPI_RSDP_LEN);
	if (error == 0)
		error = acpi_tables_loader(t, &cmds, &len);
	if (error == 0)
		error = fwcfg_add_file(bvm->fwcfg, ACPI_FILE_LOADER_NAME, cmds,
		    (uint32_t)len);
	free(cmds);
	return error;
}

static int
acpi_install_acpi(struct bhyve_vm *bvm, const struct acpi_platform *p,
    uint64_t *rsdp_gpa)
{
	struct acpi_tables t;
	uint8_t *area;
	long n = 0;
	int error;

	area = acpi_bios_area(bvm, ACPI_TABLES_BASE, ACPI_BIOS_END);
	if (area == NULL)
		return bhyve_error(bvm, "acpi: 0x%llx is not guest RAM",
		    (unsigned long long)ACPI_TABLES_BASE);
	error = acpi_build(p, &t);
	if (error == 0) {
		n = acpi_tables_place(&t, ACPI_TABLES_BASE, area,
		    ACPI_BIOS_END - ACPI_TABLES_BASE);
		error = n < 0 ? (int)n : 0;
	}
	if (error == 0 && bvm->fwcfg != NULL)
		error = acpi_install_fwcfg(bvm, &t);
	acpi_tables_free(&t);
	if (error)
		return bhyve_error(bvm, "acpi: cannot install the tables: %s",
		    strerror(-error));
	*rsdp_gpa = ACPI_TABLES_BASE;
	return 0;
}

int
acpi_tables_install(struct bhyve_vm *bvm, const struct acpi_platform *p,
    uint64_t *rsdp_gpa)
{
	struct e820_map map;

	*rsdp_gpa = 0;
	if (acpi_install_mptable(bvm, p) != 0 ||
	    acpi_install_smbios(bvm, p) != 0 ||
	    (p->acpi && acpi_install_acpi(bvm, p, rsdp_gpa) != 0))
		return -1;
	if (acpi_platform_e820(p, &map) != 0)
		return bhyve_error(bvm, "acpi: cannot build the memory map");
	if (bvm->fwcfg != NULL && e820_fwcfg_install(bvm->fwcfg, &map) != 0)
		return bhyve_error(bvm, "acpi: cannot publish etc/e820");
	return 0;
}
