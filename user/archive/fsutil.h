/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsutil.h - filesystem tree helpers shared by layer extraction and the
 * storage drivers: remove a tree without following symlinks, copy a tree
 * with everything a layer holds (owners, modes, times, xattrs, symlinks,
 * hard links, device nodes), sizes, and running a function with a
 * private working directory (the process cwd is shared by all threads,
 * so we never chdir() in the daemon's threads).
 */
#ifndef SHOAL_FSUTIL_H
#define SHOAL_FSUTIL_H

#include <stdint.h>

#include "../common/err.h"

/* Remove name (relative to dirfd, or absolute) and everything under it,
 * never following a symlink. A missing name is success. 0 or -errno. */
int fsutil_rm_rf_at(int dirfd, const char *name);
int fsutil_rm_rf(const char *path);
/* Remove what dir holds, keep dir. */
int fsutil_empty_dir(const char *path);

/* Copy the contents of src into the existing directory dst, and src's
 * own owner, mode, xattrs and times onto dst. */
int fsutil_copy_tree(const char *src, const char *dst, struct shoal_err *err);

/* Bytes of regular files under path (hard links counted once). */
int fsutil_dir_size(const char *path, uint64_t *size);
/* Bytes of regular files under layer that are new or differ (size,
 * mtime, type) from the same path under parent (NULL = everything). */
int fsutil_diff_size(const char *layer, const char *parent, uint64_t *size);

/* Run fn(arg) on a new thread whose cwd is dir (unshare(CLONE_FS) makes
 * cwd and umask private to that thread). Returns fn's result, or -errno
 * when dir cannot be entered. */
int fsutil_in_dir(const char *dir, int (*fn)(void *arg), void *arg);

/* "20M", "10G", "1.5g", "4096", "100kb": bytes, 1024-based like
 * Docker's RAMInBytes. 0 or -EINVAL. */
int fsutil_parse_size(const char *s, uint64_t *out);

#endif
