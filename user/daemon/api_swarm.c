// SPDX-License-Identifier: Apache-2.0
/*
 * api_swarm.c - /swarm and /nodes with Docker Engine API v1.41 shapes
 * (SwarmInitRequest, SwarmJoinRequest, Swarm, Node), plus shoal's
 * /swarm/keys and /swarm/keys/rotate. The work is in swarm.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "api.h"
#include "swarm.h"

#define NOT_IN_SWARM "This node is not part of a swarm"
#define NOT_MANAGER                                                                             \
	"This node is not a swarm manager. Use \"shoal swarm init\" or \"shoal swarm join\" to "  \
	"connect this node to swarm and try again."
#define NOT_MANAGER_VIEW                                                                        \
	"This node is not a swarm manager. Worker nodes can't be used to view or modify cluster " \
	"state. Please run this command on a manager node or promote the current node to a "      \
	"manager."
#define MANAGER_LEAVE                                                                           \
	"You are attempting to leave the swarm on a node that is participating as a manager. "    \
	"Removing the last manager erases all current state of the swarm. Use `--force` to "      \
	"ignore this message."

static void reply_swarm_err(struct reply *r, int ret, const struct shoal_err *err)
{
	switch (-ret) {
	case EEXIST:
		return api_reply_msg(r, 409, err->msg);
	case EACCES:
		return api_reply_msg(r, 403, err->msg);
	case EHOSTUNREACH:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ENOTCONN:
		return api_reply_msg(r, 503, err->msg);
	case EAGAIN:
		return api_reply_msg(r, 503, err->msg);
	default:
		return api_reply_err(r, ret, err);
	}
}

static json_t *swarm_json(struct daemon *d)
{
	struct swarm *sw = d->sw;
	char created[32], updated[32], a[16], gaddr[32], wt[80], mt[80];
	json_t *j;

	util_time_rfc3339(sw->created, created);
	util_time_rfc3339(sw->updated, updated);
	snprintf(gaddr, sizeof(gaddr), "%s:%u", util_ipv4_str(sw->adv_ip, a), sw->gossip_port);
	j = json_pack("{s:s, s:{s:i}, s:s, s:s, s:{s:s, s:{}, s:{s:b}}, s:I, s:s, s:s, s:s, s:b}",
		      "ID", sw->cluster_id, "Version", "Index", 1, "CreatedAt", created, "UpdatedAt",
		      updated, "Spec", "Name", "default", "Labels", "EncryptionConfig",
		      "AutoLockManagers", 0, "KeyRotationInterval", (json_int_t)sw->rotation_s,
		      "GossipAddr", gaddr, "Role", sw->role == SW_WORKER ? "worker" : "manager",
		      "NodeID", sw->node_id, "Leader", swarm_is_leader(d));
	if (sw->role != SW_WORKER) {
		swarm_token(sw, false, wt);
		swarm_token(sw, true, mt);
		json_object_set_new(j, "JoinTokens", json_pack("{s:s, s:s}", "Worker", wt, "Manager", mt));
		snprintf(gaddr, sizeof(gaddr), "%s:%u", a, sw->adv_join_port);
		json_object_set_new(j, "JoinAddr", json_string(gaddr));
	}
	return j;
}

static json_t *keys_json(struct daemon *d)
{
	struct keyring_info ki[KEYRING_MAX_KEYS];
	int n = keyring_list(d->sw->kr, ki);
	int64_t now = time(NULL);
	json_t *arr = json_array();

	for (int i = 0; i < n; i++) {
		char t[32];
		util_time_rfc3339(ki[i].installed, t);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:b, s:I}", "Fingerprint",
						     ki[i].fingerprint, "InstalledAt", t, "AgeSeconds",
						     (json_int_t)(now - ki[i].installed), "Primary",
						     ki[i].primary, "Sealed", (json_int_t)ki[i].sealed));
	}
	return json_pack("{s:o, s:o, s:I}", "Keys", arr, "Counters", swarm_gossip_counters_json(d),
			 "KeyRotationInterval", (json_int_t)d->sw->rotation_s);
}

static const char *jstr(json_t *body, const char *k)
{
	return json_string_value(json_object_get(body, k));
}

void api_swarm(const struct api_req *q, struct reply *r)
{
	struct daemon *d = q->d;
	struct swarm *sw = d->sw;
	struct shoal_err err = { 0 };
	const char *p = q->path;
	bool get = strcmp(q->method, "GET") == 0, post = strcmp(q->method, "POST") == 0;
	json_t *body;
	int ret;

	if (strcmp(p, "/swarm") == 0 || strcmp(p, "/swarm/") == 0) {
		if (!get)
			return api_reply_msg(r, 405, "method not allowed");
		pthread_mutex_lock(&d->lock);
		if (!sw->active || sw->role == SW_WORKER) {
			pthread_mutex_unlock(&d->lock);
			return api_reply_msg(r, 503, sw->active ? NOT_MANAGER_VIEW : NOT_IN_SWARM);
		}
		r->json = swarm_json(d);
		pthread_mutex_unlock(&d->lock);
		r->status = 200;
		return;
	}
	if (strcmp(p, "/swarm/init") == 0 && post) {
		char id[SW_ID_LEN];

		body = api_parse_body(q->rc, true, r);
		if (!body)
			return;
		pthread_mutex_lock(&sw->op);
		ret = swarm_init(d, jstr(body, "ListenAddr"), jstr(body, "AdvertiseAddr"), id, &err);
		pthread_mutex_unlock(&sw->op);
		json_decref(body);
		if (ret < 0)
			return reply_swarm_err(r, ret, &err);
		r->status = 200;
		r->json = json_string(id);
		return;
	}
	if (strcmp(p, "/swarm/join") == 0 && post) {
		const char *remotes[16];
		size_t n = 0, i;
		json_t *ra, *v;

		body = api_parse_body(q->rc, false, r);
		if (!body)
			return;
		ra = json_object_get(body, "RemoteAddrs");
		json_array_foreach(ra, i, v)
			if (json_is_string(v) && n < ARRAY_SIZE(remotes))
				remotes[n++] = json_string_value(v);
		pthread_mutex_lock(&sw->op);
		ret = swarm_join(d, jstr(body, "ListenAddr"), jstr(body, "AdvertiseAddr"), remotes, n,
				 jstr(body, "JoinToken"), &err);
		pthread_mutex_unlock(&sw->op);
		json_decref(body);
		if (ret < 0)
			return reply_swarm_err(r, ret, &err);
		r->status = 200;
		return;
	}
	if (strcmp(p, "/swarm/leave") == 0 && post) {
		bool force = api_query_bool(q, "force", false);

		pthread_mutex_lock(&sw->op);
		if (!sw->active) {
			pthread_mutex_unlock(&sw->op);
			return api_reply_msg(r, 503, NOT_IN_SWARM);
		}
		/* No raft quorum to lose: only the last manager needs --force. */
		if (sw->role != SW_WORKER && !force) {
			int others;

			pthread_mutex_lock(&d->lock);
			others = swarm_other_managers(d);
			pthread_mutex_unlock(&d->lock);
			if (others == 0) {
				pthread_mutex_unlock(&sw->op);
				return api_reply_msg(r, 409, MANAGER_LEAVE);
			}
		}
		ret = swarm_leave(d, &err);
		pthread_mutex_unlock(&sw->op);
		if (ret < 0)
			return api_reply_err(r, ret, &err);
		r->status = 200;
		return;
	}
	if (strcmp(p, "/swarm/update") == 0 && post) {
		bool rw = api_query_bool(q, "rotateWorkerToken", false);
		bool rm = api_query_bool(q, "rotateManagerToken", false);

		pthread_mutex_lock(&sw->op);
		if (!sw->active || sw->role == SW_WORKER) {
			pthread_mutex_unlock(&sw->op);
			return api_reply_msg(r, 503, sw->active ? NOT_MANAGER : NOT_IN_SWARM);
		}
		if (rw || rm)
			ret = swarm_rotate_tokens(d, rw, rm, &err);
		else
			ret = 0;
		pthread_mutex_unlock(&sw->op);
		if (ret < 0)
			return reply_swarm_err(r, ret, &err);
		r->status = 200;
		return;
	}
	if (strcmp(p, "/swarm/keys") == 0 && get) {
		pthread_mutex_lock(&d->lock);
		if (!sw->active) {
			pthread_mutex_unlock(&d->lock);
			return api_reply_msg(r, 503, NOT_IN_SWARM);
		}
		r->json = keys_json(d);
		pthread_mutex_unlock(&d->lock);
		r->status = 200;
		return;
	}
	if (strcmp(p, "/swarm/keys/rotate") == 0 && post) {
		pthread_mutex_lock(&sw->op);
		if (!sw->active || sw->role == SW_WORKER) {
			pthread_mutex_unlock(&sw->op);
			return api_reply_msg(r, 503, sw->active ? NOT_MANAGER : NOT_IN_SWARM);
		}
		ret = swarm_rotate_key(d, &err);
		if (ret == -EAGAIN)
			ret = swarm_rotate_key(d, &err); /* second try makes it primary anyway */
		pthread_mutex_unlock(&sw->op);
		if (ret < 0)
			return reply_swarm_err(r, ret, &err);
		pthread_mutex_lock(&d->lock);
		r->json = sw->active ? keys_json(d) : json_object();
		pthread_mutex_unlock(&d->lock);
		r->status = 200;
		return;
	}
	if (strncmp(p, "/swarm/", 7) == 0 && (!get && !post))
		return api_reply_msg(r, 405, "method not allowed");
	api_reply_msg(r, 404, "page not found");
}

void api_nodes(const struct api_req *q, struct reply *r)
{
	struct daemon *d = q->d;
	char ref[128];
	const char *tail;

	if (strcmp(q->method, "GET") != 0)
		return api_reply_msg(r, 405, "method not allowed");
	pthread_mutex_lock(&d->lock);
	if (!swarm_active(d)) {
		pthread_mutex_unlock(&d->lock);
		return api_reply_msg(r, 503, NOT_IN_SWARM);
	}
	r->json = swarm_nodes_json(d);
	pthread_mutex_unlock(&d->lock);
	r->status = 200;
	if (api_match_prefix(q->path, "/nodes/", ref, sizeof(ref), &tail) && *tail == '\0') {
		size_t i;
		json_t *n, *hit = NULL;

		json_array_foreach(r->json, i, n) {
			const char *id = json_string_value(json_object_get(n, "ID"));
			const char *h = json_string_value(
				json_object_get(json_object_get(n, "Description"), "Hostname"));
			if ((id && strncmp(id, ref, strlen(ref)) == 0) || (h && strcmp(h, ref) == 0))
				hit = n;
		}
		if (hit)
			json_incref(hit);
		json_decref(r->json);
		r->json = NULL;
		if (!hit)
			return api_reply_msg(r, 404, "node not found");
		r->json = hit;
	}
}
