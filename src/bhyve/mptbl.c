/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MP table (Intel MultiProcessor Specification 1.4, chapter 4), as
 * bhyve's mptbl.c provides it for guests that predate ACPI's MADT: a
 * floating pointer structure and a configuration table with processor,
 * bus, I/O APIC, I/O interrupt and local interrupt entries, built from
 * the same platform description as the ACPI tables (acpi.h).
 *
 * Bus 0 is PCI (when there is PCI) and the ISA bus comes after it.  The
 * I/O interrupt entries are the MADT's view in MP terms: ISA IRQ n on
 * pin n, IRQ 0 on pin 2, the 8259's ExtINT on pin 0, the SCI level
 * triggered, and each routed PCI INTx on its GSI.  An MP table can only
 * name APIC IDs below 255; vCPUs with larger IDs are left out.
 */
#include <errno.h>
#include <string.h>

#include "acpi.h"

#define MP_FPS_LEN 16
#define MP_HDR_LEN 44
#define MP_SPEC_REV 4 /* 1.4 */

/* 4.3, table 4-3: entry types and lengths. */
#define MPE_PROC 0
#define MPE_BUS 1
#define MPE_IOAPIC 2
#define MPE_IOINT 3
#define MPE_LINT 4
#define MPE_PROC_LEN 20
#define MPE_SHORT_LEN 8

#define MP_PROC_EN 0x01
#define MP_PROC_BP 0x02
#define MP_LAPIC_VERSION 0x14
/* Family 6, no model: the signature and FPU|APIC feature flags. */
#define MP_CPU_SIGNATURE 0x600
#define MP_CPU_FEATURES 0x201

/* 4.3.4, table 4-10: interrupt types; polarity bits 1:0, trigger 3:2. */
#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3
#define MP_FLAGS_CONFORM 0x0
#define MP_FLAGS_HIGH_LEVEL 0x0d
#define MP_FLAGS_LOW_LEVEL 0x0f

struct mp_writer {
	uint8_t *p;
	size_t len;
	size_t cap;
	int count; /* entries in the configuration table */
	bool overflow;
};

static void
mp_put(struct mp_writer *w, uint64_t v, int n)
{
	if (w->overflow || (size_t)n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	for (int i = 0; i < n; i++)
		w->p[w->len++] = (uint8_t)(v >> (8 * i));
}

static void
mp_text(struct mp_writer *w, const char *s, size_t width)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < width; i++)
		mp_put(w, i < n ? (uint8_t)s[i] : ' ', 1);
}

static uint8_t
mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/* 4.3.1: the bootstrap processor is vCPU 0. */
static void
mp_procs(struct mp_writer *w, const struct acpi_platform *p)
{
	for (int i = 0; i < p->ncpus; i++) {
		if (p->apic_id[i] >= 255)
			continue;
		mp_put(w, MPE_PROC, 1);
		mp_put(w, p->apic_id[i], 1);
		mp_put(w, MP_LAPIC_VERSION, 1);
		mp_put(w, MP_PROC_EN | (i == 0 ? MP_PROC_BP : 0), 1);
		mp_put(w, MP_CPU_SIGNATURE, 4);
		mp_put(w, MP_CPU_FEATURES, 4);
		mp_put(w, 0, 8);
		w->count++;
	}
}

/* 4.3.2: bus type strings from table 4-8. */
static void
mp_bus(struct mp_writer *w, uint8_t id, const char *type)
{
	mp_put(w, MPE_BUS, 1);
	mp_put(w, id, 1);
	mp_text(w, type, 6);
	w->count++;
}

static void
mp_ioapic(struct mp_writer *w, const struct acpi_platform *p)
{
	mp_put(w, MPE_IOAPIC, 1);
	mp_put(w, p->ioapic.id, 1);
	mp_put(w, p->ioapic.version, 1);
	mp_put(w, 0x01, 1); /* usable */
	mp_put(w, p->ioapic.addr, 4);
	w->count++;
}

/* 4.3.4 and 4.3.5 share one layout. */
static void
mp_intr(struct mp_writer *w, uint8_t entry, uint8_t type, uint16_t flags,
    uint8_t bus, uint8_t irq, uint8_t dest, uint8_t pin)
{
	mp_put(w, entry, 1);
	mp_put(w, type, 1);
	mp_put(w, flags, 2);
	mp_put(w, bus, 1);
	mp_put(w, irq, 1);
	mp_put(w, dest, 1);
	mp_put(w, pin, 1);
	w->count++;
}

static void
mp_isa_ints(struct mp_writer *w, const struct acpi_platform *p, uint8_t isa)
{
	uint8_t id = p->ioapic.id;

	mp_intr(w, MPE_IOINT, MP_EXTINT, MP_FLAGS_CONFORM, isa, 0, id, 0);
	for (int irq = 0; irq < 16; irq++) {
		uint16_t flags = irq == ACPI_SCI_IRQ ? MP_FLAGS_HIGH_LEVEL :
						       MP_FLAGS_CONFORM;

		if (irq == 2) /* the cascade: no ISA device has it */
			continue;
		mp_intr(w, MPE_IOINT, MP_INT, flags, isa, (uint8_t)irq, id,
		    (uint8_t)(irq == 0 ? 2 : irq));
	}
}

/* D.3: a PCI source IRQ is the device number << 2 | INTx (0 = INTA#). */
static void
mp_pci_ints(struct mp_writer *w, const struct acpi_platform *p)
{
	for (int i = 0; i < p->pci.nprt; i++) {
		const struct acpi_prt *r = &p->pci.prt[i];

		if (r->gsi < p->ioapic.gsi_base ||
		    r->gsi - p->ioapic.gsi_base >= (uint32_t)p->ioapic.pins)
			continue;
		mp_intr(w, MPE_IOINT, MP_INT, MP_FLAGS_LOW_LEVEL, 0,
		    (uint8_t)((r->slot & 0x1f) << 2 | (r->pin & 3)),
		    p->ioapic.id, (uint8_t)(r->gsi - p->ioapic.gsi_base));
	}
}

/* 5.1: the virtual-wire LINT0 ExtINT and LINT1 NMI on every APIC. */
static void
mp_local_ints(struct mp_writer *w, uint8_t isa)
{
	mp_intr(w, MPE_LINT, MP_EXTINT, MP_FLAGS_CONFORM, isa, 0, 0xff, 0);
	mp_intr(w, MPE_LINT, MP_NMI, MP_FLAGS_CONFORM, isa, 0, 0xff, 1);
}

/* 4.2, table 4-2: the header, with the counts filled in at the end. */
static void
mp_header(struct mp_writer *w)
{
	mp_text(w, "PCMP", 4);
	mp_put(w, 0, 2); /* base table length */
	mp_put(w, MP_SPEC_REV, 1);
	mp_put(w, 0, 1); /* checksum */
	mp_text(w, "BHYVE", 8);
	mp_text(w, "Hypervisor", 12);
	mp_put(w, 0, 4); /* no OEM table */
	mp_put(w, 0, 2);
	mp_put(w, 0, 2); /* entry count */
	mp_put(w, ACPI_LAPIC_ADDR, 4);
	mp_put(w, 0, 2); /* no extended table */
	mp_put(w, 0, 1);
	mp_put(w, 0, 1);
}

/* 4.1, table 4-1: the floating pointer; feature bytes 0: virtual wire. */
static void
mp_fps(uint8_t *fps, uint64_t cfg_addr)
{
	memset(fps, 0, MP_FPS_LEN);
	memcpy(fps, "_MP_", 4);
	for (int i = 0; i < 4; i++)
		fps[4 + i] = (uint8_t)(cfg_addr >> (8 * i));
	fps[8] = 1; /* length in 16-byte units */
	fps[9] = MP_SPEC_REV;
	fps[10] = mp_checksum(fps, MP_FPS_LEN);
}

long
mptable_build(const struct acpi_platform *p, uint64_t base, uint8_t *out,
    size_t outlen)
{
	struct mp_writer w = { .p = out, .cap = outlen, .len = MP_FPS_LEN };
	uint8_t isa = p->pci.present ? 1 : 0;
	uint8_t *cfg = out + MP_FPS_LEN;

	if (outlen < MP_FPS_LEN || base + MP_FPS_LEN > UINT32_MAX)
		return -ENOSPC;
	mp_header(&w);
	mp_procs(&w, p);
	if (w.count == 0)
		return -EINVAL;
	if (p->pci.present)
		mp_bus(&w, 0, "PCI");
	mp_bus(&w, isa, "ISA");
	mp_ioapic(&w, p);
	mp_isa_ints(&w, p, isa);
	if (p->pci.present)
		mp_pci_ints(&w, p);
	mp_local_ints(&w, isa);
	if (w.overflow || w.len - MP_FPS_LEN > UINT16_MAX)
		return -ENOSPC;
	cfg[4] = (uint8_t)(w.len - MP_FPS_LEN);
	cfg[5] = (uint8_t)((w.len - MP_FPS_LEN) >> 8);
	cfg[34] = (uint8_t)w.count;
	cfg[35] = (uint8_t)(w.count >> 8);
	cfg[7] = mp_checksum(cfg, w.len - MP_FPS_LEN);
	mp_fps(out, base + MP_FPS_LEN);
	return (long)w.len;
}
