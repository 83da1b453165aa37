/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Multiboot v1 entry: record what the loader left in the registers,
 * switch to long mode on static page tables and call guest_start().
 *
 * Built twice: as entry.o (ELF kernels: the loader reads the program
 * headers) and, with MB_AOUT defined, as entry-aout.o, whose header
 * carries the a.out-kludge address fields (Multiboot 0.6.96, 3.1.3).
 *
 * Everything here runs at CPL 0, which the test machines emulate at
 * about 1 us per instruction: the page tables are therefore built by
 * the assembler, not by a loop at run time.
 */
#include "entry.h"

#ifdef MB_AOUT
#define HEADER_FLAGS	(MB_HEADER_FLAGS | MB_HEADER_AOUT_KLUDGE)
#else
#define HEADER_FLAGS	MB_HEADER_FLAGS
#endif

/* 2 MiB page: present, writable, PS.  The MMIO window is uncached. */
#define PDE_RAM		0x083
#define PDE_MMIO	0x09b
#define MMIO_WINDOW	0xfe000000

	.section .multiboot, "a"
	.balign 4
	.globl mb_header
mb_header:
	.long MB_HEADER_MAGIC
	.long HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + HEADER_FLAGS)
#ifdef MB_AOUT
	.long mb_header		/* header_addr */
	.long _load_start	/* load_addr: the file starts here */
	.long _edata		/* load_end_addr: file bytes past it are not ours */
	.long _end		/* bss_end_addr: the loader zeroes up to here */
	.long _start		/* entry_addr */
#endif

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	/* Multiboot 3.2: EAX, EBX, segments and EFLAGS as the loader set them. */
	movl %eax, boot_entry + BE_EAX
	movl %ebx, boot_entry + BE_EBX
	movl $stack_top, %esp		/* ESP is undefined at entry */
	pushfl
	popl boot_entry + BE_EFLAGS
	movl %cr0, %eax
	movl %eax, boot_entry + BE_CR0
	movl %cr4, %eax
	movl %eax, boot_entry + BE_CR4
	/* EIP as seen through CS: the link address only if CS base is 0. */
	call 1f
	.globl entry_eip_probe
entry_eip_probe:
1:	popl boot_entry + BE_EIP
	sgdt gdtr_scratch
	movzwl gdtr_scratch, %eax
	movl %eax, boot_entry + BE_GDT_LIMIT
	movl gdtr_scratch + 2, %eax
	movl %eax, boot_entry + BE_GDT_BASE

	/*
	 * The selectors; their descriptors are read from the loader's GDT
	 * later, in C.  (lar/lsl would be cheaper, but the test machines'
	 * CPL-0 emulator does not implement them: KVM emulation failure.)
	 */
	movw %cs, boot_entry + BE_SEL + 2 * SEG_CS
	movw %ds, boot_entry + BE_SEL + 2 * SEG_DS
	movw %es, boot_entry + BE_SEL + 2 * SEG_ES
	movw %fs, boot_entry + BE_SEL + 2 * SEG_FS
	movw %gs, boot_entry + BE_SEL + 2 * SEG_GS
	movw %ss, boot_entry + BE_SEL + 2 * SEG_SS

	/* Long mode, SDM vol. 3A 10.8.5: PAE, CR3, EFER.LME, then CR0.PG. */
	lgdt gdt_desc
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $kit_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $GDT_CODE64, $long_entry

	.code64
long_entry:
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movq $stack_top, %rsp
	xorl %ebp, %ebp
	call guest_start
	movl %eax, %edi
	call guest_exit
3:	cli
	hlt
	jmp 3b

	.section .data
	.balign 16
	.globl kit_gdt, kit_gdt_end
kit_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* GDT_CODE64: L=1, P, DPL 0, exec/read */
	.quad 0x00cf92000000ffff	/* GDT_DATA: 4 GiB, P, DPL 0, read/write */
	.quad 0x00cf9a000000ffff	/* GDT_CODE32: the APs' way to long mode */
kit_gdt_end:
	.balign 8
gdt_desc:
	.word kit_gdt_end - kit_gdt - 1
	.quad kit_gdt
gdtr_scratch:
	.word 0
	.long 0

	.balign 8
	.globl boot_entry
boot_entry:
	.fill BE_SIZE, 1, 0

/*
 * Identity map of 0..4 GiB with 2 MiB pages, built at assembly time: no
 * CPL-0 instruction is spent on it.  0xfe000000 and up is uncached for
 * the devices living there.
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl kit_pml4
kit_pml4:
	.quad pdpt + 0x003
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x003, pd + 0x1003, pd + 0x2003, pd + 0x3003
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 2048
	.if (page << 21) >= MMIO_WINDOW
	.quad (page << 21) | PDE_MMIO
	.else
	.quad (page << 21) | PDE_RAM
	.endif
	.set page, page + 1
	.endr

	.section .bss
	.balign 16
	.globl stack_bottom
stack_bottom:
	.skip GUEST_STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
