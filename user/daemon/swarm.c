// SPDX-License-Identifier: Apache-2.0
/*
 * swarm.c - swarm mode: embedded encrypted gossip discovery (DESIGN.md
 * section 4, "Peer discovery", mode 1), on top of user/gossip.
 *
 * Roles. `swarm init` makes this node a manager (the "leader": it alone
 * rotates the gossip key): a random cluster ID (25 chars) which is also
 * the gossip label (associated data of every sealed message), a keyring
 * with one fresh key, and two join-token secrets (worker, manager).
 * Gossip runs on AdvertiseIP:gossip-port; managers also listen for joins
 * on ListenAddr (TCP, default 0.0.0.0:2377).
 *
 * Join protocol (v1). A token is
 *
 *   SWMTKN-1-<cluster id: 25 chars>-<secret: 32 hex>
 *
 * and the secret never travels. Both sides derive
 *
 *   K = SHA-256("shoal-join-v1" || secret)      (secret as its 32 ASCII hex)
 *
 * and use a one-key keyring of K (keyring.h: AES-256-GCM, associated data
 * = version || cluster id). Over one TCP connection to the manager's join
 * address, each side sends one frame:
 *
 *   type (1 B: 'S' sealed, 'E' plaintext error) | length (u32 BE, <= 64 KiB) | body
 *
 * 1. joiner -> manager, 'S', sealed with K, sender = node name:
 *      {"Name", "Addr": advertise IP, "GossipPort", "Role": ""}
 *    (the role is whatever the token grants: the manager tells).
 * 2. The manager tries the K of its current manager token, then of its
 *    worker token. The one that opens the message authenticates the joiner
 *    and decides its role. A timestamp more than 60 s off is refused too.
 *    Neither opens it -> 'E' "invalid join token" (counted in JoinRejects;
 *    the token is never logged). A rotated-away token fails the same way.
 * 3. manager -> joiner, 'S', sealed with the same K:
 *      {"ClusterID", "Label", "Keys": [hex, primary first], "GossipAddr":
 *       "IP:PORT", "Role": "worker"|"manager", "KeyRotationInterval": s,
 *       "JoinAddr": "IP:PORT", and for managers "WorkerSecret",
 *       "ManagerSecret"}
 *    Only the token holder can read it: the keyring crosses the network
 *    encrypted under a key derived from a secret it already holds.
 * 4. The joiner builds its keyring from the keys, starts gossip and
 *    gossip_join()s the manager's gossip address.
 *
 * Discovery. The gossip table carries, per owner: GOSSIP_NODE (network =
 * node ID, ip = advertise IP, vni = role, subnet = join port), one per
 * node so every node knows every role; GOSSIP_NETWORK (network = name,
 * ip/prefix = subnet, vni = VNI, subnet = gateway, subnet_prefix = flags:
 * 1 attachable, 2 internal) published by the node that created it;
 * GOSSIP_BLOCK (address blocks, gossip_claim_block) and GOSSIP_ENDPOINT
 * (local endpoints of overlay networks, owner_ip = underlay IP).
 * entry_changed() (gossip thread) takes d->lock and calls the same state
 * functions as `network peer add/rm` (peer_add_ep / peer_remove_ip);
 * peers learnt this way carry container_id "node:<owner>" and are swept
 * against gossip_table_snapshot() after every (re)join and every 10 s.
 * A network record that disappears because its owner died or left is
 * kept (the owner may come back); one its live owner deleted is removed
 * where no local endpoint uses it.
 *
 * IP allocation: per overlay network each node claims blocks of /(subnet
 * prefix + 4), clamped to /28../30, and allocates local endpoints only in
 * its settled blocks (gossip_block_settled), claiming another when full.
 *
 * Persistence: meta "swarm" (JSON: IDs, role, addresses, token secrets,
 * keys with install times, member and manager addresses, blocks, owned
 * networks) in shoal.db (mode 0600). A restarted shoald restores it,
 * re-announces its records and rejoins in the background: gossip_join
 * with the known members, or, when its keys were rotated away meanwhile,
 * the join protocol again with its stored token secret.
 *
 * Key rotation (leader, every key-rotation-interval): new key ->
 * gossip_key_install (everywhere, decrypt-only; the use waits until every
 * alive member acked, or one more tick) -> gossip_key_use -> remove the
 * oldest key once three are installed: a demoted key still decrypts for a
 * whole interval, so no message in flight is lost. Every node saves its
 * keyring when the fingerprints change (polled each second).
 *
 * Keys and token secrets never appear in logs: only fingerprints.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sha256.h"
#include "../common/util.h"
#include "../ipam/ipam.h"
#include "swarm.h"

#define JOIN_MAX_FRAME 65536
#define JOIN_TIMEOUT_MS 5000
#define JOIN_SKEW_MS 60000
#define KEYOP_TIMEOUT_MS 3000
#define SWEEP_EVERY_S 10
/* Free addresses below which the next address block is claimed ahead. */
#define SW_BLOCK_SPARE 4
#define PEER_TAG "node:"

/* ------------------------------------------------------------ helpers */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void random_base36(char *out, size_t n)
{
	static const char a[] = "0123456789abcdefghijklmnopqrstuvwxyz";

	for (size_t i = 0; i < n; i++)
		out[i] = a[randombytes_uniform(36)];
	out[n] = '\0';
}

int swarm_new_secret(char out[SW_SECRET_LEN])
{
	uint8_t b[16];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, SW_SECRET_LEN, b, sizeof(b));
	sodium_memzero(b, sizeof(b));
	return 0;
}

static void derive_join_key(const char *secret, uint8_t k[KEYRING_KEY_LEN])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, "shoal-join-v1", 13);
	sha256_update(&c, secret, strlen(secret));
	sha256_final(&c, k);
}

void swarm_token(const struct swarm *sw, bool manager, char out[80])
{
	snprintf(out, 80, "SWMTKN-1-%s-%s", sw->cluster_id,
		 manager ? sw->manager_secret : sw->worker_secret);
}

/*
 * Docker accepts an interface name where an address goes
 * (--advertise-addr eth0:2377): its first IPv4 address, in shoald's
 * network namespace.
 */
static int iface_ipv4(const char *name, uint32_t *ip, struct shoal_err *err, const char *what,
		      const char *s)
{
	int n = 0;

	if (strlen(name) >= IFNAMSIZ || util_iface_ipv4(name, ip, &n) < 0)
		return err_set(err, EINVAL, "invalid %s \"%s\": expected IPv4[:PORT] or "
			       "INTERFACE[:PORT]", what, s);
	if (n == 0)
		return err_set(err, EINVAL, "invalid %s \"%s\": not an IPv4 address, and no "
			       "interface \"%s\" with an IPv4 address", what, s, name);
	if (n > 1)
		return err_set(err, EINVAL, "interface %s has more than one IPv4 address; pass the "
			       "one to use as %s", name, what);
	return 0;
}

/* "IP", "IP:PORT", "IFACE[:PORT]" or ":PORT" (IP 0 then). */
static int parse_hostport(const char *s, uint32_t *ip, uint16_t *port, struct shoal_err *err,
			  const char *what)
{
	char buf[64], *colon;
	long p;

	if (!s || !*s)
		return 0;
	if (strlen(s) >= sizeof(buf))
		return err_set(err, EINVAL, "invalid %s \"%s\"", what, s);
	snprintf(buf, sizeof(buf), "%s", s);
	colon = strchr(buf, ':');
	if (colon) {
		char *end;
		*colon = '\0';
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
			return err_set(err, EINVAL, "invalid %s \"%s\": bad port", what, s);
		*port = (uint16_t)p;
	}
	if (buf[0] && util_parse_ipv4(buf, ip) < 0 && iface_ipv4(buf, ip, err, what, s) < 0)
		return -EINVAL;
	return 0;
}

static const char *role_name(int role)
{
	return role == SW_WORKER ? "worker" : "manager";
}

bool swarm_active(struct daemon *d)
{
	return d->sw && d->sw->active;
}

void swarm_mark_dirty(struct daemon *d)
{
	d->sw->dirty = true;
}

static bool is_owned(struct swarm *sw, const char *net)
{
	for (size_t i = 0; i < sw->n_owned; i++)
		if (strcmp(sw->owned[i], net) == 0)
			return true;
	return false;
}

static void set_owned(struct swarm *sw, const char *net, bool own)
{
	for (size_t i = 0; i < sw->n_owned; i++) {
		if (strcmp(sw->owned[i], net) == 0) {
			if (!own)
				memmove(sw->owned[i], sw->owned[i + 1],
					(sw->n_owned - i - 1) * sizeof(sw->owned[0]));
			sw->n_owned -= !own;
			return;
		}
	}
	if (own && sw->n_owned < SW_MAX_NETS)
		snprintf(sw->owned[sw->n_owned++], GOSSIP_NAME_MAX, "%s", net);
}

static bool name_in(char list[][GOSSIP_NAME_MAX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static void set_removed(struct swarm *sw, const char *net, bool removed)
{
	for (size_t i = 0; i < sw->n_removed; i++) {
		if (strcmp(sw->removed[i], net) == 0) {
			if (!removed)
				memmove(sw->removed[i], sw->removed[--sw->n_removed], GOSSIP_NAME_MAX);
			return;
		}
	}
	if (removed && sw->n_removed < SW_MAX_NETS)
		snprintf(sw->removed[sw->n_removed++], GOSSIP_NAME_MAX, "%s", net);
}

static void add_addr(char list[][32], size_t *n, const char *a)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], a) == 0)
			return;
	if (*n < SW_MAX_ADDRS)
		snprintf(list[(*n)++], 32, "%s", a);
}

/* ------------------------------------------------------------ persistence */

/* d->lock held. The keys are read from the live keyring. */
static json_t *sw_to_json(struct daemon *d)
{
	struct swarm *sw = d->sw;
	uint8_t keys[KEYRING_MAX_KEYS][KEYRING_KEY_LEN];
	int64_t inst[KEYRING_MAX_KEYS];
	char hex[KEYRING_KEY_LEN * 2 + 1], a[16], buf[32];
	json_t *j, *ka = json_array(), *ma = json_array(), *ja = json_array(), *ba = json_array(),
		   *oa = json_array();
	int nk = sw->kr ? keyring_export(sw->kr, keys, inst) : 0;

	for (int i = 0; i < nk; i++) {
		sodium_bin2hex(hex, sizeof(hex), keys[i], KEYRING_KEY_LEN);
		json_array_append_new(ka, json_pack("{s:s, s:I}", "Key", hex, "InstalledAt",
						    (json_int_t)inst[i]));
	}
	sodium_memzero(keys, sizeof(keys));
	sodium_memzero(hex, sizeof(hex));
	if (sw->g) {
		struct gossip_member *ms = NULL;
		size_t nm = 0;

		if (gossip_members(sw->g, &ms, &nm) == 0) {
			for (size_t i = 0; i < nm; i++) {
				if (ms[i].state == GOSSIP_LEFT || strcmp(ms[i].name, gossip_name(sw->g)) == 0)
					continue;
				snprintf(buf, sizeof(buf), "%s:%u", util_ipv4_str(ms[i].ip, a), ms[i].port);
				add_addr(sw->members, &sw->n_members, buf);
			}
			free(ms);
		}
	}
	for (size_t i = 0; i < sw->n_members; i++)
		json_array_append_new(ma, json_string(sw->members[i]));
	for (size_t i = 0; i < sw->n_join_addrs; i++)
		json_array_append_new(ja, json_string(sw->join_addrs[i]));
	for (size_t i = 0; i < sw->n_blocks; i++) {
		char s[16];
		json_array_append_new(ba, json_pack("{s:s, s:s, s:i, s:s, s:i}", "Network",
						    sw->blocks[i].net, "Block",
						    util_ipv4_str(sw->blocks[i].block, a), "Prefix",
						    sw->blocks[i].prefix, "Subnet",
						    util_ipv4_str(sw->blocks[i].subnet, s), "SubnetPrefix",
						    sw->blocks[i].subnet_prefix));
	}
	for (size_t i = 0; i < sw->n_owned; i++)
		json_array_append_new(oa, json_string(sw->owned[i]));
	j = json_pack("{s:s, s:s, s:i, s:s, s:i, s:i, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:I,"
		      " s:I, s:o, s:o, s:o, s:o, s:o}",
		      "ClusterID", sw->cluster_id, "NodeID", sw->node_id, "Role", sw->role,
		      "AdvertiseIP", util_ipv4_str(sw->adv_ip, a), "GossipPort", sw->gossip_port,
		      "AdvertiseJoinPort", sw->adv_join_port, "ListenIP",
		      util_ipv4_str(sw->listen_ip, buf), "ListenPort", sw->listen_port,
		      "WorkerSecret", sw->worker_secret, "ManagerSecret", sw->manager_secret,
		      "JoinSecret", sw->join_secret, "CreatedAt", (json_int_t)sw->created,
		      "UpdatedAt", (json_int_t)sw->updated, "KeyRotationInterval",
		      (json_int_t)sw->rotation_s, "LastRotation", (json_int_t)sw->last_rotation,
		      "SecretsUpdated", (json_int_t)sw->secrets_updated_ms, "Keys", ka, "Members", ma,
		      "JoinAddrs", ja, "Blocks", ba, "OwnedNetworks", oa);
	return j;
}

/* d->lock held, no transaction open. */
static int sw_save_locked(struct daemon *d, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	char *text = NULL;
	int ret;

	if (sw->active) {
		json_t *j = sw_to_json(d);
		text = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (!text)
			return err_set(err, ENOMEM, "out of memory");
	}
	ret = state_begin(d->st, err);
	if (ret == 0) {
		ret = state_meta_set(d->st, "swarm", text ? text : "", err);
		if (ret == 0)
			ret = state_commit(d->st, err);
		else
			state_rollback(d->st);
	}
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	if (ret == 0)
		sw->dirty = false;
	return ret;
}

static void sw_fps(struct keyring *kr, char *out, size_t len)
{
	struct keyring_info ki[KEYRING_MAX_KEYS];
	int n = kr ? keyring_list(kr, ki) : 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		strncat(out, ki[i].fingerprint, len - strlen(out) - 1);
		strncat(out, ",", len - strlen(out) - 1);
	}
}

/* ------------------------------------------------------------ node cache */

static struct sw_node *node_by_name(struct swarm *sw, const char *name, bool create)
{
	for (size_t i = 0; i < sw->n_nodes; i++)
		if (strcmp(sw->nodes[i].name, name) == 0)
			return &sw->nodes[i];
	if (!create || sw->n_nodes == SW_MAX_NODES)
		return NULL;
	memset(&sw->nodes[sw->n_nodes], 0, sizeof(sw->nodes[0]));
	snprintf(sw->nodes[sw->n_nodes].name, GOSSIP_NAME_MAX, "%s", name);
	return &sw->nodes[sw->n_nodes++];
}

/* Role of member name as this node knows it (its own, or its NODE record). */
static int member_role(struct swarm *sw, const char *name)
{
	struct sw_node *nd;

	if (strcmp(name, gossip_name(sw->g)) == 0)
		return sw->role;
	nd = node_by_name(sw, name, false);
	return nd ? nd->role : SW_WORKER;
}

/*
 * The acting leader among members ms (d->lock held): the node that ran
 * `swarm init` while it is alive, else the alive manager with the lowest
 * name. Every node computes the same answer from the same membership, so
 * exactly one manager rotates the keys, and a new one takes over when the
 * leader dies or leaves. out = "" when no manager is alive.
 */
static void leader_of(struct swarm *sw, const struct gossip_member *ms, size_t n,
		      char out[GOSSIP_NAME_MAX])
{
	bool init_alive = false;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int role = member_role(sw, ms[i].name);

		if (role == SW_WORKER ||
		    (ms[i].state != GOSSIP_ALIVE && ms[i].state != GOSSIP_SUSPECT))
			continue;
		if (role == SW_LEADER && (!init_alive || strcmp(ms[i].name, out) < 0)) {
			snprintf(out, GOSSIP_NAME_MAX, "%s", ms[i].name);
			init_alive = true;
		} else if (!init_alive && (!out[0] || strcmp(ms[i].name, out) < 0)) {
			snprintf(out, GOSSIP_NAME_MAX, "%s", ms[i].name);
		}
	}
}

bool swarm_is_leader(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_member *ms = NULL;
	char leader[GOSSIP_NAME_MAX];
	size_t n = 0;

	if (!swarm_active(d) || !sw->g || sw->role == SW_WORKER)
		return false;
	if (gossip_members(sw->g, &ms, &n) < 0)
		return sw->role == SW_LEADER;
	leader_of(sw, ms, n, leader);
	free(ms);
	return strcmp(leader, gossip_name(sw->g)) == 0;
}

int swarm_other_managers(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_member *ms = NULL;
	size_t n = 0;
	int others = 0;

	if (!swarm_active(d) || !sw->g || gossip_members(sw->g, &ms, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ms[i].name, gossip_name(sw->g)) != 0 &&
		    member_role(sw, ms[i].name) != SW_WORKER &&
		    (ms[i].state == GOSSIP_ALIVE || ms[i].state == GOSSIP_SUSPECT))
			others++;
	free(ms);
	return others;
}

/* ------------------------------------------------------------ publishing */

static void publish_node(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_entry e = { .kind = GOSSIP_NODE, .prefix = 32 };
	struct shoal_err err = { 0 };

	snprintf(e.network, sizeof(e.network), "%s", sw->node_id);
	e.ip = sw->adv_ip;
	e.vni = (uint32_t)sw->role;
	e.subnet = sw->role != SW_WORKER ? sw->adv_join_port : 0;
	e.owner_ip = d->underlay.ip ? d->underlay.ip : sw->adv_ip;
	if (gossip_table_set(sw->g, &e, &err) < 0)
		log_warn("swarm: publish node record: %s", err.msg);
}

static void publish_network(struct daemon *d, const struct st_network *n)
{
	struct swarm *sw = d->sw;
	struct gossip_entry e = { .kind = GOSSIP_NETWORK };
	struct shoal_err err = { 0 };

	snprintf(e.network, sizeof(e.network), "%.63s", n->name);
	e.ip = n->subnet;
	e.prefix = n->prefix;
	e.vni = n->net_id;
	e.subnet = n->gateway;
	e.subnet_prefix = (uint8_t)((n->attachable ? 1 : 0) | (n->internal ? 2 : 0));
	e.owner_ip = d->underlay.ip;
	if (gossip_table_set(sw->g, &e, &err) < 0)
		log_warn("swarm: publish network %s: %s", n->name, err.msg);
	else
		set_owned(sw, n->name, true);
	sw->dirty = true;
}

static void publish_endpoint(struct daemon *d, const struct st_network *n,
			     const struct st_endpoint *ep)
{
	struct gossip_entry e = { .kind = GOSSIP_ENDPOINT, .prefix = 32 };
	struct shoal_err err = { 0 };

	snprintf(e.network, sizeof(e.network), "%.63s", n->name);
	e.ip = ep->ip;
	memcpy(e.mac, ep->mac, 6);
	e.vni = n->net_id;
	e.owner_ip = d->underlay.ip;
	if (gossip_table_set(d->sw->g, &e, &err) < 0)
		log_warn("swarm: publish endpoint: %s", err.msg);
}

/* Is network name published in the swarm (by anyone)? */
static bool net_in_swarm(struct daemon *d, const struct st_network *n)
{
	struct gossip_entry e;

	return gossip_table_lookup(d->sw->g, GOSSIP_NETWORK, n->name, n->subnet, &e) == 0;
}

static uint8_t block_prefix_for(uint8_t subnet_prefix)
{
	int p = subnet_prefix + 4;

	if (p < 28)
		p = 28;
	if (p > 30)
		p = 30;
	if (p < subnet_prefix)
		p = subnet_prefix;
	return (uint8_t)p;
}

static int claim_block(struct daemon *d, const struct st_network *n, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	struct sw_block *b;
	uint32_t block;
	char a[16];
	int ret;

	if (sw->n_blocks == SW_MAX_BLOCKS)
		return err_set(err, ENOSPC, "too many address blocks");
	ret = gossip_claim_block(sw->g, n->name, n->subnet, n->prefix, block_prefix_for(n->prefix),
				 &block, err);
	if (ret < 0)
		return ret;
	b = &sw->blocks[sw->n_blocks++];
	memset(b, 0, sizeof(*b));
	snprintf(b->net, sizeof(b->net), "%.63s", n->name);
	b->block = block;
	b->prefix = block_prefix_for(n->prefix);
	b->subnet = n->subnet;
	b->subnet_prefix = n->prefix;
	sw->dirty = true;
	log_info("swarm: claimed address block %s/%u of network %s", util_ipv4_str(block, a),
		 b->prefix, n->name);
	return 0;
}

static void ensure_block(struct daemon *d, const struct st_network *n)
{
	struct shoal_err err = { 0 };

	for (size_t i = 0; i < d->sw->n_blocks; i++)
		if (strcmp(d->sw->blocks[i].net, n->name) == 0)
			return;
	if (claim_block(d, n, &err) < 0)
		log_warn("swarm: network %s: %s", n->name, err.msg);
}

static void drop_blocks(struct daemon *d, const char *net, bool release)
{
	struct swarm *sw = d->sw;

	for (size_t i = 0; i < sw->n_blocks;) {
		if (strcmp(sw->blocks[i].net, net) == 0) {
			if (release && sw->g)
				gossip_release_block(sw->g, net, sw->blocks[i].block);
			sw->blocks[i] = sw->blocks[--sw->n_blocks];
			sw->dirty = true;
		} else {
			i++;
		}
	}
}

/* Re-announce everything this node owns (after init, join, restart). */
static void publish_all(struct daemon *d, bool own_unclaimed)
{
	struct swarm *sw = d->sw;
	struct st_network *nets = NULL;
	size_t nn = 0;

	publish_node(d);
	for (size_t i = 0; i < sw->n_blocks; i++) {
		struct gossip_entry e = { .kind = GOSSIP_BLOCK };
		struct shoal_err err = { 0 };

		snprintf(e.network, sizeof(e.network), "%s", sw->blocks[i].net);
		e.ip = sw->blocks[i].block;
		e.prefix = sw->blocks[i].prefix;
		e.subnet = sw->blocks[i].subnet;
		e.subnet_prefix = sw->blocks[i].subnet_prefix;
		if (gossip_table_set(sw->g, &e, &err) < 0)
			log_warn("swarm: re-announce block: %s", err.msg);
	}
	if (state_network_list(d->st, &nets, &nn, NULL) < 0)
		return;
	for (size_t i = 0; i < nn; i++) {
		struct st_endpoint *eps = NULL;
		size_t ne = 0;
		struct gossip_entry e;

		if (strcmp(nets[i].driver, "overlay") != 0 || strlen(nets[i].name) >= GOSSIP_NAME_MAX)
			continue;
		if (is_owned(sw, nets[i].name) ||
		    (own_unclaimed &&
		     (gossip_table_lookup(sw->g, GOSSIP_NETWORK, nets[i].name, nets[i].subnet, &e) < 0 ||
		      strcmp(e.owner, gossip_name(sw->g)) == 0)))
			publish_network(d, &nets[i]);
		if (state_endpoint_list(d->st, nets[i].id, &eps, &ne, NULL) == 0)
			for (size_t j = 0; j < ne; j++)
				if (!eps[j].remote)
					publish_endpoint(d, &nets[i], &eps[j]);
		free(eps);
	}
	st_network_list_free(nets, nn);
}

/* ------------------------------------------------------------ applying gossip */

static bool member_alive(struct swarm *sw, const char *name)
{
	struct gossip_member *ms = NULL;
	size_t n = 0;
	bool alive = false;

	if (gossip_members(sw->g, &ms, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ms[i].name, name) == 0)
			alive = ms[i].state == GOSSIP_ALIVE || ms[i].state == GOSSIP_SUSPECT;
	free(ms);
	return alive;
}

/* A network record from another node: make sure it exists here. */
static void apply_network(struct daemon *d, const struct gossip_entry *e)
{
	struct st_network n = { 0 };
	struct shoal_err err = { 0 };
	char sub[40], gw[16], a[16], vni[16], id[65];
	json_t *req;

	if (state_network_get(d->st, e->network, &n, NULL) == 0) {
		if (strcmp(n.driver, "overlay") != 0 || n.subnet != e->ip || n.prefix != e->prefix ||
		    n.net_id != e->vni)
			log_warn("swarm: network %s from node %s conflicts with the local network of "
				 "that name; not joining it", e->network, e->owner);
		else
			ensure_block(d, &n);
		st_network_free(&n);
		return;
	}
	snprintf(sub, sizeof(sub), "%s/%u", util_ipv4_str(e->ip, a), e->prefix);
	util_ipv4_str(e->subnet, gw);
	snprintf(vni, sizeof(vni), "%u", e->vni);
	req = json_pack("{s:s, s:s, s:b, s:b, s:{s:[{s:s, s:s}]}, s:{s:s}}", "Name", e->network,
			"Driver", "overlay", "Attachable", (e->subnet_prefix & 1) != 0, "Internal",
			(e->subnet_prefix & 2) != 0, "IPAM", "Config", "Subnet", sub, "Gateway", gw,
			"Options", "vni", vni);
	d->sw->applying = true;
	if (net_create(d, req, id, &err) < 0)
		log_error("swarm: cannot create network %s learnt from node %s: %s", e->network,
			  e->owner, err.msg);
	else
		log_info("swarm: network %s (%s, VNI %u) learnt from node %s", e->network, sub, e->vni,
			 e->owner);
	d->sw->applying = false;
	json_decref(req);
}

static void unapply_network(struct daemon *d, const struct gossip_entry *e)
{
	struct st_network n = { 0 };
	struct st_endpoint *eps = NULL;
	struct shoal_err err = { 0 };
	size_t ne = 0, local = 0;

	if (member_alive(d->sw, e->owner) == false) {
		log_info("swarm: network %s: its owner %s is gone; keeping it", e->network, e->owner);
		return;
	}
	set_removed(d->sw, e->network, true);
	if (state_network_get(d->st, e->network, &n, NULL) < 0)
		return;
	if (n.subnet != e->ip || n.net_id != e->vni) {
		st_network_free(&n);
		return;
	}
	if (state_endpoint_list(d->st, n.id, &eps, &ne, NULL) == 0)
		for (size_t i = 0; i < ne; i++)
			local += !eps[i].remote;
	free(eps);
	if (local) {
		log_warn("swarm: network %s was removed by node %s but has %zu local endpoints here; "
			 "keeping it", n.name, e->owner, local);
	} else {
		d->sw->applying = true;
		if (net_remove(d, n.id, &err) < 0)
			log_error("swarm: remove network %s: %s", n.name, err.msg);
		d->sw->applying = false;
	}
	st_network_free(&n);
}

static bool is_gossip_peer(const struct st_endpoint *ep)
{
	return ep->remote && strncmp(ep->container_id, PEER_TAG, strlen(PEER_TAG)) == 0;
}

static void add_peer(struct daemon *d, const struct st_network *n, const struct gossip_entry *e)
{
	struct shoal_err err = { 0 };
	char tag[STATE_ID_LEN], a[16];

	snprintf(tag, sizeof(tag), PEER_TAG "%.58s", e->owner);
	if (peer_add_ep(d, n->name, e->ip, e->mac, e->owner_ip, tag, NULL, &err) < 0)
		log_warn("swarm: peer %s of network %s from node %s: %s", util_ipv4_str(e->ip, a),
			 n->name, e->owner, err.msg);
}

/* Make the gossip peers of network n match the table (snapshot es). */
static void sync_peers(struct daemon *d, const struct st_network *n,
		       const struct gossip_entry *es, size_t nes)
{
	const char *me = gossip_name(d->sw->g);
	struct st_endpoint *eps = NULL;
	size_t ne = 0;

	if (state_endpoint_list(d->st, n->id, &eps, &ne, NULL) < 0)
		return;
	for (size_t i = 0; i < ne; i++) {
		const struct st_endpoint *ep = &eps[i];
		bool keep = false;

		if (!is_gossip_peer(ep))
			continue;
		for (size_t j = 0; j < nes && !keep; j++) {
			const struct gossip_entry *e = &es[j];
			keep = e->kind == GOSSIP_ENDPOINT && strcmp(e->network, n->name) == 0 &&
			       e->ip == ep->ip && strcmp(e->owner, me) != 0 &&
			       e->owner_ip == ep->node_ip && memcmp(e->mac, ep->mac, 6) == 0;
		}
		if (!keep) {
			struct shoal_err err = { 0 };
			if (peer_remove_ip(d, n->name, ep->ip, &err) < 0)
				log_warn("swarm: sweep: %s", err.msg);
		}
	}
	for (size_t j = 0; j < nes; j++) {
		const struct gossip_entry *e = &es[j];
		bool have = false;

		if (e->kind != GOSSIP_ENDPOINT || strcmp(e->network, n->name) != 0 ||
		    strcmp(e->owner, me) == 0)
			continue;
		for (size_t i = 0; i < ne && !have; i++)
			have = eps[i].ip == e->ip &&
			       (!is_gossip_peer(&eps[i]) ||
				(eps[i].node_ip == e->owner_ip && memcmp(eps[i].mac, e->mac, 6) == 0));
		if (!have)
			add_peer(d, n, e);
	}
	free(eps);
}

/* Full reconciliation against the table. d->lock held. */
static void sync_all(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_entry *es = NULL;
	struct st_network *nets = NULL;
	size_t nes = 0, nn = 0;

	if (!sw->active || !sw->g || gossip_table_snapshot(sw->g, &es, &nes) < 0)
		return;
	for (size_t i = 0; i < nes; i++) {
		if (es[i].kind == GOSSIP_NODE) {
			struct sw_node *nd = node_by_name(sw, es[i].owner, true);
			if (nd) {
				snprintf(nd->id, sizeof(nd->id), "%.25s", es[i].network);
				nd->role = (int)es[i].vni;
				nd->ip = es[i].ip;
				nd->join_port = (uint16_t)es[i].subnet;
			}
		} else if (es[i].kind == GOSSIP_NETWORK &&
			   strcmp(es[i].owner, gossip_name(sw->g)) != 0) {
			apply_network(d, &es[i]);
		}
	}
	if (state_network_list(d->st, &nets, &nn, NULL) == 0) {
		for (size_t i = 0; i < nn; i++) {
			if (strcmp(nets[i].driver, "overlay") != 0)
				continue;
			sync_peers(d, &nets[i], es, nes);
			if (net_in_swarm(d, &nets[i]))
				ensure_block(d, &nets[i]);
		}
		st_network_list_free(nets, nn);
	}
	free(es);
	sw->last_sweep = time(NULL);
}

/* ------------------------------------------------------------ gossip callbacks */

static void cb_member(void *ctx, const struct gossip_member *m)
{
	struct daemon *d = ctx;
	char a[16];

	pthread_mutex_lock(&d->lock);
	if (d->sw->active && d->sw->g) {
		log_info("swarm: node %s (%s:%u) is %s", m->name, util_ipv4_str(m->ip, a), m->port,
			 gossip_state_name(m->state));
		d->sw->dirty = true;
	}
	pthread_mutex_unlock(&d->lock);
}

static void cb_entry(void *ctx, const struct gossip_entry *e, bool deleted)
{
	struct daemon *d = ctx;
	struct swarm *sw = d->sw;

	pthread_mutex_lock(&d->lock);
	if (!sw->active || !sw->g || strcmp(e->owner, gossip_name(sw->g)) == 0)
		goto out;
	switch (e->kind) {
	case GOSSIP_NODE:
		if (!deleted) {
			struct sw_node *nd = node_by_name(sw, e->owner, true);
			if (nd) {
				snprintf(nd->id, sizeof(nd->id), "%.25s", e->network);
				nd->role = (int)e->vni;
				nd->ip = e->ip;
				nd->join_port = (uint16_t)e->subnet;
			}
		}
		break;
	case GOSSIP_NETWORK:
		if (deleted) {
			unapply_network(d, e);
		} else {
			set_removed(sw, e->network, false);
			apply_network(d, e);
			sync_all(d); /* its endpoints may have arrived first */
		}
		break;
	case GOSSIP_ENDPOINT: {
		struct st_network n = { 0 };
		struct st_endpoint *eps = NULL, *hit = NULL;
		size_t ne = 0;

		if (state_network_get(d->st, e->network, &n, NULL) < 0)
			break; /* its network is not here yet: sync_all adds it later */
		if (strcmp(n.driver, "overlay") == 0 &&
		    state_endpoint_list(d->st, n.id, &eps, &ne, NULL) == 0) {
			for (size_t i = 0; i < ne; i++)
				if (eps[i].ip == e->ip)
					hit = &eps[i];
			if (hit && !is_gossip_peer(hit)) {
				if (!deleted) {
					char a[16];
					log_warn("swarm: %s of network %s announced by node %s is already "
						 "used here", util_ipv4_str(e->ip, a), n.name, e->owner);
				}
			} else if (deleted) {
				if (hit) {
					struct shoal_err err = { 0 };
					if (peer_remove_ip(d, n.name, e->ip, &err) < 0)
						log_warn("swarm: %s", err.msg);
				}
			} else if (!hit || hit->node_ip != e->owner_ip ||
				   memcmp(hit->mac, e->mac, 6) != 0) {
				if (hit)
					peer_remove_ip(d, n.name, e->ip, NULL);
				add_peer(d, &n, e);
			}
		}
		free(eps);
		st_network_free(&n);
		break;
	}
	default:
		break;
	}
out:
	pthread_mutex_unlock(&d->lock);
}

static void cb_claim_lost(void *ctx, const struct gossip_entry *mine,
			  const struct gossip_entry *winner)
{
	struct daemon *d = ctx;
	struct swarm *sw = d->sw;
	char a[16];

	pthread_mutex_lock(&d->lock);
	if (!sw->active || !sw->g)
		goto out;
	if (mine->kind == GOSSIP_BLOCK) {
		struct st_network n = { 0 };

		log_info("swarm: address block %s/%u of network %s went to node %s; claiming another",
			 util_ipv4_str(mine->ip, a), mine->prefix, mine->network, winner->owner);
		for (size_t i = 0; i < sw->n_blocks; i++) {
			if (strcmp(sw->blocks[i].net, mine->network) == 0 &&
			    sw->blocks[i].block == mine->ip) {
				sw->blocks[i] = sw->blocks[--sw->n_blocks];
				break;
			}
		}
		gossip_release_block(sw->g, mine->network, mine->ip);
		sw->dirty = true;
		if (state_network_get(d->st, mine->network, &n, NULL) == 0) {
			struct shoal_err err = { 0 };
			if (claim_block(d, &n, &err) < 0)
				log_warn("swarm: network %s: %s", n.name, err.msg);
			st_network_free(&n);
		}
	} else if (mine->kind == GOSSIP_ENDPOINT) {
		log_error("swarm: %s in network %s is also used by node %s (it was there first)",
			  util_ipv4_str(mine->ip, a), mine->network, winner->owner);
	}
out:
	pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------ hooks (d->lock held) */

int swarm_check_network(struct daemon *d, const char *name, const char *driver,
			struct shoal_err *err)
{
	if (swarm_active(d) && strcmp(driver, "overlay") == 0 && strlen(name) >= GOSSIP_NAME_MAX)
		return err_set(err, EINVAL, "overlay network names are limited to %d characters in "
			       "swarm mode", GOSSIP_NAME_MAX - 1);
	return 0;
}

void swarm_network_created(struct daemon *d, const struct st_network *n)
{
	if (!swarm_active(d) || strcmp(n->driver, "overlay") != 0)
		return;
	if (!d->sw->applying)
		publish_network(d, n);
	set_removed(d->sw, n->name, false);
	ensure_block(d, n);
}

void swarm_network_removed(struct daemon *d, const struct st_network *n)
{
	struct swarm *sw = d->sw;

	if (!swarm_active(d) || strcmp(n->driver, "overlay") != 0)
		return;
	if (is_owned(sw, n->name)) {
		gossip_table_delete(sw->g, GOSSIP_NETWORK, n->name, n->subnet);
		set_owned(sw, n->name, false);
	}
	drop_blocks(d, n->name, true);
	sw->dirty = true;
}

void swarm_endpoint_connected(struct daemon *d, const struct st_network *n,
			      const struct st_endpoint *e)
{
	if (swarm_active(d) && strcmp(n->driver, "overlay") == 0 && !e->remote &&
	    strlen(n->name) < GOSSIP_NAME_MAX)
		publish_endpoint(d, n, e);
}

void swarm_endpoint_disconnected(struct daemon *d, const struct st_network *n,
				 const struct st_endpoint *e)
{
	if (swarm_active(d) && strcmp(n->driver, "overlay") == 0 && !e->remote &&
	    strlen(n->name) < GOSSIP_NAME_MAX)
		gossip_table_delete(d->sw->g, GOSSIP_ENDPOINT, n->name, e->ip);
}

int swarm_alloc_ip(struct daemon *d, const struct st_network *n, const uint32_t *used,
		   size_t n_used, uint32_t *ip, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	uint32_t smask = ipam_mask(n->prefix), bcast = ntohl(n->subnet | ~smask);
	bool pending = false, found = false;
	unsigned int spare = 0; /* free addresses left besides the one picked */
	int ret;

	if (!swarm_active(d) || strcmp(n->driver, "overlay") != 0 || !net_in_swarm(d, n))
		return 0;
	for (size_t i = 0; i < sw->n_blocks && spare < SW_BLOCK_SPARE; i++) {
		const struct sw_block *b = &sw->blocks[i];
		uint32_t base, size;

		if (strcmp(b->net, n->name) != 0 || b->subnet != n->subnet)
			continue;
		if (!gossip_block_settled(sw->g, b->net, b->block)) {
			pending = true;
			continue;
		}
		base = ntohl(b->block);
		size = b->prefix >= 32 ? 1 : 1u << (32 - b->prefix);
		for (uint32_t k = 0; k < size && spare < SW_BLOCK_SPARE; k++) {
			uint32_t h = base + k, cand = htonl(h);
			bool taken = false;

			if (h == ntohl(n->subnet) || (n->prefix < 31 && h == bcast) || cand == n->gateway)
				continue;
			if (n->ip_range_prefix && !ipam_contains(n->ip_range, n->ip_range_prefix, cand))
				continue;
			for (size_t u = 0; u < n_used && !taken; u++)
				taken = used[u] == cand;
			if (taken)
				continue;
			if (found) {
				spare++;
			} else {
				*ip = cand;
				found = true;
			}
		}
	}
	/*
	 * Claim the next block while this one still has room, so that it has
	 * settled (claim_settled_ms) before it is needed: a connect then never
	 * waits for a claim, unless many arrive faster than a block settles.
	 */
	if (found) {
		if (spare < SW_BLOCK_SPARE && !pending) {
			struct shoal_err e2 = { 0 };
			if (claim_block(d, n, &e2) < 0)
				log_debug("swarm: network %s: next address block: %s", n->name, e2.msg);
		}
		return 1;
	}
	if (!pending) {
		ret = claim_block(d, n, err);
		if (ret < 0)
			return ret;
	}
	return err_set(err, EAGAIN, "network %s: waiting for this node's address block to settle",
		       n->name);
}

int swarm_check_ip(struct daemon *d, const struct st_network *n, uint32_t ip,
		   struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	struct gossip_entry *es = NULL;
	size_t nes = 0;
	int ret = 0;

	if (!swarm_active(d) || !sw->g || strcmp(n->driver, "overlay") != 0 || !net_in_swarm(d, n))
		return 0;
	if (gossip_table_snapshot(sw->g, &es, &nes) < 0)
		return 0;
	for (size_t i = 0; i < nes && ret == 0; i++) {
		const struct gossip_entry *b = &es[i];
		char a[16], blk[16];

		if (b->kind != GOSSIP_BLOCK || strcmp(b->network, n->name) != 0 ||
		    b->subnet != n->subnet || strcmp(b->owner, gossip_name(sw->g)) == 0 ||
		    !ipam_contains(b->ip, b->prefix, ip))
			continue;
		ret = err_set(err, EADDRINUSE,
			      "address %s is in block %s/%u of network %s, which node %s allocates "
			      "from; choose an address outside other nodes' blocks or omit --ip",
			      util_ipv4_str(ip, a), util_ipv4_str(b->ip, blk), b->prefix, n->name,
			      b->owner);
	}
	free(es);
	return ret;
}

/* ------------------------------------------------------------ join protocol */

static int set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -(w < 0 ? errno : EPIPE);
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = recv(fd, p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -(errno == EAGAIN ? ETIMEDOUT : errno);
		if (r == 0)
			return -ECONNRESET;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int frame_write(int fd, uint8_t type, const void *body, size_t len)
{
	uint8_t h[5] = { type, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			 (uint8_t)len };
	int ret = write_all(fd, h, sizeof(h));

	return ret < 0 ? ret : write_all(fd, body, len);
}

/* *body malloc'ed (NUL-terminated for convenience). */
static int frame_read(int fd, uint8_t *type, uint8_t **body, size_t *len)
{
	uint8_t h[5];
	uint32_t l;
	int ret = read_all(fd, h, sizeof(h));

	if (ret < 0)
		return ret;
	l = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
	if (!strchr("SEUK", h[0]) || !h[0] || l > JOIN_MAX_FRAME)
		return -EPROTO;
	*body = malloc(l + 1);
	if (!*body)
		return -ENOMEM;
	ret = read_all(fd, *body, l);
	if (ret < 0) {
		free(*body);
		*body = NULL;
		return ret;
	}
	(*body)[l] = 0;
	*type = h[0];
	*len = l;
	return 0;
}

/* Seal a JSON document with a one-key keyring of K; *out malloc'ed. */
static ssize_t seal_json(const uint8_t k[KEYRING_KEY_LEN], const char *label, const char *sender,
			 json_t *j, uint8_t **out)
{
	struct keyring *kr = NULL;
	char *text = json_dumps(j, JSON_COMPACT);
	size_t cap;
	ssize_t n = -ENOMEM;

	*out = NULL;
	if (!text)
		return -ENOMEM;
	if (keyring_new(k, &kr, NULL) < 0) {
		n = -ENOTSUP;
		goto out;
	}
	cap = keyring_sealed_len(sender, strlen(text));
	*out = malloc(cap);
	if (*out)
		n = keyring_seal(kr, label, sender, now_ms(), text, strlen(text), *out, cap);
out:
	keyring_free(kr);
	sodium_memzero(text, strlen(text));
	free(text);
	return n;
}

/* Open with K; the JSON payload or NULL. */
static json_t *open_json(const uint8_t k[KEYRING_KEY_LEN], const char *label, const uint8_t *in,
			 size_t len, char sender[KEYRING_SENDER_MAX + 1])
{
	struct keyring *kr = NULL;
	struct keyring_opened o;
	uint8_t *buf = malloc(len + 1);
	json_t *j = NULL;
	uint64_t now = now_ms();

	if (!buf || keyring_new(k, &kr, NULL) < 0)
		goto out;
	if (keyring_open(kr, NULL, label, in, len, now, buf, len, &o) == 0 &&
	    o.ts_ms + JOIN_SKEW_MS >= now && o.ts_ms <= now + JOIN_SKEW_MS) {
		j = json_loadb((const char *)o.payload, o.len, 0, NULL);
		if (sender)
			snprintf(sender, KEYRING_SENDER_MAX + 1, "%s", o.sender);
		sodium_memzero(buf, len);
	}
out:
	keyring_free(kr);
	free(buf);
	return j;
}

static bool valid_secret(const char *s)
{
	if (!s || strlen(s) != SW_SECRET_LEN - 1)
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789abcdef", *p))
			return false;
	return true;
}

/*
 * Manager side: another manager rotated the join tokens ('U' frame,
 * sealed with a key derived from the manager secret both held before).
 * Last writer wins on SecretsUpdated, so crossed rotations converge.
 */
static void serve_secrets(struct daemon *d, int fd, const uint8_t *body, size_t len,
			  const char *peer)
{
	struct swarm *sw = d->sw;
	char secret[SW_SECRET_LEN], cluster[SW_ID_LEN], sender[KEYRING_SENDER_MAX + 1] = "";
	uint8_t k[KEYRING_KEY_LEN];
	const char *ws, *ms;
	json_int_t upd;
	json_t *j = NULL;
	bool applied = false;

	pthread_mutex_lock(&d->lock);
	if (!sw->active || sw->role == SW_WORKER) {
		pthread_mutex_unlock(&d->lock);
		frame_write(fd, 'E', "not a manager", 13);
		return;
	}
	memcpy(secret, sw->manager_secret, SW_SECRET_LEN);
	memcpy(cluster, sw->cluster_id, SW_ID_LEN);
	pthread_mutex_unlock(&d->lock);
	derive_join_key(secret, k);
	sodium_memzero(secret, sizeof(secret));
	j = open_json(k, cluster, body, len, sender);
	sodium_memzero(k, sizeof(k));
	ws = json_string_value(json_object_get(j, "WorkerSecret"));
	ms = json_string_value(json_object_get(j, "ManagerSecret"));
	upd = json_integer_value(json_object_get(j, "SecretsUpdated"));
	if (!j || !valid_secret(ws) || !valid_secret(ms) || upd <= 0) {
		pthread_mutex_lock(&d->lock);
		sw->join_rejects++;
		pthread_mutex_unlock(&d->lock);
		log_warn("swarm: join-token update from %s refused: not sealed with this cluster's "
			 "manager secret", peer);
		frame_write(fd, 'E', "invalid manager secret", 22);
		goto out;
	}
	pthread_mutex_lock(&d->lock);
	if (sw->active && upd > sw->secrets_updated_ms) {
		snprintf(sw->worker_secret, sizeof(sw->worker_secret), "%s", ws);
		snprintf(sw->manager_secret, sizeof(sw->manager_secret), "%s", ms);
		sw->secrets_updated_ms = upd;
		sw->updated = time(NULL);
		sw->dirty = true;
		applied = true;
	}
	pthread_mutex_unlock(&d->lock);
	frame_write(fd, 'K', "", 0);
	if (applied)
		log_info("swarm: join tokens rotated by manager %s", sender);
out:
	if (j) {
		json_object_del(j, "WorkerSecret");
		json_object_del(j, "ManagerSecret");
	}
	json_decref(j);
}

/* Manager side: one join request on fd. */
static void serve_join(struct daemon *d, int fd, const char *peer)
{
	struct swarm *sw = d->sw;
	char secrets[2][SW_SECRET_LEN], cluster[SW_ID_LEN], sender[KEYRING_SENDER_MAX + 1] = "";
	uint8_t k[KEYRING_KEY_LEN], *body = NULL, *out = NULL, type;
	size_t len;
	json_t *req = NULL, *rep = NULL;
	int role = -1;
	ssize_t n;

	set_timeouts(fd, JOIN_TIMEOUT_MS);
	if (frame_read(fd, &type, &body, &len) < 0)
		goto refuse;
	if (type == 'U') {
		serve_secrets(d, fd, body, len, peer);
		free(body);
		return;
	}
	if (type != 'S')
		goto refuse;
	pthread_mutex_lock(&d->lock);
	if (!sw->active || sw->role == SW_WORKER) {
		pthread_mutex_unlock(&d->lock);
		goto refuse;
	}
	memcpy(secrets[0], sw->manager_secret, SW_SECRET_LEN);
	memcpy(secrets[1], sw->worker_secret, SW_SECRET_LEN);
	memcpy(cluster, sw->cluster_id, SW_ID_LEN);
	pthread_mutex_unlock(&d->lock);
	for (int i = 0; i < 2 && !req; i++) {
		derive_join_key(secrets[i], k);
		req = open_json(k, cluster, body, len, sender);
		if (req)
			role = i == 0 ? SW_MANAGER : SW_WORKER;
	}
	sodium_memzero(secrets, sizeof(secrets));
	if (!req)
		goto refuse;
	{
		uint8_t keys[KEYRING_MAX_KEYS][KEYRING_KEY_LEN];
		char hex[KEYRING_KEY_LEN * 2 + 1], a[16], gaddr[32], jaddr[32];
		json_t *ka = json_array();
		int nk;

		pthread_mutex_lock(&d->lock);
		nk = keyring_export(sw->kr, keys, NULL);
		for (int i = 0; i < nk; i++) {
			sodium_bin2hex(hex, sizeof(hex), keys[i], KEYRING_KEY_LEN);
			json_array_append_new(ka, json_string(hex));
		}
		sodium_memzero(keys, sizeof(keys));
		sodium_memzero(hex, sizeof(hex));
		snprintf(gaddr, sizeof(gaddr), "%s:%u", util_ipv4_str(sw->adv_ip, a), sw->gossip_port);
		snprintf(jaddr, sizeof(jaddr), "%s:%u", a, sw->adv_join_port);
		rep = json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:s}", "ClusterID", sw->cluster_id,
				"Label", sw->cluster_id, "Keys", ka, "GossipAddr", gaddr, "Role",
				role_name(role), "KeyRotationInterval", (json_int_t)sw->rotation_s,
				"JoinAddr", jaddr);
		if (role == SW_MANAGER) {
			json_object_set_new(rep, "WorkerSecret", json_string(sw->worker_secret));
			json_object_set_new(rep, "ManagerSecret", json_string(sw->manager_secret));
			json_object_set_new(rep, "SecretsUpdated",
					    json_integer((json_int_t)sw->secrets_updated_ms));
		}
		sw->join_accepts++;
		pthread_mutex_unlock(&d->lock);
	}
	n = seal_json(k, cluster, d->cfg.node_name, rep, &out);
	if (n > 0)
		frame_write(fd, 'S', out, (size_t)n);
	log_info("swarm: node %s (%s, %s) joins as a %s", sender,
		 json_string_value(json_object_get(req, "Addr")) ?: "?", peer, role_name(role));
	goto out;
refuse:
	pthread_mutex_lock(&d->lock);
	sw->join_rejects++;
	pthread_mutex_unlock(&d->lock);
	log_warn("swarm: join request from %s refused: invalid join token", peer);
	frame_write(fd, 'E', "invalid join token", 18);
out:
	sodium_memzero(k, sizeof(k));
	if (rep) {
		json_object_del(rep, "Keys");
		json_object_del(rep, "WorkerSecret");
		json_object_del(rep, "ManagerSecret");
	}
	json_decref(rep);
	json_decref(req);
	free(body);
	free(out);
}

static void *listen_main(void *arg)
{
	struct daemon *d = arg;
	struct swarm *sw = d->sw;

	for (;;) {
		struct pollfd p = { .fd = sw->listen_fd, .events = POLLIN };
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		char peer[32], a[16];
		int c, r;

		r = poll(&p, 1, 300);
		pthread_mutex_lock(&d->lock);
		if (!sw->listen_running) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		pthread_mutex_unlock(&d->lock);
		if (r <= 0)
			continue;
		c = accept4(sw->listen_fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		snprintf(peer, sizeof(peer), "%s:%u", util_ipv4_str(sa.sin_addr.s_addr, a),
			 ntohs(sa.sin_port));
		serve_join(d, c, peer);
		close(c);
	}
	return NULL;
}

/* sw->op held. */
static int listener_start(struct daemon *d, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(sw->listen_port),
				  .sin_addr.s_addr = sw->listen_ip };
	int fd, one = 1, ret;
	char a[16];

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		ret = errno;
		close(fd);
		return err_set(err, ret, "listen-addr %s:%u: %s", util_ipv4_str(sw->listen_ip, a),
			       sw->listen_port, strerror(ret));
	}
	sw->listen_fd = fd;
	sw->listen_running = true;
	ret = pthread_create(&sw->listen_thr, NULL, listen_main, d);
	if (ret) {
		sw->listen_running = false;
		close(fd);
		sw->listen_fd = -1;
		return err_set(err, ret, "cannot start the join listener");
	}
	return 0;
}

static void listener_stop(struct daemon *d)
{
	struct swarm *sw = d->sw;
	bool running;

	pthread_mutex_lock(&d->lock);
	running = sw->listen_running;
	sw->listen_running = false;
	pthread_mutex_unlock(&d->lock);
	if (!running)
		return;
	pthread_join(sw->listen_thr, NULL);
	close(sw->listen_fd);
	sw->listen_fd = -1;
}

static int connect_timeout(const char *addr, int ms, struct shoal_err *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint32_t ip = 0;
	uint16_t port = SW_DEFAULT_JOIN_PORT;
	struct pollfd p;
	int fd, ret, e = 0;
	socklen_t el = sizeof(e);

	ret = parse_hostport(addr, &ip, &port, err, "remote address");
	if (ret < 0)
		return ret;
	if (!ip)
		return err_set(err, EINVAL, "invalid remote address \"%s\"", addr);
	sa.sin_addr.s_addr = ip;
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		e = errno;
		goto fail;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	ret = poll(&p, 1, ms);
	if (ret <= 0) {
		e = ret == 0 ? ETIMEDOUT : errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e)
		goto fail;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	set_timeouts(fd, JOIN_TIMEOUT_MS);
	return fd;
fail:
	close(fd);
	return err_set(err, EHOSTUNREACH, "cannot reach the manager at %s: %s", addr,
		       strerror(e ? e : EIO));
}

/*
 * Joiner side: one request to addr. *rep gets the opened reply. -EACCES
 * for a refused token, -EHOSTUNREACH when the manager cannot be reached.
 */
static int join_request(struct daemon *d, const char *addr, const char *cluster,
			const char *secret, uint32_t adv_ip, uint16_t gport, json_t **rep,
			struct shoal_err *err)
{
	uint8_t k[KEYRING_KEY_LEN], *out = NULL, *body = NULL, type;
	char a[16];
	size_t len;
	ssize_t n;
	json_t *req;
	int fd, ret;

	fd = connect_timeout(addr, JOIN_TIMEOUT_MS, err);
	if (fd < 0)
		return fd;
	derive_join_key(secret, k);
	req = json_pack("{s:s, s:s, s:i, s:s}", "Name", d->cfg.node_name, "Addr",
			util_ipv4_str(adv_ip, a), "GossipPort", gport, "Role", "");
	n = seal_json(k, cluster, d->cfg.node_name, req, &out);
	json_decref(req);
	if (n < 0) {
		ret = err_set(err, (int)-n, "cannot seal the join request");
		goto out;
	}
	ret = frame_write(fd, 'S', out, (size_t)n);
	if (ret == 0)
		ret = frame_read(fd, &type, &body, &len);
	if (ret < 0) {
		ret = err_set(err, EHOSTUNREACH, "join request to %s failed: %s", addr, strerror(-ret));
		goto out;
	}
	if (type == 'E') {
		ret = err_set(err, EACCES, "%s", strstr((char *)body, "invalid join token") ?
			      "invalid join token" : "the manager refused the join request");
		goto out;
	}
	*rep = open_json(k, cluster, body, len, NULL);
	ret = *rep ? 0 : err_set(err, EACCES, "invalid join token");
out:
	sodium_memzero(k, sizeof(k));
	close(fd);
	free(out);
	free(body);
	return ret;
}

/* Keys from a join reply (hex strings, primary first) into a keyring. */
static int keys_from_json(json_t *keys, struct keyring **kr, struct shoal_err *err)
{
	uint8_t k[KEYRING_KEY_LEN];
	size_t i, n = json_array_size(keys);
	json_t *v;
	int ret = 0;

	if (!n || n > KEYRING_MAX_KEYS)
		return err_set(err, EPROTO, "join reply: bad keyring");
	json_array_foreach(keys, i, v) {
		const char *h = json_string_value(v);
		size_t bl = 0;

		if (!h || sodium_hex2bin(k, sizeof(k), h, strlen(h), NULL, &bl, NULL) < 0 ||
		    bl != KEYRING_KEY_LEN) {
			ret = err_set(err, EPROTO, "join reply: bad key");
			break;
		}
		if (!*kr)
			ret = keyring_new(k, kr, err);
		else
			ret = keyring_install(*kr, k, err);
		if (ret < 0)
			break;
	}
	sodium_memzero(k, sizeof(k));
	return ret;
}

/* Make kr hold exactly the keys (primary first): a rejoin after rotations. */
static void keys_replace(struct keyring *kr, json_t *keys)
{
	uint8_t want[KEYRING_MAX_KEYS][KEYRING_KEY_LEN], have[KEYRING_MAX_KEYS][KEYRING_KEY_LEN];
	size_t nw = 0, i;
	int nh;
	json_t *v;

	json_array_foreach(keys, i, v) {
		size_t bl = 0;
		const char *h = json_string_value(v);
		if (nw < KEYRING_MAX_KEYS && h &&
		    sodium_hex2bin(want[nw], KEYRING_KEY_LEN, h, strlen(h), NULL, &bl, NULL) == 0 &&
		    bl == KEYRING_KEY_LEN)
			nw++;
	}
	if (!nw)
		return;
	/* Remove what is not wanted (not the primary), add, use, remove the old primary. */
	nh = keyring_export(kr, have, NULL);
	for (int h = 1; h < nh; h++) {
		bool keep = false;
		for (size_t w = 0; w < nw; w++)
			keep = keep || sodium_memcmp(have[h], want[w], KEYRING_KEY_LEN) == 0;
		if (!keep)
			keyring_remove(kr, have[h], NULL);
	}
	for (size_t w = 0; w < nw; w++) {
		if (keyring_install(kr, want[w], NULL) == -ENOSPC) {
			keyring_remove(kr, have[0], NULL); /* fails for the primary: use first */
			keyring_use(kr, want[0], NULL);
			keyring_remove(kr, have[0], NULL);
			keyring_install(kr, want[w], NULL);
		}
	}
	keyring_use(kr, want[0], NULL);
	nh = keyring_export(kr, have, NULL);
	for (int h = 0; h < nh; h++) {
		bool keep = false;
		for (size_t w = 0; w < nw; w++)
			keep = keep || sodium_memcmp(have[h], want[w], KEYRING_KEY_LEN) == 0;
		if (!keep)
			keyring_remove(kr, have[h], NULL);
	}
	sodium_memzero(want, sizeof(want));
	sodium_memzero(have, sizeof(have));
}

/* ------------------------------------------------------------ gossip lifecycle */

/* sw->op held, d->lock not: build and start gossip with sw's settings. */
static int gossip_up(struct daemon *d, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	struct gossip_config c;
	struct gossip *g = NULL;
	int ret;

	gossip_config_defaults(&c);
	c.name = d->cfg.node_name;
	c.bind_ip = sw->adv_ip;
	c.bind_port = sw->gossip_port;
	c.label = sw->cluster_id;
	c.keyring = sw->kr;
	c.cb = (struct gossip_callbacks){ .ctx = d, .member_changed = cb_member,
					  .entry_changed = cb_entry, .claim_lost = cb_claim_lost };
	c.probe_interval_ms = (uint32_t)d->cfg.gossip_probe_interval_ms;
	c.probe_timeout_ms = (uint32_t)d->cfg.gossip_probe_timeout_ms;
	c.gossip_interval_ms = (uint32_t)d->cfg.gossip_interval_ms;
	c.suspicion_mult = (uint32_t)d->cfg.gossip_suspicion_mult;
	c.push_pull_interval_ms = (uint32_t)d->cfg.gossip_push_pull_interval_ms;
	c.mtu = (uint32_t)d->cfg.gossip_mtu;
	if (c.probe_timeout_ms >= c.probe_interval_ms)
		c.probe_timeout_ms = c.probe_interval_ms / 2 ? c.probe_interval_ms / 2 : 1;
	ret = gossip_new(&c, &g, err);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&d->lock);
	sw->g = g;
	sw->active = true;
	pthread_mutex_unlock(&d->lock);
	ret = gossip_start(g, err);
	if (ret < 0) {
		pthread_mutex_lock(&d->lock);
		sw->g = NULL;
		sw->active = false;
		pthread_mutex_unlock(&d->lock);
		gossip_free(g);
	}
	return ret;
}

/* sw->op held, d->lock not. Stop and forget everything in memory. */
static void gossip_down(struct daemon *d, bool leave)
{
	struct swarm *sw = d->sw;
	struct gossip *g;
	struct keyring *kr;

	listener_stop(d);
	pthread_mutex_lock(&d->lock);
	g = sw->g;
	kr = sw->kr;
	sw->g = NULL;
	sw->kr = NULL;
	sw->active = false;
	pthread_mutex_unlock(&d->lock);
	if (g) {
		if (leave)
			gossip_leave(g, 2000);
		gossip_stop(g);
		gossip_free(g);
	}
	keyring_free(kr);
}

static void reset_fields(struct swarm *sw)
{
	sodium_memzero(sw->worker_secret, sizeof(sw->worker_secret));
	sodium_memzero(sw->manager_secret, sizeof(sw->manager_secret));
	sodium_memzero(sw->join_secret, sizeof(sw->join_secret));
	sodium_memzero(sw->pending_key, sizeof(sw->pending_key));
	sw->pending_tries = 0;
	sw->cluster_id[0] = sw->node_id[0] = '\0';
	sw->n_join_addrs = sw->n_members = sw->n_nodes = sw->n_blocks = sw->n_owned = 0;
	sw->n_removed = 0;
	sw->saved_fps[0] = '\0';
	sw->need_join = false;
	sw->role = SW_WORKER;
	sw->secrets_updated_ms = 0;
}

/* The advertise address: explicit, else the underlay's. */
static int pick_addrs(struct daemon *d, const char *listen, const char *advertise,
		      struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	uint32_t ip = 0;
	uint16_t port = 0;
	int ret;

	sw->listen_ip = 0;
	sw->listen_port = SW_DEFAULT_JOIN_PORT;
	ret = parse_hostport(listen, &sw->listen_ip, &sw->listen_port, err, "ListenAddr");
	if (ret < 0)
		return ret;
	ret = parse_hostport(advertise, &ip, &port, err, "AdvertiseAddr");
	if (ret < 0)
		return ret;
	if (!ip)
		ip = d->underlay.ip;
	if (!ip)
		return err_set(err, EINVAL,
			       "no advertise address: pass --advertise-addr, or start shoald with "
			       "--underlay-interface or --advertise-addr");
	sw->adv_ip = ip;
	sw->adv_join_port = port ? port : sw->listen_port;
	sw->gossip_port = (uint16_t)d->cfg.gossip_port;
	return 0;
}

int swarm_init(struct daemon *d, const char *listen, const char *advertise,
	       char node_id[SW_ID_LEN], struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	uint8_t key[KEYRING_KEY_LEN];
	int ret;

	if (sw->active)
		return err_set(err, EEXIST, "This node is already part of a swarm. Use \"shoal swarm "
			       "leave\" to leave this swarm and join another one.");
	if (d->cfg.cluster_store[0])
		return err_set(err, EINVAL, "this node uses the cluster store %s: swarm mode and a "
			       "cluster store are mutually exclusive", d->cfg.cluster_store);
	reset_fields(sw);
	ret = pick_addrs(d, listen, advertise, err);
	if (ret < 0)
		return ret;
	random_base36(sw->cluster_id, SW_ID_LEN - 1);
	snprintf(sw->node_id, sizeof(sw->node_id), "%.25s", d->id);
	swarm_new_secret(sw->worker_secret);
	swarm_new_secret(sw->manager_secret);
	sw->role = SW_LEADER;
	sw->created = sw->updated = sw->last_rotation = time(NULL);
	sw->rotation_s = d->cfg.key_rotation_interval_s;
	randombytes_buf(key, sizeof(key));
	ret = keyring_new(key, &sw->kr, err);
	sodium_memzero(key, sizeof(key));
	if (ret < 0)
		return ret;
	ret = listener_start(d, err);
	if (ret < 0)
		goto fail;
	ret = gossip_up(d, err);
	if (ret < 0)
		goto fail;
	pthread_mutex_lock(&d->lock);
	{
		char a[16], jaddr[32];
		snprintf(jaddr, sizeof(jaddr), "%s:%u", util_ipv4_str(sw->adv_ip, a), sw->adv_join_port);
		add_addr(sw->join_addrs, &sw->n_join_addrs, jaddr);
	}
	publish_all(d, true);
	sync_all(d);
	sw_fps(sw->kr, sw->saved_fps, sizeof(sw->saved_fps));
	ret = sw_save_locked(d, err);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		goto fail;
	memcpy(node_id, sw->node_id, SW_ID_LEN);
	{
		char a[16];
		log_info("swarm: initialised cluster %s; this node (%s) is a manager; gossip on %s:%u, "
			 "joins on port %u", sw->cluster_id, sw->node_id, util_ipv4_str(sw->adv_ip, a),
			 sw->gossip_port, sw->listen_port);
	}
	return 0;
fail:
	gossip_down(d, false);
	reset_fields(sw);
	return ret;
}

static int parse_token(const char *token, char cluster[SW_ID_LEN], char secret[SW_SECRET_LEN],
		       struct shoal_err *err)
{
	size_t l = token ? strlen(token) : 0;

	if (l != 9 + 25 + 1 + 32 || strncmp(token, "SWMTKN-1-", 9) != 0 || token[34] != '-')
		return err_set(err, EINVAL, "invalid join token");
	memcpy(cluster, token + 9, 25);
	cluster[25] = '\0';
	memcpy(secret, token + 35, 32);
	secret[32] = '\0';
	for (int i = 0; i < 32; i++)
		if (!strchr("0123456789abcdef", secret[i]))
			return err_set(err, EINVAL, "invalid join token");
	return 0;
}

/* Apply an opened join reply to sw (d->lock held). */
static void apply_reply(struct swarm *sw, json_t *rep)
{
	const char *role = json_string_value(json_object_get(rep, "Role"));
	const char *ja = json_string_value(json_object_get(rep, "JoinAddr"));
	const char *ws = json_string_value(json_object_get(rep, "WorkerSecret"));
	const char *ms = json_string_value(json_object_get(rep, "ManagerSecret"));
	json_int_t ri = json_integer_value(json_object_get(rep, "KeyRotationInterval"));

	if (role && sw->role != SW_LEADER)
		sw->role = strcmp(role, "manager") == 0 ? SW_MANAGER : SW_WORKER;
	if (ja)
		add_addr(sw->join_addrs, &sw->n_join_addrs, ja);
	if (ws && strlen(ws) == 32)
		snprintf(sw->worker_secret, sizeof(sw->worker_secret), "%s", ws);
	if (ms && strlen(ms) == 32)
		snprintf(sw->manager_secret, sizeof(sw->manager_secret), "%s", ms);
	if (ri > 0)
		sw->rotation_s = ri;
	sw->secrets_updated_ms = json_integer_value(json_object_get(rep, "SecretsUpdated"));
}

int swarm_join(struct daemon *d, const char *listen, const char *advertise,
	       const char *const *remotes, size_t n_remotes, const char *token,
	       struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	char cluster[SW_ID_LEN], secret[SW_SECRET_LEN];
	const char *gaddr;
	json_t *rep = NULL;
	int ret = -EINVAL;

	if (sw->active)
		return err_set(err, EEXIST, "This node is already part of a swarm. Use \"shoal swarm "
			       "leave\" to leave this swarm and join another one.");
	if (d->cfg.cluster_store[0])
		return err_set(err, EINVAL, "this node uses the cluster store %s: swarm mode and a "
			       "cluster store are mutually exclusive", d->cfg.cluster_store);
	if (!n_remotes)
		return err_set(err, EINVAL, "RemoteAddrs: at least one manager address is required");
	ret = parse_token(token, cluster, secret, err);
	if (ret < 0)
		return ret;
	reset_fields(sw);
	ret = pick_addrs(d, listen, advertise, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n_remotes; i++) {
		ret = join_request(d, remotes[i], cluster, secret, sw->adv_ip, sw->gossip_port, &rep, err);
		if (ret == 0 || ret == -EACCES)
			break;
	}
	if (ret < 0)
		goto fail;
	gaddr = json_string_value(json_object_get(rep, "GossipAddr"));
	if (!gaddr || strcmp(json_string_value(json_object_get(rep, "ClusterID")) ?: "", cluster)) {
		ret = err_set(err, EPROTO, "join reply: malformed");
		goto fail;
	}
	ret = keys_from_json(json_object_get(rep, "Keys"), &sw->kr, err);
	if (ret < 0)
		goto fail;
	snprintf(sw->cluster_id, sizeof(sw->cluster_id), "%s", cluster);
	snprintf(sw->node_id, sizeof(sw->node_id), "%.25s", d->id);
	snprintf(sw->join_secret, sizeof(sw->join_secret), "%s", secret);
	sw->created = sw->updated = time(NULL);
	sw->rotation_s = d->cfg.key_rotation_interval_s;
	apply_reply(sw, rep);
	if (sw->role == SW_MANAGER) {
		ret = listener_start(d, err);
		if (ret < 0)
			goto fail;
	}
	ret = gossip_up(d, err);
	if (ret < 0)
		goto fail;
	pthread_mutex_lock(&d->lock);
	publish_node(d);
	pthread_mutex_unlock(&d->lock);
	ret = gossip_join(sw->g, &gaddr, 1, err);
	if (ret < 0) {
		err_wrap(err, "gossip join %s", gaddr);
		ret = -EHOSTUNREACH;
		goto fail;
	}
	add_addr(sw->members, &sw->n_members, gaddr);
	pthread_mutex_lock(&d->lock);
	publish_all(d, true);
	sync_all(d);
	sw_fps(sw->kr, sw->saved_fps, sizeof(sw->saved_fps));
	ret = sw_save_locked(d, err);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		goto fail;
	log_info("swarm: joined cluster %s as a %s (node %s)", sw->cluster_id, role_name(sw->role),
		 sw->node_id);
	json_decref(rep);
	sodium_memzero(secret, sizeof(secret));
	return 0;
fail:
	if (rep) {
		json_object_del(rep, "Keys");
		json_object_del(rep, "WorkerSecret");
		json_object_del(rep, "ManagerSecret");
	}
	json_decref(rep);
	sodium_memzero(secret, sizeof(secret));
	gossip_down(d, false);
	reset_fields(sw);
	return ret;
}

int swarm_leave(struct daemon *d, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	struct st_endpoint *eps = NULL;
	struct st_network *nets = NULL;
	size_t ne = 0, nn = 0;
	int ret, removed = 0;

	gossip_down(d, true);
	pthread_mutex_lock(&d->lock);
	reset_fields(sw);
	/* Every gossip-learnt peer goes, from state and maps. */
	if (state_network_list(d->st, &nets, &nn, NULL) == 0) {
		for (size_t i = 0; i < nn; i++) {
			if (state_endpoint_list(d->st, nets[i].id, &eps, &ne, NULL) < 0)
				continue;
			for (size_t j = 0; j < ne; j++)
				if (is_gossip_peer(&eps[j]) &&
				    peer_remove_ip(d, nets[i].id, eps[j].ip, NULL) == 0)
					removed++;
			free(eps);
			eps = NULL;
		}
		st_network_list_free(nets, nn);
	}
	ret = sw_save_locked(d, err);
	pthread_mutex_unlock(&d->lock);
	log_info("swarm: left the swarm; %d gossip peers removed", removed);
	return ret;
}

/* ------------------------------------------------------------ join tokens */

/* Push the current secrets to manager at addr; 0 when it took them. */
static int push_secrets_to(struct daemon *d, const char *addr, const uint8_t k[KEYRING_KEY_LEN],
			   const char *cluster, json_t *msg)
{
	struct shoal_err err = { 0 };
	uint8_t *out = NULL, *body = NULL, type = 0;
	size_t len;
	ssize_t n;
	int fd, ret;

	fd = connect_timeout(addr, 2000, &err);
	if (fd < 0)
		return fd;
	n = seal_json(k, cluster, d->cfg.node_name, msg, &out);
	ret = n < 0 ? (int)n : frame_write(fd, 'U', out, (size_t)n);
	if (ret == 0)
		ret = frame_read(fd, &type, &body, &len);
	if (ret == 0 && type != 'K')
		ret = -EACCES;
	close(fd);
	free(out);
	free(body);
	return ret;
}

/*
 * sw->op held, d->lock not: give the current token secrets to every other
 * alive manager, sealed with a key derived from seal_secret (the manager
 * secret they hold; NULL = the current one). Returns how many took them.
 */
static int push_secrets(struct daemon *d, const char *seal_secret, size_t *asked, bool quiet)
{
	struct swarm *sw = d->sw;
	char sealer[SW_SECRET_LEN], cluster[SW_ID_LEN], addrs[SW_MAX_NODES][32], a[16];
	uint8_t k[KEYRING_KEY_LEN];
	size_t n = 0;
	int ok = 0;
	json_t *msg;

	pthread_mutex_lock(&d->lock);
	if (!sw->active || !sw->g || sw->role == SW_WORKER) {
		pthread_mutex_unlock(&d->lock);
		*asked = 0;
		return 0;
	}
	snprintf(sealer, sizeof(sealer), "%s", seal_secret ? seal_secret : sw->manager_secret);
	memcpy(cluster, sw->cluster_id, SW_ID_LEN);
	msg = json_pack("{s:s, s:s, s:I}", "WorkerSecret", sw->worker_secret, "ManagerSecret",
			sw->manager_secret, "SecretsUpdated", (json_int_t)sw->secrets_updated_ms);
	for (size_t i = 0; i < sw->n_nodes && n < SW_MAX_NODES; i++)
		if (sw->nodes[i].role != SW_WORKER && member_alive(sw, sw->nodes[i].name) &&
		    strcmp(sw->nodes[i].name, gossip_name(sw->g)) != 0)
			snprintf(addrs[n++], 32, "%s:%u", util_ipv4_str(sw->nodes[i].ip, a),
				 sw->nodes[i].join_port ? sw->nodes[i].join_port
							: SW_DEFAULT_JOIN_PORT);
	pthread_mutex_unlock(&d->lock);
	derive_join_key(sealer, k);
	sodium_memzero(sealer, sizeof(sealer));
	for (size_t i = 0; i < n; i++) {
		int ret = push_secrets_to(d, addrs[i], k, cluster, msg);
		if (ret == 0)
			ok++;
		else if (quiet)
			log_debug("swarm: token sync with the manager at %s: %s", addrs[i],
				  strerror(-ret));
		else
			log_warn("swarm: could not pass the new join tokens to the manager at %s: %s",
				 addrs[i], strerror(-ret));
	}
	sodium_memzero(k, sizeof(k));
	json_object_del(msg, "WorkerSecret");
	json_object_del(msg, "ManagerSecret");
	json_decref(msg);
	*asked = n;
	return ok;
}

/* sw->op held, d->lock not. */
int swarm_rotate_tokens(struct daemon *d, bool rotate_worker, bool rotate_manager,
			struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	char old[SW_SECRET_LEN];
	struct timespec ts;
	size_t asked;
	int ok;

	pthread_mutex_lock(&d->lock);
	if (!sw->active || sw->role == SW_WORKER) {
		pthread_mutex_unlock(&d->lock);
		return err_set(err, ENOTCONN, "%s", sw->active ? "This node is not a swarm manager"
							       : "This node is not part of a swarm");
	}
	memcpy(old, sw->manager_secret, SW_SECRET_LEN);
	if (rotate_worker)
		swarm_new_secret(sw->worker_secret);
	if (rotate_manager)
		swarm_new_secret(sw->manager_secret);
	clock_gettime(CLOCK_REALTIME, &ts);
	sw->secrets_updated_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	sw->updated = time(NULL);
	sw->dirty = true;
	pthread_mutex_unlock(&d->lock);
	ok = push_secrets(d, old, &asked, false);
	sodium_memzero(old, sizeof(old));
	log_info("swarm: join tokens rotated (%s%s%s); %d of %zu other managers updated",
		 rotate_worker ? "worker" : "", rotate_worker && rotate_manager ? ", " : "",
		 rotate_manager ? "manager" : "", ok, asked);
	return 0;
}

/* ------------------------------------------------------------ key rotation */

/* sw->op held, d->lock not. */
int swarm_rotate_key(struct daemon *d, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	struct gossip_keyop_result res = { 0 };
	struct keyring_info ki[KEYRING_MAX_KEYS];
	uint8_t keys[KEYRING_MAX_KEYS][KEYRING_KEY_LEN];
	char fp[KEYRING_FP_LEN];
	int ret, n;
	bool fresh = false;

	if (!sw->active || !sw->g)
		return err_set(err, ENOTCONN, "This node is not part of a swarm");
	if (sodium_is_zero(sw->pending_key, KEYRING_KEY_LEN)) {
		randombytes_buf(sw->pending_key, KEYRING_KEY_LEN);
		sw->pending_tries = 0;
		fresh = true;
	}
	/* Never more than three: drop the oldest demoted key first. */
	n = keyring_list(sw->kr, ki);
	if (n == KEYRING_MAX_KEYS && fresh) {
		int oldest = 1;
		keyring_export(sw->kr, keys, NULL);
		for (int i = 2; i < n; i++)
			if (ki[i].installed < ki[oldest].installed)
				oldest = i;
		gossip_key_remove(sw->g, keys[oldest], KEYOP_TIMEOUT_MS, &res, NULL);
		sodium_memzero(keys, sizeof(keys));
	}
	keyring_fingerprint(sw->pending_key, fp);
	ret = gossip_key_install(sw->g, sw->pending_key, KEYOP_TIMEOUT_MS, &res, err);
	if (ret < 0)
		return ret;
	if (res.acked < res.members && sw->pending_tries++ == 0) {
		log_warn("swarm: key %s installed on %d of %d members; making it primary at the next "
			 "tick", fp, res.acked, res.members);
		return err_set(err, EAGAIN, "key %s not yet installed everywhere (%d of %d)", fp,
			       res.acked, res.members);
	}
	ret = gossip_key_use(sw->g, sw->pending_key, KEYOP_TIMEOUT_MS, &res, err);
	if (ret < 0)
		return ret;
	sodium_memzero(sw->pending_key, KEYRING_KEY_LEN);
	n = keyring_list(sw->kr, ki);
	if (n == KEYRING_MAX_KEYS) {
		int oldest = 1;
		keyring_export(sw->kr, keys, NULL);
		for (int i = 2; i < n; i++)
			if (ki[i].installed < ki[oldest].installed)
				oldest = i;
		gossip_key_remove(sw->g, keys[oldest], KEYOP_TIMEOUT_MS, &res, NULL);
		sodium_memzero(keys, sizeof(keys));
	}
	pthread_mutex_lock(&d->lock);
	sw->last_rotation = time(NULL);
	sw_fps(sw->kr, sw->saved_fps, sizeof(sw->saved_fps));
	ret = sw_save_locked(d, err);
	pthread_mutex_unlock(&d->lock);
	log_info("swarm: gossip key rotated: primary is now %s (%d of %d members acked)", fp,
		 res.acked, res.members);
	return ret;
}

/* ------------------------------------------------------------ restore + timer */

static int restore(struct daemon *d, json_t *j, struct shoal_err *err)
{
	struct swarm *sw = d->sw;
	uint8_t k[KEYRING_KEY_LEN];
	json_t *v, *keys = json_object_get(j, "Keys");
	size_t i;
	int ret = 0;

#define JS(key) (json_string_value(json_object_get(j, key)) ?: "")
#define JI(key) json_integer_value(json_object_get(j, key))
	snprintf(sw->cluster_id, sizeof(sw->cluster_id), "%s", JS("ClusterID"));
	snprintf(sw->node_id, sizeof(sw->node_id), "%s", JS("NodeID"));
	sw->role = (int)JI("Role");
	util_parse_ipv4(JS("AdvertiseIP"), &sw->adv_ip);
	sw->gossip_port = (uint16_t)JI("GossipPort");
	sw->adv_join_port = (uint16_t)JI("AdvertiseJoinPort");
	util_parse_ipv4(JS("ListenIP"), &sw->listen_ip);
	sw->listen_port = (uint16_t)JI("ListenPort");
	snprintf(sw->worker_secret, sizeof(sw->worker_secret), "%s", JS("WorkerSecret"));
	snprintf(sw->manager_secret, sizeof(sw->manager_secret), "%s", JS("ManagerSecret"));
	snprintf(sw->join_secret, sizeof(sw->join_secret), "%s", JS("JoinSecret"));
	sw->created = JI("CreatedAt");
	sw->updated = JI("UpdatedAt");
	sw->rotation_s = JI("KeyRotationInterval");
	sw->last_rotation = JI("LastRotation");
	sw->secrets_updated_ms = JI("SecretsUpdated");
	if (sw->role == SW_LEADER)
		sw->rotation_s = d->cfg.key_rotation_interval_s;
	json_array_foreach(json_object_get(j, "Members"), i, v)
		add_addr(sw->members, &sw->n_members, json_string_value(v) ?: "");
	json_array_foreach(json_object_get(j, "JoinAddrs"), i, v)
		add_addr(sw->join_addrs, &sw->n_join_addrs, json_string_value(v) ?: "");
	json_array_foreach(json_object_get(j, "OwnedNetworks"), i, v)
		set_owned(sw, json_string_value(v) ?: "", true);
	json_array_foreach(json_object_get(j, "Blocks"), i, v) {
		struct sw_block *b;
		if (sw->n_blocks == SW_MAX_BLOCKS)
			break;
		b = &sw->blocks[sw->n_blocks++];
		snprintf(b->net, sizeof(b->net), "%s", json_string_value(json_object_get(v, "Network")) ?: "");
		util_parse_ipv4(json_string_value(json_object_get(v, "Block")) ?: "", &b->block);
		util_parse_ipv4(json_string_value(json_object_get(v, "Subnet")) ?: "", &b->subnet);
		b->prefix = (uint8_t)json_integer_value(json_object_get(v, "Prefix"));
		b->subnet_prefix = (uint8_t)json_integer_value(json_object_get(v, "SubnetPrefix"));
	}
#undef JS
#undef JI
	json_array_foreach(keys, i, v) {
		const char *h = json_string_value(json_object_get(v, "Key"));
		size_t bl = 0;

		if (!h || sodium_hex2bin(k, sizeof(k), h, strlen(h), NULL, &bl, NULL) < 0 ||
		    bl != KEYRING_KEY_LEN)
			continue;
		ret = sw->kr ? keyring_install(sw->kr, k, err) : keyring_new(k, &sw->kr, err);
		if (ret < 0)
			break;
	}
	sodium_memzero(k, sizeof(k));
	if (ret < 0)
		return ret;
	if (!sw->kr || strlen(sw->cluster_id) != 25 || !sw->adv_ip)
		return err_set(err, EINVAL, "the saved swarm state is incomplete");
	return 0;
}

/* Rejoin after a restart (sw->op held). 0 once joined. */
static int rejoin(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct shoal_err err = { 0 };
	const char *addrs[SW_MAX_ADDRS];
	size_t n = 0;
	int ret = -ENOENT;

	if (gossip_num_alive(sw->g) > 1)
		goto joined; /* someone reached us first */
	for (size_t i = 0; i < sw->n_members; i++)
		addrs[n++] = sw->members[i];
	if (n)
		ret = gossip_join(sw->g, addrs, n, &err);
	if (ret < 0 && sw->join_secret[0]) {
		/* Our keys may have been rotated away meanwhile: the join protocol again. */
		for (size_t i = 0; i < sw->n_join_addrs && ret < 0; i++) {
			json_t *rep = NULL;
			const char *gaddr;

			if (join_request(d, sw->join_addrs[i], sw->cluster_id, sw->join_secret,
					 sw->adv_ip, sw->gossip_port, &rep, &err) < 0)
				continue;
			keys_replace(sw->kr, json_object_get(rep, "Keys"));
			pthread_mutex_lock(&d->lock);
			apply_reply(sw, rep);
			pthread_mutex_unlock(&d->lock);
			gaddr = json_string_value(json_object_get(rep, "GossipAddr"));
			if (gaddr)
				ret = gossip_join(sw->g, &gaddr, 1, &err);
			json_object_del(rep, "Keys");
			json_object_del(rep, "WorkerSecret");
			json_object_del(rep, "ManagerSecret");
			json_decref(rep);
		}
	}
	if (ret < 0) {
		log_debug("swarm: rejoin: %s", err.msg);
		return ret;
	}
joined:
	pthread_mutex_lock(&d->lock);
	sw->need_join = false;
	sync_all(d);
	sw->dirty = true;
	pthread_mutex_unlock(&d->lock);
	log_info("swarm: rejoined cluster %s", sw->cluster_id);
	return 0;
}

/*
 * Overlay networks outlive the node that created them (d->lock held).
 * A network record is visible only while its owner is alive, so when the
 * owner dies or leaves for good, a node that still has the network
 * re-publishes it under its own name and nodes that join later still
 * learn it. Among the nodes holding an address block in the network (the
 * nodes that have it), the alive one with the lowest name adopts it; when
 * an older record shows up again (its creator came back) the copy is
 * withdrawn, so one record per network remains and `network rm` by its
 * owner still removes it everywhere.
 */
static void adopt_networks(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_entry *es = NULL, w;
	struct st_network *nets = NULL;
	size_t nes = 0, nn = 0;
	const char *me = gossip_name(sw->g);

	if (state_network_list(d->st, &nets, &nn, NULL) < 0)
		return;
	if (gossip_table_snapshot(sw->g, &es, &nes) < 0)
		goto out;
	for (size_t i = 0; i < nn; i++) {
		const struct st_network *n = &nets[i];
		bool lowest = true, holds = false;

		if (strcmp(n->driver, "overlay") != 0 || strlen(n->name) >= GOSSIP_NAME_MAX ||
		    name_in(sw->removed, sw->n_removed, n->name))
			continue;
		if (gossip_table_lookup(sw->g, GOSSIP_NETWORK, n->name, n->subnet, &w) == 0) {
			if (strcmp(w.owner, me) != 0 && is_owned(sw, n->name)) {
				log_info("swarm: network %s is published by node %s again; withdrawing "
					 "this node's copy", n->name, w.owner);
				gossip_table_delete(sw->g, GOSSIP_NETWORK, n->name, n->subnet);
				set_owned(sw, n->name, false);
				sw->dirty = true;
			}
			continue;
		}
		for (size_t j = 0; j < nes; j++) {
			if (es[j].kind != GOSSIP_BLOCK || strcmp(es[j].network, n->name) != 0 ||
			    es[j].subnet != n->subnet)
				continue;
			if (strcmp(es[j].owner, me) == 0)
				holds = true;
			else if (strcmp(es[j].owner, me) < 0 && member_alive(sw, es[j].owner))
				lowest = false;
		}
		if (holds && lowest) {
			log_info("swarm: network %s has no live publisher; this node adopts it",
				 n->name);
			publish_network(d, n);
		}
	}
	free(es);
out:
	st_network_list_free(nets, nn);
}

/*
 * Is a key rotation due here? Only the acting leader rotates. Its clock
 * is the later of its own last rotation and the primary key's install
 * time, so a manager that takes over from a dead leader continues the
 * schedule from the last rotation it saw rather than starting at once.
 */
static bool rotation_due(struct daemon *d, int64_t now)
{
	struct swarm *sw = d->sw;
	struct keyring_info ki[KEYRING_MAX_KEYS];
	int64_t since;
	bool leader;
	int n;

	pthread_mutex_lock(&d->lock);
	leader = swarm_is_leader(d);
	since = sw->last_rotation;
	n = sw->kr ? keyring_list(sw->kr, ki) : 0;
	for (int i = 0; i < n; i++)
		if (ki[i].primary && ki[i].installed > since)
			since = ki[i].installed;
	pthread_mutex_unlock(&d->lock);
	return leader && now - since >= sw->rotation_s;
}

static int64_t secrets_sync_s(struct daemon *d)
{
	int64_t ms = d->cfg.gossip_push_pull_interval_ms;

	return ms <= 0 ? 30 : ms < 1000 ? 1 : ms / 1000;
}

static void tick(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct shoal_err err = { 0 };
	char fps[sizeof(sw->saved_fps)];
	int64_t now = time(NULL);

	if (pthread_mutex_trylock(&sw->op) != 0)
		return;
	if (!sw->active)
		goto out;
	if (sw->need_join && (now % 2) == 0)
		rejoin(d);
	if (sw->rotation_s > 0 && rotation_due(d, now) && swarm_rotate_key(d, &err) < 0 &&
	    err.msg[0])
		log_debug("swarm: key rotation: %s", err.msg);
	/*
	 * A manager that was down during a token rotation catches up here:
	 * the leader re-sends the secrets at the push-pull interval (the
	 * membership's anti-entropy period, 30 s by default).
	 */
	if (now - sw->last_secrets_sync >= secrets_sync_s(d)) {
		size_t asked;
		bool leader;

		pthread_mutex_lock(&d->lock);
		leader = swarm_is_leader(d);
		pthread_mutex_unlock(&d->lock);
		sw->last_secrets_sync = now;
		if (leader && sw->secrets_updated_ms > 0)
			push_secrets(d, NULL, &asked, true);
	}
	sw_fps(sw->kr, fps, sizeof(fps));
	pthread_mutex_lock(&d->lock);
	if (strcmp(fps, sw->saved_fps) != 0) {
		snprintf(sw->saved_fps, sizeof(sw->saved_fps), "%s", fps);
		sw->dirty = true;
	}
	if (now - sw->last_sweep >= SWEEP_EVERY_S && !sw->need_join)
		sync_all(d);
	if (!sw->need_join && sw->g)
		adopt_networks(d);
	if (sw->dirty && sw_save_locked(d, &err) < 0)
		log_warn("swarm: save state: %s", err.msg);
	pthread_mutex_unlock(&d->lock);
out:
	pthread_mutex_unlock(&sw->op);
}

static void *timer_main(void *arg)
{
	struct daemon *d = arg;
	struct swarm *sw = d->sw;

	pthread_mutex_lock(&d->lock);
	while (!sw->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&sw->cond, &d->lock, &ts);
		if (sw->stop)
			break;
		pthread_mutex_unlock(&d->lock);
		tick(d);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static void check_db_mode(struct daemon *d)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char path[4200];
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		snprintf(path, sizeof(path), "%s/shoal.db%s", d->cfg.data_root, sfx[i]);
		if (stat(path, &st) == 0 && (st.st_mode & 0077)) {
			log_warn("%s had mode %04o: setting 0600 (it holds the swarm keys)", path,
				 st.st_mode & 07777);
			chmod(path, 0600);
		}
	}
}

int swarm_open(struct daemon *d, struct shoal_err *err)
{
	struct swarm *sw = calloc(1, sizeof(*sw));
	char *text = NULL;
	json_t *j = NULL;
	int ret = 0;

	if (!sw)
		return err_set(err, ENOMEM, "out of memory");
	if (sodium_init() < 0) {
		free(sw);
		return err_set(err, EIO, "libsodium initialisation failed");
	}
	pthread_mutex_init(&sw->op, NULL);
	pthread_cond_init(&sw->cond, NULL);
	sw->listen_fd = -1;
	d->sw = sw;
	check_db_mode(d);
	if (state_meta_get(d->st, "swarm", &text, NULL) == 0 && text && *text)
		j = json_loads(text, 0, NULL);
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	if (j) {
		pthread_mutex_lock(&sw->op);
		ret = restore(d, j, err);
		if (ret == 0 && sw->role != SW_WORKER)
			ret = listener_start(d, err);
		if (ret == 0)
			ret = gossip_up(d, err);
		if (ret == 0) {
			pthread_mutex_lock(&d->lock);
			publish_all(d, false);
			sw_fps(sw->kr, sw->saved_fps, sizeof(sw->saved_fps));
			sw->need_join = true;
			pthread_mutex_unlock(&d->lock);
			log_info("swarm: restored cluster %s (%s); rejoining in the background",
				 sw->cluster_id, role_name(sw->role));
		} else {
			log_error("swarm: cannot restore the swarm state: %s", err->msg);
			gossip_down(d, false);
			reset_fields(sw);
			ret = 0; /* the daemon still starts; `swarm leave` or `init` fixes it */
		}
		pthread_mutex_unlock(&sw->op);
		json_object_del(j, "Keys");
		json_decref(j);
	}
	ret = pthread_create(&sw->timer_thr, NULL, timer_main, d);
	if (ret)
		return err_set(err, ret, "cannot start the swarm timer thread");
	sw->timer_running = true;
	return 0;
}

void swarm_close(struct daemon *d)
{
	struct swarm *sw = d->sw;

	if (!sw)
		return;
	pthread_mutex_lock(&d->lock);
	sw->stop = true;
	pthread_cond_broadcast(&sw->cond);
	pthread_mutex_unlock(&d->lock);
	if (sw->timer_running)
		pthread_join(sw->timer_thr, NULL);
	pthread_mutex_lock(&sw->op);
	if (sw->active) {
		pthread_mutex_lock(&d->lock);
		if (sw->dirty)
			sw_save_locked(d, NULL);
		pthread_mutex_unlock(&d->lock);
	}
	gossip_down(d, false); /* no leave: peers keep our endpoints until we are dead to them */
	pthread_mutex_unlock(&sw->op);
}

/* ------------------------------------------------------------ views (d->lock held) */

json_t *swarm_nodes_json(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_member *ms = NULL;
	size_t n = 0;
	json_t *arr = json_array();

	char leader[GOSSIP_NAME_MAX];

	if (gossip_members(sw->g, &ms, &n) < 0)
		return arr;
	leader_of(sw, ms, n, leader);
	for (size_t i = 0; i < n; i++) {
		const struct gossip_member *m = &ms[i];
		bool self = strcmp(m->name, gossip_name(sw->g)) == 0;
		struct sw_node *nd = self ? NULL : node_by_name(sw, m->name, false);
		int role = self ? sw->role : nd ? nd->role : SW_WORKER;
		uint16_t jp = self ? sw->adv_join_port : nd ? nd->join_port : 0;
		bool up = m->state == GOSSIP_ALIVE || m->state == GOSSIP_SUSPECT;
		char a[16], addr[32];
		json_t *o;

		util_ipv4_str(m->ip, a);
		o = json_pack("{s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s}}", "ID",
			      self ? sw->node_id : (nd && nd->id[0] ? nd->id : m->name),
			      "Description", "Hostname", m->name, "Status", "State",
			      up ? "ready" : "down", "Addr", a, "Message", gossip_state_name(m->state),
			      "Spec", "Role", role_name(role), "Availability", "active");
		if (role != SW_WORKER) {
			snprintf(addr, sizeof(addr), "%s:%u", a, jp ? jp : SW_DEFAULT_JOIN_PORT);
			json_object_set_new(o, "ManagerStatus",
					    json_pack("{s:b, s:s, s:s}", "Leader",
						      strcmp(m->name, leader) == 0,
						      "Reachability", up ? "reachable" : "unreachable",
						      "Addr", addr));
		}
		json_object_set_new(o, "Self", json_boolean(self));
		json_array_append_new(arr, o);
	}
	free(ms);
	return arr;
}

json_t *swarm_gossip_counters_json(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_stats s = { 0 };
	json_t *rej = json_object();

	if (swarm_active(d) && sw->g)
		gossip_get_stats(sw->g, &s);
	for (int i = 0; i < KR_REJ_MAX; i++)
		json_object_set_new(rej, keyring_reject_name((enum keyring_reject)i),
				    json_integer((json_int_t)s.rejects[i]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:I, s:I, s:I, s:I}",
			 "UdpPacketsIn", (json_int_t)s.udp_pkts_in, "UdpPacketsOut",
			 (json_int_t)s.udp_pkts_out, "UdpBytesIn", (json_int_t)s.udp_bytes_in,
			 "UdpBytesOut", (json_int_t)s.udp_bytes_out, "TcpConnsIn",
			 (json_int_t)s.tcp_conns_in, "TcpConnsOut", (json_int_t)s.tcp_conns_out,
			 "TcpBytesIn", (json_int_t)s.tcp_bytes_in, "TcpBytesOut",
			 (json_int_t)s.tcp_bytes_out, "Rejects", rej, "DecodeErrors",
			 (json_int_t)s.decode_errors, "PushPulls", (json_int_t)s.push_pulls,
			 "Probes", (json_int_t)s.probes, "ProbeFailures", (json_int_t)s.probe_failures,
			 "Suspects", (json_int_t)s.suspects, "Deaths", (json_int_t)s.deaths,
			 "Refutes", (json_int_t)s.refutes, "GossipRounds", (json_int_t)s.gossip_rounds,
			 "JoinRejects", (json_int_t)sw->join_rejects, "JoinAccepts",
			 (json_int_t)sw->join_accepts);
}

json_t *swarm_info_json(struct daemon *d)
{
	struct swarm *sw = d->sw;
	struct gossip_member *ms = NULL;
	size_t n = 0, nodes = 0, managers = 0;
	char a[16];
	json_t *rm;

	if (!swarm_active(d))
		return json_pack("{s:s, s:s, s:s, s:b, s:s, s:n}", "NodeID", "", "NodeAddr", "",
				 "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
				 "RemoteManagers");
	rm = json_array();
	if (gossip_members(sw->g, &ms, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			bool self = strcmp(ms[i].name, gossip_name(sw->g)) == 0;
			struct sw_node *nd = self ? NULL : node_by_name(sw, ms[i].name, false);
			int role = self ? sw->role : nd ? nd->role : SW_WORKER;
			uint16_t jp = self ? sw->adv_join_port : nd ? nd->join_port : 0;
			char addr[32];

			nodes++;
			if (role == SW_WORKER)
				continue;
			managers++;
			snprintf(addr, sizeof(addr), "%s:%u", util_ipv4_str(ms[i].ip, a),
				 jp ? jp : SW_DEFAULT_JOIN_PORT);
			json_array_append_new(rm, json_pack("{s:s, s:s}", "NodeID",
							    self ? sw->node_id : nd && nd->id[0] ? nd->id : ms[i].name,
							    "Addr", addr));
		}
		free(ms);
	}
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:i, s:i, s:{s:s}}", "NodeID", sw->node_id,
			 "NodeAddr", util_ipv4_str(sw->adv_ip, a), "LocalNodeState", "active",
			 "ControlAvailable", sw->role != SW_WORKER, "Error", "", "RemoteManagers", rm,
			 "Nodes", (int)nodes, "Managers", (int)managers, "Cluster", "ID",
			 sw->cluster_id);
}
