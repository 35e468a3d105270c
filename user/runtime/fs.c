// SPDX-License-Identifier: Apache-2.0
/*
 * fs.c - the container's filesystem, run by its init in its new mount
 * namespace before exec: propagation made slave so nothing leaks to the
 * host, the rootfs bound onto itself, /proc, /sys (ro), a tmpfs /dev with
 * the standard nodes, devpts (newinstance), /dev/shm, /dev/mqueue, the
 * config's mounts in order, pivot_root, then Docker's masked and
 * read-only paths, then the hostname.
 *
 * Targets are resolved with rt_secure_join: symlinks in the image are
 * followed as if the rootfs were "/", so a hostile image cannot point a
 * mount outside it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../common/util.h"
#include "internal.h"

#define MAX_LINKS 40

/* Append "/comp" to cur (relative path under root, "" = root). */
static int path_push(char *cur, size_t len, const char *comp, size_t clen)
{
	size_t n = strlen(cur);

	if (n + 1 + clen + 1 > len)
		return -ENAMETOOLONG;
	cur[n] = '/';
	memcpy(cur + n + 1, comp, clen);
	cur[n + 1 + clen] = '\0';
	return 0;
}

static void path_pop(char *cur)
{
	char *s = strrchr(cur, '/');

	if (s)
		*s = '\0';
}

int rt_secure_join(const char *root, const char *unsafe, int create, char *out, size_t len,
		   struct shoal_err *err)
{
	char cur[PATH_MAX] = "", rest[PATH_MAX * 2], full[PATH_MAX * 2], link[PATH_MAX];
	int links = 0;
	char *p;

	if (snprintf(rest, sizeof(rest), "%s", unsafe) >= (int)sizeof(rest))
		return err_set(err, ENAMETOOLONG, "path %s is too long", unsafe);
	p = rest;
	for (;;) {
		struct stat st;
		char *comp, *end;
		size_t clen;
		bool last;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		comp = p;
		end = strchr(p, '/');
		clen = end ? (size_t)(end - p) : strlen(p);
		p = comp + clen;
		last = strspn(p, "/") == strlen(p);
		if (clen == 1 && comp[0] == '.')
			continue;
		if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
			path_pop(cur);
			continue;
		}
		if (path_push(cur, sizeof(cur), comp, clen) < 0)
			return err_set(err, ENAMETOOLONG, "path %s is too long", unsafe);
		snprintf(full, sizeof(full), "%s%s", root, cur);
		if (lstat(full, &st) < 0) {
			if (errno != ENOENT || create == RT_NOCREATE)
				return err_set(err, errno, "%s: %s", unsafe, strerror(errno));
			if (!last || create == RT_MKDIR) {
				if (mkdir(full, 0755) < 0 && errno != EEXIST)
					return err_set(err, errno, "mkdir %s: %s", full, strerror(errno));
			} else {
				int fd = open(full, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);

				if (fd < 0)
					return err_set(err, errno, "create %s: %s", full, strerror(errno));
				close(fd);
			}
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			char tmp[PATH_MAX * 2];
			ssize_t n;

			if (++links > MAX_LINKS)
				return err_set(err, ELOOP, "%s: too many levels of symbolic links",
					       unsafe);
			n = readlink(full, link, sizeof(link) - 1);
			if (n < 0)
				return err_set(err, errno, "readlink %s: %s", full, strerror(errno));
			link[n] = '\0';
			path_pop(cur);
			if (link[0] == '/')
				cur[0] = '\0';
			if (snprintf(tmp, sizeof(tmp), "%s/%s", link, p) >= (int)sizeof(tmp))
				return err_set(err, ENAMETOOLONG, "path %s is too long", unsafe);
			memcpy(rest, tmp, sizeof(rest));
			p = rest;
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode))
			return err_set(err, ENOTDIR, "%s: %s is not a directory", unsafe, cur);
	}
	if (snprintf(out, len, "%s%s", root, cur[0] ? cur : "") >= (int)len)
		return err_set(err, ENAMETOOLONG, "path %s is too long", unsafe);
	return 0;
}

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		    const char *data, struct shoal_err *err)
{
	if (mount(src, dst, type, flags, data) < 0)
		return err_set(err, errno, "mount %s on %s (%s): %s", src ? src : "none", dst,
			       type ? type : "bind", strerror(errno));
	return 0;
}

/* Remount a bind mount with extra flags, keeping the ones it has. */
static int remount_flags(const char *dst, unsigned long extra, struct shoal_err *err)
{
	struct statvfs sv;
	unsigned long flags = MS_BIND | MS_REMOUNT | extra;

	if (statvfs(dst, &sv) == 0) {
		if (sv.f_flag & ST_NOSUID)
			flags |= MS_NOSUID;
		if (sv.f_flag & ST_NODEV)
			flags |= MS_NODEV;
		if (sv.f_flag & ST_NOEXEC)
			flags |= MS_NOEXEC;
		if (sv.f_flag & ST_RDONLY)
			flags |= MS_RDONLY;
	}
	return do_mount(NULL, dst, NULL, flags, NULL, err);
}

/* "rbind,ro": the submounts too (Docker >= 25 does the same when the
 * kernel has mount_setattr, 5.12+). Older kernels: only the top is ro. */
static int ro_recursive(const char *dst, struct shoal_err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof(attr)) == 0 ||
	    errno == ENOSYS)
		return 0;
	return err_set(err, errno, "make %s read-only recursively: %s", dst, strerror(errno));
}

struct mount_opt {
	const char *name;
	unsigned long set, clear;
	unsigned long prop;
};

static const struct mount_opt mount_opts[] = {
	{ "ro", MS_RDONLY, 0, 0 },        { "rw", 0, MS_RDONLY, 0 },
	{ "nosuid", MS_NOSUID, 0, 0 },    { "suid", 0, MS_NOSUID, 0 },
	{ "nodev", MS_NODEV, 0, 0 },      { "dev", 0, MS_NODEV, 0 },
	{ "noexec", MS_NOEXEC, 0, 0 },    { "exec", 0, MS_NOEXEC, 0 },
	{ "bind", MS_BIND, 0, 0 },        { "rbind", MS_BIND | MS_REC, 0, 0 },
	{ "noatime", MS_NOATIME, 0, 0 },  { "relatime", MS_RELATIME, 0, 0 },
	{ "strictatime", MS_STRICTATIME, 0, 0 },
	{ "private", 0, 0, MS_PRIVATE },  { "rprivate", 0, 0, MS_PRIVATE | MS_REC },
	{ "slave", 0, 0, MS_SLAVE },      { "rslave", 0, 0, MS_SLAVE | MS_REC },
	{ "shared", 0, 0, MS_SHARED },    { "rshared", 0, 0, MS_SHARED | MS_REC },
	{ "unbindable", 0, 0, MS_UNBINDABLE },
	{ "runbindable", 0, 0, MS_UNBINDABLE | MS_REC },
};

/* Split options into flags, propagation and fs data ("size=64m,mode=755"). */
static void parse_options(char **opts, unsigned long *flags, unsigned long *prop, char *data,
			  size_t dlen)
{
	data[0] = '\0';
	for (size_t i = 0; opts && opts[i]; i++) {
		bool known = false;

		for (size_t j = 0; j < ARRAY_SIZE(mount_opts); j++) {
			if (strcmp(opts[i], mount_opts[j].name))
				continue;
			*flags = (*flags & ~mount_opts[j].clear) | mount_opts[j].set;
			if (mount_opts[j].prop)
				*prop = mount_opts[j].prop;
			known = true;
		}
		if (!known) {
			size_t n = strlen(data);

			snprintf(data + n, dlen - n, "%s%s", n ? "," : "", opts[i]);
		}
	}
}

static int mount_one(const char *root, const struct rt_mount *m, struct shoal_err *err)
{
	unsigned long flags = 0, prop = 0;
	char dst[PATH_MAX], data[1024];
	struct stat st;
	int ret;

	parse_options(m->options, &flags, &prop, data, sizeof(data));
	if (!strcmp(m->type, "tmpfs")) {
		ret = rt_secure_join(root, m->destination, RT_MKDIR, dst, sizeof(dst), err);
		if (ret < 0)
			return ret;
		ret = do_mount("tmpfs", dst, "tmpfs", flags & ~(MS_BIND | MS_REC),
			       data[0] ? data : NULL, err);
	} else {
		if (stat(m->source, &st) < 0)
			return err_set(err, errno, "bind mount source %s: %s", m->source,
				       strerror(errno));
		ret = rt_secure_join(root, m->destination, S_ISDIR(st.st_mode) ? RT_MKDIR : RT_MKFILE,
				     dst, sizeof(dst), err);
		if (ret < 0)
			return ret;
		ret = do_mount(m->source, dst, NULL, MS_BIND | (flags & MS_REC), NULL, err);
		if (!ret && (flags & MS_REC) && (flags & MS_RDONLY))
			ret = ro_recursive(dst, err);
		if (!ret && (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)))
			ret = remount_flags(dst, flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC),
					    err);
	}
	if (!ret && prop)
		ret = do_mount(NULL, dst, NULL, prop, NULL, err);
	if (ret < 0)
		err_wrap(err, "mounts %s", m->destination);
	return ret;
}

static int mkdir_in(const char *root, const char *path, char *out, size_t len,
		    struct shoal_err *err)
{
	return rt_secure_join(root, path, RT_MKDIR, out, len, err);
}

static int mount_proc_sys(const char *root, bool privileged, struct shoal_err *err)
{
	char dst[PATH_MAX];
	int ret;

	ret = mkdir_in(root, "/proc", dst, sizeof(dst), err);
	if (!ret)
		ret = do_mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	if (ret)
		return ret;
	ret = mkdir_in(root, "/sys", dst, sizeof(dst), err);
	if (ret)
		return ret;
	if (mount("sysfs", dst, "sysfs", (privileged ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) == 0)
		return 0;
	/* sysfs can be refused (e.g. netns "host" owned elsewhere): bind the
	 * host's read-only like runc does. */
	ret = do_mount("/sys", dst, NULL, MS_BIND | MS_REC, NULL, err);
	return ret || privileged ? ret : remount_flags(dst, MS_RDONLY, err);
}

static const struct {
	const char *name;
	unsigned int major, minor;
} dev_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 },    { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static int make_dev_node(const char *dev, const char *name, unsigned int ma, unsigned int mi,
			 struct shoal_err *err)
{
	char path[PATH_MAX + 32], host[64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dev, name);
	if (mknod(path, S_IFCHR | 0666, makedev(ma, mi)) == 0) {
		chmod(path, 0666);      /* umask */
		return 0;
	}
	/* No mknod (EPERM in some setups): bind the host's node. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		return err_set(err, errno, "create %s: %s", path, strerror(errno));
	close(fd);
	snprintf(host, sizeof(host), "/dev/%s", name);
	return do_mount(host, path, NULL, MS_BIND, NULL, err);
}

/* privileged: copies of the host's device nodes (runc does the same),
 * below the standard ones, skipping what exists and the pseudo-fs dirs. */
static void copy_host_devs(const char *host, const char *dev, int depth)
{
	char hp[PATH_MAX], cp[PATH_MAX];
	struct dirent *d;
	struct stat st;
	DIR *dir;

	if (depth > 3 || !(dir = opendir(host)))
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || (depth == 0 && (!strcmp(d->d_name, "pts") ||
		    !strcmp(d->d_name, "shm") || !strcmp(d->d_name, "mqueue") ||
		    !strcmp(d->d_name, "console") || !strcmp(d->d_name, "ptmx"))))
			continue;
		if (snprintf(hp, sizeof(hp), "%s/%s", host, d->d_name) >= (int)sizeof(hp) ||
		    snprintf(cp, sizeof(cp), "%s/%s", dev, d->d_name) >= (int)sizeof(cp) ||
		    lstat(hp, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			mkdir(cp, st.st_mode & 07777);
			copy_host_devs(hp, cp, depth + 1);
		} else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) &&
			   mknod(cp, st.st_mode, st.st_rdev) == 0) {
			if (chown(cp, st.st_uid, st.st_gid) < 0 || chmod(cp, st.st_mode & 07777) < 0)
				continue;
		}
	}
	closedir(dir);
}

static int mount_dev(const char *root, bool privileged, int64_t shm_size, struct shoal_err *err)
{
	static const char *links[][2] = {
		{ "/proc/self/fd", "fd" },       { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },          { "/proc/kcore", "core" },
	};
	char dev[PATH_MAX], path[PATH_MAX + 32], data[64];
	int ret;

	ret = mkdir_in(root, "/dev", dev, sizeof(dev), err);
	if (!ret)
		ret = do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME,
			       "mode=755,size=65536k", err);
	for (size_t i = 0; !ret && i < ARRAY_SIZE(dev_nodes); i++)
		ret = make_dev_node(dev, dev_nodes[i].name, dev_nodes[i].major, dev_nodes[i].minor,
				    err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/pts", dev);
	if (mkdir(path, 0755) < 0)
		return err_set(err, errno, "mkdir %s: %s", path, strerror(errno));
	ret = do_mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
		       "newinstance,ptmxmode=0666,mode=0620,gid=5", err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/shm", dev);
	if (mkdir(path, 01777) < 0)
		return err_set(err, errno, "mkdir %s: %s", path, strerror(errno));
	snprintf(data, sizeof(data), "mode=1777,size=%lld", (long long)shm_size);
	ret = do_mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data, err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/mqueue", dev);
	if (mkdir(path, 0755) == 0)
		mount("mqueue", path, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, links[i][1]);
		if (symlink(links[i][0], path) < 0)
			return err_set(err, errno, "symlink %s: %s", path, strerror(errno));
	}
	if (privileged)
		copy_host_devs("/dev", dev, 0);
	return 0;
}

/* Docker's default masked and read-only paths, after pivot_root. */
static int apply_masks(struct shoal_err *err)
{
	static const char *masked[] = {
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	};
	static const char *readonly[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	};
	struct stat st;
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(masked); i++) {
		if (lstat(masked[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			ret = do_mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0", err);
		else
			ret = do_mount("/dev/null", masked[i], NULL, MS_BIND, NULL, err);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < ARRAY_SIZE(readonly); i++) {
		if (lstat(readonly[i], &st) < 0)
			continue;
		ret = do_mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL, err);
		if (!ret)
			ret = remount_flags(readonly[i], MS_RDONLY, err);
		if (ret)
			return ret;
	}
	return 0;
}

static int pivot(const char *root, struct shoal_err *err)
{
	if (chdir(root) < 0)
		return err_set(err, errno, "chdir %s: %s", root, strerror(errno));
	/* pivot_root(".", "."): the old root ends up on top of the new one
	 * and is detached right away; no directory needed in the image. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_set(err, errno, "pivot_root %s: %s", root, strerror(errno));
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_set(err, errno, "make old root slave: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		return err_set(err, errno, "detach old root: %s", strerror(errno));
	if (chdir("/") < 0)
		return err_set(err, errno, "chdir /: %s", strerror(errno));
	return 0;
}

/* The container's own cgroup (its cgroup namespace's root), read-only. */
static int mount_cgroup(const char *root, struct shoal_err *err)
{
	char dst[PATH_MAX];
	int ret;

	ret = rt_secure_join(root, "/sys/fs/cgroup", RT_NOCREATE, dst, sizeof(dst), err);
	if (ret)
		return ret;
	return do_mount("cgroup2", dst, "cgroup2", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			NULL, err);
}

int rt_fs_setup(const struct rt_config *cfg, bool cgroupns, struct shoal_err *err)
{
	char root[PATH_MAX];
	int ret;

	if (!realpath(cfg->rootfs, root))
		return err_set(err, errno, "rootfs %s: %s", cfg->rootfs, strerror(errno));
	/* Nothing we mount propagates back to the host; host unmounts still
	 * reach us (slave), so we never pin a host mount. */
	ret = do_mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL, err);
	if (!ret)
		ret = do_mount(root, root, NULL, MS_BIND | MS_REC, NULL, err);
	if (!ret)
		ret = do_mount(NULL, root, NULL, MS_PRIVATE, NULL, err);
	if (!ret)
		ret = mount_proc_sys(root, cfg->privileged, err);
	if (!ret && cgroupns)
		ret = mount_cgroup(root, err);
	if (!ret)
		ret = mount_dev(root, cfg->privileged, cfg->shm_size, err);
	for (size_t i = 0; !ret && i < cfg->n_mounts; i++)
		ret = mount_one(root, &cfg->mounts[i], err);
	if (!ret && cfg->readonly_rootfs)
		ret = remount_flags(root, MS_RDONLY, err);
	if (!ret)
		ret = pivot(root, err);
	if (!ret && !cfg->privileged)
		ret = apply_masks(err);
	if (!ret && cfg->hostname[0] && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		ret = err_set(err, errno, "sethostname %s: %s", cfg->hostname, strerror(errno));
	return ret;
}
