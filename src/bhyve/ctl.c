/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until the control socket lands. */
#include "ctl.h"

int
bhyve_ctl_start(struct bhyve_vm *bvm)
{
	(void)bvm;
	return 0;
}

void
bhyve_ctl_stop(struct bhyve_vm *bvm)
{
	(void)bvm;
}
