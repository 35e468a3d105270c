/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam.h - IPv4 address management. Pure functions over host-order
 * integers where arithmetic is needed; the public API takes and returns
 * network byte order like the rest of shoal.
 */
#ifndef SHOAL_IPAM_H
#define SHOAL_IPAM_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

/* "10.0.0.0/24" -> net (NBO), prefix. Rejects host bits set
 * ("10.0.0.1/24": error says "should be 10.0.0.0/24"), bad syntax and
 * prefixes outside 8..30 for subnets. */
int ipam_parse_subnet(const char *s, uint32_t *net, uint8_t *prefix, struct shoal_err *err);
/* Like ipam_parse_subnet but for --ip-range: prefix 8..32. */
int ipam_parse_range(const char *s, uint32_t *net, uint8_t *prefix, struct shoal_err *err);
uint32_t ipam_mask(uint8_t prefix); /* NBO */
int ipam_contains(uint32_t net, uint8_t prefix, uint32_t ip);
int ipam_overlaps(uint32_t a, uint8_t pa, uint32_t b, uint8_t pb);

/*
 * Pick a default subnet that overlaps none of used[] (nets, prefixes):
 * Docker's default pools, 172.17.0.0/16 .. 172.31.0.0/16 then
 * 192.168.0.0/20 .. 192.168.240.0/20. -ENOSPC "no free default pool".
 */
int ipam_default_subnet(const uint32_t *used_net, const uint8_t *used_prefix, size_t n_used,
			uint32_t *net, uint8_t *prefix, struct shoal_err *err);

/* First usable address of the subnet (Docker's default gateway). */
uint32_t ipam_first_host(uint32_t net, uint8_t prefix);

/*
 * Allocate the lowest free address in the subnet (restricted to range
 * when range_prefix != 0), skipping network and broadcast addresses, the
 * gateway and used[]. -ENOSPC "no free address in <subnet>".
 */
int ipam_alloc(uint32_t net, uint8_t prefix, uint32_t range, uint8_t range_prefix,
	       uint32_t gateway, const uint32_t *used, size_t n_used, uint32_t *out,
	       struct shoal_err *err);

/* Check a requested address: inside the subnet, not network/broadcast,
 * not the gateway, not used. Messages name the address and the subnet. */
int ipam_check(uint32_t net, uint8_t prefix, uint32_t gateway, const uint32_t *used,
	       size_t n_used, uint32_t ip, struct shoal_err *err);

/* Docker's MAC for an IP: 02:42:a.b.c.d. */
void ipam_mac_from_ip(uint32_t ip, uint8_t mac[6]);

#endif
