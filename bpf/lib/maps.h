/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.h - every map of the data path, in one place. Keys and values are
 * the structs of include/shoal_maps.h. All maps are pinned by name
 * (LIBBPF_PIN_BY_NAME): the daemon pins them under its bpffs directory so
 * that a restarted daemon, the CLI and the programs of every veth share one
 * set. Userspace fills endpoints/ifaces/networks/node_config and creates
 * the ep_stats entry of an endpoint; BPF only reads those and increments
 * counters in place (it never inserts). The one exception is nodes, a
 * cache BPF fills itself (LRU: bounded, nothing to sweep).
 */
#ifndef SHOAL_BPF_MAPS_H
#define SHOAL_BPF_MAPS_H

#include "lib/common.h"

/* {net_id, ip} -> where that endpoint lives (local veth or remote node). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHOAL_MAX_ENDPOINTS);
	__type(key, struct shoal_ep_key);
	__type(value, struct shoal_ep_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

/* host-end ifindex of a container veth -> the endpoint behind it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHOAL_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct shoal_iface_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ifaces SEC(".maps");

/* net_id (VNI for overlays) -> subnet, gateway, vni. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHOAL_MAX_NETWORKS);
	__type(key, __u32);
	__type(value, struct shoal_net_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} networks SEC(".maps");

/* subnet -> network, for isolation between networks (shoal_maps.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SHOAL_MAX_NETWORKS);
	__type(key, struct shoal_subnet_key);
	__type(value, struct shoal_subnet_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} subnets SEC(".maps");

/* key 0: underlay device, node IP, VXLAN port, feature flags. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shoal_node_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_config SEC(".maps");

/* ep_id -> per-CPU counters of one endpoint; userspace sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SHOAL_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct shoal_ep_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ep_stats SEC(".maps");

/* key 0: per-CPU counters no endpoint can be charged with. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shoal_node_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_stats SEC(".maps");

/* peer node underlay IP -> its MAC on the underlay (learnt; see shoal_maps.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SHOAL_MAX_NODES);
	__type(key, __u32);
	__type(value, struct shoal_node_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nodes SEC(".maps");

/* {endpoint, direction, 5-tuple} -> per-CPU flow counters (lib/flow.h).
 * LRU: bounded, the least recently used flow makes room; BPF inserts. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SHOAL_FLOWS_DEFAULT);
	__type(key, struct shoal_flow_key);
	__type(value, struct shoal_flow_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/* key 0: per-CPU flow/event health counters and the event rate limiter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shoal_obs_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} obs_stats SEC(".maps");

/* Drop and flow events for `shoal monitor` (lib/events.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SHOAL_EVENTS_RING_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

static __always_inline struct shoal_node_cfg *node_cfg_get(void)
{
	__u32 zero = 0;

	/* An ARRAY lookup of key 0 < max_entries never fails, but the
	 * verifier does not know that: callers still check for NULL. */
	return bpf_map_lookup_elem(&node_config, &zero);
}

#endif /* SHOAL_BPF_MAPS_H */
