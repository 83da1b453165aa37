/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Which backend vmm.backend=auto stands for.
 */
#ifndef VMM_BACKEND_H
#define VMM_BACKEND_H

/*
 * "kvm" where hardware virtualization is real: the CPU flags in
 * 'cpuinfo' (/proc/cpuinfo) list vmx or svm and 'kvm' (/dev/kvm) opens
 * and answers KVM_GET_API_VERSION.  Else "vtx", the software VT-x model.
 */
const char *vmm_backend_pick(const char *cpuinfo, const char *kvm);
/* vmm_backend_pick() on this host's /proc/cpuinfo and /dev/kvm. */
const char *vmm_backend_auto(void);

#endif /* VMM_BACKEND_H */
