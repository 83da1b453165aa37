/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 256 interrupt and exception entry points and what they share: each
 * stub pushes a dummy error code where the CPU pushes none, then its
 * vector, and jumps to isr_common, which saves every general register,
 * calls irq_dispatch(struct irq_frame *) and returns with iretq.
 *
 * Stub v sits at isr_stubs + 16 * v: each starts on a 16-byte boundary
 * and is at most 12 bytes long (push imm8, push imm32, jmp rel32), so
 * the table needs no list of labels.  irq.c checks the total length.
 *
 * Also here: rdmsr/wrmsr that survive a #GP.  Their faulting instruction
 * is listed in kit_fixups; irq_dispatch resumes a fault there at the
 * paired landing address, which returns false.
 */
#include "entry.h"

/* Vectors for which the CPU pushes an error code (SDM vol. 3A 6.13). */
#define HAS_ERROR(v)	((v) == 8 || ((v) >= 10 && (v) <= 14) || \
			 (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.section .text
	.balign 16
	.globl isr_stubs, isr_stubs_end
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if HAS_ERROR(vec)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr
	.balign 16
isr_stubs_end:

/*
 * The frame irq_dispatch sees, lowest address first: r15 ... rax, then
 * vector, error code and what the CPU pushed (struct irq_frame).
 */
isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	movq %rsp, %rbx			/* callee-saved: the frame */
	andq $-16, %rsp
	call irq_dispatch
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	iretq

/* bool rdmsr_safe(uint32_t msr, uint64_t *val) */
	.globl rdmsr_safe
rdmsr_safe:
	movl %edi, %ecx
1:	rdmsr
	shlq $32, %rdx
	movl %eax, %eax
	orq %rdx, %rax
	movq %rax, (%rsi)
	movl $1, %eax
	ret
2:	xorl %eax, %eax
	ret

/* bool wrmsr_safe(uint32_t msr, uint64_t val) */
	.globl wrmsr_safe
wrmsr_safe:
	movl %edi, %ecx
	movl %esi, %eax
	movq %rsi, %rdx
	shrq $32, %rdx
3:	wrmsr
	movl $1, %eax
	ret
4:	xorl %eax, %eax
	ret

	.section .rodata
	.balign 8
	.globl kit_fixups, kit_fixups_end
kit_fixups:
	.quad 1b, 2b
	.quad 3b, 4b
kit_fixups_end:

	.section .note.GNU-stack, "", @progbits
