/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A deliberate triple fault: with an empty IDT, a page fault cannot be
 * delivered (#GP), nor can that (#DF): shutdown.  bhyve exits with
 * status 3 (QEMU with -no-reboot exits with 0).
 *
 * The fault is a load from an unmapped address (only 0..4 GiB is), not
 * int3: the test machines' CPL-0 emulator stops the VM with an emulation
 * failure on int3 instead of raising the exception.
 */
#include "guest.h"

int
guest_main(struct boot_info *bi)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { .limit = 0, .base = 0 };
	const volatile uint64_t *unmapped =
	    (const volatile uint64_t *)(1ULL << 40);

	printf("triple: faulting now\n");
	serial_drain();
	__asm__ volatile("lidt %0" : : "m"(empty));
	(void)*unmapped;
	printf("FAIL triple: still running after a page fault\n");
	return 1;
}
