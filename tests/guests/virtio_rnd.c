/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-rnd through the modern virtio-pci transport, driven the way a
 * driver does (virtio spec v1.2, 3.1 and 4.1): find 1af4:1044 (modern)
 * or 1af4:1005 (transitional) on bus 0, follow the vendor capabilities
 * to the common, notify and ISR structures in their BARs (the kit maps
 * 0-4 GiB), negotiate VERSION_1 only, set up queue 0 with rings in this
 * image, post a device-writable buffer, notify, wait for the used ring
 * (a bounded poll: interrupts stay off), and check that random bytes
 * arrived.  Twice, so the two buffers can be compared.
 */
#include "guest.h"
#include "virtio_pci.h"


#define RND_MODERN	0x1044
#define RND_TRANS	0x1005


/* struct virtio_pci_common_cfg (4.1.4.3) */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_NUMQ		0x12
#define C_STATUS	0x14
#define C_QSEL		0x16
#define C_QSIZE		0x18
#define C_QVEC		0x1a
#define C_QENABLE	0x1c
#define C_QNOTIFYOFF	0x1e
#define C_QDESC		0x20
#define C_QDRIVER	0x28
#define C_QDEVICE	0x30

#define S_ACK		0x01
#define S_DRIVER	0x02
#define S_DRIVER_OK	0x04
#define S_FEATURES_OK	0x08

#define DESC_F_WRITE	0x2
#define QSZ		8
#define BUFSZ		64

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
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
static uint8_t bufs[2][BUFSZ];

struct vdev {
	struct vpci v;
	uint16_t qsz;
	uint64_t qnotify;
};

/* 3.1.1 up to FEATURES_OK, accepting VERSION_1 (bit 32) alone. */
static bool
negotiate(struct vdev *d)
{
	uint64_t c = d->v.common;

	mmio_write8(c + C_STATUS, 0);
	CHECK_EQ(mmio_read8(c + C_STATUS), 0);
	mmio_write8(c + C_STATUS, S_ACK);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER);
	mmio_write32(c + C_DFSELECT, 1);
	if (!CHECK(mmio_read32(c + C_DF) & 1))
		return false;
	mmio_write32(c + C_GFSELECT, 0);
	mmio_write32(c + C_GF, 0);
	mmio_write32(c + C_GFSELECT, 1);
	mmio_write32(c + C_GF, 1);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return CHECK(mmio_read8(c + C_STATUS) & S_FEATURES_OK);
}

static bool
setup_queue(struct vdev *d)
{
	uint64_t c = d->v.common;
	uint16_t max;

	CHECK(mmio_read16(c + C_NUMQ) >= 1);
	mmio_write16(c + C_QSEL, 0);
	max = mmio_read16(c + C_QSIZE);
	if (!CHECK(max != 0 && (max & (max - 1)) == 0))
		return false;
	d->qsz = max < QSZ ? max : QSZ;
	mmio_write16(c + C_QSIZE, d->qsz);
	CHECK_EQ(mmio_read16(c + C_QVEC), 0xffff);
	vpci_write64(c + C_QDESC, (uint64_t)desc);
	vpci_write64(c + C_QDRIVER, (uint64_t)&avail);
	vpci_write64(c + C_QDEVICE, (uint64_t)&used);
	d->qnotify = d->v.notify +
	    (uint64_t)mmio_read16(c + C_QNOTIFYOFF) * d->v.notify_mult;
	mmio_write16(c + C_QENABLE, 1);
	if (!CHECK_EQ(mmio_read16(c + C_QENABLE), 1))
		return false;
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK |
	    S_DRIVER_OK);
	return CHECK_EQ(mmio_read8(c + C_STATUS), 0x0f);
}

/* One buffer through the queue; how many bytes the device wrote. */
static uint32_t
request(struct vdev *d, uint8_t *buf)
{
	uint16_t idx = avail.idx, slot = idx % d->qsz;

	memset(buf, 0, BUFSZ);
	desc[slot] = (struct vdesc){ .addr = (uint64_t)buf, .len = BUFSZ,
		.flags = DESC_F_WRITE };
	avail.ring[slot] = slot;
	__sync_synchronize();	/* descriptor and entry before idx */
	avail.idx = (uint16_t)(idx + 1);
	__sync_synchronize();	/* idx before the notification */
	mmio_write16(d->qnotify, 0);
	(void)poll_u16(&used.idx, (uint16_t)(idx + 1));
	if (!CHECK_EQ(used.idx, (uint16_t)(idx + 1)))
		return 0;
	__sync_synchronize();	/* the used entry after its idx */
	CHECK_EQ(used.ring[slot].id, slot);
	return used.ring[slot].len;
}

static void
check_random(const uint8_t *buf, uint32_t len)
{
	uint32_t nonzero = 0;

	CHECK(len > 0 && len <= BUFSZ);
	for (uint32_t i = 0; i < len && i < BUFSZ; i++)
		nonzero += buf[i] != 0;
	CHECK(nonzero > 0);
	printf("%u random bytes, %u non-zero: %02x %02x %02x %02x ...\n",
	    len, nonzero, buf[0], buf[1], buf[2], buf[3]);
}

int
guest_main(struct boot_info *bi)
{
	int slot = vpci_find("virtio-rnd", RND_MODERN, RND_TRANS);
	struct vdev d = { 0 };
	uint32_t len0, len1;

	if (!CHECK(slot >= 0))
		return guest_finish("virtio_rnd");
	if (!CHECK(vpci_probe(&d.v, slot) && d.v.isr) || !negotiate(&d) ||
	    !setup_queue(&d))
		return guest_finish("virtio_rnd");
	len0 = request(&d, bufs[0]);
	check_random(bufs[0], len0);
	/* No MSI-X enabled: the queue interrupt shows in the ISR (4.1.4.5). */
	CHECK(mmio_read8(d.v.isr) & 1);
	CHECK_EQ(mmio_read8(d.v.isr), 0);
	len1 = request(&d, bufs[1]);
	check_random(bufs[1], len1);
	CHECK(len0 != len1 || memcmp(bufs[0], bufs[1], len0) != 0);
	mmio_write8(d.v.common + C_STATUS, 0);
	CHECK_EQ(mmio_read8(d.v.common + C_STATUS), 0);
	return guest_finish("virtio_rnd");
}
