/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 16550A register model with no host I/O: input through
 * uart_receive(), output observed through loopback mode, the interrupt
 * line through counting callbacks.
 */
#include <stdbool.h>

#include "test.h"
#include "uart_emul.h"

/* The interrupt line as the callbacks drive it. */
struct irq_probe {
	int asserts;
	int deasserts;
	bool level;
	int same_level; /* callbacks that did not change the level */
};

static void
probe_assert(void *arg)
{
	struct irq_probe *p = arg;

	p->asserts++;
	p->same_level += p->level;
	p->level = true;
}

static void
probe_deassert(void *arg)
{
	struct irq_probe *p = arg;

	p->deasserts++;
	p->same_level += !p->level;
	p->level = false;
}

static struct uart_softc *
new_uart(struct irq_probe *p)
{
	*p = (struct irq_probe){ 0 };
	return uart_init(probe_assert, probe_deassert, p);
}

static size_t
rx(struct uart_softc *sc, const char *s)
{
	return uart_receive(sc, (const uint8_t *)s, strlen(s));
}

static uint8_t
iir(struct uart_softc *sc)
{
	return uart_read(sc, UART_IIR);
}

TEST(reset_values)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	CHECK_EQ(uart_read(sc, UART_IER), 0);
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	CHECK_EQ(uart_read(sc, UART_LCR), 0);
	CHECK_EQ(uart_read(sc, UART_MCR), 0);
	CHECK_EQ(uart_read(sc, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(uart_read(sc, UART_MSR),
	    UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	CHECK_EQ(uart_read(sc, UART_SCR), 0);
	uart_write(sc, UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(uart_read(sc, UART_DLL), 12); /* 9600 baud */
	CHECK_EQ(uart_read(sc, UART_DLM), 0);
	CHECK_EQ(uart_read(sc, -1), 0xff);
	CHECK_EQ(uart_read(sc, UART_NREGS), 0xff);
	uart_write(sc, UART_NREGS, 0x55);
	uart_write(sc, -7, 0x55);
	CHECK_EQ(p.asserts, 0);
	uart_destroy(sc);
}

TEST(dlab_switches_offsets_0_and_1)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	uart_write(sc, UART_MCR, UART_MCR_LOOP);
	uart_write(sc, UART_LCR, UART_LCR_DLAB | 0x03);
	CHECK_EQ(uart_read(sc, UART_LCR), UART_LCR_DLAB | 0x03);
	uart_write(sc, UART_DLL, 0x41);
	uart_write(sc, UART_DLM, 0x80);
	CHECK_EQ(uart_read(sc, UART_DLL), 0x41);
	CHECK_EQ(uart_read(sc, UART_DLM), 0x80);
	/* Neither write reached THR or IER. */
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	/* Offsets 2..7 are unaffected by DLAB. */
	uart_write(sc, UART_SCR, 0x77);
	CHECK_EQ(uart_read(sc, UART_SCR), 0x77);
	uart_write(sc, UART_LCR, 0x03);
	CHECK_EQ(uart_read(sc, UART_IER), 0);
	uart_write(sc, UART_IER, 0x05);
	uart_write(sc, UART_THR, 'Z');
	CHECK_EQ(uart_read(sc, UART_RBR), 'Z');
	CHECK_EQ(uart_read(sc, UART_IER), 0x05);
	uart_write(sc, UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(uart_read(sc, UART_DLL), 0x41);
	CHECK_EQ(uart_read(sc, UART_DLM), 0x80);
	uart_destroy(sc);
}

TEST(scratch_and_register_masks)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	for (int v = 0; v < 256; v++) {
		uart_write(sc, UART_SCR, (uint8_t)v);
		CHECK_EQ(uart_read(sc, UART_SCR), v);
	}
	uart_write(sc, UART_IER, 0xff);
	CHECK_EQ(uart_read(sc, UART_IER), 0x0f);
	uart_write(sc, UART_MCR, 0xff);
	CHECK_EQ(uart_read(sc, UART_MCR), 0x1f);
	uart_write(sc, UART_MCR, 0);
	/* LSR and MSR ignore writes. */
	uart_write(sc, UART_LSR, 0xff);
	CHECK_EQ(uart_read(sc, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	(void)uart_read(sc, UART_MSR);
	uart_write(sc, UART_MSR, 0x0f);
	CHECK_EQ(uart_read(sc, UART_MSR) & UART_MSR_DELTAS, 0);
	uart_destroy(sc);
}

TEST(holding_register_mode_overruns_by_replacing)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	CHECK_EQ(rx(sc, "a"), 1);
	CHECK_EQ(uart_read(sc, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT |
	    UART_LSR_DR);
	CHECK_EQ(rx(sc, "bc"), 0);
	CHECK_EQ(uart_read(sc, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT |
	    UART_LSR_DR | UART_LSR_OE);
	/* Reading LSR cleared OE. */
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_OE, 0);
	CHECK_EQ(uart_read(sc, UART_RBR), 'c');
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	/* Empty: RBR still reads the last character. */
	CHECK_EQ(uart_read(sc, UART_RBR), 'c');
	uart_destroy(sc);
}

TEST(fifo_fill_drain_overrun)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);
	const char *msg = "0123456789abcdef";

	REQUIRE(sc != NULL);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_NOPEND);
	CHECK_EQ(rx(sc, msg), 16);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_OE, 0);
	CHECK_EQ(rx(sc, "XY"), 0);
	CHECK_EQ(uart_read(sc, UART_LSR) & (UART_LSR_OE | UART_LSR_DR),
	    UART_LSR_OE | UART_LSR_DR);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_OE, 0);
	/* The FIFO kept the first 16; the overrunning ones were lost. */
	for (int i = 0; i < 16; i++)
		CHECK_EQ(uart_read(sc, UART_RBR), msg[i]);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(rx(sc, "q"), 1);
	CHECK_EQ(uart_read(sc, UART_RBR), 'q');
	uart_destroy(sc);
}

TEST(fifo_resets)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(rx(sc, "hello"), 5);
	/* TX reset leaves RX alone. */
	uart_write(sc, UART_FCR, UART_FCR_ENABLE | UART_FCR_TXRST);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE | UART_FCR_RXRST);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	/* Clearing FCR0 turns the FIFOs off and empties them. */
	CHECK_EQ(rx(sc, "abc"), 3);
	uart_write(sc, UART_FCR, UART_FCR_RXRST | 0xc0);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	CHECK_EQ(rx(sc, "ab"), 1); /* one-byte holding register again */
	/* Turning them on empties them too. */
	uart_write(sc, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	/* Rewriting FCR with FCR0 still set keeps the contents. */
	CHECK_EQ(rx(sc, "xyz"), 3);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE | 0x40);
	CHECK_EQ(uart_read(sc, UART_RBR), 'x');
	uart_destroy(sc);
}

TEST(trigger_levels_and_timeout)
{
	static const struct {
		uint8_t fcr;
		size_t level;
	} cases[] = { { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 } };
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	uart_write(sc, UART_IER, UART_IER_ERBFI);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uart_write(sc, UART_FCR, cases[i].fcr | UART_FCR_RXRST);
		for (size_t n = 1; n < cases[i].level; n++) {
			CHECK_EQ(rx(sc, "."), 1);
			CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_CTI);
		}
		CHECK_EQ(rx(sc, "!"), 1);
		CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_RDA);
		if (cases[i].level > 1) {
			(void)uart_read(sc, UART_RBR);
			CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_CTI);
		}
	}
	/* 16450 mode: any character is "data available". */
	uart_write(sc, UART_FCR, 0);
	CHECK_EQ(rx(sc, "z"), 1);
	CHECK_EQ(iir(sc), UART_IIR_RDA);
	uart_destroy(sc);
}

TEST(iir_priority_order)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);
	uint8_t msr;

	REQUIRE(sc != NULL);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE);
	uart_write(sc, UART_IER, 0x0f);
	/* A modem status change: leaving and re-entering normal mode. */
	uart_write(sc, UART_MCR, UART_MCR_LOOP);
	uart_write(sc, UART_MCR, 0);
	CHECK_EQ(rx(sc, "0123456789abcdefg"), 16);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_RLS);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_RLS); /* sticky */
	(void)uart_read(sc, UART_LSR);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_RDA);
	for (int i = 0; i < 16; i++)
		(void)uart_read(sc, UART_RBR);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_THRE);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_MS);
	msr = uart_read(sc, UART_MSR);
	CHECK_EQ(msr & UART_MSR_DELTAS,
	    UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_NOPEND);
	uart_destroy(sc);
}

TEST(iir_sources_need_their_enable_bit)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	uart_write(sc, UART_MCR, UART_MCR_LOOP);
	uart_write(sc, UART_MCR, 0);
	CHECK_EQ(rx(sc, "ab"), 1); /* and an overrun */
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	uart_write(sc, UART_IER, UART_IER_EDSSI);
	CHECK_EQ(iir(sc), UART_IIR_MS);
	uart_write(sc, UART_IER, UART_IER_ELSI);
	CHECK_EQ(iir(sc), UART_IIR_RLS);
	uart_write(sc, UART_IER, UART_IER_ERBFI);
	CHECK_EQ(iir(sc), UART_IIR_RDA);
	uart_destroy(sc);
}

TEST(thre_interrupt_edge_cases)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	/* Enabling ETBEI with THR empty raises THRE at once. */
	uart_write(sc, UART_IER, UART_IER_ETBEI);
	CHECK_EQ(iir(sc), UART_IIR_THRE);
	/* Reading IIR while it reports THRE cleared it. */
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	/* Rewriting IER with ETBEI already set does not raise it again. */
	uart_write(sc, UART_IER, UART_IER_ETBEI);
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	/* Each THR write empties THR again at once: THRE again. */
	uart_write(sc, UART_THR, 'x');
	CHECK_EQ(iir(sc), UART_IIR_THRE);
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	/* Masked while pending, then unmasked: reported. */
	uart_write(sc, UART_IER, 0);
	uart_write(sc, UART_THR, 'y');
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	uart_write(sc, UART_IER, UART_IER_ETBEI);
	CHECK_EQ(iir(sc), UART_IIR_THRE);
	/* Hidden under received data, an IIR read does not clear it. */
	uart_write(sc, UART_THR, 'z');
	uart_write(sc, UART_IER, UART_IER_ETBEI | UART_IER_ERBFI);
	CHECK_EQ(rx(sc, "r"), 1);
	CHECK_EQ(iir(sc), UART_IIR_RDA);
	(void)uart_read(sc, UART_RBR);
	CHECK_EQ(iir(sc), UART_IIR_THRE);
	CHECK_EQ(iir(sc), UART_IIR_NOPEND);
	/* THRE and TEMT always read set: transmission is instant. */
	CHECK_EQ(uart_read(sc, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
	    UART_LSR_THRE | UART_LSR_TEMT);
	uart_destroy(sc);
}

TEST(msr_deltas_in_loopback)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	/* Normal CTS|DSR|DCD -> loopback with RTS only: DSR, DCD drop. */
	uart_write(sc, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	CHECK_EQ(uart_read(sc, UART_MSR),
	    UART_MSR_CTS | UART_MSR_DDSR | UART_MSR_DDCD);
	CHECK_EQ(uart_read(sc, UART_MSR), UART_MSR_CTS);
	uart_write(sc, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_DTR);
	CHECK_EQ(uart_read(sc, UART_MSR),
	    UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DDSR);
	/* RI: a leading edge sets no delta, the trailing edge sets TERI. */
	uart_write(sc, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	CHECK_EQ(uart_read(sc, UART_MSR),
	    UART_MSR_RI | UART_MSR_DCTS | UART_MSR_DDSR);
	uart_write(sc, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	CHECK_EQ(uart_read(sc, UART_MSR),
	    UART_MSR_DCD | UART_MSR_TERI | UART_MSR_DDCD);
	/* Deltas accumulate until read. */
	uart_write(sc, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	uart_write(sc, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(uart_read(sc, UART_MSR), UART_MSR_DCTS | UART_MSR_DDCD);
	CHECK_EQ(uart_read(sc, UART_MSR), 0);
	uart_destroy(sc);
}

TEST(loopback_mode)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	uart_write(sc, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	uart_write(sc, UART_IER, UART_IER_ERBFI);
	uart_write(sc, UART_THR, 'A');
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(iir(sc), UART_IIR_RDA);
	/* The interrupt line stays quiet in loopback (OUT2 pin forced off). */
	CHECK_EQ(p.asserts, 0);
	CHECK_EQ(uart_read(sc, UART_RBR), 'A');
	/* The serial input is disconnected. */
	CHECK_EQ(rx(sc, "x"), 0);
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_DR, 0);
	/* Overrun through the loop, FIFO mode. */
	uart_write(sc, UART_FCR, UART_FCR_ENABLE);
	for (int i = 0; i < 17; i++)
		uart_write(sc, UART_THR, (uint8_t)('a' + i));
	CHECK_EQ(uart_read(sc, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(uart_read(sc, UART_RBR), 'a' + i);
	/* Back to normal: data waiting raises the line (OUT2 set). */
	uart_write(sc, UART_THR, '!');
	uart_write(sc, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(p.asserts, 1);
	CHECK(p.level);
	CHECK_EQ(uart_read(sc, UART_RBR), '!');
	CHECK(!p.level);
	uart_destroy(sc);
}

TEST(irq_callbacks_only_on_level_changes)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);

	REQUIRE(sc != NULL);
	uart_write(sc, UART_IER, UART_IER_ERBFI);
	CHECK_EQ(rx(sc, "a"), 1);
	CHECK_EQ(p.asserts, 0); /* OUT2 off: gated */
	uart_write(sc, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(p.asserts, 1);
	(void)uart_read(sc, UART_LSR);
	(void)iir(sc);
	(void)uart_read(sc, UART_MSR);
	uart_write(sc, UART_SCR, 1);
	CHECK_EQ(p.asserts, 1);
	CHECK_EQ(p.deasserts, 0);
	CHECK_EQ(uart_read(sc, UART_RBR), 'a');
	CHECK_EQ(p.deasserts, 1);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(rx(sc, "abc"), 3);
	CHECK_EQ(rx(sc, "def"), 3);
	CHECK_EQ(p.asserts, 2);
	uart_write(sc, UART_MCR, 0);
	CHECK_EQ(p.deasserts, 2);
	uart_write(sc, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	CHECK_EQ(p.asserts, 3);
	uart_write(sc, UART_IER, UART_IER_ERBFI | UART_IER_ETBEI);
	CHECK_EQ(p.asserts, 3);
	uart_write(sc, UART_FCR, UART_FCR_ENABLE | UART_FCR_RXRST);
	/* Still asserted: THRE took over from received data. */
	CHECK_EQ(p.deasserts, 2);
	CHECK_EQ(iir(sc), UART_IIR_FIFOS | UART_IIR_THRE);
	CHECK_EQ(p.deasserts, 3);
	uart_write(sc, UART_THR, 'o');
	CHECK_EQ(p.asserts, 4);
	CHECK_EQ(p.same_level, 0);
	/* Teardown releases an asserted line. */
	uart_destroy(sc);
	CHECK_EQ(p.deasserts, 4);
	CHECK(!p.level);
}

/* A small deterministic generator (xorshift32). */
static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool
valid_iir(uint8_t v)
{
	uint8_t id = v & UART_IIR_ID_MASK;

	return (v & 0x30) == 0 && (id == UART_IIR_NOPEND ||
	    id == UART_IIR_RLS || id == UART_IIR_RDA || id == UART_IIR_CTI ||
	    id == UART_IIR_THRE || id == UART_IIR_MS);
}

TEST(hostile_register_traffic)
{
	struct irq_probe p;
	struct uart_softc *sc = new_uart(&p);
	uint32_t seed = 0x1655a;
	int bad_iir = 0, bad_lsr = 0;

	REQUIRE(sc != NULL);
	/* Every value at every offset, including out of range ones. */
	for (int off = -2; off < UART_NREGS + 2; off++)
		for (int v = 0; v < 256; v++) {
			uart_write(sc, off, (uint8_t)v);
			(void)uart_read(sc, off);
		}
	for (int i = 0; i < 200000; i++) {
		uint32_t r = next_rand(&seed);
		int off = (int)(r % UART_NREGS);
		uint8_t v = (uint8_t)(r >> 8), c = (uint8_t)(r >> 16);

		if ((r >> 24) & 1) {
			uart_write(sc, off, v);
		} else {
			(void)uart_read(sc, off);
		}
		if (((r >> 25) & 7) == 0)
			(void)uart_receive(sc, &c, 1);
		if (!valid_iir(iir(sc)))
			bad_iir++;
		if ((uart_read(sc, UART_LCR) & UART_LCR_DLAB) == 0 &&
		    (~uart_read(sc, UART_LSR) &
		    (UART_LSR_THRE | UART_LSR_TEMT)) != 0)
			bad_lsr++;
	}
	CHECK_EQ(bad_iir, 0);
	CHECK_EQ(bad_lsr, 0);
	CHECK_EQ(p.same_level, 0);
	CHECK(p.asserts > 0);
	CHECK(p.asserts - p.deasserts == (p.level ? 1 : 0));
	uart_destroy(sc);
	CHECK(!p.level);
}

TEST(no_backend_and_no_callbacks)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char err[128] = "";

	REQUIRE(sc != NULL);
	CHECK_EQ(uart_set_backend(sc, NULL, NULL, err, sizeof(err)), 0);
	uart_write(sc, UART_MCR, UART_MCR_OUT2);
	uart_write(sc, UART_IER, UART_IER_ETBEI);
	uart_write(sc, UART_THR, 'x'); /* dropped: no backend */
	CHECK_EQ(iir(sc), UART_IIR_THRE);
	CHECK_EQ(rx(sc, "k"), 1);
	CHECK_EQ(uart_read(sc, UART_RBR), 'k');
	uart_destroy(sc);
	uart_destroy(NULL);
}

TEST_MAIN(
	TEST_ENTRY(reset_values)
	TEST_ENTRY(dlab_switches_offsets_0_and_1)
	TEST_ENTRY(scratch_and_register_masks)
	TEST_ENTRY(holding_register_mode_overruns_by_replacing)
	TEST_ENTRY(fifo_fill_drain_overrun)
	TEST_ENTRY(fifo_resets)
	TEST_ENTRY(trigger_levels_and_timeout)
	TEST_ENTRY(iir_priority_order)
	TEST_ENTRY(iir_sources_need_their_enable_bit)
	TEST_ENTRY(thre_interrupt_edge_cases)
	TEST_ENTRY(msr_deltas_in_loopback)
	TEST_ENTRY(loopback_mode)
	TEST_ENTRY(irq_callbacks_only_on_level_changes)
	TEST_ENTRY(hostile_register_traffic)
	TEST_ENTRY(no_backend_and_no_callbacks)
)
