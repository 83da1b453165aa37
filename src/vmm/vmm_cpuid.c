/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CPUID policy: what the guest sees is decided here, from what the
 * backend can run, and handed to the backend per vCPU (bhyve's
 * x86_emulate_cpuid).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_internal.h"

#define CPUID_MAX_ENTRIES 256

/* Leaf 1 ECX bits this policy touches (SDM vol. 2A, CPUID). */
#define CPUID1_ECX_MONITOR (1u << 3)
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR (1u << 31)

#define VMM_HV_LEAF 0x40000000u

/*
 * Width of a topology field holding 'n' values: bits needed, rounded up
 * to a power of two (SDM vol. 3, 9.4.1: APIC ID packing).
 */
static unsigned
topo_width(int n)
{
	unsigned w = 0;

	while ((1 << w) < n)
		w++;
	return w;
}

uint32_t
vmm_topology_apic_id(const struct vm *vm, int vcpuid)
{
	unsigned tw = topo_width(vm->threads), cw = topo_width(vm->cores);
	int thread = vcpuid % vm->threads;
	int core = (vcpuid / vm->threads) % vm->cores;
	int socket = vcpuid / (vm->threads * vm->cores);

	return (uint32_t)(socket << (tw + cw) | core << tw | thread);
}

/*
 * Features hidden from the guest: the vmm does not emulate them
 * (MONITOR/MWAIT) or they are not ours to offer (VMX).  x2APIC is
 * offered when x86.x2apic asks for it (as bhyve does), TSC-deadline when
 * the TSC rate is known.  What a backend cannot run it leaves out of its
 * own list (cpuid_supported).
 */
static void
cpuid_hide_features(const struct vm *vm, const struct vm_vcpu *vcpu,
    struct vmm_cpuid_entry *e)
{
	if (e->function != 1)
		return;
	e->ecx &= ~(CPUID1_ECX_MONITOR | CPUID1_ECX_VMX | CPUID1_ECX_X2APIC |
	    CPUID1_ECX_TSC_DEADLINE);
	e->ecx |= CPUID1_ECX_HYPERVISOR;
	if (vm->x2apic)
		e->ecx |= CPUID1_ECX_X2APIC;
	if (vm->ops->tsc_hz(vcpu->bvcpu) != 0)
		e->ecx |= CPUID1_ECX_TSC_DEADLINE;
}

/* Leaves 1, 4 and 0x80000008 describe the topology (SDM vol. 3, 9.4). */
static void
cpuid_set_topology(const struct vm *vm, const struct vm_vcpu *vcpu,
    struct vmm_cpuid_entry *e)
{
	unsigned tw = topo_width(vm->threads), cw = topo_width(vm->cores);
	uint32_t per_pkg = (uint32_t)(vm->threads * vm->cores);

	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0xffff) | (per_pkg & 0xff) << 16 |
		    vcpu->apic_id << 24;
		if (per_pkg > 1)
			e->edx |= 1u << 28; /* HTT: the count above is valid */
		break;
	case 4: {
		unsigned level = e->eax >> 5 & 7;
		uint32_t sharing = level < 3 ? (uint32_t)vm->threads : per_pkg;

		if ((e->eax & 0x1f) == 0)
			break; /* no more caches */
		e->eax = (e->eax & 0x3fff) | (uint32_t)((1 << cw) - 1) << 26 |
		    ((sharing - 1) & 0xfff) << 14;
		break;
	}
	case 0x80000008:
		e->ecx = (e->ecx & ~0xf0ffu) | (tw + cw) << 12 |
		    ((per_pkg - 1) & 0xff);
		break;
	}
}

/*
 * Leaf 0xb, the x2APIC topology (SDM vol. 3, 9.4.1), built here whatever
 * the host lists (an AMD host may list only subleaf 0): SMT level, core
 * level, then the invalid level that ends the list.
 */
static int
cpuid_add_topology_leaf(const struct vm *vm, const struct vm_vcpu *vcpu,
    struct vmm_cpuid_entry *ents, int n)
{
	unsigned tw = topo_width(vm->threads), cw = topo_width(vm->cores);
	const struct {
		uint32_t shift, count, type;
	} level[3] = {
		{ tw, (uint32_t)vm->threads, 1 },
		{ tw + cw, (uint32_t)(vm->threads * vm->cores), 2 },
		{ 0, 0, 0 },
	};

	for (uint32_t i = 0; i < 3 && n < CPUID_MAX_ENTRIES; i++) {
		ents[n++] = (struct vmm_cpuid_entry){
			.function = 0xb,
			.index = i,
			.flags = VMM_CPUID_SIGNIFICANT_INDEX,
			.eax = level[i].shift,
			.ebx = level[i].count,
			.ecx = level[i].type << 8 | i,
			.edx = vcpu->apic_id,
		};
	}
	return n;
}

/* The hypervisor leaf: bhyve's signature, so guests know where they are. */
static int
cpuid_add_hv_leaf(struct vmm_cpuid_entry *ents, int n)
{
	static const char sig[12] = "bhyve bhyve ";
	struct vmm_cpuid_entry *e;

	if (n >= CPUID_MAX_ENTRIES)
		return n;
	e = &ents[n];
	memset(e, 0, sizeof(*e));
	e->function = VMM_HV_LEAF;
	e->eax = VMM_HV_LEAF;
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
	return n + 1;
}

int
vmm_cpuid_init_vcpu(struct vm *vm, struct vm_vcpu *vcpu)
{
	struct vmm_cpuid_entry *ents;
	int n = 0, out = 0, error;

	ents = calloc(CPUID_MAX_ENTRIES, sizeof(*ents));
	if (ents == NULL)
		return -ENOMEM;
	error = vm->ops->cpuid_supported(vm->bvm, ents, CPUID_MAX_ENTRIES - 4,
	    &n);
	if (error)
		goto out;
	for (int i = 0; i < n; i++) {
		struct vmm_cpuid_entry e = ents[i];

		/*
		 * The backend's own hypervisor leaves are not ours to show;
		 * the topology leaf is rebuilt below.
		 */
		if ((e.function & 0xffff0000u) == VMM_HV_LEAF ||
		    e.function == 0xb)
			continue;
		if (e.function == 0 && e.eax < 0xb)
			e.eax = 0xb; /* so that leaf 0xb is seen */
		cpuid_hide_features(vm, vcpu, &e);
		cpuid_set_topology(vm, vcpu, &e);
		ents[out++] = e;
	}
	out = cpuid_add_topology_leaf(vm, vcpu, ents, out);
	out = cpuid_add_hv_leaf(ents, out);
	error = vm->ops->vcpu_set_cpuid(vcpu->bvcpu, ents, out);
out:
	free(ents);
	return error;
}
