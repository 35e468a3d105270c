// SPDX-License-Identifier: Apache-2.0
/*
 * gossip.c - the gossip node: sockets, the gossip thread (UDP receive,
 * timers, gossip rounds, callbacks), events, and the API of gossip.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../common/util.h"

#define RBUF 65536

/* Scratch buffers of the gossip thread / of senders (under mu). */
struct gbufs {
	uint8_t rx[RBUF], plain[RBUF];
	uint8_t pay[RBUF], seal[RBUF], take[RBUF];
};

static struct gbufs *bufs_of(struct gossip *g);

uint64_t gossip_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t gossip_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint32_t gossip_rand(struct gossip *g)
{
	/* xorshift32: member selection only, seeded from randombytes */
	uint32_t x = g->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	g->rng = x ? x : 0x9e3779b9u;
	return g->rng;
}

void gossip_addr(uint32_t ip, uint16_t port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = ip;
	sa->sin_port = htons(port);
}

void gossip_config_defaults(struct gossip_config *c)
{
	memset(c, 0, sizeof(*c));
	c->bind_port = GOSSIP_DEFAULT_PORT;
	c->label = "";
	c->probe_interval_ms = 1000;
	c->probe_timeout_ms = 500;
	c->gossip_interval_ms = 200;
	c->gossip_nodes = 3;
	c->indirect_checks = 3;
	c->suspicion_mult = 4;
	c->suspicion_max_mult = 6;
	c->retransmit_mult = 4;
	c->push_pull_interval_ms = 30000;
	c->dead_reap_ms = 30000;
	c->tombstone_reap_ms = 600000;
	c->mtu = 1400;
	c->tcp_timeout_ms = 10000;
	c->replay_window_ms = 30000;
	c->replay_cache = 16384;
	c->ae_quiet_ms = 1000;
	c->ae_min_gap_ms = 2000;
	c->eager_delay_ms = 2;
	c->claim_settled_ms = 3000;
}

const char *gossip_state_name(enum gossip_state s)
{
	static const char *const n[] = { "alive", "suspect", "dead", "left" };

	return (unsigned)s < ARRAY_SIZE(n) ? n[s] : "?";
}

/* ------------------------------------------------------------ events */

void gossip_event(struct gossip *g, const struct gevent *ev)
{
	if (g->nev == g->capev) {
		size_t nc = g->capev ? g->capev * 2 : 32;
		struct gevent *nv = realloc(g->ev, nc * sizeof(*nv));

		if (!nv)
			return;
		g->ev = nv;
		g->capev = nc;
	}
	g->ev[g->nev++] = *ev;
}

/* Callbacks run here, on the gossip thread, without the lock. */
static void dispatch(struct gossip *g)
{
	struct gevent *ev;
	size_t n;

	pthread_mutex_lock(&g->mu);
	ev = g->ev;
	n = g->nev;
	g->ev = NULL;
	g->nev = g->capev = 0;
	pthread_mutex_unlock(&g->mu);
	for (size_t i = 0; i < n; i++) {
		const struct gossip_callbacks *cb = &g->cfg.cb;

		switch (ev[i].type) {
		case EV_MEMBER:
			if (cb->member_changed)
				cb->member_changed(cb->ctx, &ev[i].m);
			break;
		case EV_ENTRY:
			if (cb->entry_changed)
				cb->entry_changed(cb->ctx, &ev[i].e, ev[i].deleted);
			break;
		case EV_LOST:
			if (cb->claim_lost)
				cb->claim_lost(cb->ctx, &ev[i].e, &ev[i].winner);
			break;
		}
	}
	free(ev);
}

void gossip_wake(struct gossip *g)
{
	uint64_t one = 1;

	if (write(g->wake_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the thread is awake anyway */
	}
}

/* ------------------------------------------------------------ sending */

static size_t seal_overhead(struct gossip *g)
{
	return KEYRING_OVERHEAD + 1 + strlen(g->name) + 8;
}

static void send_raw(struct gossip *g, const struct sockaddr_in *dst, const uint8_t *pay,
		     size_t len)
{
	struct gbufs *b = bufs_of(g);
	ssize_t sl = keyring_seal(g->kr, g->label, g->name, gossip_wall_ms(), pay, len, b->seal,
				  sizeof(b->seal));

	if (sl < 0)
		return;
	if (sendto(g->udp, b->seal, (size_t)sl, MSG_DONTWAIT, (const struct sockaddr *)dst,
		   sizeof(*dst)) == sl) {
		STAT_ADD(g, udp_pkts_out, 1);
		STAT_ADD(g, udp_bytes_out, (uint64_t)sl);
	}
}

void gossip_send(struct gossip *g, const struct sockaddr_in *dst, const uint8_t *msg,
		 size_t len, bool piggyback)
{
	struct gbufs *b = bufs_of(g);
	const uint8_t *parts[GM_COMPOUND_MAX];
	size_t lens[GM_COMPOUND_MAX], n = 1, room;
	int cl;

	parts[0] = msg;
	lens[0] = len;
	room = g->cfg.mtu - seal_overhead(g) - GM_COMPOUND_HEADER;
	if (piggyback && g->bq.n && room > len + GM_COMPOUND_PER_PART)
		n += bq_take(&g->bq, mem_retransmit_limit(g), room - len - GM_COMPOUND_PER_PART,
			     GM_COMPOUND_PER_PART, b->take, sizeof(b->take), parts + 1, lens + 1,
			     GM_COMPOUND_MAX - 1);
	if (n == 1) {
		send_raw(g, dst, msg, len);
		return;
	}
	cl = gm_encode_compound(parts, lens, n, b->pay, sizeof(b->pay));
	if (cl > 0)
		send_raw(g, dst, b->pay, (size_t)cl);
}

void gossip_send_msg(struct gossip *g, const struct sockaddr_in *dst, const struct gmsg *m,
		     bool piggyback)
{
	uint8_t buf[512];
	int l = gm_encode(m, buf, sizeof(buf));

	if (l > 0)
		gossip_send(g, dst, buf, (size_t)l, piggyback);
}

void gossip_broadcast(struct gossip *g, const char *key, const struct gmsg *m)
{
	uint8_t buf[512];
	int l = gm_encode(m, buf, sizeof(buf));
	uint64_t now, at;

	if (l <= 0 || bq_push(&g->bq, key, buf, (size_t)l) <= 0)
		return;
	if (!g->cfg.eager_delay_ms)
		return;
	/* new news: an early round, coalesced, at most one per interval/8 */
	now = gossip_now_ms();
	at = now + g->cfg.eager_delay_ms;
	if (at < g->last_round + g->cfg.gossip_interval_ms / 8)
		at = g->last_round + g->cfg.gossip_interval_ms / 8;
	if (at < g->t_gossip && (!g->t_eager || at < g->t_eager))
		g->t_eager = at;
}

static void gossip_round(struct gossip *g, uint64_t now, bool eager)
{
	struct gbufs *b = bufs_of(g);
	struct member *t[16];
	size_t k = g->cfg.gossip_nodes < 16 ? g->cfg.gossip_nodes : 16, n;
	size_t budget = g->cfg.mtu - seal_overhead(g) - GM_COMPOUND_HEADER;

	g->last_round = now;
	if (!g->bq.n)
		return;
	n = mem_gossip_targets(g, t, k);
	STAT_ADD(g, gossip_rounds, 1);
	for (size_t i = 0; i < n && g->bq.n; i++) {
		const uint8_t *parts[GM_COMPOUND_MAX];
		size_t lens[GM_COMPOUND_MAX], np;
		struct sockaddr_in sa;
		int cl;

		if (eager)
			np = bq_take_eager(&g->bq, budget, GM_COMPOUND_PER_PART, b->take,
					   sizeof(b->take), parts, lens, GM_COMPOUND_MAX);
		else
			np = bq_take(&g->bq, mem_retransmit_limit(g), budget, GM_COMPOUND_PER_PART,
				     b->take, sizeof(b->take), parts, lens, GM_COMPOUND_MAX);
		if (!np)
			break;
		gossip_addr(t[i]->pub.ip, t[i]->pub.port, &sa);
		if (np == 1) {
			send_raw(g, &sa, parts[0], lens[0]);
			continue;
		}
		cl = gm_encode_compound(parts, lens, np, b->pay, sizeof(b->pay));
		if (cl > 0)
			send_raw(g, &sa, b->pay, (size_t)cl);
	}
	if (eager)
		bq_eager_done(&g->bq);
}

void gossip_sync_enqueue(struct gossip *g, const struct sockaddr_in *sa, bool digest_first)
{
	for (size_t i = 0; i < g->nsync; i++)
		if (g->syncq[i].sin_addr.s_addr == sa->sin_addr.s_addr &&
		    g->syncq[i].sin_port == sa->sin_port) {
			g->syncdig[i] = g->syncdig[i] && digest_first; /* full wins */
			return;
		}
	if (g->nsync == GOSSIP_SYNC_QUEUE)
		return;
	g->syncdig[g->nsync] = digest_first;
	g->syncq[g->nsync++] = *sa;
	pthread_cond_broadcast(&g->cond);
}

/* ------------------------------------------------------------ digest */

void gossip_digest_refresh(struct gossip *g, uint64_t now)
{
	uint64_t d;

	if (!g->digest_dirty)
		return;
	g->digest_dirty = false;
	d = table_digest(g);
	for (size_t i = 0; i < g->nm; i++) {
		struct gossip_member *m = &g->mv[i]->pub;
		uint64_t h = 0xcbf29ce484222325ULL;

		if (m->state != GOSSIP_ALIVE && m->state != GOSSIP_SUSPECT)
			continue;
		for (const char *p = m->name; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
		h = (h ^ m->incarnation) * 0x100000001b3ULL;
		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ULL;
		d ^= h ^ (h >> 32);
	}
	if (d != g->digest) {
		g->digest = d;
		g->digest_changed_ms = now;
	}
}

uint8_t gossip_digest_stable(struct gossip *g, uint64_t now)
{
	uint64_t ds = (now - g->digest_changed_ms) / 100;

	return ds > 255 ? 255 : (uint8_t)ds;
}

/* ------------------------------------------------------------ receiving */

static void handle_keyop(struct gossip *g, const struct gmsg *m, const struct sockaddr_in *src)
{
	struct gmsg ack = { .type = GM_KEYACK };
	int r = 0;

	switch (m->u.keyop.op) {
	case GM_KEY_INSTALL:
		r = keyring_install(g->kr, m->u.keyop.key, NULL);
		break;
	case GM_KEY_USE:
		r = keyring_use(g->kr, m->u.keyop.key, NULL);
		break;
	case GM_KEY_REMOVE:
		r = keyring_remove(g->kr, m->u.keyop.key, NULL);
		break;
	}
	ack.u.keyack.id = m->u.keyop.id;
	ack.u.keyack.result = r;
	gossip_send_msg(g, src, &ack, false);
}

static void handle_keyack(struct gossip *g, const struct gmsg *m, const char *sender)
{
	struct keyop_wait *k = &g->kop;

	if (!k->active || m->u.keyack.id != k->id)
		return;
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->names[i], sender) == 0 && k->result[i] == 1) {
			k->result[i] = m->u.keyack.result < 0 ? m->u.keyack.result : 0;
			pthread_cond_broadcast(&g->cond);
		}
}

static void handle_one(struct gossip *g, const uint8_t *p, size_t len, const char *sender,
		       const struct sockaddr_in *src, uint64_t now)
{
	struct gmsg m;

	if (gm_decode(p, len, &m) < 0) {
		STAT_ADD(g, decode_errors, 1);
		return;
	}
	switch (m.type) {
	case GM_ENTRY:
		if (table_apply(g, &m.u.entry, now) && strcmp(m.u.entry.owner, g->name) != 0) {
			char key[192];

			entry_key(&m.u.entry, key, sizeof(key));
			gossip_broadcast(g, key, &m); /* relay: infection style */
		}
		break;
	case GM_KEYOP:
		handle_keyop(g, &m, src);
		break;
	case GM_KEYACK:
		handle_keyack(g, &m, sender);
		break;
	case GM_PPDIGEST:
	case GM_PPSAME:
		break; /* TCP only */
	default:
		mem_handle(g, &m, sender, src, now);
	}
}

static void handle_datagram(struct gossip *g, const uint8_t *pkt, size_t len,
			    const struct sockaddr_in *src)
{
	struct gbufs *b = bufs_of(g);
	struct keyring_opened o;
	struct gm_parts parts;
	uint64_t now;

	STAT_ADD(g, udp_pkts_in, 1);
	STAT_ADD(g, udp_bytes_in, len);
	if (keyring_open(g->kr, g->guard, g->label, pkt, len, gossip_wall_ms(), b->plain,
			 sizeof(b->plain), &o) < 0)
		return; /* counted by the guard */
	if (strcmp(o.sender, g->name) == 0)
		return;
	now = gossip_now_ms();
	pthread_mutex_lock(&g->mu);
	if (gm_type(o.payload, o.len) == GM_COMPOUND) {
		if (gm_decode_compound(o.payload, o.len, &parts) < 0)
			STAT_ADD(g, decode_errors, 1);
		else
			for (size_t i = 0; i < parts.n; i++)
				handle_one(g, parts.p[i], parts.len[i], o.sender, src, now);
	} else {
		handle_one(g, o.payload, o.len, o.sender, src, now);
	}
	pthread_mutex_unlock(&g->mu);
}

/* ------------------------------------------------------------ timers */

static uint64_t pushpull_interval(struct gossip *g)
{
	size_t n = mem_num_alive(g);
	double mult = 1;

	/* memberlist's pushPullScale: slower above 32 members */
	if (n > 32)
		mult = gossip_ceil(gossip_ln((double)n / 32.0) / 0.69314718055994530942) + 1.0;
	return (uint64_t)(g->cfg.push_pull_interval_ms * mult);
}

static void keyop_timers(struct gossip *g, uint64_t now)
{
	struct keyop_wait *k = &g->kop;
	struct gmsg m = { .type = GM_KEYOP };

	if (!k->active || now < k->next_retx || now >= k->deadline)
		return;
	m.u.keyop.op = k->op;
	m.u.keyop.id = k->id;
	memcpy(m.u.keyop.key, k->key, KEYRING_KEY_LEN);
	for (size_t i = 0; i < k->n; i++)
		if (k->result[i] == 1)
			gossip_send_msg(g, &k->addrs[i], &m, false);
	sodium_memzero(&m, sizeof(m));
	k->next_retx = now + 200;
}

static uint64_t run_timers(struct gossip *g, uint64_t now)
{
	uint64_t next;

	mem_timers(g, now);
	if (now >= g->t_gossip) {
		gossip_round(g, now, false);
		g->t_gossip = now + g->cfg.gossip_interval_ms;
		g->t_eager = 0;
	} else if (g->t_eager && now >= g->t_eager) {
		STAT_ADD(g, eager_rounds, 1);
		gossip_round(g, now, true);
		g->t_eager = 0;
	}
	if (g->cfg.push_pull_interval_ms && now >= g->t_pushpull) {
		struct member *m;

		if (mem_random(g, &m, 1, NULL, false) == 1) {
			struct sockaddr_in sa;

			gossip_addr(m->pub.ip, m->pub.port, &sa);
			gossip_sync_enqueue(g, &sa, true);
		}
		g->t_pushpull = now + pushpull_interval(g);
	}
	if (now >= g->t_reap) {
		mem_reap(g, now);
		table_reap(g, now);
		g->t_reap = now + 1000;
	}
	keyop_timers(g, now);
	gossip_digest_refresh(g, now);

	next = mem_next_deadline(g);
	if (g->t_gossip < next)
		next = g->t_gossip;
	if (g->t_eager && g->t_eager < next)
		next = g->t_eager;
	if (g->t_reap < next)
		next = g->t_reap;
	if (g->cfg.push_pull_interval_ms && g->t_pushpull < next)
		next = g->t_pushpull;
	if (g->kop.active && g->kop.next_retx < next)
		next = g->kop.next_retx;
	return next;
}

static void *gossip_thread(void *arg)
{
	struct gossip *g = arg;
	struct gbufs *b = bufs_of(g);

	for (;;) {
		struct pollfd p[2] = { { .fd = g->udp, .events = POLLIN },
				       { .fd = g->wake_fd, .events = POLLIN } };
		uint64_t now = gossip_now_ms(), next;
		int timeout;

		pthread_mutex_lock(&g->mu);
		if (!g->running) {
			pthread_mutex_unlock(&g->mu);
			break;
		}
		next = run_timers(g, now);
		pthread_mutex_unlock(&g->mu);
		dispatch(g);
		now = gossip_now_ms();
		timeout = next > now ? (int)(next - now) : 0;
		if (poll(p, 2, timeout) <= 0)
			continue;
		if (p[1].revents) {
			uint64_t v;

			if (read(g->wake_fd, &v, sizeof(v)) < 0) {
				/* spurious */
			}
		}
		for (int i = 0; i < 64 && (p[0].revents & POLLIN); i++) {
			struct sockaddr_in src;
			socklen_t sl = sizeof(src);
			ssize_t r = recvfrom(g->udp, b->rx, sizeof(b->rx), MSG_DONTWAIT,
					     (struct sockaddr *)&src, &sl);

			if (r < 0)
				break;
			handle_datagram(g, b->rx, (size_t)r, &src);
		}
		dispatch(g);
	}
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

struct gossip_priv {
	struct gossip g;
	struct gbufs bufs;
};

static struct gbufs *bufs_of(struct gossip *g)
{
	/* rx/plain: gossip thread only; pay/seal/take: only under mu */
	return &((struct gossip_priv *)g)->bufs;
}

static int open_sockets(struct gossip *g, struct shoal_err *err)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1, rcv = 4 << 20;

	for (int attempt = 0; attempt < 50; attempt++) {
		g->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		g->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (g->udp < 0 || g->tcp < 0)
			return err_set(err, errno, "gossip: socket: %s", strerror(errno));
		setsockopt(g->udp, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		setsockopt(g->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		gossip_addr(g->cfg.bind_ip, g->cfg.bind_port, &sa);
		if (bind(g->udp, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return err_set(err, errno, "gossip: bind UDP port %u: %s",
				       g->cfg.bind_port, strerror(errno));
		getsockname(g->udp, (struct sockaddr *)&sa, &sl);
		g->port = ntohs(sa.sin_port);
		if (bind(g->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(g->tcp, 128) == 0)
			return 0;
		if (g->cfg.bind_port || errno != EADDRINUSE)
			return err_set(err, errno, "gossip: bind TCP port %u: %s", g->port,
				       strerror(errno));
		/* a random UDP port whose TCP twin is taken: try another */
		close(g->udp);
		close(g->tcp);
		g->udp = g->tcp = -1;
	}
	return err_set(err, EADDRINUSE, "gossip: no free UDP+TCP port pair");
}

int gossip_new(const struct gossip_config *cfg, struct gossip **out, struct shoal_err *err)
{
	struct gossip_priv *gp;
	struct gossip *g;
	pthread_condattr_t ca;
	int ret;

	*out = NULL;
	if (!cfg->name || !gm_name_ok(cfg->name))
		return err_set(err, EINVAL, "gossip: node name must be 1..63 bytes");
	if (!cfg->keyring)
		return err_set(err, EINVAL, "gossip: a keyring is required (every message is encrypted)");
	if (cfg->label && strlen(cfg->label) > KEYRING_LABEL_MAX)
		return err_set(err, EINVAL, "gossip: label longer than %d bytes", KEYRING_LABEL_MAX);
	if (cfg->mtu < 256 || cfg->mtu > 65000)
		return err_set(err, EINVAL, "gossip: MTU %u out of range 256..65000", cfg->mtu);
	if (!cfg->probe_interval_ms || !cfg->probe_timeout_ms || !cfg->gossip_interval_ms ||
	    !cfg->dead_reap_ms || !cfg->tcp_timeout_ms)
		return err_set(err, EINVAL, "gossip: zero timing in the configuration");
	gp = calloc(1, sizeof(*gp));
	if (!gp)
		return err_set(err, ENOMEM, "gossip: out of memory");
	g = &gp->g;
	g->cfg = *cfg;
	g->udp = g->tcp = g->wake_fd = g->accept_wake_fd = -1;
	snprintf(g->name, sizeof(g->name), "%s", cfg->name);
	snprintf(g->label, sizeof(g->label), "%s", cfg->label ? cfg->label : "");
	g->cfg.name = g->name;
	g->cfg.label = g->label;
	g->kr = cfg->keyring;
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->keyop_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cond, &ca);
	pthread_condattr_destroy(&ca);
	randombytes_buf(&g->rng, sizeof(g->rng));
	g->rng |= 1;
	ret = keyring_guard_new(cfg->replay_window_ms, cfg->replay_cache, &g->guard);
	if (ret < 0) {
		err_set(err, -ret, "gossip: replay cache: out of memory");
		goto fail;
	}
	ret = table_init(&g->tab);
	if (ret < 0) {
		err_set(err, -ret, "gossip: out of memory");
		goto fail;
	}
	ret = open_sockets(g, err);
	if (ret < 0)
		goto fail;
	g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->accept_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->wake_fd < 0 || g->accept_wake_fd < 0) {
		ret = err_set(err, errno, "gossip: eventfd: %s", strerror(errno));
		goto fail;
	}
	g->adv_ip = cfg->advertise_ip ? cfg->advertise_ip : cfg->bind_ip;
	g->adv_port = cfg->advertise_port ? cfg->advertise_port : g->port;
	if (!g->adv_ip) {
		ret = err_set(err, EINVAL, "gossip: bound to 0.0.0.0: an advertise address is needed");
		goto fail;
	}
	ret = mem_init_self(g);
	if (ret < 0) {
		err_set(err, -ret, "gossip: out of memory");
		goto fail;
	}
	*out = g;
	return 0;
fail:
	gossip_free(g);
	return ret;
}

int gossip_start(struct gossip *g, struct shoal_err *err)
{
	uint64_t now = gossip_now_ms();
	int ret;

	pthread_mutex_lock(&g->mu);
	if (g->started) {
		pthread_mutex_unlock(&g->mu);
		return err_set(err, EALREADY, "gossip: already started");
	}
	g->started = g->running = true;
	/* random phases, as independent hosts would have */
	g->t_probe = now + gossip_rand(g) % g->cfg.probe_interval_ms;
	g->t_gossip = now + gossip_rand(g) % g->cfg.gossip_interval_ms;
	g->t_pushpull = now + g->cfg.push_pull_interval_ms +
			(g->cfg.push_pull_interval_ms ? gossip_rand(g) % g->cfg.push_pull_interval_ms : 0);
	g->t_reap = now + 1000;
	g->digest_dirty = true;
	pthread_mutex_unlock(&g->mu);
	ret = pthread_create(&g->th_gossip, NULL, gossip_thread, g);
	if (ret == 0) {
		ret = pthread_create(&g->th_accept, NULL, stream_accept_thread, g);
		if (ret == 0) {
			ret = pthread_create(&g->th_sync, NULL, stream_sync_thread, g);
			if (ret == 0)
				return 0;
			pthread_mutex_lock(&g->mu);
			g->running = false;
			pthread_mutex_unlock(&g->mu);
			pthread_join(g->th_accept, NULL);
		}
		pthread_mutex_lock(&g->mu);
		g->running = false;
		pthread_mutex_unlock(&g->mu);
		gossip_wake(g);
		pthread_join(g->th_gossip, NULL);
	}
	g->started = false;
	return err_set(err, ret, "gossip: pthread_create: %s", strerror(ret));
}

void gossip_stop(struct gossip *g)
{
	uint64_t one = 1;

	pthread_mutex_lock(&g->mu);
	if (!g->started || !g->running) {
		pthread_mutex_unlock(&g->mu);
		return;
	}
	g->running = false;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->mu);
	gossip_wake(g);
	if (write(g->accept_wake_fd, &one, sizeof(one)) < 0) {
		/* the accept thread polls with a timeout anyway */
	}
	pthread_join(g->th_gossip, NULL);
	pthread_join(g->th_accept, NULL);
	pthread_join(g->th_sync, NULL);
	/* a stopped node answers nothing: close the sockets now */
	close(g->udp);
	close(g->tcp);
	g->udp = g->tcp = -1;
}

void gossip_free(struct gossip *g)
{
	if (!g)
		return;
	gossip_stop(g);
	if (g->udp >= 0)
		close(g->udp);
	if (g->tcp >= 0)
		close(g->tcp);
	if (g->wake_fd >= 0)
		close(g->wake_fd);
	if (g->accept_wake_fd >= 0)
		close(g->accept_wake_fd);
	mem_free_all(g);
	bq_clear(&g->bq);
	table_free(&g->tab);
	keyring_guard_free(g->guard);
	free(g->ev);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->keyop_mu);
	pthread_cond_destroy(&g->cond);
	free(g);
}

uint16_t gossip_port(const struct gossip *g)
{
	return g->port;
}

const char *gossip_name(const struct gossip *g)
{
	return g->name;
}

/* ------------------------------------------------------------ join/leave */

static int parse_hostport(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *c = strrchr(s, ':');
	uint32_t ip;
	char *end;
	long port;

	if (!c || (size_t)(c - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	errno = 0;
	port = strtol(c + 1, &end, 10);
	if (errno || *end || port <= 0 || port > 65535 || util_parse_ipv4(host, &ip) < 0)
		return -EINVAL;
	gossip_addr(ip, (uint16_t)port, sa);
	return 0;
}

int gossip_join(struct gossip *g, const char *const *addrs, size_t n, struct shoal_err *err)
{
	int ok = 0, last = -ECONNREFUSED;

	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in sa;
		int fd, r;

		if (parse_hostport(addrs[i], &sa) < 0)
			return err_set(err, EINVAL, "gossip: bad join address '%s' (want IP:PORT)",
				       addrs[i]);
		r = stream_connect(g, &sa, &fd);
		if (r == 0) {
			r = stream_exchange(g, fd, true, PP_JOIN);
			close(fd);
		}
		if (r == 0)
			ok++;
		else
			last = r;
	}
	if (!ok)
		return err_set(err, -last, "gossip: could not join any of %zu address(es): %s", n,
			       strerror(-last));
	pthread_mutex_lock(&g->mu);
	mem_broadcast_alive(g);
	table_reannounce(g);
	pthread_mutex_unlock(&g->mu);
	gossip_wake(g);
	return ok;
}

int gossip_leave(struct gossip *g, uint32_t timeout_ms)
{
	struct gmsg m = { .type = GM_LEAVE };
	struct member *self;
	uint64_t end = gossip_now_ms() + timeout_ms;
	char key[GOSSIP_NAME_MAX + 2];

	pthread_mutex_lock(&g->mu);
	g->leaving = true;
	self = g->mv[0];
	m.u.mem.inc = self->pub.incarnation;
	snprintf(m.u.mem.node, sizeof(m.u.mem.node), "%s", g->name);
	/* tell everyone directly, and gossip it for those we missed */
	for (size_t i = 1; i < g->nm; i++) {
		struct gossip_member *p = &g->mv[i]->pub;
		struct sockaddr_in sa;

		if (p->state != GOSSIP_ALIVE && p->state != GOSSIP_SUSPECT)
			continue;
		gossip_addr(p->ip, p->port, &sa);
		gossip_send_msg(g, &sa, &m, false);
	}
	snprintf(key, sizeof(key), "n:%s", g->name);
	gossip_broadcast(g, key, &m);
	self->pub.state = GOSSIP_LEFT;
	pthread_mutex_unlock(&g->mu);
	gossip_wake(g);
	/* give the gossip rounds a chance to repeat it */
	while (gossip_now_ms() < end) {
		size_t q;

		pthread_mutex_lock(&g->mu);
		q = g->bq.n;
		pthread_mutex_unlock(&g->mu);
		if (!q)
			break;
		usleep(10000);
	}
	return 0;
}

/* ------------------------------------------------------------ queries */

int gossip_members(struct gossip *g, struct gossip_member **out, size_t *n)
{
	pthread_mutex_lock(&g->mu);
	*out = calloc(g->nm, sizeof(**out));
	if (!*out) {
		pthread_mutex_unlock(&g->mu);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g->nm; i++)
		(*out)[i] = g->mv[i]->pub;
	*n = g->nm;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

size_t gossip_num_alive(struct gossip *g)
{
	size_t n;

	pthread_mutex_lock(&g->mu);
	n = mem_num_alive(g);
	pthread_mutex_unlock(&g->mu);
	return n;
}

size_t gossip_pending_broadcasts(struct gossip *g)
{
	size_t n;

	pthread_mutex_lock(&g->mu);
	n = g->bq.n;
	pthread_mutex_unlock(&g->mu);
	return n;
}

void gossip_get_stats(struct gossip *g, struct gossip_stats *out)
{
	/* every field is a uint64_t counter updated with __atomic ops */
	const uint64_t *src = (const uint64_t *)&g->st;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	keyring_guard_rejects(g->guard, out->rejects);
}

/* ------------------------------------------------------------ table API */

int gossip_table_set(struct gossip *g, const struct gossip_entry *e, struct shoal_err *err)
{
	int ret;

	if (!GOSSIP_KIND_OK(e->kind) || !gm_name_ok(e->network) ||
	    e->prefix > 32 || e->subnet_prefix > 32)
		return err_set(err, EINVAL, "gossip: bad table entry (kind %u, network '%.63s')",
			       e->kind, e->network);
	pthread_mutex_lock(&g->mu);
	ret = table_set_local(g, e, gossip_now_ms());
	pthread_mutex_unlock(&g->mu);
	gossip_wake(g);
	return ret < 0 ? err_set(err, -ret, "gossip: table set: %s", strerror(-ret)) : 0;
}

int gossip_table_delete(struct gossip *g, uint8_t kind, const char *network, uint32_t ip)
{
	int ret;

	pthread_mutex_lock(&g->mu);
	ret = table_delete_local(g, kind, network, ip, gossip_now_ms());
	pthread_mutex_unlock(&g->mu);
	gossip_wake(g);
	return ret;
}

int gossip_table_snapshot(struct gossip *g, struct gossip_entry **out, size_t *n)
{
	int ret;

	pthread_mutex_lock(&g->mu);
	ret = table_snapshot(g, out, n);
	pthread_mutex_unlock(&g->mu);
	return ret;
}

int gossip_table_lookup(struct gossip *g, uint8_t kind, const char *network, uint32_t ip,
			struct gossip_entry *out)
{
	struct tgroup *gr;
	int ret = -ENOENT;

	pthread_mutex_lock(&g->mu);
	gr = table_group(&g->tab, kind, network, ip, false);
	if (gr && gr->has_winner) {
		*out = gr->winner;
		ret = 0;
	}
	pthread_mutex_unlock(&g->mu);
	return ret;
}

static uint32_t mask_of(uint8_t p)
{
	return p ? 0xffffffffu << (32 - p) : 0;
}

int gossip_claim_block(struct gossip *g, const char *network, uint32_t subnet,
		       uint8_t subnet_prefix, uint8_t block_prefix, uint32_t *block,
		       struct shoal_err *err)
{
	uint32_t base = ntohl(subnet) & mask_of(subnet_prefix), pick = 0, seen = 0, nblocks;
	struct gossip_entry e = { .kind = GOSSIP_BLOCK };
	int ret;

	if (!gm_name_ok(network) || subnet_prefix > block_prefix || block_prefix > 32 ||
	    block_prefix - subnet_prefix > 20)
		return err_set(err, EINVAL, "gossip: bad block /%u in subnet /%u", block_prefix,
			       subnet_prefix);
	nblocks = 1u << (block_prefix - subnet_prefix);
	pthread_mutex_lock(&g->mu);
	for (uint32_t i = 0; i < nblocks; i++) {
		uint32_t ip = htonl(base + (block_prefix < 32 ? i << (32 - block_prefix) : i));
		struct tgroup *gr = table_group(&g->tab, GOSSIP_BLOCK, network, ip, false);
		bool taken = false;

		/* any live claim counts, even of a dead owner: it may come back */
		for (size_t r = 0; gr && r < gr->n && !taken; r++)
			taken = !gr->recs[r].e.deleted;
		if (taken)
			continue;
		if (gossip_rand(g) % ++seen == 0)
			pick = ip;
	}
	if (!seen) {
		pthread_mutex_unlock(&g->mu);
		return err_set(err, ENOSPC, "gossip: no free /%u block left in network %s",
			       block_prefix, network);
	}
	snprintf(e.network, sizeof(e.network), "%s", network);
	e.ip = pick;
	e.prefix = block_prefix;
	e.subnet = htonl(base);
	e.subnet_prefix = subnet_prefix;
	ret = table_set_local(g, &e, gossip_now_ms());
	pthread_mutex_unlock(&g->mu);
	gossip_wake(g);
	if (ret < 0)
		return err_set(err, -ret, "gossip: claim: %s", strerror(-ret));
	*block = pick;
	return 0;
}

int gossip_release_block(struct gossip *g, const char *network, uint32_t block)
{
	return gossip_table_delete(g, GOSSIP_BLOCK, network, block);
}

bool gossip_block_settled(struct gossip *g, const char *network, uint32_t block)
{
	struct tgroup *gr;
	bool ok = false;

	pthread_mutex_lock(&g->mu);
	gr = table_group(&g->tab, GOSSIP_BLOCK, network, block, false);
	for (size_t i = 0; gr && i < gr->n; i++) {
		struct trec *r = &gr->recs[i];

		if (strcmp(r->e.owner, g->name) == 0 && !r->e.deleted && !r->lost && r->won_ms &&
		    gossip_now_ms() - r->won_ms >= g->cfg.claim_settled_ms)
			ok = true;
	}
	pthread_mutex_unlock(&g->mu);
	return ok;
}

/* ------------------------------------------------------------ keys */

static int keyop(struct gossip *g, uint8_t op, const uint8_t key[KEYRING_KEY_LEN],
		 uint32_t timeout_ms, struct gossip_keyop_result *res, struct shoal_err *err)
{
	struct keyop_wait *k = &g->kop;
	struct gossip_keyop_result r = { 0 };
	struct timespec ts;
	uint64_t now = gossip_now_ms();
	size_t n = 0;
	int ret;

	pthread_mutex_lock(&g->keyop_mu);
	ret = op == GM_KEY_INSTALL ? keyring_install(g->kr, key, err)
	    : op == GM_KEY_USE     ? keyring_use(g->kr, key, err)
				   : keyring_remove(g->kr, key, err);
	if (ret < 0)
		goto out_unlocked;
	pthread_mutex_lock(&g->mu);
	k->names = calloc(g->nm, sizeof(*k->names));
	k->addrs = calloc(g->nm, sizeof(*k->addrs));
	k->result = calloc(g->nm, sizeof(*k->result));
	if (!k->names || !k->addrs || !k->result) {
		ret = err_set(err, ENOMEM, "gossip: out of memory");
		goto out;
	}
	for (size_t i = 1; i < g->nm; i++) {
		struct gossip_member *m = &g->mv[i]->pub;

		if (m->state != GOSSIP_ALIVE && m->state != GOSSIP_SUSPECT)
			continue;
		snprintf(k->names[n], GOSSIP_NAME_MAX, "%s", m->name);
		gossip_addr(m->ip, m->port, &k->addrs[n]);
		k->result[n++] = 1;
	}
	k->n = n;
	k->op = op;
	memcpy(k->key, key, KEYRING_KEY_LEN);
	randombytes_buf(&k->id, sizeof(k->id));
	k->next_retx = now;
	k->deadline = now + timeout_ms;
	k->active = true;
	gossip_wake(g);
	for (;;) {
		size_t waiting = 0;

		for (size_t i = 0; i < n; i++)
			waiting += k->result[i] == 1;
		if (!waiting || gossip_now_ms() >= k->deadline)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g->cond, &g->mu, &ts);
	}
	r.members = (int)n;
	for (size_t i = 0; i < n; i++) {
		r.acked += k->result[i] == 0;
		r.failed += k->result[i] < 0;
	}
	if (r.failed)
		ret = err_set(err, EIO, "gossip: key operation failed on %d of %d members",
			      r.failed, r.members);
	else if (r.acked < r.members)
		ret = err_set(err, ETIMEDOUT,
			      "gossip: key operation not acknowledged by %d of %d members",
			      r.members - r.acked, r.members);
out:
	k->active = false;
	sodium_memzero(k->key, sizeof(k->key));
	free(k->names);
	free(k->addrs);
	free(k->result);
	k->names = NULL;
	k->addrs = NULL;
	k->result = NULL;
	pthread_mutex_unlock(&g->mu);
out_unlocked:
	pthread_mutex_unlock(&g->keyop_mu);
	if (res)
		*res = r;
	return ret;
}

int gossip_key_install(struct gossip *g, const uint8_t key[KEYRING_KEY_LEN],
		       uint32_t timeout_ms, struct gossip_keyop_result *res,
		       struct shoal_err *err)
{
	return keyop(g, GM_KEY_INSTALL, key, timeout_ms, res, err);
}

int gossip_key_use(struct gossip *g, const uint8_t key[KEYRING_KEY_LEN], uint32_t timeout_ms,
		   struct gossip_keyop_result *res, struct shoal_err *err)
{
	return keyop(g, GM_KEY_USE, key, timeout_ms, res, err);
}

int gossip_key_remove(struct gossip *g, const uint8_t key[KEYRING_KEY_LEN],
		      uint32_t timeout_ms, struct gossip_keyop_result *res,
		      struct shoal_err *err)
{
	return keyop(g, GM_KEY_REMOVE, key, timeout_ms, res, err);
}

int gossip_key_list(struct gossip *g, struct keyring_info out[KEYRING_MAX_KEYS])
{
	return keyring_list(g->kr, out);
}
