// SPDX-License-Identifier: Apache-2.0
/*
 * client.c - libcurl over shoald's unix socket. The URL's host part is
 * ignored by the daemon ("http://localhost"), the socket path is what
 * selects it, as with the Docker CLI.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/names.h"
#include "cli.h"
#include "client.h"

#define CLIENT_URL_BASE "http://localhost/v" SHOAL_API_VERSION

static int parse_host(struct client *c, const char *host, struct shoal_err *err)
{
	const char *path;

	if (!host || !*host)
		host = getenv("SHOAL_HOST");
	if (!host || !*host)
		host = CLI_DEFAULT_HOST;
	if (strlen(host) >= sizeof(c->host) - 16)
		return err_set(err, ENAMETOOLONG, "daemon address too long: %.64s...",
			       host);
	if (!strncmp(host, "unix://", 7)) {
		path = host + 7;
		snprintf(c->host, sizeof(c->host), "%s", host);
	} else if (host[0] == '/') {
		path = host;
		snprintf(c->host, sizeof(c->host), "unix://%s", host);
	} else if (strstr(host, "://")) {
		return err_set(err, EPROTONOSUPPORT,
			       "unsupported daemon address \"%s\": only unix:// is supported",
			       host);
	} else {
		return err_set(err, EINVAL,
			       "invalid daemon address \"%s\": expected unix:///path/to/socket",
			       host);
	}
	if (!*path)
		return err_set(err, EINVAL, "invalid daemon address \"%s\": empty socket path",
			       host);
	if (strlen(path) >= sizeof(c->sock))
		return err_set(err, ENAMETOOLONG,
			       "socket path too long (max %zu bytes): %s",
			       sizeof(c->sock) - 1, path);
	snprintf(c->sock, sizeof(c->sock), "%s", path);
	return 0;
}

int client_open(struct client *c, const char *host, struct shoal_err *err)
{
	static int global_done;
	int r;

	memset(c, 0, sizeof(*c));
	r = parse_host(c, host, err);
	if (r < 0)
		return r;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return err_set(err, ENOMEM, "cannot initialise libcurl");
		global_done = 1;
	}
	c->curl = curl_easy_init();
	if (!c->curl)
		return err_set(err, ENOMEM, "cannot initialise libcurl");
	return 0;
}

void client_close(struct client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

struct sink {
	char *buf;
	size_t len, cap;
	int overflow;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	char *nb;

	if (s->len + n + 1 > CLIENT_MAX_BODY) {
		s->overflow = 1;
		return 0; /* aborts the transfer */
	}
	if (s->len + n + 1 > s->cap) {
		size_t ncap = s->cap ? s->cap : 4096;

		while (ncap < s->len + n + 1)
			ncap *= 2;
		nb = realloc(s->buf, ncap);
		if (!nb)
			return 0;
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, ptr, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static int connect_error(struct client *c, CURLcode cc, const char *detail,
			 struct shoal_err *err)
{
	struct stat st;

	if (cc == CURLE_COULDNT_CONNECT) {
		/* Docker distinguishes "no daemon" from "not allowed". */
		if (stat(c->sock, &st) == 0 && access(c->sock, R_OK | W_OK) < 0 &&
		    errno == EACCES)
			return err_set(err, EACCES,
				       "permission denied while trying to connect to the shoal daemon socket at %s",
				       c->host);
		return err_set(err, ECONNREFUSED,
			       "Cannot connect to the shoal daemon at %s. Is shoald running?",
			       c->host);
	}
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return err_set(err, ETIMEDOUT,
			       "error during connect: timed out talking to the shoal daemon at %s",
			       c->host);
	return err_set(err, EIO, "error during connect: %s: %s", c->host,
		       *detail ? detail : curl_easy_strerror(cc));
}

void client_curl_prepare(struct client *c, const char *url, const char *method,
			 size_t (*write_fn)(char *, size_t, size_t, void *),
			 void *write_data, char *errbuf)
{
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_fn);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, write_data);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "shoal-cli/" SHOAL_VERSION);
}

/* Keep the path stat header of /containers/{id}/archive replies. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	static const char h[] = "x-docker-container-path-stat:";
	struct client_resp *resp = ud;
	size_t n = size * nmemb, hl = strlen(h);

	if (n > hl && strncasecmp(ptr, h, hl) == 0 && !resp->path_stat) {
		const char *v = ptr + hl;
		size_t vl = n - hl;

		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		resp->path_stat = strndup(v, vl);
	}
	return n;
}

int client_do(struct client *c, const char *method, const char *path,
	      json_t *body, struct client_resp *resp, struct shoal_err *err)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink s = { 0 };
	char *payload = NULL;
	char *url = NULL;
	CURLcode cc;
	int r = 0;

	memset(resp, 0, sizeof(*resp));
	if (!c->curl)
		return err_set(err, EINVAL, "client not open");
	if (asprintf(&url, "%s%s", CLIENT_URL_BASE, path) < 0)
		return err_set(err, ENOMEM, "out of memory");

	client_curl_prepare(c, url, method, on_data, &s, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, resp);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	/* Generous: network create does netlink and BPF work server-side. */
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 300L);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body) {
		payload = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!payload) {
			r = err_set(err, ENOMEM, "cannot encode request");
			goto out;
		}
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		if (s.overflow)
			r = err_set(err, EFBIG, "response from the daemon larger than %u bytes",
				    CLIENT_MAX_BODY);
		else
			r = connect_error(c, cc, errbuf, err);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!s.buf) {
		s.buf = strdup("");
		if (!s.buf) {
			r = err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	resp->body = s.buf;
	resp->len = s.len;
	s.buf = NULL;
	if (resp->len)
		resp->json = json_loadb(resp->body, resp->len, JSON_DECODE_ANY, NULL);
out:
	free(s.buf);
	free(payload);
	free(url);
	curl_slist_free_all(hdrs);
	return r;
}

void client_resp_free(struct client_resp *r)
{
	free(r->body);
	free(r->path_stat);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

const char *client_resp_message(const struct client_resp *r, char *buf,
				size_t len)
{
	const char *m = json_string_value(json_object_get(r->json, "message"));
	size_t n;

	if (m && *m) {
		snprintf(buf, len, "%s", m);
		return buf;
	}
	if (r->body && *r->body && !r->json) {
		snprintf(buf, len, "%s", r->body);
		/* Plain-text bodies usually end with a newline. */
		n = strlen(buf);
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		return buf;
	}
	switch (r->status) {
	case 404:
		snprintf(buf, len, "page not found");
		break;
	default:
		snprintf(buf, len, "HTTP %ld", r->status);
	}
	return buf;
}

void client_print_daemon_error(const struct client_resp *r)
{
	char msg[1024];

	fprintf(stderr, "Error response from daemon: %s\n",
		client_resp_message(r, msg, sizeof(msg)));
}

char *client_escape(struct client *c, const char *s)
{
	char *e = curl_easy_escape(c->curl, s, 0);
	char *out;

	if (!e)
		return NULL;
	out = strdup(e);
	curl_free(e);
	return out;
}

char *client_filters_path(struct client *c, const char *base, json_t *filters)
{
	char *fs, *esc, *path = NULL;

	if (!json_object_size(filters))
		return strdup(base);
	fs = json_dumps(filters, JSON_COMPACT);
	esc = fs ? client_escape(c, fs) : NULL;
	if (!esc || asprintf(&path, "%s?filters=%s", base, esc) < 0)
		path = NULL;
	free(esc);
	free(fs);
	return path;
}

int client_call(struct client *c, const char *method, const char *path,
		json_t *body, unsigned int flags, json_t **out, long *status)
{
	struct client_resp resp;
	struct shoal_err err;
	int r;

	if (out)
		*out = NULL;
	if (status)
		*status = 0;
	r = client_do(c, method, path, body, &resp, &err);
	if (r < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return CLIENT_ECONNECT;
	}
	if (status)
		*status = resp.status;
	if (resp.status < 200 || resp.status > 299) {
		if (!(resp.status == 404 && (flags & CLIENT_QUIET_404)))
			client_print_daemon_error(&resp);
		client_resp_free(&resp);
		return CLIENT_EDAEMON;
	}
	if (out) {
		*out = resp.json;
		resp.json = NULL;
	}
	client_resp_free(&resp);
	return CLIENT_OK;
}

int client_open_or_report(struct client *c, const char *host)
{
	struct shoal_err err;

	if (client_open(c, host, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		client_close(c);
		return 1;
	}
	return 0;
}
