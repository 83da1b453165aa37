/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VM exits by basic exit reason (bhyve's vmx_exit_process), one handler
 * each in a table, and the completion on the next run() of the exits the
 * vmm or device model answered (IN data, MMIO reads, RDMSR values).
 *
 * An exit handled here resumes the guest (CPUID, CR accesses, the MSRs
 * the driver answers, windows, reinjected exceptions); the others become
 * a struct vm_exit: I/O to INOUT/INOUT_STR, an EPT violation outside RAM
 * to MMIO (one device-sized piece at a time), RDMSR/WRMSR, HLT (RIP
 * already past it), a triple fault to a SUSPENDED exit, a kick or an
 * interrupt window to BOGUS so the vmm looks at its interrupts.
 */
#include <string.h>

#include "vmx.h"

#define CR0_PE 0x1ULL
#define CR0_NW 0x20000000ULL
#define CR0_CD 0x40000000ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define CR4_PCIDE 0x20000ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define IDT_UD 6
#define IDT_DF 8
#define IDT_GP 13
#define IDT_PF 14

typedef enum vmx_exit_action vmx_exit_fn(struct vmx_vcpu *vcpu,
    const struct vmx_exit *ex, struct vm_exit *vme);

static enum vmx_exit_action
vmx_exit_internal(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	(void)vcpu;
	vme->exitcode = VM_EXITCODE_INTERNAL_ERROR;
	vme->u.internal.backend_reason = ex->reason;
	vme->u.internal.data[0] = ex->qual;
	vme->u.internal.data[1] = ex->gpa;
	return VMX_RETURN;
}

static enum vmx_exit_action
vmx_exit_bogus(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	(void)vcpu, (void)ex;
	vme->exitcode = VM_EXITCODE_BOGUS;
	return VMX_RETURN;
}

static enum vmx_exit_action
vmx_exit_resume(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	(void)vcpu, (void)ex, (void)vme;
	return VMX_RESUME;
}

static enum vmx_exit_action
vmx_exit_ud(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	(void)ex, (void)vme;
	(void)vmx_inject_exception(vcpu, IDT_UD, false, 0);
	return VMX_RESUME;
}

static enum vmx_exit_action
vmx_exit_gp(struct vmx_vcpu *vcpu)
{
	(void)vmx_inject_exception(vcpu, IDT_GP, true, 0);
	return VMX_RESUME;
}

static enum vmx_exit_action
vmx_exit_skip(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	(void)vme;
	vmx_skip_instruction(vcpu, ex->inst_len);
	return VMX_RESUME;
}

/* 0-benign, 1-contributory, 2-page fault (SDM vol. 3A, table 6-4). */
static int
vmx_exc_class(int vector)
{
	if (vector == IDT_PF)
		return 2;
	return vector == 0 || (vector >= 10 && vector <= 13) ? 1 : 0;
}

/*
 * An exception the bitmap asked for goes back to the guest.  One that
 * hit while another event was delivered replaces it, or becomes #DF by
 * the rules of 6.15 (bhyve's nested-fault handling).
 */
static enum vmx_exit_action
vmx_exit_exception(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	uint32_t info = ex->intr_info & ~(uint32_t)VMCS_INTR_NMI_UNBLOCK_IRET;
	uint32_t type = info & VMCS_INTR_T_MASK, error = ex->intr_error;
	int vector = (int)(info & 0xff);
	struct vmx_reinject *ri = &vcpu->reinject;

	(void)vme;
	if (type == VMCS_INTR_T_NMI)
		return VMX_RESUME;	/* a host NMI: none here */
	if (vector == IDT_PF)
		vcpu->regs.cr2 = ex->qual;
	if (ri->valid && (ri->info & VMCS_INTR_T_MASK) ==
	    VMCS_INTR_T_HWEXCEPTION) {
		int first = (int)(ri->info & 0xff);

		if (first == IDT_DF)
			return vmx_exit_internal(vcpu, ex, vme);
		int c1 = vmx_exc_class(first), c2 = vmx_exc_class(vector);

		if (c1 && c2 && !(c1 == 1 && c2 == 2)) {
			info = VMCS_INTR_VALID | VMCS_INTR_T_HWEXCEPTION |
			    VMCS_INTR_DEL_ERRCODE | IDT_DF;
			error = 0;
		}
	}
	*ri = (struct vmx_reinject){ .valid = true, .info = info,
		.error = error,
		.inst_len = type >= VMCS_INTR_T_SWINTR ? ex->inst_len : 0 };
	return VMX_RESUME;
}

static enum vmx_exit_action
vmx_exit_triple_fault(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	(void)vcpu, (void)ex;
	vme->exitcode = VM_EXITCODE_SUSPENDED;
	vme->u.suspended.how = VM_SUSPEND_TRIPLEFAULT;
	return VMX_RETURN;
}

/* The vmm asks again if it still has something to inject. */
static enum vmx_exit_action
vmx_exit_intr_window(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	vmx_set_proc_ctl(vcpu, PROCBASED_INT_WINDOW_EXITING, false);
	return vmx_exit_bogus(vcpu, ex, vme);
}

static enum vmx_exit_action
vmx_exit_cpuid(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	vmx_cpuid(vcpu);
	return vmx_exit_skip(vcpu, ex, vme);
}

static enum vmx_exit_action
vmx_exit_hlt(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	vmx_skip_instruction(vcpu, ex->inst_len);
	vme->exitcode = VM_EXITCODE_HLT;
	return VMX_RETURN;
}

static bool
vmx_cr0_faults(struct vmx_vcpu *vcpu, uint64_t val)
{
	uint64_t efer = vmx_vmread(vcpu, VMCS_GUEST_IA32_EFER);
	uint64_t cr4 = vmx_visible_cr(vcpu, 4);

	return (val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)) ||
	    ((val & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE));
}

static bool
vmx_cr4_faults(struct vmx_vcpu *vcpu, uint64_t val)
{
	bool lma = (vmx_vmread(vcpu, VMCS_GUEST_IA32_EFER) & EFER_LMA) != 0;

	return (val & vcpu->vmx->cr4_zeros) || (lma && !(val & CR4_PAE)) ||
	    (!lma && (val & CR4_PCIDE));
}

/* MOV to CR0/CR4 with a host-owned bit changing, CR8, CLTS, LMSW. */
static enum vmx_exit_action
vmx_exit_cr(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	int cr = (int)VTX_CRQ_CR(ex->qual), gpr = (int)VTX_CRQ_GPR(ex->qual);
	uint64_t val = vmx_gpr(vcpu, gpr), cr0 = vmx_visible_cr(vcpu, 0);

	switch (VTX_CRQ_TYPE(ex->qual)) {
	case VTX_CRQ_MOV_FROM:
		if (cr != 8)
			return vmx_exit_internal(vcpu, ex, vme);
		vmx_set_gpr(vcpu, gpr, vcpu->cr8);
		return vmx_exit_skip(vcpu, ex, vme);
	case VTX_CRQ_CLTS:
		cr = 0;
		val = cr0 & ~0x8ULL;
		break;
	case VTX_CRQ_LMSW:
		/* LMSW sets PE but never clears it (SDM vol. 2A, LMSW). */
		cr = 0;
		val = (cr0 & ~0xeULL) | (VTX_CRQ_LMSW_SRC(ex->qual) & 0xf);
		break;
	}
	if (cr == 8) {
		vcpu->cr8 = val & 0xf;
		vmx_skip_instruction(vcpu, ex->inst_len);
		return vmx_exit_bogus(vcpu, ex, vme);	/* the TPR moved */
	}
	if ((cr == 0 && vmx_cr0_faults(vcpu, val)) ||
	    (cr == 4 && vmx_cr4_faults(vcpu, val)))
		return vmx_exit_gp(vcpu);
	if (cr == 0)
		(void)vmx_write_cr0(vcpu, val);
	else if (cr == 4)
		(void)vmx_write_cr4(vcpu, val);
	else
		return vmx_exit_internal(vcpu, ex, vme);
	return vmx_exit_skip(vcpu, ex, vme);
}

static enum vmx_exit_action
vmx_exit_inout(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	uint32_t size = VTX_IOQ_SIZE(ex->qual);

	if (ex->qual & VTX_IOQ_STRING)
		return vmx_iostr_exit(vcpu, ex, vme);
	vme->exitcode = VM_EXITCODE_INOUT;
	vme->u.inout = (struct vm_inout){ .port = VTX_IOQ_PORT(ex->qual),
		.bytes = (uint8_t)size, .in = (ex->qual & VTX_IOQ_IN) != 0 };
	if (!vme->u.inout.in)
		vme->u.inout.eax = (uint32_t)vcpu->regs.gpr[VTX_RAX] &
		    (uint32_t)(size == 4 ? ~0u : (1u << (size * 8)) - 1);
	return VMX_RETURN;
}

static enum vmx_exit_action
vmx_exit_rdmsr(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	uint32_t msr = (uint32_t)vcpu->regs.gpr[VTX_RCX];
	uint64_t val;
	bool gp;

	if (!vmx_rdmsr(vcpu, msr, &val, &gp)) {
		vme->exitcode = VM_EXITCODE_RDMSR;
		vme->u.msr.code = msr;
		return VMX_RETURN;
	}
	if (gp)
		return vmx_exit_gp(vcpu);
	vcpu->regs.gpr[VTX_RAX] = (uint32_t)val;
	vcpu->regs.gpr[VTX_RDX] = val >> 32;
	return vmx_exit_skip(vcpu, ex, vme);
}

static enum vmx_exit_action
vmx_exit_wrmsr(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	uint32_t msr = (uint32_t)vcpu->regs.gpr[VTX_RCX];
	uint64_t val = (uint32_t)vcpu->regs.gpr[VTX_RAX] |
	    vcpu->regs.gpr[VTX_RDX] << 32;
	bool gp;

	if (!vmx_wrmsr(vcpu, msr, val, &gp)) {
		vme->exitcode = VM_EXITCODE_WRMSR;
		vme->u.msr.code = msr;
		vme->u.msr.val = val;
		return VMX_RETURN;
	}
	if (gp)
		return vmx_exit_gp(vcpu);
	return vmx_exit_skip(vcpu, ex, vme);
}

/* The next piece of a split MMIO access: 8, 4, 2 or 1 bytes. */
static void
vmx_mmio_piece(struct vmx_vcpu *vcpu, struct vm_exit *vme)
{
	struct vmx_mmio *m = &vcpu->mmio;
	int left = m->size - m->done, piece = 8;

	while (piece > left)
		piece >>= 1;
	m->piece = (uint8_t)piece;
	memset(vme, 0, sizeof(*vme));
	vme->exitcode = VM_EXITCODE_MMIO;
	vme->rip = vmx_vmread(vcpu, VMCS_GUEST_RIP);
	vme->u.mmio.gpa = m->gpa + m->done;
	vme->u.mmio.bytes = (uint8_t)piece;
	vme->u.mmio.write = m->write;
	if (m->write)
		memcpy(&vme->u.mmio.data, m->data + m->done, (size_t)piece);
}

/* An EPT violation outside guest RAM is MMIO; anything else is a bug. */
static enum vmx_exit_action
vmx_exit_ept(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	struct vtx_mmio a;

	if ((ex->qual & VTX_EPTQ_FETCH) ||
	    vmm_mem_map_gpa(&vcpu->vcpu->vm->mem, ex->gpa, 1) != NULL ||
	    vtx_mmio_access(vcpu->vtx, &a) != 0 || a.size == 0 ||
	    a.size > sizeof(a.data))
		return vmx_exit_internal(vcpu, ex, vme);
	vcpu->mmio = (struct vmx_mmio){ .gpa = a.gpa, .size = a.size,
		.write = a.write, .active = true };
	memcpy(vcpu->mmio.data, a.data, sizeof(a.data));
	vmx_mmio_piece(vcpu, vme);
	return VMX_RETURN;
}

static vmx_exit_fn *const vmx_exit_handlers[EXIT_REASON_MAX] = {
	[EXIT_REASON_EXCEPTION] = vmx_exit_exception,
	[EXIT_REASON_EXT_INTR] = vmx_exit_bogus,
	[EXIT_REASON_TRIPLE_FAULT] = vmx_exit_triple_fault,
	[EXIT_REASON_INTR_WINDOW] = vmx_exit_intr_window,
	[EXIT_REASON_NMI_WINDOW] = vmx_exit_resume,
	[EXIT_REASON_CPUID] = vmx_exit_cpuid,
	[EXIT_REASON_GETSEC] = vmx_exit_ud,
	[EXIT_REASON_HLT] = vmx_exit_hlt,
	[EXIT_REASON_INVD] = vmx_exit_skip,
	[EXIT_REASON_VMCALL] = vmx_exit_ud,
	[EXIT_REASON_CR_ACCESS] = vmx_exit_cr,
	[EXIT_REASON_INOUT] = vmx_exit_inout,
	[EXIT_REASON_RDMSR] = vmx_exit_rdmsr,
	[EXIT_REASON_WRMSR] = vmx_exit_wrmsr,
	[EXIT_REASON_MWAIT] = vmx_exit_ud,
	[EXIT_REASON_MONITOR] = vmx_exit_ud,
	[EXIT_REASON_EPT_FAULT] = vmx_exit_ept,
	[EXIT_REASON_VMX_PREEMPT] = vmx_exit_resume,
	[EXIT_REASON_WBINVD] = vmx_exit_skip,
	[EXIT_REASON_XSETBV] = vmx_exit_ud,
};

static void
vmx_read_exit(struct vmx_vcpu *vcpu, struct vmx_exit *ex)
{
	*ex = (struct vmx_exit){
		.reason = (uint32_t)vmx_vmread(vcpu, VMCS_EXIT_REASON),
		.qual = vmx_vmread(vcpu, VMCS_EXIT_QUALIFICATION),
		.rip = vmx_vmread(vcpu, VMCS_GUEST_RIP),
		.inst_len = (uint32_t)vmx_vmread(vcpu,
		    VMCS_EXIT_INSTRUCTION_LENGTH),
		.inst_info = (uint32_t)vmx_vmread(vcpu,
		    VMCS_EXIT_INSTRUCTION_INFO),
		.gla = vmx_vmread(vcpu, VMCS_GUEST_LINEAR_ADDRESS),
		.gpa = vmx_vmread(vcpu, VMCS_GUEST_PHYSICAL_ADDRESS),
		.intr_info = (uint32_t)vmx_vmread(vcpu, VMCS_EXIT_INTR_INFO),
		.intr_error = (uint32_t)vmx_vmread(vcpu,
		    VMCS_EXIT_INTR_ERRCODE),
	};
}

/* An event cut short by the exit is delivered again (27.2.4). */
static void
vmx_save_idt_vectoring(struct vmx_vcpu *vcpu, const struct vmx_exit *ex)
{
	uint32_t info = (uint32_t)vmx_vmread(vcpu, VMCS_IDT_VECTORING_INFO);

	if (!(info & VMCS_INTR_VALID))
		return;
	vcpu->reinject = (struct vmx_reinject){ .valid = true,
		.info = info & ~(uint32_t)VMCS_INTR_NMI_UNBLOCK_IRET,
		.error = (uint32_t)vmx_vmread(vcpu, VMCS_IDT_VECTORING_ERROR),
		.inst_len = ex->inst_len };
}

enum vmx_exit_action
vmx_handle_exit(struct vmx_vcpu *vcpu, struct vm_exit *vme)
{
	struct vmx_exit ex;
	uint32_t basic;
	vmx_exit_fn *fn = NULL;
	enum vmx_exit_action a;

	vmx_read_exit(vcpu, &ex);
	basic = VMCS_EXIT_REASON_BASIC(ex.reason);
	memset(vme, 0, sizeof(*vme));
	vme->rip = ex.rip;
	vme->inst_length = ex.inst_len;
	/* The completed MMIO instruction ran, unless a kick came first. */
	if (basic != EXIT_REASON_EXT_INTR)
		vcpu->mmio.replay = false;
	vmx_save_idt_vectoring(vcpu, &ex);
	if (!(ex.reason & VMCS_EXIT_REASON_ENTRY_FAIL) &&
	    basic < EXIT_REASON_MAX)
		fn = vmx_exit_handlers[basic];
	a = fn != NULL ? fn(vcpu, &ex, vme) : vmx_exit_internal(vcpu, &ex, vme);
	vcpu->pending_len = ex.inst_len;
	return a;
}

/* The device model's answer to an MMIO piece; true: 'vme' is the next. */
static bool
vmx_mmio_complete(struct vmx_vcpu *vcpu, struct vm_exit *vme)
{
	struct vmx_mmio *m = &vcpu->mmio;

	if (!m->active)
		return false;
	if (!m->write)
		memcpy(m->data + m->done, &vme->u.mmio.data, m->piece);
	m->done += m->piece;
	if (m->done < m->size) {
		vmx_mmio_piece(vcpu, vme);
		return true;
	}
	m->active = false;
	m->replay = vtx_mmio_complete(vcpu->vtx, m->data, m->size) == 0;
	return false;
}

static void
vmx_msr_complete(struct vmx_vcpu *vcpu, const struct vm_exit *vme,
    bool rd)
{
	if (vme->u.msr.error) {
		(void)vmx_inject_exception(vcpu, IDT_GP, true, 0);
		return;
	}
	if (rd) {
		vcpu->regs.gpr[VTX_RAX] = (uint32_t)vme->u.msr.val;
		vcpu->regs.gpr[VTX_RDX] = vme->u.msr.val >> 32;
	}
	vmx_skip_instruction(vcpu, vcpu->pending_len);
}

static void
vmx_in_complete(struct vmx_vcpu *vcpu, const struct vm_inout *io)
{
	uint64_t *rax = &vcpu->regs.gpr[VTX_RAX];

	if (io->bytes == 4)
		*rax = io->eax;		/* 32-bit results zero-extend */
	else if (io->bytes == 2)
		*rax = (*rax & ~0xffffULL) | (io->eax & 0xffff);
	else
		*rax = (*rax & ~0xffULL) | (io->eax & 0xff);
}

/*
 * Finish the instruction of the last exit with the answer in 'vme'.
 * Returns true when 'vme' already holds the next exit (an MMIO piece).
 */
bool
vmx_complete_exit(struct vmx_vcpu *vcpu, struct vm_exit *vme)
{
	uint32_t pending = vcpu->pending;

	vcpu->pending = VM_EXITCODE_BOGUS;
	switch (pending) {
	case VM_EXITCODE_INOUT:
		if (vme->u.inout.in)
			vmx_in_complete(vcpu, &vme->u.inout);
		vmx_skip_instruction(vcpu, vcpu->pending_len);
		break;
	case VM_EXITCODE_INOUT_STR:
		vmx_iostr_complete(vcpu);
		break;
	case VM_EXITCODE_MMIO:
		if (vmx_mmio_complete(vcpu, vme)) {
			vcpu->pending = VM_EXITCODE_MMIO;
			return true;
		}
		break;
	case VM_EXITCODE_RDMSR:
	case VM_EXITCODE_WRMSR:
		vmx_msr_complete(vcpu, vme, pending == VM_EXITCODE_RDMSR);
		break;
	}
	return false;
}
