/* SPDX-License-Identifier: Apache-2.0 */
/*
 * driver.h - what the driver files share (storage.c defines it): the
 * ops tables, per-id reference counts, option and id checks, and
 * Docker's names of backing filesystems.
 */
#ifndef SHOAL_STORAGE_DRIVER_H
#define SHOAL_STORAGE_DRIVER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

extern const struct storage_ops storage_overlay2_ops;
extern const struct storage_ops storage_vfs_ops;
extern const struct storage_ops storage_btrfs_ops;
extern const struct storage_ops storage_devicemapper_ops;
extern const struct storage_ops storage_zfs_ops;

/* Layer ids: Docker's are 64 hex, container layers "<id>-init"; we take
 * [A-Za-z0-9][A-Za-z0-9_.-]* up to this many chars. */
#define STORAGE_ID_MAX 128

int storage_check_id(const char *id, struct shoal_err *err);

/* Reference counts per id; the caller holds lock around find/drop. */
struct storage_ref {
	char id[STORAGE_ID_MAX + 1];
	int count;
	bool mounted;
};

struct storage_refs {
	pthread_mutex_t lock;
	struct storage_ref *v;
	size_t n, cap;
};

void storage_refs_init(struct storage_refs *r);
void storage_refs_free(struct storage_refs *r);
struct storage_ref *storage_refs_find(struct storage_refs *r, const char *id, bool create);
void storage_refs_drop(struct storage_refs *r, struct storage_ref *ref);
/* Whether id holds a reference (a layer in use), under the lock. */
bool storage_refs_busy(struct storage_refs *r, const char *id);
/* One more reference on id, under the lock; -ENOMEM if none could be made.
 * For drivers where get() mounts nothing (vfs, btrfs). */
int storage_refs_get(struct storage_refs *r, const char *id, struct shoal_err *err);
/* One reference less on id (forgotten at zero), under the lock. */
void storage_refs_put(struct storage_refs *r, const char *id);

/*
 * Drivers whose layer is one plain directory <home>/<subdir>/<id> (vfs,
 * btrfs): drv->priv is a struct storage_refs, created by
 * storage_dir_driver_init() once home/<subdir> exists, freed by
 * storage_dir_driver_cleanup(). Messages start with the driver's name.
 */
int storage_dir_driver_init(struct storage_driver *drv, const char *subdir,
			    struct shoal_err *err);
void storage_dir_driver_cleanup(struct storage_driver *drv);
/* <home>/<subdir>/<id> into buf, after checking id. */
int storage_layer_dir(struct storage_driver *drv, const char *subdir, const char *id,
		      char *buf, size_t len, struct shoal_err *err);
bool storage_layer_dir_exists(struct storage_driver *drv, const char *subdir, const char *id);
/* get/put of a plain directory layer: the path, plus a reference that
 * keeps remove() away. */
int storage_dir_get(struct storage_driver *drv, const char *subdir, const char *id,
		    char *path, size_t len, struct shoal_err *err);
int storage_dir_put(struct storage_driver *drv, const char *id, struct shoal_err *err);
/* Apply a layer tar into the directory, whiteouts deleting. */
int storage_dir_apply_diff(struct storage_driver *drv, const char *subdir, const char *id,
			   int fd, uint64_t *size, struct shoal_err *err);
/* What the directory holds over its parent's directory (or all of it). */
int storage_dir_diff_size(struct storage_driver *drv, const char *subdir, const char *id,
			  const char *parent, uint64_t *size, struct shoal_err *err);

/* changes.c: an overlay upper directory over its lower layers (nearest
 * first), or a full layer directory against its parent's (NULL: all
 * added). *out: Docker's [{"Path","Kind"}]. 0 or -errno. */
int storage_changes_overlay(const char *upper, const char *const *lowers, size_t nl, json_t **out);
int storage_changes_dirs(const char *layer, const char *parent, json_t **out);
int storage_dir_changes(struct storage_driver *drv, const char *subdir, const char *id,
			const char *parent, json_t **out, struct shoal_err *err);

/* The value of option "<drv>.<key>" (last one wins), NULL if absent. An
 * option of this driver with another key is -EINVAL; keys lists the
 * known ones (NULL-terminated). */
int storage_opts_check(struct storage_driver *drv, const char *const *keys,
		       struct shoal_err *err);
const char *storage_opt(struct storage_driver *drv, const char *key);

/* statfs f_type -> Docker's name ("extfs", "xfs", "btrfs", "tmpfs",
 * "overlayfs", ...), "<unknown>" otherwise. */
const char *storage_fs_name(long f_type);
/* Name of the filesystem path is on (or its nearest existing parent). */
const char *storage_fs_name_of(const char *path, long *f_type);

#endif
