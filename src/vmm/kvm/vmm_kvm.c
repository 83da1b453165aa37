/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kvm backend: guest execution through /dev/kvm.
 *
 * The VM has no in-kernel irqchip: the vmm core decides every interrupt.
 * General registers travel in kvm_run's sync-regs area, so reading RIP or
 * RAX at an exit costs no system call; the segment and control registers
 * are fetched on demand and written back before the next entry.
 * Doorbell writes can be ioeventfds (no exit to userspace); irqfds are
 * not used: they need KVM's irqchip, and interrupts are the vmm's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm_backend.h"
#include "vmm_internal.h"

/* Where KVM keeps its real-mode helpers (VMX without unrestricted guest). */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000u
#define KVM_TSS_ADDR 0xfeffd000u

struct kvm_vm {
	int sysfd;
	int vmfd;
	int run_size;
	bool have_ioeventfd; /* KVM_CAP_IOEVENTFD */
	struct kvm_cpuid2 *supported;
};

struct kvm_vcpu {
	struct kvm_vm *kvm;
	int fd;
	struct kvm_run *run;

	/* For kick(): the thread inside KVM_RUN, once it has run. */
	pthread_t thread;
	atomic_bool have_thread;

	struct kvm_sregs sregs;
	bool sregs_valid;
	bool sregs_dirty;

	/* The last exit, whose instruction the next run() completes. */
	uint32_t pending;
	bool injected; /* KVM_INTERRUPT since the last exit */
	int64_t tsc_offset; /* guest TSC - host TSC */
	uint64_t tsc_hz;
};

static int
kvm_sig_kick(void)
{
	return SIGRTMIN;
}

/* The kick signal only interrupts KVM_RUN; it has nothing else to do. */
static void
kvm_kick_handler(int sig)
{
	(void)sig;
}

static pthread_once_t kvm_signal_once = PTHREAD_ONCE_INIT;

static void
kvm_install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = kvm_kick_handler,
		.sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(kvm_sig_kick(), &sa, NULL);
}

static int
kvm_check_caps(int sysfd, int vmfd)
{
	static const int needed[] = { KVM_CAP_USER_MEMORY,
		KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_SYNC_REGS,
		KVM_CAP_SET_TSS_ADDR, KVM_CAP_EXT_CPUID };

	if (ioctl(sysfd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return -ENOTSUP;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (ioctl(vmfd, KVM_CHECK_EXTENSION, needed[i]) <= 0)
			return -ENOTSUP;
	return 0;
}

/*
 * MSRs KVM does not know come to the vmm (and on to the device model),
 * and so do the local APIC's: the APIC base, TSC deadline and the x2APIC
 * range, which KVM would otherwise answer itself although it has no
 * local APIC in this VM.
 */
static int
kvm_enable_msr_exits(int vmfd)
{
	static uint8_t deny[0x100 / 8]; /* all zero: every bit denies */
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR };
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = {
			{ .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			    .base = 0x1b, .nmsrs = 1, .bitmap = deny },
			{ .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			    .base = 0x6e0, .nmsrs = 1, .bitmap = deny },
			{ .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			    .base = 0x800, .nmsrs = 0x100, .bitmap = deny },
		},
	};

	if (ioctl(vmfd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
	    ioctl(vmfd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0)
		return -ENOTSUP;
	cap.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL |
	    KVM_MSR_EXIT_REASON_FILTER;
	if (ioctl(vmfd, KVM_ENABLE_CAP, &cap) < 0)
		return -errno;
	return ioctl(vmfd, KVM_X86_SET_MSR_FILTER, &filter) < 0 ? -errno : 0;
}

static int
kvm_get_supported_cpuid(struct kvm_vm *kvm)
{
	int nent = 256;

	kvm->supported = calloc(1, sizeof(*kvm->supported) +
	    (size_t)nent * sizeof(struct kvm_cpuid_entry2));
	if (kvm->supported == NULL)
		return -ENOMEM;
	kvm->supported->nent = (uint32_t)nent;
	if (ioctl(kvm->sysfd, KVM_GET_SUPPORTED_CPUID, kvm->supported) < 0)
		return -errno;
	return 0;
}

static void
kvm_vm_cleanup(void *bvm)
{
	struct kvm_vm *kvm = bvm;

	if (kvm == NULL)
		return;
	if (kvm->vmfd >= 0)
		close(kvm->vmfd);
	if (kvm->sysfd >= 0)
		close(kvm->sysfd);
	free(kvm->supported);
	free(kvm);
}

static int
kvm_vm_setup(struct kvm_vm *kvm)
{
	int error;

	kvm->sysfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sysfd < 0)
		return -errno;
	kvm->vmfd = ioctl(kvm->sysfd, KVM_CREATE_VM, 0);
	if (kvm->vmfd < 0)
		return -errno;
	error = kvm_check_caps(kvm->sysfd, kvm->vmfd);
	if (error)
		return error;
	kvm->run_size = ioctl(kvm->sysfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run))
		return -EINVAL;
	if (ioctl(kvm->vmfd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return -errno;
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(kvm->vmfd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return -errno;
	error = kvm_enable_msr_exits(kvm->vmfd);
	if (error)
		return error;
	kvm->have_ioeventfd =
	    ioctl(kvm->vmfd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
	return kvm_get_supported_cpuid(kvm);
}

static int
kvm_vm_init(struct vm *vm, void **bvm)
{
	struct kvm_vm *kvm = calloc(1, sizeof(*kvm));
	int error;

	(void)vm;
	if (kvm == NULL)
		return -ENOMEM;
	kvm->sysfd = kvm->vmfd = -1;
	error = kvm_vm_setup(kvm);
	if (error) {
		kvm_vm_cleanup(kvm);
		return error;
	}
	pthread_once(&kvm_signal_once, kvm_install_kick_handler);
	*bvm = kvm;
	return 0;
}

static int
kvm_mem_map(void *bvm, int slot, uint64_t gpa, size_t len, void *hva)
{
	struct kvm_vm *kvm = bvm;
	struct kvm_userspace_memory_region r = {
		.slot = (uint32_t)slot,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(kvm->vmfd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno
								    : 0;
}

/* Leaf 1 ECX and leaf 7 EBX/ECX bits (SDM vol. 2A, CPUID). */
#define CPUID1_ECX_FMA (1u << 12)
#define CPUID1_ECX_CX16 (1u << 13)
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID1_ECX_AVX (1u << 28)
#define CPUID1_ECX_F16C (1u << 29)
#define CPUID7_EBX_AVX2 (1u << 5)
#define CPUID7_EBX_AVX512_MASK 0xd0230000u /* F, DQ, IFMA, PF, ER, CD, BW, VL */
#define CPUID7_ECX_AVX512_MASK 0x00005842u /* VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */

/*
 * Where /dev/kvm is not hardware virtualization (no vmx or svm flag:
 * nested KVM that emulates guest ring 0, as on the project's machines),
 * CMPXCHG16B and XSAVE/XRSTOR are not emulated at CPL 0 and stop the VM:
 * leave them out, with everything built on XSAVE (AVX, FMA, F16C, AVX2,
 * AVX-512).  See ../shared/docs/platform.md.
 */
static void
kvm_cpuid_trim(struct vmm_cpuid_entry *e)
{
	if (e->function == 1) {
		e->ecx &= ~(CPUID1_ECX_FMA | CPUID1_ECX_CX16 |
		    CPUID1_ECX_XSAVE | CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX |
		    CPUID1_ECX_F16C);
	} else if (e->function == 7 && e->index == 0) {
		e->ebx &= ~(CPUID7_EBX_AVX2 | CPUID7_EBX_AVX512_MASK);
		e->ecx &= ~CPUID7_ECX_AVX512_MASK;
	}
}

static int
kvm_cpuid_supported(void *bvm, struct vmm_cpuid_entry *ents, int max, int *n)
{
	struct kvm_vm *kvm = bvm;
	bool emulated = strcmp(vmm_backend_auto(), "kvm") != 0;
	int count = 0;

	for (uint32_t i = 0; i < kvm->supported->nent && count < max; i++) {
		const struct kvm_cpuid_entry2 *k = &kvm->supported->entries[i];

		ents[count] = (struct vmm_cpuid_entry){
			.function = k->function,
			.index = k->index,
			.flags = (k->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
			    ? VMM_CPUID_SIGNIFICANT_INDEX : 0,
			.eax = k->eax, .ebx = k->ebx, .ecx = k->ecx,
			.edx = k->edx,
		};
		if (emulated)
			kvm_cpuid_trim(&ents[count]);
		count++;
	}
	*n = count;
	return 0;
}

static int
kvm_vcpu_set_cpuid(void *bvcpu, const struct vmm_cpuid_entry *ents, int n)
{
	struct kvm_vcpu *kv = bvcpu;
	struct kvm_cpuid2 *c;
	int error = 0;

	c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
	if (c == NULL)
		return -ENOMEM;
	c->nent = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		c->entries[i] = (struct kvm_cpuid_entry2){
			.function = ents[i].function,
			.index = ents[i].index,
			.flags = (ents[i].flags & VMM_CPUID_SIGNIFICANT_INDEX)
			    ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = ents[i].eax, .ebx = ents[i].ebx,
			.ecx = ents[i].ecx, .edx = ents[i].edx,
		};
	}
	if (ioctl(kv->fd, KVM_SET_CPUID2, c) < 0)
		error = -errno;
	free(c);
	return error;
}

static void
kvm_vcpu_cleanup(void *bvcpu)
{
	struct kvm_vcpu *kv = bvcpu;

	if (kv == NULL)
		return;
	if (kv->run != NULL && kv->run != MAP_FAILED)
		munmap(kv->run, (size_t)kv->kvm->run_size);
	if (kv->fd >= 0)
		close(kv->fd);
	free(kv);
}

static uint64_t
host_tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * Where the guest's TSC stands against the host's, so that the vmm can
 * read the guest TSC without a system call (TSC-deadline timers), and
 * its rate.  Without TSC scaling (absent here) both run at one rate.
 */
static void
kvm_tsc_init(struct kvm_vcpu *kv)
{
	/* struct kvm_msrs ends in a flexible array: room for one entry. */
	union {
		struct kvm_msrs hdr;
		uint8_t room[sizeof(struct kvm_msrs) +
		    sizeof(struct kvm_msr_entry)];
	} m = { .hdr = { .nmsrs = 1 } };
	long khz = ioctl(kv->fd, KVM_GET_TSC_KHZ, 0);

	m.hdr.entries[0].index = 0x10; /* IA32_TIME_STAMP_COUNTER */
	if (ioctl(kv->fd, KVM_GET_MSRS, &m) == 1)
		kv->tsc_offset = (int64_t)(m.hdr.entries[0].data - host_tsc());
	kv->tsc_hz = khz > 0 ? (uint64_t)khz * 1000 : 0;
}

static int
kvm_vcpu_init(void *bvm, struct vm_vcpu *vcpu, int id, void **bvcpu)
{
	struct kvm_vm *kvm = bvm;
	struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
	int error;

	(void)vcpu;
	if (kv == NULL)
		return -ENOMEM;
	kv->kvm = kvm;
	kv->fd = ioctl(kvm->vmfd, KVM_CREATE_VCPU, (unsigned long)id);
	if (kv->fd < 0)
		goto fail;
	kv->run = mmap(NULL, (size_t)kvm->run_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED)
		goto fail;
	/* Seed the sync-regs area: it is only filled by KVM after a run. */
	if (ioctl(kv->fd, KVM_GET_REGS, &kv->run->s.regs.regs) < 0)
		goto fail;
	kvm_tsc_init(kv);
	*bvcpu = kv;
	return 0;
fail:
	error = -errno;
	kvm_vcpu_cleanup(kv);
	return error;
}

static void
kvm_kick(void *bvcpu)
{
	struct kvm_vcpu *kv = bvcpu;

	/*
	 * immediate_exit catches a kick that lands before KVM_RUN; the
	 * signal one that lands inside it.  Cleared only after KVM_RUN saw it.
	 */
	__atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&kv->have_thread))
		pthread_kill(kv->thread, kvm_sig_kick());
}

/* Hand the device model's answer to KVM, which completes the instruction. */
static void
kvm_complete_exit(struct kvm_vcpu *kv, const struct vm_exit *vme)
{
	struct kvm_run *run = kv->run;

	switch (kv->pending) {
	case VM_EXITCODE_INOUT:
		if (run->io.direction == KVM_EXIT_IO_IN)
			memcpy((uint8_t *)run + run->io.data_offset,
			    &vme->u.inout.eax, run->io.size);
		break;
	case VM_EXITCODE_MMIO:
		if (!run->mmio.is_write)
			memcpy(run->mmio.data, &vme->u.mmio.data,
			    run->mmio.len);
		break;
	case VM_EXITCODE_RDMSR:
		run->msr.data = vme->u.msr.val;
		run->msr.error = vme->u.msr.error ? 1 : 0;
		break;
	case VM_EXITCODE_WRMSR:
		run->msr.error = vme->u.msr.error ? 1 : 0;
		break;
	}
	kv->pending = VM_EXITCODE_BOGUS;
}

static void
kvm_exit_io(struct kvm_vcpu *kv, struct vm_exit *vme)
{
	struct kvm_run *run = kv->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct vm_inout io = {
		.port = run->io.port,
		.bytes = run->io.size,
		.in = run->io.direction == KVM_EXIT_IO_IN,
	};
	uint64_t span = (uint64_t)run->io.size * run->io.count;

	if (run->io.data_offset + span > (uint64_t)kv->kvm->run_size ||
	    (io.bytes != 1 && io.bytes != 2 && io.bytes != 4)) {
		vme->exitcode = VM_EXITCODE_INTERNAL_ERROR;
		vme->u.internal.backend_reason = KVM_EXIT_IO;
		return;
	}
	if (run->io.count == 1) {
		vme->exitcode = VM_EXITCODE_INOUT;
		if (!io.in)
			memcpy(&io.eax, data, io.bytes);
		vme->u.inout = io;
	} else {
		vme->exitcode = VM_EXITCODE_INOUT_STR;
		vme->u.inout_str.inout = io;
		vme->u.inout_str.count = run->io.count;
		vme->u.inout_str.data = data;
	}
}

static void
kvm_exit_mmio(struct kvm_vcpu *kv, struct vm_exit *vme)
{
	struct kvm_run *run = kv->run;

	vme->exitcode = VM_EXITCODE_MMIO;
	vme->u.mmio.gpa = run->mmio.phys_addr;
	vme->u.mmio.bytes = (uint8_t)run->mmio.len;
	vme->u.mmio.write = run->mmio.is_write;
	if (run->mmio.is_write)
		memcpy(&vme->u.mmio.data, run->mmio.data, run->mmio.len);
}

static void
kvm_exit_internal(struct kvm_run *run, struct vm_exit *vme)
{
	vme->exitcode = VM_EXITCODE_INTERNAL_ERROR;
	vme->u.internal.backend_reason = run->exit_reason;
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		vme->u.internal.suberror = run->internal.suberror;
		for (uint32_t i = 0; i < run->internal.ndata && i < 2; i++)
			vme->u.internal.data[i] = run->internal.data[i];
	} else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		vme->u.internal.data[0] =
		    run->fail_entry.hardware_entry_failure_reason;
	}
}

static void
kvm_exit_system_event(struct kvm_run *run, struct vm_exit *vme)
{
	vme->exitcode = VM_EXITCODE_SUSPENDED;
	vme->u.suspended.how = run->system_event.type == KVM_SYSTEM_EVENT_RESET
	    ? VM_SUSPEND_RESET : VM_SUSPEND_POWEROFF;
}

static void
kvm_translate_exit(struct kvm_vcpu *kv, struct vm_exit *vme)
{
	struct kvm_run *run = kv->run;

	memset(vme, 0, sizeof(*vme));
	vme->rip = run->s.regs.regs.rip;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		kvm_exit_io(kv, vme);
		break;
	case KVM_EXIT_MMIO:
		kvm_exit_mmio(kv, vme);
		break;
	case KVM_EXIT_HLT:
		vme->exitcode = VM_EXITCODE_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		vme->exitcode = VM_EXITCODE_SUSPENDED;
		vme->u.suspended.how = VM_SUSPEND_TRIPLEFAULT;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		kvm_exit_system_event(run, vme);
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		vme->exitcode = run->exit_reason == KVM_EXIT_X86_RDMSR
		    ? VM_EXITCODE_RDMSR : VM_EXITCODE_WRMSR;
		vme->u.msr.code = run->msr.index;
		vme->u.msr.val = run->msr.data;
		break;
	case KVM_EXIT_DEBUG:
		vme->exitcode = VM_EXITCODE_DEBUG;
		break;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_SET_TPR:
		/* The vmm looks at interrupts and CR8 after every exit. */
		vme->exitcode = VM_EXITCODE_BOGUS;
		break;
	default:
		kvm_exit_internal(run, vme);
		break;
	}
	kv->pending = vme->exitcode;
}

static int
kvm_run_vcpu(void *bvcpu, struct vm_exit *vme)
{
	struct kvm_vcpu *kv = bvcpu;
	int r;

	if (!atomic_load(&kv->have_thread)) {
		kv->thread = pthread_self();
		atomic_store(&kv->have_thread, true);
	}
	kvm_complete_exit(kv, vme);
	if (kv->sregs_dirty) {
		if (ioctl(kv->fd, KVM_SET_SREGS, &kv->sregs) < 0)
			return -errno;
		kv->sregs_dirty = false;
	}
	kv->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	r = ioctl(kv->fd, KVM_RUN, 0);
	kv->sregs_valid = false;
	kv->injected = false;
	if (r < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
		__atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		memset(vme, 0, sizeof(*vme));
		vme->exitcode = VM_EXITCODE_BOGUS;
		return 0;
	}
	kvm_translate_exit(kv, vme);
	return 0;
}

static bool
kvm_intr_ready(void *bvcpu)
{
	struct kvm_vcpu *kv = bvcpu;

	return kv->run->ready_for_interrupt_injection && !kv->injected;
}

static int
kvm_inject_intr(void *bvcpu, int vector)
{
	struct kvm_vcpu *kv = bvcpu;
	struct kvm_interrupt irq = { .irq = (uint32_t)vector };

	if (ioctl(kv->fd, KVM_INTERRUPT, &irq) < 0)
		return -errno;
	kv->injected = true;
	return 0;
}

static void
kvm_request_intr_window(void *bvcpu, bool on)
{
	((struct kvm_vcpu *)bvcpu)->run->request_interrupt_window = on;
}

/* Without an in-kernel irqchip KVM queues the NMI until it can deliver. */
static int
kvm_inject_nmi(void *bvcpu)
{
	return ioctl(((struct kvm_vcpu *)bvcpu)->fd, KVM_NMI) < 0 ? -errno : 0;
}

/* KVM loads kvm_run's cr8 at entry and stores it at exit. */
static uint8_t
kvm_get_cr8(void *bvcpu)
{
	return (uint8_t)((struct kvm_vcpu *)bvcpu)->run->cr8;
}

static void
kvm_set_cr8(void *bvcpu, uint8_t cr8)
{
	((struct kvm_vcpu *)bvcpu)->run->cr8 = cr8 & 0xf;
}

static uint64_t
kvm_guest_tsc(void *bvcpu)
{
	return host_tsc() + (uint64_t)((struct kvm_vcpu *)bvcpu)->tsc_offset;
}

static uint64_t
kvm_tsc_hz(void *bvcpu)
{
	return ((struct kvm_vcpu *)bvcpu)->tsc_hz;
}

static int
kvm_load_sregs(struct kvm_vcpu *kv)
{
	if (kv->sregs_valid)
		return 0;
	if (ioctl(kv->fd, KVM_GET_SREGS, &kv->sregs) < 0)
		return -errno;
	kv->sregs_valid = true;
	return 0;
}

/* General registers: their place in the sync-regs copy. */
static __u64 *
kvm_gpr(struct kvm_regs *r, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_RAX: return &r->rax;
	case VM_REG_GUEST_RBX: return &r->rbx;
	case VM_REG_GUEST_RCX: return &r->rcx;
	case VM_REG_GUEST_RDX: return &r->rdx;
	case VM_REG_GUEST_RSI: return &r->rsi;
	case VM_REG_GUEST_RDI: return &r->rdi;
	case VM_REG_GUEST_RBP: return &r->rbp;
	case VM_REG_GUEST_RSP: return &r->rsp;
	case VM_REG_GUEST_R8: return &r->r8;
	case VM_REG_GUEST_R9: return &r->r9;
	case VM_REG_GUEST_R10: return &r->r10;
	case VM_REG_GUEST_R11: return &r->r11;
	case VM_REG_GUEST_R12: return &r->r12;
	case VM_REG_GUEST_R13: return &r->r13;
	case VM_REG_GUEST_R14: return &r->r14;
	case VM_REG_GUEST_R15: return &r->r15;
	case VM_REG_GUEST_RIP: return &r->rip;
	case VM_REG_GUEST_RFLAGS: return &r->rflags;
	default: return NULL;
	}
}

static __u64 *
kvm_sreg_u64(struct kvm_sregs *s, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_CR0: return &s->cr0;
	case VM_REG_GUEST_CR2: return &s->cr2;
	case VM_REG_GUEST_CR3: return &s->cr3;
	case VM_REG_GUEST_CR4: return &s->cr4;
	case VM_REG_GUEST_CR8: return &s->cr8;
	case VM_REG_GUEST_EFER: return &s->efer;
	default: return NULL;
	}
}

static struct kvm_segment *
kvm_seg(struct kvm_sregs *s, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_ES: return &s->es;
	case VM_REG_GUEST_CS: return &s->cs;
	case VM_REG_GUEST_SS: return &s->ss;
	case VM_REG_GUEST_DS: return &s->ds;
	case VM_REG_GUEST_FS: return &s->fs;
	case VM_REG_GUEST_GS: return &s->gs;
	case VM_REG_GUEST_LDTR: return &s->ldt;
	case VM_REG_GUEST_TR: return &s->tr;
	default: return NULL;
	}
}

static struct kvm_dtable *
kvm_dtable(struct kvm_sregs *s, int reg)
{
	return reg == VM_REG_GUEST_GDTR ? &s->gdt
	    : reg == VM_REG_GUEST_IDTR ? &s->idt : NULL;
}

static __u64 *
kvm_dreg(struct kvm_debugregs *d, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_DR0: return &d->db[0];
	case VM_REG_GUEST_DR1: return &d->db[1];
	case VM_REG_GUEST_DR2: return &d->db[2];
	case VM_REG_GUEST_DR3: return &d->db[3];
	case VM_REG_GUEST_DR6: return &d->dr6;
	case VM_REG_GUEST_DR7: return &d->dr7;
	default: return NULL;
	}
}

static int
kvm_access_dreg(struct kvm_vcpu *kv, int reg, uint64_t *val, bool write)
{
	struct kvm_debugregs d;

	if (ioctl(kv->fd, KVM_GET_DEBUGREGS, &d) < 0)
		return -errno;
	if (!write) {
		*val = *kvm_dreg(&d, reg);
		return 0;
	}
	*kvm_dreg(&d, reg) = *val;
	return ioctl(kv->fd, KVM_SET_DEBUGREGS, &d) < 0 ? -errno : 0;
}

static int
kvm_access_intr_shadow(struct kvm_vcpu *kv, uint64_t *val, bool write)
{
	struct kvm_vcpu_events ev;

	if (ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	if (!write) {
		*val = ev.interrupt.shadow != 0;
		return 0;
	}
	ev.interrupt.shadow = *val ? KVM_X86_SHADOW_INT_STI : 0;
	ev.flags = 0;
	return ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

/* One accessor for every register kind; 'write' picks the direction. */
static int
kvm_access_reg(struct kvm_vcpu *kv, int reg, uint64_t *val, bool write)
{
	__u64 *p = kvm_gpr(&kv->run->s.regs.regs, reg);
	int error;

	if (p != NULL) {
		if (write) {
			*p = *val;
			kv->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		} else {
			*val = *p;
		}
		return 0;
	}
	if (reg >= VM_REG_GUEST_DR0 && reg <= VM_REG_GUEST_DR7)
		return kvm_access_dreg(kv, reg, val, write);
	if (reg == VM_REG_GUEST_INTR_SHADOW)
		return kvm_access_intr_shadow(kv, val, write);
	error = kvm_load_sregs(kv);
	if (error)
		return error;
	p = kvm_sreg_u64(&kv->sregs, reg);
	struct kvm_segment *seg = kvm_seg(&kv->sregs, reg);
	if (p == NULL && seg == NULL)
		return -EINVAL;
	if (!write)
		*val = p ? *p : seg->selector;
	else if (p)
		*p = *val;
	else
		seg->selector = (uint16_t)*val;
	kv->sregs_dirty |= write;
	return 0;
}

static int
kvm_getreg(void *bvcpu, int reg, uint64_t *val)
{
	return kvm_access_reg(bvcpu, reg, val, false);
}

static int
kvm_setreg(void *bvcpu, int reg, uint64_t val)
{
	return kvm_access_reg(bvcpu, reg, &val, true);
}

static uint32_t
kvm_seg_to_access(const struct kvm_segment *s)
{
	return (uint32_t)(s->type & 0xf) | (s->s ? SEG_ACCESS_S : 0) |
	    (uint32_t)(s->dpl & 3) << 5 | (s->present ? SEG_ACCESS_P : 0) |
	    (s->avl ? SEG_ACCESS_AVL : 0) | (s->l ? SEG_ACCESS_L : 0) |
	    (s->db ? SEG_ACCESS_DB : 0) | (s->g ? SEG_ACCESS_G : 0) |
	    (s->unusable ? SEG_ACCESS_UNUSABLE : 0);
}

static void
kvm_access_to_seg(uint32_t a, struct kvm_segment *s)
{
	s->type = SEG_ACCESS_TYPE(a);
	s->s = (a & SEG_ACCESS_S) != 0;
	s->dpl = (uint8_t)SEG_ACCESS_DPL(a);
	s->present = (a & SEG_ACCESS_P) != 0;
	s->avl = (a & SEG_ACCESS_AVL) != 0;
	s->l = (a & SEG_ACCESS_L) != 0;
	s->db = (a & SEG_ACCESS_DB) != 0;
	s->g = (a & SEG_ACCESS_G) != 0;
	s->unusable = (a & SEG_ACCESS_UNUSABLE) != 0;
}

static int
kvm_getdesc(void *bvcpu, int reg, struct seg_desc *desc)
{
	struct kvm_vcpu *kv = bvcpu;
	int error = kvm_load_sregs(kv);
	struct kvm_segment *seg;
	struct kvm_dtable *dt;

	if (error)
		return error;
	if ((seg = kvm_seg(&kv->sregs, reg)) != NULL) {
		*desc = (struct seg_desc){ .base = seg->base,
			.limit = seg->limit, .access = kvm_seg_to_access(seg) };
	} else if ((dt = kvm_dtable(&kv->sregs, reg)) != NULL) {
		*desc = (struct seg_desc){ .base = dt->base,
			.limit = dt->limit };
	} else {
		return -EINVAL;
	}
	return 0;
}

static int
kvm_setdesc(void *bvcpu, int reg, const struct seg_desc *desc)
{
	struct kvm_vcpu *kv = bvcpu;
	int error = kvm_load_sregs(kv);
	struct kvm_segment *seg;
	struct kvm_dtable *dt;

	if (error)
		return error;
	if ((seg = kvm_seg(&kv->sregs, reg)) != NULL) {
		seg->base = desc->base;
		seg->limit = desc->limit;
		kvm_access_to_seg(desc->access, seg);
	} else if ((dt = kvm_dtable(&kv->sregs, reg)) != NULL) {
		dt->base = desc->base;
		dt->limit = (uint16_t)desc->limit;
	} else {
		return -EINVAL;
	}
	kv->sregs_dirty = true;
	return 0;
}

/*
 * KVM_IOEVENTFD: KVM matches the write (address, exact length, and the
 * value with DATAMATCH) on its I/O bus and signals the eventfd, then
 * completes the instruction and re-enters; KVM_RUN does not return.  It
 * needs no in-kernel irqchip.  An MMIO write that KVM must first decode
 * (any length but 0) still costs an instruction emulation in the kernel.
 */
static int
kvm_ioeventfd(void *bvm, uint64_t addr, int len, bool pio, bool datamatch,
    uint64_t data, int fd, bool assign)
{
	struct kvm_vm *kvm = bvm;
	struct kvm_ioeventfd io = {
		.datamatch = datamatch ? data : 0,
		.addr = addr,
		.len = (uint32_t)len,
		.fd = fd,
		.flags = (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
		    (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		    (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (!kvm->have_ioeventfd)
		return -ENOTSUP;
	return ioctl(kvm->vmfd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

const struct vmm_ops vmm_ops_kvm = {
	.name = "kvm",
	.vm_init = kvm_vm_init,
	.vm_cleanup = kvm_vm_cleanup,
	.mem_map = kvm_mem_map,
	.cpuid_supported = kvm_cpuid_supported,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_cleanup = kvm_vcpu_cleanup,
	.vcpu_set_cpuid = kvm_vcpu_set_cpuid,
	.run = kvm_run_vcpu,
	.kick = kvm_kick,
	.intr_ready = kvm_intr_ready,
	.inject_intr = kvm_inject_intr,
	.request_intr_window = kvm_request_intr_window,
	.inject_nmi = kvm_inject_nmi,
	.get_cr8 = kvm_get_cr8,
	.set_cr8 = kvm_set_cr8,
	.guest_tsc = kvm_guest_tsc,
	.tsc_hz = kvm_tsc_hz,
	.getreg = kvm_getreg,
	.setreg = kvm_setreg,
	.getdesc = kvm_getdesc,
	.setdesc = kvm_setdesc,
	.ioeventfd = kvm_ioeventfd,
};
