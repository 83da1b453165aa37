/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU's firmware configuration interface (fw_cfg), as OVMF, SeaBIOS and
 * Linux's qemu_fw_cfg driver expect it.  The device is created from the
 * platform device table when lpc.fwcfg is "qemu"; bvm->fwcfg then points
 * at its softc so that other parts of bhyve can publish items
 * (ACPI tables, E820 map, boot order, kernel images ...).
 */
#ifndef FWCFG_H
#define FWCFG_H

#include <stdint.h>

#include "bhyverun.h"

#define FWCFG_CHECK __attribute__((warn_unused_result))

/* Selector keys (QEMU docs/specs/fw_cfg.rst and include/standard-headers). */
#define FWCFG_KEY_SIGNATURE 0x0000
#define FWCFG_KEY_ID 0x0001
#define FWCFG_KEY_UUID 0x0002
#define FWCFG_KEY_RAM_SIZE 0x0003
#define FWCFG_KEY_NB_CPUS 0x0005
#define FWCFG_KEY_KERNEL_ADDR 0x0007
#define FWCFG_KEY_KERNEL_SIZE 0x0008
#define FWCFG_KEY_INITRD_ADDR 0x000a
#define FWCFG_KEY_INITRD_SIZE 0x000b
#define FWCFG_KEY_MAX_CPUS 0x000f
#define FWCFG_KEY_KERNEL_DATA 0x0011
#define FWCFG_KEY_INITRD_DATA 0x0012
#define FWCFG_KEY_CMDLINE_ADDR 0x0013
#define FWCFG_KEY_CMDLINE_SIZE 0x0014
#define FWCFG_KEY_CMDLINE_DATA 0x0015
#define FWCFG_KEY_SETUP_ADDR 0x0016
#define FWCFG_KEY_SETUP_SIZE 0x0017
#define FWCFG_KEY_SETUP_DATA 0x0018
#define FWCFG_KEY_FILE_DIR 0x0019
#define FWCFG_KEY_FILE_FIRST 0x0020
#define FWCFG_KEY_ARCH_LOCAL 0x8000 /* x86: 0x8000 ACPI, 0x8003 E820 ... */

/* A file name is at most 55 bytes plus its NUL. */
#define FWCFG_NAME_MAX 56
/* How many files the directory holds (QEMU's default is 32 slots). */
#define FWCFG_MAX_FILES 1024

struct fwcfg_softc;

extern const struct bhyve_device fwcfg_device;

/*
 * Publish a named file (the data is copied).  Its selector is allocated
 * once and never changes; the directory lists files sorted by name, as
 * QEMU's does.  Returns 0, -EINVAL (empty name), -ENAMETOOLONG (56 bytes
 * or more), -EEXIST (name taken), -ENOSPC (directory full) or -ENOMEM.
 * Safe while vCPUs run.
 */
int fwcfg_add_file(struct fwcfg_softc *sc, const char *name,
    const void *data, uint32_t len) FWCFG_CHECK;

/*
 * Set (or replace) a fixed item below FWCFG_KEY_FILE_FIRST, generic or
 * with FWCFG_KEY_ARCH_LOCAL set; numbers are little-endian by fw_cfg
 * convention.  The data is copied; len 0 removes the item.  The
 * signature, ID and file directory are the device's own: -EPERM.
 * -EINVAL for a file or out-of-range key, -ENOMEM.
 */
int fwcfg_set_item(struct fwcfg_softc *sc, uint16_t key, const void *data,
    uint32_t len) FWCFG_CHECK;

#endif /* FWCFG_H */
