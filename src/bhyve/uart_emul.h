/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A 16550A UART register model (National Semiconductor / TI PC16550D).
 * The model does no host I/O itself: a backend (uart_backend.h) attached
 * with uart_set_backend() carries the bytes.  Register names and bits are
 * the data sheet's.
 *
 * Thread safety: uart_read()/uart_write() run on vCPU threads and input
 * arrives on the event loop thread; one lock per UART serialises them.
 * The interrupt callbacks are called with that lock held, only when the
 * interrupt output changes level, so they must not call back into the UART.
 */
#ifndef UART_EMUL_H
#define UART_EMUL_H

#include <stddef.h>
#include <stdint.h>

#define UART_CHECK __attribute__((warn_unused_result))

#define UART_NREGS 8	   /* eight consecutive I/O ports */
#define UART_FIFO_SIZE 16

/* Register offsets (LCR.DLAB selects DLL/DLM at 0 and 1). */
#define UART_RBR 0 /* read: receiver buffer */
#define UART_THR 0 /* write: transmitter holding */
#define UART_DLL 0 /* DLAB=1: divisor latch, low byte */
#define UART_IER 1
#define UART_DLM 1 /* DLAB=1: divisor latch, high byte */
#define UART_IIR 2 /* read: interrupt identification */
#define UART_FCR 2 /* write: FIFO control */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_ERBFI 0x01 /* received data available */
#define UART_IER_ETBEI 0x02 /* transmitter holding register empty */
#define UART_IER_ELSI 0x04  /* receiver line status */
#define UART_IER_EDSSI 0x08 /* modem status */

#define UART_IIR_NOPEND 0x01 /* bit 0 set: no interrupt pending */
#define UART_IIR_RLS 0x06    /* line status: highest priority */
#define UART_IIR_RDA 0x04    /* received data at the trigger level */
#define UART_IIR_CTI 0x0c    /* character timeout (FIFO mode) */
#define UART_IIR_THRE 0x02
#define UART_IIR_MS 0x00     /* modem status: lowest priority */
#define UART_IIR_ID_MASK 0x0f
#define UART_IIR_FIFOS 0xc0  /* both set when FCR bit 0 is set */

#define UART_FCR_ENABLE 0x01
#define UART_FCR_RXRST 0x02
#define UART_FCR_TXRST 0x04
#define UART_FCR_DMA 0x08
#define UART_FCR_TRIGGER 0xc0 /* RX trigger: 1, 4, 8, 14 bytes */

#define UART_LCR_BREAK 0x40
#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* on a PC: gates the IRQ line */
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_RXFE 0x80 /* error in RX FIFO */

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTAS 0x0f
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

struct mevent_ctx;
struct uart_softc;

typedef void uart_intr_func_t(void *arg);

/*
 * A UART in its reset state.  Either callback may be NULL.  Returns NULL
 * (errno set) when out of memory.
 */
struct uart_softc *uart_init(uart_intr_func_t *intr_assert,
    uart_intr_func_t *intr_deassert, void *arg);
/* Closes the backend; drops the interrupt line if it is asserted. */
void uart_destroy(struct uart_softc *sc);

/* One register access; 'offset' outside 0..7 reads 0xff, writes nothing. */
uint8_t uart_read(struct uart_softc *sc, int offset);
void uart_write(struct uart_softc *sc, int offset, uint8_t value);

/*
 * Attach the host side named by 'path' (see uart_backend.h): "stdio", a
 * device/FIFO/file path or "tcp=IP:PORT"; NULL attaches nothing.  On error
 * returns a negative errno with a one-line reason in 'err'.  Call once,
 * before the guest runs.
 */
int uart_set_backend(struct uart_softc *sc, const char *path,
    struct mevent_ctx *mev, char *err, size_t errlen) UART_CHECK;

/*
 * Characters arriving on the serial input (what a backend delivers):
 * returns how many were stored.  The rest overrun (LSR.OE).  In loopback
 * mode the input is disconnected and nothing is stored.
 */
size_t uart_receive(struct uart_softc *sc, const uint8_t *buf, size_t len);

#endif /* UART_EMUL_H */
