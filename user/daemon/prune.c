// SPDX-License-Identifier: Apache-2.0
/*
 * prune.c - the prune endpoints (see prune.h).
 *
 * Networks: Docker prunes a network with no endpoint, so a stopped
 * container whose network was pruned cannot start again. shoal keeps a
 * network that any container names in its settings, running or not, and
 * one with remote endpoints (containers of other hosts on an overlay), and
 * never the default network (Docker's "bridge" is never pruned either).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../image/image.h"
#include "../state/state_containers.h"
#include "../storage/storage.h"
#include "container.h"
#include "daemon.h"
#include "filters.h"
#include "prune.h"

static int check(json_t *filters, const char *const *known, size_t n, int64_t *until,
		 struct shoal_err *err)
{
	int ret = filters_normalise(filters, known, n, err);

	return ret < 0 ? ret : filters_until(filters, until, err);
}

/* ---- containers ------------------------------------------------------------ */

/* Bytes of the container's writable layer over its image. */
static uint64_t ctr_rw_size(struct daemon *d, const char *id, const char *image_id)
{
	char iid[IMAGE_ID_LEN], top[65] = "";
	uint64_t size = 0;

	if (!d->storage || !d->storage->ops->diff_size)
		return 0;
	if (image_resolve(d->images, image_id, iid, NULL, top, NULL) < 0)
		top[0] = '\0';
	if (d->storage->ops->diff_size(d->storage, id, top[0] ? top : NULL, &size, NULL) < 0)
		return 0;
	return size;
}

int prune_containers(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err)
{
	static const char *const known[] = { "until", "label", "label!" };
	json_t *all = NULL, *deleted, *c;
	uint64_t reclaimed = 0;
	int64_t until;
	size_t i;
	int ret;

	ret = check(filters, known, ARRAY_SIZE(known), &until, err);
	if (ret < 0)
		return ret;
	ret = ctr_list_json(d, true, -1, NULL, &all, err);
	if (ret < 0)
		return ret;
	deleted = json_array();
	json_array_foreach(all, i, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *st = json_string_value(json_object_get(c, "State"));
		const char *image_id = json_string_value(json_object_get(c, "ImageID"));
		json_int_t created = json_integer_value(json_object_get(c, "Created"));
		struct shoal_err e = { 0 };
		uint64_t size;

		if (!id || !st || strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 ||
		    strcmp(st, "restarting") == 0)
			continue;
		if ((until && created >= until) || !filters_labels_ok(filters, json_object_get(c, "Labels")))
			continue;
		size = ctr_rw_size(d, id, image_id ? image_id : "");
		if (ctr_remove(d, id, false, false, &e) < 0) {
			log_warn("container prune: %s", e.msg);
			continue;
		}
		json_array_append_new(deleted, json_string(id));
		reclaimed += size;
	}
	json_decref(all);
	*out = json_pack("{s:o, s:I}", "ContainersDeleted", deleted, "SpaceReclaimed",
			 (json_int_t)reclaimed);
	return 0;
}

/* ---- networks -------------------------------------------------------------- */

/* A container (any state) names network n in its settings. */
static bool net_named_by_container(const struct st_network *n, const struct st_container *v,
				   size_t nv)
{
	for (size_t i = 0; i < nv; i++) {
		json_t *ns = json_loads(v[i].net_settings ? v[i].net_settings : "{}", 0, NULL);
		json_t *nets = json_object_get(ns, "Networks"), *x;
		const char *k;
		bool hit = false;

		json_object_foreach(nets, k, x) {
			const char *id = json_string_value(json_object_get(x, "NetworkID"));

			hit = hit || strcmp(k, n->name) == 0 || (id && strcmp(id, n->id) == 0);
		}
		json_decref(ns);
		if (hit)
			return true;
	}
	return false;
}

int prune_networks(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err)
{
	static const char *const known[] = { "until", "label", "label!" };
	struct st_container *ctrs = NULL;
	struct st_network *nets = NULL;
	size_t nn = 0, nc = 0;
	json_t *deleted;
	int64_t until;
	int ret;

	ret = check(filters, known, ARRAY_SIZE(known), &until, err);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&d->lock);
	ret = state_network_list(d->st, &nets, &nn, err);
	if (ret == 0 && d->ctr)
		ret = st_container_list(d->ctr->sc, &ctrs, &nc, err);
	if (ret < 0) {
		pthread_mutex_unlock(&d->lock);
		st_network_list_free(nets, nn);
		return ret;
	}
	deleted = json_array();
	for (size_t i = 0; i < nn; i++) {
		struct st_network *n = &nets[i];
		struct st_endpoint *eps = NULL;
		struct shoal_err e = { 0 };
		size_t ne = 0;
		json_t *labels;
		bool ok;

		if (strcmp(n->name, DEFAULT_NET) == 0 || (until && n->created >= until))
			continue;
		labels = json_loads(n->labels_json ? n->labels_json : "{}", 0, NULL);
		ok = filters_labels_ok(filters, labels);
		json_decref(labels);
		if (!ok || net_named_by_container(n, ctrs, nc))
			continue;
		if (state_endpoint_list(d->st, n->id, &eps, &ne, &e) < 0 || ne) {
			free(eps);
			continue;
		}
		if (net_remove(d, n->id, &e) < 0) {
			log_warn("network prune: %s", e.msg);
			continue;
		}
		json_array_append_new(deleted, json_string(n->name));
	}
	pthread_mutex_unlock(&d->lock);
	st_container_list_free(ctrs, nc);
	st_network_list_free(nets, nn);
	*out = json_pack("{s:o}", "NetworksDeleted", deleted);
	return 0;
}

/* ---- images ---------------------------------------------------------------- */

int prune_images(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err)
{
	static const char *const known[] = { "dangling", "until", "label", "label!" };
	json_t *list = NULL, *lf, *deleted, *im;
	uint64_t reclaimed = 0;
	int64_t until;
	int dangling, ret;
	size_t i;

	if (!d->images)
		return err_set(err, EAGAIN, "the image store is not available");
	ret = check(filters, known, ARRAY_SIZE(known), &until, err);
	if (ret < 0)
		return ret;
	dangling = filters_bool(filters, "dangling", err);
	if (dangling < -1)
		return dangling;
	lf = json_object();
	if (dangling != 0)
		json_object_set_new(lf, "dangling", json_pack("[s]", "true"));
	ret = image_list_json(d->images, false, lf, &list, err);
	json_decref(lf);
	if (ret < 0)
		return ret;
	deleted = json_array();
	json_array_foreach(list, i, im) {
		const char *id = json_string_value(json_object_get(im, "Id"));
		json_int_t created = json_integer_value(json_object_get(im, "Created"));
		struct shoal_err e = { 0 };
		json_t *res = NULL;

		if (!id || (until && created >= until) ||
		    !filters_labels_ok(filters, json_object_get(im, "Labels")) ||
		    ctr_image_in_use(d, id))
			continue;
		/* every tag of an unused image goes with it (force: the tags
		 * only; ctr_image_in_use is asked again inside) */
		if (image_remove_ex(d->images, id, true, ctr_image_in_use, d, &res, &reclaimed, &e) < 0) {
			log_warn("image prune: %s", e.msg);
			continue;
		}
		json_array_extend(deleted, res);
		json_decref(res);
	}
	json_decref(list);
	*out = json_pack("{s:o, s:I}", "ImagesDeleted", deleted, "SpaceReclaimed",
			 (json_int_t)reclaimed);
	return 0;
}
