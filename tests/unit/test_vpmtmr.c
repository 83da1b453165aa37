/* SPDX-License-Identifier: BSD-2-Clause */
/* The ACPI PM timer: 3.579545 MHz from the timebase, 32 bits wide. */
#include <errno.h>

#include "io/vpmtmr.h"
#include "test.h"

static uint32_t
pm_read(struct vpmtmr *pm, uint16_t port, int bytes)
{
	uint32_t x = 0xdeadbeef;

	CHECK_EQ(vpmtmr_handler(pm, true, port, bytes, &x), 0);
	return x;
}

TEST(counts_from_the_timebase)
{
	struct vmm_timebase *tb = vmm_timebase_create_manual(123456789);
	struct vpmtmr *pm = vpmtmr_create(tb);

	REQUIRE(tb != NULL && pm != NULL);
	CHECK_EQ(pm_read(pm, 0x408, 4), 0);
	vmm_timebase_advance(tb, 279); /* one clock is 279.37 ns */
	CHECK_EQ(pm_read(pm, 0x408, 4), 0);
	vmm_timebase_advance(tb, 1);
	CHECK_EQ(pm_read(pm, 0x408, 4), 1);
	vmm_timebase_advance(tb, NS_PER_SEC - 280);
	CHECK_EQ(pm_read(pm, 0x408, 4), 3579545);
	vmm_timebase_advance(tb, 2 * NS_PER_SEC);
	CHECK_EQ(pm_read(pm, 0x408, 4), 3 * 3579545);
	vpmtmr_destroy(pm);
	vmm_timebase_destroy(tb);
}

TEST(wraps_at_2_32)
{
	struct vmm_timebase *tb = vmm_timebase_create_manual(0);
	struct vpmtmr *pm = vpmtmr_create(tb);
	uint64_t ns;

	REQUIRE(tb != NULL && pm != NULL);
	/* The first instant with 2^32 - 1 clocks, then 2^32. */
	ns = ((1ULL << 32) - 1) * NS_PER_SEC / VPMTMR_HZ + 1;
	vmm_timebase_advance(tb, ns);
	CHECK_EQ(pm_read(pm, 0x408, 4), 0xffffffff);
	vmm_timebase_advance(tb, 280);
	CHECK_EQ(pm_read(pm, 0x408, 4), 0);
	vmm_timebase_advance(tb, 1200 * NS_PER_SEC - ns - 280);
	CHECK_EQ(pm_read(pm, 0x408, 4),
	    (uint32_t)(1200ULL * VPMTMR_HZ)); /* 4295454000 mod 2^32 */
	vpmtmr_destroy(pm);
	vmm_timebase_destroy(tb);
}

TEST(narrow_reads_and_writes)
{
	struct vmm_timebase *tb = vmm_timebase_create_manual(0);
	struct vpmtmr *pm = vpmtmr_create(tb);
	uint32_t x = 0;

	REQUIRE(tb != NULL && pm != NULL);
	vmm_timebase_advance(tb, 0x123456ULL * NS_PER_SEC / VPMTMR_HZ + 1);
	CHECK_EQ(pm_read(pm, 0x408, 4), 0x123456);
	CHECK_EQ(pm_read(pm, 0x408, 1), 0x56);
	CHECK_EQ(pm_read(pm, 0x409, 1), 0x34);
	CHECK_EQ(pm_read(pm, 0x40a, 2), 0x0012);
	CHECK_EQ(vpmtmr_handler(pm, false, 0x408, 4, &x), 0); /* ignored */
	CHECK_EQ(pm_read(pm, 0x408, 4), 0x123456);
	CHECK_EQ(vpmtmr_handler(pm, true, 0x408, 3, &x), -EINVAL);
	CHECK_EQ(vpmtmr_handler(pm, true, 0x408, 8, &x), -EINVAL);
	CHECK(vpmtmr_create(NULL) == NULL);
	vpmtmr_destroy(pm);
	vmm_timebase_destroy(tb);
}

TEST_MAIN(TEST_ENTRY(counts_from_the_timebase) TEST_ENTRY(wraps_at_2_32)
    TEST_ENTRY(narrow_reads_and_writes))
