/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The I/O registries and the central port/string/MMIO emulation: routing,
 * overlaps, unhandled-access policy, removal while a handler runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "bhyverun.h"
#include "inout.h"
#include "iomem.h"
#include "test.h"

struct recorder {
	int calls;
	bool last_write;
	uint64_t last_off;
	int last_size;
	uint64_t last_val;
	uint64_t reply;
};

static int
record_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct recorder *r = arg;

	r->calls++;
	r->last_write = write;
	r->last_off = offset;
	r->last_size = size;
	if (write)
		r->last_val = *val;
	else
		*val = r->reply;
	return 0;
}

static int
refuse_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	return -EINVAL;
}

static struct io_region
region(uint64_t base, uint64_t size, struct recorder *r)
{
	return (struct io_region){ .name = "rec", .base = base, .size = size,
		.handler = record_io, .arg = r };
}

TEST(routes_by_range_with_offsets)
{
	struct io_registry *reg = io_registry_create(0x10000);
	struct recorder a = { .reply = 0x11 }, b = { .reply = 0x22 };
	struct io_region ra = region(0x3f8, 8, &a), rb = region(0x2f8, 8, &b);
	uint64_t v = 0;

	REQUIRE(reg != NULL);
	CHECK_EQ(io_register(reg, &ra), 0);
	CHECK_EQ(io_register(reg, &rb), 0);
	CHECK_EQ(io_dispatch(reg, NULL, false, 0x3fd, 1, &v), 0);
	CHECK_EQ(v, 0x11);
	CHECK_EQ(a.last_off, 5);
	v = 0x99;
	CHECK_EQ(io_dispatch(reg, NULL, true, 0x2f8, 2, &v), 0);
	CHECK_EQ(b.last_val, 0x99);
	CHECK_EQ(b.last_size, 2);
	CHECK_EQ(io_dispatch(reg, NULL, false, 0x300, 1, &v), -ENOENT);
	CHECK_EQ(io_dispatch(reg, NULL, false, 0x3ff, 2, &v), -ENOENT);
	CHECK_EQ(io_dispatch(reg, NULL, false, 0x3f7, 2, &v), -ENOENT);
	CHECK_STR(io_region_name(reg, 0x3f9), "rec");
	CHECK(io_region_name(reg, 0x400) == NULL);
	io_registry_destroy(reg);
}

TEST(refuses_overlaps_and_bad_ranges)
{
	struct io_registry *reg = io_registry_create(0x10000);
	struct recorder r = { 0 };
	struct io_region base = region(0x100, 0x10, &r);
	struct io_region before = region(0xf8, 0x9, &r);
	struct io_region after = region(0x10f, 1, &r);
	struct io_region inside = region(0x104, 2, &r);
	struct io_region around = region(0x0, 0x1000, &r);
	struct io_region adjacent_lo = region(0xf0, 0x10, &r);
	struct io_region adjacent_hi = region(0x110, 0x10, &r);
	struct io_region past_end = region(0xfff0, 0x20, &r);
	struct io_region empty = region(0x200, 0, &r);

	REQUIRE(reg != NULL);
	CHECK_EQ(io_register(reg, &base), 0);
	CHECK_EQ(io_register(reg, &before), -EEXIST);
	CHECK_EQ(io_register(reg, &after), -EEXIST);
	CHECK_EQ(io_register(reg, &inside), -EEXIST);
	CHECK_EQ(io_register(reg, &around), -EEXIST);
	CHECK_EQ(io_register(reg, &adjacent_lo), 0);
	CHECK_EQ(io_register(reg, &adjacent_hi), 0);
	CHECK_EQ(io_register(reg, &past_end), -EINVAL);
	CHECK_EQ(io_register(reg, &empty), -EINVAL);
	CHECK_EQ(io_unregister(reg, 0x101), -ENOENT);
	CHECK_EQ(io_unregister(reg, 0x100), 0);
	CHECK_EQ(io_register(reg, &inside), 0);
	io_registry_destroy(reg);
}

TEST(keeps_order_with_many_regions)
{
	struct io_registry *reg = io_registry_create(UINT64_MAX);
	struct recorder r[40] = { 0 };
	uint64_t v;

	REQUIRE(reg != NULL);
	/* Registered out of order, past the initial capacity. */
	for (int i = 0; i < 40; i++) {
		int k = (i * 7) % 40;
		struct io_region reg_k = region(0xfe000000ULL + (uint64_t)k * 0x1000,
		    0x1000, &r[k]);

		r[k].reply = (uint64_t)k;
		CHECK_EQ(io_register(reg, &reg_k), 0);
	}
	for (int k = 0; k < 40; k++) {
		CHECK_EQ(io_dispatch(reg, NULL, false,
		    0xfe000000ULL + (uint64_t)k * 0x1000 + 0xff8, 8, &v), 0);
		CHECK_EQ(v, (uint64_t)k);
	}
	io_registry_destroy(reg);
}

/* A handler that blocks until told to go, to race unregister against it. */
struct slow {
	atomic_int entered;
	atomic_int go;
};

static int
slow_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct slow *s = arg;

	atomic_store(&s->entered, 1);
	while (!atomic_load(&s->go))
		usleep(100);
	*val = 7;
	return 0;
}

struct dispatch_arg {
	struct io_registry *reg;
	int result;
	uint64_t val;
};

static void *
dispatch_thread(void *p)
{
	struct dispatch_arg *d = p;

	d->result = io_dispatch(d->reg, NULL, false, 0x80, 1, &d->val);
	return NULL;
}

static void *
unregister_thread(void *p)
{
	struct io_registry *reg = p;

	io_unregister(reg, 0x80);
	return NULL;
}

TEST(unregister_waits_for_running_handler)
{
	struct io_registry *reg = io_registry_create(0x10000);
	struct slow s = { 0 };
	struct io_region r = { .name = "slow", .base = 0x80, .size = 1,
		.handler = slow_io, .arg = &s };
	struct dispatch_arg d = { .reg = reg };
	pthread_t t1, t2;
	uint64_t v;

	REQUIRE(reg != NULL);
	REQUIRE(io_register(reg, &r) == 0);
	pthread_create(&t1, NULL, dispatch_thread, &d);
	while (!atomic_load(&s.entered))
		usleep(100);
	pthread_create(&t2, NULL, unregister_thread, reg);
	/* Once removal has started, new accesses no longer find the region. */
	while (io_region_name(reg, 0x80) != NULL)
		usleep(100);
	CHECK_EQ(io_dispatch(reg, NULL, false, 0x80, 1, &v), -ENOENT);
	atomic_store(&s.go, 1);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_EQ(d.result, 0);
	CHECK_EQ(d.val, 7);
	io_registry_destroy(reg);
}

static struct bhyve_vm
fake_vm(void)
{
	return (struct bhyve_vm){ .ports = io_registry_create(0x10000),
		.mmio = io_registry_create(UINT64_MAX) };
}

static void
free_fake_vm(struct bhyve_vm *bvm)
{
	io_registry_destroy(bvm->ports);
	io_registry_destroy(bvm->mmio);
}

TEST(unhandled_access_reads_all_ones)
{
	struct bhyve_vm bvm = fake_vm();
	struct vm_exit vme = { .exitcode = VM_EXITCODE_INOUT };
	struct io_region refusing = { .name = "refuse", .base = 0x70,
		.size = 2, .handler = refuse_io };

	REQUIRE(io_register(bvm.ports, &refusing) == 0);
	vme.u.inout = (struct vm_inout){ .port = 0x666, .bytes = 2, .in = 1 };
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(vme.u.inout.eax, 0xffff);
	vme.u.inout = (struct vm_inout){ .port = 0x70, .bytes = 1, .in = 1 };
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(vme.u.inout.eax, 0xff);
	vme.u.inout = (struct vm_inout){ .port = 0x666, .bytes = 4, .in = 0,
		.eax = 5 };
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);

	vme = (struct vm_exit){ .exitcode = VM_EXITCODE_MMIO };
	vme.u.mmio = (struct vm_mmio){ .gpa = 0xfd000000, .bytes = 4 };
	CHECK_EQ(emulate_mmio(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(vme.u.mmio.data, 0xffffffff);
	vme.u.mmio = (struct vm_mmio){ .gpa = 0xfd000000, .bytes = 8 };
	CHECK_EQ(emulate_mmio(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(vme.u.mmio.data, ~0ULL);

	bvm.strictio = true;
	vme.u.mmio = (struct vm_mmio){ .gpa = 0xfd000000, .bytes = 4 };
	CHECK_EQ(emulate_mmio(&bvm, NULL, &vme), VMEXIT_ABORT);
	vme = (struct vm_exit){ .exitcode = VM_EXITCODE_INOUT };
	vme.u.inout = (struct vm_inout){ .port = 0x666, .bytes = 1, .in = 1 };
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_ABORT);
	free_fake_vm(&bvm);
}

TEST(port_access_width_masks_values)
{
	struct bhyve_vm bvm = fake_vm();
	struct recorder r = { .reply = 0x1122334455667788ULL };
	struct io_region rr = region(0xe0, 4, &r);
	struct vm_exit vme = { .exitcode = VM_EXITCODE_INOUT };

	REQUIRE(io_register(bvm.ports, &rr) == 0);
	vme.u.inout = (struct vm_inout){ .port = 0xe0, .bytes = 1, .in = 0,
		.eax = 0xabcdef12 };
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(r.last_val, 0x12);
	vme.u.inout = (struct vm_inout){ .port = 0xe0, .bytes = 2, .in = 1 };
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(vme.u.inout.eax, 0x7788);
	free_fake_vm(&bvm);
}

TEST(string_io_loops_the_port)
{
	struct bhyve_vm bvm = fake_vm();
	struct recorder r = { .reply = 0x5a };
	struct io_region rr = region(0xe0, 4, &r);
	struct vm_exit vme = { .exitcode = VM_EXITCODE_INOUT_STR };
	uint8_t buf[6] = { 1, 2, 3, 4, 5, 6 };

	REQUIRE(io_register(bvm.ports, &rr) == 0);
	vme.u.inout_str = (struct vm_inout_str){
		.inout = { .port = 0xe0, .bytes = 2, .in = 0 },
		.count = 3, .data = buf };
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(r.calls, 3);
	CHECK_EQ(r.last_val, 0x0605);
	vme.u.inout_str.inout.in = 1;
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(r.calls, 6);
	CHECK_EQ(buf[0], 0x5a);
	CHECK_EQ(buf[1], 0);
	CHECK_EQ(buf[4], 0x5a);
	/* An unhandled port fills INS data with ones. */
	vme.u.inout_str.inout.port = 0x666;
	CHECK_EQ(emulate_inout(&bvm, NULL, &vme), VMEXIT_CONTINUE);
	CHECK_EQ(buf[2], 0xff);
	CHECK_EQ(buf[5], 0xff);
	free_fake_vm(&bvm);
}

TEST_MAIN(TEST_ENTRY(routes_by_range_with_offsets)
    TEST_ENTRY(refuses_overlaps_and_bad_ranges)
    TEST_ENTRY(keeps_order_with_many_regions)
    TEST_ENTRY(unregister_waits_for_running_handler)
    TEST_ENTRY(unhandled_access_reads_all_ones)
    TEST_ENTRY(port_access_width_masks_values)
    TEST_ENTRY(string_io_loops_the_port))
