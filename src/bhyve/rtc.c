/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The RTC's time (the chip itself lives in the vmm): host time, shown as
 * local time unless rtc.use_localtime=false (-u), as bhyve's rtc.c does.
 */
#include <time.h>

#include "config.h"
#include "devices.h"

static int
rtc_init(struct bhyve_vm *bvm, void **softc)
{
	bool localtime = true;
	time_t now = time(NULL);
	struct tm tm;
	int error;

	if (config_get_bool(bvm->cfg, "rtc.use_localtime", true,
	    &localtime) != 0)
		return bhyve_error(bvm, "invalid rtc.use_localtime '%s'",
		    config_get(bvm->cfg, "rtc.use_localtime"));
	if (localtime && localtime_r(&now, &tm) != NULL)
		now += tm.tm_gmtoff;
	error = vm_rtc_settime(bvm->ctx, (int64_t)now);
	if (error)
		return bhyve_error(bvm, "rtc: cannot set the time");
	*softc = NULL;
	return 0;
}

const struct bhyve_device rtc_device = {
	.name = "rtc",
	.init = rtc_init,
};
