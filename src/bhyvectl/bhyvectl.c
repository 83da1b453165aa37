/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bhyvectl(8): inspect and control a running VM through its control
 * socket, with the same libvmmapi calls the device model uses (a remote
 * struct vmctx from vm_open()).
 *
 * The options are one table of fixed options plus entries generated from
 * libvmmapi's register names (--get-REG, --set-REG=VALUE, --get-desc-SEG,
 * --set-desc-SEG).  getopt_long parses them; each handler only records
 * what to do, so options may come in any order.  The work then runs in
 * FreeBSD bhyvectl's order: every set, then every get, then the options
 * that end the VM.  Output lines follow FreeBSD bhyvectl's formats.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_ctl.h"
#include "vmmapi.h"

#define BCTL_OPT_BASE 256 /* getopt values above any short option */
#define BCTL_NAMELEN 32
#define BCTL_GEN_MAX (VM_REG_LAST * 4)

/* Exit statuses. */
#define BCTL_OK 0
#define BCTL_FAIL 1

enum bctl_phase { BCTL_SET, BCTL_GET, BCTL_END, BCTL_NPHASES };

struct bctl;
struct bctl_action;
typedef int bctl_run_t(struct bctl *b, const struct bctl_action *a);

struct bctl_action {
	enum bctl_phase phase;
	bctl_run_t *run;
	const char *opt; /* the option's name, for messages */
	int reg;
	uint64_t val;
};

struct bctl_opt;
/* 0: go on, -1: error (printed), 1: stop with success (--help). */
typedef int bctl_handler_t(struct bctl *b, const struct bctl_opt *o,
    const char *arg);

struct bctl_opt {
	const char *name;
	int has_arg; /* no_argument or required_argument */
	bctl_handler_t *handler;
	const char *meta; /* the argument's name in --help */
	const char *help; /* NULL: summarised, not listed */
	int reg;
};

/* --desc-base, --desc-limit and --desc-access given for --set-desc-SEG. */
#define BCTL_DESC_BASE 0x1
#define BCTL_DESC_LIMIT 0x2
#define BCTL_DESC_ACCESS 0x4
#define BCTL_DESC_ALL 0x7

struct bctl {
	const char *vm;
	const char *rundir;
	int cpu;
	bool list;
	struct seg_desc desc;
	unsigned desc_given;
	struct bctl_action *acts;
	int nacts;
	struct vmctx *ctx;
	struct vcpu *vcpu;
	/* Options generated from register names. */
	struct bctl_opt gen[BCTL_GEN_MAX];
	char gen_names[BCTL_GEN_MAX][BCTL_NAMELEN];
	int ngen;
};

static int
bctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("bhyvectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int
bctl_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---- Output, in FreeBSD bhyvectl's formats. ---- */

static const char *
bctl_tab(const char *name)
{
	return strlen(name) >= 6 ? "\t" : "\t\t";
}

static void
bctl_print_reg(int cpu, int reg, uint64_t val)
{
	const char *name = vm_reg_name(reg);

	if (VM_REG_IS_SEGMENT(reg))
		printf("%s[%d]%s0x%04" PRIx64 "\n", name, cpu, bctl_tab(name),
		    val);
	else
		printf("%s[%d]%s0x%016" PRIx64 "\n", name, cpu, bctl_tab(name),
		    val);
}

static void
bctl_print_desc(int cpu, int reg, const struct seg_desc *d)
{
	const char *name = vm_reg_name(reg);

	if (VM_REG_IS_SEGMENT(reg))
		printf("%s desc[%d]\t0x%016" PRIx64 "/0x%08x/0x%08x\n", name,
		    cpu, d->base, d->limit, d->access);
	else /* gdtr, idtr: no access rights */
		printf("%s[%d]\t\t0x%016" PRIx64 "/0x%08x\n", name, cpu,
		    d->base, d->limit);
}

/* ---- Actions. ---- */

static int
bctl_run_get_reg(struct bctl *b, const struct bctl_action *a)
{
	uint64_t val;
	int error = vm_get_register(b->vcpu, a->reg, &val);

	if (error)
		return bctl_fail("--%s: %s", a->opt, strerror(-error));
	bctl_print_reg(b->cpu, a->reg, val);
	return 0;
}

static int
bctl_run_set_reg(struct bctl *b, const struct bctl_action *a)
{
	int error = vm_set_register(b->vcpu, a->reg, a->val);

	return error ? bctl_fail("--%s: %s", a->opt, strerror(-error)) : 0;
}

static int
bctl_run_get_desc(struct bctl *b, const struct bctl_action *a)
{
	struct seg_desc d;
	int error = vm_get_desc(b->vcpu, a->reg, &d);

	if (error)
		return bctl_fail("--%s: %s", a->opt, strerror(-error));
	bctl_print_desc(b->cpu, a->reg, &d);
	return 0;
}

/* Fields not given on the command line keep their current value. */
static int
bctl_run_set_desc(struct bctl *b, const struct bctl_action *a)
{
	struct seg_desc d = { 0 };
	int error = 0;

	if (b->desc_given != BCTL_DESC_ALL)
		error = vm_get_desc(b->vcpu, a->reg, &d);
	if (b->desc_given & BCTL_DESC_BASE)
		d.base = b->desc.base;
	if (b->desc_given & BCTL_DESC_LIMIT)
		d.limit = b->desc.limit;
	if (b->desc_given & BCTL_DESC_ACCESS)
		d.access = b->desc.access;
	if (error == 0)
		error = vm_set_desc(b->vcpu, a->reg, &d);
	return error ? bctl_fail("--%s: %s", a->opt, strerror(-error)) : 0;
}

static int
bctl_run_stats(struct bctl *b, const struct bctl_action *a)
{
	uint64_t vals[VMST_MAX];
	int error = vm_get_stats(b->vcpu, vals, VMST_MAX);

	if (error)
		return bctl_fail("--%s: %s", a->opt, strerror(-error));
	printf("vcpu%d stats:\n", b->cpu);
	for (int i = 0; i < VMST_MAX; i++)
		printf("%-40s\t%" PRIu64 "\n", vm_stat_name(i), vals[i]);
	return 0;
}

/* FreeBSD bhyvectl's --get-all order; cr8 and intr-shadow are ours. */
static const int bctl_all_regs[] = {
	VM_REG_GUEST_EFER, VM_REG_GUEST_CR0, VM_REG_GUEST_CR2,
	VM_REG_GUEST_CR3, VM_REG_GUEST_CR4, VM_REG_GUEST_DR0,
	VM_REG_GUEST_DR1, VM_REG_GUEST_DR2, VM_REG_GUEST_DR3,
	VM_REG_GUEST_DR6, VM_REG_GUEST_DR7, VM_REG_GUEST_RSP,
	VM_REG_GUEST_RIP, VM_REG_GUEST_RAX, VM_REG_GUEST_RBX,
	VM_REG_GUEST_RCX, VM_REG_GUEST_RDX, VM_REG_GUEST_RSI,
	VM_REG_GUEST_RDI, VM_REG_GUEST_RBP, VM_REG_GUEST_R8,
	VM_REG_GUEST_R9, VM_REG_GUEST_R10, VM_REG_GUEST_R11,
	VM_REG_GUEST_R12, VM_REG_GUEST_R13, VM_REG_GUEST_R14,
	VM_REG_GUEST_R15, VM_REG_GUEST_RFLAGS, VM_REG_GUEST_CR8,
	VM_REG_GUEST_INTR_SHADOW,
};

static const int bctl_all_descs[] = {
	VM_REG_GUEST_DS, VM_REG_GUEST_ES, VM_REG_GUEST_FS, VM_REG_GUEST_GS,
	VM_REG_GUEST_SS, VM_REG_GUEST_CS, VM_REG_GUEST_TR,
	VM_REG_GUEST_LDTR, VM_REG_GUEST_GDTR, VM_REG_GUEST_IDTR,
};

static const int bctl_all_selectors[] = {
	VM_REG_GUEST_CS, VM_REG_GUEST_DS, VM_REG_GUEST_ES, VM_REG_GUEST_FS,
	VM_REG_GUEST_GS, VM_REG_GUEST_SS, VM_REG_GUEST_TR,
	VM_REG_GUEST_LDTR,
};

#define BCTL_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
bctl_run_all(struct bctl *b, const struct bctl_action *a)
{
	struct bctl_action one = *a;
	int error = 0;

	for (size_t i = 0; i < BCTL_NELEM(bctl_all_regs) && !error; i++) {
		one.reg = bctl_all_regs[i];
		error = bctl_run_get_reg(b, &one);
	}
	for (size_t i = 0; i < BCTL_NELEM(bctl_all_descs) && !error; i++) {
		one.reg = bctl_all_descs[i];
		error = bctl_run_get_desc(b, &one);
	}
	for (size_t i = 0; i < BCTL_NELEM(bctl_all_selectors) && !error;
	    i++) {
		one.reg = bctl_all_selectors[i];
		error = bctl_run_get_reg(b, &one);
	}
	return error;
}

static int
bctl_run_backend(struct bctl *b, const struct bctl_action *a)
{
	printf("%s\n", vm_get_backend(b->ctx));
	return 0;
}

static int
bctl_run_suspend(struct bctl *b, const struct bctl_action *a)
{
	int error = vm_suspend(b->ctx, (enum vm_suspend_how)a->val);

	if (error == -EALREADY)
		return bctl_fail("--%s: VM '%s' is already shutting down",
		    a->opt, b->vm);
	return error ? bctl_fail("--%s: %s", a->opt, strerror(-error)) : 0;
}

/* ---- Option handlers: record settings and actions. ---- */

static int
bctl_add(struct bctl *b, const struct bctl_opt *o, enum bctl_phase phase,
    bctl_run_t *run, uint64_t val)
{
	b->acts[b->nacts++] = (struct bctl_action){ .phase = phase,
		.run = run, .opt = o->name, .reg = o->reg, .val = val };
	return 0;
}

static int
bctl_opt_vm(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	b->vm = arg;
	return 0;
}

static int
bctl_opt_cpu(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	uint64_t v;

	if (bctl_parse_u64(arg, VM_MAXCPU - 1, &v) != 0)
		return bctl_fail("invalid --cpu '%s' (0 to %d)", arg,
		    VM_MAXCPU - 1);
	b->cpu = (int)v;
	return 0;
}

static int
bctl_opt_rundir(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	if (*arg == '\0')
		return bctl_fail("empty --rundir");
	b->rundir = arg;
	return 0;
}

static int
bctl_opt_list(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	b->list = true;
	return 0;
}

static int
bctl_opt_desc_field(struct bctl *b, const struct bctl_opt *o,
    const char *arg)
{
	uint64_t v;
	uint64_t max = o->reg == BCTL_DESC_BASE ? UINT64_MAX : UINT32_MAX;

	if (bctl_parse_u64(arg, max, &v) != 0)
		return bctl_fail("invalid value '%s' for --%s", arg, o->name);
	if (o->reg == BCTL_DESC_BASE)
		b->desc.base = v;
	else if (o->reg == BCTL_DESC_LIMIT)
		b->desc.limit = (uint32_t)v;
	else
		b->desc.access = (uint32_t)v;
	b->desc_given |= (unsigned)o->reg;
	return 0;
}

static int
bctl_opt_get_stats(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	return bctl_add(b, o, BCTL_GET, bctl_run_stats, 0);
}

static int
bctl_opt_get_all(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	return bctl_add(b, o, BCTL_GET, bctl_run_all, 0);
}

static int
bctl_opt_get_backend(struct bctl *b, const struct bctl_opt *o,
    const char *arg)
{
	return bctl_add(b, o, BCTL_GET, bctl_run_backend, 0);
}

static int
bctl_opt_suspend(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	/* o->reg holds the enum vm_suspend_how for these two. */
	return bctl_add(b, o, BCTL_END, bctl_run_suspend, (uint64_t)o->reg);
}

static int
bctl_opt_get_reg(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	return bctl_add(b, o, BCTL_GET, bctl_run_get_reg, 0);
}

static int
bctl_opt_set_reg(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	uint64_t v;

	if (bctl_parse_u64(arg, UINT64_MAX, &v) != 0)
		return bctl_fail("invalid value '%s' for --%s", arg, o->name);
	return bctl_add(b, o, BCTL_SET, bctl_run_set_reg, v);
}

static int
bctl_opt_get_desc(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	return bctl_add(b, o, BCTL_GET, bctl_run_get_desc, 0);
}

static int
bctl_opt_set_desc(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	return bctl_add(b, o, BCTL_SET, bctl_run_set_desc, 0);
}

static int bctl_opt_help(struct bctl *b, const struct bctl_opt *o,
    const char *arg);

#define BCTL_FIXED(n, a, h, m, text, r)                                       \
	{ .name = (n), .has_arg = (a), .handler = (h), .meta = (m),          \
	  .help = (text), .reg = (r) }

static const struct bctl_opt bctl_fixed[] = {
	BCTL_FIXED("vm", required_argument, bctl_opt_vm, "NAME",
	    "the VM to act on (required except with --list)", 0),
	BCTL_FIXED("cpu", required_argument, bctl_opt_cpu, "N",
	    "the vCPU for register and stats options (default 0)", 0),
	BCTL_FIXED("rundir", required_argument, bctl_opt_rundir, "DIR",
	    "the directory of the VMs' control sockets", 0),
	BCTL_FIXED("list", no_argument, bctl_opt_list, NULL,
	    "print the name of each running VM", 0),
	BCTL_FIXED("get-backend", no_argument, bctl_opt_get_backend, NULL,
	    "print the VM's backend (kvm, ...)", 0),
	BCTL_FIXED("get-stats", no_argument, bctl_opt_get_stats, NULL,
	    "print the vCPU's statistics", 0),
	BCTL_FIXED("get-all", no_argument, bctl_opt_get_all, NULL,
	    "print every register and descriptor of the vCPU", 0),
	BCTL_FIXED("desc-base", required_argument, bctl_opt_desc_field, "ADDR",
	    "base for --set-desc-SEG", BCTL_DESC_BASE),
	BCTL_FIXED("desc-limit", required_argument, bctl_opt_desc_field, "N",
	    "limit for --set-desc-SEG", BCTL_DESC_LIMIT),
	BCTL_FIXED("desc-access", required_argument, bctl_opt_desc_field, "N",
	    "access rights for --set-desc-SEG", BCTL_DESC_ACCESS),
	BCTL_FIXED("force-reset", no_argument, bctl_opt_suspend, NULL,
	    "reset the VM (bhyve exits with status 0)", VM_SUSPEND_RESET),
	BCTL_FIXED("force-poweroff", no_argument, bctl_opt_suspend, NULL,
	    "power the VM off (bhyve exits with status 1)",
	    VM_SUSPEND_POWEROFF),
	BCTL_FIXED("help", no_argument, bctl_opt_help, NULL,
	    "print this help", 0),
};

#define BCTL_NFIXED BCTL_NELEM(bctl_fixed)

static void
bctl_gen_one(struct bctl *b, const char *prefix, const char *reg_name,
    int reg, int has_arg, bctl_handler_t *handler)
{
	char *name = b->gen_names[b->ngen];

	snprintf(name, BCTL_NAMELEN, "%s%s", prefix, reg_name);
	b->gen[b->ngen++] = (struct bctl_opt){ .name = name,
		.has_arg = has_arg, .handler = handler, .reg = reg };
}

/*
 * --get-REG and --set-REG=VALUE for every register libvmmapi names, and
 * --get-desc-SEG / --set-desc-SEG for those with a descriptor.  gdtr and
 * idtr are only a descriptor: --get-gdtr prints it as FreeBSD does.
 */
static void
bctl_gen_options(struct bctl *b)
{
	for (int reg = 0; reg < VM_REG_LAST; reg++) {
		const char *n = vm_reg_name(reg);
		bool desc_only = VM_REG_HAS_DESC(reg) &&
		    !VM_REG_IS_SEGMENT(reg);

		if (n == NULL)
			continue;
		bctl_gen_one(b, "get-", n, reg, no_argument,
		    desc_only ? bctl_opt_get_desc : bctl_opt_get_reg);
		if (!desc_only)
			bctl_gen_one(b, "set-", n, reg, required_argument,
			    bctl_opt_set_reg);
		if (!VM_REG_HAS_DESC(reg))
			continue;
		bctl_gen_one(b, "get-desc-", n, reg, no_argument,
		    bctl_opt_get_desc);
		bctl_gen_one(b, "set-desc-", n, reg, no_argument,
		    bctl_opt_set_desc);
	}
}

static const struct bctl_opt *
bctl_opt_at(const struct bctl *b, int i)
{
	return i < (int)BCTL_NFIXED ? &bctl_fixed[i]
				    : &b->gen[i - (int)BCTL_NFIXED];
}

/* The register names, wrapped under a title. */
static void
bctl_usage_names(const char *title, bool want_desc)
{
	int col = printf("  %s", title);

	for (int reg = 0; reg < VM_REG_LAST; reg++) {
		const char *n = vm_reg_name(reg);

		if (n == NULL || (want_desc && !VM_REG_HAS_DESC(reg)))
			continue;
		if (col + 1 + (int)strlen(n) > 76)
			col = printf("\n      ") - 1;
		col += printf(" %s", n);
	}
	printf("\n");
}

static int
bctl_opt_help(struct bctl *b, const struct bctl_opt *o, const char *arg)
{
	char dflt[128];

	printf("usage: bhyvectl --vm=NAME [options]\n"
	       "       bhyvectl --list [--rundir=DIR]\n\n");
	for (size_t i = 0; i < BCTL_NFIXED; i++) {
		const struct bctl_opt *f = &bctl_fixed[i];
		char left[40];

		snprintf(left, sizeof(left), "--%s%s%s", f->name,
		    f->meta ? "=" : "", f->meta ? f->meta : "");
		printf("  %-20s %s\n", left, f->help);
	}
	printf("  --get-REG, --set-REG=VALUE\n"
	       "  %-20s print or set register REG of the vCPU\n"
	       "  --get-desc-SEG, --set-desc-SEG\n"
	       "  %-20s print or set the descriptor of SEG\n", "", "");
	bctl_usage_names("REG:", false);
	bctl_usage_names("SEG:", true);
	printf("  (--get-gdtr and --get-idtr print the descriptor)\n");
	if (vm_default_rundir(dflt, sizeof(dflt)) == 0)
		printf("\nThe default DIR is %s.\n", dflt);
	return 1;
}

/* ---- Parsing and running. ---- */

static struct option *
bctl_longopts(const struct bctl *b)
{
	int n = (int)BCTL_NFIXED + b->ngen;
	struct option *lo = calloc((size_t)n + 1, sizeof(*lo));

	if (lo == NULL)
		return NULL;
	for (int i = 0; i < n; i++) {
		const struct bctl_opt *o = bctl_opt_at(b, i);

		lo[i] = (struct option){ .name = o->name, .has_arg = o->has_arg,
			.val = BCTL_OPT_BASE + i };
	}
	return lo;
}

/* 0: parsed, 1: done (help printed), -1: error (printed). */
static int
bctl_getopt(struct bctl *b, int argc, char **argv, struct option *lo)
{
	int c, r = 0;

	opterr = 0; /* our messages name the culprit in one line */
	while (r == 0 && (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'h')
			r = bctl_opt_help(b, NULL, NULL);
		else if (c == ':')
			r = bctl_fail("option '%s' needs a value",
			    argv[optind - 1]);
		else if (c == '?' || c < BCTL_OPT_BASE)
			r = bctl_fail("unknown option '%s'", argv[optind - 1]);
		else
			r = bctl_opt_at(b, c - BCTL_OPT_BASE)->handler(b,
			    bctl_opt_at(b, c - BCTL_OPT_BASE), optarg);
	}
	if (r == 0 && optind < argc)
		r = bctl_fail("unexpected argument '%s'", argv[optind]);
	return r;
}

static int
bctl_parse(struct bctl *b, int argc, char **argv)
{
	struct option *lo;
	int r;

	bctl_gen_options(b);
	b->acts = calloc((size_t)argc + 1, sizeof(*b->acts));
	lo = bctl_longopts(b);
	if (b->acts == NULL || lo == NULL) {
		free(lo);
		return bctl_fail("out of memory");
	}
	r = bctl_getopt(b, argc, argv, lo);
	free(lo);
	if (r == 0 && b->vm == NULL && (!b->list || b->nacts > 0))
		r = bctl_fail("--vm=NAME is required (see bhyvectl --help)");
	return r;
}

static void
bctl_list_one(const char *name, void *arg)
{
	printf("%s\n", name);
}

static int
bctl_list(struct bctl *b)
{
	char dflt[128];
	const char *dir = b->rundir;
	int n;

	if (dir == NULL && vm_default_rundir(dflt, sizeof(dflt)) == 0)
		dir = dflt;
	n = vm_list(b->rundir, bctl_list_one, NULL);
	if (n < 0)
		return bctl_fail("cannot list VMs in %s: %s", dir ? dir : "?",
		    strerror(-n));
	return 0;
}

/* Explain why vm_open() failed, naming the socket. */
static int
bctl_open_failed(struct bctl *b, int error)
{
	char dir[128], path[128];
	const char *rundir = b->rundir;
	int peer;

	if (rundir == NULL && vm_default_rundir(dir, sizeof(dir)) == 0)
		rundir = dir;
	if (vmm_ctl_path(rundir, b->vm, path, sizeof(path)) != 0)
		return bctl_fail("invalid VM name '%s' or --rundir", b->vm);
	switch (error) {
	case ENOENT:
		return bctl_fail("VM '%s' is not running (no socket at %s)",
		    b->vm, path);
	case ECONNREFUSED:
		return bctl_fail("VM '%s' is not running (stale socket at %s)",
		    b->vm, path);
	case EPROTONOSUPPORT:
		peer = vmm_ctl_peer_version(path);
		if (peer > 0)
			return bctl_fail("VM '%s': bhyvectl speaks protocol %d, "
			    "the VM speaks %d", b->vm, VMM_CTL_VERSION, peer);
		break;
	}
	return bctl_fail("VM '%s': %s: %s", b->vm, path, strerror(error));
}

static int
bctl_run(struct bctl *b)
{
	int ncpus;

	b->ctx = vm_open(b->vm, b->rundir);
	if (b->ctx == NULL)
		return bctl_open_failed(b, errno);
	ncpus = vm_get_ncpus(b->ctx);
	if (b->cpu >= ncpus)
		return bctl_fail("--cpu=%d: VM '%s' has %d vCPU%s", b->cpu,
		    b->vm, ncpus, ncpus == 1 ? "" : "s");
	b->vcpu = vm_vcpu_open(b->ctx, b->cpu);
	if (b->vcpu == NULL)
		return bctl_fail("--cpu=%d: %s", b->cpu, strerror(errno));
	for (int phase = 0; phase < BCTL_NPHASES; phase++)
		for (int i = 0; i < b->nacts; i++)
			if (b->acts[i].phase == (enum bctl_phase)phase &&
			    b->acts[i].run(b, &b->acts[i]) != 0)
				return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct bctl *b = calloc(1, sizeof(*b));
	int r;

	if (b == NULL) {
		bctl_fail("out of memory");
		return BCTL_FAIL;
	}
	r = bctl_parse(b, argc, argv);
	if (r == 0 && b->list)
		r = bctl_list(b);
	if (r == 0 && b->vm != NULL)
		r = bctl_run(b);
	if (fflush(stdout) != 0 && r == 0)
		r = bctl_fail("stdout: %s", strerror(errno));
	vm_destroy(b->ctx);
	free(b->acts);
	free(b);
	return r < 0 ? BCTL_FAIL : BCTL_OK;
}
