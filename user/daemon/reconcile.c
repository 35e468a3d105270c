// SPDX-License-Identifier: Apache-2.0
/*
 * reconcile.c - at start, make the kernel match state: node config, the
 * host device and gateway addresses, every network and local endpoint in
 * the maps with fresh programs attached; then remove map entries and
 * host veths that state no longer has. Pinned maps keep counters, so a
 * restart loses and duplicates nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../netlink/netlink.h"
#include "daemon.h"

int daemon_apply_node_cfg(struct daemon *d, struct shoal_err *err)
{
	struct shoal_node_cfg cfg = { 0 };

	/* Start from what is there (flags we do not own stay); ours overwrite. */
	loader_get_node_cfg(&d->bpf, &cfg, NULL);
	cfg.vxlan_port = htons((uint16_t)d->cfg.vxlan_port);
	cfg.underlay_ifindex = (__u32)d->underlay.ifindex;
	cfg.node_ip = d->underlay.ip;
	/* The on-link subnet: peers inside it get their MAC learnt (nodes). */
	cfg.underlay_plen = d->underlay.plen;
	memcpy(cfg.underlay_mac, d->underlay.mac, 6);
	if (d->cfg.accounting)
		cfg.flags |= SHOAL_CFG_ACCOUNTING;
	else
		cfg.flags &= (__u16)~SHOAL_CFG_ACCOUNTING;
	/* Observability switches (bpf/lib/flow.h, events.h). */
	cfg.flags &= (__u16)~(SHOAL_CFG_FLOWS | SHOAL_CFG_EV_DROP | SHOAL_CFG_EV_FLOW);
	if (d->cfg.flow_accounting)
		cfg.flags |= SHOAL_CFG_FLOWS;
	cfg.flags |= (__u16)config_event_flags(d->cfg.events);
	return loader_set_node_cfg(&d->bpf, &cfg, err);
}

/* Sets of what state has, for the sweep. Small linear arrays suffice. */
struct want {
	uint32_t *net_ids;
	size_t n_nets;
	struct shoal_ep_key *ep_keys;
	size_t n_eps;
	uint32_t *ifindexes;
	size_t n_ifs;
	uint32_t *ep_ids;
	size_t n_ep_ids;
	char (*ifnames)[16];
	size_t n_ifnames;
	struct daemon *d;
	int removed;
};

static bool has_u32(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static int sweep_networks(const void *key, void *arg)
{
	struct want *w = arg;
	uint32_t id = *(const uint32_t *)key;

	if (!has_u32(w->net_ids, w->n_nets, id)) {
		loader_del_network(&w->d->bpf, id, NULL);
		w->removed++;
	}
	return 0;
}

static int sweep_endpoints(const void *key, void *arg)
{
	struct want *w = arg;
	const struct shoal_ep_key *k = key;

	for (size_t i = 0; i < w->n_eps; i++)
		if (w->ep_keys[i].net_id == k->net_id && w->ep_keys[i].ip == k->ip)
			return 0;
	loader_del_endpoint(&w->d->bpf, k, NULL);
	w->removed++;
	return 0;
}

static int sweep_ifaces(const void *key, void *arg)
{
	struct want *w = arg;
	uint32_t ifindex = *(const uint32_t *)key;

	if (!has_u32(w->ifindexes, w->n_ifs, ifindex)) {
		loader_del_iface(&w->d->bpf, ifindex, NULL);
		w->removed++;
	}
	return 0;
}

static int sweep_stats(const void *key, void *arg)
{
	struct want *w = arg;
	uint32_t ep_id = *(const uint32_t *)key;

	if (!has_u32(w->ep_ids, w->n_ep_ids, ep_id)) {
		loader_stats_del(&w->d->bpf, ep_id, NULL);
		w->removed++;
	}
	return 0;
}

static int sweep_links(const char *name, int ifindex, void *arg)
{
	struct want *w = arg;

	(void)ifindex;
	for (size_t i = 0; i < w->n_ifnames; i++)
		if (strcmp(w->ifnames[i], name) == 0)
			return 0;
	log_info("reconcile: removing stale host veth %s", name);
	netlink_link_del(name, NULL);
	w->removed++;
	return 0;
}

/* Another local endpoint of eps lives in the namespace of eps[i]. */
static bool netns_shared(const struct st_endpoint *eps, size_t ne, size_t i)
{
	for (size_t j = 0; j < ne; j++)
		if (j != i && !eps[j].remote && strcmp(eps[j].netns, eps[i].netns) == 0)
			return true;
	return false;
}

int daemon_reconcile(struct daemon *d, struct shoal_err *err)
{
	struct st_network *nets = NULL;
	struct st_endpoint *eps = NULL;
	size_t nn = 0, ne = 0;
	struct want w = { .d = d };
	int ret, applied = 0, dropped = 0;

	ret = daemon_apply_node_cfg(d, err);
	if (ret < 0)
		return ret;
	ret = netlink_dummy_ensure(SHOAL_HOST_DEV, &d->host_dev_ifindex, err);
	if (ret < 0)
		return ret;
	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		return ret;
	ret = state_endpoint_list(d->st, NULL, &eps, &ne, err);
	if (ret < 0)
		goto out;
	w.net_ids = calloc(nn + 1, sizeof(*w.net_ids));
	w.ep_keys = calloc(ne + 1, sizeof(*w.ep_keys));
	w.ifindexes = calloc(ne + 1, sizeof(*w.ifindexes));
	w.ep_ids = calloc(ne + 1, sizeof(*w.ep_ids));
	w.ifnames = calloc(ne + 1, sizeof(*w.ifnames));
	if (!w.net_ids || !w.ep_keys || !w.ifindexes || !w.ep_ids || !w.ifnames) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}

	for (size_t i = 0; i < nn; i++) {
		struct shoal_net_val mv;

		net_map_val(&nets[i], &mv);
		ret = loader_put_network(&d->bpf, nets[i].net_id, &mv, err);
		if (ret < 0)
			goto out;
		ret = netlink_addr_add(d->host_dev_ifindex, nets[i].gateway, nets[i].prefix, err);
		if (ret < 0)
			goto out;
		w.net_ids[w.n_nets++] = nets[i].net_id;
	}

	for (size_t i = 0; i < ne; i++) {
		struct st_endpoint *e = &eps[i];
		struct st_network *n = NULL;
		struct shoal_err e2 = { 0 };
		int ifindex = 0;
		bool create;

		for (size_t j = 0; j < nn; j++)
			if (strcmp(nets[j].id, e->network_id) == 0)
				n = &nets[j];
		if (!n)
			continue;
		if (e->remote) {
			struct shoal_ep_val v;

			peer_map_vals(n, e, &w.ep_keys[w.n_eps], &v);
			if (loader_put_endpoint(&d->bpf, &w.ep_keys[w.n_eps], &v, &e2) < 0) {
				log_error("reconcile: peer %.12s: %s", e->id, e2.msg);
				continue;
			}
			w.n_eps++;
			applied++;
			continue;
		}
		create = netlink_link_get(e->host_ifname, &ifindex, NULL, NULL, NULL) < 0;
		if (create && netns_check_path(e->netns, NULL) < 0) {
			/* Its namespace is gone: the endpoint died with it. */
			log_warn("reconcile: endpoint %.12s: namespace %s is gone; removing it",
				 e->id, e->netns);
			if (state_begin(d->st, NULL) == 0) {
				if (state_endpoint_delete(d->st, e->id, NULL) == 0 &&
				    state_commit(d->st, NULL) == 0)
					dropped++;
				else
					state_rollback(d->st);
			}
			continue;
		}
		if (create && !netns_shared(eps, ne, i) &&
		    netlink_link_exists_in(e->netns, "eth0", NULL) == 1) {
			log_warn("reconcile: endpoint %.12s: %s has an eth0 that is not ours; "
				 "leaving it alone", e->id, e->netns);
			continue;
		}
		ret = ep_apply_local(d, n, e, create, &e2);
		if (ret < 0) {
			log_error("reconcile: endpoint %.12s (%s): %s", e->id, e->netns, e2.msg);
			continue;
		}
		netlink_link_get(e->host_ifname, &ifindex, NULL, NULL, NULL);
		w.ep_keys[w.n_eps].net_id = n->net_id;
		w.ep_keys[w.n_eps++].ip = e->ip;
		w.ifindexes[w.n_ifs++] = (uint32_t)ifindex;
		w.ep_ids[w.n_ep_ids++] = e->ep_id;
		snprintf(w.ifnames[w.n_ifnames++], 16, "%s", e->host_ifname);
		applied++;
		if (create)
			log_info("reconcile: endpoint %.12s: recreated veth %s", e->id, e->host_ifname);
	}

	loader_foreach_key(&d->bpf, LOADER_MAP_NETWORKS, sweep_networks, &w, NULL);
	loader_foreach_key(&d->bpf, LOADER_MAP_ENDPOINTS, sweep_endpoints, &w, NULL);
	loader_foreach_key(&d->bpf, LOADER_MAP_IFACES, sweep_ifaces, &w, NULL);
	loader_foreach_key(&d->bpf, LOADER_MAP_EP_STATS, sweep_stats, &w, NULL);
	netlink_link_foreach_prefix(SHOAL_VETH_PREFIX, sweep_links, &w, NULL);
	log_info("reconcile: %zu networks, %d endpoints programmed, %d gone, %d stale kernel objects removed",
		 nn, applied, dropped, w.removed);
	ret = 0;
out:
	free(w.net_ids);
	free(w.ep_keys);
	free(w.ifindexes);
	free(w.ep_ids);
	free(w.ifnames);
	free(eps);
	st_network_list_free(nets, nn);
	return ret;
}
