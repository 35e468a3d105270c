// SPDX-License-Identifier: Apache-2.0
/*
 * state_volumes.c - the volumes and container_mounts tables (schema in
 * state_volumes.h). Same rules as state.c: statements prepared once and
 * cached, input only through bound parameters.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "state.h"
#include "state_images.h"
#include "state_volumes.h"

#define VOL_COLS "name, driver, labels, options, created, anonymous"
#define MNT_COLS                                                                         \
	"container_id, seq, type, name, source, destination, mode, rw, propagation, "    \
	"nocopy, extra"

enum sv_stmt {
	V_INSERT,
	V_GET,
	V_LIST,
	V_DELETE,
	V_USERS,
	M_INSERT,
	M_LIST,
	M_LIST_ALL,
	M_DELETE,
	M_ORPHANS,
	V_MAX,
};

static const char *const sv_sql[V_MAX] = {
	[V_INSERT] = "INSERT INTO volumes (" VOL_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[V_GET] = "SELECT " VOL_COLS " FROM volumes WHERE name = ?1",
	[V_LIST] = "SELECT " VOL_COLS " FROM volumes ORDER BY name",
	[V_DELETE] = "DELETE FROM volumes WHERE name = ?1",
	[V_USERS] = "SELECT DISTINCT container_id FROM container_mounts "
		    "WHERE type = 'volume' AND name = ?1 ORDER BY rowid",
	[M_INSERT] = "INSERT INTO container_mounts (" MNT_COLS ") "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[M_LIST] = "SELECT " MNT_COLS " FROM container_mounts WHERE container_id = ?1 ORDER BY seq",
	[M_LIST_ALL] = "SELECT " MNT_COLS " FROM container_mounts ORDER BY container_id, seq",
	[M_DELETE] = "DELETE FROM container_mounts WHERE container_id = ?1",
	[M_ORPHANS] = "DELETE FROM container_mounts "
		      "WHERE container_id NOT IN (SELECT id FROM containers)",
};

struct st_volumes {
	sqlite3 *db;
	sqlite3_stmt *stmts[V_MAX];
};

static int sv_err(struct st_volumes *sv, struct shoal_err *err, int rc, const char *what)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: e = EBUSY; break;
	case SQLITE_NOMEM: e = ENOMEM; break;
	case SQLITE_READONLY: e = EROFS; break;
	case SQLITE_FULL: e = ENOSPC; break;
	case SQLITE_CONSTRAINT: e = EEXIST; break;
	default: e = EIO;
	}
	return err_set(err, e, "state database: %s: %s", what, sqlite3_errmsg(sv->db));
}

static int stmt_get(struct st_volumes *sv, enum sv_stmt id, sqlite3_stmt **out,
		    struct shoal_err *err)
{
	int rc = sql_stmt_cached(sv->db, &sv->stmts[id], sv_sql[id], out);

	return rc != SQLITE_OK ? sv_err(sv, err, rc, "prepare") : 0;
}

int st_volumes_open(struct state *st, struct st_volumes **out, struct shoal_err *err)
{
	struct st_volumes *sv = calloc(1, sizeof(*sv));
	int rc;

	if (!sv)
		return err_set(err, ENOMEM, "out of memory");
	sv->db = state_sqlite(st);
	/* Idempotent: a no-op once the migration made the tables. */
	rc = sqlite3_exec(sv->db, STATE_VOLUMES_SCHEMA, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int ret = sv_err(sv, err, rc, "create the volume tables");

		free(sv);
		return ret;
	}
	*out = sv;
	return 0;
}

void st_volumes_close(struct st_volumes *sv)
{
	if (!sv)
		return;
	for (int i = 0; i < V_MAX; i++)
		sqlite3_finalize(sv->stmts[i]);
	free(sv);
}

void st_volume_free(struct st_volume *v)
{
	if (!v)
		return;
	free(v->labels_json);
	free(v->options_json);
	v->labels_json = v->options_json = NULL;
}

void st_volume_list_free(struct st_volume *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		st_volume_free(&v[i]);
	free(v);
}

void st_mount_list_free(struct st_mount *m, size_t n)
{
	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		free(m[i].extra_json);
	free(m);
}

static char *dup_col(sqlite3_stmt *s, int col, const char *dflt)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return strdup(t ? (const char *)t : dflt);
}

static int row_to_volume(sqlite3_stmt *s, struct st_volume *v, struct shoal_err *err)
{
	memset(v, 0, sizeof(*v));
	sql_copy_col(s, 0, v->name, sizeof(v->name));
	sql_copy_col(s, 1, v->driver, sizeof(v->driver));
	v->labels_json = dup_col(s, 2, "{}");
	v->options_json = dup_col(s, 3, "{}");
	v->created = sqlite3_column_int64(s, 4);
	v->anonymous = sqlite3_column_int(s, 5) != 0;
	if (!v->labels_json || !v->options_json) {
		st_volume_free(v);
		return err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int st_volume_insert(struct st_volumes *sv, const struct st_volume *v, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret, rc;

	if (!v->name[0])
		return err_set(err, EINVAL, "volume name must not be empty");
	ret = stmt_get(sv, V_INSERT, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, v->name);
	sql_bind_text(s, 2, v->driver);
	sql_bind_text(s, 3, v->labels_json ? v->labels_json : "{}");
	sql_bind_text(s, 4, v->options_json ? v->options_json : "{}");
	sqlite3_bind_int64(s, 5, v->created);
	sqlite3_bind_int(s, 6, v->anonymous);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return err_set(err, EEXIST, "volume %s already exists", v->name);
	return sv_err(sv, err, rc, "insert volume");
}

int st_volume_get(struct st_volumes *sv, const char *name, struct st_volume *out,
		  struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret, rc;

	ret = stmt_get(sv, V_GET, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_set(err, ENOENT, "get %s: no such volume", name);
	if (rc != SQLITE_ROW)
		return sv_err(sv, err, rc, "read volume");
	return row_to_volume(s, out, err);
}

int st_volume_list(struct st_volumes *sv, struct st_volume **out, size_t *n,
		   struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct st_volume *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int ret, rc;

	*out = NULL;
	*n = 0;
	ret = stmt_get(sv, V_LIST, &s, err);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, len, &cap, sizeof(*v), 8);
		if (!nv) {
			ret = err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		v = nv;
		ret = row_to_volume(s, &v[len], err);
		if (ret)
			goto fail;
		len++;
	}
	if (rc != SQLITE_DONE) {
		ret = sv_err(sv, err, rc, "list volumes");
		goto fail;
	}
	*out = v;
	*n = len;
	return 0;
fail:
	st_volume_list_free(v, len);
	return ret;
}

int st_volume_delete(struct st_volumes *sv, const char *name, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret, rc;

	ret = stmt_get(sv, V_DELETE, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return sv_err(sv, err, rc, "delete volume");
	if (sqlite3_changes(sv->db) == 0)
		return err_set(err, ENOENT, "get %s: no such volume", name);
	return 0;
}

int st_volume_users(struct st_volumes *sv, const char *name, char (**ids)[65], size_t *n,
		    struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	char (*v)[65] = NULL, (*nv)[65];
	size_t len = 0, cap = 0;
	int ret, rc;

	*ids = NULL;
	*n = 0;
	ret = stmt_get(sv, V_USERS, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, name);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, len, &cap, sizeof(*v), 4);
		if (!nv) {
			free(v);
			return err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		sql_copy_col(s, 0, v[len++], sizeof(*v));
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return sv_err(sv, err, rc, "list volume users");
	}
	*ids = v;
	*n = len;
	return 0;
}

int st_mount_insert(struct st_volumes *sv, const struct st_mount *m, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret, rc;

	ret = stmt_get(sv, M_INSERT, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, m->container_id);
	sqlite3_bind_int(s, 2, m->seq);
	sql_bind_text(s, 3, m->type);
	sql_bind_text(s, 4, m->name);
	sql_bind_text(s, 5, m->source);
	sql_bind_text(s, 6, m->destination);
	sql_bind_text(s, 7, m->mode);
	sqlite3_bind_int(s, 8, m->rw);
	sql_bind_text(s, 9, m->propagation);
	sqlite3_bind_int(s, 10, m->nocopy);
	sql_bind_text(s, 11, m->extra_json ? m->extra_json : "{}");
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	return sv_err(sv, err, rc, "insert container mount");
}

static int row_to_mount(sqlite3_stmt *s, struct st_mount *m)
{
	memset(m, 0, sizeof(*m));
	sql_copy_col(s, 0, m->container_id, sizeof(m->container_id));
	m->seq = sqlite3_column_int(s, 1);
	sql_copy_col(s, 2, m->type, sizeof(m->type));
	sql_copy_col(s, 3, m->name, sizeof(m->name));
	sql_copy_col(s, 4, m->source, sizeof(m->source));
	sql_copy_col(s, 5, m->destination, sizeof(m->destination));
	sql_copy_col(s, 6, m->mode, sizeof(m->mode));
	m->rw = sqlite3_column_int(s, 7) != 0;
	sql_copy_col(s, 8, m->propagation, sizeof(m->propagation));
	m->nocopy = sqlite3_column_int(s, 9) != 0;
	m->extra_json = dup_col(s, 10, "{}");
	return m->extra_json ? 0 : -ENOMEM;
}

int st_mount_list(struct st_volumes *sv, const char *container_id, struct st_mount **out,
		  size_t *n, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct st_mount *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int ret, rc;

	*out = NULL;
	*n = 0;
	ret = stmt_get(sv, container_id ? M_LIST : M_LIST_ALL, &s, err);
	if (ret)
		return ret;
	if (container_id)
		sql_bind_text(s, 1, container_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, len, &cap, sizeof(*v), 4);
		if (!nv || row_to_mount(s, &nv[len]) < 0) {
			st_mount_list_free(nv ? nv : v, len);
			return err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		len++;
	}
	if (rc != SQLITE_DONE) {
		st_mount_list_free(v, len);
		return sv_err(sv, err, rc, "list container mounts");
	}
	*out = v;
	*n = len;
	return 0;
}

int st_mount_delete_container(struct st_volumes *sv, const char *container_id,
			      struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret, rc;

	ret = stmt_get(sv, M_DELETE, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, container_id);
	rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : sv_err(sv, err, rc, "delete container mounts");
}

int st_mount_delete_orphans(struct st_volumes *sv, size_t *n, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret, rc;

	*n = 0;
	ret = stmt_get(sv, M_ORPHANS, &s, err);
	if (ret)
		return ret;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return sv_err(sv, err, rc, "delete orphaned container mounts");
	*n = (size_t)sqlite3_changes(sv->db);
	return 0;
}
