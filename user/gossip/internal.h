/* SPDX-License-Identifier: Apache-2.0 */
/*
 * internal.h - state shared by the gossip implementation files:
 * gossip.c (lifecycle, threads, UDP, timers, events, API), membership.c
 * (SWIM probes, suspicion), broadcast.c (transmit-limited queue), table.c
 * (replicated endpoint table), stream.c (TCP push-pull). Everything here is
 * guarded by gossip.mu unless a comment says otherwise.
 */
#ifndef SHOAL_GOSSIP_INTERNAL_H
#define SHOAL_GOSSIP_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "gossip.h"
#include "keyring.h"

#define GOSSIP_MAX_CONFIRMERS 32
#define GOSSIP_MAX_PENDING 256
#define GOSSIP_SYNC_QUEUE 8
#define GOSSIP_MAX_FRAME (64u << 20) /* largest TCP frame accepted */

/* ---------------------------------------------------------- broadcast */

struct bq_item {
	char key[192];    /* a newer item with the same key replaces it */
	uint8_t *msg;
	size_t len;
	uint32_t transmits;
	uint64_t id;      /* insertion order: newer first among equals */
	bool eager_sent;  /* went out in an early round (not counted) */
};

struct bqueue {
	struct bq_item *v;
	size_t n, cap;
	uint64_t next_id;
};

/* Queue msg under key; 1 if the key was new, 0 if it replaced, -ENOMEM. */
int bq_push(struct bqueue *q, const char *key, const uint8_t *msg, size_t len);
/*
 * Take the fewest-transmitted items that fit in budget bytes (each costs
 * len + per_part), copying them to out (cap bytes); parts/lens point into
 * out. Counts one transmit each and drops items that reached limit.
 */
size_t bq_take(struct bqueue *q, uint32_t limit, size_t budget, size_t per_part,
	       uint8_t *out, size_t cap, const uint8_t **parts, size_t *lens, size_t maxparts);
/*
 * An early round: only items not sent early yet, not counted against the
 * limit (the early push is extra; the regular retransmits still follow).
 * Call bq_eager_done() after the round's last target.
 */
size_t bq_take_eager(struct bqueue *q, size_t budget, size_t per_part, uint8_t *out,
		     size_t cap, const uint8_t **parts, size_t *lens, size_t maxparts);
void bq_eager_done(struct bqueue *q);
void bq_clear(struct bqueue *q);

/* ---------------------------------------------------------- members */

struct member {
	struct gossip_member pub;
	uint64_t state_change_ms;
	/* suspicion (state == GOSSIP_SUSPECT) */
	uint64_t susp_start_ms, susp_min_ms, susp_max_ms;
	uint32_t susp_k, susp_n;
	uint64_t confirmers[GOSSIP_MAX_CONFIRMERS]; /* name hashes */
	bool confirm_pending;
};

enum pend_kind { P_RELAY = 1, P_CONFIRM };

struct pending {
	uint32_t seq;
	uint8_t kind;
	uint64_t deadline;
	char target[GOSSIP_NAME_MAX];
	uint32_t target_inc;       /* P_CONFIRM: incarnation suspected */
	struct sockaddr_in req;    /* P_RELAY: who asked */
	uint32_t req_seq;
	bool want_nack;
};

struct probe {
	bool active, indirect;
	uint32_t seq;
	char target[GOSSIP_NAME_MAX];
	uint64_t deadline, end;
	uint32_t relays, nacks;
};

/* ---------------------------------------------------------- table */

struct trec {
	struct gossip_entry e;
	uint64_t changed_ms;  /* local time of the last change (reaping) */
	bool lost;            /* own record, claim_lost already reported */
	uint64_t won_ms;      /* own block: since when it is the winner */
};

struct tgroup {
	struct tgroup *next;
	uint8_t kind;
	char network[GOSSIP_NAME_MAX];
	uint32_t ip;
	struct trec *recs;
	size_t n, cap;
	bool has_winner;
	struct gossip_entry winner; /* as last reported by entry_changed */
};

struct table {
	struct tgroup **buckets;
	size_t nbuckets, ngroups, nrecs;
	uint64_t clock; /* Lamport */
};

/* ---------------------------------------------------------- events */

enum ev_type { EV_MEMBER = 1, EV_ENTRY, EV_LOST };

struct gevent {
	uint8_t type;
	bool deleted;
	struct gossip_member m;
	struct gossip_entry e, winner;
};

/* ---------------------------------------------------------- keyops */

struct keyop_wait {
	bool active;
	uint32_t id;
	uint8_t op;
	uint8_t key[KEYRING_KEY_LEN];
	size_t n;
	char (*names)[GOSSIP_NAME_MAX];
	struct sockaddr_in *addrs;
	int *result;   /* 1 = waiting, 0 = done, < 0 error */
	uint64_t next_retx, deadline;
};

/* ---------------------------------------------------------- the node */

struct gossip {
	struct gossip_config cfg;
	char name[GOSSIP_NAME_MAX];
	char label[KEYRING_LABEL_MAX + 1];
	struct keyring *kr;
	struct keyring_guard *guard;
	int udp, tcp, wake_fd, accept_wake_fd;
	uint16_t port;
	uint32_t adv_ip;
	uint16_t adv_port;

	pthread_mutex_t mu;
	pthread_cond_t cond;           /* keyop and sync queue waiters */
	pthread_t th_gossip, th_accept, th_sync;
	bool started, running, leaving;

	struct member **mv;            /* members, mv[0] is this node */
	size_t nm, capm;
	struct member **plist;         /* probe order */
	size_t np, pidx;
	char (*glist)[GOSSIP_NAME_MAX]; /* gossip target cycle */
	size_t ngl, gidx;
	struct probe probe;
	struct pending pend[GOSSIP_MAX_PENDING];
	size_t npend;
	uint32_t seq;

	struct bqueue bq;
	uint64_t t_probe, t_gossip, t_eager, t_pushpull, t_reap, last_round;

	struct table tab;
	uint64_t digest, digest_changed_ms, last_ae;
	bool digest_dirty;

	struct sockaddr_in syncq[GOSSIP_SYNC_QUEUE];
	bool syncdig[GOSSIP_SYNC_QUEUE]; /* digest-first (periodic) */
	size_t nsync;

	struct gevent *ev;
	size_t nev, capev;

	struct keyop_wait kop;
	pthread_mutex_t keyop_mu;      /* one cluster key operation at a time */

	struct gossip_stats st;        /* updated with __atomic ops */
	unsigned int rng;
};

/*
 * Natural log without libm (the binaries do not link it): x = m * 2^e,
 * ln m = 2 atanh((m-1)/(m+1)), a fast series for m in [1,2).
 */
static inline double gossip_ln(double x)
{
	double y, y2, term, sum = 0;
	int e = 0;

	if (x <= 0)
		return -1e300;
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	y = (x - 1) / (x + 1);
	y2 = y * y;
	term = y;
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= y2;
	}
	return 2 * sum + e * 0.69314718055994530942;
}

static inline double gossip_log10(double x)
{
	return gossip_ln(x) / 2.30258509299404568402;
}

static inline double gossip_ceil(double x)
{
	double t = (double)(long long)x;

	return t < x ? t + 1 : t;
}

#define STAT_ADD(g, f, v) __atomic_add_fetch(&(g)->st.f, (v), __ATOMIC_RELAXED)

/* gossip.c */
uint64_t gossip_now_ms(void);      /* CLOCK_MONOTONIC */
uint64_t gossip_wall_ms(void);     /* CLOCK_REALTIME */
uint32_t gossip_rand(struct gossip *g);
void gossip_event(struct gossip *g, const struct gevent *ev);
void gossip_wake(struct gossip *g);
/* Seal and send payload to dst, then piggyback queued broadcasts. */
void gossip_send(struct gossip *g, const struct sockaddr_in *dst, const uint8_t *msg,
		 size_t len, bool piggyback);
/* Encode m and gossip_send it. */
void gossip_send_msg(struct gossip *g, const struct sockaddr_in *dst, const struct gmsg *m,
		     bool piggyback);
/* Queue a broadcast (encoded m) under key; schedules an early round if new. */
void gossip_broadcast(struct gossip *g, const char *key, const struct gmsg *m);
void gossip_addr(uint32_t ip, uint16_t port, struct sockaddr_in *sa);
void gossip_digest_refresh(struct gossip *g, uint64_t now);
uint8_t gossip_digest_stable(struct gossip *g, uint64_t now);
void gossip_sync_enqueue(struct gossip *g, const struct sockaddr_in *sa, bool digest_first);

/* membership.c */
struct member *mem_find(struct gossip *g, const char *name);
size_t mem_num_alive(struct gossip *g);
bool mem_visible(struct gossip *g, const char *owner);
int mem_init_self(struct gossip *g);
void mem_free_all(struct gossip *g);
void mem_alive(struct gossip *g, uint32_t inc, const char *name, uint32_t ip, uint16_t port);
void mem_suspect(struct gossip *g, uint32_t inc, const char *name, const char *from);
void mem_dead(struct gossip *g, uint32_t inc, const char *name, const char *from, bool leave);
void mem_handle(struct gossip *g, const struct gmsg *m, const char *sender,
		const struct sockaddr_in *src, uint64_t now);
void mem_timers(struct gossip *g, uint64_t now);
uint64_t mem_next_deadline(struct gossip *g);
void mem_broadcast_alive(struct gossip *g);
size_t mem_random(struct gossip *g, struct member **out, size_t k, const char *exclude,
		  bool include_dead);
/* k distinct gossip targets from a shuffled cycle over the eligible members. */
size_t mem_gossip_targets(struct gossip *g, struct member **out, size_t k);
void mem_reap(struct gossip *g, uint64_t now);
uint32_t mem_retransmit_limit(struct gossip *g);

/* table.c */
int table_init(struct table *t);
void table_free(struct table *t);
/* A record from the network; true if it changed our table. */
bool table_apply(struct gossip *g, const struct gossip_entry *in, uint64_t now);
int table_set_local(struct gossip *g, const struct gossip_entry *e, uint64_t now);
int table_delete_local(struct gossip *g, uint8_t kind, const char *network, uint32_t ip,
		       uint64_t now);
/* Owner's visibility may have changed: recompute winners. */
void table_owner_changed(struct gossip *g, const char *owner);
void table_reannounce(struct gossip *g);
void table_reap(struct gossip *g, uint64_t now);
uint64_t table_digest(struct gossip *g);
/* Records to send in a push-pull (malloc'ed). */
int table_export(struct gossip *g, struct gossip_entry **out, size_t *n);
int table_snapshot(struct gossip *g, struct gossip_entry **out, size_t *n);
struct tgroup *table_group(struct table *t, uint8_t kind, const char *network, uint32_t ip,
			   bool create);
void entry_key(const struct gossip_entry *e, char *buf, size_t len);

/* stream.c */
/*
 * How an outgoing push-pull opens: PP_JOIN and PP_FULL send the full state
 * at once (join, digest-triggered anti-entropy); PP_DIGEST (the periodic
 * one) sends the digest first and ships state only if the responder's
 * digest differs. The responder follows whatever the initiator opened with.
 */
enum pp_mode { PP_FULL = 0, PP_JOIN, PP_DIGEST };
int stream_exchange(struct gossip *g, int fd, bool initiator, enum pp_mode mode);
int stream_connect(struct gossip *g, const struct sockaddr_in *sa, int *fd);
void *stream_accept_thread(void *arg);
void *stream_sync_thread(void *arg);

#endif
