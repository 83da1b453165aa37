/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Virtio doorbells as ioeventfds, on the null backend: vm_ioeventfd()'s
 * checks, and the exact assign/deassign calls the PCI transport makes as
 * a driver enables, disables and resets queues, as BARs move or stop
 * decoding, and at teardown (recorded by a test hook that keeps the live
 * set the way KVM does: a duplicate assign is -EEXIST, a deassign that
 * matches nothing -ENOENT).  Then what a signal does: the hook's eventfd
 * written as KVM would, the round on the event loop compared with the
 * same notification taken through an exit.  Last, where /dev/kvm opens,
 * the real thing: guest writes that signal an eventfd with no exit
 * (counted in the vmm's statistics), and virtio doorbells on KVM with
 * ioeventfds on and off.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "fake_vm.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "test.h"
#include "virtio.h"
#include "vmexit.h"
#include "vmmapi.h"

#define MiB (1ULL << 20)
#define RAM_SIZE (64 * MiB)
#define SLOT 3
#define QSZ 16

/* Common config (4.1.4.3) and legacy (4.1.4.8) register offsets. */
#define C_STATUS 0x14
#define C_GFSEL 0x08
#define C_GF 0x0c
#define C_QSEL 0x16
#define C_QSIZE 0x18
#define C_QVEC 0x1a
#define C_QENABLE 0x1c
#define C_QDESC 0x20
#define C_QDRIVER 0x28
#define C_QDEVICE 0x30
#define C_CFGVEC 0x10
#define L_PFN 0x08
#define L_QSEL 0x0e
#define L_QNOTIFY 0x10
#define L_STATUS 0x12

#define S_FEATURES_OK 0x0b
#define S_DRIVER_OK 0x0f

/* Guest RAM layout: queue q's rings at RINGS + q * 64 KiB. */
#define RINGS 0x100000ULL
#define BUFS 0x200000ULL

/* ---- vbell: a device that counts its rounds ---- */

struct vbell {
	struct virtio_softc vs;
	struct vqueue_info vq[2];
	struct virtio_consts vc;
	int rounds[2];
	int chains[2];
	pthread_t round_thread;
};

static void
vbell_notify(void *dev, struct vqueue_info *vq)
{
	struct vbell *b = dev;
	struct iovec iov[4];
	struct vi_req req;

	b->rounds[vq->vq_num]++;
	b->round_thread = pthread_self();
	while (vq_getchain(vq, iov, 4, &req) > 0) {
		b->chains[vq->vq_num]++;
		vq_relchain(vq, req.idx, 0);
	}
	vq_endchains(vq);
}

static int
vbell_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct vbell *b = calloc(1, sizeof(*b));
	uint64_t budget = 0;

	if (b == NULL || config_get_uint(nvl, "budget", 0, &budget) != 0) {
		free(b);
		return -1;
	}
	b->vc = (struct virtio_consts){ .vc_name = "vbell",
		.vc_devtype = VIRTIO_ID_ENTROPY, .vc_class = 0xff0000,
		.vc_nvq = 2, .vc_round_budget = (uint32_t)budget,
		.vc_qnotify = vbell_notify };
	b->vq[0].vq_qsize_max = b->vq[1].vq_qsize_max = QSZ;
	vi_softc_linkup(&b->vs, &b->vc, b, pi, b->vq);
	if (vi_pci_init(&b->vs, nvl) != 0) {
		free(b);
		return -1;
	}
	return 0;
}

static void
vbell_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;

	vi_pci_destroy(vs);
	free(vs->vs_dev);
}

static const struct pci_devemu vbell_emu = {
	.pe_emu = "vbell",
	.pe_init = vbell_init,
	.pe_destroy = vbell_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};

static const struct pci_devemu *const test_emus[] = { &vbell_emu };

/* ---- The hook: KVM's ioeventfd table, kept in the test ---- */

struct ioev {
	uint64_t addr;
	int len;
	bool pio, dm;
	uint64_t data;
	int fd;
};

struct ioev_call {
	struct ioev e;
	bool assign;
	int ret;
};

struct ioev_log {
	struct ioev_call calls[128];
	int ncalls;
	struct ioev live[32];
	int nlive;
	int fail;	/* returned for every assign when not 0 */
	int closed;	/* calls naming an fd that was already closed */
};

static bool
ioev_same(const struct ioev *a, const struct ioev *b)
{
	return a->addr == b->addr && a->len == b->len && a->pio == b->pio &&
	    a->dm == b->dm && (!a->dm || a->data == b->data);
}

static int
ioev_update(struct ioev_log *l, const struct ioev *e, bool assign)
{
	for (int i = 0; i < l->nlive; i++) {
		if (!ioev_same(&l->live[i], e))
			continue;
		if (assign)
			return -EEXIST;
		if (l->live[i].fd != e->fd)
			return -ENOENT;
		l->live[i] = l->live[--l->nlive];
		return 0;
	}
	if (!assign)
		return -ENOENT;
	if (l->fail)
		return l->fail;
	if (l->nlive == 32)
		return -ENOSPC;
	l->live[l->nlive++] = *e;
	return 0;
}

static int
ioev_hook(void *arg, uint64_t addr, int len, bool pio, bool dm,
    uint64_t data, int fd, bool assign)
{
	struct ioev_log *l = arg;
	struct ioev e = { .addr = addr, .len = len, .pio = pio, .dm = dm,
		.data = data, .fd = fd };
	int ret;

	if (fcntl(fd, F_GETFD) < 0)
		l->closed++;
	ret = ioev_update(l, &e, assign);
	if (l->ncalls < 128)
		l->calls[l->ncalls++] = (struct ioev_call){ .e = e,
			.assign = assign, .ret = ret };
	return ret;
}

/* ---- The fake VM ---- */

struct fx {
	struct bhyve_vm bvm;
	struct ioev_log log;
	int msis;
	uint64_t last_msi;
	int init_error;
	struct pci_devinst *pi;
	struct virtio_softc *vs;
	uint8_t *ram;
	uint16_t aidx[2];
};

static int
rec_msi(void *arg, uint64_t addr, uint64_t data)
{
	struct fx *f = arg;

	f->msis++;
	f->last_msi = data;
	return 0;
}

static int
rec_isa(void *arg, int atpic, int ioapic)
{
	return 0;
}

static int
rec_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops rec_ops = {
	.isa_assert = rec_isa, .isa_deassert = rec_isa,
	.ioapic_assert = rec_pin, .ioapic_deassert = rec_pin,
	.msi = rec_msi,
};

/*
 * A VM on 'backend' (null: with the hook set before any device exists),
 * vbell at slot 3 and the keys in 'kv' (NULL-terminated pairs).
 */
static int
fx_setup_on(struct fx *f, const char *backend, const char *const *kv)
{
	struct pci_emul_opts o = { .extra = test_emus, .nextra = 1,
		.intr_ops = &rec_ops, .intr_arg = f };

	memset(f, 0, sizeof(*f));
	if (fake_vm_init(&f->bvm, "t-ioevfd", backend, RAM_SIZE, kv) != 0 ||
	    (strcmp(backend, VMM_BACKEND_NULL) == 0 &&
	    vm_set_ioeventfd_hook(f->bvm.ctx, ioev_hook, &f->log) != 0) ||
	    config_set(f->bvm.cfg, "pci.0.0.0.device", "hostbridge") != 0 ||
	    config_set(f->bvm.cfg, "pci.0.3.0.device", "vbell") != 0)
		return -1;
	f->ram = vm_map_gpa(f->bvm.ctx, 0, RAM_SIZE);
	f->init_error = pci_emul_init_opts(&f->bvm, &o);
	for (f->pi = pci_next(&f->bvm, NULL); f->pi && f->pi->pi_slot != SLOT;
	    f->pi = pci_next(&f->bvm, f->pi))
		;
	if (f->init_error == 0 && f->pi != NULL)
		f->vs = f->pi->pi_arg;
	return 0;
}

static int
fx_setup(struct fx *f, const char *const *kv)
{
	return fx_setup_on(f, VMM_BACKEND_NULL, kv);
}

static void
fx_teardown(struct fx *f)
{
	fake_vm_fini(&f->bvm);
}

static struct vbell *
fx_dev(struct fx *f)
{
	return f->vs->vs_dev;
}

static int
fx_kickfd(struct fx *f, int q)
{
	return f->vs->vs_queues[q].vq_kickfd;
}

/* Run what the event loop has now. */
static void
fx_pump(struct fx *f)
{
	for (int i = 0; i < 16; i++)
		CHECK_EQ(mevent_run_once(f->bvm.mev, 0), 0);
}

/* ---- Guest accesses ---- */

static uint64_t
fx_bar(struct fx *f, int idx)
{
	return f->pi->pi_bar[idx].addr;
}

static uint64_t
fx_notify(struct fx *f, int q)
{
	return fx_bar(f, VI_PCI_MODERN_BAR) + VI_PCI_NOTIFY_OFF +
	    (uint64_t)q * VI_PCI_NOTIFY_MULT;
}

static uint16_t
fx_qnotify_port(struct fx *f)
{
	return (uint16_t)(fx_bar(f, 0) + L_QNOTIFY);
}


static void
pio_wr(struct fx *f, uint16_t port, int size, uint64_t v)
{
	CHECK_EQ(io_dispatch(f->bvm.ports, NULL, true, port, size, &v), 0);
}

static void
cw(struct fx *f, uint64_t off, int size, uint64_t v)
{
	fake_mmio_wr(&f->bvm, fx_bar(f, VI_PCI_MODERN_BAR) + off, size, v);
}

static void
lw(struct fx *f, uint16_t off, int size, uint64_t v)
{
	pio_wr(f, (uint16_t)(fx_bar(f, 0) + off), size, v);
}


/* VERSION_1 negotiated, FEATURES_OK. */
static void
drv_features(struct fx *f)
{
	cw(f, C_STATUS, 1, 0);
	cw(f, C_STATUS, 1, 3);
	cw(f, C_GFSEL, 4, 1);
	cw(f, C_GF, 4, 1);
	cw(f, C_STATUS, 1, S_FEATURES_OK);
}

static uint64_t
ring_base(int q)
{
	return RINGS + (uint64_t)q * 0x10000;
}

/* The modern way: size, addresses, vector, queue_enable. */
static void
drv_queue(struct fx *f, int q, uint16_t vec)
{
	uint64_t base = ring_base(q);

	memset(f->ram + base, 0, 0x10000);
	cw(f, C_QSEL, 2, (uint64_t)q);
	cw(f, C_QSIZE, 2, QSZ);
	cw(f, C_QDESC, 8, base);
	cw(f, C_QDRIVER, 8, base + 0x1000);
	cw(f, C_QDEVICE, 8, base + 0x2000);
	cw(f, C_QVEC, 2, vec);
	cw(f, C_QENABLE, 2, 1);
	f->aidx[q] = 0;
}

/* A 16-byte device-writable chain on queue q (descriptor = slot). */
static void
post(struct fx *f, int q)
{
	uint64_t base = ring_base(q);
	uint16_t slot = f->aidx[q] % QSZ;
	struct vring_desc d = { .addr = BUFS + 64 * (uint64_t)slot, .len = 16,
		.flags = VRING_DESC_F_WRITE };

	memcpy(f->ram + base + 16 * (uint64_t)slot, &d, sizeof(d));
	memcpy(f->ram + base + 0x1000 + 4 + 2 * (uint64_t)slot, &slot, 2);
	f->aidx[q]++;
	memcpy(f->ram + base + 0x1000 + 2, &f->aidx[q], 2);
}

static uint16_t
used_idx(struct fx *f, int q)
{
	uint16_t v;

	memcpy(&v, f->ram + ring_base(q) + 0x2000 + 2, 2);
	return v;
}

/* MSI-X on, vector i sending data 0x40 + i. */
static void
msix_on(struct fx *f)
{
	uint64_t table = fx_bar(f, VI_PCI_MSIX_BAR);

	for (int i = 0; i < 3; i++) {
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i, 4, 0xfee00000);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 8, 4,
		    0x40 + (uint64_t)i);
		fake_mmio_wr(&f->bvm, table + 16 * (uint64_t)i + 12, 4, 0);
	}
	fake_cfg_wr(&f->bvm, SLOT, f->pi->pi_msix.capoff + 2, 2,
	    PCIM_MSIXCTRL_MSIX_ENABLE);
}

/* Ready to run: features, both queues (vectors 0 and 1), DRIVER_OK. */
static void
drv_ready(struct fx *f)
{
	drv_features(f);
	drv_queue(f, 0, 0);
	drv_queue(f, 1, 1);
	cw(f, C_STATUS, 1, S_DRIVER_OK);
}

/* ---- Expectations on the log ---- */

static void
check_call(struct fx *f, int i, bool assign, bool pio, uint64_t addr,
    int q)
{
	const struct ioev_call *c = &f->log.calls[i];

	REQUIRE(i < f->log.ncalls);
	CHECK_EQ(c->assign, assign);
	CHECK_EQ(c->e.pio, pio);
	CHECK_EQ(c->e.addr, addr);
	CHECK_EQ(c->e.len, 2);
	/* Legacy: one port for all queues, told apart by the value. */
	CHECK_EQ(c->e.dm, pio);
	if (pio)
		CHECK_EQ(c->e.data, q);
	CHECK_EQ(c->e.fd, fx_kickfd(f, q));
	CHECK_EQ(c->ret, 0);
}

/* Queue q's two doorbells, modern then legacy. */
static void
check_pair(struct fx *f, int i, bool assign, int q)
{
	check_call(f, i, assign, false, fx_notify(f, q), q);
	check_call(f, i + 1, assign, true, fx_qnotify_port(f), q);
}

/* ---- vm_ioeventfd() itself ---- */

TEST(vm_ioeventfd_checks_arguments)
{
	struct vmctx *ctx = vm_create("t-ioev-args", VMM_BACKEND_NULL, NULL);
	struct ioev_log log = { 0 };
	int fd = eventfd(0, EFD_CLOEXEC);

	REQUIRE(ctx != NULL && fd >= 0);
	REQUIRE(vm_setup_memory(ctx, RAM_SIZE) == 0);
	/* No hook: the null backend has none, like vtx. */
	CHECK_EQ(vm_ioeventfd(ctx, 0xc0000000, 2, false, false, 0, fd, true),
	    -ENOTSUP);
	CHECK_EQ(vm_set_ioeventfd_hook(ctx, ioev_hook, &log), 0);
	CHECK_EQ(vm_ioeventfd(ctx, 0xc0000000, 3, false, false, 0, fd, true),
	    -EINVAL);
	CHECK_EQ(vm_ioeventfd(ctx, 0xc0000000, 2, false, false, 0, -1, true),
	    -EINVAL);
	CHECK_EQ(vm_ioeventfd(ctx, 0xffff, 2, true, false, 0, fd, true),
	    -EINVAL);
	CHECK_EQ(vm_ioeventfd(ctx, 0x10000, 1, true, false, 0, fd, true),
	    -EINVAL);
	CHECK_EQ(vm_ioeventfd(ctx, 0x1000, 2, false, false, 0, fd, true),
	    -EINVAL); /* guest RAM */
	CHECK_EQ(vm_ioeventfd(ctx, RAM_SIZE - 1, 2, false, false, 0, fd,
	    true), -EINVAL); /* its last byte */
	CHECK_EQ(vm_ioeventfd(ctx, UINT64_MAX, 2, false, false, 0, fd, true),
	    -EINVAL);
	CHECK_EQ(vm_ioeventfd(ctx, 0x6010, 2, true, true, 0x10000, fd, true),
	    -EINVAL); /* a value wider than the write */
	CHECK_EQ(log.ncalls, 0);
	CHECK_EQ(vm_ioeventfd(ctx, RAM_SIZE, 2, false, false, 0, fd, true), 0);
	CHECK_EQ(vm_ioeventfd(ctx, 0xfffe, 2, true, true, 0xffff, fd, true),
	    0);
	CHECK_EQ(vm_ioeventfd(ctx, RAM_SIZE, 2, false, false, 0, fd, true),
	    -EEXIST);
	CHECK_EQ(vm_ioeventfd(ctx, RAM_SIZE, 2, false, false, 0, fd, false),
	    0);
	CHECK_EQ(log.ncalls, 4);
	CHECK_EQ(log.nlive, 1);
	CHECK_EQ(log.calls[1].e.data, 0xffff);
	/* Removing the hook brings -ENOTSUP back. */
	CHECK_EQ(vm_set_ioeventfd_hook(ctx, NULL, NULL), 0);
	CHECK_EQ(vm_ioeventfd(ctx, 0xfffe, 2, true, true, 0xffff, fd, false),
	    -ENOTSUP);
	vm_destroy(ctx);
	close(fd);
}

TEST(vtx_has_no_ioeventfds)
{
	struct vmctx *ctx = vm_create("t-ioev-vtx", VMM_BACKEND_VTX, NULL);
	struct ioev_log log = { 0 };
	int fd = eventfd(0, EFD_CLOEXEC);

	REQUIRE(ctx != NULL && fd >= 0);
	CHECK_EQ(vm_ioeventfd(ctx, 0xc0000000, 2, false, false, 0, fd, true),
	    -ENOTSUP);
	CHECK_EQ(vm_ioeventfd(ctx, 0x6010, 2, true, true, 1, fd, true),
	    -ENOTSUP);
	/* The test hook is the null backend's alone. */
	CHECK_EQ(vm_set_ioeventfd_hook(ctx, ioev_hook, &log), -ENOTSUP);
	vm_destroy(ctx);
	close(fd);
}

/* ---- What the transport registers, and when ---- */

TEST(queue_enable_arms_its_doorbells)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	/* Decoding BARs and negotiating arm nothing: no queue is enabled. */
	drv_features(&f);
	CHECK_EQ(f.log.ncalls, 0);
	drv_queue(&f, 1, 1);
	CHECK_EQ(f.log.ncalls, 2);
	check_pair(&f, 0, true, 1);
	drv_queue(&f, 0, 0);
	CHECK_EQ(f.log.ncalls, 4);
	check_pair(&f, 2, true, 0);
	/* queue_enable again, and writes of 0 (forbidden), change nothing. */
	cw(&f, C_QSEL, 2, 0);
	cw(&f, C_QENABLE, 2, 1);
	cw(&f, C_QENABLE, 2, 0);
	cw(&f, C_STATUS, 1, S_DRIVER_OK);
	CHECK_EQ(f.log.ncalls, 4);
	CHECK_EQ(f.log.nlive, 4);
	CHECK(fx_kickfd(&f, 0) != fx_kickfd(&f, 1));
	fx_teardown(&f);
}

TEST(reset_disarms_every_queue)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	drv_ready(&f);
	REQUIRE(f.log.ncalls == 4);
	cw(&f, C_STATUS, 1, 0);
	CHECK_EQ(f.log.ncalls, 8);
	check_pair(&f, 4, false, 0);
	check_pair(&f, 6, false, 1);
	CHECK_EQ(f.log.nlive, 0);
	/* A second reset has nothing to drop; a new setup arms again. */
	cw(&f, C_STATUS, 1, 0);
	CHECK_EQ(f.log.ncalls, 8);
	drv_ready(&f);
	CHECK_EQ(f.log.ncalls, 12);
	CHECK_EQ(f.log.nlive, 4);
	fx_teardown(&f);
}

/* The legacy driver: a page frame enables, 0 disables, a new one moves. */
TEST(legacy_pfn_arms_and_disarms)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	lw(&f, L_STATUS, 1, 3);
	lw(&f, L_QSEL, 2, 1);
	lw(&f, L_PFN, 4, ring_base(1) / 4096);
	CHECK_EQ(f.log.ncalls, 2);
	check_pair(&f, 0, true, 1);
	lw(&f, L_PFN, 4, ring_base(0) / 4096);
	CHECK_EQ(f.log.ncalls, 6);
	check_pair(&f, 2, false, 1);
	check_pair(&f, 4, true, 1);
	lw(&f, L_PFN, 4, 0);
	CHECK_EQ(f.log.ncalls, 8);
	check_pair(&f, 6, false, 1);
	CHECK_EQ(f.log.nlive, 0);
	/* Status 0 with no queue enabled: nothing to drop. */
	lw(&f, L_STATUS, 1, 0);
	CHECK_EQ(f.log.ncalls, 8);
	fx_teardown(&f);
}

static uint16_t
fx_cmd(struct fx *f)
{
	return pci_get_cfgdata16(f->pi, PCIR_COMMAND);
}

/* A BAR that stops decoding takes its doorbells along; so does a move. */
TEST(bar_moves_and_decoding_follow)
{
	struct fx f;
	uint64_t old, neu = 0xc0000000ULL, moved = 0xc0100000ULL;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	drv_ready(&f);
	REQUIRE(f.log.ncalls == 4);
	old = fx_notify(&f, 0);
	REQUIRE(old != neu + VI_PCI_NOTIFY_OFF);

	/* Memory decoding off: the modern doorbells go, the port stays. */
	fake_cfg_wr(&f.bvm, SLOT, PCIR_COMMAND, 2,
	    fx_cmd(&f) & ~PCIM_CMD_MEMEN);
	CHECK_EQ(f.log.ncalls, 6);
	check_call(&f, 4, false, false, old, 0);
	check_call(&f, 5, false, false, old + VI_PCI_NOTIFY_MULT, 1);
	CHECK_EQ(f.log.nlive, 2);
	/* A new address while off: nothing; decoding on: armed there. */
	fake_cfg_wr(&f.bvm, SLOT, PCIR_BAR(VI_PCI_MODERN_BAR), 4, neu);
	CHECK_EQ(f.log.ncalls, 6);
	fake_cfg_wr(&f.bvm, SLOT, PCIR_COMMAND, 2, fx_cmd(&f) | PCIM_CMD_MEMEN);
	CHECK_EQ(f.log.ncalls, 8);
	check_call(&f, 6, true, false, neu + VI_PCI_NOTIFY_OFF, 0);
	check_call(&f, 7, true, false, neu + VI_PCI_NOTIFY_OFF + 4, 1);

	/* Moved while decoding: dropped at the old place, then re-armed. */
	fake_cfg_wr(&f.bvm, SLOT, PCIR_BAR(VI_PCI_MODERN_BAR), 4, moved);
	CHECK_EQ(f.log.ncalls, 12);
	check_call(&f, 8, false, false, neu + VI_PCI_NOTIFY_OFF, 0);
	check_call(&f, 9, false, false, neu + VI_PCI_NOTIFY_OFF + 4, 1);
	check_call(&f, 10, true, false, moved + VI_PCI_NOTIFY_OFF, 0);
	check_call(&f, 11, true, false, moved + VI_PCI_NOTIFY_OFF + 4, 1);
	CHECK_EQ(fx_notify(&f, 1), moved + VI_PCI_NOTIFY_OFF + 4);

	/* I/O decoding off and on: the legacy port alone. */
	fake_cfg_wr(&f.bvm, SLOT, PCIR_COMMAND, 2,
	    fx_cmd(&f) & ~PCIM_CMD_PORTEN);
	CHECK_EQ(f.log.ncalls, 14);
	check_call(&f, 12, false, true, fx_qnotify_port(&f), 0);
	check_call(&f, 13, false, true, fx_qnotify_port(&f), 1);
	fake_cfg_wr(&f.bvm, SLOT, PCIR_COMMAND, 2,
	    fx_cmd(&f) | PCIM_CMD_PORTEN);
	CHECK_EQ(f.log.ncalls, 16);
	check_call(&f, 14, true, true, fx_qnotify_port(&f), 0);
	check_call(&f, 15, true, true, fx_qnotify_port(&f), 1);
	CHECK_EQ(f.log.nlive, 4);

	/* A queue enabled while its BAR is off is armed when it comes on. */
	cw(&f, C_STATUS, 1, 0);
	CHECK_EQ(f.log.ncalls, 20);
	fake_cfg_wr(&f.bvm, SLOT, PCIR_COMMAND, 2,
	    fx_cmd(&f) & ~PCIM_CMD_PORTEN);
	drv_features(&f);
	drv_queue(&f, 0, 0);
	CHECK_EQ(f.log.ncalls, 21);
	check_call(&f, 20, true, false, fx_notify(&f, 0), 0);
	fake_cfg_wr(&f.bvm, SLOT, PCIR_COMMAND, 2,
	    fx_cmd(&f) | PCIM_CMD_PORTEN);
	CHECK_EQ(f.log.ncalls, 22);
	check_call(&f, 21, true, true, fx_qnotify_port(&f), 0);
	CHECK_EQ(f.log.nlive, 2);
	fx_teardown(&f);
}

/* At teardown every doorbell goes, while its eventfd is still open. */
TEST(teardown_disarms_before_closing)
{
	struct fx f;
	int fd0, fd1;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	drv_ready(&f);
	REQUIRE(f.log.ncalls == 4);
	fd0 = fx_kickfd(&f, 0);
	fd1 = fx_kickfd(&f, 1);
	fx_teardown(&f);
	CHECK_EQ(f.log.ncalls, 8);
	CHECK_EQ(f.log.nlive, 0);
	CHECK_EQ(f.log.closed, 0);
	for (int i = 4; i < 8 && i < f.log.ncalls; i++) {
		CHECK_EQ(f.log.calls[i].assign, false);
		CHECK_EQ(f.log.calls[i].ret, 0);
		CHECK_EQ(f.log.calls[i].e.fd, i < 6 ? fd0 : fd1);
	}
}

/* ---- The knobs ---- */

static int
knob_calls(const char *const *kv, int *rounds_at_once)
{
	struct fx f;
	int n;

	if (fx_setup(&f, kv) != 0 || f.init_error != 0 || f.vs == NULL)
		return -1;
	drv_ready(&f);
	n = f.log.ncalls;
	/* A notification through the exit path runs its round at once. */
	post(&f, 0);
	fake_mmio_wr(&f.bvm, fx_notify(&f, 0), 2, 0);
	*rounds_at_once = fx_dev(&f)->rounds[0];
	fx_teardown(&f);
	return n;
}

TEST(knobs_turn_it_off)
{
	static const char *const root_off[] = { "virtio.ioeventfd", "false",
		NULL };
	static const char *const dev_off[] = { "pci.0.3.0.ioeventfd", "false",
		NULL };
	static const char *const dev_on[] = { "virtio.ioeventfd", "false",
		"pci.0.3.0.ioeventfd", "true", NULL };
	int rounds = 0;

	CHECK_EQ(knob_calls(NULL, &rounds), 4);
	CHECK_EQ(rounds, 1);
	rounds = 0;
	CHECK_EQ(knob_calls(root_off, &rounds), 0);
	CHECK_EQ(rounds, 1);
	rounds = 0;
	CHECK_EQ(knob_calls(dev_off, &rounds), 0);
	CHECK_EQ(rounds, 1);
	CHECK_EQ(knob_calls(dev_on, &rounds), 4);
}

TEST(knobs_reject_bad_values)
{
	static const char *const bad_root[] = { "virtio.ioeventfd", "maybe",
		NULL };
	static const char *const bad_dev[] = { "pci.0.3.0.ioeventfd", "2",
		NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, bad_root) == 0);
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "virtio.ioeventfd 'maybe'") != NULL);
	fx_teardown(&f);
	REQUIRE(fx_setup(&f, bad_dev) == 0);
	CHECK(f.init_error != 0);
	CHECK(strstr(f.bvm.err, "0:3:0") != NULL);
	CHECK(strstr(f.bvm.err, "ioeventfd '2'") != NULL);
	fx_teardown(&f);
}

/* ---- Falling back to the exit path ---- */

/* The backend has none: asked once, then never again. */
TEST(enotsup_asks_once_then_exits)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	f.log.fail = -ENOTSUP;
	drv_ready(&f);
	CHECK_EQ(f.log.ncalls, 1);
	CHECK_EQ(f.log.calls[0].ret, -ENOTSUP);
	post(&f, 0);
	fake_mmio_wr(&f.bvm, fx_notify(&f, 0), 2, 0);
	CHECK_EQ(fx_dev(&f)->rounds[0], 1);
	CHECK_EQ(fx_dev(&f)->chains[0], 1);
	post(&f, 1);
	pio_wr(&f, fx_qnotify_port(&f), 2, 1);
	CHECK_EQ(fx_dev(&f)->chains[1], 1);
	cw(&f, C_STATUS, 1, 0);
	drv_ready(&f);
	CHECK_EQ(f.log.ncalls, 1);
	fx_teardown(&f);
	CHECK_EQ(f.log.ncalls, 1);
}

/* Another error: that doorbell stays on the exit path, never "removed". */
TEST(failed_assign_stays_on_the_exit_path)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	f.log.fail = -ENOSPC;
	drv_ready(&f);
	CHECK_EQ(f.log.ncalls, 4);
	for (int i = 0; i < 4 && i < f.log.ncalls; i++) {
		CHECK_EQ(f.log.calls[i].assign, true);
		CHECK_EQ(f.log.calls[i].ret, -ENOSPC);
	}
	post(&f, 0);
	fake_mmio_wr(&f.bvm, fx_notify(&f, 0), 2, 0);
	CHECK_EQ(fx_dev(&f)->chains[0], 1);
	cw(&f, C_STATUS, 1, 0);
	CHECK_EQ(f.log.ncalls, 4);
	/* It works again later: the next enable asks again. */
	f.log.fail = 0;
	drv_ready(&f);
	CHECK_EQ(f.log.ncalls, 8);
	CHECK_EQ(f.log.nlive, 4);
	fx_teardown(&f);
	CHECK_EQ(f.log.nlive, 0);
}

/* ---- A signal from the backend: the same round as an exit ---- */

static void
kick(int fd)
{
	uint64_t one = 1;

	CHECK_EQ(write(fd, &one, sizeof(one)), sizeof(one));
}

static void
check_round_totals(struct fx *f, int rounds, int chains, uint16_t used,
    int msis)
{
	CHECK_EQ(fx_dev(f)->rounds[0], rounds);
	CHECK_EQ(fx_dev(f)->chains[0], chains);
	CHECK_EQ(used_idx(f, 0), used);
	CHECK_EQ(f->msis, msis);
	CHECK_EQ(f->last_msi, 0x40); /* queue 0's vector */
}

/*
 * A budget of 2 descriptors a round and 5 chains: three rounds either
 * way, one interrupt each, nothing left.  Through the eventfd nothing
 * runs until the event loop does; through an exit the first round runs
 * on the notifying thread and the event loop continues it.
 */
TEST(eventfd_round_matches_exit_round)
{
	static const char *const kv[] = { "pci.0.3.0.budget", "2", NULL };
	struct fx f;

	REQUIRE(fx_setup(&f, kv) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	msix_on(&f);
	drv_ready(&f);
	REQUIRE(f.log.nlive == 4);
	for (int i = 0; i < 5; i++)
		post(&f, 0);
	kick(fx_kickfd(&f, 0));
	CHECK_EQ(fx_dev(&f)->rounds[0], 0);
	fx_pump(&f);
	check_round_totals(&f, 3, 5, 5, 3);
	CHECK(pthread_equal(fx_dev(&f)->round_thread, pthread_self()));

	for (int i = 0; i < 5; i++)
		post(&f, 0);
	fake_mmio_wr(&f.bvm, fx_notify(&f, 0), 2, 0);
	check_round_totals(&f, 4, 7, 7, 4);
	fx_pump(&f);
	check_round_totals(&f, 6, 10, 10, 6);
	fx_teardown(&f);
}

/* Signals before the event loop looks are one round; a reset eats them. */
TEST(eventfd_signals_coalesce_and_respect_reset)
{
	struct fx f;

	REQUIRE(fx_setup(&f, NULL) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	msix_on(&f);
	drv_ready(&f);
	post(&f, 0);
	kick(fx_kickfd(&f, 0));
	kick(fx_kickfd(&f, 0));
	kick(fx_kickfd(&f, 0));
	fx_pump(&f);
	check_round_totals(&f, 1, 1, 1, 1);
	/* Queue 1's eventfd runs queue 1 only (vector 1). */
	post(&f, 1);
	kick(fx_kickfd(&f, 1));
	fx_pump(&f);
	CHECK_EQ(fx_dev(&f)->chains[1], 1);
	CHECK_EQ(f.last_msi, 0x41);
	/* A doorbell rung just before a reset finds no queue: no round. */
	post(&f, 0);
	kick(fx_kickfd(&f, 0));
	cw(&f, C_STATUS, 1, 0);
	fx_pump(&f);
	CHECK_EQ(fx_dev(&f)->rounds[0], 1);
	CHECK_EQ(f.msis, 2);
	fx_teardown(&f);
}

/* ---- On KVM: the write signals, and the vCPU does not exit ---- */

#define MMIO_BELL 0xd0000000u
#define PORT_BELL 0x6010
#define MARKER_PORT 0xf4
#define CODE_GPA 0x1000

/*
 * Flat 32-bit guests (paging off, CPL 0).  A: doorbells at MMIO_BELL
 * (16 bits, any value) and PORT_BELL (16 bits, value 7), then writes
 * that must miss them: another value, other widths; a marker, after
 * which the host removes the MMIO one; the same write again; HLT.
 * B: queue 0's modern doorbell (EDI), queue 1's through the legacy port
 * (EDX) and its modern one (ESI), the marker, HLT.
 */
__asm__(".pushsection .rodata\n"
	".globl ioev_guest_a, ioev_guest_a_end\n"
	".globl ioev_guest_b, ioev_guest_b_end\n"
	".hidden ioev_guest_a, ioev_guest_a_end\n"
	".hidden ioev_guest_b, ioev_guest_b_end\n"
	".code32\n"
	"ioev_guest_a:\n"
	"	movw $7, %ax\n"
	"	movw %ax, 0xd0000000\n"
	"	movw %ax, 0xd0000000\n"
	"	movw $0x6010, %dx\n"
	"	outw %ax, %dx\n"
	"	movw $8, %ax\n"
	"	outw %ax, %dx\n"
	"	movl $5, %eax\n"
	"	movl %eax, 0xd0000000\n"
	"	movb %al, 0xd0000000\n"
	"	outb %al, $0xf4\n"
	"	movw $9, %ax\n"
	"	movw %ax, 0xd0000000\n"
	"	hlt\n"
	"ioev_guest_a_end:\n"
	"ioev_guest_b:\n"
	"	xorl %eax, %eax\n"
	"	movw %ax, (%edi)\n"
	"	movw $1, %ax\n"
	"	outw %ax, %dx\n"
	"	movw %ax, (%esi)\n"
	"	outb %al, $0xf4\n"
	"	hlt\n"
	"ioev_guest_b_end:\n"
	".code64\n"
	".popsection\n");
extern const uint8_t ioev_guest_a[], ioev_guest_a_end[];
extern const uint8_t ioev_guest_b[], ioev_guest_b_end[];

static void
set_flat32(struct vcpu *vcpu, uint32_t eip)
{
	struct seg_desc code = { .limit = 0xffffffff, .access = 0xc09b };
	struct seg_desc data = { .limit = 0xffffffff, .access = 0xc093 };
	struct seg_desc tr = { .limit = 0xff, .access = 0x8b };
	struct seg_desc ldt = { .limit = 0xffff, .access = 0x82 };
	static const int dsegs[] = { VM_REG_GUEST_DS, VM_REG_GUEST_ES,
		VM_REG_GUEST_FS, VM_REG_GUEST_GS, VM_REG_GUEST_SS };

	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_CS, &code), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_CS, 0x8), 0);
	for (size_t i = 0; i < sizeof(dsegs) / sizeof(dsegs[0]); i++) {
		CHECK_EQ(vm_set_desc(vcpu, dsegs[i], &data), 0);
		CHECK_EQ(vm_set_register(vcpu, dsegs[i], 0x10), 0);
	}
	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_TR, &tr), 0);
	CHECK_EQ(vm_set_desc(vcpu, VM_REG_GUEST_LDTR, &ldt), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_CR0, 0x11), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RFLAGS, 0x2), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RIP, eip), 0);
}

static void
load_guest(struct vmctx *ctx, const uint8_t *start, const uint8_t *end)
{
	size_t len = (size_t)(end - start);
	void *p = vm_map_gpa(ctx, CODE_GPA, len);

	if (p != NULL)
		memcpy(p, start, len);
}

/* The next exit that is not a kick. */
static int
next_exit(struct vcpu *vcpu, struct vm_exit *vme)
{
	int error;

	do
		error = vm_run(vcpu, vme);
	while (error == 0 && vme->exitcode == VM_EXITCODE_BOGUS);
	return error;
}

/* What the eventfd counted since last read (0: nothing). */
static uint64_t
drain(int fd)
{
	uint64_t n = 0;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

static void
check_mmio_write(struct vcpu *vcpu, struct vm_exit *vme, int bytes,
    uint64_t data)
{
	CHECK_EQ(next_exit(vcpu, vme), 0);
	CHECK_EQ(vme->exitcode, VM_EXITCODE_MMIO);
	CHECK_EQ(vme->u.mmio.gpa, MMIO_BELL);
	CHECK_EQ(vme->u.mmio.write, 1);
	CHECK_EQ(vme->u.mmio.bytes, bytes);
	CHECK_EQ(vme->u.mmio.data & ((1ULL << (8 * bytes)) - 1), data);
}

static void
check_stat(struct vcpu *vcpu, int stat, uint64_t want)
{
	uint64_t st[VMST_MAX] = { 0 };

	CHECK_EQ(vm_get_stats(vcpu, st, VMST_MAX), 0);
	CHECK_EQ(st[stat], want);
}

static void
kvm_guest_a_run(struct vmctx *ctx, struct vcpu *vcpu, int mfd, int pfd)
{
	struct vm_exit vme = { 0 };

	/* Nothing exits before the write of 8: three writes signalled. */
	CHECK_EQ(next_exit(vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_INOUT);
	CHECK_EQ(vme.u.inout.port, PORT_BELL);
	CHECK_EQ(vme.u.inout.eax & 0xffff, 8);
	CHECK_EQ(drain(mfd), 2);
	CHECK_EQ(drain(pfd), 1);
	check_stat(vcpu, VMST_EXIT_MMIO, 0);
	check_stat(vcpu, VMST_EXIT_INOUT, 1);
	check_mmio_write(vcpu, &vme, 4, 5);
	check_mmio_write(vcpu, &vme, 1, 5);
	CHECK_EQ(next_exit(vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_INOUT);
	CHECK_EQ(vme.u.inout.port, MARKER_PORT);
	CHECK_EQ(vm_ioeventfd(ctx, MMIO_BELL, 2, false, false, 0, mfd,
	    false), 0);
	CHECK_EQ(vm_ioeventfd(ctx, MMIO_BELL, 2, false, false, 0, mfd,
	    false), -ENOENT);
	check_mmio_write(vcpu, &vme, 2, 9);
	CHECK_EQ(drain(mfd), 0);
	CHECK_EQ(drain(pfd), 0);
	CHECK_EQ(next_exit(vcpu, &vme), 0);
	CHECK_EQ(vme.exitcode, VM_EXITCODE_SUSPENDED);
	check_stat(vcpu, VMST_EXIT_MMIO, 3);
	check_stat(vcpu, VMST_EXIT_INOUT, 2);
}

TEST(kvm_doorbells_signal_without_exits)
{
	int mfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int pfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct vmctx *ctx;
	struct vcpu *vcpu;

	if (!test_have_kvm()) {
		printf("SKIP kvm_doorbells_signal_without_exits: no /dev/kvm\n");
		close(mfd);
		close(pfd);
		return;
	}
	ctx = vm_create("t-ioev-kvm", VMM_BACKEND_KVM, NULL);
	REQUIRE(ctx != NULL && mfd >= 0 && pfd >= 0);
	REQUIRE(vm_setup_memory(ctx, 16 * MiB) == 0);
	vcpu = vm_vcpu_open(ctx, 0);
	REQUIRE(vcpu != NULL);
	load_guest(ctx, ioev_guest_a, ioev_guest_a_end);
	set_flat32(vcpu, CODE_GPA);
	REQUIRE(vm_ioeventfd(ctx, MMIO_BELL, 2, false, false, 0, mfd,
	    true) == 0);
	REQUIRE(vm_ioeventfd(ctx, PORT_BELL, 2, true, true, 7, pfd, true) ==
	    0);
	CHECK_EQ(vm_ioeventfd(ctx, PORT_BELL, 2, true, true, 7, pfd, true),
	    -EEXIST);
	/* The hook is for the null backend only. */
	CHECK_EQ(vm_set_ioeventfd_hook(ctx, ioev_hook, NULL), -ENOTSUP);
	kvm_guest_a_run(ctx, vcpu, mfd, pfd);
	CHECK_EQ(vm_ioeventfd(ctx, PORT_BELL, 2, true, true, 7, pfd, false),
	    0);
	vm_destroy(ctx);
	close(mfd);
	close(pfd);
}

/* Run vCPU 0 through the device model up to the marker port write. */
static int
kvm_run_to_marker(struct fx *f, struct vcpu *vcpu)
{
	struct vm_exit vme = { 0 };

	for (int i = 0; i < 64; i++) {
		if (vm_run(vcpu, &vme) != 0)
			return -1;
		if (vme.exitcode == VM_EXITCODE_INOUT &&
		    vme.u.inout.port == MARKER_PORT)
			return 0;
		if (vmexit_handle(&f->bvm, vcpu, &vme) != VMEXIT_CONTINUE)
			return -1;
	}
	return -1;
}

/*
 * Guest B against vbell on KVM.  'exits': whether the doorbells should
 * come to the device model as exits (ioeventfd off) or not at all.
 */
static void
kvm_virtio_doorbells(const char *const *kv, bool exits)
{
	struct fx f;
	struct vcpu *vcpu;

	REQUIRE(fx_setup_on(&f, VMM_BACKEND_KVM, kv) == 0);
	REQUIRE(f.init_error == 0 && f.vs != NULL);
	drv_ready(&f);
	post(&f, 0);
	post(&f, 1);
	post(&f, 1);
	vcpu = vm_vcpu_open(f.bvm.ctx, 0);
	REQUIRE(vcpu != NULL);
	load_guest(f.bvm.ctx, ioev_guest_b, ioev_guest_b_end);
	set_flat32(vcpu, CODE_GPA);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RDI, fx_notify(&f, 0)), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RSI, fx_notify(&f, 1)), 0);
	CHECK_EQ(vm_set_register(vcpu, VM_REG_GUEST_RDX,
	    fx_qnotify_port(&f)), 0);
	CHECK_EQ(kvm_run_to_marker(&f, vcpu), 0);
	check_stat(vcpu, VMST_EXIT_MMIO, exits ? 2 : 0);
	check_stat(vcpu, VMST_EXIT_INOUT, exits ? 2 : 1);
	/* Through exits the rounds ran on the vCPU; else nothing yet. */
	CHECK_EQ(fx_dev(&f)->rounds[0], exits ? 1 : 0);
	CHECK_EQ(fx_dev(&f)->rounds[1], exits ? 2 : 0);
	fx_pump(&f);
	/* Two signals on queue 1's eventfd before the loop looked: one. */
	CHECK_EQ(fx_dev(&f)->rounds[0], 1);
	CHECK_EQ(fx_dev(&f)->rounds[1], exits ? 2 : 1);
	CHECK_EQ(fx_dev(&f)->chains[0], 1);
	CHECK_EQ(fx_dev(&f)->chains[1], 2);
	CHECK_EQ(used_idx(&f, 0), 1);
	CHECK_EQ(used_idx(&f, 1), 2);
	fx_teardown(&f);
}

TEST(kvm_virtio_doorbells_skip_the_exit)
{
	static const char *const off[] = { "pci.0.3.0.ioeventfd", "false",
		NULL };

	if (!test_have_kvm()) {
		printf("SKIP kvm_virtio_doorbells_skip_the_exit: no /dev/kvm\n");
		return;
	}
	kvm_virtio_doorbells(NULL, false);
	kvm_virtio_doorbells(off, true);
}

TEST_MAIN(TEST_ENTRY(vm_ioeventfd_checks_arguments)
    TEST_ENTRY(vtx_has_no_ioeventfds)
    TEST_ENTRY(queue_enable_arms_its_doorbells)
    TEST_ENTRY(reset_disarms_every_queue)
    TEST_ENTRY(legacy_pfn_arms_and_disarms)
    TEST_ENTRY(bar_moves_and_decoding_follow)
    TEST_ENTRY(teardown_disarms_before_closing)
    TEST_ENTRY(knobs_turn_it_off)
    TEST_ENTRY(knobs_reject_bad_values)
    TEST_ENTRY(enotsup_asks_once_then_exits)
    TEST_ENTRY(failed_assign_stays_on_the_exit_path)
    TEST_ENTRY(eventfd_round_matches_exit_round)
    TEST_ENTRY(eventfd_signals_coalesce_and_respect_reset)
    TEST_ENTRY(kvm_doorbells_signal_without_exits)
    TEST_ENTRY(kvm_virtio_doorbells_skip_the_exit))
