/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The block backend (bhyve's block_if.c; the interface is block_if.h).
 *
 * Worker threads with preadv/pwritev rather than io_uring: the image is
 * one file descriptor, the kernel's page cache (or O_DIRECT) does the
 * rest, and a pool of threads gives several requests in flight with no
 * dependency beyond libc.  Requests wait in one FIFO; an idle worker takes
 * the first one that may run.  Everything but a flush may run at once.  A
 * flush may run only at the head of the queue with no older request still
 * running, which makes it a barrier: its fdatasync() covers every write
 * submitted before it, and its completion is reported only after that
 * fdatasync() returned.
 *
 * Durability: the file is opened O_SYNC with sync (or direct), so each
 * write is stable when pwritev() returns; otherwise writes land in the
 * host's page cache (or, with nocache alone, the disk's volatile cache)
 * and become stable at the next flush, or at once with BLOCKIF_F_FUA.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "block_if.h"
#include "config.h"

#define BLOCKIF_NUMTHR 8
#define BLOCKIF_MINSECT 512
#define BLOCKIF_MAXSECT 65536
#define BLOCKIF_ALIGN 4096		/* memory alignment for O_DIRECT */
#define BLOCKIF_BOUNCE (1u << 20)	/* bounce buffer for O_DIRECT */
#define BLOCKIF_ZEROES (64u << 10)	/* zeroes written per call */

enum {
	BR_IDLE,	/* not blockif's (never submitted, or finished) */
	BR_QUEUED,
	BR_BUSY,
};

struct blockif_ctxt {
	int bc_fd;
	char *bc_path;
	bool bc_ro, bc_sync, bc_direct, bc_candelete, bc_isblk;
	uint64_t bc_size;
	uint32_t bc_sectsz, bc_psectsz;
	void *bc_zeroes;	/* BLOCKIF_ZEROES aligned bytes of 0 */
	const struct blockif_sysops *bc_ops;
	void *bc_ops_arg;

	pthread_mutex_t bc_mtx;
	pthread_cond_t bc_work;	/* workers: a request, or closing */
	pthread_cond_t bc_done;	/* a request or a callback finished */
	struct blockif_req *bc_pend, **bc_pend_tail;
	struct blockif_req *bc_busy;
	uint64_t bc_seq;
	int bc_ncallbacks;	/* callbacks running */
	bool bc_closing;
	int bc_nwait;		/* workers waiting for bc_work */
	int bc_nwake;		/* signals sent them, not yet taken */
	int bc_nthr;
	pthread_t bc_thr[BLOCKIF_NUMTHR];
};

struct blockif_opts {
	const char *path;
	bool ro, nocache, sync, nodelete;
	uint32_t sectsz, psectsz;	/* 0: from the image */
};

static int __attribute__((format(printf, 4, 5)))
blockif_fail(char *err, size_t errlen, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return error;
}

/* ---- System calls, through the test hooks ---- */

static ssize_t
blockif_sys_rw(struct blockif_ctxt *bc, bool write, const struct iovec *iov,
    int cnt, off_t off)
{
	const struct blockif_sysops *o = bc->bc_ops;

	if (write)
		return o && o->bs_pwritev ? o->bs_pwritev(bc->bc_ops_arg,
		    bc->bc_fd, iov, cnt, off) : pwritev(bc->bc_fd, iov, cnt,
		    off);
	return o && o->bs_preadv ? o->bs_preadv(bc->bc_ops_arg, bc->bc_fd,
	    iov, cnt, off) : preadv(bc->bc_fd, iov, cnt, off);
}

static int
blockif_sys_fallocate(struct blockif_ctxt *bc, int mode, uint64_t off,
    uint64_t len)
{
	const struct blockif_sysops *o = bc->bc_ops;

	if (o && o->bs_fallocate)
		return o->bs_fallocate(bc->bc_ops_arg, bc->bc_fd, mode,
		    (off_t)off, (off_t)len);
	return fallocate(bc->bc_fd, mode, (off_t)off, (off_t)len);
}

static int
blockif_sys_ioctl(struct blockif_ctxt *bc, unsigned long req, uint64_t off,
    uint64_t len)
{
	const struct blockif_sysops *o = bc->bc_ops;
	uint64_t range[2] = { off, len };

	if (o && o->bs_ioctl_range)
		return o->bs_ioctl_range(bc->bc_ops_arg, bc->bc_fd, req, range);
	return ioctl(bc->bc_fd, req, range);
}

/* fdatasync(2): only what is needed to read the data back after a crash. */
static int
blockif_datasync(struct blockif_ctxt *bc)
{
	const struct blockif_sysops *o = bc->bc_ops;
	int r;

	if (bc->bc_ro)
		return 0;
	do {
		r = o && o->bs_fdatasync ? o->bs_fdatasync(bc->bc_ops_arg,
		    bc->bc_fd) : fdatasync(bc->bc_fd);
	} while (r != 0 && errno == EINTR);
	return r == 0 ? 0 : -errno;
}

/* ---- Reads and writes ---- */

static uint64_t
blockif_iov_len(const struct iovec *iov, int cnt)
{
	uint64_t len = 0;

	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	return len;
}

/* Step past 'n' bytes of the vector. */
static void
blockif_iov_advance(struct iovec **iovp, int *cntp, size_t n)
{
	struct iovec *iov = *iovp;
	int cnt = *cntp;

	while (cnt > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		cnt--;
	}
	if (cnt > 0 && n > 0) {
		iov->iov_base = (uint8_t *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	*iovp = iov;
	*cntp = cnt;
}

/* Copy 'n' bytes between a flat buffer and the head of a vector. */
static void
blockif_iov_copy(const struct iovec *iov, int cnt, uint8_t *buf, size_t n,
    bool to_buf)
{
	for (int i = 0; i < cnt && n > 0; i++) {
		size_t m = iov[i].iov_len < n ? iov[i].iov_len : n;

		if (to_buf)
			memcpy(buf, iov[i].iov_base, m);
		else
			memcpy(iov[i].iov_base, buf, m);
		buf += m;
		n -= m;
	}
}

static bool
blockif_range_ok(struct blockif_ctxt *bc, uint64_t off, uint64_t len)
{
	return off <= bc->bc_size && len <= bc->bc_size - off;
}

/* All of a flat buffer, whatever the short transfers. */
static int
blockif_rw_flat(struct blockif_ctxt *bc, bool write, uint8_t *buf,
    size_t len, uint64_t off)
{
	while (len > 0) {
		struct iovec v = { .iov_base = buf, .iov_len = len };
		ssize_t n = blockif_sys_rw(bc, write, &v, 1, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the image shrank under us */
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * O_DIRECT refuses buffers that are not aligned as the host device wants
 * (EINVAL), and the guest chooses the buffers: go through an aligned
 * bounce buffer instead.
 */
static int
blockif_bounce(struct blockif_ctxt *bc, bool write, struct iovec *iov,
    int cnt, uint64_t off, uint64_t len)
{
	size_t chunk = len < BLOCKIF_BOUNCE ? (size_t)len : BLOCKIF_BOUNCE;
	void *buf;
	int error = 0;

	if (posix_memalign(&buf, BLOCKIF_ALIGN, chunk) != 0)
		return -ENOMEM;
	while (len > 0 && error == 0) {
		size_t n = len < chunk ? (size_t)len : chunk;

		if (write)
			blockif_iov_copy(iov, cnt, buf, n, true);
		error = blockif_rw_flat(bc, write, buf, n, off);
		if (error == 0 && !write)
			blockif_iov_copy(iov, cnt, buf, n, false);
		blockif_iov_advance(&iov, &cnt, n);
		off += n;
		len -= n;
	}
	free(buf);
	return error;
}

static int
blockif_rw(struct blockif_ctxt *bc, struct blockif_req *br, bool write)
{
	struct iovec *iov = br->br_iov;
	int cnt = br->br_iovcnt > 0 ? br->br_iovcnt : 0;
	uint64_t off = br->br_offset, len = blockif_iov_len(iov, cnt);

	if (write && bc->bc_ro)
		return -EROFS;
	if (!blockif_range_ok(bc, off, len))
		return -EINVAL;
	while (len > 0) {
		ssize_t n;

		blockif_iov_advance(&iov, &cnt, 0);	/* empty buffers */
		n = blockif_sys_rw(bc, write, iov, cnt < IOV_MAX ? cnt :
		    IOV_MAX, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && bc->bc_direct)
			return blockif_bounce(bc, write, iov, cnt, off, len);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
		blockif_iov_advance(&iov, &cnt, (size_t)n);
	}
	if (write && (br->br_flags & BLOCKIF_F_FUA) && !bc->bc_sync)
		return blockif_datasync(bc);
	return 0;
}

/* ---- Discard and write-zeroes ---- */

static int
blockif_check_ranges(struct blockif_ctxt *bc, const struct blockif_req *br)
{
	if (bc->bc_ro)
		return -EROFS;
	if (br->br_nranges < 0 || (br->br_nranges > 0 && !br->br_ranges))
		return -EINVAL;
	for (int i = 0; i < br->br_nranges; i++)
		if (!blockif_range_ok(bc, br->br_ranges[i].off,
		    br->br_ranges[i].len))
			return -EINVAL;
	return 0;
}

static bool
blockif_unsupported(int error)
{
	return error == EOPNOTSUPP || error == ENOSYS || error == ENOTTY;
}

static int
blockif_punch(struct blockif_ctxt *bc, uint64_t off, uint64_t len)
{
	int r;

	if (bc->bc_isblk)
		r = blockif_sys_ioctl(bc, BLKDISCARD, off, len);
	else
		r = blockif_sys_fallocate(bc, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, off, len);
	return r == 0 ? 0 : -errno;
}

/*
 * Discard only says the data is no longer wanted (virtio 1.2, 5.2.6: the
 * device MAY deallocate), so a host that cannot punch holes has still
 * done what was asked.
 */
static int
blockif_discard(struct blockif_ctxt *bc, struct blockif_req *br)
{
	int error = blockif_check_ranges(bc, br);

	if (error == 0 && !bc->bc_candelete)
		error = -EOPNOTSUPP;
	for (int i = 0; error == 0 && i < br->br_nranges; i++) {
		if (br->br_ranges[i].len == 0)
			continue;
		error = blockif_punch(bc, br->br_ranges[i].off,
		    br->br_ranges[i].len);
		if (blockif_unsupported(-error))
			error = 0;
	}
	return error;
}

static int
blockif_write_zeroes(struct blockif_ctxt *bc, uint64_t off, uint64_t len)
{
	int error = 0;

	while (len > 0 && error == 0) {
		size_t n = len < BLOCKIF_ZEROES ? (size_t)len : BLOCKIF_ZEROES;

		error = blockif_rw_flat(bc, true, bc->bc_zeroes, n, off);
		off += n;
		len -= n;
	}
	return error;
}

/*
 * The cheapest way the host has to make a range read back as zeroes:
 * punch it out when deallocating is allowed, else zero it in place; write
 * zeroes when the file system or device can do neither.
 */
static int
blockif_zero_range(struct blockif_ctxt *bc, uint64_t off, uint64_t len,
    bool unmap)
{
	int r;

	if (len == 0)
		return 0;
	if (bc->bc_isblk)
		r = blockif_sys_ioctl(bc, BLKZEROOUT, off, len);
	else if (unmap && bc->bc_candelete)
		r = blockif_sys_fallocate(bc, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, off, len);
	else
		r = blockif_sys_fallocate(bc, FALLOC_FL_ZERO_RANGE |
		    FALLOC_FL_KEEP_SIZE, off, len);
	if (r == 0)
		return 0;
	if (!blockif_unsupported(errno))
		return -errno;
	return blockif_write_zeroes(bc, off, len);
}

static int
blockif_zeroes(struct blockif_ctxt *bc, struct blockif_req *br)
{
	bool unmap = br->br_flags & BLOCKIF_F_UNMAP;
	int error = blockif_check_ranges(bc, br);

	for (int i = 0; error == 0 && i < br->br_nranges; i++)
		error = blockif_zero_range(bc, br->br_ranges[i].off,
		    br->br_ranges[i].len, unmap);
	if (error == 0 && (br->br_flags & BLOCKIF_F_FUA))
		error = blockif_datasync(bc);
	return error;
}

static int
blockif_exec(struct blockif_ctxt *bc, struct blockif_req *br)
{
	switch (br->br_op) {
	case BLOCKIF_OP_READ:
		return blockif_rw(bc, br, false);
	case BLOCKIF_OP_WRITE:
		return blockif_rw(bc, br, true);
	case BLOCKIF_OP_FLUSH:
		return blockif_datasync(bc);
	case BLOCKIF_OP_DELETE:
		return blockif_discard(bc, br);
	case BLOCKIF_OP_ZERO:
		return blockif_zeroes(bc, br);
	}
	return -EINVAL;
}

/* ---- The queue and the workers ---- */

/* A flush waits for everything submitted before it. */
static bool
blockif_flush_ready(struct blockif_ctxt *bc, const struct blockif_req *br,
    bool first)
{
	if (!first)
		return false;
	for (const struct blockif_req *b = bc->bc_busy; b; b = b->br_next)
		if (b->br_seq < br->br_seq)
			return false;
	return true;
}

/* Take the first request that may run now, with bc_mtx held. */
static struct blockif_req *
blockif_next(struct blockif_ctxt *bc)
{
	for (struct blockif_req **pp = &bc->bc_pend; *pp;
	    pp = &(*pp)->br_next) {
		struct blockif_req *br = *pp;

		if (br->br_op == BLOCKIF_OP_FLUSH &&
		    !blockif_flush_ready(bc, br, pp == &bc->bc_pend))
			continue;
		*pp = br->br_next;
		if (bc->bc_pend_tail == &br->br_next)
			bc->bc_pend_tail = pp;
		br->br_state = BR_BUSY;
		br->br_next = bc->bc_busy;
		bc->bc_busy = br;
		return br;
	}
	return NULL;
}

static void
blockif_unbusy(struct blockif_ctxt *bc, struct blockif_req *br)
{
	struct blockif_req **pp = &bc->bc_busy;

	while (*pp != NULL && *pp != br)
		pp = &(*pp)->br_next;
	if (*pp != NULL)
		*pp = br->br_next;
	br->br_next = NULL;
	br->br_state = BR_IDLE;
}

/* One request, then its callback with no lock held. */
static void
blockif_run_one(struct blockif_ctxt *bc, struct blockif_req *br)
{
	int error;

	pthread_mutex_unlock(&bc->bc_mtx);
	error = blockif_exec(bc, br);
	pthread_mutex_lock(&bc->bc_mtx);
	blockif_unbusy(bc, br);
	bc->bc_ncallbacks++;
	pthread_cond_broadcast(&bc->bc_done);
	/* A flush at the head may have been waiting for this one. */
	if (bc->bc_pend != NULL && bc->bc_pend->br_op == BLOCKIF_OP_FLUSH)
		pthread_cond_broadcast(&bc->bc_work);
	pthread_mutex_unlock(&bc->bc_mtx);
	br->br_callback(br, error);
	pthread_mutex_lock(&bc->bc_mtx);
	bc->bc_ncallbacks--;
	pthread_cond_broadcast(&bc->bc_done);
}

static void *
blockif_worker(void *arg)
{
	struct blockif_ctxt *bc = arg;

	pthread_mutex_lock(&bc->bc_mtx);
	for (;;) {
		struct blockif_req *br = blockif_next(bc);

		if (br != NULL) {
			blockif_run_one(bc, br);
			continue;
		}
		if (bc->bc_closing && bc->bc_pend == NULL)
			break;
		bc->bc_nwait++;
		pthread_cond_wait(&bc->bc_work, &bc->bc_mtx);
		bc->bc_nwait--;
		if (bc->bc_nwake > 0)
			bc->bc_nwake--;
	}
	pthread_mutex_unlock(&bc->bc_mtx);
	return NULL;
}

/*
 * Workers start as they are needed, one at open and another whenever a
 * request finds none idle, up to BLOCKIF_NUMTHR: an idle disk costs one
 * thread.  They take no signals: those are the vCPUs' and the event
 * loop's.  With bc_mtx held; 0 or an errno.
 */
static int
blockif_spawn(struct blockif_ctxt *bc)
{
	sigset_t all, old;
	char name[16];
	int error;

	if (bc->bc_nthr >= BLOCKIF_NUMTHR)
		return EAGAIN;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&bc->bc_thr[bc->bc_nthr], NULL, blockif_worker,
	    bc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0)
		return error;
	snprintf(name, sizeof(name), "blk-%d", bc->bc_nthr);
	(void)pthread_setname_np(bc->bc_thr[bc->bc_nthr], name);
	bc->bc_nthr++;
	return 0;
}

static int
blockif_submit(struct blockif_ctxt *bc, struct blockif_req *br,
    enum blockif_op op)
{
	pthread_mutex_lock(&bc->bc_mtx);
	if (bc->bc_closing) {
		pthread_mutex_unlock(&bc->bc_mtx);
		return -EBADF;
	}
	br->br_op = op;
	br->br_state = BR_QUEUED;
	br->br_seq = bc->bc_seq++;
	br->br_next = NULL;
	*bc->bc_pend_tail = br;
	bc->bc_pend_tail = &br->br_next;
	if (bc->bc_nwait > bc->bc_nwake) {
		bc->bc_nwake++;
		pthread_cond_signal(&bc->bc_work);
	} else {
		(void)blockif_spawn(bc);	/* none: the others do it */
	}
	pthread_mutex_unlock(&bc->bc_mtx);
	return 0;
}

int
blockif_read(struct blockif_ctxt *bc, struct blockif_req *br)
{
	return blockif_submit(bc, br, BLOCKIF_OP_READ);
}

int
blockif_write(struct blockif_ctxt *bc, struct blockif_req *br)
{
	return blockif_submit(bc, br, BLOCKIF_OP_WRITE);
}

int
blockif_flush(struct blockif_ctxt *bc, struct blockif_req *br)
{
	return blockif_submit(bc, br, BLOCKIF_OP_FLUSH);
}

int
blockif_delete(struct blockif_ctxt *bc, struct blockif_req *br)
{
	return blockif_submit(bc, br, BLOCKIF_OP_DELETE);
}

int
blockif_zero(struct blockif_ctxt *bc, struct blockif_req *br)
{
	return blockif_submit(bc, br, BLOCKIF_OP_ZERO);
}

static bool
blockif_unqueue(struct blockif_ctxt *bc, struct blockif_req *br)
{
	for (struct blockif_req **pp = &bc->bc_pend; *pp;
	    pp = &(*pp)->br_next) {
		if (*pp != br)
			continue;
		*pp = br->br_next;
		if (bc->bc_pend_tail == &br->br_next)
			bc->bc_pend_tail = pp;
		br->br_next = NULL;
		br->br_state = BR_IDLE;
		return true;
	}
	return false;
}

static int
blockif_cancel_locked(struct blockif_ctxt *bc, struct blockif_req *br,
    bool wait)
{
	if (br->br_state == BR_QUEUED && blockif_unqueue(bc, br)) {
		/* A flush behind it may run now. */
		pthread_cond_broadcast(&bc->bc_work);
		return 0;
	}
	if (br->br_state != BR_BUSY)
		return -ENOENT;
	while (wait && br->br_state == BR_BUSY)
		pthread_cond_wait(&bc->bc_done, &bc->bc_mtx);
	return -EBUSY;
}

int
blockif_cancel(struct blockif_ctxt *bc, struct blockif_req *br)
{
	int ret;

	pthread_mutex_lock(&bc->bc_mtx);
	ret = blockif_cancel_locked(bc, br, true);
	pthread_mutex_unlock(&bc->bc_mtx);
	return ret;
}

int
blockif_dequeue(struct blockif_ctxt *bc, struct blockif_req *br)
{
	int ret;

	pthread_mutex_lock(&bc->bc_mtx);
	ret = blockif_cancel_locked(bc, br, false);
	pthread_mutex_unlock(&bc->bc_mtx);
	return ret;
}

void
blockif_quiesce(struct blockif_ctxt *bc)
{
	pthread_mutex_lock(&bc->bc_mtx);
	while (bc->bc_pend != NULL || bc->bc_busy != NULL ||
	    bc->bc_ncallbacks > 0)
		pthread_cond_wait(&bc->bc_done, &bc->bc_mtx);
	pthread_mutex_unlock(&bc->bc_mtx);
}

/* ---- Opening ---- */

static bool
blockif_pow2(unsigned long v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* One decimal size, up to the next '/' or the end. */
static bool
blockif_parse_num(const char *s, char **end, unsigned long *v)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, end, 10);
	return errno == 0;
}

/* "logical[/physical]", each a power of 2 from 512 to 64 KiB. */
static int
blockif_parse_sectorsize(const char *val, struct blockif_opts *o,
    char *err, size_t errlen)
{
	unsigned long log, phys;
	char *end;

	if (!blockif_parse_num(val, &end, &log))
		goto bad;
	phys = log;
	if (*end == '/' && !blockif_parse_num(end + 1, &end, &phys))
		goto bad;
	if (*end != '\0')
		goto bad;
	if (!blockif_pow2(log) || !blockif_pow2(phys) ||
	    log < BLOCKIF_MINSECT || phys > BLOCKIF_MAXSECT)
		return blockif_fail(err, errlen, -EINVAL, "invalid sectorsize "
		    "'%s': sizes are powers of 2 from %d to %d", val,
		    BLOCKIF_MINSECT, BLOCKIF_MAXSECT);
	if (log > phys)
		return blockif_fail(err, errlen, -EINVAL, "invalid sectorsize "
		    "'%s': the logical size is above the physical one", val);
	o->sectsz = (uint32_t)log;
	o->psectsz = (uint32_t)phys;
	return 0;
bad:
	return blockif_fail(err, errlen, -EINVAL, "invalid sectorsize '%s' "
	    "(want logical[/physical])", val);
}

static int
blockif_get_bool(struct config_node *nvl, const char *key, bool *out,
    char *err, size_t errlen)
{
	const char *v;

	if (config_get_bool(nvl, key, false, out) == 0)
		return 0;
	v = config_get(nvl, key);
	return blockif_fail(err, errlen, -EINVAL, "invalid %s '%s' (want true "
	    "or false)", key, v ? v : "");
}

static int
blockif_parse_opts(struct config_node *nvl, struct blockif_opts *o,
    char *err, size_t errlen)
{
	bool direct = false;
	const char *ss;

	*o = (struct blockif_opts){ .path = config_get(nvl, "path") };
	if (o->path == NULL || o->path[0] == '\0')
		return blockif_fail(err, errlen, -EINVAL, "no disk image: "
		    "path is empty");
	if (blockif_get_bool(nvl, "ro", &o->ro, err, errlen) ||
	    blockif_get_bool(nvl, "nocache", &o->nocache, err, errlen) ||
	    blockif_get_bool(nvl, "sync", &o->sync, err, errlen) ||
	    blockif_get_bool(nvl, "direct", &direct, err, errlen) ||
	    blockif_get_bool(nvl, "nodelete", &o->nodelete, err, errlen))
		return -EINVAL;
	o->sync |= direct;
	ss = config_get(nvl, "sectorsize");
	return ss ? blockif_parse_sectorsize(ss, o, err, errlen) : 0;
}

/*
 * An image that opens for reading but not for writing is a read-only
 * image used without ro: say so, rather than fall back to read-only as
 * bhyve does (the guest would find out on its first write).
 */
static int
blockif_open_error(const struct blockif_opts *o, int e, char *err,
    size_t errlen)
{
	int fd;

	if ((e == EACCES || e == EROFS || e == EPERM) && !o->ro &&
	    (fd = open(o->path, O_RDONLY | O_CLOEXEC)) >= 0) {
		close(fd);
		return blockif_fail(err, errlen, -e, "'%s' is read-only (%s): "
		    "add ro to use it", o->path, strerror(e));
	}
	if (e == EISDIR)
		return blockif_fail(err, errlen, -e, "'%s' is a directory",
		    o->path);
	if (e == EINVAL && o->nocache)
		return blockif_fail(err, errlen, -e, "'%s' cannot be opened "
		    "with O_DIRECT (nocache)", o->path);
	return blockif_fail(err, errlen, -e, "cannot open '%s': %s", o->path,
	    strerror(e));
}

static int
blockif_open_fd(struct blockif_ctxt *bc, const struct blockif_opts *o,
    char *err, size_t errlen)
{
	int flags = (o->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	if (o->nocache)
		flags |= O_DIRECT;
	if (o->sync && !o->ro)
		flags |= O_SYNC;
	bc->bc_fd = open(o->path, flags);
	if (bc->bc_fd < 0)
		return blockif_open_error(o, errno, err, errlen);
	return 0;
}

/* Does the block device take BLKDISCARD?  (A partition asks its disk.) */
static bool
blockif_bdev_discards(const struct stat *st)
{
	static const char *const where[] = { "queue", "../queue" };
	char path[96];

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		unsigned long long v = 0;
		FILE *f;
		bool ok;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s/"
		    "discard_max_bytes", major(st->st_rdev),
		    minor(st->st_rdev), where[i]);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		ok = fscanf(f, "%llu", &v) == 1;
		fclose(f);
		return ok && v > 0;
	}
	return false;
}

static int
blockif_bdev_geometry(struct blockif_ctxt *bc, uint32_t *log,
    uint32_t *phys, char *err, size_t errlen)
{
	unsigned int pssz = 0;
	int ssz = 0;

	if (ioctl(bc->bc_fd, BLKGETSIZE64, &bc->bc_size) != 0 ||
	    ioctl(bc->bc_fd, BLKSSZGET, &ssz) != 0 ||
	    ioctl(bc->bc_fd, BLKPBSZGET, &pssz) != 0)
		return blockif_fail(err, errlen, -errno, "cannot get the size "
		    "of '%s': %s", bc->bc_path, strerror(errno));
	*log = ssz > 0 ? (uint32_t)ssz : BLOCKIF_MINSECT;
	*phys = pssz;
	return 0;
}

/*
 * Size and sector sizes.  A file has 512-byte logical sectors and its
 * file system's block as the physical one (as bhyve); a block device says
 * what it has.  sectorsize overrides both, in multiples of a device's own
 * logical size (it could not do smaller I/O).
 */
static int
blockif_geometry(struct blockif_ctxt *bc, const struct stat *st,
    const struct blockif_opts *o, char *err, size_t errlen)
{
	uint32_t log = BLOCKIF_MINSECT, phys = (uint32_t)st->st_blksize;
	int error;

	if (bc->bc_isblk &&
	    (error = blockif_bdev_geometry(bc, &log, &phys, err, errlen)))
		return error;
	if (!bc->bc_isblk)
		bc->bc_size = (uint64_t)st->st_size;
	if (!blockif_pow2(log) || log < BLOCKIF_MINSECT ||
	    log > BLOCKIF_MAXSECT)
		return blockif_fail(err, errlen, -EINVAL, "'%s' has a sector "
		    "size of %u bytes", bc->bc_path, log);
	if (!blockif_pow2(phys) || phys < log || phys > BLOCKIF_MAXSECT)
		phys = log;
	if (o->sectsz != 0) {
		if (o->sectsz % log != 0)
			return blockif_fail(err, errlen, -EINVAL, "sectorsize "
			    "%u is not a multiple of the %u-byte sectors of "
			    "'%s'", o->sectsz, log, bc->bc_path);
		log = o->sectsz;
		phys = o->psectsz;
	}
	bc->bc_sectsz = log;
	bc->bc_psectsz = phys;
	return 0;
}

static int
blockif_stat(struct blockif_ctxt *bc, const struct blockif_opts *o,
    char *err, size_t errlen)
{
	struct stat st;

	if (fstat(bc->bc_fd, &st) != 0)
		return blockif_fail(err, errlen, -errno, "cannot stat '%s': "
		    "%s", o->path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return blockif_fail(err, errlen, -EISDIR, "'%s' is a "
		    "directory", o->path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return blockif_fail(err, errlen, -EINVAL, "'%s' is neither a "
		    "file nor a block device", o->path);
	bc->bc_isblk = S_ISBLK(st.st_mode);
	bc->bc_ro = o->ro;
	bc->bc_sync = o->sync && !o->ro;
	bc->bc_direct = o->nocache;
	bc->bc_candelete = !o->ro && !o->nodelete &&
	    (!bc->bc_isblk || blockif_bdev_discards(&st));
	return blockif_geometry(bc, &st, o, err, errlen);
}

/* Stop and join the workers (all of them, or those started so far). */
static void
blockif_stop(struct blockif_ctxt *bc)
{
	pthread_mutex_lock(&bc->bc_mtx);
	bc->bc_closing = true;
	pthread_cond_broadcast(&bc->bc_work);
	pthread_mutex_unlock(&bc->bc_mtx);
	for (int i = 0; i < bc->bc_nthr; i++)
		pthread_join(bc->bc_thr[i], NULL);
	bc->bc_nthr = 0;
}

static int
blockif_start(struct blockif_ctxt *bc, char *err, size_t errlen)
{
	int error;

	pthread_mutex_lock(&bc->bc_mtx);
	error = blockif_spawn(bc);
	pthread_mutex_unlock(&bc->bc_mtx);
	if (error != 0)
		return blockif_fail(err, errlen, -error, "cannot start an I/O "
		    "thread: %s", strerror(error));
	return 0;
}

static void
blockif_free(struct blockif_ctxt *bc)
{
	blockif_stop(bc);
	if (bc->bc_fd >= 0)
		close(bc->bc_fd);
	pthread_cond_destroy(&bc->bc_work);
	pthread_cond_destroy(&bc->bc_done);
	pthread_mutex_destroy(&bc->bc_mtx);
	free(bc->bc_zeroes);
	free(bc->bc_path);
	free(bc);
}

static struct blockif_ctxt *
blockif_alloc(const char *path)
{
	struct blockif_ctxt *bc = calloc(1, sizeof(*bc));

	if (bc == NULL)
		return NULL;
	bc->bc_fd = -1;
	bc->bc_pend_tail = &bc->bc_pend;
	pthread_mutex_init(&bc->bc_mtx, NULL);
	pthread_cond_init(&bc->bc_work, NULL);
	pthread_cond_init(&bc->bc_done, NULL);
	bc->bc_path = strdup(path);
	if (bc->bc_path == NULL ||
	    posix_memalign(&bc->bc_zeroes, BLOCKIF_ALIGN, BLOCKIF_ZEROES)) {
		bc->bc_zeroes = NULL;
		blockif_free(bc);
		return NULL;
	}
	memset(bc->bc_zeroes, 0, BLOCKIF_ZEROES);
	return bc;
}

int
blockif_open(struct config_node *nvl, struct blockif_ctxt **bcp, char *err,
    size_t errlen)
{
	struct blockif_opts o;
	struct blockif_ctxt *bc;
	int error;

	*bcp = NULL;
	error = blockif_parse_opts(nvl, &o, err, errlen);
	if (error)
		return error;
	bc = blockif_alloc(o.path);
	if (bc == NULL)
		return blockif_fail(err, errlen, -ENOMEM, "out of memory");
	error = blockif_open_fd(bc, &o, err, errlen);
	if (error == 0)
		error = blockif_stat(bc, &o, err, errlen);
	if (error == 0)
		error = blockif_start(bc, err, errlen);
	if (error) {
		blockif_free(bc);
		return error;
	}
	*bcp = bc;
	return 0;
}

void
blockif_close(struct blockif_ctxt *bc)
{
	if (bc != NULL)
		blockif_free(bc);
}

void
blockif_set_sysops(struct blockif_ctxt *bc, const struct blockif_sysops *ops,
    void *arg)
{
	pthread_mutex_lock(&bc->bc_mtx);
	bc->bc_ops = ops;
	bc->bc_ops_arg = arg;
	pthread_mutex_unlock(&bc->bc_mtx);
}

uint64_t
blockif_size(struct blockif_ctxt *bc)
{
	return bc->bc_size;
}

uint32_t
blockif_sectsz(struct blockif_ctxt *bc)
{
	return bc->bc_sectsz;
}

uint32_t
blockif_psectsz(struct blockif_ctxt *bc)
{
	return bc->bc_psectsz;
}

bool
blockif_is_ro(struct blockif_ctxt *bc)
{
	return bc->bc_ro;
}

bool
blockif_candelete(struct blockif_ctxt *bc)
{
	return bc->bc_candelete;
}

bool
blockif_is_sync(struct blockif_ctxt *bc)
{
	return bc->bc_sync;
}

bool
blockif_is_blockdev(struct blockif_ctxt *bc)
{
	return bc->bc_isblk;
}

const char *
blockif_path(struct blockif_ctxt *bc)
{
	return bc->bc_path;
}
