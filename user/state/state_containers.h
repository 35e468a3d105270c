/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state_containers.h - the containers table of the state database
 * (schema version 4), used by the daemon's container code only.
 *
 * One row per container: identity (id, unique name), what it was made
 * from (image as asked and its id), the merged Config, HostConfig and
 * network settings as JSON text (Docker's shapes), and its run state
 * (status, pids, exit code, times). The writable layer, the files under
 * <data-root>/containers/<id> and the endpoints (endpoints.container_id)
 * are named by the id.
 *
 * The caller serialises access (the daemon's lock); statements are
 * prepared once and cached in struct st_containers. Functions return 0
 * or -errno and fill *err.
 */
#ifndef SHOAL_STATE_CONTAINERS_H
#define SHOAL_STATE_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct state;
struct st_containers;

/* Migration 3 -> 4, listed in state.c. Never edit once released. */
#define STATE_CONTAINERS_MIGRATION_V4                                                     \
	"CREATE TABLE containers ("                                                       \
	"  id TEXT PRIMARY KEY,"                                                          \
	"  name TEXT UNIQUE NOT NULL,"                                                    \
	"  image TEXT NOT NULL,"                                                          \
	"  image_id TEXT NOT NULL,"                                                       \
	"  created INTEGER NOT NULL,"                                                     \
	"  status TEXT NOT NULL,"                                                         \
	"  pid INTEGER NOT NULL DEFAULT 0,"                                               \
	"  shim_pid INTEGER NOT NULL DEFAULT 0,"                                          \
	"  exit_code INTEGER NOT NULL DEFAULT 0,"                                         \
	"  oom_killed INTEGER NOT NULL DEFAULT 0,"                                        \
	"  started_at TEXT NOT NULL DEFAULT '',"                                          \
	"  finished_at TEXT NOT NULL DEFAULT '',"                                         \
	"  restart_count INTEGER NOT NULL DEFAULT 0,"                                     \
	"  error TEXT NOT NULL DEFAULT '',"                                               \
	"  config TEXT NOT NULL,"                                                         \
	"  host_config TEXT NOT NULL,"                                                    \
	"  net_settings TEXT NOT NULL"                                                    \
	");"                                                                              \
	"CREATE INDEX containers_image ON containers(image_id);"

#define ST_CTR_NAME_LEN 256
#define ST_CTR_TIME_LEN 40 /* RFC 3339 with nanoseconds */

struct st_container {
	char id[65];
	char name[ST_CTR_NAME_LEN];  /* without Docker's leading '/' */
	char image[512];             /* as given (Config.Image) */
	char image_id[72];           /* "sha256:..." */
	int64_t created;             /* unix nanoseconds */
	char status[16];             /* created running exited dead removing */
	int pid;                     /* init, host pid namespace; 0 = none */
	int shim_pid;
	int exit_code;
	bool oom_killed;
	char started_at[ST_CTR_TIME_LEN];  /* "" = never */
	char finished_at[ST_CTR_TIME_LEN];
	int restart_count;
	char error[512];
	char *config;       /* JSON text, malloc'd */
	char *host_config;  /* JSON text, malloc'd */
	char *net_settings; /* JSON text, malloc'd */
};

int st_containers_open(struct state *st, struct st_containers **out, struct shoal_err *err);
void st_containers_close(struct st_containers *sc);

void st_container_free(struct st_container *c);
void st_container_list_free(struct st_container *v, size_t n);

/* -EEXIST when the id or the name is taken. */
int st_container_insert(struct st_containers *sc, const struct st_container *c,
			struct shoal_err *err);
/* Every column but id and created; -ENOENT if the row is gone. */
int st_container_update(struct st_containers *sc, const struct st_container *c,
			struct shoal_err *err);
int st_container_delete(struct st_containers *sc, const char *id, struct shoal_err *err);
/* Docker's resolution: full id, then name (with or without '/'), then a
 * unique id prefix. -ENOENT "No such container: X"; -EINVAL when the
 * prefix names several. */
int st_container_find(struct st_containers *sc, const char *ref, struct st_container *out,
		      struct shoal_err *err);
/* By name only (no '/'): -ENOENT when free. */
int st_container_by_name(struct st_containers *sc, const char *name, struct st_container *out,
			 struct shoal_err *err);
/* Newest first. */
int st_container_list(struct st_containers *sc, struct st_container **out, size_t *n,
		      struct shoal_err *err);
/* Containers made from image_id; first_id gets one of them ("" none). */
int st_container_image_users(struct st_containers *sc, const char *image_id, int64_t *n,
			     char first_id[65], struct shoal_err *err);

#endif
