/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host side of an emulated serial port, named as bhyve names it:
 *
 *   "stdio"          stdin/stdout; a terminal on stdin goes raw.  One per
 *                    process.
 *   "tcp=IP:PORT"    a listening socket (also "tcp=[IPv6]:PORT"); one
 *                    client at a time, later ones are turned away while it
 *                    is connected.  Output with no client is dropped.
 *   a path           a terminal, pty or other character device, or a FIFO:
 *                    read and written (a terminal goes raw).  A regular
 *                    file, or a path that does not exist yet, is an output
 *                    log: created or truncated, never read.
 *
 * Input is watched on the event loop: when bytes are ready, 'rx_ready' is
 * called there and pulls them with uart_backend_read().  Output never
 * blocks the caller: bytes the host side cannot take at once are dropped.
 *
 * Locking: a backend has its own lock, taken inside every call below, so a
 * caller may hold its own lock across them (the UART model does); the
 * backend never holds its lock while calling 'rx_ready'.
 */
#ifndef UART_BACKEND_H
#define UART_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

struct mevent_ctx;
struct uart_backend;

typedef void uart_backend_rx_t(void *arg);

/*
 * Open the host side named by 'path'.  On error returns a negative errno
 * and writes a one-line reason naming the path into 'err'.
 */
int uart_backend_open(struct uart_backend **bep, const char *path,
    struct mevent_ctx *mev, uart_backend_rx_t *rx_ready, void *arg,
    char *err, size_t errlen) __attribute__((warn_unused_result));
/*
 * Stop watching, close what was opened, restore a raw terminal.  Must not
 * race with this backend's callbacks: call it from the event loop thread
 * or while the loop is not running.
 */
void uart_backend_close(struct uart_backend *be);

/* Up to 'len' input bytes that are ready now; 0 if none.  Never blocks. */
size_t uart_backend_read(struct uart_backend *be, uint8_t *buf, size_t len);
/* Send what the host side takes at once; drop the rest. */
void uart_backend_write(struct uart_backend *be, const uint8_t *buf,
    size_t len);
/*
 * Watch input or not: the UART turns input off while it has no room for
 * more (flow control toward the host, which buffers meanwhile).
 */
void uart_backend_rx_enable(struct uart_backend *be, bool on);

/*
 * Raw-mode helpers: save the terminal's settings in *saved and make it raw
 * (no echo, no line editing, no signals, no output post-processing, as a
 * serial line is); restore what was saved.  Negative errno on error.
 */
int uart_tty_make_raw(int fd, struct termios *saved);
int uart_tty_restore(int fd, const struct termios *saved);

#endif /* UART_BACKEND_H */
