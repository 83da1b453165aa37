/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm core through libvmmapi: memory layout and translation on the
 * null backend, and every exit kind round-tripped on the kvm backend.
 */
#include <errno.h>

#include "test.h"
#include "vmmapi.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

TEST(memory_layout_low_only)
{
	struct vmctx *ctx = vm_create("t-low", VMM_BACKEND_NULL, NULL);

	REQUIRE(ctx != NULL);
	CHECK_EQ(vm_setup_memory(ctx, 128 * MiB), 0);
	CHECK_EQ(vm_get_lowmem_size(ctx), 128 * MiB);
	CHECK_EQ(vm_get_highmem_size(ctx), 0);
	CHECK(vm_map_gpa(ctx, 0, 128 * MiB) != NULL);
	CHECK(vm_map_gpa(ctx, 128 * MiB - 1, 1) != NULL);
	CHECK(vm_map_gpa(ctx, 128 * MiB - 1, 2) == NULL);
	CHECK(vm_map_gpa(ctx, 128 * MiB, 1) == NULL);
	CHECK(vm_map_gpa(ctx, UINT64_MAX, 2) == NULL);
	CHECK(vm_map_gpa(ctx, 1, SIZE_MAX) == NULL);
	CHECK_EQ(vm_setup_memory(ctx, 128 * MiB), -EEXIST);
	vm_destroy(ctx);
}

TEST(memory_layout_splits_at_3g)
{
	struct vmctx *ctx = vm_create("t-high", VMM_BACKEND_NULL, NULL);
	uint8_t *lo, *hi;

	REQUIRE(ctx != NULL);
	CHECK_EQ(vm_setup_memory(ctx, 4 * GiB), 0);
	CHECK_EQ(vm_get_lowmem_size(ctx), 3 * GiB);
	CHECK_EQ(vm_get_highmem_size(ctx), 1 * GiB);
	CHECK(vm_map_gpa(ctx, 3 * GiB, 1) == NULL); /* the PCI hole */
	CHECK(vm_map_gpa(ctx, 4 * GiB - 1, 1) == NULL);
	lo = vm_map_gpa(ctx, 3 * GiB - 8, 8);
	hi = vm_map_gpa(ctx, 4 * GiB, 8);
	REQUIRE(lo != NULL && hi != NULL);
	CHECK(vm_map_gpa(ctx, 3 * GiB - 8, 16) == NULL); /* spans the hole */
	CHECK(vm_map_gpa(ctx, 5 * GiB - 1, 1) != NULL);
	CHECK(vm_map_gpa(ctx, 5 * GiB, 1) == NULL);
	/* Both segments are the one memfd: distinct bytes, both writable. */
	lo[0] = 1;
	hi[0] = 2;
	CHECK_EQ(lo[0], 1);
	CHECK_EQ(hi[0], 2);
	vm_destroy(ctx);
}

TEST(rejects_bad_arguments)
{
	struct vmctx *ctx;
	const char *why = NULL;

	CHECK(vm_create("x", "nosuch", &why) == NULL);
	CHECK(why != NULL);
	CHECK(vm_create("", VMM_BACKEND_NULL, NULL) == NULL);
	CHECK(vm_create("a-name-that-is-far-too-long-for-a-vm", VMM_BACKEND_NULL,
	    NULL) == NULL);
	ctx = vm_create("t-bad", VMM_BACKEND_NULL, NULL);
	REQUIRE(ctx != NULL);
	CHECK_EQ(vm_setup_memory(ctx, 0), -EINVAL);
	CHECK_EQ(vm_setup_memory(ctx, 4097), -EINVAL);
	CHECK_EQ(vm_set_topology(ctx, 2, 2, 2, 4), -EINVAL);
	CHECK_EQ(vm_set_topology(ctx, 0, 1, 1, 1), -EINVAL);
	CHECK_EQ(vm_set_topology(ctx, 1, 2, 1, 2), 0);
	CHECK(vm_vcpu_open(ctx, 2) == NULL);
	CHECK(vm_vcpu_open(ctx, 1) != NULL);
	CHECK_EQ(vm_set_topology(ctx, 1, 1, 1, 1), -EBUSY);
	vm_destroy(ctx);
}

TEST(parses_memsize)
{
	size_t sz = 0;

	CHECK_EQ(vm_parse_memsize("512", &sz), 0);
	CHECK_EQ(sz, 512 * MiB);
	CHECK_EQ(vm_parse_memsize("2G", &sz), 0);
	CHECK_EQ(sz, 2 * GiB);
	CHECK_EQ(vm_parse_memsize("64k", &sz), 0);
	CHECK_EQ(sz, 64 * 1024);
	CHECK_EQ(vm_parse_memsize("1T", &sz), 0);
	CHECK_EQ(sz, 1ULL << 40);
	CHECK(vm_parse_memsize("12Q", &sz) != 0);
	CHECK(vm_parse_memsize("0", &sz) != 0);
	CHECK(vm_parse_memsize("", &sz) != 0);
	CHECK(vm_parse_memsize("-1G", &sz) != 0);
	CHECK(vm_parse_memsize("1GG", &sz) != 0);
	CHECK(vm_parse_memsize("99999999999999999999", &sz) != 0);
	CHECK(vm_parse_memsize("17179869184T", &sz) != 0);
}

TEST(registers_round_trip_on_null_backend)
{
	struct vmctx *ctx = vm_create("t-regs", VMM_BACKEND_NULL, NULL);
	struct seg_desc d = { .base = 0x1000, .limit = 0xfffff, .access = 0x9b };
	struct seg_desc out;
	uint64_t v = 0;
	struct vcpu *vcpu;

	REQUIRE(ctx != NULL);
	vcpu = vm_vcpu_open(ctx, 0);
	REQUIRE(vcpu != NULL);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_R15, 0x1234), 0);
	CHECK_EQ(vm_get_register(vcpu, VM_REG_GUEST_R15, &v), 0);
	CHECK_EQ(v, 0x1234);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_LAST, 0), -EINVAL);
	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_CS, &d), 0);
	CHECK_EQ(vm_get_desc(vcpu, VM_REG_GUEST_CS, &out), 0);
	CHECK_EQ(out.base, 0x1000);
	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_RAX, &d), -EINVAL);
	CHECK_STR(vm_reg_name(VM_REG_GUEST_GDTR), "gdtr");
	CHECK_EQ(vm_reg_by_name("RIP"), VM_REG_GUEST_RIP);
	CHECK_EQ(vm_reg_by_name("nosuch"), -1);
	vm_destroy(ctx);
}

/* Flat 32-bit protected mode, paging off: what a multiboot entry sees. */
static void
set_flat32(struct vcpu *vcpu, uint32_t eip)
{
	struct seg_desc code = { 0, 0xffffffff, 0xc09b };
	struct seg_desc data = { 0, 0xffffffff, 0xc093 };
	struct seg_desc tr = { 0, 0xff, 0x8b };
	struct seg_desc ldt = { 0, 0xffff, 0x82 };
	int dsegs[] = { VM_REG_GUEST_DS, VM_REG_GUEST_ES, VM_REG_GUEST_FS,
		VM_REG_GUEST_GS, VM_REG_GUEST_SS };

	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_CS, &code), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_CS, 0x8), 0);
	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ(vm_set_desc(vcpu, dsegs[i], &data), 0);
		CHECK_EQ(vm_set_register(vcpu, dsegs[i], 0x10), 0);
	}
	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_TR, &tr), 0);
	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_LDTR, &ldt), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_CR0, 0x11), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RFLAGS, 0x2), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RIP, eip), 0);
}

static const uint8_t exit_program[] = {
	0xb0, 0x42,			/* mov al, 0x42 */
	0xe6, 0xf4,			/* out 0xf4, al */
	0xe4, 0xe0,			/* in al, 0xe0 */
	0xe6, 0x80,			/* out 0x80, al */
	0xa1, 0x00, 0x00, 0x00, 0x02,	/* mov eax, [0x2000000] */
	0xe7, 0x84,			/* out 0x84, eax */
	0xbe, 0x00, 0x30, 0x00, 0x00,	/* mov esi, 0x3000 */
	0xb9, 0x04, 0x00, 0x00, 0x00,	/* mov ecx, 4 */
	0xba, 0xe9, 0x00, 0x00, 0x00,	/* mov edx, 0xe9 */
	0xf3, 0x6e,			/* rep outsb */
	0xb9, 0x4b, 0x4b, 0x4b, 0x00,	/* mov ecx, 0x4b4b4b */
	0x0f, 0x32,			/* rdmsr */
	0xe7, 0x88,			/* out 0x88, eax */
	0x89, 0xd0,			/* mov eax, edx */
	0xe7, 0x8c,			/* out 0x8c, eax */
	0xf4,				/* hlt (IF=0: the VM halts) */
};

/* Run to the next exit that is not a kick. */
static int
next_exit(struct vcpu *vcpu, struct vm_exit *vme)
{
	int error;

	do
		error = vm_run(vcpu, vme);
	while (error == 0 && vme->exitcode == VM_EXITCODE_BOGUS);
	return error;
}

static void
check_out(struct vcpu *vcpu, struct vm_exit *vme, uint16_t port,
    uint32_t val)
{
	CHECK_EQ(next_exit(vcpu, vme), 0);
	CHECK_EQ(vme->exitcode, VM_EXITCODE_INOUT);
	CHECK_EQ(vme->u.inout.in, 0);
	CHECK_EQ(vme->u.inout.port, port);
	CHECK_EQ(vme->u.inout.eax, val);
}

TEST(kvm_exits_round_trip)
{
	struct vmctx *ctx;
	struct vcpu *vcpu;
	struct vm_exit vme = { 0 };
	uint64_t stats[VMST_MAX];
	uint8_t *mem;

	if (!test_have_kvm()) {
		printf("SKIP kvm_exits_round_trip: no /dev/kvm\n");
		return;
	}
	ctx = vm_create("t-kvm", VMM_BACKEND_KVM, NULL);
	REQUIRE(ctx != NULL);
	REQUIRE(vm_setup_memory(ctx, 16 * MiB) == 0);
	vcpu = vm_vcpu_open(ctx, 0);
	REQUIRE(vcpu != NULL);
	mem = vm_map_gpa(ctx, 0x1000, sizeof(exit_program));
	memcpy(mem, exit_program, sizeof(exit_program));
	memcpy(vm_map_gpa(ctx, 0x3000, 4), "abcd", 4);
	set_flat32(vcpu, 0x1000);

	check_out(vcpu, &vme, 0xf4, 0x42);
	CHECK_EQ(next_exit(vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_INOUT);
	CHECK_EQ(vme.u.inout.in, 1);
	CHECK_EQ(vme.u.inout.port, 0xe0);
	vme.u.inout.eax = 0x5a;
	check_out(vcpu, &vme, 0x80, 0x5a);

	CHECK_EQ(next_exit(vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_MMIO);
	CHECK_EQ(vme.u.mmio.gpa, 0x2000000);
	CHECK_EQ(vme.u.mmio.bytes, 4);
	CHECK_EQ(vme.u.mmio.write, 0);
	vme.u.mmio.data = 0x11223344;
	check_out(vcpu, &vme, 0x84, 0x11223344);

	/* KVM may hand the string over in one exit or one element at a time. */
	char got[8] = "";
	size_t n = 0;
	while (n < 4) {
		REQUIRE(next_exit(vcpu, &vme) == 0);
		REQUIRE(vme.u.inout.port == 0xe9 && vme.u.inout.bytes == 1);
		if (vme.exitcode == VM_EXITCODE_INOUT_STR) {
			REQUIRE(vme.u.inout_str.count <= 4 - n);
			memcpy(got + n, vme.u.inout_str.data,
			    vme.u.inout_str.count);
			n += vme.u.inout_str.count;
		} else {
			REQUIRE(vme.exitcode == VM_EXITCODE_INOUT);
			got[n++] = (char)vme.u.inout.eax;
		}
	}
	CHECK_STR(got, "abcd");

	CHECK_EQ(next_exit(vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_RDMSR);
	CHECK_EQ(vme.u.msr.code, 0x4b4b4b);
	vme.u.msr.val = 0x100000002ULL;
	vme.u.msr.error = 0;
	check_out(vcpu, &vme, 0x88, 2);
	check_out(vcpu, &vme, 0x8c, 1);

	CHECK_EQ(next_exit(vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_SUSPENDED);
	CHECK_EQ(vme.u.suspended.how, VM_SUSPEND_HALT);

	CHECK_EQ(vm_get_stats(vcpu, stats, VMST_MAX), 0);
	CHECK_EQ(stats[VMST_EXIT_INOUT] + stats[VMST_EXIT_INOUT_STR],
	    6 + (4 - stats[VMST_EXIT_INOUT_STR] * 3));
	CHECK_EQ(stats[VMST_EXIT_MMIO], 1);
	CHECK_EQ(stats[VMST_EXIT_RDMSR], 1);
	CHECK_EQ(stats[VMST_EXIT_HLT], 1);
	vm_destroy(ctx);
}

TEST(kvm_registers_round_trip)
{
	struct vmctx *ctx;
	struct vcpu *vcpu;
	struct seg_desc d;
	uint64_t v;

	if (!test_have_kvm())
		return;
	ctx = vm_create("t-kvmregs", VMM_BACKEND_KVM, NULL);
	REQUIRE(ctx != NULL);
	REQUIRE(vm_setup_memory(ctx, 2 * MiB) == 0);
	vcpu = vm_vcpu_open(ctx, 0);
	REQUIRE(vcpu != NULL);
	set_flat32(vcpu, 0x1234);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RBX, 0xdeadbeef), 0);
	CHECK_EQ(vm_get_register(vcpu, VM_REG_GUEST_RBX, &v), 0);
	CHECK_EQ(v, 0xdeadbeef);
	CHECK_EQ(vm_get_register(vcpu, VM_REG_GUEST_RIP, &v), 0);
	CHECK_EQ(v, 0x1234);
	CHECK_EQ(vm_get_register(vcpu, VM_REG_GUEST_CR0, &v), 0);
	CHECK_EQ(v & 1, 1);
	CHECK_EQ(vm_get_register(vcpu, VM_REG_GUEST_CS, &v), 0);
	CHECK_EQ(v, 0x8);
	CHECK_EQ(vm_get_desc(vcpu, VM_REG_GUEST_CS, &d), 0);
	CHECK_EQ(d.limit, 0xffffffff);
	CHECK_EQ(d.access & 0xf0ff, 0xc09b);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_DR0, 0x5000), 0);
	CHECK_EQ(vm_get_register(vcpu, VM_REG_GUEST_DR0, &v), 0);
	CHECK_EQ(v, 0x5000);
	vm_destroy(ctx);
}

TEST_MAIN(TEST_ENTRY(memory_layout_low_only) TEST_ENTRY(memory_layout_splits_at_3g)
    TEST_ENTRY(rejects_bad_arguments) TEST_ENTRY(parses_memsize)
    TEST_ENTRY(registers_round_trip_on_null_backend)
    TEST_ENTRY(kvm_exits_round_trip) TEST_ENTRY(kvm_registers_round_trip))
