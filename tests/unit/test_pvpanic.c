/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pvpanic.c through the port registry, as a guest drives it: the events
 * it offers, a panic ending the VM with status 4, a panic left alone when
 * the command line's panic= makes the guest reboot itself or a crash
 * kernel takes over, other bits and later events ignored.
 */
#include "bhyverun.h"
#include "config.h"
#include "devices.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "test.h"
#include "vmmapi.h"

#define PORT 0x505

struct fx {
	struct bhyve_vm bvm;
	void *softc;
};

/* A VM with pvpanic and boot.cmdline set to 'cmdline' (NULL: none). */
static int
fx_setup(struct fx *f, const char *cmdline)
{
	static const char *const kv[] = { "lpc.pvpanic", "true", NULL };

	f->softc = NULL;
	if (fake_vm_init(&f->bvm, "t-pvpanic", VMM_BACKEND_NULL, 0, kv) != 0 ||
	    (cmdline != NULL && config_set(f->bvm.cfg, "boot.cmdline",
	    cmdline) != 0))
		return -1;
	f->bvm.exit_status = BHYVE_EXIT_RESET;
	if (!pvpanic_device.enabled(&f->bvm))
		return -1;
	return pvpanic_device.init(&f->bvm, &f->softc);
}

static void
fx_teardown(struct fx *f)
{
	if (f->softc)
		pvpanic_device.destroy(f->softc);
	fake_vm_fini(&f->bvm);
}

static void
out(struct fx *f, uint8_t v)
{
	uint64_t val = v;

	CHECK_EQ(io_dispatch(f->bvm.ports, NULL, true, PORT, 1, &val), 0);
}

static bool
ended(struct fx *f)
{
	return atomic_load(&f->bvm.exit_requested);
}

TEST(offers_panicked_and_crash_loaded)
{
	struct fx f;
	uint64_t v = 0;

	REQUIRE(fx_setup(&f, NULL) == 0);
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, PORT, 1, &v), 0);
	CHECK_EQ(v, 3);
	fx_teardown(&f);
}

TEST(panic_ends_with_status_4)
{
	struct fx f;

	REQUIRE(fx_setup(&f, "console=ttyS0 panic=0") == 0);
	out(&f, 0);
	out(&f, 4);		/* not an event this device offers */
	CHECK(!ended(&f));
	out(&f, 1);
	CHECK(ended(&f));
	CHECK_EQ(f.bvm.exit_status, BHYVE_EXIT_ERROR);
	fx_teardown(&f);
}

TEST(panic_eq_asks_for_a_reboot)
{
	static const char *const lines[] = { "panic=1", "quiet panic=-1",
		"panic=0 panic=10 console=ttyS0" };
	struct fx f;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		REQUIRE(fx_setup(&f, lines[i]) == 0);
		out(&f, 1);
		CHECK(!ended(&f));
		fx_teardown(&f);
	}
	/* Only a word of its own: "oops_panic=1" is not panic=. */
	REQUIRE(fx_setup(&f, "x.oops_panic=1") == 0);
	out(&f, 1);
	CHECK(ended(&f));
	fx_teardown(&f);
}

TEST(crash_kernel_and_later_events)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	out(&f, 2);
	CHECK(!ended(&f));
	out(&f, 1);		/* only the first event acts */
	CHECK(!ended(&f));
	fx_teardown(&f);
}

TEST_MAIN(TEST_ENTRY(offers_panicked_and_crash_loaded)
    TEST_ENTRY(panic_ends_with_status_4)
    TEST_ENTRY(panic_eq_asks_for_a_reboot)
    TEST_ENTRY(crash_kernel_and_later_events))
