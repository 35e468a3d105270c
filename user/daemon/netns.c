// SPDX-License-Identifier: Apache-2.0
/*
 * netns.c - checks and sysctls inside network namespaces given by path
 * (/run/netns/NAME, /proc/PID/ns/net, or a bind mount of either).
 *
 * /proc/sys/net resolves against the opener's network namespace, so the
 * sysctl is opened after setns() into the target, and the thread goes
 * back before returning on every path.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "../common/util.h"
#include "daemon.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int netns_check_path(const char *path, struct shoal_err *err)
{
	struct statfs sfs;

	if (!path || path[0] != '/')
		return err_set(err, EINVAL, "network namespace path \"%s\" must be absolute",
			       path ? path : "");
	if (statfs(path, &sfs) < 0)
		return err_set(err, errno, "network namespace %s: %s", path, strerror(errno));
	if (sfs.f_type != NSFS_MAGIC)
		return err_set(err, EINVAL, "%s is not a network namespace (not an nsfs file)", path);
	return 0;
}

static int sysctl_write(const char *key, const char *value, struct shoal_err *err)
{
	char path[256];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(value);

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "open %s: %s", path, strerror(errno));
	if (write(fd, value, len) != (ssize_t)len)
		return err_set(err, errno, "write %s: %s", path, strerror(errno));
	return 0;
}

int netns_sysctl_set(const char *netns_path, const char *key, const char *value,
		     struct shoal_err *err)
{
	_cleanup_close_ int self = -1, target = -1;
	int ret;

	if (!netns_path)
		return sysctl_write(key, value, err);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_set(err, errno, "open own netns: %s", strerror(errno));
	target = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return err_set(err, errno, "open %s: %s", netns_path, strerror(errno));
	if (setns(target, CLONE_NEWNET) < 0)
		return err_set(err, errno, "enter %s: %s", netns_path, strerror(errno));
	ret = sysctl_write(key, value, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* A thread stuck in the wrong namespace would corrupt later work. */
		perror("shoald: cannot return to own network namespace");
		abort();
	}
	return ret;
}
