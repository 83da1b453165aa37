/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The software VT-x "hardware": one logical processor in VMX root
 * operation with its VMCS, run by the x86 core (x86/x86_cpu.h).  A VMM
 * (src/vmm/intel/) programs it the way bhyve programs silicon: VMWRITE the
 * controls and guest state, VMLAUNCH/VMRESUME, read the exit information,
 * handle the exit, resume.  Names and numbers are the SDM's (vol. 3C):
 * field encodings (appendix B, vmcs.h), basic exit reasons (appendix C),
 * exit-qualification layouts (27.2.1), control bits (24.6-24.8).
 *
 * What differs from silicon, and why
 * ----------------------------------
 * - No host-physical address space.  Every "physical address" the VMM
 *   hands the hardware is a host virtual address instead: the EPTP's PML4
 *   address, the address field of every EPT entry (next table or leaf
 *   page), the I/O-bitmap and MSR-bitmap addresses.  They are page
 *   aligned and below 2^47, so they fit the architectural 52-bit address
 *   fields unchanged.  The hardware dereferences them as it would
 *   physical memory: the VMM must keep them valid while the VMCS uses them.
 * - EPT is required: without a host-physical space there is nothing for
 *   guest-physical addresses to mean otherwise.  VM entry with "enable
 *   EPT" clear fails as an invalid control (VM-instruction error 7).
 * - The guest's general registers other than RSP travel in struct
 *   vtx_regs on VMLAUNCH/VMRESUME (what bhyve's vmx_support.S saves in
 *   its vmxctx), together with CR2, DR0-DR3 and DR6, which silicon leaves
 *   in the physical registers.  x87/SSE state and the MSRs outside the
 *   VMCS (STAR, LSTAR, KERNEL_GS_BASE, TSC_AUX, ...) stay in the logical
 *   processor across exits, as if the VMM never touched them.
 * - Host interrupts: vtx_kick() is the host interrupt (an IPI) that pulls
 *   the processor out of the guest.  It causes an external-interrupt exit
 *   (basic reason 1); external-interrupt exiting is therefore a
 *   must-be-one pin-based control here (IA32_VMX_PINBASED_CTLS).
 * - CR4.VMXE is not a fixed bit of the guest's CR4 (IA32_VMX_CR4_FIXED0
 *   is 0, IA32_VMX_CR4_FIXED1 lacks it): the core has no VMX and would
 *   refuse a CR4 holding it.  CR0's fixed bits are silicon's (PE, NE, PG;
 *   PE and PG free with unrestricted guest).
 * - The VMX-preemption timer counts retired guest instructions, shifted
 *   by IA32_VMX_MISC[4:0] (0 here): one tick per instruction.  A value
 *   of 0 at entry lets one instruction retire before the exit.
 * - MMIO assist: silicon leaves the decoding of an instruction that hit an
 *   EPT violation to the VMM (bhyve's vmm_instruction_emul).  Here the
 *   core has already decoded it: vtx_mmio_access() gives the access (size,
 *   data of a write) and vtx_mmio_complete() hands back the value read;
 *   the next VMRESUME re-executes the instruction with that value.
 * - Not modelled: VMCS shadowing, APIC virtualization and TPR shadow,
 *   posted interrupts, PML, MTF, VM functions, MSR load/store lists,
 *   SMM, activity states other than active and HLT, the host-state area
 *   beyond its fields (the "host" is the caller of vtx_vmresume()).
 * - VPIDs are accepted; every EPTP change and INVEPT/INVVPID flushes all
 *   of the processor's cached translations, which is always correct.
 */
#ifndef VTX_H
#define VTX_H

#include <stdbool.h>
#include <stdint.h>

#include "vmcs.h"

struct vtx;

/* Outcome of a VMX instruction (SDM vol. 3C, 31.2). */
enum vtx_status {
	VTX_SUCCEED = 0,	/* VMsucceed (VMLAUNCH/VMRESUME: a VM exit) */
	VTX_FAIL_INVALID = 1,	/* VMfailInvalid: no usable VMCS */
	VTX_FAIL_VALID = 2,	/* VMfailValid: see VMCS_INSTRUCTION_ERROR */
};

/* VM-instruction error numbers (SDM vol. 3C, 31.4). */
#define VMXERR_VMLAUNCH_NOT_CLEAR 4
#define VMXERR_VMRESUME_NOT_LAUNCHED 5
#define VMXERR_ENTRY_INVALID_CTLS 7
#define VMXERR_ENTRY_INVALID_HOST 8
#define VMXERR_UNSUPPORTED_FIELD 12
#define VMXERR_READONLY_FIELD 13
#define VMXERR_INVEPT_INVALID 28

/*
 * Guest registers that are not in the VMCS.  gpr[] is indexed by the
 * VT-x register numbers of exit qualifications (0 RAX, 1 RCX, 2 RDX,
 * 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15); gpr[4] is unused
 * (RSP is VMCS_GUEST_RSP).
 */
struct vtx_regs {
	uint64_t gpr[16];
	uint64_t cr2;
	uint64_t dr[4];
	uint64_t dr6;
};
#define VTX_RAX 0
#define VTX_RCX 1
#define VTX_RDX 2
#define VTX_RBX 3
#define VTX_RSP 4
#define VTX_RBP 5
#define VTX_RSI 6
#define VTX_RDI 7

/* Pin-based VM-execution controls (24.6.1). */
#define PINBASED_EXTINT_EXITING (1u << 0)
#define PINBASED_NMI_EXITING (1u << 3)
#define PINBASED_VIRTUAL_NMI (1u << 5)
#define PINBASED_PREEMPTION_TIMER (1u << 6)

/* Primary processor-based VM-execution controls (24.6.2). */
#define PROCBASED_INT_WINDOW_EXITING (1u << 2)
#define PROCBASED_TSC_OFFSET (1u << 3)
#define PROCBASED_HLT_EXITING (1u << 7)
#define PROCBASED_INVLPG_EXITING (1u << 9)
#define PROCBASED_MWAIT_EXITING (1u << 10)
#define PROCBASED_RDPMC_EXITING (1u << 11)
#define PROCBASED_RDTSC_EXITING (1u << 12)
#define PROCBASED_CR3_LOAD_EXITING (1u << 15)
#define PROCBASED_CR3_STORE_EXITING (1u << 16)
#define PROCBASED_CR8_LOAD_EXITING (1u << 19)
#define PROCBASED_CR8_STORE_EXITING (1u << 20)
#define PROCBASED_USE_TPR_SHADOW (1u << 21)
#define PROCBASED_NMI_WINDOW_EXITING (1u << 22)
#define PROCBASED_MOV_DR_EXITING (1u << 23)
#define PROCBASED_IO_EXITING (1u << 24)
#define PROCBASED_IO_BITMAPS (1u << 25)
#define PROCBASED_MTF (1u << 27)
#define PROCBASED_MSR_BITMAPS (1u << 28)
#define PROCBASED_MONITOR_EXITING (1u << 29)
#define PROCBASED_PAUSE_EXITING (1u << 30)
#define PROCBASED_SECONDARY_CONTROLS (1u << 31)

/* Secondary processor-based VM-execution controls (24.6.2). */
#define PROCBASED2_VIRTUALIZE_APIC (1u << 0)
#define PROCBASED2_ENABLE_EPT (1u << 1)
#define PROCBASED2_DESC_TABLE_EXITING (1u << 2)
#define PROCBASED2_ENABLE_RDTSCP (1u << 3)
#define PROCBASED2_ENABLE_VPID (1u << 5)
#define PROCBASED2_WBINVD_EXITING (1u << 6)
#define PROCBASED2_UNRESTRICTED_GUEST (1u << 7)
#define PROCBASED2_PAUSE_LOOP_EXITING (1u << 10)
#define PROCBASED2_ENABLE_INVPCID (1u << 12)

/* VM-exit controls (24.7.1). */
#define VM_EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define VM_EXIT_HOST_LMA (1u << 9)
#define VM_EXIT_LOAD_PERF_GLOBAL_CTRL (1u << 12)
#define VM_EXIT_ACKNOWLEDGE_INTERRUPT (1u << 15)
#define VM_EXIT_SAVE_PAT (1u << 18)
#define VM_EXIT_LOAD_PAT (1u << 19)
#define VM_EXIT_SAVE_EFER (1u << 20)
#define VM_EXIT_LOAD_EFER (1u << 21)
#define VM_EXIT_SAVE_PREEMPTION_TIMER (1u << 22)

/* VM-entry controls (24.8.1). */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define VM_ENTRY_GUEST_LMA (1u << 9)
#define VM_ENTRY_INTO_SMM (1u << 10)
#define VM_ENTRY_DEACTIVATE_DUAL_MONITOR (1u << 11)
#define VM_ENTRY_LOAD_PERF_GLOBAL_CTRL (1u << 13)
#define VM_ENTRY_LOAD_PAT (1u << 14)
#define VM_ENTRY_LOAD_EFER (1u << 15)

/*
 * Interruption-information fields: VM-entry (24.8.3), VM-exit (24.9.2)
 * and IDT-vectoring (24.9.3) share this layout.
 */
#define VMCS_INTR_VECTOR_MASK 0xffu
#define VMCS_INTR_T_SHIFT 8
#define VMCS_INTR_T_MASK (7u << 8)
#define VMCS_INTR_T_HWINTR (0u << 8)
#define VMCS_INTR_T_NMI (2u << 8)
#define VMCS_INTR_T_HWEXCEPTION (3u << 8)
#define VMCS_INTR_T_SWINTR (4u << 8)
#define VMCS_INTR_T_PRIV_SWEXCEPTION (5u << 8)
#define VMCS_INTR_T_SWEXCEPTION (6u << 8)
#define VMCS_INTR_DEL_ERRCODE (1u << 11)
#define VMCS_INTR_NMI_UNBLOCK_IRET (1u << 12)
#define VMCS_INTR_VALID (1u << 31)

/* Guest interruptibility state (24.4.2, table 24-3). */
#define VMCS_INTERRUPTIBILITY_STI_BLOCKING (1u << 0)
#define VMCS_INTERRUPTIBILITY_MOVSS_BLOCKING (1u << 1)
#define VMCS_INTERRUPTIBILITY_SMI_BLOCKING (1u << 2)
#define VMCS_INTERRUPTIBILITY_NMI_BLOCKING (1u << 3)

/* Guest activity state (24.4.2). */
#define VMCS_ACTIVITY_ACTIVE 0
#define VMCS_ACTIVITY_HLT 1

/* Exit reason field: basic reason in 15:0 (appendix C). */
#define VMCS_EXIT_REASON_BASIC(r) ((r) & 0xffff)
#define VMCS_EXIT_REASON_ENTRY_FAIL (1u << 31)

#define EXIT_REASON_EXCEPTION 0
#define EXIT_REASON_EXT_INTR 1
#define EXIT_REASON_TRIPLE_FAULT 2
#define EXIT_REASON_INIT 3
#define EXIT_REASON_SIPI 4
#define EXIT_REASON_INTR_WINDOW 7
#define EXIT_REASON_NMI_WINDOW 8
#define EXIT_REASON_TASK_SWITCH 9
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_GETSEC 11
#define EXIT_REASON_HLT 12
#define EXIT_REASON_INVD 13
#define EXIT_REASON_INVLPG 14
#define EXIT_REASON_RDPMC 15
#define EXIT_REASON_RDTSC 16
#define EXIT_REASON_RSM 17
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_CR_ACCESS 28
#define EXIT_REASON_DR_ACCESS 29
#define EXIT_REASON_INOUT 30
#define EXIT_REASON_RDMSR 31
#define EXIT_REASON_WRMSR 32
#define EXIT_REASON_INVAL_VMCS 33	/* VM-entry failure: guest state */
#define EXIT_REASON_INVAL_MSR 34
#define EXIT_REASON_MWAIT 36
#define EXIT_REASON_MTF 37
#define EXIT_REASON_MONITOR 39
#define EXIT_REASON_PAUSE 40
#define EXIT_REASON_MCE_DURING_ENTRY 41
#define EXIT_REASON_TPR 43
#define EXIT_REASON_APIC_ACCESS 44
#define EXIT_REASON_GDTR_IDTR 46
#define EXIT_REASON_LDTR_TR 47
#define EXIT_REASON_EPT_FAULT 48
#define EXIT_REASON_EPT_MISCONFIG 49
#define EXIT_REASON_INVEPT 50
#define EXIT_REASON_RDTSCP 51
#define EXIT_REASON_VMX_PREEMPT 52
#define EXIT_REASON_INVVPID 53
#define EXIT_REASON_WBINVD 54
#define EXIT_REASON_XSETBV 55
#define EXIT_REASON_APIC_WRITE 56
#define EXIT_REASON_RDRAND 57
#define EXIT_REASON_INVPCID 58
#define EXIT_REASON_VMFUNC 59
#define EXIT_REASON_RDSEED 61
#define EXIT_REASON_XSAVES 63
#define EXIT_REASON_XRSTORS 64
#define EXIT_REASON_MAX 65
/*
 * Not the SDM's: the core met something it does not implement (a
 * hardware task switch, virtual-8086 mode).  vtx_unsupported_what() says
 * what.  A VMM treats it as an internal error.
 */
#define EXIT_REASON_MODEL_UNSUPPORTED 0xfffe

/* Exit qualification: I/O instructions (27.2.1, table 27-5). */
#define VTX_IOQ_SIZE(q) (((q) & 7) + 1)
#define VTX_IOQ_IN (1u << 3)
#define VTX_IOQ_STRING (1u << 4)
#define VTX_IOQ_REP (1u << 5)
#define VTX_IOQ_IMM (1u << 6)
#define VTX_IOQ_PORT(q) ((uint16_t)((q) >> 16))

/* Exit qualification: control-register accesses (table 27-3). */
#define VTX_CRQ_CR(q) ((q) & 0xf)
#define VTX_CRQ_TYPE(q) (((q) >> 4) & 3)
#define VTX_CRQ_MOV_TO 0
#define VTX_CRQ_MOV_FROM 1
#define VTX_CRQ_CLTS 2
#define VTX_CRQ_LMSW 3
#define VTX_CRQ_LMSW_MEM (1u << 6)
#define VTX_CRQ_GPR(q) (((q) >> 8) & 0xf)
#define VTX_CRQ_LMSW_SRC(q) (((q) >> 16) & 0xffff)

/* Exit qualification: MOV DR (table 27-4). */
#define VTX_DRQ_DR(q) ((q) & 7)
#define VTX_DRQ_FROM_DR (1u << 4)
#define VTX_DRQ_GPR(q) (((q) >> 8) & 0xf)

/* Exit qualification: EPT violations (table 27-7). */
#define VTX_EPTQ_READ (1u << 0)
#define VTX_EPTQ_WRITE (1u << 1)
#define VTX_EPTQ_FETCH (1u << 2)
#define VTX_EPTQ_READABLE (1u << 3)
#define VTX_EPTQ_WRITABLE (1u << 4)
#define VTX_EPTQ_EXECUTABLE (1u << 5)
#define VTX_EPTQ_GLA_VALID (1u << 7)
/* Bit 8: the access was to the translation (else to a paging entry). */
#define VTX_EPTQ_GLA_TRANSLATED (1u << 8)

/* VM-exit instruction information for INS/OUTS (27.2.5, table 27-8). */
/*
 * Address size 0: 16, 1: 32, 2: 64 bit; segment 0 ES, 1 CS, 2 SS, 3 DS,
 * 4 FS, 5 GS.
 */
#define VTX_INSINFO_ASIZE(i) (((i) >> 7) & 7)
#define VTX_INSINFO_SEG(i) (((i) >> 15) & 7)

/*
 * EPT (28.3).  The address field of an entry and of the EPTP holds a
 * host virtual address here (see above).
 */
#define EPT_R (1ULL << 0)
#define EPT_W (1ULL << 1)
#define EPT_X (1ULL << 2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3
#define EPT_MT_WB (6ULL << EPT_MT_SHIFT)
#define EPT_IGNORE_PAT (1ULL << 6)
#define EPT_LARGE (1ULL << 7)
#define EPT_ADDR_MASK 0x000ffffffffff000ULL
#define EPTP_MT_UC 0
#define EPTP_MT_WB 6
#define EPTP_PWL4 (3ULL << 3)	/* page-walk length - 1 */
#define EPTP_AD (1ULL << 6)
#define EPTP(pml4) (((uint64_t)(uintptr_t)(pml4) & EPT_ADDR_MASK) | \
    EPTP_PWL4 | EPTP_MT_WB)
#define INVEPT_TYPE_SINGLE_CONTEXT 1
#define INVEPT_TYPE_ALL_CONTEXTS 2

/* Capability MSRs (appendix A), read with vtx_cap_msr(). */
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_EXIT_CTLS 0x483
#define MSR_VMX_ENTRY_CTLS 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_VMCS_ENUM 0x48a
#define MSR_VMX_PROCBASED_CTLS2 0x48b
#define MSR_VMX_EPT_VPID_CAP 0x48c
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS 0x490

/* A logical processor in VMX root operation with its VMCS (clear). */
struct vtx *vtx_create(void);
void vtx_destroy(struct vtx *v);
/* The value of a capability MSR, or 0 for one the model has not. */
uint64_t vtx_cap_msr(uint32_t msr);

/* VMCLEAR: the launch state becomes "clear". */
int vtx_vmclear(struct vtx *v);
/* VMREAD/VMWRITE by SDM encoding (vmcs.h); enum vtx_status. */
int vmcs_read(struct vtx *v, uint32_t field, uint64_t *val);
int vmcs_write(struct vtx *v, uint32_t field, uint64_t val);

/*
 * VMLAUNCH (launch state must be clear) and VMRESUME (launched): enter
 * the guest with 'regs', run it until a VM exit, save the guest state
 * back (regs included) and return VTX_SUCCEED; the exit reason and its
 * information are in the VMCS.  A VM-entry failure on guest state is a VM
 * exit too (exit reason bit 31).  VTX_FAIL_VALID leaves the guest
 * untouched with the reason in VMCS_INSTRUCTION_ERROR.
 */
int vtx_vmlaunch(struct vtx *v, struct vtx_regs *regs)
    __attribute__((warn_unused_result));
int vtx_vmresume(struct vtx *v, struct vtx_regs *regs)
    __attribute__((warn_unused_result));

/* A host interrupt: any thread, any time; see above. */
void vtx_kick(struct vtx *v);

/* INVEPT (type 1 single context, 2 all contexts) and INVVPID. */
int vtx_invept(struct vtx *v, int type, uint64_t eptp);
int vtx_invvpid(struct vtx *v, int type, uint16_t vpid, uint64_t gla);

/* The MMIO assist (see above), valid after an EPT-violation exit. */
struct vtx_mmio {
	uint64_t gpa;
	uint8_t size;		/* 1..16 bytes */
	bool write;
	bool walk;		/* the guest's own page-table access */
	uint8_t data[16];	/* a write's data */
};
int vtx_mmio_access(struct vtx *v, struct vtx_mmio *m);
int vtx_mmio_complete(struct vtx *v, const void *data, int size);

/* After EXIT_REASON_MODEL_UNSUPPORTED: what the core does not do. */
const char *vtx_unsupported_what(struct vtx *v);
/* Guest instructions executed by this processor (benchmarks, tests). */
uint64_t vtx_icount(struct vtx *v);

#endif /* VTX_H */
