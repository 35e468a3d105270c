/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storage.inc.h - every storage driver this machine can run, through
 * storage.h only: a conformance suite (a base -> mid -> top chain from
 * crafted tars with whiteouts and an opaque dir, the merged view file by
 * file, a read-write layer on top, lower layers unchanged, no mounts
 * left, everything removable) run on overlay2 and vfs on the machine's
 * filesystem and on btrfs in a loop-mounted image; a 100-layer overlay2
 * chain; overlay2.size on a loop-mounted xfs with pquota; and the
 * refusals (devicemapper, zfs, btrfs off btrfs, unknown names, sizes
 * without quota). Uses the tar writer of archive.inc.h.
 * Included by main.c (one translation unit, see there).
 */
#include <sys/mount.h>
#include <sys/statfs.h>

#include <jansson.h>

#include "../../user/storage/storage.h"

#define ST_MAX_CLEAN 8

static char st_root[64];                     /* mkdtemp under /var/tmp */
static char st_mnts[ST_MAX_CLEAN][128];      /* loop mounts to undo */
static char st_loops[ST_MAX_CLEAN][64];      /* loop devices to detach */
static struct storage_driver *st_drv;        /* the driver under test */
static char st_btrfs[128];                   /* the loop-mounted btrfs */

static void st_close(void)
{
	if (st_drv) {
		storage_close(st_drv);
		st_drv = NULL;
	}
}

static void storage_suite_cleanup(void)
{
	st_close();
	for (int i = ST_MAX_CLEAN - 1; i >= 0; i--) {
		if (st_mnts[i][0]) {
			/* Overlay mounts a failed test left under it first. */
			sh("grep -o ' %s/[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null",
			   st_mnts[i]);
			if (umount2(st_mnts[i], 0) < 0)
				umount2(st_mnts[i], MNT_DETACH);
			st_mnts[i][0] = '\0';
		}
		if (st_loops[i][0]) {
			sh("losetup -d %s 2>/dev/null", st_loops[i]);
			st_loops[i][0] = '\0';
		}
	}
	if (st_root[0]) {
		sh("grep -o ' %s/[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null",
		   st_root);
		fsutil_rm_rf(st_root);
		st_root[0] = '\0';
	}
}

/* Make a loop-mounted filesystem: truncate, mkfs, losetup, mount. The
 * mount point is returned in mnt (under st_root). */
static int st_loopfs(const char *name, const char *mkfs, const char *size, const char *mopts,
		     char *mnt, size_t len)
{
	char img[128], dev[64] = "";
	int slot = -1;

	for (int i = 0; i < ST_MAX_CLEAN; i++)
		if (!st_mnts[i][0] && !st_loops[i][0]) {
			slot = i;
			break;
		}
	if (slot < 0)
		return -1;
	snprintf(img, sizeof(img), "%s/%s.img", st_root, name);
	snprintf(mnt, len, "%s/%s", st_root, name);
	if (sh("truncate -s %s %s && %s %s >/dev/null 2>&1", size, img, mkfs, img) != 0)
		return -1;
	sh_out(dev, sizeof(dev), "losetup --find --show %s", img);
	dev[strcspn(dev, "\n")] = '\0';
	if (strncmp(dev, "/dev/loop", 9))
		return -1;
	snprintf(st_loops[slot], sizeof(st_loops[slot]), "%s", dev);
	mkdir(mnt, 0755);
	if (mount(dev, mnt, strchr(mkfs, 'b') ? "btrfs" : "xfs", 0, mopts) < 0) {
		printf("# mount %s: %s\n", dev, strerror(errno));
		return -1;
	}
	snprintf(st_mnts[slot], sizeof(st_mnts[slot]), "%s", mnt);
	return 0;
}

/* Mounts under path in our mountinfo. */
static int mounts_under(const char *path)
{
	char line[4096], pat[4200];
	int n = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	snprintf(pat, sizeof(pat), " %s/", path);
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, pat))
			n++;
	if (f)
		fclose(f);
	return n;
}

/* Overlay mounts under path (loop mounts of the suite itself excluded). */
static int overlay_mounts_under(const char *path)
{
	char line[4096], pat[4200];
	int n = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	snprintf(pat, sizeof(pat), " %s/", path);
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, pat) && strstr(line, " - overlay "))
			n++;
	if (f)
		fclose(f);
	return n;
}

static int st_open(const char *name, const char *data_root, const char *opt,
		   struct shoal_err *e)
{
	char opts[1][256];

	st_close();
	if (opt)
		snprintf(opts[0], sizeof(opts[0]), "%s", opt);
	return storage_open(name, data_root, opts, opt ? 1 : 0, &st_drv, e);
}

static int st_apply(const char *id, const char *parent, const struct tb *t, uint64_t *size,
		    struct shoal_err *e)
{
	int fd = tb_fd(t), r;

	if (fd < 0)
		return -EIO;
	r = st_drv->ops->apply_diff(st_drv, id, parent, fd, size, e);
	close(fd);
	return r;
}

/* An image layer: create read-only on parent, apply the tar. */
static int st_layer(const char *id, const char *parent, const struct tb *t, uint64_t *size,
		    struct shoal_err *e)
{
	int r = st_drv->ops->create(st_drv, id, parent, false, NULL, e);

	return r < 0 ? r : st_apply(id, parent, t, size, e);
}

static const char *json_pair(json_t *status, const char *key)
{
	size_t i;
	json_t *p;

	json_array_foreach(status, i, p)
		if (!strcmp(json_string_value(json_array_get(p, 0)) ?: "", key))
			return json_string_value(json_array_get(p, 1));
	return NULL;
}

/* ---- the conformance suite ---- */

static void build_base(struct tb *t)
{
	tb_dir(t, "etc/", 0755);
	tb_file(t, "etc/hostname", "base\n");
	tb_file(t, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	tb_dir(t, "bin/", 0755);
	tb_file_o(t, "bin/busybox", "BUSYBOX", 0755, 0, 0);
	tb_symlink(t, "bin/sh", "/bin/busybox");
	tb_hardlink(t, "bin/ls", "bin/busybox");
	tb_dir(t, "opq/", 0755);
	tb_file(t, "opq/old1", "old1");
	tb_file(t, "opq/sub/old2", "old2");
	tb_file(t, "gone", "gone");
	tb_file(t, "keep/a", "a");
	tb_file(t, "keep/b", "b");
	tb_file_o(t, "home/u/secret", "s3cret", 0600, 1000, 1000);
	tb_end(t);
}

static void build_mid(struct tb *t)
{
	tb_file(t, ".wh.gone", "");
	tb_dir(t, "opq/", 0755);
	tb_file(t, "opq/.wh..wh..opq", "");
	tb_file(t, "opq/new1", "new1");
	tb_file(t, "etc/hostname", "mid\n");
	tb_file(t, "mid.txt", "mid");
	tb_end(t);
}

static void build_top(struct tb *t)
{
	tb_file(t, "opq/top", "top");    /* re-added under the opaque dir */
	tb_file(t, "keep/.wh.a", "");
	tb_file(t, "top.txt", "top!");
	tb_end(t);
}

/* The view of top (or of a read-write layer on it before writes). */
static void check_top_view(const char *v, const char *what)
{
	char p[4200], list[512];
	struct stat a, b;

	printf("#   checking %s view %s\n", what, v);
	CHECK(file_is(v, "etc/hostname", "mid\n"), "mid's change seen");
	CHECK(file_is(v, "etc/passwd", "root:x:0:0::/root:/bin/sh\n"), "base file");
	CHECK(file_is(v, "bin/busybox", "BUSYBOX"), "base binary");
	CHECK(lstat_at(v, "bin/busybox", &a) == 0 && (a.st_mode & 07777) == 0755, "mode 0755");
	CHECK(link_is(v, "bin/sh", "/bin/busybox"), "absolute symlink target");
	CHECK(lstat_at(v, "bin/ls", &b) == 0 && b.st_ino == a.st_ino, "hard link: same inode");
	CHECK(file_is(v, "bin/ls", "BUSYBOX"), "hard link content");
	CHECK(absent(v, "gone"), "whited out in mid");
	CHECK(absent(v, ".wh.gone"), "no whiteout file in view");
	snprintf(p, sizeof(p), "%s/opq", v);
	CHECK_EQ(strcmp(list_dir(p, list, sizeof(list)), "new1,top"), 0, "opaque dir: only mid's and top's");
	if (strcmp(list, "new1,top"))
		printf("#     opq holds %s\n", list);
	snprintf(p, sizeof(p), "%s/keep", v);
	CHECK_EQ(strcmp(list_dir(p, list, sizeof(list)), "b"), 0, "keep/a whited out in top");
	CHECK(file_is(v, "mid.txt", "mid"), "mid file");
	CHECK(file_is(v, "top.txt", "top!"), "top file");
	CHECK(lstat_at(v, "home/u/secret", &a) == 0 && a.st_uid == 1000 && (a.st_mode & 07777) == 0600,
	      "owner and mode of a private file");
}

/* Layer dirs left in the driver's home (its bookkeeping dirs excepted). */
static const char *layer_dirs_left(const char *name, char *out, size_t len)
{
	char p[4200];

	if (!strcmp(name, "vfs"))
		snprintf(p, sizeof(p), "%s/dir", st_drv->home);
	else if (!strcmp(name, "btrfs"))
		snprintf(p, sizeof(p), "%s/subvolumes", st_drv->home);
	else
		snprintf(p, sizeof(p), "%s", st_drv->home);
	list_dir(p, out, len);
	if (!strcmp(name, "overlay2")) {
		char l[512];

		snprintf(p, sizeof(p), "%s/l", st_drv->home);
		if (*list_dir(p, l, sizeof(l)))
			snprintf(out, len, "l/ holds %s", l);
		else if (!strcmp(out, "l"))
			out[0] = '\0';
	}
	return out;
}

static void conformance(const char *name, const char *data_root)
{
	const struct storage_ops *ops;
	struct shoal_err e = { 0 };
	struct tb base = { 0 }, mid = { 0 }, top = { 0 };
	char v[4096], v2[4096], list[1024];
	uint64_t sz = 0, sz_base = 0, sz_top = 0;
	json_t *status;
	int r;

	r = st_open(name, data_root, NULL, &e);
	CHECK_EQ(r, 0, e.msg);
	if (r < 0)
		return;
	ops = st_drv->ops;
	CHECK(!strcmp(ops->name, name), "driver name");
	status = ops->status(st_drv);
	CHECK(json_is_array(status) && json_pair(status, "Backing Filesystem"), "status has Backing Filesystem");
	if (status) {
		char *s = json_dumps(status, JSON_COMPACT);

		printf("#   %s status: %s\n", name, s);
		free(s);
		json_decref(status);
	}

	build_base(&base);
	build_mid(&mid);
	build_top(&top);
	CHECK_EQ(st_layer("base", NULL, &base, &sz_base, &e), 0, e.msg);
	CHECK_EQ(sz_base, 4 + 5 + 26 + 7 + 4 + 4 + 1 + 1 + 6, "apply_diff size of base (hard link once)");
	CHECK_EQ(st_layer("mid", "base", &mid, &sz, &e), 0, e.msg);
	CHECK_EQ(st_layer("top", "mid", &top, &sz_top, &e), 0, e.msg);
	CHECK_EQ(sz_top, 3 + 4, "apply_diff size of top");
	CHECK(ops->exists(st_drv, "base") && ops->exists(st_drv, "mid") && ops->exists(st_drv, "top"),
	      "layers exist");
	CHECK(!ops->exists(st_drv, "nope"), "unknown layer does not exist");
	CHECK_EQ(ops->create(st_drv, "top", "mid", false, NULL, &e), -EEXIST, "create twice");
	CHECK_EQ(ops->create(st_drv, "x", "no-such-parent", false, NULL, &e), -ENOENT, "missing parent");
	CHECK_EQ(ops->create(st_drv, "../evil", NULL, false, NULL, &e), -EINVAL, "bad id");

	/* diff sizes */
	CHECK_EQ(ops->diff_size(st_drv, "base", NULL, &sz, &e), 0, e.msg);
	CHECK(sz >= sz_base && sz < sz_base + 64, "base diff size");
	CHECK_EQ(ops->diff_size(st_drv, "top", "mid", &sz, &e), 0, e.msg);
	CHECK(sz >= sz_top && sz < sz_top + 64, "top diff size over mid");
	if (sz < sz_top || sz >= sz_top + 64)
		printf("#     top diff size %llu\n", (unsigned long long)sz);

	/* The merged view of top, twice (reference counted). */
	r = ops->get(st_drv, "top", v, sizeof(v), &e);
	CHECK_EQ(r, 0, e.msg);
	if (r == 0) {
		check_top_view(v, "top");
		CHECK_EQ(ops->get(st_drv, "top", v2, sizeof(v2), &e), 0, e.msg);
		CHECK(!strcmp(v, v2), "same path twice");
		CHECK_EQ(ops->remove(st_drv, "top", &e), -EBUSY, "remove while in use");
		CHECK_EQ(ops->put(st_drv, "top", &e), 0, e.msg);
		CHECK(file_is(v, "top.txt", "top!"), "still there after one put");
		CHECK_EQ(ops->put(st_drv, "top", &e), 0, e.msg);
	}
	CHECK_EQ(overlay_mounts_under(st_drv->home), 0, "no mounts after the last put");

	/* mid and base views on their own */
	if (ops->get(st_drv, "mid", v, sizeof(v), &e) == 0) {
		CHECK(file_is(v, "etc/hostname", "mid\n"), "mid view");
		CHECK(absent(v, "gone") && absent(v, "top.txt"), "mid view: gone and no top");
		CHECK(file_is(v, "opq/new1", "new1") && absent(v, "opq/old1") && absent(v, "opq/top"),
		      "mid view: opaque");
		CHECK(file_is(v, "keep/a", "a"), "mid view keeps keep/a");
		ops->put(st_drv, "mid", &e);
	} else {
		CHECK(0, e.msg);
	}
	if (ops->get(st_drv, "base", v, sizeof(v), &e) == 0) {
		CHECK(file_is(v, "gone", "gone") && file_is(v, "opq/sub/old2", "old2"), "base view");
		CHECK(file_is(v, "etc/hostname", "base\n"), "base hostname");
		ops->put(st_drv, "base", &e);
	} else {
		CHECK(0, e.msg);
	}

	/* A container's layer: write and delete through its view. */
	CHECK_EQ(ops->create(st_drv, "rwl", "top", true, NULL, &e), 0, e.msg);
	r = ops->get(st_drv, "rwl", v, sizeof(v), &e);
	CHECK_EQ(r, 0, e.msg);
	if (r == 0) {
		char p[4200];
		int fd;

		check_top_view(v, "rw");
		snprintf(p, sizeof(p), "%s/new.txt", v);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 && write(fd, "new", 3) == 3, "write a new file");
		if (fd >= 0)
			close(fd);
		snprintf(p, sizeof(p), "%s/etc/passwd", v);
		fd = open(p, O_WRONLY | O_APPEND);
		CHECK(fd >= 0 && write(fd, "u:x:1:1\n", 8) == 8, "append to a lower file");
		if (fd >= 0)
			close(fd);
		snprintf(p, sizeof(p), "%s/bin/busybox", v);
		CHECK_EQ(unlink(p), 0, "delete a lower file");
		snprintf(p, sizeof(p), "%s/opq", v);
		CHECK_EQ(fsutil_rm_rf(p), 0, "delete a lower dir");
		snprintf(p, sizeof(p), "%s/newdir", v);
		CHECK_EQ(mkdir(p, 0755), 0, "mkdir");
		CHECK(file_is(v, "new.txt", "new"), "rw: new file");
		CHECK(file_is(v, "etc/passwd", "root:x:0:0::/root:/bin/sh\nu:x:1:1\n"), "rw: appended");
		CHECK(absent(v, "bin/busybox") && file_is(v, "bin/ls", "BUSYBOX"), "rw: deleted, link stays");
		CHECK(absent(v, "opq"), "rw: dir deleted");
		CHECK_EQ(ops->put(st_drv, "rwl", &e), 0, e.msg);
		CHECK_EQ(ops->diff_size(st_drv, "rwl", "top", &sz, &e), 0, e.msg);
		CHECK(sz >= 3 + 34, "rw diff size counts the new and copied-up files");
	}
	CHECK_EQ(overlay_mounts_under(st_drv->home), 0, "no mounts after put");

	/* The layers below are unchanged. */
	r = ops->get(st_drv, "top", v, sizeof(v), &e);
	CHECK_EQ(r, 0, e.msg);
	if (r == 0) {
		check_top_view(v, "top after rw writes");
		CHECK(absent(v, "new.txt") && absent(v, "newdir"), "rw files not in top");
		ops->put(st_drv, "top", &e);
	}

	/* Read-only layers stay read-only through get() (overlay2). */
	if (!strcmp(name, "overlay2") && ops->get(st_drv, "mid", v, sizeof(v), &e) == 0) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/x", v);
		CHECK(open(p, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS, "image layer view is read-only");
		ops->put(st_drv, "mid", &e);
	}

	CHECK_EQ(overlay_mounts_under(st_drv->home), 0, "no mounts at the end");
	static const char *const ids[] = { "rwl", "top", "mid", "base" };
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		CHECK_EQ(ops->remove(st_drv, ids[i], &e), 0, e.msg);
		CHECK(!ops->exists(st_drv, ids[i]), "gone after remove");
	}
	CHECK_EQ(ops->remove(st_drv, "base", &e), -ENOENT, "remove twice");
	CHECK_EQ(strcmp(layer_dirs_left(name, list, sizeof(list)), ""), 0, "home empty of layers");
	if (list[0])
		printf("#     left: %s\n", list);
	CHECK_EQ(mounts_under(st_drv->home), 0, "no mounts left under home");

	st_close();
	tb_free(&base);
	tb_free(&mid);
	tb_free(&top);
}

TEST(storage_overlay2_conformance)
{
	char dr[128];

	snprintf(dr, sizeof(dr), "%s/ovl", st_root);
	conformance("overlay2", dr);
}

TEST(storage_vfs_conformance)
{
	char dr[128];

	snprintf(dr, sizeof(dr), "%s/vfs", st_root);
	conformance("vfs", dr);
}

TEST(storage_btrfs_conformance)
{
	char mnt[128];

	if (st_loopfs("btrfs", "mkfs.btrfs -q", "256M", NULL, mnt, sizeof(mnt)) < 0)
		SKIP("cannot make a loop-mounted btrfs here");
	snprintf(st_btrfs, sizeof(st_btrfs), "%s", mnt);
	conformance("btrfs", mnt);
}

/* overlay2 over btrfs, and the automatic choice there. */
TEST(storage_overlay2_on_btrfs)
{
	struct shoal_err e = { 0 };
	json_t *s;

	if (!st_btrfs[0])
		SKIP("no loop-mounted btrfs");
	conformance("overlay2", st_btrfs);
	CHECK_EQ(st_open("", st_btrfs, NULL, &e), 0, e.msg);
	CHECK(st_drv && !strcmp(st_drv->ops->name, "overlay2"), "overlay2 first on btrfs too");
	if (st_drv) {
		s = st_drv->ops->status(st_drv);
		CHECK(!strcmp(json_pair(s, "Backing Filesystem") ?: "", "btrfs"), "backing fs btrfs");
		json_decref(s);
	}
	st_close();
}

TEST(storage_auto_choice)
{
	struct shoal_err e = { 0 };
	char dr[128];

	snprintf(dr, sizeof(dr), "%s/auto", st_root);
	CHECK_EQ(st_open("", dr, NULL, &e), 0, e.msg);
	CHECK(st_drv && !strcmp(st_drv->ops->name, "overlay2"), "overlay2 first");
	st_close();
}

TEST(storage_refusals)
{
	struct shoal_err e = { 0 };
	char dr[128];

	snprintf(dr, sizeof(dr), "%s/refuse", st_root);
	CHECK_EQ(st_open("devicemapper", dr, NULL, &e), -EOPNOTSUPP, "devicemapper refused");
	CHECK(strstr(e.msg, "/proc/misc") != NULL, e.msg);
	printf("#   devicemapper: %s\n", e.msg);
	CHECK_EQ(st_open("zfs", dr, NULL, &e), -EOPNOTSUPP, "zfs refused");
	CHECK(strstr(e.msg, "/sys/module/zfs") != NULL, e.msg);
	printf("#   zfs: %s\n", e.msg);
	CHECK_EQ(st_open("aufs", dr, NULL, &e), -EINVAL, "unknown name");
	CHECK(strstr(e.msg, "overlay2") && strstr(e.msg, "vfs") && strstr(e.msg, "btrfs"), e.msg);
	printf("#   aufs: %s\n", e.msg);
	CHECK_EQ(st_open("btrfs", dr, NULL, &e), -EOPNOTSUPP, "btrfs off btrfs");
	CHECK(strstr(e.msg, "btrfs driver needs data-root on a btrfs filesystem") &&
	      strstr(e.msg, dr) && strstr(e.msg, "is on extfs"), e.msg);
	printf("#   btrfs: %s\n", e.msg);
	CHECK_EQ(st_open("overlay2", dr, "overlay2.size=20M", &e), -EINVAL, "size without quota");
	CHECK(strstr(e.msg,
		     "overlay2.size is only supported on xfs with the pquota mount option (data-root is on extfs)"),
	      e.msg);
	printf("#   overlay2.size: %s\n", e.msg);
	CHECK_EQ(st_open("vfs", dr, "overlay2.bogus=1", &e), 0, "another driver's option is ignored");
	CHECK_EQ(st_open("overlay2", dr, "overlay2.bogus=1", &e), -EINVAL, "unknown option");
	CHECK_EQ(st_open("overlay2", dr, "size=1", &e), -EINVAL, "option without a driver");
	CHECK_EQ(st_open("overlay2", dr, NULL, &e), 0, e.msg);
	if (st_drv)
		CHECK_EQ(st_drv->ops->create(st_drv, "c", NULL, true, "10M", &e), -EINVAL,
			 "per-layer size without quota");
	st_close();
}

/* A backing filesystem without d_type (xfs -n ftype=0) is refused. */
TEST(storage_overlay2_needs_dtype)
{
	struct shoal_err e = { 0 };
	char mnt[128];

	if (sh("zcat /proc/config.gz 2>/dev/null | grep -q '^# CONFIG_XFS_SUPPORT_V4 is not set'") == 0)
		SKIP("this kernel has no XFS V4 (CONFIG_XFS_SUPPORT_V4): no ftype=0 filesystem to test with");
	if (st_loopfs("xfs0", "mkfs.xfs -q -f -m crc=0 -n ftype=0", "300M", NULL, mnt, sizeof(mnt)) < 0)
		SKIP("cannot make a loop-mounted xfs with ftype=0 here");
	CHECK_EQ(st_open("overlay2", mnt, NULL, &e), -EOPNOTSUPP, "refused");
	CHECK(strstr(e.msg, "d_type") != NULL, e.msg);
	printf("#   %s\n", e.msg);
}

/* 100 layers, each adding a file: one mount shows them all. */
TEST(storage_overlay2_deep_chain)
{
	struct shoal_err e = { 0 };
	char dr[128], id[16], parent[16] = "", v[4096], f[32];
	int r, bad = 0;

	snprintf(dr, sizeof(dr), "%s/deep", st_root);
	CHECK_EQ(st_open("overlay2", dr, NULL, &e), 0, e.msg);
	if (!st_drv)
		return;
	for (int i = 0; i < 100; i++) {
		struct tb t = { 0 };
		char name[32], data[32];

		snprintf(id, sizeof(id), "layer%03d", i);
		snprintf(name, sizeof(name), "f%03d", i);
		snprintf(data, sizeof(data), "%d", i);
		tb_file(&t, name, data);
		tb_file(&t, "last", data);
		tb_end(&t);
		r = st_layer(id, i ? parent : NULL, &t, NULL, &e);
		tb_free(&t);
		if (r < 0) {
			CHECK_EQ(r, 0, e.msg);
			return;
		}
		snprintf(parent, sizeof(parent), "%s", id);
	}
	CHECK_EQ(st_drv->ops->create(st_drv, "deep-rw", "layer099", true, NULL, &e), 0, e.msg);
	static const char *const tops[] = { "layer099", "deep-rw" };
	for (size_t k = 0; k < ARRAY_SIZE(tops); k++) {
		r = st_drv->ops->get(st_drv, tops[k], v, sizeof(v), &e);
		CHECK_EQ(r, 0, e.msg);
		if (r < 0)
			continue;
		for (int i = 0; i < 100; i++) {
			char want[16];

			snprintf(f, sizeof(f), "f%03d", i);
			snprintf(want, sizeof(want), "%d", i);
			if (!file_is(v, f, want))
				bad++;
		}
		CHECK_EQ(bad, 0, "all 100 layers' files visible");
		CHECK(file_is(v, "last", "99"), "the top layer wins");
		CHECK_EQ(overlay_mounts_under(st_drv->home), 1, "one mount");
		CHECK_EQ(st_drv->ops->put(st_drv, tops[k], &e), 0, e.msg);
	}
	CHECK_EQ(overlay_mounts_under(st_drv->home), 0, "unmounted");
	CHECK_EQ(st_drv->ops->remove(st_drv, "deep-rw", &e), 0, e.msg);
	for (int i = 99; i >= 0; i--) {
		snprintf(id, sizeof(id), "layer%03d", i);
		if (st_drv->ops->remove(st_drv, id, &e) < 0)
			bad++;
	}
	CHECK_EQ(bad, 0, "all removed");
	st_close();
}

/* overlay2.size on xfs with pquota: a 20M layer takes no 30M. */
TEST(storage_overlay2_quota)
{
	struct shoal_err e = { 0 };
	char mnt[128], v[4096], p[4200], buf[1 << 16];
	struct tb t = { 0 };
	int fd, r, werr = 0;
	long long written = 0;

	if (sh("zcat /proc/config.gz 2>/dev/null | grep -q '^# CONFIG_XFS_QUOTA is not set'") == 0)
		SKIP("this kernel is built without CONFIG_XFS_QUOTA: xfs refuses pquota");
	if (st_loopfs("xfs", "mkfs.xfs -q -f", "300M", "pquota", mnt, sizeof(mnt)) < 0)
		SKIP("cannot make a loop-mounted xfs with pquota here");
	r = st_open("overlay2", mnt, "overlay2.size=20M", &e);
	CHECK_EQ(r, 0, e.msg);
	if (r < 0)
		return;
	tb_file(&t, "etc/hostname", "q\n");
	tb_end(&t);
	CHECK_EQ(st_layer("qbase", NULL, &t, NULL, &e), 0, e.msg);
	tb_free(&t);
	CHECK_EQ(st_drv->ops->create(st_drv, "qrw", "qbase", true, NULL, &e), 0, e.msg);
	r = st_drv->ops->get(st_drv, "qrw", v, sizeof(v), &e);
	CHECK_EQ(r, 0, e.msg);
	if (r == 0) {
		memset(buf, 'q', sizeof(buf));
		snprintf(p, sizeof(p), "%s/big", v);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0, "create in the rw layer");
		while (fd >= 0 && written < 30LL << 20) {
			ssize_t n = write(fd, buf, sizeof(buf));

			if (n < 0) {
				werr = errno;
				break;
			}
			written += n;
		}
		if (fd >= 0 && close(fd) < 0 && !werr)
			werr = errno;
		CHECK(werr == ENOSPC || werr == EDQUOT, "30M into a 20M layer fails");
		CHECK(written <= 21LL << 20, "stopped near 20M");
		printf("#   wrote %lld bytes, then %s\n", written, strerror(werr));
		unlink(p);
		CHECK_EQ(st_drv->ops->put(st_drv, "qrw", &e), 0, e.msg);
	}
	/* A per-layer size, and a read-only layer without one. */
	CHECK_EQ(st_drv->ops->create(st_drv, "qrw2", "qbase", true, "5M", &e), 0, e.msg);
	CHECK_EQ(st_drv->ops->remove(st_drv, "qrw2", &e), 0, e.msg);
	CHECK_EQ(st_drv->ops->remove(st_drv, "qrw", &e), 0, e.msg);
	CHECK_EQ(st_drv->ops->remove(st_drv, "qbase", &e), 0, e.msg);
	st_close();
}

/* Many threads get/put the same layers: counts stay right. */
struct st_thr {
	int fails;
};

static void *st_getput(void *arg)
{
	struct st_thr *t = arg;
	struct shoal_err e;
	char v[4096];

	for (int i = 0; i < 50; i++) {
		if (st_drv->ops->get(st_drv, (i & 1) ? "tb" : "tc", v, sizeof(v), &e) < 0 ||
		    st_drv->ops->put(st_drv, (i & 1) ? "tb" : "tc", &e) < 0)
			t->fails++;
	}
	return NULL;
}

TEST(storage_overlay2_threads)
{
	struct shoal_err e = { 0 };
	struct st_thr th[8] = { 0 };
	pthread_t tid[8];
	struct tb t = { 0 };
	char dr[128], v[4096];
	int fails = 0;

	snprintf(dr, sizeof(dr), "%s/thr", st_root);
	CHECK_EQ(st_open("overlay2", dr, NULL, &e), 0, e.msg);
	if (!st_drv)
		return;
	tb_file(&t, "a", "a");
	tb_end(&t);
	CHECK_EQ(st_layer("ta", NULL, &t, NULL, &e), 0, e.msg);
	CHECK_EQ(st_drv->ops->create(st_drv, "tb", "ta", false, NULL, &e), 0, e.msg);
	CHECK_EQ(st_drv->ops->create(st_drv, "tc", "tb", true, NULL, &e), 0, e.msg);
	tb_free(&t);
	/* Hold one reference so the threads meet a mounted layer too. */
	CHECK_EQ(st_drv->ops->get(st_drv, "tb", v, sizeof(v), &e), 0, e.msg);
	for (int i = 0; i < 8; i++)
		pthread_create(&tid[i], NULL, st_getput, &th[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		fails += th[i].fails;
	}
	CHECK_EQ(fails, 0, "every get/put worked");
	CHECK_EQ(overlay_mounts_under(st_drv->home), 1, "the held mount remains");
	CHECK(file_is(v, "a", "a"), "held view still works");
	CHECK_EQ(st_drv->ops->put(st_drv, "tb", &e), 0, e.msg);
	CHECK_EQ(overlay_mounts_under(st_drv->home), 0, "all unmounted");
	/* cleanup() unmounts what is still held. */
	CHECK_EQ(st_drv->ops->get(st_drv, "tc", v, sizeof(v), &e), 0, e.msg);
	st_close();
	CHECK_EQ(overlay_mounts_under(dr), 0, "close unmounts");
}

static void storage_suite(void)
{
	snprintf(st_root, sizeof(st_root), "/var/tmp/shoal-st-XXXXXX");
	if (!mkdtemp(st_root)) {
		st_root[0] = '\0';
		printf("# mkdtemp failed\n");
		return;
	}
	RUN(storage_refusals);
	RUN(storage_auto_choice);
	RUN(storage_overlay2_conformance);
	RUN(storage_vfs_conformance);
	RUN(storage_btrfs_conformance);
	RUN(storage_overlay2_on_btrfs);
	RUN(storage_overlay2_deep_chain);
	RUN(storage_overlay2_threads);
	RUN(storage_overlay2_quota);
	RUN(storage_overlay2_needs_dtype);
	storage_suite_cleanup();
}
