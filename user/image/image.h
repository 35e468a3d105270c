/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.h - the image store: content-addressed blobs, layers keyed by
 * chain ID and shared between images, images and their tags; load
 * (docker save / OCI layout archives), import (rootfs tar), pull
 * (registry API v2), save, tag, remove.
 *
 * Where things live:
 *   <data-root>/image/blobs/sha256/<hex>  configs, manifests and layer
 *                                         tars (as received), verified
 *                                         against their digest while
 *                                         streaming; shared by drivers
 *   state (SQLite)                        images, tags, layers and the
 *                                         image->layer lists, per driver
 *   the storage driver                    one read-only layer per chain ID
 * Each storage driver has its own images and layers (as in Docker): a
 * daemon started with another driver lists none of them.
 *
 * References follow Docker: "busybox" = docker.io/library/busybox:latest,
 * shown as "busybox:latest"; "127.0.0.1:5000/a/b:t"; "name@sha256:...";
 * an image id or a unique prefix of it ("sha256:" optional).
 *
 * Concurrency: calls may run in parallel from API threads. The store
 * takes *state_lock (the daemon's lock) only around state access; blob
 * transfers and layer extraction run without it.
 *
 * Errors: 0 or -errno with *err naming the problem: -ENOENT "No such
 * image: X", -EINVAL for bad references and archives, -EBADMSG for a
 * digest mismatch (nothing of that transfer stays behind), -EBUSY for an
 * image in use (without force), -EEXIST, -EIO for registry failures.
 */
#ifndef SHOAL_IMAGE_H
#define SHOAL_IMAGE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct state;
struct storage_driver;
struct image_store;

#define IMAGE_ID_LEN 72 /* "sha256:" + 64 hex + NUL */

/* Progress of a pull or load, called from the working thread: status is
 * Docker's ("Pulling fs layer", "Downloading", "Verifying Checksum",
 * "Download complete", "Extracting", "Pull complete", "Already exists",
 * "Loading layer"), id the short layer id (12 hex) or NULL for image-wide
 * messages, current/total bytes (0 when not applicable). */
struct image_progress {
	void (*fn)(void *arg, const char *id, const char *status, uint64_t current, uint64_t total);
	void *arg;
};

struct image_pull_opts {
	const char *username; /* registry auth (X-Registry-Auth), NULL = anonymous */
	const char *password;
	bool insecure;        /* allow plain HTTP for any host (loopback is always allowed) */
};

int image_store_open(struct image_store **out, struct state *st, pthread_mutex_t *state_lock,
		     struct storage_driver *drv, const char *data_root, struct shoal_err *err);
void image_store_close(struct image_store *s);

/* docker save / OCI image layout archive (tar, tar.gz) on fd. *loaded:
 * JSON array of what was loaded: "repo:tag" strings, or image ids for
 * untagged images. */
int image_load(struct image_store *s, int fd, const struct image_progress *p, json_t **loaded,
	       struct shoal_err *err);
/* A rootfs tarball (tar, tar.gz, tar.zst) on fd as a one-layer image,
 * tagged ref unless NULL. */
int image_import(struct image_store *s, int fd, const char *ref, const char *message,
		 char id_out[IMAGE_ID_LEN], struct shoal_err *err);
int image_pull(struct image_store *s, const char *ref, const struct image_pull_opts *o,
	       const struct image_progress *p, char id_out[IMAGE_ID_LEN], struct shoal_err *err);

/* GET /images/json: Docker's ImageSummary array. filters as Docker's
 * ("reference", "dangling", "label", "before", "since"); all = include
 * intermediate images (no difference for shoal: none are stored). */
int image_list_json(struct image_store *s, bool all, json_t *filters, json_t **out,
		    struct shoal_err *err);
/* GET /images/{ref}/json: Docker's ImageInspect, GraphDriver included. */
int image_inspect_json(struct image_store *s, const char *ref, json_t **out, struct shoal_err *err);
/* DELETE /images/{ref}: untag, and delete the image and its unshared
 * layers when no tag is left (or force). in_use (may be NULL) says if a
 * container uses an image id; such an image is refused unless force.
 * *out: [{"Untagged": "..."}, {"Deleted": "sha256:..."}] as Docker. */
int image_remove(struct image_store *s, const char *ref, bool force,
		 bool (*in_use)(void *arg, const char *image_id), void *arg, json_t **out,
		 struct shoal_err *err);
/* The same, adding the bytes of the layers it deleted to *reclaimed
 * (may be NULL): what image prune reports as SpaceReclaimed. */
int image_remove_ex(struct image_store *s, const char *ref, bool force,
		    bool (*in_use)(void *arg, const char *image_id), void *arg, json_t **out,
		    uint64_t *reclaimed, struct shoal_err *err);
int image_tag(struct image_store *s, const char *ref, const char *repo, const char *tag,
	      struct shoal_err *err);
/* docker save format (manifest.json, repositories, <id>.json, layer
 * tars) for refs, written to out_fd; loadable by `docker load`. */
int image_save(struct image_store *s, const char *const *refs, size_t n_refs, int out_fd,
	       struct shoal_err *err);

/* For containers: the image's id, its config (JSON object, new ref) and
 * the storage layer id of its top layer ("" for an image without layers). */
int image_resolve(struct image_store *s, const char *ref, char id_out[IMAGE_ID_LEN],
		  json_t **config, char top_layer[65], struct shoal_err *err);

/* Counts for /info. */
int image_count(struct image_store *s, size_t *images, struct shoal_err *err);

#endif
