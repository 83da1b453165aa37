/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bhyve's command line: the input, split at NUL bytes, is argv after
 * "bhyve".  Parse and check it on a fresh tree, as main() does.  Besides
 * the sanitizers, every failure must come with a one-line message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failure says why, in one line. */
static void
fuzz_check_message(const char *err, size_t errlen)
{
	if (err[0] == '\0' || memchr(err, '\0', errlen) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_node *cfg;
	char **argv, *buf, err[256];
	int argc = 1;
	size_t i;

	/* Larger inputs only repeat what smaller ones cover, slower. */
	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	argv = calloc(size + 3, sizeof(*argv));
	cfg = config_new();
	if (buf == NULL || argv == NULL || cfg == NULL)
		goto out;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = (char *)"bhyve";
	argv[argc++] = buf;
	for (i = 0; i < size; i++)
		if (buf[i] == '\0')
			argv[argc++] = &buf[i + 1];
	switch (bhyve_parse_cli(cfg, argc, argv, err, sizeof(err))) {
	case CLI_OK:
		if (bhyve_check_config(cfg, err, sizeof(err)) != 0)
			fuzz_check_message(err, sizeof(err));
		break;
	case CLI_ERROR:
		fuzz_check_message(err, sizeof(err));
		break;
	case CLI_EXIT_OK:
		break;
	}
out:
	config_free(cfg);
	free(argv);
	free(buf);
	return 0;
}
