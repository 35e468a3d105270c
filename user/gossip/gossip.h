/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gossip.h - embedded, encrypted SWIM gossip: cluster membership plus the
 * replicated overlay endpoint table. shoald embeds one struct gossip per
 * host (DESIGN.md section 4, "Peer discovery").
 *
 * Threads. gossip_start() runs three threads: the gossip thread (UDP,
 * timers: probes, gossip rounds, suspicion, reaping) which also calls every
 * callback, an accept thread serving TCP push-pull, and a sync thread that
 * starts outgoing push-pulls. All state sits behind one mutex; callbacks run
 * on the gossip thread *without* it held, so they may call any gossip_*
 * function except gossip_stop()/gossip_free().
 *
 * Membership (SWIM + Lifeguard-style suspicion). Every probe interval one
 * member is pinged (round-robin over a list reshuffled at each pass); no ack
 * within the probe timeout -> ping-req through indirect_checks members
 * (they answer ack, or nack after 4/5 of a probe timeout); still nothing by
 * the end of the interval, or a nack from every relay -> the member is
 * suspect. A suspicion times out after
 *   min = suspicion_mult * max(1, log10(n)) * probe_interval
 *   max = suspicion_max_mult * min
 * shrinking from max to min as independent confirmations arrive
 * (timeout = max - (max-min) * log(c+1)/log(k+1), k = suspicion_mult-2).
 * A member that hears a suspicion it did not raise probes the suspect at
 * once and, if that fails too, adds its own confirmation: suspicions reach
 * min quickly instead of waiting for round-robin probes. The suspect
 * refutes by bumping its incarnation; otherwise it is declared dead.
 * gossip_leave() makes it "left". Dead/left members are reaped after
 * dead_reap_ms.
 *
 * Dissemination. Membership changes and table updates go into a
 * transmit-limited queue (each sent retransmit_mult * ceil(log10(n+1))
 * times, fewest-sent first, packed up to the MTU), piggybacked on pings and
 * acks and sent every gossip interval to gossip_nodes members taken from a
 * shuffled cycle (successive rounds reach different members, so a node's
 * retransmits do not land on the same few). A *new* item is also pushed at
 * once (eager_delay_ms later, at most one such round per
 * gossip_interval/8) to gossip_nodes members, on top of its regular
 * retransmits: an update moves at network speed instead of waiting a
 * gossip tick per hop, and is sent limit + gossip_nodes times per node,
 * which makes "reached nobody more" rare even at 8 members.
 *
 * Anti-entropy. (1) A TCP push-pull (members + full table) with one random
 * member every push_pull_interval (scaled up above 32 members as
 * memberlist does) and at join. The periodic one is digest-first: the
 * initiator sends its digest (the one below); an equal digest is answered
 * "same" and the exchange ends (about 50 sealed bytes each way instead of
 * the whole table), a different one by the responder's full state, then
 * the initiator's. Join and digest-triggered push-pulls send full state
 * at once. (2) A digest in every ping and ack: 8 bytes
 * of XORed hashes over the alive members (name, incarnation) and the live
 * table records (key, owner, lamport) plus how long it has been stable. A
 * prober whose digest differs from its target's, both stable for at least
 * ae_quiet_ms, starts a push-pull with it (at most one per ae_min_gap_ms):
 * a lost update is repaired within a few probe intervals, not 30 s later,
 * and costs 9 bytes per ping/ack when nothing is wrong.
 *
 * Table. Records are per owner: key (kind, network, ip, owner). Only the
 * owner writes its records, so each is a last-writer-wins register ordered
 * by the owner's Lamport time (lamport, owner). Every node keeps a Lamport
 * clock (max of seen + 1 on each write). Deletes are tombstones kept for
 * tombstone_reap_ms. A record whose owner is dead or left is hidden (the
 * entry_changed callback reports it deleted) and shown again when the owner
 * comes back; a returning owner re-announces its records and tombstones
 * any record of its own it does not know (a restart forgot it).
 *
 * IP allocation: two hosts never keep one address. Each host allocates
 * container IPs only inside address blocks it claims through the table
 * (kind GOSSIP_BLOCK, gossip_claim_block(): a random block that no live
 * record claims in this node's view, to make concurrent picks unlikely to
 * collide). If two owners hold live records for the same (kind, network,
 * ip) - two claims of one block or two endpoints on one IP - the one with
 * the lowest (created, owner) wins, "created" being the Lamport time of the
 * first write of that record: first claim wins, ties by name. Every node
 * computes the same winner from the same records, entry_changed always
 * reports the winner, and the loser's node gets claim_lost() so its daemon
 * moves (claims a new block, readdresses). Daemons should use a block only
 * once claim_settled_ms passed without claim_lost (gossip_block_settled()).
 *
 * Security. Every datagram and TCP frame is sealed by keyring.h (AES-256-
 * GCM, cluster label as associated data, replay guard). Key changes are
 * sent to every alive member directly, retransmitted until acknowledged,
 * so gossip_key_install/use/remove report how many members applied them.
 */
#ifndef SHOAL_GOSSIP_H
#define SHOAL_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "keyring.h"

#define GOSSIP_NAME_MAX 64 /* node and network names: up to 63 chars */
#define GOSSIP_DEFAULT_PORT 7946

enum gossip_state { GOSSIP_ALIVE, GOSSIP_SUSPECT, GOSSIP_DEAD, GOSSIP_LEFT };

enum gossip_entry_kind {
	GOSSIP_ENDPOINT = 1, /* a container's overlay address */
	GOSSIP_BLOCK = 2,    /* an address block claimed by its owner */
	/*
	 * Opaque to the library (replicated like the others; conflicts
	 * resolved the same way), interpreted by the daemon:
	 * GOSSIP_NODE: one per node, its role and identity;
	 * GOSSIP_NETWORK: an overlay network published by its creator.
	 */
	GOSSIP_NODE = 3,
	GOSSIP_NETWORK = 4,
};
#define GOSSIP_KIND_OK(k) ((k) >= GOSSIP_ENDPOINT && (k) <= GOSSIP_NETWORK)

struct gossip_member {
	char name[GOSSIP_NAME_MAX];
	uint32_t ip; /* network byte order */
	uint16_t port;
	uint32_t incarnation;
	enum gossip_state state;
};

/*
 * One table record. Key: (kind, network, ip, owner). For a block, ip/prefix
 * are the block and subnet/subnet_prefix the pool it was cut from.
 */
struct gossip_entry {
	uint8_t kind;
	char network[GOSSIP_NAME_MAX];
	uint32_t ip;       /* NBO */
	uint8_t prefix;    /* 32 for endpoints */
	uint8_t mac[6];
	uint32_t vni;
	uint32_t subnet;   /* NBO, 0 if unknown */
	uint8_t subnet_prefix;
	char owner[GOSSIP_NAME_MAX];
	uint32_t owner_ip; /* owner's underlay (VTEP) address, NBO */
	uint64_t lamport;  /* time of the last write */
	uint64_t created;  /* time of the first write: conflict resolution */
	bool deleted;      /* tombstone */
};

struct gossip_callbacks {
	void *ctx;
	/* A member joined, changed state or address. */
	void (*member_changed)(void *ctx, const struct gossip_member *m);
	/* The winning record of (kind, network, ip) changed or went away. */
	void (*entry_changed)(void *ctx, const struct gossip_entry *e, bool deleted);
	/* One of this node's records lost a conflict to winner: move it. */
	void (*claim_lost)(void *ctx, const struct gossip_entry *mine,
			   const struct gossip_entry *winner);
};

struct gossip_config {
	const char *name;           /* unique node name */
	uint32_t bind_ip;           /* NBO; UDP and TCP */
	uint16_t bind_port;         /* 0: any free port (tests) */
	uint32_t advertise_ip;      /* 0: bind_ip */
	uint16_t advertise_port;    /* 0: the bound port */
	const char *label;          /* cluster label, authenticated ("" ok) */
	struct keyring *keyring;    /* required; shared with the caller */
	struct gossip_callbacks cb;

	uint32_t probe_interval_ms;     /* 1000 */
	uint32_t probe_timeout_ms;      /* 500 */
	uint32_t gossip_interval_ms;    /* 200 */
	uint32_t gossip_nodes;          /* 3 */
	uint32_t indirect_checks;       /* 3 */
	uint32_t suspicion_mult;        /* 4 */
	uint32_t suspicion_max_mult;    /* 6 */
	uint32_t retransmit_mult;       /* 4 */
	uint32_t push_pull_interval_ms; /* 30000; 0 disables periodic push-pull */
	uint32_t dead_reap_ms;          /* 30000: forget dead/left members */
	uint32_t tombstone_reap_ms;     /* 600000 */
	uint32_t mtu;                   /* 1400: max sealed datagram */
	uint32_t tcp_timeout_ms;        /* 10000 */
	uint32_t replay_window_ms;      /* 30000 */
	uint32_t replay_cache;          /* 16384 nonces */
	uint32_t ae_quiet_ms;           /* 1000; 0 disables digest anti-entropy */
	uint32_t ae_min_gap_ms;         /* 2000 */
	uint32_t eager_delay_ms;        /* 2; 0 disables early gossip rounds */
	uint32_t claim_settled_ms;      /* 3000 */
};

struct gossip_stats {
	uint64_t udp_pkts_in, udp_pkts_out, udp_bytes_in, udp_bytes_out;
	uint64_t tcp_conns_in, tcp_conns_out, tcp_bytes_in, tcp_bytes_out;
	uint64_t rejects[KR_REJ_MAX]; /* by enum keyring_reject */
	uint64_t decode_errors;       /* authentic but undecodable */
	uint64_t push_pulls, ae_syncs, probes, probe_failures, suspects, deaths;
	uint64_t refutes, eager_rounds, gossip_rounds;
	uint64_t pp_digest_same;      /* periodic push-pulls ended by equal digests */
};

struct gossip_keyop_result {
	int members;  /* alive members asked (excluding this node) */
	int acked;    /* answered "done" */
	int failed;   /* answered an error */
};

struct gossip;

/* LAN defaults (memberlist DefaultLANConfig timings). */
void gossip_config_defaults(struct gossip_config *c);

int gossip_new(const struct gossip_config *cfg, struct gossip **out, struct shoal_err *err);
int gossip_start(struct gossip *g, struct shoal_err *err);
/*
 * Push-pull with each "IP:PORT" in turn; returns how many answered (> 0),
 * or -errno when none did.
 */
int gossip_join(struct gossip *g, const char *const *addrs, size_t n, struct shoal_err *err);
/* Announce "left" to every member, wait up to timeout_ms for it to go out. */
int gossip_leave(struct gossip *g, uint32_t timeout_ms);
/* Stop the threads and close the sockets (no leave: a crash to others). */
void gossip_stop(struct gossip *g);
void gossip_free(struct gossip *g);

uint16_t gossip_port(const struct gossip *g);
const char *gossip_name(const struct gossip *g);
/* malloc'ed snapshot of every known member including this node. */
int gossip_members(struct gossip *g, struct gossip_member **out, size_t *n);
/* Alive (or suspect) members including this node. */
size_t gossip_num_alive(struct gossip *g);

/* Set/replace this node's record (owner, lamport, created filled in). */
int gossip_table_set(struct gossip *g, const struct gossip_entry *e, struct shoal_err *err);
/* Tombstone this node's record; -ENOENT if it has none. */
int gossip_table_delete(struct gossip *g, uint8_t kind, const char *network, uint32_t ip);
/* malloc'ed snapshot of the winning, visible, live records. */
int gossip_table_snapshot(struct gossip *g, struct gossip_entry **out, size_t *n);
/* The winner for (kind, network, ip): 0, or -ENOENT. */
int gossip_table_lookup(struct gossip *g, uint8_t kind, const char *network, uint32_t ip,
			struct gossip_entry *out);

/*
 * Claim a free block of block_prefix inside subnet/subnet_prefix for this
 * node; *block gets its base address (NBO). -ENOSPC when none is free.
 */
int gossip_claim_block(struct gossip *g, const char *network, uint32_t subnet,
		       uint8_t subnet_prefix, uint8_t block_prefix, uint32_t *block,
		       struct shoal_err *err);
int gossip_release_block(struct gossip *g, const char *network, uint32_t block);
/* True once this node's claim won and claim_settled_ms passed since it. */
bool gossip_block_settled(struct gossip *g, const char *network, uint32_t block);

void gossip_get_stats(struct gossip *g, struct gossip_stats *out);
/* Messages still in the transmit-limited queue (0: nothing left to send). */
size_t gossip_pending_broadcasts(struct gossip *g);

/* Cluster-wide key management: applied here, then on every alive member. */
int gossip_key_install(struct gossip *g, const uint8_t key[KEYRING_KEY_LEN],
		       uint32_t timeout_ms, struct gossip_keyop_result *res,
		       struct shoal_err *err);
int gossip_key_use(struct gossip *g, const uint8_t key[KEYRING_KEY_LEN], uint32_t timeout_ms,
		   struct gossip_keyop_result *res, struct shoal_err *err);
int gossip_key_remove(struct gossip *g, const uint8_t key[KEYRING_KEY_LEN],
		      uint32_t timeout_ms, struct gossip_keyop_result *res,
		      struct shoal_err *err);
int gossip_key_list(struct gossip *g, struct keyring_info out[KEYRING_MAX_KEYS]);

const char *gossip_state_name(enum gossip_state s);

#endif
