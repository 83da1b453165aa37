/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-blk throughput and IOPS from inside a guest (issue 4's
 * benchmarks), built on the test-guest kit and run unchanged under bhyve
 * and QEMU (bench/compare-io).
 *
 * The guest drives the first virtio-blk function through the modern
 * transport (guest_vio.c): VERSION_1 only (no EVENT_IDX, no indirect
 * descriptors: every completion interrupts, as with a plain driver), one
 * request queue of VIO_QSZ entries, an MSI-X vector for it.  Each
 * request is three descriptors of a fixed slot (header, data, status),
 * so keeping 'qd' requests in flight costs the driver a header store and
 * an avail entry per request.  Completions are reaped on the queue's
 * interrupt, waited for with HLT; every reaped slot is refilled at once
 * and the refills are published with one notification, as a block layer
 * with plugging does.
 *
 * Patterns: sequential read, sequential write, random read, random write,
 * each at 4 KiB and 128 KiB, each at queue depth 1 and 'qd' (default 16,
 * at most VBLK_MAX_QD), 'reqs' requests a run (default 1000) over the
 * first 'region_mb' MiB of the disk (default 64, rounded down to a power
 * of 2; random offsets are block-aligned).  'only=PATTERN' and 'bs=BYTES'
 * (4096 or 131072) pick a subset, for profiling.  The data is never touched by
 * the guest: what is measured is the device path.  Time is the TSC,
 * calibrated in the guest (guest_vio.c).
 *
 * Output: "bench: clocks ...", then per run
 *   bench: vblk PATTERN bs=B qd=Q n=N err=E us=T iops=I mbs=M lat_us=L
 *     kicks=K irqs=R
 * (lat_us the mean time a request was in flight; kicks and irqs per
 * request), then "PASS vblk".  A run that stalls for 'timeout_s' (default
 * 120) ends with the requests it finished, counted as failed.
 */
#include "guest_vio.h"

#define VBLK_MODERN		0x1042
#define VBLK_TRANS		0x1001
#define VBLK_MAX_QD		32	/* 3 descriptors each in VIO_QSZ */
#define VBLK_MAX_BS		(128u << 10)
#define VBLK_T_IN		0
#define VBLK_T_OUT		1
#define VBLK_ST_NONE		0xee
#define VBLK_TICK_MS		100

_Static_assert(3 * VBLK_MAX_QD <= VIO_QSZ, "slots fit the ring");

struct vblk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct vio_ring vblk_ring;
static struct vblk_hdr vblk_hdrs[VBLK_MAX_QD] __attribute__((aligned(16)));
static volatile uint8_t vblk_status[VBLK_MAX_QD];
static uint8_t vblk_data[VBLK_MAX_QD][VBLK_MAX_BS]
    __attribute__((aligned(4096)));

struct vblk_pattern {
	const char *name;
	bool write, random;
};

static const struct vblk_pattern vblk_patterns[] = {
	{ .name = "seq-read" },
	{ .name = "seq-write", .write = true },
	{ .name = "rand-read", .random = true },
	{ .name = "rand-write", .write = true, .random = true },
};

struct vblk_run {
	/* What to do. */
	const struct vblk_pattern *pat;
	uint32_t bs;
	uint32_t qd;
	uint32_t reqs;
	uint64_t block_mask;	/* blocks in the region, minus 1 */
	uint64_t timeout_ticks;
	/* Progress. */
	uint64_t next_block;	/* sequential */
	uint64_t rng;		/* random */
	uint32_t issued, done, errors;
};

/* The next request into slot s (descriptors 3s .. 3s + 2). */
static inline void
vblk_post(struct vblk_run *r, uint32_t s)
{
	uint64_t block;

	if (r->pat->random) {
		r->rng = r->rng * 6364136223846793005ULL +
		    1442695040888963407ULL;
		block = (r->rng >> 33) & r->block_mask;
	} else {
		block = r->next_block++ & r->block_mask;
	}
	vblk_hdrs[s].sector = block * (r->bs / 512);
	vblk_status[s] = VBLK_ST_NONE;
	vio_ring_add(&vblk_ring, (uint16_t)(3 * s));
	r->issued++;
}

/* The fixed chains of the first qd slots, for this run's direction. */
static void
vblk_chains(const struct vblk_run *r)
{
	for (uint32_t s = 0; s < r->qd; s++) {
		struct vio_desc *d = &vblk_ring.desc[3 * s];

		vblk_hdrs[s] = (struct vblk_hdr){
			.type = r->pat->write ? VBLK_T_OUT : VBLK_T_IN };
		d[0] = (struct vio_desc){ .addr = (uint64_t)&vblk_hdrs[s],
			.len = sizeof(vblk_hdrs[s]), .flags = VIO_DESC_F_NEXT,
			.next = (uint16_t)(3 * s + 1) };
		d[1] = (struct vio_desc){ .addr = (uint64_t)vblk_data[s],
			.len = r->bs, .flags = (uint16_t)(VIO_DESC_F_NEXT |
			(r->pat->write ? 0 : VIO_DESC_F_WRITE)),
			.next = (uint16_t)(3 * s + 2) };
		d[2] = (struct vio_desc){ .addr = (uint64_t)&vblk_status[s],
			.len = 1, .flags = VIO_DESC_F_WRITE };
	}
}

/* Reap every completion there is, refilling each slot; true if any. */
static inline bool
vblk_reap(struct vblk_run *r)
{
	bool refilled = false;

	while (vio_ring_pending(&vblk_ring)) {
		uint32_t len, s = vio_ring_take(&vblk_ring, &len) / 3;

		if (s >= r->qd || vblk_status[s] != 0) {
			r->errors++;
			if (s >= r->qd)
				continue;
		}
		r->done++;
		if (r->issued < r->reqs) {
			vblk_post(r, s);
			refilled = true;
		}
	}
	return refilled;
}

/* The whole run; false if it stalled past its timeout. */
static bool
vblk_drive(struct vblk_run *r, const struct vio_clock *clk,
    struct vio_stamp *t0, struct vio_stamp *t1)
{
	uint64_t deadline;

	vio_stamp(clk, t0);
	deadline = t0->tsc + r->timeout_ticks;
	for (uint32_t s = 0; s < r->qd && r->issued < r->reqs; s++)
		vblk_post(r, s);
	vio_ring_kick(&vblk_ring, 0);
	while (r->done < r->reqs) {
		if (vblk_reap(r)) {
			vio_ring_kick(&vblk_ring, 0);
			continue;
		}
		/* The last completion refills nothing: do not wait after it. */
		if (r->done == r->reqs || vio_ring_pending(&vblk_ring))
			continue;
		if (rdtsc() > deadline) {
			vio_stamp(clk, t1);
			return false;
		}
		vio_halt();
	}
	vio_stamp(clk, t1);
	return true;
}

static void
vblk_report(const struct vblk_run *r, const struct vio_clock *clk,
    const struct vio_stamp *t0, const struct vio_stamp *t1, uint64_t kicks,
    uint64_t irqs)
{
	uint64_t hpet_us, us = vio_elapsed_us(clk, t0, t1, &hpet_us);
	uint64_t n = r->done, bytes = n * r->bs;

	if (us == 0)
		us = 1;
	printf("bench: vblk %s bs=%u qd=%u n=%lu err=%u us=%lu iops=%lu "
	    "mbs=%s ", r->pat->name, r->bs, r->qd, n, r->errors, us,
	    n * 1000000 / us, vio_fmt_milli(bytes * 1000 / us));
	printf("hpet_us=%lu lat_us=%s kicks=%s irqs=%s\n", hpet_us,
	    vio_fmt_milli(n ? us * r->qd * 1000 / n : 0),
	    vio_fmt_milli(vio_milli(kicks, n)), vio_fmt_milli(vio_milli(irqs,
	    n)));
}

static void
vblk_run_one(struct vblk_run *r, const struct vio_clock *clk)
{
	uint64_t kicks0 = vblk_ring.kicks, irqs0 = vio_irqs[0];
	struct vio_stamp t0, t1;
	bool ok;

	vblk_chains(r);
	ok = vblk_drive(r, clk, &t0, &t1);
	vblk_report(r, clk, &t0, &t1, vblk_ring.kicks - kicks0,
	    vio_irqs[0] - irqs0);
	CHECK(ok);
	CHECK_EQ(r->errors, 0);
	/* A stalled run leaves requests in the ring: stop here. */
	if (!ok)
		guest_exit(guest_finish("vblk"));
}

static bool
vblk_start(struct vio_dev *d, uint64_t *capacity)
{
	int slot = vpci_find("virtio-blk", VBLK_MODERN, VBLK_TRANS);

	if (!CHECK(slot >= 0) || !CHECK(vio_probe(d, slot)) ||
	    !vio_negotiate(d, VIO_F_VERSION_1) || !vio_msix_setup(d, 1) ||
	    !vio_queue_setup(d, &vblk_ring, 0, VIO_QSZ) || !vio_driver_ok(d))
		return false;
	*capacity = vio_devcfg_read32(d, 0) |
	    (uint64_t)vio_devcfg_read32(d, 4) << 32;
	printf("vblk: virtio-blk at 00:%02x.0, %lu sectors, msix %u\n", slot,
	    *capacity, d->msix_count);
	return true;
}

/* The largest power of 2 not above v (v > 0). */
static uint64_t
vblk_pow2_floor(uint64_t v)
{
	return 1ULL << (63 - __builtin_clzll(v));
}

/* Every pattern at both sizes, at depth 1 and at depth qd. */
static void
vblk_all(const struct vio_clock *clk, uint64_t region, uint32_t qd,
    uint32_t reqs, uint64_t timeout_s, const char *args)
{
	static const uint32_t sizes[] = { 4096, VBLK_MAX_BS };
	const uint32_t depths[] = { 1, qd };
	const unsigned ndepths = qd > 1 ? 2 : 1;
	char only[16] = "";
	uint64_t bs = 0;

	(void)cmdline_get(args, "only", only, sizeof(only));
	(void)cmdline_get_u64(args, "bs", &bs);
	for (unsigned p = 0; p < 4; p++)
		for (unsigned z = 0; z < 2; z++)
			for (unsigned q = 0; q < ndepths; q++) {
				if ((only[0] && strcmp(only,
				    vblk_patterns[p].name) != 0) ||
				    (bs != 0 && bs != sizes[z]))
					continue;
				struct vblk_run r = {
					.pat = &vblk_patterns[p],
					.bs = sizes[z], .qd = depths[q],
					.reqs = reqs,
					.block_mask = region * 512 / sizes[z]
					    - 1,
					.timeout_ticks = timeout_s *
					    clk->tsc_hz,
					.rng = 0x9e3779b97f4a7c15ULL + p,
				};

				vblk_run_one(&r, clk);
			}
}

int
guest_main(struct boot_info *bi)
{
	struct vio_clock clk;
	struct vio_dev d;
	uint64_t cap, region;
	uint32_t qd = (uint32_t)vio_arg(bi->args, "qd", 16, 1, VBLK_MAX_QD);
	uint32_t reqs = (uint32_t)vio_arg(bi->args, "reqs", 1000, 1,
	    10000000);

	vio_irq_init(bi->args);
	vio_tsc_calibrate(&clk, bi->args);
	printf("bench: clocks tsc_hz=%lu source=%s\n", clk.tsc_hz, clk.source);
	if (!CHECK(clk.tsc_hz >= 1000000) || !vblk_start(&d, &cap))
		return guest_finish("vblk");
	region = vio_arg(bi->args, "region_mb", 64, 1, 1 << 20) << 11;
	region = vblk_pow2_floor(region < cap ? region : cap);
	if (!CHECK(region * 512 >= VBLK_MAX_BS))
		return guest_finish("vblk");
	vio_watchdog((uint32_t)vio_arg(bi->args, "tick_ms", VBLK_TICK_MS, 0,
	    10000));
	vblk_all(&clk, region, qd, reqs,
	    vio_arg(bi->args, "timeout_s", 120, 1, 3600), bi->args);
	vio_watchdog(0);
	vio_reset(&d);
	return guest_finish("vblk");
}
