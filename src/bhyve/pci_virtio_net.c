/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-net, the network card (virtio spec v1.2, 5.1; bhyve's
 * pci_virtio_net.c), on the backends of net_backends.c:
 *
 *   -s N,virtio-net,BACKEND[,mac=xx:xx:xx:xx:xx:xx][,mtu=N][,type=tap]
 *       [,hostfwd=...][,open=true][,legacy=false]
 *
 * One queue pair: receiveq1 (0) and transmitq1 (1).  No control queue
 * (VIRTIO_NET_F_CTRL_VQ is not offered): the device filters nothing, so
 * promiscuous and multicast modes need no commands, and there is one
 * queue pair and one MAC.  Features: MAC (mac= or bhyve's default from
 * the VM's name and the slot), STATUS (the link is always up), MTU (mtu=,
 * default 1500), MRG_RXBUF, and the checksum and segmentation offloads
 * the backend can carry (a tap with IFF_VNET_HDR; slirp and loopback
 * carry none, so the guest checksums and segments itself).
 *
 * Transmit runs on the thread that takes the queue's notification (a
 * vCPU, or the event loop when the core continues a round whose budget
 * ran out), VTNET_ROUND_DESCS descriptors per round.  Each frame is
 * checked before it goes anywhere: its header whole (split across
 * descriptors or not, 2.6.4), flags and GSO type agreed on, its size
 * within the MTU (or 64 KiB with TSO); a bad frame is dropped and its
 * chain returned.
 *
 * Receive runs on the event loop when the backend has a frame, and on the
 * receive queue's notification (the guest posted buffers): at most
 * VTNET_RX_BATCH frames per call.  With no buffers for the next frame the
 * device keeps it and stops reading the backend until the guest posts
 * some (flow control, not a drop).  A frame is written only into the
 * writable buffers of the chains taken for it and only as far as their
 * lengths go; with MRG_RXBUF it may span several chains (5.1.6.4).
 *
 * Locking: everything runs under the device's lock (vs_mtx); the
 * backend's own lock (slirp) is taken after it, never before.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "net_backends.h"
#include "net_utils.h"
#include "virtio.h"

#define VTNET_RINGSZ 1024
#define VTNET_MAXSEGS 256	/* buffers in one chain (more: NEEDS_RESET) */
#define VTNET_ROUND_DESCS 512	/* descriptors per notification round */
#define VTNET_RX_BATCH 128	/* frames per receive call */
#define VTNET_MIN_MTU 68	/* 5.1.4.1: mtu at least 68 */
#define VTNET_MAX_MTU 65535
#define VTNET_DEF_MTU 1500
#define VTNET_CLASS 0x020000	/* network, Ethernet */

#define VTNET_RXQ 0
#define VTNET_TXQ 1
#define VTNET_NQ 2

#define VIRTIO_NET_S_LINK_UP 1

/* The device configuration (5.1.4) up to mtu, little-endian. */
#define VTNET_CFG_MAC 0
#define VTNET_CFG_STATUS 6
#define VTNET_CFG_MAXQP 8
#define VTNET_CFG_MTU 10
#define VTNET_CFGSIZE 12

/* A frame without GSO: the MTU, the Ethernet header and a VLAN tag. */
#define VTNET_FRAME_MAX(mtu) ((size_t)(mtu) + NET_ETHER_HDR_LEN + \
	NET_VLAN_TAG_LEN)

#define VTNET_HOSTCAPS (VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | \
	VIRTIO_NET_F_MTU | VIRTIO_NET_F_MRG_RXBUF)

struct pci_vtnet_stats {
	uint64_t tx_frames, tx_drops, tx_errors;
	uint64_t rx_frames, rx_drops;
};

struct pci_vtnet_softc {
	struct virtio_softc vsc_vs;
	struct vqueue_info vsc_queues[VTNET_NQ];
	struct virtio_consts vsc_consts; /* offloads: the backend's */
	struct net_backend *vsc_be;
	uint8_t vsc_cfg[VTNET_CFGSIZE];
	unsigned vsc_mtu;
	uint64_t vsc_features;	/* what the driver agreed on */
	size_t vsc_hdrlen;	/* the guest's virtio_net_hdr: 10 or 12 */
	bool vsc_merge;		/* MRG_RXBUF */
	struct pci_vtnet_stats vsc_stats;
};

/* What receiving one frame came to. */
enum pci_vtnet_rx_result {
	VTNET_RX_DONE,		/* delivered, or dropped: take the next */
	VTNET_RX_NOBUFS,	/* no room yet: keep it, stop reading */
	VTNET_RX_ERROR,		/* the device needs a reset */
};

/* ---- iovec helpers: any arrangement of buffers (2.6.4) ---- */

/* Copy up to 'len' bytes at offset 'off' of the iovec out to 'dst'. */
static size_t
pci_vtnet_iov_read(const struct iovec *iov, int n, size_t off, void *dst,
    size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;

		if (off >= l) {
			off -= l;
			continue;
		}
		c = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)iov[i].iov_base + off,
		    c);
		done += c;
		off = 0;
	}
	return done;
}

/* Copy up to 'len' bytes into the iovec at offset 'off'. */
static size_t
pci_vtnet_iov_write(const struct iovec *iov, int n, size_t off,
    const void *src, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;

		if (off >= l) {
			off -= l;
			continue;
		}
		c = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)iov[i].iov_base + off,
		    (const uint8_t *)src + done, c);
		done += c;
		off = 0;
	}
	return done;
}

/* The iovec from offset 'off' on, into out[] (at most 'max' entries). */
static int
pci_vtnet_iov_skip(const struct iovec *iov, int n, size_t off,
    struct iovec *out, int max)
{
	int k = 0;

	for (int i = 0; i < n && k < max; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		out[k++] = (struct iovec){
			.iov_base = (uint8_t *)iov[i].iov_base + off,
			.iov_len = l - off };
		off = 0;
	}
	return k;
}

/* ---- Features and configuration ---- */

/*
 * 5.1.3.1: the offloads that depend on others.  A modern driver that
 * asks for one without what it needs is refused (no FEATURES_OK).
 */
static bool
pci_vtnet_features_ok(uint64_t f)
{
	uint64_t gtso = VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6;
	uint64_t htso = VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6;

	if ((f & (gtso | VIRTIO_NET_F_GUEST_UFO)) &&
	    !(f & VIRTIO_NET_F_GUEST_CSUM))
		return false;
	if ((f & VIRTIO_NET_F_GUEST_ECN) && !(f & gtso))
		return false;
	if ((f & (htso | VIRTIO_NET_F_HOST_UFO)) && !(f & VIRTIO_NET_F_CSUM))
		return false;
	if ((f & VIRTIO_NET_F_HOST_ECN) && !(f & htso))
		return false;
	return true;
}

/*
 * The header is 12 bytes with VERSION_1 (5.1.6) or, for a legacy driver,
 * with MRG_RXBUF; 10 otherwise.  A legacy driver cannot be refused: the
 * offloads of an inconsistent set are dropped instead.
 */
static int
pci_vtnet_apply_features(void *dev, uint64_t f)
{
	struct pci_vtnet_softc *sc = dev;
	bool modern = (f & VIRTIO_F_VERSION_1) != 0;

	if (!pci_vtnet_features_ok(f)) {
		if (modern)
			return -1;
		f &= ~NETBE_OFFLOAD_CAPS;
	}
	if (netbe_set_cap(sc->vsc_be, f) != 0)
		return -1;
	sc->vsc_features = f;
	sc->vsc_merge = (f & VIRTIO_NET_F_MRG_RXBUF) != 0;
	sc->vsc_hdrlen = modern || sc->vsc_merge ?
	    sizeof(struct virtio_net_hdr) : VIRTIO_NET_HDR_LEGACY_LEN;
	return 0;
}

/*
 * Reset (2.4): no features, the legacy header, receive off until the
 * guest posts buffers again.  A frame the backend holds stays held; it is
 * checked against the new features when it is delivered.
 */
static void
pci_vtnet_reset(void *dev)
{
	struct pci_vtnet_softc *sc = dev;

	netbe_rx_disable(sc->vsc_be);
	if (netbe_set_cap(sc->vsc_be, 0) != 0) {
		/* The tap keeps its offloads: what it sends is still checked
		   against the features, and dropped if they do not allow it. */
	}
	sc->vsc_features = 0;
	sc->vsc_merge = false;
	sc->vsc_hdrlen = VIRTIO_NET_HDR_LEGACY_LEN;
}

static int
pci_vtnet_cfgread(void *dev, int offset, int size, uint32_t *val)
{
	struct pci_vtnet_softc *sc = dev;

	*val = 0;
	memcpy(val, &sc->vsc_cfg[offset], (size_t)size);
	*val = le32toh(*val);
	return 0;
}

/* 5.1.4.2: the driver does not write the configuration; ignored. */
static int
pci_vtnet_cfgwrite(void *dev, int offset, int size, uint32_t val)
{
	return 0;
}

/* ---- Transmit ---- */

/*
 * The guest's header against what was agreed (5.1.6.2.1): NEEDS_CSUM
 * only with VIRTIO_NET_F_CSUM and inside the frame, no receive-side
 * flags, GSO only of a negotiated kind, with NEEDS_CSUM and an MSS, and
 * the size: the MTU without GSO, 64 KiB with it.
 */
static bool
pci_vtnet_tx_hdr_ok(const struct pci_vtnet_softc *sc,
    const struct virtio_net_hdr *h, size_t flen)
{
	uint64_t f = sc->vsc_features, need;
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (!(f & VIRTIO_NET_F_CSUM) || (size_t)le16toh(h->csum_start) +
	    le16toh(h->csum_offset) + 2 > flen))
		return false;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return flen <= VTNET_FRAME_MAX(sc->vsc_mtu);
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4)
		need = VIRTIO_NET_F_HOST_TSO4;
	else if (gso == VIRTIO_NET_HDR_GSO_TCPV6)
		need = VIRTIO_NET_F_HOST_TSO6;
	else
		return false;
	if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
		need |= VIRTIO_NET_F_HOST_ECN;
	return (f & need) == need && h->gso_size != 0 &&
	    (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && flen <= NETBE_MAX_FRAME;
}

/* One frame from the guest's readable buffers to the backend. */
static void
pci_vtnet_tx_frame(struct pci_vtnet_softc *sc, const struct iovec *iov,
    int n, size_t len)
{
	struct virtio_net_hdr h = { 0 };
	struct iovec out[VTNET_MAXSEGS + 1];
	size_t hl = sc->vsc_hdrlen, behl = netbe_hdr_len(sc->vsc_be);
	int k = 0;

	/* A copy: the guest may rewrite its buffer after we checked it. */
	if (len < hl + NET_ETHER_HDR_LEN ||
	    pci_vtnet_iov_read(iov, n, 0, &h, hl) != hl ||
	    !pci_vtnet_tx_hdr_ok(sc, &h, len - hl) || sc->vsc_be == NULL) {
		sc->vsc_stats.tx_drops++;
		return;
	}
	if (behl != 0) {
		h.num_buffers = 0;
		out[k++] = (struct iovec){ .iov_base = &h, .iov_len = behl };
	}
	k += pci_vtnet_iov_skip(iov, n, hl, out + k, VTNET_MAXSEGS + 1 - k);
	if (netbe_send(sc->vsc_be, out, k) < 0)
		sc->vsc_stats.tx_errors++;
	else
		sc->vsc_stats.tx_frames++;
}

/*
 * Transmit queue notification.  Buffers the device may write have no
 * meaning here (5.1.6.2): they are ignored, and nothing is written, so
 * every chain is returned with a used length of 0.
 */
static void
pci_vtnet_ping_txq(void *dev, struct vqueue_info *vq)
{
	struct pci_vtnet_softc *sc = dev;
	struct iovec iov[VTNET_MAXSEGS];
	struct vi_req req;

	while (vq_getchain(vq, iov, VTNET_MAXSEGS, &req) > 0) {
		pci_vtnet_tx_frame(sc, iov, req.readable, req.readable_len);
		vq_relchain(vq, req.idx, 0);
	}
	vq_endchains(vq);
}

/* ---- Receive ---- */

/*
 * The backend's header (a tap's) made fit for this driver (5.1.6.3.2):
 * checksum flags only with GUEST_CSUM (DATA_VALID is dropped without
 * it; a partial checksum cannot be delivered then), GSO only of a kind
 * the driver takes.  False: the frame cannot be delivered.
 */
static bool
pci_vtnet_rx_hdr_fix(const struct pci_vtnet_softc *sc,
    struct virtio_net_hdr *h)
{
	uint64_t f = sc->vsc_features, need = 0;
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (!(f & VIRTIO_NET_F_GUEST_CSUM)) {
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		h->flags = 0;
	}
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4)
		need = VIRTIO_NET_F_GUEST_TSO4;
	else if (gso == VIRTIO_NET_HDR_GSO_TCPV6)
		need = VIRTIO_NET_F_GUEST_TSO6;
	else if (gso != VIRTIO_NET_HDR_GSO_NONE)
		return false;
	if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
		need |= VIRTIO_NET_F_GUEST_ECN;
	h->num_buffers = 0;
	return (f & need) == need && (need != 0 ||
	    h->gso_type == VIRTIO_NET_HDR_GSO_NONE);
}

/* The chains taken for one frame. */
struct pci_vtnet_rxbufs {
	struct iovec iov[VTNET_MAXSEGS];	/* their writable buffers */
	int niov;
	struct {
		uint16_t idx;
		uint32_t room;
	} chain[VTNET_MAXSEGS];
	int nchain;
	size_t room;
};

static void
pci_vtnet_rx_giveback(struct vqueue_info *vq, struct pci_vtnet_rxbufs *b)
{
	for (int i = 0; i < b->nchain; i++)
		vq_retchain(vq);
	b->nchain = 0;
}

/* Add one chain's writable buffers; false if the frame needs too many. */
static bool
pci_vtnet_rx_add(struct pci_vtnet_rxbufs *b, const struct iovec *iov,
    const struct vi_req *req)
{
	if (b->nchain == VTNET_MAXSEGS ||
	    req->writable > VTNET_MAXSEGS - b->niov)
		return false;
	memcpy(&b->iov[b->niov], &iov[req->readable],
	    (size_t)req->writable * sizeof(*iov));
	b->niov += req->writable;
	b->chain[b->nchain].idx = req->idx;
	b->chain[b->nchain].room = req->writable_len;
	b->nchain++;
	b->room += req->writable_len;
	return true;
}

/*
 * Take chains until 'need' bytes fit: one chain, or with MRG_RXBUF as
 * many as it takes (5.1.6.4).  VTNET_RX_DONE with b->nchain == 0: the
 * frame can never fit (its chains were given back); drop it.
 */
static enum pci_vtnet_rx_result
pci_vtnet_rx_gather(struct pci_vtnet_softc *sc, struct vqueue_info *vq,
    size_t need, struct pci_vtnet_rxbufs *b)
{
	struct iovec iov[VTNET_MAXSEGS];
	struct vi_req req;
	int n;

	while (b->room < need) {
		n = vq_getchain(vq, iov, VTNET_MAXSEGS, &req);
		if (n < 0)
			return VTNET_RX_ERROR;
		if (n == 0) {
			pci_vtnet_rx_giveback(vq, b);
			return VTNET_RX_NOBUFS;
		}
		if (!pci_vtnet_rx_add(b, iov, &req)) {
			vq_retchain(vq);
			break;
		}
		if (!sc->vsc_merge)
			break;
	}
	if (b->room < need)
		pci_vtnet_rx_giveback(vq, b);
	return VTNET_RX_DONE;
}

/*
 * Write the header and the frame into the chains and return them, each
 * with what went into it; num_buffers says how many there are.  They are
 * published with one used-index update, so a driver polling the used
 * ring never sees part of a merged frame (5.1.6.4).
 */
static void
pci_vtnet_rx_deliver(struct pci_vtnet_softc *sc, struct vqueue_info *vq,
    struct pci_vtnet_rxbufs *b, struct virtio_net_hdr *h,
    const uint8_t *frame, size_t flen)
{
	size_t left = sc->vsc_hdrlen + flen;

	h->num_buffers = htole16((uint16_t)b->nchain);
	(void)pci_vtnet_iov_write(b->iov, b->niov, 0, h, sc->vsc_hdrlen);
	(void)pci_vtnet_iov_write(b->iov, b->niov, sc->vsc_hdrlen, frame, flen);
	for (int i = 0; i < b->nchain; i++) {
		size_t used = b->chain[i].room < left ? b->chain[i].room : left;

		vq_relchain_prepare(vq, b->chain[i].idx, (uint32_t)used);
		left -= used;
	}
	vq_relchain_publish(vq);
}

/* One frame from the backend (backend header first) to the guest. */
static enum pci_vtnet_rx_result
pci_vtnet_rx_frame(struct pci_vtnet_softc *sc, struct vqueue_info *vq,
    const uint8_t *buf, size_t len)
{
	struct pci_vtnet_rxbufs b;
	struct virtio_net_hdr h = { 0 };
	size_t behl = netbe_hdr_len(sc->vsc_be), flen;
	enum pci_vtnet_rx_result r;

	if (len < behl + NET_ETHER_HDR_LEN)
		goto drop;
	memcpy(&h, buf, behl);
	flen = len - behl;
	if (!pci_vtnet_rx_hdr_fix(sc, &h) ||
	    (h.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
	    flen > VTNET_FRAME_MAX(sc->vsc_mtu)))
		goto drop;
	b.niov = b.nchain = 0;
	b.room = 0;
	r = pci_vtnet_rx_gather(sc, vq, sc->vsc_hdrlen + flen, &b);
	if (r != VTNET_RX_DONE)
		return r;
	if (b.nchain == 0)
		goto drop;
	pci_vtnet_rx_deliver(sc, vq, &b, &h, buf + behl, flen);
	sc->vsc_stats.rx_frames++;
	return VTNET_RX_DONE;
drop:
	sc->vsc_stats.rx_drops++;
	return VTNET_RX_DONE;
}

/*
 * Deliver what the backend has, up to 'max' frames.  A frame that finds
 * no room stays held and receive stops until the guest posts buffers.
 */
static void
pci_vtnet_rx(struct pci_vtnet_softc *sc, int max)
{
	struct vqueue_info *vq = &sc->vsc_queues[VTNET_RXQ];
	enum pci_vtnet_rx_result r = VTNET_RX_DONE;
	const uint8_t *buf;

	for (int i = 0; i < max && r == VTNET_RX_DONE; i++) {
		ssize_t len = netbe_rx_peek(sc->vsc_be, &buf);

		if (len <= 0)
			break;
		r = pci_vtnet_rx_frame(sc, vq, buf, (size_t)len);
		if (r == VTNET_RX_DONE)
			netbe_rx_consume(sc->vsc_be);
	}
	if (r != VTNET_RX_DONE)
		netbe_rx_disable(sc->vsc_be);
	vq_endchains(vq);
}

/* The backend has frames (event loop). */
static void
pci_vtnet_rx_event(void *arg)
{
	struct pci_vtnet_softc *sc = arg;

	vi_lock(&sc->vsc_vs);
	pci_vtnet_rx(sc, VTNET_RX_BATCH);
	vi_unlock(&sc->vsc_vs);
}

/* The guest posted receive buffers: read the backend again. */
static void
pci_vtnet_ping_rxq(void *dev, struct vqueue_info *vq)
{
	struct pci_vtnet_softc *sc = dev;

	if (sc->vsc_be == NULL)
		return;
	netbe_rx_enable(sc->vsc_be);
	pci_vtnet_rx(sc, VTNET_RX_BATCH);
}

/* ---- Set-up ---- */

static const struct virtio_consts pci_vtnet_vi_consts = {
	.vc_name = "virtio-net",
	.vc_devtype = VIRTIO_ID_NETWORK,
	.vc_class = VTNET_CLASS,
	.vc_nvq = VTNET_NQ,
	.vc_cfgsize = VTNET_CFGSIZE,
	.vc_hv_caps = VTNET_HOSTCAPS,
	.vc_round_budget = VTNET_ROUND_DESCS,
	.vc_reset = pci_vtnet_reset,
	.vc_cfgread = pci_vtnet_cfgread,
	.vc_cfgwrite = pci_vtnet_cfgwrite,
	.vc_apply_features = pci_vtnet_apply_features,
};

/* mac= and mtu=, into the configuration the guest reads. */
static int
pci_vtnet_parse(struct pci_vtnet_softc *sc, struct bhyve_vm *bvm,
    struct pci_devinst *pi, struct config_node *nvl)
{
	const char *mac = config_get(nvl, "mac"), *mtu = config_get(nvl, "mtu");
	uint8_t addr[NET_MAC_LEN];
	uint16_t v;

	if (mac != NULL && net_parsemac(mac, addr) != 0)
		return pci_emul_error(pi, "invalid mac '%s' (want "
		    "xx:xx:xx:xx:xx:xx, unicast, not all zero)", mac);
	if (mac == NULL)
		net_genmac(config_get(bvm->cfg, "name"), pi->pi_slot,
		    pi->pi_func, addr);
	sc->vsc_mtu = VTNET_DEF_MTU;
	if (mtu != NULL && net_parsemtu(mtu, VTNET_MIN_MTU, VTNET_MAX_MTU,
	    &sc->vsc_mtu) != 0)
		return pci_emul_error(pi, "invalid mtu '%s' (%d-%d)", mtu,
		    VTNET_MIN_MTU, VTNET_MAX_MTU);
	memcpy(&sc->vsc_cfg[VTNET_CFG_MAC], addr, sizeof(addr));
	v = htole16(VIRTIO_NET_S_LINK_UP);
	memcpy(&sc->vsc_cfg[VTNET_CFG_STATUS], &v, 2);
	v = htole16(1);
	memcpy(&sc->vsc_cfg[VTNET_CFG_MAXQP], &v, 2);
	v = htole16((uint16_t)sc->vsc_mtu);
	memcpy(&sc->vsc_cfg[VTNET_CFG_MTU], &v, 2);
	return 0;
}

static int
pci_vtnet_backend_init(struct pci_vtnet_softc *sc, struct bhyve_vm *bvm,
    struct pci_devinst *pi, struct config_node *nvl)
{
	struct netbe_params p = { .bvm = bvm, .nvl = nvl, .mtu = sc->vsc_mtu,
		.rx_cb = pci_vtnet_rx_event, .rx_arg = sc };
	char err[BHYVE_ERRLEN];

	if (netbe_init(&sc->vsc_be, &p, err, sizeof(err)) != 0)
		return pci_emul_error(pi, "%s", err);
	return 0;
}

static int
pci_vtnet_init(struct bhyve_vm *bvm, struct pci_devinst *pi,
    struct config_node *nvl)
{
	struct pci_vtnet_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return pci_emul_error(pi, "out of memory");
	if (pci_vtnet_parse(sc, bvm, pi, nvl) != 0 ||
	    pci_vtnet_backend_init(sc, bvm, pi, nvl) != 0)
		goto fail;
	sc->vsc_consts = pci_vtnet_vi_consts;
	sc->vsc_consts.vc_hv_caps |= netbe_get_cap(sc->vsc_be);
	sc->vsc_hdrlen = VIRTIO_NET_HDR_LEGACY_LEN;
	for (int i = 0; i < VTNET_NQ; i++)
		sc->vsc_queues[i].vq_qsize_max = VTNET_RINGSZ;
	sc->vsc_queues[VTNET_RXQ].vq_notify = pci_vtnet_ping_rxq;
	sc->vsc_queues[VTNET_TXQ].vq_notify = pci_vtnet_ping_txq;
	vi_softc_linkup(&sc->vsc_vs, &sc->vsc_consts, sc, pi, sc->vsc_queues);
	if (vi_pci_init(&sc->vsc_vs, nvl) != 0)
		goto fail;
	return 0;
fail:
	netbe_cleanup(sc->vsc_be);
	pi->pi_arg = NULL;
	free(sc);
	return -1;
}

static void
pci_vtnet_destroy(struct pci_devinst *pi)
{
	struct virtio_softc *vs = pi->pi_arg;
	struct pci_vtnet_softc *sc;

	if (vs == NULL)
		return;
	sc = vs->vs_dev;
	vi_pci_destroy(vs);
	netbe_cleanup(sc->vsc_be);
	free(sc);
	pi->pi_arg = NULL;
}

const struct pci_devemu pci_de_virtio_net = {
	.pe_emu = "virtio-net",
	.pe_init = pci_vtnet_init,
	.pe_destroy = pci_vtnet_destroy,
	VIRTIO_PCI_DEVEMU_OPS,
};

struct net_backend *
pci_vtnet_backend(struct pci_devinst *pi)
{
	struct virtio_softc *vs;

	if (pi == NULL || pi->pi_d != &pci_de_virtio_net ||
	    (vs = pi->pi_arg) == NULL)
		return NULL;
	return ((struct pci_vtnet_softc *)vs->vs_dev)->vsc_be;
}
