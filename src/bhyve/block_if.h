/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The block backend shared by the disk emulations (bhyve's block_if):
 * a raw image file or a host block device, opened from a device's config
 * node, served by a pool of worker threads so that a slow disk never
 * stalls a vCPU, with several requests in flight.
 *
 * Keys (bhyve_config(5)): path, ro, nocache (O_DIRECT), sync and its
 * alias direct (O_SYNC: every write is durable when it completes),
 * sectorsize=logical[/physical], nodelete (no discard).
 *
 * A caller fills a struct blockif_req it owns and submits it; a worker
 * runs it and calls br_callback(br, error) with no blockif lock held,
 * after which blockif never touches the request again.  Requests run in
 * any order, except that a flush starts only once every request
 * submitted before it has finished (a barrier: whatever a flush covers
 * is on the disk before its callback says so).  Durability is the
 * caller's to ask for: a write is in the host's cache when it completes,
 * unless the backend was opened with sync or the write carries
 * BLOCKIF_F_FUA, in which case it is on stable storage (fdatasync) before
 * its callback runs.
 *
 * Locking: blockif has its own lock, taken briefly by submit and cancel.
 * Callers may hold their own locks around those calls; callbacks may take
 * those locks, because blockif never calls back with its lock held and
 * blockif_cancel() waits only for the I/O, never for a callback.
 */
#ifndef BLOCK_IF_H
#define BLOCK_IF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define BLOCKIF_CHECK __attribute__((warn_unused_result))

struct blockif_ctxt;
struct config_node;

enum blockif_op {
	BLOCKIF_OP_READ,
	BLOCKIF_OP_WRITE,
	BLOCKIF_OP_FLUSH,
	BLOCKIF_OP_DELETE,	/* discard: the ranges may then read anything */
	BLOCKIF_OP_ZERO,	/* the ranges read back as zeroes */
};

/* br_flags */
#define BLOCKIF_F_FUA 0x1	/* write, zero: durable before completion */
#define BLOCKIF_F_UNMAP 0x2	/* zero: deallocating is allowed */

/* A byte range for delete and zero. */
struct blockif_range {
	uint64_t off;
	uint64_t len;
};

struct blockif_req {
	/* The caller's. */
	struct iovec *br_iov;	/* read/write buffers; blockif may edit them */
	int br_iovcnt;
	uint64_t br_offset;	/* read/write: where, in bytes */
	const struct blockif_range *br_ranges;	/* delete/zero */
	int br_nranges;
	uint32_t br_flags;
	/* 0 or a negative errno (-EIO, -EROFS, -EOPNOTSUPP, ...). */
	void (*br_callback)(struct blockif_req *br, int error);
	void *br_param;
	/* blockif's. */
	enum blockif_op br_op;
	int br_state;
	uint64_t br_seq;
	struct blockif_req *br_next;
};

/*
 * Open the backend 'nvl' describes.  On error returns a negative errno
 * and writes one line naming the culprit to 'err'.
 */
int blockif_open(struct config_node *nvl, struct blockif_ctxt **bcp,
    char *err, size_t errlen) BLOCKIF_CHECK;
/*
 * Run what is still queued, wait for what is running and for every
 * callback, stop the workers, close.  Nobody may submit meanwhile.
 */
void blockif_close(struct blockif_ctxt *bc);

/* Queue a request: 0, or -EBADF when the backend is closing. */
int blockif_read(struct blockif_ctxt *bc, struct blockif_req *br)
    BLOCKIF_CHECK;
int blockif_write(struct blockif_ctxt *bc, struct blockif_req *br)
    BLOCKIF_CHECK;
int blockif_flush(struct blockif_ctxt *bc, struct blockif_req *br)
    BLOCKIF_CHECK;
int blockif_delete(struct blockif_ctxt *bc, struct blockif_req *br)
    BLOCKIF_CHECK;
int blockif_zero(struct blockif_ctxt *bc, struct blockif_req *br)
    BLOCKIF_CHECK;

/*
 * Make sure 'br' is not running and will not run.  Returns 0 if it was
 * still queued: it is dropped and its callback will never be called.
 * Returns -EBUSY if it had started: this waited for its I/O to finish,
 * and its callback has been or will be called (perhaps right after this
 * returns).  Returns -ENOENT if blockif does not hold it.
 */
int blockif_cancel(struct blockif_ctxt *bc, struct blockif_req *br);
/* Only the first half: drop 'br' if still queued (0), else -EBUSY/-ENOENT. */
int blockif_dequeue(struct blockif_ctxt *bc, struct blockif_req *br);
/*
 * Wait until nothing is queued or running and every callback has
 * returned.  Never with a lock the callbacks take.
 */
void blockif_quiesce(struct blockif_ctxt *bc);

/* Geometry and properties. */
uint64_t blockif_size(struct blockif_ctxt *bc);	/* bytes */
uint32_t blockif_sectsz(struct blockif_ctxt *bc);	/* logical */
uint32_t blockif_psectsz(struct blockif_ctxt *bc);	/* physical */
bool blockif_is_ro(struct blockif_ctxt *bc);
bool blockif_candelete(struct blockif_ctxt *bc);
/* Every write is on stable storage when it completes (sync/direct). */
bool blockif_is_sync(struct blockif_ctxt *bc);
bool blockif_is_blockdev(struct blockif_ctxt *bc);
const char *blockif_path(struct blockif_ctxt *bc);

/*
 * Tests: replace the system calls the workers make (each returns as the
 * call would, -1 with errno).  A NULL member keeps the real call.  Set
 * before the first request.
 */
struct blockif_sysops {
	ssize_t (*bs_preadv)(void *arg, int fd, const struct iovec *iov,
	    int cnt, off_t off);
	ssize_t (*bs_pwritev)(void *arg, int fd, const struct iovec *iov,
	    int cnt, off_t off);
	int (*bs_fdatasync)(void *arg, int fd);
	int (*bs_fallocate)(void *arg, int fd, int mode, off_t off,
	    off_t len);
	/* BLKDISCARD and BLKZEROOUT: range = { offset, length }. */
	int (*bs_ioctl_range)(void *arg, int fd, unsigned long req,
	    uint64_t range[2]);
};
void blockif_set_sysops(struct blockif_ctxt *bc,
    const struct blockif_sysops *ops, void *arg);

/* Tests and benchmarks: the backend of a virtio-blk function, or NULL. */
struct pci_devinst;
struct blockif_ctxt *pci_vtblk_backend(struct pci_devinst *pi);

#endif /* BLOCK_IF_H */
