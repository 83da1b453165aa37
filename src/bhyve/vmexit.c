/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The exit-handler table, indexed by exit code (bhyve's vmexit_handlers):
 * the vCPU loop stays a three-line loop, and an exit code nobody handles
 * is an error, not a silent re-entry.
 */
#include <inttypes.h>
#include <stdio.h>

#include "vmexit.h"

typedef enum vmexit_action vmexit_handler_t(struct bhyve_vm *bvm,
    struct vcpu *vcpu, struct vm_exit *vme);

static enum vmexit_action
vmexit_bogus(struct bhyve_vm *bvm, struct vcpu *vcpu, struct vm_exit *vme)
{
	return VMEXIT_CONTINUE;
}

/*
 * MSRs neither the backend nor the vmm implement: #GP, as hardware does
 * for an MSR it lacks, unless x86.strictmsr=false (-w) asks to read zero
 * and ignore writes.
 */
static enum vmexit_action
vmexit_msr(struct bhyve_vm *bvm, struct vcpu *vcpu, struct vm_exit *vme)
{
	bool strict = bvm->strictmsr;
	bool rd = vme->exitcode == VM_EXITCODE_RDMSR;

	if (bvm->verbosemsr)
		fprintf(stderr, "bhyve: vcpu %d: %s of unknown msr 0x%x%s\n",
		    vcpu_id(vcpu), rd ? "rdmsr" : "wrmsr", vme->u.msr.code,
		    strict ? ": #GP" : "");
	vme->u.msr.error = strict;
	if (rd)
		vme->u.msr.val = 0;
	return VMEXIT_CONTINUE;
}

/* The guest started an AP: give it a thread (its registers are set). */
static enum vmexit_action
vmexit_spinup_ap(struct bhyve_vm *bvm, struct vcpu *vcpu, struct vm_exit *vme)
{
	int ap = vme->u.spinup_ap.vcpu;

	if (ap <= 0 || ap >= bvm->ncpus || bhyve_start_vcpu(bvm, ap) != 0) {
		fprintf(stderr, "bhyve: vcpu %d: cannot start vcpu %d%s%s\n",
		    vcpu_id(vcpu), ap, bvm->err[0] ? ": " : "", bvm->err);
		return VMEXIT_ABORT;
	}
	return VMEXIT_CONTINUE;
}

static enum vmexit_action
vmexit_suspended(struct bhyve_vm *bvm, struct vcpu *vcpu,
    struct vm_exit *vme)
{
	static const int status[VM_SUSPEND_LAST] = {
		[VM_SUSPEND_RESET] = BHYVE_EXIT_RESET,
		[VM_SUSPEND_POWEROFF] = BHYVE_EXIT_POWEROFF,
		[VM_SUSPEND_HALT] = BHYVE_EXIT_HALT,
		[VM_SUSPEND_TRIPLEFAULT] = BHYVE_EXIT_TRIPLEFAULT,
	};
	uint32_t how = vme->u.suspended.how;

	if (how == VM_SUSPEND_TRIPLEFAULT)
		fprintf(stderr, "bhyve: vcpu %d: triple fault at rip 0x%" PRIx64
		    "\n", vcpu_id(vcpu), vme->rip);
	bhyve_request_exit(bvm, how > VM_SUSPEND_NONE && how < VM_SUSPEND_LAST
	    ? status[how] : BHYVE_EXIT_ERROR);
	return VMEXIT_STOP;
}

static enum vmexit_action
vmexit_internal_error(struct bhyve_vm *bvm, struct vcpu *vcpu,
    struct vm_exit *vme)
{
	fprintf(stderr, "bhyve: vcpu %d: %s backend could not run the guest "
	    "at rip 0x%" PRIx64 " (reason %u, suberror %u, data 0x%" PRIx64
	    " 0x%" PRIx64 ")\n", vcpu_id(vcpu), vm_get_backend(bvm->ctx),
	    vme->rip, vme->u.internal.backend_reason, vme->u.internal.suberror,
	    vme->u.internal.data[0], vme->u.internal.data[1]);
	return VMEXIT_ABORT;
}

static vmexit_handler_t *const vmexit_handlers[VM_EXITCODE_MAX] = {
	[VM_EXITCODE_BOGUS] = vmexit_bogus,
	[VM_EXITCODE_INOUT] = emulate_inout,
	[VM_EXITCODE_INOUT_STR] = emulate_inout,
	[VM_EXITCODE_MMIO] = emulate_mmio,
	[VM_EXITCODE_RDMSR] = vmexit_msr,
	[VM_EXITCODE_WRMSR] = vmexit_msr,
	[VM_EXITCODE_SPINUP_AP] = vmexit_spinup_ap,
	[VM_EXITCODE_SUSPENDED] = vmexit_suspended,
	[VM_EXITCODE_INTERNAL_ERROR] = vmexit_internal_error,
};

enum vmexit_action
vmexit_handle(struct bhyve_vm *bvm, struct vcpu *vcpu, struct vm_exit *vme)
{
	vmexit_handler_t *h = vme->exitcode < VM_EXITCODE_MAX
	    ? vmexit_handlers[vme->exitcode] : NULL;

	if (h == NULL) {
		fprintf(stderr, "bhyve: vcpu %d: unhandled exit %s at rip 0x%"
		    PRIx64 "\n", vcpu_id(vcpu), vm_exitcode_name((int)vme->exitcode),
		    vme->rip);
		return VMEXIT_ABORT;
	}
	return h(bvm, vcpu, vme);
}
