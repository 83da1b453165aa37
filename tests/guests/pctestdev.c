/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-testdev and the empty parts of the buses around it:
 *   port 0xe0..0xe3   one 32-bit register, each byte lane addressable
 *   0xff000000        64 KiB of scratch memory, any width up to 8
 *   port 0x666        nobody's: reads all ones, writes vanish
 *   0xfd000000        no device, no RAM: the same
 */
#include "guest.h"

#define TEST_PORT	0xe0
#define IOMEM_BASE	0xff000000ULL
#define IOMEM_SIZE	0x10000
#define UNUSED_PORT	0x666
#define UNMAPPED_MMIO	0xfd000000ULL

static void
check_port_lanes(void)
{
	outl(TEST_PORT, 0x12345678);
	CHECK_EQ(inl(TEST_PORT), 0x12345678);
	CHECK_EQ(inb(TEST_PORT), 0x78);
	CHECK_EQ(inb(TEST_PORT + 1), 0x56);
	CHECK_EQ(inb(TEST_PORT + 2), 0x34);
	CHECK_EQ(inb(TEST_PORT + 3), 0x12);
	CHECK_EQ(inw(TEST_PORT), 0x5678);
	CHECK_EQ(inw(TEST_PORT + 2), 0x1234);
	CHECK_EQ(inw(TEST_PORT + 1), 0x3456);

	/* A narrow write replaces only its own lanes. */
	outb(TEST_PORT + 2, 0xab);
	CHECK_EQ(inl(TEST_PORT), 0x12ab5678);
	outw(TEST_PORT, 0xcdef);
	CHECK_EQ(inl(TEST_PORT), 0x12abcdef);
	outb(TEST_PORT + 3, 0x9a);
	CHECK_EQ(inl(TEST_PORT), 0x9aabcdef);
	outw(TEST_PORT + 1, 0x4321);
	CHECK_EQ(inl(TEST_PORT), 0x9a4321ef);
}

static void
check_iomem_at(uint64_t a)
{
	mmio_write64(a, 0x0123456789abcdefULL);
	CHECK_EQ(mmio_read64(a), 0x0123456789abcdefULL);
	/* Little-endian: the bytes of the qword, low address first. */
	CHECK_EQ(mmio_read8(a), 0xef);
	CHECK_EQ(mmio_read8(a + 7), 0x01);
	CHECK_EQ(mmio_read16(a + 2), 0x89ab);
	CHECK_EQ(mmio_read32(a + 4), 0x01234567);

	mmio_write8(a + 1, 0x5a);
	mmio_write16(a + 4, 0xbeef);
	mmio_write32(a, mmio_read32(a) ^ 0xffff0000u);
	CHECK_EQ(mmio_read64(a), 0x0123beef76545aefULL);
	CHECK_EQ(mmio_read16(a + 1), 0x545a);
}

static void
check_iomem(void)
{
	static const uint64_t offsets[] = { 0, 0x10, 0x1238, 0x8000,
		IOMEM_SIZE - 8 };

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		check_iomem_at(IOMEM_BASE + offsets[i]);
	/* Separate locations: writing one left the others alone. */
	CHECK_EQ(mmio_read64(IOMEM_BASE + 0x10), 0x0123beef76545aefULL);
	mmio_write32(IOMEM_BASE + 0x20, 0xfeedf00d);
	CHECK_EQ(mmio_read32(IOMEM_BASE + 0x20), 0xfeedf00d);
	CHECK_EQ(mmio_read64(IOMEM_BASE + 0x10), 0x0123beef76545aefULL);
}

static void
check_unused_port(void)
{
	CHECK_EQ(inb(UNUSED_PORT), 0xff);
	CHECK_EQ(inw(UNUSED_PORT), 0xffff);
	CHECK_EQ(inl(UNUSED_PORT), 0xffffffff);
	outb(UNUSED_PORT, 0);
	outw(UNUSED_PORT, 0);
	outl(UNUSED_PORT, 0);
	CHECK_EQ(inb(UNUSED_PORT), 0xff);
	CHECK_EQ(inl(UNUSED_PORT), 0xffffffff);
}

static void
check_unmapped_mmio(void)
{
	uint64_t a = UNMAPPED_MMIO;

	CHECK_EQ(mmio_read8(a), 0xff);
	CHECK_EQ(mmio_read16(a + 2), 0xffff);
	CHECK_EQ(mmio_read32(a + 4), 0xffffffff);
	CHECK_EQ(mmio_read64(a + 8), ~0ULL);
	mmio_write8(a, 0);
	mmio_write32(a + 4, 0);
	mmio_write64(a + 8, 0);
	CHECK_EQ(mmio_read32(a + 4), 0xffffffff);
	CHECK_EQ(mmio_read64(a + 8), ~0ULL);
}

int
guest_main(struct boot_info *bi)
{
	check_port_lanes();
	check_iomem();
	check_unused_port();
	/*
	 * Not on QEMU: its std-VGA framebuffer sits at 0xfd000000, and it
	 * reads 0 (not all ones) where no device decodes an address.
	 */
	if (!cmdline_has_word(bi->args, "peer=qemu"))
		check_unmapped_mmio();
	return guest_finish("pctestdev");
}
