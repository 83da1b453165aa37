/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control-socket protocol between a running bhyve (src/bhyve/ctl.c)
 * and libvmmapi's remote contexts (src/vmmapi/vmmapi_remote.c), which
 * bhyvectl uses.
 *
 * Transport: a SOCK_STREAM UNIX socket at <rundir>/<vm name>.  Both ends
 * are on one host, so every field is in host byte order.
 *
 * A request is a struct vmm_ctl_hdr followed by 'len' bytes of payload;
 * the reply to it is a struct vmm_ctl_rep followed by its payload.  One
 * request is answered before the next is read.  Rules:
 *  - The first 8 bytes of both headers (magic, version, type) never
 *    change, so peers of different versions can always tell each other
 *    which version they speak: a server answers a request of another
 *    version with -EPROTONOSUPPORT and its own version in the reply.
 *  - Message types are only ever appended; a server answers a type it does
 *    not know with -EOPNOTSUPP and keeps the connection.
 *  - Reserved and padding fields must be zero (-EINVAL otherwise), so that
 *    a later version may give them a meaning.
 *  - A header the server cannot frame (bad magic, other version, payload
 *    over VMM_CTL_MAX_PAYLOAD) gets an error reply, then the server closes
 *    the connection.  Any other error leaves the connection usable.
 */
#ifndef VMM_CTL_H
#define VMM_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define VMM_CTL_MAGIC 0x4c544356u /* "VCTL" in a little-endian dump */
#define VMM_CTL_VERSION 1
#define VMM_CTL_MAX_PAYLOAD 4096

struct vmm_ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;	/* enum vmm_ctl_type */
	uint32_t vcpu;	/* per-vCPU messages; 0 for the others */
	uint32_t len;	/* payload bytes that follow */
};
_Static_assert(sizeof(struct vmm_ctl_hdr) == 16, "vmm_ctl_hdr ABI");

struct vmm_ctl_rep {
	uint32_t magic;
	uint16_t version; /* the version the server speaks */
	uint16_t type;	  /* the request's type, echoed */
	int32_t status;	  /* 0 or a negative errno */
	uint32_t len;	  /* payload bytes that follow; 0 on error */
};
_Static_assert(sizeof(struct vmm_ctl_rep) == 16, "vmm_ctl_rep ABI");

/*
 * Message types.  Append only.  Payloads (request / reply):
 *   HELLO      - / struct vmm_ctl_hello
 *   GET_REG    struct vmm_ctl_regid / struct vmm_ctl_reg
 *   SET_REG    struct vmm_ctl_reg / -
 *   GET_DESC   struct vmm_ctl_regid / struct vmm_ctl_desc
 *   SET_DESC   struct vmm_ctl_desc / -
 *   GET_STATS  - / uint64_t[n], the vCPU's counters in enum vmm_stat
 *              order; n is the server's VMST_MAX
 *   SUSPEND    struct vmm_ctl_suspend / -
 * GET_*, SET_* and GET_STATS address the vCPU in the header.
 */
enum vmm_ctl_type {
	VMM_CTL_HELLO = 1,
	VMM_CTL_GET_REG,
	VMM_CTL_SET_REG,
	VMM_CTL_GET_DESC,
	VMM_CTL_SET_DESC,
	VMM_CTL_GET_STATS,
	VMM_CTL_SUSPEND,
	/* Next: checkpoint, and so on. */
	VMM_CTL_NTYPES
};

struct vmm_ctl_hello {
	char name[VM_MAX_NAMELEN + 1]; /* NUL-terminated */
	char backend[16];	       /* NUL-terminated: "kvm", "null" */
	uint32_t ncpus;
	uint32_t pad;
	uint64_t memsize; /* guest RAM in bytes */
};
_Static_assert(sizeof(struct vmm_ctl_hello) == 64, "vmm_ctl_hello ABI");

struct vmm_ctl_regid {
	uint32_t reg; /* enum vm_reg_name */
	uint32_t pad;
};
_Static_assert(sizeof(struct vmm_ctl_regid) == 8, "vmm_ctl_regid ABI");

struct vmm_ctl_reg {
	uint32_t reg;
	uint32_t pad;
	uint64_t val;
};
_Static_assert(sizeof(struct vmm_ctl_reg) == 16, "vmm_ctl_reg ABI");

struct vmm_ctl_desc {
	uint32_t reg; /* one with VM_REG_HAS_DESC() */
	uint32_t pad;
	struct seg_desc desc;
};
_Static_assert(sizeof(struct vmm_ctl_desc) == 24, "vmm_ctl_desc ABI");

struct vmm_ctl_suspend {
	uint32_t how; /* VM_SUSPEND_RESET, _POWEROFF or _HALT */
	uint32_t pad;
};
_Static_assert(sizeof(struct vmm_ctl_suspend) == 8, "vmm_ctl_suspend ABI");

/*
 * Helpers both ends share, in libvmmapi (vmmapi_remote.c).
 *
 * vmm_ctl_path: "<rundir>/<name>" into buf; -EINVAL for a name that is
 * empty, too long or holds a '/', -ENAMETOOLONG if the path does not fit
 * a UNIX socket address.
 */
int vmm_ctl_path(const char *rundir, const char *name, char *buf,
    size_t len);

/*
 * The protocol version the server at 'path' speaks (> 0), or a negative
 * errno.  bhyvectl uses it to explain an -EPROTONOSUPPORT from vm_open().
 */
int vmm_ctl_peer_version(const char *path);

#endif /* VMM_CTL_H */
