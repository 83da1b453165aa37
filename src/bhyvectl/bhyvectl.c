/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until bhyvectl lands. */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "bhyvectl: not implemented yet\n");
	return 1;
}
