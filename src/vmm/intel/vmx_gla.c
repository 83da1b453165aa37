/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest's linear addresses, and the memory side of INS/OUTS.
 *
 * vmx_gla2gpa() walks the guest's page tables as the processor would
 * (SDM vol. 3A, 4.3-4.6: 32-bit, PAE and 4-level paging, with the U/S,
 * R/W, WP and SMAP checks), setting accessed and dirty flags; bhyve's
 * vm_gla2gpa does the same.  Table entries are read through the vmm's
 * bounds-checked guest-memory map only.
 *
 * String I/O: at the exit the driver reads the OUTS source into the
 * vCPU's buffer (or checks the INS destination), hands the device model
 * up to a buffer of elements (struct vm_inout_str) and, on the next
 * run, writes INS data to guest memory and advances RSI/RDI/RCX; a REP
 * with elements left re-executes and exits again, like an interrupted
 * REP on hardware.
 */
#include <string.h>

#include "vmx.h"

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_U 0x4ULL
#define PTE_A 0x20ULL
#define PTE_D 0x40ULL
#define PTE_PS 0x80ULL
#define PTE_ADDR 0x000ffffffffff000ULL
#define PF_P 0x1u
#define PF_W 0x2u
#define PF_U 0x4u
#define PF_RSVD 0x8u

#define CR0_WP 0x10000ULL
#define CR0_PG 0x80000000ULL
#define CR4_PSE 0x10ULL
#define CR4_PAE 0x20ULL
#define CR4_SMAP 0x200000ULL
#define EFER_LMA 0x400ULL
#define RFLAGS_AC 0x40000ULL
#define RFLAGS_DF 0x400ULL

struct vmx_walk {
	int levels;		/* 2: 32-bit, 3: PAE, 4: 4-level */
	bool wide;		/* 8-byte entries */
	bool user;		/* CPL 3 */
	bool write;
	uint64_t allowed;	/* W and U AND-ed over the levels */
};

static void *
vmx_guest_ptr(struct vmx_vcpu *vcpu, uint64_t gpa, size_t len)
{
	return vmm_mem_map_gpa(&vcpu->vcpu->vm->mem, gpa, len);
}

static void
vmx_walk_set(const struct vmx_walk *w, void *p, uint64_t bits)
{
	if (w->wide)
		__atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_ACQ_REL);
	else
		__atomic_fetch_or((uint32_t *)p, (uint32_t)bits,
		    __ATOMIC_ACQ_REL);
}

static int
vmx_walk_index(const struct vmx_walk *w, uint64_t gla, int level)
{
	if (!w->wide)
		return (int)(gla >> (12 + 10 * (level - 1))) & 1023;
	if (w->levels == 3 && level == 3)
		return (int)(gla >> 30) & 3;
	return (int)(gla >> (12 + 9 * (level - 1))) & 511;
}

/*
 * Read one entry and mark it accessed (not a PAE PDPTE: bit 5 is
 * reserved there); *p is kept for the dirty flag of a written leaf.
 */
static enum vmx_gla_result
vmx_walk_entry(struct vmx_vcpu *vcpu, const struct vmx_walk *w, uint64_t a,
    bool mark, uint64_t *e, void **p)
{
	*p = vmx_guest_ptr(vcpu, a, w->wide ? 8 : 4);
	if (*p == NULL)
		return VMX_GLA_NOT_RAM;
	if (w->wide)
		*e = __atomic_load_n((uint64_t *)*p, __ATOMIC_ACQUIRE);
	else
		*e = __atomic_load_n((uint32_t *)*p, __ATOMIC_ACQUIRE);
	if (mark && (*e & PTE_P))
		vmx_walk_set(w, *p, PTE_A);
	return VMX_GLA_OK;
}

/* A large page at this level: its base and the offset mask. */
static bool
vmx_walk_large(const struct vmx_walk *w, uint64_t e, int level, uint64_t cr4,
    uint64_t *mask)
{
	if (!(e & PTE_PS) || level == 1 || level == w->levels)
		return false;
	if (!w->wide) {
		if (!(cr4 & CR4_PSE))
			return false;
		*mask = (1ULL << 22) - 1;
		return true;
	}
	*mask = (1ULL << (12 + 9 * (level - 1))) - 1;
	return true;
}

static enum vmx_gla_result
vmx_walk_tables(struct vmx_vcpu *vcpu, struct vmx_walk *w, uint64_t gla,
    uint64_t cr3, uint64_t cr4, uint64_t *gpa, uint32_t *err)
{
	uint64_t base = w->wide ? cr3 & PTE_ADDR : cr3 & 0xfffff000ULL;
	uint64_t e = 0, mask = 0xfff;
	enum vmx_gla_result r;
	void *p = NULL;

	if (w->levels == 3)
		base = cr3 & 0xffffffe0ULL;
	for (int level = w->levels; level >= 1; level--) {
		uint64_t a = base + (uint64_t)vmx_walk_index(w, gla, level) *
		    (w->wide ? 8 : 4);
		bool pdpte = w->levels == 3 && level == 3;

		r = vmx_walk_entry(vcpu, w, a, !pdpte, &e, &p);
		if (r != VMX_GLA_OK)
			return r;
		if (!(e & PTE_P)) {
			*err = (w->write ? PF_W : 0) | (w->user ? PF_U : 0);
			return VMX_GLA_PF;
		}
		if (!pdpte)
			w->allowed &= e;
		if (vmx_walk_large(w, e, level, cr4, &mask) || level == 1)
			break;
		base = w->wide ? e & PTE_ADDR : e & 0xfffff000ULL;
	}
	if (w->write)
		vmx_walk_set(w, p, PTE_D);
	*gpa = ((w->wide ? e & PTE_ADDR : e & 0xfffff000ULL) & ~mask) |
	    (gla & mask);
	return VMX_GLA_OK;
}

/* The protection checks of 4.6 on the combined U/S and R/W. */
static bool
vmx_walk_allowed(struct vmx_vcpu *vcpu, const struct vmx_walk *w)
{
	uint64_t cr0 = vmx_vmread(vcpu, VMCS_GUEST_CR0);
	uint64_t cr4 = vmx_vmread(vcpu, VMCS_GUEST_CR4);
	bool upage = (w->allowed & PTE_U) != 0;

	if (w->user && !upage)
		return false;
	if (w->write && !(w->allowed & PTE_W) && (w->user || (cr0 & CR0_WP)))
		return false;
	if (!w->user && upage && (cr4 & CR4_SMAP) &&
	    !(vmx_vmread(vcpu, VMCS_GUEST_RFLAGS) & RFLAGS_AC))
		return false;
	return true;
}

enum vmx_gla_result
vmx_gla2gpa(struct vmx_vcpu *vcpu, uint64_t gla, bool write, uint64_t *gpa,
    uint32_t *pf_error)
{
	uint64_t cr0 = vmx_vmread(vcpu, VMCS_GUEST_CR0);
	uint64_t cr4 = vmx_vmread(vcpu, VMCS_GUEST_CR4);
	uint64_t efer = vmx_vmread(vcpu, VMCS_GUEST_IA32_EFER);
	uint32_t ss = (uint32_t)vmx_vmread(vcpu,
	    VMCS_GUEST_SS_ACCESS_RIGHTS);
	struct vmx_walk w = { .user = SEG_ACCESS_DPL(ss) == 3,
		.write = write, .allowed = ~0ULL };
	enum vmx_gla_result r;

	*pf_error = 0;
	if (!(cr0 & CR0_PG)) {
		*gpa = gla & 0xffffffffULL;
		return VMX_GLA_OK;
	}
	w.levels = (efer & EFER_LMA) ? 4 : (cr4 & CR4_PAE) ? 3 : 2;
	w.wide = w.levels > 2;
	r = vmx_walk_tables(vcpu, &w, gla, vmx_vmread(vcpu, VMCS_GUEST_CR3),
	    cr4, gpa, pf_error);
	if (r != VMX_GLA_OK)
		return r;
	if (!vmx_walk_allowed(vcpu, &w)) {
		*pf_error = PF_P | (write ? PF_W : 0) | (w.user ? PF_U : 0);
		return VMX_GLA_PF;
	}
	return VMX_GLA_OK;
}

enum vmx_copy { VMX_FROM_GUEST, VMX_TO_GUEST, VMX_CHECK_WRITE };

/*
 * Copy 'len' bytes between guest linear 'gla' and 'buf', page by page
 * (or only check that the guest could write them).  The whole range is
 * translated before anything is copied.
 */
static enum vmx_gla_result
vmx_guest_copy(struct vmx_vcpu *vcpu, uint64_t gla, uint8_t *buf, int len,
    enum vmx_copy how, uint32_t *pf_error)
{
	uint8_t *host[2];
	int part[2], n = 0;
	uint64_t gpa;
	enum vmx_gla_result r;

	for (int done = 0; done < len; done += part[n++]) {
		uint64_t a = gla + (uint64_t)done;

		part[n] = len - done;
		if ((a & 0xfff) + (uint64_t)part[n] > 4096)
			part[n] = 4096 - (int)(a & 0xfff);
		r = vmx_gla2gpa(vcpu, a, how != VMX_FROM_GUEST, &gpa,
		    pf_error);
		if (r != VMX_GLA_OK)
			return r;
		host[n] = vmx_guest_ptr(vcpu, gpa, (size_t)part[n]);
		if (host[n] == NULL)
			return VMX_GLA_NOT_RAM;
	}
	for (int i = 0, off = 0; i < n; off += part[i++]) {
		if (how == VMX_TO_GUEST)
			memcpy(host[i], buf + off, (size_t)part[i]);
		else if (how == VMX_FROM_GUEST)
			memcpy(buf + off, host[i], (size_t)part[i]);
	}
	return VMX_GLA_OK;
}

static uint64_t
vmx_iostr_lin(const struct vmx_iostr *s, uint64_t index, uint32_t i)
{
	uint64_t step = (uint64_t)i * s->size;
	uint64_t off = (s->df ? index - step : index + step) & s->amask;
	uint64_t lin = s->segbase + off;

	return s->lin32 ? lin & 0xffffffffULL : lin;
}

/* A register updated at the instruction's address size. */
static uint64_t
vmx_iostr_reg(const struct vmx_iostr *s, uint64_t old, uint64_t val)
{
	if (s->amask == 0xffffffffULL)
		return val & s->amask;
	return (old & ~s->amask) | (val & s->amask);
}

static void
vmx_iostr_setup(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vmx_iostr *s)
{
	static const uint64_t amask[4] = { 0xffff, 0xffffffffULL, ~0ULL,
		0xffff };
	uint32_t cs = (uint32_t)vmx_vmread(vcpu, VMCS_GUEST_CS_ACCESS_RIGHTS);
	bool lm64 = (vmx_vmread(vcpu, VMCS_GUEST_IA32_EFER) & EFER_LMA) &&
	    (cs & SEG_ACCESS_L);
	int seg;

	*s = (struct vmx_iostr){ .size = (uint8_t)VTX_IOQ_SIZE(ex->qual),
		.in = (ex->qual & VTX_IOQ_IN) != 0,
		.rep = (ex->qual & VTX_IOQ_REP) != 0,
		.df = (vmx_vmread(vcpu, VMCS_GUEST_RFLAGS) & RFLAGS_DF) != 0,
		.amask = amask[VTX_INSINFO_ASIZE(ex->inst_info) & 3],
		.lin32 = !lm64 };
	s->index_reg = s->in ? VTX_RDI : VTX_RSI;
	seg = s->in ? 0 : (int)VTX_INSINFO_SEG(ex->inst_info);
	if (!lm64 || seg >= 4)
		s->segbase = vmx_vmread(vcpu, VMCS_GUEST_BASE(seg));
}

enum vmx_exit_action
vmx_iostr_exit(struct vmx_vcpu *vcpu, const struct vmx_exit *ex,
    struct vm_exit *vme)
{
	struct vmx_iostr *s = &vcpu->iostr;
	uint64_t index, count;
	uint32_t n = 0, err = 0, max;
	enum vmx_gla_result r = VMX_GLA_OK;

	vmx_iostr_setup(vcpu, ex, s);
	index = vcpu->regs.gpr[s->index_reg];
	count = s->rep ? vcpu->regs.gpr[VTX_RCX] & s->amask : 1;
	max = VMX_IOBUF_SIZE / s->size;
	for (; n < count && n < max && r == VMX_GLA_OK; n++)
		r = vmx_guest_copy(vcpu, vmx_iostr_lin(s, index, n),
		    vcpu->iobuf + n * s->size, s->size,
		    s->in ? VMX_CHECK_WRITE : VMX_FROM_GUEST, &err);
	if (r != VMX_GLA_OK)
		n--;
	if (n == 0 && r == VMX_GLA_PF) {
		vcpu->regs.cr2 = vmx_iostr_lin(s, index, 0);
		(void)vmx_inject_exception(vcpu, 14, true, err);
		return VMX_RESUME;
	}
	if (n == 0) {
		vme->exitcode = VM_EXITCODE_INST_EMUL;
		return VMX_RETURN;
	}
	s->count = n;
	vme->exitcode = VM_EXITCODE_INOUT_STR;
	vme->u.inout_str.inout = (struct vm_inout){ .port =
	    VTX_IOQ_PORT(ex->qual), .bytes = s->size, .in = s->in };
	vme->u.inout_str.count = n;
	vme->u.inout_str.data = vcpu->iobuf;
	return VMX_RETURN;
}

/* The next run: INS data into guest memory, then the registers. */
void
vmx_iostr_complete(struct vmx_vcpu *vcpu)
{
	struct vmx_iostr *s = &vcpu->iostr;
	uint64_t index = vcpu->regs.gpr[s->index_reg];
	uint64_t rcx = vcpu->regs.gpr[VTX_RCX], delta;
	uint32_t n = 0, err;

	if (s->in) {
		while (n < s->count && vmx_guest_copy(vcpu,
		    vmx_iostr_lin(s, index, n), vcpu->iobuf + n * s->size,
		    s->size, VMX_TO_GUEST, &err) == VMX_GLA_OK)
			n++;
	} else {
		n = s->count;
	}
	delta = (uint64_t)n * s->size;
	vcpu->regs.gpr[s->index_reg] = vmx_iostr_reg(s, index,
	    s->df ? index - delta : index + delta);
	if (s->rep)
		vcpu->regs.gpr[VTX_RCX] = vmx_iostr_reg(s, rcx, rcx - n);
	if (!s->rep || (vcpu->regs.gpr[VTX_RCX] & s->amask) == 0)
		vmx_skip_instruction(vcpu, vcpu->pending_len);
}
