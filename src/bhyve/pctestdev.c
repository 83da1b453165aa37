/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-testdev: the test interfaces kvm-unit-tests style guests expect, as
 * bhyve provides them.
 *   0xf4..0xf7   isa-debug-exit: writing v ends bhyve with (v << 1) | 1
 *   0xe0..0xe3   a 32-bit register that reads back what was written
 *   0x2000+n     IRQ line n: write 1 to assert, 0 to deassert
 *   0xff000000   64 KiB of memory-mapped scratch space
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "devices.h"
#include "iomem.h"

#define DEBUGEXIT_PORT 0xf4
#define DEBUGEXIT_LEN 4
#define TESTPORT_PORT 0xe0
#define TESTPORT_LEN 4
#define IRQ_PORT 0x2000
#define IRQ_LINES 32 /* the I/O APIC's pins */
#define IOMEM_BASE 0xff000000ULL
#define IOMEM_LEN 0x10000

#define PCTESTDEV_NREGIONS 4

struct pctestdev_region {
	bool is_mmio;
	struct io_region r;
};

struct pctestdev_softc {
	struct bhyve_vm *bvm;
	struct pctestdev_region regions[PCTESTDEV_NREGIONS];
	int nregistered;
	pthread_mutex_t lock; /* ioport and iomem contents */
	uint32_t ioport;
	uint8_t iomem[IOMEM_LEN];
};

static uint64_t
size_mask(int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static int
debugexit_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pctestdev_softc *sc = arg;

	if (!write) {
		*val = 0;
		return 0;
	}
	bhyve_request_exit(sc->bvm, (int)(((*val & size_mask(size)) << 1) | 1));
	return 0;
}

static int
testport_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pctestdev_softc *sc = arg;
	unsigned shift = (unsigned)offset * 8;
	uint32_t mask = (uint32_t)(size_mask(size) << shift);

	pthread_mutex_lock(&sc->lock);
	if (write)
		sc->ioport = (sc->ioport & ~mask) |
		    ((uint32_t)(*val << shift) & mask);
	else
		*val = (sc->ioport & mask) >> shift;
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/*
 * Line n: 1 asserts, 0 deasserts.  Lines 0-15 are ISA lines (8259 input
 * and I/O APIC pin n, as bhyve wires them), the rest I/O APIC pins.
 */
static int
irq_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pctestdev_softc *sc = arg;
	struct vmctx *ctx = sc->bvm->ctx;
	int line = (int)offset;

	if (size != 1)
		return -EINVAL;
	if (!write) {
		*val = 0;
		return 0;
	}
	if (line < 16)
		return (*val & 0xff) ? vm_isa_assert_irq(ctx, line, line)
				     : vm_isa_deassert_irq(ctx, line, line);
	return (*val & 0xff) ? vm_ioapic_assert_irq(ctx, line)
			     : vm_ioapic_deassert_irq(ctx, line);
}

static int
iomem_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pctestdev_softc *sc = arg;

	pthread_mutex_lock(&sc->lock);
	if (write) {
		memcpy(sc->iomem + offset, val, (size_t)size);
	} else {
		*val = 0;
		memcpy(val, sc->iomem + offset, (size_t)size);
	}
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

static bool
pctestdev_enabled(struct bhyve_vm *bvm)
{
	bool on = false;

	/* A bad value was already refused by the config check. */
	return config_get_bool(bvm->cfg, "lpc.pc-testdev", false, &on) == 0 &&
	    on;
}

static void
pctestdev_free(struct pctestdev_softc *sc)
{
	while (sc->nregistered > 0) {
		const struct pctestdev_region *r =
		    &sc->regions[--sc->nregistered];

		(void)io_unregister(r->is_mmio ? sc->bvm->mmio : sc->bvm->ports,
		    r->r.base);
	}
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

static void
pctestdev_region(struct pctestdev_softc *sc, int i, const char *name,
    uint64_t base, uint64_t size, io_handler_t *handler)
{
	sc->regions[i].r = (struct io_region){ .name = name, .base = base,
		.size = size, .handler = handler, .arg = sc };
}

static int
pctestdev_init(struct bhyve_vm *bvm, void **softc)
{
	struct pctestdev_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return bhyve_error(bvm, "pc-testdev: out of memory");
	sc->bvm = bvm;
	pthread_mutex_init(&sc->lock, NULL);
	pctestdev_region(sc, 0, "isa-debug-exit", DEBUGEXIT_PORT,
	    DEBUGEXIT_LEN, debugexit_io);
	pctestdev_region(sc, 1, "pc-testdev-ioport", TESTPORT_PORT,
	    TESTPORT_LEN, testport_io);
	pctestdev_region(sc, 2, "pc-testdev-irq-line", IRQ_PORT, IRQ_LINES,
	    irq_io);
	pctestdev_region(sc, 3, "pc-testdev-iomem", IOMEM_BASE, IOMEM_LEN,
	    iomem_io);
	sc->regions[3].is_mmio = true;
	for (int i = 0; i < PCTESTDEV_NREGIONS; i++) {
		const struct pctestdev_region *r = &sc->regions[i];

		if (io_register(r->is_mmio ? bvm->mmio : bvm->ports, &r->r)) {
			bhyve_error(bvm, "pc-testdev: %s at 0x%llx is taken",
			    r->r.name, (unsigned long long)r->r.base);
			pctestdev_free(sc);
			return -1;
		}
		sc->nregistered++;
	}
	*softc = sc;
	return 0;
}

static void
pctestdev_destroy(void *softc)
{
	pctestdev_free(softc);
}

const struct bhyve_device pctestdev_device = {
	.name = "pc-testdev",
	.help = "PC debug/test device (isa-debug-exit at 0xf4)",
	.enabled = pctestdev_enabled,
	.init = pctestdev_init,
	.destroy = pctestdev_destroy,
};
