/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 16550A register model.  Names in quotes refer to the National/TI
 * PC16550D data sheet: its register descriptions, the "Interrupt Control
 * Functions" table (IIR priorities and how each source is reset) and the
 * "UART Reset Configuration" table.
 *
 * The transmitter has no baud-rate timing: a character written to THR
 * leaves at once, so THR and the shift register always read empty.  The
 * receiver has a real FIFO (16 bytes, or a single holding register in
 * 16450 mode) fed by the backend, which is flow-controlled rather than
 * overrun: input stops being watched while the FIFO is full.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "uart_backend.h"
#include "uart_emul.h"

/* 1.8432 MHz / 16 / 12 = 9600 baud, what PC firmware programs. */
#define UART_DEFAULT_DIVISOR 12
#define UART_IER_MASK 0x0f
#define UART_MCR_MASK 0x1f
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

struct uart_fifo {
	uint8_t buf[UART_FIFO_SIZE];
	unsigned head; /* next byte to read */
	unsigned count;
};

struct uart_softc {
	pthread_mutex_t mtx; /* everything below */
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr; /* only the error bits: DR, THRE, TEMT are computed */
	uint8_t msr;
	uint8_t fcr; /* what was accepted of the last FCR write */
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	uint8_t rbr; /* the last character read */
	struct uart_fifo rx;
	bool thre_pending; /* the THRE interrupt condition */
	bool irq_level;	   /* what the callbacks were last told */
	bool rx_on;	   /* what the backend was last told */
	uart_intr_func_t *intr_assert;
	uart_intr_func_t *intr_deassert;
	void *arg;
	struct uart_backend *be;
};

typedef uint8_t uart_reg_read_t(struct uart_softc *sc);
typedef void uart_reg_write_t(struct uart_softc *sc, uint8_t v);

/* Receive FIFO. */

static bool
uart_fifo_on(const struct uart_softc *sc)
{
	return (sc->fcr & UART_FCR_ENABLE) != 0;
}

static unsigned
uart_fifo_cap(const struct uart_softc *sc)
{
	return uart_fifo_on(sc) ? UART_FIFO_SIZE : 1;
}

static unsigned
uart_fifo_room(const struct uart_softc *sc)
{
	return uart_fifo_cap(sc) - sc->rx.count;
}

static void
uart_fifo_reset(struct uart_softc *sc)
{
	sc->rx.head = 0;
	sc->rx.count = 0;
}

static int
uart_fifo_get(struct uart_softc *sc)
{
	uint8_t c;

	if (sc->rx.count == 0)
		return -1;
	c = sc->rx.buf[sc->rx.head];
	sc->rx.head = (sc->rx.head + 1) % UART_FIFO_SIZE;
	sc->rx.count--;
	return c;
}

/*
 * One character at the receiver.  With no room it is an overrun (LSR bit
 * 1): in FIFO mode the new character is lost and the FIFO kept; in 16450
 * mode it replaces the unread one in RBR.
 */
static bool
uart_rx_put(struct uart_softc *sc, uint8_t c)
{
	if (sc->rx.count < uart_fifo_cap(sc)) {
		sc->rx.buf[(sc->rx.head + sc->rx.count) % UART_FIFO_SIZE] = c;
		sc->rx.count++;
		return true;
	}
	sc->lsr |= UART_LSR_OE;
	if (!uart_fifo_on(sc))
		sc->rx.buf[sc->rx.head] = c;
	return false;
}

/* Interrupts. */

static unsigned
uart_rx_trigger(const struct uart_softc *sc)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };

	return uart_fifo_on(sc) ? levels[sc->fcr >> 6] : 1;
}

/*
 * The highest-priority enabled source, as IIR bits 0-3 report it (data
 * sheet table "Interrupt Control Functions").  Below the trigger level the
 * FIFO reports a character timeout; with no receive timing here, the four
 * character times it waits for have always passed.
 */
static uint8_t
uart_intr_id(const struct uart_softc *sc)
{
	if ((sc->ier & UART_IER_ELSI) && (sc->lsr & UART_LSR_ERRORS))
		return UART_IIR_RLS;
	if ((sc->ier & UART_IER_ERBFI) && sc->rx.count > 0)
		return sc->rx.count >= uart_rx_trigger(sc) ? UART_IIR_RDA :
		    UART_IIR_CTI;
	if ((sc->ier & UART_IER_ETBEI) && sc->thre_pending)
		return UART_IIR_THRE;
	if ((sc->ier & UART_IER_EDSSI) && (sc->msr & UART_MSR_DELTAS))
		return UART_IIR_MS;
	return UART_IIR_NOPEND;
}

/*
 * On a PC the UART's INTR pin reaches the interrupt controller through a
 * buffer enabled by the OUT2 pin, and loopback mode forces the modem
 * outputs inactive, so either one keeps the line quiet (IBM PC/AT
 * asynchronous adapter; data sheet "Loopback").  Call the callbacks only
 * on a change of level: lines may be shared (COM1/COM3), and the
 * controllers count assertions.
 */
static void
uart_update(struct uart_softc *sc)
{
	bool level = uart_intr_id(sc) != UART_IIR_NOPEND &&
	    (sc->mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) == UART_MCR_OUT2;
	bool rx_on = (sc->mcr & UART_MCR_LOOP) == 0 && uart_fifo_room(sc) > 0;

	if (level != sc->irq_level) {
		uart_intr_func_t *fn = level ? sc->intr_assert :
		    sc->intr_deassert;

		sc->irq_level = level;
		if (fn != NULL)
			fn(sc->arg);
	}
	if (sc->be != NULL && rx_on != sc->rx_on) {
		sc->rx_on = rx_on;
		uart_backend_rx_enable(sc->be, rx_on);
	}
}

/*
 * Modem control inputs: in loopback RTS, DTR, OUT1, OUT2 drive CTS, DSR,
 * RI, DCD (data sheet MCR bit 4).  Otherwise the host side is a null-modem
 * peer that is always ready: CTS, DSR and DCD on, so that a guest using
 * hardware flow control or waiting for carrier does not stall.
 */
static uint8_t
uart_modem_inputs(uint8_t mcr)
{
	uint8_t in = 0;

	if ((mcr & UART_MCR_LOOP) == 0)
		return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	if (mcr & UART_MCR_RTS)
		in |= UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)
		in |= UART_MSR_DSR;
	if (mcr & UART_MCR_OUT1)
		in |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		in |= UART_MSR_DCD;
	return in;
}

/* Register reads. */

static uint8_t
uart_rd_rbr(struct uart_softc *sc)
{
	int c = uart_fifo_get(sc);

	/* With nothing received, RBR still holds the last character. */
	if (c >= 0)
		sc->rbr = (uint8_t)c;
	return sc->rbr;
}

static uint8_t
uart_rd_ier(struct uart_softc *sc)
{
	return sc->ier;
}

/*
 * Reading IIR while it reports THRE clears that condition (data sheet
 * table "Interrupt Control Functions", THRE reset: "reading the IIR if
 * source of interrupt").
 */
static uint8_t
uart_rd_iir(struct uart_softc *sc)
{
	uint8_t id = uart_intr_id(sc);

	if (id == UART_IIR_THRE)
		sc->thre_pending = false;
	return id | (uart_fifo_on(sc) ? UART_IIR_FIFOS : 0);
}

static uint8_t
uart_rd_lcr(struct uart_softc *sc)
{
	return sc->lcr;
}

static uint8_t
uart_rd_mcr(struct uart_softc *sc)
{
	return sc->mcr;
}

/* Reading LSR clears the error bits, and with them the RLS interrupt. */
static uint8_t
uart_rd_lsr(struct uart_softc *sc)
{
	uint8_t v = sc->lsr | UART_LSR_THRE | UART_LSR_TEMT;

	if (sc->rx.count > 0)
		v |= UART_LSR_DR;
	sc->lsr &= (uint8_t)~UART_LSR_ERRORS;
	return v;
}

/* Reading MSR clears the delta bits, and with them the MS interrupt. */
static uint8_t
uart_rd_msr(struct uart_softc *sc)
{
	uint8_t v = sc->msr;

	sc->msr &= (uint8_t)~UART_MSR_DELTAS;
	return v;
}

static uint8_t
uart_rd_scr(struct uart_softc *sc)
{
	return sc->scr;
}

/* Register writes. */

static void
uart_wr_thr(struct uart_softc *sc, uint8_t v)
{
	if (sc->mcr & UART_MCR_LOOP)
		(void)uart_rx_put(sc, v);
	else if (sc->be != NULL)
		uart_backend_write(sc->be, &v, 1);
	/*
	 * Writing THR clears THRE, and the character leaves at once, so THR
	 * is empty again: the THRE interrupt is pending anew.
	 */
	sc->thre_pending = true;
}

/*
 * Enabling ETBEI while THR is empty raises THRE at once; drivers probe
 * for this (Linux's 8250 UART_BUG_THRE test).
 */
static void
uart_wr_ier(struct uart_softc *sc, uint8_t v)
{
	v &= UART_IER_MASK;
	if ((sc->ier & UART_IER_ETBEI) == 0 && (v & UART_IER_ETBEI) != 0)
		sc->thre_pending = true;
	sc->ier = v;
}

/*
 * FCR bit 0 must be set for the other bits to take; changing it clears
 * both FIFOs.  Bits 1 and 2 self-clear; the TX FIFO is always empty here.
 */
static void
uart_wr_fcr(struct uart_softc *sc, uint8_t v)
{
	if ((v ^ sc->fcr) & UART_FCR_ENABLE)
		uart_fifo_reset(sc);
	if ((v & UART_FCR_ENABLE) == 0) {
		sc->fcr = 0;
		return;
	}
	if (v & UART_FCR_RXRST)
		uart_fifo_reset(sc);
	sc->fcr = v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER);
}

static void
uart_wr_lcr(struct uart_softc *sc, uint8_t v)
{
	sc->lcr = v;
}

/* MSR deltas: any change of CTS, DSR, DCD; RI only on its trailing edge. */
static void
uart_wr_mcr(struct uart_softc *sc, uint8_t v)
{
	uint8_t in, changed, deltas = 0;

	sc->mcr = v & UART_MCR_MASK;
	in = uart_modem_inputs(sc->mcr);
	changed = in ^ sc->msr;
	if (changed & UART_MSR_CTS)
		deltas |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		deltas |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		deltas |= UART_MSR_DDCD;
	if ((sc->msr & UART_MSR_RI) && !(in & UART_MSR_RI))
		deltas |= UART_MSR_TERI;
	sc->msr = (sc->msr & UART_MSR_DELTAS) | deltas | in;
}

/* LSR and MSR writes are for factory testing: ignored. */
static void
uart_wr_none(struct uart_softc *sc, uint8_t v)
{
}

static void
uart_wr_scr(struct uart_softc *sc, uint8_t v)
{
	sc->scr = v;
}

static uart_reg_read_t *const uart_reg_read[UART_NREGS] = {
	[UART_RBR] = uart_rd_rbr,
	[UART_IER] = uart_rd_ier,
	[UART_IIR] = uart_rd_iir,
	[UART_LCR] = uart_rd_lcr,
	[UART_MCR] = uart_rd_mcr,
	[UART_LSR] = uart_rd_lsr,
	[UART_MSR] = uart_rd_msr,
	[UART_SCR] = uart_rd_scr,
};

static uart_reg_write_t *const uart_reg_write[UART_NREGS] = {
	[UART_THR] = uart_wr_thr,
	[UART_IER] = uart_wr_ier,
	[UART_FCR] = uart_wr_fcr,
	[UART_LCR] = uart_wr_lcr,
	[UART_MCR] = uart_wr_mcr,
	[UART_LSR] = uart_wr_none,
	[UART_MSR] = uart_wr_none,
	[UART_SCR] = uart_wr_scr,
};

/* With LCR.DLAB set, offsets 0 and 1 are the divisor latch. */
static uint8_t *
uart_divisor_reg(struct uart_softc *sc, int offset)
{
	if ((sc->lcr & UART_LCR_DLAB) == 0)
		return NULL;
	if (offset == UART_DLL)
		return &sc->dll;
	if (offset == UART_DLM)
		return &sc->dlm;
	return NULL;
}

uint8_t
uart_read(struct uart_softc *sc, int offset)
{
	uint8_t *dl, v;

	if (offset < 0 || offset >= UART_NREGS)
		return 0xff;
	pthread_mutex_lock(&sc->mtx);
	dl = uart_divisor_reg(sc, offset);
	v = dl != NULL ? *dl : uart_reg_read[offset](sc);
	uart_update(sc);
	pthread_mutex_unlock(&sc->mtx);
	return v;
}

void
uart_write(struct uart_softc *sc, int offset, uint8_t value)
{
	uint8_t *dl;

	if (offset < 0 || offset >= UART_NREGS)
		return;
	pthread_mutex_lock(&sc->mtx);
	dl = uart_divisor_reg(sc, offset);
	if (dl != NULL)
		*dl = value;
	else
		uart_reg_write[offset](sc, value);
	uart_update(sc);
	pthread_mutex_unlock(&sc->mtx);
}

size_t
uart_receive(struct uart_softc *sc, const uint8_t *buf, size_t len)
{
	size_t stored = 0;

	pthread_mutex_lock(&sc->mtx);
	if ((sc->mcr & UART_MCR_LOOP) == 0)
		for (size_t i = 0; i < len; i++)
			stored += uart_rx_put(sc, buf[i]);
	uart_update(sc);
	pthread_mutex_unlock(&sc->mtx);
	return stored;
}

/*
 * The backend has input (event loop thread): take what fits.  The rest
 * stays on the host side until the guest makes room.
 */
static void
uart_rx_ready(void *arg)
{
	struct uart_softc *sc = arg;
	uint8_t buf[UART_FIFO_SIZE];
	size_t n = 0;

	pthread_mutex_lock(&sc->mtx);
	if (sc->be != NULL && (sc->mcr & UART_MCR_LOOP) == 0)
		n = uart_backend_read(sc->be, buf, uart_fifo_room(sc));
	for (size_t i = 0; i < n; i++)
		(void)uart_rx_put(sc, buf[i]);
	uart_update(sc);
	pthread_mutex_unlock(&sc->mtx);
}

/* Reset values: data sheet table "UART Reset Configuration". */
struct uart_softc *
uart_init(uart_intr_func_t *intr_assert, uart_intr_func_t *intr_deassert,
    void *arg)
{
	struct uart_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return NULL;
	pthread_mutex_init(&sc->mtx, NULL);
	sc->intr_assert = intr_assert;
	sc->intr_deassert = intr_deassert;
	sc->arg = arg;
	sc->dll = UART_DEFAULT_DIVISOR;
	sc->msr = uart_modem_inputs(0);
	sc->rx_on = true; /* a new backend watches its input */
	return sc;
}

int
uart_set_backend(struct uart_softc *sc, const char *path,
    struct mevent_ctx *mev, char *err, size_t errlen)
{
	struct uart_backend *be;
	int error;

	if (path == NULL)
		return 0;
	if (sc->be != NULL) {
		snprintf(err, errlen, "%s: the port already has a backend",
		    path);
		return -EBUSY;
	}
	error = uart_backend_open(&be, path, mev, uart_rx_ready, sc, err,
	    errlen);
	if (error)
		return error;
	pthread_mutex_lock(&sc->mtx);
	sc->be = be;
	sc->rx_on = true;
	uart_update(sc);
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

void
uart_destroy(struct uart_softc *sc)
{
	if (sc == NULL)
		return;
	uart_backend_close(sc->be);
	if (sc->irq_level && sc->intr_deassert != NULL)
		sc->intr_deassert(sc->arg);
	pthread_mutex_destroy(&sc->mtx);
	free(sc);
}
