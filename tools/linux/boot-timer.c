/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * boot-timer: the guest's first userspace program when the kernel is told
 * rdinit=/sbin/boot-timer (bench/linux-boot does).  Before anything else
 * it marks "userspace has started" where a VMM can see it, then hands over
 * to the real init:
 *   - writes BOOT_TIMER_MAGIC to pc-testdev's test port (0xe0), the hook
 *     where a VMM can timestamp the moment (Firecracker's boot timer does
 *     the same with a write to a port of its own);
 *   - writes BOOT_TIMER_LINE to the console, which the host timestamps on
 *     arrival when the VMM takes no note of the port;
 *   - execs /init with the same arguments and environment.
 *
 * Built static with no C library (the initramfs has none): a few dozen
 * instructions run before the port write.
 */
#define BOOT_TIMER_PORT 0xe0
#define BOOT_TIMER_MAGIC 0x7bu	/* 123, Firecracker's boot-timer value */
#define BOOT_TIMER_LINE "BOOT-TIMER userspace\n"

#define SYS_write 1
#define SYS_ioperm 173
#define SYS_execve 59
#define SYS_exit 60

static long
bt_syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static void
bt_outl(unsigned short port, unsigned int val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

/* The kernel enters here with argc, argv[], NULL, envp[] on the stack. */
void bt_main(long *sp) __attribute__((noreturn, used));

void
bt_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	static const char line[] = BOOT_TIMER_LINE;
	static char init[] = "/init";

	/* Without the port (ioperm refused), the console line still counts. */
	if (bt_syscall3(SYS_ioperm, BOOT_TIMER_PORT, 4, 1) == 0)
		bt_outl(BOOT_TIMER_PORT, BOOT_TIMER_MAGIC);
	bt_syscall3(SYS_write, 1, (long)line, sizeof(line) - 1);
	argv[0] = init;
	bt_syscall3(SYS_execve, (long)init, (long)argv, (long)envp);
	bt_syscall3(SYS_exit, 127, 0, 0);
	__builtin_unreachable();
}

__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call bt_main\n");
