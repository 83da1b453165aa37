/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest's memory map as the BIOS E820 call reports it (ACPI 6.5,
 * chapter 15): bhyve's e820.c.  One map is built from the VM's RAM and
 * handed to everything that describes memory: the Linux loader (zero
 * page, PVH start info), QEMU's fw_cfg file "etc/e820" for UEFI, and the
 * SMBIOS and MP-table builders.
 *
 * The standard layout, the same as loader_e820()'s:
 *
 *	0 - 0x9fc00		RAM (639 KiB of base memory)
 *	0x9fc00 - 1 MiB		reserved: EBDA, VGA hole, the BIOS area
 *				(where the MP table, SMBIOS and ACPI tables live)
 *	1 MiB - lowmem		RAM
 *	4 GiB - 4 GiB+highmem	RAM
 *
 * plus what the platform reserves on top (the PCI ECAM window).
 */
#ifndef E820_H
#define E820_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fwcfg_softc;
struct vmctx;

#define E820_CHECK __attribute__((warn_unused_result))

/* Address range types (ACPI 6.5, table 15.1). */
enum e820_type {
	E820_TYPE_RAM = 1,
	E820_TYPE_RESERVED = 2,
	E820_TYPE_ACPI = 3,
	E820_TYPE_NVS = 4,
	E820_TYPE_UNUSABLE = 5,
};

#define E820_EBDA 0x9fc00ULL
#define E820_1M 0x100000ULL
#define E820_4G (1ULL << 32)

#define E820_MAX 32

struct e820_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* enum e820_type */
};

/* Sorted by address, no overlaps, neighbours of one type merged. */
struct e820_map {
	int n;
	struct e820_entry ent[E820_MAX];
};

void e820_init(struct e820_map *m);
/*
 * Describe [base, base + len) as 'type': whatever the map said about
 * any part of it before is replaced.  Returns 0, -EINVAL (empty or
 * wrapping range, bad type) or -ENOSPC (more than E820_MAX entries).
 */
int e820_add(struct e820_map *m, uint64_t base, uint64_t len, uint32_t type)
    E820_CHECK;
/* The standard layout for 'lowmem' bytes below 4 GiB, 'highmem' above. */
int e820_from_ram(struct e820_map *m, uint64_t lowmem, uint64_t highmem)
    E820_CHECK;
/* The same from the VM's RAM sizes. */
int e820_from_vm(struct e820_map *m, struct vmctx *ctx) E820_CHECK;

/* Total bytes of the given type. */
uint64_t e820_total(const struct e820_map *m, uint32_t type);
/* True when [base, base + len) lies wholly in one entry of 'type'. */
bool e820_covers(const struct e820_map *m, uint64_t base, uint64_t len,
    uint32_t type);

/*
 * QEMU's "etc/e820" layout: per entry le64 address, le64 length, le32
 * type, packed (20 bytes).  e820_encode() writes m->n entries into 'out'
 * (room for E820_FWCFG_ENTRY * m->n bytes) and returns the byte count.
 */
#define E820_FWCFG_ENTRY 20
size_t e820_encode(const struct e820_map *m, uint8_t *out);
/* Publish the map as fw_cfg "etc/e820". */
int e820_fwcfg_install(struct fwcfg_softc *sc, const struct e820_map *m)
    E820_CHECK;

#endif /* E820_H */
