/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VM's UUID, one value for every place that shows it (SMBIOS type 1,
 * fw_cfg): the config key `uuid` (-U), or one derived from the VM name.
 */
#ifndef UUID_H
#define UUID_H

#include <stdint.h>

struct bhyve_vm;

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes in written order. */
int uuid_parse(const char *s, uint8_t out[16]) __attribute__((warn_unused_result));
/* A stable UUID for a VM name, marked RFC 9562 version 8 (custom). */
void uuid_from_name(const char *name, uint8_t out[16]);
/* The VM's UUID; -1 with bvm->err if `uuid` is malformed. */
int bhyve_vm_uuid(struct bhyve_vm *bvm, uint8_t out[16]);

#endif /* UUID_H */
