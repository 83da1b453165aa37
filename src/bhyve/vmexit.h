/* SPDX-License-Identifier: BSD-2-Clause */
/* What a vCPU thread does with each exit the vmm hands back. */
#ifndef VMEXIT_H
#define VMEXIT_H

#include "inout.h"

enum vmexit_action vmexit_handle(struct bhyve_vm *bvm, struct vcpu *vcpu,
    struct vm_exit *vme);

#endif /* VMEXIT_H */
