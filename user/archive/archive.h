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

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"

enum archive_whiteouts {
	/* overlay2: ".wh.NAME" -> char device 0/0 NAME; ".wh..wh..opq" ->
	 * xattr trusted.overlay.opaque=y on the directory. */
	ARCHIVE_WHITEOUT_OVERLAY,
	/* vfs/btrfs (the layer starts as a copy of its parent): ".wh.NAME"
	 * deletes NAME; ".wh..wh..opq" empties the directory first. */
	ARCHIVE_WHITEOUT_APPLY,
	/* docker cp: ".wh." names are ordinary files. */
	ARCHIVE_WHITEOUT_NONE,
};

/*
 * Extract the tar stream on fd (plain, gzip or zstd, detected) into dest
 * (an existing directory). *size = bytes of regular file data written.
 * On error dest may hold part of the layer: the caller removes it.
 */
int archive_apply_layer(int fd, const char *dest, enum archive_whiteouts mode, uint64_t *size,
			struct shoal_err *err);

/* What archive_extract() does beyond the layer rules above. */
struct archive_extract_opts {
	enum archive_whiteouts mode;
	/* Keep the tar's owners; else every entry gets uid/gid. */
	bool keep_owner;
	unsigned int uid, gid;
	/* Docker's noOverwriteDirNonDir: a directory never replaces a
	 * non-directory nor the reverse (the entry is refused). */
	bool no_overwrite_dir_nondir;
	/* The first path component rebase_from (of entries and hard link
	 * targets) becomes rebase_to ("" = its contents go to dest itself,
	 * the entry rebase_from is skipped); NULL = no rebase. */
	const char *rebase_from, *rebase_to;
	/* Device nodes, FIFOs and sockets are skipped instead of refused
	 * (docker cp to the local filesystem). */
	bool skip_special;
	/* Messages start with "<what> entry" (default "layer"). */
	const char *what;
};

int archive_extract(int fd, const char *dest, const struct archive_extract_opts *o, uint64_t *size,
		    struct shoal_err *err);

/*
 * Write path as a tar stream (PAX) on fd: path itself (never followed
 * when it is a symlink) named name, and for a directory everything under
 * it as name/..., never following symlinks, hard links kept, sockets
 * skipped, the kernel's pseudo filesystems (proc, sysfs, devpts,
 * cgroup, mqueue...) stored as empty directories. name "" leaves out the top directory's own entry (its
 * children are then named from the top: "bin", "bin/sh", as docker
 * export). Owners are numeric. 0 or -errno with err.
 */
int archive_write_tree(int fd, const char *path, const char *name, struct shoal_err *err);

#endif
