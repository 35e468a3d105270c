/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime.h - the container runtime used by shoal-shim: the bundle's
 * config.json, a container's init (namespaces, rootfs, mounts, /dev,
 * pivot_root, capabilities, user, exec) and processes exec'd into a
 * running container. Everything here runs in the shim; the children it
 * creates report back over a CLOEXEC socket (an error line, a pty master
 * by SCM_RIGHTS, or EOF once execve succeeded).
 */
#ifndef SHOAL_RUNTIME_H
#define SHOAL_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

struct rt_mount {
	char *type;             /* "bind" | "tmpfs" */
	char *source;
	char *destination;      /* absolute, inside the container */
	char **options;         /* NULL-terminated */
};

/* [ext] "resources": Docker's HostConfig limits (0 = not set). */
struct rt_resources {
	int64_t memory;         /* bytes -> memory.max */
	int64_t memory_swap;    /* memory + swap, -1 unlimited -> memory.swap.max */
	int64_t nano_cpus;      /* 1e9 = one CPU -> cpu.max */
	int64_t cpu_shares;     /* 2..262144 -> cpu.weight */
	int64_t pids_limit;     /* > 0 -> pids.max */
};

/* [ext] "ulimits": [{"name":"nofile","soft":N,"hard":N}] (Docker --ulimit). */
struct rt_rlimit {
	int resource;           /* RLIMIT_* */
	uint64_t soft, hard;
};

#define RT_MAX_RLIMITS 16

struct rt_config {
	char *id;
	char *rootfs;
	char **args;            /* NULL-terminated, non-empty */
	char **env;             /* NULL-terminated */
	char *cwd, *user, *hostname;
	bool tty, open_stdin, stdin_once;
	char *netns;            /* path | "" (new, lo up) | "host" */
	struct rt_mount *mounts;
	size_t n_mounts;
	char *log_path;
	int64_t log_max_size;   /* [ext] json-file max-size (0: no rotation) */
	int log_max_files;      /* [ext] json-file max-file (default 1) */
	char *cgroup;           /* "" = none */
	struct rt_resources res;
	struct rt_rlimit rlimits[RT_MAX_RLIMITS];
	size_t n_rlimits;
	int oom_score_adj;      /* [ext] default 0 (the shim keeps -998) */
	int64_t shm_size;       /* [ext] bytes of /dev/shm, default 64 MiB */
	bool readonly_rootfs;   /* [ext] Docker's --read-only */
	bool seccomp;           /* [ext] "seccomp": false = unconfined */
	bool privileged;        /* [ext] all caps and devices, no masks */
	bool hold;              /* [ext] init waits before execve for "start" */
	uint64_t caps;          /* bit per capability: Docker's default set
				 * with [ext] cap_add / cap_drop applied */
};

/* Docker's default capability set as a mask. */
uint64_t rt_caps_default(void);

int rt_config_load(const char *path, struct rt_config *cfg, struct shoal_err *err);
void rt_config_free(struct rt_config *cfg);

/* What one started process looks like from the shim. */
struct rt_proc {
	pid_t pid;              /* host pid */
	int in_w;               /* write end of its stdin, -1 if none */
	int out_r, err_r;       /* read ends (tty: out_r is the master) */
	int master;             /* pty master or -1 (same fd as out_r) */
	int held;               /* [ext] hold: sync socket of an init waiting
				 * before its execve, else -1 */
};

/* A process to exec into the container (shim "exec" op). */
struct rt_exec_spec {
	char **args;            /* NULL-terminated, non-empty */
	char **env;             /* NULL-terminated */
	const char *cwd;        /* "" -> the container's */
	const char *user;       /* "" -> the container's */
	bool tty, open_stdin;
};

/*
 * Start the container's init. cgroup: directory to put it in before it
 * runs, or NULL. On failure *code is 126 (not executable), 127 (not
 * found) or 125 (anything else) and err names the problem; nothing is
 * left running.
 */
int rt_container_start(const struct rt_config *cfg, const char *cgroup, struct rt_proc *out,
		       int *code, struct shoal_err *err);

/* Let a held init (cfg->hold) execve: 0 once it did, else -1 with *code
 * (126/127/125) and err; the init then exits with that code. */
int rt_container_release(struct rt_proc *init, int *code, struct shoal_err *err);

/*
 * Start a process in the namespaces and root of init_pid, without
 * blocking on its setup (its cwd or /etc/passwd may sit on a slow
 * filesystem): rt_exec_begin forks it and lets it go; each time
 * pend->sync is readable, rt_exec_step reads its report: 1 not done
 * yet, 0 exec'd (*out filled), < 0 failed (*code 126/127/125, err; the
 * process is reaped). rt_exec_abort kills a pending one (e.g. timeout).
 * pend->reaped: set it when the pid was reaped elsewhere (a subreaper's
 * waitpid(-1)) so the pid is never signalled after reuse.
 */
struct rt_pending {
	pid_t pid;
	int sync;
	int in_w, out_r, err_r;         /* the shim's ends (no tty) */
	int master;                     /* tty: received from the child */
	bool tty, reaped;
	int status;                     /* wait status when reaped */
};

int rt_exec_begin(const struct rt_config *cfg, pid_t init_pid, const struct rt_exec_spec *spec,
		  const char *cgroup, struct rt_pending *pend, int *code, struct shoal_err *err);
int rt_exec_step(struct rt_pending *pend, struct rt_proc *out, int *code, struct shoal_err *err);
void rt_exec_abort(struct rt_pending *pend);

/* cgroup v2: create path under a cgroup2 mount, enable memory/cpu/pids in
 * its parents where possible. -errno with a reason when not possible. */
int rt_cgroup_create(const char *path, struct shoal_err *err);
int rt_cgroup_add(const char *path, pid_t pid, struct shoal_err *err);
/* Write the limits; a limit whose controller is missing is skipped and
 * named in *skipped (like Docker's "Limitation discarded"). */
int rt_cgroup_limits(const char *path, const struct rt_resources *r, char *skipped, size_t len,
		     struct shoal_err *err);
bool rt_resources_set(const struct rt_resources *r);
bool rt_cgroup_oom_killed(const char *path);
/* cgroup.freeze = 1/0, waiting (1 s at most) for cgroup.events to agree. */
int rt_cgroup_freeze(const char *path, bool frozen, struct shoal_err *err);
void rt_cgroup_remove(const char *path);
/* Without a unified hierarchy: the v1 freezer at /sys/fs/cgroup/freezer.
 * Freezing moves every process of init_pid's pid namespace into
 * shoal/<id> there and freezes it (1 s at most); thawing thaws it. */
bool rt_freezer_v1_available(void);
int rt_freezer_v1(const char *id, pid_t init_pid, bool frozen, struct shoal_err *err);
void rt_freezer_v1_remove(const char *id);

/* Write /proc/self/oom_score_adj. */
int rt_oom_score_adj(int v, struct shoal_err *err);

/* Signal every process whose pid namespace is init_pid's; the number
 * signalled. sig 0: the number of them not stopped (yet). */
int rt_kill_all(pid_t init_pid, int sig);
/* The (host) pids of init_pid's pid namespace, up to max: how many. */
int rt_pidns_pids(pid_t init_pid, pid_t *out, int max);

#endif
