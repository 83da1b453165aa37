/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-blk through the PCI transport in a fake VM (null backend, 64 MiB
 * of RAM), driven as a guest driver drives it: config space through ECAM,
 * the modern registers, a queue of 128 in guest RAM, requests built as
 * descriptor chains, completions waited for on the used ring (they come
 * from the backend's worker threads).  The image is a temporary file;
 * what a request wrote is checked in the file itself.  The backend's
 * system calls are hooked where a test must see them (fdatasync, writes
 * held at a gate to keep requests in flight).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bhyverun.h"
#include "block_if.h"
#include "config.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "test.h"
#include "virtio.h"
#include "vmmapi.h"

extern const struct pci_devemu pci_de_virtio_blk;

#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define RAM_SIZE (64 * MiB)
#define IMG_SIZE (1 * MiB)
#define CAP (IMG_SIZE / 512)
#define SLOT 4
#define QSZ 128
#define MSI_DATA_BASE 0x40

/* Common config (4.1.4.3). */
#define C_DFSEL 0x00
#define C_DF 0x04
#define C_GFSEL 0x08
#define C_GF 0x0c
#define C_CFGVEC 0x10
#define C_STATUS 0x14
#define C_QSEL 0x16
#define C_QSIZE 0x18
#define C_QVEC 0x1a
#define C_QENABLE 0x1c
#define C_QDESC 0x20
#define C_QDRIVER 0x28
#define C_QDEVICE 0x30

#define S_DRIVEROK 0x0f

/* virtio-blk (5.2). */
#define F_SIZE_MAX (1ULL << 1)
#define F_SEG_MAX (1ULL << 2)
#define F_RO (1ULL << 5)
#define F_BLK_SIZE (1ULL << 6)
#define F_FLUSH (1ULL << 9)
#define F_TOPOLOGY (1ULL << 10)
#define F_CONFIG_WCE (1ULL << 11)
#define F_MQ (1ULL << 12)
#define F_DISCARD (1ULL << 13)
#define F_WRITE_ZEROES (1ULL << 14)
#define F_BLK_ALL (F_SIZE_MAX | F_SEG_MAX | F_BLK_SIZE | F_FLUSH | \
	F_TOPOLOGY | F_CONFIG_WCE | F_DISCARD | F_WRITE_ZEROES)
#define F_ALL (VIRTIO_CORE_CAPS | F_BLK_ALL)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_GET_LIFETIME 10
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define S_UNTOUCHED 0xee

/* Device config offsets (5.2.4). */
#define D_CAPACITY 0
#define D_SIZE_MAX 8
#define D_SEG_MAX 12
#define D_BLK_SIZE 20
#define D_PHYS_EXP 24
#define D_MIN_IO 26
#define D_WRITEBACK 32
#define D_MAX_DISCARD_SECT 36
#define D_MAX_DISCARD_SEG 40
#define D_DISCARD_ALIGN 44
#define D_MAX_WZ_SECT 48
#define D_MAX_WZ_SEG 52
#define D_WZ_MAY_UNMAP 56

/* Guest memory. */
#define RINGS 0x10000ULL
#define HDRS 0x20000ULL		/* 64 bytes per request slot */
#define STATUS 0x30000ULL	/* one byte per request slot */
#define SEGS 0x40000ULL		/* discard/write-zeroes payloads */
#define DATA 0x100000ULL	/* 64 KiB per request slot */

/* ---- Interrupts ---- */

struct irqs {
	int nmsi;
};

static int
rec_msi(void *arg, uint64_t addr, uint64_t data)
{
	__atomic_fetch_add(&((struct irqs *)arg)->nmsi, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int
rec_line(void *arg, int a, int b)
{
	return 0;
}

static int
rec_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops rec_ops = {
	.isa_assert = rec_line,
	.isa_deassert = rec_line,
	.ioapic_assert = rec_pin,
	.ioapic_deassert = rec_pin,
	.msi = rec_msi,
};

/* ---- The fake VM ---- */

static const struct pci_devemu *const test_emus[] = { &pci_de_virtio_blk };

struct fx {
	struct bhyve_vm bvm;
	struct irqs irq;
	char img[64];
	int init_error;
	struct pci_devinst *pi;
	struct blockif_ctxt *bc;
	uint8_t *ram;
	uint64_t common, devcfg, notify, isr;
	uint32_t notify_mult;
	/* The driver's queue. */
	uint16_t qsize, aidx, next_desc;
	uint64_t desc, avail, used;
};






static uint64_t
bar_addr(struct fx *f, int bar)
{
	uint64_t lo = fake_cfg_rd(&f->bvm, SLOT, PCIR_BAR(bar), 4);

	if ((lo & 6) == 4)
		return (lo & ~0xfULL) | fake_cfg_rd(&f->bvm, SLOT,
		    PCIR_BAR(bar + 1), 4) << 32;
	return lo & ~0xfULL;
}

static void
find_caps(struct fx *f)
{
	int off = (int)fake_cfg_rd(&f->bvm, SLOT, PCIR_CAP_PTR, 1), steps = 0;

	while (off != 0 && steps++ < 48) {
		if (fake_cfg_rd(&f->bvm, SLOT, off, 1) == PCIY_VENDOR) {
			int type = (int)fake_cfg_rd(&f->bvm, SLOT, off + 3, 1);
			uint64_t at = bar_addr(f, (int)fake_cfg_rd(&f->bvm,
			    SLOT, off + 4, 1)) +
			    fake_cfg_rd(&f->bvm, SLOT, off + 8, 4);

			if (type == 1)
				f->common = at;
			else if (type == 2) {
				f->notify = at;
				f->notify_mult = (uint32_t)fake_cfg_rd(&f->bvm,
				    SLOT, off + 16,
				    4);
			} else if (type == 3)
				f->isr = at;
			else if (type == 4)
				f->devcfg = at;
		}
		off = (int)fake_cfg_rd(&f->bvm, SLOT, off + 1, 1);
	}
}

static bool
img_make(char *path, size_t len, uint64_t size, int fill)
{
	static uint8_t buf[64 * 1024];
	int fd;

	snprintf(path, len, "/tmp/test-vblk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	memset(buf, fill, sizeof(buf));
	for (uint64_t off = 0; off < size; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) !=
		    (ssize_t)sizeof(buf))
			return false;
	close(fd);
	return truncate(path, (off_t)size) == 0;
}

/* A VM with virtio-blk at slot 4 on a fresh image; extra keys in kv. */
static int
fx_setup(struct fx *f, const char *const *kv)
{
	struct pci_emul_opts o = { .extra = test_emus, .nextra = 1,
		.intr_ops = &rec_ops, .intr_arg = &f->irq };
	char key[64];

	memset(f, 0, sizeof(*f));
	if (fake_vm_init(&f->bvm, "t-vblk", VMM_BACKEND_NULL, RAM_SIZE,
	    NULL) != 0 || !img_make(f->img, sizeof(f->img), IMG_SIZE, 0x11) ||
	    config_set(f->bvm.cfg, "pci.0.0.0.device", "hostbridge") != 0 ||
	    config_set(f->bvm.cfg, "pci.0.4.0.device", "virtio-blk") != 0 ||
	    config_set(f->bvm.cfg, "pci.0.4.0.path", f->img) != 0)
		return -1;
	for (; kv && kv[0]; kv += 2) {
		snprintf(key, sizeof(key), "pci.0.4.0.%s", kv[0]);
		if (config_set(f->bvm.cfg, key, kv[1]) != 0)
			return -1;
	}
	f->ram = vm_map_gpa(f->bvm.ctx, 0, RAM_SIZE);
	f->init_error = pci_emul_init_opts(&f->bvm, &o);
	for (f->pi = pci_next(&f->bvm, NULL); f->pi && f->pi->pi_slot != SLOT;
	    f->pi = pci_next(&f->bvm, f->pi))
		;
	if (f->init_error == 0 && f->pi != NULL) {
		f->bc = pci_vtblk_backend(f->pi);
		find_caps(f);
	}
	return 0;
}

static void
fx_teardown(struct fx *f)
{
	fake_vm_fini(&f->bvm);
	unlink(f->img);
}

static bool
fx_ok(struct fx *f)
{
	return f->init_error == 0 && f->pi != NULL && f->bc != NULL &&
	    f->common != 0 && f->devcfg != 0 && f->ram != NULL;
}

/* ---- The driver ---- */

static uint64_t
cr(struct fx *f, uint64_t off, int size)
{
	return fake_mmio_rd(&f->bvm, f->common + off, size);
}

static void
cw(struct fx *f, uint64_t off, int size, uint64_t v)
{
	fake_mmio_wr(&f->bvm, f->common + off, size, v);
}

static uint64_t
dcfg(struct fx *f, uint64_t off, int size)
{
	return fake_mmio_rd(&f->bvm, f->devcfg + off, size);
}

static uint64_t
dev_features(struct fx *f)
{
	uint64_t lo;

	cw(f, C_DFSEL, 4, 0);
	lo = cr(f, C_DF, 4);
	cw(f, C_DFSEL, 4, 1);
	return lo | cr(f, C_DF, 4) << 32;
}

static void
msix_on(struct fx *f)
{
	uint64_t table = bar_addr(f, VI_PCI_MSIX_BAR);
	int cap = 0, off = (int)fake_cfg_rd(&f->bvm, SLOT, PCIR_CAP_PTR, 1);

	while (off != 0 && cap == 0) {
		if (fake_cfg_rd(&f->bvm, SLOT, off, 1) == PCIY_MSIX)
			cap = off;
		off = (int)fake_cfg_rd(&f->bvm, SLOT, off + 1, 1);
	}
	for (int i = 0; i < 2; i++) {
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i, 4, 0xfee00000);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 8, 4,
		    MSI_DATA_BASE + (uint64_t)i);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 12, 4, 0);
	}
	if (cap != 0)
		fake_cfg_wr(&f->bvm, SLOT, cap + 2, 2,
		    PCIM_MSIXCTRL_MSIX_ENABLE);
}

/*
 * 3.1.1 with 'features', queue 0 of 'qsize' at RINGS, DRIVER_OK: through
 * the modern BAR only, no config-space access (those take the PCI config
 * lock, which must not come after the device lock a test may hold).
 */
static bool
fx_queue(struct fx *f, uint64_t features, uint16_t qsize)
{
	cw(f, C_STATUS, 1, 0);
	cw(f, C_STATUS, 1, 1);
	cw(f, C_STATUS, 1, 3);
	cw(f, C_GFSEL, 4, 0);
	cw(f, C_GF, 4, (uint32_t)features);
	cw(f, C_GFSEL, 4, 1);
	cw(f, C_GF, 4, features >> 32);
	cw(f, C_STATUS, 1, 0xb);
	if (!(cr(f, C_STATUS, 1) & 8))
		return false;
	cw(f, C_CFGVEC, 2, 1);
	f->qsize = qsize;
	f->aidx = f->next_desc = 0;
	f->desc = RINGS;
	f->avail = RINGS + VQ_DESC_BYTES(qsize);
	f->used = (f->avail + VQ_AVAIL_BYTES(qsize) + 3) & ~3ULL;
	memset(f->ram + RINGS, 0, (size_t)(f->used + VQ_USED_BYTES(qsize) -
	    RINGS));
	cw(f, C_QSEL, 2, 0);
	cw(f, C_QSIZE, 2, qsize);
	cw(f, C_QDESC, 8, f->desc);
	cw(f, C_QDRIVER, 8, f->avail);
	cw(f, C_QDEVICE, 8, f->used);
	cw(f, C_QVEC, 2, 0);
	cw(f, C_QENABLE, 2, 1);
	cw(f, C_STATUS, 1, S_DRIVEROK);
	return cr(f, C_STATUS, 1) == S_DRIVEROK;
}

static bool
fx_ready(struct fx *f, uint64_t features, uint16_t qsize)
{
	msix_on(f);
	return fx_queue(f, features, qsize);
}

static void
g_w16(struct fx *f, uint64_t gpa, uint16_t v)
{
	memcpy(f->ram + gpa, &v, 2);
}

static void
g_w32(struct fx *f, uint64_t gpa, uint32_t v)
{
	memcpy(f->ram + gpa, &v, 4);
}

static void
g_w64(struct fx *f, uint64_t gpa, uint64_t v)
{
	memcpy(f->ram + gpa, &v, 8);
}

static uint16_t
used_idx(struct fx *f)
{
	return __atomic_load_n((uint16_t *)(f->ram + f->used + 2),
	    __ATOMIC_ACQUIRE);
}

static uint32_t
used_len(struct fx *f, uint16_t i)
{
	uint32_t v;

	memcpy(&v, f->ram + f->used + 8 + 8 * (uint64_t)(i % f->qsize), 4);
	return v;
}

static uint32_t
used_id(struct fx *f, uint16_t i)
{
	uint32_t v;

	memcpy(&v, f->ram + f->used + 4 + 8 * (uint64_t)(i % f->qsize), 4);
	return v;
}

/* One buffer of a chain. */
struct seg {
	uint64_t gpa;
	uint32_t len;
	bool wr;	/* device-writable */
};

/* Descriptors for 'n' buffers, linked; returns the head. */
static uint16_t
chain(struct fx *f, const struct seg *s, int n)
{
	uint16_t head = f->next_desc;

	for (int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % f->qsize);
		uint64_t at = f->desc + 16 * (uint64_t)d;
		uint16_t flags = (uint16_t)((s[i].wr ? VRING_DESC_F_WRITE :
		    0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0));

		g_w64(f, at, s[i].gpa);
		g_w32(f, at + 8, s[i].len);
		g_w16(f, at + 12, flags);
		g_w16(f, at + 14, (uint16_t)((d + 1) % f->qsize));
	}
	f->next_desc = (uint16_t)((head + n) % f->qsize);
	return head;
}

static void
post(struct fx *f, uint16_t head)
{
	g_w16(f, f->avail + 4 + 2 * (uint64_t)(f->aidx % f->qsize), head);
	f->aidx++;
	__atomic_store_n((uint16_t *)(f->ram + f->avail + 2), f->aidx,
	    __ATOMIC_RELEASE);
}

static void
kick(struct fx *f)
{
	fake_mmio_wr(&f->bvm, f->notify, 2, 0);
}

/* Wait (10 s at most) until the used index reaches 'n'. */
static bool
wait_used(struct fx *f, uint16_t n)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (used_idx(f) != n) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			return false;
		sched_yield();
	}
	return true;
}

static void
put_hdr(struct fx *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
	g_w32(f, gpa, type);
	g_w32(f, gpa + 4, 0);
	g_w64(f, gpa + 8, sector);
}

/* Post one chain, kick, wait; its used length (~0u if it never came). */
static uint32_t
run_chain(struct fx *f, const struct seg *s, int n)
{
	uint16_t head = chain(f, s, n), want = (uint16_t)(f->aidx + 1);

	post(f, head);
	kick(f);
	if (!wait_used(f, want))
		return ~0u;
	CHECK_EQ(used_id(f, (uint16_t)(want - 1)), head);
	return used_len(f, (uint16_t)(want - 1));
}

/* The usual three-buffer request; returns the status byte. */
static int
req3(struct fx *f, uint32_t type, uint64_t sector, uint64_t data,
    uint32_t len, bool data_wr, uint32_t *usedlen)
{
	struct seg s[3] = {
		{ .gpa = HDRS, .len = 16 },
		{ .gpa = data, .len = len, .wr = data_wr },
		{ .gpa = STATUS, .len = 1, .wr = true },
	};
	uint32_t u;

	put_hdr(f, HDRS, type, sector);
	f->ram[STATUS] = S_UNTOUCHED;
	if (len == 0)
		s[1] = s[2];
	u = run_chain(f, s, len == 0 ? 2 : 3);
	if (usedlen)
		*usedlen = u;
	return f->ram[STATUS];
}

static bool
file_read(struct fx *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->img, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, buf, len, (off_t)off) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void
pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 13 + i * 5 + (i >> 9));
}

static bool
all_bytes(const uint8_t *buf, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != v)
			return false;
	return true;
}

static uint64_t
file_size(struct fx *f)
{
	struct stat st;

	return stat(f->img, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ---- Hooks on the backend's system calls ---- */

static struct {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	bool gate, open;
	int writes_in, inflight, max_inflight, syncs;
	struct fx *f;
	int status_at_sync;	/* the flush's status byte when it synced */
} hk = { .mtx = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void
hk_reset(struct fx *f, bool gate)
{
	pthread_mutex_lock(&hk.mtx);
	hk.gate = gate;
	hk.open = false;
	hk.writes_in = hk.inflight = hk.max_inflight = hk.syncs = 0;
	hk.f = f;
	hk.status_at_sync = -1;
	pthread_mutex_unlock(&hk.mtx);
}

static void
hk_open(void)
{
	pthread_mutex_lock(&hk.mtx);
	hk.open = true;
	pthread_cond_broadcast(&hk.cv);
	pthread_mutex_unlock(&hk.mtx);
}

static bool
hk_wait_in(int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&hk.mtx);
	while (hk.writes_in < n)
		if (pthread_cond_timedwait(&hk.cv, &hk.mtx, &ts) != 0)
			break;
	n = hk.writes_in >= n;
	pthread_mutex_unlock(&hk.mtx);
	return n;
}

static ssize_t
hk_pwritev(void *arg, int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&hk.mtx);
	hk.writes_in++;
	if (++hk.inflight > hk.max_inflight)
		hk.max_inflight = hk.inflight;
	pthread_cond_broadcast(&hk.cv);
	while (hk.gate && !hk.open)
		if (pthread_cond_timedwait(&hk.cv, &hk.mtx, &ts) != 0)
			break;
	hk.inflight--;
	pthread_mutex_unlock(&hk.mtx);
	return pwritev(fd, iov, cnt, off);
}

static int
hk_fdatasync(void *arg, int fd)
{
	pthread_mutex_lock(&hk.mtx);
	hk.syncs++;
	if (hk.f != NULL)
		hk.status_at_sync = hk.f->ram[STATUS + 1];
	pthread_mutex_unlock(&hk.mtx);
	return fdatasync(fd);
}

static const struct blockif_sysops hk_ops = {
	.bs_pwritev = hk_pwritev,
	.bs_fdatasync = hk_fdatasync,
};

/* ---- Identity and configuration ---- */

TEST(identity_features_and_config)
{
	struct fx f;
	struct stat st;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(stat(f.img, &st) == 0);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_VENDOR, 2), VIRTIO_VENDOR);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_DEVICE, 2),
	    0x1001);	/* transitional */
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBDEV_0, 2), VIRTIO_ID_BLOCK);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_CLASS, 1), 0x01);
	CHECK_EQ(fake_cfg_rd(&f.bvm, SLOT, PCIR_SUBCLASS, 1), 0x00);
	CHECK_EQ(dev_features(&f), F_ALL);
	CHECK_EQ(dev_features(&f) & (F_RO | F_MQ), 0);
	CHECK_EQ(dcfg(&f, D_CAPACITY, 4), CAP);
	CHECK_EQ(dcfg(&f, D_CAPACITY + 4, 4), 0);
	CHECK_EQ(dcfg(&f, D_SIZE_MAX, 4), 1 * MiB);
	CHECK_EQ(dcfg(&f, D_SEG_MAX, 4), QSZ - 2);
	CHECK_EQ(dcfg(&f, D_BLK_SIZE, 4), 512);
	CHECK_EQ(1u << dcfg(&f, D_PHYS_EXP, 1), st.st_blksize / 512);
	CHECK_EQ(dcfg(&f, D_MIN_IO, 2), st.st_blksize / 512);
	CHECK_EQ(dcfg(&f, D_WRITEBACK, 1), 1);
	CHECK_EQ(dcfg(&f, D_MAX_DISCARD_SECT, 4), 0x3fffff);
	CHECK_EQ(dcfg(&f, D_MAX_DISCARD_SEG, 4), 32);
	CHECK_EQ(dcfg(&f, D_DISCARD_ALIGN, 4), st.st_blksize / 512);
	CHECK_EQ(dcfg(&f, D_MAX_WZ_SECT, 4), 0x3fffff);
	CHECK_EQ(dcfg(&f, D_MAX_WZ_SEG, 4), 32);
	CHECK_EQ(dcfg(&f, D_WZ_MAY_UNMAP, 1), 1);
	CHECK_EQ(dcfg(&f, 57, 2), 0);		/* padding */
	CHECK_EQ(cr(&f, C_QSIZE, 2), QSZ);
	fx_teardown(&f);
}

TEST(options_shape_features_and_config)
{
	static const char *const ro[] = { "ro", "true", NULL };
	static const char *const ss[] = { "sectorsize", "4096", "nodelete",
		"true", "sync", "true", NULL };
	static const char *const ss2[] = { "sectorsize", "512/4096", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, ro) == 0 && fx_ok(&f));
	CHECK(dev_features(&f) & F_RO);
	CHECK_EQ(dev_features(&f) & (F_DISCARD | F_WRITE_ZEROES), 0);
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, ss) == 0 && fx_ok(&f));
	CHECK_EQ(dcfg(&f, D_BLK_SIZE, 4), 4096);
	CHECK_EQ(dcfg(&f, D_PHYS_EXP, 1), 0);
	CHECK_EQ(dcfg(&f, D_CAPACITY, 4), CAP);
	CHECK_EQ(dev_features(&f) & F_DISCARD, 0);
	CHECK(dev_features(&f) & F_WRITE_ZEROES);
	CHECK_EQ(dcfg(&f, D_WZ_MAY_UNMAP, 1), 0);
	CHECK_EQ(dcfg(&f, D_WRITEBACK, 1), 0);	/* O_SYNC: write-through */
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, ss2) == 0 && fx_ok(&f));
	CHECK_EQ(dcfg(&f, D_BLK_SIZE, 4), 512);
	CHECK_EQ(dcfg(&f, D_PHYS_EXP, 1), 3);
	CHECK_EQ(dcfg(&f, D_DISCARD_ALIGN, 4), 8);
	fx_teardown(&f);
}

struct bad_start {
	const char *key, *val;
	const char *want;
};

#define BAD(k, v, w) { .key = k, .val = v, .want = w }

TEST(start_up_errors_name_the_culprit)
{
	static const struct bad_start cases[] = {
		BAD("path", "/nonexistent/disk.img", "/nonexistent/disk.img"),
		BAD("path", "", "path is empty"),
		BAD("path", "/tmp", "'/tmp' is a directory"),
		BAD("sectorsize", "1000", "sectorsize '1000'"),
		BAD("sectorsize", "4096/512", "sectorsize '4096/512'"),
		BAD("ser", "123456789012345678901",
		    "ser '123456789012345678901'"),
		BAD("bootindex", "first", "bootindex 'first'"),
		BAD("ro", "perhaps", "ro 'perhaps'"),
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kv[] = { cases[i].key, cases[i].val, NULL };
		struct fx f;

		REQUIRE(fx_setup(&f, kv) == 0);
		CHECK(f.init_error != 0);
		if (strstr(f.bvm.err, "0:4:0") == NULL ||
		    strstr(f.bvm.err, "virtio-blk") == NULL ||
		    strstr(f.bvm.err, cases[i].want) == NULL ||
		    strchr(f.bvm.err, '\n') != NULL) {
			fprintf(stderr, "  %s=%s: \"%s\"\n", cases[i].key,
			    cases[i].val, f.bvm.err);
			CHECK(false);
		}
		fx_teardown(&f);
	}
}

/* The legacy interface: device config after the 20-byte header. */
TEST(legacy_config)
{
	struct fx f;
	uint64_t port, v = 0;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(f.pi->pi_bar[0].type == PCIBAR_IO);
	port = f.pi->pi_bar[0].addr;
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, port, 4, &v), 0);
	CHECK_EQ(v, (uint32_t)F_BLK_ALL | VIRTIO_RING_F_INDIRECT_DESC |
	    VIRTIO_RING_F_EVENT_IDX);
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, port + 20 + D_CAPACITY,
	    4, &v), 0);
	CHECK_EQ(v, CAP);
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, port + 20 + D_SEG_MAX,
	    4, &v), 0);
	CHECK_EQ(v, QSZ - 2);
	fx_teardown(&f);
}

/* ---- Requests ---- */

TEST(write_and_read_land_at_the_right_offset)
{
	static uint8_t want[3 * 512], file[4 * 512];
	struct fx f;
	uint32_t u;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	pattern(want, sizeof(want), 1);
	memcpy(f.ram + DATA, want, sizeof(want));
	CHECK_EQ(req3(&f, T_OUT, 10, DATA, sizeof(want), false, &u), S_OK);
	CHECK_EQ(u, 1);
	REQUIRE(file_read(&f, 10 * 512 - 512, file, sizeof(file)));
	CHECK(all_bytes(file, 512, 0x11));
	CHECK(memcmp(file + 512, want, sizeof(want)) == 0);
	memset(f.ram + DATA + 64 * KiB, 0, sizeof(want));
	CHECK_EQ(req3(&f, T_IN, 10, DATA + 64 * KiB, sizeof(want), true, &u),
	    S_OK);
	CHECK_EQ(u, sizeof(want) + 1);
	CHECK(memcmp(f.ram + DATA + 64 * KiB, want, sizeof(want)) == 0);
	/* The last sector of the disk. */
	CHECK_EQ(req3(&f, T_IN, CAP - 1, DATA, 512, true, NULL), S_OK);
	CHECK(all_bytes(f.ram + DATA, 512, 0x11));
	/* EVENT_IDX with used_event 0: the first completion interrupts. */
	CHECK(f.irq.nmsi >= 1);
	fx_teardown(&f);
}

TEST(get_id)
{
	static const char *const ser[] = { "ser", "disk-serial-0001", NULL };
	static const char *const ser20[] = { "ser", "ABCDEFGHIJKLMNOPQRST",
		NULL };
	struct fx f;
	uint32_t u;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	memset(f.ram + DATA, 0x55, 64);
	CHECK_EQ(req3(&f, T_GET_ID, 0, DATA, 20, true, &u), S_OK);
	CHECK_EQ(u, 21);
	CHECK(memcmp(f.ram + DATA, "BHYVE-", 6) == 0);
	CHECK_EQ(strnlen((char *)f.ram + DATA, 20), 20);
	/* A larger buffer: 20 bytes, the rest untouched. */
	CHECK_EQ(req3(&f, T_GET_ID, 0, DATA, 64, true, NULL), S_OK);
	CHECK_EQ(f.ram[DATA + 20], 0x55);
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, ser) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	memset(f.ram + DATA, 0x55, 64);
	CHECK_EQ(req3(&f, T_GET_ID, 0, DATA, 20, true, NULL), S_OK);
	CHECK(memcmp(f.ram + DATA, "disk-serial-0001\0\0\0\0", 20) == 0);
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, ser20) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	CHECK_EQ(req3(&f, T_GET_ID, 0, DATA, 20, true, NULL), S_OK);
	CHECK(memcmp(f.ram + DATA, "ABCDEFGHIJKLMNOPQRST", 20) == 0);
	fx_teardown(&f);
}

/* Segments for discard / write-zeroes at SEGS. */
static void
put_seg(struct fx *f, int i, uint64_t sector, uint32_t num, uint32_t flags)
{
	g_w64(f, SEGS + 16 * (uint64_t)i, sector);
	g_w32(f, SEGS + 16 * (uint64_t)i + 8, num);
	g_w32(f, SEGS + 16 * (uint64_t)i + 12, flags);
}

TEST(discard_and_write_zeroes)
{
	static uint8_t file[64 * KiB];
	struct stat before, after;
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	REQUIRE(stat(f.img, &before) == 0);
	/* Two segments: 64 KiB at 128 KiB and 64 KiB at 512 KiB. */
	put_seg(&f, 0, 256, 128, 0);
	put_seg(&f, 1, 1024, 128, 0);
	CHECK_EQ(req3(&f, T_DISCARD, 0, SEGS, 32, false, NULL), S_OK);
	REQUIRE(stat(f.img, &after) == 0);
	CHECK(after.st_blocks < before.st_blocks);
	CHECK_EQ(after.st_size, IMG_SIZE);
	/* Write-zeroes with and without unmap: zeroes read back. */
	put_seg(&f, 0, 8, 8, 0);
	CHECK_EQ(req3(&f, T_WRITE_ZEROES, 0, SEGS, 16, false, NULL), S_OK);
	put_seg(&f, 0, 64, 16, 1);
	CHECK_EQ(req3(&f, T_WRITE_ZEROES, 0, SEGS, 16, false, NULL), S_OK);
	REQUIRE(file_read(&f, 0, file, sizeof(file)));
	CHECK(all_bytes(file, 4096, 0x11));
	CHECK(all_bytes(file + 4096, 4096, 0));
	CHECK(all_bytes(file + 8192, 32 * KiB - 8192, 0x11));
	CHECK(all_bytes(file + 32 * KiB, 8192, 0));
	CHECK(all_bytes(file + 40 * KiB, 24 * KiB, 0x11));
	/* Through the device too. */
	CHECK_EQ(req3(&f, T_IN, 8, DATA, 4096, true, NULL), S_OK);
	CHECK(all_bytes(f.ram + DATA, 4096, 0));
	fx_teardown(&f);
}

/* A flush's status is written only after its fdatasync. */
TEST(flush_status_after_fdatasync)
{
	struct seg s[2] = { { .gpa = HDRS + 64, .len = 16 },
		{ .gpa = STATUS + 1, .len = 1, .wr = true } };
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	hk_reset(&f, false);
	blockif_set_sysops(f.bc, &hk_ops, NULL);
	memcpy(f.ram + DATA, "data", 4);
	CHECK_EQ(req3(&f, T_OUT, 0, DATA, 512, false, NULL), S_OK);
	CHECK_EQ(hk.syncs, 0);		/* write-back: no sync per write */
	put_hdr(&f, HDRS + 64, T_FLUSH, 0);
	f.ram[STATUS + 1] = S_UNTOUCHED;
	CHECK_EQ(run_chain(&f, s, 2), 1);
	CHECK_EQ(f.ram[STATUS + 1], S_OK);
	CHECK_EQ(hk.syncs, 1);
	CHECK_EQ(hk.status_at_sync, S_UNTOUCHED);
	hk_reset(NULL, false);
	fx_teardown(&f);
}

/* Durable writes without a flush when the driver cannot flush (5.2.6.2). */
TEST(write_through_when_the_driver_cannot_flush)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	hk_reset(NULL, false);
	blockif_set_sysops(f.bc, &hk_ops, NULL);
	/* Neither FLUSH nor CONFIG_WCE: every write synced. */
	REQUIRE(fx_ready(&f, VIRTIO_F_VERSION_1, QSZ));
	CHECK_EQ(req3(&f, T_OUT, 0, DATA, 512, false, NULL), S_OK);
	CHECK_EQ(hk.syncs, 1);
	/* FLUSH: write-back. */
	REQUIRE(fx_ready(&f, VIRTIO_F_VERSION_1 | F_FLUSH, QSZ));
	CHECK_EQ(req3(&f, T_OUT, 0, DATA, 512, false, NULL), S_OK);
	CHECK_EQ(hk.syncs, 1);
	/* CONFIG_WCE: the driver chooses with writeback. */
	REQUIRE(fx_ready(&f, VIRTIO_F_VERSION_1 | F_FLUSH | F_CONFIG_WCE |
	    F_WRITE_ZEROES, QSZ));
	CHECK_EQ(dcfg(&f, D_WRITEBACK, 1), 1);
	fake_mmio_wr(&f.bvm, f.devcfg + D_WRITEBACK, 1, 0);
	CHECK_EQ(dcfg(&f, D_WRITEBACK, 1), 0);
	CHECK_EQ(req3(&f, T_OUT, 0, DATA, 512, false, NULL), S_OK);
	CHECK_EQ(hk.syncs, 2);
	put_seg(&f, 0, 8, 8, 0);
	CHECK_EQ(req3(&f, T_WRITE_ZEROES, 0, SEGS, 16, false, NULL), S_OK);
	CHECK_EQ(hk.syncs, 3);
	fake_mmio_wr(&f.bvm, f.devcfg + D_WRITEBACK, 1, 1);
	CHECK_EQ(req3(&f, T_OUT, 0, DATA, 512, false, NULL), S_OK);
	CHECK_EQ(hk.syncs, 3);
	/* Other config bytes are read-only. */
	fake_mmio_wr(&f.bvm, f.devcfg + D_CAPACITY, 4, 5);
	CHECK_EQ(dcfg(&f, D_CAPACITY, 4), CAP);
	/* CONFIG_WCE without FLUSH starts write-through; reset restores. */
	REQUIRE(fx_ready(&f, VIRTIO_F_VERSION_1 | F_CONFIG_WCE, QSZ));
	CHECK_EQ(dcfg(&f, D_WRITEBACK, 1), 0);
	cw(&f, C_STATUS, 1, 0);
	CHECK_EQ(dcfg(&f, D_WRITEBACK, 1), 1);
	fx_teardown(&f);
}

/* ---- Hostile requests ---- */

enum layout {
	L_PLAIN,	/* header, data, status */
	L_NO_STATUS,	/* header, data (read-only): nothing to answer */
	L_EMPTY_STATUS,	/* ..., a zero-length last writable buffer */
	L_SPLIT_HDR,	/* the header in three buffers */
	L_SHORT_HDR,	/* 12 header bytes */
	L_WRONG_DIR,	/* the data in the other direction */
	L_DATA_STATUS,	/* data and status share the last buffer */
	L_HDR_DATA,	/* header and data share the first buffer */
};

struct hostile {
	const char *name;
	uint32_t type;
	uint64_t sector;
	uint32_t len;
	enum layout layout;
	int status;		/* -1: none, the used length is 0 */
	bool ro;
};

/* Designated initializers, one line a case. */
#define H(n, t, s, l, lay, st) { .name = n, .type = t, .sector = s, \
	.len = l, .layout = lay, .status = st }
#define HRO(n, t, s, l, lay, st) { .name = n, .type = t, .sector = s, \
	.len = l, .layout = lay, .status = st, .ro = true }

static const struct hostile hostile_cases[] = {
	H("read past the end", T_IN, CAP - 1, 1024, L_PLAIN, S_IOERR),
	H("read at the end", T_IN, CAP, 512, L_PLAIN, S_IOERR),
	H("write past the end", T_OUT, CAP - 1, 1024, L_PLAIN, S_IOERR),
	H("huge sector", T_IN, 1ULL << 63, 512, L_PLAIN, S_IOERR),
	H("sector * 512 wraps", T_OUT, 1ULL << 55, 512, L_PLAIN, S_IOERR),
	H("max sector", T_IN, UINT64_MAX, 512, L_PLAIN, S_IOERR),
	H("not whole sectors", T_IN, 0, 100, L_PLAIN, S_IOERR),
	H("write not whole sectors", T_OUT, 0, 513, L_PLAIN, S_IOERR),
	H("zero-length read", T_IN, 0, 0, L_PLAIN, S_OK),
	H("zero-length read past the end", T_IN, CAP + 1, 0, L_PLAIN,
	    S_IOERR),
	H("no status byte", T_OUT, 0, 512, L_NO_STATUS, -1),
	H("empty last buffer", T_IN, 0, 512, L_EMPTY_STATUS, -1),
	H("short header", T_IN, 0, 512, L_SHORT_HDR, S_IOERR),
	H("read with readable data", T_IN, 0, 512, L_WRONG_DIR, S_IOERR),
	H("write with writable data", T_OUT, 0, 512, L_WRONG_DIR, S_IOERR),
	HRO("write to a read-only disk", T_OUT, 0, 512, L_PLAIN, S_IOERR),
	HRO("zero-length write to a read-only disk", T_OUT, 0, 0,
	    L_PLAIN, S_IOERR),
	H("unknown type", 99, 0, 512, L_PLAIN, S_UNSUPP),
	H("get lifetime", T_GET_LIFETIME, 0, 8, L_PLAIN, S_UNSUPP),
	H("scsi command", 2, 0, 512, L_PLAIN, S_UNSUPP),
	H("barrier flag", T_OUT | 0x80000000u, 0, 512, L_PLAIN, S_UNSUPP),
	H("short get id", T_GET_ID, 0, 10, L_PLAIN, S_IOERR),
	H("empty get id", T_GET_ID, 0, 0, L_PLAIN, S_IOERR),
	H("get id with readable data", T_GET_ID, 0, 20, L_WRONG_DIR,
	    S_IOERR),
	H("empty discard", T_DISCARD, 0, 0, L_PLAIN, S_IOERR),
	H("discard of 17 bytes", T_DISCARD, 0, 17, L_PLAIN, S_IOERR),
	H("discard of 33 segments", T_DISCARD, 0, 33 * 16, L_PLAIN, S_IOERR),
	H("discard with writable data", T_DISCARD, 0, 16, L_WRONG_DIR,
	    S_IOERR),
	HRO("discard to a read-only disk", T_DISCARD, 0, 16, L_PLAIN,
	    S_UNSUPP),
};

/* The data buffer's direction for the request's type. */
static bool
data_writable(uint32_t type)
{
	return type == T_IN || type == T_GET_ID || type == T_GET_LIFETIME;
}

static int
hostile_segs(struct fx *f, const struct hostile *h, struct seg *s)
{
	bool wr = data_writable(h->type) ^ (h->layout == L_WRONG_DIR);
	struct seg hdr = { .gpa = HDRS, .len = 16 };
	struct seg data = { .gpa = DATA, .len = h->len, .wr = wr };
	struct seg st = { .gpa = STATUS, .len = 1, .wr = true };
	int n = 0;

	switch (h->layout) {
	case L_SPLIT_HDR:
		s[n++] = (struct seg){ .gpa = HDRS, .len = 5 };
		s[n++] = (struct seg){ .gpa = HDRS + 5, .len = 7 };
		s[n++] = (struct seg){ .gpa = HDRS + 12, .len = 4 };
		break;
	case L_SHORT_HDR:
		hdr.len = 12;
		/* FALLTHROUGH */
	default:
		s[n++] = hdr;
		break;
	}
	if (h->len > 0 && h->layout != L_DATA_STATUS)
		s[n++] = data;
	if (h->layout == L_DATA_STATUS)
		st = (struct seg){ .gpa = DATA, .len = h->len + 1,
			.wr = true };
	if (h->layout == L_EMPTY_STATUS) {
		s[n++] = st;
		st.len = 0;
		st.gpa = STATUS + 8;
	}
	if (h->layout != L_NO_STATUS)
		s[n++] = st;
	return n;
}

static void
hostile_run(const struct hostile *h)
{
	const char *kv[] = { "ro", h->ro ? "true" : "false", NULL };
	struct seg s[8];
	struct fx f;
	uint8_t file[1024];
	uint32_t u;
	int n, got;

	REQUIRE(fx_setup(&f, kv) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, dev_features(&f), QSZ));
	put_hdr(&f, HDRS, h->type, h->sector);
	memset(f.ram + DATA, 0x66, 64 * KiB);
	f.ram[STATUS] = S_UNTOUCHED;
	n = hostile_segs(&f, h, s);
	u = run_chain(&f, s, n);
	got = h->layout == L_DATA_STATUS ? f.ram[DATA + h->len] :
	    f.ram[STATUS];
	if ((h->status < 0 && (u != 0 || got != S_UNTOUCHED)) ||
	    (h->status >= 0 && (u == ~0u || got != h->status))) {
		fprintf(stderr, "  case '%s': status 0x%x used %u\n", h->name,
		    got, u);
		CHECK(false);
	}
	/* Reads that failed wrote nothing; the image did not grow. */
	if (h->status != S_OK && h->type == T_IN)
		CHECK(all_bytes(f.ram + DATA, h->len, 0x66));
	CHECK_EQ(file_size(&f), IMG_SIZE);
	REQUIRE(file_read(&f, 0, file, sizeof(file)));
	CHECK(all_bytes(file, sizeof(file), 0x11));
	/* The VM goes on: the device still works. */
	CHECK_EQ(cr(&f, C_STATUS, 1), S_DRIVEROK);
	CHECK_EQ(req3(&f, T_IN, 0, DATA, 512, true, NULL), S_OK);
	fx_teardown(&f);
}

TEST(hostile_requests_get_the_right_status)
{
	for (size_t i = 0; i < sizeof(hostile_cases) /
	    sizeof(hostile_cases[0]); i++)
		hostile_run(&hostile_cases[i]);
}

/* Legal but unusual layouts work (2.6.4: no assumptions on framing). */
TEST(any_layout_works)
{
	static const struct hostile ok[] = {
		H("split header write", T_OUT, 3, 1024, L_SPLIT_HDR, S_OK),
		H("data with status", T_IN, 3, 1024, L_DATA_STATUS, S_OK),
	};
	static uint8_t want[1024], file[1024];
	struct seg s[8];
	struct fx f;
	int n;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	pattern(want, sizeof(want), 7);
	memcpy(f.ram + DATA, want, sizeof(want));
	put_hdr(&f, HDRS, ok[0].type, ok[0].sector);
	f.ram[STATUS] = S_UNTOUCHED;
	n = hostile_segs(&f, &ok[0], s);
	CHECK_EQ(n, 5);
	CHECK_EQ(run_chain(&f, s, n), 1);
	CHECK_EQ(f.ram[STATUS], S_OK);
	REQUIRE(file_read(&f, 3 * 512, file, sizeof(file)));
	CHECK(memcmp(file, want, sizeof(want)) == 0);
	memset(f.ram + DATA, 0, 2048);
	put_hdr(&f, HDRS, ok[1].type, ok[1].sector);
	n = hostile_segs(&f, &ok[1], s);
	CHECK_EQ(run_chain(&f, s, n), 1025);
	CHECK(memcmp(f.ram + DATA, want, sizeof(want)) == 0);
	CHECK_EQ(f.ram[DATA + 1024], S_OK);
	/* Header and data in one buffer. */
	put_hdr(&f, DATA + 8192, T_OUT, 20);
	memcpy(f.ram + DATA + 8192 + 16, want, 512);
	s[0] = (struct seg){ .gpa = DATA + 8192, .len = 16 + 512 };
	s[1] = (struct seg){ .gpa = STATUS, .len = 1, .wr = true };
	CHECK_EQ(run_chain(&f, s, 2), 1);
	CHECK_EQ(f.ram[STATUS], S_OK);
	REQUIRE(file_read(&f, 20 * 512, file, 512));
	CHECK(memcmp(file, want, 512) == 0);
	fx_teardown(&f);
}

struct seg_case {
	const char *name;
	uint32_t type;
	uint64_t sector;
	uint32_t num, flags;
	int status;
};

#define SEG(n, t, s, nm, f, st) { .name = n, .type = t, .sector = s, \
	.num = nm, .flags = f, .status = st }

TEST(hostile_discard_segments)
{
	static const struct seg_case cases[] = {
		SEG("past the end", T_DISCARD, CAP - 4, 8, 0, S_IOERR),
		SEG("huge sector", T_WRITE_ZEROES, 1ULL << 60, 8, 0, S_IOERR),
		SEG("too many sectors", T_WRITE_ZEROES, 0, 0x400000, 0,
		    S_IOERR),
		SEG("unmap on discard", T_DISCARD, 0, 8, 1, S_UNSUPP),
		SEG("unknown flag", T_WRITE_ZEROES, 0, 8, 2, S_UNSUPP),
		SEG("unknown flag and out of range", T_DISCARD, CAP, 8, 4,
		    S_UNSUPP),
		SEG("empty segment", T_WRITE_ZEROES, 0, 0, 0, S_OK),
	};
	uint8_t file[4096];
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st;

		/* A good segment first: nothing of it may be done either. */
		put_seg(&f, 0, 0, 8, 0);
		put_seg(&f, 1, cases[i].sector, cases[i].num, cases[i].flags);
		st = req3(&f, cases[i].type, 0, SEGS, 32, false, NULL);
		if (st != cases[i].status) {
			fprintf(stderr, "  case '%s': status %d\n",
			    cases[i].name, st);
			CHECK(false);
		}
		REQUIRE(file_read(&f, 0, file, sizeof(file)));
		CHECK(all_bytes(file, sizeof(file), cases[i].status == S_OK ?
		    0 : 0x11));
	}
	/* Not negotiated: UNSUPP. */
	REQUIRE(fx_ready(&f, VIRTIO_F_VERSION_1 | F_FLUSH, QSZ));
	put_seg(&f, 0, 0, 8, 0);
	CHECK_EQ(req3(&f, T_DISCARD, 0, SEGS, 16, false, NULL), S_UNSUPP);
	CHECK_EQ(req3(&f, T_WRITE_ZEROES, 0, SEGS, 16, false, NULL),
	    S_UNSUPP);
	CHECK_EQ(cr(&f, C_STATUS, 1), S_DRIVEROK);
	fx_teardown(&f);
}

/* ---- Concurrency ---- */

/*
 * Requests are handed to the workers, not done on the notifying thread:
 * writes held at the gate leave the notification with nothing completed,
 * several at once are in the backend; opening the gate completes them.
 */
TEST(requests_in_flight_off_the_vcpu_thread)
{
	enum { N = 40 };
	static uint8_t file[4096];
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	hk_reset(NULL, true);
	blockif_set_sysops(f.bc, &hk_ops, NULL);
	for (int i = 0; i < N; i++) {
		struct seg s[3] = {
			{ .gpa = HDRS + 64 * (uint64_t)i, .len = 16 },
			{ .gpa = DATA + 4096 * (uint64_t)i, .len = 4096 },
			{ .gpa = STATUS + (uint64_t)i, .len = 1, .wr = true },
		};

		put_hdr(&f, HDRS + 64 * (uint64_t)i, T_OUT, 8 * (uint64_t)i);
		memset(f.ram + DATA + 4096 * (uint64_t)i, i + 1, 4096);
		f.ram[STATUS + i] = S_UNTOUCHED;
		post(&f, chain(&f, s, 3));
	}
	kick(&f);		/* returns with every write held */
	CHECK(hk_wait_in(8));
	CHECK_EQ(used_idx(&f), 0);
	CHECK_EQ(hk.max_inflight, 8);
	hk_open();
	CHECK(wait_used(&f, N));
	for (int i = 0; i < N; i++) {
		CHECK_EQ(f.ram[STATUS + i], S_OK);
		REQUIRE(file_read(&f, 4096 * (uint64_t)i, file, 4096));
		CHECK(all_bytes(file, 4096, (uint8_t)(i + 1)));
	}
	hk_reset(NULL, false);
	fx_teardown(&f);
}

/*
 * Open the gate once another thread holds the device lock (the test's
 * reset or teardown: nothing else can take it while the writes are held).
 * Completions then find the reset done.
 */
static void *
open_gate_when_locked(void *arg)
{
	pthread_mutex_t *m = arg;

	while (pthread_mutex_trylock(m) == 0) {
		pthread_mutex_unlock(m);
		sched_yield();
	}
	hk_open();
	return NULL;
}

/*
 * A reset with requests in flight: those not started are dropped, the
 * running ones waited for, and none comes back on the new queue.  The
 * whole pool is usable afterwards.
 */
TEST(reset_with_requests_in_flight)
{
	enum { N = 20 };
	pthread_t th;
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	hk_reset(NULL, true);
	blockif_set_sysops(f.bc, &hk_ops, NULL);
	for (int i = 0; i < N; i++) {
		struct seg s[3] = {
			{ .gpa = HDRS + 64 * (uint64_t)i, .len = 16 },
			{ .gpa = DATA + 4096 * (uint64_t)i, .len = 4096 },
			{ .gpa = STATUS + (uint64_t)i, .len = 1, .wr = true },
		};

		put_hdr(&f, HDRS + 64 * (uint64_t)i, T_OUT, 8 * (uint64_t)i);
		f.ram[STATUS + i] = S_UNTOUCHED;
		post(&f, chain(&f, s, 3));
	}
	kick(&f);
	REQUIRE(hk_wait_in(8));
	REQUIRE(pthread_create(&th, NULL, open_gate_when_locked,
	    &f.pi->pi_lock) == 0);
	cw(&f, C_STATUS, 1, 0);		/* waits for the 8 running */
	pthread_join(th, NULL);
	CHECK_EQ(cr(&f, C_STATUS, 1), 0);
	blockif_quiesce(f.bc);
	/* The 8 that ran, perhaps a few more taken before the cancel. */
	CHECK(hk.writes_in >= 8 && hk.writes_in <= N);
	for (int i = 0; i < N; i++)
		CHECK_EQ(f.ram[STATUS + i], S_UNTOUCHED);
	/* A new queue where the old one was: nothing stale lands on it. */
	hk_reset(NULL, false);
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	blockif_quiesce(f.bc);
	CHECK_EQ(used_idx(&f), 0);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 60; i++)
			CHECK_EQ(req3(&f, T_IN, (uint64_t)i, DATA, 512, true,
			    NULL), S_OK);
	CHECK_EQ(used_idx(&f), 180);
	fx_teardown(&f);
}

/* A request through an indirect table of three at 'itab'. */
static void
post_indirect(struct fx *f, uint64_t itab, int i, uint32_t type,
    uint64_t sector)
{
	struct seg s[3] = {
		{ .gpa = HDRS + 64 * (uint64_t)i, .len = 16 },
		{ .gpa = DATA + 512 * (uint64_t)i, .len = 512, .wr = true },
		{ .gpa = STATUS + (uint64_t)i, .len = 1, .wr = true },
	};
	uint16_t d = f->next_desc;

	put_hdr(f, s[0].gpa, type, sector);
	f->ram[STATUS + i] = S_UNTOUCHED;
	for (int k = 0; k < 3; k++) {
		g_w64(f, itab + 16 * (uint64_t)k, s[k].gpa);
		g_w32(f, itab + 16 * (uint64_t)k + 8, s[k].len);
		g_w16(f, itab + 16 * (uint64_t)k + 12, (uint16_t)((s[k].wr ?
		    VRING_DESC_F_WRITE : 0) | (k < 2 ? VRING_DESC_F_NEXT : 0)));
		g_w16(f, itab + 16 * (uint64_t)k + 14, (uint16_t)(k + 1));
	}
	g_w64(f, f->desc + 16 * (uint64_t)d, itab);
	g_w32(f, f->desc + 16 * (uint64_t)d + 8, 48);
	g_w16(f, f->desc + 16 * (uint64_t)d + 12, VRING_DESC_F_INDIRECT);
	f->next_desc = (uint16_t)((d + 1) % f->qsize);
	post(f, d);
}

/*
 * Requests from before a reset whose completions have not run yet still
 * hold their place in the pool; a driver that fills the new queue then
 * finds the pool short.  The chains left over are taken when those
 * completions give their places back.  (The test holds the device lock
 * to keep the stale completions waiting while it refills the queue.)
 */
TEST(pool_short_after_reset)
{
	struct virtio_softc *vs;
	pthread_t th;
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	vs = f.pi->pi_arg;
	hk_reset(NULL, true);
	blockif_set_sysops(f.bc, &hk_ops, NULL);
	for (int i = 0; i < 8; i++) {
		struct seg s[3] = {
			{ .gpa = HDRS, .len = 16 },
			{ .gpa = DATA, .len = 512 },
			{ .gpa = STATUS + 256 + (uint64_t)i, .len = 1,
			  .wr = true },
		};

		put_hdr(&f, HDRS, T_OUT, 0);
		f.ram[STATUS + 256 + i] = S_UNTOUCHED;
		post(&f, chain(&f, s, 3));
	}
	kick(&f);
	REQUIRE(hk_wait_in(8));
	vi_lock(vs);
	REQUIRE(pthread_create(&th, NULL, open_gate_when_locked,
	    &f.pi->pi_lock) == 0);
	REQUIRE(fx_queue(&f, F_ALL, QSZ));	/* resets, then a new queue */
	pthread_join(th, NULL);
	for (int i = 0; i < QSZ; i++)
		post_indirect(&f, SEGS + 64 * (uint64_t)i, i, T_IN,
		    (uint64_t)i);
	kick(&f);
	CHECK_EQ(used_idx(&f), 0);
	vi_unlock(vs);
	CHECK(wait_used(&f, QSZ));
	blockif_quiesce(f.bc);
	CHECK_EQ(used_idx(&f), QSZ);
	for (int i = 0; i < QSZ; i++)
		CHECK_EQ(f.ram[STATUS + i], S_OK);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(f.ram[STATUS + 256 + i], S_UNTOUCHED);
	CHECK_EQ(cr(&f, C_STATUS, 1), S_DRIVEROK);
	hk_reset(NULL, false);
	fx_teardown(&f);
}

/* Teardown with writes held in the backend: it waits, nothing leaks. */
TEST(teardown_with_requests_in_flight)
{
	pthread_t th;
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0 && fx_ok(&f));
	REQUIRE(fx_ready(&f, F_ALL, QSZ));
	hk_reset(NULL, true);
	blockif_set_sysops(f.bc, &hk_ops, NULL);
	for (int i = 0; i < 12; i++) {
		struct seg s[3] = {
			{ .gpa = HDRS, .len = 16 },
			{ .gpa = DATA, .len = 4096 },
			{ .gpa = STATUS + (uint64_t)i, .len = 1, .wr = true },
		};

		put_hdr(&f, HDRS, T_OUT, 0);
		post(&f, chain(&f, s, 3));
	}
	kick(&f);
	REQUIRE(hk_wait_in(8));
	REQUIRE(pthread_create(&th, NULL, open_gate_when_locked,
	    &f.pi->pi_lock) == 0);
	fx_teardown(&f);
	pthread_join(th, NULL);
	CHECK(hk.writes_in >= 8 && hk.writes_in <= 12);
	hk_reset(NULL, false);
}

TEST_MAIN(
	TEST_ENTRY(identity_features_and_config)
	TEST_ENTRY(options_shape_features_and_config)
	TEST_ENTRY(start_up_errors_name_the_culprit)
	TEST_ENTRY(legacy_config)
	TEST_ENTRY(write_and_read_land_at_the_right_offset)
	TEST_ENTRY(get_id)
	TEST_ENTRY(discard_and_write_zeroes)
	TEST_ENTRY(flush_status_after_fdatasync)
	TEST_ENTRY(write_through_when_the_driver_cannot_flush)
	TEST_ENTRY(hostile_requests_get_the_right_status)
	TEST_ENTRY(any_layout_works)
	TEST_ENTRY(hostile_discard_segments)
	TEST_ENTRY(requests_in_flight_off_the_vcpu_thread)
	TEST_ENTRY(reset_with_requests_in_flight)
	TEST_ENTRY(pool_short_after_reset)
	TEST_ENTRY(teardown_with_requests_in_flight)
)
