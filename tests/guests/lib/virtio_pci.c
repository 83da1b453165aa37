/* SPDX-License-Identifier: BSD-2-Clause */
#include "guest.h"
#include "virtio_pci.h"

#define CONF1_ADDR	0xcf8
#define CONF1_DATA	0xcfc
#define NSLOTS		32
#define VIRTIO_VENDOR	0x1af4

#define PCI_COMMAND	0x04
#define PCI_STATUS_CAPS	(0x10u << 16)	/* in the command/status dword */
#define PCI_CAP_PTR	0x34
#define CAP_VENDOR	0x09
#define CAP_MAX		48	/* a looping list ends here */

/* cfg_type of struct virtio_pci_cap (4.1.4) */
#define CFG_COMMON	1
#define CFG_NOTIFY	2
#define CFG_ISR		3
#define CFG_DEVICE	4

static uint32_t
vpci_cfg_addr(int slot, int reg)
{
	return 0x80000000u | (uint32_t)slot << 11 | (uint32_t)(reg & 0xfc);
}

uint32_t
vpci_cfg_read32(int slot, int reg)
{
	outl(CONF1_ADDR, vpci_cfg_addr(slot, reg));
	return inl(CONF1_DATA);
}

uint16_t
vpci_cfg_read16(int slot, int reg)
{
	outl(CONF1_ADDR, vpci_cfg_addr(slot, reg));
	return inw((uint16_t)(CONF1_DATA + (reg & 2)));
}

uint8_t
vpci_cfg_read8(int slot, int reg)
{
	outl(CONF1_ADDR, vpci_cfg_addr(slot, reg));
	return inb((uint16_t)(CONF1_DATA + (reg & 3)));
}

void
vpci_cfg_write16(int slot, int reg, uint16_t v)
{
	outl(CONF1_ADDR, vpci_cfg_addr(slot, reg));
	outw((uint16_t)(CONF1_DATA + (reg & 2)), v);
}

int
vpci_find(const char *name, uint16_t modern, uint16_t transitional)
{
	for (int s = 0; s < NSLOTS; s++) {
		uint32_t id = vpci_cfg_read32(s, 0);

		if ((id & 0xffff) == VIRTIO_VENDOR &&
		    (id >> 16 == modern || id >> 16 == transitional)) {
			printf("%s at 00:%02x.0, device %04x\n", name, s,
			    id >> 16);
			return s;
		}
	}
	return -1;
}

uint64_t
vpci_bar(int slot, int bar)
{
	uint32_t lo = vpci_cfg_read32(slot, 0x10 + 4 * bar);
	uint64_t a = lo & ~0xfu;

	CHECK((lo & 1) == 0);
	if ((lo & 6) == 4 && bar < 5)
		a |= (uint64_t)vpci_cfg_read32(slot, 0x10 + 4 * (bar + 1)) << 32;
	return a;
}

static void
vpci_take_cap(struct vpci *d, int off)
{
	uint8_t type = vpci_cfg_read8(d->slot, off + 3);
	uint64_t *where[] = { [CFG_COMMON] = &d->common,
		[CFG_NOTIFY] = &d->notify, [CFG_ISR] = &d->isr,
		[CFG_DEVICE] = &d->device };

	if (type < CFG_COMMON || type > CFG_DEVICE || *where[type] != 0)
		return;
	*where[type] = vpci_bar(d->slot, vpci_cfg_read8(d->slot, off + 4)) +
	    vpci_cfg_read32(d->slot, off + 8);
	if (type == CFG_NOTIFY)
		d->notify_mult = vpci_cfg_read32(d->slot, off + 16);
}

/* The capability after 'off' (0: the first); 0 at the end of the list. */
static int
vpci_next_cap(int slot, int off, int *steps)
{
	if (off == 0 && !(vpci_cfg_read32(slot, PCI_COMMAND) & PCI_STATUS_CAPS))
		return 0;
	if ((*steps)++ >= CAP_MAX)
		return 0;
	return vpci_cfg_read8(slot, off == 0 ? PCI_CAP_PTR : off + 1) & 0xfc;
}

int
vpci_find_cap(int slot, uint8_t id)
{
	int steps = 0;

	for (int off = vpci_next_cap(slot, 0, &steps); off != 0;
	    off = vpci_next_cap(slot, off, &steps))
		if (vpci_cfg_read8(slot, off) == id)
			return off;
	return 0;
}

bool
vpci_probe(struct vpci *d, int slot)
{
	int steps = 0;

	*d = (struct vpci){ .slot = slot };
	vpci_cfg_write16(slot, PCI_COMMAND,
	    (uint16_t)(vpci_cfg_read32(slot, PCI_COMMAND) | 0x6));
	for (int off = vpci_next_cap(slot, 0, &steps); off != 0;
	    off = vpci_next_cap(slot, off, &steps))
		if (vpci_cfg_read8(slot, off) == CAP_VENDOR)
			vpci_take_cap(d, off);
	printf("common 0x%lx notify 0x%lx (x%u) isr 0x%lx device 0x%lx\n",
	    (unsigned long)d->common, (unsigned long)d->notify,
	    d->notify_mult, (unsigned long)d->isr, (unsigned long)d->device);
	return d->common != 0 && d->notify != 0;
}

void
vpci_write64(uint64_t addr, uint64_t v)
{
	mmio_write32(addr, (uint32_t)v);
	mmio_write32(addr + 4, (uint32_t)(v >> 32));
}
