// SPDX-License-Identifier: Apache-2.0
/*
 * zk.c - kv.h (kv_impl.h) over ZooKeeper, with its C client
 * (libzookeeper_mt). Same layout as etcd: a key is a znode path
 * ("/shoal/v1/endpoints/ov/10.0.9.2"), its value the znode's data;
 * parents are created as persistent znodes with no data (directories),
 * which ranges skip. Revisions are zxids (mzxid, czxid).
 *
 * Leases are the session: a key written with a lease is an ephemeral
 * znode of this handle's session, lease_grant (re)opens the session with
 * the TTL as its timeout, keepalive reports the session's state (the
 * client library sends the pings), revoke closes it. A key still held by
 * an ephemeral of an earlier session of ours is deleted and re-created.
 *
 * Watch: ZooKeeper watches fire once and carry no data, so the watch
 * keeps a snapshot of the prefix (seeded by the first range of it) and
 * on every notification (child, data, session) rescans the subtree,
 * setting the watches again, and delivers the difference in zxid order:
 * nothing missed, nothing replayed, also across disconnects and session
 * changes. A rescan also runs every 5 s as a safety net.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define THREADED /* libzookeeper_mt: the synchronous API */
#include <zookeeper/zookeeper.h>

#include "../common/log.h"
#include "kv_impl.h"

#define ZK_CONNECT_MS 3000
#define ZK_DEFAULT_TIMEOUT_MS 15000
#define ZK_RESCAN_MS 5000
#define ZK_PATH_MAX 1024

struct kv_impl {
	struct kv_url url;
	char hosts[KV_MAX_HOSTS * (KV_HOST_LEN + 1)];
	pthread_mutex_t lock; /* the handle: calls and swaps */
	pthread_mutex_t ev_lock;
	pthread_cond_t ev_cond;
	zhandle_t *zh;
	int timeout_ms;
	int state;            /* last session state seen by the watcher */
	unsigned gen;         /* handle generation (watches die with it) */
	bool dirty;           /* a watch fired since the last scan */
	/* what the watch has delivered (seeded by the first range of it) */
	char snap_prefix[KV_PREFIX_LEN];
	struct kv_pair *snap;
	size_t n_snap;
	bool snap_valid;
};

struct plist {
	struct kv_pair *a;
	size_t n, cap;
	int64_t max_zxid;
};

static int plist_add(struct plist *l, const char *key, const char *val, size_t vlen,
		     const struct Stat *st)
{
	struct kv_pair *p;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct kv_pair *a = realloc(l->a, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		l->a = a;
		l->cap = cap;
	}
	p = &l->a[l->n];
	memset(p, 0, sizeof(*p));
	p->key = strdup(key);
	p->value = strndup(val, vlen);
	if (!p->key || !p->value) {
		free(p->key);
		free(p->value);
		return -ENOMEM;
	}
	p->create_rev = st->czxid;
	p->mod_rev = st->mzxid;
	p->lease = st->ephemeralOwner;
	l->n++;
	if (st->mzxid > l->max_zxid)
		l->max_zxid = st->mzxid;
	return 0;
}

static void wake(struct kv_impl *z, bool dirty)
{
	pthread_mutex_lock(&z->ev_lock);
	if (dirty)
		z->dirty = true;
	pthread_cond_broadcast(&z->ev_cond);
	pthread_mutex_unlock(&z->ev_lock);
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct kv_impl *z = ctx;

	(void)zh;
	(void)path;
	if (type == ZOO_SESSION_EVENT) {
		pthread_mutex_lock(&z->ev_lock);
		z->state = state;
		z->dirty = true; /* reconnected or expired: rescan */
		pthread_cond_broadcast(&z->ev_cond);
		pthread_mutex_unlock(&z->ev_lock);
		return;
	}
	wake(z, true);
}

static int zerr(struct kv_impl *z, const char *what, const char *path, int rc,
		struct shoal_err *err)
{
	bool down = rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZINVALIDSTATE ||
		    rc == ZSESSIONEXPIRED || rc == ZCLOSING;

	return err_set(err, down ? EIO : (rc == ZNONODE ? ENOENT : EIO),
		       "zk %s%s: %s %s: %s", z->hosts, down ? " unreachable" : "", what, path,
		       zerror(rc));
}

/* Open the handle (timeout_ms) and wait for the session; z->lock held. */
static int connect_locked(struct kv_impl *z, int timeout_ms, struct shoal_err *err)
{
	struct timespec ts;

	if (z->zh) {
		zookeeper_close(z->zh);
		z->zh = NULL;
	}
	pthread_mutex_lock(&z->ev_lock);
	z->state = 0;
	pthread_mutex_unlock(&z->ev_lock);
	z->timeout_ms = timeout_ms;
	z->zh = zookeeper_init(z->hosts, watcher, timeout_ms, NULL, z, 0);
	if (!z->zh)
		return err_set(err, errno ? errno : EIO, "zk %s: zookeeper_init: %s", z->hosts,
			       strerror(errno));
	z->gen++;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ZK_CONNECT_MS / 1000;
	pthread_mutex_lock(&z->ev_lock);
	while (z->state != ZOO_CONNECTED_STATE) {
		if (pthread_cond_timedwait(&z->ev_cond, &z->ev_lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&z->ev_lock);
	if (zoo_state(z->zh) != ZOO_CONNECTED_STATE) {
		zookeeper_close(z->zh);
		z->zh = NULL;
		return err_set(err, ECONNREFUSED, "zk %s unreachable: no session within %d ms",
			       z->hosts, ZK_CONNECT_MS);
	}
	return 0;
}

static int ensure_locked(struct kv_impl *z, struct shoal_err *err)
{
	if (z->zh && zoo_state(z->zh) != ZOO_EXPIRED_SESSION_STATE &&
	    zoo_state(z->zh) != ZOO_AUTH_FAILED_STATE)
		return 0;
	return connect_locked(z, z->timeout_ms, err);
}

static int zk_open(const struct kv_url *u, struct kv_impl **out, struct shoal_err *err)
{
	struct kv_impl *z = calloc(1, sizeof(*z));
	size_t o = 0;

	if (!z)
		return err_set(err, ENOMEM, "out of memory");
	z->url = *u;
	for (size_t i = 0; i < u->n_hosts; i++)
		o += (size_t)snprintf(z->hosts + o, sizeof(z->hosts) - o, "%s%s", i ? "," : "",
				      u->hosts[i]);
	pthread_mutex_init(&z->lock, NULL);
	pthread_mutex_init(&z->ev_lock, NULL);
	pthread_cond_init(&z->ev_cond, NULL);
	z->timeout_ms = ZK_DEFAULT_TIMEOUT_MS;
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	zoo_set_log_stream(stderr);
	*out = z;
	return 0;
}

static void zk_close(struct kv_impl *z)
{
	if (!z)
		return;
	if (z->zh)
		zookeeper_close(z->zh); /* ends the session: its ephemerals go */
	kv_pairs_free(z->snap, z->n_snap);
	pthread_mutex_destroy(&z->lock);
	free(z);
}

static const char *zk_endpoint(struct kv_impl *z)
{
	return z->hosts;
}

/* "/a/b/" -> "/a/b"; "/" stays. */
static void dir_of(const char *prefix, char out[ZK_PATH_MAX])
{
	size_t len = strlen(prefix);

	snprintf(out, ZK_PATH_MAX, "%s", prefix);
	if (len > 1 && out[len - 1] == '/')
		out[len - 1] = '\0';
}

/* Every znode with data under path (recursively); watches set when watch. */
static int scan(struct kv_impl *z, const char *path, bool watch, struct plist *l,
		struct shoal_err *err)
{
	struct String_vector sv = { 0 };
	char *buf = malloc(65536);
	int rc, ret = 0;

	if (!buf)
		return err_set(err, ENOMEM, "out of memory");
	rc = watch ? zoo_wget_children(z->zh, path, watcher, z, &sv)
		   : zoo_get_children(z->zh, path, 0, &sv);
	if (rc == ZNONODE) {
		struct Stat st;
		if (watch) /* told when it appears */
			zoo_wexists(z->zh, path, watcher, z, &st);
		free(buf);
		return 0;
	}
	if (rc != ZOK) {
		free(buf);
		return zerr(z, "list", path, rc, err);
	}
	for (int32_t i = 0; i < sv.count && ret == 0; i++) {
		char child[ZK_PATH_MAX];
		struct Stat st;
		int len = 65535;

		snprintf(child, sizeof(child), "%s%s%s", strcmp(path, "/") ? path : "", "/",
			 sv.data[i]);
		rc = watch ? zoo_wget(z->zh, child, watcher, z, buf, &len, &st)
			   : zoo_get(z->zh, child, 0, buf, &len, &st);
		if (rc == ZNONODE)
			continue;
		if (rc != ZOK) {
			ret = zerr(z, "get", child, rc, err);
			break;
		}
		if (len > 0 && plist_add(l, child, buf, (size_t)len, &st) < 0)
			ret = err_set(err, ENOMEM, "out of memory");
		else if (len <= 0 || st.numChildren > 0)
			ret = scan(z, child, watch, l, err);
	}
	deallocate_String_vector(&sv);
	free(buf);
	return ret;
}

static void set_snapshot(struct kv_impl *z, const char *prefix, struct kv_pair *a, size_t n)
{
	kv_pairs_free(z->snap, z->n_snap);
	z->snap = NULL;
	z->n_snap = 0;
	snprintf(z->snap_prefix, sizeof(z->snap_prefix), "%s", prefix);
	z->snap = calloc(n + 1, sizeof(*a));
	if (!z->snap)
		return;
	for (size_t i = 0; i < n; i++) {
		z->snap[i] = a[i];
		z->snap[i].key = strdup(a[i].key);
		z->snap[i].value = strdup(a[i].value);
	}
	z->n_snap = n;
	z->snap_valid = true;
}

static int zk_range(struct kv_impl *z, const char *key, bool prefix, struct kv_pair **out,
		    size_t *n, int64_t *rev, struct shoal_err *err)
{
	struct plist l = { 0 };
	char path[ZK_PATH_MAX];
	int ret;

	pthread_mutex_lock(&z->lock);
	ret = ensure_locked(z, err);
	if (ret < 0)
		goto out;
	if (prefix) {
		dir_of(key, path);
		ret = scan(z, path, false, &l, err);
		if (ret == 0 && !z->snap_valid)
			set_snapshot(z, key, l.a, l.n);
	} else {
		char *buf = malloc(65536);
		struct Stat st;
		int len = 65535, rc;

		if (!buf) {
			ret = err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		rc = zoo_get(z->zh, key, 0, buf, &len, &st);
		if (rc == ZOK && len > 0)
			ret = plist_add(&l, key, buf, (size_t)len, &st) < 0
				      ? err_set(err, ENOMEM, "out of memory") : 0;
		else if (rc != ZOK && rc != ZNONODE)
			ret = zerr(z, "get", key, rc, err);
		free(buf);
	}
out:
	pthread_mutex_unlock(&z->lock);
	if (ret < 0) {
		kv_pairs_free(l.a, l.n);
		return ret;
	}
	if (!l.a)
		l.a = calloc(1, sizeof(*l.a));
	*out = l.a;
	*n = l.n;
	if (rev)
		*rev = l.max_zxid;
	return 0;
}

/* Create the missing parents of key (persistent, no data). */
static int parents_locked(struct kv_impl *z, const char *key, struct shoal_err *err)
{
	char p[ZK_PATH_MAX];

	snprintf(p, sizeof(p), "%s", key);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		int rc;

		*s = '\0';
		rc = zoo_create(z->zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
		*s = '/';
		if (rc != ZOK && rc != ZNODEEXISTS)
			return zerr(z, "create", p, rc, err);
	}
	return 0;
}

static int64_t session_locked(struct kv_impl *z)
{
	const clientid_t *c = z->zh ? zoo_client_id(z->zh) : NULL;

	return c ? c->client_id : 0;
}

static int zk_put(struct kv_impl *z, const char *key, const char *value, int64_t lease,
		  struct shoal_err *err)
{
	int mode = lease ? ZOO_EPHEMERAL : ZOO_PERSISTENT, rc, ret;
	int len = (int)strlen(value);

	pthread_mutex_lock(&z->lock);
	ret = ensure_locked(z, err);
	if (ret == 0)
		ret = parents_locked(z, key, err);
	if (ret < 0)
		goto out;
	rc = zoo_create(z->zh, key, value, len, &ZOO_OPEN_ACL_UNSAFE, mode, NULL, 0);
	if (rc == ZNODEEXISTS) {
		struct Stat st;

		rc = zoo_exists(z->zh, key, 0, &st);
		if (rc == ZOK && (lease ? st.ephemeralOwner != session_locked(z)
					: st.ephemeralOwner != 0)) {
			/* bound to another session (or ephemeral to persistent): re-create */
			rc = zoo_delete(z->zh, key, -1);
			if (rc == ZOK || rc == ZNONODE)
				rc = zoo_create(z->zh, key, value, len, &ZOO_OPEN_ACL_UNSAFE, mode,
						NULL, 0);
		} else if (rc == ZOK) {
			rc = zoo_set(z->zh, key, value, len, -1);
		}
	}
	ret = rc == ZOK ? 0 : zerr(z, "put", key, rc, err);
out:
	pthread_mutex_unlock(&z->lock);
	return ret;
}

static int delete_tree_locked(struct kv_impl *z, const char *path, struct shoal_err *err)
{
	struct String_vector sv = { 0 };
	int rc = zoo_get_children(z->zh, path, 0, &sv), ret = 0;

	if (rc == ZNONODE)
		return 0;
	if (rc != ZOK)
		return zerr(z, "list", path, rc, err);
	for (int32_t i = 0; i < sv.count && ret == 0; i++) {
		char child[ZK_PATH_MAX];

		snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", sv.data[i]);
		ret = delete_tree_locked(z, child, err);
	}
	deallocate_String_vector(&sv);
	if (ret == 0 && strcmp(path, "/") != 0) {
		rc = zoo_delete(z->zh, path, -1);
		if (rc != ZOK && rc != ZNONODE)
			ret = zerr(z, "delete", path, rc, err);
	}
	return ret;
}

static int zk_delete(struct kv_impl *z, const char *key, bool prefix, struct shoal_err *err)
{
	char path[ZK_PATH_MAX];
	int ret;

	pthread_mutex_lock(&z->lock);
	ret = ensure_locked(z, err);
	if (ret == 0) {
		if (prefix) {
			dir_of(key, path);
			ret = delete_tree_locked(z, path, err);
		} else {
			int rc = zoo_delete(z->zh, key, -1);
			if (rc != ZOK && rc != ZNONODE)
				ret = zerr(z, "delete", key, rc, err);
		}
	}
	pthread_mutex_unlock(&z->lock);
	return ret;
}

static int zk_create_all(struct kv_impl *z, const struct kv_op *ops, size_t n, size_t *taken,
			 struct shoal_err *err)
{
	zoo_op_t *zops = calloc(n, sizeof(*zops));
	zoo_op_result_t *res = calloc(n, sizeof(*res));
	int ret, rc;

	if (!zops || !res) {
		free(zops);
		free(res);
		return err_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&z->lock);
	ret = ensure_locked(z, err);
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = parents_locked(z, ops[i].key, err);
		zoo_create_op_init(&zops[i], ops[i].key, ops[i].value, (int)strlen(ops[i].value),
				   &ZOO_OPEN_ACL_UNSAFE, ops[i].lease ? ZOO_EPHEMERAL : ZOO_PERSISTENT,
				   NULL, 0);
	}
	if (ret == 0) {
		rc = zoo_multi(z->zh, (int)n, zops, res);
		if (rc == ZOK) {
			ret = 1;
		} else if (rc == ZNODEEXISTS) {
			ret = 0;
			for (size_t i = 0; taken && i < n; i++)
				if (res[i].err == ZNODEEXISTS) {
					*taken = i;
					break;
				}
		} else {
			ret = zerr(z, "create", ops[0].key, rc, err);
		}
	}
	pthread_mutex_unlock(&z->lock);
	free(zops);
	free(res);
	return ret;
}

static int zk_delete_if(struct kv_impl *z, const char *key, const char *value,
			struct shoal_err *err)
{
	char *buf = malloc(65536);
	struct Stat st;
	int len = 65535, rc, ret;

	if (!buf)
		return err_set(err, ENOMEM, "out of memory");
	pthread_mutex_lock(&z->lock);
	ret = ensure_locked(z, err);
	if (ret == 0) {
		rc = zoo_get(z->zh, key, 0, buf, &len, &st);
		if (rc == ZNONODE || (rc == ZOK && ((size_t)(len < 0 ? 0 : len) != strlen(value) ||
						    memcmp(buf, value, (size_t)len) != 0))) {
			ret = 0;
		} else if (rc != ZOK) {
			ret = zerr(z, "get", key, rc, err);
		} else {
			rc = zoo_delete(z->zh, key, st.version);
			ret = rc == ZOK ? 1 : (rc == ZNONODE || rc == ZBADVERSION) ? 0
					     : zerr(z, "delete", key, rc, err);
		}
	}
	pthread_mutex_unlock(&z->lock);
	free(buf);
	return ret;
}

static int zk_lease_grant(struct kv_impl *z, int ttl_s, int64_t *id, struct shoal_err *err)
{
	int ret;

	pthread_mutex_lock(&z->lock);
	ret = connect_locked(z, ttl_s * 1000, err);
	if (ret == 0)
		*id = session_locked(z);
	pthread_mutex_unlock(&z->lock);
	wake(z, true);
	return ret;
}

static int zk_lease_keepalive(struct kv_impl *z, int64_t id, int64_t *ttl, struct shoal_err *err)
{
	int ret = 0, st;

	pthread_mutex_lock(&z->lock);
	st = z->zh ? zoo_state(z->zh) : ZOO_EXPIRED_SESSION_STATE;
	if (st == ZOO_EXPIRED_SESSION_STATE || st == ZOO_AUTH_FAILED_STATE ||
	    session_locked(z) != id) {
		*ttl = 0; /* the session (lease) is gone */
	} else if (st == ZOO_CONNECTED_STATE) {
		int t = zoo_recv_timeout(z->zh);
		*ttl = t >= 1000 ? t / 1000 : 1;
	} else {
		ret = err_set(err, EIO, "zk %s unreachable (session %llx is kept until it times out)",
			      z->hosts, (unsigned long long)id);
	}
	pthread_mutex_unlock(&z->lock);
	return ret;
}

static int zk_lease_revoke(struct kv_impl *z, int64_t id, struct shoal_err *err)
{
	(void)err;
	pthread_mutex_lock(&z->lock);
	if (z->zh && session_locked(z) == id) {
		zookeeper_close(z->zh);
		z->zh = NULL;
	}
	/* another session's ephemerals go when it times out */
	pthread_mutex_unlock(&z->lock);
	return 0;
}

static int cmp_mod(const void *a, const void *b)
{
	const struct kv_pair *x = a, *y = b;

	return x->mod_rev < y->mod_rev ? -1 : x->mod_rev > y->mod_rev;
}

static const struct kv_pair *find(const struct kv_pair *a, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].key, key) == 0)
			return &a[i];
	return NULL;
}

static int zk_watch(struct kv_impl *z, const char *prefix, int64_t start_rev, kv_watch_cb cb,
		    void *ctx, volatile bool *stop, int64_t *last, struct shoal_err *err)
{
	char path[ZK_PATH_MAX];
	int ret = 0;

	(void)start_rev; /* the snapshot is the position: see the header */
	dir_of(prefix, path);
	while (!*stop) {
		struct plist l = { 0 };
		struct kv_pair *dels = NULL, *puts = NULL;
		size_t nd = 0, np = 0;
		struct timespec ts;

		pthread_mutex_lock(&z->ev_lock);
		z->dirty = false;
		pthread_mutex_unlock(&z->ev_lock);
		pthread_mutex_lock(&z->lock);
		ret = ensure_locked(z, err);
		if (ret == 0)
			ret = scan(z, path, true, &l, err);
		if (ret == 0 && (!z->snap_valid || strcmp(z->snap_prefix, prefix) != 0))
			set_snapshot(z, prefix, NULL, 0);
		if (ret == 0) {
			/* the difference, against what was delivered */
			dels = calloc(z->n_snap + 1, sizeof(*dels));
			puts = calloc(l.n + 1, sizeof(*puts));
			for (size_t i = 0; dels && i < z->n_snap; i++)
				if (!find(l.a, l.n, z->snap[i].key))
					dels[nd++] = z->snap[i];
			for (size_t i = 0; puts && i < l.n; i++) {
				const struct kv_pair *o = find(z->snap, z->n_snap, l.a[i].key);
				if (!o || o->mod_rev != l.a[i].mod_rev || strcmp(o->value, l.a[i].value))
					puts[np++] = l.a[i];
			}
		}
		pthread_mutex_unlock(&z->lock);
		if (ret < 0) {
			kv_pairs_free(l.a, l.n);
			return ret;
		}
		qsort(puts, np, sizeof(*puts), cmp_mod);
		for (size_t i = 0; i < nd && !*stop && ret >= 0; i++)
			ret = cb(ctx, &dels[i], true);
		for (size_t i = 0; i < np && !*stop && ret >= 0; i++) {
			ret = cb(ctx, &puts[i], false);
			if (puts[i].mod_rev > *last)
				*last = puts[i].mod_rev;
		}
		free(dels);
		free(puts);
		pthread_mutex_lock(&z->lock);
		set_snapshot(z, prefix, l.a, l.n);
		pthread_mutex_unlock(&z->lock);
		kv_pairs_free(l.a, l.n);
		if (ret < 0)
			return err_set(err, -ret, "watch callback failed");
		/* until a watch fires, the session changes, stop, or the safety rescan */
		pthread_mutex_lock(&z->ev_lock);
		for (int slice = 0; slice < ZK_RESCAN_MS / 100 && !z->dirty && !*stop; slice++) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&z->ev_cond, &z->ev_lock, &ts);
		}
		pthread_mutex_unlock(&z->ev_lock);
	}
	return 0;
}

const struct kv_ops kv_zk_ops = {
	.open = zk_open,
	.close = zk_close,
	.endpoint = zk_endpoint,
	.range = zk_range,
	.put = zk_put,
	.del = zk_delete,
	.create_all = zk_create_all,
	.delete_if = zk_delete_if,
	.lease_grant = zk_lease_grant,
	.lease_keepalive = zk_lease_keepalive,
	.lease_revoke = zk_lease_revoke,
	.watch = zk_watch,
};
