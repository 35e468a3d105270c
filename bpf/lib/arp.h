/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * arp.h - the ARP responder of from_container. shoal never floods: every
 * address a container may ARP for is either its network's gateway
 * (answered with the MAC of the veth's host end, so routed traffic enters
 * the host stack) or an endpoint in the endpoints map (answered with that
 * endpoint's MAC, local or remote). The reply is built in place and sent
 * back out of the same veth with bpf_redirect(ifindex, 0): it leaves
 * through the host end's egress, where to_container counts it as rx.
 */
#ifndef SHOAL_BPF_ARP_H
#define SHOAL_BPF_ARP_H

#include "lib/common.h"
#include "lib/maps.h"

/* What to do with an ARP frame; the caller maps it to a TC action. */
enum arp_verdict {
	ARP_REPLIED,   /* reply built in place; redirect it back */
	ARP_TO_HOST,   /* reply or announcement: the host stack's business */
	ARP_MALFORMED, /* truncated, or not Ethernet/IPv4 ARP */
	ARP_UNKNOWN,   /* request for an address nobody has */
};

/*
 * Turn the request in place into the reply "tpa is at mac" (RFC 826):
 * the requester's sha/spa move to tha/tpa, and the Ethernet header is
 * addressed back to the requester. The frame length is unchanged.
 */
static __always_inline void arp_make_reply(struct ethhdr *eth, struct arp_eth_ipv4 *arp,
					   const __u8 *mac)
{
	__be32 tip = arp->tpa;

	arp->hdr.ar_op = bpf_htons(ARPOP_REPLY);
	mac_copy(arp->tha, arp->sha);
	arp->tpa = arp->spa;
	mac_copy(arp->sha, mac);
	arp->spa = tip;
	mac_copy(eth->h_dest, arp->tha);
	mac_copy(eth->h_source, mac);
}

static __always_inline enum arp_verdict arp_respond(struct __sk_buff *ctx,
						    const struct shoal_iface_val *iface,
						    const struct shoal_net_val *net)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct arp_eth_ipv4 *arp = (void *)(eth + 1);
	struct shoal_ep_key key = {};
	struct shoal_ep_val *ep;

	if (!PKT_OK(arp, sizeof(*arp), data_end))
		return ARP_MALFORMED;
	if (arp->hdr.ar_hrd != bpf_htons(ARPHRD_ETHER) ||
	    arp->hdr.ar_pro != bpf_htons(ETH_P_IP) || arp->hdr.ar_hln != ETH_ALEN ||
	    arp->hdr.ar_pln != 4)
		return ARP_MALFORMED;

	/*
	 * Replies (to the host's own requests for the container) and
	 * announcements (gratuitous ARP / probes for the container's own
	 * address) go to the host stack: it resolves the container's MAC
	 * that way for host->container traffic, and answering a probe for
	 * the container's own address would make it see a conflict.
	 */
	if (arp->hdr.ar_op != bpf_htons(ARPOP_REQUEST) || arp->tpa == iface->ip)
		return ARP_TO_HOST;

	if (net->gateway && arp->tpa == net->gateway) {
		arp_make_reply(eth, arp, iface->host_mac);
		return ARP_REPLIED;
	}

	key.net_id = iface->net_id;
	key.ip = arp->tpa;
	ep = bpf_map_lookup_elem(&endpoints, &key);
	if (!ep)
		return ARP_UNKNOWN;
	arp_make_reply(eth, arp, ep->mac);
	return ARP_REPLIED;
}

#endif /* SHOAL_BPF_ARP_H */
