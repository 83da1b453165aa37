/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The null backend: a VM with memory and registers but no way to run.
 * Unit tests use it as the fake VM under loaders and devices.
 */
#include <errno.h>
#include <stdlib.h>

#include "vmm_internal.h"

struct null_vm {
	vmm_ioeventfd_hook_t *ioeventfd_hook; /* a test's, or NULL */
	void *ioeventfd_arg;
};

struct null_vcpu {
	uint64_t regs[VM_REG_LAST];
	struct seg_desc descs[VM_REG_LAST];
};

static int
null_vm_init(struct vm *vm, void **bvm)
{
	(void)vm;
	*bvm = calloc(1, sizeof(struct null_vm));
	return *bvm ? 0 : -ENOMEM;
}

static void
null_vm_cleanup(void *bvm)
{
	free(bvm);
}

static int
null_mem_map(void *bvm, int slot, uint64_t gpa, size_t len, void *hva)
{
	(void)bvm, (void)slot, (void)gpa, (void)len, (void)hva;
	return 0;
}

static int
null_cpuid_supported(void *bvm, struct vmm_cpuid_entry *ents, int max, int *n)
{
	(void)bvm;
	*n = 0;
	if (max > 0) {
		ents[0] = (struct vmm_cpuid_entry){ .function = 0, .eax = 1 };
		*n = 1;
	}
	return 0;
}

static int
null_vcpu_init(void *bvm, struct vm_vcpu *vcpu, int id, void **bvcpu)
{
	(void)bvm, (void)vcpu, (void)id;
	*bvcpu = calloc(1, sizeof(struct null_vcpu));
	return *bvcpu ? 0 : -ENOMEM;
}

static void
null_vcpu_cleanup(void *bvcpu)
{
	free(bvcpu);
}

static int
null_vcpu_set_cpuid(void *bvcpu, const struct vmm_cpuid_entry *ents, int n)
{
	(void)bvcpu, (void)ents, (void)n;
	return 0;
}

static int
null_run(void *bvcpu, struct vm_exit *vme)
{
	(void)bvcpu, (void)vme;
	return -ENOTSUP;
}

static void
null_kick(void *bvcpu)
{
	(void)bvcpu;
}

static bool
null_intr_ready(void *bvcpu)
{
	(void)bvcpu;
	return false;
}

static int
null_inject(void *bvcpu, int vector)
{
	(void)bvcpu, (void)vector;
	return -ENOTSUP;
}

static void
null_request_intr_window(void *bvcpu, bool on)
{
	(void)bvcpu, (void)on;
}

static int
null_inject_nmi(void *bvcpu)
{
	(void)bvcpu;
	return -ENOTSUP;
}

static uint8_t
null_get_cr8(void *bvcpu)
{
	return (uint8_t)((struct null_vcpu *)bvcpu)->regs[VM_REG_GUEST_CR8];
}

static void
null_set_cr8(void *bvcpu, uint8_t cr8)
{
	((struct null_vcpu *)bvcpu)->regs[VM_REG_GUEST_CR8] = cr8;
}

static uint64_t
null_guest_tsc(void *bvcpu)
{
	(void)bvcpu;
	return 0;
}

static uint64_t
null_tsc_hz(void *bvcpu)
{
	(void)bvcpu;
	return 0;
}

static int
null_getreg(void *bvcpu, int reg, uint64_t *val)
{
	*val = ((struct null_vcpu *)bvcpu)->regs[reg];
	return 0;
}

static int
null_setreg(void *bvcpu, int reg, uint64_t val)
{
	((struct null_vcpu *)bvcpu)->regs[reg] = val;
	return 0;
}

static int
null_getdesc(void *bvcpu, int reg, struct seg_desc *desc)
{
	*desc = ((struct null_vcpu *)bvcpu)->descs[reg];
	return 0;
}

static int
null_setdesc(void *bvcpu, int reg, const struct seg_desc *desc)
{
	((struct null_vcpu *)bvcpu)->descs[reg] = *desc;
	return 0;
}

void
vmm_null_set_ioeventfd_hook(void *bvm, vmm_ioeventfd_hook_t *hook, void *arg)
{
	struct null_vm *nvm = bvm;

	nvm->ioeventfd_hook = hook;
	nvm->ioeventfd_arg = arg;
}

static int
null_ioeventfd(void *bvm, uint64_t addr, int len, bool pio, bool datamatch,
    uint64_t data, int fd, bool assign)
{
	struct null_vm *nvm = bvm;

	if (nvm->ioeventfd_hook == NULL)
		return -ENOTSUP;
	return nvm->ioeventfd_hook(nvm->ioeventfd_arg, addr, len, pio,
	    datamatch, data, fd, assign);
}

const struct vmm_ops vmm_ops_null = {
	.name = "null",
	.vm_init = null_vm_init,
	.vm_cleanup = null_vm_cleanup,
	.mem_map = null_mem_map,
	.cpuid_supported = null_cpuid_supported,
	.vcpu_init = null_vcpu_init,
	.vcpu_cleanup = null_vcpu_cleanup,
	.vcpu_set_cpuid = null_vcpu_set_cpuid,
	.run = null_run,
	.kick = null_kick,
	.intr_ready = null_intr_ready,
	.inject_intr = null_inject,
	.request_intr_window = null_request_intr_window,
	.inject_nmi = null_inject_nmi,
	.get_cr8 = null_get_cr8,
	.set_cr8 = null_set_cr8,
	.guest_tsc = null_guest_tsc,
	.tsc_hz = null_tsc_hz,
	.getreg = null_getreg,
	.setreg = null_setreg,
	.getdesc = null_getdesc,
	.setdesc = null_setdesc,
	.ioeventfd = null_ioeventfd,
};
