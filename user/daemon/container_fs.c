// SPDX-License-Identifier: Apache-2.0
/*
 * container_fs.c - a container's files from outside: Docker Engine API
 * v1.41 GET/HEAD/PUT /containers/{id}/archive (docker cp) and
 * GET /containers/{id}/export.
 *
 * Every file operation runs in a child forked for the request, never in
 * the daemon: the child changes its own root to the container's and
 * resolves paths there, so a symlink in the container ("/etc" -> "/",
 * "../../..", an absolute link) resolves inside the container as it
 * would for the container's own processes, and can never reach a host
 * path; a hostile tar sent with PUT is extracted by archive_extract
 * (absolute paths, "..", writes through symlinks and device nodes are
 * refused) inside that root as a second line.
 *
 *   running container  the child setns()es into its mount namespace
 *                      (/proc/<init>/ns/mnt, opened by the daemon) and
 *                      chroots to its root (/proc/<init>/root): what it
 *                      sees is exactly what the container sees, volume
 *                      and bind mounts included.
 *   stopped container  the rootfs is mounted through the storage driver
 *                      (get/put) and the child, in a mount namespace of
 *                      its own, binds the container's volume and bind
 *                      mounts (config.json's list, mounts_bundle) onto
 *                      it with open_tree()/move_mount(): the tree is
 *                      cloned before the chroot, the target resolved
 *                      after it, so a symlinked target stays inside.
 *   export             the rootfs view from the storage driver (the
 *                      merged layers, no volumes, as Docker), the child
 *                      chrooted there.
 *
 * GET /containers/{id}/changes (docker diff) asks the storage driver
 * what the container's layer changed over the image's top layer
 * (changes.c: overlay2 reads its upper dir, vfs/btrfs compare trees).
 *
 * The child reports on a pipe: one JSON line ({"stat": {...}} or
 * {"errno": N, "message": "..."}); for GET the tar follows on another
 * pipe whose read end is the reply's stream. A reaper thread waits for
 * it and drops the rootfs reference.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../archive/archive.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../image/image.h"
#include "../storage/storage.h"
#include "api.h"
#include "container.h"
#include "daemon.h"
#include "mounts.h"

#define STAT_HEADER "X-Docker-Container-Path-Stat"

/* Where the child finds the container's files. */
struct cfs {
	struct daemon *d;
	char id[65];
	char ref[256];          /* as the client named it, for messages */
	pid_t init;             /* running: its init (host pid), else 0 */
	int mnt_fd, root_fd;    /* running: its mount namespace and root */
	char rootfs[4096];      /* stopped / export: the driver's view */
	bool got_rootfs;
	json_t *mounts;         /* stopped: config.json "mounts" entries */
	bool ro_rootfs;         /* HostConfig.ReadonlyRootfs */
	pid_t child;
};

static void cfs_close(struct cfs *c)
{
	if (c->mnt_fd >= 0)
		close(c->mnt_fd);
	if (c->root_fd >= 0)
		close(c->root_fd);
	c->mnt_fd = c->root_fd = -1;
	if (c->got_rootfs) {
		pthread_mutex_lock(&c->d->lock);
		c->d->storage->ops->put(c->d->storage, c->id, NULL);
		pthread_mutex_unlock(&c->d->lock);
		c->got_rootfs = false;
	}
	json_decref(c->mounts);
	c->mounts = NULL;
}

/*
 * Find ref and prepare the way in: the namespace of its running init,
 * else (or with layer_only, for export) its rootfs from the driver.
 */
static int cfs_open(struct daemon *d, const char *ref, bool layer_only, struct cfs *c,
		    struct shoal_err *err)
{
	struct st_container sc;
	json_t *hc = NULL;
	bool found = false;
	char p[64];
	int ret;

	memset(c, 0, sizeof(*c));
	c->d = d;
	c->mnt_fd = c->root_fd = -1;
	snprintf(c->ref, sizeof(c->ref), "%s", ref);
	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &sc, err);
	if (ret < 0)
		goto out_unlock;
	found = true;
	snprintf(c->id, sizeof(c->id), "%s", sc.id);
	hc = json_loads(sc.host_config ? sc.host_config : "{}", 0, NULL);
	c->ro_rootfs = json_is_true(json_object_get(hc, "ReadonlyRootfs"));
	if (!layer_only && strcmp(sc.status, "running") == 0 && sc.pid > 0) {
		snprintf(p, sizeof(p), "/proc/%d/ns/mnt", sc.pid);
		c->mnt_fd = open(p, O_RDONLY | O_CLOEXEC);
		snprintf(p, sizeof(p), "/proc/%d/root", sc.pid);
		c->root_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->mnt_fd < 0 || c->root_fd < 0) {
			ret = err_set(err, errno, "container %s: cannot enter its namespace: %s", c->ref,
				      strerror(errno));
			goto out_unlock;
		}
		c->init = sc.pid;
		goto out_unlock;
	}
	ret = d->storage->ops->get(d->storage, sc.id, c->rootfs, sizeof(c->rootfs), err);
	if (ret < 0)
		goto out_unlock;
	c->got_rootfs = true;
	if (!layer_only) {
		c->mounts = json_array();
		ret = mounts_bundle(d, sc.id, c->rootfs, hc, c->mounts, err);
	}
out_unlock:
	pthread_mutex_unlock(&d->lock);
	json_decref(hc);
	if (found)
		st_container_free(&sc);
	if (ret < 0)
		cfs_close(c);
	return ret;
}

/* ---- in the child ------------------------------------------------------------------ */

static bool opt_has(json_t *opts, const char *o)
{
	size_t i;
	json_t *v;

	json_array_foreach(opts, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), o) == 0)
			return true;
	return false;
}

/* Stopped container: a private mount namespace with its binds on the
 * rootfs, then chroot. The trees are cloned from host paths first; the
 * targets are resolved inside the new root. */
static int enter_rootfs(struct cfs *c, bool with_mounts)
{
	size_t n = with_mounts ? json_array_size(c->mounts) : 0, i;
	int *trees = calloc(n + 1, sizeof(int));
	json_t *m;

	if (!trees)
		return -ENOMEM;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		m = json_array_get(c->mounts, i);
		trees[i] = -1;
		if (strcmp(json_string_value(json_object_get(m, "type")) ?: "", "bind") != 0)
			continue; /* a tmpfs holds nothing while the container is stopped */
		trees[i] = (int)open_tree(AT_FDCWD, json_string_value(json_object_get(m, "source")),
					  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (trees[i] < 0)
			return -errno;
		if (opt_has(json_object_get(m, "options"), "ro")) {
			struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };

			if (syscall(SYS_mount_setattr, trees[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &a,
				    sizeof(a)) < 0)
				return -errno;
		}
	}
	if (chdir(c->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		const char *dst = json_string_value(json_object_get(json_array_get(c->mounts, i),
								    "destination"));

		if (trees[i] < 0 || !dst)
			continue;
		/* A target the image lacks is made at start; we leave the
		 * layer alone and go without that mount. */
		if (move_mount(trees[i], "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0 &&
		    errno != ENOENT)
			return -errno;
		close(trees[i]);
	}
	free(trees);
	return 0;
}

static int enter(struct cfs *c, bool with_mounts)
{
	if (!c->init)
		return enter_rootfs(c, with_mounts);
	if (setns(c->mnt_fd, CLONE_NEWNS) < 0)
		return -errno;
	if (fchdir(c->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return -errno;
	return 0;
}

static void report(int ctl, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (s) {
		size_t n = strlen(s);

		s[n] = '\n';
		(void)!write(ctl, s, n + 1);
		free(s);
	}
}

static void report_err(int ctl, int ret, const struct shoal_err *err)
{
	report(ctl, json_pack("{s:i, s:s}", "errno", -ret,
			      "message", err->msg[0] ? err->msg : strerror(-ret)));
}

/* Go's os.FileMode bits (the stat header and the CLI speak it). */
static uint32_t go_mode(mode_t m)
{
	uint32_t g = m & 0777;

	switch (m & S_IFMT) {
	case S_IFDIR: g |= 1u << 31; break;
	case S_IFLNK: g |= 1u << 27; break;
	case S_IFIFO: g |= 1u << 25; break;
	case S_IFSOCK: g |= 1u << 24; break;
	case S_IFBLK: g |= 1u << 26; break;
	case S_IFCHR: g |= (1u << 26) | (1u << 21); break;
	}
	if (m & S_ISUID)
		g |= 1u << 23;
	if (m & S_ISGID)
		g |= 1u << 22;
	if (m & S_ISVTX)
		g |= 1u << 20;
	return g;
}

/*
 * Lexically clean the container path p into out ("/a/b"); *dot when it
 * ends with "/." (the directory's contents, Docker's cp form).
 */
static int clean_ctr_path(const char *p, char *out, size_t len, bool *dot)
{
	size_t o = 0, n = strlen(p);

	*dot = (n >= 2 && strcmp(p + n - 2, "/.") == 0) || strcmp(p, ".") == 0;
	out[0] = '\0';
	for (const char *s = p; *s;) {
		const char *e = strchrnul(s, '/');
		size_t cl = (size_t)(e - s);

		if (cl == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
		} else if (cl && !(cl == 1 && s[0] == '.')) {
			if (o + cl + 2 > len)
				return -ENAMETOOLONG;
			out[o++] = '/';
			memcpy(out + o, s, cl);
			o += cl;
			out[o] = '\0';
		}
		s = *e ? e + 1 : e;
	}
	if (!o)
		snprintf(out, len, "/");
	return 0;
}

/*
 * Docker's StatPath: the directory part resolved (symlinks followed,
 * inside our root), the last component not followed unless the path
 * ends in "/.". resolved: the host-side path to archive, name: what the
 * tar calls it.
 */
static int stat_path(struct cfs *c, const char *path, char *resolved, size_t len, char *name,
		     size_t nlen, json_t **out, struct shoal_err *err)
{
	char clean[PATH_MAX], dir[PATH_MAX], rdir[PATH_MAX], target[PATH_MAX] = "", mt[40];
	const char *base;
	struct stat st;
	bool dot;

	if (!*path)
		return err_set(err, EINVAL, "Path cannot be empty");
	if (clean_ctr_path(path, clean, sizeof(clean), &dot) < 0)
		return err_set(err, ENAMETOOLONG, "path %s is too long", path);
	if (dot || strcmp(clean, "/") == 0) {
		snprintf(dir, sizeof(dir), "%s", clean);
		base = dot ? "." : "/";
	} else {
		char *s = strrchr(clean, '/');

		base = s + 1;
		snprintf(dir, sizeof(dir), "%.*s", (int)(s - clean) ? (int)(s - clean) : 1, clean);
	}
	if (!realpath(dir, rdir))
		goto not_found;
	if (*base == '.' || *base == '/')
		snprintf(resolved, len, "%s", rdir);
	else if ((size_t)snprintf(resolved, len, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "",
				  base) >= len)
		return err_set(err, ENAMETOOLONG, "path %s is too long", path);
	if (lstat(resolved, &st) < 0 || (dot && !S_ISDIR(st.st_mode)))
		goto not_found;
	if (S_ISLNK(st.st_mode) && !realpath(resolved, target)) {
		ssize_t n = readlink(resolved, target, sizeof(target) - 1);

		target[n > 0 ? n : 0] = '\0';
	}
	snprintf(name, nlen, "%s", *base == '/' ? "." : base);
	ctr_time_str((int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, mt);
	*out = json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", base, "size", (json_int_t)st.st_size,
			 "mode", (json_int_t)go_mode(st.st_mode), "mtime", mt, "linkTarget", target);
	return 0;
not_found:
	return err_set(err, ENOENT, "Could not find the file %s in container %s", path, c->ref);
}

enum cfs_op { CFS_STAT, CFS_GET, CFS_PUT, CFS_EXPORT };

struct cfs_req {
	enum cfs_op op;
	const char *path;
	int in_fd;                       /* PUT: the spooled tar */
	bool no_overwrite_dir_nondir, copy_uidgid;
};

static int do_put(struct cfs *c, const struct cfs_req *q, struct shoal_err *err)
{
	struct archive_extract_opts o = {
		.mode = ARCHIVE_WHITEOUT_NONE, .keep_owner = q->copy_uidgid,
		.no_overwrite_dir_nondir = q->no_overwrite_dir_nondir, .what = "archive",
	};
	char clean[PATH_MAX], dst[PATH_MAX];
	struct statvfs vfs;
	struct stat st;
	bool dot;

	if (!*q->path)
		return err_set(err, EINVAL, "Path cannot be empty");
	if (clean_ctr_path(q->path, clean, sizeof(clean), &dot) < 0)
		return err_set(err, ENAMETOOLONG, "path %s is too long", q->path);
	if (!realpath(clean, dst) || stat(dst, &st) < 0)
		return err_set(err, ENOENT, "Could not find the file %s in container %s", q->path,
			       c->ref);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, EINVAL, "extraction point is not a directory");
	if (statvfs(dst, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return err_set(err, EACCES, c->ro_rootfs ? "container rootfs is marked read-only" :
							   "mounted volume is marked read-only");
	return archive_extract(q->in_fd, dst, &o, NULL, err);
}

/* The child: never returns. */
static void child_main(struct cfs *c, const struct cfs_req *q, int ctl, int data)
{
	struct shoal_err err = { 0 };
	char resolved[PATH_MAX], name[PATH_MAX];
	json_t *st = NULL;
	int ret;

	ret = enter(c, q->op != CFS_EXPORT);
	if (ret < 0) {
		err_set(&err, ret, "container %s: cannot enter its filesystem: %s", c->ref,
			strerror(-ret));
		report_err(ctl, ret, &err);
		_exit(1);
	}
	if (q->op == CFS_EXPORT) {
		report(ctl, json_pack("{s:b}", "ok", 1));
		close(ctl);
		_exit(archive_write_tree(data, "/", "", &err) < 0 ? 1 : 0);
	}
	if (q->op == CFS_PUT) {
		ret = do_put(c, q, &err);
		if (ret < 0)
			report_err(ctl, ret, &err);
		else
			report(ctl, json_pack("{s:b}", "ok", 1));
		_exit(ret < 0 ? 1 : 0);
	}
	ret = stat_path(c, q->path, resolved, sizeof(resolved), name, sizeof(name), &st, &err);
	if (ret < 0) {
		report_err(ctl, ret, &err);
		_exit(1);
	}
	report(ctl, json_pack("{s:o}", "stat", st));
	close(ctl);
	if (q->op == CFS_STAT)
		_exit(0);
	_exit(archive_write_tree(data, resolved, name, &err) < 0 ? 1 : 0);
}

/* Fork the child; *ctl_r gets its report pipe, *data_r (GET, export)
 * the tar. */
static int cfs_spawn(struct cfs *c, const struct cfs_req *q, int *ctl_r, int *data_r,
		     struct shoal_err *err)
{
	int ctl[2], data[2] = { -1, -1 };

	if (pipe2(ctl, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe: %s", strerror(errno));
	if (data_r && pipe2(data, O_CLOEXEC) < 0) {
		close(ctl[0]);
		close(ctl[1]);
		return err_set(err, errno, "pipe: %s", strerror(errno));
	}
	c->child = fork();
	if (c->child < 0) {
		int e = errno;

		close(ctl[0]);
		close(ctl[1]);
		if (data_r) {
			close(data[0]);
			close(data[1]);
		}
		return err_set(err, e, "fork: %s", strerror(e));
	}
	if (c->child == 0) {
		/* Only what the job needs stays open: no daemon fd (a
		 * directory of the host above all) crosses into the root. */
		int keep[5] = { ctl[1], data[1], q->in_fd, c->mnt_fd, c->root_fd }, hi = 1000;

		for (int i = 0; i < 5; i++)
			if (keep[i] >= 0)
				keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, hi + i);
		for (int i = 0; i < 5; i++)
			if (keep[i] >= 0)
				keep[i] = dup3(keep[i], 3 + i, O_CLOEXEC) < 0 ? -1 : 3 + i;
		syscall(SYS_close_range, 8, ~0U, 0);
		struct cfs_req cq = *q;

		cq.in_fd = keep[2];
		c->mnt_fd = keep[3];
		c->root_fd = keep[4];
		signal(SIGPIPE, SIG_IGN);
		child_main(c, &cq, keep[0], keep[1]);
	}
	close(ctl[1]);
	*ctl_r = ctl[0];
	if (data_r) {
		close(data[1]);
		*data_r = data[0];
	}
	return 0;
}

/* The child's report line, parsed; an error reply becomes ret/err. */
static int read_report(int ctl, json_t **out, struct shoal_err *err)
{
	char buf[8192];
	size_t n = 0;
	ssize_t r;
	json_t *j;

	while (n < sizeof(buf) - 1) {
		r = read(ctl, buf + n, sizeof(buf) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	if (!j)
		return err_set(err, EIO, "the file operation in the container failed");
	if (json_object_get(j, "errno")) {
		int e = (int)json_integer_value(json_object_get(j, "errno"));

		err_set(err, e > 0 ? e : EIO, "%s",
			json_string_value(json_object_get(j, "message")) ?: "failed");
		json_decref(j);
		return -(e > 0 ? e : EIO);
	}
	*out = j;
	return 0;
}

static void *reaper(void *arg)
{
	struct cfs *c = arg;

	while (waitpid(c->child, NULL, 0) < 0 && errno == EINTR)
		;
	cfs_close(c);
	free(c);
	return NULL;
}

/* Wait for the child in the background, then release c (heap). */
static void reap_later(struct cfs *c)
{
	pthread_attr_t a;
	pthread_t t;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, reaper, c) != 0)
		reaper(c);
	pthread_attr_destroy(&a);
}

static char *base64(const char *s)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* One request from start to reply. */
static void cfs_run(const struct api_req *q, const char *ref, const struct cfs_req *cq,
		    struct reply *r)
{
	struct shoal_err err = { 0 };
	struct cfs *c = calloc(1, sizeof(*c));
	bool want_data = cq->op == CFS_GET || cq->op == CFS_EXPORT;
	int ctl = -1, data = -1, ret;
	json_t *rep = NULL;

	if (!c)
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	ret = cfs_open(q->d, ref, cq->op == CFS_EXPORT, c, &err);
	if (ret < 0) {
		free(c);
		return api_reply_err(r, ret, &err);
	}
	ret = cfs_spawn(c, cq, &ctl, want_data ? &data : NULL, &err);
	if (ret < 0) {
		cfs_close(c);
		free(c);
		return api_reply_err(r, ret, &err);
	}
	ret = read_report(ctl, &rep, &err);
	close(ctl);
	if (ret < 0) {
		if (data >= 0)
			close(data);
		reap_later(c);
		return api_reply_err(r, ret, &err);
	}
	if (json_object_get(rep, "stat")) {
		char *s = json_dumps(json_object_get(rep, "stat"), JSON_COMPACT);

		r->extra_header = STAT_HEADER;
		r->extra_value = s ? base64(s) : NULL;
		free(s);
	}
	json_decref(rep);
	reap_later(c);
	r->status = MHD_HTTP_OK;
	if (data >= 0) {
		r->stream_fd = data;
		r->content_type = "application/x-tar";
	}
}

void ctr_api_archive(const struct api_req *q, const char *ref, struct reply *r)
{
	struct cfs_req cq = { .path = api_query(q, "path") ?: "", .in_fd = -1 };

	if (strcmp(q->method, "GET") == 0) {
		cq.op = CFS_GET;
	} else if (strcmp(q->method, "HEAD") == 0) {
		cq.op = CFS_STAT;
	} else if (strcmp(q->method, "PUT") == 0) {
		cq.op = CFS_PUT;
		cq.in_fd = q->rc->spool_fd;
		cq.no_overwrite_dir_nondir = api_query_bool(q, "noOverwriteDirNonDir", false);
		cq.copy_uidgid = api_query_bool(q, "copyUIDGID", false);
		if (cq.in_fd < 0)
			return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "no tar archive in the request body");
	} else {
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	}
	if (!*cq.path)
		return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, "Path cannot be empty");
	cfs_run(q, ref, &cq, r);
}

void ctr_api_export(const struct api_req *q, const char *ref, struct reply *r)
{
	struct cfs_req cq = { .op = CFS_EXPORT, .path = "/", .in_fd = -1 };

	if (strcmp(q->method, "GET") != 0)
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	cfs_run(q, ref, &cq, r);
}

/* GET /containers/{id}/changes: [{"Path","Kind"}] of the container's
 * layer over its image's top layer, from the driver. */
void ctr_api_changes(const struct api_req *q, const char *ref, struct reply *r)
{
	struct shoal_err err = { 0 };
	struct st_container sc;
	char id[65], image[80], img_id[IMAGE_ID_LEN], top[65] = "";
	struct daemon *d = q->d;
	json_t *cfg = NULL, *out = NULL;
	int ret;

	if (strcmp(q->method, "GET") != 0)
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (!d->storage->ops->changes)
		return api_reply_msg(r, MHD_HTTP_NOT_IMPLEMENTED,
				     "the storage driver cannot list a container's changes");
	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &sc, &err);
	if (ret == 0) {
		snprintf(id, sizeof(id), "%s", sc.id);
		snprintf(image, sizeof(image), "%s", sc.image_id);
		st_container_free(&sc);
	}
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		return api_reply_err(r, ret, &err);
	/* The image store takes d->lock itself. */
	ret = image_resolve(d->images, image, img_id, &cfg, top, &err);
	json_decref(cfg);
	if (ret < 0)
		return api_reply_err(r, ret, &err);
	ret = d->storage->ops->changes(d->storage, id, top[0] ? top : NULL, &out, &err);
	api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
}
