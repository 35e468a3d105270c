/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container.h - containers in shoald (Docker Engine API v1.41 shapes),
 * shared by the container*.c files and api_containers.c.
 *
 *   container.c        create, remove, rename, inspect, list, names
 *   container_run.c    start, stop, kill, wait, exit handling, the
 *                      monitor threads, reconciliation at start-up
 *   container_io.c     attach, exec, logs (streams to the client)
 *   container_stats.c  top, stats
 *
 * Where a container lives:
 *   state (containers table)               identity, config, run state
 *   <data-root>/containers/<id>/           hostname, hosts, resolv.conf,
 *                                          <id>-json.log
 *   storage driver layer <id>              the writable layer
 *   <exec-root>/containers/<id>/           the shim's bundle (shoal_shim.h)
 *   <exec-root>/netns/<id12>               its network namespace (bind mount)
 *   endpoints rows with container_id = id  its network attachments
 *
 * Locking: everything that reads or changes state or the kernel runs
 * under d->lock. Long waits (stop's grace period, wait, follow) release
 * it and sleep on m->changed, which is broadcast whenever a container
 * changes state. The image store takes d->lock itself: call it unlocked.
 */
#ifndef SHOAL_CONTAINER_H
#define SHOAL_CONTAINER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "../state/state_containers.h"

struct daemon;

/* The network a container gets when it names none (Docker's "bridge"). */
#define DEFAULT_NET "shoal0"

/* What the daemon remembers about a container beyond state. */
struct ctr_rt {
	char id[65];
	uint64_t exits;     /* exits seen since shoald started */
	int last_exit;      /* exit code of the last one */
	int64_t exit_ns;    /* when it was recorded */
	uint64_t starts;    /* starts since shoald started */
	uint64_t start_exits; /* exits as they were at the last start */
	int64_t log_off;    /* size of the log before the last start */
	int tty_waiters;    /* tty attach sessions waiting for the next start */
	int64_t started_ns; /* when the last run started (restart back-off) */
	int quick_restarts; /* runs in a row that lasted under 10 s */
	bool monitored;     /* a monitor thread holds a wait connection */
	bool removed;
	struct ctr_rt *next;
};

struct exec_inst;

struct ctr_mgr {
	struct st_containers *sc;
	pthread_cond_t changed; /* with d->lock */
	uint64_t gen;           /* bumped with every broadcast */
	struct ctr_rt *rts;
	struct exec_inst *execs;
	char shim_path[4096];
	bool closing; /* shoald is stopping: leave state alone */
};

/* A published port, as ports.h (the ports module) takes it. */
struct ctr_port {
	uint32_t host_ip;   /* NBO, 0 = any */
	uint16_t host_port; /* 0 = pick one */
	uint16_t ctr_port;
	uint8_t proto;      /* IPPROTO_TCP / IPPROTO_UDP */
};

/* container.c */
int ctr_init(struct daemon *d, struct shoal_err *err);
void ctr_close(struct daemon *d);
/* The runtime record of id, created on first use (d->lock held). */
struct ctr_rt *ctr_rt_get(struct daemon *d, const char *id);
void ctr_rt_forget(struct daemon *d, const char *id);
/* Broadcast a state change (d->lock held). */
void ctr_changed(struct daemon *d);
int ctr_create(struct daemon *d, const char *name, json_t *body, char id_out[65],
	       json_t **warnings, struct shoal_err *err);
int ctr_remove(struct daemon *d, const char *ref, bool force, bool volumes,
	       struct shoal_err *err);
/* The removal itself, for a container that is not running (d->lock held). */
int ctr_remove_locked(struct daemon *d, struct st_container *c, bool volumes,
		      struct shoal_err *err);
int ctr_rename(struct daemon *d, const char *ref, const char *name, struct shoal_err *err);
int ctr_inspect_json(struct daemon *d, const char *ref, json_t **out, struct shoal_err *err);
int ctr_list_json(struct daemon *d, bool all, int limit, json_t *filters, json_t **out,
		  struct shoal_err *err);
json_t *ctr_to_json(struct daemon *d, const struct st_container *c);
/* <data-root>/containers/<id>/hosts, with "ip hostname" when ip != 0. */
int ctr_write_hosts(struct daemon *d, const char *id, const char *hostname, uint32_t ip,
		    struct shoal_err *err);
/* image store callback: a container uses image_id. */
bool ctr_image_in_use(void *arg, const char *image_id);
/* Paths. */
void ctr_data_dir(struct daemon *d, const char *id, char *buf, size_t len);
void ctr_bundle_dir(struct daemon *d, const char *id, char *buf, size_t len);
void ctr_netns_path(struct daemon *d, const char *id, char *buf, size_t len);
void ctr_log_path(struct daemon *d, const char *id, char *buf, size_t len);
/* RFC 3339 with nanoseconds, UTC. */
void ctr_time_str(int64_t unix_ns, char buf[40]);
int64_t ctr_now_ns(void);
/* "0001-01-01T00:00:00Z" for "never", as Docker shows it. */
const char *ctr_time_or_zero(const char *s);
/* Parse a Docker port map key "80/tcp" (proto defaults to tcp). */
int ctr_parse_port_key(const char *key, uint16_t *port, uint8_t *proto, struct shoal_err *err);
/* The bindings of a container's HostConfig (PortBindings, PublishAllPorts
 * with ExposedPorts). *out malloc'd. */
int ctr_port_bindings(json_t *config, json_t *host_config, struct ctr_port **out, size_t *n,
		      struct shoal_err *err);

/* container_run.c */
int ctr_start(struct daemon *d, const char *ref, struct shoal_err *err);
int ctr_stop(struct daemon *d, const char *ref, int timeout, bool restart,
	     struct shoal_err *err);
int ctr_kill(struct daemon *d, const char *ref, const char *signal, struct shoal_err *err);
int ctr_pause(struct daemon *d, const char *ref, bool pause, struct shoal_err *err);
/* `network connect/disconnect NET CONTAINER`: a running container gets
 * (loses) the endpoint at once, a stopped one at its next start. Docker's
 * errors: 404 no such container/network, 403 already connected, 409 not
 * connected, 400 host or none mode. */
int ctr_net_connect(struct daemon *d, const char *net_ref, const char *ref, const char *ip,
		    struct shoal_err *err);
int ctr_net_disconnect(struct daemon *d, const char *net_ref, const char *ref, bool force,
		       struct shoal_err *err);
/* Running and frozen by pause. */
bool ctr_is_paused(const struct st_container *c);
/* Parse "SIGTERM", "TERM", "15": the number, or -EINVAL. */
int ctr_parse_signal(const char *s, struct shoal_err *err);
/* condition: "not-running" (default), "next-exit", "removed". Starts the
 * wait (so a start that follows is seen) and gives a pipe whose read end
 * receives the reply body when it is done. */
int ctr_wait_start(struct daemon *d, const char *ref, const char *condition, int *fd_out,
		   struct shoal_err *err);
/* Send a request line to the shim of id and read its reply line; the
 * connection stays open in *fd_out when fd_out is not NULL. */
int ctr_shim_call(struct daemon *d, const char *id, json_t *req, json_t **reply, int *fd_out,
		  struct shoal_err *err);
/* Start-up: reconnect to running containers, record exits that happened
 * while shoald was away, sweep leftovers. d->lock held. */
int ctr_reconcile(struct daemon *d, struct shoal_err *err);
/* Docker's size strings ("10m", "1g"): bytes, or -1 when malformed. */
int64_t ctr_parse_size(const char *s);
/* The container's cgroup v2 directory, "" without a unified hierarchy. */
void ctr_cgroup_path(const char *id, char *buf, size_t len);
/* A user stopped (or removes) id: no restart policy brings it back
 * (d->lock held). */
void ctr_mark_manual_stop(struct daemon *d, const char *id);
/* Send signal to a running container's init (all: every process). */
int ctr_signal(struct daemon *d, const char *id, int sig, bool all, struct shoal_err *err);

/* container_io.c: handlers that need the HTTP connection. */
struct api_req;
struct reply;
void ctr_api_attach(const struct api_req *q, const char *ref, struct reply *r);
void ctr_api_logs(const struct api_req *q, const char *ref, struct reply *r);
void ctr_api_exec_create(const struct api_req *q, const char *ref, struct reply *r);
void ctr_api_exec(const struct api_req *q, struct reply *r);
void ctr_exec_forget(struct daemon *d, const char *ctr_id);

/* container_fs.c: GET/HEAD/PUT {id}/archive (docker cp), GET {id}/export */
void ctr_api_archive(const struct api_req *q, const char *ref, struct reply *r);
void ctr_api_export(const struct api_req *q, const char *ref, struct reply *r);
/* GET {id}/changes (docker diff) */
void ctr_api_changes(const struct api_req *q, const char *ref, struct reply *r);

/* container_stats.c */
int ctr_top_json(struct daemon *d, const char *ref, const char *ps_args, json_t **out,
		 struct shoal_err *err);
void ctr_api_stats(const struct api_req *q, const char *ref, struct reply *r);

#endif
