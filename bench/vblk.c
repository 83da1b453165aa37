/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-blk's request path on the host, without a guest: a null-backend
 * VM, virtio-blk on an image (default /dev/shm, so that the page cache
 * and not a disk is measured: what is left is the VMM's cost), and a
 * driver in this process that keeps QD requests in flight on a queue of
 * 128, notifying through the modern BAR as a vCPU would.  For each
 * pattern it prints IOPS, MB/s, the mean latency, the time the notifying
 * thread spent in the device per request (the vCPU's share), and the
 * same pattern as plain preadv/pwritev from one thread at QD 1, whose
 * latency is the floor the device adds to.
 *
 *   vblk [-d DIR] [-s MiB] [-t SECONDS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
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

#define RAM (64ULL << 20)
#define QSZ 128
#define MAXQD 32
#define RINGS 0x10000ULL
#define HDRS 0x20000ULL
#define STATUS 0x30000ULL
#define DATA 0x100000ULL	/* 1 MiB per slot */
#define SLOT_DATA (1ULL << 20)

struct pattern {
	const char *name;
	bool write, random;
	uint32_t bs;
	int qd;
};

static const struct pattern patterns[] = {
	{ .name = "seq read 4k qd1", .bs = 4096, .qd = 1 },
	{ .name = "rand read 4k qd1", .bs = 4096, .qd = 1, .random = true },
	{ .name = "rand read 4k qd32", .bs = 4096, .qd = 32, .random = true },
	{ .name = "seq read 128k qd8", .bs = 128 << 10, .qd = 8 },
	{ .name = "seq write 4k qd1", .bs = 4096, .qd = 1, .write = true },
	{ .name = "rand write 4k qd32", .bs = 4096, .qd = 32, .write = true,
	  .random = true },
	{ .name = "seq write 128k qd8", .bs = 128 << 10, .qd = 8,
	  .write = true },
};

struct bench {
	struct bhyve_vm bvm;
	uint8_t *ram;
	uint64_t common, notify;
	uint64_t desc, avail, used;
	uint16_t aidx, seen;
	uint64_t nsect;
	uint64_t rng;
};

static int
b_msi(void *arg, uint64_t addr, uint64_t data)
{
	return 0;
}

static int
b_line(void *arg, int a, int b)
{
	return 0;
}

static int
b_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops b_ops = {
	.isa_assert = b_line, .isa_deassert = b_line,
	.ioapic_assert = b_pin, .ioapic_deassert = b_pin, .msi = b_msi,
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
mm_wr(struct bench *b, uint64_t addr, int size, uint64_t v)
{
	if (io_dispatch(b->bvm.mmio, NULL, true, addr, size, &v) != 0) {
		fprintf(stderr, "vblk: MMIO write at 0x%llx failed\n",
		    (unsigned long long)addr);
		exit(1);
	}
}

static void
cw(struct bench *b, uint64_t off, int size, uint64_t v)
{
	mm_wr(b, b->common + off, size, v);
}

/* Negotiate VERSION_1 | FLUSH, one queue of 128 at RINGS, DRIVER_OK. */
static void
bench_ready(struct bench *b)
{
	cw(b, 0x14, 1, 0);
	cw(b, 0x14, 1, 3);
	cw(b, 0x08, 4, 0);
	cw(b, 0x0c, 4, 1u << 9);
	cw(b, 0x08, 4, 1);
	cw(b, 0x0c, 4, 1);
	cw(b, 0x14, 1, 0xb);
	b->desc = RINGS;
	b->avail = b->desc + VQ_DESC_BYTES(QSZ);
	b->used = (b->avail + VQ_AVAIL_BYTES(QSZ) + 3) & ~3ULL;
	memset(b->ram + RINGS, 0, 0x10000);
	cw(b, 0x16, 2, 0);
	cw(b, 0x18, 2, QSZ);
	cw(b, 0x20, 8, b->desc);
	cw(b, 0x28, 8, b->avail);
	cw(b, 0x30, 8, b->used);
	cw(b, 0x1c, 2, 1);
	cw(b, 0x14, 1, 0xf);
	b->aidx = b->seen = 0;
}

static int
bench_setup(struct bench *b, const char *img)
{
	static const struct pci_devemu *const emus[] = { &pci_de_virtio_blk };
	struct pci_emul_opts o = { .extra = emus, .nextra = 1,
		.intr_ops = &b_ops };
	struct pci_devinst *pi;

	memset(b, 0, sizeof(*b));
	b->bvm.ncpus = 1;
	b->bvm.cfg = config_new();
	b->bvm.mev = mevent_create();
	b->bvm.ports = io_registry_create(0x10000);
	b->bvm.mmio = io_registry_create(UINT64_MAX);
	b->bvm.ctx = vm_create("bench-vblk", VMM_BACKEND_NULL, NULL);
	if (!b->bvm.cfg || !b->bvm.mev || !b->bvm.ports || !b->bvm.mmio ||
	    !b->bvm.ctx || vm_setup_memory(b->bvm.ctx, RAM) != 0 ||
	    config_set(b->bvm.cfg, "pci.0.0.0.device", "hostbridge") ||
	    config_set(b->bvm.cfg, "pci.0.3.0.device", "virtio-blk") ||
	    config_set(b->bvm.cfg, "pci.0.3.0.path", img))
		return -1;
	b->ram = vm_map_gpa(b->bvm.ctx, 0, RAM);
	if (b->ram == NULL || pci_emul_init_opts(&b->bvm, &o) != 0) {
		fprintf(stderr, "vblk: %s\n", b->bvm.err);
		return -1;
	}
	for (pi = pci_next(&b->bvm, NULL); pi && pi->pi_slot != 3;
	    pi = pci_next(&b->bvm, pi))
		;
	if (pi == NULL)
		return -1;
	b->common = pi->pi_bar[VI_PCI_MODERN_BAR].addr;
	b->notify = b->common + VI_PCI_NOTIFY_OFF;
	bench_ready(b);
	return 0;
}

static uint64_t
bench_sector(struct bench *b, const struct pattern *p, uint64_t n)
{
	uint64_t blocks = b->nsect / (p->bs / 512);

	if (!p->random)
		return (n % blocks) * (p->bs / 512);
	b->rng = b->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((b->rng >> 33) % blocks) * (p->bs / 512);
}

/* Request 'slot' (descriptors 3*slot .. +2) for operation number 'n'. */
static void
bench_post(struct bench *b, const struct pattern *p, int slot, uint64_t n)
{
	uint64_t hdr = HDRS + 64 * (uint64_t)slot;
	uint32_t type = p->write ? 1 : 0;
	uint64_t sector = bench_sector(b, p, n);
	struct vring_desc d[3] = {
		{ .addr = hdr, .len = 16, .flags = VRING_DESC_F_NEXT,
		  .next = (uint16_t)(3 * slot + 1) },
		{ .addr = DATA + SLOT_DATA * (uint64_t)slot, .len = p->bs,
		  .flags = (uint16_t)(VRING_DESC_F_NEXT |
		  (p->write ? 0 : VRING_DESC_F_WRITE)),
		  .next = (uint16_t)(3 * slot + 2) },
		{ .addr = STATUS + (uint64_t)slot, .len = 1,
		  .flags = VRING_DESC_F_WRITE },
	};
	uint16_t idx;

	memcpy(b->ram + hdr, &type, 4);
	memcpy(b->ram + hdr + 8, &sector, 8);
	memcpy(b->ram + b->desc + 16 * 3 * (uint64_t)slot, d, sizeof(d));
	idx = (uint16_t)(3 * slot);
	memcpy(b->ram + b->avail + 4 + 2 * (uint64_t)(b->aidx % QSZ), &idx, 2);
	b->aidx++;
	__atomic_store_n((uint16_t *)(void *)(b->ram + b->avail + 2), b->aidx,
	    __ATOMIC_RELEASE);
}

struct result {
	double iops, mbs, lat_us, vcpu_us;
};

/* Keep p->qd requests in flight for 'secs' seconds. */
static struct result
bench_run(struct bench *b, const struct pattern *p, double secs)
{
	uint64_t issued = 0, done = 0;
	double t0 = now_us(), tk = 0, end = t0 + secs * 1e6;
	struct result r;

	for (int s = 0; s < p->qd; s++)
		bench_post(b, p, s, issued++);
	for (;;) {
		double k0 = now_us();
		uint16_t u;

		mm_wr(b, b->notify, 2, 0);
		tk += now_us() - k0;
		while ((u = __atomic_load_n((uint16_t *)(void *)(b->ram +
		    b->used + 2), __ATOMIC_ACQUIRE)) == b->seen)
			sched_yield();
		for (; b->seen != u; b->seen++) {
			uint32_t id;

			memcpy(&id, b->ram + b->used + 4 + 8 *
			    (uint64_t)(b->seen % QSZ), 4);
			done++;
			if (b->ram[STATUS + id / 3] != 0) {
				fprintf(stderr, "vblk: request failed\n");
				exit(1);
			}
			if (now_us() < end)
				bench_post(b, p, (int)(id / 3), issued++);
		}
		if (done == issued)
			break;
	}
	t0 = now_us() - t0;
	r.iops = done / (t0 / 1e6);
	r.mbs = r.iops * p->bs / 1e6;
	r.lat_us = t0 * p->qd / done;
	r.vcpu_us = tk / done;
	return r;
}

/* The floor: the same pattern as plain system calls, QD 1. */
static double
raw_lat_us(struct bench *b, const struct pattern *p, int fd, double secs)
{
	struct iovec v = { .iov_base = b->ram + DATA, .iov_len = p->bs };
	double t0 = now_us(), end = t0 + secs * 1e6;
	uint64_t n = 0;

	while (now_us() < end) {
		off_t off = (off_t)(bench_sector(b, p, n++) * 512);
		ssize_t got = p->write ? pwritev(fd, &v, 1, off) :
		    preadv(fd, &v, 1, off);

		if (got != (ssize_t)p->bs) {
			perror("vblk: raw I/O");
			exit(1);
		}
	}
	return (now_us() - t0) / n;
}

static int
make_image(const char *dir, uint64_t mib, char *path, size_t len)
{
	static uint8_t buf[1 << 20];
	int fd;

	snprintf(path, len, "%s/bench-vblk-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	memset(buf, 0x5a, sizeof(buf));
	for (uint64_t i = 0; i < mib; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *dir = "/dev/shm";
	uint64_t mib = 256;
	double secs = 1.0;
	char img[256];
	struct bench b;
	int c, fd;

	while ((c = getopt(argc, argv, "d:s:t:")) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 's')
			mib = strtoull(optarg, NULL, 0);
		else if (c == 't')
			secs = strtod(optarg, NULL);
		else {
			fprintf(stderr, "usage: vblk [-d DIR] [-s MiB] "
			    "[-t SECONDS]\n");
			return 2;
		}
	}
	fd = make_image(dir, mib, img, sizeof(img));
	if (fd < 0 || bench_setup(&b, img) != 0) {
		fprintf(stderr, "vblk: cannot set up on %s\n", dir);
		return 1;
	}
	b.nsect = mib << 11;
	printf("virtio-blk request path, %llu MiB image in %s, %.1f s each\n",
	    (unsigned long long)mib, dir, secs);
	printf("%-20s %10s %9s %10s %10s %12s\n", "pattern", "IOPS", "MB/s",
	    "lat us", "vCPU us/req", "raw qd1 us");
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		const struct pattern *p = &patterns[i];
		struct result r = bench_run(&b, p, secs);

		printf("%-20s %10.0f %9.1f %10.1f %10.2f %12.2f\n", p->name,
		    r.iops, r.mbs, r.lat_us, r.vcpu_us,
		    raw_lat_us(&b, p, fd, secs / 2));
	}
	pci_emul_destroy(&b.bvm);
	close(fd);
	unlink(img);
	return 0;
}
