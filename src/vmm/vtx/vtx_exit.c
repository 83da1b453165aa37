/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VM exits (SDM vol. 3C, chapter 28): a stop of the core becomes a basic
 * exit reason (appendix C) with the exit qualification, guest-linear and
 * guest-physical addresses, instruction length and information, VM-exit
 * interruption information and IDT-vectoring information the SDM defines
 * for it (28.2).  One table row per stop kind.
 */
#include <string.h>

#include "vtx_internal.h"

/* A kick reported with "acknowledge interrupt on exit": its vector. */
#define VTX_HOST_KICK_VECTOR 0xf2

typedef void vtx_fill_t(struct vtx *v, const struct x86_stop_info *si);

struct vtx_stop_exit {
	uint16_t reason;
	vtx_fill_t *fill;
};

void
vtx_exit_basic(struct vtx *v, uint32_t reason, uint64_t qual)
{
	vtx_fset(v, VMCS_EXIT_REASON, reason);
	vtx_fset(v, VMCS_EXIT_QUALIFICATION, qual);
}

/* The opcode byte after the prefixes (and the ModRM byte after 0F xx). */
static int
vtx_opcode(const struct x86_stop_info *si, int *second, int *modrm)
{
	int i = 0, n = (int)si->inst_len;

	while (i < n) {
		uint8_t b = si->inst[i];

		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e ||
		    b == 0x64 || b == 0x65 || b == 0x66 || b == 0x67 ||
		    b == 0xf0 || b == 0xf2 || b == 0xf3 ||
		    (b >= 0x40 && b <= 0x4f))
			i++;
		else
			break;
	}
	*second = i + 1 < n ? si->inst[i + 1] : -1;
	*modrm = i + 2 < n ? si->inst[i + 2] : -1;
	return i < n ? si->inst[i] : -1;
}

/* vmm.h register names as VT-x register numbers (qualifications). */
static uint32_t
vtx_gpr_num(int reg)
{
	static const uint8_t num[VM_REG_GUEST_R15 + 1] = {
		[VM_REG_GUEST_RAX] = 0, [VM_REG_GUEST_RCX] = 1,
		[VM_REG_GUEST_RDX] = 2, [VM_REG_GUEST_RBX] = 3,
		[VM_REG_GUEST_RSP] = 4, [VM_REG_GUEST_RBP] = 5,
		[VM_REG_GUEST_RSI] = 6, [VM_REG_GUEST_RDI] = 7,
		[VM_REG_GUEST_R8] = 8, [VM_REG_GUEST_R9] = 9,
		[VM_REG_GUEST_R10] = 10, [VM_REG_GUEST_R11] = 11,
		[VM_REG_GUEST_R12] = 12, [VM_REG_GUEST_R13] = 13,
		[VM_REG_GUEST_R14] = 14, [VM_REG_GUEST_R15] = 15,
	};

	return reg >= 0 && reg <= VM_REG_GUEST_R15 ? num[reg] : 0;
}

/* 0: 16-bit, 1: 32-bit, 2: 64-bit, from a size in bytes. */
static uint32_t
vtx_size_code(int bytes)
{
	return bytes == 8 ? 2 : bytes == 4 ? 1 : 0;
}

/* I/O instructions (table 28-5, and 28.2.5 for INS/OUTS). */
static void
vtx_fill_io(struct vtx *v, const struct x86_stop_info *si)
{
	int second, modrm, op = vtx_opcode(si, &second, &modrm);
	uint64_t q = (uint64_t)(si->u.io.size - 1) |
	    (si->u.io.in ? VTX_IOQ_IN : 0) |
	    (si->u.io.string ? VTX_IOQ_STRING : 0) |
	    (si->u.io.rep ? VTX_IOQ_REP : 0) |
	    ((op >= 0xe4 && op <= 0xe7) ? VTX_IOQ_IMM : 0) |
	    (uint64_t)si->u.io.port << 16;

	vtx_fset(v, VMCS_EXIT_QUALIFICATION, q);
	if (!si->u.io.string)
		return;
	vtx_fset(v, VMCS_GUEST_LINEAR_ADDRESS, si->u.io.gla);
	vtx_fset(v, VMCS_EXIT_INSTRUCTION_INFO,
	    vtx_size_code(si->u.io.addr_size) << 7 |
	    (uint32_t)(si->u.io.seg & 7) << 15);
}

/*
 * EPT violation or misconfiguration (28.2.1, table 28-7).  The access is
 * kept for the MMIO assist (vtx.h).
 */
static void
vtx_fill_ept(struct vtx *v, const struct x86_stop_info *si)
{
	struct vtx_ept_fault f;
	uint64_t q = 0;

	vtx_ept_fault_info(v, si->u.mem.gpa, si->u.mem.access, &f);
	vtx_fset(v, VMCS_GUEST_PHYSICAL_ADDRESS, si->u.mem.gpa);
	v->mmio = (struct vtx_mmio){ .gpa = si->u.mem.gpa,
		.size = si->u.mem.size, .write = si->u.mem.access & X86_ACC_W,
		.walk = si->u.mem.walk };
	memcpy(v->mmio.data, si->u.mem.data, sizeof(v->mmio.data));
	v->mmio_valid = true;
	if (f.misconfig) {
		vtx_fset(v, VMCS_EXIT_REASON, EXIT_REASON_EPT_MISCONFIG);
		return;
	}
	q |= (si->u.mem.access & X86_ACC_R) ? VTX_EPTQ_READ : 0;
	q |= (si->u.mem.access & X86_ACC_W) ? VTX_EPTQ_WRITE : 0;
	q |= (si->u.mem.access & X86_ACC_X) ? VTX_EPTQ_FETCH : 0;
	q |= (uint64_t)(f.perm & 7) << 3;
	if (si->u.mem.gla_valid) {
		q |= VTX_EPTQ_GLA_VALID;
		if (!si->u.mem.walk)
			q |= VTX_EPTQ_GLA_TRANSLATED;
		vtx_fset(v, VMCS_GUEST_LINEAR_ADDRESS, si->u.mem.gla);
	}
	vtx_fset(v, VMCS_EXIT_QUALIFICATION, q);
}

/* An exception the bitmap asked for (28.2.2; #PF: CR2 in the qual). */
static void
vtx_fill_exception(struct vtx *v, const struct x86_stop_info *si)
{
	uint32_t info = VMCS_INTR_VALID | si->u.exc.vector |
	    (uint32_t)si->u.exc.type << VMCS_INTR_T_SHIFT;
	uint64_t dr6 = 0;

	if (si->u.exc.has_error) {
		info |= VMCS_INTR_DEL_ERRCODE;
		vtx_fset(v, VMCS_EXIT_INTR_ERRCODE, si->u.exc.error);
	}
	vtx_fset(v, VMCS_EXIT_INTR_INFO, info);
	if (si->u.exc.vector == 14) {
		vtx_fset(v, VMCS_EXIT_QUALIFICATION, si->u.exc.cr2);
	} else if (si->u.exc.vector == 1) {
		(void)x86_get_reg(v->cpu, VM_REG_GUEST_DR6, &dr6);
		vtx_fset(v, VMCS_EXIT_QUALIFICATION, dr6 & 0x600f);
	}
}

static void
vtx_fill_kick(struct vtx *v, const struct x86_stop_info *si)
{
	(void)si;
	if (v->exit_ctls & VM_EXIT_ACKNOWLEDGE_INTERRUPT)
		vtx_fset(v, VMCS_EXIT_INTR_INFO, VMCS_INTR_VALID |
		    VMCS_INTR_T_HWINTR | VTX_HOST_KICK_VECTOR);
}

/* Control-register accesses (table 28-3). */
static void
vtx_fill_cr(struct vtx *v, const struct x86_stop_info *si)
{
	static const uint8_t type[] = { [X86_CR_MOV_TO] = VTX_CRQ_MOV_TO,
		[X86_CR_MOV_FROM] = VTX_CRQ_MOV_FROM,
		[X86_CR_CLTS] = VTX_CRQ_CLTS, [X86_CR_LMSW] = VTX_CRQ_LMSW };
	int second, modrm;
	uint64_t q = si->u.cr.cr | (uint64_t)type[si->u.cr.kind & 3] << 4;

	if (si->u.cr.kind == X86_CR_MOV_TO || si->u.cr.kind == X86_CR_MOV_FROM)
		q |= (uint64_t)vtx_gpr_num(si->u.cr.gpr) << 8;
	if (si->u.cr.kind == X86_CR_LMSW) {
		(void)vtx_opcode(si, &second, &modrm);
		if (modrm >= 0 && (modrm >> 6) != 3)
			q |= VTX_CRQ_LMSW_MEM;
		q |= (si->u.cr.value & 0xffff) << 16;
	}
	vtx_fset(v, VMCS_EXIT_QUALIFICATION, q);
}

/* MOV DR (table 28-4). */
static void
vtx_fill_dr(struct vtx *v, const struct x86_stop_info *si)
{
	vtx_fset(v, VMCS_EXIT_QUALIFICATION, (si->u.dr.dr & 7) |
	    (si->u.dr.to_dr ? 0 : VTX_DRQ_FROM_DR) |
	    (uint64_t)vtx_gpr_num(si->u.dr.gpr) << 8);
}

static void
vtx_fill_invlpg(struct vtx *v, const struct x86_stop_info *si)
{
	vtx_fset(v, VMCS_EXIT_QUALIFICATION, si->u.invlpg.gla);
}

/*
 * LGDT/LIDT/SGDT/SIDT (46) or LLDT/LTR/SLDT/STR (47); the instruction
 * information gives the instruction identity in bits 29:28 (28.2.5).
 */
static void
vtx_fill_desc(struct vtx *v, const struct x86_stop_info *si)
{
	int second, modrm, op = vtx_opcode(si, &second, &modrm);
	uint32_t ident = modrm >= 0 ? (uint32_t)(modrm >> 3) & 3 : 0;

	if (op == 0x0f && second == 0x00)
		vtx_fset(v, VMCS_EXIT_REASON, EXIT_REASON_LDTR_TR);
	vtx_fset(v, VMCS_EXIT_INSTRUCTION_INFO, ident << 28);
}

/* RDRAND/RDSEED: destination register and operand size. */
static void
vtx_fill_rand(struct vtx *v, const struct x86_stop_info *si)
{
	vtx_fset(v, VMCS_EXIT_INSTRUCTION_INFO,
	    vtx_gpr_num(si->u.rand.gpr) << 3 |
	    vtx_size_code(si->u.rand.size) << 11);
}

static void
vtx_fill_unsupported(struct vtx *v, const struct x86_stop_info *si)
{
	v->unsupported = si->u.unsupported.what;
}

static const struct vtx_stop_exit vtx_stop_exits[X86_STOP_MAX] = {
	[X86_STOP_NONE] = { EXIT_REASON_MODEL_UNSUPPORTED, NULL },
	[X86_STOP_IO] = { EXIT_REASON_INOUT, vtx_fill_io },
	[X86_STOP_CPUID] = { EXIT_REASON_CPUID, NULL },
	[X86_STOP_RDMSR] = { EXIT_REASON_RDMSR, NULL },
	[X86_STOP_WRMSR] = { EXIT_REASON_WRMSR, NULL },
	[X86_STOP_HLT] = { EXIT_REASON_HLT, NULL },
	[X86_STOP_PAUSE] = { EXIT_REASON_PAUSE, NULL },
	[X86_STOP_MEM] = { EXIT_REASON_EPT_FAULT, vtx_fill_ept },
	[X86_STOP_TRIPLE_FAULT] = { EXIT_REASON_TRIPLE_FAULT, NULL },
	[X86_STOP_BUDGET] = { EXIT_REASON_VMX_PREEMPT, NULL },
	[X86_STOP_KICK] = { EXIT_REASON_EXT_INTR, vtx_fill_kick },
	[X86_STOP_EXCEPTION] = { EXIT_REASON_EXCEPTION, vtx_fill_exception },
	[X86_STOP_INVLPG] = { EXIT_REASON_INVLPG, vtx_fill_invlpg },
	[X86_STOP_CR_ACCESS] = { EXIT_REASON_CR_ACCESS, vtx_fill_cr },
	[X86_STOP_RDTSC] = { EXIT_REASON_RDTSC, NULL },
	[X86_STOP_RDTSCP] = { EXIT_REASON_RDTSCP, NULL },
	[X86_STOP_INTR_WINDOW] = { EXIT_REASON_INTR_WINDOW, NULL },
	[X86_STOP_NMI_WINDOW] = { EXIT_REASON_NMI_WINDOW, NULL },
	[X86_STOP_VMCALL] = { EXIT_REASON_VMCALL, NULL },
	[X86_STOP_XSETBV] = { EXIT_REASON_XSETBV, NULL },
	[X86_STOP_MWAIT] = { EXIT_REASON_MWAIT, NULL },
	[X86_STOP_MONITOR] = { EXIT_REASON_MONITOR, NULL },
	[X86_STOP_INVD] = { EXIT_REASON_INVD, NULL },
	[X86_STOP_WBINVD] = { EXIT_REASON_WBINVD, NULL },
	[X86_STOP_RDPMC] = { EXIT_REASON_RDPMC, NULL },
	[X86_STOP_DR_ACCESS] = { EXIT_REASON_DR_ACCESS, vtx_fill_dr },
	[X86_STOP_DESC_TABLE] = { EXIT_REASON_GDTR_IDTR, vtx_fill_desc },
	[X86_STOP_RDRAND] = { EXIT_REASON_RDRAND, vtx_fill_rand },
	[X86_STOP_RDSEED] = { EXIT_REASON_RDSEED, vtx_fill_rand },
	[X86_STOP_UNSUPPORTED] = { EXIT_REASON_MODEL_UNSUPPORTED,
	    vtx_fill_unsupported },
};

/* IDT-vectoring information: the exit cut an event delivery short. */
static void
vtx_fill_idt_vectoring(struct vtx *v, const struct x86_stop_info *si)
{
	uint32_t info = VMCS_INTR_VALID | si->idt_vec_vector |
	    (uint32_t)si->idt_vec_type << VMCS_INTR_T_SHIFT;

	if (si->idt_vec_has_error) {
		info |= VMCS_INTR_DEL_ERRCODE;
		vtx_fset(v, VMCS_IDT_VECTORING_ERROR, si->idt_vec_error);
	}
	vtx_fset(v, VMCS_IDT_VECTORING_INFO, info);
}

void
vtx_record_exit(struct vtx *v, const struct x86_stop_info *si)
{
	const struct vtx_stop_exit *e = si->reason < X86_STOP_MAX ?
	    &vtx_stop_exits[si->reason] : &vtx_stop_exits[X86_STOP_NONE];

	vtx_exit_basic(v, e->reason, 0);
	vtx_fset(v, VMCS_EXIT_INSTRUCTION_LENGTH, si->inst_len);
	/* A triple fault is not "during event delivery" (28.2.4). */
	if (si->idt_vec_valid && si->reason != X86_STOP_TRIPLE_FAULT)
		vtx_fill_idt_vectoring(v, si);
	if (e->fill != NULL)
		e->fill(v, si);
}
