// SPDX-License-Identifier: Apache-2.0
/* kv.c - kv.h's calls, dispatched to the backend the URL names (kv_impl.h). */
#include <stdlib.h>

#include "kv_impl.h"

struct kv {
	const struct kv_ops *ops;
	struct kv_impl *impl;
};

void kv_pairs_free(struct kv_pair *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		free(a[i].key);
		free(a[i].value);
	}
	free(a);
}

int kv_open(const struct kv_url *u, struct kv **out, struct shoal_err *err)
{
	struct kv *kv = calloc(1, sizeof(*kv));
	int ret;

	if (!kv)
		return err_set(err, ENOMEM, "out of memory");
	kv->ops = u->backend == KV_ZK ? &kv_zk_ops : &kv_etcd_ops;
	ret = kv->ops->open(u, &kv->impl, err);
	if (ret < 0) {
		free(kv);
		return ret;
	}
	*out = kv;
	return 0;
}

void kv_close(struct kv *kv)
{
	if (!kv)
		return;
	kv->ops->close(kv->impl);
	free(kv);
}

const char *kv_endpoint(struct kv *kv)
{
	return kv->ops->endpoint(kv->impl);
}

int kv_range(struct kv *kv, const char *key, bool prefix, struct kv_pair **out, size_t *n,
	     int64_t *rev, struct shoal_err *err)
{
	return kv->ops->range(kv->impl, key, prefix, out, n, rev, err);
}

int kv_put(struct kv *kv, const char *key, const char *value, int64_t lease,
	   struct shoal_err *err)
{
	return kv->ops->put(kv->impl, key, value, lease, err);
}

int kv_delete(struct kv *kv, const char *key, bool prefix, struct shoal_err *err)
{
	return kv->ops->del(kv->impl, key, prefix, err);
}

int kv_create_all(struct kv *kv, const struct kv_op *ops, size_t n, size_t *taken,
		  struct shoal_err *err)
{
	return kv->ops->create_all(kv->impl, ops, n, taken, err);
}

int kv_delete_if(struct kv *kv, const char *key, const char *value, struct shoal_err *err)
{
	return kv->ops->delete_if(kv->impl, key, value, err);
}

int kv_lease_grant(struct kv *kv, int ttl_s, int64_t *id, struct shoal_err *err)
{
	return kv->ops->lease_grant(kv->impl, ttl_s, id, err);
}

int kv_lease_keepalive(struct kv *kv, int64_t id, int64_t *ttl, struct shoal_err *err)
{
	return kv->ops->lease_keepalive(kv->impl, id, ttl, err);
}

int kv_lease_revoke(struct kv *kv, int64_t id, struct shoal_err *err)
{
	return kv->ops->lease_revoke(kv->impl, id, err);
}

int kv_watch(struct kv *kv, const char *prefix, int64_t start_rev, kv_watch_cb cb, void *ctx,
	     volatile bool *stop, int64_t *last, struct shoal_err *err)
{
	return kv->ops->watch(kv->impl, prefix, start_rev, cb, ctx, stop, last, err);
}
