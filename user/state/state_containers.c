// SPDX-License-Identifier: Apache-2.0
/*
 * state_containers.c - the containers table (migration 4 in state.c,
 * text in state_containers.h). Same rules as state.c: statements
 * prepared once and cached, input only through bound parameters,
 * substr() rather than LIKE for prefixes.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "state.h"
#include "state_containers.h"
#include "state_images.h"

#define CTR_COLS                                                                         \
	"id, name, image, image_id, created, status, pid, shim_pid, exit_code, oom_killed, " \
	"started_at, finished_at, restart_count, error, config, host_config, net_settings"

enum sc_stmt {
	C_INSERT,
	C_UPDATE,
	C_DELETE,
	C_BY_ID,
	C_BY_NAME,
	C_BY_PREFIX,
	C_LIST,
	C_IMAGE_USERS,
	C_MAX,
};

static const char *const sc_sql[C_MAX] = {
	[C_INSERT] = "INSERT INTO containers (" CTR_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		     "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	[C_UPDATE] = "UPDATE containers SET name = ?2, image = ?3, image_id = ?4, created = ?5, "
		     "status = ?6, pid = ?7, shim_pid = ?8, exit_code = ?9, oom_killed = ?10, "
		     "started_at = ?11, finished_at = ?12, restart_count = ?13, error = ?14, "
		     "config = ?15, host_config = ?16, net_settings = ?17 WHERE id = ?1",
	[C_DELETE] = "DELETE FROM containers WHERE id = ?1",
	[C_BY_ID] = "SELECT " CTR_COLS " FROM containers WHERE id = ?1",
	[C_BY_NAME] = "SELECT " CTR_COLS " FROM containers WHERE name = ?1",
	[C_BY_PREFIX] = "SELECT " CTR_COLS " FROM containers "
			"WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2",
	[C_LIST] = "SELECT " CTR_COLS " FROM containers ORDER BY created DESC, id",
	[C_IMAGE_USERS] = "SELECT count(*), min(id) FROM containers WHERE image_id = ?1",
};

struct st_containers {
	sqlite3 *db;
	sqlite3_stmt *stmts[C_MAX];
};

static int sc_errno(int rc)
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

static int sc_err(struct st_containers *sc, struct shoal_err *err, int rc, const char *what)
{
	return err_set(err, sc_errno(rc), "state database: %s: %s", what, sqlite3_errmsg(sc->db));
}

static int stmt_get(struct st_containers *sc, enum sc_stmt id, sqlite3_stmt **out,
		    struct shoal_err *err)
{
	int rc = sql_stmt_cached(sc->db, &sc->stmts[id], sc_sql[id], out);

	return rc != SQLITE_OK ? sc_err(sc, err, rc, "prepare") : 0;
}

int st_containers_open(struct state *st, struct st_containers **out, struct shoal_err *err)
{
	struct st_containers *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return err_set(err, ENOMEM, "out of memory");
	sc->db = state_sqlite(st);
	*out = sc;
	return 0;
}

void st_containers_close(struct st_containers *sc)
{
	if (!sc)
		return;
	for (int i = 0; i < C_MAX; i++)
		sqlite3_finalize(sc->stmts[i]);
	free(sc);
}

void st_container_free(struct st_container *c)
{
	if (!c)
		return;
	free(c->config);
	free(c->host_config);
	free(c->net_settings);
	c->config = c->host_config = c->net_settings = NULL;
}

void st_container_list_free(struct st_container *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		st_container_free(&v[i]);
	free(v);
}

static char *col_dup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return strdup(t ? (const char *)t : "{}");
}

static int row_to_ctr(sqlite3_stmt *s, struct st_container *c, struct shoal_err *err)
{
	memset(c, 0, sizeof(*c));
	sql_copy_col(s, 0, c->id, sizeof(c->id));
	sql_copy_col(s, 1, c->name, sizeof(c->name));
	sql_copy_col(s, 2, c->image, sizeof(c->image));
	sql_copy_col(s, 3, c->image_id, sizeof(c->image_id));
	c->created = sqlite3_column_int64(s, 4);
	sql_copy_col(s, 5, c->status, sizeof(c->status));
	c->pid = sqlite3_column_int(s, 6);
	c->shim_pid = sqlite3_column_int(s, 7);
	c->exit_code = sqlite3_column_int(s, 8);
	c->oom_killed = sqlite3_column_int(s, 9) != 0;
	sql_copy_col(s, 10, c->started_at, sizeof(c->started_at));
	sql_copy_col(s, 11, c->finished_at, sizeof(c->finished_at));
	c->restart_count = sqlite3_column_int(s, 12);
	sql_copy_col(s, 13, c->error, sizeof(c->error));
	c->config = col_dup(s, 14);
	c->host_config = col_dup(s, 15);
	c->net_settings = col_dup(s, 16);
	if (!c->config || !c->host_config || !c->net_settings) {
		st_container_free(c);
		return err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static void bind_ctr(sqlite3_stmt *s, const struct st_container *c)
{
	sql_bind_text(s, 1, c->id);
	sql_bind_text(s, 2, c->name);
	sql_bind_text(s, 3, c->image);
	sql_bind_text(s, 4, c->image_id);
	sqlite3_bind_int64(s, 5, c->created);
	sql_bind_text(s, 6, c->status);
	sqlite3_bind_int(s, 7, c->pid);
	sqlite3_bind_int(s, 8, c->shim_pid);
	sqlite3_bind_int(s, 9, c->exit_code);
	sqlite3_bind_int(s, 10, c->oom_killed);
	sql_bind_text(s, 11, c->started_at);
	sql_bind_text(s, 12, c->finished_at);
	sqlite3_bind_int(s, 13, c->restart_count);
	sql_bind_text(s, 14, c->error);
	sql_bind_text(s, 15, c->config ? c->config : "{}");
	sql_bind_text(s, 16, c->host_config ? c->host_config : "{}");
	sql_bind_text(s, 17, c->net_settings ? c->net_settings : "{}");
}

int st_container_insert(struct st_containers *sc, const struct st_container *c,
			struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(sc, C_INSERT, &s, err), rc;

	if (ret)
		return ret;
	bind_ctr(s, c);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return err_set(err, EEXIST, "container %s or name \"/%s\" already exists", c->id,
			       c->name);
	return sc_err(sc, err, rc, "insert container");
}

int st_container_update(struct st_containers *sc, const struct st_container *c,
			struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(sc, C_UPDATE, &s, err), rc;

	if (ret)
		return ret;
	bind_ctr(s, c);
	rc = sqlite3_step(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return err_set(err, EEXIST, "name \"/%s\" is already in use", c->name);
	if (rc != SQLITE_DONE)
		return sc_err(sc, err, rc, "update container");
	if (sqlite3_changes(sc->db) == 0)
		return err_set(err, ENOENT, "No such container: %s", c->id);
	return 0;
}

int st_container_delete(struct st_containers *sc, const char *id, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(sc, C_DELETE, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, id);
	rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : sc_err(sc, err, rc, "delete container");
}

/* One row of statement id with text parameter v: 0, -ENOENT, or 1 when
 * a second row exists (prefix lookups). */
static int get_one(struct st_containers *sc, enum sc_stmt id, const char *v,
		   struct st_container *out, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(sc, id, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, v);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sc_err(sc, err, rc, "read container");
	ret = row_to_ctr(s, out, err);
	if (ret)
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	return 0;
}

int st_container_by_name(struct st_containers *sc, const char *name, struct st_container *out,
			 struct shoal_err *err)
{
	int ret = get_one(sc, C_BY_NAME, name, out, err);

	if (ret == -ENOENT)
		return err_set(err, ENOENT, "No such container: %s", name);
	return ret;
}

int st_container_find(struct st_containers *sc, const char *ref, struct st_container *out,
		      struct shoal_err *err)
{
	size_t len = ref ? strlen(ref) : 0;
	int ret;

	if (!len)
		return err_set(err, ENOENT, "No such container: %s", ref ? ref : "");
	if (len == 64) {
		ret = get_one(sc, C_BY_ID, ref, out, err);
		if (ret != -ENOENT)
			return ret;
	}
	ret = get_one(sc, C_BY_NAME, ref[0] == '/' ? ref + 1 : ref, out, err);
	if (ret != -ENOENT)
		return ret;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdef", ref[i]))
			return err_set(err, ENOENT, "No such container: %s", ref);
	ret = get_one(sc, C_BY_PREFIX, ref, out, err);
	if (ret == -ENOENT)
		return err_set(err, ENOENT, "No such container: %s", ref);
	if (ret == 1) {
		st_container_free(out);
		return err_set(err, EINVAL, "Multiple IDs found with provided prefix: %s", ref);
	}
	return ret;
}

int st_container_list(struct st_containers *sc, struct st_container **out, size_t *n,
		      struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct st_container *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int ret = stmt_get(sc, C_LIST, &s, err), rc;

	*out = NULL;
	*n = 0;
	if (ret)
		return ret;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, len, &cap, sizeof(*v), 16);
		if (!nv) {
			st_container_list_free(v, len);
			return err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		ret = row_to_ctr(s, &v[len], err);
		if (ret) {
			st_container_list_free(v, len);
			return ret;
		}
		len++;
	}
	if (rc != SQLITE_DONE) {
		st_container_list_free(v, len);
		return sc_err(sc, err, rc, "list containers");
	}
	*out = v;
	*n = len;
	return 0;
}

int st_container_image_users(struct st_containers *sc, const char *image_id, int64_t *n,
			     char first_id[65], struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(sc, C_IMAGE_USERS, &s, err), rc;

	if (ret)
		return ret;
	sql_bind_text(s, 1, image_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return sc_err(sc, err, rc, "count containers of an image");
	*n = sqlite3_column_int64(s, 0);
	if (first_id)
		sql_copy_col(s, 1, first_id, 65);
	return 0;
}
