// SPDX-License-Identifier: Apache-2.0
/*
 * fsutil.c - tree removal, copy and size for layers; a thread with its
 * own cwd. Everything walks with directory fds and *at() calls, never
 * following a symlink that a layer holds.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>

#include "../common/util.h"
#include "fsutil.h"

/* ---- directory walks ---- */

/* A stream over the entries of dfd, on a dup so dfd stays usable for the
 * *at() calls; NULL with *r = -errno. */
static DIR *dir_stream(int dfd, int *r)
{
	int fd2 = dup(dfd);
	DIR *d;

	if (fd2 < 0) {
		*r = -errno;
		return NULL;
	}
	d = fdopendir(fd2);
	if (!d) {
		close(fd2);
		*r = -errno;
		return NULL;
	}
	return d;
}

static bool is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/* ---- removal ---- */

static int rm_children(int dfd)
{
	int ret = 0;
	struct dirent *de;
	DIR *d = dir_stream(dfd, &ret);

	if (!d)
		return ret;
	while ((de = readdir(d))) {
		int r;

		if (is_dot(de->d_name))
			continue;
		r = fsutil_rm_rf_at(dfd, de->d_name);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	return ret;
}

int fsutil_rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	int fd, r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = rm_children(fd);
	close(fd);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return r < 0 ? r : -errno;
	return r;
}

int fsutil_rm_rf(const char *path)
{
	return fsutil_rm_rf_at(AT_FDCWD, path);
}

int fsutil_empty_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return rm_children(fd);
}

/* ---- copy ---- */

struct ino_ent {
	dev_t dev;
	ino_t ino;
	char path[]; /* relative to the destination root */
};

static int ino_cmp(const void *a, const void *b)
{
	const struct ino_ent *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static void ino_free(void *p)
{
	free(p);
}

struct copy_ctx {
	int dst_root;
	void *inodes;         /* tsearch tree of struct ino_ent */
	char rel[PATH_MAX];   /* path being copied, relative to the roots */
	struct shoal_err *err;
};

static int copy_xattrs(int sdfd, int ddfd, const char *name, struct shoal_err *err)
{
	char sp[64 + NAME_MAX], dp[64 + NAME_MAX];
	char *list = NULL, *val = NULL;
	ssize_t n, vn;
	int ret = 0;

	/* l*xattr on /proc/self/fd/N/name: the fd link is followed, name is not. */
	snprintf(sp, sizeof(sp), "/proc/self/fd/%d/%s", sdfd, name);
	snprintf(dp, sizeof(dp), "/proc/self/fd/%d/%s", ddfd, name);
	n = llistxattr(sp, NULL, 0);
	if (n <= 0)
		return 0;
	list = malloc((size_t)n);
	if (!list)
		return -ENOMEM;
	n = llistxattr(sp, list, (size_t)n);
	for (char *k = list; n > 0 && k < list + n; k += strlen(k) + 1) {
		vn = lgetxattr(sp, k, NULL, 0);
		if (vn < 0)
			continue;
		free(val);
		val = malloc((size_t)vn + 1);
		if (!val) {
			ret = -ENOMEM;
			break;
		}
		vn = lgetxattr(sp, k, val, (size_t)vn);
		if (vn < 0)
			continue;
		if (lsetxattr(dp, k, val, (size_t)vn, 0) < 0 && errno != ENOTSUP && errno != EPERM) {
			ret = err_set(err, errno, "copy xattr %s of %s: %s", k, name, strerror(errno));
			break;
		}
	}
	free(list);
	free(val);
	return ret;
}

/* Owner, then mode (chown clears set-id bits), then xattrs (chown clears
 * security.capability), then times. */
static int copy_meta(int sdfd, int ddfd, const char *name, const struct stat *st,
		     struct shoal_err *err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int r;

	if (fchownat(ddfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err_set(err, errno, "chown %s: %s", name, strerror(errno));
	if (!S_ISLNK(st->st_mode) && fchmodat(ddfd, name, st->st_mode & 07777, 0) < 0)
		return err_set(err, errno, "chmod %s: %s", name, strerror(errno));
	r = copy_xattrs(sdfd, ddfd, name, err);
	if (r < 0)
		return r;
	if (utimensat(ddfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_set(err, errno, "set times of %s: %s", name, strerror(errno));
	return 0;
}

static int copy_data(int sfd, int dfd)
{
	char buf[65536];
	ssize_t n;

	if (ioctl(dfd, FICLONE, sfd) == 0)
		return 0;
	for (;;) {
		n = copy_file_range(sfd, NULL, dfd, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n < 0)
			break;
	}
	if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	while ((n = read(sfd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dfd, buf + off, (size_t)(n - off));

			if (w < 0)
				return -errno;
			off += w;
		}
	}
	return n < 0 ? -errno : 0;
}

static int copy_dir(int sdfd, int ddfd, struct copy_ctx *c);

static int copy_one(int sdfd, int ddfd, const char *name, struct copy_ctx *c)
{
	size_t rl = strlen(c->rel);
	struct stat st;
	int r = 0;

	if (fstatat(sdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_set(c->err, errno, "stat %s: %s", name, strerror(errno));
	if (rl + strlen(name) + 2 >= sizeof(c->rel))
		return err_set(c->err, ENAMETOOLONG, "copy %s/%s: path too long", c->rel, name);
	snprintf(c->rel + rl, sizeof(c->rel) - rl, "%s%s", rl ? "/" : "", name);

	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		struct ino_ent key = { .dev = st.st_dev, .ino = st.st_ino };
		struct ino_ent **found = tfind(&key, &c->inodes, ino_cmp);

		if (found) {
			if (linkat(c->dst_root, (*found)->path, ddfd, name, 0) < 0)
				r = err_set(c->err, errno, "hard link %s: %s", c->rel, strerror(errno));
			goto out;
		}
		struct ino_ent *e = malloc(sizeof(*e) + strlen(c->rel) + 1);
		if (!e) {
			r = -ENOMEM;
			goto out;
		}
		e->dev = st.st_dev;
		e->ino = st.st_ino;
		strcpy(e->path, c->rel);
		if (!tsearch(e, &c->inodes, ino_cmp)) {
			free(e);
			r = -ENOMEM;
			goto out;
		}
	}

	if (S_ISDIR(st.st_mode)) {
		int s2, d2;

		if (mkdirat(ddfd, name, 0700) < 0 && errno != EEXIST) {
			r = err_set(c->err, errno, "mkdir %s: %s", c->rel, strerror(errno));
			goto out;
		}
		s2 = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		d2 = openat(ddfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s2 < 0 || d2 < 0)
			r = err_set(c->err, errno, "open %s: %s", c->rel, strerror(errno));
		else
			r = copy_dir(s2, d2, c);
		if (s2 >= 0)
			close(s2);
		if (d2 >= 0)
			close(d2);
	} else if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int sfd = openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int dfd = -1;

		if (sfd < 0) {
			r = err_set(c->err, errno, "open %s: %s", c->rel, strerror(errno));
			goto out;
		}
		dfd = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (dfd < 0) {
			r = err_set(c->err, errno, "create %s: %s", c->rel, strerror(errno));
			goto out;
		}
		r = copy_data(sfd, dfd);
		if (r < 0)
			err_set(c->err, r, "copy %s: %s", c->rel, strerror(-r));
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sdfd, name, target, sizeof(target) - 1);

		if (n < 0) {
			r = err_set(c->err, errno, "readlink %s: %s", c->rel, strerror(errno));
			goto out;
		}
		target[n] = '\0';
		if (symlinkat(target, ddfd, name) < 0)
			r = err_set(c->err, errno, "symlink %s: %s", c->rel, strerror(errno));
	} else {
		if (mknodat(ddfd, name, st.st_mode, st.st_rdev) < 0)
			r = err_set(c->err, errno, "mknod %s: %s", c->rel, strerror(errno));
	}
	if (r == 0)
		r = copy_meta(sdfd, ddfd, name, &st, c->err);
out:
	c->rel[rl] = '\0';
	return r;
}

static int copy_dir(int sdfd, int ddfd, struct copy_ctx *c)
{
	struct dirent *de;
	int r = 0;
	DIR *d = dir_stream(sdfd, &r);

	if (!d)
		return r;
	while (r == 0 && (de = readdir(d))) {
		if (is_dot(de->d_name))
			continue;
		r = copy_one(sdfd, ddfd, de->d_name, c);
	}
	closedir(d);
	return r;
}

int fsutil_copy_tree(const char *src, const char *dst, struct shoal_err *err)
{
	_cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct copy_ctx c = { .err = err };
	struct stat st;
	int r;

	if (sfd < 0 || dfd < 0)
		return err_set(err, errno, "open %s: %s", sfd < 0 ? src : dst, strerror(errno));
	c.dst_root = dfd;
	r = copy_dir(sfd, dfd, &c);
	tdestroy(c.inodes, ino_free);
	if (r < 0)
		return r;
	if (fstat(sfd, &st) < 0)
		return err_set(err, errno, "stat %s: %s", src, strerror(errno));
	/* The roots themselves: "." relative to each fd. */
	return copy_meta(sfd, dfd, ".", &st, err);
}

/* ---- sizes ---- */

struct size_ctx {
	void *inodes;
	uint64_t total;
};

static int size_walk(int dfd, int pfd, struct size_ctx *c)
{
	struct dirent *de;
	int r = 0;
	DIR *d = dir_stream(dfd, &r);

	if (!d)
		return r;
	while (r == 0 && (de = readdir(d))) {
		struct stat st, pst;
		bool have_p;

		if (is_dot(de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		have_p = pfd >= 0 && fstatat(pfd, de->d_name, &pst, AT_SYMLINK_NOFOLLOW) == 0;
		if (S_ISDIR(st.st_mode)) {
			int s2 = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int p2 = have_p && S_ISDIR(pst.st_mode)
					 ? openat(pfd, de->d_name,
						  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
					 : -1;

			if (s2 >= 0)
				r = size_walk(s2, p2, c);
			if (s2 >= 0)
				close(s2);
			if (p2 >= 0)
				close(p2);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (have_p && S_ISREG(pst.st_mode) && pst.st_size == st.st_size &&
		    pst.st_mtim.tv_sec == st.st_mtim.tv_sec &&
		    pst.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
			continue;
		if (st.st_nlink > 1) {
			struct ino_ent key = { .dev = st.st_dev, .ino = st.st_ino };
			struct ino_ent *e;

			if (tfind(&key, &c->inodes, ino_cmp))
				continue;
			e = malloc(sizeof(*e) + 1);
			if (!e) {
				r = -ENOMEM;
				break;
			}
			*e = key;
			e->path[0] = '\0';
			if (!tsearch(e, &c->inodes, ino_cmp)) {
				free(e);
				r = -ENOMEM;
				break;
			}
		}
		c->total += (uint64_t)st.st_size;
	}
	closedir(d);
	return r;
}

int fsutil_diff_size(const char *layer, const char *parent, uint64_t *size)
{
	_cleanup_close_ int fd = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int pfd = parent ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	struct size_ctx c = { 0 };
	int r;

	if (fd < 0)
		return -errno;
	r = size_walk(fd, pfd, &c);
	tdestroy(c.inodes, ino_free);
	*size = c.total;
	return r;
}

int fsutil_dir_size(const char *path, uint64_t *size)
{
	return fsutil_diff_size(path, NULL, size);
}

/* ---- a thread with its own cwd ---- */

struct in_dir_args {
	const char *dir;
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *in_dir_thread(void *p)
{
	struct in_dir_args *a = p;

	if (unshare(CLONE_FS) < 0 || chdir(a->dir) < 0) {
		a->ret = -errno;
		return NULL;
	}
	umask(022);
	a->ret = a->fn(a->arg);
	return NULL;
}

int fsutil_in_dir(const char *dir, int (*fn)(void *arg), void *arg)
{
	struct in_dir_args a = { .dir = dir, .fn = fn, .arg = arg, .ret = -EIO };
	pthread_attr_t attr;
	pthread_t t;
	int r;

	pthread_attr_init(&attr);
	/* libarchive and deep trees: be generous. */
	pthread_attr_setstacksize(&attr, 8u << 20);
	r = pthread_create(&t, &attr, in_dir_thread, &a);
	pthread_attr_destroy(&attr);
	if (r != 0)
		return -r;
	pthread_join(t, NULL);
	return a.ret;
}

/* ---- sizes in options ---- */

int fsutil_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "bkmgtp";
	char *end;
	double v;
	int shift = 0;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || v < 0)
		return -EINVAL;
	if (*end) {
		const char *u = strchr(units, tolower((unsigned char)*end));

		if (!u)
			return -EINVAL;
		shift = (int)(u - units) * 10;
		end++;
		if (*end == 'b' || *end == 'B')
			end++;
		else if ((*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
			end += 2;
		if (*end)
			return -EINVAL;
	}
	v *= (double)(1ULL << shift);
	if (v >= 18446744073709551615.0)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}
