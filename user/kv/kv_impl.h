/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kv_impl.h - what a cluster-store backend provides to kv.c: one table of
 * operations with kv.h's semantics, over its own struct kv_impl (each
 * backend file defines that struct privately).
 */
#ifndef SHOAL_KV_IMPL_H
#define SHOAL_KV_IMPL_H

#include "kv.h"

struct kv_impl;

struct kv_ops {
	int (*open)(const struct kv_url *u, struct kv_impl **out, struct shoal_err *err);
	void (*close)(struct kv_impl *kv);
	const char *(*endpoint)(struct kv_impl *kv);
	int (*range)(struct kv_impl *kv, const char *key, bool prefix, struct kv_pair **out,
		     size_t *n, int64_t *rev, struct shoal_err *err);
	int (*put)(struct kv_impl *kv, const char *key, const char *value, int64_t lease,
		   struct shoal_err *err);
	int (*del)(struct kv_impl *kv, const char *key, bool prefix, struct shoal_err *err);
	int (*create_all)(struct kv_impl *kv, const struct kv_op *ops, size_t n, size_t *taken,
			  struct shoal_err *err);
	int (*delete_if)(struct kv_impl *kv, const char *key, const char *value,
			 struct shoal_err *err);
	int (*lease_grant)(struct kv_impl *kv, int ttl_s, int64_t *id, struct shoal_err *err);
	int (*lease_keepalive)(struct kv_impl *kv, int64_t id, int64_t *ttl, struct shoal_err *err);
	int (*lease_revoke)(struct kv_impl *kv, int64_t id, struct shoal_err *err);
	int (*watch)(struct kv_impl *kv, const char *prefix, int64_t start_rev, kv_watch_cb cb,
		     void *ctx, volatile bool *stop, int64_t *last, struct shoal_err *err);
};

extern const struct kv_ops kv_etcd_ops;
extern const struct kv_ops kv_zk_ops;

#endif
