/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Registries of port-I/O and MMIO regions, with one handler signature for
 * both (kvmtool's shape).  A VM has one registry per address space; none
 * is process-wide.
 *
 * A region may be removed while a vCPU is inside its handler: removal
 * waits until the handler has returned.  A handler must therefore never
 * remove its own region.
 */
#ifndef IOMEM_H
#define IOMEM_H

#include <stdbool.h>
#include <stdint.h>

#define IOMEM_CHECK __attribute__((warn_unused_result))

struct vcpu;
struct io_registry;

/*
 * Handle one access of 'size' bytes (1, 2, 4 or 8) at 'offset' from the
 * region's base.  For a read, store the value in *val.  Return 0, or a
 * negative errno if the device refuses the access (the caller then
 * applies the unhandled-access policy).  'vcpu' is NULL when the access
 * does not come from a vCPU (tests, DMA engines).
 */
typedef int io_handler_t(struct vcpu *vcpu, bool write, uint64_t offset,
    int size, uint64_t *val, void *arg);

struct io_region {
	const char *name;
	uint64_t base;
	uint64_t size;
	io_handler_t *handler;
	void *arg;
};

/* 'limit' is one past the highest address (0x10000 for ports). */
struct io_registry *io_registry_create(uint64_t limit);
void io_registry_destroy(struct io_registry *reg);

/* -EEXIST if it overlaps a registered region, -EINVAL if out of range. */
int io_register(struct io_registry *reg, const struct io_region *region)
    IOMEM_CHECK;
/* Remove the region that starts at 'base'; -ENOENT if none. */
int io_unregister(struct io_registry *reg, uint64_t base);

/*
 * Route one access to the region holding all of [addr, addr+size).
 * Returns -ENOENT when no region does, else the handler's result.
 */
int io_dispatch(struct io_registry *reg, struct vcpu *vcpu, bool write,
    uint64_t addr, int size, uint64_t *val) IOMEM_CHECK;

/* The name of the region holding 'addr', for messages; NULL if none. */
const char *io_region_name(struct io_registry *reg, uint64_t addr);

#endif /* IOMEM_H */
