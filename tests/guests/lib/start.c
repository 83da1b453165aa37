/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * From entry.S to guest_main() and back out: exception reporting, the
 * boot_info handed to the guest, the failure counter and the exit port.
 */
#include "guest.h"

_Static_assert(sizeof(struct boot_entry) == BE_SIZE, "boot_entry layout");
_Static_assert(__builtin_offsetof(struct boot_entry, sel) == BE_SEL,
    "boot_entry layout");

#define IDT_VECTORS		32
#define IDT_INTERRUPT_GATE	0x8e	/* present, DPL 0, 64-bit int gate */

struct idt_gate {
	uint16_t offset0;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset1;
	uint32_t offset2;
	uint32_t reserved;
};

struct exc_frame {
	uint64_t vector;
	uint64_t error;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

extern const uint64_t exc_stubs[IDT_VECTORS];

uint32_t guest_start(void);
void guest_exception(const struct exc_frame *f) __attribute__((noreturn));

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static int check_failed;

/* Any exception ends the test with a FAIL line instead of a triple fault. */
static void
idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {
		.limit = sizeof(idt) - 1,
		.base = (uint64_t)idt,
	};

	for (int i = 0; i < IDT_VECTORS; i++) {
		uint64_t a = exc_stubs[i];

		idt[i] = (struct idt_gate){
			.offset0 = (uint16_t)a,
			.selector = GDT_CODE64,
			.type = IDT_INTERRUPT_GATE,
			.offset1 = (uint16_t)(a >> 16),
			.offset2 = (uint32_t)(a >> 32),
		};
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void
guest_exception(const struct exc_frame *f)
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
		check_failed++;
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
		check_failed++;
	}
	return got == want;
}

int
check_failures(void)
{
	return check_failed;
}

int
guest_finish(const char *name)
{
	if (check_failed == 0)
		printf("PASS %s\n", name);
	else
		printf("%s: %d check%s failed\n", name, check_failed,
		    check_failed == 1 ? "" : "s");
	return check_failed;
}

/* Called by entry.S in long mode; what it returns goes to guest_exit(). */
uint32_t
guest_start(void)
{
	struct boot_info bi = { .entry = &boot_entry };
	int failed;

	idt_init();
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
