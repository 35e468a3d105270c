// SPDX-License-Identifier: Apache-2.0
/*
 * nat.c - the maps of published ports and masquerade (bpf/lib/nat.h):
 * ports (userspace writes), ext_ifaces and host_addrs (start-up writes),
 * nat_ct (BPF writes; read here for tests and diagnostics).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/util.h"
#include "loader.h"
#include "shoal.skel.h"

#define NEED_SKEL(l, err)                                                       \
	do {                                                                    \
		if (!(l) || !(l)->skel)                                         \
			return err_set(err, EBADF, "BPF loader is not open");   \
	} while (0)

static const char *proto_name(uint8_t p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : "?";
}

int loader_put_port(struct loader *l, const struct shoal_port_key *k,
		    const struct shoal_port_val *v, struct shoal_err *err)
{
	char ip[16];
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.ports, k, sizeof(*k), v, sizeof(*v), BPF_ANY);
	if (rc < 0)
		return err_set(err, rc, "update port %s:%u/%s in map ports: %s",
			       util_ipv4_str(k->host_ip, ip), ntohs(k->host_port),
			       proto_name(k->proto), strerror(-rc));
	return 0;
}

int loader_get_port(struct loader *l, const struct shoal_port_key *k, struct shoal_port_val *v)
{
	if (!l || !l->skel)
		return -EBADF;
	return bpf_map__lookup_elem(l->skel->maps.ports, k, sizeof(*k), v, sizeof(*v), 0);
}

int loader_del_port(struct loader *l, const struct shoal_port_key *k, struct shoal_err *err)
{
	char ip[16];
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__delete_elem(l->skel->maps.ports, k, sizeof(*k), 0);
	if (rc < 0 && rc != -ENOENT)
		return err_set(err, rc, "delete port %s:%u/%s in map ports: %s",
			       util_ipv4_str(k->host_ip, ip), ntohs(k->host_port),
			       proto_name(k->proto), strerror(-rc));
	return 0;
}

int loader_foreach_port(struct loader *l,
			int (*fn)(const struct shoal_port_key *k, const struct shoal_port_val *v,
				  void *arg),
			void *arg, struct shoal_err *err)
{
	struct shoal_port_key *keys = NULL, *nk;
	size_t n = 0, cap = 0;
	int rc = 0;

	NEED_SKEL(l, err);
	/* Snapshot the keys first: fn may delete. */
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nk = realloc(keys, cap * sizeof(*keys));
			if (!nk) {
				free(keys);
				return err_set(err, ENOMEM, "walk map ports: %s", strerror(ENOMEM));
			}
			keys = nk;
		}
		rc = bpf_map__get_next_key(l->skel->maps.ports, n ? &keys[n - 1] : NULL, &keys[n],
					   sizeof(*keys));
		if (rc == -ENOENT)
			break;
		if (rc < 0) {
			free(keys);
			return err_set(err, rc, "walk map ports: %s", strerror(-rc));
		}
		n++;
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct shoal_port_val v;

		if (loader_get_port(l, &keys[i], &v) < 0)
			continue; /* deleted meanwhile */
		rc = fn(&keys[i], &v, arg);
	}
	free(keys);
	return rc < 0 ? rc : 0;
}

int loader_put_ext_iface(struct loader *l, uint32_t ifindex, const struct shoal_ext_val *v,
			 struct shoal_err *err)
{
	__u32 k = ifindex;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.ext_ifaces, &k, sizeof(k), v, sizeof(*v), BPF_ANY);
	return rc < 0 ? err_set(err, rc, "update ifindex %u in map ext_ifaces: %s", ifindex,
				strerror(-rc))
		      : 0;
}

int loader_get_ext(struct loader *l, uint32_t ifindex, struct shoal_ext_val *v)
{
	__u32 k = ifindex;

	if (!l || !l->skel)
		return -EBADF;
	return bpf_map__lookup_elem(l->skel->maps.ext_ifaces, &k, sizeof(k), v, sizeof(*v), 0);
}

int loader_del_ext_iface(struct loader *l, uint32_t ifindex, struct shoal_err *err)
{
	__u32 k = ifindex;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__delete_elem(l->skel->maps.ext_ifaces, &k, sizeof(k), 0);
	return rc < 0 && rc != -ENOENT ? err_set(err, rc, "delete ifindex %u in map ext_ifaces: %s",
						 ifindex, strerror(-rc))
				       : 0;
}

int loader_put_host_addr(struct loader *l, uint32_t addr, uint32_t ifindex, struct shoal_err *err)
{
	__u32 k = addr, v = ifindex;
	char ip[16];
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.host_addrs, &k, sizeof(k), &v, sizeof(v), BPF_ANY);
	return rc < 0 ? err_set(err, rc, "update %s in map host_addrs: %s",
				util_ipv4_str(addr, ip), strerror(-rc))
		      : 0;
}

/* Delete every key of a map with 4-byte keys. */
static int clear_u32_map(struct bpf_map *m, struct shoal_err *err)
{
	__u32 k;
	int rc;

	/* Always restart from the first key: we delete as we go. */
	while ((rc = bpf_map__get_next_key(m, NULL, &k, sizeof(k))) == 0) {
		rc = bpf_map__delete_elem(m, &k, sizeof(k), 0);
		if (rc < 0 && rc != -ENOENT)
			return err_set(err, rc, "clear map %s: %s", bpf_map__name(m), strerror(-rc));
	}
	return rc == -ENOENT ? 0 : err_set(err, rc, "clear map %s: %s", bpf_map__name(m),
					   strerror(-rc));
}

int loader_clear_ext(struct loader *l, struct shoal_err *err)
{
	int rc;

	NEED_SKEL(l, err);
	rc = clear_u32_map(l->skel->maps.ext_ifaces, err);
	return rc < 0 ? rc : clear_u32_map(l->skel->maps.host_addrs, err);
}

int loader_get_ct(struct loader *l, const struct shoal_ct_key *k, struct shoal_ct_val *v)
{
	if (!l || !l->skel)
		return -EBADF;
	return bpf_map__lookup_elem(l->skel->maps.nat_ct, k, sizeof(*k), v, sizeof(*v), 0);
}
