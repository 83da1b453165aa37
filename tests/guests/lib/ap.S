/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Application-processor start-up.  A start-up IPI with vector 8 starts an
 * AP in real mode at 0x0800:0000 (SDM vol. 3A 9.4.4.1); smp.c copies the
 * 16-bit part below (ap_tramp_start .. ap_tramp_end) to SMP_TRAMPOLINE
 * first.  That part only loads the kit's GDT and enters protected mode;
 * the rest runs where it was linked: long mode on the BSP's page tables
 * (smp_boot_cr3), a stack of its own chosen by the CPU index it draws
 * from smp_next_index, then smp_ap_entry(index) in C.
 *
 * The 16-bit code is position-independent within its page: DS = CS, and
 * the GDTR operand is addressed relative to ap_tramp_start.
 */
#include "entry.h"

	.section .text
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_tramp_gdtr - ap_tramp_start
	movl %cr0, %eax
	andl $~(CR0_CD | CR0_NW), %eax	/* INIT leaves caching off */
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $GDT_CODE32, $ap_entry32
	.balign 8
ap_tramp_gdtr:
	.word GDT_CODE32 + 7		/* GDT_CODE32 is the kit's last entry */
	.long kit_gdt
ap_tramp_end:

	.code32
ap_entry32:
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	/* Long mode as entry.S enters it: PAE, CR3, EFER.LME, CR0.PG. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl smp_boot_cr3, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $GDT_CODE64, $ap_entry64

	.code64
ap_entry64:
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	/* APs arrive together after a broadcast SIPI: draw an index. */
	movl $1, %eax
	lock xaddl %eax, smp_next_index
	cmpl $SMP_MAX_CPUS, %eax
	jae 2f
	movl %eax, %edi
	shlq $SMP_STACK_SHIFT, %rax	/* index 1 owns the first stack */
	leaq smp_ap_stacks(%rax), %rsp
	xorl %ebp, %ebp
	call smp_ap_entry
2:	cli				/* one AP too many, or the C side returned */
	hlt
	jmp 2b

	.section .bss
	.balign 16
	.globl smp_ap_stacks
smp_ap_stacks:
	.skip (SMP_MAX_CPUS - 1) * SMP_STACK_SIZE

	.section .note.GNU-stack, "", @progbits
