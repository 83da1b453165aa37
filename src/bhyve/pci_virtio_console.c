/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-console (virtio spec v1.2, 5.3; bhyve's pci_virtio_console.c):
 * up to 16 ports with VIRTIO_CONSOLE_F_MULTIPORT, each a UNIX stream
 * socket that bhyve creates, or the terminal.
 *
 *   -s N,virtio-console,NAME=PATH[,NAME=PATH...]	(ports 0, 1, ...)
 *   pci.B.S.F.port.<n>.name   what the guest calls port n (PORT_NAME;
 *                            /dev/virtio-ports/<name> in Linux)
 *   pci.B.S.F.port.<n>.path   a UNIX socket to create, or "stdio"
 *
 * Port n is the guest's port n (0-15).  A socket port needs a name; the
 * socket is created at start-up (a stale socket left by a dead process is
 * replaced, one that something listens on is an error) and removed at
 * teardown if it is still ours (bhyve leaves it behind).  It takes one
 * client at a time, as bhyve: a second is closed at once, unless the
 * first has gone meanwhile.  "stdio" (our addition) makes the port the
 * console (CONSOLE_PORT: hvc0 in Linux) on the terminal, which the UART
 * backend owns: raw mode restored on every way out, and refused when a
 * COM port has stdio already.  A console port also gets EMERG_WRITE.
 *
 * Queues (5.3.2): 0/1 port 0's receiveq/transmitq, 2/3 the control
 * receiveq/transmitq, then 2n+2/2n+3 for port n; the device always has
 * all 34.  Without MULTIPORT only port 0 exists, with no control queues.
 *
 * The control handshake (5.3.6.2): DEVICE_READY from the driver makes
 * the device announce each port (DEVICE_ADD); the driver's PORT_READY
 * for a port earns it CONSOLE_PORT (the stdio port), PORT_NAME and
 * PORT_OPEN(1) if a client is connected.  PORT_OPEN follows the client:
 * 1 when one connects, 0 when it goes (bhyve never sends 0).  What the
 * device owes a port is kept as bits, sent in that order whenever the
 * driver has control buffers, so nothing a guest does can queue more
 * than four messages per port.  Messages the driver has no business
 * sending, for ports the device did not add, or too short are ignored
 * (the first few reported on stderr); the device keeps running.
 *
 * Data.  Guest to host: while a client is connected the port is flow
 * controlled: a chain the socket cannot take whole is held, and no more
 * chains are taken from that queue until the socket is writable again
 * (the guest sees a full queue, as Linux expects, and its writes block).
 * With no client the data is dropped and counted, as bhyve does: the
 * driver was told the port is closed (PORT_OPEN 0; Linux then blocks its
 * writers itself), a driver without MULTIPORT cannot be told, and data
 * kept for a client that may never come would greet the next one stale.
 * The terminal never blocks: what it cannot take at once is dropped (the
 * UART backend's rule).  Host to guest: the socket is read only while
 * the driver has opened the port (its PORT_OPEN 1; Linux throws away
 * data for a closed port) and posted buffers; otherwise input waits in
 * the socket and the client's writes back up.  A client that closes is
 * noticed at once, unless input it sent is still waiting for the guest
 * (then when the guest takes it, when a write to it fails, or when the
 * next client knocks).  One that shuts down only its sending side still
 * gets output.
 *
 * Threads.  Queue handlers run for a notification (a vCPU, or the event
 * loop) under the device lock; socket and terminal events run on the
 * event loop, take the lock and run the queue's handler through
 * vi_queue_notify(), so every pass over a queue is a bounded round.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "mevent.h"
#include "uart_backend.h"
#include "virtio.h"

#define VTCON_MAXPORTS 16
#define VTCON_NVQ (2 * (VTCON_MAXPORTS + 1))
#define VTCON_RINGSZ 64
#define VTCON_MAXSEGS VQ_INDIRECT_MAX(VTCON_RINGSZ)
#define VTCON_CTRL_RXQ 2	/* control receiveq: device to driver */
#define VTCON_CTRL_TXQ 3	/* control transmitq: driver to device */
#define VTCON_CLASS 0x078000	/* simple communications, other */
#define VTCON_NAME_MAX 255
#define VTCON_WARN_MAX 4

/* Feature bits (5.3.3). */
#define VTCON_F_SIZE (1ULL << 0)
#define VTCON_F_MULTIPORT (1ULL << 1)
#define VTCON_F_EMERG_WRITE (1ULL << 2)

/* Control events (5.3.6.2). */
enum vtcon_event {
	VTCON_DEVICE_READY = 0,
	VTCON_DEVICE_ADD = 1,
	VTCON_DEVICE_REMOVE = 2,
	VTCON_PORT_READY = 3,
	VTCON_CONSOLE_PORT = 4,
	VTCON_RESIZE = 5,
	VTCON_PORT_OPEN = 6,
	VTCON_PORT_NAME = 7,
};

/* Control messages the device owes a port, sent lowest bit first. */
#define VTCON_PEND_ADD 0x1u
#define VTCON_PEND_CONSOLE 0x2u
#define VTCON_PEND_NAME 0x4u
#define VTCON_PEND_OPEN 0x8u

/* struct virtio_console_control, little-endian in guest memory. */
struct vtcon_control {
	uint32_t id;
	uint16_t event;
	uint16_t value;
} __attribute__((packed));

/* struct virtio_console_config (5.3.4). */
struct vtcon_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

_Static_assert(sizeof(struct vtcon_control) == 8, "control message: 8");
_Static_assert(sizeof(struct vtcon_config) == 12, "config: 12 bytes");

struct vtcon_softc;
struct vtcon_port;

/* A port's host side: a UNIX socket or the terminal. */
struct vtcon_backend {
	/* Output goes somewhere (a client, the terminal). */
	bool (*connected)(struct vtcon_port *p);
	/* Input may still come. */
	bool (*has_input)(struct vtcon_port *p);
	/*
	 * Bytes taken from iov (at least one), -EAGAIN when the peer is
	 * full (it calls back once writable), another negative errno when
	 * the peer is gone.
	 */
	ssize_t (*write)(struct vtcon_port *p, struct iovec *iov, int n);
	/* Bytes read into iov, 0 at end of input, -EAGAIN when none now. */
	ssize_t (*read)(struct vtcon_port *p, struct iovec *iov, int n);
	/* Watch for input, or stop. */
	void (*rx_watch)(struct vtcon_port *p, bool on);
	/*
	 * Input cannot go to the guest now: watch only while none waits,
	 * so that a peer leaving is still seen (a socket's EOF is input).
	 */
	void (*rx_idle)(struct vtcon_port *p);
	/* Undo whatever opening did, partly done or not. */
	void (*close)(struct vtcon_port *p);
};

struct vtcon_port {
	struct vtcon_softc *sc;
	int id;
	bool configured;
	bool console;		/* on stdio: the console port */
	char *name;		/* NULL: no PORT_NAME */
	char *path;
	const struct vtcon_backend *be;

	/* The driver's side of the handshake; cleared by a reset. */
	bool announced;		/* DEVICE_ADD delivered */
	bool ready;		/* PORT_READY 1 */
	bool guest_open;	/* the driver's PORT_OPEN */
	bool open_told;		/* the PORT_OPEN value the driver has */
	unsigned pend;		/* VTCON_PEND_* */

	/* The chain being written while the peer is full. */
	bool tx_held;
	uint16_t tx_idx;
	int tx_cur, tx_end;
	struct iovec tx_iov[VTCON_MAXSEGS];

	/* A UNIX socket: listener, client, and a dup for write events. */
	int lfd, cfd, wfd, dirfd;
	char *base;		/* the socket's name in dirfd */
	bool bound;
	dev_t dev;
	ino_t ino;
	struct mevent *lev, *rev, *wev;
	bool rx_eof;		/* the client shut down its sending side */
	bool rx_watching, tx_watching;

	/* The terminal. */
	struct uart_backend *ub;

	/* Counters. */
	uint64_t tx_bytes, tx_dropped, rx_bytes, clients, rejected;
};

struct vtcon_softc {
	struct virtio_softc vs;
	struct virtio_consts vc;	/* features depend on the ports */
	struct vqueue_info vq[VTCON_NVQ];
	struct mevent_ctx *mev;
	bool multiport;		/* negotiated */
	bool ready;		/* DEVICE_READY 1 seen */
	struct vtcon_port *console;
	struct vtcon_port ports[VTCON_MAXPORTS];
	uint64_t bad_ctrl, emerg_dropped;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Helpers ---- */

static void __attribute__((format(printf, 2, 3)))
vtcon_bad(struct vtcon_softc *sc, const char *fmt, ...)
{
	char msg[VI_ERRLEN];
	va_list ap;

	if (++sc->bad_ctrl > VTCON_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bhyve: %s: %s: ignored%s\n", sc->vs.vs_pi->pi_name,
	    msg, sc->bad_ctrl == VTCON_WARN_MAX ?
	    " (further ones not reported)" : "");
}

/* Copy up to 'len' bytes out of the buffers; how many there were. */
static size_t
vtcon_iov_get(const struct iovec *iov, int n, void *dst, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t k = iov[i].iov_len < len - done ? iov[i].iov_len :
		    len - done;

		memcpy((uint8_t *)dst + done, iov[i].iov_base, k);
		done += k;
	}
	return done;
}

/* Copy 'len' bytes into the buffers from byte 'off' on (they fit). */
static void
vtcon_iov_put(const struct iovec *iov, int n, size_t off, const void *src,
    size_t len)
{
	const uint8_t *s = src;

	for (int i = 0; i < n && len > 0; i++) {
		size_t k;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		memcpy((uint8_t *)iov[i].iov_base + off, s, k);
		s += k;
		len -= k;
		off = 0;
	}
}

static unsigned
vtcon_rxq(const struct vtcon_port *p)
{
	return p->id == 0 ? 0 : 2 * (unsigned)p->id + 2;
}

static unsigned
vtcon_txq(const struct vtcon_port *p)
{
	return vtcon_rxq(p) + 1;
}

/* The port of a data queue (not 2 or 3). */
static struct vtcon_port *
vtcon_vq_port(struct vtcon_softc *sc, struct vqueue_info *vq)
{
	return &sc->ports[vq->vq_num < 2 ? 0 : vq->vq_num / 2 - 1];
}

/* The port exists for the driver: without MULTIPORT only port 0. */
static bool
vtcon_port_active(const struct vtcon_port *p)
{
	return p->configured && (p->sc->multiport || p->id == 0);
}

/* Output goes somewhere. */
static bool
vtcon_port_live(struct vtcon_port *p)
{
	return vtcon_port_active(p) && p->be->connected(p);
}

/* Input may be moved to the guest now. */
static bool
vtcon_rx_open(struct vtcon_port *p)
{
	return vtcon_port_live(p) && p->be->has_input(p) &&
	    (p->guest_open || !p->sc->multiport);
}

static void
vtcon_rx_watch(struct vtcon_port *p, bool on)
{
	if (p->be != NULL)
		p->be->rx_watch(p, on);
}

static void
vtcon_rx_idle(struct vtcon_port *p)
{
	if (p->be != NULL)
		p->be->rx_idle(p);
}

/* ---- Host to guest ---- */

/*
 * The port's receiveq: fill buffers from the host side while both have
 * something.  With no input the host side is watched; with no buffers
 * it is not, once input waits (the driver's next notification brings us
 * back).
 */
static void
vtcon_rx_notify(void *dev, struct vqueue_info *vq)
{
	struct vtcon_port *p = vtcon_vq_port(dev, vq);
	struct iovec iov[VTCON_MAXSEGS];
	struct vi_req req;
	bool watch = false;
	ssize_t r;

	while (vtcon_rx_open(p) &&
	    vq_getchain(vq, iov, VTCON_MAXSEGS, &req) > 0) {
		/* Nowhere to put a byte (5.3.6.1 wants writable ones). */
		if (req.writable_len == 0) {
			vq_relchain(vq, req.idx, 0);
			continue;
		}
		r = p->be->read(p, iov + req.readable, req.writable);
		if (r > 0) {
			p->rx_bytes += (uint64_t)r;
			vq_relchain(vq, req.idx, (uint32_t)r);
			continue;
		}
		vq_retchain(vq);
		watch = r == -EAGAIN;
		break;
	}
	if (watch && vtcon_rx_open(p))
		vtcon_rx_watch(p, true);
	else
		vtcon_rx_idle(p);
	vq_endchains(vq);
}

/* Something changed on the port's input side: a round, or no watching. */
static void
vtcon_rx_kick(struct vtcon_port *p)
{
	struct vtcon_softc *sc = p->sc;
	unsigned q = vtcon_rxq(p);

	if (vtcon_rx_open(p) && vq_ring_ready(&sc->vq[q]))
		vi_queue_notify(&sc->vs, q);
	else
		vtcon_rx_idle(p);
}

/* ---- Guest to host ---- */

static void
vtcon_tx_advance(struct vtcon_port *p, size_t n)
{
	while (n > 0 && p->tx_cur < p->tx_end) {
		struct iovec *v = &p->tx_iov[p->tx_cur];

		if (n < v->iov_len) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			return;
		}
		n -= v->iov_len;
		p->tx_cur++;
	}
}

static void
vtcon_tx_drop(struct vtcon_port *p)
{
	for (; p->tx_cur < p->tx_end; p->tx_cur++)
		p->tx_dropped += p->tx_iov[p->tx_cur].iov_len;
}

/* Send the held chain on: true once it is done with (sent or dropped). */
static bool
vtcon_tx_flush(struct vtcon_port *p)
{
	ssize_t r;

	while (p->tx_cur < p->tx_end) {
		if (p->tx_iov[p->tx_cur].iov_len == 0) {
			p->tx_cur++;
			continue;
		}
		if (!vtcon_port_live(p)) {
			vtcon_tx_drop(p);
			break;
		}
		r = p->be->write(p, &p->tx_iov[p->tx_cur],
		    p->tx_end - p->tx_cur);
		if (r == -EAGAIN)
			return false;
		if (r <= 0) {
			vtcon_tx_drop(p);
			break;
		}
		p->tx_bytes += (uint64_t)r;
		vtcon_tx_advance(p, (size_t)r);
	}
	return true;
}

/*
 * The port's transmitq.  Device-writable buffers in a chain mean nothing
 * here (5.3.6.1: the driver posts readable ones) and are skipped.
 */
static void
vtcon_tx_notify(void *dev, struct vqueue_info *vq)
{
	struct vtcon_port *p = vtcon_vq_port(dev, vq);
	struct vi_req req;

	for (;;) {
		if (!p->tx_held) {
			if (vq_getchain(vq, p->tx_iov, VTCON_MAXSEGS,
			    &req) <= 0)
				break;
			p->tx_held = true;
			p->tx_idx = req.idx;
			p->tx_cur = 0;
			p->tx_end = req.readable;
		}
		if (!vtcon_tx_flush(p))
			break;
		p->tx_held = false;
		vq_relchain(vq, p->tx_idx, 0);
	}
	vq_endchains(vq);
}

/* ---- The control queues ---- */

/* One message into the next control buffer that holds it. */
static bool
vtcon_ctrl_send(struct vqueue_info *vq, const struct vtcon_control *m,
    const void *payload, size_t len)
{
	struct iovec iov[VTCON_MAXSEGS];
	struct vi_req req;

	while (vq_getchain(vq, iov, VTCON_MAXSEGS, &req) > 0) {
		const struct iovec *w = iov + req.readable;

		/* Too small for it: given back empty, the next one tried. */
		if (req.writable_len < sizeof(*m) + len) {
			vq_relchain(vq, req.idx, 0);
			continue;
		}
		vtcon_iov_put(w, req.writable, 0, m, sizeof(*m));
		vtcon_iov_put(w, req.writable, sizeof(*m), payload, len);
		vq_relchain(vq, req.idx, (uint32_t)(sizeof(*m) + len));
		return true;
	}
	return false;
}

/* What port p is owed, in order; false when the driver has no room. */
static bool
vtcon_ctrl_port_flush(struct vqueue_info *vq, struct vtcon_port *p)
{
	while (p->pend != 0) {
		unsigned bit = p->pend & -p->pend;
		bool open = vtcon_port_live(p);
		struct vtcon_control m = { .id = htole32((uint32_t)p->id),
			.value = htole16(1) };
		const char *payload = NULL;

		if (bit == VTCON_PEND_ADD) {
			m.event = htole16(VTCON_DEVICE_ADD);
		} else if (bit == VTCON_PEND_CONSOLE) {
			m.event = htole16(VTCON_CONSOLE_PORT);
		} else if (bit == VTCON_PEND_NAME) {
			m.event = htole16(VTCON_PORT_NAME);
			payload = p->name;
		} else if (open != p->open_told) {
			m.event = htole16(VTCON_PORT_OPEN);
			m.value = htole16(open);
		} else {
			p->pend &= ~bit;	/* the driver knows already */
			continue;
		}
		if (!vtcon_ctrl_send(vq, &m, payload,
		    payload ? strlen(payload) : 0))
			return false;
		p->pend &= ~bit;
		p->announced |= bit == VTCON_PEND_ADD;
		if (bit == VTCON_PEND_OPEN)
			p->open_told = open;
	}
	return true;
}

/* The control receiveq: send what is owed, port by port. */
static void
vtcon_ctrl_rx_notify(void *dev, struct vqueue_info *vq)
{
	struct vtcon_softc *sc = dev;

	for (int i = 0; sc->multiport && i < VTCON_MAXPORTS; i++)
		if (!vtcon_ctrl_port_flush(vq, &sc->ports[i]))
			break;
	vq_endchains(vq);
}

static void
vtcon_ctrl_kick(struct vtcon_softc *sc)
{
	vi_queue_notify(&sc->vs, VTCON_CTRL_RXQ);
}

/* The host side of a port came or went. */
static void
vtcon_host_changed(struct vtcon_port *p)
{
	if (p->ready) {
		p->pend |= VTCON_PEND_OPEN;
		vtcon_ctrl_kick(p->sc);
	}
	vtcon_rx_kick(p);
	/* A chain held for a client that left is dropped now. */
	vi_queue_notify(&p->sc->vs, vtcon_txq(p));
}

/* DEVICE_READY: announce every port, once (5.3.6.2.1). */
static void
vtcon_ctrl_device_ready(struct vtcon_softc *sc, struct vtcon_port *unused,
    uint16_t value)
{
	if (value == 0) {
		vtcon_bad(sc, "the driver failed to initialize");
		return;
	}
	if (sc->ready)
		return;
	sc->ready = true;
	for (int i = 0; i < VTCON_MAXPORTS; i++)
		if (sc->ports[i].configured)
			sc->ports[i].pend |= VTCON_PEND_ADD;
}

/* PORT_READY: the driver made the port; tell it what it is. */
static void
vtcon_ctrl_port_ready(struct vtcon_softc *sc, struct vtcon_port *p,
    uint16_t value)
{
	p->ready = value != 0;
	if (!p->ready) {
		vtcon_bad(sc, "the driver failed to set up port %d", p->id);
		return;
	}
	p->pend |= VTCON_PEND_OPEN | (p->console ? VTCON_PEND_CONSOLE : 0) |
	    (p->name ? VTCON_PEND_NAME : 0);
}

/* PORT_OPEN from the driver: a program in the guest opened the port. */
static void
vtcon_ctrl_port_open(struct vtcon_softc *sc, struct vtcon_port *p,
    uint16_t value)
{
	p->guest_open = value != 0;
	vtcon_rx_kick(p);
}

typedef void vtcon_ctrl_fn(struct vtcon_softc *sc, struct vtcon_port *p,
    uint16_t value);

/* What a driver may send; the other events are the device's. */
static const struct {
	vtcon_ctrl_fn *fn;
	bool port;	/* 'id' names a port the device added */
} vtcon_ctrl_ops[] = {
	[VTCON_DEVICE_READY] = { .fn = vtcon_ctrl_device_ready },
	[VTCON_PORT_READY] = { .fn = vtcon_ctrl_port_ready, .port = true },
	[VTCON_PORT_OPEN] = { .fn = vtcon_ctrl_port_open, .port = true },
};

static void
vtcon_ctrl_recv(struct vtcon_softc *sc, const struct vtcon_control *m)
{
	uint32_t id = le32toh(m->id);
	uint16_t event = le16toh(m->event), value = le16toh(m->value);
	struct vtcon_port *p = NULL;

	if (event >= NELEM(vtcon_ctrl_ops) || !vtcon_ctrl_ops[event].fn) {
		vtcon_bad(sc, "control event %u from the driver", event);
		return;
	}
	/* Every driver event is a success/failure or open/closed flag. */
	if (value > 1) {
		vtcon_bad(sc, "control event %u with value %u", event, value);
		return;
	}
	if (vtcon_ctrl_ops[event].port) {
		if (id >= VTCON_MAXPORTS || !sc->ports[id].announced) {
			vtcon_bad(sc, "control event %u for port %u, which "
			    "the device did not add", event, id);
			return;
		}
		p = &sc->ports[id];
	}
	vtcon_ctrl_ops[event].fn(sc, p, value);
}

/* The control transmitq: messages from the driver, copied out once. */
static void
vtcon_ctrl_tx_notify(void *dev, struct vqueue_info *vq)
{
	struct vtcon_softc *sc = dev;
	struct iovec iov[VTCON_MAXSEGS];
	struct vtcon_control m;
	struct vi_req req;

	while (vq_getchain(vq, iov, VTCON_MAXSEGS, &req) > 0) {
		if (!sc->multiport)
			vtcon_bad(sc, "a control message without MULTIPORT");
		else if (vtcon_iov_get(iov, req.readable, &m, sizeof(m)) <
		    sizeof(m))
			vtcon_bad(sc, "a control message of %u bytes",
			    req.readable_len);
		else
			vtcon_ctrl_recv(sc, &m);
		vq_relchain(vq, req.idx, 0);
	}
	vq_endchains(vq);
	vtcon_ctrl_kick(sc);
}

/* ---- Device callbacks ---- */

static int
vtcon_apply_features(void *dev, uint64_t negotiated)
{
	struct vtcon_softc *sc = dev;

	sc->multiport = (negotiated & VTCON_F_MULTIPORT) != 0;
	return 0;
}

/* Everything the driver knew goes; the host sides stay connected. */
static void
vtcon_reset(void *dev)
{
	struct vtcon_softc *sc = dev;

	sc->multiport = sc->ready = false;
	for (int i = 0; i < VTCON_MAXPORTS; i++) {
		struct vtcon_port *p = &sc->ports[i];

		p->announced = p->ready = p->guest_open = false;
		p->open_told = false;
		p->pend = 0;
		p->tx_held = false;
		vtcon_rx_watch(p, false);
	}
}

/* No VTCON_F_SIZE: cols and rows read 0. */
static int
vtcon_cfgread(void *dev, int off, int size, uint32_t *val)
{
	struct vtcon_config cfg = { .max_nr_ports = VTCON_MAXPORTS };

	*val = 0;
	memcpy(val, (uint8_t *)&cfg + off, (size_t)size);
	return 0;
}

/*
 * emerg_wr (5.3.4): one character to the console, usable before the
 * queues are, even before the feature is acknowledged.
 */
static int
vtcon_cfgwrite(void *dev, int off, int size, uint32_t val)
{
	struct vtcon_softc *sc = dev;
	struct vtcon_port *p = sc->console;
	uint8_t c = (uint8_t)val;
	struct iovec v = { .iov_base = &c, .iov_len = 1 };

	if (off != offsetof(struct vtcon_config, emerg_wr))
		return 0;
	if (p != NULL && p->be->connected(p) && p->be->write(p, &v, 1) == 1)
		p->tx_bytes++;
	else
		sc->emerg_dropped++;
	return 0;
}

static const struct virtio_consts vtcon_vi_consts = {
	.vc_name = "virtio-console",
	.vc_devtype = VIRTIO_ID_CONSOLE,
	.vc_class = VTCON_CLASS,
	.vc_nvq = VTCON_NVQ,
	.vc_cfgsize = sizeof(struct vtcon_config),
	.vc_hv_caps = VTCON_F_MULTIPORT,
	.vc_reset = vtcon_reset,
	.vc_cfgread = vtcon_cfgread,
	.vc_cfgwrite = vtcon_cfgwrite,
	.vc_apply_features = vtcon_apply_features,
};

/* ---- The terminal ---- */

static bool
vtcon_stdio_yes(struct vtcon_port *p)
{
	return true;
}

static ssize_t
vtcon_stdio_write(struct vtcon_port *p, struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++) {
		uart_backend_write(p->ub, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

static ssize_t
vtcon_stdio_read(struct vtcon_port *p, struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++) {
		size_t got = uart_backend_read(p->ub, iov[i].iov_base,
		    iov[i].iov_len);

		total += got;
		if (got < iov[i].iov_len)
			break;
	}
	return total > 0 ? (ssize_t)total : -EAGAIN;
}

static void
vtcon_stdio_rx_watch(struct vtcon_port *p, bool on)
{
	if (p->ub == NULL || p->rx_watching == on)
		return;
	uart_backend_rx_enable(p->ub, on);
	p->rx_watching = on;
}

static void
vtcon_stdio_rx_idle(struct vtcon_port *p)
{
	vtcon_stdio_rx_watch(p, false);
}

static void
vtcon_stdio_close(struct vtcon_port *p)
{
	uart_backend_close(p->ub);
	p->ub = NULL;
}

static const struct vtcon_backend vtcon_stdio_backend = {
	.connected = vtcon_stdio_yes,
	.has_input = vtcon_stdio_yes,
	.write = vtcon_stdio_write,
	.read = vtcon_stdio_read,
	.rx_watch = vtcon_stdio_rx_watch,
	.rx_idle = vtcon_stdio_rx_idle,
	.close = vtcon_stdio_close,
};

/* The UART backend has input for us (event loop). */
static void
vtcon_stdio_rx_ready(void *arg)
{
	struct vtcon_port *p = arg;

	vi_lock(&p->sc->vs);
	vtcon_rx_kick(p);
	vi_unlock(&p->sc->vs);
}

static int
vtcon_stdio_open(struct vtcon_port *p, struct pci_devinst *pi)
{
	char err[BHYVE_ERRLEN];
	int error;

	p->be = &vtcon_stdio_backend;
	error = uart_backend_open(&p->ub, "stdio", p->sc->mev,
	    vtcon_stdio_rx_ready, p, err, sizeof(err));
	if (error == -EBUSY)
		return pci_emul_error(pi, "port.%d.path=stdio: stdio is "
		    "already in use (by a COM port?)", p->id);
	if (error)
		return pci_emul_error(pi, "port.%d.path=stdio: %s", p->id, err);
	/* The backend starts out watching; nothing is wanted yet. */
	p->rx_watching = true;
	vtcon_stdio_rx_watch(p, false);
	return 0;
}

/* ---- UNIX sockets ---- */

static bool
vtcon_sock_connected(struct vtcon_port *p)
{
	return p->cfd >= 0;
}

static bool
vtcon_sock_has_input(struct vtcon_port *p)
{
	return p->cfd >= 0 && !p->rx_eof;
}

static void
vtcon_sock_rx_watch(struct vtcon_port *p, bool on)
{
	if (p->rev == NULL || p->rx_watching == on)
		return;
	if ((on ? mevent_enable(p->rev) : mevent_disable(p->rev)) == 0)
		p->rx_watching = on;
}

static void
vtcon_sock_tx_watch(struct vtcon_port *p, bool on)
{
	if (p->wev == NULL || p->tx_watching == on)
		return;
	if ((on ? mevent_enable(p->wev) : mevent_disable(p->wev)) == 0)
		p->tx_watching = on;
}

/* The client closed its end for good (a half-close is not this). */
static bool
vtcon_sock_hung_up(struct vtcon_port *p)
{
	struct pollfd pfd = { .fd = p->cfd, .events = POLLOUT };

	return poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

static void
vtcon_sock_drop_client(struct vtcon_port *p)
{
	if (p->rev != NULL)
		(void)mevent_delete(p->rev);
	if (p->wev != NULL)
		(void)mevent_delete(p->wev);
	if (p->cfd >= 0)
		close(p->cfd);
	if (p->wfd >= 0)
		close(p->wfd);
	p->rev = p->wev = NULL;
	p->cfd = p->wfd = -1;
	p->rx_eof = p->rx_watching = p->tx_watching = false;
}

static void
vtcon_sock_disconnect(struct vtcon_port *p)
{
	vtcon_sock_drop_client(p);
	vtcon_host_changed(p);
}

static ssize_t
vtcon_sock_write(struct vtcon_port *p, struct iovec *iov, int n)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	ssize_t r;

	if (p->cfd < 0)
		return -ENOTCONN;
	r = sendmsg(p->cfd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r > 0)
		return r;
	if (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR) {
		vtcon_sock_tx_watch(p, true);
		return -EAGAIN;
	}
	r = -errno;
	vtcon_sock_disconnect(p);
	return r;
}

static ssize_t
vtcon_sock_read(struct vtcon_port *p, struct iovec *iov, int n)
{
	ssize_t r;

	if (!vtcon_sock_has_input(p))
		return -ENOTCONN;
	r = readv(p->cfd, iov, n);
	if (r > 0)
		return r;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return -EAGAIN;
	r = r < 0 ? -errno : 0;
	/* End of input: a client still reading keeps getting output. */
	if (r == 0 && !vtcon_sock_hung_up(p)) {
		p->rx_eof = true;
		vtcon_sock_rx_watch(p, false);
		return 0;
	}
	vtcon_sock_disconnect(p);
	return r;
}

/*
 * Nothing waiting: watch, and the next event is input or the client
 * leaving.  Input waiting: stop; a client that leaves meanwhile is seen
 * when the guest takes the input, when a write fails, or when the next
 * client knocks.
 */
static void
vtcon_sock_rx_idle(struct vtcon_port *p)
{
	uint8_t c;
	ssize_t r;

	if (!vtcon_sock_has_input(p)) {
		vtcon_sock_rx_watch(p, false);
		return;
	}
	r = recv(p->cfd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))) {
		vtcon_sock_rx_watch(p, r < 0);
		return;
	}
	if (r == 0 && !vtcon_sock_hung_up(p)) {
		p->rx_eof = true;
		vtcon_sock_rx_watch(p, false);
		return;
	}
	vtcon_sock_disconnect(p);
}

/* Remove the socket file if it is still the one we made. */
static void
vtcon_sock_unlink(struct vtcon_port *p)
{
	struct stat st;

	if (!p->bound || fstatat(p->dirfd, p->base, &st,
	    AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (S_ISSOCK(st.st_mode) && st.st_dev == p->dev && st.st_ino == p->ino)
		(void)unlinkat(p->dirfd, p->base, 0);
	p->bound = false;
}

static void
vtcon_sock_close(struct vtcon_port *p)
{
	vtcon_sock_drop_client(p);
	if (p->lev != NULL)
		(void)mevent_delete(p->lev);
	p->lev = NULL;
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
	vtcon_sock_unlink(p);
	if (p->dirfd >= 0)
		close(p->dirfd);
	p->dirfd = -1;
	free(p->base);
	p->base = NULL;
}

static const struct vtcon_backend vtcon_sock_backend = {
	.connected = vtcon_sock_connected,
	.has_input = vtcon_sock_has_input,
	.write = vtcon_sock_write,
	.read = vtcon_sock_read,
	.rx_watch = vtcon_sock_rx_watch,
	.rx_idle = vtcon_sock_rx_idle,
	.close = vtcon_sock_close,
};

static void
vtcon_sock_readable(int fd, enum mevent_type type, void *arg)
{
	struct vtcon_port *p = arg;

	vi_lock(&p->sc->vs);
	vtcon_rx_kick(p);
	vi_unlock(&p->sc->vs);
}

static void
vtcon_sock_writable(int fd, enum mevent_type type, void *arg)
{
	struct vtcon_port *p = arg;

	vi_lock(&p->sc->vs);
	vtcon_sock_tx_watch(p, false);
	vi_queue_notify(&p->sc->vs, vtcon_txq(p));
	vi_unlock(&p->sc->vs);
}

/*
 * A client: read events on its fd, write events on a dup of it (epoll
 * takes one registration per fd), off until a write would block.
 */
static int
vtcon_sock_attach(struct vtcon_port *p, int c)
{
	struct mevent_ctx *mev = p->sc->mev;
	int w = fcntl(c, F_DUPFD_CLOEXEC, 0);

	if (w < 0)
		return -1;
	p->cfd = c;
	p->wfd = w;
	p->rev = mevent_add(mev, c, EVF_READ, vtcon_sock_readable, p);
	p->wev = mevent_add(mev, w, EVF_WRITE, vtcon_sock_writable, p);
	if (p->rev == NULL || p->wev == NULL) {
		vtcon_sock_drop_client(p);
		return -1;
	}
	p->rx_watching = p->tx_watching = true;
	vtcon_sock_tx_watch(p, false);
	p->clients++;
	vtcon_host_changed(p);
	return 0;
}

/* One client at a time: another is closed at once (bhyve does too). */
static void
vtcon_sock_accept(int fd, enum mevent_type type, void *arg)
{
	struct vtcon_port *p = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	vi_lock(&p->sc->vs);
	/* A client that closed while we were not reading: noticed now. */
	if (p->cfd >= 0 && vtcon_sock_hung_up(p))
		vtcon_sock_disconnect(p);
	if (p->cfd >= 0 || vtcon_sock_attach(p, c) != 0) {
		p->rejected++;
		close(c);
	}
	vi_unlock(&p->sc->vs);
}

/* The directory the socket goes in, held open for the removal. */
static int
vtcon_sock_dir(struct vtcon_port *p, struct pci_devinst *pi)
{
	const char *slash = strrchr(p->path, '/');
	char *dir;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == p->path)
		dir = strdup("/");
	else
		dir = strndup(p->path, (size_t)(slash - p->path));
	p->base = strdup(slash ? slash + 1 : p->path);
	if (dir == NULL || p->base == NULL) {
		free(dir);
		return pci_emul_error(pi, "out of memory");
	}
	if (p->base[0] == '\0') {
		free(dir);
		return pci_emul_error(pi, "port.%d.path %s: not a file name",
		    p->id, p->path);
	}
	p->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		int e = errno;

		pci_emul_error(pi, "port.%d.path %s: %s %s", p->id, p->path,
		    dir, e == ENOENT ? "does not exist" : e == ENOTDIR ?
		    "is not a directory" : strerror(e));
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

/*
 * Something at the path already: a socket nobody listens on (a bhyve
 * that died) is replaced; anything else is the user's and an error.
 */
static int
vtcon_sock_clear(struct vtcon_port *p, struct pci_devinst *pi,
    const struct sockaddr_un *sun)
{
	struct stat st;
	int s, r, e;

	if (fstatat(p->dirfd, p->base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : pci_emul_error(pi, "port.%d.path "
		    "%s: %s", p->id, p->path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return pci_emul_error(pi, "port.%d.path %s: exists and is not "
		    "a socket", p->id, p->path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return pci_emul_error(pi, "socket: %s", strerror(errno));
	r = connect(s, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(s);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
		return pci_emul_error(pi, "port.%d.path %s: in use (something "
		    "listens on it)", p->id, p->path);
	if (e != ECONNREFUSED)
		return pci_emul_error(pi, "port.%d.path %s: %s", p->id,
		    p->path, strerror(e));
	if (unlinkat(p->dirfd, p->base, 0) != 0 && errno != ENOENT)
		return pci_emul_error(pi, "port.%d.path %s: cannot remove the "
		    "stale socket: %s", p->id, p->path, strerror(errno));
	return 0;
}

/* Bind and listen, and remember which file is ours. */
static int
vtcon_sock_bind(struct vtcon_port *p, struct pci_devinst *pi,
    const struct sockaddr_un *sun)
{
	struct stat st;

	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (p->lfd < 0 || bind(p->lfd, (const struct sockaddr *)sun,
	    sizeof(*sun)) != 0)
		return pci_emul_error(pi, "port.%d.path %s: %s", p->id,
		    p->path, strerror(errno));
	if (fstatat(p->dirfd, p->base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		int e = errno;

		(void)unlink(sun->sun_path);
		return pci_emul_error(pi, "port.%d.path %s: %s", p->id,
		    p->path, strerror(e));
	}
	p->bound = true;
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	if (listen(p->lfd, 1) != 0)
		return pci_emul_error(pi, "port.%d.path %s: listen: %s", p->id,
		    p->path, strerror(errno));
	return 0;
}

static int
vtcon_sock_open(struct vtcon_port *p, struct pci_devinst *pi)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(p->path);

	p->be = &vtcon_sock_backend;
	if (len >= sizeof(sun.sun_path))
		return pci_emul_error(pi, "port.%d.path: %zu bytes, longer "
		    "than a UNIX socket's %zu", p->id, len,
		    sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, p->path, len + 1);
	if (vtcon_sock_dir(p, pi) != 0 || vtcon_sock_clear(p, pi, &sun) != 0 ||
	    vtcon_sock_bind(p, pi, &sun) != 0)
		return -1;
	p->lev = mevent_add(p->sc->mev, p->lfd, EVF_READ, vtcon_sock_accept,
	    p);
	if (p->lev == NULL)
		return pci_emul_error(pi, "port.%d.path %s: cannot watch it",
		    p->id, p->path);
	return 0;
}

/* ---- Configuration ---- */

/* "0".."15" as written, no sign or leading zero: -EINVAL, or -ERANGE. */
static int
vtcon_port_number(const char *s)
{
	size_t len = strlen(s);
	int n = 0;

	if (len == 0 || len > 9 || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		n = n * 10 + (*s - '0');
	}
	return n < VTCON_MAXPORTS ? n : -ERANGE;
}

/* Why a port name will not do, or NULL: it becomes a device node name. */
static const char *
vtcon_name_problem(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return "empty";
	if (len > VTCON_NAME_MAX)
		return "longer than 255 bytes";
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return "a control character in it";
		if (*c == '/')
			return "a '/' in it";
	}
	return NULL;
}

static int
vtcon_check_dups(struct vtcon_softc *sc, struct pci_devinst *pi, int n,
    const char *name, const char *path)
{
	for (int i = 0; i < VTCON_MAXPORTS; i++) {
		struct vtcon_port *q = &sc->ports[i];

		if (!q->configured)
			continue;
		if (name && q->name && strcmp(name, q->name) == 0)
			return pci_emul_error(pi, "port.%d.name %s: port.%d "
			    "has that name too", n, name, i);
		if (strcmp(path, q->path) == 0)
			return pci_emul_error(pi, "port.%d.path %s: port.%d "
			    "uses it too", n, path, i);
	}
	return 0;
}

static int
vtcon_parse_port(struct vtcon_softc *sc, struct pci_devinst *pi,
    struct config_node *node)
{
	const char *key = config_node_name(node), *name, *path, *why;
	int n = vtcon_port_number(key);
	struct vtcon_port *p;

	if (n == -ERANGE)
		return pci_emul_error(pi, "port.%s: more ports than %d (port "
		    "numbers are 0-%d)", key, VTCON_MAXPORTS,
		    VTCON_MAXPORTS - 1);
	if (n < 0)
		return pci_emul_error(pi, "port.%s: not a port number (0-%d)",
		    key, VTCON_MAXPORTS - 1);
	if (config_node_is_leaf(node))
		return pci_emul_error(pi, "port.%d: want port.%d.name and "
		    "port.%d.path", n, n, n);
	path = config_get(node, "path");
	name = config_get(node, "name");
	if (path == NULL || path[0] == '\0')
		return pci_emul_error(pi, "port.%d.path is not set", n);
	if (name == NULL && strcmp(path, "stdio") != 0)
		return pci_emul_error(pi, "port.%d.name is not set (the guest "
		    "finds a socket port by its name)", n);
	if (name != NULL && (why = vtcon_name_problem(name)) != NULL)
		return pci_emul_error(pi, "port.%d.name '%s': %s", n, name,
		    why);
	if (vtcon_check_dups(sc, pi, n, name, path) != 0)
		return -1;
	p = &sc->ports[n];
	p->name = name ? strdup(name) : NULL;
	p->path = strdup(path);
	if ((name && p->name == NULL) || p->path == NULL)
		return pci_emul_error(pi, "out of memory");
	p->configured = true;
	p->console = strcmp(path, "stdio") == 0;
	if (p->console)
		sc->console = p;
	return 0;
}

static int
vtcon_parse(struct vtcon_softc *sc, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct config_node *ports = config_find_node(nvl, "port");

	if (ports == NULL)
		return 0;
	if (config_node_is_leaf(ports))
		return pci_emul_error(pi, "port: want port.N.name and "
		    "port.N.path (N 0-%d)", VTCON_MAXPORTS - 1);
	for (struct config_node *c = config_first_child(ports); c != NULL;
	    c = config_next_sibling(c))
		if (vtcon_parse_port(sc, pi, c) != 0)
			return -1;
	return 0;
}

/* ---- Set-up and teardown ---- */

static void
vtcon_free(struct vtcon_softc *sc)
{
	for (int i = 0; i < VTCON_MAXPORTS; i++) {
		struct vtcon_port *p = &sc->ports[i];

		if (p->be != NULL)
			p->be->close(p);
		free(p->name);
		free(p->path);
	}
	free(sc);
}

static void
vtcon_softc_init(struct vtcon_softc *sc, struct bhyve_vm *bvm)
{
	sc->mev = bvm->mev;
	sc->vc = vtcon_vi_consts;
	for (int i = 0; i < VTCON_MAXPORTS; i++)
		sc->ports[i] = (struct vtcon_port){ .sc = sc, .id = i,
			.lfd = -1, .cfd = -1, .wfd = -1, .dirfd = -1 };
	for (int i = 0; i < VTCON_NVQ; i++) {
		struct vqueue_info *vq = &sc->vq[i];

		vq->vq_qsize_max = VTCON_RINGSZ;
		if (i == VTCON_CTRL_RXQ)
			vq->vq_notify = vtcon_ctrl_rx_notify;
		else if (i == VTCON_CTRL_TXQ)
			vq->vq_notify = vtcon_ctrl_tx_notify;
		else
			vq->vq_notify = i % 2 == 0 ? vtcon_rx_notify :
			    vtcon_tx_notify;
	}
}

static int
vtcon_open_ports(struct vtcon_softc *sc, struct pci_devinst *pi)
{
	for (int i = 0; i < VTCON_MAXPORTS; i++) {
		struct vtcon_port *p = &sc->ports[i];

		if (!p->configured)
			continue;
		if ((p->console ? vtcon_stdio_open(p, pi) :
		    vtcon_sock_open(p, pi)) != 0)
			return -1;
	}
	return 0;
}

static int
vtcon_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct vtcon_softc *sc;

	if (bvm->mev == NULL)
		return pci_emul_error(pi, "no event loop");
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return pci_emul_error(pi, "out of memory");
	vtcon_softc_init(sc, bvm);
	if (vtcon_parse(sc, pi, nvl) != 0)
		goto fail;
	if (sc->console != NULL)
		sc->vc.vc_hv_caps |= VTCON_F_EMERG_WRITE;
	vi_softc_linkup(&sc->vs, &sc->vc, sc, pi, sc->vq);
	if (vtcon_open_ports(sc, pi) != 0 || vi_pci_init(&sc->vs, nvl) != 0)
		goto fail;
	return 0;
fail:
	pi->pi_arg = NULL;
	vtcon_free(sc);
	return -1;
}

static void
vtcon_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;

	if (vs == NULL)
		return;
	vi_pci_destroy(vs);
	vtcon_free(vs->vs_dev);
	pi->pi_arg = NULL;
}

const struct pci_devemu pci_de_virtio_console = {
	.pe_emu = "virtio-console",
	.pe_init = vtcon_init,
	.pe_destroy = vtcon_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};
