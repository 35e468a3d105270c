/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - what an API handler file (api_*.c) needs from the HTTP server:
 * the request, the reply it fills, and helpers for Docker-style replies.
 *
 * A handler fills exactly one body kind in struct reply: json (owned),
 * text (static), a file (fd + size, closed by the server), or a stream
 * (a pipe's read end: the server sends what arrives until EOF, chunked;
 * a producer thread writes to the other end and closes it).
 *
 * Uploads: a route that takes large bodies (image archives) is listed in
 * api_spool_route(); its body goes to an unlinked temp file in the
 * exec-root instead of memory, and the handler reads rc->spool_fd.
 */
#ifndef SHOAL_API_H
#define SHOAL_API_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"

struct daemon;

struct req_ctx {
	char *body; /* small bodies, NUL-terminated */
	size_t len;
	bool too_big;
	int spool_fd;      /* >= 0 for spooled uploads, rewound before the handler */
	uint64_t spool_len;
	bool spool_failed;
};

struct reply {
	unsigned int status;
	json_t *json;       /* owned */
	const char *text;   /* static text */
	int fd;             /* body from a file: fd > 0, size fd_size */
	uint64_t fd_size;
	int stream_fd;      /* body from a pipe until EOF: stream_fd > 0 */
	const char *content_type; /* for fd / stream bodies */
	/* One more response header (value malloc'd, freed by the server). */
	const char *extra_header;
	char *extra_value;
	/*
	 * A hijacked connection (attach, exec start): the server calls
	 * upgrade(arg, fd, extra, n) in a thread of its own with the
	 * client's socket (extra: bytes the client sent after the request)
	 * and closes the connection when it returns, then calls
	 * upgrade_free(arg). A client that asked for "Upgrade: tcp" gets
	 * 101 UPGRADED; any other gets 200 and what fd receives is streamed
	 * to it (fd is then one end of a socketpair: output only).
	 */
	void (*upgrade)(void *arg, int fd, const char *extra, size_t n);
	void (*upgrade_free)(void *arg);
	void *upgrade_arg;
};

struct api_req {
	struct daemon *d;
	struct MHD_Connection *c;
	const char *method;
	const char *path; /* without the /vX.Y prefix */
	struct req_ctx *rc;
};

void api_reply_err(struct reply *r, int ret, const struct shoal_err *err);
void api_reply_done(struct reply *r, int ret, const struct shoal_err *err, unsigned int status,
		    json_t *out);
void api_reply_msg(struct reply *r, unsigned int status, const char *msg);
/* The body as a JSON object ({} for an empty body when empty_ok); NULL
 * after filling r with a 400 naming the problem. */
json_t *api_parse_body(struct req_ctx *rc, bool empty_ok, struct reply *r);
/* "/images/{name}/json" with prefix "/images/" -> name in buf, tail "/json". */
bool api_match_prefix(const char *path, const char *prefix, char *buf, size_t len,
		      const char **tail);
/* A query parameter, or NULL. */
const char *api_query(const struct api_req *q, const char *key);
/* Docker's boolean query values: 1/true/True; absent = dflt. */
bool api_query_bool(const struct api_req *q, const char *key, bool dflt);
/* ?filters= as a JSON object in *out (NULL when absent); false after
 * filling r with a 400 for anything else. */
bool api_query_filters(const struct api_req *q, json_t **out, struct reply *r);
/* POST /{containers,networks,images}/prune: ?filters= into fn, its
 * answer as the 200 body. */
void api_prune(const struct api_req *q, struct reply *r,
	       int (*fn)(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err));

/* Resource handlers (http.c's route table). */
void api_images(const struct api_req *q, struct reply *r);
void api_swarm(const struct api_req *q, struct reply *r);
void api_nodes(const struct api_req *q, struct reply *r);
void api_containers(const struct api_req *q, struct reply *r);
void api_exec(const struct api_req *q, struct reply *r);
void api_volumes(const struct api_req *q, struct reply *r);

/* Routes whose bodies are spooled (http.c). */
bool api_spool_route(const char *method, const char *path);

#endif
