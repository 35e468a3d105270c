// SPDX-License-Identifier: Apache-2.0
/*
 * flows.c - GET /shoal/flows: the flow table (bpf/lib/flow.h) as top
 * talkers per container, with the peer of each flow named when it is an
 * endpoint shoal knows (local, or remote on an overlay), "host" for the
 * network's gateway (the host stack), else left as an address.
 *
 *   ?container=A,B     only these endpoints (name, id prefix, netns)
 *   ?sort=bytes|packets|age   descending bytes (default), packets, or
 *                      oldest first
 *   ?limit=N           at most N flows per endpoint (0 = all)
 *
 * The reply also describes the table itself, so a full table is never
 * silent: size, entries, flows created, evicted (created - entries: the
 * daemon never deletes flows, so every other disappearance is the LRU
 * making room) and inserts that failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <microhttpd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "daemon.h"
#include "obs.h"

struct flow_row {
	struct shoal_flow_key k;
	struct shoal_flow_val v;
};

struct flow_set {
	struct flow_row *rows;
	size_t n, cap;
	const uint32_t *want; /* NULL = all */
	size_t n_want;
	uint64_t entries;
};

static int collect(const struct shoal_flow_key *k, const struct shoal_flow_val *v, void *arg)
{
	struct flow_set *fs = arg;

	fs->entries++;
	if (fs->want) {
		size_t i;

		for (i = 0; i < fs->n_want; i++)
			if (fs->want[i] == k->ep_id)
				break;
		if (i == fs->n_want)
			return 0;
	}
	if (fs->n == fs->cap) {
		size_t nc = fs->cap ? fs->cap * 2 : 256;
		struct flow_row *nr = realloc(fs->rows, nc * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		fs->rows = nr;
		fs->cap = nc;
	}
	fs->rows[fs->n].k = *k;
	fs->rows[fs->n].v = *v;
	fs->n++;
	return 0;
}

static bool flow_active(const struct shoal_flow_val *v, uint64_t now)
{
	/* A TCP flow that saw FIN or RST is over; anything else is active
	 * while it keeps sending. */
	if (v->tcp_flags & 0x05)
		return false;
	return v->last_ns && now - v->last_ns < OBS_FLOW_ACTIVE_NS;
}

int obs_active_flows(struct daemon *d, const uint32_t *ep_ids, size_t n, uint64_t *active,
		     uint64_t *entries, struct shoal_err *err)
{
	struct flow_set fs = { .want = ep_ids, .n_want = n };
	uint64_t now = obs_mono_ns();
	int ret;

	memset(active, 0, n * sizeof(*active));
	ret = loader_flows_foreach(&d->bpf, collect, &fs, err);
	if (ret < 0) {
		free(fs.rows);
		return ret;
	}
	for (size_t i = 0; i < fs.n; i++) {
		if (!flow_active(&fs.rows[i].v, now))
			continue;
		for (size_t j = 0; j < n; j++)
			if (ep_ids[j] == fs.rows[i].k.ep_id)
				active[j]++;
	}
	if (entries)
		*entries = fs.entries;
	free(fs.rows);
	return 0;
}

void obs_stats_add_active(struct daemon *d, json_t *eps)
{
	size_t n = json_array_size(eps), i;
	uint32_t *ids = calloc(n + 1, sizeof(*ids));
	uint64_t *active = calloc(n + 1, sizeof(*active));
	json_t *e;

	if (ids && active) {
		json_array_foreach(eps, i, e)
			ids[i] = (uint32_t)json_integer_value(json_object_get(e, "EpID"));
		if (obs_active_flows(d, ids, n, active, NULL, NULL) == 0)
			json_array_foreach(eps, i, e)
				json_object_set_new(e, "ActiveFlows", json_integer((json_int_t)active[i]));
	}
	free(ids);
	free(active);
}

static int sort_mode;

static int cmp_rows(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;

	if (x->k.ep_id != y->k.ep_id)
		return x->k.ep_id < y->k.ep_id ? -1 : 1;
	switch (sort_mode) {
	case 1:
		if (x->v.packets != y->v.packets)
			return x->v.packets > y->v.packets ? -1 : 1;
		break;
	case 2:
		if (x->v.first_ns != y->v.first_ns)
			return x->v.first_ns < y->v.first_ns ? -1 : 1;
		break;
	default:
		break;
	}
	if (x->v.bytes != y->v.bytes)
		return x->v.bytes > y->v.bytes ? -1 : 1;
	return 0;
}

/* Everything needed to name peers: all endpoints and networks. */
struct names {
	struct st_network *nets;
	size_t nn;
	struct st_endpoint *eps;
	size_t ne;
};

static const struct st_network *net_of(const struct names *nm, const char *id)
{
	for (size_t i = 0; i < nm->nn; i++)
		if (!strcmp(nm->nets[i].id, id))
			return &nm->nets[i];
	return NULL;
}

/* The peer at ip as seen from endpoint e: "kind" and a name. */
static void peer_name(struct daemon *d, const struct names *nm, const struct st_endpoint *e,
		      uint32_t ip, const char **kind, char *buf, size_t len)
{
	const struct st_network *n = net_of(nm, e->network_id);
	char a[16];

	*kind = "external";
	buf[0] = '\0';
	if (n && ip == n->gateway) {
		*kind = "host";
		snprintf(buf, len, "host");
		return;
	}
	for (size_t i = 0; i < nm->ne; i++) {
		const struct st_endpoint *p = &nm->eps[i];

		if (p->ip != ip || strcmp(p->network_id, e->network_id))
			continue;
		if (p->remote) {
			*kind = "remote";
			util_ipv4_str(p->node_ip, a);
			if (p->container_id[0])
				snprintf(buf, len, "%.64s@%s", p->container_id, a);
			else
				snprintf(buf, len, "%.12s@%s", p->id, a);
		} else {
			*kind = "container";
			obs_ep_name(d, p, buf, len);
		}
		return;
	}
}

static json_t *flow_json(struct daemon *d, const struct names *nm, const struct st_endpoint *e,
			 const char *ename, const char *netname, const struct flow_row *r,
			 uint64_t now)
{
	const struct shoal_flow_key *k = &r->k;
	const struct shoal_flow_val *v = &r->v;
	bool ports = k->proto == 6 || k->proto == 17, in = k->dir == SHOAL_FLOW_INGRESS;
	char sip[16], dip[16], src[32], dst[32], first[48], last[48], pb[8], peer[300], flags[40];
	static const char *const fn[8] = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR" };
	const char *kind;
	size_t off = 0;

	util_ipv4_str(k->saddr, sip);
	util_ipv4_str(k->daddr, dip);
	if (ports) {
		snprintf(src, sizeof(src), "%s:%u", sip, ntohs(k->sport));
		snprintf(dst, sizeof(dst), "%s:%u", dip, ntohs(k->dport));
	} else {
		snprintf(src, sizeof(src), "%s", sip);
		snprintf(dst, sizeof(dst), "%s", dip);
	}
	flags[0] = '\0';
	for (int i = 0; i < 8; i++)
		if (v->tcp_flags & (1u << i))
			off += (size_t)snprintf(flags + off, sizeof(flags) - off, "%s%s",
						off ? "," : "", fn[i]);
	obs_mono_to_rfc3339(v->first_ns, first, sizeof(first));
	obs_mono_to_rfc3339(v->last_ns, last, sizeof(last));
	peer_name(d, nm, e, in ? k->saddr : k->daddr, &kind, peer, sizeof(peer));
	return json_pack("{s:{s:s, s:s, s:s, s:s, s:I}, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I,"
			 " s:s, s:s, s:I, s:I, s:s, s:s, s:f, s:f, s:s, s:b}",
			 "Endpoint", "ID", e->id, "Name", ename, "Container", e->container_id,
			 "Network", netname, "EpID", (json_int_t)e->ep_id,
			 "Direction", in ? "ingress" : "egress",
			 "Proto", obs_proto_name(k->proto, pb, sizeof(pb)), "Src", src, "Dst", dst,
			 "SrcIP", sip, "SrcPort", (json_int_t)(ports ? ntohs(k->sport) : 0),
			 "DstIP", dip, "DstPort", (json_int_t)(ports ? ntohs(k->dport) : 0),
			 "Peer", peer, "PeerKind", kind, "Packets", (json_int_t)v->packets,
			 "Bytes", (json_int_t)v->bytes, "FirstSeen", first, "LastSeen", last,
			 "AgeSeconds", v->first_ns && now > v->first_ns ? (double)(now - v->first_ns) / 1e9 : 0.0,
			 "IdleSeconds", v->last_ns && now > v->last_ns ? (double)(now - v->last_ns) / 1e9 : 0.0,
			 "TCPFlags", flags, "Active", flow_active(v, now));
}

static json_t *table_json(struct daemon *d, uint64_t entries)
{
	struct shoal_obs_stats o = { 0 };
	struct shoal_node_cfg cfg = { 0 };
	uint32_t cap = loader_flows_capacity(&d->bpf);
	uint64_t evicted;

	loader_obs_stats_read(&d->bpf, &o, NULL);
	loader_get_node_cfg(&d->bpf, &cfg, NULL);
	evicted = o.flows_created > entries ? o.flows_created - entries : 0;
	return json_pack("{s:b, s:I, s:I, s:f, s:I, s:I, s:I}", "Enabled",
			 (cfg.flags & SHOAL_CFG_FLOWS) != 0, "Size", (json_int_t)cap, "Entries",
			 (json_int_t)entries, "FillRatio", cap ? (double)entries / cap : 0.0,
			 "Created", (json_int_t)o.flows_created, "Evicted", (json_int_t)evicted,
			 "InsertFailed", (json_int_t)o.flows_failed);
}

static int flows_json(struct daemon *d, const char *cont, int mode, int limit, json_t **out,
		      struct shoal_err *err)
{
	struct names nm = { 0 };
	struct flow_set fs = { 0 };
	_cleanup_free_ uint32_t *want = NULL;
	_cleanup_free_ char *sel = NULL; /* selected endpoint indexes */
	uint64_t now = obs_mono_ns();
	json_t *arr;
	int ret;

	ret = state_network_list(d->st, &nm.nets, &nm.nn, err);
	if (ret < 0)
		return ret;
	ret = state_endpoint_list(d->st, NULL, &nm.eps, &nm.ne, err);
	if (ret < 0)
		goto out;
	want = calloc(nm.ne + 1, sizeof(*want));
	sel = calloc(nm.ne + 1, 1);
	if (!want || !sel) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (cont && *cont) {
		char buf[2048], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", cont);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			bool found = false;

			for (size_t i = 0; i < nm.ne && !found; i++) {
				const struct st_endpoint *e = &nm.eps[i];
				const struct st_network *n = net_of(&nm, e->network_id);
				struct obs_ep oe = { .ep_id = e->ep_id };

				if (e->remote)
					continue;
				snprintf(oe.id, sizeof(oe.id), "%s", e->id);
				snprintf(oe.container_id, sizeof(oe.container_id), "%s", e->container_id);
				snprintf(oe.netns, sizeof(oe.netns), "%s", e->netns);
				snprintf(oe.network, sizeof(oe.network), "%s", n ? n->name : "");
				obs_ep_name(d, e, oe.name, sizeof(oe.name));
				if (obs_ep_match(&oe, tok)) {
					if (!sel[i])
						want[fs.n_want++] = e->ep_id;
					sel[i] = 1;
					found = true;
				}
			}
			if (!found) {
				ret = err_set(err, ENOENT, "No such container: %s", tok);
				goto out;
			}
		}
		fs.want = want;
	}
	ret = loader_flows_foreach(&d->bpf, collect, &fs, err);
	if (ret < 0)
		goto out;
	sort_mode = mode; /* d->lock held: one sort at a time */
	qsort(fs.rows, fs.n, sizeof(*fs.rows), cmp_rows);
	arr = json_array();
	for (size_t i = 0, per = 0; i < fs.n; i++) {
		const struct st_endpoint *e = NULL;
		const struct st_network *n;
		char ename[256];

		if (i > 0 && fs.rows[i].k.ep_id != fs.rows[i - 1].k.ep_id)
			per = 0;
		if (limit > 0 && per >= (size_t)limit)
			continue;
		for (size_t j = 0; j < nm.ne; j++)
			if (!nm.eps[j].remote && nm.eps[j].ep_id == fs.rows[i].k.ep_id)
				e = &nm.eps[j];
		if (!e)
			continue; /* an endpoint that is gone: its flows age out */
		n = net_of(&nm, e->network_id);
		obs_ep_name(d, e, ename, sizeof(ename));
		json_array_append_new(arr, flow_json(d, &nm, e, ename, n ? n->name : "", &fs.rows[i],
						     now));
		per++;
	}
	*out = json_pack("{s:o, s:o}", "Flows", arr, "Table", table_json(d, fs.entries));
	ret = 0;
out:
	free(fs.rows);
	free(nm.eps);
	st_network_list_free(nm.nets, nm.nn);
	return ret;
}

void api_flows(const struct api_req *q, struct reply *r)
{
	struct daemon *d = q->d;
	struct shoal_err err = { 0 };
	const char *sort = api_query(q, "sort"), *lim = api_query(q, "limit");
	json_t *out = NULL;
	long limit = 0;
	char *end;
	int ret, mode;

	if (strcmp(q->method, "GET") != 0)
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (!sort || !*sort || !strcmp(sort, "bytes"))
		mode = 0;
	else if (!strcmp(sort, "packets"))
		mode = 1;
	else if (!strcmp(sort, "age"))
		mode = 2;
	else
		return api_reply_msg(r, MHD_HTTP_BAD_REQUEST,
				     "invalid sort key: expected bytes, packets or age");
	if (lim && *lim) {
		errno = 0;
		limit = strtol(lim, &end, 10);
		if (errno || *end || limit < 0 || limit > 1000000)
			return api_reply_msg(r, MHD_HTTP_BAD_REQUEST,
					     "invalid limit: expected an integer >= 0");
	}
	pthread_mutex_lock(&d->lock);
	ret = flows_json(d, api_query(q, "container"), mode, (int)limit, &out, &err);
	pthread_mutex_unlock(&d->lock);
	api_reply_done(r, ret, &err, MHD_HTTP_OK, out);
}
