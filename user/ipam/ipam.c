// SPDX-License-Identifier: Apache-2.0
/*
 * ipam.c - IPv4 address management: CIDR parsing, overlap checks, Docker's
 * default pools and lowest-free allocation. Arithmetic is done on host-order
 * integers; everything crossing the API is network byte order.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "../common/util.h"

static uint32_t hmask(uint8_t prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

uint32_t ipam_mask(uint8_t prefix)
{
	return htonl(hmask(prefix));
}

int ipam_contains(uint32_t net, uint8_t prefix, uint32_t ip)
{
	uint32_t m = hmask(prefix);

	return (ntohl(ip) & m) == (ntohl(net) & m);
}

int ipam_overlaps(uint32_t a, uint8_t pa, uint32_t b, uint8_t pb)
{
	/* Two CIDR blocks overlap iff one contains the other's network. */
	uint8_t p = pa < pb ? pa : pb;

	return ipam_contains(a, p, b);
}

/*
 * Strict "a.b.c.d/len": inet_pton for the address (no shorthand forms),
 * one or two decimal digits for the length. what is the noun used in the
 * host-bits message ("subnet", "ip-range").
 */
static int parse_cidr(const char *s, const char *what, uint8_t min, uint8_t max,
		      uint32_t *net, uint8_t *prefix, struct shoal_err *err)
{
	char addr[INET_ADDRSTRLEN], want[INET_ADDRSTRLEN];
	const char *slash, *p;
	uint32_t ip, m;
	unsigned int len = 0;
	size_t alen;

	if (!s)
		return err_set(err, EINVAL, "invalid CIDR address: (null)");
	slash = strchr(s, '/');
	if (!slash)
		return err_set(err, EINVAL, "invalid CIDR address: %s", s);
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return err_set(err, EINVAL, "invalid CIDR address: %s", s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &ip) != 1)
		return err_set(err, EINVAL, "invalid CIDR address: %s", s);
	p = slash + 1;
	if (*p == '\0' || strlen(p) > 2)
		return err_set(err, EINVAL, "invalid CIDR address: %s", s);
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return err_set(err, EINVAL, "invalid CIDR address: %s", s);
		len = len * 10 + (unsigned int)(*p - '0');
	}
	if (len > 32)
		return err_set(err, EINVAL, "invalid CIDR address: %s", s);
	if (len < min || len > max)
		return err_set(err, EINVAL,
			       "invalid %s %s: prefix length must be between %u and %u",
			       what, s, min, max);
	m = htonl(hmask((uint8_t)len));
	if ((ip & m) != ip) {
		util_ipv4_str(ip & m, want);
		return err_set(err, EINVAL, "invalid %s %s: it should be %s/%u", what, s,
			       want, len);
	}
	*net = ip;
	*prefix = (uint8_t)len;
	return 0;
}

int ipam_parse_subnet(const char *s, uint32_t *net, uint8_t *prefix, struct shoal_err *err)
{
	return parse_cidr(s, "subnet", 8, 30, net, prefix, err);
}

int ipam_parse_range(const char *s, uint32_t *net, uint8_t *prefix, struct shoal_err *err)
{
	return parse_cidr(s, "ip-range", 8, 32, net, prefix, err);
}

int ipam_default_subnet(const uint32_t *used_net, const uint8_t *used_prefix, size_t n_used,
			uint32_t *net, uint8_t *prefix, struct shoal_err *err)
{
	/* Docker's built-in pools, in Docker's order. */
	static const struct { uint32_t base; uint8_t pool_prefix, size; int count; } pools[] = {
		{ 0xac110000u, 16, 16, 15 }, /* 172.17.0.0/16 .. 172.31.0.0/16 */
		{ 0xc0a80000u, 20, 20, 16 }, /* 192.168.0.0/20 .. 192.168.240.0/20 */
	};

	for (size_t i = 0; i < ARRAY_SIZE(pools); i++) {
		for (int k = 0; k < pools[i].count; k++) {
			uint32_t cand = htonl(pools[i].base + ((uint32_t)k << (32 - pools[i].size)));
			bool taken = false;

			for (size_t u = 0; u < n_used && !taken; u++)
				taken = ipam_overlaps(cand, pools[i].size, used_net[u], used_prefix[u]);
			if (!taken) {
				*net = cand;
				*prefix = pools[i].size;
				return 0;
			}
		}
	}
	return err_set(err, ENOSPC,
		       "could not find an available, non-overlapping IPv4 address pool "
		       "among the defaults to assign to the network");
}

uint32_t ipam_first_host(uint32_t net, uint8_t prefix)
{
	uint32_t n = ntohl(net) & hmask(prefix);

	/* /31 and /32 have no network address to skip (RFC 3021). */
	return htonl(prefix >= 31 ? n : n + 1);
}

/* Host-order bounds of the usable addresses of a subnet. */
static void usable_bounds(uint32_t net, uint8_t prefix, uint32_t *lo, uint32_t *hi)
{
	uint32_t n = ntohl(net) & hmask(prefix), b = n | ~hmask(prefix);

	if (prefix >= 31) {
		*lo = n;
		*hi = b;
	} else {
		*lo = n + 1;
		*hi = b - 1;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int ipam_alloc(uint32_t net, uint8_t prefix, uint32_t range, uint8_t range_prefix,
	       uint32_t gateway, const uint32_t *used, size_t n_used, uint32_t *out,
	       struct shoal_err *err)
{
	char nbuf[INET_ADDRSTRLEN];
	uint32_t lo, hi, gw = ntohl(gateway);
	uint32_t *sorted = NULL;
	int ret;

	usable_bounds(net, prefix, &lo, &hi);
	if (range_prefix != 0) {
		/* Intersect with the range; the range's own network and
		 * broadcast addresses are usable, only the subnet's are not. */
		uint32_t rlo = ntohl(range) & hmask(range_prefix);
		uint32_t rhi = rlo | ~hmask(range_prefix);

		if (rlo > lo)
			lo = rlo;
		if (rhi < hi)
			hi = rhi;
	}
	if (n_used) {
		sorted = malloc(n_used * sizeof(*sorted));
		if (!sorted)
			return err_set(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < n_used; i++)
			sorted[i] = ntohl(used[i]);
		qsort(sorted, n_used, sizeof(*sorted), cmp_u32);
	}
	/* Walk the candidates and the sorted used list together. */
	size_t u = 0;
	for (uint64_t a = lo; a <= hi; a++) {
		uint32_t cand = (uint32_t)a;

		while (u < n_used && sorted[u] < cand)
			u++;
		if (u < n_used && sorted[u] == cand)
			continue;
		if (gateway && cand == gw)
			continue;
		*out = htonl(cand);
		ret = 0;
		goto out;
	}
	ret = err_set(err, ENOSPC, "no available IPv4 addresses on this network's address pools: %s/%u",
		      util_ipv4_str(htonl(ntohl(net) & hmask(prefix)), nbuf), prefix);
out:
	free(sorted);
	return ret;
}

int ipam_check(uint32_t net, uint8_t prefix, uint32_t gateway, const uint32_t *used,
	       size_t n_used, uint32_t ip, struct shoal_err *err)
{
	char ipb[INET_ADDRSTRLEN], nb[INET_ADDRSTRLEN];
	uint32_t h = ntohl(ip), n = ntohl(net) & hmask(prefix), b = n | ~hmask(prefix);

	util_ipv4_str(ip, ipb);
	util_ipv4_str(htonl(n), nb);
	if (!ipam_contains(net, prefix, ip))
		return err_set(err, EINVAL, "address %s is not in subnet %s/%u", ipb, nb, prefix);
	if (prefix < 31 && h == n)
		return err_set(err, EINVAL, "address %s is the network address of %s/%u", ipb,
			       nb, prefix);
	if (prefix < 31 && h == b)
		return err_set(err, EINVAL, "address %s is the broadcast address of %s/%u", ipb,
			       nb, prefix);
	if (gateway && ip == gateway)
		return err_set(err, EEXIST, "address %s is the gateway of %s/%u", ipb, nb, prefix);
	for (size_t i = 0; i < n_used; i++)
		if (used[i] == ip)
			return err_set(err, EEXIST, "address %s is already in use", ipb);
	return 0;
}

void ipam_mac_from_ip(uint32_t ip, uint8_t mac[6])
{
	const uint8_t *b = (const uint8_t *)&ip; /* NBO: a.b.c.d in memory order */

	mac[0] = 0x02;
	mac[1] = 0x42;
	memcpy(mac + 2, b, 4);
}
