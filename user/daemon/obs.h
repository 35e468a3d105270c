/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obs.h - per-container traffic observability in shoald: the events
 * reader behind `shoal monitor` (monitor.c), the flow table behind
 * `shoal flows` (flows.c) and the Prometheus exposition (metrics.c).
 *
 * Names: an endpoint is shown by its container's name when it has a
 * container, else by its network namespace's name (the last path
 * component), as `shoal network inspect` does.
 */
#ifndef SHOAL_DAEMON_OBS_H
#define SHOAL_DAEMON_OBS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "../state/state.h"
#include "api.h"

struct daemon;
struct MHD_Daemon;

/* What the events reader knows about a local endpoint (a snapshot of
 * state, refreshed without blocking the reader on d->lock). */
struct obs_ep {
	uint32_t ep_id;
	uint32_t ip;           /* NBO */
	char id[65];           /* endpoint id */
	char container_id[65]; /* "" for a netns endpoint */
	char name[256];        /* container name, else netns name */
	char network[256];
	char netns[STATE_PATH_LEN];
};

struct obs {
	struct daemon *d;
	pthread_t thread;
	bool running;
	volatile bool stop;
	struct ring_buffer *rb;
	pthread_mutex_t mu; /* subs, eps, counters below */
	struct obs_sub *subs;
	struct obs_ep *eps;
	size_t n_eps;
	uint64_t eps_refreshed_ms;
	uint64_t ev_read[4];        /* events read from the ring, by SHOAL_EV_* */
	uint64_t slow_reader_drops; /* events a monitor client was too slow for */
	struct MHD_Daemon *metrics_mhd; /* --metrics-addr listener */
	json_t *counter_base; /* persisted process-counter bases (metrics.c) */
};

/* Snapshot d's local endpoints into an obs_ep array (d->lock held). */
int obs_ep_snapshot(struct daemon *d, struct obs_ep **out, size_t *n, struct shoal_err *err);
/* Display name of an endpoint row into buf (d->lock held). */
void obs_ep_name(struct daemon *d, const struct st_endpoint *e, char *buf, size_t len);
/* Does ref name endpoint ep (name, container id/prefix, endpoint id
 * prefix, netns path or name)? */
bool obs_ep_match(const struct obs_ep *ep, const char *ref);

/* monitor.c: start/stop the events reader thread (and the metrics
 * listener); the HTTP stream handler. */
int obs_start(struct daemon *d, struct shoal_err *err);
void obs_stop(struct daemon *d);
void api_monitor(const struct api_req *q, struct reply *r);
/* Live monitor streams (o->mu held). */
size_t obs_sub_count(struct obs *o);
const char *obs_src_file_name(unsigned int id);
const char *obs_proto_name(unsigned int proto, char *buf, size_t len);

/* flows.c: GET /shoal/flows; active flows per endpoint. */
void api_flows(const struct api_req *q, struct reply *r);
/* Idle time after which a flow no longer counts as active. */
#define OBS_FLOW_ACTIVE_NS (30ULL * 1000000000ULL)
struct obs_flow_counts {
	uint32_t ep_id;
	uint64_t active;
};
/* Active flows per endpoint ep_ids[0..n) into active[0..n); also the
 * table's total entries (*entries, may be NULL). */
int obs_active_flows(struct daemon *d, const uint32_t *ep_ids, size_t n, uint64_t *active,
		     uint64_t *entries, struct shoal_err *err);

/* Add "ActiveFlows" to each object of GET /endpoints/stats (by "EpID"). */
void obs_stats_add_active(struct daemon *d, json_t *eps);

/* metrics.c: GET /metrics (Prometheus text format 0.0.4). */
void api_metrics(const struct api_req *q, struct reply *r);
int metrics_listen(struct daemon *d, struct shoal_err *err);
void metrics_save(struct daemon *d);

/* Monotonic clock now, in ns, and a CLOCK_MONOTONIC stamp as wall time. */
uint64_t obs_mono_ns(void);
void obs_mono_to_rfc3339(uint64_t ts_ns, char *buf, size_t len);

#endif
