/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netlink.h - links, addresses and routes through libnl-3 (route).
 *
 * All calls act on the network namespace of the calling thread unless a
 * netns path is given. libnl's -NLE_* codes are translated to -errno here,
 * at the module boundary, with a message in *err naming the object.
 * Addresses are uint32 in network byte order.
 */
#ifndef SHOAL_NETLINK_H
#define SHOAL_NETLINK_H

#include <stdint.h>

#include "../common/err.h"

/* rtm_protocol of every route shoal installs ("ip route show proto 181"):
 * ours are told apart from the administrator's, and deletes only ever
 * match ours. Unassigned in iproute2's rt_protos. */
#define NETLINK_RTPROT_SHOAL 181

struct netlink_veth_spec {
	const char *host_name;  /* host end, e.g. "shl0123456789ab" (<= 15) */
	const char *netns_path; /* namespace of the peer, e.g. /run/netns/c1 */
	const char *peer_name;  /* name inside that namespace: "eth0" */
	uint8_t peer_mac[6];
	uint32_t ip;            /* peer address */
	uint8_t prefix;         /* subnet prefix of that address */
	uint32_t gateway;       /* default route via this (0 = no route) */
	int mtu;                /* both ends */
};

/*
 * Create a veth pair: the host end in the caller's namespace, the peer
 * directly in spec->netns_path with its name, MAC, MTU, address, "lo" up,
 * itself up and a default route via the gateway (onlink). The host end is
 * brought up. Fails with -EEXIST if the host name exists, or if the peer
 * name exists in the target namespace, without creating anything. On any
 * later failure the pair is deleted again. Out: host ifindex and MAC.
 */
int netlink_veth_create(const struct netlink_veth_spec *spec, int *host_ifindex,
			uint8_t host_mac[6], struct shoal_err *err);

/* Delete a link by name; -ENODEV if it does not exist. */
int netlink_link_del(const char *name, struct shoal_err *err);

/* Look a link up by name: ifindex, MAC, MTU (any out may be NULL). -ENODEV. */
int netlink_link_get(const char *name, int *ifindex, uint8_t mac[6], int *mtu,
		     struct shoal_err *err);

/* Is there a link named `name` in the namespace at netns_path? 1/0/-errno. */
int netlink_link_exists_in(const char *netns_path, const char *name, struct shoal_err *err);

/* Call fn for every link whose name starts with prefix. */
int netlink_link_foreach_prefix(const char *prefix,
				int (*fn)(const char *name, int ifindex, void *arg), void *arg,
				struct shoal_err *err);

/* Create a dummy link if missing and bring it up. Out: ifindex. Where the
 * kernel has no dummy driver an ifb link is used instead (same role: an
 * up link that holds addresses and drops what is sent to it); an existing
 * link of either kind is accepted, anything else is -EEXIST. */
int netlink_dummy_ensure(const char *name, int *ifindex, struct shoal_err *err);

/* Add/remove an IPv4 address (prefix) on a link; add is idempotent. */
int netlink_addr_add(int ifindex, uint32_t ip, uint8_t prefix, struct shoal_err *err);
int netlink_addr_del(int ifindex, uint32_t ip, uint8_t prefix, struct shoal_err *err);

/* First IPv4 address (and its prefix) on a link; -EADDRNOTAVAIL if none. */
int netlink_addr_first(int ifindex, uint32_t *ip, uint8_t *prefix, struct shoal_err *err);
/* The link that holds IPv4 address ip; -EADDRNOTAVAIL if none. */
int netlink_addr_find(uint32_t ip, int *ifindex, struct shoal_err *err);

/* Host route ip/32 dev ifindex scope link [src src]; replace semantics. */
int netlink_route_host_replace(uint32_t ip, int ifindex, uint32_t src, struct shoal_err *err);
int netlink_route_host_del(uint32_t ip, int ifindex, struct shoal_err *err);

/* Set a sysctl-like per-device knob via /proc/sys/net/ipv4/conf/IF/KEY. */
int netlink_ipv4_conf_set(const char *ifname, const char *key, const char *value,
			  struct shoal_err *err);

#endif
