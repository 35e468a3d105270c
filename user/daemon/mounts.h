/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mounts.h - a container's mounts (volumes, binds, tmpfs), from the
 * create request to the shim's config.json and back to inspect.
 *
 *   create   HostConfig.Binds ("name:/p[:ro]", "/host:/p[:ro]"),
 *            HostConfig.Mounts (type volume|bind|tmpfs), VolumesFrom
 *            ("ctr[:ro|:rw]") and Config.Volumes (image VOLUME entries
 *            and `-v /p`) resolve, in Docker's precedence, into one
 *            list stored as container_mounts rows: named volumes that do
 *            not exist are created, every Config.Volumes path not
 *            otherwise mounted gets an anonymous volume. Bad input is a
 *            400 with nothing created.
 *   start    the rows become config.json "mounts": volume options are
 *            mounted on _data (tmpfs, bind, device), an empty volume gets
 *            the image's content at its destination first (copy-up,
 *            unless nocopy), bind sources are checked; HostConfig.Tmpfs
 *            entries are added as tmpfs mounts.
 *   inspect  the rows as Docker's "Mounts" array.
 *   remove   the rows go; with rm -v or AutoRemove, the container's
 *            anonymous volumes too when no other container uses them.
 *
 * All with d->lock held.
 */
#ifndef SHOAL_DAEMON_MOUNTS_H
#define SHOAL_DAEMON_MOUNTS_H

#include <jansson.h>
#include <stdbool.h>

#include "../common/err.h"

struct daemon;

/* Config.Volumes of a new container: the image's ("config" of img_cfg)
 * and the request's, or null when there are none (Docker shows null). */
json_t *mounts_config_volumes(json_t *img_cfg, json_t *body);
/* Check a create request's mounts without making anything. */
int mounts_check(struct daemon *d, json_t *config, json_t *hc, struct shoal_err *err);
/* Resolve and record the mounts of container id (one transaction). */
int mounts_create(struct daemon *d, const char *id, json_t *config, json_t *hc,
		  struct shoal_err *err);
/* The container is gone: drop its rows; remove_anon also removes its
 * anonymous volumes that no other container uses. */
void mounts_release(struct daemon *d, const char *id, bool remove_anon);
/* Append the container's mounts to config.json's "mounts" array. */
int mounts_bundle(struct daemon *d, const char *id, const char *rootfs, json_t *hc,
		  json_t *mounts, struct shoal_err *err);
/* Docker's "Mounts" of container inspect. */
json_t *mounts_inspect_json(struct daemon *d, const char *id);

#endif
