/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: virtio-blk's request parser and its backend, driven
 * by a guest driver that builds random request chains on a small image
 * (64 KiB).  The input picks the disk's options (ro, sectorsize,
 * nodelete), the features, the queue size, then a program: requests with
 * types, sectors, lengths and layouts drawn from interesting values (the
 * header split, data in pieces, status inside the data or missing, empty
 * buffers, data the wrong way, indirect tables, discard segments), bursts
 * of them, notifications, waits, resets with requests in flight, writes
 * to the writeback byte and to the data buffers.
 *
 * Chains are always well formed as chains (in RAM, readable before
 * writable, within the queue and the indirect limits), so besides the
 * sanitizers the device must: never ask for a reset; answer every chain
 * it was given once the backend is idle (used index == chains posted);
 * leave status bytes at 0, 1, 2 or untouched; never change the image's
 * size.  The VM (4 MiB) and the image are made once; PCI, the device and
 * its backend are made fresh for every input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bhyverun.h"
#include "block_if.h"
#include "config.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "virtio.h"
#include "vmmapi.h"

extern const struct pci_devemu pci_de_virtio_blk;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RAM (4ULL << 20)
#define FZ_IMG (64u << 10)
#define FZ_CAP (FZ_IMG / 512)
#define FZ_SLOT 3
#define FZ_MAX_STEPS 96
#define FZ_MAX_REQS 32		/* outstanding between waits */
#define FZ_MAX_BUFS 10

/* Guest memory. */
#define FZ_RINGS 0x10000ULL
#define FZ_HDRS 0x20000ULL	/* 64 bytes per slot */
#define FZ_STATUS 0x30000ULL	/* 1 byte per slot, never anything else */
#define FZ_ITABS 0x40000ULL	/* 256 bytes per slot */
#define FZ_DATA 0x100000ULL	/* 64 KiB per slot: 1-3 MiB */
#define FZ_SLOT_DATA (64u << 10)
#define FZ_UNTOUCHED 0xee

static struct bhyve_vm fz_bvm;
static uint8_t *fz_ram;
static char fz_img[64];

static void
fz_die(const char *why)
{
	fprintf(stderr, "fuzz_virtio_blk: %s\n", why);
	abort();
}

static void
fz_cleanup(void)
{
	unlink(fz_img);
}

static int
fz_msi(void *arg, uint64_t addr, uint64_t data)
{
	return 0;
}

static int
fz_line(void *arg, int a, int b)
{
	return 0;
}

static int
fz_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops fz_ops = {
	.isa_assert = fz_line,
	.isa_deassert = fz_line,
	.ioapic_assert = fz_pin,
	.ioapic_deassert = fz_pin,
	.msi = fz_msi,
};

static const struct pci_devemu *const fz_emus[] = { &pci_de_virtio_blk };

/* Durability is not what is fuzzed: no real fdatasync (milliseconds). */
static int
fz_fdatasync(void *arg, int fd)
{
	return 0;
}

static const struct blockif_sysops fz_sysops = {
	.bs_fdatasync = fz_fdatasync,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	snprintf(fz_img, sizeof(fz_img), "/tmp/fuzz-vblk-XXXXXX");
	fd = mkstemp(fz_img);
	if (fd < 0 || ftruncate(fd, FZ_IMG) != 0)
		fz_die("cannot make the image");
	close(fd);
	atexit(fz_cleanup);
	fz_bvm = (struct bhyve_vm){ .ncpus = 1 };
	fz_bvm.cfg = config_new();
	fz_bvm.ctx = vm_create("fuzz-vblk", VMM_BACKEND_NULL, NULL);
	if (fz_bvm.cfg == NULL || fz_bvm.ctx == NULL ||
	    vm_setup_memory(fz_bvm.ctx, FZ_RAM) != 0)
		fz_die("cannot create the VM");
	fz_ram = vm_map_gpa(fz_bvm.ctx, 0, FZ_RAM);
	if (fz_ram == NULL ||
	    config_set(fz_bvm.cfg, "pci.0.0.0.device", "hostbridge") != 0 ||
	    config_set(fz_bvm.cfg, "pci.0.3.0.device", "virtio-blk") != 0 ||
	    config_set(fz_bvm.cfg, "pci.0.3.0.path", fz_img) != 0)
		fz_die("cannot build the config");
	return 0;
}

/* ---- Input ---- */

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static uint64_t
fz_take(struct fz_in *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

/* ---- The driver ---- */

struct fz_drv {
	struct pci_devinst *pi;
	struct blockif_ctxt *bc;
	uint64_t common, notify, devcfg;
	uint64_t features;
	bool ready;
	uint16_t qsize, aidx, ndesc;	/* descriptors used since the wait */
	uint64_t desc, avail, used;
	int nreq;			/* requests since the wait */
	uint16_t posted;		/* chains since the queue was set up */
	uint32_t cleared;		/* data slots cleared this input */
};

static uint64_t
fz_mmio(bool write, uint64_t addr, int size, uint64_t v)
{
	(void)io_dispatch(fz_bvm.mmio, NULL, write, addr, size, &v);
	return v;
}

static void
fz_cw(struct fz_drv *d, uint64_t off, int size, uint64_t v)
{
	(void)fz_mmio(true, d->common + off, size, v);
}

static uint64_t
fz_cr(struct fz_drv *d, uint64_t off, int size)
{
	return fz_mmio(false, d->common + off, size, 0);
}

static void
fz_w16(uint64_t gpa, uint16_t v)
{
	memcpy(fz_ram + gpa, &v, 2);
}

/* A ring index in guest RAM (2-aligned: the rings are). */
static uint16_t *
fz_idx(uint64_t gpa)
{
	void *p = fz_ram + gpa;

	return p;
}

static uint16_t
fz_used_idx(struct fz_drv *d)
{
	return __atomic_load_n(fz_idx(d->used + 2), __ATOMIC_ACQUIRE);
}

/* 3.1.1 with VERSION_1 and what the input keeps of the rest. */
static void
fz_setup_queue(struct fz_drv *d)
{
	static const uint16_t sizes[] = { 1, 2, 4, 8, 16, 32, 64, 128 };

	fz_cw(d, 0x14, 1, 0);
	fz_cw(d, 0x14, 1, 3);
	fz_cw(d, 0x08, 4, 0);
	fz_cw(d, 0x0c, 4, (uint32_t)d->features);
	fz_cw(d, 0x08, 4, 1);
	fz_cw(d, 0x0c, 4, d->features >> 32);
	fz_cw(d, 0x14, 1, 0xb);
	d->ready = (fz_cr(d, 0x14, 1) & 0x8) != 0;
	d->qsize = sizes[d->qsize % 8];
	d->desc = FZ_RINGS;
	d->avail = d->desc + VQ_DESC_BYTES(d->qsize);
	d->used = (d->avail + VQ_AVAIL_BYTES(d->qsize) + 3) & ~3ULL;
	memset(fz_ram + FZ_RINGS, 0, 0x10000);
	d->aidx = d->ndesc = d->posted = 0;
	d->nreq = 0;
	fz_cw(d, 0x16, 2, 0);
	fz_cw(d, 0x18, 2, d->qsize);
	fz_cw(d, 0x20, 8, d->desc);
	fz_cw(d, 0x28, 8, d->avail);
	fz_cw(d, 0x30, 8, d->used);
	fz_cw(d, 0x1c, 2, 1);
	fz_cw(d, 0x14, 1, 0xf);
	d->ready = d->ready && fz_cr(d, 0x14, 1) == 0xf;
}

static void
fz_kick(struct fz_drv *d)
{
	(void)fz_mmio(true, d->notify, 2, 0);
	for (int i = 0; i < 4; i++)
		(void)mevent_run_once(fz_bvm.mev, 0);
}

/* Status bytes are the device's answers or untouched. */
static void
fz_check_status(void)
{
	for (int i = 0; i < FZ_MAX_REQS; i++) {
		uint8_t s = fz_ram[FZ_STATUS + (uint64_t)i];

		if (s != FZ_UNTOUCHED && s > 2)
			fz_die("a status byte that is not OK, IOERR, UNSUPP");
	}
}

/* Let everything posted complete, check, start afresh. */
static void
fz_wait(struct fz_drv *d)
{
	uint8_t st;

	for (int i = 0; i < 8 && (i == 0 || fz_used_idx(d) != d->posted);
	    i++) {
		fz_kick(d);
		blockif_quiesce(d->bc);
	}
	st = (uint8_t)fz_cr(d, 0x14, 1);
	if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
		fz_die("well-formed chains put the device in NEEDS_RESET");
	if (d->ready && fz_used_idx(d) != d->posted)
		fz_die("a chain was not answered");
	fz_check_status();
	d->ndesc = 0;
	d->nreq = 0;
	memset(fz_ram + FZ_STATUS, FZ_UNTOUCHED, FZ_MAX_REQS);
}

/* ---- Requests ---- */

struct fz_buf {
	uint64_t gpa;
	uint32_t len;
	bool wr;
};

struct fz_req {
	struct fz_buf b[FZ_MAX_BUFS];
	int n;
};

static const uint32_t fz_types[] = { 0, 1, 4, 8, 11, 13, 5, 10, 2, 14 };
static const uint64_t fz_sectors[] = { 0, 1, FZ_CAP - 1, FZ_CAP,
	FZ_CAP + 1, FZ_CAP - 8, 1ULL << 55, 1ULL << 63, UINT64_MAX, 64 };
static const uint32_t fz_lens[] = { 0, 1, 16, 17, 20, 511, 512, 1024,
	4096, 32, 48, 33 * 16, 8192, FZ_SLOT_DATA };

static bool
fz_is_writable_type(uint32_t type)
{
	return type == 0 || type == 8 || type == 10;
}

static void
fz_add(struct fz_req *r, uint64_t gpa, uint32_t len, bool wr)
{
	if (r->n < FZ_MAX_BUFS)
		r->b[r->n++] = (struct fz_buf){ .gpa = gpa, .len = len,
			.wr = wr };
}

/* Discard/write-zeroes segments, mostly in range, in the data buffer. */
static void
fz_segments(struct fz_in *in, uint64_t data, uint32_t len)
{
	for (uint32_t off = 0; off + 16 <= len && off < 40 * 16; off += 16) {
		uint8_t x = (uint8_t)fz_take(in, 1);
		uint64_t sector = x & 0x80 ? fz_sectors[x % 10] : x % FZ_CAP;
		uint32_t num = x & 0x40 ? (uint32_t)fz_take(in, 4) :
		    (uint32_t)(fz_take(in, 1) % 16);
		uint32_t flags = x & 0x20 ? (uint32_t)fz_take(in, 1) : 0;

		memcpy(fz_ram + data + off, &sector, 8);
		memcpy(fz_ram + data + off + 8, &num, 4);
		memcpy(fz_ram + data + off + 12, &flags, 4);
	}
}

/* The header (at 'hdr') and the data, cut as the layout byte says. */
static void
fz_hdr_and_data(struct fz_in *in, struct fz_req *r, uint64_t hdr,
    uint64_t data, uint8_t lay, uint32_t len, bool wr)
{
	uint32_t cut = 1 + (uint32_t)fz_take(in, 1) % 15;

	if (hdr + 16 == data) {
		/* Header and data in one buffer. */
		fz_add(r, hdr, 16 + len, false);
		return;
	}
	if (lay & 0x01) {
		fz_add(r, hdr, cut, false);
		fz_add(r, hdr + cut, 16 - cut, false);
	} else {
		fz_add(r, hdr, lay & 0x10 ? 12 : 16, false);
	}
	if (len == 0)
		return;
	if ((lay & 0x02) && len > 1) {
		uint32_t a = 1 + (uint32_t)fz_take(in, 2) % (len - 1);

		fz_add(r, data, a, wr);
		fz_add(r, data + a, 0, wr);
		fz_add(r, data + a, len - a, wr);
	} else {
		fz_add(r, data, len, wr);
	}
}

static void
fz_build(struct fz_in *in, struct fz_req *r, int slot)
{
	uint8_t ts = (uint8_t)fz_take(in, 1), ss = (uint8_t)fz_take(in, 1);
	uint8_t ls = (uint8_t)fz_take(in, 1), lay = (uint8_t)fz_take(in, 1);
	uint32_t type = ts < 240 ? fz_types[ts % 10] : (uint32_t)fz_take(in,
	    4);
	uint64_t sector = ss < 200 ? fz_sectors[ss % 10] : fz_take(in, 8);
	uint32_t len = ls < 224 ? fz_lens[ls % 14] :
	    (uint32_t)fz_take(in, 2) % (FZ_SLOT_DATA - 32);
	uint64_t hdr = FZ_HDRS + 64 * (uint64_t)slot;
	uint64_t data = FZ_DATA + FZ_SLOT_DATA * (uint64_t)slot;
	bool wr = fz_is_writable_type(type) ^ ((lay & 0x20) != 0);

	if ((lay & 0x80) && !wr && len > 0 && len <= FZ_SLOT_DATA - 16) {
		hdr = data;	/* header and data share a buffer */
		data += 16;
	}
	memcpy(fz_ram + hdr, &type, 4);
	memset(fz_ram + hdr + 4, 0, 4);
	memcpy(fz_ram + hdr + 8, &sector, 8);
	if (type == 11 || type == 13)
		fz_segments(in, data, len);
	r->n = 0;
	fz_hdr_and_data(in, r, hdr, data, lay, len > FZ_SLOT_DATA - 32 &&
	    hdr + 16 != data ? FZ_SLOT_DATA - 32 : len, wr);
	if ((lay & 0x04) && wr && r->b[r->n - 1].wr &&
	    r->b[r->n - 1].len > 0) {
		r->b[r->n - 1].len++;	/* the status ends the data */
		return;
	}
	if (!(lay & 0x08))
		fz_add(r, FZ_STATUS + (uint64_t)slot, 1, true);
	if (lay & 0x40)
		fz_add(r, FZ_STATUS + (uint64_t)slot, 0, true);
}

static void
fz_desc(uint64_t table, uint16_t i, const struct fz_buf *b, uint16_t flags,
    uint16_t next)
{
	struct vring_desc dsc = { .addr = b->gpa, .len = b->len,
		.flags = (uint16_t)(flags | (b->wr ? VRING_DESC_F_WRITE : 0)),
		.next = next };

	memcpy(fz_ram + table + 16 * (uint64_t)i, &dsc, sizeof(dsc));
}

/* Into the ring, directly or through an indirect table. */
static bool
fz_post(struct fz_drv *d, const struct fz_req *r, int slot, bool indirect)
{
	uint16_t need = indirect ? 1 : (uint16_t)r->n, head = d->ndesc;

	if (r->n == 0 || d->ndesc + need > d->qsize)
		return false;
	if (indirect) {
		uint64_t t = FZ_ITABS + 256 * (uint64_t)slot;
		struct fz_buf tb = { .gpa = t, .len = 16 * (uint32_t)r->n };

		for (int i = 0; i < r->n; i++)
			fz_desc(t, (uint16_t)i, &r->b[i], i + 1 < r->n ?
			    VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
		fz_desc(d->desc, head, &tb, VRING_DESC_F_INDIRECT, 0);
	} else {
		for (int i = 0; i < r->n; i++)
			fz_desc(d->desc, (uint16_t)(head + i), &r->b[i],
			    i + 1 < r->n ? VRING_DESC_F_NEXT : 0,
			    (uint16_t)(head + i + 1));
	}
	d->ndesc = (uint16_t)(d->ndesc + need);
	fz_w16(d->avail + 4 + 2 * (uint64_t)(d->aidx % d->qsize), head);
	d->aidx++;
	d->posted++;
	__atomic_store_n(fz_idx(d->avail + 2), d->aidx, __ATOMIC_RELEASE);
	return true;
}

static void
fz_request(struct fz_in *in, struct fz_drv *d)
{
	bool indirect = (d->features & VIRTIO_RING_F_INDIRECT_DESC) &&
	    (fz_take(in, 1) & 1);
	struct fz_req r;

	if (!d->ready)
		return;
	if (d->nreq >= FZ_MAX_REQS)
		fz_wait(d);
	/* A slot's data starts as zeroes in every input (reproducible). */
	if (!(d->cleared & (1u << d->nreq))) {
		memset(fz_ram + FZ_DATA + FZ_SLOT_DATA * (uint64_t)d->nreq, 0,
		    FZ_SLOT_DATA);
		d->cleared |= 1u << d->nreq;
	}
	fz_build(in, &r, d->nreq);
	if (!fz_post(d, &r, d->nreq, indirect)) {
		fz_wait(d);
		if (!fz_post(d, &r, d->nreq, indirect))
			return;
	}
	d->nreq++;
}

/* ---- Steps ---- */

static void
fz_reset(struct fz_in *in, struct fz_drv *d)
{
	d->qsize = (uint16_t)fz_take(in, 1);
	fz_setup_queue(d);	/* resets first, with requests in flight */
	blockif_quiesce(d->bc);
	if (fz_used_idx(d) != 0)
		fz_die("a request from before the reset came back");
	memset(fz_ram + FZ_STATUS, FZ_UNTOUCHED, FZ_MAX_REQS);
}

static void
fz_step(struct fz_in *in, struct fz_drv *d, uint8_t op)
{
	switch (op % 8) {
	case 0:
	case 1:
		fz_request(in, d);
		break;
	case 2:
		for (int i = 0, n = 1 + (int)(fz_take(in, 1) % 8); i < n; i++)
			fz_request(in, d);
		fz_kick(d);
		break;
	case 3:
		fz_kick(d);
		break;
	case 4:
		fz_wait(d);
		break;
	case 5:
		fz_reset(in, d);
		break;
	case 6:
		(void)fz_mmio(true, d->devcfg + 32, 1, fz_take(in, 1) & 1);
		break;
	default: {
		uint64_t off = fz_take(in, 3) % FZ_SLOT_DATA;
		size_t n = (size_t)(fz_take(in, 1) % 32);

		n = n < in->n ? n : in->n;
		if (!(d->cleared & 1u))
			break;
		memcpy(fz_ram + FZ_DATA + off, in->p, n);
		in->p += n;
		in->n -= n;
		break;
	}
	}
}

/* ---- Per input ---- */

static void
fz_options(uint8_t o)
{
	static const char *const ss[] = { "512", "4096", "512/4096", "1024" };

	if (config_set(fz_bvm.cfg, "pci.0.3.0.ro", o & 1 ? "true" : "false") ||
	    config_set(fz_bvm.cfg, "pci.0.3.0.nodelete", o & 2 ? "true" :
	    "false") || config_set(fz_bvm.cfg, "pci.0.3.0.sectorsize",
	    ss[(o >> 2) & 3]))
		fz_die("cannot set the options");
}

static uint64_t
fz_offered(struct fz_drv *d)
{
	uint64_t lo;

	fz_cw(d, 0x00, 4, 0);
	lo = fz_cr(d, 0x04, 4);
	fz_cw(d, 0x00, 4, 1);
	return lo | fz_cr(d, 0x04, 4) << 32;
}

static void
fz_find(struct fz_drv *d)
{
	for (d->pi = pci_next(&fz_bvm, NULL); d->pi &&
	    d->pi->pi_slot != FZ_SLOT; d->pi = pci_next(&fz_bvm, d->pi))
		;
	if (d->pi == NULL || (d->bc = pci_vtblk_backend(d->pi)) == NULL)
		fz_die("no virtio-blk");
	blockif_set_sysops(d->bc, &fz_sysops, NULL);
	d->common = d->pi->pi_bar[VI_PCI_MODERN_BAR].addr;
	d->notify = d->common + VI_PCI_NOTIFY_OFF;
	d->devcfg = d->common + VI_PCI_DEVCFG_OFF;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_emul_opts o = { .extra = fz_emus, .nextra = 1,
		.intr_ops = &fz_ops };
	struct fz_in in = { data, size };
	struct fz_drv d = { .qsize = 0 };
	struct stat st;

	fz_options((uint8_t)fz_take(&in, 1));
	/* The same image and RAM for every input (data slots: on use). */
	if (truncate(fz_img, 0) != 0 || truncate(fz_img, FZ_IMG) != 0)
		fz_die("cannot reset the image");
	memset(fz_ram, 0, FZ_ITABS + 256 * FZ_MAX_REQS);
	memset(fz_ram + FZ_STATUS, FZ_UNTOUCHED, FZ_MAX_REQS);
	fz_bvm.mev = mevent_create();
	fz_bvm.ports = io_registry_create(0x10000);
	fz_bvm.mmio = io_registry_create(UINT64_MAX);
	if (fz_bvm.mev == NULL || fz_bvm.ports == NULL ||
	    fz_bvm.mmio == NULL || pci_emul_init_opts(&fz_bvm, &o) != 0)
		fz_die(fz_bvm.err[0] ? fz_bvm.err : "cannot start PCI");
	fz_find(&d);
	d.features = VIRTIO_F_VERSION_1 | (fz_take(&in, 4) &
	    fz_offered(&d));
	d.qsize = (uint16_t)fz_take(&in, 1);
	fz_setup_queue(&d);
	for (int steps = 0; in.n > 0 && steps < FZ_MAX_STEPS; steps++)
		fz_step(&in, &d, (uint8_t)fz_take(&in, 1));
	if (size > 0 && (data[size - 1] & 1))
		fz_wait(&d);	/* else tear down with I/O in flight */
	pci_emul_destroy(&fz_bvm);
	mevent_destroy(fz_bvm.mev);
	io_registry_destroy(fz_bvm.ports);
	io_registry_destroy(fz_bvm.mmio);
	if (stat(fz_img, &st) != 0 || st.st_size != FZ_IMG)
		fz_die("the image changed size");
	return 0;
}
