/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU's firmware configuration device (fw_cfg) on the x86 I/O ports, with
 * the DMA interface: what bhyve's qemu_fwcfg.c offers with "-l fwcfg=qemu",
 * plus DMA, which current OVMF and Linux's qemu_fw_cfg driver use when the
 * ID item advertises it.  The interface is QEMU's docs/specs/fw_cfg.rst;
 * where that text is silent, QEMU's hw/nvram/fw_cfg.c is the reference.
 *
 *   0x510  selector, 16-bit write: choose an item, rewind its offset.
 *          Bit 15 picks the architecture-local table, bit 14 (the old
 *          write channel) is ignored, bits 13:0 index the table.
 *   0x511  data, 8-bit read: the next byte of the item, 0 past its end or
 *          for a key with no item.  QEMU's x86 device accepts byte reads
 *          at 0x510 too (the ports form one region) and no wider reads;
 *          byte writes are accepted and dropped (QEMU v2.4+).
 *   0x514  DMA address, 8 bytes, big-endian: a 32-bit write at 0x514 sets
 *          the high half (and clears the low one), a 32-bit write at 0x518
 *          ORs in the low half and starts the request, a 64-bit write at
 *          0x514 does both.  Reads return "QEMU CFG".
 *
 * A DMA request is a FWCfgDmaAccess { be32 control; be32 length; be64
 * address; } in guest RAM.  Control: bit 0 error, 1 read, 2 skip,
 * 3 select (key in bits 31:16), 4 write.  When done, the device writes
 * the control word back: 0 for success, the error bit for failure.
 * Reading past the end of an item zero-fills the buffer and skipping past
 * it stops at the end, as QEMU does.  Every item is read-only, so a DMA
 * write of one byte or more fails, as it does in QEMU for such items.
 * Guest memory is reached only through vm_map_gpa().  A read fails before
 * anything is copied when its buffer is not wholly inside one RAM segment
 * or its range wraps (QEMU may copy a part first).  Control bits 15:5 make
 * the request fail too (QEMU ignores them).  A descriptor outside RAM gets
 * no answer, there being nowhere to put one; if only its control word is
 * in RAM, that word gets the error bit, as in QEMU.
 *
 * Items: signature, ID (traditional + DMA), UUID, RAM size, CPU counts,
 * kernel command line, and the file directory (key 0x19: be32 count, then
 * 64-byte entries { be32 size; be16 select; be16 reserved; char name[56] })
 * listing the files from key 0x20 on.  QEMU keeps the directory sorted by
 * name; so does this device, but a file's selector is given once, when
 * it is added, and never moves: guests look files up by name and use the
 * entry's select field, and a late addition must not pull an item from
 * under a guest that already read the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fwcfg.h"
#include "iomem.h"
#include "uuid.h"

#define FWCFG_PORT_BASE 0x510
#define FWCFG_PORT_LEN 2 /* selector at +0, data at +1 */
#define FWCFG_DMA_PORT 0x514
#define FWCFG_DMA_LEN 8

#define FWCFG_ID_TRADITIONAL 0x01
#define FWCFG_ID_DMA 0x02

#define FWCFG_DMA_CTL_ERROR 0x01
#define FWCFG_DMA_CTL_READ 0x02
#define FWCFG_DMA_CTL_SKIP 0x04
#define FWCFG_DMA_CTL_SELECT 0x08
#define FWCFG_DMA_CTL_WRITE 0x10
/* Bits 15:5 have no meaning; bits 31:16 are the key for a select. */
#define FWCFG_DMA_CTL_UNKNOWN 0xffe0
#define FWCFG_DMA_DESC_LEN 16

#define FWCFG_INDEX_MASK 0x3fff
#define FWCFG_NFIXED FWCFG_KEY_FILE_FIRST
#define FWCFG_DIRENT_LEN 64
#define FWCFG_DIR_LEN(n) (4 + (size_t)(n) * FWCFG_DIRENT_LEN)

struct fwcfg_item {
	uint8_t *data; /* NULL when len is 0 */
	uint32_t len;
};

struct fwcfg_file {
	struct fwcfg_item item;
	char name[FWCFG_NAME_MAX];
};

struct fwcfg_softc {
	struct bhyve_vm *bvm;
	bool ports_registered;
	bool dma_registered;

	pthread_mutex_t lock; /* everything below */
	uint16_t select;      /* the selector as written */
	uint32_t offset;      /* into the selected item */
	uint64_t dma_addr;    /* the DMA address register */
	struct fwcfg_item fixed[2][FWCFG_NFIXED]; /* [arch-local][index] */
	struct fwcfg_file *files; /* [select - FILE_FIRST], FWCFG_MAX_FILES */
	uint32_t nfiles;
	uint8_t *dir; /* key 0x19; fixed[0][FILE_DIR] points here */
};

static const uint8_t fwcfg_signature[4] = { 'Q', 'E', 'M', 'U' };
static const uint8_t fwcfg_dma_signature[FWCFG_DMA_LEN] = { 'Q', 'E', 'M',
	'U', ' ', 'C', 'F', 'G' };

static void
fwcfg_put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
fwcfg_put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Byte-wise, so that an unaligned guest descriptor is no problem. */
static uint64_t
fwcfg_get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
fwcfg_get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Port values are numbers whose bytes appear on the bus least significant
 * first; the DMA register is big-endian, so a guest byte-swaps the
 * address before "out" (as OVMF and Linux do) and it is swapped back here.
 */
static uint64_t
fwcfg_swap(uint64_t v, int bytes)
{
	uint8_t b[8];

	fwcfg_put_le(b, v, bytes);
	return fwcfg_get_be(b, bytes);
}

/* The item a key selects, or NULL if no table slot exists for it. */
static const struct fwcfg_item *
fwcfg_lookup(const struct fwcfg_softc *sc, uint16_t key)
{
	unsigned idx = key & FWCFG_INDEX_MASK;
	bool arch = (key & FWCFG_KEY_ARCH_LOCAL) != 0;

	if (idx < FWCFG_NFIXED)
		return &sc->fixed[arch][idx];
	if (arch || idx - FWCFG_KEY_FILE_FIRST >= sc->nfiles)
		return NULL;
	return &sc->files[idx - FWCFG_KEY_FILE_FIRST].item;
}

/* Bytes left in the selected item from the current offset. */
static uint32_t
fwcfg_remaining(const struct fwcfg_softc *sc)
{
	const struct fwcfg_item *it = fwcfg_lookup(sc, sc->select);

	if (it == NULL || sc->offset >= it->len)
		return 0;
	return it->len - sc->offset;
}

static void
fwcfg_select(struct fwcfg_softc *sc, uint16_t key)
{
	sc->select = key;
	sc->offset = 0;
}

static uint8_t
fwcfg_read_byte(struct fwcfg_softc *sc)
{
	const struct fwcfg_item *it = fwcfg_lookup(sc, sc->select);

	if (fwcfg_remaining(sc) == 0)
		return 0;
	return it->data[sc->offset++];
}

/*
 * 0x510-0x511 as QEMU's x86 device decodes them (fw_cfg.rst "Selector
 * Register", "Data Register"): a 16-bit write at 0x510 selects, byte
 * reads of either port return data, byte writes are dropped.  Anything
 * else is refused and gets the unhandled-port treatment.
 */
static int
fwcfg_port_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct fwcfg_softc *sc = arg;

	if (write && size == 2 && offset == 0) {
		pthread_mutex_lock(&sc->lock);
		fwcfg_select(sc, (uint16_t)*val);
		pthread_mutex_unlock(&sc->lock);
		return 0;
	}
	if (size != 1)
		return -EINVAL;
	if (write)
		return 0;
	pthread_mutex_lock(&sc->lock);
	*val = fwcfg_read_byte(sc);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/* A DMA read: copy what the item has, zero-fill the rest (QEMU does). */
static uint32_t
fwcfg_dma_read(struct fwcfg_softc *sc, uint64_t gpa, uint32_t length)
{
	const struct fwcfg_item *it = fwcfg_lookup(sc, sc->select);
	uint32_t avail = fwcfg_remaining(sc);
	uint32_t n = length < avail ? length : avail;
	uint8_t *buf;

	if (length == 0)
		return 0;
	if (gpa + (length - 1) < gpa)
		return FWCFG_DMA_CTL_ERROR; /* wraps around the address space */
	/* All of the buffer or nothing: one RAM segment, checked at once. */
	buf = vm_map_gpa(sc->bvm->ctx, gpa, length);
	if (buf == NULL)
		return FWCFG_DMA_CTL_ERROR;
	if (n > 0) {
		memcpy(buf, it->data + sc->offset, n);
		sc->offset += n;
	}
	memset(buf + n, 0, length - n);
	return 0;
}

/* Carry out the request in 'desc'; returns the control word to report. */
static uint32_t
fwcfg_dma_run(struct fwcfg_softc *sc, const uint8_t *desc)
{
	/* Each field is read once: another vCPU may be changing them. */
	uint32_t control = (uint32_t)fwcfg_get_be(desc, 4);
	uint32_t length = (uint32_t)fwcfg_get_be(desc + 4, 4);
	uint64_t gpa = fwcfg_get_be(desc + 8, 8);
	uint32_t avail;

	if (control & FWCFG_DMA_CTL_UNKNOWN)
		return FWCFG_DMA_CTL_ERROR;
	if (control & FWCFG_DMA_CTL_SELECT)
		fwcfg_select(sc, (uint16_t)(control >> 16));
	/* Read beats write beats skip (fw_cfg.rst, "Guest-side DMA"). */
	if (control & FWCFG_DMA_CTL_READ)
		return fwcfg_dma_read(sc, gpa, length);
	if (control & FWCFG_DMA_CTL_WRITE)
		return length > 0 ? FWCFG_DMA_CTL_ERROR : 0;
	if (control & FWCFG_DMA_CTL_SKIP) {
		avail = fwcfg_remaining(sc);
		sc->offset += length < avail ? length : avail;
	}
	return 0;
}

static void
fwcfg_dma_start(struct fwcfg_softc *sc, uint64_t gpa)
{
	struct vmctx *ctx = sc->bvm->ctx;
	uint8_t *desc = vm_map_gpa(ctx, gpa, FWCFG_DMA_DESC_LEN);
	uint8_t *ctl = desc ? desc : vm_map_gpa(ctx, gpa, 4);
	uint32_t status;

	/* Like QEMU, report a partly reachable descriptor's failure. */
	if (ctl == NULL)
		return;
	status = desc ? fwcfg_dma_run(sc, desc) : FWCFG_DMA_CTL_ERROR;
	/* The data must be visible before a polling vCPU sees "done". */
	atomic_thread_fence(memory_order_release);
	fwcfg_put_be(ctl, status, 4);
}

static int
fwcfg_dma_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct fwcfg_softc *sc = arg;
	uint64_t v;

	if (!write) {
		/* Bytes of "QEMU CFG" in port order, whatever the width. */
		*val = fwcfg_get_le(fwcfg_dma_signature + offset, size);
		return 0;
	}
	if (!((size == 4 && (offset == 0 || offset == 4)) ||
	    (size == 8 && offset == 0)))
		return -EINVAL; /* QEMU accepts no other writes */
	v = fwcfg_swap(*val, size);
	pthread_mutex_lock(&sc->lock);
	if (size == 4 && offset == 0) {
		sc->dma_addr = v << 32;
	} else {
		sc->dma_addr = size == 8 ? v : sc->dma_addr | v;
		v = sc->dma_addr;
		/*
		 * QEMU zeroes the register as a request starts: a later
		 * low-half write alone gives a 32-bit address.
		 */
		sc->dma_addr = 0;
		fwcfg_dma_start(sc, v);
	}
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/*
 * Replace a fixed item with a copy of 'data'.  The caller holds the lock,
 * or has the device to itself (init).
 */
static int
fwcfg_put_item(struct fwcfg_softc *sc, uint16_t key, const void *data,
    uint32_t len)
{
	struct fwcfg_item *it = &sc->fixed[(key & FWCFG_KEY_ARCH_LOCAL) != 0]
					  [key & FWCFG_INDEX_MASK];
	uint8_t *copy = NULL;

	if (len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	free(it->data);
	*it = (struct fwcfg_item){ .data = copy, .len = len };
	return 0;
}

int
fwcfg_set_item(struct fwcfg_softc *sc, uint16_t key, const void *data,
    uint32_t len)
{
	unsigned idx = key & FWCFG_INDEX_MASK;
	int error;

	if ((key & ~(FWCFG_KEY_ARCH_LOCAL | FWCFG_INDEX_MASK)) != 0 ||
	    idx >= FWCFG_NFIXED || (len > 0 && data == NULL))
		return -EINVAL;
	if ((key & FWCFG_KEY_ARCH_LOCAL) == 0 &&
	    (idx == FWCFG_KEY_SIGNATURE || idx == FWCFG_KEY_ID ||
	    idx == FWCFG_KEY_FILE_DIR))
		return -EPERM;
	pthread_mutex_lock(&sc->lock);
	error = fwcfg_put_item(sc, key, data, len);
	pthread_mutex_unlock(&sc->lock);
	return error;
}

static const char *
fwcfg_dirent_name(const struct fwcfg_softc *sc, uint32_t i)
{
	return (const char *)sc->dir + FWCFG_DIR_LEN(i) + 8;
}

/*
 * Where 'name' belongs in the sorted directory (strcmp order, as QEMU's
 * fw_cfg_add_file_callback); true if it is already there.
 */
static bool
fwcfg_dir_search(const struct fwcfg_softc *sc, const char *name,
    uint32_t *pos)
{
	uint32_t lo = 0, hi = sc->nfiles;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, fwcfg_dirent_name(sc, mid));

		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return false;
}

static int
fwcfg_insert_file(struct fwcfg_softc *sc, const char *name, uint8_t *data,
    uint32_t len)
{
	uint16_t select = (uint16_t)(FWCFG_KEY_FILE_FIRST + sc->nfiles);
	struct fwcfg_file *f;
	uint8_t *ent;
	uint32_t pos;

	if (sc->nfiles == FWCFG_MAX_FILES)
		return -ENOSPC;
	if (fwcfg_dir_search(sc, name, &pos))
		return -EEXIST;
	f = &sc->files[sc->nfiles];
	*f = (struct fwcfg_file){ .item = { .data = data, .len = len } };
	strcpy(f->name, name); /* the caller checked its length */

	ent = sc->dir + FWCFG_DIR_LEN(pos);
	memmove(ent + FWCFG_DIRENT_LEN, ent,
	    (size_t)(sc->nfiles - pos) * FWCFG_DIRENT_LEN);
	memset(ent, 0, FWCFG_DIRENT_LEN);
	fwcfg_put_be(ent, len, 4);
	fwcfg_put_be(ent + 4, select, 2);
	memcpy(ent + 8, f->name, sizeof(f->name));
	sc->nfiles++;
	fwcfg_put_be(sc->dir, sc->nfiles, 4);
	sc->fixed[0][FWCFG_KEY_FILE_DIR].len =
	    (uint32_t)FWCFG_DIR_LEN(sc->nfiles);
	return 0;
}

int
fwcfg_add_file(struct fwcfg_softc *sc, const char *name, const void *data,
    uint32_t len)
{
	size_t namelen = strnlen(name, FWCFG_NAME_MAX);
	uint8_t *copy = NULL;
	int error;

	if (namelen == 0 || (len > 0 && data == NULL))
		return -EINVAL;
	if (namelen >= FWCFG_NAME_MAX)
		return -ENAMETOOLONG;
	if (len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	pthread_mutex_lock(&sc->lock);
	error = fwcfg_insert_file(sc, name, copy, len);
	pthread_mutex_unlock(&sc->lock);
	if (error)
		free(copy);
	return error;
}

/*
 * A string key; *out is NULL when it is unset.  A value whose %(var)
 * expansion fails is an error, not a missing key.
 */
static int
fwcfg_config_str(struct bhyve_vm *bvm, const char *key, const char **out)
{
	*out = config_get(bvm->cfg, key);
	if (*out == NULL && config_find_node(bvm->cfg, key) != NULL)
		return bhyve_error(bvm, "fwcfg: invalid %s", key);
	return 0;
}

/* The 16 bytes in the order they are written, as QEMU's item has them. */
static int
fwcfg_add_uuid(struct fwcfg_softc *sc)
{
	uint8_t uuid[16];

	if (bhyve_vm_uuid(sc->bvm, uuid) != 0)
		return -1;
	return fwcfg_put_item(sc, FWCFG_KEY_UUID, uuid, sizeof(uuid));
}

/* CPU counts are 16-bit, as in QEMU's hw/i386/fw_cfg.c. */
static int
fwcfg_add_cpus(struct fwcfg_softc *sc)
{
	struct bhyve_vm *bvm = sc->bvm;
	uint64_t maxcpus;
	uint8_t v[2];

	if (config_get_uint(bvm->cfg, "maxcpus", (uint64_t)bvm->ncpus,
	    &maxcpus) != 0 || maxcpus < (uint64_t)bvm->ncpus ||
	    maxcpus > UINT16_MAX)
		return bhyve_error(bvm, "fwcfg: invalid maxcpus '%s'",
		    config_get(bvm->cfg, "maxcpus"));
	fwcfg_put_le(v, (uint64_t)bvm->ncpus, 2);
	if (fwcfg_put_item(sc, FWCFG_KEY_NB_CPUS, v, sizeof(v)) != 0)
		return -ENOMEM;
	fwcfg_put_le(v, maxcpus, 2);
	return fwcfg_put_item(sc, FWCFG_KEY_MAX_CPUS, v, sizeof(v));
}

/* As QEMU's x86_load_linux: the size counts the NUL, the data has it. */
static int
fwcfg_add_cmdline(struct fwcfg_softc *sc)
{
	const char *cmdline;
	size_t len;
	uint8_t v[4];

	if (fwcfg_config_str(sc->bvm, "boot.cmdline", &cmdline) != 0)
		return -1;
	if (cmdline == NULL)
		return 0;
	len = strlen(cmdline) + 1;
	if (len > UINT32_MAX)
		return bhyve_error(sc->bvm, "fwcfg: boot.cmdline is too long");
	fwcfg_put_le(v, len, 4);
	if (fwcfg_put_item(sc, FWCFG_KEY_CMDLINE_SIZE, v, sizeof(v)) != 0)
		return -ENOMEM;
	return fwcfg_put_item(sc, FWCFG_KEY_CMDLINE_DATA, cmdline,
	    (uint32_t)len);
}

static int
fwcfg_add_standard(struct fwcfg_softc *sc)
{
	uint8_t id[4], ram[8];
	int error;

	fwcfg_put_le(id, FWCFG_ID_TRADITIONAL | FWCFG_ID_DMA, 4);
	fwcfg_put_le(ram, vm_get_memory_size(sc->bvm->ctx), 8);
	sc->fixed[0][FWCFG_KEY_FILE_DIR] = (struct fwcfg_item){
		.data = sc->dir, .len = (uint32_t)FWCFG_DIR_LEN(0) };
	if (fwcfg_put_item(sc, FWCFG_KEY_SIGNATURE, fwcfg_signature,
	    sizeof(fwcfg_signature)) != 0 ||
	    fwcfg_put_item(sc, FWCFG_KEY_ID, id, sizeof(id)) != 0 ||
	    fwcfg_put_item(sc, FWCFG_KEY_RAM_SIZE, ram, sizeof(ram)) != 0)
		return bhyve_error(sc->bvm, "fwcfg: out of memory");
	error = fwcfg_add_uuid(sc);
	if (error == 0)
		error = fwcfg_add_cpus(sc);
	if (error == 0)
		error = fwcfg_add_cmdline(sc);
	if (error == -ENOMEM)
		return bhyve_error(sc->bvm, "fwcfg: out of memory");
	return error;
}

/* Make room for more of a host file; an item holds UINT32_MAX at most. */
static int
fwcfg_grow(uint8_t **buf, size_t *cap)
{
	size_t limit = (size_t)UINT32_MAX + 1;
	size_t ncap = *cap ? *cap * 2 : 65536;
	uint8_t *p;

	if (*cap >= limit)
		return -EFBIG;
	if (ncap > limit)
		ncap = limit;
	p = realloc(*buf, ncap);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

/* All of a host file (any kind: QEMU reads pipes and devices too). */
static int
fwcfg_read_host_file(const char *path, uint8_t **out, uint32_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;
	int error = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap && (error = fwcfg_grow(&buf, &cap)) != 0)
			break;
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			error = r < 0 ? -errno : 0;
			break;
		}
		len += (size_t)r;
	}
	close(fd);
	if (error) {
		free(buf);
		return error;
	}
	*out = buf;
	*lenp = (uint32_t)len;
	return 0;
}

static const char *
fwcfg_add_strerror(int error)
{
	switch (error) {
	case -EINVAL:
		return "empty name";
	case -ENAMETOOLONG:
		return "name longer than 55 bytes";
	case -EEXIST:
		return "duplicate name";
	case -ENOSPC:
		return "too many files";
	default:
		return strerror(-error);
	}
}

/* fwcfg.user.<n>.name with .string or .file (bhyve's -f option). */
static int
fwcfg_add_user_file(struct fwcfg_softc *sc, unsigned n)
{
	struct bhyve_vm *bvm = sc->bvm;
	char kname[48], kstr[48], kfile[48];
	const char *name, *str, *path;
	uint8_t *data = NULL;
	uint32_t len = 0;
	int error;

	snprintf(kname, sizeof(kname), "fwcfg.user.%u.name", n);
	snprintf(kstr, sizeof(kstr), "fwcfg.user.%u.string", n);
	snprintf(kfile, sizeof(kfile), "fwcfg.user.%u.file", n);
	if (fwcfg_config_str(bvm, kname, &name) != 0 ||
	    fwcfg_config_str(bvm, kstr, &str) != 0 ||
	    fwcfg_config_str(bvm, kfile, &path) != 0)
		return -1;
	if (name == NULL)
		return bhyve_error(bvm, "fwcfg: %s is missing", kname);
	if ((str == NULL) == (path == NULL))
		return bhyve_error(bvm, "fwcfg: fwcfg.user.%u needs one of "
		    "string and file", n);
	if (path != NULL) {
		error = fwcfg_read_host_file(path, &data, &len);
		if (error)
			return bhyve_error(bvm, "fwcfg: cannot read %s "
			    "'%s': %s", kfile, path, strerror(-error));
		error = fwcfg_add_file(sc, name, data, len);
		free(data);
	} else if (strlen(str) > UINT32_MAX) {
		error = -EFBIG;
	} else {
		/* QEMU's -fw_cfg string=: the bytes, without the NUL. */
		error = fwcfg_add_file(sc, name, str, (uint32_t)strlen(str));
	}
	if (error)
		return bhyve_error(bvm, "fwcfg: cannot add '%s' (%s): %s", name,
		    kname, fwcfg_add_strerror(error));
	return 0;
}

/* For n = 0, 1, 2 ... until the first missing fwcfg.user.<n>. */
static int
fwcfg_add_user_files(struct fwcfg_softc *sc)
{
	char key[32];

	for (unsigned n = 0;; n++) {
		snprintf(key, sizeof(key), "fwcfg.user.%u", n);
		if (config_find_node(sc->bvm->cfg, key) == NULL)
			return 0;
		if (fwcfg_add_user_file(sc, n) != 0)
			return -1;
	}
}

static int
fwcfg_register(struct fwcfg_softc *sc)
{
	struct bhyve_vm *bvm = sc->bvm;
	struct io_region ports = { .name = "fwcfg", .base = FWCFG_PORT_BASE,
		.size = FWCFG_PORT_LEN, .handler = fwcfg_port_io, .arg = sc };
	struct io_region dma = { .name = "fwcfg-dma", .base = FWCFG_DMA_PORT,
		.size = FWCFG_DMA_LEN, .handler = fwcfg_dma_io, .arg = sc };

	if (io_register(bvm->ports, &ports) != 0)
		return bhyve_error(bvm, "fwcfg: ports 0x%x-0x%x are taken",
		    FWCFG_PORT_BASE, FWCFG_PORT_BASE + FWCFG_PORT_LEN - 1);
	sc->ports_registered = true;
	if (io_register(bvm->ports, &dma) != 0)
		return bhyve_error(bvm, "fwcfg: ports 0x%x-0x%x are taken",
		    FWCFG_DMA_PORT, FWCFG_DMA_PORT + FWCFG_DMA_LEN - 1);
	sc->dma_registered = true;
	return 0;
}

static void
fwcfg_free(struct fwcfg_softc *sc)
{
	if (sc->dma_registered)
		(void)io_unregister(sc->bvm->ports, FWCFG_DMA_PORT);
	if (sc->ports_registered)
		(void)io_unregister(sc->bvm->ports, FWCFG_PORT_BASE);
	for (int a = 0; a < 2; a++)
		for (int i = 0; i < FWCFG_NFIXED; i++)
			if (sc->fixed[a][i].data != sc->dir)
				free(sc->fixed[a][i].data);
	for (uint32_t i = 0; i < sc->nfiles; i++)
		free(sc->files[i].item.data);
	free(sc->files);
	free(sc->dir);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

static bool
fwcfg_enabled(struct bhyve_vm *bvm)
{
	const char *type = config_get(bvm->cfg, "lpc.fwcfg");

	return type != NULL && strcmp(type, "qemu") == 0;
}

static int
fwcfg_init(struct bhyve_vm *bvm, void **softc)
{
	struct fwcfg_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return bhyve_error(bvm, "fwcfg: out of memory");
	sc->bvm = bvm;
	pthread_mutex_init(&sc->lock, NULL);
	sc->files = calloc(FWCFG_MAX_FILES, sizeof(*sc->files));
	sc->dir = calloc(1, FWCFG_DIR_LEN(FWCFG_MAX_FILES));
	if (sc->files == NULL || sc->dir == NULL) {
		bhyve_error(bvm, "fwcfg: out of memory");
		goto fail;
	}
	if (fwcfg_add_standard(sc) != 0 || fwcfg_add_user_files(sc) != 0 ||
	    fwcfg_register(sc) != 0)
		goto fail;
	bvm->fwcfg = sc;
	*softc = sc;
	return 0;
fail:
	fwcfg_free(sc);
	return -1;
}

static void
fwcfg_destroy(void *softc)
{
	struct fwcfg_softc *sc = softc;

	if (sc->bvm->fwcfg == sc)
		sc->bvm->fwcfg = NULL;
	fwcfg_free(sc);
}

const struct bhyve_device fwcfg_device = {
	.name = "fwcfg",
	.help = "QEMU fw_cfg interface with DMA (lpc.fwcfg=qemu)",
	.enabled = fwcfg_enabled,
	.init = fwcfg_init,
	.destroy = fwcfg_destroy,
};
