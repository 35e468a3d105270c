// SPDX-License-Identifier: Apache-2.0
/*
 * volumes.c - volumes in shoald: create, inspect, list with Docker's
 * filters, remove (refused while any container, running or not, has a
 * mount of it), prune (Docker >= 23: anonymous volumes unless all=true).
 *
 * Every call runs under d->lock. A mutation is one state transaction;
 * the directory under <data-root>/volumes is made before the commit and
 * removed again if the commit fails, and removed before the row goes,
 * so a failed removal leaves the volume whole.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../volume/volume.h"
#include "daemon.h"
#include "filters.h"
#include "volumes.h"

int volumes_open(struct daemon *d, struct shoal_err *err)
{
	size_t n = 0;
	int ret = st_volumes_open(d->st, &d->vols, err);

	if (ret < 0)
		return ret;
	/* A crash between recording a container's mounts and the container
	 * leaves rows that would keep their volumes "in use" forever. */
	ret = st_mount_delete_orphans(d->vols, &n, err);
	if (ret == 0 && n)
		log_info("dropped %zu mount records of containers that do not exist", n);
	return ret;
}

void volumes_close(struct daemon *d)
{
	st_volumes_close(d->vols);
	d->vols = NULL;
}

/* Stored JSON text as Docker shows it: an empty map is null. */
static json_t *map_or_null(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_object(j) || json_object_size(j) == 0) {
		json_decref(j);
		return json_null();
	}
	return j;
}

json_t *volume_to_json(struct daemon *d, const struct st_volume *v)
{
	char created[32], mp[4200];

	util_time_rfc3339(v->created, created);
	vol_data_dir(d->cfg.data_root, v->name, mp, sizeof(mp));
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:s}", "CreatedAt", created, "Driver",
			 v->driver, "Labels", map_or_null(v->labels_json), "Mountpoint", mp,
			 "Name", v->name, "Options", map_or_null(v->options_json), "Scope",
			 "local");
}

/* labels must be an object of strings (null = none). */
static int check_labels(const char *name, json_t *labels, struct shoal_err *err)
{
	const char *k;
	json_t *v;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return err_set(err, EINVAL, "create %s: Labels must be an object of strings", name);
	json_object_foreach(labels, k, v)
		if (!json_is_string(v))
			return err_set(err, EINVAL, "create %s: label %s must be a string", name, k);
	return 0;
}

static char *dump_map(json_t *m)
{
	return json_is_object(m) ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
}

int volume_create_locked(struct daemon *d, const char *name, json_t *labels, json_t *opts,
			 bool anonymous, struct st_volume *out, struct shoal_err *err)
{
	struct st_volume v = { 0 };
	json_t *lab = NULL;
	int ret;

	if (name && *name) {
		ret = vol_check_name(name, err);
		if (ret < 0)
			return ret;
		snprintf(v.name, sizeof(v.name), "%s", name);
	} else {
		ret = util_random_id(v.name);
		if (ret < 0)
			return err_set(err, -ret, "cannot generate a volume name");
	}
	ret = check_labels(v.name, labels, err);
	if (ret < 0)
		return ret;
	ret = vol_check_opts(v.name, opts, err);
	if (ret < 0)
		return ret;
	snprintf(v.driver, sizeof(v.driver), "%s", VOL_DRIVER_LOCAL);
	v.created = time(NULL);
	v.anonymous = anonymous;
	lab = json_is_object(labels) ? json_deep_copy(labels) : json_object();
	if (anonymous)
		json_object_set_new(lab, VOL_ANON_LABEL, json_string(""));
	v.labels_json = dump_map(lab);
	v.options_json = dump_map(opts);
	json_decref(lab);
	if (!v.labels_json || !v.options_json) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	ret = st_volume_insert(d->vols, &v, err);
	if (ret < 0)
		goto out;
	ret = vol_dir_create(d->cfg.data_root, v.name, err);
	if (ret < 0)
		goto out;
	if (out) {
		*out = v;
		memset(&v, 0, sizeof(v));
	}
out:
	st_volume_free(&v);
	return ret;
}

void volume_undo_dir(struct daemon *d, const char *name)
{
	struct shoal_err e = { 0 };

	if (vol_dir_remove(d->cfg.data_root, name, &e) < 0)
		log_warn("%s", e.msg);
}

int volume_create_json(struct daemon *d, json_t *req, json_t **out, struct shoal_err *err)
{
	const char *name = json_string_value(json_object_get(req, "Name"));
	const char *driver = json_string_value(json_object_get(req, "Driver"));
	json_t *nm = json_object_get(req, "Name");
	struct st_volume v = { 0 };
	int ret;

	if (nm && !json_is_null(nm) && !json_is_string(nm))
		return err_set(err, EINVAL, "Name must be a string");
	if (driver && *driver && strcmp(driver, VOL_DRIVER_LOCAL) != 0)
		return err_set(err, ENOENT,
			       "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
			       name ? name : "", driver, driver);
	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	ret = volume_create_locked(d, name, json_object_get(req, "Labels"),
				   json_object_get(req, "DriverOpts"), false, &v, err);
	if (ret == 0)
		ret = state_commit(d->st, err);
	if (ret < 0) {
		state_rollback(d->st);
		/* The dir is ours only if the row was: not on a name clash. */
		if (v.name[0])
			volume_undo_dir(d, v.name);
		st_volume_free(&v);
		return ret;
	}
	log_info("volume %s created", v.name);
	*out = volume_to_json(d, &v);
	st_volume_free(&v);
	return 0;
}

int volume_inspect_json(struct daemon *d, const char *name, json_t **out, struct shoal_err *err)
{
	struct st_volume v = { 0 };
	int ret = st_volume_get(d->vols, name, &v, err);

	if (ret < 0)
		return ret;
	*out = volume_to_json(d, &v);
	st_volume_free(&v);
	return 0;
}

/* ---- filters ----------------------------------------------------------------- */

/* Docker matches names as regular expressions; a bad one as a substring. */
static bool name_match(const char *name, const char *pat)
{
	regex_t re;
	bool m;

	if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0)
		return strstr(name, pat) != NULL;
	m = regexec(&re, name, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static bool volume_in_use(struct daemon *d, const char *name)
{
	char (*ids)[65] = NULL;
	size_t n = 0;

	if (st_volume_users(d->vols, name, &ids, &n, NULL) < 0)
		return true; /* when in doubt, in use: never prune it */
	free(ids);
	return n > 0;
}

/* Keys ANDed, values of one key ORed (label values ANDed, as Docker). */
static bool list_match(struct daemon *d, const struct st_volume *v, json_t *filters,
		       int dangling)
{
	json_t *labels = json_loads(v->labels_json, 0, NULL), *vals, *x;
	const char *key;
	bool ok = true;
	size_t i;

	if (dangling >= 0 && volume_in_use(d, v->name) == (dangling == 1))
		ok = false;
	json_object_foreach(filters, key, vals) {
		bool any = false;

		if (!ok || !strcmp(key, "dangling"))
			continue;
		if (!strcmp(key, "label")) {
			any = true;
			json_array_foreach(vals, i, x)
				any = any && filters_label_match(labels, json_string_value(x) ? json_string_value(x) : "");
		} else {
			json_array_foreach(vals, i, x) {
				const char *s = json_string_value(x);

				if (!s)
					continue;
				if (!strcmp(key, "name"))
					any = any || name_match(v->name, s);
				else if (!strcmp(key, "driver"))
					any = any || !strcmp(v->driver, s);
			}
		}
		ok = any;
	}
	json_decref(labels);
	return ok;
}

int volume_list_json(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err)
{
	static const char *const known[] = { "dangling", "driver", "label", "name" };
	struct st_volume *v = NULL;
	size_t n = 0;
	json_t *arr;
	int ret, dangling;

	ret = filters_normalise(filters, known, ARRAY_SIZE(known), err);
	if (ret < 0)
		return ret;
	dangling = filters_bool(filters, "dangling", err);
	if (dangling < -1)
		return dangling;
	ret = st_volume_list(d->vols, &v, &n, err);
	if (ret < 0)
		return ret;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		if (!filters || list_match(d, &v[i], filters, dangling))
			json_array_append_new(arr, volume_to_json(d, &v[i]));
	st_volume_list_free(v, n);
	*out = json_pack("{s:o, s:n}", "Volumes", arr, "Warnings");
	return 0;
}

/* ---- removal ------------------------------------------------------------------ */

int volume_remove_locked(struct daemon *d, const char *name, struct shoal_err *err)
{
	struct st_volume v = { 0 };
	char (*ids)[65] = NULL;
	size_t n = 0;
	int ret;

	ret = st_volume_get(d->vols, name, &v, err);
	if (ret < 0)
		return ret;
	st_volume_free(&v);
	ret = st_volume_users(d->vols, name, &ids, &n, err);
	if (ret < 0)
		return ret;
	if (n > 0) {
		char list[1024] = "", names[1024] = "", cname[256];
		size_t used = 0, nused = 0;

		/* Docker's wording with the ids, then the names people know. */
		for (size_t i = 0; i < n && used < sizeof(list) - 80; i++) {
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 i ? ", " : "", ids[i]);
			if (ctr_name_of(d, ids[i], cname, sizeof(cname)) &&
			    nused < sizeof(names) - sizeof(cname) - 4)
				nused += (size_t)snprintf(names + nused, sizeof(names) - nused,
							  "%s%s", nused ? ", " : "", cname);
		}
		free(ids);
		return err_set(err, EBUSY, "remove %s: volume is in use - [%s]%s%s%s", name, list,
			       nused ? (n > 1 ? " (containers " : " (container ") : "", names,
			       nused ? ")" : "");
	}
	free(ids);
	ret = vol_dir_remove(d->cfg.data_root, name, err);
	if (ret < 0)
		return ret;
	return st_volume_delete(d->vols, name, err);
}

int volume_remove(struct daemon *d, const char *name, bool force, struct shoal_err *err)
{
	int ret = state_begin(d->st, err);

	if (ret < 0)
		return ret;
	ret = volume_remove_locked(d, name, err);
	if (ret == 0)
		ret = state_commit(d->st, err);
	if (ret < 0) {
		state_rollback(d->st);
		if (ret == -ENOENT && force)
			return 0;
		return ret;
	}
	log_info("volume %s removed", name);
	return 0;
}

int volume_prune_json(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err)
{
	static const char *const known[] = { "label", "label!", "all" };
	struct st_volume *v = NULL;
	json_t *deleted = json_array(), *labels;
	uint64_t reclaimed = 0;
	size_t n = 0;
	int ret, all;

	ret = filters_normalise(filters, known, ARRAY_SIZE(known), err);
	if (ret < 0)
		goto fail;
	all = filters_bool(filters, "all", err);
	if (all < -1) {
		ret = all;
		goto fail;
	}
	ret = st_volume_list(d->vols, &v, &n, err);
	if (ret < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct shoal_err e = { 0 };
		uint64_t size = 0;
		bool ok = all == 1 || v[i].anonymous;

		labels = json_loads(v[i].labels_json, 0, NULL);
		ok = ok && filters_labels_ok(filters, labels);
		json_decref(labels);
		if (!ok || volume_in_use(d, v[i].name))
			continue;
		vol_size(d->cfg.data_root, v[i].name, &size);
		if (volume_remove(d, v[i].name, false, &e) < 0) {
			/* As Docker: a volume that cannot go is skipped, logged. */
			log_warn("prune: %s", e.msg);
			continue;
		}
		json_array_append_new(deleted, json_string(v[i].name));
		reclaimed += size;
	}
	st_volume_list_free(v, n);
	*out = json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed",
			 (json_int_t)reclaimed);
	return 0;
fail:
	json_decref(deleted);
	return ret;
}

int volume_mount(struct daemon *d, const struct st_volume *v, struct shoal_err *err)
{
	return vol_mount(d->cfg.data_root, v->name, v->options_json, err);
}
