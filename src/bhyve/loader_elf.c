/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ELF kernels: an x86 ELF32 or ELF64 executable's PT_LOAD segments are
 * copied to their physical addresses (p_paddr), the rest of each segment
 * zeroed.  Used by the multiboot loader for ELF images and on its own for
 * plain ELF kernels, which are entered at their entry point in flat 32-bit
 * protected mode (ELF32) or 64-bit long mode (ELF64).
 *
 * Every offset and size comes from the file, so each is checked against
 * the file's length (and sums against wrapping) before it is used.
 */
#include <elf.h>
#include <inttypes.h>

#include "bhyverun.h"
#include "loader_internal.h"

/* The ELF header fields we use, from either class. */
struct elf_hdr {
	bool is64;
	uint64_t entry;
	uint64_t phoff;
	uint16_t phentsize;
	uint16_t phnum;
};

/* A program header, from either class. */
struct elf_phdr {
	uint32_t type;
	uint64_t offset;
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

bool
loader_is_elf(const struct loader *ld)
{
	return ld->len >= SELFMAG && memcmp(ld->img, ELFMAG, SELFMAG) == 0;
}

static void
elf_hdr32(const uint8_t *p, struct elf_hdr *eh, uint16_t *machine,
    uint16_t *type)
{
	Elf32_Ehdr e;

	memcpy(&e, p, sizeof(e));
	*eh = (struct elf_hdr){ .is64 = false, .entry = e.e_entry,
		.phoff = e.e_phoff, .phentsize = e.e_phentsize,
		.phnum = e.e_phnum };
	*machine = e.e_machine;
	*type = e.e_type;
}

static void
elf_hdr64(const uint8_t *p, struct elf_hdr *eh, uint16_t *machine,
    uint16_t *type)
{
	Elf64_Ehdr e;

	memcpy(&e, p, sizeof(e));
	*eh = (struct elf_hdr){ .is64 = true, .entry = e.e_entry,
		.phoff = e.e_phoff, .phentsize = e.e_phentsize,
		.phnum = e.e_phnum };
	*machine = e.e_machine;
	*type = e.e_type;
}

/* The identification bytes: class, byte order, version. */
static int
elf_check_ident(struct loader *ld, bool *is64)
{
	const uint8_t *id = ld->img;
	size_t need;

	if (ld->len < EI_NIDENT)
		return bhyve_error(ld->bvm, "%s: truncated ELF header",
		    ld->name);
	if (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64)
		return bhyve_error(ld->bvm, "%s: unknown ELF class %u",
		    ld->name, id[EI_CLASS]);
	*is64 = id[EI_CLASS] == ELFCLASS64;
	need = *is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (ld->len < need)
		return bhyve_error(ld->bvm, "%s: truncated ELF header (%zu of "
		    "%zu bytes)", ld->name, ld->len, need);
	if (id[EI_DATA] != ELFDATA2LSB || id[EI_VERSION] != EV_CURRENT)
		return bhyve_error(ld->bvm, "%s: not a little-endian ELF "
		    "version 1 file", ld->name);
	return 0;
}

static int
elf_read_header(struct loader *ld, struct elf_hdr *eh)
{
	uint16_t machine, type;
	bool is64 = false;

	if (elf_check_ident(ld, &is64) != 0)
		return -1;
	if (is64)
		elf_hdr64(ld->img, eh, &machine, &type);
	else
		elf_hdr32(ld->img, eh, &machine, &type);
	if (machine != (is64 ? EM_X86_64 : EM_386))
		return bhyve_error(ld->bvm, "%s: ELF%d machine %u is not x86",
		    ld->name, is64 ? 64 : 32, machine);
	if (type != ET_EXEC && type != ET_DYN)
		return bhyve_error(ld->bvm, "%s: ELF type %u is not an "
		    "executable", ld->name, type);
	if (eh->phnum == 0)
		return bhyve_error(ld->bvm, "%s: ELF file has no program "
		    "headers", ld->name);
	if (eh->phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return bhyve_error(ld->bvm, "%s: bad ELF program header size "
		    "%u", ld->name, eh->phentsize);
	if (!loader_in_file(ld, eh->phoff,
	    (uint64_t)eh->phnum * eh->phentsize))
		return bhyve_error(ld->bvm, "%s: truncated ELF file: program "
		    "headers past the end", ld->name);
	return 0;
}

/* Program header 'i', whose bytes elf_read_header() found in the file. */
static void
elf_read_phdr(const struct loader *ld, const struct elf_hdr *eh, int i,
    struct elf_phdr *ph)
{
	const uint8_t *p = ld->img + eh->phoff + (uint64_t)i * eh->phentsize;

	if (eh->is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr){ .type = h.p_type, .offset = h.p_offset,
			.vaddr = h.p_vaddr, .paddr = h.p_paddr,
			.filesz = h.p_filesz, .memsz = h.p_memsz };
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr){ .type = h.p_type, .offset = h.p_offset,
			.vaddr = h.p_vaddr, .paddr = h.p_paddr,
			.filesz = h.p_filesz, .memsz = h.p_memsz };
	}
}

static bool
elf_loadable(const struct elf_phdr *ph)
{
	return ph->type == PT_LOAD && (ph->memsz != 0 || ph->filesz != 0);
}

/* Check one PT_LOAD segment against the file and guest RAM. */
static int
elf_check_segment(struct loader *ld, int i, const struct elf_phdr *ph,
    uint64_t limit)
{
	if (ph->filesz > ph->memsz)
		return bhyve_error(ld->bvm, "%s: ELF segment %d has more file "
		    "bytes (0x%" PRIx64 ") than memory bytes (0x%" PRIx64 ")",
		    ld->name, i, ph->filesz, ph->memsz);
	if (!loader_in_file(ld, ph->offset, ph->filesz))
		return bhyve_error(ld->bvm, "%s: truncated ELF file: segment "
		    "%d data 0x%" PRIx64 "+0x%" PRIx64 " is past the end "
		    "(0x%zx bytes)", ld->name, i, ph->offset, ph->filesz,
		    ld->len);
	return loader_add_segment(ld, ph->paddr, ph->memsz, limit);
}

/*
 * The entry point is a virtual address: like GRUB, run it at the
 * physical address of the same byte, found through the segment that
 * loads it.  Failing that, a kernel whose e_entry is already physical
 * (Linux's vmlinux) runs there.  It must point at bytes that came from
 * the file.
 */
static int
elf_find_entry(struct loader *ld, const struct elf_hdr *eh, uint64_t *entry)
{
	struct elf_phdr ph;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < eh->phnum; i++) {
			uint64_t base;

			elf_read_phdr(ld, eh, i, &ph);
			base = pass == 0 ? ph.vaddr : ph.paddr;
			if (ph.type == PT_LOAD && eh->entry >= base &&
			    eh->entry - base < ph.filesz) {
				*entry = ph.paddr + (eh->entry - base);
				return 0;
			}
		}
	}
	return bhyve_error(ld->bvm, "%s: entry point 0x%" PRIx64 " is not in "
	    "a loaded segment", ld->name, eh->entry);
}

int
loader_elf_load(struct loader *ld, uint64_t limit,
    struct loader_elf_info *info)
{
	struct elf_hdr eh;
	struct elf_phdr ph;

	if (elf_read_header(ld, &eh) != 0)
		return -1;
	if (!eh.is64 && limit > LOADER_4G)
		limit = LOADER_4G;
	/* Check every segment before the first byte is written. */
	for (int i = 0; i < eh.phnum; i++) {
		elf_read_phdr(ld, &eh, i, &ph);
		if (elf_loadable(&ph) && elf_check_segment(ld, i, &ph,
		    limit) != 0)
			return -1;
	}
	if (ld->nsegs == 0)
		return bhyve_error(ld->bvm, "%s: ELF file has no loadable "
		    "segment", ld->name);
	for (int i = 0; i < eh.phnum; i++) {
		elf_read_phdr(ld, &eh, i, &ph);
		if (elf_loadable(&ph) && loader_copy(ld, ph.paddr, ph.offset,
		    ph.filesz, ph.memsz) != 0)
			return -1;
	}
	if (info == NULL)
		return 0;
	info->is64 = eh.is64;
	return elf_find_entry(ld, &eh, &info->entry);
}

int
loader_elf_boot(struct loader *ld, const struct loader_args *args)
{
	struct loader_elf_info info;

	/* Only multiboot says where a kernel finds these. */
	if (args->nmods > 0 || args->cmdline != NULL)
		return bhyve_error(ld->bvm, "%s: a plain ELF kernel takes no "
		    "boot.cmdline or boot.initrd (no multiboot header)",
		    ld->name);
	if (loader_elf_load(ld, UINT64_MAX, &info) != 0)
		return -1;
	if (!info.is64)
		return loader_enter32(ld, (uint32_t)info.entry, 0, 0);
	if (info.entry >= LOADER_4G)
		return bhyve_error(ld->bvm, "%s: entry point 0x%" PRIx64
		    " is above the 4 GiB the entry page tables map", ld->name,
		    info.entry);
	return loader_enter64(ld, info.entry);
}
