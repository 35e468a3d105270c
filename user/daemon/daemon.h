/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h - shoald's process-wide context and the operations its API
 * handlers call. Every mutation runs under d->lock and inside one state
 * transaction; the kernel side (links, maps, filters) is applied inside
 * that transaction and undone if the commit does not happen.
 */
#ifndef SHOAL_DAEMON_H
#define SHOAL_DAEMON_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "../config/config.h"
#include "../loader/loader.h"
#include "../state/state.h"

/* The host-side device that holds every local network's gateway address. */
#define SHOAL_HOST_DEV "shoal0"
/* Prefix of the host end of container veths: "shl" + 12 hex of the endpoint id. */
#define SHOAL_VETH_PREFIX "shl"

struct storage_driver;
struct image_store;
struct swarm;
struct ctr_mgr;
struct st_volumes;
struct obs;

struct daemon {
	struct shoal_config cfg;
	struct state *st;
	struct storage_driver *storage; /* the configured storage driver */
	struct image_store *images;
	struct loader bpf;
	pthread_mutex_t lock; /* serialises state + kernel mutations */
	int lock_fd;          /* flock on <data-root>/shoal.lock */
	int host_dev_ifindex; /* SHOAL_HOST_DEV */
	char sock_path[4096];
	char id[65];          /* this engine's ID (persisted in meta) */
	/* The underlay for overlay networks (ifindex 0 = none configured). */
	struct {
		int ifindex;
		char name[16];
		uint32_t ip; /* NBO: this node's VXLAN endpoint address */
		uint8_t plen; /* its prefix length on the device; 0 = unknown */
		uint8_t mac[6];
		int mtu;
	} underlay;
	int64_t started;
	struct swarm *sw; /* swarm mode (swarm.c); never NULL after swarm_open */
	struct ctr_mgr *ctr; /* containers (container*.c) */
	struct st_volumes *vols; /* volumes and container mounts (volumes.c) */
	struct obs *obs;  /* flows, events, metrics (obs.h) */
};

/* HTTP status for an errno, as the API maps them. */
int daemon_http_status(int neg_errno);

/* network.c: networks. */
int net_create(struct daemon *d, json_t *req, char id_out[65], struct shoal_err *err);
int net_remove(struct daemon *d, const char *ref, struct shoal_err *err);
json_t *net_to_json(struct daemon *d, const struct st_network *n);
/* filters: Docker's {"name":[..],"id":[..],"driver":[..],"label":[..]} or NULL. */
int net_list_json(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err);
int net_inspect_json(struct daemon *d, const char *ref, json_t **out, struct shoal_err *err);

/* endpoint.c: attach a network namespace to a network and back. */
int ep_connect_netns(struct daemon *d, const char *net_ref, const char *netns,
		     const char *ip_str, json_t **out, struct shoal_err *err);
/* The same for a container: the row records ctr_id (NULL = none); *out
 * gets the endpoint as stored. d->lock held, no transaction open. */
int ep_connect_container(struct daemon *d, const char *net_ref, const char *netns,
			 const char *ip_str, const char *ctr_id, struct st_endpoint *out,
			 struct shoal_err *err);
int ep_disconnect_netns(struct daemon *d, const char *net_ref, const char *netns,
			struct shoal_err *err);
/* The same when the namespace is destroyed right after (a container's):
 * its veth goes with it, asynchronously, instead of a synchronous delete. */
int ep_disconnect_netns_ex(struct daemon *d, const char *net_ref, const char *netns,
			   bool netns_dying, struct shoal_err *err);
/* A new endpoint row for network n: the requested address (checked) or
 * the next free one, a fresh id and ep_id. The caller fills the rest. */
int ep_prepare(struct daemon *d, const struct st_network *n, const char *ip_str,
	       struct st_endpoint *e, struct shoal_err *err);
/* Program the kernel for an endpoint that state has (connect + reconcile). */
int ep_apply_local(struct daemon *d, const struct st_network *n, const struct st_endpoint *e,
		   bool create_link, struct shoal_err *err);
/* Remove an endpoint's kernel side: veth, map entries, counters. */
void ep_unapply_local(struct daemon *d, const struct st_network *n, const struct st_endpoint *e);
int ep_stats_json(struct daemon *d, json_t **out, struct shoal_err *err);

/* Map values from state rows. */
void net_map_val(const struct st_network *n, struct shoal_net_val *v);

/* underlay.c: resolve --underlay-interface / --advertise-addr, attach from_underlay. */
int daemon_setup_underlay(struct daemon *d, struct shoal_err *err);
/* Refuse --opt encrypted, naming what this kernel lacks. */
int overlay_check_encryption(struct shoal_err *err);

/* peer.c: remote endpoints of overlay networks, programmed by hand or by discovery. */
int peer_add(struct daemon *d, const char *net_ref, const char *ip, const char *mac,
	     const char *node, json_t **out, struct shoal_err *err);
int peer_remove(struct daemon *d, const char *net_ref, const char *ip, struct shoal_err *err);
/* The same without parsing or JSON (gossip discovery); d->lock held. */
int peer_add_ep(struct daemon *d, const char *net_ref, uint32_t ip, const uint8_t mac[6],
		uint32_t node_ip, const char *tag, struct st_endpoint *out, struct shoal_err *err);
int peer_remove_ip(struct daemon *d, const char *net_ref, uint32_t ip, struct shoal_err *err);
int peer_list_json(struct daemon *d, const char *net_ref, json_t **out, struct shoal_err *err);
json_t *peer_to_json(const struct st_endpoint *e);
void peer_map_vals(const struct st_network *n, const struct st_endpoint *e,
		   struct shoal_ep_key *k, struct shoal_ep_val *v);

/* reconcile.c: make the kernel match state at start. */
int daemon_reconcile(struct daemon *d, struct shoal_err *err);
int daemon_apply_node_cfg(struct daemon *d, struct shoal_err *err);

/* netns.c: helpers that act inside another network namespace. */
int netns_check_path(const char *path, struct shoal_err *err);
int netns_sysctl_set(const char *netns_path, const char *key, const char *value,
		     struct shoal_err *err);

/* http.c */
struct MHD_Daemon;
int http_start(struct daemon *d, struct MHD_Daemon **mhd, struct shoal_err *err);
void http_stop(struct MHD_Daemon *mhd);

/*
 * swarm.c: swarm mode (gossip discovery). Hooks called with d->lock held
 * after the local change committed; they publish it when in a swarm.
 */
int swarm_open(struct daemon *d, struct shoal_err *err);  /* restore + rejoin */
void swarm_close(struct daemon *d);
bool swarm_active(struct daemon *d);
int swarm_check_network(struct daemon *d, const char *name, const char *driver,
			struct shoal_err *err);
void swarm_network_created(struct daemon *d, const struct st_network *n);
void swarm_network_removed(struct daemon *d, const struct st_network *n);
void swarm_endpoint_connected(struct daemon *d, const struct st_network *n,
			      const struct st_endpoint *e);
void swarm_endpoint_disconnected(struct daemon *d, const struct st_network *n,
				 const struct st_endpoint *e);
/*
 * Pick a free address for a local endpoint of overlay network n inside
 * this node's settled blocks: 1 and *ip set, 0 when not in swarm mode
 * (allocate as usual), -EAGAIN while no settled block has room (a new
 * block was claimed: retry shortly), other -errno on errors.
 */
int swarm_alloc_ip(struct daemon *d, const struct st_network *n, const uint32_t *used,
		   size_t n_used, uint32_t *ip, struct shoal_err *err);
/* An explicit address for a local endpoint of overlay n: refused when it
 * lies in another node's address block (that node allocates there). */
int swarm_check_ip(struct daemon *d, const struct st_network *n, uint32_t ip,
		   struct shoal_err *err);
json_t *swarm_info_json(struct daemon *d);
json_t *swarm_gossip_counters_json(struct daemon *d);

/* container.c: the name of container id ("" or unknown: NULL); d->lock held. */
const char *ctr_name_of(struct daemon *d, const char *id, char *buf, size_t len);
/*
 * kvdisc.c: discovery through "cluster-store" (etcd). Same shape as the
 * swarm hooks: called with d->lock held. kvdisc_network_claim (inside
 * net_create, before the local commit) registers an overlay network in
 * the store or adopts the store's subnet/VNI for that name;
 * kvdisc_alloc_ip / kvdisc_claim_ip reserve a local endpoint's address
 * in the store (1 = *ip allocated, 0 = not in kv mode); the *_aborted
 * calls undo a claim whose local change did not commit.
 */
int kvdisc_open(struct daemon *d, struct shoal_err *err);
void kvdisc_close(struct daemon *d);
bool kvdisc_active(struct daemon *d);
int kvdisc_network_claim(struct daemon *d, json_t *req, struct st_network *n,
			 struct shoal_err *err);
void kvdisc_network_aborted(struct daemon *d);
void kvdisc_network_created(struct daemon *d, const struct st_network *n);
void kvdisc_network_removed(struct daemon *d, const struct st_network *n);
int kvdisc_alloc_ip(struct daemon *d, const struct st_network *n, const uint32_t *used,
		    size_t n_used, uint32_t *ip, struct shoal_err *err);
int kvdisc_claim_ip(struct daemon *d, const struct st_network *n, uint32_t ip,
		    struct shoal_err *err);
void kvdisc_endpoint_aborted(struct daemon *d);
void kvdisc_endpoint_connected(struct daemon *d, const struct st_network *n,
			       const struct st_endpoint *e);
void kvdisc_endpoint_disconnected(struct daemon *d, const struct st_network *n,
				  const struct st_endpoint *e);
json_t *kvdisc_info_json(struct daemon *d);

/* api_system.c */
json_t *api_version_json(void);
/* Called with d->lock held; n_images counted before taking it. */
json_t *api_info_json(struct daemon *d, size_t n_images);

#endif
