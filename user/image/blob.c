// SPDX-License-Identifier: Apache-2.0
/*
 * blob.c - the content-addressed blob store, <data-root>/image/blobs/
 * sha256/<hex>. A blob is written to a temp file in the same directory
 * while it is hashed, fsync'd, checked against the digest it should have
 * and only then renamed into place, so a blob that exists is complete
 * and correct, and a failed or tampered transfer leaves nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_int.h"
#include "../common/util.h"

int blob_path(const char *dir, const char *digest, char *buf, size_t len)
{
	if (!sha256_digest_valid(digest))
		return -EINVAL;
	if (snprintf(buf, len, "%s/%s", dir, digest + 7) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

bool blob_exists(const char *dir, const char *digest)
{
	char p[4300];
	struct stat sb;

	return blob_path(dir, digest, p, sizeof(p)) == 0 && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int blob_writer_open(struct blob_writer *w, const char *dir, struct shoal_err *err)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	snprintf(w->tmp, sizeof(w->tmp), "%s/.tmp-XXXXXX", dir);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		w->fd = -1;
		return err_set(err, errno, "create temp blob in %s: %m", dir);
	}
	sha256_init(&w->h);
	return 0;
}

int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct shoal_err *err)
{
	const char *p = buf;
	size_t left = len;

	while (left) {
		ssize_t n = write(w->fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(err, errno, "write blob: %m");
		}
		p += n;
		left -= (size_t)n;
	}
	sha256_update(&w->h, buf, len);
	w->size += len;
	return 0;
}

void blob_writer_abort(struct blob_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->tmp);
	}
	w->fd = -1;
}

int blob_writer_commit(struct blob_writer *w, const char *expected, char digest_out[DIGEST_LEN],
		       struct shoal_err *err)
{
	char got[DIGEST_LEN], dst[4300];
	int ret = 0;

	sha256_final_str(&w->h, got);
	if (digest_out)
		memcpy(digest_out, got, DIGEST_LEN);
	if (expected && strcmp(expected, got) != 0) {
		ret = err_set(err, EBADMSG, "digest mismatch for %s: got %s", expected, got);
		goto fail;
	}
	if (fchmod(w->fd, 0644) < 0 || fsync(w->fd) < 0) {
		ret = err_set(err, errno, "write blob %s: %m", got);
		goto fail;
	}
	close(w->fd);
	w->fd = -1;
	blob_path(w->dir, got, dst, sizeof(dst));
	if (rename(w->tmp, dst) < 0) {
		ret = err_set(err, errno, "store blob %s: %m", got);
		unlink(w->tmp);
	}
	return ret;
fail:
	blob_writer_abort(w);
	return ret;
}

int blob_put_fd(const char *dir, int fd, const char *expected, char digest_out[DIGEST_LEN],
		uint64_t *size, struct shoal_err *err)
{
	struct blob_writer w;
	char buf[65536];
	ssize_t n;
	int ret;

	ret = blob_writer_open(&w, dir, err);
	if (ret)
		return ret;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = err_set(err, errno, "read: %m");
			blob_writer_abort(&w);
			return ret;
		}
		ret = blob_writer_write(&w, buf, (size_t)n, err);
		if (ret) {
			blob_writer_abort(&w);
			return ret;
		}
	}
	if (size)
		*size = w.size;
	return blob_writer_commit(&w, expected, digest_out, err);
}

int blob_hash_fd(int fd, char digest_out[DIGEST_LEN], uint64_t *size, struct shoal_err *err)
{
	struct sha256 c;
	char buf[65536];
	uint64_t total = 0;
	ssize_t n;

	sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(err, errno, "read: %m");
		}
		sha256_update(&c, buf, (size_t)n);
		total += (uint64_t)n;
	}
	sha256_final_str(&c, digest_out);
	if (size)
		*size = total;
	return 0;
}

int blob_read(const char *dir, const char *digest, size_t max, char **out, size_t *len,
	      struct shoal_err *err)
{
	_cleanup_close_ int fd = -1;
	char p[4300], *buf;
	struct stat sb;
	size_t got = 0;

	*out = NULL;
	if (blob_path(dir, digest, p, sizeof(p)))
		return err_set(err, EINVAL, "invalid digest %s", digest);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(err, errno, "blob %s: %m", digest);
	if (fstat(fd, &sb) < 0)
		return err_set(err, errno, "blob %s: %m", digest);
	if ((uint64_t)sb.st_size > max)
		return err_set(err, EFBIG, "blob %s is too large (%lld bytes)", digest,
			       (long long)sb.st_size);
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		return err_set(err, ENOMEM, "out of memory");
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			free(buf);
			return err_set(err, n < 0 ? errno : EIO, "read blob %s", digest);
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
	return 0;
}
