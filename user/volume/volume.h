/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volume.h - the local volume driver: what a volume is on disk.
 *
 *   <data-root>/volumes/<name>/_data   the data (what containers mount)
 *
 * The metadata (driver, labels, options, anonymous) lives in the state
 * store (state_volumes.h); this module checks names and options the way
 * Docker's local driver does, makes and removes the directories, mounts
 * what the options describe (-o type=tmpfs|none|ext4... device=... o=...)
 * on _data when a container uses the volume, and measures sizes.
 *
 * Functions return 0 or -errno and fill *err.
 */
#ifndef SHOAL_VOLUME_H
#define SHOAL_VOLUME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

#define VOL_DRIVER_LOCAL "local"
/* Docker (>= 23) labels the volumes it makes for a container this way. */
#define VOL_ANON_LABEL "com.docker.volume.anonymous"

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ and at most NAME_MAX bytes;
 * -EINVAL with Docker's message ("create X: ..."). */
int vol_check_name(const char *name, struct shoal_err *err);
/* Local driver options (DriverOpts): keys type, device, o; type and
 * device together. -EINVAL naming the problem. */
int vol_check_opts(const char *name, json_t *opts, struct shoal_err *err);

/* <root>/volumes/<name> and <root>/volumes/<name>/_data. */
void vol_dir(const char *root, const char *name, char *buf, size_t len);
void vol_data_dir(const char *root, const char *name, char *buf, size_t len);

/* Make <root>/volumes/<name>/_data (an existing one is kept). */
int vol_dir_create(const char *root, const char *name, struct shoal_err *err);
/* Unmount whatever is mounted on or under the volume's directory, then
 * remove it. Never deletes through a mount: -EBUSY if one stays. */
int vol_dir_remove(const char *root, const char *name, struct shoal_err *err);

/* Whether path is a mount point (per /proc/self/mountinfo). */
bool vol_is_mountpoint(const char *path);
/* Mount what opts describes on _data unless it is mounted already;
 * without a "type" option nothing needs mounting. opts_json is the
 * stored DriverOpts text. */
int vol_mount(const char *root, const char *name, const char *opts_json, struct shoal_err *err);

/* Bytes of regular files in _data (hard links once). */
int vol_size(const char *root, const char *name, uint64_t *size);
/* Whether a directory has no entries (a missing one counts as empty). */
bool vol_dir_is_empty(const char *path);

/*
 * "o" of the options split into mount(2) flags and filesystem data,
 * as Docker's mount.ParseOptions does: ro,nosuid,bind,... are flags,
 * anything else ("size=64m", "uid=1000") data. data gets "" if none.
 */
int vol_parse_mount_opts(const char *o, unsigned long *flags, char *data, size_t len,
			 struct shoal_err *err);

#endif
