// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.c - Prometheus text exposition (format 0.0.4) at GET /metrics
 * on the API socket, and on an optional TCP listener (--metrics-addr,
 * Docker's convention 127.0.0.1:9323) that serves nothing else.
 *
 * Per container (endpoint): rx/tx bytes and packets, drops by reason,
 * active flows, labelled container (name), id (container id, else
 * endpoint id), network and node. Node-wide: drops, VXLAN traffic, the
 * flow table (size, entries, fill ratio, created, evicted, failed
 * inserts), events (sent, lost by cause, read), gossip counters, and the
 * key-value store's when discovery goes through one.
 *
 * Monotonic across daemon restarts: the data-path counters live in
 * pinned maps, which outlive the daemon. The few counters that live in
 * the daemon's memory (gossip, events read, slow monitor readers) are
 * exported as base + current, where base is what the previous run
 * exported last: every scrape (and the shutdown) stores base + current
 * in state (meta "metrics.counters") before answering, so a restarted
 * daemon never exports less than anything already scraped.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>

#include "../common/log.h"
#include "../common/names.h"
#include "../common/util.h"
#include "daemon.h"
#include "obs.h"

#define META_KEY "metrics.counters"
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct out {
	FILE *f;
	json_t *saved; /* process counters as exported now (base + current) */
};

/* Label values: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *name, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct ep_row {
	char container[256], id[65], network[256];
	struct shoal_ep_stats s;
	uint64_t active;
};

static void ep_labels(FILE *f, const char *node, const struct ep_row *e)
{
	fputc('{', f);
	put_label(f, "container", e->container, true);
	put_label(f, "id", e->id, false);
	put_label(f, "network", e->network, false);
	put_label(f, "node", node, false);
}

/* A process counter: base (from the last run) + current. */
static unsigned long long proc_counter(struct daemon *d, struct out *o, const char *key,
				       unsigned long long cur)
{
	json_t *b = d->obs ? json_object_get(d->obs->counter_base, key) : NULL;
	unsigned long long v = cur + (json_is_integer(b) ? (unsigned long long)json_integer_value(b) : 0);

	json_object_set_new(o->saved, key, json_integer((json_int_t)v));
	return v;
}

static void emit_endpoints(struct daemon *d, struct out *o, const char *node)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
		{ "shoal_container_rx_bytes_total", "Bytes delivered to the container, counted by the eBPF data path.",
		  offsetof(struct shoal_ep_stats, rx_bytes) },
		{ "shoal_container_rx_packets_total", "Packets delivered to the container.",
		  offsetof(struct shoal_ep_stats, rx_packets) },
		{ "shoal_container_tx_bytes_total", "Bytes sent by the container.",
		  offsetof(struct shoal_ep_stats, tx_bytes) },
		{ "shoal_container_tx_packets_total", "Packets sent by the container.",
		  offsetof(struct shoal_ep_stats, tx_packets) },
	};
	struct obs_ep *eps = NULL;
	struct ep_row *rows;
	uint32_t *ids;
	uint64_t *active;
	size_t n = 0;
	FILE *f = o->f;

	if (obs_ep_snapshot(d, &eps, &n, NULL) < 0)
		return;
	rows = calloc(n + 1, sizeof(*rows));
	ids = calloc(n + 1, sizeof(*ids));
	active = calloc(n + 1, sizeof(*active));
	if (!rows || !ids || !active)
		goto out;
	for (size_t i = 0; i < n; i++) {
		snprintf(rows[i].container, sizeof(rows[i].container), "%s", eps[i].name);
		snprintf(rows[i].id, sizeof(rows[i].id), "%s",
			 eps[i].container_id[0] ? eps[i].container_id : eps[i].id);
		snprintf(rows[i].network, sizeof(rows[i].network), "%s", eps[i].network);
		loader_stats_read(&d->bpf, eps[i].ep_id, &rows[i].s, NULL);
		ids[i] = eps[i].ep_id;
	}
	if (n && obs_active_flows(d, ids, n, active, NULL, NULL) == 0)
		for (size_t i = 0; i < n; i++)
			rows[i].active = active[i];
	for (size_t c = 0; c < sizeof(ctr) / sizeof(ctr[0]); c++) {
		family(f, ctr[c].name, "counter", ctr[c].help);
		for (size_t i = 0; i < n; i++) {
			fputs(ctr[c].name, f);
			ep_labels(f, node, &rows[i]);
			fprintf(f, "} %llu\n",
				(unsigned long long)*(const __u64 *)((const char *)&rows[i].s + ctr[c].off));
		}
	}
	family(f, "shoal_container_drops_total", "counter",
	       "Packets from or to the container dropped by the data path, by reason.");
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < SHOAL_DROP_MAX; r++) {
			fputs("shoal_container_drops_total", f);
			ep_labels(f, node, &rows[i]);
			put_label(f, "reason", shoal_drop_names[r], false);
			fprintf(f, "} %llu\n", (unsigned long long)rows[i].s.drops[r]);
		}
	family(f, "shoal_container_active_flows", "gauge",
	       "Flows of the container seen in the last 30 s and not closed by FIN/RST.");
	for (size_t i = 0; i < n; i++) {
		fputs("shoal_container_active_flows", f);
		ep_labels(f, node, &rows[i]);
		fprintf(f, "} %llu\n", (unsigned long long)rows[i].active);
	}
out:
	free(rows);
	free(ids);
	free(active);
	free(eps);
}

static void one(FILE *f, const char *name, const char *type, const char *help, const char *node,
		unsigned long long v)
{
	family(f, name, type, help);
	fprintf(f, "%s{", name);
	put_label(f, "node", node, true);
	fprintf(f, "} %llu\n", v);
}

static void emit_node(struct daemon *d, struct out *o, const char *node)
{
	struct shoal_node_stats ns = { 0 };
	struct shoal_obs_stats os = { 0 };
	struct shoal_node_cfg cfg = { 0 };
	uint32_t cap = loader_flows_capacity(&d->bpf);
	uint64_t entries = 0, dummy;
	uint32_t none = 0;
	FILE *f = o->f;

	loader_node_stats_read(&d->bpf, &ns, NULL);
	loader_obs_stats_read(&d->bpf, &os, NULL);
	loader_get_node_cfg(&d->bpf, &cfg, NULL);
	obs_active_flows(d, &none, 0, &dummy, &entries, NULL);

	family(f, "shoal_info", "gauge", "Always 1: this node's name and shoal version.");
	fputs("shoal_info{", f);
	put_label(f, "node", node, true);
	put_label(f, "version", SHOAL_VERSION, false);
	fputs("} 1\n", f);
	family(f, "shoal_node_drops_total", "counter",
	       "Packets dropped (or, on the underlay, seen and passed) that no local container can be charged with, by reason.");
	for (int r = 0; r < SHOAL_DROP_MAX; r++) {
		fputs("shoal_node_drops_total{", f);
		put_label(f, "node", node, true);
		put_label(f, "reason", shoal_drop_names[r], false);
		fprintf(f, "} %llu\n", (unsigned long long)ns.drops[r]);
	}
	one(f, "shoal_node_vxlan_rx_packets_total", "counter", "VXLAN packets decapsulated and delivered.", node, ns.rx_vxlan_packets);
	one(f, "shoal_node_vxlan_rx_bytes_total", "counter", "Bytes of VXLAN packets decapsulated (outer length).", node, ns.rx_vxlan_bytes);
	one(f, "shoal_node_vxlan_tx_packets_total", "counter", "Packets encapsulated in VXLAN and sent.", node, ns.tx_vxlan_packets);
	one(f, "shoal_node_vxlan_tx_bytes_total", "counter", "Bytes of encapsulated packets sent (outer length).", node, ns.tx_vxlan_bytes);
	one(f, "shoal_node_nat_dnat_packets_total", "counter", "Packets to a published port translated to the container.", node, ns.nat_dnat_packets);
	one(f, "shoal_node_nat_revdnat_packets_total", "counter", "Container replies translated back to the published address.", node, ns.nat_revdnat_packets);
	one(f, "shoal_node_nat_snat_packets_total", "counter", "Container packets masqueraded to an external address.", node, ns.nat_snat_packets);
	one(f, "shoal_node_nat_revsnat_packets_total", "counter", "Replies to masqueraded flows translated back to the container.", node, ns.nat_revsnat_packets);
	one(f, "shoal_node_nat_hairpin_packets_total", "counter", "Container to published port through a host address, both ways.", node, ns.nat_hairpin_packets);

	one(f, "shoal_flow_accounting_enabled", "gauge", "1 if per-flow accounting is on.", node,
	    (cfg.flags & SHOAL_CFG_FLOWS) != 0);
	one(f, "shoal_flow_table_size", "gauge", "Capacity of the flow table (LRU).", node, cap);
	one(f, "shoal_flow_table_entries", "gauge", "Flows in the flow table.", node, entries);
	family(f, "shoal_flow_table_fill_ratio", "gauge", "Flow table entries / capacity.");
	fputs("shoal_flow_table_fill_ratio{", f);
	put_label(f, "node", node, true);
	fprintf(f, "} %.6f\n", cap ? (double)entries / cap : 0.0);
	one(f, "shoal_flows_created_total", "counter", "Flow entries created by the data path.", node, os.flows_created);
	one(f, "shoal_flows_evicted_total", "counter",
	    "Flow entries evicted by the LRU to make room (created - entries).", node,
	    os.flows_created > entries ? os.flows_created - entries : 0);
	one(f, "shoal_flow_insert_failures_total", "counter",
	    "Flows not tracked because the table was full and nothing could be evicted.", node, os.flows_failed);

	one(f, "shoal_events_sent_total", "counter", "Events written to the ring buffer.", node, os.ev_sent);
	family(f, "shoal_events_lost_total", "counter",
	       "Events not delivered, by cause: ring_full (reader too slow), rate_limited (per-CPU limit), slow_reader (a monitor client too slow).");
	fputs("shoal_events_lost_total{", f);
	put_label(f, "node", node, true);
	fprintf(f, ",cause=\"ring_full\"} %llu\n", (unsigned long long)os.ev_lost);
	fputs("shoal_events_lost_total{", f);
	put_label(f, "node", node, true);
	fprintf(f, ",cause=\"rate_limited\"} %llu\n", (unsigned long long)os.ev_ratelimited);
	fputs("shoal_events_lost_total{", f);
	put_label(f, "node", node, true);
	fprintf(f, ",cause=\"slow_reader\"} %llu\n",
		proc_counter(d, o, "events_slow_reader", d->obs ? d->obs->slow_reader_drops : 0));
	{
		unsigned long long nsubs = 0;

		if (d->obs) {
			pthread_mutex_lock(&d->obs->mu);
			nsubs = obs_sub_count(d->obs);
			pthread_mutex_unlock(&d->obs->mu);
		}
		one(f, "shoal_monitor_clients", "gauge", "Event streams (shoal monitor) being served.",
		    node, nsubs);
	}
	family(f, "shoal_events_read_total", "counter", "Events read from the ring buffer by the daemon, by type.");
	{
		static const char *const tn[4] = { NULL, "drop", "flow_start", "flow_end" };

		for (int t = 1; t < 4; t++) {
			char key[64];
			unsigned long long cur = 0;

			if (d->obs) {
				pthread_mutex_lock(&d->obs->mu);
				cur = d->obs->ev_read[t];
				pthread_mutex_unlock(&d->obs->mu);
			}
			snprintf(key, sizeof(key), "events_read_%s", tn[t]);
			fputs("shoal_events_read_total{", f);
			put_label(f, "node", node, true);
			put_label(f, "type", tn[t], false);
			fprintf(f, "} %llu\n", proc_counter(d, o, key, cur));
		}
	}
}

/* "UdpPacketsIn" -> "udp_packets_in" */
static void snake(const char *in, char *out, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; in[i] && k + 2 < len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z') {
			if (i)
				out[k++] = '_';
			c = (char)(c - 'A' + 'a');
		}
		out[k++] = c;
	}
	out[k] = '\0';
}

static void emit_gossip(struct daemon *d, struct out *o, const char *node)
{
	json_t *g = swarm_gossip_counters_json(d), *v, *rej;
	const char *k;
	FILE *f = o->f;

	if (!g)
		return;
	json_object_foreach(g, k, v) {
		char sn[64], name[96], key[128];

		if (!json_is_integer(v))
			continue;
		snake(k, sn, sizeof(sn));
		snprintf(name, sizeof(name), "shoal_gossip_%s_total", sn);
		snprintf(key, sizeof(key), "gossip_%s", sn);
		family(f, name, "counter", "Gossip (swarm mode) counter, see shoal info.");
		fprintf(f, "%s{", name);
		put_label(f, "node", node, true);
		fprintf(f, "} %llu\n", proc_counter(d, o, key, (unsigned long long)json_integer_value(v)));
	}
	rej = json_object_get(g, "Rejects");
	if (json_is_object(rej)) {
		family(f, "shoal_gossip_rejects_total", "counter",
		       "Gossip packets rejected (forged, replayed, unknown key...), by reason.");
		json_object_foreach(rej, k, v) {
			char key[128];

			snprintf(key, sizeof(key), "gossip_rejects_%s", k);
			fputs("shoal_gossip_rejects_total{", f);
			put_label(f, "node", node, true);
			put_label(f, "reason", k, false);
			fprintf(f, "} %llu\n",
				proc_counter(d, o, key, (unsigned long long)json_integer_value(v)));
		}
	}
	json_decref(g);
}

/* External key-value store discovery (cluster-store), when in use. */
static void emit_kv(struct daemon *d, struct out *o, const char *node)
{
	static const struct {
		const char *field, *name, *help;
	} ctr[] = {
		{ "Events", "shoal_kv_events_total", "Key-value store watch events applied." },
		{ "Resyncs", "shoal_kv_resyncs_total", "Full resynchronisations with the key-value store." },
		{ "Failures", "shoal_kv_failures_total", "Failed key-value store requests." },
	};
	json_t *kv;
	FILE *f = o->f;

	if (!kvdisc_active(d))
		return;
	kv = kvdisc_info_json(d);
	if (!json_is_object(kv)) {
		json_decref(kv);
		return;
	}
	for (size_t i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++) {
		char key[64];

		snprintf(key, sizeof(key), "kv_%s", ctr[i].field);
		family(f, ctr[i].name, "counter", ctr[i].help);
		fprintf(f, "%s{", ctr[i].name);
		put_label(f, "node", node, true);
		fprintf(f, "} %llu\n", proc_counter(d, o, key,
						   (unsigned long long)json_integer_value(json_object_get(kv, ctr[i].field))));
	}
	one(f, "shoal_kv_healthy", "gauge", "1 while the key-value store answers.", node,
	    !strcmp(json_string_value(json_object_get(kv, "Status")) ?: "", "healthy"));
	one(f, "shoal_kv_nodes", "gauge", "Nodes registered in the key-value store.", node,
	    json_array_size(json_object_get(kv, "Nodes")));
	json_decref(kv);
}

/* Store base + current of every process counter (d->lock held). */
static void save_counters(struct daemon *d, json_t *saved)
{
	char *s = json_dumps(saved, JSON_COMPACT | JSON_SORT_KEYS);

	if (!s)
		return;
	if (state_begin(d->st, NULL) == 0) {
		if (state_meta_set(d->st, META_KEY, s, NULL) == 0)
			state_commit(d->st, NULL);
		else
			state_rollback(d->st);
	}
	free(s);
}

/* The whole exposition into a memfd; returns the fd (size in *size). */
static int metrics_render(struct daemon *d, uint64_t *size)
{
	struct out o = { 0 };
	const char *node = d->cfg.node_name;
	int fd = memfd_create("shoal-metrics", MFD_CLOEXEC);
	long end;

	if (fd < 0)
		return -errno;
	o.f = fdopen(dup(fd), "w");
	o.saved = json_object();
	if (!o.f || !o.saved) {
		close(fd);
		if (o.f)
			fclose(o.f);
		json_decref(o.saved);
		return -ENOMEM;
	}
	pthread_mutex_lock(&d->lock);
	emit_endpoints(d, &o, node);
	emit_node(d, &o, node);
	emit_gossip(d, &o, node);
	emit_kv(d, &o, node);
	save_counters(d, o.saved);
	pthread_mutex_unlock(&d->lock);
	json_decref(o.saved);
	fflush(o.f);
	end = ftell(o.f);
	fclose(o.f);
	if (end < 0) {
		close(fd);
		return -EIO;
	}
	lseek(fd, 0, SEEK_SET);
	*size = (uint64_t)end;
	return fd;
}

void metrics_save(struct daemon *d)
{
	uint64_t size;
	int fd = metrics_render(d, &size); /* renders = saves, under d->lock */

	if (fd >= 0)
		close(fd);
}

void api_metrics(const struct api_req *q, struct reply *r)
{
	uint64_t size = 0;
	int fd;

	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0)
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	fd = metrics_render(q->d, &size);
	if (fd < 0)
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics");
	r->status = MHD_HTTP_OK;
	r->fd = fd;
	r->fd_size = size;
	r->content_type = CONTENT_TYPE;
}

/* ---- the TCP listener: GET /metrics only ---- */

static enum MHD_Result on_metrics(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static int first;
	struct daemon *d = cls;
	struct MHD_Response *resp;
	enum MHD_Result ok;
	unsigned int status = MHD_HTTP_OK;
	uint64_t size = 0;
	int fd;

	(void)version;
	(void)upload;
	if (*con_cls != &first) {
		*con_cls = &first;
		return MHD_YES;
	}
	*upload_size = 0;
	if (strcmp(url, "/metrics") != 0) {
		static const char nf[] = "404 page not found\n";

		resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_FOUND;
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char na[] = "method not allowed\n";

		resp = MHD_create_response_from_buffer(sizeof(na) - 1, (void *)na, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else {
		fd = metrics_render(d, &size);
		if (fd < 0)
			return MHD_NO;
		resp = MHD_create_response_from_fd64(size, fd);
		if (resp)
			MHD_add_response_header(resp, "Content-Type", CONTENT_TYPE);
	}
	if (!resp)
		return MHD_NO;
	ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ok;
}

int metrics_listen(struct daemon *d, struct shoal_err *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *addr = d->cfg.metrics_addr, *colon;
	char ip[32];
	char *s = NULL;

	/* The counter bases of the previous run (see the header comment). */
	if (state_meta_get(d->st, META_KEY, &s, NULL) == 0 && s) {
		d->obs->counter_base = json_loads(s, 0, NULL);
		free(s);
	}
	if (!json_is_object(d->obs->counter_base)) {
		json_decref(d->obs->counter_base);
		d->obs->counter_base = json_object();
	}
	if (!addr[0])
		return 0;
	colon = strrchr(addr, ':');
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - addr), addr);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	d->obs->metrics_mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
						       MHD_USE_THREAD_PER_CONNECTION |
						       MHD_USE_ERROR_LOG,
					       0, NULL, NULL, on_metrics, d, MHD_OPTION_SOCK_ADDR,
					       (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
					       (unsigned int)30, MHD_OPTION_END);
	if (!d->obs->metrics_mhd)
		return err_set(err, EADDRINUSE, "metrics-addr %s: cannot listen there", addr);
	log_info("metrics on http://%s/metrics", addr);
	return 0;
}
