/* SPDX-License-Identifier: BSD-2-Clause */
/* The smallest guest: a greeting and the command line it was given. */
#include "guest.h"

int
guest_main(struct boot_info *bi)
{
	printf("hello from the guest\n");
	printf("cmdline: %s\n", bi->args);
	CHECK(bi->mbi != NULL);
	return guest_finish("hello");
}
