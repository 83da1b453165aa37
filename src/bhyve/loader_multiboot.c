/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Multiboot v1 kernels (Multiboot Specification 0.6.96): the header in
 * the first 8 KiB, the kernel loaded from its ELF program headers or from
 * the header's address fields (the "a.out kludge"), the modules, and the
 * boot information structure, handed over in EBX with EAX = 0x2BADB002.
 *
 * Choices where the spec leaves room follow GRUB 2:
 *   - the address fields (flag 16) win over an ELF header when both exist;
 *   - the command line is boot.cmdline alone, without the kernel's path
 *     in front (GRUB legacy and QEMU prepend it; GRUB 2 does not);
 *   - the entry point must lie in bytes loaded from the file;
 *   - the video flag (2) is accepted and no video mode is set.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "bhyverun.h"
#include "loader_internal.h"

#define MB_SEARCH 8192		/* 3.1.1: the header is in the first 8 KiB */
#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_HEADER_MIN 12	/* magic, flags, checksum */
#define MB_HEADER_AOUT 32	/* ... and the five address fields */

/* Header flags (3.1.2).  Bits 0-15 are ones a loader must understand. */
#define MB_HDR_PAGE_ALIGN (1u << 0)
#define MB_HDR_MEMORY_INFO (1u << 1)
#define MB_HDR_VIDEO_MODE (1u << 2)
#define MB_HDR_AOUT_KLUDGE (1u << 16)
#define MB_HDR_REQUIRED 0x0000ffffu
#define MB_HDR_KNOWN \
	(MB_HDR_PAGE_ALIGN | MB_HDR_MEMORY_INFO | MB_HDR_VIDEO_MODE)

/* Boot information flags (3.3) for the fields we fill. */
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MEM_MAP (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

/* Boot information field offsets (3.3); the structure is 116 bytes. */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_LOADER_NAME 64
#define MBI_SIZE 116
#define MB_MOD_SIZE 16	/* mod_start, mod_end, string, reserved */
#define MB_MMAP_SIZE 24 /* size (= 20, not counting itself), addr, len, type */

#define MB_LOADER_NAME "bhyve"

struct mb_header {
	size_t off; /* in the file */
	uint32_t flags;
	/* Valid with MB_HDR_AOUT_KLUDGE. */
	uint32_t header_addr;
	uint32_t load_addr;
	uint32_t load_end_addr;
	uint32_t bss_end_addr;
	uint32_t entry_addr;
};

/* Where a module went. */
struct mb_mod {
	uint64_t start;
	uint64_t size;
};

/*
 * Like GRUB, take the first 4-byte aligned magic whose checksum holds;
 * a magic with a bad checksum is only an error if no header is valid.
 */
int
loader_multiboot_probe(struct loader *ld, size_t *hdr_off)
{
	size_t end = ld->len < MB_SEARCH ? ld->len : MB_SEARCH;
	size_t bad = SIZE_MAX;

	for (size_t off = 0; off + 4 <= end; off += 4) {
		const uint8_t *p = ld->img + off;

		if (loader_rd32(p) != MB_HEADER_MAGIC)
			continue;
		if (off + MB_HEADER_MIN > end) {
			bad = bad == SIZE_MAX ? off : bad;
			continue;
		}
		if ((uint32_t)(MB_HEADER_MAGIC + loader_rd32(p + 4) +
		    loader_rd32(p + 8)) == 0) {
			*hdr_off = off;
			return 1;
		}
		bad = bad == SIZE_MAX ? off : bad;
	}
	if (bad == SIZE_MAX)
		return 0;
	if (bad + MB_HEADER_MIN > end)
		return bhyve_error(ld->bvm, "%s: truncated multiboot header "
		    "at offset 0x%zx", ld->name, bad);
	return bhyve_error(ld->bvm, "%s: multiboot header at offset 0x%zx "
	    "has a bad checksum", ld->name, bad);
}

static int
mb_read_header(struct loader *ld, size_t off, struct mb_header *h)
{
	const uint8_t *p = ld->img + off;

	*h = (struct mb_header){ .off = off, .flags = loader_rd32(p + 4) };
	if (h->flags & MB_HDR_REQUIRED & ~MB_HDR_KNOWN)
		return bhyve_error(ld->bvm, "%s: multiboot header asks for "
		    "unsupported features (flags 0x%x)", ld->name, h->flags);
	if (!(h->flags & MB_HDR_AOUT_KLUDGE))
		return 0;
	if (!loader_in_file(ld, off, MB_HEADER_AOUT))
		return bhyve_error(ld->bvm, "%s: truncated multiboot header: "
		    "address fields past the end of the file", ld->name);
	h->header_addr = loader_rd32(p + 12);
	h->load_addr = loader_rd32(p + 16);
	h->load_end_addr = loader_rd32(p + 20);
	h->bss_end_addr = loader_rd32(p + 24);
	h->entry_addr = loader_rd32(p + 28);
	return 0;
}

/*
 * The a.out kludge (3.1.3): the file from the header's offset less
 * (header_addr - load_addr) is loaded at load_addr, up to load_end_addr
 * (0: the end of the file), then zeroed up to bss_end_addr (0: no bss).
 */
static int
mb_load_aout(struct loader *ld, const struct mb_header *h, uint32_t *entry)
{
	uint64_t off, size, memsz;

	if (h->header_addr < h->load_addr ||
	    h->header_addr - h->load_addr > h->off)
		return bhyve_error(ld->bvm, "%s: multiboot header_addr 0x%x "
		    "with load_addr 0x%x starts the image before the file",
		    ld->name, h->header_addr, h->load_addr);
	off = h->off - (h->header_addr - h->load_addr);
	if (h->load_end_addr != 0 && h->load_end_addr < h->load_addr)
		return bhyve_error(ld->bvm, "%s: multiboot load_end_addr 0x%x "
		    "is below load_addr 0x%x", ld->name, h->load_end_addr,
		    h->load_addr);
	size = h->load_end_addr ? h->load_end_addr - h->load_addr
	    : ld->len - off;
	if (!loader_in_file(ld, off, size))
		return bhyve_error(ld->bvm, "%s: truncated multiboot image: "
		    "0x%" PRIx64 " bytes from offset 0x%" PRIx64 " are past "
		    "the end (0x%zx bytes)", ld->name, size, off, ld->len);
	memsz = size;
	if (h->bss_end_addr != 0 && h->bss_end_addr < h->load_addr + size)
		return bhyve_error(ld->bvm, "%s: multiboot bss_end_addr 0x%x "
		    "is inside the loaded image", ld->name, h->bss_end_addr);
	if (h->bss_end_addr != 0)
		memsz = h->bss_end_addr - h->load_addr;
	if (h->entry_addr < h->load_addr ||
	    h->entry_addr - h->load_addr >= size)
		return bhyve_error(ld->bvm, "%s: entry point 0x%x is not in "
		    "the loaded image", ld->name, h->entry_addr);
	if (loader_add_segment(ld, h->load_addr, memsz, LOADER_4G) != 0 ||
	    loader_copy(ld, h->load_addr, off, size, memsz) != 0)
		return -1;
	*entry = h->entry_addr;
	return 0;
}

static int
mb_load_kernel(struct loader *ld, const struct mb_header *h, uint32_t *entry)
{
	struct loader_elf_info info;

	if (h->flags & MB_HDR_AOUT_KLUDGE)
		return mb_load_aout(ld, h, entry);
	if (!loader_is_elf(ld))
		return bhyve_error(ld->bvm, "%s: multiboot kernel is not ELF "
		    "and its header has no address fields (flag 16)", ld->name);
	/* Entered with paging off: everything must be below 4 GiB. */
	if (loader_elf_load(ld, LOADER_4G, &info) != 0)
		return -1;
	*entry = (uint32_t)info.entry;
	return 0;
}

/* Read one module into low RAM above everything placed so far. */
static int
mb_load_module(struct loader *ld, const struct loader_module *m,
    struct mb_mod *mod)
{
	uint64_t size, gpa;
	void *dst;
	int fd = loader_open_file(ld->bvm, m->path, &size);
	int error = -1;

	if (fd < 0)
		return -1;
	if (size > vm_get_lowmem_size(ld->ctx) + vm_get_highmem_size(ld->ctx)) {
		bhyve_error(ld->bvm, "%s: module of %" PRIu64 " bytes is "
		    "larger than guest RAM", m->path, size);
		goto out;
	}
	if (loader_alloc(ld, size, &gpa) != 0) {
		bhyve_error(ld->bvm, "%s: module of %" PRIu64 " bytes does "
		    "not fit in low guest RAM above the kernel (0x%" PRIx64
		    "-0x%" PRIx64 ")", m->path, size, ld->kernel_end,
		    vm_get_lowmem_size(ld->ctx) - 1);
		goto out;
	}
	dst = vm_map_gpa(ld->ctx, gpa, size);
	error = dst ? loader_read_file(fd, dst, size) : -EFAULT;
	if (error) {
		bhyve_error(ld->bvm, "%s: read: %s", m->path, strerror(-error));
		error = -1;
		goto out;
	}
	*mod = (struct mb_mod){ .start = gpa, .size = size };
out:
	close(fd);
	return error;
}

/* The boot information block being built, at guest address 'gpa'. */
struct mb_info {
	uint8_t *p;
	uint64_t gpa;
	size_t str; /* next free byte for strings */
};

/* Copy a string into the block's string area; returns its address. */
static uint32_t
mb_put_string(struct mb_info *b, const char *s)
{
	size_t n = strlen(s) + 1;
	uint32_t at = (uint32_t)(b->gpa + b->str);

	memcpy(b->p + b->str, s, n);
	b->str += n;
	return at;
}

/* mem_lower and mem_upper (3.3): KiB from 0 and from 1 MiB, from the map. */
static void
mb_fill_memory(const struct loader *ld, uint8_t *mbi)
{
	uint32_t lower = 0, upper = 0;

	for (int i = 0; i < ld->nmap; i++) {
		const struct loader_e820 *e = &ld->map[i];

		if (e->type == LOADER_E820_RAM && e->base == 0)
			lower = (uint32_t)(e->len >> 10);
		if (e->type == LOADER_E820_RAM && e->base == LOADER_1M)
			upper = (uint32_t)(e->len >> 10);
	}
	loader_wr32(mbi + MBI_MEM_LOWER, lower);
	loader_wr32(mbi + MBI_MEM_UPPER, upper);
}

static void
mb_fill_mmap(const struct loader *ld, struct mb_info *b, size_t at)
{
	uint8_t *mbi = b->p;

	for (int i = 0; i < ld->nmap; i++) {
		uint8_t *e = b->p + at + (size_t)i * MB_MMAP_SIZE;

		loader_wr32(e, MB_MMAP_SIZE - 4);
		loader_wr64(e + 4, ld->map[i].base);
		loader_wr64(e + 12, ld->map[i].len);
		loader_wr32(e + 20, ld->map[i].type);
	}
	loader_wr32(mbi + MBI_MMAP_LENGTH, (uint32_t)ld->nmap * MB_MMAP_SIZE);
	loader_wr32(mbi + MBI_MMAP_ADDR, (uint32_t)(b->gpa + at));
}

static void
mb_fill_mods(const struct loader_args *args, const struct mb_mod *mods,
    struct mb_info *b, size_t at)
{
	for (int i = 0; i < args->nmods; i++) {
		uint8_t *m = b->p + at + (size_t)i * MB_MOD_SIZE;

		/* mod_end is one past the last byte, as GRUB sets it. */
		loader_wr32(m, (uint32_t)mods[i].start);
		loader_wr32(m + 4, (uint32_t)(mods[i].start + mods[i].size));
		loader_wr32(m + 8, mb_put_string(b, args->mods[i].string));
	}
	if (args->nmods == 0)
		return;
	loader_wr32(b->p + MBI_MODS_COUNT, (uint32_t)args->nmods);
	loader_wr32(b->p + MBI_MODS_ADDR, (uint32_t)(b->gpa + at));
}

/*
 * One block holds the structure (first), the module list, the memory
 * map, then the strings.  Returns its guest address in *mbi.
 */
static int
mb_write_info(struct loader *ld, const struct loader_args *args,
    const struct mb_mod *mods, uint32_t *mbi)
{
	const char *cmdline = args->cmdline ? args->cmdline : "";
	size_t mods_at = (MBI_SIZE + 7) & ~(size_t)7;
	size_t mmap_at = mods_at + (size_t)args->nmods * MB_MOD_SIZE;
	size_t size = mmap_at + (size_t)ld->nmap * MB_MMAP_SIZE;
	struct mb_info b;

	size += strlen(cmdline) + 1 + sizeof(MB_LOADER_NAME);
	for (int i = 0; i < args->nmods; i++)
		size += strlen(args->mods[i].string) + 1;
	if (loader_alloc(ld, size, &b.gpa) != 0)
		return bhyve_error(ld->bvm, "%s: no room in low guest RAM for "
		    "the multiboot information (%zu bytes)", ld->name, size);
	b.p = vm_map_gpa(ld->ctx, b.gpa, size);
	if (b.p == NULL)
		return bhyve_error(ld->bvm, "%s: cannot map the multiboot "
		    "information at 0x%" PRIx64, ld->name, b.gpa);
	b.str = mmap_at + (size_t)ld->nmap * MB_MMAP_SIZE;
	memset(b.p, 0, size);
	loader_wr32(b.p + MBI_FLAGS, MB_INFO_MEMORY | MB_INFO_CMDLINE |
	    MB_INFO_MEM_MAP | MB_INFO_LOADER_NAME |
	    (args->nmods ? MB_INFO_MODS : 0));
	mb_fill_memory(ld, b.p);
	loader_wr32(b.p + MBI_CMDLINE, mb_put_string(&b, cmdline));
	loader_wr32(b.p + MBI_LOADER_NAME, mb_put_string(&b, MB_LOADER_NAME));
	mb_fill_mods(args, mods, &b, mods_at);
	mb_fill_mmap(ld, &b, mmap_at);
	*mbi = (uint32_t)b.gpa;
	return 0;
}

int
loader_multiboot_boot(struct loader *ld, size_t hdr_off,
    const struct loader_args *args)
{
	struct mb_header h;
	struct mb_mod *mods = NULL;
	uint32_t entry = 0, mbi = 0;
	int error = -1;

	if (mb_read_header(ld, hdr_off, &h) != 0 ||
	    mb_load_kernel(ld, &h, &entry) != 0)
		return -1;
	if (args->nmods > 0) {
		mods = calloc((size_t)args->nmods, sizeof(*mods));
		if (mods == NULL)
			return bhyve_error(ld->bvm, "%s: out of memory",
			    ld->name);
	}
	/* Modules are always page aligned, which flag 0 asks for. */
	for (int i = 0; i < args->nmods; i++)
		if (mb_load_module(ld, &args->mods[i], &mods[i]) != 0)
			goto out;
	if (mb_write_info(ld, args, mods, &mbi) != 0)
		goto out;
	error = loader_enter32(ld, entry, MB_BOOT_MAGIC, mbi);
out:
	free(mods);
	return error;
}
