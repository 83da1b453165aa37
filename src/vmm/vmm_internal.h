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
#include "io/vmm_isa.h"

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
 * happen under vcpu->mtx; waiters sleep on vcpu->cv.
 *
 * Locks, outermost first: a chip's lock (vatpic, vatpit, vrtc, vioapic,
 * vhpet, vlapic), then vcpu->mtx, then vm->lock.  vcpu->mtx is only held
 * to change state or to sleep: never while the guest runs and never
 * around a call into a chip, so a chip may wake any vCPU at any time.
 */
enum vcpu_state { VCPU_IDLE, VCPU_RUNNING, VCPU_FROZEN };

/* Where a vCPU is in the INIT/SIPI protocol (SDM vol. 3, 9.4.4). */
enum vcpu_boot_state {
	VCPU_BOOT_WAIT_INIT, /* an AP held in reset until its first INIT */
	VCPU_BOOT_WAIT_SIPI, /* reset by INIT, waiting for a start-up IPI */
	VCPU_BOOT_RUNNING,   /* executing (the BSP from the start) */
};

struct vlapic;

struct vm_vcpu {
	struct vm *vm;
	int id;
	uint32_t apic_id;
	void *bvcpu; /* the backend's */
	struct vlapic *vlapic;

	pthread_mutex_t mtx;
	pthread_cond_t cv;
	enum vcpu_state state;
	int freeze_requests; /* accessors waiting for RUNNING to end */
	bool halted;	     /* in HLT: sleeps on cv instead of running */
	bool hlt_intr_disabled; /* RFLAGS.IF was clear at that HLT */
	bool notified;	     /* an event arrived since the vCPU last looked */
	bool sleeping;	     /* waiting on cv (HLT, SIPI): no kick needed */
	enum vcpu_boot_state boot_state;

	/* Posted by other threads, consumed by the vCPU's own. */
	_Atomic int nmi_pending;
	_Atomic bool init_pending;
	_Atomic int sipi_vector;	/* -1: none */
	_Atomic uint64_t spinup_pending; /* APs this vCPU's SIPI woke */
	uint8_t tpr_shadow;		/* TPR last synced with the backend */
	struct vm_exit deferred;	/* answered exit held over a SPINUP_AP */
	bool have_deferred;

	_Atomic uint64_t stats[VMST_MAX];
};

struct vatpic;
struct vatpit;
struct vrtc;
struct vpmtmr;
struct vioapic;
struct vhpet;
struct vmm_timebase;

struct vm {
	char name[VM_MAX_NAMELEN + 1];
	const struct vmm_ops *ops;
	void *bvm; /* the backend's */
	struct vmm_mem mem;
	int sockets, cores, threads, maxcpus;

	/* The vmm's own chips (vmm_platform.c); the RTC comes with memory. */
	struct vmm_timebase *tb;
	struct vatpic *atpic;
	struct vatpit *atpit;
	struct vpmtmr *pmtmr;
	struct vioapic *ioapic;
	struct vhpet *hpet;
	struct vrtc *rtc;
	bool x2apic; /* x86.x2apic: vCPUs start in x2APIC mode */

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

/* vmm_vcpu.c */
void vcpu_notify_event(struct vm_vcpu *vcpu);
void vcpu_freeze(struct vm_vcpu *vcpu);
void vcpu_thaw(struct vm_vcpu *vcpu);

/* vmm_platform.c: the chips, interrupt routing, in-vmm ports and MMIO. */
int vmm_platform_init(struct vm *vm);
int vmm_platform_init_memory(struct vm *vm);
void vmm_platform_quiesce(struct vm *vm);
void vmm_platform_cleanup(struct vm *vm);
int vmm_isa_irq(struct vm *vm, int atpic_irq, int ioapic_pin,
    enum vmm_irq_op op);
int vmm_ioapic_irq(struct vm *vm, int pin, enum vmm_irq_op op);
/* true: the exit was the vmm's own and 'vme' holds its answer */
bool vmm_platform_inout(struct vm_vcpu *vcpu, struct vm_exit *vme);
bool vmm_platform_mmio(struct vm_vcpu *vcpu, struct vm_exit *vme);
bool vmm_platform_msr(struct vm_vcpu *vcpu, struct vm_exit *vme);

/* vmm_lapic.c: local APICs, IPIs, MSIs, INIT and SIPI. */
int vmm_lapic_vcpu_init(struct vm_vcpu *vcpu);
void vmm_lapic_vcpu_cleanup(struct vm_vcpu *vcpu);
int vmm_lapic_msi(struct vm *vm, uint64_t addr, uint64_t msg);
int vmm_lapic_deliver(struct vm *vm, uint32_t dest, bool logical, int delmode,
    int vector, bool level, bool x2apic_dest);

/* vmm_cpuid.c */
int vmm_cpuid_init_vcpu(struct vm *vm, struct vm_vcpu *vcpu);
uint32_t vmm_topology_apic_id(const struct vm *vm, int vcpuid);

#endif /* VMM_INTERNAL_H */
