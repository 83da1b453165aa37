/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MAC and MTU helpers for the network devices, and the MD5 that bhyve's
 * default MAC address is made of (RFC 1321; written here so that the
 * device model needs no crypto library for three bytes of a hash).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_utils.h"

/* ---- MD5 (RFC 1321, 3.1-3.5) ---- */

struct net_md5_ctx {
	uint32_t h[4];
};

/* floor(abs(sin(i + 1)) * 2^32), RFC 1321 3.4. */
static const uint32_t net_md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf,
	0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af,
	0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e,
	0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6,
	0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
	0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97,
	0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d,
	0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Rotation amounts, four per round. */
static const uint8_t net_md5_s[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 },
	{ 6, 10, 15, 21 },
};

static uint32_t
net_md5_rotl(uint32_t v, unsigned n)
{
	return (v << n) | (v >> (32 - n));
}

/* One 64-byte block: the four rounds of 16 steps (RFC 1321 3.4). */
static void
net_md5_block(struct net_md5_ctx *c, const uint8_t *p)
{
	uint32_t m[16], a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];

	for (int i = 0; i < 16; i++)
		m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		    (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (int i = 0; i < 64; i++) {
		uint32_t f, t;
		int g;

		switch (i / 16) {
		case 0:
			f = (b & cc) | (~b & d);
			g = i;
			break;
		case 1:
			f = (d & b) | (~d & cc);
			g = (5 * i + 1) % 16;
			break;
		case 2:
			f = b ^ cc ^ d;
			g = (3 * i + 5) % 16;
			break;
		default:
			f = cc ^ (b | ~d);
			g = (7 * i) % 16;
			break;
		}
		t = d;
		d = cc;
		cc = b;
		b += net_md5_rotl(a + f + net_md5_k[i] + m[g],
		    net_md5_s[i / 16][i % 4]);
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
}

void
net_md5(const void *data, size_t len, uint8_t digest[16])
{
	struct net_md5_ctx c = { .h = { 0x67452301, 0xefcdab89, 0x98badcfe,
		0x10325476 } };
	const uint8_t *p = data;
	uint8_t tail[128] = { 0 };
	uint64_t bits = (uint64_t)len * 8;
	size_t rest = len % 64, tlen;

	for (size_t i = 0; i + 64 <= len; i += 64)
		net_md5_block(&c, p + i);
	/* Padding: 0x80, zeroes to 56 mod 64, the bit length (3.1, 3.2). */
	if (rest)
		memcpy(tail, p + len - rest, rest);
	tail[rest] = 0x80;
	tlen = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tlen - 8 + (size_t)i] = (uint8_t)(bits >> (8 * i));
	for (size_t i = 0; i < tlen; i += 64)
		net_md5_block(&c, tail + i);
	for (int i = 0; i < 16; i++)
		digest[i] = (uint8_t)(c.h[i / 4] >> (8 * (i % 4)));
}

/* ---- MAC and MTU ---- */

static int
net_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int
net_parsemac(const char *str, uint8_t mac[NET_MAC_LEN])
{
	uint8_t m[NET_MAC_LEN];
	static const uint8_t zero[NET_MAC_LEN];

	if (str == NULL || strlen(str) != 3 * NET_MAC_LEN - 1)
		return -EINVAL;
	for (int i = 0; i < NET_MAC_LEN; i++) {
		const char *o = str + 3 * i;
		int hi = net_hexval(o[0]), lo = net_hexval(o[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < NET_MAC_LEN - 1 && o[2] != ':' && o[2] != '-')
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((m[0] & 1) != 0 || memcmp(m, zero, sizeof(m)) == 0)
		return -EINVAL;
	memcpy(mac, m, sizeof(m));
	return 0;
}

int
net_parsemtu(const char *str, unsigned min, unsigned max, unsigned *mtu)
{
	unsigned long long v;
	char *end;

	if (str == NULL || !isdigit((unsigned char)*str))
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*mtu = (unsigned)v;
	return 0;
}

void
net_genmac(const char *vmname, int slot, int func, uint8_t mac[NET_MAC_LEN])
{
	char seed[320];
	uint8_t digest[16];
	int n;

	n = snprintf(seed, sizeof(seed), "%d-%d-%s", slot, func,
	    vmname ? vmname : "");
	if (n < 0)
		n = 0;
	net_md5(seed, (size_t)n < sizeof(seed) ? (size_t)n : sizeof(seed) - 1,
	    digest);
	mac[0] = 0x58;
	mac[1] = 0x9c;
	mac[2] = 0xfc;
	mac[3] = digest[0];
	mac[4] = digest[1];
	mac[5] = digest[2];
}
