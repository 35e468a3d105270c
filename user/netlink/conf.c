// SPDX-License-Identifier: Apache-2.0
/* conf.c - per-device IPv4 knobs under /proc/sys/net/ipv4/conf/IF/. */
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "netlink.h"

static int component_ok(const char *s, size_t max)
{
	return s && *s && strlen(s) < max && !strchr(s, '/') && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

int netlink_ipv4_conf_set(const char *ifname, const char *key, const char *value,
			  struct shoal_err *err)
{
	char path[256];
	_cleanup_close_ int fd = -1;
	size_t len;

	if (!component_ok(ifname, IFNAMSIZ) || !component_ok(key, 64) || !value)
		return err_set(err, EINVAL, "ipv4 conf: invalid interface or key");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", ifname, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "%s: %s", path, strerror(errno));
	len = strlen(value);
	if (write(fd, value, len) != (ssize_t)len)
		return err_set(err, errno ? errno : EIO, "write %s to %s: %s", value, path,
			       strerror(errno ? errno : EIO));
	return 0;
}
