/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by the kernel loaders (loader.c, loader_elf.c, loader_multiboot.c,
 * loader_linux.c, loader_pvh.c) and by any other boot path: the memory map
 * the guest sees, the loader's own area in low memory, placing data in
 * guest RAM, and the CPU state at a kernel's entry.
 *
 * Guest-physical layout while a kernel is loaded:
 *
 *	0x000000 - 0x0004ff	left alone (real-mode IVT and BDA)
 *	0x000500 - 0x006fff	the loader's area: GDT at 0x500, TSS at 0x580,
 *				and for a 64-bit entry the page tables (PML4
 *				0x1000, PDPT 0x2000, four PDs 0x3000-0x6fff).
 *				No kernel segment may overlap it.  It stays RAM
 *				in the memory map: the guest owns it once it has
 *				its own GDT and page tables.
 *	0x007000 - 0x007fff	bzImage: the zero page (struct boot_params)
 *	0x008000 - 0x09fbff	bzImage: the command line (NUL-terminated)
 *	0x09fc00 - 0x0fffff	reserved (EBDA, VGA hole, BIOS area)
 *	kernel segments		anywhere else in RAM; a bzImage from 1 MiB up,
 *				with its init_size room for decompressing
 *	boot data		page aligned, above the kernel's last byte and
 *				below 4 GiB in low RAM: multiboot modules first,
 *				then one block with the boot information (or
 *				PVH's start info) and its strings.
 *	initrd (Linux)		page aligned, as high as it fits in low RAM
 *				above all of that (and below the kernel's
 *				initrd_addr_max); a bzImage that may take it
 *				above 4 GiB gets it there if low RAM is full.
 * 0x7000-0x9fbff are RAM in the memory map: the kernel copies the zero
 * page and command line before it reuses them (Linux keeps the first
 * MiB to itself anyway).
 */
#ifndef LOADER_INTERNAL_H
#define LOADER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bhyve_vm;
struct vmctx;

#define LOADER_CHECK __attribute__((warn_unused_result))

#define LOADER_PAGE 0x1000ULL
#define LOADER_4G (1ULL << 32)
#define LOADER_1M 0x100000ULL
#define LOADER_EBDA 0x9fc00ULL /* 639 KiB of base memory below it */

/*
 * The guest's memory map, as E820 describes it (ACPI 6.5, 15.1, the
 * address range types): usable RAM and reserved ranges, in address order.
 */
enum loader_e820_type {
	LOADER_E820_RAM = 1,
	LOADER_E820_RESERVED = 2,
};

struct loader_e820 {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* enum loader_e820_type */
};

#define LOADER_E820_MAX 4

/*
 * Fill 'map' (room for LOADER_E820_MAX entries) from the VM's RAM sizes:
 * RAM 0..639 KiB, reserved 639 KiB..1 MiB, RAM 1 MiB..lowmem, RAM
 * 4 GiB..4 GiB+highmem.  Returns the number of entries.
 */
int loader_e820(struct vmctx *ctx, struct loader_e820 *map);

/* The loader's area (see the layout above) and what lives there. */
#define LOADER_AREA_START 0x500ULL
#define LOADER_AREA_END 0x7000ULL
#define LOADER_GDT_ADDR 0x500ULL
#define LOADER_TSS_ADDR 0x580ULL
#define LOADER_TSS_LIMIT 0x67 /* the 104-byte 32/64-bit TSS */
#define LOADER_PML4_ADDR 0x1000ULL
#define LOADER_PDPT_ADDR 0x2000ULL
#define LOADER_PD_ADDR 0x3000ULL /* four PDs: 0 .. 4 GiB */

/* Selectors of the loader's GDT. */
#define LOADER_SEL_CODE64 0x08
#define LOADER_SEL_CODE32 0x10
#define LOADER_SEL_DATA 0x18
#define LOADER_SEL_TSS 0x20 /* 16 bytes: also a valid 64-bit TSS entry */
/* Linux's names (boot.rst): CS and DS at its 32- and 64-bit entries. */
#define LOADER_SEL_BOOT_CS 0x10
#define LOADER_SEL_BOOT_DS 0x18
#define LOADER_GDT_SIZE 0x30

/* Paging bits used by the 64-bit entry's tables (SDM vol. 3, 4.5). */
#define LOADER_PTE_P 0x1ULL
#define LOADER_PTE_RW 0x2ULL
#define LOADER_PTE_PWT 0x8ULL
#define LOADER_PTE_PCD 0x10ULL
#define LOADER_PTE_PS 0x80ULL

/* Control-register bits of the entry states. */
#define LOADER_CR0_PE 0x1ULL
#define LOADER_CR0_ET 0x10ULL
#define LOADER_CR0_PG 0x80000000ULL
#define LOADER_CR4_PAE 0x20ULL
#define LOADER_EFER_LME 0x100ULL
#define LOADER_EFER_LMA 0x400ULL

#define LOADER_MAX_SEGS 32 /* loadable segments of one kernel */

/* One loaded kernel range, [start, end). */
struct loader_seg {
	uint64_t start;
	uint64_t end;
};

/* One module for a multiboot kernel: a file and its string. */
struct loader_module {
	const char *path;
	const char *string;
};

/* Where the Linux loaders put their low boot data (layout above). */
#define LOADER_ZERO_PAGE_ADDR 0x7000ULL
#define LOADER_ZERO_PAGE_SIZE 0x1000ULL
#define LOADER_CMDLINE_ADDR 0x8000ULL

/* What the configuration asks to pass to the kernel. */
struct loader_args {
	const char *cmdline; /* NULL: none */
	/* Multiboot modules; for Linux (bzImage, PVH) mods[0] is the initrd. */
	const struct loader_module *mods;
	int nmods;
	/*
	 * The ACPI RSDP's guest address, for the Linux boot paths (zero
	 * page acpi_rsdp_addr, PVH rsdp_paddr); 0: none given, the kernel
	 * scans the BIOS area for it.
	 */
	uint64_t rsdp;
};

/* One kernel load in progress. */
struct loader {
	struct bhyve_vm *bvm;
	struct vmctx *ctx;
	const char *name;   /* the kernel's path, for messages */
	const uint8_t *img; /* the whole kernel file */
	size_t len;
	struct loader_e820 map[LOADER_E820_MAX];
	int nmap;
	struct loader_seg segs[LOADER_MAX_SEGS];
	int nsegs;
	uint64_t kernel_end; /* one past the kernel's highest byte */
	uint64_t cursor;     /* where the next boot data may go */
};

/*
 * Load the kernel image 'img' ('len' bytes, called 'name' in messages),
 * pass it 'args' and set vCPU 0 for its entry.  Everything but reading
 * the kernel file: the fuzz target calls it on its input.  Returns 0, or
 * -1 with bvm->err set.
 */
int loader_load_image(struct bhyve_vm *bvm, const char *name,
    const uint8_t *img, size_t len, const struct loader_args *args)
    LOADER_CHECK;

/*
 * Open a regular file to read; returns the fd and its size in *size, or
 * -1 with bvm->err naming 'path'.
 */
int loader_open_file(struct bhyve_vm *bvm, const char *path, uint64_t *size)
    LOADER_CHECK;
/* Read 'len' bytes from the start of 'fd': 0, -EIO if shorter, or -errno. */
int loader_read_file(int fd, void *buf, size_t len) LOADER_CHECK;

/*
 * True when the 'size' bytes at file offset 'off' are all in the file.
 * Zero bytes are anywhere: a bss-only segment's offset may be past EOF.
 */
static inline bool
loader_in_file(const struct loader *ld, uint64_t off, uint64_t size)
{
	return size == 0 || (off <= ld->len && size <= ld->len - off);
}

/* Little-endian fields of the image, read without alignment. */
static inline uint16_t
loader_rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t
loader_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
loader_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
loader_wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void
loader_wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * True when [start, end) lies inside one usable RAM range of the map.
 * The caller keeps end >= start.
 */
bool loader_in_ram(const struct loader *ld, uint64_t start, uint64_t end);

/*
 * Record the kernel range [start, start + size) after checking that it
 * lies in usable RAM below 'limit', off the loader's area and the
 * reserved hole, and overlaps no earlier segment.
 */
int loader_add_segment(struct loader *ld, uint64_t start, uint64_t size,
    uint64_t limit) LOADER_CHECK;
/* Copy 'filesz' file bytes from 'off' to 'gpa' and zero up to 'memsz'. */
int loader_copy(struct loader *ld, uint64_t gpa, uint64_t off,
    uint64_t filesz, uint64_t memsz) LOADER_CHECK;
/*
 * Find 'size' bytes of low RAM for boot data: page aligned, above the
 * kernel and everything placed before.  Returns 0 or -ENOSPC.
 */
int loader_alloc(struct loader *ld, uint64_t size, uint64_t *gpa) LOADER_CHECK;

/*
 * Entry states for vCPU 0 (both write the loader's GDT and TSS).
 * enter32: flat 32-bit protected mode, paging off, EIP = 'eip'.
 * enter64: 64-bit long mode on identity-mapped page tables, RIP = 'rip'.
 */
int loader_enter32(struct loader *ld, uint32_t eip, uint32_t eax,
    uint32_t ebx) LOADER_CHECK;
int loader_enter64(struct loader *ld, uint64_t rip) LOADER_CHECK;
/*
 * Linux boot protocol entries: enter_linux32 is enter32 with ESI = 'esi'
 * (and EAX = EBX = 0); enter_linux64 is long mode with CS = 0x10 a 64-bit
 * code segment and RSI = 'rsi'.
 */
int loader_enter_linux32(struct loader *ld, uint32_t eip, uint32_t esi)
    LOADER_CHECK;
int loader_enter_linux64(struct loader *ld, uint64_t rip, uint64_t rsi)
    LOADER_CHECK;

/* Where the initrd went; size 0: none. */
struct loader_initrd {
	uint64_t gpa;
	uint64_t size;
};

/*
 * Read the Linux initrd (args->mods[0], if any; more is an error) into
 * guest RAM: page aligned, as high as it fits below 'max_end' (exclusive)
 * in low RAM above the kernel and boot data placed so far, else, with
 * 'high_ok', as high as it fits above 4 GiB.  An empty file counts as no
 * initrd.  Returns 0, or -1 with bvm->err naming the file.
 */
int loader_load_initrd(struct loader *ld, const struct loader_args *args,
    uint64_t max_end, bool high_ok, struct loader_initrd *rd) LOADER_CHECK;

/* ELF (loader_elf.c). */

/* What loader_elf_load() found. */
struct loader_elf_info {
	bool is64;
	uint64_t entry; /* the entry point's physical address */
};

/* True when the image starts with the ELF magic. */
bool loader_is_elf(const struct loader *ld);
/*
 * Load an x86 ELF executable's PT_LOAD segments at their physical
 * addresses, all below 'limit', and find the physical entry point
 * (with 'info' NULL, do not: the caller has an entry of its own).
 */
int loader_elf_load(struct loader *ld, uint64_t limit,
    struct loader_elf_info *info) LOADER_CHECK;
/* Load and enter a plain (non-multiboot) ELF32 or ELF64 kernel. */
int loader_elf_boot(struct loader *ld, const struct loader_args *args)
    LOADER_CHECK;

/* Multiboot v1 (loader_multiboot.c). */

/*
 * Look for a multiboot header in the first 8 KiB.  Returns 1 and its
 * file offset, 0 when there is none, -1 (bvm->err set) when the only
 * candidates have a bad checksum.
 */
int loader_multiboot_probe(struct loader *ld, size_t *hdr_off) LOADER_CHECK;
/* Load the kernel whose header is at 'hdr_off', its modules, and enter. */
int loader_multiboot_boot(struct loader *ld, size_t hdr_off,
    const struct loader_args *args) LOADER_CHECK;

/* Linux bzImage through the x86 boot protocol (loader_linux.c). */

/* True when the image has a boot sector and the "HdrS" setup header. */
bool loader_linux_probe(const struct loader *ld);
/* Load a bzImage (protocol 2.10+), its initrd and zero page; enter it. */
int loader_linux_boot(struct loader *ld, const struct loader_args *args)
    LOADER_CHECK;

/* Linux vmlinux (or any ELF) through the PVH entry (loader_pvh.c). */

/*
 * Look for the XEN_ELFNOTE_PHYS32_ENTRY note in an ELF image's PT_NOTE
 * segments.  Returns 1 with the 32-bit physical entry, 0 when there is
 * none (or the ELF header is too broken to say: loader_elf_boot() then
 * names what is wrong), -1 (bvm->err set) for a malformed note.
 */
int loader_pvh_probe(struct loader *ld, uint32_t *entry) LOADER_CHECK;
/* Load the ELF, its initrd and hvm_start_info; enter at 'entry'. */
int loader_pvh_boot(struct loader *ld, uint32_t entry,
    const struct loader_args *args) LOADER_CHECK;

#endif /* LOADER_INTERNAL_H */
