// SPDX-License-Identifier: Apache-2.0
/*
 * btrfs.c - the btrfs driver: one subvolume per layer under
 * <home>/subvolumes/<id>; a child starts as a snapshot of its parent
 * (BTRFS_IOC_SNAP_CREATE_V2, copy-on-write, instant), a base layer as an
 * empty subvolume (BTRFS_IOC_SUBVOL_CREATE); removal destroys the
 * subvolume (BTRFS_IOC_SNAP_DESTROY). Diffs are applied like vfs
 * (whiteouts delete). Only on a data-root that is btrfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/btrfs.h>
#include <linux/magic.h>

#include "../archive/fsutil.h"
#include "../common/util.h"
#include "driver.h"

static int layer_dir(struct storage_driver *drv, const char *id, char *buf, size_t len,
		     struct shoal_err *err)
{
	return storage_layer_dir(drv, "subvolumes", id, buf, len, err);
}

static int btrfs_init(struct storage_driver *drv, struct shoal_err *err)
{
	static const char *const keys[] = { NULL };
	long ft = 0;
	const char *fs;
	int r;

	r = storage_opts_check(drv, keys, err);
	if (r < 0)
		return r;
	/* Check before creating anything, so no stray dir is left behind. */
	fs = storage_fs_name_of(drv->home, &ft);
	if ((unsigned long)(unsigned int)ft != BTRFS_SUPER_MAGIC)
		return err_set(err, EOPNOTSUPP,
			       "btrfs driver needs data-root on a btrfs filesystem; %s is on %s",
			       drv->data_root, fs);
	return storage_dir_driver_init(drv, "subvolumes", err);
}

static void btrfs_cleanup(struct storage_driver *drv)
{
	storage_dir_driver_cleanup(drv);
}

static json_t *btrfs_status(struct storage_driver *drv)
{
	(void)drv;
	return json_pack("[[ss][ss]]", "Backing Filesystem", "btrfs", "Subvolume per layer", "true");
}

static bool btrfs_exists(struct storage_driver *drv, const char *id)
{
	return storage_layer_dir_exists(drv, "subvolumes", id);
}

static int btrfs_create(struct storage_driver *drv, const char *id, const char *parent, bool rw,
			const char *size_opt, struct shoal_err *err)
{
	char p[4400], pp[4400], sv[4200];
	_cleanup_close_ int dfd = -1, pfd = -1;
	int r;

	(void)rw;
	if (size_opt && *size_opt)
		return err_set(err, EINVAL, "btrfs: per-layer size is not supported");
	r = layer_dir(drv, id, p, sizeof(p), err);
	if (r < 0)
		return r;
	if (btrfs_exists(drv, id))
		return err_set(err, EEXIST, "btrfs: layer %s exists", id);
	snprintf(sv, sizeof(sv), "%s/subvolumes", drv->home);
	dfd = open(sv, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_set(err, errno, "btrfs: open %s: %s", sv, strerror(errno));
	if (parent && *parent) {
		struct btrfs_ioctl_vol_args_v2 a;

		r = layer_dir(drv, parent, pp, sizeof(pp), err);
		if (r < 0)
			return r;
		pfd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			return err_set(err, errno == ENOENT ? ENOENT : errno,
				       "btrfs: parent layer %s: %s", parent, strerror(errno));
		memset(&a, 0, sizeof(a));
		a.fd = pfd;
		snprintf(a.name, sizeof(a.name), "%s", id);
		if (ioctl(dfd, BTRFS_IOC_SNAP_CREATE_V2, &a) < 0)
			return err_set(err, errno, "btrfs: snapshot %s as %s: %s", parent, id,
				       strerror(errno));
	} else {
		struct btrfs_ioctl_vol_args a;

		memset(&a, 0, sizeof(a));
		snprintf(a.name, sizeof(a.name), "%s", id);
		if (ioctl(dfd, BTRFS_IOC_SUBVOL_CREATE, &a) < 0)
			return err_set(err, errno, "btrfs: create subvolume %s: %s", id, strerror(errno));
		if (chmod(p, 0755) < 0)
			return err_set(err, errno, "btrfs: chmod %s: %s", p, strerror(errno));
	}
	return 0;
}

static int btrfs_remove(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	struct btrfs_ioctl_vol_args a;
	_cleanup_close_ int dfd = -1;
	char p[4400], sv[4200];
	int r;

	r = layer_dir(drv, id, p, sizeof(p), err);
	if (r < 0)
		return r;
	if (!btrfs_exists(drv, id))
		return err_set(err, ENOENT, "btrfs: no such layer %s", id);
	if (storage_refs_busy(drv->priv, id))
		return err_set(err, EBUSY, "btrfs: layer %s is in use", id);
	snprintf(sv, sizeof(sv), "%s/subvolumes", drv->home);
	dfd = open(sv, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_set(err, errno, "btrfs: open %s: %s", sv, strerror(errno));
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", id);
	if (ioctl(dfd, BTRFS_IOC_SNAP_DESTROY, &a) == 0)
		return 0;
	/* Not a subvolume (left by hand?): a plain tree. */
	r = fsutil_rm_rf(p);
	return r < 0 ? err_set(err, r, "btrfs: remove layer %s: %s", id, strerror(-r)) : 0;
}

static int btrfs_get(struct storage_driver *drv, const char *id, char *path, size_t len,
		     struct shoal_err *err)
{
	return storage_dir_get(drv, "subvolumes", id, path, len, err);
}

static int btrfs_put(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	return storage_dir_put(drv, id, err);
}

static int btrfs_apply_diff(struct storage_driver *drv, const char *id, const char *parent,
			    int fd, uint64_t *size, struct shoal_err *err)
{
	(void)parent;
	return storage_dir_apply_diff(drv, "subvolumes", id, fd, size, err);
}

static int btrfs_changes(struct storage_driver *drv, const char *id, const char *parent,
		       json_t **out, struct shoal_err *err)
{
	return storage_dir_changes(drv, "subvolumes", id, parent, out, err);
}

static int btrfs_diff_size(struct storage_driver *drv, const char *id, const char *parent,
			   uint64_t *size, struct shoal_err *err)
{
	return storage_dir_diff_size(drv, "subvolumes", id, parent, size, err);
}

const struct storage_ops storage_btrfs_ops = {
	.name = "btrfs",
	.init = btrfs_init,
	.cleanup = btrfs_cleanup,
	.status = btrfs_status,
	.create = btrfs_create,
	.remove = btrfs_remove,
	.get = btrfs_get,
	.put = btrfs_put,
	.exists = btrfs_exists,
	.apply_diff = btrfs_apply_diff,
	.diff_size = btrfs_diff_size,
	.changes = btrfs_changes,
};
