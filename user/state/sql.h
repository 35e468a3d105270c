/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sql.h - the SQLite plumbing state.c (networks, endpoints, meta) and
 * state_images.c (images, layers, references) share: cached prepared
 * statements reset when they leave scope, binding and reading text
 * columns, and growing the arrays the list functions return. Error
 * wording and errno mapping stay with each caller.
 */
#ifndef SHOAL_STATE_SQL_H
#define SHOAL_STATE_SQL_H
#include <sqlite3.h>
#include <stddef.h>

/* Resets a cached statement when it leaves scope, so no read stays open. */
void sql_stmt_resetp(sqlite3_stmt **s);
#define _cleanup_stmt_ __attribute__((cleanup(sql_stmt_resetp)))

/*
 * The statement cached in *slot, prepared from sql (persistent) on first
 * use. Returns SQLITE_OK with *out set, or the sqlite3_prepare_v3() code.
 */
int sql_stmt_cached(sqlite3 *db, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out);

/* Bind text v (copied) to parameter i; NULL binds SQL NULL. */
void sql_bind_text(sqlite3_stmt *s, int i, const char *v);

/* Text column col into dst (truncated to size, "" for NULL). */
void sql_copy_col(sqlite3_stmt *s, int col, char *dst, size_t size);

/*
 * Room for one more element of elem bytes in v (len used, *cap
 * allocated; first is the capacity of the first allocation, doubled
 * after): v itself when there is room, else the grown array with *cap
 * updated, or NULL when out of memory (v and *cap are then unchanged).
 */
void *sql_grow(void *v, size_t len, size_t *cap, size_t elem, size_t first);
#endif
