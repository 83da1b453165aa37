/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The platform device table.  An explicit array rather than linker sets
 * or constructors: nothing can be dropped by the linker, and the order of
 * creation is the order written here.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices.h"

static const struct bhyve_device *const bhyve_devices[] = {
	&post_device,
	&rtc_device,
	&com1_device,
	&com2_device,
	&com3_device,
	&com4_device,
	&pctestdev_device,
	&fwcfg_device,
	&pm_device,
	&pvpanic_device,
};

#define NDEVICES (sizeof(bhyve_devices) / sizeof(bhyve_devices[0]))

int
bhyve_devices_init(struct bhyve_vm *bvm)
{
	for (size_t i = 0; i < NDEVICES; i++) {
		const struct bhyve_device *dev = bhyve_devices[i];
		struct bhyve_dev_inst *inst;
		void *softc = NULL;

		if (dev->enabled && !dev->enabled(bvm))
			continue;
		if (dev->init(bvm, &softc) != 0) {
			if (bvm->err[0] == '\0')
				bhyve_error(bvm, "%s: cannot initialize",
				    dev->name);
			return -1;
		}
		inst = calloc(1, sizeof(*inst));
		if (inst == NULL) {
			if (dev->destroy)
				dev->destroy(softc);
			return bhyve_error(bvm, "%s: out of memory", dev->name);
		}
		*inst = (struct bhyve_dev_inst){ .dev = dev, .softc = softc,
			.next = bvm->devs };
		bvm->devs = inst;
	}
	return 0;
}

/* The list is newest first, so this tears down in reverse order. */
void
bhyve_devices_destroy(struct bhyve_vm *bvm)
{
	while (bvm->devs) {
		struct bhyve_dev_inst *inst = bvm->devs;

		bvm->devs = inst->next;
		if (inst->dev->destroy)
			inst->dev->destroy(inst->softc);
		free(inst);
	}
}

void
bhyve_devices_help(void)
{
	for (size_t i = 0; i < NDEVICES; i++)
		if (bhyve_devices[i]->help)
			printf("%-12s %s\n", bhyve_devices[i]->name,
			    bhyve_devices[i]->help);
}
