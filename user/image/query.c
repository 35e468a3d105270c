// SPDX-License-Identifier: Apache-2.0
/*
 * query.c - images, image inspect, rmi, tag, resolve and counts, with
 * Docker's JSON shapes and semantics (daemon/images in moby).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image_int.h"
#include "../state/state.h"
#include "../storage/storage.h"

/* "repo:tag" / "repo@digest", familiar. */
static void ref_familiar(const struct st_image_ref *r, char *buf, size_t len)
{
	char name[300];

	image_name_familiar(r->repo, name, sizeof(name));
	snprintf(buf, len, "%s%c%s", name, strncmp(r->ref, "sha256:", 7) == 0 ? '@' : ':', r->ref);
}

static bool ref_is_digest(const struct st_image_ref *r)
{
	return strncmp(r->ref, "sha256:", 7) == 0;
}

static void rfc3339nano(int64_t t, char buf[40])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Docker's filter values: {"k": {"v": true}} or {"k": ["v"]}. */
static size_t filter_values(json_t *filters, const char *key, const char **vals, size_t max)
{
	json_t *f = json_object_get(filters, key), *v;
	const char *k;
	size_t n = 0, i;

	if (json_is_object(f)) {
		json_object_foreach(f, k, v)
			if (n < max && json_is_true(v))
				vals[n++] = k;
	} else if (json_is_array(f)) {
		json_array_foreach(f, i, v)
			if (n < max && json_is_string(v))
				vals[n++] = json_string_value(v);
	}
	return n;
}

static bool labels_match(json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	char key[256];
	json_t *v;

	snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - want) : (int)strlen(want), want);
	v = json_object_get(labels, key);
	if (!v)
		return false;
	return !eq || (json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0);
}

/* Docker's reference filter: the pattern against the familiar name and
 * the familiar "name:tag" (path.Match, which fnmatch with FNM_PATHNAME
 * matches). */
static bool reference_match(const struct st_image_ref *refs, size_t n, const char *pattern)
{
	char name[300], full[450];

	for (size_t i = 0; i < n; i++) {
		image_name_familiar(refs[i].repo, name, sizeof(name));
		ref_familiar(&refs[i], full, sizeof(full));
		if (fnmatch(pattern, full, FNM_PATHNAME) == 0 ||
		    (!ref_is_digest(&refs[i]) && fnmatch(pattern, name, FNM_PATHNAME) == 0))
			return true;
	}
	return false;
}

static int created_of(struct image_store *s, const char *ref, int64_t *created,
		      struct shoal_err *err)
{
	char id[IMAGE_ID_LEN];
	struct st_image im;
	int ret = store_lookup(s, ref, id, err);

	if (ret)
		return ret;
	ret = st_image_get(s->si, s->driver, id, &im, err);
	if (ret)
		return ret;
	*created = im.created;
	st_image_free(&im);
	return 0;
}

static const char *known_filters[] = { "reference", "dangling", "label", "before", "since" };

int image_list_json(struct image_store *s, bool all, json_t *filters, json_t **out,
		    struct shoal_err *err)
{
	const char *refpat[32], *dang[4], *labels[32], *before[2], *since[2], *k;
	size_t n_ref, n_dang, n_lab, n_bef, n_since, n_img = 0, n_refs = 0;
	struct st_image *imgs = NULL;
	struct st_image_ref *refs = NULL;
	int64_t before_t = INT64_MAX, since_t = INT64_MIN;
	int dangling = -1; /* -1 any, 0 tagged only, 1 untagged only */
	json_t *arr, *v;
	int ret;

	(void)all; /* no intermediate images in this store */
	*out = NULL;
	json_object_foreach(filters, k, v) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(known_filters) / sizeof(known_filters[0]); i++)
			ok = ok || strcmp(k, known_filters[i]) == 0;
		if (!ok)
			return err_set(err, EINVAL, "invalid filter '%s'", k);
	}
	n_ref = filter_values(filters, "reference", refpat, 32);
	n_dang = filter_values(filters, "dangling", dang, 4);
	n_lab = filter_values(filters, "label", labels, 32);
	n_bef = filter_values(filters, "before", before, 2);
	n_since = filter_values(filters, "since", since, 2);
	for (size_t i = 0; i < n_dang; i++) {
		if (strcmp(dang[i], "true") == 0 || strcmp(dang[i], "1") == 0)
			dangling = 1;
		else if (strcmp(dang[i], "false") == 0 || strcmp(dang[i], "0") == 0)
			dangling = 0;
		else
			return err_set(err, EINVAL, "invalid filter 'dangling=%s'", dang[i]);
	}
	arr = json_array();
	if (!arr)
		return err_set(err, ENOMEM, "out of memory");
	store_lock(s);
	if (n_bef && (ret = created_of(s, before[0], &before_t, err)))
		goto out;
	if (n_since && (ret = created_of(s, since[0], &since_t, err)))
		goto out;
	ret = st_image_list(s->si, s->driver, &imgs, &n_img, err);
	if (!ret)
		ret = st_ref_list(s->si, s->driver, NULL, NULL, &refs, &n_refs, err);
	if (ret)
		goto out;
	for (size_t i = 0; i < n_img; i++) {
		struct st_image *im = &imgs[i];
		json_t *o, *tags = json_array(), *digests = json_array(), *cfg, *lab;
		size_t n_tags = 0;
		char buf[450];
		bool keep = true;

		/* refs are sorted by repo, not by image: collect. With a
		 * reference filter, Docker lists only the matching names. */
		for (size_t j = 0; j < n_refs; j++) {
			bool shown = n_ref == 0;

			if (strcmp(refs[j].image_id, im->id) != 0)
				continue;
			if (!ref_is_digest(&refs[j]))
				n_tags++;
			for (size_t k = 0; k < n_ref && !shown; k++)
				shown = reference_match(&refs[j], 1, refpat[k]);
			if (!shown)
				continue;
			ref_familiar(&refs[j], buf, sizeof(buf));
			json_array_append_new(ref_is_digest(&refs[j]) ? digests : tags, json_string(buf));
		}
		cfg = json_loads(im->config, 0, NULL);
		lab = json_object_get(json_object_get(cfg, "config"), "Labels");
		if (dangling == 1 && n_tags)
			keep = false;
		if (dangling == 0 && !n_tags)
			keep = false;
		if (n_ref && !json_array_size(tags) && !json_array_size(digests))
			keep = false;
		for (size_t j = 0; j < n_lab && keep; j++)
			keep = labels_match(lab, labels[j]);
		if (im->created >= before_t || im->created <= since_t)
			keep = false;
		if (!keep) {
			json_decref(tags);
			json_decref(digests);
			json_decref(cfg);
			continue;
		}
		if (!json_array_size(tags) && !json_array_size(digests)) {
			/* API v1.41 shape for dangling images */
			json_array_append_new(tags, json_string("<none>:<none>"));
			json_array_append_new(digests, json_string("<none>@<none>"));
		}
		o = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:O, s:I}", "Id", im->id,
			      "ParentId", "", "RepoTags", tags, "RepoDigests", digests, "Created",
			      (json_int_t)im->created, "Size", (json_int_t)im->size, "VirtualSize",
			      (json_int_t)im->size, "SharedSize", (json_int_t)-1, "Labels",
			      json_is_object(lab) ? lab : json_null(), "Containers", (json_int_t)-1);
		json_decref(cfg);
		if (!o || json_array_append_new(arr, o)) {
			ret = err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	store_unlock(s);
	st_image_list_free(imgs, n_img);
	free(refs);
	if (ret) {
		json_decref(arr);
		return ret;
	}
	*out = arr;
	return 0;
}

/* GraphDriver.Data: overlay2 gets Docker's directory names (the driver
 * keeps Docker's layout under its home), the others nothing. */
static json_t *graph_data(struct image_store *s, const char *top_chain)
{
	char chain[DIGEST_LEN], buf[4400], *lower = NULL;
	struct st_layer l;
	size_t lower_len = 0;
	json_t *d;
	bool first = true;

	if (strcmp(s->driver, "overlay2") != 0 || !top_chain[0])
		return json_null();
	d = json_object();
	snprintf(chain, sizeof(chain), "%s", top_chain);
	while (chain[0] && st_layer_get(s->si, s->driver, chain, &l, NULL) == 0) {
		snprintf(buf, sizeof(buf), "%s/%s/diff", s->drv->home, l.storage_id);
		if (first) {
			json_object_set_new(d, "UpperDir", json_string(buf));
			snprintf(buf, sizeof(buf), "%s/%s/merged", s->drv->home, l.storage_id);
			json_object_set_new(d, "MergedDir", json_string(buf));
			snprintf(buf, sizeof(buf), "%s/%s/work", s->drv->home, l.storage_id);
			json_object_set_new(d, "WorkDir", json_string(buf));
			first = false;
		} else {
			size_t add = strlen(buf) + 2;
			char *nl = realloc(lower, lower_len + add);

			if (!nl)
				break;
			lower = nl;
			snprintf(lower + lower_len, add, "%s%s", lower_len ? ":" : "", buf);
			lower_len += strlen(lower + lower_len);
		}
		snprintf(chain, sizeof(chain), "%s", l.parent);
	}
	if (lower)
		json_object_set_new(d, "LowerDir", json_string(lower));
	free(lower);
	return d;
}

static json_t *str_or_empty(json_t *cfg, const char *key)
{
	const char *v = json_string_value(json_object_get(cfg, key));

	return json_string(v ? v : "");
}

int image_inspect_json(struct image_store *s, const char *ref, json_t **out, struct shoal_err *err)
{
	char id[IMAGE_ID_LEN], buf[450], created[40];
	struct st_image im = { 0 };
	struct st_image_ref *refs = NULL;
	size_t n_refs = 0;
	json_t *o = NULL, *cfg = NULL, *tags, *digests, *c, *cc;
	int ret;

	*out = NULL;
	store_lock(s);
	ret = store_lookup(s, ref, id, err);
	if (!ret)
		ret = st_image_get(s->si, s->driver, id, &im, err);
	if (!ret)
		ret = st_ref_list(s->si, s->driver, id, NULL, &refs, &n_refs, err);
	if (ret)
		goto out;
	cfg = json_loads(im.config, 0, NULL);
	if (!cfg)
		cfg = json_object();
	tags = json_array();
	digests = json_array();
	for (size_t i = 0; i < n_refs; i++) {
		ref_familiar(&refs[i], buf, sizeof(buf));
		json_array_append_new(ref_is_digest(&refs[i]) ? digests : tags, json_string(buf));
	}
	c = json_object_get(cfg, "config");
	cc = json_object_get(cfg, "container_config");
	if (im.last_tag_time)
		rfc3339nano(im.last_tag_time, created);
	else
		snprintf(created, sizeof(created), "0001-01-01T00:00:00Z");
	o = json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:O, s:o, s:o, s:I, s:I}",
		      "Id", id, "RepoTags", tags, "RepoDigests", digests, "Parent", "",
		      "Comment", str_or_empty(cfg, "comment"),
		      "Created", str_or_empty(cfg, "created"),
		      "Container", str_or_empty(cfg, "container"),
		      "ContainerConfig", cc ? json_incref(cc) : json_object(),
		      "DockerVersion", str_or_empty(cfg, "docker_version"),
		      "Author", str_or_empty(cfg, "author"),
		      "Config", c ? c : json_null(),
		      "Architecture", str_or_empty(cfg, "architecture"),
		      "Os", str_or_empty(cfg, "os"),
		      "Size", (json_int_t)im.size, "VirtualSize", (json_int_t)im.size);
	if (!o) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (json_object_get(cfg, "variant"))
		json_object_set(o, "Variant", json_object_get(cfg, "variant"));
	json_object_set_new(o, "GraphDriver", json_pack("{s:s, s:o}", "Name", s->driver, "Data",
							graph_data(s, im.top_layer)));
	json_object_set_new(o, "RootFS",
			    json_pack("{s:s, s:O}", "Type", "layers", "Layers",
				      json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")
					      ?: json_array()));
	json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", created));
out:
	store_unlock(s);
	st_image_free(&im);
	free(refs);
	json_decref(cfg);
	if (ret) {
		json_decref(o);
		return ret;
	}
	*out = o;
	return 0;
}

int image_tag(struct image_store *s, const char *ref, const char *repo, const char *tag,
	      struct shoal_err *err)
{
	char id[IMAGE_ID_LEN], full[600], name[300];
	struct image_ref r;
	int ret;

	if (!repo || !*repo)
		return err_set(err, EINVAL, "repository name must not be empty");
	if (tag && *tag)
		snprintf(full, sizeof(full), "%s:%s", repo, tag);
	else
		snprintf(full, sizeof(full), "%s", repo);
	ret = image_ref_parse(full, &r, err);
	if (ret)
		return ret;
	if (r.digest[0])
		return err_set(err, EINVAL, "refusing to create a tag with a digest reference");
	image_ref_name(&r, name, sizeof(name));
	store_lock(s);
	ret = store_lookup(s, ref, id, err);
	if (!ret)
		ret = state_begin(s->st, err);
	if (!ret) {
		ret = st_ref_set(s->si, s->driver, name, r.tag, id, time(NULL), NULL, err);
		if (!ret)
			ret = st_image_set_last_tag_time(s->si, s->driver, id, time(NULL), err);
		if (!ret)
			ret = state_commit(s->st, err);
		if (ret)
			state_rollback(s->st);
	}
	store_unlock(s);
	return ret;
}

int image_resolve(struct image_store *s, const char *ref, char id_out[IMAGE_ID_LEN],
		  json_t **config, char top_layer[65], struct shoal_err *err)
{
	struct st_image im = { 0 };
	struct st_layer l;
	int ret;

	if (config)
		*config = NULL;
	top_layer[0] = '\0';
	store_lock(s);
	ret = store_lookup(s, ref, id_out, err);
	if (!ret)
		ret = st_image_get(s->si, s->driver, id_out, &im, err);
	if (!ret && im.top_layer[0]) {
		ret = st_layer_get(s->si, s->driver, im.top_layer, &l, err);
		if (!ret)
			snprintf(top_layer, 65, "%s", l.storage_id);
	}
	store_unlock(s);
	if (!ret && config) {
		*config = json_loads(im.config, 0, NULL);
		if (!*config)
			ret = err_set(err, EINVAL, "image %s: unreadable config", id_out);
	}
	st_image_free(&im);
	return ret;
}

int image_count(struct image_store *s, size_t *images, struct shoal_err *err)
{
	int ret;

	store_lock(s);
	ret = st_image_count(s->si, s->driver, images, err);
	store_unlock(s);
	return ret;
}

/* ---- rmi ------------------------------------------------------------------- */

struct strlist {
	char (*v)[DIGEST_LEN];
	size_t n, cap;
};

static void strlist_add(struct strlist *l, const char *s)
{
	if (!s || !*s)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *nv = realloc(l->v, cap * DIGEST_LEN);

		if (!nv)
			return; /* a blob left behind is harmless */
		l->v = nv;
		l->cap = cap;
	}
	snprintf(l->v[l->n++], DIGEST_LEN, "%s", s);
}

static void record(json_t *out, const char *key, const char *val)
{
	json_array_append_new(out, json_pack("{s:s}", key, val));
}

static int untag(struct image_store *s, const struct st_image_ref *r, json_t *out,
		 struct shoal_err *err)
{
	char buf[450];
	int ret = st_ref_delete(s->si, s->driver, r->repo, r->ref, err);

	if (!ret) {
		ref_familiar(r, buf, sizeof(buf));
		record(out, "Untagged", buf);
	}
	return ret;
}

/* Blobs nobody names any more go, unless an operation in progress has
 * pinned them. state_lock held. */
static void gc_blobs(struct image_store *s, const struct strlist *cand)
{
	char p[4300];
	int64_t users;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < cand->n; i++) {
		if (store_pinned(s, cand->v[i]))
			continue;
		if (st_blob_users(s->si, cand->v[i], &users, NULL) || users)
			continue;
		if (blob_path(s->blobs, cand->v[i], p, sizeof(p)) == 0)
			unlink(p);
	}
	pthread_mutex_unlock(&s->mu);
}

int image_remove(struct image_store *s, const char *ref, bool force,
		 bool (*in_use)(void *arg, const char *image_id), void *arg, json_t **out,
		 struct shoal_err *err)
{
	return image_remove_ex(s, ref, force, in_use, arg, out, NULL, err);
}

int image_remove_ex(struct image_store *s, const char *ref, bool force,
		    bool (*in_use)(void *arg, const char *image_id), void *arg, json_t **out,
		    uint64_t *reclaimed, struct shoal_err *err)
{
	uint64_t freed = 0;
	char id[IMAGE_ID_LEN], sid[13], chain[DIGEST_LEN], repo[ST_REPO_LEN];
	struct st_image_ref *refs = NULL;
	struct st_image im = { 0 };
	struct strlist blobs = { 0 }, storage = { 0 };
	struct image_ref parsed;
	struct st_layer l;
	size_t n_refs = 0;
	bool by_name, used, in_tx = false;
	json_t *res = json_array();
	int ret;

	*out = NULL;
	if (!res)
		return err_set(err, ENOMEM, "out of memory");
	/* in_use may read state itself: ask it without the lock, then make
	 * sure the reference still names the same image */
	for (int tries = 0;; tries++) {
		char first[IMAGE_ID_LEN];

		store_lock(s);
		ret = store_lookup2(s, ref, first, &by_name, &parsed, err);
		store_unlock(s);
		if (ret) {
			json_decref(res);
			return ret;
		}
		used = in_use && in_use(arg, first);
		store_lock(s);
		ret = store_lookup2(s, ref, id, &by_name, &parsed, err);
		if (ret || strcmp(id, first) == 0 || tries == 3)
			break;
		store_unlock(s);
	}
	if (!ret)
		ret = st_image_get(s->si, s->driver, id, &im, err);
	if (!ret)
		ret = st_ref_list(s->si, s->driver, id, NULL, &refs, &n_refs, err);
	if (ret)
		goto out;
	short_id(id, sid);
	ret = state_begin(s->st, err);
	if (ret)
		goto out;
	in_tx = true;

	if (by_name) {
		struct st_image_ref me = { 0 };
		size_t left = 0;
		bool tag_left = false;

		image_ref_name(&parsed, repo, sizeof(repo));
		snprintf(me.repo, sizeof(me.repo), "%s", repo);
		snprintf(me.ref, sizeof(me.ref), "%s", parsed.digest[0] ? parsed.digest : parsed.tag);
		ret = untag(s, &me, res, err);
		if (ret)
			goto out;
		/* the last tag of a repository takes its digests along */
		for (size_t i = 0; i < n_refs; i++)
			if (!ref_is_digest(&refs[i]) && strcmp(refs[i].repo, repo) == 0 &&
			    strcmp(refs[i].ref, me.ref) != 0)
				tag_left = true;
		for (size_t i = 0; i < n_refs; i++) {
			bool self = strcmp(refs[i].repo, repo) == 0 && strcmp(refs[i].ref, me.ref) == 0;

			if (self)
				continue;
			if (!parsed.digest[0] && !tag_left && ref_is_digest(&refs[i]) &&
			    strcmp(refs[i].repo, repo) == 0) {
				ret = untag(s, &refs[i], res, err);
				if (ret)
					goto out;
				continue;
			}
			left++;
		}
		if (left)
			goto commit;
		if (used && !force) {
			ret = err_set(err, EBUSY,
				      "conflict: unable to remove repository reference \"%s\" (must force) - a container is using its referenced image %s",
				      ref, sid);
			goto out;
		}
	} else if (n_refs) {
		size_t n_tags = 0;
		bool one_repo = true;

		for (size_t i = 0; i < n_refs; i++) {
			n_tags += !ref_is_digest(&refs[i]);
			one_repo = one_repo && strcmp(refs[i].repo, refs[0].repo) == 0;
		}
		if (!force && (n_tags > 1 || !one_repo)) {
			ret = err_set(err, EBUSY,
				      "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories",
				      sid);
			goto out;
		}
		if (used && !force) {
			ret = err_set(err, EBUSY,
				      "conflict: unable to delete %s (must be forced) - image is being used by a container",
				      sid);
			goto out;
		}
		for (size_t i = 0; i < n_refs; i++) {
			ret = untag(s, &refs[i], res, err);
			if (ret)
				goto out;
		}
	}
	if (used) {
		/* A container's layer sits on the image's top layer: the image
		 * stays (dangling) even with force, as Docker does for a running
		 * container. */
		if (!force && !by_name) {
			ret = err_set(err, EBUSY,
				      "conflict: unable to delete %s (must be forced) - image is being used by a container",
				      sid);
			goto out;
		}
		goto commit;
	}
	ret = st_image_delete(s->si, s->driver, id, err);
	if (ret)
		goto out;
	record(res, "Deleted", id);
	strlist_add(&blobs, id);
	for (size_t i = 0; i < n_refs; i++)
		if (ref_is_digest(&refs[i]))
			strlist_add(&blobs, refs[i].ref);
	/* the layers nothing else uses, top down */
	snprintf(chain, sizeof(chain), "%s", im.top_layer);
	while (chain[0]) {
		int64_t users = 0;
		bool pinned;

		ret = st_layer_users(s->si, s->driver, chain, &users, err);
		if (ret)
			goto out;
		pthread_mutex_lock(&s->mu);
		pinned = store_pinned(s, chain);
		pthread_mutex_unlock(&s->mu);
		if (users || pinned)
			break;
		ret = st_layer_get(s->si, s->driver, chain, &l, err);
		if (!ret)
			ret = st_layer_delete(s->si, s->driver, chain, err);
		if (ret)
			goto out;
		record(res, "Deleted", chain);
		freed += l.size;
		strlist_add(&storage, l.storage_id);
		strlist_add(&blobs, l.diff_id);
		strlist_add(&blobs, l.blob_digest);
		snprintf(chain, sizeof(chain), "%s", l.parent);
	}
commit:
	ret = state_commit(s->st, err);
	if (ret)
		goto out;
	in_tx = false;
	/* state first: a storage layer left behind by a failure here is
	 * removed when its chain ID is created again */
	for (size_t i = 0; i < storage.n; i++)
		s->drv->ops->remove(s->drv, storage.v[i], NULL);
	gc_blobs(s, &blobs);
out:
	if (in_tx && ret)
		state_rollback(s->st);
	store_unlock(s);
	st_image_free(&im);
	free(refs);
	free(blobs.v);
	free(storage.v);
	if (ret) {
		json_decref(res);
		return ret;
	}
	if (reclaimed)
		*reclaimed += freed;
	*out = res;
	return 0;
}

void store_drop_unused(struct image_store *s, char (*chains)[DIGEST_LEN], size_t n_chains,
		       char (*blobs)[DIGEST_LEN], size_t n_blobs)
{
	struct strlist cand = { 0 }, storage = { 0 };
	struct st_layer l;
	int64_t users;
	bool pinned;

	store_lock(s);
	for (size_t i = n_chains; i-- > 0;) {
		if (st_layer_users(s->si, s->driver, chains[i], &users, NULL) || users)
			continue;
		pthread_mutex_lock(&s->mu);
		pinned = store_pinned(s, chains[i]);
		pthread_mutex_unlock(&s->mu);
		if (pinned || st_layer_get(s->si, s->driver, chains[i], &l, NULL))
			continue;
		if (st_layer_delete(s->si, s->driver, chains[i], NULL))
			continue;
		strlist_add(&storage, l.storage_id);
		strlist_add(&cand, l.diff_id);
		strlist_add(&cand, l.blob_digest);
	}
	for (size_t i = 0; i < storage.n; i++)
		s->drv->ops->remove(s->drv, storage.v[i], NULL);
	for (size_t i = 0; i < n_blobs; i++)
		strlist_add(&cand, blobs[i]);
	gc_blobs(s, &cand);
	store_unlock(s);
	free(cand.v);
	free(storage.v);
}
