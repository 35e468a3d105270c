/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * underlay.h - what from_underlay does with a frame arriving on the
 * underlay device (TC ingress).
 *
 * Ownership rule: a frame is ours once it is VXLAN to this node's IP and
 * VXLAN port *and* its VNI is one of our overlay networks. Before that we
 * cannot be sure (another VXLAN user, a broken sender), so the frame goes
 * to the stack untouched; the suspicious cases are still counted in
 * node_stats (MALFORMED: broken VXLAN header; UNKNOWN_VNI). Once it is
 * ours, we either deliver it or drop it and count why (MALFORMED inner
 * frame, UNSUPPORTED inner protocol, NO_ENDPOINT). Frames that are not
 * VXLAN to us are not counted at all.
 */
#ifndef SHOAL_BPF_UNDERLAY_H
#define SHOAL_BPF_UNDERLAY_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/vxlan.h"
#include "lib/nodes.h"
#include "lib/events.h"
#include "lib/flow.h"

static __always_inline int underlay_drop_at(struct __sk_buff *ctx, enum shoal_drop_reason reason,
					    __u32 line)
{
	node_count_drop(reason);
	ev_drop(ctx, reason, SHOAL_SRC_UNDERLAY, line, 0);
	return TC_ACT_SHOT;
}
/* Every caller has its skb in `ctx`; the drop event records the line. */
#define underlay_drop(reason) underlay_drop_at(ctx, reason, __LINE__)

static __always_inline int underlay_handle(struct __sk_buff *ctx, const struct shoal_node_cfg *cfg)
{
	void *data, *data_end;
	struct shoal_ep_key key = {};
	struct shoal_net_val *net;
	struct shoal_ep_val *ep;
	struct ethhdr *inner, *eth;
	struct iphdr *iip, *oip;
	__u8 peer_mac[ETH_ALEN];
	__be32 peer_ip;
	__u32 vni = 0, hdr_len = 0, need, outer_len;
	struct shoal_flow_key fk = {};
	bool flows = flows_enabled(cfg);
	enum vxlan_verdict v;
	__u8 tcpf = 0;
	int pulled;

	/* Every underlay packet passes here: only make the outer headers
	 * linear (a no-op for anything the stack built normally)... */
	if (pkt_pull(ctx, ETH_HLEN + sizeof(struct iphdr) + sizeof(struct udphdr)) < 0)
		return TC_ACT_OK; /* cannot look: not ours to judge */
	v = vxlan_parse(ctx, cfg, &vni, &hdr_len);
	if (v == VXLAN_NOT_OURS)
		return TC_ACT_OK;
	/* ...and, once it is UDP to our port, everything up to the inner
	 * IPv4 header, then look again (hdr_len is only known on OK; else
	 * assume the longest outer IPv4 header). */
	need = v == VXLAN_OK ? hdr_len : 60 + sizeof(struct udphdr) + VXLAN_HLEN;
	pulled = pkt_pull(ctx, ETH_HLEN + need + ETH_HLEN + sizeof(struct iphdr));
	if (pulled < 0)
		return TC_ACT_OK;
	if (pulled)
		v = vxlan_parse(ctx, cfg, &vni, &hdr_len);

	switch (v) {
	case VXLAN_OK:
		break;
	case VXLAN_MALFORMED:
		node_count_drop(SHOAL_DROP_MALFORMED);
		return TC_ACT_OK;
	case VXLAN_NOT_OURS:
	default:
		return TC_ACT_OK;
	}

	/* net_id == VNI for overlays; the flag check keeps a VNI below 4096
	 * from matching a local network id. */
	net = bpf_map_lookup_elem(&networks, &vni);
	if (!net || !(net->flags & SHOAL_NET_OVERLAY) || net->vni != vni) {
		node_count_drop(SHOAL_DROP_UNKNOWN_VNI);
		return TC_ACT_OK;
	}

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* Restate hdr_len's bound (<= 76) after its trip through the stack. */
	hdr_len &= 0x7f;
	inner = data + ETH_HLEN + hdr_len;
	iip = (void *)(inner + 1);
	if (!PKT_OK(iip, sizeof(*iip), data_end))
		return underlay_drop(SHOAL_DROP_MALFORMED);
	if (inner->h_proto != bpf_htons(ETH_P_IP))
		return underlay_drop(SHOAL_DROP_UNSUPPORTED);

	key.net_id = vni;
	key.ip = iip->daddr;
	ep = bpf_map_lookup_elem(&endpoints, &key);
	if (!ep || !(ep->flags & SHOAL_EP_LOCAL))
		return underlay_drop(SHOAL_DROP_NO_ENDPOINT);

	/* Who sent it, from which MAC: decap overwrites the outer header. */
	eth = data;
	oip = (void *)(eth + 1);
	if (!PKT_OK(oip, sizeof(*oip), data_end))
		return underlay_drop(SHOAL_DROP_MALFORMED); /* cannot happen: parsed */
	mac_copy(peer_mac, eth->h_source);
	peer_ip = oip->saddr;
	/* The inner tuple, while the outer headers are still in front. */
	if (flows)
		flow_key_ipv4(ctx, iip, ETH_HLEN + hdr_len + ETH_HLEN, &fk, &tcpf);

	outer_len = ctx->len;
	if (vxlan_decap(ctx, hdr_len, ep->mac))
		return underlay_drop(SHOAL_DROP_REDIRECT);
	/* Ours and delivered: the sender's MAC is worth remembering. */
	node_learn(cfg, peer_ip, peer_mac);
	/* node: bytes on the wire (outer); endpoint: bytes delivered (inner). */
	node_count_vxlan_rx(outer_len);
	ep_count_rx(acct_enabled(cfg), ep->ep_id, ctx->len);
	if (flows)
		flow_account(ctx, &fk, ep->ep_id, SHOAL_FLOW_INGRESS, ctx->len, tcpf,
			     flow_now());
	return bpf_redirect_peer(ep->ifindex, 0);
}

#endif /* SHOAL_BPF_UNDERLAY_H */
