/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU fw_cfg (QEMU docs/specs/fw_cfg.rst) through both interfaces.  The
 * harness passes mem=<MiB> and cpus=<n> as it ran the VM, and adds the
 * user file opt/test/hello with the contents "hello-fwcfg".
 *
 * bhyve stores -f string= data with its NUL, QEMU without: either size
 * is accepted.  QEMU's multiboot loader does not fill FW_CFG_CMDLINE_*,
 * so with peer=qemu that item is not compared.
 */
#include "fwcfg.h"
#include "guest.h"

#define MiB		(1ULL << 20)
#define TEST_FILE	"opt/test/hello"
#define TEST_DATA	"hello-fwcfg"
#define TEST_LEN	(sizeof(TEST_DATA) - 1)
#define MAX_FILES	4096

static char dma_buf[64] __attribute__((aligned(16)));

static void
check_items(const struct boot_info *bi)
{
	uint64_t mem_mib, cpus;
	uint32_t id = fwcfg_read_le32(FWCFG_ID);
	uint16_t ncpus = 0;

	printf("fw_cfg id 0x%x (dma %s)\n", id,
	    (id & FWCFG_ID_DMA) ? "yes" : "no");
	CHECK(id & FWCFG_ID_TRADITIONAL);
	if (CHECK(cmdline_get_u64(bi->args, "mem", &mem_mib)))
		CHECK_EQ(fwcfg_read_le64(FWCFG_RAM_SIZE), mem_mib * MiB);
	fwcfg_select(FWCFG_NB_CPUS);
	fwcfg_read(&ncpus, sizeof(ncpus));
	if (CHECK(cmdline_get_u64(bi->args, "cpus", &cpus)))
		CHECK_EQ(ncpus, cpus);
}

/* FW_CFG_CMDLINE_DATA holds boot.cmdline, which is the multiboot one. */
static void
check_cmdline(const struct boot_info *bi)
{
	char buf[256];
	uint32_t size = fwcfg_read_le32(FWCFG_CMDLINE_SIZE);

	if (cmdline_has_word(bi->args, "peer=qemu"))
		return;
	printf("fw_cfg cmdline size %u\n", size);
	if (!CHECK(size > 0 && size <= sizeof(buf)))
		return;
	fwcfg_select(FWCFG_CMDLINE_DATA);
	fwcfg_read(buf, size);
	if (!CHECK_EQ(buf[size - 1], '\0'))
		return;
	CHECK(strcmp(buf, bi->cmdline) == 0 || strcmp(buf, bi->args) == 0);
}

/* Entries: NUL-terminated names, selectors in the file range, unique. */
static void
check_directory(void)
{
	static uint16_t seen[MAX_FILES];
	uint32_t count;

	fwcfg_select(FWCFG_FILE_DIR);
	fwcfg_read(&count, sizeof(count));
	count = bswap32(count);
	printf("fw_cfg directory: %u files\n", count);
	if (!CHECK(count >= 1 && count < MAX_FILES))
		return;
	for (uint32_t i = 0; i < count; i++) {
		struct fwcfg_file f;

		fwcfg_read(&f, sizeof(f));
		f.select = bswap16(f.select);
		CHECK(strnlen(f.name, sizeof(f.name)) < sizeof(f.name));
		CHECK(f.name[0] != '\0');
		CHECK(f.select >= FWCFG_FILE_FIRST);
		for (uint32_t j = 0; j < i; j++)
			CHECK(seen[j] != f.select);
		seen[i] = f.select;
	}
}

static bool
size_ok(uint32_t size)
{
	return size == TEST_LEN || size == TEST_LEN + 1;
}

static void
check_file_io(const struct fwcfg_file *f)
{
	char buf[sizeof(TEST_DATA) + 4];

	printf("%s: select 0x%x size %u\n", TEST_FILE, f->select, f->size);
	CHECK(size_ok(f->size));
	memset(buf, 0x55, sizeof(buf));
	fwcfg_select(f->select);
	fwcfg_read(buf, TEST_LEN);
	CHECK(memcmp(buf, TEST_DATA, TEST_LEN) == 0);
	/* Past the end of an item the data port reads 0. */
	fwcfg_read(buf, 4);
	CHECK_EQ(buf[0] | buf[1] | buf[2] | buf[3], 0);
}

static void
check_file_dma(const struct fwcfg_file *f)
{
	uint32_t sel = (uint32_t)f->select << 16 | FWCFG_DMA_SELECT;
	uint64_t buf = (uint64_t)dma_buf;

	memset(dma_buf, 0x55, sizeof(dma_buf));
	CHECK_EQ(fwcfg_dma(sel | FWCFG_DMA_READ, buf, TEST_LEN), 0);
	CHECK(memcmp(dma_buf, TEST_DATA, TEST_LEN) == 0);
	CHECK_EQ(dma_buf[TEST_LEN], 0x55);	/* not one byte more */

	/* Skip "hello-", read "fwcfg", then 4 bytes past the end: zeroes. */
	memset(dma_buf, 0x55, sizeof(dma_buf));
	CHECK_EQ(fwcfg_dma(sel | FWCFG_DMA_SKIP, 0, 6), 0);
	CHECK_EQ(fwcfg_dma(FWCFG_DMA_READ, buf, 5), 0);
	CHECK(memcmp(dma_buf, "fwcfg", 5) == 0);
	CHECK_EQ(fwcfg_dma(FWCFG_DMA_READ, buf + 8, 4), 0);
	CHECK_EQ(dma_buf[8] | dma_buf[9] | dma_buf[10] | dma_buf[11], 0);
}

/* Where neither RAM nor a device lives, with any -m the harness uses. */
static uint64_t
not_ram(uint64_t mem_mib)
{
	return mem_mib * MiB < 0x80000000ULL ? 0xa0000000ULL :
	    (1ULL << 40);
}

/*
 * A transfer to outside RAM must fail with the error bit, and a
 * descriptor outside RAM must not upset the device: afterwards it still
 * answers.
 */
static void
check_dma_errors(const struct boot_info *bi)
{
	uint64_t mem_mib = 128;
	uint32_t ctl;

	(void)cmdline_get_u64(bi->args, "mem", &mem_mib);
	ctl = fwcfg_dma(FWCFG_SIGNATURE << 16 | FWCFG_DMA_SELECT |
	    FWCFG_DMA_READ, not_ram(mem_mib), 4);
	printf("dma to 0x%lx: control 0x%x\n", not_ram(mem_mib), ctl);
	CHECK(ctl & FWCFG_DMA_ERROR);

	(void)fwcfg_dma_kick(not_ram(mem_mib) + 0x1000, NULL);
	CHECK(fwcfg_present());
	CHECK_EQ(fwcfg_dma(FWCFG_SIGNATURE << 16 | FWCFG_DMA_SELECT |
	    FWCFG_DMA_READ, (uint64_t)dma_buf, 4), 0);
	CHECK(memcmp(dma_buf, "QEMU", 4) == 0);
}

static void
check_dma(const struct boot_info *bi, const struct fwcfg_file *f)
{
	uint32_t hi = bswap32(inl(FWCFG_PORT_DMA_HI));
	uint32_t lo = bswap32(inl(FWCFG_PORT_DMA_LO));

	/* Reading the DMA address register gives "QEMU CFG" (big-endian). */
	CHECK_EQ(((uint64_t)hi << 32) | lo, FWCFG_DMA_SIGNATURE);
	check_file_dma(f);
	check_dma_errors(bi);
}

int
guest_main(struct boot_info *bi)
{
	struct fwcfg_file f = { .select = 0 };

	if (!CHECK(fwcfg_present()))
		return guest_finish("fwcfg");
	check_items(bi);
	check_cmdline(bi);
	check_directory();
	CHECK(fwcfg_find_file(TEST_FILE, &f) > 0);
	if (!CHECK(f.select != 0))
		return guest_finish("fwcfg");
	check_file_io(&f);
	if (CHECK(fwcfg_read_le32(FWCFG_ID) & FWCFG_ID_DMA))
		check_dma(bi, &f);
	return guest_finish("fwcfg");
}
