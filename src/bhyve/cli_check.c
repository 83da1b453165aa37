/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bhyve_check_config(): defaults, then every key validated, once all
 * options (and -o, -k) have had their say.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vmm.h"
#include "vmmapi.h"

/* ---- checks after all options ---- */

static const char *const check_bool_keys[] = {
	"x86.x2apic", "x86.strictio", "x86.strictmsr", "x86.vmexit_on_hlt",
	"x86.vmexit_on_pause", "x86.mptable", "x86.verbosemsr",
	"memory.wired", "memory.guest_in_core", "destroy_on_poweroff",
	"rtc.use_localtime", "virtio_msix", "acpi_tables", "lpc.pc-testdev",
	"lpc.pvpanic",
	"config.dump", "gdb.wait",
};

static int
check_default(struct cli *c, const char *key, uint64_t num, const char *s)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, num);
	if (config_set_default(c->cfg, key, s ? s : buf) != 0)
		return cli_fail(c, "cannot default %s: it conflicts with a key",
		    key);
	return 0;
}

/* Every value must expand: a typo in %(var) is named now, not later. */
static int
check_expansions(struct cli *c, struct config_node *node, char *key,
    size_t len, size_t cap)
{
	for (struct config_node *n = config_first_child(node); n != NULL;
	    n = config_next_sibling(n)) {
		const char *name = config_node_name(n);
		int w = snprintf(key + len, cap - len, "%s%s", len ? "." : "",
		    name);
		size_t end = w < 0 || (size_t)w >= cap - len ? cap - 1 :
		    len + (size_t)w;

		if (!config_node_is_leaf(n)) {
			if (check_expansions(c, n, key, end, cap))
				return -1;
		} else if (config_get(node, name) == NULL) {
			return cli_fail(c, "cannot expand the value of %s: %s",
			    key, errno == ELOOP ? "%(var) loop" :
			    errno == E2BIG ? "expansion too large" :
			    "unknown variable or malformed %(...)");
		}
		key[len] = '\0';
	}
	return 0;
}

static int
check_cpus(struct cli *c, const char *key, uint64_t *v)
{
	if (config_get_uint(c->cfg, key, *v, v) == 0 && *v >= 1 &&
	    *v <= VM_MAXCPU)
		return 0;
	return cli_fail(c, "invalid %s '%s' (want 1-%d)", key,
	    cli_str(config_get(c->cfg, key)), VM_MAXCPU);
}

/*
 * bhyve's calc_topology(): cores and threads default to 1 and sockets to
 * cpus; without cpus, cpus is sockets*cores*threads.
 */
static int
check_topology(struct cli *c)
{
	bool explicit_cpus = config_get(c->cfg, "cpus") != NULL;
	uint64_t cpus = 1, cores = 1, threads = 1, sockets, maxcpus, prod;

	if (check_cpus(c, "cpus", &cpus) || check_cpus(c, "cores", &cores) ||
	    check_cpus(c, "threads", &threads))
		return -1;
	sockets = cpus;
	if (check_cpus(c, "sockets", &sockets))
		return -1;
	prod = sockets * cores * threads;
	if (explicit_cpus && cpus != prod)
		return cli_fail(c, "cpus (%" PRIu64 ") must equal "
		    "sockets*cores*threads (%" PRIu64 ")", cpus, prod);
	if (prod > VM_MAXCPU)
		return cli_fail(c, "sockets*cores*threads (%" PRIu64 ") is "
		    "more than %d vCPUs", prod, VM_MAXCPU);
	maxcpus = prod;
	if (check_cpus(c, "maxcpus", &maxcpus))
		return -1;
	if (maxcpus < prod)
		return cli_fail(c, "maxcpus (%" PRIu64 ") is less than cpus "
		    "(%" PRIu64 ")", maxcpus, prod);
	return check_default(c, "cpus", prod, NULL) ||
	    check_default(c, "sockets", sockets, NULL) ||
	    check_default(c, "cores", cores, NULL) ||
	    check_default(c, "threads", threads, NULL) ? -1 : 0;
}

static int
check_name(struct cli *c)
{
	const char *name = config_get(c->cfg, "name");
	size_t len = name ? strlen(name) : 0;

	/* It names files and sockets: no '/', and not "." or "..". */
	if (len == 0 || len > VM_MAX_NAMELEN || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != len)
		return cli_fail(c, "invalid name '%s' (1-%d characters of "
		    "A-Z a-z 0-9 _ . -)", cli_str(name), VM_MAX_NAMELEN);
	return 0;
}

static int
check_values(struct cli *c)
{
	const char *mem = cli_str(config_get(c->cfg, "memory.size"));
	const char *backend = cli_str(config_get(c->cfg, "vmm.backend"));
	const char *fwcfg = cli_str(config_get(c->cfg, "lpc.fwcfg"));
	size_t size;
	bool b;

	if (vm_parse_memsize(mem, &size) != 0 || size % 4096 != 0)
		return cli_fail(c, "invalid memory.size '%s' (a multiple of "
		    "4 KiB; K, M, G or T; no suffix means M)", mem);
	if (strcmp(backend, "kvm") != 0 && strcmp(backend, "vtx") != 0 &&
	    strcmp(backend, "auto") != 0)
		return cli_fail(c, "invalid vmm.backend '%s' (want kvm, vtx or "
		    "auto)", backend);
	if (strcmp(fwcfg, "bhyve") == 0)
		return cli_fail(c, "lpc.fwcfg 'bhyve' (bhyve's fwctl) is not "
		    "implemented; use qemu");
	if (strcmp(fwcfg, "qemu") != 0)
		return cli_fail(c, "invalid lpc.fwcfg '%s' (want qemu)", fwcfg);
	for (size_t i = 0; i < CLI_NELEM(check_bool_keys); i++)
		if (config_get_bool(c->cfg, check_bool_keys[i], false, &b))
			return cli_fail(c, "invalid %s '%s' (want true or "
			    "false)", check_bool_keys[i],
			    cli_str(config_get(c->cfg, check_bool_keys[i])));
	return 0;
}

/*
 * bhyve features this project does not have yet: asking for one is an
 * error, not something to ignore silently.
 */
static int
check_unimplemented(struct cli *c)
{
	uint64_t port = 0;

	if (config_get_uint(c->cfg, "gdb.port", 0, &port) != 0 || port != 0)
		return cli_fail(c, "gdb.port: the gdb server (-G) is not "
		    "implemented yet");
	if (config_find_node(c->cfg, "domains") != NULL)
		return cli_fail(c, "domains: NUMA domains (-n) are not "
		    "implemented yet");
	return 0;
}

int
bhyve_check_config(struct config_node *cfg, char *err, size_t errlen)
{
	struct cli c = { .cfg = cfg, .err = err, .errlen = errlen };
	char key[256] = "";

	if (errlen > 0)
		err[0] = '\0';
	/* Defaults first, so that %(memory.size) and the like expand. */
	if (check_default(&c, "memory.size", 0, "256M") ||
	    check_default(&c, "vmm.backend", 0, "auto") ||
	    check_default(&c, "lpc.fwcfg", 0, "qemu") ||
	    check_expansions(&c, cfg, key, 0, sizeof(key)) ||
	    check_topology(&c) || check_name(&c) || check_values(&c) ||
	    check_unimplemented(&c))
		return -EINVAL;
	return 0;
}
