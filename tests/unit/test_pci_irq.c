/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * INTx routing: devices' lines through the PIRQ links to the I/O APIC
 * pins and ISA IRQs, the LPC bridge's PIRQ registers, sharing, masking by
 * the command register and MSI, and the query API the _PRT and MP-table
 * generators use.  Interrupts are intercepted at the framework's ops.
 */
#include <errno.h>

#include "bhyverun.h"
#include "config.h"
#include "iomem.h"
#include "pci_emul.h"
#include "pci_irq.h"
#include "test.h"
#include "vmmapi.h"

/* ---- Interrupts, recorded in order ---- */

enum ev_kind { ISA_UP, ISA_DOWN, PIN_UP, PIN_DOWN, MSI };

struct ev {
	enum ev_kind kind;
	int a, b;
};

struct evlog {
	int n;
	struct ev ev[64];
	uint16_t level;	/* ISA IRQs made level-triggered (ELCR) */
};

static void
log_ev(struct evlog *l, enum ev_kind kind, int a, int b)
{
	if (l->n < 64)
		l->ev[l->n] = (struct ev){ kind, a, b };
	l->n++;
}

static int
ev_isa_up(void *arg, int atpic, int ioapic)
{
	log_ev(arg, ISA_UP, atpic, ioapic);
	return 0;
}

static int
ev_isa_down(void *arg, int atpic, int ioapic)
{
	log_ev(arg, ISA_DOWN, atpic, ioapic);
	return 0;
}

static int
ev_pin_up(void *arg, int pin)
{
	log_ev(arg, PIN_UP, pin, 0);
	return 0;
}

static int
ev_pin_down(void *arg, int pin)
{
	log_ev(arg, PIN_DOWN, pin, 0);
	return 0;
}

static int
ev_msi(void *arg, uint64_t addr, uint64_t data)
{
	log_ev(arg, MSI, (int)addr, (int)data);
	return 0;
}

static int
ev_isa_level(void *arg, int atpic)
{
	((struct evlog *)arg)->level |= (uint16_t)(1u << atpic);
	return 0;
}

static const struct pci_intr_ops ev_ops = {
	.isa_assert = ev_isa_up,
	.isa_deassert = ev_isa_down,
	.ioapic_assert = ev_pin_up,
	.ioapic_deassert = ev_pin_down,
	.msi = ev_msi,
	.isa_level = ev_isa_level,
};

/* Check that the log holds exactly these events since 'from'. */
#define CHECK_EVENTS(l, from, ...)                                           \
	do {                                                                 \
		const struct ev want_[] = { __VA_ARGS__ };                   \
		size_t n_ = sizeof(want_) / sizeof(want_[0]);                \
		CHECK_EQ((l)->n - (from), n_);                               \
		for (size_t i_ = 0; i_ < n_ && (from) + (int)i_ < (l)->n;    \
		    i_++) {                                                  \
			CHECK_EQ((l)->ev[(from) + i_].kind, want_[i_].kind); \
			CHECK_EQ((l)->ev[(from) + i_].a, want_[i_].a);       \
			CHECK_EQ((l)->ev[(from) + i_].b, want_[i_].b);       \
		}                                                            \
	} while (0)

/* ---- A device with a line (and optionally MSI) ---- */

static int
idev_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	bool msi = false, early = false;

	pci_set_cfgdata16(pi, PCIR_VENDOR, 0x1af4);
	pci_set_cfgdata16(pi, PCIR_DEVICE, 0x10fe);
	if (config_get_bool(nvl, "msi", false, &msi) != 0 ||
	    config_get_bool(nvl, "early", false, &early) != 0)
		return -1;
	if (msi && pci_emul_add_msicap(pi, 1, PCI_MSI_64BIT) < 0)
		return -1;
	if (pci_lintr_request(pi) != 0)
		return -1;
	/* Asserted before routing: delivered once routed. */
	if (early)
		pci_lintr_assert(pi);
	return 0;
}

static const struct pci_devemu idev_emu = {
	.pe_emu = "irqdev",
	.pe_init = idev_init,
};

static const struct pci_devemu *const test_emus[] = { &idev_emu };

/* ---- The fake VM ---- */

struct fx {
	struct bhyve_vm bvm;
	struct evlog log;
	int init_error;
};

static const char *const std_kv[] = {
	"pci.0.0.0.device", "hostbridge",
	"pci.0.3.0.device", "irqdev",
	"pci.0.4.0.device", "irqdev",
	"pci.0.5.0.device", "irqdev",
	"pci.0.5.1.device", "irqdev",
	"pci.0.6.0.device", "irqdev",
	"pci.0.6.0.msi", "true",
	"pci.0.11.0.device", "irqdev",
	"pci.0.31.0.device", "lpc",
	NULL,
};

static int
fx_setup(struct fx *f, const char *const *kv)
{
	struct pci_emul_opts o = { .extra = test_emus, .nextra = 1,
		.intr_ops = &ev_ops, .intr_arg = &f->log };

	*f = (struct fx){ .bvm = { .ncpus = 1 } };
	f->bvm.cfg = config_new();
	f->bvm.ports = io_registry_create(0x10000);
	f->bvm.mmio = io_registry_create(UINT64_MAX);
	f->bvm.ctx = vm_create("t-pci-irq", VMM_BACKEND_NULL, NULL);
	if (!f->bvm.cfg || !f->bvm.ports || !f->bvm.mmio || !f->bvm.ctx ||
	    vm_setup_memory(f->bvm.ctx, 16 << 20) != 0)
		return -1;
	for (; kv && kv[0]; kv += 2)
		if (config_set(f->bvm.cfg, kv[0], kv[1]) != 0)
			return -1;
	f->init_error = pci_emul_init_opts(&f->bvm, &o);
	return 0;
}

static void
fx_teardown(struct fx *f)
{
	pci_emul_destroy(&f->bvm);
	io_registry_destroy(f->bvm.ports);
	io_registry_destroy(f->bvm.mmio);
	config_free(f->bvm.cfg);
	vm_destroy(f->bvm.ctx);
}

static struct pci_devinst *
dev(struct fx *f, int slot, int func)
{
	for (struct pci_devinst *pi = pci_next(&f->bvm, NULL); pi;
	    pi = pci_next(&f->bvm, pi))
		if (pi->pi_bus == 0 && pi->pi_slot == slot &&
		    pi->pi_func == func)
			return pi;
	return NULL;
}

/* Config accesses through ECAM, as a guest (or ACPI's AML) would. */
static uint32_t
cfg_read(struct fx *f, int slot, int func, int reg, int size)
{
	uint64_t v = 0;
	uint64_t a = PCI_ECAM_BASE + ((uint64_t)slot << 15) +
	    ((uint64_t)func << 12) + (uint64_t)reg;

	if (io_dispatch(f->bvm.mmio, NULL, false, a, size, &v) != 0)
		return 0xdead;
	return (uint32_t)(size == 4 ? v : v & ((1u << (size * 8)) - 1));
}

static void
cfg_write(struct fx *f, int slot, int func, int reg, int size, uint32_t val)
{
	uint64_t v = val;
	uint64_t a = PCI_ECAM_BASE + ((uint64_t)slot << 15) +
	    ((uint64_t)func << 12) + (uint64_t)reg;

	CHECK_EQ(io_dispatch(f->bvm.mmio, NULL, true, a, size, &v), 0);
}

/* ---- Routing at start-up ---- */

TEST(swizzle_and_pins)
{
	struct pci_irq *irq = pci_irq_create(&ev_ops, NULL, 24, 0);
	struct pci_irq *small = pci_irq_create(&ev_ops, NULL, 16, 0);

	REQUIRE(irq && small);
	/* bhyve's fixed mapping: (4 + slot + pin) mod 8. */
	CHECK_EQ(pci_irq_link(0, 1), 5);
	CHECK_EQ(pci_irq_link(3, 1), 0);
	CHECK_EQ(pci_irq_link(3, 4), 3);
	CHECK_EQ(pci_irq_link(31, 4), 7);
	for (int s = 0; s < 32; s++)
		for (int p = 1; p < 4; p++)
			CHECK(pci_irq_link(s, p) != pci_irq_link(s, p + 1));
	for (int l = 0; l < 8; l++) {
		CHECK_EQ(pci_irq_ioapic_pin(irq, l), 16 + l);
		CHECK_EQ(pci_irq_ioapic_pin(small, l), -1);
		CHECK_EQ(pci_irq_pirq_link(pci_irq_pirq_offset(l)), l);
		CHECK_EQ(pci_irq_pirq_read(irq, l), PIRQ_DIS);
	}
	CHECK_EQ(pci_irq_pirq_offset(3), 0x63);
	CHECK_EQ(pci_irq_pirq_offset(4), 0x68);
	CHECK_EQ(pci_irq_pirq_link(0x64), -1);
	CHECK_EQ(pci_irq_pirq_link(0x6c), -1);
	pci_irq_destroy(irq);
	pci_irq_destroy(small);
}

TEST(initial_routing)
{
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	/* Pins: one per function, the slot's least used first. */
	CHECK_EQ(cfg_read(&f, 3, 0, PCIR_INTPIN, 1), 1);
	CHECK_EQ(cfg_read(&f, 5, 0, PCIR_INTPIN, 1), 1);
	CHECK_EQ(cfg_read(&f, 5, 1, PCIR_INTPIN, 1), 2);
	CHECK_EQ(cfg_read(&f, 0, 0, PCIR_INTPIN, 1), 0);
	CHECK_EQ(cfg_read(&f, 0, 0, PCIR_INTLINE, 1), 255);
	/*
	 * Links A (slots 3, 11), B (4), C (5 INTA), D (5 INTB, 6 INTA) got
	 * the free ISA IRQs in order, skipping COM's 3 and 4, and the SCI's
	 * 9 while others are free; unused links stay disabled.
	 */
	CHECK_EQ(cfg_read(&f, 31, 0, 0x60, 4), 0x0a070605);
	CHECK_EQ(cfg_read(&f, 31, 0, 0x68, 4), 0x80808080);
	CHECK_EQ(cfg_read(&f, 3, 0, PCIR_INTLINE, 1), 5);
	CHECK_EQ(cfg_read(&f, 11, 0, PCIR_INTLINE, 1), 5);
	CHECK_EQ(cfg_read(&f, 4, 0, PCIR_INTLINE, 1), 6);
	CHECK_EQ(cfg_read(&f, 5, 0, PCIR_INTLINE, 1), 7);
	CHECK_EQ(cfg_read(&f, 5, 1, PCIR_INTLINE, 1), 10);
	CHECK_EQ(cfg_read(&f, 6, 0, PCIR_INTLINE, 1), 10);
	CHECK_EQ(f.log.n, 0);
	/* Those four IRQs, and only those, are level in the ELCR. */
	CHECK_EQ(f.log.level, (1u << 5) | (1u << 6) | (1u << 7) | (1u << 10));
	fx_teardown(&f);
}

struct walk {
	int n;
	struct pci_intx_route r[16];
};

static void
walk_cb(const struct pci_intx_route *r, void *arg)
{
	struct walk *w = arg;

	if (w->n < 16)
		w->r[w->n] = *r;
	w->n++;
}

TEST(query_api_for_tables)
{
	static const int want[][5] = {
		/* slot, pin, link, ioapic pin, isa */
		{ 3, 1, 0, 16, 5 }, { 4, 1, 1, 17, 6 }, { 5, 1, 2, 18, 7 },
		{ 5, 2, 3, 19, 10 }, { 6, 1, 3, 19, 10 }, { 11, 1, 0, 16, 5 },
	};
	struct walk w = { 0 };
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	pci_walk_intx(&f.bvm, 0, walk_cb, &w);
	REQUIRE(w.n == 6);
	for (int i = 0; i < 6; i++) {
		CHECK_EQ(w.r[i].bus, 0);
		CHECK_EQ(w.r[i].slot, want[i][0]);
		CHECK_EQ(w.r[i].pin, want[i][1]);
		CHECK_EQ(w.r[i].link, want[i][2]);
		CHECK_EQ(w.r[i].ioapic_pin, want[i][3]);
		CHECK_EQ(w.r[i].isa_irq, want[i][4]);
	}
	/* A guest re-routing a link shows in the next walk. */
	cfg_write(&f, 31, 0, 0x60, 1, 0x80);
	w.n = 0;
	pci_walk_intx(&f.bvm, 0, walk_cb, &w);
	CHECK_EQ(w.r[0].isa_irq, -1);
	CHECK_EQ(w.r[5].isa_irq, -1);
	w.n = 0;
	pci_walk_intx(&f.bvm, 1, walk_cb, &w);
	CHECK_EQ(w.n, 0);
	CHECK(pci_emul_irq(&f.bvm) != NULL);
	CHECK_EQ(pci_irq_isa_irq(pci_emul_irq(&f.bvm), 1), 6);
	fx_teardown(&f);
}

/* ---- Assertion ---- */

TEST(assert_and_deassert)
{
	struct pci_devinst *pi;
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	pi = dev(&f, 4, 0);
	pci_lintr_assert(pi);
	CHECK_EVENTS(&f.log, 0, { ISA_UP, 6, 17 });
	CHECK(cfg_read(&f, 4, 0, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE);
	pci_lintr_assert(pi); /* already up: nothing more */
	CHECK_EQ(f.log.n, 1);
	pci_lintr_deassert(pi);
	CHECK_EVENTS(&f.log, 1, { ISA_DOWN, 6, 17 });
	CHECK(!(cfg_read(&f, 4, 0, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE));
	pci_lintr_deassert(pi);
	CHECK_EQ(f.log.n, 2);
	fx_teardown(&f);
}

TEST(shared_link_counts_assertions)
{
	struct pci_devinst *a, *b;
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	a = dev(&f, 3, 0);
	b = dev(&f, 11, 0); /* same link A */
	pci_lintr_assert(a);
	pci_lintr_assert(b);
	CHECK_EVENTS(&f.log, 0, { ISA_UP, 5, 16 });
	pci_lintr_deassert(a);
	CHECK_EQ(f.log.n, 1); /* b still holds the line */
	pci_lintr_assert(a);
	CHECK_EQ(f.log.n, 1);
	pci_lintr_deassert(b);
	pci_lintr_deassert(a);
	CHECK_EVENTS(&f.log, 1, { ISA_DOWN, 5, 16 });
	fx_teardown(&f);
}

TEST(pirq_registers_route_the_line)
{
	struct pci_devinst *pi;
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	pi = dev(&f, 3, 0);
	/* Disabled link: the I/O APIC pin alone. */
	cfg_write(&f, 31, 0, 0x60, 1, 0x80);
	pci_lintr_assert(pi);
	pci_lintr_deassert(pi);
	CHECK_EVENTS(&f.log, 0, { PIN_UP, 16, 0 }, { PIN_DOWN, 16, 0 });
	/* Routed while asserted: the ISA line follows, the pin stays. */
	pci_lintr_assert(pi);
	cfg_write(&f, 31, 0, 0x60, 1, 0x0b);
	cfg_write(&f, 31, 0, 0x60, 1, 0x0c);
	cfg_write(&f, 31, 0, 0x60, 1, 0x0c); /* unchanged: nothing */
	/* IRQ 8 is not permitted: as if disabled. */
	cfg_write(&f, 31, 0, 0x60, 1, 0x08);
	pci_lintr_deassert(pi);
	CHECK_EVENTS(&f.log, 2, { PIN_UP, 16, 0 }, { ISA_UP, 11, -1 },
	    { ISA_DOWN, 11, -1 }, { ISA_UP, 12, -1 }, { ISA_DOWN, 12, -1 },
	    { PIN_DOWN, 16, 0 });
	/* Reserved bits 6:4 read as 0. */
	cfg_write(&f, 31, 0, 0x60, 1, 0x7f);
	CHECK_EQ(cfg_read(&f, 31, 0, 0x60, 1), 0x0f);
	fx_teardown(&f);
}

TEST(pirq_register_widths)
{
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	cfg_write(&f, 31, 0, 0x68, 4, 0x0e0c0b8a);
	CHECK_EQ(cfg_read(&f, 31, 0, 0x68, 4), 0x0e0c0b8a);
	CHECK_EQ(cfg_read(&f, 31, 0, 0x6a, 2), 0x0e0c);
	CHECK_EQ(cfg_read(&f, 31, 0, 0x69, 1), 0x0b);
	CHECK_EQ(pci_irq_isa_irq(pci_emul_irq(&f.bvm), 4), -1);
	CHECK_EQ(pci_irq_isa_irq(pci_emul_irq(&f.bvm), 7), 14);
	cfg_write(&f, 31, 0, 0x62, 2, 0x0f0e);
	CHECK_EQ(cfg_read(&f, 31, 0, 0x60, 4), 0x0f0e0605);
	/* Between the two groups: ordinary read-only config space. */
	cfg_write(&f, 31, 0, 0x64, 4, 0xffffffff);
	CHECK_EQ(cfg_read(&f, 31, 0, 0x64, 4), 0);
	/* Conf1 sees the same registers. */
	{
		uint64_t v = 0x8000f860;

		CHECK_EQ(io_dispatch(f.bvm.ports, NULL, true, 0xcf8, 4, &v),
		    0);
		CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, 0xcfe, 1, &v),
		    0);
		CHECK_EQ(v & 0xff, 0x0e);
	}
	fx_teardown(&f);
}

TEST(command_intx_disable_masks)
{
	struct pci_devinst *pi;
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	pi = dev(&f, 4, 0);
	cfg_write(&f, 4, 0, PCIR_COMMAND, 2, PCIM_CMD_INTxDIS);
	pci_lintr_assert(pi);
	CHECK_EQ(f.log.n, 0);
	/* Status bit 3 shows the device's line even while masked. */
	CHECK(cfg_read(&f, 4, 0, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE);
	cfg_write(&f, 4, 0, PCIR_COMMAND, 2, 0);
	CHECK_EVENTS(&f.log, 0, { ISA_UP, 6, 17 });
	cfg_write(&f, 4, 0, PCIR_COMMAND, 2, PCIM_CMD_INTxDIS);
	CHECK_EVENTS(&f.log, 1, { ISA_DOWN, 6, 17 });
	pci_lintr_deassert(pi);
	CHECK_EQ(f.log.n, 2);
	CHECK(!(cfg_read(&f, 4, 0, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE));
	cfg_write(&f, 4, 0, PCIR_COMMAND, 2, 0);
	CHECK_EQ(f.log.n, 2);
	fx_teardown(&f);
}

TEST(msi_enable_masks_intx)
{
	struct pci_devinst *pi;
	struct fx f;

	REQUIRE(fx_setup(&f, std_kv) == 0 && f.init_error == 0);
	pi = dev(&f, 6, 0);
	pci_lintr_assert(pi);
	cfg_write(&f, 6, 0, 0x40 + 2, 2, PCIM_MSICTRL_MSI_ENABLE);
	cfg_write(&f, 6, 0, 0x40 + 2, 2, 0);
	CHECK_EVENTS(&f.log, 0, { ISA_UP, 10, 19 }, { ISA_DOWN, 10, 19 },
	    { ISA_UP, 10, 19 });
	fx_teardown(&f);
}

TEST(asserted_during_init)
{
	static const char *const kv[] = {
		"pci.0.7.0.device", "irqdev", "pci.0.7.0.early", "true",
		NULL,
	};
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0);
	/* Slot 7 INTA: link (4 + 7 + 1) mod 8 = 4, the first free IRQ. */
	CHECK_EVENTS(&f.log, 0, { ISA_UP, 5, 20 });
	pci_lintr_deassert(dev(&f, 7, 0));
	CHECK_EVENTS(&f.log, 1, { ISA_DOWN, 5, 20 });
	fx_teardown(&f);
}

TEST(routing_without_lpc)
{
	static const char *const kv[] = {
		"pci.0.3.0.device", "irqdev",
		NULL,
	};
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0);
	CHECK(pci_lpc_devinst(&f.bvm) == NULL);
	CHECK_EQ(cfg_read(&f, 3, 0, PCIR_INTLINE, 1), 5);
	pci_lintr_assert(dev(&f, 3, 0));
	CHECK_EVENTS(&f.log, 0, { ISA_UP, 5, 16 });
	fx_teardown(&f);
}

TEST(small_ioapic_uses_the_8259_only)
{
	struct evlog log = { 0 };
	struct pci_irq *irq = pci_irq_create(&ev_ops, &log, 16, 0);

	REQUIRE(irq != NULL);
	pci_irq_use(irq, 2);
	CHECK_EQ(pci_irq_isa_irq(irq, 2), 3); /* nothing reserved here */
	pci_irq_assert(irq, 2);
	pci_irq_pirq_write(irq, 2, PIRQ_DIS);
	pci_irq_deassert(irq, 2);
	/* Unrouted, with no I/O APIC pin: the line goes nowhere. */
	pci_irq_assert(irq, 2);
	pci_irq_deassert(irq, 2);
	/* Deassert without assert does not underflow. */
	pci_irq_deassert(irq, 2);
	pci_irq_pirq_write(irq, 2, 9);
	pci_irq_assert(irq, 2);
	CHECK_EVENTS(&log, 0, { ISA_UP, 3, -1 }, { ISA_DOWN, 3, -1 },
	    { ISA_UP, 9, -1 });
	pci_irq_destroy(irq);
}

TEST_MAIN(
	TEST_ENTRY(swizzle_and_pins)
	TEST_ENTRY(initial_routing)
	TEST_ENTRY(query_api_for_tables)
	TEST_ENTRY(assert_and_deassert)
	TEST_ENTRY(shared_link_counts_assertions)
	TEST_ENTRY(pirq_registers_route_the_line)
	TEST_ENTRY(pirq_register_widths)
	TEST_ENTRY(command_intx_disable_masks)
	TEST_ENTRY(msi_enable_masks_intx)
	TEST_ENTRY(asserted_during_init)
	TEST_ENTRY(routing_without_lpc)
	TEST_ENTRY(small_ioapic_uses_the_8259_only)
)
