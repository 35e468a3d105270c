// SPDX-License-Identifier: Apache-2.0
/*
 * save.c - `save`: the classic docker save archive, which `docker load`
 * and our load both read:
 *
 *   manifest.json   [{"Config": "<id hex>.json", "RepoTags": [...],
 *                     "Layers": ["<chain hex>/layer.tar", ...]}]
 *   repositories    {"busybox": {"latest": "<top chain hex>"}}
 *   <id hex>.json   the config, byte for byte (its digest is the id)
 *   <chain hex>/    VERSION, json (v1 metadata), layer.tar = the diff
 *                   blob, so sha256(layer.tar) is the diff ID
 *
 * Layer directories are named by chain ID hex (unique per layer and
 * stable; Docker's v1 ids are not verified by any loader).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image_int.h"
#include "../common/util.h"

struct save_img {
	char id[IMAGE_ID_LEN];
	char *config;
	json_t *tags;   /* familiar "name:tag" strings */
	char (*chains)[DIGEST_LEN];
	char (*diffs)[DIGEST_LEN];
	size_t n_layers;
};

static struct save_img *find_img(struct save_img *v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return &v[i];
	return NULL;
}

/* Add image id (with one tag, or none) to the list; state_lock held. */
static int collect(struct image_store *s, struct save_img **v, size_t *n, const char *id,
		   const char *tag, struct shoal_err *err)
{
	struct save_img *im = find_img(*v, *n, id), *nv;
	struct st_image row;
	char chain[DIGEST_LEN];
	size_t depth = 0;
	int ret;

	if (im) {
		if (tag)
			json_array_append_new(im->tags, json_string(tag));
		return 0;
	}
	ret = st_image_get(s->si, s->driver, id, &row, err);
	if (ret)
		return ret;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		st_image_free(&row);
		return err_set(err, ENOMEM, "out of memory");
	}
	*v = nv;
	im = &nv[(*n)++];
	memset(im, 0, sizeof(*im));
	snprintf(im->id, sizeof(im->id), "%s", id);
	im->config = row.config; /* taken over */
	im->tags = json_array();
	if (tag)
		json_array_append_new(im->tags, json_string(tag));
	/* layers, top down, then reversed */
	snprintf(chain, sizeof(chain), "%s", row.top_layer);
	while (chain[0]) {
		struct st_layer l;
		void *a, *b;

		ret = st_layer_get(s->si, s->driver, chain, &l, err);
		if (ret)
			return err_wrap(err, "image %s", id);
		a = realloc(im->chains, (depth + 1) * DIGEST_LEN);
		if (a)
			im->chains = a;
		b = realloc(im->diffs, (depth + 1) * DIGEST_LEN);
		if (b)
			im->diffs = b;
		if (!a || !b)
			return err_set(err, ENOMEM, "out of memory");
		memcpy(im->chains[depth], l.chain_id, DIGEST_LEN);
		memcpy(im->diffs[depth], l.diff_id, DIGEST_LEN);
		depth++;
		snprintf(chain, sizeof(chain), "%s", l.parent);
	}
	for (size_t i = 0; i < depth / 2; i++) {
		char t[DIGEST_LEN];

		memcpy(t, im->chains[i], DIGEST_LEN);
		memcpy(im->chains[i], im->chains[depth - 1 - i], DIGEST_LEN);
		memcpy(im->chains[depth - 1 - i], t, DIGEST_LEN);
		memcpy(t, im->diffs[i], DIGEST_LEN);
		memcpy(im->diffs[i], im->diffs[depth - 1 - i], DIGEST_LEN);
		memcpy(im->diffs[depth - 1 - i], t, DIGEST_LEN);
	}
	im->n_layers = depth;
	return 0;
}

static int add_ref(struct image_store *s, struct save_img **v, size_t *n, const char *ref,
		   struct shoal_err *err)
{
	char id[IMAGE_ID_LEN], name[300], repo[ST_REPO_LEN], tag[450];
	struct image_ref r;
	struct st_image_ref *refs = NULL;
	size_t nr = 0;
	bool by_name;
	int ret;

	/* "busybox" without a tag: every tag of the repository, as Docker */
	if (image_ref_parse(ref, &r, NULL) == 0 && !r.tag_given && !r.digest[0]) {
		image_ref_name(&r, repo, sizeof(repo));
		ret = st_ref_list(s->si, s->driver, NULL, repo, &refs, &nr, err);
		if (ret)
			return ret;
		for (size_t i = 0; i < nr && !ret; i++) {
			if (strncmp(refs[i].ref, "sha256:", 7) == 0)
				continue;
			image_name_familiar(refs[i].repo, name, sizeof(name));
			snprintf(tag, sizeof(tag), "%s:%s", name, refs[i].ref);
			ret = collect(s, v, n, refs[i].image_id, tag, err);
		}
		free(refs);
		if (ret || nr)
			return ret;
	}
	ret = store_lookup2(s, ref, id, &by_name, &r, err);
	if (ret)
		return ret;
	if (by_name && !r.digest[0]) {
		image_ref_name(&r, repo, sizeof(repo));
		image_name_familiar(repo, name, sizeof(name));
		snprintf(tag, sizeof(tag), "%s:%s", name, r.tag);
		return collect(s, v, n, id, tag, err);
	}
	return collect(s, v, n, id, NULL, err);
}

static int put_entry(struct archive *a, const char *name, mode_t type, const void *data,
		     size_t len, int fd, uint64_t fsize, struct shoal_err *err)
{
	struct archive_entry *e = archive_entry_new();
	char buf[65536];
	int ret = 0;

	if (!e)
		return err_set(err, ENOMEM, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : fd >= 0 ? (la_int64_t)fsize : (la_int64_t)len);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		ret = err_set(err, EIO, "save: %s", archive_error_string(a) ?: "write failed");
		goto out;
	}
	if (data && archive_write_data(a, data, len) != (la_ssize_t)len) {
		ret = err_set(err, EIO, "save: %s", archive_error_string(a) ?: "write failed");
		goto out;
	}
	if (fd >= 0) {
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (archive_write_data(a, buf, (size_t)n) != n) {
				ret = err_set(err, EIO, "save: %s",
					      archive_error_string(a) ?: "write failed");
				goto out;
			}
		if (n < 0)
			ret = err_set(err, errno, "save: read layer: %m");
	}
out:
	archive_entry_free(e);
	return ret;
}

int image_save(struct image_store *s, const char *const *refs, size_t n_refs, int out_fd,
	       struct shoal_err *err)
{
	struct save_img *v = NULL;
	struct pinset ps = { 0 };
	struct archive *a = NULL;
	json_t *manifest = json_array(), *repos = json_object(), *written = json_object();
	char name[200], *text;
	size_t n = 0;
	int ret = 0;

	if (!manifest || !repos || !written) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (n_refs == 0) {
		ret = err_set(err, EINVAL, "save: no images named");
		goto out;
	}
	store_lock(s);
	for (size_t i = 0; i < n_refs && !ret; i++)
		ret = add_ref(s, &v, &n, refs[i], err);
	/* pinned: an rmi meanwhile leaves the blobs we read */
	for (size_t i = 0; i < n && !ret; i++) {
		ret = store_pin(s, &ps, v[i].id);
		for (size_t j = 0; j < v[i].n_layers && !ret; j++)
			ret = store_pin(s, &ps, v[i].diffs[j]);
		if (ret)
			ret = err_set(err, ENOMEM, "out of memory");
	}
	store_unlock(s);
	if (ret)
		goto out;

	a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out_fd) != ARCHIVE_OK) {
		ret = err_set(err, EIO, "save: %s", a ? archive_error_string(a) ?: "?" : "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		struct save_img *im = &v[i];
		json_t *layers = json_array(), *ent;
		size_t t;
		json_t *tv;

		snprintf(name, sizeof(name), "%s.json", im->id + 7);
		if (!json_object_get(written, name)) {
			ret = put_entry(a, name, AE_IFREG, im->config, strlen(im->config), -1, 0, err);
			json_object_set_new(written, name, json_true());
		}
		for (size_t j = 0; j < im->n_layers && !ret; j++) {
			const char *hex = im->chains[j] + 7;
			char path[4300], js[512];
			_cleanup_close_ int fd = -1;
			struct stat sb;

			snprintf(name, sizeof(name), "%s/layer.tar", hex);
			json_array_append_new(layers, json_string(name));
			if (json_object_get(written, hex))
				continue;
			json_object_set_new(written, hex, json_true());
			snprintf(name, sizeof(name), "%s/", hex);
			ret = put_entry(a, name, AE_IFDIR, NULL, 0, -1, 0, err);
			snprintf(name, sizeof(name), "%s/VERSION", hex);
			if (!ret)
				ret = put_entry(a, name, AE_IFREG, "1.0", 3, -1, 0, err);
			if (j)
				snprintf(js, sizeof(js),
					 "{\"id\":\"%s\",\"parent\":\"%s\",\"created\":\"1970-01-01T00:00:00Z\",\"container_config\":{}}",
					 hex, im->chains[j - 1] + 7);
			else
				snprintf(js, sizeof(js),
					 "{\"id\":\"%s\",\"created\":\"1970-01-01T00:00:00Z\",\"container_config\":{}}",
					 hex);
			snprintf(name, sizeof(name), "%s/json", hex);
			if (!ret)
				ret = put_entry(a, name, AE_IFREG, js, strlen(js), -1, 0, err);
			if (ret)
				break;
			blob_path(s->blobs, im->diffs[j], path, sizeof(path));
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &sb) < 0) {
				ret = err_set(err, errno, "save: layer %s: %m", im->diffs[j]);
				break;
			}
			snprintf(name, sizeof(name), "%s/layer.tar", hex);
			ret = put_entry(a, name, AE_IFREG, NULL, 0, fd, (uint64_t)sb.st_size, err);
		}
		snprintf(name, sizeof(name), "%s.json", im->id + 7);
		ent = json_pack("{s:s, s:O, s:o}", "Config", name, "RepoTags",
				json_array_size(im->tags) ? im->tags : json_null(), "Layers", layers);
		json_array_append_new(manifest, ent);
		json_array_foreach(im->tags, t, tv) {
			const char *full = json_string_value(tv), *colon = strrchr(full, ':');
			char repo[300];
			json_t *r;

			if (!colon || !im->n_layers)
				continue;
			snprintf(repo, sizeof(repo), "%.*s", (int)(colon - full), full);
			r = json_object_get(repos, repo);
			if (!r) {
				r = json_object();
				json_object_set_new(repos, repo, r);
			}
			json_object_set_new(r, colon + 1,
					    json_string(im->chains[im->n_layers - 1] + 7));
		}
	}
	if (!ret) {
		text = json_dumps(repos, JSON_COMPACT);
		ret = text ? put_entry(a, "repositories", AE_IFREG, text, strlen(text), -1, 0, err)
			   : err_set(err, ENOMEM, "out of memory");
		free(text);
	}
	if (!ret) {
		text = json_dumps(manifest, JSON_COMPACT);
		ret = text ? put_entry(a, "manifest.json", AE_IFREG, text, strlen(text), -1, 0, err)
			   : err_set(err, ENOMEM, "out of memory");
		free(text);
	}
	if (!ret && archive_write_close(a) != ARCHIVE_OK)
		ret = err_set(err, EIO, "save: %s", archive_error_string(a) ?: "write failed");
out:
	if (a)
		archive_write_free(a);
	pins_release(s, &ps);
	for (size_t i = 0; i < n; i++) {
		free(v[i].config);
		json_decref(v[i].tags);
		free(v[i].chains);
		free(v[i].diffs);
	}
	free(v);
	json_decref(manifest);
	json_decref(repos);
	json_decref(written);
	return ret;
}
