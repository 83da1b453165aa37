/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EPT translation (SDM vol. 3C, 28.3): the core's map() callback walks
 * the 4-level tables the VMM built, checks the R/W/X permissions AND-ed
 * over every level, and caches what it allowed per guest-physical page.
 * Entries hold host virtual addresses (vtx.h).  A refused access makes
 * the core stop; the exit then re-walks to tell an EPT violation from a
 * misconfiguration (28.3.3).  Accessed/dirty flags are not modelled
 * (IA32_VMX_EPT_VPID_CAP bit 21 is 0); memory types are checked for
 * validity and otherwise ignored.
 */
#include <stddef.h>

#include "vtx_internal.h"

#define EPT_MAXPHYADDR 48
#define EPT_LEVELS 4

enum ept_result { EPT_OK, EPT_VIOLATION, EPT_MISCONFIG };

struct ept_walk {
	uint8_t *host;		/* the 4 KiB page holding the gpa */
	uint8_t perm;		/* R/W/X AND-ed over the entries used */
};

static bool
ept_leaf_type_bad(uint64_t e)
{
	uint64_t mt = (e >> EPT_MT_SHIFT) & 7;

	return mt == 2 || mt == 3 || mt == 7;
}

/* An entry's misconfigurations (28.3.3.1); 'e' is present. */
static bool
ept_misconfigured(uint64_t e, int level)
{
	if ((e & (EPT_R | EPT_W)) == EPT_W)
		return true;	/* write without read */
	if (e & (((1ULL << 52) - 1) & ~((1ULL << EPT_MAXPHYADDR) - 1)))
		return true;	/* address bits above MAXPHYADDR */
	if (level == 4)
		return (e & 0xf8) != 0;
	if (level == 1 || (e & EPT_LARGE)) {
		if (ept_leaf_type_bad(e))
			return true;
		if (level == 3 && (e & EPT_LARGE))
			return (e & 0x3ffff000ULL) != 0;
		if (level == 2 && (e & EPT_LARGE))
			return (e & 0x1ff000ULL) != 0;
		return false;
	}
	return (e & 0x78) != 0;	/* bits 6:3 of a non-leaf entry */
}

static enum ept_result
ept_walk(uint64_t eptp, uint64_t gpa, struct ept_walk *w)
{
	const uint64_t *table = (const uint64_t *)(uintptr_t)(eptp &
	    EPT_ADDR_MASK);
	uint8_t perm = X86_ACC_R | X86_ACC_W | X86_ACC_X;

	w->perm = 0;
	w->host = NULL;
	if (gpa >> EPT_MAXPHYADDR)
		return EPT_VIOLATION;
	for (int level = EPT_LEVELS; level >= 1; level--) {
		int shift = 12 + 9 * (level - 1);
		uint64_t e = __atomic_load_n(&table[(gpa >> shift) & 511],
		    __ATOMIC_ACQUIRE);

		if ((e & EPT_RWX) == 0)
			return EPT_VIOLATION;
		if (ept_misconfigured(e, level))
			return EPT_MISCONFIG;
		perm &= (uint8_t)(e & EPT_RWX);
		if (level == 1 || (e & EPT_LARGE)) {
			uint64_t size = 1ULL << shift;
			uint64_t base = e & EPT_ADDR_MASK & ~(size - 1);

			w->perm = perm;
			w->host = (uint8_t *)(uintptr_t)(base +
			    (gpa & (size - 1) & ~0xfffULL));
			return EPT_OK;
		}
		table = (const uint64_t *)(uintptr_t)(e & EPT_ADDR_MASK);
	}
	return EPT_VIOLATION;	/* not reached: level 1 is a leaf */
}

/* struct x86_mem_ops.map: the host page of 'gpa' if EPT allows 'access'. */
uint8_t *
vtx_ept_map(void *arg, uint64_t gpa, int access)
{
	struct vtx *v = arg;
	uint64_t gfn = gpa >> 12;
	struct vtx_ept_slot *s = &v->ept_cache[gfn & (VTX_EPT_CACHE - 1)];
	struct ept_walk w;

	if (s->gfn == gfn && (s->perm & access) == access)
		return s->host;
	if (ept_walk(v->eptp, gpa, &w) != EPT_OK ||
	    (w.perm & access) != access)
		return NULL;
	*s = (struct vtx_ept_slot){ .gfn = gfn, .host = w.host,
		.perm = w.perm };
	return w.host;
}

void
vtx_ept_flush(struct vtx *v)
{
	for (int i = 0; i < VTX_EPT_CACHE; i++)
		v->ept_cache[i].gfn = ~0ULL;
	x86_flush_tlb(v->cpu);
}

/* Why 'access' to 'gpa' was refused: for the exit qualification. */
void
vtx_ept_fault_info(struct vtx *v, uint64_t gpa, int access,
    struct vtx_ept_fault *f)
{
	struct ept_walk w;

	(void)access;
	f->misconfig = ept_walk(v->eptp, gpa, &w) == EPT_MISCONFIG;
	f->perm = w.perm;
}

/*
 * EPTP checks of VM entry (26.2.1.1): a supported memory type, a 4-level
 * walk, no accessed/dirty flags (not supported), reserved bits clear.
 */
bool
vtx_eptp_valid(uint64_t eptp)
{
	uint64_t mt = eptp & 7;

	if (mt != EPTP_MT_UC && mt != EPTP_MT_WB)
		return false;
	if ((eptp & (7ULL << 3)) != EPTP_PWL4 || (eptp & EPTP_AD))
		return false;
	if (eptp & 0xf80ULL)
		return false;
	if (eptp >> EPT_MAXPHYADDR)
		return false;
	return (eptp & EPT_ADDR_MASK) != 0;
}

int
vtx_invept(struct vtx *v, int type, uint64_t eptp)
{
	if (type != INVEPT_TYPE_SINGLE_CONTEXT &&
	    type != INVEPT_TYPE_ALL_CONTEXTS) {
		vtx_fset(v, VMCS_INSTRUCTION_ERROR, VMXERR_INVEPT_INVALID);
		return VTX_FAIL_VALID;
	}
	if (type == INVEPT_TYPE_SINGLE_CONTEXT && !vtx_eptp_valid(eptp)) {
		vtx_fset(v, VMCS_INSTRUCTION_ERROR, VMXERR_INVEPT_INVALID);
		return VTX_FAIL_VALID;
	}
	vtx_ept_flush(v);
	return VTX_SUCCEED;
}

int
vtx_invvpid(struct vtx *v, int type, uint16_t vpid, uint64_t gla)
{
	(void)type, (void)vpid, (void)gla;
	x86_flush_tlb(v->cpu);
	return VTX_SUCCEED;
}
