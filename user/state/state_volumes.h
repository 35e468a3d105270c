/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state_volumes.h - volumes and container mounts in the state database,
 * used by the daemon's volume code (user/daemon/volume.c, mounts.c) only.
 *
 *   volumes           name -> driver, labels, options (JSON text as the
 *                     user gave them), created (unix seconds), anonymous
 *   container_mounts  (container id, seq) -> one resolved mount of a
 *                     container: type volume|bind|tmpfs, volume name,
 *                     host source, destination, Docker's Mode/RW/
 *                     Propagation, nocopy, extra options (JSON text)
 *
 * A volume is in use while any container_mounts row names it; the rows
 * go with their container. The tables carry no foreign key to the
 * containers table so that their schema does not depend on the order
 * the migrations landed in; the daemon removes a container's rows when
 * it removes the container.
 *
 * The caller serialises access (the daemon's lock). Functions return 0
 * or -errno and fill *err.
 */
#ifndef SHOAL_STATE_VOLUMES_H
#define SHOAL_STATE_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct state;
struct st_volumes;

/* Migration 4 -> 5, listed in state.c. Never edit once released. IF NOT
 * EXISTS: databases of the first volume build got the tables from
 * st_volumes_open() before the migration was numbered. */
#define STATE_VOLUMES_SCHEMA                                                              \
	"CREATE TABLE IF NOT EXISTS volumes ("                                            \
	"  name TEXT PRIMARY KEY,"                                                        \
	"  driver TEXT NOT NULL,"                                                         \
	"  labels TEXT NOT NULL DEFAULT '{}',"                                            \
	"  options TEXT NOT NULL DEFAULT '{}',"                                           \
	"  created INTEGER NOT NULL,"                                                     \
	"  anonymous INTEGER NOT NULL DEFAULT 0"                                          \
	");"                                                                              \
	"CREATE TABLE IF NOT EXISTS container_mounts ("                                   \
	"  container_id TEXT NOT NULL,"                                                   \
	"  seq INTEGER NOT NULL,"                                                         \
	"  type TEXT NOT NULL,"                                                           \
	"  name TEXT NOT NULL DEFAULT '',"                                                \
	"  source TEXT NOT NULL DEFAULT '',"                                              \
	"  destination TEXT NOT NULL,"                                                    \
	"  mode TEXT NOT NULL DEFAULT '',"                                                \
	"  rw INTEGER NOT NULL DEFAULT 1,"                                                \
	"  propagation TEXT NOT NULL DEFAULT '',"                                         \
	"  nocopy INTEGER NOT NULL DEFAULT 0,"                                            \
	"  extra TEXT NOT NULL DEFAULT '{}',"                                             \
	"  PRIMARY KEY (container_id, seq)"                                               \
	");"                                                                              \
	"CREATE INDEX IF NOT EXISTS container_mounts_name ON container_mounts(name);"

#define ST_VOL_NAME_LEN 256 /* names are at most 255 bytes (NAME_MAX) */

struct st_volume {
	char name[ST_VOL_NAME_LEN];
	char driver[32];
	char *labels_json;  /* JSON object text, malloc'd */
	char *options_json; /* JSON object text, malloc'd */
	int64_t created;    /* unix seconds */
	bool anonymous;
};

struct st_mount {
	char container_id[65];
	int seq;
	char type[8];                 /* "volume", "bind", "tmpfs" */
	char name[ST_VOL_NAME_LEN];   /* volume name ("" for bind/tmpfs) */
	char source[4096];            /* host path ("" for tmpfs) */
	char destination[4096];
	char mode[64];                /* Docker's Mode: "", "z", "ro", ... */
	bool rw;
	char propagation[16];
	bool nocopy;
	char *extra_json;             /* JSON object text, malloc'd */
};

int st_volumes_open(struct state *st, struct st_volumes **out, struct shoal_err *err);
void st_volumes_close(struct st_volumes *sv);

void st_volume_free(struct st_volume *v);
void st_volume_list_free(struct st_volume *v, size_t n);
void st_mount_list_free(struct st_mount *m, size_t n);

/* -EEXIST "volume X already exists". */
int st_volume_insert(struct st_volumes *sv, const struct st_volume *v, struct shoal_err *err);
/* -ENOENT "get X: no such volume" (Docker's wording). */
int st_volume_get(struct st_volumes *sv, const char *name, struct st_volume *out,
		  struct shoal_err *err);
/* Ordered by name. */
int st_volume_list(struct st_volumes *sv, struct st_volume **out, size_t *n,
		   struct shoal_err *err);
int st_volume_delete(struct st_volumes *sv, const char *name, struct shoal_err *err);
/* Containers whose mounts name the volume: *ids malloc'd (65 bytes
 * each), in creation order of the rows. */
int st_volume_users(struct st_volumes *sv, const char *name, char (**ids)[65], size_t *n,
		    struct shoal_err *err);

int st_mount_insert(struct st_volumes *sv, const struct st_mount *m, struct shoal_err *err);
/* A container's mounts by seq; container_id NULL = every container's. */
int st_mount_list(struct st_volumes *sv, const char *container_id, struct st_mount **out,
		  size_t *n, struct shoal_err *err);
int st_mount_delete_container(struct st_volumes *sv, const char *container_id,
			      struct shoal_err *err);
/* Rows of containers the containers table no longer has (a crash between
 * recording the mounts and the container); *n gets how many went. */
int st_mount_delete_orphans(struct st_volumes *sv, size_t *n, struct shoal_err *err);

#endif
