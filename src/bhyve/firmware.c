/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the firmware tables say about the platform: the vmm's chips and the
 * memory map (acpi_platform_init), plus PCI bus 0 as the PCI framework
 * placed it.  Builds the ACPI tables, MP table, SMBIOS and E820 into guest
 * RAM and fw_cfg, and attaches the reset register.
 */
#include <stdlib.h>

#include "acpi.h"
#include "bhyverun.h"
#include "pci_emul.h"
#include "pci_irq.h"

/* One routed INTx of bus 0 as a _PRT and MP-table entry. */
static void
firmware_add_intx(const struct pci_intx_route *r, void *arg)
{
	struct acpi_platform *p = arg;

	if (r->ioapic_pin < 0 || p->pci.nprt == ACPI_MAX_PRT)
		return;
	p->pci.prt[p->pci.nprt++] = (struct acpi_prt){
		.slot = (uint8_t)r->slot,
		.pin = (uint8_t)(r->pin - 1),
		.link = (uint8_t)r->link,
		.gsi = (uint32_t)r->ioapic_pin,
	};
}

static void
firmware_pci(struct bhyve_vm *bvm, struct acpi_platform *p)
{
	struct pci_devinst *lpc = pci_lpc_devinst(bvm);
	struct pci_windows w;

	if (pci_bus_windows(bvm, 0, &w) != 0)
		return;
	p->pci.present = true;
	p->pci.ecam_base = pci_ecam_base();
	p->pci.bus_min = 0;
	p->pci.bus_max = PCI_NBUSES - 1;
	p->pci.io = (struct acpi_window){ w.io.base, w.io.limit };
	p->pci.mem32 = (struct acpi_window){ w.mem32.base, w.mem32.limit };
	p->pci.mem64 = (struct acpi_window){ w.mem64.base, w.mem64.limit };
	pci_walk_intx(bvm, 0, firmware_add_intx, p);
	if (lpc != NULL) {
		p->pci.lpc = true;
		p->pci.lpc_slot = (uint8_t)lpc->pi_slot;
		p->pci.lpc_func = (uint8_t)lpc->pi_func;
		p->pci.link_irqs = PCI_IRQ_PERMITTED;
	}
}

int
bhyve_firmware_init(struct bhyve_vm *bvm)
{
	struct acpi_platform *p = calloc(1, sizeof(*p));
	int error;

	if (p == NULL)
		return bhyve_error(bvm, "out of memory");
	error = acpi_platform_init(bvm, p);
	if (error == 0) {
		firmware_pci(bvm, p);
		error = pm_reset_attach(bvm);
	}
	if (error == 0)
		error = acpi_tables_install(bvm, p, &bvm->rsdp);
	free(p);
	return error;
}
