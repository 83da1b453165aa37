/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmmapi, remote half: the calls a remote context supports, as
 * requests over a running bhyve's control socket (protocol: vmm_ctl.h).
 *
 * Every reply is checked before anything in it is used: magic, version,
 * echoed type, status range and the exact payload length the message
 * table expects.  A reply that breaks the protocol leaves the stream out
 * of step, so the context drops its socket and later calls fail with
 * -ENOTCONN instead of reading garbage.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm_ctl.h"
#include "vmmapi_internal.h"

/* A VM that does not answer within this long is reported, not waited on. */
#define REMOTE_TIMEOUT_SEC 30

#define REMOTE_PATHLEN sizeof(((struct sockaddr_un *)0)->sun_path)

/* What each request carries and what its reply must carry. */
struct remote_msg {
	uint32_t req_len;
	uint32_t rep_len; /* exact, or the maximum when rep_var */
	bool rep_var;	  /* a whole number of uint64_t up to rep_len */
};

static const struct remote_msg remote_msgs[VMM_CTL_NTYPES] = {
	[VMM_CTL_HELLO] = { .rep_len = sizeof(struct vmm_ctl_hello) },
	[VMM_CTL_GET_REG] = { .req_len = sizeof(struct vmm_ctl_regid),
		.rep_len = sizeof(struct vmm_ctl_reg) },
	[VMM_CTL_SET_REG] = { .req_len = sizeof(struct vmm_ctl_reg) },
	[VMM_CTL_GET_DESC] = { .req_len = sizeof(struct vmm_ctl_regid),
		.rep_len = sizeof(struct vmm_ctl_desc) },
	[VMM_CTL_SET_DESC] = { .req_len = sizeof(struct vmm_ctl_desc) },
	[VMM_CTL_GET_STATS] = { .rep_len = VMM_CTL_MAX_PAYLOAD,
		.rep_var = true },
	[VMM_CTL_SUSPEND] = { .req_len = sizeof(struct vmm_ctl_suspend) },
};

int
vmm_ctl_path(const char *rundir, const char *name, char *buf, size_t len)
{
	size_t nlen = name ? strlen(name) : 0;
	int n;

	if (nlen == 0 || nlen > VM_MAX_NAMELEN || strchr(name, '/') ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (rundir == NULL || *rundir == '\0')
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s", rundir, name);
	if (n < 0 || (size_t)n >= len || (size_t)n >= REMOTE_PATHLEN)
		return -ENAMETOOLONG;
	return 0;
}

int
vm_default_rundir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/var/run/bhyve");
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, len, "%s/bhyve", xdg);
	else
		n = snprintf(buf, len, "/tmp/bhyve-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int
remote_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REMOTE_TIMEOUT_SEC };
	int fd, error;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		error = -errno;
		close(fd);
		return error;
	}
	return fd;
}

static int
remote_send(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
remote_recv(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET; /* the VM went away mid-reply */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
remote_send_request(int fd, uint16_t type, uint32_t vcpu, const void *req,
    uint32_t reqlen)
{
	struct vmm_ctl_hdr h = { .magic = VMM_CTL_MAGIC,
		.version = VMM_CTL_VERSION, .type = type, .vcpu = vcpu,
		.len = reqlen };
	uint8_t msg[sizeof(h) + VMM_CTL_MAX_PAYLOAD];

	if (reqlen > VMM_CTL_MAX_PAYLOAD)
		return -EMSGSIZE;
	memcpy(msg, &h, sizeof(h));
	if (reqlen)
		memcpy(msg + sizeof(h), req, reqlen);
	return remote_send(fd, msg, sizeof(h) + reqlen);
}

/*
 * Check a reply header against the request.  Returns a transport error
 * (the stream is unusable) or 0; the server's verdict goes to *status.
 */
static int
remote_check_rep(const struct vmm_ctl_rep *r, uint16_t type,
    const struct remote_msg *m, int *status)
{
	if (r->magic != VMM_CTL_MAGIC)
		return -EPROTO;
	if (r->version != VMM_CTL_VERSION)
		return -EPROTONOSUPPORT;
	if (r->type != type || r->status > 0 || r->status < -4095)
		return -EPROTO;
	if (r->status < 0) {
		*status = r->status;
		return r->len == 0 ? 0 : -EPROTO;
	}
	if (m->rep_var ? r->len > m->rep_len || r->len % 8 != 0
		       : r->len != m->rep_len)
		return -EPROTO;
	*status = 0;
	return 0;
}

/*
 * One request and its reply.  'rep' has room for the table's rep_len;
 * *replen (if not NULL) gets the payload length received.
 */
static int
remote_xfer(int fd, uint16_t type, uint32_t vcpu, const void *req,
    void *rep, uint32_t *replen, int *status)
{
	const struct remote_msg *m = &remote_msgs[type];
	struct vmm_ctl_rep r;
	int error;

	error = remote_send_request(fd, type, vcpu, req, m->req_len);
	if (error == 0)
		error = remote_recv(fd, &r, sizeof(r));
	if (error == 0)
		error = remote_check_rep(&r, type, m, status);
	if (error == 0 && r.len > 0)
		error = remote_recv(fd, rep, r.len);
	if (error == 0 && replen != NULL)
		*replen = r.status < 0 ? 0 : r.len;
	return error;
}

/* A call on a context: a broken stream closes the context's socket. */
static int
remote_call(struct vmctx *ctx, uint16_t type, uint32_t vcpu,
    const void *req, void *rep, uint32_t *replen)
{
	int status = 0;
	int error;

	if (ctx->sock < 0)
		return -ENOTCONN;
	error = remote_xfer(ctx->sock, type, vcpu, req, rep, replen, &status);
	if (error) {
		close(ctx->sock);
		ctx->sock = -1;
		return error;
	}
	return status;
}

static bool
remote_cstr_ok(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL && s[0] != '\0';
}

static int
remote_hello(struct vmctx *ctx, const char *name)
{
	struct vmm_ctl_hello h;
	int error = remote_call(ctx, VMM_CTL_HELLO, 0, NULL, &h, NULL);

	if (error)
		return error;
	if (!remote_cstr_ok(h.name, sizeof(h.name)) ||
	    !remote_cstr_ok(h.backend, sizeof(h.backend)) ||
	    strcmp(h.name, name) != 0 || h.ncpus == 0 ||
	    h.ncpus > VM_MAXCPU || h.pad != 0)
		return -EPROTO;
	snprintf(ctx->name, sizeof(ctx->name), "%s", h.name);
	snprintf(ctx->backend, sizeof(ctx->backend), "%s", h.backend);
	ctx->ncpus = (int)h.ncpus;
	ctx->memsize = h.memsize;
	return 0;
}

struct vmctx *
vm_open(const char *name, const char *rundir)
{
	char dflt[REMOTE_PATHLEN], path[REMOTE_PATHLEN];
	struct vmctx *ctx;
	int error;

	error = rundir ? 0 : vm_default_rundir(dflt, sizeof(dflt));
	if (error == 0)
		error = vmm_ctl_path(rundir ? rundir : dflt, name, path,
		    sizeof(path));
	if (error)
		goto fail;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	ctx->sock = remote_connect(path);
	if (ctx->sock < 0) {
		error = ctx->sock;
		goto fail_free;
	}
	error = remote_hello(ctx, name);
	if (error)
		goto fail_close;
	return ctx;

fail_close:
	if (ctx->sock >= 0)
		close(ctx->sock);
fail_free:
	free(ctx);
fail:
	errno = -error;
	return NULL;
}

int
vmm_ctl_peer_version(const char *path)
{
	struct vmm_ctl_rep r;
	int fd = remote_connect(path);
	int error;

	if (fd < 0)
		return fd;
	error = remote_send_request(fd, VMM_CTL_HELLO, 0, NULL, 0);
	if (error == 0)
		error = remote_recv(fd, &r, sizeof(r));
	close(fd);
	if (error)
		return error;
	if (r.magic != VMM_CTL_MAGIC || r.version == 0)
		return -EPROTO;
	return r.version;
}

struct remote_names {
	char (*names)[VM_MAX_NAMELEN + 1];
	size_t n, cap;
};

static int
remote_names_add(struct remote_names *rn, const char *name)
{
	size_t len = strnlen(name, sizeof(*rn->names));

	if (len >= sizeof(*rn->names))
		return -ENAMETOOLONG;
	if (rn->n == rn->cap) {
		size_t cap = rn->cap ? rn->cap * 2 : 16;
		void *p = realloc(rn->names, cap * sizeof(*rn->names));

		if (p == NULL)
			return -ENOMEM;
		rn->names = p;
		rn->cap = cap;
	}
	memcpy(rn->names[rn->n], name, len + 1);
	rn->n++;
	return 0;
}

/* A directory entry that is a socket some bhyve answers on. */
static bool
remote_entry_answers(const char *rundir, const char *name)
{
	char path[REMOTE_PATHLEN];
	struct stat st;

	if (name[0] == '.' || vmm_ctl_path(rundir, name, path,
	    sizeof(path)) != 0)
		return false;
	if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	return vmm_ctl_peer_version(path) > 0;
}

static int
remote_cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
vm_list(const char *rundir, void (*cb)(const char *name, void *arg),
    void *arg)
{
	char dflt[REMOTE_PATHLEN];
	struct remote_names rn = { 0 };
	struct dirent *de;
	DIR *dir;
	int error = 0;

	if (rundir == NULL) {
		error = vm_default_rundir(dflt, sizeof(dflt));
		if (error)
			return error;
		rundir = dflt;
	}
	dir = opendir(rundir);
	if (dir == NULL)
		return errno == ENOENT ? 0 : -errno; /* no directory: no VMs */
	while (error == 0 && (de = readdir(dir)) != NULL)
		if (remote_entry_answers(rundir, de->d_name))
			error = remote_names_add(&rn, de->d_name);
	closedir(dir);
	if (error == 0 && rn.n > 0) {
		qsort(rn.names, rn.n, sizeof(*rn.names), remote_cmp_names);
		for (size_t i = 0; i < rn.n; i++)
			cb(rn.names[i], arg);
	}
	free(rn.names);
	return error ? error : (int)rn.n;
}

int
vmmapi_remote_suspend(struct vmctx *ctx, enum vm_suspend_how how)
{
	struct vmm_ctl_suspend s = { .how = (uint32_t)how };

	return remote_call(ctx, VMM_CTL_SUSPEND, 0, &s, NULL, NULL);
}

int
vmmapi_remote_get_register(struct vcpu *vcpu, int reg, uint64_t *val)
{
	struct vmm_ctl_regid id = { .reg = (uint32_t)reg };
	struct vmm_ctl_reg r;
	int error = remote_call(vcpu->ctx, VMM_CTL_GET_REG,
	    (uint32_t)vcpu->id, &id, &r, NULL);

	if (error)
		return error;
	if (r.reg != id.reg)
		return -EPROTO;
	*val = r.val;
	return 0;
}

int
vmmapi_remote_set_register(struct vcpu *vcpu, int reg, uint64_t val)
{
	struct vmm_ctl_reg r = { .reg = (uint32_t)reg, .val = val };

	return remote_call(vcpu->ctx, VMM_CTL_SET_REG, (uint32_t)vcpu->id,
	    &r, NULL, NULL);
}

int
vmmapi_remote_get_desc(struct vcpu *vcpu, int reg, struct seg_desc *desc)
{
	struct vmm_ctl_regid id = { .reg = (uint32_t)reg };
	struct vmm_ctl_desc d;
	int error = remote_call(vcpu->ctx, VMM_CTL_GET_DESC,
	    (uint32_t)vcpu->id, &id, &d, NULL);

	if (error)
		return error;
	if (d.reg != id.reg)
		return -EPROTO;
	*desc = d.desc;
	return 0;
}

int
vmmapi_remote_set_desc(struct vcpu *vcpu, int reg, const struct seg_desc *desc)
{
	struct vmm_ctl_desc d = { .reg = (uint32_t)reg, .desc = *desc };

	return remote_call(vcpu->ctx, VMM_CTL_SET_DESC, (uint32_t)vcpu->id,
	    &d, NULL, NULL);
}

/* The server may count more (a newer vmm) or fewer: the rest reads 0. */
int
vmmapi_remote_get_stats(struct vcpu *vcpu, uint64_t *vals, int nvals)
{
	uint64_t buf[VMM_CTL_MAX_PAYLOAD / sizeof(uint64_t)];
	uint32_t len = 0;
	size_t n;
	int error;

	if (nvals < 0)
		return -EINVAL;
	error = remote_call(vcpu->ctx, VMM_CTL_GET_STATS, (uint32_t)vcpu->id,
	    NULL, buf, &len);
	if (error)
		return error;
	n = len / sizeof(uint64_t);
	for (size_t i = 0; i < (size_t)nvals; i++)
		vals[i] = i < n ? buf[i] : 0;
	return 0;
}

void
vmmapi_remote_close(struct vmctx *ctx)
{
	if (ctx->sock >= 0)
		close(ctx->sock);
	ctx->sock = -1;
}
