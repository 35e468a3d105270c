// SPDX-License-Identifier: Apache-2.0
/*
 * tools/bench/extract.c - `make bench` part 3 helper: time shoal's layer
 * extraction (archive_apply_layer, the code shoald's storage drivers run)
 * on one layer file, without the daemon, the blob store or the hashing.
 *
 * Usage: shoal-bench-extract [-m overlay|apply] [-s BYTES] LAYER DEST
 *   LAYER  a layer tar (plain, gzip or zstd: detected, as in shoald)
 *   DEST   an existing, empty directory
 *   -m     whiteout mode: overlay (ARCHIVE_WHITEOUT_OVERLAY, overlay2's;
 *          default) or apply (vfs/btrfs)
 *   -s     bytes the MB/s figure is computed on (the bench passes the size
 *          of the uncompressed tar, so tar and shoal are compared on the
 *          same amount of data); default: regular file bytes written
 * Prints one line:
 *   secs=<s> file_bytes=<n> basis_bytes=<n> MB/s=<basis_bytes/1e6/secs>
 * timed with CLOCK_MONOTONIC around archive_apply_layer alone (opening
 * the file and process start are not included). Exit 1 with the error on
 * stderr when extraction fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../user/archive/archive.h"
#include "../../user/common/err.h"

static void usage(void)
{
	fprintf(stderr, "usage: shoal-bench-extract [-m overlay|apply] [-s BYTES] LAYER DEST\n");
	exit(2);
}

int main(int argc, char **argv)
{
	enum archive_whiteouts mode = ARCHIVE_WHITEOUT_OVERLAY;
	struct shoal_err err = { 0 };
	struct timespec t0, t1;
	uint64_t size = 0, basis = 0;
	double secs;
	char *end;
	int opt, fd, r;

	while ((opt = getopt(argc, argv, "m:s:h")) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "overlay"))
				mode = ARCHIVE_WHITEOUT_OVERLAY;
			else if (!strcmp(optarg, "apply"))
				mode = ARCHIVE_WHITEOUT_APPLY;
			else
				usage();
			break;
		case 's':
			errno = 0;
			basis = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "shoal-bench-extract: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = archive_apply_layer(fd, argv[optind + 1], mode, &size, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "shoal-bench-extract: %s\n", err.msg[0] ? err.msg : strerror(-r));
		return 1;
	}
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (!basis)
		basis = size;
	printf("secs=%.4f file_bytes=%" PRIu64 " basis_bytes=%" PRIu64 " MB/s=%.1f\n", secs, size,
	       basis, secs > 0 ? (double)basis / 1e6 / secs : 0.0);
	return 0;
}
