// SPDX-License-Identifier: Apache-2.0
/*
 * user.c - "uid[:gid]" / "name[:group]" resolved against the container's
 * own /etc/passwd and /etc/group (never the host's NSS), as runc's
 * user.GetExecUser does: a numeric uid need not exist (gid 0 then), a
 * name must; supplementary groups are the groups listing the user.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The image's file, only if it is a regular file: a FIFO planted as
 * /etc/passwd must not hang the container's start. */
static FILE *open_etc(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

/* Split a colon-separated line into at most n fields, in place. */
static int split(char *line, char **f, int n)
{
	int i = 0;

	line[strcspn(line, "\n")] = '\0';
	f[i++] = line;
	for (char *p = line; *p && i < n; p++)
		if (*p == ':') {
			*p = '\0';
			f[i++] = p + 1;
		}
	return i;
}

static bool parse_id(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0x7fffffffUL)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* passwd entry by name or uid: fills ids (uid, gid, home) and name. */
static bool find_passwd(const char *name, const unsigned int *uid, struct rt_ids *ids,
			char *uname, size_t ulen)
{
	FILE *f = open_etc("/etc/passwd");
	char line[1024], *fl[7];
	bool found = false;
	unsigned int u, g;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (split(line, fl, 7) < 4 || !parse_id(fl[2], &u) || !parse_id(fl[3], &g))
			continue;
		if ((name && strcmp(fl[0], name)) || (uid && u != *uid))
			continue;
		ids->uid = u;
		ids->gid = g;
		snprintf(uname, ulen, "%s", fl[0]);
		snprintf(ids->home, sizeof(ids->home), "%s", fl[5] && *fl[5] ? fl[5] : "/");
		found = true;
	}
	fclose(f);
	return found;
}

/* Look up a group by name (gid set) and collect supplementary groups of
 * uname. */
static bool scan_groups(const char *gname, gid_t *gid, const char *uname, struct rt_ids *ids)
{
	FILE *f = open_etc("/etc/group");
	char line[4096], *fl[4];
	bool found = false;
	unsigned int g;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (split(line, fl, 4) < 3 || !parse_id(fl[2], &g))
			continue;
		if (gname && !strcmp(fl[0], gname)) {
			*gid = g;
			found = true;
		}
		if (!uname || !uname[0] || fl[3] == NULL)
			continue;
		for (char *m = strtok(fl[3], ","); m; m = strtok(NULL, ",")) {
			if (strcmp(m, uname) || ids->ngroups >= RT_MAX_GROUPS)
				continue;
			ids->groups[ids->ngroups++] = g;
		}
	}
	fclose(f);
	return found;
}

int rt_user_resolve(const char *spec, struct rt_ids *ids, struct shoal_err *err)
{
	char user[256], uname[256] = "", *group;
	unsigned int id;
	bool have_pw;

	memset(ids, 0, sizeof(*ids));
	snprintf(ids->home, sizeof(ids->home), "/");
	snprintf(user, sizeof(user), "%s", spec && *spec ? spec : "0");
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	if (!user[0])
		snprintf(user, sizeof(user), "0");
	if (parse_id(user, &id)) {
		have_pw = find_passwd(NULL, &id, ids, uname, sizeof(uname));
		ids->uid = id;
		if (!have_pw)
			ids->gid = 0;
	} else if (!find_passwd(user, NULL, ids, uname, sizeof(uname))) {
		return err_set(err, ENOENT, "unable to find user %s: no matching entries in passwd file",
			       user);
	}
	if (group && *group) {
		gid_t g;

		if (parse_id(group, &id)) {
			ids->gid = id;
			scan_groups(NULL, NULL, uname, ids);
		} else if (scan_groups(group, &g, uname, ids)) {
			ids->gid = g;
		} else {
			return err_set(err, ENOENT,
				       "unable to find group %s: no matching entries in group file",
				       group);
		}
	} else {
		scan_groups(NULL, NULL, uname, ids);
	}
	return 0;
}
