/* SPDX-License-Identifier: BSD-2-Clause */
/* "key=value" words on the multiboot command line. */
#include "guest.h"

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
skip_spaces(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

static size_t
word_len(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0' && !is_space(s[n]))
		n++;
	return n;
}

/*
 * QEMU's multiboot loader passes "<kernel path> <append>" (GRUB does the
 * same); bhyve passes boot.cmdline alone.  A first word with a '/' and no
 * '=' is taken for the path (the harness always names guests with one).
 */
const char *
cmdline_args(const char *cmdline)
{
	const char *s = skip_spaces(cmdline);
	size_t n = word_len(s);
	bool slash = false;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			return s;
		slash |= s[i] == '/';
	}
	return slash ? skip_spaces(s + n) : s;
}

/* Copies the value of the last "key=value" word into buf. */
bool
cmdline_get(const char *args, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	bool found = false;

	for (const char *s = skip_spaces(args); *s != '\0';) {
		size_t n = word_len(s);

		if (n > klen && s[klen] == '=' && strncmp(s, key, klen) == 0) {
			size_t vlen = n - klen - 1;

			if (vlen >= len)
				return false;
			memcpy(buf, s + klen + 1, vlen);
			buf[vlen] = '\0';
			found = true;
		}
		s = skip_spaces(s + n);
	}
	return found;
}

bool
cmdline_has_word(const char *args, const char *word)
{
	size_t wlen = strlen(word);

	for (const char *s = skip_spaces(args); *s != '\0';) {
		size_t n = word_len(s);

		if (n == wlen && strncmp(s, word, n) == 0)
			return true;
		s = skip_spaces(s + n);
	}
	return false;
}

/* Decimal, or hexadecimal after 0x; the whole string must be a number. */
bool
parse_u64(const char *s, uint64_t *val)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		v = v * base + d;
	}
	*val = v;
	return true;
}

bool
cmdline_get_u64(const char *args, const char *key, uint64_t *val)
{
	char buf[32];

	return cmdline_get(args, key, buf, sizeof(buf)) && parse_u64(buf, val);
}
