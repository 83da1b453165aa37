/* SPDX-License-Identifier: BSD-2-Clause */
/* bhyve(8)'s command line and bhyve_check_config(). */
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "test.h"

#define ARGV(...) ((const char *[]){ "bhyve", __VA_ARGS__, NULL })

static struct config_node *cfg;
static char err[256];

static void
free_cfg(void)
{
	config_free(cfg);
}

/* A temporary file holding 's'; the caller unlinks and frees it. */
static char *
tmpfile_with(const char *s)
{
	const char *p = test_tmpfile(s, strlen(s));

	return p ? strdup(p) : NULL;
}

static int
argv_len(const char **argv)
{
	int n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

/* Parse into a fresh tree (left in 'cfg' for the checks that follow). */
static enum cli_result
parse(const char **argv)
{
	if (cfg == NULL)
		atexit(free_cfg);
	config_free(cfg);
	cfg = config_new();
	if (cfg == NULL)
		return CLI_ERROR;
	return bhyve_parse_cli(cfg, argv_len(argv), (char **)argv, err,
	    sizeof(err));
}

/* Parse, then check: 0 if both pass. */
static int
parse_check(const char **argv)
{
	if (parse(argv) != CLI_OK)
		return -1;
	return bhyve_check_config(cfg, err, sizeof(err));
}

static const char *
get(const char *key)
{
	return config_get(cfg, key);
}

/* The error names the culprit: 'what' is in the message. */
#define CHECK_FAILS(argv, what)                                              \
	do {                                                                 \
		CHECK_EQ(parse(argv), CLI_ERROR);                            \
		CHECK(strstr(err, what) != NULL);                            \
		if (strstr(err, what) == NULL)                               \
			fprintf(stderr, "  message: %s\n", err);             \
	} while (0)

#define CHECK_CHECK_FAILS(argv, what)                                        \
	do {                                                                 \
		CHECK_EQ(parse(argv), CLI_OK);                               \
		CHECK(bhyve_check_config(cfg, err, sizeof(err)) < 0);        \
		CHECK(strstr(err, what) != NULL);                            \
		if (strstr(err, what) == NULL)                               \
			fprintf(stderr, "  message: %s\n", err);             \
	} while (0)

/* Run a parse with stdout in a file; returns what it printed. */
static char *
parse_stdout(const char **argv, enum cli_result *rc)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	char *out = NULL;
	long len;

	if (tmp == NULL || saved < 0)
		return NULL;
	fflush(stdout);
	dup2(fileno(tmp), STDOUT_FILENO);
	*rc = parse(argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	len = ftell(tmp);
	if (len >= 0 && (out = calloc(1, (size_t)len + 1)) != NULL) {
		rewind(tmp);
		if (fread(out, 1, (size_t)len, tmp) != (size_t)len)
			out[0] = '\0';
	}
	fclose(tmp);
	return out;
}

TEST(flags_set_keys)
{
	static const struct {
		const char *opt, *key, *value;
	} flags[] = {
		{ "-a", "x86.x2apic", "false" },
		{ "-C", "memory.guest_in_core", "true" },
		{ "-D", "destroy_on_poweroff", "true" },
		{ "-e", "x86.strictio", "true" },
		{ "-H", "x86.vmexit_on_hlt", "true" },
		{ "-P", "x86.vmexit_on_pause", "true" },
		{ "-S", "memory.wired", "true" },
		{ "-u", "rtc.use_localtime", "false" },
		{ "-W", "virtio_msix", "false" },
		{ "-w", "x86.strictmsr", "false" },
		{ "-x", "x86.x2apic", "true" },
		{ "-Y", "x86.mptable", "false" },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		CHECK_EQ(parse(ARGV(flags[i].opt, "vm0")), CLI_OK);
		CHECK_STR(get(flags[i].key), flags[i].value);
		CHECK_STR(get("name"), "vm0");
	}
	/* Clustered, last one wins, as in bhyve. */
	CHECK_EQ(parse(ARGV("-xHa", "vm0")), CLI_OK);
	CHECK_STR(get("x86.x2apic"), "false");
	CHECK_STR(get("x86.vmexit_on_hlt"), "true");
	CHECK_EQ(parse_check(ARGV("-aCDeHPSuWwxY", "vm0")), 0);
}

TEST(noop_flags)
{
	CHECK_EQ(parse(ARGV("-A", "-I", "vm0")), CLI_OK);
	/* Only the name is there. */
	CHECK_STR(config_node_name(config_first_child(cfg)), "name");
	CHECK(config_next_sibling(config_first_child(cfg)) == NULL);
}

TEST(key_options)
{
	CHECK_EQ(parse(ARGV("-m", "2G", "-K", "de", "-U",
	    "6ba7b810-9dad-11d1-80B4-00c04fd430c8", "vm0")), CLI_OK);
	CHECK_STR(get("memory.size"), "2G");
	CHECK_STR(get("keyboard.layout"), "de");
	CHECK_STR(get("uuid"), "6ba7b810-9dad-11d1-80B4-00c04fd430c8");
	CHECK_FAILS(ARGV("-U", "6ba7b810-9dad-11d1-80b4-00c04fd430c", "vm"),
	    "invalid UUID '6ba7b810-9dad-11d1-80b4-00c04fd430c'");
	CHECK_FAILS(ARGV("-U", "6ba7b810-9dad-11d1-80b4-00c04fd430c8a", "vm"),
	    "invalid UUID");
	CHECK_FAILS(ARGV("-U", "6ba7b810x9dad-11d1-80b4-00c04fd430c8", "vm"),
	    "invalid UUID");
	CHECK_FAILS(ARGV("-U", "6ba7b810-9dad-11d1-80b4-00c04fd430g8", "vm"),
	    "invalid UUID");
	CHECK_FAILS(ARGV("-r", "snap", "vm0"),
	    "snapshot restore (-r) is not supported yet");
}

TEST(operands_and_getopt_errors)
{
	CHECK_FAILS(ARGV("-H"), "missing VM name");
	CHECK_FAILS(ARGV("vm0", "extra"), "unexpected argument 'extra'");
	/* No glibc permutation: options after the name are operands. */
	CHECK_FAILS(ARGV("vm0", "-H"), "unexpected argument '-H'");
	CHECK_FAILS(ARGV("-Z", "vm0"), "unknown option -Z");
	CHECK_FAILS(ARGV("-aZ", "vm0"), "unknown option -Z");
	CHECK_FAILS(ARGV("-\x01", "vm0"), "unknown option byte 0x01");
	CHECK_FAILS(ARGV("vm0", "-m"), "unexpected argument");
	CHECK_FAILS(ARGV("-m"), "option -m needs an argument");
	CHECK_FAILS(ARGV("-H", "-s"), "option -s needs an argument");
	CHECK_EQ(parse(ARGV("--", "-vm")), CLI_OK);
	CHECK_STR(get("name"), "-vm");
	CHECK_EQ(bhyve_parse_cli(cfg, 0, NULL, err, sizeof(err)), CLI_ERROR);
	CHECK(err[0] != '\0');
}

TEST(repeated_calls)
{
	/* A call that stopped inside "-HZx" must not leak into the next. */
	CHECK_FAILS(ARGV("-HZx", "vm0"), "unknown option -Z");
	CHECK_EQ(parse(ARGV("-P", "vm1")), CLI_OK);
	CHECK_STR(get("name"), "vm1");
	CHECK(get("x86.x2apic") == NULL);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(parse(ARGV("-c", "2", "-m", "1G", "vm2")), CLI_OK);
		CHECK_STR(get("cpus"), "2");
	}
	/* A tiny or absent error buffer is fine. */
	CHECK_EQ(bhyve_parse_cli(cfg, 2, (char **)ARGV("-Z"), err, 1),
	    CLI_ERROR);
	CHECK_EQ(err[0], '\0');
	CHECK_EQ(bhyve_parse_cli(cfg, 2, (char **)ARGV("-Z"), NULL, 0),
	    CLI_ERROR);
}

TEST(help)
{
	enum cli_result rc = CLI_ERROR;
	char *out;

	out = parse_stdout(ARGV("-h"), &rc);
	CHECK_EQ(rc, CLI_EXIT_OK);
	CHECK(out != NULL && strstr(out, "Usage: bhyve") != NULL);
	free(out);
	out = parse_stdout(ARGV("-s", "help"), &rc);
	CHECK_EQ(rc, CLI_EXIT_OK);
	CHECK(out != NULL && strstr(out, "virtio-blk") != NULL &&
	    strstr(out, "amd_hostbridge") != NULL && strstr(out, "hda"));
	free(out);
	out = parse_stdout(ARGV("-H", "-l", "help", "-Z"), &rc);
	CHECK_EQ(rc, CLI_EXIT_OK);
	CHECK(out != NULL && strstr(out, "com4 ") != NULL &&
	    strstr(out, "bootrom ") && strstr(out, "fwcfg ") &&
	    strstr(out, "pc-testdev ") && strstr(out, "tpm "));
	free(out);
	/* Only the whole argument asks for help. */
	CHECK_FAILS(ARGV("-s", "help,x", "vm0"), "invalid PCI slot 'help'");
	CHECK_FAILS(ARGV("-l", "help,x", "vm0"), "unknown LPC device 'help'");
}

TEST(topology_option)
{
	CHECK_EQ(parse(ARGV("-c", "4", "vm0")), CLI_OK);
	CHECK_STR(get("cpus"), "4");
	CHECK(get("sockets") == NULL);
	CHECK_EQ(parse(ARGV("-c", "cpus=4,sockets=2,cores=2,threads=1,"
	    "maxcpus=8", "vm0")), CLI_OK);
	CHECK_STR(get("cpus"), "4");
	CHECK_STR(get("sockets"), "2");
	CHECK_STR(get("cores"), "2");
	CHECK_STR(get("threads"), "1");
	CHECK_STR(get("maxcpus"), "8");
	CHECK_EQ(parse(ARGV("-c", "", "vm0")), CLI_OK);
	CHECK_STR(get("cpus"), "1");
	CHECK_STR(get("threads"), "1");
	CHECK_FAILS(ARGV("-c", "2,dies=2", "vm0"), "unknown item 'dies'");
	CHECK_FAILS(ARGV("-c", "2,,cores=1", "vm0"), "-c: unknown item ''");
	/* As in bhyve, a bare item is cpus; the check names it. */
	CHECK_CHECK_FAILS(ARGV("-c", "2,cores", "vm0"), "invalid cpus 'cores'");
}

TEST(topology_check)
{
	/* bhyve's calc_topology(): sockets default to cpus. */
	CHECK_EQ(parse_check(ARGV("-c", "4", "vm0")), 0);
	CHECK_STR(get("sockets"), "4");
	CHECK_STR(get("cores"), "1");
	CHECK_STR(get("threads"), "1");
	CHECK_EQ(parse_check(ARGV("-c", "sockets=2,cores=2,threads=2",
	    "vm0")), 0);
	CHECK_STR(get("cpus"), "8");
	CHECK_EQ(parse_check(ARGV("-c", "4,sockets=1,cores=4", "-o",
	    "maxcpus=6", "vm0")), 0);
	CHECK_EQ(parse_check(ARGV("vm0")), 0);
	CHECK_STR(get("cpus"), "1");
	CHECK_STR(get("sockets"), "1");
	CHECK_CHECK_FAILS(ARGV("-c", "3,sockets=2,cores=2", "vm0"),
	    "cpus (3) must equal sockets*cores*threads (4)");
	CHECK_CHECK_FAILS(ARGV("-c", "4,cores=2", "vm0"),
	    "cpus (4) must equal sockets*cores*threads (8)");
	CHECK_CHECK_FAILS(ARGV("-c", "65", "vm0"), "invalid cpus '65'");
	CHECK_CHECK_FAILS(ARGV("-c", "0", "vm0"), "invalid cpus '0'");
	CHECK_CHECK_FAILS(ARGV("-c", "two", "vm0"), "invalid cpus 'two'");
	CHECK_CHECK_FAILS(ARGV("-c", "2,threads=-1", "vm0"),
	    "invalid threads '-1'");
	CHECK_CHECK_FAILS(ARGV("-c", "sockets=8,cores=8,threads=2", "vm0"),
	    "sockets*cores*threads (128)");
	CHECK_CHECK_FAILS(ARGV("-c", "4,maxcpus=2", "vm0"),
	    "maxcpus (2) is less than cpus (4)");
	CHECK_CHECK_FAILS(ARGV("-o", "cores.x=1", "vm0"), "cores");
}

TEST(defaults_and_dump)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	CHECK_EQ(parse_check(ARGV("vm0")), 0);
	CHECK_STR(get("memory.size"), "256M");
	CHECK_STR(get("vmm.backend"), "auto");
	CHECK_STR(get("lpc.fwcfg"), "qemu");
	/* Set keys are kept. */
	CHECK_EQ(parse_check(ARGV("-m", "1G", "-o", "vmm.backend=kvm",
	    "-o", "config.dump=yes", "vm0")), 0);
	CHECK_STR(get("memory.size"), "1G");
	CHECK_STR(get("vmm.backend"), "kvm");
	fp = open_memstream(&buf, &len);
	REQUIRE(fp != NULL);
	config_dump(cfg, fp);
	fclose(fp);
	CHECK_STR(buf, "memory.size=1G\nvmm.backend=kvm\nconfig.dump=yes\n"
	    "name=vm0\nlpc.fwcfg=qemu\ncpus=1\nsockets=1\ncores=1\n"
	    "threads=1\n");
	free(buf);
}

TEST(check_values)
{
	CHECK_CHECK_FAILS(ARGV("-m", "lots", "vm0"),
	    "invalid memory.size 'lots'");
	CHECK_CHECK_FAILS(ARGV("-m", "4097B", "vm0"),
	    "invalid memory.size '4097B'");
	CHECK_EQ(parse_check(ARGV("-m", "8192B", "vm0")), 0);
	CHECK_CHECK_FAILS(ARGV("-o", "vmm.backend=xen", "vm0"),
	    "invalid vmm.backend 'xen'");
	CHECK(strstr(err, "vtx") != NULL);
	CHECK_EQ(parse_check(ARGV("-o", "vmm.backend=vtx", "vm0")), 0);
	CHECK_STR(get("vmm.backend"), "vtx");
	CHECK_CHECK_FAILS(ARGV("-l", "fwcfg,bhyve", "vm0"),
	    "lpc.fwcfg 'bhyve'");
	CHECK(strstr(err, "not implemented") != NULL);
	CHECK_CHECK_FAILS(ARGV("-o", "lpc.fwcfg=ovmf", "vm0"),
	    "invalid lpc.fwcfg 'ovmf'");
	CHECK_CHECK_FAILS(ARGV("-o", "memory=1", "vm0"), "memory.size");
	/* Unknown keys are ignored, as bhyve_config(5) says. */
	CHECK_EQ(parse_check(ARGV("-o", "no.such.key=1", "vm0")), 0);
	/* Features asked for but not built yet are refused, not ignored. */
	CHECK_CHECK_FAILS(ARGV("-G", "1234", "vm0"), "gdb.port");
	CHECK_EQ(parse_check(ARGV("-o", "gdb.port=0", "vm0")), 0);
	CHECK_CHECK_FAILS(ARGV("-n", "id=0,size=1G,cpus=0", "vm0"),
	    "domains: NUMA");
}

TEST(check_booleans)
{
	static const char *const keys[] = { "x86.x2apic", "x86.strictio",
		"x86.strictmsr", "x86.vmexit_on_hlt", "x86.vmexit_on_pause",
		"x86.mptable", "x86.verbosemsr", "memory.wired",
		"memory.guest_in_core", "destroy_on_poweroff",
		"rtc.use_localtime", "virtio_msix", "acpi_tables",
		"lpc.pc-testdev", "config.dump", "gdb.wait" };
	char opt[64], want[80];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(opt, sizeof(opt), "%s=maybe", keys[i]);
		snprintf(want, sizeof(want), "invalid %s 'maybe'", keys[i]);
		CHECK_CHECK_FAILS(ARGV("-o", opt, "vm0"), want);
		snprintf(opt, sizeof(opt), "%s=off", keys[i]);
		CHECK_EQ(parse_check(ARGV("-o", opt, "vm0")), 0);
	}
}

TEST(check_name)
{
	CHECK_EQ(parse_check(ARGV("My_vm-1.2")), 0);
	CHECK_CHECK_FAILS(ARGV("bad/name"), "invalid name 'bad/name'");
	CHECK_CHECK_FAILS(ARGV(".."), "invalid name '..'");
	CHECK_CHECK_FAILS(ARGV("a b"), "invalid name 'a b'");
	CHECK_CHECK_FAILS(ARGV(""), "invalid name ''");
	CHECK_EQ(parse_check(ARGV("abcdefghijklmnopqrstuvwxyz01234")), 0);
	CHECK_CHECK_FAILS(ARGV("abcdefghijklmnopqrstuvwxyz012345"),
	    "invalid name");
	/* A name from -o or -k still ends in the one operand. */
	CHECK_EQ(parse_check(ARGV("-o", "name=other", "vm0")), 0);
	CHECK_STR(get("name"), "vm0");
	/* Without parse: no name at all. */
	config_free(cfg);
	cfg = config_new();
	REQUIRE(cfg != NULL);
	CHECK(bhyve_check_config(cfg, err, sizeof(err)) < 0);
	CHECK(strstr(err, "invalid name ''") != NULL);
}

TEST(check_expansions)
{
	CHECK_EQ(parse_check(ARGV("-o", "disk=/d/%(name)-%(memory.size)",
	    "vm0")), 0);
	CHECK_STR(get("disk"), "/d/vm0-256M");
	CHECK_CHECK_FAILS(ARGV("-s", "3,virtio-blk,/d/%(nmae)", "vm0"),
	    "cannot expand the value of pci.0.3.0.path");
	CHECK_CHECK_FAILS(ARGV("-o", "a=%(b)", "-o", "b=%(a)", "vm0"),
	    "cannot expand the value of a: %(var) loop");
	CHECK_CHECK_FAILS(ARGV("-o", "cpus=%(x", "vm0"),
	    "cannot expand the value of cpus");
}

TEST(set_option)
{
	CHECK_EQ(parse(ARGV("-o", "a.b=c=d", "-o", "e=", "vm0")), CLI_OK);
	CHECK_STR(get("a.b"), "c=d");
	CHECK_STR(get("e"), "");
	CHECK_FAILS(ARGV("-o", "novalue", "vm0"), "-o: 'novalue' is not "
	    "key=value");
	CHECK_FAILS(ARGV("-o", "=x", "vm0"), "'=x' is not key=value");
	CHECK_FAILS(ARGV("-o", "a..b=1", "vm0"), "cannot set 'a..b'");
	CHECK_FAILS(ARGV("-o", "a.b=1", "-o", "a=2", "vm0"), "cannot set 'a'");
}

TEST(config_file_option)
{
	char *path = tmpfile_with("# cfg\nname=fromfile\nmemory.size=1G\n"
	    "\nx86.x2apic=true\n"), want[128];

	REQUIRE(path != NULL);
	CHECK_EQ(parse(ARGV("-m", "512M", "-k", path, "vm0")), CLI_OK);
	CHECK_STR(get("memory.size"), "1G"); /* options apply in order */
	CHECK_STR(get("x86.x2apic"), "true");
	CHECK_STR(get("name"), "vm0");
	unlink(path);
	snprintf(want, sizeof(want), "-k: %s: No such file or directory",
	    path);
	CHECK_FAILS(ARGV("-k", path, "vm0"), want);
	free(path);
	path = tmpfile_with("a=1\n# ok\nbroken line\n");
	REQUIRE(path != NULL);
	snprintf(want, sizeof(want), "%s:3: malformed line", path);
	CHECK_FAILS(ARGV("-k", path, "vm0"), want);
	unlink(path);
	free(path);
}

TEST(fwcfg_files)
{
	CHECK_EQ(parse(ARGV("-f", "opt/org.test/a,string=hi,there", "-f",
	    "name=opt/b.c,file=/tmp/x", "vm0")), CLI_OK);
	CHECK_STR(get("fwcfg.user.0.name"), "opt/org.test/a");
	CHECK_STR(get("fwcfg.user.0.string"), "hi,there");
	CHECK_STR(get("fwcfg.user.1.name"), "opt/b.c");
	CHECK_STR(get("fwcfg.user.1.file"), "/tmp/x");
	CHECK_EQ(parse(ARGV("-f", "a,string=", "vm0")), CLI_OK);
	CHECK_STR(get("fwcfg.user.0.string"), "");
	CHECK_FAILS(ARGV("-f", "opt/a", "vm0"), "-f: want NAME,string=DATA");
	CHECK_FAILS(ARGV("-f", ",string=x", "vm0"), "NAME of 1-55");
	CHECK_FAILS(ARGV("-f", "1234567890123456789012345678901234567890"
	    "1234567890123456,string=x", "vm0"), "NAME of 1-55");
	CHECK_EQ(parse(ARGV("-f", "123456789012345678901234567890123456789"
	    "0123456789012345,string=x", "vm0")), CLI_OK);
	CHECK_FAILS(ARGV("-f", "a,data=x", "vm0"), "'data=x' is not");
	CHECK_FAILS(ARGV("-f", "a,file=", "vm0"), "'file=' is not");
}

TEST(gdb_option)
{
	CHECK_EQ(parse(ARGV("-G", "1234", "vm0")), CLI_OK);
	CHECK_STR(get("gdb.port"), "1234");
	CHECK(get("gdb.wait") == NULL && get("gdb.address") == NULL);
	CHECK_EQ(parse(ARGV("-G", "w127.0.0.1:4321", "vm0")), CLI_OK);
	CHECK_STR(get("gdb.wait"), "true");
	CHECK_STR(get("gdb.address"), "127.0.0.1");
	CHECK_STR(get("gdb.port"), "4321");
	CHECK_EQ(parse(ARGV("-G", "::1:4321", "vm0")), CLI_OK);
	CHECK_STR(get("gdb.address"), "::1");
	CHECK_FAILS(ARGV("-G", "gdb", "vm0"), "-G: invalid port 'gdb'");
	CHECK_FAILS(ARGV("-G", "65536", "vm0"), "invalid port '65536'");
	CHECK_FAILS(ARGV("-G", "w", "vm0"), "invalid port ''");
	CHECK_FAILS(ARGV("-G", ":99", "vm0"), "invalid address ''");
}

TEST(numa_option)
{
	CHECK_EQ(parse(ARGV("-n", "id=0,size=1G,cpus=0-1", "-n",
	    "cpus=2,id=1,domain_policy=prefer:1", "vm0")), CLI_OK);
	CHECK_STR(get("domains.0.size"), "1G");
	CHECK_STR(get("domains.0.cpus"), "0-1");
	CHECK_STR(get("domains.1.cpus"), "2");
	CHECK_STR(get("domains.1.domain_policy"), "prefer:1");
	CHECK_FAILS(ARGV("-n", "size=1G", "vm0"), "want id=0..7, not ''");
	CHECK_FAILS(ARGV("-n", "id=8", "vm0"), "not '8'");
	CHECK_FAILS(ARGV("-n", "id=0,mem=1G", "vm0"), "unknown item 'mem'");
	CHECK_FAILS(ARGV("-n", "0,size=1G", "vm0"), "unknown item '0'");
}

TEST(pin_option)
{
	CHECK_EQ(parse(ARGV("-p", "0:3", "-p", "0:5", "-p", "63:1023",
	    "vm0")), CLI_OK);
	CHECK_STR(get("vcpu.0.cpuset"), "3,5");
	CHECK_STR(get("vcpu.63.cpuset"), "1023");
	CHECK_FAILS(ARGV("-p", "0", "vm0"), "-p: want vcpu:hostcpu");
	CHECK_FAILS(ARGV("-p", "64:0", "vm0"), "vcpu 0-63");
	CHECK_FAILS(ARGV("-p", "0:1024", "vm0"), "hostcpu 0-1023");
	CHECK_FAILS(ARGV("-p", "0:-1", "vm0"), "want vcpu:hostcpu");
	CHECK_FAILS(ARGV("-p", "x:1", "vm0"), "want vcpu:hostcpu");
}

TEST(lpc_devices)
{
	CHECK_EQ(parse(ARGV("-l", "com1,stdio", "-l", "COM2,tcp=1.2.3.4:5",
	    "-l", "com3", "-l", "pc-testdev", "-l", "fwcfg,qemu", "vm0")),
	    CLI_OK);
	CHECK_STR(get("lpc.com1.path"), "stdio");
	CHECK_STR(get("lpc.com2.path"), "tcp=1.2.3.4:5");
	CHECK(get("lpc.com3.path") == NULL);
	CHECK_STR(get("lpc.pc-testdev"), "true");
	CHECK_STR(get("lpc.fwcfg"), "qemu");
	CHECK_EQ(parse(ARGV("-l", "bootrom,/rom.fd,/vars.fd,fwcfg=qemu,x",
	    "vm0")), CLI_OK);
	CHECK_STR(get("lpc.bootrom"), "/rom.fd");
	CHECK_STR(get("lpc.bootvars"), "/vars.fd");
	CHECK_STR(get("lpc.fwcfg"), "qemu");
	CHECK_STR(get("lpc.x"), "true");
	CHECK_EQ(parse(ARGV("-l", "bootrom,/rom.fd,fwcfg=qemu", "vm0")),
	    CLI_OK);
	CHECK(get("lpc.bootvars") == NULL);
	CHECK_STR(get("lpc.fwcfg"), "qemu");
	CHECK_EQ(parse(ARGV("-l", "tpm,swtpm,/run/tpm.sock", "vm0")), CLI_OK);
	CHECK_STR(get("tpm.type"), "swtpm");
	CHECK_STR(get("tpm.path"), "/run/tpm.sock");
	CHECK_STR(get("tpm.version"), "2.0");
	CHECK_FAILS(ARGV("-l", "com5,stdio", "vm0"),
	    "-l: unknown LPC device 'com5'");
	CHECK_FAILS(ARGV("-l", "com1,", "vm0"), "com1: empty path");
	CHECK_FAILS(ARGV("-l", "bootrom", "vm0"), "bootrom needs a ROM file");
	CHECK_FAILS(ARGV("-l", "fwcfg,ovmf", "vm0"), "fwcfg wants");
	CHECK_FAILS(ARGV("-l", "pc-testdev,x", "vm0"), "takes no options");
	CHECK_FAILS(ARGV("-l", "tpm,swtpm", "vm0"), "tpm wants tpm,type,path");
	CHECK_FAILS(ARGV("-l", "bootrom,/r,/v,,", "vm0"), "empty key");
}

TEST(pci_storage)
{
	CHECK_EQ(parse(ARGV("-s", "3,virtio-blk,/img/a=b.raw,ro,nocache,"
	    "sectorsize=4096", "-s", "4:1,nvme,ram=1024,maxq=4", "-s",
	    "1:5:2,nvme,/dev/nvme0,ser=X", "vm0")), CLI_OK);
	CHECK_STR(get("pci.0.3.0.device"), "virtio-blk");
	CHECK_STR(get("pci.0.3.0.path"), "/img/a=b.raw");
	CHECK_STR(get("pci.0.3.0.ro"), "true");
	CHECK_STR(get("pci.0.3.0.nocache"), "true");
	CHECK_STR(get("pci.0.3.0.sectorsize"), "4096");
	CHECK_STR(get("pci.0.4.1.ram"), "1024");
	CHECK(get("pci.0.4.1.path") == NULL);
	CHECK_STR(get("pci.1.5.2.path"), "/dev/nvme0");
	CHECK_STR(get("pci.1.5.2.ser"), "X");
	/* bhyve's aliases: ahci-hd is an ahci with an hd port 0. */
	CHECK_EQ(parse(ARGV("-s", "5,ahci-hd,/d.img,ro", "-s",
	    "6,ahci-cd,/cd.iso", "-s", "7,ahci,hd:/a,nmrr=1,cd:/b", "vm0")),
	    CLI_OK);
	CHECK_STR(get("pci.0.5.0.device"), "ahci");
	CHECK_STR(get("pci.0.5.0.port.0.type"), "hd");
	CHECK_STR(get("pci.0.5.0.port.0.path"), "/d.img");
	CHECK_STR(get("pci.0.5.0.port.0.ro"), "true");
	CHECK_STR(get("pci.0.6.0.port.0.type"), "cd");
	CHECK_STR(get("pci.0.6.0.port.0.path"), "/cd.iso");
	CHECK_STR(get("pci.0.7.0.port.0.path"), "/a");
	CHECK_STR(get("pci.0.7.0.port.0.nmrr"), "1");
	CHECK_STR(get("pci.0.7.0.port.1.type"), "cd");
	CHECK_STR(get("pci.0.7.0.port.1.path"), "/b");
	CHECK_FAILS(ARGV("-s", "7,ahci,/a", "vm0"), "'/a' is not hd:path");
	CHECK_FAILS(ARGV("-s", "3,virtio-blk,/a,,ro", "vm0"), "empty key");
	CHECK_EQ(parse(ARGV("-s", "3,virtio-scsi,/dev/cam/ctl,iid=2", "-s",
	    "4,virtio-input,/dev/input/event0", "vm0")), CLI_OK);
	CHECK_STR(get("pci.0.3.0.dev"), "/dev/cam/ctl");
	CHECK_STR(get("pci.0.3.0.iid"), "2");
	CHECK_STR(get("pci.0.4.0.path"), "/dev/input/event0");
}

TEST(pci_network_and_serial)
{
	CHECK_EQ(parse(ARGV("-s", "2,virtio-net,mac=58:9c:fc:00:00:01,tap0",
	    "-s", "3,e1000,slirp,hostfwd=tcp::2222-:22", "-s",
	    "4,uart,tcp=127.0.0.1:4000", "-s", "5,virtio-net", "vm0")),
	    CLI_OK);
	CHECK_STR(get("pci.0.2.0.backend"), "tap0");
	CHECK_STR(get("pci.0.2.0.mac"), "58:9c:fc:00:00:01");
	CHECK_STR(get("pci.0.3.0.device"), "e1000");
	CHECK_STR(get("pci.0.3.0.backend"), "slirp");
	CHECK_STR(get("pci.0.3.0.hostfwd"), "tcp::2222-:22");
	CHECK_STR(get("pci.0.4.0.path"), "tcp=127.0.0.1:4000");
	CHECK_STR(get("pci.0.5.0.device"), "virtio-net");
	CHECK(get("pci.0.5.0.backend") == NULL);
}

TEST(pci_other_devices)
{
	CHECK_EQ(parse(ARGV("-s", "0,amd_hostbridge", "-s",
	    "1,virtio-9p,share=/srv/x,ro", "-s",
	    "2,virtio-console,org.test.0=/tmp/s0,b=/tmp/s1", "-s",
	    "3,xhci,tablet", "-s", "4,virtio-rnd", "-s",
	    "5,fbuf,tcp=0.0.0.0:5900,w=800,h=600,wait", "-s",
	    "6,hda,play=/dev/dsp0", "-s", "31,lpc", "vm0")), CLI_OK);
	CHECK_STR(get("pci.0.0.0.device"), "hostbridge");
	CHECK_STR(get("pci.0.0.0.pcireg.vendor"), "0x1022");
	CHECK_STR(get("pci.0.0.0.pcireg.device"), "0x7432");
	CHECK_STR(get("pci.0.1.0.sharename"), "share");
	CHECK_STR(get("pci.0.1.0.path"), "/srv/x");
	CHECK_STR(get("pci.0.1.0.ro"), "true");
	CHECK_STR(get("pci.0.2.0.port.0.name"), "org.test.0");
	CHECK_STR(get("pci.0.2.0.port.0.path"), "/tmp/s0");
	CHECK_STR(get("pci.0.2.0.port.1.name"), "b");
	CHECK_STR(get("pci.0.3.0.slot.1.device"), "tablet");
	CHECK_STR(get("pci.0.4.0.device"), "virtio-rnd");
	CHECK_STR(get("pci.0.5.0.wait"), "true");
	CHECK_STR(get("pci.0.5.0.w"), "800");
	CHECK_STR(get("pci.0.6.0.play"), "/dev/dsp0");
	CHECK_STR(get("pci.0.31.0.device"), "lpc");
	CHECK_FAILS(ARGV("-s", "1,virtio-9p,a=/x,b=/y", "vm0"),
	    "virtio-9p: want one sharename=path, not 'b=/y'");
	CHECK_FAILS(ARGV("-s", "2,virtio-console,/tmp/s", "vm0"),
	    "not '/tmp/s'");
	CHECK_FAILS(ARGV("-s", "3,xhci,tablet,", "vm0"), "xhci: empty device");
}

TEST(pci_passthru)
{
	CHECK_EQ(parse(ARGV("-s", "6,passthru,ppt0,rom=/x.rom", "-s",
	    "7,passthru,2/0/1", "-s", "8,passthru,pci3:4:5", "-s",
	    "9,passthru,pci0:6:7:0", "vm0")), CLI_OK);
	CHECK_STR(get("pci.0.6.0.pptdev"), "ppt0");
	CHECK_STR(get("pci.0.6.0.rom"), "/x.rom");
	CHECK_STR(get("pci.0.7.0.bus"), "2");
	CHECK_STR(get("pci.0.7.0.slot"), "0");
	CHECK_STR(get("pci.0.7.0.func"), "1");
	CHECK_STR(get("pci.0.8.0.bus"), "3");
	CHECK_STR(get("pci.0.8.0.func"), "5");
	CHECK_STR(get("pci.0.9.0.bus"), "6");
	CHECK_STR(get("pci.0.9.0.slot"), "7");
	CHECK_FAILS(ARGV("-s", "6,passthru,eth0", "vm0"),
	    "passthru: bad host device 'eth0'");
	CHECK_FAILS(ARGV("-s", "6,passthru,1/32/0", "vm0"), "'1/32/0'");
	CHECK_FAILS(ARGV("-s", "6,passthru,pci1:2", "vm0"), "'pci1:2'");
}

TEST(pci_slots)
{
	static const char *const bad[] = { "32", "0:8", "256:0:0", "a", "",
		"1:2:3:4", "-1", " 3", "+3", "3:", "0x3" };
	char opt[32], want[64];

	CHECK_EQ(parse(ARGV("-s", "0:0,hostbridge", "-s", "255:31:7,uart",
	    "vm0")), CLI_OK);
	CHECK_STR(get("pci.0.0.0.device"), "hostbridge");
	CHECK_STR(get("pci.255.31.7.device"), "uart");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(opt, sizeof(opt), "%s,virtio-rnd", bad[i]);
		snprintf(want, sizeof(want), "invalid PCI slot '%s'", bad[i]);
		CHECK_FAILS(ARGV("-s", opt, "vm0"), want);
	}
	CHECK_FAILS(ARGV("-s", "3,virtio-foo", "vm0"),
	    "-s: unknown PCI device 'virtio-foo'");
	CHECK_FAILS(ARGV("-s", "3", "vm0"), "unknown PCI device ''");
	CHECK_FAILS(ARGV("-s", "3,virtio-rnd", "-s", "0:3:0,virtio-blk,/x",
	    "vm0"), "slot 0:3:0 is already used");
	CHECK_FAILS(ARGV("-o", "pci.0.3.0.device=hda", "-s", "3:0,hda",
	    "vm0"), "slot 0:3:0 is already used");
	CHECK_FAILS(ARGV("-o", "pci.0=x", "-s", "3,hda", "vm0"),
	    "cannot create 'pci.0.3.0'");
}

TEST_MAIN(TEST_ENTRY(flags_set_keys) TEST_ENTRY(noop_flags)
    TEST_ENTRY(key_options) TEST_ENTRY(operands_and_getopt_errors)
    TEST_ENTRY(repeated_calls) TEST_ENTRY(help) TEST_ENTRY(topology_option)
    TEST_ENTRY(topology_check) TEST_ENTRY(defaults_and_dump)
    TEST_ENTRY(check_values) TEST_ENTRY(check_booleans)
    TEST_ENTRY(check_name) TEST_ENTRY(check_expansions)
    TEST_ENTRY(set_option) TEST_ENTRY(config_file_option)
    TEST_ENTRY(fwcfg_files) TEST_ENTRY(gdb_option) TEST_ENTRY(numa_option)
    TEST_ENTRY(pin_option) TEST_ENTRY(lpc_devices) TEST_ENTRY(pci_storage)
    TEST_ENTRY(pci_network_and_serial) TEST_ENTRY(pci_other_devices)
    TEST_ENTRY(pci_passthru) TEST_ENTRY(pci_slots))
