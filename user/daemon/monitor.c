// SPDX-License-Identifier: Apache-2.0
/*
 * monitor.c - the events reader behind `shoal monitor`.
 *
 * One thread drains the `events` ring buffer (bpf/lib/events.h) all the
 * time, subscribers or not, so the ring never sits full. Each event
 * becomes one JSON line, written to every subscriber whose filter (type,
 * endpoints) it passes. A subscriber is a pipe whose read end is the
 * body of a GET /shoal/monitor response (http.c streams it); the write
 * end is non-blocking and every line is shorter than PIPE_BUF, so a
 * slow client loses whole lines, counted and reported to it in a "lost"
 * line, and never slows the reader or grows daemon memory.
 *
 * What the kernel side could not deliver is reported too: once a
 * second, if obs_stats shows events lost on a full ring or refused by
 * the per-CPU rate limit, every subscriber gets a "lost" line with the
 * increments (cilium monitor's "Lost N events").
 *
 * Names: events carry an ep_id; the reader maps it with a snapshot of
 * the local endpoints refreshed every 2 s with a trylock on d->lock
 * (never waiting behind a long API call).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "../common/log.h"
#include "../common/names.h"
#include "../common/util.h"
#include "daemon.h"
#include "obs.h"

#define TYPE_DROP (1u << SHOAL_EV_DROP)
#define TYPE_FLOW ((1u << SHOAL_EV_FLOW_START) | (1u << SHOAL_EV_FLOW_END))

struct obs_sub {
	int fd;               /* write end, O_NONBLOCK */
	unsigned int types;   /* TYPE_* */
	uint32_t *ep_ids;     /* NULL = every endpoint (and the node) */
	size_t n_ep;
	uint64_t missed;      /* lines lost since the last one written */
	bool dead;
	struct obs_sub *next;
};

uint64_t obs_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void obs_mono_to_rfc3339(uint64_t ts_ns, char *buf, size_t len)
{
	struct timespec rt;
	uint64_t now_mono = obs_mono_ns(), wall;
	time_t secs;
	struct tm tm;
	char d[32];

	clock_gettime(CLOCK_REALTIME, &rt);
	wall = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
	if (ts_ns && ts_ns <= now_mono)
		wall -= now_mono - ts_ns;
	secs = (time_t)(wall / 1000000000ULL);
	gmtime_r(&secs, &tm);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lluZ", d, (unsigned long long)(wall % 1000000000ULL));
}

const char *obs_src_file_name(unsigned int id)
{
	static const char *const names[SHOAL_SRC_MAX] = {
		[SHOAL_SRC_UNKNOWN] = "?", [SHOAL_SRC_ENTRY] = "shoal.bpf.c",
		[SHOAL_SRC_LXC] = "lxc.h", [SHOAL_SRC_UNDERLAY] = "underlay.h",
		[SHOAL_SRC_NAT] = "nat.h",
	};
	return id < SHOAL_SRC_MAX ? names[id] : "?";
}

const char *obs_proto_name(unsigned int proto, char *buf, size_t len)
{
	switch (proto) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

void obs_ep_name(struct daemon *d, const struct st_endpoint *e, char *buf, size_t len)
{
	const char *base = strrchr(e->netns, '/');

	if (e->container_id[0]) {
		/* The container's name; its short id if it is gone. */
		if (ctr_name_of(d, e->container_id, buf, len))
			return;
		snprintf(buf, len, "%.12s", e->container_id);
		return;
	}
	snprintf(buf, len, "%s", base ? base + 1 : e->netns);
}

bool obs_ep_match(const struct obs_ep *ep, const char *ref)
{
	size_t n = strlen(ref);
	const char *base = strrchr(ep->netns, '/');

	if (!n)
		return false;
	if (!strcmp(ep->name, ref) || !strcmp(ep->netns, ref) || (base && !strcmp(base + 1, ref)))
		return true;
	if (ep->container_id[0] && !strncmp(ep->container_id, ref, n))
		return true;
	return !strncmp(ep->id, ref, n);
}

int obs_ep_snapshot(struct daemon *d, struct obs_ep **out, size_t *n, struct shoal_err *err)
{
	struct st_network *nets = NULL;
	struct st_endpoint *eps = NULL;
	struct obs_ep *v;
	size_t nn = 0, ne = 0, k = 0;
	int ret;

	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret < 0)
		return ret;
	ret = state_endpoint_list(d->st, NULL, &eps, &ne, err);
	if (ret < 0) {
		st_network_list_free(nets, nn);
		return ret;
	}
	v = calloc(ne + 1, sizeof(*v));
	if (!v) {
		free(eps);
		st_network_list_free(nets, nn);
		return err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < ne; i++) {
		const struct st_endpoint *e = &eps[i];
		struct obs_ep *o = &v[k];

		if (e->remote)
			continue;
		o->ep_id = e->ep_id;
		o->ip = e->ip;
		snprintf(o->id, sizeof(o->id), "%s", e->id);
		snprintf(o->container_id, sizeof(o->container_id), "%s", e->container_id);
		snprintf(o->netns, sizeof(o->netns), "%s", e->netns);
		obs_ep_name(d, e, o->name, sizeof(o->name));
		for (size_t j = 0; j < nn; j++)
			if (!strcmp(nets[j].id, e->network_id))
				snprintf(o->network, sizeof(o->network), "%s", nets[j].name);
		k++;
	}
	free(eps);
	st_network_list_free(nets, nn);
	*out = v;
	*n = k;
	return 0;
}

static const struct obs_ep *ep_find(struct obs *o, uint32_t ep_id)
{
	for (size_t i = 0; i < o->n_eps; i++)
		if (o->eps[i].ep_id == ep_id)
			return &o->eps[i];
	return NULL;
}

/*
 * wait: take d->lock even if busy (an API handler, which holds nothing
 * else); the reader thread never waits for it (it would stall the ring).
 */
static void refresh_eps(struct obs *o, bool wait)
{
	struct daemon *d = o->d;
	struct obs_ep *eps = NULL;
	size_t n = 0;
	uint64_t now = obs_mono_ns() / 1000000ULL;

	if (!wait && now - o->eps_refreshed_ms < 2000)
		return;
	if (wait)
		pthread_mutex_lock(&d->lock);
	else if (pthread_mutex_trylock(&d->lock) != 0)
		return;
	if (obs_ep_snapshot(d, &eps, &n, NULL) < 0) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_lock(&o->mu);
	free(o->eps);
	o->eps = eps;
	o->n_eps = n;
	o->eps_refreshed_ms = now;
	pthread_mutex_unlock(&o->mu);
}

static void addr_port(char *buf, size_t len, uint32_t ip, uint16_t port_nbo, bool ports)
{
	char a[16];

	if (ports)
		snprintf(buf, len, "%s:%u", util_ipv4_str(ip, a), ntohs(port_nbo));
	else
		snprintf(buf, len, "%s", util_ipv4_str(ip, a));
}

static void tcp_flags_str(unsigned int f, char *buf, size_t len)
{
	static const char *const names[8] = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR" };
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < 8; i++)
		if (f & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i]);
}

/* The JSON line of one event (o->mu held: reads the endpoint snapshot). */
static char *event_line(struct obs *o, const struct shoal_event *ev, const struct shoal_flow_val *sum)
{
	const struct obs_ep *ep = ev->ep_id ? ep_find(o, ev->ep_id) : NULL;
	char t[48], src[32], dst[32], pb[8], where[48], flags[40], sip[16], dip[16];
	bool ports = ev->proto == 6 || ev->proto == 17;
	const char *type;
	json_t *j, *epj;
	char *s;

	obs_mono_to_rfc3339(ev->ts_ns, t, sizeof(t));
	addr_port(src, sizeof(src), ev->saddr, ev->sport, ports);
	addr_port(dst, sizeof(dst), ev->daddr, ev->dport, ports);
	if (ep)
		epj = json_pack("{s:I, s:s, s:s, s:s, s:s}", "EpID", (json_int_t)ev->ep_id, "ID",
				ep->id, "Name", ep->name, "Container", ep->container_id, "Network",
				ep->network);
	else
		epj = json_pack("{s:I, s:s}", "EpID", (json_int_t)ev->ep_id, "Name",
				ev->ep_id ? "" : "(node)");
	type = ev->type == SHOAL_EV_DROP ? "drop" :
	       ev->type == SHOAL_EV_FLOW_START ? "flow-start" : "flow-end";
	j = json_pack("{s:s, s:s, s:o, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "Type", type,
		      "Time", t, "Endpoint", epj, "Ifindex", (json_int_t)ev->ifindex, "Proto",
		      ev->l3_proto == 0x0806 ? "arp" :
		      ev->l3_proto == 0x0800 ? obs_proto_name(ev->proto, pb, sizeof(pb)) : "other",
		      "Src", src, "Dst", dst, "SrcIP", util_ipv4_str(ev->saddr, sip), "SrcPort",
		      (json_int_t)(ports ? ntohs(ev->sport) : 0), "DstPort",
		      (json_int_t)(ports ? ntohs(ev->dport) : 0), "Length", (json_int_t)ev->len);
	if (!j)
		return NULL;
	json_object_set_new(j, "DstIP", json_string(util_ipv4_str(ev->daddr, dip)));
	json_object_set_new(j, "L3Proto", json_integer(ev->l3_proto));
	if (ev->type == SHOAL_EV_DROP) {
		snprintf(where, sizeof(where), "%s:%u", obs_src_file_name(ev->src_file), ev->src_line);
		json_object_set_new(j, "Reason", json_string(ev->reason < SHOAL_DROP_MAX ?
							     shoal_drop_names[ev->reason] : "?"));
		json_object_set_new(j, "Source", json_string(where));
	} else {
		tcp_flags_str(ev->tcp_flags, flags, sizeof(flags));
		json_object_set_new(j, "Direction",
				    json_string(ev->dir == SHOAL_FLOW_INGRESS ? "ingress" : "egress"));
		json_object_set_new(j, "TCPFlags", json_string(flags));
		json_object_set_new(j, "Packets", json_integer((json_int_t)(sum ? sum->packets : ev->packets)));
		json_object_set_new(j, "Bytes", json_integer((json_int_t)(sum ? sum->bytes : ev->bytes)));
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* Write one line to a subscriber; all or nothing (line < PIPE_BUF). */
static bool sub_write(struct obs_sub *s, const char *line, size_t len)
{
	ssize_t w;

	do
		w = write(s->fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)len)
		return true;
	if (w < 0 && errno == EPIPE)
		s->dead = true;
	return false;
}

static void sub_send(struct obs *o, struct obs_sub *s, const char *line)
{
	char lost[160];
	size_t len = strlen(line);

	if (s->dead)
		return;
	if (s->missed) {
		int n = snprintf(lost, sizeof(lost),
				 "{\"Type\":\"lost\",\"SlowReader\":%llu,\"RingFull\":0,\"RateLimited\":0}\n",
				 (unsigned long long)s->missed);
		if (!sub_write(s, lost, (size_t)n)) {
			s->missed++;
			o->slow_reader_drops++;
			return;
		}
		s->missed = 0;
	}
	if (!sub_write(s, line, len) && !s->dead) {
		s->missed++;
		o->slow_reader_drops++;
	}
}

static bool sub_wants(const struct obs_sub *s, const struct shoal_event *ev)
{
	if (!(s->types & (1u << ev->type)))
		return false;
	if (!s->ep_ids)
		return true;
	for (size_t i = 0; i < s->n_ep; i++)
		if (s->ep_ids[i] == ev->ep_id)
			return true;
	return false;
}

size_t obs_sub_count(struct obs *o)
{
	size_t n = 0;

	for (struct obs_sub *s = o->subs; s; s = s->next)
		n += !s->dead;
	return n;
}

static void subs_reap(struct obs *o)
{
	struct obs_sub **pp = &o->subs;

	while (*pp) {
		struct obs_sub *s = *pp;

		if (s->dead) {
			*pp = s->next;
			close(s->fd);
			free(s->ep_ids);
			free(s);
			continue;
		}
		pp = &s->next;
	}
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct obs *o = ctx;
	const struct shoal_event *ev = data;
	struct shoal_flow_val sum, *sp = NULL;
	char *line;
	size_t len;

	if (size < sizeof(*ev) || ev->type < SHOAL_EV_DROP || ev->type > SHOAL_EV_FLOW_END)
		return 0;
	if (ev->type == SHOAL_EV_FLOW_END) {
		/* The event carries one CPU's counters; the map has all. */
		struct shoal_flow_key k = { .ep_id = ev->ep_id, .saddr = ev->saddr,
					    .daddr = ev->daddr, .sport = ev->sport,
					    .dport = ev->dport, .proto = ev->proto, .dir = ev->dir };
		if (loader_flow_read(&o->d->bpf, &k, &sum, NULL) == 0)
			sp = &sum;
	}
	pthread_mutex_lock(&o->mu);
	o->ev_read[ev->type]++;
	if (!o->subs) {
		pthread_mutex_unlock(&o->mu);
		return 0;
	}
	line = event_line(o, ev, sp);
	if (line) {
		len = strlen(line);
		line = realloc(line, len + 2);
		if (line) {
			line[len] = '\n';
			line[len + 1] = '\0';
			for (struct obs_sub *s = o->subs; s; s = s->next)
				if (sub_wants(s, ev))
					sub_send(o, s, line);
		}
	}
	subs_reap(o);
	pthread_mutex_unlock(&o->mu);
	free(line);
	return 0;
}

/* Once a second: tell subscribers what the kernel could not deliver. */
static void report_kernel_losses(struct obs *o, struct shoal_obs_stats *last)
{
	struct shoal_obs_stats now;
	char line[200];

	if (loader_obs_stats_read(&o->d->bpf, &now, NULL) < 0)
		return;
	if (now.ev_lost == last->ev_lost && now.ev_ratelimited == last->ev_ratelimited)
		return;
	snprintf(line, sizeof(line),
		     "{\"Type\":\"lost\",\"SlowReader\":0,\"RingFull\":%llu,\"RateLimited\":%llu}\n",
		     (unsigned long long)(now.ev_lost - last->ev_lost),
		     (unsigned long long)(now.ev_ratelimited - last->ev_ratelimited));
	*last = now;
	pthread_mutex_lock(&o->mu);
	for (struct obs_sub *s = o->subs; s; s = s->next)
		sub_send(o, s, line);
	subs_reap(o);
	pthread_mutex_unlock(&o->mu);
}

/*
 * Every second a keepalive line to every subscriber: the HTTP
 * server only notices a client that went away when it writes to it, so
 * without traffic an abandoned stream would hold its connection thread
 * until the next event. Clients skip these lines.
 */
static void keepalive(struct obs *o)
{
	static const char line[] = "{\"Type\":\"keepalive\"}\n";

	pthread_mutex_lock(&o->mu);
	for (struct obs_sub *s = o->subs; s; s = s->next)
		sub_write(s, line, sizeof(line) - 1);
	subs_reap(o);
	pthread_mutex_unlock(&o->mu);
}

static void *reader_main(void *arg)
{
	struct obs *o = arg;
	struct shoal_obs_stats last = { 0 };
	uint64_t next_report = 0, next_keepalive = 0;

	loader_obs_stats_read(&o->d->bpf, &last, NULL);
	while (!o->stop) {
		uint64_t now;
		int rc = ring_buffer__poll(o->rb, 250);

		if (rc < 0 && rc != -EINTR) {
			log_error("events: ring buffer poll: %s", strerror(-rc));
			usleep(250 * 1000);
		}
		refresh_eps(o, false);
		now = obs_mono_ns();
		if (now >= next_report) {
			report_kernel_losses(o, &last);
			next_report = now + 1000000000ULL;
		}
		if (now >= next_keepalive) {
			keepalive(o);
			next_keepalive = now + 1000000000ULL;
		}
	}
	return NULL;
}

int obs_start(struct daemon *d, struct shoal_err *err)
{
	struct obs *o = calloc(1, sizeof(*o));
	int ret;

	if (!o)
		return err_set(err, ENOMEM, "out of memory");
	o->d = d;
	pthread_mutex_init(&o->mu, NULL);
	d->obs = o;
	o->rb = ring_buffer__new(loader_events_fd(&d->bpf), on_event, o, NULL);
	if (!o->rb)
		return err_set(err, errno, "events ring buffer: %s", strerror(errno));
	pthread_mutex_lock(&d->lock);
	ret = obs_ep_snapshot(d, &o->eps, &o->n_eps, err);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		return ret;
	o->eps_refreshed_ms = obs_mono_ns() / 1000000ULL;
	ret = pthread_create(&o->thread, NULL, reader_main, o);
	if (ret)
		return err_set(err, ret, "events reader thread: %s", strerror(ret));
	o->running = true;
	return metrics_listen(d, err);
}

void obs_stop(struct daemon *d)
{
	struct obs *o = d->obs;

	if (!o)
		return;
	o->stop = true;
	if (o->running)
		pthread_join(o->thread, NULL);
	o->running = false;
	if (o->metrics_mhd)
		MHD_stop_daemon(o->metrics_mhd);
	o->metrics_mhd = NULL;
	/* End every monitor stream: their readers see EOF. */
	pthread_mutex_lock(&o->mu);
	for (struct obs_sub *s = o->subs; s; s = s->next)
		s->dead = true;
	subs_reap(o);
	pthread_mutex_unlock(&o->mu);
}

/* ---- GET /shoal/monitor?type=drop|flow|all&container=A,B ---- */

static int parse_types(const char *v, unsigned int *types)
{
	char buf[64], *save = NULL, *tok;

	*types = 0;
	if (!v || !*v) {
		*types = TYPE_DROP | TYPE_FLOW;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "drop"))
			*types |= TYPE_DROP;
		else if (!strcmp(tok, "flow"))
			*types |= TYPE_FLOW;
		else if (!strcmp(tok, "all"))
			*types |= TYPE_DROP | TYPE_FLOW;
		else
			return -1;
	}
	return *types ? 0 : -1;
}

void api_monitor(const struct api_req *q, struct reply *r)
{
	struct daemon *d = q->d;
	struct obs *o = d->obs;
	struct obs_sub *s;
	const char *cont = api_query(q, "container");
	struct shoal_node_cfg cfg = { 0 };
	unsigned int types;
	char msg[512], start[256];
	int p[2], n;

	if (strcmp(q->method, "GET") != 0)
		return api_reply_msg(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (!o || o->stop)
		return api_reply_msg(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the events reader is not running");
	if (parse_types(api_query(q, "type"), &types) < 0) {
		snprintf(msg, sizeof(msg), "invalid event type \"%s\": expected drop, flow or all",
			 api_query(q, "type"));
		return api_reply_msg(r, MHD_HTTP_BAD_REQUEST, msg);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	s->types = types;
	refresh_eps(o, true);
	if (cont && *cont) {
		char buf[1024], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", cont);
		pthread_mutex_lock(&o->mu);
		s->ep_ids = calloc(o->n_eps + 1, sizeof(*s->ep_ids));
		for (tok = strtok_r(buf, ",", &save); tok && s->ep_ids; tok = strtok_r(NULL, ",", &save)) {
			bool found = false;

			for (size_t i = 0; i < o->n_eps; i++)
				if (obs_ep_match(&o->eps[i], tok)) {
					s->ep_ids[s->n_ep++] = o->eps[i].ep_id;
					found = true;
					break;
				}
			if (!found) {
				pthread_mutex_unlock(&o->mu);
				free(s->ep_ids);
				free(s);
				snprintf(msg, sizeof(msg), "No such container: %s", tok);
				return api_reply_msg(r, MHD_HTTP_NOT_FOUND, msg);
			}
		}
		pthread_mutex_unlock(&o->mu);
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(s->ep_ids);
		free(s);
		return api_reply_msg(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot create a pipe");
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETPIPE_SZ, 256 * 1024);
	s->fd = p[1];
	loader_get_node_cfg(&d->bpf, &cfg, NULL);
	/* The first line: what is being listened to (and flushes headers). */
	n = snprintf(start, sizeof(start),
		     "{\"Type\":\"start\",\"CPUs\":%d,\"RingBytes\":%d,\"RateLimit\":%d,"
		     "\"DropEvents\":%s,\"FlowEvents\":%s}\n",
		     d->bpf.ncpus, SHOAL_EVENTS_RING_SIZE, d->cfg.event_rate_limit,
		     (cfg.flags & SHOAL_CFG_EV_DROP) ? "true" : "false",
		     (cfg.flags & SHOAL_CFG_EV_FLOW) ? "true" : "false");
	if (write(p[1], start, (size_t)n) != n)
		log_warn("monitor: cannot write the start line");
	pthread_mutex_lock(&o->mu);
	s->next = o->subs;
	o->subs = s;
	pthread_mutex_unlock(&o->mu);
	r->status = MHD_HTTP_OK;
	r->stream_fd = p[0];
	r->content_type = "application/x-ndjson";
}
