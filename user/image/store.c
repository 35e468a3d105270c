// SPDX-License-Identifier: Apache-2.0
/*
 * store.c - the image store object: open/close, pins, layers (diff blob
 * + driver), committing an image, resolving references.
 *
 * Layers. A layer arrives as a blob in the store (compressed or not).
 * Its diff ID is the sha256 of the uncompressed tar: libarchive reads the
 * blob with every read filter and the "raw" format, which hands out the
 * decompressed byte stream; we hash it while writing it to a temp file
 * in the blob store and rename it to blobs/sha256/<diff id> once it
 * matches the config's diff_id. The driver then applies that
 * uncompressed file (apply_diff detects that it is plain). The diff blob
 * is kept: `save` writes it as <chain>/layer.tar byte for byte, so saved
 * diff IDs match. Cost: a compressed layer is on disk three times (blob
 * as received, uncompressed diff, extracted); an uncompressed one twice
 * (its blob is its diff).
 *
 * Locking. *state_lock (the daemon's) guards state and is held only
 * around state calls and rmi's deletions; s->mu guards the pins and is
 * taken after state_lock, never before. Transfers and extraction run
 * with neither held.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image_int.h"
#include "../common/util.h"
#include "../state/state.h"
#include "../storage/storage.h"

void store_lock(struct image_store *s)
{
	pthread_mutex_lock(s->state_lock);
}

void store_unlock(struct image_store *s)
{
	pthread_mutex_unlock(s->state_lock);
}

void progress(const struct image_progress *p, const char *id, const char *status, uint64_t cur,
	      uint64_t total)
{
	if (p && p->fn)
		p->fn(p->arg, id, status, cur, total);
}

void short_id(const char *digest, char out[13])
{
	const char *h = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;

	snprintf(out, 13, "%s", h);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int store_mkspool(struct image_store *s, char *path, size_t len, struct shoal_err *err)
{
	snprintf(path, len, "%s/spool-XXXXXX", s->tmp);
	if (!mkdtemp(path))
		return err_set(err, errno, "create %s: %m", path);
	return 0;
}

/* Leftovers of a crash: spools and half-written blobs. */
static void clean_tmp(struct image_store *s)
{
	char p[8800];
	struct dirent *de;
	DIR *d;

	d = opendir(s->tmp);
	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.') {
				snprintf(p, sizeof(p), "%s/%s", s->tmp, de->d_name);
				rm_rf(p);
			}
		closedir(d);
	}
	d = opendir(s->blobs);
	if (d) {
		while ((de = readdir(d)))
			if (strncmp(de->d_name, ".tmp-", 5) == 0) {
				snprintf(p, sizeof(p), "%s/%s", s->blobs, de->d_name);
				unlink(p);
			}
		closedir(d);
	}
}

int image_store_open(struct image_store **out, struct state *st, pthread_mutex_t *state_lock,
		     struct storage_driver *drv, const char *data_root, struct shoal_err *err)
{
	struct image_store *s;
	int ret;

	*out = NULL;
	if (!drv || !drv->ops || !st || !state_lock)
		return err_set(err, EINVAL, "image store: state, lock and storage driver needed");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(err, ENOMEM, "out of memory");
	s->st = st;
	s->state_lock = state_lock;
	s->drv = drv;
	snprintf(s->driver, sizeof(s->driver), "%s", drv->ops->name);
	if (snprintf(s->root, sizeof(s->root), "%s/image", data_root) >= (int)sizeof(s->root)) {
		free(s);
		return err_set(err, ENAMETOOLONG, "data root too long");
	}
	snprintf(s->blobs, sizeof(s->blobs), "%s/blobs/sha256", s->root);
	snprintf(s->tmp, sizeof(s->tmp), "%s/tmp", s->root);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	ret = util_mkdir_p(s->blobs, 0700);
	if (!ret)
		ret = util_mkdir_p(s->tmp, 0700);
	if (ret) {
		err_set(err, -ret, "create %s: %s", s->root, strerror(-ret));
		image_store_close(s);
		return ret;
	}
	ret = st_images_open(st, &s->si, err);
	if (ret) {
		image_store_close(s);
		return ret;
	}
	clean_tmp(s);
	*out = s;
	return 0;
}

void image_store_close(struct image_store *s)
{
	if (!s)
		return;
	if (s->si) {
		/* finalizing statements touches the connection */
		pthread_mutex_lock(s->state_lock);
		st_images_close(s->si);
		pthread_mutex_unlock(s->state_lock);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->pins);
	free(s);
}

/* ---- pins ------------------------------------------------------------------ */

static struct pin *pin_find(struct image_store *s, const char *key)
{
	for (size_t i = 0; i < s->n_pins; i++)
		if (strcmp(s->pins[i].key, key) == 0)
			return &s->pins[i];
	return NULL;
}

/* s->mu held. */
bool store_pinned(struct image_store *s, const char *key)
{
	return pin_find(s, key) != NULL;
}

int store_pin(struct image_store *s, struct pinset *ps, const char *key)
{
	struct pin *p;

	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->keys[i], key) == 0)
			return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 16;
		void *nk = realloc(ps->keys, cap * DIGEST_LEN);

		if (!nk)
			return -ENOMEM;
		ps->keys = nk;
		ps->cap = cap;
	}
	pthread_mutex_lock(&s->mu);
	p = pin_find(s, key);
	if (!p) {
		if (s->n_pins == s->cap_pins) {
			size_t cap = s->cap_pins ? 2 * s->cap_pins : 32;
			struct pin *np = realloc(s->pins, cap * sizeof(*np));

			if (!np) {
				pthread_mutex_unlock(&s->mu);
				return -ENOMEM;
			}
			s->pins = np;
			s->cap_pins = cap;
		}
		p = &s->pins[s->n_pins++];
		memset(p, 0, sizeof(*p));
		snprintf(p->key, sizeof(p->key), "%s", key);
	}
	p->count++;
	pthread_mutex_unlock(&s->mu);
	snprintf(ps->keys[ps->n++], DIGEST_LEN, "%s", key);
	return 0;
}

void pins_release(struct image_store *s, struct pinset *ps)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < ps->n; i++) {
		struct pin *p = pin_find(s, ps->keys[i]);

		if (p && --p->count == 0)
			*p = s->pins[--s->n_pins];
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	free(ps->keys);
	memset(ps, 0, sizeof(*ps));
}

/* ---- layers ---------------------------------------------------------------- */

static int ar_err(struct archive *a, struct shoal_err *err, const char *what)
{
	int e = archive_errno(a);

	return err_set(err, e > 0 ? e : EINVAL, "%s: %s", what,
		       archive_error_string(a) ?: "unreadable data");
}

/*
 * Open src for decompression (every filter, raw format). *plain: the
 * data is not compressed (the caller can use src itself). Otherwise the
 * decompressed stream is written to the blob store, verified against
 * expected (NULL: any) and its digest put in diff_out.
 */
int decompress_to_blob(struct image_store *s, int src_fd, const char *expected, bool allow_plain,
		       bool *plain, char diff_out[DIGEST_LEN], uint64_t *size,
		       struct shoal_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct blob_writer w = { .fd = -1 };
	char buf[65536];
	la_ssize_t n;
	int ret = 0;

	if (plain)
		*plain = false;
	if (!a)
		return err_set(err, ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, src_fd, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		ret = ar_err(a, err, "read layer");
		goto out;
	}
	if (allow_plain && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE) {
		*plain = true;
		goto out;
	}
	ret = blob_writer_open(&w, s->blobs, err);
	if (ret)
		goto out;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		ret = blob_writer_write(&w, buf, (size_t)n, err);
		if (ret)
			goto out;
	}
	if (n < 0) {
		ret = ar_err(a, err, "decompress layer");
		goto out;
	}
	if (size)
		*size = w.size;
	ret = blob_writer_commit(&w, expected, diff_out, err);
out:
	if (w.fd >= 0)
		blob_writer_abort(&w);
	archive_read_free(a);
	return ret;
}

/* Wait until nobody else is creating chain, then mark it ours. */
static void creating_claim(struct image_store *s, const char *chain)
{
	struct pin *p;

	pthread_mutex_lock(&s->mu);
	while ((p = pin_find(s, chain)) && p->creating)
		pthread_cond_wait(&s->cv, &s->mu);
	if (p)
		p->creating = true;
	pthread_mutex_unlock(&s->mu);
}

static void creating_done(struct image_store *s, const char *chain)
{
	struct pin *p;

	pthread_mutex_lock(&s->mu);
	p = pin_find(s, chain);
	if (p)
		p->creating = false;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static int layer_lookup(struct image_store *s, const char *chain, struct st_layer *l,
			struct shoal_err *err)
{
	int ret;

	store_lock(s);
	ret = st_layer_get(s->si, s->driver, chain, l, err);
	store_unlock(s);
	return ret;
}

/* Make the diff blob (uncompressed tar) of a layer exist. */
static int ensure_diff_blob(struct image_store *s, struct pinset *ps, const char *diff_id,
			    const struct layer_src *src, struct shoal_err *err)
{
	_cleanup_close_ int fd = -1;
	char p[4300], got[DIGEST_LEN];
	bool plain;
	int ret;

	ret = store_pin(s, ps, diff_id);
	if (ret)
		return err_set(err, -ret, "out of memory");
	if (blob_exists(s->blobs, diff_id))
		return 0;
	if (!src || !src->blob_digest)
		return err_set(err, ENOENT, "layer %s: no data", diff_id);
	if (blob_path(s->blobs, src->blob_digest, p, sizeof(p)))
		return err_set(err, EINVAL, "invalid digest %s", src->blob_digest);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "layer blob %s: %m", src->blob_digest);
	ret = decompress_to_blob(s, fd, diff_id, true, &plain, got, NULL, err);
	if (ret)
		return ret;
	if (plain)
		/* uncompressed as received: its own digest must be the diff ID */
		return err_set(err, EBADMSG, "digest mismatch for %s: got %s", diff_id,
			       src->blob_digest);
	return 0;
}

int store_layer_ensure(struct image_store *s, struct pinset *ps, const char *parent_chain,
		       const char *diff_id, const struct layer_src *src,
		       const struct image_progress *p, const char *sid, bool *existed,
		       char chain_out[DIGEST_LEN], struct shoal_err *err)
{
	struct storage_driver *drv = s->drv;
	struct st_layer l, parent = { 0 };
	_cleanup_close_ int fd = -1;
	char path[4300], storage_id[65];
	uint64_t size = 0;
	bool claimed = false;
	int ret;

	*existed = false;
	image_chain_id(parent_chain, diff_id, chain_out);
	ret = store_pin(s, ps, chain_out);
	if (ret)
		return err_set(err, -ret, "out of memory");
	for (;;) {
		ret = layer_lookup(s, chain_out, &l, err);
		if (ret == 0) {
			*existed = true;
			goto out;
		}
		if (ret != -ENOENT)
			goto out;
		if (claimed)
			break;
		creating_claim(s, chain_out);
		claimed = true; /* look again: the one we waited for may have made it */
	}
	if (parent_chain && parent_chain[0]) {
		ret = layer_lookup(s, parent_chain, &parent, err);
		if (ret) {
			err_wrap(err, "parent layer of %s", chain_out);
			goto out;
		}
	}
	ret = ensure_diff_blob(s, ps, diff_id, src, err);
	if (ret)
		goto out;

	snprintf(storage_id, sizeof(storage_id), "%s", chain_out + 7);
	if (drv->ops->exists(drv, storage_id)) /* a crash's leftover */
		drv->ops->remove(drv, storage_id, NULL);
	ret = drv->ops->create(drv, storage_id, parent.storage_id[0] ? parent.storage_id : NULL,
			       false, NULL, err);
	if (ret)
		goto out;
	blob_path(s->blobs, diff_id, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = err_set(err, errno, "layer %s: %m", diff_id);
		drv->ops->remove(drv, storage_id, NULL);
		goto out;
	}
	progress(p, sid, "Extracting", 0, 0);
	ret = drv->ops->apply_diff(drv, storage_id, parent.storage_id[0] ? parent.storage_id : NULL,
				   fd, &size, err);
	if (ret) {
		drv->ops->remove(drv, storage_id, NULL);
		goto out;
	}
	memset(&l, 0, sizeof(l));
	snprintf(l.driver, sizeof(l.driver), "%s", s->driver);
	snprintf(l.chain_id, sizeof(l.chain_id), "%s", chain_out);
	snprintf(l.diff_id, sizeof(l.diff_id), "%s", diff_id);
	snprintf(l.parent, sizeof(l.parent), "%s", parent_chain ? parent_chain : "");
	snprintf(l.storage_id, sizeof(l.storage_id), "%s", storage_id);
	l.size = size;
	if (src && src->blob_digest && strcmp(src->blob_digest, diff_id) != 0) {
		snprintf(l.blob_digest, sizeof(l.blob_digest), "%s", src->blob_digest);
		l.blob_size = src->blob_size;
	}
	snprintf(l.media_type, sizeof(l.media_type), "%s",
		 src && src->media_type ? src->media_type : "");
	l.created = time(NULL);
	store_lock(s);
	ret = st_layer_insert(s->si, &l, err);
	store_unlock(s);
	if (ret)
		drv->ops->remove(drv, storage_id, NULL);
out:
	if (claimed)
		creating_done(s, chain_out);
	return ret;
}

/* ---- images ---------------------------------------------------------------- */

int store_image_commit(struct image_store *s, struct pinset *ps, const struct image_commit *c,
		       char id_out[IMAGE_ID_LEN], bool *created_new, struct shoal_err *err)
{
	char (*diffs)[DIGEST_LEN] = NULL, chain[DIGEST_LEN] = "", next[DIGEST_LEN], repo[300];
	struct st_image im = { 0 }, old;
	struct st_layer l;
	json_error_t je;
	json_t *cfg;
	size_t n = 0;
	int64_t now = time(NULL);
	uint64_t size = 0;
	int ret;

	*created_new = false;
	cfg = json_loadb(c->config, c->config_len, 0, &je);
	if (!cfg)
		return err_set(err, EINVAL, "invalid image config: %s", je.text);
	ret = config_diff_ids(cfg, &diffs, &n, err);
	if (ret)
		goto out;
	sha256_digest_str(c->config, c->config_len, id_out);
	ret = store_pin(s, ps, id_out);
	if (ret) {
		ret = err_set(err, -ret, "out of memory");
		goto out;
	}
	if (!blob_exists(s->blobs, id_out)) {
		struct blob_writer w;

		ret = blob_writer_open(&w, s->blobs, err);
		if (!ret)
			ret = blob_writer_write(&w, c->config, c->config_len, err);
		if (ret) {
			blob_writer_abort(&w);
			goto out;
		}
		ret = blob_writer_commit(&w, id_out, NULL, err);
		if (ret)
			goto out;
	}
	snprintf(im.driver, sizeof(im.driver), "%s", s->driver);
	snprintf(im.id, sizeof(im.id), "%s", id_out);
	im.config = (char *)c->config; /* the exact bytes: id = their digest */
	if (parse_rfc3339(json_string_value(json_object_get(cfg, "created")), &im.created))
		im.created = 0;
	im.stored = now;

	store_lock(s);
	for (size_t i = 0; i < n; i++) {
		image_chain_id(chain, diffs[i], next);
		memcpy(chain, next, sizeof(chain));
		ret = st_layer_get(s->si, s->driver, chain, &l, err);
		if (ret) {
			err_wrap(err, "image %s: layer %zu", id_out, i + 1);
			goto unlock;
		}
		size += l.size;
	}
	snprintf(im.top_layer, sizeof(im.top_layer), "%s", chain);
	im.size = size;
	ret = state_begin(s->st, err);
	if (ret)
		goto unlock;
	ret = st_image_get(s->si, s->driver, id_out, &old, NULL);
	if (ret == 0) {
		st_image_free(&old);
	} else {
		ret = st_image_insert(s->si, &im, err);
		if (ret)
			goto rollback;
		*created_new = true;
	}
	for (size_t i = 0; i < c->n_tags; i++) {
		image_ref_name(&c->tags[i], repo, sizeof(repo));
		ret = st_ref_set(s->si, s->driver, repo, c->tags[i].tag, id_out, now, NULL, err);
		if (ret)
			goto rollback;
	}
	if (c->n_tags) {
		ret = st_image_set_last_tag_time(s->si, s->driver, id_out, now, err);
		if (ret)
			goto rollback;
	}
	if (c->digest_repo && c->manifest_digest) {
		ret = st_ref_set(s->si, s->driver, c->digest_repo, c->manifest_digest, id_out, now,
				 NULL, err);
		if (ret)
			goto rollback;
	}
	ret = state_commit(s->st, err);
	if (ret)
		goto rollback;
	goto unlock;
rollback:
	state_rollback(s->st);
	*created_new = false;
unlock:
	store_unlock(s);
out:
	free(diffs);
	json_decref(cfg);
	return ret;
}

static bool all_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* state_lock held. *by_name: matched as a tag or digest reference. */
int store_lookup2(struct image_store *s, const char *ref, char id_out[IMAGE_ID_LEN],
		  bool *by_name, struct image_ref *parsed, struct shoal_err *err)
{
	struct image_ref r;
	struct st_image im;
	char repo[300];
	const char *hex;
	int ret;

	if (by_name)
		*by_name = false;
	if (image_ref_is_full_id(ref)) {
		hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
		snprintf(id_out, IMAGE_ID_LEN, "sha256:%s", hex);
		ret = st_image_get(s->si, s->driver, id_out, &im, NULL);
		if (ret == 0) {
			st_image_free(&im);
			return 0;
		}
		if (ret != -ENOENT)
			return st_image_get(s->si, s->driver, id_out, &im, err);
		return err_set(err, ENOENT, "No such image: %s", ref);
	}
	if (image_ref_parse(ref, &r, NULL) == 0) {
		image_ref_name(&r, repo, sizeof(repo));
		ret = st_ref_get(s->si, s->driver, repo, r.digest[0] ? r.digest : r.tag, id_out,
				 NULL);
		if (ret == 0) {
			if (by_name)
				*by_name = true;
			if (parsed)
				*parsed = r;
			return 0;
		}
		if (ret != -ENOENT)
			return st_ref_get(s->si, s->driver, repo, r.tag, id_out, err);
	}
	hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
	if (all_hex(hex) && strlen(hex) < 64) {
		ret = st_image_find_prefix(s->si, s->driver, hex, id_out, err);
		if (ret != -ENOENT)
			return ret;
	}
	return err_set(err, ENOENT, "No such image: %s", ref);
}

int store_lookup(struct image_store *s, const char *ref, char id_out[IMAGE_ID_LEN],
		 struct shoal_err *err)
{
	return store_lookup2(s, ref, id_out, NULL, NULL, err);
}

void op_created(struct image_op *op, const char *chain)
{
	if (op->n_created == op->cap_created) {
		size_t cap = op->cap_created ? 2 * op->cap_created : 8;
		void *nv = realloc(op->created, cap * DIGEST_LEN);

		if (!nv)
			return;
		op->created = nv;
		op->cap_created = cap;
	}
	snprintf(op->created[op->n_created++], DIGEST_LEN, "%s", chain);
}

void op_finish(struct image_store *s, struct image_op *op, bool failed)
{
	char (*keys)[DIGEST_LEN] = op->ps.keys;
	size_t n = op->ps.n;

	/* keep the key list past the release for the clean-up */
	op->ps.keys = NULL;
	op->ps.n = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < n; i++) {
		struct pin *p = pin_find(s, keys[i]);

		if (p && --p->count == 0)
			*p = s->pins[--s->n_pins];
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	free(op->ps.keys);
	memset(&op->ps, 0, sizeof(op->ps));
	if (failed)
		store_drop_unused(s, op->created, op->n_created, keys, n);
	free(keys);
	free(op->created);
	op->created = NULL;
	op->n_created = op->cap_created = 0;
}
