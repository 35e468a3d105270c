/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat.h - published ports (docker run -p) and outbound masquerade, in the
 * TC data path instead of iptables DNAT/MASQUERADE + docker-proxy. The
 * model is Cilium's host-reachable services / bpf_host NodePort path.
 *
 * Published port, client outside the host:
 *
 *   ext ingress (from_external, or from_underlay after the VXLAN check)
 *     client C:cp -> H:hp  matches ports {H|0, hp, proto} (wildcard only if
 *     H is one of the host's addresses: host_addrs, like Docker's
 *     "--dst-type LOCAL")
 *     -> DNAT to ctr:port, L3/L4 checksums fixed incrementally, Ethernet
 *        rewritten to what the container expects (dst = its MAC, src = the
 *        host end's MAC = its gateway's), nat_ct gets the REV_DNAT entry
 *        {ctr:port -> C:cp} => {H:hp, ingress ifindex}, and the frame goes
 *        straight into the container with bpf_redirect_peer.
 *   from_container (reply)
 *     ctr:port -> C:cp hits REV_DNAT -> source rewritten to H:hp,
 *     bpf_redirect_neigh out of the interface the request came in on.
 *
 * Masquerade (container -> outside its networks, Docker's ip-masq):
 *   from_container: a routed packet whose FIB route leaves through an
 *   external interface with SHOAL_EXT_MASQUERADE gets its source rewritten
 *   to that interface's address and a port from SHOAL_SNAT_PORT_MIN..MAX
 *   (random probes; the REV_SNAT key is inserted with BPF_NOEXIST, which is
 *   what makes a port "free"), and is sent out with bpf_redirect /
 *   bpf_redirect_neigh. The SNAT entry keeps the choice for the flow.
 *   ext ingress: a reply that hits REV_SNAT gets its destination rewritten
 *   back to the container and is redirect_peer'd into it.
 *
 * Hairpin (a container -> host address:published port): see nat_hairpin().
 *
 * Only TCP and UDP, unfragmented (a fragment carries no ports: it goes to
 * the stack untouched); masquerade also takes ICMP echo (ping), its
 * identifier in the role of the port. No TCP state machine: nat_ct is an LRU and entries
 * live until evicted. Everything that is not ours returns TC_ACT_OK
 * without touching the packet.
 */
#ifndef SHOAL_BPF_NAT_H
#define SHOAL_BPF_NAT_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/ipv4.h"
#include "lib/events.h"

/* {host IP|0, host port, proto} -> container ip:port + veth. Userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHOAL_MAX_PORTS);
	__type(key, struct shoal_port_key);
	__type(value, struct shoal_port_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ports SEC(".maps");

/* 5-tuple -> translation (see shoal_maps.h). BPF writes it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SHOAL_MAX_NAT_CT);
	__type(key, struct shoal_ct_key);
	__type(value, struct shoal_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_ct SEC(".maps");

/* ifindex of an external interface -> its address, masquerade flag. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHOAL_MAX_EXT_IFACES);
	__type(key, __u32);
	__type(value, struct shoal_ext_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ext_ifaces SEC(".maps");

/* The host's own IPv4 addresses (NBO) -> ifindex: wildcard bindings apply
 * only to packets addressed to the host itself. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} host_addrs SEC(".maps");

/* What nat_parse() found: addresses, ports and where they sit. */
struct nat_tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u32 l4_off;   /* offset of the TCP/UDP header */
	__u32 csum_off; /* offset of its checksum field */
};

#define NAT_IP_OFF ETH_HLEN
#define NAT_SADDR_OFF (ETH_HLEN + 12)
#define NAT_DADDR_OFF (ETH_HLEN + 16)
#define NAT_IPCSUM_OFF (ETH_HLEN + 10)
#define NAT_TCP_CSUM 16 /* offsetof(struct tcphdr, check) */
#define NAT_UDP_CSUM 6  /* offsetof(struct udphdr, check) */
#define NAT_ICMP_CSUM 2 /* offsetof(struct icmphdr, checksum) */
#define NAT_ICMP_ID 4   /* offsetof(struct icmphdr, un.echo.id) */
#define NAT_ICMP_ECHOREPLY 0
#define NAT_ICMP_ECHO 8
#define NAT_CT_REFRESH_NS (1ULL * 1000000000ULL)

/*
 * An unfragmented IPv4 TCP/UDP frame: fill t and return 0; anything else
 * -1 (not ours). Ports are read with bpf_skb_load_bytes, so an L4 header
 * outside the linear head is fine.
 */
static __always_inline int nat_parse(struct __sk_buff *ctx, struct nat_tuple *t)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__be16 p[4];
	__u32 hlen;

	if (pkt_pull(ctx, ETH_HLEN + sizeof(struct iphdr)) < 0)
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if (!PKT_OK(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	ip = ipv4_hdr_get(eth, data_end, ctx->len);
	if (!ip || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP &&
		    ip->protocol != IPPROTO_ICMP))
		return -1;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return -1;
	hlen = ipv4_hlen(ip) & 0x3c;
	t->saddr = ip->saddr;
	t->daddr = ip->daddr;
	t->proto = ip->protocol;
	t->l4_off = ETH_HLEN + hlen;
	if (t->proto == IPPROTO_ICMP) {
		/* Echo only (masquerade of ping): the identifier plays the
		 * port, the requester's "source port" and the replier's
		 * "destination port"; the other side is 0. */
		if (bpf_skb_load_bytes(ctx, t->l4_off, p, sizeof(p)))
			return -1;
		t->csum_off = t->l4_off + NAT_ICMP_CSUM;
		switch (bpf_ntohs(p[0]) >> 8) {
		case NAT_ICMP_ECHO:
			t->sport = p[2];
			t->dport = 0;
			return 0;
		case NAT_ICMP_ECHOREPLY:
			t->sport = 0;
			t->dport = p[2];
			return 0;
		default:
			return -1;
		}
	}
	/* Plain constants: offsetof() on vmlinux.h's CO-RE types would
	 * turn into relocated loads. */
	t->csum_off = t->l4_off + (t->proto == IPPROTO_TCP ? NAT_TCP_CSUM : NAT_UDP_CSUM);
	if (bpf_skb_load_bytes(ctx, t->l4_off, p, 2 * sizeof(p[0])))
		return -1;
	t->sport = p[0];
	t->dport = p[1];
	return 0;
}

/*
 * Rewrite the source (dst = false) or destination address and port of the
 * packet in t to addr:port, fixing the IPv4 header checksum and the
 * TCP/UDP checksum incrementally (pseudo-header included). A UDP checksum
 * of 0 (none) stays 0 (BPF_F_MARK_MANGLED_0). For CHECKSUM_PARTIAL
 * packets the kernel's helper updates the pseudo-header seed instead.
 */
static __always_inline int nat_rewrite(struct __sk_buff *ctx, const struct nat_tuple *t, bool dst,
				       __be32 addr, __be16 port)
{
	__u32 addr_off = dst ? NAT_DADDR_OFF : NAT_SADDR_OFF;
	__u32 port_off = t->l4_off + (dst ? 2 : 0);
	__be32 old_addr = dst ? t->daddr : t->saddr;
	__be16 old_port = dst ? t->dport : t->sport;
	__u64 l4f = t->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	bool icmp = t->proto == IPPROTO_ICMP;

	/* ICMP echo: one identifier field, no pseudo-header. */
	if (icmp)
		port_off = t->l4_off + NAT_ICMP_ID;
	if (old_addr != addr) {
		if (!icmp && bpf_l4_csum_replace(ctx, t->csum_off, old_addr, addr,
						 l4f | BPF_F_PSEUDO_HDR | sizeof(addr)))
			return -1;
		if (bpf_l3_csum_replace(ctx, NAT_IPCSUM_OFF, old_addr, addr, sizeof(addr)))
			return -1;
		if (bpf_skb_store_bytes(ctx, addr_off, &addr, sizeof(addr), 0))
			return -1;
	}
	if (old_port != port) {
		if (bpf_l4_csum_replace(ctx, t->csum_off, old_port, port, l4f | sizeof(port)))
			return -1;
		if (bpf_skb_store_bytes(ctx, port_off, &port, sizeof(port), 0))
			return -1;
	}
	return 0;
}

static __always_inline void nat_count(int which)
{
	struct shoal_node_stats *st = node_stats_get();

	if (!st)
		return;
	switch (which) {
	case SHOAL_CT_REV_DNAT:
		st->nat_revdnat_packets++;
		break;
	case SHOAL_CT_SNAT:
		st->nat_snat_packets++;
		break;
	case SHOAL_CT_REV_SNAT:
		st->nat_revsnat_packets++;
		break;
	case SHOAL_CT_HAIRPIN:
		st->nat_hairpin_packets++;
		break;
	default:
		st->nat_dnat_packets++;
		break;
	}
}

/* Write (or refresh, at most once a second) a conntrack entry. */
static __always_inline int nat_ct_put(const struct shoal_ct_key *k, __be32 addr, __be16 port,
				      __u8 type, __u32 ifindex)
{
	struct shoal_ct_val v = {}, *cur;
	__u64 now = bpf_ktime_get_coarse_ns();

	cur = bpf_map_lookup_elem(&nat_ct, k);
	if (cur && cur->nat_addr == addr && cur->nat_port == port && cur->type == type &&
	    cur->ifindex == ifindex) {
		if (now - cur->seen_ns >= NAT_CT_REFRESH_NS)
			cur->seen_ns = now;
		return 0;
	}
	v.nat_addr = addr;
	v.nat_port = port;
	v.type = type;
	v.ifindex = ifindex;
	v.seen_ns = now;
	return bpf_map_update_elem(&nat_ct, k, &v, BPF_ANY);
}

/* The conntrack key of a tuple as it travels (saddr:sport -> daddr:dport). */
static __always_inline void nat_ct_key(struct shoal_ct_key *k, const struct nat_tuple *t)
{
	k->saddr = t->saddr;
	k->daddr = t->daddr;
	k->sport = t->sport;
	k->dport = t->dport;
	k->proto = t->proto;
}

/*
 * Claim a port of the SNAT range for reply key rk (all set but dport):
 * a port is free when rk with it is not there yet, and BPF_NOEXIST makes
 * the claim, writing rv. 16 random tries; the port (NBO), 0 if none was
 * free.
 */
static __always_inline __be16 nat_claim_port(struct shoal_ct_key *rk,
					     const struct shoal_ct_val *rv)
{
	for (int i = 0; i < 16; i++) {
		__u16 hp = SHOAL_SNAT_PORT_MIN +
			   bpf_get_prandom_u32() % (SHOAL_SNAT_PORT_MAX - SHOAL_SNAT_PORT_MIN + 1);

		rk->dport = bpf_htons(hp);
		if (bpf_map_update_elem(&nat_ct, rk, rv, BPF_NOEXIST) == 0)
			return rk->dport;
	}
	return 0;
}

/*
 * Hand a frame whose destination is now container ifindex's endpoint to
 * it: Ethernet as the container expects it (to its MAC, from its
 * gateway's = the host end's), rx counted here (redirect_peer skips
 * to_container), then straight into its namespace.
 */
static __always_inline int nat_deliver(struct __sk_buff *ctx, __u32 ifindex)
{
	const struct shoal_iface_val *iface;
	__u8 macs[2 * ETH_ALEN];

	iface = bpf_map_lookup_elem(&ifaces, &ifindex);
	if (!iface)
		return -1;
	__builtin_memcpy(macs, iface->mac, ETH_ALEN);
	__builtin_memcpy(macs + ETH_ALEN, iface->host_mac, ETH_ALEN);
	if (bpf_skb_store_bytes(ctx, 0, macs, sizeof(macs), 0))
		return -1;
	ep_count_rx(acct_enabled(node_cfg_get()), iface->ep_id, ctx->len);
	return 0;
}

static __always_inline int nat_drop_at(struct __sk_buff *ctx, enum shoal_drop_reason reason,
				       __u32 line)
{
	node_count_drop(reason);
	/* lookup_ep: on a container's veth the drop is charged to it. */
	ev_drop(ctx, reason, SHOAL_SRC_NAT, line, 1);
	return TC_ACT_SHOT;
}
/* Every caller has its skb in `ctx`; the drop event records the line. */
#define nat_drop(reason) nat_drop_at(ctx, reason, __LINE__)

/* A published port for this packet, or NULL. */
static __always_inline struct shoal_port_val *nat_port_lookup(const struct nat_tuple *t)
{
	struct shoal_port_key pk = { .host_ip = t->daddr, .host_port = t->dport, .proto = t->proto };
	struct shoal_port_val *pv;
	__u32 addr = t->daddr;

	pv = bpf_map_lookup_elem(&ports, &pk);
	if (pv)
		return pv;
	/* 0.0.0.0: any address of the host, never traffic routed through it. */
	if (!bpf_map_lookup_elem(&host_addrs, &addr))
		return NULL;
	pk.host_ip = 0;
	return bpf_map_lookup_elem(&ports, &pk);
}

/*
 * TC ingress of an external interface: reverse masquerade, then published
 * ports; TC_ACT_OK (untouched) for everything else.
 */
static __always_inline int nat_ingress(struct __sk_buff *ctx)
{
	struct shoal_ct_key k = {};
	struct shoal_port_val *pv;
	struct shoal_ct_val *ct;
	struct nat_tuple t = {};
	__u32 ifindex;
	__be32 ctr_ip;
	__be16 ctr_port;

	if (nat_parse(ctx, &t) < 0)
		return TC_ACT_OK;

	nat_ct_key(&k, &t);
	ct = bpf_map_lookup_elem(&nat_ct, &k);
	if (ct && ct->type == SHOAL_CT_REV_SNAT) {
		ifindex = ct->ifindex;
		if (nat_rewrite(ctx, &t, true, ct->nat_addr, ct->nat_port))
			return nat_drop(SHOAL_DROP_NAT_FAILED);
		if (nat_deliver(ctx, ifindex))
			return nat_drop(SHOAL_DROP_UNKNOWN_NETWORK);
		nat_count(SHOAL_CT_REV_SNAT);
		return bpf_redirect_peer(ifindex, 0);
	}

	pv = nat_port_lookup(&t);
	if (!pv)
		return TC_ACT_OK;
	ifindex = pv->ifindex;
	ctr_ip = pv->ctr_ip;
	ctr_port = pv->ctr_port;

	/* The reply, as from_container will see it. */
	k.saddr = ctr_ip;
	k.daddr = t.saddr;
	k.sport = ctr_port;
	k.dport = t.sport;
	if (nat_ct_put(&k, t.daddr, t.dport, SHOAL_CT_REV_DNAT, ctx->ifindex))
		return nat_drop(SHOAL_DROP_NAT_CT_FULL);
	if (nat_rewrite(ctx, &t, true, ctr_ip, ctr_port))
		return nat_drop(SHOAL_DROP_NAT_FAILED);
	if (nat_deliver(ctx, ifindex))
		return nat_drop(SHOAL_DROP_UNKNOWN_NETWORK);
	nat_count(0);
	return bpf_redirect_peer(ifindex, 0);
}

/*
 * Masquerade a container's packet that the FIB sends out of an external
 * interface with SHOAL_EXT_MASQUERADE. TC_ACT_OK when it does not apply.
 */
static __always_inline int nat_masquerade(struct __sk_buff *ctx, const struct nat_tuple *t)
{
	struct bpf_fib_lookup p = {};
	struct shoal_ct_key fk = {}, rk = {};
	struct shoal_ext_val *ext;
	__be16 port = 0;
	__be32 addr;
	__u32 out;
	int rc;

	p.family = 2; /* AF_INET */
	p.l4_protocol = t->proto;
	p.sport = t->sport;
	p.dport = t->dport;
	p.tot_len = (__u16)(ctx->len - ETH_HLEN);
	p.ipv4_src = t->saddr;
	p.ipv4_dst = t->daddr;
	p.ifindex = ctx->ifindex;
	rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	/* Local, unreachable, forwarding off...: the stack decides. */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return TC_ACT_OK;
	out = p.ifindex;
	ext = bpf_map_lookup_elem(&ext_ifaces, &out);
	if (!ext || !(ext->flags & SHOAL_EXT_MASQUERADE) || !ext->addr)
		return TC_ACT_OK;
	addr = ext->addr;

	/* Reply key: remote -> addr:port, a port free for this remote end. */
	rk.saddr = t->daddr;
	rk.daddr = addr;
	rk.sport = t->dport;
	rk.proto = t->proto;
	{
		struct shoal_ct_val rv = {
			.nat_addr = t->saddr,
			.nat_port = t->sport,
			.type = SHOAL_CT_REV_SNAT,
			.ifindex = ctx->ifindex,
			.seen_ns = bpf_ktime_get_coarse_ns(),
		};

		port = nat_claim_port(&rk, &rv);
	}
	if (!port)
		return nat_drop(SHOAL_DROP_NAT_NO_PORT);

	nat_ct_key(&fk, t);
	if (nat_ct_put(&fk, addr, port, SHOAL_CT_SNAT, out)) {
		bpf_map_delete_elem(&nat_ct, &rk);
		return nat_drop(SHOAL_DROP_NAT_CT_FULL);
	}
	if (nat_rewrite(ctx, t, false, addr, port))
		return nat_drop(SHOAL_DROP_NAT_FAILED);
	nat_count(SHOAL_CT_SNAT);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__u8 macs[2 * ETH_ALEN];

		__builtin_memcpy(macs, p.dmac, ETH_ALEN);
		__builtin_memcpy(macs + ETH_ALEN, p.smac, ETH_ALEN);
		if (bpf_skb_store_bytes(ctx, 0, macs, sizeof(macs), 0))
			return nat_drop(SHOAL_DROP_NAT_FAILED);
		return bpf_redirect(out, 0);
	}
	return bpf_redirect_neigh(out, NULL, 0, 0);
}

/* Both rewrites of a hairpin entry, then into the container behind
 * ifindex. */
static __always_inline int nat_hairpin_apply(struct __sk_buff *ctx, const struct nat_tuple *t,
					     __be32 saddr, __be16 sport, __be32 daddr, __be16 dport,
					     __u32 ifindex)
{
	if (nat_rewrite(ctx, t, false, saddr, sport) || nat_rewrite(ctx, t, true, daddr, dport))
		return nat_drop(SHOAL_DROP_NAT_FAILED);
	if (nat_deliver(ctx, ifindex))
		return nat_drop(SHOAL_DROP_UNKNOWN_NETWORK);
	nat_count(SHOAL_CT_HAIRPIN);
	return bpf_redirect_peer(ifindex, 0);
}

/*
 * Hairpin: container A reaches a published port through a host address
 * (what docker-proxy does for Docker). DNAT alone would not do: B would
 * answer A directly, from its own address. So the source becomes the host
 * address with a port from the SNAT range, and B's answer, addressed to
 * it, is turned back into "host ip:published port -> A".
 */
static __always_inline int nat_hairpin(struct __sk_buff *ctx, const struct nat_tuple *t,
				       const struct shoal_port_val *pv)
{
	struct shoal_ct_key fk = {}, rk = {};
	struct shoal_ct_val fv = {}, rv = {};
	__u32 ifindex = pv->ifindex;
	__be16 port = 0;

	rk.saddr = pv->ctr_ip;
	rk.daddr = t->daddr;
	rk.sport = pv->ctr_port;
	rk.proto = t->proto;
	rv.nat_addr = t->daddr;
	rv.nat_port = t->dport;
	rv.alt_addr = t->saddr;
	rv.alt_port = t->sport;
	rv.type = SHOAL_CT_REV_HAIRPIN;
	rv.ifindex = ctx->ifindex;
	rv.seen_ns = bpf_ktime_get_coarse_ns();
	port = nat_claim_port(&rk, &rv);
	if (!port)
		return nat_drop(SHOAL_DROP_NAT_NO_PORT);
	nat_ct_key(&fk, t);
	fv.nat_addr = t->daddr;
	fv.nat_port = port;
	fv.alt_addr = pv->ctr_ip;
	fv.alt_port = pv->ctr_port;
	fv.type = SHOAL_CT_HAIRPIN;
	fv.ifindex = ifindex;
	fv.seen_ns = rv.seen_ns;
	if (bpf_map_update_elem(&nat_ct, &fk, &fv, BPF_ANY)) {
		bpf_map_delete_elem(&nat_ct, &rk);
		return nat_drop(SHOAL_DROP_NAT_CT_FULL);
	}
	return nat_hairpin_apply(ctx, t, t->daddr, port, fv.alt_addr, fv.alt_port, ifindex);
}

/*
 * from_container, for an IPv4 packet the container routes (destination
 * outside its subnet): reverse of a published port's DNAT, an established
 * masquerade flow, or a new one. TC_ACT_OK when none applies.
 */
static __always_inline int nat_from_container(struct __sk_buff *ctx,
					      const struct shoal_node_cfg *cfg)
{
	struct shoal_port_val *pv;
	struct shoal_ct_key k = {};
	struct shoal_ct_val *ct;
	struct nat_tuple t = {};
	__u32 out;

	if (nat_parse(ctx, &t) < 0)
		return TC_ACT_OK;
	nat_ct_key(&k, &t);
	ct = bpf_map_lookup_elem(&nat_ct, &k);
	if (ct && (ct->type == SHOAL_CT_REV_DNAT || ct->type == SHOAL_CT_SNAT)) {
		int type = ct->type;

		out = ct->ifindex;
		if (nat_rewrite(ctx, &t, false, ct->nat_addr, ct->nat_port))
			return nat_drop(SHOAL_DROP_NAT_FAILED);
		nat_count(type);
		/* The kernel routes daddr out of that device and writes the
		 * Ethernet header from its neighbour table. */
		return bpf_redirect_neigh(out, NULL, 0, 0);
	}
	if (ct && (ct->type == SHOAL_CT_HAIRPIN || ct->type == SHOAL_CT_REV_HAIRPIN))
		return nat_hairpin_apply(ctx, &t, ct->nat_addr, ct->nat_port, ct->alt_addr,
					 ct->alt_port, ct->ifindex);
	pv = nat_port_lookup(&t);
	if (pv)
		return nat_hairpin(ctx, &t, pv);
	if (!cfg || !(cfg->flags & SHOAL_CFG_MASQUERADE))
		return TC_ACT_OK;
	return nat_masquerade(ctx, &t);
}

#endif /* SHOAL_BPF_NAT_H */
