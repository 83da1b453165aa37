/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The configuration tree (bhyve_config(5)): the single source of truth for
 * how a VM is built.  Every command-line option becomes a dotted key
 * ("-s 3,virtio-blk,disk.img" sets pci.0.3.0.device and pci.0.3.0.path).
 * Only leaves hold values; all values are strings.  "%(name)" in a value
 * expands to the value of the key 'name' at the root ("%%" is a '%').
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_CHECK __attribute__((warn_unused_result))

struct config_node;

struct config_node *config_new(void);
void config_free(struct config_node *root);

/*
 * 'path' is relative to 'parent' and dotted ("lpc.com1.path").  Lookups
 * return NULL when a component is missing.
 */
struct config_node *config_find_node(struct config_node *parent,
    const char *path);
/* Creates the missing inner nodes; NULL if the path runs through a leaf. */
struct config_node *config_create_node(struct config_node *parent,
    const char *path);

/*
 * Set a leaf.  Fails (-EINVAL) if the path is malformed ("a..b", ".a"), or
 * names an inner node, or passes through a leaf.
 */
int config_set(struct config_node *parent, const char *path,
    const char *value) CONFIG_CHECK;
/* Set only if no value is there yet: for defaults applied after the CLI. */
int config_set_default(struct config_node *parent, const char *path,
    const char *value) CONFIG_CHECK;
int config_set_bool(struct config_node *parent, const char *path, bool v)
    CONFIG_CHECK;
/* Remove a leaf or subtree; absent paths are fine. */
void config_unset(struct config_node *parent, const char *path);

/*
 * The leaf's value with %(var) expanded, or NULL if unset or not a leaf.
 * The string lives as long as the leaf is unchanged.  An expansion that
 * fails (unknown variable, unterminated "%(") yields NULL and sets errno
 * to EINVAL.
 */
const char *config_get(struct config_node *parent, const char *path);

/*
 * Typed reads.  An unset key yields 'def'; a value that does not parse
 * yields -EINVAL (the caller names the key in its error message).
 * Booleans: true/on/yes/1 and false/off/no/0, as bhyve_config(5).
 * Integers: strtoull syntax (0x.. hex, 0.. octal).
 */
int config_get_bool(struct config_node *parent, const char *path, bool def,
    bool *out) CONFIG_CHECK;
int config_get_uint(struct config_node *parent, const char *path,
    uint64_t def, uint64_t *out) CONFIG_CHECK;
int config_parse_bool(const char *s, bool *out) CONFIG_CHECK;

/* Walking a node's children, in insertion order. */
struct config_node *config_first_child(struct config_node *node);
struct config_node *config_next_sibling(struct config_node *node);
const char *config_node_name(const struct config_node *node);
bool config_node_is_leaf(const struct config_node *node);

/* "key=value" lines that -k can read back, in insertion order. */
void config_dump(struct config_node *root, FILE *fp);

/*
 * Read a -k file: "key=value" lines, '#' starts a comment, blank lines
 * are skipped.  On error returns -errno or -EINVAL with the line number
 * in *lineno.
 */
int config_load_file(struct config_node *root, const char *path,
    int *lineno) CONFIG_CHECK;

#endif /* CONFIG_H */
