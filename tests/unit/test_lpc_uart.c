/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * COM1..COM4 as platform devices: enabling from the config, the port
 * ranges, byte-wise splitting of wider accesses, start-up errors, and
 * teardown (ASan checks that nothing leaks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "devices.h"
#include "iomem.h"
#include "mevent.h"
#include "test.h"
#include "uart_emul.h"

static const struct bhyve_device *const coms[] = { &com1_device,
	&com2_device, &com3_device, &com4_device };
static const uint16_t com_base[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };

struct fixture {
	struct bhyve_vm bvm;
	char dir[32];
};

static bool
fixture_init(struct fixture *f)
{
	*f = (struct fixture){ .dir = "/tmp/bhyve-lpcuart-XXXXXX" };
	f->bvm.cfg = config_new();
	f->bvm.mev = mevent_create();
	f->bvm.ports = io_registry_create(0x10000);
	f->bvm.ctx = vm_create("t-lpc-uart", VMM_BACKEND_NULL, NULL);
	return f->bvm.cfg && f->bvm.mev && f->bvm.ports && f->bvm.ctx &&
	    mkdtemp(f->dir) != NULL;
}

static void
fixture_fini(struct fixture *f)
{
	vm_destroy(f->bvm.ctx);
	io_registry_destroy(f->bvm.ports);
	mevent_destroy(f->bvm.mev);
	config_free(f->bvm.cfg);
	rmdir(f->dir);
}

/* Point comN (1-based) at a log file in the fixture's directory. */
static const char *
set_log(struct fixture *f, int n, char *path, size_t len)
{
	char key[32];

	snprintf(path, len, "%s/com%d.log", f->dir, n);
	snprintf(key, sizeof(key), "lpc.com%d.path", n);
	return config_set(f->bvm.cfg, key, path) == 0 ? path : NULL;
}

static uint64_t
port_read(struct fixture *f, uint16_t port, int size)
{
	uint64_t v = ~0ULL;

	CHECK_EQ(io_dispatch(f->bvm.ports, NULL, false, port, size, &v), 0);
	return v;
}

static void
port_write(struct fixture *f, uint16_t port, int size, uint64_t v)
{
	CHECK_EQ(io_dispatch(f->bvm.ports, NULL, true, port, size, &v), 0);
}

TEST(enabled_by_path_key)
{
	struct fixture f;
	char path[64];

	REQUIRE(fixture_init(&f));
	for (int i = 0; i < 4; i++)
		CHECK(!coms[i]->enabled(&f.bvm));
	REQUIRE(set_log(&f, 3, path, sizeof(path)) != NULL);
	CHECK(config_set(f.bvm.cfg, "lpc.com2.other", "x") == 0);
	CHECK(!coms[0]->enabled(&f.bvm));
	CHECK(!coms[1]->enabled(&f.bvm));
	CHECK(coms[2]->enabled(&f.bvm));
	CHECK(!coms[3]->enabled(&f.bvm));
	CHECK_STR(coms[2]->name, "com3");
	fixture_fini(&f);
}

static size_t
file_contents(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, len);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

TEST(byte_and_wider_accesses)
{
	struct fixture f;
	char path[64], buf[16] = "";
	void *sc = NULL;
	uint64_t v = 0;

	REQUIRE(fixture_init(&f));
	REQUIRE(set_log(&f, 1, path, sizeof(path)) != NULL);
	REQUIRE(com1_device.init(&f.bvm, &sc) == 0);
	CHECK_STR(io_region_name(f.bvm.ports, 0x3f8), "com1");
	CHECK_STR(io_region_name(f.bvm.ports, 0x3ff), "com1");
	CHECK(io_region_name(f.bvm.ports, 0x400) == NULL);
	port_write(&f, 0x3ff, 1, 0x5a);
	CHECK_EQ(port_read(&f, 0x3ff, 1), 0x5a);
	/* 16 bits at 6: MSR (write ignored) then SCR. */
	port_write(&f, 0x3fe, 2, 0xab00);
	CHECK_EQ(port_read(&f, 0x3fe, 2),
	    0xab00 | UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	/* 32 bits at 4: MCR, LSR, MSR, SCR. */
	port_write(&f, 0x3fc, 1, UART_MCR_OUT2);
	CHECK_EQ(port_read(&f, 0x3fc, 4), 0xabb06008);
	/* THR then IER, one byte each, in ascending order. */
	port_write(&f, 0x3f8, 1, 'h');
	port_write(&f, 0x3f8, 2, 0x0369);
	CHECK_EQ(port_read(&f, 0x3f9, 1), 0x03);
	/* Past the last port: not this device's. */
	CHECK_EQ(io_dispatch(f.bvm.ports, NULL, false, 0x3ff, 2, &v), -ENOENT);
	com1_device.destroy(sc);
	CHECK(io_region_name(f.bvm.ports, 0x3f8) == NULL);
	CHECK_EQ(file_contents(path, buf, sizeof(buf)), 2);
	CHECK(memcmp(buf, "hi", 2) == 0);
	unlink(path);
	fixture_fini(&f);
}

TEST(all_four_ports)
{
	struct fixture f;
	char path[4][64];
	void *sc[4] = { NULL };

	REQUIRE(fixture_init(&f));
	for (int i = 0; i < 4; i++) {
		REQUIRE(set_log(&f, i + 1, path[i], sizeof(path[i])) != NULL);
		REQUIRE(coms[i]->init(&f.bvm, &sc[i]) == 0);
	}
	for (int i = 0; i < 4; i++)
		port_write(&f, com_base[i] + UART_SCR, 1, 0x10 + i);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(port_read(&f, com_base[i] + UART_SCR, 1), 0x10 + i);
		CHECK_STR(io_region_name(f.bvm.ports, com_base[i]),
		    coms[i]->name);
	}
	for (int i = 3; i >= 0; i--) {
		coms[i]->destroy(sc[i]);
		unlink(path[i]);
	}
	fixture_fini(&f);
}

TEST(startup_errors_name_the_port)
{
	struct fixture f;
	char path[64], bad[96];
	void *sc = NULL, *sc2 = NULL;

	REQUIRE(fixture_init(&f));
	REQUIRE(set_log(&f, 2, path, sizeof(path)) != NULL);
	REQUIRE(com2_device.init(&f.bvm, &sc) == 0);
	CHECK(com2_device.init(&f.bvm, &sc2) != 0);
	CHECK(strstr(f.bvm.err, "com2") != NULL);
	CHECK(strstr(f.bvm.err, "0x2f8") != NULL);
	com2_device.destroy(sc);
	unlink(path);

	snprintf(bad, sizeof(bad), "%s/missing/com4.log", f.dir);
	REQUIRE(config_set(f.bvm.cfg, "lpc.com4.path", bad) == 0);
	f.bvm.err[0] = '\0';
	CHECK(com4_device.init(&f.bvm, &sc) != 0);
	CHECK(strncmp(f.bvm.err, "com4: ", 6) == 0);
	CHECK(strstr(f.bvm.err, bad) != NULL);
	CHECK(io_region_name(f.bvm.ports, 0x2e8) == NULL);

	REQUIRE(config_set(f.bvm.cfg, "lpc.com3.path", "tcp=nonsense") == 0);
	CHECK(com3_device.init(&f.bvm, &sc) != 0);
	CHECK(strstr(f.bvm.err, "com3: tcp=nonsense") != NULL);

	REQUIRE(config_set(f.bvm.cfg, "lpc.com1.path", "%(nosuch)") == 0);
	CHECK(com1_device.enabled(&f.bvm));
	CHECK(com1_device.init(&f.bvm, &sc) != 0);
	CHECK(strstr(f.bvm.err, "lpc.com1.path") != NULL);
	fixture_fini(&f);
}

TEST_MAIN(
	TEST_ENTRY(enabled_by_path_key)
	TEST_ENTRY(byte_and_wider_accesses)
	TEST_ENTRY(all_four_ports)
	TEST_ENTRY(startup_errors_name_the_port)
)
