// SPDX-License-Identifier: Apache-2.0
/*
 * shoal-shim <bundle> - the parent of one container (include/shoal_shim.h
 * is the contract with shoald).
 *
 * It detaches (fork, setsid; its parent exits so init adopts it),
 * becomes a child subreaper, starts the container through user/runtime,
 * reports "ok PID" / "error CODE MESSAGE" on fd 3 and then runs one
 * single-threaded poll loop (loop.c) until the container's init has
 * exited and its output is drained. Its own errors go to <bundle>/shim.log.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "shoal_shim.h"
#include "shim_loop.h"

static void ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ready(const char *fmt, ...)
{
	char line[700];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* One line: no newline inside the message. */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(SHIM_READY_FD, line, n) < 0)
		(void)0;
	close(SHIM_READY_FD);
}

static int write_pid(const char *name, pid_t pid)
{
	char tmp[64], val[16];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	n = snprintf(val, sizeof(val), "%d", (int)pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, val, n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return rename(tmp, name) < 0 ? -errno : 0;
}

static int listen_sock(struct shoal_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	/* Relative to the bundle (our cwd): bundle paths may exceed sun_path. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "shim.sock");
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0600) < 0 ||
	    listen(fd, 64) < 0) {
		err_set(err, errno, "listen on shim.sock: %s", strerror(errno));
		close(fd);
		unlink("shim.sock");
		return -1;
	}
	return fd;
}

/* stdio on /dev/null if closed, our stderr on shim.log, fd 3 CLOEXEC. */
static int setup_fds(void)
{
	int fd;

	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0) {
			fd = open("/dev/null", O_RDWR);
			if (fd >= 0 && fd != i) {
				dup2(fd, i);
				close(fd);
			}
		}
	fd = open("shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	dup2(fd, STDERR_FILENO);
	close(fd);
	fcntl(SHIM_READY_FD, F_SETFD, FD_CLOEXEC);
	return 0;
}

static void detach(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		ready("error 125 shim: fork: %s", strerror(errno));
		exit(1);
	}
	if (pid > 0)
		_exit(0);
	setsid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	/* Under memory pressure the containers go first, not their parent
	 * (which holds their stdio and exit status). */
	if (rt_oom_score_adj(-998, NULL) < 0)
		log_warn("oom_score_adj -998: %s", strerror(errno));
}

/* The cgroup if usable, else NULL after saying why once. */
static const char *cgroup_prepare(const struct rt_config *cfg)
{
	struct shoal_err err = { 0 };

	if (!cfg->cgroup[0]) {
		if (rt_resources_set(&cfg->res))
			log_warn("no cgroup for the container (no cgroup2 mount): resource limits "
				 "discarded");
		return NULL;
	}
	if (rt_cgroup_create(cfg->cgroup, &err) < 0) {
		log_warn("no cgroup for the container, stats without cpu/memory%s: %s",
			 rt_resources_set(&cfg->res) ? ", resource limits discarded" : "", err.msg);
		return NULL;
	}
	return cfg->cgroup;
}

/* Limits go in before the container runs. A controller the host does
 * not give us is skipped with a warning (Docker: "Limitation
 * discarded"); a value the kernel refuses fails the start. */
static int cgroup_limits(const struct rt_config *cfg, const char *cgroup, struct shoal_err *err)
{
	char skipped[256];
	int ret;

	if (!cgroup || !rt_resources_set(&cfg->res))
		return 0;
	ret = rt_cgroup_limits(cgroup, &cfg->res, skipped, sizeof(skipped), err);
	if (ret == 0 && skipped[0])
		log_warn("cgroup %s has no %s: limitation discarded", cgroup, skipped);
	return ret;
}

/* Signals, control socket, log file: 0 or -1 with err set. */
static int shim_setup(struct shim *shim, struct shoal_err *err)
{
	sigset_t mask;

	signal(SIGHUP, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	shim->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (shim->sig_fd < 0)
		return err_set(err, errno, "signalfd: %s", strerror(errno));
	shim->listen_fd = listen_sock(err);
	if (shim->listen_fd < 0)
		return -1;
	if (shim->cfg.log_path[0]) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", shim->cfg.log_path);
		if (strrchr(dir, '/') && strrchr(dir, '/') != dir) {
			*strrchr(dir, '/') = '\0';
			util_mkdir_p(dir, 0700);
		}
	}
	if (jlog_open(&shim->log, shim->cfg.log_path, shim->cfg.log_max_size,
		      shim->cfg.log_max_files) < 0)
		log_error("log %s: %s; container output is not logged", shim->cfg.log_path,
			  strerror(errno));
	return 0;
}

/* cgroup, limits, the container: 0, or -1 with *code and err set and
 * nothing left behind. */
static int shim_start(struct shim *shim, struct rt_proc *init, int *code, struct shoal_err *err)
{
	shim->cgroup = cgroup_prepare(&shim->cfg);
	*code = 125;
	if (cgroup_limits(&shim->cfg, shim->cgroup, err) < 0 ||
	    rt_container_start(&shim->cfg, shim->cgroup, init, code, err) < 0) {
		if (shim->cgroup)
			rt_cgroup_remove(shim->cgroup);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct shoal_err err = { 0 };
	struct shim shim = { .listen_fd = -1, .sig_fd = -1 };
	struct rt_proc init;
	int code = 125;

	if (argc != 2) {
		fprintf(stderr, "usage: shoal-shim BUNDLE\n");
		return 2;
	}
	/* A spawner that stopped reading fd 3 must not kill us by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (chdir(argv[1]) < 0) {
		ready("error 125 bundle %s: %s", argv[1], strerror(errno));
		return 1;
	}
	if (setup_fds() < 0) {
		ready("error 125 bundle %s: shim.log: %s", argv[1], strerror(errno));
		return 1;
	}
	detach();
	if (write_pid("shim.pid", getpid()) < 0)
		log_warn("write shim.pid: %s", strerror(errno));
	if (rt_config_load("config.json", &shim.cfg, &err) < 0 || shim_setup(&shim, &err) < 0 ||
	    shim_start(&shim, &init, &code, &err) < 0) {
		log_error("%s", err.msg);
		ready("error %d %s", code, err.msg);
		if (shim.listen_fd >= 0)
			unlink("shim.sock");
		unlink("shim.pid");
		return 1;
	}
	if (write_pid("init.pid", init.pid) < 0)
		log_warn("write init.pid: %s", strerror(errno));
	shim_add_init(&shim, &init);
	ready("ok %d", (int)init.pid);
	shim_run(&shim);
	return 0;
}
