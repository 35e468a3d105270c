// SPDX-License-Identifier: Apache-2.0
/*
 * peer.c - remote endpoints of overlay networks: an IP and MAC on the
 * overlay, living on another node (its underlay IP). `shoal network peer
 * add` writes them by hand (an operator tool, like `bridge fdb append`);
 * the discovery modes call the same functions. Each is a state row
 * (remote = 1) and an `endpoints` map entry with SHOAL_EP_REMOTE, which
 * from_container encapsulates to and the ARP responder answers for.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipam/ipam.h"
#include "daemon.h"

void peer_map_vals(const struct st_network *n, const struct st_endpoint *e,
		   struct shoal_ep_key *k, struct shoal_ep_val *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->net_id = n->net_id;
	k->ip = e->ip;
	v->node_ip = e->node_ip;
	v->ep_id = e->ep_id;
	v->flags = SHOAL_EP_REMOTE;
	memcpy(v->mac, e->mac, 6);
}

json_t *peer_to_json(const struct st_endpoint *e)
{
	char ip[16], node[16], mac[18];

	return json_pack("{s:s, s:s, s:s, s:s}", "EndpointID", e->id, "IPv4Address",
			 util_ipv4_str(e->ip, ip), "MacAddress", util_mac_str(e->mac, mac), "Node",
			 util_ipv4_str(e->node_ip, node));
}

static int peer_network(struct daemon *d, const char *net_ref, struct st_network *n,
			struct shoal_err *err)
{
	int ret = state_network_get(d->st, net_ref, n, err);

	if (ret < 0)
		return ret;
	if (strcmp(n->driver, "overlay") != 0) {
		ret = err_set(err, EINVAL, "network %s has driver %s: peers belong to overlay networks",
			      n->name, n->driver);
		st_network_free(n);
	}
	return ret;
}

/*
 * The state + map part of adding a peer, shared by `network peer add` and
 * gossip discovery. The caller holds d->lock; one transaction. tag goes
 * to container_id ("" by hand, "node:<owner>" from gossip).
 */
int peer_add_ep(struct daemon *d, const char *net_ref, uint32_t ip, const uint8_t mac[6],
		uint32_t node_ip, const char *tag, struct st_endpoint *out, struct shoal_err *err)
{
	struct st_network n = { 0 };
	struct st_endpoint e = { 0 };
	struct shoal_ep_key k;
	struct shoal_ep_val v;
	char a[16], node[16];
	int ret;

	if (node_ip == 0)
		return err_set(err, EINVAL, "invalid node (underlay) address 0.0.0.0");
	if (node_ip == d->underlay.ip)
		return err_set(err, EINVAL, "node %s is this node: connect local endpoints instead",
			       util_ipv4_str(node_ip, node));
	e.node_ip = node_ip;
	memcpy(e.mac, mac, 6);
	snprintf(e.container_id, sizeof(e.container_id), "%.64s", tag ? tag : "");
	util_ipv4_str(ip, a);

	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	ret = peer_network(d, net_ref, &n, err);
	if (ret < 0)
		goto fail;
	e.remote = true; /* before ep_prepare: a peer claims nothing in a cluster store */
	ret = ep_prepare(d, &n, a, &e, err);
	if (ret < 0)
		goto fail;
	ret = state_endpoint_insert(d->st, &e, err);
	if (ret < 0)
		goto fail;
	peer_map_vals(&n, &e, &k, &v);
	ret = loader_put_endpoint(&d->bpf, &k, &v, err);
	if (ret < 0)
		goto fail;
	ret = state_commit(d->st, err);
	if (ret < 0) {
		loader_del_endpoint(&d->bpf, &k, NULL);
		goto fail;
	}
	log_info("peer %s on node %s added to network %s%s%s", a, util_ipv4_str(node_ip, node),
		 n.name, e.container_id[0] ? " by " : "", e.container_id);
	if (out)
		*out = e;
	st_network_free(&n);
	return 0;
fail:
	state_rollback(d->st);
	st_network_free(&n);
	return ret;
}

int peer_add(struct daemon *d, const char *net_ref, const char *ip_str, const char *mac_str,
	     const char *node_str, json_t **out, struct shoal_err *err)
{
	struct st_endpoint e = { 0 };
	uint32_t ip, node_ip;
	uint8_t mac[6];
	int ret;

	if (!ip_str || util_parse_ipv4(ip_str, &ip) < 0)
		return err_set(err, EINVAL, "invalid peer IPv4 address \"%s\"", ip_str ? ip_str : "");
	if (!node_str || util_parse_ipv4(node_str, &node_ip) < 0 || node_ip == 0)
		return err_set(err, EINVAL, "invalid node (underlay) address \"%s\"",
			       node_str ? node_str : "");
	/* The MAC defaults to Docker's derivation from the IP. */
	if (mac_str && *mac_str) {
		if (util_parse_mac(mac_str, mac) < 0)
			return err_set(err, EINVAL, "invalid MAC address \"%s\"", mac_str);
		if (mac[0] & 1)
			return err_set(err, EINVAL, "MAC address %s is multicast: a peer needs a unicast MAC",
				       mac_str);
	} else {
		ipam_mac_from_ip(ip, mac);
	}
	ret = peer_add_ep(d, net_ref, ip, mac, node_ip, "", &e, err);
	if (ret < 0)
		return ret;
	*out = peer_to_json(&e);
	return 0;
}

int peer_remove(struct daemon *d, const char *net_ref, const char *ip_str, struct shoal_err *err)
{
	uint32_t ip;

	if (util_parse_ipv4(ip_str, &ip) < 0)
		return err_set(err, EINVAL, "invalid peer IPv4 address \"%s\"", ip_str);
	return peer_remove_ip(d, net_ref, ip, err);
}

/* The caller holds d->lock; one transaction, then the map entry goes. */
int peer_remove_ip(struct daemon *d, const char *net_ref, uint32_t ip, struct shoal_err *err)
{
	struct st_network n = { 0 };
	struct st_endpoint *eps = NULL, *hit = NULL;
	size_t ne = 0;
	char ip_str[16];
	int ret;

	util_ipv4_str(ip, ip_str);
	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	ret = peer_network(d, net_ref, &n, err);
	if (ret < 0)
		goto fail;
	ret = state_endpoint_list(d->st, n.id, &eps, &ne, err);
	if (ret < 0)
		goto fail;
	for (size_t i = 0; i < ne; i++)
		if (eps[i].ip == ip)
			hit = &eps[i];
	if (!hit || !hit->remote) {
		ret = err_set(err, hit ? EINVAL : ENOENT, "%s is not a peer of network %s%s", ip_str,
			      n.name, hit ? " (it is a local endpoint: disconnect it)" : "");
		goto fail;
	}
	ret = state_endpoint_delete(d->st, hit->id, err);
	if (ret < 0)
		goto fail;
	ret = state_commit(d->st, err);
	if (ret < 0)
		goto fail;
	{
		struct shoal_ep_key k = { .net_id = n.net_id, .ip = ip };
		loader_del_endpoint(&d->bpf, &k, NULL);
	}
	log_info("peer %s removed from network %s", ip_str, n.name);
	free(eps);
	st_network_free(&n);
	return 0;
fail:
	state_rollback(d->st);
	free(eps);
	st_network_free(&n);
	return ret;
}

int peer_list_json(struct daemon *d, const char *net_ref, json_t **out, struct shoal_err *err)
{
	struct st_network n = { 0 };
	struct st_endpoint *eps = NULL;
	size_t ne = 0;
	int ret;

	ret = peer_network(d, net_ref, &n, err);
	if (ret < 0)
		return ret;
	ret = state_endpoint_list(d->st, n.id, &eps, &ne, err);
	if (ret == 0) {
		*out = json_array();
		for (size_t i = 0; i < ne; i++)
			if (eps[i].remote)
				json_array_append_new(*out, peer_to_json(&eps[i]));
	}
	free(eps);
	st_network_free(&n);
	return ret;
}
