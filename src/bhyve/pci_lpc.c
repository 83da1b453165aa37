/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PCI-ISA bridge (bhyve's pci_lpc.c): 8086:7000, class 06/01/00, on
 * bus 0 and at most once, holding the eight PIRQ routing registers
 * (0x60-0x63 PIRQA-D, 0x68-0x6b PIRQE-H) that pci_irq.c implements.
 *
 * In bhyve this PCI function also creates the LPC devices (COM1-COM4,
 * the boot ROM, pc-testdev, fw_cfg), which therefore exist only with
 * "-s N,lpc".  Here they are platform devices (devices.c), created before
 * PCI whether or not an lpc function is configured: a guest that never
 * scans PCI still has its serial port, and this file is only what the
 * PCI function itself is.  The ACPI tables describe those devices under
 * the bridge when it exists.
 *
 * pcireg.vendor, device, revid, subvendor and subdevice override the IDs
 * (hex); the value "host" copies the host's LPC bridge at 0000:00:1f.0.
 */
#include "pci_emul.h"

#define LPC_VENDOR 0x8086
#define LPC_DEVICE 0x7000
#define LPC_HOST_BDF "0000:00:1f.0"

/* Whole accesses only: the registers form two naturally aligned dwords. */
static bool
lpc_pirq_access(int off, int bytes)
{
	return pci_irq_pirq_link(off) >= 0 &&
	    pci_irq_pirq_link(off + bytes - 1) >= 0;
}

static int
pci_lpc_cfgwrite(struct pci_devinst *pi, int off, int bytes, uint32_t val)
{
	struct pci_irq *irq = pci_emul_irq(pi->pi_bvm);

	if (!lpc_pirq_access(off, bytes))
		return PCI_EMUL_FALLBACK;
	for (int i = 0; i < bytes; i++)
		pci_irq_pirq_write(irq, pci_irq_pirq_link(off + i),
		    (uint8_t)(val >> (8 * i)));
	return 0;
}

static int
pci_lpc_cfgread(struct pci_devinst *pi, int off, int bytes, uint32_t *val)
{
	struct pci_irq *irq = pci_emul_irq(pi->pi_bvm);

	if (!lpc_pirq_access(off, bytes))
		return PCI_EMUL_FALLBACK;
	*val = 0;
	for (int i = bytes - 1; i >= 0; i--)
		*val = (*val << 8) |
		    pci_irq_pirq_read(irq, pci_irq_pirq_link(off + i));
	return 0;
}

static int
pci_lpc_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	static const struct pci_ids ids = { .vendor = LPC_VENDOR,
		.device = LPC_DEVICE };

	/* Bus 0 only: the DSDT puts the legacy I/O behind bus 0 (bhyve). */
	if (pi->pi_bus != 0)
		return pci_emul_error(pi, "the LPC bridge must be on bus 0");
	if (pci_lpc_claim(pi) != 0)
		return -1;
	if (pci_emul_set_ids(pi, nvl, &ids, LPC_HOST_BDF) != 0)
		return -1;
	pci_set_cfgdata8(pi, PCIR_CLASS, PCIC_BRIDGE);
	pci_set_cfgdata8(pi, PCIR_SUBCLASS, PCIS_BRIDGE_ISA);
	return 0;
}

const struct pci_devemu pci_de_lpc = {
	.pe_emu = "lpc",
	.pe_init = pci_lpc_init,
	.pe_cfgwrite = pci_lpc_cfgwrite,
	.pe_cfgread = pci_lpc_cfgread,
};
