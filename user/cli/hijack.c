// SPDX-License-Identifier: Apache-2.0
/*
 * hijack.c - the upgraded (hijacked) connections of attach and exec
 * start, and the decoder of Docker's multiplexed output stream: see
 * hijack.h. The request is what docker-cli's client/hijack.go sends.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/names.h"
#include "hijack.h"
#include "output.h"

#define HEAD_MAX 16384
#define ERR_BODY_MAX 65536

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int demux_feed(struct demux *d, const char *buf, size_t n, int out_fd,
	       int err_fd)
{
	while (n) {
		if (!d->left) {
			size_t take = 8 - d->nhdr;

			if (take > n)
				take = n;
			memcpy(d->hdr + d->nhdr, buf, take);
			d->nhdr += take;
			buf += take;
			n -= take;
			if (d->nhdr < 8)
				return 0;
			d->nhdr = 0;
			d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
				  (uint32_t)d->hdr[6] << 8 | d->hdr[7];
			switch (d->hdr[0]) {
			case 0: /* stdin: Docker writes it to stdout */
			case 1:
				d->fd = out_fd;
				break;
			case 2:
				d->fd = err_fd;
				break;
			default:
				/* Not a frame header: the stream is not multiplexed. */
				d->bad = true;
				return -EPROTO;
			}
			continue;
		}
		size_t take = n < d->left ? n : d->left;
		int r = write_all(d->fd, buf, take);

		if (r < 0)
			return r;
		d->left -= (uint32_t)take;
		buf += take;
		n -= take;
	}
	return 0;
}

/* ---- the request and the response head --------------------------------- */

static int sock_connect(struct client *c, char *msg, size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(msg, msglen, "socket: %s", strerror(errno));
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EACCES)
			snprintf(msg, msglen,
				 "permission denied while trying to connect to the shoal daemon socket at %s",
				 c->host);
		else
			snprintf(msg, msglen,
				 "Cannot connect to the shoal daemon at %s. Is shoald running?",
				 c->host);
		close(fd);
		return -1;
	}
	return fd;
}

/* The value of header `name` in the head (NUL-terminated), or NULL. */
static const char *head_value(const char *head, const char *name, char *buf,
			      size_t len)
{
	size_t nl = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (!strncasecmp(l, name, nl) && l[nl] == ':') {
			const char *v = l + nl + 1;
			size_t n;

			v += strspn(v, " \t");
			n = strcspn(v, "\r\n");
			if (n >= len)
				n = len - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* De-chunk a complete chunked body in place; returns the new length. */
static size_t dechunk(char *b, size_t n)
{
	size_t in = 0, out = 0;

	while (in < n) {
		char *end;
		unsigned long sz = strtoul(b + in, &end, 16);
		char *crlf = strstr(b + in, "\r\n");

		if (!crlf || end == b + in || !sz)
			break;
		in = (size_t)(crlf - b) + 2;
		if (in + sz > n)
			sz = n - in;
		memmove(b + out, b + in, sz);
		out += sz;
		in += sz + 2;
	}
	b[out] = '\0';
	return out;
}

/* The rest of an error reply, as a message. */
static void read_error(int fd, const char *head, const char *have, size_t nhave,
		       long status, char *msg, size_t msglen)
{
	char val[64], *body = malloc(ERR_BODY_MAX + 1);
	long clen = -1;
	size_t n = 0;
	json_t *j;

	if (!body) {
		snprintf(msg, msglen, "HTTP %ld", status);
		return;
	}
	if (head_value(head, "Content-Length", val, sizeof(val)))
		clen = strtol(val, NULL, 10);
	n = nhave < ERR_BODY_MAX ? nhave : ERR_BODY_MAX;
	memcpy(body, have, n);
	while (n < ERR_BODY_MAX && (clen < 0 || (long)n < clen)) {
		ssize_t r = read(fd, body + n, ERR_BODY_MAX - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		/* A chunked body ends with the zero chunk. */
		if (clen < 0 && n >= 5 && !memcmp(body + n - 5, "0\r\n\r\n", 5))
			break;
	}
	body[n] = '\0';
	if (head_value(head, "Transfer-Encoding", val, sizeof(val)) &&
	    strcasestr(val, "chunked"))
		n = dechunk(body, n);
	j = json_loadb(body, n, 0, NULL);
	if (json_string_value(json_object_get(j, "message")))
		snprintf(msg, msglen, "%s", json_string_value(json_object_get(j, "message")));
	else if (n)
		snprintf(msg, msglen, "%.*s", (int)strcspn(body, "\r\n"), body);
	else if (status == 404)
		snprintf(msg, msglen, "page not found");
	else
		snprintf(msg, msglen, "HTTP %ld", status);
	json_decref(j);
	free(body);
}

int hijack_open(struct client *c, const char *method, const char *path,
		json_t *body, struct hijack *h, long *status, char *msg,
		size_t msglen)
{
	char *payload = NULL, *req = NULL, head[HEAD_MAX + 1], *end = NULL;
	size_t n = 0;
	int fd, rc = CLIENT_ECONNECT, len;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	*status = 0;
	if (body && !(payload = json_dumps(body, JSON_COMPACT))) {
		snprintf(msg, msglen, "out of memory");
		return CLIENT_ECONNECT;
	}
	fd = sock_connect(c, msg, msglen);
	if (fd < 0)
		goto out;
	len = asprintf(&req,
		       "%s /v" SHOAL_API_VERSION "%s HTTP/1.1\r\n"
		       "Host: localhost\r\n"
		       "User-Agent: shoal-cli/" SHOAL_VERSION "\r\n"
		       "Content-Type: %s\r\n"
		       "Content-Length: %zu\r\n"
		       "Connection: Upgrade\r\n"
		       "Upgrade: tcp\r\n\r\n%s",
		       method, path, payload ? "application/json" : "text/plain",
		       payload ? strlen(payload) : 0, payload ? payload : "");
	if (len < 0 || write_all(fd, req, (size_t)len) < 0) {
		snprintf(msg, msglen, "error during connect: %s: %s", c->host,
			 strerror(errno));
		goto fail;
	}
	/* The head, and maybe the first stream bytes after it. */
	while (!end) {
		ssize_t r;

		if (n >= HEAD_MAX) {
			snprintf(msg, msglen, "error during connect: response head too large");
			goto fail;
		}
		r = read(fd, head + n, HEAD_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(msg, msglen,
				 "error during connect: the daemon closed the connection");
			goto fail;
		}
		n += (size_t)r;
		head[n] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	*end = '\0';
	if (sscanf(head, "HTTP/1.%*c %ld", status) != 1) {
		snprintf(msg, msglen, "error during connect: not an HTTP response");
		goto fail;
	}
	if (*status != 101 && *status != 200) {
		read_error(fd, head, end + 4, n - (size_t)(end + 4 - head), *status,
			   msg, msglen);
		rc = CLIENT_EDAEMON;
		goto fail;
	}
	h->npre = n - (size_t)(end + 4 - head);
	if (h->npre) {
		h->pre = malloc(h->npre);
		if (!h->pre) {
			snprintf(msg, msglen, "out of memory");
			goto fail;
		}
		memcpy(h->pre, end + 4, h->npre);
	}
	h->fd = fd;
	rc = CLIENT_OK;
	goto out;
fail:
	close(fd);
out:
	free(req);
	free(payload);
	return rc;
}

void hijack_close(struct hijack *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	free(h->pre);
	h->pre = NULL;
	h->npre = 0;
}

/* ---- the pump ----------------------------------------------------------- */

static int deliver(struct demux *d, bool tty, const char *buf, size_t n)
{
	if (tty)
		return write_all(STDOUT_FILENO, buf, n);
	return demux_feed(d, buf, n, STDOUT_FILENO, STDERR_FILENO);
}

static volatile sig_atomic_t winched;
static volatile sig_atomic_t caught[NSIG];
static const int proxied[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void on_sigwinch(int sig)
{
	(void)sig;
	winched = 1;
}

static void on_proxied(int sig)
{
	caught[sig] = 1;
}

void hijack_watch_winch(void)
{
	struct sigaction sa = { .sa_handler = on_sigwinch };

	/* No SA_RESTART: poll() returns EINTR and the pump sends the size. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

void hijack_watch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_proxied };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(proxied) / sizeof(proxied[0]); i++)
		sigaction(proxied[i], &sa, NULL);
}

static void run_callbacks(const struct hijack_cbs *cbs)
{
	if (!cbs)
		return;
	if (winched && cbs->winch) {
		winched = 0;
		cbs->winch(cbs->arg);
	}
	for (size_t i = 0; i < sizeof(proxied) / sizeof(proxied[0]); i++) {
		if (caught[proxied[i]] && cbs->signal) {
			caught[proxied[i]] = 0;
			cbs->signal(cbs->arg, proxied[i]);
		}
	}
}

int hijack_pump(struct hijack *h, int in_fd, bool tty,
		const struct hijack_cbs *cbs)
{
	struct demux d = { 0 };
	char buf[65536];
	bool in_open = in_fd >= 0;
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (h->npre && (r = deliver(&d, tty, h->pre, h->npre)) < 0)
		return r;
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = h->fd, .events = POLLIN },
			{ .fd = in_open ? in_fd : -1, .events = POLLIN },
		};
		ssize_t n;

		run_callbacks(cbs);
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[1].revents) {
			n = read(in_fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0) {
				/* The container may be gone: keep reading its output. */
				if (write_all(h->fd, buf, (size_t)n) < 0)
					in_open = false;
			} else {
				/* EOF (or error) on stdin: the container sees EOF. */
				shutdown(h->fd, SHUT_WR);
				in_open = false;
			}
		}
		if (pf[0].revents) {
			n = read(h->fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return errno == ECONNRESET ? 0 : -errno;
			if (n == 0)
				return 0;
			r = deliver(&d, tty, buf, (size_t)n);
			if (r < 0)
				return r;
		}
	}
}

/* ---- terminal ----------------------------------------------------------- */

int term_make_raw(int fd, struct termios *saved)
{
	struct termios t;

	if (tcgetattr(fd, saved) < 0)
		return -errno;
	t = *saved;
	/* As moby/term MakeRaw: output post-processing off too, the
	 * container's tty already turned its \n into \r\n. */
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

void term_restore(int fd, const struct termios *saved)
{
	tcsetattr(fd, TCSANOW, saved);
}
