/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * flow.h - per-flow accounting in the flows map (LRU per-CPU hash, see
 * include/shoal_maps.h), switched by SHOAL_CFG_FLOWS in node_config.
 *
 * Every forwarding path charges the flow of the endpoint(s) involved:
 *   from_container: egress flow of the sender, to the host stack, to a
 *     local endpoint (+ ingress flow of that endpoint: redirect_peer
 *     skips its to_container) or encapsulated to a remote one;
 *   from_underlay:  ingress flow of the local endpoint (inner packet);
 *   to_container:   ingress flow of the endpoint (host stack -> it).
 *
 * The hot path is one per-CPU lookup and plain stores (no atomics: the
 * value is this CPU's). A miss goes to flow_new(), a subprogram: insert
 * (LRU makes room by evicting the least recently used flow), count it
 * in obs_stats, and send a flow start event when those are on. The
 * first FIN or RST a CPU sees on a flow sends a flow end event.
 *
 * L4 fields are read with bpf_skb_load_bytes: it works whatever part of
 * the skb is linear and leaves the caller's packet pointers valid.
 */
#ifndef SHOAL_BPF_FLOW_H
#define SHOAL_BPF_FLOW_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/events.h"

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_RST 0x04

static __always_inline bool flows_enabled(const struct shoal_node_cfg *cfg)
{
	return cfg && (cfg->flags & SHOAL_CFG_FLOWS);
}

/*
 * Fill k's tuple from an IPv4 header (already validated; a copy or a
 * packet pointer) that sits at l3off in the skb; *tcp_flags gets the TCP
 * flags byte (0 otherwise). ep_id and dir are the caller's.
 */
static __always_inline void flow_key_ipv4(struct __sk_buff *ctx, const struct iphdr *ip,
					  __u32 l3off, struct shoal_flow_key *k, __u8 *tcp_flags)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 l4[14], *p;
	__u32 l4off;

	k->saddr = ip->saddr;
	k->daddr = ip->daddr;
	k->proto = ip->protocol;
	k->sport = 0;
	k->dport = 0;
	k->pad = 0;
	*tcp_flags = 0;
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return; /* no L4 header in a non-first fragment */
	l4off = (l3off & 0xff) + (ip->ihl & 0xf) * 4;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return;
	/* Usually in the linear head: read in place; else copy it out. */
	p = data + l4off;
	if (!PKT_OK(p, 14, data_end)) {
		if (bpf_skb_load_bytes(ctx, l4off, l4, ip->protocol == IPPROTO_TCP ? 14 : 4))
			return;
		p = l4;
	}
	if (ip->protocol == IPPROTO_TCP)
		*tcp_flags = p[13];
	__builtin_memcpy(&k->sport, &p[0], 2);
	__builtin_memcpy(&k->dport, &p[2], 2);
}

/* Slow path of flow_account(): the flow has no entry yet. */
static __noinline int flow_new(struct __sk_buff *ctx, struct shoal_flow_key *k, __u32 bytes,
			       __u32 tcp_flags, __u64 now)
{
	struct shoal_flow_val nv = {}, *v;
	struct shoal_obs_stats *o = obs_stats_get();
	long ret;

	nv.packets = 1;
	nv.bytes = bytes;
	nv.first_ns = now;
	nv.last_ns = now;
	nv.tcp_flags = tcp_flags;
	/* BPF updates of a per-CPU map write this CPU's slot, zero the rest. */
	ret = bpf_map_update_elem(&flows, k, &nv, BPF_NOEXIST);
	if (ret == 0) {
		if (o)
			o->flows_created++;
		ev_flow(ctx, k, SHOAL_EV_FLOW_START, tcp_flags, &nv);
		return 0;
	}
	if (ret == -17 /* EEXIST: another CPU inserted it meanwhile */) {
		v = bpf_map_lookup_elem(&flows, k);
		if (v) {
			v->packets++;
			v->bytes += bytes;
			if (!v->first_ns)
				v->first_ns = now;
			v->last_ns = now;
			v->tcp_flags |= tcp_flags;
			return 0;
		}
	}
	if (o)
		o->flows_failed++;
	return 0;
}

/*
 * The time flows are stamped with: read once per packet (a packet that
 * charges two flows, sender and receiver, reads it once: the clock read
 * is a third of a flow update's cost).
 */
static __always_inline __u64 flow_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* Charge one packet of `bytes` to flow k of endpoint ep_id, direction dir,
 * at time now (flow_now()). */
static __always_inline void flow_account(struct __sk_buff *ctx, struct shoal_flow_key *k,
					 __u32 ep_id, __u8 dir, __u32 bytes, __u8 tcp_flags,
					 __u64 now)
{
	struct shoal_flow_val *v;
	__u8 old;

	k->ep_id = ep_id;
	k->dir = dir;
	v = bpf_map_lookup_elem(&flows, k);
	if (!v) {
		flow_new(ctx, k, bytes, tcp_flags, now);
		return;
	}
	v->packets++;
	v->bytes += bytes;
	/* Per-CPU slot: zero until this CPU first sees the flow. */
	v->last_ns = now;
	if (!v->first_ns)
		v->first_ns = now;
	old = v->tcp_flags;
	if (tcp_flags & ~old) {
		v->tcp_flags = old | tcp_flags;
		if ((tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST)) &&
		    !(old & (TCP_FLAG_FIN | TCP_FLAG_RST)))
			ev_flow(ctx, k, SHOAL_EV_FLOW_END, old | tcp_flags, v);
	}
}

/*
 * to_container: the host stack delivers a frame to the endpoint. Only
 * IPv4 is a flow; ARP (our own replies included) is not.
 */
static __always_inline void flow_account_to_container(struct __sk_buff *ctx, __u32 ep_id)
{
	struct shoal_flow_key k = {};
	struct iphdr ip;
	__be16 proto;
	__u8 flags;

	if (bpf_skb_load_bytes(ctx, 12, &proto, sizeof(proto)) || proto != bpf_htons(ETH_P_IP))
		return;
	if (bpf_skb_load_bytes(ctx, ETH_HLEN, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
		return;
	flow_key_ipv4(ctx, &ip, ETH_HLEN, &k, &flags);
	flow_account(ctx, &k, ep_id, SHOAL_FLOW_INGRESS, ctx->len, flags, flow_now());
}

#endif /* SHOAL_BPF_FLOW_H */
