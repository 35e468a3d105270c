// SPDX-License-Identifier: Apache-2.0
/*
 * container_run.c - running containers: start (rootfs from the storage
 * driver, a persistent network namespace connected like `network
 * connect`, published ports, the bundle's config.json, shoal-shim),
 * stop, kill, wait, the monitor threads that learn about exits, and
 * reconciliation when shoald starts again.
 *
 * shoald never waits for container processes: each running container
 * has a shoal-shim (include/shoal_shim.h) that is not our child, so
 * containers outlive shoald. A monitor thread per running container
 * holds a "wait" connection to its shim; when the reply (or EOF) comes,
 * the exit is recorded and everything the run needed is released: ports,
 * endpoints, the namespace, the rootfs mount, the bundle.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "../../include/shoal_shim.h"
#include "../archive/fsutil.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../netlink/netlink.h"
#include "../storage/storage.h"
#include "container.h"
#include "daemon.h"
#include "mounts.h"

#if __has_include("ports.h")
#include "ports.h"
#define HAVE_PORTS 1
#else
#define HAVE_PORTS 0
#endif

#define SHIM_READY_TIMEOUT_MS 30000
#define SHIM_CALL_TIMEOUT_S 10

static json_t *load_obj(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	return j ? j : json_object();
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *v = o ? json_string_value(json_object_get(o, key)) : NULL;

	return v && *v ? v : dflt;
}

/* ---- signals ---------------------------------------------------------------- */

static const struct { const char *name; int sig; } signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

int ctr_parse_signal(const char *s, struct shoal_err *err)
{
	char *end;
	long v;

	if (!s || !*s)
		return err_set(err, EINVAL, "Invalid signal: (empty)");
	v = strtol(s, &end, 10);
	if (!*end) {
		if (v < 1 || v > 64)
			return err_set(err, EINVAL, "Invalid signal: %s", s);
		return (int)v;
	}
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
		const char *n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
		if (strcasecmp(n, signals[i].name) == 0)
			return signals[i].sig;
	}
	return err_set(err, EINVAL, "Invalid signal: %s", s);
}

/* ---- the shim's socket ---------------------------------------------------------- */

/* Connect through /proc/self/fd/<bundle dir>: the real path can be longer
 * than sun_path allows. */
static int shim_connect(struct daemon *d, const char *id, struct shoal_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[4200];
	int dfd, fd;

	ctr_bundle_dir(d, id, dir, sizeof(dir));
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_set(err, errno, "container %.12s: bundle %s: %s", id, dir, strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/shim.sock", dfd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		close(dfd);
		return err_set(err, errno, "socket: %s", strerror(errno));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		close(dfd);
		return err_set(err, e == ENOENT ? ECONNREFUSED : e,
			       "container %.12s: cannot reach its shim: %s", id, strerror(e));
	}
	close(dfd);
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int send_line(int fd, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	int ret;
	size_t len;

	if (!s)
		return -1;
	len = strlen(s);
	s[len] = '\n';
	ret = write_all(fd, s, len + 1);
	free(s);
	return ret;
}

/* One line (without '\n') byte by byte, so nothing after it is consumed. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

int ctr_shim_call(struct daemon *d, const char *id, json_t *req, json_t **reply, int *fd_out,
		  struct shoal_err *err)
{
	struct timeval tv = { .tv_sec = SHIM_CALL_TIMEOUT_S };
	char line[8192];
	const char *op = json_string_value(json_object_get(req, "op"));
	json_t *j;
	int fd;

	*reply = NULL;
	fd = shim_connect(d, id, err);
	if (fd < 0)
		return fd;
	if (!fd_out || (op && strcmp(op, "wait") != 0))
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send_line(fd, req) < 0 || read_line(fd, line, sizeof(line)) < 0) {
		int e = errno ? errno : EPIPE;
		close(fd);
		return err_set(err, e, "container %.12s: shim %s request failed: %s", id,
			       op ? op : "?", strerror(e));
	}
	j = json_loads(line, 0, NULL);
	if (!j) {
		close(fd);
		return err_set(err, EPROTO, "container %.12s: unreadable shim reply: %.200s", id, line);
	}
	if (fd_out) {
		tv.tv_sec = 0;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		*fd_out = fd;
	} else {
		close(fd);
	}
	*reply = j;
	return 0;
}

int ctr_signal(struct daemon *d, const char *id, int sig, bool all, struct shoal_err *err)
{
	json_t *req = json_pack("{s:s, s:i, s:b}", "op", "kill", "signal", sig, "all", all), *rep;
	int ret;

	ret = ctr_shim_call(d, id, req, &rep, NULL, err);
	json_decref(req);
	if (ret < 0)
		return ret;
	if (!json_is_true(json_object_get(rep, "ok"))) {
		ret = err_set(err, EIO, "container %.12s: kill: %s", id,
			      str_or(rep, "message", "refused by the shim"));
	}
	json_decref(rep);
	return ret;
}

/* ---- network namespaces ----------------------------------------------------------- */

struct ns_job {
	const char *path;
	int err;
	char what[64];
};

static void *netns_thread(void *arg)
{
	struct ns_job *j = arg;
	struct ifreq ifr = { 0 };
	int s;

	if (unshare(CLONE_NEWNET) < 0) {
		j->err = errno;
		snprintf(j->what, sizeof(j->what), "unshare");
		return NULL;
	}
	if (mount("/proc/thread-self/ns/net", j->path, NULL, MS_BIND, NULL) < 0) {
		j->err = errno;
		snprintf(j->what, sizeof(j->what), "bind mount");
		return NULL;
	}
	/* lo up, as Docker's sandboxes have it */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			ioctl(s, SIOCSIFFLAGS, &ifr);
		}
		close(s);
	}
	return NULL; /* the thread and its namespace reference end here */
}

static void netns_remove(const char *path)
{
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		log_warn("unmount %s: %s", path, strerror(errno));
	unlink(path);
}

static int netns_create(struct daemon *d, const char *id, char *path, size_t len,
			struct shoal_err *err)
{
	struct ns_job j = { .path = path };
	char dir[4200];
	pthread_t t;
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s/netns", d->cfg.exec_root);
	ret = util_mkdir_p(dir, 0711);
	if (ret < 0)
		return err_set(err, -ret, "create %s: %s", dir, strerror(-ret));
	ctr_netns_path(d, id, path, len);
	netns_remove(path); /* a leftover of a crash */
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return err_set(err, errno, "create %s: %s", path, strerror(errno));
	close(fd);
	ret = pthread_create(&t, NULL, netns_thread, &j);
	if (ret) {
		unlink(path);
		return err_set(err, ret, "thread: %s", strerror(ret));
	}
	pthread_join(t, NULL);
	if (j.err) {
		netns_remove(path);
		return err_set(err, j.err, "network namespace %s: %s: %s", path, j.what,
			       strerror(j.err));
	}
	return 0;
}

/* ---- published ports ------------------------------------------------------------- */

/* A binding as recorded in net_settings._bindings (ports.h's fields). */
struct port_rec {
	uint32_t host_ip;
	uint16_t host_port, ctr_port;
	uint8_t proto;
	uint32_t ctr_ip;
	int ifindex;
};

static size_t bindings_from(json_t *ns, struct port_rec *out, size_t max)
{
	json_t *arr = json_object_get(ns, "_bindings"), *b;
	size_t i, n = 0;

	json_array_foreach(arr, i, b) {
		if (n >= max)
			break;
		out[n].host_ip = (uint32_t)json_integer_value(json_object_get(b, "host_ip"));
		out[n].host_port = (uint16_t)json_integer_value(json_object_get(b, "host_port"));
		out[n].ctr_port = (uint16_t)json_integer_value(json_object_get(b, "ctr_port"));
		out[n].proto = (uint8_t)json_integer_value(json_object_get(b, "proto"));
		out[n].ctr_ip = (uint32_t)json_integer_value(json_object_get(b, "ctr_ip"));
		out[n].ifindex = (int)json_integer_value(json_object_get(b, "ifindex"));
		n++;
	}
	return n;
}

#define MAX_BINDINGS 256

static void ports_release(struct daemon *d, json_t *ns)
{
	struct port_rec recs[MAX_BINDINGS];
	size_t n = bindings_from(ns, recs, MAX_BINDINGS);

	if (!n)
		return;
#if HAVE_PORTS
	{
		struct port_binding b[MAX_BINDINGS];
		for (size_t i = 0; i < n; i++)
			b[i] = (struct port_binding){ .host_ip = recs[i].host_ip,
						      .host_port = recs[i].host_port,
						      .ctr_port = recs[i].ctr_port,
						      .proto = recs[i].proto,
						      .ctr_ip = recs[i].ctr_ip,
						      .ifindex = recs[i].ifindex };
		ports_unpublish(d, b, n);
	}
#else
	(void)d;
#endif
	json_object_del(ns, "_bindings");
}

/* Publish the container's ports on endpoint e; records them in ns. */
static int ports_acquire(struct daemon *d, const char *id, json_t *cfg, json_t *hc,
			 const struct st_endpoint *e, json_t *ns, struct shoal_err *err)
{
	struct ctr_port *p = NULL;
	json_t *ports, *recs;
	size_t n = 0;
	int ret, ifindex = 0;

	ret = ctr_port_bindings(cfg, hc, &p, &n, err);
	if (ret < 0)
		return ret;
	ports = json_object();
	{
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(cfg, "ExposedPorts"), k, v)
			json_object_set_new(ports, k, json_null());
	}
	json_object_set_new(ns, "Ports", ports);
	if (n == 0) {
		free(p);
		return 0;
	}
	if (!e) {
		log_warn("container %.12s: published ports are ignored without a network", id);
		free(p);
		return 0;
	}
	if (n > MAX_BINDINGS) {
		free(p);
		return err_set(err, EINVAL, "too many published ports (%zu, at most %d)", n,
			       MAX_BINDINGS);
	}
	netlink_link_get(e->host_ifname, &ifindex, NULL, NULL, NULL);
#if HAVE_PORTS
	{
		struct port_binding b[MAX_BINDINGS];

		for (size_t i = 0; i < n; i++)
			b[i] = (struct port_binding){ .host_ip = p[i].host_ip,
						      .host_port = p[i].host_port,
						      .ctr_port = p[i].ctr_port, .proto = p[i].proto,
						      .ctr_ip = e->ip, .ifindex = ifindex };
		ret = ports_publish(d, id, e, b, n, err);
		if (ret < 0) {
			free(p);
			return ret;
		}
		for (size_t i = 0; i < n; i++)
			p[i].host_port = b[i].host_port;
	}
#else
	free(p);
	(void)d;
	return err_set(err, EOPNOTSUPP,
		       "publishing ports is not available in this build (the ports module is missing)");
#endif
	recs = json_array();
	for (size_t i = 0; i < n; i++) {
		char key[32], hp[8], a[16];
		json_t *arr;

		snprintf(key, sizeof(key), "%u/%s", p[i].ctr_port,
			 p[i].proto == IPPROTO_UDP ? "udp" : "tcp");
		snprintf(hp, sizeof(hp), "%u", p[i].host_port);
		arr = json_object_get(ports, key);
		if (!json_is_array(arr)) {
			arr = json_array();
			json_object_set_new(ports, key, arr);
		}
		json_array_append_new(arr, json_pack("{s:s, s:s}", "HostIp",
						     util_ipv4_str(p[i].host_ip, a), "HostPort", hp));
		json_array_append_new(recs, json_pack("{s:I, s:i, s:i, s:i, s:I, s:i}", "host_ip",
						      (json_int_t)p[i].host_ip, "host_port",
						      p[i].host_port, "ctr_port", p[i].ctr_port,
						      "proto", p[i].proto, "ctr_ip",
						      (json_int_t)e->ip, "ifindex", ifindex));
	}
	json_object_set_new(ns, "_bindings", recs);
	free(p);
	return 0;
}

/* ---- releasing what a run holds ------------------------------------------------------ */

static void disconnect_all(struct daemon *d, const char *id)
{
	struct st_endpoint *eps = NULL;
	size_t n = 0;

	if (state_endpoint_list(d->st, NULL, &eps, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct shoal_err e2 = { 0 };

		if (eps[i].remote || strcmp(eps[i].container_id, id) != 0)
			continue;
		if (ep_disconnect_netns_ex(d, eps[i].network_id, eps[i].netns, true, &e2) < 0)
			log_warn("container %.12s: disconnect %.12s: %s", id, eps[i].id, e2.msg);
	}
	free(eps);
}

/* Clear the live part of the network settings (Docker does on exit). */
static void ns_clear_live(json_t *ns)
{
	json_t *nets = json_object_get(ns, "Networks"), *v;
	const char *k;

	json_object_foreach(nets, k, v) {
		json_object_del(v, "EndpointID");
		json_object_del(v, "IPAddress");
		json_object_del(v, "Gateway");
		json_object_del(v, "MacAddress");
		json_object_del(v, "IPPrefixLen");
	}
	json_object_del(ns, "Ports");
	json_object_del(ns, "_paused");
}

/* Release everything a run holds (d->lock held). */
static void release_run(struct daemon *d, const char *id, json_t *ns, bool rootfs)
{
	char p[4200];

	ports_release(d, ns);
	disconnect_all(d, id);
	ctr_netns_path(d, id, p, sizeof(p));
	netns_remove(p);
	if (rootfs)
		d->storage->ops->put(d->storage, id, NULL);
	ctr_bundle_dir(d, id, p, sizeof(p));
	fsutil_rm_rf(p);
	/* The v1 freezer cgroup of a paused run, if its shim died before
	 * removing it (the shim's own exit path does). */
	snprintf(p, sizeof(p), "/sys/fs/cgroup/freezer/shoal/%s", id);
	rmdir(p);
	ns_clear_live(ns);
}

/* ---- restart policies ------------------------------------------------------------ */

/* A stop or kill by a user (kept in net_settings: it must survive a
 * shoald restart for unless-stopped). */
static bool manual_stop_get(const struct st_container *c)
{
	json_t *ns = load_obj(c->net_settings);
	bool v = json_is_true(json_object_get(ns, "_manual_stop"));

	json_decref(ns);
	return v;
}

static void manual_stop_set(struct daemon *d, struct st_container *c, bool v)
{
	json_t *ns = load_obj(c->net_settings);

	if (v)
		json_object_set_new(ns, "_manual_stop", json_true());
	else
		json_object_del(ns, "_manual_stop");
	free(c->net_settings);
	c->net_settings = json_dumps(ns, JSON_COMPACT);
	json_decref(ns);
	st_container_update(d->ctr->sc, c, NULL);
}

void ctr_mark_manual_stop(struct daemon *d, const char *id)
{
	struct st_container c;

	if (st_container_find(d->ctr->sc, id, &c, NULL) == 0) {
		manual_stop_set(d, &c, true);
		st_container_free(&c);
	}
}

/* Whether HostConfig.RestartPolicy wants c (just exited with code) back. */
static bool restart_wanted(json_t *hc, const struct st_container *c, int code)
{
	json_t *rp = json_object_get(hc, "RestartPolicy");
	const char *name = str_or(rp, "Name", "no");
	json_int_t max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));

	if (manual_stop_get(c))
		return false;
	if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0)
		return true;
	if (strcmp(name, "on-failure") == 0)
		return code != 0 && (max <= 0 || c->restart_count < max);
	return false;
}

struct restart_job {
	struct daemon *d;
	char id[65];
	int delay_ms;
};

static int start_locked(struct daemon *d, struct st_container *c, struct shoal_err *err);

static void *restart_thread(void *arg)
{
	struct restart_job *j = arg;
	struct daemon *d = j->d;
	struct shoal_err err = { 0 };
	struct st_container c;

	usleep((useconds_t)j->delay_ms * 1000);
	pthread_mutex_lock(&d->lock);
	if (!d->ctr->closing && st_container_find(d->ctr->sc, j->id, &c, NULL) == 0) {
		/* still waiting for it: not stopped, started or removed meanwhile */
		if (strcmp(c.status, "restarting") == 0) {
			c.restart_count++;
			if (start_locked(d, &c, &err) < 0) {
				log_error("container %.12s: restart: %s", j->id, err.msg);
				snprintf(c.status, sizeof(c.status), "exited");
				snprintf(c.error, sizeof(c.error), "%s", err.msg);
				st_container_update(d->ctr->sc, &c, NULL);
				ctr_changed(d);
			}
		}
		st_container_free(&c);
	}
	pthread_mutex_unlock(&d->lock);
	free(j);
	return NULL;
}

/* Mark c restarting and start it again after Docker's back-off: 100 ms,
 * doubled for each run that lasted under 10 s (d->lock held). */
static void schedule_restart(struct daemon *d, struct st_container *c)
{
	struct restart_job *j = calloc(1, sizeof(*j));
	struct ctr_rt *rt = ctr_rt_get(d, c->id);
	pthread_attr_t a;
	pthread_t t;
	int quick = 0;

	if (!j)
		return;
	if (rt) {
		if (rt->started_ns && ctr_now_ns() - rt->started_ns < 10LL * 1000000000LL)
			rt->quick_restarts++;
		else
			rt->quick_restarts = 0;
		quick = rt->quick_restarts;
	}
	j->d = d;
	memcpy(j->id, c->id, sizeof(j->id));
	j->delay_ms = 100 << (quick < 9 ? quick : 9);
	snprintf(c->status, sizeof(c->status), "restarting");
	st_container_update(d->ctr->sc, c, NULL);
	ctr_changed(d);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, restart_thread, j) != 0) {
		free(j);
		snprintf(c->status, sizeof(c->status), "exited");
		st_container_update(d->ctr->sc, c, NULL);
	}
	pthread_attr_destroy(&a);
	log_info("container %.12s (%s): restarting in %d ms (restart policy)", c->id, c->name,
		 j ? 100 << (quick < 9 ? quick : 9) : 0);
}

/* Record an exit (d->lock held). */
static void handle_exit(struct daemon *d, const char *id, int code, const char *finished,
			bool oom, const char *error)
{
	struct st_container c;
	struct ctr_rt *rt;
	json_t *ns, *hc;
	struct shoal_err err = { 0 };

	if (st_container_find(d->ctr->sc, id, &c, NULL) < 0)
		return;
	if (strcmp(c.status, "running") != 0) {
		st_container_free(&c);
		return;
	}
	ns = load_obj(c.net_settings);
	release_run(d, id, ns, true);
	free(c.net_settings);
	c.net_settings = json_dumps(ns, JSON_COMPACT);
	json_decref(ns);
	snprintf(c.status, sizeof(c.status), "exited");
	c.exit_code = code;
	c.oom_killed = oom;
	c.pid = c.shim_pid = 0;
	if (finished && *finished)
		snprintf(c.finished_at, sizeof(c.finished_at), "%s", finished);
	else
		ctr_time_str(ctr_now_ns(), c.finished_at);
	snprintf(c.error, sizeof(c.error), "%s", error ? error : "");
	if (st_container_update(d->ctr->sc, &c, &err) < 0)
		log_error("container %.12s: record exit: %s", id, err.msg);
	rt = ctr_rt_get(d, id);
	if (rt) {
		rt->exits++;
		rt->last_exit = code;
		rt->exit_ns = ctr_now_ns();
	}
	log_info("container %.12s (%s) exited with %d", id, c.name, code);
	ctr_changed(d);
	hc = load_obj(c.host_config);
	if (json_is_true(json_object_get(hc, "AutoRemove"))) {
		memset(&err, 0, sizeof(err));
		if (ctr_remove_locked(d, &c, true, &err) < 0)
			log_error("container %.12s: --rm: %s", id, err.msg);
	} else if (!d->ctr->closing && restart_wanted(hc, &c, code)) {
		schedule_restart(d, &c);
	}
	json_decref(hc);
	st_container_free(&c);
}

/* exit.json of the bundle: 0 and the fields, or -ENOENT. */
static int read_exit_json(struct daemon *d, const char *id, int *code, char finished[40],
			  bool *oom)
{
	char p[4300];
	json_t *j;

	ctr_bundle_dir(d, id, p, sizeof(p));
	strcat(p, "/exit.json");
	j = json_load_file(p, 0, NULL);
	if (!j)
		return -ENOENT;
	*code = (int)json_integer_value(json_object_get(j, "exit_code"));
	snprintf(finished, 40, "%s", str_or(j, "finished_at", ""));
	*oom = json_is_true(json_object_get(j, "oom_killed"));
	json_decref(j);
	return 0;
}

/* ---- monitor threads ------------------------------------------------------------ */

struct mon {
	struct daemon *d;
	char id[65];
	int fd; /* the wait connection, request sent */
};

/* The shim of id is alive (its pid file names a live process). */
static bool shim_alive(struct daemon *d, const char *id)
{
	char p[4300], buf[32] = "";
	ssize_t n;
	int fd, pid;

	ctr_bundle_dir(d, id, p, sizeof(p));
	strcat(p, "/shim.pid");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	pid = n > 0 ? atoi(buf) : 0;
	return pid > 1 && (kill(pid, 0) == 0 || errno == EPERM);
}

static void *monitor(void *arg)
{
	struct mon *m = arg;
	struct daemon *d = m->d;
	char line[4096], finished[40] = "";
	const char *error = NULL;
	bool oom = false, got = false;
	int code = 255;
	struct ctr_rt *rt;
	json_t *j = NULL;

	if (m->fd >= 0 && read_line(m->fd, line, sizeof(line)) >= 0 &&
	    (j = json_loads(line, 0, NULL)) && json_is_true(json_object_get(j, "ok")) &&
	    json_object_get(j, "exit_code")) {
		code = (int)json_integer_value(json_object_get(j, "exit_code"));
		snprintf(finished, sizeof(finished), "%s", str_or(j, "finished_at", ""));
		oom = json_is_true(json_object_get(j, "oom_killed"));
		got = true;
	}
	json_decref(j);
	if (m->fd >= 0)
		close(m->fd);
	/* No wait reply (the container finished before we asked, or the shim
	 * went away): exit.json, which the shim writes before it leaves. */
	for (int grace = 20; !got;) {
		if (read_exit_json(d, m->id, &code, finished, &oom) == 0)
			break;
		if (!shim_alive(d, m->id) && --grace <= 0) {
			code = 255;
			error = "the container's shim disappeared without recording an exit";
			break;
		}
		usleep(50 * 1000);
	}
	pthread_mutex_lock(&d->lock);
	if (d->ctr->closing) { /* shoald is stopping: the next start records it */
		pthread_mutex_unlock(&d->lock);
		free(m);
		return NULL;
	}
	rt = ctr_rt_get(d, m->id);
	if (rt)
		rt->monitored = false;
	handle_exit(d, m->id, code, finished, oom, error);
	pthread_mutex_unlock(&d->lock);
	free(m);
	return NULL;
}

/*
 * Watch id's exit in a monitor thread (d->lock held): a wait connection
 * to its shim, or (need_conn false) exit.json when the shim is already
 * done with the container.
 */
static int monitor_start(struct daemon *d, const char *id, bool need_conn,
			 struct shoal_err *err)
{
	json_t *req = json_pack("{s:s}", "op", "wait");
	struct mon *m;
	pthread_attr_t a;
	pthread_t t;
	struct ctr_rt *rt;
	int fd, ret;

	fd = shim_connect(d, id, err);
	if (fd >= 0 && send_line(fd, req) < 0) {
		close(fd);
		fd = err_set(err, EPIPE, "container %.12s: cannot send wait to its shim", id);
	}
	json_decref(req);
	if (fd < 0 && need_conn)
		return fd;
	m = calloc(1, sizeof(*m));
	rt = ctr_rt_get(d, id);
	if (!m || !rt) {
		free(m);
		if (fd >= 0)
			close(fd);
		return err_set(err, ENOMEM, "out of memory");
	}
	m->d = d;
	m->fd = fd;
	snprintf(m->id, sizeof(m->id), "%s", id);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	ret = pthread_create(&t, &a, monitor, m);
	pthread_attr_destroy(&a);
	if (ret) {
		if (fd >= 0)
			close(fd);
		free(m);
		return err_set(err, ret, "monitor thread: %s", strerror(ret));
	}
	rt->monitored = true;
	return 0;
}

/* ---- the bundle and the shim ------------------------------------------------------- */

/* Mount targets for /etc/{hostname,hosts,resolv.conf} in the rootfs. */
static void ensure_target(const char *rootfs, const char *rel, bool dir)
{
	char p[8400];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", rootfs, rel);
	if (lstat(p, &st) == 0)
		return;
	if (dir) {
		util_mkdir_p(p, 0755);
		return;
	}
	{
		char parent[8400], *slash;
		snprintf(parent, sizeof(parent), "%s", p);
		slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			util_mkdir_p(parent, 0755);
		}
	}
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
}

static json_t *bundle_mounts(struct daemon *d, const char *id, const char *rootfs)
{
	static const char *const files[] = { "hostname", "hosts", "resolv.conf" };
	json_t *m = json_array();
	char dir[4200], src[4400], dst[64];
	size_t i;

	ctr_data_dir(d, id, dir, sizeof(dir));
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(src, sizeof(src), "%s/%s", dir, files[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", files[i]);
		ensure_target(rootfs, dst, false);
		json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[s]}", "type", "bind", "source",
						   src, "destination", dst, "options", "rbind"));
	}
	return m;
}

void ctr_cgroup_path(const char *id, char *buf, size_t len)
{
	struct statfs sfs;

	/* A unified hierarchy, or the cgroup2 of a hybrid host (systemd's
	 * /sys/fs/cgroup/unified): the shim makes the cgroup there, and in
	 * the v1 hierarchies of the controllers that cgroup2 lacks. */
	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == 0x63677270 /* CGROUP2 */)
		snprintf(buf, len, "/sys/fs/cgroup/shoal/%s", id);
	else if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == 0x63677270)
		snprintf(buf, len, "/sys/fs/cgroup/unified/shoal/%s", id);
	else if (len)
		buf[0] = '\0';
}

/* Docker's size strings ("10m", "1g", "512k", "100"): bytes, or -1. */
int64_t ctr_parse_size(const char *s)
{
	char *end;
	double v;
	int64_t mult = 1;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end | 0x20) {
	case 'k': mult = 1024; end++; break;
	case 'm': mult = 1024 * 1024; end++; break;
	case 'g': mult = 1024LL * 1024 * 1024; end++; break;
	case 't': mult = 1024LL * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if ((*end | 0x20) == 'b')
		end++;
	if (*end)
		return -1;
	return (int64_t)(v * (double)mult);
}

/* HostConfig settings the shim applies (include/shoal_shim.h [ext]). */
static void bundle_extras(json_t *j, json_t *hc)
{
	json_t *v, *res = json_object(), *lc;
	const char *sopt;
	size_t i;

	if (json_is_true(json_object_get(hc, "ReadonlyRootfs")))
		json_object_set_new(j, "readonly_rootfs", json_true());
	if (json_is_true(json_object_get(hc, "Privileged")))
		json_object_set_new(j, "privileged", json_true());
	if (json_is_array(v = json_object_get(hc, "CapAdd")))
		json_object_set(j, "cap_add", v);
	if (json_is_array(v = json_object_get(hc, "CapDrop")))
		json_object_set(j, "cap_drop", v);
	json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
		sopt = json_string_value(v);
		if (sopt && (strcmp(sopt, "seccomp=unconfined") == 0 ||
			     strcmp(sopt, "seccomp:unconfined") == 0))
			json_object_set_new(j, "seccomp", json_false());
	}
	if (json_integer_value(v = json_object_get(hc, "Memory")) > 0)
		json_object_set(res, "memory", v);
	if (json_integer_value(v = json_object_get(hc, "MemorySwap")) != 0 && json_is_integer(v))
		json_object_set(res, "memory_swap", v);
	if (json_integer_value(v = json_object_get(hc, "NanoCpus")) > 0)
		json_object_set(res, "nano_cpus", v);
	if (json_integer_value(v = json_object_get(hc, "CpuShares")) > 0)
		json_object_set(res, "cpu_shares", v);
	if (json_integer_value(v = json_object_get(hc, "PidsLimit")) > 0)
		json_object_set(res, "pids_limit", v);
	if (json_object_size(res))
		json_object_set(j, "resources", res);
	json_decref(res);
	if (json_is_array(v = json_object_get(hc, "Ulimits")) && json_array_size(v)) {
		json_t *u = json_array(), *e;

		json_array_foreach(v, i, e)
			json_array_append_new(u, json_pack("{s:O?, s:O?, s:O?}", "name",
							   json_object_get(e, "Name"), "soft",
							   json_object_get(e, "Soft"), "hard",
							   json_object_get(e, "Hard")));
		json_object_set_new(j, "ulimits", u);
	}
	if (json_is_integer(v = json_object_get(hc, "OomScoreAdj")) && json_integer_value(v))
		json_object_set(j, "oom_score_adj", v);
	if (json_integer_value(v = json_object_get(hc, "ShmSize")) > 0)
		json_object_set(j, "shm_size", v);
	lc = json_object_get(json_object_get(hc, "LogConfig"), "Config");
	if ((sopt = json_string_value(json_object_get(lc, "max-size")))) {
		int64_t b = ctr_parse_size(sopt);

		if (b > 0)
			json_object_set_new(j, "log_max_size", json_integer(b));
		sopt = json_string_value(json_object_get(lc, "max-file"));
		if (sopt && atoi(sopt) > 0)
			json_object_set_new(j, "log_max_files", json_integer(atoi(sopt)));
	}
}

static int write_bundle_config(struct daemon *d, const char *id, const char *rootfs,
			       const char *netns, json_t *cfg, json_t *hc, bool hold,
			       struct shoal_err *err)
{
	json_t *args = json_array(), *j, *ep = json_object_get(cfg, "Entrypoint"),
	       *cmd = json_object_get(cfg, "Cmd"), *mounts;
	char p[4300], logp[4300], cg[128];
	int ret = 0;

	ctr_cgroup_path(id, cg, sizeof(cg));
	if (json_is_array(ep))
		json_array_extend(args, ep);
	if (json_is_array(cmd))
		json_array_extend(args, cmd);
	ctr_log_path(d, id, logp, sizeof(logp));
	mounts = bundle_mounts(d, id, rootfs);
	ret = mounts_bundle(d, id, rootfs, hc, mounts, err);
	if (ret < 0) {
		json_decref(mounts);
		json_decref(args);
		return ret;
	}
	j = json_pack("{s:s, s:s, s:o, s:O, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:o, s:s, s:s}", "id",
		      id, "rootfs", rootfs, "args", args, "env", json_object_get(cfg, "Env"), "cwd",
		      str_or(cfg, "WorkingDir", "/"), "user", str_or(cfg, "User", ""), "hostname",
		      str_or(cfg, "Hostname", ""), "tty", json_is_true(json_object_get(cfg, "Tty")),
		      "open_stdin", json_is_true(json_object_get(cfg, "OpenStdin")), "stdin_once",
		      json_is_true(json_object_get(cfg, "StdinOnce")), "netns", netns, "mounts",
		      mounts, "log_path", logp, "cgroup", cg);
	if (!j)
		return err_set(err, ENOMEM, "container %.12s: cannot build config.json", id);
	if (hold)
		json_object_set_new(j, "hold", json_true());
	bundle_extras(j, hc);
	ctr_bundle_dir(d, id, p, sizeof(p));
	strcat(p, "/config.json");
	if (json_dump_file(j, p, JSON_COMPACT) < 0)
		ret = err_set(err, EIO, "write %s failed", p);
	json_decref(j);
	return ret;
}

/*
 * Run `shoal-shim <bundle>` detached and read its ready line. 0 with
 * *pid = init's pid, or the shim's error with its message: -EINVAL for
 * 127 (not found) and 126 (not executable), -EIO otherwise; *exit_code
 * gets the code.
 */
static int spawn_shim(struct daemon *d, const char *id, int *pid, int *exit_code,
		      struct shoal_err *err)
{
	char bundle[4200], line[1024];
	struct pollfd pfd;
	sigset_t none;
	size_t n = 0;
	int p[2], st, code;
	pid_t child;

	*exit_code = 125;
	ctr_bundle_dir(d, id, bundle, sizeof(bundle));
	if (access(d->ctr->shim_path, X_OK) < 0)
		return err_set(err, EIO, "shoal-shim not found at %s (--shim-path / SHOAL_SHIM)",
			       d->ctr->shim_path);
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe: %s", strerror(errno));
	sigemptyset(&none);
	child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return err_set(err, errno, "fork: %s", strerror(errno));
	}
	if (child == 0) {
		int nul = open("/dev/null", O_RDWR);

		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (p[1] == SHIM_READY_FD) {
			fcntl(p[1], F_SETFD, 0);
		} else if (dup2(p[1], SHIM_READY_FD) < 0) {
			_exit(125);
		}
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		for (int fd = SHIM_READY_FD + 1; fd < 65536; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				close(fd);
		execl(d->ctr->shim_path, "shoal-shim", bundle, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	while (n + 1 < sizeof(line)) {
		int r = poll(&pfd, 1, SHIM_READY_TIMEOUT_MS);
		ssize_t got;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got = read(p[0], line + n, sizeof(line) - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	close(p[0]);
	/* The shim forks itself away; reap the parent we started. */
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (strncmp(line, "ok ", 3) == 0) {
		*pid = atoi(line + 3);
		return 0;
	}
	if (strncmp(line, "error ", 6) == 0) {
		char *msg;

		code = (int)strtol(line + 6, &msg, 10);
		while (*msg == ' ')
			msg++;
		*exit_code = code;
		return err_set(err, code == 127 || code == 126 ? EINVAL : EIO, "%s",
			       *msg ? msg : "the container failed to start");
	}
	if (n == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return err_set(err, EIO, "cannot run shoal-shim %s", d->ctr->shim_path);
	return err_set(err, EIO, "shoal-shim gave no ready line within %d s (got \"%.100s\")",
		       SHIM_READY_TIMEOUT_MS / 1000, line);
}

/* ---- start ----------------------------------------------------------------------- */

/* Connect the namespace to network k (settings v) of container id:
 * fills the live part of v and *e. */
static int connect_one(struct daemon *d, const char *id, const char *netns, const char *k,
		       json_t *v, struct st_endpoint *e, struct shoal_err *err)
{
	const char *ip = str_or(json_object_get(v, "IPAMConfig"), "IPv4Address", NULL);
	const char *ref = str_or(v, "NetworkID", k);
	struct st_network n = { 0 };
	char a[16], mac[18];
	int ret;

	for (int tries = 0;; tries++) {
		ret = ep_connect_container(d, ref, netns, ip, id, e, err);
		if (ret != -EAGAIN || tries >= 60)
			break;
		/* swarm mode: a fresh address block settles within seconds */
		pthread_mutex_unlock(&d->lock);
		usleep(200 * 1000);
		pthread_mutex_lock(&d->lock);
		memset(err, 0, sizeof(*err));
	}
	if (ret < 0)
		return ret;
	if (state_network_get(d->st, e->network_id, &n, NULL) == 0) {
		json_object_set_new(v, "Gateway", json_string(util_ipv4_str(n.gateway, a)));
		json_object_set_new(v, "IPPrefixLen", json_integer(n.prefix));
		json_object_set_new(v, "NetworkID", json_string(n.id));
		st_network_free(&n);
	}
	json_object_set_new(v, "EndpointID", json_string(e->id));
	json_object_set_new(v, "IPAddress", json_string(util_ipv4_str(e->ip, a)));
	json_object_set_new(v, "MacAddress", json_string(util_mac_str(e->mac, mac)));
	return 0;
}

/* Connect the namespace to every network of the container, in the order
 * of Networks (the first gets eth0, the default route and the published
 * ports); fills the live settings and *e with the first endpoint. */
static int connect_networks(struct daemon *d, const char *id, const char *netns, json_t *ns,
			    struct st_endpoint *e, bool *have, struct shoal_err *err)
{
	json_t *nets = json_object_get(ns, "Networks"), *v;
	const char *k;
	int ret;

	*have = false;
	json_object_foreach(nets, k, v) {
		struct st_endpoint other = { 0 };

		ret = connect_one(d, id, netns, k, v, *have ? &other : e, err);
		if (ret < 0)
			return ret;
		*have = true;
	}
	return 0;
}

/* Let a held init exec once the tty sessions waiting for this start
 * have connected (at most 2 s; d->lock held, released while waiting). */
static void release_hold(struct daemon *d, const char *id)
{
	json_t *req = json_pack("{s:s}", "op", "start"), *rep = NULL;
	struct shoal_err err = { 0 };
	struct timespec until;
	struct ctr_rt *rt;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	while ((rt = ctr_rt_get(d, id)) && rt->tty_waiters > 0)
		if (pthread_cond_timedwait(&d->ctr->changed, &d->lock, &until) == ETIMEDOUT)
			break;
	if (ctr_shim_call(d, id, req, &rep, NULL, &err) < 0)
		log_warn("container %.12s: start a held init: %s", id, err.msg);
	else if (!json_is_true(json_object_get(rep, "ok")))
		log_warn("container %.12s: start a held init: %s", id,
			 str_or(rep, "message", "refused"));
	json_decref(rep);
	json_decref(req);
}

static int start_locked(struct daemon *d, struct st_container *c, struct shoal_err *err)
{
	json_t *cfg = load_obj(c->config), *hc = load_obj(c->host_config), *ns = load_obj(c->net_settings);
	const char *mode = str_or(hc, "NetworkMode", "default");
	char bundle[4200], rootfs[4096], netns[4200] = "host";
	struct st_endpoint e = { 0 };
	bool have_ep = false, got_rootfs = false, hold;
	int ret, pid = 0, code = 0;
	struct shoal_err e2 = { 0 };
	struct ctr_rt *rt;

	ctr_bundle_dir(d, c->id, bundle, sizeof(bundle));
	fsutil_rm_rf(bundle);
	ret = util_mkdir_p(bundle, 0700);
	if (ret < 0) {
		err_set(err, -ret, "create %s: %s", bundle, strerror(-ret));
		goto fail;
	}
	ret = d->storage->ops->get(d->storage, c->id, rootfs, sizeof(rootfs), err);
	if (ret < 0)
		goto fail;
	got_rootfs = true;
	if (strcmp(mode, "host") != 0) {
		ret = netns_create(d, c->id, netns, sizeof(netns), err);
		if (ret < 0)
			goto fail;
		if (strcmp(mode, "none") != 0) {
			ret = connect_networks(d, c->id, netns, ns, &e, &have_ep, err);
			if (ret < 0)
				goto fail;
		}
	}
	ret = ctr_write_hosts(d, c->id, str_or(cfg, "Hostname", ""), have_ep ? e.ip : 0, err);
	if (ret < 0)
		goto fail;
	ret = ports_acquire(d, c->id, cfg, hc, have_ep ? &e : NULL, ns, err);
	if (ret < 0)
		goto fail;
	rt = ctr_rt_get(d, c->id);
	/* A terminal attached before the start must see everything: the init
	 * waits before execve until those sessions are connected. */
	hold = rt && rt->tty_waiters > 0;
	ret = write_bundle_config(d, c->id, rootfs, netns, cfg, hc, hold, err);
	if (ret < 0)
		goto fail;
	{
		struct ctr_rt *rt = ctr_rt_get(d, c->id);
		char logp[4300];
		struct stat st;

		ctr_log_path(d, c->id, logp, sizeof(logp));
		if (rt) {
			rt->log_off = stat(logp, &st) == 0 ? st.st_size : 0;
			rt->start_exits = rt->exits;
		}
	}
	ret = spawn_shim(d, c->id, &pid, &code, err);
	if (ret < 0)
		goto fail;
	ret = monitor_start(d, c->id, false, &e2);
	if (ret < 0) {
		/* It started but we cannot watch it: stop it, then fail. */
		log_error("container %.12s: %s", c->id, e2.msg);
		kill(pid, SIGKILL);
		err_set(err, -ret, "container started but cannot be monitored: %s", e2.msg);
		code = 125;
		goto fail;
	}
	snprintf(c->status, sizeof(c->status), "running");
	c->pid = pid;
	{
		struct ctr_rt *rt = ctr_rt_get(d, c->id);
		if (rt)
			rt->starts++;
	}
	{
		char p[4300], buf[32] = "";
		int fd;
		ssize_t n;

		snprintf(p, sizeof(p), "%s/shim.pid", bundle);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		c->shim_pid = n > 0 ? atoi(buf) : 0;
	}
	c->exit_code = 0;
	c->oom_killed = false;
	c->error[0] = '\0';
	json_object_del(ns, "_manual_stop"); /* a start undoes a user's stop */
	{
		struct ctr_rt *r2 = ctr_rt_get(d, c->id);
		if (r2)
			r2->started_ns = ctr_now_ns();
	}
	c->finished_at[0] = '\0';
	ctr_time_str(ctr_now_ns(), c->started_at);
	free(c->net_settings);
	c->net_settings = json_dumps(ns, JSON_COMPACT);
	ret = st_container_update(d->ctr->sc, c, err);
	if (ret < 0)
		log_error("container %.12s: record start: %s", c->id, err->msg);
	ctr_changed(d);
	log_info("container %.12s (%s) started: pid %d", c->id, c->name, pid);
	if (hold)
		release_hold(d, c->id);
	json_decref(cfg);
	json_decref(hc);
	json_decref(ns);
	return 0;
fail:
	release_run(d, c->id, ns, got_rootfs);
	if (code) {
		c->exit_code = code;
		snprintf(c->error, sizeof(c->error), "%s", err->msg);
		free(c->net_settings);
		c->net_settings = json_dumps(ns, JSON_COMPACT);
		st_container_update(d->ctr->sc, c, NULL);
		ctr_changed(d);
	}
	json_decref(cfg);
	json_decref(hc);
	json_decref(ns);
	return ret;
}

int ctr_start(struct daemon *d, const char *ref, struct shoal_err *err)
{
	struct st_container c;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out;
	if (strcmp(c.status, "running") == 0) {
		ret = -EALREADY;
	} else {
		ret = start_locked(d, &c, err);
		if (ret < 0) {
			/* Docker removes an --rm container whose start failed. */
			json_t *hc = load_obj(c.host_config);

			if (json_is_true(json_object_get(hc, "AutoRemove")))
				ctr_remove_locked(d, &c, true, NULL);
			json_decref(hc);
		}
	}
	st_container_free(&c);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* ---- network connect / disconnect ------------------------------------------------ */

/* The key of network n in the settings' Networks, or NULL. */
static const char *net_key(json_t *nets, const struct st_network *n)
{
	const char *k;
	json_t *v;

	json_object_foreach(nets, k, v)
		if (strcmp(k, n->name) == 0 || strcmp(str_or(v, "NetworkID", ""), n->id) == 0)
			return k;
	return NULL;
}

#define ERR_HOST_NET "container cannot be disconnected from host network or connected to host network"
#define ERR_NONE_NET \
	"container cannot be connected to multiple networks with one of the networks in private (none) mode"

/* Docker's refusals for a container in host or none mode, or a network
 * reference naming those modes. */
static int mode_check(json_t *hc, const char *net_ref, struct shoal_err *err)
{
	const char *mode = str_or(hc, "NetworkMode", "default");

	if (strcmp(mode, "host") == 0 || strcmp(net_ref, "host") == 0)
		return err_set(err, EINVAL, ERR_HOST_NET);
	if (strcmp(mode, "none") == 0 || strcmp(net_ref, "none") == 0)
		return err_set(err, EINVAL, ERR_NONE_NET);
	if (strncmp(mode, "container:", 10) == 0)
		return err_set(err, EINVAL, "network mode \"%s\" is not supported", mode);
	return 0;
}

static const char *net_ref_of(const char *ref)
{
	return strcmp(ref, "bridge") == 0 || strcmp(ref, "default") == 0 ? DEFAULT_NET : ref;
}

/* Record ns as c's network settings (d->lock held). */
static int save_net_settings(struct daemon *d, struct st_container *c, json_t *ns,
			     struct shoal_err *err)
{
	char *txt = json_dumps(ns, JSON_COMPACT);

	if (!txt)
		return err_set(err, ENOMEM, "out of memory");
	free(c->net_settings);
	c->net_settings = txt;
	return st_container_update(d->ctr->sc, c, err);
}

int ctr_net_connect(struct daemon *d, const char *net_ref, const char *ref, const char *ip,
		    struct shoal_err *err)
{
	struct st_container c = { 0 };
	struct st_network n = { 0 };
	json_t *hc = NULL, *ns = NULL, *nets, *v = NULL;
	char netns[4200] = "";
	bool running;
	uint32_t a;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out_unlock;
	hc = load_obj(c.host_config);
	ns = load_obj(c.net_settings);
	running = strcmp(c.status, "running") == 0;
	ret = state_network_get(d->st, net_ref_of(net_ref), &n, err);
	if (ret == -ENOENT || ret == 0)
		ret = mode_check(hc, ret == 0 ? "" : net_ref, err) ?: ret;
	if (ret < 0)
		goto out;
	if (ip && *ip && util_parse_ipv4(ip, &a) < 0) {
		ret = err_set(err, EINVAL, "invalid IPv4 address: %s", ip);
		goto out;
	}
	nets = json_object_get(ns, "Networks");
	if (!json_is_object(nets)) {
		nets = json_object();
		json_object_set_new(ns, "Networks", nets);
	}
	if (net_key(nets, &n)) {
		ret = err_set(err, EPERM, "endpoint with name %s already exists in network %s",
			      c.name, n.name);
		goto out;
	}
	v = json_pack("{s:s, s:o, s:n}", "NetworkID", n.id, "IPAMConfig",
		      ip && *ip ? json_pack("{s:s}", "IPv4Address", ip) : json_null(), "Aliases");
	if (running) {
		struct st_endpoint e = { 0 };
		char id[65];

		ctr_netns_path(d, c.id, netns, sizeof(netns));
		ret = connect_one(d, c.id, netns, n.name, v, &e, err);
		if (ret < 0)
			goto out;
		/* connect_one may have let go of the lock (swarm): the row anew */
		snprintf(id, sizeof(id), "%s", c.id);
		st_container_free(&c);
		json_decref(ns);
		ns = NULL;
		ret = st_container_find(d->ctr->sc, id, &c, err);
		if (ret < 0) {
			ep_disconnect_netns(d, n.id, netns, NULL);
			goto out;
		}
		ns = load_obj(c.net_settings);
		nets = json_object_get(ns, "Networks");
		if (!json_is_object(nets)) {
			nets = json_object();
			json_object_set_new(ns, "Networks", nets);
		}
	}
	json_object_set(nets, n.name, v);
	ret = save_net_settings(d, &c, ns, err);
	if (ret < 0) {
		if (running)
			ep_disconnect_netns(d, n.id, netns, NULL);
		goto out;
	}
	ctr_changed(d);
	log_info("container %.12s (%s) connected to network %s%s", c.id, c.name, n.name,
		 running ? "" : " (at its next start)");
out:
	json_decref(v);
	json_decref(hc);
	json_decref(ns);
	st_network_free(&n);
	st_container_free(&c);
out_unlock:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* Release the published ports when they are bound to the address ip
 * (Ports keeps the exposed ports, without host bindings). */
static void ports_release_on(struct daemon *d, json_t *ns, uint32_t ip)
{
	const char *k;
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(ns, "_bindings"), i, b)
		if ((uint32_t)json_integer_value(json_object_get(b, "ctr_ip")) == ip) {
			ports_release(d, ns);
			json_object_foreach(json_object_get(ns, "Ports"), k, b)
				json_object_set(json_object_get(ns, "Ports"), k, json_null());
			return;
		}
}

int ctr_net_disconnect(struct daemon *d, const char *net_ref, const char *ref, bool force,
		       struct shoal_err *err)
{
	struct st_container c = { 0 };
	struct st_network n = { 0 };
	json_t *hc = NULL, *ns = NULL, *nets;
	char netns[4200], *key = NULL;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out_unlock;
	hc = load_obj(c.host_config);
	ns = load_obj(c.net_settings);
	nets = json_object_get(ns, "Networks");
	if (strcmp(str_or(hc, "NetworkMode", ""), "host") == 0 || strcmp(net_ref, "host") == 0) {
		ret = err_set(err, EINVAL, ERR_HOST_NET);
		goto out;
	}
	ret = state_network_get(d->st, net_ref_of(net_ref), &n, err);
	if (ret == -ENOENT && force && json_object_get(nets, net_ref)) {
		/* Docker's -f: a record of a network that is gone */
		key = strdup(net_ref);
		ret = 0;
	} else if (ret == 0) {
		const char *k = net_key(nets, &n);

		if (!k) {
			ret = err_set(err, ENOTCONN, "container %s is not connected to network %s",
				      c.id, n.name);
			goto out;
		}
		key = strdup(k);
	}
	if (ret < 0)
		goto out;
	if (!key) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (n.id[0] && strcmp(c.status, "running") == 0) {
		struct st_endpoint e = { 0 };

		ctr_netns_path(d, c.id, netns, sizeof(netns));
		if (state_endpoint_find_netns(d->st, n.id, netns, &e, NULL) == 0) {
			ports_release_on(d, ns, e.ip);
			ret = ep_disconnect_netns(d, n.id, netns, err);
			if (ret < 0)
				goto out;
		}
	}
	json_object_del(nets, key);
	ret = save_net_settings(d, &c, ns, err);
	if (ret < 0)
		goto out;
	ctr_changed(d);
	log_info("container %.12s (%s) disconnected from network %s", c.id, c.name, key);
out:
	free(key);
	json_decref(hc);
	json_decref(ns);
	st_network_free(&n);
	st_container_free(&c);
out_unlock:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* ---- stop, kill ------------------------------------------------------------------ */

/* Wait (d->lock held) until id has exited more than `exits` times or is
 * gone; false on timeout. */
static bool wait_exit(struct daemon *d, const char *id, uint64_t exits, int secs)
{
	struct timespec until;
	struct ctr_rt *rt;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += secs;
	for (;;) {
		rt = ctr_rt_get(d, id);
		if (!rt || rt->exits > exits || rt->removed)
			return true;
		if (pthread_cond_timedwait(&d->ctr->changed, &d->lock, &until) == ETIMEDOUT)
			return false;
	}
}

static void resume_if_paused(struct daemon *d, const char *id);

int ctr_stop(struct daemon *d, const char *ref, int timeout, bool restart,
	     struct shoal_err *err)
{
	struct st_container c;
	struct ctr_rt *rt;
	json_t *cfg;
	uint64_t exits;
	int ret, sig = SIGTERM;
	char id[65];

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out;
	memcpy(id, c.id, sizeof(id));
	if (strcmp(c.status, "restarting") == 0) {
		/* waiting for its restart: that is cancelled */
		snprintf(c.status, sizeof(c.status), "exited");
		manual_stop_set(d, &c, true);
		ctr_changed(d);
		st_container_free(&c);
		if (!restart)
			goto out;
		goto start;
	}
	if (strcmp(c.status, "running") != 0) {
		st_container_free(&c);
		if (!restart) {
			ret = -EALREADY;
			goto out;
		}
		goto start;
	}
	manual_stop_set(d, &c, true);
	cfg = load_obj(c.config);
	if (json_object_get(cfg, "StopSignal"))
		sig = ctr_parse_signal(str_or(cfg, "StopSignal", "TERM"), NULL);
	if (sig < 0)
		sig = SIGTERM;
	if (timeout < 0)
		timeout = json_is_integer(json_object_get(cfg, "StopTimeout")) ?
				  (int)json_integer_value(json_object_get(cfg, "StopTimeout")) : 10;
	json_decref(cfg);
	st_container_free(&c);
	rt = ctr_rt_get(d, id);
	exits = rt ? rt->exits : 0;
	ret = ctr_signal(d, id, sig, false, err);
	/* Docker unfreezes a paused container once signalled, so that the
	 * signal is handled (a frozen task does not even die of SIGKILL). */
	resume_if_paused(d, id);
	if (ret == 0 && !wait_exit(d, id, exits, timeout)) {
		log_info("container %.12s: no exit %d s after signal %d; killing it", id, timeout, sig);
		ret = ctr_signal(d, id, SIGKILL, true, err);
		if (ret == 0 && !wait_exit(d, id, exits, 15))
			ret = err_set(err, EBUSY, "container %s did not exit after SIGKILL", id);
	}
	if (ret < 0 && !wait_exit(d, id, exits, 0))
		goto out;
	ret = 0;
	if (!restart)
		goto out;
start:
	ret = st_container_find(d->ctr->sc, id, &c, err);
	if (ret < 0)
		goto out;
	ret = start_locked(d, &c, err);
	if (ret == 0) {
		c.restart_count = 0;
	}
	st_container_free(&c);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int ctr_kill(struct daemon *d, const char *ref, const char *signal, struct shoal_err *err)
{
	struct st_container c;
	int ret, sig;

	sig = ctr_parse_signal(signal && *signal ? signal : "KILL", err);
	if (sig < 0)
		return sig;
	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out;
	if (strcmp(c.status, "running") != 0) {
		ret = err_set(err, EBUSY, "Container %s is not running", c.id);
	} else {
		if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT)
			manual_stop_set(d, &c, true);
		ret = ctr_signal(d, c.id, sig, false, err);
		/* A terminating signal to a paused container: let it act. */
		if (ret == 0 && (sig == SIGKILL || sig == SIGTERM || sig == SIGINT))
			resume_if_paused(d, c.id);
	}
	st_container_free(&c);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* ---- pause ------------------------------------------------------------------------ */

bool ctr_is_paused(const struct st_container *c)
{
	json_t *ns = load_obj(c->net_settings);
	bool v = strcmp(c->status, "running") == 0 && json_is_true(json_object_get(ns, "_paused"));

	json_decref(ns);
	return v;
}

/* Thaw id if it is paused and forget the flag (d->lock held). */
static void resume_if_paused(struct daemon *d, const char *id)
{
	json_t *req, *rep = NULL, *ns;
	struct shoal_err err = { 0 };
	struct st_container c;

	if (st_container_find(d->ctr->sc, id, &c, NULL) < 0)
		return;
	if (!ctr_is_paused(&c)) {
		st_container_free(&c);
		return;
	}
	req = json_pack("{s:s}", "op", "resume");
	if (ctr_shim_call(d, c.id, req, &rep, NULL, &err) < 0 ||
	    !json_is_true(json_object_get(rep, "ok")))
		log_warn("container %.12s: unpause after signal: %s", c.id,
			 err.msg[0] ? err.msg : str_or(rep, "message", "refused by the shim"));
	json_decref(req);
	json_decref(rep);
	ns = load_obj(c.net_settings);
	json_object_del(ns, "_paused");
	free(c.net_settings);
	c.net_settings = json_dumps(ns, JSON_COMPACT);
	json_decref(ns);
	st_container_update(d->ctr->sc, &c, NULL);
	ctr_changed(d);
	st_container_free(&c);
}

/* POST /containers/{id}/pause|unpause: the shim freezes / thaws it; the
 * row keeps "running" (exits, stop and kill work as for any running
 * container) and the flag shows in State.Paused / Status "paused". */
int ctr_pause(struct daemon *d, const char *ref, bool pause, struct shoal_err *err)
{
	json_t *req = json_pack("{s:s}", "op", pause ? "pause" : "resume"), *rep = NULL, *ns;
	struct st_container c;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out;
	if (strcmp(c.status, "running") != 0) {
		ret = err_set(err, EBUSY, "Container %s is not running", c.id);
	} else if (ctr_is_paused(&c) == pause) {
		ret = err_set(err, EBUSY, pause ? "Container %s is already paused" :
						  "Container %s is not paused", c.id);
	} else {
		ret = ctr_shim_call(d, c.id, req, &rep, NULL, err);
		if (ret == 0 && !json_is_true(json_object_get(rep, "ok")))
			ret = err_set(err, EIO, "Cannot %s container %s: %s", pause ? "pause" : "unpause",
				      c.id, str_or(rep, "message", "refused by the shim"));
	}
	if (ret == 0) {
		ns = load_obj(c.net_settings);
		if (pause)
			json_object_set_new(ns, "_paused", json_true());
		else
			json_object_del(ns, "_paused");
		free(c.net_settings);
		c.net_settings = json_dumps(ns, JSON_COMPACT);
		json_decref(ns);
		ret = st_container_update(d->ctr->sc, &c, err);
		ctr_changed(d);
		log_info("container %.12s (%s) %s", c.id, c.name, pause ? "paused" : "unpaused");
	}
	st_container_free(&c);
out:
	pthread_mutex_unlock(&d->lock);
	json_decref(rep);
	json_decref(req);
	return ret;
}

/* ---- wait ------------------------------------------------------------------------- */

enum wait_cond { W_NOT_RUNNING, W_NEXT_EXIT, W_REMOVED };

struct waiter {
	struct daemon *d;
	char id[65];
	enum wait_cond cond;
	uint64_t exits;
	int fd;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct daemon *d = w->d;
	struct st_container c;
	struct ctr_rt *rt;
	int code = 0;
	char buf[128];

	pthread_mutex_lock(&d->lock);
	for (;;) {
		if (d->ctr->closing) {
			/* no answer rather than a wrong one: the client sees the
			 * connection end with shoald */
			pthread_mutex_unlock(&d->lock);
			free(w);
			return NULL;
		}
		rt = ctr_rt_get(d, w->id);
		if (!rt)
			break;
		if (w->cond == W_NEXT_EXIT && rt->exits > w->exits) {
			code = rt->last_exit;
			break;
		}
		if (w->cond == W_REMOVED && rt->removed) {
			code = rt->last_exit;
			break;
		}
		if (w->cond == W_NOT_RUNNING) {
			if (st_container_find(d->ctr->sc, w->id, &c, NULL) < 0) {
				code = rt->last_exit;
				break;
			}
			code = c.exit_code;
			bool done = strcmp(c.status, "running") != 0;
			st_container_free(&c);
			if (done)
				break;
		}
		pthread_cond_wait(&d->ctr->changed, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	snprintf(buf, sizeof(buf), "{\"StatusCode\":%d,\"Error\":null}\n", code);
	write_all(w->fd, buf, strlen(buf));
	close(w->fd);
	free(w);
	return NULL;
}

int ctr_wait_start(struct daemon *d, const char *ref, const char *condition, int *fd_out,
		   struct shoal_err *err)
{
	struct st_container c;
	struct waiter *w;
	struct ctr_rt *rt;
	pthread_attr_t a;
	pthread_t t;
	int p[2], ret;
	enum wait_cond cond;

	if (!condition || !*condition || strcmp(condition, "not-running") == 0)
		cond = W_NOT_RUNNING;
	else if (strcmp(condition, "next-exit") == 0)
		cond = W_NEXT_EXIT;
	else if (strcmp(condition, "removed") == 0)
		cond = W_REMOVED;
	else
		return err_set(err, EINVAL, "invalid condition: \"%s\"", condition);
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(err, ENOMEM, "out of memory");
	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret == -ENOENT && strlen(ref) == 64) {
		/* Removed already (--rm of a short run, before a wait that was
		 * sent before the start got here): answer with its exit. */
		for (rt = d->ctr->rts; rt; rt = rt->next) {
			if (strcmp(rt->id, ref) != 0 || !rt->removed || !rt->exits)
				continue;
			pthread_mutex_unlock(&d->lock);
			free(w);
			if (pipe2(p, O_CLOEXEC) < 0)
				return err_set(err, errno, "pipe: %s", strerror(errno));
			{
				char buf[128];
				snprintf(buf, sizeof(buf), "{\"StatusCode\":%d,\"Error\":null}\n",
					 rt->last_exit);
				write_all(p[1], buf, strlen(buf));
			}
			close(p[1]);
			*fd_out = p[0];
			return 0;
		}
	}
	if (ret < 0) {
		pthread_mutex_unlock(&d->lock);
		free(w);
		return ret;
	}
	rt = ctr_rt_get(d, c.id);
	if (rt && strcmp(c.status, "running") != 0 && !rt->exits)
		rt->last_exit = c.exit_code;
	/*
	 * A next-exit wait sent before the start but handled after a short
	 * first run ended (a client that does not wait for this reply's
	 * headers before it starts, as docker does): that run's exit is
	 * the one it wants. Only for a new container's first run.
	 */
	if (rt && cond == W_NEXT_EXIT && strcmp(c.status, "running") != 0 && rt->starts == 1 &&
	    rt->exits == 1 && ctr_now_ns() - rt->exit_ns < 2000000000LL &&
	    ctr_now_ns() - c.created < 10000000000LL) {
		char buf[128];
		int code = rt->last_exit;

		st_container_free(&c);
		pthread_mutex_unlock(&d->lock);
		free(w);
		if (pipe2(p, O_CLOEXEC) < 0)
			return err_set(err, errno, "pipe: %s", strerror(errno));
		snprintf(buf, sizeof(buf), "{\"StatusCode\":%d,\"Error\":null}\n", code);
		write_all(p[1], buf, strlen(buf));
		close(p[1]);
		*fd_out = p[0];
		return 0;
	}
	w->d = d;
	w->cond = cond;
	w->exits = rt ? rt->exits : 0;
	memcpy(w->id, c.id, sizeof(w->id));
	st_container_free(&c);
	pthread_mutex_unlock(&d->lock);
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(w);
		return err_set(err, errno, "pipe: %s", strerror(errno));
	}
	w->fd = p[1];
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 128 * 1024);
	ret = pthread_create(&t, &a, wait_thread, w);
	pthread_attr_destroy(&a);
	if (ret) {
		close(p[0]);
		close(p[1]);
		free(w);
		return err_set(err, ret, "thread: %s", strerror(ret));
	}
	*fd_out = p[0];
	return 0;
}

/* ---- reconcile at start-up -------------------------------------------------------- */

static bool running_id12(struct st_container *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].status, "running") == 0 && strncmp(v[i].id, name, 12) == 0 &&
		    strlen(name) == 12)
			return true;
	return false;
}

static bool known_id(struct st_container *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].id, name) == 0)
			return true;
	return false;
}

static void sweep_dir(struct daemon *d, const char *sub, struct st_container *v, size_t n)
{
	char dir[4200], p[4600];
	struct dirent *de;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/%s", d->cfg.exec_root, sub);
	dp = opendir(dir);
	if (!dp)
		return;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (strcmp(sub, "netns") == 0 && !running_id12(v, n, de->d_name)) {
			log_info("reconcile: removing stale network namespace %s", p);
			netns_remove(p);
		} else if (strcmp(sub, "containers") == 0 && !known_id(v, n, de->d_name)) {
			log_info("reconcile: removing stale bundle %s", p);
			fsutil_rm_rf(p);
		}
	}
	closedir(dp);
}

int ctr_reconcile(struct daemon *d, struct shoal_err *err)
{
	struct st_container *v = NULL;
	size_t n = 0;
	int ret, alive = 0, exited = 0;

	ret = st_container_list(d->ctr->sc, &v, &n, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct st_container *c = &v[i];
		struct shoal_err e2 = { 0 };
		char rootfs[4096], fin[40] = "";
		int code;
		bool oom = false;

		if (strcmp(c->status, "running") != 0) {
			json_t *ns = load_obj(c->net_settings);
			char p[4200];

			/* Nothing of a run may stay for a stopped container. */
			disconnect_all(d, c->id);
			ctr_netns_path(d, c->id, p, sizeof(p));
			if (access(p, F_OK) == 0)
				netns_remove(p);
			ctr_bundle_dir(d, c->id, p, sizeof(p));
			fsutil_rm_rf(p);
			json_decref(ns);
			continue;
		}
		/* The rootfs reference this run holds (remounted if need be). */
		if (d->storage->ops->get(d->storage, c->id, rootfs, sizeof(rootfs), &e2) < 0)
			log_error("reconcile: container %.12s: rootfs: %s", c->id, e2.msg);
		if (monitor_start(d, c->id, true, &e2) == 0) {
			log_info("reconcile: container %.12s (%s) is running (pid %d): reattached",
				 c->id, c->name, c->pid);
			alive++;
			continue;
		}
		if (read_exit_json(d, c->id, &code, fin, &oom) == 0) {
			log_info("reconcile: container %.12s exited with %d while shoald was away",
				 c->id, code);
			handle_exit(d, c->id, code, fin, oom, NULL);
		} else {
			log_warn("reconcile: container %.12s: shim and exit record are gone; marking it exited (255)",
				 c->id);
			handle_exit(d, c->id, 255, NULL, false,
				    "the container's shim disappeared without recording an exit");
		}
		exited++;
	}
	/* Restart policies: a back-off cut short by the restart, and "always"
	 * / "unless-stopped" (not stopped by a user) containers that are down. */
	for (size_t i = 0; i < n; i++) {
		struct st_container c;
		json_t *hc;
		const char *pol;

		if (st_container_find(d->ctr->sc, v[i].id, &c, NULL) < 0)
			continue;
		hc = load_obj(c.host_config);
		pol = str_or(json_object_get(hc, "RestartPolicy"), "Name", "no");
		if (strcmp(c.status, "restarting") == 0 ||
		    (strcmp(c.status, "exited") == 0 &&
		     (strcmp(pol, "always") == 0 ||
		      (strcmp(pol, "unless-stopped") == 0 && !manual_stop_get(&c))))) {
			if (strcmp(pol, "always") == 0)
				manual_stop_set(d, &c, false);
			log_info("reconcile: container %.12s (%s): restart policy %s", c.id, c.name, pol);
			snprintf(c.status, sizeof(c.status), "restarting");
			schedule_restart(d, &c);
		}
		json_decref(hc);
		st_container_free(&c);
	}
	/* Running containers keep their published ports. */
#if HAVE_PORTS
	{
		struct port_binding *all = NULL;
		size_t na = 0, cap = 0;

		st_container_list_free(v, n);
		v = NULL;
		n = 0;
		if (st_container_list(d->ctr->sc, &v, &n, NULL) == 0) {
			for (size_t i = 0; i < n; i++) {
				struct port_rec recs[MAX_BINDINGS];
				json_t *ns;
				size_t k;

				if (strcmp(v[i].status, "running") != 0)
					continue;
				ns = load_obj(v[i].net_settings);
				k = bindings_from(ns, recs, MAX_BINDINGS);
				json_decref(ns);
				for (size_t j = 0; j < k; j++) {
					if (na == cap) {
						cap = cap ? cap * 2 : 16;
						all = realloc(all, cap * sizeof(*all));
						if (!all)
							break;
					}
					all[na++] = (struct port_binding){
						.host_ip = recs[j].host_ip, .host_port = recs[j].host_port,
						.ctr_port = recs[j].ctr_port, .proto = recs[j].proto,
						.ctr_ip = recs[j].ctr_ip, .ifindex = recs[j].ifindex };
				}
			}
			/* Only with bindings of our own: the map may hold entries
			 * published by other means (tests, tools), and bindings of
			 * containers that ended meanwhile were released above. */
			if (na) {
				struct shoal_err e3 = { 0 };
				if (ports_sync(d, all, na, &e3) < 0)
					log_error("reconcile: published ports: %s", e3.msg);
			}
		}
		free(all);
	}
#endif
	sweep_dir(d, "netns", v, n);
	sweep_dir(d, "containers", v, n);
	log_info("reconcile: %zu containers, %d running reattached, %d exited meanwhile", n, alive,
		 exited);
	st_container_list_free(v, n);
	return 0;
}
