/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PCI framework driven as a guest drives it: config mechanism #1
 * through the port registry, ECAM through the MMIO registry, BARs through
 * whichever registry they decode in.  A null-backend VM with 64 MiB of
 * RAM, the host bridge, the LPC bridge and a test-only emulation whose
 * BARs, MSI, MSI-X and INTx come from its config keys.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "iomem.h"
#include "pci_emul.h"
#include "test.h"
#include "vmmapi.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define RAM_SIZE (64 * MiB)

/* ---- A test-only emulation ---- */

struct tdev {
	int barwrites;
	int last_bar;
	uint64_t last_off, last_val;
	int last_size;
	int baraddr_calls;
	bool baraddr_on[PCI_BARMAX + 1];
	uint64_t baraddr_at[PCI_BARMAX + 1];
};

static uint64_t
cfg_num(struct config_node *nvl, const char *key)
{
	uint64_t v = 0;

	return config_get_uint(nvl, key, 0, &v) == 0 ? v : 0;
}

/*
 * Keys: io (BAR 0 size), mem32 (BAR 1), mem64 (BARs 2-3), pf (BAR 2 is
 * prefetchable), msi (messages), msiflags, msix (vectors, BAR 4), pcie,
 * intx.  Every BAR read returns (bar << 24) | offset.
 */
static int
tdev_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct tdev *sc = calloc(1, sizeof(*sc));
	uint64_t v;
	int error = 0;

	if (sc == NULL)
		return -1;
	pi->pi_arg = sc;
	pci_set_cfgdata16(pi, PCIR_VENDOR, 0x1af4);
	pci_set_cfgdata16(pi, PCIR_DEVICE, 0x10ff);
	pci_set_cfgdata8(pi, PCIR_CLASS, 0xff);
	if ((v = cfg_num(nvl, "io")) != 0)
		error |= pci_emul_alloc_bar(pi, 0, PCIBAR_IO, v);
	if ((v = cfg_num(nvl, "mem32")) != 0)
		error |= pci_emul_alloc_bar(pi, 1, PCIBAR_MEM32, v);
	if ((v = cfg_num(nvl, "mem64")) != 0)
		error |= cfg_num(nvl, "pf") ?
		    pci_emul_alloc_bar_prefetch(pi, 2, PCIBAR_MEM64, v) :
		    pci_emul_alloc_bar(pi, 2, PCIBAR_MEM64, v);
	if ((v = cfg_num(nvl, "msi")) != 0)
		error |= pci_emul_add_msicap(pi, (int)v,
		    (int)cfg_num(nvl, "msiflags")) < 0;
	if ((v = cfg_num(nvl, "msix")) != 0)
		error |= pci_emul_add_msixcap(pi, (int)v, 4) < 0;
	if (cfg_num(nvl, "pcie"))
		error |= pci_emul_add_pciecap(pi, PCIEM_TYPE_ENDPOINT) < 0;
	if (cfg_num(nvl, "intx"))
		error |= pci_lintr_request(pi);
	if (error) {
		free(sc);
		return pci_emul_error(pi, "bad test config");
	}
	return 0;
}

static void
tdev_barwrite(struct pci_devinst *pi, int baridx, uint64_t offset, int size,
    uint64_t value)
{
	struct tdev *sc = pi->pi_arg;

	sc->barwrites++;
	sc->last_bar = baridx;
	sc->last_off = offset;
	sc->last_size = size;
	sc->last_val = value;
}

static uint64_t
tdev_barread(struct pci_devinst *pi, int baridx, uint64_t offset, int size)
{
	return ((uint64_t)baridx << 24) | offset;
}

static void
tdev_baraddr(struct pci_devinst *pi, int baridx, bool enabled, uint64_t addr)
{
	struct tdev *sc = pi->pi_arg;

	sc->baraddr_calls++;
	sc->baraddr_on[baridx] = enabled;
	sc->baraddr_at[baridx] = addr;
}

static void
tdev_destroy(struct pci_devinst *pi)
{
	free(pi->pi_arg);
}

static const struct pci_devemu tdev_emu = {
	.pe_emu = "testdev",
	.pe_init = tdev_init,
	.pe_barwrite = tdev_barwrite,
	.pe_barread = tdev_barread,
	.pe_baraddr = tdev_baraddr,
	.pe_destroy = tdev_destroy,
};

static const struct pci_devemu *const test_emus[] = { &tdev_emu };

/* ---- Interrupts, intercepted ---- */

struct msi_log {
	int n;
	uint64_t addr[16], data[16];
};

static int
rec_msi(void *arg, uint64_t addr, uint64_t data)
{
	struct msi_log *l = arg;

	if (l->n < 16) {
		l->addr[l->n] = addr;
		l->data[l->n] = data;
	}
	l->n++;
	return 0;
}

static int
rec_isa(void *arg, int a, int b)
{
	return 0;
}

static int
rec_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops rec_ops = {
	.isa_assert = rec_isa,
	.isa_deassert = rec_isa,
	.ioapic_assert = rec_pin,
	.ioapic_deassert = rec_pin,
	.msi = rec_msi,
};

/* ---- The fake VM ---- */

struct fx {
	struct bhyve_vm bvm;
	struct msi_log msi;
	int init_error;
};

static const char *const base_kv[] = {
	"pci.0.0.0.device", "hostbridge",
	"pci.0.31.0.device", "lpc",
	NULL,
};

static int
fx_setup_sysfs(struct fx *f, const char *const *kv, const char *sysfs)
{
	struct pci_emul_opts o = { .extra = test_emus, .nextra = 1,
		.intr_ops = &rec_ops, .intr_arg = &f->msi,
		.host_sysfs = sysfs };

	*f = (struct fx){ .bvm = { .ncpus = 1 } };
	f->bvm.cfg = config_new();
	f->bvm.ports = io_registry_create(0x10000);
	f->bvm.mmio = io_registry_create(UINT64_MAX);
	f->bvm.ctx = vm_create("t-pci", VMM_BACKEND_NULL, NULL);
	if (!f->bvm.cfg || !f->bvm.ports || !f->bvm.mmio || !f->bvm.ctx ||
	    vm_setup_memory(f->bvm.ctx, RAM_SIZE) != 0)
		return -1;
	for (; kv && kv[0]; kv += 2)
		if (config_set(f->bvm.cfg, kv[0], kv[1]) != 0)
			return -1;
	f->init_error = pci_emul_init_opts(&f->bvm, &o);
	return 0;
}

static int
fx_setup(struct fx *f, const char *const *kv)
{
	return fx_setup_sysfs(f, kv, NULL);
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
fx_dev(struct fx *f, int bus, int slot, int func)
{
	for (struct pci_devinst *pi = pci_next(&f->bvm, NULL); pi;
	    pi = pci_next(&f->bvm, pi))
		if (pi->pi_bus == bus && pi->pi_slot == slot &&
		    pi->pi_func == func)
			return pi;
	return NULL;
}

/* ---- Guest-style accesses ---- */

/* What a guest sees of a reply: inout.c cuts it to the access width. */
static uint64_t
width(uint64_t v, int size)
{
	return size >= 8 ? v : v & ((1ULL << (size * 8)) - 1);
}

static int
port_out(struct fx *f, uint16_t port, int size, uint64_t v)
{
	return io_dispatch(f->bvm.ports, NULL, true, port, size, &v);
}

static uint64_t
port_in(struct fx *f, uint16_t port, int size)
{
	uint64_t v = 0x5a5a5a5a;

	if (io_dispatch(f->bvm.ports, NULL, false, port, size, &v) != 0)
		return 0xdead;
	return width(v, size);
}

static uint32_t
conf1_addr(int bus, int slot, int func, int reg)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)slot << 11 |
	    (uint32_t)func << 8 | (uint32_t)(reg & 0xfc);
}

static uint64_t
c1_read(struct fx *f, int b, int s, int fn, int reg, int size)
{
	CHECK_EQ(port_out(f, 0xcf8, 4, conf1_addr(b, s, fn, reg)), 0);
	return port_in(f, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void
c1_write(struct fx *f, int b, int s, int fn, int reg, int size, uint32_t v)
{
	CHECK_EQ(port_out(f, 0xcf8, 4, conf1_addr(b, s, fn, reg)), 0);
	CHECK_EQ(port_out(f, (uint16_t)(0xcfc + (reg & 3)), size, v), 0);
}

static uint64_t
ecam_addr(int b, int s, int fn, int reg)
{
	return PCI_ECAM_BASE + ((uint64_t)b << 20) + ((uint64_t)s << 15) +
	    ((uint64_t)fn << 12) + (uint64_t)reg;
}

static uint64_t
ec_read(struct fx *f, int b, int s, int fn, int reg, int size)
{
	uint64_t v = 0x5a5a5a5a;

	if (io_dispatch(f->bvm.mmio, NULL, false, ecam_addr(b, s, fn, reg),
	    size, &v) != 0)
		return 0xdead;
	return width(v, size);
}

static void
ec_write(struct fx *f, int b, int s, int fn, int reg, int size, uint64_t v)
{
	CHECK_EQ(io_dispatch(f->bvm.mmio, NULL, true,
	    ecam_addr(b, s, fn, reg), size, &v), 0);
}

static uint64_t
mmio_read(struct fx *f, uint64_t addr, int size, int *err)
{
	uint64_t v = 0;

	*err = io_dispatch(f->bvm.mmio, NULL, false, addr, size, &v);
	return width(v, size);
}

static int
mmio_write(struct fx *f, uint64_t addr, int size, uint64_t v)
{
	return io_dispatch(f->bvm.mmio, NULL, true, addr, size, &v);
}

/* ---- Config mechanism #1 ---- */

TEST(conf1_address_register)
{
	struct fx f;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	/* Reserved bits 30:24 and 1:0 read as 0. */
	CHECK_EQ(port_out(&f, 0xcf8, 4, 0xffffffff), 0);
	CHECK_EQ(port_in(&f, 0xcf8, 4), 0x80fffffc);
	CHECK_EQ(port_out(&f, 0xcf8, 4, 0x00012345), 0);
	CHECK_EQ(port_in(&f, 0xcf8, 4), 0x00012344);
	/* A narrow access to 0xcf8 is not the register: ones, no change. */
	CHECK_EQ(port_in(&f, 0xcf8, 1), 0xff);
	CHECK_EQ(port_in(&f, 0xcf8, 2), 0xffff);
	CHECK_EQ(port_out(&f, 0xcf8, 1, 0x80), 0);
	CHECK_EQ(port_out(&f, 0xcf8, 2, 0x8000), 0);
	CHECK_EQ(port_in(&f, 0xcf8, 4), 0x00012344);
	fx_teardown(&f);
}

struct cf9_rec {
	int calls;
	uint64_t last;
};

static int
cf9_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct cf9_rec *r = arg;

	r->calls++;
	if (write)
		r->last = *val;
	else
		*val = 0x42;
	return 0;
}

TEST(conf1_other_ports_pass_through)
{
	struct cf9_rec rec = { 0 };
	struct io_region r = { .name = "reset", .base = 0xcf9, .size = 1,
		.handler = cf9_io, .arg = &rec };
	uint64_t v = 0;
	struct fx f;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	/* Nobody at 0xcf9-0xcfb yet: unhandled, the central policy decides. */
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, 0xcf9, 1, &v), -ENOENT);
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, true, 0xcfb, 1, &v), -ENOENT);
	CHECK_EQ(pci_conf1_register(&f.bvm, &r), 0);
	CHECK_EQ(port_in(&f, 0xcf9, 1), 0x42);
	CHECK_EQ(port_out(&f, 0xcf9, 1, 0x06), 0);
	CHECK_EQ(rec.calls, 2);
	CHECK_EQ(rec.last, 0x06);
	/* The dword register is unaffected. */
	CHECK_EQ(port_out(&f, 0xcf8, 4, 0x80000000), 0);
	CHECK_EQ(port_in(&f, 0xcfc, 4), 0x12751275);
	r.base = 0xcfc;
	CHECK_EQ(pci_conf1_register(&f.bvm, &r), -EINVAL);
	CHECK_EQ(pci_conf1_unregister(&f.bvm, 0xcf9), 0);
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, 0xcf9, 1, &v), -ENOENT);
	fx_teardown(&f);
}

TEST(conf1_byte_lanes)
{
	struct fx f;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0, 4), 0x12751275);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0, 4), 0x70008086);
	/* Each lane of the lpc's ID dword, then each word. */
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0, 1), 0x86);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 1, 1), 0x80);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 2, 1), 0x00);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 3, 1), 0x70);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0, 2), 0x8086);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 2, 2), 0x7000);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x0a, 2), 0x0601);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x0b, 1), 0x06);
	/* A word across the middle of the dword is misaligned: ones. */
	CHECK_EQ(c1_read(&f, 0, 31, 0, 1, 2), 0xffff);
	/* Cache line size and latency timer by lane, then as a dword. */
	c1_write(&f, 0, 31, 0, 0x0c, 1, 0x10);
	c1_write(&f, 0, 31, 0, 0x0d, 1, 0x40);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x0c, 4) & 0xffff, 0x4010);
	/* Interrupt line in lane 0 of 0x3c; the pin in lane 1 is RO. */
	c1_write(&f, 0, 31, 0, 0x3c, 2, 0x070b);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x3c, 4), 0x0000000b);
	fx_teardown(&f);
}

TEST(conf1_disabled_reads_ones)
{
	struct fx f;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	CHECK_EQ(port_out(&f, 0xcf8, 4, 0x0000003c), 0); /* no enable bit */
	CHECK_EQ(port_in(&f, 0xcfc, 4), 0xffffffff);
	CHECK_EQ(port_in(&f, 0xcfe, 2), 0xffff);
	CHECK_EQ(port_out(&f, 0xcfc, 1, 0x09), 0);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x3c, 1), 0xff);
	fx_teardown(&f);
}

/* ---- ECAM ---- */

TEST(ecam_matches_conf1)
{
	static const int slots[] = { 0, 3, 31 };
	static const char *const kv[] = {
		"pci.0.0.0.device", "hostbridge",
		"pci.0.3.0.device", "testdev",
		"pci.0.3.0.io", "0x20", "pci.0.3.0.mem32", "0x1000",
		"pci.0.3.0.msi", "4", "pci.0.3.0.msix", "8",
		"pci.0.31.0.device", "lpc",
		NULL,
	};
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0);
	for (size_t i = 0; i < 3; i++) {
		int s = slots[i];

		for (int reg = 0; reg < 0x100; reg += 4)
			CHECK_EQ(ec_read(&f, 0, s, 0, reg, 4),
			    c1_read(&f, 0, s, 0, reg, 4));
		for (int reg = 0; reg < 0x40; reg++)
			CHECK_EQ(ec_read(&f, 0, s, 0, reg, 1),
			    c1_read(&f, 0, s, 0, reg, 1));
		for (int reg = 0; reg < 0x40; reg += 2)
			CHECK_EQ(ec_read(&f, 0, s, 0, reg, 2),
			    c1_read(&f, 0, s, 0, reg, 2));
	}
	/* Extended space: no extended capabilities (a zero header). */
	CHECK_EQ(ec_read(&f, 0, 0, 0, 0x100, 4), 0);
	CHECK_EQ(ec_read(&f, 0, 0, 0, 0xffc, 4), 0);
	/* Writes through ECAM land where conf1 sees them. */
	ec_write(&f, 0, 31, 0, 0x3c, 1, 0x0e);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x3c, 1), 0x0e);
	/* Qword and misaligned accesses: ones. */
	CHECK_EQ(ec_read(&f, 0, 0, 0, 0, 8), ~0ULL);
	CHECK_EQ(ec_read(&f, 0, 0, 0, 2, 4), 0xffffffff);
	CHECK_EQ(ec_read(&f, 0, 0, 0, 3, 2), 0xffff);
	fx_teardown(&f);
}

TEST(absent_functions_read_ones)
{
	struct fx f;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	for (int s = 1; s < 31; s++) {
		CHECK_EQ(c1_read(&f, 0, s, 0, 0, 4), 0xffffffff);
		CHECK_EQ(ec_read(&f, 0, s, 0, 0, 4), 0xffffffff);
	}
	for (int fn = 1; fn < 8; fn++)
		CHECK_EQ(c1_read(&f, 0, 0, fn, 0, 2), 0xffff);
	CHECK_EQ(c1_read(&f, 7, 0, 0, 0, 4), 0xffffffff);
	CHECK_EQ(ec_read(&f, 255, 31, 7, 0xffc, 4), 0xffffffff);
	CHECK_EQ(ec_read(&f, 9, 1, 0, 0, 1), 0xff);
	/* Writes to nothing are dropped, without effect elsewhere. */
	c1_write(&f, 0, 5, 0, 0x04, 2, 0xffff);
	ec_write(&f, 3, 0, 0, 0x3c, 1, 0);
	CHECK_EQ(c1_read(&f, 0, 5, 0, 0, 4), 0xffffffff);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0, 4), 0x12751275);
	fx_teardown(&f);
}

TEST(readonly_fields_ignore_writes)
{
	struct fx f;
	struct pci_devinst *hb;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	hb = fx_dev(&f, 0, 0, 0);
	REQUIRE(hb != NULL);
	c1_write(&f, 0, 0, 0, 0x00, 4, 0xdeadbeef);
	c1_write(&f, 0, 0, 0, 0x08, 4, 0xffffffff);
	c1_write(&f, 0, 0, 0, 0x0e, 1, 0xff);
	c1_write(&f, 0, 0, 0, 0x34, 1, 0x00);
	c1_write(&f, 0, 0, 0, 0x2c, 4, 0x12345678);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x00, 4), 0x12751275);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x08, 4), 0x06000000);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x0e, 1), 0);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x34, 1), 0x40);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x2c, 4), 0);
	/* Command: only the defined bits stick; status bit 4 stays. */
	c1_write(&f, 0, 0, 0, 0x04, 4, 0xffffffff);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x04, 2), 0x0547);
	CHECK(c1_read(&f, 0, 0, 0, 0x06, 2) & PCIM_STATUS_CAPPRESENT);
	/* Status error bits are write-1-to-clear. */
	pci_set_cfgdata16(hb, PCIR_STATUS, 0xa010);
	c1_write(&f, 0, 0, 0, 0x06, 2, 0x0000);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x06, 2), 0xa010);
	c1_write(&f, 0, 0, 0, 0x06, 2, 0x8000);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x06, 2), 0x2010);
	c1_write(&f, 0, 0, 0, 0x04, 4, 0xffff0000);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x04, 4), 0x00100000);
	fx_teardown(&f);
}

TEST(multifunction_header_type)
{
	static const char *const kv[] = {
		"pci.0.0.0.device", "hostbridge",
		"pci.0.3.0.device", "testdev",
		"pci.0.3.2.device", "testdev",
		"pci.0.4.0.device", "testdev",
		"pci.0.5.1.device", "testdev", /* no function 0: as bhyve */
		NULL,
	};
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0);
	CHECK_EQ(c1_read(&f, 0, 3, 0, 0x0e, 1), 0x80);
	CHECK_EQ(c1_read(&f, 0, 3, 2, 0x0e, 1), 0x80);
	CHECK_EQ(ec_read(&f, 0, 3, 0, 0x0c, 4) >> 16 & 0xff, 0x80);
	CHECK_EQ(c1_read(&f, 0, 3, 1, 0x00, 4), 0xffffffff);
	CHECK_EQ(c1_read(&f, 0, 4, 0, 0x0e, 1), 0x00);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x0e, 1), 0x00);
	CHECK_EQ(c1_read(&f, 0, 5, 1, 0x00, 4), 0x10ff1af4);
	CHECK_EQ(c1_read(&f, 0, 5, 1, 0x0e, 1), 0x00);
	fx_teardown(&f);
}

/* ---- The host bridge and the LPC bridge ---- */

/* Walk the capability list; returns how many, IDs in ids[]. */
static int
walk_caps(struct fx *f, int b, int s, int fn, int *ids, int *offs, int max)
{
	int n = 0, off;

	if (!(c1_read(f, b, s, fn, PCIR_STATUS, 2) & PCIM_STATUS_CAPPRESENT))
		return 0;
	off = (int)c1_read(f, b, s, fn, PCIR_CAP_PTR, 1);
	while (off != 0 && n < max) {
		CHECK(off >= 0x40 && off <= 0xfc && (off & 3) == 0);
		ids[n] = (int)c1_read(f, b, s, fn, off, 1);
		offs[n++] = off;
		off = (int)c1_read(f, b, s, fn, off + 1, 1);
	}
	CHECK_EQ(off, 0);
	return n;
}

TEST(hostbridge_identity)
{
	static const char *const amd[] = {
		"pci.0.0.0.device", "hostbridge",
		"pci.0.0.0.pcireg.vendor", "0x1022",
		"pci.0.0.0.pcireg.device", "7432",
		NULL,
	};
	int ids[8], offs[8];
	struct fx f;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x00, 4), 0x12751275);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x08, 4) >> 8, 0x060000);
	/* One capability: PCI Express, version 2, root port. */
	REQUIRE(walk_caps(&f, 0, 0, 0, ids, offs, 8) == 1);
	CHECK_EQ(ids[0], PCIY_EXPRESS);
	CHECK_EQ(c1_read(&f, 0, 0, 0, offs[0] + 2, 2), 0x0042);
	CHECK_EQ(c1_read(&f, 0, 0, 0, offs[0] + 0x0c, 4), 0x411);
	fx_teardown(&f);

	REQUIRE(fx_setup(&f, amd) == 0 && f.init_error == 0);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0x00, 4), 0x74321022);
	fx_teardown(&f);
}

TEST(lpc_identity_and_options)
{
	static const char *const kv[] = {
		"pci.0.31.0.device", "lpc",
		"pci.0.31.0.pcireg.vendor", "1234",
		"pci.0.31.0.pcireg.revid", "0x05",
		"pci.0.31.0.pcireg.subvendor", "0xabcd",
		"pci.0.31.0.pcireg.subdevice", "ef01",
		NULL,
	};
	struct fx f;

	REQUIRE(fx_setup(&f, base_kv) == 0 && f.init_error == 0);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x08, 4), 0x06010000);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x2c, 4), 0);
	CHECK(pci_lpc_devinst(&f.bvm) == fx_dev(&f, 0, 31, 0));
	fx_teardown(&f);

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x00, 4), 0x70001234);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x08, 4), 0x06010005);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x2c, 4), 0xef01abcd);
	fx_teardown(&f);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

TEST(lpc_host_ids)
{
	static const char *const kv[] = {
		"pci.0.31.0.device", "lpc",
		"pci.0.31.0.pcireg.vendor", "host",
		"pci.0.31.0.pcireg.device", "host",
		"pci.0.31.0.pcireg.revid", "host",
		"pci.0.31.0.pcireg.subvendor", "host",
		"pci.0.31.0.pcireg.subdevice", "host",
		NULL,
	};
	char root[] = "/tmp/bhyve-test-sysfs-XXXXXX", dev[320];
	struct fx f;

	REQUIRE(mkdtemp(root) != NULL);
	/* No host bridge there: an error naming the key. */
	REQUIRE(fx_setup_sysfs(&f, kv, root) == 0);
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "pcireg.vendor") != NULL);
	CHECK(strstr(f.bvm.err, "0:31:0") != NULL);
	fx_teardown(&f);

	snprintf(dev, sizeof(dev), "%s/0000:00:1f.0", root);
	REQUIRE(mkdir(dev, 0700) == 0);
	write_file(dev, "vendor", "0x8086\n");
	write_file(dev, "device", "0x3a18\n");
	write_file(dev, "revision", "0x02\n");
	write_file(dev, "subsystem_vendor", "0x1028\n");
	write_file(dev, "subsystem_device", "0x0294\n");
	REQUIRE(fx_setup_sysfs(&f, kv, root) == 0);
	CHECK_EQ(f.init_error, 0);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x00, 4), 0x3a188086);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x08, 1), 0x02);
	CHECK_EQ(c1_read(&f, 0, 31, 0, 0x2c, 4), 0x02941028);
	fx_teardown(&f);

	/* The real host: either it has one (IDs copied) or it is named. */
	REQUIRE(fx_setup(&f, kv) == 0);
	if (access("/sys/bus/pci/devices/0000:00:1f.0/vendor", R_OK) != 0)
		CHECK(strstr(f.bvm.err, "pcireg.vendor=host") != NULL);
	else
		CHECK_EQ(f.init_error, 0);
	fx_teardown(&f);
	snprintf(dev, sizeof(dev), "rm -rf '%s'", root);
	CHECK_EQ(system(dev), 0);
}

/* ---- Start-up errors ---- */

/* Init with 'kv' must fail with an error containing each of 'want'. */
static void
check_init_error(const char *const *kv, const char *w1, const char *w2)
{
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	CHECK(f.init_error != 0);
	CHECK(f.bvm.pci == NULL);
	CHECK(strchr(f.bvm.err, '\n') == NULL);
	if (w1 && strstr(f.bvm.err, w1) == NULL)
		CHECK_STR(f.bvm.err, w1);
	if (w2 && strstr(f.bvm.err, w2) == NULL)
		CHECK_STR(f.bvm.err, w2);
	/* Nothing stays registered: the ports are free again. */
	CHECK(io_region_name(f.bvm.ports, 0xcf8) == NULL);
	CHECK(io_region_name(f.bvm.mmio, PCI_ECAM_BASE) == NULL);
	fx_teardown(&f);
}

TEST(config_errors_name_the_slot)
{
	static const char *const unknown[] = { "pci.0.3.0.device", "bogus",
		NULL };
	static const char *const pending[] = { "pci.0.4.0.device",
		"virtio-blk", NULL };
	static const char *const alias[] = { "pci.0.0.0.device",
		"amd_hostbridge", NULL };
	static const char *const nodev[] = { "pci.0.6.0.path", "x", NULL };
	static const char *const dup[] = { "pci.0.3.0.device", "testdev",
		"pci.0.03.0.device", "testdev", NULL };
	static const char *const lpc2[] = { "pci.0.30.0.device", "lpc",
		"pci.0.31.0.device", "lpc", NULL };
	static const char *const lpcbus[] = { "pci.1.31.0.device", "lpc",
		NULL };

	check_init_error(unknown, "0:3:0", "bogus");
	check_init_error(pending, "0:4:0", "virtio-blk");
	check_init_error(alias, "0:0:0", "amd_hostbridge");
	check_init_error(nodev, "0:6:0", "device");
	check_init_error(dup, "0:3:0", "pci.0.03.0");
	check_init_error(lpc2, "0:31:0", "only one");
	check_init_error(lpcbus, "1:31:0", "bus 0");
}

TEST(config_errors_bad_values)
{
	static const char *const vendor[] = { "pci.0.31.0.device", "lpc",
		"pci.0.31.0.pcireg.vendor", "zz", NULL };
	static const char *const big[] = { "pci.0.0.0.device", "hostbridge",
		"pci.0.0.0.pcireg.device", "0x10000", NULL };
	static const char *const rev[] = { "pci.0.31.0.device", "lpc",
		"pci.0.31.0.pcireg.revid", "0x100", NULL };
	static const char *const neg[] = { "pci.0.31.0.device", "lpc",
		"pci.0.31.0.pcireg.subvendor", "-1", NULL };
	static const char *const key[] = { "pci.0.31.0.device", "lpc",
		"pci.0.31.0.pcireg.class", "0x06", NULL };
	static const char *const hbhost[] = { "pci.0.0.0.device",
		"hostbridge", "pci.0.0.0.pcireg.vendor", "host", NULL };
	static const char *const slot[] = { "pci.0.32.0.device", "lpc",
		NULL };
	static const char *const func[] = { "pci.0.3.x.device", "lpc",
		NULL };
	static const char *const bus[] = { "pci.bus.3.0.device", "lpc",
		NULL };
	static const char *const bars[] = { "pci.enable_bars", "maybe",
		NULL };

	check_init_error(vendor, "0:31:0", "pcireg.vendor 'zz'");
	check_init_error(big, "0:0:0", "pcireg.device");
	check_init_error(rev, "0:31:0", "pcireg.revid");
	check_init_error(neg, "0:31:0", "pcireg.subvendor");
	check_init_error(key, "0:31:0", "pcireg.class");
	check_init_error(hbhost, "0:0:0", "pcireg.vendor 'host'");
	check_init_error(slot, "pci.0.32", "slot");
	check_init_error(func, "pci.0.3.x", "func");
	check_init_error(bus, "pci.bus", "bus");
	check_init_error(bars, "pci.enable_bars", "maybe");
}

TEST(device_init_failure_is_named)
{
	/* msi=3 is not a power of two: the test device refuses. */
	static const char *const kv[] = { "pci.0.0.0.device", "hostbridge",
		"pci.0.9.0.device", "testdev", "pci.0.9.0.io", "16",
		"pci.0.9.0.msi", "3", NULL };

	check_init_error(kv, "pci slot 0:9:0 testdev", "bad test config");
}

TEST(no_devices_still_answers)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && f.init_error == 0);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0, 4), 0xffffffff);
	CHECK_EQ(ec_read(&f, 0, 0, 0, 0, 4), 0xffffffff);
	CHECK(!pci_bus_configured(&f.bvm, 0));
	CHECK(pci_next(&f.bvm, NULL) == NULL);
	fx_teardown(&f);
}

/* ---- BARs ---- */

static const char *const bar_kv[] = {
	"pci.0.0.0.device", "hostbridge",
	"pci.0.3.0.device", "testdev",
	"pci.0.3.0.io", "0x20",
	"pci.0.3.0.mem32", "0x1000",
	"pci.0.3.0.mem64", "0x4000",
	"pci.0.3.0.pf", "1",
	"pci.0.4.0.device", "testdev",
	"pci.0.4.0.mem32", "0x100000",
	"pci.0.4.0.mem64", "0x10000000", /* 256 MiB: above 4 GiB */
	"pci.0.4.0.io", "3",		 /* rounds up to 4 */
	NULL,
};

/* Write all ones, read the size mask back, restore. */
static uint32_t
size_bar(struct fx *f, int s, int bar)
{
	int reg = PCIR_BAR(bar);
	uint32_t old = (uint32_t)c1_read(f, 0, s, 0, reg, 4), mask;

	c1_write(f, 0, s, 0, reg, 4, 0xffffffff);
	mask = (uint32_t)c1_read(f, 0, s, 0, reg, 4);
	c1_write(f, 0, s, 0, reg, 4, old);
	CHECK_EQ(c1_read(f, 0, s, 0, reg, 4), old);
	return mask;
}

TEST(bar_sizing_every_kind)
{
	struct fx f;

	REQUIRE(fx_setup(&f, bar_kv) == 0 && f.init_error == 0);
	/* Sizing with decoding on, as some guests do. */
	CHECK_EQ(size_bar(&f, 3, 0), 0x0000ffe1);	/* I/O, 32 bytes */
	CHECK_EQ(size_bar(&f, 3, 1), 0xfffff000);	/* MEM32, 4 KiB */
	CHECK_EQ(size_bar(&f, 3, 2), 0xffffc00c);	/* MEM64 pf, 16 KiB */
	CHECK_EQ(size_bar(&f, 3, 3), 0xffffffff);	/* its upper half */
	CHECK_EQ(size_bar(&f, 3, 4), 0);		/* unused */
	CHECK_EQ(size_bar(&f, 3, 5), 0);
	CHECK_EQ(size_bar(&f, 4, 0), 0x0000fffd);	/* I/O, 4 bytes */
	CHECK_EQ(size_bar(&f, 4, 1), 0xfff00000);	/* MEM32, 1 MiB */
	CHECK_EQ(size_bar(&f, 4, 2), 0xf0000004);	/* MEM64, 256 MiB */
	CHECK_EQ(size_bar(&f, 4, 3), 0xffffffff);
	/* Sizing through ECAM gives the same; restored, it decodes again. */
	{
		struct pci_devinst *pi = fx_dev(&f, 0, 3, 0);
		uint64_t addr = pi->pi_bar[1].addr;
		int err;

		ec_write(&f, 0, 3, 0, PCIR_BAR(1), 4, 0xffffffff);
		CHECK_EQ(ec_read(&f, 0, 3, 0, PCIR_BAR(1), 4), 0xfffff000);
		ec_write(&f, 0, 3, 0, PCIR_BAR(1), 4, addr);
		CHECK_EQ(mmio_read(&f, addr + 0x10, 4, &err),
		    (1u << 24) | 0x10);
		CHECK_EQ(err, 0);
	}
	fx_teardown(&f);
}

TEST(bar_placement_in_windows)
{
	struct pci_windows w, bw;
	struct pci_devinst *a, *b;
	struct fx f;

	REQUIRE(fx_setup(&f, bar_kv) == 0 && f.init_error == 0);
	a = fx_dev(&f, 0, 3, 0);
	b = fx_dev(&f, 0, 4, 0);
	REQUIRE(a && b);
	REQUIRE(pci_emul_windows(&f.bvm, &w) == 0);
	CHECK_EQ(w.io.base, 0x3000);
	CHECK_EQ(w.io.limit, 0x10000);
	CHECK_EQ(w.mem32.base, RAM_SIZE);
	CHECK_EQ(w.mem32.limit, 0xe0000000);
	CHECK_EQ(w.mem64.base, 32 * GiB);
	CHECK_EQ(w.mem64.limit, 64 * GiB);
	/* Largest first, each aligned to its size. */
	CHECK_EQ(b->pi_bar[1].addr, RAM_SIZE);
	CHECK_EQ(a->pi_bar[2].addr, RAM_SIZE + MiB);
	CHECK_EQ(a->pi_bar[1].addr, RAM_SIZE + MiB + 0x4000);
	CHECK_EQ(b->pi_bar[2].addr, 32 * GiB);
	CHECK_EQ(a->pi_bar[0].addr, 0x3000);
	CHECK_EQ(b->pi_bar[0].addr, 0x3020);
	CHECK_EQ(b->pi_bar[0].size, 4);
	/* The registers hold them, with the type bits. */
	CHECK_EQ(c1_read(&f, 0, 3, 0, PCIR_BAR(0), 4), 0x3001);
	CHECK_EQ(c1_read(&f, 0, 3, 0, PCIR_BAR(2), 4),
	    (RAM_SIZE + MiB) | 0xc);
	CHECK_EQ(c1_read(&f, 0, 3, 0, PCIR_BAR(3), 4), 0);
	CHECK_EQ(c1_read(&f, 0, 4, 0, PCIR_BAR(2), 4), 0x4);
	CHECK_EQ(c1_read(&f, 0, 4, 0, PCIR_BAR(3), 4), 8);
	/* Bus 0 decodes what was placed, plus room. */
	REQUIRE(pci_bus_windows(&f.bvm, 0, &bw) == 0);
	CHECK_EQ(bw.io.base, 0x3000);
	CHECK(bw.io.limit >= 0x3024 && bw.io.limit <= 0x10000);
	CHECK_EQ(bw.mem32.base, RAM_SIZE);
	CHECK(bw.mem32.limit >= RAM_SIZE + MiB + 0x5000);
	CHECK_EQ(bw.mem64.base, 32 * GiB);
	CHECK(bw.mem64.limit >= 32 * GiB + 0x10000000);
	CHECK_EQ(pci_bus_windows(&f.bvm, 1, &bw), -ENOENT);
	CHECK_EQ(pci_ecam_base(), 0xe0000000);
	fx_teardown(&f);
}

TEST(bar_windows_follow_memory)
{
	static const char *const kv[] = { "pci.0.3.0.device", "testdev",
		"pci.0.3.0.mem32", "0x1000", NULL };
	struct pci_windows w;
	struct fx f;

	*&f = (struct fx){ 0 };
	f.bvm.cfg = config_new();
	f.bvm.ports = io_registry_create(0x10000);
	f.bvm.mmio = io_registry_create(UINT64_MAX);
	f.bvm.ctx = vm_create("t-pci-big", VMM_BACKEND_NULL, NULL);
	REQUIRE(f.bvm.ctx && vm_setup_memory(f.bvm.ctx, 3 * GiB + 29 * GiB)
	    == 0);
	for (const char *const *p = kv; *p; p += 2)
		REQUIRE(config_set(f.bvm.cfg, p[0], p[1]) == 0);
	{
		struct pci_emul_opts o = { .extra = test_emus, .nextra = 1,
			.intr_ops = &rec_ops, .intr_arg = &f.msi };

		REQUIRE(pci_emul_init_opts(&f.bvm, &o) == 0);
	}
	REQUIRE(pci_emul_windows(&f.bvm, &w) == 0);
	/* 3 GiB low, 29 GiB from 4 GiB: high RAM ends at 33 GiB. */
	CHECK_EQ(w.mem32.base, 3 * GiB);
	CHECK_EQ(w.mem64.base, 64 * GiB);
	CHECK_EQ(fx_dev(&f, 0, 3, 0)->pi_bar[1].addr, 3 * GiB);
	fx_teardown(&f);
}

TEST(bar_decode_enable_disable)
{
	struct pci_devinst *pi;
	struct tdev *sc;
	uint64_t io, m32, m64;
	int err;
	struct fx f;

	REQUIRE(fx_setup(&f, bar_kv) == 0 && f.init_error == 0);
	pi = fx_dev(&f, 0, 3, 0);
	REQUIRE(pi);
	sc = pi->pi_arg;
	io = pi->pi_bar[0].addr;
	m32 = pi->pi_bar[1].addr;
	m64 = pi->pi_bar[2].addr;
	/* Decoding from the start (no boot ROM), bus master too. */
	CHECK_EQ(c1_read(&f, 0, 3, 0, PCIR_COMMAND, 2), 0x0007);
	CHECK_STR(io_region_name(f.bvm.ports, io), "testdev@pci.0.3.0");
	CHECK_EQ(port_in(&f, (uint16_t)(io + 4), 2), 4);
	CHECK_EQ(mmio_read(&f, m32 + 0x10, 4, &err), (1u << 24) | 0x10);
	CHECK_EQ(mmio_read(&f, m64 + 0x3ff8, 8, &err), (2u << 24) | 0x3ff8);
	CHECK_EQ(port_out(&f, (uint16_t)(io + 2), 1, 0xab), 0);
	CHECK_EQ(sc->last_bar, 0);
	CHECK_EQ(sc->last_off, 2);
	CHECK_EQ(sc->last_val, 0xab);
	CHECK(sc->baraddr_on[0] && sc->baraddr_on[1] && sc->baraddr_on[2]);
	CHECK(!sc->baraddr_on[3]);
	/* I/O off: the ports go, memory stays. */
	c1_write(&f, 0, 3, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	CHECK(io_region_name(f.bvm.ports, io) == NULL);
	CHECK_EQ(port_in(&f, (uint16_t)io, 1), 0xdead);
	CHECK(!sc->baraddr_on[0]);
	mmio_read(&f, m32, 4, &err);
	CHECK_EQ(err, 0);
	/* Memory off too; then both back. */
	c1_write(&f, 0, 3, 0, PCIR_COMMAND, 1, 0);
	mmio_read(&f, m32, 4, &err);
	CHECK_EQ(err, -ENOENT);
	mmio_read(&f, m64, 4, &err);
	CHECK_EQ(err, -ENOENT);
	CHECK(!sc->baraddr_on[1] && !sc->baraddr_on[2]);
	c1_write(&f, 0, 3, 0, PCIR_COMMAND, 2, 3);
	CHECK_EQ(port_in(&f, (uint16_t)io, 4), 0);
	CHECK_EQ(mmio_read(&f, m64 + 8, 4, &err), (2u << 24) | 8);
	CHECK(sc->baraddr_on[0] && sc->baraddr_on[1] && sc->baraddr_on[2]);
	CHECK_EQ(sc->baraddr_at[2], m64);
	fx_teardown(&f);
}

TEST(bar_enable_bars_false)
{
	static const char *const kv[] = { "pci.enable_bars", "false",
		"pci.0.3.0.device", "testdev", "pci.0.3.0.mem32", "0x1000",
		NULL };
	struct pci_devinst *pi;
	int err;
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0);
	pi = fx_dev(&f, 0, 3, 0);
	CHECK_EQ(c1_read(&f, 0, 3, 0, PCIR_COMMAND, 2), 0);
	mmio_read(&f, pi->pi_bar[1].addr, 4, &err);
	CHECK_EQ(err, -ENOENT);
	c1_write(&f, 0, 3, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	mmio_read(&f, pi->pi_bar[1].addr, 4, &err);
	CHECK_EQ(err, 0);
	fx_teardown(&f);
}

TEST(bar_moves)
{
	struct pci_devinst *a, *b;
	struct tdev *sc;
	uint64_t old, bold;
	int err, calls;
	struct fx f;

	REQUIRE(fx_setup(&f, bar_kv) == 0 && f.init_error == 0);
	a = fx_dev(&f, 0, 3, 0);
	b = fx_dev(&f, 0, 4, 0);
	sc = a->pi_arg;
	old = a->pi_bar[1].addr;
	bold = b->pi_bar[1].addr;
	/* An ordinary move: old address dead, new one live. */
	calls = sc->baraddr_calls;
	c1_write(&f, 0, 3, 0, PCIR_BAR(1), 4, 0xd0000000);
	mmio_read(&f, old, 4, &err);
	CHECK_EQ(err, -ENOENT);
	CHECK_EQ(mmio_read(&f, 0xd0000ffc, 4, &err), (1u << 24) | 0xffc);
	CHECK_EQ(sc->baraddr_calls, calls + 2);
	CHECK_EQ(sc->baraddr_at[1], 0xd0000000);
	/* Onto the other device's BAR: refused, left undecoded. */
	c1_write(&f, 0, 3, 0, PCIR_BAR(1), 4, (uint32_t)bold);
	CHECK_EQ(c1_read(&f, 0, 3, 0, PCIR_BAR(1), 4), bold);
	CHECK(!a->pi_bar[1].decoded && !sc->baraddr_on[1]);
	mmio_read(&f, 0xd0000000, 4, &err);
	CHECK_EQ(err, -ENOENT);
	CHECK_EQ(mmio_read(&f, bold + 0x20, 4, &err), (1u << 24) | 0x20);
	CHECK_STR(io_region_name(f.bvm.mmio, bold), "testdev@pci.0.4.0");
	/* Onto ECAM: refused; config space still works. */
	c1_write(&f, 0, 3, 0, PCIR_BAR(1), 4, 0xe0000000);
	CHECK_EQ(ec_read(&f, 0, 0, 0, 0, 4), 0x12751275);
	/* Away again: decoded at once. */
	c1_write(&f, 0, 3, 0, PCIR_BAR(1), 4, 0xd1000000);
	CHECK_EQ(mmio_read(&f, 0xd1000000, 4, &err), 1u << 24);
	CHECK(sc->baraddr_on[1]);
	/* The I/O BAR onto 0xcf8: refused, mechanism #1 unharmed. */
	c1_write(&f, 0, 3, 0, PCIR_BAR(0), 4, 0xce0);
	CHECK(!a->pi_bar[0].decoded);
	c1_write(&f, 0, 3, 0, PCIR_BAR(0), 4, 0xcf8);
	CHECK_EQ(c1_read(&f, 0, 3, 0, PCIR_BAR(0), 4), 0xce1);
	CHECK_EQ(c1_read(&f, 0, 0, 0, 0, 4), 0x12751275);
	/* A 64-bit BAR moved above 4 GiB, one half at a time. */
	c1_write(&f, 0, 3, 0, PCIR_BAR(3), 4, 0x10);
	c1_write(&f, 0, 3, 0, PCIR_BAR(2), 4, 0x8000);
	CHECK_EQ(a->pi_bar[2].addr, 0x1000008000ULL);
	CHECK_EQ(mmio_read(&f, 0x1000008004ULL, 4, &err), (2u << 24) | 4);
	CHECK_EQ(err, 0);
	/* Up against the top of the address space: refused, no crash. */
	c1_write(&f, 0, 3, 0, PCIR_BAR(3), 4, 0xffffffff);
	c1_write(&f, 0, 3, 0, PCIR_BAR(2), 4, 0xffffffff);
	CHECK_EQ(a->pi_bar[2].addr, 0xffffffffffffc000ULL);
	fx_teardown(&f);
}

/* ---- Capabilities, MSI, MSI-X ---- */

static const char *const msi_kv[] = {
	"pci.0.3.0.device", "testdev",
	"pci.0.3.0.msi", "4", "pci.0.3.0.msiflags", "3",
	"pci.0.3.0.msix", "70",
	"pci.0.3.0.pcie", "1",
	"pci.0.4.0.device", "testdev",
	"pci.0.4.0.msi", "2",
	NULL,
};

TEST(capability_list_walk)
{
	int ids[8], offs[8], n;
	struct fx f;

	REQUIRE(fx_setup(&f, msi_kv) == 0 && f.init_error == 0);
	n = walk_caps(&f, 0, 3, 0, ids, offs, 8);
	REQUIRE(n == 3);
	CHECK_EQ(ids[0], PCIY_MSI);
	CHECK_EQ(ids[1], PCIY_MSIX);
	CHECK_EQ(ids[2], PCIY_EXPRESS);
	CHECK_EQ(offs[0], 0x40);
	CHECK_EQ(offs[1], 0x40 + 24);	/* 64-bit maskable MSI: 24 bytes */
	CHECK_EQ(offs[2], 0x40 + 24 + 12);
	/* Integrated endpoint on bus 0. */
	CHECK_EQ(c1_read(&f, 0, 3, 0, offs[2] + 2, 1), 0x92);
	/* The ID and next pointer are read-only, even in a dword write. */
	c1_write(&f, 0, 3, 0, offs[0], 4, 0x00000000);
	CHECK_EQ(c1_read(&f, 0, 3, 0, offs[0], 2), 0x5805);
	n = walk_caps(&f, 0, 4, 0, ids, offs, 8);
	CHECK_EQ(n, 1);
	CHECK_EQ(c1_read(&f, 0, 4, 0, 0x40 + 2, 2), 0x0002); /* 32-bit, 2 */
	fx_teardown(&f);
}

TEST(msi_delivery_and_masking)
{
	struct pci_devinst *pi, *pi2;
	const int cap = 0x40;
	struct fx f;

	REQUIRE(fx_setup(&f, msi_kv) == 0 && f.init_error == 0);
	pi = fx_dev(&f, 0, 3, 0);
	pi2 = fx_dev(&f, 0, 4, 0);
	/* 64-bit, maskable, 4 messages offered (MMC=2). */
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 2, 2), 0x0184);
	CHECK_EQ(pci_generate_msi(pi, 0), -EINVAL); /* not enabled */
	CHECK_EQ(f.msi.n, 0);
	c1_write(&f, 0, 3, 0, cap + 4, 4, 0xfee01003); /* bits 1:0 RO */
	c1_write(&f, 0, 3, 0, cap + 8, 4, 0x1);
	c1_write(&f, 0, 3, 0, cap + 12, 2, 0x4440);
	/* Enable with MME=2 (4); RO bits of control stay put. */
	c1_write(&f, 0, 3, 0, cap + 2, 2, 0xfe21);
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 2, 2), 0x01a5);
	CHECK(pci_msi_enabled(pi));
	CHECK_EQ(pci_msi_maxmsgnum(pi), 4);
	CHECK_EQ(pci_generate_msi(pi, 3), 0);
	REQUIRE(f.msi.n == 1);
	CHECK_EQ(f.msi.addr[0], 0x1fee01000ULL);
	CHECK_EQ(f.msi.data[0], 0x4443);
	CHECK_EQ(pci_generate_msi(pi, 4), -EINVAL);
	/* Masked vector 1: pending, then sent on unmask. */
	c1_write(&f, 0, 3, 0, cap + 0x10, 4, 0xffffffff);
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 0x10, 4), 0xf);
	c1_write(&f, 0, 3, 0, cap + 0x10, 4, 0x2);
	CHECK_EQ(pci_generate_msi(pi, 1), 0);
	CHECK_EQ(f.msi.n, 1);
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 0x14, 4), 0x2);
	c1_write(&f, 0, 3, 0, cap + 0x14, 4, 0); /* pending is RO */
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 0x14, 4), 0x2);
	c1_write(&f, 0, 3, 0, cap + 0x10, 4, 0);
	REQUIRE(f.msi.n == 2);
	CHECK_EQ(f.msi.data[1], 0x4441);
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 0x14, 4), 0);
	/* MME beyond MMC grants what is offered. */
	c1_write(&f, 0, 3, 0, cap + 2, 2, 0x0071);
	CHECK_EQ(pci_msi_maxmsgnum(pi), 4);
	/* The 32-bit capability: data at +8. */
	c1_write(&f, 0, 4, 0, cap + 4, 4, 0xfee00000);
	c1_write(&f, 0, 4, 0, cap + 8, 2, 0x31);
	c1_write(&f, 0, 4, 0, cap + 2, 2, 0x0011);
	CHECK_EQ(pci_generate_msi(pi2, 1), 0);
	REQUIRE(f.msi.n == 3);
	CHECK_EQ(f.msi.addr[2], 0xfee00000);
	CHECK_EQ(f.msi.data[2], 0x31);
	/* Disabled again: nothing. */
	c1_write(&f, 0, 4, 0, cap + 2, 2, 0);
	CHECK_EQ(pci_generate_msi(pi2, 0), -EINVAL);
	CHECK_EQ(f.msi.n, 3);
	fx_teardown(&f);
}

TEST(msix_table_and_pba)
{
	struct pci_devinst *pi;
	const int cap = 0x58;
	uint64_t tbl, pba;
	int err;
	struct fx f;

	REQUIRE(fx_setup(&f, msi_kv) == 0 && f.init_error == 0);
	pi = fx_dev(&f, 0, 3, 0);
	/* 70 vectors: table size 69, BIR 4, PBA at 4 KiB after it. */
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 2, 2), 69);
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 4, 4), 4);
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 8, 4), 0x1000 | 4);
	CHECK_EQ(pi->pi_bar[4].size, 0x2000);
	tbl = pi->pi_bar[4].addr;
	pba = tbl + 0x1000;
	/* Every vector starts masked. */
	CHECK_EQ(mmio_read(&f, tbl + 12, 4, &err), 1);
	CHECK_EQ(mmio_read(&f, tbl + 69 * 16 + 12, 4, &err), 1);
	/* Entry 5 by dwords, entry 6 by qwords; a word write is ignored. */
	CHECK_EQ(mmio_write(&f, tbl + 5 * 16, 4, 0xfee00000), 0);
	CHECK_EQ(mmio_write(&f, tbl + 5 * 16 + 4, 4, 0), 0);
	CHECK_EQ(mmio_write(&f, tbl + 5 * 16 + 8, 4, 0x45), 0);
	CHECK_EQ(mmio_write(&f, tbl + 5 * 16 + 12, 4, 0xfffffffe), 0);
	CHECK_EQ(mmio_write(&f, tbl + 6 * 16, 8, 0x00000001fee0100cULL), 0);
	CHECK_EQ(mmio_write(&f, tbl + 6 * 16 + 8, 8, 0x0000000100000046ULL),
	    0);
	CHECK_EQ(mmio_write(&f, tbl + 6 * 16 + 8, 2, 0xffff), 0);
	CHECK_EQ(mmio_read(&f, tbl + 5 * 16 + 8, 8, &err), 0x45);
	CHECK_EQ(mmio_read(&f, tbl + 6 * 16, 8, &err), 0x1fee0100cULL);
	CHECK_EQ(mmio_read(&f, tbl + 6 * 16 + 8, 4, &err), 0x46);
	CHECK_EQ(mmio_read(&f, tbl + 6 * 16 + 12, 4, &err), 1);
	CHECK_EQ(mmio_read(&f, tbl + 6 * 16 + 2, 4, &err), 0xffffffff);
	/* Beyond the table, the device's BAR handler answers. */
	CHECK_EQ(mmio_read(&f, tbl + 0x800, 4, &err), (4u << 24) | 0x800);
	CHECK_EQ(mmio_read(&f, pba + 0x10, 4, &err), (4u << 24) | 0x1010);
	/* Not enabled yet: refused. */
	CHECK_EQ(pci_generate_msix(pi, 5), -EINVAL);
	c1_write(&f, 0, 3, 0, cap + 2, 2, 0xffff); /* enable + fn mask */
	CHECK_EQ(c1_read(&f, 0, 3, 0, cap + 2, 2), 0xc045);
	CHECK(pci_msix_enabled(pi));
	/* Function mask: pending, then sent when lifted. */
	CHECK_EQ(pci_generate_msix(pi, 5), 0);
	CHECK_EQ(f.msi.n, 0);
	CHECK_EQ(mmio_read(&f, pba, 8, &err), 1ULL << 5);
	c1_write(&f, 0, 3, 0, cap + 2, 2, 0x8000);
	REQUIRE(f.msi.n == 1);
	CHECK_EQ(f.msi.addr[0], 0xfee00000);
	CHECK_EQ(f.msi.data[0], 0x45);
	CHECK_EQ(mmio_read(&f, pba, 8, &err), 0);
	/* Vector mask: entry 6 is masked; generate, then unmask by dword. */
	CHECK_EQ(pci_generate_msix(pi, 6), 0);
	CHECK_EQ(pci_generate_msix(pi, 69), 0); /* masked too */
	CHECK_EQ(mmio_read(&f, pba, 4, &err), 1u << 6);
	CHECK_EQ(mmio_read(&f, pba + 8, 8, &err), 1ULL << 5);
	CHECK_EQ(mmio_write(&f, pba, 8, 0), 0); /* read-only */
	CHECK_EQ(mmio_read(&f, pba, 8, &err), 1ULL << 6);
	CHECK_EQ(f.msi.n, 1);
	CHECK_EQ(mmio_write(&f, tbl + 6 * 16 + 12, 4, 0), 0);
	REQUIRE(f.msi.n == 2);
	CHECK_EQ(f.msi.addr[1], 0x1fee0100cULL);
	CHECK_EQ(f.msi.data[1], 0x46);
	CHECK_EQ(mmio_read(&f, pba, 8, &err), 0);
	/* Unmasked: straight out. */
	CHECK_EQ(pci_generate_msix(pi, 6), 0);
	CHECK_EQ(f.msi.n, 3);
	CHECK_EQ(pci_generate_msix(pi, 70), -EINVAL);
	/* MSI enabled too: MSI wins, MSI-X is off. */
	c1_write(&f, 0, 3, 0, 0x42, 2, 0x0001);
	CHECK(!pci_msix_enabled(pi));
	CHECK_EQ(pci_generate_msix(pi, 6), -EINVAL);
	fx_teardown(&f);
}

TEST(alloc_bar_rejects_misuse)
{
	static const char *const kv[] = { "pci.0.3.0.device", "testdev",
		"pci.0.3.0.mem64", "0x1000", NULL };
	struct pci_devinst *pi;
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0 && f.init_error == 0);
	pi = fx_dev(&f, 0, 3, 0);
	CHECK_EQ(pci_emul_alloc_bar(pi, 2, PCIBAR_IO, 4), -EEXIST);
	CHECK_EQ(pci_emul_alloc_bar(pi, 3, PCIBAR_IO, 4), -EEXIST);
	CHECK_EQ(pci_emul_alloc_bar(pi, 5, PCIBAR_MEM64, 16), -EINVAL);
	CHECK_EQ(pci_emul_alloc_bar(pi, 6, PCIBAR_IO, 4), -EINVAL);
	CHECK_EQ(pci_emul_alloc_bar(pi, 0, PCIBAR_MEMHI64, 16), -EINVAL);
	CHECK_EQ(pci_emul_alloc_bar(pi, 0, PCIBAR_IO, 0x20000), -EINVAL);
	CHECK_EQ(pci_emul_alloc_bar_prefetch(pi, 0, PCIBAR_IO, 4), -EINVAL);
	CHECK_EQ(pci_emul_add_msicap(pi, 64, 0), -EINVAL);
	CHECK_EQ(pci_emul_add_msixcap(pi, 0, 0), -EINVAL);
	fx_teardown(&f);
}

TEST(no_room_for_bars)
{
	static const char *const kv[] = { "pci.0.3.0.device", "testdev",
		"pci.0.3.0.mem32", "0x40000000", "pci.0.4.0.device", "testdev",
		"pci.0.4.0.mem32", "0x80000000", NULL };

	check_init_error(kv, "no room for BAR 1", "0:4:0");
}

TEST_MAIN(
	TEST_ENTRY(conf1_address_register)
	TEST_ENTRY(conf1_other_ports_pass_through)
	TEST_ENTRY(conf1_byte_lanes)
	TEST_ENTRY(conf1_disabled_reads_ones)
	TEST_ENTRY(ecam_matches_conf1)
	TEST_ENTRY(absent_functions_read_ones)
	TEST_ENTRY(readonly_fields_ignore_writes)
	TEST_ENTRY(multifunction_header_type)
	TEST_ENTRY(hostbridge_identity)
	TEST_ENTRY(lpc_identity_and_options)
	TEST_ENTRY(lpc_host_ids)
	TEST_ENTRY(config_errors_name_the_slot)
	TEST_ENTRY(config_errors_bad_values)
	TEST_ENTRY(device_init_failure_is_named)
	TEST_ENTRY(no_devices_still_answers)
	TEST_ENTRY(bar_sizing_every_kind)
	TEST_ENTRY(bar_placement_in_windows)
	TEST_ENTRY(bar_windows_follow_memory)
	TEST_ENTRY(bar_decode_enable_disable)
	TEST_ENTRY(bar_enable_bars_false)
	TEST_ENTRY(bar_moves)
	TEST_ENTRY(capability_list_walk)
	TEST_ENTRY(msi_delivery_and_masking)
	TEST_ENTRY(msix_table_and_pba)
	TEST_ENTRY(alloc_bar_rejects_misuse)
	TEST_ENTRY(no_room_for_bars)
)
