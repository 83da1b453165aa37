/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel loaders against a fake VM (null backend: real guest RAM and
 * register storage, no execution): kernels are built here, written to
 * temporary files and loaded through bhyve_load_kernel().  With /dev/kvm,
 * a multiboot and an ELF64 kernel also run their first instructions.
 */
#include <elf.h>
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

#define MB_MAGIC 0x1BADB002u
#define MB_AOUT (1u << 16)

/* ---- building kernel images ---- */

/* One segment for the ELF builder; its data goes at file offset 'off'. */
struct tseg {
	uint64_t paddr, vaddr;
	const void *data;
	uint64_t filesz, memsz;
	uint64_t off;
};

static void
put_ehdr(struct kimg *k, bool is64, uint64_t entry, int nseg)
{
	if (is64) {
		Elf64_Ehdr e = { .e_type = ET_EXEC, .e_machine = EM_X86_64,
			.e_version = EV_CURRENT, .e_entry = entry,
			.e_phoff = sizeof(Elf64_Ehdr),
			.e_ehsize = sizeof(Elf64_Ehdr),
			.e_phentsize = sizeof(Elf64_Phdr),
			.e_phnum = (uint16_t)nseg };

		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS64;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		kimg_put(k, 0, &e, sizeof(e));
	} else {
		Elf32_Ehdr e = { .e_type = ET_EXEC, .e_machine = EM_386,
			.e_version = EV_CURRENT, .e_entry = (uint32_t)entry,
			.e_phoff = sizeof(Elf32_Ehdr),
			.e_ehsize = sizeof(Elf32_Ehdr),
			.e_phentsize = sizeof(Elf32_Phdr),
			.e_phnum = (uint16_t)nseg };

		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS32;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		kimg_put(k, 0, &e, sizeof(e));
	}
}

static void
put_phdr(struct kimg *k, bool is64, int i, const struct tseg *s)
{
	if (is64) {
		Elf64_Phdr p = { .p_type = PT_LOAD, .p_offset = s->off,
			.p_vaddr = s->vaddr, .p_paddr = s->paddr,
			.p_filesz = s->filesz, .p_memsz = s->memsz,
			.p_flags = PF_R | PF_W | PF_X, .p_align = 0x1000 };

		kimg_put(k, sizeof(Elf64_Ehdr) + (size_t)i * sizeof(p), &p,
		    sizeof(p));
	} else {
		Elf32_Phdr p = { .p_type = PT_LOAD,
			.p_offset = (uint32_t)s->off,
			.p_vaddr = (uint32_t)s->vaddr,
			.p_paddr = (uint32_t)s->paddr,
			.p_filesz = (uint32_t)s->filesz,
			.p_memsz = (uint32_t)s->memsz,
			.p_flags = PF_R | PF_W | PF_X, .p_align = 0x1000 };

		kimg_put(k, sizeof(Elf32_Ehdr) + (size_t)i * sizeof(p), &p,
		    sizeof(p));
	}
}

/* An ELF executable; segments without 'off' get 0x1000, 0x2000, ... */
static void
build_elf(struct kimg *k, bool is64, uint64_t entry, struct tseg *segs,
    int n)
{
	put_ehdr(k, is64, entry, n);
	for (int i = 0; i < n; i++) {
		if (segs[i].off == 0)
			segs[i].off = 0x1000 * (uint64_t)(i + 1);
		put_phdr(k, is64, i, &segs[i]);
		if (segs[i].data != NULL)
			kimg_put(k, segs[i].off, segs[i].data, segs[i].filesz);
	}
}

struct aout {
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
};

static void
put_mb_header(struct kimg *k, size_t off, uint32_t flags,
    const struct aout *a)
{
	kimg_put32(k, off, MB_MAGIC);
	kimg_put32(k, off + 4, flags);
	kimg_put32(k, off + 8, -(MB_MAGIC + flags));
	if (a == NULL)
		return;
	kimg_put32(k, off + 12, a->header_addr);
	kimg_put32(k, off + 16, a->load_addr);
	kimg_put32(k, off + 20, a->load_end_addr);
	kimg_put32(k, off + 24, a->bss_end_addr);
	kimg_put32(k, off + 28, a->entry_addr);
}

/* ---- the fake VM ---- */

static uint32_t
rd32(struct tvm *t, uint64_t addr)
{
	uint8_t *p = tvm_gpa(t, addr, 4);

	return p ? loader_rd32(p) : 0xdeadbeef;
}

/* ---- the kernels ---- */

static const uint8_t text[] = "TEXT-SEGMENT-BYTES";
static const uint8_t data[] = "data-segment";

/*
 * A multiboot ELF32 kernel linked at 0xc0100000, loaded at 1 MiB (text)
 * and 2 MiB (data + 0x3000 bytes of bss); entry at text+4.
 */
static void
build_mb_elf(struct kimg *k, uint32_t flags)
{
	struct tseg s[2] = {
		{ .paddr = 1 * MiB, .vaddr = 0xc0100000, .data = text,
		    .filesz = sizeof(text), .memsz = sizeof(text) },
		{ .paddr = 2 * MiB, .vaddr = 0xc0200000, .data = data,
		    .filesz = sizeof(data), .memsz = sizeof(data) + 0x3000 },
	};

	build_elf(k, false, 0xc0100004, s, 2);
	put_mb_header(k, 0x100, flags, NULL);
}

static void
check_flat32(struct tvm *t, uint64_t eip)
{
	struct seg_desc cs = tvm_desc(t, VM_REG_GUEST_CS);
	struct seg_desc ds = tvm_desc(t, VM_REG_GUEST_DS);
	struct seg_desc tr = tvm_desc(t, VM_REG_GUEST_TR);
	struct seg_desc gdtr = tvm_desc(t, VM_REG_GUEST_GDTR);

	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RIP), eip);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CR0), 0x11);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CR4), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_EFER), 0);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RFLAGS), 0x2);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_CS), 0x10);
	CHECK_EQ(cs.base, 0);
	CHECK_EQ(cs.limit, 0xffffffff);
	CHECK_EQ(cs.access, 0xc09b);
	CHECK_EQ(ds.base, 0);
	CHECK_EQ(ds.limit, 0xffffffff);
	CHECK_EQ(ds.access, 0xc093);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_DS), 0x18);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_SS), 0x18);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_GS), 0x18);
	CHECK_EQ(tr.access, 0x8b);
	CHECK_EQ(gdtr.base, 0x500);
	/* The GDT holds what the hidden parts say: flat 32-bit code, data. */
	CHECK_EQ(rd32(t, 0x500 + 0x10), 0x0000ffff);
	CHECK_EQ(rd32(t, 0x500 + 0x14), 0x00cf9b00);
	CHECK_EQ(rd32(t, 0x500 + 0x18), 0x0000ffff);
	CHECK_EQ(rd32(t, 0x500 + 0x1c), 0x00cf9300);
	CHECK_EQ(gdtr.limit, 0x2f);
	CHECK_EQ(tvm_reg(t, VM_REG_GUEST_RSP), 0);
}

/* ---- multiboot ---- */

TEST(multiboot_elf_segments_and_registers)
{
	struct tvm t;
	struct kimg k = { 0 };
	uint8_t *p;
	uint32_t mbi;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	p = tvm_gpa(&t, 2 * MiB, 0x4000);
	memset(p, 0xaa, 0x4000); /* the bss must come out zeroed */
	build_mb_elf(&k, 0x3);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.cmdline", "console=ttyS0 quiet");
	REQUIRE(tvm_load(&t) == 0);

	CHECK(memcmp(tvm_gpa(&t, 1 * MiB, sizeof(text)), text, sizeof(text)) == 0);
	CHECK(memcmp(p, data, sizeof(data)) == 0);
	CHECK_EQ(p[sizeof(data)], 0);
	CHECK_EQ(p[sizeof(data) + 0x2fff], 0);
	CHECK_EQ(p[sizeof(data) + 0x3000], 0xaa);
	/* The virtual entry 0xc0100004 runs at its physical address. */
	check_flat32(&t, 1 * MiB + 4);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RAX), 0x2BADB002);
	mbi = (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX);
	CHECK(mbi >= 2 * MiB + 0x4000);
	CHECK(mbi < 16 * MiB);
	CHECK_EQ(mbi & 0xfff, 0);
	CHECK_EQ(rd32(&t, mbi), 0x1 | 0x4 | 0x40 | 0x200);
	CHECK_EQ(rd32(&t, mbi + 4), 639);
	CHECK_EQ(rd32(&t, mbi + 8), 15 * 1024);
	CHECK_STR(tvm_cstr(&t, rd32(&t, mbi + 16)), "console=ttyS0 quiet");
	CHECK_STR(tvm_cstr(&t, rd32(&t, mbi + 64)), "bhyve");
	CHECK_EQ(rd32(&t, mbi + 20), 0);
	tvm_fini(&t);
}

/* Check the mmap entries against 'want' (base, len, type triples). */
static void
check_mmap(struct tvm *t, uint32_t mbi, const uint64_t (*want)[3], int n)
{
	uint32_t addr = rd32(t, mbi + 48);

	CHECK_EQ(rd32(t, mbi + 44), 24 * n);
	for (int i = 0; i < n; i++) {
		uint8_t *e = tvm_gpa(t, addr + 24 * (uint64_t)i, 24);

		REQUIRE(e != NULL);
		CHECK_EQ(loader_rd32(e), 20);
		CHECK_EQ(loader_rd64(e + 4), want[i][0]);
		CHECK_EQ(loader_rd64(e + 12), want[i][1]);
		CHECK_EQ(loader_rd32(e + 20), want[i][2]);
	}
}

TEST(multiboot_memory_map_small_vm)
{
	static const uint64_t want[][3] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x60400, 2 },
		{ 1 * MiB, 15 * MiB, 1 },
	};
	struct tvm t;
	struct kimg k = { 0 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	build_mb_elf(&k, 0);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	check_mmap(&t, (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX), want, 3);
	/* No boot.cmdline: GRUB 2 still passes an empty string. */
	CHECK_STR(tvm_cstr(&t, rd32(&t, (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX) +
	    16)), "");
	tvm_fini(&t);
}

TEST(multiboot_memory_map_above_4g)
{
	static const uint64_t want[][3] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x60400, 2 },
		{ 1 * MiB, 3 * GiB - 1 * MiB, 1 },
		{ 4 * GiB, 2 * GiB, 1 },
	};
	struct tvm t;
	struct kimg k = { 0 };
	uint32_t mbi;

	/* 5 GiB of RAM: untouched memfd pages cost nothing. */
	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 5 * GiB));
	build_mb_elf(&k, 0x2);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	mbi = (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX);
	check_mmap(&t, mbi, want, 4);
	CHECK_EQ(rd32(&t, mbi + 4), 639);
	CHECK_EQ(rd32(&t, mbi + 8), (3 * GiB - 1 * MiB) / KiB);
	tvm_fini(&t);
}

TEST(multiboot_module)
{
	struct tvm t;
	struct kimg k = { 0 }, m = { 0 };
	const char *mpath;
	uint32_t mbi, mods, start, end;
	uint8_t content[5000];

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 7);
	kimg_put(&m, 0, content, sizeof(content));
	mpath = tvm_file(&t, "boot.initrd", &m);
	build_mb_elf(&k, 0x1);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	mbi = (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX);
	CHECK_EQ(rd32(&t, mbi) & 0x8, 0x8);
	CHECK_EQ(rd32(&t, mbi + 20), 1);
	mods = rd32(&t, mbi + 24);
	start = rd32(&t, mods);
	end = rd32(&t, mods + 4);
	CHECK_EQ(start & 0xfff, 0);
	CHECK(start >= 2 * MiB + 0x4000); /* above the kernel's bss */
	CHECK_EQ(end - start, sizeof(content));
	CHECK(memcmp(tvm_gpa(&t, start, sizeof(content)), content,
	    sizeof(content)) == 0);
	CHECK_STR(tvm_cstr(&t, rd32(&t, mods + 8)), mpath);
	CHECK(mbi >= end); /* the information comes after the module */
	tvm_fini(&t);
}

TEST(multiboot_aout_kludge)
{
	struct tvm t;
	struct kimg k = { 0 };
	/* 0x200 bytes of file prefix that are not loaded, then the image. */
	const struct aout a = { .header_addr = 0x300010, .load_addr = 0x300000,
		.load_end_addr = 0x300100, .bss_end_addr = 0x302000,
		.entry_addr = 0x300040 };
	uint8_t *p;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	p = tvm_gpa(&t, 0x300000, 0x3000);
	memset(p, 0xaa, 0x3000);
	kimg_put(&k, 0, "not loaded", 10);
	kimg_put(&k, 0x200, "IMAGE", 5);
	put_mb_header(&k, 0x210, MB_AOUT, &a);
	kimg_put(&k, 0x2ff, "E", 1);
	kimg_put(&k, 0x300, "after load_end", 14);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	CHECK(memcmp(p, "IMAGE", 5) == 0);
	CHECK_EQ(loader_rd32(p + 0x10), MB_MAGIC);
	CHECK_EQ(p[0xff], 'E');
	CHECK_EQ(p[0x100], 0); /* bss, not the bytes after load_end_addr */
	CHECK_EQ(p[0x1fff], 0);
	check_flat32(&t, 0x300040);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RAX), 0x2BADB002);
	/* The boot information starts on the page after the bss. */
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RBX), 0x302000);
	tvm_fini(&t);
}

TEST(multiboot_aout_to_end_of_file)
{
	struct tvm t;
	struct kimg k = { 0 };
	const struct aout a = { .header_addr = 0x100000,
		.load_addr = 0x100000, .entry_addr = 0x100020 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	put_mb_header(&k, 0, MB_AOUT | 0x4, &a);
	kimg_put(&k, 0x1fff, "Z", 1);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	CHECK_EQ(rd32(&t, 0x100000), MB_MAGIC);
	CHECK_EQ(*tvm_gpa(&t, 0x101fff, 1), 'Z');
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), 0x100020);
	/* The boot data starts on the page after the image's last byte. */
	CHECK(tvm_reg(&t, VM_REG_GUEST_RBX) >= 0x102000);
	tvm_fini(&t);
}

/* GRUB's order: the header's address fields win over ELF headers. */
TEST(multiboot_aout_fields_win_over_elf)
{
	struct tvm t;
	struct kimg k = { 0 };
	const struct aout a = { .header_addr = 0x500100,
		.load_addr = 0x500000, .entry_addr = 0x500010 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	build_mb_elf(&k, 0);
	put_mb_header(&k, 0x100, MB_AOUT, &a);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	CHECK(memcmp(tvm_gpa(&t, 0x500000, 4), ELFMAG, 4) == 0);
	CHECK_EQ(*tvm_gpa(&t, 1 * MiB, 1), 0); /* the ELF segment is not loaded */
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), 0x500010);
	tvm_fini(&t);
}

/* ---- plain ELF ---- */

TEST(plain_elf32)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 0x400000, .vaddr = 0x400000, .data = text,
		.filesz = sizeof(text), .memsz = 0x1000 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	build_elf(&k, false, 0x400008, &s, 1);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	CHECK(memcmp(tvm_gpa(&t, 0x400000, sizeof(text)), text,
	    sizeof(text)) == 0);
	check_flat32(&t, 0x400008);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RAX), 0);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RBX), 0);
	tvm_fini(&t);
}

/* A bss-only segment's file offset means nothing, even past EOF. */
TEST(elf_bss_segment_offset_ignored)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct tseg s[2] = {
		{ .paddr = 1 * MiB, .vaddr = 1 * MiB, .data = text,
		    .filesz = sizeof(text), .memsz = sizeof(text) },
		{ .paddr = 2 * MiB, .vaddr = 2 * MiB, .memsz = 0x1000,
		    .off = ~0ULL - 8 },
	};

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	memset(tvm_gpa(&t, 2 * MiB, 0x1000), 0xaa, 0x1000);
	build_elf(&k, true, 1 * MiB, s, 2);
	tvm_file(&t, "boot.kernel", &k);
	CHECK_EQ(tvm_load(&t), 0);
	CHECK_EQ(*tvm_gpa(&t, 2 * MiB, 1), 0);
	CHECK_EQ(*tvm_gpa(&t, 2 * MiB + 0xfff, 1), 0);
	tvm_fini(&t);
}

/* Walk the guest's 4-level tables as the MMU would; ~0 if unmapped. */
static uint64_t
walk(struct tvm *t, uint64_t cr3, uint64_t va)
{
	uint64_t e = cr3;
	int shift = 39;

	for (int level = 4; level >= 2; level--, shift -= 9) {
		uint8_t *p = tvm_gpa(t, (e & 0xffffffffff000ULL) +
		    ((va >> shift) & 511) * 8, 8);

		if (p == NULL)
			return ~0ULL;
		e = loader_rd64(p);
		if (!(e & 1) || !(e & 2))
			return ~0ULL;
		if (level == 2)
			return (e & 0xfffffffe00000ULL) | (va & 0x1fffff);
		if (e & 0x80)
			return ~0ULL; /* no 1 GiB pages are made */
	}
	return ~0ULL;
}

TEST(plain_elf64_long_mode)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 0x1000000, .vaddr = 0xffffffff81000000,
		.data = text, .filesz = sizeof(text), .memsz = 0x2000 };
	static const uint64_t probes[] = { 0, 0x1234, 0x1ffffff, 0x40000000,
		0x12345678, 3 * GiB + 0x10, 4 * GiB - 1 };
	struct seg_desc cs, ds;
	uint64_t cr3;
	uint8_t *pd;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 32 * MiB));
	build_elf(&k, true, 0xffffffff81000010, &s, 1);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	CHECK(memcmp(tvm_gpa(&t, 0x1000000, sizeof(text)), text,
	    sizeof(text)) == 0);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), 0x1000010);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_CR0), 0x80000011);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_CR4), 0x20);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_EFER), 0x500);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RFLAGS), 0x2);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RSP), 0);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_CS), 0x08);
	cs = tvm_desc(&t, VM_REG_GUEST_CS);
	ds = tvm_desc(&t, VM_REG_GUEST_DS);
	CHECK_EQ(cs.access & (SEG_ACCESS_L | SEG_ACCESS_DB), SEG_ACCESS_L);
	CHECK_EQ(cs.access & 0xff, 0x9b);
	CHECK_EQ(ds.access, 0xc093);
	/* The GDT's 64-bit code descriptor has L set and D clear. */
	CHECK_EQ(rd32(&t, 0x500 + 0x0c), 0x00af9b00);
	cr3 = tvm_reg(&t, VM_REG_GUEST_CR3);
	CHECK_EQ(cr3, 0x1000);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		CHECK_EQ(walk(&t, cr3, probes[i]), probes[i]);
	CHECK_EQ(walk(&t, cr3, 4 * GiB), ~0ULL);
	/* RAM is cached, the 3-4 GiB hole is not. */
	pd = tvm_gpa(&t, 0x3000, 0x4000);
	REQUIRE(pd != NULL);
	CHECK_EQ(loader_rd64(pd) & 0x18, 0);
	CHECK_EQ(loader_rd64(pd + 8 * 1536) & 0x18, 0x18);
	tvm_fini(&t);
}

TEST(bootrom_skips_the_loader)
{
	struct tvm t;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	tvm_set(&t, "lpc.bootrom", "/nonexistent/rom.fd");
	tvm_set(&t, "boot.kernel", "/nonexistent/kernel");
	CHECK_EQ(tvm_load(&t), 0);
	CHECK_EQ(tvm_reg(&t, VM_REG_GUEST_RIP), 0);
	tvm_fini(&t);
}

/* ---- errors: each one names its culprit ---- */

TEST(error_no_kernel)
{
	struct tvm t;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	CHECK_FAILS(&t, "boot.kernel");
	tvm_fini(&t);
}

TEST(error_missing_files)
{
	struct tvm t;
	struct kimg k = { 0 };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	tvm_set(&t, "boot.kernel", "/nonexistent/kernel.elf");
	CHECK_FAILS(&t, "/nonexistent/kernel.elf: No such file");
	build_mb_elf(&k, 0);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.initrd", "/nonexistent/initrd.img");
	CHECK_FAILS(&t, "/nonexistent/initrd.img: No such file");
	tvm_set(&t, "boot.initrd", "/tmp");
	CHECK_FAILS(&t, "/tmp: not a regular file");
	tvm_fini(&t);
}

TEST(error_not_a_kernel)
{
	struct tvm t;
	struct kimg k = { 0 };
	const char *path;
	char want[128];

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	kimg_put(&k, 0, "#!/bin/sh\necho hello\n", 21);
	path = tvm_file(&t, "boot.kernel", &k);
	snprintf(want, sizeof(want), "%s: not a multiboot or ELF kernel", path);
	CHECK_FAILS(&t, want);
	tvm_fini(&t);
}

/* Load 'k' as the kernel and expect an error with 'what' in it. */
static void
expect_kernel_error(struct kimg *k, uint64_t memsize, const char *what)
{
	struct tvm t;
	const char *path;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, memsize));
	path = tvm_file(&t, "boot.kernel", k);
	CHECK_FAILS(&t, what);
	CHECK(strncmp(t.bvm.err, path, strlen(path)) == 0);
	tvm_fini(&t);
}

TEST(error_truncated_elf)
{
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 1 * MiB, .vaddr = 1 * MiB, .data = text,
		.filesz = sizeof(text), .memsz = sizeof(text) };

	build_elf(&k, true, 1 * MiB, &s, 1);
	k.len = 40; /* inside the ELF64 header */
	expect_kernel_error(&k, 16 * MiB, "truncated ELF header");

	build_elf(&k, true, 1 * MiB, &s, 1);
	k.len = sizeof(Elf64_Ehdr) + 10; /* inside the program header */
	expect_kernel_error(&k, 16 * MiB, "program headers past the end");

	build_elf(&k, false, 1 * MiB, &s, 1);
	k.len = 0x1000 + 4; /* segment data cut short */
	expect_kernel_error(&k, 16 * MiB, "segment 0 data 0x1000+0x13 is "
	    "past the end");
}

TEST(error_segment_offset_overflow)
{
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 1 * MiB, .vaddr = 1 * MiB,
		.filesz = 0x100, .memsz = 0x100, .off = ~0ULL - 0x10 };

	build_elf(&k, true, 1 * MiB, &s, 1);
	expect_kernel_error(&k, 16 * MiB, "past the end");
	s = (struct tseg){ .paddr = ~0ULL - 0x10, .vaddr = 0, .filesz = 0,
		.memsz = 0x100, .off = 0x10 };
	build_elf(&k, true, 0, &s, 1);
	expect_kernel_error(&k, 16 * MiB, "wraps around");
}

TEST(error_bad_multiboot_header)
{
	struct kimg k = { 0 };

	build_mb_elf(&k, 0);
	kimg_put32(&k, 0x108, 0x12345678);
	expect_kernel_error(&k, 16 * MiB, "multiboot header at offset 0x100 "
	    "has a bad checksum");

	build_mb_elf(&k, 1u << 5); /* a required feature we do not know */
	expect_kernel_error(&k, 16 * MiB, "unsupported features (flags 0x20)");

	put_mb_header(&k, 0, MB_AOUT, &(struct aout){ 0 });
	k.len = 20; /* the address fields are cut off */
	expect_kernel_error(&k, 16 * MiB, "truncated multiboot header");

	kimg_put32(&k, 0, MB_MAGIC);
	kimg_put32(&k, 4, 0); /* the checksum is missing */
	expect_kernel_error(&k, 16 * MiB, "truncated multiboot header at "
	    "offset 0x0");

	put_mb_header(&k, 0, 0, NULL); /* neither ELF nor address fields */
	kimg_put(&k, 0x100, "x", 1);
	expect_kernel_error(&k, 16 * MiB, "is not ELF and its header has no "
	    "address fields");
}

TEST(error_bad_aout_fields)
{
	struct kimg k = { 0 };
	struct aout a = { .header_addr = 0x100000, .load_addr = 0x100010,
		.entry_addr = 0x100010 };

	put_mb_header(&k, 0, MB_AOUT, &a); /* header below load_addr */
	expect_kernel_error(&k, 16 * MiB, "starts the image before the file");

	a = (struct aout){ .header_addr = 0x100000, .load_addr = 0x100000,
		.load_end_addr = 0x110000, .entry_addr = 0x100000 };
	put_mb_header(&k, 0, MB_AOUT, &a); /* load_end past EOF */
	expect_kernel_error(&k, 16 * MiB, "truncated multiboot image");

	a = (struct aout){ .header_addr = 0x100000, .load_addr = 0x100000,
		.load_end_addr = 0x100020, .bss_end_addr = 0x100010,
		.entry_addr = 0x100000 };
	put_mb_header(&k, 0, MB_AOUT, &a);
	expect_kernel_error(&k, 16 * MiB, "bss_end_addr 0x100010");

	a = (struct aout){ .header_addr = 0x100000, .load_addr = 0x100000,
		.load_end_addr = 0x100020, .entry_addr = 0x100020 };
	put_mb_header(&k, 0, MB_AOUT, &a);
	expect_kernel_error(&k, 16 * MiB, "entry point 0x100020 is not in");
}

TEST(error_kernel_placement)
{
	struct kimg k = { 0 };
	struct tseg s[2] = {
		{ .paddr = 1 * MiB, .vaddr = 1 * MiB, .data = text,
		    .filesz = sizeof(text), .memsz = 32 * MiB },
		{ .paddr = 2 * MiB, .vaddr = 2 * MiB, .memsz = 0x1000 },
	};

	build_elf(&k, false, 1 * MiB, s, 1);
	expect_kernel_error(&k, 16 * MiB, "segment 0x100000-0x20fffff does "
	    "not fit in guest RAM (16 MiB)");

	s[0].paddr = 0x90000;
	s[0].memsz = 0x20000;
	build_elf(&k, false, 0x90000, s, 1);
	expect_kernel_error(&k, 16 * MiB, "segment 0x90000-0xaffff overlaps "
	    "the reserved area 0x9fc00-0xfffff");

	s[0].paddr = 0x6000;
	s[0].memsz = 0x2000;
	build_elf(&k, false, 0x6000, s, 1);
	expect_kernel_error(&k, 16 * MiB, "segment 0x6000-0x7fff overlaps the "
	    "loader's area");

	s[0].paddr = 1 * MiB;
	s[0].memsz = 2 * MiB;
	build_elf(&k, false, 1 * MiB, s, 2);
	expect_kernel_error(&k, 16 * MiB, "segments 0x100000-0x2fffff and "
	    "0x200000-0x200fff overlap");
}

TEST(error_entry_outside_loaded_code)
{
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 1 * MiB, .vaddr = 1 * MiB, .data = text,
		.filesz = sizeof(text), .memsz = 0x1000 };

	build_elf(&k, false, 1 * MiB + 0x800, &s, 1); /* in bss */
	expect_kernel_error(&k, 16 * MiB, "entry point 0x100800 is not in a "
	    "loaded segment");
}

TEST(error_multiboot_above_4g)
{
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 4 * GiB, .vaddr = 4 * GiB, .data = text,
		.filesz = sizeof(text), .memsz = sizeof(text) };

	build_elf(&k, true, 4 * GiB, &s, 1);
	put_mb_header(&k, 0x100, 0, NULL);
	expect_kernel_error(&k, 5 * GiB, "is above 4 GiB");
}

TEST(error_elf_wrong_machine)
{
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 1 * MiB, .vaddr = 1 * MiB, .data = text,
		.filesz = sizeof(text), .memsz = sizeof(text) };
	uint16_t arm = EM_AARCH64;

	build_elf(&k, true, 1 * MiB, &s, 1);
	kimg_put(&k, offsetof(Elf64_Ehdr, e_machine), &arm, sizeof(arm));
	expect_kernel_error(&k, 16 * MiB, "ELF64 machine 183 is not x86");
}

TEST(error_plain_elf_with_initrd)
{
	struct tvm t;
	struct kimg k = { 0 }, m = { 0 };
	struct tseg s = { .paddr = 1 * MiB, .vaddr = 1 * MiB, .data = text,
		.filesz = sizeof(text), .memsz = sizeof(text) };

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	build_elf(&k, false, 1 * MiB, &s, 1);
	tvm_file(&t, "boot.kernel", &k);
	kimg_put(&m, 0, "x", 1);
	tvm_file(&t, "boot.initrd", &m);
	CHECK_FAILS(&t, "takes no boot.cmdline or boot.initrd");
	tvm_fini(&t);
}

/* A sparse module file of 'size' bytes: costs no disk. */
static const char *
sparse_module(struct tvm *t, uint64_t size)
{
	struct kimg m = { 0 };
	const char *path;

	kimg_put(&m, 0, "M", 1);
	path = tvm_file(t, "boot.initrd", &m);
	if (truncate(path, (off_t)size) != 0)
		abort();
	return path;
}

TEST(error_initrd_too_large)
{
	struct tvm t;
	struct kimg k = { 0 };
	const char *path;
	char want[160];

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	build_mb_elf(&k, 0);
	tvm_file(&t, "boot.kernel", &k);
	path = sparse_module(&t, 64 * MiB);
	snprintf(want, sizeof(want), "%s: module of %llu bytes is larger "
	    "than guest RAM", path, 64 * MiB);
	CHECK_FAILS(&t, want);

	/* Smaller than RAM, but not above a kernel that ends at 2 MiB+. */
	path = sparse_module(&t, 14 * MiB);
	snprintf(want, sizeof(want), "%s: module of %llu bytes does not fit",
	    path, 14 * MiB);
	CHECK_FAILS(&t, want);
	tvm_fini(&t);
}

/* Fills RAM just up to lowmem: a module ending at the last byte fits. */
TEST(module_fills_ram_exactly)
{
	struct tvm t;
	struct kimg k = { 0 };
	uint32_t mbi, mods;

	REQUIRE(tvm_init(&t, VMM_BACKEND_NULL, 16 * MiB));
	build_mb_elf(&k, 0);
	tvm_file(&t, "boot.kernel", &k);
	/* The kernel's bss ends at 0x20300d: the module goes at 0x204000. */
	sparse_module(&t, 16 * MiB - 0x204000 - 0x1000);
	REQUIRE(tvm_load(&t) == 0);
	mbi = (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX);
	mods = rd32(&t, mbi + 24);
	CHECK_EQ(rd32(&t, mods), 0x204000);
	CHECK_EQ(mbi, 16 * MiB - 0x1000);
	tvm_fini(&t);
}

/* ---- the memory map helper ---- */

TEST(e820_tiny_and_large)
{
	struct loader_e820 map[LOADER_E820_MAX];
	struct vmctx *ctx = vm_create("t-e820", VMM_BACKEND_NULL, NULL);

	REQUIRE(ctx != NULL);
	REQUIRE(vm_setup_memory(ctx, 512 * KiB) == 0);
	CHECK_EQ(loader_e820(ctx, map), 2);
	CHECK_EQ(map[0].len, 512 * KiB);
	CHECK_EQ(map[1].type, LOADER_E820_RESERVED);
	vm_destroy(ctx);
	ctx = vm_create("t-e820", VMM_BACKEND_NULL, NULL);
	REQUIRE(ctx != NULL);
	REQUIRE(vm_setup_memory(ctx, 3 * GiB) == 0);
	CHECK_EQ(loader_e820(ctx, map), 3);
	CHECK_EQ(map[2].base + map[2].len, 3 * GiB);
	vm_destroy(ctx);
}

/* ---- running the first instructions on KVM ---- */

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

static const uint8_t mb_program[] = {
	0xe7, 0x80,		/* out 0x80, eax: the magic */
	0x89, 0xd8,		/* mov eax, ebx */
	0xe7, 0x84,		/* out 0x84, eax: the MBI's address */
	0x66, 0xb8, 0x18, 0x00, /* mov ax, 0x18 */
	0x8e, 0xd8,		/* mov ds, ax: reload from the GDT */
	0x8b, 0x43, 0x10,	/* mov eax, [ebx + 16]: cmdline */
	0x0f, 0xb6, 0x00,	/* movzx eax, byte [eax] */
	0xe7, 0x88,		/* out 0x88, eax */
	0xf4,			/* hlt */
};

TEST(kvm_runs_multiboot_entry)
{
	struct tvm t;
	struct kimg k = { 0 };
	struct tseg s = { .paddr = 1 * MiB, .vaddr = 1 * MiB,
		.data = mb_program, .filesz = sizeof(mb_program),
		.memsz = sizeof(mb_program) };

	if (!test_have_kvm()) {
		printf("SKIP kvm_runs_multiboot_entry: no /dev/kvm\n");
		return;
	}
	REQUIRE(tvm_init(&t, VMM_BACKEND_KVM, 16 * MiB));
	build_elf(&k, false, 1 * MiB, &s, 1);
	put_mb_header(&k, 0x100, 0x3, NULL);
	tvm_file(&t, "boot.kernel", &k);
	tvm_set(&t, "boot.cmdline", "Kernel args");
	REQUIRE(tvm_load(&t) == 0);
	expect_out(&t, 0x80, 0x2BADB002);
	expect_out(&t, 0x84, (uint32_t)tvm_reg(&t, VM_REG_GUEST_RBX));
	expect_out(&t, 0x88, 'K');
	expect_halt(&t);
	tvm_fini(&t);
}

static const uint8_t elf64_program[] = {
	0xb8, 0x0d, 0x60, 0x00, 0x00,		/* mov eax, 0x600d */
	0xe7, 0x80,				/* out 0x80, eax */
	0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, /* mov eax, [0x600000] */
	0xe7, 0x84,				/* out 0x84, eax */
	0x66, 0xb8, 0x18, 0x00,			/* mov ax, 0x18 */
	0x8e, 0xd8,				/* mov ds, ax */
	0x48, 0x89, 0xe0,			/* mov rax, rsp */
	0xe7, 0x88,				/* out 0x88, eax */
	0xf4,					/* hlt */
};

TEST(kvm_runs_elf64_entry)
{
	struct tvm t;
	struct kimg k = { 0 };
	static const uint32_t word = 0xfeedf00d;
	struct tseg s[2] = {
		{ .paddr = 1 * MiB, .vaddr = 1 * MiB, .data = elf64_program,
		    .filesz = sizeof(elf64_program),
		    .memsz = sizeof(elf64_program) },
		{ .paddr = 6 * MiB, .vaddr = 6 * MiB, .data = &word,
		    .filesz = sizeof(word), .memsz = sizeof(word) },
	};

	if (!test_have_kvm()) {
		printf("SKIP kvm_runs_elf64_entry: no /dev/kvm\n");
		return;
	}
	REQUIRE(tvm_init(&t, VMM_BACKEND_KVM, 16 * MiB));
	build_elf(&k, true, 1 * MiB, s, 2);
	tvm_file(&t, "boot.kernel", &k);
	REQUIRE(tvm_load(&t) == 0);
	expect_out(&t, 0x80, 0x600d);
	expect_out(&t, 0x84, word); /* read through the page tables */
	expect_out(&t, 0x88, 0);
	expect_halt(&t);
	tvm_fini(&t);
}

TEST_MAIN(TEST_ENTRY(multiboot_elf_segments_and_registers)
    TEST_ENTRY(multiboot_memory_map_small_vm)
    TEST_ENTRY(multiboot_memory_map_above_4g) TEST_ENTRY(multiboot_module)
    TEST_ENTRY(multiboot_aout_kludge) TEST_ENTRY(multiboot_aout_to_end_of_file)
    TEST_ENTRY(multiboot_aout_fields_win_over_elf)
    TEST_ENTRY(plain_elf32) TEST_ENTRY(elf_bss_segment_offset_ignored)
    TEST_ENTRY(plain_elf64_long_mode)
    TEST_ENTRY(bootrom_skips_the_loader) TEST_ENTRY(error_no_kernel)
    TEST_ENTRY(error_missing_files) TEST_ENTRY(error_not_a_kernel)
    TEST_ENTRY(error_truncated_elf) TEST_ENTRY(error_segment_offset_overflow)
    TEST_ENTRY(error_bad_multiboot_header) TEST_ENTRY(error_bad_aout_fields)
    TEST_ENTRY(error_kernel_placement)
    TEST_ENTRY(error_entry_outside_loaded_code)
    TEST_ENTRY(error_multiboot_above_4g) TEST_ENTRY(error_elf_wrong_machine)
    TEST_ENTRY(error_plain_elf_with_initrd)
    TEST_ENTRY(error_initrd_too_large) TEST_ENTRY(module_fills_ram_exactly)
    TEST_ENTRY(e820_tiny_and_large) TEST_ENTRY(kvm_runs_multiboot_entry)
    TEST_ENTRY(kvm_runs_elf64_entry))
