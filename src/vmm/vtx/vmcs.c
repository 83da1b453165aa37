/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VMCS: VMREAD and VMWRITE by field encoding (SDM vol. 3C, 24.11 and
 * 31.3).  The table below lists the fields the model has; an encoding's
 * width and whether it is read-only follow from its bits (vmcs.h).
 * Guest-state fields also name the group that VM entry loads them with.
 */
#include "vtx_internal.h"

#define VMCS_KNOWN 0x80

#define VMCS_FIELDS(F)							\
	F(VMCS_VPID, VG_COUNT)						\
	F(VMCS_PIR_VECTOR, VG_COUNT)					\
	F(VMCS_EPTP_INDEX, VG_COUNT)					\
	F(VMCS_GUEST_ES_SELECTOR, VG_SEG0 + 0)				\
	F(VMCS_GUEST_CS_SELECTOR, VG_SEG0 + 1)				\
	F(VMCS_GUEST_SS_SELECTOR, VG_SEG0 + 2)				\
	F(VMCS_GUEST_DS_SELECTOR, VG_SEG0 + 3)				\
	F(VMCS_GUEST_FS_SELECTOR, VG_SEG0 + 4)				\
	F(VMCS_GUEST_GS_SELECTOR, VG_SEG0 + 5)				\
	F(VMCS_GUEST_LDTR_SELECTOR, VG_SEG0 + 6)			\
	F(VMCS_GUEST_TR_SELECTOR, VG_SEG0 + 7)				\
	F(VMCS_GUEST_INTR_STATUS, VG_OTHER)				\
	F(VMCS_HOST_ES_SELECTOR, VG_COUNT)				\
	F(VMCS_HOST_CS_SELECTOR, VG_COUNT)				\
	F(VMCS_HOST_SS_SELECTOR, VG_COUNT)				\
	F(VMCS_HOST_DS_SELECTOR, VG_COUNT)				\
	F(VMCS_HOST_FS_SELECTOR, VG_COUNT)				\
	F(VMCS_HOST_GS_SELECTOR, VG_COUNT)				\
	F(VMCS_HOST_TR_SELECTOR, VG_COUNT)				\
	F(VMCS_IO_BITMAP_A, VG_COUNT)					\
	F(VMCS_IO_BITMAP_B, VG_COUNT)					\
	F(VMCS_MSR_BITMAP, VG_COUNT)					\
	F(VMCS_EXIT_MSR_STORE, VG_COUNT)				\
	F(VMCS_EXIT_MSR_LOAD, VG_COUNT)					\
	F(VMCS_ENTRY_MSR_LOAD, VG_COUNT)				\
	F(VMCS_EXECUTIVE_VMCS, VG_COUNT)				\
	F(VMCS_TSC_OFFSET, VG_COUNT)					\
	F(VMCS_VIRTUAL_APIC, VG_COUNT)					\
	F(VMCS_APIC_ACCESS, VG_COUNT)					\
	F(VMCS_PIR_DESC, VG_COUNT)					\
	F(VMCS_EPTP, VG_COUNT)						\
	F(VMCS_EOI_EXIT0, VG_COUNT)					\
	F(VMCS_EOI_EXIT1, VG_COUNT)					\
	F(VMCS_EOI_EXIT2, VG_COUNT)					\
	F(VMCS_EOI_EXIT3, VG_COUNT)					\
	F(VMCS_XSS_EXITING_BITMAP, VG_COUNT)				\
	F(VMCS_GUEST_PHYSICAL_ADDRESS, VG_COUNT)			\
	F(VMCS_LINK_POINTER, VG_OTHER)					\
	F(VMCS_GUEST_IA32_DEBUGCTL, VG_OTHER)				\
	F(VMCS_GUEST_IA32_PAT, VG_PAT)					\
	F(VMCS_GUEST_IA32_EFER, VG_EFER)				\
	F(VMCS_GUEST_IA32_PERF_GLOBAL_CTRL, VG_OTHER)			\
	F(VMCS_GUEST_PDPTE0, VG_OTHER)					\
	F(VMCS_GUEST_PDPTE1, VG_OTHER)					\
	F(VMCS_GUEST_PDPTE2, VG_OTHER)					\
	F(VMCS_GUEST_PDPTE3, VG_OTHER)					\
	F(VMCS_HOST_IA32_PAT, VG_COUNT)					\
	F(VMCS_HOST_IA32_EFER, VG_COUNT)				\
	F(VMCS_HOST_IA32_PERF_GLOBAL_CTRL, VG_COUNT)			\
	F(VMCS_PIN_BASED_CTLS, VG_COUNT)				\
	F(VMCS_PRI_PROC_BASED_CTLS, VG_COUNT)				\
	F(VMCS_EXCEPTION_BITMAP, VG_COUNT)				\
	F(VMCS_PF_ERROR_MASK, VG_COUNT)					\
	F(VMCS_PF_ERROR_MATCH, VG_COUNT)				\
	F(VMCS_CR3_TARGET_COUNT, VG_COUNT)				\
	F(VMCS_EXIT_CTLS, VG_COUNT)					\
	F(VMCS_EXIT_MSR_STORE_COUNT, VG_COUNT)				\
	F(VMCS_EXIT_MSR_LOAD_COUNT, VG_COUNT)				\
	F(VMCS_ENTRY_CTLS, VG_COUNT)					\
	F(VMCS_ENTRY_MSR_LOAD_COUNT, VG_COUNT)				\
	F(VMCS_ENTRY_INTR_INFO, VG_COUNT)				\
	F(VMCS_ENTRY_EXCEPTION_ERROR, VG_COUNT)				\
	F(VMCS_ENTRY_INST_LENGTH, VG_COUNT)				\
	F(VMCS_TPR_THRESHOLD, VG_COUNT)					\
	F(VMCS_SEC_PROC_BASED_CTLS, VG_COUNT)				\
	F(VMCS_PLE_GAP, VG_COUNT)					\
	F(VMCS_PLE_WINDOW, VG_COUNT)					\
	F(VMCS_INSTRUCTION_ERROR, VG_COUNT)				\
	F(VMCS_EXIT_REASON, VG_COUNT)					\
	F(VMCS_EXIT_INTR_INFO, VG_COUNT)				\
	F(VMCS_EXIT_INTR_ERRCODE, VG_COUNT)				\
	F(VMCS_IDT_VECTORING_INFO, VG_COUNT)				\
	F(VMCS_IDT_VECTORING_ERROR, VG_COUNT)				\
	F(VMCS_EXIT_INSTRUCTION_LENGTH, VG_COUNT)			\
	F(VMCS_EXIT_INSTRUCTION_INFO, VG_COUNT)				\
	F(VMCS_GUEST_ES_LIMIT, VG_SEG0 + 0)				\
	F(VMCS_GUEST_CS_LIMIT, VG_SEG0 + 1)				\
	F(VMCS_GUEST_SS_LIMIT, VG_SEG0 + 2)				\
	F(VMCS_GUEST_DS_LIMIT, VG_SEG0 + 3)				\
	F(VMCS_GUEST_FS_LIMIT, VG_SEG0 + 4)				\
	F(VMCS_GUEST_GS_LIMIT, VG_SEG0 + 5)				\
	F(VMCS_GUEST_LDTR_LIMIT, VG_SEG0 + 6)				\
	F(VMCS_GUEST_TR_LIMIT, VG_SEG0 + 7)				\
	F(VMCS_GUEST_GDTR_LIMIT, VG_GDTR)				\
	F(VMCS_GUEST_IDTR_LIMIT, VG_IDTR)				\
	F(VMCS_GUEST_ES_ACCESS_RIGHTS, VG_SEG0 + 0)			\
	F(VMCS_GUEST_CS_ACCESS_RIGHTS, VG_SEG0 + 1)			\
	F(VMCS_GUEST_SS_ACCESS_RIGHTS, VG_SEG0 + 2)			\
	F(VMCS_GUEST_DS_ACCESS_RIGHTS, VG_SEG0 + 3)			\
	F(VMCS_GUEST_FS_ACCESS_RIGHTS, VG_SEG0 + 4)			\
	F(VMCS_GUEST_GS_ACCESS_RIGHTS, VG_SEG0 + 5)			\
	F(VMCS_GUEST_LDTR_ACCESS_RIGHTS, VG_SEG0 + 6)			\
	F(VMCS_GUEST_TR_ACCESS_RIGHTS, VG_SEG0 + 7)			\
	F(VMCS_GUEST_INTERRUPTIBILITY, VG_INTR)				\
	F(VMCS_GUEST_ACTIVITY, VG_OTHER)				\
	F(VMCS_GUEST_SMBASE, VG_OTHER)					\
	F(VMCS_GUEST_IA32_SYSENTER_CS, VG_SYSENTER)			\
	F(VMCS_PREEMPTION_TIMER_VALUE, VG_OTHER)			\
	F(VMCS_HOST_IA32_SYSENTER_CS, VG_COUNT)				\
	F(VMCS_CR0_MASK, VG_COUNT)					\
	F(VMCS_CR4_MASK, VG_COUNT)					\
	F(VMCS_CR0_SHADOW, VG_COUNT)					\
	F(VMCS_CR4_SHADOW, VG_COUNT)					\
	F(VMCS_CR3_TARGET0, VG_COUNT)					\
	F(VMCS_CR3_TARGET1, VG_COUNT)					\
	F(VMCS_CR3_TARGET2, VG_COUNT)					\
	F(VMCS_CR3_TARGET3, VG_COUNT)					\
	F(VMCS_EXIT_QUALIFICATION, VG_COUNT)				\
	F(VMCS_IO_RCX, VG_COUNT)					\
	F(VMCS_IO_RSI, VG_COUNT)					\
	F(VMCS_IO_RDI, VG_COUNT)					\
	F(VMCS_IO_RIP, VG_COUNT)					\
	F(VMCS_GUEST_LINEAR_ADDRESS, VG_COUNT)				\
	F(VMCS_GUEST_CR0, VG_CR0)					\
	F(VMCS_GUEST_CR3, VG_CR3)					\
	F(VMCS_GUEST_CR4, VG_CR4)					\
	F(VMCS_GUEST_ES_BASE, VG_SEG0 + 0)				\
	F(VMCS_GUEST_CS_BASE, VG_SEG0 + 1)				\
	F(VMCS_GUEST_SS_BASE, VG_SEG0 + 2)				\
	F(VMCS_GUEST_DS_BASE, VG_SEG0 + 3)				\
	F(VMCS_GUEST_FS_BASE, VG_SEG0 + 4)				\
	F(VMCS_GUEST_GS_BASE, VG_SEG0 + 5)				\
	F(VMCS_GUEST_LDTR_BASE, VG_SEG0 + 6)				\
	F(VMCS_GUEST_TR_BASE, VG_SEG0 + 7)				\
	F(VMCS_GUEST_GDTR_BASE, VG_GDTR)				\
	F(VMCS_GUEST_IDTR_BASE, VG_IDTR)				\
	F(VMCS_GUEST_DR7, VG_DR7)					\
	F(VMCS_GUEST_RSP, VG_RSP)					\
	F(VMCS_GUEST_RIP, VG_RIP)					\
	F(VMCS_GUEST_RFLAGS, VG_RFLAGS)					\
	F(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, VG_OTHER)			\
	F(VMCS_GUEST_IA32_SYSENTER_ESP, VG_SYSENTER)			\
	F(VMCS_GUEST_IA32_SYSENTER_EIP, VG_SYSENTER)			\
	F(VMCS_HOST_CR0, VG_COUNT)					\
	F(VMCS_HOST_CR3, VG_COUNT)					\
	F(VMCS_HOST_CR4, VG_COUNT)					\
	F(VMCS_HOST_FS_BASE, VG_COUNT)					\
	F(VMCS_HOST_GS_BASE, VG_COUNT)					\
	F(VMCS_HOST_TR_BASE, VG_COUNT)					\
	F(VMCS_HOST_GDTR_BASE, VG_COUNT)				\
	F(VMCS_HOST_IDTR_BASE, VG_COUNT)				\
	F(VMCS_HOST_IA32_SYSENTER_ESP, VG_COUNT)			\
	F(VMCS_HOST_IA32_SYSENTER_EIP, VG_COUNT)			\
	F(VMCS_HOST_RSP, VG_COUNT)					\
	F(VMCS_HOST_RIP, VG_COUNT)

/* Every listed index fits the key (a listed field can never alias). */
#define VMCS_CHECK_INDEX(enc, grp) \
	_Static_assert(VMCS_ENC_INDEX(enc) < VMCS_INDEX_MAX, #enc);
VMCS_FIELDS(VMCS_CHECK_INDEX)

static const uint8_t vmcs_field_info[VMCS_NKEYS] = {
#define VMCS_INFO(enc, grp) [VMCS_KEY(enc)] = VMCS_KNOWN | (grp),
	VMCS_FIELDS(VMCS_INFO)
#undef VMCS_INFO
};

/*
 * A component exists when its encoding has no reserved bit set (31:15,
 * 12), its index fits, it is in the table, and a high access names a
 * 64-bit field.
 */
bool
vmcs_known(uint32_t enc)
{
	if ((enc & ~0x6fffu) != 0 || VMCS_ENC_INDEX(enc) >= VMCS_INDEX_MAX)
		return false;
	if (VMCS_ENC_HIGH(enc) && VMCS_ENC_WIDTH(enc) != VMCS_WIDTH_64)
		return false;
	return (vmcs_field_info[VMCS_KEY(enc)] & VMCS_KNOWN) != 0;
}

int
vmcs_group(uint32_t enc)
{
	return vmcs_field_info[VMCS_KEY(enc)] & ~VMCS_KNOWN;
}

static int
vmcs_fail(struct vtx *v, uint32_t error)
{
	vtx_fset(v, VMCS_INSTRUCTION_ERROR, error);
	return VTX_FAIL_VALID;
}

/* VMREAD: zero-extended to 64 bits (SDM vol. 3C, VMREAD). */
int
vmcs_read(struct vtx *v, uint32_t field, uint64_t *val)
{
	uint64_t x;

	if (v == NULL)
		return VTX_FAIL_INVALID;
	if (!vmcs_known(field))
		return vmcs_fail(v, VMXERR_UNSUPPORTED_FIELD);
	x = v->f[VMCS_KEY(field)];
	*val = VMCS_ENC_HIGH(field) ? x >> 32 : x;
	return VTX_SUCCEED;
}

/*
 * VMWRITE: the source is truncated to the field's width; a high access
 * replaces bits 63:32 of a 64-bit field.  VM-exit information fields are
 * read-only (IA32_VMX_MISC bit 29 is 0 here).
 */
int
vmcs_write(struct vtx *v, uint32_t field, uint64_t val)
{
	uint64_t *p;
	int grp;

	if (v == NULL)
		return VTX_FAIL_INVALID;
	if (!vmcs_known(field))
		return vmcs_fail(v, VMXERR_UNSUPPORTED_FIELD);
	if (VMCS_ENC_TYPE(field) == VMCS_TYPE_EXIT_INFO)
		return vmcs_fail(v, VMXERR_READONLY_FIELD);
	p = &v->f[VMCS_KEY(field)];
	if (VMCS_ENC_HIGH(field))
		*p = (*p & 0xffffffffULL) | (val << 32);
	else if (VMCS_ENC_WIDTH(field) == VMCS_WIDTH_16)
		*p = val & 0xffff;
	else if (VMCS_ENC_WIDTH(field) == VMCS_WIDTH_32)
		*p = val & 0xffffffffULL;
	else
		*p = val;
	grp = vmcs_group(field);
	if (grp < VG_COUNT)
		v->dirty |= 1u << grp;
	else
		v->ctls_ok = false;	/* a control or host field */
	return VTX_SUCCEED;
}

/*
 * VMCLEAR: the launch state becomes clear.  The guest state goes back to
 * memory first: here it already is (a VM exit stores all of it).
 */
int
vtx_vmclear(struct vtx *v)
{
	if (v == NULL)
		return VTX_FAIL_INVALID;
	v->launched = false;
	return VTX_SUCCEED;
}
