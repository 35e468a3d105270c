// SPDX-License-Identifier: Apache-2.0
/*
 * storage.c - storage_open (a driver by name, or the first of overlay2,
 * btrfs, vfs that initialises), and the helpers the drivers share.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "../archive/archive.h"
#include "../archive/fsutil.h"
#include "../common/log.h"
#include "../common/util.h"
#include "driver.h"

static const struct storage_ops *const drivers[] = {
	&storage_overlay2_ops, &storage_btrfs_ops,	&storage_vfs_ops,
	&storage_devicemapper_ops, &storage_zfs_ops,
};

/* Docker's priority, minus what this kernel cannot have. */
static const struct storage_ops *const auto_order[] = {
	&storage_overlay2_ops,
	&storage_btrfs_ops,
	&storage_vfs_ops,
};

int storage_check_id(const char *id, struct shoal_err *err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > STORAGE_ID_MAX || !isalnum((unsigned char)id[0]))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
			goto bad;
	return 0;
bad:
	return err_set(err, EINVAL, "invalid layer id \"%.140s\"", id ? id : "");
}

/* ---- reference counts ---- */

void storage_refs_init(struct storage_refs *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

void storage_refs_free(struct storage_refs *r)
{
	free(r->v);
	pthread_mutex_destroy(&r->lock);
}

struct storage_ref *storage_refs_find(struct storage_refs *r, const char *id, bool create)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].id, id))
			return &r->v[i];
	if (!create)
		return NULL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct storage_ref *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
	snprintf(r->v[r->n].id, sizeof(r->v[r->n].id), "%s", id);
	return &r->v[r->n++];
}

void storage_refs_drop(struct storage_refs *r, struct storage_ref *ref)
{
	size_t i = (size_t)(ref - r->v);

	if (i >= r->n)
		return;
	r->v[i] = r->v[--r->n];
}

bool storage_refs_busy(struct storage_refs *r, const char *id)
{
	struct storage_ref *ref;
	bool busy;

	pthread_mutex_lock(&r->lock);
	ref = storage_refs_find(r, id, false);
	busy = ref && ref->count > 0;
	pthread_mutex_unlock(&r->lock);
	return busy;
}

int storage_refs_get(struct storage_refs *r, const char *id, struct shoal_err *err)
{
	struct storage_ref *ref;

	pthread_mutex_lock(&r->lock);
	ref = storage_refs_find(r, id, true);
	if (ref)
		ref->count++;
	pthread_mutex_unlock(&r->lock);
	return ref ? 0 : err_set(err, ENOMEM, "out of memory");
}

void storage_refs_put(struct storage_refs *r, const char *id)
{
	struct storage_ref *ref;

	pthread_mutex_lock(&r->lock);
	ref = storage_refs_find(r, id, false);
	if (ref && --ref->count <= 0)
		storage_refs_drop(r, ref);
	pthread_mutex_unlock(&r->lock);
}

/* ---- drivers whose layer is a plain directory (vfs, btrfs) ---- */

int storage_dir_driver_init(struct storage_driver *drv, const char *subdir,
			    struct shoal_err *err)
{
	struct storage_refs *refs;
	char dir[4200];
	int r;

	snprintf(dir, sizeof(dir), "%s/%s", drv->home, subdir);
	r = util_mkdir_p(dir, 0700);
	if (r < 0)
		return err_set(err, r, "%s: create %s: %s", drv->ops->name, dir, strerror(-r));
	refs = malloc(sizeof(*refs));
	if (!refs)
		return err_set(err, ENOMEM, "out of memory");
	storage_refs_init(refs);
	drv->priv = refs;
	return 0;
}

void storage_dir_driver_cleanup(struct storage_driver *drv)
{
	if (drv->priv) {
		storage_refs_free(drv->priv);
		free(drv->priv);
		drv->priv = NULL;
	}
}

int storage_layer_dir(struct storage_driver *drv, const char *subdir, const char *id,
		      char *buf, size_t len, struct shoal_err *err)
{
	int r = storage_check_id(id, err);

	if (r < 0)
		return r;
	if ((size_t)snprintf(buf, len, "%s/%s/%s", drv->home, subdir, id) >= len)
		return err_set(err, ENAMETOOLONG, "%s: layer path too long", drv->ops->name);
	return 0;
}

bool storage_layer_dir_exists(struct storage_driver *drv, const char *subdir, const char *id)
{
	char p[4400];
	struct stat st;

	return storage_layer_dir(drv, subdir, id, p, sizeof(p), NULL) == 0 && stat(p, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

int storage_dir_get(struct storage_driver *drv, const char *subdir, const char *id,
		    char *path, size_t len, struct shoal_err *err)
{
	int r = storage_layer_dir(drv, subdir, id, path, len, err);

	if (r < 0)
		return r;
	if (!storage_layer_dir_exists(drv, subdir, id))
		return err_set(err, ENOENT, "%s: no such layer %s", drv->ops->name, id);
	return storage_refs_get(drv->priv, id, err);
}

int storage_dir_put(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	int r = storage_check_id(id, err);

	if (r < 0)
		return r;
	storage_refs_put(drv->priv, id);
	return 0;
}

int storage_dir_apply_diff(struct storage_driver *drv, const char *subdir, const char *id,
			   int fd, uint64_t *size, struct shoal_err *err)
{
	char p[4400];
	int r;

	r = storage_layer_dir(drv, subdir, id, p, sizeof(p), err);
	if (r < 0)
		return r;
	r = archive_apply_layer(fd, p, ARCHIVE_WHITEOUT_APPLY, size, err);
	return r < 0 ? err_wrap(err, "%s: apply diff to layer %.80s", drv->ops->name, id) : 0;
}

/* The directories of layer id and of its parent (*pp "" for none). */
static int layer_and_parent_dirs(struct storage_driver *drv, const char *subdir, const char *id,
				 const char *parent, char p[4400], char pp[4400],
				 struct shoal_err *err)
{
	int r = storage_layer_dir(drv, subdir, id, p, 4400, err);

	pp[0] = '\0';
	if (r == 0 && parent && *parent)
		r = storage_layer_dir(drv, subdir, parent, pp, 4400, err);
	return r;
}

int storage_dir_diff_size(struct storage_driver *drv, const char *subdir, const char *id,
			  const char *parent, uint64_t *size, struct shoal_err *err)
{
	char p[4400], pp[4400];
	int r;

	r = layer_and_parent_dirs(drv, subdir, id, parent, p, pp, err);
	if (r < 0)
		return r;
	r = fsutil_diff_size(p, pp[0] ? pp : NULL, size);
	return r < 0 ? err_set(err, r, "%s: size of layer %s: %s", drv->ops->name, id,
			       strerror(-r)) : 0;
}

int storage_dir_changes(struct storage_driver *drv, const char *subdir, const char *id,
			const char *parent, json_t **out, struct shoal_err *err)
{
	char p[4400], pp[4400];
	int r;

	r = layer_and_parent_dirs(drv, subdir, id, parent, p, pp, err);
	if (r < 0)
		return r;
	r = storage_changes_dirs(p, pp[0] ? pp : NULL, out);
	return r < 0 ? err_set(err, r, "%s: changes of layer %s: %s", drv->ops->name, id,
			       strerror(-r)) : 0;
}

/* ---- options ---- */

static bool is_driver_name(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (strlen(drivers[i]->name) == n && !strncmp(drivers[i]->name, s, n))
			return true;
	return false;
}

int storage_opts_check(struct storage_driver *drv, const char *const *keys, struct shoal_err *err)
{
	size_t nl = strlen(drv->ops->name);

	for (int i = 0; i < drv->n_opts; i++) {
		const char *o = drv->opts[i], *eq = strchr(o, '=');
		bool ok = false;

		if (strncmp(o, drv->ops->name, nl) || o[nl] != '.')
			continue; /* another driver's: checked by storage_open */
		for (const char *const *k = keys; *k; k++)
			if (eq && (size_t)(eq - (o + nl + 1)) == strlen(*k) &&
			    !strncmp(o + nl + 1, *k, strlen(*k)))
				ok = true;
		if (!ok)
			return err_set(err, EINVAL, "%s: unknown option %s", drv->ops->name, o);
	}
	return 0;
}

const char *storage_opt(struct storage_driver *drv, const char *key)
{
	size_t nl = strlen(drv->ops->name), kl = strlen(key);
	const char *v = NULL;

	for (int i = 0; i < drv->n_opts; i++) {
		const char *o = drv->opts[i];

		if (!strncmp(o, drv->ops->name, nl) && o[nl] == '.' && !strncmp(o + nl + 1, key, kl) &&
		    o[nl + 1 + kl] == '=')
			v = o + nl + 2 + kl;
	}
	return v;
}

/* ---- backing filesystems ---- */

const char *storage_fs_name(long f_type)
{
	static const struct { unsigned long magic; const char *name; } names[] = {
		{ 0xEF53, "extfs" },	  { 0x58465342, "xfs" },     { 0x9123683E, "btrfs" },
		{ 0x01021994, "tmpfs" },  { 0x794C7630, "overlayfs" }, { 0x2FC12FC1, "zfs" },
		{ 0x6969, "nfs" },	  { 0xF2F52010, "f2fs" },    { 0x65735546, "fuse" },
		{ 0x6B414653, "afs" },	  { 0x73717368, "squashfs" }, { 0x858458F6, "ramfs" },
		{ 0x52654973, "reiserfs" }, { 0x3153464A, "jfs" },   { 0xFF534D42, "cifs" },
		{ 0x5346414F, "aufs" },	  { 0x28CD3D45, "cramfs" },  { 0x4D44, "msdos" },
		{ 0xCA451A4E, "bcachefs" }, { 0x01021997, "v9fs" },  { 0x62656572, "sysfs" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if ((unsigned long)(unsigned int)f_type == names[i].magic)
			return names[i].name;
	return "<unknown>";
}

const char *storage_fs_name_of(const char *path, long *f_type)
{
	char p[PATH_MAX];
	struct statfs sfs;

	snprintf(p, sizeof(p), "%s", path);
	while (statfs(p, &sfs) < 0) {
		char *s = strrchr(p, '/');

		if (!s || s == p) {
			if (statfs("/", &sfs) < 0)
				return "<unknown>";
			break;
		}
		*s = '\0';
	}
	if (f_type)
		*f_type = (long)sfs.f_type;
	return storage_fs_name((long)sfs.f_type);
}

/* ---- open / close ---- */

static int open_one(const struct storage_ops *ops, const char *data_root,
		    const char (*opts)[256], int n_opts, struct storage_driver **out,
		    struct shoal_err *err)
{
	struct storage_driver *drv = calloc(1, sizeof(*drv));
	int r;

	if (!drv)
		return err_set(err, ENOMEM, "out of memory");
	drv->ops = ops;
	snprintf(drv->data_root, sizeof(drv->data_root), "%s", data_root);
	if (snprintf(drv->home, sizeof(drv->home), "%s/%s", data_root, ops->name) >=
	    (int)sizeof(drv->home)) {
		free(drv);
		return err_set(err, ENAMETOOLONG, "data-root %s: path too long", data_root);
	}
	for (int i = 0; i < n_opts && i < STORAGE_MAX_OPTS; i++)
		snprintf(drv->opts[i], sizeof(drv->opts[i]), "%s", opts[i]);
	drv->n_opts = n_opts < STORAGE_MAX_OPTS ? n_opts : STORAGE_MAX_OPTS;
	r = ops->init(drv, err);
	if (r < 0) {
		free(drv);
		return r;
	}
	*out = drv;
	return 0;
}

int storage_open(const char *name, const char *data_root, const char (*opts)[256], int n_opts,
		 struct storage_driver **out, struct shoal_err *err)
{
	char tried[sizeof(err->msg)] = "";
	size_t tl = 0;

	*out = NULL;
	if (n_opts > STORAGE_MAX_OPTS)
		return err_set(err, EINVAL, "too many storage options (%d, at most %d)", n_opts,
			       STORAGE_MAX_OPTS);
	for (int i = 0; i < n_opts; i++) {
		const char *dot = strchr(opts[i], '.'), *eq = strchr(opts[i], '=');

		if (!dot || !eq || eq < dot || !is_driver_name(opts[i], (size_t)(dot - opts[i])))
			return err_set(err, EINVAL,
				       "storage option \"%s\": expected <driver>.<key>=<value>",
				       opts[i]);
	}
	if (!name || !*name) {
		struct shoal_err e;

		for (size_t i = 0; i < ARRAY_SIZE(auto_order); i++) {
			err_clear(&e);
			if (open_one(auto_order[i], data_root, opts, n_opts, out, &e) == 0) {
				log_info("storage driver: %s (chosen automatically)", auto_order[i]->name);
				return 0;
			}
			log_debug("storage driver %s not usable: %s", auto_order[i]->name, e.msg);
			tl += (size_t)snprintf(tried + tl, tl < sizeof(tried) ? sizeof(tried) - tl : 0,
					       "%s%s", tl ? "; " : "", e.msg);
			if (tl >= sizeof(tried))
				tl = sizeof(tried) - 1;
		}
		return err_set(err, EOPNOTSUPP, "no storage driver works here: %s", tried);
	}
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (!strcmp(drivers[i]->name, name))
			return open_one(drivers[i], data_root, opts, n_opts, out, err);
	return err_set(err, EINVAL,
		       "unknown storage driver \"%s\" (known: overlay2, btrfs, vfs, devicemapper, zfs)",
		       name);
}

void storage_close(struct storage_driver *drv)
{
	if (!drv)
		return;
	if (drv->ops->cleanup)
		drv->ops->cleanup(drv);
	free(drv);
}
