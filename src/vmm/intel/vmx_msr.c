/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MSRs (bhyve's vmx_msr.c): the MSR bitmap lets the guest reach the MSRs
 * the processor keeps per guest (EFER, the SYSCALL and SYSENTER MSRs,
 * FS/GS bases, PAT, TSC_AUX: the core's own, x86_msr_owned()) without an
 * exit; every other RDMSR/WRMSR exits.  The driver answers a few
 * processor-identity MSRs itself, as KVM does, so a guest sees the same
 * on both backends; the rest go to the vmm (the local APIC's) and on to
 * the device model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "vmx.h"

#define MSR_TSC 0x10
#define MSR_PLATFORM_ID 0x17
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MISC_ENABLE 0x1a0

/* IA32_MISC_ENABLE as KVM shows it: no BTS, no PEBS. */
#define MISC_ENABLE_BTS_UNAVAIL (1ULL << 11)
#define MISC_ENABLE_PEBS_UNAVAIL (1ULL << 12)
#define FEATURE_CONTROL_LOCKED 1ULL

/* The guest's own MSRs: no exit (the core keeps them). */
static const uint32_t vmx_guest_msrs[] = {
	0x174, 0x175, 0x176,		/* SYSENTER_CS/ESP/EIP */
	0x277,				/* PAT */
	0xc0000080,			/* EFER */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR..SFMASK */
	0xc0000100, 0xc0000101, 0xc0000102, /* FS/GS/KERNEL_GS base */
	0xc0000103,			/* TSC_AUX */
};

static void
vmx_msr_pass(uint8_t *bm, uint32_t msr)
{
	uint32_t off = msr >= 0xc0000000u ? 1024 : 0, bit = msr & 0x1fff;

	bm[off + bit / 8] &= (uint8_t)~(1u << (bit % 8));
	bm[2048 + off + bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

int
vmx_msr_bitmap_init(struct vmx_vm *vmx)
{
	vmx->msr_bitmap = aligned_alloc(4096, 4096);
	if (vmx->msr_bitmap == NULL)
		return -ENOMEM;
	memset(vmx->msr_bitmap, 0xff, 4096);
	for (size_t i = 0; i < sizeof(vmx_guest_msrs) / sizeof(uint32_t); i++)
		vmx_msr_pass(vmx->msr_bitmap, vmx_guest_msrs[i]);
	return 0;
}

static uint64_t
vmx_tsc_offset(struct vmx_vcpu *vcpu)
{
	return vmx_vmread(vcpu, VMCS_TSC_OFFSET);
}

/* true: the driver answered (*val, or *gp for #GP). */
bool
vmx_rdmsr(struct vmx_vcpu *vcpu, uint32_t msr, uint64_t *val, bool *gp)
{
	*gp = false;
	switch (msr) {
	case MSR_TSC:
		*val = __rdtsc() + vmx_tsc_offset(vcpu);
		return true;
	case MSR_PLATFORM_ID:
	case MSR_BIOS_SIGN_ID:
	case MSR_MCG_CAP:
	case MSR_MCG_STATUS:
		*val = 0;
		return true;
	case MSR_FEATURE_CONTROL:
		*val = FEATURE_CONTROL_LOCKED;	/* VMX off, locked */
		return true;
	case MSR_MISC_ENABLE:
		*val = MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL;
		return true;
	default:
		return false;
	}
}

bool
vmx_wrmsr(struct vmx_vcpu *vcpu, uint32_t msr, uint64_t val, bool *gp)
{
	*gp = false;
	switch (msr) {
	case MSR_TSC:
		/* Every vCPU keeps its own offset from here on. */
		vmx_vmwrite(vcpu, VMCS_TSC_OFFSET, val - __rdtsc());
		return true;
	case MSR_BIOS_SIGN_ID:
	case MSR_MISC_ENABLE:
	case MSR_MCG_STATUS:
		return true;		/* accepted, nothing to change */
	case MSR_FEATURE_CONTROL:
		*gp = true;		/* locked */
		return true;
	default:
		return false;
	}
}
