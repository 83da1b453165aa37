/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Port I/O, MMIO and string I/O, one instruction per access: a device
 * test must know exactly which access reached the device, so none of
 * these may be merged, split or elided by the compiler.
 */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stddef.h>
#include <stdint.h>

static inline void
outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t
inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t
inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t
inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint8_t
mmio_read8(uint64_t addr)
{
	uint8_t v;

	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint16_t
mmio_read16(uint64_t addr)
{
	uint16_t v;

	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint32_t
mmio_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint64_t
mmio_read64(uint64_t addr)
{
	uint64_t v;

	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void
mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(addr) : "memory");
}

static inline void
mmio_write16(uint64_t addr, uint16_t v)
{
	__asm__ volatile("movw %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline void
mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline void
mmio_write64(uint64_t addr, uint64_t v)
{
	__asm__ volatile("movq %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

/*
 * rep ins/outs.  They return where RDI/RSI ended, so a test can check
 * that the CPU (or the emulator) advanced them by count elements, in the
 * direction EFLAGS.DF says.
 */
#define GUEST_REP_INS(name, sfx)					\
static inline void *							\
name(uint16_t port, void *buf, size_t count)				\
{									\
	__asm__ volatile("rep ins" sfx					\
	    : "+D"(buf), "+c"(count) : "d"(port) : "memory");		\
	return buf;							\
}

#define GUEST_REP_OUTS(name, sfx)					\
static inline const void *						\
name(uint16_t port, const void *buf, size_t count)			\
{									\
	__asm__ volatile("rep outs" sfx					\
	    : "+S"(buf), "+c"(count) : "d"(port) : "memory");		\
	return buf;							\
}

GUEST_REP_INS(insb, "b")
GUEST_REP_INS(insw, "w")
GUEST_REP_INS(insl, "l")
GUEST_REP_OUTS(outsb, "b")
GUEST_REP_OUTS(outsw, "w")
GUEST_REP_OUTS(outsl, "l")

static inline void
cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
	    : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
	    : "a"(leaf), "c"(sub));
}

static inline uint64_t
read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t
read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t
read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t
rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void
wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
	    : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	    : "memory");
}

static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * Spins until *p == want or 2^34 TSC cycles have passed (seconds at any
 * clock rate): a bound against a device that never answers, whatever
 * the speed of the CPU running the guest, and not a timing check.
 * Returns whether *p == want.
 */
#define POLL_TSC_CYCLES (1ULL << 34)
static inline int
poll_u16(const volatile uint16_t *p, uint16_t want)
{
	uint64_t t0 = rdtsc();

	while (*p != want && rdtsc() - t0 < POLL_TSC_CYCLES)
		__asm__ volatile("pause");
	return *p == want;
}

static inline uint64_t
read_flags(void)
{
	uint64_t v;

	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline uint32_t
bswap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

static inline uint64_t
bswap64(uint64_t v)
{
	return __builtin_bswap64(v);
}

static inline uint16_t
bswap16(uint16_t v)
{
	return __builtin_bswap16(v);
}

#endif /* GUEST_IO_H */
