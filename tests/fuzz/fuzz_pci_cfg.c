/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the PCI framework as a guest reaches it.  The input is
 * a program of config accesses through mechanism #1 and ECAM (any width,
 * lane, alignment; BAR, command, capability and PIRQ writes made likely),
 * accesses to wherever the BARs decode now, and device-side interrupts.
 * One VM serves the whole run; the framework and the I/O registries are
 * made fresh for every input, on a bus with the host bridge, the LPC
 * bridge and test functions with every kind of BAR, MSI and MSI-X.
 *
 * Besides the sanitizers, after every step: each decoded BAR is
 * registered where the BAR says and nowhere else, no two decoded BARs
 * overlap, decoding follows the command register, the host bridge's IDs
 * are intact.  Interrupt lines never go below zero and are all down once
 * every device has dropped its line; after teardown nothing is left
 * registered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhyverun.h"
#include "config.h"
#include "iomem.h"
#include "pci_emul.h"
#include "vmmapi.h"

#define FUZZ_RAM (4ULL << 20)
#define FUZZ_MAX_STEPS 512
#define FUZZ_MAX_DEVS 16

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bhyve_vm fuzz_bvm;

/* Interrupt line levels as the controllers would see them. */
static int fuzz_isa_level[16];
static int fuzz_pin_level[64];

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

static uint64_t
fuzz_take(struct fuzz_input *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

static void
fuzz_die(const char *why)
{
	fprintf(stderr, "fuzz_pci_cfg: %s\n", why);
	abort();
}

/* ---- Interrupt ops that check the line discipline ---- */

static void
fuzz_line(int *lv, int n, int i, int delta, bool exclusive)
{
	if (i < 0)
		return;
	if (i >= n)
		fuzz_die("interrupt line out of range");
	lv[i] += delta;
	if (lv[i] < 0)
		fuzz_die("a line was lowered more often than raised");
	if (exclusive && lv[i] > 1)
		fuzz_die("a link's I/O APIC pin was raised twice");
}

static int
fuzz_isa(void *arg, int atpic, int ioapic, int delta)
{
	fuzz_line(fuzz_isa_level, 16, atpic, delta, false);
	fuzz_line(fuzz_pin_level, 64, ioapic, delta, true);
	return 0;
}

static int
fuzz_isa_up(void *arg, int atpic, int ioapic)
{
	return fuzz_isa(arg, atpic, ioapic, 1);
}

static int
fuzz_isa_down(void *arg, int atpic, int ioapic)
{
	return fuzz_isa(arg, atpic, ioapic, -1);
}

static int
fuzz_pin_up(void *arg, int pin)
{
	fuzz_line(fuzz_pin_level, 64, pin, 1, true);
	return 0;
}

static int
fuzz_pin_down(void *arg, int pin)
{
	fuzz_line(fuzz_pin_level, 64, pin, -1, true);
	return 0;
}

static int
fuzz_msi(void *arg, uint64_t addr, uint64_t data)
{
	return 0;
}

static const struct pci_intr_ops fuzz_ops = {
	.isa_assert = fuzz_isa_up,
	.isa_deassert = fuzz_isa_down,
	.ioapic_assert = fuzz_pin_up,
	.ioapic_deassert = fuzz_pin_down,
	.msi = fuzz_msi,
};

/* ---- A test function with everything ---- */

struct fuzz_dev {
	uint8_t regs[64];
};

static int
fuzz_dev_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	uint64_t big = 0;
	int error = 0;

	if (config_get_uint(nvl, "big", 0, &big) != 0)
		return -1;
	pi->pi_arg = calloc(1, sizeof(struct fuzz_dev));
	if (pi->pi_arg == NULL)
		return -1;
	pci_set_cfgdata32(pi, PCIR_VENDOR, 0x10fd1af4);
	error |= pci_emul_alloc_bar(pi, 0, PCIBAR_IO, big ? 0x100 : 0x20);
	error |= pci_emul_alloc_bar(pi, 1, PCIBAR_MEM32, 0x1000);
	error |= pci_emul_alloc_bar_prefetch(pi, 2, PCIBAR_MEM64,
	    big ? (256ULL << 20) : 0x4000);
	error |= pci_emul_add_msicap(pi, 4, PCI_MSI_64BIT | PCI_MSI_MASKABLE)
	    < 0;
	error |= pci_emul_add_msixcap(pi, big ? 100 : 8, 4) < 0;
	error |= pci_emul_add_pciecap(pi, PCIEM_TYPE_ENDPOINT) < 0;
	error |= pci_lintr_request(pi);
	if (error) {
		free(pi->pi_arg);
		return -1;
	}
	return 0;
}

static void
fuzz_dev_barwrite(struct pci_devinst *pi, int baridx, uint64_t offset,
    int size, uint64_t value)
{
	struct fuzz_dev *sc = pi->pi_arg;

	if (offset < sizeof(sc->regs))
		sc->regs[offset] = (uint8_t)value;
}

static uint64_t
fuzz_dev_barread(struct pci_devinst *pi, int baridx, uint64_t offset,
    int size)
{
	struct fuzz_dev *sc = pi->pi_arg;

	return offset < sizeof(sc->regs) ? sc->regs[offset] : offset;
}

static void
fuzz_dev_destroy(struct pci_devinst *pi)
{
	free(pi->pi_arg);
}

static const struct pci_devemu fuzz_dev_emu = {
	.pe_emu = "fuzzdev",
	.pe_init = fuzz_dev_init,
	.pe_barwrite = fuzz_dev_barwrite,
	.pe_barread = fuzz_dev_barread,
	.pe_destroy = fuzz_dev_destroy,
};

static const struct pci_devemu *const fuzz_emus[] = { &fuzz_dev_emu };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const kv[] = {
		"pci.0.0.0.device", "hostbridge",
		"pci.0.3.0.device", "fuzzdev",
		"pci.0.3.1.device", "fuzzdev",
		"pci.0.4.0.device", "fuzzdev",
		"pci.0.4.0.big", "1",
		"pci.0.11.0.device", "fuzzdev",
		"pci.0.31.0.device", "lpc",
		"pci.1.0.0.device", "fuzzdev",
		NULL };

	fuzz_bvm = (struct bhyve_vm){ .ncpus = 1 };
	fuzz_bvm.cfg = config_new();
	fuzz_bvm.ctx = vm_create("fuzz-pci", VMM_BACKEND_NULL, NULL);
	if (fuzz_bvm.cfg == NULL || fuzz_bvm.ctx == NULL ||
	    vm_setup_memory(fuzz_bvm.ctx, FUZZ_RAM))
		fuzz_die("cannot create the VM");
	for (const char *const *p = kv; p[0]; p += 2)
		if (config_set(fuzz_bvm.cfg, p[0], p[1]) != 0)
			fuzz_die("cannot build the config");
	return 0;
}

/* ---- Guest accesses ---- */

static const int fuzz_sizes[] = { 1, 2, 4, 8 };

static uint64_t
fuzz_port(bool write, uint64_t port, int size, uint64_t v)
{
	(void)io_dispatch(fuzz_bvm.ports, NULL, write, port & 0xffff, size,
	    &v);
	return v;
}

static uint64_t
fuzz_mmio(bool write, uint64_t addr, int size, uint64_t v)
{
	(void)io_dispatch(fuzz_bvm.mmio, NULL, write, addr, size, &v);
	return v;
}

/* Buses, slots and functions where something may live, mostly. */
static void
fuzz_bsf(struct fuzz_input *in, int *b, int *s, int *f)
{
	static const int slots[] = { 0, 3, 4, 11, 31, 5 };
	uint8_t x = (uint8_t)fuzz_take(in, 1);

	*b = x & 0x80 ? (int)fuzz_take(in, 1) : (x >> 6) & 1;
	*s = x & 0x20 ? (int)(fuzz_take(in, 1) & 31) : slots[(x >> 2) % 6];
	*f = x & 0x1 ? (int)(fuzz_take(in, 1) & 7) : (x >> 1) & 1;
}

/* A register: the header, a capability or PIRQ, else anywhere. */
static int
fuzz_reg(struct fuzz_input *in)
{
	uint16_t r = (uint16_t)fuzz_take(in, 2);

	switch (r >> 14) {
	case 0:
		return r & 0x3f;
	case 1:
		return 0x40 + (r & 0x7f);
	case 2:
		return 0x60 + (r & 0xf);
	default:
		return r & 0xfff;
	}
}

static uint64_t
fuzz_value(struct fuzz_input *in)
{
	static const uint64_t specials[] = { 0, ~0ULL, 0xfffffffe, 0x80,
		0xe0000000, 0xcf8, 0xfee00000, 0x3000 };
	uint8_t how = (uint8_t)fuzz_take(in, 1);

	if (how < 0x40)
		return specials[how & 7];
	return fuzz_take(in, 1 + (how & 7));
}

static void
fuzz_conf1(struct fuzz_input *in, bool write)
{
	int b, s, f, reg, size = fuzz_sizes[fuzz_take(in, 1) & 3];

	fuzz_bsf(in, &b, &s, &f);
	reg = fuzz_reg(in);
	(void)fuzz_port(true, 0xcf8, 4, 0x80000000u | (uint32_t)b << 16 |
	    (uint32_t)s << 11 | (uint32_t)f << 8 | (uint32_t)(reg & 0xfc));
	(void)fuzz_port(write, 0xcfc + (reg & 3), size,
	    write ? fuzz_value(in) : 0);
}

static void
fuzz_ecam(struct fuzz_input *in, bool write)
{
	int b, s, f, reg, size = fuzz_sizes[fuzz_take(in, 1) & 3];

	fuzz_bsf(in, &b, &s, &f);
	reg = fuzz_reg(in);
	(void)fuzz_mmio(write, PCI_ECAM_BASE + ((uint64_t)b << 20) +
	    ((uint64_t)s << 15) + ((uint64_t)f << 12) + (uint64_t)reg, size,
	    write ? fuzz_value(in) : 0);
}

/* The n-th function, in bus/slot/func order. */
static struct pci_devinst *
fuzz_nth(unsigned n)
{
	struct pci_devinst *pi = pci_next(&fuzz_bvm, NULL), *first = pi;

	for (unsigned i = 0; pi && i < n % FUZZ_MAX_DEVS; i++) {
		pi = pci_next(&fuzz_bvm, pi);
		if (pi == NULL)
			pi = first;
	}
	return pi;
}

/* Wherever a BAR is now, decoded or not, at any offset near it. */
static void
fuzz_bar_access(struct fuzz_input *in)
{
	struct pci_devinst *pi = fuzz_nth((unsigned)fuzz_take(in, 1));
	uint8_t how = (uint8_t)fuzz_take(in, 1);
	struct pci_bar *b = &pi->pi_bar[how % (PCI_BARMAX + 1)];
	uint64_t off = fuzz_take(in, 2) % (b->size + 16);
	int size = fuzz_sizes[(how >> 3) & 3];
	bool write = how & 0x20;

	if (b->type == PCIBAR_IO)
		(void)fuzz_port(write, b->addr + off, size > 4 ? 4 : size,
		    fuzz_value(in));
	else if (b->type == PCIBAR_MEM32 || b->type == PCIBAR_MEM64)
		(void)fuzz_mmio(write, b->addr + off, size, fuzz_value(in));
}

static void
fuzz_interrupt(struct fuzz_input *in)
{
	struct pci_devinst *pi = fuzz_nth((unsigned)fuzz_take(in, 1));
	uint8_t how = (uint8_t)fuzz_take(in, 1);
	int idx = (int)fuzz_take(in, 1) - 8;

	switch (how % 4) {
	case 0:
		(void)pci_generate_msi(pi, idx);
		break;
	case 1:
		(void)pci_generate_msix(pi, idx);
		break;
	case 2:
		pci_lintr_assert(pi);
		break;
	default:
		pci_lintr_deassert(pi);
		break;
	}
}

static void
fuzz_step(struct fuzz_input *in, uint8_t op)
{
	switch (op % 8) {
	case 0:
		(void)fuzz_port(true, 0xcf8, 4, fuzz_take(in, 4));
		break;
	case 1:
		fuzz_conf1(in, false);
		break;
	case 2:
		fuzz_conf1(in, true);
		break;
	case 3:
		fuzz_ecam(in, op & 0x80);
		break;
	case 4: {
		uint8_t how = (uint8_t)fuzz_take(in, 1);

		(void)fuzz_port(how & 0x80, 0xcf8 + (how & 7),
		    fuzz_sizes[(how >> 3) & 3], fuzz_take(in, 4));
		break;
	}
	case 5:
		fuzz_bar_access(in);
		break;
	case 6:
		fuzz_interrupt(in);
		break;
	default:
		(void)fuzz_port(op & 0x80, 0xcfc + ((op >> 3) & 3),
		    fuzz_sizes[(op >> 5) & 3], fuzz_take(in, 4));
		break;
	}
}

/* ---- Invariants ---- */

static struct io_registry *
fuzz_reg_of(const struct pci_bar *b)
{
	return b->type == PCIBAR_IO ? fuzz_bvm.ports : fuzz_bvm.mmio;
}

static bool
fuzz_overlap(const struct pci_bar *a, const struct pci_bar *b)
{
	return (a->type == PCIBAR_IO) == (b->type == PCIBAR_IO) &&
	    a->decoded_addr < b->decoded_addr + b->size &&
	    b->decoded_addr < a->decoded_addr + a->size;
}

static void
fuzz_check_bar(struct pci_devinst *pi, struct pci_bar *b)
{
	uint16_t cmd = pci_get_cfgdata16(pi, PCIR_COMMAND);
	uint16_t en = b->type == PCIBAR_IO ? PCIM_CMD_PORTEN : PCIM_CMD_MEMEN;
	const char *lo, *hi;

	if (!b->decoded)
		return;
	if (!(cmd & en) || b->decoded_addr != b->addr)
		fuzz_die("a BAR decodes where the guest did not put it");
	lo = io_region_name(fuzz_reg_of(b), b->decoded_addr);
	hi = io_region_name(fuzz_reg_of(b), b->decoded_addr + b->size - 1);
	if (lo != pi->pi_name || hi != pi->pi_name)
		fuzz_die("a decoded BAR is not registered as itself");
}

static void
fuzz_check(void)
{
	struct pci_bar *seen[128];
	int n = 0;
	uint64_t v = 0;

	for (struct pci_devinst *pi = pci_next(&fuzz_bvm, NULL); pi;
	    pi = pci_next(&fuzz_bvm, pi)) {
		for (int i = 0; i <= PCI_BARMAX; i++) {
			struct pci_bar *b = &pi->pi_bar[i];

			fuzz_check_bar(pi, b);
			for (int j = 0; b->decoded && j < n; j++)
				if (fuzz_overlap(b, seen[j]))
					fuzz_die("two decoded BARs overlap");
			if (b->decoded && n < 128)
				seen[n++] = b;
		}
	}
	(void)io_dispatch(fuzz_bvm.mmio, NULL, false, PCI_ECAM_BASE, 4, &v);
	if ((uint32_t)v != 0x12751275)
		fuzz_die("the host bridge's IDs changed");
}

/* Drop every line; then every level must be back at zero. */
static void
fuzz_check_lines(void)
{
	for (struct pci_devinst *pi = pci_next(&fuzz_bvm, NULL); pi;
	    pi = pci_next(&fuzz_bvm, pi))
		pci_lintr_deassert(pi);
	for (int i = 0; i < 16; i++)
		if (fuzz_isa_level[i] != 0)
			fuzz_die("an ISA line stayed up");
	for (int i = 0; i < 64; i++)
		if (fuzz_pin_level[i] != 0)
			fuzz_die("an I/O APIC pin stayed up");
}

/* Where BARs decode now, to check after teardown that they are gone. */
struct fuzz_decoded {
	int n;
	bool io[128];
	uint64_t addr[128];
};

static void
fuzz_record_decoded(struct fuzz_decoded *d)
{
	d->n = 0;
	for (struct pci_devinst *pi = pci_next(&fuzz_bvm, NULL); pi;
	    pi = pci_next(&fuzz_bvm, pi)) {
		for (int i = 0; i <= PCI_BARMAX && d->n < 128; i++) {
			if (!pi->pi_bar[i].decoded)
				continue;
			d->io[d->n] = pi->pi_bar[i].type == PCIBAR_IO;
			d->addr[d->n++] = pi->pi_bar[i].decoded_addr;
		}
	}
}

static void
fuzz_check_empty(const struct fuzz_decoded *d)
{
	if (io_region_name(fuzz_bvm.ports, 0xcf8) ||
	    io_region_name(fuzz_bvm.ports, 0xcfc) ||
	    io_region_name(fuzz_bvm.mmio, PCI_ECAM_BASE))
		fuzz_die("config access regions left behind");
	for (int i = 0; i < d->n; i++)
		if (io_region_name(d->io[i] ? fuzz_bvm.ports : fuzz_bvm.mmio,
		    d->addr[i]) != NULL)
			fuzz_die("a BAR region left behind");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_emul_opts o = { .extra = fuzz_emus, .nextra = 1,
		.intr_ops = &fuzz_ops };
	struct fuzz_input in = { data, size };
	struct fuzz_decoded dec;

	memset(fuzz_isa_level, 0, sizeof(fuzz_isa_level));
	memset(fuzz_pin_level, 0, sizeof(fuzz_pin_level));
	fuzz_bvm.ports = io_registry_create(0x10000);
	fuzz_bvm.mmio = io_registry_create(UINT64_MAX);
	if (fuzz_bvm.ports == NULL || fuzz_bvm.mmio == NULL ||
	    pci_emul_init_opts(&fuzz_bvm, &o) != 0)
		fuzz_die(fuzz_bvm.err[0] ? fuzz_bvm.err : "cannot start PCI");
	for (int steps = 0; in.n > 0 && steps < FUZZ_MAX_STEPS; steps++) {
		fuzz_step(&in, (uint8_t)fuzz_take(&in, 1));
		fuzz_check();
	}
	fuzz_check_lines();
	fuzz_record_decoded(&dec);
	pci_emul_destroy(&fuzz_bvm);
	fuzz_check_empty(&dec);
	io_registry_destroy(fuzz_bvm.ports);
	io_registry_destroy(fuzz_bvm.mmio);
	return 0;
}
