/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Constants shared by entry.S and the C side of the kit: the multiboot v1
 * header, the GDT the guests run on, and the layout of struct boot_entry
 * (which entry.S fills before it leaves 32-bit protected mode).
 */
#ifndef GUEST_ENTRY_H
#define GUEST_ENTRY_H

/* Multiboot Specification 0.6.96, section 3.1.1 */
#define MB_HEADER_MAGIC		0x1BADB002
#define MB_HEADER_PAGE_ALIGN	(1 << 0)	/* modules on 4 KiB boundaries */
#define MB_HEADER_MEMORY_INFO	(1 << 1)	/* mem_* and mmap_* wanted */
#define MB_HEADER_AOUT_KLUDGE	(1 << 16)	/* address fields are valid */
#define MB_BOOTLOADER_MAGIC	0x2BADB002	/* in EAX at entry */

#define MB_HEADER_FLAGS		(MB_HEADER_PAGE_ALIGN | MB_HEADER_MEMORY_INFO)

#define GDT_CODE64		0x08
#define GDT_DATA		0x10

/* The segment registers entry.S records, in this order. */
#define SEG_CS			0
#define SEG_DS			1
#define SEG_ES			2
#define SEG_FS			3
#define SEG_GS			4
#define SEG_SS			5
#define SEG_COUNT		6

/* Offsets in struct boot_entry. */
#define BE_EAX			0
#define BE_EBX			4
#define BE_CR0			8
#define BE_CR4			12
#define BE_EFLAGS		16
#define BE_EIP			20
#define BE_GDT_BASE		24
#define BE_GDT_LIMIT		28
#define BE_SEL			32
#define BE_SIZE			(BE_SEL + 2 * SEG_COUNT + 4)

#define GUEST_STACK_SIZE	16384

#endif /* GUEST_ENTRY_H */
