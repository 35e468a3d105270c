// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup1.c - find cgroup v1 hierarchies by controller (cgroup1.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/*
 * The v1 hierarchies, read from /proc/self/mountinfo once and again only
 * when the kernel says the mount table changed (POLLPRI on the open
 * file): stats ask for several controllers per container per sample.
 */
#define CG1_MAX 16

static struct {
	pthread_mutex_t mu;
	int fd; /* /proc/self/mountinfo, -1 until the first read */
	size_t n;
	char opts[CG1_MAX][512];
	char mnt[CG1_MAX][4096];
} cg1 = { .mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

/* Refill the table if it was never read or the mount table changed. */
static void cg1_refresh(void)
{
	struct pollfd p = { .fd = cg1.fd, .events = POLLPRI };
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (cg1.fd >= 0 && (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLPRI | POLLERR))))
		return;
	if (cg1.fd >= 0)
		close(cg1.fd);
	cg1.fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	cg1.n = 0;
	f = cg1.fd >= 0 ? fdopen(dup(cg1.fd), "re") : NULL;
	if (!f)
		return;
	/* "36 35 0:31 / /sys/fs/cgroup/memory rw,... shared:9 - cgroup cgroup rw,memory" */
	while (cg1.n < CG1_MAX && getline(&line, &cap, f) > 0) {
		char fstype[32], *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", cg1.mnt[cg1.n]) != 1 ||
		    sscanf(sep + 3, "%31s %*s %511s", fstype, cg1.opts[cg1.n]) != 2 ||
		    strcmp(fstype, "cgroup"))
			continue;
		cg1.n++;
	}
	free(line);
	fclose(f);
}

int cg1_mount(const char *ctrl, char *buf, size_t len)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&cg1.mu);
	cg1_refresh();
	for (size_t i = 0; i < cg1.n && ret < 0; i++)
		if (has_word(cg1.opts[i], ctrl)) {
			snprintf(buf, len, "%s", cg1.mnt[i]);
			ret = 0;
		}
	pthread_mutex_unlock(&cg1.mu);
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
