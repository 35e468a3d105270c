// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoal.bpf.c - the data plane: three TC programs, one object. The entry
 * points only fetch the per-packet context (interface, node config); the
 * logic lives in bpf/lib (lxc.h: container side, underlay.h: VXLAN
 * receive) and every map in bpf/lib/maps.h.
 *
 *   from_container  TC ingress, host end of a container veth
 *   to_container    TC egress,  host end of a container veth
 *   from_underlay   TC ingress, underlay device (VXLAN, then as from_external)
 *   from_external   TC ingress, the host's other external interfaces:
 *                   published ports and masquerade replies (lib/nat.h)
 *   sock_*          cgroup hooks (root cgroup, scoped to shoald's netns):
 *                   published ports for the host's own clients (lib/sock.h)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "shoal_maps.h"

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/events.h"
#include "lib/flow.h"
#include "lib/lxc.h"
#include "lib/underlay.h"
#include "lib/nat.h"
#include "lib/sock.h"

SEC("tc")
int from_container(struct __sk_buff *ctx)
{
	__u32 ifindex = ctx->ifindex;
	struct shoal_iface_val *iface;
	struct shoal_node_cfg *cfg;

	iface = bpf_map_lookup_elem(&ifaces, &ifindex);
	if (!iface) {
		/* Attached to a veth the maps do not know (yet, or any
		 * more): nobody to charge, and no policy to apply. */
		node_count_drop(SHOAL_DROP_UNKNOWN_NETWORK);
		ev_drop(ctx, SHOAL_DROP_UNKNOWN_NETWORK, SHOAL_SRC_ENTRY, __LINE__, 0);
		return TC_ACT_SHOT;
	}
	cfg = node_cfg_get();
	if (!cfg)
		return TC_ACT_SHOT; /* cannot happen: ARRAY key 0 */
	return lxc_handle(ctx, cfg, iface);
}

SEC("tc")
int to_container(struct __sk_buff *ctx)
{
	__u32 ifindex = ctx->ifindex;
	struct shoal_iface_val *iface;
	struct shoal_node_cfg *cfg;

	/* Host stack -> container, and our own ARP replies: rx. Frames sent
	 * with bpf_redirect_peer never pass here (counted by the sender). */
	iface = bpf_map_lookup_elem(&ifaces, &ifindex);
	if (iface) {
		cfg = node_cfg_get();
		ep_count_rx(acct_enabled(cfg), iface->ep_id, ctx->len);
		if (flows_enabled(cfg))
			flow_account_to_container(ctx, iface->ep_id);
	}
	return TC_ACT_OK;
}

SEC("tc")
int from_underlay(struct __sk_buff *ctx)
{
	struct shoal_node_cfg *cfg = node_cfg_get();

	int ret;

	/* No underlay configured: single host, no VXLAN here. */
	if (cfg && cfg->underlay_ifindex) {
		ret = underlay_handle(ctx, cfg);
		if (ret != TC_ACT_OK)
			return ret;
	}
	/* Not VXLAN for us: the underlay is an external interface too. */
	return nat_ingress(ctx);
}

SEC("tc")
int from_external(struct __sk_buff *ctx)
{
	return nat_ingress(ctx);
}

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_fwd(ctx);
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_fwd(ctx);
}

SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock_rev_xlate(ctx);
}

SEC("cgroup/getpeername4")
int sock_getpeer4(struct bpf_sock_addr *ctx)
{
	return sock_rev_xlate(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
