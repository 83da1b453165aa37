/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the QEMU fw_cfg device as a guest reaches it.  The
 * input is a program of port accesses (selector writes, data reads, DMA
 * address writes), descriptors and bytes stored into guest RAM, and
 * host-side additions of files and items.  One small VM serves the whole
 * run (libFuzzer gives a target no context to carry it in); a fresh
 * device is made for every input, so that inputs do not depend on each
 * other and init/destroy are exercised as well.
 *
 * Besides the sanitizers, the target checks: a DMA request whose control
 * word is in RAM always ends with that word 0 or the error bit, and the
 * signature item always reads "QEMU".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bhyverun.h"
#include "config.h"
#include "fwcfg.h"
#include "iomem.h"
#include "vmmapi.h"

#define FUZZ_RAM (2ULL << 20)
#define FUZZ_SEL_PORT 0x510
#define FUZZ_DATA_PORT 0x511
#define FUZZ_DMA_PORT 0x514

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bhyve_vm fuzz_bvm;

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

static uint64_t
fuzz_take(struct fuzz_input *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

static void
fuzz_die(const char *why)
{
	fprintf(stderr, "fuzz_fwcfg: %s\n", why);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const kv[] = {
		"lpc.fwcfg", "qemu",
		"boot.cmdline", "console=ttyS0",
		"fwcfg.user.0.name", "opt/org.example/a",
		"fwcfg.user.0.string", "alpha",
		"fwcfg.user.1.name", "etc/b",
		"fwcfg.user.1.string", "bravo",
		NULL };

	fuzz_bvm = (struct bhyve_vm){ .ncpus = 2 };
	fuzz_bvm.cfg = config_new();
	fuzz_bvm.ports = io_registry_create(0x10000);
	fuzz_bvm.ctx = vm_create("fuzz-fwcfg", VMM_BACKEND_NULL, NULL);
	if (fuzz_bvm.cfg == NULL || fuzz_bvm.ports == NULL ||
	    fuzz_bvm.ctx == NULL || vm_setup_memory(fuzz_bvm.ctx, FUZZ_RAM))
		fuzz_die("cannot create the VM");
	for (const char *const *p = kv; p[0]; p += 2)
		if (config_set(fuzz_bvm.cfg, p[0], p[1]) != 0)
			fuzz_die("cannot build the config");
	return 0;
}

static uint64_t
fuzz_io(bool write, uint16_t port, int size, uint64_t v)
{
	(void)io_dispatch(fuzz_bvm.ports, NULL, write, port, size, &v);
	return v;
}

/* A descriptor somewhere in the first MiB, every field from the input. */
static void
fuzz_store_desc(struct fuzz_input *in)
{
	uint64_t gpa = fuzz_take(in, 2) * 16 + (fuzz_take(in, 1) & 15);
	uint8_t *d = vm_map_gpa(fuzz_bvm.ctx, gpa, 16);

	for (int i = 0; i < 16; i++)
		d[i] = (uint8_t)fuzz_take(in, 1);
}

/* A request likely to do work: buffer in RAM, length up to 64 KiB. */
static void
fuzz_dma_friendly(struct fuzz_input *in)
{
	uint64_t gpa = fuzz_take(in, 2) * 16;
	uint32_t control = (uint32_t)fuzz_take(in, 4);
	uint32_t length = (uint32_t)fuzz_take(in, 2);
	uint64_t buf = fuzz_take(in, 3);
	uint8_t *d = vm_map_gpa(fuzz_bvm.ctx, gpa, 16);
	uint32_t status;

	for (int i = 0; i < 4; i++) {
		d[i] = (uint8_t)(control >> (24 - 8 * i));
		d[4 + i] = (uint8_t)(length >> (24 - 8 * i));
	}
	for (int i = 0; i < 8; i++)
		d[8 + i] = (uint8_t)(buf >> (56 - 8 * i));
	(void)fuzz_io(true, FUZZ_DMA_PORT, 4, 0);
	(void)fuzz_io(true, FUZZ_DMA_PORT + 4, 4,
	    __builtin_bswap32((uint32_t)gpa));
	status = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
	    (uint32_t)d[2] << 8 | d[3];
	if (status != 0 && status != 1)
		fuzz_die("DMA left a control word that is neither 0 nor error");
}

static void
fuzz_add_file(struct fuzz_input *in)
{
	char name[FWCFG_NAME_MAX + 8];
	size_t namelen = fuzz_take(in, 1) % sizeof(name);
	uint8_t blob[256];
	size_t len = fuzz_take(in, 1);
	int error;

	for (size_t i = 0; i < namelen; i++)
		name[i] = (char)fuzz_take(in, 1);
	name[namelen] = '\0';
	for (size_t i = 0; i < len; i++)
		blob[i] = (uint8_t)fuzz_take(in, 1);
	error = fwcfg_add_file(fuzz_bvm.fwcfg, name, blob, (uint32_t)len);
	if (error != 0 && error != -EINVAL && error != -ENAMETOOLONG &&
	    error != -EEXIST && error != -ENOSPC)
		fuzz_die("fwcfg_add_file: unexpected error");
}

static void
fuzz_set_item(struct fuzz_input *in)
{
	uint16_t key = (uint16_t)fuzz_take(in, 2);
	uint8_t blob[64];
	size_t len = fuzz_take(in, 1) % sizeof(blob);

	for (size_t i = 0; i < len; i++)
		blob[i] = (uint8_t)fuzz_take(in, 1);
	(void)fwcfg_set_item(fuzz_bvm.fwcfg, key, blob, (uint32_t)len);
}

static void
fuzz_check_signature(void)
{
	uint8_t b[4];

	(void)fuzz_io(true, FUZZ_SEL_PORT, 2, 0);
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)fuzz_io(false, FUZZ_DATA_PORT, 1, 0);
	if (memcmp(b, "QEMU", 4) != 0)
		fuzz_die("the signature changed");
}

/* Any access near the device: every width, read or write. */
static void
fuzz_raw_access(struct fuzz_input *in)
{
	static const int sizes[] = { 1, 2, 4, 8 };
	uint8_t how = (uint8_t)fuzz_take(in, 1);
	uint16_t port = (uint16_t)(0x50c + (how >> 3) % 20);

	(void)fuzz_io(how & 4, port, sizes[how & 3], fuzz_take(in, 8));
}

static void
fuzz_step(struct fuzz_input *in, uint8_t op)
{
	switch (op % 11) {
	case 0:
		(void)fuzz_io(true, FUZZ_SEL_PORT, 2, fuzz_take(in, 2));
		break;
	case 1:
		for (uint64_t n = fuzz_take(in, 1); n > 0; n--)
			(void)fuzz_io(false, FUZZ_DATA_PORT, 1, 0);
		break;
	case 2:
		fuzz_store_desc(in);
		break;
	case 3:
		(void)fuzz_io(true, FUZZ_DMA_PORT, 4, fuzz_take(in, 4));
		break;
	case 4:
		(void)fuzz_io(true, FUZZ_DMA_PORT + 4, 4, fuzz_take(in, 4));
		break;
	case 5:
		(void)fuzz_io(true, FUZZ_DMA_PORT, 8, fuzz_take(in, 8));
		break;
	case 6:
		fuzz_dma_friendly(in);
		break;
	case 7:
		fuzz_raw_access(in);
		break;
	case 8:
		fuzz_add_file(in);
		break;
	case 9:
		fuzz_set_item(in);
		break;
	default:
		fuzz_check_signature();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { .p = data, .n = size };
	uint8_t *ram = vm_map_gpa(fuzz_bvm.ctx, 0, FUZZ_RAM);
	void *softc = NULL;

	memset(ram, 0, FUZZ_RAM);
	fuzz_bvm.err[0] = '\0';
	if (fwcfg_device.init(&fuzz_bvm, &softc) != 0)
		fuzz_die(fuzz_bvm.err);
	while (in.n > 0)
		fuzz_step(&in, (uint8_t)fuzz_take(&in, 1));
	fuzz_check_signature();
	fwcfg_device.destroy(softc);
	if (fuzz_bvm.fwcfg != NULL)
		fuzz_die("destroy left bvm->fwcfg set");
	return 0;
}
