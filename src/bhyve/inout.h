/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Port I/O and MMIO exits: route them to the registries, once, centrally
 * (string I/O included), applying the unhandled-access policy.
 */
#ifndef INOUT_H
#define INOUT_H

#include "bhyverun.h"

/* What a vCPU thread does after handling an exit. */
enum vmexit_action {
	VMEXIT_CONTINUE,
	VMEXIT_STOP,  /* the VM is ending: leave the vCPU loop */
	VMEXIT_ABORT, /* an error the VM cannot go on from */
};

enum vmexit_action emulate_inout(struct bhyve_vm *bvm, struct vcpu *vcpu,
    struct vm_exit *vme);
enum vmexit_action emulate_mmio(struct bhyve_vm *bvm, struct vcpu *vcpu,
    struct vm_exit *vme);

#endif /* INOUT_H */
