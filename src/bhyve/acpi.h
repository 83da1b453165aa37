/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Firmware tables and ACPI power management: what bhyve's acpi.c, basl.c,
 * mptbl.c, smbiostbl.c and pm.c do, built from one description of the
 * platform (struct acpi_platform) rather than from global state.
 *
 *   acpi.c       the platform description, the ACPI tables (RSDP, XSDT,
 *                RSDT, FADT, FACS, DSDT, MADT, HPET, MCFG) and installing
 *                every table: in guest RAM and through QEMU's fw_cfg
 *   acpi_aml.c   the AML encoder the DSDT is written with
 *   mptbl.c      the MP table (MP spec 1.4)
 *   smbiostbl.c  SMBIOS (DSP0134 3.x)
 *   e820.c       the memory map
 *   pm.c         the PM1 registers, SMI_CMD, the reset register, the SCI
 *                and the power button: the device behind the FADT
 *
 * Where the tables go: in guest RAM in the BIOS area, where a directly
 * booted kernel scans for them (ACPI 6.5, 5.2.5.1; MP spec 4; DSP0134
 * 5.2), at bhyve's addresses:
 *
 *	0xf0000	MP floating pointer and configuration table (4 KiB)
 *	0xf1000	SMBIOS entry points and structure table (5 KiB)
 *	0xf2400	RSDP, then the ACPI tables, up to 1 MiB
 *
 * The E820 map keeps 0x9fc00-1 MiB reserved and no loader places anything
 * there.  With lpc.fwcfg=qemu the same tables are also published as QEMU
 * publishes them for UEFI: etc/acpi/rsdp, etc/acpi/tables and the
 * etc/table-loader script; etc/smbios/smbios-anchor and
 * etc/smbios/smbios-tables; etc/e820.
 */
#ifndef ACPI_H
#define ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bhyverun.h"
#include "e820.h"

#define ACPI_CHECK __attribute__((warn_unused_result))

struct aml_buf;

/* The fixed-hardware ports of bhyve's platform (pm.c serves them). */
#define ACPI_PM1A_EVT_PORT 0x400 /* PM1a_STS (2 bytes), PM1a_EN (2) */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1A_CNT_PORT 0x404 /* PM1a_CNT */
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_PORT 0x408 /* the vmm's 32-bit PM timer */
#define ACPI_PM_TMR_LEN 4
#define ACPI_SMI_CMD_PORT 0xb2
#define ACPI_ENABLE_VALUE 0xa0  /* written to SMI_CMD: set SCI_EN */
#define ACPI_DISABLE_VALUE 0xa1 /* written to SMI_CMD: clear SCI_EN */
#define ACPI_SCI_IRQ 9
#define ACPI_RESET_PORT 0xcf9 /* the chipset's reset control register */
#define ACPI_RESET_VALUE 0x06 /* full reset: bits 2 and 1 */
#define ACPI_SLP_TYP_S5 5     /* _S5's SLP_TYPa, what pm.c powers off on */
#define ACPI_RTC_CENTURY 0x32 /* CMOS index of the century byte */
#define ACPI_ELCR_PORT 0x4d0  /* the 8259s' edge/level control, 2 bytes */
#define ACPI_FWCFG_PORT 0x510 /* QEMU fw_cfg: 0x510-0x51b with DMA */
#define ACPI_PVPANIC_PORT 0x505 /* QEMU pvpanic (pvpanic.c) */
#define ACPI_FWCFG_LEN 0x0c

/* Where the tables live in guest RAM (see above). */
#define ACPI_MPTABLE_BASE 0xf0000ULL
#define ACPI_SMBIOS_BASE 0xf1000ULL
#define ACPI_TABLES_BASE 0xf2400ULL
#define ACPI_BIOS_END 0x100000ULL

/* The vmm's interrupt controllers and timers (src/vmm/io/). */
#define ACPI_LAPIC_ADDR 0xfee00000ULL
#define ACPI_IOAPIC_ADDR 0xfec00000ULL
#define ACPI_IOAPIC_PINS 32
#define ACPI_IOAPIC_VERSION 0x20
#define ACPI_HPET_ADDR 0xfed00000ULL
#define ACPI_HPET_LEN 0x400

#define ACPI_MAX_CPUS VM_MAXCPU
#define ACPI_MAX_PRT 128 /* 32 slots x 4 pins on bus 0 */
#define ACPI_NCOM 4
#define ACPI_NLINKS 8 /* PIRQ links A-H */

/* [base, limit): empty when limit <= base. */
struct acpi_window {
	uint64_t base;
	uint64_t limit;
};

/* One PCI INTx route on bus 0: a _PRT entry and an MP-table entry. */
struct acpi_prt {
	uint8_t slot; /* device number */
	uint8_t pin;  /* 0 = INTA# .. 3 = INTD# */
	uint8_t link; /* PIRQ link 0-7, LNKA-LNKH */
	uint32_t gsi; /* I/O APIC input */
};

struct acpi_com {
	bool present;
	uint16_t port;
	uint8_t irq;
};

/* SMBIOS strings: NULL or "" leaves a string out. */
struct acpi_smbios {
	const char *bios_vendor, *bios_version, *bios_date;
	const char *sys_manufacturer, *sys_product, *sys_version;
	const char *sys_serial, *sys_sku, *sys_family;
	const char *board_manufacturer, *board_product, *board_version;
	const char *board_serial, *board_asset, *board_location;
	const char *chassis_manufacturer, *chassis_version;
	const char *chassis_serial, *chassis_asset, *chassis_sku;
	uint8_t uuid[16]; /* in the order the text form is written */
};

struct acpi_pci {
	bool present;
	uint64_t ecam_base; /* of bus 0; the MCFG and E820 cover bus_min.. */
	uint8_t bus_min, bus_max;
	struct acpi_window io, mem32, mem64; /* what bus 0 decodes */
	int nprt;
	struct acpi_prt prt[ACPI_MAX_PRT];
	/*
	 * An LPC bridge on bus 0: the ISA devices' parent in the DSDT, and
	 * the home of the PIRQ registers (0x60-0x63, 0x68-0x6b) that the
	 * PIC-mode link devices LNKA-LNKH drive.
	 */
	bool lpc;
	uint8_t lpc_slot, lpc_func;
	uint16_t link_irqs; /* ISA IRQs a link may take (_PRS) */
};

/*
 * Everything the tables say.  acpi_platform_init() fills all but 'pci'
 * from the VM and its config; the caller fills 'pci' from the PCI
 * framework (see the integration notes in acpi.c).
 */
struct acpi_platform {
	int ncpus;
	uint32_t apic_id[ACPI_MAX_CPUS];
	bool x2apic; /* x86.x2apic: local APICs start in x2APIC mode */
	int sockets, cores, threads;
	struct {
		uint8_t id;
		uint8_t version;
		uint64_t addr;
		uint32_t gsi_base;
		int pins;
	} ioapic;
	struct {
		bool present;
		uint64_t addr;
		uint32_t block_id; /* capabilities register, bits 31:0 */
	} hpet;
	uint16_t pm_timer_port;
	uint64_t lowmem, highmem; /* RAM below and above 4 GiB */
	struct e820_map mem;	  /* RAM layout; see acpi_platform_e820() */
	struct acpi_pci pci;
	struct acpi_com com[ACPI_NCOM];
	bool fwcfg;   /* QEMU fw_cfg on 0x510 */
	bool pvpanic; /* QEMU pvpanic on 0x505 (lpc.pvpanic) */
	bool acpi;    /* acpi_tables (default true, as bhyve on amd64) */
	bool mptable; /* x86.mptable */
	struct acpi_smbios smbios;
};

/*
 * Fill 'p' from the VM: vCPUs and their APIC IDs (the vmm packs them
 * from the topology, SDM vol. 3 9.4.1), the chips, RAM, COM ports,
 * fw_cfg, acpi_tables, x86.mptable and the SMBIOS keys.  -1 with
 * bvm->err set on a bad config value (uuid, acpi_tables, x86.mptable,
 * x86.x2apic, an SMBIOS string that does not expand).
 */
int acpi_platform_init(struct bhyve_vm *bvm, struct acpi_platform *p)
    ACPI_CHECK;
/* The map to report: p->mem with the ECAM window reserved. */
int acpi_platform_e820(const struct acpi_platform *p, struct e820_map *out)
    ACPI_CHECK;
/* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" (hex digits, either case). */

/*
 * The ACPI tables as one relocatable set, QEMU's linker/loader model:
 * 'blob' holds every table but the RSDP (the FACS first, 64-byte
 * aligned), each pointer field holding its target's offset in 'blob';
 * 'ptr' lists those fields, 'csum' the checksums to compute after the
 * pointers are made absolute.
 */
#define ACPI_RSDP_LEN 36
#define ACPI_MAX_TABLES 12
#define ACPI_MAX_PTRS 40

enum acpi_file { ACPI_FILE_TABLES, ACPI_FILE_RSDP };

struct acpi_table_ref {
	char sig[5];
	uint32_t offset; /* in blob */
	uint32_t len;
};

struct acpi_ptr_fixup {
	uint8_t file; /* enum acpi_file holding the field */
	uint8_t size; /* 4 or 8 */
	uint32_t offset;
};

struct acpi_csum_fixup {
	uint8_t file;
	uint32_t offset; /* the checksum byte */
	uint32_t start;
	uint32_t len;
};

struct acpi_tables {
	uint8_t *blob;
	size_t len;
	uint8_t rsdp[ACPI_RSDP_LEN];
	int ntables;
	struct acpi_table_ref table[ACPI_MAX_TABLES];
	int nptrs;
	struct acpi_ptr_fixup ptr[ACPI_MAX_PTRS];
	int ncsums;
	struct acpi_csum_fixup csum[ACPI_MAX_TABLES + 2];
};

int acpi_build(const struct acpi_platform *p, struct acpi_tables *t)
    ACPI_CHECK;
void acpi_tables_free(struct acpi_tables *t);
/*
 * Lay the set out for guest address 'base' (16-byte aligned): the RSDP
 * at out[0], the blob from out[64], pointers resolved, checksums set.
 * Returns the bytes used, or -ENOSPC when 'outlen' is too small.
 */
long acpi_tables_place(const struct acpi_tables *t, uint64_t base,
    uint8_t *out, size_t outlen) ACPI_CHECK;
/* QEMU's etc/table-loader script for the set (128-byte commands). */
int acpi_tables_loader(const struct acpi_tables *t, uint8_t **cmds,
    size_t *len) ACPI_CHECK;
/* The DSDT's AML alone (header included), for tests. */
int acpi_build_dsdt(const struct acpi_platform *p, struct aml_buf *b)
    ACPI_CHECK;

/*
 * The MP table (mptbl.c) for guest address 'base' (16-byte aligned):
 * floating pointer at out[0], configuration table after it.  Returns
 * the bytes used, -ENOSPC, or -EINVAL (no CPU it can name).
 */
long mptable_build(const struct acpi_platform *p, uint64_t base,
    uint8_t *out, size_t outlen) ACPI_CHECK;

/*
 * SMBIOS (smbiostbl.c): the structure table, the 2.1 (32-bit) and 3.0
 * (64-bit) entry points for a table at guest address 'table_addr'.
 */
#define SMBIOS_EP21_LEN 31
#define SMBIOS_EP30_LEN 24
struct smbios_tables {
	uint8_t *table;
	size_t len;
	uint16_t count;	  /* structures, the end-of-table one included */
	uint16_t max_struct; /* the largest, strings included */
	uint8_t ep21[SMBIOS_EP21_LEN];
	uint8_t ep30[SMBIOS_EP30_LEN];
};
int smbios_build(const struct acpi_platform *p, uint64_t table_addr,
    struct smbios_tables *t) ACPI_CHECK;
void smbios_tables_free(struct smbios_tables *t);

/*
 * Build and install everything: the MP table (unless x86.mptable is
 * false), SMBIOS and the ACPI tables (unless acpi_tables is false) in the
 * BIOS area, the same through fw_cfg when bvm->fwcfg exists, and
 * etc/e820.  *rsdp_gpa gets the RSDP's guest address (for the PVH start
 * info and the zero page), 0 without ACPI tables.
 * -1 with bvm->err set on failure.
 */
int acpi_tables_install(struct bhyve_vm *bvm, const struct acpi_platform *p,
    uint64_t *rsdp_gpa) ACPI_CHECK;

/* pm.c: the platform device behind the FADT's fixed hardware. */
extern const struct bhyve_device pm_device;
/*
 * The power button (SIGTERM, as in bhyve): latch PWRBTN_STS and raise
 * the SCI when the guest has ACPI enabled; otherwise nothing could tell
 * the guest, and the VM powers off at once (bhyve then dies of the
 * signal).
 */
void pm_power_button(struct bhyve_vm *bvm);
/*
 * The reset control register at 0xcf9 sits inside the PCI configuration
 * address port's dword, so it registers through the PCI framework:
 * call after pci_emul_init().  Without PCI it takes the port directly.
 */
int pm_reset_attach(struct bhyve_vm *bvm) ACPI_CHECK;

#endif /* ACPI_H */
