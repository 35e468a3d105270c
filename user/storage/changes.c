// SPDX-License-Identifier: Apache-2.0
/*
 * changes.c - what a read-write layer changed over its image (docker diff,
 * GET /containers/{id}/changes): [{"Path": "/etc", "Kind": 0|1|2}],
 * 0 modified, 1 added, 2 deleted, Docker's kinds and rules.
 *
 * overlay2 reads only the upper directory (Docker's OverlayChanges): a
 * 0/0 character device is a deletion, an entry that exists in a lower
 * layer is a modification (a directory only when its size, mode or mtime
 * differ: copy-up of a parent is no change of its own), anything else an
 * addition; the parent of an addition or deletion is modified. An
 * opaque directory (the container removed a directory and made it again)
 * is modified and what the lowers held in it is deleted (Docker reports
 * such a directory as deleted, then its new content as added).
 *
 * vfs and btrfs hold full copies: the layer is compared with its parent
 * tree (Docker's ChangesDirs): new, gone, or different in type, mode,
 * owner, rdev, link target, or (not for directories) size or mtime; a
 * directory with changes inside is modified.
 *
 * Nothing follows a symlink: every lookup is an lstat.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "driver.h"

enum { CH_MODIFY = 0, CH_ADD = 1, CH_DELETE = 2 };

struct chg {
	char *path;
	int kind;
};

struct chgs {
	struct chg *v;
	size_t n, cap;
	/* overlay: directories recorded as changed (Docker's changedDirs) */
	char **dirs;
	size_t nd, capd;
};

static int chg_add(struct chgs *c, const char *path, int kind)
{
	if (c->n == c->cap) {
		struct chg *nv = realloc(c->v, (c->cap = c->cap ? c->cap * 2 : 64) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->v = nv;
	}
	c->v[c->n].path = strdup(path);
	if (!c->v[c->n].path)
		return -ENOMEM;
	c->v[c->n++].kind = kind;
	return 0;
}

static bool dir_seen(struct chgs *c, const char *p)
{
	for (size_t i = 0; i < c->nd; i++)
		if (!strcmp(c->dirs[i], p))
			return true;
	return false;
}

static int dir_mark(struct chgs *c, const char *p)
{
	if (c->nd == c->capd) {
		char **nv = realloc(c->dirs, (c->capd = c->capd ? c->capd * 2 : 64) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->dirs = nv;
	}
	c->dirs[c->nd] = strdup(p);
	return c->dirs[c->nd++] ? 0 : -ENOMEM;
}

static void chgs_free(struct chgs *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	for (size_t i = 0; i < c->nd; i++)
		free(c->dirs[i]);
	free(c->v);
	free(c->dirs);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (without . and ..); *out NULL-terminated. */
static int list_dir(const char *dir, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;
	char **v = NULL;

	*n = 0;
	*out = NULL;
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n + 1 >= cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof(*v));

			if (!nv)
				goto oom;
			v = nv;
		}
		v[*n] = strdup(de->d_name);
		if (!v[*n])
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), name_cmp);
	*out = v;
	return 0;
oom:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	/* Docker's sameFsTime: equal, or equal seconds when one side has no
	 * sub-second part (tar and some filesystems drop it). */
	return a->tv_sec == b->tv_sec &&
	       (a->tv_nsec == b->tv_nsec || a->tv_nsec == 0 || b->tv_nsec == 0);
}

/* ---- overlay2: the upper directory ---- */

struct ovl_walk {
	const char *upper;
	const char *const *lowers;
	size_t nl;
	struct chgs c;
};

/* The path in the nearest lower layer that has it, NULL-safe: false when
 * none has it or the nearest one holding it is a whiteout. */
static bool lower_stat(struct ovl_walk *w, const char *rel, struct stat *st)
{
	char p[PATH_MAX];

	for (size_t i = 0; i < w->nl; i++) {
		snprintf(p, sizeof(p), "%s%s", w->lowers[i], rel);
		if (lstat(p, st) == 0)
			return !is_whiteout(st);
	}
	return false;
}

static bool is_opaque(const char *path)
{
	char v[4];

	return lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

/* An opaque directory hides what the lowers had there: each name the
 * nearest lowers hold (down to one that is itself opaque) and the upper
 * does not is a deletion. */
static int ovl_opaque_deleted(struct ovl_walk *w, const char *rel)
{
	char p[PATH_MAX], child[PATH_MAX];
	int r = 0;

	for (size_t i = 0; i < w->nl && r == 0; i++) {
		char **names;
		size_t n;
		struct stat st;

		snprintf(p, sizeof(p), "%s%s", w->lowers[i], rel);
		if (lstat(p, &st) < 0)
			continue;
		if (!S_ISDIR(st.st_mode))
			break; /* a file or whiteout hides everything below */
		r = list_dir(p, &names, &n);
		for (size_t j = 0; j < n && r == 0; j++) {
			struct stat u, seen;
			bool hidden = false;

			if (snprintf(child, sizeof(child), "%s/%s", rel, names[j]) >= (int)sizeof(child))
				continue;
			snprintf(p, sizeof(p), "%s%s", w->upper, child);
			if (lstat(p, &u) == 0)
				continue;
			/* already reported from a nearer lower */
			for (size_t k = 0; k < i && !hidden; k++) {
				snprintf(p, sizeof(p), "%s%s", w->lowers[k], child);
				hidden = lstat(p, &seen) == 0;
			}
			snprintf(p, sizeof(p), "%s%s", w->lowers[i], child);
			if (!hidden && lstat(p, &u) == 0 && !is_whiteout(&u))
				r = chg_add(&w->c, child, CH_DELETE);
		}
		free_list(names, n);
		snprintf(p, sizeof(p), "%s%s", w->lowers[i], rel);
		if (is_opaque(p))
			break;
	}
	return r;
}

static int ovl_walk_dir(struct ovl_walk *w, const char *rel)
{
	char dir[PATH_MAX], p[PATH_MAX], child[PATH_MAX];
	char **names;
	size_t n;
	int r;

	snprintf(dir, sizeof(dir), "%s%s", w->upper, rel);
	r = list_dir(dir, &names, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct stat st, lst;
		bool in_lower, skip = false;
		int kind = CH_ADD;

		snprintf(child, sizeof(child), "%s/%s", rel, names[i]);
		snprintf(p, sizeof(p), "%s%s", w->upper, child);
		if (lstat(p, &st) < 0)
			continue;
		in_lower = lower_stat(w, child, &lst);
		bool opaque = in_lower && S_ISDIR(st.st_mode) && is_opaque(p);

		if (is_whiteout(&st)) {
			kind = CH_DELETE;
		} else if (in_lower) {
			kind = CH_MODIFY;
			if (!opaque && S_ISDIR(st.st_mode) && S_ISDIR(lst.st_mode) &&
			    st.st_size == lst.st_size && st.st_mode == lst.st_mode &&
			    same_time(&st.st_mtim, &lst.st_mtim))
				skip = true;
		}
		if (!skip && S_ISDIR(st.st_mode))
			r = dir_mark(&w->c, child);
		if (r == 0 && !skip && (kind == CH_ADD || kind == CH_DELETE) && *rel &&
		    !dir_seen(&w->c, rel)) {
			r = chg_add(&w->c, rel, CH_MODIFY);
			if (r == 0)
				r = dir_mark(&w->c, rel);
		}
		if (r == 0 && !skip)
			r = chg_add(&w->c, child, kind);
		if (r == 0 && opaque)
			r = ovl_opaque_deleted(w, child);
		if (r == 0 && S_ISDIR(st.st_mode))
			r = ovl_walk_dir(w, child);
	}
	free_list(names, n);
	return r;
}

/* ---- vfs / btrfs: two full trees ---- */

static bool differs(const char *np, const struct stat *a, const char *op, const struct stat *b)
{
	if (a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid ||
	    a->st_rdev != b->st_rdev)
		return true;
	if (!S_ISDIR(a->st_mode) && (a->st_size != b->st_size || !same_time(&a->st_mtim, &b->st_mtim)))
		return true;
	if (S_ISLNK(a->st_mode)) {
		char la[PATH_MAX], lb[PATH_MAX];
		ssize_t x = readlink(np, la, sizeof(la) - 1), y = readlink(op, lb, sizeof(lb) - 1);

		if (x != y || (x > 0 && memcmp(la, lb, (size_t)x)))
			return true;
	}
	return false;
}

/* All of new/rel as additions. */
static int all_added(struct chgs *c, const char *root, const char *rel)
{
	char dir[PATH_MAX], child[PATH_MAX];
	struct stat st;
	char **names;
	size_t n;
	int r;

	snprintf(dir, sizeof(dir), "%s%s", root, rel);
	r = list_dir(dir, &names, &n);
	for (size_t i = 0; i < n && r == 0; i++) {
		snprintf(child, sizeof(child), "%s/%s", rel, names[i]);
		r = chg_add(c, child, CH_ADD);
		snprintf(dir, sizeof(dir), "%s%s", root, child);
		if (r == 0 && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			r = all_added(c, root, child);
	}
	free_list(names, n);
	return r;
}

/* Compare new/rel with old/rel (both directories); *any: a change inside. */
static int naive_dir(struct chgs *c, const char *nroot, const char *oroot, const char *rel, bool *any)
{
	char nd[PATH_MAX], od[PATH_MAX], np[PATH_MAX], op[PATH_MAX], child[PATH_MAX];
	char **nn = NULL, **on = NULL;
	size_t n = 0, m = 0;
	int r;

	snprintf(nd, sizeof(nd), "%s%s", nroot, rel);
	snprintf(od, sizeof(od), "%s%s", oroot, rel);
	r = list_dir(nd, &nn, &n);
	if (r == 0)
		r = list_dir(od, &on, &m);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct stat a, b;
		bool inside = false;

		snprintf(child, sizeof(child), "%s/%s", rel, nn[i]);
		snprintf(np, sizeof(np), "%s%s", nroot, child);
		snprintf(op, sizeof(op), "%s%s", oroot, child);
		if (lstat(np, &a) < 0)
			continue;
		if (lstat(op, &b) < 0) {
			*any = true;
			r = chg_add(c, child, CH_ADD);
			if (r == 0 && S_ISDIR(a.st_mode))
				r = all_added(c, nroot, child);
			continue;
		}
		bool changed = differs(np, &a, op, &b);

		if (changed) {
			*any = true;
			r = chg_add(c, child, CH_MODIFY);
		}
		if (r == 0 && S_ISDIR(a.st_mode) && S_ISDIR(b.st_mode)) {
			r = naive_dir(c, nroot, oroot, child, &inside);
			if (r == 0 && inside && !changed) {
				*any = true;
				r = chg_add(c, child, CH_MODIFY);
			}
		}
	}
	for (size_t j = 0; j < m && r == 0; j++) {
		struct stat a;

		snprintf(child, sizeof(child), "%s/%s", rel, on[j]);
		snprintf(np, sizeof(np), "%s%s", nroot, child);
		if (lstat(np, &a) < 0 && errno == ENOENT) {
			*any = true;
			r = chg_add(c, child, CH_DELETE);
		}
	}
	free_list(nn, n);
	free_list(on, m);
	return r;
}

static int chg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct chg *)a)->path, ((const struct chg *)b)->path);
}

static json_t *to_json(struct chgs *c, bool sort)
{
	json_t *out = json_array();

	if (sort && c->n)
		qsort(c->v, c->n, sizeof(*c->v), chg_cmp);
	for (size_t i = 0; out && i < c->n; i++)
		json_array_append_new(out, json_pack("{s:s, s:i}", "Path", c->v[i].path, "Kind",
						     c->v[i].kind));
	return out;
}

int storage_changes_overlay(const char *upper, const char *const *lowers, size_t nl, json_t **out)
{
	struct ovl_walk w = { .upper = upper, .lowers = lowers, .nl = nl };
	int r = ovl_walk_dir(&w, "");

	if (r == 0)
		*out = to_json(&w.c, false);
	chgs_free(&w.c);
	return r < 0 ? r : *out ? 0 : -ENOMEM;
}

int storage_changes_dirs(const char *layer, const char *parent, json_t **out)
{
	struct chgs c = { 0 };
	bool any = false;
	int r;

	if (parent)
		r = naive_dir(&c, layer, parent, "", &any);
	else
		r = all_added(&c, layer, "");
	if (r == 0)
		*out = to_json(&c, true);
	chgs_free(&c);
	return r < 0 ? r : *out ? 0 : -ENOMEM;
}
