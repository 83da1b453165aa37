/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The local APIC model: interrupt acceptance and priorities, EOI, errors,
 * the local vector table, IPIs, destination matching and the APIC base
 * MSR.  Register access (xAPIC page and x2APIC MSRs) is in vlapic_regs.c,
 * the timer in vlapic_timer.c.  Behaviour follows the Intel SDM vol. 3A,
 * chapter 11 ("Advanced Programmable Interrupt Controller"); sections are
 * cited where the hardware is subtle.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vlapic_priv.h"

#define PRIO(x) ((uint32_t)(x) & 0xf0u)

/* ---- Locking: callbacks run after the lock is dropped. ---- */

void
vlapic_lock(struct vlapic *v, struct vlapic_work *w)
{
	*w = (struct vlapic_work){ .eoi_vector = -1 };
	pthread_mutex_lock(&v->lock);
}

void
vlapic_unlock(struct vlapic *v, struct vlapic_work *w)
{
	const struct vlapic_ops *ops = &v->ops; /* immutable after create */

	pthread_mutex_unlock(&v->lock);
	if (w->send_ipi && ops->ipi != NULL)
		ops->ipi(ops->arg, &w->ipi);
	if (w->eoi_vector >= 0 && ops->eoi_broadcast != NULL)
		ops->eoi_broadcast(ops->arg, w->eoi_vector);
	if (w->notify && ops->notify != NULL)
		ops->notify(ops->arg);
}

/* ---- 256-bit vector banks (IRR, ISR, TMR). ---- */

static void
vlapic_bank_set(uint32_t *bank, int vec)
{
	bank[vec >> 5] |= 1u << (vec & 31);
}

static void
vlapic_bank_clear(uint32_t *bank, int vec)
{
	bank[vec >> 5] &= ~(1u << (vec & 31));
}

static bool
vlapic_bank_test(const uint32_t *bank, int vec)
{
	return (bank[vec >> 5] & (1u << (vec & 31))) != 0;
}

/* The highest vector set, or -1. */
static int
vlapic_bank_highest(const uint32_t *bank)
{
	for (int i = 7; i >= 0; i--) {
		if (bank[i] != 0)
			return i * 32 + 31 - __builtin_clz(bank[i]);
	}
	return -1;
}

/* ---- Priorities (SDM 11.8.3.1 PPR, 11.6.2.4 APR). ---- */

uint32_t
vlapic_ppr_locked(struct vlapic *v)
{
	int isrv = vlapic_bank_highest(v->isr);
	uint32_t isr_class = isrv < 0 ? 0 : PRIO(isrv);

	if (PRIO(v->tpr) >= isr_class)
		return v->tpr;
	return isr_class;
}

uint32_t
vlapic_apr_locked(struct vlapic *v)
{
	int isrv = vlapic_bank_highest(v->isr);
	int irrv = vlapic_bank_highest(v->irr);
	uint32_t isr_class = isrv < 0 ? 0 : PRIO(isrv);
	uint32_t irr_class = irrv < 0 ? 0 : PRIO(irrv);
	uint32_t apr = PRIO(v->tpr);

	if (PRIO(v->tpr) >= irr_class && PRIO(v->tpr) > isr_class)
		return v->tpr;
	if (isr_class > apr)
		apr = isr_class;
	if (irr_class > apr)
		apr = irr_class;
	return apr;
}

/* ---- Acceptance, errors, LVT delivery. ---- */

static void vlapic_error_locked(struct vlapic *v, uint32_t bits,
    struct vlapic_work *w);

/*
 * Latch a fixed interrupt.  A software-disabled APIC accepts no new fixed
 * interrupts (SDM 11.4.7.2); a vector below 16 is a receive-illegal-vector
 * error and is not latched (SDM 11.5.3).
 */
static int
vlapic_latch_locked(struct vlapic *v, int vec, bool level,
    struct vlapic_work *w)
{
	if (!vlapic_hw_locked(v) || !vlapic_sw_locked(v))
		return 0;
	if (vec < 16) {
		vlapic_error_locked(v, APIC_ESR_RECV_ILLEGAL, w);
		return 0;
	}
	/* TMR first: the trigger mode must be right before IRR shows it. */
	if (level)
		vlapic_bank_set(v->tmr, vec);
	else
		vlapic_bank_clear(v->tmr, vec);
	vlapic_bank_set(v->irr, vec);
	w->notify = true;
	return 1;
}

/*
 * Record errors and raise the error LVT (SDM 11.5.3).  An error LVT with
 * an illegal vector only adds its own error: no recursion.
 */
static void
vlapic_error_locked(struct vlapic *v, uint32_t bits, struct vlapic_work *w)
{
	v->esr_pending |= bits;
	v->stats.errors++;
	(void)vlapic_fire_lvt_locked(v, VLAPIC_LVT_ERROR, w);
}

/* What an LVT entry does when its input fires (SDM 11.5.1). */
static enum vlapic_lint
vlapic_lvt_decode(uint32_t entry, int lvt)
{
	if (entry & APIC_LVT_MASKED)
		return VLAPIC_LINT_MASKED;
	switch (entry & APIC_LVT_DM_MASK) {
	case APIC_LVT_DM_FIXED:
		return VLAPIC_LINT_FIXED;
	case APIC_LVT_DM_NMI:
		return VLAPIC_LINT_NMI;
	case APIC_LVT_DM_EXTINT:
		/* ExtINT is defined for LINT0/LINT1 only. */
		if (lvt == VLAPIC_LVT_LINT0 || lvt == VLAPIC_LVT_LINT1)
			return VLAPIC_LINT_EXTINT;
		return VLAPIC_LINT_MASKED;
	default:
		return VLAPIC_LINT_MASKED; /* SMI, INIT, reserved */
	}
}

enum vlapic_lint
vlapic_fire_lvt_locked(struct vlapic *v, int lvt, struct vlapic_work *w)
{
	uint32_t entry = v->lvt[lvt];
	enum vlapic_lint mode = vlapic_lvt_decode(entry, lvt);
	int vec = (int)(entry & APIC_LVT_VECTOR);

	if (mode != VLAPIC_LINT_FIXED)
		return mode;
	if (vec >= 16) {
		(void)vlapic_latch_locked(v, vec, false, w);
	} else if (lvt == VLAPIC_LVT_ERROR) {
		v->esr_pending |= APIC_ESR_RECV_ILLEGAL;
		v->stats.errors++;
	} else {
		vlapic_error_locked(v, APIC_ESR_RECV_ILLEGAL, w);
	}
	return mode;
}

/* Error from a register access: xAPIC page slot with no register. */
void
vlapic_illegal_reg_locked(struct vlapic *v, struct vlapic_work *w)
{
	vlapic_error_locked(v, APIC_ESR_ILLEGAL_REG, w);
}

/* ESR write: latch the errors seen since the last write (SDM 11.5.3). */
void
vlapic_esr_latch_locked(struct vlapic *v)
{
	v->esr = v->esr_pending;
	v->esr_pending = 0;
}

/*
 * EOI: retire the highest in-service vector (SDM 11.8.5).  A level-
 * triggered one (TMR set) is broadcast to the I/O APIC, after unlock.
 */
void
vlapic_eoi_locked(struct vlapic *v, struct vlapic_work *w)
{
	int vec = vlapic_bank_highest(v->isr);

	if (vec < 0) {
		v->stats.gratuitous_eois++;
		return;
	}
	vlapic_bank_clear(v->isr, vec);
	v->stats.eois++;
	if (vlapic_bank_test(v->tmr, vec))
		w->eoi_vector = vec;
}

/* ---- LVT and SVR writes. ---- */

/* Writable bits per LVT (SDM 11.5.1); delivery status and remote IRR are
 * read-only and stay 0: delivery is immediate, remote IRR not modelled. */
static uint32_t
vlapic_lvt_wmask(struct vlapic *v, int lvt)
{
	const uint32_t base = APIC_LVT_VECTOR | APIC_LVT_MASKED;

	switch (lvt) {
	case VLAPIC_LVT_LINT0:
	case VLAPIC_LVT_LINT1:
		return base | APIC_LVT_DM_MASK | APIC_LVT_POLARITY |
		    APIC_LVT_LEVEL;
	case VLAPIC_LVT_TIMER:
		return base | (vlapic_tscdl_supported(v) ? APIC_LVTT_MODE_MASK :
		    APIC_LVTT_PERIODIC);
	case VLAPIC_LVT_ERROR:
		return base;
	default:
		return base | APIC_LVT_DM_MASK;
	}
}

void
vlapic_lvt_write_locked(struct vlapic *v, int lvt, uint32_t val)
{
	uint32_t old = v->lvt[lvt];
	uint32_t entry = val & vlapic_lvt_wmask(v, lvt);

	/* Software-disabled: the mask bits cannot be cleared (SDM 11.4.7.2). */
	if (!vlapic_sw_locked(v))
		entry |= APIC_LVT_MASKED;
	v->lvt[lvt] = entry;
	if (lvt == VLAPIC_LVT_TIMER)
		vlapic_timer_lvt_changed_locked(v, old);
}

/*
 * SVR (SDM 11.9): bit 12 (EOI-broadcast suppression) is reserved because
 * the version register does not offer it.  Clearing the enable bit masks
 * every LVT; the timer keeps counting (its expiries are masked).
 */
void
vlapic_svr_write_locked(struct vlapic *v, uint32_t val)
{
	bool was_enabled = vlapic_sw_locked(v);

	v->svr = val & (APIC_SVR_VECTOR | APIC_SVR_ENABLE | APIC_SVR_FOCUS_OFF);
	if (was_enabled && !vlapic_sw_locked(v)) {
		for (int i = 0; i < VLAPIC_LVT_COUNT; i++)
			v->lvt[i] |= APIC_LVT_MASKED;
	}
}

/* ---- IPIs (SDM 11.6.1). ---- */

/*
 * Delivery mode / shorthand combinations we act on.  The SDM's table of
 * valid ICR combinations allows only fixed with "self" and "all including
 * self"; NMI is taken with any shorthand as KVM does (a self-NMI is
 * common enough).  SMI is dropped: there is no SMM here.
 */
static bool
vlapic_icr_valid(int dm, int sh)
{
	switch (dm) {
	case APIC_DM_FIXED:
	case APIC_DM_NMI:
		return true;
	case APIC_DM_LOWPRI:
	case APIC_DM_INIT:
	case APIC_DM_STARTUP:
		return sh == APIC_SH_NONE || sh == APIC_SH_ALL_EXCL;
	default:
		return false;
	}
}

static void
vlapic_ipi_fill(struct vlapic *v, int dm, int sh, struct vlapic_ipi *ipi)
{
	uint32_t lo = v->icr_lo;
	bool x2 = vlapic_x2_locked(v);

	*ipi = (struct vlapic_ipi){
		.vector = (int)(lo & APIC_ICR_VECTOR),
		.delmode = dm,
		.level_assert = (lo & APIC_ICR_ASSERT) != 0,
		.level_trigger = (lo & APIC_ICR_LEVEL) != 0,
		.shorthand = sh,
		.dest_logical = (lo & APIC_ICR_LOGICAL) != 0,
		.dest = x2 ? v->icr_hi : v->icr_hi >> APIC_ICR_XDEST_SHIFT,
		.src_apic_id = v->apic_id,
		.x2apic = x2,
	};
}

/* A write to ICR (xAPIC ICR_LO, or x2APIC MSR 0x830) sends. */
void
vlapic_icr_send_locked(struct vlapic *v, struct vlapic_work *w)
{
	uint32_t lo = v->icr_lo;
	int vec = (int)(lo & APIC_ICR_VECTOR);
	int dm = (int)((lo & APIC_ICR_DM_MASK) >> APIC_ICR_DM_SHIFT);
	int sh = (int)((lo & APIC_ICR_SH_MASK) >> APIC_ICR_SH_SHIFT);

	v->stats.ipis_sent++;
	/* INIT level de-assert: modern CPUs ignore it (SDM 11.6.1). */
	if (dm == APIC_DM_INIT && (lo & APIC_ICR_LEVEL) &&
	    !(lo & APIC_ICR_ASSERT))
		return;
	if (!vlapic_icr_valid(dm, sh))
		return;
	if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWPRI) && vec < 16) {
		/* A self IPI is both sent and received here (SDM 11.5.3). */
		vlapic_error_locked(v, APIC_ESR_SEND_ILLEGAL |
		    (sh == APIC_SH_SELF ? APIC_ESR_RECV_ILLEGAL : 0), w);
		return;
	}
	if (dm == APIC_DM_FIXED && sh == APIC_SH_SELF) {
		(void)vlapic_latch_locked(v, vec, false, w);
		return;
	}
	vlapic_ipi_fill(v, dm, sh, &w->ipi);
	w->send_ipi = true;
}

/* x2APIC SELF IPI register (SDM 11.12.11): a fixed, edge self-IPI. */
void
vlapic_self_ipi_locked(struct vlapic *v, uint32_t val, struct vlapic_work *w)
{
	int vec = (int)(val & APIC_ICR_VECTOR);

	v->stats.ipis_sent++;
	if (vec < 16) {
		vlapic_error_locked(v, APIC_ESR_SEND_ILLEGAL |
		    APIC_ESR_RECV_ILLEGAL, w);
		return;
	}
	(void)vlapic_latch_locked(v, vec, false, w);
}

/* ---- Destination matching (SDM 11.6.2, 11.12.9, 11.12.10). ---- */

uint32_t
vlapic_x2_ldr(uint32_t apic_id)
{
	return (apic_id >> 4) << 16 | 1u << (apic_id & 0xf);
}

/* Logical: an xAPIC target uses its DFR model on an 8-bit MDA. */
static bool
vlapic_match_logical_xapic(struct vlapic *v, uint32_t mda)
{
	uint32_t ldest = v->ldr >> 24;

	mda &= 0xff;
	switch (v->dfr & APIC_DFR_MODEL_MASK) {
	case APIC_DFR_MODEL_FLAT:
		return (ldest & mda) != 0;
	case APIC_DFR_MODEL_CLUSTER:
		return (ldest >> 4) == (mda >> 4) && (ldest & mda & 0xf) != 0;
	default:
		return false; /* a model the SDM does not define */
	}
}

/*
 * Logical, x2APIC target: cluster in bits 31:16, a 16-bit member mask
 * below.  An 8-bit xAPIC MDA (I/O APIC, MSI) is taken zero-extended, as
 * KVM does: cluster 0.
 */
static bool
vlapic_match_logical_x2apic(struct vlapic *v, uint32_t mda)
{
	uint32_t ldr = vlapic_x2_ldr(v->apic_id);

	return (ldr >> 16) == (mda >> 16) && (ldr & mda & 0xffff) != 0;
}

static bool
vlapic_match_locked(struct vlapic *v, uint32_t dest, bool logical, bool x2)
{
	if (!vlapic_hw_locked(v))
		return false;
	if (x2 ? dest == APIC_X2APIC_BCAST : dest == APIC_XAPIC_BCAST)
		return true;
	if (!logical)
		return dest == v->apic_id;
	if (vlapic_x2_locked(v))
		return vlapic_match_logical_x2apic(v, dest);
	return vlapic_match_logical_xapic(v, dest);
}

bool
vlapic_match_dest(struct vlapic *v, uint32_t dest, bool logical,
    bool x2apic_dest)
{
	bool match;

	pthread_mutex_lock(&v->lock);
	match = vlapic_match_locked(v, dest, logical, x2apic_dest);
	pthread_mutex_unlock(&v->lock);
	return match;
}

bool
vlapic_ipi_match(struct vlapic *v, const struct vlapic_ipi *ipi)
{
	bool match;

	pthread_mutex_lock(&v->lock);
	switch (ipi->shorthand) {
	case VLAPIC_SH_NONE:
		match = vlapic_match_locked(v, ipi->dest, ipi->dest_logical,
		    ipi->x2apic);
		break;
	case VLAPIC_SH_SELF:
		match = v->apic_id == ipi->src_apic_id;
		break;
	case VLAPIC_SH_ALL_INCL:
		match = true;
		break;
	default:
		match = v->apic_id != ipi->src_apic_id;
		break;
	}
	match = match && vlapic_hw_locked(v);
	pthread_mutex_unlock(&v->lock);
	return match;
}

/* ---- Reset and the APIC base MSR (SDM 11.4.3, 11.4.7, 11.12.5). ---- */

/* Registers to their power-up/INIT state; the ID is not a register here. */
static void
vlapic_reset_regs_locked(struct vlapic *v)
{
	v->tpr = 0;
	v->ldr = 0;
	v->dfr = 0xffffffffu;
	v->svr = APIC_SVR_VECTOR;
	v->esr = 0;
	v->esr_pending = 0;
	memset(v->isr, 0, sizeof(v->isr));
	memset(v->tmr, 0, sizeof(v->tmr));
	memset(v->irr, 0, sizeof(v->irr));
	v->icr_lo = 0;
	v->icr_hi = 0;
	for (int i = 0; i < VLAPIC_LVT_COUNT; i++)
		v->lvt[i] = APIC_LVT_MASKED;
	vlapic_timer_reset_locked(v);
}

enum vlapic_mode { MODE_DISABLED, MODE_XAPIC, MODE_X2APIC, MODE_INVALID };

static enum vlapic_mode
vlapic_base_mode(uint64_t base)
{
	bool en = (base & APICBASE_EN) != 0, extd = (base & APICBASE_EXTD) != 0;

	if (en)
		return extd ? MODE_X2APIC : MODE_XAPIC;
	return extd ? MODE_INVALID : MODE_DISABLED;
}

static uint64_t
vlapic_base_rsvd(struct vlapic *v)
{
	int bits = v->ops.maxphyaddr > 0 && v->ops.maxphyaddr < 52 ?
	    v->ops.maxphyaddr : 52;
	uint64_t rsvd = APICBASE_RSVD_LOW | ~((1ull << bits) - 1);

	if (!v->ops.x2apic)
		rsvd |= APICBASE_EXTD;
	return rsvd;
}

/*
 * Legal transitions (SDM 11.12.5, "Local x2APIC State Transitions"):
 * xAPIC <-> disabled, xAPIC -> x2APIC, x2APIC -> disabled.  x2APIC ->
 * xAPIC, disabled -> x2APIC and EXTD without EN raise #GP.  Disabling
 * loses the register state (SDM 11.4.3).  The BSP bit is read-only.
 */
static int
vlapic_base_write_locked(struct vlapic *v, uint64_t val)
{
	enum vlapic_mode from = vlapic_base_mode(v->apicbase);
	enum vlapic_mode to = vlapic_base_mode(val);

	if (val & vlapic_base_rsvd(v))
		return -EINVAL;
	if (to == MODE_INVALID || (from == MODE_X2APIC && to == MODE_XAPIC) ||
	    (from == MODE_DISABLED && to == MODE_X2APIC))
		return -EINVAL;
	v->apicbase = (val & ~APICBASE_BSP) | (v->apicbase & APICBASE_BSP);
	if (to == MODE_DISABLED && from != MODE_DISABLED)
		vlapic_reset_regs_locked(v);
	return 0;
}

uint64_t
vlapic_get_apicbase(struct vlapic *v)
{
	uint64_t base;

	pthread_mutex_lock(&v->lock);
	base = v->apicbase;
	pthread_mutex_unlock(&v->lock);
	return base;
}

int
vlapic_set_apicbase(struct vlapic *v, uint64_t val)
{
	int error;

	pthread_mutex_lock(&v->lock);
	error = vlapic_base_write_locked(v, val);
	pthread_mutex_unlock(&v->lock);
	return error;
}

static bool
vlapic_test_base(struct vlapic *v, uint64_t bits)
{
	return (vlapic_get_apicbase(v) & bits) == bits;
}

bool
vlapic_x2apic_mode(struct vlapic *v)
{
	return vlapic_test_base(v, APICBASE_EN | APICBASE_EXTD);
}

bool
vlapic_hw_enabled(struct vlapic *v)
{
	return vlapic_test_base(v, APICBASE_EN);
}

bool
vlapic_sw_enabled(struct vlapic *v)
{
	bool on;

	pthread_mutex_lock(&v->lock);
	on = vlapic_sw_locked(v);
	pthread_mutex_unlock(&v->lock);
	return on;
}

/* ---- Life cycle. ---- */

struct vlapic *
vlapic_create(int vcpuid, uint32_t apic_id, bool bsp,
    struct vmm_timebase *tb, const struct vlapic_ops *ops)
{
	struct vlapic *v;

	if (tb == NULL)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	pthread_mutex_init(&v->lock, NULL);
	v->vcpuid = vcpuid;
	v->apic_id = apic_id;
	v->tb = tb;
	if (ops != NULL)
		v->ops = *ops;
	v->apicbase = APICBASE_DEFAULT | APICBASE_EN | (bsp ? APICBASE_BSP : 0);
	vlapic_timer_init(v);
	vlapic_reset_regs_locked(v); /* not shared yet */
	return v;
}

void
vlapic_destroy(struct vlapic *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	vlapic_timer_reset_locked(v);
	pthread_mutex_unlock(&v->lock);
	vmm_callout_drain(&v->callout);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/*
 * INIT (SDM 11.4.7.3): every register but the ID to its reset value; the
 * APIC base MSR, so the xAPIC/x2APIC/disabled mode, is kept (11.12.5).
 */
void
vlapic_reset(struct vlapic *v)
{
	pthread_mutex_lock(&v->lock);
	vlapic_reset_regs_locked(v);
	pthread_mutex_unlock(&v->lock);
}

/* ---- Interrupt flow for the vmm. ---- */

int
vlapic_set_intr_ready(struct vlapic *v, int vector, bool level)
{
	struct vlapic_work w;
	int latched;

	if (vector < 0 || vector > 255)
		return -EINVAL;
	vlapic_lock(v, &w);
	latched = vlapic_latch_locked(v, vector, level, &w);
	vlapic_unlock(v, &w);
	return latched;
}

/*
 * SDM 11.8.4: the highest IRR vector is dispatched when its priority
 * class is above the PPR's.  A vector in service raises the PPR to its
 * own class, so it is never offered again before its EOI.
 */
bool
vlapic_pending_intr(struct vlapic *v, int *vector)
{
	bool pending = false;
	int irrv;

	pthread_mutex_lock(&v->lock);
	irrv = vlapic_bank_highest(v->irr);
	if (vlapic_hw_locked(v) && irrv >= 0 &&
	    PRIO(irrv) > PRIO(vlapic_ppr_locked(v))) {
		pending = true;
		if (vector != NULL)
			*vector = irrv;
	}
	pthread_mutex_unlock(&v->lock);
	return pending;
}

void
vlapic_intr_accepted(struct vlapic *v, int vector)
{
	if (vector < 16 || vector > 255)
		return;
	pthread_mutex_lock(&v->lock);
	/* Only what IRR holds: a stale or bogus vector changes nothing. */
	if (vlapic_bank_test(v->irr, vector)) {
		vlapic_bank_clear(v->irr, vector);
		vlapic_bank_set(v->isr, vector);
		v->stats.accepted++;
	}
	pthread_mutex_unlock(&v->lock);
}

/* bhyve's virtual wire: an APIC that is off passes LINT0/LINT1 through. */
static enum vlapic_lint
vlapic_wire_mode(int lvt)
{
	if (lvt == VLAPIC_LVT_LINT0)
		return VLAPIC_LINT_EXTINT;
	if (lvt == VLAPIC_LVT_LINT1)
		return VLAPIC_LINT_NMI;
	return VLAPIC_LINT_MASKED;
}

int
vlapic_trigger_lvt(struct vlapic *v, int lvt)
{
	struct vlapic_work w;
	enum vlapic_lint mode;

	if (lvt < 0 || lvt >= VLAPIC_LVT_COUNT)
		return -EINVAL;
	vlapic_lock(v, &w);
	if (!vlapic_hw_locked(v) || !vlapic_sw_locked(v))
		mode = vlapic_wire_mode(lvt);
	else
		mode = vlapic_fire_lvt_locked(v, lvt, &w);
	vlapic_unlock(v, &w);
	return (int)mode;
}

enum vlapic_lint
vlapic_lint_mode(struct vlapic *v, int pin, int *vector)
{
	enum vlapic_lint mode;

	if (pin != VLAPIC_LVT_LINT0 && pin != VLAPIC_LVT_LINT1)
		return VLAPIC_LINT_MASKED;
	pthread_mutex_lock(&v->lock);
	if (!vlapic_hw_locked(v) || !vlapic_sw_locked(v)) {
		mode = vlapic_wire_mode(pin);
	} else {
		mode = vlapic_lvt_decode(v->lvt[pin], pin);
		if (mode == VLAPIC_LINT_FIXED && vector != NULL)
			*vector = (int)(v->lvt[pin] & APIC_LVT_VECTOR);
	}
	pthread_mutex_unlock(&v->lock);
	return mode;
}

int
vlapic_priority(struct vlapic *v)
{
	uint32_t apr;

	pthread_mutex_lock(&v->lock);
	apr = vlapic_apr_locked(v);
	pthread_mutex_unlock(&v->lock);
	return (int)apr;
}

uint8_t
vlapic_get_tpr(struct vlapic *v)
{
	uint8_t tpr;

	pthread_mutex_lock(&v->lock);
	tpr = (uint8_t)v->tpr;
	pthread_mutex_unlock(&v->lock);
	return tpr;
}

void
vlapic_set_tpr(struct vlapic *v, uint8_t tpr)
{
	pthread_mutex_lock(&v->lock);
	v->tpr = tpr;
	pthread_mutex_unlock(&v->lock);
}

uint32_t
vlapic_apic_id(struct vlapic *v)
{
	return v->apic_id;
}

int
vlapic_vcpuid(struct vlapic *v)
{
	return v->vcpuid;
}

void
vlapic_get_stats(struct vlapic *v, struct vlapic_stats *stats)
{
	pthread_mutex_lock(&v->lock);
	*stats = v->stats;
	pthread_mutex_unlock(&v->lock);
}
