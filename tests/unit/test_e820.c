/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The E820 map: the standard layout for VMs of 128 MiB, 3 GiB and 5 GiB
 * (null-backend VMs, so the sizes are what libvmmapi really splits),
 * overrides that split and merge entries, limits, the "etc/e820"
 * encoding, and agreement with the loaders' own loader_e820().
 */
#include <errno.h>

#include "e820.h"
#include "loader_internal.h"
#include "test.h"
#include "vmmapi.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void
check_ent(int line, const struct e820_map *m, int i, uint64_t base,
    uint64_t len, uint32_t type)
{
	if (i >= m->n || m->ent[i].base != base || m->ent[i].len != len ||
	    m->ent[i].type != type) {
		fprintf(stderr, "%s:%d: %s: entry %d is not 0x%llx+0x%llx "
		    "type %u\n", __FILE__, line, test_current, i,
		    (unsigned long long)base, (unsigned long long)len, type);
		test_failures++;
	}
}

#define CHECK_ENT(m, i, b, l, t) check_ent(__LINE__, (m), (i), (b), (l), (t))

/* The map of a real VM of 'size' bytes, checked against loader_e820(). */
static int
vm_map(size_t size, struct e820_map *m)
{
	struct vmctx *ctx = vm_create("t-e820", VMM_BACKEND_NULL, NULL);
	struct loader_e820 lm[LOADER_E820_MAX];
	int n, error = -1;

	if (ctx == NULL || vm_setup_memory(ctx, size) != 0)
		goto out;
	error = e820_from_vm(m, ctx);
	n = loader_e820(ctx, lm);
	CHECK_EQ(n, m->n);
	for (int i = 0; i < n && i < m->n; i++) {
		CHECK_EQ(lm[i].base, m->ent[i].base);
		CHECK_EQ(lm[i].len, m->ent[i].len);
		CHECK_EQ(lm[i].type, m->ent[i].type);
	}
out:
	if (ctx)
		vm_destroy(ctx);
	return error;
}

TEST(vm_128m)
{
	struct e820_map m;

	REQUIRE(vm_map(128 * MiB, &m) == 0);
	CHECK_EQ(m.n, 3);
	CHECK_ENT(&m, 0, 0, 0x9fc00, E820_TYPE_RAM);
	CHECK_ENT(&m, 1, 0x9fc00, 0x100000 - 0x9fc00, E820_TYPE_RESERVED);
	CHECK_ENT(&m, 2, MiB, 127 * MiB, E820_TYPE_RAM);
	CHECK_EQ(e820_total(&m, E820_TYPE_RAM), 128 * MiB - 0x60400);
	CHECK(e820_covers(&m, 0xf0000, 0x10000, E820_TYPE_RESERVED));
	CHECK(!e820_covers(&m, 0xf0000, 0x10001, E820_TYPE_RESERVED));
}

/* 3 GiB is all of low memory: nothing above 4 GiB. */
TEST(vm_3g)
{
	struct e820_map m;

	REQUIRE(vm_map(3 * GiB, &m) == 0);
	CHECK_EQ(m.n, 3);
	CHECK_ENT(&m, 2, MiB, 3 * GiB - MiB, E820_TYPE_RAM);
	CHECK_EQ(e820_total(&m, E820_TYPE_RAM) + 0x60400, 3 * GiB);
}

TEST(vm_5g)
{
	struct e820_map m;

	REQUIRE(vm_map(5 * GiB, &m) == 0);
	CHECK_EQ(m.n, 4);
	CHECK_ENT(&m, 2, MiB, 3 * GiB - MiB, E820_TYPE_RAM);
	CHECK_ENT(&m, 3, 4 * GiB, 2 * GiB, E820_TYPE_RAM);
	CHECK_EQ(e820_total(&m, E820_TYPE_RAM) + 0x60400, 5 * GiB);
	CHECK(!e820_covers(&m, 3 * GiB, 1, E820_TYPE_RAM)); /* the hole */
}

/* A reserved range in the middle of RAM splits it in three. */
TEST(add_splits_and_merges)
{
	struct e820_map m;

	REQUIRE(e820_from_ram(&m, 512 * MiB, 0) == 0);
	CHECK_EQ(e820_add(&m, 256 * MiB, MiB, E820_TYPE_RESERVED), 0);
	CHECK_EQ(m.n, 5);
	CHECK_ENT(&m, 2, MiB, 255 * MiB, E820_TYPE_RAM);
	CHECK_ENT(&m, 3, 256 * MiB, MiB, E820_TYPE_RESERVED);
	CHECK_ENT(&m, 4, 257 * MiB, 255 * MiB, E820_TYPE_RAM);
	/* Giving it back as RAM merges the three again. */
	CHECK_EQ(e820_add(&m, 256 * MiB, MiB, E820_TYPE_RAM), 0);
	CHECK_EQ(m.n, 3);
	CHECK_ENT(&m, 2, MiB, 511 * MiB, E820_TYPE_RAM);
	/* Over the end of one entry and the start of the next. */
	CHECK_EQ(e820_add(&m, 0x90000, 0x80000, E820_TYPE_ACPI), 0);
	CHECK_ENT(&m, 0, 0, 0x90000, E820_TYPE_RAM);
	CHECK_ENT(&m, 1, 0x90000, 0x80000, E820_TYPE_ACPI);
	CHECK_ENT(&m, 2, 0x110000, 0x100000 - 0x10000 + 510 * MiB,
	    E820_TYPE_RAM);
	CHECK_EQ(m.n, 3);
	/* Past everything: a new entry at the end. */
	CHECK_EQ(e820_add(&m, 0xe0000000, 0x10000000, E820_TYPE_RESERVED), 0);
	CHECK_ENT(&m, 3, 0xe0000000, 0x10000000, E820_TYPE_RESERVED);
}

TEST(add_rejects)
{
	struct e820_map m, before;

	e820_init(&m);
	CHECK_EQ(e820_add(&m, 0, 0, E820_TYPE_RAM), -EINVAL);
	CHECK_EQ(e820_add(&m, UINT64_MAX - 10, 100, E820_TYPE_RAM), -EINVAL);
	CHECK_EQ(e820_add(&m, 0, 1, 0), -EINVAL);
	CHECK_EQ(e820_add(&m, 0, 1, 6), -EINVAL);
	for (int i = 0; i < E820_MAX; i++)
		CHECK_EQ(e820_add(&m, (uint64_t)i * 0x2000, 0x1000,
		    E820_TYPE_RAM), 0);
	CHECK_EQ(m.n, E820_MAX);
	before = m;
	/* A split that needs two more slots fails and changes nothing. */
	CHECK_EQ(e820_add(&m, 0x10008, 0x10, E820_TYPE_NVS), -ENOSPC);
	CHECK(memcmp(&m, &before, sizeof(m)) == 0);
}

/* QEMU's layout: le64 address, le64 length, le32 type, packed. */
TEST(fwcfg_encoding)
{
	struct e820_map m;
	uint8_t buf[E820_MAX * E820_FWCFG_ENTRY];
	size_t n;

	REQUIRE(e820_from_ram(&m, 3 * GiB, 2 * GiB) == 0);
	n = e820_encode(&m, buf);
	CHECK_EQ(n, 4 * 20);
	CHECK(memcmp(buf, (const uint8_t[]){ 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
	    0xfc, 0x09, 0, 0, 0, 0, 0, 1, 0, 0, 0 }, 20) == 0);
	CHECK(memcmp(buf + 60, (const uint8_t[]){ 0, 0, 0, 0, 1, 0, 0, 0, 0,
	    0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0 }, 20) == 0);
	CHECK_EQ(buf[20 + 16], 2);
}

TEST_MAIN(TEST_ENTRY(vm_128m) TEST_ENTRY(vm_3g) TEST_ENTRY(vm_5g)
    TEST_ENTRY(add_splits_and_merges) TEST_ENTRY(add_rejects)
    TEST_ENTRY(fwcfg_encoding))
