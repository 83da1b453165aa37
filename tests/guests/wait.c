/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Says it is waiting, then halts with interrupts enabled for good: the
 * harness pokes at the running VM (bhyvectl, signals) and ends it from
 * outside.
 */
#include "guest.h"

int
guest_main(struct boot_info *bi)
{
	printf("wait: waiting\n");
	serial_drain();
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}
