// SPDX-License-Identifier: Apache-2.0
/*
 * nat.c - the maps of published ports and masquerade (bpf/lib/nat.h):
 * ports (userspace writes), ext_ifaces and host_addrs (start-up writes),
 * nat_ct (BPF writes; read here for tests and diagnostics).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
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

/* "<op> port IP:PORT/PROTO in map ports: <error>" */
static int port_fail(struct shoal_err *err, int rc, const char *op,
		     const struct shoal_port_key *k)
{
	char ip[16];

	return err_set(err, rc, "%s port %s:%u/%s in map ports: %s", op,
		       util_ipv4_str(k->host_ip, ip), ntohs(k->host_port), proto_name(k->proto),
		       strerror(-rc));
}

int loader_put_port(struct loader *l, const struct shoal_port_key *k,
		    const struct shoal_port_val *v, struct shoal_err *err)
{
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.ports, k, sizeof(*k), v, sizeof(*v), BPF_ANY);
	return rc < 0 ? port_fail(err, rc, "update", k) : 0;
}

int loader_get_port(struct loader *l, const struct shoal_port_key *k, struct shoal_port_val *v)
{
	if (!l || !l->skel)
		return -EBADF;
	return bpf_map__lookup_elem(l->skel->maps.ports, k, sizeof(*k), v, sizeof(*v), 0);
}

int loader_del_port(struct loader *l, const struct shoal_port_key *k, struct shoal_err *err)
{
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__delete_elem(l->skel->maps.ports, k, sizeof(*k), 0);
	return rc < 0 && rc != -ENOENT ? port_fail(err, rc, "delete", k) : 0;
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

static bool has(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Delete the keys of a map with 4-byte keys that keep[] lacks; with
 * detach, also take from_external off those interfaces. */
static int sweep_u32_map(struct loader *l, struct bpf_map *m, const uint32_t *keep, size_t n,
			 bool detach, struct shoal_err *err)
{
	__u32 k, *prev = NULL, *gone = NULL;
	size_t ng = 0, cap = 0;
	int rc;

	while ((rc = bpf_map__get_next_key(m, prev, &k, sizeof(k))) == 0) {
		if (!has(keep, n, k)) {
			if (ng == cap) {
				__u32 *ngone;

				cap = cap ? 2 * cap : 16;
				ngone = realloc(gone, cap * sizeof(*gone));
				if (!ngone) {
					free(gone);
					return err_set(err, ENOMEM, "out of memory");
				}
				gone = ngone;
			}
			gone[ng++] = k;
		}
		prev = &k;
	}
	for (size_t i = 0; i < ng; i++) {
		bpf_map__delete_elem(m, &gone[i], sizeof(gone[i]), 0);
		if (detach)
			loader_detach_external(l, (int)gone[i], NULL);
	}
	free(gone);
	return rc == -ENOENT ? 0 : err_set(err, rc, "walk map %s: %s", bpf_map__name(m),
					   strerror(-rc));
}

int loader_sweep_ext(struct loader *l, const uint32_t *ifindexes, size_t nifs,
		     const uint32_t *addrs, size_t naddrs, struct shoal_err *err)
{
	int rc;

	NEED_SKEL(l, err);
	rc = sweep_u32_map(l, l->skel->maps.ext_ifaces, ifindexes, nifs, true, err);
	return rc < 0 ? rc : sweep_u32_map(l, l->skel->maps.host_addrs, addrs, naddrs, false, err);
}

int loader_find_iface_by_ip(struct loader *l, uint32_t ip)
{
	__u32 k, *prev = NULL;
	int rc;

	if (!l || !l->skel)
		return -EBADF;
	while ((rc = bpf_map__get_next_key(l->skel->maps.ifaces, prev, &k, sizeof(k))) == 0) {
		struct shoal_iface_val v;

		if (bpf_map__lookup_elem(l->skel->maps.ifaces, &k, sizeof(k), &v, sizeof(v), 0) == 0 &&
		    v.ip == ip)
			return (int)k;
		prev = &k;
	}
	return -ENOENT;
}

int loader_get_ct(struct loader *l, const struct shoal_ct_key *k, struct shoal_ct_val *v)
{
	if (!l || !l->skel)
		return -EBADF;
	return bpf_map__lookup_elem(l->skel->maps.nat_ct, k, sizeof(*k), v, sizeof(*v), 0);
}

/* ---- socket hooks ---- */

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The mount point of the cgroup2 hierarchy (its root cgroup). */
static int cgroup2_root(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (rc && fgets(line, sizeof(line), f)) {
		char mnt[4096], *dash = strstr(line, " - ");
		char fstype[64];

		if (!dash || sscanf(dash, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(out, len, "%s", mnt);
		rc = 0;
	}
	fclose(f);
	return rc;
}

static int netns_cookie(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Attach prog to the cgroup as a link pinned at pin_dir/link_<name>, or
 * swap the program of the link already pinned there. */
static int attach_cgroup_link(struct loader *l, struct bpf_program *prog, int cgfd,
			      struct shoal_err *err)
{
	char path[4096 + 64];
	struct bpf_link *link;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/link_%s", l->pin_dir, bpf_program__name(prog));
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		rc = bpf_link_update(fd, bpf_program__fd(prog), NULL);
		close(fd);
		if (rc == 0)
			return 0;
		/* A stale pin of another kind: replace it. */
		unlink(path);
	}
	link = bpf_program__attach_cgroup(prog, cgfd);
	if (!link)
		return err_set(err, errno, "attach %s to the root cgroup: %s",
			       bpf_program__name(prog), strerror(errno));
	rc = bpf_link__pin(link, path);
	/* The pin holds the attachment; our fd goes. */
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	if (rc < 0)
		return err_set(err, -rc, "pin %s: %s", path, strerror(-rc));
	return 0;
}

int loader_attach_sock(struct loader *l, struct shoal_err *err)
{
	struct shoal_sock_cfg sc = { 0 };
	struct bpf_program *progs[4];
	char root[4096];
	__u32 zero = 0;
	int cgfd, rc;

	NEED_SKEL(l, err);
	rc = netns_cookie(&sc.netns_cookie);
	if (rc < 0)
		return err_set(err, -rc, "network namespace cookie (SO_NETNS_COOKIE): %s",
			       strerror(-rc));
	rc = bpf_map__update_elem(l->skel->maps.sock_config, &zero, sizeof(zero), &sc, sizeof(sc),
				  BPF_ANY);
	if (rc < 0)
		return err_set(err, -rc, "update map sock_config: %s", strerror(-rc));
	rc = cgroup2_root(root, sizeof(root));
	if (rc < 0)
		return err_set(err, -rc, "no cgroup2 hierarchy mounted: %s", strerror(-rc));
	cgfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return err_set(err, errno, "open %s: %s", root, strerror(errno));
	progs[0] = l->skel->progs.sock_connect4;
	progs[1] = l->skel->progs.sock_sendmsg4;
	progs[2] = l->skel->progs.sock_recvmsg4;
	progs[3] = l->skel->progs.sock_getpeer4;
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = attach_cgroup_link(l, progs[i], cgfd, err);
	close(cgfd);
	return rc;
}
