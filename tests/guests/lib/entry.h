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
#define GDT_CODE32		0x18	/* flat 32-bit code, for AP start-up */

#ifdef __ASSEMBLER__
/*
 * What entry.S and ap.S set on the way to long mode (SDM vol. 3A
 * 10.8.5).  Assembly only: some guests name these bits themselves.
 */
#define CR0_PE			0x00000001
#define CR0_NW			0x20000000
#define CR0_CD			0x40000000
#define CR0_PG			0x80000000
#define CR4_PAE			0x00000020
#define MSR_EFER		0xc0000080
#define EFER_LME		0x00000100
#endif

#define MSR_GS_BASE		0xc0000101

/*
 * Application processors (smp.c, ap.S): at most SMP_MAX_CPUS CPUs, each
 * AP on its own stack, started in real mode at SMP_TRAMPOLINE (a page
 * below 1 MiB that neither loader uses: bhyve's multiboot data sits at
 * 0x500-0x6fff, QEMU's at 0x9000 and up).
 */
#define SMP_MAX_CPUS		16
#define SMP_STACK_SHIFT		14
#define SMP_STACK_SIZE		(1 << SMP_STACK_SHIFT)
#define SMP_TRAMPOLINE		0x8000

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
