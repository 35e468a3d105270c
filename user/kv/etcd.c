// SPDX-License-Identifier: Apache-2.0
/*
 * etcd.c - kv.h (kv_impl.h) over etcd v3's HTTP/JSON gateway (grpc-gateway, etcd
 * 3.4: POST /v3/kv/range|put|deleterange|txn, /v3/lease/grant|keepalive|
 * revoke, /v3/watch as a stream of newline-separated JSON messages).
 * Keys and values travel base64-encoded; 64-bit integers as strings.
 *
 * One libcurl handle (kept-alive connection) for the request/response
 * calls, behind a mutex; each watch has its own handle. With several
 * endpoints, a transport failure moves on to the next one.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "kv_impl.h"

#define REQ_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 1000

struct kv_impl {
	struct kv_url url;
	pthread_mutex_t lock;
	CURL *h;
	size_t cur; /* index in url.hosts */
	char ep[KV_HOST_LEN];
};

/* ------------------------------------------------------------ encoding */

static char *b64(const char *s, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);

	if (out)
		sodium_bin2base64(out, n, (const unsigned char *)s, len,
				  sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Decode into a NUL-terminated string (empty for NULL). */
static char *unb64(const char *s)
{
	size_t len = s ? strlen(s) : 0, bin = 0;
	char *out = malloc(len + 1);

	if (!out)
		return NULL;
	if (len && sodium_base642bin((unsigned char *)out, len, s, len, NULL, &bin, NULL,
				     sodium_base64_VARIANT_ORIGINAL) != 0)
		bin = 0;
	out[bin] = '\0';
	return out;
}

static int64_t j_i64(json_t *j)
{
	if (json_is_integer(j))
		return json_integer_value(j);
	if (json_is_string(j))
		return strtoll(json_string_value(j), NULL, 10);
	return 0;
}

/* The first key after every key that starts with p (etcd's range_end). */
static char *prefix_end(const char *p)
{
	size_t len = strlen(p);
	char *e = strdup(p);

	if (!e)
		return NULL;
	while (len > 0) {
		if ((unsigned char)e[len - 1] < 0xff) {
			e[len - 1]++;
			e[len] = '\0';
			return e;
		}
		len--;
	}
	e[0] = '\0';
	return e;
}

static json_t *j_b64(const char *s)
{
	char *e = b64(s, strlen(s));
	json_t *j = json_string(e ? e : "");

	free(e);
	return j;
}

static json_t *range_req(const char *key, bool prefix)
{
	json_t *r = json_pack("{s:o}", "key", j_b64(key));

	if (prefix) {
		char *end = prefix_end(key);
		json_object_set_new(r, "range_end", j_b64(end ? end : ""));
		free(end);
	}
	return r;
}

static int pair_from_json(json_t *kv, struct kv_pair *p)
{
	memset(p, 0, sizeof(*p));
	p->key = unb64(json_string_value(json_object_get(kv, "key")));
	p->value = unb64(json_string_value(json_object_get(kv, "value")));
	if (!p->key || !p->value) {
		free(p->key);
		free(p->value);
		return -ENOMEM;
	}
	p->create_rev = j_i64(json_object_get(kv, "create_revision"));
	p->mod_rev = j_i64(json_object_get(kv, "mod_revision"));
	p->lease = j_i64(json_object_get(kv, "lease"));
	return 0;
}


/* ------------------------------------------------------------ transport */

struct buf {
	char *p;
	size_t len, cap;
};

static size_t buf_write(char *data, size_t sz, size_t nm, void *ud)
{
	struct buf *b = ud;
	size_t n = sz * nm;

	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static bool transport_error(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT ||
	       c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR ||
	       c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE;
}

/* An error body of the gateway: {"error": "...", "code": N, "message": "..."}. */
static int http_error(struct kv_impl *kv, const char *path, long status, const char *body,
		      struct shoal_err *err)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(j, "message"));
	int ret;

	if (!m)
		m = json_string_value(json_object_get(j, "error"));
	ret = err_set(err, status == 404 ? ENOENT : EIO, "etcd %s %s: HTTP %ld: %s", kv->ep, path,
		      status, m ? m : (body && *body ? body : "no body"));
	json_decref(j);
	return ret;
}

static void set_ep(struct kv_impl *kv)
{
	snprintf(kv->ep, sizeof(kv->ep), "%s", kv->url.hosts[kv->cur]);
}

/* POST body to /v3/<path> (trying each endpoint once); *resp is the JSON reply. */
static int call(struct kv_impl *kv, const char *path, json_t *body, json_t **resp,
		struct shoal_err *err)
{
	char *text = json_dumps(body, JSON_COMPACT), url[KV_HOST_LEN + 64];
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	int ret = -EIO;

	*resp = NULL;
	if (!text) {
		curl_slist_free_all(hdr);
		return err_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&kv->lock);
	for (size_t tries = 0; tries < kv->url.n_hosts; tries++) {
		struct buf b = { 0 };
		long status = 0;
		CURLcode c;

		snprintf(url, sizeof(url), "http://%s/v3/%s", kv->url.hosts[kv->cur], path);
		set_ep(kv);
		curl_easy_setopt(kv->h, CURLOPT_URL, url);
		curl_easy_setopt(kv->h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(kv->h, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(kv->h, CURLOPT_WRITEFUNCTION, buf_write);
		curl_easy_setopt(kv->h, CURLOPT_WRITEDATA, &b);
		c = curl_easy_perform(kv->h);
		if (c != CURLE_OK) {
			ret = err_set(err, c == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO,
				      "etcd %s unreachable: %s", kv->ep, curl_easy_strerror(c));
			free(b.p);
			if (!transport_error(c))
				break;
			kv->cur = (kv->cur + 1) % kv->url.n_hosts;
			continue;
		}
		curl_easy_getinfo(kv->h, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200) {
			ret = http_error(kv, path, status, b.p, err);
			free(b.p);
			break;
		}
		*resp = b.p ? json_loads(b.p, 0, NULL) : NULL;
		free(b.p);
		ret = *resp ? 0 : err_set(err, EIO, "etcd %s %s: reply is not JSON", kv->ep, path);
		break;
	}
	pthread_mutex_unlock(&kv->lock);
	curl_slist_free_all(hdr);
	free(text);
	return ret;
}

/* ------------------------------------------------------------ API */

static int etcd_open(const struct kv_url *u, struct kv_impl **out, struct shoal_err *err)
{
	struct kv_impl *kv;

	if (sodium_init() < 0)
		return err_set(err, EIO, "libsodium initialisation failed");
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return err_set(err, ENOMEM, "out of memory");
	kv->url = *u;
	pthread_mutex_init(&kv->lock, NULL);
	kv->h = curl_easy_init();
	if (!kv->h) {
		free(kv);
		return err_set(err, ENOMEM, "cannot create a libcurl handle");
	}
	curl_easy_setopt(kv->h, CURLOPT_TIMEOUT_MS, (long)REQ_TIMEOUT_MS);
	curl_easy_setopt(kv->h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(kv->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(kv->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(kv->h, CURLOPT_PROXY, "");
	set_ep(kv);
	*out = kv;
	return 0;
}

static void etcd_close(struct kv_impl *kv)
{
	if (!kv)
		return;
	curl_easy_cleanup(kv->h);
	pthread_mutex_destroy(&kv->lock);
	free(kv);
}

static const char *etcd_endpoint(struct kv_impl *kv)
{
	return kv->ep;
}

static int pairs_from(json_t *kvs, struct kv_pair **out, size_t *n)
{
	size_t cnt = json_array_size(kvs);
	struct kv_pair *a = calloc(cnt + 1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		if (pair_from_json(json_array_get(kvs, i), &a[i]) < 0) {
			kv_pairs_free(a, i);
			return -ENOMEM;
		}
	}
	*out = a;
	*n = cnt;
	return 0;
}

static int etcd_range(struct kv_impl *kv, const char *key, bool prefix, struct kv_pair **out, size_t *n,
	     int64_t *rev, struct shoal_err *err)
{
	json_t *req = range_req(key, prefix), *resp;
	int ret = call(kv, "kv/range", req, &resp, err);

	json_decref(req);
	if (ret < 0)
		return ret;
	if (rev)
		*rev = j_i64(json_object_get(json_object_get(resp, "header"), "revision"));
	ret = pairs_from(json_object_get(resp, "kvs"), out, n);
	json_decref(resp);
	return ret < 0 ? err_set(err, -ret, "out of memory") : 0;
}

static json_t *put_req(const char *key, const char *value, int64_t lease)
{
	json_t *r = json_pack("{s:o, s:o}", "key", j_b64(key), "value", j_b64(value));

	if (lease)
		json_object_set_new(r, "lease", json_integer(lease));
	return r;
}

static int etcd_put(struct kv_impl *kv, const char *key, const char *value, int64_t lease,
	   struct shoal_err *err)
{
	json_t *req = put_req(key, value, lease), *resp;
	int ret = call(kv, "kv/put", req, &resp, err);

	json_decref(req);
	json_decref(resp);
	return ret;
}

static int etcd_delete(struct kv_impl *kv, const char *key, bool prefix, struct shoal_err *err)
{
	json_t *req = range_req(key, prefix), *resp;
	int ret = call(kv, "kv/deleterange", req, &resp, err);

	json_decref(req);
	json_decref(resp);
	return ret;
}

static int etcd_create_all(struct kv_impl *kv, const struct kv_op *ops, size_t n, size_t *taken,
		  struct shoal_err *err)
{
	json_t *cmp = json_array(), *succ = json_array(), *fail = json_array(), *req, *resp;
	int ret;

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(cmp, json_pack("{s:o, s:s, s:s, s:s}", "key", j_b64(ops[i].key),
						     "target", "CREATE", "result", "EQUAL",
						     "create_revision", "0"));
		json_array_append_new(succ, json_pack("{s:o}", "request_put",
						      put_req(ops[i].key, ops[i].value, ops[i].lease)));
		json_array_append_new(fail, json_pack("{s:o}", "request_range",
						      range_req(ops[i].key, false)));
	}
	req = json_pack("{s:o, s:o, s:o}", "compare", cmp, "success", succ, "failure", fail);
	ret = call(kv, "kv/txn", req, &resp, err);
	json_decref(req);
	if (ret < 0)
		return ret;
	if (json_is_true(json_object_get(resp, "succeeded"))) {
		ret = 1;
	} else {
		json_t *rs = json_object_get(resp, "responses");
		ret = 0;
		for (size_t i = 0; taken && i < json_array_size(rs); i++) {
			json_t *r = json_object_get(json_array_get(rs, i), "response_range");
			if (json_array_size(json_object_get(r, "kvs")) > 0) {
				*taken = i;
				break;
			}
		}
	}
	json_decref(resp);
	return ret;
}

static int etcd_delete_if(struct kv_impl *kv, const char *key, const char *value, struct shoal_err *err)
{
	json_t *req, *resp;
	int ret;

	req = json_pack("{s:[{s:o, s:s, s:s, s:o}], s:[{s:o}]}", "compare", "key", j_b64(key),
			"target", "VALUE", "result", "EQUAL", "value", j_b64(value), "success",
			"request_delete_range", range_req(key, false));
	ret = call(kv, "kv/txn", req, &resp, err);
	json_decref(req);
	if (ret < 0)
		return ret;
	ret = json_is_true(json_object_get(resp, "succeeded")) ? 1 : 0;
	json_decref(resp);
	return ret;
}

static int etcd_lease_grant(struct kv_impl *kv, int ttl_s, int64_t *id, struct shoal_err *err)
{
	json_t *req = json_pack("{s:i}", "TTL", ttl_s), *resp;
	int ret = call(kv, "lease/grant", req, &resp, err);

	json_decref(req);
	if (ret < 0)
		return ret;
	*id = j_i64(json_object_get(resp, "ID"));
	if (*id == 0)
		ret = err_set(err, EIO, "etcd %s: lease grant returned no lease: %s", kv->ep,
			      json_string_value(json_object_get(resp, "error")) ?: "no ID");
	json_decref(resp);
	return ret;
}

static int etcd_lease_keepalive(struct kv_impl *kv, int64_t id, int64_t *ttl, struct shoal_err *err)
{
	char sid[32];
	json_t *req, *resp, *r;
	int ret;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	req = json_pack("{s:s}", "ID", sid);
	ret = call(kv, "lease/keepalive", req, &resp, err);
	json_decref(req);
	if (ret < 0)
		return ret;
	/* A stream endpoint: one {"result": {...}} per request line. */
	r = json_object_get(resp, "result");
	if (json_object_get(resp, "error"))
		ret = err_set(err, EIO, "etcd %s: lease keepalive: %s", kv->ep,
			      json_string_value(json_object_get(json_object_get(resp, "error"),
								 "message")) ?: "error");
	else
		*ttl = j_i64(json_object_get(r ? r : resp, "TTL"));
	json_decref(resp);
	return ret;
}

static int etcd_lease_revoke(struct kv_impl *kv, int64_t id, struct shoal_err *err)
{
	char sid[32];
	json_t *req, *resp;
	int ret;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	req = json_pack("{s:s}", "ID", sid);
	ret = call(kv, "lease/revoke", req, &resp, err);
	json_decref(req);
	json_decref(resp);
	return ret;
}

/* ------------------------------------------------------------ watch */

struct watch {
	struct kv_impl *kv;
	struct buf b;
	kv_watch_cb cb;
	void *ctx;
	volatile bool *stop;
	int64_t *last;
	int result;   /* 0 or -errno: why the stream was abandoned */
	bool created;
	struct shoal_err *err;
};

static int watch_msg(struct watch *w, const char *line)
{
	json_t *j = json_loads(line, 0, NULL), *r, *evs;
	int ret = 0;

	if (!j)
		return err_set(w->err, EIO, "etcd %s: watch: unparsable message", w->kv->ep);
	if (json_object_get(j, "error")) {
		json_t *e = json_object_get(j, "error");
		ret = err_set(w->err, EIO, "etcd %s: watch: %s", w->kv->ep,
			      json_string_value(json_object_get(e, "message")) ?: "error");
		goto out;
	}
	r = json_object_get(j, "result");
	if (j_i64(json_object_get(r, "compact_revision")) > 0) {
		ret = err_set(w->err, ESTALE, "etcd %s: watch: revision compacted (oldest kept %lld)",
			      w->kv->ep, (long long)j_i64(json_object_get(r, "compact_revision")));
		goto out;
	}
	if (json_is_true(json_object_get(r, "canceled"))) {
		ret = err_set(w->err, EIO, "etcd %s: watch canceled: %s", w->kv->ep,
			      json_string_value(json_object_get(r, "cancel_reason")) ?: "no reason");
		goto out;
	}
	if (json_is_true(json_object_get(r, "created")))
		w->created = true;
	evs = json_object_get(r, "events");
	for (size_t i = 0; i < json_array_size(evs); i++) {
		json_t *ev = json_array_get(evs, i);
		const char *type = json_string_value(json_object_get(ev, "type"));
		bool del = type && strcmp(type, "DELETE") == 0;
		struct kv_pair p;

		if (pair_from_json(json_object_get(ev, "kv"), &p) < 0) {
			ret = err_set(w->err, ENOMEM, "out of memory");
			goto out;
		}
		ret = w->cb(w->ctx, &p, del);
		if (p.mod_rev > *w->last)
			*w->last = p.mod_rev;
		free(p.key);
		free(p.value);
		if (ret < 0) {
			ret = err_set(w->err, -ret, "watch callback failed");
			goto out;
		}
	}
out:
	json_decref(j);
	return ret;
}

static size_t watch_write(char *data, size_t sz, size_t nm, void *ud)
{
	struct watch *w = ud;
	size_t n = sz * nm;
	char *nl;

	if (*w->stop)
		return 0;
	if (buf_write(data, sz, nm, &w->b) != n)
		return 0;
	while ((nl = memchr(w->b.p, '\n', w->b.len))) {
		size_t used = (size_t)(nl - w->b.p) + 1;
		int ret;

		*nl = '\0';
		ret = nl == w->b.p ? 0 : watch_msg(w, w->b.p);
		memmove(w->b.p, w->b.p + used, w->b.len - used);
		w->b.len -= used;
		w->b.p[w->b.len] = '\0';
		if (ret < 0) {
			w->result = ret;
			return 0;
		}
	}
	return n;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct watch *w = ud;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return *w->stop ? 1 : 0;
}

static int etcd_watch(struct kv_impl *kv, const char *prefix, int64_t start_rev, kv_watch_cb cb, void *ctx,
	     volatile bool *stop, int64_t *last, struct shoal_err *err)
{
	struct watch w = { .kv = kv, .cb = cb, .ctx = ctx, .stop = stop, .last = last, .err = err };
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	json_t *cr = range_req(prefix, true), *req;
	char url[KV_HOST_LEN + 32], *text, ep[KV_HOST_LEN];
	CURL *h = curl_easy_init();
	CURLcode c;
	int ret;

	json_object_set_new(cr, "start_revision", json_integer(start_rev));
	req = json_pack("{s:o}", "create_request", cr);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	pthread_mutex_lock(&kv->lock);
	snprintf(ep, sizeof(ep), "%s", kv->url.hosts[kv->cur]);
	pthread_mutex_unlock(&kv->lock);
	if (!h || !text) {
		curl_easy_cleanup(h);
		free(text);
		curl_slist_free_all(hdr);
		return err_set(err, ENOMEM, "out of memory");
	}
	snprintf(url, sizeof(url), "http://%s/v3/watch", ep);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	c = curl_easy_perform(h);
	if (*stop)
		ret = 0;
	else if (w.result < 0)
		ret = w.result;
	else if (c != CURLE_OK)
		ret = err_set(err, c == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO,
			      "etcd %s: watch: %s", ep, curl_easy_strerror(c));
	else
		ret = err_set(err, EIO, "etcd %s: watch stream ended", ep);
	if (ret < 0 && c != CURLE_OK && transport_error(c)) {
		pthread_mutex_lock(&kv->lock);
		if (strcmp(kv->url.hosts[kv->cur], ep) == 0)
			kv->cur = (kv->cur + 1) % kv->url.n_hosts;
		set_ep(kv);
		pthread_mutex_unlock(&kv->lock);
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	free(text);
	free(w.b.p);
	return ret;
}

const struct kv_ops kv_etcd_ops = {
	.open = etcd_open,
	.close = etcd_close,
	.endpoint = etcd_endpoint,
	.range = etcd_range,
	.put = etcd_put,
	.del = etcd_delete,
	.create_all = etcd_create_all,
	.delete_if = etcd_delete_if,
	.lease_grant = etcd_lease_grant,
	.lease_keepalive = etcd_lease_keepalive,
	.lease_revoke = etcd_lease_revoke,
	.watch = etcd_watch,
};
