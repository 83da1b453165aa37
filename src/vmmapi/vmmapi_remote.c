/* SPDX-License-Identifier: BSD-2-Clause */
/* libvmmapi, remote half: calls over a running bhyve's control socket. */
#include <errno.h>
#include <unistd.h>

#include "vmmapi_internal.h"

int
vmmapi_remote_suspend(struct vmctx *ctx, enum vm_suspend_how how)
{
	(void)ctx, (void)how;
	return -ENOTSUP;
}

int
vmmapi_remote_get_register(struct vcpu *vcpu, int reg, uint64_t *val)
{
	(void)vcpu, (void)reg, (void)val;
	return -ENOTSUP;
}

int
vmmapi_remote_set_register(struct vcpu *vcpu, int reg, uint64_t val)
{
	(void)vcpu, (void)reg, (void)val;
	return -ENOTSUP;
}

int
vmmapi_remote_get_desc(struct vcpu *vcpu, int reg, struct seg_desc *desc)
{
	(void)vcpu, (void)reg, (void)desc;
	return -ENOTSUP;
}

int
vmmapi_remote_set_desc(struct vcpu *vcpu, int reg, const struct seg_desc *desc)
{
	(void)vcpu, (void)reg, (void)desc;
	return -ENOTSUP;
}

int
vmmapi_remote_get_stats(struct vcpu *vcpu, uint64_t *vals, int nvals)
{
	(void)vcpu, (void)vals, (void)nvals;
	return -ENOTSUP;
}

void
vmmapi_remote_close(struct vmctx *ctx)
{
	if (ctx->sock >= 0)
		close(ctx->sock);
}
