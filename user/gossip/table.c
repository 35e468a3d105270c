// SPDX-License-Identifier: Apache-2.0
/*
 * table.c - the replicated overlay table: per-owner last-writer-wins
 * records with Lamport clocks and tombstones, grouped by (kind, network,
 * ip); the group's winner (lowest (created, owner) among live records of
 * alive owners) is what entry_changed reports. See gossip.h for the design.
 * All functions run with gossip.mu held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t fnv(uint64_t h, const void *d, size_t n)
{
	const uint8_t *p = d;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t group_hash(uint8_t kind, const char *network, uint32_t ip)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv(h, &kind, 1);
	h = fnv(h, network, strlen(network) + 1);
	return fnv(h, &ip, 4);
}

int table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = 256;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct tgroup *gr = t->buckets[i], *nx;

		for (; gr; gr = nx) {
			nx = gr->next;
			free(gr->recs);
			free(gr);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static void table_grow(struct table *t)
{
	size_t nb = t->nbuckets * 4;
	struct tgroup **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct tgroup *gr = t->buckets[i], *nx;

		for (; gr; gr = nx) {
			size_t k = group_hash(gr->kind, gr->network, gr->ip) % nb;

			nx = gr->next;
			gr->next = b[k];
			b[k] = gr;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

struct tgroup *table_group(struct table *t, uint8_t kind, const char *network, uint32_t ip,
			   bool create)
{
	size_t k = group_hash(kind, network, ip) % t->nbuckets;
	struct tgroup *gr;

	for (gr = t->buckets[k]; gr; gr = gr->next)
		if (gr->kind == kind && gr->ip == ip && strcmp(gr->network, network) == 0)
			return gr;
	if (!create)
		return NULL;
	if (t->ngroups > t->nbuckets * 2) {
		table_grow(t);
		k = group_hash(kind, network, ip) % t->nbuckets;
	}
	gr = calloc(1, sizeof(*gr));
	if (!gr)
		return NULL;
	gr->kind = kind;
	snprintf(gr->network, sizeof(gr->network), "%s", network);
	gr->ip = ip;
	gr->next = t->buckets[k];
	t->buckets[k] = gr;
	t->ngroups++;
	return gr;
}

static struct trec *group_rec(struct tgroup *gr, const char *owner)
{
	for (size_t i = 0; i < gr->n; i++)
		if (strcmp(gr->recs[i].e.owner, owner) == 0)
			return &gr->recs[i];
	return NULL;
}

static struct trec *group_add(struct table *t, struct tgroup *gr)
{
	if (gr->n == gr->cap) {
		size_t nc = gr->cap ? gr->cap * 2 : 1;
		struct trec *nr = realloc(gr->recs, nc * sizeof(*nr));

		if (!nr)
			return NULL;
		gr->recs = nr;
		gr->cap = nc;
	}
	t->nrecs++;
	memset(&gr->recs[gr->n], 0, sizeof(gr->recs[0]));
	return &gr->recs[gr->n++];
}

void entry_key(const struct gossip_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "e:%u:%s:%08x:%s", e->kind, e->network, e->ip, e->owner);
}

/* (created, owner) order: the first claim wins. */
static bool claim_before(const struct gossip_entry *a, const struct gossip_entry *b)
{
	if (a->created != b->created)
		return a->created < b->created;
	return strcmp(a->owner, b->owner) < 0;
}

static bool same_content(const struct gossip_entry *a, const struct gossip_entry *b)
{
	return strcmp(a->owner, b->owner) == 0 && a->lamport == b->lamport &&
	       a->created == b->created && a->deleted == b->deleted;
}

/* Recompute the winner of gr; queue entry_changed / claim_lost events. */
static void group_recompute(struct gossip *g, struct tgroup *gr, uint64_t now)
{
	struct trec *win = NULL;
	struct gevent ev;

	for (size_t i = 0; i < gr->n; i++) {
		struct trec *r = &gr->recs[i];

		if (r->e.deleted || !mem_visible(g, r->e.owner))
			continue;
		if (!win || claim_before(&r->e, &win->e))
			win = r;
	}
	if (win && (!gr->has_winner || !same_content(&win->e, &gr->winner))) {
		memset(&ev, 0, sizeof(ev));
		ev.type = EV_ENTRY;
		ev.e = win->e;
		gossip_event(g, &ev);
		gr->winner = win->e;
		gr->has_winner = true;
	} else if (!win && gr->has_winner) {
		memset(&ev, 0, sizeof(ev));
		ev.type = EV_ENTRY;
		ev.e = gr->winner;
		ev.e.deleted = true;
		ev.deleted = true;
		gossip_event(g, &ev);
		gr->has_winner = false;
	}
	for (size_t i = 0; i < gr->n; i++) {
		struct trec *r = &gr->recs[i];

		if (strcmp(r->e.owner, g->name) != 0 || r->e.deleted)
			continue;
		if (r == win) {
			r->lost = false;
			if (!r->won_ms)
				r->won_ms = now;
		} else if (win && !r->lost) {
			r->lost = true;
			r->won_ms = 0;
			memset(&ev, 0, sizeof(ev));
			ev.type = EV_LOST;
			ev.e = r->e;
			ev.winner = win->e;
			gossip_event(g, &ev);
		}
	}
	g->digest_dirty = true;
}

/* Same write? (a restarted owner can reuse a Lamport time for another one) */
static bool same_payload(const struct gossip_entry *a, const struct gossip_entry *b)
{
	return a->deleted == b->deleted && a->created == b->created && a->prefix == b->prefix &&
	       a->vni == b->vni && a->subnet == b->subnet &&
	       a->subnet_prefix == b->subnet_prefix && a->owner_ip == b->owner_ip &&
	       memcmp(a->mac, b->mac, 6) == 0;
}

static void broadcast_rec(struct gossip *g, const struct gossip_entry *e)
{
	struct gmsg m = { .type = GM_ENTRY };
	char key[192];

	m.u.entry = *e;
	entry_key(e, key, sizeof(key));
	gossip_broadcast(g, key, &m);
}

static void clock_see(struct table *t, uint64_t l)
{
	if (l > t->clock)
		t->clock = l;
}

bool table_apply(struct gossip *g, const struct gossip_entry *in, uint64_t now)
{
	struct table *t = &g->tab;
	struct tgroup *gr;
	struct trec *r;

	clock_see(t, in->lamport);
	gr = table_group(t, in->kind, in->network, in->ip, true);
	if (!gr)
		return false;
	r = group_rec(gr, in->owner);
	if (strcmp(in->owner, g->name) == 0) {
		/*
		 * Our own record, newer than ours or unknown to us: written by a
		 * previous run of this node. Ours wins with a newer stamp; one we
		 * do not have any more is deleted.
		 */
		if (r && (in->lamport < r->e.lamport ||
			  (in->lamport == r->e.lamport && same_payload(in, &r->e))))
			return false;
		if (!r) {
			if (in->deleted) {
				r = group_add(t, gr);
				if (!r)
					return false;
				r->e = *in;
				r->changed_ms = now;
				return false;
			}
			r = group_add(t, gr);
			if (!r)
				return false;
			r->e = *in;
			r->e.deleted = true;
		}
		if (in->lamport > t->clock)
			t->clock = in->lamport;
		r->e.lamport = ++t->clock;
		r->changed_ms = now;
		broadcast_rec(g, &r->e);
		group_recompute(g, gr, now);
		return true;
	}
	if (r && in->lamport <= r->e.lamport)
		return false;
	if (!r) {
		r = group_add(t, gr);
		if (!r)
			return false;
	}
	r->e = *in;
	r->changed_ms = now;
	group_recompute(g, gr, now);
	return true;
}

int table_set_local(struct gossip *g, const struct gossip_entry *e, uint64_t now)
{
	struct table *t = &g->tab;
	struct tgroup *gr = table_group(t, e->kind, e->network, e->ip, true);
	struct trec *r;
	uint64_t created;

	if (!gr)
		return -ENOMEM;
	r = group_rec(gr, g->name);
	if (!r) {
		r = group_add(t, gr);
		if (!r)
			return -ENOMEM;
	}
	t->clock++;
	created = (r->e.owner[0] && !r->e.deleted) ? r->e.created : t->clock;
	r->e = *e;
	snprintf(r->e.owner, sizeof(r->e.owner), "%s", g->name);
	r->e.owner_ip = e->owner_ip ? e->owner_ip : g->adv_ip;
	r->e.lamport = t->clock;
	r->e.created = created;
	r->e.deleted = false;
	if (r->e.kind == GOSSIP_ENDPOINT)
		r->e.prefix = 32;
	r->changed_ms = now;
	broadcast_rec(g, &r->e);
	group_recompute(g, gr, now);
	return 0;
}

int table_delete_local(struct gossip *g, uint8_t kind, const char *network, uint32_t ip,
		       uint64_t now)
{
	struct table *t = &g->tab;
	struct tgroup *gr = table_group(t, kind, network, ip, false);
	struct trec *r = gr ? group_rec(gr, g->name) : NULL;

	if (!r || r->e.deleted)
		return -ENOENT;
	r->e.lamport = ++t->clock;
	r->e.deleted = true;
	r->lost = false;
	r->won_ms = 0;
	r->changed_ms = now;
	broadcast_rec(g, &r->e);
	group_recompute(g, gr, now);
	return 0;
}

void table_owner_changed(struct gossip *g, const char *owner)
{
	struct table *t = &g->tab;
	uint64_t now = gossip_now_ms();

	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct tgroup *gr = t->buckets[i]; gr; gr = gr->next)
			if (group_rec(gr, owner))
				group_recompute(g, gr, now);
	g->digest_dirty = true;
}

/*
 * After a join or a refuted death: send our records again with fresh
 * stamps, newer than anything a previous run of this node wrote (the
 * clock has seen the cluster's by now), so they replace what others kept.
 */
void table_reannounce(struct gossip *g)
{
	struct table *t = &g->tab;
	uint64_t now = gossip_now_ms();

	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct tgroup *gr = t->buckets[i]; gr; gr = gr->next) {
			struct trec *r = group_rec(gr, g->name);

			if (!r)
				continue;
			r->e.lamport = ++t->clock;
			r->changed_ms = now;
			broadcast_rec(g, &r->e);
			group_recompute(g, gr, now);
		}
}

void table_reap(struct gossip *g, uint64_t now)
{
	struct table *t = &g->tab;

	for (size_t b = 0; b < t->nbuckets; b++) {
		struct tgroup **pp = &t->buckets[b];

		while (*pp) {
			struct tgroup *gr = *pp;
			size_t j = 0;

			for (size_t i = 0; i < gr->n; i++) {
				struct trec *r = &gr->recs[i];
				bool self = strcmp(r->e.owner, g->name) == 0;
				bool drop = false;

				if (r->e.deleted)
					drop = now - r->changed_ms >= g->cfg.tombstone_reap_ms;
				else if (!self && !mem_visible(g, r->e.owner)) {
					struct member *m = mem_find(g, r->e.owner);
					uint64_t since = r->changed_ms;

					if (m && m->state_change_ms > since)
						since = m->state_change_ms;
					drop = now - since >= g->cfg.dead_reap_ms;
				}
				if (drop) {
					t->nrecs--;
					continue;
				}
				gr->recs[j++] = *r;
			}
			gr->n = j;
			if (gr->n == 0 && !gr->has_winner) {
				*pp = gr->next;
				free(gr->recs);
				free(gr);
				t->ngroups--;
				continue;
			}
			pp = &gr->next;
		}
	}
}

/* Digest of the live, visible records: equal tables, equal digests. */
uint64_t table_digest(struct gossip *g)
{
	struct table *t = &g->tab;
	uint64_t d = 0;

	for (size_t b = 0; b < t->nbuckets; b++)
		for (struct tgroup *gr = t->buckets[b]; gr; gr = gr->next)
			for (size_t i = 0; i < gr->n; i++) {
				struct trec *r = &gr->recs[i];
				uint64_t h;

				if (r->e.deleted || !mem_visible(g, r->e.owner))
					continue;
				h = group_hash(gr->kind, gr->network, gr->ip);
				h = fnv(h, r->e.owner, strlen(r->e.owner));
				h = fnv(h, &r->e.lamport, 8);
				h = fnv(h, r->e.mac, 6);
				h = fnv(h, &r->e.vni, 4);
				h = fnv(h, &r->e.owner_ip, 4);
				h = fnv(h, &r->e.created, 8);
				d ^= mix(h);
			}
	return d;
}

static int collect(struct gossip *g, bool all, struct gossip_entry **out, size_t *n)
{
	struct table *t = &g->tab;
	struct gossip_entry *v = NULL;
	size_t k = 0, cap = 0;

	for (size_t b = 0; b < t->nbuckets; b++)
		for (struct tgroup *gr = t->buckets[b]; gr; gr = gr->next) {
			if (!all) {
				if (!gr->has_winner)
					continue;
			}
			for (size_t i = 0; i < (all ? gr->n : 1); i++) {
				const struct gossip_entry *e = all ? &gr->recs[i].e : &gr->winner;

				/* hidden records (owner dead or unknown) stay here */
				if (all && !e->deleted && strcmp(e->owner, g->name) != 0 &&
				    !mem_visible(g, e->owner))
					continue;
				if (k == cap) {
					size_t nc = cap ? cap * 2 : 64;
					struct gossip_entry *nv = realloc(v, nc * sizeof(*nv));

					if (!nv) {
						free(v);
						return -ENOMEM;
					}
					v = nv;
					cap = nc;
				}
				v[k++] = *e;
			}
		}
	*out = v;
	*n = k;
	return 0;
}

int table_export(struct gossip *g, struct gossip_entry **out, size_t *n)
{
	return collect(g, true, out, n);
}

int table_snapshot(struct gossip *g, struct gossip_entry **out, size_t *n)
{
	return collect(g, false, out, n);
}
