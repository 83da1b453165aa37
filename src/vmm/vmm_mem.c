/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest RAM: a memfd laid out as bhyve lays it out.  Low memory runs from
 * 0 up to VM_LOWMEM_LIMIT at most; whatever does not fit there starts at
 * VM_HIGHMEM_BASE, above the PCI hole.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm_internal.h"

/* Unmapped slack after the last byte of RAM, so overruns fault. */
#define VMM_MEM_GUARD (2ULL << 20)

static int
vmm_mem_map_seg(struct vmm_mem *mem, uint64_t gpa, uint64_t len, off_t off)
{
	void *want = mem->base + gpa;
	void *p = mmap(want, len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_FIXED | MAP_NORESERVE, mem->fd, off);

	if (p == MAP_FAILED)
		return -errno;
	mem->segs[mem->nsegs++] = (struct vmm_mem_seg){
		.gpa = gpa, .len = len, .hva = p };
	return 0;
}

int
vmm_mem_setup(struct vmm_mem *mem, const char *name, size_t len)
{
	char fdname[64];
	uint64_t top;
	int error;

	if (len == 0 || (len & 0xfff) != 0)
		return -EINVAL;
	mem->lowmem = len < VM_LOWMEM_LIMIT ? len : VM_LOWMEM_LIMIT;
	mem->highmem = len - mem->lowmem;
	top = mem->highmem ? VM_HIGHMEM_BASE + mem->highmem : mem->lowmem;

	snprintf(fdname, sizeof(fdname), "bhyve:%s", name);
	mem->fd = memfd_create(fdname, MFD_CLOEXEC);
	if (mem->fd < 0)
		return -errno;
	if (ftruncate(mem->fd, (off_t)len) < 0) {
		error = -errno;
		goto fail_fd;
	}
	mem->reserved = top + VMM_MEM_GUARD;
	mem->base = mmap(NULL, mem->reserved, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem->base == MAP_FAILED) {
		error = -errno;
		goto fail_fd;
	}
	error = vmm_mem_map_seg(mem, 0, mem->lowmem, 0);
	if (error == 0 && mem->highmem)
		error = vmm_mem_map_seg(mem, VM_HIGHMEM_BASE, mem->highmem,
		    (off_t)mem->lowmem);
	if (error)
		goto fail_map;
	return 0;

fail_map:
	munmap(mem->base, mem->reserved);
fail_fd:
	close(mem->fd);
	*mem = (struct vmm_mem){ .fd = -1 };
	return error;
}

void
vmm_mem_cleanup(struct vmm_mem *mem)
{
	if (mem->nsegs == 0)
		return;
	munmap(mem->base, mem->reserved);
	close(mem->fd);
	*mem = (struct vmm_mem){ .fd = -1 };
}

void *
vmm_mem_map_gpa(const struct vmm_mem *mem, uint64_t gpa, size_t len)
{
	for (int i = 0; i < mem->nsegs; i++) {
		const struct vmm_mem_seg *seg = &mem->segs[i];

		/* Written so that no sum can wrap around. */
		if (gpa >= seg->gpa && len <= seg->len &&
		    gpa - seg->gpa <= seg->len - len)
			return seg->hva + (gpa - seg->gpa);
	}
	return NULL;
}
