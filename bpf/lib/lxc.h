/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lxc.h - what from_container does with a frame a container sent
 * (TC ingress of the host end of its veth).
 *
 * Accounting: every frame the container sends counts as tx of its
 * endpoint (ARP, IPv4, other ethertypes, and frames then dropped); a
 * dropped frame additionally counts drops[reason] on the same endpoint.
 * A frame delivered to a local endpoint with bpf_redirect_peer also
 * counts as rx of the destination here, because redirect_peer skips the
 * destination's to_container. ARP replies are not counted as rx here:
 * they go out through the host end's egress, where to_container does.
 */
#ifndef SHOAL_BPF_LXC_H
#define SHOAL_BPF_LXC_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/eth.h"
#include "lib/arp.h"
#include "lib/ipv4.h"
#include "lib/vxlan.h"
#include "lib/nodes.h"
#include "lib/nat.h"
#include "lib/events.h"
#include "lib/flow.h"

static __always_inline int lxc_drop_at(struct __sk_buff *ctx, struct shoal_ep_stats *st,
				       enum shoal_drop_reason reason, __u32 line)
{
	stats_drop(st, reason);
	ev_drop(ctx, reason, SHOAL_SRC_LXC, line, 1);
	return TC_ACT_SHOT;
}
/* Every caller has its skb in `ctx`; the drop event records the line. */
#define lxc_drop(st, reason) lxc_drop_at(ctx, st, reason, __LINE__)

static __always_inline int lxc_arp(struct __sk_buff *ctx, const struct shoal_iface_val *iface,
				   const struct shoal_net_val *net, struct shoal_ep_stats *st)
{
	switch (arp_respond(ctx, iface, net)) {
	case ARP_REPLIED:
		/* Back out of the same veth, towards the container. */
		return bpf_redirect(ctx->ifindex, 0);
	case ARP_TO_HOST:
		return TC_ACT_OK;
	case ARP_MALFORMED:
		return lxc_drop(st, SHOAL_DROP_MALFORMED);
	case ARP_UNKNOWN:
	default:
		/* No flooding: an address not in the maps does not exist. */
		return lxc_drop(st, SHOAL_DROP_NO_ENDPOINT);
	}
}

/* A remote endpoint: VXLAN to its node through the underlay device. */
static __always_inline int lxc_to_remote(struct __sk_buff *ctx, const struct shoal_node_cfg *cfg,
					 const struct shoal_net_val *net,
					 const struct shoal_ep_val *ep, struct shoal_ep_stats *st)
{
	__u8 peer_mac[ETH_ALEN];
	bool direct;

	/* A remote endpoint is only reachable on an overlay network of a
	 * node with an underlay; anything else is a control-plane state we
	 * cannot forward in, counted as "no underlay". */
	if (!cfg->underlay_ifindex || !(net->flags & SHOAL_NET_OVERLAY) || !net->vni)
		return lxc_drop(st, SHOAL_DROP_NO_UNDERLAY);
	direct = node_next_hop(ep->node_ip, peer_mac);
	if (vxlan_encap(ctx, cfg, ep->node_ip, net->vni, direct ? peer_mac : NULL))
		return lxc_drop(st, SHOAL_DROP_REDIRECT);
	node_count_vxlan_tx(ctx->len);
	/* The peer's MAC is known (on-link, learnt, fresh): the frame is
	 * complete, straight out of the underlay device. */
	if (direct)
		return bpf_redirect(cfg->underlay_ifindex, 0);
	/*
	 * NULL params: the kernel routes the outer daddr out of the underlay
	 * device (so a routed underlay works too), replaces our outer
	 * Ethernet header with one from the neighbour table, and resolves
	 * the neighbour if needed.
	 */
	return bpf_redirect_neigh(cfg->underlay_ifindex, NULL, 0, 0);
}

/* daddr lies in another shoal network's subnet and is not its gateway. */
static __always_inline bool lxc_other_network(__u32 net_id, __be32 daddr)
{
	struct shoal_subnet_key k = { .prefixlen = 32, .addr = daddr };
	struct shoal_subnet_val *v = bpf_map_lookup_elem(&subnets, &k);

	return v && v->net_id != net_id && v->gateway != daddr;
}

static __always_inline int lxc_ipv4(struct __sk_buff *ctx, const struct shoal_node_cfg *cfg,
				    const struct shoal_iface_val *iface,
				    const struct shoal_net_val *net, struct shoal_ep_stats *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct shoal_ep_key key = {};
	struct shoal_flow_key fk = {};
	bool flows = flows_enabled(cfg);
	struct shoal_ep_val *ep;
	struct iphdr *ip;
	__u32 len = ctx->len;
	__u64 now = 0;
	__u8 tcpf = 0;
	__be32 daddr;
	int ret;

	ip = ipv4_hdr_get(data, data_end, ctx->len);
	if (!ip)
		return lxc_drop(st, SHOAL_DROP_MALFORMED);
	/* Anti-spoofing: a container sends from its own address only
	 * (0.0.0.0 included: shoal assigns addresses, there is no DHCP). */
	if (ip->saddr != iface->ip)
		return lxc_drop(st, SHOAL_DROP_NOT_ALLOWED);

	daddr = ip->daddr;
	if (flows) {
		flow_key_ipv4(ctx, ip, ETH_HLEN, &fk, &tcpf);
		now = flow_now();
	}
	/* Routed traffic (gateway, outside the subnet) is the host's,
	 * unless NAT owns it: a published port's reply, masquerade. The
	 * flow is the container's view, before any translation. */
	if ((daddr & net->mask) != net->subnet || daddr == net->gateway) {
		if (lxc_other_network(iface->net_id, daddr))
			return lxc_drop(st, SHOAL_DROP_NET_ISOLATED);
		if (flows)
			flow_account(ctx, &fk, iface->ep_id, SHOAL_FLOW_EGRESS, len, tcpf, now);
		return nat_from_container(ctx, cfg);
	}

	key.net_id = iface->net_id;
	key.ip = daddr;
	ep = bpf_map_lookup_elem(&endpoints, &key);
	if (!ep)
		return lxc_drop(st, SHOAL_DROP_NO_ENDPOINT);
	if (ep->flags & SHOAL_EP_LOCAL) {
		/* redirect_peer skips the destination's TC hooks: count its
		 * rx here (the frame is delivered unchanged). */
		ep_count_rx(acct_enabled(cfg), ep->ep_id, ctx->len);
		if (flows) {
			flow_account(ctx, &fk, iface->ep_id, SHOAL_FLOW_EGRESS, len, tcpf, now);
			flow_account(ctx, &fk, ep->ep_id, SHOAL_FLOW_INGRESS, len, tcpf, now);
		}
		return bpf_redirect_peer(ep->ifindex, 0);
	}
	if (ep->flags & SHOAL_EP_REMOTE) {
		ret = lxc_to_remote(ctx, cfg, net, ep, st);
		/* Charged once sent: the inner length, as before encap. */
		if (flows && ret != TC_ACT_SHOT)
			flow_account(ctx, &fk, iface->ep_id, SHOAL_FLOW_EGRESS, len, tcpf, now);
		return ret;
	}
	return lxc_drop(st, SHOAL_DROP_NO_ENDPOINT);
}

static __always_inline int lxc_handle(struct __sk_buff *ctx, const struct shoal_node_cfg *cfg,
				      const struct shoal_iface_val *iface)
{
	struct shoal_ep_stats *st = ep_stats_get(acct_enabled(cfg), iface->ep_id);
	struct shoal_net_val *net;
	struct ethhdr *eth;
	__u32 net_id;
	__be16 proto;

	stats_tx(st, ctx->len);

	/* Eth + the larger of ARP (28) and the fixed IPv4 header (20). */
	if (pkt_pull(ctx, ETH_HLEN + sizeof(struct arp_eth_ipv4)) < 0)
		return lxc_drop(st, SHOAL_DROP_MALFORMED);
	eth = eth_hdr_get(ctx);
	if (!eth)
		return lxc_drop(st, SHOAL_DROP_MALFORMED);
	proto = eth->h_proto;
	if (proto != bpf_htons(ETH_P_ARP) && proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK; /* IPv6 etc.: the host stack's business */

	net_id = iface->net_id;
	net = bpf_map_lookup_elem(&networks, &net_id);
	if (!net)
		return lxc_drop(st, SHOAL_DROP_UNKNOWN_NETWORK);
	if (proto == bpf_htons(ETH_P_ARP))
		return lxc_arp(ctx, iface, net, st);
	return lxc_ipv4(ctx, cfg, iface, net, st);
}

#endif /* SHOAL_BPF_LXC_H */
