/* SPDX-License-Identifier: BSD-2-Clause */
/* libvmmapi's own objects: a context is local (owns a vmm VM) or remote. */
#ifndef VMMAPI_INTERNAL_H
#define VMMAPI_INTERNAL_H

#include "vmmapi.h"

struct vm;
struct vm_vcpu;

struct vcpu {
	struct vmctx *ctx;
	int id;
	struct vm_vcpu *vv; /* local only */
};

struct vmctx {
	struct vm *vm; /* NULL for a remote context */
	int sock;      /* remote: the VM's control socket, else -1 */
	char name[VM_MAX_NAMELEN + 1];
	char backend[16];
	int ncpus;
	uint64_t memsize;
	struct vcpu *vcpus[VM_MAXCPU];
};

static inline int
vmctx_is_remote(const struct vmctx *ctx)
{
	return ctx->vm == NULL;
}

/* vmmapi_remote.c: the calls a remote context supports. */
int vmmapi_remote_suspend(struct vmctx *ctx, enum vm_suspend_how how);
int vmmapi_remote_get_register(struct vcpu *vcpu, int reg, uint64_t *val);
int vmmapi_remote_set_register(struct vcpu *vcpu, int reg, uint64_t val);
int vmmapi_remote_get_desc(struct vcpu *vcpu, int reg, struct seg_desc *desc);
int vmmapi_remote_set_desc(struct vcpu *vcpu, int reg,
    const struct seg_desc *desc);
int vmmapi_remote_get_stats(struct vcpu *vcpu, uint64_t *vals, int nvals);
void vmmapi_remote_close(struct vmctx *ctx);

#endif /* VMMAPI_INTERNAL_H */
