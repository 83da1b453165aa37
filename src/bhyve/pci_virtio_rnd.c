/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-rnd, the entropy device (virtio spec v1.2, 5.4; bhyve's
 * pci_virtio_rnd.c): one request queue of device-writable buffers that
 * the device fills from getrandom(2).  No features, no configuration.
 *
 *   -s N,virtio-rnd[,legacy=false]
 *
 * The queue is served on the thread that takes the notification (a vCPU
 * or, for a round continued after its budget, the event loop).  Work is
 * bounded: at most VTRND_CHAIN_BYTES go into one chain, which the spec
 * allows ("one or more random bytes", 5.4.6), and a round takes at most
 * VTRND_ROUND_DESCS descriptors' worth of chains, so one notification
 * costs at most 16 x 4 KiB = 64 KiB of getrandom(); what is left waits
 * for the next round, which the core schedules.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "virtio.h"

#define VTRND_RINGSZ 64
#define VTRND_MAXSEGS VTRND_RINGSZ	/* any chain the queue can hold */
#define VTRND_CHAIN_BYTES 4096
#define VTRND_ROUND_DESCS 16
#define VTRND_CLASS 0xff0000		/* PCI "other" (as QEMU has it) */

struct pci_vtrnd_softc {
	struct virtio_softc vrsc_vs;
	struct vqueue_info vrsc_vq;
};

/* Up to 'len' random bytes at 'buf'; how many were written. */
static size_t
pci_vtrnd_random(void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((uint8_t *)buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

/* Fill the writable buffers in order, up to 'max' bytes in all. */
static uint32_t
pci_vtrnd_fill(struct iovec *iov, int n, size_t max)
{
	size_t total = 0;

	for (int i = 0; i < n && total < max; i++) {
		size_t want = iov[i].iov_len < max - total ?
		    iov[i].iov_len : max - total;
		size_t got = want ? pci_vtrnd_random(iov[i].iov_base, want) : 0;

		total += got;
		if (got < want)
			break;
	}
	return (uint32_t)total;
}

/*
 * Device-readable buffers have no meaning here (the driver must not
 * post any, 5.4.6.1): they are skipped, not read.
 */
static void
pci_vtrnd_notify(void *dev, struct vqueue_info *vq)
{
	struct iovec iov[VTRND_MAXSEGS];
	struct vi_req req;

	while (vq_getchain(vq, iov, VTRND_MAXSEGS, &req) > 0)
		vq_relchain(vq, req.idx, pci_vtrnd_fill(iov + req.readable,
		    req.writable, VTRND_CHAIN_BYTES));
	vq_endchains(vq);
}

static const struct virtio_consts pci_vtrnd_vi_consts = {
	.vc_name = "virtio-rnd",
	.vc_devtype = VIRTIO_ID_ENTROPY,
	.vc_class = VTRND_CLASS,
	.vc_nvq = 1,
	.vc_cfgsize = 0,
	.vc_round_budget = VTRND_ROUND_DESCS,
	.vc_qnotify = pci_vtrnd_notify,
};

static int
pci_vtrnd_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct pci_vtrnd_softc *sc;
	uint8_t probe;

	/* Fail at start-up, not in the guest, if there is no getrandom(). */
	if (getrandom(&probe, 1, GRND_NONBLOCK) < 0 && errno == ENOSYS)
		return pci_emul_error(pi, "getrandom: %s", strerror(errno));
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return pci_emul_error(pi, "out of memory");
	sc->vrsc_vq.vq_qsize_max = VTRND_RINGSZ;
	vi_softc_linkup(&sc->vrsc_vs, &pci_vtrnd_vi_consts, sc, pi,
	    &sc->vrsc_vq);
	if (vi_pci_init(&sc->vrsc_vs, nvl) != 0) {
		pi->pi_arg = NULL;
		free(sc);
		return -1;
	}
	return 0;
}

static void
pci_vtrnd_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;

	if (vs == NULL)
		return;
	vi_pci_destroy(vs);
	free(vs->vs_dev);
	pi->pi_arg = NULL;
}

const struct pci_devemu pci_de_virtio_rnd = {
	.pe_emu = "virtio-rnd",
	.pe_init = pci_vtrnd_init,
	.pe_destroy = pci_vtrnd_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};
