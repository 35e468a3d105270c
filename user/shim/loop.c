// SPDX-License-Identifier: Apache-2.0
/*
 * loop.c - the shim's single-threaded poll loop: container output to the
 * json-file log and to attached clients as frames, client stdin to the
 * container, the control ops of include/shoal_shim.h (wait, kill,
 * attach, exec, resize), and reaping (as a subreaper: everything; init's
 * status is the container's). After init exits and its output is
 * drained: exit.json, answers to waiters, shim.sock removed, return.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/log.h"
#include "../common/util.h"
#include "shoal_shim.h"
#include "shim_loop.h"

#define READ_CHUNK (64 * 1024)
#define REQ_MAX (64 * 1024)
#define ATTACH_MAX (8 * 1024 * 1024)    /* queued for a slow attach client */
#define EXEC_BACKLOG (1024 * 1024)      /* stop reading an exec's output */
#define STDIN_BACKLOG (1024 * 1024)     /* stop reading a client's stdin */
#define INIT_DRAIN_MS 2000              /* output after init's exit */
#define EXEC_DRAIN_MS 200               /* output after an exec's exit */
#define EXEC_SETUP_MS 60000             /* an exec's setup, at most */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static struct proc *proc_add(struct shim *s, const struct rt_proc *rp, bool is_init)
{
	struct proc *p = calloc(1, sizeof(*p)), **tail = &s->procs;

	if (!p)
		return NULL;
	p->rp = *rp;
	p->is_init = is_init;
	set_nonblock(rp->in_w);
	set_nonblock(rp->out_r);
	set_nonblock(rp->err_r);
	p->err_eof = rp->err_r < 0;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	return p;
}

static void proc_exited(struct proc *p, int status)
{
	p->exited = true;
	p->exited_ms = now_ms();
	if (WIFSIGNALED(status)) {
		p->signal = WTERMSIG(status);
		p->exit_code = 128 + p->signal;
	} else {
		p->exit_code = WEXITSTATUS(status);
	}
}

void shim_add_init(struct shim *s, const struct rt_proc *init)
{
	if (!proc_add(s, init, true)) {
		log_error("out of memory");
		exit(1);
	}
}

static void proc_free(struct shim *s, struct proc *p)
{
	struct proc **pp;

	for (pp = &s->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->rp.master >= 0) {
		close(p->rp.master);
	} else {
		if (p->rp.in_w >= 0)
			close(p->rp.in_w);
		if (p->rp.out_r >= 0)
			close(p->rp.out_r);
		if (p->rp.err_r >= 0)
			close(p->rp.err_r);
	}
	if (p->rp.held >= 0)
		close(p->rp.held);
	if (p->owner)
		p->owner->proc = NULL;
	buf_free(&p->in);
	free(p);
}

static struct client *client_add(struct shim *s, int fd)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->next = s->clients;
	s->clients = c;
	return c;
}

/* Mark a client gone; reap_clients() frees it between poll rounds so
 * no slot of the current round points at freed memory. */
static void client_free(struct shim *s, struct client *c)
{
	(void)s;
	if (c->state == C_EXEC_START)
		rt_exec_abort(&c->pend);
	if (c->proc)
		c->proc->owner = NULL;
	c->proc = NULL;
	c->dead = true;
}

static void client_destroy(struct shim *s, struct client *c)
{
	struct client **pp;

	for (pp = &s->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->proc)
		c->proc->owner = NULL;
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void client_reply(struct client *c, json_t *j)
{
	char *txt = json_dumps(j, JSON_COMPACT);

	if (txt) {
		buf_add(&c->out, txt, strlen(txt));
		buf_add(&c->out, "\n", 1);
		free(txt);
	}
	json_decref(j);
}

static void client_error(struct client *c, const char *msg)
{
	client_reply(c, json_pack("{sbss}", "ok", 0, "message", msg));
	c->state = C_CLOSING;
}

static void client_frame(struct client *c, int type, const void *data, size_t n)
{
	unsigned char hdr[SHIM_FRAME_HDR] = { (unsigned char)type, 0, 0, 0 };
	uint32_t len = htonl((uint32_t)n);

	memcpy(hdr + 4, &len, 4);
	buf_add(&c->out, hdr, sizeof(hdr));
	buf_add(&c->out, data, n);
}

static struct proc *init_proc(struct shim *s)
{
	return s->procs && s->procs->is_init ? s->procs : NULL;
}

/* ---- container output ---- */

static void proc_output(struct shim *s, struct proc *p, int stream, const char *d, size_t n)
{
	int type = stream ? SHIM_FRAME_STDERR : SHIM_FRAME_STDOUT;

	if (!p->is_init) {
		if (p->owner)
			client_frame(p->owner, type, d, n);
		return;
	}
	jlog_write(&s->log, stream, d, n);
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->dead || c->state != C_ATTACH || !(stream ? c->want_err : c->want_out))
			continue;
		if (c->out.len > ATTACH_MAX) {
			log_warn("attach client too slow (%zu bytes queued), dropping it", c->out.len);
			c->state = C_CLOSING;
			c->out.len = 0;
			shutdown(c->fd, SHUT_RDWR);
			continue;
		}
		client_frame(c, type, d, n);
	}
}

static void proc_read(struct shim *s, struct proc *p, int stream)
{
	int fd = stream ? p->rp.err_r : p->rp.out_r;
	char buf[READ_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		proc_output(s, p, stream, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF, or EIO on a pty master once every slave is closed. */
	if (stream)
		p->err_eof = true;
	else
		p->out_eof = true;
	if (p->is_init)
		jlog_flush(&s->log, stream);
}

/* Read what is there right now (before giving up on a stream). */
static void proc_drain(struct shim *s, struct proc *p)
{
	for (int stream = 0; stream < 2; stream++)
		for (int i = 0; i < 64 && !(stream ? p->err_eof : p->out_eof); i++) {
			struct pollfd pf = { .fd = stream ? p->rp.err_r : p->rp.out_r,
					     .events = POLLIN };

			if (poll(&pf, 1, 0) <= 0)
				break;
			proc_read(s, p, stream);
		}
}

/* ---- container stdin ---- */

static void proc_stdin_close(struct proc *p)
{
	if (p->rp.in_w < 0)
		return;
	if (p->rp.master >= 0) {
		/* A tty has no EOF of its own: send ^D as a terminal would. */
		buf_add(&p->in, "\x04", 1);
		p->in_eof = false;
		return;
	}
	close(p->rp.in_w);
	p->rp.in_w = -1;
}

static void proc_write(struct proc *p)
{
	ssize_t n;

	if (p->in.len) {
		n = write(p->rp.in_w, p->in.data, p->in.len);
		if (n > 0)
			buf_drop(&p->in, (size_t)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			/* The reader is gone: nobody will read the rest. */
			p->in.len = 0;
			if (p->rp.master < 0) {
				close(p->rp.in_w);
				p->rp.in_w = -1;
			}
			return;
		}
	}
	if (!p->in.len && p->in_eof)
		proc_stdin_close(p);
}

static void proc_stdin(struct proc *p, const char *d, size_t n, bool eof)
{
	if (!p || p->rp.in_w < 0 || p->exited)
		return;
	if (n)
		buf_add(&p->in, d, n);
	if (eof)
		p->in_eof = true;
	proc_write(p);
}

/* ---- requests ---- */

static void client_stdin(struct shim *s, struct client *c, const char *d, size_t n, bool eof);

static char **json_strv(json_t *a)
{
	size_t i, n = json_is_array(a) ? json_array_size(a) : 0;
	char **v = calloc(n + 1, sizeof(*v));
	json_t *x;

	if (!v)
		return NULL;
	json_array_foreach(a, i, x) {
		if (!json_is_string(x)) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
		v[i] = strdup(json_string_value(x));
	}
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void op_kill(struct shim *s, struct client *c, json_t *req)
{
	struct proc *init = init_proc(s);
	json_t *sig = json_object_get(req, "signal");
	int signo = json_is_integer(sig) ? (int)json_integer_value(sig) : SIGKILL;
	char msg[128];

	if (signo <= 0 || signo >= NSIG) {
		snprintf(msg, sizeof(msg), "invalid signal %d", signo);
		client_error(c, msg);
		return;
	}
	if (!init || init->exited) {
		client_error(c, "container is not running");
		return;
	}
	if (json_is_true(json_object_get(req, "all")))
		rt_kill_all(init->rp.pid, signo);
	else if (kill(init->rp.pid, signo) < 0) {
		snprintf(msg, sizeof(msg), "kill %d: %s", (int)init->rp.pid, strerror(errno));
		client_error(c, msg);
		return;
	}
	client_reply(c, json_pack("{sb}", "ok", 1));
	c->state = C_CLOSING;
}

static void op_attach(struct shim *s, struct client *c, json_t *req)
{
	c->want_in = json_is_true(json_object_get(req, "stdin")) && s->cfg.open_stdin;
	c->want_out = json_is_true(json_object_get(req, "stdout"));
	c->want_err = json_is_true(json_object_get(req, "stderr"));
	client_reply(c, json_pack("{sb}", "ok", 1));
	c->state = C_ATTACH;
}

static void op_exec(struct shim *s, struct client *c, json_t *req)
{
	struct proc *init = init_proc(s);
	struct rt_exec_spec spec = {
		.args = json_strv(json_object_get(req, "args")),
		.env = json_strv(json_object_get(req, "env")),
		.cwd = json_string_value(json_object_get(req, "cwd")),
		.user = json_string_value(json_object_get(req, "user")),
		.tty = json_is_true(json_object_get(req, "tty")),
		.open_stdin = json_is_true(json_object_get(req, "stdin")),
	};
	struct shoal_err err = { 0 };
	int code = 125;

	if (!spec.args || !spec.env || !spec.args[0] || !spec.args[0][0]) {
		client_error(c, "exec: args must be a non-empty array of strings, env an array of strings");
		goto out;
	}
	if (!init || init->exited) {
		client_error(c, "container is not running");
		goto out;
	}
	if (s->paused) {
		/* Its setup would hang in the frozen cgroup. */
		client_error(c, "container is paused, unpause the container before exec");
		goto out;
	}
	if (rt_exec_begin(&s->cfg, init->rp.pid, &spec, s->cgroup, &c->pend, &code, &err) < 0) {
		client_reply(c, json_pack("{sbsiss}", "ok", 0, "exit_code", code, "message", err.msg));
		c->state = C_CLOSING;
		goto out;
	}
	/* The reply waits for the process's own setup (exec_step). */
	c->want_in = spec.open_stdin;
	c->state = C_EXEC_START;
	c->deadline_ms = now_ms() + EXEC_SETUP_MS;
out:
	strv_free(spec.args);
	strv_free(spec.env);
}

/* The exec'd process reported: started (reply, then frames) or failed. */
static void exec_step(struct shim *s, struct client *c)
{
	struct shoal_err err = { 0 };
	struct rt_proc rp;
	bool reaped = c->pend.reaped;
	int code = 125, ret, status = c->pend.status;
	struct proc *p;

	ret = rt_exec_step(&c->pend, &rp, &code, &err);
	if (ret == 1)
		return;
	if (ret < 0) {
		client_reply(c, json_pack("{sbsiss}", "ok", 0, "exit_code", code, "message", err.msg));
		c->state = C_CLOSING;
		return;
	}
	p = proc_add(s, &rp, false);
	if (!p) {
		kill(rp.pid, SIGKILL);
		client_error(c, "out of memory");
		return;
	}
	/* Died right after its execve, before we read the report. */
	if (reaped)
		proc_exited(p, status);
	p->owner = c;
	c->proc = p;
	c->state = C_EXEC;
	client_reply(c, json_pack("{sbsi}", "ok", 1, "pid", (int)rp.pid));
	/* stdin the client sent with its request */
	if (c->in.len)
		client_stdin(s, c, c->in.data, c->in.len, false);
	buf_free(&c->in);
}

static void exec_abort(struct client *c, const char *why)
{
	rt_exec_abort(&c->pend);
	client_reply(c, json_pack("{sbsiss}", "ok", 0, "exit_code", 125, "message", why));
	c->state = C_CLOSING;
}

static void op_resize(struct shim *s, struct client *c, json_t *req)
{
	int pid = (int)json_integer_value(json_object_get(req, "pid"));
	struct winsize ws = {
		.ws_row = (unsigned short)json_integer_value(json_object_get(req, "height")),
		.ws_col = (unsigned short)json_integer_value(json_object_get(req, "width")),
	};
	struct proc *p;

	for (p = s->procs; p; p = p->next)
		if (pid == 0 ? p->is_init : p->rp.pid == pid)
			break;
	if (!p || p->exited) {
		client_error(c, "no such process");
		return;
	}
	if (p->rp.master < 0) {
		client_error(c, "the process has no tty");
		return;
	}
	if (ioctl(p->rp.master, TIOCSWINSZ, &ws) < 0) {
		client_error(c, strerror(errno));
		return;
	}
	client_reply(c, json_pack("{sb}", "ok", 1));
	c->state = C_CLOSING;
}

/* pause/resume: the cgroup's freezer (v2), else the v1 freezer (every
 * process of the container moved into freezer/shoal/<id>), else
 * SIGSTOP/SIGCONT to every process (pid 1 included: forced from outside). */
static void op_pause(struct shim *s, struct client *c, bool pause)
{
	struct proc *init = init_proc(s);
	struct shoal_err err = { 0 };

	if (!init || init->exited) {
		client_error(c, "container is not running");
		return;
	}
	if (s->paused == pause) {
		client_error(c, pause ? "container is already paused" : "container is not paused");
		return;
	}
	if (s->cgroup) {
		if (rt_cgroup_freeze(s->cgroup, pause, &err) < 0) {
			client_error(c, err.msg);
			return;
		}
	} else if (s->freezer_v1 || (pause && rt_freezer_v1_available())) {
		if (rt_freezer_v1(s->cfg.id, init->rp.pid, pause, &err) < 0) {
			client_error(c, err.msg);
			return;
		}
		s->freezer_v1 = true;
	} else if (rt_kill_all(init->rp.pid, pause ? SIGSTOP : SIGCONT) < 0) {
		client_error(c, "cannot signal the container's processes");
		return;
	} else {
		/* Paused means stopped when we answer (1 s at most). */
		for (int i = 0; pause && i < 100 && rt_kill_all(init->rp.pid, 0) > 0; i++)
			usleep(10000);
	}
	s->paused = pause;
	client_reply(c, json_pack("{sbsb}", "ok", 1, "paused", pause));
	c->state = C_CLOSING;
}

/* A container made with "hold": let its init execve now. */
static void op_start(struct shim *s, struct client *c)
{
	struct proc *init = init_proc(s);
	struct shoal_err err = { 0 };
	int code = 125;

	if (!init || init->exited) {
		client_error(c, "container is not running");
		return;
	}
	if (rt_container_release(&init->rp, &code, &err) < 0) {
		client_reply(c, json_pack("{sbsiss}", "ok", 0, "exit_code", code, "message", err.msg));
		c->state = C_CLOSING;
		return;
	}
	client_reply(c, json_pack("{sbsi}", "ok", 1, "pid", (int)init->rp.pid));
	c->state = C_CLOSING;
}

static void handle_request(struct shim *s, struct client *c, const char *line, size_t n)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, n, 0, &jerr);
	const char *op = json_string_value(json_object_get(req, "op"));
	char msg[300];

	if (!req || !op) {
		snprintf(msg, sizeof(msg), "bad request: %s", req ? "no \"op\"" : jerr.text);
		client_error(c, msg);
	} else if (!strcmp(op, "wait")) {
		c->state = C_WAIT;
	} else if (!strcmp(op, "kill")) {
		op_kill(s, c, req);
	} else if (!strcmp(op, "attach")) {
		op_attach(s, c, req);
	} else if (!strcmp(op, "exec")) {
		op_exec(s, c, req);
	} else if (!strcmp(op, "resize")) {
		op_resize(s, c, req);
	} else if (!strcmp(op, "start")) {
		op_start(s, c);
	} else if (!strcmp(op, "pause") || !strcmp(op, "resume")) {
		op_pause(s, c, !strcmp(op, "pause"));
	} else {
		snprintf(msg, sizeof(msg), "unknown op \"%s\"", op);
		client_error(c, msg);
	}
	json_decref(req);
}

/* Where this client's raw bytes go after its request. */
static struct proc *stdin_target(struct shim *s, struct client *c)
{
	if (!c->want_in)
		return NULL;
	if (c->state == C_ATTACH)
		return init_proc(s);
	return c->state == C_EXEC ? c->proc : NULL;
}

static void client_stdin(struct shim *s, struct client *c, const char *d, size_t n, bool eof)
{
	struct proc *p = stdin_target(s, c);
	bool close_in = eof && (c->state == C_EXEC || s->cfg.stdin_once);

	proc_stdin(p, d, n, close_in);
}

static void client_read(struct shim *s, struct client *c)
{
	char buf[READ_CHUNK];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_free(s, c);
		return;
	}
	if (n == 0) {
		c->rd_eof = true;
		if (c->state == C_REQ) {
			client_free(s, c);
			return;
		}
		client_stdin(s, c, NULL, 0, true);
		return;
	}
	if (c->state != C_REQ) {
		client_stdin(s, c, buf, (size_t)n, false);
		return;
	}
	buf_add(&c->in, buf, (size_t)n);
	char *nl = memchr(c->in.data, '\n', c->in.len);

	if (!nl) {
		if (c->in.len > REQ_MAX)
			client_error(c, "request line too long");
		return;
	}
	handle_request(s, c, c->in.data, (size_t)(nl - c->in.data));
	if (c->state == C_EXEC_START) {
		/* Kept for the process once it runs (exec_step). */
		buf_drop(&c->in, (size_t)(nl - c->in.data) + 1);
		return;
	}
	/* Bytes after the request line are already stdin. */
	if (c->state == C_ATTACH || c->state == C_EXEC) {
		size_t off = (size_t)(nl - c->in.data) + 1;

		if (off < c->in.len)
			client_stdin(s, c, c->in.data + off, c->in.len - off, false);
	}
	buf_free(&c->in);
}

static void client_write(struct shim *s, struct client *c)
{
	ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0)
		buf_drop(&c->out, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		client_free(s, c);
}

/* ---- children ---- */


static void reap(struct shim *s)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si))
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		/* An exec that died in its setup: its report says why. */
		for (struct client *c = s->clients; c; c = c->next)
			if (c->state == C_EXEC_START && c->pend.pid == pid) {
				c->pend.reaped = true;
				c->pend.status = status;
			}
		for (struct proc *p = s->procs; p; p = p->next) {
			if (p->rp.pid != pid)
				continue;
			proc_exited(p, status);
			if (p->is_init)
				log_info("container init %d exited with %d", (int)pid, p->exit_code);
		}
	}
}

static bool proc_done(struct proc *p, int64_t now)
{
	if (!p->exited)
		return false;
	if (p->out_eof && p->err_eof)
		return true;
	return now - p->exited_ms >= (p->is_init ? INIT_DRAIN_MS : EXEC_DRAIN_MS);
}

static void exec_finish(struct shim *s, struct proc *p)
{
	struct client *c = p->owner;

	proc_drain(s, p);
	if (c) {
		uint32_t code = htonl((uint32_t)p->exit_code);

		client_frame(c, SHIM_FRAME_EXIT, &code, sizeof(code));
		c->state = C_CLOSING;
		c->proc = NULL;
	}
	p->owner = NULL;
	proc_free(s, p);
}

/* ---- the loop ---- */

enum slot_kind { K_SIG, K_LISTEN, K_OUT, K_ERR, K_IN, K_CLIENT, K_PENDING };

struct slot {
	enum slot_kind kind;
	void *ptr;
};

struct pollset {
	struct pollfd *pfd;
	struct slot *slot;
	size_t n, cap;
};

static void ps_add(struct pollset *ps, int fd, short ev, enum slot_kind k, void *ptr)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 32;
		ps->pfd = realloc(ps->pfd, ps->cap * sizeof(*ps->pfd));
		ps->slot = realloc(ps->slot, ps->cap * sizeof(*ps->slot));
		if (!ps->pfd || !ps->slot) {
			log_error("out of memory");
			exit(1);
		}
	}
	ps->pfd[ps->n] = (struct pollfd){ .fd = fd, .events = ev };
	ps->slot[ps->n] = (struct slot){ k, ptr };
	ps->n++;
}

static void ps_build(struct shim *s, struct pollset *ps)
{
	ps->n = 0;
	ps_add(ps, s->sig_fd, POLLIN, K_SIG, NULL);
	if (s->listen_fd >= 0)
		ps_add(ps, s->listen_fd, POLLIN, K_LISTEN, NULL);
	for (struct proc *p = s->procs; p; p = p->next) {
		bool backlog = !p->is_init && p->owner && p->owner->out.len > EXEC_BACKLOG;

		if (!p->out_eof && !backlog)
			ps_add(ps, p->rp.out_r, POLLIN, K_OUT, p);
		if (!p->err_eof && !backlog)
			ps_add(ps, p->rp.err_r, POLLIN, K_ERR, p);
		if (p->rp.in_w >= 0 && p->in.len)
			ps_add(ps, p->rp.in_w, POLLOUT, K_IN, p);
	}
	for (struct client *c = s->clients; c; c = c->next) {
		struct proc *t = stdin_target(s, c);
		short ev = 0;

		if (c->dead)
			continue;
		if (c->state == C_EXEC_START)
			ps_add(ps, c->pend.sync, POLLIN, K_PENDING, c);
		else if (!c->rd_eof && c->state != C_CLOSING && !(t && t->in.len > STDIN_BACKLOG))
			ev |= POLLIN;
		if (c->out.len)
			ev |= POLLOUT;
		ps_add(ps, c->fd, ev, K_CLIENT, c);
	}
}

static bool client_alive(struct shim *s, struct client *c)
{
	(void)s;
	return !c->dead;
}

static bool proc_alive(struct shim *s, struct proc *p)
{
	for (struct proc *x = s->procs; x; x = x->next)
		if (x == p)
			return true;
	return false;
}

static void handle_slot(struct shim *s, struct pollfd *pf, struct slot *sl)
{
	struct client *c = sl->ptr;
	struct proc *p = sl->ptr;
	int fd;

	if (!pf->revents)
		return;
	switch (sl->kind) {
	case K_SIG:
		reap(s);
		break;
	case K_LISTEN:
		while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			client_add(s, fd);
		break;
	case K_OUT:
	case K_ERR:
		if (proc_alive(s, p))
			proc_read(s, p, sl->kind == K_ERR);
		break;
	case K_IN:
		if (proc_alive(s, p) && p->rp.in_w >= 0)
			proc_write(p);
		break;
	case K_PENDING:
		if (client_alive(s, c) && c->state == C_EXEC_START)
			exec_step(s, c);
		break;
	case K_CLIENT:
		if (!client_alive(s, c))
			break;
		if (pf->revents & POLLOUT) {
			client_write(s, c);
			if (!client_alive(s, c))
				break;
		}
		if (pf->revents & POLLIN) {
			client_read(s, c);
			if (!client_alive(s, c))
				break;
		}
		if ((pf->revents & (POLLHUP | POLLERR)) && !(pf->revents & POLLIN))
			client_free(s, c);
		break;
	}
}

/* Clients that said everything they had to say. */
static void reap_clients(struct shim *s)
{
	struct client *c = s->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead || (c->state == C_CLOSING && !c->out.len))
			client_destroy(s, c);
	}
}

static int write_exit_json(struct shim *s, struct proc *init, bool oom, const char *when)
{
	json_t *j = json_pack("{sisisssb}", "exit_code", init->exit_code, "signal", init->signal,
			      "finished_at", when, "oom_killed", oom);
	int ret = json_dump_file(j, "exit.json.tmp", JSON_COMPACT);

	json_decref(j);
	(void)s;
	if (ret < 0 || rename("exit.json.tmp", "exit.json") < 0) {
		log_error("write exit.json: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Give clients up to 2 s to take what is queued for them. */
static void flush_clients(struct shim *s)
{
	int64_t end = now_ms() + 2000;

	reap_clients(s);
	while (s->clients && now_ms() < end) {
		struct pollset ps = { 0 };

		for (struct client *c = s->clients; c; c = c->next)
			if (!c->dead)
				ps_add(&ps, c->fd, POLLOUT, K_CLIENT, c);
		if (!ps.n)
			break;
		if (poll(ps.pfd, ps.n, 100) > 0)
			for (size_t i = 0; i < ps.n; i++)
				if (ps.pfd[i].revents && client_alive(s, ps.slot[i].ptr)) {
					struct client *c = ps.slot[i].ptr;

					if (ps.pfd[i].revents & POLLOUT)
						client_write(s, c);
					else
						client_free(s, c);
				}
		free(ps.pfd);
		free(ps.slot);
		reap_clients(s);
	}
	while (s->clients)
		client_destroy(s, s->clients);
}

static void finish(struct shim *s, struct proc *init)
{
	char when[40];
	bool oom = false;

	proc_drain(s, init);
	jlog_close(&s->log);
	shim_time_now(when);
	for (struct client *c = s->clients; c; c = c->next)
		if (!c->dead && c->state == C_EXEC_START)
			exec_abort(c, "container is not running");
	/* Execs died with the pid namespace; say so to their clients. */
	while (s->procs && s->procs->next)
		exec_finish(s, s->procs->next);
	if (s->cgroup) {
		oom = rt_cgroup_oom_killed(s->cgroup);
		rt_cgroup_remove(s->cgroup);
	}
	if (s->freezer_v1)
		rt_freezer_v1_remove(s->cfg.id);
	write_exit_json(s, init, oom, when);
	close(s->listen_fd);
	s->listen_fd = -1;
	unlink("shim.sock");
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->state == C_WAIT)
			client_reply(c, json_pack("{sbsisisssb}", "ok", 1, "exit_code", init->exit_code,
						  "signal", init->signal, "finished_at", when,
						  "oom_killed", oom));
		c->state = C_CLOSING;
	}
	flush_clients(s);
	proc_free(s, init);
	while (s->procs)
		proc_free(s, s->procs);
}

void shim_run(struct shim *s)
{
	struct pollset ps = { 0 };

	for (;;) {
		struct proc *init = init_proc(s), *p, *next;
		int64_t now = now_ms();
		int timeout = -1;

		for (p = s->procs; p; p = next) {
			next = p->next;
			if (!p->is_init && proc_done(p, now))
				exec_finish(s, p);
		}
		if (!init || proc_done(init, now))
			break;
		reap_clients(s);
		for (p = s->procs; p; p = p->next)
			if (p->exited)
				timeout = 50;
		for (struct client *c = s->clients; c; c = c->next) {
			if (c->dead || c->state != C_EXEC_START)
				continue;
			if (now >= c->deadline_ms)
				exec_abort(c, "exec setup timed out");
			else if (timeout < 0 || c->deadline_ms - now < timeout)
				timeout = (int)(c->deadline_ms - now);
		}
		ps_build(s, &ps);
		if (poll(ps.pfd, ps.n, timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < ps.n; i++)
			handle_slot(s, &ps.pfd[i], &ps.slot[i]);
	}
	free(ps.pfd);
	free(ps.slot);
	if (init_proc(s))
		finish(s, init_proc(s));
	jlog_close(&s->log);
	rt_config_free(&s->cfg);
}
