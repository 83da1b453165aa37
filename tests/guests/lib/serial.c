/* SPDX-License-Identifier: BSD-2-Clause */
/* COM1, polled: 8N1 at 115200 baud, no FIFO set-up, no interrupts. */
#include "guest.h"

#define UART_DATA	0	/* DLL when LCR.DLAB */
#define UART_IER	1	/* DLM when LCR.DLAB */
#define UART_LCR	3
#define UART_LSR	5
#define LCR_DLAB	0x80
#define LCR_8N1		0x03
#define LSR_THRE	0x20	/* transmit holding register empty */
#define LSR_TEMT	0x40	/* transmitter completely idle */

/*
 * A UART that never reports THRE must not hang the guest: give up after
 * this many polls (each is an exit, ~10 us here) and send anyway.
 */
#define UART_POLLS	10000

void
serial_init(void)
{
	outb(COM1_PORT + UART_LCR, LCR_DLAB);
	outb(COM1_PORT + UART_DATA, 1);		/* divisor 1: 115200 baud */
	outb(COM1_PORT + UART_IER, 0);
	outb(COM1_PORT + UART_LCR, LCR_8N1);
}

static void
serial_wait(uint8_t bit)
{
	for (int i = 0; i < UART_POLLS; i++)
		if (inb(COM1_PORT + UART_LSR) & bit)
			return;
}

void
serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	serial_wait(LSR_THRE);
	outb(COM1_PORT + UART_DATA, (uint8_t)c);
}

/* Wait until the last character has left, before the VM goes away. */
void
serial_drain(void)
{
	serial_wait(LSR_TEMT);
}
