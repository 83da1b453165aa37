/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI PM timer.  Its value is the number of 3.579545 MHz clocks since
 * creation, modulo 2^32, computed from the timebase at each read.  Nothing
 * in it changes after creation, so it needs no lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "vpmtmr.h"

struct vpmtmr {
	struct vmm_timebase *tb;
	uint64_t epoch_ns;
};

static uint32_t
vpmtmr_value(const struct vpmtmr *pm)
{
	uint64_t now = vmm_now(pm->tb);
	unsigned __int128 ticks;

	if (now <= pm->epoch_ns)
		return 0;
	ticks = (unsigned __int128)(now - pm->epoch_ns) * VPMTMR_HZ;
	return (uint32_t)(ticks / NS_PER_SEC);
}

int
vpmtmr_handler(void *chip, bool in, uint16_t port, int bytes, uint32_t *val)
{
	int shift = 8 * (port & 3);

	if (bytes != 1 && bytes != 2 && bytes != 4)
		return -EINVAL;
	if (!in)
		return 0;
	*val = vpmtmr_value(chip) >> shift;
	if (bytes < 4)
		*val &= (1u << (8 * bytes)) - 1;
	return 0;
}

struct vpmtmr *
vpmtmr_create(struct vmm_timebase *tb)
{
	struct vpmtmr *pm;

	if (tb == NULL)
		return NULL;
	pm = calloc(1, sizeof(*pm));
	if (pm == NULL)
		return NULL;
	pm->tb = tb;
	pm->epoch_ns = vmm_now(tb);
	return pm;
}

void
vpmtmr_destroy(struct vpmtmr *pm)
{
	free(pm);
}
