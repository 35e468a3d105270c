// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup.c - the container's cgroup v2 directory: created under a
 * cgroup2 mount, memory/cpu/pids enabled in every parent from the mount
 * root down (best effort: a controller taken by v1 stays off), processes
 * added by pid, removed after the container exited.
 *
 * Hybrid hosts (controllers on cgroup v1, a controller-less cgroup2 at
 * /sys/fs/cgroup/unified): each of memory, cpu, cpuacct, pids that the
 * cgroup2 directory lacks but a v1 hierarchy has gets a directory at the
 * same relative path there (as Docker on v1); processes join it too, the
 * limits and the OOM count use the v1 files, and it goes with the v2 one.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "../common/cgroup1.h"
#include "../common/util.h"
#include "runtime.h"

static int write_file(const char *path, const char *val)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(val);

	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		return -errno;
	return 0;
}

/* The deepest existing ancestor of path must be on cgroup2. */
static int check_cgroup2(const char *path, char *mnt_root, size_t len, struct shoal_err *err)
{
	char dir[PATH_MAX];
	struct statfs sfs;

	snprintf(dir, sizeof(dir), "%s", path);
	while (statfs(dir, &sfs) < 0) {
		char *s = strrchr(dir, '/');

		if (errno != ENOENT || !s || s == dir)
			return err_set(err, errno, "cgroup %s: %s", dir, strerror(errno));
		*s = '\0';
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return err_set(err, ENOTSUP, "%s is not on a cgroup2 filesystem", dir);
	/* Walk up to the top of the cgroup2 mount (where cgroup.controllers
	 * has no parent on cgroup2). */
	for (;;) {
		char up[PATH_MAX], *s;

		snprintf(up, sizeof(up), "%s", dir);
		s = strrchr(up, '/');
		if (!s || s == up)
			break;
		*s = '\0';
		if (statfs(up, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
			break;
		snprintf(dir, sizeof(dir), "%s", up);
	}
	snprintf(mnt_root, len, "%s", dir);
	return 0;
}

/* "+memory" etc. in the subtree_control of every cgroup from the mount
 * root down to path's parent; each one that fails is left off. */
static void enable_controllers(const char *root, const char *path)
{
	static const char *ctrls[] = { "+memory", "+cpu", "+pids" };
	char dir[PATH_MAX], file[PATH_MAX + 32];
	size_t rlen = strlen(root);
	const char *p = path + rlen;

	snprintf(dir, sizeof(dir), "%s", root);
	for (;;) {
		const char *next = strchr(p + 1, '/');

		if (!next)
			break;          /* dir is path's parent */
		snprintf(file, sizeof(file), "%s/cgroup.subtree_control", dir);
		for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++)
			write_file(file, ctrls[i]);
		snprintf(dir, sizeof(dir), "%.*s", (int)(next - path), path);
		mkdir(dir, 0755);
		p = next;
	}
	snprintf(file, sizeof(file), "%s/cgroup.subtree_control", dir);
	for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++)
		write_file(file, ctrls[i]);
}

/* ---- v1 hierarchies for what the cgroup2 tree lacks ---------------------- */

enum { V1_MEMORY, V1_CPU, V1_CPUACCT, V1_PIDS, V1_N };
static const char *const v1_ctrl[V1_N] = { "memory", "cpu", "cpuacct", "pids" };
/* The cgroup2 controller standing for each (cpu.stat covers cpuacct). */
static const char *const v2_ctrl[V1_N] = { "memory", "cpu", "cpu", "pids" };

struct v1_dirs {
	char d[V1_N][PATH_MAX];         /* "" when the controller is not on v1 for us */
};

/* The v1 directories path uses: those that exist (v1_create made them). */
static void v1_find(const char *path, struct v1_dirs *v)
{
	char root[PATH_MAX];

	memset(v, 0, sizeof(*v));
	if (check_cgroup2(path, root, sizeof(root), NULL) < 0 || strncmp(path, root, strlen(root)))
		return;
	for (int i = 0; i < V1_N; i++)
		if (cg1_dir(v1_ctrl[i], path + strlen(root), v->d[i], sizeof(v->d[i])) < 0)
			v->d[i][0] = '\0';
}

/* mkdir -p below the hierarchy's mount (whose own directory exists). */
static int v1_mkdir(const char *mnt, const char *dir, struct shoal_err *err)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + strlen(mnt) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s: %s", p, strerror(errno));
	return 0;
}

/* Is ctrl in the cgroup2 directory's cgroup.controllers? */
static bool v2_has(const char *path, const char *ctrl)
{
	char file[PATH_MAX + 32], line[512], *tok, *save;
	FILE *f;
	bool found = false;

	snprintf(file, sizeof(file), "%s/cgroup.controllers", path);
	f = fopen(file, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			if (!strcmp(tok, ctrl))
				found = true;
	fclose(f);
	return found;
}

static int v1_create(const char *path, const char *rel, struct shoal_err *err)
{
	char mnt[PATH_MAX], dir[PATH_MAX * 2];

	for (int i = 0; i < V1_N; i++) {
		int ret;

		if (v2_has(path, v2_ctrl[i]) || cg1_mount(v1_ctrl[i], mnt, sizeof(mnt)) < 0)
			continue;
		snprintf(dir, sizeof(dir), "%s%s", mnt, rel);
		ret = v1_mkdir(mnt, dir, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int rt_cgroup_create(const char *path, struct shoal_err *err)
{
	char root[PATH_MAX];
	int ret;

	if (path[0] != '/')
		return err_set(err, EINVAL, "cgroup \"%s\" must be an absolute path", path);
	ret = check_cgroup2(path, root, sizeof(root), err);
	if (ret < 0)
		return ret;
	if (strncmp(path, root, strlen(root)))
		return err_set(err, EINVAL, "cgroup %s is outside the cgroup2 mount %s", path, root);
	enable_controllers(root, path);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s: %s", path, strerror(errno));
	if (access(path, W_OK) < 0)
		return err_set(err, errno, "cgroup %s: %s", path, strerror(errno));
	ret = v1_create(path, path + strlen(root), err);
	if (ret < 0)
		rt_cgroup_remove(path);
	return ret;
}

int rt_cgroup_add(const char *path, pid_t pid, struct shoal_err *err)
{
	char file[PATH_MAX + 16], val[16];
	int ret;

	struct v1_dirs v1;

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	snprintf(val, sizeof(val), "%d", (int)pid);
	ret = write_file(file, val);
	if (ret < 0)
		return err_set(err, -ret, "add %d to %s: %s", (int)pid, file, strerror(-ret));
	v1_find(path, &v1);
	for (int i = 0; i < V1_N; i++) {
		if (!v1.d[i][0])
			continue;
		snprintf(file, sizeof(file), "%s/cgroup.procs", v1.d[i]);
		ret = write_file(file, val);
		if (ret < 0)
			return err_set(err, -ret, "add %d to %s: %s", (int)pid, file, strerror(-ret));
	}
	return 0;
}

bool rt_resources_set(const struct rt_resources *r)
{
	return r->memory || r->memory_swap || r->nano_cpus || r->cpu_shares || r->pids_limit;
}

static void skip_note(char *skipped, size_t len, const char *what)
{
	size_t n = strlen(skipped);

	snprintf(skipped + n, len - n, "%s%s", n ? ", " : "", what);
}

/* One limit: -ENOENT (controller off) is noted, other errors fail. */
static int limit_write(const char *path, const char *file, const char *val, char *skipped,
		       size_t len, struct shoal_err *err)
{
	char p[PATH_MAX + 32];
	int ret;

	snprintf(p, sizeof(p), "%s/%s", path, file);
	ret = write_file(p, val);
	if (ret == -ENOENT) {
		skip_note(skipped, len, file);
		return 0;
	}
	if (ret < 0)
		return err_set(err, -ret, "write %s to %s: %s", val, p, strerror(-ret));
	return 0;
}

/* v1 memory: memory.limit_in_bytes, and memory.memsw.limit_in_bytes
 * (memory + swap, Docker's --memory-swap) when swap accounting is on. */
static int v1_memory(const char *dir, const struct rt_resources *r, char *skipped, size_t len,
		     struct shoal_err *err)
{
	char v[64], f[PATH_MAX + 40];
	int ret;

	snprintf(v, sizeof(v), "%lld", (long long)r->memory);
	ret = limit_write(dir, "memory.limit_in_bytes", v, skipped, len, err);
	snprintf(f, sizeof(f), "%s/memory.memsw.limit_in_bytes", dir);
	if (ret < 0 || access(f, F_OK) < 0) {
		if (!ret && r->memory_swap)
			skip_note(skipped, len, "memory.memsw.limit_in_bytes (swap accounting off)");
		return ret;
	}
	/* Docker: unset = twice the memory, -1 = unlimited. */
	snprintf(v, sizeof(v), "%lld", r->memory_swap < 0 ? -1LL : (long long)(r->memory_swap ?
		 r->memory_swap : 2 * r->memory));
	return limit_write(dir, "memory.memsw.limit_in_bytes", v, skipped, len, err);
}

static int v1_cpu(const char *dir, const struct rt_resources *r, char *skipped, size_t len,
		  struct shoal_err *err)
{
	char v[64];
	int ret = 0;

	if (r->nano_cpus) {
		snprintf(v, sizeof(v), "%lld", (long long)(r->nano_cpus / 10000));
		ret = limit_write(dir, "cpu.cfs_period_us", "100000", skipped, len, err);
		if (!ret)
			ret = limit_write(dir, "cpu.cfs_quota_us", v, skipped, len, err);
	}
	if (!ret && r->cpu_shares) {
		snprintf(v, sizeof(v), "%lld", (long long)r->cpu_shares);
		ret = limit_write(dir, "cpu.shares", v, skipped, len, err);
	}
	return ret;
}

static int v2_memory(const char *path, const struct rt_resources *r, char *skipped, size_t len,
		     struct shoal_err *err)
{
	char v[64];
	int ret;

	snprintf(v, sizeof(v), "%lld", (long long)r->memory);
	ret = limit_write(path, "memory.max", v, skipped, len, err);
	/* Docker: without --memory-swap, swap = memory (total 2x). */
	if (!ret && r->memory_swap >= 0)
		snprintf(v, sizeof(v), "%lld", (long long)(r->memory_swap ?
			 r->memory_swap - r->memory : r->memory));
	if (!ret)
		ret = limit_write(path, "memory.swap.max", r->memory_swap < 0 ? "max" : v,
				  skipped, len, err);
	return ret;
}

static int v2_cpu(const char *path, const struct rt_resources *r, char *skipped, size_t len,
		  struct shoal_err *err)
{
	char v[64];
	int ret = 0;

	if (r->nano_cpus) {
		snprintf(v, sizeof(v), "%lld 100000", (long long)(r->nano_cpus / 10000));
		ret = limit_write(path, "cpu.max", v, skipped, len, err);
	}
	if (!ret && r->cpu_shares) {
		long long sh = r->cpu_shares < 2 ? 2 : r->cpu_shares > 262144 ? 262144 : r->cpu_shares;

		/* runc's ConvertCPUSharesToCgroupV2Value */
		snprintf(v, sizeof(v), "%lld", 1 + ((sh - 2) * 9999) / 262142);
		ret = limit_write(path, "cpu.weight", v, skipped, len, err);
	}
	return ret;
}

int rt_cgroup_limits(const char *path, const struct rt_resources *r, char *skipped, size_t len,
		     struct shoal_err *err)
{
	struct v1_dirs v1;
	char v[64];
	int ret = 0;

	skipped[0] = '\0';
	v1_find(path, &v1);
	if (r->memory)
		ret = v1.d[V1_MEMORY][0] ? v1_memory(v1.d[V1_MEMORY], r, skipped, len, err) :
		      v2_memory(path, r, skipped, len, err);
	if (!ret && (r->nano_cpus || r->cpu_shares))
		ret = v1.d[V1_CPU][0] ? v1_cpu(v1.d[V1_CPU], r, skipped, len, err) :
		      v2_cpu(path, r, skipped, len, err);
	if (!ret && r->pids_limit) {
		if (r->pids_limit > 0)
			snprintf(v, sizeof(v), "%lld", (long long)r->pids_limit);
		/* pids.max: the same file on v1 and v2 */
		ret = limit_write(v1.d[V1_PIDS][0] ? v1.d[V1_PIDS] : path, "pids.max",
				  r->pids_limit > 0 ? v : "max", skipped, len, err);
	}
	return ret;
}

int rt_cgroup_freeze(const char *path, bool frozen, struct shoal_err *err)
{
	char file[PATH_MAX + 16], line[128], want[16];
	int ret;

	snprintf(file, sizeof(file), "%s/cgroup.freeze", path);
	ret = write_file(file, frozen ? "1" : "0");
	if (ret < 0)
		return err_set(err, -ret, "write %s: %s", file, strerror(-ret));
	snprintf(file, sizeof(file), "%s/cgroup.events", path);
	snprintf(want, sizeof(want), "frozen %d", frozen);
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(file, "re");
		bool done = false;

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, want, strlen(want)))
				done = true;
		if (f)
			fclose(f);
		if (done)
			return 0;
		usleep(10000);
	}
	return err_set(err, ETIMEDOUT, "cgroup %s: not %s after 1 s", path,
		       frozen ? "frozen" : "thawed");
}

/* The counter "key N" of a flat-keyed file: N, or -1 without it. */
static long read_key(const char *dir, const char *name, const char *key)
{
	char file[PATH_MAX + 32], line[128], k[64];
	long v, found = -1;
	FILE *f;

	snprintf(file, sizeof(file), "%s/%s", dir, name);
	f = fopen(file, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", k, &v) == 2 && !strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

bool rt_cgroup_oom_killed(const char *path)
{
	char file[PATH_MAX + 32], line[64];
	struct v1_dirs v1;
	bool oom = false;
	long n;
	FILE *f;

	v1_find(path, &v1);
	if (!v1.d[V1_MEMORY][0])
		return read_key(path, "memory.events", "oom_kill") > 0;
	/* v1: oom_control's oom_kill (4.13+), else the limit's failcnt. */
	n = read_key(v1.d[V1_MEMORY], "memory.oom_control", "oom_kill");
	if (n >= 0)
		return n > 0;
	snprintf(file, sizeof(file), "%s/memory.failcnt", v1.d[V1_MEMORY]);
	f = fopen(file, "re");
	if (f && fgets(line, sizeof(line), f))
		oom = atol(line) > 0;
	if (f)
		fclose(f);
	return oom;
}

static void remove_dir(const char *path)
{
	/* The last processes can take a moment to leave after init's exit. */
	for (int i = 0; i < 50; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		usleep(20000);
	}
}

void rt_cgroup_remove(const char *path)
{
	struct v1_dirs v1;

	v1_find(path, &v1);
	remove_dir(path);
	for (int i = 0; i < V1_N; i++)
		if (v1.d[i][0])
			remove_dir(v1.d[i]);
}

/* ---- cgroup v1 freezer (hosts with no cgroup2 mount for the container) ---- */

#define FREEZER_V1 "/sys/fs/cgroup/freezer"

bool rt_freezer_v1_available(void)
{
	struct statfs sfs;

	return statfs(FREEZER_V1, &sfs) == 0 && sfs.f_type == CGROUP_SUPER_MAGIC &&
	       access(FREEZER_V1 "/cgroup.procs", W_OK) == 0;
}

static int freezer_state(const char *dir, const char *want)
{
	char file[PATH_MAX + 16], buf[32] = "";

	snprintf(file, sizeof(file), "%s/freezer.state", dir);
	for (int i = 0; i < 200; i++) {
		_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (n > 0) {
			buf[n] = '\0';
			if (!strncmp(buf, want, strlen(want)))
				return 0;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Move every process of init_pid's pid namespace into dir; the number
 * moved that were not there yet (tasks attached to a FROZEN v1 cgroup
 * are frozen on attach). */
static int freezer_gather(const char *dir, pid_t init_pid)
{
	char file[PATH_MAX + 16], cg[PATH_MAX + 32], want[PATH_MAX + 16], line[PATH_MAX];
	pid_t pids[4096];
	int n = rt_pidns_pids(init_pid, pids, 4096), moved = 0;

	if (n < 0)
		return n;
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	snprintf(want, sizeof(want), ":freezer:%s", dir + strlen(FREEZER_V1));
	for (int i = 0; i < n; i++) {
		bool there = false;
		FILE *f;

		snprintf(cg, sizeof(cg), "/proc/%d/cgroup", (int)pids[i]);
		f = fopen(cg, "re");
		while (f && fgets(line, sizeof(line), f)) {
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = '\0';
			if (strstr(line, want) && strlen(strstr(line, want)) == strlen(want))
				there = true;
		}
		if (f)
			fclose(f);
		if (there)
			continue;
		snprintf(cg, sizeof(cg), "%d", (int)pids[i]);
		if (write_file(file, cg) == 0)
			moved++;
	}
	return moved;
}

int rt_freezer_v1(const char *id, pid_t init_pid, bool frozen, struct shoal_err *err)
{
	char dir[PATH_MAX], state[PATH_MAX + 16];
	int r;

	snprintf(dir, sizeof(dir), FREEZER_V1 "/shoal/%s", id);
	snprintf(state, sizeof(state), "%s/freezer.state", dir);
	if (!frozen) {
		r = write_file(state, "THAWED");
		if (r == 0)
			r = freezer_state(dir, "THAWED");
		return r < 0 ? err_set(err, -r, "freezer %s: thaw: %s", dir, strerror(-r)) : 0;
	}
	if ((mkdir(FREEZER_V1 "/shoal", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0755) < 0 && errno != EEXIST))
		return err_set(err, errno, "freezer %s: %s", dir, strerror(errno));
	r = freezer_gather(dir, init_pid);
	if (r >= 0)
		r = write_file(state, "FROZEN");
	if (r >= 0)
		r = freezer_state(dir, "FROZEN");
	/* A process forked while we gathered: attach it (frozen on attach),
	 * until a round finds none. */
	for (int i = 0; r >= 0 && i < 10; i++) {
		r = freezer_gather(dir, init_pid);
		if (r == 0)
			break;
	}
	if (r < 0)
		return err_set(err, -r, "freezer %s: freeze: %s", dir, strerror(-r));
	return 0;
}

void rt_freezer_v1_remove(const char *id)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), FREEZER_V1 "/shoal/%s", id);
	remove_dir(dir);
}
