/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket end to end: a bhyve_vm built by hand on the null
 * backend serves its socket from an event-loop thread; the tests talk to
 * it through libvmmapi's remote contexts (vm_open), through raw protocol
 * messages (the malformed ones), and through the bhyvectl binary.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "ctl.h"
#include "mevent.h"
#include "test.h"
#include "vmm_ctl.h"
#include "vmmapi.h"

#define MiB (1ULL << 20)
#define NCPUS 2

struct fixture {
	struct bhyve_vm bvm;
	pthread_t loop;
	atomic_bool quit;
	bool looping;
	int start_error;
};

static void *
fixture_loop(void *arg)
{
	struct fixture *f = arg;

	while (!atomic_load(&f->quit))
		if (mevent_run_once(f->bvm.mev, -1) != 0)
			break;
	return NULL;
}

/* A null-backend VM 'name' with NCPUS vCPUs serving its socket in 'dir'. */
static int
fixture_init(struct fixture *f, const char *name, const char *dir)
{
	struct bhyve_vm *bvm = &f->bvm;

	memset(f, 0, sizeof(*f));
	bvm->exit_status = -1;
	bvm->cfg = config_new();
	bvm->ctx = vm_create(name, VMM_BACKEND_NULL, NULL);
	bvm->mev = mevent_create();
	if (bvm->cfg == NULL || bvm->ctx == NULL || bvm->mev == NULL ||
	    config_set(bvm->cfg, "name", name) != 0 ||
	    config_set(bvm->cfg, "rundir", dir) != 0 ||
	    vm_setup_memory(bvm->ctx, 16 * MiB) != 0 ||
	    vm_set_topology(bvm->ctx, 1, NCPUS, 1, NCPUS) != 0)
		return -1;
	bvm->ncpus = NCPUS;
	for (int i = 0; i < NCPUS; i++)
		if (vm_vcpu_open(bvm->ctx, i) == NULL)
			return -1;
	f->start_error = bhyve_ctl_start(bvm);
	if (f->start_error != 0)
		return 0; /* the caller checks start_error */
	if (pthread_create(&f->loop, NULL, fixture_loop, f) != 0)
		return -1;
	f->looping = true;
	return 0;
}

static void
fixture_fini(struct fixture *f)
{
	if (f->looping) {
		atomic_store(&f->quit, true);
		mevent_stop(f->bvm.mev); /* wakes mevent_run_once */
		pthread_join(f->loop, NULL);
	}
	bhyve_ctl_stop(&f->bvm);
	mevent_destroy(f->bvm.mev);
	vm_destroy(f->bvm.ctx);
	config_free(f->bvm.cfg);
}

static char *
make_rundir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/bhyve-ctl-test-XXXXXX");
	return mkdtemp(buf);
}

static void
remove_rundir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
sock_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* ---- Raw protocol access, for what libvmmapi would never send. ---- */

static int
raw_connect(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 20 }; /* a bug fails, never hangs */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sock_path(sa.sun_path, sizeof(sa.sun_path), dir, name);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
raw_send(int fd, uint32_t magic, uint16_t version, uint16_t type,
    uint32_t vcpu, const void *payload, uint32_t len)
{
	struct vmm_ctl_hdr h = { .magic = magic, .version = version,
		.type = type, .vcpu = vcpu, .len = len };
	uint8_t buf[sizeof(h) + 64];

	if (len > 64)
		return -1;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	return send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL) ==
	    (ssize_t)(sizeof(h) + len) ? 0 : -1;
}

static int
raw_recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one reply; returns its status, or INT32_MIN on a broken reply. */
static int32_t
raw_reply(int fd, struct vmm_ctl_rep *r, void *payload, size_t max)
{
	if (raw_recv_all(fd, r, sizeof(*r)) != 0 || r->magic != VMM_CTL_MAGIC ||
	    r->len > max || (r->len && raw_recv_all(fd, payload, r->len)))
		return INT32_MIN;
	return r->status;
}

static int32_t
raw_call(int fd, uint16_t type, uint32_t vcpu, const void *req,
    uint32_t len)
{
	struct vmm_ctl_rep r;
	uint8_t payload[VMM_CTL_MAX_PAYLOAD];

	if (raw_send(fd, VMM_CTL_MAGIC, VMM_CTL_VERSION, type, vcpu, req,
	    len) != 0)
		return INT32_MIN;
	return raw_reply(fd, &r, payload, sizeof(payload));
}

static bool
raw_eof(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0;
}

/* The server still answers a fresh client. */
static bool
still_serving(const char *dir, const char *name)
{
	struct vmctx *ctx = vm_open(name, dir);
	uint64_t v = 1;
	bool ok;

	if (ctx == NULL)
		return false;
	ok = vm_get_register(vm_vcpu_open(ctx, 0), VM_REG_GUEST_CR2, &v) == 0;
	vm_destroy(ctx);
	return ok;
}

/* ---- Through libvmmapi. ---- */

TEST(hello_fills_the_remote_context)
{
	struct fixture f;
	char dir[64];
	struct vmctx *ctx;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	ctx = vm_open("t", dir);
	REQUIRE(ctx != NULL);
	CHECK_STR(vm_get_name(ctx), "t");
	CHECK_STR(vm_get_backend(ctx), "null");
	CHECK_EQ(vm_get_ncpus(ctx), NCPUS);
	CHECK_EQ(vm_get_memory_size(ctx), 16 * MiB);
	CHECK(vm_vcpu_open(ctx, NCPUS) == NULL);
	/* The device-model-only calls refuse a remote context. */
	CHECK(vm_map_gpa(ctx, 0, 1) == NULL);
	CHECK_EQ(vm_setup_memory(ctx, MiB), -ENOTSUP);
	vm_destroy(ctx);
	fixture_fini(&f);
	remove_rundir(dir);
}

TEST(registers_and_descriptors_both_ways)
{
	struct fixture f;
	char dir[64];
	struct vmctx *ctx;
	struct vcpu *rv, *lv;
	struct seg_desc d = { .base = 0xfedc0000, .limit = 0xffff,
		.access = 0x93 }, out = { 0 };
	uint64_t v = 0;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	ctx = vm_open("t", dir);
	REQUIRE(ctx != NULL);
	rv = vm_vcpu_open(ctx, 1);
	lv = vm_vcpu_open(f.bvm.ctx, 1);
	REQUIRE(rv != NULL && lv != NULL);

	CHECK_EQ(vm_set_register(rv, VM_REG_GUEST_RAX, 0x1122334455667788), 0);
	CHECK_EQ(vm_get_register(lv, VM_REG_GUEST_RAX, &v), 0);
	CHECK_EQ(v, 0x1122334455667788);
	CHECK_EQ(vm_set_register(lv, VM_REG_GUEST_CR3, 0xabc000), 0);
	CHECK_EQ(vm_get_register(rv, VM_REG_GUEST_CR3, &v), 0);
	CHECK_EQ(v, 0xabc000);
	/* vCPU 0 is a different vCPU. */
	CHECK_EQ(vm_get_register(vm_vcpu_open(ctx, 0), VM_REG_GUEST_RAX, &v), 0);
	CHECK_EQ(v, 0);

	CHECK_EQ(vm_set_desc(rv, VM_REG_GUEST_SS, &d), 0);
	CHECK_EQ(vm_get_desc(lv, VM_REG_GUEST_SS, &out), 0);
	CHECK_EQ(out.base, d.base);
	CHECK_EQ(out.limit, d.limit);
	CHECK_EQ(out.access, d.access);
	d.base = 0x5000;
	CHECK_EQ(vm_set_desc(lv, VM_REG_GUEST_IDTR, &d), 0);
	CHECK_EQ(vm_get_desc(rv, VM_REG_GUEST_IDTR, &out), 0);
	CHECK_EQ(out.base, 0x5000);

	/* The server's errors come back as they are. */
	CHECK_EQ(vm_get_register(rv, VM_REG_LAST, &v), -EINVAL);
	CHECK_EQ(vm_get_register(rv, -1, &v), -EINVAL);
	CHECK_EQ(vm_get_desc(rv, VM_REG_GUEST_RAX, &out), -EINVAL);
	CHECK_EQ(vm_set_desc(rv, VM_REG_GUEST_RIP, &d), -EINVAL);
	/* ...and the connection stays usable. */
	CHECK_EQ(vm_get_register(rv, VM_REG_GUEST_RAX, &v), 0);
	CHECK_EQ(v, 0x1122334455667788);
	vm_destroy(ctx);
	fixture_fini(&f);
	remove_rundir(dir);
}

TEST(stats_of_each_vcpu)
{
	struct fixture f;
	char dir[64];
	struct vmctx *ctx;
	struct vm_exit vme = { 0 };
	uint64_t local[VMST_MAX], remote[VMST_MAX + 2];

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	/* The null backend cannot run, but each attempt counts an entry. */
	CHECK(vm_run(vm_vcpu_open(f.bvm.ctx, 1), &vme) != 0);
	CHECK(vm_run(vm_vcpu_open(f.bvm.ctx, 1), &vme) != 0);
	ctx = vm_open("t", dir);
	REQUIRE(ctx != NULL);
	memset(remote, 0xff, sizeof(remote));
	CHECK_EQ(vm_get_stats(vm_vcpu_open(ctx, 1), remote, VMST_MAX + 2), 0);
	CHECK_EQ(vm_get_stats(vm_vcpu_open(f.bvm.ctx, 1), local, VMST_MAX), 0);
	CHECK_EQ(remote[VMST_RUNS], 2);
	CHECK(memcmp(local, remote, sizeof(local)) == 0);
	CHECK_EQ(remote[VMST_MAX], 0); /* beyond what the server counts */
	CHECK_EQ(remote[VMST_MAX + 1], 0);
	CHECK_EQ(vm_get_stats(vm_vcpu_open(ctx, 0), remote, VMST_MAX), 0);
	CHECK_EQ(remote[VMST_RUNS], 0);
	vm_destroy(ctx);
	fixture_fini(&f);
	remove_rundir(dir);
}

struct names {
	char buf[256];
};

static void
collect_name(const char *name, void *arg)
{
	struct names *n = arg;

	strcat(n->buf, name);
	strcat(n->buf, ",");
}

/* Leave a socket file nobody listens on, as a crashed bhyve would. */
static int
make_stale_socket(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int r;

	sock_path(sa.sun_path, sizeof(sa.sun_path), dir, name);
	r = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0
									 : -1;
	if (fd >= 0)
		close(fd);
	return r;
}

TEST(list_names_answering_vms_in_order)
{
	struct fixture a, b;
	struct names n = { "" };
	char dir[64], path[128];
	FILE *fp;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&b, "vm-b", dir) == 0 && b.start_error == 0);
	REQUIRE(fixture_init(&a, "vm-a", dir) == 0 && a.start_error == 0);
	REQUIRE(make_stale_socket(dir, "vm-stale") == 0);
	sock_path(path, sizeof(path), dir, "not-a-socket");
	fp = fopen(path, "w");
	REQUIRE(fp != NULL);
	fclose(fp);
	CHECK_EQ(vm_list(dir, collect_name, &n), 2);
	CHECK_STR(n.buf, "vm-a,vm-b,");
	fixture_fini(&a);
	n.buf[0] = '\0';
	CHECK_EQ(vm_list(dir, collect_name, &n), 1);
	CHECK_STR(n.buf, "vm-b,");
	fixture_fini(&b);
	remove_rundir(dir);
	CHECK_EQ(vm_list(dir, collect_name, &n), 0); /* no directory */
}

static void
check_suspend(enum vm_suspend_how how, int want_status)
{
	struct fixture f;
	char dir[64];
	struct vmctx *ctx;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	ctx = vm_open("t", dir);
	REQUIRE(ctx != NULL);
	CHECK_EQ(vm_suspend(ctx, VM_SUSPEND_TRIPLEFAULT), -EINVAL);
	CHECK_EQ(vm_suspend(ctx, VM_SUSPEND_NONE), -EINVAL);
	CHECK_EQ(vm_suspend(ctx, (enum vm_suspend_how)99), -EINVAL);
	CHECK(!atomic_load(&f.bvm.exit_requested));
	CHECK_EQ(vm_suspend(ctx, how), 0);
	/* The reply comes after bhyve_request_exit() ran. */
	CHECK(atomic_load(&f.bvm.exit_requested));
	CHECK_EQ(f.bvm.exit_status, want_status);
	CHECK(vm_get_suspend(f.bvm.ctx) != VM_SUSPEND_NONE);
	CHECK_EQ(vm_suspend(ctx, VM_SUSPEND_POWEROFF), -EALREADY);
	CHECK_EQ(f.bvm.exit_status, want_status);
	vm_destroy(ctx);
	fixture_fini(&f);
	remove_rundir(dir);
}

TEST(suspend_ends_the_vm_with_bhyves_status)
{
	check_suspend(VM_SUSPEND_RESET, BHYVE_EXIT_RESET);
	check_suspend(VM_SUSPEND_POWEROFF, BHYVE_EXIT_POWEROFF);
	check_suspend(VM_SUSPEND_HALT, BHYVE_EXIT_HALT);
}

/* ---- Start-up and stop. ---- */

TEST(duplicate_name_refused)
{
	struct fixture a, b;
	char dir[64], path[128];
	struct stat st;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&a, "dup", dir) == 0 && a.start_error == 0);
	REQUIRE(fixture_init(&b, "dup", dir) == 0);
	CHECK(b.start_error != 0);
	CHECK(strstr(b.bvm.err, "VM 'dup' is already running") != NULL);
	sock_path(path, sizeof(path), dir, "dup");
	CHECK(strstr(b.bvm.err, path) != NULL);
	/* The refused one leaves the running one's socket alone. */
	fixture_fini(&b);
	CHECK(stat(path, &st) == 0);
	CHECK(still_serving(dir, "dup"));
	fixture_fini(&a);
	CHECK(stat(path, &st) != 0 && errno == ENOENT);
	remove_rundir(dir);
}

TEST(stale_socket_replaced)
{
	struct fixture f;
	char dir[64];

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(make_stale_socket(dir, "t") == 0);
	CHECK(vm_open("t", dir) == NULL && errno == ECONNREFUSED);
	REQUIRE(fixture_init(&f, "t", dir) == 0);
	CHECK_EQ(f.start_error, 0);
	CHECK(still_serving(dir, "t"));
	fixture_fini(&f);
	remove_rundir(dir);
}

TEST(start_errors_name_the_culprit)
{
	struct fixture f;
	char dir[64], path[128];
	FILE *fp;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	sock_path(path, sizeof(path), dir, "t");
	fp = fopen(path, "w");
	REQUIRE(fp != NULL);
	fclose(fp);
	REQUIRE(fixture_init(&f, "t", dir) == 0);
	CHECK(f.start_error != 0);
	CHECK(strstr(f.bvm.err, path) != NULL);
	fixture_fini(&f);
	CHECK(access(path, F_OK) == 0); /* not ours: left alone */

	/* A rundir that cannot be created. */
	sock_path(path, sizeof(path), dir, "t/sub");
	REQUIRE(fixture_init(&f, "u", path) == 0);
	CHECK(f.start_error != 0);
	CHECK(strstr(f.bvm.err, path) != NULL);
	fixture_fini(&f);
	remove_rundir(dir);
}

TEST(rundir_is_created_private)
{
	struct fixture f;
	char dir[64], sub[96];
	struct stat st;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	REQUIRE(fixture_init(&f, "t", sub) == 0 && f.start_error == 0);
	CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0700);
	CHECK(still_serving(sub, "t"));
	fixture_fini(&f);
	remove_rundir(sub);
	remove_rundir(dir);
}

TEST(stop_is_safe_without_start)
{
	struct bhyve_vm bvm = { .exit_status = -1 };

	bhyve_ctl_stop(&bvm);
	bhyve_ctl_stop(&bvm);
	CHECK_EQ(bvm.exit_status, -1);
}

/* ---- Malformed messages. ---- */

static void
check_framing_errors(const char *dir)
{
	struct vmm_ctl_rep r;
	uint8_t p[64];
	int fd;

	fd = raw_connect(dir, "t");
	REQUIRE(fd >= 0);
	CHECK(raw_send(fd, 0xdeadbeef, VMM_CTL_VERSION, VMM_CTL_HELLO, 0,
	    NULL, 0) == 0);
	CHECK_EQ(raw_reply(fd, &r, p, sizeof(p)), -EBADMSG);
	CHECK(raw_eof(fd));
	close(fd);

	fd = raw_connect(dir, "t");
	REQUIRE(fd >= 0);
	CHECK(raw_send(fd, VMM_CTL_MAGIC, VMM_CTL_VERSION + 1, VMM_CTL_HELLO,
	    0, NULL, 0) == 0);
	CHECK_EQ(raw_reply(fd, &r, p, sizeof(p)), -EPROTONOSUPPORT);
	CHECK_EQ(r.version, VMM_CTL_VERSION);
	CHECK_EQ(r.len, 0);
	CHECK(raw_eof(fd));
	close(fd);

	fd = raw_connect(dir, "t");
	REQUIRE(fd >= 0);
	CHECK(raw_send(fd, VMM_CTL_MAGIC, VMM_CTL_VERSION, VMM_CTL_SET_REG, 0,
	    NULL, 0) == 0);
	/* Rewrite the length: no payload follows, none may be awaited. */
	{
		struct vmm_ctl_hdr h = { .magic = VMM_CTL_MAGIC,
			.version = VMM_CTL_VERSION, .type = VMM_CTL_SET_REG,
			.len = 0x7fffffff };

		CHECK(send(fd, &h, sizeof(h), MSG_NOSIGNAL) == sizeof(h));
	}
	CHECK_EQ(raw_reply(fd, &r, p, sizeof(p)), -EINVAL); /* len 0 */
	CHECK_EQ(raw_reply(fd, &r, p, sizeof(p)), -EMSGSIZE);
	CHECK(raw_eof(fd));
	close(fd);
}

static void
check_field_errors(const char *dir)
{
	struct vmm_ctl_regid id = { .reg = VM_REG_GUEST_RAX };
	struct vmm_ctl_reg reg = { .reg = VM_REG_GUEST_RAX, .val = 7 };
	struct vmm_ctl_suspend s = { .how = VM_SUSPEND_POWEROFF, .pad = 1 };
	int fd = raw_connect(dir, "t");

	REQUIRE(fd >= 0);
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_REG, NCPUS, &id, sizeof(id)),
	    -EINVAL);
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_REG, UINT32_MAX, &id, sizeof(id)),
	    -EINVAL);
	CHECK_EQ(raw_call(fd, VMM_CTL_HELLO, 1, NULL, 0), -EINVAL);
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_REG, 0, &id, 4), -EINVAL);
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_REG, 0, &reg, sizeof(reg)), -EINVAL);
	CHECK_EQ(raw_call(fd, 0, 0, NULL, 0), -EOPNOTSUPP);
	CHECK_EQ(raw_call(fd, VMM_CTL_NTYPES, 0, NULL, 0), -EOPNOTSUPP);
	CHECK_EQ(raw_call(fd, 0xffff, 0, NULL, 0), -EOPNOTSUPP);
	id.reg = VM_REG_LAST;
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_REG, 0, &id, sizeof(id)), -EINVAL);
	id.reg = UINT32_MAX;
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_REG, 0, &id, sizeof(id)), -EINVAL);
	id = (struct vmm_ctl_regid){ .reg = VM_REG_GUEST_RAX, .pad = 1 };
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_REG, 0, &id, sizeof(id)), -EINVAL);
	id.pad = 0;
	CHECK_EQ(raw_call(fd, VMM_CTL_GET_DESC, 0, &id, sizeof(id)), -EINVAL);
	reg.reg = VM_REG_LAST;
	CHECK_EQ(raw_call(fd, VMM_CTL_SET_REG, 0, &reg, sizeof(reg)), -EINVAL);
	CHECK_EQ(raw_call(fd, VMM_CTL_SUSPEND, 0, &s, sizeof(s)), -EINVAL);
	/* After all that the same connection still works. */
	reg.reg = VM_REG_GUEST_RAX;
	CHECK_EQ(raw_call(fd, VMM_CTL_SET_REG, 1, &reg, sizeof(reg)), 0);
	close(fd);
}

TEST(malformed_messages_get_errors)
{
	struct fixture f;
	char dir[64];
	uint64_t v = 0;
	int fd;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	check_framing_errors(dir);
	check_field_errors(dir);
	CHECK_EQ(vm_get_register(vm_vcpu_open(f.bvm.ctx, 1), VM_REG_GUEST_RAX,
	    &v), 0);
	CHECK_EQ(v, 7);

	/* A truncated header, then the client leaves. */
	fd = raw_connect(dir, "t");
	REQUIRE(fd >= 0);
	CHECK(send(fd, "VCTL\1", 5, MSG_NOSIGNAL) == 5);
	close(fd);
	CHECK(still_serving(dir, "t"));
	CHECK(!atomic_load(&f.bvm.exit_requested));
	fixture_fini(&f);
	remove_rundir(dir);
}

/*
 * A client that half-sends a request and one that floods requests without
 * reading replies: the event loop must go on serving everyone else.
 */
TEST(stuck_clients_do_not_block_the_server)
{
	struct vmm_ctl_regid id = { .reg = VM_REG_GUEST_RIP };
	struct fixture f;
	char dir[64];
	int idle, flood, sent = 0;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	idle = raw_connect(dir, "t");
	flood = raw_connect(dir, "t");
	REQUIRE(idle >= 0 && flood >= 0);
	CHECK(send(idle, "VCTL", 4, MSG_NOSIGNAL) == 4);
	CHECK(fcntl(flood, F_SETFL, O_NONBLOCK) == 0);
	for (int i = 0; i < 1000000; i++) {
		if (raw_send(flood, VMM_CTL_MAGIC, VMM_CTL_VERSION,
		    VMM_CTL_GET_REG, 0, &id, sizeof(id)) != 0)
			break; /* both socket buffers are full */
		sent++;
	}
	CHECK(sent > 0 && sent < 1000000);
	CHECK(still_serving(dir, "t"));
	close(idle);
	close(flood);
	CHECK(still_serving(dir, "t"));
	fixture_fini(&f);
	remove_rundir(dir);
}

TEST(clients_are_bounded)
{
	struct fixture f;
	char dir[64];
	int fds[40];
	int n = (int)(sizeof(fds) / sizeof(fds[0]));

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	for (int i = 0; i < n; i++)
		fds[i] = raw_connect(dir, "t");
	for (int i = 0; i < n; i++)
		REQUIRE(fds[i] >= 0);
	/* The first ones are served; the last one was turned away. */
	CHECK_EQ(raw_call(fds[0], VMM_CTL_HELLO, 0, NULL, 0), 0);
	CHECK(raw_eof(fds[n - 1]));
	for (int i = 0; i < n; i++)
		close(fds[i]);
	fixture_fini(&f);
	remove_rundir(dir);
}

TEST(paths_and_names_checked)
{
	char buf[200];

	CHECK_EQ(vmm_ctl_path("/run", "vm0", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/run/vm0");
	CHECK_EQ(vmm_ctl_path("/run", "", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(vmm_ctl_path("/run", "a/b", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(vmm_ctl_path("/run", "..", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(vmm_ctl_path("/run", "a-name-that-is-far-too-long-for-a-vm",
	    buf, sizeof(buf)), -EINVAL);
	memset(buf, 'd', 120);
	buf[0] = '/';
	buf[120] = '\0';
	{
		char out[300];

		CHECK_EQ(vmm_ctl_path(buf, "vm0", out, sizeof(out)),
		    -ENAMETOOLONG);
	}
	errno = 0;
	CHECK(vm_open("a/b", "/tmp") == NULL && errno == EINVAL);
	CHECK(vm_open("nosuch", "/nonexistent-dir") == NULL && errno == ENOENT);
	CHECK_EQ(vm_default_rundir(buf, sizeof(buf)), 0);
	CHECK(buf[0] == '/');
	CHECK_EQ(vm_default_rundir(buf, 4), -ENAMETOOLONG);
}

/* ---- bhyvectl itself. ---- */

struct run_result {
	int status;
	char out[8192];
	char err[1024];
};

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
}

static bool
bhyvectl_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return false;
	exe[n] = '\0';
	/* $(BUILD)/tests/test_ctl -> $(BUILD)/bhyvectl */
	snprintf(buf, len, "%s/../bhyvectl", dirname(exe));
	return access(buf, X_OK) == 0;
}

static int
run_bhyvectl(const char *prog, const char *dir, const char *const argv[],
    struct run_result *res)
{
	char out[128], err[128];
	pid_t pid;
	int st;

	snprintf(out, sizeof(out), "%s/.out", dir);
	snprintf(err, sizeof(err), "%s/.err", dir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	read_file(out, res->out, sizeof(res->out));
	read_file(err, res->err, sizeof(res->err));
	unlink(out);
	unlink(err);
	return 0;
}

#define BHYVECTL(res, ...)                                                   \
	do {                                                                 \
		const char *argv_[] = { "bhyvectl", __VA_ARGS__, NULL };     \
		REQUIRE(run_bhyvectl(prog, dir, argv_, (res)) == 0);         \
	} while (0)

static unsigned
count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
check_bhyvectl_gets(const char *prog, const char *dir, char *rd,
    struct fixture *f)
{
	static struct run_result r;
	struct seg_desc d = { .base = 0x1000, .limit = 0xfffff,
		.access = 0xc09b };
	uint64_t v = 0;

	BHYVECTL(&r, "--vm=t", rd, "--set-rax=0x1234", "--get-rax");
	CHECK_EQ(r.status, 0);
	CHECK_STR(r.out, "rax[0]\t\t0x0000000000001234\n");
	CHECK_EQ(vm_get_register(vm_vcpu_open(f->bvm.ctx, 0),
	    VM_REG_GUEST_RAX, &v), 0);
	CHECK_EQ(v, 0x1234);

	REQUIRE(vm_set_desc(vm_vcpu_open(f->bvm.ctx, 1), VM_REG_GUEST_CS,
	    &d) == 0);
	BHYVECTL(&r, "--vm=t", rd, "--cpu=1", "--get-desc-cs", "--get-gdtr",
	    "--get-rflags", "--get-cs");
	CHECK_EQ(r.status, 0);
	CHECK_STR(r.out, "cs desc[1]\t0x0000000000001000/0x000fffff/0x0000c09b\n"
			 "gdtr[1]\t\t0x0000000000000000/0x00000000\n"
			 "rflags[1]\t0x0000000000000000\n"
			 "cs[1]\t\t0x0000\n");

	/* Only the base given: limit and access stay. */
	BHYVECTL(&r, "--vm=t", rd, "--cpu=1", "--set-desc-cs",
	    "--desc-base=0x2000");
	CHECK_EQ(r.status, 0);
	CHECK_EQ(vm_get_desc(vm_vcpu_open(f->bvm.ctx, 1), VM_REG_GUEST_CS, &d),
	    0);
	CHECK_EQ(d.base, 0x2000);
	CHECK_EQ(d.limit, 0xfffff);

	BHYVECTL(&r, "--vm=t", rd, "--get-all");
	CHECK_EQ(r.status, 0);
	CHECK_EQ(count_lines(r.out), 31 + 10 + 8);
	CHECK(strncmp(r.out, "efer[0]\t\t0x", 11) == 0);
	CHECK(strstr(r.out, "\nrflags[0]\t0x") != NULL);
	CHECK(strstr(r.out, "\nidtr[0]\t\t0x") != NULL);

	BHYVECTL(&r, "--vm=t", rd, "--get-stats");
	CHECK_EQ(r.status, 0);
	CHECK(strncmp(r.out, "vcpu0 stats:\n", 13) == 0);
	CHECK_EQ(count_lines(r.out), 1 + VMST_MAX);

	BHYVECTL(&r, "--get-backend", rd, "--vm=t");
	CHECK_EQ(r.status, 0);
	CHECK_STR(r.out, "null\n");

	BHYVECTL(&r, "--list", rd);
	CHECK_EQ(r.status, 0);
	CHECK_STR(r.out, "t\n");
}

static void
check_bhyvectl_errors(const char *prog, const char *dir, char *rd)
{
	static struct run_result r;
	char want[256];

	BHYVECTL(&r, "--vm=nosuch", rd, "--get-rax");
	CHECK_EQ(r.status, 1);
	snprintf(want, sizeof(want), "bhyvectl: VM 'nosuch' is not running "
	    "(no socket at %s/nosuch)\n", dir);
	CHECK_STR(r.err, want);
	CHECK_STR(r.out, "");

	BHYVECTL(&r, "--get-rax", rd);
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "--vm") != NULL && count_lines(r.err) == 1);

	BHYVECTL(&r, "--vm=t", rd, "--cpu=2", "--get-rax");
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "--cpu=2") != NULL && count_lines(r.err) == 1);

	BHYVECTL(&r, "--vm=t", rd, "--cpu=x");
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "'x'") != NULL);

	BHYVECTL(&r, "--vm=t", rd, "--set-rip=12z");
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "'12z'") != NULL && strstr(r.err, "--set-rip"));

	BHYVECTL(&r, "--vm=t", rd, "--frobnicate");
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.err, "--frobnicate") != NULL);

	BHYVECTL(&r, "--help");
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "--get-stats") != NULL);
}

TEST(bhyvectl_against_a_running_vm)
{
	char prog[PATH_MAX], dir[64], rd[96];
	static struct run_result r;
	struct fixture f;

	if (!bhyvectl_path(prog, sizeof(prog))) {
		printf("test_ctl: bhyvectl not built next to tests/; "
		       "bhyvectl_against_a_running_vm skipped\n");
		return;
	}
	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	snprintf(rd, sizeof(rd), "--rundir=%s", dir);
	REQUIRE(fixture_init(&f, "t", dir) == 0 && f.start_error == 0);
	check_bhyvectl_gets(prog, dir, rd, &f);
	check_bhyvectl_errors(prog, dir, rd);
	CHECK(!atomic_load(&f.bvm.exit_requested));
	BHYVECTL(&r, "--vm=t", rd, "--force-poweroff");
	CHECK_EQ(r.status, 0);
	CHECK_EQ(f.bvm.exit_status, BHYVE_EXIT_POWEROFF);
	fixture_fini(&f);
	remove_rundir(dir);
}

/* ---- The client against a server of another protocol version. ---- */

struct fake_server {
	int lfd;
	int version;
	int nconns; /* connections to answer */
};

static void *
fake_server_run(void *arg)
{
	struct fake_server *fs = arg;

	for (int i = 0; i < fs->nconns; i++) {
		struct vmm_ctl_hdr h;
		struct vmm_ctl_rep r = { .magic = VMM_CTL_MAGIC,
			.version = (uint16_t)fs->version,
			.status = -EPROTONOSUPPORT };
		int fd = accept(fs->lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		if (raw_recv_all(fd, &h, sizeof(h)) == 0) {
			r.type = h.type;
			(void)!send(fd, &r, sizeof(r), MSG_NOSIGNAL);
		}
		close(fd);
	}
	return NULL;
}

TEST(version_mismatch_is_reported)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fake_server fs = { .version = VMM_CTL_VERSION + 1,
		.nconns = 2 };
	static struct run_result r;
	char dir[64], prog[PATH_MAX], rd[96], want[128];
	bool have_prog = bhyvectl_path(prog, sizeof(prog));
	pthread_t tid;

	REQUIRE(make_rundir(dir, sizeof(dir)) != NULL);
	sock_path(sa.sun_path, sizeof(sa.sun_path), dir, "future");
	fs.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	REQUIRE(fs.lfd >= 0);
	REQUIRE(bind(fs.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(listen(fs.lfd, 4) == 0);
	if (have_prog)
		fs.nconns += 2; /* bhyvectl: vm_open, then the version probe */
	REQUIRE(pthread_create(&tid, NULL, fake_server_run, &fs) == 0);
	errno = 0;
	CHECK(vm_open("future", dir) == NULL);
	CHECK_EQ(errno, EPROTONOSUPPORT);
	CHECK_EQ(vmm_ctl_peer_version(sa.sun_path), VMM_CTL_VERSION + 1);
	if (have_prog) {
		snprintf(rd, sizeof(rd), "--rundir=%s", dir);
		BHYVECTL(&r, "--vm=future", rd, "--get-rip");
		CHECK_EQ(r.status, 1);
		snprintf(want, sizeof(want), "bhyvectl: VM 'future': bhyvectl "
		    "speaks protocol %d, the VM speaks %d\n", VMM_CTL_VERSION,
		    VMM_CTL_VERSION + 1);
		CHECK_STR(r.err, want);
	}
	pthread_join(tid, NULL);
	close(fs.lfd);
	remove_rundir(dir);
}

TEST_MAIN(
	TEST_ENTRY(hello_fills_the_remote_context)
	TEST_ENTRY(registers_and_descriptors_both_ways)
	TEST_ENTRY(stats_of_each_vcpu)
	TEST_ENTRY(list_names_answering_vms_in_order)
	TEST_ENTRY(suspend_ends_the_vm_with_bhyves_status)
	TEST_ENTRY(duplicate_name_refused)
	TEST_ENTRY(stale_socket_replaced)
	TEST_ENTRY(start_errors_name_the_culprit)
	TEST_ENTRY(rundir_is_created_private)
	TEST_ENTRY(stop_is_safe_without_start)
	TEST_ENTRY(malformed_messages_get_errors)
	TEST_ENTRY(stuck_clients_do_not_block_the_server)
	TEST_ENTRY(clients_are_bounded)
	TEST_ENTRY(version_mismatch_is_reported)
	TEST_ENTRY(paths_and_names_checked)
	TEST_ENTRY(bhyvectl_against_a_running_vm)
)
