/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vlapic register access: one table of the 64 register slots of the
 * xAPIC page (SDM 11.4.1, "Local APIC Register Address Map"), saying in
 * which mode each slot is readable or writable, drives both the MMIO page
 * and the x2APIC MSRs (SDM 11.12.1.2, "x2APIC Register Address Space").
 */
#include <errno.h>

#include "vlapic_priv.h"

typedef uint64_t vlapic_rd_fn_t(struct vlapic *v, unsigned slot);
typedef int vlapic_wr_fn_t(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w);

/* Where a register exists: readable/writable, xAPIC page / x2APIC MSR. */
#define RX 0x1
#define WX 0x2
#define R2 0x4
#define W2 0x8
#define RW (RX | WX | R2 | W2)

struct vlapic_reg {
	uint8_t flags;
	vlapic_rd_fn_t *read;
	vlapic_wr_fn_t *write;
};

/* LVT slots, indexed by enum vlapic_lvt. */
static const unsigned vlapic_lvt_slot[VLAPIC_LVT_COUNT] = {
	[VLAPIC_LVT_LINT0] = APIC_SLOT(APIC_OFF_LVT_LINT0),
	[VLAPIC_LVT_LINT1] = APIC_SLOT(APIC_OFF_LVT_LINT1),
	[VLAPIC_LVT_TIMER] = APIC_SLOT(APIC_OFF_LVT_TIMER),
	[VLAPIC_LVT_ERROR] = APIC_SLOT(APIC_OFF_LVT_ERROR),
	[VLAPIC_LVT_PMC] = APIC_SLOT(APIC_OFF_LVT_PMC),
	[VLAPIC_LVT_THERMAL] = APIC_SLOT(APIC_OFF_LVT_THERMAL),
	[VLAPIC_LVT_CMCI] = APIC_SLOT(APIC_OFF_LVT_CMCI),
};

static int
vlapic_slot_lvt(unsigned slot)
{
	for (int i = 0; i < VLAPIC_LVT_COUNT; i++) {
		if (vlapic_lvt_slot[i] == slot)
			return i;
	}
	return VLAPIC_LVT_ERROR; /* not reached: the table only maps LVTs */
}

/* ---- Reads. ---- */

/* ID: 8 bits in 31:24 (xAPIC) or all 32 (x2APIC); read-only here. */
static uint64_t
vlapic_rd_id(struct vlapic *v, unsigned slot)
{
	if (vlapic_x2_locked(v))
		return v->apic_id;
	return (v->apic_id & 0xffu) << APIC_XID_SHIFT;
}

static uint64_t
vlapic_rd_ver(struct vlapic *v, unsigned slot)
{
	return VLAPIC_VERSION | VLAPIC_MAXLVT << APIC_VER_MAXLVT_SHIFT;
}

static uint64_t
vlapic_rd_tpr(struct vlapic *v, unsigned slot)
{
	return v->tpr;
}

static uint64_t
vlapic_rd_apr(struct vlapic *v, unsigned slot)
{
	return vlapic_apr_locked(v);
}

static uint64_t
vlapic_rd_ppr(struct vlapic *v, unsigned slot)
{
	return vlapic_ppr_locked(v);
}

static uint64_t
vlapic_rd_zero(struct vlapic *v, unsigned slot)
{
	return 0;
}

/* x2APIC: the logical ID is derived from the ID (SDM 11.12.10.2). */
static uint64_t
vlapic_rd_ldr(struct vlapic *v, unsigned slot)
{
	if (vlapic_x2_locked(v))
		return vlapic_x2_ldr(v->apic_id);
	return v->ldr;
}

static uint64_t
vlapic_rd_dfr(struct vlapic *v, unsigned slot)
{
	return v->dfr;
}

static uint64_t
vlapic_rd_svr(struct vlapic *v, unsigned slot)
{
	return v->svr;
}

static uint64_t
vlapic_rd_isr(struct vlapic *v, unsigned slot)
{
	return v->isr[slot - APIC_SLOT(APIC_OFF_ISR0)];
}

static uint64_t
vlapic_rd_tmr(struct vlapic *v, unsigned slot)
{
	return v->tmr[slot - APIC_SLOT(APIC_OFF_TMR0)];
}

static uint64_t
vlapic_rd_irr(struct vlapic *v, unsigned slot)
{
	return v->irr[slot - APIC_SLOT(APIC_OFF_IRR0)];
}

static uint64_t
vlapic_rd_esr(struct vlapic *v, unsigned slot)
{
	return v->esr;
}

static uint64_t
vlapic_rd_lvt(struct vlapic *v, unsigned slot)
{
	return v->lvt[vlapic_slot_lvt(slot)];
}

/* x2APIC: one 64-bit ICR, destination in 63:32 (SDM 11.12.9). */
static uint64_t
vlapic_rd_icr_lo(struct vlapic *v, unsigned slot)
{
	if (vlapic_x2_locked(v))
		return (uint64_t)v->icr_hi << 32 | v->icr_lo;
	return v->icr_lo;
}

static uint64_t
vlapic_rd_icr_hi(struct vlapic *v, unsigned slot)
{
	return v->icr_hi;
}

static uint64_t
vlapic_rd_timer_icr(struct vlapic *v, unsigned slot)
{
	return v->timer_icr;
}

static uint64_t
vlapic_rd_timer_ccr(struct vlapic *v, unsigned slot)
{
	return vlapic_timer_ccr_locked(v);
}

static uint64_t
vlapic_rd_timer_dcr(struct vlapic *v, unsigned slot)
{
	return v->timer_dcr;
}

/* ---- Writes; -EINVAL only matters in x2APIC mode (#GP). ---- */

static int
vlapic_wr_tpr(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	v->tpr = (uint32_t)val & 0xffu;
	return 0;
}

/* EOI: the value is ignored in xAPIC mode; x2APIC demands 0. */
static int
vlapic_wr_eoi(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	if (vlapic_x2_locked(v) && val != 0)
		return -EINVAL;
	vlapic_eoi_locked(v, w);
	return 0;
}

static int
vlapic_wr_ldr(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	v->ldr = (uint32_t)val & APIC_LDR_XAPIC_MASK;
	return 0;
}

static int
vlapic_wr_dfr(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	v->dfr = ((uint32_t)val & APIC_DFR_MODEL_MASK) | APIC_DFR_RSVD_ONES;
	return 0;
}

static int
vlapic_wr_svr(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	vlapic_svr_write_locked(v, (uint32_t)val);
	return 0;
}

/* ESR: any write latches (SDM 11.5.3); x2APIC allows only 0. */
static int
vlapic_wr_esr(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	if (vlapic_x2_locked(v) && val != 0)
		return -EINVAL;
	vlapic_esr_latch_locked(v);
	return 0;
}

static int
vlapic_wr_lvt(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	vlapic_lvt_write_locked(v, vlapic_slot_lvt(slot), (uint32_t)val);
	return 0;
}

static int
vlapic_wr_icr_lo(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	if (vlapic_x2_locked(v))
		v->icr_hi = (uint32_t)(val >> 32);
	v->icr_lo = (uint32_t)val & APIC_ICR_LO_MASK;
	vlapic_icr_send_locked(v, w);
	return 0;
}

static int
vlapic_wr_icr_hi(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	v->icr_hi = (uint32_t)val & APIC_ICR_HI_MASK;
	return 0;
}

static int
vlapic_wr_timer_icr(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	vlapic_timer_write_icr_locked(v, (uint32_t)val);
	return 0;
}

static int
vlapic_wr_timer_dcr(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	vlapic_timer_write_dcr_locked(v, (uint32_t)val);
	return 0;
}

static int
vlapic_wr_self_ipi(struct vlapic *v, unsigned slot, uint64_t val,
    struct vlapic_work *w)
{
	vlapic_self_ipi_locked(v, (uint32_t)val, w);
	return 0;
}

#define SLOT(off) APIC_SLOT(APIC_OFF_##off)
#define BANK(off) SLOT(off) ... SLOT(off) + 7

/* Empty slots are reserved: an illegal register in xAPIC, #GP in x2APIC. */
static const struct vlapic_reg vlapic_regs[APIC_REG_SLOTS] = {
	[SLOT(ID)] = { RX | R2, vlapic_rd_id, NULL },
	[SLOT(VER)] = { RX | R2, vlapic_rd_ver, NULL },
	[SLOT(TPR)] = { RW, vlapic_rd_tpr, vlapic_wr_tpr },
	[SLOT(APR)] = { RX, vlapic_rd_apr, NULL },
	[SLOT(PPR)] = { RX | R2, vlapic_rd_ppr, NULL },
	[SLOT(EOI)] = { WX | W2, NULL, vlapic_wr_eoi },
	[SLOT(RRD)] = { RX, vlapic_rd_zero, NULL },
	[SLOT(LDR)] = { RX | WX | R2, vlapic_rd_ldr, vlapic_wr_ldr },
	[SLOT(DFR)] = { RX | WX, vlapic_rd_dfr, vlapic_wr_dfr },
	[SLOT(SVR)] = { RW, vlapic_rd_svr, vlapic_wr_svr },
	[BANK(ISR0)] = { RX | R2, vlapic_rd_isr, NULL },
	[BANK(TMR0)] = { RX | R2, vlapic_rd_tmr, NULL },
	[BANK(IRR0)] = { RX | R2, vlapic_rd_irr, NULL },
	[SLOT(ESR)] = { RW, vlapic_rd_esr, vlapic_wr_esr },
	[SLOT(LVT_CMCI)] = { RW, vlapic_rd_lvt, vlapic_wr_lvt },
	[SLOT(ICR_LO)] = { RW, vlapic_rd_icr_lo, vlapic_wr_icr_lo },
	[SLOT(ICR_HI)] = { RX | WX, vlapic_rd_icr_hi, vlapic_wr_icr_hi },
	[SLOT(LVT_TIMER)] = { RW, vlapic_rd_lvt, vlapic_wr_lvt },
	[SLOT(LVT_THERMAL)] = { RW, vlapic_rd_lvt, vlapic_wr_lvt },
	[SLOT(LVT_PMC)] = { RW, vlapic_rd_lvt, vlapic_wr_lvt },
	[SLOT(LVT_LINT0)] = { RW, vlapic_rd_lvt, vlapic_wr_lvt },
	[SLOT(LVT_LINT1)] = { RW, vlapic_rd_lvt, vlapic_wr_lvt },
	[SLOT(LVT_ERROR)] = { RW, vlapic_rd_lvt, vlapic_wr_lvt },
	[SLOT(TIMER_ICR)] = { RW, vlapic_rd_timer_icr, vlapic_wr_timer_icr },
	[SLOT(TIMER_CCR)] = { RX | R2, vlapic_rd_timer_ccr, NULL },
	[SLOT(TIMER_DCR)] = { RW, vlapic_rd_timer_dcr, vlapic_wr_timer_dcr },
	[SLOT(SELF_IPI)] = { W2, NULL, vlapic_wr_self_ipi },
};

/* ---- The xAPIC page (SDM 11.4.1). ---- */

/* A full 32-bit read of a slot; write-only slots read 0. */
static uint32_t
vlapic_mmio_read_slot(struct vlapic *v, unsigned slot, struct vlapic_work *w)
{
	const struct vlapic_reg *r;

	if (slot >= APIC_REG_SLOTS) {
		vlapic_illegal_reg_locked(v, w);
		return 0;
	}
	r = &vlapic_regs[slot];
	if (r->flags & RX)
		return (uint32_t)r->read(v, slot);
	if (!(r->flags & WX))
		vlapic_illegal_reg_locked(v, w);
	return 0;
}

/*
 * Narrow or unaligned reads: each byte in the first 4 bytes of a slot is
 * that register's byte; the rest read 0.  No side effects, no errors.
 */
static uint64_t
vlapic_mmio_read_bytes(struct vlapic *v, uint64_t off, int size)
{
	uint64_t val = 0;

	for (int i = 0; i < size; i++) {
		uint64_t o = off + (uint64_t)i;
		unsigned slot = (unsigned)(o >> 4);
		uint64_t reg = 0;

		if ((o & 0xf) >= 4 || slot >= APIC_REG_SLOTS ||
		    !(vlapic_regs[slot].flags & RX))
			continue;
		reg = vlapic_regs[slot].read(v, slot);
		val |= ((reg >> (8 * (o & 3))) & 0xff) << (8 * i);
	}
	return val;
}

static bool
vlapic_mmio_args_ok(uint64_t off, int size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	return off < APIC_PAGE_SIZE && off + (uint64_t)size <= APIC_PAGE_SIZE;
}

static bool
vlapic_mmio_full(uint64_t off, int size)
{
	return size == 4 && (off & 0xf) == 0;
}

int
vlapic_mmio_read(struct vlapic *v, uint64_t off, int size, uint64_t *val)
{
	struct vlapic_work w;

	if (!vlapic_mmio_args_ok(off, size))
		return -EINVAL;
	vlapic_lock(v, &w);
	/* x2APIC mode or globally disabled: no APIC at this address. */
	if (!vlapic_hw_locked(v) || vlapic_x2_locked(v))
		*val = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
	else if (vlapic_mmio_full(off, size))
		*val = vlapic_mmio_read_slot(v, (unsigned)(off >> 4), &w);
	else
		*val = vlapic_mmio_read_bytes(v, off, size);
	vlapic_unlock(v, &w);
	return 0;
}

static void
vlapic_mmio_write_slot(struct vlapic *v, unsigned slot, uint32_t val,
    struct vlapic_work *w)
{
	const struct vlapic_reg *r;

	if (slot >= APIC_REG_SLOTS) {
		vlapic_illegal_reg_locked(v, w);
		return;
	}
	r = &vlapic_regs[slot];
	if (r->flags & WX)
		(void)r->write(v, slot, val, w);
	else if (!(r->flags & RX))
		vlapic_illegal_reg_locked(v, w);
	/* read-only: the write is dropped */
}

int
vlapic_mmio_write(struct vlapic *v, uint64_t off, int size, uint64_t val)
{
	struct vlapic_work w;

	if (!vlapic_mmio_args_ok(off, size))
		return -EINVAL;
	vlapic_lock(v, &w);
	if (vlapic_hw_locked(v) && !vlapic_x2_locked(v) &&
	    vlapic_mmio_full(off, size))
		vlapic_mmio_write_slot(v, (unsigned)(off >> 4), (uint32_t)val,
		    &w);
	vlapic_unlock(v, &w);
	return 0;
}

/* ---- MSRs (SDM 11.12.1.2; 11.5.4.1 for IA32_TSC_DEADLINE). ---- */

bool
vlapic_owns_msr(uint32_t msr)
{
	return msr == MSR_APICBASE || msr == MSR_TSC_DEADLINE ||
	    (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

/* x2APIC MSRs exist only in x2APIC mode; a missing one raises #GP. */
static int
vlapic_x2_read_locked(struct vlapic *v, uint32_t msr, uint64_t *val)
{
	unsigned slot = msr - MSR_X2APIC_FIRST;

	if (!vlapic_hw_locked(v) || !vlapic_x2_locked(v) ||
	    slot >= APIC_REG_SLOTS || !(vlapic_regs[slot].flags & R2))
		return -EINVAL;
	*val = vlapic_regs[slot].read(v, slot);
	return 0;
}

/* Bits 63:32 are reserved in every register but the ICR. */
static int
vlapic_x2_write_locked(struct vlapic *v, uint32_t msr, uint64_t val,
    struct vlapic_work *w)
{
	unsigned slot = msr - MSR_X2APIC_FIRST;

	if (!vlapic_hw_locked(v) || !vlapic_x2_locked(v) ||
	    slot >= APIC_REG_SLOTS || !(vlapic_regs[slot].flags & W2))
		return -EINVAL;
	if (slot != APIC_SLOT(APIC_OFF_ICR_LO) && (val >> 32) != 0)
		return -EINVAL;
	return vlapic_regs[slot].write(v, slot, val, w);
}

int
vlapic_rdmsr(struct vlapic *v, uint32_t msr, uint64_t *val)
{
	struct vlapic_work w;
	int error;

	if (!vlapic_owns_msr(msr))
		return -ENOENT;
	if (msr == MSR_APICBASE) {
		*val = vlapic_get_apicbase(v);
		return 0;
	}
	vlapic_lock(v, &w);
	if (msr == MSR_TSC_DEADLINE)
		error = vlapic_tscdl_read_locked(v, val);
	else
		error = vlapic_x2_read_locked(v, msr, val);
	vlapic_unlock(v, &w);
	return error;
}

int
vlapic_wrmsr(struct vlapic *v, uint32_t msr, uint64_t val)
{
	struct vlapic_work w;
	int error;

	if (!vlapic_owns_msr(msr))
		return -ENOENT;
	if (msr == MSR_APICBASE)
		return vlapic_set_apicbase(v, val);
	vlapic_lock(v, &w);
	if (msr == MSR_TSC_DEADLINE)
		error = vlapic_tscdl_write_locked(v, val, &w);
	else
		error = vlapic_x2_write_locked(v, msr, val, &w);
	vlapic_unlock(v, &w);
	return error;
}
