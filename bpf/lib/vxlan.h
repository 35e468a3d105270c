/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vxlan.h - VXLAN (RFC 7348) encapsulation and decapsulation with
 * bpf_skb_adjust_room, no vxlan device. Wire format, 50 bytes in front of
 * the inner Ethernet frame:
 *
 *   outer eth (14) | outer IPv4 (20, no options) | UDP (8) | VXLAN (8)
 *   VXLAN: flags 0x08 (I: VNI valid), 3 reserved, VNI (24 bit), 1 reserved
 *
 * exactly what the kernel's vxlan driver sends and accepts: outer UDP
 * checksum 0, source port from a hash of the inner flow in 49152..65535,
 * DF set with IP id 0 (container MTU = underlay MTU - 50, so the outer
 * packet never needs fragmenting).
 */
#ifndef SHOAL_BPF_VXLAN_H
#define SHOAL_BPF_VXLAN_H

#include "lib/common.h"
#include "lib/ipv4.h"

#define VXLAN_HLEN 8
#define VXLAN_SPORT_MIN 49152

/*
 * FIXED_GSO: keep gso_size as is (the kernel refuses UDP-tunnel GSO
 * packets otherwise; the container MTU already leaves room for the 50
 * bytes). ENCAP_L2_ETH + ENCAP_L2(14): the inner packet is an Ethernet
 * frame, so software GSO finds the inner headers.
 */
#define VXLAN_ENCAP_FLAGS                                                       \
	(BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 |              \
	 BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |            \
	 BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN))

/*
 * FIXED_GSO on decap too: without it the kernel grows gso_size by the
 * removed bytes and TCP drops the resulting segments
 * (projectcalico/calico#11252). There is no L4 decap flag.
 */
#define VXLAN_DECAP_FLAGS (BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_DECAP_L3_IPV4)

/* The 36 bytes between the outer Ethernet header and the inner frame. */
struct vxlan_outer {
	struct iphdr ip;
	struct udphdr udp;
	struct vxlanhdr vx;
};
_Static_assert(sizeof(struct vxlan_outer) + ETH_HLEN == SHOAL_VXLAN_OVERHEAD,
	       "VXLAN outer headers are 50 bytes");

/*
 * UDP source port as the kernel's udp_flow_src_port() picks it: scale a
 * 32-bit flow hash into [49152, 65536). bpf_get_hash_recalc() is the
 * skb's flow hash of the *inner* packet (call it before encapsulating).
 */
static __always_inline __be16 vxlan_sport(__u32 hash)
{
	return bpf_htons(VXLAN_SPORT_MIN + (__u16)(((__u64)hash * (65536 - VXLAN_SPORT_MIN)) >> 32));
}

/*
 * Encapsulate the whole frame in VXLAN to node remote_ip with vni.
 * Returns 0 or a negative error from bpf_skb_adjust_room / bounds. The
 * outer source MAC is the underlay's. The outer destination MAC is
 * dst_mac (the peer's, known from the nodes map: the caller then sends
 * the frame as is with bpf_redirect) or, with dst_mac NULL, zero: the
 * caller then sends it with bpf_redirect_neigh(), which strips our outer
 * Ethernet header and lets the neighbour subsystem write the real one.
 */
static __always_inline int vxlan_encap(struct __sk_buff *ctx, const struct shoal_node_cfg *cfg,
				       __be32 remote_ip, __u32 vni, const __u8 *dst_mac)
{
	__u32 hash = bpf_get_hash_recalc(ctx);
	void *data, *data_end;
	struct ethhdr *eth, *inner;
	struct vxlan_outer *o;
	__u32 len;
	int ret;

	ret = bpf_skb_adjust_room(ctx, SHOAL_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC, VXLAN_ENCAP_FLAGS);
	if (ret)
		return ret;

	/* adjust_room invalidated every packet pointer: reload and recheck. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	o = (void *)(eth + 1);
	inner = (void *)(o + 1);
	if (!PKT_OK(inner, sizeof(*inner), data_end))
		return -1;

	/* The 50 bytes were inserted after the original Ethernet header:
	 * move that header to its inner position, then write the outer. */
	__builtin_memcpy(inner, eth, ETH_HLEN);

	if (dst_mac)
		mac_copy(eth->h_dest, dst_mac);
	else
		__builtin_memset(eth->h_dest, 0, ETH_ALEN);
	mac_copy(eth->h_source, cfg->underlay_mac);
	eth->h_proto = bpf_htons(ETH_P_IP);

	len = ctx->len - ETH_HLEN; /* outer IPv4 total length */
	o->ip.version = 4;
	o->ip.ihl = 5;
	o->ip.tos = 0;
	o->ip.tot_len = bpf_htons(len);
	o->ip.id = 0;
	o->ip.frag_off = bpf_htons(IP_DF);
	o->ip.ttl = 64;
	o->ip.protocol = IPPROTO_UDP;
	o->ip.check = 0;
	o->ip.saddr = cfg->node_ip;
	o->ip.daddr = remote_ip;
	o->ip.check = ipv4_csum20(&o->ip);

	o->udp.source = vxlan_sport(hash);
	o->udp.dest = cfg->vxlan_port;
	o->udp.len = bpf_htons(len - sizeof(struct iphdr));
	o->udp.check = 0;

	o->vx.vx_flags = bpf_htonl(VXLAN_FLAG_I);
	o->vx.vx_vni = bpf_htonl(vni << 8);
	return 0;
}

/* Outcome of looking at an underlay packet. */
enum vxlan_verdict {
	VXLAN_NOT_OURS,  /* not VXLAN to our IP/port: pass, not counted */
	VXLAN_MALFORMED, /* to our port but a broken VXLAN header */
	VXLAN_OK,        /* *vni and *inner are set */
};

/*
 * Is this frame VXLAN to this node (outer IPv4 to cfg->node_ip, UDP to
 * cfg->vxlan_port, not a fragment)? On VXLAN_OK, *vni is the VNI and
 * *hdr_len the number of bytes from the end of the outer Ethernet header
 * to the inner Ethernet header (outer IP with options + UDP + VXLAN).
 */
static __always_inline enum vxlan_verdict vxlan_parse(struct __sk_buff *ctx,
						      const struct shoal_node_cfg *cfg,
						      __u32 *vni, __u32 *hdr_len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vxlanhdr *vx;
	struct udphdr *udp;
	struct iphdr *ip;
	__u32 hlen;

	if (!PKT_OK(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return VXLAN_NOT_OURS;
	ip = ipv4_hdr_get(eth, data_end, ctx->len);
	if (!ip || ip->protocol != IPPROTO_UDP || ip->daddr != cfg->node_ip ||
	    (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return VXLAN_NOT_OURS;
	hlen = ipv4_hlen(ip);
	udp = (void *)ip + hlen;
	if (!PKT_OK(udp, sizeof(*udp), data_end) || udp->dest != cfg->vxlan_port)
		return VXLAN_NOT_OURS;

	vx = (void *)(udp + 1);
	if (!PKT_OK(vx, sizeof(*vx), data_end) || !(vx->vx_flags & bpf_htonl(VXLAN_FLAG_I)))
		return VXLAN_MALFORMED;
	*vni = bpf_ntohl(vx->vx_vni) >> 8;
	*hdr_len = hlen + sizeof(*udp) + sizeof(*vx);
	return VXLAN_OK;
}

/*
 * Strip everything between the outer Ethernet header and the inner IPv4
 * header (outer IP + UDP + VXLAN + inner Ethernet: hdr_len + 14 bytes)
 * and rewrite the Ethernet header that is left (the outer one, which
 * adjust_room at BPF_ADJ_ROOM_MAC keeps) to the inner source MAC and the
 * endpoint's MAC. The result is the inner frame as the container must
 * see it. Returns 0 or a negative error; on error the packet is
 * unchanged or must be dropped (adjust_room failed half-way never happens
 * for a shrink, but the caller drops anyway).
 */
static __always_inline int vxlan_decap(struct __sk_buff *ctx, __u32 hdr_len, const __u8 *dst_mac)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, *inner;
	__u8 src_mac[ETH_ALEN];
	int ret;

	/* hdr_len <= 60 + 16 (IP options, UDP, VXLAN); the mask restates
	 * that bound for the verifier after it went through a pointer. */
	hdr_len &= 0x7f;
	inner = (void *)(eth + 1) + hdr_len;
	if (!PKT_OK(inner, sizeof(*inner), data_end))
		return -1;
	mac_copy(src_mac, inner->h_source);

	ret = bpf_skb_adjust_room(ctx, -(__s32)(hdr_len + ETH_HLEN), BPF_ADJ_ROOM_MAC,
				  VXLAN_DECAP_FLAGS);
	if (ret)
		return ret;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if (!PKT_OK(eth, sizeof(*eth), data_end))
		return -1;
	mac_copy(eth->h_dest, dst_mac);
	mac_copy(eth->h_source, src_mac);
	eth->h_proto = bpf_htons(ETH_P_IP);
	return 0;
}

#endif /* SHOAL_BPF_VXLAN_H */
