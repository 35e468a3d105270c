// SPDX-License-Identifier: Apache-2.0
/*
 * api_volumes.c - /volumes: Docker Engine API v1.41 list (GET /volumes),
 * create (POST /volumes/create), inspect (GET /volumes/{name}), remove
 * (DELETE /volumes/{name}?force=), prune (POST /volumes/prune?filters=).
 * The bodies are Docker's, so the unmodified docker CLI works.
 */
#include <string.h>

#include "api.h"
#include "daemon.h"
#include "volumes.h"

static void list_or_prune(const struct api_req *q, struct reply *r, bool prune)
{
	struct shoal_err err = { 0 };
	json_t *filters, *out = NULL;
	int ret;

	if (!api_query_filters(q, &filters, r))
		return;
	pthread_mutex_lock(&q->d->lock);
	ret = prune ? volume_prune_json(q->d, filters, &out, &err) :
		      volume_list_json(q->d, filters, &out, &err);
	pthread_mutex_unlock(&q->d->lock);
	json_decref(filters);
	api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
}

static void create(const struct api_req *q, struct reply *r)
{
	struct shoal_err err = { 0 };
	json_t *body, *out = NULL;
	int ret;

	body = api_parse_body(q->rc, true, r);
	if (!body)
		return;
	pthread_mutex_lock(&q->d->lock);
	ret = volume_create_json(q->d, body, &out, &err);
	pthread_mutex_unlock(&q->d->lock);
	json_decref(body);
	api_reply_done(r, ret, &err, MHD_HTTP_CREATED, out);
}

static void one(const struct api_req *q, const char *name, struct reply *r)
{
	struct shoal_err err = { 0 };
	json_t *out = NULL;
	int ret;

	if (!strcmp(q->method, "GET")) {
		pthread_mutex_lock(&q->d->lock);
		ret = volume_inspect_json(q->d, name, &out, &err);
		pthread_mutex_unlock(&q->d->lock);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	if (!strcmp(q->method, "DELETE")) {
		pthread_mutex_lock(&q->d->lock);
		ret = volume_remove(q->d, name, api_query_bool(q, "force", false), &err);
		pthread_mutex_unlock(&q->d->lock);
		if (ret < 0)
			return api_reply_err(r, ret, &err);
		r->status = MHD_HTTP_NO_CONTENT;
		return;
	}
	api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
}

void api_volumes(const struct api_req *q, struct reply *r)
{
	const char *p = q->path, *tail;
	char name[512];

	if (!strcmp(p, "/volumes") || !strcmp(p, "/volumes/")) {
		if (strcmp(q->method, "GET"))
			return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		return list_or_prune(q, r, false);
	}
	if (!strcmp(p, "/volumes/create")) {
		if (strcmp(q->method, "POST"))
			return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		return create(q, r);
	}
	if (!strcmp(p, "/volumes/prune")) {
		if (strcmp(q->method, "POST"))
			return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		return list_or_prune(q, r, true);
	}
	if (!api_match_prefix(p, "/volumes/", name, sizeof(name), &tail) || *tail)
		return api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
	one(q, name, r);
}
