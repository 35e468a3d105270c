// SPDX-License-Identifier: Apache-2.0
/*
 * api_images.c - /images: Docker Engine API v1.41 load, create (pull and
 * import), json (list), {name}/json (inspect), DELETE {name}, {name}/tag,
 * {name}/get and get?names= (save).
 *
 * Long operations (load, pull, import, save) run in a worker thread that
 * writes the reply into a pipe: progress as Docker's JSON message lines,
 * or the tar of a save; the connection's thread streams the pipe to the
 * client. The image store takes the daemon's lock around state access
 * only, so none of this holds d->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../image/image.h"
#include "api.h"
#include "container.h"
#include "daemon.h"
#include "prune.h"

enum job_kind { JOB_LOAD, JOB_PULL, JOB_IMPORT, JOB_SAVE };

struct job {
	enum job_kind kind;
	struct daemon *d;
	int out;      /* pipe write end */
	int in;       /* spooled request body (load, import), or -1 */
	bool quiet;
	char *ref;    /* pull: reference; import: repo[:tag] or NULL */
	char *message;
	char **names; /* save */
	size_t n_names;
	struct image_pull_opts pull;
	char *user, *pass;
};

static void job_free(struct job *j)
{
	if (j->in >= 0)
		close(j->in);
	if (j->out >= 0)
		close(j->out);
	for (size_t i = 0; i < j->n_names; i++)
		free(j->names[i]);
	free(j->names);
	free(j->ref);
	free(j->message);
	free(j->user);
	free(j->pass);
	free(j);
}

/* One JSON message line to the client; a client that went away is not an
 * error for the job (it finishes, so nothing is left half-done). */
static void job_send(struct job *j, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(msg);
	if (!s)
		return;
	len = strlen(s);
	s[len++] = '\n'; /* replaces the NUL: the buffer has room for it */
	while (off < len) {
		ssize_t w = write(j->out, s + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(s);
}

static void job_error(struct job *j, const char *msg)
{
	job_send(j, json_pack("{s:{s:s}, s:s}", "errorDetail", "message", msg, "error", msg));
}

static void job_progress(void *arg, const char *id, const char *status, uint64_t cur, uint64_t total)
{
	struct job *j = arg;
	json_t *m;

	if (j->quiet)
		return;
	m = json_pack("{s:s}", "status", status);
	if (id)
		json_object_set_new(m, "id", json_string(id));
	/* Docker's shape: per-layer messages carry progressDetail (empty when
	 * there are no bytes to show); image-wide ones and "Pulling from" do
	 * not, so a terminal client ends those lines instead of redrawing. */
	if (!id || strncmp(status, "Pulling from", 12) == 0)
		;
	else if (total || cur)
		json_object_set_new(m, "progressDetail",
				    json_pack("{s:I, s:I}", "current", (json_int_t)cur, "total",
					      (json_int_t)total));
	else
		json_object_set_new(m, "progressDetail", json_object());
	job_send(j, m);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct image_progress prog = { .fn = job_progress, .arg = j };
	struct shoal_err err = { 0 };
	char id[IMAGE_ID_LEN] = "";
	json_t *loaded = NULL;
	int ret = 0;

	switch (j->kind) {
	case JOB_LOAD:
		ret = image_load(j->d->images, j->in, &prog, &loaded, &err);
		if (ret == 0) {
			size_t i;
			json_t *v;
			json_array_foreach(loaded, i, v) {
				char line[512];
				const char *s = json_string_value(v);
				snprintf(line, sizeof(line), "%s: %s\n",
					 strncmp(s, "sha256:", 7) == 0 ? "Loaded image ID" : "Loaded image", s);
				job_send(j, json_pack("{s:s}", "stream", line));
			}
			json_decref(loaded);
		}
		break;
	case JOB_PULL:
		/* The store reports every step, the final Digest/Status included. */
		ret = image_pull(j->d->images, j->ref, &j->pull, &prog, id, &err);
		break;
	case JOB_IMPORT:
		ret = image_import(j->d->images, j->in, j->ref, j->message, id, &err);
		if (ret == 0)
			job_send(j, json_pack("{s:s}", "status", id));
		break;
	case JOB_SAVE:
		ret = image_save(j->d->images, (const char *const *)j->names, j->n_names, j->out, &err);
		/* A tar stream has no place for an error message: log it; the
		 * client sees a truncated stream and fails. */
		if (ret < 0)
			log_error("save: %s", err.msg);
		break;
	}
	if (ret < 0 && j->kind != JOB_SAVE) {
		log_info("%s failed: %s", j->kind == JOB_LOAD ? "load" : j->kind == JOB_PULL ? "pull" : "import",
			 err.msg);
		job_error(j, err.msg[0] ? err.msg : strerror(-ret));
	}
	job_free(j);
	return NULL;
}

/* Start j in a detached thread; the reply streams its pipe. */
static void job_start(struct job *j, struct reply *r, const char *content_type)
{
	pthread_attr_t attr;
	pthread_t t;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		job_free(j);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot create a pipe");
	}
	j->out = p[1];
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, job_run, j) != 0) {
		close(p[0]);
		job_free(j);
		pthread_attr_destroy(&attr);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot start a worker thread");
	}
	pthread_attr_destroy(&attr);
	r->status = MHD_HTTP_OK;
	r->stream_fd = p[0];
	r->content_type = content_type;
}

static struct job *job_new(const struct api_req *q, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->d = q->d;
	j->in = -1;
	j->out = -1;
	j->quiet = api_query_bool(q, "quiet", false);
	return j;
}

/* A spooled upload, as a fd the job owns. */
static int job_take_body(const struct api_req *q, struct job *j, struct reply *r)
{
	if (q->rc->spool_fd < 0 || q->rc->spool_len == 0) {
		api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "request body is empty: an archive is required");
		return -1;
	}
	j->in = dup(q->rc->spool_fd);
	if (j->in < 0) {
		api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the request body");
		return -1;
	}
	return 0;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* X-Registry-Auth: base64url(JSON {"username","password"}). */
static void parse_registry_auth(const struct api_req *q, struct job *j)
{
	const char *h = MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, "X-Registry-Auth");
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char *out;
	size_t n = 0, len;
	unsigned int acc = 0;
	int bits = 0;
	json_t *a;

	if (!h || !*h)
		return;
	len = strlen(h);
	out = calloc(1, len + 1);
	if (!out)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = h[i] == '-' ? '+' : h[i] == '_' ? '/' : h[i];
		const char *p = c ? strchr(tbl, c) : NULL;
		if (!p)
			continue; /* padding, whitespace */
		acc = (acc << 6) | (unsigned int)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	a = json_loadb((const char *)out, n, 0, NULL);
	free(out);
	if (!a)
		return;
	j->user = xstrdup(json_string_value(json_object_get(a, "username")));
	j->pass = xstrdup(json_string_value(json_object_get(a, "password")));
	json_decref(a);
	j->pull.username = j->user;
	j->pull.password = j->pass;
}

static void images_create(const struct api_req *q, struct reply *r)
{
	const char *from_image = api_query(q, "fromImage");
	const char *from_src = api_query(q, "fromSrc");
	const char *repo = api_query(q, "repo"), *tag = api_query(q, "tag");
	char ref[1024];
	struct job *j;

	if (from_image && *from_image) {
		/* fromImage=name[:tag] or name@digest, and tag=TAG, or
		 * tag=sha256:... for a digest (what Docker's own CLI sends). */
		if (tag && *tag && !strchr(from_image, '@'))
			snprintf(ref, sizeof(ref), "%s%s%s", from_image,
				 strncmp(tag, "sha256:", 7) == 0 ? "@" : ":", tag);
		else
			snprintf(ref, sizeof(ref), "%s", from_image);
		j = job_new(q, JOB_PULL);
		if (!j)
			return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		j->ref = strdup(ref);
		parse_registry_auth(q, j);
		return job_start(j, r, "application/json");
	}
	if (from_src && strcmp(from_src, "-") == 0) {
		j = job_new(q, JOB_IMPORT);
		if (!j)
			return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		if (job_take_body(q, j, r) < 0) {
			job_free(j);
			return;
		}
		if (repo && *repo) {
			snprintf(ref, sizeof(ref), "%s%s%s", repo, tag && *tag ? ":" : "", tag ? tag : "");
			j->ref = strdup(ref);
		}
		j->message = xstrdup(api_query(q, "message"));
		return job_start(j, r, "application/json");
	}
	if (from_src && *from_src)
		return api_reply_msg(r, MHD_HTTP_BAD_REQUEST,
				     "import from a URL is not supported: send the archive (fromSrc=-)");
	api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "fromImage or fromSrc is required");
}

/* ?names=a&names=b: MHD keeps repeated keys; collect every "names". */
static enum MHD_Result collect_names(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct job *j = cls;

	(void)kind;
	if (key && value && strcmp(key, "names") == 0 && *value)
		j->names[j->n_names++] = strdup(value);
	return MHD_YES;
}

static void images_save(const struct api_req *q, struct reply *r, const char *single)
{
	struct job *j = job_new(q, JOB_SAVE);
	int count;

	if (!j)
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	count = single ? 1 : MHD_get_connection_values(q->c, MHD_GET_ARGUMENT_KIND, NULL, NULL);
	j->names = calloc((size_t)count + 1, sizeof(char *));
	if (j->names) {
		if (single)
			j->names[j->n_names++] = strdup(single);
		else
			MHD_get_connection_values(q->c, MHD_GET_ARGUMENT_KIND, collect_names, j);
	}
	if (!j->names || !j->n_names) {
		job_free(j);
		return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "no image names given (names=...)");
	}
	/* Once the tar streams, the status is sent: check every name first. */
	for (size_t i = 0; i < j->n_names; i++) {
		struct shoal_err err = { 0 };
		char id[IMAGE_ID_LEN], top[65];
		json_t *cfg = NULL;
		int ret = image_resolve(q->d->images, j->names[i], id, &cfg, top, &err);

		json_decref(cfg);
		if (ret < 0) {
			job_free(j);
			return api_reply_err(r, ret, &err);
		}
	}
	job_start(j, r, "application/x-tar");
}

void api_images(const struct api_req *q, struct reply *r)
{
	struct daemon *d = q->d;
	struct shoal_err err = { 0 };
	const char *p = q->path + strlen("/images");
	json_t *out = NULL;
	char name[1024];
	size_t len;
	int ret;

	if (!d->images)
		return api_reply_msg(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the image store is not available");
	if (strcmp(p, "/load") == 0 && strcmp(q->method, "POST") == 0) {
		struct job *j = job_new(q, JOB_LOAD);
		if (!j)
			return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		if (job_take_body(q, j, r) < 0) {
			job_free(j);
			return;
		}
		return job_start(j, r, "application/json");
	}
	if (strcmp(p, "/create") == 0 && strcmp(q->method, "POST") == 0)
		return images_create(q, r);
	if (strcmp(p, "/prune") == 0)
		return api_prune(q, r, prune_images);
	if ((strcmp(p, "/json") == 0 || *p == '\0') && strcmp(q->method, "GET") == 0) {
		const char *fs = api_query(q, "filters");
		json_t *filters = NULL;

		if (fs && *fs) {
			filters = json_loads(fs, 0, NULL);
			if (!filters)
				return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "invalid filters: malformed JSON");
		}
		ret = image_list_json(d->images, api_query_bool(q, "all", false), filters, &out, &err);
		json_decref(filters);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	if (strcmp(p, "/get") == 0 && strcmp(q->method, "GET") == 0)
		return images_save(q, r, NULL);
	if (*p != '/' || !p[1])
		return api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");

	/* /images/{name}[/json|/tag|/get]: names contain '/' (registry/repo). */
	p++;
	len = strlen(p);
#define ENDS(s) (len > strlen(s) && strcmp(p + len - strlen(s), s) == 0)
	if (ENDS("/json") && strcmp(q->method, "GET") == 0) {
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), p);
		ret = image_inspect_json(d->images, name, &out, &err);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	if (ENDS("/tag") && strcmp(q->method, "POST") == 0) {
		const char *repo = api_query(q, "repo"), *tag = api_query(q, "tag");

		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), p);
		if (!repo || !*repo)
			return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "repo is required");
		ret = image_tag(d->images, name, repo, tag && *tag ? tag : "latest", &err);
		return api_reply_done(r, ret, &err, MHD_HTTP_CREATED, NULL);
	}
	if (ENDS("/get") && strcmp(q->method, "GET") == 0) {
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), p);
		return images_save(q, r, name);
	}
#undef ENDS
	if (strcmp(q->method, "DELETE") == 0) {
		snprintf(name, sizeof(name), "%s", p);
		ret = image_remove(d->images, name, api_query_bool(q, "force", false),
				   ctr_image_in_use, d, &out, &err);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
}
