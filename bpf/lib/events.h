/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * events.h - drop and flow events to the `events` ring buffer, read by
 * shoald and streamed by `shoal monitor` (like cilium monitor).
 *
 * Cost model: nothing on the forwarding path. A drop event costs its
 * drop (already the slow path): one node_config lookup for the switch,
 * then the per-CPU rate limiter, then the packet is read with
 * bpf_skb_load_bytes (works on any skb, linear or not, and leaves packet
 * pointers valid) and copied into the ring.
 *
 * Storms: each CPU may send at most event_rate events per second (a
 * fixed one-second window in obs_stats, per CPU, so no atomics); over
 * that, events are counted in ev_ratelimited and not sent. A full ring
 * (userspace too slow) counts ev_lost. Userspace memory therefore never
 * grows with the drop rate: the ring is fixed, the counters say what was
 * not seen.
 */
#ifndef SHOAL_BPF_EVENTS_H
#define SHOAL_BPF_EVENTS_H

#include "lib/common.h"
#include "lib/maps.h"

/* Events per CPU per second; the daemon sets it before loading
 * (daemon.json "event-rate-limit"). */
const volatile __u32 event_rate = SHOAL_EVENT_RATE_DEFAULT;

#define NSEC_PER_SEC 1000000000ULL

static __always_inline struct shoal_obs_stats *obs_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&obs_stats, &zero);
}

/* May this CPU send one more event now? Counts the refusal if not. */
static __always_inline bool ev_allow(struct shoal_obs_stats *o)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	if (now - o->ev_win_ns >= NSEC_PER_SEC) {
		o->ev_win_ns = now;
		o->ev_win_count = 0;
	}
	if (o->ev_win_count >= event_rate) {
		o->ev_ratelimited++;
		return false;
	}
	o->ev_win_count++;
	return true;
}

/*
 * This CPU's obs_stats when events of kind cfg_flag (SHOAL_CFG_EV_*) are
 * on and the rate limiter lets one more through; NULL: send nothing.
 */
static __always_inline struct shoal_obs_stats *ev_begin(__u32 cfg_flag)
{
	struct shoal_node_cfg *cfg = node_cfg_get();
	struct shoal_obs_stats *o;

	if (!cfg || !(cfg->flags & cfg_flag))
		return NULL;
	o = obs_stats_get();
	if (!o || !ev_allow(o))
		return NULL;
	return o;
}

static __always_inline void ev_submit(struct shoal_obs_stats *o, struct shoal_event *ev)
{
	ev->ts_ns = bpf_ktime_get_ns();
	/* flags 0: adaptive wake-up, the consumer is woken only when it
	 * has caught up, so a burst costs one wake-up, not one per event. */
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		o->ev_lost++;
	else
		o->ev_sent++;
}

/*
 * The addresses of whatever the skb carries, read at l3off: IPv4 (and
 * its ports unless a non-first fragment) or ARP (sender and target
 * protocol address). Anything else leaves them zero.
 */
static __always_inline void ev_fill_tuple(struct __sk_buff *ctx, struct shoal_event *ev, __u32 l3off)
{
	struct iphdr ip;
	struct arp_eth_ipv4 arp;
	__be16 proto;
	__u32 l4off;

	if (bpf_skb_load_bytes(ctx, l3off - 2, &proto, sizeof(proto)))
		return;
	ev->l3_proto = bpf_ntohs(proto);
	if (proto == bpf_htons(ETH_P_ARP)) {
		if (bpf_skb_load_bytes(ctx, l3off, &arp, sizeof(arp)))
			return;
		ev->saddr = arp.spa;
		ev->daddr = arp.tpa;
		return;
	}
	if (proto != bpf_htons(ETH_P_IP) || bpf_skb_load_bytes(ctx, l3off, &ip, sizeof(ip)))
		return;
	ev->saddr = ip.saddr;
	ev->daddr = ip.daddr;
	ev->proto = ip.protocol;
	if (ip.ihl < 5 || (ip.frag_off & bpf_htons(IP_OFFSET)))
		return;
	l4off = l3off + ip.ihl * 4;
	if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP)
		bpf_skb_load_bytes(ctx, l4off, &ev->sport, 2 * sizeof(__u16));
}

/*
 * A drop event: reason, where (file id, line), the endpoint of the veth
 * the program runs on (lookup_ep; else 0 = node), interface and tuple.
 * A subprogram, not inlined: drop sites are many and rare, one copy of
 * this code serves them all.
 */
static __noinline int ev_drop(struct __sk_buff *ctx, __u32 reason, __u32 file, __u32 line,
			      __u32 lookup_ep)
{
	struct shoal_event ev = {};
	struct shoal_iface_val *iface;
	struct shoal_obs_stats *o;
	__u32 ifindex = ctx->ifindex;

	o = ev_begin(SHOAL_CFG_EV_DROP);
	if (!o)
		return 0;
	ev.type = SHOAL_EV_DROP;
	ev.reason = reason;
	ev.src_file = file;
	ev.src_line = line;
	ev.ifindex = ifindex;
	ev.len = ctx->len;
	if (lookup_ep) {
		iface = bpf_map_lookup_elem(&ifaces, &ifindex);
		if (iface)
			ev.ep_id = iface->ep_id;
	}
	ev_fill_tuple(ctx, &ev, ETH_HLEN);
	ev_submit(o, &ev);
	return 0;
}

/* A flow start or end event from a flow key (lib/flow.h). */
static __noinline int ev_flow(struct __sk_buff *ctx, const struct shoal_flow_key *k, __u32 type,
			      __u32 tcp_flags, const struct shoal_flow_val *v)
{
	struct shoal_event ev = {};
	struct shoal_obs_stats *o;

	o = ev_begin(SHOAL_CFG_EV_FLOW);
	if (!o)
		return 0;
	ev.type = type;
	ev.ifindex = ctx->ifindex;
	ev.len = ctx->len;
	ev.ep_id = k->ep_id;
	ev.l3_proto = ETH_P_IP;
	ev.proto = k->proto;
	ev.saddr = k->saddr;
	ev.daddr = k->daddr;
	ev.sport = k->sport;
	ev.dport = k->dport;
	ev.dir = k->dir;
	ev.tcp_flags = tcp_flags;
	if (v) {
		ev.packets = v->packets;
		ev.bytes = v->bytes;
	}
	ev_submit(o, &ev);
	return 0;
}

#endif /* SHOAL_BPF_EVENTS_H */
