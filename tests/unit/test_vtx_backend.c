/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vtx backend through libvmmapi, as the device model uses it: port
 * I/O with IN completion, string I/O with the memory side done by the
 * driver, MMIO reads and writes (split into device-sized pieces), CPUID
 * answered from the vmm's policy, RDMSR/WRMSR to the device model and
 * #GP on refusal, CR0/CR8 exits, HLT and triple fault as VM suspends,
 * an MSI through the vlapic injected at an interrupt window, and a
 * register read that kicks a spinning vCPU; how vmm.backend=auto picks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "vmm_backend.h"
#include "vmmapi.h"

#define MEM (16u << 20)
#define G_PML4 0x1000
#define G_PDPT 0x2000
#define G_GDT 0x5000
#define G_IDT 0x6000
#define G_TSS 0x7000
#define G_CODE 0x10000
#define G_H_GP 0x20000
#define G_H_40 0x21000
#define G_STACK 0x80000
#define G_DATA 0x100000
#define G_MMIO 0xd0000000ULL

struct tb {
	struct vmctx *ctx;
	struct vcpu *vcpu;
	uint8_t *ram;
	struct vm_exit vme;
};

#define SNIP(name) extern const uint8_t name[], name##_end[]
SNIP(vb_io);
SNIP(vb_outs);
SNIP(vb_ins);
SNIP(vb_mmio);
SNIP(vb_cpuid);
SNIP(vb_msr);
SNIP(vb_hlt);
SNIP(vb_ud2);
SNIP(vb_cr);
SNIP(vb_spin);
SNIP(vb_intr);
SNIP(vb_h_gp);
SNIP(vb_h_40);

__asm__(
	".pushsection .rodata\n"
	".code64\n"
	"vb_io: mov $0x41, %al\n out %al, $0x80\n in $0x81, %al\n"
	"	mov %al, %bl\n out %al, $0x82\n vb_io_end:\n"
	"vb_outs: mov $0x100000, %esi\n mov $5, %ecx\n mov $0x3f8, %dx\n"
	"	rep outsb\n out %al, $0x80\n vb_outs_end:\n"
	"vb_ins: mov $0x100000, %edi\n mov $4, %ecx\n mov $0x1f0, %dx\n"
	"	rep insw\n out %al, $0x80\n vb_ins_end:\n"
	"vb_mmio: mov $0xd0000000, %ebx\n mov (%rbx), %rax\n"
	"	mov %rax, 8(%rbx)\n movdqu 16(%rbx), %xmm0\n"
	"	movdqu %xmm0, 32(%rbx)\n out %al, $0x80\n vb_mmio_end:\n"
	"vb_cpuid: xor %eax, %eax\n cpuid\n mov %ebx, %r8d\n mov %edx, %r9d\n"
	"	mov %ecx, %r10d\n mov $0x40000000, %eax\n cpuid\n"
	"	mov %ebx, %r11d\n mov %ecx, %r12d\n mov %edx, %r13d\n"
	"	mov $1, %eax\n cpuid\n mov %ecx, %r14d\n"
	"	out %al, $0x80\n vb_cpuid_end:\n"
	"vb_msr: mov $0x12345678, %ecx\n rdmsr\n out %al, $0x80\n"
	"	mov $1, %eax\n mov $2, %edx\n wrmsr\n out %al, $0x80\n"
	"	rdmsr\n out %al, $0x80\n vb_msr_end:\n"
	"vb_hlt: cli\n hlt\n vb_hlt_end:\n"
	"vb_ud2: ud2\n vb_ud2_end:\n"
	"vb_cr: mov %cr0, %rax\n or $0x40000000, %eax\n mov %rax, %cr0\n"
	"	mov %cr0, %rbx\n mov $5, %eax\n mov %rax, %cr8\n"
	"	mov %cr8, %rcx\n out %al, $0x80\n vb_cr_end:\n"
	"vb_spin: 1: jmp 1b\n vb_spin_end:\n"
	"vb_intr: mov $0xfee00000, %ebx\n movl $0x1ff, 0xf0(%rbx)\n"
	"	out %al, $0x80\n sti\n nop\n 1: jmp 1b\n vb_intr_end:\n"
	"vb_h_gp: pop %rax\n out %al, $0x83\n vb_h_gp_end:\n"
	"vb_h_40: out %al, $0x81\n vb_h_40_end:\n"
	".popsection\n");

static void
put64(struct tb *t, uint64_t gpa, uint64_t v)
{
	memcpy(t->ram + gpa, &v, 8);
}

static void
idt_gate(struct tb *t, int vector, uint64_t handler)
{
	put64(t, G_IDT + 16 * (uint64_t)vector, (handler & 0xffff) |
	    0x08ULL << 16 | 0x8eULL << 40 | ((handler >> 16) & 0xffff) << 48);
	put64(t, G_IDT + 16 * (uint64_t)vector + 8, 0);
}

/* 1 GiB identity pages for 0-4 GiB: RAM and the MMIO hole alike. */
static void
guest_tables(struct tb *t)
{
	put64(t, G_PML4, G_PDPT | 3);
	for (uint64_t i = 0; i < 4; i++)
		put64(t, G_PDPT + 8 * i, i << 30 | 0x83);
	put64(t, G_GDT + 0x08, 0x00af9b000000ffffULL);
	put64(t, G_GDT + 0x10, 0x00cf93000000ffffULL);
	put64(t, G_GDT + 0x18, 0x00008b0000000067ULL | (uint64_t)G_TSS << 16);
	memcpy(t->ram + G_H_GP, vb_h_gp, (size_t)(vb_h_gp_end - vb_h_gp));
	memcpy(t->ram + G_H_40, vb_h_40, (size_t)(vb_h_40_end - vb_h_40));
	idt_gate(t, 13, G_H_GP);
	idt_gate(t, 0x40, G_H_40);
}

static void
guest_regs(struct tb *t)
{
	const struct seg_desc code = { .limit = 0xffffffff, .access = 0xa09b };
	const struct seg_desc data = { .limit = 0xffffffff, .access = 0xc093 };
	const struct seg_desc tr = { .base = G_TSS, .limit = 0x67,
		.access = 0x8b };
	const struct seg_desc ldtr = { .access = SEG_ACCESS_UNUSABLE };
	const struct seg_desc gdtr = { .base = G_GDT, .limit = 0x27 };
	const struct seg_desc idtr = { .base = G_IDT, .limit = 0xfff };
	int e = 0;

	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GS; r++) {
		e |= vm_set_desc(t->vcpu, r, r == VM_REG_GUEST_CS ? &code :
		    &data);
		e |= vm_set_register(t->vcpu, r, r == VM_REG_GUEST_CS ? 8 :
		    0x10);
	}
	e |= vm_set_desc(t->vcpu, VM_REG_GUEST_TR, &tr);
	e |= vm_set_desc(t->vcpu, VM_REG_GUEST_LDTR, &ldtr);
	e |= vm_set_desc(t->vcpu, VM_REG_GUEST_GDTR, &gdtr);
	e |= vm_set_desc(t->vcpu, VM_REG_GUEST_IDTR, &idtr);
	e |= vm_set_register(t->vcpu, VM_REG_GUEST_CR0, 0x80000033);
	e |= vm_set_register(t->vcpu, VM_REG_GUEST_CR3, G_PML4);
	e |= vm_set_register(t->vcpu, VM_REG_GUEST_CR4, 0x220); /* PAE, FXSR */
	e |= vm_set_register(t->vcpu, VM_REG_GUEST_EFER, 0x500);
	e |= vm_set_register(t->vcpu, VM_REG_GUEST_RIP, G_CODE);
	e |= vm_set_register(t->vcpu, VM_REG_GUEST_RSP, G_STACK);
	e |= vm_set_register(t->vcpu, VM_REG_GUEST_RFLAGS, 2);
	CHECK_EQ(e, 0);
}

static bool
tb_init(struct tb *t, const uint8_t *code, size_t len)
{
	memset(t, 0, sizeof(*t));
	t->ctx = vm_create("t-vtx", VMM_BACKEND_VTX, NULL);
	if (t->ctx == NULL || vm_setup_memory(t->ctx, MEM) != 0)
		return false;
	t->vcpu = vm_vcpu_open(t->ctx, 0);
	t->ram = vm_map_gpa(t->ctx, 0, MEM);
	if (t->vcpu == NULL || t->ram == NULL)
		return false;
	guest_tables(t);
	memcpy(t->ram + G_CODE, code, len);
	guest_regs(t);
	return true;
}

#define TB_INIT(t, name) tb_init(t, name, (size_t)(name##_end - name))

static void
tb_fini(struct tb *t)
{
	vm_destroy(t->ctx);
}

static uint32_t
tb_run(struct tb *t)
{
	if (vm_run(t->vcpu, &t->vme) != 0)
		return VM_EXITCODE_MAX;
	return t->vme.exitcode;
}

static uint64_t
reg(struct tb *t, int r)
{
	uint64_t v = 0;

	CHECK_EQ(vm_get_register(t->vcpu, r, &v), 0);
	return v;
}

static bool
is_out(const struct tb *t, uint16_t port)
{
	return t->vme.exitcode == VM_EXITCODE_INOUT &&
	    t->vme.u.inout.port == port && !t->vme.u.inout.in;
}

TEST(port_io_and_in_completion)
{
	struct tb t;

	REQUIRE(TB_INIT(&t, vb_io));
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x80));
	CHECK_EQ(t.vme.u.inout.bytes, 1);
	CHECK_EQ(t.vme.u.inout.eax, 0x41);
	CHECK_EQ(t.vme.rip, G_CODE + 2);
	CHECK_EQ(t.vme.inst_length, 2);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(t.vme.u.inout.in);
	CHECK_EQ(t.vme.u.inout.port, 0x81);
	t.vme.u.inout.eax = 0x99;
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x82));
	CHECK_EQ(t.vme.u.inout.eax, 0x99);
	CHECK_EQ(reg(&t, VM_REG_GUEST_RBX) & 0xff, 0x99);
	tb_fini(&t);
}

TEST(string_io_memory_side)
{
	struct tb t;

	REQUIRE(TB_INIT(&t, vb_outs));
	memcpy(t.ram + G_DATA, "hello", 5);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT_STR);
	CHECK_EQ(t.vme.u.inout_str.inout.port, 0x3f8);
	CHECK_EQ(t.vme.u.inout_str.count, 5);
	REQUIRE(t.vme.u.inout_str.data != NULL);
	CHECK(memcmp(t.vme.u.inout_str.data, "hello", 5) == 0);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x80));
	CHECK_EQ(reg(&t, VM_REG_GUEST_RSI), G_DATA + 5);
	CHECK_EQ(reg(&t, VM_REG_GUEST_RCX), 0);
	tb_fini(&t);

	REQUIRE(TB_INIT(&t, vb_ins));
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT_STR);
	CHECK(t.vme.u.inout_str.inout.in);
	CHECK_EQ(t.vme.u.inout_str.inout.bytes, 2);
	CHECK_EQ(t.vme.u.inout_str.count, 4);
	memcpy(t.vme.u.inout_str.data, "ABCDEFGH", 8);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(memcmp(t.ram + G_DATA, "ABCDEFGH", 8) == 0);
	CHECK_EQ(reg(&t, VM_REG_GUEST_RDI), G_DATA + 8);
	tb_fini(&t);
}

TEST(mmio_reads_and_writes)
{
	struct tb t;
	const uint64_t v = 0x1122334455667788ULL;

	REQUIRE(TB_INIT(&t, vb_mmio));
	CHECK_EQ(tb_run(&t), VM_EXITCODE_MMIO);
	CHECK_EQ(t.vme.u.mmio.gpa, G_MMIO);
	CHECK_EQ(t.vme.u.mmio.bytes, 8);
	CHECK(!t.vme.u.mmio.write);
	t.vme.u.mmio.data = v;
	CHECK_EQ(tb_run(&t), VM_EXITCODE_MMIO);
	CHECK(t.vme.u.mmio.write);
	CHECK_EQ(t.vme.u.mmio.gpa, G_MMIO + 8);
	CHECK_EQ(t.vme.u.mmio.data, v);
	/* 16 bytes: two 8-byte pieces each way. */
	CHECK_EQ(tb_run(&t), VM_EXITCODE_MMIO);
	CHECK_EQ(t.vme.u.mmio.gpa, G_MMIO + 16);
	CHECK_EQ(t.vme.u.mmio.bytes, 8);
	t.vme.u.mmio.data = 0xaaaa;
	CHECK_EQ(tb_run(&t), VM_EXITCODE_MMIO);
	CHECK_EQ(t.vme.u.mmio.gpa, G_MMIO + 24);
	t.vme.u.mmio.data = 0xbbbb;
	CHECK_EQ(tb_run(&t), VM_EXITCODE_MMIO);
	CHECK(t.vme.u.mmio.write);
	CHECK_EQ(t.vme.u.mmio.gpa, G_MMIO + 32);
	CHECK_EQ(t.vme.u.mmio.data, 0xaaaa);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_MMIO);
	CHECK_EQ(t.vme.u.mmio.gpa, G_MMIO + 40);
	CHECK_EQ(t.vme.u.mmio.data, 0xbbbb);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x80));
	CHECK_EQ(reg(&t, VM_REG_GUEST_RAX), v);
	tb_fini(&t);
}

TEST(cpuid_from_the_policy)
{
	struct tb t;

	REQUIRE(TB_INIT(&t, vb_cpuid));
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x80));
	CHECK_EQ(reg(&t, VM_REG_GUEST_R8), 0x756e6547);	/* "Genu" */
	CHECK_EQ(reg(&t, VM_REG_GUEST_R9), 0x49656e69);	/* "ineI" */
	CHECK_EQ(reg(&t, VM_REG_GUEST_R10), 0x6c65746e);	/* "ntel" */
	CHECK_EQ(reg(&t, VM_REG_GUEST_R11), 0x76796862);	/* "bhyv" */
	CHECK_EQ(reg(&t, VM_REG_GUEST_R13), 0x20657679);	/* "yve " */
	/* Leaf 1: the hypervisor bit from the policy, no VMX, no XSAVE. */
	CHECK(reg(&t, VM_REG_GUEST_R14) & (1u << 31));
	CHECK_EQ(reg(&t, VM_REG_GUEST_R14) & (1u << 5 | 1u << 26), 0);
	tb_fini(&t);
}

TEST(msrs_to_the_device_model)
{
	struct tb t;

	REQUIRE(TB_INIT(&t, vb_msr));
	CHECK_EQ(tb_run(&t), VM_EXITCODE_RDMSR);
	CHECK_EQ(t.vme.u.msr.code, 0x12345678);
	t.vme.u.msr.val = 0xaabbccdd11223344ULL;
	t.vme.u.msr.error = 0;
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK_EQ(reg(&t, VM_REG_GUEST_RAX), 0x11223344);
	CHECK_EQ(reg(&t, VM_REG_GUEST_RDX), 0xaabbccdd);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_WRMSR);
	CHECK_EQ(t.vme.u.msr.code, 0x12345678);
	CHECK_EQ(t.vme.u.msr.val, 0x200000001ULL);
	t.vme.u.msr.error = 0;
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	/* Refused: #GP(0) in the guest, whose handler reports on 0x83. */
	CHECK_EQ(tb_run(&t), VM_EXITCODE_RDMSR);
	t.vme.u.msr.error = 1;
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x83));
	CHECK_EQ(t.vme.u.inout.eax, 0);
	tb_fini(&t);
}

TEST(control_registers)
{
	struct tb t;

	REQUIRE(TB_INIT(&t, vb_cr));
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x80));
	/* CD is the host's to refuse, the guest still reads its value. */
	CHECK(reg(&t, VM_REG_GUEST_RBX) & 0x40000000);
	CHECK(reg(&t, VM_REG_GUEST_CR0) & 0x40000000);
	CHECK_EQ(reg(&t, VM_REG_GUEST_RCX), 5);
	CHECK_EQ(reg(&t, VM_REG_GUEST_CR8), 5);
	tb_fini(&t);
}

TEST(hlt_and_triple_fault_suspend)
{
	struct tb t;

	REQUIRE(TB_INIT(&t, vb_hlt));
	CHECK_EQ(tb_run(&t), VM_EXITCODE_SUSPENDED);
	CHECK_EQ(t.vme.u.suspended.how, VM_SUSPEND_HALT);
	tb_fini(&t);

	REQUIRE(TB_INIT(&t, vb_ud2));
	CHECK_EQ(vm_set_desc(t.vcpu, VM_REG_GUEST_IDTR,
	    &(struct seg_desc){ .base = G_IDT }), 0);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_SUSPENDED);
	CHECK_EQ(t.vme.u.suspended.how, VM_SUSPEND_TRIPLEFAULT);
	tb_fini(&t);
}

TEST(msi_injected_at_the_window)
{
	struct tb t;

	REQUIRE(TB_INIT(&t, vb_intr));
	/* The SVR write went to the vmm's vlapic: the first exit is OUT. */
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x80));
	CHECK_EQ(vm_lapic_msi(t.ctx, 0xfee00000, 0x40), 0);
	CHECK_EQ(tb_run(&t), VM_EXITCODE_INOUT);
	CHECK(is_out(&t, 0x81));
	CHECK_EQ(t.vme.rip, G_H_40);
	tb_fini(&t);
}

struct runner {
	struct tb *t;
	uint32_t code;
};

static void *
runner_main(void *arg)
{
	struct runner *r = arg;

	r->code = tb_run(r->t);
	return NULL;
}

TEST(register_access_kicks_a_running_vcpu)
{
	struct tb t;
	struct runner r = { .t = &t };
	pthread_t th;

	REQUIRE(TB_INIT(&t, vb_spin));
	REQUIRE(pthread_create(&th, NULL, runner_main, &r) == 0);
	CHECK_EQ(reg(&t, VM_REG_GUEST_RIP), G_CODE);
	CHECK_EQ(vm_suspend(t.ctx, VM_SUSPEND_POWEROFF), 0);
	pthread_join(th, NULL);
	CHECK_EQ(r.code, VM_EXITCODE_SUSPENDED);
	CHECK_EQ(t.vme.u.suspended.how, VM_SUSPEND_POWEROFF);
	tb_fini(&t);
}

/* A cpuinfo file with the given flags line; the caller unlinks it. */
static void
cpuinfo_file(char *path, const char *flags)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	REQUIRE(f != NULL);
	fprintf(f, "processor\t: 0\nvendor_id\t: GenuineIntel\n"
	    "flags\t\t: %s\nbogomips\t: 1.0\n\n", flags);
	fclose(f);
}

TEST(auto_backend_needs_real_virtualization)
{
	char with[] = "/tmp/t-cpuinfo-XXXXXX";
	char without[] = "/tmp/t-cpuinfo-XXXXXX";
	char amd[] = "/tmp/t-cpuinfo-XXXXXX";
	bool kvm_ok = access("/dev/kvm", R_OK | W_OK) == 0;

	cpuinfo_file(with, "fpu vme de pse tsc msr pae vmx smx est");
	cpuinfo_file(without, "fpu vme de pse tsc msr pae hypervisor vmxe");
	cpuinfo_file(amd, "fpu lm svm extapic");
	/* No vmx/svm flag: vtx even with a working /dev/kvm. */
	CHECK_STR(vmm_backend_pick(without, "/dev/kvm"), "vtx");
	/* The flag but no usable KVM device. */
	CHECK_STR(vmm_backend_pick(with, "/nonexistent/kvm"), "vtx");
	CHECK_STR(vmm_backend_pick(with, "/dev/null"), "vtx");
	CHECK_STR(vmm_backend_pick("/nonexistent/cpuinfo", "/dev/kvm"), "vtx");
	if (kvm_ok) {
		CHECK_STR(vmm_backend_pick(with, "/dev/kvm"), "kvm");
		CHECK_STR(vmm_backend_pick(amd, "/dev/kvm"), "kvm");
	}
	unlink(with);
	unlink(without);
	unlink(amd);
}

TEST_MAIN(
	TEST_ENTRY(port_io_and_in_completion)
	TEST_ENTRY(string_io_memory_side)
	TEST_ENTRY(mmio_reads_and_writes)
	TEST_ENTRY(cpuid_from_the_policy)
	TEST_ENTRY(msrs_to_the_device_model)
	TEST_ENTRY(control_registers)
	TEST_ENTRY(hlt_and_triple_fault_suspend)
	TEST_ENTRY(msi_injected_at_the_window)
	TEST_ENTRY(register_access_kicks_a_running_vcpu)
	TEST_ENTRY(auto_backend_needs_real_virtualization)
)
