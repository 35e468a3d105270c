/* SPDX-License-Identifier: Apache-2.0 */
/*
 * swarm.h - swarm mode internals shared by swarm.c (membership, join
 * protocol, discovery, rotation) and api_swarm.c (the HTTP handlers).
 *
 * Locking: sw->op serialises the swarm-level operations (init, join,
 * leave, token/key rotation, the background rejoin) and is taken before
 * d->lock. d->lock protects every field below and the state store. The
 * gossip callbacks take d->lock only (never sw->op), and nothing holds
 * d->lock while it waits for the gossip thread (gossip_join, key ops,
 * gossip_stop): those run under sw->op alone.
 */
#ifndef SHOAL_DAEMON_SWARM_H
#define SHOAL_DAEMON_SWARM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../gossip/gossip.h"
#include "daemon.h"

#define SW_ID_LEN 26     /* 25 chars + NUL (Docker's node/cluster IDs) */
#define SW_SECRET_LEN 33 /* 32 hex + NUL */
#define SW_MAX_NODES 512
#define SW_MAX_BLOCKS 256
#define SW_MAX_NETS 128
#define SW_MAX_ADDRS 64
#define SW_DEFAULT_JOIN_PORT 2377

enum sw_role { SW_WORKER = 0, SW_MANAGER = 1, SW_LEADER = 2 /* manager that rotates keys */ };

struct sw_node {
	char name[GOSSIP_NAME_MAX];
	char id[SW_ID_LEN];
	int role;             /* enum sw_role */
	uint32_t ip;          /* NBO */
	uint16_t join_port;   /* managers */
};

struct sw_block {
	char net[GOSSIP_NAME_MAX];
	uint32_t block, subnet; /* NBO */
	uint8_t prefix, subnet_prefix;
};

struct swarm {
	pthread_mutex_t op;
	bool active;
	bool applying;       /* a gossip-driven change: hooks do not republish */
	bool dirty;          /* save the meta at the next tick */
	bool need_join;      /* restored from state: rejoin in the background */
	struct gossip *g;
	struct keyring *kr;
	char cluster_id[SW_ID_LEN];
	char node_id[SW_ID_LEN];
	int role;
	uint32_t adv_ip;     /* NBO: gossip address */
	uint16_t gossip_port;
	uint16_t adv_join_port;
	uint32_t listen_ip;
	uint16_t listen_port;
	char worker_secret[SW_SECRET_LEN], manager_secret[SW_SECRET_LEN];
	char join_secret[SW_SECRET_LEN]; /* the token secret this node joined with */
	char join_addrs[SW_MAX_ADDRS][32]; /* managers' join addresses, for a rejoin */
	size_t n_join_addrs;
	char members[SW_MAX_ADDRS][32];    /* gossip addresses seen, for a rejoin */
	size_t n_members;
	int64_t created, updated, rotation_s, last_rotation;
	int64_t secrets_updated_ms; /* when the token secrets last changed (LWW among managers) */
	uint8_t pending_key[KEYRING_KEY_LEN]; /* installed, not yet used */
	int pending_tries;
	char saved_fps[KEYRING_MAX_KEYS * KEYRING_FP_LEN + 8];
	struct sw_node nodes[SW_MAX_NODES];
	size_t n_nodes;
	struct sw_block blocks[SW_MAX_BLOCKS];
	size_t n_blocks;
	char owned[SW_MAX_NETS][GOSSIP_NAME_MAX]; /* overlay networks this node published */
	size_t n_owned;
	/* networks whose publisher removed them while alive: never adopted */
	char removed[SW_MAX_NETS][GOSSIP_NAME_MAX];
	size_t n_removed;
	uint64_t join_rejects, join_accepts;
	/* join listener (managers) */
	int listen_fd;
	pthread_t listen_thr;
	bool listen_running;
	/* timer thread: keyring persistence, rotation, rejoin, sweep */
	pthread_t timer_thr;
	bool timer_running, stop;
	pthread_cond_t cond;
	int64_t last_sweep;
	int64_t last_secrets_sync;
};

/* swarm.c, for api_swarm.c. sw->op held, d->lock not. */
int swarm_init(struct daemon *d, const char *listen, const char *advertise, char node_id[SW_ID_LEN],
	       struct shoal_err *err);
int swarm_join(struct daemon *d, const char *listen, const char *advertise,
	       const char *const *remotes, size_t n_remotes, const char *token,
	       struct shoal_err *err);
int swarm_leave(struct daemon *d, struct shoal_err *err);
int swarm_rotate_key(struct daemon *d, struct shoal_err *err);
/* New token secrets (rotate_worker / rotate_manager), pushed to every
 * reachable manager over the join port, sealed with the old manager secret. */
int swarm_rotate_tokens(struct daemon *d, bool rotate_worker, bool rotate_manager,
			struct shoal_err *err);
/* d->lock held: is this node the acting leader (rotates keys)? The init
 * node while it is alive, else the alive manager with the lowest name. */
bool swarm_is_leader(struct daemon *d);
/* d->lock held: other alive managers (for `swarm leave`). */
int swarm_other_managers(struct daemon *d);
/* d->lock held. */
void swarm_token(const struct swarm *sw, bool manager, char out[80]);
int swarm_new_secret(char out[SW_SECRET_LEN]);
void swarm_mark_dirty(struct daemon *d);
json_t *swarm_nodes_json(struct daemon *d);

#endif
