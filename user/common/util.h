/* SPDX-License-Identifier: Apache-2.0 */
/* util.h - cleanup attributes and small helpers used everywhere. */
#ifndef SHOAL_UTIL_H
#define SHOAL_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))

/* 32 random bytes as 64 lowercase hex chars + NUL (Docker-style IDs). */
int util_random_id(char out[65]);

/* "a.b.c.d" <-> uint32 in network byte order. */
int util_parse_ipv4(const char *s, uint32_t *ip_nbo);
/* The IPv4 addresses of interface ifname in this network namespace:
 * *count of them, the first in *first (NBO). 0, or -errno of getifaddrs. */
int util_iface_ipv4(const char *ifname, uint32_t *first, int *count);
const char *util_ipv4_str(uint32_t ip_nbo, char buf[16]);
const char *util_mac_str(const uint8_t mac[6], char buf[18]);
int util_parse_mac(const char *s, uint8_t mac[6]);

/* mkdir -p with mode; 0 or -errno. */
int util_mkdir_p(const char *path, unsigned int mode);

/* RFC 3339 UTC timestamp with seconds, e.g. 2026-11-27T23:25:17Z. */
void util_time_rfc3339(int64_t unix_secs, char buf[32]);

#endif
