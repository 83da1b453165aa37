/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A vCPU's life in the vmm: who owns it (running, frozen for a register
 * access), the run loop and the exits it handles itself, interrupt
 * injection at each entry, HLT, INIT and SIPI.
 *
 * Injection follows bhyve's VMX code: before every entry the vmm picks
 * the event the guest should see next (an NMI, the 8259's ExtINT vector
 * when LINT0 is in ExtINT mode, else the local APIC's highest deliverable
 * vector) and injects it if the guest can take it now, otherwise asks the
 * backend for an interrupt-window exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "io/vatpic.h"
#include "io/vlapic.h"
#include "vmm_core.h"
#include "vmm_internal.h"

#define RFLAGS_IF 0x200

/*
 * Wake a vCPU that sleeps in the vmm and pull a running one out.  A
 * sleeping one only needs the broadcast: a kick would make its next
 * entry return at once for nothing.
 */
static void
vcpu_notify_locked(struct vm_vcpu *vcpu)
{
	vcpu->notified = true;
	if (vcpu->state == VCPU_RUNNING && !vcpu->sleeping)
		vcpu->vm->ops->kick(vcpu->bvcpu);
	pthread_cond_broadcast(&vcpu->cv);
}

/* Something the vCPU must look at arrived: an interrupt, INIT, SIPI. */
void
vcpu_notify_event(struct vm_vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu_notify_locked(vcpu);
	pthread_mutex_unlock(&vcpu->mtx);
}

/*
 * Take the vCPU for a register access: wait until no one else has it,
 * pulling it out of the guest (or out of a HLT sleep) if need be.
 */
void
vcpu_freeze(struct vm_vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->freeze_requests++;
	while (vcpu->state != VCPU_IDLE) {
		if (vcpu->state == VCPU_RUNNING)
			vcpu_notify_locked(vcpu);
		pthread_cond_wait(&vcpu->cv, &vcpu->mtx);
	}
	vcpu->freeze_requests--;
	vcpu->state = VCPU_FROZEN;
	pthread_mutex_unlock(&vcpu->mtx);
}

void
vcpu_thaw(struct vm_vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->state = VCPU_IDLE;
	pthread_cond_broadcast(&vcpu->cv);
	pthread_mutex_unlock(&vcpu->mtx);
}

/* Become RUNNING once no accessor holds or waits for the vCPU. */
static void
vcpu_enter(struct vm_vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	while (vcpu->state != VCPU_IDLE || vcpu->freeze_requests > 0)
		pthread_cond_wait(&vcpu->cv, &vcpu->mtx);
	vcpu->state = VCPU_RUNNING;
	pthread_mutex_unlock(&vcpu->mtx);
}

static void
vcpu_leave(struct vm_vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->state = VCPU_IDLE;
	pthread_cond_broadcast(&vcpu->cv);
	pthread_mutex_unlock(&vcpu->mtx);
}

/*
 * Wake or kick every vCPU.  vCPU objects live until the VM is destroyed,
 * so the list can be copied under vm->lock and used after it.
 */
static void
vm_notify_all(struct vm *vm)
{
	struct vm_vcpu *vcpus[VM_MAXCPU];

	pthread_mutex_lock(&vm->lock);
	memcpy(vcpus, vm->vcpus, sizeof(vcpus));
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vcpus[i] != NULL)
			vcpu_notify_event(vcpus[i]);
}

int
vmm_suspend(struct vm *vm, enum vm_suspend_how how)
{
	int none = VM_SUSPEND_NONE;

	if (how <= VM_SUSPEND_NONE || how >= VM_SUSPEND_LAST)
		return -EINVAL;
	/* The first reason wins, as in bhyve. */
	if (!atomic_compare_exchange_strong(&vm->suspend, &none, (int)how))
		return -EALREADY;
	vm_notify_all(vm);
	return 0;
}

enum vm_suspend_how
vmm_get_suspend(struct vm *vm)
{
	return (enum vm_suspend_how)atomic_load(&vm->suspend);
}

/*
 * Halted bookkeeping for "every vCPU is stuck": a vCPU counts while it
 * sits in HLT with interrupts disabled or waits for a SIPI, and the VM
 * halts when every active vCPU does (bhyve's vm_handle_hlt).
 */
static bool
vm_mark_stuck(struct vm *vm, struct vm_vcpu *vcpu, bool stuck)
{
	bool all;

	pthread_mutex_lock(&vm->lock);
	if (stuck)
		vm->halted_cpus |= 1ULL << vcpu->id;
	else
		vm->halted_cpus &= ~(1ULL << vcpu->id);
	all = stuck && vm->halted_cpus == vm->active_cpus;
	pthread_mutex_unlock(&vm->lock);
	return all;
}

static void
vm_mark_active(struct vm *vm, struct vm_vcpu *vcpu)
{
	pthread_mutex_lock(&vm->lock);
	vm->active_cpus |= 1ULL << vcpu->id;
	pthread_mutex_unlock(&vm->lock);
}

/* Is the vCPU's LINT0 the 8259's INTR line (ExtINT, SDM vol. 3, 11.5.1)? */
static bool
vcpu_extint_pending(struct vm_vcpu *vcpu, int *vector)
{
	int v;

	if (vcpu->id != 0 ||
	    vlapic_lint_mode(vcpu->vlapic, 0, &v) != VLAPIC_LINT_EXTINT)
		return false;
	return vatpic_pending_intr(vcpu->vm->atpic, vector);
}

/* An event that ends HLT: NMI, INIT, SIPI, or an interrupt if IF is set. */
static bool
vcpu_can_wake(struct vm_vcpu *vcpu, bool intr_disabled)
{
	int vector;

	if (atomic_load(&vcpu->nmi_pending) || atomic_load(&vcpu->init_pending))
		return true;
	if (intr_disabled)
		return false;
	return vcpu_extint_pending(vcpu, &vector) ||
	    vlapic_pending_intr(vcpu->vlapic, &vector);
}

/*
 * The guest executed HLT: note it, or end the VM if it can never wake.
 */
static void
vcpu_hlt_begin(struct vm_vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	uint64_t rflags = 0;

	(void)vm->ops->getreg(vcpu->bvcpu, VM_REG_GUEST_RFLAGS, &rflags);
	vcpu->hlt_intr_disabled = (rflags & RFLAGS_IF) == 0;
	vcpu->halted = true;
	if (vcpu->hlt_intr_disabled && !vcpu_can_wake(vcpu, true) &&
	    vm_mark_stuck(vm, vcpu, true))
		vmm_suspend(vm, VM_SUSPEND_HALT);
}

/*
 * Sleep until something might end the wait, then let the caller look.
 * Chips are never called with vcpu->mtx held: a notification sets
 * 'notified' under it, so none is lost between a look and the sleep.
 * Returns true when a register accessor or a suspend is what woke us.
 */
static bool
vcpu_sleep(struct vm_vcpu *vcpu)
{
	bool other;

	pthread_mutex_lock(&vcpu->mtx);
	vcpu->sleeping = true;
	while (!vcpu->notified && vcpu->freeze_requests == 0 &&
	    vmm_get_suspend(vcpu->vm) == VM_SUSPEND_NONE)
		pthread_cond_wait(&vcpu->cv, &vcpu->mtx);
	vcpu->sleeping = false;
	vcpu->notified = false;
	other = vcpu->freeze_requests > 0 ||
	    vmm_get_suspend(vcpu->vm) != VM_SUSPEND_NONE;
	pthread_mutex_unlock(&vcpu->mtx);
	return other;
}

/* true: still halted (woken for an accessor or a suspend, not an event) */
static bool
vcpu_hlt_wait(struct vm_vcpu *vcpu)
{
	vmm_stat_incr(vcpu, VMST_HLT_SLEEPS);
	while (!vcpu_can_wake(vcpu, vcpu->hlt_intr_disabled)) {
		if (vcpu_sleep(vcpu))
			return true;
	}
	vcpu->halted = false;
	vm_mark_stuck(vcpu->vm, vcpu, false);
	return false;
}

/* Real-mode state at a start-up IPI's vector (SDM vol. 3, 9.4.4.1). */
static void
vcpu_sipi_state(struct vm_vcpu *vcpu, int vector)
{
	const struct vmm_ops *ops = vcpu->vm->ops;
	void *b = vcpu->bvcpu;
	struct seg_desc code = { .base = (uint64_t)vector << 12,
		.limit = 0xffff, .access = 0x9b };
	struct seg_desc data = { .limit = 0xffff, .access = 0x93 };
	struct seg_desc table = { .limit = 0xffff };
	struct seg_desc ldtr = { .limit = 0xffff, .access = 0x82 };
	struct seg_desc tr = { .limit = 0xffff, .access = 0x8b };

	for (int r = VM_REG_GUEST_RAX; r <= VM_REG_GUEST_R15; r++)
		(void)ops->setreg(b, r, 0);
	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GS; r++) {
		(void)ops->setdesc(b, r, r == VM_REG_GUEST_CS ? &code : &data);
		(void)ops->setreg(b, r, r == VM_REG_GUEST_CS ? (uint64_t)vector << 8 : 0);
	}
	(void)ops->setdesc(b, VM_REG_GUEST_LDTR, &ldtr);
	(void)ops->setdesc(b, VM_REG_GUEST_TR, &tr);
	(void)ops->setdesc(b, VM_REG_GUEST_GDTR, &table);
	(void)ops->setdesc(b, VM_REG_GUEST_IDTR, &table);
	(void)ops->setreg(b, VM_REG_GUEST_EFER, 0);
	(void)ops->setreg(b, VM_REG_GUEST_CR4, 0);
	(void)ops->setreg(b, VM_REG_GUEST_CR3, 0);
	(void)ops->setreg(b, VM_REG_GUEST_CR0, 0x60000010); /* CD, NW, ET */
	(void)ops->setreg(b, VM_REG_GUEST_RFLAGS, 0x2);
	(void)ops->setreg(b, VM_REG_GUEST_RIP, 0);
	(void)ops->setreg(b, VM_REG_GUEST_DR7, 0x400);
}

/*
 * INIT and SIPI, on the vCPU's own thread.  Returns true while the vCPU
 * must not run (it waits for a SIPI).
 */
static void
vcpu_set_boot_state(struct vm_vcpu *vcpu, enum vcpu_boot_state bs)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->boot_state = bs;
	pthread_mutex_unlock(&vcpu->mtx);
}

static bool
vcpu_waits_for_sipi(struct vm_vcpu *vcpu)
{
	bool waiting;

	pthread_mutex_lock(&vcpu->mtx);
	waiting = vcpu->boot_state == VCPU_BOOT_WAIT_SIPI;
	pthread_mutex_unlock(&vcpu->mtx);
	return waiting;
}

static bool
vcpu_boot_protocol(struct vm_vcpu *vcpu)
{
	int vector;

	if (atomic_exchange(&vcpu->init_pending, false)) {
		vlapic_reset(vcpu->vlapic);
		atomic_store(&vcpu->nmi_pending, 0);
		vcpu->halted = false;
		vcpu_set_boot_state(vcpu, VCPU_BOOT_WAIT_SIPI);
	}
	if (!vcpu_waits_for_sipi(vcpu))
		return false;
	vector = atomic_exchange(&vcpu->sipi_vector, -1);
	if (vector < 0) {
		if (vm_mark_stuck(vcpu->vm, vcpu, true))
			vmm_suspend(vcpu->vm, VM_SUSPEND_HALT);
		return true;
	}
	vcpu_sipi_state(vcpu, vector);
	vcpu_set_boot_state(vcpu, VCPU_BOOT_RUNNING);
	vm_mark_active(vcpu->vm, vcpu);
	vm_mark_stuck(vcpu->vm, vcpu, false);
	return false;
}

/* TPR lives in the vlapic; the backend keeps CR8, its top four bits. */
static void
vcpu_sync_tpr_in(struct vm_vcpu *vcpu)
{
	uint8_t cr8 = vcpu->vm->ops->get_cr8(vcpu->bvcpu);

	if (cr8 != vcpu->tpr_shadow >> 4) {
		vlapic_set_tpr(vcpu->vlapic, (uint8_t)(cr8 << 4));
		vcpu->tpr_shadow = (uint8_t)(cr8 << 4);
	}
}

static void
vcpu_sync_tpr_out(struct vm_vcpu *vcpu)
{
	uint8_t tpr = vlapic_get_tpr(vcpu->vlapic);

	if (tpr != vcpu->tpr_shadow) {
		vcpu->vm->ops->set_cr8(vcpu->bvcpu, tpr >> 4);
		vcpu->tpr_shadow = tpr;
	}
}

static void
vcpu_inject_events(struct vm_vcpu *vcpu)
{
	const struct vmm_ops *ops = vcpu->vm->ops;
	int vector;
	bool extint = false, pending;

	vcpu_sync_tpr_out(vcpu);
	while (atomic_load(&vcpu->nmi_pending) > 0) {
		atomic_fetch_sub(&vcpu->nmi_pending, 1);
		(void)ops->inject_nmi(vcpu->bvcpu);
	}
	pending = vcpu_extint_pending(vcpu, &vector);
	if (pending)
		extint = true;
	else
		pending = vlapic_pending_intr(vcpu->vlapic, &vector);
	if (pending && ops->intr_ready(vcpu->bvcpu) &&
	    ops->inject_intr(vcpu->bvcpu, vector) == 0) {
		if (extint)
			vatpic_intr_accepted(vcpu->vm->atpic, vector);
		else
			vlapic_intr_accepted(vcpu->vlapic, vector);
		/* Another one waiting: come back as soon as it can go in. */
		pending = vcpu_extint_pending(vcpu, &vector) ||
		    vlapic_pending_intr(vcpu->vlapic, &vector);
	}
	ops->request_intr_window(vcpu->bvcpu, pending);
}

static void
vmm_count_exit(struct vm_vcpu *vcpu, const struct vm_exit *vme)
{
	static const enum vmm_stat by_code[VM_EXITCODE_MAX] = {
		[VM_EXITCODE_BOGUS] = VMST_EXIT_KICKED,
		[VM_EXITCODE_INOUT] = VMST_EXIT_INOUT,
		[VM_EXITCODE_INOUT_STR] = VMST_EXIT_INOUT_STR,
		[VM_EXITCODE_MMIO] = VMST_EXIT_MMIO,
		[VM_EXITCODE_RDMSR] = VMST_EXIT_RDMSR,
		[VM_EXITCODE_WRMSR] = VMST_EXIT_WRMSR,
		[VM_EXITCODE_HLT] = VMST_EXIT_HLT,
		[VM_EXITCODE_SUSPENDED] = VMST_EXIT_SHUTDOWN,
	};
	enum vmm_stat s = VMST_EXIT_OTHER;

	if (vme->exitcode < VM_EXITCODE_MAX && by_code[vme->exitcode] != 0)
		s = by_code[vme->exitcode];
	vmm_stat_incr(vcpu, VMST_EXITS);
	vmm_stat_incr(vcpu, s);
}

/* true: the vmm dealt with the exit; run the guest again. */
static bool
vcpu_handle_exit(struct vm_vcpu *vcpu, struct vm_exit *vme)
{
	switch (vme->exitcode) {
	case VM_EXITCODE_BOGUS:
		return true;
	case VM_EXITCODE_INOUT:
	case VM_EXITCODE_INOUT_STR:
		return vmm_platform_inout(vcpu, vme);
	case VM_EXITCODE_MMIO:
		return vmm_platform_mmio(vcpu, vme);
	case VM_EXITCODE_RDMSR:
	case VM_EXITCODE_WRMSR:
		return vmm_platform_msr(vcpu, vme);
	case VM_EXITCODE_HLT:
		vcpu_hlt_begin(vcpu);
		return true;
	case VM_EXITCODE_SUSPENDED:
		/* The backend saw a triple fault or a shutdown request. */
		vmm_suspend(vcpu->vm, (enum vm_suspend_how)vme->u.suspended.how);
		return true;
	default:
		return false;
	}
}

static bool
vmm_exit_suspended(struct vm *vm, struct vm_exit *vme)
{
	enum vm_suspend_how how = vmm_get_suspend(vm);

	if (how == VM_SUSPEND_NONE)
		return false;
	memset(vme, 0, sizeof(*vme));
	vme->exitcode = VM_EXITCODE_SUSPENDED;
	vme->u.suspended.how = how;
	return true;
}

/*
 * A SIPI this vCPU sent woke an AP that the device model must start.  The
 * exit that sent it is kept, answered, for the next vm_run() to complete.
 */
static bool
vmm_exit_spinup(struct vm_vcpu *vcpu, struct vm_exit *vme)
{
	uint64_t pending = atomic_load(&vcpu->spinup_pending);
	int ap;

	if (pending == 0)
		return false;
	ap = __builtin_ctzll(pending);
	atomic_fetch_and(&vcpu->spinup_pending, ~(1ULL << ap));
	vcpu->deferred = *vme;
	vcpu->have_deferred = true;
	memset(vme, 0, sizeof(*vme));
	vme->exitcode = VM_EXITCODE_SPINUP_AP;
	vme->u.spinup_ap.vcpu = ap;
	return true;
}

/* Work before an entry; true when the vCPU has nothing to run yet. */
static bool
vcpu_idle_step(struct vm_vcpu *vcpu)
{
	if (vcpu_boot_protocol(vcpu)) {
		vcpu_sleep(vcpu);
		return true;
	}
	if (vcpu->halted && vcpu_hlt_wait(vcpu))
		return true;
	return false;
}

/*
 * Run until an exit the device model must see.  The vCPU is RUNNING for
 * one round at a time, so a register accessor gets in between rounds.
 */
int
vmm_vcpu_run(struct vm_vcpu *vcpu, struct vm_exit *vme)
{
	struct vm *vm = vcpu->vm;
	int error;

	if (vcpu->have_deferred) {
		*vme = vcpu->deferred;
		vcpu->have_deferred = false;
	}
	for (;;) {
		vcpu_enter(vcpu);
		if (vmm_exit_suspended(vm, vme))
			break;
		if (vcpu_idle_step(vcpu)) {
			vcpu_leave(vcpu);
			continue;
		}
		vcpu_inject_events(vcpu);
		vmm_stat_incr(vcpu, VMST_RUNS);
		error = vm->ops->run(vcpu->bvcpu, vme);
		if (error) {
			vcpu_leave(vcpu);
			return error;
		}
		vmm_count_exit(vcpu, vme);
		vcpu_sync_tpr_in(vcpu);
		if (!vcpu_handle_exit(vcpu, vme) ||
		    vmm_exit_spinup(vcpu, vme))
			break;
		vcpu_leave(vcpu);
	}
	vcpu_leave(vcpu);
	return 0;
}
