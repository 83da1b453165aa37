/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal unit-test kit.  A test file defines TEST(name) functions and
 * lists them in TEST_MAIN(...); CHECK* record a failure with its line and
 * go on, so one run reports every broken assertion.
 *
 *	TEST(parses_sizes) { CHECK_EQ(parse("1K"), 1024); }
 *	TEST_MAIN(parses_sizes)
 */
#ifndef TEST_H
#define TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_failures;
extern const char *test_current;

#define TEST(name) static void test_##name(void)

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n",     \
			    __FILE__, __LINE__, test_current, #cond);        \
			test_failures++;                                     \
		}                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		unsigned long long a_ = (unsigned long long)(a);             \
		unsigned long long b_ = (unsigned long long)(b);             \
		if (a_ != b_) {                                              \
			fprintf(stderr, "%s:%d: %s: %s == %s failed: "       \
			    "0x%llx != 0x%llx\n", __FILE__, __LINE__,        \
			    test_current, #a, #b, a_, b_);                   \
			test_failures++;                                     \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {       \
			fprintf(stderr, "%s:%d: %s: %s == %s failed: "       \
			    "\"%s\" != \"%s\"\n", __FILE__, __LINE__,        \
			    test_current, #a, #b, a_ ? a_ : "(null)",        \
			    b_ ? b_ : "(null)");                             \
			test_failures++;                                     \
		}                                                            \
	} while (0)

/* Stop the current test: for a precondition the rest depends on. */
#define REQUIRE(cond)                                                        \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: %s: REQUIRE(%s) failed\n",   \
			    __FILE__, __LINE__, test_current, #cond);        \
			test_failures++;                                     \
			return;                                              \
		}                                                            \
	} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

int test_run_all(const char *file, const struct test_case *cases, size_t n);

#define TEST_ENTRY(name) { #name, test_##name },
#define TEST_MAIN(...)                                                       \
	int main(void)                                                       \
	{                                                                    \
		static const struct test_case cases[] = { __VA_ARGS__ };     \
		return test_run_all(__FILE__, cases,                         \
		    sizeof(cases) / sizeof(cases[0]));                       \
	}

/* Helpers shared by tests (support.c). */
/* Write 'len' bytes to a new temporary file; returns its path (static). */
const char *test_tmpfile(const void *data, size_t len);
/* True when /dev/kvm can create a VM here. */
int test_have_kvm(void);

#endif /* TEST_H */
