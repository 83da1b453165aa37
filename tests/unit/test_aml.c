/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The AML encoder, byte for byte against what ACPI 6.5 chapter 20 and
 * section 6.4 say (and what iasl emits for the same ASL).
 */
#include <errno.h>

#include "acpi_aml.h"
#include "test.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...) sizeof((const uint8_t[]){ __VA_ARGS__ })

/* The buffer holds exactly these bytes, and no error. */
#define CHECK_BUF(b, ...)                                                    \
	check_buf(__LINE__, (b), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

static void
check_buf(int line, const struct aml_buf *b, const uint8_t *want, size_t n)
{
	if (b->error != 0 || b->len != n || memcmp(b->data, want, n) != 0) {
		fprintf(stderr, "%s:%d: %s: buffer (error %d, %zu bytes):",
		    __FILE__, line, test_current, b->error, b->len);
		for (size_t i = 0; i < b->len && i < 64; i++)
			fprintf(stderr, " %02x", b->data[i]);
		fprintf(stderr, "\n");
		test_failures++;
	}
}

/* Decode a PkgLength as an interpreter would; returns its byte count. */
static int
pkglen_decode(const uint8_t *p, uint32_t *v)
{
	int follow = p[0] >> 6;

	if (follow == 0) {
		*v = p[0] & 0x3f;
		return 1;
	}
	*v = p[0] & 0x0f;
	for (int i = 1; i <= follow; i++)
		*v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return follow + 1;
}

static int
enc_len(size_t body, uint8_t out[4])
{
	return aml_pkglen_encode(body, out);
}

TEST(pkglen_one_byte)
{
	uint8_t e[4];

	CHECK_EQ(enc_len(0, e), 1);
	CHECK_EQ(e[0], 0x01);
	CHECK_EQ(enc_len(62, e), 1); /* 62 + 1 = 63, the largest */
	CHECK_EQ(e[0], 0x3f);
}

TEST(pkglen_two_bytes)
{
	uint8_t e[4];

	CHECK_EQ(enc_len(63, e), 2); /* 63 + 1 = 64 does not fit six bits */
	CHECK_EQ(e[0], 0x41);	     /* 65: one byte follows, nibble 1 */
	CHECK_EQ(e[1], 0x04);
	CHECK_EQ(enc_len(4093, e), 2); /* 4095 = 0xfff */
	CHECK_EQ(e[0], 0x4f);
	CHECK_EQ(e[1], 0xff);
}

TEST(pkglen_three_and_four_bytes)
{
	uint8_t e[4];

	CHECK_EQ(enc_len(4094, e), 3); /* 4094 + 2 = 4096 is too big */
	CHECK_EQ(e[0], 0x81);	       /* 4097 = 0x1001 */
	CHECK_EQ(e[1], 0x00);
	CHECK_EQ(e[2], 0x01);
	CHECK_EQ(enc_len(0xfffff - 3, e), 3);
	CHECK(memcmp(e, BYTES(0x8f, 0xff, 0xff), 3) == 0);
	CHECK_EQ(enc_len(0xfffff - 2, e), 4);
	CHECK(memcmp(e, BYTES(0xc1, 0x00, 0x00, 0x01), 4) == 0);
	CHECK_EQ(enc_len(AML_PKGLEN_MAX - 4, e), 4);
	CHECK(memcmp(e, BYTES(0xcf, 0xff, 0xff, 0xff), 4) == 0);
	CHECK_EQ(enc_len(AML_PKGLEN_MAX - 3, e), -E2BIG);
}

/* Every encoding decodes to body + its own length, for many bodies. */
TEST(pkglen_round_trip)
{
	static const size_t edges[] = { 61, 62, 63, 64, 4092, 4093, 4094,
		4095, 0xffffc, 0xffffd, 0xffffe, 0x100000, 0xffffffb };

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 5000; i++) {
		size_t body = i < 13 ? edges[i] : (i - 13) * 97;
		uint8_t e[4];
		uint32_t v;
		int n = enc_len(body, e);

		REQUIRE(n >= 1 && n <= 4);
		CHECK_EQ(pkglen_decode(e, &v), n);
		CHECK_EQ(v, body + (size_t)n);
		/* The shortest form: one byte fewer would not hold it. */
		if (n > 1)
			CHECK(body + (size_t)n - 1 >
			    (n == 2 ? 0x3fu : (1u << (4 + 8 * (n - 2))) - 1));
	}
}

TEST(pkglen_raw)
{
	uint8_t e[4];

	CHECK_EQ(aml_pkglen_raw_encode(8, e), 1);
	CHECK_EQ(e[0], 8);
	CHECK_EQ(aml_pkglen_raw_encode(64, e), 2);
	CHECK(memcmp(e, BYTES(0x40, 0x04), 2) == 0);
	CHECK_EQ(aml_pkglen_raw_encode(0x10000000, e), -E2BIG);
}

/* A scope body crossing each PkgLength size inserts the right bytes. */
TEST(end_inserts_pkglen)
{
	static const size_t bodies[] = { 10, 63, 5000, 70000 };

	for (size_t k = 0; k < 4; k++) {
		struct aml_buf b;
		size_t m, fill = bodies[k] - 4; /* the NameSeg is 4 bytes */
		uint32_t v;
		int n;

		aml_init(&b);
		m = aml_scope_begin(&b, "ABCD");
		for (size_t i = 0; i < fill; i++)
			aml_byte(&b, (uint8_t)i);
		aml_end(&b, m);
		REQUIRE(b.error == 0);
		CHECK_EQ(b.data[0], AML_SCOPE_OP);
		n = pkglen_decode(b.data + 1, &v);
		CHECK_EQ(v, bodies[k] + (size_t)n);
		CHECK_EQ(b.len, 1 + (size_t)n + bodies[k]);
		CHECK(memcmp(b.data + 1 + n, "ABCD", 4) == 0);
		CHECK_EQ(b.data[b.len - 1], (uint8_t)(fill - 1));
		aml_free(&b);
	}
}

static void
check_int(int line, uint64_t v, const uint8_t *want, size_t n)
{
	struct aml_buf b;

	aml_init(&b);
	aml_integer(&b, v);
	check_buf(line, &b, want, n);
	aml_free(&b);
}

#define CHECK_INT(v, ...)                                                    \
	check_int(__LINE__, (v), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

TEST(integers)
{
	CHECK_INT(0, 0x00);
	CHECK_INT(1, 0x01);
	CHECK_INT(UINT64_MAX, 0xff);
	CHECK_INT(2, 0x0a, 0x02);
	CHECK_INT(0xff, 0x0a, 0xff);
	CHECK_INT(0x100, 0x0b, 0x00, 0x01);
	CHECK_INT(0xffff, 0x0b, 0xff, 0xff);
	CHECK_INT(0x10000, 0x0c, 0x00, 0x00, 0x01, 0x00);
	CHECK_INT(0xffffffff, 0x0c, 0xff, 0xff, 0xff, 0xff);
	CHECK_INT(0x100000000ULL, 0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
	CHECK_INT(UINT64_MAX - 1, 0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff);
}

static void
check_name(int line, const char *path, const uint8_t *want, size_t n)
{
	struct aml_buf b;

	aml_init(&b);
	aml_name_string(&b, path);
	check_buf(line, &b, want, n);
	aml_free(&b);
}

#define CHECK_NAME(p, ...)                                                   \
	check_name(__LINE__, (p), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

TEST(names)
{
	CHECK_NAME("_HID", '_', 'H', 'I', 'D');
	CHECK_NAME("PCI", 'P', 'C', 'I', '_');
	CHECK_NAME("A", 'A', '_', '_', '_');
	CHECK_NAME("\\_SB", '\\', '_', 'S', 'B', '_');
	CHECK_NAME("\\_SB.PCI0", '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C',
	    'I', '0');
	CHECK_NAME("\\_SB.PCI0.ISA", '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P',
	    'C', 'I', '0', 'I', 'S', 'A', '_');
	CHECK_NAME("^LNK", '^', 'L', 'N', 'K', '_');
	CHECK_NAME("^^A.B", '^', '^', 0x2e, 'A', '_', '_', '_', 'B', '_',
	    '_', '_');
	CHECK_NAME("\\", '\\', 0x00);
}

TEST(bad_names)
{
	static const char *const bad[] = { "", "^", "pci0", "PCI00",
		"1ABC", "A..B", "A.", ".A", "\\^A", "A-B", "^\\A" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml_buf b;

		aml_init(&b);
		aml_name_string(&b, bad[i]);
		if (b.error != -EINVAL)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		CHECK_EQ(b.error, -EINVAL);
		CHECK(!aml_name_valid(bad[i]));
		aml_free(&b);
	}
	CHECK(aml_name_valid("\\_SB.PCI0"));
}

/* The first error sticks and later calls add nothing. */
TEST(errors_are_sticky)
{
	struct aml_buf b;

	aml_init(&b);
	aml_byte(&b, 0x42);
	aml_name_string(&b, "bad");
	CHECK_EQ(b.error, -EINVAL);
	aml_integer(&b, 7);
	aml_name_string(&b, "GOOD");
	CHECK_EQ(b.len, 1);
	CHECK_EQ(b.error, -EINVAL);
	aml_free(&b);
}

TEST(strings_and_ids)
{
	struct aml_buf b;
	uint32_t v = 0;

	aml_init(&b);
	aml_string(&b, "QEMU0002");
	CHECK_BUF(&b, 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '2', 0);
	aml_free(&b);
	CHECK_EQ(aml_eisaid_encode("PNP0A03", &v), 0);
	CHECK_EQ(v, 0x030ad041);
	CHECK_EQ(aml_eisaid_encode("PNP0A08", &v), 0);
	CHECK_EQ(v, 0x080ad041);
	CHECK_EQ(aml_eisaid_encode("PNP0501", &v), 0);
	CHECK_EQ(v, 0x0105d041);
	CHECK_EQ(aml_eisaid_encode("PNP0A0", &v), -EINVAL);
	CHECK_EQ(aml_eisaid_encode("pnp0a03", &v), -EINVAL);
	CHECK_EQ(aml_eisaid_encode("PNP0A0G", &v), -EINVAL);
	aml_init(&b);
	aml_name_id(&b, "_HID", "PNP0B00");
	aml_name_id(&b, "_HID", "QEMU0002");
	CHECK_BUF(&b, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00,
	    0x08, '_', 'H', 'I', 'D', 0x0d, 'Q', 'E', 'M', 'U', '0', '0',
	    '0', '2', 0);
	aml_free(&b);
}

TEST(small_resources)
{
	struct aml_buf b;

	aml_init(&b);
	aml_res_io(&b, 0xcf8, 0xcf8, 1, 8);
	aml_res_irq_noflags(&b, 1u << 4);
	aml_res_irq(&b, 1u << 5 | 1u << 10, true, true, true);
	aml_res_irq(&b, 1u << 1, false, false, false);
	aml_res_end(&b);
	CHECK_BUF(&b, 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	    0x22, 0x10, 0x00,
	    0x23, 0x20, 0x04, 0x18,
	    0x23, 0x02, 0x00, 0x01,
	    0x79, 0x00);
	aml_free(&b);
}

TEST(memory32_fixed)
{
	struct aml_buf b;

	aml_init(&b);
	aml_res_mem32_fixed(&b, 0xfed00000, 0x400, false);
	aml_res_mem32_fixed(&b, 0xe0000000, 0x10000000, true);
	CHECK_BUF(&b, 0x86, 0x09, 0x00, 0x00, 0x00, 0x00, 0xd0, 0xfe, 0x00,
	    0x04, 0x00, 0x00,
	    0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00,
	    0x00, 0x10);
	aml_free(&b);
}

/* As iasl compiles WordBusNumber/WordIO(ResourceProducer, ...). */
TEST(word_address_space)
{
	struct aml_buf b;

	aml_init(&b);
	aml_res_word_bus(&b, 0, 0xff);
	aml_res_word_io(&b, 0, 0xcf7);
	CHECK_BUF(&b, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01,
	    0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00,
	    0xf7, 0x0c, 0x00, 0x00, 0xf8, 0x0c);
	aml_free(&b);
}

TEST(dword_qword_memory)
{
	struct aml_buf b;

	aml_init(&b);
	aml_res_dword_mem(&b, 0xa0000, 0xbffff, false);
	CHECK_BUF(&b, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
	    0, 0, 0, 0,
	    0x00, 0x00, 0x0a, 0x00,
	    0xff, 0xff, 0x0b, 0x00,
	    0, 0, 0, 0,
	    0x00, 0x00, 0x02, 0x00);
	aml_free(&b);
	aml_init(&b);
	aml_res_qword_mem(&b, 0x800000000ULL, 0xfffffffffULL, true);
	CHECK_BUF(&b, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03,
	    0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0x08, 0, 0, 0,
	    0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0x08, 0, 0, 0);
	aml_free(&b);
	aml_init(&b);
	aml_res_dword_mem(&b, 10, 9, false);
	CHECK_EQ(b.error, -EINVAL);
	aml_free(&b);
}

TEST(extended_interrupt)
{
	struct aml_buf b;

	aml_init(&b);
	aml_res_ext_irq(&b, 16, true, true, true);
	aml_res_ext_irq(&b, 9, false, false, false);
	CHECK_BUF(&b, 0x89, 0x06, 0x00, 0x0d, 0x01, 0x10, 0x00, 0x00, 0x00,
	    0x89, 0x06, 0x00, 0x03, 0x01, 0x09, 0x00, 0x00, 0x00);
	aml_free(&b);
}

/* Name(_CRS, ResourceTemplate(){ IRQNoFlags(){8} }) */
TEST(resource_template)
{
	struct aml_buf b, rb;

	aml_init(&b);
	aml_init(&rb);
	aml_res_irq_noflags(&rb, 1u << 8);
	aml_name(&b, "_CRS");
	aml_resource_template(&b, &rb);
	CHECK_BUF(&b, 0x08, '_', 'C', 'R', 'S', 0x11, 0x08, 0x0a, 0x05, 0x22,
	    0x00, 0x01, 0x79, 0x00);
	CHECK(rb.data == NULL);
	aml_free(&b);
}

/* Device(DEV) { Method(_STA, 0, Serialized) { Return (0x0b) } } */
TEST(device_and_method)
{
	struct aml_buf b;
	size_t d, m;

	aml_init(&b);
	d = aml_device_begin(&b, "DEV");
	m = aml_method_begin(&b, "_STA", 0, true);
	aml_return(&b);
	aml_integer(&b, 0x0b);
	aml_end(&b, m);
	aml_end(&b, d);
	CHECK_BUF(&b, 0x5b, 0x82, 0x0f, 'D', 'E', 'V', '_', 0x14, 0x09, '_',
	    'S', 'T', 'A', 0x08, 0xa4, 0x0a, 0x0b);
	aml_free(&b);
	aml_init(&b);
	(void)aml_method_begin(&b, "_SRS", 8, false);
	CHECK_EQ(b.error, -EINVAL);
	aml_free(&b);
}

/* Package(2){One, "A"}; 300 elements take VarPackage. */
TEST(packages)
{
	struct aml_buf b;
	size_t m;
	uint32_t v;
	int n;

	aml_init(&b);
	m = aml_package_begin(&b, 2);
	aml_integer(&b, 1);
	aml_string(&b, "A");
	aml_end(&b, m);
	CHECK_BUF(&b, 0x12, 0x06, 0x02, 0x01, 0x0d, 'A', 0x00);
	aml_free(&b);
	aml_init(&b);
	m = aml_package_begin(&b, 300);
	for (int i = 0; i < 300; i++)
		aml_integer(&b, 0);
	aml_end(&b, m);
	REQUIRE(b.error == 0);
	CHECK_EQ(b.data[0], AML_VAR_PACKAGE_OP);
	n = pkglen_decode(b.data + 1, &v);
	CHECK_EQ(n, 2);
	CHECK_EQ(v, 2 + 3 + 300);
	CHECK(memcmp(b.data + 3, BYTES(0x0b, 0x2c, 0x01), 3) == 0);
	aml_free(&b);
}

/*
 * OperationRegion(PIRQ, PCI_Config, 0x60, 0x0c)
 * Field(PIRQ, ByteAcc, NoLock, Preserve) { PIRA, 8, , 32, PIRE, 8 }
 */
TEST(region_and_field)
{
	static const struct aml_field f[] = { { "PIRA", 8 }, { NULL, 32 },
		{ "PIRE", 8 } };
	struct aml_buf b;

	aml_init(&b);
	aml_op_region(&b, "PIRQ", AML_REGION_PCI_CONFIG, 0x60, 0x0c);
	aml_field(&b, "PIRQ", AML_FIELD_BYTE_ACC, f, 3);
	CHECK_BUF(&b, 0x5b, 0x80, 'P', 'I', 'R', 'Q', 0x02, 0x0a, 0x60, 0x0a,
	    0x0c,
	    0x5b, 0x81, 0x12, 'P', 'I', 'R', 'Q', 0x01, 'P', 'I', 'R', 'A',
	    0x08, 0x00, 0x20, 'P', 'I', 'R', 'E', 0x08);
	aml_free(&b);
}

/* If (X) { Return (One) } Else { Return (Zero) } */
TEST(if_else)
{
	struct aml_buf b;
	size_t m;

	aml_init(&b);
	m = aml_if_begin(&b);
	aml_name_string(&b, "X");
	aml_return(&b);
	aml_integer(&b, 1);
	aml_end(&b, m);
	m = aml_else_begin(&b);
	aml_return(&b);
	aml_integer(&b, 0);
	aml_end(&b, m);
	CHECK_BUF(&b, 0xa0, 0x07, 'X', '_', '_', '_', 0xa4, 0x01, 0xa1, 0x03,
	    0xa4, 0x00);
	aml_free(&b);
}

TEST(buffer_object)
{
	struct aml_buf b;
	uint8_t data[100];

	memset(data, 0xab, sizeof(data));
	aml_init(&b);
	aml_buffer(&b, data, sizeof(data));
	REQUIRE(b.error == 0);
	/* BufferOp, PkgLength 104 (two bytes), BytePrefix 100, data. */
	CHECK_EQ(b.len, 1 + 2 + 2 + sizeof(data));
	CHECK(memcmp(b.data, BYTES(0x11, 0x48, 0x06, 0x0a, 0x64), 5) == 0);
	aml_free(&b);
}

TEST_MAIN(TEST_ENTRY(pkglen_one_byte) TEST_ENTRY(pkglen_two_bytes)
    TEST_ENTRY(pkglen_three_and_four_bytes) TEST_ENTRY(pkglen_round_trip)
    TEST_ENTRY(pkglen_raw) TEST_ENTRY(end_inserts_pkglen)
    TEST_ENTRY(integers) TEST_ENTRY(names) TEST_ENTRY(bad_names)
    TEST_ENTRY(errors_are_sticky) TEST_ENTRY(strings_and_ids)
    TEST_ENTRY(small_resources) TEST_ENTRY(memory32_fixed)
    TEST_ENTRY(word_address_space) TEST_ENTRY(dword_qword_memory)
    TEST_ENTRY(extended_interrupt) TEST_ENTRY(resource_template)
    TEST_ENTRY(device_and_method) TEST_ENTRY(packages)
    TEST_ENTRY(region_and_field) TEST_ENTRY(if_else)
    TEST_ENTRY(buffer_object))
