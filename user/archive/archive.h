/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archive.h - layer tarballs in and out, with libarchive.
 *
 * Extraction is hostile-input safe: an entry whose path is absolute or
 * has a ".." component, a hard link whose target is outside the layer,
 * any entry that would be written through a symlink (e.g. "etc" ->
 * "/etc" then "etc/passwd"), and a device node or FIFO that is not the
 * whiteout convention are rejected with a message naming the entry, and
 * extraction stops. Symlinks themselves may point anywhere (an absolute
 * target like bin/sh -> /bin/busybox is normal in images: it is resolved
 * inside the container's root at run time, never by us). Owners, modes,
 * times and xattrs are restored.
 */
#ifndef SHOAL_ARCHIVE_H
#define SHOAL_ARCHIVE_H

#include <stdint.h>

#include "../common/err.h"

enum archive_whiteouts {
	/* overlay2: ".wh.NAME" -> char device 0/0 NAME; ".wh..wh..opq" ->
	 * xattr trusted.overlay.opaque=y on the directory. */
	ARCHIVE_WHITEOUT_OVERLAY,
	/* vfs/btrfs (the layer starts as a copy of its parent): ".wh.NAME"
	 * deletes NAME; ".wh..wh..opq" empties the directory first. */
	ARCHIVE_WHITEOUT_APPLY,
};

/*
 * Extract the tar stream on fd (plain, gzip or zstd, detected) into dest
 * (an existing directory). *size = bytes of regular file data written.
 * On error dest may hold part of the layer: the caller removes it.
 */
int archive_apply_layer(int fd, const char *dest, enum archive_whiteouts mode, uint64_t *size,
			struct shoal_err *err);

#endif
