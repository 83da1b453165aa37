/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * COM1..COM4: 16550A UARTs at the PC's standard ports and ISA IRQs, each
 * created when its lpc.comN.path is set (-l comN,PATH).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "devices.h"
#include "iomem.h"
#include "uart_emul.h"

struct lpc_uart_res {
	const char *name;
	uint16_t base;
	int irq;
};

static const struct lpc_uart_res lpc_uart_res[] = {
	{ .name = "com1", .base = 0x3f8, .irq = 4 },
	{ .name = "com2", .base = 0x2f8, .irq = 3 },
	{ .name = "com3", .base = 0x3e8, .irq = 4 },
	{ .name = "com4", .base = 0x2e8, .irq = 3 },
};

struct lpc_uart_softc {
	struct bhyve_vm *bvm;
	const struct lpc_uart_res *res;
	struct uart_softc *uart;
	bool registered;
};

static void
lpc_uart_intr_assert(void *arg)
{
	struct lpc_uart_softc *sc = arg;

	(void)vm_isa_assert_irq(sc->bvm->ctx, sc->res->irq, sc->res->irq);
}

static void
lpc_uart_intr_deassert(void *arg)
{
	struct lpc_uart_softc *sc = arg;

	(void)vm_isa_deassert_irq(sc->bvm->ctx, sc->res->irq, sc->res->irq);
}

/*
 * LPC I/O cycles carry one byte (Intel LPC Interface Specification 1.1,
 * ch. 5, I/O cycles): the bridge splits a 16- or 32-bit access into byte
 * cycles at ascending ports, so "in ax, dx" at the base reads RBR then
 * IER, with each register's side effects.  The registry has checked that
 * the access lies within the eight ports.
 */
static int
lpc_uart_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct lpc_uart_softc *sc = arg;

	if (offset >= UART_NREGS || size < 1 ||
	    (uint64_t)size > UART_NREGS - offset)
		return -EINVAL;
	if (!write)
		*val = 0;
	for (int i = 0; i < size; i++) {
		int reg = (int)offset + i;

		if (write)
			uart_write(sc->uart, reg, (uint8_t)(*val >> (8 * i)));
		else
			*val |= (uint64_t)uart_read(sc->uart, reg) << (8 * i);
	}
	return 0;
}

/*
 * Wanted when lpc.comN.path is set, even to a value that does not expand:
 * init then reports it rather than the port silently missing.
 */
static bool
lpc_uart_enabled(struct bhyve_vm *bvm, int unit)
{
	char key[32];
	struct config_node *n;

	snprintf(key, sizeof(key), "lpc.%s", lpc_uart_res[unit].name);
	n = config_find_node(bvm->cfg, key);
	for (n = n ? config_first_child(n) : NULL; n != NULL;
	    n = config_next_sibling(n))
		if (config_node_is_leaf(n) &&
		    strcmp(config_node_name(n), "path") == 0)
			return true;
	return false;
}

static void
lpc_uart_destroy(void *softc)
{
	struct lpc_uart_softc *sc = softc;

	/* Unregistering waits for a vCPU still in lpc_uart_io(). */
	if (sc->registered)
		(void)io_unregister(sc->bvm->ports, sc->res->base);
	uart_destroy(sc->uart);
	free(sc);
}

static int
lpc_uart_attach(struct lpc_uart_softc *sc, const char *path)
{
	const struct lpc_uart_res *res = sc->res;
	struct bhyve_vm *bvm = sc->bvm;
	struct io_region r = { .name = res->name, .base = res->base,
		.size = UART_NREGS, .handler = lpc_uart_io, .arg = sc };
	char err[BHYVE_ERRLEN];

	sc->uart = uart_init(lpc_uart_intr_assert, lpc_uart_intr_deassert, sc);
	if (sc->uart == NULL)
		return bhyve_error(bvm, "%s: out of memory", res->name);
	if (uart_set_backend(sc->uart, path, bvm->mev, err, sizeof(err)) != 0)
		return bhyve_error(bvm, "%s: %s", res->name, err);
	if (io_register(bvm->ports, &r) != 0)
		return bhyve_error(bvm, "%s: ports 0x%x-0x%x are taken",
		    res->name, res->base, res->base + UART_NREGS - 1);
	sc->registered = true;
	return 0;
}

static int
lpc_uart_init(struct bhyve_vm *bvm, void **softc, int unit)
{
	const struct lpc_uart_res *res = &lpc_uart_res[unit];
	struct lpc_uart_softc *sc;
	const char *path;
	char key[32];

	snprintf(key, sizeof(key), "lpc.%s.path", res->name);
	path = config_get(bvm->cfg, key);
	if (path == NULL)
		return bhyve_error(bvm, "%s: invalid %s", res->name, key);
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return bhyve_error(bvm, "%s: out of memory", res->name);
	sc->bvm = bvm;
	sc->res = res;
	if (lpc_uart_attach(sc, path) != 0) {
		lpc_uart_destroy(sc);
		return -1;
	}
	*softc = sc;
	return 0;
}

/* bhyve_device has no per-entry argument: one pair of stubs per port. */
#define LPC_UART_DEVICE(n)						\
	static bool lpc_uart_com##n##_enabled(struct bhyve_vm *bvm)	\
	{								\
		return lpc_uart_enabled(bvm, n - 1);			\
	}								\
	static int lpc_uart_com##n##_init(struct bhyve_vm *bvm,	\
	    void **softc)						\
	{								\
		return lpc_uart_init(bvm, softc, n - 1);		\
	}								\
	const struct bhyve_device com##n##_device = {			\
		.name = "com" #n,					\
		.help = "16550A UART (stdio, tcp=IP:PORT or a path)",	\
		.enabled = lpc_uart_com##n##_enabled,			\
		.init = lpc_uart_com##n##_init,				\
		.destroy = lpc_uart_destroy,				\
	}

LPC_UART_DEVICE(1);
LPC_UART_DEVICE(2);
LPC_UART_DEVICE(3);
LPC_UART_DEVICE(4);
