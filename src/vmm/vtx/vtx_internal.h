/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the VT-x model: the logical processor with its VMCS, and what
 * vmcs.c, ept.c, vtx_entry.c and vtx.c share.
 */
#ifndef VTX_INTERNAL_H
#define VTX_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vtx.h"
#include "x86/x86_cpu.h"

/*
 * VMCS storage is indexed by a key folded from the encoding: width,
 * type and an index below 64 (every field the SDM defines so far fits).
 */
#define VMCS_INDEX_MAX 64
#define VMCS_NKEYS (4 * 4 * VMCS_INDEX_MAX)
#define VMCS_KEY(e) ((VMCS_ENC_WIDTH(e) << 8) | (VMCS_ENC_TYPE(e) << 6) | \
    (VMCS_ENC_INDEX(e) & (VMCS_INDEX_MAX - 1)))

/*
 * Guest-state fields come in groups that are loaded into the core
 * together at VM entry, and only when one of them was written since the
 * last exit (a VM exit stores them all, so the core holds the rest).
 */
enum vtx_group {
	VG_SEG0 = 0,		/* ES..TR: 0..7 */
	VG_GDTR = 8,
	VG_IDTR,
	VG_CR0,
	VG_CR3,
	VG_CR4,
	VG_DR7,
	VG_RSP,
	VG_RIP,
	VG_RFLAGS,
	VG_SYSENTER,
	VG_EFER,
	VG_PAT,
	VG_INTR,		/* interruptibility state */
	VG_OTHER,		/* stored, not loaded into the core */
	VG_COUNT
};

/* Field table lookups (vmcs.c). */
bool vmcs_known(uint32_t enc);
int vmcs_group(uint32_t enc);

#define VTX_EPT_CACHE 256

/* A guest-physical page the EPT walk allowed (ept.c). */
struct vtx_ept_slot {
	uint64_t gfn;		/* ~0: empty */
	uint8_t *host;
	uint8_t perm;		/* X86_ACC_R/W/X */
};

/* Why the last EPT walk refused an access. */
struct vtx_ept_fault {
	bool misconfig;
	uint8_t perm;		/* R/W/X AND-ed over the entries walked */
};

struct vtx {
	uint64_t f[VMCS_NKEYS];
	uint32_t dirty;		/* 1 << enum vtx_group */
	bool launched;
	bool ctls_ok;		/* controls unchanged since they passed */

	struct x86_cpu *cpu;
	struct x86_exec_ctl ctl;
	struct x86_mem_ops mem;
	struct x86_stop_info si;

	/* Controls as of this entry. */
	uint32_t pin, proc, proc2, exit_ctls, entry_ctls;
	const uint8_t *io_bitmap[2];
	const uint8_t *msr_bitmap;

	uint64_t eptp;		/* the EPTP the caches belong to */
	struct vtx_ept_slot ept_cache[VTX_EPT_CACHE];

	/* HLT activity state: waits for a kick. */
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	bool kicked;

	bool mmio_valid;
	struct vtx_mmio mmio;
	const char *unsupported;
};

static inline uint64_t
vtx_f(const struct vtx *v, uint32_t enc)
{
	return v->f[VMCS_KEY(enc)];
}

/* The hardware's own store: no access checks, no dirty marking. */
static inline void
vtx_fset(struct vtx *v, uint32_t enc, uint64_t val)
{
	v->f[VMCS_KEY(enc)] = val;
}

/* ept.c */
uint8_t *vtx_ept_map(void *arg, uint64_t gpa, int access);
void vtx_ept_flush(struct vtx *v);
bool vtx_eptp_valid(uint64_t eptp);
void vtx_ept_fault_info(struct vtx *v, uint64_t gpa, int access,
    struct vtx_ept_fault *f);

/* vtx_entry.c: VM-entry checks and moving state between VMCS and core. */
int vtx_check_controls(struct vtx *v);
bool vtx_injection_ok(const struct vtx *v);
int vtx_check_host(struct vtx *v);
int vtx_check_guest(struct vtx *v);
void vtx_load_guest(struct vtx *v, const struct vtx_regs *regs);
void vtx_store_guest(struct vtx *v, struct vtx_regs *regs);
void vtx_build_ctl(struct vtx *v);
int vtx_inject(struct vtx *v);

/* vtx_exit.c: a core stop as a VM exit. */
void vtx_record_exit(struct vtx *v, const struct x86_stop_info *si);
void vtx_exit_basic(struct vtx *v, uint32_t reason, uint64_t qual);

#endif /* VTX_INTERNAL_H */
