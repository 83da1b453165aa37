/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host side of the virtio_console guest test, built for the host by
 * the harness: connect to a virtio-console port's UNIX socket once the
 * VMM has made it, check the guest's line, answer, hang up.
 *
 *   vcon_peer SOCKET EXPECT REPLY [SECONDS]
 *
 * EXPECT and REPLY are lines without their newline.  Exit status 0 when
 * EXPECT arrived whole and REPLY went out, 1 otherwise (the reason on
 * stderr), 2 for bad arguments.  SECONDS (default 60) bounds the whole
 * run: a VMM that never makes the socket, or a guest that never writes,
 * is a failure, not a hang.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PEER_RETRY_MS 20
#define PEER_LINE_MAX 4096

static long long
peer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect, retrying while the socket is not there or not listening. */
static int
peer_connect(const char *path, long long deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vcon_peer: %s: path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	while (peer_now_ms() < deadline) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0) {
			perror("vcon_peer: socket");
			return -1;
		}
		if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return s;
		close(s);
		if (errno != ENOENT && errno != ECONNREFUSED) {
			fprintf(stderr, "vcon_peer: %s: %s\n", path,
			    strerror(errno));
			return -1;
		}
		poll(NULL, 0, PEER_RETRY_MS);
	}
	fprintf(stderr, "vcon_peer: %s: nobody listened in time\n", path);
	return -1;
}

/* One line, newline dropped, into buf; false on EOF or timeout. */
static int
peer_read_line(int s, char *buf, size_t max, long long deadline)
{
	size_t n = 0;

	while (n + 1 < max) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		long long left = deadline - peer_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) != 1) {
			fprintf(stderr, "vcon_peer: no line in time\n");
			return 0;
		}
		r = read(s, buf + n, 1);
		if (r <= 0) {
			fprintf(stderr, "vcon_peer: the VMM hung up\n");
			return 0;
		}
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 1;
}

static int
peer_write_line(int s, const char *line)
{
	size_t len = strlen(line);

	if (write(s, line, len) != (ssize_t)len || write(s, "\n", 1) != 1) {
		perror("vcon_peer: write");
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	char line[PEER_LINE_MAX];
	long long deadline;
	int s, ok;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: vcon_peer SOCKET EXPECT REPLY "
		    "[SECONDS]\n");
		return 2;
	}
	deadline = peer_now_ms() + 1000LL * (argc == 5 ? atoi(argv[4]) : 60);
	s = peer_connect(argv[1], deadline);
	if (s < 0)
		return 1;
	ok = peer_read_line(s, line, sizeof(line), deadline);
	if (ok) {
		printf("vcon_peer: got '%s'\n", line);
		ok = strcmp(line, argv[2]) == 0;
		if (!ok)
			fprintf(stderr, "vcon_peer: want '%s'\n", argv[2]);
	}
	if (ok)
		ok = peer_write_line(s, argv[3]);
	close(s);
	return ok ? 0 : 1;
}
