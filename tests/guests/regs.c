/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The machine state a multiboot loader promises at entry (Multiboot
 * 0.6.96, 3.2): EAX magic, EBX the MBI, CR0.PE=1 and PG=0, EFLAGS.IF=0
 * and VM=0, and CS/DS/ES/FS/GS/SS flat 4 GiB segments, CS read/execute,
 * the others read/write.  The spec lets the GDTR be stale; ours reads the
 * descriptors from it, as every real loader (GRUB, QEMU) leaves a valid
 * one, and the guest test is where ours must prove it does too.
 */
#include "guest.h"

#define CR0_PE		(1u << 0)
#define CR0_PG		(1u << 31)
#define EFLAGS_IF	(1u << 9)
#define EFLAGS_VM	(1u << 17)

/* Descriptor bits (SDM vol. 3A 3.4.5) in the high dword. */
#define DESC_TYPE_CODE	(1u << 11)
#define DESC_TYPE_RW	(1u << 9)	/* readable code / writable data */
#define DESC_S		(1u << 12)
#define DESC_P		(1u << 15)
#define DESC_DB		(1u << 22)
#define DESC_G		(1u << 23)
#define DESC_DPL(hi)	(((hi) >> 13) & 3)

extern const char entry_eip_probe[];
extern const char _end[];

static const char *const seg_names[SEG_COUNT] = {
	"cs", "ds", "es", "fs", "gs", "ss"
};

/* Something the ELF loader must have zeroed (p_memsz > p_filesz). */
static volatile uint64_t bss_words[64];

static uint32_t
desc_base(uint32_t lo, uint32_t hi)
{
	return (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
}

static uint32_t
desc_limit(uint32_t lo, uint32_t hi)
{
	uint32_t limit = (lo & 0xffff) | (hi & 0x000f0000);

	return (hi & DESC_G) ? (limit << 12) | 0xfff : limit;
}

static void
check_segment(const struct boot_entry *be, int i)
{
	uint16_t sel = be->sel[i];
	const uint32_t *gdt = (const uint32_t *)(uint64_t)be->gdt_base;
	uint32_t lo, hi;
	bool code = i == SEG_CS;

	printf("%s=0x%04x", seg_names[i], sel);
	/* A GDT selector (TI=0), not null, inside the GDT limit. */
	if (!CHECK((sel & 4) == 0 && (sel & ~7u) != 0) ||
	    !CHECK((uint32_t)(sel | 7) <= be->gdt_limit)) {
		printf("\n");
		return;
	}
	lo = gdt[(sel >> 3) * 2];
	hi = gdt[(sel >> 3) * 2 + 1];
	printf(" base=0x%x limit=0x%x access=0x%x\n", desc_base(lo, hi),
	    desc_limit(lo, hi), (hi >> 8) & 0xf0ff);
	CHECK_EQ(desc_base(lo, hi), 0);
	CHECK_EQ(desc_limit(lo, hi), 0xffffffff);
	CHECK(hi & DESC_P);
	CHECK(hi & DESC_S);
	CHECK(hi & DESC_DB);
	CHECK_EQ(DESC_DPL(hi), 0);
	CHECK_EQ(!!(hi & DESC_TYPE_CODE), code);
	CHECK(hi & DESC_TYPE_RW);
	CHECK_EQ(sel & 3, 0);
}

static void
check_mbi(const struct boot_entry *be, const struct mb_info *mbi)
{
	CHECK_EQ(be->eax, MB_BOOTLOADER_MAGIC);
	if (!CHECK(mbi != NULL))
		return;
	printf("mbi at 0x%x flags 0x%x\n", be->ebx, mbi->flags);
	/* The MBI must be in RAM, below 4 GiB, not inside our image. */
	CHECK(be->ebx >= 0x1000);
	CHECK(be->ebx + sizeof(*mbi) <= 0x100000 ||
	    be->ebx >= (uint64_t)_end);
	CHECK_EQ(mbi->flags & ~MBI_FLAGS_KNOWN, 0);
	/* Header bit 1 asked for memory info; a.out and ELF syms exclude. */
	CHECK(mbi->flags & MBI_FLAG_MEM);
	CHECK(mbi->flags & MBI_FLAG_MMAP);
	CHECK((mbi->flags & (MBI_FLAG_AOUT_SYMS | MBI_FLAG_ELF_SHDR)) !=
	    (MBI_FLAG_AOUT_SYMS | MBI_FLAG_ELF_SHDR));
	CHECK(mbi->flags & MBI_FLAG_CMDLINE);
	if (mbi->flags & MBI_FLAG_MMAP)
		CHECK(mb_is_ram(mbi, be->ebx, sizeof(*mbi)));
}

int
guest_main(struct boot_info *bi)
{
	const struct boot_entry *be = bi->entry;
	uint64_t nonzero = 0;

	printf("eax=0x%x ebx=0x%x cr0=0x%x cr4=0x%x eflags=0x%x\n", be->eax,
	    be->ebx, be->cr0, be->cr4, be->eflags);
	check_mbi(be, bi->mbi);
	CHECK(be->cr0 & CR0_PE);
	CHECK((be->cr0 & CR0_PG) == 0);
	CHECK((be->eflags & EFLAGS_IF) == 0);
	CHECK((be->eflags & EFLAGS_VM) == 0);
	/* call/pop saw the link address: CS base really is 0. */
	CHECK_EQ(be->eip, (uint64_t)entry_eip_probe);
	printf("gdt base=0x%x limit=0x%x\n", be->gdt_base, be->gdt_limit);
	CHECK(be->gdt_limit >= 15 && be->gdt_limit < 0x10000);
	for (int i = 0; i < SEG_COUNT; i++)
		check_segment(be, i);
	for (size_t i = 0; i < sizeof(bss_words) / sizeof(bss_words[0]); i++)
		nonzero |= bss_words[i];
	CHECK_EQ(nonzero, 0);
	return guest_finish("regs");
}
