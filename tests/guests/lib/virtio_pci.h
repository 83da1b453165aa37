/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finding a virtio 1.x PCI function on bus 0 and its modern structures
 * (virtio spec v1.2, 4.1.4), for the guests that drive virtio devices.
 * The registers inside those structures are each guest's business.
 */
#ifndef GUEST_VIRTIO_PCI_H
#define GUEST_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* PCI configuration mechanism #1, bus 0, function 0 of 'slot'. */
uint32_t vpci_cfg_read32(int slot, int reg);
uint16_t vpci_cfg_read16(int slot, int reg);
uint8_t vpci_cfg_read8(int slot, int reg);
void vpci_cfg_write16(int slot, int reg, uint16_t v);
/* A memory BAR's guest-physical address (64-bit BARs whole). */
uint64_t vpci_bar(int slot, int bar);
/* The offset of the first capability with ID 'id', or 0. */
int vpci_find_cap(int slot, uint8_t id);

/*
 * The slot of the first function with the virtio vendor ID and device
 * ID 'modern' or 'transitional' (printed as "NAME at 00:SS.0, device
 * DDDD"), or -1.
 */
int vpci_find(const char *name, uint16_t modern, uint16_t transitional);

/* Guest-physical addresses of the structures (0: not offered). */
struct vpci {
	int slot;
	uint64_t common, notify, isr, device;
	uint32_t notify_mult;	/* notify_off_multiplier */
};

/*
 * Turns on memory decoding and bus mastering in 'slot' (the firmware's
 * job), then follows its vendor capabilities: the first of each type
 * wins (4.1.4.1).  True when the common and notify structures were found;
 * the caller checks for ISR and device config as its device needs.
 */
bool vpci_probe(struct vpci *d, int slot);

/* A 64-bit register of a modern structure, as two 32-bit writes. */
void vpci_write64(uint64_t addr, uint64_t v);

#endif /* GUEST_VIRTIO_PCI_H */
