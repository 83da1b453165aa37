/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmmapi, local half: each call forwards to the vmm core, or to the
 * control socket for a remote context.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmm_backend.h"
#include "vmm_core.h"
#include "vmmapi_internal.h"

const char *
vm_backend_auto(void)
{
	return vmm_backend_auto();
}

struct vmctx *
vm_create(const char *name, const char *backend, const char **why)
{
	const char *dummy;
	struct vmctx *ctx = calloc(1, sizeof(*ctx));

	if (why == NULL)
		why = &dummy;
	if (ctx == NULL) {
		*why = "out of memory";
		return NULL;
	}
	ctx->sock = -1;
	ctx->vm = vmm_vm_create(name, backend, why);
	if (ctx->vm == NULL) {
		int saved = errno;

		free(ctx);
		errno = saved;
		return NULL;
	}
	snprintf(ctx->name, sizeof(ctx->name), "%s", name);
	snprintf(ctx->backend, sizeof(ctx->backend), "%s", backend);
	return ctx;
}

void
vm_destroy(struct vmctx *ctx)
{
	if (ctx == NULL)
		return;
	for (int i = 0; i < VM_MAXCPU; i++)
		free(ctx->vcpus[i]);
	if (vmctx_is_remote(ctx))
		vmmapi_remote_close(ctx);
	else
		vmm_vm_destroy(ctx->vm);
	free(ctx);
}

const char *
vm_get_name(struct vmctx *ctx)
{
	return ctx->name;
}

const char *
vm_get_backend(struct vmctx *ctx)
{
	return ctx->backend;
}

int
vm_get_ncpus(struct vmctx *ctx)
{
	int s, c, t, m;

	if (vmctx_is_remote(ctx))
		return ctx->ncpus;
	vmm_get_topology(ctx->vm, &s, &c, &t, &m);
	return s * c * t;
}

int
vm_set_topology(struct vmctx *ctx, int sockets, int cores, int threads,
    int maxcpus)
{
	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	return vmm_set_topology(ctx->vm, sockets, cores, threads, maxcpus);
}

void
vm_get_topology(struct vmctx *ctx, int *sockets, int *cores, int *threads,
    int *maxcpus)
{
	if (vmctx_is_remote(ctx)) {
		/* The control protocol knows the count, not the shape. */
		*sockets = *maxcpus = ctx->ncpus;
		*cores = *threads = 1;
		return;
	}
	vmm_get_topology(ctx->vm, sockets, cores, threads, maxcpus);
}

int
vm_setup_memory(struct vmctx *ctx, size_t len)
{
	int error;

	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	error = vmm_setup_memory(ctx->vm, len);
	if (error == 0)
		ctx->memsize = len;
	return error;
}

uint64_t
vm_get_lowmem_size(struct vmctx *ctx)
{
	return vmctx_is_remote(ctx) ? 0 : vmm_lowmem_size(ctx->vm);
}

uint64_t
vm_get_highmem_size(struct vmctx *ctx)
{
	return vmctx_is_remote(ctx) ? 0 : vmm_highmem_size(ctx->vm);
}

uint64_t
vm_get_memory_size(struct vmctx *ctx)
{
	return ctx->memsize;
}

int
vm_get_memfd(struct vmctx *ctx)
{
	return vmctx_is_remote(ctx) ? -1 : vmm_memfd(ctx->vm);
}

void *
vm_map_gpa(struct vmctx *ctx, uint64_t gpa, size_t len)
{
	return vmctx_is_remote(ctx) ? NULL : vmm_map_gpa(ctx->vm, gpa, len);
}

int
vm_parse_memsize(const char *opt, size_t *memsize)
{
	char *end;
	unsigned long long v;
	unsigned shift = 20; /* a bare number means MiB, as in bhyve */

	if (opt == NULL || *opt < '0' || *opt > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(opt, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end != '\0') {
		const char *units = "BKMGT";
		const char *u = strchr(units, *end >= 'a' ? *end - 32 : *end);

		if (u == NULL || *u == '\0' || end[1] != '\0')
			return -EINVAL;
		shift = (unsigned)(u - units) * 10;
	}
	if (v == 0 || v > (SIZE_MAX >> shift))
		return -ERANGE;
	*memsize = (size_t)(v << shift);
	return 0;
}

struct vcpu *
vm_vcpu_open(struct vmctx *ctx, int vcpuid)
{
	struct vcpu *vcpu;

	if (vcpuid < 0 || vcpuid >= VM_MAXCPU ||
	    (vmctx_is_remote(ctx) && vcpuid >= ctx->ncpus)) {
		errno = EINVAL;
		return NULL;
	}
	if (ctx->vcpus[vcpuid])
		return ctx->vcpus[vcpuid];
	vcpu = calloc(1, sizeof(*vcpu));
	if (vcpu == NULL)
		return NULL;
	vcpu->ctx = ctx;
	vcpu->id = vcpuid;
	if (!vmctx_is_remote(ctx)) {
		vcpu->vv = vmm_vcpu_get(ctx->vm, vcpuid);
		if (vcpu->vv == NULL) {
			free(vcpu);
			return NULL;
		}
	}
	ctx->vcpus[vcpuid] = vcpu;
	return vcpu;
}

/* vCPUs live as long as their context; closing is a no-op kept for API. */
void
vm_vcpu_close(struct vcpu *vcpu)
{
	(void)vcpu;
}

int
vcpu_id(struct vcpu *vcpu)
{
	return vcpu->id;
}

struct vmctx *
vcpu_ctx(struct vcpu *vcpu)
{
	return vcpu->ctx;
}

int
vm_run(struct vcpu *vcpu, struct vm_exit *vme)
{
	if (vcpu->vv == NULL)
		return -ENOTSUP;
	return vmm_vcpu_run(vcpu->vv, vme);
}

int
vm_suspend(struct vmctx *ctx, enum vm_suspend_how how)
{
	if (vmctx_is_remote(ctx))
		return vmmapi_remote_suspend(ctx, how);
	return vmm_suspend(ctx->vm, how);
}

enum vm_suspend_how
vm_get_suspend(struct vmctx *ctx)
{
	return vmctx_is_remote(ctx) ? VM_SUSPEND_NONE
				    : vmm_get_suspend(ctx->vm);
}

int
vm_get_register(struct vcpu *vcpu, int reg, uint64_t *val)
{
	if (vcpu->vv == NULL)
		return vmmapi_remote_get_register(vcpu, reg, val);
	return vmm_get_register(vcpu->vv, reg, val);
}

int
vm_set_register(struct vcpu *vcpu, int reg, uint64_t val)
{
	if (vcpu->vv == NULL)
		return vmmapi_remote_set_register(vcpu, reg, val);
	return vmm_set_register(vcpu->vv, reg, val);
}

int
vm_get_desc(struct vcpu *vcpu, int reg, struct seg_desc *desc)
{
	if (vcpu->vv == NULL)
		return vmmapi_remote_get_desc(vcpu, reg, desc);
	return vmm_get_desc(vcpu->vv, reg, desc);
}

int
vm_set_desc(struct vcpu *vcpu, int reg, const struct seg_desc *desc)
{
	if (vcpu->vv == NULL)
		return vmmapi_remote_set_desc(vcpu, reg, desc);
	return vmm_set_desc(vcpu->vv, reg, desc);
}

int
vm_get_register_set(struct vcpu *vcpu, unsigned count, const int *regs,
    uint64_t *vals)
{
	for (unsigned i = 0; i < count; i++) {
		int error = vm_get_register(vcpu, regs[i], &vals[i]);

		if (error)
			return error;
	}
	return 0;
}

int
vm_set_register_set(struct vcpu *vcpu, unsigned count, const int *regs,
    const uint64_t *vals)
{
	for (unsigned i = 0; i < count; i++) {
		int error = vm_set_register(vcpu, regs[i], vals[i]);

		if (error)
			return error;
	}
	return 0;
}

static const char *const vm_reg_names[VM_REG_LAST] = {
	[VM_REG_GUEST_RAX] = "rax", [VM_REG_GUEST_RBX] = "rbx",
	[VM_REG_GUEST_RCX] = "rcx", [VM_REG_GUEST_RDX] = "rdx",
	[VM_REG_GUEST_RSI] = "rsi", [VM_REG_GUEST_RDI] = "rdi",
	[VM_REG_GUEST_RBP] = "rbp", [VM_REG_GUEST_RSP] = "rsp",
	[VM_REG_GUEST_R8] = "r8", [VM_REG_GUEST_R9] = "r9",
	[VM_REG_GUEST_R10] = "r10", [VM_REG_GUEST_R11] = "r11",
	[VM_REG_GUEST_R12] = "r12", [VM_REG_GUEST_R13] = "r13",
	[VM_REG_GUEST_R14] = "r14", [VM_REG_GUEST_R15] = "r15",
	[VM_REG_GUEST_RIP] = "rip", [VM_REG_GUEST_RFLAGS] = "rflags",
	[VM_REG_GUEST_CR0] = "cr0", [VM_REG_GUEST_CR2] = "cr2",
	[VM_REG_GUEST_CR3] = "cr3", [VM_REG_GUEST_CR4] = "cr4",
	[VM_REG_GUEST_CR8] = "cr8", [VM_REG_GUEST_EFER] = "efer",
	[VM_REG_GUEST_DR0] = "dr0", [VM_REG_GUEST_DR1] = "dr1",
	[VM_REG_GUEST_DR2] = "dr2", [VM_REG_GUEST_DR3] = "dr3",
	[VM_REG_GUEST_DR6] = "dr6", [VM_REG_GUEST_DR7] = "dr7",
	[VM_REG_GUEST_ES] = "es", [VM_REG_GUEST_CS] = "cs",
	[VM_REG_GUEST_SS] = "ss", [VM_REG_GUEST_DS] = "ds",
	[VM_REG_GUEST_FS] = "fs", [VM_REG_GUEST_GS] = "gs",
	[VM_REG_GUEST_LDTR] = "ldtr", [VM_REG_GUEST_TR] = "tr",
	[VM_REG_GUEST_GDTR] = "gdtr", [VM_REG_GUEST_IDTR] = "idtr",
	[VM_REG_GUEST_INTR_SHADOW] = "intr-shadow",
};

const char *
vm_reg_name(int reg)
{
	return reg >= 0 && reg < VM_REG_LAST ? vm_reg_names[reg] : NULL;
}

int
vm_reg_by_name(const char *name)
{
	for (int i = 0; i < VM_REG_LAST; i++)
		if (strcasecmp(vm_reg_names[i], name) == 0)
			return i;
	return -1;
}

/* The op values are the vmm's enum vmm_irq_op: assert, deassert, pulse. */
static int
isa_irq(struct vmctx *ctx, int atpic_irq, int ioapic_irq, int op)
{
	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	return vmm_isa_irq_op(ctx->vm, atpic_irq, ioapic_irq, op);
}

int
vm_isa_assert_irq(struct vmctx *ctx, int atpic_irq, int ioapic_irq)
{
	return isa_irq(ctx, atpic_irq, ioapic_irq, 0);
}

int
vm_isa_deassert_irq(struct vmctx *ctx, int atpic_irq, int ioapic_irq)
{
	return isa_irq(ctx, atpic_irq, ioapic_irq, 1);
}

int
vm_isa_pulse_irq(struct vmctx *ctx, int atpic_irq, int ioapic_irq)
{
	return isa_irq(ctx, atpic_irq, ioapic_irq, 2);
}

int
vm_isa_set_irq_trigger(struct vmctx *ctx, int atpic_irq, bool level)
{
	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	return vmm_isa_set_trigger(ctx->vm, atpic_irq, level);
}

static int
ioapic_irq(struct vmctx *ctx, int pin, int op)
{
	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	return vmm_ioapic_irq_op(ctx->vm, pin, op);
}

int
vm_ioapic_assert_irq(struct vmctx *ctx, int pin)
{
	return ioapic_irq(ctx, pin, 0);
}

int
vm_ioapic_deassert_irq(struct vmctx *ctx, int pin)
{
	return ioapic_irq(ctx, pin, 1);
}

int
vm_ioapic_pulse_irq(struct vmctx *ctx, int pin)
{
	return ioapic_irq(ctx, pin, 2);
}

int
vm_ioapic_pincount(struct vmctx *ctx, int *pincount)
{
	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	*pincount = vmm_ioapic_pins(ctx->vm);
	return 0;
}

int
vm_lapic_msi(struct vmctx *ctx, uint64_t addr, uint64_t msg)
{
	return vmctx_is_remote(ctx) ? -ENOTSUP : vmm_msi(ctx->vm, addr, msg);
}

int
vm_set_x2apic(struct vmctx *ctx, bool on)
{
	return vmctx_is_remote(ctx) ? -ENOTSUP : vmm_set_x2apic(ctx->vm, on);
}

int
vm_rtc_settime(struct vmctx *ctx, int64_t secs)
{
	return vmctx_is_remote(ctx) ? -ENOTSUP : vmm_rtc_settime(ctx->vm, secs);
}

int
vm_rtc_gettime(struct vmctx *ctx, int64_t *secs)
{
	int64_t t;

	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	t = vmm_rtc_gettime(ctx->vm);
	if (t < 0)
		return t == -ENODEV ? -ENODEV : -EINVAL;
	*secs = t;
	return 0;
}

int
vm_ioeventfd(struct vmctx *ctx, uint64_t addr, int len, bool pio,
    bool datamatch, uint64_t data, int fd, bool assign)
{
	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	return vmm_ioeventfd(ctx->vm, addr, len, pio, datamatch, data, fd,
	    assign);
}

int
vm_set_ioeventfd_hook(struct vmctx *ctx, vm_ioeventfd_hook_t *hook,
    void *arg)
{
	if (vmctx_is_remote(ctx))
		return -ENOTSUP;
	return vmm_set_ioeventfd_hook(ctx->vm, hook, arg);
}

int
vm_get_stats(struct vcpu *vcpu, uint64_t *vals, int nvals)
{
	if (vcpu->vv == NULL)
		return vmmapi_remote_get_stats(vcpu, vals, nvals);
	vmm_get_stats(vcpu->vv, vals, nvals);
	return 0;
}

const char *
vm_stat_name(int stat)
{
	return vmm_stat_name(stat);
}

const char *
vm_exitcode_name(int exitcode)
{
	return vmm_exitcode_name(exitcode);
}
