/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The smallest multiboot kernel: its first instruction asks pc-testdev
 * (QEMU: isa-debug-exit) to end the VM with status (0 << 1) | 1.  Boot
 * time to here is the VMM's start-up cost.
 */
	.code32
	.section .text
	.globl _start
	.align 4
mb_header:
	.long 0x1badb002		/* magic */
	.long 0				/* flags */
	.long -0x1badb002		/* checksum */
_start:
	xorl %eax, %eax
	outl %eax, $0xf4
1:	hlt
	jmp 1b
