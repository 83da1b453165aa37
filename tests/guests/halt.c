/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli; hlt on the only running vCPU: nothing can wake it, and bhyve
 * exits with status 2 (all vCPUs halted with interrupts off).
 */
#include "guest.h"

int
guest_main(struct boot_info *bi)
{
	printf("halt: halting\n");
	serial_drain();
	__asm__ volatile("cli; hlt");
	/* An NMI could get here; a halted VM must not look like a pass. */
	printf("FAIL halt: woke up\n");
	return 1;
}
