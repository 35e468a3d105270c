// SPDX-License-Identifier: Apache-2.0
/*
 * unsupported.c - devicemapper and zfs. Their init looks for what the
 * kernel would need and fails naming what is missing; where the kernel
 * has it, init still fails, saying that shoal does not implement the
 * driver: we never pretend to store layers we cannot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"

/* Is there a line in file (e.g. /proc/misc) whose last word is word? */
static bool proc_has(const char *file, const char *word)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(file, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *last = strrchr(line, ' ');
		char *tab = strrchr(line, '\t');

		if (tab > last)
			last = tab;
		last = last ? last + 1 : line;
		last[strcspn(last, "\n")] = '\0';
		found = !strcmp(last, word);
	}
	fclose(f);
	return found;
}

static int dm_init(struct storage_driver *drv, struct shoal_err *err)
{
	(void)drv;
	if (!proc_has("/proc/misc", "device-mapper"))
		return err_set(err, EOPNOTSUPP,
			       "devicemapper: this kernel has no device-mapper (no \"device-mapper\" in /proc/misc: the dm_mod module is neither built in nor loaded)");
	return err_set(err, EOPNOTSUPP,
		       "devicemapper: the kernel has device-mapper, but shoal does not implement the devicemapper driver (thin pools); use overlay2, btrfs or vfs");
}

static int zfs_init(struct storage_driver *drv, struct shoal_err *err)
{
	bool mod = access("/sys/module/zfs", F_OK) == 0;
	bool fs = proc_has("/proc/filesystems", "zfs");

	(void)drv;
	if (!mod || !fs)
		return err_set(err, EOPNOTSUPP,
			       "zfs: this kernel has no ZFS (%s%s%s)", !mod ? "/sys/module/zfs is missing" : "",
			       !mod && !fs ? ", " : "", !fs ? "zfs is not in /proc/filesystems" : "");
	return err_set(err, EOPNOTSUPP,
		       "zfs: the kernel has ZFS, but shoal does not implement the zfs driver; use overlay2, btrfs or vfs");
}

static void none_cleanup(struct storage_driver *drv)
{
	(void)drv;
}

static json_t *none_status(struct storage_driver *drv)
{
	(void)drv;
	return json_array();
}

static int none_create(struct storage_driver *drv, const char *id, const char *parent, bool rw,
		       const char *size_opt, struct shoal_err *err)
{
	(void)drv, (void)id, (void)parent, (void)rw, (void)size_opt;
	return err_set(err, EOPNOTSUPP, "driver not available");
}

static int none_id(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	(void)drv, (void)id;
	return err_set(err, EOPNOTSUPP, "driver not available");
}

static int none_get(struct storage_driver *drv, const char *id, char *path, size_t len,
		    struct shoal_err *err)
{
	(void)drv, (void)id, (void)path, (void)len;
	return err_set(err, EOPNOTSUPP, "driver not available");
}

static bool none_exists(struct storage_driver *drv, const char *id)
{
	(void)drv, (void)id;
	return false;
}

static int none_apply(struct storage_driver *drv, const char *id, const char *parent, int fd,
		      uint64_t *size, struct shoal_err *err)
{
	(void)drv, (void)id, (void)parent, (void)fd, (void)size;
	return err_set(err, EOPNOTSUPP, "driver not available");
}

static int none_size(struct storage_driver *drv, const char *id, const char *parent,
		     uint64_t *size, struct shoal_err *err)
{
	(void)drv, (void)id, (void)parent, (void)size;
	return err_set(err, EOPNOTSUPP, "driver not available");
}

const struct storage_ops storage_devicemapper_ops = {
	.name = "devicemapper", .init = dm_init, .cleanup = none_cleanup, .status = none_status,
	.create = none_create, .remove = none_id, .get = none_get, .put = none_id,
	.exists = none_exists, .apply_diff = none_apply, .diff_size = none_size,
};

const struct storage_ops storage_zfs_ops = {
	.name = "zfs", .init = zfs_init, .cleanup = none_cleanup, .status = none_status,
	.create = none_create, .remove = none_id, .get = none_get, .put = none_id,
	.exists = none_exists, .apply_diff = none_apply, .diff_size = none_size,
};
