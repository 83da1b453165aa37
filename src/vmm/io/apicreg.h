/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Local APIC architecture: register offsets in the xAPIC page, the x2APIC
 * MSRs that mirror them, and the bit fields the vlapic decodes.  Written
 * from the Intel SDM vol. 3A, chapter "Advanced Programmable Interrupt
 * Controller (APIC)" (sections cited next to each group).
 */
#ifndef APICREG_H
#define APICREG_H

/* IA32_APIC_BASE (SDM 11.4.4, Figure "IA32_APIC_BASE MSR"). */
#define MSR_APICBASE		0x1b
#define APICBASE_BSP		(1ull << 8)
#define APICBASE_EXTD		(1ull << 10)	/* x2APIC mode */
#define APICBASE_EN		(1ull << 11)	/* global enable */
#define APICBASE_ADDR_SHIFT	12
#define APICBASE_DEFAULT	0xfee00000ull
/* Bits 7:0 and 9 are reserved; so is everything above MAXPHYADDR. */
#define APICBASE_RSVD_LOW	0x2ffull

/* x2APIC: MSR 0x800 + (xAPIC offset >> 4) (SDM 11.12.1.2). */
#define MSR_X2APIC_FIRST	0x800
#define MSR_X2APIC_LAST		0x8ff
#define MSR_TSC_DEADLINE	0x6e0

/* xAPIC page offsets (SDM 11.4.1, "Local APIC Register Address Map"). */
#define APIC_PAGE_SIZE		0x1000
#define APIC_REG_SLOTS		64	/* 16-byte slots 0x000-0x3f0 */
#define APIC_OFF_ID		0x020
#define APIC_OFF_VER		0x030
#define APIC_OFF_TPR		0x080
#define APIC_OFF_APR		0x090
#define APIC_OFF_PPR		0x0a0
#define APIC_OFF_EOI		0x0b0
#define APIC_OFF_RRD		0x0c0
#define APIC_OFF_LDR		0x0d0
#define APIC_OFF_DFR		0x0e0
#define APIC_OFF_SVR		0x0f0
#define APIC_OFF_ISR0		0x100	/* 8 registers, 0x10 apart */
#define APIC_OFF_TMR0		0x180
#define APIC_OFF_IRR0		0x200
#define APIC_OFF_ESR		0x280
#define APIC_OFF_LVT_CMCI	0x2f0
#define APIC_OFF_ICR_LO		0x300
#define APIC_OFF_ICR_HI		0x310
#define APIC_OFF_LVT_TIMER	0x320
#define APIC_OFF_LVT_THERMAL	0x330
#define APIC_OFF_LVT_PMC	0x340
#define APIC_OFF_LVT_LINT0	0x350
#define APIC_OFF_LVT_LINT1	0x360
#define APIC_OFF_LVT_ERROR	0x370
#define APIC_OFF_TIMER_ICR	0x380	/* initial count */
#define APIC_OFF_TIMER_CCR	0x390	/* current count */
#define APIC_OFF_TIMER_DCR	0x3e0	/* divide configuration */
#define APIC_OFF_SELF_IPI	0x3f0	/* x2APIC only */

#define APIC_SLOT(off)		((off) >> 4)
#define APIC_MSR(off)		(MSR_X2APIC_FIRST + APIC_SLOT(off))

/* Version register (SDM 11.4.8). */
#define APIC_VER_MAXLVT_SHIFT	16
#define APIC_VER_EOI_SUPPRESS	(1u << 24)

/* ID, LDR, DFR (SDM 11.4.6, 11.6.2.2, 11.12.10.2). */
#define APIC_XID_SHIFT		24	/* xAPIC ID in bits 31:24 */
#define APIC_LDR_XAPIC_MASK	0xff000000u
#define APIC_DFR_MODEL_MASK	0xf0000000u
#define APIC_DFR_MODEL_FLAT	0xf0000000u
#define APIC_DFR_MODEL_CLUSTER	0x00000000u
#define APIC_DFR_RSVD_ONES	0x0fffffffu

/* Spurious-interrupt vector register (SDM 11.9). */
#define APIC_SVR_VECTOR		0x000000ffu
#define APIC_SVR_ENABLE		0x00000100u
#define APIC_SVR_FOCUS_OFF	0x00000200u
#define APIC_SVR_EOI_SUPPRESS	0x00001000u

/* Error status register (SDM 11.5.3). */
#define APIC_ESR_SEND_CS	(1u << 0)
#define APIC_ESR_RECV_CS	(1u << 1)
#define APIC_ESR_SEND_ACCEPT	(1u << 2)
#define APIC_ESR_RECV_ACCEPT	(1u << 3)
#define APIC_ESR_REDIR_IPI	(1u << 4)
#define APIC_ESR_SEND_ILLEGAL	(1u << 5)
#define APIC_ESR_RECV_ILLEGAL	(1u << 6)
#define APIC_ESR_ILLEGAL_REG	(1u << 7)

/* Local vector table entries (SDM 11.5.1, Figure "Local Vector Table"). */
#define APIC_LVT_VECTOR		0x000000ffu
#define APIC_LVT_DM_MASK	0x00000700u
#define APIC_LVT_DM_FIXED	0x00000000u
#define APIC_LVT_DM_SMI		0x00000200u
#define APIC_LVT_DM_NMI		0x00000400u
#define APIC_LVT_DM_INIT	0x00000500u
#define APIC_LVT_DM_EXTINT	0x00000700u
#define APIC_LVT_DS		0x00001000u	/* delivery status, RO */
#define APIC_LVT_POLARITY	0x00002000u	/* LINT0/1 only */
#define APIC_LVT_RIRR		0x00004000u	/* remote IRR, RO */
#define APIC_LVT_LEVEL		0x00008000u	/* LINT0/1 trigger */
#define APIC_LVT_MASKED		0x00010000u
#define APIC_LVTT_MODE_MASK	0x00060000u	/* timer only */
#define APIC_LVTT_ONESHOT	0x00000000u
#define APIC_LVTT_PERIODIC	0x00020000u
#define APIC_LVTT_TSCDL		0x00040000u

/* Interrupt command register (SDM 11.6.1, Figure "Interrupt Command
 * Register"). */
#define APIC_ICR_VECTOR		0x000000ffu
#define APIC_ICR_DM_SHIFT	8
#define APIC_ICR_DM_MASK	0x00000700u
#define APIC_ICR_LOGICAL	0x00000800u
#define APIC_ICR_DS		0x00001000u	/* delivery status, RO */
#define APIC_ICR_ASSERT		0x00004000u
#define APIC_ICR_LEVEL		0x00008000u
#define APIC_ICR_SH_SHIFT	18
#define APIC_ICR_SH_MASK	0x000c0000u
/* Writable bits of the low word: all the fields above but the status. */
#define APIC_ICR_LO_MASK	0x000ccfffu
#define APIC_ICR_XDEST_SHIFT	24	/* xAPIC destination in ICR_HI */
#define APIC_ICR_HI_MASK	0xff000000u

/* Delivery modes (ICR bits 10:8). */
#define APIC_DM_FIXED		0
#define APIC_DM_LOWPRI		1
#define APIC_DM_SMI		2
#define APIC_DM_REMRD		3	/* reserved on Intel */
#define APIC_DM_NMI		4
#define APIC_DM_INIT		5
#define APIC_DM_STARTUP		6
#define APIC_DM_EXTINT		7	/* not valid in an IPI */

/* Destination shorthands (ICR bits 19:18). */
#define APIC_SH_NONE		0
#define APIC_SH_SELF		1
#define APIC_SH_ALL_INCL	2
#define APIC_SH_ALL_EXCL	3

/* Broadcast destinations (SDM 11.6.2.1, 11.12.9). */
#define APIC_XAPIC_BCAST	0xffu
#define APIC_X2APIC_BCAST	0xffffffffu

/* Divide configuration register (SDM 11.5.4): bits 3, 1, 0. */
#define APIC_DCR_MASK		0x0000000bu

#endif /* APICREG_H */
