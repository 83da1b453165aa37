/* SPDX-License-Identifier: BSD-2-Clause */
#include <fcntl.h>
#include <unistd.h>

#include "test.h"

int test_failures;
const char *test_current;

int
test_run_all(const char *file, const struct test_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int before = test_failures;

		test_current = cases[i].name;
		cases[i].fn();
		if (test_failures != before)
			fprintf(stderr, "FAIL %s\n", cases[i].name);
	}
	printf("%s: %zu tests, %d failed checks\n", file, n, test_failures);
	return test_failures ? 1 : 0;
}

const char *
test_tmpfile(const void *data, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/bhyve-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

int
test_have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}
