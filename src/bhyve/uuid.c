/* SPDX-License-Identifier: BSD-2-Clause */
/* The VM's UUID (uuid.h). */
#include <errno.h>
#include <string.h>

#include "bhyverun.h"
#include "config.h"
#include "uuid.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
uuid_parse(const char *s, uint8_t out[16])
{
	size_t i = 0, n = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	while (i < 36) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

/* FNV-1a, then a 64-bit finalizer so that every input bit spreads out. */
static uint64_t
name_hash(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* So that the same VM keeps its UUID from run to run. */
void
uuid_from_name(const char *name, uint8_t out[16])
{
	uint64_t a = name_hash(name, 0xcbf29ce484222325ULL);
	uint64_t b = name_hash(name, a ^ 0x6a09e667f3bcc909ULL);

	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(a >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(b >> (56 - 8 * i));
	}
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x80); /* version 8 */
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* the RFC variant */
}

int
bhyve_vm_uuid(struct bhyve_vm *bvm, uint8_t out[16])
{
	const char *s;

	errno = 0;
	s = config_get(bvm->cfg, "uuid");
	if (s == NULL && errno == EINVAL)
		return bhyve_error(bvm, "invalid uuid (its %%(...) does not "
		    "expand)");
	if (s == NULL) {
		uuid_from_name(vm_get_name(bvm->ctx), out);
		return 0;
	}
	if (uuid_parse(s, out) != 0)
		return bhyve_error(bvm, "invalid uuid '%s'", s);
	return 0;
}
