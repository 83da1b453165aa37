/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel loaders: put the kernel named by boot.kernel (with boot.cmdline
 * and boot.initrd) into guest RAM and set the BSP's registers for its
 * entry.  The format is recognised from the file's contents.
 */
#ifndef LOADER_H
#define LOADER_H

struct bhyve_vm;

/* Returns 0, or -1 with bvm->err naming the file and what is wrong. */
int bhyve_load_kernel(struct bhyve_vm *bvm);

#endif /* LOADER_H */
