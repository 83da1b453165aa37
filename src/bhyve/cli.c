/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bhyve(8)'s command line.  Every option becomes config keys as
 * bhyve_config(5) names them; bhyve_check_config() then fills defaults and
 * validates the whole tree, since -o and -k can set any key.
 *
 * Device strings ("-s 3,virtio-blk,disk.img,ro", "-l bootrom,ROM,VARS") are
 * decoded as each bhyve device's legacy_config hook decodes them, so a bhyve
 * command line gives the tree bhyve's "-o config.dump=1" prints on FreeBSD.
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

#include "cli.h"
#include "config.h"
#include "uuid.h"
#include "vmm.h"
#include "vmmapi.h"

/*
 * '+' stops at the first operand (the VM name) as BSD getopt does, where
 * glibc would permute; ':' makes a missing argument return ':'.
 */
#define CLI_OPTSTRING "+:aehuwxACDHIPSWYk:f:o:p:G:c:s:m:n:l:K:U:r:"

#define CLI_HELP 1		/* a handler printed help: stop, exit 0 */
#define CLI_FWCFG_NAME_MAX 56	/* QEMU fw_cfg file name, NUL included */
#define CLI_MAX_DOMAINS 8	/* guest NUMA domains (-n) */
#define CLI_VTCON_MAXPORTS 16	/* virtio-console ports */
#define CLI_AHCI_MAXPORTS 32	/* AHCI ports per controller */
#define CLI_NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct cli {
	struct config_node *cfg;
	char *err;
	size_t errlen;
	int opt; /* the option being handled, named in errors; 0 if none */
};

/* A handler gets a copy of the option's argument that it may cut up. */
struct cli_option {
	int co_opt;
	int (*co_fn)(struct cli *c, const struct cli_option *o, char *arg);
	const char *co_key;   /* opt_key: the key (NULL: an accepted no-op) */
	const char *co_value; /* its value; NULL: the option's argument */
	const char *co_help;  /* one line for -h */
};

static int __attribute__((format(printf, 2, 3)))
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
static const char *
cli_str(const char *s)
{
	return s ? s : "";
}

static int
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
static int __attribute__((format(printf, 4, 5)))
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

static struct config_node *
cli_node(struct cli *c, struct config_node *parent, const char *path)
{
	struct config_node *n = config_create_node(parent, path);

	if (n == NULL)
		cli_fail(c, "cannot create '%s': it conflicts with a key",
		    path);
	return n;
}

/* Strict decimal: sscanf's %d would also take " +3" or "3x". */
static int
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
static int
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

static int
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
static int
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

/* ---- PCI devices (-s) ---- */

struct cli_pcidev {
	const char *pd_name;
	/* Decodes the "conf" part onto the slot's node. */
	int (*pd_parse)(struct cli *c, struct config_node *node,
	    const struct cli_pcidev *pd, char *conf);
	const char *pd_arg;   /* the positional key, or the AHCI port type */
	const char *pd_alias; /* device= value when not pd_name (pe_alias) */
	const char *pd_desc;
};

/* "slot", "slot:func" or "bus:slot:func" (slot_first), or "B/S/F". */
static int
pci_parse_bsf(const char *str, const char *sep, bool slot_first,
    unsigned bsf[3])
{
	static const unsigned long max[3] = { 255, 31, 7 };
	char buf[32], *s = buf, *f[4];
	int n = 0, first;

	if (strlen(str) >= sizeof(buf))
		return -1;
	strcpy(buf, str);
	while (n < 4 && (f[n] = strsep(&s, sep)) != NULL)
		n++;
	first = n < 3 && slot_first ? 1 : 0;
	if (n > 3 || (!slot_first && n != 3))
		return -1;
	bsf[0] = bsf[2] = 0;
	for (int i = 0; i < n; i++)
		if (cli_dec(f[i], max[first + i], &bsf[first + i]))
			return -1;
	return 0;
}

/* A key never holds '/', so "/img/a=b.raw" is still a bare path. */
static bool
cli_is_bare(const char *item)
{
	const char *eq = strchr(item, '=');

	return eq == NULL || memchr(item, '/', (size_t)(eq - item)) != NULL;
}

/* "disk.img,ro,ser=X": the first bare item is pd_arg, then options. */
static int
pci_positional(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	bool seen = false;
	char *item;

	while ((item = strsep(&conf, ",")) != NULL) {
		if (!seen && *item != '\0' && cli_is_bare(item)) {
			seen = true;
			if (cli_set(c, node, pd->pd_arg, item))
				return -1;
		} else if (cli_set_item(c, node, item)) {
			return -1;
		}
	}
	return 0;
}

static int
pci_items(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	/* amd_hostbridge: bhyve's made-up AMD ID on a plain hostbridge. */
	if (pd->pd_alias != NULL &&
	    (cli_set(c, node, "pcireg.vendor", "0x1022") ||
	    cli_set(c, node, "pcireg.device", "0x7432")))
		return -1;
	return cli_set_items(c, node, conf);
}

/* uart: the whole string is the backend ("tcp=127.0.0.1:4321" too). */
static int
pci_whole(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	return conf == NULL ? 0 : cli_set(c, node, pd->pd_arg, conf);
}

/* passthru: "pptN", "bus/slot/func", "pciB:S:F" or "pci0:B:S:F". */
static int
pci_passthru(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	static const char *const keys[3] = { "bus", "slot", "func" };
	char *dev = strsep(&conf, ","), buf[16];
	bool pci = dev && strncmp(dev, "pci", 3) == 0;
	unsigned bsf[3];
	int bad;

	if (dev != NULL && strncmp(dev, "ppt", 3) == 0) {
		if (cli_set(c, node, "pptdev", dev))
			return -1;
	} else if (dev != NULL) {
		bad = pci_parse_bsf(pci ? dev + 3 : dev, pci ? ":" : "/",
		    false, bsf);
		if (bad && strncmp(dev, "pci0:", 5) == 0) /* PCI domain 0 */
			bad = pci_parse_bsf(dev + 5, ":", false, bsf);
		if (bad)
			return cli_fail(c, "passthru: bad host device '%s' "
			    "(pptN, bus/slot/func or pciB:S:F)", dev);
		for (int i = 0; i < 3; i++) {
			snprintf(buf, sizeof(buf), "%u", bsf[i]);
			if (cli_set(c, node, keys[i], buf))
				return -1;
		}
	}
	return cli_set_items(c, node, conf);
}

/* virtio-9p: "sharename=/host/path[,ro]". */
static int
pci_vt9p(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	bool shared = false;
	char *item, *eq;

	while ((item = strsep(&conf, ",")) != NULL) {
		eq = strchr(item, '=');
		if (eq == NULL && cli_set_item(c, node, item))
			return -1;
		if (eq == NULL)
			continue;
		if (shared || eq == item)
			return cli_fail(c, "virtio-9p: want one "
			    "sharename=path, not '%s'", item);
		shared = true;
		*eq = '\0';
		if (cli_set(c, node, "sharename", item) ||
		    cli_set(c, node, "path", eq + 1))
			return -1;
	}
	return 0;
}

/* virtio-console: "name=path[,name=path...]" -> port.N.{name,path}. */
static int
pci_vtcon(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	char *item, *eq;

	for (int n = 0; (item = strsep(&conf, ",")) != NULL; n++) {
		eq = strchr(item, '=');
		if (eq == NULL || eq == item || n >= CLI_VTCON_MAXPORTS)
			return cli_fail(c, "virtio-console: want up to %d "
			    "name=path ports, not '%s'", CLI_VTCON_MAXPORTS,
			    item);
		*eq = '\0';
		if (cli_setf(c, node, item, "port.%d.name", n) ||
		    cli_setf(c, node, eq + 1, "port.%d.path", n))
			return -1;
	}
	return 0;
}

static struct config_node *
pci_ahci_port(struct cli *c, struct config_node *node, int n,
    const char *type)
{
	struct config_node *port;
	char name[32];

	if (n >= CLI_AHCI_MAXPORTS) {
		cli_fail(c, "ahci: more than %d ports", CLI_AHCI_MAXPORTS);
		return NULL;
	}
	snprintf(name, sizeof(name), "port.%d", n);
	port = cli_node(c, node, name);
	return port && cli_set(c, port, "type", type) == 0 ? port : NULL;
}

/*
 * ahci: "hd:path[,opts],cd:path[,opts]..." -> port.N.{type,path,opts}.
 * ahci-hd/ahci-cd (pd_arg "hd"/"cd") are an ahci with that port 0.
 */
static int
pci_ahci(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	static const struct cli_pcidev blk = { .pd_arg = "path" };
	struct config_node *port = NULL;
	char *item;
	int n = 0;

	if (pd->pd_arg != NULL) {
		port = pci_ahci_port(c, node, 0, pd->pd_arg);
		return port ? pci_positional(c, port, &blk, conf) : -1;
	}
	while ((item = strsep(&conf, ",")) != NULL) {
		if (strncmp(item, "hd:", 3) == 0 ||
		    strncmp(item, "cd:", 3) == 0) {
			item[2] = '\0';
			port = pci_ahci_port(c, node, n++, item);
			if (port == NULL || cli_set(c, port, "path", item + 3))
				return -1;
		} else if (port == NULL) {
			return cli_fail(c, "ahci: '%s' is not hd:path or "
			    "cd:path", item);
		} else if (cli_set_item(c, port, item)) {
			return -1;
		}
	}
	return 0;
}

/* xhci: "tablet[,dev...]" -> slot.N.device, USB slots counted from 1. */
static int
pci_xhci(struct cli *c, struct config_node *node,
    const struct cli_pcidev *pd, char *conf)
{
	struct config_node *slot;
	char name[32], *item, *opt;

	for (int n = 1; (item = strsep(&conf, ",")) != NULL; n++) {
		opt = strchr(item, '=');
		if (opt != NULL)
			*opt++ = '\0';
		snprintf(name, sizeof(name), "slot.%d", n);
		slot = *item ? cli_node(c, node, name) : NULL;
		if (slot == NULL || cli_set(c, slot, "device", item) ||
		    (opt && *opt && cli_set_item(c, slot, opt)))
			return *item ? -1 : cli_fail(c, "xhci: empty device");
	}
	return 0;
}

static const struct cli_pcidev cli_pcidevs[] = {
	{ "hostbridge", pci_items, NULL, NULL, "PCI host bridge" },
	{ "amd_hostbridge", pci_items, NULL, "hostbridge",
	    "PCI host bridge, AMD IDs" },
	{ "passthru", pci_passthru, NULL, NULL, "host PCI device" },
	{ "virtio-net", pci_positional, "backend", NULL, "virtio network" },
	{ "virtio-blk", pci_positional, "path", NULL, "virtio block" },
	{ "virtio-scsi", pci_positional, "dev", NULL, "virtio SCSI" },
	{ "virtio-9p", pci_vt9p, NULL, NULL, "virtio 9p file share" },
	{ "virtio-rnd", pci_items, NULL, NULL, "virtio entropy" },
	{ "virtio-console", pci_vtcon, NULL, NULL, "virtio console ports" },
	{ "virtio-input", pci_positional, "path", NULL, "virtio input" },
	{ "ahci", pci_ahci, NULL, NULL, "AHCI SATA controller" },
	{ "ahci-cd", pci_ahci, "cd", "ahci", "AHCI with one ATAPI CD" },
	{ "ahci-hd", pci_ahci, "hd", "ahci", "AHCI with one SATA disk" },
	{ "e1000", pci_positional, "backend", NULL, "Intel 82545 network" },
	{ "uart", pci_whole, "path", NULL, "16550 UART" },
	{ "lpc", pci_items, NULL, NULL, "PCI-ISA bridge: COM ports, boot ROM" },
	{ "fbuf", pci_items, NULL, NULL, "framebuffer with VNC server" },
	{ "xhci", pci_xhci, NULL, NULL, "USB 3 controller" },
	{ "nvme", pci_positional, "path", NULL, "NVMe controller" },
	{ "hda", pci_items, NULL, NULL, "Intel HD Audio" },
};

static int
opt_pci(struct cli *c, const struct cli_option *o, char *arg)
{
	const struct cli_pcidev *pd = NULL;
	char *conf = arg, *slot, *emul, name[32];
	struct config_node *node;
	unsigned b[3];

	if (strcmp(arg, "help") == 0) {
		for (size_t i = 0; i < CLI_NELEM(cli_pcidevs); i++)
			printf("%-16s %s\n", cli_pcidevs[i].pd_name,
			    cli_pcidevs[i].pd_desc);
		return CLI_HELP;
	}
	slot = strsep(&conf, ",");
	emul = strsep(&conf, ",");
	if (pci_parse_bsf(slot, ":", true, b))
		return cli_fail(c, "invalid PCI slot '%s' (slot, slot:func or "
		    "bus:slot:func; bus 0-255, slot 0-31, func 0-7)", slot);
	for (size_t i = 0; emul && i < CLI_NELEM(cli_pcidevs); i++)
		if (strcmp(emul, cli_pcidevs[i].pd_name) == 0)
			pd = &cli_pcidevs[i];
	if (pd == NULL)
		return cli_fail(c, "unknown PCI device '%s' (see -s help)",
		    cli_str(emul));
	snprintf(name, sizeof(name), "pci.%u.%u.%u", b[0], b[1], b[2]);
	if (config_find_node(c->cfg, name) != NULL)
		return cli_fail(c, "slot %u:%u:%u is already used", b[0], b[1],
		    b[2]);
	node = cli_node(c, c->cfg, name);
	if (node == NULL || cli_set(c, node, "device",
	    pd->pd_alias ? pd->pd_alias : pd->pd_name))
		return -1;
	return pd->pd_parse(c, node, pd, conf);
}

/* ---- LPC devices (-l) ---- */

struct cli_lpcdev {
	const char *ld_name;
	int (*ld_parse)(struct cli *c, const struct cli_lpcdev *ld,
	    char *conf);
	const char *ld_desc;
};

static int
lpc_com(struct cli *c, const struct cli_lpcdev *ld, char *conf)
{
	/* The port is there anyway; a path only gives it a backend. */
	if (conf != NULL && *conf == '\0')
		return cli_fail(c, "%s: empty path", ld->ld_name);
	return conf ? cli_setf(c, NULL, conf, "lpc.%s.path", ld->ld_name) : 0;
}

/* "bootrom,ROM[,VARS][,key=value...]"; the options go on the lpc node. */
static int
lpc_bootrom(struct cli *c, const struct cli_lpcdev *ld, char *conf)
{
	char *rom = strsep(&conf, ","), *vars = strsep(&conf, ",");
	struct config_node *lpc;

	if (rom == NULL || *rom == '\0')
		return cli_fail(c, "bootrom needs a ROM file");
	if (cli_set(c, NULL, "lpc.bootrom", rom))
		return -1;
	lpc = config_find_node(c->cfg, "lpc");
	if (vars != NULL && (strchr(vars, '=') ? cli_set_item(c, lpc, vars) :
	    cli_set(c, lpc, "bootvars", vars)))
		return -1;
	return cli_set_items(c, lpc, conf);
}

static int
lpc_fwcfg(struct cli *c, const struct cli_lpcdev *ld, char *conf)
{
	if (conf == NULL || (strcmp(conf, "qemu") && strcmp(conf, "bhyve")))
		return cli_fail(c, "fwcfg wants bhyve or qemu");
	return cli_set(c, NULL, "lpc.fwcfg", conf);
}

static int
lpc_testdev(struct cli *c, const struct cli_lpcdev *ld, char *conf)
{
	if (conf != NULL)
		return cli_fail(c, "pc-testdev takes no options");
	return cli_set(c, NULL, "lpc.pc-testdev", "true");
}

/* "tpm,TYPE,PATH[,key=value...]" -> the top-level tpm node. */
static int
lpc_tpm(struct cli *c, const struct cli_lpcdev *ld, char *conf)
{
	char *type = strsep(&conf, ","), *path = strsep(&conf, ",");
	struct config_node *tpm;

	if (type == NULL || *type == '\0' || path == NULL || *path == '\0')
		return cli_fail(c, "tpm wants tpm,type,path");
	tpm = cli_node(c, c->cfg, "tpm");
	if (tpm == NULL || cli_set(c, tpm, "type", type) ||
	    cli_set(c, tpm, "path", path) || cli_set_items(c, tpm, conf))
		return -1;
	if (config_set_default(tpm, "version", "2.0") != 0)
		return cli_fail(c, "cannot set tpm.version");
	return 0;
}

static const struct cli_lpcdev cli_lpcdevs[] = {
	{ "bootrom", lpc_bootrom, "boot ROM: bootrom,ROM[,VARS]" },
	{ "com1", lpc_com, "UART at 0x3f8: com1,stdio|/dev/X|tcp=IP:PORT" },
	{ "com2", lpc_com, "UART at 0x2f8: com2,PATH" },
	{ "com3", lpc_com, "UART at 0x3e8: com3,PATH" },
	{ "com4", lpc_com, "UART at 0x2e8: com4,PATH" },
	{ "fwcfg", lpc_fwcfg, "firmware config interface: fwcfg,qemu" },
	{ "pc-testdev", lpc_testdev, "PC test/debug device" },
	{ "tpm", lpc_tpm, "TPM 2.0: tpm,passthru|swtpm,PATH" },
};

static int
opt_lpc(struct cli *c, const struct cli_option *o, char *arg)
{
	char *conf = arg, *name;

	if (strcmp(arg, "help") == 0) {
		for (size_t i = 0; i < CLI_NELEM(cli_lpcdevs); i++)
			printf("%-12s %s\n", cli_lpcdevs[i].ld_name,
			    cli_lpcdevs[i].ld_desc);
		return CLI_HELP;
	}
	name = strsep(&conf, ",");
	for (size_t i = 0; i < CLI_NELEM(cli_lpcdevs); i++)
		if (strcasecmp(name, cli_lpcdevs[i].ld_name) == 0)
			return cli_lpcdevs[i].ld_parse(c, &cli_lpcdevs[i],
			    conf);
	return cli_fail(c, "unknown LPC device '%s' (see -l help)", name);
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

/* ---- checks after all options ---- */

static const char *const check_bool_keys[] = {
	"x86.x2apic", "x86.strictio", "x86.strictmsr", "x86.vmexit_on_hlt",
	"x86.vmexit_on_pause", "x86.mptable", "x86.verbosemsr",
	"memory.wired", "memory.guest_in_core", "destroy_on_poweroff",
	"rtc.use_localtime", "virtio_msix", "acpi_tables", "lpc.pc-testdev",
	"config.dump", "gdb.wait",
};

static int
check_default(struct cli *c, const char *key, uint64_t num, const char *s)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, num);
	if (config_set_default(c->cfg, key, s ? s : buf) != 0)
		return cli_fail(c, "cannot default %s: it conflicts with a key",
		    key);
	return 0;
}

/* Every value must expand: a typo in %(var) is named now, not later. */
static int
check_expansions(struct cli *c, struct config_node *node, char *key,
    size_t len, size_t cap)
{
	for (struct config_node *n = config_first_child(node); n != NULL;
	    n = config_next_sibling(n)) {
		const char *name = config_node_name(n);
		int w = snprintf(key + len, cap - len, "%s%s", len ? "." : "",
		    name);
		size_t end = w < 0 || (size_t)w >= cap - len ? cap - 1 :
		    len + (size_t)w;

		if (!config_node_is_leaf(n)) {
			if (check_expansions(c, n, key, end, cap))
				return -1;
		} else if (config_get(node, name) == NULL) {
			return cli_fail(c, "cannot expand the value of %s: %s",
			    key, errno == ELOOP ? "%(var) loop" :
			    errno == E2BIG ? "expansion too large" :
			    "unknown variable or malformed %(...)");
		}
		key[len] = '\0';
	}
	return 0;
}

static int
check_cpus(struct cli *c, const char *key, uint64_t *v)
{
	if (config_get_uint(c->cfg, key, *v, v) == 0 && *v >= 1 &&
	    *v <= VM_MAXCPU)
		return 0;
	return cli_fail(c, "invalid %s '%s' (want 1-%d)", key,
	    cli_str(config_get(c->cfg, key)), VM_MAXCPU);
}

/*
 * bhyve's calc_topology(): cores and threads default to 1 and sockets to
 * cpus; without cpus, cpus is sockets*cores*threads.
 */
static int
check_topology(struct cli *c)
{
	bool explicit_cpus = config_get(c->cfg, "cpus") != NULL;
	uint64_t cpus = 1, cores = 1, threads = 1, sockets, maxcpus, prod;

	if (check_cpus(c, "cpus", &cpus) || check_cpus(c, "cores", &cores) ||
	    check_cpus(c, "threads", &threads))
		return -1;
	sockets = cpus;
	if (check_cpus(c, "sockets", &sockets))
		return -1;
	prod = sockets * cores * threads;
	if (explicit_cpus && cpus != prod)
		return cli_fail(c, "cpus (%" PRIu64 ") must equal "
		    "sockets*cores*threads (%" PRIu64 ")", cpus, prod);
	if (prod > VM_MAXCPU)
		return cli_fail(c, "sockets*cores*threads (%" PRIu64 ") is "
		    "more than %d vCPUs", prod, VM_MAXCPU);
	maxcpus = prod;
	if (check_cpus(c, "maxcpus", &maxcpus))
		return -1;
	if (maxcpus < prod)
		return cli_fail(c, "maxcpus (%" PRIu64 ") is less than cpus "
		    "(%" PRIu64 ")", maxcpus, prod);
	return check_default(c, "cpus", prod, NULL) ||
	    check_default(c, "sockets", sockets, NULL) ||
	    check_default(c, "cores", cores, NULL) ||
	    check_default(c, "threads", threads, NULL) ? -1 : 0;
}

static int
check_name(struct cli *c)
{
	const char *name = config_get(c->cfg, "name");
	size_t len = name ? strlen(name) : 0;

	/* It names files and sockets: no '/', and not "." or "..". */
	if (len == 0 || len > VM_MAX_NAMELEN || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != len)
		return cli_fail(c, "invalid name '%s' (1-%d characters of "
		    "A-Z a-z 0-9 _ . -)", cli_str(name), VM_MAX_NAMELEN);
	return 0;
}

static int
check_values(struct cli *c)
{
	const char *mem = cli_str(config_get(c->cfg, "memory.size"));
	const char *backend = cli_str(config_get(c->cfg, "vmm.backend"));
	const char *fwcfg = cli_str(config_get(c->cfg, "lpc.fwcfg"));
	size_t size;
	bool b;

	if (vm_parse_memsize(mem, &size) != 0 || size % 4096 != 0)
		return cli_fail(c, "invalid memory.size '%s' (a multiple of "
		    "4 KiB; K, M, G or T; no suffix means M)", mem);
	if (strcmp(backend, "kvm") != 0 && strcmp(backend, "vtx") != 0 &&
	    strcmp(backend, "auto") != 0)
		return cli_fail(c, "invalid vmm.backend '%s' (want kvm, vtx or "
		    "auto)", backend);
	if (strcmp(fwcfg, "bhyve") == 0)
		return cli_fail(c, "lpc.fwcfg 'bhyve' (bhyve's fwctl) is not "
		    "implemented; use qemu");
	if (strcmp(fwcfg, "qemu") != 0)
		return cli_fail(c, "invalid lpc.fwcfg '%s' (want qemu)", fwcfg);
	for (size_t i = 0; i < CLI_NELEM(check_bool_keys); i++)
		if (config_get_bool(c->cfg, check_bool_keys[i], false, &b))
			return cli_fail(c, "invalid %s '%s' (want true or "
			    "false)", check_bool_keys[i],
			    cli_str(config_get(c->cfg, check_bool_keys[i])));
	return 0;
}

/*
 * bhyve features this project does not have yet: asking for one is an
 * error, not something to ignore silently.
 */
static int
check_unimplemented(struct cli *c)
{
	uint64_t port = 0;

	if (config_get_uint(c->cfg, "gdb.port", 0, &port) != 0 || port != 0)
		return cli_fail(c, "gdb.port: the gdb server (-G) is not "
		    "implemented yet");
	if (config_find_node(c->cfg, "domains") != NULL)
		return cli_fail(c, "domains: NUMA domains (-n) are not "
		    "implemented yet");
	return 0;
}

int
bhyve_check_config(struct config_node *cfg, char *err, size_t errlen)
{
	struct cli c = { .cfg = cfg, .err = err, .errlen = errlen };
	char key[256] = "";

	if (errlen > 0)
		err[0] = '\0';
	/* Defaults first, so that %(memory.size) and the like expand. */
	if (check_default(&c, "memory.size", 0, "256M") ||
	    check_default(&c, "vmm.backend", 0, "auto") ||
	    check_default(&c, "lpc.fwcfg", 0, "qemu") ||
	    check_expansions(&c, cfg, key, 0, sizeof(key)) ||
	    check_topology(&c) || check_name(&c) || check_values(&c) ||
	    check_unimplemented(&c))
		return -EINVAL;
	return 0;
}
