/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime.inc.h - the real build/shoal-shim (found next to this binary)
 * runs containers from a busybox-static rootfs built here; every check
 * goes through the shim's contract (include/shoal_shim.h): the ready
 * line on fd 3, the control socket, exit.json and the json-file log.
 * Exit codes, 126/127 errors, pid 1, hostname, env, cwd, users, mounts
 * (proc, ro sysfs, ro binds, tmpfs, masks), log JSON, attach with stdin,
 * exec, kill, tty, network namespaces, cgroup v2 when the machine has a
 * writable one (with the v1 hierarchies of a hybrid host for the
 * controllers cgroup2 lacks), and the shim outliving its spawner.
 *
 * Cleanup kills only the shims and container inits this suite started
 * (by pid, after checking the pid still is ours), deletes the netns it
 * added and removes its directory, failed or not.
 * Included by main.c (one translation unit, see there).
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

#include <jansson.h>

#include "shoal_shim.h"
#include "../../user/archive/fsutil.h"
#include "../../user/common/cgroup1.h"
#include "../../user/runtime/internal.h"

#define RT_MAX_PIDS 64

static char rt_root[64];                /* mkdtemp under /var/tmp */
static char rt_shim[PATH_MAX];          /* build/shoal-shim */
static pid_t rt_pids[RT_MAX_PIDS];      /* shims and inits we started */
static char rt_netns[64];               /* ip netns we added */
static char rt_cgroup[128];             /* cgroup parent we made */
static char rt_cgroup_rel[128];         /* its path below the cgroup2 mount */
static char rt_mnt[128];                /* host tmpfs under a bind source */
static int rt_seq;

/* Is pid still a process of ours (a shim of our bundles, or a
 * container whose root is our rootfs)? Guards against pid reuse. */
static bool rt_pid_ours(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (!strncmp(buf, rt_root, strlen(rt_root)))
			return true;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return strstr(buf, "shoal-shim") && strstr(buf, rt_root);
}

static void rt_track(pid_t pid)
{
	for (int i = 0; i < RT_MAX_PIDS; i++)
		if (!rt_pids[i]) {
			rt_pids[i] = pid;
			return;
		}
}

static void runtime_suite_cleanup(void)
{
	for (int i = 0; i < RT_MAX_PIDS; i++) {
		if (rt_pids[i] > 0 && rt_root[0] && rt_pid_ours(rt_pids[i]))
			kill(rt_pids[i], SIGKILL);
		rt_pids[i] = 0;
	}
	if (rt_mnt[0]) {
		if (umount2(rt_mnt, 0) < 0)
			umount2(rt_mnt, MNT_DETACH);
		rt_mnt[0] = '\0';
	}
	if (rt_netns[0]) {
		sh("ip netns del %s 2>/dev/null", rt_netns);
		rt_netns[0] = '\0';
	}
	if (rt_cgroup[0]) {
		static const char *v1[] = { "memory", "cpu", "cpuacct", "pids" };
		char d[PATH_MAX];

		/* Child cgroups a failed test left, then ours; the same path in
		 * the v1 hierarchies the shim used. */
		for (int i = 0; i < 50 && rmdir(rt_cgroup) < 0 && errno != ENOENT; i++) {
			sh("find %s -mindepth 1 -type d -depth -exec rmdir {} + 2>/dev/null",
			   rt_cgroup);
			usleep(20000);
		}
		for (size_t c = 0; c < ARRAY_SIZE(v1); c++) {
			if (!rt_cgroup_rel[0] || cg1_dir(v1[c], rt_cgroup_rel, d, sizeof(d)) < 0)
				continue;
			for (int i = 0; i < 50 && rmdir(d) < 0 && errno != ENOENT; i++) {
				sh("find %s -mindepth 1 -type d -depth -exec rmdir {} + 2>/dev/null", d);
				usleep(20000);
			}
		}
		rt_cgroup[0] = rt_cgroup_rel[0] = '\0';
	}
	if (rt_root[0]) {
		/* Killed shims may still be writing their last files. */
		for (int i = 0, r; i < 20 && (r = fsutil_rm_rf(rt_root)) < 0 && r != -ENOENT; i++)
			usleep(50000);
		if (access(rt_root, F_OK) == 0)
			printf("# could not remove %s\n", rt_root);
		rt_root[0] = '\0';
	}
}

/* ---- rootfs and bundles ---- */

static int rt_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int rt_make_rootfs(void)
{
	char dir[256], path[512], list[16384], *save = NULL;

	snprintf(dir, sizeof(dir), "%s/rootfs", rt_root);
	if (sh("mkdir -p %s/bin %s/etc %s/home/user && cp /bin/busybox %s/bin/busybox",
	       dir, dir, dir, dir))
		return -1;
	sh_out(list, sizeof(list), "/bin/busybox --list");
	for (char *a = strtok_r(list, "\n", &save); a; a = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(a, "busybox"))
			continue;
		snprintf(path, sizeof(path), "%s/bin/%s", dir, a);
		if (symlink("busybox", path) < 0 && errno != EEXIST)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	if (rt_write(path, "root:x:0:0:root:/root:/bin/sh\n"
			   "user:x:1000:1000:user:/home/user:/bin/sh\n"))
		return -1;
	snprintf(path, sizeof(path), "%s/etc/group", dir);
	if (rt_write(path, "root:x:0:root\nuser:x:1000:\nextra:x:2000:user\n"))
		return -1;
	/* A file that is not executable and one that escapes by symlink. */
	snprintf(path, sizeof(path), "%s/etc/notexec", dir);
	if (rt_write(path, "#!/bin/sh\necho no\n"))
		return -1;
	snprintf(path, sizeof(path), "%s/escape", dir);
	return symlink("/../../../../tmp", path);
}

/* A bundle with the default config plus the members of extra. */
static int rt_bundle(char *bundle, size_t len, json_t *extra)
{
	char path[PATH_MAX], rootfs[256], logp[PATH_MAX];
	json_t *cfg;
	int ret;

	snprintf(bundle, len, "%s/b%d", rt_root, ++rt_seq);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", rt_root);
	snprintf(logp, sizeof(logp), "%s/ctr.log", bundle);
	if (mkdir(bundle, 0700) < 0) {
		json_decref(extra);
		return -1;
	}
	cfg = json_pack("{ss ss s[s] s[s] ss ss ss sb sb sb ss s[] ss ss}",
			"id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"rootfs", rootfs, "args", "true", "env", "PATH=/bin", "cwd", "/", "user", "",
			"hostname", "rthost", "tty", 0, "open_stdin", 0, "stdin_once", 0,
			"netns", "", "mounts", "log_path", logp, "cgroup", "");
	if (extra)
		json_object_update(cfg, extra);
	json_decref(extra);
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	ret = json_dump_file(cfg, path, JSON_COMPACT);
	json_decref(cfg);
	return ret;
}

/* Spawn shoal-shim bundle with fd 3 a pipe; return its ready line. */
static int rt_spawn(const char *bundle, char *line, size_t len)
{
	int p[2], status;
	size_t n = 0;
	pid_t pid;

	line[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		dup2(p[1], SHIM_READY_FD);      /* dup2 clears CLOEXEC */
		execl(rt_shim, "shoal-shim", bundle, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n < len - 1) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, 10000) <= 0)
			break;
		r = read(p[0], line + n, len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	/* Remember what runs now so cleanup can stop it. */
	{
		char path[PATH_MAX + 64], buf[32] = "";
		int fd;

		snprintf(path, sizeof(path), "%s/shim.pid", bundle);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf) - 1) > 0)
				rt_track(atoi(buf));
			close(fd);
		}
		if (!strncmp(line, "ok ", 3))
			rt_track(atoi(line + 3));
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Bundle + spawn; *init = pid on "ok". */
static int rt_run(char *bundle, size_t blen, json_t *extra, pid_t *init)
{
	char line[1024];

	if (rt_bundle(bundle, blen, extra) < 0)
		return -1;
	rt_spawn(bundle, line, sizeof(line));
	if (strncmp(line, "ok ", 3)) {
		printf("# shim said: %s", line[0] ? line : "(nothing)\n");
		return -1;
	}
	if (init)
		*init = atoi(line + 3);
	return 0;
}

static int rt_connect(const char *bundle)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/shim.sock", bundle);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Read one line (byte by byte: what follows are frames). */
static json_t *rt_read_reply(int fd)
{
	char line[4096];
	size_t n = 0;

	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1)
		if (line[n++] == '\n')
			break;
	line[n] = '\0';
	return n ? json_loads(line, 0, NULL) : NULL;
}

/* Connect, send one request, return the reply (fd left open in *fdp). */
static json_t *rt_request(const char *bundle, const char *req, int *fdp)
{
	int fd = rt_connect(bundle);
	json_t *r;

	if (fdp)
		*fdp = fd;
	if (fd < 0)
		return NULL;
	/* A shim finishing right now resets the connection: no SIGPIPE. */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		close(fd);
		if (fdp)
			*fdp = -1;
		return NULL;
	}
	r = rt_read_reply(fd);
	if (!fdp)
		close(fd);
	return r;
}

static bool rt_ok(json_t *r)
{
	return r && json_is_true(json_object_get(r, "ok"));
}

static int rt_exit_json(const char *bundle);

/* {"op":"wait"}: the exit code, -1 on failure. A container that already
 * finished has no socket left: its exit.json answers. */
static int rt_wait(const char *bundle)
{
	json_t *r = rt_request(bundle, "{\"op\":\"wait\"}", NULL);
	int code;

	if (!r)
		return rt_exit_json(bundle);
	code = rt_ok(r) ? (int)json_integer_value(json_object_get(r, "exit_code")) : -1;
	json_decref(r);
	return code;
}

static int rt_kill(const char *bundle, int sig, bool all)
{
	char req[96];
	json_t *r;
	int ok;

	snprintf(req, sizeof(req), "{\"op\":\"kill\",\"signal\":%d,\"all\":%s}", sig,
		 all ? "true" : "false");
	r = rt_request(bundle, req, NULL);
	ok = rt_ok(r) ? 0 : -1;
	json_decref(r);
	return ok;
}

/* Frames until EOF: stdout and stderr payloads, the exit frame's code. */
static int rt_frames(int fd, char *out, size_t olen, char *err, size_t elen, int *exit_code)
{
	size_t on = 0, en = 0;

	out[0] = err[0] = '\0';
	*exit_code = -1;
	for (;;) {
		unsigned char hdr[SHIM_FRAME_HDR];
		char payload[65536];
		uint32_t len;
		size_t got = 0;

		while (got < sizeof(hdr)) {
			ssize_t r = read(fd, hdr + got, sizeof(hdr) - got);

			if (r <= 0)
				return got ? -1 : 0;
			got += (size_t)r;
		}
		memcpy(&len, hdr + 4, 4);
		len = ntohl(len);
		if (len > sizeof(payload))
			return -1;
		for (got = 0; got < len;) {
			ssize_t r = read(fd, payload + got, len - got);

			if (r <= 0)
				return -1;
			got += (size_t)r;
		}
		if (hdr[0] == SHIM_FRAME_EXIT && len == 4) {
			uint32_t c;

			memcpy(&c, payload, 4);
			*exit_code = (int)ntohl(c);
		} else if (hdr[0] == SHIM_FRAME_STDOUT && on + len < olen) {
			memcpy(out + on, payload, len);
			out[on += len] = '\0';
		} else if (hdr[0] == SHIM_FRAME_STDERR && en + len < elen) {
			memcpy(err + en, payload, len);
			err[en += len] = '\0';
		}
	}
}

/* The "log" texts of one stream of a bundle's json-file log, joined;
 * -1 if any line is not the expected JSON. */
static int rt_log(const char *bundle, const char *stream, char *out, size_t len)
{
	char path[PATH_MAX], line[65536];
	size_t n = 0;
	int bad = 0;
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/ctr.log", bundle);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		const char *log = json_string_value(json_object_get(j, "log"));
		const char *st = json_string_value(json_object_get(j, "stream"));
		const char *t = json_string_value(json_object_get(j, "time"));

		if (!log || !st || !t || json_object_size(j) != 3 || strlen(t) != 30 ||
		    t[4] != '-' || t[10] != 'T' || t[19] != '.' || t[29] != 'Z' ||
		    (strcmp(st, "stdout") && strcmp(st, "stderr"))) {
			printf("# bad log line: %s", line);
			bad = -1;
		} else if (!strcmp(st, stream) && n + strlen(log) < len) {
			memcpy(out + n, log, strlen(log) + 1);
			n += strlen(log);
		}
		json_decref(j);
	}
	fclose(f);
	return bad;
}

/* Wait (up to 5 s) until the stream's log contains text. */
static bool rt_log_wait(const char *bundle, const char *stream, const char *text)
{
	char out[8192];

	for (int i = 0; i < 500; i++) {
		if (rt_log(bundle, stream, out, sizeof(out)) == 0 && strstr(out, text))
			return true;
		usleep(10000);
	}
	return false;
}

/* Wait (up to 5 s) until the file exists / a pid is gone. */
static bool rt_wait_file(const char *bundle, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", bundle, name);
	for (int i = 0; i < 500; i++) {
		if (access(path, F_OK) == 0)
			return true;
		usleep(10000);
	}
	return false;
}

static int rt_exit_json(const char *bundle)
{
	char path[PATH_MAX + 64];
	json_t *ex;
	int code;

	if (!rt_wait_file(bundle, "exit.json"))
		return -1;
	snprintf(path, sizeof(path), "%s/exit.json", bundle);
	ex = json_load_file(path, 0, NULL);
	code = ex ? (int)json_integer_value(json_object_get(ex, "exit_code")) : -1;
	json_decref(ex);
	return code;
}

static bool rt_pid_gone(pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		usleep(10000);
	}
	return false;
}

static pid_t rt_read_pid(const char *bundle, const char *name)
{
	char path[PATH_MAX + 64], buf[32] = "";
	int fd;

	snprintf(path, sizeof(path), "%s/%s", bundle, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = '\0';
	close(fd);
	return atoi(buf);
}

/* Is any shoal-shim of this bundle still running? */
static bool rt_shim_running(const char *bundle)
{
	char buf[64];

	sh_out(buf, sizeof(buf), "pgrep -f 'shoal-shim %s$' | head -1", bundle);
	return buf[0] != '\0';
}

static json_t *rt_args(const char *script)
{
	return json_pack("{s[sss]}", "args", "/bin/sh", "-c", script);
}

/* ---- tests ---- */

/* Mount destinations resolve inside the rootfs, whatever the image's
 * symlinks say (runc's securejoin). */
TEST(runtime_secure_join)
{
	char r[200], p[PATH_MAX], out[PATH_MAX * 2], want[PATH_MAX];
	struct shoal_err e = { 0 };
	struct stat st;

	snprintf(r, sizeof(r), "%s/sj", rt_root);
	mkdir(r, 0755);
	snprintf(p, sizeof(p), "%s/etc", r);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/abs", r);
	symlink("/etc", p);                             /* absolute, inside */
	snprintf(p, sizeof(p), "%s/up", r);
	symlink("../../../../../../usr", p);            /* climbs out: clamped */
	snprintf(p, sizeof(p), "%s/etc/rel", r);
	symlink("../etc/./", p);
	snprintf(p, sizeof(p), "%s/loop", r);
	symlink("loop", p);
	snprintf(p, sizeof(p), "%s/file", r);
	rt_write(p, "x");

	CHECK_EQ(rt_secure_join(r, "/abs/x", RT_NOCREATE, out, sizeof(out), &e), -ENOENT,
		 "missing target without create: ENOENT");
	CHECK_EQ(rt_secure_join(r, "/abs/a/b", RT_MKDIR, out, sizeof(out), &e), 0, "mkdir through /abs");
	snprintf(want, sizeof(want), "%s/etc/a/b", r);
	CHECK(!strcmp(out, want) && stat(want, &st) == 0 && S_ISDIR(st.st_mode),
	      "absolute symlink resolved against the rootfs");
	CHECK_EQ(rt_secure_join(r, "/up/share/f", RT_MKFILE, out, sizeof(out), &e), 0, "mkfile via /up");
	snprintf(want, sizeof(want), "%s/usr/share/f", r);
	CHECK(!strcmp(out, want) && stat(want, &st) == 0 && S_ISREG(st.st_mode),
	      "../ past the root stays at the root; the file is made there");
	CHECK(access("/usr/share/f", F_OK) < 0, "nothing made on the host");
	CHECK_EQ(rt_secure_join(r, "/../../etc/rel/rel/a", RT_NOCREATE, out, sizeof(out), &e), 0,
		 "relative symlinks and .. chains");
	snprintf(want, sizeof(want), "%s/etc/a", r);
	CHECK(!strcmp(out, want), "resolved to <root>/etc/a");
	CHECK_EQ(rt_secure_join(r, "/loop/x", RT_MKDIR, out, sizeof(out), &e), -ELOOP, "symlink loop: ELOOP");
	CHECK_EQ(rt_secure_join(r, "/file/x", RT_MKDIR, out, sizeof(out), &e), -ENOTDIR,
		 "through a file: ENOTDIR");
	CHECK_EQ(rt_secure_join(r, "/", RT_NOCREATE, out, sizeof(out), &e), 0, "/ is the root");
	CHECK(!strcmp(out, r), "/ -> root itself");
}

TEST(runtime_exit_code)
{
	char b[256], path[PATH_MAX + 16];
	int wfd = -1, afd = -1;
	pid_t init, shim;
	json_t *ex, *r;

	/* Exits 7 once its stdin closes, so the waiter is surely first. */
	if (rt_run(b, sizeof(b), json_pack("{s[sss]sbsb}", "args", "/bin/sh", "-c",
					   "read x; exit 7", "open_stdin", 1, "stdin_once", 1),
		   &init) < 0) {
		CHECK(0, "container starts");
		return;
	}
	shim = rt_read_pid(b, "shim.pid");
	CHECK(shim > 0, "shim.pid written");
	CHECK_EQ(rt_read_pid(b, "init.pid"), init, "init.pid = the pid of the ok line");
	wfd = rt_connect(b);
	CHECK(wfd >= 0 && write(wfd, "{\"op\":\"wait\"}\n", 14) == 14, "wait sent");
	usleep(50000);
	CHECK_EQ(kill(init, 0), 0, "still running while waited for");
	r = rt_request(b, "{\"op\":\"attach\",\"stdin\":true}", &afd);
	CHECK(rt_ok(r), "attach");
	json_decref(r);
	if (afd >= 0) {
		shutdown(afd, SHUT_WR);         /* stdin EOF: read fails, exit 7 */
		close(afd);
	}
	r = wfd >= 0 ? rt_read_reply(wfd) : NULL;
	CHECK(rt_ok(r), "wait answered");
	CHECK_EQ(json_integer_value(json_object_get(r, "exit_code")), 7,
		 "wait: exit code of sh -c 'exit 7'");
	CHECK(json_string_value(json_object_get(r, "finished_at")), "wait: finished_at");
	json_decref(r);
	if (wfd >= 0)
		close(wfd);
	CHECK(rt_wait_file(b, "exit.json"), "exit.json written");
	snprintf(path, sizeof(path), "%s/exit.json", b);
	ex = json_load_file(path, 0, NULL);
	CHECK_EQ(json_integer_value(json_object_get(ex, "exit_code")), 7, "exit.json exit_code");
	CHECK_EQ(json_integer_value(json_object_get(ex, "signal")), 0, "exit.json signal");
	CHECK(json_string_value(json_object_get(ex, "finished_at")), "exit.json finished_at");
	CHECK(json_is_false(json_object_get(ex, "oom_killed")), "exit.json oom_killed");
	json_decref(ex);
	CHECK(rt_pid_gone(shim), "the shim exits after the container");
	snprintf(path, sizeof(path), "%s/shim.sock", b);
	CHECK(access(path, F_OK) < 0, "shim.sock removed");
	CHECK(rt_connect(b) < 0, "no control socket after exit");
}

TEST(runtime_not_found)
{
	char b[256], line[1024], path[PATH_MAX + 16];

	rt_bundle(b, sizeof(b), json_pack("{s[s]}", "args", "nosuchcmd"));
	rt_spawn(b, line, sizeof(line));
	CHECK(!strcmp(line, "error 127 exec: \"nosuchcmd\": executable file not found in $PATH\n"),
	      "ready line: error 127 exec: \"nosuchcmd\": executable file not found in $PATH");
	if (strncmp(line, "error 127", 9))
		printf("# got: %s\n", line);
	usleep(100000);
	CHECK(!rt_shim_running(b), "no shim left running");
	snprintf(path, sizeof(path), "%s/shim.sock", b);
	CHECK(access(path, F_OK) < 0, "no shim.sock");
	snprintf(path, sizeof(path), "%s/init.pid", b);
	CHECK(access(path, F_OK) < 0, "no init.pid");

	rt_bundle(b, sizeof(b), json_pack("{s[s]}", "args", "/bin/nope"));
	rt_spawn(b, line, sizeof(line));
	CHECK(!strncmp(line, "error 127 exec: \"/bin/nope\": stat /bin/nope: no such file", 57),
	      "absolute path not found: 127");
	if (strncmp(line, "error 127", 9))
		printf("# got: %s\n", line);
}

TEST(runtime_not_executable)
{
	char b[256], line[1024];

	rt_bundle(b, sizeof(b), json_pack("{s[s]}", "args", "/etc/notexec"));
	rt_spawn(b, line, sizeof(line));
	CHECK(!strcmp(line, "error 126 exec: \"/etc/notexec\": permission denied\n"),
	      "ready line: error 126 ... permission denied");
	if (strncmp(line, "error 126", 9))
		printf("# got: %s\n", line);
	usleep(100000);
	CHECK(!rt_shim_running(b), "no shim left running");

	rt_bundle(b, sizeof(b), json_pack("{s[s]ss}", "args", "true", "cwd", "/etc/passwd"));
	rt_spawn(b, line, sizeof(line));
	CHECK(!strcmp(line, "error 125 chdir to cwd (\"/etc/passwd\") set in config.json failed: "
			    "not a directory\n"), "cwd on a file: error 125 naming it");
	if (strncmp(line, "error 125", 9))
		printf("# got: %s\n", line);

	rt_bundle(b, sizeof(b), json_pack("{s[s]ss}", "args", "true", "user", "nobody"));
	rt_spawn(b, line, sizeof(line));
	CHECK(!strncmp(line, "error 125 unable to find user nobody", 36),
	      "unknown user name: error 125 naming it");
	if (strncmp(line, "error 125", 9))
		printf("# got: %s\n", line);
}

TEST(runtime_identity)
{
	char b[256], out[4096];
	json_t *x = rt_args("echo $$; hostname; echo $FOO; pwd; echo $HOME; id; "
			    "grep CapEff /proc/self/status; cat /proc/sys/kernel/hostname");

	json_object_set_new(x, "env", json_pack("[ss]", "PATH=/bin", "FOO=bar baz"));
	json_object_set_new(x, "cwd", json_string("/work/dir"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	CHECK_EQ(rt_log(b, "stdout", out, sizeof(out)), 0, "log lines are valid");
	CHECK(!strcmp(out, "1\nrthost\nbar baz\n/work/dir\n/root\n"
			   "uid=0(root) gid=0(root) groups=0(root)\n"
			   "CapEff:\t00000000a80425fb\nrthost\n"),
	      "pid 1, hostname, env, cwd created, HOME, root, Docker's capabilities");
	printf("# stdout: %s", out);

	x = rt_args("id; grep CapEff /proc/self/status; pwd");
	json_object_set_new(x, "user", json_string("user"));
	json_object_set_new(x, "cwd", json_string("/home/user"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts as user");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "uid=1000(user) gid=1000(user) groups=2000(extra)\n"
			   "CapEff:\t0000000000000000\n/home/user\n"),
	      "user by name: uid, gid, groups from the rootfs, no capabilities");
	printf("# stdout: %s", out);

	x = rt_args("id -u; id -g; hostname");
	json_object_set_new(x, "user", json_string("4242:77"));
	json_object_set_new(x, "hostname", json_string(""));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts as 4242:77");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "4242\n77\n0123456789ab\n"),
	      "numeric uid:gid not in passwd; default hostname = short id");
}

TEST(runtime_ulimits_oom_adj)
{
	char b[256], out[1024], line[1024];
	json_t *x;

	x = rt_args("ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; "
		    "grep -o ' /dev/shm .*size=[0-9]*k' /proc/mounts | grep -o '[0-9]*k$'");
	json_object_set_new(x, "shm_size", json_integer(8 << 20));
	json_object_set_new(x, "ulimits", json_pack("[{sssIsI}]", "name", "nofile",
						     "soft", (json_int_t)100, "hard", (json_int_t)200));
	json_object_set_new(x, "oom_score_adj", json_integer(500));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "100\n200\n500\n8192k\n"),
	      "ulimit nofile 100:200, oom_score_adj 500, shm_size 8 MiB");

	if (rt_run(b, sizeof(b), rt_args("cat /proc/self/oom_score_adj"), NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "0\n"), "default oom_score_adj 0, not the shim's");

	x = json_pack("{s[s]s[{sssisi}]}", "args", "true", "ulimits", "name", "nofiles", "soft", 1,
		      "hard", 1);
	rt_bundle(b, sizeof(b), x);
	rt_spawn(b, line, sizeof(line));
	CHECK(!strcmp(line, "error 125 invalid ulimit type: nofiles\n"), "unknown ulimit refused");
}

TEST(runtime_caps_readonly)
{
	char b[256], out[4096], line[1024];
	json_t *x;

	x = rt_args("grep -E 'CapEff|CapBnd' /proc/self/status; chown 1 /etc/passwd || echo no-chown");
	json_object_set_new(x, "cap_add", json_pack("[ss]", "NET_ADMIN", "cap_sys_ptrace"));
	json_object_set_new(x, "cap_drop", json_pack("[s]", "CHOWN"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	/* default a80425fb - CHOWN (bit 0) + NET_ADMIN (12) + SYS_PTRACE (19) */
	CHECK(!strcmp(out, "CapEff:\t00000000a80c35fa\nCapBnd:\t00000000a80c35fa\nno-chown\n"),
	      "cap_add / cap_drop change effective and bounding sets");
	printf("# caps: %s", out);

	x = rt_args("grep CapEff /proc/self/status");
	json_object_set_new(x, "cap_drop", json_pack("[s]", "ALL"));
	json_object_set_new(x, "cap_add", json_pack("[s]", "KILL"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "CapEff:\t0000000000000020\n"), "cap_drop ALL + cap_add KILL");

	x = json_pack("{s[s]snsn}", "args", "true", "env", "mounts");
	rt_bundle(b, sizeof(b), x);
	rt_spawn(b, line, sizeof(line));
	CHECK(!strncmp(line, "ok ", 3), "null env and mounts mean none");
	CHECK_EQ(rt_wait(b), 0, "and it runs");

	x = json_pack("{s[s]ss}", "args", "true", "tty", "yes");
	rt_bundle(b, sizeof(b), x);
	rt_spawn(b, line, sizeof(line));
	CHECK(!strcmp(line, "error 125 config: tty must be true or false\n"),
	      "a config key of the wrong type is named");

	x = json_pack("{s[s]s[s]}", "args", "true", "cap_add", "NOPE");
	rt_bundle(b, sizeof(b), x);
	rt_spawn(b, line, sizeof(line));
	CHECK(!strcmp(line, "error 125 unknown capability: \"NOPE\"\n"),
	      "unknown capability refused by name");

	x = rt_args("touch /x || echo ro-root; echo ok > /tmp/f && cat /tmp/f");
	json_object_set_new(x, "readonly_rootfs", json_true());
	json_object_set_new(x, "mounts", json_pack("[{ss ss s[]}]", "type", "tmpfs",
						   "destination", "/tmp", "options"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "ro-root\nok\n"), "readonly_rootfs: / refuses writes, a tmpfs on it works");
}

TEST(runtime_seccomp_privileged)
{
	char b[256], out[4096], err[4096];
	const char *script = "unshare -U true && echo userns-ok || echo userns-refused; "
			     "unshare -r true 2>/dev/null && echo userns2-ok || echo userns2-refused";
	json_t *x;

	if (rt_run(b, sizeof(b), rt_args(script), NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	rt_log(b, "stderr", err, sizeof(err));
	CHECK(!strcmp(out, "userns-refused\nuserns2-refused\n"),
	      "default seccomp: no user namespaces (clone/unshare flags)");
	CHECK(strstr(err, "Operation not permitted") != NULL, "EPERM");
	printf("# seccomp: %s", out);

	x = rt_args(script);
	json_object_set_new(x, "seccomp", json_false());
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strncmp(out, "userns-ok\n", 10), "seccomp false: unconfined, the same works");

	x = rt_args("grep CapEff /proc/self/status; grep -c ' /sys sysfs rw' /proc/mounts; "
		    "test -c /dev/loop-control && echo host-dev; "
		    "mkdir -p /m && mount -t tmpfs none /m && echo mount-ok; "
		    "grep -c ' /proc/keys ' /proc/mounts");
	json_object_set_new(x, "privileged", json_true());
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "privileged container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 1, "exit 1 (grep -c found no mask)");
	rt_log(b, "stdout", out, sizeof(out));
	printf("# privileged: %s", out);
	{
		char mine[128], want[160];

		sh_out(mine, sizeof(mine), "grep CapPrm /proc/%d/status", (int)getpid());
		snprintf(want, sizeof(want), "CapEff:%s1\n", mine + 7);
		CHECK(!strncmp(out, want, strlen(want)),
		      "privileged: every capability we have, rw /sys");
	}
	if (access("/dev/loop-control", F_OK) == 0)
		CHECK(strstr(out, "host-dev\n") != NULL, "privileged: the host's devices");
	CHECK(strstr(out, "mount-ok\n0\n") != NULL, "privileged: mount allowed, /proc not masked");
}

TEST(runtime_mounts)
{
	char b[256], src[100], f[PATH_MAX + 16], out[8192], err[4096];
	int before = 0, after = 0;
	json_t *x;

	snprintf(src, sizeof(src), "%s/hostdir", rt_root);
	mkdir(src, 0755);
	snprintf(f, sizeof(f), "%s/hostfile", src);
	rt_write(f, "from host\n");
	/* A submount: "rbind,ro" makes it read-only too. */
	snprintf(rt_mnt, sizeof(rt_mnt), "%s/sub", src);
	mkdir(rt_mnt, 0755);
	if (mount("tmpfs", rt_mnt, "tmpfs", 0, "size=1m") < 0) {
		rt_mnt[0] = '\0';
		CHECK(0, "host tmpfs for the submount");
		return;
	}
	sh_out(out, sizeof(out), "grep -c %s /proc/self/mountinfo", rt_root);
	before = atoi(out);

	x = rt_args("cat /ro/hostfile; echo x > /ro/new || echo ro-bind-refused; "
		    "echo y > /rw/new && echo rw-ok; "
		    "echo z > /ro/sub/f || echo ro-submount-refused; "
		    "echo z > /rw/sub/f && echo rw-submount-ok; "
		    "stat -f -c %T /scratch; grep ' /scratch ' /proc/mounts | grep -c size=1024k; "
		    "touch /sys/x || echo sys-refused; "
		    "echo 1 > /proc/sys/kernel/domainname || echo procsys-refused; "
		    "wc -c < /proc/keys; grep -c . /proc/self/status >/dev/null && echo proc-ok; "
		    "ls /dev | tr '\\n' ' '; echo; readlink /dev/ptmx; stat -f -c %T /dev/pts; "
		    "ls -d /escape/mnt; test -d /tmp/mnt && echo escape-stayed-inside");
	json_object_set_new(x, "mounts", json_pack("[{ss ss ss s[ss]} {ss ss ss s[s]} {ss ss s[s]}"
						   " {ss ss s[]}]",
						   "type", "bind", "source", src, "destination", "/ro",
						   "options", "rbind", "ro",
						   "type", "bind", "source", src, "destination", "/rw",
						   "options", "rbind",
						   "type", "tmpfs", "destination", "/scratch",
						   "options", "size=1m",
						   "type", "tmpfs", "destination", "/escape/mnt",
						   "options"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	rt_log(b, "stderr", err, sizeof(err));
	printf("# stdout: %s# stderr: %s", out, err);
	CHECK(strstr(out, "from host\n"), "bind mount shows the host file");
	CHECK(strstr(out, "ro-bind-refused\n"), "write to a ro bind fails");
	CHECK(strstr(err, "Read-only file system"), "with EROFS");
	CHECK(strstr(out, "rw-ok\n"), "write to a rw bind works");
	CHECK(strstr(out, "ro-submount-refused\n"), "rbind,ro: submounts are read-only too");
	CHECK(strstr(out, "rw-submount-ok\n"), "rbind: submounts are there");
	snprintf(f, sizeof(f), "%s/new", src);
	CHECK(access(f, F_OK) == 0, "and lands on the host");
	CHECK(strstr(out, "tmpfs\n1\n"), "tmpfs mount with its size option");
	CHECK(strstr(out, "sys-refused\n"), "/sys is read-only");
	CHECK(strstr(out, "procsys-refused\n"), "/proc/sys is read-only");
	CHECK(strstr(out, "\n0\nproc-ok\n") || !strstr(out, "proc-ok"), "/proc/keys masked");
	CHECK(strstr(out, "proc-ok\n"), "/proc works");
	CHECK(strstr(out, "full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero"),
	      "/dev has Docker's nodes and links");
	CHECK(strstr(out, "pts/ptmx\ndevpts\n"), "/dev/ptmx -> pts/ptmx on a devpts");
	CHECK(strstr(out, "escape-stayed-inside\n"), "a symlink target resolves inside the rootfs");
	sh_out(out, sizeof(out), "grep -c %s /proc/self/mountinfo", rt_root);
	after = atoi(out);
	umount2(rt_mnt, MNT_DETACH);
	rt_mnt[0] = '\0';
	CHECK_EQ(after, before, "no mount leaked to the host");
	snprintf(f, sizeof(f), "%s/rootfs/tmp/mnt", rt_root);
	CHECK(access(f, F_OK) == 0, "the escaping symlink's target was made in the rootfs");
}

TEST(runtime_log_json)
{
	char b[256], out[4096], err[4096];

	if (rt_run(b, sizeof(b),
		   rt_args("printf 'a\"b\\\\c\\t<&>\\001\\n'; printf 'to err\\n' >&2; "
			   "printf 'caf\\303\\251 \\377x \\342\\200\\250\\n'; "
			   "printf 'no newline'"), NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	CHECK_EQ(rt_log(b, "stdout", out, sizeof(out)), 0, "every log line is Docker's JSON");
	rt_log(b, "stderr", err, sizeof(err));
	CHECK(!strcmp(out, "a\"b\\c\t<&>\001\ncaf\303\251 \357\277\275x \342\200\250\n"
			   "no newline"), "stdout text exact (invalid UTF-8 as U+FFFD)");
	CHECK(!strcmp(err, "to err\n"), "stderr text exact");
	sh_out(out, sizeof(out), "cat %s/ctr.log", b);
	CHECK(strstr(out, "\\u003c\\u0026\\u003e\\u0001"), "escaped as Go does");
	CHECK(strstr(out, "caf\303\251 \\ufffdx \\u2028\\n"), "UTF-8 kept, bad bytes and U+2028 escaped");
}

TEST(runtime_log_rotation)
{
	char b[256], path[PATH_MAX + 64], out[256];
	int total = 0;
	json_t *x = rt_args("i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done");

	json_object_set_new(x, "log_max_size", json_integer(4096));
	json_object_set_new(x, "log_max_files", json_integer(3));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	for (int i = 0; i < 4; i++) {
		struct stat st;

		if (i)
			snprintf(path, sizeof(path), "%s/ctr.log.%d", b, i);
		else
			snprintf(path, sizeof(path), "%s/ctr.log", b);
		if (i == 3) {
			CHECK(access(path, F_OK) < 0, "no 4th file with log_max_files 3");
			break;
		}
		CHECK(stat(path, &st) == 0, "rotated files exist");
		CHECK(st.st_size < 4096 + 100, "none beyond max-size by more than a line");
		total += (int)st.st_size;
	}
	sh_out(out, sizeof(out), "tail -c 100 %s/ctr.log | grep -o 'line-[0-9]*' | tail -1", b);
	CHECK(!strcmp(out, "line-399\n"), "the newest lines are in the current file");
	sh_out(out, sizeof(out), "cat %s/ctr.log.2 %s/ctr.log.1 %s/ctr.log | grep -c '^{\"log\"'",
	       b, b, b);
	CHECK(atoi(out) > 0 && atoi(out) < 400, "the oldest lines were dropped");
	CHECK(total > 0, "logged");
}

TEST(runtime_attach_stdin)
{
	char b[256], out[4096], err[1024];
	int fd, code;
	json_t *r, *x = json_pack("{s[s]sbsb}", "args", "cat", "open_stdin", 1, "stdin_once", 1);

	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	r = rt_request(b, "{\"op\":\"attach\",\"stdin\":true,\"stdout\":true,\"stderr\":true}", &fd);
	CHECK(rt_ok(r), "attach accepted");
	json_decref(r);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, "hello\nworld\n", 12), 12, "stdin written");
	shutdown(fd, SHUT_WR);
	CHECK_EQ(rt_frames(fd, out, sizeof(out), err, sizeof(err), &code), 0, "frames to EOF");
	close(fd);
	CHECK(!strcmp(out, "hello\nworld\n"), "cat echoes stdin as stdout frames");
	CHECK_EQ(rt_wait_file(b, "exit.json"), 1, "stdin EOF ended cat");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "hello\nworld\n"), "and the log has it");
}

/* "hold": attach before the first byte of output, then start. */
TEST(runtime_hold_start)
{
	char b[256], out[4096], err[1024];
	int fd, code;
	pid_t init;
	json_t *r, *x;

	x = rt_args("echo early; echo early-err >&2; exit 5");
	json_object_set_new(x, "hold", json_true());
	if (rt_run(b, sizeof(b), x, &init) < 0) {
		CHECK(0, "held container created");
		return;
	}
	usleep(100000);
	CHECK_EQ(kill(init, 0), 0, "held: init waits");
	CHECK_EQ(rt_log(b, "stdout", out, sizeof(out)), 0, "log readable");
	CHECK(!out[0], "nothing ran yet");
	r = rt_request(b, "{\"op\":\"attach\",\"stdout\":true,\"stderr\":true}", &fd);
	CHECK(rt_ok(r), "attach before start");
	json_decref(r);
	r = rt_request(b, "{\"op\":\"start\"}", NULL);
	CHECK(rt_ok(r) && json_integer_value(json_object_get(r, "pid")) == init, "start");
	json_decref(r);
	if (fd >= 0) {
		rt_frames(fd, out, sizeof(out), err, sizeof(err), &code);
		close(fd);
		CHECK(!strcmp(out, "early\n") && !strcmp(err, "early-err\n"),
		      "the attached client got the very first output");
	}
	CHECK_EQ(rt_wait(b), 5, "exit 5");

	x = rt_args("tty");
	json_object_set_new(x, "hold", json_true());
	json_object_set_new(x, "tty", json_true());
	if (rt_run(b, sizeof(b), x, &init) < 0) {
		CHECK(0, "held tty container created");
		return;
	}
	r = rt_request(b, "{\"op\":\"attach\",\"stdout\":true}", &fd);
	json_decref(r);
	r = rt_request(b, "{\"op\":\"start\"}", NULL);
	CHECK(rt_ok(r), "start tty");
	json_decref(r);
	r = rt_request(b, "{\"op\":\"start\"}", NULL);
	CHECK(!r || !rt_ok(r), "a second start is refused");
	json_decref(r);
	if (fd >= 0) {
		rt_frames(fd, out, sizeof(out), err, sizeof(err), &code);
		close(fd);
		CHECK(!strcmp(out, "/dev/pts/0\r\n"), "tty output from the start");
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");

	x = json_pack("{s[s]sb}", "args", "/etc/notexec", "hold", 1);
	if (rt_run(b, sizeof(b), x, &init) < 0) {
		CHECK(0, "held container created");
		return;
	}
	r = rt_request(b, "{\"op\":\"start\"}", NULL);
	CHECK(r && !rt_ok(r), "start of a non-executable refused");
	CHECK_EQ(json_integer_value(json_object_get(r, "exit_code")), 126, "with 126");
	CHECK(!strcmp(json_string_value(json_object_get(r, "message")) ?: "",
		      "exec: \"/etc/notexec\": permission denied"), "and the message");
	json_decref(r);
	CHECK_EQ(rt_wait(b), 126, "the container exits 126");
}

TEST(runtime_exec)
{
	char b[256], out[4096], err[4096];
	int fd, code;
	json_t *r;

	if (rt_run(b, sizeof(b), json_pack("{s[ss]}", "args", "sleep", "30"), NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	r = rt_request(b, "{\"op\":\"exec\",\"args\":[\"sh\",\"-c\",\"echo out $$ $(hostname) $X; "
			  "echo err >&2; pwd; exit 3\"],\"env\":[\"PATH=/bin\",\"X=y\"],"
			  "\"cwd\":\"/etc\",\"user\":\"\",\"tty\":false,\"stdin\":false}", &fd);
	CHECK(rt_ok(r), "exec accepted");
	CHECK(json_integer_value(json_object_get(r, "pid")) > 0, "exec pid");
	json_decref(r);
	if (fd >= 0) {
		CHECK_EQ(rt_frames(fd, out, sizeof(out), err, sizeof(err), &code), 0, "frames");
		close(fd);
		CHECK_EQ(code, 3, "exit frame carries 3");
		CHECK(!strncmp(out, "out ", 4) && strstr(out, " rthost y\n/etc\n") &&
		      atoi(out + 4) > 1, "stdout frames: own pid in the container's pid ns, its uts, env, cwd");
		CHECK(!strcmp(err, "err\n"), "stderr frame");
		printf("# exec stdout: %s", out);
	}
	r = rt_request(b, "{\"op\":\"exec\",\"args\":[\"cat\"],\"env\":[],\"stdin\":true}", &fd);
	CHECK(rt_ok(r), "exec with stdin accepted");
	json_decref(r);
	if (fd >= 0) {
		CHECK_EQ(write(fd, "in\n", 3), 3, "stdin to exec");
		shutdown(fd, SHUT_WR);
		rt_frames(fd, out, sizeof(out), err, sizeof(err), &code);
		close(fd);
		CHECK(!strcmp(out, "in\n") && code == 0, "exec stdin echoed, exit 0");
	}
	r = rt_request(b, "{\"op\":\"exec\",\"args\":[\"nosuch\"],\"env\":[\"PATH=/bin\"]}", NULL);
	CHECK(r && !rt_ok(r), "exec of a missing binary refused");
	CHECK_EQ(json_integer_value(json_object_get(r, "exit_code")), 127, "with 127");
	CHECK(!strcmp(json_string_value(json_object_get(r, "message")) ?: "",
		      "exec: \"nosuch\": executable file not found in $PATH"), "and runc's message");
	json_decref(r);
	r = rt_request(b, "{\"op\":\"nope\"}", NULL);
	CHECK(r && !rt_ok(r) && json_string_value(json_object_get(r, "message")),
	      "unknown op refused with a message");
	json_decref(r);
	CHECK_EQ(rt_kill(b, SIGKILL, false), 0, "kill");
	CHECK_EQ(rt_wait(b), 137, "137 after SIGKILL");
}

TEST(runtime_kill)
{
	char b[256], path[PATH_MAX + 16];
	pid_t init;
	json_t *ex;

	if (rt_run(b, sizeof(b), json_pack("{s[ss]}", "args", "sleep", "30"), &init) < 0) {
		CHECK(0, "container starts");
		return;
	}
	{
		char st[64];
		json_t *r = rt_request(b, "{\"op\":\"pause\"}", NULL);

		CHECK(rt_ok(r), "pause without a cgroup");
		json_decref(r);
		/* The v1 freezer where the host has one (shoal/<id> there),
		 * else SIGSTOP. */
		sh_out(st, sizeof(st), "cat /sys/fs/cgroup/freezer/shoal/%s/freezer.state "
		       "2>/dev/null || awk '/^State/{print $2}' /proc/%d/status",
		       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", (int)init);
		CHECK(!strcmp(st, "T\n") || !strcmp(st, "FROZEN\n"), "stopped or frozen");
		r = rt_request(b, "{\"op\":\"resume\"}", NULL);
		CHECK(rt_ok(r), "resume");
		json_decref(r);
		sh_out(st, sizeof(st), "awk '/^State/{print $2}' /proc/%d/status", (int)init);
		CHECK(!strcmp(st, "S\n") || !strcmp(st, "R\n"), "running again");
	}
	/* pid 1 without a handler ignores SIGTERM, as in Docker. */
	CHECK_EQ(rt_kill(b, SIGTERM, false), 0, "kill TERM accepted");
	usleep(200000);
	CHECK_EQ(kill(init, 0), 0, "sleep as pid 1 ignores SIGTERM");
	CHECK_EQ(rt_kill(b, SIGKILL, false), 0, "kill KILL accepted");
	CHECK_EQ(rt_wait(b), 137, "SIGKILL -> 137");
	rt_wait_file(b, "exit.json");
	snprintf(path, sizeof(path), "%s/exit.json", b);
	ex = json_load_file(path, 0, NULL);
	CHECK_EQ(json_integer_value(json_object_get(ex, "signal")), 9, "exit.json signal 9");
	json_decref(ex);

	/* sleep as a child of pid 1: kill all TERM ends it; its shell reports 143. */
	if (rt_run(b, sizeof(b), rt_args("sleep 30 & echo started; wait $!"), &init) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK(rt_log_wait(b, "stdout", "started\n"), "sleep started");
	CHECK_EQ(rt_kill(b, SIGTERM, true), 0, "kill all TERM accepted");
	CHECK_EQ(rt_wait(b), 143, "sleep killed by SIGTERM -> 143");
	CHECK(rt_pid_gone(init), "init gone");
	CHECK_EQ(rt_kill(b, SIGKILL, false), -1, "kill after exit refused");
}

TEST(runtime_outlives_spawner)
{
	char b[256], line[256];
	pid_t child, shim, init;
	int status, p[2];
	char ppid[64];

	rt_bundle(b, sizeof(b), json_pack("{s[ss]}", "args", "sleep", "30"));
	if (pipe(p) < 0)
		return;
	child = fork();
	if (child == 0) {
		close(p[0]);
		rt_spawn(b, line, sizeof(line));
		if (write(p[1], line, strlen(line)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	memset(line, 0, sizeof(line));
	if (read(p[0], line, sizeof(line) - 1) < 0)
		line[0] = '\0';
	close(p[0]);
	waitpid(child, &status, 0);
	shim = rt_read_pid(b, "shim.pid");
	if (shim > 0)
		rt_track(shim);
	CHECK(!strncmp(line, "ok ", 3), "started from a child that then exited");
	if (strncmp(line, "ok ", 3))
		return;
	init = atoi(line + 3);
	rt_track(init);
	usleep(100000);
	CHECK_EQ(kill(shim, 0), 0, "the shim still runs");
	CHECK_EQ(kill(init, 0), 0, "the container still runs");
	snprintf(line, sizeof(line), "/proc/%d/stat", (int)shim);
	sh_out(ppid, sizeof(ppid), "awk '{print $4\" \"$6}' %s", line);
	CHECK(atoi(ppid) != getpid() && atoi(ppid) != child, "re-parented away from its spawner");
	CHECK(strchr(ppid, ' ') && atoi(strchr(ppid, ' ') + 1) == shim, "in its own session");
	CHECK_EQ(rt_kill(b, SIGKILL, false), 0, "kill");
	CHECK_EQ(rt_wait(b), 137, "137");
}

TEST(runtime_tty)
{
	char b[256], out[4096];
	json_t *x = rt_args("tty; test -t 0 && test -t 1 && echo both-tty; "
			    "test -c /dev/console && echo console; echo hi");

	json_object_set_new(x, "tty", json_true());
	json_object_set_new(x, "user", json_string("1000"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	printf("# tty stdout: %s", out);
	CHECK(!strcmp(out, "/dev/pts/0\r\nboth-tty\r\nconsole\r\nhi\r\n"),
	      "output through the container's own pty (pts/0, CRLF)");
}

TEST(runtime_tty_resize_exec)
{
	char b[256], out[4096], err[1024];
	int fd, afd, code;
	json_t *r, *x;

	/* Waits (at most 5 s) for a window size, prints it. */
	x = rt_args("i=0; s=; while [ -z \"$s\" ] || [ \"$s\" = '0 0' ]; do "
		    "[ $i -ge 100 ] && break; sleep 0.05; i=$((i+1)); "
		    "s=$(stty size 2>/dev/null); done; echo size $s; read line; echo got $line");
	json_object_set_new(x, "tty", json_true());
	json_object_set_new(x, "open_stdin", json_true());
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	r = rt_request(b, "{\"op\":\"exec\",\"args\":[\"tty\"],\"env\":[],\"tty\":true}", &fd);
	CHECK(rt_ok(r), "exec with a tty accepted");
	json_decref(r);
	if (fd >= 0) {
		rt_frames(fd, out, sizeof(out), err, sizeof(err), &code);
		close(fd);
		CHECK(!strcmp(out, "/dev/pts/1\r\n") && code == 0, "exec gets its own pty");
		printf("# exec tty: %s", out);
	}
	r = rt_request(b, "{\"op\":\"attach\",\"stdin\":true,\"stdout\":true,\"stderr\":true}",
		       &afd);
	CHECK(rt_ok(r), "attach");
	json_decref(r);
	r = rt_request(b, "{\"op\":\"resize\",\"pid\":0,\"height\":40,\"width\":100}", NULL);
	CHECK(rt_ok(r), "resize accepted");
	json_decref(r);
	if (afd < 0)
		return;
	CHECK_EQ(write(afd, "hello\n", 6), 6, "type into the tty");
	rt_frames(afd, out, sizeof(out), err, sizeof(err), &code);
	close(afd);
	printf("# attach tty: %s", out);
	CHECK(strstr(out, "size 40 100\r\n") != NULL, "the container sees the new size");
	CHECK(strstr(out, "got hello\r\n") != NULL, "stdin typed through attach");
	CHECK_EQ(rt_wait(b), 0, "exit 0");
}

TEST(runtime_netns)
{
	char b[256], out[4096], path[128];
	json_t *x;

	if (rt_run(b, sizeof(b), rt_args("ls /sys/class/net | tr '\\n' ' '; cat /sys/class/net/lo/operstate"),
		   NULL) < 0) {
		CHECK(0, "container starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "lo unknown\n"), "netns \"\": a new namespace with lo only, up");
	printf("# new netns: %s", out);

	snprintf(rt_netns, sizeof(rt_netns), "shoal-rt-%s", g_tag);
	if (sh("ip netns add %s && ip -n %s link add rtveth0 type veth peer name rtveth1", rt_netns,
	       rt_netns)) {
		CHECK(0, "ip netns add");
		return;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", rt_netns);
	x = rt_args("ls /sys/class/net | tr '\\n' ' '");
	json_object_set_new(x, "netns", json_string(path));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts in the netns");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "lo rtveth0 rtveth1 "), "netns path: the container sees that namespace's links");
	printf("# netns path: %s\n", out);

	x = rt_args("ls /sys/class/net | sort | tr '\\n' ' '");
	json_object_set_new(x, "netns", json_string("host"));
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container starts in the host netns");
		return;
	}
	CHECK_EQ(rt_wait(b), 0, "exit 0");
	rt_log(b, "stdout", out, sizeof(out));
	{
		char host[4096];

		/* the suite's own namespace (main.c): ask it, not the /sys
		 * mounted for the machine's */
		sh_out(host, sizeof(host),
		       "ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | LC_ALL=C sort | tr '\\n' ' '");
		CHECK(!strcmp(out, host), "netns host: the host's links");
		if (tap.cur_failed)
			printf("#   container: %s, host: %s\n", out, host);
	}

	x = rt_args("true");
	json_object_set_new(x, "netns", json_string("/run/netns/shoal-rt-missing"));
	rt_bundle(b, sizeof(b), x);
	rt_spawn(b, out, sizeof(out));
	CHECK(!strncmp(out, "error 125 network namespace /run/netns/shoal-rt-missing", 55),
	      "a missing netns is named in the error");
}

TEST(runtime_cgroup)
{
	char b[256], cg[256], out[512], path[PATH_MAX];
	const char *base = NULL;
	struct statfs sfs;
	pid_t init;
	json_t *x;

	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
		base = "/sys/fs/cgroup";
	else if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
		base = "/sys/fs/cgroup/unified";
	if (!base || access(base, W_OK) < 0)
		SKIP("no writable cgroup2 mount");
	snprintf(rt_cgroup, sizeof(rt_cgroup), "%s/shoal-rt-%s", base, g_tag);
	snprintf(rt_cgroup_rel, sizeof(rt_cgroup_rel), "/shoal-rt-%s", g_tag);
	snprintf(cg, sizeof(cg), "%s/c1", rt_cgroup);
	x = json_pack("{s[sss]ss}", "args", "/bin/sh", "-c",
		      "grep ^0:: /proc/self/cgroup; test -f /sys/fs/cgroup/cgroup.procs && echo cgfs; "
		      "touch /sys/fs/cgroup/x || echo cgro; exec sleep 30", "cgroup", cg);
	if (rt_run(b, sizeof(b), x, &init) < 0) {
		CHECK(0, "container starts");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)init);
	sh_out(out, sizeof(out), "grep '^0::' %s", path);
	printf("# %s", out);
	CHECK(strstr(out, cg + strlen(base)) != NULL, "init is in the container's cgroup");
	{
		int fd, code;
		char eo[256], ee[256];
		json_t *r = rt_request(b, "{\"op\":\"exec\",\"args\":[\"grep\",\"^0::\",\"/proc/self/cgroup\"],"
					  "\"env\":[]}", &fd);

		json_decref(r);
		if (fd >= 0) {
			rt_frames(fd, eo, sizeof(eo), ee, sizeof(ee), &code);
			close(fd);
			CHECK(!strcmp(eo, "0::/\n"), "an exec joins the cgroup and its namespace");
		}
	}
	CHECK(rt_log_wait(b, "stdout", "cgro\n"), "the script ran");
	{
		/* An exec whose setup cannot progress (its cgroup frozen behind
		 * the shim's back) does not stop the shim serving others. */
		char f[PATH_MAX], eo[256], ee[256];
		json_t *r;
		int fd = -1, code;

		snprintf(f, sizeof(f), "%s/cgroup.freeze", cg);
		CHECK_EQ(rt_write(f, "1"), 0, "freeze");
		fd = rt_connect(b);
		CHECK(fd >= 0 && send(fd, "{\"op\":\"exec\",\"args\":[\"echo\",\"late\"],"
					 "\"env\":[]}\n", 46, MSG_NOSIGNAL) == 46, "exec sent");
		usleep(200000);
		r = rt_request(b, "{\"op\":\"nope\"}", NULL);
		CHECK(r && !rt_ok(r), "the shim answers while an exec is being set up");
		json_decref(r);
		CHECK_EQ(rt_write(f, "0"), 0, "thaw");
		r = fd >= 0 ? rt_read_reply(fd) : NULL;
		CHECK(rt_ok(r), "then the exec starts");
		json_decref(r);
		if (fd >= 0) {
			rt_frames(fd, eo, sizeof(eo), ee, sizeof(ee), &code);
			close(fd);
			CHECK(!strcmp(eo, "late\n") && code == 0, "and runs to its end");
		}
	}
	{
		char ev[256];
		json_t *r = rt_request(b, "{\"op\":\"pause\"}", NULL);

		CHECK(rt_ok(r), "pause");
		json_decref(r);
		sh_out(ev, sizeof(ev), "grep frozen %s/cgroup.events", cg);
		CHECK(!strcmp(ev, "frozen 1\n"), "paused: the cgroup is frozen");
		r = rt_request(b, "{\"op\":\"pause\"}", NULL);
		CHECK(r && !rt_ok(r), "pausing twice is refused");
		json_decref(r);
		r = rt_request(b, "{\"op\":\"exec\",\"args\":[\"true\"],\"env\":[]}", NULL);
		CHECK(r && !rt_ok(r), "no exec into a paused container");
		json_decref(r);
		r = rt_request(b, "{\"op\":\"resume\"}", NULL);
		CHECK(rt_ok(r), "resume");
		json_decref(r);
		sh_out(ev, sizeof(ev), "grep frozen %s/cgroup.events", cg);
		CHECK(!strcmp(ev, "frozen 0\n"), "resumed: thawed");
	}
	CHECK_EQ(rt_kill(b, SIGKILL, false), 0, "kill");
	CHECK_EQ(rt_wait(b), 137, "137");
	CHECK(rt_wait_file(b, "exit.json"), "exit.json");
	CHECK(access(cg, F_OK) < 0, "the cgroup is removed after exit");
	rt_log(b, "stdout", out, sizeof(out));
	CHECK(!strcmp(out, "0::/\ncgfs\ncgro\n"),
	      "inside: its own cgroup namespace, cgroup2 on /sys/fs/cgroup read-only");
	printf("# inside: %s", out);
}

/* A writable cgroup2 mount (v2 or hybrid), else NULL. */
static const char *rt_cgroup2_base(void)
{
	struct statfs sfs;

	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
	    access("/sys/fs/cgroup", W_OK) == 0)
		return "/sys/fs/cgroup";
	if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
	    access("/sys/fs/cgroup/unified", W_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return NULL;
}

/* "<v1 mount of ctrl><rel>/<file>" holds want (one line)? */
static bool rt_v1_is(const char *ctrl, const char *rel, const char *file, const char *want)
{
	char d[PATH_MAX], val[128];

	if (cg1_dir(ctrl, rel, d, sizeof(d)) < 0)
		return false;
	sh_out(val, sizeof(val), "cat %s/%s", d, file);
	printf("# %s/%s: %s", d, file, val);
	return !strncmp(val, want, strlen(want)) && val[strlen(want)] == '\n';
}

/* No v1 directory of the container is left in any hierarchy. */
static bool rt_v1_gone(const char *rel)
{
	static const char *v1[] = { "memory", "cpu", "cpuacct", "pids" };
	char d[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(v1); i++)
		if (cg1_dir(v1[i], rel, d, sizeof(d)) == 0) {
			printf("# left behind: %s\n", d);
			return false;
		}
	return true;
}

/* Hybrid host: the limits go to the v1 hierarchies (as Docker on v1),
 * rel is the container's cgroup below the cgroup2 mount. */
static void rt_limits_v1(const char *cg, const char *rel, bool v2_mem, bool v2_pids)
{
	char b[256], path[PATH_MAX + 64], line[1024], d[PATH_MAX], eo[256], ee[512];
	bool v1_cpu = cg1_mount("cpu", d, sizeof(d)) == 0 && cg1_mount("cpuacct", d, sizeof(d)) == 0;
	pid_t init;
	int fd, code = -1;
	json_t *x, *r;

	x = json_pack("{s[sss]sss{sIsIsIsI}}", "args", "/bin/sh", "-c", "exec sleep 30", "cgroup",
		      cg, "resources", "memory", (json_int_t)16 << 20, "pids_limit", (json_int_t)10,
		      "nano_cpus", (json_int_t)500000000, "cpu_shares", (json_int_t)512);
	if (rt_run(b, sizeof(b), x, &init) < 0) {
		CHECK(0, "container with limits starts (cgroup v1)");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)init);
	sh_out(line, sizeof(line), "grep -E ':(memory|pids):' %s", path);
	printf("# %s", line);
	if (!v2_mem) {
		char want[PATH_MAX + 16];

		snprintf(want, sizeof(want), "memory:%s\n", rel);
		CHECK(strstr(line, want) != NULL, "init is in the v1 memory cgroup");
		CHECK(rt_v1_is("memory", rel, "memory.limit_in_bytes", "16777216"),
		      "memory.limit_in_bytes = 16 MiB");
		if (cg1_dir("memory", rel, d, sizeof(d)) == 0 &&
		    access(strcat(d, "/memory.memsw.limit_in_bytes"), F_OK) == 0)
			CHECK(rt_v1_is("memory", rel, "memory.memsw.limit_in_bytes", "33554432"),
			      "memory.memsw.limit_in_bytes = 2x memory (Docker without --memory-swap)");
	}
	if (!v2_pids)
		CHECK(rt_v1_is("pids", rel, "pids.max", "10"), "pids.max = 10");
	if (v1_cpu) {
		CHECK(rt_v1_is("cpu", rel, "cpu.cfs_period_us", "100000"), "cpu.cfs_period_us");
		CHECK(rt_v1_is("cpu", rel, "cpu.cfs_quota_us", "50000"), "cpu.cfs_quota_us = 0.5 CPU");
		CHECK(rt_v1_is("cpu", rel, "cpu.shares", "512"), "cpu.shares");
	}
	/* 12 background sleeps: the fork that would make an 11th process fails. */
	r = rt_request(b, "{\"op\":\"exec\",\"args\":[\"/bin/sh\",\"-c\",\"for i in 1 2 3 4 5 6 7 8 9 "
		       "10 11 12; do sleep 5 & done; echo all forked\"],\"env\":[]}", &fd);
	json_decref(r);
	eo[0] = ee[0] = '\0';
	if (fd >= 0) {
		rt_frames(fd, eo, sizeof(eo), ee, sizeof(ee), &code);
		close(fd);
	}
	printf("# exec: code %d, stdout %s, stderr %s\n", code, eo, ee);
	CHECK(code != 0 && !strstr(eo, "all forked") && strstr(ee, "fork"),
	      "pids.max 10 refuses the forks beyond it");
	CHECK_EQ(rt_kill(b, SIGKILL, false), 0, "kill");
	CHECK_EQ(rt_wait(b), 137, "137");
	CHECK(rt_wait_file(b, "exit.json"), "exit.json");
	CHECK(access(cg, F_OK) < 0 && rt_v1_gone(rel), "v2 and v1 cgroups removed after exit");

	x = json_pack("{s[sss]sss{sI}}", "args", "/bin/sh", "-c",
		      "exec dd if=/dev/zero of=/dev/null bs=64M count=1", "cgroup", cg, "resources",
		      "memory", (json_int_t)16 << 20);
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container with a memory limit starts (cgroup v1)");
		return;
	}
	CHECK_EQ(rt_wait(b), 137, "dd of 64 MiB under a 16 MiB v1 limit is OOM-killed");
	CHECK(rt_wait_file(b, "exit.json"), "exit.json");
	snprintf(path, sizeof(path), "%s/exit.json", b);
	sh_out(line, sizeof(line), "cat %s", path);
	CHECK(strstr(line, "\"oom_killed\":true") != NULL, "exit.json oom_killed (memory.oom_control)");
	CHECK(access(cg, F_OK) < 0 && rt_v1_gone(rel), "no cgroup left after the OOM kill");
}

TEST(runtime_limits)
{
	char b[256], cg[256], ctrls[256], line[1024], path[PATH_MAX + 64], val[256], m[PATH_MAX];
	const char *base = rt_cgroup2_base();
	bool mem, pids, mem1, pids1;
	json_t *x;

	x = json_pack("{s[s]s{sI}}", "args", "true", "resources", "memory", (json_int_t)1 << 20);
	rt_bundle(b, sizeof(b), x);
	rt_spawn(b, line, sizeof(line));
	CHECK(!strcmp(line, "error 125 Minimum memory limit allowed is 6MB\n"),
	      "a 1 MiB memory limit is refused as Docker does");
	/* No cgroup at all: the limit is discarded with a warning, it runs. */
	x = json_pack("{s[s]s{sI}}", "args", "true", "resources", "memory", (json_int_t)16 << 20);
	if (rt_run(b, sizeof(b), x, NULL) == 0) {
		CHECK_EQ(rt_wait(b), 0, "runs without a cgroup");
		snprintf(path, sizeof(path), "%s/shim.log", b);
		sh_out(line, sizeof(line), "grep -c 'no cgroup for the container.*limits discarded' %s",
		       path);
		CHECK_EQ(atoi(line), 1, "shim.log: no cgroup, limits discarded");
	} else {
		CHECK(0, "a container with limits and no cgroup starts");
	}
	if (!base)
		SKIP("no writable cgroup2 mount");
	snprintf(rt_cgroup, sizeof(rt_cgroup), "%s/shoal-rt-%s", base, g_tag);
	snprintf(rt_cgroup_rel, sizeof(rt_cgroup_rel), "/shoal-rt-%s", g_tag);
	snprintf(cg, sizeof(cg), "%s/lim", rt_cgroup);
	sh_out(ctrls, sizeof(ctrls), "cat %s/cgroup.controllers", base);
	mem = strstr(ctrls, "memory") != NULL;
	pids = strstr(ctrls, "pids") != NULL;
	mem1 = !mem && cg1_mount("memory", m, sizeof(m)) == 0;
	pids1 = !pids && cg1_mount("pids", m, sizeof(m)) == 0;
	if ((mem || mem1) && (pids || pids1) && (mem1 || pids1)) {
		snprintf(m, sizeof(m), "%s/lim", rt_cgroup_rel);
		rt_limits_v1(cg, m, mem, pids);
		return;
	}
	if (!mem || !pids) {
		/* A controller neither in cgroup2 nor on v1: Docker discards
		 * that limit with a warning; so do we, and the container runs. */
		x = json_pack("{s[s]sss{sI}}", "args", "true", "cgroup", cg, "resources",
			      mem || mem1 ? "pids_limit" : "memory", (json_int_t)16 << 20);
		if (rt_run(b, sizeof(b), x, NULL) < 0) {
			CHECK(0, "container with limits starts");
			return;
		}
		CHECK_EQ(rt_wait(b), 0, "runs without the limit");
		snprintf(path, sizeof(path), "%s/shim.log", b);
		sh_out(line, sizeof(line), "grep -c 'limitation discarded' %s", path);
		CHECK_EQ(atoi(line), 1, "shim.log says the limit was discarded");
		snprintf(val, sizeof(val), "no %s%s%s controller in cgroup2 or as a cgroup v1 hierarchy",
			 mem || mem1 ? "" : "memory", !(mem || mem1) && !(pids || pids1) ? "/" : "",
			 pids || pids1 ? "" : "pids");
		SKIP(val);
	}
	x = json_pack("{s[sss]sss{sIsI}}", "args", "/bin/sh", "-c",
		      "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max 2>/dev/null; "
		      "exec dd if=/dev/zero of=/dev/null bs=64M count=1", "cgroup", cg,
		      "resources", "memory", (json_int_t)16 << 20, "pids_limit", (json_int_t)10);
	if (rt_run(b, sizeof(b), x, NULL) < 0) {
		CHECK(0, "container with limits starts");
		return;
	}
	CHECK_EQ(rt_wait(b), 137, "dd of 64 MiB under a 16 MiB limit is OOM-killed");
	rt_log(b, "stdout", val, sizeof(val));
	CHECK(!strcmp(val, "10\n16777216\n"), "pids.max and memory.max seen inside");
	snprintf(path, sizeof(path), "%s/exit.json", b);
	sh_out(line, sizeof(line), "cat %s", path);
	CHECK(strstr(line, "\"oom_killed\":true") != NULL, "exit.json oom_killed");
}

static char rt_missing[200];

/* Stands for the whole suite when it cannot run here. */
TEST(runtime_suite_prerequisites)
{
	SKIP(rt_missing);
}

static void runtime_suite(void)
{
	void (*old_pipe)(int);
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		snprintf(rt_missing, sizeof(rt_missing), "readlink /proc/self/exe: %s",
			 strerror(errno));
		RUN(runtime_suite_prerequisites);
		return;
	}
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(rt_shim, sizeof(rt_shim), "%s/shoal-shim", self);
	snprintf(rt_root, sizeof(rt_root), "/var/tmp/shoal-rt-XXXXXX");
	if (!mkdtemp(rt_root)) {
		snprintf(rt_missing, sizeof(rt_missing), "mkdtemp /var/tmp: %s", strerror(errno));
		rt_root[0] = '\0';
		RUN(runtime_suite_prerequisites);
		return;
	}
	if (access(rt_shim, X_OK) < 0 || access("/bin/busybox", X_OK) < 0 || rt_make_rootfs() < 0) {
		snprintf(rt_missing, sizeof(rt_missing), "needs shoal-shim next to this binary and "
			 "/bin/busybox (busybox-static) for the test rootfs");
		runtime_suite_cleanup();
		RUN(runtime_suite_prerequisites);
		return;
	}
	/* Writes to a shim that just exited fail with EPIPE, not a signal. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	RUN(runtime_secure_join);
	RUN(runtime_exit_code);
	RUN(runtime_not_found);
	RUN(runtime_not_executable);
	RUN(runtime_identity);
	RUN(runtime_ulimits_oom_adj);
	RUN(runtime_caps_readonly);
	RUN(runtime_seccomp_privileged);
	RUN(runtime_mounts);
	RUN(runtime_log_json);
	RUN(runtime_log_rotation);
	RUN(runtime_attach_stdin);
	RUN(runtime_hold_start);
	RUN(runtime_exec);
	RUN(runtime_kill);
	RUN(runtime_outlives_spawner);
	RUN(runtime_tty);
	RUN(runtime_tty_resize_exec);
	RUN(runtime_netns);
	RUN(runtime_cgroup);
	RUN(runtime_limits);
	signal(SIGPIPE, old_pipe);
	runtime_suite_cleanup();
}
