/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The multiboot memory information against mem=<MiB> on the command line
 * (the harness runs bhyve with -m <MiB>M).  bhyve's layout: RAM at
 * [0, 0x9fc00), reserved up to 1 MiB, RAM from 1 MiB to min(mem, 3 GiB),
 * the rest from 4 GiB up.  High memory is only described, never touched.
 *
 * With peer=qemu the layout is QEMU's: i440fx keeps everything below
 * 4 GiB unless mem >= 3.5 GiB, and SeaBIOS keeps a little of the top of
 * low memory for itself (reserved in the e820 map it hands on).
 */
#include "guest.h"

#define MiB			(1ULL << 20)
#define GiB			(1ULL << 30)
#define LOW_RAM_END		0x9fc00ULL	/* 639 KiB: EBDA follows */
#define BHYVE_LOWMEM_LIMIT	(3 * GiB)
#define QEMU_LOWMEM_SPLIT	0xe0000000ULL	/* pc_piix.c */
#define QEMU_FIRMWARE_SLACK	MiB

struct layout {
	uint64_t mem;		/* bytes */
	uint64_t lowtop;	/* end of RAM below 4 GiB */
	uint64_t high;		/* bytes of RAM from 4 GiB */
	uint64_t slack;		/* how much of lowtop firmware may keep */
};

static void
layout_init(struct layout *l, uint64_t mem_mib, bool qemu)
{
	l->mem = mem_mib * MiB;
	if (qemu) {
		l->lowtop = l->mem >= QEMU_LOWMEM_SPLIT ? 3 * GiB : l->mem;
		l->slack = QEMU_FIRMWARE_SLACK;
	} else {
		l->lowtop = l->mem < BHYVE_LOWMEM_LIMIT ? l->mem :
		    BHYVE_LOWMEM_LIMIT;
		l->slack = 0;
	}
	l->high = l->mem - l->lowtop;
}

static const struct mb_mmap_entry *
find_entry(const struct mb_info *mbi, uint64_t addr)
{
	for (const struct mb_mmap_entry *e = mb_mmap_first(mbi); e != NULL;
	    e = mb_mmap_next(mbi, e))
		if (e->addr == addr)
			return e;
	return NULL;
}

/* Prints the map; checks entries are sane and do not overlap. */
static int
walk_map(const struct mb_info *mbi)
{
	int n = 0;

	for (const struct mb_mmap_entry *e = mb_mmap_first(mbi); e != NULL;
	    e = mb_mmap_next(mbi, e), n++) {
		printf("mmap 0x%010lx-0x%010lx type %u\n", e->addr,
		    e->addr + e->len, e->type);
		CHECK(e->len != 0);
		CHECK(e->addr + e->len > e->addr);
		for (const struct mb_mmap_entry *f = mb_mmap_next(mbi, e);
		    f != NULL; f = mb_mmap_next(mbi, f))
			CHECK(f->addr >= e->addr + e->len ||
			    e->addr >= f->addr + f->len);
	}
	return n;
}

/* RAM in [start, end) according to the map, in bytes. */
static uint64_t
ram_between(const struct mb_info *mbi, uint64_t start, uint64_t end)
{
	uint64_t total = 0;

	for (const struct mb_mmap_entry *e = mb_mmap_first(mbi); e != NULL;
	    e = mb_mmap_next(mbi, e)) {
		uint64_t a = e->addr > start ? e->addr : start;
		uint64_t b = e->addr + e->len < end ? e->addr + e->len : end;

		if (e->type == MB_MMAP_RAM && a < b)
			total += b - a;
	}
	return total;
}

static bool
reserved_between(const struct mb_info *mbi, uint64_t start, uint64_t end)
{
	for (const struct mb_mmap_entry *e = mb_mmap_first(mbi); e != NULL;
	    e = mb_mmap_next(mbi, e))
		if (e->type != MB_MMAP_RAM && e->addr < end &&
		    e->addr + e->len > start)
			return true;
	return false;
}

static void
check_low(const struct mb_info *mbi, const struct layout *l)
{
	const struct mb_mmap_entry *e = find_entry(mbi, 0);
	uint64_t upper_end;

	CHECK_EQ(mbi->mem_lower, 639);
	if (CHECK(e != NULL)) {
		CHECK_EQ(e->type, MB_MMAP_RAM);
		CHECK_EQ(e->len, LOW_RAM_END);
	}
	CHECK_EQ(ram_between(mbi, LOW_RAM_END, MiB), 0);
	CHECK(reserved_between(mbi, LOW_RAM_END, MiB));

	e = find_entry(mbi, MiB);
	if (!CHECK(e != NULL) || !CHECK_EQ(e->type, MB_MMAP_RAM))
		return;
	upper_end = e->addr + e->len;
	CHECK(upper_end <= l->lowtop && upper_end + l->slack >= l->lowtop);
	/* mem_upper: KiB from 1 MiB to the first hole (Multiboot 3.3). */
	CHECK_EQ((uint64_t)mbi->mem_upper * 1024, upper_end - MiB);
	CHECK_EQ(ram_between(mbi, upper_end, 4 * GiB), 0);
}

static void
check_high(const struct mb_info *mbi, const struct layout *l)
{
	const struct mb_mmap_entry *e = find_entry(mbi, 4 * GiB);

	if (l->high == 0) {
		CHECK_EQ(ram_between(mbi, 4 * GiB, ~0ULL), 0);
		return;
	}
	if (CHECK(e != NULL)) {
		CHECK_EQ(e->type, MB_MMAP_RAM);
		CHECK_EQ(e->len, l->high);
	}
	CHECK_EQ(ram_between(mbi, 4 * GiB, ~0ULL), l->high);
}

int
guest_main(struct boot_info *bi)
{
	const struct mb_info *mbi = bi->mbi;
	uint64_t mem_mib, total, want;
	struct layout l;

	printf("cmdline: %s\n", bi->args);
	if (!CHECK(mbi != NULL) || !CHECK(mbi->flags & MBI_FLAG_MEM) ||
	    !CHECK(mbi->flags & MBI_FLAG_MMAP) ||
	    !CHECK(cmdline_get_u64(bi->args, "mem", &mem_mib)))
		return guest_finish("mbinfo");
	layout_init(&l, mem_mib, cmdline_has_word(bi->args, "peer=qemu"));
	printf("mem_lower %u KiB, mem_upper %u KiB, %d map entries\n",
	    mbi->mem_lower, mbi->mem_upper, walk_map(mbi));
	check_low(mbi, &l);
	check_high(mbi, &l);
	/* All of -m is RAM, except the hole from 639 KiB to 1 MiB. */
	total = mb_ram_total(mbi);
	want = l.mem - (MiB - LOW_RAM_END);
	printf("RAM total 0x%lx, expected 0x%lx\n", total, want);
	CHECK(total <= want && total + l.slack >= want);
	return guest_finish("mbinfo");
}
