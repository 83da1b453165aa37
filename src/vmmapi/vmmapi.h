/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmmapi: the one API between the device model (and bhyvectl) and the
 * vmm core.  The names follow FreeBSD's libvmmapi.
 *
 * A struct vmctx is either local (this process created the VM and owns its
 * vmm) or remote (vm_open() connected to a running bhyve's control socket).
 * A remote context supports the calls marked [remote]; the others return
 * -ENOTSUP on it.
 *
 * Errors are negative errno values unless a comment says otherwise.
 */
#ifndef VMMAPI_H
#define VMMAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define VMMAPI_CHECK __attribute__((warn_unused_result))

struct vmctx;
struct vcpu;

/* Backends the vmm can run a VM on. */
#define VMM_BACKEND_KVM "kvm"
#define VMM_BACKEND_VTX "vtx" /* the software VT-x model */
#define VMM_BACKEND_NULL "null" /* no guest execution: for unit tests */

/*
 * What vmm.backend=auto means on this host: "kvm" where hardware
 * virtualization is real (vmx or svm in /proc/cpuinfo and a working
 * /dev/kvm), else "vtx".
 */
const char *vm_backend_auto(void);

/*
 * Create a VM named 'name' on 'backend'.  Returns NULL and sets errno on
 * failure; *why (if not NULL) then names what failed.
 */
struct vmctx *vm_create(const char *name, const char *backend,
    const char **why);
void vm_destroy(struct vmctx *ctx); /* also closes a remote context */

/*
 * Remote contexts (vmmapi_remote.c).  vm_open() connects to the control
 * socket <rundir>/<name> of a running bhyve (rundir NULL: the default)
 * and learns the VM's name, backend, vCPU count and memory size.  Returns
 * NULL and sets errno: ENOENT (no socket: the VM is not running),
 * ECONNREFUSED (a stale socket), EPROTONOSUPPORT (the VM speaks another
 * protocol version), EINVAL (bad name), ENAMETOOLONG, EPROTO, ETIMEDOUT.
 * A remote context serves one thread at a time.
 */
struct vmctx *vm_open(const char *name, const char *rundir);
/*
 * Call cb for each VM in 'rundir' (NULL: the default) whose socket
 * answers, in name order.  Returns how many, or a negative errno.
 */
int vm_list(const char *rundir, void (*cb)(const char *name, void *arg),
    void *arg);
/*
 * The default run directory: /var/run/bhyve for root, else
 * $XDG_RUNTIME_DIR/bhyve, else /tmp/bhyve-<uid>.  0 or -ENAMETOOLONG.
 */
int vm_default_rundir(char *buf, size_t len);

const char *vm_get_name(struct vmctx *ctx);		  /* [remote] */
const char *vm_get_backend(struct vmctx *ctx);		  /* [remote] */
int vm_get_ncpus(struct vmctx *ctx);			  /* [remote] */

/*
 * Topology, before any vCPU is opened.  cpus = sockets * cores * threads
 * must hold; maxcpus >= cpus.
 */
int vm_set_topology(struct vmctx *ctx, int sockets, int cores, int threads,
    int maxcpus) VMMAPI_CHECK;
void vm_get_topology(struct vmctx *ctx, int *sockets, int *cores,
    int *threads, int *maxcpus);

/*
 * Guest RAM: 'len' bytes backed by one memfd, below VM_LOWMEM_LIMIT and
 * the rest from VM_HIGHMEM_BASE up.
 */
int vm_setup_memory(struct vmctx *ctx, size_t len) VMMAPI_CHECK;
uint64_t vm_get_lowmem_size(struct vmctx *ctx);
uint64_t vm_get_highmem_size(struct vmctx *ctx);
uint64_t vm_get_memory_size(struct vmctx *ctx); /* [remote] */
int vm_get_memfd(struct vmctx *ctx);

/*
 * The one gpa -> host translation.  Returns a host pointer to 'len' bytes
 * at 'gpa' when all of them are guest RAM in one segment, else NULL.
 * A guest-supplied address must go through here, never around it.
 */
void *vm_map_gpa(struct vmctx *ctx, uint64_t gpa, size_t len);

/* Parse "512M", "2G", "1024" (MiB if no suffix) as bhyve's -m does. */
int vm_parse_memsize(const char *opt, size_t *memsize) VMMAPI_CHECK;

struct vcpu *vm_vcpu_open(struct vmctx *ctx, int vcpuid); /* [remote] */
void vm_vcpu_close(struct vcpu *vcpu);
int vcpu_id(struct vcpu *vcpu);
struct vmctx *vcpu_ctx(struct vcpu *vcpu);

/*
 * Run the vCPU until something needs the device model.  'vme' is in/out:
 * after handling an exit that reads (IN, MMIO read, RDMSR), store the
 * result in the same struct and pass it back on the next call.
 */
int vm_run(struct vcpu *vcpu, struct vm_exit *vme) VMMAPI_CHECK;

/* Make every vCPU return VM_EXITCODE_SUSPENDED. [remote] */
int vm_suspend(struct vmctx *ctx, enum vm_suspend_how how);
enum vm_suspend_how vm_get_suspend(struct vmctx *ctx);

/*
 * Registers.  Safe from any thread: a running vCPU is briefly taken out
 * of the guest for the access.  [remote]
 */
int vm_get_register(struct vcpu *vcpu, int reg, uint64_t *val) VMMAPI_CHECK;
int vm_set_register(struct vcpu *vcpu, int reg, uint64_t val) VMMAPI_CHECK;
int vm_get_desc(struct vcpu *vcpu, int reg, struct seg_desc *desc)
    VMMAPI_CHECK;
int vm_set_desc(struct vcpu *vcpu, int reg, const struct seg_desc *desc)
    VMMAPI_CHECK;
int vm_get_register_set(struct vcpu *vcpu, unsigned count, const int *regs,
    uint64_t *vals) VMMAPI_CHECK;
int vm_set_register_set(struct vcpu *vcpu, unsigned count, const int *regs,
    const uint64_t *vals) VMMAPI_CHECK;

/* Register names as bhyvectl prints them ("rax", "cs", "gdtr"). */
const char *vm_reg_name(int reg);
int vm_reg_by_name(const char *name); /* -1 if unknown */

/*
 * Interrupt lines into the vmm's 8259 pair and I/O APIC.  An ISA line
 * drives 8259 input 'atpic_irq' and I/O APIC pin 'ioapic_irq' (-1: none).
 * Assert holds the line until deassert; pulse is an edge.
 */
int vm_isa_assert_irq(struct vmctx *ctx, int atpic_irq, int ioapic_irq);
int vm_isa_deassert_irq(struct vmctx *ctx, int atpic_irq, int ioapic_irq);
int vm_isa_pulse_irq(struct vmctx *ctx, int atpic_irq, int ioapic_irq);
/*
 * The 8259's ELCR bit for 'atpic_irq': level (true) or edge, as firmware
 * sets it for PCI and SCI lines.  -EINVAL for IRQs 0, 1, 2, 8 and 13,
 * which are always edge.
 */
int vm_isa_set_irq_trigger(struct vmctx *ctx, int atpic_irq, bool level);
/* I/O APIC pins alone (PCI INTx routed above the ISA range). */
int vm_ioapic_assert_irq(struct vmctx *ctx, int pin);
int vm_ioapic_deassert_irq(struct vmctx *ctx, int pin);
int vm_ioapic_pulse_irq(struct vmctx *ctx, int pin);
int vm_ioapic_pincount(struct vmctx *ctx, int *pincount);
/* A message-signalled interrupt: the address/data pair of MSI or MSI-X. */
int vm_lapic_msi(struct vmctx *ctx, uint64_t addr, uint64_t msg);

/* x86.x2apic: every vCPU's local APIC starts in x2APIC mode.  Before
 * any vCPU is opened (it shapes their CPUID). */
int vm_set_x2apic(struct vmctx *ctx, bool on) VMMAPI_CHECK;

/* The RTC's time as the guest reads it, in seconds since the epoch. */
int vm_rtc_settime(struct vmctx *ctx, int64_t secs);
int vm_rtc_gettime(struct vmctx *ctx, int64_t *secs);

/*
 * ioeventfds (KVM_IOEVENTFD on the kvm backend).  Make a guest write of
 * 'len' bytes (1, 2, 4 or 8) to 'addr' (an I/O port when 'pio', else a
 * guest-physical address outside RAM) signal the eventfd 'fd' without an
 * exit to the device model; with 'datamatch', only a write of the value
 * 'data' (a write of another value, or of another width, exits as
 * before).  'assign' false removes the registration made with the same
 * arguments; remove it before closing 'fd'.  -ENOTSUP where the backend
 * has none (vtx, where an exit costs nothing to save; null; a remote
 * context): the write keeps exiting and the caller keeps handling it
 * there.  -EINVAL for bad arguments; the backend's errors otherwise
 * (-EEXIST: that write is already taken, -ENOENT: nothing to remove).
 */
int vm_ioeventfd(struct vmctx *ctx, uint64_t addr, int len, bool pio,
    bool datamatch, uint64_t data, int fd, bool assign);
/*
 * For unit tests on the null backend: 'hook' sees every vm_ioeventfd()
 * that passed the argument checks, with 'arg', and its return value is
 * the call's (NULL: -ENOTSUP again).  -ENOTSUP on other backends.
 */
typedef int vm_ioeventfd_hook_t(void *arg, uint64_t addr, int len, bool pio,
    bool datamatch, uint64_t data, int fd, bool assign);
int vm_set_ioeventfd_hook(struct vmctx *ctx, vm_ioeventfd_hook_t *hook,
    void *arg);

/* Statistics: fills vals[0..VMST_MAX). [remote] */
int vm_get_stats(struct vcpu *vcpu, uint64_t *vals, int nvals) VMMAPI_CHECK;
const char *vm_stat_name(int stat);

/* The vmm's per-exit-code names, for messages ("INOUT", "MMIO", ...). */
const char *vm_exitcode_name(int exitcode);

#endif /* VMMAPI_H */
