/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until the loaders land. */
#include "bhyverun.h"
#include "loader.h"

int
bhyve_load_kernel(struct bhyve_vm *bvm)
{
	return 0;
}
