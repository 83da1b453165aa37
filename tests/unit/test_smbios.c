/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SMBIOS (DSP0134 3.0): the structures walked as dmidecode would, their
 * formatted lengths, string sets and handles, both entry points and
 * their checksums, the memory structures for several RAM sizes, and the
 * strings and UUID the config gives.
 */
#include "acpi.h"
#include "test.h"
#include "uuid.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TABLE 0xf1040ULL

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
plat(struct acpi_platform *p, uint64_t lowmem, uint64_t highmem)
{
	memset(p, 0, sizeof(*p));
	p->ncpus = 8;
	p->sockets = 2;
	p->cores = 2;
	p->threads = 2;
	p->lowmem = lowmem;
	p->highmem = highmem;
	p->smbios = (struct acpi_smbios){ .bios_vendor = "BHYVE",
		.bios_version = "14.0", .bios_date = "10/17/2021",
		.sys_manufacturer = "FreeBSD", .sys_product = "BHYVE",
		.sys_version = "1.0", .sys_serial = "None", .sys_sku = "None",
		.sys_family = "Virtual Machine", .board_manufacturer = "B",
		.chassis_manufacturer = "C" };
}

struct smb_struct {
	const uint8_t *p; /* formatted area */
	const char *strings[16];
	int nstr;
	size_t total; /* formatted + strings */
};

/* The structures in order; -1 when the table is malformed. */
static int
smb_walk(const uint8_t *t, size_t len, struct smb_struct *s, int max)
{
	size_t off = 0;
	int n = 0;

	while (off < len && n < max) {
		struct smb_struct *c = &s[n++];
		size_t str = off + t[off + 1];

		memset(c, 0, sizeof(*c));
		c->p = t + off;
		if (t[off + 1] < 4 || str + 2 > len)
			return -1;
		if (t[str] == 0 && t[str + 1] == 0) {
			off = str + 2;
		} else {
			while (t[str] != 0 && c->nstr < 16) {
				c->strings[c->nstr++] = (const char *)t + str;
				str += strlen((const char *)t + str) + 1;
				if (str >= len)
					return -1;
			}
			off = str + 1;
		}
		c->total = off - (size_t)(c->p - t);
		if (c->p[0] == 127)
			return off == len ? n : -1;
	}
	return -1;
}

/* String 'i' of a structure (1-based), or NULL for 0 or out of range. */
static const char *
smb_string(const struct smb_struct *c, int i)
{
	return i >= 1 && i <= c->nstr ? c->strings[i - 1] : NULL;
}

static const struct smb_struct *
smb_find(const struct smb_struct *s, int n, int type, int which)
{
	for (int i = 0; i < n; i++)
		if (s[i].p[0] == type && which-- == 0)
			return &s[i];
	return NULL;
}

TEST(structures_and_entry_points)
{
	static const uint8_t types[] = { 0, 1, 3, 2, 4, 4, 16, 17, 19, 19, 32,
		127 };
	static const uint8_t lens[128] = { [0] = 0x18, [1] = 0x1b,
		[2] = 0x0f, [3] = 0x16, [4] = 0x30, [16] = 0x17, [17] = 0x28,
		[19] = 0x1f, [32] = 0x0b, [127] = 4 };
	struct acpi_platform p;
	struct smbios_tables t;
	struct smb_struct s[32];
	size_t maxs = 0;
	int n;

	plat(&p, 3 * GiB, 2 * GiB);
	REQUIRE(smbios_build(&p, TABLE, &t) == 0);
	n = smb_walk(t.table, t.len, s, 32);
	REQUIRE(n == (int)sizeof(types));
	for (int i = 0; i < n; i++) {
		CHECK_EQ(s[i].p[0], types[i]);
		CHECK_EQ(s[i].p[1], lens[types[i]]);
		CHECK_EQ(rd16(s[i].p + 2), i); /* handles 0, 1, 2 ... */
		if (s[i].total > maxs)
			maxs = s[i].total;
	}
	CHECK_EQ(t.count, n);
	CHECK_EQ(t.max_struct, maxs);
	/* 2.1 entry point. */
	CHECK(memcmp(t.ep21, "_SM_", 4) == 0);
	CHECK_EQ(sum8(t.ep21, 31), 0);
	CHECK_EQ(sum8(t.ep21 + 0x10, 15), 0);
	CHECK_EQ(t.ep21[5], 31);
	CHECK_EQ(t.ep21[6], 3);
	CHECK_EQ(rd16(t.ep21 + 8), maxs);
	CHECK(memcmp(t.ep21 + 0x10, "_DMI_", 5) == 0);
	CHECK_EQ(rd16(t.ep21 + 0x16), t.len);
	CHECK_EQ(rd32(t.ep21 + 0x18), TABLE);
	CHECK_EQ(rd16(t.ep21 + 0x1c), n);
	/* 3.0 entry point. */
	CHECK(memcmp(t.ep30, "_SM3_", 5) == 0);
	CHECK_EQ(sum8(t.ep30, 24), 0);
	CHECK_EQ(t.ep30[6], 24);
	CHECK_EQ(t.ep30[7], 3);
	CHECK_EQ(t.ep30[10], 1);
	CHECK_EQ(rd32(t.ep30 + 12), t.len);
	CHECK_EQ(rd64(t.ep30 + 16), TABLE);
	smbios_tables_free(&t);
}

TEST(strings_and_handles)
{
	struct acpi_platform p;
	struct smbios_tables t;
	struct smb_struct s[32];
	const struct smb_struct *b, *sys, *board, *ch, *cpu;
	int n;

	plat(&p, 128 * MiB, 0);
	p.smbios.sys_serial = ""; /* left out: string number 0 */
	REQUIRE(smbios_build(&p, TABLE, &t) == 0);
	n = smb_walk(t.table, t.len, s, 32);
	REQUIRE(n > 0);
	b = smb_find(s, n, 0, 0);
	sys = smb_find(s, n, 1, 0);
	board = smb_find(s, n, 2, 0);
	ch = smb_find(s, n, 3, 0);
	cpu = smb_find(s, n, 4, 1);
	REQUIRE(b && sys && board && ch && cpu);
	CHECK_STR(smb_string(b, b->p[4]), "BHYVE");
	CHECK_STR(smb_string(b, b->p[5]), "14.0");
	CHECK_STR(smb_string(b, b->p[8]), "10/17/2021");
	CHECK_EQ(rd16(b->p + 6), 0xf000);
	CHECK_EQ(b->p[0x13] & 0x10, 0x10); /* a virtual machine */
	CHECK_STR(smb_string(sys, sys->p[4]), "FreeBSD");
	CHECK_STR(smb_string(sys, sys->p[5]), "BHYVE");
	CHECK_EQ(sys->p[7], 0);
	CHECK_STR(smb_string(sys, sys->p[0x1a]), "Virtual Machine");
	CHECK_EQ(sys->nstr, 5);
	CHECK_STR(smb_string(board, board->p[4]), "B");
	CHECK_EQ(board->p[5], 0); /* no product string given */
	CHECK_EQ(rd16(board->p + 0x0b), rd16(ch->p + 2));
	CHECK_STR(smb_string(ch, ch->p[4]), "C");
	CHECK_STR(smb_string(cpu, cpu->p[4]), "CPU 1");
	CHECK_EQ(cpu->p[0x23], 2); /* cores per socket */
	CHECK_EQ(cpu->p[0x25], 4); /* threads per socket */
	CHECK_EQ(rd16(cpu->p + 0x2a), 2);
	CHECK_EQ(rd16(cpu->p + 0x2e), 4);
	CHECK_EQ(cpu->p[0x18], 0x41);
	/* A structure without strings ends in two NULs. */
	CHECK_EQ(smb_find(s, n, 32, 0)->total, 0x0b + 2);
	smbios_tables_free(&t);
}

/* 7.2.1: the first three UUID fields little-endian. */
TEST(uuid_byte_order)
{
	static const uint8_t want[16] = { 0x67, 0x45, 0x23, 0x01, 0xab, 0x89,
		0xef, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	struct acpi_platform p;
	struct smbios_tables t;
	struct smb_struct s[32];
	int n;

	plat(&p, 128 * MiB, 0);
	REQUIRE(uuid_parse("01234567-89ab-cdef-0123-456789abcdef",
	    p.smbios.uuid) == 0);
	REQUIRE(smbios_build(&p, TABLE, &t) == 0);
	n = smb_walk(t.table, t.len, s, 32);
	REQUIRE(n > 1);
	CHECK(memcmp(smb_find(s, n, 1, 0)->p + 8, want, 16) == 0);
	smbios_tables_free(&t);
	CHECK(uuid_parse("01234567-89ab-cdef-0123-456789abcde",
	    p.smbios.uuid) != 0);
	CHECK(uuid_parse("01234567+89ab-cdef-0123-456789abcdef",
	    p.smbios.uuid) != 0);
	CHECK(uuid_parse("0123456g-89ab-cdef-0123-456789abcdef",
	    p.smbios.uuid) != 0);
}

struct memcase {
	uint64_t low, high;
	uint32_t t16_kib;   /* type 16 maximum capacity field */
	uint64_t t16_ext;   /* its extended field */
	uint16_t t17_size;  /* type 17 size field */
	uint32_t t17_ext;   /* its extended size (MiB) */
	int nmaps;
};

TEST(memory_sizes)
{
	static const struct memcase cases[] = {
		{ 128 * MiB, 0, 128 * 1024, 0, 128, 0, 1 },
		{ 3 * GiB, 2 * GiB, 5 * 1024 * 1024, 0, 5120, 0, 2 },
		{ 3 * GiB, 37 * GiB, 40 * 1024 * 1024, 0, 0x7fff, 40960, 2 },
		{ 3 * GiB, 8189 * GiB, 0x80000000u, 8192 * GiB, 0x7fff,
		    8192 * 1024, 2 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct memcase *c = &cases[k];
		struct acpi_platform p;
		struct smbios_tables t;
		struct smb_struct s[32];
		const struct smb_struct *a, *d, *m;
		int n;

		plat(&p, c->low, c->high);
		REQUIRE(smbios_build(&p, TABLE, &t) == 0);
		n = smb_walk(t.table, t.len, s, 32);
		REQUIRE(n > 0);
		a = smb_find(s, n, 16, 0);
		d = smb_find(s, n, 17, 0);
		REQUIRE(a && d);
		CHECK_EQ(rd32(a->p + 7), c->t16_kib);
		CHECK_EQ(rd64(a->p + 0x0f), c->t16_ext);
		CHECK_EQ(rd16(d->p + 4), rd16(a->p + 2));
		CHECK_EQ(rd16(d->p + 0x0c), c->t17_size);
		CHECK_EQ(rd32(d->p + 0x1c), c->t17_ext);
		CHECK(smb_find(s, n, 19, c->nmaps - 1) != NULL);
		CHECK(smb_find(s, n, 19, c->nmaps) == NULL);
		m = smb_find(s, n, 19, 0);
		CHECK_EQ(rd32(m->p + 4), 0);
		CHECK_EQ(rd32(m->p + 8), (c->low - 1) / 1024);
		CHECK_EQ(rd16(m->p + 0x0c), rd16(a->p + 2));
		m = smb_find(s, n, 19, 1);
		if (m != NULL && (4 * GiB + c->high - 1) / 1024 < 0xffffffffu) {
			CHECK_EQ(rd32(m->p + 4), 4 * GiB / 1024);
			CHECK_EQ(rd32(m->p + 8), (4 * GiB + c->high - 1) / 1024);
		} else if (m != NULL) {
			CHECK_EQ(rd32(m->p + 4), 0xffffffffu);
			CHECK_EQ(rd64(m->p + 0x0f), 4 * GiB);
			CHECK_EQ(rd64(m->p + 0x17), 4 * GiB + c->high - 1);
		}
		smbios_tables_free(&t);
	}
}

TEST(table_must_fit_32_bits)
{
	struct acpi_platform p;
	struct smbios_tables t;

	plat(&p, 128 * MiB, 0);
	CHECK(smbios_build(&p, 0xfffffff0ULL, &t) != 0);
	CHECK(t.table == NULL);
}

TEST_MAIN(TEST_ENTRY(structures_and_entry_points)
    TEST_ENTRY(strings_and_handles) TEST_ENTRY(uuid_byte_order)
    TEST_ENTRY(memory_sizes) TEST_ENTRY(table_must_fit_32_bits))
