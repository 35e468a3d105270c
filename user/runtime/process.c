// SPDX-License-Identifier: Apache-2.0
/*
 * process.c - the last steps of a container process (init or exec'd)
 * once its namespaces and root are set: session and tty, user, Docker's
 * default capability set, cwd, env, PATH lookup in the container's env,
 * execve. Failures travel to the shim over the CLOEXEC sync socket as
 * "E<code> <message>" (126 not executable, 127 not found, 125 other)
 * with runc's wording; a successful execve closes it (EOF).
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

#include "../common/util.h"
#include "internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Go's wording: "no such file or directory", "permission denied". */
static const char *lc_strerror(int e)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = buf[0] - 'A' + 'a';
	return buf;
}

void rt_child_fail(int sync, int code, const struct shoal_err *err)
{
	char msg[600];
	int n = snprintf(msg, sizeof(msg), "E%d %s", code, err ? err->msg : "failed");

	if (n > (int)sizeof(msg) - 1)
		n = sizeof(msg) - 1;
	if (send(sync, msg, n, MSG_NOSIGNAL) < 0)
		(void)0;
	_exit(code);
}

static int send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))] = { 0 }, tag = 'P';
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int rt_sync_step(int sync, bool block, int *master, int *code, struct shoal_err *err)
{
	char buf[CMSG_SPACE(sizeof(int))], msg[700];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(sync, &mh, MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN && !block)
		return -EAGAIN;
	if (n < 0) {
		*code = 125;
		if (errno == EAGAIN)
			return err_set(err, ETIMEDOUT, "container setup timed out");
		return err_set(err, errno, "container setup: %s", strerror(errno));
	}
	if (n == 0)
		return 0;
	msg[n] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;

			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			if (master && *master < 0 && msg[0] == 'P')
				*master = fd;
			else
				close(fd);
		}
	}
	if (msg[0] == 'H')
		return 2;
	if (msg[0] == 'E') {
		char *sp = strchr(msg, ' ');

		*code = atoi(msg + 1);
		if (*code != 126 && *code != 127)
			*code = 125;
		return err_set(err, EINVAL, "%s", sp ? sp + 1 : "container setup failed");
	}
	return 1;
}

int rt_sync_wait(int sync, int *master, int *code, struct shoal_err *err)
{
	int ret;

	while ((ret = rt_sync_step(sync, true, master, code, err)) == 1)
		;
	return ret;
}

/* Open a pty in the container's devpts, hand the master to the shim and
 * make the slave our controlling terminal on 0, 1, 2. */
/* runc's /dev/console: the init's pty slave bound over a file. */
static int bind_console(int master, struct shoal_err *err)
{
	char pts[64];
	int n, fd;

	if (ioctl(master, TIOCGPTN, &n) < 0)
		return err_set(err, errno, "pty number: %s", strerror(errno));
	snprintf(pts, sizeof(pts), "/dev/pts/%d", n);
	fd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, errno, "create /dev/console: %s", strerror(errno));
	close(fd);
	if (mount(pts, "/dev/console", NULL, MS_BIND, NULL) < 0)
		return err_set(err, errno, "bind %s on /dev/console: %s", pts, strerror(errno));
	return 0;
}

static int setup_tty(int sync, uid_t uid, bool console, struct shoal_err *err)
{
	int unlock = 0, master, slave;

	master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return err_set(err, errno, "open /dev/ptmx: %s", strerror(errno));
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return err_set(err, errno, "unlock pty: %s", strerror(errno));
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return err_set(err, errno, "open pty slave: %s", strerror(errno));
	if (uid != 0 && fchown(slave, uid, -1) < 0)
		return err_set(err, errno, "chown pty: %s", strerror(errno));
	if (console && bind_console(master, err) < 0)
		return -1;
	if (send_fd(sync, master) < 0)
		return err_set(err, errno, "send pty master: %s", strerror(errno));
	close(master);
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return err_set(err, errno, "set controlling tty: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return err_set(err, errno, "dup2 tty: %s", strerror(errno));
	if (slave > 2)
		close(slave);
	return 0;
}

static int setup_stdio(const struct rt_child *c, struct shoal_err *err)
{
	int fds[3] = { c->in, c->out, c->errfd };

	/* Move them above 2 first so dup2 cannot clobber one with another. */
	for (int i = 0; i < 3; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (fds[i] < 0)
			return err_set(err, errno, "dup stdio: %s", strerror(errno));
	}
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			return err_set(err, errno, "dup2 stdio: %s", strerror(errno));
	return 0;
}

int rt_oom_score_adj(int v, struct shoal_err *err)
{
	char val[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC), n;

	if (fd < 0)
		return err_set(err, errno, "open oom_score_adj: %s", strerror(errno));
	n = snprintf(val, sizeof(val), "%d", v);
	if (write(fd, val, n) != n) {
		err_set(err, errno, "write oom_score_adj %d: %s", v, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int set_rlimits(const struct rt_child *c, struct shoal_err *err)
{
	for (size_t i = 0; i < c->n_rlimits; i++) {
		struct rlimit rl = {
			.rlim_cur = c->rlimits[i].soft == UINT64_MAX ? RLIM_INFINITY : c->rlimits[i].soft,
			.rlim_max = c->rlimits[i].hard == UINT64_MAX ? RLIM_INFINITY : c->rlimits[i].hard,
		};

		if (setrlimit(c->rlimits[i].resource, &rl) < 0)
			return err_set(err, errno, "setrlimit %d (%llu:%llu): %s",
				       c->rlimits[i].resource,
				       (unsigned long long)c->rlimits[i].soft,
				       (unsigned long long)c->rlimits[i].hard, lc_strerror(errno));
	}
	return 0;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int v = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = CAP_LAST_CAP;
		fclose(f);
	}
	return v;
}

static int drop_bounding(uint64_t caps, struct shoal_err *err)
{
	int last = last_cap();

	for (int cap = 0; cap <= last; cap++)
		if (!(cap < 64 && (caps & (1ULL << cap))) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return err_set(err, errno, "drop capability %d: %s", cap, strerror(errno));
	return 0;
}

/* For root: permitted, effective and inheritable = the container's set. */
static int set_caps(uint64_t caps, struct shoal_err *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } }, cur[2] = { { 0 } };
	int last = last_cap();

	/* "ALL" / privileged: what we have (the host may lack some). */
	if (syscall(SYS_capget, &h, cur) < 0)
		return err_set(err, errno, "capget: %s", strerror(errno));
	for (int cap = 0; cap <= last && cap < 64; cap++)
		if ((caps & (1ULL << cap)) && (cur[cap / 32].permitted & (1u << (cap % 32))))
			d[cap / 32].permitted |= 1u << (cap % 32);
	for (int i = 0; i < 2; i++)
		d[i].effective = d[i].inheritable = d[i].permitted;
	if (syscall(SYS_capset, &h, d) < 0)
		return err_set(err, errno, "capset: %s", strerror(errno));
	return 0;
}

static int switch_user(const struct rt_ids *ids, uint64_t caps, struct shoal_err *err)
{
	if (setgroups(ids->ngroups, ids->groups) < 0)
		return err_set(err, errno, "setgroups: %s", strerror(errno));
	if (setgid(ids->gid) < 0)
		return err_set(err, errno, "setgid %u: %s", ids->gid, strerror(errno));
	if (setuid(ids->uid) < 0)
		return err_set(err, errno, "setuid %u: %s", ids->uid, strerror(errno));
	return ids->uid == 0 ? set_caps(caps, err) : 0;
}

static bool env_has(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], key, n) && env[i][n] == '=')
			return true;
	return false;
}

/* env plus PATH and HOME when missing (as runc does). */
static char **build_env(char *const *env, const struct rt_ids *ids)
{
	size_t n = 0;
	char **out;

	while (env && env[n])
		n++;
	out = calloc(n + 3, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = env[i];
	if (!env_has(env, "PATH"))
		out[n++] = "PATH=" DEFAULT_PATH;
	if (!env_has(env, "HOME") && asprintf(&out[n], "HOME=%s", ids->home) > 0)
		n++;
	return out;
}

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], key, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* exec.LookPath in the container: the first regular file with an x bit. */
static int look_path(const char *name, char *const *env, char *out, size_t len,
		     struct shoal_err *err)
{
	const char *path = env_get(env, "PATH");
	struct stat st;

	if (strchr(name, '/')) {
		if (stat(name, &st) < 0)
			return err_set(err, errno, "exec: \"%s\": stat %s: %s", name, name,
				       lc_strerror(errno));
		snprintf(out, len, "%s", name);
		return 0;
	}
	for (const char *p = path ? path : ""; ; ) {
		const char *e = strchrnul(p, ':');
		int n = (int)(e - p);

		snprintf(out, len, "%.*s/%s", n ? n : 1, n ? p : ".", name);
		if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111))
			return 0;
		if (!*e)
			break;
		p = e + 1;
	}
	return err_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

static void reset_signals(void)
{
	sigset_t all;

	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Created, not started: everything is ready but the execve (as runc
 * create/start), so the shim's clients can attach before any output. */
static void hold(int sync)
{
	char go = 0;

	if (send(sync, "H", 1, MSG_NOSIGNAL) != 1)
		_exit(125);
	while (recv(sync, &go, 1, 0) < 0 && errno == EINTR)
		;
	if (go != 'S')
		_exit(125);     /* the shim is gone */
}

void rt_child_exec(const struct rt_child *c)
{
	struct shoal_err err = { 0 };
	char exe[PATH_MAX];
	struct rt_ids ids;
	char **env;
	int ret;

	if (setsid() < 0 && errno != EPERM) {
		err_set(&err, errno, "setsid: %s", strerror(errno));
		rt_child_fail(c->sync, 125, &err);
	}
	if (rt_user_resolve(c->user, &ids, &err) < 0)
		rt_child_fail(c->sync, 125, &err);
	if ((c->tty ? setup_tty(c->sync, ids.uid, c->console, &err) : setup_stdio(c, &err)) < 0)
		rt_child_fail(c->sync, 125, &err);
	ret = util_mkdir_p(c->cwd, 0755);
	if (ret < 0) {
		err_set(&err, -ret, "mkdir cwd %s: %s", c->cwd, lc_strerror(-ret));
		rt_child_fail(c->sync, 125, &err);
	}
	if (chdir(c->cwd) < 0) {
		err_set(&err, errno, "chdir to cwd (\"%s\") set in config.json failed: %s", c->cwd,
			lc_strerror(errno));
		rt_child_fail(c->sync, 125, &err);
	}
	if (set_rlimits(c, &err) < 0 || drop_bounding(c->caps, &err) < 0 ||
	    (c->seccomp && rt_seccomp_install(c->caps, &err) < 0) ||
	    switch_user(&ids, c->caps, &err) < 0)
		rt_child_fail(c->sync, 125, &err);
	env = build_env(c->env, &ids);
	if (!env) {
		err_set(&err, ENOMEM, "out of memory");
		rt_child_fail(c->sync, 125, &err);
	}
	if (look_path(c->args[0], env, exe, sizeof(exe), &err) < 0)
		rt_child_fail(c->sync, err.code == ENOENT ? 127 : 126, &err);
	if (c->hold)
		hold(c->sync);
	reset_signals();
	syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
	execve(exe, c->args, env);
	ret = errno;
	err_set(&err, ret, "exec: \"%s\": %s", c->args[0], lc_strerror(ret));
	rt_child_fail(c->sync, ret == ENOENT ? 127 : 126, &err);
}
