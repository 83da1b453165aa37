/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-console through the modern virtio-pci transport, driven the way
 * a driver with VIRTIO_CONSOLE_F_MULTIPORT drives it (virtio spec v1.2,
 * 5.3): find 1af4:1043 (modern) or 1af4:1003 (transitional), negotiate
 * VERSION_1 and MULTIPORT, set up the control queues and port 1's, send
 * DEVICE_READY, answer every DEVICE_ADD with PORT_READY, check port 1's
 * PORT_NAME, open port 1 (PORT_OPEN), wait for the host side to connect
 * (PORT_OPEN 1 from the device), write a line, wait for the host's
 * answer, then for the host to hang up (PORT_OPEN 0).  The harness's
 * peer on port 1's socket checks the line and answers.
 *
 * Polled (no interrupts), each wait bounded by the PM timer, since the
 * peer connects and answers in its own time.  Command line: name1= (port
 * 1's name, default org.bhyve.test), name0= (port 0's, checked if
 * given), wait= (seconds per wait, default 30), pmport=/pmbits= (the PM
 * timer, for QEMU).
 */
#include "chips.h"
#include "guest.h"
#include "virtio_pci.h"


#define CON_MODERN	0x1043
#define CON_TRANS	0x1003


/* struct virtio_pci_common_cfg (4.1.4.3) */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_NUMQ		0x12
#define C_STATUS	0x14
#define C_QSEL		0x16
#define C_QSIZE		0x18
#define C_QENABLE	0x1c
#define C_QNOTIFYOFF	0x1e
#define C_QDESC		0x20
#define C_QDRIVER	0x28
#define C_QDEVICE	0x30

#define S_ACK		0x01
#define S_DRIVER	0x02
#define S_DRIVER_OK	0x04
#define S_FEATURES_OK	0x08

#define F_MULTIPORT	(1u << 1)
#define DESC_F_WRITE	0x2

/* Control events (5.3.6.2). */
#define DEVICE_READY	0
#define DEVICE_ADD	1
#define PORT_READY	3
#define CONSOLE_PORT	4
#define PORT_OPEN	6
#define PORT_NAME	7

/* Our queues: control receiveq/transmitq, port 1's receiveq/transmitq. */
#define NQ		4
#define QSZ		8
#define BUFSZ		256
static const uint16_t queue_num[NQ] = { 2, 3, 4, 5 };
enum { CRX, CTX, P1RX, P1TX };

#define LINE		"hello from the guest on port 1\n"
#define REPLY		"pong from the host\n"

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vavail {
	uint16_t flags, idx, ring[QSZ], used_event;
};

struct vused {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[QSZ];
	uint16_t avail_event;
};

static struct vdesc desc[NQ][QSZ] __attribute__((aligned(16)));
static volatile struct vavail avail[NQ] __attribute__((aligned(4)));
static volatile struct vused used[NQ] __attribute__((aligned(4)));
static uint8_t bufs[NQ][QSZ][BUFSZ];

struct vq {
	uint16_t aidx;		/* our avail->idx */
	uint16_t seen;		/* used entries consumed */
	uint64_t notify;
};

struct vdev {
	struct vpci v;
	struct vq q[NQ];
	uint64_t wait_ticks;
	/* What the device told us, per port. */
	bool added[32], host_open[32];
	char name[32][64];
};

/* 3.1.1 up to FEATURES_OK with VERSION_1 and MULTIPORT. */
static bool
negotiate(struct vdev *d)
{
	uint64_t c = d->v.common;

	mmio_write8(c + C_STATUS, 0);
	CHECK_EQ(mmio_read8(c + C_STATUS), 0);
	mmio_write8(c + C_STATUS, S_ACK);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER);
	mmio_write32(c + C_DFSELECT, 0);
	if (!CHECK(mmio_read32(c + C_DF) & F_MULTIPORT))
		return false;
	mmio_write32(c + C_DFSELECT, 1);
	if (!CHECK(mmio_read32(c + C_DF) & 1))
		return false;
	mmio_write32(c + C_GFSELECT, 0);
	mmio_write32(c + C_GF, F_MULTIPORT);
	mmio_write32(c + C_GFSELECT, 1);
	mmio_write32(c + C_GF, 1);
	mmio_write8(c + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return CHECK(mmio_read8(c + C_STATUS) & S_FEATURES_OK);
}

static bool
setup_queue(struct vdev *d, int i)
{
	uint64_t c = d->v.common;
	uint16_t max;

	mmio_write16(c + C_QSEL, queue_num[i]);
	max = mmio_read16(c + C_QSIZE);
	if (!CHECK(max >= QSZ))
		return false;
	mmio_write16(c + C_QSIZE, QSZ);
	vpci_write64(c + C_QDESC, (uint64_t)desc[i]);
	vpci_write64(c + C_QDRIVER, (uint64_t)&avail[i]);
	vpci_write64(c + C_QDEVICE, (uint64_t)&used[i]);
	d->q[i].notify = d->v.notify +
	    (uint64_t)mmio_read16(c + C_QNOTIFYOFF) * d->v.notify_mult;
	mmio_write16(c + C_QENABLE, 1);
	return CHECK_EQ(mmio_read16(c + C_QENABLE), 1);
}

/* One buffer into queue i (its slot's own); 'len' bytes of 'data'. */
static void
post(struct vdev *d, int i, const void *data, uint32_t len, bool write)
{
	struct vq *q = &d->q[i];
	uint16_t slot = q->aidx % QSZ;

	if (data != NULL)
		memcpy(bufs[i][slot], data, len);
	desc[i][slot] = (struct vdesc){ .addr = (uint64_t)bufs[i][slot],
		.len = len, .flags = write ? DESC_F_WRITE : 0 };
	avail[i].ring[slot] = slot;
	__sync_synchronize();	/* descriptor and entry before idx */
	avail[i].idx = ++q->aidx;
	__sync_synchronize();	/* idx before the notification */
	mmio_write16(q->notify, queue_num[i]);
}

/* The next used entry of queue i, if any: its buffer and length. */
static bool
take_used(struct vdev *d, int i, const uint8_t **buf, uint32_t *len)
{
	struct vq *q = &d->q[i];
	uint32_t id;

	if (used[i].idx == q->seen)
		return false;
	__sync_synchronize();	/* the entry after its idx */
	id = used[i].ring[q->seen % QSZ].id;
	*len = used[i].ring[q->seen % QSZ].len;
	q->seen++;
	if (!CHECK(id < QSZ && *len <= BUFSZ))
		return false;
	*buf = bufs[i][id];
	return true;
}

/* Spin until done(d) or d->wait_ticks of the PM timer went by. */
static bool
wait_for(struct vdev *d, bool (*done)(struct vdev *d))
{
	uint32_t last = pmtimer_read();
	uint64_t ticks = 0;

	while (!done(d)) {
		uint32_t now = pmtimer_read();

		ticks += pmtimer_delta(last, now);
		last = now;
		if (ticks > d->wait_ticks)
			return false;
		__asm__ volatile("pause");
	}
	return true;
}

static bool
ctx_done(struct vdev *d)
{
	return used[CTX].idx == d->q[CTX].aidx;
}

static bool
p1tx_done(struct vdev *d)
{
	return used[P1TX].idx == d->q[P1TX].aidx;
}

/* A control message to the device; it hands the buffer back. */
static void
ctrl_send(struct vdev *d, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[8];

	memcpy(m, &id, 4);
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	post(d, CTX, m, sizeof(m), false);
	CHECK(wait_for(d, ctx_done));
	d->q[CTX].seen = used[CTX].idx;
}

/* One message from the device: act on it, give the buffer back. */
static void
ctrl_handle(struct vdev *d, const uint8_t *b, uint32_t len)
{
	uint32_t id;
	uint16_t event, value;

	if (!CHECK(len >= 8))
		return;
	memcpy(&id, b, 4);
	memcpy(&event, b + 4, 2);
	memcpy(&value, b + 6, 2);
	if (!CHECK(id < 32))
		return;
	if (event == DEVICE_ADD) {
		CHECK(!d->added[id]);
		d->added[id] = true;
		ctrl_send(d, id, PORT_READY, 1);
	} else if (event == PORT_NAME) {
		uint32_t n = len - 8 < 63 ? len - 8 : 63;

		CHECK(d->added[id]);
		memcpy(d->name[id], b + 8, n);
		d->name[id][n] = '\0';
		printf("virtio_console: port %u is %s\n", id, d->name[id]);
	} else if (event == PORT_OPEN) {
		CHECK(d->added[id] && value <= 1);
		d->host_open[id] = value != 0;
		printf("virtio_console: port %u host %s\n", id,
		    value ? "connected" : "hung up");
	} else if (event == CONSOLE_PORT) {
		/* QEMU's virtconsole at port 0; none is configured here. */
		printf("virtio_console: port %u is a console\n", id);
	} else {
		printf("FAIL virtio_console: control event %u\n", event);
		check_note_failure();
	}
}

/* Everything the device has sent so far. */
static void
ctrl_poll(struct vdev *d)
{
	const uint8_t *b;
	uint32_t len;

	while (take_used(d, CRX, &b, &len)) {
		ctrl_handle(d, b, len);
		post(d, CRX, NULL, BUFSZ, true);
	}
}

static bool
port1_named(struct vdev *d)
{
	ctrl_poll(d);
	return d->name[1][0] != '\0';
}

static bool
port1_connected(struct vdev *d)
{
	ctrl_poll(d);
	return d->host_open[1];
}

static bool
port1_hung_up(struct vdev *d)
{
	ctrl_poll(d);
	return !d->host_open[1];
}

/* What came in on port 1 so far, in 'got'. */
static char got[BUFSZ * 2];
static uint32_t ngot;

static bool
reply_in(struct vdev *d)
{
	const uint8_t *b;
	uint32_t len;

	while (take_used(d, P1RX, &b, &len)) {
		uint32_t n = len < sizeof(got) - 1 - ngot ? len :
		    (uint32_t)sizeof(got) - 1 - ngot;

		memcpy(got + ngot, b, n);
		ngot += n;
		got[ngot] = '\0';
		post(d, P1RX, NULL, BUFSZ, true);
	}
	return strstr(got, "\n") != NULL || ngot == sizeof(got) - 1;
}

static bool
start(struct vdev *d, int slot)
{
	uint32_t nports;

	if (!CHECK(vpci_probe(&d->v, slot) && d->v.isr && d->v.device) ||
	    !negotiate(d))
		return false;
	/* max_nr_ports (5.3.4): bhyve has 16, QEMU 31 by default. */
	nports = mmio_read32(d->v.device + 4);
	printf("virtio_console: %u ports at most, %u queues\n", nports,
	    mmio_read16(d->v.common + C_NUMQ));
	CHECK(nports >= 2 && nports <= 32);
	for (int i = 0; i < NQ; i++)
		if (!setup_queue(d, i))
			return false;
	mmio_write8(d->v.common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK |
	    S_DRIVER_OK);
	return CHECK_EQ(mmio_read8(d->v.common + C_STATUS), 0x0f);
}

/* DEVICE_READY, then PORT_READY for each port, until port 1's name. */
static bool
handshake(struct vdev *d, const char *args)
{
	char want[64];

	for (int i = 0; i < 4; i++)
		post(d, CRX, NULL, BUFSZ, true);
	ctrl_send(d, 0, DEVICE_READY, 1);
	if (!CHECK(wait_for(d, port1_named)))
		return false;
	if (!cmdline_get(args, "name1", want, sizeof(want)))
		memcpy(want, "org.bhyve.test", sizeof("org.bhyve.test"));
	CHECK(strcmp(d->name[1], want) == 0);
	if (cmdline_get(args, "name0", want, sizeof(want)))
		CHECK(d->added[0] && strcmp(d->name[0], want) == 0);
	return true;
}

int
guest_main(struct boot_info *bi)
{
	int slot = vpci_find("virtio-console", CON_MODERN, CON_TRANS);
	struct vdev d = { 0 };
	uint64_t secs = 30;

	pmtimer_init(bi->args);
	(void)cmdline_get_u64(bi->args, "wait", &secs);
	d.wait_ticks = secs * PMTIMER_HZ;
	if (!CHECK(slot >= 0) || !start(&d, slot) || !handshake(&d, bi->args))
		return guest_finish("virtio_console");
	/* Open port 1 and give the device somewhere to put input. */
	ctrl_send(&d, 1, PORT_OPEN, 1);
	for (int i = 0; i < 2; i++)
		post(&d, P1RX, NULL, BUFSZ, true);
	if (!CHECK(wait_for(&d, port1_connected)))
		return guest_finish("virtio_console");
	post(&d, P1TX, LINE, sizeof(LINE) - 1, false);
	CHECK(wait_for(&d, p1tx_done));
	if (CHECK(wait_for(&d, reply_in))) {
		CHECK(strcmp(got, REPLY) == 0);
		got[strlen(got) - 1] = '\0';
		printf("virtio_console: got '%s'\n", got);
	}
	CHECK(wait_for(&d, port1_hung_up));
	ctrl_poll(&d);
	mmio_write8(d.v.common + C_STATUS, 0);
	CHECK_EQ(mmio_read8(d.v.common + C_STATUS), 0);
	return guest_finish("virtio_console");
}
