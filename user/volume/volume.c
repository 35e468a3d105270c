// SPDX-License-Identifier: Apache-2.0
/*
 * volume.c - the local volume driver on disk (see volume.h): names and
 * options checked with Docker's wording, <data-root>/volumes/<name>/_data,
 * mounts from the options, sizes.
 *
 * Removal is the dangerous part: a volume with -o type=none,o=bind has a
 * host directory mounted on _data, and deleting through that mount would
 * delete the user's files. So every mount on or under the volume's
 * directory is unmounted first, deepest first, and the tree is removed
 * only once /proc/self/mountinfo shows none left.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../archive/fsutil.h"
#include "../common/util.h"
#include "volume.h"

int vol_check_name(const char *name, struct shoal_err *err)
{
	size_t len = strlen(name);

	if (len < 2)
		return err_set(err, EINVAL,
			       "create %s: volume name is too short, names should be at least two alphanumeric characters",
			       name);
	if (len > NAME_MAX)
		return err_set(err, EINVAL,
			       "create %.32s...: volume name is too long (%zu bytes, at most %d)", name,
			       len, NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		bool ok = isalnum(c) || (i > 0 && (c == '_' || c == '.' || c == '-'));

		if (!ok || c > 127)
			return err_set(err, EINVAL,
				       "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
				       name, name);
	}
	return 0;
}

int vol_check_opts(const char *name, json_t *opts, struct shoal_err *err)
{
	const char *k;
	json_t *v;

	if (!opts || json_is_null(opts))
		return 0;
	if (!json_is_object(opts))
		return err_set(err, EINVAL, "create %s: DriverOpts must be an object of strings", name);
	json_object_foreach(opts, k, v) {
		if (!json_is_string(v))
			return err_set(err, EINVAL, "create %s: option %s must be a string", name, k);
		if (!strcmp(k, "size"))
			return err_set(err, EINVAL,
				       "create %s: quota size requested but no quota support", name);
		if (strcmp(k, "type") && strcmp(k, "device") && strcmp(k, "o"))
			return err_set(err, EINVAL, "create %s: invalid option: \"%s\"", name, k);
	}
	if (json_object_size(opts) == 0)
		return 0;
	if (!json_object_get(opts, "type"))
		return err_set(err, EINVAL, "create %s: missing required option: \"type\"", name);
	if (!json_object_get(opts, "device"))
		return err_set(err, EINVAL, "create %s: missing required option: \"device\"", name);
	if (json_object_get(opts, "o")) {
		unsigned long fl;
		char data[4096];

		return vol_parse_mount_opts(json_string_value(json_object_get(opts, "o")), &fl,
					    data, sizeof(data), err);
	}
	return 0;
}

void vol_dir(const char *root, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/volumes/%s", root, name);
}

void vol_data_dir(const char *root, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/volumes/%s/_data", root, name);
}

int vol_dir_create(const char *root, const char *name, struct shoal_err *err)
{
	char p[PATH_MAX];
	int ret;

	snprintf(p, sizeof(p), "%s/volumes", root);
	if (mkdir(p, 0701) < 0 && errno != EEXIST)
		return err_set(err, errno, "create %s: %s", p, strerror(errno));
	vol_dir(root, name, p, sizeof(p));
	if (mkdir(p, 0701) < 0 && errno != EEXIST)
		return err_set(err, errno, "error while creating volume root path '%s': %s", p,
			       strerror(errno));
	vol_data_dir(root, name, p, sizeof(p));
	ret = mkdir(p, 0755);
	if (ret < 0 && errno != EEXIST)
		return err_set(err, errno, "error while creating volume root path '%s': %s", p,
			       strerror(errno));
	return 0;
}

/* /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_mountinfo(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/*
 * The deepest mount point that is path or below it (dir prefix), into
 * out; false when there is none.
 */
static bool deepest_mount_under(const char *path, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t pl = strlen(path), best = 0;
	char *line = NULL, mp[PATH_MAX];
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape_mountinfo(mp);
		if (strncmp(mp, path, pl) != 0 || (mp[pl] != '\0' && mp[pl] != '/'))
			continue;
		if (strlen(mp) >= best) {
			best = strlen(mp);
			snprintf(out, len, "%s", mp);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

bool vol_is_mountpoint(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, mp[PATH_MAX];
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape_mountinfo(mp);
		found = strcmp(mp, path) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

int vol_dir_remove(const char *root, const char *name, struct shoal_err *err)
{
	char dir[PATH_MAX], mp[PATH_MAX];
	int ret, tries = 0;

	vol_dir(root, name, dir, sizeof(dir));
	while (deepest_mount_under(dir, mp, sizeof(mp))) {
		if (++tries > 64)
			return err_set(err, EBUSY, "remove %s: %s stays mounted", name, mp);
		if (umount2(mp, UMOUNT_NOFOLLOW) < 0 && umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 &&
		    errno != EINVAL)
			return err_set(err, errno, "remove %s: unmount %s: %s", name, mp,
				       strerror(errno));
	}
	ret = fsutil_rm_rf(dir);
	if (ret < 0)
		return err_set(err, -ret, "remove %s: %s: %s", name, dir, strerror(-ret));
	return 0;
}

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
	{ "defaults", false, 0 },      { "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },     { "suid", true, MS_NOSUID },
	{ "nosuid", false, MS_NOSUID }, { "dev", true, MS_NODEV },
	{ "nodev", false, MS_NODEV },  { "exec", true, MS_NOEXEC },
	{ "noexec", false, MS_NOEXEC }, { "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS }, { "dirsync", false, MS_DIRSYNC },
	{ "mand", false, MS_MANDLOCK }, { "nomand", true, MS_MANDLOCK },
	{ "atime", true, MS_NOATIME }, { "noatime", false, MS_NOATIME },
	{ "diratime", true, MS_NODIRATIME }, { "nodiratime", false, MS_NODIRATIME },
	{ "bind", false, MS_BIND },    { "rbind", false, MS_BIND | MS_REC },
	{ "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
};

int vol_parse_mount_opts(const char *o, unsigned long *flags, char *data, size_t len,
			 struct shoal_err *err)
{
	char *s, *save = NULL, *tok;
	size_t used = 0;

	*flags = 0;
	data[0] = '\0';
	if (!o || !*o)
		return 0;
	s = strdup(o);
	if (!s)
		return err_set(err, ENOMEM, "out of memory");
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(mount_flags); i++)
			if (!strcmp(tok, mount_flags[i].name))
				break;
		if (i < ARRAY_SIZE(mount_flags)) {
			if (mount_flags[i].clear)
				*flags &= ~mount_flags[i].flag;
			else
				*flags |= mount_flags[i].flag;
			continue;
		}
		if (used + strlen(tok) + 2 > len) {
			free(s);
			return err_set(err, EINVAL, "mount options too long: %s", o);
		}
		used += (size_t)snprintf(data + used, len - used, "%s%s", used ? "," : "", tok);
	}
	free(s);
	return 0;
}

int vol_mount(const char *root, const char *name, const char *opts_json, struct shoal_err *err)
{
	json_t *opts = json_loads(opts_json ? opts_json : "{}", 0, NULL);
	const char *type, *device, *o;
	char path[PATH_MAX], data[4096];
	unsigned long flags;
	int ret = 0;

	if (!opts)
		return err_set(err, EIO, "volume %s: stored options are not JSON", name);
	type = json_string_value(json_object_get(opts, "type"));
	device = json_string_value(json_object_get(opts, "device"));
	o = json_string_value(json_object_get(opts, "o"));
	if (!type || !*type)
		goto out;
	vol_data_dir(root, name, path, sizeof(path));
	if (vol_is_mountpoint(path))
		goto out;
	ret = vol_dir_create(root, name, err);
	if (ret < 0)
		goto out;
	ret = vol_parse_mount_opts(o, &flags, data, sizeof(data), err);
	if (ret < 0)
		goto out;
	if (!device || !*device) {
		ret = err_set(err, EINVAL, "error while mounting volume '%s': missing device in volume options",
			      path);
		goto out;
	}
	if (flags & MS_BIND) {
		/* A bind ignores every other flag: apply them with a remount. */
		if (mount(device, path, NULL, flags & (MS_BIND | MS_REC), NULL) < 0)
			goto fail;
		if ((flags & ~(MS_BIND | MS_REC)) &&
		    mount(NULL, path, NULL, (flags & ~MS_REC) | MS_REMOUNT, NULL) < 0) {
			int e = errno;

			umount2(path, MNT_DETACH);
			errno = e;
			goto fail;
		}
		goto out;
	}
	if (mount(device, path, type, flags, data[0] ? data : NULL) < 0)
		goto fail;
	goto out;
fail:
	ret = err_set(err, errno,
		      "error while mounting volume '%s': failed to mount local volume: mount %s:%s, type %s, data: %s: %s",
		      path, device, path, type, data, strerror(errno));
out:
	json_decref(opts);
	return ret;
}

int vol_size(const char *root, const char *name, uint64_t *size)
{
	char p[PATH_MAX];

	vol_data_dir(root, name, p, sizeof(p));
	*size = 0;
	if (access(p, F_OK) < 0)
		return 0;
	return fsutil_dir_size(p, size);
}

bool vol_dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return true;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}
