/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The local APICs of a VM as a system: each vCPU's vlapic, the messages
 * between them (IPIs, I/O APIC and MSI interrupts, delivered by
 * destination as the APIC bus would), and INIT/SIPI start-up of the
 * application processors (bhyve's vmm_lapic.c and the vlapic ICR paths).
 */
#include <errno.h>
#include <string.h>

#include "io/vioapic.h"
#include "io/vlapic.h"
#include "vmm_internal.h"

/* MSI address and data layout (SDM vol. 3, 11.11.1 and 11.11.2). */
#define MSI_ADDR_BASE_MASK 0xfff00000ULL
#define MSI_ADDR_BASE 0xfee00000ULL
#define MSI_ADDR_DEST(a) (((a) >> 12) & 0xff)
#define MSI_ADDR_LOGICAL (1ULL << 2)
#define MSI_DATA_VECTOR(d) ((int)((d) & 0xff))
#define MSI_DATA_DELMODE(d) ((int)(((d) >> 8) & 7))
#define MSI_DATA_LEVEL_TRIGGER (1ULL << 15)

static void
lapic_notify(void *arg)
{
	vcpu_notify_event(arg);
}

static void
lapic_eoi_broadcast(void *arg, int vector)
{
	struct vm_vcpu *vcpu = arg;

	vioapic_process_eoi(vcpu->vm->ioapic, vector);
}

static uint64_t
lapic_guest_tsc(void *arg)
{
	struct vm_vcpu *vcpu = arg;

	return vcpu->vm->ops->guest_tsc(vcpu->bvcpu);
}

static bool
vcpu_active(struct vm_vcpu *vcpu)
{
	bool active;

	pthread_mutex_lock(&vcpu->vm->lock);
	active = (vcpu->vm->active_cpus & (1ULL << vcpu->id)) != 0;
	pthread_mutex_unlock(&vcpu->vm->lock);
	return active;
}

/*
 * An INIT.  A running vCPU's own thread resets it before its next entry;
 * an AP that has no thread yet is reset here, and waits for a SIPI.
 */
static void
lapic_post_init(struct vm_vcpu *vcpu)
{
	if (vcpu_active(vcpu)) {
		atomic_store(&vcpu->init_pending, true);
		vcpu_notify_event(vcpu);
		return;
	}
	vlapic_reset(vcpu->vlapic);
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->boot_state = VCPU_BOOT_WAIT_SIPI;
	pthread_mutex_unlock(&vcpu->mtx);
}

/*
 * A start-up IPI, honoured only in wait-for-SIPI (SDM vol. 3, 9.4.4).
 * An AP that has never run is started by the device model, which the
 * sender's vm_run() tells (VM_EXITCODE_SPINUP_AP, as in bhyve); the AP
 * then enters at the vector on its first vm_run().  A running one that
 * an INIT put back in wait-for-SIPI starts itself.
 */
static void
lapic_post_sipi(struct vm_vcpu *src, struct vm_vcpu *dst, int vector)
{
	bool waiting;

	pthread_mutex_lock(&dst->mtx);
	waiting = dst->boot_state == VCPU_BOOT_WAIT_SIPI;
	if (waiting)
		atomic_store(&dst->sipi_vector, vector);
	pthread_mutex_unlock(&dst->mtx);
	if (!waiting)
		return;
	if (vcpu_active(dst))
		vcpu_notify_event(dst);
	else
		atomic_fetch_or(&src->spinup_pending, 1ULL << dst->id);
}

static struct vm_vcpu *
vcpu_of(struct vm *vm, int i)
{
	struct vm_vcpu *v;

	pthread_mutex_lock(&vm->lock);
	v = vm->vcpus[i];
	pthread_mutex_unlock(&vm->lock);
	return v;
}

/* Lowest priority: the matching APIC with the lowest APR takes it. */
static struct vm_vcpu *
lowest_priority(struct vm *vm, const struct vlapic_ipi *ipi)
{
	struct vm_vcpu *best = NULL;
	int best_prio = 256;

	for (int i = 0; i < VM_MAXCPU; i++) {
		struct vm_vcpu *v = vcpu_of(vm, i);
		int prio;

		if (v == NULL || !vlapic_ipi_match(v->vlapic, ipi))
			continue;
		prio = vlapic_priority(v->vlapic);
		if (prio < best_prio) {
			best = v;
			best_prio = prio;
		}
	}
	return best;
}

static void
deliver_one(struct vm_vcpu *src, struct vm_vcpu *dst,
    const struct vlapic_ipi *ipi)
{
	switch (ipi->delmode) {
	case VLAPIC_DM_FIXED:
	case VLAPIC_DM_LOWPRI:
		(void)vlapic_set_intr_ready(dst->vlapic, ipi->vector,
		    ipi->level_trigger);
		break;
	case VLAPIC_DM_NMI:
		atomic_fetch_add(&dst->nmi_pending, 1);
		vcpu_notify_event(dst);
		break;
	case VLAPIC_DM_INIT:
		lapic_post_init(dst);
		break;
	case VLAPIC_DM_STARTUP:
		if (src != NULL)
			lapic_post_sipi(src, dst, ipi->vector);
		break;
	}
}

/*
 * Route one message to every APIC it addresses.  'src' is the sending
 * vCPU for IPIs, NULL for I/O APIC and MSI messages.
 */
static int
route(struct vm *vm, struct vm_vcpu *src, const struct vlapic_ipi *ipi)
{
	int n = 0;

	if (ipi->delmode == VLAPIC_DM_LOWPRI) {
		struct vm_vcpu *v = lowest_priority(vm, ipi);

		if (v == NULL)
			return -ENOENT;
		deliver_one(src, v, ipi);
		return 0;
	}
	for (int i = 0; i < VM_MAXCPU; i++) {
		struct vm_vcpu *v = vcpu_of(vm, i);

		if (v != NULL && vlapic_ipi_match(v->vlapic, ipi)) {
			deliver_one(src, v, ipi);
			n++;
		}
	}
	return n ? 0 : -ENOENT;
}

static void
lapic_ipi(void *arg, const struct vlapic_ipi *ipi)
{
	struct vm_vcpu *src = arg;

	(void)route(src->vm, src, ipi);
}

/*
 * An interrupt message from the I/O APIC or an MSI.  ExtINT and the
 * start-up modes make no sense here and are dropped; SMI is not modelled.
 */
int
vmm_lapic_deliver(struct vm *vm, uint32_t dest, bool logical, int delmode,
    int vector, bool level, bool x2apic_dest)
{
	struct vlapic_ipi ipi = {
		.vector = vector,
		.delmode = delmode,
		.level_trigger = level,
		.shorthand = VLAPIC_SH_NONE,
		.dest_logical = logical,
		.dest = dest,
		.x2apic = x2apic_dest,
	};

	if (delmode != VLAPIC_DM_FIXED && delmode != VLAPIC_DM_LOWPRI &&
	    delmode != VLAPIC_DM_NMI && delmode != VLAPIC_DM_INIT)
		return -EINVAL;
	return route(vm, NULL, &ipi);
}

int
vmm_lapic_msi(struct vm *vm, uint64_t addr, uint64_t msg)
{
	if ((addr & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE)
		return -EINVAL; /* not an interrupt message: dropped */
	return vmm_lapic_deliver(vm, (uint32_t)MSI_ADDR_DEST(addr),
	    (addr & MSI_ADDR_LOGICAL) != 0, MSI_DATA_DELMODE(msg),
	    MSI_DATA_VECTOR(msg), (msg & MSI_DATA_LEVEL_TRIGGER) != 0, false);
}

/*
 * x86.x2apic: the APIC starts in x2APIC mode (enabled and EXTD set, a
 * legal step from xAPIC mode, SDM vol. 3, 11.12.5).
 */
static int
vmm_lapic_start_x2apic(struct vm_vcpu *vcpu)
{
	uint64_t base = vlapic_get_apicbase(vcpu->vlapic);

	return vlapic_set_apicbase(vcpu->vlapic, base | (3ULL << 10));
}

int
vmm_lapic_vcpu_init(struct vm_vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	const struct vlapic_ops ops = {
		.notify = lapic_notify,
		.ipi = lapic_ipi,
		.eoi_broadcast = lapic_eoi_broadcast,
		.guest_tsc = lapic_guest_tsc,
		.tsc_hz = vm->ops->tsc_hz(vcpu->bvcpu),
		.x2apic = vm->x2apic,
		.arg = vcpu,
	};

	vcpu->vlapic = vlapic_create(vcpu->id, vcpu->apic_id, vcpu->id == 0,
	    vm->tb, &ops);
	if (vcpu->vlapic == NULL)
		return -ENOMEM;
	atomic_store(&vcpu->sipi_vector, -1);
	return vm->x2apic ? vmm_lapic_start_x2apic(vcpu) : 0;
}

void
vmm_lapic_vcpu_cleanup(struct vm_vcpu *vcpu)
{
	if (vcpu->vlapic)
		vlapic_destroy(vcpu->vlapic);
}
