/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small printf to COM1: %d %i %u %x %X %p %s %c %%, the l/ll/z length
 * modifiers, a field width, '0' padding and '-' for left alignment.
 */
#include "guest.h"
#include "smp.h"

/*
 * One CPU prints at a time.  A handler that prints on a CPU already
 * printing goes ahead (waiting would deadlock): its line may land in
 * the middle of the other one.
 */
static volatile int printf_owner = -1;
static int printf_lock_word;

static bool
printf_lock(void)
{
	int self = (int)smp_cpu_index();

	if (printf_owner == self)
		return false;
	while (__atomic_exchange_n(&printf_lock_word, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	printf_owner = self;
	return true;
}

static void
printf_unlock(bool taken)
{
	if (!taken)
		return;
	printf_owner = -1;
	__atomic_store_n(&printf_lock_word, 0, __ATOMIC_RELEASE);
}

struct fmt_spec {
	bool left;
	char pad;
	int width;
	int longs;		/* 0: int, 1: long, 2: long long (same here) */
};

static int
emit_padded(const struct fmt_spec *sp, const char *s, size_t n)
{
	int fill = sp->width > (int)n ? sp->width - (int)n : 0;
	int count = fill + (int)n;

	if (!sp->left)
		for (; fill > 0; fill--)
			serial_putc(sp->pad);
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
	for (; fill > 0; fill--)
		serial_putc(' ');
	return count;
}

static int
emit_number(const struct fmt_spec *sp, uint64_t v, bool neg, int base,
    bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int i = (int)sizeof(buf);
	int count = 0;
	struct fmt_spec rest = *sp;

	do {
		buf[--i] = digits[v % (uint64_t)base];
		v /= (uint64_t)base;
	} while (v != 0);
	if (neg) {
		/* The sign goes before zero padding, after space padding. */
		if (sp->pad == '0') {
			serial_putc('-');
			count = 1;
			rest.width--;
		} else {
			buf[--i] = '-';
		}
	}
	return count + emit_padded(&rest, buf + i, sizeof(buf) - (size_t)i);
}

static uint64_t
arg_unsigned(const struct fmt_spec *sp, va_list *ap)
{
	return sp->longs ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned);
}

static int64_t
arg_signed(const struct fmt_spec *sp, va_list *ap)
{
	return sp->longs ? va_arg(*ap, long) : va_arg(*ap, int);
}

static int
emit_conv(struct fmt_spec *sp, char conv, va_list *ap)
{
	const char *s;
	char c;
	int64_t sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = arg_signed(sp, ap);
		return emit_number(sp, sv < 0 ? 0 - (uint64_t)sv : (uint64_t)sv,
		    sv < 0, 10, false);
	case 'u':
		return emit_number(sp, arg_unsigned(sp, ap), false, 10, false);
	case 'x':
	case 'X':
		return emit_number(sp, arg_unsigned(sp, ap), false, 16,
		    conv == 'X');
	case 'p':
		serial_putc('0');
		serial_putc('x');
		return 2 + emit_number(sp, (uint64_t)va_arg(*ap, void *),
		    false, 16, false);
	case 's':
		s = va_arg(*ap, const char *);
		if (s == NULL)
			s = "(null)";
		return emit_padded(sp, s, strlen(s));
	case 'c':
		c = (char)va_arg(*ap, int);
		return emit_padded(sp, &c, 1);
	default:
		c = conv;
		return emit_padded(sp, &c, 1);
	}
}

/* Parses flags, width and length after '%'; returns the conversion. */
static const char *
parse_spec(const char *f, struct fmt_spec *sp)
{
	*sp = (struct fmt_spec){ .pad = ' ' };
	for (;; f++) {
		if (*f == '0')
			sp->pad = '0';
		else if (*f == '-')
			sp->left = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	for (; *f == 'l' || *f == 'z'; f++)
		sp->longs++;
	if (sp->left)
		sp->pad = ' ';
	return f;
}

int
vprintf(const char *fmt, va_list ap)
{
	va_list args;
	int count = 0;

	va_copy(args, ap);
	while (*fmt) {
		struct fmt_spec sp;

		if (*fmt != '%') {
			serial_putc(*fmt++);
			count++;
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp);
		if (*fmt == '\0')
			break;
		count += emit_conv(&sp, *fmt++, &args);
	}
	va_end(args);
	return count;
}

int
printf(const char *fmt, ...)
{
	va_list ap;
	bool taken = printf_lock();
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	printf_unlock(taken);
	return n;
}
