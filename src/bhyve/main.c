/* SPDX-License-Identifier: BSD-2-Clause */
/* bhyve(8): parse the command line into the config tree, then run. */
#include <stdbool.h>
#include <stdio.h>

#include "bhyverun.h"
#include "cli.h"
#include "config.h"

int
main(int argc, char **argv)
{
	struct config_node *cfg = config_new();
	char err[BHYVE_ERRLEN];
	bool dump = false;
	int status;

	if (cfg == NULL) {
		fprintf(stderr, "bhyve: out of memory\n");
		return BHYVE_EXIT_ERROR;
	}
	switch (bhyve_parse_cli(cfg, argc, argv, err, sizeof(err))) {
	case CLI_OK:
		break;
	case CLI_EXIT_OK:
		config_free(cfg);
		return 0;
	case CLI_ERROR:
		fprintf(stderr, "bhyve: %s\n", err);
		config_free(cfg);
		return BHYVE_EXIT_ERROR;
	}
	if (bhyve_check_config(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bhyve: %s\n", err);
		config_free(cfg);
		return BHYVE_EXIT_ERROR;
	}
	if (config_get_bool(cfg, "config.dump", false, &dump) == 0 && dump) {
		config_dump(cfg, stdout);
		config_free(cfg);
		return 0;
	}
	status = bhyve_run(cfg);
	config_free(cfg);
	return status;
}
