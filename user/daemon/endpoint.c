// SPDX-License-Identifier: Apache-2.0
/*
 * endpoint.c - attach a network namespace to a network (CNI-style; the
 * container code path uses the same functions) and detach it.
 *
 * An endpoint is: a state row, a veth pair (host end "shl<12 hex>", peer
 * "eth0" in the namespace, or the first free of eth1, eth2... when the
 * namespace is on several networks: only eth0 gets the default route, as
 * Docker's first network), TC programs on the host end, entries in the
 * ifaces, endpoints and ep_stats maps, and a /32 host route so the host
 * (the network's gateway) reaches it. The state row is written first in
 * a transaction; the kernel side is applied, and the transaction commits
 * only if all of it worked. Otherwise everything applied is undone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/names.h"
#include "../common/util.h"
#include "../ipam/ipam.h"
#include "../netlink/netlink.h"
#include "daemon.h"
#include "obs.h"

static void ep_map_vals(const struct st_network *n, const struct st_endpoint *e, int ifindex,
			const uint8_t host_mac[6], struct shoal_ep_key *k, struct shoal_ep_val *v,
			struct shoal_iface_val *iv)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	memset(iv, 0, sizeof(*iv));
	k->net_id = n->net_id;
	k->ip = e->ip;
	v->ifindex = (__u32)ifindex;
	v->ep_id = e->ep_id;
	v->flags = SHOAL_EP_LOCAL;
	memcpy(v->mac, e->mac, 6);
	iv->net_id = n->net_id;
	iv->ep_id = e->ep_id;
	iv->ip = e->ip;
	memcpy(iv->mac, e->mac, 6);
	memcpy(iv->host_mac, host_mac, 6);
}

/* The first of eth0, eth1... that is free in the namespace at netns. */
static int ep_peer_name(const char *netns, char name[16], struct shoal_err *err)
{
	for (int i = 0; i < 100; i++) {
		int ret;

		snprintf(name, 16, "eth%d", i);
		ret = netlink_link_exists_in(netns, name, err);
		if (ret <= 0)
			return ret;
	}
	return err_set(err, ENOSPC, "network namespace %s has no free interface name (eth0-eth99)",
		       netns);
}

int ep_apply_local(struct daemon *d, const struct st_network *n, const struct st_endpoint *e,
		   bool create_link, struct shoal_err *err)
{
	struct shoal_ep_key k;
	struct shoal_ep_val v;
	struct shoal_iface_val iv;
	uint8_t host_mac[6];
	int ifindex = 0, ret;
	bool created = false;

	if (create_link) {
		char peer[16], key[64];
		struct netlink_veth_spec spec = {
			.host_name = e->host_ifname,
			.netns_path = e->netns,
			.peer_name = peer,
			.ip = e->ip,
			.prefix = n->prefix,
			.mtu = (int)n->mtu,
		};

		ret = ep_peer_name(e->netns, peer, err);
		if (ret < 0)
			return ret;
		spec.gateway = strcmp(peer, "eth0") == 0 ? n->gateway : 0;
		memcpy(spec.peer_mac, e->mac, 6);
		ret = netlink_veth_create(&spec, &ifindex, host_mac, err);
		if (ret < 0)
			return ret;
		created = true;
		/*
		 * No IPv6 on either end: the network is IPv4-only (as Docker's
		 * without --ipv6), and router/neighbour solicitations would
		 * otherwise show up in the endpoint's counters at random times.
		 */
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", peer);
		netns_sysctl_set(e->netns, key, "1", NULL);
	} else {
		ret = netlink_link_get(e->host_ifname, &ifindex, host_mac, NULL, err);
		if (ret < 0)
			return ret;
	}
	{
		char key[128];
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", e->host_ifname);
		netns_sysctl_set(NULL, key, "1", NULL);
	}
	ep_map_vals(n, e, ifindex, host_mac, &k, &v, &iv);
	ret = loader_stats_init(&d->bpf, e->ep_id, err);
	if (ret < 0)
		goto fail;
	ret = loader_put_iface(&d->bpf, (uint32_t)ifindex, &iv, err);
	if (ret < 0)
		goto fail;
	ret = loader_put_endpoint(&d->bpf, &k, &v, err);
	if (ret < 0)
		goto fail;
	ret = loader_attach_endpoint(&d->bpf, ifindex, err);
	if (ret < 0)
		goto fail;
	ret = netlink_route_host_replace(e->ip, ifindex, n->gateway, err);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	if (created) {
		loader_del_endpoint(&d->bpf, &k, NULL);
		loader_del_iface(&d->bpf, (uint32_t)ifindex, NULL);
		loader_stats_del(&d->bpf, e->ep_id, NULL);
		netlink_link_del(e->host_ifname, NULL);
	}
	return ret;
}

/*
 * del_link false: the endpoint's namespace is about to be destroyed (a
 * container's, after its run): the kernel then deletes the veth pair, its
 * filters and route by itself, asynchronously, while RTM_DELLINK here
 * would wait ~25 ms for an RCU grace period in the middle of every
 * `run --rm`. The maps are cleaned either way.
 */
static void ep_unapply(struct daemon *d, const struct st_network *n, const struct st_endpoint *e,
		       bool del_link)
{
	struct shoal_ep_key k = { .net_id = n->net_id, .ip = e->ip };
	int ifindex = 0;

	if (netlink_link_get(e->host_ifname, &ifindex, NULL, NULL, NULL) == 0)
		loader_del_iface(&d->bpf, (uint32_t)ifindex, NULL);
	loader_del_endpoint(&d->bpf, &k, NULL);
	/* Deleting the host end deletes the pair, its filters and its route. */
	if (del_link)
		netlink_link_del(e->host_ifname, NULL);
	loader_stats_del(&d->bpf, e->ep_id, NULL);
}

void ep_unapply_local(struct daemon *d, const struct st_network *n, const struct st_endpoint *e)
{
	ep_unapply(d, n, e, true);
}

int ep_prepare(struct daemon *d, const struct st_network *n, const char *ip_str,
	       struct st_endpoint *e, struct shoal_err *err)
{
	struct st_endpoint *eps = NULL;
	_cleanup_free_ uint32_t *used = NULL;
	size_t ne = 0;
	int ret;

	ret = state_endpoint_list(d->st, n->id, &eps, &ne, err);
	if (ret < 0)
		return ret;
	used = calloc(ne + 1, sizeof(*used));
	if (!used) {
		free(eps);
		return err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < ne; i++)
		used[i] = eps[i].ip;
	free(eps);
	if (ip_str && *ip_str) {
		if (util_parse_ipv4(ip_str, &e->ip) < 0)
			return err_set(err, EINVAL, "invalid IPv4 address \"%s\"", ip_str);
		ret = ipam_check(n->subnet, n->prefix, n->gateway, used, ne, e->ip, err);
		if (ret == 0 && !e->remote)
			ret = kvdisc_claim_ip(d, n, e->ip, err);
	} else {
		ret = swarm_alloc_ip(d, n, used, ne, &e->ip, err);
		if (ret == 0 && !e->remote)
			ret = kvdisc_alloc_ip(d, n, used, ne, &e->ip, err);
		if (ret == 0)
			ret = ipam_alloc(n->subnet, n->prefix, n->ip_range, n->ip_range_prefix,
					 n->gateway, used, ne, &e->ip, err);
		else if (ret > 0)
			ret = ipam_check(n->subnet, n->prefix, n->gateway, used, ne, e->ip, err);
	}
	if (ret < 0)
		return ret;
	ret = util_random_id(e->id);
	if (ret < 0)
		return err_set(err, -ret, "cannot generate an endpoint id");
	ret = state_endpoint_next_ep_id(d->st, &e->ep_id, err);
	if (ret < 0)
		return ret;
	memcpy(e->network_id, n->id, sizeof(e->network_id));
	e->created = time(NULL);
	return 0;
}

int ep_connect_container(struct daemon *d, const char *net_ref, const char *netns,
			 const char *ip_str, const char *ctr_id, struct st_endpoint *out,
			 struct shoal_err *err)
{
	struct st_network n = { 0 };
	struct st_endpoint e = { 0 };
	char a[16];
	int ret;

	ret = netns_check_path(netns, err);
	if (ret < 0)
		return ret;
	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	ret = state_network_get(d->st, net_ref, &n, err);
	if (ret < 0)
		goto fail;
	if (state_endpoint_find_netns(d->st, n.id, netns, &e, NULL) == 0) {
		ret = err_set(err, EEXIST, "network namespace %s is already connected to network %s",
			      netns, n.name);
		goto fail;
	}
	ret = ep_prepare(d, &n, ip_str, &e, err);
	if (ret == 0 && ip_str && *ip_str)
		ret = swarm_check_ip(d, &n, e.ip, err);
	if (ret < 0)
		goto fail;
	snprintf(e.netns, sizeof(e.netns), "%s", netns);
	snprintf(e.host_ifname, sizeof(e.host_ifname), SHOAL_VETH_PREFIX "%.12s", e.id);
	if (ctr_id)
		snprintf(e.container_id, sizeof(e.container_id), "%s", ctr_id);
	ipam_mac_from_ip(e.ip, e.mac);
	ret = state_endpoint_insert(d->st, &e, err);
	if (ret < 0)
		goto fail;
	ret = ep_apply_local(d, &n, &e, true, err);
	if (ret < 0)
		goto fail;
	ret = state_commit(d->st, err);
	if (ret < 0) {
		ep_unapply_local(d, &n, &e);
		goto fail;
	}
	log_info("endpoint %.12s: %s connected to %s as %s", e.id, netns, n.name,
		 util_ipv4_str(e.ip, a));
	swarm_endpoint_connected(d, &n, &e);
	kvdisc_endpoint_connected(d, &n, &e);
	*out = e;
	st_network_free(&n);
	return 0;
fail:
	state_rollback(d->st);
	kvdisc_endpoint_aborted(d);
	st_network_free(&n);
	return ret;
}

int ep_connect_netns(struct daemon *d, const char *net_ref, const char *netns,
		     const char *ip_str, json_t **out, struct shoal_err *err)
{
	struct st_endpoint e;
	char a[16], mac[18];
	int ret;

	ret = ep_connect_container(d, net_ref, netns, ip_str, NULL, &e, err);
	if (ret < 0)
		return ret;
	*out = json_pack("{s:s, s:s, s:s, s:s}", "EndpointID", e.id, "IPv4Address",
			 util_ipv4_str(e.ip, a), "MacAddress", util_mac_str(e.mac, mac),
			 "HostInterface", e.host_ifname);
	return 0;
}

int ep_disconnect_netns(struct daemon *d, const char *net_ref, const char *netns,
			struct shoal_err *err)
{
	return ep_disconnect_netns_ex(d, net_ref, netns, false, err);
}

int ep_disconnect_netns_ex(struct daemon *d, const char *net_ref, const char *netns,
			   bool netns_dying, struct shoal_err *err)
{
	struct st_network n = { 0 };
	struct st_endpoint e = { 0 };
	int ret;

	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	ret = state_network_get(d->st, net_ref, &n, err);
	if (ret < 0)
		goto fail;
	ret = state_endpoint_find_netns(d->st, n.id, netns, &e, NULL);
	if (ret < 0) {
		ret = err_set(err, ENOENT, "network namespace %s is not connected to network %s",
			      netns, n.name);
		goto fail;
	}
	ret = state_endpoint_delete(d->st, e.id, err);
	if (ret < 0)
		goto fail;
	ret = state_commit(d->st, err);
	if (ret < 0)
		goto fail;
	ep_unapply(d, &n, &e, !netns_dying);
	log_info("endpoint %.12s: %s disconnected from %s", e.id, netns, n.name);
	swarm_endpoint_disconnected(d, &n, &e);
	kvdisc_endpoint_disconnected(d, &n, &e);
	st_network_free(&n);
	return 0;
fail:
	state_rollback(d->st);
	st_network_free(&n);
	return ret;
}

static json_t *drops_json(const __u64 *drops)
{
	json_t *j = json_object();

	for (int i = 0; i < SHOAL_DROP_MAX; i++)
		json_object_set_new(j, shoal_drop_names[i], json_integer((json_int_t)drops[i]));
	return j;
}

int ep_stats_json(struct daemon *d, json_t **out, struct shoal_err *err)
{
	struct st_network *nets = NULL;
	struct shoal_node_stats ns = { 0 };
	size_t nn = 0;
	json_t *arr;
	int ret;

	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		return ret;
	arr = json_array();
	for (size_t i = 0; i < nn; i++) {
		struct st_endpoint *eps = NULL;
		size_t ne = 0;

		if (state_endpoint_list(d->st, nets[i].id, &eps, &ne, NULL) < 0)
			continue;
		for (size_t j = 0; j < ne; j++) {
			const struct st_endpoint *e = &eps[j];
			struct shoal_ep_stats s = { 0 };
			char a[16], mac[18], name[256];
			__u64 total = 0;

			if (e->remote)
				continue;
			loader_stats_read(&d->bpf, e->ep_id, &s, NULL);
			obs_ep_name(d, e, name, sizeof(name));
			for (int r = 0; r < SHOAL_DROP_MAX; r++)
				total += s.drops[r];
			json_array_append_new(arr, json_pack(
				"{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o}",
				"EpID", (json_int_t)e->ep_id,
				"EndpointID", e->id, "Name", name,
				"Network", nets[i].name, "NetworkID", nets[i].id, "Netns", e->netns,
				"Container", e->container_id, "IPv4Address", util_ipv4_str(e->ip, a),
				"MacAddress", util_mac_str(e->mac, mac), "HostInterface", e->host_ifname,
				"RxBytes", (json_int_t)s.rx_bytes, "RxPackets", (json_int_t)s.rx_packets,
				"TxBytes", (json_int_t)s.tx_bytes, "TxPackets", (json_int_t)s.tx_packets,
				"DropsTotal", (json_int_t)total, "Drops", drops_json(s.drops)));
		}
		free(eps);
	}
	st_network_list_free(nets, nn);
	loader_node_stats_read(&d->bpf, &ns, NULL);
	obs_stats_add_active(d, arr);
	*out = json_pack("{s:o, s:{s:o, s:I, s:I, s:I, s:I}}", "Endpoints", arr, "Node",
			 "Drops", drops_json(ns.drops),
			 "RxVxlanPackets", (json_int_t)ns.rx_vxlan_packets,
			 "RxVxlanBytes", (json_int_t)ns.rx_vxlan_bytes,
			 "TxVxlanPackets", (json_int_t)ns.tx_vxlan_packets,
			 "TxVxlanBytes", (json_int_t)ns.tx_vxlan_bytes);
	return 0;
}
