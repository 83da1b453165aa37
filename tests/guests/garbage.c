/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A hostile guest: pseudo-random values written to every I/O port and
 * read back from it at every width, then the same over the memory-mapped
 * window below 4 GiB.  The VMM must answer every access as hardware would
 * (reads of all ones where nothing decodes, writes dropped) and keep
 * running.  Left alone: the ports this guest needs to report (COM1, the
 * debug exit), fw_cfg's DMA register (it would overwrite this guest's own
 * RAM, which proves nothing about the VMM) and the local APIC page (an INIT
 * IPI to ourselves would end the test, not the VMM).
 */
#include "guest.h"

#define LAPIC_PAGE 0xfee00000ULL

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64: cheap, and the same sequence on every run. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool
port_spared(unsigned port)
{
	return (port >= COM1_PORT && port < COM1_PORT + 8) ||
	    (port >= DEBUG_EXIT_PORT && port < DEBUG_EXIT_PORT + 4) ||
	    (port >= 0x514 && port < 0x51c);
}

static void
hammer_ports(void)
{
	for (unsigned port = 0; port < 0x10000; port++) {
		uint64_t r = rng();

		if (port_spared(port))
			continue;
		outb((uint16_t)port, (uint8_t)r);
		(void)inb((uint16_t)port);
		/* Wider accesses on a stride: each one is a VM exit. */
		if ((port & 0x3f) == 0 && !port_spared(port + 3)) {
			outw((uint16_t)port, (uint16_t)(r >> 8));
			outl((uint16_t)port, (uint32_t)(r >> 16));
			(void)inw((uint16_t)port);
			(void)inl((uint16_t)port);
		}
	}
}

/*
 * The hole below 4 GiB: one access every 64 KiB up to the platform
 * devices' window at 0xfe000000, then one per page there.
 */
static void
hammer_mmio(void)
{
	uint64_t a = 0xe0000000ULL;

	while (a < 0x100000000ULL) {
		uint64_t r = rng(), off = (r >> 32) & 0xff8;

		if (a != LAPIC_PAGE) {
			mmio_write64(a + off, r);
			(void)mmio_read32(a + off);
		}
		a += a < 0xfe000000ULL ? 0x10000 : 0x1000;
	}
}

int
guest_main(struct boot_info *bi)
{
	/* Ports nobody decodes must read as all ones, before and after. */
	CHECK_EQ(inb(0x666), 0xff);
	hammer_ports();
	hammer_mmio();
	serial_init(); /* the hammering did not touch COM1, but be sure */
	CHECK_EQ(inb(0x666), 0xff);
	CHECK_EQ(inl(0x664), 0xffffffff);
	CHECK_EQ(mmio_read64(0xfd000000ULL), ~0ULL);
	printf("garbage: survived\n");
	return guest_finish("garbage");
}
