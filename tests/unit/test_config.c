/* SPDX-License-Identifier: BSD-2-Clause */
/* The config tree (bhyve_config(5)): paths, expansion, typed reads, files. */
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

/* config_dump() into a malloc'ed string. */
static char *
dump(struct config_node *root)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return NULL;
	config_dump(root, fp);
	fclose(fp);
	return buf;
}

/* A temporary file holding 's'; the caller unlinks and frees it. */
static char *
tmpfile_with(const char *s)
{
	const char *p = test_tmpfile(s, strlen(s));

	return p ? strdup(p) : NULL;
}

TEST(set_and_get)
{
	struct config_node *r = config_new();

	REQUIRE(r != NULL);
	CHECK(config_get(r, "name") == NULL);
	CHECK_EQ(config_set(r, "name", "vm0"), 0);
	CHECK_STR(config_get(r, "name"), "vm0");
	CHECK_EQ(config_set(r, "name", "vm1"), 0);
	CHECK_STR(config_get(r, "name"), "vm1");
	CHECK_EQ(config_set(r, "empty", ""), 0);
	CHECK_STR(config_get(r, "empty"), "");
	CHECK_EQ(config_set(r, "k", NULL), -EINVAL);
	config_free(r);
	config_free(NULL); /* allowed */
}

TEST(nested_paths)
{
	struct config_node *r = config_new(), *slot;

	REQUIRE(r != NULL);
	CHECK_EQ(config_set(r, "pci.0.3.0.device", "virtio-blk"), 0);
	CHECK_EQ(config_set(r, "pci.0.3.0.path", "/img"), 0);
	slot = config_find_node(r, "pci.0.3.0");
	REQUIRE(slot != NULL);
	CHECK(!config_node_is_leaf(slot));
	CHECK_STR(config_node_name(slot), "0");
	/* Paths are relative to the node given. */
	CHECK_STR(config_get(slot, "device"), "virtio-blk");
	CHECK_STR(config_get(config_find_node(r, "pci.0"), "3.0.path"),
	    "/img");
	CHECK(config_find_node(r, "pci.0.4") == NULL);
	CHECK(config_find_node(r, "pci.0.3.0.device") == NULL); /* a leaf */
	CHECK_EQ(config_set(slot, "ro", "true"), 0);
	CHECK_STR(config_get(r, "pci.0.3.0.ro"), "true");
	CHECK(config_create_node(r, "lpc.com1") != NULL);
	CHECK(config_find_node(r, "lpc.com1") != NULL);
	CHECK(config_create_node(r, "pci.0.3.0.device") == NULL);
	config_free(r);
}

TEST(leaf_versus_node)
{
	struct config_node *r = config_new();

	REQUIRE(r != NULL);
	CHECK_EQ(config_set(r, "a.b", "1"), 0);
	CHECK_EQ(config_set(r, "a", "2"), -EINVAL);	/* an inner node */
	CHECK_EQ(config_set(r, "a.b.c", "3"), -EINVAL); /* through a leaf */
	CHECK(config_get(r, "a") == NULL);
	CHECK(config_get(r, "a.b.c") == NULL);
	CHECK_STR(config_get(r, "a.b"), "1");
	CHECK_EQ(config_set_default(r, "a", "x"), -EINVAL);
	config_free(r);
}

TEST(malformed_paths)
{
	static const char *const bad[] = { "", ".", ".a", "a.", "a..b",
		"x.y..z", "..", "a.b." };
	struct config_node *r = config_new();

	REQUIRE(r != NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(config_set(r, bad[i], "v"), -EINVAL);
		CHECK(config_get(r, bad[i]) == NULL);
		CHECK(config_create_node(r, bad[i]) == NULL);
	}
	CHECK(config_get(r, NULL) == NULL);
	/* A refused path leaves nothing behind: "x" is still free. */
	CHECK(config_first_child(r) == NULL);
	CHECK(config_find_node(r, "x") == NULL);
	CHECK_EQ(config_set(r, "x", "1"), 0);
	config_free(r);
}

TEST(expansion)
{
	struct config_node *r = config_new();

	REQUIRE(r != NULL);
	REQUIRE(config_set(r, "name", "vm0") == 0);
	REQUIRE(config_set(r, "pci.0.3.0.path", "/dev/zvol/%(name)") == 0);
	CHECK_STR(config_get(r, "pci.0.3.0.path"), "/dev/zvol/vm0");
	/* Variables are looked up from the root, whatever the node. */
	CHECK_STR(config_get(config_find_node(r, "pci.0"), "3.0.path"),
	    "/dev/zvol/vm0");
	REQUIRE(config_set(r, "pct", "100%% of %(name)%%") == 0);
	CHECK_STR(config_get(r, "pct"), "100% of vm0%");
	REQUIRE(config_set(r, "lone", "50% off") == 0);
	CHECK_STR(config_get(r, "lone"), "50% off");
	REQUIRE(config_set(r, "nested", "<%(pci.0.3.0.path)>") == 0);
	CHECK_STR(config_get(r, "nested"), "</dev/zvol/vm0>");
	REQUIRE(config_set(r, "two", "%(name)-%(name)") == 0);
	CHECK_STR(config_get(r, "two"), "vm0-vm0");
	config_free(r);
}

TEST(expansion_failures)
{
	static const char *const bad[] = { "%(missing)", "%(name", "%()",
		"x%(pci)", "%(a..b)" };
	struct config_node *r = config_new();

	REQUIRE(r != NULL);
	REQUIRE(config_set(r, "name", "vm0") == 0);
	REQUIRE(config_set(r, "pci.0.device", "x") == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		REQUIRE(config_set(r, "v", bad[i]) == 0);
		errno = 0;
		CHECK(config_get(r, "v") == NULL);
		CHECK_EQ(errno, EINVAL);
	}
	REQUIRE(config_set(r, "a", "%(b)") == 0);
	REQUIRE(config_set(r, "b", "x%(a)") == 0);
	errno = 0;
	CHECK(config_get(r, "a") == NULL);
	CHECK_EQ(errno, ELOOP);
	REQUIRE(config_set(r, "self", "%(self)") == 0);
	errno = 0;
	CHECK(config_get(r, "self") == NULL);
	CHECK_EQ(errno, ELOOP);
	config_free(r);
}

/* Ten levels that each name the next ten times: 10^10 expansions. */
TEST(expansion_is_bounded)
{
	struct config_node *r = config_new();
	char key[8], val[128];
	time_t start = time(NULL);

	REQUIRE(r != NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "l%d", i);
		val[0] = '\0';
		for (int j = 0; j < 10; j++)
			snprintf(val + strlen(val), sizeof(val) - strlen(val),
			    "%%(l%d)", i + 1);
		REQUIRE(config_set(r, key, val) == 0);
	}
	REQUIRE(config_set(r, "l10", "xxxxxxxx") == 0);
	errno = 0;
	CHECK(config_get(r, "l0") == NULL);
	CHECK_EQ(errno, E2BIG);
	CHECK(time(NULL) - start < 5);
	config_free(r);
}

/* An expansion follows later changes of the variables it names. */
TEST(expansion_tracks_changes)
{
	struct config_node *r = config_new();
	const char *first;

	REQUIRE(r != NULL);
	REQUIRE(config_set(r, "name", "vm0") == 0);
	REQUIRE(config_set(r, "disk", "/d/%(name)") == 0);
	first = config_get(r, "disk");
	CHECK_STR(first, "/d/vm0");
	/* Unrelated changes keep the string where it was. */
	REQUIRE(config_set(r, "other", "1") == 0);
	CHECK(config_get(r, "disk") == first);
	REQUIRE(config_set(r, "name", "vm1") == 0);
	CHECK_STR(config_get(r, "disk"), "/d/vm1");
	config_unset(r, "name");
	CHECK(config_get(r, "disk") == NULL);
	config_free(r);
}

TEST(set_default)
{
	struct config_node *r = config_new();

	REQUIRE(r != NULL);
	CHECK_EQ(config_set_default(r, "memory.size", "256M"), 0);
	CHECK_STR(config_get(r, "memory.size"), "256M");
	CHECK_EQ(config_set(r, "memory.size", "1G"), 0);
	CHECK_EQ(config_set_default(r, "memory.size", "256M"), 0);
	CHECK_STR(config_get(r, "memory.size"), "1G");
	CHECK_EQ(config_set_default(r, "memory", "x"), -EINVAL);
	config_free(r);
}

TEST(unset)
{
	struct config_node *r = config_new();
	char *s;

	REQUIRE(r != NULL);
	REQUIRE(config_set(r, "a", "1") == 0);
	REQUIRE(config_set(r, "pci.0.3.0.device", "x") == 0);
	REQUIRE(config_set(r, "pci.0.4.0.device", "y") == 0);
	REQUIRE(config_set(r, "z", "2") == 0);
	config_unset(r, "pci.0.3");
	CHECK(config_get(r, "pci.0.3.0.device") == NULL);
	CHECK_STR(config_get(r, "pci.0.4.0.device"), "y");
	config_unset(r, "z"); /* the last child: appending must still work */
	config_unset(r, "nothing.here");
	config_unset(r, "a.b"); /* through a leaf: nothing happens */
	REQUIRE(config_set(r, "w", "3") == 0);
	s = dump(r);
	CHECK_STR(s, "a=1\npci.0.4.0.device=y\nw=3\n");
	free(s);
	config_unset(r, "a");
	CHECK_EQ(config_set(r, "a.b", "4"), 0); /* a leaf no more */
	config_free(r);
}

TEST(bool_parsing)
{
	static const char *const yes[] = { "true", "on", "yes", "1", "TRUE",
		"Yes" };
	static const char *const no[] = { "false", "off", "no", "0", "OFF" };
	static const char *const bad[] = { "", "2", "truex", "y", " 1" };
	struct config_node *r = config_new();
	bool b;

	REQUIRE(r != NULL);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(config_parse_bool(yes[i], &b) == 0 && b);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(config_parse_bool(no[i], &b) == 0 && !b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(config_parse_bool(bad[i], &b), -EINVAL);
	CHECK(config_get_bool(r, "unset", true, &b) == 0 && b);
	CHECK(config_get_bool(r, "unset", false, &b) == 0 && !b);
	REQUIRE(config_set_bool(r, "flag", true) == 0);
	CHECK_STR(config_get(r, "flag"), "true");
	CHECK(config_get_bool(r, "flag", false, &b) == 0 && b);
	REQUIRE(config_set(r, "flag", "maybe") == 0);
	CHECK_EQ(config_get_bool(r, "flag", false, &b), -EINVAL);
	/* A value that does not expand is an error, not "unset". */
	REQUIRE(config_set(r, "flag", "%(nope)") == 0);
	CHECK_EQ(config_get_bool(r, "flag", false, &b), -EINVAL);
	config_free(r);
}

TEST(uint_parsing)
{
	struct config_node *r = config_new();
	uint64_t v;

	REQUIRE(r != NULL);
	CHECK(config_get_uint(r, "n", 7, &v) == 0 && v == 7);
	REQUIRE(config_set(r, "n", "10") == 0);
	CHECK(config_get_uint(r, "n", 0, &v) == 0 && v == 10);
	REQUIRE(config_set(r, "n", "0x10") == 0);
	CHECK(config_get_uint(r, "n", 0, &v) == 0 && v == 16);
	REQUIRE(config_set(r, "n", "010") == 0);
	CHECK(config_get_uint(r, "n", 0, &v) == 0 && v == 8);
	REQUIRE(config_set(r, "n", "18446744073709551615") == 0);
	CHECK(config_get_uint(r, "n", 0, &v) == 0 && v == UINT64_MAX);
	static const char *const bad[] = { "", "-1", "1x", "x1", " 1", "0x",
		"18446744073709551616", "%(nope)" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		REQUIRE(config_set(r, "n", bad[i]) == 0);
		CHECK_EQ(config_get_uint(r, "n", 0, &v), -EINVAL);
	}
	config_free(r);
}

TEST(iteration_and_dump_order)
{
	struct config_node *r = config_new(), *c;
	char *s;

	REQUIRE(r != NULL);
	REQUIRE(config_set(r, "name", "vm0") == 0);
	REQUIRE(config_set(r, "pci.0.3.0.device", "virtio-blk") == 0);
	REQUIRE(config_set(r, "memory.size", "1G") == 0);
	REQUIRE(config_set(r, "pci.0.0.0.device", "hostbridge") == 0);
	REQUIRE(config_set(r, "pci.0.3.0.path", "%(name).img") == 0);
	REQUIRE(config_set(r, "name", "vm1") == 0); /* keeps its place */
	c = config_first_child(r);
	REQUIRE(c != NULL);
	CHECK_STR(config_node_name(c), "name");
	CHECK(config_node_is_leaf(c));
	c = config_next_sibling(c);
	REQUIRE(c != NULL);
	CHECK_STR(config_node_name(c), "pci");
	CHECK(!config_node_is_leaf(c));
	CHECK(config_first_child(NULL) == NULL);
	s = dump(r);
	/* Dumped raw, so a reload expands it again. */
	CHECK_STR(s, "name=vm1\npci.0.3.0.device=virtio-blk\n"
	    "pci.0.3.0.path=%(name).img\npci.0.0.0.device=hostbridge\n"
	    "memory.size=1G\n");
	free(s);
	config_free(r);
}

TEST(load_file)
{
	struct config_node *r = config_new();
	char *path = tmpfile_with("# a comment\n\n   \n  # indented\n"
	    "name=vm0\npci.0.3.0.path=/a=b\nempty=\nlast=no-newline");
	int line = -1;

	REQUIRE(r != NULL && path != NULL);
	CHECK_EQ(config_load_file(r, path, &line), 0);
	CHECK_EQ(line, 0);
	CHECK_STR(config_get(r, "name"), "vm0");
	CHECK_STR(config_get(r, "pci.0.3.0.path"), "/a=b");
	CHECK_STR(config_get(r, "empty"), "");
	CHECK_STR(config_get(r, "last"), "no-newline");
	unlink(path);
	free(path);
	config_free(r);
}

TEST(load_file_errors)
{
	static const char *const bad[] = {
		"a=1\n# ok\nno equals sign\n", /* line 3 */
		"a=1\n\n=value\n",	       /* line 3: no key */
		"a.b=1\nx=2\na=3\n",	       /* line 3: a is a node */
		"a=1\nb..c=2\n",	       /* line 2 */
	};
	static const int lines[] = { 3, 3, 3, 2 };
	static const char *const a[] = { "1", "1", NULL, "1" };
	int line;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config_node *r = config_new();
		char *path = tmpfile_with(bad[i]);

		REQUIRE(r != NULL && path != NULL);
		CHECK_EQ(config_load_file(r, path, &line), -EINVAL);
		CHECK_EQ(line, lines[i]);
		/* Lines before the bad one are in. */
		if (a[i] != NULL)
			CHECK_STR(config_get(r, "a"), a[i]);
		else
			CHECK(config_get(r, "a") == NULL);
		unlink(path);
		free(path);
		config_free(r);
	}
}

TEST(load_file_nul_and_missing)
{
	struct config_node *r = config_new();
	const char data[] = "a=1\nb=x\0y\n";
	const char *p = test_tmpfile(data, sizeof(data) - 1);
	char *path = p ? strdup(p) : NULL;
	int line;

	REQUIRE(r != NULL && path != NULL);
	CHECK_EQ(config_load_file(r, path, &line), -EINVAL);
	CHECK_EQ(line, 2);
	unlink(path);
	CHECK_EQ(config_load_file(r, path, &line), -ENOENT);
	CHECK_EQ(line, 0);
	free(path);
	config_free(r);
}

TEST(dump_load_round_trip)
{
	struct config_node *a = config_new(), *b = config_new();
	char *path, *s1, *s2;
	int line;

	REQUIRE(a != NULL && b != NULL);
	REQUIRE(config_set(a, "name", "vm0") == 0);
	REQUIRE(config_set(a, "pci.0.3.0.device", "virtio-blk") == 0);
	REQUIRE(config_set(a, "pci.0.3.0.path", "/d/%(name)=x%%") == 0);
	REQUIRE(config_set(a, "lpc.com1.path", "stdio") == 0);
	REQUIRE(config_set(a, "empty", "") == 0);
	s1 = dump(a);
	REQUIRE(s1 != NULL);
	path = tmpfile_with(s1);
	REQUIRE(path != NULL);
	CHECK_EQ(config_load_file(b, path, &line), 0);
	s2 = dump(b);
	CHECK_STR(s2, s1);
	CHECK_STR(config_get(b, "pci.0.3.0.path"), "/d/vm0=x%");
	unlink(path);
	free(path);
	free(s1);
	free(s2);
	config_free(a);
	config_free(b);
}

TEST_MAIN(TEST_ENTRY(set_and_get) TEST_ENTRY(nested_paths)
    TEST_ENTRY(leaf_versus_node) TEST_ENTRY(malformed_paths)
    TEST_ENTRY(expansion) TEST_ENTRY(expansion_failures)
    TEST_ENTRY(expansion_is_bounded) TEST_ENTRY(expansion_tracks_changes)
    TEST_ENTRY(set_default) TEST_ENTRY(unset) TEST_ENTRY(bool_parsing)
    TEST_ENTRY(uint_parsing) TEST_ENTRY(iteration_and_dump_order)
    TEST_ENTRY(load_file) TEST_ENTRY(load_file_errors)
    TEST_ENTRY(load_file_nul_and_missing) TEST_ENTRY(dump_load_round_trip))
