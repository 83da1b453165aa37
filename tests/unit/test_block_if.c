/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The block backend against temporary image files (and a loop device
 * when the host lets us make one): opening and its errors, geometry and
 * sector sizes, reads and writes landing at the right offsets, requests
 * past the end, several in flight, flush ordering (through the system
 * call hooks: a flush runs only after the writes before it, and reports
 * only after its fdatasync), FUA, discard punching holes, write-zeroes
 * (and its fallback), read-only images, cancel, quiesce and close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "block_if.h"
#include "config.h"
#include "test.h"

#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define IMG_SIZE (1 * MiB)

/* ---- Images and backends ---- */

struct img {
	char path[64];
	struct config_node *cfg;
	struct blockif_ctxt *bc;
	char err[256];
	int error;
};

/* A file of 'size' bytes of 'fill' (0: sparse). */
static bool
img_create(struct img *im, uint64_t size, int fill)
{
	static uint8_t buf[64 * 1024];
	int fd;

	memset(im, 0, sizeof(*im));
	snprintf(im->path, sizeof(im->path), "/tmp/test-blockif-XXXXXX");
	fd = mkstemp(im->path);
	if (fd < 0)
		return false;
	memset(buf, fill, sizeof(buf));
	for (uint64_t off = 0; fill && off < size; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) !=
		    (ssize_t)sizeof(buf))
			return false;
	if (ftruncate(fd, (off_t)size) != 0)
		return false;
	close(fd);
	im->cfg = config_new();
	return im->cfg && config_set(im->cfg, "path", im->path) == 0;
}

/* Open with "key", "value", ... NULL. */
static int
img_open_kv(struct img *im, const char *const *kv)
{
	for (; kv && kv[0]; kv += 2)
		if (config_set(im->cfg, kv[0], kv[1]) != 0)
			return -999;
	im->err[0] = '\0';
	im->error = blockif_open(im->cfg, &im->bc, im->err, sizeof(im->err));
	return im->error;
}

static int
img_open(struct img *im)
{
	return img_open_kv(im, NULL);
}

static void
img_destroy(struct img *im)
{
	blockif_close(im->bc);
	im->bc = NULL;
	config_free(im->cfg);
	unlink(im->path);
}

static bool
file_read(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, buf, len, (off_t)off) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void
pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static bool
all_bytes(const uint8_t *buf, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != v)
			return false;
	return true;
}

/* ---- Requests and their completions ---- */

struct waiter {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	int done;
};

struct treq {
	struct blockif_req br;
	struct waiter *w;
	struct iovec iov[8];
	struct blockif_range r[4];
	int error;
	int calls;
	int order;	/* when the callback ran, in the log (-1 never) */
};

static struct {
	pthread_mutex_t mtx;
	char ev[64][16];
	int n;
} tlog = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static int
log_event(const char *what)
{
	int i;

	pthread_mutex_lock(&tlog.mtx);
	i = tlog.n;
	if (tlog.n < 64)
		snprintf(tlog.ev[tlog.n++], sizeof(tlog.ev[0]), "%s", what);
	pthread_mutex_unlock(&tlog.mtx);
	return i;
}

/* Index of the first event named 'what', -1 if none. */
static int
log_find(const char *what)
{
	for (int i = 0; i < tlog.n; i++)
		if (strcmp(tlog.ev[i], what) == 0)
			return i;
	return -1;
}

static void
log_reset(void)
{
	pthread_mutex_lock(&tlog.mtx);
	tlog.n = 0;
	pthread_mutex_unlock(&tlog.mtx);
}

static void
waiter_init(struct waiter *w)
{
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->done = 0;
}

static void
treq_cb(struct blockif_req *br, int error)
{
	struct treq *t = br->br_param;

	t->order = log_event(br->br_op == BLOCKIF_OP_FLUSH ? "cb-flush" :
	    br->br_op == BLOCKIF_OP_WRITE ? "cb-write" : "cb-other");
	pthread_mutex_lock(&t->w->mtx);
	t->error = error;
	t->calls++;
	t->w->done++;
	pthread_cond_broadcast(&t->w->cv);
	pthread_mutex_unlock(&t->w->mtx);
}

/* Wait for 'n' completions in all (no timeout: a hang is a failure). */
static void
waiter_wait(struct waiter *w, int n)
{
	pthread_mutex_lock(&w->mtx);
	while (w->done < n)
		pthread_cond_wait(&w->cv, &w->mtx);
	pthread_mutex_unlock(&w->mtx);
}

static void
treq_init(struct treq *t, struct waiter *w)
{
	memset(t, 0, sizeof(*t));
	t->w = w;
	t->order = -1;
	t->br.br_callback = treq_cb;
	t->br.br_param = t;
}

static void
treq_rw(struct treq *t, struct waiter *w, void *buf, size_t len,
    uint64_t off)
{
	treq_init(t, w);
	t->iov[0] = (struct iovec){ .iov_base = buf, .iov_len = len };
	t->br.br_iov = t->iov;
	t->br.br_iovcnt = 1;
	t->br.br_offset = off;
}

/* Submit one request and wait for it; its error. */
static int
run1(struct blockif_ctxt *bc, struct treq *t,
    int (*fn)(struct blockif_ctxt *, struct blockif_req *))
{
	int before = t->w->done;

	if (fn(bc, &t->br) != 0)
		return -12345;
	waiter_wait(t->w, before + 1);
	return t->error;
}

static int
rw1(struct blockif_ctxt *bc, bool write, void *buf, size_t len,
    uint64_t off)
{
	struct waiter w;
	struct treq t;

	waiter_init(&w);
	treq_rw(&t, &w, buf, len, off);
	return run1(bc, &t, write ? blockif_write : blockif_read);
}

static int
ranges1(struct blockif_ctxt *bc, bool zero, uint64_t off, uint64_t len,
    uint32_t flags)
{
	struct waiter w;
	struct treq t;

	waiter_init(&w);
	treq_init(&t, &w);
	t.r[0] = (struct blockif_range){ .off = off, .len = len };
	t.br.br_ranges = t.r;
	t.br.br_nranges = 1;
	t.br.br_flags = flags;
	return run1(bc, &t, zero ? blockif_zero : blockif_delete);
}

/* ---- System call hooks ---- */

struct hooks {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	bool gate_writes;	/* pwritev waits until the gate opens */
	bool open;
	int writes_in, writes_out;
	int inflight, max_inflight, want_inflight;
	int syncs, fallocs;
	int sync_error;		/* errno fdatasync fails with, 0: none */
	int falloc_error;
};

static struct hooks hk;

static void
hooks_reset(void)
{
	pthread_mutex_destroy(&hk.mtx);
	pthread_cond_destroy(&hk.cv);
	memset(&hk, 0, sizeof(hk));
	pthread_mutex_init(&hk.mtx, NULL);
	pthread_cond_init(&hk.cv, NULL);
	log_reset();
}

static void
hooks_open_gate(void)
{
	pthread_mutex_lock(&hk.mtx);
	hk.open = true;
	pthread_cond_broadcast(&hk.cv);
	pthread_mutex_unlock(&hk.mtx);
}

/* Wait until 'n' writes are inside the hook (bounded: 10 s). */
static bool
hooks_wait_writes_in(int n)
{
	struct timespec ts;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&hk.mtx);
	while (hk.writes_in < n && ok)
		ok = pthread_cond_timedwait(&hk.cv, &hk.mtx, &ts) == 0;
	ok = hk.writes_in >= n;
	pthread_mutex_unlock(&hk.mtx);
	return ok;
}

static ssize_t
hook_pwritev(void *arg, int fd, const struct iovec *iov, int cnt,
    off_t off)
{
	struct timespec ts;
	ssize_t n;

	log_event("write-begin");
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&hk.mtx);
	hk.writes_in++;
	hk.inflight++;
	if (hk.inflight > hk.max_inflight)
		hk.max_inflight = hk.inflight;
	pthread_cond_broadcast(&hk.cv);
	/* Hold until the gate opens, or until enough writes are in. */
	while ((hk.gate_writes && !hk.open) ||
	    (hk.want_inflight && hk.max_inflight < hk.want_inflight))
		if (pthread_cond_timedwait(&hk.cv, &hk.mtx, &ts) != 0)
			break;
	pthread_mutex_unlock(&hk.mtx);
	n = pwritev(fd, iov, cnt, off);
	pthread_mutex_lock(&hk.mtx);
	hk.inflight--;
	hk.writes_out++;
	pthread_mutex_unlock(&hk.mtx);
	log_event("write-end");
	return n;
}

static int
hook_fdatasync(void *arg, int fd)
{
	log_event("sync");
	pthread_mutex_lock(&hk.mtx);
	hk.syncs++;
	pthread_mutex_unlock(&hk.mtx);
	if (hk.sync_error) {
		errno = hk.sync_error;
		return -1;
	}
	return fdatasync(fd);
}

static int
hook_fallocate(void *arg, int fd, int mode, off_t off, off_t len)
{
	pthread_mutex_lock(&hk.mtx);
	hk.fallocs++;
	pthread_mutex_unlock(&hk.mtx);
	if (hk.falloc_error) {
		errno = hk.falloc_error;
		return -1;
	}
	return fallocate(fd, mode, off, len);
}

static const struct blockif_sysops test_ops = {
	.bs_pwritev = hook_pwritev,
	.bs_fdatasync = hook_fdatasync,
	.bs_fallocate = hook_fallocate,
};

/* ---- Opening ---- */

TEST(file_geometry_and_defaults)
{
	struct img im;
	struct stat st;

	REQUIRE(img_create(&im, IMG_SIZE + 100, 0));
	REQUIRE(img_open(&im) == 0);
	REQUIRE(stat(im.path, &st) == 0);
	CHECK_EQ(blockif_size(im.bc), IMG_SIZE + 100);
	CHECK_EQ(blockif_sectsz(im.bc), 512);
	/* The file system's block as the physical sector (4 KiB here). */
	CHECK_EQ(blockif_psectsz(im.bc), (uint32_t)st.st_blksize);
	CHECK(!blockif_is_ro(im.bc));
	CHECK(!blockif_is_sync(im.bc));
	CHECK(!blockif_is_blockdev(im.bc));
	CHECK(blockif_candelete(im.bc));
	CHECK_STR(blockif_path(im.bc), im.path);
	img_destroy(&im);
}

TEST(options_change_properties)
{
	static const char *const kv[] = { "sync", "true", "nodelete", "on",
		"sectorsize", "4096", NULL };
	static const char *const kv2[] = { "direct", "yes", "sectorsize",
		"512/8192", "ro", "1", NULL };
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open_kv(&im, kv) == 0);
	CHECK(blockif_is_sync(im.bc));
	CHECK(!blockif_candelete(im.bc));
	CHECK_EQ(blockif_sectsz(im.bc), 4096);
	CHECK_EQ(blockif_psectsz(im.bc), 4096);
	blockif_close(im.bc);
	im.bc = NULL;
	REQUIRE(img_open_kv(&im, kv2) == 0);
	/* direct is sync's alias; ro has nothing to make durable. */
	CHECK(!blockif_is_sync(im.bc));
	CHECK(blockif_is_ro(im.bc));
	CHECK(!blockif_candelete(im.bc));
	CHECK_EQ(blockif_sectsz(im.bc), 512);
	CHECK_EQ(blockif_psectsz(im.bc), 8192);
	img_destroy(&im);
}

struct bad_case {
	const char *key, *val;
	const char *want;	/* in the message */
};

#define BAD(k, v, w) { .key = k, .val = v, .want = w }

TEST(bad_options_name_the_culprit)
{
	static const struct bad_case cases[] = {
		BAD("sectorsize", "1000", "sectorsize '1000'"),
		BAD("sectorsize", "256", "sectorsize '256'"),
		BAD("sectorsize", "4096/512", "logical size is above"),
		BAD("sectorsize", "abc", "sectorsize 'abc'"),
		BAD("sectorsize", "512/", "sectorsize '512/'"),
		BAD("sectorsize", "131072", "powers of 2"),
		BAD("sectorsize", "-512", "sectorsize '-512'"),
		BAD("ro", "maybe", "ro 'maybe'"),
		BAD("nocache", "2", "nocache '2'"),
		BAD("sync", "x", "sync 'x'"),
		BAD("nodelete", "", "nodelete ''"),
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kv[] = { cases[i].key, cases[i].val, NULL };
		struct img im;

		REQUIRE(img_create(&im, IMG_SIZE, 0));
		CHECK_EQ(img_open_kv(&im, kv), -EINVAL);
		CHECK(im.bc == NULL);
		if (strstr(im.err, cases[i].want) == NULL) {
			fprintf(stderr, "  '%s=%s': \"%s\"\n", cases[i].key,
			    cases[i].val, im.err);
			CHECK(false);
		}
		CHECK(strchr(im.err, '\n') == NULL);
		img_destroy(&im);
	}
}

static int
open_path(const char *path, char *err, size_t errlen)
{
	struct config_node *cfg = config_new();
	struct blockif_ctxt *bc = NULL;
	int error;

	if (cfg == NULL || (path && config_set(cfg, "path", path) != 0))
		return -999;
	error = blockif_open(cfg, &bc, err, errlen);
	blockif_close(bc);
	config_free(cfg);
	return error;
}

TEST(bad_images_name_the_culprit)
{
	char err[256], dir[] = "/tmp/test-blockif-dir-XXXXXX";

	CHECK_EQ(open_path(NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "path is empty") != NULL);
	CHECK_EQ(open_path("", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "path is empty") != NULL);
	CHECK_EQ(open_path("/nonexistent/disk.img", err, sizeof(err)),
	    -ENOENT);
	CHECK(strstr(err, "'/nonexistent/disk.img'") != NULL);
	CHECK(strstr(err, "No such file") != NULL);
	REQUIRE(mkdtemp(dir) != NULL);
	CHECK_EQ(open_path(dir, err, sizeof(err)), -EISDIR);
	CHECK(strstr(err, dir) && strstr(err, "is a directory"));
	rmdir(dir);
	CHECK_EQ(open_path("/dev/null", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "'/dev/null' is neither a file nor a block device"));
}

/*
 * A read-only image without ro.  Root ignores file modes, so the child
 * that tries drops to nobody first; it reports through its exit status:
 * 0 all good, else the first check that failed.
 */
static int
ro_child(const char *path)
{
	struct config_node *cfg = config_new();
	struct blockif_ctxt *bc = NULL;
	char err[256];
	int error;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 10;
	if (cfg == NULL || config_set(cfg, "path", path) != 0)
		return 11;
	error = blockif_open(cfg, &bc, err, sizeof(err));
	if (error != -EACCES)
		return 12;
	if (strstr(err, path) == NULL || strstr(err, "read-only") == NULL ||
	    strstr(err, "add ro") == NULL)
		return 13;
	if (config_set(cfg, "ro", "true") != 0 ||
	    blockif_open(cfg, &bc, err, sizeof(err)) != 0)
		return 14;
	if (!blockif_is_ro(bc))
		return 15;
	blockif_close(bc);
	config_free(cfg);
	return 0;
}

TEST(read_only_image_needs_ro)
{
	struct img im;
	pid_t pid;
	int status = -1;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(chmod(im.path, 0444) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(ro_child(im.path));
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	img_destroy(&im);
}

/* ---- Reads and writes ---- */

TEST(write_then_read_at_offsets)
{
	static uint8_t a[4096], b[4096], back[4096], file[4096];
	struct waiter w;
	struct treq t;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0x11));
	REQUIRE(img_open(&im) == 0);
	pattern(a, sizeof(a), 1);
	/* Three uneven buffers, one of them empty, at 8 KiB + 512. */
	waiter_init(&w);
	treq_init(&t, &w);
	t.iov[0] = (struct iovec){ .iov_base = a, .iov_len = 1000 };
	t.iov[1] = (struct iovec){ .iov_base = a + 1000, .iov_len = 0 };
	t.iov[2] = (struct iovec){ .iov_base = a + 1000, .iov_len = 3096 };
	t.br.br_iov = t.iov;
	t.br.br_iovcnt = 3;
	t.br.br_offset = 8192 + 512;
	CHECK_EQ(run1(im.bc, &t, blockif_write), 0);
	REQUIRE(file_read(im.path, 8192 + 512, file, sizeof(file)));
	CHECK(memcmp(file, a, sizeof(a)) == 0);
	/* Neighbours untouched. */
	REQUIRE(file_read(im.path, 8192, file, 512));
	CHECK(all_bytes(file, 512, 0x11));
	REQUIRE(file_read(im.path, 8192 + 512 + 4096, file, 512));
	CHECK(all_bytes(file, 512, 0x11));
	/* Read back split differently. */
	treq_init(&t, &w);
	t.iov[0] = (struct iovec){ .iov_base = back, .iov_len = 512 };
	t.iov[1] = (struct iovec){ .iov_base = back + 512, .iov_len = 3584 };
	t.br.br_iov = t.iov;
	t.br.br_iovcnt = 2;
	t.br.br_offset = 8192 + 512;
	CHECK_EQ(run1(im.bc, &t, blockif_read), 0);
	CHECK(memcmp(back, a, sizeof(a)) == 0);
	/* The very last sector. */
	pattern(b, 512, 2);
	CHECK_EQ(rw1(im.bc, true, b, 512, IMG_SIZE - 512), 0);
	REQUIRE(file_read(im.path, IMG_SIZE - 512, file, 512));
	CHECK(memcmp(file, b, 512) == 0);
	img_destroy(&im);
}

TEST(requests_past_the_end_fail)
{
	static uint8_t buf[2048];
	struct stat st;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0x22));
	REQUIRE(img_open(&im) == 0);
	memset(buf, 0x77, sizeof(buf));
	CHECK_EQ(rw1(im.bc, false, buf, 1024, IMG_SIZE - 512), -EINVAL);
	CHECK(all_bytes(buf, sizeof(buf), 0x77));
	CHECK_EQ(rw1(im.bc, false, buf, 512, IMG_SIZE), -EINVAL);
	CHECK_EQ(rw1(im.bc, false, buf, 512, UINT64_MAX - 100), -EINVAL);
	CHECK(all_bytes(buf, sizeof(buf), 0x77));
	CHECK_EQ(rw1(im.bc, true, buf, 1024, IMG_SIZE - 512), -EINVAL);
	CHECK_EQ(rw1(im.bc, true, buf, 512, 1ULL << 62), -EINVAL);
	CHECK_EQ(ranges1(im.bc, true, IMG_SIZE - 512, 1024, 0), -EINVAL);
	CHECK_EQ(ranges1(im.bc, false, UINT64_MAX - 511, 512, 0), -EINVAL);
	/* Nothing grew the file or wrote into it. */
	REQUIRE(stat(im.path, &st) == 0);
	CHECK_EQ(st.st_size, IMG_SIZE);
	REQUIRE(file_read(im.path, IMG_SIZE - 512, buf, 512));
	CHECK(all_bytes(buf, 512, 0x22));
	/* Exactly up to the end is fine; an empty read at the end too. */
	CHECK_EQ(rw1(im.bc, false, buf, 512, IMG_SIZE - 512), 0);
	CHECK_EQ(rw1(im.bc, false, buf, 0, IMG_SIZE), 0);
	img_destroy(&im);
}

TEST(read_only_refuses_writes)
{
	static const char *const kv[] = { "ro", "true", NULL };
	static uint8_t buf[512];
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0x33));
	REQUIRE(img_open_kv(&im, kv) == 0);
	memset(buf, 0x44, sizeof(buf));
	CHECK_EQ(rw1(im.bc, true, buf, 512, 0), -EROFS);
	CHECK_EQ(ranges1(im.bc, true, 0, 512, 0), -EROFS);
	CHECK_EQ(ranges1(im.bc, false, 0, 512, 0), -EROFS);
	REQUIRE(file_read(im.path, 0, buf, 512));
	CHECK(all_bytes(buf, 512, 0x33));
	CHECK_EQ(rw1(im.bc, false, buf, 512, 512), 0);
	CHECK(all_bytes(buf, 512, 0x33));
	img_destroy(&im);
}

/* Many writes at once, to different places: all land, several ran together. */
TEST(several_requests_in_flight)
{
	enum { N = 32, LEN = 4096 };
	static uint8_t bufs[N][LEN], file[LEN];
	static struct treq t[N];
	struct waiter w;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open(&im) == 0);
	hooks_reset();
	hk.want_inflight = 4;
	blockif_set_sysops(im.bc, &test_ops, NULL);
	waiter_init(&w);
	for (int i = 0; i < N; i++) {
		pattern(bufs[i], LEN, (unsigned)i + 10);
		treq_rw(&t[i], &w, bufs[i], LEN, (uint64_t)(N - i) * 2 * LEN);
		REQUIRE(blockif_write(im.bc, &t[i].br) == 0);
	}
	waiter_wait(&w, N);
	CHECK(hk.max_inflight >= 4);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(t[i].error, 0);
		CHECK_EQ(t[i].calls, 1);
		REQUIRE(file_read(im.path, (uint64_t)(N - i) * 2 * LEN, file,
		    LEN));
		CHECK(memcmp(file, bufs[i], LEN) == 0);
	}
	img_destroy(&im);
}

/* ---- Flush ---- */

/*
 * A flush submitted after a write that has not finished does not start
 * (not even when a later read completes meanwhile); once the write ends,
 * the flush's fdatasync runs, and only then does the flush complete.
 */
TEST(flush_waits_for_earlier_writes_and_its_sync)
{
	static uint8_t wbuf[4096], rbuf[4096];
	struct treq tw, tf, tr;
	struct waiter w;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open(&im) == 0);
	hooks_reset();
	hk.gate_writes = true;
	blockif_set_sysops(im.bc, &test_ops, NULL);
	waiter_init(&w);
	pattern(wbuf, sizeof(wbuf), 5);
	treq_rw(&tw, &w, wbuf, sizeof(wbuf), 0);
	treq_init(&tf, &w);
	treq_rw(&tr, &w, rbuf, sizeof(rbuf), 65536);
	REQUIRE(blockif_write(im.bc, &tw.br) == 0);
	REQUIRE(hooks_wait_writes_in(1));
	REQUIRE(blockif_flush(im.bc, &tf.br) == 0);
	REQUIRE(blockif_read(im.bc, &tr.br) == 0);
	waiter_wait(&w, 1);		/* the read, past the waiting flush */
	CHECK_EQ(tr.calls, 1);
	CHECK_EQ(tf.calls, 0);
	CHECK_EQ(hk.syncs, 0);
	CHECK_EQ(tw.calls, 0);
	hooks_open_gate();
	waiter_wait(&w, 3);
	CHECK_EQ(tf.error, 0);
	CHECK_EQ(hk.syncs, 1);
	CHECK(log_find("write-end") >= 0);
	CHECK(log_find("write-end") < log_find("sync"));
	CHECK(log_find("sync") < tf.order);
	img_destroy(&im);
}

TEST(flush_failure_is_reported)
{
	struct waiter w;
	struct treq tf;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open(&im) == 0);
	hooks_reset();
	hk.sync_error = EIO;
	blockif_set_sysops(im.bc, &test_ops, NULL);
	waiter_init(&w);
	treq_init(&tf, &w);
	CHECK_EQ(run1(im.bc, &tf, blockif_flush), -EIO);
	CHECK_EQ(hk.syncs, 1);
	img_destroy(&im);
}

/* FUA: the write's own fdatasync, before its completion. */
TEST(fua_write_is_synced_before_completion)
{
	static uint8_t buf[512];
	struct waiter w;
	struct treq t;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open(&im) == 0);
	hooks_reset();
	blockif_set_sysops(im.bc, &test_ops, NULL);
	waiter_init(&w);
	treq_rw(&t, &w, buf, sizeof(buf), 0);
	CHECK_EQ(run1(im.bc, &t, blockif_write), 0);
	CHECK_EQ(hk.syncs, 0);
	treq_rw(&t, &w, buf, sizeof(buf), 512);
	t.br.br_flags = BLOCKIF_F_FUA;
	CHECK_EQ(run1(im.bc, &t, blockif_write), 0);
	CHECK_EQ(hk.syncs, 1);
	CHECK(log_find("sync") >= 0 && log_find("sync") < t.order);
	/* A failing sync fails the write. */
	hk.sync_error = EIO;
	treq_rw(&t, &w, buf, sizeof(buf), 1024);
	t.br.br_flags = BLOCKIF_F_FUA;
	CHECK_EQ(run1(im.bc, &t, blockif_write), -EIO);
	img_destroy(&im);
}

/* With sync the file is O_SYNC: FUA needs no fdatasync of its own. */
TEST(sync_backend_needs_no_extra_sync)
{
	static const char *const kv[] = { "sync", "true", NULL };
	static uint8_t buf[512];
	struct waiter w;
	struct treq t;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open_kv(&im, kv) == 0);
	hooks_reset();
	blockif_set_sysops(im.bc, &test_ops, NULL);
	waiter_init(&w);
	treq_rw(&t, &w, buf, sizeof(buf), 0);
	t.br.br_flags = BLOCKIF_F_FUA;
	CHECK_EQ(run1(im.bc, &t, blockif_write), 0);
	CHECK_EQ(hk.syncs, 0);
	CHECK_EQ(hk.writes_out, 1);
	img_destroy(&im);
}

/* ---- Discard and write-zeroes ---- */

static uint64_t
allocated_blocks(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks : 0;
}

TEST(discard_punches_a_hole)
{
	static uint8_t buf[128 * 1024];
	struct img im;
	uint64_t before;
	int fd;

	REQUIRE(img_create(&im, IMG_SIZE, 0xaa));
	REQUIRE(img_open(&im) == 0);
	before = allocated_blocks(im.path);
	CHECK_EQ(ranges1(im.bc, false, 64 * KiB, 128 * KiB, 0), 0);
	CHECK(allocated_blocks(im.path) < before);
	fd = open(im.path, O_RDONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 64 * KiB);
	CHECK_EQ(lseek(fd, 64 * KiB, SEEK_DATA), 192 * KiB);
	close(fd);
	REQUIRE(file_read(im.path, 64 * KiB - 512, buf, 512));
	CHECK(all_bytes(buf, 512, 0xaa));
	REQUIRE(file_read(im.path, 192 * KiB, buf, 512));
	CHECK(all_bytes(buf, 512, 0xaa));
	/* The size stays. */
	CHECK_EQ(blockif_size(im.bc), IMG_SIZE);
	img_destroy(&im);
}

TEST(discard_refused_with_nodelete)
{
	static const char *const kv[] = { "nodelete", "true", NULL };
	struct img im;
	uint64_t before;

	REQUIRE(img_create(&im, IMG_SIZE, 0xaa));
	REQUIRE(img_open_kv(&im, kv) == 0);
	before = allocated_blocks(im.path);
	CHECK_EQ(ranges1(im.bc, false, 0, 64 * KiB, 0), -EOPNOTSUPP);
	CHECK_EQ(allocated_blocks(im.path), before);
	img_destroy(&im);
}

/* Zeroes read back, with or without unmap, and nothing else changes. */
TEST(write_zeroes_reads_back_zeroes)
{
	static uint8_t buf[64 * 1024];
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0xaa));
	REQUIRE(img_open(&im) == 0);
	CHECK_EQ(ranges1(im.bc, true, 4096, 8192, 0), 0);
	REQUIRE(file_read(im.path, 4096, buf, 8192));
	CHECK(all_bytes(buf, 8192, 0));
	CHECK_EQ(ranges1(im.bc, true, 256 * KiB, 64 * KiB, BLOCKIF_F_UNMAP),
	    0);
	REQUIRE(file_read(im.path, 256 * KiB, buf, 64 * KiB));
	CHECK(all_bytes(buf, 64 * KiB, 0));
	REQUIRE(file_read(im.path, 0, buf, 4096));
	CHECK(all_bytes(buf, 4096, 0xaa));
	REQUIRE(file_read(im.path, 12288, buf, 4096));
	CHECK(all_bytes(buf, 4096, 0xaa));
	REQUIRE(file_read(im.path, 320 * KiB, buf, 512));
	CHECK(all_bytes(buf, 512, 0xaa));
	img_destroy(&im);
}

/* A file system without fallocate modes: zeroes are written instead. */
TEST(write_zeroes_falls_back_to_writing)
{
	static uint8_t buf[200 * 1024];
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0xaa));
	REQUIRE(img_open(&im) == 0);
	hooks_reset();
	hk.falloc_error = EOPNOTSUPP;
	blockif_set_sysops(im.bc, &test_ops, NULL);
	CHECK_EQ(ranges1(im.bc, true, 512, 150 * KiB, BLOCKIF_F_FUA), 0);
	CHECK_EQ(hk.fallocs, 1);
	CHECK(hk.writes_out >= 3);	/* 150 KiB in 64 KiB writes */
	CHECK_EQ(hk.syncs, 1);		/* FUA */
	REQUIRE(file_read(im.path, 0, buf, sizeof(buf)));
	CHECK(all_bytes(buf, 512, 0xaa));
	CHECK(all_bytes(buf + 512, 150 * KiB, 0));
	CHECK(all_bytes(buf + 512 + 150 * KiB, sizeof(buf) - 512 - 150 * KiB,
	    0xaa));
	/* A discard that cannot punch has still succeeded. */
	CHECK_EQ(ranges1(im.bc, false, 0, 4096, 0), 0);
	/* Other errors are errors. */
	hk.falloc_error = EIO;
	CHECK_EQ(ranges1(im.bc, true, 0, 4096, 0), -EIO);
	img_destroy(&im);
}

/* ---- O_DIRECT ---- */

/* Unaligned guest buffers go through a bounce buffer. */
TEST(nocache_with_unaligned_buffers)
{
	static const char *const kv[] = { "nocache", "true", NULL };
	static uint8_t raw[8192 + 64], back[8192 + 64], file[4096];
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	if (img_open_kv(&im, kv) == -EINVAL &&
	    strstr(im.err, "O_DIRECT") != NULL) {
		printf("  (no O_DIRECT on /tmp: skipped)\n");
		img_destroy(&im);
		return;
	}
	REQUIRE(im.error == 0);
	pattern(raw + 3, 4096, 9);
	CHECK_EQ(rw1(im.bc, true, raw + 3, 4096, 8192), 0);
	REQUIRE(file_read(im.path, 8192, file, sizeof(file)));
	CHECK(memcmp(file, raw + 3, 4096) == 0);
	CHECK_EQ(rw1(im.bc, false, back + 5, 4096, 8192), 0);
	CHECK(memcmp(back + 5, raw + 3, 4096) == 0);
	img_destroy(&im);
}

/* ---- Cancel, quiesce, close ---- */

TEST(cancel_queued_and_running_requests)
{
	enum { N = 8 + 2 };	/* every worker busy, two left queued */
	static uint8_t bufs[N][512];
	static struct treq t[N];
	struct waiter w;
	struct img im;
	int r;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open(&im) == 0);
	hooks_reset();
	hk.gate_writes = true;
	blockif_set_sysops(im.bc, &test_ops, NULL);
	waiter_init(&w);
	for (int i = 0; i < N; i++) {
		treq_rw(&t[i], &w, bufs[i], 512, (uint64_t)i * 512);
		REQUIRE(blockif_write(im.bc, &t[i].br) == 0);
	}
	REQUIRE(hooks_wait_writes_in(8));
	/* Queued: dropped, never called back. */
	CHECK_EQ(blockif_cancel(im.bc, &t[N - 1].br), 0);
	CHECK_EQ(blockif_cancel(im.bc, &t[N - 1].br), -ENOENT);
	/* Running: waited for. */
	hooks_open_gate();
	r = blockif_cancel(im.bc, &t[0].br);
	CHECK(r == -EBUSY || r == -ENOENT);
	blockif_quiesce(im.bc);
	CHECK_EQ(w.done, N - 1);
	CHECK_EQ(t[N - 1].calls, 0);
	CHECK_EQ(t[0].calls, 1);
	CHECK_EQ(t[N - 2].calls, 1);
	CHECK_EQ(hk.writes_out, N - 1);
	img_destroy(&im);
}

/* Close runs what is queued and waits for every callback. */
TEST(close_drains)
{
	enum { N = 24 };
	static uint8_t bufs[N][512], file[512];
	static struct treq t[N];
	struct waiter w;
	struct img im;

	REQUIRE(img_create(&im, IMG_SIZE, 0));
	REQUIRE(img_open(&im) == 0);
	waiter_init(&w);
	for (int i = 0; i < N; i++) {
		memset(bufs[i], i + 1, 512);
		treq_rw(&t[i], &w, bufs[i], 512, (uint64_t)i * 4096);
		REQUIRE(blockif_write(im.bc, &t[i].br) == 0);
	}
	blockif_close(im.bc);
	im.bc = NULL;
	CHECK_EQ(w.done, N);
	for (int i = 0; i < N; i++) {
		REQUIRE(file_read(im.path, (uint64_t)i * 4096, file, 512));
		CHECK(all_bytes(file, 512, (uint8_t)(i + 1)));
	}
	img_destroy(&im);
}

/* ---- A block device (a loop device over a file) ---- */

/* /dev/loopN over 'path', detached when the last user closes it. */
static int
loop_attach(const char *path, char *dev, size_t devlen)
{
	struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };
	int ctl, n, lfd = -1, ffd;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	ffd = open(path, O_RDWR | O_CLOEXEC);
	if (n < 0 || ffd < 0)
		goto fail;
	snprintf(dev, devlen, "/dev/loop%d", n);
	lfd = open(dev, O_RDWR | O_CLOEXEC);
	if (lfd < 0 || ioctl(lfd, LOOP_SET_FD, ffd) != 0)
		goto fail;
	if (ioctl(lfd, LOOP_SET_STATUS64, &info) != 0) {
		(void)ioctl(lfd, LOOP_CLR_FD, 0);
		goto fail;
	}
	close(ffd);
	return lfd;
fail:
	if (ffd >= 0)
		close(ffd);
	if (lfd >= 0)
		close(lfd);
	return -1;
}

TEST(block_device_geometry_and_io)
{
	static const char *const kv[] = { "sectorsize", "4096", NULL };
	static const char *const bad[] = { "sectorsize", "256", NULL };
	static uint8_t buf[4096], file[4096];
	char dev[32];
	struct img im;
	int lfd;

	REQUIRE(img_create(&im, 4 * MiB, 0x5a));
	lfd = loop_attach(im.path, dev, sizeof(dev));
	if (lfd < 0) {
		printf("  (no loop device: skipped)\n");
		img_destroy(&im);
		return;
	}
	REQUIRE(config_set(im.cfg, "path", dev) == 0);
	REQUIRE(img_open(&im) == 0);
	CHECK(blockif_is_blockdev(im.bc));
	CHECK_EQ(blockif_size(im.bc), 4 * MiB);
	CHECK_EQ(blockif_sectsz(im.bc), 512);
	pattern(buf, sizeof(buf), 3);
	CHECK_EQ(rw1(im.bc, true, buf, sizeof(buf), 12288), 0);
	CHECK_EQ(rw1(im.bc, false, file, sizeof(file), 12288), 0);
	CHECK(memcmp(buf, file, sizeof(buf)) == 0);
	CHECK_EQ(ranges1(im.bc, true, 0, 4096, BLOCKIF_F_FUA), 0);
	CHECK_EQ(rw1(im.bc, false, file, sizeof(file), 0), 0);
	CHECK(all_bytes(file, sizeof(file), 0));
	CHECK_EQ(rw1(im.bc, true, buf, 4096, 4 * MiB - 2048), -EINVAL);
	blockif_close(im.bc);
	im.bc = NULL;
	CHECK_EQ(img_open_kv(&im, kv), 0);
	CHECK_EQ(blockif_sectsz(im.bc), 4096);
	blockif_close(im.bc);
	im.bc = NULL;
	CHECK_EQ(img_open_kv(&im, bad), -EINVAL);
	close(lfd);
	REQUIRE(config_set(im.cfg, "path", im.path) == 0);
	img_destroy(&im);
}

TEST_MAIN(
	TEST_ENTRY(file_geometry_and_defaults)
	TEST_ENTRY(options_change_properties)
	TEST_ENTRY(bad_options_name_the_culprit)
	TEST_ENTRY(bad_images_name_the_culprit)
	TEST_ENTRY(read_only_image_needs_ro)
	TEST_ENTRY(write_then_read_at_offsets)
	TEST_ENTRY(requests_past_the_end_fail)
	TEST_ENTRY(read_only_refuses_writes)
	TEST_ENTRY(several_requests_in_flight)
	TEST_ENTRY(flush_waits_for_earlier_writes_and_its_sync)
	TEST_ENTRY(flush_failure_is_reported)
	TEST_ENTRY(fua_write_is_synced_before_completion)
	TEST_ENTRY(sync_backend_needs_no_extra_sync)
	TEST_ENTRY(discard_punches_a_hole)
	TEST_ENTRY(discard_refused_with_nodelete)
	TEST_ENTRY(write_zeroes_reads_back_zeroes)
	TEST_ENTRY(write_zeroes_falls_back_to_writing)
	TEST_ENTRY(nocache_with_unaligned_buffers)
	TEST_ENTRY(cancel_queued_and_running_requests)
	TEST_ENTRY(close_drains)
	TEST_ENTRY(block_device_geometry_and_io)
)
