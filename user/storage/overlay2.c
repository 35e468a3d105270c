// SPDX-License-Identifier: Apache-2.0
/*
 * overlay2.c - the overlay2 driver, laid out like Docker's:
 *
 *   <home>/<id>/diff     the layer's own files (overlay upperdir)
 *   <home>/<id>/link     its short name: 26 chars of base32
 *   <home>/<id>/lower    the parents, nearest first: "l/AAA:l/BBB"
 *   <home>/<id>/work     overlay workdir (layers with a parent)
 *   <home>/<id>/merged   the mount point (layers with a parent)
 *   <home>/<id>/rw       present for read-write (container) layers
 *   <home>/l/<short>     -> ../<id>/diff
 *
 * Mounts run on a thread whose private cwd is <home>, so the options
 * name "l/<short>" (28 bytes a layer) instead of absolute paths: the
 * mount data is limited to one page, and a 100-layer chain needs that.
 *
 * get() of a read-write layer mounts lowerdir + upperdir + workdir; of a
 * read-only (image) layer only lowerdirs (itself and its parents, read
 * only); a layer without parent needs no mount: its diff is its view.
 * Mounts are reference counted per id under a mutex; put() unmounts at
 * zero.
 *
 * overlay2.size (daemon option, the default for read-write layers) and
 * the per-layer size_opt are XFS project quotas: each such layer dir gets
 * its own project id (inherited by diff and work), and its limit is set
 * with quotactl(Q_XSETQLIM) on <home>/backingFsBlockDev, a block device
 * node for the filesystem (as Docker does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/quota.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>

#include "../archive/archive.h"
#include "../archive/fsutil.h"
#include "../common/log.h"
#include "../common/util.h"
#include "driver.h"

#ifndef PRJQUOTA
#define PRJQUOTA 2
#endif

#define OVL_LINK_LEN 26
#define XFS_MAGIC 0x58465342UL
#define OVL_MAGIC 0x794C7630UL
#define ZFS_MAGIC 0x2FC12FC1UL

struct ovl {
	struct storage_refs refs;
	char fs[32];          /* backing filesystem, Docker's name */
	char extra[64];       /* mount options that turn off what breaks diffs */
	bool quota;           /* xfs with pquota: sizes can be enforced */
	char quota_dev[4200]; /* <home>/backingFsBlockDev */
	uint32_t next_projid;
	uint64_t default_size;
};

static bool reserved(const char *id)
{
	return !strcmp(id, "l") || !strcmp(id, "backingFsBlockDev");
}

static int layer_path(struct storage_driver *drv, const char *id, const char *sub, char *buf,
		      size_t len, struct shoal_err *err)
{
	int r = storage_check_id(id, err);

	if (r < 0)
		return r;
	if (reserved(id))
		return err_set(err, EINVAL, "overlay2: \"%s\" is a reserved name", id);
	if ((size_t)snprintf(buf, len, "%s/%s%s%s", drv->home, id, sub ? "/" : "", sub ? sub : "") >=
	    len)
		return err_set(err, ENAMETOOLONG, "overlay2: layer path too long");
	return 0;
}

static int read_small(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return (int)n;
}

static int write_small(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(s);

	if (fd < 0)
		return -errno;
	if (write(fd, s, n) != (ssize_t)n)
		return errno ? -errno : -EIO;
	return fsync(fd) < 0 ? -errno : 0;
}

/* ---- init checks ---- */

static bool have_overlay(void)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "\toverlay\n") != NULL;
	fclose(f);
	return found;
}

/* Docker's supportsDType: readdir of a fresh file must say DT_REG. */
static int check_dtype(const char *home, struct shoal_err *err, const char *fs)
{
	char dir[4200], file[4300];
	struct dirent *de;
	bool ok = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/d_type-check-XXXXXX", home);
	if (!mkdtemp(dir))
		return err_set(err, errno, "overlay2: mkdtemp in %s: %s", home, strerror(errno));
	snprintf(file, sizeof(file), "%s/f", dir);
	if (write_small(file, "") == 0 && (d = opendir(dir))) {
		while ((de = readdir(d)))
			if (!strcmp(de->d_name, "f"))
				ok = de->d_type == DT_REG;
		closedir(d);
	}
	fsutil_rm_rf(dir);
	if (!ok)
		return err_set(err, EOPNOTSUPP,
			       "overlay2: the backing %s filesystem of %s is formatted without d_type support, which overlayfs needs; reformat it with d_type (xfs: mkfs.xfs -n ftype=1) or use another driver",
			       fs, home);
	return 0;
}

struct mount_args {
	const char *target;
	const char *opts;
	unsigned long flags;
};

static int mount_here(void *arg)
{
	struct mount_args *m = arg;

	return mount("overlay", m->target, "overlay", m->flags, m->opts) < 0 ? -errno : 0;
}

/* A real overlay mount with two lowers, upper and work, then gone. */
static int check_mount(const char *home, struct shoal_err *err)
{
	static const char *const subs[] = { "l1", "l2", "u", "w", "m" };
	struct mount_args m = { .target = "m", .opts = "lowerdir=l1:l2,upperdir=u,workdir=w" };
	char dir[4200], p[4300];
	int r = 0;

	snprintf(dir, sizeof(dir), "%s/mount-check-XXXXXX", home);
	if (!mkdtemp(dir))
		return err_set(err, errno, "overlay2: mkdtemp in %s: %s", home, strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		mkdir(p, 0700);
	}
	/* Relative paths from a private cwd, as every mount here does. */
	r = fsutil_in_dir(dir, mount_here, &m);
	snprintf(p, sizeof(p), "%s/m", dir);
	if (r < 0)
		err_set(err, r, "overlay2: a test mount of overlayfs on %s failed: %s", home,
			strerror(-r));
	else
		umount2(p, MNT_DETACH);
	fsutil_rm_rf(dir);
	return r;
}

static bool param_on(const char *name)
{
	char p[128], v[16];

	snprintf(p, sizeof(p), "/sys/module/overlay/parameters/%s", name);
	return read_small(p, v, sizeof(v)) > 0 && (v[0] == 'Y' || v[0] == 'y' || v[0] == '1');
}

/* ---- quotas ---- */

static int get_projid(const char *path, uint32_t *id)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct fsxattr fsx;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
		return -errno;
	*id = fsx.fsx_projid;
	return 0;
}

static int set_projid(const char *path, uint32_t id)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct fsxattr fsx;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
		return -errno;
	fsx.fsx_projid = id;
	fsx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
	return ioctl(fd, FS_IOC_FSSETXATTR, &fsx) < 0 ? -errno : 0;
}

static int set_limit(const char *dev, uint32_t id, uint64_t bytes)
{
	struct fs_disk_quota d;

	memset(&d, 0, sizeof(d));
	d.d_version = FS_DQUOT_VERSION;
	d.d_id = id;
	d.d_flags = FS_PROJ_QUOTA;
	d.d_fieldmask = FS_DQ_BSOFT | FS_DQ_BHARD;
	d.d_blk_hardlimit = bytes / 512;
	d.d_blk_softlimit = bytes / 512;
	return quotactl(QCMD(Q_XSETQLIM, PRJQUOTA), dev, (int)id, (caddr_t)&d) < 0 ? -errno : 0;
}

/* xfs mounted with pquota (project quotas enforced)? Then prepare the
 * device node and the next free project id. */
static void quota_probe(struct storage_driver *drv, struct ovl *o, unsigned long ftype)
{
	struct fs_quota_stat qs;
	struct stat st;
	struct dirent *de;
	uint32_t max = 0, id;
	DIR *d;

	if (ftype != XFS_MAGIC || stat(drv->home, &st) < 0)
		return;
	snprintf(o->quota_dev, sizeof(o->quota_dev), "%s/backingFsBlockDev", drv->home);
	unlink(o->quota_dev);
	if (mknod(o->quota_dev, S_IFBLK | 0600, st.st_dev) < 0)
		return;
	memset(&qs, 0, sizeof(qs));
	if (quotactl(QCMD(Q_XGETQSTAT, PRJQUOTA), o->quota_dev, 0, (caddr_t)&qs) < 0 ||
	    !(qs.qs_flags & FS_QUOTA_PDQ_ENFD))
		return;
	if (get_projid(drv->home, &id) == 0)
		max = id;
	d = opendir(drv->home);
	while (d && (de = readdir(d))) {
		char p[4400];

		if (de->d_name[0] == '.' || reserved(de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", drv->home, de->d_name);
		if (get_projid(p, &id) == 0 && id > max)
			max = id;
	}
	if (d)
		closedir(d);
	o->next_projid = max + 1;
	o->quota = true;
}

static int size_error(struct ovl *o, struct shoal_err *err)
{
	return err_set(err, EINVAL,
		       "overlay2.size is only supported on xfs with the pquota mount option (data-root is on %s%s)",
		       o->fs, !strcmp(o->fs, "xfs") ? " without pquota" : "");
}

/* ---- init / cleanup / status ---- */

static int ovl_init(struct storage_driver *drv, struct shoal_err *err)
{
	static const char *const keys[] = { "size", "override_kernel_check", NULL };
	char lpath[4200];
	const char *size;
	struct ovl *o;
	long ft = 0;
	int r;

	r = storage_opts_check(drv, keys, err);
	if (r < 0)
		return r;
	if (!have_overlay())
		return err_set(err, EOPNOTSUPP,
			       "overlay2: this kernel has no overlayfs (\"overlay\" is not in /proc/filesystems; modprobe overlay)");
	o = calloc(1, sizeof(*o));
	if (!o)
		return err_set(err, ENOMEM, "out of memory");
	snprintf(o->fs, sizeof(o->fs), "%s", storage_fs_name_of(drv->home, &ft));
	if ((unsigned long)(unsigned int)ft == OVL_MAGIC || (unsigned long)(unsigned int)ft == ZFS_MAGIC) {
		r = err_set(err, EOPNOTSUPP, "overlay2: data-root %s is on %s, which overlayfs cannot use as its backing filesystem",
			    drv->data_root, o->fs);
		goto fail;
	}
	snprintf(lpath, sizeof(lpath), "%s/l", drv->home);
	r = util_mkdir_p(lpath, 0700);
	if (r < 0) {
		err_set(err, r, "overlay2: create %s: %s", lpath, strerror(-r));
		goto fail;
	}
	r = check_dtype(drv->home, err, o->fs);
	if (r == 0)
		r = check_mount(drv->home, err);
	if (r < 0)
		goto fail_home;
	if (param_on("redirect_dir"))
		strcat(o->extra, ",redirect_dir=off");
	if (param_on("metacopy"))
		strcat(o->extra, ",metacopy=off");
	if (access("/sys/module/overlay/parameters/index", F_OK) == 0)
		strcat(o->extra, ",index=off");
	quota_probe(drv, o, (unsigned long)(unsigned int)ft);
	size = storage_opt(drv, "size");
	if (size) {
		if (fsutil_parse_size(size, &o->default_size) < 0) {
			r = err_set(err, EINVAL, "overlay2.size: invalid size \"%s\"", size);
			goto fail_home;
		}
		if (!o->quota) {
			r = size_error(o, err);
			goto fail_home;
		}
	}
	storage_refs_init(&o->refs);
	drv->priv = o;
	return 0;

fail_home:
	/* Leave nothing behind for a driver that will not be used. */
	if (o->quota_dev[0])
		unlink(o->quota_dev);
	rmdir(lpath);
	rmdir(drv->home);
fail:
	free(o);
	return r;
}

static void ovl_cleanup(struct storage_driver *drv)
{
	struct ovl *o = drv->priv;
	char m[4400];

	if (!o)
		return;
	pthread_mutex_lock(&o->refs.lock);
	for (size_t i = 0; i < o->refs.n; i++) {
		if (!o->refs.v[i].mounted)
			continue;
		snprintf(m, sizeof(m), "%s/%s/merged", drv->home, o->refs.v[i].id);
		if (umount2(m, 0) < 0)
			umount2(m, MNT_DETACH);
	}
	o->refs.n = 0;
	pthread_mutex_unlock(&o->refs.lock);
	storage_refs_free(&o->refs);
	free(o);
	drv->priv = NULL;
}

static json_t *ovl_status(struct storage_driver *drv)
{
	struct ovl *o = drv->priv;

	return json_pack("[[ss][ss][ss][ss][ss]]", "Backing Filesystem", o->fs, "Supports d_type",
			 "true", "Using metacopy", "false", "Native Overlay Diff", "true", "userxattr",
			 "false");
}

/* ---- layers ---- */

static bool ovl_exists(struct storage_driver *drv, const char *id)
{
	char p[4400];
	struct stat st;

	return layer_path(drv, id, NULL, p, sizeof(p), NULL) == 0 && stat(p, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int make_link(struct storage_driver *drv, const char *id, char out[OVL_LINK_LEN + 1],
		     struct shoal_err *err)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char lp[4400], target[200];

	snprintf(target, sizeof(target), "../%s/diff", id);
	for (int tries = 0; tries < 16; tries++) {
		uint8_t raw[OVL_LINK_LEN];

		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			return err_set(err, EIO, "overlay2: getrandom failed");
		for (int i = 0; i < OVL_LINK_LEN; i++)
			out[i] = b32[raw[i] & 31];
		out[OVL_LINK_LEN] = '\0';
		snprintf(lp, sizeof(lp), "%s/l/%s", drv->home, out);
		if (symlink(target, lp) == 0)
			return 0;
		if (errno != EEXIST)
			return err_set(err, errno, "overlay2: symlink %s: %s", lp, strerror(errno));
	}
	return err_set(err, EEXIST, "overlay2: no free short link name");
}

static int ovl_create(struct storage_driver *drv, const char *id, const char *parent, bool rw,
		      const char *size_opt, struct shoal_err *err)
{
	struct ovl *o = drv->priv;
	char dir[4400], p[4400], link[OVL_LINK_LEN + 1] = "", plink[64], plower[4096];
	char lower[4200];
	uint64_t size = 0;
	int r;

	r = layer_path(drv, id, NULL, dir, sizeof(dir), err);
	if (r < 0)
		return r;
	if (size_opt && *size_opt) {
		if (fsutil_parse_size(size_opt, &size) < 0)
			return err_set(err, EINVAL, "overlay2: invalid size \"%s\"", size_opt);
	} else if (rw) {
		size = o->default_size;
	}
	if (size && !o->quota)
		return size_error(o, err);
	plower[0] = '\0';
	if (parent && *parent) {
		r = layer_path(drv, parent, "link", p, sizeof(p), err);
		if (r < 0)
			return r;
		if (!ovl_exists(drv, parent))
			return err_set(err, ENOENT, "overlay2: parent layer %s does not exist", parent);
		if (read_small(p, plink, sizeof(plink)) <= 0)
			return err_set(err, EIO, "overlay2: parent layer %s has no link", parent);
		layer_path(drv, parent, "lower", p, sizeof(p), NULL);
		r = read_small(p, plower, sizeof(plower));
		if (r < 0 && r != -ENOENT)
			return err_set(err, r, "overlay2: read %s: %s", p, strerror(-r));
		if (r < 0)
			plower[0] = '\0';
	}
	if (mkdir(dir, 0710) < 0)
		return err_set(err, errno, "overlay2: create layer %s: %s", id,
			       errno == EEXIST ? "it exists" : strerror(errno));

	if (size) {
		uint32_t projid;

		pthread_mutex_lock(&o->refs.lock);
		projid = o->next_projid++;
		pthread_mutex_unlock(&o->refs.lock);
		r = set_projid(dir, projid);
		if (r == 0)
			r = set_limit(o->quota_dev, projid, size);
		if (r < 0) {
			err_set(err, r, "overlay2: quota of %llu bytes for layer %s: %s",
				(unsigned long long)size, id, strerror(-r));
			goto fail;
		}
	}
	layer_path(drv, id, "diff", p, sizeof(p), NULL);
	if (mkdir(p, 0755) < 0) {
		r = err_set(err, errno, "overlay2: mkdir %s: %s", p, strerror(errno));
		goto fail;
	}
	r = make_link(drv, id, link, err);
	if (r < 0)
		goto fail;
	layer_path(drv, id, "link", p, sizeof(p), NULL);
	r = write_small(p, link);
	if (r < 0) {
		err_set(err, r, "overlay2: write %s: %s", p, strerror(-r));
		goto fail;
	}
	if (rw) {
		layer_path(drv, id, "rw", p, sizeof(p), NULL);
		r = write_small(p, "");
		if (r < 0) {
			err_set(err, r, "overlay2: write %s: %s", p, strerror(-r));
			goto fail;
		}
	}
	if (!parent || !*parent)
		return 0;

	static const char *const subs[] = { "work", "merged" };
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		layer_path(drv, id, subs[i], p, sizeof(p), NULL);
		if (mkdir(p, 0700) < 0) {
			r = err_set(err, errno, "overlay2: mkdir %s: %s", p, strerror(errno));
			goto fail;
		}
	}
	if ((size_t)snprintf(lower, sizeof(lower), "l/%s%s%s", plink, plower[0] ? ":" : "", plower) >=
	    sizeof(lower)) {
		r = err_set(err, E2BIG, "overlay2: layer chain too deep for %s", id);
		goto fail;
	}
	layer_path(drv, id, "lower", p, sizeof(p), NULL);
	r = write_small(p, lower);
	if (r < 0) {
		err_set(err, r, "overlay2: write %s: %s", p, strerror(-r));
		goto fail;
	}
	return 0;

fail:
	if (link[0]) {
		snprintf(p, sizeof(p), "%s/l/%s", drv->home, link);
		unlink(p);
	}
	fsutil_rm_rf(dir);
	return r;
}

static int ovl_remove(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	struct ovl *o = drv->priv;
	char dir[4400], p[4400], link[64];
	int r;

	r = layer_path(drv, id, NULL, dir, sizeof(dir), err);
	if (r < 0)
		return r;
	if (!ovl_exists(drv, id))
		return err_set(err, ENOENT, "overlay2: no such layer %s", id);
	if (storage_refs_busy(&o->refs, id))
		return err_set(err, EBUSY, "overlay2: layer %s is in use (mounted)", id);
	layer_path(drv, id, "merged", p, sizeof(p), NULL);
	umount2(p, MNT_DETACH); /* a mount left by a daemon that died */
	layer_path(drv, id, "link", p, sizeof(p), NULL);
	if (read_small(p, link, sizeof(link)) > 0 && !strchr(link, '/')) {
		snprintf(p, sizeof(p), "%s/l/%s", drv->home, link);
		unlink(p);
	}
	r = fsutil_rm_rf(dir);
	return r < 0 ? err_set(err, r, "overlay2: remove layer %s: %s", id, strerror(-r)) : 0;
}

static int ovl_get(struct storage_driver *drv, const char *id, char *path, size_t len,
		   struct shoal_err *err)
{
	struct ovl *o = drv->priv;
	char p[4400], lower[4096], link[64], opts[8192];
	struct storage_ref *ref;
	struct mount_args m;
	bool rw;
	int r;

	r = layer_path(drv, id, NULL, p, sizeof(p), err);
	if (r < 0)
		return r;
	if (!ovl_exists(drv, id))
		return err_set(err, ENOENT, "overlay2: no such layer %s", id);
	pthread_mutex_lock(&o->refs.lock);
	ref = storage_refs_find(&o->refs, id, true);
	if (!ref) {
		r = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	layer_path(drv, id, "lower", p, sizeof(p), NULL);
	r = read_small(p, lower, sizeof(lower));
	if (r <= 0) {
		/* No parent: the diff is the whole view. */
		layer_path(drv, id, "diff", p, sizeof(p), NULL);
		r = 0;
		goto give;
	}
	layer_path(drv, id, "merged", p, sizeof(p), NULL);
	r = 0;
	if (ref->count > 0)
		goto give;
	layer_path(drv, id, "rw", opts, sizeof(opts), NULL);
	rw = access(opts, F_OK) == 0;
	if (rw) {
		r = snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/diff,workdir=%s/work%s",
			     lower, id, id, o->extra);
	} else {
		layer_path(drv, id, "link", opts, sizeof(opts), NULL);
		if (read_small(opts, link, sizeof(link)) <= 0) {
			r = err_set(err, EIO, "overlay2: layer %s has no link", id);
			goto out;
		}
		r = snprintf(opts, sizeof(opts), "lowerdir=l/%s:%s%s", link, lower, o->extra);
	}
	if (r >= getpagesize()) {
		r = err_set(err, E2BIG,
			    "overlay2: layer %s: mount options of %d bytes do not fit a page (%d): too many layers",
			    id, r, getpagesize());
		goto out;
	}
	umount2(p, MNT_DETACH); /* a mount left by a daemon that died */
	m = (struct mount_args){ .target = p, .opts = opts, .flags = rw ? 0 : MS_RDONLY };
	r = fsutil_in_dir(drv->home, mount_here, &m);
	if (r < 0) {
		err_set(err, r, "overlay2: mount layer %s: %s", id, strerror(-r));
		goto out;
	}
	ref->mounted = true;
give:
	if ((size_t)snprintf(path, len, "%s", p) >= len) {
		r = err_set(err, ENAMETOOLONG, "overlay2: path buffer too small");
		goto out;
	}
	ref->count++;
out:
	if (ref && ref->count == 0) {
		if (ref->mounted)
			umount2(p, MNT_DETACH);
		storage_refs_drop(&o->refs, ref);
	}
	pthread_mutex_unlock(&o->refs.lock);
	return r;
}

static int ovl_put(struct storage_driver *drv, const char *id, struct shoal_err *err)
{
	struct ovl *o = drv->priv;
	struct storage_ref *ref;
	char p[4400];
	int r;

	r = layer_path(drv, id, "merged", p, sizeof(p), err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&o->refs.lock);
	ref = storage_refs_find(&o->refs, id, false);
	if (!ref || --ref->count > 0)
		goto out;
	if (ref->mounted && umount2(p, 0) < 0) {
		log_warn("overlay2: unmount %s: %s; detaching it", p, strerror(errno));
		if (umount2(p, MNT_DETACH) < 0 && errno != EINVAL)
			r = err_set(err, errno, "overlay2: unmount %s: %s", p, strerror(errno));
	}
	storage_refs_drop(&o->refs, ref);
out:
	pthread_mutex_unlock(&o->refs.lock);
	return r;
}

static int ovl_apply_diff(struct storage_driver *drv, const char *id, const char *parent, int fd,
			  uint64_t *size, struct shoal_err *err)
{
	char p[4400];
	int r;

	(void)parent;
	r = layer_path(drv, id, "diff", p, sizeof(p), err);
	if (r < 0)
		return r;
	if (!ovl_exists(drv, id))
		return err_set(err, ENOENT, "overlay2: no such layer %s", id);
	r = archive_apply_layer(fd, p, ARCHIVE_WHITEOUT_OVERLAY, size, err);
	if (r < 0) {
		fsutil_empty_dir(p);
		return err_wrap(err, "overlay2: apply diff to layer %.80s", id);
	}
	return 0;
}

static int ovl_diff_size(struct storage_driver *drv, const char *id, const char *parent,
			 uint64_t *size, struct shoal_err *err)
{
	char p[4400];
	int r;

	(void)parent;
	r = layer_path(drv, id, "diff", p, sizeof(p), err);
	if (r < 0)
		return r;
	r = fsutil_dir_size(p, size);
	return r < 0 ? err_set(err, r, "overlay2: size of layer %s: %s", id, strerror(-r)) : 0;
}

/* The upper dir against the lowers named in <id>/lower. */
static int ovl_changes(struct storage_driver *drv, const char *id, const char *parent,
		       json_t **out, struct shoal_err *err)
{
	char p[4400], lower[4096], *save = NULL, *tok;
	const char *lowers[128];
	char (*paths)[4400];
	size_t nl = 0;
	int r;

	(void)parent;
	r = layer_path(drv, id, "lower", p, sizeof(p), err);
	if (r < 0)
		return r;
	r = read_small(p, lower, sizeof(lower));
	if (r < 0 && r != -ENOENT)
		return err_set(err, -r, "overlay2: layer %s: %s: %s", id, p, strerror(-r));
	if (r < 0)
		lower[0] = '\0';
	paths = calloc(128, sizeof(*paths));
	if (!paths)
		return err_set(err, ENOMEM, "out of memory");
	for (tok = strtok_r(lower, ":", &save); tok && nl < 128; tok = strtok_r(NULL, ":", &save)) {
		snprintf(paths[nl], sizeof(paths[nl]), "%s/%s", drv->home, tok);
		lowers[nl] = paths[nl];
		nl++;
	}
	layer_path(drv, id, "diff", p, sizeof(p), NULL);
	r = storage_changes_overlay(p, lowers, nl, out);
	free(paths);
	return r < 0 ? err_set(err, r, "overlay2: changes of layer %s: %s", id, strerror(-r)) : 0;
}

const struct storage_ops storage_overlay2_ops = {
	.name = "overlay2",
	.init = ovl_init,
	.cleanup = ovl_cleanup,
	.status = ovl_status,
	.create = ovl_create,
	.remove = ovl_remove,
	.get = ovl_get,
	.put = ovl_put,
	.exists = ovl_exists,
	.apply_diff = ovl_apply_diff,
	.diff_size = ovl_diff_size,
	.changes = ovl_changes,
};
