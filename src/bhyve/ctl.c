/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket: bhyvectl (through libvmmapi's remote contexts)
 * reads and writes vCPU state and ends the VM over <rundir>/<vm name>.
 * Protocol: vmm_ctl.h.
 *
 * Everything runs on the event-loop thread and never waits on a client:
 * sockets are non-blocking, each client has one input and one output
 * buffer of fixed size, a client whose reply cannot be sent yet is not
 * read from until it is, and one event handles a bounded number of
 * messages.  Each client has exactly one mevent, watching for input or
 * (while a reply is pending) for room to write.  Requests use libvmmapi,
 * whose register calls briefly pull a running vCPU out of the guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "ctl.h"
#include "mevent.h"
#include "vmm_ctl.h"

#define CTL_MAX_CLIENTS 32
#define CTL_MSGS_PER_EVENT 16 /* then let other events run */
#define CTL_ACCEPTS_PER_EVENT 8
#define CTL_BACKLOG 16
#define CTL_PATHLEN sizeof(((struct sockaddr_un *)0)->sun_path)

struct bhyve_ctl;

struct ctl_client {
	struct bhyve_ctl *ctl;
	int fd;
	struct mevent *ev;	/* the one event, of type evtype */
	enum mevent_type evtype;
	bool close_after_reply; /* the request could not be framed */
	size_t inlen;
	size_t outlen, outoff;
	struct ctl_client *next;
	uint8_t in[sizeof(struct vmm_ctl_hdr) + VMM_CTL_MAX_PAYLOAD];
	uint8_t out[sizeof(struct vmm_ctl_rep) + VMM_CTL_MAX_PAYLOAD];
};

struct bhyve_ctl {
	struct bhyve_vm *bvm;
	int lfd;
	struct mevent *lev;
	int spare_fd;	    /* given up to refuse a client when out of fds */
	bool bound;	    /* path is our socket: unlink it at stop */
	dev_t dev;
	ino_t ino;
	int nclients;
	struct ctl_client *clients;
	char path[CTL_PATHLEN];
};


/* ---- Requests: one handler per message type. ---- */

typedef int ctl_handler_t(struct bhyve_ctl *ctl, struct vcpu *vcpu,
    const void *req, void *rep, uint32_t *replen);

static int
ctl_hello(struct bhyve_ctl *ctl, struct vcpu *vcpu, const void *req,
    void *rep, uint32_t *replen)
{
	struct vmctx *vmctx = ctl->bvm->ctx;
	struct vmm_ctl_hello h = {
		.ncpus = (uint32_t)vm_get_ncpus(vmctx),
		.memsize = vm_get_memory_size(vmctx),
	};

	snprintf(h.name, sizeof(h.name), "%s", vm_get_name(vmctx));
	snprintf(h.backend, sizeof(h.backend), "%s", vm_get_backend(vmctx));
	memcpy(rep, &h, sizeof(h));
	*replen = sizeof(h);
	return 0;
}

static int
ctl_get_reg(struct bhyve_ctl *ctl, struct vcpu *vcpu, const void *req,
    void *rep, uint32_t *replen)
{
	struct vmm_ctl_regid id;
	struct vmm_ctl_reg r = { 0 };
	int error;

	memcpy(&id, req, sizeof(id));
	if (id.pad != 0 || id.reg >= VM_REG_LAST)
		return -EINVAL;
	error = vm_get_register(vcpu, (int)id.reg, &r.val);
	if (error)
		return error;
	r.reg = id.reg;
	memcpy(rep, &r, sizeof(r));
	*replen = sizeof(r);
	return 0;
}

static int
ctl_set_reg(struct bhyve_ctl *ctl, struct vcpu *vcpu, const void *req,
    void *rep, uint32_t *replen)
{
	struct vmm_ctl_reg r;

	memcpy(&r, req, sizeof(r));
	if (r.pad != 0 || r.reg >= VM_REG_LAST)
		return -EINVAL;
	return vm_set_register(vcpu, (int)r.reg, r.val);
}

static int
ctl_get_desc(struct bhyve_ctl *ctl, struct vcpu *vcpu, const void *req,
    void *rep, uint32_t *replen)
{
	struct vmm_ctl_regid id;
	struct vmm_ctl_desc d = { 0 };
	int error;

	memcpy(&id, req, sizeof(id));
	if (id.pad != 0 || id.reg >= VM_REG_LAST || !VM_REG_HAS_DESC(id.reg))
		return -EINVAL;
	error = vm_get_desc(vcpu, (int)id.reg, &d.desc);
	if (error)
		return error;
	d.reg = id.reg;
	memcpy(rep, &d, sizeof(d));
	*replen = sizeof(d);
	return 0;
}

static int
ctl_set_desc(struct bhyve_ctl *ctl, struct vcpu *vcpu, const void *req,
    void *rep, uint32_t *replen)
{
	struct vmm_ctl_desc d;

	memcpy(&d, req, sizeof(d));
	if (d.pad != 0 || d.reg >= VM_REG_LAST || !VM_REG_HAS_DESC(d.reg))
		return -EINVAL;
	return vm_set_desc(vcpu, (int)d.reg, &d.desc);
}

static int
ctl_get_stats(struct bhyve_ctl *ctl, struct vcpu *vcpu, const void *req,
    void *rep, uint32_t *replen)
{
	uint64_t vals[VMST_MAX];
	int error = vm_get_stats(vcpu, vals, VMST_MAX);

	_Static_assert(sizeof(vals) <= VMM_CTL_MAX_PAYLOAD, "stats fit");
	if (error)
		return error;
	memcpy(rep, vals, sizeof(vals));
	*replen = sizeof(vals);
	return 0;
}

/* bhyve's exit status for each way a client may end the VM. */
static const int ctl_suspend_status[VM_SUSPEND_LAST] = {
	[VM_SUSPEND_NONE] = -1,
	[VM_SUSPEND_RESET] = BHYVE_EXIT_RESET,
	[VM_SUSPEND_POWEROFF] = BHYVE_EXIT_POWEROFF,
	[VM_SUSPEND_HALT] = BHYVE_EXIT_HALT,
	[VM_SUSPEND_TRIPLEFAULT] = -1, /* the guest's doing, not a client's */
};

static int
ctl_suspend(struct bhyve_ctl *ctl, struct vcpu *vcpu, const void *req,
    void *rep, uint32_t *replen)
{
	struct vmm_ctl_suspend s;

	memcpy(&s, req, sizeof(s));
	if (s.pad != 0 || s.how >= VM_SUSPEND_LAST ||
	    ctl_suspend_status[s.how] < 0)
		return -EINVAL;
	if (atomic_load(&ctl->bvm->exit_requested))
		return -EALREADY;
	bhyve_request_exit(ctl->bvm, ctl_suspend_status[s.how]);
	return 0;
}

struct ctl_msg {
	uint32_t req_len; /* the exact payload length a request must have */
	bool per_vcpu;	  /* the header's vcpu is used (else it must be 0) */
	ctl_handler_t *fn;
};

static const struct ctl_msg ctl_msgs[VMM_CTL_NTYPES] = {
	[VMM_CTL_HELLO] = { .fn = ctl_hello },
	[VMM_CTL_GET_REG] = { .req_len = sizeof(struct vmm_ctl_regid),
		.per_vcpu = true, .fn = ctl_get_reg },
	[VMM_CTL_SET_REG] = { .req_len = sizeof(struct vmm_ctl_reg),
		.per_vcpu = true, .fn = ctl_set_reg },
	[VMM_CTL_GET_DESC] = { .req_len = sizeof(struct vmm_ctl_regid),
		.per_vcpu = true, .fn = ctl_get_desc },
	[VMM_CTL_SET_DESC] = { .req_len = sizeof(struct vmm_ctl_desc),
		.per_vcpu = true, .fn = ctl_set_desc },
	[VMM_CTL_GET_STATS] = { .per_vcpu = true, .fn = ctl_get_stats },
	[VMM_CTL_SUSPEND] = { .req_len = sizeof(struct vmm_ctl_suspend),
		.fn = ctl_suspend },
};

/* A well-framed request: check what the table says, then run it. */
static int
ctl_dispatch(struct bhyve_ctl *ctl, const struct vmm_ctl_hdr *h,
    const void *req, void *rep, uint32_t *replen)
{
	const struct ctl_msg *m;
	struct vcpu *vcpu = NULL;

	if (h->type >= VMM_CTL_NTYPES || ctl_msgs[h->type].fn == NULL)
		return -EOPNOTSUPP;
	m = &ctl_msgs[h->type];
	if (h->len != m->req_len)
		return -EINVAL;
	if (m->per_vcpu) {
		if (h->vcpu >= (uint32_t)vm_get_ncpus(ctl->bvm->ctx))
			return -EINVAL;
		vcpu = vm_vcpu_open(ctl->bvm->ctx, (int)h->vcpu);
		if (vcpu == NULL)
			return -ENXIO;
	} else if (h->vcpu != 0) {
		return -EINVAL;
	}
	return m->fn(ctl, vcpu, req, rep, replen);
}

/* Errors that leave the stream unframeable: reply, then hang up. */
static int
ctl_frame_error(const struct vmm_ctl_hdr *h)
{
	if (h->magic != VMM_CTL_MAGIC)
		return -EBADMSG;
	if (h->version != VMM_CTL_VERSION)
		return -EPROTONOSUPPORT;
	if (h->len > VMM_CTL_MAX_PAYLOAD)
		return -EMSGSIZE;
	return 0;
}

/* ---- Clients. ---- */

static void ctl_client_event(int fd, enum mevent_type type, void *arg);

static void
ctl_client_close(struct ctl_client *cl)
{
	struct bhyve_ctl *ctl = cl->ctl;
	struct ctl_client **pp;

	for (pp = &ctl->clients; *pp != cl; pp = &(*pp)->next)
		;
	*pp = cl->next;
	ctl->nclients--;
	/* The loop closes the fd once no callback of this round can use it. */
	if (cl->ev == NULL || mevent_delete_close(cl->ev) != 0)
		close(cl->fd);
	free(cl);
}

/* Watch the client for 'type' (input, or room for a pending reply). */
static int
ctl_client_watch(struct ctl_client *cl, enum mevent_type type)
{
	if (cl->ev != NULL && cl->evtype == type)
		return 0;
	if (cl->ev != NULL)
		mevent_delete(cl->ev);
	cl->evtype = type;
	cl->ev = mevent_add(cl->ctl->bvm->mev, cl->fd, type, ctl_client_event,
	    cl);
	return cl->ev == NULL ? -ENOMEM : 0;
}

/* Bytes the current request needs in cl->in: its header, then payload. */
static size_t
ctl_client_need(const struct ctl_client *cl)
{
	struct vmm_ctl_hdr h;

	if (cl->inlen < sizeof(h))
		return sizeof(h);
	memcpy(&h, cl->in, sizeof(h));
	if (ctl_frame_error(&h) != 0)
		return sizeof(h); /* its length cannot be trusted */
	return sizeof(h) + h.len;
}

/* 1: a request is complete, 0: wait for more input, <0: hang up. */
static int
ctl_client_fill(struct ctl_client *cl)
{
	for (;;) {
		size_t need = ctl_client_need(cl);
		ssize_t n;

		if (cl->inlen == need)
			return 1;
		n = recv(cl->fd, cl->in + cl->inlen, need - cl->inlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return -ECONNRESET; /* the client left, maybe mid-request */
		cl->inlen += (size_t)n;
	}
}

/* 1: the reply is out, 0: waiting for room, <0: hang up. */
static int
ctl_client_flush(struct ctl_client *cl)
{
	while (cl->outoff < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + cl->outoff,
		    cl->outlen - cl->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return ctl_client_watch(cl, EVF_WRITE) ? -ENOMEM : 0;
		if (n < 0)
			return -errno;
		cl->outoff += (size_t)n;
	}
	cl->outoff = cl->outlen = 0;
	return 1;
}

static void
ctl_client_handle(struct ctl_client *cl)
{
	struct vmm_ctl_hdr h;
	struct vmm_ctl_rep r = { .magic = VMM_CTL_MAGIC,
		.version = VMM_CTL_VERSION };
	uint32_t replen = 0;

	memcpy(&h, cl->in, sizeof(h));
	r.type = h.type;
	r.status = ctl_frame_error(&h);
	if (r.status != 0)
		cl->close_after_reply = true;
	else
		r.status = ctl_dispatch(cl->ctl, &h, cl->in + sizeof(h),
		    cl->out + sizeof(r), &replen);
	if (r.status > 0 || r.status < -4095) /* keep the reply well-formed */
		r.status = -EIO;
	r.len = r.status == 0 ? replen : 0;
	memcpy(cl->out, &r, sizeof(r));
	cl->outlen = sizeof(r) + r.len;
	cl->outoff = 0;
	cl->inlen = 0;
}

/* Serve up to CTL_MSGS_PER_EVENT requests; <0: hang up. */
static int
ctl_client_serve(struct ctl_client *cl)
{
	for (int i = 0; i < CTL_MSGS_PER_EVENT; i++) {
		int r = ctl_client_fill(cl);

		if (r <= 0)
			return r;
		ctl_client_handle(cl);
		r = ctl_client_flush(cl);
		if (r <= 0)
			return r;
		if (cl->close_after_reply)
			return -EBADMSG;
	}
	return 0;
}

static void
ctl_client_event(int fd, enum mevent_type type, void *arg)
{
	struct ctl_client *cl = arg;
	int r;

	if (type == EVF_READ) {
		r = ctl_client_serve(cl);
	} else {
		r = ctl_client_flush(cl);
		if (r > 0 && cl->close_after_reply)
			r = -EBADMSG;
		else if (r > 0)
			r = ctl_client_watch(cl, EVF_READ);
	}
	if (r < 0)
		ctl_client_close(cl);
}

/* Only our own user (or root) may drive the VM. */
static bool
ctl_peer_allowed(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return false;
	return uc.uid == 0 || uc.uid == geteuid();
}

static int
ctl_client_add(struct bhyve_ctl *ctl, int fd)
{
	struct ctl_client *cl;

	if (ctl->nclients >= CTL_MAX_CLIENTS || !ctl_peer_allowed(fd))
		return -EPERM;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return -ENOMEM;
	*cl = (struct ctl_client){ .ctl = ctl, .fd = fd, .next = ctl->clients };
	if (ctl_client_watch(cl, EVF_READ) != 0) {
		free(cl);
		return -ENOMEM;
	}
	ctl->clients = cl;
	ctl->nclients++;
	return 0;
}

/*
 * Out of file descriptors, a pending connection would keep the
 * level-triggered listener firing forever: free the spare descriptor to
 * accept it and hang up at once.
 */
static void
ctl_refuse_one(struct bhyve_ctl *ctl)
{
	int cfd;

	if (ctl->spare_fd < 0)
		return;
	close(ctl->spare_fd);
	cfd = accept4(ctl->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd >= 0)
		close(cfd);
	ctl->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
ctl_accept(int fd, enum mevent_type type, void *arg)
{
	struct bhyve_ctl *ctl = arg;

	for (int i = 0; i < CTL_ACCEPTS_PER_EVENT; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0 && (errno == EMFILE || errno == ENFILE)) {
			ctl_refuse_one(ctl);
			continue;
		}
		if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (cfd < 0)
			return;
		if (ctl_client_add(ctl, cfd) != 0)
			close(cfd);
	}
}

/* ---- Start and stop. ---- */

/*
 * The run directory: config key 'rundir', else the default, created 0700
 * if missing.  A default directory must be ours: /tmp/bhyve-<uid> could
 * have been made by someone else.
 */
static int
ctl_rundir(struct bhyve_vm *bvm, char *buf, size_t len)
{
	const char *dir = bvm->cfg ? config_get(bvm->cfg, "rundir") : NULL;
	bool dflt = dir == NULL;
	struct stat st;

	if (dflt && bvm->cfg && config_find_node(bvm->cfg, "rundir") != NULL)
		return bhyve_error(bvm, "invalid rundir");
	if (dflt && vm_default_rundir(buf, len) != 0)
		return bhyve_error(bvm, "default run directory is too long");
	if (!dflt && (*dir == '\0' || snprintf(buf, len, "%s", dir) >=
	    (int)len))
		return bhyve_error(bvm, "invalid rundir '%s'", dir);
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return bhyve_error(bvm, "cannot create run directory %s: %s",
		    buf, strerror(errno));
	if ((dflt ? lstat(buf, &st) : stat(buf, &st)) != 0)
		return bhyve_error(bvm, "run directory %s: %s", buf,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return bhyve_error(bvm, "run directory %s is not a directory",
		    buf);
	if (dflt && st.st_uid != geteuid())
		return bhyve_error(bvm, "run directory %s belongs to uid %u",
		    buf, (unsigned)st.st_uid);
	return 0;
}

/* 1: a server answers at path, 0: a stale socket, <0: not a socket etc. */
static int
ctl_probe(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Non-blocking: a live server with a full backlog says EAGAIN. */
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r == 0 || errno == EAGAIN)
		r = 1;
	else
		r = errno == ECONNREFUSED || errno == ENOENT ? 0 : -errno;
	close(fd);
	return r;
}

/*
 * Bind first and look only if the name is taken, so two bhyves starting
 * together cannot both think the name is free.
 */
static int
ctl_bind(struct bhyve_ctl *ctl)
{
	struct bhyve_vm *bvm = ctl->bvm;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	memcpy(sa.sun_path, ctl->path, strlen(ctl->path));
	if (bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EADDRINUSE)
		return bhyve_error(bvm, "cannot bind control socket %s: %s",
		    ctl->path, strerror(errno));
	r = ctl_probe(ctl->path);
	if (r > 0)
		return bhyve_error(bvm, "VM '%s' is already running (socket %s)",
		    vm_get_name(bvm->ctx), ctl->path);
	if (r == -ENOTSOCK)
		return bhyve_error(bvm, "%s exists and is not a socket",
		    ctl->path);
	if (r < 0)
		return bhyve_error(bvm, "cannot use %s for the control socket: "
		    "%s", ctl->path, strerror(-r));
	/* A stale socket: its bhyve is gone. */
	if ((unlink(ctl->path) != 0 && errno != ENOENT) ||
	    bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return bhyve_error(bvm, "cannot replace stale socket %s: %s",
		    ctl->path, strerror(errno));
	return 0;
}

static int
ctl_listen(struct bhyve_ctl *ctl)
{
	struct bhyve_vm *bvm = ctl->bvm;
	struct stat st;

	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (ctl->lfd < 0)
		return bhyve_error(bvm, "control socket: %s", strerror(errno));
	if (ctl_bind(ctl) != 0)
		return -1;
	if (stat(ctl->path, &st) != 0)
		return bhyve_error(bvm, "control socket %s: %s", ctl->path,
		    strerror(errno));
	ctl->bound = true;
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	if (chmod(ctl->path, 0600) != 0 || listen(ctl->lfd, CTL_BACKLOG) != 0)
		return bhyve_error(bvm, "control socket %s: %s", ctl->path,
		    strerror(errno));
	ctl->lev = mevent_add(bvm->mev, ctl->lfd, EVF_READ, ctl_accept, ctl);
	if (ctl->lev == NULL)
		return bhyve_error(bvm, "cannot watch control socket %s",
		    ctl->path);
	return 0;
}

/* Remove the socket file only if it is still ours, not a successor's. */
static void
ctl_free(struct bhyve_ctl *ctl)
{
	struct stat st;

	while (ctl->clients != NULL)
		ctl_client_close(ctl->clients);
	if (ctl->lev != NULL)
		mevent_delete_close(ctl->lev);
	else if (ctl->lfd >= 0)
		close(ctl->lfd);
	if (ctl->spare_fd >= 0)
		close(ctl->spare_fd);
	if (ctl->bound && stat(ctl->path, &st) == 0 &&
	    st.st_dev == ctl->dev && st.st_ino == ctl->ino)
		unlink(ctl->path);
	free(ctl);
}

int
bhyve_ctl_start(struct bhyve_vm *bvm)
{
	char rundir[CTL_PATHLEN];
	struct bhyve_ctl *ctl;
	int error;

	if (ctl_rundir(bvm, rundir, sizeof(rundir)) != 0)
		return -1;
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return bhyve_error(bvm, "out of memory");
	ctl->bvm = bvm;
	ctl->lfd = -1;
	ctl->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	error = vmm_ctl_path(rundir, vm_get_name(bvm->ctx), ctl->path,
	    sizeof(ctl->path));
	if (error) {
		bhyve_error(bvm, "control socket path %s/%s: %s", rundir,
		    vm_get_name(bvm->ctx), strerror(-error));
		goto fail;
	}
	if (ctl_listen(ctl) != 0)
		goto fail;
	bvm->ctl = ctl;
	return 0;

fail:
	ctl_free(ctl);
	return -1;
}

void
bhyve_ctl_stop(struct bhyve_vm *bvm)
{
	struct bhyve_ctl *ctl = bvm->ctl;

	if (ctl == NULL)
		return;
	bvm->ctl = NULL;
	ctl_free(ctl);
}
