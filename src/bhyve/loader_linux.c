/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Linux bzImage kernels through the x86 boot protocol, version 2.10 and
 * later (Linux's Documentation/arch/x86/boot.rst; the zero page layout in
 * zero-page.rst).  No real-mode code runs: like a 32/64-bit boot loader,
 * this skips the setup sectors, copies the protected-mode kernel (the
 * decompressor and its payload) to guest RAM, fills a zero page (struct
 * boot_params) with the setup header, command line, initrd and E820 map,
 * and enters the decompressor at its 64-bit entry (or its 32-bit one for
 * a kernel without XLF_KERNEL_64).
 *
 * Where it goes (see loader_internal.h): the zero page at 0x7000, the
 * command line at 0x8000, the kernel at pref_address (or the lowest
 * kernel_alignment-aligned address from 1 MiB where it fits), with RAM
 * for init_size bytes from where it decompresses, and the initrd as high
 * as it fits below initrd_addr_max.
 */
#include <inttypes.h>

#include "bhyverun.h"
#include "loader_internal.h"

/* Setup header fields: offsets in the file and in the zero page. */
#define LX_SETUP_SECTS 0x1f1	/* 1 byte; 0 means 4 */
#define LX_BOOT_FLAG 0x1fe	/* 0xaa55 */
#define LX_JUMP_OFF 0x201	/* the header ends at 0x202 + this byte */
#define LX_HEADER 0x202		/* "HdrS" */
#define LX_VERSION 0x206
#define LX_TYPE_OF_LOADER 0x210
#define LX_LOADFLAGS 0x211
#define LX_CODE32_START 0x214
#define LX_RAMDISK_IMAGE 0x218
#define LX_RAMDISK_SIZE 0x21c
#define LX_HEAP_END_PTR 0x224	/* and ext_loader_ver, ext_loader_type */
#define LX_CMD_LINE_PTR 0x228
#define LX_INITRD_ADDR_MAX 0x22c
#define LX_KERNEL_ALIGNMENT 0x230
#define LX_RELOCATABLE 0x234
#define LX_XLOADFLAGS 0x236	/* 2.12+ */
#define LX_CMDLINE_SIZE 0x238
#define LX_HW_SUBARCH 0x23c	/* and hardware_subarch_data (8) */
#define LX_SETUP_DATA 0x250
#define LX_PREF_ADDRESS 0x258
#define LX_INIT_SIZE 0x260
#define LX_HDR_MIN_END 0x264	/* a 2.10 header ends after init_size */
#define LX_HDR_MAX_END 0x290	/* struct setup_header's room */

#define LX_BOOT_FLAG_MAGIC 0xaa55
#define LX_HDRS 0x53726448u	/* "HdrS" */
#define LX_VERSION_MIN 0x020a
#define LX_SECTOR 512
#define LX_DEFAULT_SECTS 4
#define LX_LOADED_HIGH 0x01
#define LX_CAN_USE_HEAP 0x80
#define LX_XLF_KERNEL_64 0x01	/* 64-bit entry at code32_start + 0x200 */
#define LX_XLF_ABOVE_4G 0x02	/* kernel, zero page, initrd above 4 GiB */
#define LX_ENTRY64_OFF 0x200
#define LX_LOADER_UNDEFINED 0xff /* type_of_loader: no assigned ID */
#define LX_MAX_ALIGN (1ULL << 30)

/* Zero page fields outside the setup header (zero-page.rst). */
#define ZP_ACPI_RSDP 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_ENTRY 20	/* addr, size (8 each), type (4); packed */
#define ZP_E820_MAX 128

_Static_assert(ZP_E820_TABLE + ZP_E820_MAX * ZP_E820_ENTRY <=
    LOADER_ZERO_PAGE_SIZE, "the E820 table is in the zero page");
_Static_assert(LOADER_E820_MAX <= ZP_E820_MAX, "the map fits the table");

/* What the loader uses of the setup header. */
struct lx_header {
	uint16_t version;
	uint16_t xloadflags; /* 0 before 2.12 */
	bool relocatable;
	uint32_t initrd_addr_max; /* the initrd's last byte, inclusive */
	uint32_t kernel_alignment;
	uint32_t cmdline_size;	  /* without the NUL */
	uint64_t pref_address;
	uint64_t init_size;
	size_t hdr_end;		  /* one past the header's last byte */
	uint64_t kernel_off;	  /* the protected-mode kernel in the file */
	uint64_t kernel_size;
};

bool
loader_linux_probe(const struct loader *ld)
{
	return ld->len >= LX_HEADER + 4 &&
	    loader_rd16(ld->img + LX_BOOT_FLAG) == LX_BOOT_FLAG_MAGIC &&
	    loader_rd32(ld->img + LX_HEADER) == LX_HDRS;
}

static uint64_t
lx_align(uint64_t v, uint64_t align)
{
	if (v > UINT64_MAX - (align - 1))
		return UINT64_MAX;
	return (v + align - 1) & ~(align - 1);
}

/* The end of the header: the jump at 0x200 skips over it. */
static size_t
lx_header_end(const struct loader *ld)
{
	size_t end = LX_HEADER + ld->img[LX_JUMP_OFF];

	if (end < LX_HDR_MIN_END)
		end = LX_HDR_MIN_END;
	if (end > LX_HDR_MAX_END)
		end = LX_HDR_MAX_END;
	return end < ld->len ? end : ld->len;
}

static void
lx_fill_header(const struct loader *ld, struct lx_header *h)
{
	const uint8_t *p = ld->img;
	unsigned int sects = p[LX_SETUP_SECTS] ? p[LX_SETUP_SECTS]
	    : LX_DEFAULT_SECTS;

	*h = (struct lx_header){ .version = loader_rd16(p + LX_VERSION),
		.relocatable = p[LX_RELOCATABLE] != 0,
		.initrd_addr_max = loader_rd32(p + LX_INITRD_ADDR_MAX),
		.kernel_alignment = loader_rd32(p + LX_KERNEL_ALIGNMENT),
		.cmdline_size = loader_rd32(p + LX_CMDLINE_SIZE),
		.pref_address = loader_rd64(p + LX_PREF_ADDRESS),
		.init_size = loader_rd32(p + LX_INIT_SIZE),
		.hdr_end = lx_header_end(ld),
		.kernel_off = (uint64_t)(sects + 1) * LX_SECTOR };
	if (h->version >= 0x020c)
		h->xloadflags = loader_rd16(p + LX_XLOADFLAGS);
	if (h->kernel_off < ld->len)
		h->kernel_size = ld->len - h->kernel_off;
}

static int
lx_read_header(struct loader *ld, struct lx_header *h)
{
	if (ld->len < LX_HDR_MIN_END)
		return bhyve_error(ld->bvm, "%s: truncated bzImage setup "
		    "header (%zu bytes)", ld->name, ld->len);
	lx_fill_header(ld, h);
	if (h->version < LX_VERSION_MIN)
		return bhyve_error(ld->bvm, "%s: bzImage boot protocol "
		    "version %u.%02u is too old (2.10 or later needed)",
		    ld->name, h->version >> 8, h->version & 0xff);
	if (!(ld->img[LX_LOADFLAGS] & LX_LOADED_HIGH))
		return bhyve_error(ld->bvm, "%s: a zImage (loadflags without "
		    "LOADED_HIGH) is not supported", ld->name);
	if (h->kernel_size == 0)
		return bhyve_error(ld->bvm, "%s: truncated bzImage: no "
		    "protected-mode kernel after its 0x%" PRIx64 " bytes of "
		    "setup", ld->name, h->kernel_off);
	if (h->relocatable && (h->kernel_alignment == 0 ||
	    (h->kernel_alignment & (h->kernel_alignment - 1)) != 0 ||
	    h->kernel_alignment > LX_MAX_ALIGN))
		return bhyve_error(ld->bvm, "%s: bad bzImage kernel_alignment "
		    "0x%x", ld->name, h->kernel_alignment);
	return 0;
}

/*
 * Where the kernel decompresses itself when loaded at 'load' (boot.rst,
 * init_size): a relocatable one at 'load' aligned up, but never below
 * pref_address; any other at pref_address.
 */
static uint64_t
lx_runtime_start(const struct lx_header *h, uint64_t load)
{
	if (!h->relocatable)
		return h->pref_address;
	if (load < h->pref_address)
		load = h->pref_address;
	return lx_align(load, h->kernel_alignment);
}

/*
 * Whether the kernel fits loaded at 'load': its bytes, and init_size
 * bytes from its runtime start, in low RAM from 1 MiB up.  *span gets
 * the whole range it may touch until it has read the memory map.
 */
static bool
lx_fits(const struct loader *ld, const struct lx_header *h, uint64_t load,
    struct loader_seg *span)
{
	uint64_t rt = lx_runtime_start(h, load);
	uint64_t need = h->init_size > h->kernel_size ? h->init_size
	    : h->kernel_size;

	if (load < LOADER_1M || load >= LOADER_4G || rt < LOADER_1M ||
	    rt >= LOADER_4G || need >= LOADER_4G)
		return false;
	if (!loader_in_ram(ld, load, load + h->kernel_size) ||
	    !loader_in_ram(ld, rt, rt + need))
		return false;
	span->start = load < rt ? load : rt;
	span->end = load + h->kernel_size > rt + need ? load + h->kernel_size
	    : rt + need;
	return true;
}

/*
 * pref_address first; a relocatable kernel that does not fit there goes
 * to the lowest aligned address of the first RAM range it fits in.
 */
static int
lx_place_kernel(struct loader *ld, const struct lx_header *h, uint64_t *load)
{
	struct loader_seg span;
	uint64_t at = h->relocatable ? lx_align(h->pref_address,
	    h->kernel_alignment) : h->pref_address;
	bool ok = lx_fits(ld, h, at, &span);

	for (int i = 0; !ok && h->relocatable && i < ld->nmap; i++) {
		const struct loader_e820 *e = &ld->map[i];

		at = lx_align(e->base > LOADER_1M ? e->base : LOADER_1M,
		    h->kernel_alignment);
		ok = e->type == LOADER_E820_RAM && lx_fits(ld, h, at, &span);
	}
	if (!ok)
		return bhyve_error(ld->bvm, "%s: bzImage kernel of 0x%" PRIx64
		    " bytes with init_size 0x%" PRIx64 " does not fit in guest "
		    "RAM below 4 GiB (pref_address 0x%" PRIx64 ", %" PRIu64
		    " MiB of low RAM)", ld->name, h->kernel_size, h->init_size,
		    h->pref_address, vm_get_lowmem_size(ld->ctx) >> 20);
	*load = at;
	if (loader_add_segment(ld, span.start, span.end - span.start,
	    LOADER_4G) != 0)
		return -1;
	return loader_copy(ld, at, h->kernel_off, h->kernel_size,
	    h->kernel_size);
}

/* The command line at LOADER_CMDLINE_ADDR, no longer than cmdline_size. */
static int
lx_check_cmdline(struct loader *ld, const struct lx_header *h,
    const char *cmdline, size_t *len)
{
	uint64_t room = LOADER_EBDA - LOADER_CMDLINE_ADDR - 1;
	uint64_t max = h->cmdline_size < room ? h->cmdline_size : room;

	*len = cmdline ? strlen(cmdline) : 0;
	if (*len > max)
		return bhyve_error(ld->bvm, "%s: boot.cmdline of %zu bytes is "
		    "longer than the %" PRIu64 " the kernel takes "
		    "(cmdline_size)", ld->name, *len, max);
	return 0;
}

static int
lx_write_cmdline(struct loader *ld, const char *cmdline, size_t len)
{
	char *dst = vm_map_gpa(ld->ctx, LOADER_CMDLINE_ADDR, len + 1);

	if (dst == NULL)
		return bhyve_error(ld->bvm, "%s: guest RAM is too small for "
		    "the command line at 0x%llx", ld->name,
		    LOADER_CMDLINE_ADDR);
	if (len != 0)
		memcpy(dst, cmdline, len);
	dst[len] = '\0';
	return 0;
}

static void
lx_fill_e820(const struct loader *ld, uint8_t *zp)
{
	for (int i = 0; i < ld->nmap; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + (size_t)i * ZP_E820_ENTRY;

		loader_wr64(e, ld->map[i].base);
		loader_wr64(e + 8, ld->map[i].len);
		loader_wr32(e + 16, ld->map[i].type);
	}
	zp[ZP_E820_ENTRIES] = (uint8_t)ld->nmap;
}

/*
 * The zero page: all zero, the file's setup header copied in, then the
 * fields a boot loader writes.  Those a kernel file could have filled
 * with junk (heap_end_ptr, setup_data, subarch) are set explicitly.
 */
static int
lx_write_zero_page(struct loader *ld, const struct lx_header *h,
    uint64_t load, const struct loader_initrd *rd, uint64_t rsdp)
{
	uint8_t *zp = vm_map_gpa(ld->ctx, LOADER_ZERO_PAGE_ADDR,
	    LOADER_ZERO_PAGE_SIZE);

	if (zp == NULL)
		return bhyve_error(ld->bvm, "%s: guest RAM is too small for "
		    "the zero page at 0x%llx", ld->name,
		    LOADER_ZERO_PAGE_ADDR);
	memset(zp, 0, LOADER_ZERO_PAGE_SIZE);
	memcpy(zp + LX_SETUP_SECTS, ld->img + LX_SETUP_SECTS,
	    h->hdr_end - LX_SETUP_SECTS);
	zp[LX_TYPE_OF_LOADER] = LX_LOADER_UNDEFINED;
	/* No real-mode code runs, so there is no setup heap to offer. */
	zp[LX_LOADFLAGS] &= (uint8_t)~LX_CAN_USE_HEAP;
	loader_wr32(zp + LX_CODE32_START, (uint32_t)load);
	loader_wr32(zp + LX_HEAP_END_PTR, 0);
	loader_wr32(zp + LX_CMD_LINE_PTR, (uint32_t)LOADER_CMDLINE_ADDR);
	loader_wr32(zp + LX_HW_SUBARCH, 0); /* a PC */
	loader_wr64(zp + LX_HW_SUBARCH + 4, 0);
	loader_wr64(zp + LX_SETUP_DATA, 0);
	loader_wr32(zp + LX_RAMDISK_IMAGE, (uint32_t)rd->gpa);
	loader_wr32(zp + LX_RAMDISK_SIZE, (uint32_t)rd->size);
	loader_wr32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(rd->gpa >> 32));
	loader_wr32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(rd->size >> 32));
	loader_wr32(zp + ZP_EXT_CMD_LINE_PTR, 0);
	loader_wr64(zp + ZP_ACPI_RSDP, rsdp);
	lx_fill_e820(ld, zp);
	return 0;
}

int
loader_linux_boot(struct loader *ld, const struct loader_args *args)
{
	struct lx_header h;
	struct loader_initrd rd;
	uint64_t load = 0;
	size_t cmdlen;
	bool high_ok;

	if (lx_read_header(ld, &h) != 0 ||
	    lx_check_cmdline(ld, &h, args->cmdline, &cmdlen) != 0 ||
	    lx_place_kernel(ld, &h, &load) != 0)
		return -1;
	/* initrd_addr_max is the initrd's last byte, not one past it. */
	high_ok = (h.xloadflags & LX_XLF_ABOVE_4G) != 0;
	if (loader_load_initrd(ld, args, (uint64_t)h.initrd_addr_max + 1,
	    high_ok, &rd) != 0)
		return -1;
	if (lx_write_zero_page(ld, &h, load, &rd, args->rsdp) != 0 ||
	    lx_write_cmdline(ld, args->cmdline, cmdlen) != 0)
		return -1;
	if (h.xloadflags & LX_XLF_KERNEL_64)
		return loader_enter_linux64(ld, load + LX_ENTRY64_OFF,
		    LOADER_ZERO_PAGE_ADDR);
	return loader_enter_linux32(ld, (uint32_t)load,
	    (uint32_t)LOADER_ZERO_PAGE_ADDR);
}
