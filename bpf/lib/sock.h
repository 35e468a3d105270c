/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sock.h - published ports for clients on the host itself (Cilium's
 * bpf_sock.c "host-reachable services"): a process in shoald's network
 * namespace that connects or sends to 127.0.0.1:HOSTPORT or one of the
 * host's addresses never crosses an external interface, so from_external
 * cannot see it. Instead cgroup/connect4 and cgroup/sendmsg4 rewrite the
 * destination of the socket call itself to the container's ip:port (no
 * per-packet NAT at all), and cgroup/recvmsg4 and cgroup/getpeername4
 * turn the container's address back into the one the application used.
 *
 * These hooks are attached to the root cgroup, which is machine-wide: every
 * program returns 1 (allow) whatever happens, and acts only in the network
 * namespace whose cookie the daemon stored in sock_config, so a shoald in
 * a test namespace never changes another namespace's sockets.
 */
#ifndef SHOAL_BPF_SOCK_H
#define SHOAL_BPF_SOCK_H

#include "lib/common.h"
#include "lib/nat.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shoal_sock_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sock_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SHOAL_MAX_NAT_CT);
	__type(key, struct shoal_sock_rev_key);
	__type(value, struct shoal_sock_rev_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sock_rev SEC(".maps");

#define SOCK_ALLOW 1

/* Is this socket call in the namespace we serve? */
static __always_inline bool sock_ours(struct bpf_sock_addr *ctx)
{
	__u32 zero = 0;
	struct shoal_sock_cfg *c = bpf_map_lookup_elem(&sock_config, &zero);

	return c && c->netns_cookie && bpf_get_netns_cookie(ctx) == c->netns_cookie;
}

/* The binding for ip:port (NBO), as the host's own sockets reach it:
 * the exact address, else 0.0.0.0 for loopback and the host's addresses. */
static __always_inline struct shoal_port_val *sock_port_lookup(__u32 ip, __u16 port, __u8 proto)
{
	struct shoal_port_key pk = { .host_ip = ip, .host_port = port, .proto = proto };
	struct shoal_port_val *pv;
	__u32 addr = ip;

	pv = bpf_map_lookup_elem(&ports, &pk);
	if (pv)
		return pv;
	if ((bpf_ntohl(ip) >> 24) != 127 && !bpf_map_lookup_elem(&host_addrs, &addr))
		return NULL;
	pk.host_ip = 0;
	return bpf_map_lookup_elem(&ports, &pk);
}

/* connect4 / sendmsg4: point the socket call at the container. */
static __always_inline int sock_fwd(struct bpf_sock_addr *ctx)
{
	struct shoal_sock_rev_key rk = {};
	struct shoal_sock_rev_val rv = {};
	struct shoal_port_val *pv;
	__u32 proto = ctx->protocol;
	__u32 ip = ctx->user_ip4;
	__u16 port = (__u16)ctx->user_port;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return SOCK_ALLOW;
	if (!sock_ours(ctx))
		return SOCK_ALLOW;
	pv = sock_port_lookup(ip, port, (__u8)proto);
	if (!pv)
		return SOCK_ALLOW;
	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.ip = pv->ctr_ip;
	rk.port = pv->ctr_port;
	rv.ip = ip;
	rv.port = port;
	bpf_map_update_elem(&sock_rev, &rk, &rv, BPF_ANY);
	ctx->user_ip4 = pv->ctr_ip;
	ctx->user_port = pv->ctr_port;
	return SOCK_ALLOW;
}

/* recvmsg4 / getpeername4: show the address the application used. */
static __always_inline int sock_rev_xlate(struct bpf_sock_addr *ctx)
{
	struct shoal_sock_rev_key rk = {};
	struct shoal_sock_rev_val *rv;

	if (!sock_ours(ctx))
		return SOCK_ALLOW;
	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.ip = ctx->user_ip4;
	rk.port = (__u16)ctx->user_port;
	rv = bpf_map_lookup_elem(&sock_rev, &rk);
	if (!rv)
		return SOCK_ALLOW;
	ctx->user_ip4 = rv->ip;
	ctx->user_port = rv->port;
	return SOCK_ALLOW;
}

#endif /* SHOAL_BPF_SOCK_H */
