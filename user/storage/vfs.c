// SPDX-License-Identifier: Apache-2.0
/*
 * vfs.c - the vfs driver: a layer is a plain directory <home>/dir/<id>
 * holding a full copy of its parent (owners, modes, times, xattrs,
 * symlinks, hard links, device nodes), with the diff applied on top and
 * whiteouts applied as deletions. Slow and big, works on any filesystem.
 * get() is the directory itself; the reference count only guards remove.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../archive/fsutil.h"
#include "../common/util.h"
#include "driver.h"

static int layer_dir(struct storage_driver *drv, const char *id, char *buf, size_t len,
		     struct shoal_err *err)
{
	return storage_layer_dir(drv, "dir", id, buf, len, err);
}

static int vfs_init(struct storage_driver *drv, struct shoal_err *err)
{
	static const char *const keys[] = { NULL };
	int r;

	r = storage_opts_check(drv, keys, err);
	if (r < 0)
		return r;
	return storage_dir_driver_init(drv, "dir", err);
}

static void vfs_cleanup(struct storage_driver *drv)
{
	storage_dir_driver_cleanup(drv);
}

static json_t *vfs_status(struct storage_driver *drv)
{
	return json_pack("[[ss]]", "Backing Filesystem", storage_fs_name_of(drv->home, NULL));
}

static bool vfs_exists(struct storage_driver *drv, const char *id)
{
	return storage_layer_dir_exists(drv, "dir", id);
}

static int vfs_create(struct storage_driver *drv, const char *id, const char *parent, bool rw,
		      const char *size_opt, struct shoal_err *err)
{
	char p[4400], pp[4400];
	int r;

	(void)rw;
	if (size_opt && *size_opt)
		return err_set(err, EINVAL, "vfs: per-layer size is not supported");
	r = layer_dir(drv, id, p, sizeof(p), err);
	if (r < 0)
		return r;
	if (parent && *parent) {
		r = layer_dir(drv, parent, pp, sizeof(pp), err);
		if (r < 0)
			return r;
		if (!vfs_exists(drv, parent))
			return err_set(err, ENOENT, "vfs: parent layer %s does not exist", parent);
	}
	if (mkdir(p, 0755) < 0)
		return err_set(err, errno, "vfs: create layer %s: %s", id, strerror(errno));
	if (parent && *parent) {
		r = fsutil_copy_tree(pp, p, err);
		if (r < 0) {
			err_wrap(err, "vfs: copy parent %s into layer %s", parent, id);
			fsutil_rm_rf(p);
			return r;
		}
	}
	return 0;
}

static int vfs_remove(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	char p[4400];
	int r;

	r = layer_dir(drv, id, p, sizeof(p), err);
	if (r < 0)
		return r;
	if (!vfs_exists(drv, id))
		return err_set(err, ENOENT, "vfs: no such layer %s", id);
	if (storage_refs_busy(drv->priv, id))
		return err_set(err, EBUSY, "vfs: layer %s is in use", id);
	r = fsutil_rm_rf(p);
	return r < 0 ? err_set(err, r, "vfs: remove layer %s: %s", id, strerror(-r)) : 0;
}

static int vfs_get(struct storage_driver *drv, const char *id, char *path, size_t len,
		   struct shoal_err *err)
{
	return storage_dir_get(drv, "dir", id, path, len, err);
}

static int vfs_put(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	return storage_dir_put(drv, id, err);
}

static int vfs_apply_diff(struct storage_driver *drv, const char *id, const char *parent, int fd,
			  uint64_t *size, struct shoal_err *err)
{
	(void)parent;
	return storage_dir_apply_diff(drv, "dir", id, fd, size, err);
}

static int vfs_changes(struct storage_driver *drv, const char *id, const char *parent,
		       json_t **out, struct shoal_err *err)
{
	return storage_dir_changes(drv, "dir", id, parent, out, err);
}

static int vfs_diff_size(struct storage_driver *drv, const char *id, const char *parent,
			 uint64_t *size, struct shoal_err *err)
{
	return storage_dir_diff_size(drv, "dir", id, parent, size, err);
}

const struct storage_ops storage_vfs_ops = {
	.name = "vfs",
	.init = vfs_init,
	.cleanup = vfs_cleanup,
	.status = vfs_status,
	.create = vfs_create,
	.remove = vfs_remove,
	.get = vfs_get,
	.put = vfs_put,
	.exists = vfs_exists,
	.apply_diff = vfs_apply_diff,
	.diff_size = vfs_diff_size,
	.changes = vfs_changes,
};
