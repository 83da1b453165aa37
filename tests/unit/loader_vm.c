/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "loader.h"
#include "loader_vm.h"

void
kimg_put(struct kimg *k, size_t off, const void *data, size_t n)
{
	if (off + n > k->len) {
		k->b = realloc(k->b, off + n);
		if (k->b == NULL)
			abort();
		memset(k->b + k->len, 0, off + n - k->len);
		k->len = off + n;
	}
	memcpy(k->b + off, data, n);
}

void
kimg_put8(struct kimg *k, size_t off, uint8_t v)
{
	kimg_put(k, off, &v, 1);
}

void
kimg_put16(struct kimg *k, size_t off, uint16_t v)
{
	kimg_put(k, off, &v, 2);
}

void
kimg_put32(struct kimg *k, size_t off, uint32_t v)
{
	kimg_put(k, off, &v, 4);
}

void
kimg_put64(struct kimg *k, size_t off, uint64_t v)
{
	kimg_put(k, off, &v, 8);
}

bool
tvm_init(struct tvm *t, const char *backend, uint64_t memsize)
{
	memset(t, 0, sizeof(*t));
	t->ctx = vm_create("t-loader", backend, NULL);
	if (t->ctx == NULL || vm_setup_memory(t->ctx, memsize) != 0)
		return false;
	t->vcpu = vm_vcpu_open(t->ctx, 0);
	t->cfg = config_new();
	t->bvm.ctx = t->ctx;
	t->bvm.cfg = t->cfg;
	return t->vcpu != NULL && t->cfg != NULL;
}

void
tvm_fini(struct tvm *t)
{
	for (int i = 0; i < t->nfiles; i++) {
		unlink(t->files[i]);
		free(t->files[i]);
	}
	config_free(t->cfg);
	vm_destroy(t->ctx);
}

/* Write 'k' to a new temporary file, set 'key' to it; returns the path. */
const char *
tvm_file(struct tvm *t, const char *key, struct kimg *k)
{
	const char *p = test_tmpfile(k->b, k->len);
	char *path = p ? strdup(p) : NULL;

	free(k->b);
	*k = (struct kimg){ 0 };
	if (path == NULL || t->nfiles == 4)
		abort();
	t->files[t->nfiles++] = path;
	if (key != NULL && config_set(t->cfg, key, path) != 0)
		abort();
	return path;
}

void
tvm_set(struct tvm *t, const char *key, const char *val)
{
	if (config_set(t->cfg, key, val) != 0)
		abort();
}

int
tvm_load(struct tvm *t)
{
	t->bvm.err[0] = '\0';
	return bhyve_load_kernel(&t->bvm);
}

uint8_t *
tvm_gpa(struct tvm *t, uint64_t addr, size_t len)
{
	return vm_map_gpa(t->ctx, addr, len);
}

uint64_t
tvm_reg(struct tvm *t, int r)
{
	uint64_t v = 0xdeadbeefdeadbeefULL;

	if (vm_get_register(t->vcpu, r, &v) != 0)
		test_failures++;
	return v;
}

struct seg_desc
tvm_desc(struct tvm *t, int r)
{
	struct seg_desc d = { 0 };

	if (vm_get_desc(t->vcpu, r, &d) != 0)
		test_failures++;
	return d;
}

const char *
tvm_cstr(struct tvm *t, uint64_t addr)
{
	return (const char *)tvm_gpa(t, addr, 1);
}
