/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ioeventfds: a guest write to a doorbell (a virtio queue's notify
 * address) signals an eventfd inside the backend, so that the vCPU goes
 * on without an exit and the device model's event loop takes the
 * notification.  The kvm backend does it with KVM_IOEVENTFD; the others
 * say -ENOTSUP and the write exits as any other (on vtx an exit is a
 * function return: there is nothing to save).
 */
#include <errno.h>

#include "vmm_core.h"
#include "vmm_internal.h"

#define VMM_IOPORT_LIMIT 0x10000

/*
 * A write the backend can catch: a width an instruction writes, a value
 * that fits it, ports inside the I/O space, and MMIO outside guest RAM
 * (a write to RAM never leaves the guest, so it would never signal).
 */
static bool
vmm_ioeventfd_args_ok(struct vm *vm, uint64_t addr, int len, bool pio,
    bool datamatch, uint64_t data, int fd)
{
	uint64_t last;

	if (fd < 0 || (len != 1 && len != 2 && len != 4 && len != 8))
		return false;
	if (datamatch && len < 8 && (data >> (8 * len)) != 0)
		return false;
	if (addr > UINT64_MAX - (uint64_t)(len - 1))
		return false;
	last = addr + (uint64_t)(len - 1);
	if (pio)
		return last < VMM_IOPORT_LIMIT;
	return vmm_mem_map_gpa(&vm->mem, addr, 1) == NULL &&
	    vmm_mem_map_gpa(&vm->mem, last, 1) == NULL;
}

int
vmm_ioeventfd(struct vm *vm, uint64_t addr, int len, bool pio,
    bool datamatch, uint64_t data, int fd, bool assign)
{
	if (!vmm_ioeventfd_args_ok(vm, addr, len, pio, datamatch, data, fd))
		return -EINVAL;
	if (vm->ops->ioeventfd == NULL)
		return -ENOTSUP;
	return vm->ops->ioeventfd(vm->bvm, addr, len, pio, datamatch, data,
	    fd, assign);
}

/* Only the null backend, the unit tests' fake VM, takes a hook. */
int
vmm_set_ioeventfd_hook(struct vm *vm, vmm_ioeventfd_hook_t *hook, void *arg)
{
	if (vm->ops != &vmm_ops_null)
		return -ENOTSUP;
	vmm_null_set_ioeventfd_hook(vm->bvm, hook, arg);
	return 0;
}
