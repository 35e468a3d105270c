// SPDX-License-Identifier: Apache-2.0
/*
 * loader.c - open/load the shoal skeleton with its maps pinned under
 * <bpffs>/shoal/<node>/ and read/write those maps.
 *
 * Pinning is libbpf's: every map is declared LIBBPF_PIN_BY_NAME and the
 * object is opened with pin_root_path = our pin dir, so on load libbpf
 * reuses a pinned map whose type, key/value size, max_entries and flags
 * match, and pins the ones that are missing. That is what keeps entries
 * and counters across a daemon restart. A mismatch (an upgrade changed a
 * struct) makes libbpf fail the load; we then name the map and tell the
 * operator to remove the directory rather than silently drop counters.
 *
 * TC attachment lives in tc.c.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "../common/util.h"
#include "loader.h"
#include "shoal.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* Per-CPU values: one 8-byte aligned slot per possible CPU. */
#define PER_CPU_SLOT(sz) (((sz) + 7) & ~(size_t)7)

static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char *s = NULL;
	size_t n;

	if (lvl == LIBBPF_DEBUG)
		return 0;
	if (vasprintf(&s, fmt, ap) < 0)
		return 0;
	n = strlen(s);
	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
	/* libbpf prefixes "libbpf: " itself. It also prints the kernel's
	 * extack for every failed netlink call, including the ones we expect
	 * (clsact exists, no filter yet): those go to debug, real failures
	 * reach the caller through shoal_err. */
	if (lvl == LIBBPF_WARN && !strstr(s, "Kernel error message:"))
		log_warn("%s", s);
	else
		log_debug("%s", s);
	free(s);
	return 0;
}

static int node_name_ok(const char *n)
{
	return n && *n && strlen(n) <= 64 && !strchr(n, '/') && !strstr(n, "..") &&
	       strcmp(n, ".") != 0;
}

static int pin_dir_path(char *buf, size_t len, const char *root, const char *node)
{
	int n = snprintf(buf, len, "%s/shoal/%s", root, node);

	return n < 0 || (size_t)n >= len - 32 ? -ENAMETOOLONG : 0;
}

/* Make sure root is a bpffs: create it and mount one there if needed. */
static int bpffs_ensure(const char *root, struct shoal_err *err)
{
	struct statfs st;
	int rc;

	if (statfs(root, &st) < 0) {
		if (errno != ENOENT)
			return err_set(err, errno, "bpffs %s: %s", root, strerror(errno));
		rc = util_mkdir_p(root, 0700);
		if (rc < 0)
			return err_set(err, rc, "create bpffs mount point %s: %s", root,
				       strerror(-rc));
		if (statfs(root, &st) < 0)
			return err_set(err, errno, "bpffs %s: %s", root, strerror(errno));
	}
	if ((unsigned long)st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", root, "bpf", 0, "mode=0700") < 0)
		return err_set(err, errno, "mount bpffs on %s: %s", root, strerror(errno));
	log_info("mounted bpffs on %s", root);
	return 0;
}

/*
 * After a failed load: is a pinned map the reason? libbpf refuses to
 * reuse a pin whose parameters differ from the object's definition.
 * Returns -EEXIST with a message naming the map, 0 if all pins fit.
 */
static int check_pins(struct shoal_bpf *skel, const char *dir, struct shoal_err *err)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, skel->obj)
	{
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		const char *path = bpf_map__pin_path(map);
		_cleanup_close_ int fd = -1;

		if (!path || access(path, F_OK) < 0)
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
		    info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) ||
		    info.max_entries != bpf_map__max_entries(map) ||
		    info.map_flags != bpf_map__map_flags(map))
			return err_set(err, EEXIST,
				       "pinned map %s under %s is incompatible with this shoald "
				       "(pinned: type %u key %u value %u max %u; expected: type %d "
				       "key %u value %u max %u); remove %s to reset",
				       bpf_map__name(map), dir, info.type, info.key_size,
				       info.value_size, info.max_entries, bpf_map__type(map),
				       bpf_map__key_size(map), bpf_map__value_size(map),
				       bpf_map__max_entries(map), dir);
	}
	return 0;
}

/*
 * A pinned flows map whose size is not the one configured cannot be
 * reused (libbpf refuses): unpin it so that load creates a new one.
 */
static void flows_pin_check(const char *dir, uint32_t want)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/flows", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.max_entries != want) {
		log_warn("flow table size changed (%u -> %u): the pinned flows map is replaced, "
			 "its flows are dropped", info.max_entries, want);
		unlink(path);
	}
	close(fd);
}

int loader_open(struct loader *l, const char *bpffs_root, const char *node_name,
		struct shoal_err *err)
{
	return loader_open_opts(l, bpffs_root, node_name, NULL, err);
}

int loader_open_opts(struct loader *l, const char *bpffs_root, const char *node_name,
		     const struct loader_opts *o, struct shoal_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	uint32_t flow_size = o && o->flow_table_size ? o->flow_table_size : SHOAL_FLOWS_DEFAULT;
	struct shoal_bpf *skel;
	int rc;

	memset(l, 0, sizeof(*l));
	if (!bpffs_root || !*bpffs_root)
		return err_set(err, EINVAL, "bpffs root: empty path");
	if (!node_name_ok(node_name))
		return err_set(err, EINVAL, "node name \"%s\": must be 1-64 characters without "
			       "'/' or '..'", node_name ? node_name : "");
	if (pin_dir_path(l->pin_dir, sizeof(l->pin_dir), bpffs_root, node_name) < 0)
		return err_set(err, ENAMETOOLONG, "bpffs root %s: path too long", bpffs_root);

	libbpf_set_print(libbpf_log);
	rc = bpffs_ensure(bpffs_root, err);
	if (rc < 0)
		return rc;
	rc = util_mkdir_p(l->pin_dir, 0700);
	if (rc < 0)
		return err_set(err, rc, "create pin dir %s: %s", l->pin_dir, strerror(-rc));

	rc = libbpf_num_possible_cpus();
	if (rc <= 0)
		return err_set(err, rc ? rc : EIO, "count possible CPUs: %s",
			       strerror(rc ? -rc : EIO));
	l->ncpus = rc;

	opts.pin_root_path = l->pin_dir;
	skel = shoal_bpf__open_opts(&opts);
	if (!skel)
		return err_set(err, errno, "open BPF object: %s", strerror(errno));
	flows_pin_check(l->pin_dir, flow_size);
	rc = bpf_map__set_max_entries(skel->maps.flows, flow_size);
	if (rc == 0 && o && o->event_rate)
		skel->rodata->event_rate = o->event_rate;
	if (rc == 0)
		rc = shoal_bpf__load(skel);
	if (rc < 0) {
		int ret = check_pins(skel, l->pin_dir, err);

		if (ret == 0)
			ret = err_set(err, rc, "load BPF programs (pins under %s): %s",
				      l->pin_dir, strerror(-rc));
		shoal_bpf__destroy(skel);
		return ret;
	}
	l->skel = skel;
	return 0;
}

void loader_close(struct loader *l)
{
	if (!l)
		return;
	/* Destroying the skeleton closes our fds only: TC filters keep the
	 * programs, programs and pins keep the maps. */
	shoal_bpf__destroy(l->skel);
	l->skel = NULL;
}

int loader_unpin(const char *bpffs_root, const char *node_name, struct shoal_err *err)
{
	char dir[4096], parent[4096], path[4096 + 256];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!bpffs_root || !*bpffs_root || !node_name_ok(node_name))
		return err_set(err, EINVAL, "unpin: invalid bpffs root or node name");
	if (pin_dir_path(dir, sizeof(dir), bpffs_root, node_name) < 0)
		return err_set(err, ENAMETOOLONG, "bpffs root %s: path too long", bpffs_root);
	snprintf(parent, sizeof(parent), "%s/shoal", bpffs_root);

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "open %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && errno != ENOENT && rc == 0)
			rc = err_set(err, errno, "unpin %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (rc < 0)
		return rc;
	if (rmdir(dir) < 0 && errno != ENOENT)
		return err_set(err, errno, "remove %s: %s", dir, strerror(errno));
	/* The shared parent goes only when no other node uses it. */
	if (rmdir(parent) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
		return err_set(err, errno, "remove %s: %s", parent, strerror(errno));
	return 0;
}

/* ---- maps ---- */

#define NEED_SKEL(l, err)                                                       \
	do {                                                                    \
		if (UNLIKELY(!(l) || !(l)->skel))                               \
			return err_set(err, EBADF, "BPF loader is not open");   \
	} while (0)

static int map_fail(struct shoal_err *err, int rc, const char *op, const char *map,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int map_fail(struct shoal_err *err, int rc, const char *op, const char *map,
		    const char *fmt, ...)
{
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(err, rc, "%s %s in map %s: %s", op, what, map, strerror(-rc));
}

int loader_set_node_cfg(struct loader *l, const struct shoal_node_cfg *cfg, struct shoal_err *err)
{
	__u32 k = 0;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.node_config, &k, sizeof(k), cfg, sizeof(*cfg),
				  BPF_ANY);
	return rc < 0 ? map_fail(err, rc, "update", "node_config", "key %u", k) : 0;
}

int loader_get_node_cfg(struct loader *l, struct shoal_node_cfg *cfg, struct shoal_err *err)
{
	__u32 k = 0;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__lookup_elem(l->skel->maps.node_config, &k, sizeof(k), cfg, sizeof(*cfg), 0);
	return rc < 0 ? map_fail(err, rc, "look up", "node_config", "key %u", k) : 0;
}

int loader_put_network(struct loader *l, uint32_t net_id, const struct shoal_net_val *v,
		       struct shoal_err *err)
{
	__u32 k = net_id;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.networks, &k, sizeof(k), v, sizeof(*v), BPF_ANY);
	if (rc < 0)
		return map_fail(err, rc, "update", "networks", "network %u", net_id);
	{
		struct shoal_subnet_key sk = { .prefixlen = (__u32)__builtin_popcount(v->mask),
					       .addr = v->subnet };
		struct shoal_subnet_val sv = { .net_id = net_id, .gateway = v->gateway };

		rc = bpf_map__update_elem(l->skel->maps.subnets, &sk, sizeof(sk), &sv, sizeof(sv),
					  BPF_ANY);
	}
	return rc < 0 ? map_fail(err, rc, "update", "subnets", "network %u", net_id) : 0;
}

int loader_del_network(struct loader *l, uint32_t net_id, struct shoal_err *err)
{
	__u32 k = net_id;
	int rc;

	struct shoal_subnet_key sk = { 0 };
	struct shoal_subnet_val sv;
	struct shoal_net_val v;

	NEED_SKEL(l, err);
	/* its subnet entry first, if it is still this network's */
	if (bpf_map__lookup_elem(l->skel->maps.networks, &k, sizeof(k), &v, sizeof(v), 0) == 0) {
		sk.prefixlen = (__u32)__builtin_popcount(v.mask);
		sk.addr = v.subnet;
		if (bpf_map__lookup_elem(l->skel->maps.subnets, &sk, sizeof(sk), &sv, sizeof(sv), 0) == 0 &&
		    sv.net_id == net_id)
			bpf_map__delete_elem(l->skel->maps.subnets, &sk, sizeof(sk), 0);
	}
	rc = bpf_map__delete_elem(l->skel->maps.networks, &k, sizeof(k), 0);
	return rc < 0 ? map_fail(err, rc, "delete", "networks", "network %u", net_id) : 0;
}

int loader_put_endpoint(struct loader *l, const struct shoal_ep_key *k,
			const struct shoal_ep_val *v, struct shoal_err *err)
{
	char ip[16];
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.endpoints, k, sizeof(*k), v, sizeof(*v), BPF_ANY);
	return rc < 0 ? map_fail(err, rc, "update", "endpoints", "endpoint %u/%s", k->net_id,
				 util_ipv4_str(k->ip, ip))
		      : 0;
}

int loader_del_endpoint(struct loader *l, const struct shoal_ep_key *k, struct shoal_err *err)
{
	char ip[16];
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__delete_elem(l->skel->maps.endpoints, k, sizeof(*k), 0);
	return rc < 0 ? map_fail(err, rc, "delete", "endpoints", "endpoint %u/%s", k->net_id,
				 util_ipv4_str(k->ip, ip))
		      : 0;
}

int loader_put_iface(struct loader *l, uint32_t ifindex, const struct shoal_iface_val *v,
		     struct shoal_err *err)
{
	__u32 k = ifindex;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__update_elem(l->skel->maps.ifaces, &k, sizeof(k), v, sizeof(*v), BPF_ANY);
	return rc < 0 ? map_fail(err, rc, "update", "ifaces", "ifindex %u", ifindex) : 0;
}

int loader_del_iface(struct loader *l, uint32_t ifindex, struct shoal_err *err)
{
	__u32 k = ifindex;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__delete_elem(l->skel->maps.ifaces, &k, sizeof(k), 0);
	return rc < 0 ? map_fail(err, rc, "delete", "ifaces", "ifindex %u", ifindex) : 0;
}

int loader_get_node(struct loader *l, uint32_t node_ip, struct shoal_node_val *v,
		    struct shoal_err *err)
{
	__u32 k = node_ip;
	char ip[16];
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__lookup_elem(l->skel->maps.nodes, &k, sizeof(k), v, sizeof(*v), 0);
	return rc < 0 ? map_fail(err, rc, "look up", "nodes", "node %s", util_ipv4_str(k, ip)) : 0;
}

/* ---- per-CPU counters: every value is all __u64, summed slot by slot ---- */

static void *percpu_alloc(struct loader *l, size_t vsz, size_t *total)
{
	*total = PER_CPU_SLOT(vsz) * (size_t)l->ncpus;
	return calloc(1, *total);
}

static void percpu_sum(const void *buf, int ncpus, size_t vsz, void *sum)
{
	size_t words = vsz / sizeof(__u64);
	__u64 *out = sum;

	memset(sum, 0, vsz);
	for (int c = 0; c < ncpus; c++) {
		const __u64 *v = (const __u64 *)((const char *)buf + (size_t)c * PER_CPU_SLOT(vsz));

		for (size_t i = 0; i < words; i++)
			out[i] += v[i];
	}
}

/*
 * Key k of per-CPU map `name`, its CPUs' slots summed into sum (vsz bytes
 * of __u64 counters); errors name the key as "<what> <k>".
 */
static int percpu_read_sum(struct loader *l, const struct bpf_map *map, const char *name,
			   const char *what, __u32 k, void *sum, size_t vsz, struct shoal_err *err)
{
	_cleanup_free_ void *buf = NULL;
	size_t total;
	int rc;

	buf = percpu_alloc(l, vsz, &total);
	if (!buf)
		return err_set(err, ENOMEM, "%s: %s", name, strerror(ENOMEM));
	rc = bpf_map__lookup_elem(map, &k, sizeof(k), buf, total, 0);
	if (rc < 0)
		return map_fail(err, rc, "read", name, "%s %u", what, k);
	percpu_sum(buf, l->ncpus, vsz, sum);
	return 0;
}

/* A flow's per-CPU slots (ncpus of them) summed; CPUs that never saw it
 * (first_ns 0) left out. */
static void flow_sum(const struct shoal_flow_val *v, int ncpus, struct shoal_flow_val *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < ncpus; c++) {
		if (!v[c].first_ns)
			continue;
		sum->packets += v[c].packets;
		sum->bytes += v[c].bytes;
		if (!sum->first_ns || v[c].first_ns < sum->first_ns)
			sum->first_ns = v[c].first_ns;
		if (v[c].last_ns > sum->last_ns)
			sum->last_ns = v[c].last_ns;
		sum->tcp_flags |= v[c].tcp_flags;
	}
}

int loader_stats_init(struct loader *l, uint32_t ep_id, struct shoal_err *err)
{
	_cleanup_free_ void *buf = NULL;
	__u32 k = ep_id;
	size_t total;
	int rc;

	NEED_SKEL(l, err);
	buf = percpu_alloc(l, sizeof(struct shoal_ep_stats), &total);
	if (!buf)
		return err_set(err, ENOMEM, "ep_stats: %s", strerror(ENOMEM));
	rc = bpf_map__update_elem(l->skel->maps.ep_stats, &k, sizeof(k), buf, total, BPF_NOEXIST);
	if (rc < 0 && rc != -EEXIST)
		return map_fail(err, rc, "create", "ep_stats", "endpoint %u", ep_id);
	return 0;
}

int loader_stats_read(struct loader *l, uint32_t ep_id, struct shoal_ep_stats *sum,
		      struct shoal_err *err)
{
	NEED_SKEL(l, err);
	return percpu_read_sum(l, l->skel->maps.ep_stats, "ep_stats", "endpoint", ep_id, sum,
			       sizeof(*sum), err);
}

int loader_stats_del(struct loader *l, uint32_t ep_id, struct shoal_err *err)
{
	__u32 k = ep_id;
	int rc;

	NEED_SKEL(l, err);
	rc = bpf_map__delete_elem(l->skel->maps.ep_stats, &k, sizeof(k), 0);
	return rc < 0 ? map_fail(err, rc, "delete", "ep_stats", "endpoint %u", ep_id) : 0;
}

int loader_node_stats_read(struct loader *l, struct shoal_node_stats *sum, struct shoal_err *err)
{
	NEED_SKEL(l, err);
	return percpu_read_sum(l, l->skel->maps.node_stats, "node_stats", "key", 0, sum,
			       sizeof(*sum), err);
}

int loader_flow_read(struct loader *l, const struct shoal_flow_key *k, struct shoal_flow_val *sum,
		     struct shoal_err *err)
{
	_cleanup_free_ struct shoal_flow_val *v = NULL;
	int rc;

	NEED_SKEL(l, err);
	memset(sum, 0, sizeof(*sum));
	v = calloc((size_t)l->ncpus, sizeof(*v));
	if (!v)
		return err_set(err, ENOMEM, "flows: %s", strerror(ENOMEM));
	rc = bpf_map__lookup_elem(l->skel->maps.flows, k, sizeof(*k), v,
				  sizeof(*v) * (size_t)l->ncpus, 0);
	if (rc < 0)
		return map_fail(err, rc, "read", "flows", "flow of endpoint %u", k->ep_id);
	flow_sum(v, l->ncpus, sum);
	return 0;
}

_Static_assert(sizeof(struct shoal_flow_val) % 8 == 0, "per-CPU slot without padding");

/*
 * Batched reads (BPF_MAP_LOOKUP_BATCH): a full table of 64k flows is a
 * few dozen syscalls instead of two per flow.
 */
int loader_flows_foreach(struct loader *l,
			 int (*fn)(const struct shoal_flow_key *k, const struct shoal_flow_val *v,
				   void *arg),
			 void *arg, struct shoal_err *err)
{
	const __u32 chunk = 1024;
	_cleanup_free_ struct shoal_flow_key *keys = NULL;
	_cleanup_free_ struct shoal_flow_val *vals = NULL;
	__u32 in_batch = 0, out_batch = 0, n;
	bool first = true, done = false;
	int fd, rc;

	NEED_SKEL(l, err);
	fd = bpf_map__fd(l->skel->maps.flows);
	keys = calloc(chunk, sizeof(*keys));
	vals = calloc((size_t)chunk * (size_t)l->ncpus, sizeof(*vals));
	if (!keys || !vals)
		return err_set(err, ENOMEM, "flows: %s", strerror(ENOMEM));
	while (!done) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		n = chunk;
		rc = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &n,
					  &bo);
		if (rc < 0) {
			if (errno != ENOENT)
				return err_set(err, errno, "walk map flows: %s", strerror(errno));
			done = true; /* last (possibly partial) batch */
		}
		first = false;
		in_batch = out_batch;
		for (__u32 i = 0; i < n; i++) {
			struct shoal_flow_val sum;

			flow_sum(&vals[(size_t)i * (size_t)l->ncpus], l->ncpus, &sum);
			rc = fn(&keys[i], &sum, arg);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

uint32_t loader_flows_capacity(struct loader *l)
{
	return l && l->skel ? bpf_map__max_entries(l->skel->maps.flows) : 0;
}

int loader_obs_stats_read(struct loader *l, struct shoal_obs_stats *sum, struct shoal_err *err)
{
	int rc;

	NEED_SKEL(l, err);
	rc = percpu_read_sum(l, l->skel->maps.obs_stats, "obs_stats", "key", 0, sum, sizeof(*sum),
			     err);
	if (rc < 0)
		return rc;
	/* The rate limiter's window fields are per-CPU state, not counters. */
	sum->ev_win_ns = 0;
	sum->ev_win_count = 0;
	return 0;
}

int loader_events_fd(struct loader *l)
{
	return l && l->skel ? bpf_map__fd(l->skel->maps.events) : -EBADF;
}

int loader_foreach_key(struct loader *l, enum loader_map m,
		       int (*fn)(const void *key, void *arg), void *arg, struct shoal_err *err)
{
	_cleanup_free_ char *keys = NULL;
	struct bpf_map *map;
	size_t ksz, n = 0, cap = 0;
	const char *name;
	char *prev = NULL;
	int rc;

	NEED_SKEL(l, err);
	switch (m) {
	case LOADER_MAP_NETWORKS:
		map = l->skel->maps.networks;
		break;
	case LOADER_MAP_ENDPOINTS:
		map = l->skel->maps.endpoints;
		break;
	case LOADER_MAP_IFACES:
		map = l->skel->maps.ifaces;
		break;
	case LOADER_MAP_EP_STATS:
		map = l->skel->maps.ep_stats;
		break;
	default:
		return err_set(err, EINVAL, "foreach: unknown map %d", (int)m);
	}
	name = bpf_map__name(map);
	ksz = bpf_map__key_size(map);

	/* Collect every key first, then call fn: fn may delete entries, and
	 * deleting the cursor key of a hash walk restarts it. */
	for (;;) {
		char *nk;

		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nk = realloc(keys, cap * ksz);
			if (!nk)
				return err_set(err, ENOMEM, "walk map %s: %s", name,
					       strerror(ENOMEM));
			keys = nk;
		}
		prev = n ? keys + (n - 1) * ksz : NULL;
		rc = bpf_map__get_next_key(map, prev, keys + n * ksz, ksz);
		if (rc == -ENOENT)
			break;
		if (rc < 0)
			return err_set(err, rc, "walk map %s: %s", name, strerror(-rc));
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		rc = fn(keys + i * ksz, arg);
		if (rc < 0)
			return rc;
	}
	return 0;
}
