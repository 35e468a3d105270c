// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup1.c - find cgroup v1 hierarchies by controller (cgroup1.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup1.h"

/* Is ctrl one of the comma-separated words of opts? */
static int has_word(const char *opts, const char *ctrl)
{
	size_t n = strlen(ctrl);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, ctrl, n) && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

int cg1_mount(const char *ctrl, char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	/* "36 35 0:31 / /sys/fs/cgroup/memory rw,... shared:9 - cgroup cgroup rw,memory" */
	while (ret < 0 && getline(&line, &cap, f) > 0) {
		char mnt[4096], fstype[32], opts[512], *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
			continue;
		if (strcmp(fstype, "cgroup") || !has_word(opts, ctrl))
			continue;
		snprintf(buf, len, "%s", mnt);
		ret = 0;
	}
	free(line);
	fclose(f);
	return ret;
}

int cg1_dir(const char *ctrl, const char *rel, char *buf, size_t len)
{
	char mnt[4096];
	struct stat st;

	if (len)
		buf[0] = '\0';
	if (cg1_mount(ctrl, mnt, sizeof(mnt)) < 0)
		return -ENOENT;
	snprintf(buf, len, "%s%s%s", mnt, rel[0] == '/' ? "" : "/", rel);
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	return 0;
}
