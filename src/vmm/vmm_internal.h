/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm core's objects, shared by the core's files and its backends.
 */
#ifndef VMM_INTERNAL_H
#define VMM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"
#include "vmm_ops.h"

#define VMM_MEM_MAXSEGS 2

struct vmm_mem_seg {
	uint64_t gpa;
	uint64_t len;
	uint8_t *hva;
};

/*
 * Guest RAM: one memfd mapped into one reserved host range so that host
 * address = base + gpa.  Everything outside the segments stays PROT_NONE,
 * so a stray access faults instead of reaching other host memory.
 */
struct vmm_mem {
	int fd;
	uint8_t *base;
	size_t reserved;
	uint64_t lowmem;
	uint64_t highmem;
	int nsegs;
	struct vmm_mem_seg segs[VMM_MEM_MAXSEGS];
};

int vmm_mem_setup(struct vmm_mem *mem, const char *name, size_t len);
void vmm_mem_cleanup(struct vmm_mem *mem);
void *vmm_mem_map_gpa(const struct vmm_mem *mem, uint64_t gpa, size_t len);

/*
 * Who may touch a vCPU's state.  IDLE: nobody; RUNNING: its thread is
 * inside vmm_vcpu_run(); FROZEN: a register accessor owns it.  Transitions
 * happen under vcpu->mtx; waiters sleep on vcpu->cv.  mtx is never held
 * while the guest runs.  Lock order: vcpu->mtx before vm->lock.
 */
enum vcpu_state { VCPU_IDLE, VCPU_RUNNING, VCPU_FROZEN };

struct vm_vcpu {
	struct vm *vm;
	int id;
	uint32_t apic_id;
	void *bvcpu; /* the backend's */

	pthread_mutex_t mtx;
	pthread_cond_t cv;
	enum vcpu_state state;
	int freeze_requests; /* accessors waiting for RUNNING to end */
	bool halted;	     /* in HLT: sleeps on cv instead of running */

	_Atomic uint64_t stats[VMST_MAX];
};

struct vm {
	char name[VM_MAX_NAMELEN + 1];
	const struct vmm_ops *ops;
	void *bvm; /* the backend's */
	struct vmm_mem mem;
	int sockets, cores, threads, maxcpus;

	pthread_mutex_t lock; /* vcpus[], active/halted sets */
	struct vm_vcpu *vcpus[VM_MAXCPU];
	uint64_t active_cpus;
	uint64_t halted_cpus;
	_Atomic int suspend; /* enum vm_suspend_how */
};

static inline void
vmm_stat_incr(struct vm_vcpu *vcpu, enum vmm_stat stat)
{
	atomic_fetch_add_explicit(&vcpu->stats[stat], 1, memory_order_relaxed);
}

/* vmm_cpuid.c */
int vmm_cpuid_init_vcpu(struct vm *vm, struct vm_vcpu *vcpu);
uint32_t vmm_topology_apic_id(const struct vm *vm, int vcpuid);

#endif /* VMM_INTERNAL_H */
