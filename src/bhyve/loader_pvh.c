/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ELF kernels with a PVH entry: Xen's x86/HVM direct boot ABI, which
 * Linux's vmlinux (CONFIG_PVH), FreeBSD and others implement.  The kernel
 * names a 32-bit physical entry point in an ELF note (name "Xen", type
 * XEN_ELFNOTE_PHYS32_ENTRY = 18, Xen's public/elfnote.h), is loaded from
 * its PT_LOAD segments by physical address like any ELF kernel, and is
 * entered in flat 32-bit protected mode with paging off and EBX pointing
 * at a struct hvm_start_info (Xen's public/arch-x86/hvm/start_info.h,
 * version 1: with the memory map).
 *
 * The start info, module list, memory map and command line are one block
 * right above the kernel (loader_alloc()): Linux reads the module list and
 * memory map through its early page tables, which map only the first GiB,
 * and a kernel sits well below that.  The initrd is module 0, as high in
 * low RAM as it fits.  The command line is at most PVH_CMDLINE_MAX bytes:
 * the start info has no size field, and Linux copies at most
 * COMMAND_LINE_SIZE (2048) bytes, NUL included.
 */
#include <elf.h>
#include <inttypes.h>

#include "bhyverun.h"
#include "loader_internal.h"

#define PVH_NOTE_NAME "Xen"	/* with its NUL: namesz 4 */
#define PVH_NOTE_PHYS32_ENTRY 18
#define PVH_NOTE_HDR 12		/* namesz, descsz, type */
#define PVH_CMDLINE_MAX 2047

#define PVH_START_MAGIC 0x336ec578u /* "xEn3" with 0x80 in the "E" */
#define PVH_START_VERSION 1

/* struct hvm_start_info, 56 bytes. */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_FLAGS 8
#define SI_NR_MODULES 12
#define SI_MODLIST_PADDR 16
#define SI_CMDLINE_PADDR 24
#define SI_RSDP_PADDR 32
#define SI_MEMMAP_PADDR 40
#define SI_MEMMAP_ENTRIES 48
#define SI_SIZE 56
/* struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved. */
#define MOD_SIZE 32
/* struct hvm_memmap_table_entry: addr, size, type, reserved. */
#define MMAP_SIZE 24

/* The block's layout: start info, one module, the map, the string. */
#define PVH_MODLIST_AT 64
#define PVH_MEMMAP_AT (PVH_MODLIST_AT + MOD_SIZE)
#define PVH_CMDLINE_AT (PVH_MEMMAP_AT + LOADER_E820_MAX * MMAP_SIZE)

/* The parts of the ELF header the note search needs. */
struct pvh_elf {
	bool is64;
	uint64_t phoff;
	uint16_t phentsize;
	uint16_t phnum;
};

/* A PT_NOTE program header. */
struct pvh_phdr {
	uint32_t type;
	uint64_t offset;
	uint64_t filesz;
	uint64_t align;
};

/*
 * Just enough of the header to find the program headers.  Anything odd
 * makes it say "no note": loader_elf_boot() then reports the problem in
 * its own words.
 */
static bool
pvh_read_ehdr(const struct loader *ld, struct pvh_elf *eh)
{
	const uint8_t *id = ld->img;
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;

	if (ld->len < sizeof(e32) || id[EI_DATA] != ELFDATA2LSB)
		return false;
	if (id[EI_CLASS] == ELFCLASS64 && ld->len >= sizeof(e64)) {
		memcpy(&e64, id, sizeof(e64));
		*eh = (struct pvh_elf){ .is64 = true, .phoff = e64.e_phoff,
			.phentsize = e64.e_phentsize, .phnum = e64.e_phnum };
	} else if (id[EI_CLASS] == ELFCLASS32) {
		memcpy(&e32, id, sizeof(e32));
		*eh = (struct pvh_elf){ .is64 = false, .phoff = e32.e_phoff,
			.phentsize = e32.e_phentsize, .phnum = e32.e_phnum };
	} else {
		return false;
	}
	if (eh->phentsize < (eh->is64 ? sizeof(Elf64_Phdr)
	    : sizeof(Elf32_Phdr)))
		return false;
	return loader_in_file(ld, eh->phoff,
	    (uint64_t)eh->phnum * eh->phentsize);
}

static void
pvh_read_phdr(const struct loader *ld, const struct pvh_elf *eh, int i,
    struct pvh_phdr *ph)
{
	const uint8_t *p = ld->img + eh->phoff + (uint64_t)i * eh->phentsize;

	if (eh->is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct pvh_phdr){ .type = h.p_type,
			.offset = h.p_offset, .filesz = h.p_filesz,
			.align = h.p_align };
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct pvh_phdr){ .type = h.p_type,
			.offset = h.p_offset, .filesz = h.p_filesz,
			.align = h.p_align };
	}
}

/* The note's value: "numeric types are either 4 or 8 bytes" (elfnote.h). */
static int
pvh_note_entry(struct loader *ld, const uint8_t *desc, uint32_t descsz,
    uint32_t *entry)
{
	uint64_t v;

	if (descsz != 4 && descsz != 8)
		return bhyve_error(ld->bvm, "%s: PVH entry note has a %u-byte "
		    "value (4 or 8 expected)", ld->name, descsz);
	v = descsz == 4 ? loader_rd32(desc) : loader_rd64(desc);
	if (v >= LOADER_4G)
		return bhyve_error(ld->bvm, "%s: PVH entry 0x%" PRIx64 " is "
		    "not a 32-bit physical address", ld->name, v);
	*entry = (uint32_t)v;
	return 1;
}

/*
 * Walk the notes of one PT_NOTE segment (System V gABI, "Note Section"):
 * each a 12-byte header, the name and the value, each padded to the
 * segment's alignment (4, or 8 where the segment says so).
 */
static int
pvh_scan_notes(struct loader *ld, const struct pvh_phdr *ph, uint32_t *entry)
{
	uint64_t pad = ph->align == 8 ? 8 : 4;
	uint64_t pos = 0;

	while (ph->filesz - pos >= PVH_NOTE_HDR) {
		const uint8_t *n = ld->img + ph->offset + pos;
		uint64_t namesz = loader_rd32(n), descsz = loader_rd32(n + 4);
		uint64_t name_len = (namesz + pad - 1) & ~(pad - 1);
		uint64_t desc_len = (descsz + pad - 1) & ~(pad - 1);
		uint64_t rest = ph->filesz - pos - PVH_NOTE_HDR;

		if (name_len > rest || descsz > rest - name_len)
			return bhyve_error(ld->bvm, "%s: malformed ELF note at "
			    "file offset 0x%" PRIx64 ": its name or value runs "
			    "past its segment", ld->name, ph->offset + pos);
		if (loader_rd32(n + 8) == PVH_NOTE_PHYS32_ENTRY &&
		    namesz == sizeof(PVH_NOTE_NAME) &&
		    memcmp(n + PVH_NOTE_HDR, PVH_NOTE_NAME, namesz) == 0)
			return pvh_note_entry(ld, n + PVH_NOTE_HDR + name_len,
			    (uint32_t)descsz, entry);
		/* The last note's padding may be missing. */
		if (desc_len > rest - name_len)
			break;
		pos += PVH_NOTE_HDR + name_len + desc_len;
	}
	return 0;
}

int
loader_pvh_probe(struct loader *ld, uint32_t *entry)
{
	struct pvh_elf eh;
	struct pvh_phdr ph;
	int found = 0;

	if (!pvh_read_ehdr(ld, &eh))
		return 0;
	for (int i = 0; found == 0 && i < eh.phnum; i++) {
		pvh_read_phdr(ld, &eh, i, &ph);
		if (ph.type != PT_NOTE)
			continue;
		if (!loader_in_file(ld, ph.offset, ph.filesz))
			return bhyve_error(ld->bvm, "%s: truncated ELF file: "
			    "note segment %d (0x%" PRIx64 "+0x%" PRIx64 ") is "
			    "past the end (0x%zx bytes)", ld->name, i,
			    ph.offset, ph.filesz, ld->len);
		found = pvh_scan_notes(ld, &ph, entry);
	}
	return found;
}

/* The entry must be in bytes that were loaded. */
static bool
pvh_entry_loaded(const struct loader *ld, uint32_t entry)
{
	for (int i = 0; i < ld->nsegs; i++)
		if (entry >= ld->segs[i].start && entry < ld->segs[i].end)
			return true;
	return false;
}

static void
pvh_fill_memmap(const struct loader *ld, uint8_t *b, uint64_t gpa)
{
	for (int i = 0; i < ld->nmap; i++) {
		uint8_t *e = b + PVH_MEMMAP_AT + (size_t)i * MMAP_SIZE;

		loader_wr64(e, ld->map[i].base);
		loader_wr64(e + 8, ld->map[i].len);
		loader_wr32(e + 16, ld->map[i].type); /* E820 numbering */
	}
	loader_wr64(b + SI_MEMMAP_PADDR, gpa + PVH_MEMMAP_AT);
	loader_wr32(b + SI_MEMMAP_ENTRIES, (uint32_t)ld->nmap);
}

/* Fill the block at 'gpa' ('b' in the host); 0 fields mean "none". */
static void
pvh_fill_info(const struct loader *ld, uint8_t *b, uint64_t gpa,
    const struct loader_args *args, const struct loader_initrd *rd,
    size_t cmdlen)
{
	loader_wr32(b + SI_MAGIC, PVH_START_MAGIC);
	loader_wr32(b + SI_VERSION, PVH_START_VERSION);
	if (rd->size != 0) {
		loader_wr32(b + SI_NR_MODULES, 1);
		loader_wr64(b + SI_MODLIST_PADDR, gpa + PVH_MODLIST_AT);
		loader_wr64(b + PVH_MODLIST_AT, rd->gpa);
		loader_wr64(b + PVH_MODLIST_AT + 8, rd->size);
	}
	if (cmdlen != 0)
		memcpy(b + PVH_CMDLINE_AT, args->cmdline, cmdlen);
	b[PVH_CMDLINE_AT + cmdlen] = '\0';
	loader_wr64(b + SI_CMDLINE_PADDR, gpa + PVH_CMDLINE_AT);
	loader_wr64(b + SI_RSDP_PADDR, args->rsdp);
	pvh_fill_memmap(ld, b, gpa);
}

int
loader_pvh_boot(struct loader *ld, uint32_t entry,
    const struct loader_args *args)
{
	struct loader_initrd rd;
	size_t cmdlen = args->cmdline ? strlen(args->cmdline) : 0;
	size_t size = PVH_CMDLINE_AT + cmdlen + 1;
	uint64_t gpa;
	uint8_t *b;

	_Static_assert(SI_SIZE <= PVH_MODLIST_AT, "start info fits");
	if (cmdlen > PVH_CMDLINE_MAX)
		return bhyve_error(ld->bvm, "%s: boot.cmdline of %zu bytes is "
		    "longer than the %d a PVH kernel takes", ld->name, cmdlen,
		    PVH_CMDLINE_MAX);
	/*
	 * Entered with paging off: everything must be below 4 GiB.  The note
	 * is the entry; e_entry is not looked at (Linux's is physical).
	 */
	if (loader_elf_load(ld, LOADER_4G, NULL) != 0)
		return -1;
	if (!pvh_entry_loaded(ld, entry))
		return bhyve_error(ld->bvm, "%s: PVH entry 0x%x is not in a "
		    "loaded segment", ld->name, entry);
	if (loader_alloc(ld, size, &gpa) != 0 ||
	    (b = vm_map_gpa(ld->ctx, gpa, size)) == NULL)
		return bhyve_error(ld->bvm, "%s: no room in low guest RAM for "
		    "the PVH start info (%zu bytes)", ld->name, size);
	if (loader_load_initrd(ld, args, vm_get_lowmem_size(ld->ctx), false,
	    &rd) != 0)
		return -1;
	memset(b, 0, size);
	pvh_fill_info(ld, b, gpa, args, &rd, cmdlen);
	return loader_enter32(ld, entry, 0, (uint32_t)gpa);
}
