/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Network backends (bhyve's net_backends.c): where the frames a virtual
 * NIC sends go, and where the frames it receives come from.  One
 * interface, several backends, chosen by the device's config keys:
 *
 *   backend=tapN | vmnetN  a Linux tap device (type=tap for any other
 *                          name): /dev/net/tun, created or attached;
 *                          with IFF_VNET_HDR the virtio-net header is
 *                          passed through, and with it checksum and
 *                          segmentation offloads (vnet_hdr=false: no
 *                          header, no offloads).
 *   backend=slirp          user-mode networking through libslirp
 *                          (loaded at run time): guest net 10.0.2.0/24,
 *                          DHCP gives 10.0.2.15, host 10.0.2.2, DNS
 *                          10.0.2.3; restricted (nothing leaves the
 *                          host) unless open=true; hostfwd=tcp:HADDR:
 *                          HPORT-GADDR:GPORT[;...] (udp: too), IPv4.
 *   backend=loopback       TEST ONLY: every frame sent comes back as
 *                          received, so a guest can exchange frames
 *                          with itself with no root and no network;
 *                          vnet_hdr=true makes it carry the header and
 *                          every offload, as a tap does.
 *
 * Frames.  Each frame a backend carries is preceded by netbe_hdr_len()
 * bytes of struct virtio_net_hdr (12 for a tap with IFF_VNET_HDR, else
 * 0), in the layout of virtio spec v1.2 5.1.6, which is also what the
 * Linux tun driver reads and writes.  netbe_send() takes one frame from
 * an iovec; the receive side reads one frame at a time into a buffer of
 * the backend's own: netbe_rx_peek() shows it (reading it from the host
 * if none is held), netbe_rx_consume() lets it go.  A frame that cannot
 * be delivered yet stays held, which is how a device stops reading the
 * host while the guest has no receive buffers.
 *
 * Threads.  The receive callback runs on the event loop when the
 * backend's descriptor is readable and receive is enabled.  The receive
 * calls (peek, consume, enable, disable) must be serialized by the
 * caller (the device's lock); netbe_send() may run on any thread but is
 * also called under the device's lock.  The slirp backend polls
 * libslirp's sockets and timers on the event loop and serializes its
 * calls into libslirp with a lock of its own, taken after the device's.
 */
#ifndef NET_BACKENDS_H
#define NET_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NETBE_CHECK __attribute__((warn_unused_result))

struct bhyve_vm;
struct config_node;
struct net_backend;
struct pci_devemu;
struct pci_devinst;

/* virtio-net feature bits (virtio spec v1.2, 5.1.3). */
#define VIRTIO_NET_F_CSUM (1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ULL << 1)
#define VIRTIO_NET_F_MTU (1ULL << 3)
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ULL << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ULL << 8)
#define VIRTIO_NET_F_GUEST_ECN (1ULL << 9)
#define VIRTIO_NET_F_GUEST_UFO (1ULL << 10)
#define VIRTIO_NET_F_HOST_TSO4 (1ULL << 11)
#define VIRTIO_NET_F_HOST_TSO6 (1ULL << 12)
#define VIRTIO_NET_F_HOST_ECN (1ULL << 13)
#define VIRTIO_NET_F_HOST_UFO (1ULL << 14)
#define VIRTIO_NET_F_MRG_RXBUF (1ULL << 15)
#define VIRTIO_NET_F_STATUS (1ULL << 16)
#define VIRTIO_NET_F_CTRL_VQ (1ULL << 17)
#define VIRTIO_NET_F_MQ (1ULL << 22)

/* Offloads a backend may be able to carry. */
#define NETBE_OFFLOAD_CAPS (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | \
	VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 | \
	VIRTIO_NET_F_GUEST_ECN | VIRTIO_NET_F_HOST_TSO4 | \
	VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN)

/* struct virtio_net_hdr (5.1.6), little-endian. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 0x01
#define VIRTIO_NET_HDR_F_DATA_VALID 0x02
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;	/* VERSION_1 or MRG_RXBUF only */
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr");

/* The legacy header without MRG_RXBUF stops before num_buffers. */
#define VIRTIO_NET_HDR_LEGACY_LEN 10

/* Ethernet framing. */
#define NET_ETHER_HDR_LEN 14
#define NET_VLAN_TAG_LEN 4
/* The largest frame: a 64 KiB IP packet (GSO) with a VLAN tag. */
#define NETBE_MAX_FRAME (65535 + NET_ETHER_HDR_LEN + NET_VLAN_TAG_LEN)

/* The backend's descriptor is readable (called on the event loop). */
typedef void netbe_rx_cb_t(void *arg);

struct netbe_params {
	struct bhyve_vm *bvm;	/* its event loop polls the backend */
	struct config_node *nvl; /* backend, type, hostfwd, open */
	unsigned mtu;		/* the NIC's MTU (slirp's interface MTU) */
	netbe_rx_cb_t *rx_cb;
	void *rx_arg;
};

/*
 * Create the backend the config names; receive starts disabled.  No
 * "backend" key: *bep = NULL and 0 (a NIC with no backend drops what it
 * sends).  Errors: a negative errno and one line in 'err' naming the
 * culprit ("tap 'tap9': /dev/net/tun: Permission denied").
 */
int netbe_init(struct net_backend **bep, const struct netbe_params *p,
    char *err, size_t errlen) NETBE_CHECK;
void netbe_cleanup(struct net_backend *be);
const char *netbe_type(const struct net_backend *be);

/* Offloads (NETBE_OFFLOAD_CAPS bits) this backend can carry. */
uint64_t netbe_get_cap(struct net_backend *be);
/*
 * The features the guest agreed on: the backend turns on what it can
 * carry of them (a tap's TUNSETOFFLOAD).  0 or a negative errno.
 */
int netbe_set_cap(struct net_backend *be, uint64_t features) NETBE_CHECK;
/* Bytes of struct virtio_net_hdr before each frame: 0 or 12. */
size_t netbe_hdr_len(const struct net_backend *be);

/*
 * One frame (header first, if any).  Returns its length, or a negative
 * errno: the frame is then dropped (a NIC drops what the wire refuses).
 */
ssize_t netbe_send(struct net_backend *be, const struct iovec *iov,
    int iovcnt);

/*
 * The next received frame, header included: its length and *frame, or
 * 0 when there is none now.  It stays held until netbe_rx_consume().
 */
ssize_t netbe_rx_peek(struct net_backend *be, const uint8_t **frame);
void netbe_rx_consume(struct net_backend *be);
/* Watch the backend's descriptor (or stop): flow control. */
void netbe_rx_enable(struct net_backend *be);
void netbe_rx_disable(struct net_backend *be);
bool netbe_rx_enabled(const struct net_backend *be);

/* The emulation (pci_virtio_net.c), for the PCI emulation table. */
extern const struct pci_devemu pci_de_virtio_net;
/* For tests: the backend of a virtio-net function, or NULL. */
struct net_backend *pci_vtnet_backend(struct pci_devinst *pi);

#endif /* NET_BACKENDS_H */
