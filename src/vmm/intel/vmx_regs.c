/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest registers for the vmm (bhyve's vmx_getreg/vmx_setreg and
 * vmx_getdesc/vmx_setdesc): the VMCS guest-state fields, the GPRs beside
 * the VMCS (struct vtx_regs, bhyve's vmxctx), CR0/CR4 as the guest sees
 * them through the read shadows, and the CR0/CR4 writes that VMX
 * operation constrains (the fixed bits, EFER.LMA with CR0.PG).
 */
#include <errno.h>

#include "vmx.h"

#define CR0_PG 0x80000000ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

uint64_t
vmx_vmread(struct vmx_vcpu *vcpu, uint32_t field)
{
	uint64_t val = 0;

	(void)vmcs_read(vcpu->vtx, field, &val);
	return val;
}

void
vmx_vmwrite(struct vmx_vcpu *vcpu, uint32_t field, uint64_t val)
{
	(void)vmcs_write(vcpu->vtx, field, val);
}

/* vmm.h names of the GPRs as VT-x numbers; -1: not a GPR. */
static int
vmx_gpr_num(int reg)
{
	static const int8_t num[VM_REG_GUEST_R15 + 1] = {
		[VM_REG_GUEST_RAX] = VTX_RAX, [VM_REG_GUEST_RBX] = VTX_RBX,
		[VM_REG_GUEST_RCX] = VTX_RCX, [VM_REG_GUEST_RDX] = VTX_RDX,
		[VM_REG_GUEST_RSI] = VTX_RSI, [VM_REG_GUEST_RDI] = VTX_RDI,
		[VM_REG_GUEST_RBP] = VTX_RBP, [VM_REG_GUEST_RSP] = VTX_RSP,
		[VM_REG_GUEST_R8] = 8, [VM_REG_GUEST_R9] = 9,
		[VM_REG_GUEST_R10] = 10, [VM_REG_GUEST_R11] = 11,
		[VM_REG_GUEST_R12] = 12, [VM_REG_GUEST_R13] = 13,
		[VM_REG_GUEST_R14] = 14, [VM_REG_GUEST_R15] = 15,
	};

	return reg >= 0 && reg <= VM_REG_GUEST_R15 ? num[reg] : -1;
}

uint64_t
vmx_gpr(struct vmx_vcpu *vcpu, int num)
{
	return num == VTX_RSP ? vmx_vmread(vcpu, VMCS_GUEST_RSP) :
	    vcpu->regs.gpr[num & 15];
}

void
vmx_set_gpr(struct vmx_vcpu *vcpu, int num, uint64_t val)
{
	if (num == VTX_RSP)
		vmx_vmwrite(vcpu, VMCS_GUEST_RSP, val);
	else
		vcpu->regs.gpr[num & 15] = val;
}

/* Registers that are one VMCS field each. */
static uint32_t
vmx_reg_field(int reg)
{
	if (VM_REG_IS_SEGMENT(reg))
		return VMCS_GUEST_SELECTOR(reg - VM_REG_GUEST_ES);
	switch (reg) {
	case VM_REG_GUEST_RIP: return VMCS_GUEST_RIP;
	case VM_REG_GUEST_RFLAGS: return VMCS_GUEST_RFLAGS;
	case VM_REG_GUEST_CR3: return VMCS_GUEST_CR3;
	case VM_REG_GUEST_EFER: return VMCS_GUEST_IA32_EFER;
	case VM_REG_GUEST_DR7: return VMCS_GUEST_DR7;
	default: return 0;
	}
}

/* CR0/CR4 as the guest reads them: masked bits from the read shadow. */
uint64_t
vmx_visible_cr(struct vmx_vcpu *vcpu, int cr)
{
	uint64_t val = vmx_vmread(vcpu, cr == 0 ? VMCS_GUEST_CR0 :
	    VMCS_GUEST_CR4);
	uint64_t mask = vmx_vmread(vcpu, cr == 0 ? VMCS_CR0_MASK :
	    VMCS_CR4_MASK);
	uint64_t shadow = vmx_vmread(vcpu, cr == 0 ? VMCS_CR0_SHADOW :
	    VMCS_CR4_SHADOW);

	return (val & ~mask) | (shadow & mask);
}

/* With "load IA32_EFER", EFER.LMA and IA-32e mode guest must agree. */
static void
vmx_set_efer(struct vmx_vcpu *vcpu, uint64_t efer)
{
	uint64_t entry = vmx_vmread(vcpu, VMCS_ENTRY_CTLS);

	vmx_vmwrite(vcpu, VMCS_GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		entry |= VM_ENTRY_GUEST_LMA;
	else
		entry &= ~(uint64_t)VM_ENTRY_GUEST_LMA;
	vmx_vmwrite(vcpu, VMCS_ENTRY_CTLS, entry);
}

/*
 * CR0 as the guest wrote it: the shadow keeps the guest's value, the
 * guest CR0 gets VMX's fixed bits.  Turning paging on with EFER.LME set
 * activates long mode (SDM vol. 3A, 9.8.5), which VM entry must be told.
 */
int
vmx_write_cr0(struct vmx_vcpu *vcpu, uint64_t val)
{
	struct vmx_vm *vmx = vcpu->vmx;
	uint64_t old = vmx_vmread(vcpu, VMCS_GUEST_CR0);
	uint64_t efer = vmx_vmread(vcpu, VMCS_GUEST_IA32_EFER);

	vmx_vmwrite(vcpu, VMCS_CR0_SHADOW, val);
	vmx_vmwrite(vcpu, VMCS_GUEST_CR0,
	    (val | vmx->cr0_ones) & ~vmx->cr0_zeros);
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME))
		vmx_set_efer(vcpu, efer | EFER_LMA);
	else if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA))
		vmx_set_efer(vcpu, efer & ~EFER_LMA);
	return 0;
}

int
vmx_write_cr4(struct vmx_vcpu *vcpu, uint64_t val)
{
	struct vmx_vm *vmx = vcpu->vmx;

	vmx_vmwrite(vcpu, VMCS_CR4_SHADOW, val);
	vmx_vmwrite(vcpu, VMCS_GUEST_CR4,
	    (val | vmx->cr4_ones) & ~vmx->cr4_zeros);
	return 0;
}

static int
vmx_access_other(struct vmx_vcpu *vcpu, int reg, uint64_t *val, bool write)
{
	uint64_t *p = NULL;

	if (reg == VM_REG_GUEST_CR2)
		p = &vcpu->regs.cr2;
	else if (reg >= VM_REG_GUEST_DR0 && reg <= VM_REG_GUEST_DR3)
		p = &vcpu->regs.dr[reg - VM_REG_GUEST_DR0];
	else if (reg == VM_REG_GUEST_DR6)
		p = &vcpu->regs.dr6;
	if (p == NULL)
		return -EINVAL;
	if (write)
		*p = *val;
	else
		*val = *p;
	return 0;
}

int
vmx_getreg(void *arg, int reg, uint64_t *val)
{
	struct vmx_vcpu *vcpu = arg;
	int num = vmx_gpr_num(reg);
	uint32_t field = vmx_reg_field(reg);

	if (num >= 0)
		*val = vmx_gpr(vcpu, num);
	else if (field != 0)
		*val = vmx_vmread(vcpu, field);
	else if (reg == VM_REG_GUEST_CR0 || reg == VM_REG_GUEST_CR4)
		*val = vmx_visible_cr(vcpu, reg == VM_REG_GUEST_CR0 ? 0 : 4);
	else if (reg == VM_REG_GUEST_CR8)
		*val = vcpu->cr8;
	else if (reg == VM_REG_GUEST_INTR_SHADOW)
		*val = (vmx_vmread(vcpu, VMCS_GUEST_INTERRUPTIBILITY) & 3) != 0;
	else
		return vmx_access_other(vcpu, reg, val, false);
	return 0;
}

/* STI blocking needs RFLAGS.IF (26.3.1.5); without it, it is MOV SS's. */
static void
vmx_set_shadow(struct vmx_vcpu *vcpu, bool on)
{
	uint64_t gi = vmx_vmread(vcpu, VMCS_GUEST_INTERRUPTIBILITY) & ~3ULL;

	if (on)
		gi |= (vmx_vmread(vcpu, VMCS_GUEST_RFLAGS) & 0x200) ?
		    VMCS_INTERRUPTIBILITY_STI_BLOCKING :
		    VMCS_INTERRUPTIBILITY_MOVSS_BLOCKING;
	vmx_vmwrite(vcpu, VMCS_GUEST_INTERRUPTIBILITY, gi);
}

/*
 * A new RIP from the vmm (a start-up IPI) abandons the instruction of the
 * last exit: nothing of it is completed or re-delivered on the next run.
 */
static void
vmx_abandon_exit(struct vmx_vcpu *vcpu)
{
	vcpu->pending = VM_EXITCODE_BOGUS;
	vcpu->mmio.active = false;
	vcpu->mmio.replay = false;
	vcpu->reinject.valid = false;
}

int
vmx_setreg(void *arg, int reg, uint64_t val)
{
	struct vmx_vcpu *vcpu = arg;
	int num = vmx_gpr_num(reg);

	if (reg == VM_REG_GUEST_RIP)
		vmx_abandon_exit(vcpu);
	if (num >= 0)
		vmx_set_gpr(vcpu, num, val);
	else if (reg == VM_REG_GUEST_EFER)
		vmx_set_efer(vcpu, val);
	else if (vmx_reg_field(reg) != 0)
		vmx_vmwrite(vcpu, vmx_reg_field(reg), val);
	else if (reg == VM_REG_GUEST_CR0)
		return vmx_write_cr0(vcpu, val);
	else if (reg == VM_REG_GUEST_CR4)
		return vmx_write_cr4(vcpu, val);
	else if (reg == VM_REG_GUEST_CR8)
		vcpu->cr8 = val & 0xf;
	else if (reg == VM_REG_GUEST_INTR_SHADOW)
		vmx_set_shadow(vcpu, val != 0);
	else
		return vmx_access_other(vcpu, reg, &val, true);
	return 0;
}

int
vmx_getdesc(void *arg, int reg, struct seg_desc *desc)
{
	struct vmx_vcpu *vcpu = arg;
	int s = reg - VM_REG_GUEST_ES;

	if (VM_REG_IS_SEGMENT(reg)) {
		desc->base = vmx_vmread(vcpu, VMCS_GUEST_BASE(s));
		desc->limit = (uint32_t)vmx_vmread(vcpu, VMCS_GUEST_LIMIT(s));
		desc->access = (uint32_t)vmx_vmread(vcpu,
		    VMCS_GUEST_ACCESS_RIGHTS(s));
	} else if (reg == VM_REG_GUEST_GDTR || reg == VM_REG_GUEST_IDTR) {
		bool gdt = reg == VM_REG_GUEST_GDTR;

		desc->base = vmx_vmread(vcpu, gdt ? VMCS_GUEST_GDTR_BASE :
		    VMCS_GUEST_IDTR_BASE);
		desc->limit = (uint32_t)vmx_vmread(vcpu, gdt ?
		    VMCS_GUEST_GDTR_LIMIT : VMCS_GUEST_IDTR_LIMIT);
		desc->access = 0;
	} else {
		return -EINVAL;
	}
	return 0;
}

int
vmx_setdesc(void *arg, int reg, const struct seg_desc *desc)
{
	struct vmx_vcpu *vcpu = arg;
	int s = reg - VM_REG_GUEST_ES;

	if (VM_REG_IS_SEGMENT(reg)) {
		vmx_vmwrite(vcpu, VMCS_GUEST_BASE(s), desc->base);
		vmx_vmwrite(vcpu, VMCS_GUEST_LIMIT(s), desc->limit);
		vmx_vmwrite(vcpu, VMCS_GUEST_ACCESS_RIGHTS(s), desc->access);
	} else if (reg == VM_REG_GUEST_GDTR || reg == VM_REG_GUEST_IDTR) {
		bool gdt = reg == VM_REG_GUEST_GDTR;

		vmx_vmwrite(vcpu, gdt ? VMCS_GUEST_GDTR_BASE :
		    VMCS_GUEST_IDTR_BASE, desc->base);
		vmx_vmwrite(vcpu, gdt ? VMCS_GUEST_GDTR_LIMIT :
		    VMCS_GUEST_IDTR_LIMIT, desc->limit & 0xffff);
	} else {
		return -EINVAL;
	}
	return 0;
}
