// SPDX-License-Identifier: Apache-2.0
/*
 * kvdisc.c - discovery through an external key-value store (DESIGN.md
 * section 4, "Peer discovery", mode 2; "cluster-store" in daemon.json),
 * the counterpart of swarm.c for gossip. The store client is user/kv.
 *
 * Layout under the prefix P (default /shoal/v1/), values JSON:
 *
 *   P nodes/<node name>        {"Name","ID","Addr","Advertise"}   lease
 *   P networks/<name>          {"Name","Subnet","Gateway","VNI","Attachable",
 *                               "Internal","Creator"}
 *   P vnis/<vni>               <network name>
 *   P endpoints/<net>/<ip>     {"MAC","Node","NodeIP"}            lease
 *
 * Liveness is the node's lease (TTL "cluster-store-ttl", kept alive every
 * TTL/3): its node key and every endpoint key it wrote are bound to it,
 * so when a node dies etcd deletes them and every other node removes
 * those peers from its state and maps. A node name is registered with a
 * create-if-absent transaction; a name held by another engine ID is
 * refused at start. A network is created with one transaction that
 * creates both its record and its VNI key, so two hosts creating one
 * network agree on subnet and VNI (the loser adopts the winner's, or
 * gets a clear error when it asked for different ones). A local
 * endpoint's address is allocated by creating its endpoint key (the same
 * transaction writes MAC and node): an address taken meanwhile fails the
 * compare and the next free one is tried, so no address is given twice.
 *
 * Every node loads the whole prefix (a "resync": learn networks, make
 * the peers match, re-publish what it owns) and then watches the prefix
 * from the next revision. After a broken stream it resumes from the last
 * revision it applied (no event missed or replayed); a compacted revision
 * means a full resync. Learnt peers go through peer_add_ep /
 * peer_remove_ip, tagged container_id "kv:<node>", like gossip's.
 *
 * While the store is unreachable nothing is removed: the data plane keeps
 * what it has; the watch and the keep-alive retry with backoff, and the
 * health changes are logged once each and shown by `shoal info`. At
 * start an unreachable store is an error, except for a node that was
 * registered with that store before (meta "kv.lease": lease and URL): it starts on its state and maps
 * and registers in the background once the store answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipam/ipam.h"
#include "../kv/kv.h"
#include "daemon.h"

#define KV_TAG "kv:"
#define KVD_MAX_NODES 256
#define KVD_NAME_LEN 64
#define KVD_NET_LEN 160 /* network names: up to 128 characters */
#define KVD_KEY_LEN 512
#define KVD_BACKOFF_MAX_MS 2000
#define KVD_ALLOC_TRIES 256

struct kvdisc {
	bool active;
	bool applying;          /* a store-driven change: hooks do not republish */
	struct kv_url url;
	struct kv *kv;
	uint32_t adv_ip;        /* NBO */
	uint16_t adv_port;
	int ttl;
	int64_t lease;
	int64_t rev;            /* last revision applied */
	volatile bool stop;
	bool lease_lost;
	bool synced;            /* registered and loaded: the watch may run */
	pthread_t watch_thr, ka_thr;
	bool watch_running, ka_running;
	pthread_mutex_t sleep_lock;
	pthread_cond_t sleep_cond;
	/* the key claimed by the endpoint being connected (undone on failure) */
	char claimed[KVD_KEY_LEN];
	char claimed_net[KVD_KEY_LEN], claimed_vni[KVD_KEY_LEN];
	/* health, under health_lock */
	pthread_mutex_t health_lock;
	bool healthy;
	char last_err[512];
	int64_t health_since;
	uint64_t events, resyncs, failures;
	/* the nodes registered in the store (d->lock) */
	char nodes[KVD_MAX_NODES][KVD_NAME_LEN];
	size_t n_nodes;
};

static struct kvdisc kvd_storage;

static struct kvdisc *K(struct daemon *d)
{
	(void)d;
	return &kvd_storage;
}

bool kvdisc_active(struct daemon *d)
{
	return K(d)->active;
}

/* ------------------------------------------------------------ health */

static void health(struct kvdisc *k, bool ok, const char *why)
{
	pthread_mutex_lock(&k->health_lock);
	if (ok != k->healthy) {
		k->healthy = ok;
		k->health_since = time(NULL);
		if (ok)
			log_info("cluster store %s (%s) is reachable again", kv_backend_name(k->url.backend),
				 kv_endpoint(k->kv));
		else
			log_warn("cluster store %s unreachable: %s (the data plane keeps its entries; "
				 "retrying)", kv_backend_name(k->url.backend), why ? why : "");
	}
	if (!ok) {
		k->failures++;
		snprintf(k->last_err, sizeof(k->last_err), "%s", why ? why : "");
	}
	pthread_mutex_unlock(&k->health_lock);
}

/* Record the outcome of a store call: transport errors mark it unhealthy. */
static int store_ret(struct kvdisc *k, int ret, const struct shoal_err *err)
{
	if (ret == -EIO || ret == -ECONNREFUSED || ret == -ETIMEDOUT)
		health(k, false, err ? err->msg : NULL);
	else if (ret >= 0)
		health(k, true, NULL);
	return ret;
}

/* Sleep ms, or less when stopping. */
static void nap(struct kvdisc *k, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&k->sleep_lock);
	if (!k->stop)
		pthread_cond_timedwait(&k->sleep_cond, &k->sleep_lock, &ts);
	pthread_mutex_unlock(&k->sleep_lock);
}

/* ------------------------------------------------------------ keys and values */

static void key_node(struct kvdisc *k, const char *name, char out[KVD_KEY_LEN])
{
	snprintf(out, KVD_KEY_LEN, "%.199snodes/%.255s", k->url.prefix, name);
}

static void key_net(struct kvdisc *k, const char *name, char out[KVD_KEY_LEN])
{
	snprintf(out, KVD_KEY_LEN, "%.199snetworks/%.255s", k->url.prefix, name);
}

static void key_vni(struct kvdisc *k, uint32_t vni, char out[KVD_KEY_LEN])
{
	snprintf(out, KVD_KEY_LEN, "%.199svnis/%u", k->url.prefix, vni);
}

static void key_ep(struct kvdisc *k, const char *net, uint32_t ip, char out[KVD_KEY_LEN])
{
	char a[16];

	snprintf(out, KVD_KEY_LEN, "%.199sendpoints/%.255s/%s", k->url.prefix, net, util_ipv4_str(ip, a));
}

/* Our value of an endpoint key (deterministic: compared on delete). */
static char *ep_value(struct daemon *d, uint32_t ip)
{
	uint8_t mac[6];
	char m[18], node[16];
	json_t *j;
	char *s;

	ipam_mac_from_ip(ip, mac);
	j = json_pack("{s:s, s:s, s:s}", "MAC", util_mac_str(mac, m), "Node", d->cfg.node_name,
		      "NodeIP", util_ipv4_str(d->underlay.ip, node));
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

static char *net_value(struct daemon *d, const struct st_network *n)
{
	char a[16], gw[16], sub[24];
	json_t *j;
	char *s;

	snprintf(sub, sizeof(sub), "%s/%u", util_ipv4_str(n->subnet, a), n->prefix);
	j = json_pack("{s:s, s:s, s:s, s:i, s:b, s:b, s:s}", "Name", n->name, "Subnet", sub,
		      "Gateway", util_ipv4_str(n->gateway, gw), "VNI", (int)n->net_id, "Attachable",
		      n->attachable, "Internal", n->internal, "Creator", d->cfg.node_name);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

struct net_rec {
	char name[KVD_NET_LEN];
	uint32_t subnet, gateway, vni;
	uint8_t prefix;
	bool attachable, internal;
	char creator[KVD_NAME_LEN];
};

static int parse_net(const char *val, struct net_rec *r)
{
	json_t *j = json_loads(val, 0, NULL);
	const char *name = json_string_value(json_object_get(j, "Name"));
	const char *sub = json_string_value(json_object_get(j, "Subnet"));
	const char *gw = json_string_value(json_object_get(j, "Gateway"));
	const char *cr = json_string_value(json_object_get(j, "Creator"));
	json_int_t vni = json_integer_value(json_object_get(j, "VNI"));
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (name && sub && gw && vni > 0 && ipam_parse_subnet(sub, &r->subnet, &r->prefix, NULL) == 0 &&
	    util_parse_ipv4(gw, &r->gateway) == 0) {
		snprintf(r->name, sizeof(r->name), "%s", name);
		snprintf(r->creator, sizeof(r->creator), "%s", cr ? cr : "");
		r->vni = (uint32_t)vni;
		r->attachable = json_is_true(json_object_get(j, "Attachable"));
		r->internal = json_is_true(json_object_get(j, "Internal"));
		ret = 0;
	}
	json_decref(j);
	return ret;
}

struct ep_rec {
	char net[KVD_NET_LEN];
	uint32_t ip, node_ip;
	uint8_t mac[6];
	char node[KVD_NAME_LEN];
};

/* key "P endpoints/<net>/<ip>" and its value. */
static int parse_ep(struct kvdisc *k, const char *key, const char *val, struct ep_rec *r)
{
	const char *rest = key + strlen(k->url.prefix) + strlen("endpoints/"), *slash;
	json_t *j;
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	slash = strrchr(rest, '/');
	if (!slash || slash == rest || (size_t)(slash - rest) >= sizeof(r->net))
		return -EINVAL;
	memcpy(r->net, rest, (size_t)(slash - rest));
	if (util_parse_ipv4(slash + 1, &r->ip) < 0)
		return -EINVAL;
	if (!val)
		return 0;
	j = json_loads(val, 0, NULL);
	{
		const char *mac = json_string_value(json_object_get(j, "MAC"));
		const char *node = json_string_value(json_object_get(j, "Node"));
		const char *nip = json_string_value(json_object_get(j, "NodeIP"));

		if (mac && node && nip && util_parse_mac(mac, r->mac) == 0 &&
		    util_parse_ipv4(nip, &r->node_ip) == 0) {
			snprintf(r->node, sizeof(r->node), "%s", node);
			ret = 0;
		}
	}
	json_decref(j);
	return ret;
}

/* "P <kind>/..." -> kind, or NULL. */
static const char *key_kind(struct kvdisc *k, const char *key, const char *kind)
{
	size_t pl = strlen(k->url.prefix), kl = strlen(kind);

	if (strncmp(key, k->url.prefix, pl) != 0 || strncmp(key + pl, kind, kl) != 0)
		return NULL;
	return key + pl + kl;
}

/* ------------------------------------------------------------ applying the store */

static bool is_kv_peer(const struct st_endpoint *ep)
{
	return ep->remote && strncmp(ep->container_id, KV_TAG, strlen(KV_TAG)) == 0;
}

static void set_node(struct kvdisc *k, const char *name, bool present)
{
	for (size_t i = 0; i < k->n_nodes; i++) {
		if (strcmp(k->nodes[i], name) == 0) {
			if (!present) {
				memmove(&k->nodes[i], &k->nodes[i + 1], (k->n_nodes - i - 1) * KVD_NAME_LEN);
				k->n_nodes--;
			}
			return;
		}
	}
	if (present && k->n_nodes < KVD_MAX_NODES)
		snprintf(k->nodes[k->n_nodes++], KVD_NAME_LEN, "%s", name);
}

/* A network record of another node: make sure it exists here. */
static void apply_network(struct daemon *d, const struct net_rec *r)
{
	struct kvdisc *k = K(d);
	struct st_network n = { 0 };
	struct shoal_err err = { 0 };
	char sub[40], gw[16], a[16], vni[16], id[65];
	json_t *req;

	if (state_network_get(d->st, r->name, &n, NULL) == 0) {
		if (strcmp(n.driver, "overlay") != 0 || n.subnet != r->subnet ||
		    n.prefix != r->prefix || n.net_id != r->vni)
			log_warn("cluster store: network %s (from node %s) conflicts with the local "
				 "network of that name; not joining it", r->name, r->creator);
		st_network_free(&n);
		return;
	}
	snprintf(sub, sizeof(sub), "%s/%u", util_ipv4_str(r->subnet, a), r->prefix);
	util_ipv4_str(r->gateway, gw);
	snprintf(vni, sizeof(vni), "%u", r->vni);
	req = json_pack("{s:s, s:s, s:b, s:b, s:{s:[{s:s, s:s}]}, s:{s:s}}", "Name", r->name,
			"Driver", "overlay", "Attachable", r->attachable, "Internal", r->internal,
			"IPAM", "Config", "Subnet", sub, "Gateway", gw, "Options", "vni", vni);
	k->applying = true;
	if (net_create(d, req, id, &err) < 0)
		log_error("cluster store: cannot create network %s (from node %s): %s", r->name,
			  r->creator, err.msg);
	else
		log_info("cluster store: network %s (%s, VNI %u) learnt from node %s", r->name, sub,
			 r->vni, r->creator);
	k->applying = false;
	json_decref(req);
}

static void unapply_network(struct daemon *d, const char *name)
{
	struct kvdisc *k = K(d);
	struct st_network n = { 0 };
	struct st_endpoint *eps = NULL;
	struct shoal_err err = { 0 };
	size_t ne = 0, local = 0;

	if (state_network_get(d->st, name, &n, NULL) < 0)
		return;
	if (strcmp(n.driver, "overlay") == 0 &&
	    state_endpoint_list(d->st, n.id, &eps, &ne, NULL) == 0) {
		for (size_t i = 0; i < ne; i++)
			local += !eps[i].remote;
		if (local) {
			log_warn("cluster store: network %s was removed but has %zu local endpoints "
				 "here; keeping it", n.name, local);
		} else {
			k->applying = true;
			if (net_remove(d, n.id, &err) < 0)
				log_error("cluster store: remove network %s: %s", n.name, err.msg);
			k->applying = false;
		}
	}
	free(eps);
	st_network_free(&n);
}

/* Another node's endpoint r (PUT) or its key gone (r->node empty). */
static void apply_endpoint(struct daemon *d, const struct ep_rec *r, bool deleted)
{
	struct kvdisc *k = K(d);
	struct st_network n = { 0 };
	struct st_endpoint *eps = NULL, *hit = NULL;
	struct shoal_err err = { 0 };
	size_t ne = 0;
	char a[16];

	if (!deleted && strcmp(r->node, d->cfg.node_name) == 0)
		return;
	if (state_network_get(d->st, r->net, &n, NULL) < 0)
		return; /* not here (yet): the network's arrival syncs its peers */
	if (strcmp(n.driver, "overlay") != 0 || state_endpoint_list(d->st, n.id, &eps, &ne, NULL) < 0)
		goto out;
	for (size_t i = 0; i < ne; i++)
		if (eps[i].ip == r->ip)
			hit = &eps[i];
	util_ipv4_str(r->ip, a);
	if (deleted) {
		if (hit && is_kv_peer(hit)) {
			if (peer_remove_ip(d, n.name, r->ip, &err) < 0)
				log_warn("cluster store: %s", err.msg);
		} else if (hit && !hit->remote && k->lease) {
			/* our own key went (lease lost, or deleted by hand): put it back */
			char key[KVD_KEY_LEN], *v = ep_value(d, r->ip);
			key_ep(k, n.name, r->ip, key);
			{
				struct kv_op op = { key, v, k->lease };
				if (kv_create_all(k->kv, &op, 1, NULL, &err) == 0)
					log_error("cluster store: %s of network %s is now held by another "
						  "node", a, n.name);
			}
			free(v);
		}
		goto out;
	}
	if (hit && !is_kv_peer(hit)) {
		log_warn("cluster store: %s of network %s announced by node %s is already used here",
			 a, n.name, r->node);
		goto out;
	}
	if (hit && hit->node_ip == r->node_ip && memcmp(hit->mac, r->mac, 6) == 0)
		goto out;
	if (hit)
		peer_remove_ip(d, n.name, r->ip, NULL);
	{
		char tag[STATE_ID_LEN];

		snprintf(tag, sizeof(tag), KV_TAG "%.60s", r->node);
		if (peer_add_ep(d, n.name, r->ip, r->mac, r->node_ip, tag, NULL, &err) < 0)
			log_warn("cluster store: peer %s of network %s from node %s: %s", a, n.name,
				 r->node, err.msg);
	}
out:
	free(eps);
	st_network_free(&n);
}

/* ------------------------------------------------------------ publishing */

static int publish_endpoint(struct daemon *d, const struct st_network *n, uint32_t ip,
			    struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	char key[KVD_KEY_LEN], *v = ep_value(d, ip);
	struct kv_pair *cur = NULL;
	size_t nc = 0;
	int ret;

	key_ep(k, n->name, ip, key);
	ret = kv_range(k->kv, key, false, &cur, &nc, NULL, err);
	if (ret == 0 && nc == 1 && strcmp(cur[0].value, v) != 0) {
		char a[16];
		ret = err_set(err, EADDRINUSE, "%s of network %s is held by another node in the "
			      "cluster store (%s)", util_ipv4_str(ip, a), n->name, cur[0].value);
	} else if (ret == 0 && (nc == 0 || cur[0].lease != k->lease)) {
		ret = kv_put(k->kv, key, v, k->lease, err);
	}
	kv_pairs_free(cur, nc);
	free(v);
	return ret;
}

static int publish_network(struct daemon *d, const struct st_network *n, struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	char nk[KVD_KEY_LEN], vk[KVD_KEY_LEN], *v = net_value(d, n);
	struct kv_op ops[2] = { { nk, v, 0 }, { vk, n->name, 0 } };
	int ret;

	key_net(k, n->name, nk);
	key_vni(k, n->net_id, vk);
	ret = kv_create_all(k->kv, ops, 2, NULL, err);
	free(v);
	return ret;
}

/* ------------------------------------------------------------ resync */

/* Make state match the store's content (d->lock held). */
static int resync(struct daemon *d, struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	struct kv_pair *ps = NULL;
	struct st_network *nets = NULL;
	size_t np = 0, nn = 0;
	int64_t rev = 0;
	int ret;

	ret = store_ret(k, kv_range(k->kv, k->url.prefix, true, &ps, &np, &rev, err), err);
	if (ret < 0)
		return ret;
	k->n_nodes = 0;
	for (size_t i = 0; i < np; i++) {
		const char *rest;
		struct net_rec r;

		if ((rest = key_kind(k, ps[i].key, "nodes/")))
			set_node(k, rest, true);
		else if (key_kind(k, ps[i].key, "networks/") && parse_net(ps[i].value, &r) == 0 &&
			 strcmp(r.creator, d->cfg.node_name) != 0)
			apply_network(d, &r);
	}
	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < nn; i++) {
		struct st_network *n = &nets[i];
		struct st_endpoint *eps = NULL;
		size_t ne = 0;
		char nk[KVD_KEY_LEN];
		bool in_store = false;

		if (strcmp(n->driver, "overlay") != 0)
			continue;
		key_net(k, n->name, nk);
		for (size_t j = 0; j < np && !in_store; j++)
			in_store = strcmp(ps[j].key, nk) == 0;
		if (!in_store) {
			struct shoal_err e2 = { 0 };
			if (publish_network(d, n, &e2) < 0)
				log_warn("cluster store: publish network %s: %s", n->name, e2.msg);
		}
		if (state_endpoint_list(d->st, n->id, &eps, &ne, NULL) < 0)
			continue;
		/* kv peers the store no longer has; our endpoints it lacks */
		for (size_t e = 0; e < ne; e++) {
			char key[KVD_KEY_LEN];
			bool found = false;

			key_ep(k, n->name, eps[e].ip, key);
			for (size_t j = 0; j < np && !found; j++)
				found = strcmp(ps[j].key, key) == 0;
			if (is_kv_peer(&eps[e]) && !found) {
				peer_remove_ip(d, n->name, eps[e].ip, NULL);
			} else if (!eps[e].remote) {
				struct shoal_err e2 = { 0 };
				if (publish_endpoint(d, n, eps[e].ip, &e2) < 0)
					log_error("cluster store: endpoint %.12s: %s", eps[e].id, e2.msg);
			}
		}
		free(eps);
		/* every other node's endpoint of this network */
		for (size_t j = 0; j < np; j++) {
			struct ep_rec r;

			if (key_kind(k, ps[j].key, "endpoints/") &&
			    parse_ep(k, ps[j].key, ps[j].value, &r) == 0 && strcmp(r.net, n->name) == 0)
				apply_endpoint(d, &r, false);
		}
	}
	st_network_list_free(nets, nn);
	k->rev = rev;
	k->resyncs++;
	ret = 0;
out:
	kv_pairs_free(ps, np);
	return ret;
}

/* ------------------------------------------------------------ watch */

static int on_event(void *ctx, const struct kv_pair *p, bool deleted)
{
	struct daemon *d = ctx;
	struct kvdisc *k = K(d);
	const char *rest;

	pthread_mutex_lock(&d->lock);
	k->events++;
	if ((rest = key_kind(k, p->key, "nodes/"))) {
		set_node(k, rest, !deleted);
		if (strcmp(rest, d->cfg.node_name) != 0)
			log_info("cluster store: node %s %s", rest, deleted ? "left (lease gone)" : "is registered");
		else if (deleted && !k->stop)
			k->lease_lost = true;
	} else if ((rest = key_kind(k, p->key, "networks/"))) {
		struct net_rec r;

		if (deleted)
			unapply_network(d, rest);
		else if (parse_net(p->value, &r) == 0 && strcmp(r.creator, d->cfg.node_name) != 0) {
			struct kv_pair *eps = NULL;
			size_t ne = 0;
			char ek[KVD_KEY_LEN];

			apply_network(d, &r);
			/* its endpoints may have arrived first */
			snprintf(ek, sizeof(ek), "%.199sendpoints/%.255s/", k->url.prefix, r.name);
			if (kv_range(k->kv, ek, true, &eps, &ne, NULL, NULL) == 0)
				for (size_t i = 0; i < ne; i++) {
					struct ep_rec er;
					if (parse_ep(k, eps[i].key, eps[i].value, &er) == 0)
						apply_endpoint(d, &er, false);
				}
			kv_pairs_free(eps, ne);
		}
	} else if (key_kind(k, p->key, "endpoints/")) {
		struct ep_rec r;

		if (parse_ep(k, p->key, deleted ? NULL : p->value, &r) == 0)
			apply_endpoint(d, &r, deleted);
	}
	if (p->mod_rev > k->rev)
		k->rev = p->mod_rev;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void *watch_main(void *arg)
{
	struct daemon *d = arg;
	struct kvdisc *k = K(d);
	int backoff = 100;

	while (!k->stop) {
		struct shoal_err err = { 0 };
		int64_t from, last;
		int ret;

		if (!k->synced) { /* started while the store was unreachable */
			nap(k, 200);
			continue;
		}
		pthread_mutex_lock(&d->lock);
		from = k->rev + 1;
		last = k->rev;
		pthread_mutex_unlock(&d->lock);
		ret = kv_watch(k->kv, k->url.prefix, from, on_event, d, &k->stop, &last, &err);
		if (k->stop)
			break;
		if (ret == -ESTALE) {
			log_warn("cluster store: %s: full resync", err.msg);
			pthread_mutex_lock(&d->lock);
			ret = resync(d, &err);
			pthread_mutex_unlock(&d->lock);
			if (ret == 0) {
				backoff = 100;
				continue;
			}
		}
		store_ret(k, ret == -ESTALE ? ret : (ret < 0 && ret != -EIO && ret != -ECONNREFUSED)
					    ? -EIO : ret, &err);
		nap(k, backoff);
		backoff = backoff * 2 > KVD_BACKOFF_MAX_MS ? KVD_BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

/* ------------------------------------------------------------ node, lease */

static char *node_value(struct daemon *d)
{
	struct kvdisc *k = K(d);
	char a[16], adv[40], b[16];
	json_t *j;
	char *s;

	snprintf(adv, sizeof(adv), "%s:%u", util_ipv4_str(k->adv_ip, a), k->adv_port);
	j = json_pack("{s:s, s:s, s:s, s:s}", "Name", d->cfg.node_name, "ID", d->id, "Addr",
		      util_ipv4_str(d->underlay.ip, b), "Advertise", adv);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* Register this node under a fresh lease; refuse a name another engine holds. */
static int register_node(struct daemon *d, struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	char key[KVD_KEY_LEN], *v;
	struct kv_pair *cur = NULL;
	size_t nc = 0, taken = 0;
	int64_t lease;
	int ret;

	ret = kv_lease_grant(k->kv, k->ttl, &lease, err);
	if (ret < 0)
		return ret;
	key_node(k, d->cfg.node_name, key);
	v = node_value(d);
	{
		struct kv_op op = { key, v, lease };
		ret = kv_create_all(k->kv, &op, 1, &taken, err);
	}
	if (ret == 0) {
		ret = kv_range(k->kv, key, false, &cur, &nc, NULL, err);
		if (ret == 0 && nc == 1) {
			json_t *j = json_loads(cur[0].value, 0, NULL);
			const char *id = json_string_value(json_object_get(j, "ID"));
			const char *addr = json_string_value(json_object_get(j, "Addr"));

			if (id && strcmp(id, d->id) == 0) /* our earlier run: take it over */
				ret = kv_put(k->kv, key, v, lease, err);
			else
				ret = err_set(err, EEXIST, "node name \"%s\" is already registered in "
					      "the cluster store by engine %.12s at %s: node names must be "
					      "unique (set \"node-name\")", d->cfg.node_name,
					      id ? id : "?", addr ? addr : "?");
			json_decref(j);
		} else if (ret == 0) {
			ret = err_set(err, EAGAIN, "node key %s changed during registration", key);
		}
	} else if (ret > 0) {
		ret = 0;
	}
	kv_pairs_free(cur, nc);
	free(v);
	if (ret < 0) {
		kv_lease_revoke(k->kv, lease, NULL);
		return ret;
	}
	k->lease = lease;
	return 0;
}

static bool store_down(int ret)
{
	return ret == -EIO || ret == -ECONNREFUSED || ret == -ETIMEDOUT;
}

/* The lease of this node's last registration with this same store, or 0. */
static int64_t last_lease(struct daemon *d)
{
	char *v = NULL;
	long long id = 0;
	int off = 0;

	if (state_meta_get(d->st, "kv.lease", &v, NULL) < 0 || !v)
		return 0;
	if (sscanf(v, "%lld %n", &id, &off) < 1 || strcmp(v + off, d->cfg.cluster_store) != 0)
		id = 0;
	free(v);
	return id;
}

/*
 * After a registration: load the store, remember the lease (meta
 * "kv.lease") and revoke the previous run's, whose keys resync re-put
 * under ours. d->lock held.
 */
static int finish_registration(struct daemon *d, struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	char *v;
	int ret;

	int64_t prev;

	ret = resync(d, err);
	if (ret < 0)
		return ret;
	prev = last_lease(d);
	if (prev && prev != k->lease)
		kv_lease_revoke(k->kv, prev, NULL);
	v = NULL;
	if (asprintf(&v, "%lld %s", (long long)k->lease, d->cfg.cluster_store) > 0) {
		state_meta_set(d->st, "kv.lease", v, NULL);
		free(v);
	}
	k->synced = true;
	return 0;
}

/* Started while the store was unreachable: register once it answers. */
static void late_registration(struct daemon *d)
{
	static char last[sizeof(((struct shoal_err *)0)->msg)];
	struct kvdisc *k = K(d);
	struct shoal_err err = { 0 };
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = k->lease ? 0 : register_node(d, &err);
	if (ret == 0)
		ret = finish_registration(d, &err);
	store_ret(k, ret, &err);
	if (ret == 0)
		log_info("cluster store %s: node %s registered (lease %llx), revision %lld",
			 d->cfg.cluster_store, d->cfg.node_name, (unsigned long long)k->lease,
			 (long long)k->rev);
	else if (!store_down(ret) && strcmp(last, err.msg) != 0)
		log_error("cluster store: cannot register this node: %s", err.msg);
	snprintf(last, sizeof(last), "%s", ret == 0 ? "" : err.msg);
	pthread_mutex_unlock(&d->lock);
}

static void *ka_main(void *arg)
{
	struct daemon *d = arg;
	struct kvdisc *k = K(d);
	int every_ms = k->ttl * 1000 / 3;

	while (!k->stop) {
		struct shoal_err err = { 0 };
		int64_t ttl = 0;
		int ret;

		nap(k, k->healthy && k->synced ? every_ms : 500);
		if (k->stop)
			break;
		if (!k->synced) {
			late_registration(d);
			continue;
		}
		ret = store_ret(k, kv_lease_keepalive(k->kv, k->lease, &ttl, &err), &err);
		if (ret < 0)
			continue;
		pthread_mutex_lock(&d->lock);
		if (ttl <= 0 || k->lease_lost) {
			log_warn("cluster store: this node's lease %llx is gone (expired while the store "
				 "was unreachable?): registering again", (unsigned long long)k->lease);
			k->lease = 0;
			ret = register_node(d, &err);
			if (ret == 0) {
				k->lease_lost = false;
				ret = finish_registration(d, &err);
			}
			if (ret < 0)
				log_error("cluster store: re-register: %s", err.msg);
		}
		pthread_mutex_unlock(&d->lock);
	}
	return NULL;
}

/* ------------------------------------------------------------ open / close */

static int resolve_advertise(struct daemon *d, struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	const char *a = d->cfg.cluster_advertise, *colon = strrchr(a, ':');
	char host[64];
	long port;

	if (!*a) {
		k->adv_ip = d->underlay.ip;
		k->adv_port = 2376;
		return 0;
	}
	if (!colon || colon == a || (size_t)(colon - a) >= sizeof(host))
		return err_set(err, EINVAL, "invalid \"cluster-advertise\" \"%s\": want IP:PORT or "
			       "IFACE:PORT", a);
	port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		return err_set(err, EINVAL, "invalid \"cluster-advertise\" \"%s\": bad port", a);
	memcpy(host, a, (size_t)(colon - a));
	host[colon - a] = '\0';
	k->adv_port = (uint16_t)port;
	if (util_parse_ipv4(host, &k->adv_ip) == 0)
		return 0;
	{
		int n, ret = util_iface_ipv4(host, &k->adv_ip, &n);

		if (ret < 0)
			return err_set(err, -ret, "cluster-advertise: getifaddrs: %s", strerror(-ret));
		if (n == 0)
			k->adv_ip = 0;
	}
	if (!k->adv_ip)
		return err_set(err, ENODEV, "invalid \"cluster-advertise\" \"%s\": no interface %s with "
			       "an IPv4 address", a, host);
	return 0;
}

int kvdisc_open(struct daemon *d, struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	int ret;

	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->health_lock, NULL);
	pthread_mutex_init(&k->sleep_lock, NULL);
	pthread_cond_init(&k->sleep_cond, NULL);
	if (!d->cfg.cluster_store[0])
		return 0;
	ret = kv_url_parse(d->cfg.cluster_store, &k->url, err);
	if (ret < 0)
		return ret;
	if (swarm_active(d))
		return err_set(err, EINVAL, "this node is in swarm mode and \"cluster-store\" is set: "
			       "swarm mode and a cluster store are mutually exclusive (swarm leave, or "
			       "remove cluster-store)");
	if (!d->underlay.ip)
		return err_set(err, EINVAL, "\"cluster-store\" needs an underlay: set "
			       "\"underlay-interface\" or \"advertise-addr\"");
	ret = resolve_advertise(d, err);
	if (ret < 0)
		return ret;
	k->ttl = (int)d->cfg.cluster_store_ttl_s;
	ret = kv_open(&k->url, &k->kv, err);
	if (ret < 0)
		return err_wrap(err, "cluster store %s", d->cfg.cluster_store);
	k->healthy = true;
	k->health_since = time(NULL);
	pthread_mutex_lock(&d->lock);
	ret = register_node(d, err);
	if (ret == 0) {
		k->active = true;
		ret = finish_registration(d, err);
	}
	if (ret < 0) {
		/* a node that was registered with this store before keeps running
		 * on its state (and its maps) and registers once the store answers */
		if (!store_down(ret) || !last_lease(d))
			goto fail;
		k->active = true;
		health(k, false, err->msg);
		log_warn("cluster store %s: registering node %s in the background (it was registered "
			 "before; its peers and maps are kept meanwhile)", d->cfg.cluster_store,
			 d->cfg.node_name);
		err_clear(err);
	}
	pthread_mutex_unlock(&d->lock);
	if (pthread_create(&k->watch_thr, NULL, watch_main, d) == 0)
		k->watch_running = true;
	if (pthread_create(&k->ka_thr, NULL, ka_main, d) == 0)
		k->ka_running = true;
	if (k->synced)
		log_info("cluster store %s: node %s registered (lease %llx, TTL %d s), revision %lld",
			 d->cfg.cluster_store, d->cfg.node_name, (unsigned long long)k->lease, k->ttl,
			 (long long)k->rev);
	return 0;
fail:
	k->active = false;
	pthread_mutex_unlock(&d->lock);
	if (k->lease)
		kv_lease_revoke(k->kv, k->lease, NULL);
	kv_close(k->kv);
	k->kv = NULL;
	return err_wrap(err, "cluster store %s", d->cfg.cluster_store);
}

void kvdisc_close(struct daemon *d)
{
	struct kvdisc *k = K(d);

	if (!k->kv)
		return;
	pthread_mutex_lock(&k->sleep_lock);
	k->stop = true;
	pthread_cond_broadcast(&k->sleep_cond);
	pthread_mutex_unlock(&k->sleep_lock);
	if (k->watch_running)
		pthread_join(k->watch_thr, NULL);
	if (k->ka_running)
		pthread_join(k->ka_thr, NULL);
	/* The lease stays: a restart within the TTL keeps this node's keys. */
	kv_close(k->kv);
	k->kv = NULL;
	k->active = false;
}

/* ------------------------------------------------------------ hooks (d->lock held) */

static bool overlay_on(struct daemon *d, const struct st_network *n)
{
	return K(d)->active && strcmp(n->driver, "overlay") == 0;
}

/* Adopting the store's record r: no local network may hold its VNI or subnet. */
static int check_local_conflict(struct daemon *d, const struct net_rec *r, struct shoal_err *err)
{
	struct st_network *nets = NULL;
	size_t nn = 0;
	char a[16];
	int ret;

	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < nn && ret == 0; i++) {
		if (nets[i].net_id == r->vni && strcmp(nets[i].driver, "overlay") == 0)
			ret = err_set(err, EEXIST, "network %s in the cluster store has VNI %u, which the "
				      "local network %s uses", r->name, r->vni, nets[i].name);
		else if (ipam_overlaps(nets[i].subnet, nets[i].prefix, r->subnet, r->prefix))
			ret = err_set(err, EEXIST, "network %s in the cluster store has subnet %s/%u, "
				      "which overlaps with the local network %s", r->name,
				      util_ipv4_str(r->subnet, a), r->prefix, nets[i].name);
	}
	st_network_list_free(nets, nn);
	return ret;
}

int kvdisc_network_claim(struct daemon *d, json_t *req, struct st_network *n,
			 struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	json_t *cfg = json_array_get(json_object_get(json_object_get(req, "IPAM"), "Config"), 0);
	const char *sub = json_string_value(json_object_get(cfg, "Subnet"));
	const char *vopt = json_string_value(json_object_get(json_object_get(req, "Options"), "vni"));
	bool want_subnet = sub && *sub, want_vni = vopt && *vopt;
	int ret;

	k->claimed_net[0] = k->claimed_vni[0] = '\0';
	if (!overlay_on(d, n) || k->applying)
		return 0;
	{
		struct st_network cur = { 0 };

		if (state_network_get(d->st, n->name, &cur, NULL) == 0) {
			st_network_free(&cur);
			return err_set(err, EEXIST, "network with name %s already exists", n->name);
		}
	}
	for (int tries = 0; tries < 64; tries++) {
		char nk[KVD_KEY_LEN], vk[KVD_KEY_LEN], *v = net_value(d, n), a[16], b[16];
		struct kv_op ops[2] = { { nk, v, 0 }, { vk, n->name, 0 } };
		struct kv_pair *cur = NULL;
		size_t nc = 0;
		struct net_rec r;

		key_net(k, n->name, nk);
		key_vni(k, n->net_id, vk);
		ret = store_ret(k, kv_create_all(k->kv, ops, 2, NULL, err), err);
		free(v);
		if (ret < 0)
			return err_wrap(err, "cluster store");
		if (ret == 1) {
			snprintf(k->claimed_net, sizeof(k->claimed_net), "%s", nk);
			snprintf(k->claimed_vni, sizeof(k->claimed_vni), "%s", vk);
			return 0;
		}
		ret = kv_range(k->kv, nk, false, &cur, &nc, NULL, err);
		if (ret < 0)
			return err_wrap(err, "cluster store");
		if (nc == 1 && parse_net(cur[0].value, &r) == 0) {
			kv_pairs_free(cur, nc);
			if (r.subnet == n->subnet && r.prefix == n->prefix && r.vni == n->net_id)
				return 0; /* the same network: this node joins it */
			if ((want_subnet && (r.subnet != n->subnet || r.prefix != n->prefix)) ||
			    (want_vni && r.vni != n->net_id))
				return err_set(err, EEXIST, "network %s already exists in the cluster store "
					       "with subnet %s/%u and VNI %u (created by node %s)",
					       n->name, util_ipv4_str(r.subnet, a), r.prefix, r.vni,
					       r.creator);
			ret = check_local_conflict(d, &r, err);
			if (ret < 0)
				return ret;
			n->subnet = r.subnet;
			n->prefix = r.prefix;
			n->gateway = r.gateway;
			n->net_id = r.vni;
			n->ip_range = 0;
			n->ip_range_prefix = 0;
			n->attachable = r.attachable;
			n->internal = r.internal;
			log_info("network %s: using the cluster store's subnet %s/%u and VNI %u (node %s)",
				 n->name, util_ipv4_str(r.subnet, b), r.prefix, r.vni, r.creator);
			return 0;
		}
		kv_pairs_free(cur, nc);
		/* the VNI belongs to another network */
		if (want_vni)
			return err_set(err, EEXIST, "VNI %u is already used by another network in the "
				       "cluster store", n->net_id);
		if (++n->net_id > SHOAL_VNI_MAX)
			n->net_id = SHOAL_VNI_MIN;
	}
	return err_set(err, ENOSPC, "network %s: no free VNI found in the cluster store", n->name);
}

void kvdisc_network_aborted(struct daemon *d)
{
	struct kvdisc *k = K(d);

	if (k->claimed_net[0]) {
		kv_delete(k->kv, k->claimed_net, false, NULL);
		kv_delete(k->kv, k->claimed_vni, false, NULL);
	}
	k->claimed_net[0] = k->claimed_vni[0] = '\0';
}

void kvdisc_network_created(struct daemon *d, const struct st_network *n)
{
	(void)n;
	K(d)->claimed_net[0] = K(d)->claimed_vni[0] = '\0';
}

void kvdisc_network_removed(struct daemon *d, const struct st_network *n)
{
	struct kvdisc *k = K(d);
	struct kv_pair *eps = NULL;
	struct shoal_err err = { 0 };
	char ek[KVD_KEY_LEN], nk[KVD_KEY_LEN], vk[KVD_KEY_LEN];
	size_t ne = 0;

	if (!overlay_on(d, n) || k->applying)
		return;
	snprintf(ek, sizeof(ek), "%.199sendpoints/%.255s/", k->url.prefix, n->name);
	if (store_ret(k, kv_range(k->kv, ek, true, &eps, &ne, NULL, &err), &err) < 0) {
		log_warn("cluster store: network %s stays registered: %s", n->name, err.msg);
		return;
	}
	kv_pairs_free(eps, ne);
	if (ne) {
		log_info("cluster store: network %s is still used by %zu endpoints of other nodes; "
			 "its record stays", n->name, ne);
		return;
	}
	key_net(k, n->name, nk);
	key_vni(k, n->net_id, vk);
	kv_delete_if(k->kv, vk, n->name, NULL);
	kv_delete(k->kv, nk, false, NULL);
}

static int claim_ip(struct daemon *d, const struct st_network *n, uint32_t ip,
		    struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	char key[KVD_KEY_LEN], *v = ep_value(d, ip);
	struct kv_op op = { key, v, k->lease };
	int ret;

	key_ep(k, n->name, ip, key);
	ret = store_ret(k, kv_create_all(k->kv, &op, 1, NULL, err), err);
	free(v);
	if (ret == 1)
		snprintf(k->claimed, sizeof(k->claimed), "%s", key);
	return ret;
}

int kvdisc_alloc_ip(struct daemon *d, const struct st_network *n, const uint32_t *used,
		    size_t n_used, uint32_t *ip, struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	uint32_t *ex;
	size_t nex = n_used, cap = n_used + 64;
	int ret = 0;

	k->claimed[0] = '\0';
	if (!overlay_on(d, n))
		return 0;
	ex = calloc(cap, sizeof(*ex));
	if (!ex)
		return err_set(err, ENOMEM, "out of memory");
	memcpy(ex, used, n_used * sizeof(*ex));
	for (int tries = 0; tries < KVD_ALLOC_TRIES; tries++) {
		uint32_t cand;

		ret = ipam_alloc(n->subnet, n->prefix, n->ip_range, n->ip_range_prefix, n->gateway, ex,
				 nex, &cand, err);
		if (ret < 0)
			break;
		ret = claim_ip(d, n, cand, err);
		if (ret < 0) {
			err_wrap(err, "cluster store");
			break;
		}
		if (ret == 1) {
			*ip = cand;
			break;
		}
		/* taken by another node: skip it and what else the store has */
		if (nex + 1 >= cap) {
			uint32_t *p = realloc(ex, (cap *= 2) * sizeof(*ex));
			if (!p) {
				ret = err_set(err, ENOMEM, "out of memory");
				break;
			}
			ex = p;
		}
		ex[nex++] = cand;
		if (tries == 0) {
			struct kv_pair *ps = NULL;
			size_t np = 0;
			char pk[KVD_KEY_LEN];

			snprintf(pk, sizeof(pk), "%.199sendpoints/%.255s/", k->url.prefix, n->name);
			if (kv_range(k->kv, pk, true, &ps, &np, NULL, NULL) == 0) {
				uint32_t *p = realloc(ex, (cap = nex + np + 64) * sizeof(*ex));
				if (p) {
					ex = p;
					for (size_t i = 0; i < np; i++) {
						struct ep_rec r;
						if (parse_ep(k, ps[i].key, NULL, &r) == 0)
							ex[nex++] = r.ip;
					}
				}
			}
			kv_pairs_free(ps, np);
		}
		ret = err_set(err, EADDRINUSE, "network %s: no address could be claimed in the "
			      "cluster store", n->name);
	}
	free(ex);
	return ret;
}

int kvdisc_claim_ip(struct daemon *d, const struct st_network *n, uint32_t ip,
		    struct shoal_err *err)
{
	struct kvdisc *k = K(d);
	char key[KVD_KEY_LEN], a[16];
	struct kv_pair *cur = NULL;
	size_t nc = 0;
	int ret;

	k->claimed[0] = '\0';
	if (!overlay_on(d, n))
		return 0;
	ret = claim_ip(d, n, ip, err);
	if (ret < 0)
		return err_wrap(err, "cluster store");
	if (ret == 1)
		return 0;
	key_ep(k, n->name, ip, key);
	kv_range(k->kv, key, false, &cur, &nc, NULL, NULL);
	ret = err_set(err, EADDRINUSE, "address %s of network %s is already in use (cluster store: "
		      "%s)", util_ipv4_str(ip, a), n->name, nc ? cur[0].value : "taken");
	kv_pairs_free(cur, nc);
	return ret;
}

void kvdisc_endpoint_aborted(struct daemon *d)
{
	struct kvdisc *k = K(d);

	if (k->active && k->claimed[0])
		kv_delete(k->kv, k->claimed, false, NULL);
	k->claimed[0] = '\0';
}

void kvdisc_endpoint_connected(struct daemon *d, const struct st_network *n,
			       const struct st_endpoint *e)
{
	(void)n;
	(void)e;
	K(d)->claimed[0] = '\0';
}

void kvdisc_endpoint_disconnected(struct daemon *d, const struct st_network *n,
				  const struct st_endpoint *e)
{
	struct kvdisc *k = K(d);
	struct shoal_err err = { 0 };
	char key[KVD_KEY_LEN], *v;

	if (!overlay_on(d, n) || e->remote)
		return;
	key_ep(k, n->name, e->ip, key);
	v = ep_value(d, e->ip);
	if (store_ret(k, kv_delete_if(k->kv, key, v, &err), &err) < 0)
		log_warn("cluster store: endpoint %s stays in the store until this node's lease "
			 "ends: %s", key, err.msg);
	free(v);
}

json_t *kvdisc_info_json(struct daemon *d)
{
	struct kvdisc *k = K(d);
	json_t *nodes, *j;
	char since[32];

	if (!k->active)
		return json_null();
	nodes = json_array();
	for (size_t i = 0; i < k->n_nodes; i++)
		json_array_append_new(nodes, json_string(k->nodes[i]));
	pthread_mutex_lock(&k->health_lock);
	util_time_rfc3339(k->health_since, since);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:I, s:o, s:I, s:I, s:I}",
		      "Backend", kv_backend_name(k->url.backend), "URL", d->cfg.cluster_store,
		      "Prefix", k->url.prefix, "Endpoint", kv_endpoint(k->kv), "Status",
		      k->healthy ? "healthy" : "unreachable", "Since", since, "LastError",
		      k->last_err, "Lease", (json_int_t)k->lease, "TTL", k->ttl,
		      "Revision", (json_int_t)k->rev, "Nodes", nodes, "Events", (json_int_t)k->events,
		      "Resyncs", (json_int_t)k->resyncs, "Failures", (json_int_t)k->failures);
	pthread_mutex_unlock(&k->health_lock);
	return j;
}
