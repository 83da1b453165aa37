/* SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "config.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "test.h"
#include "vmmapi.h"

int
fake_vm_init(struct bhyve_vm *bvm, const char *name, const char *backend,
    uint64_t ram, const char *const *kv)
{
	memset(bvm, 0, sizeof(*bvm));
	bvm->ncpus = 1;
	bvm->cfg = config_new();
	bvm->mev = mevent_create();
	bvm->ports = io_registry_create(0x10000);
	bvm->mmio = io_registry_create(UINT64_MAX);
	bvm->ctx = vm_create(name, backend, NULL);
	if (!bvm->cfg || !bvm->mev || !bvm->ports || !bvm->mmio || !bvm->ctx ||
	    (ram != 0 && vm_setup_memory(bvm->ctx, ram) != 0))
		return -1;
	for (; kv && kv[0]; kv += 2)
		if (config_set(bvm->cfg, kv[0], kv[1]) != 0)
			return -1;
	return 0;
}

void
fake_vm_fini(struct bhyve_vm *bvm)
{
	/* Each of these takes NULL. */
	pci_emul_destroy(bvm);
	mevent_destroy(bvm->mev);
	io_registry_destroy(bvm->ports);
	io_registry_destroy(bvm->mmio);
	config_free(bvm->cfg);
	vm_destroy(bvm->ctx);
}

uint64_t
fake_mmio_rd(struct bhyve_vm *bvm, uint64_t addr, int size)
{
	uint64_t v = 0;

	if (io_dispatch(bvm->mmio, NULL, false, addr, size, &v) != 0)
		return 0xdead;
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

void
fake_mmio_wr(struct bhyve_vm *bvm, uint64_t addr, int size, uint64_t v)
{
	CHECK_EQ(io_dispatch(bvm->mmio, NULL, true, addr, size, &v), 0);
}

static uint64_t
fake_ecam(int slot, int reg)
{
	return PCI_ECAM_BASE + ((uint64_t)slot << 15) + (uint64_t)reg;
}

uint64_t
fake_cfg_rd(struct bhyve_vm *bvm, int slot, int reg, int size)
{
	return fake_mmio_rd(bvm, fake_ecam(slot, reg), size);
}

void
fake_cfg_wr(struct bhyve_vm *bvm, int slot, int reg, int size, uint64_t v)
{
	fake_mmio_wr(bvm, fake_ecam(slot, reg), size, v);
}
