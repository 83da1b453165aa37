/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The AML encoder (see acpi_aml.h).  Section numbers are ACPI 6.5's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_aml.h"

#define AML_NAMESEG 4

void
aml_init(struct aml_buf *b)
{
	*b = (struct aml_buf){ 0 };
}

void
aml_free(struct aml_buf *b)
{
	free(b->data);
	*b = (struct aml_buf){ 0 };
}

static void
aml_fail(struct aml_buf *b, int error)
{
	if (b->error == 0)
		b->error = error;
}

/* Room for 'n' more bytes; false (and b->error) when there is none. */
static bool
aml_reserve(struct aml_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->error)
		return false;
	if (n <= b->cap - b->len)
		return true;
	if (n > SIZE_MAX / 2 - b->len) {
		aml_fail(b, -ENOMEM);
		return false;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		aml_fail(b, -ENOMEM);
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void
aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	if (n == 0 || !aml_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

void
aml_le(struct aml_buf *b, uint64_t v, int n)
{
	uint8_t t[8];

	for (int i = 0; i < n && i < 8; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(b, t, (size_t)n);
}

/*
 * 20.2.4: one byte holds values up to 63 in bits 5:0.  Otherwise bits
 * 7:6 of the lead byte count the bytes that follow (1-3), its bits 3:0
 * are the value's low nibble and each following byte the next 8 bits:
 * up to 12, 20 or 28 bits in all.
 */
static int
aml_pkglen_put(uint64_t v, int n, uint8_t out[4])
{
	if (n == 1) {
		out[0] = (uint8_t)v;
		return 1;
	}
	out[0] = (uint8_t)((n - 1) << 6 | (v & 0x0f));
	for (int i = 1; i < n; i++)
		out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	return n;
}

static uint64_t
aml_pkglen_limit(int n)
{
	return n == 1 ? 0x3f : (1ULL << (4 + 8 * (n - 1))) - 1;
}

int
aml_pkglen_encode(size_t body, uint8_t out[4])
{
	for (int n = 1; n <= 4; n++) {
		/* The length counts the PkgLength bytes themselves. */
		uint64_t total = (uint64_t)body + (uint64_t)n;

		if (total <= aml_pkglen_limit(n))
			return aml_pkglen_put(total, n, out);
	}
	return -E2BIG;
}

int
aml_pkglen_raw_encode(uint32_t v, uint8_t out[4])
{
	for (int n = 1; n <= 4; n++)
		if (v <= aml_pkglen_limit(n))
			return aml_pkglen_put(v, n, out);
	return -E2BIG;
}

size_t
aml_mark(struct aml_buf *b)
{
	return b->len;
}

void
aml_end(struct aml_buf *b, size_t mark)
{
	uint8_t enc[4];
	size_t body;
	int n;

	if (b->error)
		return;
	if (mark > b->len) {
		aml_fail(b, -EINVAL);
		return;
	}
	body = b->len - mark;
	n = aml_pkglen_encode(body, enc);
	if (n < 0) {
		aml_fail(b, n);
		return;
	}
	if (!aml_reserve(b, (size_t)n))
		return;
	memmove(b->data + mark + n, b->data + mark, body);
	memcpy(b->data + mark, enc, (size_t)n);
	b->len += (size_t)n;
}

/* 20.2.2: LeadNameChar is A-Z or '_'; later ones may be digits too. */
static bool
aml_namechar_ok(char c, bool lead)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !lead && c >= '0' && c <= '9';
}

static bool
aml_seg_ok(const char *s, size_t n)
{
	if (n == 0 || n > AML_NAMESEG)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!aml_namechar_ok(s[i], i == 0))
			return false;
	return true;
}

/* The segments of a path after its prefixes; -1 if one is malformed. */
static int
aml_count_segs(const char *p)
{
	int n = 0;

	if (*p == '\0')
		return 0;
	for (;;) {
		size_t len = strcspn(p, ".");

		if (!aml_seg_ok(p, len) || n == 255)
			return -1;
		n++;
		if (p[len] == '\0')
			return n;
		p += len + 1;
	}
}

/* Skip "\" or "^^..." and say where the segments start. */
static const char *
aml_path_segs(const char *path)
{
	if (*path == '\\')
		return path + 1;
	while (*path == '^')
		path++;
	return path;
}

bool
aml_name_valid(const char *path)
{
	const char *segs = aml_path_segs(path);

	if (aml_count_segs(segs) < 0)
		return false;
	/* A bare name or a run of '^' needs a segment after it. */
	return *segs != '\0' || *path == '\\';
}

static void
aml_nameseg(struct aml_buf *b, const char *s, size_t n)
{
	char seg[AML_NAMESEG] = { '_', '_', '_', '_' };

	memcpy(seg, s, n);
	aml_bytes(b, seg, AML_NAMESEG);
}

void
aml_name_string(struct aml_buf *b, const char *path)
{
	const char *segs = aml_path_segs(path);
	int nsegs = aml_count_segs(segs);

	if (!aml_name_valid(path)) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_bytes(b, path, (size_t)(segs - path)); /* '\' or '^'s */
	if (nsegs == 0)
		aml_byte(b, AML_ZERO); /* NullName */
	else if (nsegs == 2)
		aml_byte(b, AML_DUAL_NAME_PREFIX);
	else if (nsegs > 2) {
		aml_byte(b, AML_MULTI_NAME_PREFIX);
		aml_byte(b, (uint8_t)nsegs);
	}
	while (nsegs-- > 0) {
		size_t len = strcspn(segs, ".");

		aml_nameseg(b, segs, len);
		segs += len + (segs[len] == '.');
	}
}

void
aml_integer(struct aml_buf *b, uint64_t v)
{
	if (v == 0)
		aml_byte(b, AML_ZERO);
	else if (v == 1)
		aml_byte(b, AML_ONE);
	else if (v == UINT64_MAX)
		aml_byte(b, AML_ONES); /* all ones in a revision 2 table */
	else if (v <= UINT8_MAX) {
		aml_byte(b, AML_BYTE_PREFIX);
		aml_le(b, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(b, AML_WORD_PREFIX);
		aml_le(b, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(b, AML_DWORD_PREFIX);
		aml_le(b, v, 4);
	} else {
		aml_byte(b, AML_QWORD_PREFIX);
		aml_le(b, v, 8);
	}
}

/* 20.2.3: AsciiCharList is 0x01-0x7f, then a NUL. */
void
aml_string(struct aml_buf *b, const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p > 0x7f) {
			aml_fail(b, -EINVAL);
			return;
		}
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

static int
aml_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * 19.6.35: three letters of five bits each (letter - 0x40) and four hex
 * digits make a big-endian 32-bit number; the integer AML stores is that
 * number's bytes read little-endian ("PNP0A03" -> 0x030AD041).
 */
int
aml_eisaid_encode(const char *id, uint32_t *out)
{
	uint32_t v = 0;

	if (strlen(id) != 7)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		int h = aml_hexval(id[i]);

		if (h < 0)
			return -EINVAL;
		v |= (uint32_t)h << (4 * (6 - i));
	}
	*out = __builtin_bswap32(v);
	return 0;
}

void
aml_eisaid(struct aml_buf *b, const char *id)
{
	uint32_t v;

	if (aml_eisaid_encode(id, &v) != 0) {
		aml_fail(b, -EINVAL);
		return;
	}
	/* Always the DWord form, as ASL compilers emit EISAID(). */
	aml_byte(b, AML_DWORD_PREFIX);
	aml_le(b, v, 4);
}

void
aml_buffer(struct aml_buf *b, const void *data, size_t len)
{
	size_t m;

	aml_byte(b, AML_BUFFER_OP);
	m = aml_mark(b);
	aml_integer(b, len);
	aml_bytes(b, data, len);
	aml_end(b, m);
}

void
aml_name(struct aml_buf *b, const char *name)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, name);
}

void
aml_name_integer(struct aml_buf *b, const char *name, uint64_t v)
{
	aml_name(b, name);
	aml_integer(b, v);
}

void
aml_name_stringval(struct aml_buf *b, const char *name, const char *s)
{
	aml_name(b, name);
	aml_string(b, s);
}

void
aml_name_eisaid(struct aml_buf *b, const char *name, const char *id)
{
	aml_name(b, name);
	aml_eisaid(b, id);
}

void
aml_name_id(struct aml_buf *b, const char *name, const char *id)
{
	uint32_t v;

	if (aml_eisaid_encode(id, &v) == 0)
		aml_name_eisaid(b, name, id);
	else
		aml_name_stringval(b, name, id);
}

size_t
aml_scope_begin(struct aml_buf *b, const char *name)
{
	size_t m;

	aml_byte(b, AML_SCOPE_OP);
	m = aml_mark(b);
	aml_name_string(b, name);
	return m;
}

size_t
aml_device_begin(struct aml_buf *b, const char *name)
{
	size_t m;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_EXT_DEVICE);
	m = aml_mark(b);
	aml_name_string(b, name);
	return m;
}

/* 20.2.5.2: MethodFlags bits 2:0 ArgCount, bit 3 SerializeFlag. */
size_t
aml_method_begin(struct aml_buf *b, const char *name, int nargs,
    bool serialized)
{
	size_t m;

	if (nargs < 0 || nargs > 7)
		aml_fail(b, -EINVAL);
	aml_byte(b, AML_METHOD_OP);
	m = aml_mark(b);
	aml_name_string(b, name);
	aml_byte(b, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return m;
}

size_t
aml_package_begin(struct aml_buf *b, unsigned n)
{
	size_t m;

	aml_byte(b, n <= 255 ? AML_PACKAGE_OP : AML_VAR_PACKAGE_OP);
	m = aml_mark(b);
	if (n <= 255)
		aml_byte(b, (uint8_t)n);
	else
		aml_integer(b, n);
	return m;
}

size_t
aml_if_begin(struct aml_buf *b)
{
	aml_byte(b, AML_IF_OP);
	return aml_mark(b);
}

size_t
aml_else_begin(struct aml_buf *b)
{
	aml_byte(b, AML_ELSE_OP);
	return aml_mark(b);
}

void
aml_return(struct aml_buf *b)
{
	aml_byte(b, AML_RETURN_OP);
}

void
aml_op_region(struct aml_buf *b, const char *name, uint8_t space,
    uint64_t offset, uint64_t len)
{
	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_EXT_OP_REGION);
	aml_name_string(b, name);
	aml_byte(b, space);
	aml_integer(b, offset);
	aml_integer(b, len);
}

/* 20.2.5.2: NamedField is a NameSeg and a width in PkgLength form. */
static void
aml_field_elem(struct aml_buf *b, const struct aml_field *f)
{
	uint8_t enc[4];
	int n = aml_pkglen_raw_encode(f->bits, enc);

	if (n < 0) {
		aml_fail(b, n);
		return;
	}
	if (f->name == NULL) {
		aml_byte(b, AML_ZERO); /* ReservedField */
	} else {
		size_t len = strlen(f->name);

		if (!aml_seg_ok(f->name, len)) {
			aml_fail(b, -EINVAL);
			return;
		}
		aml_nameseg(b, f->name, len);
	}
	aml_bytes(b, enc, (size_t)n);
}

void
aml_field(struct aml_buf *b, const char *region, uint8_t flags,
    const struct aml_field *f, int n)
{
	size_t m;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_EXT_FIELD);
	m = aml_mark(b);
	aml_name_string(b, region);
	aml_byte(b, flags);
	for (int i = 0; i < n; i++)
		aml_field_elem(b, &f[i]);
	aml_end(b, m);
}

/* Small resources (6.4.2): a tag byte of type << 3 | length. */
void
aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align,
    uint8_t len)
{
	aml_byte(b, 0x47); /* type 8, 7 bytes */
	aml_byte(b, 0x01); /* _DEC: 16-bit decode */
	aml_le(b, min, 2);
	aml_le(b, max, 2);
	aml_byte(b, align);
	aml_byte(b, len);
}

void
aml_res_irq_noflags(struct aml_buf *b, uint16_t mask)
{
	aml_byte(b, 0x22); /* type 4, 2 bytes */
	aml_le(b, mask, 2);
}

/* Information byte: bit 0 _HE (edge), bit 3 _LL (low), bit 4 _SHR. */
void
aml_res_irq(struct aml_buf *b, uint16_t mask, bool level, bool active_low,
    bool shared)
{
	aml_byte(b, 0x23); /* type 4, 3 bytes */
	aml_le(b, mask, 2);
	aml_byte(b, (uint8_t)((level ? 0 : 0x01) | (active_low ? 0x08 : 0) |
	    (shared ? 0x10 : 0)));
}

/* Large resources (6.4.3): a tag byte, then a 16-bit length. */
void
aml_res_mem32_fixed(struct aml_buf *b, uint32_t base, uint32_t len, bool rw)
{
	aml_byte(b, 0x86);
	aml_le(b, 9, 2);
	aml_byte(b, rw ? 0x01 : 0x00);
	aml_le(b, base, 4);
	aml_le(b, len, 4);
}

/*
 * 6.4.3.5: resource type, general flags, type-specific flags, then
 * granularity, minimum, maximum, translation offset and length, each
 * 'width' bytes.  General flags 0x0c: _MAF and _MIF set, _DEC positive,
 * bit 0 clear (what ASL's ResourceProducer compiles to).
 */
static void
aml_res_addr(struct aml_buf *b, uint8_t tag, int width, uint8_t restype,
    uint8_t tflags, uint64_t min, uint64_t max)
{
	if (max < min) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_byte(b, tag);
	aml_le(b, (uint64_t)(3 + 5 * width), 2);
	aml_byte(b, restype);
	aml_byte(b, 0x0c);
	aml_byte(b, tflags);
	aml_le(b, 0, width);
	aml_le(b, min, width);
	aml_le(b, max, width);
	aml_le(b, 0, width);
	aml_le(b, max - min + 1, width);
}

void
aml_res_word_bus(struct aml_buf *b, uint16_t min, uint16_t max)
{
	aml_res_addr(b, 0x88, 2, 2, 0x00, min, max);
}

/* I/O flags 0x03: _RNG EntireRange (ISA and non-ISA addresses). */
void
aml_res_word_io(struct aml_buf *b, uint16_t min, uint16_t max)
{
	aml_res_addr(b, 0x88, 2, 1, 0x03, min, max);
}

/* Memory flags: bit 0 _RW, bits 2:1 _MEM (1: cacheable). */
void
aml_res_dword_mem(struct aml_buf *b, uint32_t min, uint32_t max,
    bool cacheable)
{
	aml_res_addr(b, 0x87, 4, 0, cacheable ? 0x03 : 0x01, min, max);
}

void
aml_res_qword_mem(struct aml_buf *b, uint64_t min, uint64_t max,
    bool cacheable)
{
	aml_res_addr(b, 0x8a, 8, 0, cacheable ? 0x03 : 0x01, min, max);
}

/* Flags: bit 0 consumer, bit 1 _HE (edge), bit 2 _LL, bit 3 _SHR. */
void
aml_res_ext_irq(struct aml_buf *b, uint32_t gsi, bool level, bool active_low,
    bool shared)
{
	aml_byte(b, 0x89);
	aml_le(b, 6, 2);
	aml_byte(b, (uint8_t)(0x01 | (level ? 0 : 0x02) |
	    (active_low ? 0x04 : 0) | (shared ? 0x08 : 0)));
	aml_byte(b, 1);
	aml_le(b, gsi, 4);
}

void
aml_res_end(struct aml_buf *b)
{
	aml_byte(b, 0x79);
	aml_byte(b, 0x00);
}

void
aml_resource_template(struct aml_buf *b, struct aml_buf *res)
{
	aml_res_end(res);
	if (res->error)
		aml_fail(b, res->error);
	else
		aml_buffer(b, res->data, res->len);
	aml_free(res);
}
