// SPDX-License-Identifier: Apache-2.0
/*
 * network.c - network create/remove/list/inspect with Docker's request
 * and response shapes (Engine API v1.41 NetworkCreateRequest and
 * NetworkResource).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipam/ipam.h"
#include "../netlink/netlink.h"
#include "daemon.h"
#include "filters.h"

#define MTU_OPTION "com.docker.network.driver.mtu"
#define VNI_OPTION "com.docker.network.driver.overlay.vxlanid_list"

static int opt_uint(json_t *opts, const char *k1, const char *k2, long min, long max,
		    uint32_t *out, bool *given, struct shoal_err *err)
{
	json_t *v = opts ? json_object_get(opts, k1) : NULL;
	const char *key = k1, *str;
	char *end;
	long x;

	if (!v && k2) {
		v = json_object_get(opts, k2);
		key = k2;
	}
	*given = v != NULL;
	if (!v)
		return 0;
	str = json_string_value(v);
	errno = 0;
	x = strtol(str, &end, 10);
	if (errno || *end || end == str || x < min || x > max)
		return err_set(err, EINVAL, "invalid value \"%s\" for option %s: must be %ld..%ld", str,
			       key, min, max);
	*out = (uint32_t)x;
	return 0;
}

/* Options of an overlay network: vni, mtu, encrypted. */
static int overlay_parse_opts(struct daemon *d, json_t *opts, struct st_network *n,
			      struct shoal_err *err)
{
	uint32_t max_mtu;
	bool given;
	int ret;

	if (opts && json_object_get(opts, "encrypted"))
		return overlay_check_encryption(err);
	if (!d->underlay.ifindex)
		return err_set(err, EINVAL,
			       "overlay networks need an underlay: start shoald with --underlay-interface "
			       "or --advertise-addr (daemon.json \"underlay-interface\"/\"advertise-addr\")");
	max_mtu = (uint32_t)d->underlay.mtu - SHOAL_VXLAN_OVERHEAD;
	ret = opt_uint(opts, "vni", VNI_OPTION, SHOAL_VNI_MIN, SHOAL_VNI_MAX, &n->net_id, &given, err);
	if (ret < 0)
		return ret;
	ret = opt_uint(opts, "mtu", MTU_OPTION, 576, 65535, &n->mtu, &given, err);
	if (ret < 0)
		return ret;
	if (!given)
		n->mtu = d->cfg.mtu && (uint32_t)d->cfg.mtu < max_mtu ? (uint32_t)d->cfg.mtu : max_mtu;
	if (n->mtu > max_mtu)
		return err_set(err, EINVAL,
			       "MTU %u is too large for underlay %s (MTU %d): VXLAN needs %d bytes, so at most %u",
			       n->mtu, d->underlay.name, d->underlay.mtu, SHOAL_VXLAN_OVERHEAD, max_mtu);
	return 0;
}

/* The requested VNI if free, else the lowest free one from 4096 (Docker's range). */
static int overlay_pick_vni(struct daemon *d, struct st_network *n, struct shoal_err *err)
{
	struct st_network *nets = NULL;
	size_t nn = 0;
	uint32_t want = n->net_id;
	int ret;

	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		return ret;
	if (want) {
		for (size_t i = 0; i < nn; i++) {
			if (nets[i].net_id == want) {
				ret = err_set(err, EEXIST, "VNI %u is already used by network %s", want,
					      nets[i].name);
				break;
			}
		}
		st_network_list_free(nets, nn);
		return ret;
	}
	for (uint32_t vni = SHOAL_VNI_MIN; vni <= SHOAL_VNI_MAX; vni++) {
		bool used = false;
		for (size_t i = 0; i < nn && !used; i++)
			used = nets[i].net_id == vni;
		if (!used) {
			n->net_id = vni;
			st_network_list_free(nets, nn);
			return 0;
		}
	}
	st_network_list_free(nets, nn);
	return err_set(err, ENOSPC, "no free VNI");
}

void net_map_val(const struct st_network *n, struct shoal_net_val *v)
{
	memset(v, 0, sizeof(*v));
	v->subnet = n->subnet;
	v->mask = ipam_mask(n->prefix);
	v->gateway = n->gateway;
	v->mtu = (__u16)n->mtu;
	if (strcmp(n->driver, "overlay") == 0) {
		v->flags |= SHOAL_NET_OVERLAY;
		v->vni = n->net_id;
	}
}

/* Docker's rule for network names (and for container names). */
static int net_check_name(const char *name, struct shoal_err *err)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0)
		return err_set(err, EINVAL, "network name must not be empty");
	if (len > 128)
		return err_set(err, EINVAL, "network name is too long (%zu characters, at most 128)", len);
	if (!isalnum((unsigned char)name[0]))
		goto bad;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			goto bad;
	}
	return 0;
bad:
	return err_set(err, EINVAL,
		       "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
}

/* A JSON object of string values, or null/absent. */
static int net_check_string_map(json_t *obj, const char *what, struct shoal_err *err)
{
	const char *k;
	json_t *v;

	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return err_set(err, EINVAL, "%s must be an object of strings", what);
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			return err_set(err, EINVAL, "%s: value of \"%s\" must be a string", what, k);
	}
	return 0;
}

static char *json_text_or_null(json_t *obj)
{
	if (!obj || json_is_null(obj) || json_object_size(obj) == 0)
		return NULL;
	return json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
}

static int net_parse_mtu(json_t *opts, const struct shoal_config *cfg, uint32_t *mtu,
			 struct shoal_err *err)
{
	json_t *v = opts ? json_object_get(opts, MTU_OPTION) : NULL;
	char *end;
	long m;

	*mtu = cfg->mtu ? (uint32_t)cfg->mtu : 1500;
	if (!v)
		return 0;
	errno = 0;
	m = strtol(json_string_value(v), &end, 10);
	if (errno || *end || end == json_string_value(v) || m < 576 || m > 65535)
		return err_set(err, EINVAL, "invalid MTU \"%s\" in option %s: must be 576..65535",
			       json_string_value(v), MTU_OPTION);
	*mtu = (uint32_t)m;
	return 0;
}

/* Fill n's addressing from the request's IPAM.Config, or a default pool. */
static int net_parse_ipam(struct daemon *d, json_t *ipam, struct st_network *n,
			  struct shoal_err *err)
{
	json_t *cfgs = ipam ? json_object_get(ipam, "Config") : NULL;
	json_t *c = NULL, *drv = ipam ? json_object_get(ipam, "Driver") : NULL;
	const char *subnet = NULL, *gw = NULL, *range = NULL;
	struct st_network *nets = NULL;
	size_t nn = 0;
	int ret;

	if (drv && !json_is_null(drv) && json_is_string(drv) && json_string_length(drv) &&
	    strcmp(json_string_value(drv), "default") != 0)
		return err_set(err, EINVAL, "IPAM driver \"%s\" is not supported (only \"default\")",
			       json_string_value(drv));
	if (cfgs && !json_is_null(cfgs)) {
		if (!json_is_array(cfgs))
			return err_set(err, EINVAL, "IPAM.Config must be an array");
		if (json_array_size(cfgs) > 1)
			return err_set(err, EINVAL, "only one IPAM config (one --subnet) is supported");
		c = json_array_get(cfgs, 0);
		if (c && !json_is_object(c))
			return err_set(err, EINVAL, "IPAM.Config[0] must be an object");
	}
	if (c) {
		json_t *s = json_object_get(c, "Subnet"), *g = json_object_get(c, "Gateway"),
		       *r = json_object_get(c, "IPRange");
		if ((s && !json_is_string(s) && !json_is_null(s)) ||
		    (g && !json_is_string(g) && !json_is_null(g)) ||
		    (r && !json_is_string(r) && !json_is_null(r)))
			return err_set(err, EINVAL, "IPAM.Config: Subnet, Gateway and IPRange must be strings");
		subnet = json_string_value(s);
		gw = json_string_value(g);
		range = json_string_value(r);
		if (subnet && !*subnet)
			subnet = NULL;
		if (gw && !*gw)
			gw = NULL;
		if (range && !*range)
			range = NULL;
	}
	if ((gw || range) && !subnet)
		return err_set(err, EINVAL, "%s requires a subnet (--subnet)", gw ? "a gateway" : "an IP range");

	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		return ret;
	if (subnet) {
		ret = ipam_parse_subnet(subnet, &n->subnet, &n->prefix, err);
		if (ret < 0)
			goto out;
		for (size_t i = 0; i < nn; i++) {
			if (ipam_overlaps(n->subnet, n->prefix, nets[i].subnet, nets[i].prefix)) {
				char a[16];
				ret = err_set(err, EEXIST,
					      "subnet %s overlaps with network %s (%s/%u)", subnet,
					      nets[i].name, util_ipv4_str(nets[i].subnet, a),
					      nets[i].prefix);
				goto out;
			}
		}
	} else {
		uint32_t used_net[SHOAL_LOCAL_NETID_MAX];
		uint8_t used_prefix[SHOAL_LOCAL_NETID_MAX];
		size_t k = 0;

		for (size_t i = 0; i < nn && k < SHOAL_LOCAL_NETID_MAX; i++, k++) {
			used_net[k] = nets[i].subnet;
			used_prefix[k] = nets[i].prefix;
		}
		ret = ipam_default_subnet(used_net, used_prefix, k, &n->subnet, &n->prefix, err);
		if (ret < 0)
			goto out;
	}
	if (gw) {
		uint32_t mask = ipam_mask(n->prefix);

		ret = util_parse_ipv4(gw, &n->gateway);
		if (ret < 0) {
			ret = err_set(err, EINVAL, "invalid gateway address \"%s\"", gw);
			goto out;
		}
		if (!ipam_contains(n->subnet, n->prefix, n->gateway) || n->gateway == n->subnet ||
		    (n->prefix < 31 && n->gateway == (n->subnet | ~mask))) {
			char s[16];
			ret = err_set(err, EINVAL, "gateway %s is not a usable address of subnet %s/%u",
				      gw, util_ipv4_str(n->subnet, s), n->prefix);
			goto out;
		}
	} else {
		n->gateway = ipam_first_host(n->subnet, n->prefix);
	}
	if (range) {
		ret = ipam_parse_range(range, &n->ip_range, &n->ip_range_prefix, err);
		if (ret < 0)
			goto out;
		if (n->ip_range_prefix < n->prefix ||
		    !ipam_contains(n->subnet, n->prefix, n->ip_range)) {
			ret = err_set(err, EINVAL, "IP range %s is not inside subnet %s", range, subnet);
			goto out;
		}
	}
	ret = 0;
out:
	st_network_list_free(nets, nn);
	return ret;
}

int net_create(struct daemon *d, json_t *req, char id_out[65], struct shoal_err *err)
{
	struct st_network n = { 0 };
	struct shoal_net_val mv;
	const char *name, *driver;
	json_t *labels, *opts, *v;
	bool in_txn = false, addr_added = false, map_added = false;
	int ret;

	if (!json_is_object(req))
		return err_set(err, EINVAL, "request body must be a JSON object");
	name = json_string_value(json_object_get(req, "Name"));
	ret = net_check_name(name, err);
	if (ret < 0)
		return ret;
	v = json_object_get(req, "Driver");
	driver = json_is_string(v) && json_string_length(v) ? json_string_value(v) : "local";
	if (strcmp(driver, "bridge") == 0)
		driver = "local"; /* Docker's default driver name: same role here */
	if (strcmp(driver, "local") != 0 && strcmp(driver, "overlay") != 0)
		return err_set(err, EINVAL, "network driver \"%s\" not found (available: local, overlay)",
			       driver);
	ret = swarm_check_network(d, name, driver, err);
	if (ret < 0)
		return ret;
	labels = json_object_get(req, "Labels");
	opts = json_object_get(req, "Options");
	ret = net_check_string_map(labels, "Labels", err);
	if (ret < 0)
		return ret;
	ret = net_check_string_map(opts, "Options", err);
	if (ret < 0)
		return ret;
	v = json_object_get(req, "EnableIPv6");
	if (json_is_true(v))
		return err_set(err, EINVAL, "IPv6 networks are not supported");

	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.driver, sizeof(n.driver), "%s", driver);
	n.attachable = json_is_true(json_object_get(req, "Attachable"));
	n.internal = json_is_true(json_object_get(req, "Internal"));
	n.created = time(NULL);
	if (strcmp(driver, "overlay") == 0)
		ret = overlay_parse_opts(d, opts, &n, err);
	else
		ret = net_parse_mtu(opts, &d->cfg, &n.mtu, err);
	if (ret < 0)
		return ret;

	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	in_txn = true;
	ret = net_parse_ipam(d, json_object_get(req, "IPAM"), &n, err);
	if (ret < 0)
		goto fail;
	if (strcmp(driver, "overlay") == 0)
		ret = overlay_pick_vni(d, &n, err);
	else
		ret = state_network_next_local_id(d->st, &n.net_id, err);
	if (ret < 0)
		goto fail;
	ret = kvdisc_network_claim(d, req, &n, err);
	if (ret < 0)
		goto fail;
	ret = util_random_id(n.id);
	if (ret < 0) {
		err_set(err, -ret, "cannot generate a network id");
		goto fail;
	}
	n.labels_json = json_text_or_null(labels);
	if (strcmp(driver, "overlay") == 0) {
		/* Record the VNI under Docker's option name, as docker inspect shows it. */
		char vni[16];
		json_t *o = opts && json_is_object(opts) ? json_deep_copy(opts) : json_object();

		snprintf(vni, sizeof(vni), "%u", n.net_id);
		json_object_del(o, "vni");
		json_object_set_new(o, VNI_OPTION, json_string(vni));
		n.options_json = json_text_or_null(o);
		json_decref(o);
	} else {
		n.options_json = json_text_or_null(opts);
	}
	ret = state_network_insert(d->st, &n, err);
	if (ret < 0)
		goto fail;

	ret = netlink_addr_add(d->host_dev_ifindex, n.gateway, n.prefix, err);
	if (ret < 0)
		goto fail;
	addr_added = true;
	net_map_val(&n, &mv);
	ret = loader_put_network(&d->bpf, n.net_id, &mv, err);
	if (ret < 0)
		goto fail;
	map_added = true;
	ret = state_commit(d->st, err);
	if (ret < 0)
		goto fail;
	memcpy(id_out, n.id, 65);
	log_info("network %s created (id %.12s, net id %u)", n.name, n.id, n.net_id);
	swarm_network_created(d, &n);
	kvdisc_network_created(d, &n);
	st_network_free(&n);
	return 0;
fail:
	if (map_added)
		loader_del_network(&d->bpf, n.net_id, NULL);
	if (addr_added)
		netlink_addr_del(d->host_dev_ifindex, n.gateway, n.prefix, NULL);
	if (in_txn)
		state_rollback(d->st);
	kvdisc_network_aborted(d);
	st_network_free(&n);
	return ret;
}

int net_remove(struct daemon *d, const char *ref, struct shoal_err *err)
{
	struct st_network n = { 0 };
	struct st_endpoint *eps = NULL;
	size_t ne = 0, local = 0;
	int ret;

	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	ret = state_network_get(d->st, ref, &n, err);
	if (ret < 0)
		goto fail;
	ret = state_endpoint_list(d->st, n.id, &eps, &ne, err);
	if (ret < 0)
		goto fail;
	for (size_t i = 0; i < ne; i++)
		local += !eps[i].remote;
	if (local) {
		ret = err_set(err, EBUSY,
			      "error while removing network: network %s id %s has active endpoints (%zu)",
			      n.name, n.id, local);
		goto fail;
	}
	/* Remote peers learnt for this network go with it. */
	for (size_t i = 0; i < ne; i++) {
		struct shoal_ep_key k = { .net_id = n.net_id, .ip = eps[i].ip };
		ret = state_endpoint_delete(d->st, eps[i].id, err);
		if (ret < 0)
			goto fail;
		loader_del_endpoint(&d->bpf, &k, NULL);
	}
	ret = state_network_delete(d->st, n.id, err);
	if (ret < 0)
		goto fail;
	ret = state_commit(d->st, err);
	if (ret < 0)
		goto fail;
	/* Committed: the kernel follows. Failures here are repaired at start. */
	loader_del_network(&d->bpf, n.net_id, NULL);
	netlink_addr_del(d->host_dev_ifindex, n.gateway, n.prefix, NULL);
	log_info("network %s removed", n.name);
	swarm_network_removed(d, &n);
	kvdisc_network_removed(d, &n);
	free(eps);
	st_network_free(&n);
	return 0;
fail:
	state_rollback(d->st);
	free(eps);
	st_network_free(&n);
	return ret;
}

static json_t *json_parse_or_empty(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	return j ? j : json_object();
}

json_t *net_to_json(struct daemon *d, const struct st_network *n)
{
	char created[32], sub[40], gw[16], rng[40], a[16], mac[18], ipbuf[40];
	struct st_endpoint *eps = NULL;
	json_t *j, *cfg, *containers, *opts, *peers;
	size_t ne = 0;

	util_time_rfc3339(n->created, created);
	snprintf(sub, sizeof(sub), "%s/%u", util_ipv4_str(n->subnet, a), n->prefix);
	util_ipv4_str(n->gateway, gw);
	cfg = json_pack("{s:s, s:s}", "Subnet", sub, "Gateway", gw);
	if (n->ip_range_prefix) {
		snprintf(rng, sizeof(rng), "%s/%u", util_ipv4_str(n->ip_range, a), n->ip_range_prefix);
		json_object_set_new(cfg, "IPRange", json_string(rng));
	}
	containers = json_object();
	peers = json_array();
	if (state_endpoint_list(d->st, n->id, &eps, &ne, NULL) == 0) {
		for (size_t i = 0; i < ne; i++) {
			const struct st_endpoint *e = &eps[i];
			const char *base = strrchr(e->netns, '/');

			snprintf(ipbuf, sizeof(ipbuf), "%s/%u", util_ipv4_str(e->ip, a), n->prefix);
			util_mac_str(e->mac, mac);
			if (e->remote) {
				json_array_append_new(peers, peer_to_json(e));
				continue;
			}
			char cname[256];

			json_object_set_new(containers, e->container_id[0] ? e->container_id : e->id,
				json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
					  "Name", ctr_name_of(d, e->container_id, cname, sizeof(cname)) ?:
					  (base ? base + 1 : e->netns), "EndpointID", e->id,
					  "MacAddress", mac, "IPv4Address", ipbuf, "IPv6Address", "",
					  "Netns", e->netns, "HostInterface", e->host_ifname));
		}
	}
	free(eps);
	opts = json_parse_or_empty(n->options_json);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:{}, s:[o]}, s:b, s:b, s:b, "
		      "s:{s:s}, s:b, s:o, s:o, s:o}",
		      "Name", n->name, "Id", n->id, "Created", created, "Scope", "local",
		      "Driver", n->driver, "EnableIPv6", 0,
		      "IPAM", "Driver", "default", "Options", "Config", cfg,
		      "Internal", n->internal, "Attachable", n->attachable, "Ingress", 0,
		      "ConfigFrom", "Network", "", "ConfigOnly", 0,
		      "Containers", containers, "Options", opts,
		      "Labels", json_parse_or_empty(n->labels_json));
	/* shoal's own fields, beside Docker's. */
	json_object_set_new(j, "MTU", json_integer(n->mtu));
	json_object_set_new(j, "NetworkID", json_integer(n->net_id));
	if (strcmp(n->driver, "overlay") == 0) {
		json_object_set_new(j, "Scope", json_string("swarm"));
		json_object_set_new(j, "VNI", json_integer(n->net_id));
		json_object_set_new(j, "EncapOverhead", json_integer(SHOAL_VXLAN_OVERHEAD));
	}
	if (peers && json_array_size(peers))
		json_object_set_new(j, "Peers", peers);
	else
		json_decref(peers);
	return j;
}

/* Docker's filter semantics: values of one key are ORed, keys are ANDed. */
static bool net_filter_match(const struct st_network *n, json_t *filters)
{
	const char *key;
	json_t *vals;

	if (!filters)
		return true;
	json_object_foreach(filters, key, vals) {
		bool any = false;
		size_t i;
		json_t *v;
		json_t *labels = NULL;

		if (strcmp(key, "label") == 0)
			labels = json_parse_or_empty(n->labels_json);
		json_array_foreach(vals, i, v) {
			const char *s = json_string_value(v);
			if (!s)
				continue;
			if (strcmp(key, "name") == 0)
				any = any || strstr(n->name, s) != NULL;
			else if (strcmp(key, "id") == 0)
				any = any || strncmp(n->id, s, strlen(s)) == 0;
			else if (strcmp(key, "driver") == 0)
				any = any || strcmp(n->driver, s) == 0 ||
				      (strcmp(s, "bridge") == 0 && strcmp(n->driver, "local") == 0);
			else if (strcmp(key, "scope") == 0)
				any = any || strcmp(s, strcmp(n->driver, "overlay") == 0 ? "swarm" : "local") == 0;
			else if (strcmp(key, "type") == 0)
				any = any || strcmp(s, "custom") == 0;
			else if (strcmp(key, "label") == 0) {
				const char *eq = strchr(s, '=');
				if (!eq) {
					any = any || json_object_get(labels, s) != NULL;
				} else {
					char k[256];
					json_t *lv;
					snprintf(k, sizeof(k), "%.*s", (int)(eq - s), s);
					lv = json_object_get(labels, k);
					any = any || (lv && strcmp(json_string_value(lv), eq + 1) == 0);
				}
			}
		}
		json_decref(labels);
		if (!any)
			return false;
	}
	return true;
}

static int net_check_filters(json_t *filters, struct shoal_err *err)
{
	static const char *const known[] = { "name", "id", "driver", "label", "scope", "type" };

	return filters_normalise(filters, known, ARRAY_SIZE(known), err);
}

int net_list_json(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err)
{
	struct st_network *nets = NULL;
	size_t nn = 0;
	int ret;

	ret = net_check_filters(filters, err);
	if (ret < 0)
		return ret;
	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		return ret;
	*out = json_array();
	for (size_t i = 0; i < nn; i++)
		if (net_filter_match(&nets[i], filters))
			json_array_append_new(*out, net_to_json(d, &nets[i]));
	st_network_list_free(nets, nn);
	return 0;
}

int net_inspect_json(struct daemon *d, const char *ref, json_t **out, struct shoal_err *err)
{
	struct st_network n = { 0 };
	int ret;

	ret = state_network_get(d->st, ref, &n, err);
	if (ret < 0)
		return ret;
	*out = net_to_json(d, &n);
	st_network_free(&n);
	return 0;
}
