/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the I/O APIC and the HPET, wired as the vmm wires
 * them (HPET pins and legacy IRQs into the I/O APIC) on a manual clock,
 * driven by a script of 8-byte steps:
 *
 *	op sel size x v0 v1 v2 v3	(v: a little-endian 32-bit value)
 *	op % 8: 0 I/O APIC write, 1 I/O APIC read, 2 HPET write,
 *		3 HPET read, 4 advance time, 5 I/O APIC input line,
 *		6 EOI broadcast, 7 EOI of the last level message sent
 *
 * Besides the sanitizers, it checks what the chips promise: only valid
 * messages leave the I/O APIC, the HPET drives only the lines it may and
 * never deasserts a line it did not assert.  Virtual time per input is
 * capped, so an input cannot make a run slow with 10 kHz timers.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/vhpet.h"
#include "io/vioapic.h"

#define FUZZ_MAX_NS (1 * NS_PER_SEC)
#define STEP 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rig {
	struct vmm_timebase *tb;
	struct vioapic *ioapic;
	struct vhpet *hpet;
	uint64_t spent_ns;
	int net[2][32];	   /* HPET asserts minus deasserts: pins, ISA */
	int last_level_vector;
	unsigned msgs;
};

/* A broken promise: stop here, with the input saved as a crash. */
static void
rig_check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static int
rig_deliver(void *arg, uint32_t dest, bool logical, int delmode, int vector,
    bool level)
{
	struct rig *r = arg;
	bool fixed = delmode == VIOAPIC_DM_FIXED ||
	    delmode == VIOAPIC_DM_LOWPRI;

	rig_check(dest <= 0xff);
	rig_check(fixed || delmode == VIOAPIC_DM_NMI ||
	    delmode == VIOAPIC_DM_EXTINT);
	rig_check(!fixed || (vector >= 16 && vector <= 255));
	rig_check(fixed || !level);
	if (level)
		r->last_level_vector = vector;
	return (r->msgs++ % 3 == 0) ? -1 : 0;
}

static void
rig_line(struct rig *r, int sink, int irq, enum vmm_irq_op op)
{
	rig_check(irq >= 0 && irq < 32);
	if (op == VMM_IRQ_ASSERT)
		r->net[sink][irq]++;
	else if (op == VMM_IRQ_DEASSERT)
		r->net[sink][irq]--;
	rig_check(r->net[sink][irq] >= 0 &&
	    r->net[sink][irq] <= VHPET_NUM_TIMERS);
}

static void
rig_pin(void *arg, int pin, enum vmm_irq_op op)
{
	struct rig *r = arg;

	rig_line(r, 0, pin, op);
	rig_check(VHPET_ROUTE_CAP_DEFAULT & (1u << pin));
	rig_check(vioapic_set_irq(r->ioapic, pin, op) == 0);
}

/* ISA IRQ 0 is I/O APIC pin 2 (the MADT's override), the rest 1:1. */
static void
rig_isa(void *arg, int irq, enum vmm_irq_op op)
{
	struct rig *r = arg;

	rig_check(irq == 0 || irq == 8);
	rig_line(r, 1, irq, op);
	rig_check(vioapic_set_irq(r->ioapic, irq == 0 ? 2 : irq, op) == 0);
}

static void
rig_msi(void *arg, uint64_t addr, uint64_t msg)
{
	rig_check(addr <= UINT32_MAX && msg <= UINT32_MAX);
}

static const int rig_sizes[] = { 4, 4, 4, 8, 1, 2 };

static const uint16_t rig_hpet_regs[] = { 0x000, 0x004, 0x010, 0x014,
	0x020, 0x0f0, 0x0f4, 0x100, 0x104, 0x108, 0x10c, 0x110, 0x114,
	0x120, 0x128, 0x12c, 0x130, 0x140, 0x148, 0x150, 0x3fc };

static uint64_t
rig_offset_ioapic(uint8_t sel, uint8_t x)
{
	static const uint16_t regs[] = { VIOAPIC_IOREGSEL, VIOAPIC_IOWIN,
		VIOAPIC_EOIR };

	return sel < 240 ? regs[sel % 3] : (uint64_t)(x << 4 | (sel & 15));
}

static uint64_t
rig_offset_hpet(uint8_t sel, uint8_t x)
{
	if (sel < 224)
		return rig_hpet_regs[sel % (sizeof(rig_hpet_regs) / 2)];
	return ((uint64_t)x << 2 | (sel & 3)) % VHPET_MMIO_SIZE;
}

static void
rig_advance(struct rig *r, uint32_t v, uint8_t shift)
{
	uint64_t ns = (uint64_t)v >> (shift % 24);

	if (ns > FUZZ_MAX_NS - r->spent_ns)
		ns = FUZZ_MAX_NS - r->spent_ns;
	r->spent_ns += ns;
	vmm_timebase_advance(r->tb, ns);
}

static void
rig_step(struct rig *r, const uint8_t *s)
{
	uint32_t v = (uint32_t)s[4] | (uint32_t)s[5] << 8 |
	    (uint32_t)s[6] << 16 | (uint32_t)s[7] << 24;
	uint64_t v64 = (uint64_t)v << (s[3] & 32) | (s[3] & 1 ? v : 0);
	int sz = rig_sizes[s[2] % 6];
	uint64_t out;
	int ret = 0;

	switch (s[0] % 8) {
	case 0:
		ret = vioapic_mmio_write(r->ioapic,
		    rig_offset_ioapic(s[1], s[3]), sz, v);
		break;
	case 1:
		ret = vioapic_mmio_read(r->ioapic,
		    rig_offset_ioapic(s[1], s[3]), sz, &out);
		break;
	case 2:
		ret = vhpet_mmio_write(r->hpet, rig_offset_hpet(s[1], s[3]),
		    sz, v64);
		break;
	case 3:
		ret = vhpet_mmio_read(r->hpet, rig_offset_hpet(s[1], s[3]),
		    sz, &out);
		break;
	case 4:
		rig_advance(r, v, s[1]);
		break;
	case 5:
		(void)vioapic_set_irq(r->ioapic, s[1] % 34 - 1,
		    (enum vmm_irq_op)(s[2] % 4));
		break;
	case 6:
		vioapic_process_eoi(r->ioapic, (int)(v % 258) - 1);
		break;
	default:
		vioapic_process_eoi(r->ioapic, r->last_level_vector);
		break;
	}
	/* Only an access that leaves the register block is refused. */
	rig_check(ret == 0 || ret == -EINVAL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rig r;
	struct vhpet_ops ops = {
		.pin = { .set = rig_pin, .arg = &r },
		.isa = { .set = rig_isa, .arg = &r },
		.msi = rig_msi,
		.msi_arg = &r,
		.route_cap = VHPET_ROUTE_CAP_DEFAULT,
	};

	memset(&r, 0, sizeof(r));
	r.tb = vmm_timebase_create_manual(12345);
	if (r.tb == NULL)
		return 0;
	r.ioapic = vioapic_create(size > 0 && (data[0] & 0x80) ? 32 : 24,
	    rig_deliver, &r);
	r.hpet = vhpet_create(r.tb, &ops);
	if (r.ioapic != NULL && r.hpet != NULL)
		for (size_t i = 0; i + STEP <= size; i += STEP)
			rig_step(&r, data + i);
	/* The HPET goes first: its callouts drive the I/O APIC. */
	vhpet_destroy(r.hpet);
	vioapic_destroy(r.ioapic);
	vmm_timebase_destroy(r.tb);
	return 0;
}
