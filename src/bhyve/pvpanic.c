/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pvpanic: QEMU's paravirtual panic notifier, the ISA flavour, at port
 * 0x505 (-l pvpanic, lpc.pvpanic=true).  The DSDT names it QEMU0001 and
 * Linux's pvpanic-mmio driver takes it: reading the port gives the events
 * the VMM understands, and at panic the guest writes PANICKED (bit 0), or
 * CRASH_LOADED (bit 1) when a crash kernel will take over.
 *
 * What a panic does to the VM: a guest booted with a kernel command line
 * that asks it to reboot after a panic (Linux's panic=N, N nonzero) is
 * left to do so; otherwise it would spin in panic() forever, so bhyve says
 * the guest panicked and ends with status 4 (an error, bhyve(8)).  A crash
 * kernel is left to run.  Only the first event acts.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "config.h"
#include "devices.h"
#include "iomem.h"

#define PVPANIC_PANICKED 0x1
#define PVPANIC_CRASH_LOADED 0x2

struct pvpanic_softc {
	struct bhyve_vm *bvm;
	struct io_region r;
	long panic_timeout;	/* Linux's panic=, from boot.cmdline */
	atomic_bool reported;
};

/* The last panic= word of the command line, as Linux takes it (0: none). */
static long
pvpanic_cmdline_timeout(const char *cmdline)
{
	const char *p = cmdline;
	long t = 0;

	while (p != NULL && (p = strstr(p, "panic=")) != NULL) {
		if (p == cmdline || p[-1] == ' ')
			t = strtol(p + strlen("panic="), NULL, 0);
		p += strlen("panic=");
	}
	return t;
}

static void
pvpanic_event(struct pvpanic_softc *sc, uint8_t ev)
{
	if (!(ev & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)) ||
	    atomic_exchange(&sc->reported, true))
		return;
	if (ev & PVPANIC_CRASH_LOADED) {
		fprintf(stderr, "bhyve: the guest panicked (pvpanic); its crash "
		    "kernel takes over\n");
	} else if (sc->panic_timeout != 0) {
		fprintf(stderr, "bhyve: the guest panicked (pvpanic); it "
		    "reboots itself (panic=%ld)\n", sc->panic_timeout);
	} else {
		fprintf(stderr, "bhyve: the guest panicked (pvpanic)\n");
		bhyve_request_exit(sc->bvm, BHYVE_EXIT_ERROR);
	}
}

static int
pvpanic_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pvpanic_softc *sc = arg;

	if (write)
		pvpanic_event(sc, (uint8_t)*val);
	else
		*val = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
	return 0;
}

static bool
pvpanic_enabled(struct bhyve_vm *bvm)
{
	bool on = false;

	/* A bad value was already refused by the config check. */
	return config_get_bool(bvm->cfg, "lpc.pvpanic", false, &on) == 0 && on;
}

static int
pvpanic_init(struct bhyve_vm *bvm, void **softc)
{
	struct pvpanic_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return bhyve_error(bvm, "pvpanic: out of memory");
	sc->bvm = bvm;
	sc->panic_timeout =
	    pvpanic_cmdline_timeout(config_get(bvm->cfg, "boot.cmdline"));
	sc->r = (struct io_region){ .name = "pvpanic", .base = ACPI_PVPANIC_PORT,
		.size = 1, .handler = pvpanic_io, .arg = sc };
	if (io_register(bvm->ports, &sc->r) != 0) {
		free(sc);
		return bhyve_error(bvm, "pvpanic: port 0x%x is taken",
		    ACPI_PVPANIC_PORT);
	}
	*softc = sc;
	return 0;
}

static void
pvpanic_destroy(void *softc)
{
	struct pvpanic_softc *sc = softc;

	(void)io_unregister(sc->bvm->ports, sc->r.base);
	free(sc);
}

const struct bhyve_device pvpanic_device = {
	.name = "pvpanic",
	.help = "paravirtual panic notifier at 0x505 (QEMU0001)",
	.enabled = pvpanic_enabled,
	.init = pvpanic_init,
	.destroy = pvpanic_destroy,
};
