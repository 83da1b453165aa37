/* SPDX-License-Identifier: BSD-2-Clause */
/* Walking the multiboot information structure (Multiboot 0.6.96, 3.3). */
#include "guest.h"

/* A map larger than this is taken as garbage rather than walked. */
#define MB_MMAP_MAX_BYTES	65536
#define MB_MODS_MAX		256

const struct mb_info *
mb_info(void)
{
	if (boot_entry.eax != MB_BOOTLOADER_MAGIC || boot_entry.ebx == 0)
		return NULL;
	return (const struct mb_info *)(uint64_t)boot_entry.ebx;
}

const char *
mb_cmdline(const struct mb_info *mbi)
{
	if (mbi == NULL || !(mbi->flags & MBI_FLAG_CMDLINE) || mbi->cmdline == 0)
		return "";
	return (const char *)(uint64_t)mbi->cmdline;
}

static const struct mb_mmap_entry *
mmap_check(const struct mb_info *mbi, uint64_t at)
{
	uint64_t end = (uint64_t)mbi->mmap_addr + mbi->mmap_length;
	const struct mb_mmap_entry *e = (const void *)at;

	/* An entry must fit, and 'size' must at least cover addr/len/type. */
	if (at + sizeof(*e) > end || e->size < sizeof(*e) - 4 ||
	    at + e->size + 4 > end)
		return NULL;
	return e;
}

const struct mb_mmap_entry *
mb_mmap_first(const struct mb_info *mbi)
{
	if (mbi == NULL || !(mbi->flags & MBI_FLAG_MMAP) ||
	    mbi->mmap_length > MB_MMAP_MAX_BYTES)
		return NULL;
	return mmap_check(mbi, mbi->mmap_addr);
}

const struct mb_mmap_entry *
mb_mmap_next(const struct mb_info *mbi, const struct mb_mmap_entry *e)
{
	return mmap_check(mbi, (uint64_t)e + e->size + 4);
}

const struct mb_module *
mb_module(const struct mb_info *mbi, uint32_t i)
{
	const struct mb_module *mods;

	if (mbi == NULL || !(mbi->flags & MBI_FLAG_MODS) ||
	    i >= mbi->mods_count || mbi->mods_count > MB_MODS_MAX)
		return NULL;
	mods = (const void *)(uint64_t)mbi->mods_addr;
	return &mods[i];
}

uint64_t
mb_ram_total(const struct mb_info *mbi)
{
	uint64_t total = 0;

	for (const struct mb_mmap_entry *e = mb_mmap_first(mbi); e != NULL;
	    e = mb_mmap_next(mbi, e))
		if (e->type == MB_MMAP_RAM)
			total += e->len;
	return total;
}

bool
mb_is_ram(const struct mb_info *mbi, uint64_t addr, uint64_t len)
{
	for (const struct mb_mmap_entry *e = mb_mmap_first(mbi); e != NULL;
	    e = mb_mmap_next(mbi, e))
		if (e->type == MB_MMAP_RAM && addr >= e->addr &&
		    addr + len <= e->addr + e->len)
			return true;
	return false;
}
