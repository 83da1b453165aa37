/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm core: VM and vCPU objects, memory, register access and
 * statistics.  A vCPU's run loop is in vmm_vcpu.c, the chips in
 * vmm_platform.c and vmm_lapic.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_core.h"
#include "vmm_internal.h"

static const struct vmm_ops *const vmm_backends[] = {
	&vmm_ops_kvm,
	&vmm_ops_vtx,
	&vmm_ops_null,
};

static const struct vmm_ops *
vmm_find_backend(const char *name)
{
	for (size_t i = 0; i < sizeof(vmm_backends) / sizeof(vmm_backends[0]);
	     i++)
		if (strcmp(vmm_backends[i]->name, name) == 0)
			return vmm_backends[i];
	return NULL;
}

struct vm *
vmm_vm_create(const char *name, const char *backend, const char **why)
{
	const struct vmm_ops *ops = vmm_find_backend(backend);
	struct vm *vm;
	int error;

	*why = NULL;
	if (ops == NULL) {
		*why = "unknown vmm backend";
		errno = EINVAL;
		return NULL;
	}
	if (strlen(name) == 0 || strlen(name) > VM_MAX_NAMELEN) {
		*why = "VM name empty or too long";
		errno = EINVAL;
		return NULL;
	}
	vm = calloc(1, sizeof(*vm));
	if (vm == NULL)
		return NULL;
	strcpy(vm->name, name);
	vm->ops = ops;
	vm->sockets = vm->cores = vm->threads = vm->maxcpus = 1;
	vm->mem.fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	error = ops->vm_init(vm, &vm->bvm);
	if (error) {
		*why = ops->name;
		pthread_mutex_destroy(&vm->lock);
		free(vm);
		errno = -error;
		return NULL;
	}
	error = vmm_platform_init(vm);
	if (error) {
		*why = "cannot create the interrupt controllers and timers";
		vmm_vm_destroy(vm);
		errno = -error;
		return NULL;
	}
	return vm;
}

static void
vmm_vcpu_free(struct vm *vm, struct vm_vcpu *vcpu)
{
	vmm_lapic_vcpu_cleanup(vcpu);
	vm->ops->vcpu_cleanup(vcpu->bvcpu);
	pthread_cond_destroy(&vcpu->cv);
	pthread_mutex_destroy(&vcpu->mtx);
	free(vcpu);
}

void
vmm_vm_destroy(struct vm *vm)
{
	if (vm == NULL)
		return;
	/* Timer sources first: their interrupts reach the vCPUs. */
	vmm_platform_quiesce(vm);
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i])
			vmm_vcpu_free(vm, vm->vcpus[i]);
	vmm_platform_cleanup(vm);
	vm->ops->vm_cleanup(vm->bvm);
	vmm_mem_cleanup(&vm->mem);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

const char *
vmm_vm_name(struct vm *vm)
{
	return vm->name;
}

const char *
vmm_vm_backend(struct vm *vm)
{
	return vm->ops->name;
}

int
vmm_set_topology(struct vm *vm, int sockets, int cores, int threads,
    int maxcpus)
{
	long cpus = (long)sockets * cores * threads;

	if (sockets < 1 || cores < 1 || threads < 1 || cpus > maxcpus ||
	    maxcpus > VM_MAXCPU)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vm->vcpus[i]) {
			pthread_mutex_unlock(&vm->lock);
			return -EBUSY; /* CPUID already handed out */
		}
	}
	vm->sockets = sockets;
	vm->cores = cores;
	vm->threads = threads;
	vm->maxcpus = maxcpus;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

void
vmm_get_topology(struct vm *vm, int *sockets, int *cores, int *threads,
    int *maxcpus)
{
	*sockets = vm->sockets;
	*cores = vm->cores;
	*threads = vm->threads;
	*maxcpus = vm->maxcpus;
}

int
vmm_setup_memory(struct vm *vm, size_t len)
{
	int error;

	if (vm->mem.nsegs)
		return -EEXIST;
	error = vmm_mem_setup(&vm->mem, vm->name, len);
	for (int i = 0; error == 0 && i < vm->mem.nsegs; i++) {
		const struct vmm_mem_seg *seg = &vm->mem.segs[i];

		error = vm->ops->mem_map(vm->bvm, i, seg->gpa, seg->len,
		    seg->hva);
	}
	if (error == 0)
		error = vmm_platform_init_memory(vm);
	if (error)
		vmm_mem_cleanup(&vm->mem);
	return error;
}

uint64_t
vmm_lowmem_size(struct vm *vm)
{
	return vm->mem.lowmem;
}

uint64_t
vmm_highmem_size(struct vm *vm)
{
	return vm->mem.highmem;
}

int
vmm_memfd(struct vm *vm)
{
	return vm->mem.fd;
}

void *
vmm_map_gpa(struct vm *vm, uint64_t gpa, size_t len)
{
	return vmm_mem_map_gpa(&vm->mem, gpa, len);
}

static struct vm_vcpu *
vmm_vcpu_alloc(struct vm *vm, int id)
{
	struct vm_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (vcpu == NULL)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->apic_id = vmm_topology_apic_id(vm, id);
	pthread_mutex_init(&vcpu->mtx, NULL);
	pthread_cond_init(&vcpu->cv, NULL);
	if (vm->ops->vcpu_init(vm->bvm, vcpu, id, &vcpu->bvcpu) != 0) {
		pthread_cond_destroy(&vcpu->cv);
		pthread_mutex_destroy(&vcpu->mtx);
		free(vcpu);
		return NULL;
	}
	vcpu->boot_state = id == 0 ? VCPU_BOOT_RUNNING : VCPU_BOOT_WAIT_INIT;
	if (vmm_cpuid_init_vcpu(vm, vcpu) != 0 ||
	    vmm_lapic_vcpu_init(vcpu) != 0) {
		vmm_vcpu_free(vm, vcpu);
		return NULL;
	}
	return vcpu;
}

/*
 * The vCPU object for 'vcpuid', created on first use.  The BSP is active
 * from the start; an AP becomes active when it is started (bhyve's
 * active_cpus).
 */
struct vm_vcpu *
vmm_vcpu_get(struct vm *vm, int vcpuid)
{
	struct vm_vcpu *vcpu;
	long ncpus = (long)vm->sockets * vm->cores * vm->threads;

	if (vcpuid < 0 || vcpuid >= ncpus) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&vm->lock);
	vcpu = vm->vcpus[vcpuid];
	if (vcpu == NULL) {
		vcpu = vmm_vcpu_alloc(vm, vcpuid);
		vm->vcpus[vcpuid] = vcpu;
		if (vcpu && vcpuid == 0)
			vm->active_cpus |= 1;
	}
	pthread_mutex_unlock(&vm->lock);
	return vcpu;
}

/* x86.x2apic: before any vCPU exists, like the topology (CPUID). */
int
vmm_set_x2apic(struct vm *vm, bool on)
{
	int error = 0;

	pthread_mutex_lock(&vm->lock);
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i])
			error = -EBUSY;
	if (error == 0)
		vm->x2apic = on;
	pthread_mutex_unlock(&vm->lock);
	return error;
}

int
vmm_vcpu_id(struct vm_vcpu *vcpu)
{
	return vcpu->id;
}

static int
vmm_check_reg(int reg)
{
	return reg >= 0 && reg < VM_REG_LAST ? 0 : -EINVAL;
}

int
vmm_get_register(struct vm_vcpu *vcpu, int reg, uint64_t *val)
{
	int error = vmm_check_reg(reg);

	if (error)
		return error;
	vcpu_freeze(vcpu);
	error = vcpu->vm->ops->getreg(vcpu->bvcpu, reg, val);
	vcpu_thaw(vcpu);
	return error;
}

int
vmm_set_register(struct vm_vcpu *vcpu, int reg, uint64_t val)
{
	int error = vmm_check_reg(reg);

	if (error)
		return error;
	vcpu_freeze(vcpu);
	error = vcpu->vm->ops->setreg(vcpu->bvcpu, reg, val);
	vcpu_thaw(vcpu);
	return error;
}

int
vmm_get_desc(struct vm_vcpu *vcpu, int reg, struct seg_desc *desc)
{
	int error;

	if (!VM_REG_HAS_DESC(reg))
		return -EINVAL;
	vcpu_freeze(vcpu);
	error = vcpu->vm->ops->getdesc(vcpu->bvcpu, reg, desc);
	vcpu_thaw(vcpu);
	return error;
}

int
vmm_set_desc(struct vm_vcpu *vcpu, int reg, const struct seg_desc *desc)
{
	int error;

	if (!VM_REG_HAS_DESC(reg))
		return -EINVAL;
	vcpu_freeze(vcpu);
	error = vcpu->vm->ops->setdesc(vcpu->bvcpu, reg, desc);
	vcpu_thaw(vcpu);
	return error;
}

void
vmm_get_stats(struct vm_vcpu *vcpu, uint64_t *vals, int nvals)
{
	for (int i = 0; i < nvals && i < VMST_MAX; i++)
		vals[i] = atomic_load_explicit(&vcpu->stats[i],
		    memory_order_relaxed);
}

const char *
vmm_stat_name(int stat)
{
	static const char *const names[VMST_MAX] = {
		[VMST_RUNS] = "vm entries",
		[VMST_EXITS] = "total number of vm exits",
		[VMST_EXIT_INOUT] = "number of times in/out was intercepted",
		[VMST_EXIT_INOUT_STR] = "number of times ins/outs was intercepted",
		[VMST_EXIT_MMIO] = "number of mmio accesses emulated",
		[VMST_EXIT_RDMSR] = "number of times rdmsr was intercepted",
		[VMST_EXIT_WRMSR] = "number of times wrmsr was intercepted",
		[VMST_EXIT_HLT] = "number of times hlt was intercepted",
		[VMST_EXIT_SHUTDOWN] = "number of shutdown (triple fault) exits",
		[VMST_EXIT_INTR_WINDOW] = "vm exits due to interrupt window opening",
		[VMST_EXIT_KICKED] = "number of times the vcpu was kicked out",
		[VMST_EXIT_OTHER] = "number of vm exits for other reasons",
		[VMST_HLT_SLEEPS] = "number of times hlt slept on the host",
	};

	return stat >= 0 && stat < VMST_MAX ? names[stat] : NULL;
}

const char *
vmm_exitcode_name(int exitcode)
{
	static const char *const names[VM_EXITCODE_MAX] = {
		[VM_EXITCODE_BOGUS] = "BOGUS",
		[VM_EXITCODE_INOUT] = "INOUT",
		[VM_EXITCODE_INOUT_STR] = "INOUT_STR",
		[VM_EXITCODE_MMIO] = "MMIO",
		[VM_EXITCODE_RDMSR] = "RDMSR",
		[VM_EXITCODE_WRMSR] = "WRMSR",
		[VM_EXITCODE_HLT] = "HLT",
		[VM_EXITCODE_PAUSE] = "PAUSE",
		[VM_EXITCODE_SPINUP_AP] = "SPINUP_AP",
		[VM_EXITCODE_SUSPENDED] = "SUSPENDED",
		[VM_EXITCODE_DEBUG] = "DEBUG",
		[VM_EXITCODE_BPT] = "BPT",
		[VM_EXITCODE_INST_EMUL] = "INST_EMUL",
		[VM_EXITCODE_INTERNAL_ERROR] = "INTERNAL_ERROR",
	};

	return exitcode >= 0 && exitcode < VM_EXITCODE_MAX ? names[exitcode]
							   : "UNKNOWN";
}
