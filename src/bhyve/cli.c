/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder CLI: -c, -m, -l, -o and the VM name. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

enum cli_result
bhyve_parse_cli(struct config_node *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	int c;

	while ((c = getopt(argc, argv, "c:m:l:o:")) != -1) {
		char *eq;

		switch (c) {
		case 'c':
			if (config_set(cfg, "cpus", optarg))
				return CLI_ERROR;
			break;
		case 'm':
			if (config_set(cfg, "memory.size", optarg))
				return CLI_ERROR;
			break;
		case 'l': {
			char key[64];
			char *comma = strchr(optarg, ',');

			if (comma) {
				snprintf(key, sizeof(key), "lpc.%.*s.path",
				    (int)(comma - optarg), optarg);
				if (config_set(cfg, key, comma + 1))
					return CLI_ERROR;
			} else {
				snprintf(key, sizeof(key), "lpc.%s", optarg);
				if (config_set(cfg, key, "true"))
					return CLI_ERROR;
			}
			break;
		}
		case 'o':
			eq = strchr(optarg, '=');
			if (eq == NULL)
				return CLI_ERROR;
			*eq = '\0';
			if (config_set(cfg, optarg, eq + 1))
				return CLI_ERROR;
			break;
		default:
			snprintf(err, errlen, "bad option");
			return CLI_ERROR;
		}
	}
	if (optind != argc - 1) {
		snprintf(err, errlen, "no vm name");
		return CLI_ERROR;
	}
	if (config_set(cfg, "name", argv[optind]))
		return CLI_ERROR;
	return CLI_OK;
}

int
bhyve_check_config(struct config_node *cfg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	if (config_set_default(cfg, "cpus", "1") ||
	    config_set_default(cfg, "memory.size", "256M") ||
	    config_set_default(cfg, "vmm.backend", "kvm"))
		return -1;
	return 0;
}
