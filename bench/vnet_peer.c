/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host side of bench/guest_vnet.c in mode=peer: UDP to and from the
 * guest, through a slirp host forward (127.0.0.1:HPORT) or a tap in a
 * network namespace (the guest's 192.0.2.x address).
 *
 *   vnet_peer rx ADDR PORT FRAME COUNT RUN [PPS]
 *	host -> guest: COUNT datagrams making FRAME-byte Ethernet frames
 *	(at most PPS a second; 0 or none: as fast as the socket takes
 *	them), then END until the guest could have seen it.  The guest
 *	reports what arrived; this prints what was sent.
 *   vnet_peer tx ADDR PORT FRAME COUNT RUN
 *	guest -> host: GO (repeated until data flows), then count what
 *	comes back until END or a quiet second; prints frames, bytes and
 *	the rate between the first and the last datagram.
 *   vnet_peer quit ADDR PORT
 *	the guest finishes.
 *
 * Every loop is bounded in count and time; traffic goes only to ADDR,
 * which the caller makes a loopback or test-namespace address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VP_MAGIC 0x5642
#define VP_UDP_HDRS 42		/* Ethernet, IPv4, UDP */
#define VP_MAX_FRAME 1514
#define VP_GO_TRIES 50		/* 50 x 200 ms */
#define VP_QUIET_MS 1000
#define VP_TX_MAX_S 120

enum { VP_DATA = 1, VP_END, VP_GO, VP_QUIT };

/* guest_vnet.c's struct vnet_msg, little-endian. */
struct vp_msg {
	uint16_t magic;
	uint8_t kind;
	uint8_t run;
	uint32_t seq;
	uint32_t count;
	uint16_t size;
	uint16_t pad;
} __attribute__((packed));

struct vp {
	int fd;
	uint32_t frame;		/* Ethernet frame length */
	uint32_t count;
	uint8_t run;
	uint8_t buf[VP_MAX_FRAME];
};

static double
vp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
vp_sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
		.tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A UDP socket connected to ADDR:PORT, or -1 (said). */
static int
vp_connect(const char *addr, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, sz = 4 << 20;

	sin.sin_port = htons((uint16_t)strtoul(port, NULL, 10));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "vnet_peer: bad address '%s'\n", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("vnet_peer: socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return fd;
}

/* One message of 'len' payload bytes; false if the socket refused. */
static bool
vp_send(struct vp *p, uint8_t kind, uint32_t seq, size_t len)
{
	struct vp_msg m = { .magic = htole16(VP_MAGIC), .kind = kind,
		.run = p->run, .seq = htole32(seq),
		.count = htole32(p->count),
		.size = htole16((uint16_t)p->frame) };

	memcpy(p->buf, &m, sizeof(m));
	return send(p->fd, p->buf, len, 0) == (ssize_t)len;
}

static size_t
vp_payload(const struct vp *p)
{
	return p->frame - VP_UDP_HDRS;
}

static int
vp_rx(struct vp *p, uint32_t pps)
{
	double t0 = vp_now_us(), pace = pps ? 1e6 / pps : 0;
	uint32_t sent = 0, refused = 0;

	for (uint32_t i = 0; i < p->count; i++) {
		if (pace > 0) {
			double due = t0 + i * pace, now = vp_now_us();

			if (due > now + 50)
				vp_sleep_us((long)(due - now));
		}
		if (vp_send(p, VP_DATA, i, vp_payload(p)))
			sent++;
		else
			refused++;
	}
	t0 = vp_now_us() - t0;
	/* END after the guest had time to drain what it queued. */
	for (int k = 0; k < 10; k++) {
		vp_sleep_us(100000);
		(void)vp_send(p, VP_END, 0, vp_payload(p));
	}
	printf("peer: rx run=%u size=%u sent=%u refused=%u us=%.0f\n", p->run,
	    p->frame, sent, refused, t0);
	return 0;
}

/* Wait up to 'ms' for a datagram; its length, 0 on timeout. */
static ssize_t
vp_recv(struct vp *p, int ms, struct vp_msg *m)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = recv(p->fd, p->buf, sizeof(p->buf), 0);
	if (n < (ssize_t)sizeof(*m))
		return n < 0 ? 0 : -1;
	memcpy(m, p->buf, sizeof(*m));
	if (le16toh(m->magic) != VP_MAGIC || m->run != p->run)
		return -1;
	return n;
}

static int
vp_tx(struct vp *p)
{
	double first = 0, last = 0, t0 = vp_now_us();
	uint64_t n = 0, bytes = 0;
	struct vp_msg m;
	ssize_t got = 0;
	int tries;

	for (tries = 0; tries < VP_GO_TRIES && got <= 0; tries++) {
		(void)vp_send(p, VP_GO, 0, vp_payload(p));
		got = vp_recv(p, 200, &m);
	}
	while (got != 0 && vp_now_us() - t0 < VP_TX_MAX_S * 1e6) {
		if (got > 0 && m.kind == VP_END)
			break;
		if (got > 0 && m.kind == VP_DATA) {
			last = vp_now_us();
			if (n++ == 0)
				first = last;
			bytes += (uint64_t)got + VP_UDP_HDRS;
		}
		got = vp_recv(p, VP_QUIET_MS, &m);
	}
	printf("peer: tx run=%u size=%u received=%lu lost=%lu us=%.0f "
	    "fps=%.0f mbs=%.3f\n", p->run, p->frame, (unsigned long)n,
	    (unsigned long)(p->count > n ? p->count - n : 0), last - first,
	    last > first ? n / ((last - first) / 1e6) : 0,
	    last > first ? bytes / (last - first) : 0);
	return n > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct vp p = { .fd = -1 };
	int rc;

	if (argc >= 4 && strcmp(argv[1], "quit") == 0) {
		if ((p.fd = vp_connect(argv[2], argv[3])) < 0)
			return 1;
		p.frame = 64;
		for (int k = 0; k < 3; k++)
			(void)vp_send(&p, VP_QUIT, 0, vp_payload(&p));
		close(p.fd);
		return 0;
	}
	if (argc < 7 || (strcmp(argv[1], "rx") && strcmp(argv[1], "tx"))) {
		fprintf(stderr, "usage: vnet_peer rx|tx ADDR PORT FRAME COUNT "
		    "RUN [PPS] | quit ADDR PORT\n");
		return 2;
	}
	p.frame = (uint32_t)strtoul(argv[4], NULL, 10);
	p.count = (uint32_t)strtoul(argv[5], NULL, 10);
	p.run = (uint8_t)strtoul(argv[6], NULL, 10);
	if (p.frame < 64 || p.frame > VP_MAX_FRAME || p.count == 0) {
		fprintf(stderr, "vnet_peer: FRAME 64..1514, COUNT > 0\n");
		return 2;
	}
	if ((p.fd = vp_connect(argv[2], argv[3])) < 0)
		return 1;
	if (argv[1][0] == 'r')
		rc = vp_rx(&p, argc > 7 ? (uint32_t)strtoul(argv[7], NULL,
		    10) : 0);
	else
		rc = vp_tx(&p);
	close(p.fd);
	return rc;
}
