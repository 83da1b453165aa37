/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vtx backend: the vmm's VMX driver over the software VT-x model, as
 * bhyve's sys/amd64/vmm/intel/vmx.c is over silicon.  Per VM: the EPT
 * tables and the MSR bitmap.  Per vCPU: a logical processor with its
 * VMCS, programmed once (controls as bhyve's vmx_vcpu_init chooses them:
 * external-interrupt and NMI exiting with virtual NMIs, HLT, MWAIT and
 * MONITOR, CR8 load/store exiting, unconditional I/O exiting, MSR bitmaps,
 * TSC offsetting, EPT, unrestricted guest, VPID, RDTSCP and INVPCID; #MC
 * in the exception bitmap; the CR0/CR4 bits VMX fixes owned by the host),
 * then entered with VMLAUNCH/VMRESUME until an exit the vmm must see.
 *
 * Before each entry the driver re-delivers an event the last exit cut
 * short (IDT-vectoring information), injects a pending NMI if nothing
 * blocks it (else NMI-window exiting) and keeps the interrupt-window
 * control as the vmm asked.  The vmm injects external interrupts through
 * inject_intr (the VM-entry interruption-information field).
 *
 * An MMIO read completes by re-executing the instruction with the value
 * (vtx_mmio_complete()); no event may be delivered before that, so while
 * it is due the guest is not ready for interrupts, and if the vmm wants
 * a window the driver steps that one instruction with the VMX-preemption
 * timer first (windows would open before it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "vmx.h"

#define CR0_PE 0x1ULL
#define CR0_CD 0x40000000ULL
#define CR0_NW 0x20000000ULL
#define CR0_PG 0x80000000ULL
#define RFLAGS_IF 0x200ULL
#define IDT_MC 18

#define PIN_ONES (PINBASED_EXTINT_EXITING | PINBASED_NMI_EXITING |	\
    PINBASED_VIRTUAL_NMI)
#define PROC_ONES (PROCBASED_SECONDARY_CONTROLS | PROCBASED_MWAIT_EXITING | \
    PROCBASED_MONITOR_EXITING | PROCBASED_IO_EXITING |		\
    PROCBASED_MSR_BITMAPS | PROCBASED_CR8_LOAD_EXITING |		\
    PROCBASED_CR8_STORE_EXITING | PROCBASED_HLT_EXITING |		\
    PROCBASED_TSC_OFFSET)
#define PROC_ZEROS (PROCBASED_CR3_LOAD_EXITING |			\
    PROCBASED_CR3_STORE_EXITING | PROCBASED_IO_BITMAPS |		\
    PROCBASED_INT_WINDOW_EXITING | PROCBASED_NMI_WINDOW_EXITING)
#define PROC2_ONES (PROCBASED2_ENABLE_EPT | PROCBASED2_UNRESTRICTED_GUEST | \
    PROCBASED2_ENABLE_RDTSCP | PROCBASED2_ENABLE_INVPCID |		\
    PROCBASED2_ENABLE_VPID)
#define EXIT_ONES (VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_HOST_LMA |	\
    VM_EXIT_SAVE_EFER | VM_EXIT_LOAD_EFER | VM_EXIT_ACKNOWLEDGE_INTERRUPT | \
    VM_EXIT_SAVE_PAT | VM_EXIT_LOAD_PAT)
#define ENTRY_ONES (VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_LOAD_EFER |	\
    VM_ENTRY_LOAD_PAT)
#define ENTRY_ZEROS (VM_ENTRY_INTO_SMM | VM_ENTRY_DEACTIVATE_DUAL_MONITOR | \
    VM_ENTRY_GUEST_LMA)
#define WINDOWS (PROCBASED_INT_WINDOW_EXITING | PROCBASED_NMI_WINDOW_EXITING)
#define HWINTR_BLOCKING (VMCS_INTERRUPTIBILITY_STI_BLOCKING |		\
    VMCS_INTERRUPTIBILITY_MOVSS_BLOCKING)
#define NMI_BLOCKING (VMCS_INTERRUPTIBILITY_MOVSS_BLOCKING |		\
    VMCS_INTERRUPTIBILITY_NMI_BLOCKING)

/* ---- the host TSC rate, measured once per process ---- */

static pthread_once_t vmx_tsc_once = PTHREAD_ONCE_INIT;
static uint64_t vmx_tsc_hz;

static uint64_t
vmx_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ULL + (uint64_t)t->tv_nsec;
}

static void
vmx_tsc_calibrate(void)
{
	struct timespec t0, t1, req = { .tv_nsec = 10 * 1000 * 1000 };
	uint64_t c0, c1, ns;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c0 = __rdtsc();
	while (nanosleep(&req, &req) != 0 && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c1 = __rdtsc();
	ns = vmx_ns(&t1) - vmx_ns(&t0);
	if (ns != 0)
		vmx_tsc_hz = (uint64_t)((unsigned __int128)(c1 - c0) *
		    1000000000ULL / ns);
}

uint64_t
vmx_host_tsc_hz(void)
{
	pthread_once(&vmx_tsc_once, vmx_tsc_calibrate);
	return vmx_tsc_hz;
}

/* ---- the VM ---- */

/* bhyve's cr0/cr4 ones and zeros masks, from the fixed-bit MSRs. */
static void
vmx_fixed_bits(struct vmx_vm *vmx)
{
	uint64_t f0 = vtx_cap_msr(MSR_VMX_CR0_FIXED0);
	uint64_t f1 = vtx_cap_msr(MSR_VMX_CR0_FIXED1);

	vmx->cr0_ones = (f0 & f1) & ~(CR0_PE | CR0_PG); /* unrestricted */
	vmx->cr0_zeros = (~f0 & ~f1) | CR0_NW | CR0_CD;
	f0 = vtx_cap_msr(MSR_VMX_CR4_FIXED0);
	f1 = vtx_cap_msr(MSR_VMX_CR4_FIXED1);
	vmx->cr4_ones = f0 & f1;
	vmx->cr4_zeros = ~f0 & ~f1;
}

static void
vmx_vm_cleanup(void *bvm)
{
	struct vmx_vm *vmx = bvm;

	if (vmx == NULL)
		return;
	vmx_ept_cleanup(vmx);
	free(vmx->msr_bitmap);
	free(vmx);
}

static int
vmx_vm_init(struct vm *vm, void **bvm)
{
	struct vmx_vm *vmx = calloc(1, sizeof(*vmx));
	int error;

	if (vmx == NULL)
		return -ENOMEM;
	vmx->vm = vm;
	error = vmx_ept_init(vmx);
	if (error == 0)
		error = vmx_msr_bitmap_init(vmx);
	if (error) {
		vmx_vm_cleanup(vmx);
		return error;
	}
	vmx_fixed_bits(vmx);
	/* Every vCPU's TSC starts at 0 together. */
	vmx->tsc_offset = -__rdtsc();
	*bvm = vmx;
	return 0;
}

static int
vmx_mem_map(void *bvm, int slot, uint64_t gpa, size_t len, void *hva)
{
	(void)slot;
	return vmx_ept_map(bvm, gpa, len, hva, EPT_RWX);
}

static int
vmx_cpuid_supported_op(void *bvm, struct vmm_cpuid_entry *ents, int max,
    int *n)
{
	(void)bvm;
	return vmx_cpuid_supported(ents, max, n);
}

/* ---- a vCPU ---- */

/*
 * A control value with 'ones' set and 'zeros' clear, if the processor
 * allows both (bhyve's vmx_set_ctlreg; the TRUE MSRs).
 */
static int
vmx_ctls(uint32_t msr, uint32_t ones, uint32_t zeros, uint64_t *val)
{
	uint64_t cap = vtx_cap_msr(msr);
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);

	if ((ones & ~may1) || (zeros & must1))
		return -ENOTSUP;
	*val = must1 | ones;
	return 0;
}

static int
vmx_vmcs_controls(struct vmx_vcpu *vcpu)
{
	uint64_t pin, proc, proc2, exit, entry;

	if (vmx_ctls(MSR_VMX_TRUE_PINBASED_CTLS, PIN_ONES, 0, &pin) ||
	    vmx_ctls(MSR_VMX_TRUE_PROCBASED_CTLS, PROC_ONES, PROC_ZEROS,
	    &proc) ||
	    vmx_ctls(MSR_VMX_PROCBASED_CTLS2, PROC2_ONES, 0, &proc2) ||
	    vmx_ctls(MSR_VMX_TRUE_EXIT_CTLS, EXIT_ONES, 0, &exit) ||
	    vmx_ctls(MSR_VMX_TRUE_ENTRY_CTLS, ENTRY_ONES, ENTRY_ZEROS, &entry))
		return -ENOTSUP;
	vmx_vmwrite(vcpu, VMCS_PIN_BASED_CTLS, pin);
	vmx_vmwrite(vcpu, VMCS_PRI_PROC_BASED_CTLS, proc);
	vmx_vmwrite(vcpu, VMCS_SEC_PROC_BASED_CTLS, proc2);
	vmx_vmwrite(vcpu, VMCS_EXIT_CTLS, exit);
	vmx_vmwrite(vcpu, VMCS_ENTRY_CTLS, entry);
	vcpu->proc_ctls = (uint32_t)proc;
	return 0;
}

static int
vmx_vmcs_init(struct vmx_vcpu *vcpu)
{
	struct vmx_vm *vmx = vcpu->vmx;
	int error = vmx_vmcs_controls(vcpu);

	if (error)
		return error;
	vmx_vmwrite(vcpu, VMCS_EPTP, vmx->eptp);
	vmx_vmwrite(vcpu, VMCS_MSR_BITMAP, (uintptr_t)vmx->msr_bitmap);
	vmx_vmwrite(vcpu, VMCS_VPID, (uint64_t)vcpu->id + 1);
	vmx_vmwrite(vcpu, VMCS_EXCEPTION_BITMAP, 1u << IDT_MC);
	vmx_vmwrite(vcpu, VMCS_TSC_OFFSET, vmx->tsc_offset);
	vmx_vmwrite(vcpu, VMCS_CR0_MASK, vmx->cr0_ones | vmx->cr0_zeros);
	vmx_vmwrite(vcpu, VMCS_CR4_MASK, vmx->cr4_ones | vmx->cr4_zeros);
	vmx_vmwrite(vcpu, VMCS_LINK_POINTER, ~0ULL);
	return 0;
}

/* The state after RESET (SDM vol. 3A, 9.1.1, table 9-1). */
static void
vmx_vcpu_reset(struct vmx_vcpu *vcpu)
{
	const struct seg_desc data = { .limit = 0xffff, .access = 0x93 };
	const struct seg_desc code = { .base = 0xffff0000, .limit = 0xffff,
		.access = 0x9b };
	const struct seg_desc ldtr = { .limit = 0xffff, .access = 0x82 };
	const struct seg_desc tr = { .limit = 0xffff, .access = 0x8b };
	const struct seg_desc table = { .limit = 0xffff };

	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GS; r++) {
		(void)vmx_setdesc(vcpu, r, r == VM_REG_GUEST_CS ? &code :
		    &data);
		(void)vmx_setreg(vcpu, r, r == VM_REG_GUEST_CS ? 0xf000 : 0);
	}
	(void)vmx_setdesc(vcpu, VM_REG_GUEST_LDTR, &ldtr);
	(void)vmx_setdesc(vcpu, VM_REG_GUEST_TR, &tr);
	(void)vmx_setdesc(vcpu, VM_REG_GUEST_GDTR, &table);
	(void)vmx_setdesc(vcpu, VM_REG_GUEST_IDTR, &table);
	memset(&vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs.gpr[VTX_RDX] = 0x600;
	vcpu->regs.dr6 = 0xffff0ff0;
	(void)vmx_setreg(vcpu, VM_REG_GUEST_RIP, 0xfff0);
	(void)vmx_setreg(vcpu, VM_REG_GUEST_RFLAGS, 0x2);
	(void)vmx_setreg(vcpu, VM_REG_GUEST_EFER, 0);
	(void)vmx_setreg(vcpu, VM_REG_GUEST_DR7, 0x400);
	(void)vmx_write_cr0(vcpu, 0x60000010);
	(void)vmx_write_cr4(vcpu, 0);
	vmx_vmwrite(vcpu, VMCS_GUEST_IA32_PAT, 0x0007040600070406ULL);
}

static void
vmx_vcpu_cleanup(void *bvcpu)
{
	struct vmx_vcpu *vcpu = bvcpu;

	if (vcpu == NULL)
		return;
	vtx_destroy(vcpu->vtx);
	free(vcpu->cpuid);
	free(vcpu);
}

static int
vmx_vcpu_init(void *bvm, struct vm_vcpu *vcpu1, int id, void **bvcpu)
{
	struct vmx_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int error;

	if (vcpu == NULL)
		return -ENOMEM;
	vcpu->vmx = bvm;
	vcpu->vcpu = vcpu1;
	vcpu->id = id;
	vcpu->vtx = vtx_create();
	if (vcpu->vtx == NULL) {
		vmx_vcpu_cleanup(vcpu);
		return -ENOMEM;
	}
	(void)vtx_vmclear(vcpu->vtx);
	error = vmx_vmcs_init(vcpu);
	if (error) {
		vmx_vcpu_cleanup(vcpu);
		return error;
	}
	vmx_vcpu_reset(vcpu);
	*bvcpu = vcpu;
	return 0;
}

static int
vmx_vcpu_set_cpuid(void *bvcpu, const struct vmm_cpuid_entry *ents, int n)
{
	struct vmx_vcpu *vcpu = bvcpu;
	struct vmm_cpuid_entry *copy = calloc((size_t)(n > 0 ? n : 1),
	    sizeof(*copy));

	if (copy == NULL)
		return -ENOMEM;
	if (n > 0)
		memcpy(copy, ents, (size_t)n * sizeof(*copy));
	free(vcpu->cpuid);
	vcpu->cpuid = copy;
	vcpu->ncpuid = n;
	return 0;
}

/* ---- helpers for the exit handlers ---- */

/* Past the instruction: its STI/MOV SS blocking ends with it. */
void
vmx_skip_instruction(struct vmx_vcpu *vcpu, uint32_t len)
{
	uint64_t gi = vmx_vmread(vcpu, VMCS_GUEST_INTERRUPTIBILITY);

	vmx_vmwrite(vcpu, VMCS_GUEST_RIP,
	    vmx_vmread(vcpu, VMCS_GUEST_RIP) + len);
	if (gi & HWINTR_BLOCKING)
		vmx_vmwrite(vcpu, VMCS_GUEST_INTERRUPTIBILITY,
		    gi & ~(uint64_t)HWINTR_BLOCKING);
}

int
vmx_inject_exception(struct vmx_vcpu *vcpu, int vector, bool has_error,
    uint32_t error)
{
	uint32_t info = VMCS_INTR_VALID | VMCS_INTR_T_HWEXCEPTION |
	    (uint32_t)vector;

	if (vmx_vmread(vcpu, VMCS_ENTRY_INTR_INFO) & VMCS_INTR_VALID)
		return -EBUSY;
	/* Real mode pushes no error code (26.2.1.3, unrestricted guest). */
	if (has_error && (vmx_vmread(vcpu, VMCS_GUEST_CR0) & CR0_PE)) {
		info |= VMCS_INTR_DEL_ERRCODE;
		vmx_vmwrite(vcpu, VMCS_ENTRY_EXCEPTION_ERROR, error);
	}
	vmx_vmwrite(vcpu, VMCS_ENTRY_INTR_INFO, info);
	return 0;
}

void
vmx_set_proc_ctl(struct vmx_vcpu *vcpu, uint32_t bit, bool on)
{
	if (on)
		vcpu->proc_ctls |= bit;
	else
		vcpu->proc_ctls &= ~bit;
}

/* ---- entry ---- */

static void
vmx_inject_nmi_now(struct vmx_vcpu *vcpu)
{
	uint64_t gi = vmx_vmread(vcpu, VMCS_GUEST_INTERRUPTIBILITY);

	if (vcpu->nmi_pending == 0 || vcpu->mmio.replay ||
	    (vmx_vmread(vcpu, VMCS_ENTRY_INTR_INFO) & VMCS_INTR_VALID) ||
	    (gi & (HWINTR_BLOCKING | NMI_BLOCKING)))
		return;
	vmx_vmwrite(vcpu, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_NMI | 2);
	vcpu->nmi_pending--;
}

static void
vmx_prepare_entry(struct vmx_vcpu *vcpu)
{
	struct vmx_reinject *ri = &vcpu->reinject;
	uint32_t proc = vcpu->proc_ctls, pin;
	bool step;

	if (ri->valid && !(vmx_vmread(vcpu, VMCS_ENTRY_INTR_INFO) &
	    VMCS_INTR_VALID)) {
		vmx_vmwrite(vcpu, VMCS_ENTRY_EXCEPTION_ERROR, ri->error);
		vmx_vmwrite(vcpu, VMCS_ENTRY_INST_LENGTH, ri->inst_len);
		vmx_vmwrite(vcpu, VMCS_ENTRY_INTR_INFO, ri->info);
		ri->valid = false;
	}
	vmx_inject_nmi_now(vcpu);
	if (vcpu->nmi_pending > 0)
		proc |= PROCBASED_NMI_WINDOW_EXITING;
	step = vcpu->mmio.replay && (proc & WINDOWS);
	if (step)
		proc &= ~WINDOWS;
	if (vmx_vmread(vcpu, VMCS_PRI_PROC_BASED_CTLS) != proc)
		vmx_vmwrite(vcpu, VMCS_PRI_PROC_BASED_CTLS, proc);
	pin = (uint32_t)vmx_vmread(vcpu, VMCS_PIN_BASED_CTLS);
	if (step != ((pin & PINBASED_PREEMPTION_TIMER) != 0)) {
		pin ^= PINBASED_PREEMPTION_TIMER;
		vmx_vmwrite(vcpu, VMCS_PIN_BASED_CTLS, pin);
	}
	if (step)
		vmx_vmwrite(vcpu, VMCS_PREEMPTION_TIMER_VALUE, 1);
}

static void
vmx_vmfail(struct vmx_vcpu *vcpu, int status, struct vm_exit *vme)
{
	memset(vme, 0, sizeof(*vme));
	vme->exitcode = VM_EXITCODE_INTERNAL_ERROR;
	vme->rip = vmx_vmread(vcpu, VMCS_GUEST_RIP);
	vme->u.internal.suberror = (uint32_t)status;
	vme->u.internal.backend_reason = 0xffffffffu;
	vme->u.internal.data[0] = vmx_vmread(vcpu, VMCS_INSTRUCTION_ERROR);
}

static int
vmx_run(void *bvcpu, struct vm_exit *vme)
{
	struct vmx_vcpu *vcpu = bvcpu;
	int status;

	if (vmx_complete_exit(vcpu, vme))
		return 0;
	for (;;) {
		vmx_prepare_entry(vcpu);
		status = vcpu->launched ?
		    vtx_vmresume(vcpu->vtx, &vcpu->regs) :
		    vtx_vmlaunch(vcpu->vtx, &vcpu->regs);
		if (status != VTX_SUCCEED) {
			vmx_vmfail(vcpu, status, vme);
			break;
		}
		vcpu->launched = true;
		if (vmx_handle_exit(vcpu, vme) == VMX_RETURN)
			break;
	}
	vcpu->pending = vme->exitcode;
	return 0;
}

static void
vmx_kick(void *bvcpu)
{
	vtx_kick(((struct vmx_vcpu *)bvcpu)->vtx);
}

/* ---- injection, as the vmm decides it ---- */

static bool
vmx_intr_ready(void *bvcpu)
{
	struct vmx_vcpu *vcpu = bvcpu;
	uint64_t gi = vmx_vmread(vcpu, VMCS_GUEST_INTERRUPTIBILITY);

	if (vcpu->pending == VM_EXITCODE_MMIO || vcpu->mmio.replay ||
	    vcpu->reinject.valid ||
	    (vmx_vmread(vcpu, VMCS_ENTRY_INTR_INFO) & VMCS_INTR_VALID))
		return false;
	return (vmx_vmread(vcpu, VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	    !(gi & HWINTR_BLOCKING);
}

static int
vmx_inject_intr(void *bvcpu, int vector)
{
	struct vmx_vcpu *vcpu = bvcpu;

	if (vector < 0 || vector > 255)
		return -EINVAL;
	if (vmx_vmread(vcpu, VMCS_ENTRY_INTR_INFO) & VMCS_INTR_VALID)
		return -EBUSY;
	vmx_vmwrite(vcpu, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_HWINTR | (uint32_t)vector);
	return 0;
}

static void
vmx_request_intr_window(void *bvcpu, bool on)
{
	vmx_set_proc_ctl(bvcpu, PROCBASED_INT_WINDOW_EXITING, on);
}

/* Queued: injected at the next entry nothing blocks (NMI window). */
static int
vmx_inject_nmi(void *bvcpu)
{
	struct vmx_vcpu *vcpu = bvcpu;

	vcpu->nmi_pending++;
	vmx_inject_nmi_now(vcpu);
	return 0;
}

static uint8_t
vmx_get_cr8(void *bvcpu)
{
	return ((struct vmx_vcpu *)bvcpu)->cr8;
}

static void
vmx_set_cr8(void *bvcpu, uint8_t cr8)
{
	((struct vmx_vcpu *)bvcpu)->cr8 = cr8 & 0xf;
}

static uint64_t
vmx_guest_tsc(void *bvcpu)
{
	return __rdtsc() + vmx_vmread(bvcpu, VMCS_TSC_OFFSET);
}

static uint64_t
vmx_tsc_hz_op(void *bvcpu)
{
	(void)bvcpu;
	return vmx_host_tsc_hz();
}

/*
 * No ioeventfds: an exit here is a function return to the vmm, which is
 * what an ioeventfd would save.  The doorbell write exits as usual.
 */
static int
vmx_ioeventfd(void *bvm, uint64_t addr, int len, bool pio, bool datamatch,
    uint64_t data, int fd, bool assign)
{
	return -ENOTSUP;
}

const struct vmm_ops vmm_ops_vtx = {
	.name = "vtx",
	.vm_init = vmx_vm_init,
	.vm_cleanup = vmx_vm_cleanup,
	.mem_map = vmx_mem_map,
	.cpuid_supported = vmx_cpuid_supported_op,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_cleanup = vmx_vcpu_cleanup,
	.vcpu_set_cpuid = vmx_vcpu_set_cpuid,
	.run = vmx_run,
	.kick = vmx_kick,
	.intr_ready = vmx_intr_ready,
	.inject_intr = vmx_inject_intr,
	.request_intr_window = vmx_request_intr_window,
	.inject_nmi = vmx_inject_nmi,
	.get_cr8 = vmx_get_cr8,
	.set_cr8 = vmx_set_cr8,
	.guest_tsc = vmx_guest_tsc,
	.tsc_hz = vmx_tsc_hz_op,
	.getreg = vmx_getreg,
	.setreg = vmx_setreg,
	.getdesc = vmx_getdesc,
	.setdesc = vmx_setdesc,
	.ioeventfd = vmx_ioeventfd,
};
