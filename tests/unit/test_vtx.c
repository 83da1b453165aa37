/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VT-x model (src/vmm/vtx) as a VMM sees it: VMCS field widths and
 * read-only fields, VMfail on bad controls, VM-entry failures on guest
 * state, every exit reason the model produces with its qualification and
 * instruction information, EPT violations and misconfigurations, event
 * injection with error codes, the interrupt window and the STI shadow,
 * IDT-vectoring information, the preemption timer and the HLT state.
 * The test is the VMM: it builds the EPT tables and a 64-bit guest with
 * identity paging, and checks the VMCS against the SDM.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "test.h"
#include "vmm.h"
#include "vtx/vtx.h"

#define RAM_SIZE (4u << 20)
#define G_PML4 0x1000
#define G_PDPT 0x2000
#define G_PD 0x3000
#define G_GDT 0x5000
#define G_IDT 0x6000
#define G_TSS 0x7000
#define G_CODE 0x10000
#define G_HANDLER 0x20000
#define G_STACK 0x80000
#define G_DATA 0x100000
#define G_NOTPRESENT 0x300000	/* EPT: no entry */
#define G_READONLY 0x301000	/* EPT: R */
#define G_NOEXEC 0x302000	/* EPT: R/W */
#define G_MISCONF 0x303000	/* EPT: W only */

struct tv {
	uint8_t *ram;
	uint64_t *ept[5];	/* PML4, PDPT, PD, PT0, PT1 */
	uint8_t *bitmaps;	/* I/O A, I/O B, MSR: a page each */
	struct vtx *v;
	struct vtx_regs regs;
	bool launched;
};

#define SNIP(name) extern const uint8_t name[], name##_end[]
SNIP(vt_out80);
SNIP(vt_in_dx);
SNIP(vt_rep_outsb);
SNIP(vt_insd32);
SNIP(vt_cpuid);
SNIP(vt_rdmsr);
SNIP(vt_wrmsr);
SNIP(vt_hlt);
SNIP(vt_read_np);
SNIP(vt_write_ro);
SNIP(vt_jmp_noexec);
SNIP(vt_read_misconf);
SNIP(vt_ud2);
SNIP(vt_pf_write);
SNIP(vt_int3);
SNIP(vt_nops);
SNIP(vt_sti);
SNIP(vt_mov_cr0);
SNIP(vt_cr8);
SNIP(vt_mov_cr3);
SNIP(vt_mov_dr7);
SNIP(vt_rdtsc);
SNIP(vt_regs);
SNIP(vt_h_err);
SNIP(vt_h_ret);

__asm__(
	".pushsection .rodata\n"
	".code64\n"
	"vt_out80: mov $0x42, %al\n out %al, $0x80\n hlt\n vt_out80_end:\n"
	"vt_in_dx: mov $0x1234, %dx\n in %dx, %ax\n hlt\n vt_in_dx_end:\n"
	"vt_rep_outsb: mov $0x100000, %esi\n mov $3, %ecx\n mov $0x3f8, %dx\n"
	"	rep outsb\n hlt\n vt_rep_outsb_end:\n"
	"vt_insd32: mov $0x100010, %edi\n mov $0x70, %dx\n"
	"	addr32 insl\n hlt\n vt_insd32_end:\n"
	"vt_cpuid: cpuid\n hlt\n vt_cpuid_end:\n"
	"vt_rdmsr: rdmsr\n hlt\n vt_rdmsr_end:\n"
	"vt_wrmsr: wrmsr\n hlt\n vt_wrmsr_end:\n"
	"vt_hlt: hlt\n vt_hlt_end:\n"
	"vt_read_np: mov 0x300008, %rax\n hlt\n vt_read_np_end:\n"
	"vt_write_ro: movq $5, 0x301010\n hlt\n vt_write_ro_end:\n"
	"vt_jmp_noexec: mov $0x302000, %eax\n jmp *%rax\n vt_jmp_noexec_end:\n"
	"vt_read_misconf: mov 0x303000, %rax\n hlt\n vt_read_misconf_end:\n"
	"vt_ud2: ud2\n vt_ud2_end:\n"
	"vt_pf_write: movq $1, 0x400000\n hlt\n vt_pf_write_end:\n"
	"vt_int3: int3\n hlt\n vt_int3_end:\n"
	"vt_nops: .fill 16, 1, 0x90\n hlt\n vt_nops_end:\n"
	"vt_sti: nop\n sti\n nop\n nop\n hlt\n vt_sti_end:\n"
	"vt_mov_cr0: mov %rdx, %cr0\n hlt\n vt_mov_cr0_end:\n"
	"vt_cr8: mov %rax, %cr8\n mov %cr8, %rbx\n hlt\n vt_cr8_end:\n"
	"vt_mov_cr3: mov %rax, %cr3\n hlt\n vt_mov_cr3_end:\n"
	"vt_mov_dr7: mov %rax, %dr7\n hlt\n vt_mov_dr7_end:\n"
	"vt_rdtsc: rdtsc\n hlt\n vt_rdtsc_end:\n"
	"vt_regs: add $1, %rbx\n add $2, %r15\n hlt\n vt_regs_end:\n"
	/* Handlers: the error code into RAX, or the return RIP into RBX. */
	"vt_h_err: pop %rax\n hlt\n vt_h_err_end:\n"
	"vt_h_ret: mov (%rsp), %rbx\n hlt\n vt_h_ret_end:\n"
	".popsection\n");

static void
put64(struct tv *t, uint64_t gpa, uint64_t v)
{
	memcpy(t->ram + gpa, &v, 8);
}

static uint64_t
get64(struct tv *t, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, t->ram + gpa, 8);
	return v;
}

static uint64_t
rd(struct tv *t, uint32_t field)
{
	uint64_t v = 0xdeadbeef;

	CHECK_EQ(vmcs_read(t->v, field, &v), VTX_SUCCEED);
	return v;
}

static void
wr(struct tv *t, uint32_t field, uint64_t v)
{
	CHECK_EQ(vmcs_write(t->v, field, v), VTX_SUCCEED);
}

static uint64_t
hva(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* EPT permission of one guest page (the tables are the test's). */
static void
ept_set(struct tv *t, uint64_t gpa, uint64_t perm)
{
	uint64_t *pt = t->ept[3 + (gpa >> 21)];

	pt[(gpa >> 12) & 511] = perm ? (hva(t->ram + (gpa & ~0xfffULL)) |
	    perm | EPT_MT_WB) : 0;
}

static void
ept_build(struct tv *t)
{
	for (int i = 0; i < 5; i++) {
		t->ept[i] = aligned_alloc(4096, 4096);
		memset(t->ept[i], 0, 4096);
	}
	t->ept[0][0] = hva(t->ept[1]) | EPT_RWX;
	t->ept[1][0] = hva(t->ept[2]) | EPT_RWX;
	t->ept[2][0] = hva(t->ept[3]) | EPT_RWX;
	t->ept[2][1] = hva(t->ept[4]) | EPT_RWX;
	for (uint64_t gpa = 0; gpa < RAM_SIZE; gpa += 4096)
		ept_set(t, gpa, EPT_RWX);
	ept_set(t, G_NOTPRESENT, 0);
	ept_set(t, G_READONLY, EPT_R);
	ept_set(t, G_NOEXEC, EPT_R | EPT_W);
	ept_set(t, G_MISCONF, EPT_W);
}

/* Identity paging for 0-4 MiB (2 MiB pages), GDT, TSS, an empty IDT. */
static void
guest_build(struct tv *t)
{
	put64(t, G_PML4, G_PDPT | 3);
	put64(t, G_PDPT, G_PD | 3);
	put64(t, G_PD, 0x000083);
	put64(t, G_PD + 8, 0x200083);
	put64(t, G_GDT + 0x08, 0x00af9b000000ffffULL);
	put64(t, G_GDT + 0x10, 0x00cf93000000ffffULL);
	put64(t, G_GDT + 0x18, 0x00008b0000000067ULL | (uint64_t)G_TSS << 16);
}

/* A 64-bit interrupt gate to 'handler' for 'vector'. */
static void
idt_gate(struct tv *t, int vector, uint64_t handler)
{
	uint64_t lo = (handler & 0xffff) | 0x08ULL << 16 | 0x8eULL << 40 |
	    ((handler >> 16) & 0xffff) << 48;

	put64(t, G_IDT + 16 * (uint64_t)vector, lo);
	put64(t, G_IDT + 16 * (uint64_t)vector + 8, handler >> 32);
}

static uint32_t
ctls(uint32_t msr, uint32_t ones)
{
	return (uint32_t)vtx_cap_msr(msr) | ones;
}

static void
vmcs_controls(struct tv *t)
{
	wr(t, VMCS_PIN_BASED_CTLS, ctls(MSR_VMX_TRUE_PINBASED_CTLS,
	    PINBASED_NMI_EXITING | PINBASED_VIRTUAL_NMI));
	wr(t, VMCS_PRI_PROC_BASED_CTLS, ctls(MSR_VMX_TRUE_PROCBASED_CTLS,
	    PROCBASED_HLT_EXITING | PROCBASED_IO_EXITING |
	    PROCBASED_SECONDARY_CONTROLS));
	wr(t, VMCS_SEC_PROC_BASED_CTLS, PROCBASED2_ENABLE_EPT);
	wr(t, VMCS_EXIT_CTLS, ctls(MSR_VMX_TRUE_EXIT_CTLS, VM_EXIT_HOST_LMA |
	    VM_EXIT_SAVE_EFER | VM_EXIT_LOAD_EFER));
	wr(t, VMCS_ENTRY_CTLS, ctls(MSR_VMX_TRUE_ENTRY_CTLS,
	    VM_ENTRY_GUEST_LMA | VM_ENTRY_LOAD_EFER));
	wr(t, VMCS_EPTP, EPTP(t->ept[0]));
	wr(t, VMCS_IO_BITMAP_A, hva(t->bitmaps));
	wr(t, VMCS_IO_BITMAP_B, hva(t->bitmaps + 4096));
	wr(t, VMCS_MSR_BITMAP, hva(t->bitmaps + 8192));
}

static void
vmcs_guest(struct tv *t)
{
	for (int s = 0; s < 6; s++) {
		wr(t, VMCS_GUEST_SELECTOR(s), s == 1 ? 0x08 : 0x10);
		wr(t, VMCS_GUEST_BASE(s), 0);
		wr(t, VMCS_GUEST_LIMIT(s), 0xffffffff);
		wr(t, VMCS_GUEST_ACCESS_RIGHTS(s), s == 1 ? 0xa09b : 0xc093);
	}
	wr(t, VMCS_GUEST_LDTR_ACCESS_RIGHTS, SEG_ACCESS_UNUSABLE);
	wr(t, VMCS_GUEST_TR_SELECTOR, 0x18);
	wr(t, VMCS_GUEST_TR_BASE, G_TSS);
	wr(t, VMCS_GUEST_TR_LIMIT, 0x67);
	wr(t, VMCS_GUEST_TR_ACCESS_RIGHTS, 0x8b);
	wr(t, VMCS_GUEST_GDTR_BASE, G_GDT);
	wr(t, VMCS_GUEST_GDTR_LIMIT, 0x27);
	wr(t, VMCS_GUEST_IDTR_BASE, G_IDT);
	wr(t, VMCS_GUEST_IDTR_LIMIT, 0xfff);
	wr(t, VMCS_GUEST_CR0, 0x80000031);
	wr(t, VMCS_GUEST_CR3, G_PML4);
	wr(t, VMCS_GUEST_CR4, 0x20);
	wr(t, VMCS_GUEST_IA32_EFER, 0x500);
	wr(t, VMCS_GUEST_DR7, 0x400);
	wr(t, VMCS_GUEST_RSP, G_STACK);
	wr(t, VMCS_GUEST_RIP, G_CODE);
	wr(t, VMCS_GUEST_RFLAGS, 0x2);
	wr(t, VMCS_LINK_POINTER, ~0ULL);
}

static void
tv_init(struct tv *t)
{
	memset(t, 0, sizeof(*t));
	t->ram = aligned_alloc(2u << 20, RAM_SIZE);
	memset(t->ram, 0, RAM_SIZE);
	t->bitmaps = aligned_alloc(4096, 3 * 4096);
	memset(t->bitmaps, 0, 3 * 4096);
	ept_build(t);
	guest_build(t);
	t->v = vtx_create();
	CHECK(t->v != NULL);
	vmcs_controls(t);
	vmcs_guest(t);
}

static void
tv_fini(struct tv *t)
{
	vtx_destroy(t->v);
	for (int i = 0; i < 5; i++)
		free(t->ept[i]);
	free(t->bitmaps);
	free(t->ram);
}

#define CODE(t, name) tv_code(t, name, (size_t)(name##_end - name), G_CODE)
#define HANDLER(t, name, vec) \
	do { \
		tv_code(t, name, (size_t)(name##_end - name), G_HANDLER); \
		idt_gate(t, vec, G_HANDLER); \
	} while (0)

static void
tv_code(struct tv *t, const uint8_t *code, size_t len, uint64_t gpa)
{
	memcpy(t->ram + gpa, code, len);
}

/* Enter the guest; the basic exit reason, or -1 on VMfail. */
static int
tv_run(struct tv *t)
{
	int st = t->launched ? vtx_vmresume(t->v, &t->regs) :
	    vtx_vmlaunch(t->v, &t->regs);

	if (st != VTX_SUCCEED)
		return -1;
	t->launched = true;
	return (int)(rd(t, VMCS_EXIT_REASON) & 0xffff);
}

/* ---- the VMCS ---- */

TEST(vmcs_field_widths)
{
	struct tv t;

	tv_init(&t);
	/* 16-bit, 32-bit, 64-bit and natural-width fields. */
	wr(&t, VMCS_GUEST_ES_SELECTOR, 0x1122334455667788ULL);
	CHECK_EQ(rd(&t, VMCS_GUEST_ES_SELECTOR), 0x7788);
	wr(&t, VMCS_GUEST_ES_LIMIT, 0x1122334455667788ULL);
	CHECK_EQ(rd(&t, VMCS_GUEST_ES_LIMIT), 0x55667788);
	wr(&t, VMCS_TSC_OFFSET, 0x1122334455667788ULL);
	CHECK_EQ(rd(&t, VMCS_TSC_OFFSET), 0x1122334455667788ULL);
	wr(&t, VMCS_GUEST_RIP, 0x1122334455667788ULL);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), 0x1122334455667788ULL);
	/* The high access of a 64-bit field: bits 63:32 alone. */
	CHECK_EQ(rd(&t, VMCS_TSC_OFFSET + 1), 0x11223344);
	wr(&t, VMCS_TSC_OFFSET + 1, 0xaabbccdd);
	CHECK_EQ(rd(&t, VMCS_TSC_OFFSET), 0xaabbccdd55667788ULL);
	tv_fini(&t);
}

TEST(vmcs_readonly_and_unsupported)
{
	struct tv t;
	uint64_t v;

	tv_init(&t);
	CHECK_EQ(vmcs_write(t.v, VMCS_EXIT_REASON, 1), VTX_FAIL_VALID);
	CHECK_EQ(rd(&t, VMCS_INSTRUCTION_ERROR), VMXERR_READONLY_FIELD);
	CHECK_EQ(vmcs_write(t.v, VMCS_EXIT_QUALIFICATION, 1), VTX_FAIL_VALID);
	CHECK_EQ(vmcs_write(t.v, VMCS_GUEST_PHYSICAL_ADDRESS, 1),
	    VTX_FAIL_VALID);
	CHECK_EQ(vmcs_read(t.v, VMCS_EXIT_REASON, &v), VTX_SUCCEED);
	/* High access of a 32-bit field; an unknown index; bit 12. */
	CHECK_EQ(vmcs_read(t.v, VMCS_GUEST_ES_LIMIT + 1, &v), VTX_FAIL_VALID);
	CHECK_EQ(rd(&t, VMCS_INSTRUCTION_ERROR), VMXERR_UNSUPPORTED_FIELD);
	CHECK_EQ(vmcs_write(t.v, 0x6c7e, 0), VTX_FAIL_VALID);
	CHECK_EQ(vmcs_write(t.v, 0x1000, 0), VTX_FAIL_VALID);
	CHECK_EQ(vmcs_read(t.v, 0x10000, &v), VTX_FAIL_VALID);
	CHECK_EQ(vmcs_read(NULL, VMCS_GUEST_RIP, &v), VTX_FAIL_INVALID);
	tv_fini(&t);
}

TEST(capability_msrs_are_consistent)
{
	static const uint32_t msrs[] = { MSR_VMX_PINBASED_CTLS,
		MSR_VMX_PROCBASED_CTLS, MSR_VMX_EXIT_CTLS, MSR_VMX_ENTRY_CTLS,
		MSR_VMX_TRUE_PINBASED_CTLS, MSR_VMX_TRUE_PROCBASED_CTLS,
		MSR_VMX_TRUE_EXIT_CTLS, MSR_VMX_TRUE_ENTRY_CTLS,
		MSR_VMX_PROCBASED_CTLS2 };

	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		uint64_t c = vtx_cap_msr(msrs[i]);

		CHECK_EQ((uint32_t)c & ~(uint32_t)(c >> 32), 0);
	}
	CHECK(vtx_cap_msr(MSR_VMX_BASIC) & (1ULL << 55));
	CHECK(vtx_cap_msr(MSR_VMX_PINBASED_CTLS) & PINBASED_EXTINT_EXITING);
	CHECK_EQ(vtx_cap_msr(0x12345), 0);
}

/* ---- VM entry ---- */

static int
launch_fails(struct tv *t, uint32_t field, uint64_t val)
{
	uint64_t old = rd(t, field);
	int st;

	wr(t, field, val);
	st = vtx_vmlaunch(t->v, &t->regs);
	wr(t, field, old);
	if (st == VTX_SUCCEED)
		(void)vtx_vmclear(t->v);	/* it ran: clear for the next */
	return st == VTX_FAIL_VALID ? (int)rd(t, VMCS_INSTRUCTION_ERROR) : 0;
}

TEST(entry_fails_on_bad_controls)
{
	struct tv t;
	uint32_t pin, proc;

	tv_init(&t);
	CODE(&t, vt_hlt);
	pin = (uint32_t)rd(&t, VMCS_PIN_BASED_CTLS);
	proc = (uint32_t)rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	CHECK_EQ(launch_fails(&t, VMCS_PIN_BASED_CTLS, pin & ~1u), 7);
	CHECK_EQ(launch_fails(&t, VMCS_PRI_PROC_BASED_CTLS,
	    proc | PROCBASED_USE_TPR_SHADOW), 7);
	CHECK_EQ(launch_fails(&t, VMCS_SEC_PROC_BASED_CTLS, 0), 7);
	CHECK_EQ(launch_fails(&t, VMCS_EPTP, EPTP(t.ept[0]) | EPTP_AD), 7);
	/* Virtual NMIs need NMI exiting; NMI-window exiting needs them. */
	CHECK_EQ(launch_fails(&t, VMCS_PIN_BASED_CTLS,
	    pin & ~PINBASED_NMI_EXITING), 7);
	CHECK_EQ(launch_fails(&t, VMCS_PRI_PROC_BASED_CTLS,
	    proc | PROCBASED_IO_BITMAPS | PROCBASED_NMI_WINDOW_EXITING), 0);
	wr(&t, VMCS_PIN_BASED_CTLS, pin & ~PINBASED_VIRTUAL_NMI);
	CHECK_EQ(launch_fails(&t, VMCS_PRI_PROC_BASED_CTLS,
	    proc | PROCBASED_NMI_WINDOW_EXITING), 7);
	wr(&t, VMCS_PIN_BASED_CTLS, pin);
	/* I/O bitmaps need page-aligned addresses. */
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_IO_BITMAPS);
	CHECK_EQ(launch_fails(&t, VMCS_IO_BITMAP_B, hva(t.bitmaps) + 8), 7);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc);
	/* A hardware exception above 31; an error code for #UD. */
	CHECK_EQ(launch_fails(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_HWEXCEPTION | 32), 7);
	CHECK_EQ(launch_fails(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_HWEXCEPTION | VMCS_INTR_DEL_ERRCODE | 6), 7);
	CHECK_EQ(launch_fails(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_SWINTR | 0x80), 7);	/* no instruction length */
	CHECK_EQ(launch_fails(&t, VMCS_EXIT_CTLS,
	    rd(&t, VMCS_EXIT_CTLS) & ~VM_EXIT_HOST_LMA), 8);
	CHECK_EQ(vtx_vmresume(t.v, &t.regs), VTX_FAIL_VALID);
	CHECK_EQ(rd(&t, VMCS_INSTRUCTION_ERROR), VMXERR_VMRESUME_NOT_LAUNCHED);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(vtx_vmlaunch(t.v, &t.regs), VTX_FAIL_VALID);
	CHECK_EQ(rd(&t, VMCS_INSTRUCTION_ERROR), VMXERR_VMLAUNCH_NOT_CLEAR);
	CHECK_EQ(vtx_vmclear(t.v), VTX_SUCCEED);
	CHECK_EQ(vtx_vmlaunch(t.v, &t.regs), VTX_SUCCEED);
	tv_fini(&t);
}

static uint64_t
entry_failure(struct tv *t, uint32_t field, uint64_t val)
{
	uint64_t old = rd(t, field), reason;

	wr(t, field, val);
	CHECK_EQ(vtx_vmlaunch(t->v, &t->regs), VTX_SUCCEED);
	reason = rd(t, VMCS_EXIT_REASON);
	wr(t, field, old);
	return reason;
}

TEST(entry_fails_on_bad_guest_state)
{
	const uint64_t fail = VMCS_EXIT_REASON_ENTRY_FAIL |
	    EXIT_REASON_INVAL_VMCS;
	struct tv t;

	tv_init(&t);
	CODE(&t, vt_hlt);
	CHECK_EQ(entry_failure(&t, VMCS_GUEST_RFLAGS, 0), fail);
	CHECK_EQ(entry_failure(&t, VMCS_GUEST_CR4, 0), fail); /* no PAE */
	CHECK_EQ(entry_failure(&t, VMCS_GUEST_CR0, 0x80000011), fail);
	CHECK_EQ(entry_failure(&t, VMCS_GUEST_IA32_EFER, 0x100), fail);
	CHECK_EQ(entry_failure(&t, VMCS_GUEST_TR_ACCESS_RIGHTS, 0x89), fail);
	CHECK_EQ(entry_failure(&t, VMCS_GUEST_ACTIVITY, 3), fail);
	CHECK_EQ(entry_failure(&t, VMCS_GUEST_INTERRUPTIBILITY, 1), fail);
	/* External interrupt injection while IF is clear. */
	CHECK_EQ(entry_failure(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_HWINTR | 0x30), fail);
	CHECK_EQ(entry_failure(&t, VMCS_LINK_POINTER, 0), fail);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 4);
	/* Nothing ran: still clear, so VMLAUNCH works now. */
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE);
	tv_fini(&t);
}

/* ---- exits ---- */

TEST(exit_io_out_in)
{
	struct tv t;

	tv_init(&t);
	CODE(&t, vt_out80);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INOUT);
	/* 1 byte, OUT, immediate operand, port 0x80. */
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), VTX_IOQ_IMM | 0x80u << 16);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 2);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE + 2);
	CHECK_EQ(t.regs.gpr[VTX_RAX] & 0xff, 0x42);
	CODE(&t, vt_in_dx);
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INOUT);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 1 | VTX_IOQ_IN |
	    0x1234u << 16);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 2);	/* 66 ED */
	tv_fini(&t);
}

TEST(exit_io_string_rep)
{
	struct tv t;
	uint64_t info;

	tv_init(&t);
	CODE(&t, vt_rep_outsb);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INOUT);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), VTX_IOQ_STRING |
	    VTX_IOQ_REP | 0x3f8u << 16);
	CHECK_EQ(rd(&t, VMCS_GUEST_LINEAR_ADDRESS), G_DATA);
	info = rd(&t, VMCS_EXIT_INSTRUCTION_INFO);
	CHECK_EQ(VTX_INSINFO_ASIZE(info), 2);	/* 64-bit */
	CHECK_EQ(VTX_INSINFO_SEG(info), 3);	/* DS */
	CHECK_EQ(t.regs.gpr[VTX_RCX], 3);
	CODE(&t, vt_insd32);
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INOUT);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 3 | VTX_IOQ_IN |
	    VTX_IOQ_STRING | 0x70u << 16);
	CHECK_EQ(VTX_INSINFO_ASIZE(rd(&t, VMCS_EXIT_INSTRUCTION_INFO)), 1);
	CHECK_EQ(rd(&t, VMCS_GUEST_LINEAR_ADDRESS), G_DATA + 0x10);
	tv_fini(&t);
}

TEST(exit_io_bitmaps)
{
	struct tv t;
	uint64_t proc;

	tv_init(&t);
	CODE(&t, vt_in_dx);
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_IO_BITMAPS);
	/* Port 0x1234's bit clear: IN runs (reads all ones), HLT exits. */
	t.regs.gpr[VTX_RAX] = 0;
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RAX], 0xffff);
	t.bitmaps[0x1234 / 8] |= 1u << (0x1234 % 8);
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INOUT);
	tv_fini(&t);
}

TEST(exit_cpuid_msr_hlt)
{
	struct tv t;
	uint64_t proc;

	tv_init(&t);
	CODE(&t, vt_cpuid);
	CHECK_EQ(tv_run(&t), EXIT_REASON_CPUID);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 2);
	wr(&t, VMCS_GUEST_RIP, G_CODE + 2);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 1);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE + 2);
	/* Without MSR bitmaps every RDMSR/WRMSR exits, EFER's too. */
	CODE(&t, vt_rdmsr);
	t.regs.gpr[VTX_RCX] = 0xc0000080;
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	CHECK_EQ(tv_run(&t), EXIT_REASON_RDMSR);
	/* With a clear bitmap the processor's own MSRs do not exit... */
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_MSR_BITMAPS);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RAX], 0x500);
	/* ...others (the APIC base) still do; a write bit makes WRMSR exit. */
	t.regs.gpr[VTX_RCX] = 0x1b;
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	CHECK_EQ(tv_run(&t), EXIT_REASON_RDMSR);
	CODE(&t, vt_wrmsr);
	t.regs.gpr[VTX_RCX] = 0xc0000082;	/* LSTAR: write bitmap high */
	t.bitmaps[8192 + 3072 + 0x82 / 8] |= 1u << (0x82 % 8);
	CHECK_EQ(tv_run(&t), EXIT_REASON_WRMSR);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 2);
	tv_fini(&t);
}

TEST(exit_ept_violation_qualification)
{
	const uint64_t gla = VTX_EPTQ_GLA_VALID | VTX_EPTQ_GLA_TRANSLATED;
	struct tv t;

	tv_init(&t);
	/* A read of a page with no EPT entry: nothing permitted. */
	CODE(&t, vt_read_np);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EPT_FAULT);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), VTX_EPTQ_READ | gla);
	CHECK_EQ(rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), G_NOTPRESENT + 8);
	CHECK_EQ(rd(&t, VMCS_GUEST_LINEAR_ADDRESS), G_NOTPRESENT + 8);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE);
	/* A write to a read-only page: the entry's R shows. */
	CODE(&t, vt_write_ro);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EPT_FAULT);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), VTX_EPTQ_WRITE |
	    VTX_EPTQ_READABLE | gla);
	CHECK_EQ(rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), G_READONLY + 0x10);
	/* A fetch from a page without X: R and W show. */
	CODE(&t, vt_jmp_noexec);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EPT_FAULT);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), VTX_EPTQ_FETCH |
	    VTX_EPTQ_READABLE | VTX_EPTQ_WRITABLE | gla);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_NOEXEC);
	tv_fini(&t);
}

TEST(exit_ept_misconfig_and_walk)
{
	struct tv t;
	struct vtx_mmio m;

	tv_init(&t);
	CODE(&t, vt_read_misconf);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EPT_MISCONFIG);
	CHECK_EQ(rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), G_MISCONF);
	/* The guest's PD page made EPT-absent: a paging-structure access. */
	CODE(&t, vt_read_np);
	ept_set(&t, G_PD, 0);
	CHECK_EQ(vtx_invept(t.v, INVEPT_TYPE_SINGLE_CONTEXT, EPTP(t.ept[0])),
	    VTX_SUCCEED);
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EPT_FAULT);
	CHECK_EQ(rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), G_PD);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION) &
	    (VTX_EPTQ_GLA_VALID | VTX_EPTQ_GLA_TRANSLATED), VTX_EPTQ_GLA_VALID);
	CHECK_EQ(vtx_mmio_access(t.v, &m), 0);
	CHECK(m.walk);
	CHECK_EQ(vtx_invept(t.v, 7, 0), VTX_FAIL_VALID);
	tv_fini(&t);
}

TEST(mmio_assist_completes_a_read)
{
	struct tv t;
	struct vtx_mmio m;
	uint64_t val = 0x1122334455667788ULL;

	tv_init(&t);
	CODE(&t, vt_read_np);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EPT_FAULT);
	REQUIRE(vtx_mmio_access(t.v, &m) == 0);
	CHECK_EQ(m.gpa, G_NOTPRESENT + 8);
	CHECK_EQ(m.size, 8);
	CHECK(!m.write);
	CHECK_EQ(vtx_mmio_complete(t.v, &val, 8), 0);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RAX], val);
	CHECK_EQ(vtx_mmio_access(t.v, &m), -ENOENT);
	tv_fini(&t);
}

TEST(exit_exception_bitmap)
{
	struct tv t;

	tv_init(&t);
	wr(&t, VMCS_EXCEPTION_BITMAP, 1u << 6 | 1u << 14 | 1u << 3);
	CODE(&t, vt_ud2);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EXCEPTION);
	CHECK_EQ(rd(&t, VMCS_EXIT_INTR_INFO), VMCS_INTR_VALID |
	    VMCS_INTR_T_HWEXCEPTION | 6);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 2);
	/* #PF: write, not present, supervisor; the address in the qual. */
	CODE(&t, vt_pf_write);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EXCEPTION);
	CHECK_EQ(rd(&t, VMCS_EXIT_INTR_INFO), VMCS_INTR_VALID |
	    VMCS_INTR_T_HWEXCEPTION | VMCS_INTR_DEL_ERRCODE | 14);
	CHECK_EQ(rd(&t, VMCS_EXIT_INTR_ERRCODE), 2);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 0x400000);
	CHECK_EQ(t.regs.cr2, 0);	/* CR2 untouched by the exit */
	/* INT3: a software exception, RIP at it, length 1. */
	CODE(&t, vt_int3);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EXCEPTION);
	CHECK_EQ(rd(&t, VMCS_EXIT_INTR_INFO), VMCS_INTR_VALID |
	    VMCS_INTR_T_SWEXCEPTION | 3);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 1);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE);
	/* #PF filtered out by the error-code mask/match (25.2). */
	CODE(&t, vt_pf_write);
	wr(&t, VMCS_PF_ERROR_MASK, 2);
	wr(&t, VMCS_PF_ERROR_MATCH, 0);
	HANDLER(&t, vt_h_err, 14);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RAX], 2);
	CHECK_EQ(t.regs.cr2, 0x400000);
	tv_fini(&t);
}

TEST(injection_with_error_code)
{
	struct tv t;

	tv_init(&t);
	CODE(&t, vt_nops);
	HANDLER(&t, vt_h_err, 13);
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_HWEXCEPTION | VMCS_INTR_DEL_ERRCODE | 13);
	wr(&t, VMCS_ENTRY_EXCEPTION_ERROR, 0x1234);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RAX], 0x1234);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_HANDLER + 1);
	/* The valid bit is cleared by the exit. */
	CHECK_EQ(rd(&t, VMCS_ENTRY_INTR_INFO) & VMCS_INTR_VALID, 0);
	/* SS, RSP, RFLAGS, CS, RIP, error code: RIP 5 slots down. */
	CHECK_EQ(get64(&t, G_STACK - 8 * 5), G_CODE);
	tv_fini(&t);
}

TEST(injection_software_interrupt_and_nmi)
{
	struct tv t;

	tv_init(&t);
	CODE(&t, vt_nops);
	HANDLER(&t, vt_h_ret, 0x80);
	/* INT n: the pushed RIP is past the 2-byte instruction. */
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID | VMCS_INTR_T_SWINTR |
	    0x80);
	wr(&t, VMCS_ENTRY_INST_LENGTH, 2);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RBX], G_CODE + 2);
	/* An NMI: the handler runs with virtual-NMI blocking. */
	HANDLER(&t, vt_h_ret, 2);
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	wr(&t, VMCS_GUEST_RSP, G_STACK);
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID | VMCS_INTR_T_NMI | 2);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RBX], G_CODE);
	CHECK(rd(&t, VMCS_GUEST_INTERRUPTIBILITY) &
	    VMCS_INTERRUPTIBILITY_NMI_BLOCKING);
	/* NMI injection while blocked by NMI fails the entry. */
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID | VMCS_INTR_T_NMI | 2);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INVAL_VMCS);
	tv_fini(&t);
}

TEST(interrupt_window_after_sti_shadow)
{
	struct tv t;
	uint64_t proc;

	tv_init(&t);
	CODE(&t, vt_sti);	/* nop; sti; nop; nop; hlt */
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_INT_WINDOW_EXITING);
	/* IF clear: the window opens after the instruction STI shields. */
	CHECK_EQ(tv_run(&t), EXIT_REASON_INTR_WINDOW);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE + 3);
	CHECK_EQ(rd(&t, VMCS_GUEST_INTERRUPTIBILITY), 0);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), 0);
	/* Inject into the open window: the handler sees RIP there. */
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc);
	HANDLER(&t, vt_h_ret, 0x30);
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID | VMCS_INTR_T_HWINTR |
	    0x30);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RBX], G_CODE + 3);
	tv_fini(&t);
}

TEST(sti_blocking_stored_at_exit)
{
	struct tv t;
	uint64_t pin;

	tv_init(&t);
	CODE(&t, vt_sti);
	/* Stop right after STI with the preemption timer (2 instructions). */
	pin = rd(&t, VMCS_PIN_BASED_CTLS);
	wr(&t, VMCS_PIN_BASED_CTLS, pin | PINBASED_PREEMPTION_TIMER);
	wr(&t, VMCS_PREEMPTION_TIMER_VALUE, 2);
	CHECK_EQ(tv_run(&t), EXIT_REASON_VMX_PREEMPT);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE + 2);
	CHECK_EQ(rd(&t, VMCS_GUEST_INTERRUPTIBILITY),
	    VMCS_INTERRUPTIBILITY_STI_BLOCKING);
	/* Injecting an external interrupt now fails the entry. */
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID | VMCS_INTR_T_HWINTR |
	    0x30);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INVAL_VMCS);
	tv_fini(&t);
}

TEST(idt_vectoring_when_delivery_hits_ept)
{
	struct tv t;
	struct vtx_mmio m;

	tv_init(&t);
	CODE(&t, vt_nops);
	HANDLER(&t, vt_h_err, 13);
	/* The stack is on a page EPT does not map: the push exits. */
	wr(&t, VMCS_GUEST_RSP, G_NOTPRESENT + 0x100);
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID |
	    VMCS_INTR_T_HWEXCEPTION | VMCS_INTR_DEL_ERRCODE | 13);
	wr(&t, VMCS_ENTRY_EXCEPTION_ERROR, 0x58);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EPT_FAULT);
	CHECK_EQ(rd(&t, VMCS_IDT_VECTORING_INFO), VMCS_INTR_VALID |
	    VMCS_INTR_T_HWEXCEPTION | VMCS_INTR_DEL_ERRCODE | 13);
	CHECK_EQ(rd(&t, VMCS_IDT_VECTORING_ERROR), 0x58);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION) & 7, VTX_EPTQ_WRITE);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE);
	REQUIRE(vtx_mmio_access(t.v, &m) == 0);
	CHECK(m.write);
	/* Map the page and deliver the event again: the VMM's part. */
	ept_set(&t, G_NOTPRESENT, EPT_RWX);
	CHECK_EQ(vtx_invept(t.v, INVEPT_TYPE_ALL_CONTEXTS, 0), VTX_SUCCEED);
	wr(&t, VMCS_ENTRY_INTR_INFO, rd(&t, VMCS_IDT_VECTORING_INFO));
	wr(&t, VMCS_ENTRY_EXCEPTION_ERROR, rd(&t, VMCS_IDT_VECTORING_ERROR));
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RAX], 0x58);
	CHECK_EQ(rd(&t, VMCS_IDT_VECTORING_INFO), 0);
	tv_fini(&t);
}

TEST(exit_triple_fault)
{
	struct tv t;

	tv_init(&t);
	CODE(&t, vt_ud2);
	wr(&t, VMCS_GUEST_IDTR_LIMIT, 0);
	CHECK_EQ(tv_run(&t), EXIT_REASON_TRIPLE_FAULT);
	CHECK_EQ(rd(&t, VMCS_IDT_VECTORING_INFO), 0);
	tv_fini(&t);
}

TEST(preemption_timer_counts_instructions)
{
	struct tv t;
	uint64_t pin, exit;

	tv_init(&t);
	CODE(&t, vt_nops);
	pin = rd(&t, VMCS_PIN_BASED_CTLS);
	exit = rd(&t, VMCS_EXIT_CTLS);
	wr(&t, VMCS_PIN_BASED_CTLS, pin | PINBASED_PREEMPTION_TIMER);
	wr(&t, VMCS_EXIT_CTLS, exit | VM_EXIT_SAVE_PREEMPTION_TIMER);
	wr(&t, VMCS_PREEMPTION_TIMER_VALUE, 5);
	CHECK_EQ(tv_run(&t), EXIT_REASON_VMX_PREEMPT);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE + 5);
	CHECK_EQ(rd(&t, VMCS_PREEMPTION_TIMER_VALUE), 0);
	/* Saving the value needs the timer active. */
	wr(&t, VMCS_PIN_BASED_CTLS, pin);
	CHECK_EQ(tv_run(&t), -1);
	CHECK_EQ(rd(&t, VMCS_INSTRUCTION_ERROR), 7);
	tv_fini(&t);
}

TEST(exit_cr_access)
{
	struct tv t;
	uint64_t proc;

	tv_init(&t);
	/* A write that changes a host-owned CR0 bit (NE) exits. */
	CODE(&t, vt_mov_cr0);
	wr(&t, VMCS_CR0_MASK, 0x20);
	wr(&t, VMCS_CR0_SHADOW, 0x20);
	t.regs.gpr[VTX_RDX] = 0x80000011;
	CHECK_EQ(tv_run(&t), EXIT_REASON_CR_ACCESS);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 0 | VTX_CRQ_MOV_TO << 4 |
	    (uint64_t)VTX_RDX << 8);
	/* The same bit as the shadow has: no exit, NE kept by the host. */
	t.regs.gpr[VTX_RDX] = 0x80000031 & ~0x10ULL;
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(rd(&t, VMCS_GUEST_CR0) & 0x20, 0x20);
	/* CR8 load and store exiting. */
	CODE(&t, vt_cr8);
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_CR8_LOAD_EXITING |
	    PROCBASED_CR8_STORE_EXITING);
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	CHECK_EQ(tv_run(&t), EXIT_REASON_CR_ACCESS);
	/* MOV to CR8 from RAX. */
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 8);
	wr(&t, VMCS_GUEST_RIP, G_CODE + rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH));
	CHECK_EQ(tv_run(&t), EXIT_REASON_CR_ACCESS);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 8 | VTX_CRQ_MOV_FROM << 4 |
	    (uint64_t)VTX_RBX << 8);
	tv_fini(&t);
}

TEST(cr3_target_values_do_not_exit)
{
	struct tv t;
	uint64_t proc;

	tv_init(&t);
	CODE(&t, vt_mov_cr3);
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_CR3_LOAD_EXITING);
	t.regs.gpr[VTX_RAX] = G_PML4;
	CHECK_EQ(tv_run(&t), EXIT_REASON_CR_ACCESS);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 3);
	wr(&t, VMCS_CR3_TARGET_COUNT, 1);
	wr(&t, VMCS_CR3_TARGET0, G_PML4);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	wr(&t, VMCS_CR3_TARGET_COUNT, 5);
	CHECK_EQ(tv_run(&t), -1);
	tv_fini(&t);
}

TEST(exit_mov_dr_and_rdtsc)
{
	struct tv t;
	uint64_t proc;

	tv_init(&t);
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	CODE(&t, vt_mov_dr7);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_MOV_DR_EXITING);
	CHECK_EQ(tv_run(&t), EXIT_REASON_DR_ACCESS);
	/* MOV to DR7 from RAX. */
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), 7);
	CODE(&t, vt_rdtsc);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_RDTSC_EXITING);
	CHECK_EQ(tv_run(&t), EXIT_REASON_RDTSC);
	/* TSC offsetting: the guest's TSC is the host's plus the offset. */
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_TSC_OFFSET);
	wr(&t, VMCS_TSC_OFFSET, 1ULL << 62);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK((t.regs.gpr[VTX_RDX] << 32 | (uint32_t)t.regs.gpr[VTX_RAX]) >=
	    1ULL << 62);
	tv_fini(&t);
}

TEST(guest_state_round_trip)
{
	struct tv t;

	tv_init(&t);
	CODE(&t, vt_regs);
	for (int i = 0; i < 16; i++)
		t.regs.gpr[i] = 0x1000 + (uint64_t)i;
	t.regs.cr2 = 0xabc;
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(t.regs.gpr[VTX_RBX], 0x1000 + VTX_RBX + 1);
	CHECK_EQ(t.regs.gpr[15], 0x1000 + 15 + 2);
	CHECK_EQ(t.regs.gpr[VTX_RSI], 0x1000 + VTX_RSI);
	CHECK_EQ(t.regs.cr2, 0xabc);
	CHECK_EQ(rd(&t, VMCS_GUEST_CS_ACCESS_RIGHTS), 0xa09b);
	CHECK_EQ(rd(&t, VMCS_GUEST_TR_BASE), G_TSS);
	CHECK_EQ(rd(&t, VMCS_GUEST_IA32_EFER), 0x500);
	/* Exits record EFER.LMA in the IA-32e mode guest control. */
	CHECK(rd(&t, VMCS_ENTRY_CTLS) & VM_ENTRY_GUEST_LMA);
	tv_fini(&t);
}

/* Instructions that exit with no qualification to speak of. */
TEST(simple_instruction_exits)
{
	static const struct {
		uint8_t code[4];
		uint8_t len;
		uint32_t proc, proc2;
		int reason;
	} cases[] = {
		{ { 0x0f, 0x01, 0x38 }, 3, PROCBASED_INVLPG_EXITING, 0,
		    EXIT_REASON_INVLPG },		/* invlpg (%rax) */
		{ { 0x0f, 0x33 }, 2, PROCBASED_RDPMC_EXITING, 0,
		    EXIT_REASON_RDPMC },
		{ { 0x0f, 0x01, 0xc9 }, 3, PROCBASED_MWAIT_EXITING, 0,
		    EXIT_REASON_MWAIT },
		{ { 0x0f, 0x01, 0xc8 }, 3, PROCBASED_MONITOR_EXITING, 0,
		    EXIT_REASON_MONITOR },
		{ { 0xf3, 0x90 }, 2, PROCBASED_PAUSE_EXITING, 0,
		    EXIT_REASON_PAUSE },
		{ { 0x0f, 0x01, 0xc1 }, 3, 0, 0, EXIT_REASON_VMCALL },
		{ { 0x0f, 0x08 }, 2, 0, 0, EXIT_REASON_INVD },
		{ { 0x0f, 0x09 }, 2, 0, PROCBASED2_WBINVD_EXITING,
		    EXIT_REASON_WBINVD },
		{ { 0x0f, 0x01, 0xf9 }, 3, PROCBASED_RDTSC_EXITING, 0,
		    EXIT_REASON_RDTSCP },
		{ { 0x0f, 0x01, 0x08 }, 3, 0, PROCBASED2_DESC_TABLE_EXITING,
		    EXIT_REASON_GDTR_IDTR },		/* sidt (%rax) */
		{ { 0x0f, 0x00, 0x08 }, 3, 0, PROCBASED2_DESC_TABLE_EXITING,
		    EXIT_REASON_LDTR_TR },		/* str (%rax) */
	};
	struct tv t;
	uint64_t proc, proc2;

	tv_init(&t);
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	proc2 = rd(&t, VMCS_SEC_PROC_BASED_CTLS);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(t.ram + G_CODE, cases[i].code, 4);
		t.regs.gpr[VTX_RAX] = G_DATA;
		wr(&t, VMCS_GUEST_RIP, G_CODE);
		wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | cases[i].proc);
		wr(&t, VMCS_SEC_PROC_BASED_CTLS, proc2 | cases[i].proc2);
		CHECK_EQ(tv_run(&t), cases[i].reason);
		CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_LENGTH), cases[i].len);
		CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE);
	}
	/* INVLPG's qualification is the linear address; SIDT's identity. */
	memcpy(t.ram + G_CODE, cases[0].code, 4);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_INVLPG_EXITING);
	CHECK_EQ(tv_run(&t), EXIT_REASON_INVLPG);
	CHECK_EQ(rd(&t, VMCS_EXIT_QUALIFICATION), G_DATA);
	memcpy(t.ram + G_CODE, cases[9].code, 4);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc);
	wr(&t, VMCS_SEC_PROC_BASED_CTLS, proc2 | PROCBASED2_DESC_TABLE_EXITING);
	CHECK_EQ(tv_run(&t), EXIT_REASON_GDTR_IDTR);
	CHECK_EQ(rd(&t, VMCS_EXIT_INSTRUCTION_INFO) >> 28 & 3, 1);
	tv_fini(&t);
}

TEST(nmi_window_exits_when_unblocked)
{
	struct tv t;
	uint64_t proc;

	tv_init(&t);
	CODE(&t, vt_nops);
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc | PROCBASED_NMI_WINDOW_EXITING);
	/* Blocked by NMI: the window stays shut, the guest runs to HLT. */
	wr(&t, VMCS_GUEST_INTERRUPTIBILITY, VMCS_INTERRUPTIBILITY_NMI_BLOCKING);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	wr(&t, VMCS_GUEST_RIP, G_CODE);
	wr(&t, VMCS_GUEST_INTERRUPTIBILITY, 0);
	CHECK_EQ(tv_run(&t), EXIT_REASON_NMI_WINDOW);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE);
	tv_fini(&t);
}

/* ---- the HLT state and host interrupts ---- */

TEST(hlt_state_waits_for_a_host_interrupt)
{
	struct tv t;

	tv_init(&t);
	CODE(&t, vt_nops);
	wr(&t, VMCS_GUEST_ACTIVITY, VMCS_ACTIVITY_HLT);
	vtx_kick(t.v);
	CHECK_EQ(tv_run(&t), EXIT_REASON_EXT_INTR);
	CHECK_EQ(rd(&t, VMCS_GUEST_ACTIVITY), VMCS_ACTIVITY_HLT);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE);
	/* An injected event wakes it: active, the handler runs. */
	HANDLER(&t, vt_h_ret, 0x30);
	wr(&t, VMCS_GUEST_RFLAGS, 0x202);
	wr(&t, VMCS_ENTRY_INTR_INFO, VMCS_INTR_VALID | VMCS_INTR_T_HWINTR |
	    0x30);
	CHECK_EQ(tv_run(&t), EXIT_REASON_HLT);
	CHECK_EQ(rd(&t, VMCS_GUEST_ACTIVITY), VMCS_ACTIVITY_ACTIVE);
	CHECK_EQ(t.regs.gpr[VTX_RBX], G_CODE);
	tv_fini(&t);
}

struct kicker {
	struct vtx *v;
	volatile bool stop;
};

static void *
kicker_main(void *arg)
{
	struct kicker *k = arg;

	while (!k->stop) {
		vtx_kick(k->v);
		usleep(1000);
	}
	return NULL;
}

TEST(hlt_without_exiting_enters_hlt_state)
{
	struct tv t;
	struct kicker k;
	pthread_t th;
	uint64_t proc;
	int i;

	tv_init(&t);
	CODE(&t, vt_hlt);
	proc = rd(&t, VMCS_PRI_PROC_BASED_CTLS);
	wr(&t, VMCS_PRI_PROC_BASED_CTLS, proc & ~PROCBASED_HLT_EXITING);
	k = (struct kicker){ .v = t.v };
	REQUIRE(pthread_create(&th, NULL, kicker_main, &k) == 0);
	/* A kick may come before the HLT: run until one finds it halted. */
	for (i = 0; i < 10000; i++) {
		CHECK_EQ(tv_run(&t), EXIT_REASON_EXT_INTR);
		if (rd(&t, VMCS_GUEST_ACTIVITY) == VMCS_ACTIVITY_HLT)
			break;
	}
	k.stop = true;
	pthread_join(th, NULL);
	CHECK(i < 10000);
	CHECK_EQ(rd(&t, VMCS_GUEST_RIP), G_CODE + 1);
	tv_fini(&t);
}

TEST_MAIN(
	TEST_ENTRY(vmcs_field_widths)
	TEST_ENTRY(vmcs_readonly_and_unsupported)
	TEST_ENTRY(capability_msrs_are_consistent)
	TEST_ENTRY(entry_fails_on_bad_controls)
	TEST_ENTRY(entry_fails_on_bad_guest_state)
	TEST_ENTRY(exit_io_out_in)
	TEST_ENTRY(exit_io_string_rep)
	TEST_ENTRY(exit_io_bitmaps)
	TEST_ENTRY(exit_cpuid_msr_hlt)
	TEST_ENTRY(exit_ept_violation_qualification)
	TEST_ENTRY(exit_ept_misconfig_and_walk)
	TEST_ENTRY(mmio_assist_completes_a_read)
	TEST_ENTRY(exit_exception_bitmap)
	TEST_ENTRY(injection_with_error_code)
	TEST_ENTRY(injection_software_interrupt_and_nmi)
	TEST_ENTRY(interrupt_window_after_sti_shadow)
	TEST_ENTRY(sti_blocking_stored_at_exit)
	TEST_ENTRY(idt_vectoring_when_delivery_hits_ept)
	TEST_ENTRY(exit_triple_fault)
	TEST_ENTRY(preemption_timer_counts_instructions)
	TEST_ENTRY(exit_cr_access)
	TEST_ENTRY(cr3_target_values_do_not_exit)
	TEST_ENTRY(exit_mov_dr_and_rdtsc)
	TEST_ENTRY(guest_state_round_trip)
	TEST_ENTRY(simple_instruction_exits)
	TEST_ENTRY(nmi_window_exits_when_unblocked)
	TEST_ENTRY(hlt_state_waits_for_a_host_interrupt)
	TEST_ENTRY(hlt_without_exiting_enters_hlt_state)
)
