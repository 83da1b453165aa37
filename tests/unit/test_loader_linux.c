/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux boot paths against a fake VM (null backend: guest RAM and
 * registers, no execution): bzImages built here from a synthetic setup
 * header and payload, and ELF kernels with a PVH entry note, loaded
 * through bhyve_load_kernel() or loader_load_image().  With /dev/kvm the
 * three entry states also run a few instructions; with a Debian kernel in
 * /boot, its real bzImage is loaded too.
 */
#include <elf.h>
#include <glob.h>
#include <stdbool.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "loader.h"
#include "loader_internal.h"
#include "loader_vm.h"
#include "test.h"
#include "vmmapi.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define ZP 0x7000ULL	  /* the zero page */
#define CMDLINE 0x8000ULL /* the bzImage command line */

/* ---- building images ---- */

/* The setup header fields a test may vary. */
struct bz {
	uint8_t setup_sects;
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t init_size;
	uint64_t pref_address;
	size_t payload;
};

/* A current x86-64 kernel's header, 12 KiB of payload. */
static const struct bz bz_default = { .setup_sects = 4, .version = 0x020f,
	.loadflags = 0x01, .xloadflags = 0x03, .relocatable = 1,
	.kernel_alignment = 0x200000, .initrd_addr_max = 0x7fffffff,
	.cmdline_size = 2047, .init_size = 8 * MiB,
	.pref_address = 16 * MiB, .payload = 0x3000 };

static uint8_t
payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 1);
}

static size_t
bz_kernel_off(const struct bz *b)
{
	return ((size_t)(b->setup_sects ? b->setup_sects : 4) + 1) * 512;
}

static void
build_bzimage(struct kimg *k, const struct bz *b)
{
	size_t off = bz_kernel_off(b);

	kimg_put8(k, 0x1f1, b->setup_sects);
	kimg_put16(k, 0x1fe, 0xaa55);
	kimg_put8(k, 0x200, 0xeb); /* jmp short over the header */
	kimg_put8(k, 0x201, 0x6a); /* ... which ends at 0x26c */
	kimg_put(k, 0x202, "HdrS", 4);
	kimg_put16(k, 0x206, b->version);
	kimg_put8(k, 0x211, b->loadflags | 0x80);
	kimg_put32(k, 0x214, 0x100000);
	kimg_put32(k, 0x218, 0xdeadbeef);  /* ramdisk_image: junk */
	kimg_put16(k, 0x224, 0x1234);	   /* heap_end_ptr: junk */
	kimg_put32(k, 0x228, 0xdeadbeef);  /* cmd_line_ptr: junk */
	kimg_put32(k, 0x22c, b->initrd_addr_max);
	kimg_put32(k, 0x230, b->kernel_alignment);
	kimg_put8(k, 0x234, b->relocatable);
	kimg_put8(k, 0x235, 21);
	kimg_put16(k, 0x236, b->xloadflags);
	kimg_put32(k, 0x238, b->cmdline_size);
	kimg_put64(k, 0x250, 0xfeedfacecafeULL); /* setup_data: junk */
	kimg_put64(k, 0x258, b->pref_address);
	kimg_put32(k, 0x260, b->init_size);
	kimg_put32(k, 0x264, 0x12345678); /* handover_offset */
	kimg_put32(k, 0x26c, 0xaaaaaaaa); /* past the header: not copied */
	for (size_t i = 0; i < b->payload; i++)
		kimg_put8(k, off + i, payload_byte(i));
}

/* ELF notes: the 12-byte header, the name and value padded to 'pad'. */
static void
put_note(struct kimg *n, size_t pad, const char *name, uint32_t type,
    const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t at = n->len;
	size_t name_len = (namesz + pad - 1) & ~(pad - 1);
	size_t desc_len = (descsz + pad - 1) & ~(pad - 1);

	/* Zeros first: the padding after the name and the value. */
	kimg_put8(n, at + 12 + name_len + desc_len - 1, 0);
	kimg_put32(n, at, namesz);
	kimg_put32(n, at + 4, descsz);
	kimg_put32(n, at + 8, type);
	kimg_put(n, at + 12, name, namesz);
	if (descsz != 0)
		kimg_put(n, at + 12 + name_len, desc, descsz);
}

static void
put_xen_entry(struct kimg *n, size_t pad, uint64_t entry, uint32_t size)
{
	put_note(n, pad, "Xen", 18, &entry, size);
}

#define PVH_PADDR (16 * MiB)
#define PVH_VADDR64 0xffffffff81000000ULL
#define PVH_VADDR32 0xc1000000ULL
#define PVH_TEXT 0x2000
#define PVH_MEM 0x3000

/*
 * A vmlinux-like ELF: one PT_LOAD of 8 KiB (+4 KiB bss) linked high and
 * loaded at 16 MiB, then a PT_NOTE holding 'notes' with alignment
 * 'align'.  'code' (if any) starts the text.
 */
static void
build_pvh(struct kimg *k, bool is64, const struct kimg *notes, uint64_t align,
    const void *code, size_t code_len)
{
	uint64_t vaddr = is64 ? PVH_VADDR64 : PVH_VADDR32;
	uint64_t note_off = 0x1000 + PVH_TEXT;

	/*
	 * The 64-bit image's e_entry is physical, as in Linux's vmlinux: it
	 * is in no segment's virtual range, and PVH must not care.
	 */
	if (is64) {
		Elf64_Ehdr e = { .e_type = ET_EXEC, .e_machine = EM_X86_64,
			.e_version = EV_CURRENT, .e_entry = PVH_PADDR,
			.e_phoff = sizeof(e), .e_ehsize = sizeof(e),
			.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2 };
		Elf64_Phdr p[2] = {
			{ .p_type = PT_LOAD, .p_offset = 0x1000,
			    .p_vaddr = vaddr, .p_paddr = PVH_PADDR,
			    .p_filesz = PVH_TEXT, .p_memsz = PVH_MEM },
			{ .p_type = PT_NOTE, .p_offset = note_off,
			    .p_filesz = notes->len, .p_align = align },
		};

		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS64;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		kimg_put(k, 0, &e, sizeof(e));
		kimg_put(k, sizeof(e), p, sizeof(p));
	} else {
		Elf32_Ehdr e = { .e_type = ET_EXEC, .e_machine = EM_386,
			.e_version = EV_CURRENT, .e_entry = (uint32_t)vaddr,
			.e_phoff = sizeof(e), .e_ehsize = sizeof(e),
			.e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 2 };
		Elf32_Phdr p[2] = {
			{ .p_type = PT_LOAD, .p_offset = 0x1000,
			    .p_vaddr = (uint32_t)vaddr, .p_paddr = PVH_PADDR,
			    .p_filesz = PVH_TEXT, .p_memsz = PVH_MEM },
			{ .p_type = PT_NOTE, .p_offset = (uint32_t)note_off,
			    .p_filesz = (uint32_t)notes->len,
			    .p_align = (uint32_t)align },
		};

		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS32;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		kimg_put(k, 0, &e, sizeof(e));
		kimg_put(k, sizeof(e), p, sizeof(p));
	}
	kimg_put8(k, 0x1000 + PVH_TEXT - 1, 0x5a);
	if (code != NULL)
		kimg_put(k, 0x1000, code, code_len);
	if (notes->len != 0)
		kimg_put(k, note_off, notes->b, notes->len);
}

/* The usual notes: a GNU build ID first, then the entry at +0x40. */
static void
std_notes(struct kimg *n, uint32_t size)
{
	static const uint8_t id[20] = { 1, 2, 3, 4, 5 };

	put_note(n, 4, "GNU", 3, id, sizeof(id));
	put_note(n, 4, "Xen", 6, "linux", 6); /* XEN_ELFNOTE_GUEST_OS */
	put_xen_entry(n, 4, PVH_PADDR + 0x40, size);
}

/* ---- the fake VM ---- */

/* An initrd of 'size' bytes, byte i = i * 3 + 5 ('dense') or sparse. */
static const char *
tvm_initrd(struct tvm *t, uint64_t size, bool dense)
{
	struct kimg m = { 0 };
	const char *path;

	kimg_put8(&m, 0, 5);
	for (uint64_t i = 1; dense && i < size; i++)
		kimg_put8(&m, i, (uint8_t)(i * 3 + 5));
	path = tvm_file(t, "boot.initrd", &m);
	if (!dense && truncate(path, (off_t)size) != 0)
		abort();
	return path;
}

static uint64_t
rd(struct tvm *t, uint64_t addr, int size)
{
	uint8_t *p = tvm_gpa(t, addr, (size_t)size);

	if (p == NULL)
		return 0xdeadbeefdeadbeefULL;
	return size == 1 ? p[0] : size == 2 ? loader_rd16(p) : size == 4 ?
	    loader_rd32(p) : loader_rd64(p);
}

/* Load 'k' as the kernel (and 'cmdline') and expect 'what' in the error. */
static void
expect_error(struct kimg *k, uint64_t memsize, const char *cmdline,
    const char *what)
{
	struct tvm t;
	const char *path;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, memsize));
	path = tvm_file(&t, "boot.kernel", k);
	if (cmdline != NULL)
		tvm_set(&t, "boot.cmdline", cmdline);
	CHECK_FAILS(&t, what);
	CHECK(strncmp(t.bvm.err, path, strlen(path)) == 0);
	tvm_fini(&t);
}

/* ---- entry states ---- */

static void
check_common_segs(struct tvm *t)
{
	struct seg_desc ds = tvm_desc(t, VM_REG_GUEST_DS);
	struct seg_desc gdtr = tvm_desc(t, VM_REG_GUEST_GDTR);

	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RFLAGS), 0x2); /* IF clear */
	CHECK_EQ(ds.base, 0);
	CHECK_EQ(ds.limit, 0xffffffff);
	CHECK_EQ(ds.access, 0xc093);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_DS), 0x18);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_ES), 0x18);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_SS), 0x18);
	CHECK_EQ(gdtr.base, 0x500);
	CHECK_EQ(rd(t, 0x500 + 0x18, 8), 0x00cf93000000ffffULL);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RSP), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RBP), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RDI), 0);
}

/* boot.rst's 32-bit protocol; 'rsi' and 'rbx' as the caller expects. */
static void
check_entry32(struct tvm *t, uint64_t eip, uint64_t rsi, uint64_t rbx)
{
	struct seg_desc cs = tvm_desc(t, VM_REG_GUEST_CS);

	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RIP), eip);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RSI), rsi);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RBX), rbx);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RAX), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CR0), 0x11);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CR4), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_EFER), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CS), 0x10);
	CHECK_EQ(cs.base, 0);
	CHECK_EQ(cs.limit, 0xffffffff);
	CHECK_EQ(cs.access, 0xc09b);
	CHECK_EQ(rd(t, 0x500 + 0x10, 8), 0x00cf9b000000ffffULL);
	check_common_segs(t);
}

/* boot.rst's 64-bit protocol: CS 0x10 is 64-bit code in the GDT too. */
static void
check_entry64(struct tvm *t, uint64_t rip)
{
	struct seg_desc cs = tvm_desc(t, VM_REG_GUEST_CS);

	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RIP), rip);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RSI), ZP);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RAX), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RBX), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CR0), 0x80000011);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CR3), 0x1000);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CR4), 0x20);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_EFER), 0x500);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CS), 0x10);
	CHECK_EQ(cs.access, 0xa09b);
	CHECK_EQ(rd(t, 0x500 + 0x10, 8), 0x00af9b000000ffffULL);
	/* The tables map 0..4 GiB: 16 MiB sits in PD 0 entry 8. */
	CHECK_EQ(rd(t, 0x3000 + 8 * 8, 8), 16 * MiB | 0x83);
	CHECK_EQ(rd(t, 0x3000 + 8 * 2047, 8), 0xffe00000ULL | 0x9b);
	check_common_segs(t);
}

/* ---- bzImage ---- */

static void
check_payload(struct tvm *t, uint64_t at, size_t n)
{
	uint8_t *p = tvm_gpa(t, at, n);
	size_t bad = 0;

	REQUIRE(p != NULL);
	for (size_t i = 0; i < n; i++)
		bad += p[i] != payload_byte(i);
	CHECK_EQ(bad, 0);
}

static void
check_e820_small(struct tvm *t, uint64_t ram)
{
	static const uint32_t types[] = { 1, 2, 1 };
	const uint64_t want[][2] = { { 0, 0x9fc00 }, { 0x9fc00, 0x60400 },
		{ 1 * MiB, ram - 1 * MiB } };

	CHECK_EQ(rd(t, ZP + 0x1e8, 1), 3);
	for (int i = 0; i < 3; i++) {
		uint64_t e = ZP + 0x2d0 + 20 * (uint64_t)i;

		CHECK_EQ(rd(t, e, 8), want[i][0]);
		CHECK_EQ(rd(t, e + 8, 8), want[i][1]);
		CHECK_EQ(rd(t, e + 16, 4), types[i]);
	}
	CHECK_EQ(rd(t, ZP + 0x2d0 + 60, 8), 0); /* nothing after */
}

TEST(bzimage_64bit_entry_and_zero_page)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct bz b = bz_default;
	uint8_t *ird;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	memset(tvm_gpa(&t, ZP, 0x1000), 0xcc, 0x1000); /* must come out clean */
	build_bzimage(&k, &b);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.cmdline", "console=ttyS0 root=/dev/vda");
	tvm_initrd(&t, 0x5000, true);
	REQUIRE(tvm_load(&t) == 0);

	check_payload(&t, 16 * MiB, b.payload);
	check_entry64(&t, 16 * MiB + 0x200);
	/* The setup header, copied up to its end at 0x26c. */
	CHECK_EQ(rd(&t, ZP + 0x1f1, 1), 4);
	CHECK_EQ(rd(&t, ZP + 0x1fe, 2), 0xaa55);
	CHECK_EQ(rd(&t, ZP + 0x202, 4), 0x53726448);
	CHECK_EQ(rd(&t, ZP + 0x206, 2), 0x020f);
	CHECK_EQ(rd(&t, ZP + 0x260, 4), 8 * MiB);
	CHECK_EQ(rd(&t, ZP + 0x264, 4), 0x12345678);
	CHECK_EQ(rd(&t, ZP + 0x26c, 4), 0);
	CHECK_EQ(rd(&t, ZP + 0x0, 8), 0); /* screen_info zeroed */
	/* What the loader writes. */
	CHECK_EQ(rd(&t, ZP + 0x210, 1), 0xff);
	CHECK_EQ(rd(&t, ZP + 0x211, 1), 0x01); /* LOADED_HIGH, no heap */
	CHECK_EQ(rd(&t, ZP + 0x214, 4), 16 * MiB);
	CHECK_EQ(rd(&t, ZP + 0x224, 2), 0);
	CHECK_EQ(rd(&t, ZP + 0x250, 8), 0);
	CHECK_EQ(rd(&t, ZP + 0x228, 4), CMDLINE);
	CHECK_EQ(rd(&t, ZP + 0x0c8, 4), 0);
	CHECK_STR(tvm_cstr(&t, CMDLINE), "console=ttyS0 root=/dev/vda");
	/* The initrd: as high as it goes, page aligned. */
	CHECK_EQ(rd(&t, ZP + 0x218, 4), 64 * MiB - 0x5000);
	CHECK_EQ(rd(&t, ZP + 0x21c, 4), 0x5000);
	CHECK_EQ(rd(&t, ZP + 0x0c0, 4), 0);
	CHECK_EQ(rd(&t, ZP + 0x0c4, 4), 0);
	ird = tvm_gpa(&t, 64 * MiB - 0x5000, 0x5000);
	REQUIRE(ird != NULL);
	CHECK_EQ(ird[0], 5);
	CHECK_EQ(ird[0x4fff], (uint8_t)(0x4fff * 3 + 5));
	CHECK_EQ(rd(&t, ZP + 0x070, 8), 0); /* no RSDP given */
	check_e820_small(&t, 64 * MiB);
	tvm_fini(&t);
}

TEST(bzimage_32bit_fallback)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct bz b = bz_default;

	b.xloadflags = 0;
	b.version = 0x020a; /* 2.10: no xloadflags at all */
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	build_bzimage(&k, &b);
	kimg_put16(&k, 0x236, 0x0001); /* ignored before 2.12 */
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	check_payload(&t, 16 * MiB, b.payload);
	check_entry32(&t, 16 * MiB, ZP, 0);
	/* No cmdline or initrd: an empty string, no ramdisk. */
	CHECK_STR(tvm_cstr(&t, CMDLINE), "");
	CHECK_EQ(rd(&t, ZP + 0x218, 4), 0);
	CHECK_EQ(rd(&t, ZP + 0x21c, 4), 0);
	tvm_fini(&t);
}

/* Load 'b' into a VM of 'ram' bytes; expect it at 'load'. */
static void
expect_placement(const struct bz *b, uint64_t ram, uint64_t load)
{
	struct tvm t;
	struct kimg k = { 0 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, ram));
	build_bzimage(&k, b);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	check_payload(&t, load, b->payload);
	CHECK_EQ(rd(&t, ZP + 0x214, 4), load);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), load + 0x200);
	tvm_fini(&t);
}

TEST(bzimage_placement)
{
	struct bz b = bz_default;

	/* pref_address not aligned: a relocatable kernel goes above it. */
	b.pref_address = 17 * MiB;
	expect_placement(&b, 64 * MiB, 18 * MiB);
	/* pref_address in the reserved hole: the first aligned RAM. */
	b.pref_address = 0xa0000;
	expect_placement(&b, 64 * MiB, 2 * MiB);
	b.kernel_alignment = 0x1000;
	expect_placement(&b, 64 * MiB, 1 * MiB);
	/* Not relocatable: at pref_address as it is. */
	b = bz_default;
	b.relocatable = 0;
	b.kernel_alignment = 0; /* unused then */
	b.pref_address = 5 * MiB + 0x1000;
	expect_placement(&b, 64 * MiB, 5 * MiB + 0x1000);
	/* Exactly enough RAM for init_size from pref_address. */
	b = bz_default;
	expect_placement(&b, 24 * MiB, 16 * MiB);
}

TEST(bzimage_initrd_limits)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct bz b = bz_default;

	/* initrd_addr_max is the last byte allowed. */
	b.initrd_addr_max = 32 * MiB - 1;
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	build_bzimage(&k, &b);
	tvm_file(&t, "boot.kernel", &k);
	tvm_initrd(&t, 0x2345, true);
	REQUIRE(tvm_load(&t) == 0);
	CHECK_EQ(rd(&t, ZP + 0x218, 4), 32 * MiB - 0x3000);
	CHECK_EQ(rd(&t, ZP + 0x21c, 4), 0x2345);
	tvm_fini(&t);
}

/* Low RAM full: with XLF_CAN_BE_LOADED_ABOVE_4G the initrd goes high. */
TEST(bzimage_initrd_above_4g)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct bz b = bz_default;
	const char *path;

	b.initrd_addr_max = 32 * MiB - 1; /* 8 MiB above the kernel's 24 */
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 3 * GiB + 64 * MiB));
	build_bzimage(&k, &b);
	tvm_file(&t, "boot.kernel", &k);
	tvm_initrd(&t, 16 * MiB, false);
	REQUIRE(tvm_load(&t) == 0);
	CHECK_EQ(rd(&t, ZP + 0x218, 4), 48 * MiB);
	CHECK_EQ(rd(&t, ZP + 0x0c0, 4), 1);
	CHECK_EQ(rd(&t, ZP + 0x21c, 4), 16 * MiB);
	CHECK_EQ(rd(&t, ZP + 0x0c4, 4), 0);
	CHECK_EQ(rd(&t, 4 * GiB + 48 * MiB, 1), 5);
	CHECK_EQ(rd(&t, ZP + 0x1e8, 1), 4);
	CHECK_EQ(rd(&t, ZP + 0x2d0 + 60, 8), 4 * GiB);
	CHECK_EQ(rd(&t, ZP + 0x2d0 + 68, 8), 64 * MiB);
	tvm_fini(&t);

	/* Without the flag, the same initrd is an error naming it. */
	b.xloadflags = 0x01;
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 3 * GiB + 64 * MiB));
	build_bzimage(&k, &b);
	tvm_file(&t, "boot.kernel", &k);
	path = tvm_initrd(&t, 16 * MiB, false);
	CHECK_FAILS(&t, "does not fit in guest RAM between 0x1800000 and "
	    "0x1ffffff");
	CHECK(strncmp(t.bvm.err, path, strlen(path)) == 0);
	tvm_fini(&t);
}

TEST(bzimage_rsdp_from_the_caller)
{
	struct tvm t;
	struct kimg k = { 0 };
	const struct loader_args args = { .cmdline = "quiet",
		.rsdp = 0xf0000 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	build_bzimage(&k, &bz_default);
	REQUIRE(loader_load_image(&t.bvm, "bz", k.b, k.len, &args) == 0);
	CHECK_EQ(rd(&t, ZP + 0x070, 8), 0xf0000);
	CHECK_STR(tvm_cstr(&t, CMDLINE), "quiet");
	free(k.b);
	tvm_fini(&t);
}

TEST(bzimage_cmdline_length)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct bz b = bz_default;

	b.cmdline_size = 16;
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	build_bzimage(&k, &b);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.cmdline", "0123456789abcdef"); /* 16: fits */
	CHECK_EQ(tvm_load(&t), 0);
	CHECK_STR(tvm_cstr(&t, CMDLINE), "0123456789abcdef");
	tvm_set(&t, "boot.cmdline", "0123456789abcdefg");
	CHECK_FAILS(&t, "boot.cmdline of 17 bytes is longer than the 16 the "
	    "kernel takes (cmdline_size)");
	tvm_fini(&t);
}

TEST(bzimage_errors)
{
	struct kimg k = { 0 };
	struct bz b = bz_default;

	b.version = 0x0209;
	build_bzimage(&k, &b);
	expect_error(&k, 64 * MiB, NULL, "boot protocol version 2.09 is too "
	    "old (2.10 or later needed)");
	b = bz_default;
	b.loadflags = 0;
	build_bzimage(&k, &b);
	expect_error(&k, 64 * MiB, NULL, "zImage");
	/* Truncated inside the header, and after the setup sectors. */
	build_bzimage(&k, &bz_default);
	k.len = 0x250;
	expect_error(&k, 64 * MiB, NULL, "truncated bzImage setup header");
	build_bzimage(&k, &bz_default);
	k.len = 5 * 512;
	expect_error(&k, 64 * MiB, NULL, "no protected-mode kernel after "
	    "its 0xa00 bytes of setup");
	b = bz_default;
	b.kernel_alignment = 0x300000;
	build_bzimage(&k, &b);
	expect_error(&k, 64 * MiB, NULL, "bad bzImage kernel_alignment "
	    "0x300000");
	/* init_size from pref_address is more than the RAM there is. */
	build_bzimage(&k, &bz_default);
	expect_error(&k, 24 * MiB - 4 * KiB, NULL, "does not fit in guest "
	    "RAM below 4 GiB (pref_address 0x1000000");
}

TEST(bzimage_signature_needed)
{
	struct kimg k = { 0 };

	/* Without "HdrS" or the boot flag it is not a bzImage. */
	build_bzimage(&k, &bz_default);
	kimg_put(&k, 0x202, "HdrX", 4);
	expect_error(&k, 64 * MiB, NULL, "not a multiboot or ELF kernel");
	build_bzimage(&k, &bz_default);
	kimg_put16(&k, 0x1fe, 0);
	expect_error(&k, 64 * MiB, NULL, "not a multiboot or ELF kernel");
}

TEST(bzimage_initrd_errors)
{
	struct tvm t;
	struct kimg k = { 0 };
	const char *path;
	char want[160];

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	build_bzimage(&k, &bz_default);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.initrd", "/nonexistent/initrd.img");
	CHECK_FAILS(&t, "/nonexistent/initrd.img: No such file");
	/* 40 MiB free above the kernel's 16 + 8 MiB: 41 does not fit. */
	path = tvm_initrd(&t, 41 * MiB, false);
	snprintf(want, sizeof(want), "%s: initrd of %llu bytes does not fit",
	    path, 41 * MiB);
	CHECK_FAILS(&t, want);
	path = tvm_initrd(&t, 40 * MiB, false);
	CHECK_EQ(tvm_load(&t), 0);
	CHECK_EQ(rd(&t, ZP + 0x218, 4), 24 * MiB);
	tvm_fini(&t);
}

/* A multiboot header in the first 8 KiB wins over the bzImage header. */
TEST(detection_multiboot_first)
{
	struct tvm t;
	struct kimg k = { 0 };
	const uint32_t mb[] = { 0x1BADB002, 0x10000, -(0x1BADB002u + 0x10000),
		0x100800, 0x100000, 0, 0, 0x100000 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	build_bzimage(&k, &bz_default);
	kimg_put(&k, 0x800, mb, sizeof(mb));
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RAX), 0x2BADB002);
	tvm_fini(&t);
}

/* ---- PVH ---- */

static void
check_memmap(struct tvm *t, uint64_t map, uint64_t ram)
{
	const uint64_t want[][3] = { { 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x60400, 2 }, { 1 * MiB, ram - 1 * MiB, 1 } };

	for (int i = 0; i < 3; i++) {
		uint64_t e = map + 24 * (uint64_t)i;

		CHECK_EQ(rd(t, e, 8), want[i][0]);
		CHECK_EQ(rd(t, e + 8, 8), want[i][1]);
		CHECK_EQ(rd(t, e + 16, 4), want[i][2]);
		CHECK_EQ(rd(t, e + 20, 4), 0);
	}
}

static void
check_module(struct tvm *t, uint64_t si, uint64_t size)
{
	uint64_t mod = rd(t, si + 16, 8);
	uint64_t at = rd(t, mod, 8);

	CHECK_EQ(rd(t, si + 12, 4), 1);
	CHECK_EQ(rd(t, mod + 8, 8), size);
	CHECK_EQ(rd(t, mod + 16, 8), 0);
	CHECK_EQ(at & 0xfff, 0);
	CHECK(at >= PVH_PADDR + PVH_MEM);
	CHECK(at + size <= 64 * MiB);
	CHECK_EQ(at, (64 * MiB - size) & ~0xfffULL);
	CHECK_EQ(rd(t, at, 1), 5);
	CHECK_EQ(rd(t, at + size - 1, 1), (uint8_t)((size - 1) * 3 + 5));
}

TEST(pvh_start_info_and_registers)
{
	struct tvm t;
	struct kimg k = { 0 }, n = { 0 };
	uint64_t si;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	memset(tvm_gpa(&t, PVH_PADDR + PVH_TEXT, 0x1000), 0xaa, 0x1000);
	std_notes(&n, 8);
	build_pvh(&k, true, &n, 4, NULL, 0);
	free(n.b);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.cmdline", "console=hvc0 earlyprintk");
	tvm_initrd(&t, 0x1801, true);
	REQUIRE(tvm_load(&t) == 0);

	si = tvm_reg(&t, VM_REG_GUEST_RBX);
	check_entry32(&t, PVH_PADDR + 0x40, 0, si);
	/* Loaded by paddr, the bss zeroed. */
	CHECK_EQ(rd(&t, PVH_PADDR + PVH_TEXT - 1, 1), 0x5a);
	CHECK_EQ(rd(&t, PVH_PADDR + PVH_TEXT, 8), 0);
	/* The start info: above the kernel, page aligned, below 1 GiB. */
	CHECK(si >= PVH_PADDR + PVH_MEM);
	CHECK_EQ(si & 0xfff, 0);
	CHECK_EQ(rd(&t, si, 4), 0x336ec578);
	CHECK_EQ(rd(&t, si + 4, 4), 1);
	CHECK_EQ(rd(&t, si + 8, 4), 0);
	CHECK_STR(tvm_cstr(&t, rd(&t, si + 24, 8)), "console=hvc0 earlyprintk");
	CHECK_EQ(rd(&t, si + 32, 8), 0);
	CHECK_EQ(rd(&t, si + 48, 4), 3);
	check_memmap(&t, rd(&t, si + 40, 8), 64 * MiB);
	check_module(&t, si, 0x1801);
	tvm_fini(&t);
}

TEST(pvh_no_initrd_elf32_note_4_bytes)
{
	struct tvm t;
	struct kimg k = { 0 }, n = { 0 };
	const struct loader_args args = { .rsdp = 0xe0010 };
	uint64_t si;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	std_notes(&n, 4);
	build_pvh(&k, false, &n, 4, NULL, 0);
	free(n.b);
	REQUIRE(loader_load_image(&t.bvm, "pvh32", k.b, k.len, &args) == 0);
	free(k.b);
	si = tvm_reg(&t, VM_REG_GUEST_RBX);
	check_entry32(&t, PVH_PADDR + 0x40, 0, si);
	CHECK_EQ(rd(&t, si, 4), 0x336ec578);
	CHECK_EQ(rd(&t, si + 12, 4), 0); /* no modules */
	CHECK_EQ(rd(&t, si + 16, 8), 0);
	CHECK_EQ(rd(&t, si + 32, 8), 0xe0010);
	CHECK_STR(tvm_cstr(&t, rd(&t, si + 24, 8)), "");
	tvm_fini(&t);
}

/* Notes padded to 8 in a segment aligned to 8, as GNU tools make them. */
TEST(pvh_note_alignment_8)
{
	struct tvm t;
	struct kimg k = { 0 }, n = { 0 };
	static const uint8_t id[5] = { 1, 2, 3, 4, 5 };
	const struct loader_args args = { .cmdline = NULL };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	put_note(&n, 8, "GNU", 3, id, sizeof(id));
	put_note(&n, 8, "Linux", 18, id, 4); /* type 18, not Xen's */
	put_xen_entry(&n, 8, PVH_PADDR + 0x100, 8);
	build_pvh(&k, true, &n, 8, NULL, 0);
	free(n.b);
	REQUIRE(loader_load_image(&t.bvm, "pvh", k.b, k.len, &args) == 0);
	free(k.b);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), PVH_PADDR + 0x100);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_CR0), 0x11);
	tvm_fini(&t);
}

/* Build a PVH ELF64 with 'notes' and expect 'what' in the error. */
static void
expect_pvh_error(struct kimg *n, const char *what)
{
	struct kimg k = { 0 };

	build_pvh(&k, true, n, 4, NULL, 0);
	free(n->b);
	*n = (struct kimg){ 0 };
	expect_error(&k, 64 * MiB, NULL, what);
}

TEST(pvh_malformed_notes)
{
	struct kimg n = { 0 }, k = { 0 };

	/* A name running past the segment. */
	put_note(&n, 4, "GNU", 3, "abcd", 4);
	kimg_put32(&n, 0, 0x1000);
	expect_pvh_error(&n, "malformed ELF note at file offset 0x3000");
	/* A value running past it; a huge one must not wrap. */
	put_note(&n, 4, "GNU", 3, "abcd", 4);
	put_note(&n, 4, "Xen", 18, "abcd", 4);
	kimg_put32(&n, 20 + 4, 5);
	expect_pvh_error(&n, "malformed ELF note at file offset 0x3014");
	put_note(&n, 4, "Xen", 18, "abcd", 4);
	kimg_put32(&n, 4, 0xffffffff);
	expect_pvh_error(&n, "malformed ELF note");
	/* Values of the wrong size or beyond 32 bits. */
	put_note(&n, 4, "Xen", 18, "ab", 2);
	expect_pvh_error(&n, "PVH entry note has a 2-byte value");
	put_xen_entry(&n, 4, 0x100000000ULL, 8);
	expect_pvh_error(&n, "PVH entry 0x100000000 is not a 32-bit physical "
	    "address");
	/* An entry outside what was loaded. */
	put_xen_entry(&n, 4, PVH_PADDR + PVH_MEM, 4);
	expect_pvh_error(&n, "PVH entry 0x1003000 is not in a loaded segment");
	/* The note segment beyond the end of the file. */
	std_notes(&n, 8);
	build_pvh(&k, true, &n, 4, NULL, 0);
	free(n.b);
	n = (struct kimg){ 0 };
	k.len -= 4;
	expect_error(&k, 64 * MiB, NULL, "truncated ELF file: note segment 1 "
	    "(0x3000+0x54) is past the end (0x3050 bytes)");
}

TEST(pvh_missing_note_is_plain_elf)
{
	struct tvm t;
	struct kimg k = { 0 }, n = { 0 };
	static const uint8_t id[4] = { 1 };
	const struct loader_args args = { .cmdline = NULL };

	/* Only other notes (and a short tail): a plain ELF64 kernel. */
	put_note(&n, 4, "GNU", 3, id, sizeof(id));
	put_note(&n, 4, "Xen", 17, id, sizeof(id));
	kimg_put8(&n, n.len + 7, 0);
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	build_pvh(&k, true, &n, 4, NULL, 0);
	REQUIRE(loader_load_image(&t.bvm, "elf", k.b, k.len, &args) == 0);
	free(k.b);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), PVH_PADDR);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_CS), 0x08);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_EFER), 0x500);
	tvm_fini(&t);
	/* ... which takes no command line: the existing rule. */
	k = (struct kimg){ 0 };
	build_pvh(&k, true, &n, 4, NULL, 0);
	free(n.b);
	expect_error(&k, 64 * MiB, "x", "takes no boot.cmdline or "
	    "boot.initrd");
}

TEST(pvh_cmdline_and_initrd_errors)
{
	struct tvm t;
	struct kimg k = { 0 }, n = { 0 };
	char line[2049];
	const char *path;
	char want[160];

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 64 * MiB));
	std_notes(&n, 8);
	build_pvh(&k, true, &n, 4, NULL, 0);
	free(n.b);
	tvm_file(&t, "boot.kernel", &k);
	memset(line, 'a', sizeof(line) - 1);
	line[2048] = '\0';
	tvm_set(&t, "boot.cmdline", line);
	CHECK_FAILS(&t, "boot.cmdline of 2048 bytes is longer than the 2047 "
	    "a PVH kernel takes");
	line[2047] = '\0';
	tvm_set(&t, "boot.cmdline", line);
	CHECK_EQ(tvm_load(&t), 0);
	CHECK_EQ(strlen(tvm_cstr(&t, rd(&t, tvm_reg(&t, VM_REG_GUEST_RBX) + 24, 8))),
	    2047);
	path = tvm_initrd(&t, 60 * MiB, false);
	snprintf(want, sizeof(want), "%s: initrd of %llu bytes does not fit",
	    path, 60 * MiB);
	CHECK_FAILS(&t, want);
	tvm_fini(&t);
}

/* ---- a real kernel, when one is installed ---- */

/* Load the bzImage at 'path' into a 512 MiB VM and check the result. */
static void
load_real_bzimage(const char *path)
{
	struct tvm t;
	struct kimg m = { 0 };
	uint8_t hdr[0x270];
	FILE *f = fopen(path, "rb");
	uint64_t load;

	REQUIRE(f != NULL);
	CHECK_EQ(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	fclose(f);
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 512 * MiB));
	tvm_set(&t, "boot.kernel", path);
	tvm_set(&t, "boot.cmdline", "console=ttyS0 panic=-1");
	kimg_put(&m, 0, "070701", 6);
	tvm_file(&t, "boot.initrd", &m);
	if (tvm_load(&t) != 0)
		fprintf(stderr, "%s\n", t.bvm.err);
	load = rd(&t, ZP + 0x214, 4);
	/* A kernel this size fits at pref_address in 512 MiB. */
	CHECK_EQ(load, loader_rd64(hdr + 0x258));
	CHECK_EQ(rd(&t, ZP + 0x202, 4), 0x53726448);
	CHECK_EQ(rd(&t, ZP + 0x206, 2), loader_rd16(hdr + 0x206));
	CHECK_EQ(rd(&t, ZP + 0x260, 4), loader_rd32(hdr + 0x260));
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), load + (hdr[0x236] & 1 ? 0x200
	    : 0));
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RSI), ZP);
	CHECK_EQ(rd(&t, ZP + 0x21c, 4), 6);
	CHECK_STR(tvm_cstr(&t, CMDLINE), "console=ttyS0 panic=-1");
	printf("real_bzimage_loads: %s, protocol %u.%02u, at 0x%llx, "
	    "%s entry\n", path, hdr[0x207], hdr[0x206],
	    (unsigned long long)load, hdr[0x236] & 1 ? "64-bit" : "32-bit");
	tvm_fini(&t);
}

/*
 * Debian's kernel (linux-image-amd64) when installed, or any bzImage
 * named by BHYVE_TEST_BZIMAGE (memtest86+'s .bin files are bzImages too).
 */
TEST(real_bzimage_loads)
{
	const char *env = getenv("BHYVE_TEST_BZIMAGE");
	glob_t g;

	if (env != NULL && *env != '\0') {
		load_real_bzimage(env);
		return;
	}
	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0) {
		printf("SKIP real_bzimage_loads: no /boot/vmlinuz-*\n");
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		load_real_bzimage(g.gl_pathv[i]);
	globfree(&g);
}

/* ---- running the entries' first instructions on KVM ---- */

static int
next_exit(struct vcpu *vcpu, struct vm_exit *vme)
{
	int error;

	do
		error = vm_run(vcpu, vme);
	while (error == 0 && vme->exitcode == VM_EXITCODE_BOGUS);
	return error;
}

static void
expect_out(struct tvm *t, uint16_t port, uint32_t val)
{
	struct vm_exit vme = { 0 };

	CHECK_EQ(next_exit(t->vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_INOUT);
	CHECK_EQ(vme.u.inout.port, port);
	CHECK_EQ(vme.u.inout.eax, val);
}

static void
expect_halt(struct tvm *t)
{
	struct vm_exit vme = { 0 };

	CHECK_EQ(next_exit(t->vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_SUSPENDED);
	CHECK_EQ(vme.u.suspended.how, VM_SUSPEND_HALT);
}

/* The same bytes run in 32- and 64-bit mode: no REX prefix. */
static const uint8_t zp_program[] = {
	0x89, 0xf0,			    /* mov eax, esi */
	0xe7, 0x80,			    /* out 0x80, eax */
	0x8b, 0x86, 0x02, 0x02, 0x00, 0x00, /* mov eax, [rsi + 0x202] */
	0xe7, 0x84,			    /* out 0x84, eax: "HdrS" */
	0x31, 0xc0,			    /* xor eax, eax */
	0x66, 0x8c, 0xc8,		    /* mov ax, cs */
	0xe7, 0x88,			    /* out 0x88, eax */
	0xf4,				    /* hlt */
};

static void
run_bzimage(uint16_t xloadflags)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct bz b = bz_default;

	b.xloadflags = xloadflags;
	REQUIRE(tvm_init(&t, VMM_BACKEND_KVM, 64 * MiB));
	build_bzimage(&k, &b);
	kimg_put(&k, bz_kernel_off(&b) + (xloadflags & 1 ? 0x200 : 0),
	    zp_program, sizeof(zp_program));
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	expect_out(&t, 0x80, ZP);
	expect_out(&t, 0x84, 0x53726448);
	expect_out(&t, 0x88, 0x10);
	expect_halt(&t);
	tvm_fini(&t);
}

TEST(kvm_runs_bzimage_entries)
{
	if (!test_have_kvm()) {
		printf("SKIP kvm_runs_bzimage_entries: no /dev/kvm\n");
		return;
	}
	run_bzimage(0x03);
	run_bzimage(0x00);
}

static const uint8_t pvh_program[] = {
	0x89, 0xd8, /* mov eax, ebx */
	0xe7, 0x80, /* out 0x80, eax */
	0x8b, 0x03, /* mov eax, [ebx]: the magic */
	0xe7, 0x84, /* out 0x84, eax */
	0x8b, 0x43, 0x18, /* mov eax, [ebx + 24]: cmdline_paddr */
	0x0f, 0xb6, 0x00, /* movzx eax, byte [eax] */
	0xe7, 0x88, /* out 0x88, eax */
	0xf4,	    /* hlt */
};

TEST(kvm_runs_pvh_entry)
{
	struct tvm t;
	struct kimg k = { 0 }, n = { 0 };

	if (!test_have_kvm()) {
		printf("SKIP kvm_runs_pvh_entry: no /dev/kvm\n");
		return;
	}
	REQUIRE(tvm_init(&t, VMM_BACKEND_KVM, 64 * MiB));
	put_xen_entry(&n, 4, PVH_PADDR, 8);
	build_pvh(&k, true, &n, 4, pvh_program, sizeof(pvh_program));
	free(n.b);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.cmdline", "Linux");
	REQUIRE(tvm_load(&t) == 0);
	expect_out(&t, 0x80, (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX));
	expect_out(&t, 0x84, 0x336ec578);
	expect_out(&t, 0x88, 'L');
	expect_halt(&t);
	tvm_fini(&t);
}

TEST_MAIN(TEST_ENTRY(bzimage_64bit_entry_and_zero_page)
    TEST_ENTRY(bzimage_32bit_fallback) TEST_ENTRY(bzimage_placement)
    TEST_ENTRY(bzimage_initrd_limits) TEST_ENTRY(bzimage_initrd_above_4g)
    TEST_ENTRY(bzimage_rsdp_from_the_caller)
    TEST_ENTRY(bzimage_cmdline_length) TEST_ENTRY(bzimage_errors)
    TEST_ENTRY(bzimage_signature_needed) TEST_ENTRY(bzimage_initrd_errors)
    TEST_ENTRY(detection_multiboot_first)
    TEST_ENTRY(pvh_start_info_and_registers)
    TEST_ENTRY(pvh_no_initrd_elf32_note_4_bytes)
    TEST_ENTRY(pvh_note_alignment_8) TEST_ENTRY(pvh_malformed_notes)
    TEST_ENTRY(pvh_missing_note_is_plain_elf)
    TEST_ENTRY(pvh_cmdline_and_initrd_errors) TEST_ENTRY(real_bzimage_loads)
    TEST_ENTRY(kvm_runs_bzimage_entries) TEST_ENTRY(kvm_runs_pvh_entry))
