/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-exit cost of a port write handled by a no-op device, through the
 * whole path (vm_run -> exit table -> inout.c -> I/O registry -> handler),
 * side by side with a bare KVM_RUN loop running the same guest in the
 * same process.  The guest loop runs in 64-bit mode at CPL 3 with IOPL 3,
 * where this platform runs guest code natively, so the figures are the
 * cost of the exits and not of emulated guest instructions.  (It must be
 * long mode: the host's KVM here refuses paging outside it.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bhyverun.h"
#include "iomem.h"
#include "vmexit.h"
#include "vmmapi.h"

#define GUEST_MEM (4u << 20)
#define CODE_GPA 0x1000u
#define PML4_GPA 0x2000u
#define PDPT_GPA 0x3000u
#define PD_GPA 0x4000u
#define STOP_PORT 0xf4
#define LOOP_PORT 0x80

/* mov ecx, N; 1: out 0x80, al; dec ecx; jnz 1b; out 0xf4, al; jmp . */
static void
put_guest(uint8_t *mem, uint32_t iterations)
{
	uint8_t code[] = { 0xb9, 0, 0, 0, 0, 0xe6, LOOP_PORT, 0xff, 0xc9,
		0x75, 0xfa, 0xe6, STOP_PORT, 0xeb, 0xfe };
	/* One 2 MiB user page at 0, reached through PML4 -> PDPT -> PD. */
	uint64_t pml4e = PDPT_GPA | 7, pdpte = PD_GPA | 7, pde = 0x87;

	memcpy(code + 1, &iterations, 4);
	memcpy(mem + CODE_GPA, code, sizeof(code));
	memcpy(mem + PML4_GPA, &pml4e, 8);
	memcpy(mem + PDPT_GPA, &pdpte, 8);
	memcpy(mem + PD_GPA, &pde, 8);
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* 64-bit CPL-3 code, IOPL 3, paging through the tables above. */
static void
kvm_user_state(struct kvm_sregs *s, struct kvm_regs *r)
{
	struct kvm_segment code = { .base = 0, .limit = 0xffffffff,
		.selector = 0x1b, .type = 0xb, .present = 1, .dpl = 3,
		.l = 1, .s = 1, .g = 1 };
	struct kvm_segment data = code;

	data.type = 3;
	data.l = 0;
	data.db = 1;
	data.selector = 0x23;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct kvm_segment){ .limit = 0xff, .type = 0xb,
		.present = 1 };
	s->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2,
		.present = 1 };
	s->cr0 = 0x80000011;
	s->cr3 = PML4_GPA;
	s->cr4 = 0x20;	 /* PAE */
	s->efer = 0x500; /* LME | LMA */
	memset(r, 0, sizeof(*r));
	r->rip = CODE_GPA;
	r->rflags = 0x3002; /* IOPL 3 */
}

static double
bare_kvm_loop(uint32_t n)
{
	int sys = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = ioctl(sys, KVM_CREATE_VM, 0);
	uint8_t *mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct kvm_userspace_memory_region region = { .slot = 0,
		.memory_size = GUEST_MEM, .userspace_addr = (uintptr_t)mem };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int vcpu, size;
	uint32_t exits = 0;
	double t0, t1;

	if (sys < 0 || vm < 0 || mem == MAP_FAILED ||
	    ioctl(vm, KVM_SET_TSS_ADDR, 0xfeffd000) < 0 ||
	    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -1;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    vcpu, 0);
	if (vcpu < 0 || run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS,
	    &sregs) < 0)
		return -1;
	put_guest(mem, n);
	kvm_user_state(&sregs, &regs);
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return -1;
	t0 = now_ns();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO)
			return -1;
		if (run->io.port == STOP_PORT)
			break;
		exits++;
	}
	t1 = now_ns();
	close(vcpu);
	close(vm);
	close(sys);
	munmap(mem, GUEST_MEM);
	return exits == n ? (t1 - t0) / n : -1;
}

static int
noop_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	if (!write)
		*val = 0;
	return 0;
}

static int
stop_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	*(bool *)arg = true;
	return 0;
}

static int
set_user_state(struct vcpu *vcpu)
{
	struct seg_desc code = { .base = 0, .limit = 0xffffffff,
		.access = 0xa0fb };
	struct seg_desc data = { .base = 0, .limit = 0xffffffff,
		.access = 0xc0f3 };
	struct seg_desc tr = { .limit = 0xff, .access = 0x8b };
	struct seg_desc ldt = { .limit = 0xffff, .access = 0x82 };
	const int dsegs[] = { VM_REG_GUEST_DS, VM_REG_GUEST_ES,
		VM_REG_GUEST_FS, VM_REG_GUEST_GS, VM_REG_GUEST_SS };
	int error = vm_set_desc(vcpu, VM_REG_GUEST_CS, &code) |
	    vm_set_register(vcpu, VM_REG_GUEST_CS, 0x1b) |
	    vm_set_desc(vcpu, VM_REG_GUEST_TR, &tr) |
	    vm_set_desc(vcpu, VM_REG_GUEST_LDTR, &ldt) |
	    vm_set_register(vcpu, VM_REG_GUEST_CR3, PML4_GPA) |
	    vm_set_register(vcpu, VM_REG_GUEST_CR4, 0x20) |
	    vm_set_register(vcpu, VM_REG_GUEST_EFER, 0x500) |
	    vm_set_register(vcpu, VM_REG_GUEST_CR0, 0x80000011) |
	    vm_set_register(vcpu, VM_REG_GUEST_RFLAGS, 0x3002) |
	    vm_set_register(vcpu, VM_REG_GUEST_RIP, CODE_GPA);

	for (size_t i = 0; i < sizeof(dsegs) / sizeof(dsegs[0]); i++)
		error |= vm_set_desc(vcpu, dsegs[i], &data) |
		    vm_set_register(vcpu, dsegs[i], 0x23);
	return error;
}

static double
bhyve_loop(uint32_t n)
{
	struct bhyve_vm bvm = { .ports = io_registry_create(0x10000),
		.mmio = io_registry_create(UINT64_MAX) };
	bool stopped = false;
	struct io_region noop = { .name = "noop", .base = LOOP_PORT,
		.size = 1, .handler = noop_io };
	struct io_region stop = { .name = "stop", .base = STOP_PORT,
		.size = 1, .handler = stop_io, .arg = &stopped };
	struct vm_exit vme = { 0 };
	struct vcpu *vcpu;
	double t0, t1;

	bvm.ctx = vm_create("bench-exitcost", VMM_BACKEND_KVM, NULL);
	if (bvm.ctx == NULL || vm_setup_memory(bvm.ctx, GUEST_MEM) != 0 ||
	    io_register(bvm.ports, &noop) != 0 ||
	    io_register(bvm.ports, &stop) != 0)
		return -1;
	vcpu = vm_vcpu_open(bvm.ctx, 0);
	put_guest(vm_map_gpa(bvm.ctx, 0, GUEST_MEM), n);
	if (vcpu == NULL || set_user_state(vcpu) != 0)
		return -1;
	t0 = now_ns();
	while (!stopped) {
		if (vm_run(vcpu, &vme) != 0 ||
		    vmexit_handle(&bvm, vcpu, &vme) != VMEXIT_CONTINUE)
			return -1;
	}
	t1 = now_ns();
	vm_destroy(bvm.ctx);
	io_registry_destroy(bvm.ports);
	io_registry_destroy(bvm.mmio);
	return (t1 - t0) / n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000;
	enum { ROUNDS = 5 };
	double bare[ROUNDS], ours[ROUNDS];

	/* Interleaved rounds, so drift on the host hits both alike. */
	for (int i = 0; i < ROUNDS; i++) {
		bare[i] = bare_kvm_loop(n);
		ours[i] = bhyve_loop(n);
		if (bare[i] < 0 || ours[i] < 0) {
			fprintf(stderr, "exitcost: a run failed: %s\n",
			    strerror(errno));
			return 1;
		}
	}
	qsort(bare, ROUNDS, sizeof(double), cmp_double);
	qsort(ours, ROUNDS, sizeof(double), cmp_double);
	printf("port-write exit, %u exits x %d rounds (medians)\n", n, ROUNDS);
	printf("  bare KVM_RUN loop     %8.0f ns/exit\n", bare[ROUNDS / 2]);
	printf("  bhyve vm_run + device %8.0f ns/exit\n", ours[ROUNDS / 2]);
	printf("  ratio bhyve/bare      %8.3f\n",
	    ours[ROUNDS / 2] / bare[ROUNDS / 2]);
	return 0;
}
