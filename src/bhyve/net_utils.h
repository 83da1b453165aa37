/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers shared by the network devices (bhyve's net_utils.c): MAC
 * address parsing and the default MAC a device gets from the VM's name and
 * its PCI slot, and MTU parsing.
 */
#ifndef NET_UTILS_H
#define NET_UTILS_H

#include <stddef.h>
#include <stdint.h>

#define NET_MAC_LEN 6

/*
 * "xx:xx:xx:xx:xx:xx" (or with '-'), hex digits either case.  A multicast
 * address (bit 0 of the first octet) or all zeroes is refused: neither
 * can be a station's address.  0 or -EINVAL.
 */
int net_parsemac(const char *str, uint8_t mac[NET_MAC_LEN]);

/*
 * A decimal (or 0x hex) MTU between 'min' and 'max'.  0, -EINVAL (not a
 * number) or -ERANGE.
 */
int net_parsemtu(const char *str, unsigned min, unsigned max,
    unsigned *mtu);

/*
 * bhyve's default MAC: the FreeBSD Foundation OUI 58:9c:fc, then the
 * first three bytes of the MD5 of "<slot>-<func>-<vmname>", so the same
 * VM gets the same address in every run and two NICs of one VM differ.
 */
void net_genmac(const char *vmname, int slot, int func,
    uint8_t mac[NET_MAC_LEN]);

/* RFC 1321 MD5 of 'len' bytes (for net_genmac; exposed for tests). */
void net_md5(const void *data, size_t len, uint8_t digest[16]);

#endif /* NET_UTILS_H */
