/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The QEMU fw_cfg device, driven through the port registry exactly as a
 * guest drives it, on a null-backend VM whose RAM is real memory.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "fwcfg.h"
#include "iomem.h"
#include "test.h"
#include "vmmapi.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define RAM_SIZE (16 * MiB)

#define SEL_PORT 0x510
#define DATA_PORT 0x511
#define DMA_PORT 0x514

#define CTL_ERROR 0x01
#define CTL_READ 0x02
#define CTL_SKIP 0x04
#define CTL_SELECT 0x08
#define CTL_WRITE 0x10

struct fx {
	struct bhyve_vm bvm;
	void *softc;
	int init_error;
};

/*
 * A VM with 'memsize' bytes of RAM, two vCPUs, lpc.fwcfg=qemu plus the
 * "key", "value" pairs in 'kv' (NULL-terminated), and the device made
 * from it; f->init_error says whether that worked, bvm.err why not.
 */
static int
fx_setup_mem(struct fx *f, const char *name, size_t memsize,
    const char *const *kv)
{
	*f = (struct fx){ .bvm = { .ncpus = 2 } };
	f->bvm.cfg = config_new();
	f->bvm.ports = io_registry_create(0x10000);
	f->bvm.ctx = vm_create(name, VMM_BACKEND_NULL, NULL);
	if (f->bvm.cfg == NULL || f->bvm.ports == NULL || f->bvm.ctx == NULL)
		return -1;
	if (vm_setup_memory(f->bvm.ctx, memsize) != 0 ||
	    config_set(f->bvm.cfg, "lpc.fwcfg", "qemu") != 0)
		return -1;
	for (; kv && kv[0]; kv += 2)
		if (config_set(f->bvm.cfg, kv[0], kv[1]) != 0)
			return -1;
	f->init_error = fwcfg_device.init(&f->bvm, &f->softc);
	return 0;
}

static int
fx_setup(struct fx *f, const char *const *kv)
{
	return fx_setup_mem(f, "t-fwcfg", RAM_SIZE, kv);
}

static void
fx_teardown(struct fx *f)
{
	if (f->init_error == 0 && f->softc)
		fwcfg_device.destroy(f->softc);
	io_registry_destroy(f->bvm.ports);
	config_free(f->bvm.cfg);
	vm_destroy(f->bvm.ctx);
}

static int
port_out(struct fx *f, uint16_t port, int size, uint64_t v)
{
	return io_dispatch(f->bvm.ports, NULL, true, port, size, &v);
}

static uint64_t
port_in(struct fx *f, uint16_t port, int size)
{
	uint64_t v = 0xdeadbeef;

	if (io_dispatch(f->bvm.ports, NULL, false, port, size, &v) != 0)
		return ~0ULL;
	return v;
}

static void
sel(struct fx *f, uint16_t key)
{
	CHECK_EQ(port_out(f, SEL_PORT, 2, key), 0);
}

static void
read_data(struct fx *f, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)port_in(f, DATA_PORT, 1);
}

static uint64_t
read_le(struct fx *f, uint16_t key, int bytes)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	sel(f, key);
	read_data(f, b, (size_t)bytes);
	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static uint8_t *
ram(struct fx *f, uint64_t gpa, size_t len)
{
	return vm_map_gpa(f->bvm.ctx, gpa, len);
}

static void
put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t
get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t
bswap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

/* Start the request at 'desc' as OVMF does: two byte-swapped 32-bit outs. */
static void
dma_kick(struct fx *f, uint64_t desc)
{
	CHECK_EQ(port_out(f, DMA_PORT, 4, bswap32((uint32_t)(desc >> 32))), 0);
	CHECK_EQ(port_out(f, DMA_PORT + 4, 4, bswap32((uint32_t)desc)), 0);
}

/* Write a descriptor at 'desc' (in RAM), run it, return its control. */
static uint32_t
dma(struct fx *f, uint64_t desc, uint32_t control, uint32_t length,
    uint64_t addr)
{
	uint8_t *d = ram(f, desc, 16);

	if (d == NULL)
		return 0xffffffff;
	put_be(d, control, 4);
	put_be(d + 4, length, 4);
	put_be(d + 8, addr, 8);
	dma_kick(f, desc);
	return (uint32_t)get_be(d, 4);
}

TEST(enabled_only_for_qemu)
{
	struct bhyve_vm bvm = { .cfg = config_new() };

	REQUIRE(bvm.cfg != NULL);
	CHECK(!fwcfg_device.enabled(&bvm));
	CHECK_EQ(config_set(bvm.cfg, "lpc.fwcfg", "bhyve"), 0);
	CHECK(!fwcfg_device.enabled(&bvm));
	CHECK_EQ(config_set(bvm.cfg, "lpc.fwcfg", "qemu"), 0);
	CHECK(fwcfg_device.enabled(&bvm));
	config_free(bvm.cfg);
}

TEST(signature_and_id)
{
	struct fx f;
	uint8_t b[8];

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	CHECK(f.bvm.fwcfg == f.softc);
	/* The device starts with the signature selected, as after a reset. */
	read_data(&f, b, 4);
	CHECK(memcmp(b, "QEMU", 4) == 0);
	sel(&f, 0x0000);
	read_data(&f, b, 4);
	CHECK(memcmp(b, "QEMU", 4) == 0);
	/* QEMU decodes byte reads at 0x510 as data reads too. */
	sel(&f, 0x0000);
	CHECK_EQ(port_in(&f, SEL_PORT, 1), 'Q');
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 'E');
	/* Traditional interface and DMA, little-endian. */
	CHECK_EQ(read_le(&f, 0x0001, 4), 3);
	/* Reading the DMA register gives "QEMU CFG" in port order. */
	CHECK_EQ(port_in(&f, DMA_PORT, 4), 0x554d4551);	    /* "QEMU" */
	CHECK_EQ(port_in(&f, DMA_PORT + 4, 4), 0x47464320); /* " CFG" */
	CHECK_EQ(port_in(&f, DMA_PORT + 1, 1), 'E');
	CHECK_EQ(port_in(&f, DMA_PORT + 6, 2), 0x4746);
	CHECK_EQ(port_in(&f, DMA_PORT, 8), 0x47464320554d4551ULL);
	fx_teardown(&f);
}

TEST(wide_and_odd_port_accesses_are_refused)
{
	struct fx f;
	uint64_t v = 0;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, SEL_PORT, 2, &v),
	    -EINVAL);
	CHECK(io_dispatch(f.bvm.ports, NULL, false, DATA_PORT, 2, &v) != 0);
	CHECK(io_dispatch(f.bvm.ports, NULL, true, SEL_PORT, 4, &v) != 0);
	/* DMA writes: 32 bits at 0 or 4, 64 bits at 0, nothing else. */
	CHECK_EQ(port_out(&f, DMA_PORT, 1, 0), -EINVAL);
	CHECK_EQ(port_out(&f, DMA_PORT + 2, 2, 0), -EINVAL);
	CHECK_EQ(port_out(&f, DMA_PORT + 4, 8, 0), -ENOENT);
	CHECK_EQ(port_out(&f, DMA_PORT + 2, 4, 0), -EINVAL);
	/* Nothing at 0x512-0x513. */
	CHECK_EQ(port_out(&f, 0x512, 1, 0), -ENOENT);
	fx_teardown(&f);
}

TEST(ram_size_and_cpus)
{
	static const char *const kv[] = { "maxcpus", "8", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(read_le(&f, 0x0003, 8), RAM_SIZE);
	CHECK_EQ(read_le(&f, 0x0005, 2), 2);
	CHECK_EQ(read_le(&f, 0x000f, 2), 8);
	fx_teardown(&f);

	/* maxcpus defaults to the CPU count. */
	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(read_le(&f, 0x000f, 2), 2);
	fx_teardown(&f);
}

TEST(bad_maxcpus_is_a_startup_error)
{
	static const char *const small[] = { "maxcpus", "1", NULL };
	static const char *const junk[] = { "maxcpus", "lots", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, small) == 0);
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "maxcpus") != NULL);
	CHECK(f.bvm.fwcfg == NULL);
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, junk) == 0);
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "lots") != NULL);
	fx_teardown(&f);
}

TEST(kernel_cmdline)
{
	static const char *const kv[] = { "boot.cmdline",
		"console=ttyS0 root=/dev/vda", NULL };
	const char *want = "console=ttyS0 root=/dev/vda";
	uint8_t b[64];
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(read_le(&f, 0x0014, 4), strlen(want) + 1);
	sel(&f, 0x0015);
	memset(b, 0xaa, sizeof(b));
	read_data(&f, b, strlen(want) + 2);
	CHECK(memcmp(b, want, strlen(want) + 1) == 0);
	CHECK_EQ(b[strlen(want) + 1], 0); /* past the end */
	fx_teardown(&f);

	/* No command line configured: no items, so zeros. */
	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(read_le(&f, 0x0014, 4), 0);
	fx_teardown(&f);
}

static void
read_uuid(struct fx *f, uint8_t out[16])
{
	sel(f, 0x0002);
	read_data(f, out, 16);
}

TEST(uuid_from_config)
{
	static const char *const kv[] = { "uuid",
		"6BA7b810-9dad-11d1-80b4-00c04fd430c8", NULL };
	static const uint8_t want[16] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad,
		0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	uint8_t u[16];
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	read_uuid(&f, u);
	CHECK(memcmp(u, want, 16) == 0);
	fx_teardown(&f);
}

TEST(uuid_invalid_is_a_startup_error)
{
	static const char *const bad[] = {
		"6ba7b810-9dad-11d1-80b4-00c04fd430c",	 /* short */
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8a", /* long */
		"6ba7b810x9dad-11d1-80b4-00c04fd430c8",	 /* no dash */
		"6ba7b810-9dad-11d1-80b4-00c04fd430cg",	 /* not hex */
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *kv[] = { "uuid", bad[i], NULL };
		struct fx f;

		REQUIRE(fx_setup(&f, kv) == 0);
		CHECK(f.init_error != 0);
		CHECK(strstr(f.bvm.err, "uuid") != NULL);
		fx_teardown(&f);
	}
}

TEST(uuid_derived_from_name_is_stable)
{
	uint8_t a[16], b[16], c[16];
	struct fx f;

	REQUIRE(fx_setup_mem(&f, "vm-one", RAM_SIZE, NULL) == 0);
	REQUIRE(f.init_error == 0);
	read_uuid(&f, a);
	fx_teardown(&f);
	REQUIRE(fx_setup_mem(&f, "vm-one", RAM_SIZE, NULL) == 0);
	REQUIRE(f.init_error == 0);
	read_uuid(&f, b);
	fx_teardown(&f);
	REQUIRE(fx_setup_mem(&f, "vm-two", RAM_SIZE, NULL) == 0);
	REQUIRE(f.init_error == 0);
	read_uuid(&f, c);
	fx_teardown(&f);
	CHECK(memcmp(a, b, 16) == 0);
	CHECK(memcmp(a, c, 16) != 0);
	/* RFC 9562: version 8 (custom), variant 10b. */
	CHECK_EQ(a[6] >> 4, 8);
	CHECK_EQ(a[8] >> 6, 2);
}

/* The directory as a guest sees it, through the data port. */
static uint32_t
read_dir(struct fx *f, uint8_t *buf, size_t cap)
{
	uint8_t cnt[4];
	uint32_t n;

	sel(f, 0x0019);
	read_data(f, cnt, 4);
	n = (uint32_t)get_be(cnt, 4);
	if (4 + (size_t)n * 64 > cap)
		return 0;
	read_data(f, buf, (size_t)n * 64);
	return n;
}

/* Find 'name' in the directory; its select and size, 0 if absent. */
static uint16_t
find_file(struct fx *f, const char *name, uint32_t *size)
{
	uint8_t dir[64 * 16];
	uint32_t n = read_dir(f, dir, sizeof(dir));

	for (uint32_t i = 0; i < n; i++) {
		if (strcmp((const char *)dir + i * 64 + 8, name) == 0) {
			*size = (uint32_t)get_be(dir + i * 64, 4);
			return (uint16_t)get_be(dir + i * 64 + 4, 2);
		}
	}
	return 0;
}

TEST(directory_sorted_with_stable_selectors)
{
	static const char *const kv[] = {
		"fwcfg.user.0.name", "opt/b",	"fwcfg.user.0.string", "bee",
		"fwcfg.user.1.name", "opt/a",	"fwcfg.user.1.string", "a",
		NULL };
	uint8_t dir[64 * 8];
	struct fx f;
	uint32_t n;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	REQUIRE(fwcfg_add_file(f.bvm.fwcfg, "etc/zz", "0123456789", 10) == 0);
	n = read_dir(&f, dir, sizeof(dir));
	REQUIRE(n == 3);
	/* By name: etc/zz, opt/a, opt/b; selectors in order of addition. */
	CHECK_STR((const char *)dir + 8, "etc/zz");
	CHECK_EQ(get_be(dir, 4), 10);
	CHECK_EQ(get_be(dir + 4, 2), 0x22);
	CHECK_STR((const char *)dir + 64 + 8, "opt/a");
	CHECK_EQ(get_be(dir + 64, 4), 1);
	CHECK_EQ(get_be(dir + 64 + 4, 2), 0x21);
	CHECK_STR((const char *)dir + 128 + 8, "opt/b");
	CHECK_EQ(get_be(dir + 128, 4), 3); /* no NUL, as QEMU's string= */
	CHECK_EQ(get_be(dir + 128 + 4, 2), 0x20);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = dir + i * 64;
		size_t len = strlen((const char *)e + 8);

		CHECK_EQ(get_be(e + 6, 2), 0); /* reserved */
		for (size_t j = 8 + len; j < 64; j++)
			CHECK_EQ(e[j], 0);
	}
	/* The directory item is exactly count + entries long. */
	sel(&f, 0x0019);
	read_data(&f, dir, 4 + 3 * 64);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 0);
	fx_teardown(&f);
}

TEST(user_file_contents)
{
	static const uint8_t blob[] = { 1, 0, 2, 0, 0xff, 'x' };
	const char *path = test_tmpfile(blob, sizeof(blob));
	const char *kv[] = {
		"fwcfg.user.0.name", "opt/str", "fwcfg.user.0.string", "hello",
		"fwcfg.user.1.name", "opt/bin", "fwcfg.user.1.file", path,
		"fwcfg.user.2.name", "opt/empty", "fwcfg.user.2.string", "",
		NULL };
	uint8_t b[16];
	uint32_t size = 0;
	uint16_t s;
	struct fx f;

	REQUIRE(path != NULL);
	REQUIRE(fx_setup(&f, kv) == 0);
	unlink(path); /* read at init: the device no longer needs it */
	REQUIRE(f.init_error == 0);
	s = find_file(&f, "opt/str", &size);
	CHECK_EQ(size, 5);
	sel(&f, s);
	read_data(&f, b, 6);
	CHECK(memcmp(b, "hello\0", 6) == 0);
	s = find_file(&f, "opt/bin", &size);
	CHECK_EQ(size, sizeof(blob));
	sel(&f, s);
	read_data(&f, b, sizeof(blob));
	CHECK(memcmp(b, blob, sizeof(blob)) == 0);
	s = find_file(&f, "opt/empty", &size);
	CHECK(s >= 0x20);
	CHECK_EQ(size, 0);
	fx_teardown(&f);
}

TEST(user_files_stop_at_first_gap)
{
	static const char *const kv[] = {
		"fwcfg.user.0.name", "opt/zero", "fwcfg.user.0.string", "0",
		"fwcfg.user.2.name", "opt/two", "fwcfg.user.2.string", "2",
		NULL };
	uint8_t dir[64 * 4];
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(read_dir(&f, dir, sizeof(dir)), 1);
	CHECK_STR((const char *)dir + 8, "opt/zero");
	fx_teardown(&f);
}

/* Each config must fail init with an error naming 'culprit'. */
static void
expect_init_error(const char *const *kv, const char *culprit)
{
	struct fx f;

	if (fx_setup(&f, kv) != 0) {
		CHECK(!"fixture");
		return;
	}
	CHECK(f.init_error != 0);
	CHECK(strchr(f.bvm.err, '\n') == NULL);
	if (strstr(f.bvm.err, culprit) == NULL) {
		fprintf(stderr, "error \"%s\" does not name \"%s\"\n",
		    f.bvm.err, culprit);
		test_failures++;
	}
	CHECK(f.bvm.fwcfg == NULL);
	fx_teardown(&f);
}

TEST(user_file_errors)
{
	static const char long_name[] =
	    "opt/0123456789012345678901234567890123456789012345678901";
	static const char *const dup[] = {
		"fwcfg.user.0.name", "opt/x", "fwcfg.user.0.string", "1",
		"fwcfg.user.1.name", "opt/x", "fwcfg.user.1.string", "2",
		NULL };
	static const char *const toolong[] = { "fwcfg.user.0.name", long_name,
		"fwcfg.user.0.string", "1", NULL };
	static const char *const missing[] = { "fwcfg.user.0.name", "opt/m",
		"fwcfg.user.0.file", "/nonexistent/fwcfg-test", NULL };
	static const char *const noname[] = { "fwcfg.user.0.string", "1",
		NULL };
	static const char *const both[] = { "fwcfg.user.0.name", "opt/b",
		"fwcfg.user.0.string", "1",
		"fwcfg.user.0.file", "/etc/hostname", NULL };
	static const char *const neither[] = { "fwcfg.user.0.name", "opt/n",
		NULL };
	static const char *const dir[] = { "fwcfg.user.0.name", "opt/d",
		"fwcfg.user.0.file", "/", NULL };

	REQUIRE(sizeof(long_name) - 1 == 56);
	expect_init_error(dup, "opt/x");
	expect_init_error(toolong, long_name);
	expect_init_error(missing, "/nonexistent/fwcfg-test");
	expect_init_error(noname, "fwcfg.user.0.name");
	expect_init_error(both, "fwcfg.user.0");
	expect_init_error(neither, "fwcfg.user.0");
	expect_init_error(dir, "fwcfg.user.0.file");
}

TEST(add_file_api)
{
	char name[64];
	struct fx f;
	int error = 0;
	uint32_t i;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	memset(name, 'n', 55);
	name[55] = '\0';
	CHECK_EQ(fwcfg_add_file(f.bvm.fwcfg, name, "x", 1), 0); /* 55: fits */
	name[55] = 'n';
	name[56] = '\0';
	CHECK_EQ(fwcfg_add_file(f.bvm.fwcfg, name, "x", 1), -ENAMETOOLONG);
	CHECK_EQ(fwcfg_add_file(f.bvm.fwcfg, "", "x", 1), -EINVAL);
	CHECK_EQ(fwcfg_add_file(f.bvm.fwcfg, "opt/a", NULL, 0), 0);
	CHECK_EQ(fwcfg_add_file(f.bvm.fwcfg, "opt/a", "y", 1), -EEXIST);
	for (i = 2; i < FWCFG_MAX_FILES && error == 0; i++) {
		snprintf(name, sizeof(name), "opt/f%05u", i);
		error = fwcfg_add_file(f.bvm.fwcfg, name, &i, sizeof(i));
	}
	CHECK_EQ(error, 0);
	CHECK_EQ(fwcfg_add_file(f.bvm.fwcfg, "opt/full", "z", 1), -ENOSPC);
	/* The last file got the last selector and holds its own data. */
	CHECK_EQ(read_le(&f, (uint16_t)(0x20 + FWCFG_MAX_FILES - 1), 4),
	    FWCFG_MAX_FILES - 1);
	CHECK_EQ(read_le(&f, 0x0019, 4),
	    __builtin_bswap32(FWCFG_MAX_FILES)); /* big-endian count */
	fx_teardown(&f);
}

TEST(set_item_api)
{
	static const uint8_t e820[] = { 1, 2, 3 };
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x8003, e820, 3), 0);
	CHECK_EQ(read_le(&f, 0x8003, 4), 0x030201);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x0008, "abcd", 4), 0);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x0008, "xy", 2), 0);
	CHECK_EQ(read_le(&f, 0x0008, 4), 0x7978);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x0008, NULL, 0), 0);
	CHECK_EQ(read_le(&f, 0x0008, 4), 0);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x0000, "XXXX", 4), -EPERM);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x0001, "X", 1), -EPERM);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x0019, "X", 1), -EPERM);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x0020, "X", 1), -EINVAL);
	CHECK_EQ(fwcfg_set_item(f.bvm.fwcfg, 0x4005, "X", 1), -EINVAL);
	CHECK_EQ(read_le(&f, 0x0000, 4), 0x554d4551);
	fx_teardown(&f);
}

TEST(reads_past_end_and_unknown_keys)
{
	static const uint16_t unknown[] = { 0x0004, 0x1234, 0x3fff, 0x8005,
		0x8020, 0xffff };
	uint8_t b[16];
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	sel(&f, 0x0000);
	memset(b, 0xaa, sizeof(b));
	read_data(&f, b, sizeof(b));
	CHECK(memcmp(b, "QEMU", 4) == 0);
	for (size_t i = 4; i < sizeof(b); i++)
		CHECK_EQ(b[i], 0);
	/* Selecting again rewinds. */
	sel(&f, 0x0000);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 'Q');
	for (size_t k = 0; k < sizeof(unknown) / sizeof(unknown[0]); k++) {
		sel(&f, unknown[k]);
		memset(b, 0xaa, sizeof(b));
		read_data(&f, b, 4);
		CHECK_EQ(get_be(b, 4), 0);
	}
	/* Bit 14, the old write channel, does not change which item. */
	CHECK_EQ(read_le(&f, 0x4000, 4), 0x554d4551);
	fx_teardown(&f);
}

TEST(write_path_refused)
{
	struct fx f;
	uint8_t *buf;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	/* Byte writes to the data port are accepted and dropped. */
	sel(&f, 0x4000);
	CHECK_EQ(port_out(&f, DATA_PORT, 1, 'X'), 0);
	CHECK_EQ(port_out(&f, SEL_PORT, 1, 'X'), 0);
	CHECK_EQ(read_le(&f, 0x0000, 4), 0x554d4551);
	/* A DMA write fails; the item is unchanged. */
	buf = ram(&f, 0x2000, 4);
	REQUIRE(buf != NULL);
	memcpy(buf, "XXXX", 4);
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_WRITE, 4, 0x2000),
	    CTL_ERROR);
	CHECK_EQ(dma(&f, 0x1000, (0x4000u << 16) | CTL_SELECT | CTL_WRITE, 4,
	    0x2000), CTL_ERROR);
	/* Past the end (or of no length) there is nothing to refuse... */
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_WRITE, 0, 0x2000), 0);
	CHECK_EQ(dma(&f, 0x1000, (0x1234u << 16) | CTL_SELECT | CTL_WRITE, 4,
	    0x2000), CTL_ERROR); /* ...but QEMU fails a write there too. */
	CHECK_EQ(read_le(&f, 0x0000, 4), 0x554d4551);
	fx_teardown(&f);
}

TEST(dma_read_select_skip)
{
	static const char *const kv[] = { "fwcfg.user.0.name", "opt/greeting",
		"fwcfg.user.0.string", "hello, world", NULL };
	uint8_t *buf, *desc;
	uint32_t size = 0;
	uint16_t s;
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	buf = ram(&f, 0x3000, 64);
	REQUIRE(buf != NULL);
	s = find_file(&f, "opt/greeting", &size);
	REQUIRE(s == 0x20 && size == 12);
	/* Select and read in one request. */
	memset(buf, 0xaa, 64);
	CHECK_EQ(dma(&f, 0x1000, (uint32_t)s << 16 | CTL_SELECT | CTL_READ, 5,
	    0x3000), 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(buf[5], 0xaa);
	/* The offset carries on, for DMA and for the data port alike. */
	CHECK_EQ(dma(&f, 0x1000, CTL_SKIP, 2, 0), 0);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 'w');
	CHECK_EQ(dma(&f, 0x1000, CTL_READ, 3, 0x3000), 0);
	CHECK(memcmp(buf, "orl", 3) == 0);
	/* Past the end, a read zero-fills the whole buffer. */
	memset(buf, 0xaa, 64);
	CHECK_EQ(dma(&f, 0x1000, CTL_READ, 16, 0x3000), 0);
	CHECK_EQ(buf[0], 'd');
	for (int i = 1; i < 16; i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(buf[16], 0xaa);
	/* A skip stops at the end of the item (the offset cannot wrap). */
	sel(&f, s);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 'h');
	CHECK_EQ(dma(&f, 0x1000, CTL_SKIP, 0xffffffff, 0), 0);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 0);
	/* A select alone; no read/skip/write bit: just the select. */
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT, 100, 0xffffffffffffffffULL), 0);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 'Q');
	/* The error bit in a request is not an operation. */
	CHECK_EQ(dma(&f, 0x1000, CTL_ERROR | CTL_READ, 3, 0x3000), 0);
	CHECK(memcmp(buf, "EMU", 3) == 0);
	/* A 64-bit write starts a request too; the read may hit the desc. */
	desc = ram(&f, 0x1000, 16);
	put_be(desc, CTL_SELECT | CTL_READ, 4);
	put_be(desc + 4, 4, 4);
	put_be(desc + 8, 0x1008, 8);
	CHECK_EQ(port_out(&f, DMA_PORT, 8, __builtin_bswap64(0x1000)), 0);
	CHECK_EQ(get_be(desc, 4), 0);
	CHECK(memcmp(desc + 8, "QEMU", 4) == 0);
	fx_teardown(&f);
}

TEST(dma_matches_port_reads)
{
	static const char *const kv[] = {
		"fwcfg.user.0.name", "opt/x", "fwcfg.user.0.string", "1",
		"fwcfg.user.1.name", "etc/y", "fwcfg.user.1.string", "22",
		"boot.cmdline", "quiet", NULL };
	static const uint16_t keys[] = { 0x0, 0x1, 0x2, 0x3, 0x5, 0xf, 0x14,
		0x15, 0x19, 0x20, 0x21 };
	uint8_t port[256], *buf;
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	buf = ram(&f, 0x10000, sizeof(port));
	REQUIRE(buf != NULL);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		sel(&f, keys[k]);
		read_data(&f, port, sizeof(port));
		memset(buf, 0x55, sizeof(port));
		CHECK_EQ(dma(&f, 0x1000, (uint32_t)keys[k] << 16 | CTL_SELECT |
		    CTL_READ, sizeof(port), 0x10000), 0);
		CHECK(memcmp(buf, port, sizeof(port)) == 0);
	}
	fx_teardown(&f);
}

TEST(dma_errors)
{
	uint8_t *end, *buf;
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	/* Descriptor outside RAM: nowhere to report, nothing happens. */
	sel(&f, 0x0000);
	dma_kick(&f, RAM_SIZE + 0x1000);
	dma_kick(&f, 0xfffffffffffffff8ULL);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 'Q');
	/* Control word in RAM, rest of the descriptor past its end. */
	end = ram(&f, RAM_SIZE - 8, 8);
	REQUIRE(end != NULL);
	memset(end, 0, 8);
	put_be(end, CTL_READ, 4);
	dma_kick(&f, RAM_SIZE - 8);
	CHECK_EQ(get_be(end, 4), CTL_ERROR);
	/* A buffer that runs past the end of RAM: error, nothing written. */
	memset(end, 0xaa, 8);
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_READ, 16, RAM_SIZE - 8),
	    CTL_ERROR);
	CHECK_EQ(get_be(end, 8), 0xaaaaaaaaaaaaaaaaULL);
	/* A buffer wholly outside RAM. */
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_READ, 4, RAM_SIZE),
	    CTL_ERROR);
	/* A length that wraps around the address space. */
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_READ, 0x2000,
	    0xfffffffffffff000ULL), CTL_ERROR);
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_READ, 0xffffffff,
	    0xffffffff00000002ULL), CTL_ERROR);
	/* Unknown control bits: refused before anything is done. */
	buf = ram(&f, 0x3000, 4);
	memset(buf, 0xaa, 4);
	for (int bit = 5; bit < 16; bit++)
		CHECK_EQ(dma(&f, 0x1000, (0x0001u << 16) | CTL_SELECT |
		    CTL_READ | (1u << bit), 4, 0x3000), CTL_ERROR);
	CHECK_EQ(get_be(buf, 4), 0xaaaaaaaa);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), 'Q'); /* not reselected */
	/* The device still works afterwards. */
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_READ, 4, 0x3000), 0);
	CHECK(memcmp(buf, "QEMU", 4) == 0);
	fx_teardown(&f);
}

TEST(dma_high_memory_and_register_reset)
{
	uint64_t desc = 4 * GiB + 0x1000, data = 4 * GiB + 0x2000;
	uint8_t *d, *buf, *lo;
	struct fx f;

	REQUIRE(fx_setup_mem(&f, "t-fwcfg-hi", 4 * GiB + 16 * MiB, NULL) == 0);
	REQUIRE(f.init_error == 0);
	CHECK_EQ(read_le(&f, 0x0003, 8), 4 * GiB + 16 * MiB);
	d = ram(&f, desc, 16);
	buf = ram(&f, data, 4);
	lo = ram(&f, 0x1000, 16);
	REQUIRE(d != NULL && buf != NULL && lo != NULL);
	CHECK_EQ(dma(&f, desc, CTL_SELECT | CTL_READ, 4, data), 0);
	CHECK(memcmp(buf, "QEMU", 4) == 0);
	/* Once started, the register is 0: a low write alone is 32-bit. */
	memset(lo, 0, 16);
	put_be(lo, CTL_SELECT | CTL_READ, 4);
	put_be(lo + 4, 4, 4);
	put_be(lo + 8, 0x2000, 8);
	put_be(d, CTL_SELECT | 0x80, 4); /* fails if it is used */
	CHECK_EQ(port_out(&f, DMA_PORT + 4, 4, bswap32(0x1000)), 0);
	CHECK_EQ(get_be(lo, 4), 0);
	CHECK(memcmp(ram(&f, 0x2000, 4), "QEMU", 4) == 0);
	CHECK_EQ(get_be(d, 4), CTL_SELECT | 0x80);
	/* A high-half write replaces the whole register. */
	put_be(lo, CTL_SELECT | CTL_READ, 4);
	CHECK_EQ(port_out(&f, DMA_PORT, 4, bswap32(1)), 0);
	CHECK_EQ(port_out(&f, DMA_PORT, 4, bswap32(0)), 0);
	CHECK_EQ(port_out(&f, DMA_PORT + 4, 4, bswap32(0x1000)), 0);
	CHECK_EQ(get_be(lo, 4), 0);
	CHECK_EQ(get_be(d, 4), CTL_SELECT | 0x80);
	/* High then low: the 64-bit address, here a bad request. */
	CHECK_EQ(port_out(&f, DMA_PORT, 4, bswap32(1)), 0);
	CHECK_EQ(port_out(&f, DMA_PORT + 4, 4, bswap32(0x1000)), 0);
	CHECK_EQ(get_be(d, 4), CTL_ERROR);
	/* A buffer running from low RAM into the PCI hole. */
	CHECK_EQ(dma(&f, 0x1000, CTL_SELECT | CTL_READ, 16, 3 * GiB - 8),
	    CTL_ERROR);
	fx_teardown(&f);
}

struct dma_thread {
	struct fx *f;
	uint64_t desc, buf;
	uint16_t key;
	const char *want;
	int bad;
};

/*
 * A select+read request is one atomic operation, whatever other vCPUs
 * do to the selector meanwhile: every result must be exact.
 */
static void *
dma_thread_main(void *arg)
{
	struct dma_thread *t = arg;
	size_t n = strlen(t->want);
	uint8_t *buf = ram(t->f, t->buf, 64);

	for (int i = 0; i < 300; i++) {
		memset(buf, 0xaa, 64);
		if (dma(t->f, t->desc, (uint32_t)t->key << 16 | CTL_SELECT |
		    CTL_READ, (uint32_t)n, t->buf) != 0 ||
		    memcmp(buf, t->want, n) != 0)
			t->bad++;
		(void)port_out(t->f, SEL_PORT, 2, 0x0001);
		(void)port_in(t->f, DATA_PORT, 1);
	}
	return NULL;
}

TEST(concurrent_vcpus)
{
	static const char *const kv[] = {
		"fwcfg.user.0.name", "opt/a", "fwcfg.user.0.string", "alpha",
		"fwcfg.user.1.name", "opt/b", "fwcfg.user.1.string", "bravo!",
		"fwcfg.user.2.name", "opt/c", "fwcfg.user.2.string", "charlie",
		NULL };
	struct dma_thread t[4];
	pthread_t tid[4];
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct dma_thread){ .f = &f,
			.desc = 0x1000 + 0x100 * (uint64_t)i,
			.buf = 0x8000 + 0x100 * (uint64_t)i,
			.key = (uint16_t)(i < 3 ? 0x20 + i : 0),
			.want = i == 0 ? "alpha" : i == 1 ? "bravo!" :
			    i == 2 ? "charlie" : "QEMU" };
		REQUIRE(pthread_create(&tid[i], NULL, dma_thread_main,
		    &t[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		CHECK_EQ(t[i].bad, 0);
	}
	fx_teardown(&f);
}

static int
squatter_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	return 0;
}

TEST(ports_taken_is_a_startup_error)
{
	struct io_region squat = { .name = "squatter", .base = 0x518,
		.size = 1, .handler = squatter_io };
	void *softc = NULL;
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0);
	/* A second instance finds the ports taken... */
	CHECK(fwcfg_device.init(&f.bvm, &softc) != 0);
	CHECK(strstr(f.bvm.err, "0x510") != NULL);
	/* ...and leaves the first one alone. */
	CHECK(f.bvm.fwcfg == f.softc);
	CHECK_EQ(read_le(&f, 0x0000, 4), 0x554d4551);
	fwcfg_device.destroy(f.softc);
	f.softc = NULL;
	CHECK(f.bvm.fwcfg == NULL);
	CHECK_EQ(port_in(&f, DATA_PORT, 1), ~0ULL); /* unregistered */
	/* Only the DMA register taken: the selector ports are released. */
	REQUIRE(io_register(f.bvm.ports, &squat) == 0);
	CHECK(fwcfg_device.init(&f.bvm, &softc) != 0);
	CHECK(strstr(f.bvm.err, "0x514") != NULL);
	CHECK(f.bvm.fwcfg == NULL);
	CHECK_EQ(port_out(&f, SEL_PORT, 2, 0), -ENOENT);
	fx_teardown(&f);
}

TEST_MAIN(
    TEST_ENTRY(enabled_only_for_qemu)
    TEST_ENTRY(signature_and_id)
    TEST_ENTRY(wide_and_odd_port_accesses_are_refused)
    TEST_ENTRY(ram_size_and_cpus)
    TEST_ENTRY(bad_maxcpus_is_a_startup_error)
    TEST_ENTRY(kernel_cmdline)
    TEST_ENTRY(uuid_from_config)
    TEST_ENTRY(uuid_invalid_is_a_startup_error)
    TEST_ENTRY(uuid_derived_from_name_is_stable)
    TEST_ENTRY(directory_sorted_with_stable_selectors)
    TEST_ENTRY(user_file_contents)
    TEST_ENTRY(user_files_stop_at_first_gap)
    TEST_ENTRY(user_file_errors)
    TEST_ENTRY(add_file_api)
    TEST_ENTRY(set_item_api)
    TEST_ENTRY(reads_past_end_and_unknown_keys)
    TEST_ENTRY(write_path_refused)
    TEST_ENTRY(dma_read_select_skip)
    TEST_ENTRY(dma_matches_port_reads)
    TEST_ENTRY(dma_errors)
    TEST_ENTRY(dma_high_memory_and_register_reset)
    TEST_ENTRY(concurrent_vcpus)
    TEST_ENTRY(ports_taken_is_a_startup_error)
)
