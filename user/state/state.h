/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h - the state store: SQLite (WAL) at <data-root>/shoal.db, the
 * only authority. The kernel (BPF maps, links) is derived from it.
 *
 * One transaction per API call: the daemon calls state_begin() before a
 * mutation and state_commit() or state_rollback() after. Getters work
 * inside or outside a transaction. The schema is versioned with
 * PRAGMA user_version and an ordered list of migrations.
 *
 * Addresses are uint32 in network byte order, as in include/shoal_maps.h.
 * Every function returns 0 or -errno and fills *err on failure.
 */
#ifndef SHOAL_STATE_H
#define SHOAL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct state;

#define STATE_ID_LEN 65 /* 64 hex + NUL */
#define STATE_NAME_LEN 256
#define STATE_DRIVER_LEN 32
#define STATE_PATH_LEN 4096

struct st_network {
	char id[STATE_ID_LEN];
	char name[STATE_NAME_LEN];
	char driver[STATE_DRIVER_LEN]; /* "local" (single host) or "overlay" */
	uint32_t net_id;   /* map key: local id (1..4095) or VNI */
	uint32_t subnet;   /* NBO */
	uint8_t prefix;    /* subnet prefix length */
	uint32_t gateway;  /* NBO */
	uint32_t ip_range; /* NBO; 0 = whole subnet */
	uint8_t ip_range_prefix;
	uint32_t mtu;
	bool attachable;
	bool internal;
	char *labels_json;  /* JSON object text, malloc'd; NULL = {} */
	char *options_json; /* JSON object text, malloc'd; NULL = {} */
	int64_t created;    /* unix seconds */
};

struct st_endpoint {
	char id[STATE_ID_LEN];
	char network_id[STATE_ID_LEN];
	uint32_t ep_id;                /* map key of ep_stats, unique, never reused */
	char netns[STATE_PATH_LEN];    /* netns path the endpoint lives in ("" remote) */
	char host_ifname[16];          /* host end of the veth ("" remote) */
	char container_id[STATE_ID_LEN]; /* "" when attached by netns */
	uint32_t ip;                   /* NBO */
	uint8_t mac[6];
	uint32_t node_ip;              /* NBO; 0 = this node */
	bool remote;                   /* learnt peer, not a local veth */
	int64_t created;
};

int state_open(struct state **st, const char *db_path, struct shoal_err *err);
void state_close(struct state *st);
int state_schema_version(struct state *st); /* >= 1 once open */

int state_begin(struct state *st, struct shoal_err *err);
int state_commit(struct state *st, struct shoal_err *err);
void state_rollback(struct state *st);

/* Networks. Free the json members with st_network_free(). */
void st_network_free(struct st_network *n);
void st_network_list_free(struct st_network *v, size_t n);
/* -EEXIST (name taken) with a message naming it. */
int state_network_insert(struct state *st, const struct st_network *n, struct shoal_err *err);
/* By exact name, full id, or unique id prefix (as Docker resolves).
 * -ENOENT "network X not found"; -EINVAL if the prefix is ambiguous. */
int state_network_get(struct state *st, const char *ref, struct st_network *out, struct shoal_err *err);
int state_network_list(struct state *st, struct st_network **out, size_t *n, struct shoal_err *err);
int state_network_delete(struct state *st, const char *id, struct shoal_err *err);
/* Lowest free local network id in [SHOAL_LOCAL_NETID_MIN, MAX]; -ENOSPC. */
int state_network_next_local_id(struct state *st, uint32_t *out, struct shoal_err *err);

/* Endpoints. */
int state_endpoint_insert(struct state *st, const struct st_endpoint *e, struct shoal_err *err);
int state_endpoint_delete(struct state *st, const char *id, struct shoal_err *err);
int state_endpoint_get(struct state *st, const char *id, struct st_endpoint *out, struct shoal_err *err);
/* The endpoint of network_id whose netns is netns_path; -ENOENT if none. */
int state_endpoint_find_netns(struct state *st, const char *network_id, const char *netns_path,
			      struct st_endpoint *out, struct shoal_err *err);
/* network_id NULL = all endpoints. *out is malloc'd (free()). */
int state_endpoint_list(struct state *st, const char *network_id, struct st_endpoint **out,
			size_t *n, struct shoal_err *err);
/* Next ep_id: one more than the largest ever handed out (kept in meta). */
int state_endpoint_next_ep_id(struct state *st, uint32_t *out, struct shoal_err *err);

/* Node-wide key/value strings (node name, counters...). value malloc'd. */
int state_meta_get(struct state *st, const char *key, char **value, struct shoal_err *err);
int state_meta_set(struct state *st, const char *key, const char *value, struct shoal_err *err);

#endif
