/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client.h - HTTP/JSON client for shoald's API over its unix socket
 * (libcurl with CURLOPT_UNIX_SOCKET_PATH, jansson). Paths are the Docker
 * Engine API's, sent with the /v1.41 prefix.
 */
#ifndef SHOAL_CLI_CLIENT_H
#define SHOAL_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"

#define CLIENT_MAX_BODY (64u << 20) /* refuse larger responses */

struct client {
	char host[272];  /* unix:///run/shoal/shoal.sock, for messages */
	char sock[108];  /* sun_path */
	void *curl;      /* CURL *, reused so the connection is kept */
};

struct client_resp {
	long status;   /* HTTP status */
	char *body;    /* NUL-terminated, may be empty */
	size_t len;
	json_t *json;  /* body parsed as JSON, or NULL */
	char *path_stat; /* X-Docker-Container-Path-Stat header (base64), or NULL */
};

/*
 * Resolve the daemon address (-H value, else $SHOAL_HOST, else the
 * default; host may be NULL) and prepare a handle. Only unix:// (or a bare
 * absolute socket path) is supported.
 */
int client_open(struct client *c, const char *host, struct shoal_err *err);
void client_close(struct client *c);

/*
 * One request. `path` starts with '/' and carries any query string already
 * escaped; `body` (may be NULL) is sent as JSON. Returns 0 when an HTTP
 * exchange happened (whatever its status), else -errno with err->msg the
 * complete user-facing message ("Cannot connect to the shoal daemon...").
 */
int client_do(struct client *c, const char *method, const char *path,
	      json_t *body, struct client_resp *resp, struct shoal_err *err);
void client_resp_free(struct client_resp *r);

/* The daemon's error text: {"message": "..."}, else the body, else status. */
const char *client_resp_message(const struct client_resp *r, char *buf,
				size_t len);

/* Percent-encode one path segment or query value; free() the result. */
char *client_escape(struct client *c, const char *s);
/* base ("/volumes") with Docker's "?filters=<escaped JSON>" when filters
 * holds any: malloc'd; NULL when out of memory. */
char *client_filters_path(struct client *c, const char *base, json_t *filters);

/* Print "Error response from daemon: <message>" to stderr. */
void client_print_daemon_error(const struct client_resp *r);

/* client_call() results and flags. */
#define CLIENT_OK 0
#define CLIENT_EDAEMON 1  /* the daemon answered with an error (printed) */
#define CLIENT_ECONNECT 2 /* no exchange happened (printed) */
#define CLIENT_QUIET_404 0x1 /* do not print a 404, the caller words it */

/*
 * Request + error reporting in one: on a 2xx answer return CLIENT_OK with
 * *out the parsed body (NULL if empty or not JSON; caller decrefs; out may
 * be NULL). Otherwise print the error to stderr and return CLIENT_EDAEMON or
 * CLIENT_ECONNECT. *status (may be NULL) gets the HTTP status, 0 if none.
 */
int client_call(struct client *c, const char *method, const char *path,
		json_t *body, unsigned int flags, json_t **out, long *status);

/*
 * The curl setup every exchange on c's handle shares (client_do() and
 * client_stream()): reset, unix socket, URL, method, the body sink, the
 * error buffer (CURL_ERROR_SIZE), no signals, a 10 s connect timeout and
 * the user agent. Timeouts, headers and upload are the caller's.
 */
void client_curl_prepare(struct client *c, const char *url, const char *method,
			 size_t (*write_fn)(char *, size_t, size_t, void *),
			 void *write_data, char *errbuf);
/* client_open() that prints its error; returns 0 or 1 (an exit code). */
int client_open_or_report(struct client *c, const char *host);

#endif
