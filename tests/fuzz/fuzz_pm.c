/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pm.c: a guest's port accesses to the PM1 blocks,
 * SMI_CMD and the reset register, mixed with power-button presses, as a
 * script of 4-byte steps:
 *
 *	op size lo hi	op % 10 picks the port (0x400-0x405, 0xb2, 0xcf9,
 *			0x406) or the button; op & 0x80 reads; size % 3
 *			gives 1, 2 or 4 bytes; lo | hi << 8 is the value
 *			(repeated to fill a dword)
 *
 * After every step the SCI line (IRQ 9, level-triggered on the 8259, so
 * its IRR bit is the line) must equal what the registers say it should
 * be: SCI_EN && (PM1_STS & PM1_EN & events).  One VM serves every input;
 * the device is made anew for each.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "bhyverun.h"
#include "config.h"
#include "io/vatpic.h"
#include "iomem.h"
#include "mevent.h"
#include "vmm_internal.h"
#include "vmmapi.h"
#include "vmmapi_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t fuzz_ports[] = { 0x400, 0x401, 0x402, 0x403, 0x404,
	0x405, 0xb2, 0xcf9, 0x406 };

static struct bhyve_vm *
fuzz_vm(void)
{
	static struct bhyve_vm bvm;
	static bool ready;

	if (ready)
		return &bvm;
	bvm.ncpus = 1;
	bvm.cfg = config_new();
	bvm.ports = io_registry_create(0x10000);
	bvm.mev = mevent_create();
	bvm.ctx = vm_create("fuzz-pm", VMM_BACKEND_NULL, NULL);
	if (bvm.cfg == NULL || bvm.ports == NULL || bvm.mev == NULL ||
	    bvm.ctx == NULL || vm_setup_memory(bvm.ctx, 1 << 20) != 0)
		abort();
	(void)vatpic_set_trigger(bvm.ctx->vm->atpic, ACPI_SCI_IRQ, true);
	ready = true;
	return &bvm;
}

static uint64_t
fuzz_in(struct bhyve_vm *bvm, uint16_t port, int size)
{
	uint64_t v = 0;

	if (io_dispatch(bvm->ports, NULL, false, port, size, &v) != 0)
		abort();
	return v;
}

static bool
fuzz_sci(struct bhyve_vm *bvm)
{
	uint32_t v = 0;

	(void)vatpic_slave_handler(bvm->ctx->vm->atpic, true, 0xa0, 1, &v);
	return (v & 0x02) != 0;
}

/* The oracle: ACPI 6.5, 4.8.3.1, from what the guest can read back. */
static void
fuzz_check(struct bhyve_vm *bvm)
{
	uint64_t sts = fuzz_in(bvm, 0x400, 2), en = fuzz_in(bvm, 0x402, 2);
	uint64_t cnt = fuzz_in(bvm, 0x404, 2);
	bool want = (cnt & 1) && (sts & en & 0x0721) != 0;

	if (sts > 0xffff || en > 0xffff || (cnt & 0x2000))
		abort();
	if (fuzz_sci(bvm) != want)
		abort();
}

static void
fuzz_step(struct bhyve_vm *bvm, const uint8_t *s)
{
	unsigned which = (unsigned)(s[0] & 0x7f) % 10;
	int size = 1 << (s[1] % 3);
	uint16_t port;
	uint64_t v;

	if (which == 9) {
		pm_power_button(bvm);
		return;
	}
	port = fuzz_ports[which];
	v = (uint64_t)(s[2] | s[3] << 8) * 0x10001u;
	/* Accesses that leave a region are the registry's business. */
	(void)io_dispatch(bvm->ports, NULL, !(s[0] & 0x80), port, size, &v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bhyve_vm *bvm = fuzz_vm();
	struct bhyve_dev_inst inst = { .dev = &pm_device };

	atomic_store(&bvm->exit_requested, false);
	bvm->exit_status = BHYVE_EXIT_ERROR;
	if (pm_device.init(bvm, &inst.softc) != 0)
		abort();
	bvm->devs = &inst;
	if (pm_reset_attach(bvm) != 0)
		abort();
	for (size_t off = 0; off + 4 <= size; off += 4) {
		fuzz_step(bvm, data + off);
		fuzz_check(bvm);
		/* Only the two ways out pm.c knows, never anything else. */
		if (atomic_load(&bvm->exit_requested) &&
		    bvm->exit_status != BHYVE_EXIT_POWEROFF &&
		    bvm->exit_status != BHYVE_EXIT_RESET)
			abort();
	}
	bvm->devs = NULL;
	pm_device.destroy(inst.softc);
	if (fuzz_sci(bvm)) /* the device took its line down with it */
		abort();
	return 0;
}
