/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The logical processor: creation, VMLAUNCH/VMRESUME and the run of the
 * guest between a VM entry and the next VM exit.  The core runs until it
 * stops; most stops are VM exits (vtx_exit.c), a few are finished here
 * without the VMM seeing them, as silicon would: HLT without HLT exiting
 * (the HLT activity state), a CR3 load of a CR3-target value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vtx_internal.h"

#define RFLAGS_IF 0x200ULL

struct vtx *
vtx_create(void)
{
	struct vtx *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->cpu = x86_cpu_create();
	if (v->cpu == NULL) {
		free(v);
		return NULL;
	}
	pthread_mutex_init(&v->mtx, NULL);
	pthread_cond_init(&v->cv, NULL);
	v->mem = (struct x86_mem_ops){ .map = vtx_ept_map, .arg = v };
	vtx_ept_flush(v);
	/* A fresh VMCS: the link pointer as VMM software leaves it unused. */
	vtx_fset(v, VMCS_LINK_POINTER, ~0ULL);
	return v;
}

void
vtx_destroy(struct vtx *v)
{
	if (v == NULL)
		return;
	x86_cpu_destroy(v->cpu);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->mtx);
	free(v);
}

void
vtx_kick(struct vtx *v)
{
	pthread_mutex_lock(&v->mtx);
	v->kicked = true;
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mtx);
	x86_kick(v->cpu);
}

/* Consume a kick: true if there was one. */
static bool
vtx_take_kick(struct vtx *v, bool wait)
{
	bool k;

	pthread_mutex_lock(&v->mtx);
	while (wait && !v->kicked)
		pthread_cond_wait(&v->cv, &v->mtx);
	k = v->kicked;
	v->kicked = false;
	pthread_mutex_unlock(&v->mtx);
	return k;
}

static void
vtx_clear_exit_info(struct vtx *v)
{
	static const uint32_t fields[] = {
		VMCS_EXIT_REASON, VMCS_EXIT_QUALIFICATION,
		VMCS_GUEST_LINEAR_ADDRESS, VMCS_GUEST_PHYSICAL_ADDRESS,
		VMCS_EXIT_INTR_INFO, VMCS_EXIT_INTR_ERRCODE,
		VMCS_IDT_VECTORING_INFO, VMCS_IDT_VECTORING_ERROR,
		VMCS_EXIT_INSTRUCTION_LENGTH, VMCS_EXIT_INSTRUCTION_INFO,
		VMCS_IO_RCX, VMCS_IO_RSI, VMCS_IO_RDI, VMCS_IO_RIP,
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		vtx_fset(v, fields[i], 0);
	v->mmio_valid = false;
	v->unsupported = NULL;
}

/* MOV to CR3 of a CR3-target value does not exit (25.1.3). */
static bool
vtx_cr3_target(struct vtx *v, const struct x86_stop_info *si)
{
	uint64_t n = vtx_f(v, VMCS_CR3_TARGET_COUNT), val = 0, rip = 0;

	if (si->u.cr.cr != 3 || si->u.cr.kind != X86_CR_MOV_TO)
		return false;
	(void)x86_get_reg(v->cpu, si->u.cr.gpr, &val);
	for (uint64_t i = 0; i < n && i < 4; i++) {
		if (vtx_f(v, VMCS_CR3_TARGET0 + 2 * (uint32_t)i) != val)
			continue;
		(void)x86_set_reg(v->cpu, VM_REG_GUEST_CR3, val);
		(void)x86_get_reg(v->cpu, VM_REG_GUEST_RIP, &rip);
		(void)x86_set_reg(v->cpu, VM_REG_GUEST_RIP, rip + si->inst_len);
		return true;
	}
	return false;
}

/* HLT without HLT exiting: past it, into the HLT activity state. */
static void
vtx_enter_hlt(struct vtx *v, const struct x86_stop_info *si)
{
	uint64_t rip = 0;

	(void)x86_get_reg(v->cpu, VM_REG_GUEST_RIP, &rip);
	(void)x86_set_reg(v->cpu, VM_REG_GUEST_RIP, rip + si->inst_len);
	(void)x86_set_reg(v->cpu, VM_REG_GUEST_INTR_SHADOW, 0);
	vtx_fset(v, VMCS_GUEST_ACTIVITY, VMCS_ACTIVITY_HLT);
}

/* A stop the processor finishes itself: true to keep running. */
static bool
vtx_stop_internal(struct vtx *v, const struct x86_stop_info *si)
{
	switch (si->reason) {
	case X86_STOP_HLT:
		if (v->ctl.hlt_exit)
			return false;
		vtx_enter_hlt(v, si);
		return true;
	case X86_STOP_CR_ACCESS:
		return vtx_cr3_target(v, si);
	case X86_STOP_BUDGET:
		return !(v->pin & PINBASED_PREEMPTION_TIMER);
	default:
		return false;
	}
}

/*
 * The guest runs.  In the HLT state the processor waits for a host
 * interrupt (a kick), which exits with the state still HLT.
 */
static void
vtx_run_guest(struct vtx *v)
{
	bool timer = (v->pin & PINBASED_PREEMPTION_TIMER) != 0;
	uint64_t left = vtx_f(v, VMCS_PREEMPTION_TIMER_VALUE), ran;

	for (;;) {
		if (vtx_f(v, VMCS_GUEST_ACTIVITY) == VMCS_ACTIVITY_HLT) {
			vtx_take_kick(v, true);
			vtx_exit_basic(v, EXIT_REASON_EXT_INTR, 0);
			break;
		}
		ran = x86_icount(v->cpu);
		if (x86_run(v->cpu, &v->mem, &v->ctl, timer ? (left ? left : 1)
		    : 0, &v->si) != 0) {
			v->unsupported = "the core refused to run";
			vtx_exit_basic(v, EXIT_REASON_MODEL_UNSUPPORTED, 0);
			break;
		}
		ran = x86_icount(v->cpu) - ran;
		left = ran < left ? left - ran : 0;
		if (vtx_stop_internal(v, &v->si))
			continue;
		/* A kick the HLT state already took leaves a stale stop. */
		if (v->si.reason == X86_STOP_KICK && !vtx_take_kick(v, false))
			continue;
		vtx_record_exit(v, &v->si);
		break;
	}
	if (v->exit_ctls & VM_EXIT_SAVE_PREEMPTION_TIMER)
		vtx_fset(v, VMCS_PREEMPTION_TIMER_VALUE, left);
}

static int
vtx_fail(struct vtx *v, uint32_t error)
{
	vtx_fset(v, VMCS_INSTRUCTION_ERROR, error);
	return VTX_FAIL_VALID;
}

/* The end of every VM exit, entry failures included (27.2). */
static void
vtx_exit_common(struct vtx *v)
{
	uint64_t info = vtx_f(v, VMCS_ENTRY_INTR_INFO);

	vtx_fset(v, VMCS_ENTRY_INTR_INFO, info & ~(uint64_t)VMCS_INTR_VALID);
}

static int
vtx_enter(struct vtx *v, struct vtx_regs *regs, bool launch)
{
	int error, qual;
	uint64_t eptp;

	if (launch && v->launched)
		return vtx_fail(v, VMXERR_VMLAUNCH_NOT_CLEAR);
	if (!launch && !v->launched)
		return vtx_fail(v, VMXERR_VMRESUME_NOT_LAUNCHED);
	if ((error = vtx_check_controls(v)) != 0 ||
	    (error = vtx_check_host(v)) != 0)
		return vtx_fail(v, (uint32_t)error);
	v->ctls_ok = true;
	if (!vtx_injection_ok(v))
		return vtx_fail(v, VMXERR_ENTRY_INVALID_CTLS);
	vtx_clear_exit_info(v);
	if ((qual = vtx_check_guest(v)) >= 0) {
		vtx_exit_basic(v, EXIT_REASON_INVAL_VMCS |
		    VMCS_EXIT_REASON_ENTRY_FAIL, (uint64_t)qual);
		vtx_exit_common(v);
		return VTX_SUCCEED;
	}
	eptp = vtx_f(v, VMCS_EPTP);
	if (eptp != v->eptp) {
		v->eptp = eptp;
		vtx_ept_flush(v);
	}
	if (launch)
		v->dirty = (1u << VG_COUNT) - 1;
	vtx_load_guest(v, regs);
	v->launched = true;
	vtx_build_ctl(v);
	if (vtx_f(v, VMCS_ENTRY_INTR_INFO) & VMCS_INTR_VALID) {
		(void)vtx_inject(v);
		vtx_fset(v, VMCS_GUEST_ACTIVITY, VMCS_ACTIVITY_ACTIVE);
	}
	vtx_run_guest(v);
	vtx_store_guest(v, regs);
	vtx_exit_common(v);
	return VTX_SUCCEED;
}

int
vtx_vmlaunch(struct vtx *v, struct vtx_regs *regs)
{
	if (v == NULL)
		return VTX_FAIL_INVALID;
	return vtx_enter(v, regs, true);
}

int
vtx_vmresume(struct vtx *v, struct vtx_regs *regs)
{
	if (v == NULL)
		return VTX_FAIL_INVALID;
	return vtx_enter(v, regs, false);
}

int
vtx_mmio_access(struct vtx *v, struct vtx_mmio *m)
{
	if (!v->mmio_valid)
		return -ENOENT;
	*m = v->mmio;
	return 0;
}

int
vtx_mmio_complete(struct vtx *v, const void *data, int size)
{
	if (!v->mmio_valid)
		return -ENOENT;
	v->mmio_valid = false;
	return x86_mem_complete(v->cpu, data, size);
}

const char *
vtx_unsupported_what(struct vtx *v)
{
	return v->unsupported ? v->unsupported : "nothing";
}

uint64_t
vtx_icount(struct vtx *v)
{
	return x86_icount(v->cpu);
}
