// SPDX-License-Identifier: Apache-2.0
/*
 * container_stats.c - top (the processes of a container's pid namespace,
 * through ps as Docker does) and stats (network counters from the
 * endpoints' ep_stats entries; CPU, memory and pids from the cgroup v2
 * files when the container has a cgroup, else summed over its
 * processes from /proc).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/cgroup1.h"
#include "../common/log.h"
#include "../common/util.h"
#include "api.h"
#include "container.h"
#include "daemon.h"

/* ---- the processes of a container ------------------------------------------------ */

struct pidset {
	int *v;
	size_t n, cap;
};

static void pidset_add(struct pidset *s, int pid)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		int *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = pid;
}

static bool pidset_has(const struct pidset *s, int pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == pid)
			return true;
	return false;
}

/* Every process in the pid namespace of init_pid. */
static int container_pids(int init_pid, struct pidset *out, struct shoal_err *err)
{
	char p[300], target[128], link[128];
	struct dirent *de;
	ssize_t n;
	DIR *dp;

	snprintf(p, sizeof(p), "/proc/%d/ns/pid", init_pid);
	n = readlink(p, target, sizeof(target) - 1);
	if (n < 0)
		return err_set(err, errno, "container init %d: %s", init_pid, strerror(errno));
	target[n] = '\0';
	dp = opendir("/proc");
	if (!dp)
		return err_set(err, errno, "/proc: %s", strerror(errno));
	while ((de = readdir(dp))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(p, sizeof(p), "/proc/%s/ns/pid", de->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, target) == 0)
			pidset_add(out, atoi(de->d_name));
	}
	closedir(dp);
	return 0;
}

/* The running container's init pid (d->lock taken here). */
static int running_init(struct daemon *d, const char *ref, char id[65], char name[300],
			int *pid, struct shoal_err *err)
{
	struct st_container c;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret == 0) {
		memcpy(id, c.id, 65);
		if (name)
			snprintf(name, 300, "/%s", c.name);
		*pid = c.pid;
		if (strcmp(c.status, "running") != 0 || c.pid <= 0)
			ret = err_set(err, EBUSY, "Container %s is not running", c.id);
		st_container_free(&c);
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* ---- top ----------------------------------------------------------------------- */

/* Run ps with args (split on blanks, never through a shell); its output. */
static char *run_ps(const char *ps_args, struct shoal_err *err)
{
	char *argv[64], *copy = strdup(ps_args), *save = NULL, *tok;
	char *out = NULL;
	size_t len = 0, cap = 0;
	int argc = 0, p[2], st;
	pid_t pid;

	if (!copy)
		return NULL;
	argv[argc++] = "ps";
	for (tok = strtok_r(copy, " \t", &save); tok && argc < 62; tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(copy);
		err_set(err, errno, "pipe: %s", strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		int nul = open("/dev/null", O_RDWR);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(p[1], 1);
		if (nul >= 0)
			dup2(nul, 0), dup2(nul, 2);
		execvp("ps", argv);
		_exit(127);
	}
	close(p[1]);
	free(copy);
	if (pid < 0) {
		close(p[0]);
		err_set(err, errno, "fork: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (len + 4096 + 1 > cap) {
			char *nb = realloc(out, cap + 65536);
			if (!nb)
				break;
			out = nb;
			cap += 65536;
		}
		r = read(p[0], out + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out);
		err_set(err, EINVAL, "ps %s failed (exit %d)", ps_args,
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return NULL;
	}
	if (out)
		out[len] = '\0';
	return out;
}

static json_t *split_fields(char *line, size_t max)
{
	json_t *a = json_array();
	char *p = line;

	while (*p) {
		char *s;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (max && json_array_size(a) == max - 1) {
			json_array_append_new(a, json_string(p));
			break;
		}
		s = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
		json_array_append_new(a, json_string(s));
	}
	return a;
}

int ctr_top_json(struct daemon *d, const char *ref, const char *ps_args, json_t **out,
		 struct shoal_err *err)
{
	struct pidset pids = { 0 };
	char id[65], *text, *line, *save = NULL;
	json_t *titles = NULL, *procs;
	int init, ret, pid_col = -1;
	size_t i;
	json_t *t;

	ret = running_init(d, ref, id, NULL, &init, err);
	if (ret < 0)
		return ret;
	ret = container_pids(init, &pids, err);
	if (ret < 0)
		return ret;
	text = run_ps(ps_args && *ps_args ? ps_args : "-ef", err);
	if (!text) {
		free(pids.v);
		return -(err->code ? err->code : EINVAL);
	}
	procs = json_array();
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *f;
		int pid;

		if (!titles) {
			titles = split_fields(line, 0);
			json_array_foreach(titles, i, t)
				if (strcmp(json_string_value(t), "PID") == 0)
					pid_col = (int)i;
			if (pid_col < 0) {
				ret = err_set(err, EINVAL, "Couldn't find PID field in ps output");
				break;
			}
			continue;
		}
		f = split_fields(line, json_array_size(titles));
		pid = atoi(json_string_value(json_array_get(f, (size_t)pid_col)) ?: "0");
		if (pidset_has(&pids, pid))
			json_array_append_new(procs, f);
		else
			json_decref(f);
	}
	free(text);
	free(pids.v);
	if (ret < 0 || !titles) {
		json_decref(titles);
		json_decref(procs);
		return ret < 0 ? ret : err_set(err, EINVAL, "ps printed nothing");
	}
	*out = json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs);
	return 0;
}

/* ---- stats ---------------------------------------------------------------------- */

struct sample {
	uint64_t cpu_ns, user_ns, sys_ns, system_ns, mem, mem_limit;
	uint64_t pids;
	bool ok;
};

static uint64_t system_cpu_ns(void)
{
	FILE *f = fopen("/proc/stat", "re");
	unsigned long long v[10] = { 0 }, sum = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) >= 4)
		for (int i = 0; i < 8; i++)
			sum += v[i];
	fclose(f);
	return hz > 0 ? sum * (1000000000ULL / (unsigned long long)hz) : 0;
}

static uint64_t mem_total(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;

	if (f) {
		if (fscanf(f, "MemTotal: %llu kB", &kb) != 1)
			kb = 0;
		fclose(f);
	}
	return kb * 1024;
}

static void sample_procs(int init, struct sample *s)
{
	struct pidset pids = { 0 };
	long hz = sysconf(_SC_CLK_TCK);

	memset(s, 0, sizeof(*s));
	s->system_ns = system_cpu_ns();
	s->mem_limit = mem_total();
	if (container_pids(init, &pids, NULL) < 0)
		return;
	for (size_t i = 0; i < pids.n; i++) {
		char p[64], buf[1024], *rp;
		unsigned long long ut = 0, stt = 0;
		int fd;
		ssize_t n;

		snprintf(p, sizeof(p), "/proc/%d/stat", pids.v[i]);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		rp = strrchr(buf, ')');
		/* fields after ")": state(3) ... utime(14) stime(15) */
		if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
				 &stt) == 2 && hz > 0) {
			s->user_ns += ut * (1000000000ULL / (unsigned long long)hz);
			s->sys_ns += stt * (1000000000ULL / (unsigned long long)hz);
		}
		snprintf(p, sizeof(p), "/proc/%d/statm", pids.v[i]);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			unsigned long long size = 0, rss = 0;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = '\0';
				if (sscanf(buf, "%llu %llu", &size, &rss) == 2)
					s->mem += rss * (unsigned long long)getpagesize();
			}
		}
	}
	s->cpu_ns = s->user_ns + s->sys_ns;
	s->pids = pids.n;
	s->ok = true;
	free(pids.v);
}

static uint64_t cg_read_u64(const char *dir, const char *file, const char *key, bool *ok)
{
	char p[300], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char k[64];
		if (!key) {
			if (sscanf(line, "%llu", &v) == 1)
				*ok = true;
			break;
		}
		if (sscanf(line, "%63s %llu", k, &v) == 2 && strcmp(k, key) == 0) {
			*ok = true;
			break;
		}
		v = 0;
	}
	fclose(f);
	return v;
}

/* Docker's v1 figures, for what the cgroup2 directory lacks: cpuacct
 * (ns), memory.usage_in_bytes less the inactive page cache, the limit,
 * pids.current. */
static void sample_cgroup1(const char *id, struct sample *s, bool cpu, bool mem, bool pids)
{
	char rel[96], d[4200];
	bool ok = false;
	uint64_t v, inactive;

	snprintf(rel, sizeof(rel), "/shoal/%s", id);
	if (cpu && cg1_dir("cpuacct", rel, d, sizeof(d)) == 0) {
		v = cg_read_u64(d, "cpuacct.usage", NULL, &ok);
		if (ok) {
			s->cpu_ns = v;
			s->user_ns = cg_read_u64(d, "cpuacct.usage_user", NULL, &ok);
			s->sys_ns = cg_read_u64(d, "cpuacct.usage_sys", NULL, &ok);
		}
	}
	ok = false;
	if (mem && cg1_dir("memory", rel, d, sizeof(d)) == 0) {
		v = cg_read_u64(d, "memory.usage_in_bytes", NULL, &ok);
		if (ok) {
			inactive = cg_read_u64(d, "memory.stat", "total_inactive_file", &ok);
			s->mem = v > inactive ? v - inactive : v;
		}
		ok = false;
		v = cg_read_u64(d, "memory.limit_in_bytes", NULL, &ok);
		if (ok && v < s->mem_limit)
			s->mem_limit = v;
	}
	ok = false;
	if (pids && cg1_dir("pids", rel, d, sizeof(d)) == 0) {
		v = cg_read_u64(d, "pids.current", NULL, &ok);
		if (ok)
			s->pids = v;
	}
}

/* The cgroup v2 files, when the container has a cgroup: they count
 * what exited processes used too. */
static void sample_cgroup(const char *id, struct sample *s)
{
	char cg[128];
	bool ok = false, cpu, mem;
	uint64_t v;

	ctr_cgroup_path(id, cg, sizeof(cg));
	if (!cg[0] || access(cg, F_OK) < 0)
		return;
	v = cg_read_u64(cg, "cpu.stat", "usage_usec", &ok);
	if (ok) {
		s->cpu_ns = v * 1000;
		s->user_ns = cg_read_u64(cg, "cpu.stat", "user_usec", &ok) * 1000;
		s->sys_ns = cg_read_u64(cg, "cpu.stat", "system_usec", &ok) * 1000;
	}
	cpu = !ok;
	ok = false;
	v = cg_read_u64(cg, "memory.current", NULL, &ok);
	if (ok)
		s->mem = v;
	mem = !ok;
	ok = false;
	v = cg_read_u64(cg, "memory.max", NULL, &ok);
	if (ok && v < s->mem_limit)
		s->mem_limit = v;
	ok = false;
	v = cg_read_u64(cg, "pids.current", NULL, &ok);
	if (ok)
		s->pids = v;
	if (cpu || mem || !ok)
		sample_cgroup1(id, s, cpu, mem, !ok);
}

static json_t *cpu_json(const struct sample *s)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	return json_pack("{s:{s:I, s:I, s:I}, s:I, s:i, s:{s:i, s:i, s:i}}", "cpu_usage",
			 "total_usage", (json_int_t)s->cpu_ns, "usage_in_kernelmode",
			 (json_int_t)s->sys_ns, "usage_in_usermode", (json_int_t)s->user_ns,
			 "system_cpu_usage", (json_int_t)s->system_ns, "online_cpus", (int)ncpu,
			 "throttling_data", "periods", 0, "throttled_periods", 0, "throttled_time", 0);
}

static json_t *networks_json(struct daemon *d, const char *id)
{
	struct st_endpoint *eps = NULL;
	json_t *nets = json_object();
	size_t n = 0;
	int k = 0;

	pthread_mutex_lock(&d->lock);
	if (state_endpoint_list(d->st, NULL, &eps, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct shoal_ep_stats s = { 0 };
			uint64_t drops = 0;
			char name[16];

			if (eps[i].remote || strcmp(eps[i].container_id, id) != 0)
				continue;
			loader_stats_read(&d->bpf, eps[i].ep_id, &s, NULL);
			for (int r = 0; r < SHOAL_DROP_MAX; r++)
				drops += s.drops[r];
			snprintf(name, sizeof(name), "eth%d", k++);
			json_object_set_new(nets, name, json_pack(
				"{s:I, s:I, s:i, s:I, s:I, s:I, s:i, s:i}",
				"rx_bytes", (json_int_t)s.rx_bytes, "rx_packets", (json_int_t)s.rx_packets,
				"rx_errors", 0, "rx_dropped", (json_int_t)drops,
				"tx_bytes", (json_int_t)s.tx_bytes, "tx_packets", (json_int_t)s.tx_packets,
				"tx_errors", 0, "tx_dropped", 0));
		}
		free(eps);
	}
	pthread_mutex_unlock(&d->lock);
	return nets;
}

static json_t *stats_json(struct daemon *d, const char *id, const char *name,
			  const struct sample *now, const struct sample *pre, int64_t pre_ns)
{
	char t[40], pt[40];

	ctr_time_str(ctr_now_ns(), t);
	ctr_time_str(pre_ns, pt);
	return json_pack("{s:s, s:s, s:{s:I}, s:{}, s:i, s:{}, s:o, s:o, s:{s:I, s:I, s:{}}, s:s, s:s, s:o}",
			 "read", t, "preread", pre_ns ? pt : "0001-01-01T00:00:00Z", "pids_stats",
			 "current", (json_int_t)now->pids, "blkio_stats", "num_procs", 0,
			 "storage_stats", "cpu_stats", cpu_json(now), "precpu_stats", cpu_json(pre),
			 "memory_stats", "usage", (json_int_t)now->mem, "limit",
			 (json_int_t)now->mem_limit, "stats", "name", name, "id", id, "networks",
			 networks_json(d, id));
}

struct stats_job {
	struct daemon *d;
	char id[65], name[300];
	int init;
	bool stream;
	int fd;
};

static void *stats_thread(void *arg)
{
	struct stats_job *j = arg;
	struct sample pre = { 0 }, now;
	int64_t pre_ns = 0;

	for (;;) {
		json_t *s;
		char *text;
		bool alive;
		int ret = 0;

		sample_procs(j->init, &now);
		if (j->init > 0)
			sample_cgroup(j->id, &now);
		s = stats_json(j->d, j->id, j->name, &now, &pre, pre_ns);
		text = json_dumps(s, JSON_COMPACT);
		json_decref(s);
		if (text) {
			size_t len = strlen(text);
			text[len] = '\n';
			for (size_t off = 0; off <= len && ret == 0;) {
				ssize_t w = write(j->fd, text + off, len + 1 - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					ret = -1;
				else
					off += (size_t)w;
			}
			free(text);
		}
		if (ret < 0 || !j->stream)
			break;
		pre = now;
		pre_ns = ctr_now_ns();
		sleep(1);
		{
			char id[65];
			int pid;
			alive = running_init(j->d, j->id, id, NULL, &pid, NULL) == 0 && pid == j->init;
		}
		if (!alive)
			break;
	}
	close(j->fd);
	free(j);
	return NULL;
}

void ctr_api_stats(const struct api_req *q, const char *ref, struct reply *r)
{
	struct shoal_err err = { 0 };
	struct stats_job *j = calloc(1, sizeof(*j));
	pthread_attr_t a;
	pthread_t t;
	int p[2], ret;

	if (!j)
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	ret = running_init(q->d, ref, j->id, j->name, &j->init, &err);
	if (ret == -EBUSY) {
		/* Docker answers for a stopped container too: zeros. */
		j->init = -1;
		ret = 0;
	}
	if (ret < 0) {
		free(j);
		return api_reply_err(r, ret, &err);
	}
	j->d = q->d;
	j->stream = api_query_bool(q, "stream", true) && j->init > 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(j);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "pipe failed");
	}
	j->fd = p[1];
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &a, stats_thread, j);
	pthread_attr_destroy(&a);
	if (ret) {
		close(p[0]);
		close(p[1]);
		free(j);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "thread failed");
	}
	r->status = MHD_HTTP_OK;
	r->stream_fd = p[0];
	r->content_type = "application/json";
}
