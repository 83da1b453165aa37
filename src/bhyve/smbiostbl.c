/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SMBIOS (DMTF DSP0134 3.0), as bhyve's smbiostbl.c provides it: BIOS,
 * system, baseboard, chassis, processor, memory array, memory device,
 * mapped address, boot status and end-of-table structures, with the
 * strings the bios.*, system.*, board.* and chassis.* keys give, and
 * both the 2.1 (32-bit) and 3.0 (64-bit) entry points.  Section numbers
 * are DSP0134's.
 *
 * The structure table is built in an aml_buf, used here as a plain
 * growing byte buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "acpi_aml.h"

#define SMBIOS_MAJOR 3
#define SMBIOS_MINOR 0
#define SMBIOS_MAX_STRINGS 8
#define KiB 1024ULL
#define MiB (1024ULL * 1024)

/* Structure types (7) and their formatted lengths in 3.0. */
#define SMB_BIOS 0
#define SMB_SYSTEM 1
#define SMB_BOARD 2
#define SMB_CHASSIS 3
#define SMB_PROC 4
#define SMB_MEMARRAY 16
#define SMB_MEMDEV 17
#define SMB_MEMMAP 19
#define SMB_BOOT 32
#define SMB_END 127

#define SMB_NO_HANDLE 0xfffe /* "not provided" (7.17.4) */
#define SMB_NO_CACHE 0xffff

struct smb {
	struct aml_buf b;
	size_t start;	/* of the structure being written */
	uint8_t fmt_len; /* its formatted length */
	const char *str[SMBIOS_MAX_STRINGS];
	int nstr;
	uint16_t handle; /* the next one to give */
	uint16_t count;
	uint16_t max_struct;
	int error;
};

/* A string's number in the current structure; 0 for none (6.1.3). */
static uint8_t
smb_str(struct smb *w, const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	if (w->nstr == SMBIOS_MAX_STRINGS) {
		w->error = -E2BIG;
		return 0;
	}
	w->str[w->nstr++] = s;
	return (uint8_t)w->nstr;
}

/* 6.1.2: type, length, handle. */
static uint16_t
smb_begin(struct smb *w, uint8_t type, uint8_t len)
{
	uint16_t h = w->handle++;

	w->start = w->b.len;
	w->fmt_len = len;
	w->nstr = 0;
	aml_byte(&w->b, type);
	aml_byte(&w->b, len);
	aml_le(&w->b, h, 2);
	return h;
}

/*
 * 6.1.3: the strings follow, each NUL-terminated, and a further NUL
 * ends the set; a structure without strings ends in two NULs.
 */
static void
smb_end(struct smb *w)
{
	size_t len;

	if (w->b.len - w->start != w->fmt_len && w->error == 0)
		w->error = -EINVAL; /* a layout bug, not bad input */
	for (int i = 0; i < w->nstr; i++)
		aml_bytes(&w->b, w->str[i], strlen(w->str[i]) + 1);
	if (w->nstr == 0)
		aml_byte(&w->b, 0);
	aml_byte(&w->b, 0);
	len = w->b.len - w->start;
	if (len > w->max_struct)
		w->max_struct = len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;
	w->count++;
}

/* 7.1: BIOS Information. */
static void
smb_bios(struct smb *w, const struct acpi_smbios *s)
{
	/* ISA, PCI, shadowing allowed, EDD (7.1.1). */
	const uint64_t chars = 1ULL << 4 | 1ULL << 7 | 1ULL << 12 | 1ULL << 19;

	smb_begin(w, SMB_BIOS, 0x18);
	aml_byte(&w->b, smb_str(w, s->bios_vendor));
	aml_byte(&w->b, smb_str(w, s->bios_version));
	aml_le(&w->b, 0xf000, 2); /* starting address segment */
	aml_byte(&w->b, smb_str(w, s->bios_date));
	aml_byte(&w->b, 0); /* ROM size: 64 KiB */
	aml_le(&w->b, chars, 8);
	aml_byte(&w->b, 0x01); /* 7.1.2.1: ACPI supported */
	aml_byte(&w->b, 0x10); /* 7.1.2.2: a virtual machine */
	aml_byte(&w->b, 0xff); /* BIOS and EC releases: not given */
	aml_byte(&w->b, 0xff);
	aml_byte(&w->b, 0xff);
	aml_byte(&w->b, 0xff);
	smb_end(w);
}

/*
 * 7.2.1: the UUID's first three fields are little-endian, the text form
 * writes them big-endian; the rest is in text order.
 */
static void
smb_uuid(struct smb *w, const struct acpi_smbios *s)
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10,
		11, 12, 13, 14, 15 };

	for (int i = 0; i < 16; i++)
		aml_byte(&w->b, s->uuid[order[i]]);
}

/* 7.2: System Information. */
static void
smb_system(struct smb *w, const struct acpi_smbios *s)
{
	smb_begin(w, SMB_SYSTEM, 0x1b);
	aml_byte(&w->b, smb_str(w, s->sys_manufacturer));
	aml_byte(&w->b, smb_str(w, s->sys_product));
	aml_byte(&w->b, smb_str(w, s->sys_version));
	aml_byte(&w->b, smb_str(w, s->sys_serial));
	smb_uuid(w, s);
	aml_byte(&w->b, 0x06); /* wake-up type: power switch */
	aml_byte(&w->b, smb_str(w, s->sys_sku));
	aml_byte(&w->b, smb_str(w, s->sys_family));
	smb_end(w);
}

/* 7.4: System Enclosure; no contained elements. */
static uint16_t
smb_chassis(struct smb *w, const struct acpi_smbios *s)
{
	uint16_t h = smb_begin(w, SMB_CHASSIS, 0x16);

	aml_byte(&w->b, smb_str(w, s->chassis_manufacturer));
	aml_byte(&w->b, 0x01); /* type: other */
	aml_byte(&w->b, smb_str(w, s->chassis_version));
	aml_byte(&w->b, smb_str(w, s->chassis_serial));
	aml_byte(&w->b, smb_str(w, s->chassis_asset));
	aml_byte(&w->b, 0x03); /* boot-up, power supply, thermal: safe */
	aml_byte(&w->b, 0x03);
	aml_byte(&w->b, 0x03);
	aml_byte(&w->b, 0x03); /* security: none */
	aml_le(&w->b, 0, 4);   /* OEM-defined */
	aml_byte(&w->b, 0);    /* height */
	aml_byte(&w->b, 0);    /* power cords */
	aml_byte(&w->b, 0);    /* contained elements */
	aml_byte(&w->b, 0);    /* their record length */
	aml_byte(&w->b, smb_str(w, s->chassis_sku));
	smb_end(w);
	return h;
}

/* 7.3: Baseboard, a motherboard in 'chassis'. */
static void
smb_board(struct smb *w, const struct acpi_smbios *s, uint16_t chassis)
{
	smb_begin(w, SMB_BOARD, 0x0f);
	aml_byte(&w->b, smb_str(w, s->board_manufacturer));
	aml_byte(&w->b, smb_str(w, s->board_product));
	aml_byte(&w->b, smb_str(w, s->board_version));
	aml_byte(&w->b, smb_str(w, s->board_serial));
	aml_byte(&w->b, smb_str(w, s->board_asset));
	aml_byte(&w->b, 0x01); /* hosting board */
	aml_byte(&w->b, smb_str(w, s->board_location));
	aml_le(&w->b, chassis, 2);
	aml_byte(&w->b, 0x0a); /* motherboard */
	aml_byte(&w->b, 0);    /* no contained objects */
	smb_end(w);
}

/* 7.5: a count as the byte field (0xff: see the word field) and word. */
static void
smb_count(struct smb *w, unsigned n, bool word)
{
	if (word)
		aml_le(&w->b, n > 0xfffe ? 0xffff : n, 2);
	else
		aml_byte(&w->b, (uint8_t)(n > 254 ? 0xff : n));
}

/* 7.5: one Processor Information structure per socket. */
static void
smb_proc(struct smb *w, const struct acpi_platform *p, const char *name)
{
	unsigned cores = (unsigned)p->cores;
	unsigned threads = (unsigned)(p->cores * p->threads);
	uint16_t chars = 0x04 | (cores > 1 ? 0x08 : 0) |
	    (p->threads > 1 ? 0x10 : 0); /* 64-bit, multi-core, HT */

	smb_begin(w, SMB_PROC, 0x30);
	aml_byte(&w->b, smb_str(w, name));
	aml_byte(&w->b, 0x03); /* central processor */
	aml_byte(&w->b, 0x01); /* family: other */
	aml_byte(&w->b, 0);    /* manufacturer */
	aml_le(&w->b, 0, 8);   /* processor ID */
	aml_byte(&w->b, 0);    /* version */
	aml_byte(&w->b, 0);    /* voltage */
	aml_le(&w->b, 0, 6);   /* clocks: unknown */
	aml_byte(&w->b, 0x41); /* populated, enabled */
	aml_byte(&w->b, 0x06); /* upgrade: none */
	aml_le(&w->b, SMB_NO_CACHE, 2);
	aml_le(&w->b, SMB_NO_CACHE, 2);
	aml_le(&w->b, SMB_NO_CACHE, 2);
	aml_le(&w->b, 0, 3); /* serial, asset tag, part number */
	smb_count(w, cores, false);
	smb_count(w, cores, false);
	smb_count(w, threads, false);
	aml_le(&w->b, chars, 2);
	aml_le(&w->b, 0x01, 2); /* family 2 */
	smb_count(w, cores, true);
	smb_count(w, cores, true);
	smb_count(w, threads, true);
	smb_end(w);
}

/* 7.17: one array holding all RAM. */
static uint16_t
smb_memarray(struct smb *w, uint64_t total)
{
	uint16_t h = smb_begin(w, SMB_MEMARRAY, 0x17);
	uint64_t kib = total / KiB;

	aml_byte(&w->b, 0x03); /* system board */
	aml_byte(&w->b, 0x03); /* system memory */
	aml_byte(&w->b, 0x03); /* no error correction */
	aml_le(&w->b, kib < 0x80000000ULL ? kib : 0x80000000ULL, 4);
	aml_le(&w->b, SMB_NO_HANDLE, 2);
	aml_le(&w->b, 1, 2); /* one device */
	aml_le(&w->b, kib < 0x80000000ULL ? 0 : total, 8);
	smb_end(w);
	return h;
}

/* 7.18: one device of all RAM; sizes of 32 GiB and up go extended. */
static void
smb_memdev(struct smb *w, uint16_t array, uint64_t total)
{
	uint64_t mib = total / MiB;

	smb_begin(w, SMB_MEMDEV, 0x28);
	aml_le(&w->b, array, 2);
	aml_le(&w->b, SMB_NO_HANDLE, 2);
	aml_le(&w->b, 64, 2); /* total width */
	aml_le(&w->b, 64, 2); /* data width */
	aml_le(&w->b, mib < 0x7fff ? mib : 0x7fff, 2);
	aml_byte(&w->b, 0x09); /* DIMM */
	aml_byte(&w->b, 0);    /* not in a set */
	aml_byte(&w->b, smb_str(w, "DIMM 0"));
	aml_byte(&w->b, 0);	/* bank locator */
	aml_byte(&w->b, 0x07);	/* RAM */
	aml_le(&w->b, 0x02, 2); /* type detail: other */
	aml_le(&w->b, 0, 2);	/* speed */
	aml_le(&w->b, 0, 4);	/* manufacturer, serial, asset, part */
	aml_byte(&w->b, 0);	/* rank unknown */
	aml_le(&w->b, mib < 0x7fff ? 0 : mib, 4);
	aml_le(&w->b, 0, 8); /* configured speed, voltages */
	smb_end(w);
}

/* 7.20: [base, base + len) of the array; beyond 4 TiB, in bytes. */
static void
smb_memmap(struct smb *w, uint16_t array, uint64_t base, uint64_t len)
{
	uint64_t end = base + len - 1;
	bool ext = end / KiB >= 0xffffffffULL;

	smb_begin(w, SMB_MEMMAP, 0x1f);
	aml_le(&w->b, ext ? 0xffffffffULL : base / KiB, 4);
	aml_le(&w->b, ext ? 0xffffffffULL : end / KiB, 4);
	aml_le(&w->b, array, 2);
	aml_byte(&w->b, 1); /* partition width */
	aml_le(&w->b, ext ? base : 0, 8);
	aml_le(&w->b, ext ? end : 0, 8);
	smb_end(w);
}

/* 7.33 and 7.45. */
static void
smb_tail(struct smb *w)
{
	smb_begin(w, SMB_BOOT, 0x0b);
	aml_le(&w->b, 0, 6);
	aml_byte(&w->b, 0); /* no errors detected */
	smb_end(w);
	smb_begin(w, SMB_END, 4);
	smb_end(w);
}

static void
smb_structures(struct smb *w, const struct acpi_platform *p)
{
	const struct acpi_smbios *s = &p->smbios;
	uint64_t total = p->lowmem + p->highmem;
	uint16_t chassis, array;
	int sockets = p->sockets > 0 ? p->sockets : 1;

	smb_bios(w, s);
	smb_system(w, s);
	chassis = smb_chassis(w, s);
	smb_board(w, s, chassis);
	for (int i = 0; i < sockets; i++) {
		char name[16];

		snprintf(name, sizeof(name), "CPU %d", i);
		smb_proc(w, p, name);
	}
	array = smb_memarray(w, total);
	smb_memdev(w, array, total);
	if (p->lowmem > 0)
		smb_memmap(w, array, 0, p->lowmem);
	if (p->highmem > 0)
		smb_memmap(w, array, E820_4G, p->highmem);
	smb_tail(w);
}

static uint8_t
smb_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

static void
smb_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* 5.2.1: the 32-bit entry point; intermediate checksum over 0x10-0x1e. */
static void
smb_ep21(struct smbios_tables *t, uint64_t addr)
{
	uint8_t *e = t->ep21;

	memset(e, 0, SMBIOS_EP21_LEN);
	memcpy(e, "_SM_", 4);
	e[5] = SMBIOS_EP21_LEN;
	e[6] = SMBIOS_MAJOR;
	e[7] = SMBIOS_MINOR;
	smb_put_le(e + 8, t->max_struct, 2);
	memcpy(e + 0x10, "_DMI_", 5);
	smb_put_le(e + 0x16, t->len, 2);
	smb_put_le(e + 0x18, addr, 4);
	smb_put_le(e + 0x1c, t->count, 2);
	e[0x1e] = SMBIOS_MAJOR << 4 | SMBIOS_MINOR;
	e[0x15] = smb_checksum(e + 0x10, 0x0f);
	e[4] = smb_checksum(e, SMBIOS_EP21_LEN);
}

/* 5.2.2: the 64-bit entry point. */
static void
smb_ep30(struct smbios_tables *t, uint64_t addr)
{
	uint8_t *e = t->ep30;

	memset(e, 0, SMBIOS_EP30_LEN);
	memcpy(e, "_SM3_", 5);
	e[6] = SMBIOS_EP30_LEN;
	e[7] = SMBIOS_MAJOR;
	e[8] = SMBIOS_MINOR;
	e[0x0a] = 0x01; /* entry point revision */
	smb_put_le(e + 0x0c, t->len, 4);
	smb_put_le(e + 0x10, addr, 8);
	e[5] = smb_checksum(e, SMBIOS_EP30_LEN);
}

int
smbios_build(const struct acpi_platform *p, uint64_t table_addr,
    struct smbios_tables *t)
{
	struct smb w = { .handle = 0 };

	*t = (struct smbios_tables){ .table = NULL };
	aml_init(&w.b);
	smb_structures(&w, p);
	if (w.error == 0)
		w.error = w.b.error;
	/* The 2.1 entry point has 16 bits of length and 32 of address. */
	if (w.error == 0 && (w.b.len > UINT16_MAX ||
	    table_addr + w.b.len > UINT32_MAX))
		w.error = -E2BIG;
	if (w.error) {
		aml_free(&w.b);
		return w.error;
	}
	t->table = w.b.data;
	t->len = w.b.len;
	t->count = w.count;
	t->max_struct = w.max_struct;
	smb_ep21(t, table_addr);
	smb_ep30(t, table_addr);
	return 0;
}

void
smbios_tables_free(struct smbios_tables *t)
{
	free(t->table);
	*t = (struct smbios_tables){ .table = NULL };
}
