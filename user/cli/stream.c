// SPDX-License-Identifier: Apache-2.0
/*
 * stream.c - streamed uploads and downloads over the daemon socket, and
 * the display of JSON message streams (Docker's pkg/jsonmessage).
 *
 * Wire format of a message stream, as the Docker Engine writes it: one
 * JSON object per line,
 *   {"status":"Pulling fs layer","progressDetail":{},"id":"abc123def456"}
 *   {"status":"Downloading","progressDetail":{"current":1,"total":9},"id":...}
 *   {"stream":"Loaded image: busybox:latest\n"}
 *   {"errorDetail":{"message":"..."},"error":"..."}
 * An error inside the stream arrives with status 200: the HTTP status only
 * covers what went wrong before the stream started.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../common/names.h"
#include "cli.h"
#include "output.h"
#include "stream.h"

#define STREAM_URL_BASE "http://localhost/v" SHOAL_API_VERSION
#define STREAM_MAX_LINE (1u << 20) /* one JSON message */
#define STREAM_MAX_ERR (64u << 10) /* an error body we keep */

struct xfer {
	struct client *c;
	struct stream_req *s;
	long status;        /* 0 until the first body byte */
	struct sbuf line;   /* partial JSON line */
	struct sbuf errbody;
	bool stopped;       /* on_msg asked to stop */
	bool write_failed;  /* out_fd */
	int write_errno;
	bool read_failed;
	int read_errno;
	bool too_long;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	ssize_t n;

	do
		n = read(x->s->in_fd, buf, size * nmemb);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		x->read_failed = true;
		x->read_errno = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

static int emit_line(struct xfer *x, const char *s, size_t n)
{
	json_t *msg;
	int r;

	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	if (!n)
		return 0;
	msg = json_loadb(s, n, 0, NULL);
	if (!json_is_object(msg)) {
		/* Not a message: show it as it is rather than lose it. */
		struct sbuf t = { 0 };

		json_decref(msg);
		sbuf_add(&t, s, n);
		sbuf_add(&t, "\n", 1);
		msg = json_pack("{s:s}", "stream", sbuf_str(&t));
		sbuf_free(&t);
		if (!msg)
			return 0;
	}
	r = x->s->on_msg(x->s->arg, msg);
	json_decref(msg);
	return r;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb, st = 0;
	char *nl;

	if (!x->status)
		curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status < 200 || x->status > 299) {
		if (x->errbody.len + n <= STREAM_MAX_ERR)
			sbuf_add(&x->errbody, ptr, n);
		return n;
	}
	if (x->s->out_fd >= 0) {
		size_t off = 0;

		while (off < n) {
			ssize_t w = write(x->s->out_fd, ptr + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				x->write_failed = true;
				x->write_errno = errno;
				return 0;
			}
			off += (size_t)w;
		}
		return n;
	}
	if (!x->s->on_msg)
		return n;
	/* Keep a partial line; hand every complete one over. */
	sbuf_add(&x->line, ptr, n);
	if (x->line.oom)
		return 0;
	while ((nl = memchr(x->line.s + st, '\n', x->line.len - st))) {
		size_t ll = (size_t)(nl - (x->line.s + st)) + 1;

		if (emit_line(x, x->line.s + st, ll)) {
			x->stopped = true;
			return 0;
		}
		st += ll;
	}
	if (st) {
		memmove(x->line.s, x->line.s + st, x->line.len - st);
		x->line.len -= st;
		x->line.s[x->line.len] = '\0';
	}
	if (x->line.len > STREAM_MAX_LINE) {
		x->too_long = true;
		return 0;
	}
	return n;
}

int client_stream(struct client *c, const char *method, const char *path,
		  struct stream_req *s)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", ctype[128];
	struct xfer x = { .c = c, .s = s };
	char *url = NULL;
	CURLcode cc;
	int rc = CLIENT_ECONNECT;

	if (!c->curl || asprintf(&url, "%s%s", STREAM_URL_BASE, path) < 0) {
		fprintf(stderr, "out of memory\n");
		return CLIENT_ECONNECT;
	}
	/* No overall timeout: archives and pulls take what they take. */
	client_curl_prepare(c, url, method, on_write, &x, errbuf);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (s->in_fd >= 0) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			 s->content_type ? s->content_type : "application/x-tar");
		hdrs = curl_slist_append(hdrs, ctype);
		curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
		/* CURLOPT_UPLOAD means PUT; the custom request makes it POST. */
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c->curl, CURLOPT_READDATA, &x);
		if (s->in_size != STREAM_SIZE_UNKNOWN)
			curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)s->in_size);
		else
			hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c->curl);
	if (!x.status)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &x.status);
	if (x.stopped) {
		rc = CLIENT_EDAEMON;
		goto out;
	}
	if (cc != CURLE_OK) {
		if (x.read_failed)
			fprintf(stderr, "error reading the input: %s\n",
				strerror(x.read_errno));
		else if (x.write_failed)
			fprintf(stderr, "error writing the output: %s\n",
				strerror(x.write_errno));
		else if (x.too_long)
			fprintf(stderr, "error: a message from the daemon is larger than %u bytes\n",
				STREAM_MAX_LINE);
		else if (cc == CURLE_COULDNT_CONNECT)
			fprintf(stderr,
				"Cannot connect to the shoal daemon at %s. Is shoald running?\n",
				c->host);
		else if (x.status >= 200 && x.status <= 299)
			fprintf(stderr, "error during transfer: %s\n",
				*errbuf ? errbuf : curl_easy_strerror(cc));
		else if (x.status)
			goto status; /* the daemon refused and closed early */
		else
			fprintf(stderr, "error during connect: %s: %s\n", c->host,
				*errbuf ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
status:
	if (x.status < 200 || x.status > 299) {
		struct client_resp resp = { .status = x.status };

		resp.body = (char *)sbuf_str(&x.errbody);
		resp.len = x.errbody.len;
		if (resp.len)
			resp.json = json_loadb(resp.body, resp.len, 0, NULL);
		client_print_daemon_error(&resp);
		json_decref(resp.json);
		rc = CLIENT_EDAEMON;
		goto out;
	}
	if (s->on_msg && x.line.len &&
	    emit_line(&x, sbuf_str(&x.line), x.line.len)) {
		rc = CLIENT_EDAEMON;
		goto out;
	}
	rc = CLIENT_OK;
out:
	sbuf_free(&x.line);
	sbuf_free(&x.errbody);
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

/* ---- jsonmessage display -------------------------------------------------- */

void jsonmsg_view_init(struct jsonmsg_view *v, FILE *out, bool discard)
{
	struct winsize ws;

	memset(v, 0, sizeof(*v));
	v->out = out;
	v->discard = discard;
	v->tty = !discard && isatty(fileno(out));
	v->width = 200; /* Docker's default when the width is unknown */
	if (v->tty && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		v->width = ws.ws_col;
}

void jsonmsg_view_free(struct jsonmsg_view *v)
{
	free(v->ids);
	v->ids = NULL;
	v->nids = v->cap = 0;
}

void jsonmsg_progress(const json_t *detail, int width, char *buf, size_t len)
{
	long long cur = jint(detail, "current"), tot = jint(detail, "total");
	const char *unit = jstr(detail, "units");
	char bar[64] = "", nums[64] = "", hc[32], ht[32];
	int pct;

	buf[0] = '\0';
	if (!json_is_object(detail) || (cur <= 0 && tot <= 0))
		return;
	if (tot <= 0) {
		if (*unit) {
			snprintf(buf, len, "%lld %s", cur, unit);
		} else {
			human_size((double)cur, 4, hc, sizeof(hc));
			snprintf(buf, len, "%8s", hc);
		}
		return;
	}
	pct = (int)((double)cur / (double)tot * 100) / 2;
	if (pct > 50)
		pct = 50;
	if (width > 110) {
		int sp = 50 - pct > 0 ? 50 - pct : 0;

		snprintf(bar, sizeof(bar), "[%.*s>%*s] ", pct,
			 "==================================================", sp, "");
	}
	if (jbool(detail, "hidecounts")) {
		/* nothing */
	} else if (!*unit) {
		human_size((double)cur, 4, hc, sizeof(hc));
		human_size((double)tot, 4, ht, sizeof(ht));
		if (cur > tot)
			snprintf(nums, sizeof(nums), "%8s", hc);
		else
			snprintf(nums, sizeof(nums), "%8s/%s", hc, ht);
	} else {
		snprintf(nums, sizeof(nums), "%lld/%lld %s", cur, tot, unit);
		if (cur > tot)
			snprintf(nums, sizeof(nums), "%lld %s", cur, unit);
	}
	snprintf(buf, len, "%s%s", bar, nums);
}

static size_t view_line_of(struct jsonmsg_view *v, const char *id, bool *isnew)
{
	for (size_t i = 0; i < v->nids; i++)
		if (!strcmp(v->ids[i], id)) {
			*isnew = false;
			return i;
		}
	*isnew = true;
	if (v->nids == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		char (*n)[80] = realloc(v->ids, cap * sizeof(*n));

		if (!n)
			return v->nids ? v->nids - 1 : 0;
		v->ids = n;
		v->cap = cap;
	}
	snprintf(v->ids[v->nids], sizeof(v->ids[0]), "%s", id);
	return v->nids++;
}

int jsonmsg_show(void *arg, json_t *msg)
{
	struct jsonmsg_view *v = arg;
	json_t *detail = json_object_get(msg, "progressDetail");
	const char *id = jstr(msg, "id"), *status = jstr(msg, "status"),
		   *stream = jstr(msg, "stream");
	const char *pmsg = jstr(msg, "progress");
	bool has_progress = json_is_object(detail), isnew;
	json_t *e = json_object_get(msg, "error");
	char prog[256];
	size_t diff = 0, line;
	FILE *out = v->out;

	if (e || jobj(msg, "errorDetail")) {
		const char *m = json_string_value(e);

		if (!m || !*m)
			m = jstr(jobj(msg, "errorDetail"), "message");
		if (jint(jobj(msg, "errorDetail"), "code") == 401)
			m = "authentication is required";
		snprintf(v->err, sizeof(v->err), "%s", *m ? m : "unknown error");
		v->failed = true;
		return 1;
	}
	if (v->discard || json_object_get(msg, "aux"))
		return 0;
	if (*id && (has_progress || *pmsg)) {
		line = view_line_of(v, id, &isnew);
		if (isnew && v->tty)
			fputc('\n', out);
		diff = v->nids - line;
		if (v->tty && diff)
			fprintf(out, "\x1b[%zuA", diff);
	} else {
		/* Not progress: earlier lines are never updated again. */
		v->nids = 0;
	}
	jsonmsg_progress(detail, v->width, prog, sizeof(prog));
	if (v->tty && !*stream && has_progress) {
		fputs("\x1b[2K\r", out);
	} else if (has_progress && *prog) {
		/* No progress bars when not on a terminal. */
		goto done;
	}
	if (*id)
		fprintf(out, "%s: ", id);
	if (*jstr(msg, "from"))
		fprintf(out, "(from %s) ", jstr(msg, "from"));
	if (has_progress && v->tty)
		fprintf(out, "%s %s%s", status, prog, !*stream ? "\r" : "");
	else if (*pmsg)
		fprintf(out, "%s %s%s", status, pmsg,
			v->tty && has_progress ? "\r" : "");
	else if (*stream)
		fputs(stream, out);
	else
		fprintf(out, "%s\n", status);
done:
	if (*id && v->tty && diff)
		fprintf(out, "\x1b[%zuB", diff);
	fflush(out);
	return 0;
}
