/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An AML encoder: the byte forms of ACPI Machine Language (ACPI 6.5,
 * chapter 20) and of resource descriptors (6.4) written straight from C,
 * so that no ASL compiler runs when a VM starts.
 *
 * Everything writes into a growing byte buffer.  Errors are sticky: the
 * first one (-ENOMEM, -EINVAL for a malformed name or ID, -E2BIG for a
 * package too long for its length field) is kept in b->error and every
 * later call does nothing, so a builder checks once, at the end.
 *
 * Constructs with a PkgLength (scopes, devices, methods, packages, If)
 * are opened with an *_begin() call that returns a mark and closed with
 * aml_end(b, mark): the length is counted then and its 1 to 4 bytes are
 * inserted at the mark, so nested constructs close innermost first.
 */
#ifndef ACPI_AML_H
#define ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int error;
};

/* Opcodes (ACPI 6.5, 20.3 "AML Byte Stream Byte Values"). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_VAR_PACKAGE_OP 0x13
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX 0x5e
#define AML_LOCAL0 0x60
#define AML_ARG0 0x68
#define AML_STORE_OP 0x70
#define AML_DECREMENT_OP 0x76
#define AML_SHIFT_LEFT_OP 0x79
#define AML_AND_OP 0x7b
#define AML_OR_OP 0x7d
#define AML_FIND_SET_RIGHT_BIT_OP 0x82
#define AML_CREATE_WORD_FIELD_OP 0x8b
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xa0
#define AML_ELSE_OP 0xa1
#define AML_RETURN_OP 0xa4
#define AML_ONES 0xff
/* After AML_EXT_OP_PREFIX. */
#define AML_EXT_OP_REGION 0x80
#define AML_EXT_FIELD 0x81
#define AML_EXT_DEVICE 0x82

/* OperationRegion spaces (ACPI 6.5, 19.6.100) and Field flags (19.6.48). */
#define AML_REGION_SYSTEM_IO 0x01
#define AML_REGION_PCI_CONFIG 0x02
#define AML_FIELD_BYTE_ACC 0x01

/* The largest value a PkgLength can carry (4 bytes, 28 bits). */
#define AML_PKGLEN_MAX 0x0fffffffu

void aml_init(struct aml_buf *b);
void aml_free(struct aml_buf *b);

/* Raw bytes, and little-endian numbers of 'n' bytes. */
void aml_byte(struct aml_buf *b, uint8_t v);
void aml_bytes(struct aml_buf *b, const void *p, size_t n);
void aml_le(struct aml_buf *b, uint64_t v, int n);

/*
 * PkgLength encoding (ACPI 6.5, 20.2.4).  aml_pkglen_encode() encodes
 * the length of a construct whose body (everything after the PkgLength)
 * is 'body' bytes; the encoded value counts its own bytes too.  Returns
 * how many bytes it wrote into out[] (1-4), or -E2BIG.
 * aml_pkglen_raw_encode() encodes 'v' itself, as field widths use it.
 */
int aml_pkglen_encode(size_t body, uint8_t out[4]);
int aml_pkglen_raw_encode(uint32_t v, uint8_t out[4]);

/* Marks and closes PkgLength constructs (see above). */
size_t aml_mark(struct aml_buf *b);
void aml_end(struct aml_buf *b, size_t mark);

/*
 * A NameString (20.2.2): "\_SB.PCI0", "^ISA.LNKA", "_HID".  Segments are
 * 1-4 characters, padded with '_' to four ("ISA" -> "ISA_"); the first
 * is A-Z or '_', the rest also 0-9.  Lower case is refused.
 */
void aml_name_string(struct aml_buf *b, const char *path);
/* True when 'path' would encode without error. */
bool aml_name_valid(const char *path);

/*
 * Data (20.2.3): the shortest integer form (Zero, One, Ones for all 64
 * bits, then Byte/Word/DWord/QWord prefixes), strings, EISA IDs.
 */
void aml_integer(struct aml_buf *b, uint64_t v);
void aml_string(struct aml_buf *b, const char *s);
/*
 * An EISA ID ("PNP0A03": three upper-case letters and four hex digits)
 * compressed to the DWord the EISAID() macro gives (19.6.35).  Returns
 * 0, or -EINVAL when 'id' is not of that form.
 */
int aml_eisaid_encode(const char *id, uint32_t *out);
void aml_eisaid(struct aml_buf *b, const char *id);
/* A Buffer object holding 'len' bytes. */
void aml_buffer(struct aml_buf *b, const void *data, size_t len);

/* Named objects and blocks. */
/* Name(name, ...): the caller writes the one data object that follows. */
void aml_name(struct aml_buf *b, const char *name);
void aml_name_integer(struct aml_buf *b, const char *name, uint64_t v);
void aml_name_stringval(struct aml_buf *b, const char *name, const char *s);
void aml_name_eisaid(struct aml_buf *b, const char *name, const char *id);
/* _HID/_CID style: an EISA ID when 'id' has that form, else a string. */
void aml_name_id(struct aml_buf *b, const char *name, const char *id);
size_t aml_scope_begin(struct aml_buf *b, const char *name);
size_t aml_device_begin(struct aml_buf *b, const char *name);
size_t aml_method_begin(struct aml_buf *b, const char *name, int nargs,
    bool serialized);
/* Package(n){...}: VarPackage when n > 255. */
size_t aml_package_begin(struct aml_buf *b, unsigned n);
size_t aml_if_begin(struct aml_buf *b);
size_t aml_else_begin(struct aml_buf *b);
/* Return(...): the caller writes the operand. */
void aml_return(struct aml_buf *b);

/* OperationRegion(name, space, offset, len). */
void aml_op_region(struct aml_buf *b, const char *name, uint8_t space,
    uint64_t offset, uint64_t len);
/*
 * Field(region, flags) { name_i, bits_i ... }: a NULL name is a gap of
 * that many bits (a reserved field, as Offset() compiles to).
 */
struct aml_field {
	const char *name;
	uint32_t bits;
};
void aml_field(struct aml_buf *b, const char *region, uint8_t flags,
    const struct aml_field *f, int n);

/*
 * Resource descriptors (6.4), appended to a buffer that aml_res_end()
 * finishes with an End Tag; aml_buffer() then wraps it.
 */
/* IO(Decode16, min, max, align, len) (6.4.2.5). */
void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align,
    uint8_t len);
/* IRQNoFlags(){...} (6.4.2.1, two-byte form: edge, active high). */
void aml_res_irq_noflags(struct aml_buf *b, uint16_t mask);
/* IRQ(edge/level, high/low, exclusive/shared){...} (three-byte form). */
void aml_res_irq(struct aml_buf *b, uint16_t mask, bool level,
    bool active_low, bool shared);
/* Memory32Fixed(ReadWrite/ReadOnly, base, len) (6.4.3.4). */
void aml_res_mem32_fixed(struct aml_buf *b, uint32_t base, uint32_t len,
    bool rw);
/*
 * Address space descriptors (6.4.3.5) as a PCI root bridge produces
 * them: ResourceProducer, MinFixed, MaxFixed, PosDecode, granularity and
 * translation 0, length max - min + 1.
 */
void aml_res_word_bus(struct aml_buf *b, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml_buf *b, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml_buf *b, uint32_t min, uint32_t max,
    bool cacheable);
void aml_res_qword_mem(struct aml_buf *b, uint64_t min, uint64_t max,
    bool cacheable);
/* Interrupt(ResourceConsumer, ...){gsi} (6.4.3.6), one interrupt. */
void aml_res_ext_irq(struct aml_buf *b, uint32_t gsi, bool level,
    bool active_low, bool shared);
/* End Tag (6.4.2.9), checksum 0 ("treat as valid"). */
void aml_res_end(struct aml_buf *b);
/*
 * ResourceTemplate(){...}: end 'res' with an End Tag, write it to 'b' as
 * a Buffer object, and free it; an error in 'res' becomes b's.
 */
void aml_resource_template(struct aml_buf *b, struct aml_buf *res);

#endif /* ACPI_AML_H */
