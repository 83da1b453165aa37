/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bhyve(8)'s command line, parsed into the config tree.  The CLI is a thin
 * layer: every option becomes config keys; nothing else reads argv.
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>

struct config_node;

enum cli_result {
	CLI_OK = 0,	   /* the config tree is ready */
	CLI_EXIT_OK = 1,   /* help was printed (-h, -s help, -l help) */
	CLI_ERROR = -1,	   /* err holds a one-line message */
};

enum cli_result bhyve_parse_cli(struct config_node *cfg, int argc,
    char **argv, char *err, size_t errlen);

/*
 * Check the tree after all options are in (-k files and -o may set any
 * key): cpus/topology, memory.size, names.  Fills defaults.
 */
int bhyve_check_config(struct config_node *cfg, char *err, size_t errlen);

#endif /* CLI_H */
