/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nodes.h - the underlay MAC of peer nodes, so that from_container can
 * write the outer Ethernet header itself and bpf_redirect() straight to
 * the underlay device instead of bpf_redirect_neigh(), which does a FIB
 * lookup, an xfrm policy lookup and a dst refcount round trip for every
 * packet (measured: ~3.5% of the data path's CPU time, 0.3-0.4 us of
 * one-way latency; see the nodes map in include/shoal_maps.h).
 *
 * Learning (from_underlay): the outer source MAC of a VXLAN packet that
 * was ours (known VNI) and delivered, for its outer source IP, only if
 * that IP is inside this node's on-link underlay subnet (node_ip/plen):
 * then no router sits in between and the MAC is the peer's own, the
 * right next hop back whatever the routing. A routed underlay (peer in
 * another subnet) is never learnt: the outer source MAC would be a
 * router's, right only for symmetric routing; those peers keep
 * redirect_neigh. The map is written only when the MAC changed (a map
 * update, atomic for readers) or to re-stamp an entry older than
 * SHOAL_NODE_REFRESH_NS (one in-place store per peer and second).
 *
 * Use (from_container): an entry younger than SHOAL_NODE_TTL_NS. A peer
 * that changed MAC is relearnt from its next packet; one that went quiet
 * falls back to redirect_neigh after the TTL; a missing entry never
 * drops anything. Trust is that of ARP: whoever can send VXLAN for one
 * of our VNIs to a local endpoint from inside the underlay subnet could
 * as well answer ARP for the peer's address.
 */
#ifndef SHOAL_BPF_NODES_H
#define SHOAL_BPF_NODES_H

#include "lib/common.h"
#include "lib/maps.h"

static __always_inline bool mac_eq(const __u8 *a, const __u8 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) |
		(a[4] ^ b[4]) | (a[5] ^ b[5])) == 0;
}

/* A unicast, non-zero MAC: what a host's interface sends from. */
static __always_inline bool mac_is_unicast(const __u8 *m)
{
	return !(m[0] & 1) && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

/* Is peer (NBO) another address of this node's on-link underlay subnet? */
static __always_inline bool node_on_link(const struct shoal_node_cfg *cfg, __be32 peer)
{
	__u32 plen = cfg->underlay_plen;
	__be32 mask;

	if (!plen || plen > 32)
		return false; /* unknown subnet: learn nothing */
	mask = bpf_htonl(~0U << (32 - plen));
	return peer != cfg->node_ip && !((peer ^ cfg->node_ip) & mask);
}

/*
 * The MAC to send to peer node node_ip with, copied into mac: true if
 * there is a fresh learnt entry, false (use redirect_neigh) otherwise.
 */
static __always_inline bool node_next_hop(__be32 node_ip, __u8 *mac)
{
	struct shoal_node_val *n;
	__u32 key = node_ip;

	n = bpf_map_lookup_elem(&nodes, &key);
	if (!n || bpf_ktime_get_coarse_ns() - n->updated_ns >= SHOAL_NODE_TTL_NS)
		return false;
	mac_copy(mac, n->mac);
	return mac_is_unicast(mac);
}

/* Remember that peer (NBO) reached us from mac. Call only for a packet
 * that was ours and delivered. */
static __always_inline void node_learn(const struct shoal_node_cfg *cfg, __be32 peer,
				       const __u8 *mac)
{
	struct shoal_node_val v = {}, *n;
	__u32 key = peer;
	__u64 now;

	if (!node_on_link(cfg, peer) || !mac_is_unicast(mac))
		return;
	now = bpf_ktime_get_coarse_ns();
	n = bpf_map_lookup_elem(&nodes, &key);
	if (n && mac_eq(n->mac, mac)) {
		/* Same MAC: only keep the entry fresh, rarely, in place
		 * (an aligned 64-bit store; readers see old or new). */
		if (now - n->updated_ns >= SHOAL_NODE_REFRESH_NS)
			n->updated_ns = now;
		return;
	}
	/* New peer or new MAC: replace the whole value (a hash update
	 * swaps in a new element, so no reader sees half a MAC). */
	mac_copy(v.mac, mac);
	v.updated_ns = now;
	bpf_map_update_elem(&nodes, &key, &v, BPF_ANY);
}

#endif /* SHOAL_BPF_NODES_H */
