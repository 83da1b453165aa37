/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest's EPT tables (bhyve's ept.c builds them through the pmap):
 * four levels in host memory, guest RAM mapped read/write/execute with
 * 2 MiB pages where guest-physical and host addresses are both aligned,
 * 4 KiB pages elsewhere.  Entries hold host virtual addresses, as the
 * VT-x model defines (vtx/vtx.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmx.h"

#define EPT_PAGE 4096ULL
#define EPT_LARGE_PAGE (2ULL << 20)
#define EPT_ENTRIES 512

static uint64_t *
vmx_ept_alloc_table(void)
{
	uint64_t *t = aligned_alloc(EPT_PAGE, EPT_PAGE);

	if (t != NULL)
		memset(t, 0, EPT_PAGE);
	return t;
}

static uint64_t *
vmx_ept_table_of(uint64_t e)
{
	return (uint64_t *)(uintptr_t)(e & EPT_ADDR_MASK);
}

int
vmx_ept_init(struct vmx_vm *vmx)
{
	vmx->pml4 = vmx_ept_alloc_table();
	if (vmx->pml4 == NULL)
		return -ENOMEM;
	vmx->eptp = EPTP(vmx->pml4);
	return 0;
}

/* The table below entry 'idx' of 'table', made on first use. */
static uint64_t *
vmx_ept_next(uint64_t *table, int idx)
{
	uint64_t e = table[idx], *next;

	if (e & EPT_LARGE)
		return NULL;
	if (e & EPT_RWX)
		return vmx_ept_table_of(e);
	next = vmx_ept_alloc_table();
	if (next == NULL)
		return NULL;
	__atomic_store_n(&table[idx], (uint64_t)(uintptr_t)next | EPT_RWX,
	    __ATOMIC_RELEASE);
	return next;
}

/* One leaf: a 4 KiB page (level 1) or a 2 MiB page (level 2). */
static int
vmx_ept_set_leaf(struct vmx_vm *vmx, uint64_t gpa, uint64_t hva, int level,
    uint64_t perm)
{
	uint64_t *t = vmx->pml4;
	uint64_t leaf = (hva & EPT_ADDR_MASK) | perm | EPT_MT_WB |
	    EPT_IGNORE_PAT | (level == 2 ? EPT_LARGE : 0);
	int idx;

	for (int l = 4; l > level; l--) {
		t = vmx_ept_next(t, (int)(gpa >> (12 + 9 * (l - 1))) & 511);
		if (t == NULL)
			return -ENOMEM;
	}
	idx = (int)(gpa >> (12 + 9 * (level - 1))) & 511;
	if (t[idx] & EPT_RWX)
		return -EEXIST;
	__atomic_store_n(&t[idx], leaf, __ATOMIC_RELEASE);
	return 0;
}

int
vmx_ept_map(struct vmx_vm *vmx, uint64_t gpa, uint64_t len, uint8_t *hva,
    uint64_t perm)
{
	uint64_t off = 0, h = (uint64_t)(uintptr_t)hva;
	int error = 0;

	if ((gpa | len | h) & (EPT_PAGE - 1))
		return -EINVAL;
	while (off < len && error == 0) {
		bool big = ((gpa + off) & (EPT_LARGE_PAGE - 1)) == 0 &&
		    ((h + off) & (EPT_LARGE_PAGE - 1)) == 0 &&
		    len - off >= EPT_LARGE_PAGE;

		error = vmx_ept_set_leaf(vmx, gpa + off, h + off, big ? 2 : 1,
		    perm);
		off += big ? EPT_LARGE_PAGE : EPT_PAGE;
	}
	return error;
}

static void
vmx_ept_free(uint64_t *table, int level)
{
	if (table == NULL)
		return;
	for (int i = 0; level > 1 && i < EPT_ENTRIES; i++) {
		uint64_t e = table[i];

		if ((e & EPT_RWX) && !(e & EPT_LARGE))
			vmx_ept_free(vmx_ept_table_of(e), level - 1);
	}
	free(table);
}

void
vmx_ept_cleanup(struct vmx_vm *vmx)
{
	vmx_ept_free(vmx->pml4, 4);
	vmx->pml4 = NULL;
}
