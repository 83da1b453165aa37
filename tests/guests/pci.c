/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI bus 0 through configuration mechanism #1 (0xcf8/0xcfc, PCI 3.0
 * 3.2.2.3.2) and, when the harness names one, the ECAM window (PCIe base
 * 7.2.2; the kit maps 0-4 GiB).  The harness passes what to expect:
 *   hb=<id>       dword 0 of the host bridge at 00:00.0
 *   lpc=<slot>    where the PCI-ISA bridge is, and lpcid=<id> its dword 0
 *   ecam=<base>   compare every register of every function both ways
 *   ndev=<n>      exactly n functions on bus 0 (bhyve: -s 0 and -s 31)
 *   pcie=1        the host bridge has a PCI Express capability
 * Absent functions must read all ones, BARs must size as PCI 3.0 6.2.5.1
 * says (when some device has one), read-only registers stay put.
 */
#include "guest.h"

#define CONF1_ADDR	0xcf8
#define CONF1_DATA	0xcfc
#define NSLOTS		32

static uint64_t ecam;

static uint32_t
c1_addr(int bus, int slot, int func, int reg)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)slot << 11 |
	    (uint32_t)func << 8 | (uint32_t)(reg & 0xfc);
}

static uint32_t
c1_read32(int bus, int slot, int func, int reg)
{
	outl(CONF1_ADDR, c1_addr(bus, slot, func, reg));
	return inl(CONF1_DATA);
}

static uint8_t
c1_read8(int bus, int slot, int func, int reg)
{
	outl(CONF1_ADDR, c1_addr(bus, slot, func, reg));
	return inb((uint16_t)(CONF1_DATA + (reg & 3)));
}

static void
c1_write32(int bus, int slot, int func, int reg, uint32_t v)
{
	outl(CONF1_ADDR, c1_addr(bus, slot, func, reg));
	outl(CONF1_DATA, v);
}

static void
c1_write16(int bus, int slot, int func, int reg, uint16_t v)
{
	outl(CONF1_ADDR, c1_addr(bus, slot, func, reg));
	outw((uint16_t)(CONF1_DATA + (reg & 2)), v);
}

static void
c1_write8(int bus, int slot, int func, int reg, uint8_t v)
{
	outl(CONF1_ADDR, c1_addr(bus, slot, func, reg));
	outb((uint16_t)(CONF1_DATA + (reg & 3)), v);
}

static uint64_t
ecam_addr(int bus, int slot, int func, int reg)
{
	return ecam + ((uint64_t)bus << 20) + ((uint64_t)slot << 15) +
	    ((uint64_t)func << 12) + (uint64_t)reg;
}

static void
check_address_register(const struct boot_info *bi)
{
	outl(CONF1_ADDR, 0x80000000);
	CHECK_EQ(inl(CONF1_ADDR), 0x80000000);
	outl(CONF1_ADDR, c1_addr(0, 31, 7, 0xfc));
	CHECK_EQ(inl(CONF1_ADDR), c1_addr(0, 31, 7, 0xfc));
	if (!cmdline_has_word(bi->args, "peer=qemu")) {
		/* bhyve: reserved bits 30:24 and 1:0 read as 0. */
		outl(CONF1_ADDR, 0xffffffff);
		CHECK_EQ(inl(CONF1_ADDR), 0x80fffffc);
		/* Without the enable bit, data reads as nobody's port. */
		outl(CONF1_ADDR, 0x00000000);
		CHECK_EQ(inl(CONF1_DATA), 0xffffffff);
	}
}

/* Lanes of dword 0: bytes and words at 0xcfc-0xcff. */
static void
check_lanes(int slot, uint32_t id)
{
	outl(CONF1_ADDR, c1_addr(0, slot, 0, 0));
	for (int i = 0; i < 4; i++)
		CHECK_EQ(inb((uint16_t)(CONF1_DATA + i)), (id >> (8 * i)) & 0xff);
	CHECK_EQ(inw(CONF1_DATA), id & 0xffff);
	CHECK_EQ(inw(CONF1_DATA + 2), id >> 16);
}

/* Both mechanisms agree on every register, at every width. */
static void
check_ecam_matches(int slot, int func)
{
	for (int reg = 0; reg < 0x100; reg += 4)
		CHECK_EQ(mmio_read32(ecam_addr(0, slot, func, reg)),
		    c1_read32(0, slot, func, reg));
	for (int reg = 0; reg < 0x40; reg++)
		CHECK_EQ(mmio_read8(ecam_addr(0, slot, func, reg)),
		    c1_read8(0, slot, func, reg));
	CHECK_EQ(mmio_read16(ecam_addr(0, slot, func, 2)),
	    c1_read32(0, slot, func, 0) >> 16);
}

/* A function without the multi-function bit answers only as func 0. */
static void
check_functions(int slot)
{
	uint8_t hdr = c1_read8(0, slot, 0, 0x0e);
	int others = 0;

	for (int f = 1; f < 8; f++) {
		uint32_t id = c1_read32(0, slot, f, 0);

		if (id != 0xffffffff)
			others++;
		if (ecam)
			CHECK_EQ(mmio_read32(ecam_addr(0, slot, f, 0)), id);
	}
	if (!(hdr & 0x80))
		CHECK_EQ(others, 0);
}

static int
walk_caps(int slot, int want)
{
	int off, steps = 0, found = 0;

	if (!(c1_read32(0, slot, 0, 0x04) & (0x10u << 16)))
		return 0;
	off = c1_read8(0, slot, 0, 0x34);
	while (off != 0 && steps++ < 48) {
		CHECK(off >= 0x40 && (off & 3) == 0);
		if (c1_read8(0, slot, 0, off) == want)
			found = 1;
		off = c1_read8(0, slot, 0, off + 1);
	}
	CHECK_EQ(off, 0);
	return found;
}

/*
 * Size each BAR with decoding off: write ones, read the mask, put it
 * back.  The mask keeps the type bits and its address part is a power of
 * two's complement.  Returns how many BARs were found.
 */
static int
size_bars(int slot)
{
	uint32_t cmd = c1_read32(0, slot, 0, 0x04) & 0xffff;
	int found = 0;

	if ((c1_read8(0, slot, 0, 0x0e) & 0x7f) != 0)
		return 0; /* bridges: another header layout */
	c1_write16(0, slot, 0, 0x04, (uint16_t)(cmd & ~3u));
	for (int bar = 0; bar < 6; bar++) {
		int reg = 0x10 + 4 * bar;
		uint32_t old = c1_read32(0, slot, 0, reg), mask, size;
		bool io = old & 1;

		c1_write32(0, slot, 0, reg, 0xffffffff);
		mask = c1_read32(0, slot, 0, reg);
		c1_write32(0, slot, 0, reg, old);
		CHECK_EQ(c1_read32(0, slot, 0, reg), old);
		if (mask == 0)
			continue;
		found++;
		CHECK_EQ(mask & (io ? 3u : 0xfu), old & (io ? 3u : 0xfu));
		size = ~(mask & (io ? ~3u : ~0xfu)) + 1;
		if (io)
			size &= 0xffff;
		printf("pci 00:%02x.0 bar%d %s size 0x%x\n", slot, bar,
		    io ? "io" : "mem", size);
		CHECK(size != 0 && (size & (size - 1)) == 0);
		if (!io && (old & 6) == 4)
			bar++; /* the upper half of a 64-bit BAR */
	}
	c1_write16(0, slot, 0, 0x04, (uint16_t)cmd);
	return found;
}

/* Vendor ID is read-only; the interrupt line is storage. */
static void
check_writes(int hb_slot, int lpc_slot)
{
	uint32_t id = c1_read32(0, hb_slot, 0, 0);
	uint8_t line = c1_read8(0, lpc_slot, 0, 0x3c);

	c1_write32(0, hb_slot, 0, 0, 0x12345678);
	CHECK_EQ(c1_read32(0, hb_slot, 0, 0), id);
	c1_write8(0, lpc_slot, 0, 0x3c, 0x0a);
	CHECK_EQ(c1_read8(0, lpc_slot, 0, 0x3c), 0x0a);
	c1_write8(0, lpc_slot, 0, 0x3c, line);
	/* A PIRQ routing register of the ISA bridge. */
	line = c1_read8(0, lpc_slot, 0, 0x63);
	c1_write8(0, lpc_slot, 0, 0x63, 0x0b);
	CHECK_EQ(c1_read8(0, lpc_slot, 0, 0x63), 0x0b);
	c1_write8(0, lpc_slot, 0, 0x63, line);
}

static int
enumerate(void)
{
	int n = 0;

	for (int s = 0; s < NSLOTS; s++) {
		uint32_t id = c1_read32(0, s, 0, 0);

		if (ecam)
			CHECK_EQ(mmio_read32(ecam_addr(0, s, 0, 0)), id);
		if ((id & 0xffff) == 0xffff) {
			/* Nothing there: the whole space reads ones. */
			CHECK_EQ(id, 0xffffffff);
			CHECK_EQ(c1_read32(0, s, 0, 0x08), 0xffffffff);
			continue;
		}
		n++;
		printf("pci 00:%02x.0 %04x:%04x class %06x hdr %02x\n", s,
		    id & 0xffff, id >> 16, c1_read32(0, s, 0, 0x08) >> 8,
		    c1_read8(0, s, 0, 0x0e));
		check_functions(s);
		if (ecam)
			check_ecam_matches(s, 0);
	}
	return n;
}

int
guest_main(struct boot_info *bi)
{
	uint64_t hb = 0, lpc = 0, lpcid = 0, ndev = 0, pcie = 0;
	int n, bars = 0;

	CHECK(cmdline_get_u64(bi->args, "hb", &hb));
	CHECK(cmdline_get_u64(bi->args, "lpc", &lpc) && lpc < NSLOTS);
	CHECK(cmdline_get_u64(bi->args, "lpcid", &lpcid));
	(void)cmdline_get_u64(bi->args, "ecam", &ecam);
	check_address_register(bi);
	n = enumerate();
	CHECK_EQ(c1_read32(0, 0, 0, 0), hb);
	CHECK_EQ(c1_read32(0, 0, 0, 0x08) >> 8, 0x060000);
	CHECK_EQ(c1_read32(0, (int)lpc, 0, 0), lpcid);
	CHECK_EQ(c1_read32(0, (int)lpc, 0, 0x08) >> 8, 0x060100);
	check_lanes(0, (uint32_t)hb);
	check_lanes((int)lpc, (uint32_t)lpcid);
	if (cmdline_get_u64(bi->args, "ndev", &ndev))
		CHECK_EQ(n, ndev);
	if (cmdline_get_u64(bi->args, "pcie", &pcie) && pcie)
		CHECK(walk_caps(0, 0x10));
	check_writes(0, (int)lpc);
	for (int s = 0; s < NSLOTS; s++)
		if ((c1_read32(0, s, 0, 0) & 0xffff) != 0xffff)
			bars += size_bars(s);
	if (bars == 0)
		printf("pci: no device has a BAR to size\n");
	/* Another bus, absent everywhere. */
	CHECK_EQ(c1_read32(1, 0, 0, 0), 0xffffffff);
	if (ecam) {
		CHECK_EQ(mmio_read32(ecam_addr(1, 0, 0, 0)), 0xffffffff);
		/* No extended capabilities: a zero header at 0x100. */
		CHECK_EQ(mmio_read32(ecam_addr(0, 0, 0, 0x100)), 0);
	}
	printf("pci: %d functions on bus 0, %d BARs sized\n", n, bars);
	return guest_finish("pci");
}
