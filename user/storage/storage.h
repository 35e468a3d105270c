/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storage.h - storage drivers behind one interface (Docker's graphdriver
 * shape): layers identified by an opaque id, each either read-only (an
 * image layer, filled once by apply_diff) or read-write (a container's
 * layer), each on top of an optional parent.
 *
 * Drivers, one file each: overlay2 (overlayfs, l/ short links, whiteouts
 * converted on apply), vfs (full copy per layer), btrfs (subvolume per
 * layer, snapshot of the parent), and devicemapper / zfs, which fail
 * init with a message naming what this kernel lacks.
 *
 * Each driver keeps its layers under <data-root>/<driver name>/, so a
 * daemon restarted with another driver sees none of the other's layers
 * (as in Docker). Functions return 0 or -errno and fill *err.
 */
#ifndef SHOAL_STORAGE_H
#define SHOAL_STORAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"

#define STORAGE_ID_LEN 65
#define STORAGE_MAX_OPTS 16

struct storage_driver;

struct storage_ops {
	const char *name;
	/* Check the kernel and the backing filesystem, parse options
	 * ("overlay2.size=10G" etc.), create home. -EOPNOTSUPP / -EINVAL
	 * with a message naming what is missing or wrong. */
	int (*init)(struct storage_driver *drv, struct shoal_err *err);
	/* Unmount everything this driver mounted (daemon shutdown). */
	void (*cleanup)(struct storage_driver *drv);
	/* Docker's DriverStatus pairs, e.g. [["Backing Filesystem","extfs"],
	 * ["Supports d_type","true"],["Native Overlay Diff","true"]]. */
	json_t *(*status)(struct storage_driver *drv);
	/* New empty layer id on parent (NULL = base). rw: a container's
	 * writable layer; size_opt: per-layer quota ("10G"), NULL = none. */
	int (*create)(struct storage_driver *drv, const char *id, const char *parent, bool rw,
		      const char *size_opt, struct shoal_err *err);
	/* Remove a layer (must not be mounted); -ENOENT if unknown. */
	int (*remove)(struct storage_driver *drv, const char *id, struct shoal_err *err);
	/* Mount (reference counted) and give the path of the layer's full
	 * view (merged for overlay2, the layer dir for vfs/btrfs). */
	int (*get)(struct storage_driver *drv, const char *id, char *path, size_t len,
		   struct shoal_err *err);
	/* Drop one reference; unmount at zero. */
	int (*put)(struct storage_driver *drv, const char *id, struct shoal_err *err);
	bool (*exists)(struct storage_driver *drv, const char *id);
	/* Extract a layer tar stream (plain, gzip or zstd: detected) into
	 * layer id created on parent, converting or applying whiteouts as the
	 * driver needs. *size = bytes of the diff. On error nothing of the
	 * diff stays (the caller removes the layer). */
	int (*apply_diff)(struct storage_driver *drv, const char *id, const char *parent, int tar_fd,
			  uint64_t *size, struct shoal_err *err);
	/* Size in bytes of what layer id holds over its parent. */
	int (*diff_size)(struct storage_driver *drv, const char *id, const char *parent,
			 uint64_t *size, struct shoal_err *err);
	/* What layer id changed over its parent, Docker's changes list
	 * [{"Path","Kind"}] (changes.c). NULL: the driver cannot say. */
	int (*changes)(struct storage_driver *drv, const char *id, const char *parent,
		       json_t **out, struct shoal_err *err);
};

struct storage_driver {
	const struct storage_ops *ops;
	char home[4096];      /* <data-root>/<name> */
	char data_root[4096];
	char opts[STORAGE_MAX_OPTS][256];
	int n_opts;
	void *priv;           /* the driver's own state (mount refcounts...) */
};

/*
 * Open a driver by name ("overlay2", "vfs", "btrfs", "devicemapper",
 * "zfs"), or the first that initialises of overlay2, btrfs, vfs when name
 * is "" (Docker's priority, minus drivers this kernel cannot have). An
 * unknown name is -EINVAL listing the known ones.
 */
int storage_open(const char *name, const char *data_root, const char (*opts)[256], int n_opts,
		 struct storage_driver **out, struct shoal_err *err);
void storage_close(struct storage_driver *drv);

#endif
