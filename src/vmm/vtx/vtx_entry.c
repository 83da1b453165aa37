/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VM entry (SDM vol. 3C, chapter 27): the capability MSRs that say which
 * controls exist, the checks on controls (VMfailValid), on the host state
 * and on the guest state (a VM-entry failure exit), loading the guest
 * state into the core, the execution controls as the core's
 * struct x86_exec_ctl, and event injection.  Storing the guest state back
 * at a VM exit is here too: it is loading in reverse.
 */
#include <errno.h>

#include "vtx_internal.h"

#define CR0_PE 0x1ULL
#define CR0_NE 0x20ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define CR4_PCIDE 0x20000ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define RFLAGS_IF 0x200ULL
#define RFLAGS_VM 0x20000ULL
#define SEG_CS 1
#define SEG_SS 2
#define SEG_LDTR 6
#define SEG_TR 7

#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277

/* Controls: must-be-one bits (low half), may-be-one bits (high half). */
#define CTLS(must1, may1) ((uint64_t)(may1) << 32 | (must1))
#define PIN_MUST1 (0x16u | PINBASED_EXTINT_EXITING)
#define PIN_MAY1 (PIN_MUST1 | PINBASED_NMI_EXITING | PINBASED_VIRTUAL_NMI | \
    PINBASED_PREEMPTION_TIMER)
#define PROC_DEFAULT1 0x0401e172u
#define PROC_TRUE_MUST1 0x04006172u
#define PROC_MAY1 (PROC_DEFAULT1 | PROCBASED_INT_WINDOW_EXITING |	\
    PROCBASED_TSC_OFFSET | PROCBASED_HLT_EXITING |			\
    PROCBASED_INVLPG_EXITING | PROCBASED_MWAIT_EXITING |		\
    PROCBASED_RDPMC_EXITING | PROCBASED_RDTSC_EXITING |			\
    PROCBASED_CR8_LOAD_EXITING | PROCBASED_CR8_STORE_EXITING |		\
    PROCBASED_NMI_WINDOW_EXITING | PROCBASED_MOV_DR_EXITING |		\
    PROCBASED_IO_EXITING | PROCBASED_IO_BITMAPS |			\
    PROCBASED_MSR_BITMAPS | PROCBASED_MONITOR_EXITING |			\
    PROCBASED_PAUSE_EXITING | PROCBASED_SECONDARY_CONTROLS)
#define PROC2_MAY1 (PROCBASED2_ENABLE_EPT | PROCBASED2_DESC_TABLE_EXITING | \
    PROCBASED2_ENABLE_RDTSCP | PROCBASED2_ENABLE_VPID |		\
    PROCBASED2_WBINVD_EXITING | PROCBASED2_UNRESTRICTED_GUEST |		\
    PROCBASED2_ENABLE_INVPCID)
#define EXIT_DEFAULT1 0x00036dffu
#define EXIT_TRUE_MUST1 0x00036dfbu
#define EXIT_MAY1 (EXIT_DEFAULT1 | VM_EXIT_SAVE_DEBUG_CONTROLS |	\
    VM_EXIT_HOST_LMA | VM_EXIT_LOAD_PERF_GLOBAL_CTRL |			\
    VM_EXIT_ACKNOWLEDGE_INTERRUPT | VM_EXIT_SAVE_PAT | VM_EXIT_LOAD_PAT | \
    VM_EXIT_SAVE_EFER | VM_EXIT_LOAD_EFER | VM_EXIT_SAVE_PREEMPTION_TIMER)
#define ENTRY_DEFAULT1 0x000011ffu
#define ENTRY_TRUE_MUST1 0x000011fbu
#define ENTRY_MAY1 (ENTRY_DEFAULT1 | VM_ENTRY_LOAD_DEBUG_CONTROLS |	\
    VM_ENTRY_GUEST_LMA | VM_ENTRY_LOAD_PERF_GLOBAL_CTRL |		\
    VM_ENTRY_LOAD_PAT | VM_ENTRY_LOAD_EFER)

/* CR4 bits the core implements (CR4_FIXED1). */
#define CR4_SUPPORTED 0x3307fcULL

static const struct {
	uint32_t msr;
	uint64_t val;
} vtx_caps[] = {
	/* Revision 1, 4 KiB region, WB, INS/OUTS info, TRUE controls. */
	{ MSR_VMX_BASIC, 1 | 4096ULL << 32 | 6ULL << 50 | 1ULL << 54 |
	    1ULL << 55 },
	{ MSR_VMX_PINBASED_CTLS, CTLS(PIN_MUST1, PIN_MAY1) },
	{ MSR_VMX_TRUE_PINBASED_CTLS, CTLS(PIN_MUST1, PIN_MAY1) },
	{ MSR_VMX_PROCBASED_CTLS, CTLS(PROC_DEFAULT1, PROC_MAY1) },
	{ MSR_VMX_TRUE_PROCBASED_CTLS, CTLS(PROC_TRUE_MUST1, PROC_MAY1) },
	{ MSR_VMX_PROCBASED_CTLS2, CTLS(0, PROC2_MAY1) },
	{ MSR_VMX_EXIT_CTLS, CTLS(EXIT_DEFAULT1, EXIT_MAY1) },
	{ MSR_VMX_TRUE_EXIT_CTLS, CTLS(EXIT_TRUE_MUST1, EXIT_MAY1) },
	{ MSR_VMX_ENTRY_CTLS, CTLS(ENTRY_DEFAULT1, ENTRY_MAY1) },
	{ MSR_VMX_TRUE_ENTRY_CTLS, CTLS(ENTRY_TRUE_MUST1, ENTRY_MAY1) },
	/* Timer rate 0, LMA stored on exit, HLT state, 4 CR3 targets. */
	{ MSR_VMX_MISC, 1ULL << 5 | 1ULL << 6 | 4ULL << 16 },
	{ MSR_VMX_CR0_FIXED0, CR0_PG | CR0_NE | CR0_PE },
	{ MSR_VMX_CR0_FIXED1, 0xffffffffULL },
	/* VMXE is not forced: the core has no VMX and refuses it. */
	{ MSR_VMX_CR4_FIXED0, 0 },
	{ MSR_VMX_CR4_FIXED1, CR4_SUPPORTED },
	{ MSR_VMX_VMCS_ENUM, (VMCS_INDEX_MAX - 1) << 1 },
	/* X-only, 4 levels, UC/WB, 2M/1G pages, INVEPT 1+2, INVVPID. */
	{ MSR_VMX_EPT_VPID_CAP, 1ULL << 0 | 1ULL << 6 | 1ULL << 8 |
	    1ULL << 14 | 1ULL << 16 | 1ULL << 17 | 1ULL << 20 | 1ULL << 25 |
	    1ULL << 26 | 1ULL << 32 | 0xfULL << 40 },
};

uint64_t
vtx_cap_msr(uint32_t msr)
{
	for (size_t i = 0; i < sizeof(vtx_caps) / sizeof(vtx_caps[0]); i++)
		if (vtx_caps[i].msr == msr)
			return vtx_caps[i].val;
	return 0;
}

static bool
vtx_ctl_ok(uint32_t val, uint32_t msr)
{
	uint64_t cap = vtx_cap_msr(msr);
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);

	return (val & must1) == must1 && (val & ~may1) == 0;
}

static bool
vtx_page_addr_ok(uint64_t a)
{
	return a != 0 && (a & 0xfff) == 0 && (a >> 48) == 0;
}

/* Event injection checks (26.2.1.3). */
bool
vtx_injection_ok(const struct vtx *v)
{
	uint32_t info = (uint32_t)vtx_f(v, VMCS_ENTRY_INTR_INFO);
	uint32_t type = info & VMCS_INTR_T_MASK, vec = info & 0xff;
	uint64_t len = vtx_f(v, VMCS_ENTRY_INST_LENGTH);

	if (!(info & VMCS_INTR_VALID))
		return true;
	if ((info & 0x7ffff000u) || type == (1u << 8) || type == (7u << 8))
		return false;
	if ((type == VMCS_INTR_T_NMI && vec != 2) ||
	    (type == VMCS_INTR_T_HWEXCEPTION && vec > 31))
		return false;
	if (info & VMCS_INTR_DEL_ERRCODE) {
		bool has_err = vec == 8 || (vec >= 10 && vec <= 14) ||
		    vec == 17;

		if (type != VMCS_INTR_T_HWEXCEPTION || !has_err)
			return false;
		if ((v->proc2 & PROCBASED2_UNRESTRICTED_GUEST) &&
		    !(vtx_f(v, VMCS_GUEST_CR0) & CR0_PE))
			return false;
		if (vtx_f(v, VMCS_ENTRY_EXCEPTION_ERROR) & 0xffff0000ULL)
			return false;
	}
	if (type >= VMCS_INTR_T_SWINTR && (len < 1 || len > 15))
		return false;
	return true;
}

static void
vtx_latch_controls(struct vtx *v)
{
	v->pin = (uint32_t)vtx_f(v, VMCS_PIN_BASED_CTLS);
	v->proc = (uint32_t)vtx_f(v, VMCS_PRI_PROC_BASED_CTLS);
	v->proc2 = (v->proc & PROCBASED_SECONDARY_CONTROLS) ?
	    (uint32_t)vtx_f(v, VMCS_SEC_PROC_BASED_CTLS) : 0;
	v->exit_ctls = (uint32_t)vtx_f(v, VMCS_EXIT_CTLS);
	v->entry_ctls = (uint32_t)vtx_f(v, VMCS_ENTRY_CTLS);
}

/*
 * Checks on the VM-execution, exit and entry controls (26.2.1), event
 * injection aside (vtx_injection_ok).  They only depend on control
 * fields, so a pass stands until one of those is written.
 */
int
vtx_check_controls(struct vtx *v)
{
	vtx_latch_controls(v);
	if (v->ctls_ok)
		return 0;
	if (!vtx_ctl_ok(v->pin, MSR_VMX_TRUE_PINBASED_CTLS) ||
	    !vtx_ctl_ok(v->proc, MSR_VMX_TRUE_PROCBASED_CTLS) ||
	    !vtx_ctl_ok(v->proc2, MSR_VMX_PROCBASED_CTLS2) ||
	    !vtx_ctl_ok(v->exit_ctls, MSR_VMX_TRUE_EXIT_CTLS) ||
	    !vtx_ctl_ok(v->entry_ctls, MSR_VMX_TRUE_ENTRY_CTLS))
		return VMXERR_ENTRY_INVALID_CTLS;
	if (vtx_f(v, VMCS_CR3_TARGET_COUNT) > 4)
		return VMXERR_ENTRY_INVALID_CTLS;
	if ((v->proc & PROCBASED_IO_BITMAPS) &&
	    (!vtx_page_addr_ok(vtx_f(v, VMCS_IO_BITMAP_A)) ||
	    !vtx_page_addr_ok(vtx_f(v, VMCS_IO_BITMAP_B))))
		return VMXERR_ENTRY_INVALID_CTLS;
	if ((v->proc & PROCBASED_MSR_BITMAPS) &&
	    !vtx_page_addr_ok(vtx_f(v, VMCS_MSR_BITMAP)))
		return VMXERR_ENTRY_INVALID_CTLS;
	if (((v->pin & PINBASED_VIRTUAL_NMI) &&
	    !(v->pin & PINBASED_NMI_EXITING)) ||
	    ((v->proc & PROCBASED_NMI_WINDOW_EXITING) &&
	    !(v->pin & PINBASED_VIRTUAL_NMI)))
		return VMXERR_ENTRY_INVALID_CTLS;
	/* EPT is required here (vtx.h); unrestricted guest needs it too. */
	if (!(v->proc2 & PROCBASED2_ENABLE_EPT) ||
	    !vtx_eptp_valid(vtx_f(v, VMCS_EPTP)))
		return VMXERR_ENTRY_INVALID_CTLS;
	if ((v->proc2 & PROCBASED2_ENABLE_VPID) && vtx_f(v, VMCS_VPID) == 0)
		return VMXERR_ENTRY_INVALID_CTLS;
	if ((v->exit_ctls & VM_EXIT_SAVE_PREEMPTION_TIMER) &&
	    !(v->pin & PINBASED_PREEMPTION_TIMER))
		return VMXERR_ENTRY_INVALID_CTLS;
	return 0;
}

/* The host is always a 64-bit one (26.2.4). */
int
vtx_check_host(struct vtx *v)
{
	if (!(v->exit_ctls & VM_EXIT_HOST_LMA))
		return VMXERR_ENTRY_INVALID_HOST;
	return 0;
}

/* Control registers, DR7 and EFER (26.3.1.1). */
static bool
vtx_guest_cr_ok(const struct vtx *v)
{
	uint64_t cr0 = vtx_f(v, VMCS_GUEST_CR0), cr4 = vtx_f(v, VMCS_GUEST_CR4);
	uint64_t fixed0 = vtx_cap_msr(MSR_VMX_CR0_FIXED0), efer;
	bool ia32e = (v->entry_ctls & VM_ENTRY_GUEST_LMA) != 0;

	if (v->proc2 & PROCBASED2_UNRESTRICTED_GUEST)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if ((cr0 & fixed0) != fixed0 ||
	    (cr0 & ~vtx_cap_msr(MSR_VMX_CR0_FIXED1)) ||
	    ((cr0 & CR0_PG) && !(cr0 & CR0_PE)))
		return false;
	if ((cr4 & vtx_cap_msr(MSR_VMX_CR4_FIXED0)) !=
	    vtx_cap_msr(MSR_VMX_CR4_FIXED0) || (cr4 & ~CR4_SUPPORTED))
		return false;
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return false;
	if (!ia32e && (cr4 & CR4_PCIDE))
		return false;
	if ((v->entry_ctls & VM_ENTRY_LOAD_DEBUG_CONTROLS) &&
	    (vtx_f(v, VMCS_GUEST_DR7) >> 32))
		return false;
	if (!(v->entry_ctls & VM_ENTRY_LOAD_EFER))
		return true;
	efer = vtx_f(v, VMCS_GUEST_IA32_EFER);
	if (efer & ~0xd01ULL)	/* SCE, LME, LMA, NXE */
		return false;
	if (((efer & EFER_LMA) != 0) != ia32e)
		return false;
	return !(cr0 & CR0_PG) || ((efer & EFER_LME) != 0) == ia32e;
}

/* A few segment checks that catch a VMM's usual mistakes (26.3.1.2). */
static bool
vtx_guest_segs_ok(const struct vtx *v)
{
	uint32_t cs = (uint32_t)vtx_f(v, VMCS_GUEST_ACCESS_RIGHTS(SEG_CS));
	uint32_t tr = (uint32_t)vtx_f(v, VMCS_GUEST_ACCESS_RIGHTS(SEG_TR));
	uint32_t ldtr = (uint32_t)vtx_f(v,
	    VMCS_GUEST_ACCESS_RIGHTS(SEG_LDTR));
	bool ia32e = (v->entry_ctls & VM_ENTRY_GUEST_LMA) != 0;

	if ((cs & SEG_ACCESS_UNUSABLE) || !(cs & SEG_ACCESS_P))
		return false;
	if (ia32e && (cs & SEG_ACCESS_L) && (cs & SEG_ACCESS_DB))
		return false;
	if ((tr & SEG_ACCESS_UNUSABLE) || !(tr & SEG_ACCESS_P) ||
	    (tr & SEG_ACCESS_S))
		return false;
	if (SEG_ACCESS_TYPE(tr) != 11 && (ia32e || SEG_ACCESS_TYPE(tr) != 3))
		return false;
	if (!(ldtr & SEG_ACCESS_UNUSABLE) && (SEG_ACCESS_TYPE(ldtr) != 2 ||
	    (ldtr & SEG_ACCESS_S) || !(ldtr & SEG_ACCESS_P)))
		return false;
	return (vtx_f(v, VMCS_GUEST_GDTR_LIMIT) >> 16) == 0 &&
	    (vtx_f(v, VMCS_GUEST_IDTR_LIMIT) >> 16) == 0;
}

/* RIP, RFLAGS, activity and interruptibility (26.3.1.4, 26.3.1.5). */
static bool
vtx_guest_nonreg_ok(const struct vtx *v)
{
	uint64_t rfl = vtx_f(v, VMCS_GUEST_RFLAGS);
	uint32_t cs = (uint32_t)vtx_f(v, VMCS_GUEST_ACCESS_RIGHTS(SEG_CS));
	uint32_t gi = (uint32_t)vtx_f(v, VMCS_GUEST_INTERRUPTIBILITY);
	uint32_t info = (uint32_t)vtx_f(v, VMCS_ENTRY_INTR_INFO);
	uint32_t type = info & VMCS_INTR_T_MASK;
	bool ia32e = (v->entry_ctls & VM_ENTRY_GUEST_LMA) != 0;
	uint64_t act = vtx_f(v, VMCS_GUEST_ACTIVITY);

	if (!(ia32e && (cs & SEG_ACCESS_L)) && (vtx_f(v, VMCS_GUEST_RIP) >> 32))
		return false;
	if ((rfl & 0xffffffffffc08028ULL) || !(rfl & 2) ||
	    ((rfl & RFLAGS_VM) && ia32e))
		return false;
	if (act > VMCS_ACTIVITY_HLT ||
	    (act == VMCS_ACTIVITY_HLT && SEG_ACCESS_DPL((uint32_t)vtx_f(v,
	    VMCS_GUEST_ACCESS_RIGHTS(SEG_SS))) != 0))
		return false;
	if ((gi & ~0xfu) || (gi & 3) == 3)
		return false;
	if ((gi & VMCS_INTERRUPTIBILITY_STI_BLOCKING) && !(rfl & RFLAGS_IF))
		return false;
	if (!(info & VMCS_INTR_VALID))
		return true;
	if (type == VMCS_INTR_T_HWINTR && (!(rfl & RFLAGS_IF) || (gi & 3)))
		return false;
	if (type == VMCS_INTR_T_NMI &&
	    (gi & (VMCS_INTERRUPTIBILITY_MOVSS_BLOCKING |
	    VMCS_INTERRUPTIBILITY_NMI_BLOCKING)))
		return false;
	return true;
}

/*
 * The guest-state checks (26.3.1).  Returns -1 when they pass, else the
 * exit qualification of the VM-entry failure (0, or 4: bad link pointer).
 */
int
vtx_check_guest(struct vtx *v)
{
	if (!vtx_guest_cr_ok(v) || !vtx_guest_segs_ok(v) ||
	    !vtx_guest_nonreg_ok(v))
		return 0;
	if (vtx_f(v, VMCS_LINK_POINTER) != ~0ULL)
		return 4;
	return -1;
}

/* ---- guest state: VMCS <-> core ---- */

/* VT-x register numbers (vtx_regs.gpr) as vmm.h names. */
static const uint8_t vtx_gpr_name[16] = {
	VM_REG_GUEST_RAX, VM_REG_GUEST_RCX, VM_REG_GUEST_RDX,
	VM_REG_GUEST_RBX, VM_REG_GUEST_RSP, VM_REG_GUEST_RBP,
	VM_REG_GUEST_RSI, VM_REG_GUEST_RDI, VM_REG_GUEST_R8, VM_REG_GUEST_R9,
	VM_REG_GUEST_R10, VM_REG_GUEST_R11, VM_REG_GUEST_R12,
	VM_REG_GUEST_R13, VM_REG_GUEST_R14, VM_REG_GUEST_R15,
};

static void
vtx_load_seg(struct vtx *v, int s)
{
	struct seg_desc d = {
		.base = vtx_f(v, VMCS_GUEST_BASE(s)),
		.limit = (uint32_t)vtx_f(v, VMCS_GUEST_LIMIT(s)),
		.access = (uint32_t)vtx_f(v, VMCS_GUEST_ACCESS_RIGHTS(s)),
	};

	(void)x86_set_desc(v->cpu, VM_REG_GUEST_ES + s, &d);
	(void)x86_set_reg(v->cpu, VM_REG_GUEST_ES + s,
	    vtx_f(v, VMCS_GUEST_SELECTOR(s)));
}

static void
vtx_load_table(struct vtx *v, int reg, uint32_t base, uint32_t limit)
{
	struct seg_desc d = { .base = vtx_f(v, base),
		.limit = (uint32_t)vtx_f(v, limit) };

	(void)x86_set_desc(v->cpu, reg, &d);
}

/* Without "load IA32_EFER", EFER.LMA and LME follow IA-32e mode guest. */
static void
vtx_load_efer(struct vtx *v)
{
	uint64_t efer = 0, want;

	if (v->entry_ctls & VM_ENTRY_LOAD_EFER) {
		if (v->dirty & (1u << VG_EFER))
			(void)x86_set_reg(v->cpu, VM_REG_GUEST_EFER,
			    vtx_f(v, VMCS_GUEST_IA32_EFER));
		return;
	}
	(void)x86_get_reg(v->cpu, VM_REG_GUEST_EFER, &efer);
	want = efer & ~(EFER_LMA | EFER_LME);
	if (v->entry_ctls & VM_ENTRY_GUEST_LMA)
		want |= EFER_LMA | EFER_LME;
	if (want != efer)
		(void)x86_set_reg(v->cpu, VM_REG_GUEST_EFER, want);
}

/* Groups that are one register of the core. */
static const struct {
	uint8_t group;
	uint8_t reg;
	uint16_t field;
} vtx_reg_groups[] = {
	{ VG_CR0, VM_REG_GUEST_CR0, VMCS_GUEST_CR0 },
	{ VG_CR3, VM_REG_GUEST_CR3, VMCS_GUEST_CR3 },
	{ VG_CR4, VM_REG_GUEST_CR4, VMCS_GUEST_CR4 },
	{ VG_RSP, VM_REG_GUEST_RSP, VMCS_GUEST_RSP },
	{ VG_RIP, VM_REG_GUEST_RIP, VMCS_GUEST_RIP },
	{ VG_RFLAGS, VM_REG_GUEST_RFLAGS, VMCS_GUEST_RFLAGS },
};

static void
vtx_load_group(struct vtx *v, int g)
{
	uint64_t gi;

	for (size_t i = 0; i < sizeof(vtx_reg_groups) /
	    sizeof(vtx_reg_groups[0]); i++) {
		if (vtx_reg_groups[i].group == g) {
			(void)x86_set_reg(v->cpu, vtx_reg_groups[i].reg,
			    vtx_f(v, vtx_reg_groups[i].field));
			return;
		}
	}
	switch (g) {
	case VG_GDTR:
		vtx_load_table(v, VM_REG_GUEST_GDTR, VMCS_GUEST_GDTR_BASE,
		    VMCS_GUEST_GDTR_LIMIT);
		break;
	case VG_IDTR:
		vtx_load_table(v, VM_REG_GUEST_IDTR, VMCS_GUEST_IDTR_BASE,
		    VMCS_GUEST_IDTR_LIMIT);
		break;
	case VG_DR7:
		if (v->entry_ctls & VM_ENTRY_LOAD_DEBUG_CONTROLS)
			(void)x86_set_reg(v->cpu, VM_REG_GUEST_DR7,
			    vtx_f(v, VMCS_GUEST_DR7));
		break;
	case VG_SYSENTER:
		(void)x86_set_msr(v->cpu, MSR_SYSENTER_CS,
		    vtx_f(v, VMCS_GUEST_IA32_SYSENTER_CS));
		(void)x86_set_msr(v->cpu, MSR_SYSENTER_ESP,
		    vtx_f(v, VMCS_GUEST_IA32_SYSENTER_ESP));
		(void)x86_set_msr(v->cpu, MSR_SYSENTER_EIP,
		    vtx_f(v, VMCS_GUEST_IA32_SYSENTER_EIP));
		break;
	case VG_PAT:
		if (v->entry_ctls & VM_ENTRY_LOAD_PAT)
			(void)x86_set_msr(v->cpu, MSR_PAT,
			    vtx_f(v, VMCS_GUEST_IA32_PAT));
		break;
	case VG_INTR:
		gi = vtx_f(v, VMCS_GUEST_INTERRUPTIBILITY);
		(void)x86_set_reg(v->cpu, VM_REG_GUEST_INTR_SHADOW,
		    (gi & 3) != 0);
		x86_set_nmi_blocked(v->cpu,
		    (gi & VMCS_INTERRUPTIBILITY_NMI_BLOCKING) != 0);
		break;
	}
}

/* Load what changed since the last exit (26.3.2), and the GPRs. */
void
vtx_load_guest(struct vtx *v, const struct vtx_regs *regs)
{
	for (int g = 0; g < VG_COUNT; g++) {
		if (!(v->dirty & (1u << g)) || g == VG_EFER)
			continue;
		if (g < VG_GDTR)
			vtx_load_seg(v, g - VG_SEG0);
		else
			vtx_load_group(v, g);
	}
	vtx_load_efer(v);
	v->dirty = 0;
	for (int i = 0; i < 16; i++) {
		if (i != VTX_RSP)
			(void)x86_set_reg(v->cpu, vtx_gpr_name[i],
			    regs->gpr[i]);
	}
	(void)x86_set_reg(v->cpu, VM_REG_GUEST_CR2, regs->cr2);
	for (int i = 0; i < 4; i++)
		(void)x86_set_reg(v->cpu, VM_REG_GUEST_DR0 + i, regs->dr[i]);
	(void)x86_set_reg(v->cpu, VM_REG_GUEST_DR6, regs->dr6);
}

static uint64_t
vtx_core_reg(struct vtx *v, int reg)
{
	uint64_t val = 0;

	(void)x86_get_reg(v->cpu, reg, &val);
	return val;
}

static uint64_t
vtx_core_msr(struct vtx *v, uint32_t msr)
{
	uint64_t val = 0;

	(void)x86_get_msr(v->cpu, msr, &val);
	return val;
}

static void
vtx_store_segs(struct vtx *v)
{
	struct seg_desc d;

	for (int s = 0; s < 8; s++) {
		(void)x86_get_desc(v->cpu, VM_REG_GUEST_ES + s, &d);
		vtx_fset(v, VMCS_GUEST_SELECTOR(s),
		    vtx_core_reg(v, VM_REG_GUEST_ES + s));
		vtx_fset(v, VMCS_GUEST_BASE(s), d.base);
		vtx_fset(v, VMCS_GUEST_LIMIT(s), d.limit);
		vtx_fset(v, VMCS_GUEST_ACCESS_RIGHTS(s), d.access);
	}
	(void)x86_get_desc(v->cpu, VM_REG_GUEST_GDTR, &d);
	vtx_fset(v, VMCS_GUEST_GDTR_BASE, d.base);
	vtx_fset(v, VMCS_GUEST_GDTR_LIMIT, d.limit);
	(void)x86_get_desc(v->cpu, VM_REG_GUEST_IDTR, &d);
	vtx_fset(v, VMCS_GUEST_IDTR_BASE, d.base);
	vtx_fset(v, VMCS_GUEST_IDTR_LIMIT, d.limit);
}

/*
 * Interruptibility from the core: a shadow with IF clear can only be
 * MOV SS blocking (STI sets IF); with IF set it is taken as STI's.
 */
static uint64_t
vtx_core_interruptibility(struct vtx *v, uint64_t rflags)
{
	uint64_t gi = 0;

	if (vtx_core_reg(v, VM_REG_GUEST_INTR_SHADOW))
		gi = (rflags & RFLAGS_IF) ? VMCS_INTERRUPTIBILITY_STI_BLOCKING :
		    VMCS_INTERRUPTIBILITY_MOVSS_BLOCKING;
	if (x86_nmi_blocked(v->cpu))
		gi |= VMCS_INTERRUPTIBILITY_NMI_BLOCKING;
	return gi;
}

static void
vtx_store_msrs(struct vtx *v)
{
	uint64_t efer = vtx_core_reg(v, VM_REG_GUEST_EFER);
	uint64_t entry = vtx_f(v, VMCS_ENTRY_CTLS);

	vtx_fset(v, VMCS_GUEST_IA32_SYSENTER_CS,
	    vtx_core_msr(v, MSR_SYSENTER_CS));
	vtx_fset(v, VMCS_GUEST_IA32_SYSENTER_ESP,
	    vtx_core_msr(v, MSR_SYSENTER_ESP));
	vtx_fset(v, VMCS_GUEST_IA32_SYSENTER_EIP,
	    vtx_core_msr(v, MSR_SYSENTER_EIP));
	if (v->exit_ctls & VM_EXIT_SAVE_EFER)
		vtx_fset(v, VMCS_GUEST_IA32_EFER, efer);
	if (v->exit_ctls & VM_EXIT_SAVE_PAT)
		vtx_fset(v, VMCS_GUEST_IA32_PAT, vtx_core_msr(v, MSR_PAT));
	if (v->exit_ctls & VM_EXIT_SAVE_DEBUG_CONTROLS)
		vtx_fset(v, VMCS_GUEST_DR7, vtx_core_reg(v, VM_REG_GUEST_DR7));
	/* IA32_VMX_MISC bit 5: the exit records LMA in the entry control. */
	entry = (efer & EFER_LMA) ? entry | VM_ENTRY_GUEST_LMA :
	    entry & ~(uint64_t)VM_ENTRY_GUEST_LMA;
	vtx_fset(v, VMCS_ENTRY_CTLS, entry);
}

/*
 * Save the guest state (27.3).  A field VM entry loads but this exit does
 * not save (its "save" control clear) stays due for loading, as the
 * stale VMCS value will be loaded by the next entry on silicon too.
 */
void
vtx_store_guest(struct vtx *v, struct vtx_regs *regs)
{
	uint64_t rflags = vtx_core_reg(v, VM_REG_GUEST_RFLAGS);

	vtx_store_segs(v);
	vtx_fset(v, VMCS_GUEST_CR0, vtx_core_reg(v, VM_REG_GUEST_CR0));
	vtx_fset(v, VMCS_GUEST_CR3, vtx_core_reg(v, VM_REG_GUEST_CR3));
	vtx_fset(v, VMCS_GUEST_CR4, vtx_core_reg(v, VM_REG_GUEST_CR4));
	vtx_fset(v, VMCS_GUEST_RSP, vtx_core_reg(v, VM_REG_GUEST_RSP));
	vtx_fset(v, VMCS_GUEST_RIP, vtx_core_reg(v, VM_REG_GUEST_RIP));
	vtx_fset(v, VMCS_GUEST_RFLAGS, rflags);
	vtx_fset(v, VMCS_GUEST_INTERRUPTIBILITY,
	    vtx_core_interruptibility(v, rflags));
	vtx_store_msrs(v);
	for (int i = 0; i < 16; i++)
		if (i != VTX_RSP)
			regs->gpr[i] = vtx_core_reg(v, vtx_gpr_name[i]);
	regs->cr2 = vtx_core_reg(v, VM_REG_GUEST_CR2);
	for (int i = 0; i < 4; i++)
		regs->dr[i] = vtx_core_reg(v, VM_REG_GUEST_DR0 + i);
	regs->dr6 = vtx_core_reg(v, VM_REG_GUEST_DR6);
	v->dirty = 0;
	if ((v->entry_ctls & VM_ENTRY_LOAD_EFER) &&
	    !(v->exit_ctls & VM_EXIT_SAVE_EFER))
		v->dirty |= 1u << VG_EFER;
	if ((v->entry_ctls & VM_ENTRY_LOAD_PAT) &&
	    !(v->exit_ctls & VM_EXIT_SAVE_PAT))
		v->dirty |= 1u << VG_PAT;
	if ((v->entry_ctls & VM_ENTRY_LOAD_DEBUG_CONTROLS) &&
	    !(v->exit_ctls & VM_EXIT_SAVE_DEBUG_CONTROLS))
		v->dirty |= 1u << VG_DR7;
}

/* ---- execution controls ---- */

static bool
vtx_bit(const uint8_t *bm, uint32_t bit)
{
	return (bm[bit >> 3] >> (bit & 7)) & 1;
}

/* I/O bitmaps A (ports 0-7FFF) and B (8000-FFFF), 25.1.3. */
static bool
vtx_io_exit(void *arg, uint16_t port)
{
	struct vtx *v = arg;

	if (!(v->proc & PROCBASED_IO_BITMAPS))
		return (v->proc & PROCBASED_IO_EXITING) != 0;
	return vtx_bit(v->io_bitmap[port >> 15], port & 0x7fff);
}

/* MSR bitmaps (24.6.9): read low/high at 0/1024, write at 2048/3072. */
static bool
vtx_msr_exit(void *arg, uint32_t msr, bool write)
{
	struct vtx *v = arg;
	uint32_t off;

	if (!(v->proc & PROCBASED_MSR_BITMAPS))
		return true;
	if (msr <= 0x1fff)
		off = 0;
	else if (msr - 0xc0000000u <= 0x1fff)
		off = 1024;
	else
		return true;
	if (write)
		off += 2048;
	return vtx_bit(v->msr_bitmap + off, msr & 0x1fff);
}

/* A "physical" address of the VMCS: a host address here (vtx.h). */
static const uint8_t *
vtx_host_ptr(uint64_t addr)
{
	return (const uint8_t *)(uintptr_t)addr;
}

void
vtx_build_ctl(struct vtx *v)
{
	uint32_t p = v->proc, p2 = v->proc2;
	bool io_all = (p & PROCBASED_IO_EXITING) && !(p & PROCBASED_IO_BITMAPS);

	v->io_bitmap[0] = vtx_host_ptr(vtx_f(v, VMCS_IO_BITMAP_A));
	v->io_bitmap[1] = vtx_host_ptr(vtx_f(v, VMCS_IO_BITMAP_B));
	v->msr_bitmap = vtx_host_ptr(vtx_f(v, VMCS_MSR_BITMAP));
	v->ctl = (struct x86_exec_ctl){
		.hlt_exit = (p & PROCBASED_HLT_EXITING) != 0,
		.pause_exit = (p & PROCBASED_PAUSE_EXITING) != 0,
		.rdtsc_exit = (p & PROCBASED_RDTSC_EXITING) != 0,
		.invlpg_exit = (p & PROCBASED_INVLPG_EXITING) != 0,
		.cr3_load_exit = (p & PROCBASED_CR3_LOAD_EXITING) != 0,
		.cr3_store_exit = (p & PROCBASED_CR3_STORE_EXITING) != 0,
		.cr8_load_exit = (p & PROCBASED_CR8_LOAD_EXITING) != 0,
		.cr8_store_exit = (p & PROCBASED_CR8_STORE_EXITING) != 0,
		.mov_dr_exit = (p & PROCBASED_MOV_DR_EXITING) != 0,
		.mwait_exit = (p & PROCBASED_MWAIT_EXITING) != 0,
		.monitor_exit = (p & PROCBASED_MONITOR_EXITING) != 0,
		.rdpmc_exit = (p & PROCBASED_RDPMC_EXITING) != 0,
		.wbinvd_exit = (p2 & PROCBASED2_WBINVD_EXITING) != 0,
		.desc_table_exit = (p2 & PROCBASED2_DESC_TABLE_EXITING) != 0,
		.intr_window_exit = (p & PROCBASED_INT_WINDOW_EXITING) != 0,
		.nmi_window_exit = (p & PROCBASED_NMI_WINDOW_EXITING) != 0,
		.exception_bitmap = (uint32_t)vtx_f(v, VMCS_EXCEPTION_BITMAP),
		.pf_error_mask = (uint32_t)vtx_f(v, VMCS_PF_ERROR_MASK),
		.pf_error_match = (uint32_t)vtx_f(v, VMCS_PF_ERROR_MATCH),
		.cr0_mask = vtx_f(v, VMCS_CR0_MASK),
		.cr0_shadow = vtx_f(v, VMCS_CR0_SHADOW),
		.cr4_mask = vtx_f(v, VMCS_CR4_MASK),
		.cr4_shadow = vtx_f(v, VMCS_CR4_SHADOW),
		.tsc_offset = (p & PROCBASED_TSC_OFFSET) ?
		    vtx_f(v, VMCS_TSC_OFFSET) : 0,
		.io_exit = io_all ? NULL : vtx_io_exit,
		.msr_exit = vtx_msr_exit,
		.arg = v,
	};
}

/* VM-entry event injection (26.6): the core delivers it first thing. */
int
vtx_inject(struct vtx *v)
{
	uint32_t info = (uint32_t)vtx_f(v, VMCS_ENTRY_INTR_INFO);
	uint32_t type = (info & VMCS_INTR_T_MASK) >> VMCS_INTR_T_SHIFT;

	if (!(info & VMCS_INTR_VALID))
		return 0;
	return x86_inject_event(v->cpu, (int)type, (int)(info & 0xff),
	    (info & VMCS_INTR_DEL_ERRCODE) != 0,
	    (uint32_t)vtx_f(v, VMCS_ENTRY_EXCEPTION_ERROR),
	    type >= X86_EVENT_SWINT ?
	    (int)vtx_f(v, VMCS_ENTRY_INST_LENGTH) : 0);
}
