/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The loader tests' kit: kernel images built in memory (struct kimg), and
 * a VM to load them into through bhyve_load_kernel() (struct tvm), with
 * accessors for what the loader left in guest memory and registers.
 */
#ifndef LOADER_VM_H
#define LOADER_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bhyverun.h"
#include "test.h"
#include "vmmapi.h"

/* An image grown as bytes are put into it (the gaps are zeroes). */
struct kimg {
	uint8_t *b;
	size_t len;
};

void kimg_put(struct kimg *k, size_t off, const void *data, size_t n);
void kimg_put8(struct kimg *k, size_t off, uint8_t v);
void kimg_put16(struct kimg *k, size_t off, uint16_t v);
void kimg_put32(struct kimg *k, size_t off, uint32_t v);
void kimg_put64(struct kimg *k, size_t off, uint64_t v);

struct tvm {
	struct vmctx *ctx;
	struct vcpu *vcpu;
	struct config_node *cfg;
	struct bhyve_vm bvm;
	char *files[4];
	int nfiles;
};

bool tvm_init(struct tvm *t, const char *backend, uint64_t memsize);
/* Frees the VM and removes the files tvm_file() made. */
void tvm_fini(struct tvm *t);
/*
 * Writes 'k' to a new temporary file (and frees k's bytes), sets 'key'
 * (unless NULL) to its path; returns the path.  Aborts on failure.
 */
const char *tvm_file(struct tvm *t, const char *key, struct kimg *k);
void tvm_set(struct tvm *t, const char *key, const char *val);
/* bhyve_load_kernel() with a clean error buffer. */
int tvm_load(struct tvm *t);

/* Guest memory, NULL outside RAM. */
uint8_t *tvm_gpa(struct tvm *t, uint64_t addr, size_t len);
/* A vCPU 0 register or segment (a failure counts as a failed check). */
uint64_t tvm_reg(struct tvm *t, int r);
struct seg_desc tvm_desc(struct tvm *t, int r);
/* A NUL-terminated string in guest memory. */
const char *tvm_cstr(struct tvm *t, uint64_t addr);

/* Expect a start-up failure whose one-line message names 'what'. */
#define CHECK_FAILS(t, what)                                                 \
	do {                                                                 \
		CHECK_EQ(tvm_load(t), -1);                                   \
		if (strstr((t)->bvm.err, (what)) == NULL ||                  \
		    strchr((t)->bvm.err, '\n') != NULL) {                    \
			fprintf(stderr, "%s:%d: %s: error \"%s\" does not "  \
			    "name \"%s\"\n", __FILE__, __LINE__,             \
			    test_current, (t)->bvm.err, (what));             \
			test_failures++;                                     \
		}                                                            \
	} while (0)

#endif /* LOADER_VM_H */
