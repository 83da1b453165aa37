/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Network backends: tap, slirp and loopback behind one interface (see
 * net_backends.h).
 *
 * Receive.  Every backend hands frames one at a time from a descriptor
 * the event loop watches: the tap device itself, or one end of an AF_UNIX
 * datagram socket pair that the slirp and loopback backends write their
 * output into.  A frame is read into the backend's own buffer and held
 * there until the device has room for it; while it is held the device
 * turns receive off, so nothing more is read from the host and the host
 * (the tap's queue, the socket pair's buffer) does the queueing and, when
 * full, the dropping, as a wire would.
 *
 * slirp.  bhyve runs libslirp in a helper process (slirp-helper) so that
 * it can drop privileges and sandbox it with Capsicum.  Here it runs in
 * the bhyve process, on the event loop: this device model has no sandbox
 * yet that a helper would escape, and an in-process backend needs no
 * second process to start, supervise and tear down, nor a copy of every
 * frame through a socket to it.  libslirp is not thread-safe, so every
 * call into it holds the backend's lock: slirp_input() on the thread that
 * transmits (a vCPU or the event loop), polling and timers on the event
 * loop.  libslirp's sockets change from round to round; they are kept in
 * an epoll set of our own whose descriptor the event loop watches, and
 * its timeouts in a timerfd.  Frames libslirp sends to the guest are
 * written, never blocking, into the socket pair (dropped if it is full,
 * which libslirp allows: TCP retransmits), so no call into the device is
 * ever made with the slirp lock held.  The library is loaded with
 * dlopen() at start-up, as bhyve does, so that bhyve runs where libslirp
 * is not installed (the slirp backend then says so).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The slirp backend needs libslirp's header (libslirp-dev) to build. */
#if __has_include(<slirp/libslirp.h>)
#define NETBE_HAVE_SLIRP 1
#include <arpa/inet.h>
#include <dlfcn.h>
#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include <slirp/libslirp.h>
#endif

#include "bhyverun.h"
#include "config.h"
#include "mevent.h"
#include "net_backends.h"

/* A frame and its header: what one receive can bring. */
#define NETBE_BUF_SIZE (NETBE_MAX_FRAME + sizeof(struct virtio_net_hdr))
/* Frames dropped in one peek before giving the event loop back. */
#define NETBE_PEEK_TRIES 64

struct netbe_ops {
	const char *nb_type;
	int (*nb_init)(struct net_backend *be, const struct netbe_params *p,
	    char *err, size_t errlen);
	void (*nb_cleanup)(struct net_backend *be);
	ssize_t (*nb_send)(struct net_backend *be, const struct iovec *iov,
	    int iovcnt);
	/* One frame into buf: its length (more than len: truncated), 0 or
	   -EAGAIN when none, another negative errno on error. */
	ssize_t (*nb_recv)(struct net_backend *be, void *buf, size_t len);
	int (*nb_set_cap)(struct net_backend *be, uint64_t features);
};

struct net_backend {
	const struct netbe_ops *be_ops;
	struct bhyve_vm *be_bvm;
	int be_fd;		/* frames for the guest come from here */
	struct mevent *be_rxev;
	bool be_rx_on;
	netbe_rx_cb_t *be_cb;
	void *be_arg;
	size_t be_hdrlen;	/* virtio_net_hdr bytes before each frame */
	uint64_t be_caps;	/* offloads it can carry */
	uint8_t *be_buf;	/* the held frame */
	size_t be_len;		/* its length; 0: none held */
	void *be_priv;
};

static void __attribute__((format(printf, 3, 4)))
netbe_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- tap ---- */

/*
 * The tap's offloads (TUNSETOFFLOAD) say what the host may hand us: the
 * guest's receive features.  What the guest sends with a header (partial
 * checksums, TSO) the tap takes whenever IFF_VNET_HDR is on.
 */
static const struct {
	uint64_t feature;
	unsigned tun;
} netbe_tap_offloads[] = {
	{ VIRTIO_NET_F_GUEST_CSUM, TUN_F_CSUM },
	{ VIRTIO_NET_F_GUEST_TSO4, TUN_F_TSO4 },
	{ VIRTIO_NET_F_GUEST_TSO6, TUN_F_TSO6 },
	{ VIRTIO_NET_F_GUEST_ECN, TUN_F_TSO_ECN },
};

/* IFF_VNET_HDR with our header size, if the kernel offers it. */
static bool
netbe_tap_vnet_ok(int fd)
{
	unsigned int features = 0;

	return ioctl(fd, TUNGETFEATURES, &features) == 0 &&
	    (features & IFF_VNET_HDR) != 0;
}

static int
netbe_tap_open(const char *name, bool vnet, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd, hsz = (int)sizeof(struct virtio_net_hdr), error;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		error = -errno;
		netbe_err(err, errlen, "tap '%s': /dev/net/tun: %s", name,
		    strerror(errno));
		return error;
	}
	if (vnet && netbe_tap_vnet_ok(fd))
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0 ||
	    ((ifr.ifr_flags & IFF_VNET_HDR) &&
	    ioctl(fd, TUNSETVNETHDRSZ, &hsz) != 0)) {
		error = -errno;
		netbe_err(err, errlen, "tap '%s': cannot open: %s", name,
		    strerror(errno));
		close(fd);
		return error;
	}
	return fd;
}

static int
netbe_tap_init(struct net_backend *be, const struct netbe_params *p,
    char *err, size_t errlen)
{
	const char *name = config_get(p->nvl, "backend");
	bool vnet = true;
	int fd, flags;
	struct ifreq ifr;

	if (name == NULL || *name == '\0' || strlen(name) >= IFNAMSIZ ||
	    strchr(name, '/') != NULL) {
		netbe_err(err, errlen, "tap '%s': not a valid interface name "
		    "(1-%d characters)", name ? name : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (config_get_bool(p->nvl, "vnet_hdr", true, &vnet) != 0) {
		netbe_err(err, errlen, "tap '%s': invalid vnet_hdr '%s'", name,
		    config_get(p->nvl, "vnet_hdr"));
		return -EINVAL;
	}
	fd = netbe_tap_open(name, vnet, err, errlen);
	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	flags = ioctl(fd, TUNGETIFF, &ifr) == 0 ? ifr.ifr_flags : 0;
	be->be_fd = fd;
	if (flags & IFF_VNET_HDR) {
		be->be_hdrlen = sizeof(struct virtio_net_hdr);
		be->be_caps = NETBE_OFFLOAD_CAPS;
	}
	return 0;
}

static void
netbe_tap_cleanup(struct net_backend *be)
{
	if (be->be_fd >= 0)
		close(be->be_fd);
	be->be_fd = -1;
}

static ssize_t
netbe_tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	ssize_t n = writev(be->be_fd, iov, iovcnt);

	return n < 0 ? -errno : n;
}

static ssize_t
netbe_fd_read(struct net_backend *be, void *buf, size_t len)
{
	ssize_t n = read(be->be_fd, buf, len);

	return n < 0 ? -errno : n;
}

static int
netbe_tap_set_cap(struct net_backend *be, uint64_t features)
{
	unsigned int off = 0;

	if (be->be_hdrlen == 0)
		return 0;
	for (size_t i = 0; i < sizeof(netbe_tap_offloads) /
	    sizeof(netbe_tap_offloads[0]); i++)
		if (features & netbe_tap_offloads[i].feature)
			off |= netbe_tap_offloads[i].tun;
	return ioctl(be->be_fd, TUNSETOFFLOAD, off) == 0 ? 0 : -errno;
}

static const struct netbe_ops netbe_tap_ops = {
	.nb_type = "tap",
	.nb_init = netbe_tap_init,
	.nb_cleanup = netbe_tap_cleanup,
	.nb_send = netbe_tap_send,
	.nb_recv = netbe_fd_read,
	.nb_set_cap = netbe_tap_set_cap,
};

/* ---- Socket-pair plumbing (loopback and slirp) ---- */

struct netbe_pair {
	int np_tx;	/* frames for the guest are written here */
};

/*
 * A datagram socket pair: [0] is the backend's receive descriptor, [1]
 * where frames for the guest are written.  A socket pair's datagram
 * queue is bounded by the writer's send buffer alone, which holds a few
 * hundred small frames.
 */
static int
netbe_pair_open(struct net_backend *be, int *tx, char *err, size_t errlen)
{
	int sv[2], error;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0) {
		error = -errno;
		netbe_err(err, errlen, "%s: socketpair: %s",
		    be->be_ops->nb_type, strerror(-error));
		return error;
	}
	be->be_fd = sv[0];
	*tx = sv[1];
	return 0;
}

/* A datagram, with MSG_TRUNC so that a frame too big shows as such. */
static ssize_t
netbe_pair_recv(struct net_backend *be, void *buf, size_t len)
{
	ssize_t n = recv(be->be_fd, buf, len, MSG_TRUNC | MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

/* ---- loopback (test only) ---- */

static int
netbe_loop_init(struct net_backend *be, const struct netbe_params *p,
    char *err, size_t errlen)
{
	struct netbe_pair *lp;
	bool vnet = false;
	int error;

	if (config_get_bool(p->nvl, "vnet_hdr", false, &vnet) != 0) {
		netbe_err(err, errlen, "loopback: invalid vnet_hdr '%s'",
		    config_get(p->nvl, "vnet_hdr"));
		return -EINVAL;
	}
	lp = calloc(1, sizeof(*lp));
	if (lp == NULL) {
		netbe_err(err, errlen, "loopback: out of memory");
		return -ENOMEM;
	}
	/* With the header, it passes offloads as a tap would (for tests). */
	if (vnet) {
		be->be_hdrlen = sizeof(struct virtio_net_hdr);
		be->be_caps = NETBE_OFFLOAD_CAPS;
	}
	error = netbe_pair_open(be, &lp->np_tx, err, errlen);
	if (error) {
		free(lp);
		return error;
	}
	be->be_priv = lp;
	return 0;
}

static void
netbe_loop_cleanup(struct net_backend *be)
{
	struct netbe_pair *lp = be->be_priv;

	if (lp != NULL)
		close(lp->np_tx);
	free(lp);
	be->be_priv = NULL;
	if (be->be_fd >= 0)
		close(be->be_fd);
	be->be_fd = -1;
}

/* What the guest sends is what it receives: one datagram per frame. */
static ssize_t
netbe_loop_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct netbe_pair *lp = be->be_priv;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt };
	ssize_t n = sendmsg(lp->np_tx, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

	return n < 0 ? -errno : n;
}

static int
netbe_nocap(struct net_backend *be, uint64_t features)
{
	return 0;
}

static const struct netbe_ops netbe_loop_ops = {
	.nb_type = "loopback",
	.nb_init = netbe_loop_init,
	.nb_cleanup = netbe_loop_cleanup,
	.nb_send = netbe_loop_send,
	.nb_recv = netbe_pair_recv,
	.nb_set_cap = netbe_nocap,
};

/* ---- slirp (libslirp, in process, on the event loop) ---- */

#ifdef NETBE_HAVE_SLIRP

#define NETBE_SLIRP_LIB "libslirp.so.0"
/* bhyve's guest network (and QEMU's): 10.0.2.0/24. */
#define NETBE_SLIRP_NET 0x0a000200u
#define NETBE_SLIRP_MASK 0xffffff00u
#define NETBE_SLIRP_HOST 0x0a000202u
#define NETBE_SLIRP_DNS 0x0a000203u
#define NETBE_SLIRP_DHCP 0x0a00020fu
/* libslirp's interface MTU bounds (IF_MTU_MIN/MAX in its if.h). */
#define NETBE_SLIRP_MTU_MIN 68
#define NETBE_SLIRP_MTU_MAX 65521

/* The part of libslirp's API used here, resolved with dlsym(). */
struct netbe_slirp_api {
	Slirp *(*sa_new)(const SlirpConfig *, const SlirpCb *, void *);
	void (*sa_cleanup)(Slirp *);
	void (*sa_input)(Slirp *, const uint8_t *, int);
	void (*sa_fill)(Slirp *, uint32_t *, SlirpAddPollCb, void *);
	void (*sa_poll)(Slirp *, int, SlirpGetREventsCb, void *);
	void (*sa_timer)(Slirp *, SlirpTimerId, void *);
	int (*sa_hostxfwd)(Slirp *, const struct sockaddr *, socklen_t,
	    const struct sockaddr *, socklen_t, int);
};

static const struct {
	const char *name;
	size_t off;
} netbe_slirp_syms[] = {
	{ "slirp_new", offsetof(struct netbe_slirp_api, sa_new) },
	{ "slirp_cleanup", offsetof(struct netbe_slirp_api, sa_cleanup) },
	{ "slirp_input", offsetof(struct netbe_slirp_api, sa_input) },
	{ "slirp_pollfds_fill", offsetof(struct netbe_slirp_api, sa_fill) },
	{ "slirp_pollfds_poll", offsetof(struct netbe_slirp_api, sa_poll) },
	{ "slirp_handle_timer", offsetof(struct netbe_slirp_api, sa_timer) },
	{ "slirp_add_hostxfwd", offsetof(struct netbe_slirp_api,
	    sa_hostxfwd) },
};

struct netbe_slirp;

/* A libslirp timer: a timerfd on the event loop. */
struct netbe_slirp_timer {
	struct netbe_slirp *st_sb;
	SlirpTimerId st_id;	/* timer_new_opaque (config version 4) */
	SlirpTimerCb st_cb;	/* timer_new (older libslirp) */
	void *st_cb_opaque;
	int st_fd;
	struct mevent *st_ev;
};

struct netbe_slirp_fd {
	int fd;
	short events;
};

struct netbe_slirp {
	struct netbe_slirp_api sb_api;
	void *sb_dl;
	Slirp *sb_slirp;
	pthread_mutex_t sb_mtx;	/* every call into libslirp */
	struct mevent_ctx *sb_mev;
	int sb_tx;		/* frames for the guest are written here */
	int sb_epfd;		/* libslirp's sockets of this round */
	struct mevent *sb_epev;
	int sb_tfd;		/* libslirp's poll timeout */
	struct mevent *sb_tev;
	int sb_wakefd;		/* wakes a round: notify, input */
	struct mevent *sb_wakeev;
	atomic_bool sb_wake_pending;
	struct pollfd *sb_pfd;	/* this round's descriptors */
	int sb_npfd, sb_cappfd;
	struct netbe_slirp_fd *sb_reg; /* what sb_epfd holds */
	int sb_nreg, sb_capreg;
	uint8_t *sb_txbuf;	/* a frame from the guest, in one piece */
	unsigned sb_guest_errors;
};

/* ---- Callbacks from libslirp (the backend's lock is held) ---- */

static ssize_t
netbe_slirp_cb_send(const void *buf, size_t len, void *opaque)
{
	struct netbe_slirp *sb = opaque;

	/* Full: drop it, as libslirp allows (TCP will resend). */
	(void)send(sb->sb_tx, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	return (ssize_t)len;
}

/* A guest's mistakes are counted, not logged: it could flood the log. */
static void
netbe_slirp_cb_guest_error(const char *msg, void *opaque)
{
	struct netbe_slirp *sb = opaque;

	sb->sb_guest_errors++;
}

static int64_t
netbe_slirp_cb_clock(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
netbe_slirp_wake(struct netbe_slirp *sb)
{
	uint64_t one = 1;

	if (atomic_exchange(&sb->sb_wake_pending, true))
		return;
	/* EAGAIN only when the counter is already non-zero: a wake is due. */
	(void)!write(sb->sb_wakefd, &one, sizeof(one));
}

static void
netbe_slirp_cb_notify(void *opaque)
{
	netbe_slirp_wake(opaque);
}

static void
netbe_slirp_cb_poll_fd(int fd, void *opaque)
{
	/* Descriptors are taken from slirp_pollfds_fill() each round. */
}

static void netbe_slirp_timer_event(int fd, enum mevent_type type,
    void *arg);

static void *
netbe_slirp_timer_make(struct netbe_slirp *sb, SlirpTimerId id,
    SlirpTimerCb cb, void *cb_opaque)
{
	struct netbe_slirp_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	*t = (struct netbe_slirp_timer){ .st_sb = sb, .st_id = id,
		.st_cb = cb, .st_cb_opaque = cb_opaque,
		.st_fd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_NONBLOCK | TFD_CLOEXEC) };
	if (t->st_fd >= 0)
		t->st_ev = mevent_add(sb->sb_mev, t->st_fd, EVF_READ,
		    netbe_slirp_timer_event, t);
	if (t->st_ev == NULL) {
		if (t->st_fd >= 0)
			close(t->st_fd);
		free(t);
		return NULL;
	}
	return t;
}

static void *
netbe_slirp_cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	return netbe_slirp_timer_make(opaque, SLIRP_TIMER_NUM, cb, cb_opaque);
}

static void *
netbe_slirp_cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
    void *opaque)
{
	return netbe_slirp_timer_make(opaque, id, NULL, cb_opaque);
}

static void
netbe_slirp_cb_timer_free(void *timer, void *opaque)
{
	struct netbe_slirp_timer *t = timer;

	if (t == NULL)
		return;
	(void)mevent_delete_close(t->st_ev);
	free(t);
}

/* 'expire' is in ms on netbe_slirp_cb_clock()'s clock: CLOCK_MONOTONIC. */
static void
netbe_slirp_cb_timer_mod(void *timer, int64_t expire, void *opaque)
{
	struct netbe_slirp_timer *t = timer;
	struct itimerspec its = { .it_value = {
		.tv_sec = expire / 1000,
		.tv_nsec = (expire % 1000) * 1000000 } };

	if (expire <= 0)
		its.it_value.tv_nsec = 1;	/* 0 would disarm: fire now */
	(void)timerfd_settime(t->st_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static const SlirpCb netbe_slirp_cbs = {
	.send_packet = netbe_slirp_cb_send,
	.guest_error = netbe_slirp_cb_guest_error,
	.clock_get_ns = netbe_slirp_cb_clock,
	.timer_new = netbe_slirp_cb_timer_new,
	.timer_free = netbe_slirp_cb_timer_free,
	.timer_mod = netbe_slirp_cb_timer_mod,
	.register_poll_fd = netbe_slirp_cb_poll_fd,
	.unregister_poll_fd = netbe_slirp_cb_poll_fd,
	.notify = netbe_slirp_cb_notify,
	.timer_new_opaque = netbe_slirp_cb_timer_new_opaque,
};

/* ---- Polling libslirp's sockets from the event loop ---- */

static const struct {
	int slirp;
	short poll;
} netbe_slirp_pollmap[] = {
	{ SLIRP_POLL_IN, POLLIN },
	{ SLIRP_POLL_OUT, POLLOUT },
	{ SLIRP_POLL_PRI, POLLPRI },
	{ SLIRP_POLL_ERR, POLLERR },
	{ SLIRP_POLL_HUP, POLLHUP },
};

#define NETBE_NPOLLMAP \
	(sizeof(netbe_slirp_pollmap) / sizeof(netbe_slirp_pollmap[0]))

static int
netbe_slirp_cb_add_poll(int fd, int events, void *opaque)
{
	struct netbe_slirp *sb = opaque;
	short ev = 0;

	if (sb->sb_npfd == sb->sb_cappfd) {
		int cap = sb->sb_cappfd ? 2 * sb->sb_cappfd : 16;
		struct pollfd *p = reallocarray(sb->sb_pfd, (size_t)cap,
		    sizeof(*p));

		if (p == NULL)
			return -1;
		sb->sb_pfd = p;
		sb->sb_cappfd = cap;
	}
	for (size_t i = 0; i < NETBE_NPOLLMAP; i++)
		if (events & netbe_slirp_pollmap[i].slirp)
			ev |= netbe_slirp_pollmap[i].poll;
	sb->sb_pfd[sb->sb_npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return sb->sb_npfd++;
}

static int
netbe_slirp_cb_revents(int idx, void *opaque)
{
	struct netbe_slirp *sb = opaque;
	int ev = 0;

	if (idx < 0 || idx >= sb->sb_npfd)
		return 0;
	for (size_t i = 0; i < NETBE_NPOLLMAP; i++)
		if (sb->sb_pfd[idx].revents & netbe_slirp_pollmap[i].poll)
			ev |= netbe_slirp_pollmap[i].slirp;
	return ev;
}

static uint32_t
netbe_slirp_epoll_events(short ev)
{
	return ((ev & POLLIN) ? EPOLLIN : 0) | ((ev & POLLOUT) ? EPOLLOUT : 0) |
	    ((ev & POLLPRI) ? EPOLLPRI : 0);
}

/* Record this round's descriptors; false when out of memory. */
static bool
netbe_slirp_remember(struct netbe_slirp *sb)
{
	if (sb->sb_npfd > sb->sb_capreg) {
		struct netbe_slirp_fd *r = reallocarray(sb->sb_reg,
		    (size_t)sb->sb_npfd, sizeof(*r));

		if (r == NULL)
			return false;
		sb->sb_reg = r;
		sb->sb_capreg = sb->sb_npfd;
	}
	for (int i = 0; i < sb->sb_npfd; i++)
		sb->sb_reg[i] = (struct netbe_slirp_fd){ sb->sb_pfd[i].fd,
			sb->sb_pfd[i].events };
	sb->sb_nreg = sb->sb_npfd;
	return true;
}

static bool
netbe_slirp_same_set(const struct netbe_slirp *sb)
{
	if (sb->sb_nreg != sb->sb_npfd)
		return false;
	for (int i = 0; i < sb->sb_npfd; i++)
		if (sb->sb_reg[i].fd != sb->sb_pfd[i].fd ||
		    sb->sb_reg[i].events != sb->sb_pfd[i].events)
			return false;
	return true;
}

/*
 * Make the epoll set hold this round's descriptors.  Rebuilt whole when
 * it changed: a descriptor libslirp closed and reopened under the same
 * number is then registered anew, not left stale.
 */
static void
netbe_slirp_sync(struct netbe_slirp *sb)
{
	if (netbe_slirp_same_set(sb))
		return;
	for (int i = 0; i < sb->sb_nreg; i++)
		(void)epoll_ctl(sb->sb_epfd, EPOLL_CTL_DEL, sb->sb_reg[i].fd,
		    NULL);
	for (int i = 0; i < sb->sb_npfd; i++) {
		struct epoll_event ev = { .data.fd = sb->sb_pfd[i].fd };
		uint32_t want = 0;

		/* One entry per descriptor, with every event asked for it. */
		for (int j = 0; j < sb->sb_npfd; j++)
			if (sb->sb_pfd[j].fd == sb->sb_pfd[i].fd)
				want |= netbe_slirp_epoll_events(
				    sb->sb_pfd[j].events);
		ev.events = want;
		(void)epoll_ctl(sb->sb_epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (!netbe_slirp_remember(sb))
		sb->sb_nreg = 0;
}

/* Ask libslirp what to watch and for how long; arm the timeout. */
static void
netbe_slirp_fill(struct netbe_slirp *sb)
{
	uint32_t timeout = UINT32_MAX;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	sb->sb_npfd = 0;
	sb->sb_api.sa_fill(sb->sb_slirp, &timeout, netbe_slirp_cb_add_poll, sb);
	netbe_slirp_sync(sb);
	if (timeout != UINT32_MAX) {
		if (timeout == 0)
			timeout = 1;
		its.it_value.tv_sec = timeout / 1000;
		its.it_value.tv_nsec = (long)(timeout % 1000) * 1000000;
	}
	(void)timerfd_settime(sb->sb_tfd, 0, &its, NULL);
}

/*
 * One round: the current state of last round's descriptors (a poll()
 * that does not wait), libslirp's reaction to it (and its timers), then
 * the descriptors and timeout for the next round.
 */
static void
netbe_slirp_round(struct netbe_slirp *sb)
{
	int error = 0;

	pthread_mutex_lock(&sb->sb_mtx);
	atomic_store(&sb->sb_wake_pending, false);
	if (sb->sb_npfd > 0 && poll(sb->sb_pfd, (nfds_t)sb->sb_npfd, 0) < 0) {
		error = 1;
		for (int i = 0; i < sb->sb_npfd; i++)
			sb->sb_pfd[i].revents = 0;
	}
	sb->sb_api.sa_poll(sb->sb_slirp, error, netbe_slirp_cb_revents, sb);
	netbe_slirp_fill(sb);
	pthread_mutex_unlock(&sb->sb_mtx);
}

static void
netbe_slirp_event(int fd, enum mevent_type type, void *arg)
{
	struct netbe_slirp *sb = arg;
	uint64_t v;

	/* The wake eventfd and the timerfd are drained; the epoll set is
	   level-triggered and calms down once libslirp has been served. */
	if (fd == sb->sb_wakefd || fd == sb->sb_tfd)
		(void)!read(fd, &v, sizeof(v));
	netbe_slirp_round(sb);
}

static void
netbe_slirp_timer_event(int fd, enum mevent_type type, void *arg)
{
	struct netbe_slirp_timer *t = arg;
	struct netbe_slirp *sb = t->st_sb;
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&sb->sb_mtx);
	if (t->st_cb != NULL)
		t->st_cb(t->st_cb_opaque);
	else
		sb->sb_api.sa_timer(sb->sb_slirp, t->st_id, t->st_cb_opaque);
	pthread_mutex_unlock(&sb->sb_mtx);
	netbe_slirp_wake(sb);
}

/* ---- Set-up ---- */

static int
netbe_slirp_load(struct netbe_slirp *sb, char *err, size_t errlen)
{
	sb->sb_dl = dlopen(NETBE_SLIRP_LIB, RTLD_NOW | RTLD_LOCAL);
	if (sb->sb_dl == NULL) {
		netbe_err(err, errlen, "slirp: cannot load %s (install "
		    "libslirp0): %s", NETBE_SLIRP_LIB, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(netbe_slirp_syms) /
	    sizeof(netbe_slirp_syms[0]); i++) {
		void *f = dlsym(sb->sb_dl, netbe_slirp_syms[i].name);

		if (f == NULL) {
			netbe_err(err, errlen, "slirp: %s has no %s (libslirp "
			    "4.5 or later is needed)", NETBE_SLIRP_LIB,
			    netbe_slirp_syms[i].name);
			return -ENOENT;
		}
		memcpy((char *)&sb->sb_api + netbe_slirp_syms[i].off, &f,
		    sizeof(f));
	}
	return 0;
}

/* "ADDR:PORT", ADDR IPv4 or empty (any), PORT 0-65535 or empty (0). */
static int
netbe_slirp_addr(char *s, struct sockaddr_in *sin)
{
	char *port = strrchr(s, ':'), *end;
	unsigned long p = 0;

	*sin = (struct sockaddr_in){ .sin_family = AF_INET };
	if (port == NULL)
		return -EINVAL;
	*port++ = '\0';
	if (*s != '\0' && inet_pton(AF_INET, s, &sin->sin_addr) != 1)
		return -EINVAL;
	if (*port != '\0') {
		if (*port < '0' || *port > '9')
			return -EINVAL;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (*end != '\0' || errno != 0 || p > 65535)
			return -EINVAL;
	}
	sin->sin_port = htons((uint16_t)p);
	return 0;
}

/* One hostfwd rule: "tcp|udp:HADDR:HPORT-GADDR:GPORT". */
static int
netbe_slirp_hostfwd(struct netbe_slirp *sb, const char *rule, char *err,
    size_t errlen)
{
	struct sockaddr_in host, guest;
	char buf[128], *guestpart;
	bool udp = strncmp(rule, "udp:", 4) == 0;

	if (strlen(rule) >= sizeof(buf) ||
	    (!udp && strncmp(rule, "tcp:", 4) != 0))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", rule + 4);
	guestpart = strchr(buf, '-');
	if (guestpart == NULL)
		goto bad;
	*guestpart++ = '\0';
	if (netbe_slirp_addr(buf, &host) != 0 ||
	    netbe_slirp_addr(guestpart, &guest) != 0)
		goto bad;
	if (sb->sb_api.sa_hostxfwd(sb->sb_slirp, (struct sockaddr *)&host,
	    sizeof(host), (struct sockaddr *)&guest, sizeof(guest),
	    udp ? SLIRP_HOSTFWD_UDP : 0) != 0) {
		netbe_err(err, errlen, "slirp: hostfwd '%s': %s", rule,
		    strerror(errno));
		return -EADDRINUSE;
	}
	return 0;
bad:
	netbe_err(err, errlen, "slirp: bad hostfwd rule '%s' (want "
	    "tcp|udp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT, IPv4)", rule);
	return -EINVAL;
}

static int
netbe_slirp_hostfwds(struct netbe_slirp *sb, struct config_node *nvl,
    char *err, size_t errlen)
{
	const char *val = config_get(nvl, "hostfwd");
	char *copy, *rest, *rule;
	int error = 0;

	if (val == NULL)
		return 0;
	copy = rest = strdup(val);
	if (copy == NULL)
		return -ENOMEM;
	while (error == 0 && (rule = strsep(&rest, ";")) != NULL)
		error = netbe_slirp_hostfwd(sb, rule, err, errlen);
	free(copy);
	return error;
}

static Slirp *
netbe_slirp_new(struct netbe_slirp *sb, bool restricted, unsigned mtu)
{
	size_t m = mtu < NETBE_SLIRP_MTU_MIN ? NETBE_SLIRP_MTU_MIN :
	    mtu > NETBE_SLIRP_MTU_MAX ? NETBE_SLIRP_MTU_MAX : mtu;
	SlirpConfig cfg = {
		.version = 4,
		.restricted = restricted,
		.in_enabled = true,
		.vnetwork.s_addr = htonl(NETBE_SLIRP_NET),
		.vnetmask.s_addr = htonl(NETBE_SLIRP_MASK),
		.vhost.s_addr = htonl(NETBE_SLIRP_HOST),
		.vdhcp_start.s_addr = htonl(NETBE_SLIRP_DHCP),
		.vnameserver.s_addr = htonl(NETBE_SLIRP_DNS),
		.if_mtu = m,
		.if_mru = m,
		.enable_emu = false,
	};
	Slirp *s = sb->sb_api.sa_new(&cfg, &netbe_slirp_cbs, sb);

	/* libslirp before 4.7 knows config version 3 (no timer ids). */
	if (s == NULL) {
		cfg.version = 3;
		s = sb->sb_api.sa_new(&cfg, &netbe_slirp_cbs, sb);
	}
	return s;
}

/* The descriptors the event loop watches for this backend. */
static int
netbe_slirp_events(struct netbe_slirp *sb)
{
	sb->sb_epfd = epoll_create1(EPOLL_CLOEXEC);
	sb->sb_tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	sb->sb_wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sb->sb_epfd < 0 || sb->sb_tfd < 0 || sb->sb_wakefd < 0)
		return -errno;
	sb->sb_epev = mevent_add(sb->sb_mev, sb->sb_epfd, EVF_READ,
	    netbe_slirp_event, sb);
	sb->sb_tev = mevent_add(sb->sb_mev, sb->sb_tfd, EVF_READ,
	    netbe_slirp_event, sb);
	sb->sb_wakeev = mevent_add(sb->sb_mev, sb->sb_wakefd, EVF_READ,
	    netbe_slirp_event, sb);
	if (sb->sb_epev == NULL || sb->sb_tev == NULL || sb->sb_wakeev == NULL)
		return -ENOMEM;
	return 0;
}

static int
netbe_slirp_setup(struct net_backend *be, struct netbe_slirp *sb,
    const struct netbe_params *p, char *err, size_t errlen)
{
	bool open_net = false;
	int error;

	if (config_get_bool(p->nvl, "open", false, &open_net) != 0) {
		netbe_err(err, errlen, "slirp: invalid open '%s' (want true "
		    "or false)", config_get(p->nvl, "open"));
		return -EINVAL;
	}
	if (sb->sb_mev == NULL) {
		netbe_err(err, errlen, "slirp: no event loop");
		return -EINVAL;
	}
	if ((error = netbe_slirp_load(sb, err, errlen)) != 0)
		return error;
	if ((error = netbe_pair_open(be, &sb->sb_tx, err, errlen)) != 0)
		return error;
	if ((error = netbe_slirp_events(sb)) != 0) {
		netbe_err(err, errlen, "slirp: cannot set up its events: %s",
		    strerror(-error));
		return error;
	}
	sb->sb_slirp = netbe_slirp_new(sb, !open_net, p->mtu);
	if (sb->sb_slirp == NULL) {
		netbe_err(err, errlen, "slirp: slirp_new failed");
		return -EINVAL;
	}
	if ((error = netbe_slirp_hostfwds(sb, p->nvl, err, errlen)) != 0)
		return error;
	pthread_mutex_lock(&sb->sb_mtx);
	netbe_slirp_fill(sb);
	pthread_mutex_unlock(&sb->sb_mtx);
	return 0;
}

static void
netbe_slirp_close_events(struct netbe_slirp *sb)
{
	struct mevent **ev[] = { &sb->sb_epev, &sb->sb_tev, &sb->sb_wakeev };
	int *fd[] = { &sb->sb_epfd, &sb->sb_tfd, &sb->sb_wakefd };

	for (int i = 0; i < 3; i++) {
		if (*ev[i] != NULL)
			(void)mevent_delete_close(*ev[i]);
		else if (*fd[i] >= 0)
			close(*fd[i]);
		*ev[i] = NULL;
		*fd[i] = -1;
	}
}

static void
netbe_slirp_cleanup(struct net_backend *be)
{
	struct netbe_slirp *sb = be->be_priv;

	if (sb == NULL)
		return;
	netbe_slirp_close_events(sb);
	if (sb->sb_slirp != NULL)
		sb->sb_api.sa_cleanup(sb->sb_slirp);
	if (sb->sb_dl != NULL)
		dlclose(sb->sb_dl);
	if (sb->sb_tx >= 0)
		close(sb->sb_tx);
	if (be->be_fd >= 0)
		close(be->be_fd);
	be->be_fd = -1;
	pthread_mutex_destroy(&sb->sb_mtx);
	free(sb->sb_pfd);
	free(sb->sb_reg);
	free(sb->sb_txbuf);
	free(sb);
	be->be_priv = NULL;
}

static int
netbe_slirp_init(struct net_backend *be, const struct netbe_params *p,
    char *err, size_t errlen)
{
	struct netbe_slirp *sb = calloc(1, sizeof(*sb));

	if (sb == NULL || (sb->sb_txbuf = malloc(NETBE_MAX_FRAME)) == NULL) {
		free(sb);
		netbe_err(err, errlen, "slirp: out of memory");
		return -ENOMEM;
	}
	sb->sb_mev = p->bvm ? p->bvm->mev : NULL;
	sb->sb_tx = sb->sb_epfd = sb->sb_tfd = sb->sb_wakefd = -1;
	pthread_mutex_init(&sb->sb_mtx, NULL);
	be->be_priv = sb;
	return netbe_slirp_setup(be, sb, p, err, errlen);
}

/* libslirp takes a frame in one piece: gather it first. */
static ssize_t
netbe_slirp_send(struct net_backend *be, const struct iovec *iov,
    int iovcnt)
{
	struct netbe_slirp *sb = be->be_priv;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > NETBE_MAX_FRAME - len)
			return -EMSGSIZE;
		memcpy(sb->sb_txbuf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	pthread_mutex_lock(&sb->sb_mtx);
	sb->sb_api.sa_input(sb->sb_slirp, sb->sb_txbuf, (int)len);
	pthread_mutex_unlock(&sb->sb_mtx);
	/* What it made of the frame (a new socket, data to write) is
	   picked up by a round on the event loop. */
	netbe_slirp_wake(sb);
	return (ssize_t)len;
}

#else /* no libslirp headers at build time */

static int
netbe_slirp_init(struct net_backend *be, const struct netbe_params *p,
    char *err, size_t errlen)
{
	netbe_err(err, errlen, "slirp: this bhyve was built without libslirp "
	    "(libslirp-dev)");
	return -ENOTSUP;
}

static void
netbe_slirp_cleanup(struct net_backend *be)
{
}

static ssize_t
netbe_slirp_send(struct net_backend *be, const struct iovec *iov,
    int iovcnt)
{
	return -ENOTSUP;
}

#endif

static const struct netbe_ops netbe_slirp_ops = {
	.nb_type = "slirp",
	.nb_init = netbe_slirp_init,
	.nb_cleanup = netbe_slirp_cleanup,
	.nb_send = netbe_slirp_send,
	.nb_recv = netbe_pair_recv,
	.nb_set_cap = netbe_nocap,
};

/* ---- The generic layer ---- */

static const struct netbe_ops *const netbe_all[] = {
	&netbe_tap_ops,
	&netbe_slirp_ops,
	&netbe_loop_ops,
};

/* bhyve's backends that have no Linux counterpart here. */
static const char *const netbe_unsupported[] = { "netgraph", "netmap",
	"vale" };

/*
 * The backend for "backend" (and "type" when given): slirp and loopback
 * by name, tapN and vmnetN are taps, any other name needs type=tap.
 */
static const struct netbe_ops *
netbe_lookup(const char *name, const char *type, char *err, size_t errlen)
{
	const char *want = type;

	if (want == NULL) {
		if (strncmp(name, "tap", 3) == 0 ||
		    strncmp(name, "vmnet", 5) == 0)
			want = "tap";
		else
			want = name;
	}
	for (size_t i = 0; i < sizeof(netbe_all) / sizeof(netbe_all[0]); i++)
		if (strcmp(netbe_all[i]->nb_type, want) == 0)
			return netbe_all[i];
	for (size_t i = 0; i < sizeof(netbe_unsupported) /
	    sizeof(netbe_unsupported[0]); i++)
		if (strncmp(want, netbe_unsupported[i],
		    strlen(netbe_unsupported[i])) == 0) {
			netbe_err(err, errlen, "network backend '%s' is not "
			    "supported on Linux (tap, slirp, loopback)", want);
			return NULL;
		}
	netbe_err(err, errlen, "unknown network %s '%s' (tapN, vmnetN, slirp, "
	    "loopback; type=tap for another tap name)",
	    type ? "type" : "backend", want);
	return NULL;
}

static void
netbe_rx_event(int fd, enum mevent_type type, void *arg)
{
	struct net_backend *be = arg;

	if (be->be_cb != NULL)
		be->be_cb(be->be_arg);
}

/* Watch the receive descriptor, disabled until the device wants frames. */
static int
netbe_watch(struct net_backend *be, char *err, size_t errlen)
{
	struct mevent_ctx *mev = be->be_bvm ? be->be_bvm->mev : NULL;

	if (mev == NULL)
		return 0;
	be->be_rxev = mevent_add(mev, be->be_fd, EVF_READ, netbe_rx_event, be);
	if (be->be_rxev == NULL || mevent_disable(be->be_rxev) != 0) {
		netbe_err(err, errlen, "%s: cannot watch its descriptor",
		    be->be_ops->nb_type);
		return -ENOMEM;
	}
	return 0;
}

int
netbe_init(struct net_backend **bep, const struct netbe_params *p,
    char *err, size_t errlen)
{
	const char *name = config_get(p->nvl, "backend");
	const struct netbe_ops *ops;
	struct net_backend *be;
	int error;

	*bep = NULL;
	if (name == NULL)
		return 0;
	ops = netbe_lookup(name, config_get(p->nvl, "type"), err, errlen);
	if (ops == NULL)
		return -EINVAL;
	be = calloc(1, sizeof(*be));
	if (be == NULL || (be->be_buf = malloc(NETBE_BUF_SIZE)) == NULL) {
		free(be);
		netbe_err(err, errlen, "%s: out of memory", ops->nb_type);
		return -ENOMEM;
	}
	*be = (struct net_backend){ .be_ops = ops, .be_bvm = p->bvm,
		.be_fd = -1, .be_cb = p->rx_cb, .be_arg = p->rx_arg,
		.be_buf = be->be_buf };
	error = ops->nb_init(be, p, err, errlen);
	if (error == 0)
		error = netbe_watch(be, err, errlen);
	if (error) {
		netbe_cleanup(be);
		return error;
	}
	*bep = be;
	return 0;
}

void
netbe_cleanup(struct net_backend *be)
{
	if (be == NULL)
		return;
	if (be->be_rxev != NULL)
		(void)mevent_delete(be->be_rxev);
	be->be_ops->nb_cleanup(be);
	free(be->be_buf);
	free(be);
}

const char *
netbe_type(const struct net_backend *be)
{
	return be->be_ops->nb_type;
}

uint64_t
netbe_get_cap(struct net_backend *be)
{
	return be ? be->be_caps : 0;
}

int
netbe_set_cap(struct net_backend *be, uint64_t features)
{
	if (be == NULL)
		return 0;
	return be->be_ops->nb_set_cap(be, features & be->be_caps);
}

size_t
netbe_hdr_len(const struct net_backend *be)
{
	return be ? be->be_hdrlen : 0;
}

ssize_t
netbe_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	if (be == NULL)
		return -ENOTCONN;
	return be->be_ops->nb_send(be, iov, iovcnt);
}

/*
 * Read until a frame is held.  A frame larger than the buffer (the host
 * gave us more than any NIC could carry) is dropped and the next one
 * read, a bounded number of times per call.
 */
ssize_t
netbe_rx_peek(struct net_backend *be, const uint8_t **frame)
{
	if (be == NULL)
		return 0;
	for (int i = 0; be->be_len == 0 && i < NETBE_PEEK_TRIES; i++) {
		ssize_t n = be->be_ops->nb_recv(be, be->be_buf,
		    NETBE_BUF_SIZE);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return 0;
		if ((size_t)n <= NETBE_BUF_SIZE)
			be->be_len = (size_t)n;
	}
	*frame = be->be_buf;
	return (ssize_t)be->be_len;
}

void
netbe_rx_consume(struct net_backend *be)
{
	if (be != NULL)
		be->be_len = 0;
}

void
netbe_rx_enable(struct net_backend *be)
{
	if (be == NULL || be->be_rx_on)
		return;
	be->be_rx_on = true;
	if (be->be_rxev != NULL)
		(void)mevent_enable(be->be_rxev);
}

void
netbe_rx_disable(struct net_backend *be)
{
	if (be == NULL || !be->be_rx_on)
		return;
	be->be_rx_on = false;
	if (be->be_rxev != NULL)
		(void)mevent_disable(be->be_rxev);
}

bool
netbe_rx_enabled(const struct net_backend *be)
{
	return be != NULL && be->be_rx_on;
}
