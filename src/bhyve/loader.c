/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel loading: read boot.kernel, recognise its format from its bytes
 * (a multiboot v1 header wins, then a Linux bzImage, then ELF: through
 * its PVH entry note if it has one, else as a plain ELF kernel), and the
 * parts every format shares: the guest memory map, checked placement of
 * kernel segments, boot data and an initrd in guest RAM, and vCPU 0's
 * state at the kernel's entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "loader.h"
#include "loader_internal.h"

/* Larger than any kernel; stops us reading a disk image by mistake. */
#define LOADER_MAX_FILE (1ULL << 30)

#define LOADER_RFLAGS 0x2ULL /* bit 1 always reads as one; IF, VM clear */

static uint64_t
loader_align_up(uint64_t v)
{
	return (v + LOADER_PAGE - 1) & ~(LOADER_PAGE - 1);
}

static int
loader_e820_add(struct loader_e820 *map, int n, uint64_t base, uint64_t end,
    uint32_t type)
{
	if (end <= base)
		return n;
	map[n] = (struct loader_e820){ .base = base, .len = end - base,
		.type = type };
	return n + 1;
}

int
loader_e820(struct vmctx *ctx, struct loader_e820 *map)
{
	uint64_t lowmem = vm_get_lowmem_size(ctx);
	uint64_t highmem = vm_get_highmem_size(ctx);
	int n = 0;

	n = loader_e820_add(map, n, 0,
	    lowmem < LOADER_EBDA ? lowmem : LOADER_EBDA, LOADER_E820_RAM);
	/* EBDA, VGA memory and the BIOS area: a PC has no RAM to give here. */
	n = loader_e820_add(map, n, LOADER_EBDA, LOADER_1M,
	    LOADER_E820_RESERVED);
	n = loader_e820_add(map, n, LOADER_1M, lowmem, LOADER_E820_RAM);
	n = loader_e820_add(map, n, VM_HIGHMEM_BASE, VM_HIGHMEM_BASE + highmem,
	    LOADER_E820_RAM);
	return n;
}

bool
loader_in_ram(const struct loader *ld, uint64_t start, uint64_t end)
{
	for (int i = 0; i < ld->nmap; i++) {
		const struct loader_e820 *e = &ld->map[i];

		if (e->type == LOADER_E820_RAM && start >= e->base &&
		    end - e->base <= e->len)
			return true;
	}
	return false;
}

static uint64_t
loader_ram_size(const struct loader *ld)
{
	return vm_get_lowmem_size(ld->ctx) + vm_get_highmem_size(ld->ctx);
}

/* Where [start, end) may not go; messages give inclusive ranges. */
static int
loader_check_range(struct loader *ld, uint64_t start, uint64_t end,
    uint64_t limit)
{
	const char *n = ld->name;

	if (end > limit)
		return bhyve_error(ld->bvm, "%s: segment 0x%" PRIx64 "-0x%"
		    PRIx64 " is above 4 GiB, out of a 32-bit entry's reach", n,
		    start, end - 1);
	if (start < LOADER_AREA_END && end > LOADER_AREA_START)
		return bhyve_error(ld->bvm, "%s: segment 0x%" PRIx64 "-0x%"
		    PRIx64 " overlaps the loader's area 0x%llx-0x%llx", n,
		    start, end - 1, LOADER_AREA_START, LOADER_AREA_END - 1);
	if (start < LOADER_1M && end > LOADER_EBDA)
		return bhyve_error(ld->bvm, "%s: segment 0x%" PRIx64 "-0x%"
		    PRIx64 " overlaps the reserved area 0x%llx-0x%llx", n,
		    start, end - 1, LOADER_EBDA, LOADER_1M - 1);
	if (!loader_in_ram(ld, start, end))
		return bhyve_error(ld->bvm, "%s: segment 0x%" PRIx64 "-0x%"
		    PRIx64 " does not fit in guest RAM (%" PRIu64 " MiB)", n,
		    start, end - 1, loader_ram_size(ld) >> 20);
	return 0;
}

int
loader_add_segment(struct loader *ld, uint64_t start, uint64_t size,
    uint64_t limit)
{
	uint64_t end;

	if (size == 0)
		return 0;
	if (size > UINT64_MAX - start)
		return bhyve_error(ld->bvm, "%s: segment at 0x%" PRIx64
		    " of 0x%" PRIx64 " bytes wraps around", ld->name, start,
		    size);
	end = start + size;
	if (loader_check_range(ld, start, end, limit) != 0)
		return -1;
	for (int i = 0; i < ld->nsegs; i++) {
		const struct loader_seg *s = &ld->segs[i];

		if (start < s->end && end > s->start)
			return bhyve_error(ld->bvm, "%s: segments 0x%" PRIx64
			    "-0x%" PRIx64 " and 0x%" PRIx64 "-0x%" PRIx64
			    " overlap", ld->name, s->start, s->end - 1, start,
			    end - 1);
	}
	if (ld->nsegs == LOADER_MAX_SEGS)
		return bhyve_error(ld->bvm, "%s: more than %d loadable "
		    "segments", ld->name, LOADER_MAX_SEGS);
	ld->segs[ld->nsegs++] = (struct loader_seg){ .start = start,
		.end = end };
	if (end > ld->kernel_end)
		ld->kernel_end = end;
	return 0;
}

int
loader_copy(struct loader *ld, uint64_t gpa, uint64_t off, uint64_t filesz,
    uint64_t memsz)
{
	uint8_t *dst;

	if (memsz == 0)
		return 0;
	dst = vm_map_gpa(ld->ctx, gpa, memsz);
	/* Callers checked all of this; a slip must not become an overrun. */
	if (dst == NULL || filesz > memsz || !loader_in_file(ld, off, filesz))
		return bhyve_error(ld->bvm, "%s: cannot copy 0x%" PRIx64
		    " bytes to 0x%" PRIx64, ld->name, memsz, gpa);
	/* A bss-only segment's offset may lie anywhere: do not add it. */
	if (filesz != 0)
		memcpy(dst, ld->img + off, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	return 0;
}

int
loader_alloc(struct loader *ld, uint64_t size, uint64_t *gpa)
{
	uint64_t from = ld->cursor > ld->kernel_end ? ld->cursor
	    : ld->kernel_end;

	for (int i = 0; i < ld->nmap; i++) {
		const struct loader_e820 *e = &ld->map[i];
		uint64_t end = e->base + e->len;
		uint64_t start = loader_align_up(from > e->base ? from
		    : e->base);

		/* Boot data lives in low RAM, so a 32-bit kernel sees it. */
		if (e->type != LOADER_E820_RAM || end > LOADER_4G ||
		    start > end || size > end - start)
			continue;
		*gpa = start;
		ld->cursor = start + size;
		return 0;
	}
	return -ENOSPC;
}

/*
 * The highest page-aligned place for 'size' bytes of RAM in [floor, ceil).
 * The map is in address order, so the first fit from its end wins.
 */
static int
loader_alloc_top(const struct loader *ld, uint64_t size, uint64_t floor,
    uint64_t ceil, uint64_t *gpa)
{
	for (int i = ld->nmap - 1; i >= 0; i--) {
		const struct loader_e820 *e = &ld->map[i];
		uint64_t lo = e->base > floor ? e->base : floor;
		uint64_t hi = e->base + e->len < ceil ? e->base + e->len : ceil;
		uint64_t at;

		if (e->type != LOADER_E820_RAM || hi <= lo || size > hi - lo)
			continue;
		at = (hi - size) & ~(LOADER_PAGE - 1);
		if (at < lo)
			continue;
		*gpa = at;
		return 0;
	}
	return -ENOSPC;
}

/*
 * Where the initrd goes: as high as it fits below 'max_end' in low RAM,
 * above the kernel, its decompression room and any boot data placed from
 * loader_alloc(), and never below 1 MiB (Linux keeps low memory for
 * itself); failing that, with 'high_ok', as high as it fits above 4 GiB.
 */
static int
loader_place_initrd(const struct loader *ld, const char *path, uint64_t size,
    uint64_t max_end, bool high_ok, uint64_t *gpa)
{
	uint64_t floor = ld->cursor > ld->kernel_end ? ld->cursor
	    : ld->kernel_end;

	if (floor < LOADER_1M)
		floor = LOADER_1M;
	if (max_end > LOADER_4G)
		max_end = LOADER_4G;
	if (loader_alloc_top(ld, size, floor, max_end, gpa) == 0)
		return 0;
	if (high_ok && loader_alloc_top(ld, size, LOADER_4G, UINT64_MAX,
	    gpa) == 0)
		return 0;
	return bhyve_error(ld->bvm, "%s: initrd of %" PRIu64 " bytes does "
	    "not fit in guest RAM between 0x%" PRIx64 " and 0x%" PRIx64 "%s",
	    path, size, floor, max_end - 1,
	    high_ok ? " or above 4 GiB" : "");
}

/* Read all of 'fd' ('size' bytes) to guest RAM at 'gpa'. */
static int
loader_read_to_guest(struct loader *ld, const char *path, int fd,
    uint64_t gpa, uint64_t size)
{
	void *dst = vm_map_gpa(ld->ctx, gpa, size);
	int error = dst ? loader_read_file(fd, dst, size) : -EFAULT;

	if (error)
		return bhyve_error(ld->bvm, "%s: read: %s", path,
		    strerror(-error));
	return 0;
}

int
loader_load_initrd(struct loader *ld, const struct loader_args *args,
    uint64_t max_end, bool high_ok, struct loader_initrd *rd)
{
	const char *path;
	uint64_t size = 0, gpa = 0;
	int fd, error = -1;

	*rd = (struct loader_initrd){ 0 };
	if (args->nmods == 0)
		return 0;
	if (args->nmods > 1)
		return bhyve_error(ld->bvm, "%s: a Linux kernel takes one "
		    "initrd, not %d", ld->name, args->nmods);
	path = args->mods[0].path;
	fd = loader_open_file(ld->bvm, path, &size);
	if (fd < 0)
		return -1;
	/* An empty file is no initrd: Linux reads ramdisk_size 0 so. */
	if (size == 0) {
		error = 0;
		goto out;
	}
	if (loader_place_initrd(ld, path, size, max_end, high_ok, &gpa) != 0 ||
	    loader_read_to_guest(ld, path, fd, gpa, size) != 0)
		goto out;
	*rd = (struct loader_initrd){ .gpa = gpa, .size = size };
	error = 0;
out:
	close(fd);
	return error;
}

/*
 * A legacy segment descriptor (SDM vol. 3, 3.4.5) built from the hidden
 * state the vCPU gets, so the GDT and the registers always agree.
 */
static uint64_t
loader_gdt_entry(const struct seg_desc *d)
{
	uint64_t limit = d->access & SEG_ACCESS_G ? d->limit >> 12 : d->limit;

	return (limit & 0xffff) | (d->base & 0xffffff) << 16 |
	    (uint64_t)(d->access & 0xff) << 40 | (limit >> 16 & 0xf) << 48 |
	    (uint64_t)(d->access >> 12 & 0xf) << 52 |
	    (d->base >> 24 & 0xff) << 56;
}

static const struct seg_desc loader_code64 = { .base = 0,
	.limit = 0xffffffff, .access = 0xa09b }; /* G, L, P, S, code r/x */
static const struct seg_desc loader_code32 = { .base = 0,
	.limit = 0xffffffff, .access = 0xc09b }; /* G, D, P, S, code r/x */
static const struct seg_desc loader_data = { .base = 0,
	.limit = 0xffffffff, .access = 0xc093 }; /* G, B, P, S, data r/w */
/* KVM and VMX want a usable TR: a present busy TSS (type 0xb). */
static const struct seg_desc loader_tss = { .base = LOADER_TSS_ADDR,
	.limit = LOADER_TSS_LIMIT, .access = 0x8b };
static const struct seg_desc loader_ldt = { .base = 0, .limit = 0xffff,
	.access = 0x82 };

/* The parts of an entry state that differ between modes. */
struct loader_cpu {
	uint64_t rip, rax, rbx, rsi;
	uint64_t cr0, cr3, cr4, efer;
	uint16_t cs_sel;
	const struct seg_desc *cs;
	/* What GDT slot 0x10 holds; NULL: 32-bit code (loader_code32). */
	const struct seg_desc *slot10;
};

static int
loader_write_gdt(struct loader *ld, const struct loader_cpu *c)
{
	uint8_t *gdt = vm_map_gpa(ld->ctx, LOADER_GDT_ADDR, LOADER_GDT_SIZE);
	uint8_t *tss = vm_map_gpa(ld->ctx, LOADER_TSS_ADDR,
	    LOADER_TSS_LIMIT + 1);

	if (gdt == NULL || tss == NULL)
		return bhyve_error(ld->bvm, "%s: guest RAM is too small for "
		    "the loader's area 0x%llx-0x%llx", ld->name,
		    LOADER_AREA_START, LOADER_AREA_END - 1);
	memset(gdt, 0, LOADER_GDT_SIZE);
	loader_wr64(gdt + LOADER_SEL_CODE64, loader_gdt_entry(&loader_code64));
	loader_wr64(gdt + LOADER_SEL_CODE32,
	    loader_gdt_entry(c->slot10 ? c->slot10 : &loader_code32));
	loader_wr64(gdt + LOADER_SEL_DATA, loader_gdt_entry(&loader_data));
	/* The upper half of a 64-bit TSS entry holds base[63:32], here 0. */
	loader_wr64(gdt + LOADER_SEL_TSS, loader_gdt_entry(&loader_tss));
	memset(tss, 0, LOADER_TSS_LIMIT + 1);
	return 0;
}

static int
loader_set_segs(struct vcpu *vcpu, const struct loader_cpu *c)
{
	static const int data_regs[] = { VM_REG_GUEST_DS, VM_REG_GUEST_ES,
		VM_REG_GUEST_FS, VM_REG_GUEST_GS, VM_REG_GUEST_SS };
	const struct seg_desc gdtr = { .base = LOADER_GDT_ADDR,
		.limit = LOADER_GDT_SIZE - 1 };
	/* Limit 0: an exception before the kernel's own IDT shuts down. */
	const struct seg_desc idtr = { .base = 0, .limit = 0 };
	int error = 0;

	error |= vm_set_desc(vcpu, VM_REG_GUEST_CS, c->cs);
	error |= vm_set_register(vcpu, VM_REG_GUEST_CS, c->cs_sel);
	for (size_t i = 0; i < sizeof(data_regs) / sizeof(data_regs[0]); i++) {
		error |= vm_set_desc(vcpu, data_regs[i], &loader_data);
		error |= vm_set_register(vcpu, data_regs[i], LOADER_SEL_DATA);
	}
	error |= vm_set_desc(vcpu, VM_REG_GUEST_TR, &loader_tss);
	error |= vm_set_register(vcpu, VM_REG_GUEST_TR, LOADER_SEL_TSS);
	error |= vm_set_desc(vcpu, VM_REG_GUEST_LDTR, &loader_ldt);
	error |= vm_set_register(vcpu, VM_REG_GUEST_LDTR, 0);
	error |= vm_set_desc(vcpu, VM_REG_GUEST_GDTR, &gdtr);
	error |= vm_set_desc(vcpu, VM_REG_GUEST_IDTR, &idtr);
	return error ? -EINVAL : 0;
}

static int
loader_set_cpu(struct loader *ld, const struct loader_cpu *c)
{
	static const int regs[] = { VM_REG_GUEST_RAX, VM_REG_GUEST_RBX,
		VM_REG_GUEST_RSI, VM_REG_GUEST_RIP, VM_REG_GUEST_RFLAGS,
		VM_REG_GUEST_CR0, VM_REG_GUEST_CR2, VM_REG_GUEST_CR3,
		VM_REG_GUEST_CR4, VM_REG_GUEST_EFER };
	const uint64_t vals[] = { c->rax, c->rbx, c->rsi, c->rip,
		LOADER_RFLAGS, c->cr0, 0, c->cr3, c->cr4, c->efer };
	struct vcpu *vcpu = vm_vcpu_open(ld->ctx, 0);
	int error = vcpu == NULL ? -ENOENT : 0;

	_Static_assert(sizeof(regs) / sizeof(regs[0]) ==
	    sizeof(vals) / sizeof(vals[0]), "one value per register");
	if (error == 0 && loader_write_gdt(ld, c) != 0)
		return -1;
	/* Every other general register starts at zero, RSP included. */
	for (int r = VM_REG_GUEST_RAX; error == 0 && r <= VM_REG_GUEST_R15;
	    r++)
		error = vm_set_register(vcpu, r, 0);
	if (error == 0)
		error = vm_set_register_set(vcpu, sizeof(regs) /
		    sizeof(regs[0]), regs, vals);
	if (error == 0)
		error = loader_set_segs(vcpu, c);
	if (error)
		return bhyve_error(ld->bvm, "%s: cannot set vcpu 0 for the "
		    "kernel's entry: %s", ld->name, strerror(-error));
	return 0;
}

/*
 * Flat 32-bit protected mode as multiboot 0.6.96, 3.2 describes it: CS a
 * 4 GiB read/execute segment at 0 (selector 0x10), DS ES FS GS SS 4 GiB
 * read/write at 0 (0x18), CR0 = PE|ET with paging off, EFLAGS = 0x2 (IF
 * and VM clear), CR4 = EFER = 0.  The spec lets GDTR be anything: it
 * points at a GDT in the loader's area that matches the loaded segments,
 * so a kernel that reloads a segment register before its own LGDT still
 * gets the flat segments rather than a triple fault.  IDTR has limit 0.
 */
int
loader_enter32(struct loader *ld, uint32_t eip, uint32_t eax, uint32_t ebx)
{
	const struct loader_cpu c = { .rip = eip, .rax = eax, .rbx = ebx,
		.cr0 = LOADER_CR0_PE | LOADER_CR0_ET,
		.cs_sel = LOADER_SEL_CODE32,
		.cs = &loader_code32 };

	return loader_set_cpu(ld, &c);
}

/* Identity map 0..4 GiB with 2 MiB pages; the PCI hole uncached. */
static int
loader_write_page_tables(struct loader *ld)
{
	uint64_t len = LOADER_AREA_END - LOADER_PML4_ADDR;
	uint8_t *pml4 = vm_map_gpa(ld->ctx, LOADER_PML4_ADDR, len);
	uint8_t *pdpt = pml4 + (LOADER_PDPT_ADDR - LOADER_PML4_ADDR);
	uint8_t *pd = pml4 + (LOADER_PD_ADDR - LOADER_PML4_ADDR);

	if (pml4 == NULL)
		return bhyve_error(ld->bvm, "%s: guest RAM is too small for "
		    "the entry page tables", ld->name);
	memset(pml4, 0, len);
	loader_wr64(pml4, LOADER_PDPT_ADDR | LOADER_PTE_P | LOADER_PTE_RW);
	for (uint64_t i = 0; i < 4; i++)
		loader_wr64(pdpt + 8 * i, (LOADER_PD_ADDR + i * LOADER_PAGE) |
		    LOADER_PTE_P | LOADER_PTE_RW);
	for (uint64_t i = 0; i < 4 * 512; i++) {
		uint64_t gpa = i << 21;
		uint64_t pte = gpa | LOADER_PTE_P | LOADER_PTE_RW |
		    LOADER_PTE_PS;

		if (gpa >= VM_LOWMEM_LIMIT)
			pte |= LOADER_PTE_PCD | LOADER_PTE_PWT;
		loader_wr64(pd + 8 * i, pte);
	}
	return 0;
}

/*
 * The 64-bit entry contract for a plain ELF64 kernel:
 *   - long mode: CR0 = PE|ET|PG (WP clear: every page is writable, so it
 *     would change nothing), CR4 = PAE, EFER = LME|LMA;
 *   - CR3 = 0x1000: a PML4 whose first entry maps 0..4 GiB identity with
 *     2 MiB pages (PDPT 0x2000, PDs 0x3000-0x6fff); 3..4 GiB, where the
 *     PCI hole is, uncached.  Nothing above 4 GiB is mapped;
 *   - CS = 0x08 (64-bit, L=1, D=0), DS ES FS GS SS = 0x18 (flat data),
 *     TR = 0x20 (busy TSS at 0x580), GDTR = 0x500, IDTR limit 0;
 *   - RIP = the physical entry point (below 4 GiB), RFLAGS = 0x2 with
 *     interrupts off, every general register zero: RSP = 0, so the
 *     kernel sets up its own stack before it pushes anything.
 * The tables and GDT are ordinary RAM in the memory map: the kernel must
 * switch to its own before it reuses 0x500-0x6fff.
 */
int
loader_enter64(struct loader *ld, uint64_t rip)
{
	const struct loader_cpu c = { .rip = rip,
		.cr0 = LOADER_CR0_PE | LOADER_CR0_ET | LOADER_CR0_PG,
		.cr3 = LOADER_PML4_ADDR, .cr4 = LOADER_CR4_PAE,
		.efer = LOADER_EFER_LME | LOADER_EFER_LMA,
		.cs_sel = LOADER_SEL_CODE64, .cs = &loader_code64 };

	if (loader_write_page_tables(ld) != 0)
		return -1;
	return loader_set_cpu(ld, &c);
}

/*
 * The Linux boot protocol's 32-bit entry (Documentation/arch/x86/boot.rst,
 * "32-bit Boot Protocol"): flat protected mode as loader_enter32() gives
 * it, which already has what that section asks for: CS = __BOOT_CS (0x10,
 * 4 GiB execute/read), DS ES SS = __BOOT_DS (0x18, 4 GiB read/write),
 * interrupts off, EBP EDI EBX zero; and ESI = the zero page.
 */
int
loader_enter_linux32(struct loader *ld, uint32_t eip, uint32_t esi)
{
	const struct loader_cpu c = { .rip = eip, .rsi = esi,
		.cr0 = LOADER_CR0_PE | LOADER_CR0_ET,
		.cs_sel = LOADER_SEL_BOOT_CS,
		.cs = &loader_code32 };

	return loader_set_cpu(ld, &c);
}

/*
 * The Linux boot protocol's 64-bit entry (boot.rst, "64-bit Boot
 * Protocol"): long mode on loader_enter64()'s identity tables (0..4 GiB,
 * which covers the kernel with its init_size, the zero page and the
 * command line), interrupts off, RSI = the zero page.  The section asks
 * for CS = __BOOT_CS (0x10) and DS ES SS = __BOOT_DS (0x18), flat: in
 * long mode CS must be a 64-bit segment, so for this entry GDT slot 0x10
 * holds 64-bit code (L=1) instead of the 32-bit code it holds for the
 * other entries; slot 0x08 stays 64-bit code, 0x18 flat data.
 */
int
loader_enter_linux64(struct loader *ld, uint64_t rip, uint64_t rsi)
{
	const struct loader_cpu c = { .rip = rip, .rsi = rsi,
		.cr0 = LOADER_CR0_PE | LOADER_CR0_ET | LOADER_CR0_PG,
		.cr3 = LOADER_PML4_ADDR, .cr4 = LOADER_CR4_PAE,
		.efer = LOADER_EFER_LME | LOADER_EFER_LMA,
		.cs_sel = LOADER_SEL_BOOT_CS, .cs = &loader_code64,
		.slot10 = &loader_code64 };

	if (loader_write_page_tables(ld) != 0)
		return -1;
	return loader_set_cpu(ld, &c);
}

/* An ELF kernel: through its PVH entry note if it has one. */
static int
loader_boot_elf(struct loader *ld, const struct loader_args *args)
{
	uint32_t entry = 0;
	int found = loader_pvh_probe(ld, &entry);

	if (found < 0)
		return -1;
	if (found)
		return loader_pvh_boot(ld, entry, args);
	return loader_elf_boot(ld, args);
}

int
loader_load_image(struct bhyve_vm *bvm, const char *name, const uint8_t *img,
    size_t len, const struct loader_args *args)
{
	struct loader ld = { .bvm = bvm, .ctx = bvm->ctx, .name = name,
		.img = img, .len = len, .cursor = LOADER_AREA_END };
	size_t hdr_off;
	int found;

	ld.nmap = loader_e820(bvm->ctx, ld.map);
	found = loader_multiboot_probe(&ld, &hdr_off);
	if (found < 0)
		return -1;
	if (found)
		return loader_multiboot_boot(&ld, hdr_off, args);
	if (loader_linux_probe(&ld))
		return loader_linux_boot(&ld, args);
	if (loader_is_elf(&ld))
		return loader_boot_elf(&ld, args);
	return bhyve_error(bvm, "%s: not a multiboot or ELF kernel", name);
}

int
loader_open_file(struct bhyve_vm *bvm, const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return bhyve_error(bvm, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		bhyve_error(bvm, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		bhyve_error(bvm, "%s: not a regular file", path);
		goto fail;
	}
	*size = (uint64_t)st.st_size;
	return fd;
fail:
	close(fd);
	return -1;
}

int
loader_read_file(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done,
		    (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		done += (size_t)n;
	}
	return 0;
}

static int
loader_read_kernel(struct bhyve_vm *bvm, const char *path, uint8_t **img,
    size_t *len)
{
	uint64_t size;
	int fd = loader_open_file(bvm, path, &size);
	int error = -1;

	if (fd < 0)
		return -1;
	if (size > LOADER_MAX_FILE) {
		bhyve_error(bvm, "%s: %" PRIu64 " bytes is too large for a "
		    "kernel", path, size);
		goto out;
	}
	*img = malloc(size ? size : 1);
	if (*img == NULL) {
		bhyve_error(bvm, "%s: out of memory", path);
		goto out;
	}
	error = loader_read_file(fd, *img, size);
	if (error) {
		bhyve_error(bvm, "%s: read: %s", path, strerror(-error));
		free(*img);
		error = -1;
		goto out;
	}
	*len = size;
out:
	close(fd);
	return error;
}

/* A config value; "" counts as unset, and a bad %(var) is an error. */
static int
loader_config(struct bhyve_vm *bvm, const char *key, const char **val)
{
	errno = 0;
	*val = config_get(bvm->cfg, key);
	if (*val == NULL && errno == EINVAL)
		return bhyve_error(bvm, "invalid %s", key);
	if (*val != NULL && **val == '\0')
		*val = NULL;
	return 0;
}

int
bhyve_load_kernel(struct bhyve_vm *bvm)
{
	const char *kernel, *initrd, *cmdline, *bootrom;
	struct loader_module mod = { 0 };
	struct loader_args args = { .mods = &mod, .rsdp = bvm->rsdp };
	uint8_t *img;
	size_t len;
	int error;

	if (loader_config(bvm, "lpc.bootrom", &bootrom) != 0 ||
	    loader_config(bvm, "boot.kernel", &kernel) != 0 ||
	    loader_config(bvm, "boot.initrd", &initrd) != 0 ||
	    loader_config(bvm, "boot.cmdline", &cmdline) != 0)
		return -1;
	if (bootrom != NULL)
		return 0; /* the firmware loads what it boots */
	if (kernel == NULL)
		return bhyve_error(bvm, "nothing to boot: set boot.kernel "
		    "(or lpc.bootrom)");
	if (initrd != NULL) {
		/* Its string is its path, as GRUB legacy and QEMU give it. */
		mod = (struct loader_module){ .path = initrd,
			.string = initrd };
		args.nmods = 1;
	}
	args.cmdline = cmdline;
	if (loader_read_kernel(bvm, kernel, &img, &len) != 0)
		return -1;
	error = loader_load_image(bvm, kernel, img, len, &args);
	free(img);
	return error;
}
