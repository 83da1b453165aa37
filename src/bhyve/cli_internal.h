/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What cli.c (the options), cli_devices.c (the -s and -l device strings)
 * and cli_check.c (the checks after all options) share.
 */
#ifndef CLI_INTERNAL_H
#define CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "config.h"

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

/* One line naming the option and the culprit; returns -1. */
int cli_fail(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *cli_str(const char *s);
int cli_set(struct cli *c, struct config_node *node, const char *key,
    const char *value);
int cli_setf(struct cli *c, struct config_node *node, const char *value,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
struct config_node *cli_node(struct cli *c, struct config_node *parent,
    const char *path);
int cli_dec(const char *s, unsigned long max, unsigned *out);
int cli_set_item(struct cli *c, struct config_node *node, char *item);
int cli_set_items(struct cli *c, struct config_node *node, char *list);
int cli_keyed(struct cli *c, char *list, const char *const *keys, size_t n,
    bool bare_ok, const char **val);

/* cli_devices.c: -s and -l. */
int opt_pci(struct cli *c, const struct cli_option *o, char *arg);
int opt_lpc(struct cli *c, const struct cli_option *o, char *arg);

#endif /* CLI_INTERNAL_H */
