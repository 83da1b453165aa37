/* SPDX-License-Identifier: BSD-2-Clause */
/* The multiboot v1 information structure (Multiboot 0.6.96, 3.3). */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

#include <stdbool.h>
#include <stdint.h>

#define MBI_FLAG_MEM		(1u << 0)
#define MBI_FLAG_BOOTDEV	(1u << 1)
#define MBI_FLAG_CMDLINE	(1u << 2)
#define MBI_FLAG_MODS		(1u << 3)
#define MBI_FLAG_AOUT_SYMS	(1u << 4)
#define MBI_FLAG_ELF_SHDR	(1u << 5)
#define MBI_FLAG_MMAP		(1u << 6)
#define MBI_FLAG_DRIVES		(1u << 7)
#define MBI_FLAG_CONFIG		(1u << 8)
#define MBI_FLAG_LOADER_NAME	(1u << 9)
#define MBI_FLAG_APM		(1u << 10)
#define MBI_FLAG_VBE		(1u << 11)
#define MBI_FLAG_FRAMEBUFFER	(1u << 12)
#define MBI_FLAGS_KNOWN		((1u << 13) - 1)

#define MB_MMAP_RAM		1

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;	/* KiB from 0 */
	uint32_t mem_upper;	/* KiB from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
};

/* 'size' does not count itself: the next entry is at +size+4. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t mod_start;
	uint32_t mod_end;	/* one past the last byte */
	uint32_t string;
	uint32_t reserved;
};

/* The MBI from boot_entry, or NULL when EAX did not carry the magic. */
const struct mb_info *mb_info(void);
/* The first/next memory map entry, NULL at the end or on a bad entry. */
const struct mb_mmap_entry *mb_mmap_first(const struct mb_info *mbi);
const struct mb_mmap_entry *mb_mmap_next(const struct mb_info *mbi,
    const struct mb_mmap_entry *e);
/* Module i, or NULL. */
const struct mb_module *mb_module(const struct mb_info *mbi, uint32_t i);
/* The command line the loader passed, "" if none. */
const char *mb_cmdline(const struct mb_info *mbi);
/* Sum of the lengths of the RAM entries of the memory map. */
uint64_t mb_ram_total(const struct mb_info *mbi);
/* True when the range is inside one RAM entry of the map. */
bool mb_is_ram(const struct mb_info *mbi, uint64_t addr, uint64_t len);

#endif /* GUEST_MULTIBOOT_H */
