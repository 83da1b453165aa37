/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bhyve(8)'s command line.  Every option becomes config keys as
 * bhyve_config(5) names them; bhyve_check_config() then fills defaults and
 * validates the whole tree, since -o and -k can set any key.
 *
 * Device strings are decoded in cli_devices.c, the checks after all
 * options are in cli_check.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli_internal.h"
#include "uuid.h"
#include "vmm.h"
#include "vmmapi.h"

/*
 * '+' stops at the first operand (the VM name) as BSD getopt does, where
 * glibc would permute; ':' makes a missing argument return ':'.
 */
#define CLI_OPTSTRING "+:aehuwxACDHIPSWYk:f:o:p:G:c:s:m:n:l:K:U:r:"

int __attribute__((format(printf, 2, 3)))
cli_fail(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (c->errlen == 0)
		return -1;
	if (c->opt != 0)
		n = snprintf(c->err, c->errlen, "-%c: ", c->opt);
	if (n < 0 || (size_t)n >= c->errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* For messages: an unset value prints as nothing, not "(null)". */
const char *
cli_str(const char *s)
{
	return s ? s : "";
}

int
cli_set(struct cli *c, struct config_node *node, const char *key,
    const char *value)
{
	int error = config_set(node ? node : c->cfg, key, value);

	if (error == -ENOMEM)
		return cli_fail(c, "out of memory");
	if (error)
		return cli_fail(c, "cannot set '%s': malformed key, or it "
		    "conflicts with an existing key", key);
	return 0;
}

/* cli_set() with a printf-formatted key. */
int __attribute__((format(printf, 4, 5)))
cli_setf(struct cli *c, struct config_node *node, const char *value,
    const char *fmt, ...)
{
	char key[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	return cli_set(c, node, key, value);
}

struct config_node *
cli_node(struct cli *c, struct config_node *parent, const char *path)
{
	struct config_node *n = config_create_node(parent, path);

	if (n == NULL)
		cli_fail(c, "cannot create '%s': it conflicts with a key",
		    path);
	return n;
}

/* Strict decimal: sscanf's %d would also take " +3" or "3x". */
int
cli_dec(const char *s, unsigned long max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* "key=value" sets key; a bare "flag" sets flag=true (bhyve's rule). */
int
cli_set_item(struct cli *c, struct config_node *node, char *item)
{
	char *eq = strchr(item, '=');

	if (*item == '\0' || eq == item)
		return cli_fail(c, "empty key in an option list");
	if (eq == NULL)
		return cli_set(c, node, item, "true");
	*eq = '\0';
	return cli_set(c, node, item, eq + 1);
}

int
cli_set_items(struct cli *c, struct config_node *node, char *list)
{
	char *item;

	while ((item = strsep(&list, ",")) != NULL)
		if (cli_set_item(c, node, item) != 0)
			return -1;
	return 0;
}

/*
 * Split "k=v,..." whose keys must be in keys[] into val[]; a bare item is
 * val[0] if bare_ok.  The last of repeated items wins.
 */
int
cli_keyed(struct cli *c, char *list, const char *const *keys, size_t n,
    bool bare_ok, const char **val)
{
	char *item, *eq;
	size_t i;

	while ((item = strsep(&list, ",")) != NULL) {
		eq = strchr(item, '=');
		if (eq == NULL && bare_ok && *item != '\0') {
			val[0] = item;
			continue;
		}
		if (eq != NULL)
			*eq = '\0';
		for (i = 0; i < n && strcmp(item, keys[i]) != 0; i++)
			;
		if (eq == NULL || i == n)
			return cli_fail(c, "unknown item '%s'", item);
		val[i] = eq + 1;
	}
	return 0;
}

/* ---- the other options ---- */

static int
opt_key(struct cli *c, const struct cli_option *o, char *arg)
{
	if (o->co_key == NULL)
		return 0;
	return cli_set(c, NULL, o->co_key, o->co_value ? o->co_value : arg);
}

/* Prints the option table, which follows. */
static int opt_help(struct cli *c, const struct cli_option *o, char *arg);

static int
opt_restore(struct cli *c, const struct cli_option *o, char *arg)
{
	return cli_fail(c, "snapshot restore (-r) is not supported yet");
}

static int
opt_set(struct cli *c, const struct cli_option *o, char *arg)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		return cli_fail(c, "'%s' is not key=value", arg);
	*eq = '\0';
	return cli_set(c, NULL, arg, eq + 1);
}

static int
opt_config_file(struct cli *c, const struct cli_option *o, char *arg)
{
	int line = 0;
	int error = config_load_file(c->cfg, arg, &line);

	if (error != 0 && line > 0)
		return cli_fail(c, "%s:%d: malformed line", arg, line);
	if (error != 0)
		return cli_fail(c, "%s: %s", arg, strerror(-error));
	return 0;
}

/*
 * "[[cpus=]n][,sockets=n][,cores=n][,threads=n][,maxcpus=n]" as bhyve's
 * bhyve_topology_parse(); bhyve_check_config() checks the values and
 * derives missing ones once -o and -k had their say.
 */
static int
opt_topology(struct cli *c, const struct cli_option *o, char *arg)
{
	static const char *const keys[] = { "cpus", "sockets", "cores",
		"threads", "maxcpus" };
	const char *val[CLI_NELEM(keys)] = { NULL };

	if (*arg == '\0') /* bhyve: "-c ''" is one vCPU */
		for (size_t i = 0; i < 4; i++)
			val[i] = "1";
	else if (cli_keyed(c, arg, keys, CLI_NELEM(keys), true, val))
		return -1;
	for (size_t i = 0; i < CLI_NELEM(keys); i++)
		if (val[i] != NULL && cli_set(c, NULL, keys[i], val[i]))
			return -1;
	return 0;
}

/* "id=N,size=S,cpus=LIST[,domain_policy=P]" -> domains.N.* */
static int
opt_numa(struct cli *c, const struct cli_option *o, char *arg)
{
	static const char *const keys[] = { "id", "size", "cpus",
		"domain_policy" };
	const char *val[CLI_NELEM(keys)] = { NULL };
	unsigned id;

	if (cli_keyed(c, arg, keys, CLI_NELEM(keys), false, val))
		return -1;
	if (cli_dec(val[0], CLI_MAX_DOMAINS - 1, &id))
		return cli_fail(c, "want id=0..%d, not '%s'",
		    CLI_MAX_DOMAINS - 1, cli_str(val[0]));
	for (size_t i = 1; i < CLI_NELEM(keys); i++)
		if (val[i] != NULL &&
		    cli_setf(c, NULL, val[i], "domains.%u.%s", id, keys[i]))
			return -1;
	return 0;
}

/* "[name=]NAME,string=DATA|file=PATH" -> fwcfg.user.N.{name,string|file} */
static int
opt_fwcfg_file(struct cli *c, const struct cli_option *o, char *arg)
{
	char *name = arg, *comma, *value, base[32];
	bool string;
	int n = 0;

	if (strncmp(name, "name=", 5) == 0)
		name += 5;
	comma = strchr(name, ',');
	if (comma == NULL || comma == name ||
	    comma - name >= CLI_FWCFG_NAME_MAX)
		return cli_fail(c, "want NAME,string=DATA or NAME,file=PATH "
		    "with a NAME of 1-%d characters", CLI_FWCFG_NAME_MAX - 1);
	*comma = '\0';
	string = strncmp(comma + 1, "string=", 7) == 0;
	if (!string && (strncmp(comma + 1, "file=", 5) || comma[6] == '\0'))
		return cli_fail(c, "'%s' is not string=DATA or file=PATH",
		    comma + 1);
	value = comma + (string ? 8 : 6);
	do {
		snprintf(base, sizeof(base), "fwcfg.user.%d", n++);
	} while (config_find_node(c->cfg, base) != NULL);
	if (cli_setf(c, NULL, name, "%s.name", base))
		return -1;
	return cli_setf(c, NULL, value, "%s.%s", base,
	    string ? "string" : "file");
}

/* "[w][addr:]port" */
static int
opt_gdb(struct cli *c, const struct cli_option *o, char *arg)
{
	char *colon, *port;
	unsigned v;

	if (*arg == 'w' && cli_set(c, NULL, "gdb.wait", "true"))
		return -1;
	arg += *arg == 'w';
	colon = strrchr(arg, ':');
	port = colon ? colon + 1 : arg;
	if (cli_dec(port, 65535, &v))
		return cli_fail(c, "invalid port '%s'", port);
	if (colon != NULL) {
		*colon = '\0';
		if (*arg == '\0' || cli_set(c, NULL, "gdb.address", arg))
			return cli_fail(c, "invalid address '%s'", arg);
	}
	return cli_set(c, NULL, "gdb.port", port);
}

/* "vcpu:hostcpu"; repeated for one vCPU, its cpuset list grows. */
static int
opt_pin(struct cli *c, const struct cli_option *o, char *arg)
{
	char *host = arg, key[32], *list = NULL;
	const char *old;
	unsigned vcpu, cpu;
	int error;

	strsep(&host, ":");
	if (cli_dec(arg, VM_MAXCPU - 1, &vcpu) ||
	    cli_dec(host, CPU_SETSIZE - 1, &cpu))
		return cli_fail(c, "want vcpu:hostcpu, vcpu 0-%d, hostcpu "
		    "0-%d", VM_MAXCPU - 1, CPU_SETSIZE - 1);
	snprintf(key, sizeof(key), "vcpu.%u.cpuset", vcpu);
	old = config_get(c->cfg, key);
	if ((old ? asprintf(&list, "%s,%u", old, cpu) :
	    asprintf(&list, "%u", cpu)) < 0)
		return cli_fail(c, "out of memory");
	error = cli_set(c, NULL, key, list);
	free(list);
	return error;
}

/* 8-4-4-4-12 hex digits, as SMBIOS wants it. */
static int
opt_uuid(struct cli *c, const struct cli_option *o, char *arg)
{
	uint8_t bytes[16];

	if (uuid_parse(arg, bytes) != 0)
		return cli_fail(c, "invalid UUID '%s' (want "
		    "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", arg);
	return cli_set(c, NULL, "uuid", arg);
}

static const struct cli_option cli_options[] = {
	{ 'a', opt_key, "x86.x2apic", "false", "local APIC in xAPIC mode (the default)" },
	{ 'A', opt_key, NULL, NULL, "no-op: ACPI tables are always built" },
	{ 'C', opt_key, "memory.guest_in_core", "true", "include guest memory in core dumps" },
	{ 'c', opt_topology, NULL, NULL, "[cpus=]n[,sockets=n][,cores=n][,threads=n]: vCPUs and topology" },
	{ 'D', opt_key, "destroy_on_poweroff", "true", "destroy the VM on guest power-off" },
	{ 'e', opt_key, "x86.strictio", "true", "stop on an I/O access no device handles" },
	{ 'f', opt_fwcfg_file, NULL, NULL, "[name=]NAME,string=S|file=F: a fw_cfg user file" },
	{ 'G', opt_gdb, NULL, NULL, "[w][addr:]port: gdb server (not implemented yet)" },
	{ 'H', opt_key, "x86.vmexit_on_hlt", "true", "yield the host CPU on HLT (always the case here)" },
	{ 'h', opt_help, NULL, NULL, "this help" },
	{ 'I', opt_key, NULL, NULL, "no-op: the I/O APIC is always there" },
	{ 'K', opt_key, "keyboard.layout", NULL, "layout: keyboard layout for a VNC console" },
	{ 'k', opt_config_file, NULL, NULL, "file: key=value lines for the config tree" },
	{ 'l', opt_lpc, NULL, NULL, "lpcdev[,conf]: LPC device (-l help lists them)" },
	{ 'm', opt_key, "memory.size", NULL, "size[K|M|G|T]: guest RAM (a bare number is MiB)" },
	{ 'n', opt_numa, NULL, NULL, "id=N,size=S,cpus=L: a NUMA domain (not implemented yet)" },
	{ 'o', opt_set, NULL, NULL, "key=value: set any config key" },
	{ 'P', opt_key, "x86.vmexit_on_pause", "true", "exit on PAUSE" },
	{ 'p', opt_pin, NULL, NULL, "vcpu:hostcpu: pin a vCPU thread to a host CPU" },
	{ 'r', opt_restore, NULL, NULL, "file: restore a snapshot (not implemented yet)" },
	{ 'S', opt_key, "memory.wired", "true", "wire guest memory" },
	{ 's', opt_pci, NULL, NULL, "slot,emulation[,conf]: PCI device (-s help lists them)" },
	{ 'U', opt_uuid, NULL, NULL, "uuid: SMBIOS system UUID" },
	{ 'u', opt_key, "rtc.use_localtime", "false", "the RTC keeps UTC" },
	{ 'W', opt_key, "virtio_msix", "false", "virtio devices use MSI instead of MSI-X" },
	{ 'w', opt_key, "x86.strictmsr", "false", "unknown MSRs read 0 instead of #GP" },
	{ 'x', opt_key, "x86.x2apic", "true", "local APIC in x2APIC mode" },
	{ 'Y', opt_key, "x86.mptable", "false", "no MP table" },
};

static int
opt_help(struct cli *c, const struct cli_option *o, char *arg)
{
	fputs("Usage: bhyve [-aCDeHhPSuWwxY] [-c [[cpus=]n][,sockets=n]"
	    "[,cores=n][,threads=n]] [-G [w][addr:]port]\n"
	    "  [-f [name=]NAME,string=DATA|file=PATH] [-k file] [-K layout] "
	    "[-l lpcdev[,conf]] [-m size]\n"
	    "  [-n id=N,size=S,cpus=L] [-o key=value] [-p vcpu:hostcpu] "
	    "[-s slot,emulation[,conf]] [-U uuid] vmname\n"
	    "       bhyve -l help | -s help\n",
	    stdout);
	for (size_t i = 0; i < CLI_NELEM(cli_options); i++)
		printf("  -%c  %s\n", cli_options[i].co_opt,
		    cli_options[i].co_help);
	return CLI_HELP;
}

/* 0 to go on, CLI_HELP to stop with success, -1 on error. */
static int
cli_dispatch(struct cli *c, int ch, const char *arg)
{
	const struct cli_option *o = NULL;
	char *copy = NULL;
	int error;

	for (size_t i = 0; i < CLI_NELEM(cli_options); i++)
		if (cli_options[i].co_opt == ch)
			o = &cli_options[i];
	if (ch == ':')
		return cli_fail(c, "option -%c needs an argument", optopt);
	if (o == NULL && isprint((unsigned char)optopt))
		return cli_fail(c, "unknown option -%c", optopt);
	if (o == NULL)
		return cli_fail(c, "unknown option byte 0x%02x", optopt & 0xff);
	if (arg != NULL && (copy = strdup(arg)) == NULL)
		return cli_fail(c, "out of memory");
	c->opt = ch;
	error = o->co_fn(c, o, copy);
	c->opt = 0;
	free(copy);
	return error;
}

enum cli_result
bhyve_parse_cli(struct config_node *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	struct cli c = { .cfg = cfg, .err = err, .errlen = errlen };
	int ch, rc;

	if (errlen > 0)
		err[0] = '\0';
	if (argc < 1 || argv == NULL) {
		cli_fail(&c, "no arguments");
		return CLI_ERROR;
	}
	/* 0, not 1: glibc then also forgets a half-parsed "-abc" cluster. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt(argc, argv, CLI_OPTSTRING)) != -1) {
		rc = cli_dispatch(&c, ch, optarg);
		if (rc != 0)
			return rc == CLI_HELP ? CLI_EXIT_OK : CLI_ERROR;
	}
	if (optind >= argc)
		cli_fail(&c, "missing VM name");
	else if (optind + 1 < argc)
		cli_fail(&c, "unexpected argument '%s' after the VM name",
		    argv[optind + 1]);
	else if (cli_set(&c, NULL, "name", argv[optind]) == 0)
		return CLI_OK;
	return CLI_ERROR;
}
