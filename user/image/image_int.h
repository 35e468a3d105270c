/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_int.h - what the files of user/image share (and the unit tests
 * reach): references, chain IDs, the blob store, manifests, the store
 * object and its layer/image commit steps. Not for other modules: they
 * use image.h.
 */
#ifndef SHOAL_IMAGE_INT_H
#define SHOAL_IMAGE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "../common/sha256.h"
#include "../state/state_images.h"

#define DIGEST_LEN SHA256_DIGEST_LEN

/* ---- references (ref.c) ---- */

#define REF_DOMAIN_DEFAULT "docker.io"

struct image_ref {
	char domain[256];  /* "docker.io", "127.0.0.1:5000" */
	char path[256];    /* "library/busybox", "a/b" */
	char tag[129];     /* "" with a digest and no tag */
	char digest[DIGEST_LEN]; /* "" or "sha256:..." */
	bool tag_given;    /* false when "latest" was defaulted */
};

/* Docker's grammar (distribution/reference): lowercase path components
 * joined by '/', an optional domain (has '.' or ':' or is localhost),
 * ":tag", "@sha256:<64 hex>". Defaults: docker.io, library/ for
 * single-component Hub names, tag latest when neither tag nor digest.
 * -EINVAL with Docker's wording for bad ones. */
int image_ref_parse(const char *s, struct image_ref *r, struct shoal_err *err);
/* "docker.io/library/busybox" (what state stores as repo). */
void image_ref_name(const struct image_ref *r, char *buf, size_t len);
/* "docker.io/library/busybox" -> "busybox", "docker.io/x/y" -> "x/y". */
void image_name_familiar(const char *name, char *buf, size_t len);
/* True for a 64-hex image id, with or without "sha256:". */
bool image_ref_is_full_id(const char *s);

/* chain(L1) = diff1; chain(Ln) = sha256(chain(Ln-1) + " " + diffn). */
void image_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN]);

/* ---- the blob store (blob.c) ---- */

struct blob_writer {
	int fd;
	char dir[4096];
	char tmp[4200];
	struct sha256 h;
	uint64_t size;
};

/* <dir>/<hex> for a digest; -EINVAL for a malformed digest. */
int blob_path(const char *dir, const char *digest, char *buf, size_t len);
bool blob_exists(const char *dir, const char *digest);
/* A temp file in dir (".tmp-*"), hashed as it is written. */
int blob_writer_open(struct blob_writer *w, const char *dir, struct shoal_err *err);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct shoal_err *err);
/* fsync, check the digest against expected (NULL: any), rename to
 * <dir>/<hex>. A mismatch removes the temp file: -EBADMSG "digest
 * mismatch for <expected>: got <actual>". The writer is closed either
 * way; digest_out (may be NULL) gets the actual digest. */
int blob_writer_commit(struct blob_writer *w, const char *expected, char digest_out[DIGEST_LEN],
		       struct shoal_err *err);
void blob_writer_abort(struct blob_writer *w);
/* Copy fd to EOF into the store (verify against expected unless NULL). */
int blob_put_fd(const char *dir, int fd, const char *expected, char digest_out[DIGEST_LEN],
		uint64_t *size, struct shoal_err *err);
/* sha256 of a whole file. */
int blob_hash_fd(int fd, char digest_out[DIGEST_LEN], uint64_t *size, struct shoal_err *err);
/* Read a whole (small) blob; NUL-terminated, *len without the NUL. */
int blob_read(const char *dir, const char *digest, size_t max, char **out, size_t *len,
	      struct shoal_err *err);

/* ---- manifests and configs (manifest.c) ---- */

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZ "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_FOREIGN_GZ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

struct manifest_layer {
	char digest[DIGEST_LEN];
	char media_type[128];
	int64_t size;
};

struct image_manifest {
	char media_type[128];
	char config_digest[DIGEST_LEN];
	size_t n_layers;
	struct manifest_layer *layers;
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

/* What the JSON is: a manifest or an index/list (media type from the
 * body, else the Content-Type given, else the shape). -EINVAL for schema
 * 1 and unknown types. */
int manifest_kind(const char *body, size_t len, const char *content_type, enum manifest_kind *k,
		  struct shoal_err *err);
int manifest_parse(const char *body, size_t len, struct image_manifest *m, struct shoal_err *err);
void manifest_free(struct image_manifest *m);
/* The entry of an index/list for os/arch (variant ignored unless arm);
 * -ENOENT "no matching manifest for linux/amd64 in the manifest list
 * entries" as Docker. */
int manifest_index_pick(const char *body, size_t len, const char *os, const char *arch,
			char digest_out[DIGEST_LEN], char media_out[128], struct shoal_err *err);
/* config.rootfs.diff_ids, validated (sha256 digests). *ids malloc'd. */
int config_diff_ids(json_t *cfg, char (**ids)[DIGEST_LEN], size_t *n, struct shoal_err *err);
/* RFC 3339 (with fraction and offset) -> unix seconds; -EINVAL. */
int parse_rfc3339(const char *s, int64_t *out);
/* GOARCH of this machine ("amd64", "arm64", ...). */
const char *image_host_arch(void);

/* ---- the store (store.c) ---- */

struct pin {
	char key[DIGEST_LEN];
	int count;
	bool creating; /* a layer being created by its pinner */
};

struct image_store {
	struct state *st;
	pthread_mutex_t *state_lock;
	struct storage_driver *drv;
	char driver[32];
	char root[4096];  /* <data-root>/image */
	char blobs[4200]; /* <root>/blobs/sha256 */
	char tmp[4200];   /* <root>/tmp */
	struct st_images *si;
	/* Pins: chain IDs and blob digests an operation in progress uses,
	 * so rmi leaves them alone; "creating" marks a layer being applied,
	 * so a second puller waits instead of applying it twice. mu is taken
	 * after state_lock, never before it. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pin *pins;
	size_t n_pins, cap_pins;
};

/* What one operation pinned; released by pins_release(). */
struct pinset {
	char (*keys)[DIGEST_LEN];
	size_t n, cap;
};

int store_pin(struct image_store *s, struct pinset *ps, const char *key);
void pins_release(struct image_store *s, struct pinset *ps);

void store_lock(struct image_store *s);
void store_unlock(struct image_store *s);

/*
 * Make layer chain(parent, diff_id) exist: already there -> *existed.
 * Else the received blob (path, digest and media type, or NULL: the
 * blob is the diff itself) is decompressed and hashed into the diff
 * blob (verified against diff_id), and the driver applies it on the
 * parent. chain_out gets the chain ID. Pins what it touches in ps.
 */
struct layer_src {
	const char *blob_digest; /* as received, in the blob store */
	const char *media_type;
	uint64_t blob_size;
};
int store_layer_ensure(struct image_store *s, struct pinset *ps, const char *parent_chain,
		       const char *diff_id, const struct layer_src *src,
		       const struct image_progress *p, const char *short_id, bool *existed,
		       char chain_out[DIGEST_LEN], struct shoal_err *err);

/* The config blob (exact bytes) as image: its id, layers from
 * rootfs.diff_ids (all present already), tags (normalised "repo:tag"
 * strings as image_ref) and a repo digest. *created_new false when the
 * image was already there. */
struct image_commit {
	const char *config;
	size_t config_len;
	const struct image_ref *tags;
	size_t n_tags;
	const char *digest_repo;   /* with manifest_digest: a RepoDigest */
	const char *manifest_digest;
};
int store_image_commit(struct image_store *s, struct pinset *ps, const struct image_commit *c,
		       char id_out[IMAGE_ID_LEN], bool *created_new, struct shoal_err *err);

/* Find an image by ref (tag, digest ref, id or id prefix); state_lock
 * held. */
int store_lookup2(struct image_store *s, const char *ref, char id_out[IMAGE_ID_LEN],
		  bool *by_name, struct image_ref *parsed, struct shoal_err *err);
bool store_pinned(struct image_store *s, const char *key);
int decompress_to_blob(struct image_store *s, int src_fd, const char *expected, bool allow_plain,
		       bool *plain, char diff_out[DIGEST_LEN], uint64_t *size,
		       struct shoal_err *err);
int store_lookup(struct image_store *s, const char *ref, char id_out[IMAGE_ID_LEN],
		 struct shoal_err *err);

void progress(const struct image_progress *p, const char *id, const char *status,
	      uint64_t cur, uint64_t total);
/* "sha256:abcdef..." -> "abcdef012345" (12 hex). */
void short_id(const char *digest, char out[13]);

/* After a failed load/pull/import: drop the layers it created (chains,
 * top first) and the blobs it pinned, when nothing else uses them. Call
 * after pins_release(); takes the locks itself. */
void store_drop_unused(struct image_store *s, char (*chains)[DIGEST_LEN], size_t n_chains,
		       char (*blobs)[DIGEST_LEN], size_t n_blobs);

/* One load/pull/import: what it pinned and which layers it created. */
struct image_op {
	struct pinset ps;
	char (*created)[DIGEST_LEN];
	size_t n_created, cap_created;
};
void op_created(struct image_op *op, const char *chain);
/* Release the pins; on failure drop what the operation left unused. */
void op_finish(struct image_store *s, struct image_op *op, bool failed);

/* Create a private spool directory under <root>/tmp. */
int store_mkspool(struct image_store *s, char *path, size_t len, struct shoal_err *err);
void rm_rf(const char *path);

#endif
