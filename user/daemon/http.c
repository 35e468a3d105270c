// SPDX-License-Identifier: Apache-2.0
/*
 * http.c - the API server: libmicrohttpd on a unix socket we bind
 * ourselves (mode 0660), Docker Engine API paths with or without the
 * /vX.Y prefix, JSON in and out, errors as {"message": "..."}.
 *
 * One thread per connection; handlers that read or change state take
 * d->lock, so requests are serialised where they must be and a slow
 * client cannot block the others.
 */
#include <ctype.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <strings.h>
#include <unistd.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../common/log.h"
#include "../common/names.h"
#include "../common/util.h"
#include "../image/image.h"
#include "api.h"
#include "container.h"
#include "prune.h"
#include "daemon.h"
#include "obs.h"

#define MAX_BODY (1 << 20)

int daemon_http_status(int neg_errno)
{
	switch (-neg_errno) {
	case EINVAL:
	case ERANGE:
	case ENAMETOOLONG:
		return MHD_HTTP_BAD_REQUEST;
	case ENOENT:
	case ENODEV:
		return MHD_HTTP_NOT_FOUND;
	case EEXIST:
	case EBUSY:
	case ENOSPC:
	case EADDRINUSE:
	case ENOTCONN:
		return MHD_HTTP_CONFLICT;
	case EPERM:
	case EACCES:
		return MHD_HTTP_FORBIDDEN;
	case ENOSYS:
	case EOPNOTSUPP:
		return MHD_HTTP_NOT_IMPLEMENTED;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

void api_reply_err(struct reply *r, int ret, const struct shoal_err *err)
{
	r->status = (unsigned int)daemon_http_status(ret);
	r->json = json_pack("{s:s}", "message", err->msg[0] ? err->msg : strerror(-ret));
}

/* The end of most handlers: an error reply, or status with body out. */
void api_reply_done(struct reply *r, int ret, const struct shoal_err *err, unsigned int status,
		       json_t *out)
{
	if (ret < 0) {
		json_decref(out);
		return api_reply_err(r, ret, err);
	}
	r->status = status;
	r->json = out;
}

void api_reply_msg(struct reply *r, unsigned int status, const char *msg)
{
	r->status = status;
	r->json = json_pack("{s:s}", "message", msg);
}

/* Parse a request body as a JSON object; empty body = {} when allowed. */
json_t *api_parse_body(struct req_ctx *rc, bool empty_ok, struct reply *r)
{
	json_error_t jerr;
	json_t *j;

	if (rc->too_big) {
		api_reply_msg(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large (limit 1 MiB)");
		return NULL;
	}
	if (rc->len == 0) {
		if (empty_ok)
			return json_object();
		api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "request body is empty: a JSON object is required");
		return NULL;
	}
	j = json_loadb(rc->body, rc->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		char msg[300];
		snprintf(msg, sizeof(msg), "malformed JSON in request body at line %d, column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		api_reply_msg(r, MHD_HTTP_BAD_REQUEST, msg);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "request body must be a JSON object");
		return NULL;
	}
	return j;
}

/* Strip "/v1.41" style prefixes. */
static const char *api_path(const char *url)
{
	if (url[0] == '/' && url[1] == 'v' && isdigit((unsigned char)url[2])) {
		const char *p = url + 2;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
		if (*p == '/')
			return p;
	}
	return url;
}

/* "/networks/{id}/connect" -> id in buf, tail in *tail ("" or "/connect"). */
bool api_match_prefix(const char *path, const char *prefix, char *buf, size_t len,
			 const char **tail)
{
	size_t pl = strlen(prefix);
	const char *s, *e;

	if (strncmp(path, prefix, pl) != 0 || path[pl] == '\0')
		return false;
	s = path + pl;
	e = strchr(s, '/');
	if (!e)
		e = s + strlen(s);
	if ((size_t)(e - s) >= len || e == s)
		return false;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	*tail = e;
	return true;
}

const char *api_query(const struct api_req *q, const char *key)
{
	return MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, key);
}

bool api_query_bool(const struct api_req *q, const char *key, bool dflt)
{
	const char *v = api_query(q, key);

	if (!v)
		return dflt;
	return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0;
}

bool api_query_filters(const struct api_req *q, json_t **out, struct reply *r)
{
	const char *fs = api_query(q, "filters");

	*out = NULL;
	if (!fs || !*fs)
		return true;
	*out = json_loads(fs, 0, NULL);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "invalid filters: not a JSON object");
		return false;
	}
	return true;
}

void api_prune(const struct api_req *q, struct reply *r,
	       int (*fn)(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err))
{
	struct shoal_err err = { 0 };
	json_t *filters, *out = NULL;
	int ret;

	if (strcmp(q->method, "POST") != 0)
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (!api_query_filters(q, &filters, r))
		return;
	ret = fn(q->d, filters, &out, &err);
	json_decref(filters);
	api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
}

/* Routes whose request bodies are spooled to a file (no size limit). */
bool api_spool_route(const char *method, const char *path)
{
	size_t n = strlen(path);

	/* docker cp into a container: PUT /containers/{id}/archive */
	if (strcmp(method, "PUT") == 0)
		return strncmp(path, "/containers/", 12) == 0 && n > 20 &&
		       strcmp(path + n - 8, "/archive") == 0;
	if (strcmp(method, "POST") != 0)
		return false;
	return strcmp(path, "/images/load") == 0 || strcmp(path, "/images/create") == 0;
}

static void handle_networks(struct daemon *d, struct MHD_Connection *c, const char *method,
			    const char *path, struct req_ctx *rc, struct reply *r)
{
	struct shoal_err err = { 0 };
	char ref[512];
	const char *tail;
	json_t *body, *out = NULL;
	int ret;

	if (strcmp(path, "/networks") == 0 || strcmp(path, "/networks/") == 0) {
		const char *fs = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "filters");
		json_t *filters = NULL;

		if (strcmp(method, "GET") != 0)
			return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		if (fs && *fs) {
			json_error_t jerr;
			filters = json_loads(fs, 0, &jerr);
			if (!filters)
				return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "invalid filters: malformed JSON");
		}
		pthread_mutex_lock(&d->lock);
		ret = net_list_json(d, filters, &out, &err);
		pthread_mutex_unlock(&d->lock);
		json_decref(filters);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	if (strcmp(path, "/networks/create") == 0) {
		char id[65];

		if (strcmp(method, "POST") != 0)
			return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		body = api_parse_body(rc, false, r);
		if (!body)
			return;
		pthread_mutex_lock(&d->lock);
		ret = net_create(d, body, id, &err);
		pthread_mutex_unlock(&d->lock);
		json_decref(body);
		if (ret < 0)
			return api_reply_err(r, ret, &err);
		r->status = MHD_HTTP_CREATED;
		r->json = json_pack("{s:s, s:s}", "Id", id, "Warning", "");
		return;
	}
	if (strcmp(path, "/networks/prune") == 0) {
		struct api_req q = { .d = d, .c = c, .method = method, .path = path, .rc = rc };

		return api_prune(&q, r, prune_networks);
	}
	if (!api_match_prefix(path, "/networks/", ref, sizeof(ref), &tail))
		return api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");

	if (*tail == '\0') {
		if (strcmp(method, "GET") == 0) {
			pthread_mutex_lock(&d->lock);
			ret = net_inspect_json(d, ref, &out, &err);
			pthread_mutex_unlock(&d->lock);
			return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
		}
		if (strcmp(method, "DELETE") == 0) {
			pthread_mutex_lock(&d->lock);
			ret = net_remove(d, ref, &err);
			pthread_mutex_unlock(&d->lock);
			if (ret < 0)
				return api_reply_err(r, ret, &err);
			r->status = MHD_HTTP_NO_CONTENT;
			return;
		}
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	}
	if (strcmp(tail, "/connect") == 0 || strcmp(tail, "/disconnect") == 0) {
		bool connect = strcmp(tail, "/connect") == 0;
		const char *netns, *container, *ip = NULL;
		json_t *epc, *ipam;

		if (strcmp(method, "POST") != 0)
			return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		body = api_parse_body(rc, false, r);
		if (!body)
			return;
		netns = json_string_value(json_object_get(body, "Netns"));
		container = json_string_value(json_object_get(body, "Container"));
		epc = json_object_get(body, "EndpointConfig");
		ipam = epc ? json_object_get(epc, "IPAMConfig") : NULL;
		if (ipam)
			ip = json_string_value(json_object_get(ipam, "IPv4Address"));
		if ((!netns || !*netns) && container && *container) {
			if (connect)
				ret = ctr_net_connect(d, ref, container, ip, &err);
			else
				ret = ctr_net_disconnect(d, ref, container,
							 json_is_true(json_object_get(body, "Force")),
							 &err);
			json_decref(body);
			return api_reply_done(r, ret, &err, MHD_HTTP_OK, json_object());
		}
		if (!netns || !*netns) {
			json_decref(body);
			return api_reply_msg(r, MHD_HTTP_BAD_REQUEST,
					 "either Netns (a network namespace path) or Container is required");
		}
		pthread_mutex_lock(&d->lock);
		if (connect) {
			/* Swarm mode: a fresh address block settles within seconds. */
			for (int tries = 0;; tries++) {
				ret = ep_connect_netns(d, ref, netns, ip, &out, &err);
				if (ret != -EAGAIN || tries >= 60)
					break;
				pthread_mutex_unlock(&d->lock);
				usleep(200 * 1000);
				pthread_mutex_lock(&d->lock);
				memset(&err, 0, sizeof(err));
			}
		} else {
			ret = ep_disconnect_netns(d, ref, netns, &err);
		}
		pthread_mutex_unlock(&d->lock);
		json_decref(body);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, (out ? out : json_object()));
	}
	if (strcmp(tail, "/peers") == 0 && strcmp(method, "GET") == 0) {
		pthread_mutex_lock(&d->lock);
		ret = peer_list_json(d, ref, &out, &err);
		pthread_mutex_unlock(&d->lock);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	if (strcmp(tail, "/peers") == 0 && strcmp(method, "POST") == 0) {
		body = api_parse_body(rc, false, r);
		if (!body)
			return;
		pthread_mutex_lock(&d->lock);
		ret = peer_add(d, ref, json_string_value(json_object_get(body, "IPv4Address")),
			       json_string_value(json_object_get(body, "MacAddress")),
			       json_string_value(json_object_get(body, "Node")), &out, &err);
		pthread_mutex_unlock(&d->lock);
		json_decref(body);
		return api_reply_done(r, ret, &err, MHD_HTTP_CREATED, out);
	}
	if (strncmp(tail, "/peers/", 7) == 0 && tail[7] && strcmp(method, "DELETE") == 0) {
		pthread_mutex_lock(&d->lock);
		ret = peer_remove(d, ref, tail + 7, &err);
		pthread_mutex_unlock(&d->lock);
		if (ret < 0)
			return api_reply_err(r, ret, &err);
		r->status = MHD_HTTP_NO_CONTENT;
		return;
	}
	api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
}

/* /build: shoal builds no images and so holds no build cache; the docker
 * CLI's `system prune` asks to prune it all the same. */
static void api_build(const struct api_req *q, struct reply *r)
{
	if (strcmp(q->path, "/build/prune") != 0)
		return api_reply_msg(r, MHD_HTTP_NOT_IMPLEMENTED,
				     "shoal does not build images (no /build endpoint)");
	if (strcmp(q->method, "POST") != 0)
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	r->status = MHD_HTTP_OK;
	r->json = json_pack("{s:[], s:i}", "CachesDeleted", "SpaceReclaimed", 0);
}

/*
 * Resource handlers in their own files (api_*.c), by path prefix: a
 * handler gets every request whose path is the prefix or starts with
 * prefix + "/". Add a line per resource.
 */
static const struct {
	const char *prefix;
	void (*handle)(const struct api_req *q, struct reply *r);
} resource_handlers[] = {
	{ "/images", api_images },
	{ "/swarm", api_swarm },
	{ "/nodes", api_nodes },
	{ "/containers", api_containers },
	{ "/exec", api_exec },
	{ "/volumes", api_volumes },
	{ "/build", api_build },
	{ "/metrics", api_metrics },       /* obs.h: Prometheus */
	{ "/shoal/monitor", api_monitor }, /* obs.h: event stream */
	{ "/shoal/flows", api_flows },     /* obs.h: flow table */
	{ NULL, NULL },
};

static void route(struct daemon *d, struct MHD_Connection *c, const char *method, const char *url,
		  struct req_ctx *rc, struct reply *r)
{
	const char *path = api_path(url);
	struct shoal_err err = { 0 };
	json_t *out = NULL;
	int ret;

	for (size_t i = 0; resource_handlers[i].prefix; i++) {
		size_t pl = strlen(resource_handlers[i].prefix);
		if (strncmp(path, resource_handlers[i].prefix, pl) == 0 &&
		    (path[pl] == '\0' || path[pl] == '/' || path[pl] == '?')) {
			struct api_req q = { .d = d, .c = c, .method = method, .path = path, .rc = rc };
			return resource_handlers[i].handle(&q, r);
		}
	}

	if (strcmp(path, "/_ping") == 0) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
		r->status = MHD_HTTP_OK;
		r->text = "OK";
		return;
	}
	if (strcmp(path, "/version") == 0) {
		r->status = MHD_HTTP_OK;
		r->json = api_version_json();
		return;
	}
	if (strcmp(path, "/info") == 0) {
		size_t n_images = 0;

		/* The image store takes d->lock itself: count before taking it. */
		if (d->images)
			image_count(d->images, &n_images, NULL);
		pthread_mutex_lock(&d->lock);
		r->json = api_info_json(d, n_images);
		pthread_mutex_unlock(&d->lock);
		r->status = MHD_HTTP_OK;
		return;
	}
	if (strncmp(path, "/networks", 9) == 0 && (path[9] == '\0' || path[9] == '/'))
		return handle_networks(d, c, method, path, rc, r);
	if (strcmp(path, "/endpoints/stats") == 0) {
		pthread_mutex_lock(&d->lock);
		ret = ep_stats_json(d, &out, &err);
		pthread_mutex_unlock(&d->lock);
		return api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
	}
	api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
}

static void add_std_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Api-Version", SHOAL_API_VERSION);
	MHD_add_response_header(resp, "Server", "shoal/" SHOAL_VERSION " (linux)");
	MHD_add_response_header(resp, "Ostype", "linux");
	MHD_add_response_header(resp, "Docker-Experimental", "false");
}

/* Streamed bodies: read the producer's pipe in the connection's thread. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	int fd = (int)(intptr_t)cls;
	ssize_t n;

	(void)pos;
	do
		n = read(fd, buf, max);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static void stream_free(void *cls)
{
	close((int)(intptr_t)cls);
}

/* ---- hijacked connections ---- */

struct upg {
	void (*fn)(void *arg, int fd, const char *extra, size_t n);
	void (*free_fn)(void *arg);
	void *arg;
	int fd;
	char *extra;
	size_t n_extra;
	struct MHD_UpgradeResponseHandle *urh;
};

/* Hijacked connections in progress (attach, exec): see http_stop(). */
static int upg_active;

static void *upg_thread(void *p)
{
	struct upg *u = p;

	__atomic_add_fetch(&upg_active, 1, __ATOMIC_SEQ_CST);
	u->fn(u->arg, u->fd, u->extra, u->n_extra);
	__atomic_sub_fetch(&upg_active, 1, __ATOMIC_SEQ_CST);
	/*
	 * The client sees the end now: MHD releases an upgraded socket only
	 * when the connection's thread next wakes up (tens of ms later), and
	 * `shoal run` waits for the end of its attach stream before exiting.
	 */
	shutdown(u->fd, SHUT_RDWR);
	if (u->urh)
		MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
	else
		close(u->fd);
	if (u->free_fn)
		u->free_fn(u->arg);
	free(u->extra);
	free(u);
	return NULL;
}

static int upg_spawn(struct upg *u)
{
	pthread_attr_t a;
	pthread_t t;
	int ret;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &a, upg_thread, u);
	pthread_attr_destroy(&a);
	return ret;
}

static void on_upgrade(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
		       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct upg *u = cls;

	(void)c;
	(void)req_cls;
	u->fd = sock;
	u->urh = urh;
	if (extra_in_size) {
		u->extra = malloc(extra_in_size);
		if (u->extra) {
			memcpy(u->extra, extra_in, extra_in_size);
			u->n_extra = extra_in_size;
		}
	}
	if (upg_spawn(u) != 0) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		if (u->free_fn)
			u->free_fn(u->arg);
		free(u->extra);
		free(u);
	}
}

static bool wants_upgrade(struct MHD_Connection *c)
{
	const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
	const char *conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");

	return up && strcasecmp(up, "tcp") == 0 && conn && strcasestr(conn, "upgrade");
}

/* The response for a hijack: 101 with the socket, or 200 streaming a
 * socketpair's other end. NULL on failure (r is then left alone). */
static struct MHD_Response *upgrade_response(struct MHD_Connection *c, struct reply *r,
					     unsigned int *status)
{
	const char *ct = r->content_type ? r->content_type : "application/vnd.docker.raw-stream";
	struct MHD_Response *resp;
	struct upg *u = calloc(1, sizeof(*u));
	int sv[2];

	if (!u)
		return NULL;
	u->fn = r->upgrade;
	u->free_fn = r->upgrade_free;
	u->arg = r->upgrade_arg;
	if (wants_upgrade(c)) {
		resp = MHD_create_response_for_upgrade(on_upgrade, u);
		if (!resp) {
			free(u);
			return NULL;
		}
		MHD_add_response_header(resp, "Upgrade", "tcp");
		MHD_add_response_header(resp, "Content-Type", ct);
		*status = MHD_HTTP_SWITCHING_PROTOCOLS;
		return resp;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(u);
		return NULL;
	}
	shutdown(sv[1], SHUT_WR); /* no stdin without a hijack */
	u->fd = sv[0];
	if (upg_spawn(u) != 0) {
		close(sv[0]);
		close(sv[1]);
		free(u);
		return NULL;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read,
						 (void *)(intptr_t)sv[1], stream_free);
	if (resp)
		MHD_add_response_header(resp, "Content-Type", ct);
	*status = MHD_HTTP_OK;
	return resp;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct daemon *d = cls;
	struct req_ctx *rc = *con_cls;
	struct reply r = { 0 };
	struct MHD_Response *resp;
	enum MHD_Result ok;
	char *text = NULL;

	(void)version;
	if (!rc) {
		rc = calloc(1, sizeof(*rc));
		if (!rc)
			return MHD_NO;
		rc->spool_fd = -1;
		if (api_spool_route(method, api_path(url))) {
			rc->spool_fd = open(d->cfg.exec_root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
			if (rc->spool_fd < 0)
				rc->spool_failed = true;
		}
		*con_cls = rc;
		return MHD_YES;
	}
	if (*upload_size && (rc->spool_fd >= 0 || rc->spool_failed)) {
		size_t off = 0;

		while (!rc->spool_failed && off < *upload_size) {
			ssize_t w = write(rc->spool_fd, upload + off, *upload_size - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc->spool_failed = true;
				break;
			}
			off += (size_t)w;
		}
		rc->spool_len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rc->spool_fd >= 0)
		lseek(rc->spool_fd, 0, SEEK_SET);
	if (*upload_size) {
		if (!rc->too_big && rc->len + *upload_size <= MAX_BODY) {
			char *nb = realloc(rc->body, rc->len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			rc->body = nb;
			memcpy(rc->body + rc->len, upload, *upload_size);
			rc->len += *upload_size;
			rc->body[rc->len] = '\0';
		} else {
			rc->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}

	if (rc->spool_failed) {
		api_reply_msg(&r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			      "cannot store the request body in the exec-root");
	} else {
		route(d, c, method, url, rc, &r);
	}
	if (r.upgrade) {
		unsigned int st = MHD_HTTP_OK;

		resp = upgrade_response(c, &r, &st);
		if (!resp) {
			if (r.upgrade_free)
				r.upgrade_free(r.upgrade_arg);
			return MHD_NO;
		}
		r.status = st;
	} else if (r.fd > 0) {
		resp = MHD_create_response_from_fd64(r.fd_size, r.fd);
		if (resp)
			MHD_add_response_header(resp, "Content-Type",
						r.content_type ? r.content_type : "application/octet-stream");
	} else if (r.stream_fd > 0) {
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read,
							 (void *)(intptr_t)r.stream_fd, stream_free);
		if (resp)
			MHD_add_response_header(resp, "Content-Type",
						r.content_type ? r.content_type : "application/json");
	} else if (r.json) {
		text = json_dumps(r.json, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(r.json);
		if (!text)
			return MHD_NO;
		size_t tl = strlen(text);
		text = realloc(text, tl + 2);
		text[tl] = '\n';
		text[tl + 1] = '\0';
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, "Content-Type", "application/json");
	} else if (r.text) {
		resp = MHD_create_response_from_buffer(strlen(r.text), (void *)r.text,
						       MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (resp && r.extra_header && r.extra_value)
		MHD_add_response_header(resp, r.extra_header, r.extra_value);
	free(r.extra_value);
	if (!resp)
		return MHD_NO;
	add_std_headers(resp);
	if (r.status >= 400)
		log_debug("%s %s -> %u", method, url, r.status);
	ok = MHD_queue_response(c, r.status ? r.status : MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *rc = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rc) {
		if (rc->spool_fd >= 0)
			close(rc->spool_fd);
		free(rc->body);
		free(rc);
		*con_cls = NULL;
	}
}

static int listen_unix(const char *path, struct shoal_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "socket path %s is too long (max %zu)", path,
			       sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	/* A live socket means another daemon serves it: never steal it. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return err_set(err, EADDRINUSE, "socket %s is in use by another daemon", path);
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, e, "bind %s: %s", path, strerror(e));
	}
	chmod(path, 0660);
	if (listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, e, "listen %s: %s", path, strerror(e));
	}
	return fd;
}

int http_start(struct daemon *d, struct MHD_Daemon **mhd, struct shoal_err *err)
{
	char dir[4096];
	char *slash;
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s", d->sock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ret = util_mkdir_p(dir, 0711);
		if (ret < 0)
			return err_set(err, -ret, "create %s: %s", dir, strerror(-ret));
	}
	fd = listen_unix(d->sock_path, err);
	if (fd < 0)
		return fd;
	*mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE,
				0, NULL, NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600, MHD_OPTION_END);
	if (!*mhd) {
		close(fd);
		unlink(d->sock_path);
		return err_set(err, EIO, "cannot start the API server on %s", d->sock_path);
	}
	return 0;
}

void http_stop(struct MHD_Daemon *mhd)
{
	if (!mhd)
		return;
	/* An attach or exec session lasts as long as its container: stopping
	 * the server would wait for it. Stop accepting and let the process
	 * end take those connections (the containers keep running). */
	if (__atomic_load_n(&upg_active, __ATOMIC_SEQ_CST) > 0) {
		MHD_socket fd = MHD_quiesce_daemon(mhd);

		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		log_info("leaving %d attach/exec session(s) to end with the process",
			 __atomic_load_n(&upg_active, __ATOMIC_SEQ_CST));
		return;
	}
	MHD_stop_daemon(mhd);
}
