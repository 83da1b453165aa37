/* SPDX-License-Identifier: BSD-2-Clause */
/* A fw_cfg reader: the traditional port interface and the DMA interface. */
#include "fwcfg.h"
#include "guest.h"

/* Directories with more entries than this are taken as garbage. */
#define FWCFG_MAX_FILES		4096
/* Polls of the control word before a DMA transfer counts as lost. */
#define FWCFG_DMA_POLLS		100000

static volatile struct fwcfg_dma_access fwcfg_desc __attribute__((aligned(16)));

void
fwcfg_select(uint16_t key)
{
	outw(FWCFG_PORT_SEL, key);
}

void
fwcfg_read(void *buf, uint32_t len)
{
	uint8_t *p = buf;

	for (uint32_t i = 0; i < len; i++)
		p[i] = inb(FWCFG_PORT_DATA);
}

void
fwcfg_skip(uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		(void)inb(FWCFG_PORT_DATA);
}

uint32_t
fwcfg_read_le32(uint16_t key)
{
	uint32_t v = 0;

	fwcfg_select(key);
	fwcfg_read(&v, sizeof(v));
	return v;
}

uint64_t
fwcfg_read_le64(uint16_t key)
{
	uint64_t v = 0;

	fwcfg_select(key);
	fwcfg_read(&v, sizeof(v));
	return v;
}

bool
fwcfg_present(void)
{
	char sig[4];

	fwcfg_select(FWCFG_SIGNATURE);
	fwcfg_read(sig, sizeof(sig));
	return memcmp(sig, "QEMU", sizeof(sig)) == 0;
}

int
fwcfg_find_file(const char *name, struct fwcfg_file *found)
{
	uint32_t count;

	fwcfg_select(FWCFG_FILE_DIR);
	fwcfg_read(&count, sizeof(count));
	count = bswap32(count);
	if (count > FWCFG_MAX_FILES)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		struct fwcfg_file f;

		fwcfg_read(&f, sizeof(f));
		if (strnlen(f.name, sizeof(f.name)) < sizeof(f.name) &&
		    strcmp(f.name, name) == 0 && found != NULL) {
			*found = f;
			found->size = bswap32(f.size);
			found->select = bswap16(f.select);
		}
	}
	return (int)count;
}

uint32_t
fwcfg_dma_kick(uint64_t desc_gpa, volatile struct fwcfg_dma_access *d)
{
	uint32_t control = 0;

	/* The device reads the descriptor from RAM: no stale stores. */
	__asm__ volatile("" : : : "memory");
	outl(FWCFG_PORT_DMA_HI, bswap32((uint32_t)(desc_gpa >> 32)));
	outl(FWCFG_PORT_DMA_LO, bswap32((uint32_t)desc_gpa));
	if (d == NULL)
		return 0;
	for (int i = 0; i < FWCFG_DMA_POLLS; i++) {
		control = bswap32(d->control);
		if (control == 0 || (control & FWCFG_DMA_ERROR))
			break;
	}
	return control;
}

uint32_t
fwcfg_dma(uint32_t control, uint64_t gpa, uint32_t len)
{
	fwcfg_desc.control = bswap32(control);
	fwcfg_desc.length = bswap32(len);
	fwcfg_desc.address = bswap64(gpa);
	return fwcfg_dma_kick((uint64_t)&fwcfg_desc, &fwcfg_desc);
}
