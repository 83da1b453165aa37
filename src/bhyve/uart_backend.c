/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host side of the emulated serial ports: stdio, a device/FIFO/log-file
 * path, or a TCP listener (see uart_backend.h).
 *
 * Terminals put in raw mode are remembered in a small table so that their
 * settings come back on every way out of the process: uart_backend_close(),
 * exit() (an atexit handler) and the fatal signals (a handler that
 * restores them and re-raises).  That table, and the "stdio is taken"
 * flag, are the only process-wide state here: a terminal and stdin belong
 * to the process, not to one VM.  SIGINT and SIGTERM are left alone:
 * bhyverun takes them through a signalfd and tears down normally.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mevent.h"
#include "uart_backend.h"

enum ub_kind {
	UB_STDIO,
	UB_DEVICE, /* terminal, pty, other character device, FIFO */
	UB_LOG,	   /* regular file: output only */
	UB_TCP,
};

struct uart_backend {
	enum ub_kind kind;
	struct mevent_ctx *mev;
	uart_backend_rx_t *rx_ready;
	void *rx_arg;
	pthread_mutex_t mtx; /* everything below */
	int in_fd;	     /* -1: no input (any more) */
	int out_fd;	     /* -1: output is dropped */
	int own_fd;	     /* the device or log fd, closed at the end */
	int listen_fd;	     /* tcp */
	int conn_fd;	     /* tcp: the client, -1 if none */
	bool guard;	     /* blocking fds (stdio): poll before I/O */
	int raw_fd;	     /* the terminal put in raw mode, or -1 */
	struct termios saved;
	struct mevent *in_ev;
	struct mevent *accept_ev;
	bool rx_on;	/* the UART wants input */
	bool in_ev_on;	/* in_ev is enabled */
};

/* Terminals in raw mode, for restoring them on the way out. */

#define UB_MAX_TTYS 16

struct ub_tty_slot {
	atomic_int fd1; /* fd + 1; 0: free.  Set last, cleared first. */
	struct termios saved;
};

static struct ub_tty_slot ub_ttys[UB_MAX_TTYS];
static pthread_mutex_t ub_ttys_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ub_hooks_once = PTHREAD_ONCE_INIT;
static atomic_bool ub_stdio_taken;

static const int ub_fatal_signals[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE };
#define UB_NFATAL (sizeof(ub_fatal_signals) / sizeof(ub_fatal_signals[0]))
static struct sigaction ub_prev_action[UB_NFATAL];

int
uart_tty_make_raw(int fd, struct termios *saved)
{
	struct termios raw;

	if (tcgetattr(fd, saved) != 0)
		return -errno;
	raw = *saved;
	/*
	 * As a serial line: 8 bits through unchanged both ways.  OPOST goes
	 * too (bhyve does the same): guest consoles send "\r\n" themselves,
	 * and binary transfers must not be rewritten.  CLOCAL: modem lines
	 * are not ours to wait for.
	 */
	cfmakeraw(&raw);
	raw.c_cflag |= CLOCAL;
	if (tcsetattr(fd, TCSANOW, &raw) != 0)
		return -errno;
	return 0;
}

/* Async-signal-safe: tcsetattr is, and TCSANOW never waits for output. */
int
uart_tty_restore(int fd, const struct termios *saved)
{
	return tcsetattr(fd, TCSANOW, saved) != 0 ? -errno : 0;
}

static void
ub_restore_all(void)
{
	for (size_t i = 0; i < UB_MAX_TTYS; i++) {
		int fd1 = atomic_load(&ub_ttys[i].fd1);

		if (fd1 != 0)
			(void)uart_tty_restore(fd1 - 1, &ub_ttys[i].saved);
	}
}

/*
 * Restore the terminals, then let the signal do what it would have done:
 * put back the previous action (the default, or a sanitizer's handler)
 * and raise it again.  It is blocked while this handler runs, so it is
 * delivered on return; a fault that recurs meets the previous action too.
 */
static void
ub_fatal_handler(int sig)
{
	int saved_errno = errno;

	ub_restore_all();
	for (size_t i = 0; i < UB_NFATAL; i++) {
		struct sigaction prev = ub_prev_action[i];

		if (ub_fatal_signals[i] != sig)
			continue;
		if (prev.sa_handler == SIG_IGN)
			prev.sa_handler = SIG_DFL;
		(void)sigaction(sig, &prev, NULL);
	}
	(void)raise(sig);
	errno = saved_errno;
}

static void
ub_install_hooks(void)
{
	struct sigaction sa = { .sa_handler = ub_fatal_handler,
		.sa_flags = SA_ONSTACK };

	sigemptyset(&sa.sa_mask);
	(void)atexit(ub_restore_all);
	for (size_t i = 0; i < UB_NFATAL; i++)
		(void)sigaction(ub_fatal_signals[i], &sa, &ub_prev_action[i]);
}

static int
ub_tty_track(int fd, const struct termios *saved)
{
	int error = -ENOSPC;

	pthread_once(&ub_hooks_once, ub_install_hooks);
	pthread_mutex_lock(&ub_ttys_lock);
	for (size_t i = 0; i < UB_MAX_TTYS; i++) {
		if (atomic_load(&ub_ttys[i].fd1) == 0) {
			ub_ttys[i].saved = *saved;
			atomic_store(&ub_ttys[i].fd1, fd + 1);
			error = 0;
			break;
		}
	}
	pthread_mutex_unlock(&ub_ttys_lock);
	return error;
}

static void
ub_tty_untrack(int fd)
{
	pthread_mutex_lock(&ub_ttys_lock);
	for (size_t i = 0; i < UB_MAX_TTYS; i++)
		if (atomic_load(&ub_ttys[i].fd1) == fd + 1)
			atomic_store(&ub_ttys[i].fd1, 0);
	pthread_mutex_unlock(&ub_ttys_lock);
}

/* Raw mode for a terminal, remembered until uart_backend_close(). */
static int
ub_make_raw(struct uart_backend *be, int fd, const char *name, char *err,
    size_t errlen)
{
	int error;

	if (!isatty(fd))
		return 0;
	error = uart_tty_make_raw(fd, &be->saved);
	if (error == 0) {
		error = ub_tty_track(fd, &be->saved);
		if (error)
			(void)uart_tty_restore(fd, &be->saved);
	}
	if (error) {
		snprintf(err, errlen, "%s: cannot set raw mode: %s", name,
		    strerror(-error));
		return error;
	}
	be->raw_fd = fd;
	return 0;
}

/* I/O, under be->mtx. */

/* For blocking fds: would one read/write return at once? */
static bool
ub_ready(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, 0) == 1;
}

static void
ub_tcp_disconnect(struct uart_backend *be)
{
	if (be->in_ev != NULL)
		(void)mevent_delete(be->in_ev);
	be->in_ev = NULL;
	close(be->conn_fd);
	be->conn_fd = be->in_fd = be->out_fd = -1;
}

/* End of input (EOF, hang-up, error): stop watching, keep the output. */
static void
ub_input_gone(struct uart_backend *be)
{
	if (be->kind == UB_TCP) {
		ub_tcp_disconnect(be);
		return;
	}
	if (be->in_ev != NULL)
		(void)mevent_delete(be->in_ev);
	be->in_ev = NULL;
	be->in_fd = -1;
}

size_t
uart_backend_read(struct uart_backend *be, uint8_t *buf, size_t len)
{
	ssize_t n = 0;

	pthread_mutex_lock(&be->mtx);
	if (be->in_fd >= 0 && len > 0 &&
	    (!be->guard || ub_ready(be->in_fd, POLLIN))) {
		n = read(be->in_fd, buf, len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			ub_input_gone(be);
		if (n < 0)
			n = 0;
	}
	pthread_mutex_unlock(&be->mtx);
	return (size_t)n;
}

/*
 * Never block a vCPU on a slow peer: the fds are non-blocking (or polled
 * first, for stdio), and what the peer cannot take now is dropped, as a
 * serial line without flow control loses characters.
 */
void
uart_backend_write(struct uart_backend *be, const uint8_t *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&be->mtx);
	if (be->out_fd < 0 || (be->guard && !ub_ready(be->out_fd, POLLOUT))) {
		pthread_mutex_unlock(&be->mtx);
		return;
	}
	if (be->kind == UB_TCP) {
		n = send(be->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			ub_tcp_disconnect(be);
	} else {
		(void)!write(be->out_fd, buf, len);
	}
	pthread_mutex_unlock(&be->mtx);
}

static void
ub_apply_rx(struct uart_backend *be)
{
	int error;

	if (be->in_ev == NULL || be->in_ev_on == be->rx_on)
		return;
	error = be->rx_on ? mevent_enable(be->in_ev) :
	    mevent_disable(be->in_ev);
	if (error == 0)
		be->in_ev_on = be->rx_on;
}

void
uart_backend_rx_enable(struct uart_backend *be, bool on)
{
	pthread_mutex_lock(&be->mtx);
	be->rx_on = on;
	ub_apply_rx(be);
	pthread_mutex_unlock(&be->mtx);
}

/* Event loop callbacks. */

static void
ub_input_event(int fd, enum mevent_type type, void *arg)
{
	struct uart_backend *be = arg;

	be->rx_ready(be->rx_arg);
}

static int
ub_watch_input(struct uart_backend *be, int fd)
{
	struct mevent *ev;

	if (be->rx_ready == NULL)
		return 0;
	ev = mevent_add(be->mev, fd, EVF_READ, ub_input_event, be);
	if (ev == NULL)
		return -errno;
	be->in_ev = ev;
	be->in_ev_on = true;
	ub_apply_rx(be);
	return 0;
}

/* One client at a time, as bhyve: later ones are told and closed. */
static void
ub_accept_event(int fd, enum mevent_type type, void *arg)
{
	static const char busy[] = "bhyve: this console is in use\r\n";
	struct uart_backend *be = arg;
	int one = 1;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	pthread_mutex_lock(&be->mtx);
	if (be->conn_fd >= 0) {
		pthread_mutex_unlock(&be->mtx);
		(void)!send(c, busy, sizeof(busy) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		close(c);
		return;
	}
	(void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ub_watch_input(be, c) != 0) {
		pthread_mutex_unlock(&be->mtx);
		close(c);
		return;
	}
	be->conn_fd = be->in_fd = be->out_fd = c;
	pthread_mutex_unlock(&be->mtx);
}

/* Opening. */

static int
ub_open_stdio(struct uart_backend *be, char *err, size_t errlen)
{
	if (atomic_exchange(&ub_stdio_taken, true)) {
		snprintf(err, errlen, "stdio: already used by another port");
		return -EBUSY;
	}
	be->kind = UB_STDIO;
	be->in_fd = STDIN_FILENO;
	be->out_fd = STDOUT_FILENO;
	/* Not O_NONBLOCK: that flag would leak to the shell sharing them. */
	be->guard = true;
	/* On error ub_free() gives stdio back. */
	return ub_make_raw(be, STDIN_FILENO, "stdin", err, errlen);
}

static int
ub_open_log(struct uart_backend *be, const char *path, int fd, char *err,
    size_t errlen)
{
	int error;

	if (fd < 0)
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY |
		    O_CLOEXEC, 0666);
	else if (ftruncate(fd, 0) != 0) {
		error = errno;
		close(fd);
		fd = -1;
		errno = error;
	}
	if (fd < 0) {
		error = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(error));
		return -error;
	}
	be->kind = UB_LOG;
	be->own_fd = be->out_fd = fd;
	return 0;
}

/* Writable but not readable by us: good enough for a log file. */
static int
ub_open_fd(const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == EACCES)
		fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	return fd;
}

/*
 * O_RDWR for a FIFO too: it opens without waiting for a peer, and our own
 * reference keeps it from reading EOF when a writer goes away.
 */
static int
ub_open_path(struct uart_backend *be, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	int fd = ub_open_fd(path);

	if (fd < 0 && errno == ENOENT)
		return ub_open_log(be, path, -1, err, errlen);
	if (fd < 0 || fstat(fd, &st) != 0) {
		int error = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(error));
		if (fd >= 0)
			close(fd);
		return -error;
	}
	if (S_ISREG(st.st_mode))
		return ub_open_log(be, path, fd, err, errlen);
	if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		snprintf(err, errlen, "%s: not a terminal, FIFO or regular "
		    "file", path);
		close(fd);
		return -EINVAL;
	}
	be->kind = UB_DEVICE;
	be->own_fd = be->in_fd = be->out_fd = fd;
	return ub_make_raw(be, fd, path, err, errlen);
}

/* "1".."65535", digits only. */
static int
ub_parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* "tcp=IPv4:PORT" or "tcp=[IPv6]:PORT", numeric only. */
static int
ub_parse_tcp(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *host = spec + 4, *end, *port;
	char addr[INET6_ADDRSTRLEN];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	bool v6 = *host == '[';
	uint16_t pnum;

	if (v6) {
		end = strchr(++host, ']');
		port = end != NULL && end[1] == ':' ? end + 2 : NULL;
	} else {
		end = strrchr(host, ':');
		port = end != NULL ? end + 1 : NULL;
	}
	if (port == NULL || end == host || (size_t)(end - host) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, host, (size_t)(end - host));
	addr[end - host] = '\0';
	if (ub_parse_port(port, &pnum) != 0)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(pnum);
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1 ? 0 :
		    -EINVAL;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(pnum);
	*len = sizeof(*sin);
	return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -EINVAL;
}

static int
ub_open_tcp(struct uart_backend *be, const char *spec, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, error;

	if (ub_parse_tcp(spec, &ss, &len) != 0) {
		snprintf(err, errlen, "%s: expected tcp=IP:PORT "
		    "(numeric address, port 1-65535)", spec);
		return -EINVAL;
	}
	be->kind = UB_TCP;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		goto fail;
	be->listen_fd = fd;
	/* Lets a restarted bhyve bind while old connections linger. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1) != 0)
		goto fail;
	be->accept_ev = mevent_add(be->mev, fd, EVF_READ, ub_accept_event, be);
	if (be->accept_ev == NULL)
		goto fail;
	return 0;
fail:
	error = errno;
	snprintf(err, errlen, "%s: %s", spec, strerror(error));
	return -error;
}

static void
ub_free(struct uart_backend *be)
{
	if (be->accept_ev != NULL)
		(void)mevent_delete(be->accept_ev);
	if (be->in_ev != NULL)
		(void)mevent_delete(be->in_ev);
	/* Restored before it is forgotten: no window for a signal. */
	if (be->raw_fd >= 0) {
		(void)uart_tty_restore(be->raw_fd, &be->saved);
		ub_tty_untrack(be->raw_fd);
	}
	if (be->conn_fd >= 0)
		close(be->conn_fd);
	if (be->listen_fd >= 0)
		close(be->listen_fd);
	if (be->own_fd >= 0)
		close(be->own_fd);
	if (be->kind == UB_STDIO)
		atomic_store(&ub_stdio_taken, false);
	pthread_mutex_destroy(&be->mtx);
	free(be);
}

static int
ub_open(struct uart_backend *be, const char *path, char *err, size_t errlen)
{
	if (strcmp(path, "stdio") == 0)
		return ub_open_stdio(be, err, errlen);
	if (strncmp(path, "tcp=", 4) == 0)
		return ub_open_tcp(be, path, err, errlen);
	if (path[0] == '\0') {
		snprintf(err, errlen, "empty serial port path");
		return -EINVAL;
	}
	return ub_open_path(be, path, err, errlen);
}

int
uart_backend_open(struct uart_backend **bep, const char *path,
    struct mevent_ctx *mev, uart_backend_rx_t *rx_ready, void *arg,
    char *err, size_t errlen)
{
	struct uart_backend *be = calloc(1, sizeof(*be));
	int error;

	*bep = NULL;
	if (be == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	*be = (struct uart_backend){ .kind = UB_LOG, .mev = mev,
		.rx_ready = rx_ready, .rx_arg = arg, .in_fd = -1,
		.out_fd = -1, .own_fd = -1, .listen_fd = -1, .conn_fd = -1,
		.raw_fd = -1, .rx_on = true };
	pthread_mutex_init(&be->mtx, NULL);
	error = ub_open(be, path, err, errlen);
	if (error == 0 && be->in_fd >= 0) {
		pthread_mutex_lock(&be->mtx);
		error = ub_watch_input(be, be->in_fd);
		pthread_mutex_unlock(&be->mtx);
		/* epoll cannot watch regular files or /dev/null: no input. */
		if (error == -EPERM) {
			be->in_fd = -1;
			error = 0;
		} else if (error) {
			snprintf(err, errlen, "%s: cannot watch input: %s",
			    path, strerror(-error));
		}
	}
	if (error) {
		ub_free(be);
		return error;
	}
	*bep = be;
	return 0;
}

void
uart_backend_close(struct uart_backend *be)
{
	if (be != NULL)
		ub_free(be);
}
