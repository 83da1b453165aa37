/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel loaders: put the kernel named by boot.kernel (with boot.cmdline
 * and boot.initrd) into guest RAM and set the BSP's registers for its
 * entry.  The format is recognised from the file's contents.
 */
#ifndef LOADER_H
#define LOADER_H

struct bhyve_vm;

/*
 * Config keys: boot.kernel (a multiboot v1 kernel, ELF or a.out kludge;
 * a Linux bzImage; an ELF vmlinux with a PVH entry note; or a plain
 * ELF32/ELF64 kernel), boot.cmdline and boot.initrd (the command line and
 * the initramfs or multiboot module 0; a plain ELF kernel takes neither).
 * With lpc.bootrom set the firmware boots the guest and this does nothing.
 *
 * Returns 0, or -1 with bvm->err naming the file and what is wrong.
 */
int bhyve_load_kernel(struct bhyve_vm *bvm);

#endif /* LOADER_H */
