/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-blk, the block device (virtio spec v1.2, 5.2; bhyve's
 * pci_virtio_block.c) on the block backend (block_if.h):
 *
 *   -s N,virtio-blk,path[,ro][,nocache][,direct|sync]
 *	[,sectorsize=logical[/physical]][,ser=ID][,nodelete][,bootindex=N]
 *
 * One request queue of 128 entries (no VIRTIO_BLK_F_MQ).  Requests: IN,
 * OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES; anything else is UNSUPP.
 * The backend's keys are its own (block_if.h); ser= is the GET_ID string
 * (else one made from the path, as bhyve); bootindex is checked and kept
 * in the config for the firmware's boot order.
 *
 * Threads.  The queue handler runs where the notification is taken (a
 * vCPU, or the event loop): it only checks each request and hands it to
 * the backend's workers.  A worker completes it: under the device lock
 * it writes the status byte, returns the chain and interrupts.  Requests
 * that need no I/O (errors, GET_ID) complete in the handler.
 *
 * Caching.  With FLUSH negotiated the device has a write-back cache (the
 * host's page cache): a write is acknowledged once the host has it, and
 * is durable after the next FLUSH completes, because a FLUSH waits for
 * every request before it and completes only after fdatasync() returned.
 * The cache becomes write-through (each write fdatasync()ed before it is
 * acknowledged) when the driver negotiates neither FLUSH nor CONFIG_WCE,
 * or sets writeback to 0 through CONFIG_WCE (5.2.6.2).  With sync/direct
 * the image is opened O_SYNC, every write is durable when acknowledged,
 * and writeback reads 0 after reset.
 *
 * Validation.  The device assumes nothing about how the driver cut the
 * request into buffers (2.6.4): the header may span buffers, data may
 * share a buffer with the header or the status.  The status byte is the
 * last byte of the last device-writable buffer; a chain without one (no
 * writable buffer, or an empty last one) cannot be answered and is
 * returned with nothing written.  Otherwise every malformed request gets
 * IOERR (UNSUPP for unknown types and flags): a header under 16 bytes,
 * data in the wrong direction, a length that is not a multiple of 512, a
 * range past the capacity (so no read ever runs past the image), a write
 * to a read-only disk, a GET_ID buffer under 20 bytes, discard and
 * write-zeroes segments that are too many, too long or out of range.
 *
 * Reset.  A reset cancels what the backend has not started and waits
 * for what it has; completions of requests taken before the reset are
 * recognized by their generation and dropped (the core's rule: nothing
 * taken before a reset is returned after it).
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_if.h"
#include "config.h"
#include "virtio.h"

#define VTBLK_RINGSZ 128
/* Any chain the queue can hold: a direct part and an indirect table. */
#define VTBLK_MAXSEGS (2 * VTBLK_RINGSZ)
/* Data buffers: what a driver's indirect table holds beside hdr/status. */
#define VTBLK_SEG_MAX (VTBLK_RINGSZ - 2)
#define VTBLK_SIZE_MAX (1u << 20)
#define VTBLK_MAX_CHAIN (VTBLK_SEG_MAX * VTBLK_SIZE_MAX + 4096)
#define VTBLK_CLASS 0x010000	/* mass storage, SCSI (as bhyve, QEMU) */

/* Feature bits (5.2.3). */
#define VTBLK_F_SIZE_MAX (1ULL << 1)
#define VTBLK_F_SEG_MAX (1ULL << 2)
#define VTBLK_F_RO (1ULL << 5)
#define VTBLK_F_BLK_SIZE (1ULL << 6)
#define VTBLK_F_FLUSH (1ULL << 9)
#define VTBLK_F_TOPOLOGY (1ULL << 10)
#define VTBLK_F_CONFIG_WCE (1ULL << 11)
#define VTBLK_F_DISCARD (1ULL << 13)
#define VTBLK_F_WRITE_ZEROES (1ULL << 14)

/* Request types and status (5.2.6). */
#define VTBLK_T_IN 0
#define VTBLK_T_OUT 1
#define VTBLK_T_FLUSH 4
#define VTBLK_T_FLUSH_OUT 5	/* legacy name of FLUSH */
#define VTBLK_T_GET_ID 8
#define VTBLK_T_DISCARD 11
#define VTBLK_T_WRITE_ZEROES 13
#define VTBLK_S_OK 0
#define VTBLK_S_IOERR 1
#define VTBLK_S_UNSUPP 2
#define VTBLK_S_PENDING 0xff	/* ours: handed to the backend */

#define VTBLK_SECTOR 512	/* the protocol's unit, whatever blk_size */
#define VTBLK_HDR_LEN 16
#define VTBLK_ID_BYTES 20
#define VTBLK_DWZ_LEN 16	/* struct virtio_blk_discard_write_zeroes */
#define VTBLK_DWZ_UNMAP 0x1
#define VTBLK_DWZ_SEG 32
#define VTBLK_DWZ_SECTORS 0x3fffff	/* 2 GiB - 512 per segment */

struct vtblk_config {
	uint64_t vbc_capacity;
	uint32_t vbc_size_max;
	uint32_t vbc_seg_max;
	uint16_t vbc_cylinders;
	uint8_t vbc_heads;
	uint8_t vbc_sectors;
	uint32_t vbc_blk_size;
	uint8_t vbc_physical_block_exp;
	uint8_t vbc_alignment_offset;
	uint16_t vbc_min_io_size;
	uint32_t vbc_opt_io_size;
	uint8_t vbc_writeback;
	uint8_t vbc_unused0;
	uint16_t vbc_num_queues;
	uint32_t vbc_max_discard_sectors;
	uint32_t vbc_max_discard_seg;
	uint32_t vbc_discard_sector_alignment;
	uint32_t vbc_max_write_zeroes_sectors;
	uint32_t vbc_max_write_zeroes_seg;
	uint8_t vbc_write_zeroes_may_unmap;
	uint8_t vbc_unused1[3];
} __attribute__((packed));

_Static_assert(offsetof(struct vtblk_config, vbc_blk_size) == 20,
    "blk_size at 20");
_Static_assert(offsetof(struct vtblk_config, vbc_writeback) == 32,
    "writeback at 32");
_Static_assert(offsetof(struct vtblk_config, vbc_max_discard_sectors) == 36,
    "max_discard_sectors at 36");
_Static_assert(offsetof(struct vtblk_config, vbc_write_zeroes_may_unmap) ==
    56, "write_zeroes_may_unmap at 56");
_Static_assert(sizeof(struct vtblk_config) == 60, "through unused1");

struct pci_vtblk_softc;

/* One request the device holds; the pool has one per ring entry. */
struct vtblk_ioreq {
	struct blockif_req io_req;
	struct pci_vtblk_softc *io_sc;
	struct vtblk_ioreq *io_next;	/* on the free list */
	uint8_t *io_status;		/* in guest RAM */
	uint32_t io_gen;		/* the device's, when taken */
	uint32_t io_donelen;		/* used length if it succeeds */
	uint16_t io_idx;		/* the chain's head */
	bool io_busy;			/* the backend has it */
	struct blockif_range io_ranges[VTBLK_DWZ_SEG];
	struct iovec *io_iov;		/* VTBLK_MAXSEGS of them */
};

struct pci_vtblk_softc {
	struct virtio_softc vbsc_vs;
	struct vqueue_info vbsc_vq;
	struct virtio_consts vbsc_consts;	/* features depend on opts */
	struct blockif_ctxt *vbsc_bc;
	struct vtblk_config vbsc_cfg;
	uint8_t vbsc_wce_reset;		/* writeback after reset */
	uint32_t vbsc_gen;		/* moves at reset */
	bool vbsc_starved;		/* chains wait for a free ioreq */
	bool vbsc_dying;
	uint64_t vbsc_nbad;		/* malformed requests seen */
	char vbsc_ident[VTBLK_ID_BYTES];	/* NUL-padded, no terminator */
	struct vtblk_ioreq *vbsc_free;
	struct vtblk_ioreq vbsc_ios[VTBLK_RINGSZ];
	/* The ioreqs' vectors, apart: pages are touched only when used. */
	struct iovec *vbsc_iovs;
};

/* The parts of a request, once located in its chain. */
struct vtblk_req {
	uint32_t type;
	uint64_t sector;
	struct iovec *rd;	/* readable data, after the header */
	int nrd;
	uint64_t rdlen;
	struct iovec *wr;	/* writable data, before the status */
	int nwr;
	uint64_t wrlen;
};

/* ---- Buffers ---- */

/* Copy 'len' bytes found 'off' bytes into the vector; false if short. */
static bool
pci_vtblk_gather(const struct iovec *iov, int cnt, uint64_t off, void *buf,
    size_t len)
{
	uint8_t *dst = buf;

	for (int i = 0; i < cnt && len > 0; i++) {
		size_t m;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		m = iov[i].iov_len - (size_t)off;
		m = m < len ? m : len;
		memcpy(dst, (uint8_t *)iov[i].iov_base + off, m);
		dst += m;
		len -= m;
		off = 0;
	}
	return len == 0;
}

static void
pci_vtblk_scatter(const struct iovec *iov, int cnt, const void *buf,
    size_t len)
{
	const uint8_t *src = buf;

	for (int i = 0; i < cnt && len > 0; i++) {
		size_t m = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, src, m);
		src += m;
		len -= m;
	}
}

/*
 * Narrow iov[0 .. *cnt) in place to the 'len' bytes that start 'skip'
 * bytes in (the caller checked that they are there).
 */
static struct iovec *
pci_vtblk_narrow(struct iovec *iov, int *cnt, uint64_t skip, uint64_t len)
{
	int n = *cnt, i = 0, first;

	/* Whole buffers the skip covers, and empty ones at the start. */
	while (i < n && skip >= iov[i].iov_len) {
		skip -= iov[i].iov_len;
		i++;
	}
	if (i < n) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
		iov[i].iov_len -= skip;
	}
	first = i;
	while (i < n && len > iov[i].iov_len) {
		len -= iov[i].iov_len;
		i++;
	}
	if (i < n) {
		iov[i].iov_len = len;
		i++;
	}
	*cnt = i - first;
	return iov + first;
}

/* ---- The request pool and completion ---- */

static struct vtblk_ioreq *
pci_vtblk_take(struct pci_vtblk_softc *sc)
{
	struct vtblk_ioreq *io = sc->vbsc_free;

	if (io != NULL) {
		sc->vbsc_free = io->io_next;
		io->io_next = NULL;
	}
	return io;
}

static void
pci_vtblk_give(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io)
{
	io->io_next = sc->vbsc_free;
	sc->vbsc_free = io;
}

/* Status, used length, chain back (the caller ends the batch). */
static void
pci_vtblk_complete(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io,
    uint8_t status)
{
	*io->io_status = status;
	vq_relchain(&sc->vbsc_vq, io->io_idx, status == VTBLK_S_OK ?
	    io->io_donelen : 1);
	pci_vtblk_give(sc, io);
}

static uint8_t
pci_vtblk_status(int error)
{
	if (error == 0)
		return VTBLK_S_OK;
	return error == -EOPNOTSUPP ? VTBLK_S_UNSUPP : VTBLK_S_IOERR;
}

static void pci_vtblk_drain(struct pci_vtblk_softc *sc,
    struct vqueue_info *vq);

/* A worker's completion: no blockif lock held, so the device lock is ok. */
static void
pci_vtblk_done(struct blockif_req *br, int error)
{
	struct vtblk_ioreq *io = br->br_param;
	struct pci_vtblk_softc *sc = io->io_sc;

	vi_lock(&sc->vbsc_vs);
	io->io_busy = false;
	if (io->io_gen == sc->vbsc_gen) {
		pci_vtblk_complete(sc, io, pci_vtblk_status(error));
		vq_endchains(&sc->vbsc_vq);
	} else {
		pci_vtblk_give(sc, io);	/* from before a reset: dropped */
	}
	if (sc->vbsc_starved)
		pci_vtblk_drain(sc, &sc->vbsc_vq);
	vi_unlock(&sc->vbsc_vs);
}

/*
 * Take back every request from the backend: first drop all that have not
 * started (so that no worker starts one while we wait), then wait for
 * the running ones, whose completions, stale, return them to the pool.
 * With the device lock held, as the reset hook is.
 */
static void
pci_vtblk_cancel_all(struct pci_vtblk_softc *sc)
{
	sc->vbsc_gen++;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < VTBLK_RINGSZ; i++) {
			struct vtblk_ioreq *io = &sc->vbsc_ios[i];

			if (!io->io_busy)
				continue;
			if ((pass == 0 ? blockif_dequeue(sc->vbsc_bc,
			    &io->io_req) : blockif_cancel(sc->vbsc_bc,
			    &io->io_req)) == 0) {
				io->io_busy = false;
				pci_vtblk_give(sc, io);
			}
		}
	}
}

static void
pci_vtblk_reset(void *dev)
{
	struct pci_vtblk_softc *sc = dev;

	pci_vtblk_cancel_all(sc);
	sc->vbsc_cfg.vbc_writeback = sc->vbsc_wce_reset;
}

/* ---- Requests ---- */

/*
 * 5.2.6.2: write-through unless the driver can flush a write-back cache
 * (FLUSH without CONFIG_WCE, or CONFIG_WCE with writeback set).
 */
static bool
pci_vtblk_writethrough(struct pci_vtblk_softc *sc)
{
	uint64_t f = sc->vbsc_vs.vs_negotiated_caps;

	if (f & VTBLK_F_CONFIG_WCE)
		return sc->vbsc_cfg.vbc_writeback == 0;
	return !(f & VTBLK_F_FLUSH);
}

static uint64_t
pci_vtblk_capacity(struct pci_vtblk_softc *sc)
{
	return le64toh(sc->vbsc_cfg.vbc_capacity);
}

static bool
pci_vtblk_range_ok(struct pci_vtblk_softc *sc, uint64_t sector,
    uint64_t nsect)
{
	uint64_t cap = pci_vtblk_capacity(sc);

	return sector <= cap && nsect <= cap - sector;
}

static int
pci_vtblk_submit(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io,
    int (*fn)(struct blockif_ctxt *, struct blockif_req *))
{
	io->io_busy = true;
	if (fn(sc->vbsc_bc, &io->io_req) != 0) {
		io->io_busy = false;
		return VTBLK_S_IOERR;
	}
	return VTBLK_S_PENDING;
}

/* IN and OUT: data one way only, whole sectors, inside the capacity. */
static int
pci_vtblk_rw(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io,
    struct vtblk_req *r, bool write)
{
	uint64_t len = write ? r->rdlen : r->wrlen;

	if ((write ? r->wrlen : r->rdlen) != 0)
		return VTBLK_S_IOERR;
	if (write && blockif_is_ro(sc->vbsc_bc))
		return VTBLK_S_IOERR;	/* and nothing written (5.2.6.2) */
	if (len % VTBLK_SECTOR != 0 ||
	    !pci_vtblk_range_ok(sc, r->sector, len / VTBLK_SECTOR))
		return VTBLK_S_IOERR;
	if (len == 0)
		return VTBLK_S_OK;
	io->io_req.br_iov = write ? r->rd : r->wr;
	io->io_req.br_iovcnt = write ? r->nrd : r->nwr;
	io->io_req.br_offset = r->sector * VTBLK_SECTOR;
	io->io_req.br_flags = write && pci_vtblk_writethrough(sc) ?
	    BLOCKIF_F_FUA : 0;
	io->io_donelen = write ? 1 : (uint32_t)len + 1;
	return pci_vtblk_submit(sc, io, write ? blockif_write : blockif_read);
}

static int
pci_vtblk_get_id(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io,
    struct vtblk_req *r)
{
	if (r->wrlen < VTBLK_ID_BYTES)
		return VTBLK_S_IOERR;
	pci_vtblk_scatter(r->wr, r->nwr, sc->vbsc_ident, VTBLK_ID_BYTES);
	io->io_donelen = VTBLK_ID_BYTES + 1;
	return VTBLK_S_OK;
}

/*
 * The segments of a discard or write-zeroes.  Unknown flags, and unmap
 * on a discard, are UNSUPP (5.2.6.2) whatever else is wrong; then each
 * segment must fit the limits the config advertises and the capacity.
 */
static int
pci_vtblk_segments(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io,
    struct vtblk_req *r, bool discard, bool *unmap)
{
	int nseg = (int)(r->rdlen / VTBLK_DWZ_LEN), st = VTBLK_S_OK;

	*unmap = !discard;
	for (int i = 0; i < nseg; i++) {
		uint8_t seg[VTBLK_DWZ_LEN];
		uint64_t sector;
		uint32_t num, flags;

		(void)pci_vtblk_gather(r->rd, r->nrd, (uint64_t)i *
		    VTBLK_DWZ_LEN, seg, sizeof(seg));
		memcpy(&sector, seg, 8);
		memcpy(&num, seg + 8, 4);
		memcpy(&flags, seg + 12, 4);
		sector = le64toh(sector);
		num = le32toh(num);
		flags = le32toh(flags);
		if ((flags & ~VTBLK_DWZ_UNMAP) != 0 ||
		    (discard && (flags & VTBLK_DWZ_UNMAP)))
			return VTBLK_S_UNSUPP;
		if (!(flags & VTBLK_DWZ_UNMAP))
			*unmap = false;
		if (num > VTBLK_DWZ_SECTORS ||
		    !pci_vtblk_range_ok(sc, sector, num))
			st = VTBLK_S_IOERR;
		io->io_ranges[i] = (struct blockif_range){
			.off = sector * VTBLK_SECTOR,
			.len = (uint64_t)num * VTBLK_SECTOR };
	}
	return st;
}

static int
pci_vtblk_dwz(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io,
    struct vtblk_req *r)
{
	bool discard = r->type == VTBLK_T_DISCARD, unmap;
	uint64_t feat = discard ? VTBLK_F_DISCARD : VTBLK_F_WRITE_ZEROES;
	int st;

	if (!(sc->vbsc_vs.vs_negotiated_caps & feat))
		return VTBLK_S_UNSUPP;
	if (blockif_is_ro(sc->vbsc_bc) || r->wrlen != 0 || r->rdlen == 0 ||
	    r->rdlen % VTBLK_DWZ_LEN != 0 ||
	    r->rdlen / VTBLK_DWZ_LEN > VTBLK_DWZ_SEG)
		return VTBLK_S_IOERR;
	st = pci_vtblk_segments(sc, io, r, discard, &unmap);
	if (st != VTBLK_S_OK)
		return st;
	io->io_req.br_ranges = io->io_ranges;
	io->io_req.br_nranges = (int)(r->rdlen / VTBLK_DWZ_LEN);
	io->io_req.br_flags = unmap ? BLOCKIF_F_UNMAP : 0;
	if (!discard && pci_vtblk_writethrough(sc))
		io->io_req.br_flags |= BLOCKIF_F_FUA;
	return pci_vtblk_submit(sc, io, discard ? blockif_delete :
	    blockif_zero);
}

/* A status, or VTBLK_S_PENDING once the backend has the request. */
static int
pci_vtblk_proc(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io,
    struct vtblk_req *r)
{
	switch (r->type) {
	case VTBLK_T_IN:
		return pci_vtblk_rw(sc, io, r, false);
	case VTBLK_T_OUT:
		return pci_vtblk_rw(sc, io, r, true);
	case VTBLK_T_FLUSH:
	case VTBLK_T_FLUSH_OUT:
		return pci_vtblk_submit(sc, io, blockif_flush);
	case VTBLK_T_GET_ID:
		return pci_vtblk_get_id(sc, io, r);
	case VTBLK_T_DISCARD:
	case VTBLK_T_WRITE_ZEROES:
		return pci_vtblk_dwz(sc, io, r);
	default:
		return VTBLK_S_UNSUPP;
	}
}

/*
 * Find the status byte, the header and the data in the chain (5.2.6).
 * Returns VTBLK_S_OK, VTBLK_S_IOERR for a short header, or -1 when there
 * is no status byte to answer with.
 */
static int
pci_vtblk_parse(struct vtblk_ioreq *io, int n, const struct vi_req *vr,
    struct vtblk_req *r)
{
	struct iovec *last = &io->io_iov[n - 1];
	uint8_t hdr[VTBLK_HDR_LEN];
	uint32_t type;
	uint64_t sector;

	if (vr->writable == 0 || last->iov_len == 0)
		return -1;
	io->io_status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (vr->readable_len < VTBLK_HDR_LEN ||
	    !pci_vtblk_gather(io->io_iov, vr->readable, 0, hdr, sizeof(hdr)))
		return VTBLK_S_IOERR;
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	*r = (struct vtblk_req){ .type = le32toh(type),
		.sector = le64toh(sector),
		.rdlen = vr->readable_len - VTBLK_HDR_LEN, .nrd = vr->readable,
		.wrlen = vr->writable_len - 1, .nwr = vr->writable };
	if (r->rdlen > 0)
		r->rd = pci_vtblk_narrow(io->io_iov, &r->nrd, VTBLK_HDR_LEN,
		    r->rdlen);
	if (r->wrlen > 0)
		r->wr = pci_vtblk_narrow(io->io_iov + vr->readable, &r->nwr, 0,
		    r->wrlen);
	return VTBLK_S_OK;
}

static void
pci_vtblk_start(struct pci_vtblk_softc *sc, struct vtblk_ioreq *io, int n,
    const struct vi_req *vr)
{
	struct vtblk_req r;
	int st;

	io->io_idx = vr->idx;
	io->io_gen = sc->vbsc_gen;
	io->io_donelen = 1;
	io->io_req = (struct blockif_req){ .br_callback = pci_vtblk_done,
		.br_param = io };
	st = pci_vtblk_parse(io, n, vr, &r);
	if (st < 0) {
		sc->vbsc_nbad++;
		vq_relchain(&sc->vbsc_vq, vr->idx, 0);
		pci_vtblk_give(sc, io);
		return;
	}
	if (st == VTBLK_S_OK)
		st = pci_vtblk_proc(sc, io, &r);
	if (st == VTBLK_S_PENDING)
		return;
	if (st != VTBLK_S_OK)
		sc->vbsc_nbad++;
	pci_vtblk_complete(sc, io, (uint8_t)st);
}

/*
 * Take every chain there is (within the round's budget when it is a
 * notification's round; a completion's drain is bounded by the pool).
 */
static void
pci_vtblk_drain(struct pci_vtblk_softc *sc, struct vqueue_info *vq)
{
	struct vtblk_ioreq *io;
	struct vi_req vr;
	int n;

	sc->vbsc_starved = false;
	while (!sc->vbsc_dying) {
		io = pci_vtblk_take(sc);
		if (io == NULL) {
			sc->vbsc_starved = true;
			break;
		}
		n = vq_getchain(vq, io->io_iov, VTBLK_MAXSEGS, &vr);
		if (n <= 0) {
			pci_vtblk_give(sc, io);
			break;
		}
		pci_vtblk_start(sc, io, n, &vr);
	}
	vq_endchains(vq);
}

static void
pci_vtblk_notify(void *dev, struct vqueue_info *vq)
{
	pci_vtblk_drain(dev, vq);
}

/* ---- Configuration ---- */

static int
pci_vtblk_cfgread(void *dev, int off, int size, uint32_t *val)
{
	struct pci_vtblk_softc *sc = dev;

	*val = 0;
	memcpy(val, (uint8_t *)&sc->vbsc_cfg + off, (size_t)size);
	return 0;
}

/* Only writeback is the driver's (5.2.5, with CONFIG_WCE). */
static int
pci_vtblk_cfgwrite(void *dev, int off, int size, uint32_t val)
{
	struct pci_vtblk_softc *sc = dev;

	if (off == offsetof(struct vtblk_config, vbc_writeback) &&
	    size == 1 && (sc->vbsc_vs.vs_hv_caps & VTBLK_F_CONFIG_WCE))
		sc->vbsc_cfg.vbc_writeback = (val & 0xff) != 0;
	return 0;
}

/* 5.2.5.2: CONFIG_WCE without FLUSH starts write-through. */
static int
pci_vtblk_apply_features(void *dev, uint64_t f)
{
	struct pci_vtblk_softc *sc = dev;

	if ((f & VTBLK_F_CONFIG_WCE) && !(f & VTBLK_F_FLUSH))
		sc->vbsc_cfg.vbc_writeback = 0;
	return 0;
}

static const struct virtio_consts pci_vtblk_vi_consts = {
	.vc_name = "virtio-blk",
	.vc_devtype = VIRTIO_ID_BLOCK,
	.vc_class = VTBLK_CLASS,
	.vc_nvq = 1,
	.vc_cfgsize = sizeof(struct vtblk_config),
	.vc_max_chain = VTBLK_MAX_CHAIN,
	.vc_reset = pci_vtblk_reset,
	.vc_qnotify = pci_vtblk_notify,
	.vc_cfgread = pci_vtblk_cfgread,
	.vc_cfgwrite = pci_vtblk_cfgwrite,
	.vc_apply_features = pci_vtblk_apply_features,
};

static uint8_t
pci_vtblk_log2(uint32_t v)
{
	uint8_t n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

/* Capacity in whole logical sectors, counted in 512-byte units. */
static void
pci_vtblk_config_init(struct pci_vtblk_softc *sc)
{
	struct blockif_ctxt *bc = sc->vbsc_bc;
	uint32_t log = blockif_sectsz(bc), phys = blockif_psectsz(bc);
	uint8_t exp = pci_vtblk_log2(phys / log);

	sc->vbsc_wce_reset = blockif_is_sync(bc) ? 0 : 1;
	sc->vbsc_cfg = (struct vtblk_config){
		.vbc_capacity = htole64(blockif_size(bc) / log * (log /
		    VTBLK_SECTOR)),
		.vbc_size_max = htole32(VTBLK_SIZE_MAX),
		.vbc_seg_max = htole32(VTBLK_SEG_MAX),
		.vbc_blk_size = htole32(log),
		.vbc_physical_block_exp = exp,
		.vbc_min_io_size = htole16((uint16_t)(1u << exp)),
		.vbc_writeback = sc->vbsc_wce_reset,
		.vbc_num_queues = htole16(1),
		.vbc_max_discard_sectors = htole32(VTBLK_DWZ_SECTORS),
		.vbc_max_discard_seg = htole32(VTBLK_DWZ_SEG),
		.vbc_discard_sector_alignment = htole32(phys / VTBLK_SECTOR),
		.vbc_max_write_zeroes_sectors = htole32(VTBLK_DWZ_SECTORS),
		.vbc_max_write_zeroes_seg = htole32(VTBLK_DWZ_SEG),
		.vbc_write_zeroes_may_unmap = blockif_candelete(bc),
	};
}

static uint64_t
pci_vtblk_features(struct blockif_ctxt *bc)
{
	uint64_t f = VTBLK_F_SIZE_MAX | VTBLK_F_SEG_MAX | VTBLK_F_BLK_SIZE |
	    VTBLK_F_FLUSH | VTBLK_F_TOPOLOGY | VTBLK_F_CONFIG_WCE;

	if (blockif_is_ro(bc))
		f |= VTBLK_F_RO;
	else
		f |= VTBLK_F_WRITE_ZEROES;
	if (blockif_candelete(bc))
		f |= VTBLK_F_DISCARD;
	return f;
}

/*
 * The GET_ID string: ser= (at most 20 bytes), or as bhyve one made from
 * the image's path ("BHYVE-XXXX-XXXX-XXXX", here from an FNV-1a hash).
 */
static int
pci_vtblk_ident(struct pci_devinst *pi, struct config_node *nvl,
    char ident[VTBLK_ID_BYTES])
{
	const char *ser = config_get(nvl, "ser"), *path;
	char buf[VTBLK_ID_BYTES + 1];
	uint64_t h = 0xcbf29ce484222325ULL;

	memset(ident, 0, VTBLK_ID_BYTES);
	if (ser != NULL) {
		if (strlen(ser) > VTBLK_ID_BYTES)
			return pci_emul_error(pi, "ser '%s' is longer than %d "
			    "bytes", ser, VTBLK_ID_BYTES);
		memcpy(ident, ser, strlen(ser));
		return 0;
	}
	path = config_get(nvl, "path");
	for (const char *p = path ? path : ""; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	snprintf(buf, sizeof(buf), "BHYVE-%04X-%04X-%04X",
	    (unsigned)(h >> 48), (unsigned)(h >> 32) & 0xffff,
	    (unsigned)(h >> 16) & 0xffff);
	memcpy(ident, buf, VTBLK_ID_BYTES);
	return 0;
}

/* Keys the device reads besides the backend's: ser, bootindex. */
static int
pci_vtblk_options(struct pci_devinst *pi, struct config_node *nvl,
    char ident[VTBLK_ID_BYTES])
{
	uint64_t bootindex;

	if (config_get_uint(nvl, "bootindex", 0, &bootindex) != 0 ||
	    bootindex > INT32_MAX) {
		const char *v = config_get(nvl, "bootindex");

		return pci_emul_error(pi, "invalid bootindex '%s'",
		    v ? v : "");
	}
	return pci_vtblk_ident(pi, nvl, ident);
}

static void
pci_vtblk_free(struct pci_vtblk_softc *sc)
{
	free(sc->vbsc_iovs);
	free(sc);
}

static struct pci_vtblk_softc *
pci_vtblk_alloc(struct blockif_ctxt *bc, const char *ident)
{
	struct pci_vtblk_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return NULL;
	sc->vbsc_iovs = calloc(VTBLK_RINGSZ * VTBLK_MAXSEGS,
	    sizeof(struct iovec));
	if (sc->vbsc_iovs == NULL) {
		free(sc);
		return NULL;
	}
	sc->vbsc_bc = bc;
	memcpy(sc->vbsc_ident, ident, VTBLK_ID_BYTES);
	for (int i = VTBLK_RINGSZ - 1; i >= 0; i--) {
		sc->vbsc_ios[i].io_sc = sc;
		sc->vbsc_ios[i].io_iov = &sc->vbsc_iovs[i * VTBLK_MAXSEGS];
		pci_vtblk_give(sc, &sc->vbsc_ios[i]);
	}
	pci_vtblk_config_init(sc);
	sc->vbsc_consts = pci_vtblk_vi_consts;
	sc->vbsc_consts.vc_hv_caps = pci_vtblk_features(bc);
	sc->vbsc_vq.vq_qsize_max = VTBLK_RINGSZ;
	return sc;
}

static int
pci_vtblk_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	char err[BHYVE_ERRLEN], ident[VTBLK_ID_BYTES];
	struct pci_vtblk_softc *sc;
	struct blockif_ctxt *bc;

	if (pci_vtblk_options(pi, nvl, ident) != 0)
		return -1;
	if (blockif_open(nvl, &bc, err, sizeof(err)) != 0)
		return pci_emul_error(pi, "%s", err);
	sc = pci_vtblk_alloc(bc, ident);
	if (sc == NULL) {
		blockif_close(bc);
		return pci_emul_error(pi, "out of memory");
	}
	vi_softc_linkup(&sc->vbsc_vs, &sc->vbsc_consts, sc, pi,
	    &sc->vbsc_vq);
	if (vi_pci_init(&sc->vbsc_vs, nvl) != 0) {
		pi->pi_arg = NULL;
		blockif_close(bc);
		pci_vtblk_free(sc);
		return -1;
	}
	return 0;
}

/* Nothing is returned to the guest any more; the backend drains. */
static void
pci_vtblk_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;
	struct pci_vtblk_softc *sc;

	if (vs == NULL)
		return;
	sc = vs->vs_dev;
	vi_lock(vs);
	sc->vbsc_dying = true;
	pci_vtblk_cancel_all(sc);
	vi_unlock(vs);
	blockif_close(sc->vbsc_bc);
	vi_pci_destroy(vs);
	pci_vtblk_free(sc);
	pi->pi_arg = NULL;
}

const struct pci_devemu pci_de_virtio_blk = {
	.pe_emu = "virtio-blk",
	.pe_init = pci_vtblk_init,
	.pe_destroy = pci_vtblk_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};

struct blockif_ctxt *
pci_vtblk_backend(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;

	if (pi->pi_d != &pci_de_virtio_blk || vs == NULL)
		return NULL;
	return ((struct pci_vtblk_softc *)vs->vs_dev)->vbsc_bc;
}
