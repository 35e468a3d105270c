// SPDX-License-Identifier: Apache-2.0
/*
 * state_images.c - images, layers and references in the state database
 * (tables created by migration 3 in state.c, text in state_images.h).
 * Same rules as state.c: statements prepared once and cached, input only
 * through bound parameters, substr() rather than LIKE for prefixes.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "state.h"
#include "state_images.h"

#define IMG_COLS "driver, id, config, created, size, top_layer, stored, last_tag_time"
#define LAYER_COLS                                                                       \
	"driver, chain_id, diff_id, parent, storage_id, size, blob_digest, blob_size, "  \
	"media_type, created"
#define REF_COLS "repo, ref, image_id, created"

enum si_stmt {
	I_IMG_INSERT,
	I_IMG_GET,
	I_IMG_PREFIX,
	I_IMG_LIST,
	I_IMG_DELETE,
	I_IMG_COUNT,
	I_IMG_TAGTIME,
	I_LAYER_INSERT,
	I_LAYER_GET,
	I_LAYER_DELETE,
	I_LAYER_USERS,
	I_REF_SET,
	I_REF_GET,
	I_REF_DELETE,
	I_REF_LIST,
	I_BLOB_USERS,
	I_MAX,
};

static const char *const si_sql[I_MAX] = {
	[I_IMG_INSERT] = "INSERT INTO images (" IMG_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[I_IMG_GET] = "SELECT " IMG_COLS " FROM images WHERE driver = ?1 AND id = ?2",
	[I_IMG_PREFIX] = "SELECT id FROM images WHERE driver = ?1 "
			 "AND substr(id, 8, length(?2)) = ?2 LIMIT 2",
	[I_IMG_LIST] = "SELECT " IMG_COLS " FROM images WHERE driver = ?1 "
		       "ORDER BY created DESC, id",
	[I_IMG_DELETE] = "DELETE FROM images WHERE driver = ?1 AND id = ?2",
	[I_IMG_COUNT] = "SELECT count(*) FROM images WHERE driver = ?1",
	[I_IMG_TAGTIME] = "UPDATE images SET last_tag_time = ?3 WHERE driver = ?1 AND id = ?2",
	[I_LAYER_INSERT] = "INSERT INTO image_layers (" LAYER_COLS ") "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[I_LAYER_GET] = "SELECT " LAYER_COLS " FROM image_layers WHERE driver = ?1 AND chain_id = ?2",
	[I_LAYER_DELETE] = "DELETE FROM image_layers WHERE driver = ?1 AND chain_id = ?2",
	[I_LAYER_USERS] = "SELECT (SELECT count(*) FROM images WHERE driver = ?1 AND top_layer = ?2)"
			  " + (SELECT count(*) FROM image_layers WHERE driver = ?1 AND parent = ?2)",
	[I_REF_SET] = "INSERT INTO image_refs (" REF_COLS ", driver) VALUES (?2, ?3, ?4, ?5, ?1) "
		      "ON CONFLICT(driver, repo, ref) DO UPDATE SET image_id = excluded.image_id, "
		      "created = excluded.created",
	[I_REF_GET] = "SELECT image_id FROM image_refs WHERE driver = ?1 AND repo = ?2 AND ref = ?3",
	[I_REF_DELETE] = "DELETE FROM image_refs WHERE driver = ?1 AND repo = ?2 AND ref = ?3",
	[I_REF_LIST] = "SELECT " REF_COLS " FROM image_refs WHERE driver = ?1 "
		       "AND (?2 IS NULL OR image_id = ?2) AND (?3 IS NULL OR repo = ?3) "
		       "ORDER BY repo, ref",
	[I_BLOB_USERS] = "SELECT (SELECT count(*) FROM images WHERE id = ?1)"
			 " + (SELECT count(*) FROM image_layers WHERE diff_id = ?1)"
			 " + (SELECT count(*) FROM image_layers WHERE blob_digest = ?1)"
			 " + (SELECT count(*) FROM image_refs WHERE ref = ?1)",
};

struct st_images {
	sqlite3 *db;
	sqlite3_stmt *stmts[I_MAX];
};

static int si_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return EBUSY;
	case SQLITE_NOMEM: return ENOMEM;
	case SQLITE_READONLY: return EROFS;
	case SQLITE_FULL: return ENOSPC;
	case SQLITE_CONSTRAINT: return EEXIST;
	default: return EIO;
	}
}

static int si_err(struct st_images *si, struct shoal_err *err, int rc, const char *what)
{
	return err_set(err, si_errno(rc), "state database: %s: %s", what, sqlite3_errmsg(si->db));
}

static int stmt_get(struct st_images *si, enum si_stmt id, sqlite3_stmt **out,
		    struct shoal_err *err)
{
	int rc = sql_stmt_cached(si->db, &si->stmts[id], si_sql[id], out);

	return rc != SQLITE_OK ? si_err(si, err, rc, "prepare") : 0;
}

static int step_done(struct st_images *si, sqlite3_stmt *s, const char *what,
		     struct shoal_err *err)
{
	int rc = sqlite3_step(s);

	return rc == SQLITE_DONE ? 0 : si_err(si, err, rc, what);
}

/* A query whose single row is one integer. */
static int step_int(struct st_images *si, sqlite3_stmt *s, int64_t *v, const char *what,
		    struct shoal_err *err)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_ROW)
		return si_err(si, err, rc, what);
	*v = sqlite3_column_int64(s, 0);
	return 0;
}

int st_images_open(struct state *st, struct st_images **out, struct shoal_err *err)
{
	struct st_images *si = calloc(1, sizeof(*si));

	if (!si)
		return err_set(err, ENOMEM, "out of memory");
	si->db = state_sqlite(st);
	*out = si;
	return 0;
}

void st_images_close(struct st_images *si)
{
	if (!si)
		return;
	for (int i = 0; i < I_MAX; i++)
		sqlite3_finalize(si->stmts[i]);
	free(si);
}

/* ---- images ---------------------------------------------------------------- */

void st_image_free(struct st_image *im)
{
	if (im) {
		free(im->config);
		im->config = NULL;
	}
}

void st_image_list_free(struct st_image *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		st_image_free(&v[i]);
	free(v);
}

static int row_to_image(sqlite3_stmt *s, struct st_image *im, struct shoal_err *err)
{
	const unsigned char *cfg;

	memset(im, 0, sizeof(*im));
	sql_copy_col(s, 0, im->driver, sizeof(im->driver));
	sql_copy_col(s, 1, im->id, sizeof(im->id));
	cfg = sqlite3_column_text(s, 2);
	im->config = strdup(cfg ? (const char *)cfg : "{}");
	if (!im->config)
		return err_set(err, ENOMEM, "out of memory");
	im->created = sqlite3_column_int64(s, 3);
	im->size = (uint64_t)sqlite3_column_int64(s, 4);
	sql_copy_col(s, 5, im->top_layer, sizeof(im->top_layer));
	im->stored = sqlite3_column_int64(s, 6);
	im->last_tag_time = sqlite3_column_int64(s, 7);
	return 0;
}

int st_image_insert(struct st_images *si, const struct st_image *im, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_IMG_INSERT, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, im->driver);
	sql_bind_text(s, 2, im->id);
	sql_bind_text(s, 3, im->config ? im->config : "{}");
	sqlite3_bind_int64(s, 4, im->created);
	sqlite3_bind_int64(s, 5, (int64_t)im->size);
	sql_bind_text(s, 6, im->top_layer);
	sqlite3_bind_int64(s, 7, im->stored);
	sqlite3_bind_int64(s, 8, im->last_tag_time);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return err_set(err, EEXIST, "image %s already exists", im->id);
	return si_err(si, err, rc, "insert image");
}

int st_image_get(struct st_images *si, const char *driver, const char *id, struct st_image *out,
		 struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_IMG_GET, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return row_to_image(s, out, err);
	if (rc == SQLITE_DONE)
		return err_set(err, ENOENT, "No such image: %s", id);
	return si_err(si, err, rc, "get image");
}

int st_image_find_prefix(struct st_images *si, const char *driver, const char *hex_prefix,
			 char id_out[ST_DIGEST_LEN], struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_IMG_PREFIX, &s, err), rc, n = 0;

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, hex_prefix);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n++ == 0)
			sql_copy_col(s, 0, id_out, ST_DIGEST_LEN);
	}
	if (rc != SQLITE_DONE)
		return si_err(si, err, rc, "find image");
	if (n == 0)
		return err_set(err, ENOENT, "No such image: %s", hex_prefix);
	if (n > 1)
		return err_set(err, EINVAL, "image id prefix %s is ambiguous", hex_prefix);
	return 0;
}

int st_image_list(struct st_images *si, const char *driver, struct st_image **out, size_t *n,
		  struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct st_image *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int ret = stmt_get(si, I_IMG_LIST, &s, err), rc;

	*out = NULL;
	*n = 0;
	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, cnt, &cap, sizeof(*v), 16);
		if (!nv) {
			st_image_list_free(v, cnt);
			return err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		ret = row_to_image(s, &v[cnt], err);
		if (ret) {
			st_image_list_free(v, cnt);
			return ret;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		st_image_list_free(v, cnt);
		return si_err(si, err, rc, "list images");
	}
	*out = v;
	*n = cnt;
	return 0;
}

int st_image_delete(struct st_images *si, const char *driver, const char *id, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_IMG_DELETE, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, id);
	return step_done(si, s, "delete image", err);
}

int st_image_count(struct st_images *si, const char *driver, size_t *n, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int64_t v = 0;
	int ret = stmt_get(si, I_IMG_COUNT, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	ret = step_int(si, s, &v, "count images", err);
	*n = (size_t)v;
	return ret;
}

int st_image_set_last_tag_time(struct st_images *si, const char *driver, const char *id,
			       int64_t t, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_IMG_TAGTIME, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, id);
	sqlite3_bind_int64(s, 3, t);
	return step_done(si, s, "update image", err);
}

/* ---- layers ---------------------------------------------------------------- */

int st_layer_insert(struct st_images *si, const struct st_layer *l, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_LAYER_INSERT, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, l->driver);
	sql_bind_text(s, 2, l->chain_id);
	sql_bind_text(s, 3, l->diff_id);
	sql_bind_text(s, 4, l->parent);
	sql_bind_text(s, 5, l->storage_id);
	sqlite3_bind_int64(s, 6, (int64_t)l->size);
	sql_bind_text(s, 7, l->blob_digest);
	sqlite3_bind_int64(s, 8, (int64_t)l->blob_size);
	sql_bind_text(s, 9, l->media_type);
	sqlite3_bind_int64(s, 10, l->created);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return err_set(err, EEXIST, "layer %s already exists", l->chain_id);
	return si_err(si, err, rc, "insert layer");
}

int st_layer_get(struct st_images *si, const char *driver, const char *chain_id,
		 struct st_layer *out, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_LAYER_GET, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, chain_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_set(err, ENOENT, "no layer %s", chain_id);
	if (rc != SQLITE_ROW)
		return si_err(si, err, rc, "get layer");
	memset(out, 0, sizeof(*out));
	sql_copy_col(s, 0, out->driver, sizeof(out->driver));
	sql_copy_col(s, 1, out->chain_id, sizeof(out->chain_id));
	sql_copy_col(s, 2, out->diff_id, sizeof(out->diff_id));
	sql_copy_col(s, 3, out->parent, sizeof(out->parent));
	sql_copy_col(s, 4, out->storage_id, sizeof(out->storage_id));
	out->size = (uint64_t)sqlite3_column_int64(s, 5);
	sql_copy_col(s, 6, out->blob_digest, sizeof(out->blob_digest));
	out->blob_size = (uint64_t)sqlite3_column_int64(s, 7);
	sql_copy_col(s, 8, out->media_type, sizeof(out->media_type));
	out->created = sqlite3_column_int64(s, 9);
	return 0;
}

int st_layer_delete(struct st_images *si, const char *driver, const char *chain_id,
		    struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_LAYER_DELETE, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, chain_id);
	return step_done(si, s, "delete layer", err);
}

int st_layer_users(struct st_images *si, const char *driver, const char *chain_id, int64_t *n,
		   struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_LAYER_USERS, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, chain_id);
	return step_int(si, s, n, "count layer users", err);
}

/* ---- references ------------------------------------------------------------ */

int st_ref_get(struct st_images *si, const char *driver, const char *repo, const char *ref,
	       char image_id[ST_DIGEST_LEN], struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_REF_GET, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, repo);
	sql_bind_text(s, 3, ref);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		sql_copy_col(s, 0, image_id, ST_DIGEST_LEN);
		return 0;
	}
	if (rc == SQLITE_DONE)
		return err_set(err, ENOENT, "No such image: %s:%s", repo, ref);
	return si_err(si, err, rc, "get reference");
}

int st_ref_set(struct st_images *si, const char *driver, const char *repo, const char *ref,
	       const char *image_id, int64_t created, char old_id[ST_DIGEST_LEN],
	       struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	char prev[ST_DIGEST_LEN] = "";
	int ret;

	ret = st_ref_get(si, driver, repo, ref, prev, NULL);
	if (ret && ret != -ENOENT)
		return st_ref_get(si, driver, repo, ref, prev, err);
	if (old_id)
		snprintf(old_id, ST_DIGEST_LEN, "%s", prev);
	ret = stmt_get(si, I_REF_SET, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, repo);
	sql_bind_text(s, 3, ref);
	sql_bind_text(s, 4, image_id);
	sqlite3_bind_int64(s, 5, created);
	return step_done(si, s, "set reference", err);
}

int st_ref_delete(struct st_images *si, const char *driver, const char *repo, const char *ref,
		  struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_REF_DELETE, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, repo);
	sql_bind_text(s, 3, ref);
	return step_done(si, s, "delete reference", err);
}

int st_ref_list(struct st_images *si, const char *driver, const char *image_id, const char *repo,
		struct st_image_ref **out, size_t *n, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct st_image_ref *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int ret = stmt_get(si, I_REF_LIST, &s, err), rc;

	*out = NULL;
	*n = 0;
	if (ret)
		return ret;
	sql_bind_text(s, 1, driver);
	sql_bind_text(s, 2, image_id);
	sql_bind_text(s, 3, repo);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, cnt, &cap, sizeof(*v), 16);
		if (!nv) {
			free(v);
			return err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		sql_copy_col(s, 0, v[cnt].repo, sizeof(v[cnt].repo));
		sql_copy_col(s, 1, v[cnt].ref, sizeof(v[cnt].ref));
		sql_copy_col(s, 2, v[cnt].image_id, sizeof(v[cnt].image_id));
		v[cnt].created = sqlite3_column_int64(s, 3);
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return si_err(si, err, rc, "list references");
	}
	*out = v;
	*n = cnt;
	return 0;
}

int st_blob_users(struct st_images *si, const char *digest, int64_t *n, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(si, I_BLOB_USERS, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, digest);
	return step_int(si, s, n, "count blob users", err);
}
