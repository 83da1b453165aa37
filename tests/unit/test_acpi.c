/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ACPI tables: the platform description taken from a null-backend VM
 * and its config, every table's length, checksum and fields, the MADT per
 * topology, the DSDT's objects, QEMU's table-loader script replayed as a
 * firmware would, installation in guest RAM and fw_cfg, and an
 * independent check: iasl (Debian's acpica-tools) disassembles every
 * table without a complaint and recompiles the DSDT.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acpi.h"
#include "acpi_aml.h"
#include "bhyverun.h"
#include "config.h"
#include "fwcfg.h"
#include "io/vhpet.h"
#include "io/vpmtmr.h"
#include "iomem.h"
#include "mevent.h"
#include "test.h"
#include "uuid.h"
#include "vmm_internal.h"
#include "vmmapi.h"
#include "vmmapi_internal.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

struct fx {
	struct bhyve_vm bvm;
	struct acpi_platform *p;
	void *fwcfg;
	int error; /* acpi_platform_init()'s */
};

/*
 * A VM of sockets x cores x threads vCPUs and 'mem' bytes, the config
 * pairs in kv (NULL-terminated), fw_cfg when lpc.fwcfg=qemu is among
 * them, and the platform description made from it all.
 */
static int
fx_setup(struct fx *f, int s, int c, int t, uint64_t mem,
    const char *const *kv)
{
	int n = s * c * t;

	*f = (struct fx){ .bvm = { .ncpus = n } };
	f->bvm.cfg = config_new();
	f->bvm.ports = io_registry_create(0x10000);
	f->bvm.mev = mevent_create();
	f->bvm.ctx = vm_create("t-acpi", VMM_BACKEND_NULL, NULL);
	f->p = calloc(1, sizeof(*f->p));
	if (f->bvm.cfg == NULL || f->bvm.ports == NULL || f->bvm.ctx == NULL ||
	    f->bvm.mev == NULL || f->p == NULL)
		return -1;
	if (vm_set_topology(f->bvm.ctx, s, c, t, n) != 0 ||
	    vm_setup_memory(f->bvm.ctx, mem) != 0)
		return -1;
	for (; kv && kv[0]; kv += 2)
		if (config_set(f->bvm.cfg, kv[0], kv[1]) != 0)
			return -1;
	if (fwcfg_device.enabled(&f->bvm) &&
	    fwcfg_device.init(&f->bvm, &f->fwcfg) != 0)
		return -1;
	f->error = acpi_platform_init(&f->bvm, f->p);
	return 0;
}

static void
fx_teardown(struct fx *f)
{
	if (f->fwcfg)
		fwcfg_device.destroy(f->fwcfg);
	free(f->p);
	io_registry_destroy(f->bvm.ports);
	mevent_destroy(f->bvm.mev);
	config_free(f->bvm.cfg);
	vm_destroy(f->bvm.ctx);
}

/* PCI as the framework describes bus 0 with a few devices and an LPC. */
static void
fx_pci(struct acpi_platform *p, int nslots)
{
	struct acpi_pci *pci = &p->pci;

	pci->present = true;
	pci->ecam_base = 0xe0000000;
	pci->bus_min = 0;
	pci->bus_max = 255;
	pci->io = (struct acpi_window){ 0x3000, 0x10000 };
	pci->mem32 = (struct acpi_window){ 0xc0000000, 0xe0000000 };
	pci->mem64 = (struct acpi_window){ 32 * GiB, 64 * GiB };
	pci->lpc = true;
	pci->lpc_slot = 31;
	pci->link_irqs = 0xdef8;
	for (int s = 0; s < nslots; s++)
		for (int pin = 0; pin < 4; pin++) {
			struct acpi_prt *r = &pci->prt[pci->nprt++];
			int link = (s + pin) % 8;

			*r = (struct acpi_prt){ .slot = (uint8_t)s,
				.pin = (uint8_t)pin, .link = (uint8_t)link,
				.gsi = (uint32_t)(16 + link) };
		}
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t
sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* A placed image at 'base': tables by signature, through the XSDT. */
struct image {
	uint8_t *buf;
	size_t len;
	uint64_t base;
};

static const uint8_t *
img_at(const struct image *im, uint64_t gpa, size_t len)
{
	if (gpa < im->base || gpa - im->base > im->len ||
	    len > im->len - (gpa - im->base))
		return NULL;
	return im->buf + (gpa - im->base);
}

static const uint8_t *
img_table(const struct image *im, const char *sig)
{
	const uint8_t *x = img_at(im, rd64(im->buf + 24), 36);
	const uint8_t *fadt = NULL;

	if (x == NULL || strcmp(sig, "XSDT") == 0)
		return x;
	for (uint32_t off = 36; off + 8 <= rd32(x + 4); off += 8) {
		const uint8_t *t = img_at(im, rd64(x + off), 36);

		if (t && memcmp(t, sig, 4) == 0)
			return t;
		if (t && memcmp(t, "FACP", 4) == 0)
			fadt = t;
	}
	if (fadt && strcmp(sig, "DSDT") == 0)
		return img_at(im, rd64(fadt + 140), 36);
	if (fadt && strcmp(sig, "FACS") == 0)
		return img_at(im, rd64(fadt + 132), 64);
	return NULL;
}

static int
img_build(const struct acpi_platform *p, uint64_t base, struct image *im)
{
	struct acpi_tables t;
	long n;

	im->base = base;
	im->len = 64 * 1024;
	im->buf = calloc(1, im->len);
	if (im->buf == NULL || acpi_build(p, &t) != 0)
		return -1;
	n = acpi_tables_place(&t, base, im->buf, im->len);
	acpi_tables_free(&t);
	return n > 0 ? 0 : -1;
}

static void
img_check_table(const struct image *im, const uint8_t *t)
{
	uint32_t len = rd32(t + 4);

	REQUIRE(img_at(im, (uint64_t)(t - im->buf) + im->base, len) != NULL);
	if (memcmp(t, "FACS", 4) == 0) {
		CHECK_EQ(len, 64);
		return;
	}
	CHECK_EQ(sum8(t, len), 0);
	CHECK(memcmp(t + 10, "BHYVE ", 6) == 0);
	CHECK(memcmp(t + 28, "BHYV", 4) == 0);
}

TEST(platform_from_vm)
{
	static const char *const kv[] = { "lpc.com1.path", "stdio",
		"lpc.com3.path", "/dev/null", "lpc.fwcfg", "qemu", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, 2, 3, 1, 128 * MiB, kv) == 0 && f.error == 0);
	CHECK_EQ(f.p->ncpus, 6);
	CHECK_EQ(f.p->sockets, 2);
	CHECK_EQ(f.p->cores, 3);
	/* The vmm's own APIC IDs: cores take 2 bits, so 0,1,2,4,5,6. */
	for (int i = 0; i < 6; i++)
		CHECK_EQ(f.p->apic_id[i],
		    vmm_topology_apic_id(f.bvm.ctx->vm, i));
	CHECK_EQ(f.p->apic_id[3], 4);
	CHECK_EQ(f.p->hpet.block_id, (uint32_t)vhpet_capabilities());
	CHECK_EQ(f.p->hpet.addr, VHPET_BASE);
	CHECK_EQ(f.p->pm_timer_port, VPMTMR_PORT);
	CHECK_EQ(f.p->ioapic.pins, 32);
	CHECK(f.p->com[0].present && !f.p->com[1].present);
	CHECK(f.p->com[2].present && !f.p->com[3].present);
	CHECK_EQ(f.p->com[2].port, 0x3e8);
	CHECK_EQ(f.p->com[2].irq, 4);
	CHECK(f.p->fwcfg);
	CHECK(f.p->mptable);
	CHECK(f.p->acpi);
	CHECK(!f.p->x2apic);
	CHECK(!f.p->pci.present);
	CHECK_EQ(f.p->lowmem, 128 * MiB);
	CHECK_EQ(e820_total(&f.p->mem, E820_TYPE_RAM),
	    128 * MiB - (0x100000 - 0x9fc00));
	CHECK_STR(f.p->smbios.bios_vendor, "BHYVE");
	/* No uuid key: derived from the VM name, as fw_cfg's is. */
	uint8_t derived[16];
	uuid_from_name(vm_get_name(f.bvm.ctx), derived);
	CHECK(memcmp(f.p->smbios.uuid, derived, 16) == 0);
	CHECK_EQ(f.p->smbios.uuid[6] >> 4, 8);
	fx_teardown(&f);
}

TEST(platform_config_keys)
{
	static const char *const kv[] = { "x86.mptable", "false",
		"x86.x2apic", "true", "uuid",
		"01234567-89ab-CDEF-0123-456789abcdef", "system.product_name",
		"Test", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, kv) == 0 && f.error == 0);
	CHECK(!f.p->mptable);
	CHECK(f.p->x2apic);
	CHECK_EQ(f.p->smbios.uuid[0], 0x01);
	CHECK_EQ(f.p->smbios.uuid[7], 0xef);
	CHECK_EQ(f.p->smbios.uuid[15], 0xef);
	CHECK_STR(f.p->smbios.sys_product, "Test");
	CHECK(!f.p->fwcfg);
	fx_teardown(&f);
}

TEST(platform_bad_config)
{
	static const char *const bad_uuid[] = { "uuid", "0123", NULL };
	static const char *const bad_mp[] = { "x86.mptable", "maybe", NULL };
	static const char *const bad_var[] = { "bios.vendor", "%(nope)",
		NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, bad_uuid) == 0);
	CHECK_EQ(f.error, -1);
	CHECK(strstr(f.bvm.err, "uuid") != NULL);
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, bad_mp) == 0);
	CHECK_EQ(f.error, -1);
	CHECK(strstr(f.bvm.err, "x86.mptable") != NULL);
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, bad_var) == 0);
	CHECK_EQ(f.error, -1);
	CHECK(strstr(f.bvm.err, "bios.vendor") != NULL);
	fx_teardown(&f);
}

/* RSDP: revision 2, both checksums, the XSDT and RSDT list alike. */
TEST(rsdp_and_sdts)
{
	struct fx f;
	struct image im;
	const uint8_t *r, *x, *rs;
	uint32_t n;

	REQUIRE(fx_setup(&f, 1, 2, 1, 128 * MiB, NULL) == 0 && f.error == 0);
	fx_pci(f.p, 4);
	REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
	r = im.buf;
	CHECK(memcmp(r, "RSD PTR ", 8) == 0);
	CHECK_EQ(r[15], 2);
	CHECK_EQ(sum8(r, 20), 0);
	CHECK_EQ(sum8(r, 36), 0);
	CHECK_EQ(rd32(r + 20), 36);
	x = img_at(&im, rd64(r + 24), 36);
	rs = img_at(&im, rd32(r + 16), 36);
	REQUIRE(x != NULL && rs != NULL);
	CHECK(memcmp(x, "XSDT", 4) == 0 && memcmp(rs, "RSDT", 4) == 0);
	img_check_table(&im, x);
	img_check_table(&im, rs);
	n = (rd32(x + 4) - 36) / 8;
	CHECK_EQ(n, 4); /* FADT, MADT, HPET, MCFG */
	CHECK_EQ((rd32(rs + 4) - 36) / 4, n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = img_at(&im, rd64(x + 36 + 8 * i), 36);

		REQUIRE(t != NULL);
		CHECK_EQ(rd64(x + 36 + 8 * i), rd32(rs + 36 + 4 * i));
		img_check_table(&im, t);
	}
	CHECK(memcmp(img_at(&im, rd64(x + 36), 4), "FACP", 4) == 0);
	free(im.buf);
	fx_teardown(&f);
}

TEST(fadt_fields)
{
	struct fx f;
	struct image im;
	const uint8_t *t;

	REQUIRE(fx_setup(&f, 1, 1, 1, 128 * MiB, NULL) == 0 && f.error == 0);
	REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
	t = img_table(&im, "FACP");
	REQUIRE(t != NULL);
	CHECK_EQ(rd32(t + 4), 276);
	CHECK_EQ(t[8], 6);
	CHECK_EQ(rd16(t + 46), 9);	    /* SCI_INT */
	CHECK_EQ(rd32(t + 48), 0xb2);	    /* SMI_CMD */
	CHECK_EQ(t[52], ACPI_ENABLE_VALUE);
	CHECK_EQ(t[53], ACPI_DISABLE_VALUE);
	CHECK_EQ(rd32(t + 56), 0x400);	    /* PM1a_EVT_BLK */
	CHECK_EQ(rd32(t + 64), 0x404);	    /* PM1a_CNT_BLK */
	CHECK_EQ(rd32(t + 76), 0x408);	    /* PM_TMR_BLK */
	CHECK_EQ(t[88], 4);
	CHECK_EQ(t[89], 2);
	CHECK_EQ(t[91], 4);
	CHECK_EQ(t[108], 0x32); /* CENTURY */
	CHECK_EQ(rd16(t + 109), 0x15);
	CHECK(rd32(t + 112) & (1u << 8));	     /* TMR_VAL_EXT */
	CHECK(rd32(t + 112) & (1u << 10));	     /* RESET_REG_SUP */
	CHECK(!(rd32(t + 112) & (1u << 4)));	     /* fixed power button */
	CHECK(rd32(t + 112) & (1u << 5));	     /* no sleep button */
	CHECK_EQ(t[116], 1);			     /* RESET_REG: I/O */
	CHECK_EQ(t[117], 8);
	CHECK_EQ(rd64(t + 120), 0xcf9);
	CHECK_EQ(t[128], 6);
	CHECK_EQ(t[148], 1);			     /* X_PM1a_EVT_BLK */
	CHECK_EQ(t[149], 32);
	CHECK_EQ(rd64(t + 152), 0x400);
	CHECK_EQ(t[173], 16);			     /* X_PM1a_CNT_BLK */
	CHECK_EQ(rd64(t + 176), 0x404);
	CHECK_EQ(t[209], 32);			     /* X_PM_TMR_BLK */
	CHECK_EQ(rd64(t + 212), 0x408);
	CHECK(memcmp(t + 268, "bhyve   ", 8) == 0);
	free(im.buf);
	fx_teardown(&f);
}

TEST(fadt_pointers)
{
	struct fx f;
	struct image im;
	const uint8_t *t, *facs, *dsdt;

	REQUIRE(fx_setup(&f, 1, 1, 1, 128 * MiB, NULL) == 0 && f.error == 0);
	REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
	t = img_table(&im, "FACP");
	REQUIRE(t != NULL);
	/* Both FACS and DSDT pointers, 32- and 64-bit, agree. */
	CHECK_EQ(rd32(t + 36), rd64(t + 132));
	CHECK_EQ(rd32(t + 40), rd64(t + 140));
	facs = img_table(&im, "FACS");
	dsdt = img_table(&im, "DSDT");
	REQUIRE(facs != NULL && dsdt != NULL);
	CHECK_EQ(rd64(t + 132) % 64, 0);
	CHECK(memcmp(facs, "FACS", 4) == 0);
	img_check_table(&im, facs);
	img_check_table(&im, dsdt);
	CHECK_EQ(dsdt[8], 2);
	free(im.buf);
	fx_teardown(&f);
}

/* Walk the MADT's structures: counts by type, each length right. */
struct madt_counts {
	int lapic, x2apic, ioapic, iso, nmi, x2nmi, bad;
	uint32_t ids[ACPI_MAX_CPUS + 8];
	int nids;
};

static void
madt_walk(const uint8_t *t, struct madt_counts *c)
{
	static const uint8_t lens[11] = { 8, 12, 10, 0, 6, 0, 0, 0, 0, 16,
		12 };
	uint32_t len = rd32(t + 4);

	memset(c, 0, sizeof(*c));
	for (uint32_t off = 44; off < len;) {
		uint8_t type = t[off], l = t[off + 1];

		if (l < 2 || off + l > len || type > 10 || lens[type] != l) {
			c->bad++;
			return;
		}
		if (type == 0 && (t[off + 4] & 1))
			c->ids[c->nids++] = t[off + 3];
		if (type == 9)
			c->ids[c->nids++] = rd32(t + off + 4);
		c->lapic += type == 0;
		c->ioapic += type == 1;
		c->iso += type == 2;
		c->nmi += type == 4;
		c->x2apic += type == 9;
		c->x2nmi += type == 10;
		off += l;
	}
}

TEST(madt_per_topology)
{
	static const int topo[][3] = { { 1, 1, 1 }, { 1, 4, 1 }, { 2, 2, 2 },
		{ 4, 4, 4 }, { 3, 3, 1 } };

	for (size_t k = 0; k < sizeof(topo) / sizeof(topo[0]); k++) {
		struct fx f;
		struct image im;
		struct madt_counts c;
		const uint8_t *t;

		REQUIRE(fx_setup(&f, topo[k][0], topo[k][1], topo[k][2],
		    64 * MiB, NULL) == 0 && f.error == 0);
		REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
		t = img_table(&im, "APIC");
		REQUIRE(t != NULL);
		img_check_table(&im, t);
		CHECK_EQ(rd32(t + 36), 0xfee00000);
		CHECK_EQ(rd32(t + 40), 1);
		madt_walk(t, &c);
		CHECK_EQ(c.bad, 0);
		CHECK_EQ(c.lapic, f.bvm.ncpus);
		CHECK_EQ(c.x2apic, 0);
		CHECK_EQ(c.ioapic, 1);
		CHECK_EQ(c.iso, 2);
		CHECK_EQ(c.nmi, 1);
		for (int i = 0; i < c.nids; i++)
			CHECK_EQ(c.ids[i],
			    vmm_topology_apic_id(f.bvm.ctx->vm, i));
		free(im.buf);
		fx_teardown(&f);
	}
}

/* IDs of 255 and more need x2APIC structures and the x2APIC NMI. */
TEST(madt_x2apic_forms)
{
	struct fx f;
	struct image im;
	struct madt_counts c;
	const uint8_t *t;

	REQUIRE(fx_setup(&f, 1, 4, 1, 64 * MiB, NULL) == 0 && f.error == 0);
	f.p->apic_id[2] = 255;
	f.p->apic_id[3] = 0x12345;
	REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
	t = img_table(&im, "APIC");
	REQUIRE(t != NULL);
	img_check_table(&im, t);
	madt_walk(t, &c);
	CHECK_EQ(c.bad, 0);
	CHECK_EQ(c.lapic, 2);
	CHECK_EQ(c.x2apic, 2);
	CHECK_EQ(c.x2nmi, 1);
	CHECK_EQ(c.ids[2], 255);
	CHECK_EQ(c.ids[3], 0x12345);
	free(im.buf);
	fx_teardown(&f);
}

/* The overrides: IRQ 0 -> GSI 2 edge/high, IRQ 9 -> GSI 9 level/high. */
TEST(madt_overrides)
{
	struct fx f;
	struct image im;
	const uint8_t *t;
	int seen = 0;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, NULL) == 0 && f.error == 0);
	REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
	t = img_table(&im, "APIC");
	REQUIRE(t != NULL);
	for (uint32_t off = 44; off < rd32(t + 4); off += t[off + 1]) {
		if (t[off] == 1) {
			CHECK_EQ(t[off + 2], 0);
			CHECK_EQ(rd32(t + off + 4), 0xfec00000);
			CHECK_EQ(rd32(t + off + 8), 0);
		}
		if (t[off] == 2 && t[off + 3] == 0) {
			CHECK_EQ(rd32(t + off + 4), 2);
			CHECK_EQ(rd16(t + off + 8), 0x0005);
			seen |= 1;
		}
		if (t[off] == 2 && t[off + 3] == 9) {
			CHECK_EQ(rd32(t + off + 4), 9);
			CHECK_EQ(rd16(t + off + 8), 0x000d);
			seen |= 2;
		}
		if (t[off] == 4)
			CHECK_EQ(t[off + 5], 1); /* LINT1 */
		if (t[off + 1] == 0)
			break;
	}
	CHECK_EQ(seen, 3);
	free(im.buf);
	fx_teardown(&f);
}

TEST(hpet_and_mcfg)
{
	struct fx f;
	struct image im;
	const uint8_t *h, *m;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, NULL) == 0 && f.error == 0);
	REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
	CHECK(img_table(&im, "MCFG") == NULL); /* no PCI, no MCFG */
	free(im.buf);
	fx_pci(f.p, 2);
	f.p->pci.bus_max = 63;
	REQUIRE(img_build(f.p, ACPI_TABLES_BASE, &im) == 0);
	h = img_table(&im, "HPET");
	m = img_table(&im, "MCFG");
	REQUIRE(h != NULL && m != NULL);
	img_check_table(&im, h);
	img_check_table(&im, m);
	CHECK_EQ(rd32(h + 4), 56);
	CHECK_EQ(rd32(h + 36), (uint32_t)vhpet_capabilities());
	CHECK_EQ(h[40], 0); /* system memory */
	CHECK_EQ(rd64(h + 44), 0xfed00000);
	CHECK_EQ(rd32(m + 4), 60);
	CHECK_EQ(rd64(m + 44), 0xe0000000);
	CHECK_EQ(rd16(m + 52), 0);
	CHECK_EQ(m[54], 0);
	CHECK_EQ(m[55], 63);
	free(im.buf);
	fx_teardown(&f);
}

/* Find an encoded name in the AML (a crude but adequate look-up). */
static const uint8_t *
aml_find(const uint8_t *t, size_t len, const char *seg)
{
	for (size_t i = 36; i + 4 <= len; i++)
		if (memcmp(t + i, seg, 4) == 0)
			return t + i;
	return NULL;
}

TEST(dsdt_objects)
{
	static const char *const kv[] = { "lpc.com2.path", "stdio",
		"lpc.fwcfg", "qemu", "lpc.pvpanic", "true", NULL };
	struct fx f;
	struct aml_buf b;
	const uint8_t *s5;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, kv) == 0 && f.error == 0);
	fx_pci(f.p, 3);
	aml_init(&b);
	REQUIRE(acpi_build_dsdt(f.p, &b) == 0);
	CHECK_EQ(rd32(b.data + 4), b.len);
	/* Name(_S5_, Package(4){5, 5, 0, 0}) */
	s5 = aml_find(b.data, b.len, "_S5_");
	REQUIRE(s5 != NULL);
	CHECK_EQ(s5[-1], AML_NAME_OP);
	CHECK(memcmp(s5 + 4, (const uint8_t[]){ 0x12, 0x08, 0x04, 0x0a, 0x05,
	    0x0a, 0x05, 0x00, 0x00 }, 9) == 0);
	CHECK(aml_find(b.data, b.len, "PCI0") != NULL);
	CHECK(aml_find(b.data, b.len, "_PRT") != NULL);
	CHECK(aml_find(b.data, b.len, "LNKH") != NULL);
	CHECK(aml_find(b.data, b.len, "COM2") != NULL);
	CHECK(aml_find(b.data, b.len, "COM1") == NULL);
	CHECK(aml_find(b.data, b.len, "FWCF") != NULL);
	CHECK(aml_find(b.data, b.len, "QEMU0002") != NULL);
	CHECK(aml_find(b.data, b.len, "PEVT") != NULL);
	CHECK(aml_find(b.data, b.len, "HPET") != NULL);
	aml_free(&b);
	/* pvpanic only when asked for. */
	f.p->pvpanic = false;
	aml_init(&b);
	REQUIRE(acpi_build_dsdt(f.p, &b) == 0);
	CHECK(aml_find(b.data, b.len, "PEVT") == NULL);
	aml_free(&b);
	/* Without PCI the ISA devices sit under \_SB, with no links. */
	f.p->pci = (struct acpi_pci){ .present = false };
	aml_init(&b);
	REQUIRE(acpi_build_dsdt(f.p, &b) == 0);
	CHECK(aml_find(b.data, b.len, "PCI0") == NULL);
	CHECK(aml_find(b.data, b.len, "LNKA") == NULL);
	CHECK(aml_find(b.data, b.len, "COM2") != NULL);
	CHECK(aml_find(b.data, b.len, "RTC_") != NULL);
	aml_free(&b);
	fx_teardown(&f);
}

/* ---- QEMU's linker/loader script, replayed ---- */

struct ldfile {
	const char *name;
	uint8_t *data;
	size_t len;
	uint64_t addr;
};

static struct ldfile *
ld_find(struct ldfile *fs, int n, const uint8_t *name)
{
	for (int i = 0; i < n; i++)
		if (strncmp(fs[i].name, (const char *)name, 56) == 0)
			return &fs[i];
	return NULL;
}

/* Returns the number of commands done, -1 on a bad one. */
static int
ld_run(const uint8_t *cmds, size_t len, struct ldfile *fs, int nfs)
{
	int done = 0;

	for (size_t off = 0; off + 128 <= len; off += 128, done++) {
		const uint8_t *c = cmds + off;
		struct ldfile *a = ld_find(fs, nfs, c + 4), *s;
		uint32_t o;

		if (a == NULL)
			return -1;
		switch (rd32(c)) {
		case 1: /* ALLOCATE: align must be honoured */
			if (a->addr % rd32(c + 60) != 0)
				return -1;
			break;
		case 2: /* ADD_POINTER */
			s = ld_find(fs, nfs, c + 60);
			o = rd32(c + 116);
			if (s == NULL || (c[120] != 4 && c[120] != 8) ||
			    o + c[120] > a->len)
				return -1;
			if (c[120] == 4)
				wr32(a->data + o,
				    rd32(a->data + o) + (uint32_t)s->addr);
			else
				wr64(a->data + o,
				    rd64(a->data + o) + s->addr);
			break;
		case 3: /* ADD_CHECKSUM */
			o = rd32(c + 60);
			if (o >= a->len || rd32(c + 64) + rd32(c + 68) > a->len)
				return -1;
			a->data[o] = 0;
			a->data[o] = (uint8_t)-sum8(a->data + rd32(c + 64),
			    rd32(c + 68));
			break;
		default:
			return -1;
		}
	}
	return done;
}

/*
 * The fw_cfg copy with its script, as OVMF or SeaBIOS would run it at
 * other addresses, gives the same tables as acpi_tables_place().
 */
TEST(table_loader_replay)
{
	struct fx f;
	struct acpi_tables t;
	uint8_t *cmds = NULL, *blob;
	size_t len = 0;
	uint8_t rsdp[36];
	struct image im;

	REQUIRE(fx_setup(&f, 2, 2, 1, 64 * MiB, NULL) == 0 && f.error == 0);
	fx_pci(f.p, 8);
	REQUIRE(acpi_build(f.p, &t) == 0);
	REQUIRE(acpi_tables_loader(&t, &cmds, &len) == 0);
	CHECK_EQ(len % 128, 0);
	CHECK_EQ(len / 128, 2 + (size_t)t.nptrs + (size_t)t.ncsums);
	blob = malloc(t.len);
	REQUIRE(blob != NULL);
	memcpy(blob, t.blob, t.len);
	memcpy(rsdp, t.rsdp, sizeof(rsdp));
	{
		struct ldfile fs[2] = {
			{ "etc/acpi/tables", blob, t.len, 0x7f000000 },
			{ "etc/acpi/rsdp", rsdp, sizeof(rsdp), 0xf5000 },
		};

		CHECK_EQ(ld_run(cmds, len, fs, 2), (int)(len / 128));
	}
	/* The same bytes acpi_tables_place() gives for that address. */
	REQUIRE(img_build(f.p, 0x7f000000 - 64, &im) == 0);
	CHECK(memcmp(im.buf + 64, blob, t.len) == 0);
	CHECK(memcmp(rsdp + 16, im.buf + 16, 4) == 0);
	CHECK(memcmp(rsdp + 24, im.buf + 24, 8) == 0);
	CHECK_EQ(sum8(rsdp, 20), 0);
	CHECK_EQ(sum8(rsdp, 36), 0);
	CHECK_EQ(rd64(rsdp + 24) - 0x7f000000, t.table[t.ntables - 1].offset);
	free(im.buf);
	free(blob);
	free(cmds);
	acpi_tables_free(&t);
	fx_teardown(&f);
}

/* Scan like Linux does: 16-byte steps through 0xe0000-0xfffff. */
static uint64_t
scan_bios(struct vmctx *ctx, const char *sig, size_t len)
{
	const uint8_t *p = vm_map_gpa(ctx, 0xe0000, 0x20000);

	for (uint64_t off = 0; p != NULL && off < 0x20000; off += 16)
		if (memcmp(p + off, sig, len) == 0)
			return 0xe0000 + off;
	return 0;
}

TEST(install_in_guest_ram)
{
	struct fx f;
	uint64_t rsdp = 0;
	const uint8_t *r;
	struct image im;

	REQUIRE(fx_setup(&f, 1, 2, 1, 128 * MiB, NULL) == 0 && f.error == 0);
	REQUIRE(acpi_tables_install(&f.bvm, f.p, &rsdp) == 0);
	CHECK_EQ(rsdp, 0xf2400);
	CHECK_EQ(scan_bios(f.bvm.ctx, "RSD PTR ", 8), 0xf2400);
	CHECK_EQ(scan_bios(f.bvm.ctx, "_MP_", 4), 0xf0000);
	CHECK_EQ(scan_bios(f.bvm.ctx, "_SM_", 4), 0xf1000);
	CHECK_EQ(scan_bios(f.bvm.ctx, "_SM3_", 5), 0xf1020);
	r = vm_map_gpa(f.bvm.ctx, 0xf2400, 0x100000 - 0xf2400);
	REQUIRE(r != NULL);
	im = (struct image){ .buf = (uint8_t *)(uintptr_t)r,
		.len = 0x100000 - 0xf2400, .base = 0xf2400 };
	REQUIRE(img_table(&im, "APIC") != NULL);
	img_check_table(&im, img_table(&im, "APIC"));
	img_check_table(&im, img_table(&im, "DSDT"));
	fx_teardown(&f);
}

TEST(install_without_mptable)
{
	static const char *const kv[] = { "x86.mptable", "false", NULL };
	struct fx f;
	uint64_t rsdp = 0;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, kv) == 0 && f.error == 0);
	REQUIRE(acpi_tables_install(&f.bvm, f.p, &rsdp) == 0);
	CHECK_EQ(scan_bios(f.bvm.ctx, "_MP_", 4), 0);
	CHECK_EQ(scan_bios(f.bvm.ctx, "RSD PTR ", 8), 0xf2400);
	fx_teardown(&f);
}

TEST(install_without_acpi)
{
	static const char *const kv[] = { "acpi_tables", "false", NULL };
	struct fx f;
	uint64_t rsdp = 1;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, kv) == 0 && f.error == 0);
	CHECK(!f.p->acpi);
	REQUIRE(acpi_tables_install(&f.bvm, f.p, &rsdp) == 0);
	CHECK_EQ(rsdp, 0);
	CHECK_EQ(scan_bios(f.bvm.ctx, "RSD PTR ", 8), 0);
	CHECK_EQ(scan_bios(f.bvm.ctx, "_MP_", 4), 0xf0000);
	CHECK_EQ(scan_bios(f.bvm.ctx, "_SM3_", 5), 0xf1020);
	fx_teardown(&f);
}

/* The biggest platform still fits the BIOS area. */
TEST(install_largest)
{
	struct fx f;
	uint64_t rsdp = 0;

	REQUIRE(fx_setup(&f, 4, 4, 4, 64 * MiB, NULL) == 0 && f.error == 0);
	fx_pci(f.p, 32);
	CHECK_EQ(f.p->pci.nprt, ACPI_MAX_PRT);
	CHECK_EQ(acpi_tables_install(&f.bvm, f.p, &rsdp), 0);
	CHECK_EQ(f.bvm.err[0], '\0');
	fx_teardown(&f);
}

/* ---- fw_cfg ---- */

static void
fwcfg_sel(struct fx *f, uint16_t key)
{
	uint64_t v = key;

	CHECK_EQ(io_dispatch(f->bvm.ports, NULL, true, 0x510, 2, &v), 0);
}

static void
fwcfg_read(struct fx *f, void *buf, size_t n)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;

		(void)!io_dispatch(f->bvm.ports, NULL, false, 0x511, 1, &v);
		p[i] = (uint8_t)v;
	}
}

/* A file's size and contents (up to 'max' bytes), or -1. */
static long
fwcfg_file(struct fx *f, const char *name, uint8_t *buf, size_t max)
{
	uint8_t cnt[4], ent[64];
	uint32_t n;

	fwcfg_sel(f, 0x19);
	fwcfg_read(f, cnt, 4);
	n = (uint32_t)cnt[0] << 24 | cnt[1] << 16 | cnt[2] << 8 | cnt[3];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t size;
		uint16_t sel;

		fwcfg_read(f, ent, 64);
		if (strcmp((char *)ent + 8, name) != 0)
			continue;
		size = (uint32_t)ent[0] << 24 | ent[1] << 16 | ent[2] << 8 |
		    ent[3];
		sel = (uint16_t)(ent[4] << 8 | ent[5]);
		fwcfg_sel(f, sel);
		fwcfg_read(f, buf, size < max ? size : max);
		return size;
	}
	return -1;
}

TEST(install_fwcfg_files)
{
	static const char *const kv[] = { "lpc.fwcfg", "qemu", NULL };
	static uint8_t buf[64 * 1024];
	struct fx f;
	uint64_t rsdp = 0;
	long n;

	REQUIRE(fx_setup(&f, 1, 1, 1, 64 * MiB, kv) == 0 && f.error == 0);
	REQUIRE(f.bvm.fwcfg != NULL);
	REQUIRE(acpi_tables_install(&f.bvm, f.p, &rsdp) == 0);
	CHECK_EQ(fwcfg_file(&f, "etc/acpi/rsdp", buf, sizeof(buf)), 36);
	CHECK(memcmp(buf, "RSD PTR ", 8) == 0);
	n = fwcfg_file(&f, "etc/acpi/tables", buf, sizeof(buf));
	CHECK(n > 64);
	CHECK(memcmp(buf, "FACS", 4) == 0);
	n = fwcfg_file(&f, "etc/table-loader", buf, sizeof(buf));
	CHECK(n > 0 && n % 128 == 0);
	CHECK_EQ(rd32(buf), 1);
	n = fwcfg_file(&f, "etc/smbios/smbios-anchor", buf, sizeof(buf));
	CHECK_EQ(n, 24);
	CHECK(memcmp(buf, "_SM3_", 5) == 0);
	CHECK(fwcfg_file(&f, "etc/smbios/smbios-tables", buf,
	    sizeof(buf)) > 0);
	CHECK_EQ(buf[0], 0); /* type 0 first */
	n = fwcfg_file(&f, "etc/e820", buf, sizeof(buf));
	CHECK_EQ(n, 3 * 20); /* RAM, reserved, RAM: no memory above 4 GiB */
	CHECK_EQ(rd64(buf + 20 * 1), 0x9fc00);
	CHECK_EQ(rd32(buf + 20 * 1 + 16), 2);
	fx_teardown(&f);
}

/* ---- iasl ---- */

static bool
iasl_present(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static int
write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");
	int ok;

	if (fp == NULL)
		return -1;
	ok = fwrite(p, 1, n, fp) == n;
	return (fclose(fp) == 0 && ok) ? 0 : -1;
}

/* Any line iasl flags: its errors, warnings, and what it annotates. */
static bool
log_clean(const char *path)
{
	static const char *const bad[] = { "Error", "Warning", "Invalid",
		"Incorrect", "incorrect", "Unknown", "mismatch", "Remark" };
	char line[512];
	FILE *fp = fopen(path, "r");
	bool ok = fp != NULL;

	while (fp && fgets(line, sizeof(line), fp))
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(line, bad[i]) && !strstr(line, "0 Errors")) {
				fprintf(stderr, "iasl: %s: %s", path, line);
				ok = false;
			}
	if (fp)
		fclose(fp);
	return ok;
}

/* iasl -d over one table; its output and its .dsl must be clean. */
static void
iasl_table(const char *dir, const char *name, const uint8_t *t, size_t n)
{
	char path[256], cmd[768];
	int st;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	REQUIRE(write_file(path, t, n) == 0);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1",
	    dir, name, name);
	st = system(cmd);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		fprintf(stderr, "iasl -d %s failed (%d)\n", name, st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	CHECK(log_clean(path));
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	CHECK(log_clean(path));
}

/* The DSDT's source, as iasl disassembled it, compiles again cleanly. */
static void
iasl_recompile(const char *dir)
{
	char cmd[512], path[256];
	int st;

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p dsdt2 DSDT.dsl "
	    ">recompile.log 2>&1", dir);
	st = system(cmd);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(path, sizeof(path), "%s/recompile.log", dir);
	CHECK(log_clean(path));
}

/*
 * This iasl cannot disassemble a lone RSDP, so the RSDP goes the other
 * way: its fields as data-table source, compiled by iasl (which computes
 * both checksums itself), must give our bytes exactly.
 */
static void
iasl_rsdp(const char *dir, const uint8_t *r)
{
	char path[256], cmd[512], aml[64];
	FILE *fp;
	int st;

	snprintf(path, sizeof(path), "%s/rsdp.asl", dir);
	fp = fopen(path, "w");
	REQUIRE(fp != NULL);
	fprintf(fp, "[0008] Signature : \"RSD PTR \"\n[0001] Checksum : 00\n"
	    "[0006] Oem ID : \"%.6s\"\n[0001] Revision : %02X\n"
	    "[0004] RSDT Address : %08X\n[0004] Length : %08X\n"
	    "[0008] XSDT Address : %016llX\n[0001] Extended Checksum : 00\n"
	    "[0003] Reserved : 000000\n", (const char *)r + 9, r[15],
	    rd32(r + 16), rd32(r + 20), (unsigned long long)rd64(r + 24));
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl rsdp.asl >rsdp.log 2>&1",
	    dir);
	st = system(cmd);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(path, sizeof(path), "%s/rsdp.log", dir);
	CHECK(log_clean(path));
	snprintf(path, sizeof(path), "%s/rsdp.aml", dir);
	fp = fopen(path, "rb");
	REQUIRE(fp != NULL);
	CHECK_EQ(fread(aml, 1, sizeof(aml), fp), 36);
	fclose(fp);
	CHECK(memcmp(aml, r, 36) == 0);
}

static void
iasl_all(const struct acpi_platform *p)
{
	char dir[] = "/tmp/bhyve-acpi-XXXXXX", cmd[64];
	const uint8_t *rsdt;
	struct image im;
	int before = test_failures;

	REQUIRE(mkdtemp(dir) != NULL);
	REQUIRE(img_build(p, ACPI_TABLES_BASE, &im) == 0);
	iasl_rsdp(dir, im.buf);
	for (const char *const *s = (const char *const[]){ "XSDT", "FACP",
	    "FACS", "DSDT", "APIC", "HPET", "MCFG", NULL }; *s; s++) {
		const uint8_t *t = img_table(&im, *s);

		if (t == NULL && strcmp(*s, "MCFG") == 0 && !p->pci.present)
			continue;
		REQUIRE(t != NULL);
		iasl_table(dir, *s, t, rd32(t + 4));
	}
	rsdt = img_at(&im, rd32(im.buf + 16), 36);
	REQUIRE(rsdt != NULL);
	iasl_table(dir, "RSDT", rsdt, rd32(rsdt + 4));
	iasl_recompile(dir);
	free(im.buf);
	if (test_failures == before) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	} else {
		fprintf(stderr, "iasl files kept in %s\n", dir);
	}
}

TEST(iasl_disassembles_everything)
{
	static const char *const kv[] = { "lpc.com1.path", "stdio",
		"lpc.com2.path", "stdio", "lpc.fwcfg", "qemu",
		"lpc.pvpanic", "true", NULL };
	struct fx f;

	if (!iasl_present()) {
		fprintf(stderr, "iasl is not installed: run tools/install-deps "
		    "(Debian package acpica-tools)\n");
		CHECK(iasl_present());
		return;
	}
	REQUIRE(fx_setup(&f, 2, 2, 2, 128 * MiB, kv) == 0 && f.error == 0);
	iasl_all(f.p);
	fx_pci(f.p, 6);
	iasl_all(f.p);
	f.p->pci.lpc = false;
	f.p->apic_id[7] = 300;
	iasl_all(f.p);
	fx_teardown(&f);
}

TEST_MAIN(TEST_ENTRY(platform_from_vm) TEST_ENTRY(platform_config_keys)
    TEST_ENTRY(platform_bad_config) TEST_ENTRY(rsdp_and_sdts)
    TEST_ENTRY(fadt_fields) TEST_ENTRY(fadt_pointers)
    TEST_ENTRY(madt_per_topology)
    TEST_ENTRY(madt_x2apic_forms) TEST_ENTRY(madt_overrides)
    TEST_ENTRY(hpet_and_mcfg) TEST_ENTRY(dsdt_objects)
    TEST_ENTRY(table_loader_replay) TEST_ENTRY(install_in_guest_ram)
    TEST_ENTRY(install_without_mptable)
    TEST_ENTRY(install_without_acpi) TEST_ENTRY(install_largest)
    TEST_ENTRY(install_fwcfg_files) TEST_ENTRY(iasl_disassembles_everything))
