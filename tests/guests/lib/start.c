/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * From entry.S to guest_main() and back out: exception reporting, the
 * boot_info handed to the guest, the failure counter and the exit port.
 */
#include "guest.h"
#include "smp.h"

_Static_assert(sizeof(struct boot_entry) == BE_SIZE, "boot_entry layout");
_Static_assert(__builtin_offsetof(struct boot_entry, sel) == BE_SEL,
    "boot_entry layout");

uint32_t guest_start(void);

static int check_failed;

/* An exception nobody handles ends the test with a FAIL line. */
void
guest_exception(const struct irq_frame *f)
{
	printf("FAIL exception %lu error 0x%lx at rip 0x%lx (cr2 0x%lx)\n",
	    f->vector, f->error, f->rip, f->vector == 14 ? read_cr2() : 0);
	guest_exit(GUEST_EXIT_EXCEPTION);
}

void
guest_exit(int code)
{
	outl(DEBUG_EXIT_PORT, (uint32_t)code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

bool
check_true(const char *file, int line, const char *what, bool ok)
{
	if (!ok) {
		printf("FAIL %s:%d %s\n", file, line, what);
		check_note_failure();
	}
	return ok;
}

bool
check_eq(const char *file, int line, const char *what, uint64_t got,
    uint64_t want)
{
	if (got != want) {
		printf("FAIL %s:%d %s (got 0x%lx, want 0x%lx)\n", file, line,
		    what, got, want);
		check_note_failure();
	}
	return got == want;
}

/* Any CPU may fail a check, in a handler too. */
void
check_note_failure(void)
{
	__atomic_fetch_add(&check_failed, 1, __ATOMIC_RELAXED);
}

int
check_failures(void)
{
	return __atomic_load_n(&check_failed, __ATOMIC_RELAXED);
}

int
guest_finish(const char *name)
{
	int failed = check_failures();

	if (failed == 0)
		printf("PASS %s\n", name);
	else
		printf("%s: %d check%s failed\n", name, failed,
		    failed == 1 ? "" : "s");
	return failed;
}

/* Called by entry.S in long mode; what it returns goes to guest_exit(). */
uint32_t
guest_start(void)
{
	struct boot_info bi = { .entry = &boot_entry };
	int failed;

	smp_bsp_init();
	irq_init();
	serial_init();
	bi.mbi = mb_info();
	bi.cmdline = mb_cmdline(bi.mbi);
	bi.args = cmdline_args(bi.cmdline);
	failed = guest_main(&bi);
	serial_drain();
	/* The exit status is 8 bits: keep (code << 1) | 1 from wrapping. */
	if (failed < 0 || failed > GUEST_EXIT_MAX_FAILURES)
		failed = GUEST_EXIT_MAX_FAILURES;
	return (uint32_t)failed;
}
