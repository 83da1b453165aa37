/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The config tree: the input is "key=value" lines fed to config_set(); a
 * line without '=' unsets that key.  Then every key is read back through
 * config_get() and the typed reads, which expand %(var), and the tree is
 * dumped.  A value set without '%' must read back unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every leaf under 'node' back, as devices will. */
static void
fuzz_read_all(struct config_node *node)
{
	struct config_node *n;
	uint64_t u;
	bool b;

	for (n = config_first_child(node); n; n = config_next_sibling(n)) {
		const char *name = config_node_name(n);

		if (!config_node_is_leaf(n)) {
			fuzz_read_all(n);
			continue;
		}
		(void)config_get(node, name);
		(void)!config_get_uint(node, name, 0, &u);
		(void)!config_get_bool(node, name, false, &b);
	}
}

/* A NUL cannot be in a key or value: it ends a line too. */
static void
fuzz_copy(char *buf, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = data[i] ? (char)data[i] : '\n';
	buf[size] = '\0';
}

static void
fuzz_line(struct config_node *root, char *line)
{
	char *eq = strchr(line, '=');
	const char *v;

	if (eq == NULL) {
		config_unset(root, line);
		return;
	}
	*eq = '\0';
	if (config_set(root, line, eq + 1) != 0 || strchr(eq + 1, '%'))
		return;
	v = config_get(root, line);
	if (v == NULL || strcmp(v, eq + 1) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_node *root;
	char *buf, *p, *line, *dump = NULL;
	size_t dumplen = 0;
	FILE *fp;

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	root = config_new();
	if (buf == NULL || root == NULL)
		goto out;
	fuzz_copy(buf, data, size);
	for (p = buf; (line = strsep(&p, "\n")) != NULL;)
		fuzz_line(root, line);
	/* Every key the input named, set or not, read once more. */
	fuzz_copy(buf, data, size);
	for (p = buf; (line = strsep(&p, "\n")) != NULL;)
		(void)config_get(root, strsep(&line, "="));
	fuzz_read_all(root);
	fp = open_memstream(&dump, &dumplen);
	if (fp != NULL) {
		config_dump(root, fp);
		fclose(fp);
	}
out:
	free(dump);
	config_free(root);
	free(buf);
	return 0;
}
