/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The network backends on their own (net_backends.c), with an event
 * loop and no VM:
 *
 *  - loopback: frames come back whole and in order, receive can be
 *    turned off and on, oversized datagrams are dropped;
 *  - slirp (libslirp, restricted): a DHCP DISCOVER gets an OFFER of
 *    10.0.2.15, ARP for the virtual host is answered, a connection to an
 *    outside address is refused with a reset (nothing leaves the host),
 *    and a hostfwd on 127.0.0.1 reaches a fake guest TCP and carries
 *    data both ways.  No DNS query is ever made;
 *  - tap (root only; SKIP otherwise): in a network namespace of the
 *    test's own, a tap with 192.0.2.1/24 answers ARP, takes a UDP
 *    datagram with a partial checksum through the virtio-net header,
 *    and refuses one with a bad full checksum;
 *  - bad names and options: one-line errors naming the culprit.
 *
 * Waits are bounded loops over the event loop; they end as soon as the
 * expected frame is there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "mevent.h"
#include "net_backends.h"
#include "test.h"

#define ERRLEN 256
#define WAIT_ROUNDS 100		/* x 50 ms: a bound, not a timing */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

/* ---- A backend with its own event loop ---- */

struct nb {
	struct bhyve_vm bvm;
	struct net_backend *be;
	int rx_calls;
	char err[ERRLEN];
	int error;
};

static void
nb_rx(void *arg)
{
	struct nb *n = arg;

	n->rx_calls++;
}

/* kv: key/value pairs under the node; returns the init error. */
static int
nb_open(struct nb *n, const char *const *kv)
{
	struct config_node *node;
	struct netbe_params p;

	memset(n, 0, sizeof(*n));
	n->bvm.cfg = config_new();
	n->bvm.mev = mevent_create();
	if (n->bvm.cfg == NULL || n->bvm.mev == NULL)
		return -ENOMEM;
	node = config_create_node(n->bvm.cfg, "net");
	for (; kv && kv[0]; kv += 2)
		if (config_set(node, kv[0], kv[1]) != 0)
			return -EINVAL;
	p = (struct netbe_params){ .bvm = &n->bvm, .nvl = node, .mtu = 1500,
		.rx_cb = nb_rx, .rx_arg = n };
	n->error = netbe_init(&n->be, &p, n->err, sizeof(n->err));
	return n->error;
}

static void
nb_close(struct nb *n)
{
	netbe_cleanup(n->be);
	mevent_destroy(n->bvm.mev);
	config_free(n->bvm.cfg);
}

static ssize_t
nb_send(struct nb *n, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return netbe_send(n->be, &iov, 1);
}

/*
 * The next received frame that 'want' accepts (others are consumed and
 * skipped), copied to 'out'; its length, or 0 if none came in time.
 */
static size_t
nb_wait(struct nb *n, bool (*want)(const uint8_t *, size_t, void *),
    void *arg, uint8_t *out, size_t outlen)
{
	for (int i = 0; i < WAIT_ROUNDS * 4; i++) {
		const uint8_t *fr;
		ssize_t len = netbe_rx_peek(n->be, &fr);

		if (len > 0) {
			bool ok = want == NULL || want(fr, (size_t)len, arg);
			size_t l = (size_t)len < outlen ? (size_t)len : outlen;

			if (ok)
				memcpy(out, fr, l);
			netbe_rx_consume(n->be);
			if (ok)
				return l;
			continue;
		}
		if (mevent_run_once(n->bvm.mev, 50) != 0)
			break;
	}
	return 0;
}

/* ---- Frames: Ethernet, ARP, IPv4, UDP, TCP ---- */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint32_t
sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static size_t
eth(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
	return 14;
}

/* An IPv4 header at p (20 bytes) for 'plen' bytes of payload. */
static void
ip4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t plen)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + plen));
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, src);
	put32(p + 16, dst);
	put16(p + 10, (uint16_t)~fold(sum16(0, p, 20)));
}

/* The TCP/UDP pseudo-header sum (RFC 793, 768). */
static uint32_t
pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	uint8_t ph[12];

	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	return sum16(0, ph, 12);
}

static size_t
arp(uint8_t *p, uint16_t op, const uint8_t *sha, uint32_t sip,
    const uint8_t *tha, uint32_t tip)
{
	size_t o = eth(p, op == 1 ? bcast : tha, sha, 0x0806);

	put16(p + o, 1);
	put16(p + o + 2, 0x0800);
	p[o + 4] = 6;
	p[o + 5] = 4;
	put16(p + o + 6, op);
	memcpy(p + o + 8, sha, 6);
	put32(p + o + 14, sip);
	memcpy(p + o + 18, tha, 6);
	put32(p + o + 24, tip);
	return o + 28;
}

struct tcpseg {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const void *data;
	size_t len;
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

static size_t
tcp(uint8_t *p, const uint8_t *dmac, const struct tcpseg *s)
{
	size_t o = eth(p, dmac, guest_mac, 0x0800);
	uint8_t *t = p + o + 20;

	ip4(p + o, 6, s->src, s->dst, 20 + s->len);
	memset(t, 0, 20);
	put16(t, s->sport);
	put16(t + 2, s->dport);
	put32(t + 4, s->seq);
	put32(t + 8, s->ack);
	t[12] = 5 << 4;
	t[13] = s->flags;
	put16(t + 14, 65535);
	if (s->len != 0)
		memcpy(t + 20, s->data, s->len);
	put16(t + 16, (uint16_t)~fold(sum16(pseudo(s->src, s->dst, 6,
	    20 + s->len), t, 20 + s->len)));
	return o + 40 + s->len;
}

/* Parsed IPv4 frames (no options expected from libslirp). */
static bool
is_ip(const uint8_t *f, size_t len, uint8_t proto)
{
	return len >= 34 && get16(f + 12) == 0x0800 && (f[14] >> 4) == 4 &&
	    f[23] == proto;
}

static const uint8_t *
l4(const uint8_t *f)
{
	return f + 14 + 4 * (f[14] & 0xf);
}

/* ---- DHCP (RFC 2131) ---- */

#define BOOTP_LEN 548	/* a 312-byte options field, as libslirp wants */
#define DHCP_XID 0x0badcafe

static size_t
dhcp_discover(uint8_t *p)
{
	size_t o = eth(p, bcast, guest_mac, 0x0800);
	uint8_t *u = p + o + 20, *b = u + 8;

	memset(u, 0, 8 + BOOTP_LEN);
	b[0] = 1;		/* BOOTREQUEST */
	b[1] = 1;
	b[2] = 6;
	put32(b + 4, DHCP_XID);
	put16(b + 10, 0x8000);	/* broadcast reply */
	memcpy(b + 28, guest_mac, 6);
	put32(b + 236, 0x63825363);
	b[240] = 53;		/* DHCP message type: DISCOVER */
	b[241] = 1;
	b[242] = 1;
	b[243] = 255;
	put16(u, 68);
	put16(u + 2, 67);
	put16(u + 4, 8 + BOOTP_LEN);	/* checksum 0: none (RFC 768) */
	ip4(p + o, 17, 0, 0xffffffff, 8 + BOOTP_LEN);
	return o + 20 + 8 + BOOTP_LEN;
}

/* An option's value in a BOOTP reply, or NULL. */
static const uint8_t *
dhcp_opt(const uint8_t *b, size_t blen, uint8_t code, uint8_t *olen)
{
	size_t i = 240;

	while (i + 1 < blen && b[i] != 255) {
		if (b[i] == 0) {
			i++;
			continue;
		}
		if (i + 2 + b[i + 1] > blen)
			break;
		if (b[i] == code) {
			*olen = b[i + 1];
			return b + i + 2;
		}
		i += 2 + (size_t)b[i + 1];
	}
	return NULL;
}

static bool
want_dhcp_reply(const uint8_t *f, size_t len, void *arg)
{
	const uint8_t *u;

	if (!is_ip(f, len, 17))
		return false;
	u = l4(f);
	return (size_t)(u - f) + 8 + 240 <= len && get16(u) == 67 &&
	    get16(u + 2) == 68 && u[8] == 2 && get32(u + 12) == DHCP_XID;
}

/* ---- loopback ---- */

TEST(loopback_round_trip)
{
	static const char *const kv[] = { "backend", "loopback", NULL };
	uint8_t a[60], b[1514], got[2048];
	const uint8_t *fr;
	struct nb n;

	REQUIRE(nb_open(&n, kv) == 0 && n.be != NULL);
	CHECK_STR(netbe_type(n.be), "loopback");
	CHECK_EQ(netbe_hdr_len(n.be), 0);
	CHECK_EQ(netbe_get_cap(n.be), 0);
	CHECK_EQ(netbe_set_cap(n.be, NETBE_OFFLOAD_CAPS), 0);
	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	CHECK_EQ(nb_send(&n, a, sizeof(a)), sizeof(a));
	CHECK_EQ(nb_send(&n, b, sizeof(b)), sizeof(b));
	/* Receive off: the loop does not call us. */
	CHECK(!netbe_rx_enabled(n.be));
	CHECK_EQ(mevent_run_once(n.bvm.mev, 0), 0);
	CHECK_EQ(n.rx_calls, 0);
	netbe_rx_enable(n.be);
	CHECK_EQ(mevent_run_once(n.bvm.mev, 0), 0);
	CHECK_EQ(n.rx_calls, 1);
	/* Peek holds a frame until it is consumed. */
	CHECK_EQ(netbe_rx_peek(n.be, &fr), sizeof(a));
	CHECK_EQ(netbe_rx_peek(n.be, &fr), sizeof(a));
	CHECK(memcmp(fr, a, sizeof(a)) == 0);
	netbe_rx_consume(n.be);
	CHECK_EQ(nb_wait(&n, NULL, NULL, got, sizeof(got)), sizeof(b));
	CHECK(memcmp(got, b, sizeof(b)) == 0);
	CHECK_EQ(netbe_rx_peek(n.be, &fr), 0);
	netbe_rx_disable(n.be);
	CHECK(!netbe_rx_enabled(n.be));
	nb_close(&n);
}

/* A datagram larger than any frame is dropped; the next one is read. */
TEST(loopback_drops_oversized)
{
	static const char *const kv[] = { "backend", "loopback", NULL };
	static uint8_t big[NETBE_MAX_FRAME + 64];
	uint8_t small[64];
	const uint8_t *fr;
	struct nb n;

	REQUIRE(nb_open(&n, kv) == 0 && n.be != NULL);
	memset(small, 0x3c, sizeof(small));
	CHECK_EQ(nb_send(&n, big, sizeof(big)), sizeof(big));
	CHECK_EQ(nb_send(&n, small, sizeof(small)), sizeof(small));
	CHECK_EQ(netbe_rx_peek(n.be, &fr), sizeof(small));
	CHECK(memcmp(fr, small, sizeof(small)) == 0);
	nb_close(&n);
}

TEST(loopback_with_header)
{
	static const char *const kv[] = { "backend", "loopback", "vnet_hdr",
		"true", NULL };
	struct nb n;

	REQUIRE(nb_open(&n, kv) == 0 && n.be != NULL);
	CHECK_EQ(netbe_hdr_len(n.be), sizeof(struct virtio_net_hdr));
	CHECK_EQ(netbe_get_cap(n.be), NETBE_OFFLOAD_CAPS);
	nb_close(&n);
}

/* ---- Names and options ---- */

static void
expect_err(const char *const *kv, int error, const char *what)
{
	struct nb n;

	CHECK_EQ(nb_open(&n, kv), error);
	CHECK(n.be == NULL);
	CHECK(strstr(n.err, what) != NULL);
	CHECK(strchr(n.err, '\n') == NULL);
	if (strstr(n.err, what) == NULL)
		fprintf(stderr, "  error was: %s\n", n.err);
	nb_close(&n);
}

TEST(bad_backends_and_options)
{
	static const char *const none[] = { NULL };
	static const char *const unknown[] = { "backend", "eth0", NULL };
	static const char *const badtype[] = { "backend", "x", "type",
		"vmnet", NULL };
	static const char *const ng[] = { "backend", "netgraph", NULL };
	static const char *const nm[] = { "backend", "netmap:em0", NULL };
	static const char *const longname[] = { "backend",
		"tap0123456789abcdef", NULL };
	static const char *const slash[] = { "backend", "tap/0", NULL };
	static const char *const notap[] = { "backend", "lo", "type", "tap",
		NULL };
	static const char *const badv[] = { "backend", "loopback",
		"vnet_hdr", "perhaps", NULL };
	struct nb n;

	/* No backend at all is fine: the NIC just has no wire. */
	CHECK_EQ(nb_open(&n, none), 0);
	CHECK(n.be == NULL);
	CHECK_EQ(netbe_hdr_len(n.be), 0);
	CHECK_EQ(netbe_send(n.be, NULL, 0), -ENOTCONN);
	nb_close(&n);
	expect_err(unknown, -EINVAL, "unknown network backend 'eth0'");
	expect_err(badtype, -EINVAL, "unknown network type 'vmnet'");
	expect_err(ng, -EINVAL, "'netgraph' is not supported");
	expect_err(nm, -EINVAL, "not supported");
	expect_err(longname, -EINVAL, "tap 'tap0123456789abcdef'");
	expect_err(slash, -EINVAL, "tap 'tap/0'");
	expect_err(badv, -EINVAL, "vnet_hdr 'perhaps'");
	/* An existing interface that is not a tap cannot be attached. */
	if (access("/dev/net/tun", R_OK | W_OK) == 0)
		expect_err(notap, -EINVAL, "tap 'lo': cannot open");
}

/* ---- slirp ---- */

static bool
have_slirp(struct nb *n, const char *const *kv)
{
	int error = nb_open(n, kv);

	if (error == -ENOENT || error == -ENOTSUP) {
		printf("SKIP slirp: %s\n", n->err);
		nb_close(n);
		return false;
	}
	if (error != 0)
		fprintf(stderr, "slirp: %s\n", n->err);
	CHECK_EQ(error, 0);
	if (error != 0)
		nb_close(n);
	return error == 0;
}

/* Teach slirp our MAC the way a guest does: ARP for the host. */
static void
slirp_arp(struct nb *n)
{
	static const uint8_t zero[6];
	uint8_t f[64], got[128];
	size_t len = arp(f, 1, guest_mac, IP4(10, 0, 2, 15), zero,
	    IP4(10, 0, 2, 2));

	memset(f + len, 0, sizeof(f) - len);
	CHECK_EQ(nb_send(n, f, sizeof(f)), sizeof(f));
	len = nb_wait(n, NULL, NULL, got, sizeof(got));
	REQUIRE(len >= 42);
	CHECK_EQ(get16(got + 12), 0x0806);
	CHECK_EQ(get16(got + 20), 2);			/* reply */
	CHECK_EQ(get32(got + 28), IP4(10, 0, 2, 2));	/* from the host */
	CHECK(memcmp(got, guest_mac, 6) == 0);
	CHECK_EQ(got[22], 0x52);			/* 52:55:0a:00:02:02 */
	CHECK_EQ(got[27], 0x02);
}

TEST(slirp_dhcp_offer)
{
	static const char *const kv[] = { "backend", "slirp", NULL };
	uint8_t f[1024], got[2048];
	const uint8_t *u, *o;
	uint8_t olen = 0;
	size_t len;
	struct nb n;

	if (!have_slirp(&n, kv))
		return;
	CHECK_STR(netbe_type(n.be), "slirp");
	CHECK_EQ(netbe_hdr_len(n.be), 0);
	CHECK_EQ(netbe_get_cap(n.be), 0);
	len = dhcp_discover(f);
	CHECK_EQ(nb_send(&n, f, len), len);
	len = nb_wait(&n, want_dhcp_reply, NULL, got, sizeof(got));
	REQUIRE(len > 0);
	u = l4(got);
	CHECK_EQ(get32(u + 8 + 16), IP4(10, 0, 2, 15));	/* yiaddr */
	o = dhcp_opt(u + 8, len - (size_t)(u + 8 - got), 53, &olen);
	CHECK(o != NULL && olen == 1 && o[0] == 2);		/* OFFER */
	o = dhcp_opt(u + 8, len - (size_t)(u + 8 - got), 54, &olen);
	CHECK(o != NULL && olen == 4 && get32(o) == IP4(10, 0, 2, 2));
	o = dhcp_opt(u + 8, len - (size_t)(u + 8 - got), 1, &olen);
	CHECK(o != NULL && olen == 4 && get32(o) == 0xffffff00);
	/* Restricted: libslirp offers no router and no DNS server (10.0.2.2
	   and 10.0.2.3 come with open=true), so the guest cannot even try. */
	CHECK(dhcp_opt(u + 8, len - (size_t)(u + 8 - got), 3, &olen) == NULL);
	CHECK(dhcp_opt(u + 8, len - (size_t)(u + 8 - got), 6, &olen) == NULL);
	slirp_arp(&n);
	nb_close(&n);
}

static bool
want_tcp(const uint8_t *f, size_t len, void *arg)
{
	const uint16_t *ports = arg;
	const uint8_t *t;

	if (!is_ip(f, len, 6))
		return false;
	t = l4(f);
	return (size_t)(t - f) + 20 <= len && get16(t + 2) == ports[0] &&
	    (ports[1] == 0 || get16(t) == ports[1]);
}

/*
 * Restricted (the default): a guest's connection to anywhere outside is
 * answered with a reset by slirp itself; a datagram is dropped.  The
 * address is from the documentation range and nothing is sent there.
 */
TEST(slirp_restricted_refuses_outbound)
{
	static const char *const kv[] = { "backend", "slirp", NULL };
	uint8_t f[128], got[256], udp[64];
	struct tcpseg s = { .src = IP4(10, 0, 2, 15), .dst = IP4(192, 0, 2, 1),
		.sport = 40000, .dport = 9, .seq = 1000, .flags = TH_SYN };
	uint16_t ports[2] = { 40000, 9 };
	size_t len, o;
	struct nb n;

	if (!have_slirp(&n, kv))
		return;
	slirp_arp(&n);
	/* A UDP datagram out: dropped silently. */
	o = eth(udp, (const uint8_t[6]){ 0x52, 0x55, 10, 0, 2, 2 }, guest_mac,
	    0x0800);
	memset(udp + o + 20, 0, 16);
	put16(udp + o + 20, 40001);
	put16(udp + o + 22, 9);
	put16(udp + o + 24, 16);
	ip4(udp + o, 17, IP4(10, 0, 2, 15), IP4(192, 0, 2, 1), 16);
	CHECK_EQ(nb_send(&n, udp, o + 36), o + 36);
	len = tcp(f, (const uint8_t[6]){ 0x52, 0x55, 10, 0, 2, 2 }, &s);
	CHECK_EQ(nb_send(&n, f, len), len);
	/* The first frame back is the reset: nothing for the datagram. */
	len = nb_wait(&n, NULL, NULL, got, sizeof(got));
	REQUIRE(len > 0 && want_tcp(got, len, ports));
	CHECK_EQ(get32(got + 26), IP4(192, 0, 2, 1));
	CHECK(l4(got)[13] & TH_RST);
	CHECK_EQ(get32(l4(got) + 8), 1001);	/* acks the SYN */
	nb_close(&n);
}

/* A free TCP port on 127.0.0.1, for the forward to listen on. */
static uint16_t
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int
connect_local(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Read 'len' bytes from the host socket, running the loop meanwhile. */
static size_t
host_read(struct nb *n, int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (int i = 0; i < WAIT_ROUNDS && got < len; i++) {
		ssize_t r = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (r > 0)
			got += (size_t)r;
		else
			(void)mevent_run_once(n->bvm.mev, 50);
	}
	return got;
}

/*
 * hostfwd=tcp:127.0.0.1:PORT-:22: a connection to the port becomes a SYN
 * to 10.0.2.15:22; the fake guest completes the handshake, and data goes
 * both ways.
 */
TEST(slirp_hostfwd_reaches_guest)
{
	uint16_t port = free_port(), ports[2] = { 22, 0 };
	char rule[64], buf[32];
	const char *kv[] = { "backend", "slirp", "hostfwd", rule, NULL };
	uint8_t f[256], got[2048], hmac[6];
	struct tcpseg s = { .src = IP4(10, 0, 2, 15), .dst = IP4(10, 0, 2, 2),
		.sport = 22 };
	const uint8_t *t;
	size_t len;
	struct nb n;
	int fd;

	REQUIRE(port != 0);
	snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-:22", port);
	if (!have_slirp(&n, kv))
		return;
	slirp_arp(&n);
	fd = connect_local(port);
	REQUIRE(fd >= 0);
	len = nb_wait(&n, want_tcp, ports, got, sizeof(got));
	if (len == 0)
		fprintf(stderr, "  no SYN for the forwarded connection\n");
	REQUIRE(len > 0);
	t = l4(got);
	CHECK_EQ(t[13] & (TH_SYN | TH_ACK), TH_SYN);
	CHECK_EQ(get32(got + 30), IP4(10, 0, 2, 15));
	memcpy(hmac, got + 6, 6);
	s.dst = get32(got + 26);
	s.dport = get16(t);
	s.seq = 5000;
	s.ack = get32(t + 4) + 1;
	s.flags = TH_SYN | TH_ACK;
	len = tcp(f, hmac, &s);
	CHECK_EQ(nb_send(&n, f, len), len);
	/* Data from the guest reaches the host's socket. */
	s.seq = 5001;
	s.flags = TH_PSH | TH_ACK;
	s.data = "hello-host";
	s.len = 10;
	len = tcp(f, hmac, &s);
	CHECK_EQ(nb_send(&n, f, len), len);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(host_read(&n, fd, buf, 10), 10);
	CHECK_STR(buf, "hello-host");
	/* And data from the host reaches the guest. */
	CHECK_EQ(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
	for (int i = 0; i < 8; i++) {
		len = nb_wait(&n, want_tcp, ports, got, sizeof(got));
		if (len == 0 || get16(got + 16) > 40)
			break;	/* a frame with a payload, or nothing */
	}
	REQUIRE(len > 0);
	t = l4(got);
	CHECK_EQ(get16(got + 16), 44);	/* IP length: 20 + 20 + 4 */
	CHECK(memcmp(t + 4 * (t[12] >> 4), "ping", 4) == 0);
	close(fd);
	nb_close(&n);
}

TEST(slirp_bad_options)
{
	static const char *const rules[] = { "tcp:127.0.0.1:99999-:22",
		"icmp:127.0.0.1:2222-:22", "tcp:127.0.0.1:2222",
		"tcp:[::1]:2-:2",
		"tcp:127.0.0.1:22x-:22", "tcp:localhost:2222-:22" };
	static const char *const badopen[] = { "backend", "slirp", "open",
		"sometimes", NULL };
	uint16_t port = free_port();
	char inuse[64];
	const char *kv[] = { "backend", "slirp", "hostfwd", NULL, NULL };
	int lfd;
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct nb n;

	/* Without libslirp everything below is the same error. */
	if (!have_slirp(&n, (const char *const[]){ "backend", "slirp", NULL }))
		return;
	nb_close(&n);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		kv[3] = rules[i];
		expect_err(kv, -EINVAL, rules[i]);
	}
	expect_err(badopen, -EINVAL, "open 'sometimes'");
	/* A port someone else listens on: the rule is named. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(lfd >= 0 && port != 0);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(listen(lfd, 1), 0);
	snprintf(inuse, sizeof(inuse), "tcp:127.0.0.1:%u-:22", port);
	kv[3] = inuse;
	expect_err(kv, -EADDRINUSE, inuse);
	close(lfd);
}

/* ---- tap, in a network namespace of our own (root only) ---- */

/* Bring 'name' up with 192.0.2.1/24. */
static int
tap_configure(const char *name)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), error = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(IP4(192, 0, 2, 1));
	if (ioctl(s, SIOCSIFADDR, &ifr) != 0)
		error = -errno;
	sin->sin_addr.s_addr = htonl(0xffffff00);
	if (error == 0 && ioctl(s, SIOCSIFNETMASK, &ifr) != 0)
		error = -errno;
	if (error == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		error = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (error == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		error = -errno;
	close(s);
	return error;
}

static bool
want_arp_reply(const uint8_t *f, size_t len, void *arg)
{
	size_t h = *(size_t *)arg;

	return len >= h + 42 && get16(f + h + 12) == 0x0806 &&
	    get16(f + h + 20) == 2;
}

/* UDP to 192.0.2.1:5555 with the given header and checksum field. */
static size_t
tap_udp(uint8_t *p, const struct virtio_net_hdr *h, const uint8_t *tapmac,
    const char *msg, bool good_partial)
{
	size_t len = strlen(msg), o;
	uint8_t *f = p + sizeof(*h), *u;

	memcpy(p, h, sizeof(*h));
	o = eth(f, tapmac, guest_mac, 0x0800);
	ip4(f + o, 17, IP4(192, 0, 2, 2), IP4(192, 0, 2, 1), 8 + len);
	u = f + o + 20;
	put16(u, 4444);
	put16(u + 2, 5555);
	put16(u + 4, (uint16_t)(8 + len));
	memcpy(u + 8, msg, len);
	/* Partial: the pseudo-header sum only, for the host to finish. */
	put16(u + 6, good_partial ? fold(pseudo(IP4(192, 0, 2, 2),
	    IP4(192, 0, 2, 1), 17, 8 + len)) : 0x1234);
	return sizeof(*h) + o + 28 + len;
}

/* The tap checks, in the child that owns the namespace. */
static void
tap_checks(void)
{
	static const char *const kv[] = { "backend", "tapvnet0", NULL };
	struct virtio_net_hdr h = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons(5555),
		.sin_addr.s_addr = htonl(IP4(192, 0, 2, 1)) };
	uint8_t f[256], got[2048], tapmac[6];
	size_t hl, len;
	char msg[16] = { 0 };
	struct nb n;
	int us;

	REQUIRE(nb_open(&n, kv) == 0 && n.be != NULL);
	CHECK_STR(netbe_type(n.be), "tap");
	hl = netbe_hdr_len(n.be);
	CHECK_EQ(hl, sizeof(struct virtio_net_hdr));
	CHECK_EQ(netbe_get_cap(n.be), NETBE_OFFLOAD_CAPS);
	CHECK_EQ(netbe_set_cap(n.be, NETBE_OFFLOAD_CAPS), 0);
	CHECK_EQ(netbe_set_cap(n.be, 0), 0);
	REQUIRE(tap_configure("tapvnet0") == 0);
	netbe_rx_enable(n.be);
	/* ARP: who has 192.0.2.1?  The namespace's kernel answers. */
	memset(f, 0, sizeof(f));
	len = arp(f + hl, 1, guest_mac, IP4(192, 0, 2, 2),
	    (const uint8_t[6]){ 0 }, IP4(192, 0, 2, 1));
	CHECK_EQ(nb_send(&n, f, hl + 60), hl + 60);
	len = nb_wait(&n, want_arp_reply, &hl, got, sizeof(got));
	REQUIRE(len > 0);
	CHECK_EQ(get32(got + hl + 28), IP4(192, 0, 2, 1));
	CHECK(memcmp(got + hl, guest_mac, 6) == 0);
	memcpy(tapmac, got + hl + 22, 6);
	/* UDP: a bad full checksum is dropped, a partial one completed. */
	us = socket(AF_INET, SOCK_DGRAM, 0);
	REQUIRE(us >= 0);
	CHECK_EQ(bind(us, (struct sockaddr *)&a, sizeof(a)), 0);
	len = tap_udp(f, &h, tapmac, "BAD", false);
	CHECK_EQ(nb_send(&n, f, len), len);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 14 + 20;
	h.csum_offset = 6;
	len = tap_udp(f, &h, tapmac, "GOOD", true);
	CHECK_EQ(nb_send(&n, f, len), len);
	{
		struct pollfd pfd = { .fd = us, .events = POLLIN };

		CHECK_EQ(poll(&pfd, 1, 5000), 1);
	}
	CHECK_EQ(recv(us, msg, sizeof(msg) - 1, MSG_DONTWAIT), 4);
	CHECK_STR(msg, "GOOD");
	close(us);
	nb_close(&n);
}

TEST(tap_in_own_namespace)
{
	pid_t pid;
	int st = 0;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIP tap: needs root and /dev/net/tun\n");
		return;
	}
	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0) {
			printf("SKIP tap: unshare(CLONE_NEWNET): %s\n",
			    strerror(errno));
			fflush(NULL);
			_exit(0);
		}
		test_failures = 0;
		tap_checks();
		fflush(NULL);
		_exit(test_failures ? 1 : 0);
	}
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

TEST_MAIN(
	TEST_ENTRY(loopback_round_trip)
	TEST_ENTRY(loopback_drops_oversized)
	TEST_ENTRY(loopback_with_header)
	TEST_ENTRY(bad_backends_and_options)
	TEST_ENTRY(slirp_dhcp_offer)
	TEST_ENTRY(slirp_restricted_refuses_outbound)
	TEST_ENTRY(slirp_hostfwd_reaches_guest)
	TEST_ENTRY(slirp_bad_options)
	TEST_ENTRY(tap_in_own_namespace)
)
