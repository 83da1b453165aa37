/* SPDX-License-Identifier: BSD-2-Clause */
/* Every platform device, in the order they are created. */
#ifndef DEVICES_H
#define DEVICES_H

#include "bhyverun.h"

extern const struct bhyve_device post_device;
extern const struct bhyve_device rtc_device;
extern const struct bhyve_device com1_device;
extern const struct bhyve_device com2_device;
extern const struct bhyve_device com3_device;
extern const struct bhyve_device com4_device;
extern const struct bhyve_device pctestdev_device;
extern const struct bhyve_device fwcfg_device;
extern const struct bhyve_device pm_device;
extern const struct bhyve_device pvpanic_device;

#endif /* DEVICES_H */
