/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU fw_cfg on x86 (QEMU docs/specs/fw_cfg.rst): selector 0x510 (16-bit,
 * little-endian), data 0x511 (8-bit), DMA address 0x514 (64-bit,
 * big-endian, as two 32-bit halves; writing the low half at 0x518 starts
 * the transfer).
 */
#ifndef GUEST_FWCFG_H
#define GUEST_FWCFG_H

#include <stdbool.h>
#include <stdint.h>

#define FWCFG_PORT_SEL		0x510
#define FWCFG_PORT_DATA		0x511
#define FWCFG_PORT_DMA_HI	0x514
#define FWCFG_PORT_DMA_LO	0x518

#define FWCFG_SIGNATURE		0x0000
#define FWCFG_ID		0x0001
#define FWCFG_RAM_SIZE		0x0003
#define FWCFG_NB_CPUS		0x0005
#define FWCFG_MAX_CPUS		0x000f
#define FWCFG_CMDLINE_SIZE	0x0014
#define FWCFG_CMDLINE_DATA	0x0015
#define FWCFG_FILE_DIR		0x0019
#define FWCFG_FILE_FIRST	0x0020

#define FWCFG_ID_TRADITIONAL	(1u << 0)
#define FWCFG_ID_DMA		(1u << 1)

#define FWCFG_DMA_ERROR		(1u << 0)
#define FWCFG_DMA_READ		(1u << 1)
#define FWCFG_DMA_SKIP		(1u << 2)
#define FWCFG_DMA_SELECT	(1u << 3)
#define FWCFG_DMA_WRITE		(1u << 4)

#define FWCFG_DMA_SIGNATURE	0x51454d5520434647ULL	/* "QEMU CFG" */
#define FWCFG_NAME_LEN		56

/* One directory entry, as the device sends it (numbers big-endian). */
struct fwcfg_file {
	uint32_t size;
	uint16_t select;
	uint16_t reserved;
	char name[FWCFG_NAME_LEN];
};

/* The DMA descriptor; every field big-endian. */
struct fwcfg_dma_access {
	uint32_t control;
	uint32_t length;
	uint64_t address;
};

void fwcfg_select(uint16_t key);
void fwcfg_read(void *buf, uint32_t len);
void fwcfg_skip(uint32_t len);
uint32_t fwcfg_read_le32(uint16_t key);
uint64_t fwcfg_read_le64(uint16_t key);
/* "QEMU" at key 0. */
bool fwcfg_present(void);
/*
 * Walks the directory through the data port.  Returns the number of
 * entries (or -1 if the count is absurd); fills *found if name is there.
 */
int fwcfg_find_file(const char *name, struct fwcfg_file *found);
/*
 * Starts the DMA transfer described at desc (a guest-physical address)
 * and waits for it.  Returns the final control word, host byte order:
 * 0 on success, FWCFG_DMA_ERROR set on error, anything else on timeout.
 */
uint32_t fwcfg_dma_kick(uint64_t desc_gpa, volatile struct fwcfg_dma_access *d);
/* Builds a descriptor in the kit's own buffer and runs it. */
uint32_t fwcfg_dma(uint32_t control, uint64_t gpa, uint32_t len);

#endif /* GUEST_FWCFG_H */
