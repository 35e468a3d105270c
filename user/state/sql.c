// SPDX-License-Identifier: Apache-2.0
/*
 * sql.c - SQLite helpers shared by the state files: see sql.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sql.h"

void sql_stmt_resetp(sqlite3_stmt **s)
{
	if (*s) {
		sqlite3_reset(*s);
		sqlite3_clear_bindings(*s);
	}
}

int sql_stmt_cached(sqlite3 *db, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out)
{
	int rc;

	if (!*slot) {
		rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
		if (rc != SQLITE_OK)
			return rc;
	}
	*out = *slot;
	return SQLITE_OK;
}

void sql_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

void sql_copy_col(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

void *sql_grow(void *v, size_t len, size_t *cap, size_t elem, size_t first)
{
	size_t ncap;
	void *nv;

	if (len < *cap)
		return v;
	ncap = *cap ? *cap * 2 : first;
	nv = realloc(v, ncap * elem);
	if (nv)
		*cap = ncap;
	return nv;
}
