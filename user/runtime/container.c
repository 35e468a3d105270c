// SPDX-License-Identifier: Apache-2.0
/*
 * container.c - starting a container's init and exec'ing into it.
 *
 * init: clone(NEWNS|NEWPID|NEWUTS|NEWIPC[|NEWNET]) from the shim. The
 * child waits for "G" (sent once the shim has put it in its cgroup),
 * joins the configured network namespace, builds its filesystem
 * (fs.c) and execs (process.c).
 *
 * exec: a child of the shim setns()es into init's cgroup, ipc, uts, net,
 * pid and mnt namespaces and forks (the pid namespace applies to children only);
 * the grandchild is the process, re-parented to the shim (a subreaper).
 * The middle child reports the grandchild's pid ("I<pid>") and exits;
 * the grandchild's own setup is followed without blocking (rt_exec_step).
 */
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/util.h"
#include "internal.h"

/* Pipes and sync socket of one process being started: [0] shim side. */
struct rt_pipes {
	int sync[2];
	int in[2], out[2], err[2];
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pipes_close(struct rt_pipes *p)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&p->sync[i]);
		close_fd(&p->in[i]);
		close_fd(&p->out[i]);
		close_fd(&p->err[i]);
	}
}

/* in[1]/out[0]/err[0] stay with the shim; the child gets in[0], out[1],
 * err[1]. Without stdin the child reads /dev/null. */
static int pipes_open(struct rt_pipes *p, bool tty, bool open_stdin, struct shoal_err *err)
{
	int fds[2];

	for (int i = 0; i < 2; i++)
		p->sync[i] = p->in[i] = p->out[i] = p->err[i] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->sync) < 0)
		return err_set(err, errno, "socketpair: %s", strerror(errno));
	if (tty)
		return 0;
	if (pipe2(p->out, O_CLOEXEC) < 0 || pipe2(p->err, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe: %s", strerror(errno));
	if (open_stdin) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			return err_set(err, errno, "pipe: %s", strerror(errno));
		p->in[0] = fds[0];
		p->in[1] = fds[1];
	} else {
		p->in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (p->in[0] < 0)
			return err_set(err, errno, "open /dev/null: %s", strerror(errno));
	}
	return 0;
}

/* Hand the shim's ends to out and forget them here. */
static void pipes_give(struct rt_pipes *p, pid_t pid, int master, struct rt_proc *out)
{
	out->pid = pid;
	out->master = master;
	out->in_w = master >= 0 ? master : p->in[1];
	out->out_r = master >= 0 ? master : p->out[0];
	out->err_r = master >= 0 ? -1 : p->err[0];
	out->held = -1;
	p->in[1] = p->out[0] = p->err[0] = -1;
}

static int lo_up(struct shoal_err *err)
{
	struct ifreq ifr = { 0 };
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return err_set(err, errno, "socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return err_set(err, errno, "lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_set(err, errno, "set lo up: %s", strerror(errno));
	return 0;
}

static void wait_go(int sync)
{
	char c;

	while (recv(sync, &c, 1, 0) < 0 && errno == EINTR)
		;
	if (c != 'G')
		_exit(125);
}

__attribute__((noreturn)) static void init_child(const struct rt_config *cfg, struct rt_pipes *p,
						  int netns_fd, bool cgroupns)
{
	struct shoal_err err = { 0 };
	struct rt_child c = {
		.sync = p->sync[1], .args = cfg->args, .env = cfg->env, .cwd = cfg->cwd,
		.user = cfg->user, .tty = cfg->tty, .caps = cfg->caps, .seccomp = cfg->seccomp,
		.console = cfg->tty, .rlimits = cfg->rlimits, .n_rlimits = cfg->n_rlimits,
		.hold = cfg->hold,
		.in = p->in[0], .out = p->out[1], .errfd = p->err[1],
	};

	c.sync = p->sync[1];
	wait_go(c.sync);
	/* Not the shim's protected score (the host's /proc still). */
	if (rt_oom_score_adj(cfg->oom_score_adj, &err) < 0)
		rt_child_fail(c.sync, 125, &err);
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) {
		err_set(&err, errno, "join network namespace %s: %s", cfg->netns, strerror(errno));
		rt_child_fail(c.sync, 125, &err);
	}
	if (!cfg->netns[0] && lo_up(&err) < 0)
		rt_child_fail(c.sync, 125, &err);
	if (netns_fd >= 0)
		lo_up(&err);    /* as CNI does; the daemon may have done it */
	/* In its cgroup now: a cgroup namespace rooted there, so the
	 * container's /sys/fs/cgroup is its own cgroup (Docker on v2). */
	if (cgroupns && unshare(CLONE_NEWCGROUP) < 0) {
		err_set(&err, errno, "cgroup namespace: %s", strerror(errno));
		rt_child_fail(c.sync, 125, &err);
	}
	if (rt_fs_setup(cfg, cgroupns, &err) < 0)
		rt_child_fail(c.sync, 125, &err);
	rt_child_exec(&c);
}

/* A container whose setup hangs (a hostile image, a dead NFS bind
 * source) is killed and reported instead of blocking the shim. */
static const struct timeval setup_timeout = { .tv_sec = 60 };

/* Shim side after the child exists: cgroup, go, wait for its report. */
static int start_finish(struct rt_pipes *p, pid_t pid, const char *cgroup, struct rt_proc *out,
			int *code, struct shoal_err *err)
{
	int master = -1, ret = 0;

	close_fd(&p->sync[1]);
	close_fd(&p->in[0]);
	close_fd(&p->out[1]);
	close_fd(&p->err[1]);
	if (cgroup && cgroup[0])
		ret = rt_cgroup_add(cgroup, pid, err);
	if (ret == 0 && setsockopt(p->sync[0], SOL_SOCKET, SO_RCVTIMEO, &setup_timeout,
				   sizeof(setup_timeout)) < 0)
		ret = err_set(err, errno, "setsockopt: %s", strerror(errno));
	if (ret == 0 && send(p->sync[0], "G", 1, MSG_NOSIGNAL) != 1)
		ret = err_set(err, errno, "start container process: %s", strerror(errno));
	if (ret == 0)
		ret = rt_sync_wait(p->sync[0], &master, code, err);
	else
		*code = 125;
	if (ret == 2) {
		pipes_give(p, pid, master, out);
		out->held = p->sync[0];
		p->sync[0] = -1;
		return 0;
	}
	if (ret < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close_fd(&master);
		return ret;
	}
	pipes_give(p, pid, master, out);
	return 0;
}

int rt_container_start(const struct rt_config *cfg, const char *cgroup, struct rt_proc *out,
		       int *code, struct shoal_err *err)
{
	struct rt_pipes p;
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	_cleanup_close_ int netns_fd = -1;
	pid_t pid;
	int ret;

	*code = 125;
	ret = pipes_open(&p, cfg->tty, cfg->open_stdin, err);
	if (ret < 0)
		goto out;
	if (!cfg->netns[0]) {
		flags |= CLONE_NEWNET;
	} else if (strcmp(cfg->netns, "host")) {
		netns_fd = open(cfg->netns, O_RDONLY | O_CLOEXEC);
		if (netns_fd < 0) {
			ret = err_set(err, errno, "network namespace %s: %s", cfg->netns,
				      strerror(errno));
			goto out;
		}
	}
	pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0) {
		ret = err_set(err, errno, "clone: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close_fd(&p.sync[0]);
		init_child(cfg, &p, netns_fd, cgroup && cgroup[0]);
	}
	ret = start_finish(&p, pid, cgroup, out, code, err);
out:
	pipes_close(&p);
	return ret;
}

/* The middle child of an exec: join init's namespaces, fork, report. */
__attribute__((noreturn)) static void exec_middle(const struct rt_config *cfg, pid_t init_pid,
						  const struct rt_exec_spec *spec, struct rt_pipes *p)
{
	static const struct { const char *name; int type; } nss[] = {
		{ "cgroup", CLONE_NEWCGROUP }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
		{ "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
	};
	int fds[ARRAY_SIZE(nss)], sync = p->sync[1];
	struct shoal_err err = { 0 };
	char path[64], msg[32];
	pid_t pid;

	if (rt_oom_score_adj(cfg->oom_score_adj, &err) < 0)
		rt_child_fail(sync, 125, &err);
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)init_pid, nss[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			err_set(&err, errno, "open %s: %s", path, strerror(errno));
			rt_child_fail(sync, 125, &err);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		if (setns(fds[i], nss[i].type) < 0) {
			err_set(&err, errno, "join %s namespace of %d: %s", nss[i].name,
				(int)init_pid, strerror(errno));
			rt_child_fail(sync, 125, &err);
		}
	}
	pid = fork();
	if (pid < 0) {
		err_set(&err, errno, "fork: %s", strerror(errno));
		rt_child_fail(sync, 125, &err);
	}
	if (pid == 0) {
		struct rt_child c = {
			.sync = sync, .args = spec->args, .env = spec->env,
			.cwd = spec->cwd && spec->cwd[0] ? spec->cwd : cfg->cwd,
			.user = spec->user && spec->user[0] ? spec->user : cfg->user,
			.tty = spec->tty, .caps = cfg->caps, .seccomp = cfg->seccomp,
			.rlimits = cfg->rlimits, .n_rlimits = cfg->n_rlimits,
			.in = p->in[0], .out = p->out[1], .errfd = p->err[1],
		};

		wait_go(sync);
		rt_child_exec(&c);
	}
	snprintf(msg, sizeof(msg), "I%d", (int)pid);
	if (send(sync, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		_exit(125);
	_exit(0);
}

int rt_container_release(struct rt_proc *init, int *code, struct shoal_err *err)
{
	int ret;

	*code = 125;
	if (init->held < 0)
		return err_set(err, EALREADY, "container already started");
	if (send(init->held, "S", 1, MSG_NOSIGNAL) != 1)
		ret = err_set(err, errno, "start container process: %s", strerror(errno));
	else
		ret = rt_sync_wait(init->held, NULL, code, err);
	close_fd(&init->held);
	return ret < 0 ? -1 : 0;
}

/* The middle child reports "I<pid>" (or an error) and exits. */
static pid_t exec_fork(const struct rt_config *cfg, pid_t init_pid,
		       const struct rt_exec_spec *spec, struct rt_pipes *p, struct shoal_err *err)
{
	char msg[700];
	pid_t mid;
	ssize_t n;

	mid = fork();
	if (mid < 0)
		return err_set(err, errno, "fork: %s", strerror(errno));
	if (mid == 0) {
		close_fd(&p->sync[0]);
		exec_middle(cfg, init_pid, spec, p);
	}
	close_fd(&p->sync[1]);
	/* Only setns() and fork() happen before the report: no file access. */
	setsockopt(p->sync[0], SOL_SOCKET, SO_RCVTIMEO, &setup_timeout, sizeof(setup_timeout));
	do
		n = recv(p->sync[0], msg, sizeof(msg) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		kill(mid, SIGKILL);
	while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	msg[n > 0 ? n : 0] = '\0';
	if (n <= 0 || msg[0] != 'I')
		return err_set(err, EINVAL, "%s",
			       strchr(msg, ' ') ? strchr(msg, ' ') + 1 : "exec setup failed");
	return atoi(msg + 1);
}

int rt_exec_begin(const struct rt_config *cfg, pid_t init_pid, const struct rt_exec_spec *spec,
		  const char *cgroup, struct rt_pending *pend, int *code, struct shoal_err *err)
{
	struct rt_pipes p;
	pid_t pid;
	int ret;

	*code = 125;
	memset(pend, 0, sizeof(*pend));
	pend->sync = pend->in_w = pend->out_r = pend->err_r = pend->master = -1;
	ret = pipes_open(&p, spec->tty, spec->open_stdin, err);
	if (ret < 0)
		goto out;
	pid = exec_fork(cfg, init_pid, spec, &p, err);
	if (pid < 0) {
		ret = pid;
		goto out;
	}
	close_fd(&p.in[0]);
	close_fd(&p.out[1]);
	close_fd(&p.err[1]);
	if (cgroup && cgroup[0])
		ret = rt_cgroup_add(cgroup, pid, err);
	if (ret == 0 && send(p.sync[0], "G", 1, MSG_NOSIGNAL) != 1)
		ret = err_set(err, errno, "start exec process: %s", strerror(errno));
	if (ret < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	pend->pid = pid;
	pend->tty = spec->tty;
	pend->sync = p.sync[0];
	pend->in_w = p.in[1];
	pend->out_r = p.out[0];
	pend->err_r = p.err[0];
	p.sync[0] = p.in[1] = p.out[0] = p.err[0] = -1;
out:
	pipes_close(&p);
	return ret;
}

static void pending_close(struct rt_pending *pend)
{
	close_fd(&pend->sync);
	close_fd(&pend->in_w);
	close_fd(&pend->out_r);
	close_fd(&pend->err_r);
	close_fd(&pend->master);
}

void rt_exec_abort(struct rt_pending *pend)
{
	if (pend->pid > 0 && !pend->reaped) {
		kill(pend->pid, SIGKILL);
		while (waitpid(pend->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	pend->pid = 0;
	pending_close(pend);
}

int rt_exec_step(struct rt_pending *pend, struct rt_proc *out, int *code, struct shoal_err *err)
{
	int ret = rt_sync_step(pend->sync, false, &pend->master, code, err);

	if (ret == 1 || ret == -EAGAIN)
		return 1;
	if (ret < 0) {
		rt_exec_abort(pend);
		return ret;
	}
	out->pid = pend->pid;
	out->master = pend->master;
	out->in_w = pend->tty ? pend->master : pend->in_w;
	out->out_r = pend->tty ? pend->master : pend->out_r;
	out->err_r = pend->tty ? -1 : pend->err_r;
	out->held = -1;
	if (pend->tty && pend->master < 0) {
		*code = 125;
		ret = err_set(err, EIO, "exec: no tty from the process");
		rt_exec_abort(pend);
		return ret;
	}
	pend->in_w = pend->out_r = pend->err_r = pend->master = -1;
	close_fd(&pend->sync);
	pend->pid = 0;
	return 0;
}

/* The state letter of /proc/pid/stat (after the last ')'), 0 if gone. */
static char proc_state(int pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* fn(pid, arg) for every process in init_pid's pid namespace (init
 * included), until fn returns non-zero; -errno when init_pid is gone. */
static int pidns_each(pid_t init_pid, int (*fn)(pid_t pid, void *arg), void *arg)
{
	struct stat ns, st;
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init_pid);
	if (stat(path, &ns) < 0)
		return -errno;
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		int pid = atoi(d->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		if (stat(path, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev &&
		    fn(pid, arg))
			break;
	}
	closedir(dir);
	return 0;
}

struct pid_list {
	pid_t *v;
	int n, max;
};

static int pid_collect(pid_t pid, void *arg)
{
	struct pid_list *l = arg;

	l->v[l->n++] = pid;
	return l->n >= l->max;
}

int rt_pidns_pids(pid_t init_pid, pid_t *out, int max)
{
	struct pid_list l = { .v = out, .max = max };
	int ret = max > 0 ? pidns_each(init_pid, pid_collect, &l) : 0;

	return ret < 0 ? ret : l.n;
}

struct pid_signal {
	int sig, n;
};

static int pid_signal(pid_t pid, void *arg)
{
	struct pid_signal *s = arg;

	if (s->sig == 0) { /* count the ones not stopped yet */
		char c = proc_state(pid);

		s->n += c && c != 'T' && c != 't' && c != 'Z' && c != 'X';
	} else if (kill(pid, s->sig) == 0) {
		s->n++;
	}
	return 0;
}

int rt_kill_all(pid_t init_pid, int sig)
{
	struct pid_signal s = { .sig = sig };
	int ret = pidns_each(init_pid, pid_signal, &s);

	return ret < 0 ? ret : s.n;
}
