// SPDX-License-Identifier: Apache-2.0
/*
 * pull.c - registry API v2 client (libcurl): manifests (Docker schema 2,
 * manifest lists, OCI manifests and indexes), blobs streamed into the
 * blob store and verified while they arrive, the Bearer token flow.
 *
 *   GET /v2/<name>/manifests/<tag|digest>   Accept: the four types
 *   401 + WWW-Authenticate: Bearer realm=R,service=S,scope=X
 *     -> GET R?service=S&scope=X (basic auth with credentials) -> token
 *     -> the request again with "Authorization: Bearer <token>"
 *   GET /v2/<name>/blobs/<digest>           (redirects followed; libcurl
 *                                            drops Authorization on
 *                                            another host)
 *
 * Scheme: HTTPS with verification, except for loopback registries
 * (127.0.0.0/8, localhost, ::1) and opts->insecure, which try HTTPS
 * without verification and fall back to plain HTTP (Docker's insecure
 * registry rule).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "image_int.h"

#define MAX_MANIFEST (4u << 20)
#define MAX_CONFIG (8u << 20)
#define MAX_ERRBODY (64u << 10)

struct reg {
	CURL *c;
	const struct image_ref *r;
	const struct image_pull_opts *o;
	char base[600];      /* scheme://host */
	bool insecure_tls;   /* HTTPS without verification */
	char *auth;          /* "Authorization: ..." or NULL */
	bool basic;          /* send credentials as basic auth */
};

struct resp {
	long status;
	char *body;
	size_t len, max;
	char content_type[256];
	char docker_digest[128];
	char www_auth[2048];
	struct blob_writer *w;   /* 2xx bodies go here when set */
	int werr;
	struct shoal_err *err;
	/* progress */
	const struct image_progress *p;
	const char *sid;
	uint64_t total, last;
	struct timespec last_ts;
};

static void resp_reset(struct resp *rs)
{
	free(rs->body);
	rs->body = NULL;
	rs->len = 0;
	rs->status = 0;
	rs->content_type[0] = rs->docker_digest[0] = rs->www_auth[0] = '\0';
}

static void hdr_value(const char *line, size_t n, size_t klen, char *dst, size_t dlen)
{
	const char *v = line + klen;
	size_t vl;

	while (v < line + n && (*v == ' ' || *v == '\t'))
		v++;
	vl = (size_t)(line + n - v);
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	snprintf(dst, dlen, "%.*s", (int)vl, v);
}

static size_t on_header(char *line, size_t size, size_t nitems, void *arg)
{
	struct resp *rs = arg;
	size_t n = size * nitems;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after a redirect or 100): forget the last */
		rs->content_type[0] = rs->docker_digest[0] = rs->www_auth[0] = '\0';
	} else if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
		hdr_value(line, n, 13, rs->content_type, sizeof(rs->content_type));
	} else if (n > 22 && strncasecmp(line, "Docker-Content-Digest:", 22) == 0) {
		hdr_value(line, n, 22, rs->docker_digest, sizeof(rs->docker_digest));
	} else if (n > 17 && strncasecmp(line, "WWW-Authenticate:", 17) == 0) {
		hdr_value(line, n, 17, rs->www_auth, sizeof(rs->www_auth));
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct resp *rs = arg;
	size_t n = size * nmemb;

	if (rs->w && rs->status >= 200 && rs->status < 300) {
		if (blob_writer_write(rs->w, data, n, rs->err)) {
			rs->werr = -1;
			return 0;
		}
		return n;
	}
	if (rs->len + n > rs->max)
		return 0; /* too large: curl reports a write error */
	{
		char *nb = realloc(rs->body, rs->len + n + 1);

		if (!nb)
			return 0;
		rs->body = nb;
	}
	memcpy(rs->body + rs->len, data, n);
	rs->len += n;
	rs->body[rs->len] = '\0';
	return n;
}

static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult, curl_off_t uln)
{
	struct resp *rs = arg;
	struct timespec now;
	uint64_t total = rs->total ? rs->total : (uint64_t)dltotal;

	(void)ult;
	(void)uln;
	if (!rs->p || !rs->sid || !rs->w || dlnow <= 0 || (uint64_t)dlnow == rs->last)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((uint64_t)dlnow < total &&
	    (now.tv_sec - rs->last_ts.tv_sec) * 1000000000L + (now.tv_nsec - rs->last_ts.tv_nsec) <
		    100000000L)
		return 0;
	rs->last = (uint64_t)dlnow;
	rs->last_ts = now;
	progress(rs->p, rs->sid, "Downloading", (uint64_t)dlnow, total);
	return 0;
}

/* Status line of a header callback tells the body callback where to go;
 * libcurl has it only once headers are done, so take it from there. */
static size_t on_header_status(char *line, size_t size, size_t nitems, void *arg)
{
	struct resp *rs = arg;
	size_t n = size * nitems;
	int code;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0 && sscanf(line, "HTTP/%*s %d", &code) == 1)
		rs->status = code;
	return on_header(line, size, nitems, arg);
}

static int do_get(struct reg *g, const char *url, const char *accept, bool with_auth,
		  struct resp *rs, struct shoal_err *err)
{
	struct curl_slist *h = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	long code = 0;

	curl_easy_reset(g->c);
	curl_easy_setopt(g->c, CURLOPT_URL, url);
	curl_easy_setopt(g->c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(g->c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(g->c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(g->c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(g->c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled transfer (under 1 byte/s for 60 s) fails */
	curl_easy_setopt(g->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(g->c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(g->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(g->c, CURLOPT_USERAGENT, "shoal/1.0 (docker-compatible)");
	curl_easy_setopt(g->c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(g->c, CURLOPT_HEADERFUNCTION, on_header_status);
	curl_easy_setopt(g->c, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(g->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(g->c, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(g->c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(g->c, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(g->c, CURLOPT_XFERINFODATA, rs);
	if (g->insecure_tls) {
		curl_easy_setopt(g->c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(g->c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (accept) {
		char a[1024];

		snprintf(a, sizeof(a), "Accept: %s", accept);
		h = curl_slist_append(h, a);
	}
	if (with_auth && g->auth)
		h = curl_slist_append(h, g->auth);
	if (with_auth && g->basic && g->o && g->o->username) {
		curl_easy_setopt(g->c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(g->c, CURLOPT_USERNAME, g->o->username);
		curl_easy_setopt(g->c, CURLOPT_PASSWORD, g->o->password ? g->o->password : "");
	}
	if (h)
		curl_easy_setopt(g->c, CURLOPT_HTTPHEADER, h);
	rs->err = err;
	rs->werr = 0;
	cc = curl_easy_perform(g->c);
	curl_slist_free_all(h);
	curl_easy_setopt(g->c, CURLOPT_ERRORBUFFER, NULL);
	if (rs->werr)
		return -(err->code ? err->code : EIO);
	curl_easy_getinfo(g->c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK)
		return err_set(err, EIO, "Get \"%s\": %s", url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
	rs->status = code;
	return 0;
}

/* key="value" out of a challenge; "" when absent. */
static void challenge_param(const char *ch, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	const char *p = ch;

	out[0] = '\0';
	while ((p = strcasestr(p, key))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=') {
			const char *v = p + kl + 1, *e;

			if (*v == '"') {
				v++;
				e = strchr(v, '"');
			} else {
				e = v + strcspn(v, ",");
			}
			if (!e)
				e = v + strlen(v);
			snprintf(out, len, "%.*s", (int)(e - v), v);
			return;
		}
		p += kl;
	}
}

/* Registry error body -> "code: message". */
static void reg_errmsg(const struct resp *rs, char *out, size_t len)
{
	json_t *j = rs->body ? json_loadb(rs->body, rs->len, 0, NULL) : NULL;
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));

	if (code || msg)
		snprintf(out, len, "%s%s%s", code ? code : "", code && msg ? ": " : "",
			 msg ? msg : "");
	else
		snprintf(out, len, "HTTP %ld", rs->status);
	if (code) {
		for (char *q = out; *q && *q != ':'; q++)
			*q = (char)((*q >= 'A' && *q <= 'Z') ? *q + 32 : *q);
	}
	json_decref(j);
}

static int reg_authenticate(struct reg *g, const char *challenge, struct shoal_err *err)
{
	char realm[1024], service[512], scope[512], url[3072], *esc_s, *esc_sc;
	struct resp rs = { .max = MAX_ERRBODY };
	json_t *j = NULL;
	const char *tok;
	int ret;

	if (strncasecmp(challenge, "Basic", 5) == 0) {
		if (!g->o || !g->o->username)
			return err_set(err, EACCES, "unauthorized: authentication required");
		g->basic = true;
		return 0;
	}
	if (strncasecmp(challenge, "Bearer", 6) != 0)
		return err_set(err, EACCES, "unsupported authentication challenge \"%s\"", challenge);
	challenge_param(challenge, "realm", realm, sizeof(realm));
	challenge_param(challenge, "service", service, sizeof(service));
	challenge_param(challenge, "scope", scope, sizeof(scope));
	if (!realm[0])
		return err_set(err, EACCES, "authentication challenge without a realm");
	if (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0)
		return err_set(err, EACCES, "token realm \"%s\" is not an http(s) URL", realm);
	if (!scope[0])
		snprintf(scope, sizeof(scope), "repository:%s:pull", g->r->path);
	esc_s = curl_easy_escape(g->c, service, 0);
	esc_sc = curl_easy_escape(g->c, scope, 0);
	snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?",
		 esc_s ? esc_s : "", esc_sc ? esc_sc : "");
	curl_free(esc_s);
	curl_free(esc_sc);
	g->basic = g->o && g->o->username;
	ret = do_get(g, url, NULL, false, &rs, err);
	if (ret)
		goto out;
	if (rs.status != 200) {
		char m[300];

		reg_errmsg(&rs, m, sizeof(m));
		ret = err_set(err, EACCES, "get token from %s: %s", realm, m);
		goto out;
	}
	j = json_loadb(rs.body ? rs.body : "", rs.len, 0, NULL);
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok) {
		ret = err_set(err, EACCES, "token server %s answered without a token", realm);
		goto out;
	}
	free(g->auth);
	g->auth = NULL;
	if (asprintf(&g->auth, "Authorization: Bearer %s", tok) < 0) {
		g->auth = NULL;
		ret = err_set(err, ENOMEM, "out of memory");
	}
	g->basic = false;
out:
	json_decref(j);
	resp_reset(&rs);
	return ret;
}

/* GET with the auth dance; rs->status set. */
static int reg_get(struct reg *g, const char *path, const char *accept, struct resp *rs,
		   struct shoal_err *err)
{
	char url[1200];
	int ret;

	snprintf(url, sizeof(url), "%s%s", g->base, path);
	for (int attempt = 0;; attempt++) {
		ret = do_get(g, url, accept, true, rs, err);
		if (ret)
			return ret;
		if (rs->status != 401 || attempt > 0 || !rs->www_auth[0])
			return 0;
		ret = reg_authenticate(g, rs->www_auth, err);
		if (ret)
			return ret;
		/* a 401 body went to memory, not to the blob */
		resp_reset(rs);
	}
}

static bool host_is_loopback(const char *domain)
{
	char host[256];
	struct in_addr a;

	if (domain[0] == '[') {
		const char *e = strchr(domain, ']');

		snprintf(host, sizeof(host), "%.*s", e ? (int)(e - domain - 1) : 0, domain + 1);
		return strcmp(host, "::1") == 0;
	}
	snprintf(host, sizeof(host), "%s", domain);
	host[strcspn(host, ":")] = '\0';
	if (strcmp(host, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int reg_open(struct reg *g, const struct image_ref *r, const struct image_pull_opts *o,
		    struct shoal_err *err)
{
	const char *host = strcmp(r->domain, "docker.io") == 0 ? "registry-1.docker.io" : r->domain;
	struct resp rs = { .max = MAX_ERRBODY };
	char url[700];
	int ret;

	memset(g, 0, sizeof(*g));
	g->r = r;
	g->o = o;
	g->c = curl_easy_init();
	if (!g->c)
		return err_set(err, ENOMEM, "out of memory");
	if (!host_is_loopback(r->domain) && !(o && o->insecure)) {
		snprintf(g->base, sizeof(g->base), "https://%s", host);
		return 0;
	}
	/* insecure: HTTPS without verification if it answers, else HTTP */
	g->insecure_tls = true;
	snprintf(g->base, sizeof(g->base), "https://%s", host);
	snprintf(url, sizeof(url), "%s/v2/", g->base);
	ret = do_get(g, url, NULL, false, &rs, NULL);
	resp_reset(&rs);
	if (ret == 0)
		return 0;
	g->insecure_tls = false;
	snprintf(g->base, sizeof(g->base), "http://%s", host);
	(void)err;
	return 0;
}

static void reg_close(struct reg *g)
{
	if (g->c)
		curl_easy_cleanup(g->c);
	free(g->auth);
}

static const char *ACCEPT_MANIFESTS =
	MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_OCI_INDEX;

/* A manifest by tag or digest; *body malloc'd, digest_out its digest
 * (checked against want when that is a digest). */
static int fetch_manifest(struct reg *g, const char *familiar, const char *tag_or_digest,
			  char **body, size_t *len, char content_type[256],
			  char digest_out[DIGEST_LEN], struct shoal_err *err)
{
	struct resp rs = { .max = MAX_MANIFEST };
	char path[700], m[300];
	int ret;

	*body = NULL;
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", g->r->path, tag_or_digest);
	ret = reg_get(g, path, ACCEPT_MANIFESTS, &rs, err);
	if (ret)
		goto fail;
	if (rs.status != 200) {
		reg_errmsg(&rs, m, sizeof(m));
		if (rs.status == 404)
			ret = err_set(err, ENOENT, "manifest for %s not found: %s", familiar, m);
		else if (rs.status == 401 || rs.status == 403)
			ret = err_set(err, EACCES,
				      "pull access denied for %s, repository does not exist or may require 'docker login': %s",
				      familiar, m);
		else
			ret = err_set(err, EIO, "manifest for %s: %s", familiar, m);
		goto fail;
	}
	sha256_digest_str(rs.body ? rs.body : "", rs.len, digest_out);
	if (strncmp(tag_or_digest, "sha256:", 7) == 0 && strcmp(tag_or_digest, digest_out) != 0) {
		ret = err_set(err, EBADMSG, "digest mismatch for %s: got %s", tag_or_digest,
			      digest_out);
		goto fail;
	}
	if (rs.docker_digest[0] && strncmp(rs.docker_digest, "sha256:", 7) == 0 &&
	    strcmp(rs.docker_digest, digest_out) != 0) {
		ret = err_set(err, EBADMSG, "digest mismatch for %s: got %s", rs.docker_digest,
			      digest_out);
		goto fail;
	}
	snprintf(content_type, 256, "%s", rs.content_type);
	*body = rs.body ? rs.body : strdup("");
	*len = rs.len;
	return *body ? 0 : err_set(err, ENOMEM, "out of memory");
fail:
	resp_reset(&rs);
	return ret;
}

/* A blob into the store, verified while streaming. */
static int fetch_blob(struct image_store *s, struct reg *g, const char *digest, uint64_t size,
		      const struct image_progress *p, const char *sid, struct shoal_err *err)
{
	struct blob_writer w;
	struct resp rs = { .max = MAX_ERRBODY, .w = &w, .p = p, .sid = sid, .total = size };
	char path[700], m[300];
	int ret;

	ret = blob_writer_open(&w, s->blobs, err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", g->r->path, digest);
	ret = reg_get(g, path, NULL, &rs, err);
	if (!ret && rs.status != 200) {
		reg_errmsg(&rs, m, sizeof(m));
		ret = err_set(err, rs.status == 404 ? ENOENT : EIO, "blob %s: %s", digest, m);
	}
	if (ret) {
		blob_writer_abort(&w);
		resp_reset(&rs);
		return ret;
	}
	resp_reset(&rs);
	if (sid)
		progress(p, sid, "Verifying Checksum", 0, 0);
	return blob_writer_commit(&w, digest, NULL, err);
}

static const char *layer_media_ok(const char *mt)
{
	static const char *const ok[] = { MT_DOCKER_LAYER_GZ, MT_OCI_LAYER, MT_OCI_LAYER_GZ,
					  MT_OCI_LAYER_ZSTD, "" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(mt, ok[i]) == 0)
			return mt;
	return NULL;
}

int image_pull(struct image_store *s, const char *ref, const struct image_pull_opts *o,
	       const struct image_progress *p, char id_out[IMAGE_ID_LEN], struct shoal_err *err)
{
	struct image_op op = { 0 };
	struct image_manifest m = { 0 };
	struct image_ref r;
	struct reg g = { 0 };
	char familiar[450], repo[ST_REPO_LEN], name[300], mdigest[DIGEST_LEN], ctype[256];
	char (*diffs)[DIGEST_LEN] = NULL, chain[DIGEST_LEN] = "", next[DIGEST_LEN];
	char prev_id[IMAGE_ID_LEN] = "", msg[600], *body = NULL, *cfg_text = NULL;
	size_t len, n_diffs = 0, cfg_len;
	enum manifest_kind kind;
	json_t *cfg = NULL;
	bool fresh, *have = NULL;
	int ret;

	ret = image_ref_parse(ref, &r, err);
	if (ret)
		return ret;
	image_ref_name(&r, repo, sizeof(repo));
	image_name_familiar(repo, name, sizeof(name));
	if (r.digest[0])
		snprintf(familiar, sizeof(familiar), "%s@%s", name, r.digest);
	else
		snprintf(familiar, sizeof(familiar), "%s:%s", name, r.tag);
	ret = reg_open(&g, &r, o, err);
	if (ret)
		return ret;
	snprintf(msg, sizeof(msg), "Pulling from %s", r.path);
	progress(p, r.digest[0] ? r.digest : r.tag, msg, 0, 0);

	ret = fetch_manifest(&g, familiar, r.digest[0] ? r.digest : r.tag, &body, &len, ctype,
			     mdigest, err);
	if (ret)
		goto out;
	ret = manifest_kind(body, len, ctype, &kind, err);
	if (ret)
		goto out;
	if (kind == MANIFEST_INDEX) {
		char pick[DIGEST_LEN], mt[128];

		ret = manifest_index_pick(body, len, "linux", image_host_arch(), pick, mt, err);
		if (ret)
			goto out;
		free(body);
		body = NULL;
		/* the RepoDigest stays the list's digest, as Docker */
		ret = fetch_manifest(&g, familiar, pick, &body, &len, ctype, next, err);
		if (ret)
			goto out;
		ret = manifest_kind(body, len, ctype, &kind, err);
		if (!ret && kind != MANIFEST_IMAGE)
			ret = err_set(err, EINVAL, "manifest list entry %s is not an image manifest",
				      pick);
		if (ret)
			goto out;
	}
	ret = manifest_parse(body, len, &m, err);
	if (ret)
		goto out;
	for (size_t i = 0; i < m.n_layers; i++)
		if (!layer_media_ok(m.layers[i].media_type)) {
			ret = err_set(err, EINVAL, "unsupported layer media type \"%s\"",
				      m.layers[i].media_type);
			goto out;
		}
	/* keep the manifest the RepoDigest names */
	if (store_pin(s, &op.ps, mdigest) || store_pin(s, &op.ps, m.config_digest)) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (!blob_exists(s->blobs, mdigest)) {
		struct blob_writer w;

		ret = blob_writer_open(&w, s->blobs, err);
		if (!ret && !(ret = blob_writer_write(&w, body, len, err)))
			ret = blob_writer_commit(&w, NULL, NULL, err);
		else if (ret)
			blob_writer_abort(&w);
		if (ret)
			goto out;
	}
	if (!blob_exists(s->blobs, m.config_digest)) {
		ret = fetch_blob(s, &g, m.config_digest, 0, NULL, NULL, err);
		if (ret)
			goto out;
	}
	ret = blob_read(s->blobs, m.config_digest, MAX_CONFIG, &cfg_text, &cfg_len, err);
	if (ret)
		goto out;
	cfg = json_loadb(cfg_text, cfg_len, 0, NULL);
	ret = config_diff_ids(cfg, &diffs, &n_diffs, err);
	if (ret)
		goto out;
	if (n_diffs != m.n_layers) {
		ret = err_set(err, EINVAL, "invalid image: %zu layers in the manifest, %zu diff_ids",
			      m.n_layers, n_diffs);
		goto out;
	}

	/* what is there already; the rest is announced first, as Docker */
	have = calloc(m.n_layers + 1, sizeof(*have));
	if (!have) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m.n_layers; i++) {
		struct st_layer l;
		char sid[13];

		image_chain_id(chain, diffs[i], next);
		memcpy(chain, next, sizeof(chain));
		if (store_pin(s, &op.ps, chain)) {
			ret = err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		store_lock(s);
		have[i] = st_layer_get(s->si, s->driver, chain, &l, NULL) == 0;
		store_unlock(s);
		short_id(m.layers[i].digest, sid);
		progress(p, sid, have[i] ? "Already exists" : "Pulling fs layer", 0, 0);
	}
	chain[0] = '\0';
	for (size_t i = 0; i < m.n_layers; i++) {
		struct layer_src src = { .blob_digest = m.layers[i].digest,
					 .media_type = m.layers[i].media_type,
					 .blob_size = (uint64_t)m.layers[i].size };
		char sid[13];
		bool existed;

		short_id(m.layers[i].digest, sid);
		if (!have[i]) {
			if (store_pin(s, &op.ps, m.layers[i].digest)) {
				ret = err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			/* a diff we have (another driver's layer) needs no download */
			if (!blob_exists(s->blobs, diffs[i]) &&
			    !blob_exists(s->blobs, m.layers[i].digest)) {
				ret = fetch_blob(s, &g, m.layers[i].digest,
						 (uint64_t)m.layers[i].size, p, sid, err);
				if (ret)
					goto out;
			}
			progress(p, sid, "Download complete", 0, 0);
		}
		ret = store_layer_ensure(s, &op.ps, chain, diffs[i], &src, p, sid, &existed, next,
					 err);
		if (ret)
			goto out;
		if (!existed)
			op_created(&op, next);
		if (!have[i])
			progress(p, sid, "Pull complete", 0, 0);
		memcpy(chain, next, sizeof(chain));
	}

	store_lock(s);
	if (!r.digest[0])
		st_ref_get(s->si, s->driver, repo, r.tag, prev_id, NULL);
	store_unlock(s);
	{
		struct image_commit c = { .config = cfg_text, .config_len = cfg_len,
					  .tags = r.digest[0] ? NULL : &r, .n_tags = !r.digest[0],
					  .digest_repo = repo, .manifest_digest = mdigest };

		ret = store_image_commit(s, &op.ps, &c, id_out, &fresh, err);
	}
	if (ret)
		goto out;
	snprintf(msg, sizeof(msg), "Digest: %s", mdigest);
	progress(p, NULL, msg, 0, 0);
	if (strcmp(prev_id, id_out) == 0 || (r.digest[0] && !fresh))
		snprintf(msg, sizeof(msg), "Status: Image is up to date for %s", familiar);
	else
		snprintf(msg, sizeof(msg), "Status: Downloaded newer image for %s", familiar);
	progress(p, NULL, msg, 0, 0);
out:
	op_finish(s, &op, ret != 0);
	reg_close(&g);
	manifest_free(&m);
	free(body);
	free(cfg_text);
	free(diffs);
	free(have);
	json_decref(cfg);
	return ret;
}
