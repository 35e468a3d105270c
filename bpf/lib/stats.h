/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * stats.h - counters. Endpoint counters (ep_stats) are kept only when
 * node_config has SHOAL_CFG_ACCOUNTING; node counters (node_stats) are
 * always kept: they are rare events (drops, underlay traffic) and the only
 * trace of packets no endpoint can be charged with.
 *
 * Both maps are per-CPU, so a plain += on the looked-up value is safe
 * (TC programs run with preemption/migration disabled). A missing ep_stats
 * entry means userspace has not created it (yet): skip, never insert from
 * BPF, so a stale ep_id cannot fill the map.
 */
#ifndef SHOAL_BPF_STATS_H
#define SHOAL_BPF_STATS_H

#include "lib/common.h"
#include "lib/maps.h"

/* Accounting switch, read once per packet by the entry programs. */
static __always_inline bool acct_enabled(const struct shoal_node_cfg *cfg)
{
	return cfg && (cfg->flags & SHOAL_CFG_ACCOUNTING);
}

static __always_inline struct shoal_ep_stats *ep_stats_get(bool acct, __u32 ep_id)
{
	if (!acct)
		return NULL;
	return bpf_map_lookup_elem(&ep_stats, &ep_id);
}

/* The three below take the value from ep_stats_get(); NULL = skip. */
static __always_inline void stats_tx(struct shoal_ep_stats *st, __u32 bytes)
{
	if (st) {
		st->tx_packets++;
		st->tx_bytes += bytes;
	}
}

static __always_inline void stats_rx(struct shoal_ep_stats *st, __u32 bytes)
{
	if (st) {
		st->rx_packets++;
		st->rx_bytes += bytes;
	}
}

static __always_inline void stats_drop(struct shoal_ep_stats *st, enum shoal_drop_reason reason)
{
	/* The explicit bound keeps the verifier's view of the index tight
	 * even if a caller passes a computed reason. */
	if (st && (__u32)reason < SHOAL_DROP_MAX)
		st->drops[reason]++;
}

/* rx of an endpoint other than the one the program runs for. */
static __always_inline void ep_count_rx(bool acct, __u32 ep_id, __u32 bytes)
{
	stats_rx(ep_stats_get(acct, ep_id), bytes);
}

static __always_inline struct shoal_node_stats *node_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&node_stats, &zero);
}

static __always_inline void node_count_drop(enum shoal_drop_reason reason)
{
	struct shoal_node_stats *st = node_stats_get();

	if (st && (__u32)reason < SHOAL_DROP_MAX)
		st->drops[reason]++;
}

static __always_inline void node_count_vxlan_tx(__u32 bytes)
{
	struct shoal_node_stats *st = node_stats_get();

	if (st) {
		st->tx_vxlan_packets++;
		st->tx_vxlan_bytes += bytes;
	}
}

static __always_inline void node_count_vxlan_rx(__u32 bytes)
{
	struct shoal_node_stats *st = node_stats_get();

	if (st) {
		st->rx_vxlan_packets++;
		st->rx_vxlan_bytes += bytes;
	}
}

#endif /* SHOAL_BPF_STATS_H */
