/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kv.h - the external key-value store behind "cluster-store" (DESIGN.md
 * section 4, "Peer discovery", mode 2): the URL grammar, and the few
 * operations the discovery logic (user/daemon/kvdisc.c) needs: range by
 * prefix, put, delete, create-if-absent (a compare-and-swap transaction
 * on several keys at once), leases, and a watch that resumes from a
 * revision. kv.c dispatches them (kv_impl.h) to etcd.c (etcd v3's
 * HTTP/JSON gateway, libcurl) or zk.c (ZooKeeper's C client: ephemeral
 * znodes for leases, watches + snapshot diff for the watch).
 *
 *   etcd://HOST:PORT[,HOST:PORT...][/prefix]     prefix default /shoal/v1/
 *   zk://HOST:PORT[,HOST:PORT...][/prefix]
 *
 * Every call is synchronous and thread-safe; errors name the store.
 */
#ifndef SHOAL_KV_H
#define SHOAL_KV_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "../common/err.h"

#define KV_MAX_HOSTS 8
#define KV_HOST_LEN 256
#define KV_PREFIX_LEN 200
#define KV_DEFAULT_PREFIX "/shoal/v1/"

enum kv_backend { KV_ETCD = 1, KV_ZK = 2 };

struct kv_url {
	enum kv_backend backend;
	char hosts[KV_MAX_HOSTS][KV_HOST_LEN]; /* "host:port" */
	size_t n_hosts;
	char prefix[KV_PREFIX_LEN];            /* "/a/b/": leading and trailing '/' */
};

/* Parse a cluster-store URL; errors name what is wrong. */
int kv_url_parse(const char *s, struct kv_url *u, struct shoal_err *err);
const char *kv_backend_name(enum kv_backend b);

/* One key, as read. */
struct kv_pair {
	char *key, *value;
	int64_t create_rev, mod_rev, lease;
};
void kv_pairs_free(struct kv_pair *a, size_t n);

/* One write of a create-all transaction. */
struct kv_op {
	const char *key, *value;
	int64_t lease; /* 0 = none */
};

struct kv;

int kv_open(const struct kv_url *u, struct kv **out, struct shoal_err *err);
void kv_close(struct kv *kv);
/* The endpoint in use ("host:port"), for messages. */
const char *kv_endpoint(struct kv *kv);

/* Every key under prefix (or exactly key when !prefix), and the store revision. */
int kv_range(struct kv *kv, const char *key, bool prefix, struct kv_pair **out, size_t *n,
	     int64_t *rev, struct shoal_err *err);
int kv_put(struct kv *kv, const char *key, const char *value, int64_t lease,
	   struct shoal_err *err);
int kv_delete(struct kv *kv, const char *key, bool prefix, struct shoal_err *err);
/*
 * Write every op only if none of the keys exists (one transaction):
 * 1 = written, 0 = some key exists (nothing written; *taken, if not
 * NULL, gets the index of the first existing key), -errno on errors.
 */
int kv_create_all(struct kv *kv, const struct kv_op *ops, size_t n, size_t *taken,
		  struct shoal_err *err);
/* Delete key only while its value is value (1 deleted, 0 not). */
int kv_delete_if(struct kv *kv, const char *key, const char *value, struct shoal_err *err);

int kv_lease_grant(struct kv *kv, int ttl_s, int64_t *id, struct shoal_err *err);
/* *ttl = remaining seconds; 0 when the lease no longer exists. */
int kv_lease_keepalive(struct kv *kv, int64_t id, int64_t *ttl, struct shoal_err *err);
int kv_lease_revoke(struct kv *kv, int64_t id, struct shoal_err *err);

/*
 * Watch everything under prefix from revision start_rev (inclusive),
 * calling cb for each event in order (value NULL for a delete). Blocks
 * until *stop (0), the stream ends or breaks (-EIO, -ECONNREFUSED...),
 * start_rev was compacted away (-ESTALE: resync with a range), or cb
 * returns < 0. *last is the revision of the last event delivered.
 */
typedef int (*kv_watch_cb)(void *ctx, const struct kv_pair *p, bool deleted);
int kv_watch(struct kv *kv, const char *prefix, int64_t start_rev, kv_watch_cb cb, void *ctx,
	     volatile bool *stop, int64_t *last, struct shoal_err *err);

#endif
