// SPDX-License-Identifier: Apache-2.0
/*
 * api_containers.c - /containers and /exec: Docker Engine API v1.41
 * create, json (ps), {id}/json (inspect), start, stop, restart, kill,
 * wait, rename, attach, resize, logs, top, stats, DELETE {id}, prune,
 * {id}/exec, /exec/{id}/start|json|resize. The work is in container*.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "api.h"
#include "container.h"
#include "daemon.h"
#include "prune.h"

static bool method_is(const struct api_req *q, const char *m, struct reply *r)
{
	if (strcmp(q->method, m) == 0)
		return true;
	api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	return false;
}

/* 204 on success, 304 for "already so" (start, stop), else the error. */
static void reply_204(struct reply *r, int ret, const struct shoal_err *err)
{
	if (ret == -EALREADY) {
		r->status = MHD_HTTP_NOT_MODIFIED;
		return;
	}
	if (ret < 0)
		return api_reply_err(r, ret, err);
	r->status = MHD_HTTP_NO_CONTENT;
}

static int query_int(const struct api_req *q, const char *key, int dflt, bool *bad)
{
	const char *v = api_query(q, key);
	char *end;
	long n;

	if (!v || !*v)
		return dflt;
	n = strtol(v, &end, 10);
	if (*end || n < -1 || n > 1000000) {
		*bad = true;
		return dflt;
	}
	return (int)n;
}

static void list(const struct api_req *q, struct reply *r)
{
	struct shoal_err err = { 0 };
	const char *fs = api_query(q, "filters");
	json_t *filters = NULL, *out = NULL;
	bool bad = false;
	int limit, ret;

	limit = query_int(q, "limit", -1, &bad);
	if (bad)
		return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "invalid limit");
	if (fs && *fs) {
		filters = json_loads(fs, 0, NULL);
		if (!filters)
			return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "invalid filters: malformed JSON");
	}
	ret = ctr_list_json(q->d, api_query_bool(q, "all", false), limit, filters, &out, &err);
	json_decref(filters);
	api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
}

static void create(const struct api_req *q, struct reply *r)
{
	struct shoal_err err = { 0 };
	json_t *body, *warnings = NULL;
	char id[65];
	int ret;

	body = api_parse_body(q->rc, false, r);
	if (!body)
		return;
	ret = ctr_create(q->d, api_query(q, "name"), body, id, &warnings, &err);
	json_decref(body);
	if (ret < 0) {
		json_decref(warnings);
		return api_reply_err(r, ret, &err);
	}
	r->status = MHD_HTTP_CREATED;
	r->json = json_pack("{s:s, s:o}", "Id", id, "Warnings", warnings);
}

static void resize(const struct api_req *q, const char *id, int pid, struct reply *r)
{
	struct shoal_err err = { 0 };
	json_t *req, *rep = NULL;
	bool bad = false;
	int h = query_int(q, "h", 0, &bad), w = query_int(q, "w", 0, &bad), ret;

	if (bad || h < 0 || w < 0)
		return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "invalid height or width");
	req = json_pack("{s:s, s:i, s:i, s:i}", "op", "resize", "pid", pid, "height", h, "width", w);
	pthread_mutex_lock(&q->d->lock);
	ret = ctr_shim_call(q->d, id, req, &rep, NULL, &err);
	pthread_mutex_unlock(&q->d->lock);
	json_decref(req);
	if (ret == 0 && !json_is_true(json_object_get(rep, "ok")))
		ret = err_set(&err, EINVAL, "resize: %s",
			      json_string_value(json_object_get(rep, "message")) ?: "refused");
	json_decref(rep);
	if (ret < 0)
		return api_reply_err(r, ret, &err);
	r->status = MHD_HTTP_OK;
}

/* The full id of a running container ref, for calls that go to its shim. */
static int running_id(struct daemon *d, const char *ref, char id[65], struct shoal_err *err)
{
	json_t *j = NULL;
	int ret = ctr_inspect_json(d, ref, &j, err);

	if (ret < 0)
		return ret;
	snprintf(id, 65, "%s", json_string_value(json_object_get(j, "Id")));
	if (!json_is_true(json_object_get(json_object_get(j, "State"), "Running")))
		ret = err_set(err, EBUSY, "Container %s is not running", id);
	json_decref(j);
	return ret;
}

static void one(const struct api_req *q, const char *ref, const char *tail, struct reply *r)
{
	struct shoal_err err = { 0 };
	json_t *out = NULL;
	bool bad = false;
	int ret;

	if (*tail == '\0') {
		if (!method_is(q, "DELETE", r))
			return;
		ret = ctr_remove(q->d, ref, api_query_bool(q, "force", false),
				 api_query_bool(q, "v", false), &err);
		return reply_204(r, ret, &err);
	}
	if (strcmp(tail, "/json") == 0) {
		if (!method_is(q, "GET", r))
			return;
		ret = ctr_inspect_json(q->d, ref, &out, &err);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	if (strcmp(tail, "/logs") == 0)
		return method_is(q, "GET", r) ? ctr_api_logs(q, ref, r) : (void)0;
	if (strcmp(tail, "/top") == 0) {
		if (!method_is(q, "GET", r))
			return;
		ret = ctr_top_json(q->d, ref, api_query(q, "ps_args"), &out, &err);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	if (strcmp(tail, "/stats") == 0)
		return method_is(q, "GET", r) ? ctr_api_stats(q, ref, r) : (void)0;
	if (strcmp(tail, "/archive") == 0)
		return ctr_api_archive(q, ref, r);
	if (strcmp(tail, "/export") == 0)
		return ctr_api_export(q, ref, r);
	if (strcmp(tail, "/changes") == 0)
		return ctr_api_changes(q, ref, r);
	if (!method_is(q, "POST", r))
		return;
	if (strcmp(tail, "/start") == 0) {
		ret = ctr_start(q->d, ref, &err);
		return reply_204(r, ret, &err);
	}
	if (strcmp(tail, "/stop") == 0 || strcmp(tail, "/restart") == 0) {
		int t = query_int(q, "t", -1, &bad);

		if (bad)
			return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "invalid value for t");
		ret = ctr_stop(q->d, ref, t, strcmp(tail, "/restart") == 0, &err);
		return reply_204(r, ret, &err);
	}
	if (strcmp(tail, "/pause") == 0 || strcmp(tail, "/unpause") == 0) {
		ret = ctr_pause(q->d, ref, strcmp(tail, "/pause") == 0, &err);
		return reply_204(r, ret, &err);
	}
	if (strcmp(tail, "/kill") == 0) {
		ret = ctr_kill(q->d, ref, api_query(q, "signal"), &err);
		return reply_204(r, ret, &err);
	}
	if (strcmp(tail, "/wait") == 0) {
		int fd = -1;

		ret = ctr_wait_start(q->d, ref, api_query(q, "condition"), &fd, &err);
		if (ret < 0)
			return api_reply_err(r, ret, &err);
		r->status = MHD_HTTP_OK;
		r->stream_fd = fd;
		r->content_type = "application/json";
		return;
	}
	if (strcmp(tail, "/rename") == 0) {
		ret = ctr_rename(q->d, ref, api_query(q, "name"), &err);
		return reply_204(r, ret, &err);
	}
	if (strcmp(tail, "/attach") == 0)
		return ctr_api_attach(q, ref, r);
	if (strcmp(tail, "/exec") == 0)
		return ctr_api_exec_create(q, ref, r);
	if (strcmp(tail, "/resize") == 0) {
		char id[65];

		ret = running_id(q->d, ref, id, &err);
		if (ret < 0)
			return api_reply_err(r, ret, &err);
		return resize(q, id, 0, r);
	}
	api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
}

void api_containers(const struct api_req *q, struct reply *r)
{
	char ref[256];
	const char *tail;

	if (strcmp(q->path, "/containers/json") == 0)
		return method_is(q, "GET", r) ? list(q, r) : (void)0;
	if (strcmp(q->path, "/containers/create") == 0)
		return method_is(q, "POST", r) ? create(q, r) : (void)0;
	if (strcmp(q->path, "/containers/prune") == 0)
		return api_prune(q, r, prune_containers);
	if (!api_match_prefix(q->path, "/containers/", ref, sizeof(ref), &tail))
		return api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
	if (strchr(tail + (*tail == '/'), '/')) {
		/* "repo/name" is no container reference (a client asking
		 * whether an image name is a container): Docker's 404. */
		char msg[600];
		size_t tl = strlen(q->path), plen = strlen("/containers/");
		const char *end = strrchr(q->path, '/');

		if (tl > plen && end > q->path + plen) {
			snprintf(msg, sizeof(msg), "No such container: %.*s",
				 (int)(end - q->path - (int)plen), q->path + plen);
			return api_reply_msg(r, MHD_HTTP_NOT_FOUND, msg);
		}
	}
	one(q, ref, tail, r);
}

void api_exec(const struct api_req *q, struct reply *r)
{
	ctr_api_exec(q, r);
}

/* For resize of an exec (container_io.c). */
void ctr_api_resize(const struct api_req *q, const char *ctr_id, int pid, struct reply *r);
void ctr_api_resize(const struct api_req *q, const char *ctr_id, int pid, struct reply *r)
{
	resize(q, ctr_id, pid, r);
}
