/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host bridge at 0:0.0 (bhyve's pci_hostbridge.c): class 06/00/00,
 * NetApp's 1275:1275 unless pcireg.vendor/pcireg.device say otherwise
 * ("-s 0,amd_hostbridge" arrives from the command line as a hostbridge
 * with 1022:7432), and, as in bhyve, a PCI Express capability of a root
 * port, which tells guests that the platform is PCIe (and so that the
 * MCFG's extended config space is worth using).
 */
#include "pci_emul.h"

#define HOSTBRIDGE_VENDOR 0x1275 /* NetApp */
#define HOSTBRIDGE_DEVICE 0x1275

static int
pci_hostbridge_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	static const struct pci_ids ids = { .vendor = HOSTBRIDGE_VENDOR,
		.device = HOSTBRIDGE_DEVICE };
	int error;

	if (pci_emul_set_ids(pi, nvl, &ids, NULL) != 0)
		return -1;
	pci_set_cfgdata8(pi, PCIR_HDRTYPE, PCIM_HDRTYPE_NORMAL);
	pci_set_cfgdata8(pi, PCIR_CLASS, PCIC_BRIDGE);
	pci_set_cfgdata8(pi, PCIR_SUBCLASS, PCIS_BRIDGE_HOST);
	error = pci_emul_add_pciecap(pi, PCIEM_TYPE_ROOT_PORT);
	if (error < 0)
		return pci_emul_error(pi, "cannot add the PCIe capability");
	return 0;
}

const struct pci_devemu pci_de_hostbridge = {
	.pe_emu = "hostbridge",
	.pe_init = pci_hostbridge_init,
};
