/* SPDX-License-Identifier: Apache-2.0 */
/* internal.h - pieces of user/runtime shared between its files. */
#ifndef SHOAL_RUNTIME_INTERNAL_H
#define SHOAL_RUNTIME_INTERNAL_H

#include <limits.h>
#include <sys/types.h>

#include "runtime.h"

#define RT_MAX_GROUPS 64

/* Resolved identity of a process (from the container's /etc files). */
struct rt_ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[RT_MAX_GROUPS];
	int ngroups;
	char home[256];
};

/*
 * Resolve unsafe (an absolute path inside the container) under root the
 * way the container would see it, following symlinks inside root only
 * ("/.." stays at root). create: 0 nothing, 1 make missing directories,
 * 2 also create the last component as an empty file.
 */
enum { RT_NOCREATE, RT_MKDIR, RT_MKFILE };
int rt_secure_join(const char *root, const char *unsafe, int create, char *out, size_t len,
		   struct shoal_err *err);

/* Child side, in the new mount namespace: everything up to and
 * including pivot_root, the masks and the hostname. cgroupns: mount
 * cgroup2 (ro) on /sys/fs/cgroup, the caller being in its own cgroup
 * namespace. */
int rt_fs_setup(const struct rt_config *cfg, bool cgroupns, struct shoal_err *err);

/* Resolve "uid[:gid]" / "name[:group]" against /etc/passwd, /etc/group
 * of the current root. */
int rt_user_resolve(const char *spec, struct rt_ids *ids, struct shoal_err *err);

/* What the child does after its namespaces and root are ready. */
struct rt_child {
	int sync;               /* SEQPACKET to the shim, CLOEXEC */
	char *const *args;
	char *const *env;
	const char *cwd;
	const char *user;
	bool tty;
	uint64_t caps;          /* bounding set; root also gets them */
	bool seccomp;           /* install rt_seccomp_install(caps) */
	bool console;           /* tty: bind the slave on /dev/console */
	bool hold;              /* report "H", wait for "S" before execve */
	const struct rt_rlimit *rlimits;
	size_t n_rlimits;
	int in, out, errfd;     /* stdio to install when !tty */
};

/* Docker's default seccomp profile, as far as caps do not cover it. */
int rt_seccomp_install(uint64_t caps, struct shoal_err *err);

/* Report "code message" to the shim and _exit. */
__attribute__((noreturn)) void rt_child_fail(int sync, int code, const struct shoal_err *err);
/* user, capabilities, cwd, tty, env and execve; never returns. */
__attribute__((noreturn)) void rt_child_exec(const struct rt_child *c);

/* Shim side: wait for the child's report. 0 once it exec'd; else *code
 * and err from the child. *master receives a pty master if sent. */
int rt_sync_wait(int sync, int *master, int *code, struct shoal_err *err);
/* One report: 1 more to come (a pty master), 2 held before execve, 0
 * exec'd (EOF), -EAGAIN nothing yet (!block), other < 0 the child's
 * error. rt_sync_wait returns at 0, 2 or an error. */
int rt_sync_step(int sync, bool block, int *master, int *code, struct shoal_err *err);

#endif
