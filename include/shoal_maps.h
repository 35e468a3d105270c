/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * shoal_maps.h - every BPF map key and value, shared by bpf/ and user/.
 *
 * Plain structs with fixed-width types only. BPF code includes vmlinux.h
 * first (which provides __u8.. __u64); userspace includes <linux/types.h>.
 * Addresses (IPv4) are stored in network byte order, exactly as they sit
 * in the packet, so the data path never swaps bytes. Ports too. Network
 * ids and VNIs are plain numbers in host order (the BPF side converts
 * the 24-bit VNI of the wire format).
 */
#ifndef SHOAL_MAPS_H
#define SHOAL_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Map sizes. */
#define SHOAL_MAX_ENDPOINTS 65536 /* local + remote endpoints, all networks */
#define SHOAL_MAX_IFACES 16384    /* local container veths (host ends) */
#define SHOAL_MAX_NETWORKS 4096
#define SHOAL_MAX_NODES 4096      /* peer nodes whose underlay MAC is cached */
#define SHOAL_MAX_PORTS 16384     /* published ports (bindings), all containers */
#define SHOAL_MAX_NAT_CT 131072   /* NAT conntrack entries (LRU) */
#define SHOAL_MAX_EXT_IFACES 64   /* external interfaces (publish/masquerade) */

/*
 * Network identifiers. Overlay networks use their VXLAN VNI (4096..2^24-1,
 * Docker's range); local networks get a small id below 4096, so one key
 * space serves both and a VNI never collides with a local network id.
 */
#define SHOAL_LOCAL_NETID_MIN 1
#define SHOAL_LOCAL_NETID_MAX 4095
#define SHOAL_VNI_MIN 4096
#define SHOAL_VNI_MAX 16777215

#define SHOAL_VXLAN_PORT 4789
#define SHOAL_VXLAN_OVERHEAD 50 /* outer eth 14 + ip 20 + udp 8 + vxlan 8 */

/* Why a packet was dropped. Keep shoal_drop_names[] (user/common) in sync. */
enum shoal_drop_reason {
	SHOAL_DROP_NO_ENDPOINT = 0, /* destination inside the subnet, no endpoint */
	SHOAL_DROP_NOT_ALLOWED = 1, /* source IP is not the endpoint's (spoof) */
	SHOAL_DROP_MALFORMED = 2,   /* truncated or malformed header */
	SHOAL_DROP_UNKNOWN_NETWORK = 3, /* interface or network not in the maps */
	SHOAL_DROP_UNKNOWN_VNI = 4, /* VXLAN for a VNI this node does not have */
	SHOAL_DROP_NO_UNDERLAY = 5, /* remote endpoint, no underlay configured */
	SHOAL_DROP_REDIRECT = 6,    /* redirect/encap helper failed */
	SHOAL_DROP_UNSUPPORTED = 7, /* protocol the data path does not forward */
	SHOAL_DROP_NAT_NO_PORT = 8, /* masquerade: no free source port */
	SHOAL_DROP_NAT_CT_FULL = 9, /* NAT conntrack entry could not be written */
	SHOAL_DROP_NAT_FAILED = 10, /* NAT rewrite (store/checksum helper) failed */
	SHOAL_DROP_NET_ISOLATED = 11, /* routed to another shoal network (Docker's isolation) */
	SHOAL_DROP_MAX = 12,
};

/* endpoints: {network id, IP} -> where that endpoint lives. */
struct shoal_ep_key {
	__u32 net_id; /* local network id or VNI */
	__u32 ip;     /* network byte order */
};

#define SHOAL_EP_LOCAL (1U << 0)  /* a veth on this node: ifindex is valid */
#define SHOAL_EP_REMOTE (1U << 1) /* on another node: node_ip is valid */

struct shoal_ep_val {
	__u32 node_ip; /* underlay IP of the node hosting it (remote), NBO */
	__u32 ifindex; /* host end of its veth (local) */
	__u32 ep_id;   /* key of ep_stats (local endpoints) */
	__u16 flags;   /* SHOAL_EP_* */
	__u8 mac[6];   /* the endpoint's eth0 MAC */
};

/* ifaces: host-end ifindex of a container veth -> who is behind it. */
struct shoal_iface_val {
	__u32 net_id;
	__u32 ep_id;
	__u32 ip;        /* the endpoint's IP, NBO */
	__u8 mac[6];     /* the endpoint's eth0 MAC */
	__u8 host_mac[6]; /* MAC of the host end: answers ARP for the gateway */
};

/* networks: network id -> subnet and gateway. */
#define SHOAL_NET_OVERLAY (1U << 0)

struct shoal_net_val {
	__u32 subnet;  /* NBO, host bits zero */
	__u32 mask;    /* NBO */
	__u32 gateway; /* NBO; 0 = none */
	__u32 vni;     /* VXLAN network identifier (overlay), else 0 */
	__u16 mtu;
	__u16 flags;   /* SHOAL_NET_* */
};

/*
 * subnets: LPM trie, every network's subnet -> its id and gateway. A
 * container's packet routed out of its own subnet to another shoal
 * network's subnet is dropped (SHOAL_DROP_NET_ISOLATED), as Docker's
 * DOCKER-ISOLATION rules drop traffic between user networks; that
 * network's gateway (an address of the host) stays reachable. Kept by
 * loader_put_network/loader_del_network beside the networks map.
 */
struct shoal_subnet_key {
	__u32 prefixlen;
	__u32 addr; /* NBO */
};

struct shoal_subnet_val {
	__u32 net_id;
	__u32 gateway; /* NBO */
};

/* node_config: array map, one entry (key 0). */
#define SHOAL_CFG_ACCOUNTING (1U << 0) /* per-endpoint counters on */
#define SHOAL_CFG_MASQUERADE (1U << 1) /* SNAT containers' outbound traffic (ip-masq) */
#define SHOAL_CFG_FLOWS (1U << 2)       /* per-flow accounting (flows map) on */
#define SHOAL_CFG_EV_DROP (1U << 3)     /* drop events to the events ring buffer */
#define SHOAL_CFG_EV_FLOW (1U << 4)     /* flow start/end events to the ring buffer */

struct shoal_node_cfg {
	__u32 underlay_ifindex; /* 0 = single host, no overlay */
	__u32 node_ip;          /* underlay IPv4 of this node, NBO */
	__u16 vxlan_port;       /* NBO */
	__u16 flags;            /* SHOAL_CFG_* */
	__u8 underlay_mac[6];   /* MAC of the underlay device */
	/* Prefix length of node_ip on the underlay device (its on-link
	 * subnet); 0 = unknown: no peer MAC is learnt (see nodes). Took a
	 * pad byte, so the value size (and old pins) stay as they were. */
	__u8 underlay_plen;
	__u8 pad;
};

/*
 * nodes: LRU hash, underlay IPv4 of a peer node (NBO) -> the MAC that
 * reaches it on the underlay device, learnt by from_underlay from the
 * outer source MAC of VXLAN packets it delivered from that IP, only for
 * peers inside the underlay's on-link subnet (no router in between, so
 * that MAC is the peer's own and the right next hop back). from_container
 * uses an entry younger than SHOAL_NODE_TTL_NS to write the outer
 * Ethernet header itself and bpf_redirect() to the underlay; a missing or
 * older entry falls back to bpf_redirect_neigh() (FIB + neighbour table),
 * so the cache never decides reachability on its own.
 */
#define SHOAL_NODE_TTL_NS (30ULL * 1000000000ULL)    /* used while younger */
#define SHOAL_NODE_REFRESH_NS (1ULL * 1000000000ULL) /* re-stamped at most this often */

struct shoal_node_val {
	__u8 mac[6];      /* next hop (the peer's underlay MAC) */
	__u16 pad;
	__u64 updated_ns; /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE) of the last packet seen */
};

/* ep_stats: per-CPU hash, ep_id -> counters. Userspace sums the CPUs. */
struct shoal_ep_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 drops[SHOAL_DROP_MAX];
};

/*
 * node_stats: per-CPU array, one entry: what the node drops or passes
 * where no endpoint can be charged (underlay path, unknown interface).
 */
struct shoal_node_stats {
	__u64 drops[SHOAL_DROP_MAX];
	__u64 rx_vxlan_packets; /* VXLAN packets decapsulated and delivered */
	__u64 rx_vxlan_bytes;
	__u64 tx_vxlan_packets; /* packets encapsulated and sent */
	__u64 tx_vxlan_bytes;
	__u64 nat_dnat_packets;   /* published port: client -> container rewritten */
	__u64 nat_revdnat_packets; /* published port: container reply rewritten */
	__u64 nat_snat_packets;   /* masquerade: container -> outside rewritten */
	__u64 nat_revsnat_packets; /* masquerade: reply -> container rewritten */
	__u64 nat_hairpin_packets; /* container -> host ip:published port, both ways */
};

/*
 * Published ports and masquerade (bpf/lib/nat.h has the data path).
 *
 * ports: HASH {host IP or 0 = any, host port, proto} -> container
 * ip:port and the host end of its veth (MACs and ep_id come from ifaces).
 * Looked up by the destination of a packet arriving on an external
 * interface: exact host IP first, then the wildcard 0.
 */
struct shoal_port_key {
	__u32 host_ip;   /* NBO; 0 = every address of the host */
	__u16 host_port; /* NBO */
	__u8 proto;      /* IPPROTO_TCP | IPPROTO_UDP */
	__u8 pad;
};

struct shoal_port_val {
	__u32 ctr_ip;   /* NBO */
	__u16 ctr_port; /* NBO */
	__u16 pad;
	__u32 ifindex;  /* host end of the container's veth (key of ifaces) */
};

/*
 * nat_ct: LRU hash, a 5-tuple as a packet carries it at the point of
 * lookup -> how to rewrite it. Four kinds of entry:
 *   REV_DNAT  key = container reply {ctr ip:port -> client ip:port};
 *             written by the published-port DNAT on ingress; from_container
 *             rewrites the source back to nat_addr:nat_port (the address
 *             the client used) and sends it out of ifindex.
 *   SNAT      key = container -> outside, before translation; the
 *             masquerade source nat_addr:nat_port to use (stable per flow).
 *   REV_SNAT  key = outside reply {remote -> ext ip:nat port}; ingress
 *             rewrites the destination to nat_addr:nat_port (the
 *             container) and delivers into ifindex (its veth).
 *   HAIRPIN   key = container A -> host ip:published port (from_container);
 *             source := nat (host ip: a port from the SNAT range),
 *             destination := alt (the published container B), into
 *             ifindex (B's veth).
 *   REV_HAIRPIN  key = B's reply {B -> host ip:that port}; source := nat
 *             (host ip:published port), destination := alt (A), into A.
 * No TCP state machine: entries live until the LRU evicts them.
 */
enum shoal_ct_type {
	SHOAL_CT_REV_DNAT = 1,
	SHOAL_CT_SNAT = 2,
	SHOAL_CT_REV_SNAT = 3,
	SHOAL_CT_HAIRPIN = 4,
	SHOAL_CT_REV_HAIRPIN = 5,
};

struct shoal_ct_key {
	__u32 saddr; /* NBO */
	__u32 daddr; /* NBO */
	__u16 sport; /* NBO */
	__u16 dport; /* NBO */
	__u8 proto;
	__u8 pad[3];
};

struct shoal_ct_val {
	__u32 nat_addr; /* NBO: the address to write */
	__u16 nat_port; /* NBO: the port to write */
	__u8 type;      /* enum shoal_ct_type */
	__u8 pad;
	__u32 ifindex;  /* where the rewritten packet goes */
	__u32 alt_addr; /* NBO: hairpin only: the destination to write */
	__u16 alt_port; /* NBO */
	__u16 pad2;
	__u64 seen_ns;  /* bpf_ktime_get_coarse_ns() of the last packet */
};

/* Masquerade source ports: above Linux's default ephemeral range
 * (32768-60999), so the host's own connections rarely share one. */
#define SHOAL_SNAT_PORT_MIN 61000
#define SHOAL_SNAT_PORT_MAX 65535

/*
 * ext_ifaces: HASH ifindex -> an interface where ports are published and
 * containers are masqueraded to (the underlay device and the host's other
 * external interfaces). from_container SNATs traffic the FIB routes out of
 * one of them to its address.
 */
#define SHOAL_EXT_MASQUERADE (1U << 0)

struct shoal_ext_val {
	__u32 addr;  /* NBO: first IPv4 address of the interface */
	__u32 flags; /* SHOAL_EXT_* */
};

/* sock_config: ARRAY, one entry: the socket-LB programs act only in the
 * network namespace whose cookie is here (0 = nowhere). */
struct shoal_sock_cfg {
	__u64 netns_cookie;
};

/*
 * sock_rev: LRU hash {socket cookie, container ip:port} -> the address
 * the application asked for, so recvmsg (UDP) and getpeername report
 * the published address, not the container's.
 */
struct shoal_sock_rev_key {
	__u64 cookie;
	__u32 ip;   /* NBO: container */
	__u16 port; /* NBO */
	__u16 pad;
};

struct shoal_sock_rev_val {
	__u32 ip;   /* NBO: what the application connected/sent to */
	__u16 port; /* NBO */
	__u16 pad;
};

/* ---- observability: flows, events (bpf/lib/flow.h, bpf/lib/events.h) ---- */

/*
 * flows: LRU per-CPU hash, {endpoint, direction, 5-tuple} -> counters.
 * One entry per endpoint and direction: a packet between two local
 * endpoints is an egress flow of the sender and an ingress flow of the
 * receiver. Addresses and ports are as on the wire (NBO), saddr is the
 * sender's. ICMP and other protocols have ports 0; so do non-first IPv4
 * fragments (their L4 header is in the first one). Packets are skbs, as
 * in ep_stats (a GSO super-packet counts once, its bytes in full).
 * Default size SHOAL_FLOWS_DEFAULT; the daemon sets max_entries from
 * daemon.json "flow-table-size" before loading.
 */
#define SHOAL_FLOWS_DEFAULT 65536
#define SHOAL_FLOW_EGRESS 0  /* sent by the endpoint */
#define SHOAL_FLOW_INGRESS 1 /* delivered to the endpoint */

struct shoal_flow_key {
	__u32 ep_id;
	__u32 saddr; /* NBO */
	__u32 daddr; /* NBO */
	__u16 sport; /* NBO */
	__u16 dport; /* NBO */
	__u8 proto;  /* IPPROTO_* */
	__u8 dir;    /* SHOAL_FLOW_* */
	__u16 pad;
};

/* Per-CPU value: userspace sums packets/bytes, takes min first_ns, max
 * last_ns and ORs tcp_flags over the CPUs (a CPU that never saw the flow
 * has all zero). Times: bpf_ktime_get_coarse_ns (CLOCK_MONOTONIC_COARSE). */
struct shoal_flow_val {
	__u64 packets;
	__u64 bytes;
	__u64 first_ns;
	__u64 last_ns;
	__u8 tcp_flags; /* OR of every TCP flags byte seen (FIN 0x01 .. CWR 0x80) */
	__u8 pad[7];
};

/*
 * obs_stats: per-CPU array, one entry: the health of flows and events.
 * flows_created counts successful inserts, so evictions by the LRU are
 * flows_created - live entries (the daemon never deletes flows).
 */
struct shoal_obs_stats {
	__u64 flows_created;    /* new flow entries inserted */
	__u64 flows_failed;     /* insert failed (map full, no LRU victim): not tracked */
	__u64 ev_sent;          /* events written to the ring buffer */
	__u64 ev_lost;          /* ring buffer full: event lost */
	__u64 ev_ratelimited;   /* over the per-CPU rate: not sent */
	__u64 ev_win_ns;        /* rate limiter: start of the current window */
	__u64 ev_win_count;     /* rate limiter: events sent in that window */
};

/* events: BPF_MAP_TYPE_RINGBUF of struct shoal_event. */
#define SHOAL_EVENTS_RING_SIZE (256 * 1024)
#define SHOAL_EVENT_RATE_DEFAULT 1000 /* events per CPU per second */

enum shoal_event_type {
	SHOAL_EV_DROP = 1,
	SHOAL_EV_FLOW_START = 2,
	SHOAL_EV_FLOW_END = 3, /* TCP FIN or RST first seen on the flow */
};

/* Where a drop happened: the source file (id) and line of the BPF code. */
enum shoal_src_file {
	SHOAL_SRC_UNKNOWN = 0,
	SHOAL_SRC_ENTRY = 1,    /* bpf/shoal.bpf.c */
	SHOAL_SRC_LXC = 2,      /* bpf/lib/lxc.h */
	SHOAL_SRC_UNDERLAY = 3, /* bpf/lib/underlay.h */
	SHOAL_SRC_NAT = 4,      /* bpf/lib/nat.h */
	SHOAL_SRC_MAX = 5,
};

struct shoal_event {
	__u8 type;      /* SHOAL_EV_* */
	__u8 reason;    /* drops: SHOAL_DROP_* */
	__u8 src_file;  /* drops: SHOAL_SRC_* */
	__u8 proto;     /* IPPROTO_*, 0 = not IPv4 (ARP: ETH_P_ARP in l3_proto) */
	__u16 src_line; /* drops: line in src_file */
	__u16 l3_proto; /* ethertype, host order */
	__u32 ep_id;    /* endpoint charged (0 = node) */
	__u32 ifindex;  /* interface the program ran on */
	__u32 saddr;    /* NBO; ARP: sender / target protocol address */
	__u32 daddr;
	__u16 sport;    /* NBO */
	__u16 dport;
	__u32 len;      /* skb length */
	__u8 dir;       /* flows: SHOAL_FLOW_* */
	__u8 tcp_flags; /* flows: flags seen so far */
	__u16 pad;
	__u64 ts_ns;    /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 packets;  /* flow end: this CPU's counters of the flow */
	__u64 bytes;
};

#endif /* SHOAL_MAPS_H */
