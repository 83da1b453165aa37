/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * struct vmm_ops: what the vmm core needs from a backend (bhyve's
 * vmm_ops_intel/vmm_ops_amd).  A backend runs guest code and reports
 * exits; everything above that (HLT, suspend, statistics, the CPUID policy,
 * later the interrupt controllers) is the core's.
 *
 * Threading: run() and the register calls are made with the vCPU owned by
 * the caller (see vmm.c: vcpu states); kick() may be called from any thread
 * at any time.
 */
#ifndef VMM_OPS_H
#define VMM_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

struct vm;
struct vm_vcpu;

/* One CPUID leaf of the policy (vmm_cpuid.c). */
struct vmm_cpuid_entry {
	uint32_t function;
	uint32_t index;
	uint32_t flags; /* VMM_CPUID_SIGNIFICANT_INDEX */
	uint32_t eax, ebx, ecx, edx;
};
#define VMM_CPUID_SIGNIFICANT_INDEX 1

struct vmm_ops {
	const char *name;

	int (*vm_init)(struct vm *vm, void **bvm);
	void (*vm_cleanup)(void *bvm);
	/* Make [gpa, gpa+len) guest RAM backed by host memory at hva. */
	int (*mem_map)(void *bvm, int slot, uint64_t gpa, size_t len,
	    void *hva);
	/* What CPUID leaves the backend can run (the policy's raw input). */
	int (*cpuid_supported)(void *bvm, struct vmm_cpuid_entry *ents,
	    int max, int *n);

	int (*vcpu_init)(void *bvm, struct vm_vcpu *vcpu, int id, void **bvcpu);
	void (*vcpu_cleanup)(void *bvcpu);
	int (*vcpu_set_cpuid)(void *bvcpu, const struct vmm_cpuid_entry *ents,
	    int n);

	/*
	 * Enter the guest.  On entry, 'vme' holds the previous exit with the
	 * device model's answer (IN data, MMIO read data, MSR value); the
	 * backend completes that instruction first.  Returns 0 with the new
	 * exit in 'vme' (VM_EXITCODE_BOGUS when kicked), or a negative errno
	 * when the backend itself failed.
	 */
	int (*run)(void *bvcpu, struct vm_exit *vme);
	/* Make a current or next run() return VM_EXITCODE_BOGUS soon. */
	void (*kick)(void *bvcpu);

	/*
	 * Event injection at entry, decided by the vmm.  intr_ready: the
	 * guest can take an external interrupt now (RFLAGS.IF, no STI/MOV SS
	 * shadow, nothing else being injected), as of the last exit.  When
	 * it cannot, the vmm asks for an interrupt-window exit instead.
	 */
	bool (*intr_ready)(void *bvcpu);
	int (*inject_intr)(void *bvcpu, int vector);
	void (*request_intr_window)(void *bvcpu, bool on);
	int (*inject_nmi)(void *bvcpu);
	/* The backend's CR8 (TPR bits 7:4), kept in step with the vlapic. */
	uint8_t (*get_cr8)(void *bvcpu);
	void (*set_cr8)(void *bvcpu, uint8_t cr8);
	/* The guest's TSC now, and its rate in Hz (0: unknown). */
	uint64_t (*guest_tsc)(void *bvcpu);
	uint64_t (*tsc_hz)(void *bvcpu);

	int (*getreg)(void *bvcpu, int reg, uint64_t *val);
	int (*setreg)(void *bvcpu, int reg, uint64_t val);
	int (*getdesc)(void *bvcpu, int reg, struct seg_desc *desc);
	int (*setdesc)(void *bvcpu, int reg, const struct seg_desc *desc);

	/*
	 * Make a guest write of 'len' bytes (1, 2, 4 or 8) to 'addr', an I/O
	 * port when 'pio' else a guest-physical address, signal the eventfd
	 * 'fd' inside the backend instead of exiting; with 'datamatch' only a
	 * write of the value 'data'.  'assign' false removes the registration
	 * made with the same arguments.  A backend where an exit is cheap, or
	 * that cannot, returns -ENOTSUP and the write exits as before.  The
	 * core has checked the arguments.  Any thread, any time.
	 */
	int (*ioeventfd)(void *bvm, uint64_t addr, int len, bool pio,
	    bool datamatch, uint64_t data, int fd, bool assign);
};

extern const struct vmm_ops vmm_ops_kvm;
extern const struct vmm_ops vmm_ops_vtx;
extern const struct vmm_ops vmm_ops_null;

/*
 * The null backend has no ioeventfds (-ENOTSUP), unless a test gives it a
 * hook that sees every call in the op's place, with 'arg' for 'bvm'.
 */
typedef int vmm_ioeventfd_hook_t(void *arg, uint64_t addr, int len, bool pio,
    bool datamatch, uint64_t data, int fd, bool assign);
void vmm_null_set_ioeventfd_hook(void *bvm, vmm_ioeventfd_hook_t *hook,
    void *arg);

#endif /* VMM_OPS_H */
