/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volumes.h - volumes in shoald (Docker Engine API v1.41 shapes): the
 * operations behind /volumes (api_volumes.c) and what the container
 * mounts (mounts.c) need. All run with d->lock held; each mutation is
 * one state transaction, and the directory it makes or removes follows
 * the transaction's fate.
 */
#ifndef SHOAL_DAEMON_VOLUMES_H
#define SHOAL_DAEMON_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>

#include "../common/err.h"
#include "../state/state_volumes.h"

struct daemon;

/* Open the volume tables (d->vols). */
int volumes_open(struct daemon *d, struct shoal_err *err);
void volumes_close(struct daemon *d);

/* POST /volumes/create: {Name, Driver, DriverOpts, Labels} -> the volume.
 * A name that exists: -EEXIST (409) "volume X already exists". */
int volume_create_json(struct daemon *d, json_t *req, json_t **out, struct shoal_err *err);
/* The volume as Docker shows it (GET /volumes/{name}). */
json_t *volume_to_json(struct daemon *d, const struct st_volume *v);
int volume_inspect_json(struct daemon *d, const char *name, json_t **out, struct shoal_err *err);
/* GET /volumes: {"Volumes": [...], "Warnings": null}; filters dangling,
 * driver, label, name (Docker's). */
int volume_list_json(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err);
/* DELETE /volumes/{name}: -EBUSY (409) naming the containers that use it;
 * force: a missing volume is not an error. */
int volume_remove(struct daemon *d, const char *name, bool force, struct shoal_err *err);
/* POST /volumes/prune: unused anonymous volumes (all unused ones with
 * the filter all=true), label / label! filters. */
int volume_prune_json(struct daemon *d, json_t *filters, json_t **out, struct shoal_err *err);

/*
 * Inside a transaction the caller opened: make a volume row and its
 * directory. name "" makes a 64-hex name (written back to name_out).
 * The directory is left in place if the caller rolls back: call
 * volume_undo_dir() then.
 */
int volume_create_locked(struct daemon *d, const char *name, json_t *labels, json_t *opts,
			 bool anonymous, struct st_volume *out, struct shoal_err *err);
void volume_undo_dir(struct daemon *d, const char *name);
/* Remove one volume inside the caller's transaction: refuses if used. */
int volume_remove_locked(struct daemon *d, const char *name, struct shoal_err *err);
/* Mount the volume's options (tmpfs, bind, device) on _data if needed. */
int volume_mount(struct daemon *d, const struct st_volume *v, struct shoal_err *err);

#endif
