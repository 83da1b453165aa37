/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The POST code port (0x80): firmware writes progress codes here, and
 * reads return what was last written, as on PC chipsets.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "devices.h"
#include "iomem.h"

#define POST_PORT 0x80

struct post_softc {
	struct bhyve_vm *bvm;
	_Atomic uint8_t last;
};

static int
post_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct post_softc *sc = arg;

	if (write)
		atomic_store(&sc->last, (uint8_t)*val);
	else
		*val = atomic_load(&sc->last);
	return 0;
}

static int
post_init(struct bhyve_vm *bvm, void **softc)
{
	struct post_softc *sc = calloc(1, sizeof(*sc));
	struct io_region r = { .name = "post", .base = POST_PORT, .size = 1,
		.handler = post_io };

	if (sc == NULL)
		return bhyve_error(bvm, "post: out of memory");
	sc->bvm = bvm;
	r.arg = sc;
	if (io_register(bvm->ports, &r) != 0) {
		free(sc);
		return bhyve_error(bvm, "post: port 0x%x is taken", POST_PORT);
	}
	*softc = sc;
	return 0;
}

static void
post_destroy(void *softc)
{
	struct post_softc *sc = softc;

	(void)io_unregister(sc->bvm->ports, POST_PORT);
	free(sc);
}

const struct bhyve_device post_device = {
	.name = "post",
	.init = post_init,
	.destroy = post_destroy,
};
