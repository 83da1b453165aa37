/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The benchmark guests' virtio driver: see guest_vio.h.
 */
#include "apic.h"
#include "chips.h"
#include "guest_vio.h"

#define VIO_CAP_MSIX		0x11

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define VIO_C_DFSELECT		0x00
#define VIO_C_DF		0x04
#define VIO_C_GFSELECT		0x08
#define VIO_C_GF		0x0c
#define VIO_C_MSIX_CONFIG	0x10
#define VIO_C_STATUS		0x14
#define VIO_C_QSEL		0x16
#define VIO_C_QSIZE		0x18
#define VIO_C_QMSIX		0x1a
#define VIO_C_QENABLE		0x1c
#define VIO_C_QNOTIFYOFF	0x1e
#define VIO_C_QDESC		0x20
#define VIO_C_QDRIVER		0x28
#define VIO_C_QDEVICE		0x30

/* MSI-X capability and table (PCI Local Bus 3.0, 6.8.2). */
#define VIO_MSIX_CTRL		2
#define VIO_MSIX_TABLE		4
#define VIO_MSIX_ENABLE		0x8000
#define VIO_MSIX_FMASK		0x4000
#define VIO_MSI_ADDR		0xfee00000u


volatile uint64_t vio_irqs[VIO_MAX_QUEUES];
volatile uint64_t vio_ticks;

void vio_stub_q0(void);
void vio_stub_q1(void);
void vio_stub_tick(void);

/*
 * The stubs: count, EOI, return.  IF is set only inside vio_halt(), and
 * iretq restores the flags incq changed; RAX is saved around the EOI
 * (the xAPIC page does not sign-extend as an immediate).
 */
#define VIO_STUB(name, counter)						\
	".balign 16\n"							\
	".globl " name "\n"						\
	name ":\n"							\
	"	incq " counter "(%rip)\n"				\
	"	pushq %rax\n"						\
	"	movl $0xfee00000, %eax\n"				\
	"	movl $0, 0xb0(%rax)\n"					\
	"	popq %rax\n"						\
	"	iretq\n"
__asm__(".text\n"
	VIO_STUB("vio_stub_q0", "vio_irqs")
	VIO_STUB("vio_stub_q1", "vio_irqs+8")
	VIO_STUB("vio_stub_tick", "vio_ticks"));

/* ---- Configuration mechanism #1, bus 0 ---- */

static void
vio_take_msix_cap(struct vio_dev *d, int off)
{
	uint32_t t = vpci_cfg_read32(d->v.slot, off + VIO_MSIX_TABLE);

	d->msix_cap = off;
	d->msix_count = (uint16_t)((vpci_cfg_read16(d->v.slot, off +
	    VIO_MSIX_CTRL) & 0x7ff) + 1);
	d->msix_table = vpci_bar(d->v.slot, (int)(t & 7)) + (t & ~7u);
}

bool
vio_probe(struct vio_dev *d, int slot)
{
	int msix;

	memset(d, 0, sizeof(*d));
	if (!vpci_probe(&d->v, slot) || !d->v.isr || !d->v.device)
		return false;
	if ((msix = vpci_find_cap(slot, VIO_CAP_MSIX)) != 0)
		vio_take_msix_cap(d, msix);
	return true;
}

void
vio_reset(struct vio_dev *d)
{
	mmio_write8(d->v.common + VIO_C_STATUS, 0);
	/* 4.1.4.3.2: the reset is done when status reads 0. */
	for (int i = 0; i < 1000 && mmio_read8(d->v.common + VIO_C_STATUS);
	    i++)
		;
}

bool
vio_negotiate(struct vio_dev *d, uint64_t want)
{
	uint64_t c = d->v.common, have;

	vio_reset(d);
	mmio_write8(c + VIO_C_STATUS, VIO_S_ACK);
	mmio_write8(c + VIO_C_STATUS, VIO_S_ACK | VIO_S_DRIVER);
	mmio_write32(c + VIO_C_DFSELECT, 0);
	have = mmio_read32(c + VIO_C_DF);
	mmio_write32(c + VIO_C_DFSELECT, 1);
	have |= (uint64_t)mmio_read32(c + VIO_C_DF) << 32;
	if (!CHECK_EQ(have & want, want))
		return false;
	mmio_write32(c + VIO_C_GFSELECT, 0);
	mmio_write32(c + VIO_C_GF, (uint32_t)want);
	mmio_write32(c + VIO_C_GFSELECT, 1);
	mmio_write32(c + VIO_C_GF, (uint32_t)(want >> 32));
	mmio_write8(c + VIO_C_STATUS, VIO_S_ACK | VIO_S_DRIVER |
	    VIO_S_FEATURES_OK);
	return CHECK(mmio_read8(c + VIO_C_STATUS) & VIO_S_FEATURES_OK);
}

bool
vio_msix_setup(struct vio_dev *d, int nvec)
{
	uint16_t ctrl;

	if (!CHECK(d->msix_cap != 0) || !CHECK(d->msix_count >= nvec) ||
	    !CHECK(nvec <= VIO_MAX_QUEUES))
		return false;
	ctrl = vpci_cfg_read16(d->v.slot, d->msix_cap + VIO_MSIX_CTRL);
	vpci_cfg_write16(d->v.slot, d->msix_cap + VIO_MSIX_CTRL,
	    (uint16_t)((ctrl | VIO_MSIX_ENABLE) & ~VIO_MSIX_FMASK));
	for (int i = 0; i < nvec; i++) {
		uint64_t e = d->msix_table + 16 * (uint64_t)i;

		mmio_write32(e, VIO_MSI_ADDR | lapic_id() << 12);
		mmio_write32(e + 4, 0);
		mmio_write32(e + 8, (uint32_t)(VIO_VEC_QUEUE + i));
		mmio_write32(e + 12, 0);	/* unmasked */
	}
	mmio_write16(d->v.common + VIO_C_MSIX_CONFIG, VIO_NO_VECTOR);
	return true;
}

bool
vio_queue_setup(struct vio_dev *d, struct vio_ring *r, uint16_t q,
    uint16_t size)
{
	uint64_t c = d->v.common;

	memset(r, 0, sizeof(*r));
	mmio_write16(c + VIO_C_QSEL, q);
	if (!CHECK(mmio_read16(c + VIO_C_QSIZE) >= size))
		return false;
	r->size = size;
	mmio_write16(c + VIO_C_QSIZE, size);
	vpci_write64(c + VIO_C_QDESC, (uint64_t)r->desc);
	vpci_write64(c + VIO_C_QDRIVER, (uint64_t)&r->avail);
	vpci_write64(c + VIO_C_QDEVICE, (uint64_t)&r->used);
	/* 4.1.5.1.2: the device answers NO_VECTOR if it cannot map it. */
	mmio_write16(c + VIO_C_QMSIX, q);
	if (!CHECK_EQ(mmio_read16(c + VIO_C_QMSIX), q))
		return false;
	r->notify = d->v.notify +
	    (uint64_t)mmio_read16(c + VIO_C_QNOTIFYOFF) * d->v.notify_mult;
	mmio_write16(c + VIO_C_QENABLE, 1);
	return CHECK_EQ(mmio_read16(c + VIO_C_QENABLE), 1);
}

bool
vio_driver_ok(struct vio_dev *d)
{
	mmio_write8(d->v.common + VIO_C_STATUS, VIO_S_ACK | VIO_S_DRIVER |
	    VIO_S_FEATURES_OK | VIO_S_DRIVER_OK);
	return CHECK_EQ(mmio_read8(d->v.common + VIO_C_STATUS), 0x0f);
}

uint16_t
vio_devcfg_read16(const struct vio_dev *d, uint32_t off)
{
	return mmio_read16(d->v.device + off);
}

uint32_t
vio_devcfg_read32(const struct vio_dev *d, uint32_t off)
{
	return mmio_read32(d->v.device + off);
}

/* ---- Interrupts ---- */

void
vio_irq_init(const char *args)
{
	lapic_init(args);
	lapic_enable();
	irq_set_gate(VIO_VEC_QUEUE, vio_stub_q0);
	irq_set_gate(VIO_VEC_QUEUE + 1, vio_stub_q1);
	irq_set_gate(VIO_VEC_TICK, vio_stub_tick);
}

void
vio_watchdog(uint32_t ms)
{
	uint64_t count = lapic_timer_hz * ms / 1000;

	if (ms == 0) {
		lapic_timer_stop();
		return;
	}
	lapic_timer_start(VIO_VEC_TICK, LAPIC_TIMER_PERIODIC,
	    count > 0xffffffffULL ? 0xffffffffu : (uint32_t)count, 1);
}

/* ---- Clocks ---- */

/* The TSC through the kit (tsc.c); the HPET kept for cross-checks. */
void
vio_tsc_calibrate(struct vio_clock *c, const char *args)
{
	c->hpet_hz = 0;
	c->tsc_hz = tsc_calibrate(args, &c->source);
	if (tsc_hpet_usable()) {
		hpet_config(true, false);
		c->hpet_hz = hpet_hz();
	}
}

uint64_t
vio_ticks_to_us(const struct vio_clock *c, uint64_t ticks)
{
	if (c->tsc_hz < 1000000)
		return 0;
	return ticks * 1000 / (c->tsc_hz / 1000);
}

void
vio_stamp(const struct vio_clock *c, struct vio_stamp *s)
{
	s->tsc = rdtsc();
	s->hpet = c->hpet_hz ? hpet_counter() : 0;
}

uint64_t
vio_elapsed_us(const struct vio_clock *c, const struct vio_stamp *a,
    const struct vio_stamp *b, uint64_t *hpet_us)
{
	*hpet_us = c->hpet_hz ? (b->hpet - a->hpet) * 1000000 / c->hpet_hz :
	    0;
	return vio_ticks_to_us(c, b->tsc - a->tsc);
}

uint64_t
vio_milli(uint64_t v, uint64_t d)
{
	return d == 0 ? 0 : v * 1000 / d;
}

const char *
vio_fmt_milli(uint64_t m)
{
	static char buf[4][32];
	static int next;
	char *b = buf[next++ & 3], tmp[24];
	int n = 0, i = 0;
	uint64_t whole = m / 1000;

	do {
		tmp[n++] = (char)('0' + whole % 10);
		whole /= 10;
	} while (whole != 0 && n < 20);
	while (n > 0)
		b[i++] = tmp[--n];
	b[i++] = '.';
	b[i++] = (char)('0' + m / 100 % 10);
	b[i++] = (char)('0' + m / 10 % 10);
	b[i++] = (char)('0' + m % 10);
	b[i] = '\0';
	return b;
}

uint64_t
vio_arg(const char *args, const char *key, uint64_t def, uint64_t lo,
    uint64_t hi)
{
	uint64_t v;

	if (!cmdline_get_u64(args, key, &v))
		return def;
	return v < lo ? lo : v > hi ? hi : v;
}
