/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The test-guest kit: what a guest's C code gets.  A guest provides
 * guest_main(); entry.S and start.c do the rest: serial port, exception
 * reporting, exit through the isa-debug-exit port with the failure count.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "io.h"
#include "irq.h"
#include "multiboot.h"

#define COM1_PORT		0x3f8
#define DEBUG_EXIT_PORT		0xf4

/* Exit codes other than the failure count (bhyve exits with 2c+1). */
#define GUEST_EXIT_EXCEPTION	0x70
#define GUEST_EXIT_MAX_FAILURES	0x60

/* The entry state, as entry.S recorded it (layout: entry.h). */
struct boot_entry {
	uint32_t eax;
	uint32_t ebx;
	uint32_t cr0;
	uint32_t cr4;
	uint32_t eflags;
	uint32_t eip;
	uint32_t gdt_base;
	uint32_t gdt_limit;
	uint16_t sel[SEG_COUNT];
	uint32_t pad;
};

/* Filled by entry.S; guests read it through boot_info.entry. */
extern struct boot_entry boot_entry;

struct boot_info {
	const struct boot_entry *entry;
	const struct mb_info *mbi;	/* NULL if EAX lacked the magic */
	const char *cmdline;		/* the whole multiboot cmdline */
	const char *args;		/* the same without a leading path */
};

/* Provided by each guest.  Returns the number of failed checks. */
int guest_main(struct boot_info *bi);

/* Writes code to the isa-debug-exit port; halts if that did not stop us. */
void guest_exit(int code) __attribute__((noreturn));
/* Prints "FAIL exception ..." and exits with GUEST_EXIT_EXCEPTION. */
void guest_exception(const struct irq_frame *f) __attribute__((noreturn));

/* COM1, polled. */
void serial_init(void);
void serial_putc(char c);
void serial_drain(void);

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
const char *strstr(const char *hay, const char *needle);

/*
 * Command line: whitespace-separated words, "key=value" or bare.  QEMU
 * passes "<kernel path> <append>", so cmdline_args() drops a first word
 * that has a '/' and no '='.
 */
const char *cmdline_args(const char *cmdline);
bool cmdline_get(const char *args, const char *key, char *buf, size_t len);
bool cmdline_get_u64(const char *args, const char *key, uint64_t *val);
bool cmdline_has_word(const char *args, const char *word);
bool parse_u64(const char *s, uint64_t *val);

/* Checks: a failure prints "FAIL <file>:<line> <what>" and is counted. */
#ifdef __FILE_NAME__
#define CHECK_FILE __FILE_NAME__
#else
#define CHECK_FILE __FILE__
#endif
#define CHECK(expr)							\
	check_true(CHECK_FILE, __LINE__, #expr, (expr))
#define CHECK_EQ(a, b)							\
	check_eq(CHECK_FILE, __LINE__, #a " == " #b, (uint64_t)(a),	\
	    (uint64_t)(b))

bool check_true(const char *file, int line, const char *what, bool ok);
bool check_eq(const char *file, int line, const char *what, uint64_t got,
    uint64_t want);
int check_failures(void);
/* Counts a failure reported by other means (the caller prints FAIL). */
void check_note_failure(void);
/* Prints "PASS <name>" if nothing failed; returns the failure count. */
int guest_finish(const char *name);

#endif /* GUEST_H */
