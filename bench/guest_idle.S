/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A multiboot kernel that says "idle" on COM1 and then halts with
 * interrupts enabled, for good: the VMM's memory is measured while it
 * sits there.
 */
	.code32
	.section .text
	.globl _start
	.align 4
mb_header:
	.long 0x1badb002
	.long 0
	.long -0x1badb002
_start:
	movl $msg, %esi
	movw $0x3f8, %dx
2:	lodsb
	testb %al, %al
	jz 3f
	outb %al, %dx
	jmp 2b
3:	sti
4:	hlt
	jmp 4b
msg:
	.asciz "idle\n"
