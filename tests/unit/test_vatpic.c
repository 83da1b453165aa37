/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 8259A pair: initialization, masking, priorities and rotation, EOI
 * variants, AEOI, the cascade, poll mode, ELCR, level re-assertion and
 * spurious interrupts, driven through the port handlers.
 */
#include <errno.h>

#include "io/vatpic.h"
#include "test.h"

struct intr_log {
	int n;
	bool last;
};

static void
intr_cb(void *arg, bool line)
{
	struct intr_log *l = arg;

	l->n++;
	l->last = line;
}

static void
out8(struct vatpic *v, uint16_t port, uint8_t val)
{
	uint32_t x = val;
	int err;

	if (port >= VATPIC_ELCR_PORT)
		err = vatpic_elcr_handler(v, false, port, 1, &x);
	else if (port >= VATPIC_SLAVE_PORT)
		err = vatpic_slave_handler(v, false, port, 1, &x);
	else
		err = vatpic_master_handler(v, false, port, 1, &x);
	CHECK_EQ(err, 0);
}

static uint8_t
in8(struct vatpic *v, uint16_t port)
{
	uint32_t x = 0;
	int err;

	if (port >= VATPIC_ELCR_PORT)
		err = vatpic_elcr_handler(v, true, port, 1, &x);
	else if (port >= VATPIC_SLAVE_PORT)
		err = vatpic_slave_handler(v, true, port, 1, &x);
	else
		err = vatpic_master_handler(v, true, port, 1, &x);
	CHECK_EQ(err, 0);
	return (uint8_t)x;
}

/* What Linux's init_8259A does: vectors 0x20 and 0x28, 8086 mode. */
static void
pic_init(struct vatpic *v, uint8_t icw4_master, uint8_t icw4_slave)
{
	out8(v, 0x20, 0x11);
	out8(v, 0x21, 0x20);
	out8(v, 0x21, 0x04);
	out8(v, 0x21, icw4_master);
	out8(v, 0xa0, 0x11);
	out8(v, 0xa1, 0x28);
	out8(v, 0xa1, 0x02);
	out8(v, 0xa1, icw4_slave);
}

static struct vatpic *
pic_new(struct intr_log *log)
{
	struct vatpic *v = vatpic_create(intr_cb, log);

	if (v != NULL)
		pic_init(v, 0x01, 0x01);
	return v;
}

static int
pending(struct vatpic *v)
{
	int vec = -1;

	return vatpic_pending_intr(v, &vec) ? vec : -1;
}

/* The acknowledge the vmm does after injecting. */
static int
ack(struct vatpic *v)
{
	int vec = -1;

	if (!vatpic_pending_intr(v, &vec))
		return -1;
	vatpic_intr_accepted(v, vec);
	return vec;
}

static uint8_t
read_isr(struct vatpic *v, uint16_t cmd)
{
	out8(v, cmd, 0x0b);
	return in8(v, cmd);
}

static uint8_t
read_irr(struct vatpic *v, uint16_t cmd)
{
	out8(v, cmd, 0x0a);
	return in8(v, cmd);
}

TEST(nothing_before_init)
{
	struct intr_log log = { 0 };
	struct vatpic *v = vatpic_create(intr_cb, &log);
	int vec;

	REQUIRE(v != NULL);
	CHECK_EQ(vatpic_set_irq(v, 1, VMM_IRQ_PULSE), 0);
	CHECK(!vatpic_pending_intr(v, &vec));
	CHECK_EQ(log.n, 0);
	/* ICW1 resets the edge sense: the early pulse is forgotten. */
	pic_init(v, 0x01, 0x01);
	CHECK_EQ(pending(v), -1);
	CHECK_EQ(vatpic_set_irq(v, 1, VMM_IRQ_PULSE), 0);
	CHECK_EQ(pending(v), 0x21);
	CHECK_EQ(log.n, 1);
	CHECK(log.last);
	vatpic_destroy(v);
}

TEST(vectors_and_intr_line)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	CHECK_EQ(in8(v, 0x21), 0); /* ICW1 cleared the IMR */
	vatpic_set_irq(v, 6, VMM_IRQ_PULSE);
	CHECK(log.last);
	CHECK_EQ(ack(v), 0x26);
	CHECK(!log.last); /* the in-service level blocks itself */
	CHECK_EQ(log.n, 2);
	CHECK_EQ(read_isr(v, 0x20), 0x40);
	out8(v, 0x20, 0x20); /* non-specific EOI */
	CHECK_EQ(read_isr(v, 0x20), 0);
	vatpic_set_irq(v, 14, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), 0x2e);
	CHECK_EQ(vatpic_set_irq(v, 2, VMM_IRQ_PULSE), -EINVAL);
	CHECK_EQ(vatpic_set_irq(v, 16, VMM_IRQ_PULSE), -EINVAL);
	CHECK_EQ(vatpic_set_irq(v, -1, VMM_IRQ_ASSERT), -EINVAL);
	CHECK_EQ(vatpic_set_irq(v, 3, (enum vmm_irq_op)7), -EINVAL);
	vatpic_destroy(v);
}

TEST(mask_keeps_request)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	out8(v, 0x21, 0x08);
	CHECK_EQ(in8(v, 0x21), 0x08);
	vatpic_set_irq(v, 3, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), -1);
	CHECK_EQ(read_irr(v, 0x20), 0x08); /* IRR latches behind the mask */
	out8(v, 0x21, 0x00);
	CHECK_EQ(pending(v), 0x23);
	/* Masking the cascade input hides every slave request. */
	out8(v, 0x21, 0x04);
	CHECK_EQ(ack(v), 0x23);
	out8(v, 0x20, 0x20);
	vatpic_set_irq(v, 12, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), -1);
	out8(v, 0x21, 0x00);
	CHECK_EQ(pending(v), 0x2c);
	vatpic_destroy(v);
}

TEST(fully_nested_priority)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	vatpic_set_irq(v, 5, VMM_IRQ_PULSE);
	vatpic_set_irq(v, 3, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x23);
	CHECK_EQ(pending(v), -1); /* 5 waits behind 3 in service */
	vatpic_set_irq(v, 1, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x21); /* a higher level nests */
	CHECK_EQ(read_isr(v, 0x20), 0x0a);
	out8(v, 0x20, 0x20); /* clears the highest: 1 */
	CHECK_EQ(read_isr(v, 0x20), 0x08);
	CHECK_EQ(pending(v), -1);
	out8(v, 0x20, 0x63); /* specific EOI for 3 */
	CHECK_EQ(read_isr(v, 0x20), 0);
	CHECK_EQ(ack(v), 0x25);
	out8(v, 0x20, 0x40); /* OCW2 no-op */
	CHECK_EQ(read_isr(v, 0x20), 0x20);
	vatpic_destroy(v);
}

TEST(rotation)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	vatpic_set_irq(v, 0, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x20);
	out8(v, 0x20, 0xa0); /* rotate on non-specific EOI: 0 lowest */
	vatpic_set_irq(v, 0, VMM_IRQ_PULSE);
	vatpic_set_irq(v, 4, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x24);
	out8(v, 0x20, 0xe4); /* rotate on specific EOI: 4 lowest */
	CHECK_EQ(read_isr(v, 0x20), 0);
	vatpic_set_irq(v, 3, VMM_IRQ_PULSE);
	vatpic_set_irq(v, 6, VMM_IRQ_PULSE);
	/* Order is now 5 6 7 0 1 2 3 4. */
	CHECK_EQ(ack(v), 0x26);
	out8(v, 0x20, 0x20);
	out8(v, 0x20, 0xc2); /* set priority: 2 lowest, order 3 4 ... 2 */
	CHECK_EQ(ack(v), 0x23);
	out8(v, 0x20, 0x20);
	CHECK_EQ(ack(v), 0x20);
	vatpic_destroy(v);
}

TEST(aeoi_and_rotate_in_aeoi)
{
	struct intr_log log = { 0 };
	struct vatpic *v = vatpic_create(intr_cb, &log);

	REQUIRE(v != NULL);
	pic_init(v, 0x03, 0x03);
	vatpic_set_irq(v, 1, VMM_IRQ_PULSE);
	vatpic_set_irq(v, 4, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x21);
	CHECK_EQ(read_isr(v, 0x20), 0); /* no ISR bit in AEOI mode */
	CHECK_EQ(ack(v), 0x24); /* so nothing blocks the next */
	out8(v, 0x20, 0x80);	 /* set rotate in AEOI */
	vatpic_set_irq(v, 1, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x21); /* 1 becomes the lowest */
	vatpic_set_irq(v, 1, VMM_IRQ_PULSE);
	vatpic_set_irq(v, 7, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x27);
	out8(v, 0x20, 0x00); /* clear rotate in AEOI */
	CHECK_EQ(ack(v), 0x21);
	vatpic_destroy(v);
}

TEST(cascade_through_ir2)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	vatpic_set_irq(v, 10, VMM_IRQ_PULSE);
	CHECK(log.last);
	CHECK_EQ(read_irr(v, 0x20), 0x04);
	CHECK_EQ(ack(v), 0x2a);
	CHECK_EQ(read_isr(v, 0x20), 0x04);
	CHECK_EQ(read_isr(v, 0xa0), 0x04);
	CHECK(!log.last);
	/* A slave request below the one in service waits. */
	vatpic_set_irq(v, 11, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), -1);
	out8(v, 0xa0, 0x20);
	CHECK_EQ(pending(v), -1); /* the master still has 2 in service */
	out8(v, 0x20, 0x20);
	CHECK_EQ(ack(v), 0x2b);
	/* Master IRQ 1 outranks the whole slave. */
	out8(v, 0xa0, 0x20);
	out8(v, 0x20, 0x20);
	vatpic_set_irq(v, 9, VMM_IRQ_PULSE);
	vatpic_set_irq(v, 1, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x21);
	out8(v, 0x20, 0x20);
	CHECK_EQ(ack(v), 0x29);
	vatpic_destroy(v);
}

TEST(slave_aeoi_delivers_each_request)
{
	struct intr_log log = { 0 };
	struct vatpic *v = vatpic_create(intr_cb, &log);

	REQUIRE(v != NULL);
	pic_init(v, 0x01, 0x03); /* the slave in AEOI */
	vatpic_set_irq(v, 9, VMM_IRQ_PULSE);
	vatpic_set_irq(v, 10, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x29);
	CHECK_EQ(read_isr(v, 0xa0), 0);
	CHECK_EQ(pending(v), -1); /* the master has 2 in service */
	/* The slave's INT stayed high, yet the master sees a new edge. */
	out8(v, 0x20, 0x20);
	CHECK_EQ(ack(v), 0x2a);
	out8(v, 0x20, 0x20);
	CHECK_EQ(pending(v), -1);
	vatpic_destroy(v);
}

TEST(special_fully_nested)
{
	struct intr_log log = { 0 };
	struct vatpic *v = vatpic_create(intr_cb, &log);

	REQUIRE(v != NULL);
	pic_init(v, 0x11, 0x01); /* SFNM on the master */
	vatpic_set_irq(v, 12, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x2c);
	vatpic_set_irq(v, 9, VMM_IRQ_PULSE); /* above 12 on the slave */
	CHECK_EQ(ack(v), 0x29);
	vatpic_set_irq(v, 5, VMM_IRQ_PULSE); /* below the master's 2 */
	CHECK_EQ(pending(v), -1);
	vatpic_destroy(v);

	v = pic_new(&log); /* and without SFNM the slave is locked out */
	REQUIRE(v != NULL);
	vatpic_set_irq(v, 12, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x2c);
	vatpic_set_irq(v, 9, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), -1);
	vatpic_destroy(v);
}

TEST(poll_mode)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	out8(v, 0x20, 0x0c); /* OCW3 poll */
	CHECK_EQ(in8(v, 0x20), 0x00);
	vatpic_set_irq(v, 4, VMM_IRQ_PULSE);
	out8(v, 0x20, 0x0c);
	CHECK_EQ(in8(v, 0x21), 0x84); /* either port answers the poll */
	CHECK_EQ(read_isr(v, 0x20), 0x10);
	CHECK_EQ(pending(v), -1);
	CHECK_EQ(in8(v, 0x21), 0x00); /* the poll is one read only: IMR */
	vatpic_set_irq(v, 13, VMM_IRQ_PULSE);
	out8(v, 0xa0, 0x0c);
	CHECK_EQ(in8(v, 0xa0), 0x85);
	CHECK_EQ(read_isr(v, 0xa0), 0x20);
	vatpic_destroy(v);
}

TEST(special_mask_mode)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	vatpic_set_irq(v, 3, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x23);
	vatpic_set_irq(v, 5, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), -1);
	out8(v, 0x21, 0x08);
	CHECK_EQ(pending(v), -1); /* masking alone does not help */
	out8(v, 0x20, 0x68);	  /* enter special mask mode */
	CHECK_EQ(pending(v), 0x25);
	CHECK_EQ(ack(v), 0x25);
	out8(v, 0x20, 0x20); /* non-specific EOI skips masked 3: clears 5 */
	CHECK_EQ(read_isr(v, 0x20), 0x08);
	out8(v, 0x20, 0x48); /* leave special mask mode */
	out8(v, 0x20, 0x20);
	CHECK_EQ(read_isr(v, 0x20), 0);
	vatpic_destroy(v);
}

TEST(elcr_and_triggers)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);
	uint32_t x = 0xffff;

	REQUIRE(v != NULL);
	out8(v, 0x4d0, 0xff);
	out8(v, 0x4d1, 0xff);
	CHECK_EQ(in8(v, 0x4d0), 0xf8); /* IRQ 0, 1, 2 stay edge */
	CHECK_EQ(in8(v, 0x4d1), 0xde); /* IRQ 8, 13 stay edge */
	CHECK_EQ(vatpic_elcr_handler(v, false, 0x4d0, 2, &x), 0);
	x = 0x0020;
	CHECK_EQ(vatpic_elcr_handler(v, false, 0x4d0, 2, &x), 0);
	CHECK_EQ(vatpic_elcr_handler(v, true, 0x4d0, 2, &x), 0);
	CHECK_EQ(x, 0x0020);
	CHECK_EQ(vatpic_elcr_handler(v, true, 0x4d1, 2, &x), -EINVAL);
	CHECK_EQ(vatpic_set_trigger(v, 0, true), -EINVAL);
	CHECK_EQ(vatpic_set_trigger(v, 13, true), -EINVAL);
	CHECK_EQ(vatpic_set_trigger(v, 8, true), -EINVAL);
	CHECK_EQ(vatpic_set_trigger(v, 8, false), 0);
	CHECK_EQ(vatpic_set_trigger(v, 11, true), 0);
	CHECK_EQ(in8(v, 0x4d1), 0x08);
	CHECK_EQ(vatpic_set_trigger(v, 5, false), 0);
	CHECK_EQ(in8(v, 0x4d0), 0x00);
	CHECK_EQ(vatpic_set_trigger(v, 16, false), -EINVAL);
	vatpic_destroy(v);
}

TEST(level_reasserts_after_eoi)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	out8(v, 0x4d0, 0x20);
	vatpic_set_irq(v, 5, VMM_IRQ_ASSERT);
	CHECK_EQ(ack(v), 0x25);
	CHECK_EQ(read_irr(v, 0x20), 0x20); /* IRR follows the line */
	CHECK_EQ(pending(v), -1);
	out8(v, 0x20, 0x20);
	CHECK_EQ(ack(v), 0x25); /* still high: again */
	out8(v, 0x20, 0x20);
	vatpic_set_irq(v, 5, VMM_IRQ_DEASSERT);
	CHECK_EQ(pending(v), -1);
	CHECK_EQ(read_irr(v, 0x20), 0x00);
	/* Two sources share the line: it stays up until both let go. */
	vatpic_set_irq(v, 5, VMM_IRQ_ASSERT);
	vatpic_set_irq(v, 5, VMM_IRQ_ASSERT);
	vatpic_set_irq(v, 5, VMM_IRQ_DEASSERT);
	CHECK_EQ(pending(v), 0x25);
	vatpic_set_irq(v, 5, VMM_IRQ_DEASSERT);
	CHECK_EQ(pending(v), -1);
	vatpic_set_irq(v, 5, VMM_IRQ_DEASSERT); /* unbalanced: no effect */
	vatpic_set_irq(v, 5, VMM_IRQ_ASSERT);
	CHECK_EQ(pending(v), 0x25);
	vatpic_destroy(v);
}

TEST(edge_held_high_fires_once)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);

	REQUIRE(v != NULL);
	vatpic_set_irq(v, 4, VMM_IRQ_ASSERT);
	CHECK_EQ(ack(v), 0x24);
	out8(v, 0x20, 0x20);
	CHECK_EQ(pending(v), -1);
	vatpic_set_irq(v, 4, VMM_IRQ_PULSE); /* no new edge while held */
	CHECK_EQ(pending(v), -1);
	vatpic_set_irq(v, 4, VMM_IRQ_DEASSERT);
	vatpic_set_irq(v, 4, VMM_IRQ_ASSERT);
	CHECK_EQ(pending(v), 0x24);
	vatpic_destroy(v);
}

TEST(spurious_irq7_and_irq15)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);
	int vec;

	REQUIRE(v != NULL);
	out8(v, 0x4d0, 0x20);
	vatpic_set_irq(v, 5, VMM_IRQ_ASSERT);
	CHECK(vatpic_pending_intr(v, &vec));
	CHECK_EQ(vec, 0x25);
	vatpic_set_irq(v, 5, VMM_IRQ_DEASSERT); /* gone before the INTA */
	CHECK(!vatpic_pending_intr(v, &vec));
	CHECK_EQ(vec, 0x27);
	vatpic_intr_accepted(v, 0x27);
	CHECK_EQ(read_isr(v, 0x20), 0); /* a spurious 7 sets nothing */
	vatpic_set_irq(v, 7, VMM_IRQ_PULSE); /* a real 7 does */
	CHECK_EQ(ack(v), 0x27);
	CHECK_EQ(read_isr(v, 0x20), 0x80);
	out8(v, 0x20, 0x20);

	/* The master latched the slave's edge; the slave's request goes. */
	out8(v, 0x4d1, 0x04);
	vatpic_set_irq(v, 10, VMM_IRQ_ASSERT);
	vatpic_set_irq(v, 10, VMM_IRQ_DEASSERT);
	CHECK(vatpic_pending_intr(v, &vec));
	CHECK_EQ(vec, 0x2f);
	vatpic_intr_accepted(v, vec);
	CHECK_EQ(read_isr(v, 0x20), 0x04); /* the master must get an EOI */
	CHECK_EQ(read_isr(v, 0xa0), 0x00);
	vatpic_intr_accepted(v, 0x99); /* no PIC's vector: ignored */
	vatpic_intr_accepted(v, -5);
	CHECK_EQ(read_isr(v, 0x20), 0x04);
	vatpic_destroy(v);
}

TEST(init_variants)
{
	struct intr_log log = { 0 };
	struct vatpic *v = vatpic_create(intr_cb, &log);

	REQUIRE(v != NULL);
	/* Single, with ICW4: no ICW3. */
	out8(v, 0x20, 0x13);
	out8(v, 0x21, 0x40);
	out8(v, 0x21, 0x01);
	out8(v, 0x21, 0xfe); /* OCW1 now */
	CHECK_EQ(in8(v, 0x21), 0xfe);
	vatpic_set_irq(v, 0, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), 0x40);
	/* Single, no ICW4 (8080 mode, normal EOI), level via LTIM. */
	out8(v, 0x20, 0x1a);
	out8(v, 0x21, 0x50);
	CHECK_EQ(in8(v, 0x21), 0x00);
	vatpic_set_irq(v, 3, VMM_IRQ_ASSERT);
	CHECK_EQ(ack(v), 0x53);
	out8(v, 0x20, 0x20);
	CHECK_EQ(pending(v), 0x53);
	vatpic_set_irq(v, 3, VMM_IRQ_DEASSERT);
	CHECK_EQ(pending(v), -1);
	/* OCW2/OCW3 amid initialization are ignored. */
	out8(v, 0x20, 0x11);
	out8(v, 0x20, 0x0b);
	CHECK_EQ(pending(v), -1);
	out8(v, 0x21, 0x60);
	out8(v, 0x21, 0x04);
	out8(v, 0x21, 0x01);
	vatpic_set_irq(v, 6, VMM_IRQ_PULSE);
	CHECK_EQ(pending(v), 0x66);
	vatpic_destroy(v);
}

/* A write and a read; bytes only, but a word covers both ELCRs. */
static void
poke(struct vatpic *v, uint16_t port, int w, uint32_t val)
{
	vmm_port_fn_t *fn = port >= 0x4d0 ? vatpic_elcr_handler :
	    port >= 0xa0 ? vatpic_slave_handler : vatpic_master_handler;
	int want = w == 1 || (w == 2 && port == 0x4d0) ? 0 : -EINVAL;
	uint32_t x = val, y = 0;

	CHECK_EQ(fn(v, false, port, w, &x), want);
	CHECK_EQ(fn(v, true, port, w, &y), want);
}

TEST(hostile_ports)
{
	struct intr_log log = { 0 };
	struct vatpic *v = pic_new(&log);
	static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0,
		0x4d1 };
	int vec;

	REQUIRE(v != NULL);
	for (int w = 1; w <= 4; w++) {
		for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
			for (uint32_t val = 0; val < 256; val++) {
				poke(v, ports[p], w, val);
				vatpic_set_irq(v, (int)(val & 15), val % 3);
				if (vatpic_pending_intr(v, &vec))
					vatpic_intr_accepted(v, vec);
			}
		}
	}
	/* Whatever the guest left, a fresh init gives a working pair. */
	for (int i = 0; i < 4096; i++) /* let go of IRQ 11 */
		vatpic_set_irq(v, 11, VMM_IRQ_DEASSERT);
	pic_init(v, 0x01, 0x01);
	out8(v, 0x4d0, 0);
	out8(v, 0x4d1, 0);
	vatpic_set_irq(v, 11, VMM_IRQ_PULSE);
	CHECK_EQ(ack(v), 0x2b);
	vatpic_destroy(v);
}

TEST_MAIN(TEST_ENTRY(nothing_before_init) TEST_ENTRY(vectors_and_intr_line)
    TEST_ENTRY(mask_keeps_request) TEST_ENTRY(fully_nested_priority)
    TEST_ENTRY(rotation) TEST_ENTRY(aeoi_and_rotate_in_aeoi)
    TEST_ENTRY(cascade_through_ir2)
    TEST_ENTRY(slave_aeoi_delivers_each_request)
    TEST_ENTRY(special_fully_nested)
    TEST_ENTRY(poll_mode) TEST_ENTRY(special_mask_mode)
    TEST_ENTRY(elcr_and_triggers) TEST_ENTRY(level_reasserts_after_eoi)
    TEST_ENTRY(edge_held_high_fires_once)
    TEST_ENTRY(spurious_irq7_and_irq15) TEST_ENTRY(init_variants)
    TEST_ENTRY(hostile_ports))
