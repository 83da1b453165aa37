/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pm.c driven through the port registry as a guest drives it, on a
 * null-backend VM: PM1 status write-1-to-clear, enable bits, SCI_EN
 * through SMI_CMD, the SCI's level on the 8259 (IRQ 9 set level-
 * triggered, so its IRR bit follows the line), S5 and the reset register
 * ending the VM with bhyve's statuses, the power button, and byte-lane
 * accesses.  The reset register is tried both on the bare port and
 * behind the PCI framework's 0xcf8 dword.
 */
#include <errno.h>

#include "acpi.h"
#include "bhyverun.h"
#include "config.h"
#include "fake_vm.h"
#include "io/vatpic.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "test.h"
#include "vmm_internal.h"
#include "vmmapi.h"
#include "vmmapi_internal.h"

#define PM1_STS 0x400
#define PM1_EN 0x402
#define PM1_CNT 0x404
#define SMI_CMD 0xb2
#define PWRBTN 0x0100
#define SCI_EN 0x0001
#define SLP_EN 0x2000

struct fx {
	struct bhyve_vm bvm;
	struct bhyve_dev_inst inst;
};

static int
fx_setup(struct fx *f, bool pci)
{
	*f = (struct fx){ .inst.dev = &pm_device };
	if (fake_vm_init(&f->bvm, "t-pm", VMM_BACKEND_NULL, 16 << 20,
	    NULL) != 0)
		return -1;
	f->bvm.exit_status = BHYVE_EXIT_ERROR;
	if (pm_device.init(&f->bvm, &f->inst.softc) != 0)
		return -1;
	f->bvm.devs = &f->inst;
	if (pci && (config_set(f->bvm.cfg, "pci.0.0.0.device",
	    "hostbridge") != 0 || pci_emul_init(&f->bvm) != 0))
		return -1;
	return pm_reset_attach(&f->bvm);
}

static void
fx_teardown(struct fx *f)
{
	pci_emul_destroy(&f->bvm);	/* before the device it may call */
	if (f->inst.softc)
		pm_device.destroy(f->inst.softc);
	fake_vm_fini(&f->bvm);
}

static int
out(struct fx *f, uint16_t port, int size, uint64_t v)
{
	return io_dispatch(f->bvm.ports, NULL, true, port, size, &v);
}

static uint64_t
in(struct fx *f, uint16_t port, int size)
{
	uint64_t v = 0xdeadbeef;

	if (io_dispatch(f->bvm.ports, NULL, false, port, size, &v) != 0)
		return ~0ULL;
	return v;
}

/* IRQ 9 is the slave 8259's input 1; level mode, so IRR is the line. */
static bool
sci(struct fx *f)
{
	uint32_t v = 0;

	(void)vatpic_slave_handler(f->bvm.ctx->vm->atpic, true, 0xa0, 1, &v);
	return (v & 0x02) != 0;
}

static bool
ended(struct fx *f, int status)
{
	return atomic_load(&f->bvm.exit_requested) &&
	    f->bvm.exit_status == status;
}

TEST(power_on_state)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(in(&f, PM1_STS, 2), 0);
	CHECK_EQ(in(&f, PM1_EN, 2), 0);
	CHECK_EQ(in(&f, PM1_CNT, 2), 0);
	CHECK_EQ(in(&f, PM1_STS, 4), 0);
	CHECK(!sci(&f));
	CHECK(!atomic_load(&f.bvm.exit_requested));
	fx_teardown(&f);
}

/* SMI_CMD switches SCI_EN; PM1_CNT writes cannot touch it. */
TEST(acpi_enable_disable)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(out(&f, SMI_CMD, 1, ACPI_ENABLE_VALUE), 0);
	CHECK_EQ(in(&f, PM1_CNT, 2), SCI_EN);
	CHECK_EQ(out(&f, PM1_CNT, 2, 0), 0);
	CHECK_EQ(in(&f, PM1_CNT, 2), SCI_EN);
	CHECK_EQ(out(&f, SMI_CMD, 1, 0x42), 0); /* unknown: nothing */
	CHECK_EQ(in(&f, PM1_CNT, 2), SCI_EN);
	CHECK_EQ(out(&f, SMI_CMD, 1, ACPI_DISABLE_VALUE), 0);
	CHECK_EQ(in(&f, PM1_CNT, 2), 0);
	CHECK_EQ(in(&f, SMI_CMD, 1), 0);
	fx_teardown(&f);
}

/* The SCI follows SCI_EN && (STS & EN); status is write-1-to-clear. */
TEST(sci_follows_status_and_enable)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(out(&f, SMI_CMD, 1, ACPI_ENABLE_VALUE), 0);
	pm_power_button(&f.bvm);
	CHECK_EQ(in(&f, PM1_STS, 2), PWRBTN);
	CHECK(!sci(&f)); /* not enabled yet */
	CHECK_EQ(out(&f, PM1_EN, 2, PWRBTN), 0);
	CHECK_EQ(in(&f, PM1_EN, 2), PWRBTN);
	CHECK(sci(&f));
	/* Writing 0 clears nothing; other 1s clear only their bits. */
	CHECK_EQ(out(&f, PM1_STS, 2, 0), 0);
	CHECK(sci(&f));
	CHECK_EQ(out(&f, PM1_STS, 2, 0x0001), 0);
	CHECK_EQ(in(&f, PM1_STS, 2), PWRBTN);
	CHECK(sci(&f));
	/* Masking it drops the line, unmasking raises it again. */
	CHECK_EQ(out(&f, PM1_EN, 2, 0), 0);
	CHECK(!sci(&f));
	CHECK_EQ(out(&f, PM1_EN, 2, PWRBTN), 0);
	CHECK(sci(&f));
	/* So does leaving ACPI mode. */
	CHECK_EQ(out(&f, SMI_CMD, 1, ACPI_DISABLE_VALUE), 0);
	CHECK(!sci(&f));
	CHECK_EQ(out(&f, SMI_CMD, 1, ACPI_ENABLE_VALUE), 0);
	CHECK(sci(&f));
	CHECK_EQ(out(&f, PM1_STS, 2, PWRBTN), 0);
	CHECK_EQ(in(&f, PM1_STS, 2), 0);
	CHECK(!sci(&f));
	CHECK(!atomic_load(&f.bvm.exit_requested));
	fx_teardown(&f);
}

/* Unknown enable bits do not stick; a dword access sees both halves. */
TEST(enable_bits_and_lanes)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(out(&f, PM1_EN, 2, 0xffff), 0);
	CHECK_EQ(in(&f, PM1_EN, 2), 0x4721);
	CHECK_EQ(out(&f, PM1_EN, 1, 0), 0); /* low byte only */
	CHECK_EQ(in(&f, PM1_EN, 2), 0x4700);
	CHECK_EQ(out(&f, SMI_CMD, 1, ACPI_ENABLE_VALUE), 0);
	pm_power_button(&f.bvm);
	CHECK_EQ(in(&f, PM1_STS, 4), 0x47000100);
	CHECK_EQ(in(&f, PM1_STS + 1, 1), 0x01);
	CHECK_EQ(in(&f, PM1_EN + 1, 1), 0x47);
	CHECK(sci(&f));
	/* A dword write clears status and sets enables at once. */
	CHECK_EQ(out(&f, PM1_STS, 4, 0x01000100), 0);
	CHECK_EQ(in(&f, PM1_STS, 4), 0x01000000);
	CHECK(!sci(&f));
	fx_teardown(&f);
}

/* SLP_TYP 5 with SLP_EN: power off, bhyve's exit status 1. */
TEST(s5_powers_off)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(out(&f, PM1_CNT, 2, 5 << 10), 0); /* SLP_TYP alone */
	CHECK_EQ(in(&f, PM1_CNT, 2), 5 << 10);
	CHECK(!atomic_load(&f.bvm.exit_requested));
	CHECK_EQ(out(&f, PM1_CNT, 2, 1 << 10 | SLP_EN), 0); /* S1: ignored */
	CHECK(!atomic_load(&f.bvm.exit_requested));
	CHECK_EQ(in(&f, PM1_CNT, 2), 1 << 10); /* SLP_EN reads 0 */
	CHECK_EQ(out(&f, PM1_CNT, 2, 5 << 10 | SLP_EN), 0);
	CHECK(ended(&f, BHYVE_EXIT_POWEROFF));
	CHECK_EQ(vm_get_suspend(f.bvm.ctx) != VM_SUSPEND_NONE, 1);
	fx_teardown(&f);
}

/* The high byte alone, as a byte write to 0x405 does it. */
TEST(s5_by_byte_write)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(out(&f, PM1_CNT + 1, 1, (5 << 2) | 0x20), 0);
	CHECK(ended(&f, BHYVE_EXIT_POWEROFF));
	fx_teardown(&f);
}

static void
check_reset(bool pci)
{
	struct fx f;

	REQUIRE(fx_setup(&f, pci) == 0);
	CHECK_EQ(out(&f, ACPI_RESET_PORT, 1, 0x02), 0); /* no RST_CPU */
	CHECK_EQ(in(&f, ACPI_RESET_PORT, 1), 0x02);
	CHECK(!atomic_load(&f.bvm.exit_requested));
	CHECK_EQ(out(&f, ACPI_RESET_PORT, 1, ACPI_RESET_VALUE), 0);
	CHECK(ended(&f, BHYVE_EXIT_RESET));
	if (pci) /* the address register still works beside it */
		CHECK_EQ(out(&f, 0xcf8, 4, 0x80000000), 0);
	if (pci)
		CHECK_EQ(in(&f, 0xcf8, 4), 0x80000000);
	fx_teardown(&f);
}

TEST(reset_register)
{
	check_reset(false);
}

TEST(reset_register_behind_pci)
{
	check_reset(true);
}

/* Without ACPI enabled nobody would hear the button: power off now. */
TEST(power_button_without_acpi)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	pm_power_button(&f.bvm);
	CHECK(ended(&f, BHYVE_EXIT_POWEROFF));
	CHECK_EQ(in(&f, PM1_STS, 2), 0);
	fx_teardown(&f);
}

TEST(power_button_with_acpi)
{
	struct fx f;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(out(&f, SMI_CMD, 1, ACPI_ENABLE_VALUE), 0);
	CHECK_EQ(out(&f, PM1_EN, 2, PWRBTN), 0);
	pm_power_button(&f.bvm);
	CHECK(!atomic_load(&f.bvm.exit_requested));
	CHECK(sci(&f));
	/* The guest's answer: clear the event, then S5. */
	CHECK_EQ(out(&f, PM1_STS, 2, PWRBTN), 0);
	CHECK(!sci(&f));
	CHECK_EQ(out(&f, PM1_CNT, 2, 5 << 10 | SLP_EN), 0);
	CHECK(ended(&f, BHYVE_EXIT_POWEROFF));
	fx_teardown(&f);
}

/* Ports taken already: a one-line error naming them. */
TEST(ports_taken)
{
	struct fx f;
	void *softc = NULL;

	REQUIRE(fx_setup(&f, false) == 0);
	CHECK_EQ(pm_device.init(&f.bvm, &softc), -1);
	CHECK(strstr(f.bvm.err, "0x400") != NULL);
	CHECK_EQ(pm_reset_attach(&f.bvm), -1);
	CHECK(strstr(f.bvm.err, "0xcf9") != NULL);
	fx_teardown(&f);
}

TEST_MAIN(TEST_ENTRY(power_on_state) TEST_ENTRY(acpi_enable_disable)
    TEST_ENTRY(sci_follows_status_and_enable)
    TEST_ENTRY(enable_bits_and_lanes) TEST_ENTRY(s5_powers_off)
    TEST_ENTRY(s5_by_byte_write) TEST_ENTRY(reset_register)
    TEST_ENTRY(reset_register_behind_pci)
    TEST_ENTRY(power_button_without_acpi)
    TEST_ENTRY(power_button_with_acpi) TEST_ENTRY(ports_taken))
