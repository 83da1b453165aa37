/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Run a command and report what it cost: wall time from exec to exit, CPU
 * time (user + system), and with --marker, the process's memory at the
 * moment its output first contains the marker (the process is then
 * killed).  Memory is split into shared memory (a VMM's memfd guest RAM)
 * and the rest, which is the VMM's own overhead.
 *
 *   runstat [--marker TEXT] -- command args...
 * prints one line: wall_ms=.. cpu_ms=.. [rss_kib=.. shmem_kib=.. overhead_kib=..] status=..
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Sum "Key: N kB" lines of /proc/PID/FILE for the given key. */
static long
proc_kib(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, key, strlen(key)) == 0 &&
		    line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(fp);
	return v;
}

/* Read the child's output until the marker shows up; false at EOF. */
static int
wait_marker(int fd, const char *marker)
{
	char buf[4096];
	size_t have = 0;
	ssize_t n;

	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		if (memmem(buf, have, marker, strlen(marker)) != NULL)
			return 1;
		if (have > sizeof(buf) / 2) {
			memmove(buf, buf + have - strlen(marker),
			    strlen(marker));
			have = strlen(marker);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *marker = NULL;
	int i = 1, p[2], status;
	struct rusage ru;
	double t0, t1;
	long rss = -1, shmem = -1;
	pid_t pid;

	if (i + 1 < argc && strcmp(argv[i], "--marker") == 0) {
		marker = argv[i + 1];
		i += 2;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc || pipe(p) != 0) {
		fprintf(stderr, "usage: runstat [--marker TEXT] -- cmd...\n");
		return 2;
	}
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[i], argv + i);
		_exit(127);
	}
	close(p[1]);
	if (marker && wait_marker(p[0], marker)) {
		rss = proc_kib(pid, "status", "VmRSS");
		shmem = proc_kib(pid, "status", "RssShmem");
		kill(pid, SIGKILL);
	} else {
		char sink[4096];

		while (read(p[0], sink, sizeof(sink)) > 0)
			;
	}
	wait4(pid, &status, 0, &ru);
	t1 = now_ms();
	printf("wall_ms=%.1f cpu_ms=%.1f", t1 - t0,
	    (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
	if (rss >= 0)
		printf(" rss_kib=%ld shmem_kib=%ld overhead_kib=%ld", rss,
		    shmem, rss - shmem);
	printf(" status=%d\n", WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status));
	return 0;
}
