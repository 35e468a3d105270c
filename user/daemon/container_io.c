// SPDX-License-Identifier: Apache-2.0
/*
 * container_io.c - the streams of containers: attach (hijacked
 * connection), logs (the json-file log), exec (create, start over a
 * hijacked connection or detached, inspect, resize).
 *
 * Output reaches the client as Docker's multiplexed frames (8-byte
 * header: stream, 0, 0, 0, big-endian length) unless the container or
 * exec has a tty, then raw.
 *
 * An attach that comes before start (what `docker run` does) cannot
 * talk to a shim yet: it waits for the start, then sends the run's
 * output from the log (the shim writes every line there, and the log
 * is complete once the exit is recorded), so nothing a short-lived
 * container prints is lost. stdin, and a tty's output, go through the
 * shim's attach op. An attach to a running container uses the attach
 * op for everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../include/shoal_shim.h"
#include "../common/log.h"
#include "../common/util.h"
#include "api.h"
#include "container.h"
#include "daemon.h"

void ctr_api_resize(const struct api_req *q, const char *ctr_id, int pid, struct reply *r);

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Output to the client: a frame, or the bytes alone for a tty. */
static int send_out(int fd, bool tty, int stream, const char *data, size_t len)
{
	unsigned char h[SHIM_FRAME_HDR] = { (unsigned char)stream, 0, 0, 0,
					    (unsigned char)(len >> 24), (unsigned char)(len >> 16),
					    (unsigned char)(len >> 8), (unsigned char)len };

	if (fd < 0 || len == 0)
		return 0;
	if (!tty && write_all(fd, h, sizeof(h)) < 0)
		return -1;
	return write_all(fd, data, len);
}

static json_t *load_obj(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	return j ? j : json_object();
}

/*
 * Relay between a client socket (cfd, may be -1) and a shim connection
 * that sends frames. Client bytes go to the shim when stdin is on; a
 * client EOF closes the shim's write side (EOF on the process's stdin).
 * Returns the exit code of an exit frame, or -1 when the shim closed
 * without one.
 */
static int relay(int cfd, int sfd, bool tty, bool want_out, bool want_err, bool in,
		 const char *extra, size_t n_extra)
{
	struct pollfd p[2];
	char buf[32768];
	bool client_open = cfd >= 0;
	int code = -1;

	if (in && n_extra && write_all(sfd, extra, n_extra) < 0)
		return -1;
	for (;;) {
		int np = 0, r;

		p[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (client_open)
			p[np++] = (struct pollfd){ .fd = cfd, .events = POLLIN };
		r = poll(p, (nfds_t)np, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (np > 1 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = read(cfd, buf, sizeof(buf));

			if (got > 0 && in) {
				if (write_all(sfd, buf, (size_t)got) < 0)
					break;
			} else if (got <= 0) {
				client_open = false;
				if (in)
					shutdown(sfd, SHUT_WR);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			unsigned char h[SHIM_FRAME_HDR];
			uint32_t len;

			if (read_full(sfd, h, sizeof(h)) < 0)
				break;
			len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
			if (h[0] == SHIM_FRAME_EXIT) {
				unsigned char c[4] = { 0 };
				if (len >= 4 && read_full(sfd, c, 4) == 0)
					code = (int)((uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
						     (uint32_t)c[2] << 8 | c[3]);
				break;
			}
			while (len) {
				size_t chunk = len < sizeof(buf) ? len : sizeof(buf);
				bool want = h[0] == SHIM_FRAME_STDERR ? want_err : want_out;

				if (read_full(sfd, buf, chunk) < 0)
					return code;
				if (want && cfd >= 0 && send_out(cfd, tty, h[0], buf, chunk) < 0)
					cfd = -1, client_open = false; /* client gone: drain */
				len -= (uint32_t)chunk;
			}
		}
	}
	return code;
}

/* ---- the json-file log ------------------------------------------------------------ */

struct log_opts {
	bool out, err, tty, timestamps;
	int64_t since; /* unix seconds, 0 = all */
	int64_t until; /* unix seconds, 0 = no end */
	long tail;     /* -1 = all */
};

static int64_t log_time(const char *t)
{
	struct tm tm = { 0 };

	if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* One json-file line to the client; -1 when the client is gone. */
static int send_log_line(int fd, const struct log_opts *o, const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *text, *stream, *t;
	char *buf;
	int ret = 0, s;

	if (!j)
		return 0;
	text = json_string_value(json_object_get(j, "log"));
	stream = json_string_value(json_object_get(j, "stream"));
	t = json_string_value(json_object_get(j, "time"));
	s = stream && strcmp(stream, "stderr") == 0 ? 2 : 1;
	if (!text || (s == 1 && !o->out) || (s == 2 && !o->err) ||
	    (o->since && log_time(t) < o->since) || (o->until && log_time(t) >= o->until)) {
		json_decref(j);
		return 0;
	}
	if (o->timestamps && t) {
		size_t len = strlen(t) + 1 + strlen(text);
		buf = malloc(len + 1);
		if (buf) {
			snprintf(buf, len + 1, "%s %s", t, text);
			ret = send_out(fd, o->tty, s, buf, len);
			free(buf);
		}
	} else {
		ret = send_out(fd, o->tty, s, text, strlen(text));
	}
	json_decref(j);
	return ret;
}

static int send_log_range(int cfd, int lfd, const struct log_opts *o, off_t *off, off_t upto);

/* Send the log open on lfd from *off to its end (complete lines only);
 * *off moves. -1 when the client is gone. */
static int send_log_fd(int cfd, int lfd, const struct log_opts *o, off_t *off)
{
	return send_log_range(cfd, lfd, o, off, -1);
}

/* The same up to offset upto (-1: the end). */
static int send_log_range(int cfd, int lfd, const struct log_opts *o, off_t *off, off_t upto)
{
	char *buf = NULL;
	size_t cap = 0, have = 0;
	int ret = 0;

	for (;;) {
		ssize_t n;
		char *nl, *start;

		if (cap - have < 65536) {
			char *nb = realloc(buf, cap + 262144);
			if (!nb)
				break;
			buf = nb;
			cap += 262144;
		}
		size_t want = cap - have - 1;

		if (upto >= 0) {
			off_t left = upto - (*off + (off_t)have);
			if (left <= 0)
				break;
			if ((off_t)want > left)
				want = (size_t)left;
		}
		n = pread(lfd, buf + have, want, *off + (off_t)have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		start = buf;
		while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
			*nl = '\0';
			if (send_log_line(cfd, o, start) < 0) {
				ret = -1;
				goto out;
			}
			*off += nl + 1 - start;
			start = nl + 1;
		}
		/* keep the partial line for the next read */
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
	}
out:
	free(buf);
	return ret;
}

static int send_log_from(int cfd, const char *path, const struct log_opts *o, off_t *off)
{
	int lfd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (lfd < 0)
		return 0;
	ret = send_log_fd(cfd, lfd, o, off);
	close(lfd);
	return ret;
}

/* The offset where the last `tail` lines of the log start. */
static off_t tail_offset(const char *path, long tail)
{
	FILE *f;
	off_t *ring, off = 0, pos = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long count = 0;

	if (tail < 0)
		return 0;
	if (tail == 0) {
		struct stat st;
		return stat(path, &st) == 0 ? st.st_size : 0;
	}
	f = fopen(path, "re");
	if (!f)
		return 0;
	ring = calloc((size_t)tail, sizeof(*ring));
	if (!ring) {
		fclose(f);
		return 0;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		ring[count % tail] = pos;
		count++;
		pos += n;
	}
	if (count > tail)
		off = ring[count % tail];
	free(line);
	free(ring);
	fclose(f);
	return off;
}

static bool ctr_is_running(struct daemon *d, const char *id, uint64_t *exits)
{
	struct st_container c;
	struct ctr_rt *rt;
	bool running = false;

	pthread_mutex_lock(&d->lock);
	if (st_container_find(d->ctr->sc, id, &c, NULL) == 0) {
		running = strcmp(c.status, "running") == 0;
		st_container_free(&c);
	}
	rt = ctr_rt_get(d, id);
	if (exits)
		*exits = rt ? rt->exits : 0;
	pthread_mutex_unlock(&d->lock);
	return running;
}

struct logs_job {
	struct daemon *d;
	char id[65];
	char path[4300];
	struct log_opts o;
	bool follow;
	int fd;
};

static void *logs_thread(void *arg)
{
	struct logs_job *j = arg;
	off_t off = tail_offset(j->path, j->o.tail);

	for (;;) {
		bool running = j->follow && ctr_is_running(j->d, j->id, NULL);

		if (send_log_from(j->fd, j->path, &j->o, &off) < 0)
			break;
		if (!running)
			break;
		usleep(100 * 1000);
	}
	close(j->fd);
	free(j);
	return NULL;
}

static bool detach_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	pthread_t t;
	int ret;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return ret == 0;
}

static int parse_log_opts(const struct api_req *q, struct log_opts *o, struct shoal_err *err)
{
	const char *tail = api_query(q, "tail"), *since = api_query(q, "since"),
		   *until = api_query(q, "until");
	char *end;

	o->out = api_query_bool(q, "stdout", false);
	o->err = api_query_bool(q, "stderr", false);
	o->timestamps = api_query_bool(q, "timestamps", false);
	o->tail = -1;
	if (tail && *tail && strcmp(tail, "all") != 0) {
		o->tail = strtol(tail, &end, 10);
		if (*end || o->tail < 0)
			return err_set(err, EINVAL, "invalid value for \"tail\": %s", tail);
	}
	if (since && *since) {
		o->since = (int64_t)strtod(since, &end);
		if (*end)
			return err_set(err, EINVAL, "invalid value for \"since\": %s", since);
	}
	if (until && *until) {
		double u = strtod(until, &end);

		if (*end)
			return err_set(err, EINVAL, "invalid value for \"until\": %s", until);
		/* a fraction rounds the bound up: lines of that second stay */
		o->until = (int64_t)u + (u > (double)(int64_t)u ? 1 : 0);
	}
	if (!o->out && !o->err)
		return err_set(err, EINVAL, "Bad parameters: you must choose at least one stream");
	return 0;
}

/* The container's id and whether it has a tty. */
static int ctr_basics(struct daemon *d, const char *ref, char id[65], bool *tty, bool *running,
		      struct shoal_err *err)
{
	struct st_container c;
	json_t *cfg;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret == 0) {
		memcpy(id, c.id, 65);
		cfg = load_obj(c.config);
		*tty = json_is_true(json_object_get(cfg, "Tty"));
		json_decref(cfg);
		if (running)
			*running = strcmp(c.status, "running") == 0;
		st_container_free(&c);
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void ctr_api_logs(const struct api_req *q, const char *ref, struct reply *r)
{
	struct shoal_err err = { 0 };
	struct logs_job *j = calloc(1, sizeof(*j));
	int p[2], ret;

	if (!j)
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	ret = parse_log_opts(q, &j->o, &err);
	if (ret == 0)
		ret = ctr_basics(q->d, ref, j->id, &j->o.tty, NULL, &err);
	if (ret < 0) {
		free(j);
		return api_reply_err(r, ret, &err);
	}
	j->d = q->d;
	j->follow = api_query_bool(q, "follow", false);
	ctr_log_path(q->d, j->id, j->path, sizeof(j->path));
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(j);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "pipe failed");
	}
	j->fd = p[1];
	if (!detach_thread(logs_thread, j)) {
		close(p[0]);
		close(p[1]);
		free(j);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "thread failed");
	}
	r->status = MHD_HTTP_OK;
	r->stream_fd = p[0];
	r->content_type = j->o.tty ? "application/vnd.docker.raw-stream"
				   : "application/vnd.docker.multiplexed-stream";
}

/* ---- attach ---------------------------------------------------------------------- */

struct attach {
	struct daemon *d;
	char id[65];
	bool tty, in, out, err, logs, stream;
	bool was_running; /* at the request */
	uint64_t starts;  /* runs started before the request */
	int log_fd;       /* the log, open from the request on (--rm removes it) */
	bool tty_wait;    /* counted in rt->tty_waiters */
};

/* This session no longer holds the start back (d->lock taken here). */
static void tty_wait_done(struct attach *a)
{
	struct ctr_rt *rt;

	if (!a->tty_wait)
		return;
	a->tty_wait = false;
	pthread_mutex_lock(&a->d->lock);
	rt = ctr_rt_get(a->d, a->id);
	if (rt && rt->tty_waiters > 0)
		rt->tty_waiters--;
	ctr_changed(a->d);
	pthread_mutex_unlock(&a->d->lock);
}

static void attach_free(void *arg)
{
	struct attach *a = arg;

	tty_wait_done(a);
	if (a->log_fd >= 0)
		close(a->log_fd);
	free(a);
}

/* Connect the shim's attach op; -1 on failure. */
static int shim_attach(struct daemon *d, const char *id, bool in, bool out, bool err_s)
{
	json_t *req = json_pack("{s:s, s:b, s:b, s:b}", "op", "attach", "stdin", in, "stdout", out,
				"stderr", err_s), *rep = NULL;
	struct shoal_err err = { 0 };
	int fd = -1, ret;

	ret = ctr_shim_call(d, id, req, &rep, &fd, &err);
	json_decref(req);
	if (ret == 0 && !json_is_true(json_object_get(rep, "ok"))) {
		close(fd);
		fd = -1;
		ret = -1;
	}
	json_decref(rep);
	if (ret < 0)
		log_debug("attach %.12s: %s", id, err.msg);
	return ret < 0 ? -1 : fd;
}

/* Wait until a run starts after `starts` (true), or the container is
 * gone (false); *run gets that run's log offset and exit count. */
static bool wait_start(struct daemon *d, const char *id, uint64_t starts, off_t *log_off,
		       uint64_t *start_exits)
{
	struct ctr_rt *rt;
	bool ok = false;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		rt = ctr_rt_get(d, id);
		if (rt && rt->starts > starts) { /* even if it is over already */
			*log_off = rt->log_off;
			*start_exits = rt->start_exits;
			ok = true;
			break;
		}
		if (!rt || rt->removed)
			break;
		pthread_cond_wait(&d->ctr->changed, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/*
 * Sleep up to ms, or until a container changes state (ctr_changed): the
 * end of a run wakes an attached client at once rather than at the next
 * tick, and `shoal run` waits for the end of its attach stream.
 */
static void wait_changed(struct daemon *d, int ms)
{
	struct timespec ts;
	uint64_t gen;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&d->lock);
	gen = d->ctr->gen;
	while (d->ctr->gen == gen)
		if (pthread_cond_timedwait(&d->ctr->changed, &d->lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&d->lock);
}

/* Whether the run that began with start_exits exits has ended. */
static bool run_over(struct daemon *d, const char *id, uint64_t start_exits)
{
	struct ctr_rt *rt;
	bool over;

	pthread_mutex_lock(&d->lock);
	rt = ctr_rt_get(d, id);
	over = !rt || rt->removed || rt->exits > start_exits;
	pthread_mutex_unlock(&d->lock);
	return over;
}

static void attach_run(void *arg, int cfd, const char *extra, size_t n)
{
	struct attach *a = arg;
	struct log_opts o = { .out = a->out, .err = a->err, .tty = a->tty, .tail = -1 };
	uint64_t start_exits = 0;
	off_t off = 0;
	int sfd;

	if (a->logs && a->log_fd >= 0 && send_log_fd(cfd, a->log_fd, &o, &off) < 0)
		return;
	if (!a->stream)
		return;
	if (!a->was_running && !wait_start(a->d, a->id, a->starts, &off, &start_exits))
		return;
	if (a->was_running) {
		sfd = shim_attach(a->d, a->id, a->in, a->out, a->err);
		if (sfd < 0)
			return;
		relay(cfd, sfd, a->tty, a->out, a->err, a->in, extra, n);
		close(sfd);
		return;
	}
	if (a->tty) {
		/* A terminal needs bytes as they come (a prompt has no newline):
		 * the attach op, with what the run logged before it connected
		 * (the log up to just before the connect) sent first. */
		struct stat st;
		off_t upto = fstat(a->log_fd, &st) == 0 ? st.st_size : off;

		sfd = shim_attach(a->d, a->id, a->in, a->out, a->err);
		tty_wait_done(a); /* connected (or not): the init may go on */
		if (sfd < 0) {
			/* finished already: all of it is in the log */
			if (a->log_fd >= 0)
				send_log_fd(cfd, a->log_fd, &o, &off);
			return;
		}
		if (a->log_fd >= 0 && upto > off)
			send_log_range(cfd, a->log_fd, &o, &off, upto);
		relay(cfd, sfd, a->tty, a->out, a->err, a->in, extra, n);
		close(sfd);
		return;
	}
	/* Attached before start: the run's output from the log, stdin via the shim. */
	sfd = a->in ? shim_attach(a->d, a->id, true, false, false) : -1;
	if (sfd >= 0 && n && write_all(sfd, extra, n) < 0) {
		close(sfd);
		sfd = -1;
	}
	for (;;) {
		bool over = run_over(a->d, a->id, start_exits);
		struct pollfd p = { .fd = cfd, .events = POLLIN };
		char buf[32768];

		if (a->log_fd < 0 || send_log_fd(cfd, a->log_fd, &o, &off) < 0 || over)
			break;
		/* stdin from the client while we wait for output */
		if (sfd >= 0 && poll(&p, 1, 50) > 0) {
			ssize_t got = read(cfd, buf, sizeof(buf));
			if (got > 0) {
				write_all(sfd, buf, (size_t)got);
			} else {
				shutdown(sfd, SHUT_WR);
				close(sfd);
				sfd = -1;
			}
			continue;
		}
		if (sfd < 0)
			wait_changed(a->d, 50);
	}
	if (sfd >= 0)
		close(sfd);
}

void ctr_api_attach(const struct api_req *q, const char *ref, struct reply *r)
{
	struct shoal_err err = { 0 };
	struct attach *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	ret = ctr_basics(q->d, ref, a->id, &a->tty, &a->was_running, &err);
	if (ret < 0) {
		free(a);
		return api_reply_err(r, ret, &err);
	}
	pthread_mutex_lock(&q->d->lock);
	{
		struct ctr_rt *rt = ctr_rt_get(q->d, a->id);
		a->starts = rt ? rt->starts : 0;
		if (rt && a->tty && !a->was_running && api_query_bool(q, "stream", false)) {
			rt->tty_waiters++;
			a->tty_wait = true;
		}
	}
	pthread_mutex_unlock(&q->d->lock);
	a->d = q->d;
	{
		char path[4300];

		ctr_log_path(q->d, a->id, path, sizeof(path));
		a->log_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	a->in = api_query_bool(q, "stdin", false);
	a->out = api_query_bool(q, "stdout", false);
	a->err = api_query_bool(q, "stderr", false);
	a->logs = api_query_bool(q, "logs", false);
	a->stream = api_query_bool(q, "stream", false);
	r->upgrade = attach_run;
	r->upgrade_free = attach_free;
	r->upgrade_arg = a;
	r->content_type = a->tty ? "application/vnd.docker.raw-stream"
				 : "application/vnd.docker.multiplexed-stream";
}

/* ---- exec ------------------------------------------------------------------------- */

struct exec_inst {
	char id[65];
	char ctr_id[65];
	json_t *cfg;
	bool started, running, has_exit, tty;
	int exit_code;
	int pid;
	struct exec_inst *next;
};

static struct exec_inst *exec_find(struct daemon *d, const char *id)
{
	for (struct exec_inst *e = d->ctr->execs; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

void ctr_exec_forget(struct daemon *d, const char *ctr_id)
{
	struct exec_inst **pp = &d->ctr->execs, *e;

	while ((e = *pp)) {
		if (strcmp(e->ctr_id, ctr_id) == 0 && !e->running) {
			*pp = e->next;
			json_decref(e->cfg);
			free(e);
			continue;
		}
		pp = &e->next;
	}
}

static int check_str_array(json_t *v, const char *what, bool need, struct shoal_err *err)
{
	size_t i;
	json_t *e;

	if (!v || json_is_null(v)) {
		if (need)
			return err_set(err, EINVAL, "No exec command specified");
		return 0;
	}
	if (!json_is_array(v))
		return err_set(err, EINVAL, "%s must be an array of strings", what);
	if (need && json_array_size(v) == 0)
		return err_set(err, EINVAL, "No exec command specified");
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return err_set(err, EINVAL, "%s must be an array of strings", what);
	return 0;
}

void ctr_api_exec_create(const struct api_req *q, const char *ref, struct reply *r)
{
	struct shoal_err err = { 0 };
	struct exec_inst *e;
	char id[65];
	bool tty, running;
	json_t *body;
	int ret;

	body = api_parse_body(q->rc, false, r);
	if (!body)
		return;
	if (json_is_string(json_object_get(body, "Cmd")))
		json_object_set_new(body, "Cmd", json_pack("[O]", json_object_get(body, "Cmd")));
	ret = check_str_array(json_object_get(body, "Cmd"), "Cmd", true, &err);
	if (ret == 0)
		ret = check_str_array(json_object_get(body, "Env"), "Env", false, &err);
	if (ret == 0)
		ret = ctr_basics(q->d, ref, id, &tty, &running, &err);
	if (ret == 0 && !running)
		ret = err_set(&err, EBUSY, "Container %s is not running", id);
	if (ret == 0) {
		struct st_container c;

		pthread_mutex_lock(&q->d->lock);
		if (st_container_find(q->d->ctr->sc, id, &c, NULL) == 0) {
			if (ctr_is_paused(&c))
				ret = err_set(&err, EBUSY,
					      "Container %s is paused, unpause the container before exec", id);
			st_container_free(&c);
		}
		pthread_mutex_unlock(&q->d->lock);
	}
	if (ret < 0) {
		json_decref(body);
		return api_reply_err(r, ret, &err);
	}
	e = calloc(1, sizeof(*e));
	if (!e || util_random_id(e->id) < 0) {
		free(e);
		json_decref(body);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	memcpy(e->ctr_id, id, sizeof(e->ctr_id));
	e->cfg = body;
	e->tty = json_is_true(json_object_get(body, "Tty"));
	pthread_mutex_lock(&q->d->lock);
	e->next = q->d->ctr->execs;
	q->d->ctr->execs = e;
	pthread_mutex_unlock(&q->d->lock);
	r->status = MHD_HTTP_CREATED;
	r->json = json_pack("{s:s}", "Id", e->id);
}

struct exec_run {
	struct daemon *d;
	char id[65];
	char ctr_id[65];
	json_t *req;
	bool tty, in, out, err;
};

static void exec_run_free(void *arg)
{
	struct exec_run *x = arg;

	json_decref(x->req);
	free(x);
}

static void exec_done(struct daemon *d, const char *id, int code)
{
	struct exec_inst *e;

	pthread_mutex_lock(&d->lock);
	e = exec_find(d, id);
	if (e) {
		e->running = false;
		e->has_exit = true;
		e->exit_code = code;
	}
	pthread_mutex_unlock(&d->lock);
}

static void exec_session(void *arg, int cfd, const char *extra, size_t n)
{
	struct exec_run *x = arg;
	struct shoal_err err = { 0 };
	json_t *rep = NULL;
	struct exec_inst *e;
	int sfd = -1, code;

	if (ctr_shim_call(x->d, x->ctr_id, x->req, &rep, &sfd, &err) < 0) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s\n", err.msg);
		send_out(cfd, x->tty, 2, msg, strlen(msg));
		exec_done(x->d, x->id, 126);
		return;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		const char *m = json_string_value(json_object_get(rep, "message"));
		json_t *c = json_object_get(rep, "exit_code");
		char msg[1100];

		snprintf(msg, sizeof(msg), "OCI runtime exec failed: %s\n", m ? m : "exec failed");
		send_out(cfd, x->tty, 2, msg, strlen(msg));
		exec_done(x->d, x->id, json_is_integer(c) ? (int)json_integer_value(c) : 126);
		json_decref(rep);
		close(sfd);
		return;
	}
	pthread_mutex_lock(&x->d->lock);
	e = exec_find(x->d, x->id);
	if (e)
		e->pid = (int)json_integer_value(json_object_get(rep, "pid"));
	pthread_mutex_unlock(&x->d->lock);
	json_decref(rep);
	code = relay(cfd, sfd, x->tty, x->out, x->err, x->in, extra, n);
	close(sfd);
	exec_done(x->d, x->id, code < 0 ? 255 : code);
}

static void *exec_detached(void *arg)
{
	exec_session(arg, -1, NULL, 0);
	exec_run_free(arg);
	return NULL;
}

static json_t *exec_json(const struct exec_inst *e)
{
	json_t *cmd = json_object_get(e->cfg, "Cmd"), *args = json_deep_copy(cmd);
	const char *ep = json_string_value(json_array_get(cmd, 0));

	json_array_remove(args, 0);
	return json_pack("{s:s, s:b, s:o, s:{s:b, s:s, s:o, s:b, s:s}, s:b, s:b, s:b, s:b, s:s, s:s, s:i}",
			 "ID", e->id, "Running", e->running, "ExitCode",
			 e->has_exit ? json_integer(e->exit_code) : json_null(), "ProcessConfig",
			 "tty", e->tty, "entrypoint", ep ? ep : "", "arguments", args, "privileged",
			 json_is_true(json_object_get(e->cfg, "Privileged")), "user",
			 json_string_value(json_object_get(e->cfg, "User")) ?: "", "OpenStdin",
			 json_is_true(json_object_get(e->cfg, "AttachStdin")), "OpenStderr",
			 json_is_true(json_object_get(e->cfg, "AttachStderr")), "OpenStdout",
			 json_is_true(json_object_get(e->cfg, "AttachStdout")), "CanRemove", 0,
			 "ContainerID", e->ctr_id, "DetachKeys", "", "Pid", e->pid);
}

/* The container's Env with the exec's over it, as Docker merges them
 * (d->lock held). */
static json_t *exec_env(struct daemon *d, const struct exec_inst *e)
{
	json_t *env = json_array(), *v, *cfg;
	struct st_container c;
	size_t i;

	if (st_container_find(d->ctr->sc, e->ctr_id, &c, NULL) == 0) {
		cfg = load_obj(c.config);
		if (json_is_array(json_object_get(cfg, "Env")))
			json_array_extend(env, json_object_get(cfg, "Env"));
		json_decref(cfg);
		st_container_free(&c);
	}
	json_array_foreach(json_object_get(e->cfg, "Env"), i, v) {
		const char *kv = json_string_value(v), *eq = strchr(kv, '=');
		size_t kl = eq ? (size_t)(eq - kv) : strlen(kv), j;
		json_t *o;
		bool set = false;

		json_array_foreach(env, j, o) {
			const char *s = json_string_value(o);
			if (strncmp(s, kv, kl) == 0 && (s[kl] == '=' || s[kl] == '\0')) {
				json_array_set(env, j, v);
				set = true;
				break;
			}
		}
		if (!set)
			json_array_append(env, v);
	}
	return env;
}

static void exec_start(const struct api_req *q, const char *id, struct reply *r)
{
	struct exec_inst *e;
	struct exec_run *x;
	json_t *body;
	bool detach;

	body = api_parse_body(q->rc, true, r);
	if (!body)
		return;
	detach = json_is_true(json_object_get(body, "Detach"));
	x = calloc(1, sizeof(*x));
	if (!x) {
		json_decref(body);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	pthread_mutex_lock(&q->d->lock);
	e = exec_find(q->d, id);
	if (!e) {
		pthread_mutex_unlock(&q->d->lock);
		free(x);
		json_decref(body);
		char msg[300];
		snprintf(msg, sizeof(msg), "No such exec instance: %s", id);
		return api_reply_msg(r, MHD_HTTP_NOT_FOUND, msg);
	}
	if (e->started) {
		pthread_mutex_unlock(&q->d->lock);
		free(x);
		json_decref(body);
		char msg[300];
		snprintf(msg, sizeof(msg), "Error: Exec command %s has already run", id);
		return api_reply_msg(r, MHD_HTTP_CONFLICT, msg);
	}
	e->started = e->running = true;
	if (json_object_get(body, "Tty"))
		e->tty = json_is_true(json_object_get(body, "Tty"));
	x->d = q->d;
	memcpy(x->id, e->id, sizeof(x->id));
	memcpy(x->ctr_id, e->ctr_id, sizeof(x->ctr_id));
	x->tty = e->tty;
	x->in = !detach && json_is_true(json_object_get(e->cfg, "AttachStdin"));
	x->out = json_is_true(json_object_get(e->cfg, "AttachStdout")) || detach;
	x->err = json_is_true(json_object_get(e->cfg, "AttachStderr")) || detach;
	x->req = json_pack("{s:s, s:O, s:o, s:s, s:s, s:b, s:b}", "op", "exec", "args",
			   json_object_get(e->cfg, "Cmd"), "env", exec_env(q->d, e),
			   "cwd", json_string_value(json_object_get(e->cfg, "WorkingDir")) ?: "",
			   "user", json_string_value(json_object_get(e->cfg, "User")) ?: "", "tty",
			   x->tty, "stdin", x->in);
	pthread_mutex_unlock(&q->d->lock);
	json_decref(body);
	if (detach) {
		if (!detach_thread(exec_detached, x)) {
			exec_run_free(x);
			exec_done(q->d, id, 126);
			return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "thread failed");
		}
		r->status = MHD_HTTP_OK;
		return;
	}
	r->upgrade = exec_session;
	r->upgrade_free = exec_run_free;
	r->upgrade_arg = x;
	r->content_type = x->tty ? "application/vnd.docker.raw-stream"
				 : "application/vnd.docker.multiplexed-stream";
}

void ctr_api_exec(const struct api_req *q, struct reply *r)
{
	struct exec_inst *e;
	char id[128], ctr[65];
	const char *tail;
	int pid;

	if (!api_match_prefix(q->path, "/exec/", id, sizeof(id), &tail))
		return api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
	if (strcmp(tail, "/start") == 0 && strcmp(q->method, "POST") == 0)
		return exec_start(q, id, r);
	pthread_mutex_lock(&q->d->lock);
	e = exec_find(q->d, id);
	if (e && strcmp(tail, "/json") == 0 && strcmp(q->method, "GET") == 0) {
		r->json = exec_json(e);
		r->status = MHD_HTTP_OK;
		pthread_mutex_unlock(&q->d->lock);
		return;
	}
	if (e) {
		memcpy(ctr, e->ctr_id, sizeof(ctr));
		pid = e->pid;
	}
	pthread_mutex_unlock(&q->d->lock);
	if (!e) {
		char msg[300];
		snprintf(msg, sizeof(msg), "No such exec instance: %s", id);
		return api_reply_msg(r, MHD_HTTP_NOT_FOUND, msg);
	}
	if (strcmp(tail, "/resize") == 0 && strcmp(q->method, "POST") == 0)
		return ctr_api_resize(q, ctr, pid, r);
	api_reply_msg(r, MHD_HTTP_NOT_FOUND, "page not found");
}
