/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The UART's host side: a pty, a FIFO, a log file, TCP, stdio (in forked
 * children, on a pty of their own) and the raw-mode save/restore, with
 * the event loop driven by mevent_run_once().  Waits are bounded loops.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "mevent.h"
#include "test.h"
#include "uart_backend.h"
#include "uart_emul.h"

#define ROUNDS 200 /* event loop rounds before giving up on data */
#define ROUND_MS 20

/* Run the loop until 'n' bytes came out of RBR; returns how many did. */
static size_t
collect(struct uart_softc *sc, struct mevent_ctx *mev, char *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < ROUNDS && got < n; i++) {
		while (got < n && (uart_read(sc, UART_LSR) & UART_LSR_DR))
			buf[got++] = (char)uart_read(sc, UART_RBR);
		if (got < n)
			(void)mevent_run_once(mev, ROUND_MS);
	}
	return got;
}

/* Read 'n' bytes from fd, waiting at most ROUNDS * ROUND_MS. */
static size_t
read_fd(int fd, char *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < ROUNDS && got < n; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, ROUND_MS) != 1)
			continue;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void
write_str(struct uart_softc *sc, const char *s)
{
	for (; *s != '\0'; s++)
		uart_write(sc, UART_THR, (uint8_t)*s);
}

static bool
same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	    a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
	    memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0 &&
	    cfgetispeed(a) == cfgetispeed(b) &&
	    cfgetospeed(a) == cfgetospeed(b);
}

static bool
is_raw(int fd)
{
	struct termios t;

	return tcgetattr(fd, &t) == 0 && (t.c_lflag & (ICANON | ECHO)) == 0 &&
	    (t.c_oflag & OPOST) == 0 && (t.c_cflag & CLOCAL) != 0;
}

struct pty {
	int master;
	int slave;
	char path[64];
	struct termios orig;
};

static bool
pty_open(struct pty *p)
{
	if (openpty(&p->master, &p->slave, NULL, NULL, NULL) != 0)
		return false;
	if (ptsname_r(p->master, p->path, sizeof(p->path)) != 0 ||
	    tcgetattr(p->slave, &p->orig) != 0) {
		close(p->master);
		close(p->slave);
		return false;
	}
	return true;
}

static void
pty_close(struct pty *p)
{
	close(p->master);
	close(p->slave);
}

/* Until the slave has 'n' input bytes queued (pty input is deferred). */
static bool
pty_wait_input(struct pty *p, int n)
{
	for (int i = 0; i < ROUNDS; i++) {
		int avail = 0;

		if (ioctl(p->slave, FIONREAD, &avail) == 0 && avail >= n)
			return true;
		(void)poll(NULL, 0, 5);
	}
	return false;
}

static void
set_flag(int fd, enum mevent_type type, void *arg)
{
	*(bool *)arg = true;
}

/*
 * True if the loop has nothing to do but a timer: an input event that is
 * still watched while its data stays unread would end the wait first.
 */
static bool
loop_is_idle(struct mevent_ctx *mev)
{
	bool fired = false;
	struct mevent *t = mevent_add_timer(mev, 100000000, 0, set_flag,
	    &fired);

	if (t == NULL)
		return false;
	(void)mevent_run_once(mev, 5000);
	(void)mevent_delete(t);
	return fired;
}

TEST(raw_mode_helper_restores_termios)
{
	struct pty p;
	struct termios saved, after;
	int pfd[2];

	REQUIRE(pty_open(&p));
	CHECK_EQ(uart_tty_make_raw(p.slave, &saved), 0);
	CHECK(same_termios(&saved, &p.orig));
	CHECK(is_raw(p.slave));
	CHECK_EQ(uart_tty_restore(p.slave, &saved), 0);
	CHECK_EQ(tcgetattr(p.slave, &after), 0);
	CHECK(same_termios(&after, &p.orig));
	CHECK(!is_raw(p.slave));
	REQUIRE(pipe(pfd) == 0);
	CHECK_EQ(uart_tty_make_raw(pfd[0], &saved), -ENOTTY);
	close(pfd[0]);
	close(pfd[1]);
	pty_close(&p);
}

TEST(pty_input_and_output)
{
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	struct termios after;
	struct pty p;
	char err[256] = "", buf[16] = "";

	REQUIRE(mev != NULL && sc != NULL);
	REQUIRE(pty_open(&p));
	CHECK_EQ(uart_set_backend(sc, p.path, mev, err, sizeof(err)), 0);
	CHECK(is_raw(p.slave));
	CHECK(write(p.master, "hello", 5) == 5);
	CHECK_EQ(collect(sc, mev, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	/* Raw: "\n" goes out as it is, as on a serial line. */
	write_str(sc, "ok\n");
	CHECK_EQ(read_fd(p.master, buf, 3), 3);
	CHECK(memcmp(buf, "ok\n", 3) == 0);
	CHECK_EQ(uart_set_backend(sc, p.path, mev, err, sizeof(err)), -EBUSY);
	uart_destroy(sc);
	CHECK_EQ(tcgetattr(p.slave, &after), 0);
	CHECK(same_termios(&after, &p.orig));
	pty_close(&p);
	mevent_destroy(mev);
}

TEST(input_is_flow_controlled_not_overrun)
{
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char err[256] = "", msg[41], buf[41] = "";
	size_t n = 0;
	struct pty p;

	REQUIRE(mev != NULL && sc != NULL);
	REQUIRE(pty_open(&p));
	REQUIRE(uart_set_backend(sc, p.path, mev, err, sizeof(err)) == 0);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE);
	for (int i = 0; i < 40; i++)
		msg[i] = (char)('A' + i);
	CHECK(write(p.master, msg, 40) == 40);
	REQUIRE(pty_wait_input(&p, 40));
	/* With the FIFO full, input stops being watched. */
	for (int i = 0; i < 5; i++)
		(void)mevent_run_once(mev, ROUND_MS);
	CHECK(loop_is_idle(mev));
	while (uart_read(sc, UART_LSR) & UART_LSR_DR)
		buf[n++] = (char)uart_read(sc, UART_RBR);
	CHECK_EQ(n, UART_FIFO_SIZE);
	/* Draining lets the rest in; nothing was lost, no overrun. */
	n += collect(sc, mev, buf + n, 40 - n);
	CHECK_EQ(n, 40);
	CHECK(memcmp(buf, msg, 40) == 0);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_OE, 0);
	/* 16450 mode: one byte at a time, still all of them. */
	uart_write(sc, UART_FCR, 0);
	CHECK(write(p.master, "xyz", 3) == 3);
	CHECK_EQ(collect(sc, mev, buf, 3), 3);
	CHECK(memcmp(buf, "xyz", 3) == 0);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_OE, 0);
	uart_destroy(sc);
	pty_close(&p);
	mevent_destroy(mev);
}

TEST(loopback_leaves_host_input_queued)
{
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char err[256] = "", buf[4] = "";
	struct pty p;

	REQUIRE(mev != NULL && sc != NULL);
	REQUIRE(pty_open(&p));
	REQUIRE(uart_set_backend(sc, p.path, mev, err, sizeof(err)) == 0);
	uart_write(sc, UART_MCR, UART_MCR_LOOP);
	CHECK(write(p.master, "k", 1) == 1);
	REQUIRE(pty_wait_input(&p, 1));
	for (int i = 0; i < 3; i++)
		(void)mevent_run_once(mev, ROUND_MS);
	CHECK(loop_is_idle(mev));
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	/* Loopback output stays inside the UART. */
	uart_write(sc, UART_THR, 'L');
	CHECK_EQ(uart_read(sc, UART_RBR), 'L');
	uart_write(sc, UART_MCR, 0);
	CHECK_EQ(collect(sc, mev, buf, 1), 1);
	CHECK_EQ(buf[0], 'k');
	uart_destroy(sc);
	pty_close(&p);
	mevent_destroy(mev);
}

TEST(fifo_path_is_read)
{
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char dir[] = "/tmp/bhyve-uart-XXXXXX", path[64], err[256] = "";
	char buf[8] = "";
	int wfd;

	REQUIRE(mev != NULL && sc != NULL);
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	REQUIRE(mkfifo(path, 0600) == 0);
	CHECK_EQ(uart_set_backend(sc, path, mev, err, sizeof(err)), 0);
	wfd = open(path, O_WRONLY | O_NONBLOCK);
	CHECK(wfd >= 0);
	CHECK(write(wfd, "fifo", 4) == 4);
	CHECK_EQ(collect(sc, mev, buf, 4), 4);
	CHECK(memcmp(buf, "fifo", 4) == 0);
	/* Our own reference: a writer leaving is no EOF. */
	close(wfd);
	(void)mevent_run_once(mev, 0);
	wfd = open(path, O_WRONLY | O_NONBLOCK);
	CHECK(wfd >= 0);
	CHECK(write(wfd, "2", 1) == 1);
	CHECK_EQ(collect(sc, mev, buf, 1), 1);
	CHECK_EQ(buf[0], '2');
	close(wfd);
	uart_destroy(sc);
	unlink(path);
	rmdir(dir);
	mevent_destroy(mev);
}

static size_t
file_contents(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, len);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

TEST(regular_file_is_an_output_log)
{
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char dir[] = "/tmp/bhyve-uart-XXXXXX", path[64], err[256] = "";
	char buf[32] = "";
	int fd;

	REQUIRE(mev != NULL && sc != NULL);
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/console.log", dir);
	CHECK_EQ(uart_set_backend(sc, path, mev, err, sizeof(err)), 0);
	write_str(sc, "boot\r\n");
	uart_destroy(sc);
	CHECK_EQ(file_contents(path, buf, sizeof(buf)), 6);
	CHECK(memcmp(buf, "boot\r\n", 6) == 0);
	/* An existing file is truncated. */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "old old old", 11) == 11);
	close(fd);
	sc = uart_init(NULL, NULL, NULL);
	REQUIRE(sc != NULL);
	CHECK_EQ(uart_set_backend(sc, path, mev, err, sizeof(err)), 0);
	write_str(sc, "new");
	uart_destroy(sc);
	CHECK_EQ(file_contents(path, buf, sizeof(buf)), 3);
	CHECK(memcmp(buf, "new", 3) == 0);
	unlink(path);
	rmdir(dir);
	mevent_destroy(mev);
}

/* uart_set_backend fails with a message naming 'path'. */
static void
check_refused(struct mevent_ctx *mev, const char *path)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char err[256] = "";

	if (sc == NULL) {
		CHECK(sc != NULL);
		return;
	}
	CHECK(uart_set_backend(sc, path, mev, err, sizeof(err)) < 0);
	if (strstr(err, path) == NULL || strchr(err, '\n') != NULL) {
		fprintf(stderr, "  for '%s': '%s'\n", path, err);
		CHECK(strstr(err, path) != NULL);
	}
	uart_destroy(sc);
}

TEST(bad_paths_are_refused)
{
	struct mevent_ctx *mev = mevent_create();
	char dir[] = "/tmp/bhyve-uart-XXXXXX", path[96];

	REQUIRE(mev != NULL);
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/no/such/dir/log", dir);
	check_refused(mev, path);
	check_refused(mev, dir); /* a directory */
	check_refused(mev, "/dev/null/x"); /* through a non-directory */
	/* Not writable: root passes permission bits, sysfs stops it. */
	if (geteuid() == 0) {
		check_refused(mev, "/sys/bhyve-uart-test.log");
	} else {
		snprintf(path, sizeof(path), "%s/ro", dir);
		REQUIRE(mkdir(path, 0500) == 0);
		snprintf(path, sizeof(path), "%s/ro/log", dir);
		check_refused(mev, path);
		snprintf(path, sizeof(path), "%s/ro", dir);
		rmdir(path);
	}
	rmdir(dir);
	mevent_destroy(mev);
}

/* A port nobody listens on right now: bind port 0 and ask. */
static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
connect_to(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Loop until 'fd' has something to read (or EOF). */
static bool
loop_until_readable(struct mevent_ctx *mev, int fd)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) == 1)
			return true;
		(void)mevent_run_once(mev, ROUND_MS);
	}
	return false;
}

/* Read to EOF while running the loop; returns the byte count. */
static size_t
drain_to_eof(struct mevent_ctx *mev, int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (loop_until_readable(mev, fd)) {
		ssize_t r = read(fd, buf + got, len - got);

		if (r <= 0)
			return got;
		got += (size_t)r;
	}
	return got;
}

/* A client that talks: input reaches RBR, output reaches it. */
static void
check_client(struct uart_softc *sc, struct mevent_ctx *mev, int c,
    const char *in, const char *out)
{
	char buf[16] = "";

	CHECK(write(c, in, strlen(in)) == (ssize_t)strlen(in));
	CHECK_EQ(collect(sc, mev, buf, strlen(in)), strlen(in));
	CHECK(memcmp(buf, in, strlen(in)) == 0);
	write_str(sc, out);
	CHECK_EQ(read_fd(c, buf, strlen(out)), strlen(out));
	CHECK(memcmp(buf, out, strlen(out)) == 0);
}

TEST(tcp_one_client_at_a_time)
{
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char spec[64], err[256] = "", buf[64];
	int port = free_port(), c1, c2, c3;

	REQUIRE(mev != NULL && sc != NULL && port > 0);
	snprintf(spec, sizeof(spec), "tcp=127.0.0.1:%d", port);
	REQUIRE(uart_set_backend(sc, spec, mev, err, sizeof(err)) == 0);
	write_str(sc, "early"); /* no client: dropped */
	c1 = connect_to(port);
	REQUIRE(c1 >= 0);
	check_client(sc, mev, c1, "ping", "pong");
	/* A second client is told and closed; the first one carries on. */
	c2 = connect_to(port);
	REQUIRE(c2 >= 0);
	CHECK(drain_to_eof(mev, c2, buf, sizeof(buf)) > 0);
	close(c2);
	check_client(sc, mev, c1, "more", "ok");
	/*
	 * Once the first leaves, the next one gets in.  Its EOF is the only
	 * event that can end this wait, so it is handled before c3 arrives.
	 */
	close(c1);
	(void)mevent_run_once(mev, 5000);
	c3 = connect_to(port);
	REQUIRE(c3 >= 0);
	check_client(sc, mev, c3, "hi", "there");
	close(c3);
	uart_destroy(sc);
	mevent_destroy(mev);
}

TEST(tcp_errors)
{
	static const char *const bad[] = { "tcp=", "tcp=127.0.0.1",
		"tcp=127.0.0.1:", "tcp=:80", "tcp=localhost:80",
		"tcp=127.0.0.1:0", "tcp=127.0.0.1:65536", "tcp=127.0.0.1:12ab",
		"tcp=127.0.0.1:-1", "tcp=1.2.3:80", "tcp=[::1:80",
		"tcp=[::1]80", "tcp=127.0.0.1:123456" };
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc;
	char spec[64], err[256] = "";
	int port = free_port(), busy = -1;
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	REQUIRE(mev != NULL && port > 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_refused(mev, bad[i]);
	/* A port in use. */
	busy = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(busy >= 0);
	REQUIRE(bind(busy, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	REQUIRE(listen(busy, 1) == 0);
	snprintf(spec, sizeof(spec), "tcp=127.0.0.1:%d", port);
	sc = uart_init(NULL, NULL, NULL);
	REQUIRE(sc != NULL);
	CHECK_EQ(uart_set_backend(sc, spec, mev, err, sizeof(err)),
	    -EADDRINUSE);
	CHECK(strstr(err, spec) != NULL);
	uart_destroy(sc);
	close(busy);
	mevent_destroy(mev);
}

TEST(tcp_ipv6_loopback)
{
	struct mevent_ctx *mev = mevent_create();
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
		.sin6_addr = IN6ADDR_LOOPBACK_INIT };
	char spec[64], err[256] = "";
	int port = free_port(), c;

	REQUIRE(mev != NULL && sc != NULL && port > 0);
	snprintf(spec, sizeof(spec), "tcp=[::1]:%d", port);
	if (uart_set_backend(sc, spec, mev, err, sizeof(err)) != 0) {
		/* No IPv6 on this host: nothing to test. */
		uart_destroy(sc);
		mevent_destroy(mev);
		return;
	}
	sin6.sin6_port = htons((uint16_t)port);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	REQUIRE(c >= 0);
	REQUIRE(connect(c, (struct sockaddr *)&sin6, sizeof(sin6)) == 0);
	check_client(sc, mev, c, "v6", "yes");
	close(c);
	uart_destroy(sc);
	mevent_destroy(mev);
}

/* A vCPU-like thread reading RBR while the event loop feeds the FIFO. */
struct reader {
	struct uart_softc *sc;
	char buf[2000];
	atomic_size_t got;
	atomic_bool stop;
};

static void *
reader_thread(void *arg)
{
	struct reader *r = arg;
	size_t n = 0;

	while (n < sizeof(r->buf) && !atomic_load(&r->stop)) {
		if (uart_read(r->sc, UART_LSR) & UART_LSR_DR) {
			r->buf[n++] = (char)uart_read(r->sc, UART_RBR);
			atomic_store(&r->got, n);
		} else {
			uart_write(r->sc, UART_THR, '.');
		}
	}
	return NULL;
}

TEST(concurrent_guest_and_event_loop)
{
	static struct reader r;
	struct mevent_ctx *mev = mevent_create();
	char err[256] = "", msg[sizeof(r.buf)], sink[256];
	struct pty p;
	pthread_t tid;

	r = (struct reader){ .sc = uart_init(NULL, NULL, NULL) };
	REQUIRE(mev != NULL && r.sc != NULL);
	REQUIRE(pty_open(&p));
	REQUIRE(uart_set_backend(r.sc, p.path, mev, err, sizeof(err)) == 0);
	uart_write(r.sc, UART_FCR, UART_FCR_ENABLE);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)(' ' + i % 90);
	REQUIRE(pthread_create(&tid, NULL, reader_thread, &r) == 0);
	CHECK(write(p.master, msg, sizeof(msg)) == (ssize_t)sizeof(msg));
	CHECK(fcntl(p.master, F_SETFL, O_NONBLOCK) == 0);
	for (int i = 0; i < 20 * ROUNDS && atomic_load(&r.got) < sizeof(msg); i++) {
		(void)mevent_run_once(mev, ROUND_MS);
		/* Keep the output side moving; it may drop, never block. */
		while (read(p.master, sink, sizeof(sink)) > 0)
			;
	}
	atomic_store(&r.stop, true);
	pthread_join(tid, NULL);
	CHECK_EQ(atomic_load(&r.got), sizeof(msg));
	CHECK(memcmp(r.buf, msg, sizeof(msg)) == 0);
	uart_destroy(r.sc);
	pty_close(&p);
	mevent_destroy(mev);
}

/* stdio, in children whose stdin/stdout are a pty of their own. */

static struct {
	struct mevent_ctx *mev;
	struct uart_softc *sc;
} child_state; /* reachable at exit: not a leak */

static void
child_open_stdio(const struct pty *p, bool raw_expected)
{
	char err[256] = "";
	struct rlimit nocore = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &nocore);
	child_state.mev = mevent_create();
	child_state.sc = uart_init(NULL, NULL, NULL);
	if (child_state.mev == NULL || child_state.sc == NULL ||
	    uart_set_backend(child_state.sc, "stdio", child_state.mev, err,
	    sizeof(err)) != 0 || is_raw(p->slave) != raw_expected)
		_exit(100);
}

static void
child_stdio_io(const struct pty *p)
{
	struct uart_softc *sc2 = uart_init(NULL, NULL, NULL);
	char err[256] = "", buf[4] = "";
	struct termios after;

	child_open_stdio(p, true);
	REQUIRE(sc2 != NULL);
	CHECK_EQ(uart_set_backend(sc2, "stdio", child_state.mev, err,
	    sizeof(err)), -EBUSY);
	CHECK(strstr(err, "stdio") != NULL);
	CHECK(write(p->master, "in", 2) == 2);
	CHECK_EQ(collect(child_state.sc, child_state.mev, buf, 2), 2);
	CHECK(memcmp(buf, "in", 2) == 0);
	write_str(child_state.sc, "out");
	CHECK_EQ(read_fd(p->master, buf, 3), 3);
	CHECK(memcmp(buf, "out", 3) == 0);
	uart_destroy(child_state.sc);
	CHECK_EQ(tcgetattr(p->slave, &after), 0);
	CHECK(same_termios(&after, &p->orig));
	/* Free again once closed. */
	CHECK_EQ(uart_set_backend(sc2, "stdio", child_state.mev, err,
	    sizeof(err)), 0);
	uart_destroy(sc2);
	mevent_destroy(child_state.mev);
}

/* stdin that epoll cannot watch (/dev/null): output only. */
static void
child_stdio_devnull(const struct pty *p)
{
	char buf[4] = "";
	int fd = open("/dev/null", O_RDONLY);

	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		_exit(101);
	close(fd);
	child_open_stdio(p, false);
	write_str(child_state.sc, "n");
	CHECK_EQ(read_fd(p->master, buf, 1), 1);
	CHECK_EQ(buf[0], 'n');
	uart_destroy(child_state.sc);
	mevent_destroy(child_state.mev);
}

static void
child_exit_raw(const struct pty *p)
{
	child_open_stdio(p, true);
	exit(0);
}

static void
child_abort_raw(const struct pty *p)
{
	child_open_stdio(p, true);
	(void)raise(SIGABRT);
	_exit(102);
}

/* A sanitizer may own SIGSEGV: it must still get it, after the restore. */
static void
child_segv_raw(const struct pty *p)
{
	int fd = open("/dev/null", O_WRONLY);

	if (fd >= 0)
		(void)dup2(fd, STDERR_FILENO);
	child_open_stdio(p, true);
	(void)raise(SIGSEGV);
	_exit(103);
}

/* Run fn in a child on a fresh pty; returns its wait status. */
static int
run_child(void (*fn)(const struct pty *), struct termios *after)
{
	struct pty p;
	int status = -1;
	pid_t pid;

	if (!pty_open(&p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		test_failures = 0; /* the child reports only its own */
		if (dup2(p.slave, STDIN_FILENO) < 0 ||
		    dup2(p.slave, STDOUT_FILENO) < 0)
			_exit(104);
		fn(&p);
		exit(test_failures ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	if (tcgetattr(p.slave, after) != 0 || !same_termios(after, &p.orig))
		status = -2;
	pty_close(&p);
	return status;
}

TEST(stdio_backend)
{
	struct termios after;
	int st;

	st = run_child(child_stdio_io, &after);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = run_child(child_stdio_devnull, &after);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(stdio_terminal_restored_on_exit_and_fatal_signals)
{
	struct termios after;
	int st;

	st = run_child(child_exit_raw, &after);
	CHECK(st != -2);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = run_child(child_abort_raw, &after);
	CHECK(st != -2);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	st = run_child(child_segv_raw, &after);
	CHECK(st != -2);
	CHECK(st >= 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
	    !(WIFEXITED(st) && WEXITSTATUS(st) >= 100));
}

TEST_MAIN(
	TEST_ENTRY(raw_mode_helper_restores_termios)
	TEST_ENTRY(pty_input_and_output)
	TEST_ENTRY(input_is_flow_controlled_not_overrun)
	TEST_ENTRY(loopback_leaves_host_input_queued)
	TEST_ENTRY(fifo_path_is_read)
	TEST_ENTRY(regular_file_is_an_output_log)
	TEST_ENTRY(bad_paths_are_refused)
	TEST_ENTRY(tcp_one_client_at_a_time)
	TEST_ENTRY(tcp_errors)
	TEST_ENTRY(tcp_ipv6_loopback)
	TEST_ENTRY(concurrent_guest_and_event_loop)
	TEST_ENTRY(stdio_backend)
	TEST_ENTRY(stdio_terminal_restored_on_exit_and_fatal_signals)
)
