/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-blk through the modern virtio-pci transport (virtio spec v1.2,
 * 3.1, 4.1, 5.2), driven as a driver does: find 1af4:1042 (modern) or
 * 1af4:1001 (transitional) on bus 0, follow the vendor capabilities to
 * the common, notify and device config structures, negotiate VERSION_1,
 * FLUSH and WRITE_ZEROES, set up queue 0 with rings in this image, and
 * send requests, polling the used ring (interrupts stay off).
 *
 * Command line: sectors=N (the capacity the disk must have), ser=ID (the
 * GET_ID string), lba=N (where to write).  The guest writes NSECT
 * sectors of "VBLKTES\n" repeated at lba, flushes, reads them back and
 * compares; the harness then finds the same bytes at lba * 512 in the
 * image on the host.  Besides: GET_ID, a read past the end (IOERR), an
 * unknown request (UNSUPP), and write-zeroes over a written sector.
 */
#include "guest.h"
#include "virtio_pci.h"

#define BLK_MODERN	0x1042
#define BLK_TRANS	0x1001


/* struct virtio_pci_common_cfg (4.1.4.3) */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_STATUS	0x14
#define C_QSEL		0x16
#define C_QSIZE		0x18
#define C_QENABLE	0x1c
#define C_QNOTIFYOFF	0x1e
#define C_QDESC		0x20
#define C_QDRIVER	0x28
#define C_QDEVICE	0x30

#define S_ACK		0x01
#define S_DRIVER	0x02
#define S_DRIVER_OK	0x04
#define S_FEATURES_OK	0x08

/* virtio-blk (5.2) */
#define F_FLUSH		(1u << 9)
#define F_WRITE_ZEROES	(1u << 14)
#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_WRITE_ZEROES	13
#define ST_OK		0
#define ST_IOERR	1
#define ST_UNSUPP	2
#define ST_NONE		0xee

#define DESC_F_NEXT	0x1
#define DESC_F_WRITE	0x2
#define QSZ		8
#define NSECT		4

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct dwz_seg {
	uint64_t sector;
	uint32_t num;
	uint32_t flags;
};

static struct vdesc desc[QSZ] __attribute__((aligned(16)));
static volatile struct {
	uint16_t flags, idx, ring[QSZ], used_event;
} avail __attribute__((aligned(4)));
static volatile struct {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[QSZ];
	uint16_t avail_event;
} used __attribute__((aligned(4)));
static struct blk_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t status;
static uint8_t wbuf[NSECT * 512] __attribute__((aligned(512)));
static uint8_t rbuf[NSECT * 512] __attribute__((aligned(512)));
static struct dwz_seg seg __attribute__((aligned(16)));

struct vdev {
	struct vpci v;
	uint64_t qnotify;
	uint32_t features;	/* bits 0-31 accepted */
};

/* 3.1.1: VERSION_1, and FLUSH and WRITE_ZEROES when offered. */
static bool
blk_negotiate(struct vdev *d)
{
	uint64_t c = d->v.common;
	uint32_t lo;

	mmio_write8(c + C_STATUS, 0);
	mmio_write8(c + C_STATUS, S_ACK);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER);
	mmio_write32(c + C_DFSELECT, 0);
	lo = mmio_read32(c + C_DF);
	CHECK(lo & F_FLUSH);
	d->features = lo & (F_FLUSH | F_WRITE_ZEROES);
	mmio_write32(c + C_DFSELECT, 1);
	if (!CHECK(mmio_read32(c + C_DF) & 1))
		return false;
	mmio_write32(c + C_GFSELECT, 0);
	mmio_write32(c + C_GF, d->features);
	mmio_write32(c + C_GFSELECT, 1);
	mmio_write32(c + C_GF, 1);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return CHECK(mmio_read8(c + C_STATUS) & S_FEATURES_OK);
}

static bool
blk_queue(struct vdev *d)
{
	uint64_t c = d->v.common;

	mmio_write16(c + C_QSEL, 0);
	if (!CHECK(mmio_read16(c + C_QSIZE) >= QSZ))
		return false;
	mmio_write16(c + C_QSIZE, QSZ);
	vpci_write64(c + C_QDESC, (uint64_t)desc);
	vpci_write64(c + C_QDRIVER, (uint64_t)&avail);
	vpci_write64(c + C_QDEVICE, (uint64_t)&used);
	d->qnotify = d->v.notify +
	    (uint64_t)mmio_read16(c + C_QNOTIFYOFF) * d->v.notify_mult;
	mmio_write16(c + C_QENABLE, 1);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK |
	    S_DRIVER_OK);
	return CHECK_EQ(mmio_read8(c + C_STATUS), 0x0f);
}

/*
 * One request: header, data (device-writable when 'in'), status; each
 * request uses descriptors 0-2.  Returns the status byte.
 */
static uint8_t
blk_request(struct vdev *d, uint32_t type, uint64_t sector, void *data,
    uint32_t len, bool in)
{
	uint16_t idx = avail.idx;
	int n = 0;

	hdr = (struct blk_hdr){ .type = type, .sector = sector };
	status = ST_NONE;
	desc[n++] = (struct vdesc){ .addr = (uint64_t)&hdr, .len = 16,
		.flags = DESC_F_NEXT, .next = 1 };
	if (len > 0) {
		desc[n] = (struct vdesc){ .addr = (uint64_t)data, .len = len,
			.flags = DESC_F_NEXT | (in ? DESC_F_WRITE : 0),
			.next = (uint16_t)(n + 1) };
		n++;
	}
	desc[n] = (struct vdesc){ .addr = (uint64_t)&status, .len = 1,
		.flags = DESC_F_WRITE };
	avail.ring[idx % QSZ] = 0;
	__sync_synchronize();	/* descriptors and entry before idx */
	avail.idx = (uint16_t)(idx + 1);
	__sync_synchronize();	/* idx before the notification */
	mmio_write16(d->qnotify, 0);
	(void)poll_u16(&used.idx, (uint16_t)(idx + 1));
	if (!CHECK_EQ(used.idx, (uint16_t)(idx + 1)))
		return ST_NONE;
	__sync_synchronize();	/* the used entry and status after idx */
	CHECK_EQ(used.ring[idx % QSZ].id, 0);
	return status;
}

static void
blk_pattern(void)
{
	static const char unit[8] = "VBLKTES\n";

	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)unit[i % 8];
}

static void
blk_get_id(struct vdev *d, const char *args)
{
	char want[24] = "", id[21];

	memset(rbuf, 0, 32);
	CHECK_EQ(blk_request(d, T_GET_ID, 0, rbuf, 20, true), ST_OK);
	memcpy(id, rbuf, 20);
	id[20] = '\0';
	printf("virtio_blk: id '%s'\n", id);
	if (cmdline_get(args, "ser", want, sizeof(want)))
		CHECK(strcmp(id, want) == 0);
}

static void
blk_io(struct vdev *d, uint64_t lba, uint64_t cap)
{
	blk_pattern();
	CHECK_EQ(blk_request(d, T_OUT, lba, wbuf, sizeof(wbuf), false), ST_OK);
	CHECK_EQ(blk_request(d, T_FLUSH, 0, NULL, 0, false), ST_OK);
	memset(rbuf, 0, sizeof(rbuf));
	CHECK_EQ(blk_request(d, T_IN, lba, rbuf, sizeof(rbuf), true), ST_OK);
	CHECK(memcmp(rbuf, wbuf, sizeof(wbuf)) == 0);
	printf("virtio_blk: wrote, flushed and read back %d sectors at %lu\n",
	    NSECT, (unsigned long)lba);
	/* Past the end: an error, and nothing read into the buffer. */
	memset(rbuf, 0x5a, sizeof(rbuf));
	CHECK_EQ(blk_request(d, T_IN, cap - 1, rbuf, 1024, true), ST_IOERR);
	CHECK_EQ(rbuf[0], 0x5a);
	CHECK_EQ(blk_request(d, 0x77, 0, rbuf, 512, true), ST_UNSUPP);
}

/* Write-zeroes over a written sector reads back as zeroes. */
static void
blk_zeroes(struct vdev *d, uint64_t lba)
{
	if (!(d->features & F_WRITE_ZEROES))
		return;
	CHECK_EQ(blk_request(d, T_OUT, lba, wbuf, 512, false), ST_OK);
	seg = (struct dwz_seg){ .sector = lba, .num = 1 };
	CHECK_EQ(blk_request(d, T_WRITE_ZEROES, 0, &seg, sizeof(seg), false),
	    ST_OK);
	memset(rbuf, 0x5a, 512);
	CHECK_EQ(blk_request(d, T_IN, lba, rbuf, 512, true), ST_OK);
	CHECK_EQ(rbuf[0], 0);
	CHECK_EQ(rbuf[511], 0);
}

int
guest_main(struct boot_info *bi)
{
	int slot = vpci_find("virtio-blk", BLK_MODERN, BLK_TRANS);
	struct vdev d = { 0 };
	uint64_t want = 0, lba = 100, cap;

	if (!CHECK(slot >= 0))
		return guest_finish("virtio_blk");
	if (!CHECK(vpci_probe(&d.v, slot) && d.v.device) ||
	    !blk_negotiate(&d) || !blk_queue(&d))
		return guest_finish("virtio_blk");
	cap = mmio_read32(d.v.device) | (uint64_t)mmio_read32(d.v.device + 4) << 32;
	printf("virtio_blk: %lu sectors of %u bytes\n", (unsigned long)cap,
	    mmio_read32(d.v.device + 20));
	if (cmdline_get_u64(bi->args, "sectors", &want))
		CHECK_EQ(cap, want);
	(void)cmdline_get_u64(bi->args, "lba", &lba);
	if (!CHECK(cap > lba + 2 * NSECT + 100))
		return guest_finish("virtio_blk");
	blk_get_id(&d, bi->args);
	blk_io(&d, lba, cap);
	blk_zeroes(&d, lba + 100);
	mmio_write8(d.v.common + C_STATUS, 0);
	return guest_finish("virtio_blk");
}
