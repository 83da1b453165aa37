/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm core's entry points.  Only libvmmapi includes this header; the
 * device model goes through libvmmapi (vmmapi.h).
 */
#ifndef VMM_CORE_H
#define VMM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"
#include "vmm_ops.h" /* vmm_ioeventfd_hook_t */

struct vm;
struct vm_vcpu;

struct vm *vmm_vm_create(const char *name, const char *backend,
    const char **why);
void vmm_vm_destroy(struct vm *vm);
const char *vmm_vm_name(struct vm *vm);
const char *vmm_vm_backend(struct vm *vm);

int vmm_set_topology(struct vm *vm, int sockets, int cores, int threads,
    int maxcpus);
void vmm_get_topology(struct vm *vm, int *sockets, int *cores, int *threads,
    int *maxcpus);

int vmm_set_x2apic(struct vm *vm, bool on);

int vmm_setup_memory(struct vm *vm, size_t len);
uint64_t vmm_lowmem_size(struct vm *vm);
uint64_t vmm_highmem_size(struct vm *vm);
int vmm_memfd(struct vm *vm);
void *vmm_map_gpa(struct vm *vm, uint64_t gpa, size_t len);

struct vm_vcpu *vmm_vcpu_get(struct vm *vm, int vcpuid);
int vmm_vcpu_id(struct vm_vcpu *vcpu);
int vmm_vcpu_run(struct vm_vcpu *vcpu, struct vm_exit *vme);

int vmm_suspend(struct vm *vm, enum vm_suspend_how how);
enum vm_suspend_how vmm_get_suspend(struct vm *vm);

int vmm_get_register(struct vm_vcpu *vcpu, int reg, uint64_t *val);
int vmm_set_register(struct vm_vcpu *vcpu, int reg, uint64_t val);
int vmm_get_desc(struct vm_vcpu *vcpu, int reg, struct seg_desc *desc);
int vmm_set_desc(struct vm_vcpu *vcpu, int reg, const struct seg_desc *desc);

int vmm_isa_irq_op(struct vm *vm, int atpic_irq, int ioapic_irq, int op);
int vmm_isa_set_trigger(struct vm *vm, int atpic_irq, bool level);
int vmm_ioapic_irq_op(struct vm *vm, int pin, int op);
int vmm_msi(struct vm *vm, uint64_t addr, uint64_t msg);
int vmm_ioapic_pins(struct vm *vm);
int vmm_rtc_settime(struct vm *vm, int64_t secs);
int64_t vmm_rtc_gettime(struct vm *vm);

/* vmm_ioeventfd.c: guest writes that signal an eventfd without an exit. */
int vmm_ioeventfd(struct vm *vm, uint64_t addr, int len, bool pio,
    bool datamatch, uint64_t data, int fd, bool assign);
int vmm_set_ioeventfd_hook(struct vm *vm, vmm_ioeventfd_hook_t *hook,
    void *arg);

void vmm_get_stats(struct vm_vcpu *vcpu, uint64_t *vals, int nvals);
const char *vmm_stat_name(int stat);
const char *vmm_exitcode_name(int exitcode);

#endif /* VMM_CORE_H */
