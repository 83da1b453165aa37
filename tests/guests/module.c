/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * boot.initrd as multiboot module 0.  The harness passes the file's size
 * (len=), its POSIX cksum CRC (sum=) and its base name (modname=).
 */
#include "guest.h"

#define PAGE_SIZE	4096
#define CRC32_POLY	0x04c11db7u	/* MSB-first, as cksum(1) uses it */
#define MOD_STRING_MAX	4096

extern const char _load_start[], _end[];

static uint32_t crc_table[256];

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i << 24;

		for (int b = 0; b < 8; b++)
			c = (c & 0x80000000u) ? (c << 1) ^ CRC32_POLY : c << 1;
		crc_table[i] = c;
	}
}

static uint32_t
crc_byte(uint32_t crc, uint8_t b)
{
	return (crc << 8) ^ crc_table[(crc >> 24) ^ b];
}

/* POSIX cksum: the data, then its length in as few bytes as it takes. */
static uint32_t
posix_cksum(const uint8_t *p, uint64_t len)
{
	uint32_t crc = 0;

	crc_init();
	for (uint64_t i = 0; i < len; i++)
		crc = crc_byte(crc, p[i]);
	for (uint64_t n = len; n != 0; n >>= 8)
		crc = crc_byte(crc, (uint8_t)n);
	return ~crc;
}

static bool
overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void
check_string(const struct mb_module *m, const char *args)
{
	const char *s = (const char *)(uint64_t)m->string;
	char name[64];
	size_t n;

	if (!CHECK(m->string != 0))
		return;
	n = strnlen(s, MOD_STRING_MAX);
	if (!CHECK(n < MOD_STRING_MAX))
		return;
	printf("module string '%s'\n", s);
	for (size_t i = 0; i < n; i++)
		CHECK(s[i] >= 0x20 && s[i] < 0x7f);
	if (cmdline_get(args, "modname", name, sizeof(name)))
		CHECK(strstr(s, name) != NULL);
}

static void
check_placement(const struct boot_info *bi, const struct mb_module *m)
{
	uint64_t len = m->mod_end - m->mod_start;
	uint64_t image = (uint64_t)(_end - _load_start);

	/* Header bit 0 asked for page-aligned modules (Multiboot 3.1.2). */
	CHECK_EQ(m->mod_start % PAGE_SIZE, 0);
	CHECK(mb_is_ram(bi->mbi, m->mod_start, len));
	CHECK(!overlaps(m->mod_start, len, (uint64_t)_load_start, image));
	CHECK(!overlaps(m->mod_start, len, bi->entry->ebx,
	    sizeof(struct mb_info)));
	CHECK(!overlaps(m->mod_start, len, bi->mbi->mods_addr,
	    sizeof(struct mb_module)));
}

int
guest_main(struct boot_info *bi)
{
	const struct mb_module *m;
	uint64_t want_len, want_sum;
	uint32_t sum;

	if (!CHECK(bi->mbi != NULL) || !CHECK(bi->mbi->flags & MBI_FLAG_MODS))
		return guest_finish("module");
	CHECK_EQ(bi->mbi->mods_count, 1);
	m = mb_module(bi->mbi, 0);
	if (!CHECK(m != NULL) || !CHECK(m->mod_end >= m->mod_start))
		return guest_finish("module");
	printf("module 0 at 0x%x-0x%x\n", m->mod_start, m->mod_end);
	check_string(m, bi->args);
	check_placement(bi, m);
	if (CHECK(cmdline_get_u64(bi->args, "len", &want_len)))
		CHECK_EQ(m->mod_end - m->mod_start, want_len);
	sum = posix_cksum((const uint8_t *)(uint64_t)m->mod_start,
	    m->mod_end - m->mod_start);
	printf("module cksum 0x%x\n", sum);
	if (CHECK(cmdline_get_u64(bi->args, "sum", &want_sum)))
		CHECK_EQ(sum, want_sum);
	return guest_finish("module");
}
