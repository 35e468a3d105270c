// SPDX-License-Identifier: Apache-2.0
/*
 * membership.c - SWIM failure detection with Lifeguard-style suspicion:
 * probe round-robin, indirect probes, suspicion timers shrinking with
 * independent confirmations, refutation by incarnation, dead, left, reap.
 * All functions run with gossip.mu held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

struct member *mem_find(struct gossip *g, const char *name)
{
	for (size_t i = 0; i < g->nm; i++)
		if (strcmp(g->mv[i]->pub.name, name) == 0)
			return g->mv[i];
	return NULL;
}

static bool is_up(const struct member *m)
{
	return m->pub.state == GOSSIP_ALIVE || m->pub.state == GOSSIP_SUSPECT;
}

size_t mem_num_alive(struct gossip *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->nm; i++)
		n += is_up(g->mv[i]);
	return n;
}

bool mem_visible(struct gossip *g, const char *owner)
{
	struct member *m = mem_find(g, owner);

	return m && is_up(m);
}

uint32_t mem_retransmit_limit(struct gossip *g)
{
	double n = (double)mem_num_alive(g);

	return g->cfg.retransmit_mult * (uint32_t)gossip_ceil(gossip_log10(n + 1.0));
}

static void member_event(struct gossip *g, struct member *m)
{
	struct gevent ev = { .type = EV_MEMBER, .m = m->pub };

	gossip_event(g, &ev);
	g->digest_dirty = true;
}

static struct member *member_add(struct gossip *g, const char *name)
{
	struct member *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (g->nm == g->capm) {
		size_t nc = g->capm ? g->capm * 2 : 16;
		struct member **nv = realloc(g->mv, nc * sizeof(*nv));

		if (!nv) {
			free(m);
			return NULL;
		}
		g->mv = nv;
		g->capm = nc;
	}
	snprintf(m->pub.name, sizeof(m->pub.name), "%s", name);
	g->mv[g->nm++] = m;
	/* probe it soon: insert at a random place of the rest of this pass */
	{
		struct member **np = realloc(g->plist, (g->np + 1) * sizeof(*np));

		if (np) {
			size_t at;

			g->plist = np;
			at = g->pidx + gossip_rand(g) % (g->np - g->pidx + 1);
			memmove(&g->plist[at + 1], &g->plist[at], (g->np - at) * sizeof(*np));
			g->plist[at] = m;
			g->np++;
		}
	}
	return m;
}

int mem_init_self(struct gossip *g)
{
	struct member *m = member_add(g, g->name);

	if (!m)
		return -ENOMEM;
	/* self is never probed */
	g->np = 0;
	g->pidx = 0;
	m->pub.ip = g->adv_ip;
	m->pub.port = g->adv_port;
	m->pub.state = GOSSIP_ALIVE;
	m->state_change_ms = gossip_now_ms();
	return 0;
}

void mem_free_all(struct gossip *g)
{
	for (size_t i = 0; i < g->nm; i++)
		free(g->mv[i]);
	free(g->mv);
	free(g->plist);
	free(g->glist);
	g->mv = NULL;
	g->plist = NULL;
	g->glist = NULL;
	g->nm = g->np = 0;
}

static void set_state(struct gossip *g, struct member *m, enum gossip_state s, uint64_t now)
{
	bool was_up = is_up(m);

	m->pub.state = s;
	m->state_change_ms = now;
	member_event(g, m);
	if (was_up != is_up(m))
		table_owner_changed(g, m->pub.name);
}

void mem_broadcast_alive(struct gossip *g)
{
	struct member *self = g->mv[0];
	struct gmsg msg = { .type = GM_ALIVE };
	char key[GOSSIP_NAME_MAX + 2];

	msg.u.mem.inc = self->pub.incarnation;
	snprintf(msg.u.mem.node, sizeof(msg.u.mem.node), "%s", g->name);
	msg.u.mem.ip = self->pub.ip;
	msg.u.mem.port = self->pub.port;
	snprintf(key, sizeof(key), "n:%s", g->name);
	gossip_broadcast(g, key, &msg);
}

static void broadcast_mem(struct gossip *g, uint8_t type, const struct member *m,
			  const char *from)
{
	struct gmsg msg = { .type = type };
	char key[GOSSIP_NAME_MAX + 2];

	msg.u.mem.inc = m->pub.incarnation;
	snprintf(msg.u.mem.node, sizeof(msg.u.mem.node), "%s", m->pub.name);
	snprintf(msg.u.mem.from, sizeof(msg.u.mem.from), "%s", from ? from : m->pub.name);
	msg.u.mem.ip = m->pub.ip;
	msg.u.mem.port = m->pub.port;
	snprintf(key, sizeof(key), "n:%s", m->pub.name);
	gossip_broadcast(g, key, &msg);
}

/* Someone says we are suspect/dead or knows a newer incarnation: refute. */
static void refute(struct gossip *g, uint32_t inc, bool was_dead)
{
	struct member *self = g->mv[0];

	if (g->leaving)
		return;
	if (self->pub.incarnation <= inc)
		self->pub.incarnation = inc + 1;
	STAT_ADD(g, refutes, 1);
	mem_broadcast_alive(g);
	if (was_dead)
		table_reannounce(g);
	g->digest_dirty = true;
}

void mem_alive(struct gossip *g, uint32_t inc, const char *name, uint32_t ip, uint16_t port)
{
	struct member *m;
	uint64_t now = gossip_now_ms();

	if (strcmp(name, g->name) == 0) {
		if (inc > g->mv[0]->pub.incarnation)
			refute(g, inc, false);
		return;
	}
	m = mem_find(g, name);
	if (!m) {
		m = member_add(g, name);
		if (!m)
			return;
		m->pub.incarnation = inc;
		m->pub.ip = ip;
		m->pub.port = port;
		set_state(g, m, GOSSIP_ALIVE, now);
		table_owner_changed(g, name);
		broadcast_mem(g, GM_ALIVE, m, NULL);
		return;
	}
	if (inc <= m->pub.incarnation)
		return;
	m->pub.incarnation = inc;
	m->pub.ip = ip;
	m->pub.port = port;
	if (m->pub.state != GOSSIP_ALIVE) {
		m->confirm_pending = false;
		set_state(g, m, GOSSIP_ALIVE, now);
	} else {
		g->digest_dirty = true;
	}
	broadcast_mem(g, GM_ALIVE, m, NULL);
}

static bool add_confirmer(struct member *m, const char *from)
{
	uint64_t h = name_hash(from);
	uint32_t slots = m->susp_n + 1; /* the first slot is the accuser */

	for (uint32_t i = 0; i < slots && i < GOSSIP_MAX_CONFIRMERS; i++)
		if (m->confirmers[i] == h)
			return false;
	if (slots < GOSSIP_MAX_CONFIRMERS)
		m->confirmers[slots] = h;
	m->susp_n++;
	return true;
}

/* Lifeguard: max at no confirmation, down to min at k of them. */
static uint64_t susp_timeout(const struct member *m)
{
	double frac, t;

	if (m->susp_k == 0)
		return m->susp_min_ms;
	frac = gossip_ln((double)m->susp_n + 1.0) / gossip_ln((double)m->susp_k + 1.0);
	t = (double)m->susp_max_ms - frac * (double)(m->susp_max_ms - m->susp_min_ms);
	return t < (double)m->susp_min_ms ? m->susp_min_ms : (uint64_t)t;
}

static void confirm_probe(struct gossip *g, struct member *m, uint64_t now)
{
	struct pending *p;
	struct sockaddr_in sa;
	struct gmsg ping = { .type = GM_PING };

	if (m->confirm_pending || g->npend == GOSSIP_MAX_PENDING)
		return;
	m->confirm_pending = true;
	p = &g->pend[g->npend++];
	memset(p, 0, sizeof(*p));
	p->seq = ++g->seq;
	p->kind = P_CONFIRM;
	p->deadline = now + g->cfg.probe_timeout_ms;
	p->target_inc = m->pub.incarnation;
	snprintf(p->target, sizeof(p->target), "%s", m->pub.name);
	ping.u.ping.seq = p->seq;
	snprintf(ping.u.ping.target, sizeof(ping.u.ping.target), "%s", m->pub.name);
	gossip_digest_refresh(g, now);
	ping.u.ping.digest = g->digest;
	ping.u.ping.stable = gossip_digest_stable(g, now);
	gossip_addr(m->pub.ip, m->pub.port, &sa);
	gossip_send_msg(g, &sa, &ping, false);
}

void mem_suspect(struct gossip *g, uint32_t inc, const char *name, const char *from)
{
	struct member *m;
	uint64_t now = gossip_now_ms();
	double n;

	if (strcmp(name, g->name) == 0) {
		if (inc >= g->mv[0]->pub.incarnation)
			refute(g, inc, false);
		return;
	}
	m = mem_find(g, name);
	if (!m || inc < m->pub.incarnation)
		return;
	if (m->pub.state == GOSSIP_DEAD || m->pub.state == GOSSIP_LEFT)
		return;
	if (m->pub.state == GOSSIP_SUSPECT) {
		if (add_confirmer(m, from))
			broadcast_mem(g, GM_SUSPECT, m, from);
		return;
	}
	m->pub.incarnation = inc;
	n = (double)mem_num_alive(g);
	m->susp_start_ms = now;
	m->susp_min_ms = (uint64_t)(g->cfg.suspicion_mult * (n > 10 ? gossip_log10(n) : 1.0) *
				    g->cfg.probe_interval_ms);
	m->susp_max_ms = m->susp_min_ms * g->cfg.suspicion_max_mult;
	m->susp_k = g->cfg.suspicion_mult > 2 ? g->cfg.suspicion_mult - 2 : 0;
	if (n - 2 < m->susp_k)
		m->susp_k = 0;
	m->susp_n = 0;
	memset(m->confirmers, 0, sizeof(m->confirmers));
	m->confirmers[0] = name_hash(from);
	STAT_ADD(g, suspects, 1);
	set_state(g, m, GOSSIP_SUSPECT, now);
	broadcast_mem(g, GM_SUSPECT, m, from);
	/* heard it from someone else: check for ourselves, confirm if it fails */
	if (strcmp(from, g->name) != 0)
		confirm_probe(g, m, now);
}

void mem_dead(struct gossip *g, uint32_t inc, const char *name, const char *from, bool leave)
{
	struct member *m;
	uint64_t now = gossip_now_ms();

	if (strcmp(name, g->name) == 0) {
		if (!leave && inc >= g->mv[0]->pub.incarnation)
			refute(g, inc, true);
		return;
	}
	m = mem_find(g, name);
	if (!m || inc < m->pub.incarnation)
		return;
	if (m->pub.state == GOSSIP_DEAD || m->pub.state == GOSSIP_LEFT) {
		/* a leave overrides a dead of the same incarnation */
		if (!(leave && m->pub.state == GOSSIP_DEAD))
			return;
	}
	m->pub.incarnation = inc;
	m->confirm_pending = false;
	STAT_ADD(g, deaths, 1);
	set_state(g, m, leave ? GOSSIP_LEFT : GOSSIP_DEAD, now);
	if (leave) {
		struct gmsg msg = { .type = GM_LEAVE };
		char key[GOSSIP_NAME_MAX + 2];

		msg.u.mem.inc = inc;
		snprintf(msg.u.mem.node, sizeof(msg.u.mem.node), "%s", name);
		snprintf(key, sizeof(key), "n:%s", name);
		gossip_broadcast(g, key, &msg);
	} else {
		broadcast_mem(g, GM_DEAD, m, from);
	}
}

size_t mem_random(struct gossip *g, struct member **out, size_t k, const char *exclude,
		  bool include_dead)
{
	size_t n = 0, seen = 0;
	uint64_t now = gossip_now_ms();

	/* reservoir sampling over eligible members, self excluded */
	for (size_t i = 1; i < g->nm; i++) {
		struct member *m = g->mv[i];
		bool ok = is_up(m) || (include_dead && m->pub.state == GOSSIP_DEAD &&
				       now - m->state_change_ms < g->cfg.dead_reap_ms);

		if (!ok || (exclude && strcmp(m->pub.name, exclude) == 0))
			continue;
		seen++;
		if (n < k) {
			out[n++] = m;
		} else {
			size_t j = gossip_rand(g) % seen;

			if (j < k)
				out[j] = m;
		}
	}
	return n;
}

size_t mem_gossip_targets(struct gossip *g, struct member **out, size_t k)
{
	size_t n = 0, tries = 0;
	uint64_t now = gossip_now_ms();

	/* a shuffled cycle: consecutive rounds reach different members */
	while (n < k && tries++ < 2 * g->nm + 2) {
		struct member *m;
		bool dup = false;

		if (g->gidx >= g->ngl) {
			size_t c = 0;

			free(g->glist);
			g->glist = calloc(g->nm ? g->nm : 1, sizeof(*g->glist));
			g->ngl = g->gidx = 0;
			if (!g->glist)
				return n;
			for (size_t i = 1; i < g->nm; i++)
				snprintf(g->glist[c++], GOSSIP_NAME_MAX, "%s", g->mv[i]->pub.name);
			for (size_t i = c; i > 1; i--) {
				size_t j = gossip_rand(g) % i;
				char tmp[GOSSIP_NAME_MAX];

				memcpy(tmp, g->glist[i - 1], sizeof(tmp));
				memcpy(g->glist[i - 1], g->glist[j], sizeof(tmp));
				memcpy(g->glist[j], tmp, sizeof(tmp));
			}
			g->ngl = c;
			if (!c)
				return n;
		}
		m = mem_find(g, g->glist[g->gidx++]);
		if (!m || !(is_up(m) || (m->pub.state == GOSSIP_DEAD &&
					 now - m->state_change_ms < g->cfg.dead_reap_ms)))
			continue;
		for (size_t i = 0; i < n; i++)
			dup |= out[i] == m;
		if (!dup)
			out[n++] = m;
	}
	return n;
}

static void fill_ping(struct gossip *g, struct gmsg *ping, uint32_t seq, const char *target,
		      uint64_t now)
{
	memset(ping, 0, sizeof(*ping));
	ping->type = GM_PING;
	ping->u.ping.seq = seq;
	snprintf(ping->u.ping.target, sizeof(ping->u.ping.target), "%s", target);
	gossip_digest_refresh(g, now);
	ping->u.ping.digest = g->digest;
	ping->u.ping.stable = gossip_digest_stable(g, now);
}

static void shuffle_plist(struct gossip *g)
{
	size_t n = 0;

	free(g->plist);
	g->plist = calloc(g->nm ? g->nm : 1, sizeof(*g->plist));
	g->np = g->pidx = 0;
	if (!g->plist)
		return;
	for (size_t i = 1; i < g->nm; i++)
		if (is_up(g->mv[i]))
			g->plist[n++] = g->mv[i];
	for (size_t i = n; i > 1; i--) {
		size_t j = gossip_rand(g) % i;
		struct member *t = g->plist[i - 1];

		g->plist[i - 1] = g->plist[j];
		g->plist[j] = t;
	}
	g->np = n;
}

static void probe_start(struct gossip *g, uint64_t now)
{
	struct member *m = NULL;
	struct sockaddr_in sa;
	struct gmsg ping;

	for (int pass = 0; pass < 2 && !m; pass++) {
		while (g->pidx < g->np) {
			struct member *c = g->plist[g->pidx++];

			if (is_up(c)) {
				m = c;
				break;
			}
		}
		if (!m)
			shuffle_plist(g);
	}
	if (!m)
		return;
	g->probe.active = true;
	g->probe.indirect = false;
	g->probe.seq = ++g->seq;
	snprintf(g->probe.target, sizeof(g->probe.target), "%s", m->pub.name);
	g->probe.deadline = now + g->cfg.probe_timeout_ms;
	g->probe.end = now + g->cfg.probe_interval_ms;
	g->probe.relays = g->probe.nacks = 0;
	STAT_ADD(g, probes, 1);
	fill_ping(g, &ping, g->probe.seq, m->pub.name, now);
	gossip_addr(m->pub.ip, m->pub.port, &sa);
	gossip_send_msg(g, &sa, &ping, true);
}

static void probe_indirect(struct gossip *g, uint64_t now)
{
	struct member *target = mem_find(g, g->probe.target), *via[16];
	size_t k = g->cfg.indirect_checks < 16 ? g->cfg.indirect_checks : 16, n;
	struct gmsg req = { .type = GM_INDIRECT };

	g->probe.indirect = true;
	g->probe.deadline = g->probe.end > now ? g->probe.end : now + 1;
	if (!target)
		return;
	n = mem_random(g, via, k, target->pub.name, false);
	req.u.ind.seq = g->probe.seq;
	snprintf(req.u.ind.target, sizeof(req.u.ind.target), "%s", target->pub.name);
	req.u.ind.ip = target->pub.ip;
	req.u.ind.port = target->pub.port;
	req.u.ind.nack = true;
	g->probe.relays = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in sa;

		gossip_addr(via[i]->pub.ip, via[i]->pub.port, &sa);
		gossip_send_msg(g, &sa, &req, false);
	}
}

static void probe_failed(struct gossip *g)
{
	struct member *m = mem_find(g, g->probe.target);

	g->probe.active = false;
	STAT_ADD(g, probe_failures, 1);
	if (m && m->pub.state == GOSSIP_ALIVE)
		mem_suspect(g, m->pub.incarnation, m->pub.name, g->name);
}

static void remove_pending(struct gossip *g, size_t i)
{
	g->pend[i] = g->pend[--g->npend];
}

void mem_timers(struct gossip *g, uint64_t now)
{
	if (g->probe.active && now >= g->probe.deadline) {
		if (!g->probe.indirect)
			probe_indirect(g, now);
		else
			probe_failed(g);
	}
	if (now >= g->t_probe) {
		if (g->probe.active)
			probe_failed(g);
		if (!g->leaving)
			probe_start(g, now);
		g->t_probe = now + g->cfg.probe_interval_ms;
	}
	for (size_t i = 0; i < g->npend;) {
		struct pending *p = &g->pend[i];

		if (now < p->deadline) {
			i++;
			continue;
		}
		if (p->kind == P_RELAY && p->want_nack) {
			struct gmsg nack = { .type = GM_NACK };

			nack.u.nack.seq = p->req_seq;
			gossip_send_msg(g, &p->req, &nack, false);
		} else if (p->kind == P_CONFIRM) {
			struct member *m = mem_find(g, p->target);

			if (m) {
				m->confirm_pending = false;
				if (m->pub.state == GOSSIP_SUSPECT &&
				    m->pub.incarnation == p->target_inc)
					mem_suspect(g, p->target_inc, p->target, g->name);
			}
		}
		remove_pending(g, i);
	}
	for (size_t i = 1; i < g->nm; i++) {
		struct member *m = g->mv[i];

		if (m->pub.state == GOSSIP_SUSPECT && now - m->susp_start_ms >= susp_timeout(m))
			mem_dead(g, m->pub.incarnation, m->pub.name, g->name, false);
	}
}

uint64_t mem_next_deadline(struct gossip *g)
{
	uint64_t next = g->t_probe;

	if (g->probe.active && g->probe.deadline < next)
		next = g->probe.deadline;
	for (size_t i = 0; i < g->npend; i++)
		if (g->pend[i].deadline < next)
			next = g->pend[i].deadline;
	for (size_t i = 1; i < g->nm; i++) {
		struct member *m = g->mv[i];

		if (m->pub.state == GOSSIP_SUSPECT && m->susp_start_ms + susp_timeout(m) < next)
			next = m->susp_start_ms + susp_timeout(m);
	}
	return next;
}

void mem_reap(struct gossip *g, uint64_t now)
{
	size_t j = 1;

	for (size_t i = 1; i < g->nm; i++) {
		struct member *m = g->mv[i];

		if (!is_up(m) && now - m->state_change_ms >= g->cfg.dead_reap_ms) {
			size_t k = 0;

			for (size_t p = 0; p < g->np; p++) {
				if (g->plist[p] == m) {
					if (p < g->pidx)
						g->pidx--;
					continue;
				}
				g->plist[k++] = g->plist[p];
			}
			g->np = k;
			free(m);
			g->digest_dirty = true;
			continue;
		}
		g->mv[j++] = m;
	}
	g->nm = j;
}

static void handle_ack(struct gossip *g, const struct gmsg *m, const char *sender, uint64_t now)
{
	uint32_t seq = m->u.ack.seq;

	if (g->probe.active && seq == g->probe.seq) {
		g->probe.active = false;
		/* digest anti-entropy: only against the probed member itself */
		if (strcmp(sender, g->probe.target) == 0 && g->cfg.ae_quiet_ms) {
			struct member *t = mem_find(g, sender);

			gossip_digest_refresh(g, now);
			if (t && m->u.ack.digest != g->digest &&
			    now - g->digest_changed_ms >= g->cfg.ae_quiet_ms &&
			    (uint64_t)m->u.ack.stable * 100 >= g->cfg.ae_quiet_ms &&
			    now - g->last_ae >= g->cfg.ae_min_gap_ms) {
				struct sockaddr_in sa;

				g->last_ae = now;
				STAT_ADD(g, ae_syncs, 1);
				gossip_addr(t->pub.ip, t->pub.port, &sa);
				gossip_sync_enqueue(g, &sa, false);
			}
		}
		return;
	}
	for (size_t i = 0; i < g->npend; i++) {
		struct pending *p = &g->pend[i];

		if (p->seq != seq)
			continue;
		if (p->kind == P_RELAY) {
			struct gmsg ack = { .type = GM_ACK };

			ack.u.ack.seq = p->req_seq;
			gossip_digest_refresh(g, now);
			ack.u.ack.digest = g->digest;
			ack.u.ack.stable = 0; /* not the target's digest */
			gossip_send_msg(g, &p->req, &ack, false);
		} else if (p->kind == P_CONFIRM) {
			struct member *t = mem_find(g, p->target);

			if (t)
				t->confirm_pending = false;
		}
		remove_pending(g, i);
		return;
	}
}

void mem_handle(struct gossip *g, const struct gmsg *m, const char *sender,
		const struct sockaddr_in *src, uint64_t now)
{
	switch (m->type) {
	case GM_PING: {
		struct gmsg ack = { .type = GM_ACK };

		if (strcmp(m->u.ping.target, g->name) != 0)
			return; /* meant for whoever had our address before */
		ack.u.ack.seq = m->u.ping.seq;
		gossip_digest_refresh(g, now);
		ack.u.ack.digest = g->digest;
		ack.u.ack.stable = gossip_digest_stable(g, now);
		gossip_send_msg(g, src, &ack, true);
		return;
	}
	case GM_ACK:
		handle_ack(g, m, sender, now);
		return;
	case GM_NACK:
		/*
		 * Every relay failed to reach the target too: nothing more can
		 * arrive before the end of the interval, suspect it now.
		 */
		if (g->probe.active && g->probe.indirect && m->u.nack.seq == g->probe.seq &&
		    ++g->probe.nacks >= g->probe.relays)
			probe_failed(g);
		return;
	case GM_INDIRECT: {
		struct pending *p;
		struct sockaddr_in sa;
		struct gmsg ping;

		if (g->npend == GOSSIP_MAX_PENDING)
			return;
		p = &g->pend[g->npend++];
		memset(p, 0, sizeof(*p));
		p->seq = ++g->seq;
		p->kind = P_RELAY;
		/* answer (nack) a little before the asker's interval ends */
		p->deadline = now + g->cfg.probe_timeout_ms * 4 / 5;
		p->req = *src;
		p->req_seq = m->u.ind.seq;
		p->want_nack = m->u.ind.nack;
		snprintf(p->target, sizeof(p->target), "%s", m->u.ind.target);
		fill_ping(g, &ping, p->seq, m->u.ind.target, now);
		gossip_addr(m->u.ind.ip, m->u.ind.port, &sa);
		gossip_send_msg(g, &sa, &ping, false);
		return;
	}
	case GM_ALIVE:
		mem_alive(g, m->u.mem.inc, m->u.mem.node, m->u.mem.ip, m->u.mem.port);
		return;
	case GM_SUSPECT:
		mem_suspect(g, m->u.mem.inc, m->u.mem.node, m->u.mem.from);
		return;
	case GM_DEAD:
		mem_dead(g, m->u.mem.inc, m->u.mem.node, m->u.mem.from, false);
		return;
	case GM_LEAVE:
		mem_dead(g, m->u.mem.inc, m->u.mem.node, m->u.mem.node, true);
		return;
	default:
		return;
	}
}
