/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86-64 CPU core: an interpreter for guest code, the execution engine of
 * the software VT-x backend.  The core runs guest instructions until
 * something needs the outside world, then stops VT-x style: before the
 * instruction has any architectural effect, with RIP at the instruction
 * and everything an exit needs (length, bytes, decoded operands, addresses).
 *
 * Design
 * ------
 * State.  struct x86_cpu (opaque here, x86_internal.h inside the core)
 * holds the architectural state: GPRs, RIP, RFLAGS, the 8 segment registers
 * with their hidden parts in the VMX access-rights layout of vmm.h
 * (struct seg_desc), GDTR/IDTR, CR0/2/3/4/8, EFER, DR0-7, the MSRs the core
 * owns (x86_msr_owned()), x87/SSE state, interruptibility and a pending
 * event.  Registers are read and written with the vmm.h names.
 *
 * Memory.  struct x86_mem_ops.map gives a host pointer to the 4 KiB page
 * holding a guest-physical address, or NULL when it is not RAM or not
 * permitted for that access (EPT says no): the core then stops with
 * X86_STOP_MEM (gpa, gla, access, size, the data of a write).  The driver
 * emulates the access and calls x86_mem_complete() with the value read;
 * the next x86_run() re-executes the instruction and that access takes the
 * completed value instead of stopping again (several MMIO accesses in one
 * instruction complete one after the other).  Guest page-table A/D updates
 * use host atomics.
 *
 * Stops.  Every stop is fault-like (nothing of the instruction done, RIP at
 * it) so the driver emulates the instruction and advances RIP by
 * x86_stop_info.inst_len, except:
 *  - X86_STOP_BUDGET, X86_STOP_KICK, X86_STOP_INTR_WINDOW,
 *    X86_STOP_NMI_WINDOW: at an instruction boundary, nothing to emulate;
 *  - X86_STOP_TRIPLE_FAULT: shutdown, state undefined;
 *  - X86_STOP_EXCEPTION: the exception was raised (faults: RIP at the
 *    instruction; traps such as #DB single-step, INT3/INTO: RIP after it,
 *    as VT-x reports) and not delivered; CR2 is not written for #PF, the
 *    address is in u.exc.cr2.  The driver reinjects or handles it;
 *  - REP INS/OUTS and REP MOVS/STOS touching MMIO stop between iterations
 *    with RCX/RSI/RDI of the iterations already done, like an interrupted
 *    REP on hardware.
 * A stop raised while an event was being delivered through the IDT carries
 * that event in idt_vec_* (VT-x IDT-vectoring information).
 *
 * Execution controls (struct x86_exec_ctl) are what a VMCS would say:
 * which instructions stop, the exception bitmap, the CR0/CR4 guest/host
 * masks and read shadows, the TSC offset, I/O and MSR bitmap callbacks,
 * interrupt- and NMI-window requests.  CPUID, INVD, XSETBV, GETSEC always
 * stop (as on VT-x); RDMSR/WRMSR of an MSR the core does not own always
 * stop.
 *
 * Speed.  Instructions are decoded once into blocks of predecoded ops with
 * handler pointers (the most frequent forms get specialized handlers),
 * cached per guest-physical address and linked to their successors.  A
 * cached block keeps its bytes; it is compared with guest memory once per
 * "epoch", and the epoch moves on every write through this core to a
 * page holding code (such pages never get a fast write path in the TLB)
 * and at every serializing event (x86_run() entry, IRET, MOV to CR,
 * WRMSR).  So self-modifying code is seen at once, and code written by
 * DMA or another vCPU is seen at the next serializing instruction or VM
 * entry, which is what the SDM requires of cross-modifying code (vol. 3,
 * 8.1.3).  x86_flush_code() forgets everything at once.  RFLAGS
 * arithmetic flags are lazy.  Guest linear addresses translate through a
 * software TLB that caches the host pointer per page and per access kind
 * (user, supervisor and supervisor-with-AC TLBs); not-RAM addresses take
 * the slow path.
 *
 * In 64-bit mode, blocks that run often are translated into host code by
 * a JIT (x86_jit.h; x86_set_jit(), X86_JIT=0 in the environment turns it
 * off): integer instructions re-encoded with guest registers in host
 * registers and guest flags in the host's, memory operands through an
 * inline TLB lookup, blocks chained by patched jumps and a jump cache,
 * and the interpreter's handler called for everything else and for every
 * slow path.  It gives exactly the interpreter's guest-visible behaviour
 * (stops, exceptions with their RIP and registers, budgets, kicks within
 * one block, self- and cross-modifying code), except for flags and
 * results the SDM leaves undefined, which are the host's.  Its code
 * memory is never writable and executable through the same mapping.
 *
 * Atomicity.  LOCKed read-modify-writes and XCHG with memory use host
 * atomics on the mapped page when the operand is naturally aligned
 * (CMPXCHG16B: 16-byte aligned); a LOCKed operand that is misaligned or
 * crosses a page is done as a plain read-modify-write (not atomic against
 * other vCPUs; real CPUs take a split lock there).
 *
 * Modes.  Real mode (incl. "unreal" cached limits), 16/32-bit protected
 * mode, long mode (64-bit and compatibility).  Paging: 32-bit (PSE),
 * PAE and 4-level, NX, PGE, PCID (every CR3 load flushes non-global
 * entries; flushing more than needed is always correct), SMEP, SMAP, WP.
 *
 * Instruction set: the integer ISA of x86-64 (all legacy one- and
 * two-byte opcodes but the ones listed below), CMPXCHG8B/16B, BT*,
 * BSF/BSR/TZCNT/LZCNT/POPCNT, MOVBE, CRC32, RDRAND/RDSEED (host or
 * stop), RDPID, FSGSBASE, SSE/SSE2/SSE3/SSSE3/SSE4.1 and PCMPGTQ, x87
 * (see x86_fpu.c for the list), FXSAVE/FXRSTOR, the system instructions
 * of x86_exec_sys.c/x86_exec_priv.c.  The CPUID policy of the vtx backend
 * must not advertise what is missing: AVX and everything VEX/EVEX
 * encoded (BMI1's ANDN/BEXTR/BLS*, BMI2, FMA, F16C), XSAVE/OSXSAVE,
 * ADX, SSE4.2's string compares (PCMPxSTRx; POPCNT has its own bit and
 * is implemented), AES-NI, PCLMULQDQ, SHA, MPX, PKU, LA57, RTM/HLE.
 *
 * Not implemented (stop with X86_STOP_UNSUPPORTED or raise #UD):
 *  - virtual-8086 mode (IRET/task switch into VM=1: X86_STOP_UNSUPPORTED);
 *  - hardware task switches (task gates, CALL/JMP to a TSS, IRET with
 *    NT=1) and call gates: X86_STOP_UNSUPPORTED; double fault goes
 *    through an interrupt/trap gate like any other exception;
 *  - #UD: MMX (0F 60-7F and 0F D0-FF without 66, EMMS, the MMX forms of
 *    CVTPI2PS & co.), everything VEX/EVEX, XSAVE/XRSTOR/XSAVEOPT, BOUND,
 *    ARPL, AAA/AAS/AAD/AAM/DAA/DAS, SALC, RSM, VMX/SVM/SGX instructions
 *    (VMCALL stops), 3DNow!, PCMPxSTRx, AES-NI, PCLMULQDQ, DPPS/DPPD,
 *    MPSADBW, ADCX/ADOX, x87 transcendentals (F2XM1 FYL2X FPTAN FPATAN
 *    FYL2XP1 FSINCOS FSIN FCOS) and BCD (FBLD/FBSTP);
 *  - FNSTENV/FNSAVE use the protected-mode layout in real mode too; x87
 *    stack faults are detected, but C1 after a load is the host's;
 *  - debug registers are stored but breakpoints do not fire (only
 *    RFLAGS.TF single-step and INT1/INT3);
 *  - segment limits are not checked on the bulk path of REP MOVS/STOS,
 *    which runs only in 64-bit mode; RETF to an outer ring does not null
 *    the data segments its new CPL may not use (IRET does);
 *  - the core needs a host with SSE4.1 (Nehalem or later).
 */
#ifndef X86_CPU_H
#define X86_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

struct x86_cpu;

/* Guest-physical access kinds, for map() and X86_STOP_MEM. */
#define X86_ACC_R 1
#define X86_ACC_W 2
#define X86_ACC_X 4

struct x86_mem_ops {
	/*
	 * Host address of the first byte of the 4 KiB page holding 'gpa', or
	 * NULL when that page is not RAM or does not permit 'access'.  The
	 * returned memory must stay mapped while the core may use it (until
	 * x86_flush_tlb() or the end of the VM).
	 */
	uint8_t *(*map)(void *arg, uint64_t gpa, int access);
	void *arg;
};

enum x86_stop {
	X86_STOP_NONE,
	X86_STOP_IO,		/* IN/OUT/INS/OUTS: u.io */
	X86_STOP_CPUID,		/* driver sets RAX..RDX from RAX/RCX */
	X86_STOP_RDMSR,		/* u.msr.index (ECX) */
	X86_STOP_WRMSR,		/* u.msr.index, u.msr.value (EDX:EAX) */
	X86_STOP_HLT,
	X86_STOP_PAUSE,
	X86_STOP_MEM,		/* u.mem: an access to a gpa map() refused */
	X86_STOP_TRIPLE_FAULT,
	X86_STOP_BUDGET,	/* the instruction budget is used up */
	X86_STOP_KICK,		/* x86_kick() */
	X86_STOP_EXCEPTION,	/* u.exc: in the exception bitmap */
	X86_STOP_INVLPG,	/* u.invlpg.gla */
	X86_STOP_CR_ACCESS,	/* u.cr */
	X86_STOP_RDTSC,
	X86_STOP_RDTSCP,
	X86_STOP_INTR_WINDOW,
	X86_STOP_NMI_WINDOW,
	X86_STOP_VMCALL,
	X86_STOP_XSETBV,	/* u.xsetbv */
	X86_STOP_MWAIT,
	X86_STOP_MONITOR,
	X86_STOP_INVD,
	X86_STOP_WBINVD,
	X86_STOP_RDPMC,
	X86_STOP_DR_ACCESS,	/* u.dr */
	X86_STOP_DESC_TABLE,	/* LGDT/SGDT/.../LTR/STR with desc_table_exit */
	X86_STOP_RDRAND,
	X86_STOP_RDSEED,
	X86_STOP_UNSUPPORTED,	/* u.unsupported: v86, task switch, ... */
	X86_STOP_MAX
};

/* Event types for x86_inject_event(), VT-x interruption types. */
enum x86_event_type {
	X86_EVENT_EXTINT = 0,
	X86_EVENT_NMI = 2,
	X86_EVENT_HWEXC = 3,
	X86_EVENT_SWINT = 4,	/* INT n */
	X86_EVENT_PRIV_SWEXC = 5, /* INT1 */
	X86_EVENT_SWEXC = 6,	/* INT3, INTO */
};

/* u.cr.kind */
enum x86_cr_kind {
	X86_CR_MOV_TO,		/* MOV CRn, reg */
	X86_CR_MOV_FROM,	/* MOV reg, CRn */
	X86_CR_CLTS,
	X86_CR_LMSW,		/* u.cr.value: the source operand */
};

struct x86_stop_info {
	uint32_t reason;	/* enum x86_stop */
	uint32_t inst_len;	/* 0 when not at an instruction */
	uint64_t rip;
	uint8_t inst[16];	/* the instruction's bytes (inst_len valid) */
	/* Event being delivered when the stop happened (VT-x IDT-vectoring). */
	bool idt_vec_valid;
	uint8_t idt_vec_type;	/* enum x86_event_type */
	uint8_t idt_vec_vector;
	bool idt_vec_has_error;
	uint32_t idt_vec_error;
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2, 4 */
			bool in;
			bool string;
			bool rep;
			uint8_t addr_size;	/* 2, 4, 8: for strings */
			uint8_t seg;		/* segment of OUTS's source */
			uint64_t gla;		/* linear address of the element */
			uint64_t count;		/* RCX for REP (addr size) */
			bool df;
		} io;
		struct {
			uint64_t gpa;
			uint64_t gla;
			bool gla_valid;		/* false: page walk, IDT ... */
			uint8_t access;		/* X86_ACC_* */
			uint8_t size;		/* bytes, up to 16 */
			bool walk;		/* a paging-structure access */
			uint8_t data[16];	/* the data of a write */
		} mem;
		struct {
			uint32_t index;
			uint64_t value;
		} msr;
		struct {
			uint8_t vector;
			uint8_t type;		/* enum x86_event_type */
			bool has_error;
			uint32_t error;
			uint64_t cr2;		/* #PF linear address */
		} exc;
		struct {
			uint8_t cr;		/* 0, 3, 4, 8 */
			uint8_t kind;		/* enum x86_cr_kind */
			uint8_t gpr;		/* vm_reg_name of the GPR */
			uint64_t value;		/* value to write / LMSW src */
		} cr;
		struct {
			uint8_t dr;
			bool to_dr;
			uint8_t gpr;
		} dr;
		struct {
			uint64_t gla;
		} invlpg;
		struct {
			uint32_t xcr;
			uint64_t value;
		} xsetbv;
		struct {
			uint8_t gpr;		/* RDRAND/RDSEED destination */
			uint8_t size;
		} rand;
		struct {
			const char *what;
		} unsupported;
	} u;
};

/* What makes the core stop, as the VMCS execution controls say. */
struct x86_exec_ctl {
	bool hlt_exit;		/* else HLT waits: stops X86_STOP_HLT anyway */
	bool pause_exit;
	bool rdtsc_exit;	/* RDTSC and RDTSCP */
	bool invlpg_exit;
	bool cr3_load_exit;
	bool cr3_store_exit;
	bool cr8_load_exit;
	bool cr8_store_exit;
	bool mov_dr_exit;
	bool mwait_exit;	/* else MWAIT is a NOP */
	bool monitor_exit;	/* else MONITOR is a NOP */
	bool rdpmc_exit;	/* else RDPMC returns 0 */
	bool wbinvd_exit;
	bool desc_table_exit;
	bool rdrand_exit;	/* else RDRAND/RDSEED use the host's */
	bool intr_window_exit;
	bool nmi_window_exit;
	uint32_t exception_bitmap;
	/* #PF goes by bit 14 XOR (error & mask) != match, as on VT-x. */
	uint32_t pf_error_mask;
	uint32_t pf_error_match;
	uint64_t cr0_mask, cr0_shadow;	/* guest/host mask, read shadow */
	uint64_t cr4_mask, cr4_shadow;
	uint64_t tsc_offset;
	/* NULL: every port access stops.  Else true: stop; false: the port
	 * reads all ones and ignores writes. */
	bool (*io_exit)(void *arg, uint16_t port);
	/* NULL: core-owned MSRs are handled inside, others stop. */
	bool (*msr_exit)(void *arg, uint32_t msr, bool write);
	void *arg;
};

struct x86_cpu *x86_cpu_create(void);
void x86_cpu_destroy(struct x86_cpu *cpu);
/* The state after RESET/INIT (SDM vol. 3, 9.1.1): real mode at F000:FFF0. */
void x86_cpu_reset(struct x86_cpu *cpu);

/*
 * Run until a stop.  'budget' is the most instructions to execute (0: no
 * limit).  Returns 0 with *out filled, or a negative errno for bad
 * arguments.
 */
int x86_run(struct x86_cpu *cpu, const struct x86_mem_ops *mem,
    const struct x86_exec_ctl *ctl, uint64_t budget,
    struct x86_stop_info *out) __attribute__((warn_unused_result));

/*
 * VM-entry event injection: delivered through the IDT at the start of the
 * next x86_run(), before any instruction.  inst_len is the length of the
 * INT n/INT3/INTO/INT1 instruction for software events (pushed RIP =
 * RIP + inst_len).  -EBUSY if an event is already pending.
 */
int x86_inject_event(struct x86_cpu *cpu, int type, int vector,
    bool has_error, uint32_t error, int inst_len);
bool x86_event_pending(const struct x86_cpu *cpu);
/* RFLAGS.IF set and no STI/MOV SS blocking. */
bool x86_interruptible(const struct x86_cpu *cpu);
/* NMI blocking (between NMI delivery and the next IRET). */
bool x86_nmi_blocked(const struct x86_cpu *cpu);
void x86_set_nmi_blocked(struct x86_cpu *cpu, bool blocked);
/* Any thread: make a running or the next x86_run() return X86_STOP_KICK. */
void x86_kick(struct x86_cpu *cpu);

/* After X86_STOP_MEM: the data read (ignored for a write). */
int x86_mem_complete(struct x86_cpu *cpu, const void *data, int size);

/* Registers by vmm.h name (segments: the selector). */
int x86_get_reg(struct x86_cpu *cpu, int reg, uint64_t *val);
int x86_set_reg(struct x86_cpu *cpu, int reg, uint64_t val);
int x86_get_desc(struct x86_cpu *cpu, int reg, struct seg_desc *desc);
int x86_set_desc(struct x86_cpu *cpu, int reg, const struct seg_desc *desc);
/* MSRs the core owns (EFER, STAR, LSTAR, FS/GS base, SYSENTER_*, PAT ..). */
bool x86_msr_owned(uint32_t msr);
int x86_get_msr(struct x86_cpu *cpu, uint32_t msr, uint64_t *val);
int x86_set_msr(struct x86_cpu *cpu, uint32_t msr, uint64_t val);
/* x87/SSE state as the 512-byte FXSAVE image (64-bit layout). */
void x86_get_fxsave(struct x86_cpu *cpu, uint8_t img[512]);
void x86_set_fxsave(struct x86_cpu *cpu, const uint8_t img[512]);
uint64_t x86_get_xcr0(struct x86_cpu *cpu);
int x86_set_xcr0(struct x86_cpu *cpu, uint64_t val);

/*
 * Guest-linear to guest-physical through the guest's paging as an access
 * of kind 'access' (X86_ACC_*) at user (CPL 3) or supervisor privilege
 * would do it, setting accessed/dirty bits: for the driver's side of
 * INS/OUTS and of MMIO instruction emulation.  0 with *gpa; 1 when the
 * access faults (*pf_error: the #PF error code to inject with CR2 = gla);
 * -EFAULT when a paging structure is not RAM.
 */
int x86_gla2gpa(struct x86_cpu *cpu, const struct x86_mem_ops *mem,
    uint64_t gla, int access, bool user, uint64_t *gpa,
    uint32_t *pf_error);

/* Forget cached translations (the guest-physical map changed). */
void x86_flush_tlb(struct x86_cpu *cpu);
/* Forget decoded code (optional: cached code is re-checked on entry). */
void x86_flush_code(struct x86_cpu *cpu);

/*
 * The JIT (x86_jit.h): X86_JIT_OFF runs everything in the interpreter,
 * X86_JIT_ON translates blocks once they are hot (the default, unless
 * the environment says X86_JIT=0 at x86_cpu_create()), X86_JIT_EAGER
 * translates every block at its first run (for tests).  -ENOTSUP when
 * this host cannot run translated code (then the interpreter runs).
 */
enum { X86_JIT_OFF, X86_JIT_ON, X86_JIT_EAGER };
int x86_set_jit(struct x86_cpu *cpu, int mode);
int x86_get_jit(const struct x86_cpu *cpu);

struct x86_jit_stats {
	uint64_t blocks;	/* blocks translated */
	uint64_t flushes;	/* times all translations were dropped */
	uint64_t runs;		/* entries into translated code */
	uint64_t insns;		/* instructions executed there */
};
void x86_get_jit_stats(const struct x86_cpu *cpu, struct x86_jit_stats *st);

/* Instructions executed by this core since creation. */
uint64_t x86_icount(const struct x86_cpu *cpu);
const char *x86_stop_name(int reason);

#endif /* X86_CPU_H */
