/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ABI between the vmm core and its users (libvmmapi, the device model,
 * bhyvectl): register names, segment descriptors, exit codes and the exit
 * structure.  This is the one header both halves share.
 *
 * Rules: enum values are only ever appended; struct sizes are pinned with
 * _Static_assert so a change is a deliberate ABI change.
 */
#ifndef VMM_H
#define VMM_H

#include <stdbool.h>
#include <stdint.h>

#define VM_MAXCPU 64 /* vCPUs per VM */
#define VM_MAX_NAMELEN 31

/* Guest-physical layout, as bhyve lays it out. */
#define VM_LOWMEM_LIMIT (3ULL << 30)  /* low RAM ends here at most */
#define VM_HIGHMEM_BASE (4ULL << 30)  /* RAM above the PCI hole starts here */

enum vm_reg_name {
	VM_REG_GUEST_RAX,
	VM_REG_GUEST_RBX,
	VM_REG_GUEST_RCX,
	VM_REG_GUEST_RDX,
	VM_REG_GUEST_RSI,
	VM_REG_GUEST_RDI,
	VM_REG_GUEST_RBP,
	VM_REG_GUEST_RSP,
	VM_REG_GUEST_R8,
	VM_REG_GUEST_R9,
	VM_REG_GUEST_R10,
	VM_REG_GUEST_R11,
	VM_REG_GUEST_R12,
	VM_REG_GUEST_R13,
	VM_REG_GUEST_R14,
	VM_REG_GUEST_R15,
	VM_REG_GUEST_RIP,
	VM_REG_GUEST_RFLAGS,
	VM_REG_GUEST_CR0,
	VM_REG_GUEST_CR2,
	VM_REG_GUEST_CR3,
	VM_REG_GUEST_CR4,
	VM_REG_GUEST_CR8,
	VM_REG_GUEST_EFER,
	VM_REG_GUEST_DR0,
	VM_REG_GUEST_DR1,
	VM_REG_GUEST_DR2,
	VM_REG_GUEST_DR3,
	VM_REG_GUEST_DR6,
	VM_REG_GUEST_DR7,
	/* Segment registers: get/set_register reads/writes the selector. */
	VM_REG_GUEST_ES,
	VM_REG_GUEST_CS,
	VM_REG_GUEST_SS,
	VM_REG_GUEST_DS,
	VM_REG_GUEST_FS,
	VM_REG_GUEST_GS,
	VM_REG_GUEST_LDTR,
	VM_REG_GUEST_TR,
	/* Descriptor tables: only get/set_desc applies. */
	VM_REG_GUEST_GDTR,
	VM_REG_GUEST_IDTR,
	VM_REG_GUEST_INTR_SHADOW, /* 1 while STI/MOV SS blocking is in force */
	VM_REG_LAST
};

#define VM_REG_IS_SEGMENT(r) ((r) >= VM_REG_GUEST_ES && (r) <= VM_REG_GUEST_TR)
#define VM_REG_HAS_DESC(r) ((r) >= VM_REG_GUEST_ES && (r) <= VM_REG_GUEST_IDTR)

/*
 * A segment or descriptor-table register's hidden part.  'access' uses the
 * VMX guest-state layout (SDM vol. 3, 24.4.1, table 24-2): type[3:0], S[4],
 * DPL[6:5], P[7], AVL[12], L[13], D/B[14], G[15], unusable[16].
 * The limit is in bytes (already scaled by G).
 */
struct seg_desc {
	uint64_t base;
	uint32_t limit;
	uint32_t access;
};
_Static_assert(sizeof(struct seg_desc) == 16, "seg_desc ABI");

#define SEG_ACCESS_TYPE(a) ((a) & 0xf)
#define SEG_ACCESS_S 0x10
#define SEG_ACCESS_DPL(a) (((a) >> 5) & 3)
#define SEG_ACCESS_P 0x80
#define SEG_ACCESS_AVL 0x1000
#define SEG_ACCESS_L 0x2000
#define SEG_ACCESS_DB 0x4000
#define SEG_ACCESS_G 0x8000
#define SEG_ACCESS_UNUSABLE 0x10000

/* Why a vCPU came back from vm_run(). Append only. */
enum vm_exitcode {
	VM_EXITCODE_BOGUS,	/* nothing to do: the vCPU was kicked */
	VM_EXITCODE_INOUT,	/* one port access: u.inout */
	VM_EXITCODE_INOUT_STR,	/* INS/OUTS, the memory side already done */
	VM_EXITCODE_MMIO,	/* one access to a gpa outside RAM: u.mmio */
	VM_EXITCODE_RDMSR,	/* an MSR the vmm does not own: u.msr */
	VM_EXITCODE_WRMSR,
	VM_EXITCODE_HLT,	/* reserved: HLT is handled in the vmm */
	VM_EXITCODE_PAUSE,
	VM_EXITCODE_SPINUP_AP,	/* start-up IPI for an AP: u.spinup_ap */
	VM_EXITCODE_SUSPENDED,	/* the VM is suspended: u.suspended */
	VM_EXITCODE_DEBUG,	/* the vCPU stopped for a debugger */
	VM_EXITCODE_BPT,	/* a guest breakpoint (gdb stub) */
	VM_EXITCODE_INST_EMUL,	/* an instruction the vmm could not emulate */
	VM_EXITCODE_INTERNAL_ERROR, /* the backend failed: u.internal */
	VM_EXITCODE_MAX
};

enum vm_suspend_how {
	VM_SUSPEND_NONE,
	VM_SUSPEND_RESET,
	VM_SUSPEND_POWEROFF,
	VM_SUSPEND_HALT,
	VM_SUSPEND_TRIPLEFAULT,
	VM_SUSPEND_LAST
};

/*
 * One port access.  For an IN the device model stores the value read in
 * 'eax' before calling vm_run() again; the vmm completes the instruction.
 */
struct vm_inout {
	uint16_t port;
	uint8_t bytes; /* 1, 2 or 4 */
	uint8_t in;    /* 1 for IN, 0 for OUT */
	uint32_t eax;
};

/*
 * INS/OUTS (possibly with REP).  The vmm has already done the guest-memory
 * side: for OUTS, 'data' holds the 'count' elements the guest wrote; for
 * INS, the device model fills 'data' and the vmm stores it into guest
 * memory on the next vm_run().  The device model only loops the port
 * handler (one place: inout.c).  'data' points into vmm-owned per-vCPU
 * storage valid until the next vm_run().
 */
struct vm_inout_str {
	struct vm_inout inout;
	uint32_t count;
	uint32_t pad;
	uint8_t *data;
};

/* One memory access to a gpa that is not RAM. */
struct vm_mmio {
	uint64_t gpa;
	uint64_t data; /* written value, or the value read (filled by bhyve) */
	uint8_t bytes; /* 1, 2, 4 or 8 */
	uint8_t write;
	uint8_t pad[6];
};

struct vm_msr {
	uint32_t code;
	/*
	 * Filled by the device model before the next vm_run(): 'error' set
	 * injects #GP into the guest instead of completing the access.
	 */
	uint32_t error;
	uint64_t val; /* WRMSR: value written; RDMSR: value to return */
};

struct vm_exit {
	uint32_t exitcode; /* enum vm_exitcode */
	uint32_t inst_length;
	uint64_t rip;
	union {
		struct vm_inout inout;
		struct vm_inout_str inout_str;
		struct vm_mmio mmio;
		struct vm_msr msr;
		struct {
			int vcpu;
			uint32_t pad;
			uint64_t rip;
		} spinup_ap;
		struct {
			uint32_t how; /* enum vm_suspend_how */
		} suspended;
		struct {
			uint32_t suberror;
			uint32_t backend_reason; /* the backend's raw code */
			uint64_t data[2];
		} internal;
		uint64_t raw[6];
	} u;
};
_Static_assert(sizeof(struct vm_exit) == 64, "vm_exit ABI");

/*
 * Per-vCPU statistics, counted by the vmm.  Append only; vmm_stat_name()
 * gives each a stable name for bhyvectl.
 */
enum vmm_stat {
	VMST_RUNS,		/* entries into the guest */
	VMST_EXITS,		/* exits from the guest, all reasons */
	VMST_EXIT_INOUT,
	VMST_EXIT_INOUT_STR,
	VMST_EXIT_MMIO,
	VMST_EXIT_RDMSR,
	VMST_EXIT_WRMSR,
	VMST_EXIT_HLT,
	VMST_EXIT_SHUTDOWN,
	VMST_EXIT_INTR_WINDOW,
	VMST_EXIT_KICKED,	/* signalled out of the guest */
	VMST_EXIT_OTHER,
	VMST_HLT_SLEEPS,	/* HLTs that slept on the host */
	VMST_MAX
};

#endif /* VMM_H */
