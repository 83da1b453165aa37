/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the vlapic: the state shared by vlapic.c (interrupts, IPIs,
 * modes), vlapic_regs.c (register access) and vlapic_timer.c (the
 * timer).  Functions named *_locked run with vlapic->lock held.
 * Callbacks they need are queued in a struct vlapic_work and run by
 * vlapic_unlock() after the lock is dropped.
 */
#ifndef VLAPIC_PRIV_H
#define VLAPIC_PRIV_H

#include <pthread.h>

#include "apicreg.h"
#include "vlapic.h"

/* Version 0x14 with LVT entries 0-6 (CMCI the last), as bhyve reports. */
#define VLAPIC_VERSION		0x14u
#define VLAPIC_MAXLVT		6u

struct vlapic_work {
	bool notify;
	bool send_ipi;
	struct vlapic_ipi ipi;
	int eoi_vector;		/* -1: none */
};

struct vlapic {
	pthread_mutex_t lock;
	int vcpuid;
	uint32_t apic_id;	/* 32-bit x2APIC ID; xAPIC uses bits 7:0 */
	struct vmm_timebase *tb;
	struct vlapic_ops ops;
	uint64_t apicbase;

	uint32_t tpr;
	uint32_t ldr;		/* xAPIC; x2APIC derives it from the ID */
	uint32_t dfr;
	uint32_t svr;
	uint32_t esr;		/* latched by the last ESR write */
	uint32_t esr_pending;	/* errors since then */
	uint32_t isr[8], tmr[8], irr[8];
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[VLAPIC_LVT_COUNT];

	/* Timer (vlapic_timer.c). */
	uint32_t timer_icr;
	uint32_t timer_dcr;
	bool timer_running;	/* counting down, or a deadline armed */
	uint64_t timer_fire_ns;	/* next expiry on the timebase */
	uint64_t tsc_deadline;	/* armed IA32_TSC_DEADLINE, 0: none */
	struct vmm_callout callout;

	struct vlapic_stats stats;
};

static inline bool
vlapic_x2_locked(const struct vlapic *v)
{
	return (v->apicbase & APICBASE_EXTD) != 0;
}

static inline bool
vlapic_hw_locked(const struct vlapic *v)
{
	return (v->apicbase & APICBASE_EN) != 0;
}

static inline bool
vlapic_sw_locked(const struct vlapic *v)
{
	return (v->svr & APIC_SVR_ENABLE) != 0;
}

static inline bool
vlapic_tscdl_supported(const struct vlapic *v)
{
	return v->ops.guest_tsc != NULL && v->ops.tsc_hz != 0;
}

/* vlapic.c */
void vlapic_lock(struct vlapic *v, struct vlapic_work *w);
void vlapic_unlock(struct vlapic *v, struct vlapic_work *w);
uint32_t vlapic_ppr_locked(struct vlapic *v);
uint32_t vlapic_apr_locked(struct vlapic *v);
uint32_t vlapic_x2_ldr(uint32_t apic_id);
enum vlapic_lint vlapic_fire_lvt_locked(struct vlapic *v, int lvt,
    struct vlapic_work *w);
void vlapic_illegal_reg_locked(struct vlapic *v, struct vlapic_work *w);
void vlapic_esr_latch_locked(struct vlapic *v);
void vlapic_eoi_locked(struct vlapic *v, struct vlapic_work *w);
void vlapic_lvt_write_locked(struct vlapic *v, int lvt, uint32_t val);
void vlapic_svr_write_locked(struct vlapic *v, uint32_t val);
void vlapic_icr_send_locked(struct vlapic *v, struct vlapic_work *w);
void vlapic_self_ipi_locked(struct vlapic *v, uint32_t val,
    struct vlapic_work *w);

/* vlapic_timer.c */
void vlapic_timer_init(struct vlapic *v);
void vlapic_timer_reset_locked(struct vlapic *v);
uint32_t vlapic_timer_ccr_locked(struct vlapic *v);
void vlapic_timer_write_icr_locked(struct vlapic *v, uint32_t val);
void vlapic_timer_write_dcr_locked(struct vlapic *v, uint32_t val);
void vlapic_timer_lvt_changed_locked(struct vlapic *v, uint32_t old_lvt);
int vlapic_tscdl_read_locked(struct vlapic *v, uint64_t *val);
int vlapic_tscdl_write_locked(struct vlapic *v, uint64_t val,
    struct vlapic_work *w);

#endif /* VLAPIC_PRIV_H */
