/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's VMX driver (the "vtx" backend): what its files share.  The
 * shape is bhyve's sys/amd64/vmm/intel: vmx.c programs the VMCS and runs
 * the vCPU, vmx_exit.c handles exits by basic exit reason, vmx_ept.c
 * builds the EPT tables, vmx_msr.c the MSR bitmap and the MSRs the driver
 * answers, vmx_cpuid.c what the hardware can run and the CPUID exits,
 * vmx_gla.c the guest's page tables (the memory side of INS/OUTS).
 */
#ifndef VMX_H
#define VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm_internal.h"
#include "vtx/vtx.h"

/* The per-vCPU buffer of a string I/O exit (struct vm_inout_str). */
#define VMX_IOBUF_SIZE 4096

struct vmx_vm {
	struct vm *vm;
	uint64_t *pml4;		/* EPT root, host memory */
	uint64_t eptp;
	uint8_t *msr_bitmap;	/* 4 KiB, shared by the vCPUs */
	uint64_t tsc_offset;	/* guest TSC - host TSC at creation */
	/* CR0/CR4 bits VMX operation fixes (bhyve's cr0_ones_mask ...). */
	uint64_t cr0_ones, cr0_zeros, cr4_ones, cr4_zeros;
};

/* A string I/O exit whose guest-memory side the next run() finishes. */
struct vmx_iostr {
	uint32_t count;		/* elements in the buffer */
	uint8_t size;		/* bytes per element */
	bool in;
	bool rep;
	bool df;
	int index_reg;		/* VTX_RSI (OUTS) or VTX_RDI (INS) */
	uint64_t amask;		/* address-size mask */
	uint64_t segbase;	/* 0 in 64-bit mode except FS/GS */
	bool lin32;		/* linear addresses wrap at 4 GiB */
};

/* An MMIO access split into device-sized pieces (1, 2, 4, 8 bytes). */
struct vmx_mmio {
	uint64_t gpa;
	uint8_t size;		/* the whole access */
	uint8_t done;		/* bytes completed */
	uint8_t piece;		/* the piece out with the device */
	bool write;
	bool active;		/* pieces still out with the device model */
	bool replay;		/* completed: the instruction runs again */
	uint8_t data[16];
};

/* An event the last exit cut short: re-delivered at the next entry. */
struct vmx_reinject {
	bool valid;
	uint32_t info;
	uint32_t error;
	uint32_t inst_len;
};

struct vmx_vcpu {
	struct vmx_vm *vmx;
	struct vm_vcpu *vcpu;
	int id;
	struct vtx *vtx;
	struct vtx_regs regs;	/* bhyve's vmxctx */
	bool launched;
	uint32_t proc_ctls;	/* primary controls as last written */
	uint8_t cr8;		/* the TPR's top four bits (CR8 exits) */
	int nmi_pending;
	uint32_t pending;	/* the exit the next run() completes */
	uint32_t pending_len;	/* its instruction length */
	struct vmx_iostr iostr;
	struct vmx_mmio mmio;
	struct vmx_reinject reinject;
	struct vmm_cpuid_entry *cpuid;
	int ncpuid;
	uint8_t iobuf[VMX_IOBUF_SIZE];
};

/* What an exit handler decided. */
enum vmx_exit_action {
	VMX_RESUME,		/* handled: enter the guest again */
	VMX_RETURN,		/* 'vme' holds an exit for the vmm */
};

/* The exit being handled, as read from the VMCS. */
struct vmx_exit {
	uint32_t reason;
	uint64_t qual;
	uint64_t rip;
	uint32_t inst_len;
	uint32_t inst_info;
	uint64_t gla;
	uint64_t gpa;
	uint32_t intr_info;
	uint32_t intr_error;
};

/* vmx_regs.c */
uint64_t vmx_vmread(struct vmx_vcpu *vcpu, uint32_t field);
void vmx_vmwrite(struct vmx_vcpu *vcpu, uint32_t field, uint64_t val);
/* vmx.c */
void vmx_skip_instruction(struct vmx_vcpu *vcpu, uint32_t len);
int vmx_inject_exception(struct vmx_vcpu *vcpu, int vector, bool has_error,
    uint32_t error);
void vmx_set_proc_ctl(struct vmx_vcpu *vcpu, uint32_t bit, bool on);
uint64_t vmx_gpr(struct vmx_vcpu *vcpu, int num);
void vmx_set_gpr(struct vmx_vcpu *vcpu, int num, uint64_t val);
int vmx_write_cr0(struct vmx_vcpu *vcpu, uint64_t val);
uint64_t vmx_visible_cr(struct vmx_vcpu *vcpu, int cr);
int vmx_write_cr4(struct vmx_vcpu *vcpu, uint64_t val);

/* vmx_regs.c: the register ops of struct vmm_ops */
int vmx_getreg(void *arg, int reg, uint64_t *val);
int vmx_setreg(void *arg, int reg, uint64_t val);
int vmx_getdesc(void *arg, int reg, struct seg_desc *desc);
int vmx_setdesc(void *arg, int reg, const struct seg_desc *desc);

/* vmx_exit.c */
enum vmx_exit_action vmx_handle_exit(struct vmx_vcpu *vcpu,
    struct vm_exit *vme);
bool vmx_complete_exit(struct vmx_vcpu *vcpu, struct vm_exit *vme);

/* vmx_ept.c */
int vmx_ept_init(struct vmx_vm *vmx);
void vmx_ept_cleanup(struct vmx_vm *vmx);
int vmx_ept_map(struct vmx_vm *vmx, uint64_t gpa, uint64_t len,
    uint8_t *hva, uint64_t perm);

/* vmx_msr.c */
int vmx_msr_bitmap_init(struct vmx_vm *vmx);
bool vmx_rdmsr(struct vmx_vcpu *vcpu, uint32_t msr, uint64_t *val,
    bool *gp);
bool vmx_wrmsr(struct vmx_vcpu *vcpu, uint32_t msr, uint64_t val,
    bool *gp);

/* vmx_cpuid.c */
int vmx_cpuid_supported(struct vmm_cpuid_entry *ents, int max, int *n);
void vmx_cpuid(struct vmx_vcpu *vcpu);

/* vmx_gla.c */
enum vmx_gla_result { VMX_GLA_OK, VMX_GLA_PF, VMX_GLA_NOT_RAM };
enum vmx_gla_result vmx_gla2gpa(struct vmx_vcpu *vcpu, uint64_t gla,
    bool write, uint64_t *gpa, uint32_t *pf_error);
enum vmx_exit_action vmx_iostr_exit(struct vmx_vcpu *vcpu,
    const struct vmx_exit *ex, struct vm_exit *vme);
void vmx_iostr_complete(struct vmx_vcpu *vcpu);

/* The TSC rate of the host, measured once (vmx.c). */
uint64_t vmx_host_tsc_hz(void);

#endif /* VMX_H */
