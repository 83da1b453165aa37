/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * linux-boot: boot a VMM with a Linux guest and measure, from exec:
 *   boot_ms   until the guest's console shows MARKER (tools/linux/boot-timer
 *             prints it before anything else runs in userspace)
 *   idle_ms   until it shows IDLE (the guest's init is done)
 * then, SETTLE ms later while the guest idles, the VMM's memory
 * (/proc/PID/status): guest RAM lives in a memfd and counts as RssShmem,
 * so VmRSS - RssShmem is the VMM's own overhead.  The VMM is then killed.
 *
 *   linux-boot --marker TEXT --idle TEXT [--settle MS] [--timeout S] -- cmd...
 * prints one line:
 *   boot_ms=.. idle_ms=.. rss_kib=.. shmem_kib=.. overhead_kib=.. cpu_ms=..
 * or "error=..." and status 1 when a marker never came.
 *
 * The guest's stdin is a pipe that stays open and silent, so a shell on
 * the console waits instead of reading end-of-file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LB_TAIL 256	/* bytes kept between reads to match across them */

struct lb_opts {
	const char *marker, *idle;
	long settle_ms, timeout_s;
	char **argv;
};

struct lb_stream {
	int fd;
	char buf[4096 + LB_TAIL];
	size_t have;
	int eof;
};

static double
lb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Read what is there (waiting at most 'ms'); true when 'text' was seen. */
static int
lb_read(struct lb_stream *s, const char *text, int ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	ssize_t n;
	int seen;

	if (s->eof || poll(&p, 1, ms) <= 0)
		return 0;
	n = read(s->fd, s->buf + s->have, sizeof(s->buf) - 1 - s->have);
	if (n <= 0) {
		s->eof = 1;
		return 0;
	}
	s->have += (size_t)n;
	s->buf[s->have] = '\0';
	seen = text != NULL && memmem(s->buf, s->have, text, strlen(text));
	if (s->have > LB_TAIL) {
		memmove(s->buf, s->buf + s->have - LB_TAIL, LB_TAIL);
		s->have = LB_TAIL;
	}
	return seen;
}

/* Wait for 'text' until 'deadline'; its time, or -1. */
static double
lb_wait(struct lb_stream *s, const char *text, double deadline)
{
	while (!s->eof && lb_now_ms() < deadline)
		if (lb_read(s, text, 100))
			return lb_now_ms();
	return -1;
}

/* "Key: N kB" from /proc/PID/status. */
static long
lb_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t k = strlen(key);
	long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, key, k) == 0 && line[k] == ':')
			v = strtol(line + k + 1, NULL, 10);
	fclose(fp);
	return v;
}

static pid_t
lb_spawn(char **argv, int *out_fd, int *in_fd)
{
	int out[2], in[2];
	pid_t pid;

	if (pipe(out) != 0 || pipe(in) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(in[0], 0);
		close(out[0]);
		close(out[1]);
		close(in[0]);
		close(in[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	*out_fd = out[0];
	*in_fd = in[1];
	return pid;
}

static int
lb_parse(int argc, char **argv, struct lb_opts *o)
{
	*o = (struct lb_opts){ .settle_ms = 2000, .timeout_s = 300 };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			o->argv = argv + i + 1;
			break;
		}
		if (i + 1 >= argc)
			return -EINVAL;
		if (strcmp(argv[i], "--marker") == 0)
			o->marker = argv[++i];
		else if (strcmp(argv[i], "--idle") == 0)
			o->idle = argv[++i];
		else if (strcmp(argv[i], "--settle") == 0)
			o->settle_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--timeout") == 0)
			o->timeout_s = strtol(argv[++i], NULL, 10);
		else
			return -EINVAL;
	}
	return o->marker && o->idle && o->argv && o->argv[0] ? 0 : -EINVAL;
}

/* Measure one boot; the line on stdout, 0 when both markers came. */
static int
lb_measure(const struct lb_opts *o)
{
	struct lb_stream s = { .fd = -1 };
	double t0 = lb_now_ms(), deadline = t0 + o->timeout_s * 1e3;
	double t_boot, t_idle = -1, settle_end;
	long rss = -1, shmem = -1;
	struct rusage ru;
	int in_fd, status;
	pid_t pid;

	pid = lb_spawn(o->argv, &s.fd, &in_fd);
	if (pid < 0)
		return 1;
	t_boot = lb_wait(&s, o->marker, deadline);
	if (t_boot >= 0)
		t_idle = lb_wait(&s, o->idle, deadline);
	if (t_idle >= 0) {
		/* Keep draining the console while the guest settles. */
		settle_end = lb_now_ms() + o->settle_ms;
		while (!s.eof && lb_now_ms() < settle_end)
			lb_read(&s, NULL, 50);
		rss = lb_status_kib(pid, "VmRSS");
		shmem = lb_status_kib(pid, "RssShmem");
	}
	kill(pid, SIGKILL);
	wait4(pid, &status, 0, &ru);
	close(in_fd);
	if (t_boot < 0 || t_idle < 0 || rss < 0) {
		printf("error=%s\n", t_boot < 0 ? "no-boot-marker" :
		    t_idle < 0 ? "no-idle-marker" : "vmm-gone");
		return 1;
	}
	printf("boot_ms=%.1f idle_ms=%.1f rss_kib=%ld shmem_kib=%ld "
	    "overhead_kib=%ld cpu_ms=%.1f\n", t_boot - t0, t_idle - t0, rss,
	    shmem, rss - shmem,
	    (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
	return 0;
}

int
main(int argc, char **argv)
{
	struct lb_opts o;

	if (lb_parse(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: linux-boot --marker TEXT --idle TEXT "
		    "[--settle MS] [--timeout S] -- cmd...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	return lb_measure(&o);
}
