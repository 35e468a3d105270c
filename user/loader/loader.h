/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.h - the BPF side of shoald: opens the shoal skeleton with its
 * maps pinned under <bpffs-root>/shoal/<node-name>/ (reusing pins that
 * exist, so counters and entries survive a daemon restart), loads the
 * programs, attaches them on TC hooks, and reads/writes the maps.
 *
 * Programs stay attached when shoald exits or dies: a TC filter holds
 * its program and the program its maps. loader_close() never detaches.
 */
#ifndef SHOAL_LOADER_H
#define SHOAL_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "../../include/shoal_maps.h"
#include "../common/err.h"

struct shoal_bpf; /* the bpftool skeleton (shoal.skel.h) */

struct loader {
	struct shoal_bpf *skel;
	char pin_dir[4096];
	int ncpus; /* possible CPUs, for per-CPU values */
};

/* Mount bpffs at bpffs_root if it is not a bpffs, create the pin dir,
 * open + load the skeleton with pinning. */
int loader_open(struct loader *l, const char *bpffs_root, const char *node_name,
		struct shoal_err *err);

/* Load-time settings of the observability maps (0 = default). */
struct loader_opts {
	uint32_t flow_table_size; /* max_entries of flows */
	uint32_t event_rate;      /* events per CPU per second */
};
/*
 * loader_open() with options. A pinned flows map of another size is
 * replaced (its flows are lost, logged; flow counters in obs_stats are
 * kept, so evictions are then over-counted by the entries dropped).
 */
int loader_open_opts(struct loader *l, const char *bpffs_root, const char *node_name,
		     const struct loader_opts *o, struct shoal_err *err);
void loader_close(struct loader *l);
/* Remove every pin under pin_dir and the dir (tests, `shoald --purge`). */
int loader_unpin(const char *bpffs_root, const char *node_name, struct shoal_err *err);

/* Create clsact on ifindex if missing; attach from_container on ingress and
 * to_container on egress, replacing what is there (so a restarted daemon's
 * fresh programs take over). */
int loader_attach_endpoint(struct loader *l, int ifindex, struct shoal_err *err);
/* Is our filter present on both hooks of ifindex? 1/0/-errno. */
int loader_endpoint_attached(struct loader *l, int ifindex);
/* Attach from_underlay on the ingress of the underlay device. */
int loader_attach_underlay(struct loader *l, int ifindex, struct shoal_err *err);
int loader_detach_underlay(struct loader *l, int ifindex, struct shoal_err *err);

/* node_config[0]. */
int loader_set_node_cfg(struct loader *l, const struct shoal_node_cfg *cfg, struct shoal_err *err);
int loader_get_node_cfg(struct loader *l, struct shoal_node_cfg *cfg, struct shoal_err *err);

int loader_put_network(struct loader *l, uint32_t net_id, const struct shoal_net_val *v,
		       struct shoal_err *err);
int loader_del_network(struct loader *l, uint32_t net_id, struct shoal_err *err);
int loader_put_endpoint(struct loader *l, const struct shoal_ep_key *k,
			const struct shoal_ep_val *v, struct shoal_err *err);
int loader_del_endpoint(struct loader *l, const struct shoal_ep_key *k, struct shoal_err *err);
int loader_put_iface(struct loader *l, uint32_t ifindex, const struct shoal_iface_val *v,
		     struct shoal_err *err);
int loader_del_iface(struct loader *l, uint32_t ifindex, struct shoal_err *err);

/* ep_stats: create a zeroed entry unless one exists (keeps counters over a
 * restart); read the sum over CPUs (-ENOENT if absent); delete. */
int loader_stats_init(struct loader *l, uint32_t ep_id, struct shoal_err *err);
int loader_stats_read(struct loader *l, uint32_t ep_id, struct shoal_ep_stats *sum,
		      struct shoal_err *err);
int loader_stats_del(struct loader *l, uint32_t ep_id, struct shoal_err *err);
int loader_node_stats_read(struct loader *l, struct shoal_node_stats *sum, struct shoal_err *err);

/* nodes (the data path's cache of peer underlay MACs; BPF fills it, LRU,
 * never swept): one entry by underlay IP (NBO); -ENOENT if not learnt. */
int loader_get_node(struct loader *l, uint32_t node_ip, struct shoal_node_val *v,
		    struct shoal_err *err);

/* ---- observability (flows, obs_stats, events) ---- */

/* One flow summed over the CPUs: packets/bytes added, first_ns the
 * earliest, last_ns the latest, tcp_flags ORed. */
int loader_flow_read(struct loader *l, const struct shoal_flow_key *k, struct shoal_flow_val *sum,
		     struct shoal_err *err);
/* Every flow (summed) to fn; fn returns 0 to go on, <0 to stop. */
int loader_flows_foreach(struct loader *l,
			 int (*fn)(const struct shoal_flow_key *k, const struct shoal_flow_val *v,
				   void *arg),
			 void *arg, struct shoal_err *err);
uint32_t loader_flows_capacity(struct loader *l);
int loader_obs_stats_read(struct loader *l, struct shoal_obs_stats *sum, struct shoal_err *err);
/* The events ring buffer's fd (owned by the skeleton). */
int loader_events_fd(struct loader *l);

/* Iterate keys for reconciliation. fn returns 0 to go on, <0 to stop. */
enum loader_map { LOADER_MAP_NETWORKS, LOADER_MAP_ENDPOINTS, LOADER_MAP_IFACES, LOADER_MAP_EP_STATS };
int loader_foreach_key(struct loader *l, enum loader_map m,
		       int (*fn)(const void *key, void *arg), void *arg, struct shoal_err *err);

/*
 * nat.c: published ports and masquerade (bpf/lib/nat.h). ports: one
 * binding per key; foreach walks a snapshot of the keys. ext_ifaces and
 * host_addrs: the external interfaces and the host's addresses on them.
 */
int loader_put_port(struct loader *l, const struct shoal_port_key *k,
		    const struct shoal_port_val *v, struct shoal_err *err);
int loader_get_port(struct loader *l, const struct shoal_port_key *k, struct shoal_port_val *v);
int loader_del_port(struct loader *l, const struct shoal_port_key *k, struct shoal_err *err);
int loader_foreach_port(struct loader *l,
			int (*fn)(const struct shoal_port_key *k, const struct shoal_port_val *v,
				  void *arg),
			void *arg, struct shoal_err *err);
int loader_put_ext_iface(struct loader *l, uint32_t ifindex, const struct shoal_ext_val *v,
			 struct shoal_err *err);
int loader_get_ext(struct loader *l, uint32_t ifindex, struct shoal_ext_val *v);
int loader_del_ext_iface(struct loader *l, uint32_t ifindex, struct shoal_err *err);
int loader_put_host_addr(struct loader *l, uint32_t addr, uint32_t ifindex, struct shoal_err *err);
/* Remove the ext_ifaces entries (and their from_external filters) and
 * host_addrs entries not in the given sets (start-up re-discovers them;
 * what is still there is never removed, so no packet sees a gap). */
int loader_sweep_ext(struct loader *l, const uint32_t *ifindexes, size_t nifs,
		     const uint32_t *addrs, size_t naddrs, struct shoal_err *err);
/* One conntrack entry; -ENOENT if absent. */
/* The local veth (host end ifindex) whose endpoint has address ip (NBO):
 * its ifindex, or -ENOENT. A walk of ifaces: for start-up, not per packet. */
int loader_find_iface_by_ip(struct loader *l, uint32_t ip);
int loader_get_ct(struct loader *l, const struct shoal_ct_key *k, struct shoal_ct_val *v);
/* Attach from_external on the ingress of an external interface /
 * remove it (only if the filter there runs from_external). */
int loader_attach_external(struct loader *l, int ifindex, struct shoal_err *err);
int loader_detach_external(struct loader *l, int ifindex, struct shoal_err *err);
/*
 * The socket-level half (bpf/lib/sock.h): attach the cgroup/connect4,
 * sendmsg4, recvmsg4 and getpeername4 programs to the root of the cgroup2
 * hierarchy as bpf_links pinned in the pin dir (so they outlive shoald
 * and a restart swaps the programs in place), scoped to the network
 * namespace of the calling thread by its cookie. -ENOENT: no cgroup2.
 */
int loader_attach_sock(struct loader *l, struct shoal_err *err);

#endif
