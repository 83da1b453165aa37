/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a virtio notification costs on the kvm backend, with the doorbell
 * taken as an exit to the device model and as an ioeventfd (KVM signals
 * the queue's eventfd, the event loop runs the round).  A real guest on
 * KVM drives two transitional no-op virtio devices, one per path, at
 * CPL 3 in long mode (where this platform runs guest code natively, so
 * the figures are the doorbell's and not emulated instructions'), through
 * the modern notify address (MMIO) and the legacy QUEUE_NOTIFY port:
 *
 *   doorbell   the vCPU rings N times with nothing queued: its time per
 *              ring, exits per ring (vmm statistics), rounds per ring
 *   request    post one chain, ring, spin until it is used, N times: the
 *              latency of one request through the device and back
 *
 *   vnotify [N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bhyverun.h"
#include "config.h"
#include "iomem.h"
#include "mevent.h"
#include "pci_emul.h"
#include "virtio.h"
#include "vmexit.h"
#include "vmmapi.h"

#define RAM (16ULL << 20)
#define CODE_GPA 0x1000ULL
#define PML4_GPA 0x2000ULL
#define PDPT_GPA 0x3000ULL
#define PD_GPA 0x4000ULL	/* four of them: 0-4 GiB in 2 MiB pages */
#define TSS_GPA 0x10000ULL
#define TSS_IOMAP 0x68		/* the I/O bitmap, all ports allowed */
#define TSS_LIMIT (TSS_IOMAP + 0x2000)
#define RINGS_GPA 0x100000ULL	/* device i's rings at + i * 64 KiB */
#define BUF_GPA 0x200000ULL
#define QSZ 256
#define MARKER_PORT 0xf4
#define ROUNDS 5

/*
 * The guest loops, 64-bit.  In: ECX count, R10D 0 for MMIO (address in
 * RDI) or 1 for the port (DX), AX 0 (queue 0, what the legacy doorbell
 * matches); the request loop also RSI = &avail->idx, RBX = &used->idx,
 * R9W = used->idx now.  Both end with a write to MARKER_PORT.
 */
__asm__(".pushsection .rodata\n"
	".globl vn_bell, vn_bell_end, vn_req, vn_req_end\n"
	".hidden vn_bell, vn_bell_end, vn_req, vn_req_end\n"
	"vn_bell:\n"
	"1:	testl %r10d, %r10d\n"
	"	jnz 2f\n"
	"	movw %ax, (%rdi)\n"
	"	jmp 3f\n"
	"2:	outw %ax, %dx\n"
	"3:	decl %ecx\n"
	"	jnz 1b\n"
	"	outb %al, $0xf4\n"
	"4:	jmp 4b\n"
	"vn_bell_end:\n"
	"vn_req:\n"
	"1:	incw (%rsi)\n"
	"	incw %r9w\n"
	"	testl %r10d, %r10d\n"
	"	jnz 2f\n"
	"	movw %ax, (%rdi)\n"
	"	jmp 3f\n"
	"2:	outw %ax, %dx\n"
	"3:	cmpw %r9w, (%rbx)\n"
	"	jne 3b\n"
	"	decl %ecx\n"
	"	jnz 1b\n"
	"	outb %al, $0xf4\n"
	"4:	jmp 4b\n"
	"vn_req_end:\n"
	".popsection\n");
extern const uint8_t vn_bell[], vn_bell_end[], vn_req[], vn_req_end[];

/* ---- vnop: a virtio device that returns every chain at once ---- */

struct vnop {
	struct virtio_softc vs;
	struct vqueue_info vq;
	uint64_t rounds;
};

static void
vnop_notify(void *dev, struct vqueue_info *vq)
{
	struct vnop *n = dev;
	struct iovec iov[4];
	struct vi_req req;

	n->rounds++;
	while (vq_getchain(vq, iov, 4, &req) > 0)
		vq_relchain(vq, req.idx, 0);
	vq_endchains(vq);
}

static const struct virtio_consts vnop_consts = {
	.vc_name = "vnop", .vc_devtype = VIRTIO_ID_ENTROPY,
	.vc_class = 0xff0000, .vc_nvq = 1, .vc_qnotify = vnop_notify,
};

static int
vnop_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct vnop *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return -1;
	n->vq.vq_qsize_max = QSZ;
	vi_softc_linkup(&n->vs, &vnop_consts, n, pi, &n->vq);
	if (vi_pci_init(&n->vs, nvl) != 0) {
		free(n);
		return -1;
	}
	return 0;
}

static void
vnop_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;

	vi_pci_destroy(vs);
	free(vs->vs_dev);
}

static const struct pci_devemu vnop_emu = {
	.pe_emu = "vnop", .pe_init = vnop_init, .pe_destroy = vnop_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};

/* No interrupt reaches the guest (NO_INTERRUPT), and none is wanted. */
static int
vn_msi(void *arg, uint64_t addr, uint64_t data)
{
	return 0;
}

static int
vn_line(void *arg, int a, int b)
{
	return 0;
}

static int
vn_pin(void *arg, int pin)
{
	return 0;
}

static const struct pci_intr_ops vn_intr = {
	.isa_assert = vn_line, .isa_deassert = vn_line,
	.ioapic_assert = vn_pin, .ioapic_deassert = vn_pin, .msi = vn_msi,
};

/* ---- The VM ---- */

struct vdev {
	struct pci_devinst *pi;
	struct vnop *nop;
	uint64_t notify;	/* queue 0's modern doorbell */
	uint16_t port;		/* the legacy QUEUE_NOTIFY port */
	uint64_t rings;
};

struct vn {
	struct bhyve_vm bvm;
	struct vcpu *vcpu;
	uint8_t *ram;
	pthread_t loop;
	struct vdev dev[2];	/* [0]: ioeventfd, [1]: exits */
};

static void
vn_mmio(struct vn *v, uint64_t addr, int size, uint64_t val)
{
	if (io_dispatch(v->bvm.mmio, NULL, true, addr, size, &val) != 0) {
		fprintf(stderr, "vnotify: MMIO write at 0x%llx failed\n",
		    (unsigned long long)addr);
		exit(1);
	}
}

/*
 * The driver's side, from the host: VERSION_1, queue 0 of QSZ with every
 * available entry naming descriptor 0 (a 16-byte writable buffer) and
 * VRING_AVAIL_F_NO_INTERRUPT, DRIVER_OK.
 */
static void
vn_driver(struct vn *v, struct vdev *d)
{
	uint64_t c = d->pi->pi_bar[VI_PCI_MODERN_BAR].addr;
	uint64_t desc = d->rings, avail = desc + 0x1000, used = desc + 0x3000;
	struct vring_desc d0 = { .addr = BUF_GPA, .len = 16,
		.flags = VRING_DESC_F_WRITE };
	uint16_t flags = VRING_AVAIL_F_NO_INTERRUPT;
	static const struct { uint64_t off; int size; uint64_t v; } seq[] = {
		{ 0x14, 1, 0 }, { 0x14, 1, 3 }, { 0x08, 4, 1 }, { 0x0c, 4, 1 },
		{ 0x14, 1, 0xb }, { 0x16, 2, 0 }, { 0x18, 2, QSZ },
	};

	memset(v->ram + desc, 0, 0x10000);
	memcpy(v->ram + desc, &d0, sizeof(d0));
	memcpy(v->ram + avail, &flags, 2);
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		vn_mmio(v, c + seq[i].off, seq[i].size, seq[i].v);
	vn_mmio(v, c + 0x20, 8, desc);
	vn_mmio(v, c + 0x28, 8, avail);
	vn_mmio(v, c + 0x30, 8, used);
	vn_mmio(v, c + 0x1c, 2, 1);
	vn_mmio(v, c + 0x14, 1, 0xf);
	d->notify = c + VI_PCI_NOTIFY_OFF;
	d->port = (uint16_t)(d->pi->pi_bar[0].addr + 0x10);
}

/* Identity map 0-4 GiB, user-accessible, in 2 MiB pages. */
static void
vn_page_tables(uint8_t *ram)
{
	uint64_t e = PDPT_GPA | 7;

	memcpy(ram + PML4_GPA, &e, 8);
	for (uint64_t g = 0; g < 4; g++) {
		e = (PD_GPA + 0x1000 * g) | 7;
		memcpy(ram + PDPT_GPA + 8 * g, &e, 8);
		for (uint64_t i = 0; i < 512; i++) {
			e = ((g << 30) + (i << 21)) | 0x87;
			memcpy(ram + PD_GPA + 0x1000 * g + 8 * i, &e, 8);
		}
	}
}

/*
 * 64-bit code at CPL 3 with IOPL 3, and a TSS whose I/O bitmap allows
 * every port as well: KVM here checks the bitmap at CPL 3 although IOPL
 * allows the access, and a port past the TSS limit then faults.
 */
static int
vn_user_mode(struct vcpu *vcpu, uint8_t *ram)
{
	struct seg_desc code = { .limit = 0xffffffff, .access = 0xa0fb };
	struct seg_desc data = { .limit = 0xffffffff, .access = 0xc0f3 };
	struct seg_desc tr = { .base = TSS_GPA, .limit = TSS_LIMIT,
		.access = 0x8b };
	uint16_t iomap = TSS_IOMAP;
	struct seg_desc ldt = { .limit = 0xffff, .access = 0x82 };
	static const int dsegs[] = { VM_REG_GUEST_DS, VM_REG_GUEST_ES,
		VM_REG_GUEST_FS, VM_REG_GUEST_GS, VM_REG_GUEST_SS };
	int error = vm_set_desc(vcpu, VM_REG_GUEST_CS, &code) |
	    vm_set_register(vcpu, VM_REG_GUEST_CS, 0x1b) |
	    vm_set_desc(vcpu, VM_REG_GUEST_TR, &tr) |
	    vm_set_desc(vcpu, VM_REG_GUEST_LDTR, &ldt) |
	    vm_set_register(vcpu, VM_REG_GUEST_CR3, PML4_GPA) |
	    vm_set_register(vcpu, VM_REG_GUEST_CR4, 0x20) |
	    vm_set_register(vcpu, VM_REG_GUEST_EFER, 0x500) |
	    vm_set_register(vcpu, VM_REG_GUEST_CR0, 0x80000011) |
	    vm_set_register(vcpu, VM_REG_GUEST_RFLAGS, 0x3002);

	memset(ram + TSS_GPA, 0, TSS_LIMIT + 1);
	memcpy(ram + TSS_GPA + 0x66, &iomap, 2);
	ram[TSS_GPA + TSS_LIMIT] = 0xff; /* the bitmap's end marker */
	for (size_t i = 0; i < sizeof(dsegs) / sizeof(dsegs[0]); i++)
		error |= vm_set_desc(vcpu, dsegs[i], &data) |
		    vm_set_register(vcpu, dsegs[i], 0x23);
	return error;
}

static void *
vn_event_loop(void *arg)
{
	struct vn *v = arg;

	if (mevent_dispatch(v->bvm.mev) != 0)
		fprintf(stderr, "vnotify: event loop failed\n");
	return NULL;
}

static int
vn_config(struct config_node *cfg)
{
	return config_set(cfg, "pci.0.0.0.device", "hostbridge") |
	    config_set(cfg, "pci.0.3.0.device", "vnop") |
	    config_set(cfg, "pci.0.3.0.ioeventfd", "true") |
	    config_set(cfg, "pci.0.4.0.device", "vnop") |
	    config_set(cfg, "pci.0.4.0.ioeventfd", "false");
}

static int
vn_devices(struct vn *v)
{
	static const struct pci_devemu *const emus[] = { &vnop_emu };
	struct pci_emul_opts o = { .extra = emus, .nextra = 1,
		.intr_ops = &vn_intr };

	if (pci_emul_init_opts(&v->bvm, &o) != 0) {
		fprintf(stderr, "vnotify: %s\n", v->bvm.err);
		return -1;
	}
	for (struct pci_devinst *pi = pci_next(&v->bvm, NULL); pi != NULL;
	    pi = pci_next(&v->bvm, pi)) {
		int i = pi->pi_slot - 3;

		if (i < 0 || i > 1)
			continue;
		v->dev[i].pi = pi;
		v->dev[i].nop = ((struct virtio_softc *)pi->pi_arg)->vs_dev;
		v->dev[i].rings = RINGS_GPA + 0x10000 * (uint64_t)i;
		vn_driver(v, &v->dev[i]);
	}
	return v->dev[0].pi && v->dev[1].pi ? 0 : -1;
}

static int
vn_setup(struct vn *v)
{
	memset(v, 0, sizeof(*v));
	v->bvm.ncpus = 1;
	v->bvm.cfg = config_new();
	v->bvm.mev = mevent_create();
	v->bvm.ports = io_registry_create(0x10000);
	v->bvm.mmio = io_registry_create(UINT64_MAX);
	v->bvm.ctx = vm_create("bench-vnotify", VMM_BACKEND_KVM, NULL);
	if (!v->bvm.cfg || !v->bvm.mev || !v->bvm.ports || !v->bvm.mmio ||
	    !v->bvm.ctx || vm_setup_memory(v->bvm.ctx, RAM) != 0 ||
	    vn_config(v->bvm.cfg) != 0)
		return -1;
	v->ram = vm_map_gpa(v->bvm.ctx, 0, RAM);
	v->vcpu = vm_vcpu_open(v->bvm.ctx, 0);
	if (v->ram == NULL || v->vcpu == NULL || vn_devices(v) != 0)
		return -1;
	vn_page_tables(v->ram);
	if (vn_user_mode(v->vcpu, v->ram) != 0)
		return -1;
	return pthread_create(&v->loop, NULL, vn_event_loop, v) == 0 ? 0 : -1;
}

static void
vn_teardown(struct vn *v)
{
	mevent_stop(v->bvm.mev);
	pthread_join(v->loop, NULL);
	pci_emul_destroy(&v->bvm);
	mevent_destroy(v->bvm.mev);
	io_registry_destroy(v->bvm.ports);
	io_registry_destroy(v->bvm.mmio);
	config_free(v->bvm.cfg);
	vm_destroy(v->bvm.ctx);
}

/* ---- Runs ---- */

struct vn_case {
	const char *name;
	int dev;	/* 0: ioeventfd, 1: exits */
	bool port;	/* the legacy doorbell, else the modern one */
	bool req;	/* request round trips, else bare doorbells */
};

struct vn_result {
	double ns, exits, rounds;
};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t
vn_exits(struct vn *v)
{
	uint64_t st[VMST_MAX] = { 0 };

	return vm_get_stats(v->vcpu, st, VMST_MAX) == 0 ? st[VMST_EXITS] : 0;
}

/* The registers vn_bell and vn_req take, and the code at CODE_GPA. */
static int
vn_load(struct vn *v, const struct vn_case *c, uint32_t n)
{
	const struct vdev *d = &v->dev[c->dev];
	const uint8_t *start = c->req ? vn_req : vn_bell;
	const uint8_t *end = c->req ? vn_req_end : vn_bell_end;
	uint16_t used;
	static const int regs[] = { VM_REG_GUEST_RIP, VM_REG_GUEST_RCX,
		VM_REG_GUEST_R10, VM_REG_GUEST_RAX, VM_REG_GUEST_RDI,
		VM_REG_GUEST_RDX, VM_REG_GUEST_RSI, VM_REG_GUEST_RBX,
		VM_REG_GUEST_R9 };
	uint64_t vals[9] = { CODE_GPA, n, c->port, 0, d->notify, d->port,
		d->rings + 0x1000 + 2, d->rings + 0x3000 + 2 };

	memcpy(v->ram + CODE_GPA, start, (size_t)(end - start));
	memcpy(&used, v->ram + d->rings + 0x3000 + 2, 2);
	vals[8] = used;
	return vm_set_register_set(v->vcpu, 9, regs, vals);
}

/* Run to the marker; the device model takes every other exit. */
static int
vn_run_to_marker(struct vn *v)
{
	struct vm_exit vme = { 0 };

	for (;;) {
		if (vm_run(v->vcpu, &vme) != 0)
			return -1;
		if (vme.exitcode == VM_EXITCODE_INOUT &&
		    vme.u.inout.port == MARKER_PORT)
			return 0;
		if (vmexit_handle(&v->bvm, v->vcpu, &vme) != VMEXIT_CONTINUE)
			return -1;
	}
}

static int
vn_run(struct vn *v, const struct vn_case *c, uint32_t n,
    struct vn_result *r)
{
	struct vnop *nop = v->dev[c->dev].nop;
	uint64_t e0, r0;
	double t0;

	if (vn_load(v, c, n) != 0)
		return -1;
	e0 = vn_exits(v);
	r0 = __atomic_load_n(&nop->rounds, __ATOMIC_RELAXED);
	t0 = now_ns();
	if (vn_run_to_marker(v) != 0)
		return -1;
	r->ns = (now_ns() - t0) / n;
	/* The marker's exit is not a notification's. */
	r->exits = (double)(vn_exits(v) - e0 - 1) / n;
	/* Rounds on the event loop may still be running: let them land. */
	vi_lock(&nop->vs);
	r->rounds = (double)(nop->rounds - r0) / n;
	vi_unlock(&nop->vs);
	return 0;
}

static int
cmp_result(const void *a, const void *b)
{
	double x = ((const struct vn_result *)a)->ns;
	double y = ((const struct vn_result *)b)->ns;

	return (x > y) - (x < y);
}

static const struct vn_case vn_cases[] = {
	{ "doorbell  modern MMIO  exit", 1, false, false },
	{ "doorbell  modern MMIO  ioeventfd", 0, false, false },
	{ "doorbell  legacy port  exit", 1, true, false },
	{ "doorbell  legacy port  ioeventfd", 0, true, false },
	{ "request   modern MMIO  exit", 1, false, true },
	{ "request   modern MMIO  ioeventfd", 0, false, true },
	{ "request   legacy port  exit", 1, true, true },
	{ "request   legacy port  ioeventfd", 0, true, true },
};
#define VN_NCASES (sizeof(vn_cases) / sizeof(vn_cases[0]))

int
main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 10000;
	struct vn_result res[VN_NCASES][ROUNDS];
	struct vn v;

	if (n == 0 || vn_setup(&v) != 0) {
		fprintf(stderr, "vnotify: cannot set up a KVM VM: %s\n",
		    strerror(errno));
		return 1;
	}
	/* Interleaved, so that drift on the host hits every case alike. */
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < VN_NCASES; i++)
			if (vn_run(&v, &vn_cases[i], n, &res[i][r]) != 0) {
				fprintf(stderr, "vnotify: %s: run failed\n",
				    vn_cases[i].name);
				return 1;
			}
	printf("virtio notifications on kvm, %u per run, %d runs (medians)\n",
	    n, ROUNDS);
	printf("%-34s %10s %12s %12s\n", "", "ns each", "exits each",
	    "rounds each");
	for (size_t i = 0; i < VN_NCASES; i++) {
		qsort(res[i], ROUNDS, sizeof(res[i][0]), cmp_result);
		printf("%-34s %10.0f %12.3f %12.3f\n", vn_cases[i].name,
		    res[i][ROUNDS / 2].ns, res[i][ROUNDS / 2].exits,
		    res[i][ROUNDS / 2].rounds);
	}
	vn_teardown(&v);
	return 0;
}
