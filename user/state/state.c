// SPDX-License-Identifier: Apache-2.0
/*
 * state.c - the state store on SQLite (WAL).
 *
 * The schema is versioned through PRAGMA user_version: migrations[i]
 * brings a database from version i to i + 1, each in its own transaction,
 * so a crash mid-upgrade leaves the last complete version. Never edit a
 * released migration; append a new one.
 *
 * Every statement is prepared once (lazily, after the migrations ran) and
 * cached; user input only ever reaches SQLite through bound parameters.
 * Addresses are stored as INTEGER holding the uint32 network-byte-order
 * value, exactly as the BPF maps hold them.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "state.h"
#include "state_containers.h"
#include "state_images.h"
#include "state_volumes.h"
#include "../../include/shoal_maps.h"
#include "../common/util.h"

static const char *const migrations[] = {
	/* 0 -> 1: initial schema. */
	"CREATE TABLE networks ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT UNIQUE NOT NULL,"
	"  driver TEXT NOT NULL,"
	"  net_id INTEGER UNIQUE NOT NULL,"
	"  subnet INTEGER NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  gateway INTEGER NOT NULL,"
	"  ip_range INTEGER NOT NULL DEFAULT 0,"
	"  ip_range_prefix INTEGER NOT NULL DEFAULT 0,"
	"  mtu INTEGER NOT NULL DEFAULT 0,"
	"  attachable INTEGER NOT NULL DEFAULT 0,"
	"  internal INTEGER NOT NULL DEFAULT 0,"
	"  labels TEXT,"
	"  options TEXT,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE endpoints ("
	"  id TEXT PRIMARY KEY,"
	"  network_id TEXT NOT NULL REFERENCES networks(id),"
	"  ep_id INTEGER UNIQUE NOT NULL,"
	"  netns TEXT NOT NULL DEFAULT '',"
	"  host_ifname TEXT NOT NULL DEFAULT '',"
	"  container_id TEXT NOT NULL DEFAULT '',"
	"  ip INTEGER NOT NULL,"
	"  mac TEXT NOT NULL,"
	"  node_ip INTEGER NOT NULL DEFAULT 0,"
	"  remote INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE(network_id, ip)"
	");"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");",
	/* 1 -> 2: lookups by netns (attach/detach by netns path) and by
	 * container (disconnect, container removal). */
	"CREATE INDEX endpoints_netns ON endpoints(network_id, netns);"
	"CREATE INDEX endpoints_container ON endpoints(container_id);",
	/* 2 -> 3: the image store (user/state/state_images.c). */
	STATE_IMAGES_MIGRATION_V3,
	/* 3 -> 4: containers (user/state/state_containers.c). */
	STATE_CONTAINERS_MIGRATION_V4,
	/* 4 -> 5: volumes and container mounts (user/state/state_volumes.c). */
	STATE_VOLUMES_SCHEMA,
};

#define SCHEMA_LATEST ((int)ARRAY_SIZE(migrations))

#define NET_COLS                                                                       \
	"id, name, driver, net_id, subnet, prefix, gateway, ip_range, ip_range_prefix, " \
	"mtu, attachable, internal, labels, options, created"
#define EP_COLS                                                                        \
	"id, network_id, ep_id, netns, host_ifname, container_id, ip, mac, node_ip, "    \
	"remote, created"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_NET_INSERT,
	S_NET_BY_NAME,
	S_NET_BY_ID,
	S_NET_BY_PREFIX,
	S_NET_LIST,
	S_NET_DELETE,
	S_NET_EP_COUNT,
	S_NET_LOCAL_IDS,
	S_EP_INSERT,
	S_EP_DELETE,
	S_EP_GET,
	S_EP_BY_NETNS,
	S_EP_LIST_ALL,
	S_EP_LIST_NET,
	S_EP_MAX_EPID,
	S_META_GET,
	S_META_SET,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_MAX,
};

static const char *const stmt_sql[S_MAX] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_NET_INSERT] = "INSERT INTO networks (" NET_COLS ") "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[S_NET_BY_NAME] = "SELECT " NET_COLS " FROM networks WHERE name = ?1",
	[S_NET_BY_ID] = "SELECT " NET_COLS " FROM networks WHERE id = ?1",
	/* substr, not LIKE: a reference must never act as a pattern. */
	[S_NET_BY_PREFIX] = "SELECT " NET_COLS " FROM networks "
			    "WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2",
	[S_NET_LIST] = "SELECT " NET_COLS " FROM networks ORDER BY created, name",
	[S_NET_DELETE] = "DELETE FROM networks WHERE id = ?1",
	[S_NET_EP_COUNT] = "SELECT count(*) FROM endpoints WHERE network_id = ?1",
	[S_NET_LOCAL_IDS] = "SELECT net_id FROM networks WHERE net_id BETWEEN ?1 AND ?2 "
			    "ORDER BY net_id",
	[S_EP_INSERT] = "INSERT INTO endpoints (" EP_COLS ") "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[S_EP_DELETE] = "DELETE FROM endpoints WHERE id = ?1",
	[S_EP_GET] = "SELECT " EP_COLS " FROM endpoints WHERE id = ?1",
	[S_EP_BY_NETNS] = "SELECT " EP_COLS " FROM endpoints "
			  "WHERE network_id = ?1 AND netns = ?2 ORDER BY ep_id LIMIT 1",
	[S_EP_LIST_ALL] = "SELECT " EP_COLS " FROM endpoints ORDER BY ep_id",
	[S_EP_LIST_NET] = "SELECT " EP_COLS " FROM endpoints WHERE network_id = ?1 "
			  "ORDER BY ep_id",
	[S_EP_MAX_EPID] = "SELECT coalesce(max(ep_id), 0) FROM endpoints",
	[S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[S_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
		       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[S_SAVEPOINT] = "SAVEPOINT shoal_inner",
	[S_RELEASE] = "RELEASE shoal_inner",
	[S_ROLLBACK_TO] = "ROLLBACK TO shoal_inner",
};

struct state {
	sqlite3 *db;
	int version;
	char path[STATE_PATH_LEN];
	sqlite3_stmt *stmts[S_MAX];
};

/* SQLite result code -> errno. */
static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return EBUSY;
	case SQLITE_NOMEM: return ENOMEM;
	case SQLITE_READONLY: return EROFS;
	case SQLITE_FULL: return ENOSPC;
	case SQLITE_CANTOPEN: return EACCES;
	case SQLITE_CONSTRAINT: return EEXIST;
	case SQLITE_PERM:
	case SQLITE_AUTH: return EPERM;
	case SQLITE_NOTFOUND: return ENOENT;
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE: return EINVAL;
	default: return EIO;
	}
}

static int sql_err(struct state *st, struct shoal_err *err, int rc, const char *what)
{
	return err_set(err, sql_errno(rc), "state database: %s: %s", what,
		       st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
}

static int stmt_get(struct state *st, enum stmt_id id, sqlite3_stmt **out,
		    struct shoal_err *err)
{
	int rc = sql_stmt_cached(st->db, &st->stmts[id], stmt_sql[id], out);

	return rc != SQLITE_OK ? sql_err(st, err, rc, "prepare") : 0;
}

/* Run a statement that returns no rows. */
static int stmt_exec(struct state *st, sqlite3_stmt *s, const char *what, struct shoal_err *err)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE)
		return sql_err(st, err, rc, what);
	return 0;
}

static int exec_simple(struct state *st, enum stmt_id id, const char *what,
		       struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(st, id, &s, err);

	return ret ? ret : stmt_exec(st, s, what, err);
}

/* ---- schema ---------------------------------------------------------------- */

static int read_user_version(struct state *st, int *v, struct shoal_err *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_err(st, err, rc, "read schema version");
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return sql_err(st, err, rc, "read schema version");
	}
	*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return 0;
}

static int migrate(struct state *st, struct shoal_err *err)
{
	char sql[64];
	int v, ret, rc;

	ret = read_user_version(st, &v, err);
	if (ret)
		return ret;
	if (v > SCHEMA_LATEST)
		return err_set(err, ENOTSUP,
			       "state database schema version %d is newer than this shoald supports (%d)",
			       v, SCHEMA_LATEST);
	while (v < SCHEMA_LATEST) {
		rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return sql_err(st, err, rc, "begin migration");
		/* Another process may have migrated while we waited. */
		ret = read_user_version(st, &v, err);
		if (ret)
			goto fail;
		if (v >= SCHEMA_LATEST) {
			sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
			break;
		}
		rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = err_set(err, sql_errno(rc),
				      "state database: migration to schema version %d: %s", v + 1,
				      sqlite3_errmsg(st->db));
			goto fail;
		}
		/* PRAGMA takes no parameters; v is ours, not input. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = sql_err(st, err, rc, "commit migration");
			goto fail;
		}
		v++;
	}
	st->version = v;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int state_open(struct state **out, const char *db_path, struct shoal_err *err)
{
	struct state *st;
	sqlite3_stmt *s;
	const char *mode;
	int rc, ret;

	*out = NULL;
	if (strlen(db_path) >= STATE_PATH_LEN)
		return err_set(err, ENAMETOOLONG, "state database path too long: %s", db_path);
	st = calloc(1, sizeof(*st));
	if (!st)
		return err_set(err, ENOMEM, "out of memory");
	snprintf(st->path, sizeof(st->path), "%s", db_path);
	rc = sqlite3_open_v2(db_path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int sys = st->db ? sqlite3_system_errno(st->db) : 0;

		ret = err_set(err, (rc & 0xff) == SQLITE_CANTOPEN && sys > 0 ? sys : sql_errno(rc),
			      "open state database %s: %s", db_path,
			      st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);

	/* journal_mode answers with the mode in force; WAL can be refused
	 * (e.g. on some network filesystems) and we want to know. */
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
		if (rc == SQLITE_ROW && (!mode || strcmp(mode, "wal") != 0)) {
			ret = err_set(err, ENOTSUP, "open state database %s: WAL mode refused (%s)",
				      db_path, mode ? mode : "?");
			sqlite3_finalize(s);
			goto fail;
		}
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_ROW) {
		/* SQLite opens lazily: a missing directory shows up here. */
		int sys = sqlite3_system_errno(st->db);

		ret = err_set(err, (rc & 0xff) == SQLITE_CANTOPEN && sys > 0 ? sys : sql_errno(rc),
			      "open state database %s: %s", db_path, sqlite3_errmsg(st->db));
		goto fail;
	}
	/* A crash may lose the last commit with NORMAL in WAL mode; this is
	 * the authority for the kernel state, so pay for the fsync. */
	rc = sqlite3_exec(st->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_err(st, err, rc, "set pragmas");
		goto fail;
	}
	ret = migrate(st, err);
	if (ret)
		goto fail;
	*out = st;
	return 0;
fail:
	state_close(st);
	return ret;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_MAX; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	free(st);
}

int state_schema_version(struct state *st)
{
	return st->version;
}

sqlite3 *state_sqlite(struct state *st)
{
	return st->db;
}

/* ---- transactions ---------------------------------------------------------- */

int state_begin(struct state *st, struct shoal_err *err)
{
	if (!sqlite3_get_autocommit(st->db))
		return err_set(err, EBUSY, "state database: a transaction is already open");
	return exec_simple(st, S_BEGIN, "begin transaction", err);
}

int state_commit(struct state *st, struct shoal_err *err)
{
	return exec_simple(st, S_COMMIT, "commit", err);
}

void state_rollback(struct state *st)
{
	/* Also fine when SQLite already rolled back on its own. */
	if (!sqlite3_get_autocommit(st->db))
		exec_simple(st, S_ROLLBACK, "rollback", NULL);
}

/*
 * A read-modify-write that must be atomic whether or not the caller
 * opened a transaction: a savepoint nests inside one, and acts as its
 * own transaction outside.
 */
static int inner_begin(struct state *st, struct shoal_err *err)
{
	return exec_simple(st, S_SAVEPOINT, "savepoint", err);
}

static int inner_end(struct state *st, int ret, struct shoal_err *err)
{
	if (ret) {
		exec_simple(st, S_ROLLBACK_TO, "rollback to savepoint", NULL);
		exec_simple(st, S_RELEASE, "release savepoint", NULL);
		return ret;
	}
	return exec_simple(st, S_RELEASE, "release savepoint", err);
}

/* ---- networks -------------------------------------------------------------- */

void st_network_free(struct st_network *n)
{
	if (!n)
		return;
	free(n->labels_json);
	free(n->options_json);
	n->labels_json = NULL;
	n->options_json = NULL;
}

void st_network_list_free(struct st_network *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		st_network_free(&v[i]);
	free(v);
}

static int dup_json_col(sqlite3_stmt *s, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	*out = strdup(t ? (const char *)t : "{}");
	return *out ? 0 : -ENOMEM;
}

static int row_to_network(sqlite3_stmt *s, struct st_network *n, struct shoal_err *err)
{
	memset(n, 0, sizeof(*n));
	sql_copy_col(s, 0, n->id, sizeof(n->id));
	sql_copy_col(s, 1, n->name, sizeof(n->name));
	sql_copy_col(s, 2, n->driver, sizeof(n->driver));
	n->net_id = (uint32_t)sqlite3_column_int64(s, 3);
	n->subnet = (uint32_t)sqlite3_column_int64(s, 4);
	n->prefix = (uint8_t)sqlite3_column_int(s, 5);
	n->gateway = (uint32_t)sqlite3_column_int64(s, 6);
	n->ip_range = (uint32_t)sqlite3_column_int64(s, 7);
	n->ip_range_prefix = (uint8_t)sqlite3_column_int(s, 8);
	n->mtu = (uint32_t)sqlite3_column_int64(s, 9);
	n->attachable = sqlite3_column_int(s, 10) != 0;
	n->internal = sqlite3_column_int(s, 11) != 0;
	if (dup_json_col(s, 12, &n->labels_json) || dup_json_col(s, 13, &n->options_json)) {
		st_network_free(n);
		return err_set(err, ENOMEM, "out of memory");
	}
	n->created = sqlite3_column_int64(s, 14);
	return 0;
}

int state_network_insert(struct state *st, const struct st_network *n, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret, rc;

	if (!n->id[0] || !n->name[0])
		return err_set(err, EINVAL, "network id and name must not be empty");
	ret = stmt_get(st, S_NET_INSERT, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, n->id);
	sql_bind_text(s, 2, n->name);
	sql_bind_text(s, 3, n->driver);
	sqlite3_bind_int64(s, 4, n->net_id);
	sqlite3_bind_int64(s, 5, n->subnet);
	sqlite3_bind_int(s, 6, n->prefix);
	sqlite3_bind_int64(s, 7, n->gateway);
	sqlite3_bind_int64(s, 8, n->ip_range);
	sqlite3_bind_int(s, 9, n->ip_range_prefix);
	sqlite3_bind_int64(s, 10, n->mtu);
	sqlite3_bind_int(s, 11, n->attachable);
	sqlite3_bind_int(s, 12, n->internal);
	sql_bind_text(s, 13, n->labels_json ? n->labels_json : "{}");
	sql_bind_text(s, 14, n->options_json ? n->options_json : "{}");
	sqlite3_bind_int64(s, 15, n->created);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		const char *m = sqlite3_errmsg(st->db);

		if (strstr(m, "networks.name"))
			return err_set(err, EEXIST, "network with name %s already exists", n->name);
		if (strstr(m, "networks.net_id"))
			return err_set(err, EEXIST, "network id %" PRIu32 " is already in use",
				       n->net_id);
		if (strstr(m, "networks.id"))
			return err_set(err, EEXIST, "network %s already exists", n->id);
	}
	return sql_err(st, err, rc, "insert network");
}

/* One row of s into out: 0, -ENOENT (no row) or another error. */
static int fetch_network(struct state *st, sqlite3_stmt *s, struct st_network *out,
			 struct shoal_err *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_err(st, err, rc, "read network");
	return row_to_network(s, out, err);
}

static int network_lookup(struct state *st, enum stmt_id id, const char *ref,
			  struct st_network *out, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(st, id, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, ref);
	return fetch_network(st, s, out, err);
}

int state_network_get(struct state *st, const char *ref, struct st_network *out,
		      struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret;

	if (!ref || !ref[0])
		return err_set(err, ENOENT, "network %s not found", ref ? ref : "");
	ret = network_lookup(st, S_NET_BY_NAME, ref, out, err);
	if (ret != -ENOENT)
		return ret;
	ret = network_lookup(st, S_NET_BY_ID, ref, out, err);
	if (ret != -ENOENT)
		return ret;

	ret = stmt_get(st, S_NET_BY_PREFIX, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, ref);
	ret = fetch_network(st, s, out, err);
	if (ret == -ENOENT)
		return err_set(err, ENOENT, "network %s not found", ref);
	if (ret)
		return ret;
	ret = sqlite3_step(s);
	if (ret == SQLITE_ROW) {
		st_network_free(out);
		return err_set(err, EINVAL, "network reference %s is ambiguous", ref);
	}
	if (ret != SQLITE_DONE) {
		st_network_free(out);
		return sql_err(st, err, ret, "read network");
	}
	return 0;
}

int state_network_list(struct state *st, struct st_network **out, size_t *n,
		       struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct st_network *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int ret, rc;

	*out = NULL;
	*n = 0;
	ret = stmt_get(st, S_NET_LIST, &s, err);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, len, &cap, sizeof(*v), 8);
		if (!nv) {
			ret = err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		v = nv;
		ret = row_to_network(s, &v[len], err);
		if (ret)
			goto fail;
		len++;
	}
	if (rc != SQLITE_DONE) {
		ret = sql_err(st, err, rc, "list networks");
		goto fail;
	}
	*out = v;
	*n = len;
	return 0;
fail:
	st_network_list_free(v, len);
	return ret;
}

int state_network_delete(struct state *st, const char *id, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_stmt_ sqlite3_stmt *c = NULL;
	int ret, rc;

	ret = stmt_get(st, S_NET_EP_COUNT, &c, err);
	if (ret)
		return ret;
	sql_bind_text(c, 1, id);
	rc = sqlite3_step(c);
	if (rc != SQLITE_ROW)
		return sql_err(st, err, rc, "count endpoints");
	/* Docker's wording; the foreign key would refuse it anyway. */
	if (sqlite3_column_int64(c, 0) > 0)
		return err_set(err, EBUSY, "error while removing network: network %s has active endpoints",
			       id);

	ret = stmt_get(st, S_NET_DELETE, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, id);
	ret = stmt_exec(st, s, "delete network", err);
	if (ret)
		return ret;
	if (sqlite3_changes(st->db) == 0)
		return err_set(err, ENOENT, "network %s not found", id);
	return 0;
}

int state_network_next_local_id(struct state *st, uint32_t *out, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	uint32_t want = SHOAL_LOCAL_NETID_MIN;
	int ret, rc;

	ret = stmt_get(st, S_NET_LOCAL_IDS, &s, err);
	if (ret)
		return ret;
	sqlite3_bind_int64(s, 1, SHOAL_LOCAL_NETID_MIN);
	sqlite3_bind_int64(s, 2, SHOAL_LOCAL_NETID_MAX);
	/* Ids come sorted: the first gap is the lowest free id. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t used = (uint32_t)sqlite3_column_int64(s, 0);

		if (used > want)
			break;
		want = used + 1;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_err(st, err, rc, "list network ids");
	if (want > SHOAL_LOCAL_NETID_MAX)
		return err_set(err, ENOSPC, "no free local network id (all %d in use)",
			       SHOAL_LOCAL_NETID_MAX - SHOAL_LOCAL_NETID_MIN + 1);
	*out = want;
	return 0;
}

/* ---- endpoints ------------------------------------------------------------- */

static void row_to_endpoint(sqlite3_stmt *s, struct st_endpoint *e)
{
	char mac[18];

	memset(e, 0, sizeof(*e));
	sql_copy_col(s, 0, e->id, sizeof(e->id));
	sql_copy_col(s, 1, e->network_id, sizeof(e->network_id));
	e->ep_id = (uint32_t)sqlite3_column_int64(s, 2);
	sql_copy_col(s, 3, e->netns, sizeof(e->netns));
	sql_copy_col(s, 4, e->host_ifname, sizeof(e->host_ifname));
	sql_copy_col(s, 5, e->container_id, sizeof(e->container_id));
	e->ip = (uint32_t)sqlite3_column_int64(s, 6);
	sql_copy_col(s, 7, mac, sizeof(mac));
	if (util_parse_mac(mac, e->mac) < 0)
		memset(e->mac, 0, sizeof(e->mac));
	e->node_ip = (uint32_t)sqlite3_column_int64(s, 8);
	e->remote = sqlite3_column_int(s, 9) != 0;
	e->created = sqlite3_column_int64(s, 10);
}

int state_endpoint_insert(struct state *st, const struct st_endpoint *e, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	char mac[18], ip[16];
	int ret, rc;

	if (!e->id[0] || !e->network_id[0])
		return err_set(err, EINVAL, "endpoint id and network id must not be empty");
	ret = stmt_get(st, S_EP_INSERT, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, e->id);
	sql_bind_text(s, 2, e->network_id);
	sqlite3_bind_int64(s, 3, e->ep_id);
	sql_bind_text(s, 4, e->netns);
	sql_bind_text(s, 5, e->host_ifname);
	sql_bind_text(s, 6, e->container_id);
	sqlite3_bind_int64(s, 7, e->ip);
	sql_bind_text(s, 8, util_mac_str(e->mac, mac));
	sqlite3_bind_int64(s, 9, e->node_ip);
	sqlite3_bind_int(s, 10, e->remote);
	sqlite3_bind_int64(s, 11, e->created);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return err_set(err, ENOENT, "network %s not found", e->network_id);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		const char *m = sqlite3_errmsg(st->db);

		if (strstr(m, "endpoints.ip"))
			return err_set(err, EEXIST, "address %s is already in use in network %s",
				       util_ipv4_str(e->ip, ip), e->network_id);
		if (strstr(m, "endpoints.ep_id"))
			return err_set(err, EEXIST, "endpoint id %" PRIu32 " is already in use",
				       e->ep_id);
		if (strstr(m, "endpoints.id"))
			return err_set(err, EEXIST, "endpoint %s already exists", e->id);
	}
	return sql_err(st, err, rc, "insert endpoint");
}

int state_endpoint_delete(struct state *st, const char *id, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(st, S_EP_DELETE, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, id);
	ret = stmt_exec(st, s, "delete endpoint", err);
	if (ret)
		return ret;
	if (sqlite3_changes(st->db) == 0)
		return err_set(err, ENOENT, "endpoint %s not found", id);
	return 0;
}

static int fetch_endpoint(struct state *st, sqlite3_stmt *s, struct st_endpoint *out,
			  struct shoal_err *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_err(st, err, rc, "read endpoint");
	row_to_endpoint(s, out);
	return 0;
}

int state_endpoint_get(struct state *st, const char *id, struct st_endpoint *out,
		       struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(st, S_EP_GET, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, id);
	ret = fetch_endpoint(st, s, out, err);
	if (ret == -ENOENT)
		return err_set(err, ENOENT, "endpoint %s not found", id);
	return ret;
}

int state_endpoint_find_netns(struct state *st, const char *network_id, const char *netns_path,
			      struct st_endpoint *out, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(st, S_EP_BY_NETNS, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, network_id);
	sql_bind_text(s, 2, netns_path);
	ret = fetch_endpoint(st, s, out, err);
	if (ret == -ENOENT)
		return err_set(err, ENOENT, "no endpoint for %s in network %s", netns_path,
			       network_id);
	return ret;
}

int state_endpoint_list(struct state *st, const char *network_id, struct st_endpoint **out,
			size_t *n, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct st_endpoint *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int ret, rc;

	*out = NULL;
	*n = 0;
	ret = stmt_get(st, network_id ? S_EP_LIST_NET : S_EP_LIST_ALL, &s, err);
	if (ret)
		return ret;
	if (network_id)
		sql_bind_text(s, 1, network_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = sql_grow(v, len, &cap, sizeof(*v), 8);
		if (!nv) {
			free(v);
			return err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		row_to_endpoint(s, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return sql_err(st, err, rc, "list endpoints");
	}
	*out = v;
	*n = len;
	return 0;
}

/* ---- meta ------------------------------------------------------------------ */

int state_meta_get(struct state *st, const char *key, char **value, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int ret, rc;

	*value = NULL;
	ret = stmt_get(st, S_META_GET, &s, err);
	if (ret)
		return ret;
	sql_bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_set(err, ENOENT, "state key %s not set", key);
	if (rc != SQLITE_ROW)
		return sql_err(st, err, rc, "read meta");
	t = sqlite3_column_text(s, 0);
	*value = strdup(t ? (const char *)t : "");
	if (!*value)
		return err_set(err, ENOMEM, "out of memory");
	return 0;
}

int state_meta_set(struct state *st, const char *key, const char *value, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int ret = stmt_get(st, S_META_SET, &s, err);

	if (ret)
		return ret;
	sql_bind_text(s, 1, key);
	sql_bind_text(s, 2, value);
	return stmt_exec(st, s, "write meta", err);
}

#define META_NEXT_EP_ID "next_ep_id"

static int next_ep_id_locked(struct state *st, uint32_t *out, struct shoal_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_free_ char *cur = NULL;
	unsigned long long next = 1, max_used;
	char buf[24], *end;
	int ret, rc;

	ret = state_meta_get(st, META_NEXT_EP_ID, &cur, err);
	if (ret && ret != -ENOENT)
		return ret;
	if (!ret) {
		errno = 0;
		next = strtoull(cur, &end, 10);
		if (errno || *end || next == 0)
			return err_set(err, EIO, "state database: corrupt %s value \"%s\"",
				       META_NEXT_EP_ID, cur);
	}
	/* Never below what the endpoints table already holds. */
	ret = stmt_get(st, S_EP_MAX_EPID, &s, err);
	if (ret)
		return ret;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return sql_err(st, err, rc, "read max ep_id");
	max_used = (unsigned long long)sqlite3_column_int64(s, 0);
	if (max_used >= next)
		next = max_used + 1;
	if (next > UINT32_MAX)
		return err_set(err, ENOSPC, "endpoint ids exhausted");
	snprintf(buf, sizeof(buf), "%llu", next + 1);
	ret = state_meta_set(st, META_NEXT_EP_ID, buf, err);
	if (ret)
		return ret;
	*out = (uint32_t)next;
	return 0;
}

int state_endpoint_next_ep_id(struct state *st, uint32_t *out, struct shoal_err *err)
{
	int ret = inner_begin(st, err);

	if (ret)
		return ret;
	ret = next_ep_id_locked(st, out, err);
	return inner_end(st, ret, err);
}
