// SPDX-License-Identifier: Apache-2.0
/*
 * archive.c - layer extraction with libarchive.
 *
 * The reader takes any filter libarchive has (gzip, zstd, xz, ...) and
 * the tar formats (ustar, pax, GNU). The writer is archive_write_disk
 * with the secure flags, run on a thread whose private cwd is dest so
 * the entry paths stay relative (SECURE_NOABSOLUTEPATHS) and no other
 * thread's cwd changes.
 *
 * Before libarchive sees an entry we check it ourselves, so that a
 * hostile layer fails with a message naming the entry and the reason:
 * absolute paths, "..", over-long paths, parents that are symlinks, hard
 * links leaving the layer, and device nodes / FIFOs / sockets.
 * libarchive's NODOTDOT and NOABSOLUTEPATHS checks stay on as a second
 * line (string checks, free). ARCHIVE_EXTRACT_SECURE_SYMLINKS does not:
 * with UNLINK it never refuses anything, it silently unlinks a symlink
 * parent, and check_dirs has already refused every entry with one; it
 * cost an openat + fstatat + close per path component of every entry
 * (with an lstat per component of ours: ~30 syscalls for a file 5
 * levels down; extraction ran at half the speed of GNU tar). Our own
 * parent check caches the directories it has verified (struct apply,
 * dirs) and forgets them all on any removal, so it costs ~nothing for
 * the next file in the same directory. Only this extraction writes
 * under dest (a layer directory the daemon just created), so no other
 * writer can swap a checked directory for a symlink behind our back.
 *
 * Flags: OWNER, PERM, TIME, XATTR, ACL restore what images carry; UNLINK
 * because a layer replaces its parent's files (for vfs/btrfs the layer
 * starts as a copy of the parent: a file must be replaced, not rewritten
 * in place, or a hard link shared with another path would change too).
 * Not FFLAGS: an immutable or append-only flag from an image would make
 * the layer impossible to remove and break overlay copy-up (Docker does
 * not restore them either). trusted.overlay.* xattrs in a tar are
 * dropped: only our whiteout conversion may set them.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <linux/magic.h>
#include <unistd.h>

#include "../common/util.h"
#include "archive.h"
#include "fsutil.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVL_OPAQUE_XATTR "trusted.overlay.opaque"

/* ---- a set of paths (what this layer unpacked, for opaque dirs) ---- */

struct pathset {
	char **slot;
	size_t cap, n;
};

static uint64_t ps_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int ps_add(struct pathset *ps, const char *p);

static int ps_grow(struct pathset *ps)
{
	struct pathset n = { .cap = ps->cap ? ps->cap * 2 : 1024 };

	n.slot = calloc(n.cap, sizeof(*n.slot));
	if (!n.slot)
		return -ENOMEM;
	for (size_t i = 0; i < ps->cap; i++) {
		if (!ps->slot[i])
			continue;
		size_t j = ps_hash(ps->slot[i]) & (n.cap - 1);

		while (n.slot[j])
			j = (j + 1) & (n.cap - 1);
		n.slot[j] = ps->slot[i];
		n.n++;
	}
	free(ps->slot);
	*ps = n;
	return 0;
}

static bool ps_has(const struct pathset *ps, const char *p)
{
	if (!ps->cap)
		return false;
	for (size_t j = ps_hash(p) & (ps->cap - 1); ps->slot[j]; j = (j + 1) & (ps->cap - 1))
		if (!strcmp(ps->slot[j], p))
			return true;
	return false;
}

static int ps_add(struct pathset *ps, const char *p)
{
	size_t j;

	if (ps_has(ps, p))
		return 0;
	if ((ps->n + 1) * 2 > ps->cap && ps_grow(ps) < 0)
		return -ENOMEM;
	j = ps_hash(p) & (ps->cap - 1);
	while (ps->slot[j])
		j = (j + 1) & (ps->cap - 1);
	ps->slot[j] = strdup(p);
	if (!ps->slot[j])
		return -ENOMEM;
	ps->n++;
	return 0;
}

static void ps_free(struct pathset *ps)
{
	for (size_t i = 0; i < ps->cap; i++)
		free(ps->slot[i]);
	free(ps->slot);
}

static void ps_clear(struct pathset *ps)
{
	if (!ps->n)
		return;
	for (size_t i = 0; i < ps->cap; i++) {
		free(ps->slot[i]);
		ps->slot[i] = NULL;
	}
	ps->n = 0;
}

/* ---- extraction ---- */

struct apply {
	int fd;
	enum archive_whiteouts mode;
	const struct archive_extract_opts *o;
	uint64_t size;
	struct shoal_err *err;
	struct pathset done;
	/* Directories (relative paths) seen by check_dirs to be real
	 * directories, each with all its parents: their lstat is skipped for
	 * the entries that follow. Only this extraction writes under dest, so
	 * such a directory can only stop being one through a removal of ours
	 * (an entry replacing it, a whiteout, an opaque marker): every
	 * removal empties the cache (forget_dirs), and the paths are checked
	 * from scratch again. */
	struct pathset dirs;
	char failed[PATH_MAX]; /* a regular file whose data was cut short */
};

static void forget_dirs(struct apply *ap)
{
	ps_clear(&ap->dirs);
}

/*
 * Clean a tar path into p (relative, no "." components, no trailing or
 * doubled slashes). Returns NULL when fine, else the reason.
 */
static const char *clean_path(const char *raw, char *p, size_t len)
{
	size_t o = 0;

	if (!raw || !*raw)
		return "empty path";
	if (raw[0] == '/')
		return "absolute path";
	if (strlen(raw) >= PATH_MAX)
		return "path longer than PATH_MAX";
	for (const char *s = raw; *s;) {
		const char *e = strchrnul(s, '/');
		size_t cl = (size_t)(e - s);

		if (cl == 2 && s[0] == '.' && s[1] == '.')
			return "\"..\" path component";
		if (cl > NAME_MAX)
			return "path component longer than NAME_MAX";
		if (cl && !(cl == 1 && s[0] == '.')) {
			if (o + cl + 2 > len)
				return "path longer than PATH_MAX";
			if (o)
				p[o++] = '/';
			memcpy(p + o, s, cl);
			o += cl;
		}
		s = *e ? e + 1 : e;
	}
	p[o] = '\0';
	return NULL;
}

/*
 * Every component of the relative path dir (all of it) must be a real
 * directory or absent; a symlink there would redirect the write. Missing
 * components are created (0755) when mk is set. Components found (or
 * made) to be real directories go into ap->dirs, and those already there
 * are not looked at again.
 */
static int check_dirs(struct apply *ap, const char *entry, const char *dir, bool mk)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);

	if (!n || ps_has(&ap->dirs, dir))
		return 0;
	memcpy(buf, dir, n + 1);
	for (size_t i = 0; i <= n; i++) {
		bool isdir = false;

		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (ps_has(&ap->dirs, buf)) {
			/* a real directory, and so are its parents */
		} else if (lstat(buf, &st) == 0) {
			if (S_ISLNK(st.st_mode))
				return err_set(ap->err, EPERM,
					       "layer entry \"%s\": would be written through the symlink \"%s\"",
					       entry, buf);
			isdir = S_ISDIR(st.st_mode);
			if (!isdir && mk) {
				if (unlink(buf) < 0 || mkdir(buf, 0755) < 0)
					return err_set(ap->err, errno, "layer entry \"%s\": replace %s by a directory: %s",
						       entry, buf, strerror(errno));
				isdir = true;
			}
		} else if (errno == ENOENT) {
			/* Absent: so is everything below it. */
			if (!mk)
				return 0;
			if (mkdir(buf, 0755) < 0)
				return err_set(ap->err, errno, "layer entry \"%s\": mkdir %s: %s", entry,
					       buf, strerror(errno));
			isdir = true;
		} else {
			return err_set(ap->err, errno, "layer entry \"%s\": %s: %s", entry, buf,
				       strerror(errno));
		}
		/* The cache only saves work: without memory, check every time. */
		if (isdir)
			(void)ps_add(&ap->dirs, buf);
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

/* Remove what is under rel except what this layer unpacked. */
static int opaque_clear(struct apply *ap, const char *rel)
{
	_cleanup_close_ int fd = open(*rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char child[PATH_MAX];
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(dup(fd));
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (!ps_has(&ap->done, child))
			r = fsutil_rm_rf_at(fd, de->d_name);
		else if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			r = opaque_clear(ap, child);
	}
	closedir(d);
	return r;
}

static int do_whiteout(struct apply *ap, struct archive_entry *e, const char *raw,
		       const char *dir, const char *base)
{
	char target[PATH_MAX];
	int r;

	r = check_dirs(ap, raw, dir, ap->mode == ARCHIVE_WHITEOUT_OVERLAY);
	if (r < 0)
		return r;
	if (!strcmp(base, WH_OPAQUE)) {
		if (ap->mode == ARCHIVE_WHITEOUT_APPLY) {
			r = opaque_clear(ap, dir);
			forget_dirs(ap);
			return r < 0 ? err_set(ap->err, r, "layer entry \"%s\": opaque %s: %s", raw,
					       *dir ? dir : "/", strerror(-r))
				     : 0;
		}
		if (lsetxattr(*dir ? dir : ".", OVL_OPAQUE_XATTR, "y", 1, 0) < 0)
			return err_set(ap->err, errno, "layer entry \"%s\": set %s on %s: %s", raw,
				       OVL_OPAQUE_XATTR, *dir ? dir : "/", strerror(errno));
		return 0;
	}
	if (!strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)))
		return 0; /* aufs bookkeeping (.wh..wh.plnk, ...): nothing for us */
	base += strlen(WH_PREFIX);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return err_set(ap->err, EINVAL, "layer entry \"%s\": whiteout of nothing", raw);
	snprintf(target, sizeof(target), "%s%s%s", dir, *dir ? "/" : "", base);
	r = fsutil_rm_rf(target);
	forget_dirs(ap);
	if (r < 0)
		return err_set(ap->err, r, "layer entry \"%s\": remove %s: %s", raw, target, strerror(-r));
	if (ap->mode == ARCHIVE_WHITEOUT_APPLY)
		return 0;
	/* overlayfs whiteout: a 0/0 character device with the entry's owner. */
	if (mknod(target, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return err_set(ap->err, errno, "layer entry \"%s\": mknod whiteout %s: %s", raw, target,
			       strerror(errno));
	if (lchown(target, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return err_set(ap->err, errno, "layer entry \"%s\": chown %s: %s", raw, target,
			       strerror(errno));
	return 0;
}

/* Drop trusted.overlay.* xattrs: they would let a layer forge opaque
 * directories, redirects or metacopy files in overlayfs. */
static void strip_overlay_xattrs(struct archive_entry *e)
{
	struct { char *name; void *val; size_t len; } keep[128];
	const char *name;
	const void *val;
	size_t len, nk = 0;
	bool strip = false;

	if (archive_entry_xattr_reset(e) == 0)
		return;
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK)
		if (!strncmp(name, "trusted.overlay.", 16))
			strip = true;
	if (!strip)
		return;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK && nk < ARRAY_SIZE(keep)) {
		if (!strncmp(name, "trusted.overlay.", 16))
			continue;
		keep[nk].name = strdup(name);
		keep[nk].val = malloc(len ? len : 1);
		if (!keep[nk].name || !keep[nk].val) {
			free(keep[nk].name);
			free(keep[nk].val);
			break;
		}
		memcpy(keep[nk].val, val, len);
		keep[nk].len = len;
		nk++;
	}
	archive_entry_xattr_clear(e);
	for (size_t i = 0; i < nk; i++) {
		archive_entry_xattr_add_entry(e, keep[i].name, keep[i].val, keep[i].len);
		free(keep[i].name);
		free(keep[i].val);
	}
}

static const char *type_name(mode_t t)
{
	switch (t) {
	case AE_IFCHR: return "character device";
	case AE_IFBLK: return "block device";
	case AE_IFIFO: return "FIFO";
	case AE_IFSOCK: return "socket";
	default: return "unknown file type";
	}
}

/* Rebase the cleaned path p in place (opts rebase_from -> rebase_to).
 * Returns false when the entry is to be skipped (the rebased top itself
 * going to "": dest keeps its own metadata). */
static bool rebase(const struct archive_extract_opts *o, char *p, size_t len)
{
	char tmp[PATH_MAX];
	size_t fl;

	if (!o->rebase_from || !*o->rebase_from)
		return true;
	fl = strlen(o->rebase_from);
	if (strncmp(p, o->rebase_from, fl) != 0 || (p[fl] != '\0' && p[fl] != '/'))
		return true;
	if (!*o->rebase_to) {
		if (!p[fl])
			return false;
		memmove(p, p + fl + 1, strlen(p + fl + 1) + 1);
		return true;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", o->rebase_to, p + fl) >= len)
		return true;
	memcpy(p, tmp, strlen(tmp) + 1);
	return true;
}

static int apply_entry(struct apply *ap, struct archive *a, struct archive *w,
		       struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e), *why, *hl = archive_entry_hardlink(e);
	char path[PATH_MAX], dir[PATH_MAX], lpath[PATH_MAX];
	mode_t type = archive_entry_filetype(e);
	const char *base;
	struct stat st;
	int r;

	why = clean_path(raw, path, sizeof(path));
	if (why)
		return err_set(ap->err, EPERM, "layer entry \"%.300s\": %s", raw ? raw : "", why);
	if (!*path)
		return 0; /* the layer root itself: keep the driver's */
	if (!rebase(ap->o, path, sizeof(path)) || !*path)
		return 0;
	base = strrchr(path, '/');
	if (base) {
		memcpy(dir, path, (size_t)(base - path));
		dir[base - path] = '\0';
		base++;
	} else {
		dir[0] = '\0';
		base = path;
	}
	if (ap->mode != ARCHIVE_WHITEOUT_NONE && !strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
		return do_whiteout(ap, e, raw, dir, base);

	if (hl) {
		why = clean_path(hl, lpath, sizeof(lpath));
		if (why)
			return err_set(ap->err, EPERM, "layer entry \"%s\": hard link target \"%.300s\": %s",
				       raw, hl, why);
		if (!*lpath || !rebase(ap->o, lpath, sizeof(lpath)) || !*lpath)
			return err_set(ap->err, EPERM, "layer entry \"%s\": hard link to the layer root", raw);
		char *slash = strrchr(lpath, '/');
		if (slash) {
			*slash = '\0';
			r = check_dirs(ap, raw, lpath, false);
			*slash = '/';
			if (r == -EPERM)
				return err_set(ap->err, EPERM,
					       "layer entry \"%s\": hard link target \"%s\" goes through a symlink",
					       raw, lpath);
			if (r < 0)
				return r;
		}
		if (lstat(lpath, &st) < 0)
			return err_set(ap->err, errno, "layer entry \"%s\": hard link target \"%s\": %s", raw,
				       lpath, strerror(errno));
		if (S_ISDIR(st.st_mode))
			return err_set(ap->err, EPERM, "layer entry \"%s\": hard link to directory \"%s\"",
				       raw, lpath);
		archive_entry_set_hardlink(e, lpath);
	} else if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
		if (ap->o->skip_special)
			return 0;
		if (type == AE_IFCHR || type == AE_IFBLK)
			return err_set(ap->err, EPERM,
				       "layer entry \"%s\": %s %u:%u is not allowed (only the whiteout convention may create devices)",
				       raw, type_name(type), (unsigned int)archive_entry_rdevmajor(e),
				       (unsigned int)archive_entry_rdevminor(e));
		return err_set(ap->err, EPERM, "layer entry \"%s\": %s is not allowed", raw,
			       type_name(type));
	}

	r = check_dirs(ap, raw, dir, false);
	if (r < 0)
		return r;
	/* Replace what is there, unless a directory meets a directory
	 * (then only its metadata changes). */
	if (ap->o->no_overwrite_dir_nondir && lstat(path, &st) == 0 &&
	    S_ISDIR(st.st_mode) != (type == AE_IFDIR && !hl))
		return err_set(ap->err, EEXIST, S_ISDIR(st.st_mode) ?
			       "layer entry \"%s\": cannot overwrite directory \"%s\" with non-directory" :
			       "layer entry \"%s\": cannot overwrite non-directory \"%s\" with directory",
			       raw, path);
	if (lstat(path, &st) == 0 && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !hl)) {
		r = fsutil_rm_rf(path);
		forget_dirs(ap);
		if (r < 0)
			return err_set(ap->err, r, "layer entry \"%s\": remove the old %s: %s", raw, path,
				       strerror(-r));
	}
	strip_overlay_xattrs(e);
	archive_entry_set_pathname(e, path);
	if (!ap->o->keep_owner) {
		archive_entry_set_uid(e, ap->o->uid);
		archive_entry_set_gid(e, ap->o->gid);
	}

	r = archive_write_header(w, e);
	if (r < ARCHIVE_WARN)
		return err_set(ap->err, archive_errno(w) > 0 ? archive_errno(w) : EIO,
			       "layer entry \"%s\": %s", raw, archive_error_string(w));
	if (type == AE_IFREG && !hl && archive_entry_size(e) > 0) {
		const void *buf;
		size_t len;
		la_int64_t off;

		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			if (archive_write_data_block(w, buf, len, off) < ARCHIVE_OK)
				return err_set(ap->err, archive_errno(w) > 0 ? archive_errno(w) : EIO,
					       "layer entry \"%s\": write: %s", raw,
					       archive_error_string(w));
			ap->size += len;
		}
		if (r != ARCHIVE_EOF) {
			snprintf(ap->failed, sizeof(ap->failed), "%s", path);
			return err_set(ap->err, EBADMSG, "layer entry \"%s\": read: %s", raw,
				       archive_error_string(a) ? archive_error_string(a) : "error");
		}
	}
	r = archive_write_finish_entry(w);
	if (r < ARCHIVE_WARN)
		return err_set(ap->err, archive_errno(w) > 0 ? archive_errno(w) : EIO,
			       "layer entry \"%s\": %s", raw, archive_error_string(w));
	/* The entry and its parents (they may have no entry of their own)
	 * are this layer's: an opaque marker must not remove them. */
	if (ap->mode == ARCHIVE_WHITEOUT_APPLY) {
		for (char *s = path + strlen(path); s > path; s--) {
			if (*s != '/' && s != path + strlen(path))
				continue;
			char c = *s;

			*s = '\0';
			r = ps_add(&ap->done, path);
			*s = c;
			if (r < 0)
				return err_set(ap->err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* Runs with cwd = dest (fsutil_in_dir). */
static int apply_here(void *arg)
{
	struct apply *ap = arg;
	struct archive *a = archive_read_new(), *w = archive_write_disk_new();
	struct archive_entry *e;
	int r = 0, rr;

	if (!a || !w) {
		r = err_set(ap->err, ENOMEM, "libarchive: out of memory");
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	/* Numeric owners only: no name lookups in the host's user db. No
	 * ARCHIVE_EXTRACT_SECURE_SYMLINKS: check_dirs does that job (see the
	 * top of this file). */
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
					   ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
					   ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_UNLINK |
					   ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	/* 1 MiB reads: a layer is read once, front to back. */
	if (archive_read_open_fd(a, ap->fd, 1024 * 1024) != ARCHIVE_OK) {
		r = err_set(ap->err, archive_errno(a) > 0 ? archive_errno(a) : EINVAL,
			    "layer: not a tar stream: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		rr = archive_read_next_header(a, &e);
		if (rr == ARCHIVE_EOF)
			break;
		if (rr < ARCHIVE_WARN) {
			r = err_set(ap->err, EBADMSG, "layer: reading the tar stream: %s",
				    archive_error_string(a) ? archive_error_string(a) : "error");
			goto out;
		}
		r = apply_entry(ap, a, w, e);
		if (r < 0)
			goto out;
	}
	if (archive_write_close(w) < ARCHIVE_WARN)
		r = err_set(ap->err, archive_errno(w) > 0 ? archive_errno(w) : EIO,
			    "layer: finishing directories: %s", archive_error_string(w));
out:
	if (w)
		archive_write_free(w);
	if (a)
		archive_read_free(a);
	/* A regular file cut short: closing the writer extends it to its
	 * declared (maybe hostile, huge) size; it goes. */
	if (ap->failed[0])
		unlink(ap->failed);
	return r;
}

int archive_apply_layer(int fd, const char *dest, enum archive_whiteouts mode, uint64_t *size,
			struct shoal_err *err)
{
	struct archive_extract_opts o = { .mode = mode, .keep_owner = true };

	return archive_extract(fd, dest, &o, size, err);
}

int archive_extract(int fd, const char *dest, const struct archive_extract_opts *o, uint64_t *size,
		    struct shoal_err *err)
{
	struct apply ap = { .fd = fd, .mode = o->mode, .o = o, .err = err };
	struct stat st;
	int r;

	if (size)
		*size = 0;
	if (stat(dest, &st) < 0)
		return err_set(err, errno, "layer destination %s: %s", dest, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(err, ENOTDIR, "layer destination %s: not a directory", dest);
	err_clear(err);
	r = fsutil_in_dir(dest, apply_here, &ap);
	ps_free(&ap.done);
	ps_free(&ap.dirs);
	if (r < 0 && err && !err->msg[0])
		err_set(err, r, "extract layer into %s: %s", dest, strerror(-r));
	/* "layer entry ..." -> "<what> entry ..." for other callers. */
	if (r < 0 && err && o->what && !strncmp(err->msg, "layer ", 6)) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s %s", o->what, err->msg + 6);
		snprintf(err->msg, sizeof(err->msg), "%s", m);
	}
	if (size)
		*size = ap.size;
	return r;
}

/* ---- writing a tree as tar (docker cp, docker export) ---- */

struct tree_writer {
	struct archive *w;
	struct archive_entry_linkresolver *lr;
	struct shoal_err *err;
	char buf[64 * 1024];
};

static int tw_fail(struct tree_writer *t, const char *name)
{
	int e = archive_errno(t->w) > 0 ? archive_errno(t->w) : EIO;

	return err_set(t->err, e, "tar %s: %s", *name ? name : ".", archive_error_string(t->w));
}

static int tw_data(struct tree_writer *t, const char *path, const char *name, int64_t size,
		   const struct stat *seen)
{
	/* Non-blocking and checked against what lstat saw: a file swapped
	 * for a FIFO or a device node meanwhile (a running container can do
	 * that) is neither waited on nor read. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return err_set(t->err, errno, "open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != seen->st_dev ||
	    st.st_ino != seen->st_ino)
		return err_set(t->err, EAGAIN, "%s changed while it was archived", path);
	fcntl(fd, F_SETFL, 0);
	while (size > 0) {
		ssize_t n = read(fd, t->buf, size < (int64_t)sizeof(t->buf) ? (size_t)size : sizeof(t->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(t->err, errno, "read %s: %s", path, strerror(errno));
		if (n == 0)
			break; /* shrank meanwhile: libarchive pads the entry */
		if (archive_write_data(t->w, t->buf, (size_t)n) < 0)
			return tw_fail(t, name);
		size -= n;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tw_tree(struct tree_writer *t, const char *path, const char *name);

static int tw_children(struct tree_writer *t, const char *path, const char *name)
{
	char **names = NULL, cpath[PATH_MAX], cname[PATH_MAX];
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;
	DIR *d = opendir(path);

	if (!d)
		return err_set(t->err, errno, "open directory %s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nv = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!nv) {
				r = err_set(t->err, ENOMEM, "out of memory");
				goto out;
			}
			names = nv;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = err_set(t->err, ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (snprintf(cpath, sizeof(cpath), "%s/%s", strcmp(path, "/") ? path : "", names[i]) >=
			    (int)sizeof(cpath) ||
		    snprintf(cname, sizeof(cname), "%s%s%s", name, *name ? "/" : "", names[i]) >=
			    (int)sizeof(cname)) {
			r = err_set(t->err, ENAMETOOLONG, "%s/%s: path too long", path, names[i]);
			break;
		}
		r = tw_tree(t, cpath, cname);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

/* The kernel's own filesystems (a running container's /proc, /sys, /dev/pts,
 * cgroups) hold no files to copy: their directory is stored, empty. */
static bool pseudo_fs(const char *path)
{
	struct statfs s;

	if (statfs(path, &s) < 0)
		return false;
	switch ((unsigned long)s.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case 0x19800202: /* mqueue */
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case BPF_FS_MAGIC:
		return true;
	}
	return false;
}

static int tw_tree(struct tree_writer *t, const char *path, const char *name)
{
	struct archive_entry *e, *spare = NULL;
	char link[PATH_MAX];
	struct stat st;
	int r = 0;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT && *name)
			return 0; /* removed while we walk */
		return err_set(t->err, errno, "%s: %s", path, strerror(errno));
	}
	if (S_ISSOCK(st.st_mode))
		return 0; /* tar has no sockets (Docker skips them too) */
	if (!*name)
		return S_ISDIR(st.st_mode) ? tw_children(t, path, name) : 0;
	e = archive_entry_new();
	if (!e)
		return err_set(t->err, ENOMEM, "out of memory");
	archive_entry_copy_stat(e, &st);
	archive_entry_set_pathname(e, name);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(path, link, sizeof(link) - 1);

		if (n < 0) {
			archive_entry_free(e);
			return err_set(t->err, errno, "readlink %s: %s", path, strerror(errno));
		}
		link[n] = '\0';
		archive_entry_set_symlink(e, link);
	}
	if (!S_ISDIR(st.st_mode))
		archive_entry_linkify(t->lr, &e, &spare);
	if (e) {
		if (archive_write_header(t->w, e) < ARCHIVE_WARN)
			r = tw_fail(t, name);
		else if (S_ISREG(st.st_mode) && archive_entry_size(e) > 0)
			r = tw_data(t, path, name, archive_entry_size(e), &st);
		archive_entry_free(e);
	}
	if (spare)
		archive_entry_free(spare);
	if (r == 0 && S_ISDIR(st.st_mode) && !pseudo_fs(path))
		r = tw_children(t, path, name);
	return r;
}

int archive_write_tree(int fd, const char *path, const char *name, struct shoal_err *err)
{
	struct tree_writer *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return err_set(err, ENOMEM, "out of memory");
	t->err = err;
	t->w = archive_write_new();
	t->lr = archive_entry_linkresolver_new();
	if (!t->w || !t->lr) {
		r = err_set(err, ENOMEM, "libarchive: out of memory");
		goto out;
	}
	archive_entry_linkresolver_set_strategy(t->lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	archive_write_set_format_pax_restricted(t->w);
	archive_write_set_bytes_in_last_block(t->w, 1);
	if (archive_write_open_fd(t->w, fd) != ARCHIVE_OK) {
		r = tw_fail(t, name);
		goto out;
	}
	r = tw_tree(t, path, name);
	if (archive_write_close(t->w) != ARCHIVE_OK && r == 0)
		r = tw_fail(t, name);
out:
	if (t->lr)
		archive_entry_linkresolver_free(t->lr);
	if (t->w)
		archive_write_free(t->w);
	free(t);
	return r;
}
