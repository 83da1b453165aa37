/* SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "config.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
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
