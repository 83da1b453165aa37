/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The configuration tree: nodes with names, a leaf holds a string.
 * Children keep insertion order so that config.dump prints keys in the
 * order the command line gave them.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define CONFIG_MAX_DEPTH 16 /* bounds %(var) chains and path length */
/*
 * One value may name another many times at every level ("billion
 * laughs"): bound the work and the size of one expansion, not only its
 * depth.
 */
#define CONFIG_MAX_EXPANSIONS 1024
#define CONFIG_MAX_EXPANDED (1u << 20)

struct config_node {
	char *name;
	char *value;	/* leaves only */
	char *expanded; /* cache of value with %(var) expanded */
	unsigned long expanded_gen; /* the tree's gen when it was made */
	unsigned long gen; /* root only: bumped by every change */
	struct config_node *parent;
	struct config_node *first, *last; /* children */
	struct config_node *next;
};

static struct config_node *
node_alloc(const char *name, size_t len, struct config_node *parent)
{
	struct config_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->name = strndup(name, len);
	if (n->name == NULL) {
		free(n);
		return NULL;
	}
	n->parent = parent;
	if (parent) {
		if (parent->last)
			parent->last->next = n;
		else
			parent->first = n;
		parent->last = n;
	}
	return n;
}

struct config_node *
config_new(void)
{
	return node_alloc("", 0, NULL);
}

static void
node_free(struct config_node *n)
{
	struct config_node *c = n->first;

	while (c) {
		struct config_node *next = c->next;

		node_free(c);
		c = next;
	}
	free(n->name);
	free(n->value);
	free(n->expanded);
	free(n);
}

void
config_free(struct config_node *root)
{
	if (root)
		node_free(root);
}

static struct config_node *
child_find(struct config_node *parent, const char *name, size_t len)
{
	for (struct config_node *c = parent->first; c; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

/* Next path component of 'p': its length; 0 for an empty one. */
static size_t
component_len(const char *p)
{
	const char *dot = strchr(p, '.');

	return dot ? (size_t)(dot - p) : strlen(p);
}

/* No empty component: "", ".a", "a.", "a..b" are all refused. */
static bool
path_is_valid(const char *path)
{
	size_t len = strlen(path);

	return len > 0 && path[0] != '.' && path[len - 1] != '.' &&
	    strstr(path, "..") == NULL;
}

/*
 * Walk 'path' from 'parent', creating inner nodes when 'create' is set.
 * The last component's node is returned (created as an empty node).  The
 * path is checked first so that a refused one creates nothing.
 */
static struct config_node *
walk(struct config_node *parent, const char *path, bool create)
{
	struct config_node *n = parent;
	const char *p = path;

	if (parent == NULL || path == NULL || !path_is_valid(path))
		return NULL;
	for (;;) {
		size_t len = component_len(p);
		struct config_node *c;

		if (len == 0 || n->value != NULL)
			return NULL; /* empty component or through a leaf */
		c = child_find(n, p, len);
		if (c == NULL) {
			if (!create)
				return NULL;
			c = node_alloc(p, len, n);
			if (c == NULL)
				return NULL;
		}
		n = c;
		if (p[len] == '\0')
			return n;
		p += len + 1;
	}
}

struct config_node *
config_find_node(struct config_node *parent, const char *path)
{
	struct config_node *n = walk(parent, path, false);

	return n && n->value == NULL ? n : NULL;
}

struct config_node *
config_create_node(struct config_node *parent, const char *path)
{
	struct config_node *n = walk(parent, path, true);

	return n && n->value == NULL ? n : NULL;
}

static struct config_node *
root_of(struct config_node *n)
{
	while (n->parent)
		n = n->parent;
	return n;
}

static int
set_leaf(struct config_node *parent, const char *path, const char *value,
    bool only_if_unset)
{
	struct config_node *n;
	char *copy;

	if (value == NULL)
		return -EINVAL;
	n = walk(parent, path, true);
	if (n == NULL || n->first != NULL)
		return -EINVAL; /* malformed, or an inner node */
	if (only_if_unset && n->value != NULL)
		return 0;
	copy = strdup(value);
	if (copy == NULL)
		return -ENOMEM;
	free(n->value);
	free(n->expanded);
	n->expanded = NULL;
	n->value = copy;
	root_of(n)->gen++; /* other values may expand to this one */
	return 0;
}

int
config_set(struct config_node *parent, const char *path, const char *value)
{
	return set_leaf(parent, path, value, false);
}

int
config_set_default(struct config_node *parent, const char *path,
    const char *value)
{
	return set_leaf(parent, path, value, true);
}

int
config_set_bool(struct config_node *parent, const char *path, bool v)
{
	return config_set(parent, path, v ? "true" : "false");
}

void
config_unset(struct config_node *parent, const char *path)
{
	struct config_node *n = walk(parent, path, false);
	struct config_node **pp;

	if (n == NULL)
		return;
	root_of(n)->gen++;
	for (pp = &n->parent->first; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	if (n->parent->last == n) {
		struct config_node *last = n->parent->first;

		while (last && last->next)
			last = last->next;
		n->parent->last = last;
	}
	node_free(n);
}

/* A growable string for expansion, with the work left for it. */
struct strbuf {
	char *s;
	size_t len, cap;
	unsigned budget; /* %(var) references it may still expand */
};

static int
sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (n > CONFIG_MAX_EXPANDED - b->len)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);

		if (p == NULL)
			return -ENOMEM;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int expand_into(struct config_node *root, const char *v,
    struct strbuf *out, int depth);

/* One "%(name)" reference at 'v' (just after "%("); returns chars used. */
static int
expand_var(struct config_node *root, const char *v, struct strbuf *out,
    int depth)
{
	const char *close = strchr(v, ')');
	struct config_node *n;
	char *name;
	int error;

	if (close == NULL || close == v)
		return -EINVAL;
	if (out->budget-- == 0)
		return -E2BIG;
	name = strndup(v, (size_t)(close - v));
	if (name == NULL)
		return -ENOMEM;
	n = walk(root, name, false);
	free(name);
	if (n == NULL || n->value == NULL)
		return -EINVAL;
	error = expand_into(root, n->value, out, depth + 1);
	return error ? error : (int)(close - v) + 1;
}

static int
expand_into(struct config_node *root, const char *v, struct strbuf *out,
    int depth)
{
	if (depth > CONFIG_MAX_DEPTH)
		return -ELOOP;
	while (*v) {
		const char *pct = strchr(v, '%');
		int error, used;

		if (pct == NULL)
			return sb_add(out, v, strlen(v));
		error = sb_add(out, v, (size_t)(pct - v));
		if (error)
			return error;
		if (pct[1] == '%') {
			error = sb_add(out, "%", 1);
			v = pct + 2;
		} else if (pct[1] == '(') {
			used = expand_var(root, pct + 2, out, depth);
			if (used < 0)
				return used;
			v = pct + 2 + used;
		} else {
			error = sb_add(out, "%", 1);
			v = pct + 1;
		}
		if (error)
			return error;
	}
	return sb_add(out, "", 0);
}

/*
 * The cached expansion is reused while the tree is unchanged; after a
 * change it is redone, and replaced only if the result differs.
 */
const char *
config_get(struct config_node *parent, const char *path)
{
	struct config_node *n = walk(parent, path, false), *root;
	struct strbuf b = { .budget = CONFIG_MAX_EXPANSIONS };
	int error;

	if (n == NULL || n->value == NULL)
		return NULL;
	if (strchr(n->value, '%') == NULL)
		return n->value;
	root = root_of(n);
	if (n->expanded && n->expanded_gen == root->gen)
		return n->expanded;
	error = expand_into(root, n->value, &b, 0);
	if (error) {
		free(b.s);
		errno = -error;
		return NULL;
	}
	if (n->expanded && strcmp(n->expanded, b.s) == 0) {
		free(b.s);
	} else {
		free(n->expanded);
		n->expanded = b.s;
	}
	n->expanded_gen = root->gen;
	return n->expanded;
}

/* An unset key reads as its default; one that does not expand cannot. */
static int
get_or_default(struct config_node *parent, const char *path,
    const char **v)
{
	struct config_node *n;

	*v = config_get(parent, path);
	if (*v != NULL)
		return 0;
	n = walk(parent, path, false);
	return n && n->value ? -EINVAL : 0;
}

int
config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "on", "yes", "1" };
	static const char *const no[] = { "false", "off", "no", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int
config_get_bool(struct config_node *parent, const char *path, bool def,
    bool *out)
{
	const char *v;

	if (get_or_default(parent, path, &v) != 0)
		return -EINVAL;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	return config_parse_bool(v, out);
}

int
config_get_uint(struct config_node *parent, const char *path, uint64_t def,
    uint64_t *out)
{
	const char *v;
	char *end;

	if (get_or_default(parent, path, &v) != 0)
		return -EINVAL;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &end, 0);
	return errno || *end != '\0' ? -EINVAL : 0;
}

struct config_node *
config_first_child(struct config_node *node)
{
	return node ? node->first : NULL;
}

struct config_node *
config_next_sibling(struct config_node *node)
{
	return node->next;
}

const char *
config_node_name(const struct config_node *node)
{
	return node->name;
}

bool
config_node_is_leaf(const struct config_node *node)
{
	return node->value != NULL;
}

static void
dump_node(struct config_node *n, char *prefix, size_t plen, size_t cap,
    FILE *fp)
{
	for (struct config_node *c = n->first; c; c = c->next) {
		size_t len = strlen(c->name);

		if (plen + len + 2 > cap)
			continue; /* deeper than any key we set */
		if (plen)
			prefix[plen] = '.';
		memcpy(prefix + plen + (plen ? 1 : 0), c->name, len + 1);
		if (c->value)
			fprintf(fp, "%s=%s\n", prefix, c->value);
		else
			dump_node(c, prefix, plen + len + (plen ? 1 : 0), cap,
			    fp);
		prefix[plen] = '\0';
	}
}

void
config_dump(struct config_node *root, FILE *fp)
{
	char prefix[1024] = "";

	dump_node(root, prefix, 0, sizeof(prefix), fp);
}

static bool
line_is_blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0' || *s == '#';
}

int
config_load_file(struct config_node *root, const char *path, int *lineno)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int error = 0;

	*lineno = 0;
	if (fp == NULL)
		return -errno;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *eq;

		(*lineno)++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((size_t)n != strlen(line)) {
			error = -EINVAL; /* a NUL inside the line */
			break;
		}
		if (line_is_blank(line))
			continue;
		eq = strchr(line, '=');
		if (eq == NULL || eq == line) {
			error = -EINVAL;
			break;
		}
		*eq = '\0';
		error = config_set(root, line, eq + 1);
		if (error)
			break;
	}
	if (error == 0 && ferror(fp))
		error = -EIO;
	if (error == 0)
		*lineno = 0;
	free(line);
	fclose(fp);
	return error;
}
