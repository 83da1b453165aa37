/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hello, loaded through the multiboot a.out kludge (Multiboot 0.6.96,
 * 3.1.3): a flat image whose header gives load_addr, load_end_addr,
 * bss_end_addr and entry_addr.  The image file carries 4 KiB of 0xaa
 * after load_end_addr; the loader must zero that range instead.
 */
#include "guest.h"

#define GARBAGE_LEN	4096

extern const char _edata[], _end[];

/* First in .bss: exactly where the file's trailing garbage would land. */
static volatile uint8_t bss_first[GARBAGE_LEN]
    __attribute__((section(".bss.first"), aligned(16)));

static void
check_bss(void)
{
	const volatile uint8_t *p = (const volatile uint8_t *)_edata;
	const volatile uint8_t *end = bss_first + GARBAGE_LEN;
	size_t nonzero = 0;

	CHECK((const char *)bss_first >= _edata);
	CHECK((const char *)end <= _end);
	for (; p < end; p++)
		if (*p != 0)
			nonzero++;
	printf("bss 0x%lx-0x%lx: %lu non-zero bytes\n", (uint64_t)_edata,
	    (uint64_t)end, nonzero);
	CHECK_EQ(nonzero, 0);
}

int
guest_main(struct boot_info *bi)
{
	printf("hello from the guest\n");
	printf("cmdline: %s\n", bi->args);
	CHECK_EQ(bi->entry->eax, MB_BOOTLOADER_MAGIC);
	CHECK(bi->mbi != NULL);
	check_bss();
	return guest_finish("aout");
}
