/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmm's own platform chips and what joins them: the 8259 pair, 8254,
 * MC146818, PM timer, I/O APIC and HPET of one VM, the ISA interrupt
 * lines between them, and the port, MMIO and MSR exits the vmm answers
 * itself before the device model sees anything (bhyve's vmm_ioport.c and
 * the in-kernel halves of vm_handle_inst_emul).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "io/vatpic.h"
#include "io/vatpit.h"
#include "io/vhpet.h"
#include "io/vioapic.h"
#include "io/vlapic.h"
#include "io/vpmtmr.h"
#include "io/vrtc.h"
#include "vmm_core.h"
#include "vmm_internal.h"
#include "vmm_time.h"

#define IOAPIC_PINS 32	 /* as bhyve: pc-testdev lines reach up to 31 */
#define IOAPIC_SIZE 0x1000
#define HPET_SIZE 0x400
/* HPET timers on I/O APIC pins 24-31: 16-23 belong to PCI INTx links. */
#define HPET_ROUTE_CAP 0xff000000u

/*
 * ISA IRQ n reaches 8259 input n and I/O APIC pin n, except IRQ 0 (the
 * PIT), which the MADT overrides to pin 2 (ACPI 5.2.12.5).
 */
static int
isa_irq_to_pin(int irq)
{
	return irq == 0 ? 2 : irq;
}

int
vmm_isa_irq(struct vm *vm, int atpic_irq, int ioapic_pin, enum vmm_irq_op op)
{
	int error = 0;

	if (atpic_irq >= 0)
		error = vatpic_set_irq(vm->atpic, atpic_irq, op);
	if (error == 0 && ioapic_pin >= 0)
		error = vioapic_set_irq(vm->ioapic, ioapic_pin, op);
	return error;
}

int
vmm_ioapic_irq(struct vm *vm, int pin, enum vmm_irq_op op)
{
	return vioapic_set_irq(vm->ioapic, pin, op);
}

/* The sink the HPET's legacy routes drive. */
static void
isa_sink_set(void *arg, int irq, enum vmm_irq_op op)
{
	(void)vmm_isa_irq(arg, irq, isa_irq_to_pin(irq), op);
}

/*
 * The PIT's and RTC's sink: while the HPET's legacy replacement route is
 * on, IRQ 0 and 8 are the HPET's and the old sources are cut off (HPET
 * spec 1.0a, 2.3.9.2.2).  Deasserts still pass, so an RTC line raised
 * before the switch is lowered.
 */
static void
legacy_sink_set(void *arg, int irq, enum vmm_irq_op op)
{
	struct vm *vm = arg;

	if (op != VMM_IRQ_DEASSERT && vm->hpet != NULL &&
	    vhpet_legacy_replacement(vm->hpet))
		return;
	isa_sink_set(arg, irq, op);
}

/* HPET routes name I/O APIC pins directly. */
static void
ioapic_sink_set(void *arg, int pin, enum vmm_irq_op op)
{
	(void)vmm_ioapic_irq(arg, pin, op);
}

/*
 * The master 8259's INTR output is wired to the BSP's LINT0; the BSP
 * looks at it (through its LVT) before each entry.
 */
static void
atpic_intr_changed(void *arg, bool level)
{
	struct vm *vm = arg;

	if (level && vm->vcpus[0] != NULL)
		vcpu_notify_event(vm->vcpus[0]);
}

static int
ioapic_deliver(void *arg, uint32_t dest, bool logical, int delmode,
    int vector, bool level)
{
	return vmm_lapic_deliver(arg, dest, logical, delmode, vector, level,
	    false);
}

static void
hpet_msi(void *arg, uint64_t addr, uint64_t data)
{
	(void)vmm_lapic_msi(arg, addr, data);
}

int
vmm_platform_init(struct vm *vm)
{
	const struct vmm_irq_sink isa = { .set = isa_sink_set, .arg = vm };
	const struct vmm_irq_sink legacy = { .set = legacy_sink_set, .arg = vm };
	const struct vhpet_ops hpet_ops = {
		.pin = { .set = ioapic_sink_set, .arg = vm },
		.isa = isa,
		.msi = hpet_msi,
		.msi_arg = vm,
		.route_cap = HPET_ROUTE_CAP,
	};

	vm->tb = vmm_timebase_create_real();
	if (vm->tb == NULL)
		return -ENOMEM;
	vm->atpic = vatpic_create(atpic_intr_changed, vm);
	vm->atpit = vatpit_create(vm->tb, &legacy);
	vm->pmtmr = vpmtmr_create(vm->tb);
	vm->ioapic = vioapic_create(IOAPIC_PINS, ioapic_deliver, vm);
	vm->hpet = vhpet_create(vm->tb, &hpet_ops);
	if (vm->atpic == NULL || vm->atpit == NULL || vm->pmtmr == NULL ||
	    vm->ioapic == NULL || vm->hpet == NULL)
		return -ENOMEM;
	return 0;
}

/*
 * The RTC needs the memory layout for its CMOS size bytes.  It starts on
 * host UTC; the device model sets the time the guest should see.
 */
int
vmm_platform_init_memory(struct vm *vm)
{
	const struct vmm_irq_sink legacy = { .set = legacy_sink_set, .arg = vm };

	vm->rtc = vrtc_create(vm->tb, &legacy, time(NULL), false, vm->mem.lowmem,
	    vm->mem.highmem);
	return vm->rtc ? 0 : -ENOMEM;
}

/*
 * Stop the chips whose timers raise interrupts, before the vCPUs those
 * interrupts reach go away.
 */
void
vmm_platform_quiesce(struct vm *vm)
{
	if (vm->rtc)
		vrtc_destroy(vm->rtc);
	if (vm->hpet)
		vhpet_destroy(vm->hpet);
	if (vm->atpit)
		vatpit_destroy(vm->atpit);
	vm->rtc = NULL;
	vm->hpet = NULL;
	vm->atpit = NULL;
}

/* The rest, then the timebase they all used. */
void
vmm_platform_cleanup(struct vm *vm)
{
	vmm_platform_quiesce(vm);
	if (vm->ioapic)
		vioapic_destroy(vm->ioapic);
	if (vm->pmtmr)
		vpmtmr_destroy(vm->pmtmr);
	if (vm->atpic)
		vatpic_destroy(vm->atpic);
	if (vm->tb)
		vmm_timebase_destroy(vm->tb);
}

static void *
atpic_of(struct vm *vm)
{
	return vm->atpic;
}

static void *
atpit_of(struct vm *vm)
{
	return vm->atpit;
}

static void *
rtc_of(struct vm *vm)
{
	return vm->rtc;
}

static void *
pmtmr_of(struct vm *vm)
{
	return vm->pmtmr;
}

/* The ports the vmm answers; 'chip' finds the VM's instance. */
static const struct vmm_port {
	uint16_t base, len;
	vmm_port_fn_t *fn;
	void *(*chip)(struct vm *vm);
} vmm_ports[] = {
	{ 0x20, 2, vatpic_master_handler, atpic_of },
	{ 0x40, 4, vatpit_handler, atpit_of },
	{ 0x61, 1, vatpit_nmisc_handler, atpit_of },
	{ VRTC_PORT, 2, vrtc_handler, rtc_of },
	{ 0xa0, 2, vatpic_slave_handler, atpic_of },
	{ VPMTMR_PORT, 4, vpmtmr_handler, pmtmr_of },
	{ 0x4d0, 2, vatpic_elcr_handler, atpic_of },
};

static const struct vmm_port *
vmm_port_lookup(struct vm *vm, uint16_t port, int bytes, void **chip)
{
	for (size_t i = 0; i < sizeof(vmm_ports) / sizeof(vmm_ports[0]); i++) {
		const struct vmm_port *p = &vmm_ports[i];

		if (port >= p->base && port + bytes <= p->base + p->len) {
			*chip = p->chip(vm);
			return *chip ? p : NULL;
		}
	}
	return NULL;
}

/* One access; a chip that refuses it gets what an idle bus gives. */
static void
vmm_port_access(const struct vmm_port *p, void *chip, bool in, uint16_t port,
    int bytes, uint32_t *val)
{
	if (p->fn(chip, in, port, bytes, val) != 0 && in)
		*val = 0xffffffff;
	if (in && bytes < 4)
		*val &= (1u << (bytes * 8)) - 1;
}

bool
vmm_platform_inout(struct vm_vcpu *vcpu, struct vm_exit *vme)
{
	struct vm_inout *io = &vme->u.inout;
	const struct vmm_port *p;
	void *chip;

	p = vmm_port_lookup(vcpu->vm, io->port, io->bytes, &chip);
	if (p == NULL)
		return false;
	if (vme->exitcode == VM_EXITCODE_INOUT) {
		vmm_port_access(p, chip, io->in, io->port, io->bytes, &io->eax);
		return true;
	}
	for (uint32_t i = 0; i < vme->u.inout_str.count; i++) {
		uint8_t *elem = vme->u.inout_str.data + (size_t)i * io->bytes;
		uint32_t v = 0;

		memcpy(&v, elem, io->bytes);
		vmm_port_access(p, chip, io->in, io->port, io->bytes, &v);
		memcpy(elem, &v, io->bytes);
	}
	return true;
}

/* The vCPU's own local APIC page, in xAPIC mode only (SDM vol. 3, 11.4.1). */
static bool
lapic_page(struct vm_vcpu *vcpu, uint64_t gpa, uint64_t *offset)
{
	uint64_t base;

	if (!vlapic_hw_enabled(vcpu->vlapic) ||
	    vlapic_x2apic_mode(vcpu->vlapic))
		return false;
	base = vlapic_get_apicbase(vcpu->vlapic) & ~0xfffULL;
	if (gpa - base >= 0x1000)
		return false;
	*offset = gpa - base;
	return true;
}

typedef int mmio_fn_t(void *chip, bool write, uint64_t off, int size,
    uint64_t *val);

static int
lapic_mmio(void *chip, bool write, uint64_t off, int size, uint64_t *val)
{
	return write ? vlapic_mmio_write(chip, off, size, *val)
		     : vlapic_mmio_read(chip, off, size, val);
}

static int
ioapic_mmio(void *chip, bool write, uint64_t off, int size, uint64_t *val)
{
	return write ? vioapic_mmio_write(chip, off, size, *val)
		     : vioapic_mmio_read(chip, off, size, val);
}

static int
hpet_mmio(void *chip, bool write, uint64_t off, int size, uint64_t *val)
{
	return write ? vhpet_mmio_write(chip, off, size, *val)
		     : vhpet_mmio_read(chip, off, size, val);
}

bool
vmm_platform_mmio(struct vm_vcpu *vcpu, struct vm_exit *vme)
{
	struct vm_mmio *m = &vme->u.mmio;
	struct vm *vm = vcpu->vm;
	mmio_fn_t *fn;
	void *chip;
	uint64_t off, val = m->data;

	if (lapic_page(vcpu, m->gpa, &off)) {
		fn = lapic_mmio, chip = vcpu->vlapic;
	} else if (m->gpa - VIOAPIC_BASE < IOAPIC_SIZE) {
		fn = ioapic_mmio, chip = vm->ioapic, off = m->gpa - VIOAPIC_BASE;
	} else if (m->gpa - VHPET_BASE < HPET_SIZE) {
		fn = hpet_mmio, chip = vm->hpet, off = m->gpa - VHPET_BASE;
	} else {
		return false;
	}
	/* An access straddling the end of a chip's window reads ones. */
	if (fn(chip, m->write, off, m->bytes, &val) != 0)
		val = ~0ULL;
	if (!m->write)
		m->data = m->bytes == 8 ? val : val & ((1ULL << (m->bytes * 8)) - 1);
	return true;
}

/* The local APIC's MSRs; anything else goes on to the device model. */
bool
vmm_platform_msr(struct vm_vcpu *vcpu, struct vm_exit *vme)
{
	struct vm_msr *msr = &vme->u.msr;
	int error;

	if (!vlapic_owns_msr(msr->code))
		return false;
	if (vme->exitcode == VM_EXITCODE_RDMSR)
		error = vlapic_rdmsr(vcpu->vlapic, msr->code, &msr->val);
	else
		error = vlapic_wrmsr(vcpu->vlapic, msr->code, msr->val);
	msr->error = error != 0;
	return true;
}

/* The entry points libvmmapi offers the device model. */
int
vmm_isa_irq_op(struct vm *vm, int atpic_irq, int ioapic_irq, int op)
{
	if (atpic_irq < -1 || atpic_irq > 15 || ioapic_irq < -1 ||
	    ioapic_irq >= IOAPIC_PINS || op < VMM_IRQ_ASSERT ||
	    op > VMM_IRQ_PULSE)
		return -EINVAL;
	return vmm_isa_irq(vm, atpic_irq, ioapic_irq, (enum vmm_irq_op)op);
}

/* The ELCR bit of an 8259 input, as firmware would program it. */
int
vmm_isa_set_trigger(struct vm *vm, int atpic_irq, bool level)
{
	return vatpic_set_trigger(vm->atpic, atpic_irq, level);
}

int
vmm_ioapic_irq_op(struct vm *vm, int pin, int op)
{
	if (pin < 0 || pin >= IOAPIC_PINS || op < VMM_IRQ_ASSERT ||
	    op > VMM_IRQ_PULSE)
		return -EINVAL;
	return vmm_ioapic_irq(vm, pin, (enum vmm_irq_op)op);
}

int
vmm_msi(struct vm *vm, uint64_t addr, uint64_t msg)
{
	return vmm_lapic_msi(vm, addr, msg);
}

int
vmm_ioapic_pins(struct vm *vm)
{
	return vioapic_pin_count(vm->ioapic);
}

int
vmm_rtc_settime(struct vm *vm, int64_t secs)
{
	return vm->rtc ? vrtc_set_time(vm->rtc, (time_t)secs) : -ENODEV;
}

int64_t
vmm_rtc_gettime(struct vm *vm)
{
	return vm->rtc ? (int64_t)vrtc_get_time(vm->rtc) : -ENODEV;
}
