/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-net throughput from inside a guest (issue 4's benchmarks),
 * built on the test-guest kit and run unchanged under bhyve and QEMU
 * (bench/compare-io).  The driver (guest_vio.c): VERSION_1 and MAC only
 * (a 12-byte header, one buffer per frame, no offloads), receiveq1 and
 * transmitq1 of VIO_QSZ entries with 2 KiB buffers, an MSI-X vector each,
 * waits in HLT.  Frame sizes are Ethernet frames without the FCS.
 *
 * mode=loop (bhyve's loopback backend; QEMU's dgram netdev aimed at its
 * own port): for frames of 64 and 1514 bytes, 'frames' frames (default
 * 2000) go out with at most 'window' (default 32) sent but not yet back;
 * figures are frames back per second and their bytes.
 *
 * mode=peer (slirp with a UDP host forward, or tap): the guest is
 * 'ip=' (default 10.0.2.15), answers ARP for it, announces itself with a
 * gratuitous ARP, prints "bench: vnet ready", and then follows the host
 * helper (bench/vnet_peer.c) whose UDP datagrams reach 'port=' (default
 * 5001).  Every datagram starts with struct vnet_msg:
 *   DATA  host -> guest: counted per run (receive throughput);
 *   END   the run is over: the guest reports what it got;
 *   GO    the guest sends 'count' frames of 'size' bytes back to the
 *         sender, then END (transmit throughput, measured as frames
 *         completed by the device per second; the helper counts what
 *         arrived);
 *   QUIT  the guest finishes.
 * A guest that hears nothing for 'timeout_s' (default 300) gives up.
 *
 * Output lines:
 *   bench: vnet loop size=S n=N lost=L us=T fps=F mbs=M kicks=K irqs=I
 *   bench: vnet rx run=R size=S n=N lost=L us=T fps=F mbs=M irqs=I
 *   bench: vnet tx run=R size=S n=N us=T fps=F mbs=M kicks=K irqs=I
 * (kicks and irqs per frame), then "PASS vnet".
 */
#include "guest_vio.h"

#define VNET_MODERN		0x1041
#define VNET_TRANS		0x1000
#define VNET_F_MAC		(1ULL << 5)
#define VNET_HDR		12	/* struct virtio_net_hdr, VERSION_1 */
#define VNET_BUF		2048
#define VNET_RXQ		0
#define VNET_TXQ		1
#define VNET_MAX_FRAME		1514
#define VNET_TICK_MS		100
#define VNET_ETH_ARP		0x0806
#define VNET_ETH_IP		0x0800
#define VNET_ETH_TEST		0x88b5	/* IEEE local experimental */
#define VNET_UDP_HDRS		42	/* Ethernet, IPv4, UDP */
#define VNET_MAGIC		0x5642	/* "BV" little-endian */

enum { VNET_DATA = 1, VNET_END, VNET_GO, VNET_QUIT };

/* At the start of every UDP payload; fits a 64-byte frame (22 bytes). */
struct vnet_msg {
	uint16_t magic;
	uint8_t kind;
	uint8_t run;
	uint32_t seq;
	uint32_t count;
	uint16_t size;		/* GO: frame length to send */
	uint16_t pad;
} __attribute__((packed));

_Static_assert(sizeof(struct vnet_msg) <= 64 - VNET_UDP_HDRS, "fits 64");

static struct vio_ring vnet_rings[2];
static uint8_t vnet_rxbuf[VIO_QSZ][VNET_BUF] __attribute__((aligned(64)));
static uint8_t vnet_txbuf[VIO_QSZ][VNET_BUF] __attribute__((aligned(64)));

struct vnet {
	struct vio_dev dev;
	struct vio_clock clk;
	uint8_t mac[6];
	uint8_t ip[4];
	uint16_t port;
	uint64_t timeout_ticks;
	/* Transmit slots not in flight, as a stack. */
	uint16_t free_tx[VIO_QSZ];
	unsigned nfree;
	/* The receive run being counted (peer mode). */
	uint8_t run;
	bool run_open;
	uint32_t run_count, run_n;
	uint16_t run_size;
	uint64_t run_t0, run_t1, run_irqs0;
	int last_go;		/* the run of the last GO obeyed, or -1 */
	bool quit;
};

static uint16_t
vnet_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
vnet_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- Rings ---- */

static void
vnet_rx_fill(void)
{
	struct vio_ring *r = &vnet_rings[VNET_RXQ];

	for (uint16_t i = 0; i < VIO_QSZ; i++) {
		r->desc[i] = (struct vio_desc){
			.addr = (uint64_t)vnet_rxbuf[i], .len = VNET_BUF,
			.flags = VIO_DESC_F_WRITE };
		vio_ring_add(r, i);
	}
	vio_ring_kick(r, VNET_RXQ);
}

/* Transmit slot 'i' holding 'len' frame bytes after the header. */
static inline void
vnet_tx_post(struct vnet *n, uint16_t i, uint32_t len)
{
	vnet_rings[VNET_TXQ].desc[i] = (struct vio_desc){
		.addr = (uint64_t)vnet_txbuf[i], .len = VNET_HDR + len };
	vio_ring_add(&vnet_rings[VNET_TXQ], i);
}

/* Take back every sent frame's slot; the count taken. */
static inline unsigned
vnet_tx_reap(struct vnet *n)
{
	struct vio_ring *r = &vnet_rings[VNET_TXQ];
	unsigned got = 0;

	while (vio_ring_pending(r)) {
		uint32_t len, id = vio_ring_take(r, &len);

		if (id < VIO_QSZ && n->nfree < VIO_QSZ)
			n->free_tx[n->nfree++] = (uint16_t)id;
		got++;
	}
	return got;
}

/* A HLT unless something is pending; false past the deadline. */
static inline bool
vnet_wait(uint64_t deadline)
{
	if (vio_ring_pending(&vnet_rings[VNET_RXQ]) ||
	    vio_ring_pending(&vnet_rings[VNET_TXQ]))
		return true;
	if (rdtsc() > deadline)
		return false;
	vio_halt();
	return true;
}

static bool
vnet_start(struct vnet *n)
{
	int slot = vpci_find("virtio-net", VNET_MODERN, VNET_TRANS);
	struct vio_dev *d = &n->dev;

	if (!CHECK(slot >= 0) || !CHECK(vio_probe(d, slot)) ||
	    !vio_negotiate(d, VIO_F_VERSION_1 | VNET_F_MAC) ||
	    !vio_msix_setup(d, 2) ||
	    !vio_queue_setup(d, &vnet_rings[VNET_RXQ], VNET_RXQ, VIO_QSZ) ||
	    !vio_queue_setup(d, &vnet_rings[VNET_TXQ], VNET_TXQ, VIO_QSZ) ||
	    !vio_driver_ok(d))
		return false;
	for (int i = 0; i < 6; i++)
		n->mac[i] = mmio_read8(d->v.device + (uint64_t)i);
	n->nfree = 0;
	for (uint16_t i = VIO_QSZ; i > 0; i--)
		n->free_tx[n->nfree++] = (uint16_t)(i - 1);
	memset(vnet_txbuf, 0, sizeof(vnet_txbuf));
	vnet_rx_fill();
	printf("vnet: virtio-net at 00:%02x.0, mac %02x:%02x:%02x:%02x:%02x:"
	    "%02x\n", slot, n->mac[0], n->mac[1], n->mac[2], n->mac[3],
	    n->mac[4], n->mac[5]);
	return true;
}

static void
vnet_figures(const struct vnet *n, uint64_t frames, uint32_t size,
    uint64_t ticks)
{
	uint64_t us = vio_ticks_to_us(&n->clk, ticks);

	if (us == 0)
		us = 1;
	printf("us=%lu fps=%lu mbs=%s ", us, frames * 1000000 / us,
	    vio_fmt_milli(frames * size * 1000 / us));
}

/* ---- mode=loop ---- */

struct vnet_loop {
	uint32_t size, frames, window;
	uint32_t sent, back;
};

/* Received frames are only counted; their buffers go straight back. */
static inline bool
vnet_loop_rx(struct vnet_loop *l)
{
	struct vio_ring *r = &vnet_rings[VNET_RXQ];
	bool any = false;

	while (vio_ring_pending(r)) {
		uint32_t len, id = vio_ring_take(r, &len);

		if (len == VNET_HDR + l->size)
			l->back++;
		vio_ring_add(r, (uint16_t)(id & (VIO_QSZ - 1)));
		any = true;
	}
	return any;
}

static bool
vnet_loop_drive(struct vnet *n, struct vnet_loop *l, uint64_t deadline)
{
	while (l->back < l->frames) {
		bool posted = false;

		(void)vnet_tx_reap(n);
		if (vnet_loop_rx(l))
			vio_ring_kick(&vnet_rings[VNET_RXQ], VNET_RXQ);
		while (l->sent < l->frames && l->sent - l->back < l->window &&
		    n->nfree > 0) {
			vnet_tx_post(n, n->free_tx[--n->nfree], l->size);
			l->sent++;
			posted = true;
		}
		if (posted)
			vio_ring_kick(&vnet_rings[VNET_TXQ], VNET_TXQ);
		else if (l->back < l->frames && !vnet_wait(deadline))
			return false;	/* (the last frame back wakes nobody) */
	}
	return true;
}

/* Every slot holds the same test frame: broadcast, from us. */
static void
vnet_loop_frames(const struct vnet *n, uint32_t size)
{
	for (int i = 0; i < VIO_QSZ; i++) {
		uint8_t *f = vnet_txbuf[i] + VNET_HDR;

		memset(f, 0xff, 6);
		memcpy(f + 6, n->mac, 6);
		vnet_put16(f + 12, VNET_ETH_TEST);
		memset(f + 14, 0x5a, size - 14);
	}
}

static void
vnet_loop(struct vnet *n, uint32_t frames, uint32_t window)
{
	static const uint32_t sizes[] = { 64, VNET_MAX_FRAME };

	for (unsigned i = 0; i < 2; i++) {
		struct vnet_loop l = { .size = sizes[i], .frames = frames,
			.window = window };
		uint64_t k0 = vnet_rings[VNET_TXQ].kicks, q0 = vio_irqs[0] +
		    vio_irqs[1], t0;
		bool ok;

		vnet_loop_frames(n, sizes[i]);
		t0 = rdtsc();
		ok = vnet_loop_drive(n, &l, t0 + n->timeout_ticks);
		printf("bench: vnet loop size=%u n=%u lost=%u ", l.size, l.back,
		    l.sent - l.back);
		vnet_figures(n, l.back, l.size, rdtsc() - t0);
		printf("kicks=%s irqs=%s\n", vio_fmt_milli(vio_milli(
		    vnet_rings[VNET_TXQ].kicks - k0, l.back)),
		    vio_fmt_milli(vio_milli(vio_irqs[0] + vio_irqs[1] - q0,
		    l.back)));
		if (!CHECK(ok))
			return;
	}
}

/* ---- mode=peer ---- */

/* A GO to carry out once the receive batch is done. */
struct vnet_go {
	bool pending;
	uint8_t mac[6], ip[4];
	uint16_t port;
	uint8_t run;
	uint32_t count;
	uint16_t size;
};

/* One frame of 'len' bytes from a free slot, sent at once. */
static void
vnet_send_one(struct vnet *n, const uint8_t *frame, uint32_t len)
{
	uint16_t i;

	(void)vnet_tx_reap(n);
	if (n->nfree == 0)
		return;
	i = n->free_tx[--n->nfree];
	memset(vnet_txbuf[i], 0, VNET_HDR + 60);
	memcpy(vnet_txbuf[i] + VNET_HDR, frame, len);
	vnet_tx_post(n, i, len < 60 ? 60 : len);
	vio_ring_kick(&vnet_rings[VNET_TXQ], VNET_TXQ);
}

/* An ARP packet (RFC 826) from us: a request for 'tpa', or a reply. */
static void
vnet_arp(struct vnet *n, uint16_t op, const uint8_t *tha, const uint8_t *tpa)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[42];

	memcpy(f, op == 1 ? bcast : tha, 6);
	memcpy(f + 6, n->mac, 6);
	vnet_put16(f + 12, VNET_ETH_ARP);
	vnet_put16(f + 14, 1);			/* Ethernet */
	vnet_put16(f + 16, VNET_ETH_IP);
	f[18] = 6;
	f[19] = 4;
	vnet_put16(f + 20, op);
	memcpy(f + 22, n->mac, 6);
	memcpy(f + 28, n->ip, 4);
	memset(f + 32, 0, 6);
	if (op == 2)
		memcpy(f + 32, tha, 6);
	memcpy(f + 38, tpa, 4);
	vnet_send_one(n, f, sizeof(f));
}

static void
vnet_on_arp(struct vnet *n, const uint8_t *f, uint32_t len)
{
	if (len >= 42 && vnet_be16(f + 20) == 1 && memcmp(f + 38, n->ip, 4) ==
	    0)
		vnet_arp(n, 2, f + 22, f + 28);
}

static void
vnet_run_report(struct vnet *n)
{
	uint64_t lost = n->run_count > n->run_n ? n->run_count - n->run_n : 0;

	printf("bench: vnet rx run=%u size=%u n=%u lost=%lu ", n->run,
	    n->run_size, n->run_n, lost);
	vnet_figures(n, n->run_n, n->run_size, n->run_t1 - n->run_t0);
	printf("irqs=%s\n", vio_fmt_milli(vio_milli(vio_irqs[0] -
	    n->run_irqs0, n->run_n)));
	n->run_open = false;
}

/* DATA and END of a host -> guest run. */
static void
vnet_on_data(struct vnet *n, const struct vnet_msg *m, uint32_t len)
{
	uint64_t now = rdtsc();

	if (!n->run_open || n->run != m->run) {
		n->run_open = true;
		n->run = m->run;
		n->run_n = 0;
		n->run_t0 = now;
		n->run_irqs0 = vio_irqs[0];
	}
	n->run_n++;
	n->run_t1 = now;
	n->run_size = (uint16_t)len;
	n->run_count = m->count;
}

static void
vnet_on_msg(struct vnet *n, const uint8_t *f, uint32_t len,
    struct vnet_go *go)
{
	struct vnet_msg m;

	memcpy(&m, f + VNET_UDP_HDRS, sizeof(m));
	if (m.magic != VNET_MAGIC)
		return;
	if (m.kind == VNET_DATA) {
		vnet_on_data(n, &m, len);
	} else if (m.kind == VNET_END) {
		if (n->run_open && n->run == m.run)
			vnet_run_report(n);
	} else if (m.kind == VNET_GO && m.run != n->last_go) {
		/* The host repeats GO until data flows: obey it once. */
		n->last_go = m.run;
		*go = (struct vnet_go){ .pending = true, .run = m.run,
			.count = m.count, .port = vnet_be16(f + 34),
			.size = m.size < 64 ? 64 : m.size > VNET_MAX_FRAME ?
			    VNET_MAX_FRAME : m.size };
		memcpy(go->mac, f + 6, 6);
		memcpy(go->ip, f + 26, 4);
	} else if (m.kind == VNET_QUIT) {
		n->quit = true;
	}
}

/* IPv4 (no options) UDP to our address and port, else ARP. */
static void
vnet_on_frame(struct vnet *n, const uint8_t *f, uint32_t len,
    struct vnet_go *go)
{
	uint16_t type;

	if (len < 14)
		return;
	type = vnet_be16(f + 12);
	if (type == VNET_ETH_ARP) {
		vnet_on_arp(n, f, len);
		return;
	}
	if (type != VNET_ETH_IP || len < VNET_UDP_HDRS + sizeof(struct
	    vnet_msg) || f[14] != 0x45 || f[23] != 17 ||
	    memcmp(f + 30, n->ip, 4) != 0 || vnet_be16(f + 36) != n->port)
		return;
	vnet_on_msg(n, f, len, go);
}

/* Handle every received frame and give its buffer back. */
static bool
vnet_peer_rx(struct vnet *n, struct vnet_go *go)
{
	struct vio_ring *r = &vnet_rings[VNET_RXQ];
	bool any = false;

	while (vio_ring_pending(r)) {
		uint32_t len, id = vio_ring_take(r, &len) & (VIO_QSZ - 1);

		if (len > VNET_HDR && len <= VNET_BUF)
			vnet_on_frame(n, vnet_rxbuf[id] + VNET_HDR,
			    len - VNET_HDR, go);
		vio_ring_add(r, (uint16_t)id);
		any = true;
	}
	if (any)
		vio_ring_kick(r, VNET_RXQ);
	return any;
}

/* The IPv4 header checksum (RFC 791, RFC 1071) over 20 bytes. */
static uint16_t
vnet_ip_sum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += vnet_be16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet, IPv4 and UDP headers and a DATA message in every slot. */
static void
vnet_go_frames(const struct vnet *n, const struct vnet_go *go)
{
	struct vnet_msg m = { .magic = VNET_MAGIC, .kind = VNET_DATA,
		.run = go->run, .count = go->count, .size = go->size };
	uint8_t h[VNET_UDP_HDRS];

	memset(h, 0, sizeof(h));
	memcpy(h, go->mac, 6);
	memcpy(h + 6, n->mac, 6);
	vnet_put16(h + 12, VNET_ETH_IP);
	h[14] = 0x45;
	vnet_put16(h + 16, (uint16_t)(go->size - 14));
	vnet_put16(h + 20, 0x4000);		/* DF */
	h[22] = 64;
	h[23] = 17;
	memcpy(h + 26, n->ip, 4);
	memcpy(h + 30, go->ip, 4);
	vnet_put16(h + 24, vnet_ip_sum(h + 14));
	vnet_put16(h + 34, n->port);
	vnet_put16(h + 36, go->port);
	vnet_put16(h + 38, (uint16_t)(go->size - 34));
	for (int i = 0; i < VIO_QSZ; i++) {
		memcpy(vnet_txbuf[i] + VNET_HDR, h, sizeof(h));
		memcpy(vnet_txbuf[i] + VNET_HDR + VNET_UDP_HDRS, &m,
		    sizeof(m));
	}
}

/* 'count' DATA frames as fast as the ring takes them back. */
static bool
vnet_go_drive(struct vnet *n, const struct vnet_go *go, uint64_t deadline)
{
	struct vnet_go ignored;
	uint32_t sent = 0, done = 0;

	while (done < go->count) {
		bool posted = false;

		done += vnet_tx_reap(n);
		(void)vnet_peer_rx(n, &ignored);
		while (sent < go->count && n->nfree > 0) {
			uint16_t i = n->free_tx[--n->nfree];
			struct vnet_msg *m = (struct vnet_msg *)(void *)
			    (vnet_txbuf[i] + VNET_HDR + VNET_UDP_HDRS);

			m->seq = sent++;
			vnet_tx_post(n, i, go->size);
			posted = true;
		}
		if (posted)
			vio_ring_kick(&vnet_rings[VNET_TXQ], VNET_TXQ);
		else if (done < go->count && !vnet_wait(deadline))
			return false;
	}
	return true;
}

static void
vnet_go(struct vnet *n, const struct vnet_go *go)
{
	uint64_t k0 = vnet_rings[VNET_TXQ].kicks, q0 = vio_irqs[1], t0;
	struct vnet_msg *m;
	bool ok;

	(void)vnet_tx_reap(n);
	vnet_go_frames(n, go);
	t0 = rdtsc();
	ok = vnet_go_drive(n, go, t0 + n->timeout_ticks);
	printf("bench: vnet tx run=%u size=%u n=%u ", go->run, go->size,
	    go->count);
	vnet_figures(n, go->count, go->size, rdtsc() - t0);
	printf("kicks=%s irqs=%s\n", vio_fmt_milli(vio_milli(
	    vnet_rings[VNET_TXQ].kicks - k0, go->count)),
	    vio_fmt_milli(vio_milli(vio_irqs[1] - q0, go->count)));
	CHECK(ok);
	/* END, three times: the host may lose one as it may lose data. */
	for (int k = 0; k < 3 && n->nfree > 0; k++) {
		uint16_t i = n->free_tx[--n->nfree];

		m = (struct vnet_msg *)(void *)(vnet_txbuf[i] + VNET_HDR +
		    VNET_UDP_HDRS);
		m->kind = VNET_END;
		vnet_tx_post(n, i, go->size);
	}
	vio_ring_kick(&vnet_rings[VNET_TXQ], VNET_TXQ);
}

static void
vnet_peer(struct vnet *n)
{
	static const uint8_t zero[6];
	uint64_t deadline = rdtsc() + n->timeout_ticks;

	vnet_arp(n, 1, zero, n->ip);	/* gratuitous: the host learns us */
	printf("bench: vnet ready ip=%u.%u.%u.%u port=%u\n", n->ip[0],
	    n->ip[1], n->ip[2], n->ip[3], n->port);
	while (!n->quit) {
		struct vnet_go go = { .pending = false };

		(void)vnet_tx_reap(n);
		if (vnet_peer_rx(n, &go))
			deadline = rdtsc() + n->timeout_ticks;
		if (go.pending)
			vnet_go(n, &go);
		else if (!vnet_wait(deadline) && !CHECK(!"host went quiet"))
			return;
	}
}

/* "a.b.c.d" into ip[4]; false if it is not one. */
static bool
vnet_parse_ip(const char *s, uint8_t *ip)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		while (*s >= '0' && *s <= '9' && digits++ < 3)
			v = v * 10 + (unsigned)(*s++ - '0');
		if (digits == 0 || v > 255 || (i < 3 && *s++ != '.'))
			return false;
		ip[i] = (uint8_t)v;
	}
	return *s == '\0';
}

int
guest_main(struct boot_info *bi)
{
	static struct vnet n = { .last_go = -1 };
	char mode[8] = "loop", ip[20] = "10.0.2.15";

	vio_irq_init(bi->args);
	vio_tsc_calibrate(&n.clk, bi->args);
	printf("bench: clocks tsc_hz=%lu source=%s\n", n.clk.tsc_hz,
	    n.clk.source);
	(void)cmdline_get(bi->args, "mode", mode, sizeof(mode));
	(void)cmdline_get(bi->args, "ip", ip, sizeof(ip));
	n.port = (uint16_t)vio_arg(bi->args, "port", 5001, 1, 65535);
	n.timeout_ticks = vio_arg(bi->args, "timeout_s", 300, 1, 3600) *
	    n.clk.tsc_hz;
	if (!CHECK(n.clk.tsc_hz >= 1000000) || !CHECK(vnet_parse_ip(ip,
	    n.ip)) || !vnet_start(&n))
		return guest_finish("vnet");
	vio_watchdog(VNET_TICK_MS);
	if (strcmp(mode, "peer") == 0)
		vnet_peer(&n);
	else
		vnet_loop(&n, (uint32_t)vio_arg(bi->args, "frames", 2000, 1,
		    10000000), (uint32_t)vio_arg(bi->args, "window", 32, 1,
		    VIO_QSZ / 2));
	vio_watchdog(0);
	vio_reset(&n.dev);
	return guest_finish("vnet");
}
