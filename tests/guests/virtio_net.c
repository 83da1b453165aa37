/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-net with the loopback backend (-s N,virtio-net,loopback),
 * driven through the modern virtio-pci transport as a driver does
 * (virtio spec v1.2, 3.1, 4.1, 5.1): find 1af4:1041 (modern) or
 * 1af4:1000 (transitional) on bus 0, follow the vendor capabilities,
 * read the MAC and MTU from the device configuration, set up the receive
 * and transmit queues with rings in this image, and exchange frames with
 * ourselves: every frame transmitted must come back on the receive queue
 * whole, after a 12-byte header.  Twice: without MRG_RXBUF (one buffer
 * per frame, num_buffers 1) and, after a reset, with it (a full-size
 * frame over several 512-byte buffers, num_buffers says how many).
 * Completion is polled with a bound: interrupts stay off.
 *
 * With "mode=dhcp" on the command line the backend is slirp instead
 * (-s N,virtio-net,slirp): the guest broadcasts a DHCP DISCOVER and
 * checks that an OFFER of 10.0.2.15 from 10.0.2.2 comes back.  Nothing
 * else is sent: no DNS query, nothing for outside the host.
 */
#include "guest.h"
#include "virtio_pci.h"


#define NET_MODERN	0x1041
#define NET_TRANS	0x1000


/* struct virtio_pci_common_cfg (4.1.4.3) */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_NUMQ		0x12
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

/* Feature bits (5.1.3, 6). */
#define F_MTU		(1ULL << 3)
#define F_MAC		(1ULL << 5)
#define F_MRG_RXBUF	(1ULL << 15)
#define F_STATUS	(1ULL << 16)
#define F_VERSION_1	(1ULL << 32)

#define DESC_F_WRITE	0x2
#define QSZ		8
#define HDR		12	/* struct virtio_net_hdr with VERSION_1 */
#define BUFSZ		1600
#define SMALLBUF	512

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring {
	struct vdesc desc[QSZ] __attribute__((aligned(16)));
	volatile struct {
		uint16_t flags, idx, ring[QSZ], used_event;
	} avail __attribute__((aligned(4)));
	volatile struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[QSZ];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
};

static struct vring rings[2];	/* 0: receiveq1, 1: transmitq1 */
static uint8_t rxbuf[QSZ][BUFSZ];
static uint8_t txbuf[QSZ][BUFSZ];

struct vdev {
	struct vpci v;
	uint64_t qnotify[2];
	uint16_t rx_seen;	/* used entries of the receive queue seen */
	uint8_t mac[6];
	bool qemu;		/* peer=qemu on the command line */
};

/* 3.1.1 up to FEATURES_OK with exactly 'want'. */
static bool
negotiate(struct vdev *d, uint64_t want)
{
	uint64_t c = d->v.common, have;

	mmio_write8(c + C_STATUS, 0);
	CHECK_EQ(mmio_read8(c + C_STATUS), 0);
	mmio_write8(c + C_STATUS, S_ACK);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER);
	mmio_write32(c + C_DFSELECT, 0);
	have = mmio_read32(c + C_DF);
	mmio_write32(c + C_DFSELECT, 1);
	have |= (uint64_t)mmio_read32(c + C_DF) << 32;
	if (!CHECK_EQ(have & want, want))
		return false;
	mmio_write32(c + C_GFSELECT, 0);
	mmio_write32(c + C_GF, (uint32_t)want);
	mmio_write32(c + C_GFSELECT, 1);
	mmio_write32(c + C_GF, (uint32_t)(want >> 32));
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return CHECK(mmio_read8(c + C_STATUS) & S_FEATURES_OK);
}

static bool
setup_queue(struct vdev *d, int q)
{
	uint64_t c = d->v.common;
	struct vring *r = &rings[q];

	memset(r, 0, sizeof(*r));
	mmio_write16(c + C_QSEL, (uint16_t)q);
	if (!CHECK(mmio_read16(c + C_QSIZE) >= QSZ))
		return false;
	mmio_write16(c + C_QSIZE, QSZ);
	vpci_write64(c + C_QDESC, (uint64_t)r->desc);
	vpci_write64(c + C_QDRIVER, (uint64_t)&r->avail);
	vpci_write64(c + C_QDEVICE, (uint64_t)&r->used);
	d->qnotify[q] = d->v.notify +
	    (uint64_t)mmio_read16(c + C_QNOTIFYOFF) * d->v.notify_mult;
	mmio_write16(c + C_QENABLE, 1);
	return CHECK_EQ(mmio_read16(c + C_QENABLE), 1);
}

/* Features, both queues, DRIVER_OK; the configuration read back. */
static bool
start(struct vdev *d, uint64_t features)
{
	if (!negotiate(d, features) || !CHECK(mmio_read16(d->v.common +
	    C_NUMQ) >= 2) || !setup_queue(d, 0) || !setup_queue(d, 1))
		return false;
	mmio_write8(d->v.common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK |
	    S_DRIVER_OK);
	d->rx_seen = 0;
	for (int i = 0; i < 6; i++)
		d->mac[i] = mmio_read8(d->v.device + (uint64_t)i);
	CHECK_EQ(mmio_read16(d->v.device + 6) & 1, 1);	/* link up */
	CHECK_EQ(mmio_read16(d->v.device + 10), 1500);	/* mtu */
	return CHECK_EQ(mmio_read8(d->v.common + C_STATUS), 0x0f);
}

/* Post one descriptor as a chain of its own and tell the device. */
static void
post(struct vdev *d, int q, int slot, void *buf, uint32_t len,
    uint16_t flags)
{
	struct vring *r = &rings[q];
	uint16_t idx = r->avail.idx;

	r->desc[slot] = (struct vdesc){ .addr = (uint64_t)buf, .len = len,
		.flags = flags };
	r->avail.ring[idx % QSZ] = (uint16_t)slot;
	__sync_synchronize();	/* descriptor and entry before idx */
	r->avail.idx = (uint16_t)(idx + 1);
	__sync_synchronize();	/* idx before the notification */
	mmio_write16(d->qnotify[q], (uint16_t)q);
}

static bool
wait_used(int q, uint16_t want)
{
	volatile uint16_t *idx = &rings[q].used.idx;

	(void)poll_u16(idx, want);
	__sync_synchronize();	/* entries after their idx */
	return CHECK_EQ(*idx, want);
}

/* Ethernet frame: broadcast, our MAC, ethertype 0x88b5, a pattern. */
static void
make_frame(uint8_t *p, uint32_t len, uint8_t seed, const uint8_t *mac)
{
	memset(p, 0xff, 6);
	memcpy(p + 6, mac, 6);
	p[12] = 0x88;
	p[13] = 0xb5;
	for (uint32_t i = 14; i < len; i++)
		p[i] = (uint8_t)(seed + i);
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Without MRG_RXBUF: frames of four sizes, one buffer each. */
static void
exchange_single(struct vdev *d)
{
	static const uint32_t sizes[] = { 60, 200, 1000, 1514 };
	const int n = sizeof(sizes) / sizeof(sizes[0]);

	for (int i = 0; i < QSZ; i++)
		post(d, 0, i, rxbuf[i], BUFSZ, DESC_F_WRITE);
	for (int i = 0; i < n; i++) {
		memset(txbuf[i], 0, HDR);
		make_frame(txbuf[i] + HDR, sizes[i], (uint8_t)(i * 40), d->mac);
		post(d, 1, i, txbuf[i], HDR + sizes[i], 0);
	}
	if (!wait_used(1, (uint16_t)n) || !wait_used(0, (uint16_t)n))
		return;
	for (int i = 0; i < n; i++) {
		uint32_t id = rings[0].used.ring[i].id;
		uint32_t len = rings[0].used.ring[i].len;

		CHECK(rings[1].used.ring[i].len == 0);
		if (!CHECK(id < QSZ) || !CHECK_EQ(len, HDR + sizes[i]))
			continue;
		CHECK_EQ(rxbuf[id][0], 0);		/* flags */
		CHECK_EQ(rxbuf[id][1], 0);		/* gso_type */
		/* num_buffers: 1 without MRG_RXBUF (5.1.6.4.1); QEMU 7.2
		   leaves the field as it was. */
		CHECK(rd16(rxbuf[id] + 10) == 1 ||
		    (d->qemu && rd16(rxbuf[id] + 10) == 0));
		CHECK(memcmp(rxbuf[id] + HDR, txbuf[i] + HDR, sizes[i]) == 0);
		printf("frame of %u bytes back intact\n", sizes[i]);
	}
	d->rx_seen = (uint16_t)n;
}

/* With MRG_RXBUF: a 1514-byte frame over 512-byte buffers. */
static void
exchange_merged(struct vdev *d)
{
	const uint32_t size = 1514, total = HDR + size;
	uint32_t off = 0, want = (total + SMALLBUF - 1) / SMALLBUF;
	uint8_t *tx = txbuf[0];

	for (int i = 0; i < QSZ; i++)
		post(d, 0, i, rxbuf[i], SMALLBUF, DESC_F_WRITE);
	memset(tx, 0, HDR);
	make_frame(tx + HDR, size, 0x5a, d->mac);
	post(d, 1, 0, tx, total, 0);
	if (!wait_used(0, (uint16_t)want))
		return;
	CHECK_EQ(rd16(rxbuf[rings[0].used.ring[0].id] + 10), want);
	for (uint32_t i = 0; i < want; i++) {
		uint32_t id = rings[0].used.ring[i].id;
		uint32_t len = rings[0].used.ring[i].len;

		if (!CHECK(id < QSZ) || !CHECK(len <= SMALLBUF) ||
		    !CHECK(off + len <= total))
			return;
		CHECK(memcmp(rxbuf[id] + (i == 0 ? HDR : 0), tx + off +
		    (i == 0 ? HDR : 0), len - (i == 0 ? HDR : 0)) == 0);
		off += len;
	}
	CHECK_EQ(off, total);
	printf("frame of %u bytes back over %u buffers\n", size, want);
}

/* ---- DHCP through slirp (RFC 2131) ---- */

#define DHCP_XID	0x6a7e5a11
#define BOOTP_LEN	548	/* a full 312-byte options field */
#define IP4(a, b, c, d)	\
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* An IPv4 header (RFC 791) with its checksum; UDP checksum left 0. */
static void
ip_udp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t len)
{
	uint32_t sum = 0;

	memset(p, 0, 28);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(28 + len));
	p[8] = 64;
	p[9] = 17;
	memset(p + 16, 0xff, 4);		/* to 255.255.255.255 */
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(p + 10, (uint16_t)~sum);
	put16(p + 20, sport);
	put16(p + 22, dport);
	put16(p + 24, (uint16_t)(8 + len));
}

static uint32_t
dhcp_discover(uint8_t *p, const uint8_t *mac)
{
	uint8_t *b = p + 14 + 28;

	memset(p, 0xff, 6);
	memcpy(p + 6, mac, 6);
	p[12] = 0x08;
	p[13] = 0x00;
	ip_udp(p + 14, 68, 67, BOOTP_LEN);
	memset(b, 0, BOOTP_LEN);
	b[0] = 1;				/* BOOTREQUEST, Ethernet */
	b[1] = 1;
	b[2] = 6;
	b[4] = DHCP_XID >> 24;
	b[5] = (uint8_t)(DHCP_XID >> 16);
	b[6] = (uint8_t)(DHCP_XID >> 8);
	b[7] = (uint8_t)DHCP_XID;
	b[10] = 0x80;				/* broadcast the reply */
	memcpy(b + 28, mac, 6);
	b[236] = 99;				/* the magic cookie */
	b[237] = 130;
	b[238] = 83;
	b[239] = 99;
	b[240] = 53;				/* DHCPDISCOVER */
	b[241] = 1;
	b[242] = 1;
	b[243] = 255;
	return 14 + 28 + BOOTP_LEN;
}

/* The DHCP message type of a reply to our DISCOVER, or 0. */
static int
dhcp_reply_type(const uint8_t *f, uint32_t len)
{
	const uint8_t *b = f + 14 + 28;

	if (len < 14 + 28 + 244 || f[12] != 0x08 || f[13] != 0x00 ||
	    f[14] != 0x45 || f[23] != 17 || f[34] != 0 || f[35] != 67 ||
	    b[0] != 2 || get32(b + 4) != DHCP_XID)
		return 0;
	for (uint32_t i = 240; 14 + 28 + i + 2 < len && b[i] != 255;
	    i += b[i] ? 2u + b[i + 1] : 1u)
		if (b[i] == 53 && b[i + 1] == 1)
			return b[i + 2];
	return 0;
}

static void
dhcp_test(struct vdev *d)
{
	uint32_t len = dhcp_discover(txbuf[0] + HDR, d->mac);
	int found = 0;

	for (int i = 0; i < QSZ; i++)
		post(d, 0, i, rxbuf[i], BUFSZ, DESC_F_WRITE);
	memset(txbuf[0], 0, HDR);
	post(d, 1, 0, txbuf[0], HDR + len, 0);
	/* Whatever else arrives first, the OFFER must be among the frames. */
	for (uint16_t n = 1; n <= QSZ && !found && wait_used(0, n); n++) {
		uint32_t id = rings[0].used.ring[n - 1].id;
		uint32_t l = rings[0].used.ring[n - 1].len;
		const uint8_t *f = rxbuf[id % QSZ] + HDR;

		if (l <= HDR || dhcp_reply_type(f, l - HDR) != 2)
			continue;
		found = 1;
		CHECK_EQ(get32(f + 14 + 28 + 16), IP4(10, 0, 2, 15));
		CHECK_EQ(get32(f + 14 + 12), IP4(10, 0, 2, 2));
		printf("DHCP offer: 10.0.2.%u from 10.0.2.%u\n",
		    f[14 + 28 + 19], f[14 + 15]);
	}
	CHECK(found);
}

int
guest_main(struct boot_info *bi)
{
	int slot = vpci_find("virtio-net", NET_MODERN, NET_TRANS);
	struct vdev d = { 0 };
	uint64_t base = F_VERSION_1 | F_MAC | F_MTU | F_STATUS;
	char mode[16] = "loopback", peer[8] = "";

	(void)cmdline_get(bi->args, "mode", mode, sizeof(mode));
	d.qemu = cmdline_get(bi->args, "peer", peer, sizeof(peer)) &&
	    strcmp(peer, "qemu") == 0;
	if (!CHECK(slot >= 0))
		return guest_finish("virtio_net");
	if (!CHECK(vpci_probe(&d.v, slot) && d.v.isr && d.v.device) ||
	    !start(&d, base))
		return guest_finish("virtio_net");
	printf("mac %02x:%02x:%02x:%02x:%02x:%02x, mode %s\n", d.mac[0],
	    d.mac[1], d.mac[2], d.mac[3], d.mac[4], d.mac[5], mode);
	if (strcmp(mode, "dhcp") == 0) {
		dhcp_test(&d);
	} else {
		exchange_single(&d);
		if (start(&d, base | F_MRG_RXBUF))
			exchange_merged(&d);
	}
	mmio_write8(d.v.common + C_STATUS, 0);
	CHECK_EQ(mmio_read8(d.v.common + C_STATUS), 0);
	return guest_finish("virtio_net");
}
