/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The bhyve_vm a device unit test runs its device in: a config tree, an
 * event loop, the port and MMIO registries, and a VM with guest RAM.
 */
#ifndef FAKE_VM_H
#define FAKE_VM_H

#include <stdint.h>

#include "bhyverun.h"

/*
 * Fills 'bvm' (zeroed first; one vCPU) with a VM named 'name' on
 * 'backend' (VMM_BACKEND_NULL: the fake) with 'ram' bytes of RAM (0:
 * none), and sets the NULL-terminated key/value pairs of 'kv' (may be
 * NULL) in its config.  -1 if any of it fails; fake_vm_fini() cleans up
 * either way.
 */
int fake_vm_init(struct bhyve_vm *bvm, const char *name, const char *backend,
    uint64_t ram, const char *const *kv);
/* Tears down PCI (if it was set up) and everything fake_vm_init() made. */
void fake_vm_fini(struct bhyve_vm *bvm);

/*
 * A vCPU's access through the MMIO registry, as the exit path makes it:
 * a read nobody serves gives 0xdead, a write must be served (a CHECK).
 * The config accessors go through the ECAM window to bus 0, function 0
 * of 'slot'.
 */
uint64_t fake_mmio_rd(struct bhyve_vm *bvm, uint64_t addr, int size);
void fake_mmio_wr(struct bhyve_vm *bvm, uint64_t addr, int size, uint64_t v);
uint64_t fake_cfg_rd(struct bhyve_vm *bvm, int slot, int reg, int size);
void fake_cfg_wr(struct bhyve_vm *bvm, int slot, int reg, int size,
    uint64_t v);

#endif /* FAKE_VM_H */
