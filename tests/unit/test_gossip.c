// SPDX-License-Identifier: Apache-2.0
/*
 * test_gossip.c - the gossip codec (round trips, truncation, fuzzing) and
 * small in-process clusters on 127.0.0.1 with shortened timings: join,
 * table replication, failure detection, leave, wrong key, key rotation
 * under load, block claim conflicts, rejoin. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../user/gossip/codec.h"
#include "../../user/gossip/gossip.h"
#include "../../user/gossip/internal.h"

/* ------------------------------------------------------------ codec */

static struct gossip_entry sample_entry(void)
{
	struct gossip_entry e = { .kind = GOSSIP_ENDPOINT, .prefix = 32, .vni = 4097,
				  .subnet_prefix = 24, .lamport = 42, .created = 40 };

	snprintf(e.network, sizeof(e.network), "frontend");
	snprintf(e.owner, sizeof(e.owner), "host-a");
	e.ip = htonl(0x0a000005);
	e.subnet = htonl(0x0a000000);
	e.owner_ip = htonl(0xc0a80101);
	memcpy(e.mac, "\x02\x42\x0a\x00\x00\x05", 6);
	return e;
}

/* One message of every type, filled with non-zero values. */
static size_t all_messages(struct gmsg *v)
{
	size_t n = 0;

	memset(v, 0, sizeof(*v) * 20);
	v[n].type = GM_PING;
	v[n].u.ping.seq = 7;
	strcpy(v[n].u.ping.target, "node-b");
	v[n].u.ping.digest = 0x0123456789abcdefULL;
	v[n++].u.ping.stable = 12;
	v[n].type = GM_ACK;
	v[n].u.ack.seq = 0xfffffffe;
	v[n].u.ack.digest = 99;
	v[n++].u.ack.stable = 255;
	v[n].type = GM_INDIRECT;
	v[n].u.ind.seq = 3;
	strcpy(v[n].u.ind.target, "node-c");
	v[n].u.ind.ip = htonl(0x7f000001);
	v[n].u.ind.port = 7946;
	v[n++].u.ind.nack = true;
	v[n].type = GM_NACK;
	v[n++].u.nack.seq = 3;
	v[n].type = GM_SUSPECT;
	v[n].u.mem.inc = 5;
	strcpy(v[n].u.mem.node, "node-c");
	strcpy(v[n++].u.mem.from, "node-a");
	v[n].type = GM_ALIVE;
	v[n].u.mem.inc = 6;
	strcpy(v[n].u.mem.node, "node-c");
	v[n].u.mem.ip = htonl(0x0a000001);
	v[n++].u.mem.port = 17000;
	v[n].type = GM_DEAD;
	v[n].u.mem.inc = 6;
	strcpy(v[n].u.mem.node, "node-c");
	strcpy(v[n++].u.mem.from, "node-b");
	v[n].type = GM_LEAVE;
	v[n].u.mem.inc = 9;
	strcpy(v[n++].u.mem.node, "node-d");
	v[n].type = GM_ENTRY;
	v[n++].u.entry = sample_entry();
	v[n].type = GM_ENTRY;
	v[n].u.entry = sample_entry();
	v[n].u.entry.kind = GOSSIP_BLOCK;
	v[n].u.entry.prefix = 28;
	v[n++].u.entry.deleted = true;
	/* The daemon's kinds: a node's role record and a published network. */
	v[n].type = GM_ENTRY;
	v[n].u.entry = sample_entry();
	v[n].u.entry.kind = GOSSIP_NODE;
	v[n++].u.entry.vni = 2;
	v[n].type = GM_ENTRY;
	v[n].u.entry = sample_entry();
	v[n].u.entry.kind = GOSSIP_NETWORK;
	v[n].u.entry.prefix = 24;
	v[n++].u.entry.subnet_prefix = 3;
	v[n].type = GM_KEYOP;
	v[n].u.keyop.op = GM_KEY_USE;
	v[n].u.keyop.id = 77;
	memset(v[n++].u.keyop.key, 0xab, KEYRING_KEY_LEN);
	v[n].type = GM_KEYACK;
	v[n].u.keyack.id = 77;
	v[n++].u.keyack.result = -ENOENT;
	v[n].type = GM_PPDIGEST;
	v[n++].u.pp.digest = 0xfedcba9876543210ULL;
	v[n].type = GM_PPSAME;
	v[n++].u.pp.digest = 1;
	return n;
}

TEST(codec_unknown_kind_refused)
{
	struct gmsg m = { .type = GM_ENTRY };
	uint8_t buf[512];

	m.u.entry = sample_entry();
	m.u.entry.kind = GOSSIP_NETWORK + 1;
	CHECK(gm_encode(&m, buf, sizeof(buf)) < 0, "kind 5 does not encode");
	m.u.entry.kind = 0;
	CHECK(gm_encode(&m, buf, sizeof(buf)) < 0, "kind 0 does not encode");
}

TEST(codec_roundtrip_every_type)
{
	struct gmsg v[20], back;
	uint8_t buf[512];
	size_t n = all_messages(v);

	for (size_t i = 0; i < n; i++) {
		int l = gm_encode(&v[i], buf, sizeof(buf));
		char what[64];

		snprintf(what, sizeof(what), "type %u round trip", v[i].type);
		CHECK(l > 0, what);
		if (l <= 0)
			continue;
		CHECK_EQ(gm_decode(buf, (size_t)l, &back), 0, what);
		CHECK_MEM(&back, &v[i], sizeof(back), what);
		/* every shorter prefix and one extra byte are rejected */
		for (int p = 0; p < l; p++)
			CHECK_EQ(gm_decode(buf, (size_t)p, &back), -EBADMSG, "truncated");
		buf[l] = 0;
		CHECK_EQ(gm_decode(buf, (size_t)l + 1, &back), -EBADMSG, "trailing byte");
		CHECK_EQ(gm_encode(&v[i], buf, (size_t)l - 1), -ENOSPC, "too small a buffer");
	}
}

TEST(codec_compound_and_state)
{
	struct gmsg v[20];
	uint8_t enc[20][256], buf[4096];
	const uint8_t *parts[20];
	size_t lens[20], n = all_messages(v);
	struct gm_parts got;
	struct gm_state s = { .join = true, .lamport = 1234 }, back;
	struct gm_state_member mem[3] = {
		{ "a", 0x0100007f, 17000, 1, GOSSIP_ALIVE },
		{ "b", 0x0100007f, 17001, 4, GOSSIP_SUSPECT },
		{ "c", 0x0100007f, 17002, 2, GOSSIP_LEFT },
	};
	struct gossip_entry ents[2] = { sample_entry(), sample_entry() };
	struct gbuf b = { 0 };
	int l;

	for (size_t i = 0; i < n; i++) {
		lens[i] = (size_t)gm_encode(&v[i], enc[i], sizeof(enc[i]));
		parts[i] = enc[i];
	}
	l = gm_encode_compound(parts, lens, n, buf, sizeof(buf));
	CHECK(l > 0, "compound encodes");
	CHECK_EQ(gm_decode_compound(buf, (size_t)l, &got), 0, "compound decodes");
	CHECK_EQ(got.n, n, "part count");
	for (size_t i = 0; i < got.n && i < n; i++) {
		CHECK_EQ(got.len[i], lens[i], "part length");
		CHECK_MEM(got.p[i], enc[i], lens[i], "part bytes");
	}
	for (int p = 0; p < l; p++)
		CHECK_EQ(gm_decode_compound(buf, (size_t)p, &got), -EBADMSG, "truncated compound");
	CHECK_EQ(gm_encode_compound(parts, lens, n, buf, 40), -ENOSPC, "compound too big");
	parts[0] = buf; /* a compound inside a compound is refused */
	CHECK_EQ(gm_encode_compound(parts, lens, 1, enc[19], sizeof(enc[19])), -EINVAL,
		 "no nesting");

	ents[1].kind = GOSSIP_BLOCK;
	ents[1].deleted = true;
	s.members = mem;
	s.nmembers = 3;
	s.entries = ents;
	s.nentries = 2;
	CHECK_EQ(gm_encode_state(&s, &b), 0, "state encodes");
	CHECK_EQ(gm_decode_state(b.p, b.len, &back), 0, "state decodes");
	CHECK(back.join && back.lamport == 1234, "state header");
	CHECK_EQ(back.nmembers, 3, "members");
	CHECK_EQ(back.nentries, 2, "entries");
	if (back.nmembers == 3 && back.nentries == 2) {
		CHECK_MEM(back.members, mem, sizeof(mem), "members round trip");
		CHECK_MEM(back.entries, ents, sizeof(ents), "entries round trip");
	}
	gm_state_free(&back);
	for (size_t p = 0; p < b.len; p++)
		CHECK_EQ(gm_decode_state(b.p, p, &back), -EBADMSG, "truncated state");
	free(b.p);
}

TEST(codec_fuzz_never_crashes)
{
	struct gmsg v[20], m;
	uint8_t enc[256], buf[512];
	struct gm_parts parts;
	struct gm_state st;
	size_t n = all_messages(v);
	unsigned int seed = 12345;
	int ok = 0, bad = 0, other = 0;

	for (int it = 0; it < 200000; it++) {
		int l = gm_encode(&v[it % n], enc, sizeof(enc)), r;
		size_t len = (size_t)l;

		memcpy(buf, enc, len);
		/* 1..4 random mutations: flip, set, truncate, extend */
		for (int k = 0, nm = 1 + rand_r(&seed) % 4; k < nm; k++) {
			switch (rand_r(&seed) % 4) {
			case 0: buf[rand_r(&seed) % len] ^= (uint8_t)(1 << rand_r(&seed) % 8); break;
			case 1: buf[rand_r(&seed) % len] = (uint8_t)rand_r(&seed); break;
			case 2: len = (size_t)rand_r(&seed) % (len + 1); break;
			case 3: if (len < sizeof(buf) - 8) { buf[len] = (uint8_t)rand_r(&seed); len++; } break;
			}
			if (!len)
				break;
		}
		r = gm_decode(buf, len, &m);
		ok += r == 0;
		bad += r == -EBADMSG;
		other += r != 0 && r != -EBADMSG;
		r = gm_decode_compound(buf, len, &parts);
		other += r != 0 && r != -EBADMSG;
		r = gm_decode_state(buf, len, &st);
		if (r == 0)
			gm_state_free(&st);
		other += r != 0 && r != -EBADMSG && r != -ENOMEM;
	}
	/* pure garbage too */
	for (int it = 0; it < 50000; it++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		if (len && rand_r(&seed) % 2)
			buf[0] = (uint8_t)(1 + rand_r(&seed) % GM_STATE);
		other += gm_decode(buf, len, &m) < -EBADMSG;
		if (gm_decode_state(buf, len, &st) == 0)
			gm_state_free(&st);
		gm_decode_compound(buf, len, &parts);
	}
	CHECK_EQ(other, 0, "decoders return 0 or -EBADMSG only");
	CHECK(bad > 0 && ok > 0, "both outcomes seen");
	printf("# fuzz: %d decoded, %d rejected\n", ok, bad);
}

/* ------------------------------------------------------------ clusters */

#define MAXN 6

struct node {
	struct gossip *g;
	struct keyring *kr;
	char name[16];
	pthread_mutex_t mu;
	int seen_mask[MAXN];   /* bit per enum gossip_state seen for node i */
	int lost;              /* claim_lost callbacks */
	int idx;
};

struct cluster {
	struct node n[MAXN];
	int count;
	uint8_t key[KEYRING_KEY_LEN];
};

static int node_index(const char *name)
{
	return name[0] == 'n' && name[1] >= '0' && name[1] < '0' + MAXN ? name[1] - '0' : -1;
}

static void cb_member(void *ctx, const struct gossip_member *m)
{
	struct node *nd = ctx;
	int i = node_index(m->name);

	if (i < 0)
		return;
	pthread_mutex_lock(&nd->mu);
	nd->seen_mask[i] |= 1 << m->state;
	pthread_mutex_unlock(&nd->mu);
}

static void cb_lost(void *ctx, const struct gossip_entry *mine, const struct gossip_entry *w)
{
	struct node *nd = ctx;

	(void)mine;
	(void)w;
	pthread_mutex_lock(&nd->mu);
	nd->lost++;
	pthread_mutex_unlock(&nd->mu);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t test_pp_ms = 2000; /* push_pull_interval_ms of new nodes */

static void fast_config(struct gossip_config *c)
{
	gossip_config_defaults(c);
	c->bind_ip = htonl(INADDR_LOOPBACK);
	c->bind_port = 0;
	c->label = "shoal-test";
	c->probe_interval_ms = 100;
	c->probe_timeout_ms = 40;
	c->gossip_interval_ms = 20;
	c->push_pull_interval_ms = test_pp_ms;
	c->dead_reap_ms = 20000;
	c->tcp_timeout_ms = 1000;
	c->ae_quiet_ms = 200;
	c->ae_min_gap_ms = 300;
	c->claim_settled_ms = 200;
}

static int node_start(struct cluster *c, int i, const uint8_t *key)
{
	struct node *nd = &c->n[i];
	struct gossip_config cfg;
	struct shoal_err err = { 0 };

	memset(nd->seen_mask, 0, sizeof(nd->seen_mask));
	nd->lost = 0;
	nd->idx = i;
	snprintf(nd->name, sizeof(nd->name), "n%d", i);
	if (keyring_new(key ? key : c->key, &nd->kr, &err) < 0)
		return -1;
	fast_config(&cfg);
	cfg.name = nd->name;
	cfg.keyring = nd->kr;
	cfg.cb.ctx = nd;
	cfg.cb.member_changed = cb_member;
	cfg.cb.claim_lost = cb_lost;
	if (gossip_new(&cfg, &nd->g, &err) < 0 || gossip_start(nd->g, &err) < 0) {
		printf("# node %d: %s\n", i, err.msg);
		return -1;
	}
	return 0;
}

static void node_free(struct node *nd)
{
	gossip_free(nd->g);
	keyring_free(nd->kr);
	nd->g = NULL;
	nd->kr = NULL;
}

static int node_join(struct cluster *c, int i, int seed)
{
	char addr[32];
	const char *a[1] = { addr };
	struct shoal_err err = { 0 };

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", gossip_port(c->n[seed].g));
	return gossip_join(c->n[i].g, a, 1, &err);
}

static int cluster_up(struct cluster *c, int count)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < KEYRING_KEY_LEN; i++)
		c->key[i] = (uint8_t)(i * 13 + 5);
	c->count = count;
	for (int i = 0; i < count; i++) {
		pthread_mutex_init(&c->n[i].mu, NULL);
		if (node_start(c, i, NULL) < 0)
			return -1;
	}
	for (int i = 1; i < count; i++)
		if (node_join(c, i, 0) <= 0)
			return -1;
	return 0;
}

static void cluster_down(struct cluster *c)
{
	for (int i = 0; i < c->count; i++) {
		if (c->n[i].g || c->n[i].kr)
			node_free(&c->n[i]);
		pthread_mutex_destroy(&c->n[i].mu);
	}
}

/* State of member `name` as node nd sees it; -1 if unknown. */
static int state_of(struct node *nd, const char *name)
{
	struct gossip_member *v;
	size_t n;
	int st = -1;

	if (gossip_members(nd->g, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			st = (int)v[i].state;
	free(v);
	return st;
}

typedef bool (*cond_fn)(struct cluster *c, void *arg);

static bool wait_for(struct cluster *c, cond_fn f, void *arg, uint32_t timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;

	while (ms_now() < end) {
		if (f(c, arg))
			return true;
		usleep(10000);
	}
	return f(c, arg);
}

static bool all_alive(struct cluster *c, void *arg)
{
	(void)arg;
	for (int i = 0; i < c->count; i++) {
		if (!c->n[i].g)
			continue;
		for (int j = 0; j < c->count; j++)
			if (c->n[j].g && state_of(&c->n[i], c->n[j].name) != GOSSIP_ALIVE)
				return false;
	}
	return true;
}

struct ent_arg {
	const char *network;
	uint32_t ip;
	bool present;
	uint32_t vni;      /* when present: expected vni (0: any) */
	int skip;          /* node not checked */
};

static bool entry_everywhere(struct cluster *c, void *arg)
{
	struct ent_arg *a = arg;

	for (int i = 0; i < c->count; i++) {
		struct gossip_entry e;
		int r;

		if (!c->n[i].g || i == a->skip)
			continue;
		r = gossip_table_lookup(c->n[i].g, GOSSIP_ENDPOINT, a->network, a->ip, &e);
		if (a->present && (r < 0 || (a->vni && e.vni != a->vni)))
			return false;
		if (!a->present && r == 0)
			return false;
	}
	return true;
}

static struct gossip_entry endpoint(const char *net, uint32_t ip_host, uint32_t vni)
{
	struct gossip_entry e = { .kind = GOSSIP_ENDPOINT, .vni = vni };

	snprintf(e.network, sizeof(e.network), "%s", net);
	e.ip = htonl(ip_host);
	e.mac[0] = 0x02;
	e.mac[5] = (uint8_t)ip_host;
	return e;
}

TEST(cluster_join_and_table)
{
	struct cluster c;
	struct shoal_err err = { 0 };
	struct gossip_entry e = endpoint("blue", 0x0a000102, 256), got;
	struct ent_arg a = { .network = "blue", .ip = htonl(0x0a000102), .present = true,
			     .vni = 256, .skip = -1 };
	uint64_t t0;

	if (cluster_up(&c, 4) < 0) {
		cluster_down(&c);
		CHECK(0, "cluster starts");
		return;
	}
	t0 = ms_now();
	CHECK(wait_for(&c, all_alive, NULL, 5000), "all four see each other alive");
	printf("# converged in %llu ms\n", (unsigned long long)(ms_now() - t0));
	CHECK_EQ(gossip_num_alive(c.n[2].g), 4, "n2 counts 4 alive");

	CHECK_EQ(gossip_table_set(c.n[1].g, &e, &err), 0, err.msg);
	t0 = ms_now();
	CHECK(wait_for(&c, entry_everywhere, &a, 3000), "entry set on n1 reaches every node");
	printf("# entry everywhere in %llu ms\n", (unsigned long long)(ms_now() - t0));
	if (gossip_table_lookup(c.n[3].g, GOSSIP_ENDPOINT, "blue", e.ip, &got) == 0) {
		CHECK(strcmp(got.owner, "n1") == 0, "owner filled in");
		CHECK_EQ(got.owner_ip, htonl(INADDR_LOOPBACK), "owner underlay IP");
		CHECK_EQ(got.mac[5], 0x02, "mac");
	}
	/* update, then delete */
	e.vni = 257;
	CHECK_EQ(gossip_table_set(c.n[1].g, &e, &err), 0, "update");
	a.vni = 257;
	CHECK(wait_for(&c, entry_everywhere, &a, 3000), "update reaches every node");
	CHECK_EQ(gossip_table_delete(c.n[1].g, GOSSIP_ENDPOINT, "blue", e.ip), 0, "delete");
	CHECK_EQ(gossip_table_delete(c.n[2].g, GOSSIP_ENDPOINT, "blue", e.ip), -ENOENT,
		 "only the owner deletes");
	a.present = false;
	CHECK(wait_for(&c, entry_everywhere, &a, 3000), "delete reaches every node");
	cluster_down(&c);
}

struct state_arg {
	const char *name;
	int state;
	int skip;
};

static bool all_see_state(struct cluster *c, void *arg)
{
	struct state_arg *a = arg;

	for (int i = 0; i < c->count; i++)
		if (c->n[i].g && i != a->skip && state_of(&c->n[i], a->name) != a->state)
			return false;
	return true;
}

TEST(cluster_failure_detection_and_rejoin)
{
	struct cluster c;
	struct shoal_err err = { 0 };
	struct gossip_entry e = endpoint("red", 0x0a000203, 300);
	struct ent_arg a = { .network = "red", .ip = htonl(0x0a000203), .present = true,
			     .skip = -1 };
	struct state_arg dead = { "n3", GOSSIP_DEAD, 3 };
	int suspected = 0;
	uint64_t t0;

	if (cluster_up(&c, 4) < 0) {
		cluster_down(&c);
		CHECK(0, "cluster starts");
		return;
	}
	CHECK(wait_for(&c, all_alive, NULL, 5000), "converged");
	CHECK_EQ(gossip_table_set(c.n[3].g, &e, &err), 0, err.msg);
	CHECK(wait_for(&c, entry_everywhere, &a, 3000), "n3's entry everywhere");

	/* crash n3: no leave */
	gossip_stop(c.n[3].g);
	t0 = ms_now();
	/* min suspicion 400 ms, max 2.4 s with probe 100 ms: well inside 6 s */
	CHECK(wait_for(&c, all_see_state, &dead, 6000), "n0..n2 mark n3 dead");
	printf("# dead everywhere after %llu ms\n", (unsigned long long)(ms_now() - t0));
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&c.n[i].mu);
		suspected += (c.n[i].seen_mask[3] & (1 << GOSSIP_SUSPECT)) != 0;
		pthread_mutex_unlock(&c.n[i].mu);
	}
	CHECK(suspected >= 1, "suspect came before dead");
	a.present = false;
	a.skip = 3;
	CHECK(wait_for(&c, entry_everywhere, &a, 1000), "dead owner's entries dropped");

	/* n3 restarts (new process, new port, empty table), sets its entry, rejoins */
	node_free(&c.n[3]);
	CHECK_EQ(node_start(&c, 3, NULL), 0, "n3 restarts");
	e.vni = 301;
	CHECK_EQ(gossip_table_set(c.n[3].g, &e, &err), 0, err.msg);
	CHECK(node_join(&c, 3, 1) > 0, "n3 rejoins through n1");
	CHECK(wait_for(&c, all_alive, NULL, 5000), "n3 alive again everywhere (refuted)");
	a.present = true;
	a.vni = 301;
	a.skip = -1;
	CHECK(wait_for(&c, entry_everywhere, &a, 3000), "its entry restored with the new value");
	cluster_down(&c);
}

TEST(cluster_leave)
{
	struct cluster c;
	struct state_arg left = { "n2", GOSSIP_LEFT, 2 };

	if (cluster_up(&c, 3) < 0) {
		cluster_down(&c);
		CHECK(0, "cluster starts");
		return;
	}
	CHECK(wait_for(&c, all_alive, NULL, 5000), "converged");
	CHECK_EQ(gossip_leave(c.n[2].g, 500), 0, "leave");
	CHECK(wait_for(&c, all_see_state, &left, 2000), "n2 is 'left' on the others");
	gossip_stop(c.n[2].g);
	usleep(600000); /* longer than a suspicion: left must stay left, not dead */
	CHECK(all_see_state(&c, &left), "still left after it stopped");
	cluster_down(&c);
}

TEST(cluster_wrong_key_cannot_join)
{
	struct cluster c;
	struct gossip_stats st;
	uint8_t bad[KEYRING_KEY_LEN];

	if (cluster_up(&c, 3) < 0) {
		cluster_down(&c);
		CHECK(0, "cluster starts");
		return;
	}
	CHECK(wait_for(&c, all_alive, NULL, 5000), "converged");
	memset(bad, 0x5a, sizeof(bad));
	c.count = 4;
	pthread_mutex_init(&c.n[3].mu, NULL);
	CHECK_EQ(node_start(&c, 3, bad), 0, "intruder starts");
	CHECK(node_join(&c, 3, 0) < 0, "join with a wrong key fails");
	gossip_get_stats(c.n[0].g, &st);
	CHECK(st.rejects[KR_REJ_DECRYPT] >= 1, "seed counted a decrypt failure");
	CHECK_EQ(state_of(&c.n[0], "n3"), -1, "intruder unknown to the seed");
	CHECK_EQ(gossip_num_alive(c.n[3].g), 1, "intruder knows nobody");
	cluster_down(&c);
}

struct conv_arg {
	int count;
};

/* Every node's snapshot equals n0's. */
static bool tables_converged(struct cluster *c, void *arg)
{
	struct gossip_entry *ref = NULL, *v = NULL;
	size_t nref = 0, n = 0;
	bool ok = true;

	(void)arg;
	if (gossip_table_snapshot(c->n[0].g, &ref, &nref) < 0)
		return false;
	for (int i = 1; i < c->count && ok; i++) {
		if (gossip_table_snapshot(c->n[i].g, &v, &n) < 0) {
			ok = false;
			break;
		}
		if (n != nref)
			ok = false;
		for (size_t j = 0; j < n && ok; j++) {
			bool found = false;

			for (size_t k = 0; k < nref && !found; k++)
				found = ref[k].ip == v[j].ip && ref[k].lamport == v[j].lamport &&
					strcmp(ref[k].owner, v[j].owner) == 0;
			ok = found;
		}
		free(v);
		v = NULL;
	}
	free(ref);
	return ok;
}

TEST(cluster_key_rotation_under_load)
{
	struct cluster c;
	struct shoal_err err = { 0 };
	struct gossip_keyop_result r;
	uint8_t keys[5][KEYRING_KEY_LEN];
	uint64_t t0, fails = 0;
	int rot = 0, writes = 0, ops_ok = 0;

	if (cluster_up(&c, 3) < 0) {
		cluster_down(&c);
		CHECK(0, "cluster starts");
		return;
	}
	CHECK(wait_for(&c, all_alive, NULL, 5000), "converged");
	memcpy(keys[0], c.key, KEYRING_KEY_LEN);
	for (int k = 1; k < 5; k++)
		for (int i = 0; i < KEYRING_KEY_LEN; i++)
			keys[k][i] = (uint8_t)(k * 77 + i);
	t0 = ms_now();
	while (ms_now() - t0 < 4000) {
		int elapsed = (int)(ms_now() - t0);
		struct gossip_entry e = endpoint("green", 0x0a010000u + (uint32_t)(writes % 20),
						 (uint32_t)writes);

		gossip_table_set(c.n[writes % 3].g, &e, &err);
		writes++;
		if (elapsed >= (rot + 1) * 1000 && rot < 4) {
			/* install -> use -> remove, driven from a different node each time */
			struct gossip *g = c.n[rot % 3].g;

			ops_ok += gossip_key_install(g, keys[rot + 1], 2000, &r, &err) == 0 &&
				  r.acked == 2;
			ops_ok += gossip_key_use(g, keys[rot + 1], 2000, &r, &err) == 0 && r.acked == 2;
			ops_ok += gossip_key_remove(g, keys[rot], 2000, &r, &err) == 0 && r.acked == 2;
			rot++;
		}
		usleep(30000);
	}
	CHECK_EQ(rot, 3, "three rotations");
	CHECK_EQ(ops_ok, 3 * rot, "every key operation acknowledged by both others");
	CHECK(wait_for(&c, tables_converged, NULL, 5000), "tables converge");
	for (int i = 0; i < 3; i++) {
		struct keyring_info info[KEYRING_MAX_KEYS];
		struct gossip_stats st;
		char fp[KEYRING_FP_LEN];

		CHECK_EQ(gossip_key_list(c.n[i].g, info), 1, "one key left on every node");
		keyring_fingerprint(keys[rot], fp);
		CHECK(strcmp(info[0].fingerprint, fp) == 0, "the newest key is primary");
		gossip_get_stats(c.n[i].g, &st);
		fails += st.rejects[KR_REJ_DECRYPT] + st.rejects[KR_REJ_REPLAY] +
			 st.rejects[KR_REJ_STALE];
	}
	printf("# %d writes, %d rotations\n", writes, rot);
	CHECK_EQ(fails, 0, "no decrypt failures or replays during rotation");
	cluster_down(&c);
}

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

TEST(cluster_block_claim_conflict)
{
	struct cluster c;
	struct shoal_err err = { 0 };
	uint32_t b0 = 0, b1 = 0, subnet = htonl(0x0a800000), again = 0;
	struct gossip_entry w0, w1;
	int lost0, lost1;

	/* two separate one-node clusters claim from a subnet with one /24 block */
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < KEYRING_KEY_LEN; i++)
		c.key[i] = (uint8_t)(i * 3 + 1);
	c.count = 2;
	for (int i = 0; i < 2; i++) {
		pthread_mutex_init(&c.n[i].mu, NULL);
		CHECK_EQ(node_start(&c, i, NULL), 0, "node starts");
	}
	CHECK_EQ(gossip_claim_block(c.n[1].g, "ov", subnet, 24, 24, &b1, &err), 0, err.msg);
	CHECK_EQ(gossip_claim_block(c.n[0].g, "ov", subnet, 24, 24, &b0, &err), 0, err.msg);
	CHECK_EQ(b0, b1, "both picked the only block");
	CHECK_EQ(gossip_claim_block(c.n[0].g, "ov", subnet, 24, 24, &again, &err), -ENOSPC,
		 "no second block");
	/* merge: same created time (1), so the name decides: n0 < n1 */
	CHECK(node_join(&c, 1, 0) > 0, "clusters merge");
	sleep_ms(400);
	CHECK(wait_for(&c, all_alive, NULL, 3000), "merged");
	CHECK_EQ(gossip_table_lookup(c.n[0].g, GOSSIP_BLOCK, "ov", b0, &w0), 0, "winner on n0");
	CHECK_EQ(gossip_table_lookup(c.n[1].g, GOSSIP_BLOCK, "ov", b0, &w1), 0, "winner on n1");
	CHECK(strcmp(w0.owner, "n0") == 0 && strcmp(w1.owner, "n0") == 0,
	      "both agree n0 owns the block");
	pthread_mutex_lock(&c.n[0].mu);
	lost0 = c.n[0].lost;
	pthread_mutex_unlock(&c.n[0].mu);
	pthread_mutex_lock(&c.n[1].mu);
	lost1 = c.n[1].lost;
	pthread_mutex_unlock(&c.n[1].mu);
	CHECK_EQ(lost0, 0, "winner not told to move");
	CHECK_EQ(lost1, 1, "loser told to move (claim_lost)");
	CHECK(!gossip_block_settled(c.n[1].g, "ov", b1), "loser's block never settles");
	sleep_ms(250);
	CHECK(gossip_block_settled(c.n[0].g, "ov", b0), "winner's block settles");
	cluster_down(&c);
}

/* One periodic-style (digest-first) push-pull from node i to node j. */
static int pp_digest(struct cluster *c, int i, int j)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(gossip_port(c->n[j].g));
	r = stream_connect(c->n[i].g, &sa, &fd);
	if (r < 0)
		return r;
	r = stream_exchange(c->n[i].g, fd, true, PP_DIGEST);
	close(fd);
	return r;
}

static uint64_t same_of(struct node *nd)
{
	struct gossip_stats st;

	gossip_get_stats(nd->g, &st);
	return st.pp_digest_same;
}

TEST(cluster_pushpull_digest_first)
{
	struct cluster c;
	struct shoal_err err = { 0 };
	struct gossip_entry e = endpoint("red", 0x0a000203, 300), got;
	struct gossip_stats a0, a1, b0, b1;
	uint64_t same0, conns = 0, bytes = 0, same = 0;
	int tries;

	/* two one-node clusters, no timers that would push-pull by themselves */
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < KEYRING_KEY_LEN; i++)
		c.key[i] = (uint8_t)(i * 7 + 3);
	c.count = 2;
	test_pp_ms = 0;
	for (int i = 0; i < 2; i++) {
		pthread_mutex_init(&c.n[i].mu, NULL);
		CHECK_EQ(node_start(&c, i, NULL), 0, "node starts");
	}
	test_pp_ms = 2000;
	if (!c.n[0].g || !c.n[1].g) {
		cluster_down(&c);
		return;
	}
	CHECK_EQ(gossip_table_set(c.n[1].g, &e, &err), 0, err.msg);

	/* divergent: the digest differs, so full state goes both ways */
	same0 = same_of(&c.n[0]);
	CHECK_EQ(pp_digest(&c, 0, 1), 0, "divergent digest-first push-pull");
	CHECK_EQ(same_of(&c.n[0]), same0, "not reported same");
	CHECK_EQ(gossip_table_lookup(c.n[0].g, GOSSIP_ENDPOINT, "red", e.ip, &got), 0,
		 "n1's record reached n0");
	CHECK_EQ(state_of(&c.n[0], "n1"), GOSSIP_ALIVE, "n0 knows n1");
	CHECK(wait_for(&c, all_alive, NULL, 3000), "both alive in both views");

	/* in sync: only the digest exchange crosses */
	for (tries = 0; tries < 30; tries++) {
		gossip_get_stats(c.n[0].g, &a0);
		gossip_get_stats(c.n[1].g, &a1);
		CHECK_EQ(pp_digest(&c, 0, 1), 0, "in-sync digest-first push-pull");
		if (same_of(&c.n[0]) > a0.pp_digest_same)
			break;
		usleep(100000);
	}
	CHECK(tries < 30, "digests agree once converged");
	sleep_ms(50); /* the responder counts after its answer */
	gossip_get_stats(c.n[0].g, &b0);
	gossip_get_stats(c.n[1].g, &b1);
	printf("# in-sync push-pull: %llu B out, %llu B back (tries %d)\n",
	       (unsigned long long)(b0.tcp_bytes_out - a0.tcp_bytes_out),
	       (unsigned long long)(b1.tcp_bytes_out - a1.tcp_bytes_out), tries);
	CHECK(b0.tcp_bytes_out - a0.tcp_bytes_out < 100, "initiator sent only a digest");
	CHECK(b1.tcp_bytes_out - a1.tcp_bytes_out < 100, "responder sent only 'same'");
	CHECK_EQ(b1.pp_digest_same, a1.pp_digest_same + 1, "responder reports same");
	CHECK_EQ(b0.push_pulls, a0.push_pulls, "nothing merged");
	cluster_down(&c);

	/* the real timer: a converged pair's periodic push-pulls stay small */
	test_pp_ms = 200;
	if (cluster_up(&c, 2) < 0) {
		test_pp_ms = 2000;
		cluster_down(&c);
		CHECK(0, "cluster starts");
		return;
	}
	test_pp_ms = 2000;
	CHECK(wait_for(&c, all_alive, NULL, 3000), "pair converged");
	sleep_ms(500);
	gossip_get_stats(c.n[0].g, &a0);
	gossip_get_stats(c.n[1].g, &a1);
	sleep_ms(2000);
	gossip_get_stats(c.n[0].g, &b0);
	gossip_get_stats(c.n[1].g, &b1);
	conns = b0.tcp_conns_out - a0.tcp_conns_out + b1.tcp_conns_out - a1.tcp_conns_out;
	bytes = b0.tcp_bytes_out - a0.tcp_bytes_out + b1.tcp_bytes_out - a1.tcp_bytes_out;
	same = b0.pp_digest_same - a0.pp_digest_same + b1.pp_digest_same - a1.pp_digest_same;
	printf("# periodic: %llu push-pulls, %llu same (counted both ends), %llu B\n",
	       (unsigned long long)conns, (unsigned long long)same, (unsigned long long)bytes);
	CHECK(conns >= 4, "periodic push-pulls ran");
	CHECK(same >= conns, "converged pair: ended by the digest");
	CHECK(bytes < conns * 2 * 100, "only digests crossed");
	cluster_down(&c);
}

void unit_gossip_tests(void)
{
	RUN(codec_roundtrip_every_type);
	RUN(codec_unknown_kind_refused);
	RUN(codec_compound_and_state);
	RUN(codec_fuzz_never_crashes);
	RUN(cluster_join_and_table);
	RUN(cluster_failure_detection_and_rejoin);
	RUN(cluster_leave);
	RUN(cluster_wrong_key_cannot_join);
	RUN(cluster_key_rotation_under_load);
	RUN(cluster_block_claim_conflict);
	RUN(cluster_pushpull_digest_first);
}
