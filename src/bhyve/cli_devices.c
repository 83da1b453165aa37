/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device strings of -s and -l ("-s 3,virtio-blk,disk.img,ro",
 * "-l bootrom,ROM,VARS"), decoded as each bhyve device's legacy_config
 * hook decodes them, so a bhyve command line gives the tree bhyve's
 * "-o config.dump=1" prints on FreeBSD.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_internal.h"

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

int
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

/* A device without options: "NAME" -> lpc.NAME=true. */
static int
lpc_flag(struct cli *c, const struct cli_lpcdev *ld, char *conf)
{
	if (conf != NULL)
		return cli_fail(c, "%s takes no options", ld->ld_name);
	return cli_setf(c, NULL, "true", "lpc.%s", ld->ld_name);
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
	{ "pc-testdev", lpc_flag, "PC test/debug device" },
	{ "pvpanic", lpc_flag, "paravirtual panic notifier: a guest panic "
	    "ends bhyve with status 4" },
	{ "tpm", lpc_tpm, "TPM 2.0: tpm,passthru|swtpm,PATH" },
};

int
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
