/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CPUID.  cpuid_supported describes the processor the x86 core is: what
 * it executes (x86/x86_cpu.h), and of the features it computes with the
 * host's own instructions (SSE3-SSE4.1 arithmetic, RDRAND, RDSEED) only
 * those the host has.  The vmm's policy (vmm_cpuid.c) shapes it and hands
 * it back per vCPU; CPUID exits are answered from that table here, as
 * bhyve's x86_emulate_cpuid does.
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

#include "vmx.h"

/* Leaf 1 EDX/ECX, leaf 7 EBX, leaf 0x80000001 ECX/EDX (SDM vol. 2A). */
#define L1_EDX (1u << 0 | /* FPU */ 1u << 2 | /* DE */ 1u << 3 | /* PSE */ \
    1u << 4 | /* TSC */ 1u << 5 | /* MSR */ 1u << 6 | /* PAE */	\
    1u << 8 | /* CX8 */ 1u << 9 | /* APIC */ 1u << 11 | /* SEP */	\
    1u << 13 | /* PGE */ 1u << 15 | /* CMOV */ 1u << 16 | /* PAT */	\
    1u << 19 | /* CLFSH */ 1u << 24 | /* FXSR */ 1u << 25 | /* SSE */	\
    1u << 26 /* SSE2 */)
#define L1_ECX (1u << 13 | /* CX16 */ 1u << 17 | /* PCID */		\
    1u << 22 | /* MOVBE */ 1u << 23 /* POPCNT */)
#define L1_ECX_HOST (1u << 0 | /* SSE3 */ 1u << 9 | /* SSSE3 */		\
    1u << 19 | /* SSE4.1 */ 1u << 30 /* RDRAND */)
#define L7_EBX (1u << 0 | /* FSGSBASE */ 1u << 7 | /* SMEP */		\
    1u << 9 | /* ERMS */ 1u << 10 | /* INVPCID */ 1u << 20 /* SMAP */)
#define L7_EBX_HOST (1u << 18 /* RDSEED */)
#define X1_ECX (1u << 0 | /* LAHF */ 1u << 5 | /* LZCNT */ 1u << 8)
#define X1_EDX (1u << 11 | /* SYSCALL */ 1u << 20 | /* NX */		\
    1u << 26 | /* 1 GiB pages */ 1u << 27 | /* RDTSCP */ 1u << 29 /* LM */)
#define X7_EDX_INVARIANT_TSC (1u << 8)
#define L6_EAX_ARAT (1u << 2)

#define CPUID_SIG 0x000206a7u	/* family 6, model 0x2a, stepping 7 */

static const char vmx_brand[48] = "bhyve software VT-x CPU";

static uint32_t
vmx_host_reg(uint32_t leaf, uint32_t sub, int reg)
{
	uint32_t r[4] = { 0 };

	if ((uint32_t)__get_cpuid_max(leaf & 0x80000000u, NULL) < leaf)
		return 0;
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
	return r[reg];
}

static void
vmx_leaf(struct vmm_cpuid_entry *ents, int max, int *n, uint32_t fn,
    int index, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	if (*n >= max)
		return;
	ents[(*n)++] = (struct vmm_cpuid_entry){ .function = fn,
		.index = index < 0 ? 0 : (uint32_t)index,
		.flags = index < 0 ? 0 : VMM_CPUID_SIGNIFICANT_INDEX,
		.eax = a, .ebx = b, .ecx = c, .edx = d };
}

/* Leaf 4: L1d, L1i 32 KiB 8-way; L2 256 KiB 8-way; L3 8 MiB 16-way. */
static void
vmx_cache_leaves(struct vmm_cpuid_entry *e, int max, int *n)
{
	static const struct { uint32_t type, level, ways, sets; } c[] = {
		{ 1, 1, 8, 64 }, { 2, 1, 8, 64 }, { 3, 2, 8, 512 },
		{ 3, 3, 16, 8192 },
	};
	int i;

	for (i = 0; i < 4; i++)
		vmx_leaf(e, max, n, 4, i, c[i].type | c[i].level << 5 |
		    1u << 8, (c[i].ways - 1) << 22 | 63, c[i].sets - 1, 0);
	vmx_leaf(e, max, n, 4, i, 0, 0, 0, 0);
}

static void
vmx_brand_leaves(struct vmm_cpuid_entry *e, int max, int *n)
{
	uint32_t w[12];

	memcpy(w, vmx_brand, sizeof(w));
	for (int i = 0; i < 3; i++)
		vmx_leaf(e, max, n, 0x80000002u + (uint32_t)i, -1, w[4 * i],
		    w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]);
}

int
vmx_cpuid_supported(struct vmm_cpuid_entry *e, int max, int *n)
{
	uint32_t ecx1 = L1_ECX | (vmx_host_reg(1, 0, 2) & L1_ECX_HOST);
	uint32_t ebx7 = L7_EBX | (vmx_host_reg(7, 0, 1) & L7_EBX_HOST);

	*n = 0;
	/* "GenuineIntel": EBX, EDX, ECX. */
	vmx_leaf(e, max, n, 0, -1, 0xb, 0x756e6547, 0x6c65746e, 0x49656e69);
	vmx_leaf(e, max, n, 1, -1, CPUID_SIG, 8u << 8, ecx1, L1_EDX);
	vmx_leaf(e, max, n, 2, -1, 1, 0, 0, 0);
	vmx_cache_leaves(e, max, n);
	vmx_leaf(e, max, n, 6, -1, L6_EAX_ARAT, 0, 0, 0);
	vmx_leaf(e, max, n, 7, 0, 0, ebx7, 0, 0);
	vmx_leaf(e, max, n, 0xa, -1, 0, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		vmx_leaf(e, max, n, 0xb, i, 0, 0, 0, 0);
	vmx_leaf(e, max, n, 0x80000000u, -1, 0x80000008u, 0, 0, 0);
	vmx_leaf(e, max, n, 0x80000001u, -1, 0, 0, X1_ECX, X1_EDX);
	vmx_brand_leaves(e, max, n);
	vmx_leaf(e, max, n, 0x80000006u, -1, 0, 0, 256u << 16 | 6u << 12 | 64,
	    0);
	vmx_leaf(e, max, n, 0x80000007u, -1, 0, 0, 0, X7_EDX_INVARIANT_TSC);
	/* 46 physical (the core's MAXPHYADDR), 48 linear address bits. */
	vmx_leaf(e, max, n, 0x80000008u, -1, 48u << 8 | 46, 0, 0, 0);
	return 0;
}

static const struct vmm_cpuid_entry *
vmx_cpuid_find(const struct vmx_vcpu *vcpu, uint32_t fn, uint32_t index)
{
	for (int i = 0; i < vcpu->ncpuid; i++) {
		const struct vmm_cpuid_entry *e = &vcpu->cpuid[i];

		if (e->function == fn &&
		    (!(e->flags & VMM_CPUID_SIGNIFICANT_INDEX) ||
		    e->index == index))
			return e;
	}
	return NULL;
}

/*
 * A leaf above the basic or extended maximum answers as the highest
 * basic leaf, as Intel processors do; a missing one inside reads 0.
 */
static const struct vmm_cpuid_entry *
vmx_cpuid_lookup(const struct vmx_vcpu *vcpu, uint32_t fn, uint32_t index)
{
	const struct vmm_cpuid_entry *max0 = vmx_cpuid_find(vcpu, 0, 0);
	const struct vmm_cpuid_entry *maxx = vmx_cpuid_find(vcpu,
	    0x80000000u, 0);
	uint32_t top0 = max0 ? max0->eax : 0, topx = maxx ? maxx->eax : 0;
	bool ext = (fn & 0x80000000u) != 0;
	bool hv = (fn & 0xffff0000u) == 0x40000000u;

	if (!hv && ((!ext && fn > top0) || (ext && fn > topx)))
		return vmx_cpuid_find(vcpu, top0, 0);
	return vmx_cpuid_find(vcpu, fn, index);
}

/* The CPUID exit: EAX/ECX in, EAX..EDX out, CR4.OSXSAVE reflected. */
void
vmx_cpuid(struct vmx_vcpu *vcpu)
{
	uint32_t fn = (uint32_t)vcpu->regs.gpr[VTX_RAX];
	uint32_t index = (uint32_t)vcpu->regs.gpr[VTX_RCX];
	const struct vmm_cpuid_entry *e = vmx_cpuid_lookup(vcpu, fn, index);
	struct vmm_cpuid_entry r = { 0 };

	if (e != NULL)
		r = *e;
	if (fn == 1) {
		r.ecx &= ~(1u << 27);
		if (vmx_visible_cr(vcpu, 4) & (1u << 18))
			r.ecx |= 1u << 27;
	}
	vcpu->regs.gpr[VTX_RAX] = r.eax;
	vcpu->regs.gpr[VTX_RBX] = r.ebx;
	vcpu->regs.gpr[VTX_RCX] = r.ecx;
	vcpu->regs.gpr[VTX_RDX] = r.edx;
}
