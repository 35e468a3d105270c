/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state_images.h - the image store's tables in the state database
 * (schema version 3), used by user/image only.
 *
 *   images        (driver, id)        config digest; exact config bytes,
 *                                     created, size, top layer chain ID
 *   image_layers  (driver, chain_id)  diff ID, parent chain ID, storage
 *                                     layer id, size, blob as received
 *   image_refs    (driver, repo, ref) ref = a tag ("latest") or a
 *                                     manifest digest ("sha256:..."),
 *                                     i.e. RepoTags and RepoDigests
 *
 * An image's layer list is its top layer and the parent links (Docker's
 * layer store does the same); the diff IDs are in its config too.
 * Reference counts are derived, never stored: a layer is in use while an
 * image has it on top or a layer has it as parent; a blob while any row
 * of any driver names it.
 *
 * The caller serialises access (the daemon's state mutex); statements
 * are prepared once per connection and cached in struct st_images.
 * Functions return 0 or -errno and fill *err.
 */
#ifndef SHOAL_STATE_IMAGES_H
#define SHOAL_STATE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct state;
struct st_images;
typedef struct sqlite3 sqlite3;

/* The raw connection of a state store (state.c), for sibling files. */
sqlite3 *state_sqlite(struct state *st);

#define ST_DIGEST_LEN 72 /* "sha256:" + 64 hex + NUL */
#define ST_REPO_LEN 256
#define ST_REF_LEN 130   /* a tag (<= 128) or a digest */

/* Migration 2 -> 3, listed in state.c. Never edit once released. */
#define STATE_IMAGES_MIGRATION_V3                                                         \
	"CREATE TABLE images ("                                                           \
	"  driver TEXT NOT NULL,"                                                         \
	"  id TEXT NOT NULL,"                                                             \
	"  config TEXT NOT NULL,"                                                         \
	"  created INTEGER NOT NULL,"                                                     \
	"  size INTEGER NOT NULL DEFAULT 0,"                                              \
	"  top_layer TEXT NOT NULL DEFAULT '',"                                           \
	"  stored INTEGER NOT NULL,"                                                      \
	"  last_tag_time INTEGER NOT NULL DEFAULT 0,"                                     \
	"  PRIMARY KEY (driver, id)"                                                      \
	");"                                                                              \
	"CREATE INDEX images_top ON images(driver, top_layer);"                           \
	"CREATE TABLE image_layers ("                                                     \
	"  driver TEXT NOT NULL,"                                                         \
	"  chain_id TEXT NOT NULL,"                                                       \
	"  diff_id TEXT NOT NULL,"                                                        \
	"  parent TEXT NOT NULL DEFAULT '',"                                              \
	"  storage_id TEXT NOT NULL,"                                                     \
	"  size INTEGER NOT NULL DEFAULT 0,"                                              \
	"  blob_digest TEXT NOT NULL DEFAULT '',"                                         \
	"  blob_size INTEGER NOT NULL DEFAULT 0,"                                         \
	"  media_type TEXT NOT NULL DEFAULT '',"                                          \
	"  created INTEGER NOT NULL,"                                                     \
	"  PRIMARY KEY (driver, chain_id)"                                                \
	");"                                                                              \
	"CREATE INDEX image_layers_parent ON image_layers(driver, parent);"              \
	"CREATE INDEX image_layers_diff ON image_layers(diff_id);"                       \
	"CREATE INDEX image_layers_blob ON image_layers(blob_digest);"                   \
	"CREATE TABLE image_refs ("                                                       \
	"  driver TEXT NOT NULL,"                                                         \
	"  repo TEXT NOT NULL,"                                                           \
	"  ref TEXT NOT NULL,"                                                            \
	"  image_id TEXT NOT NULL,"                                                       \
	"  created INTEGER NOT NULL,"                                                     \
	"  PRIMARY KEY (driver, repo, ref),"                                              \
	"  FOREIGN KEY (driver, image_id) REFERENCES images(driver, id) ON DELETE CASCADE" \
	");"                                                                              \
	"CREATE INDEX image_refs_image ON image_refs(driver, image_id);"                 \
	"CREATE INDEX image_refs_ref ON image_refs(ref);"

struct st_image {
	char driver[32];
	char id[ST_DIGEST_LEN];
	char *config;         /* exact config bytes (JSON text), malloc'd */
	int64_t created;      /* config "created", unix seconds */
	uint64_t size;        /* sum of the layer sizes */
	char top_layer[ST_DIGEST_LEN]; /* chain ID, "" = no layers */
	int64_t stored;       /* when this store got it */
	int64_t last_tag_time;
};

struct st_layer {
	char driver[32];
	char chain_id[ST_DIGEST_LEN];
	char diff_id[ST_DIGEST_LEN];
	char parent[ST_DIGEST_LEN];   /* chain ID, "" = base */
	char storage_id[65];
	uint64_t size;                /* bytes of the diff */
	char blob_digest[ST_DIGEST_LEN]; /* blob as received ("" = only the diff) */
	uint64_t blob_size;
	char media_type[128];
	int64_t created;
};

struct st_image_ref {
	char repo[ST_REPO_LEN];  /* normalised: "docker.io/library/busybox" */
	char ref[ST_REF_LEN];    /* tag or "sha256:..." */
	char image_id[ST_DIGEST_LEN];
	int64_t created;
};

int st_images_open(struct state *st, struct st_images **out, struct shoal_err *err);
void st_images_close(struct st_images *si);

void st_image_free(struct st_image *im);
void st_image_list_free(struct st_image *v, size_t n);

/* -EEXIST if (driver, id) is there. */
int st_image_insert(struct st_images *si, const struct st_image *im, struct shoal_err *err);
/* -ENOENT "No such image: id". */
int st_image_get(struct st_images *si, const char *driver, const char *id, struct st_image *out,
		 struct shoal_err *err);
/* By a hex prefix of the id ("sha256:" already stripped): -ENOENT, or
 * -EINVAL when ambiguous. */
int st_image_find_prefix(struct st_images *si, const char *driver, const char *hex_prefix,
			 char id_out[ST_DIGEST_LEN], struct shoal_err *err);
int st_image_list(struct st_images *si, const char *driver, struct st_image **out, size_t *n,
		  struct shoal_err *err);
/* Deletes its refs too (cascade). */
int st_image_delete(struct st_images *si, const char *driver, const char *id, struct shoal_err *err);
int st_image_count(struct st_images *si, const char *driver, size_t *n, struct shoal_err *err);
int st_image_set_last_tag_time(struct st_images *si, const char *driver, const char *id,
			       int64_t t, struct shoal_err *err);

int st_layer_insert(struct st_images *si, const struct st_layer *l, struct shoal_err *err);
/* -ENOENT when absent (no message needed by callers, but one is set). */
int st_layer_get(struct st_images *si, const char *driver, const char *chain_id,
		 struct st_layer *out, struct shoal_err *err);
int st_layer_delete(struct st_images *si, const char *driver, const char *chain_id,
		    struct shoal_err *err);
/* Images with it on top + layers with it as parent. */
int st_layer_users(struct st_images *si, const char *driver, const char *chain_id, int64_t *n,
		   struct shoal_err *err);

/* Point (driver, repo, ref) at image_id, replacing what it named; old_id
 * (may be NULL) gets the previous image id or "". */
int st_ref_set(struct st_images *si, const char *driver, const char *repo, const char *ref,
	       const char *image_id, int64_t created, char old_id[ST_DIGEST_LEN],
	       struct shoal_err *err);
/* -ENOENT when absent. */
int st_ref_get(struct st_images *si, const char *driver, const char *repo, const char *ref,
	       char image_id[ST_DIGEST_LEN], struct shoal_err *err);
int st_ref_delete(struct st_images *si, const char *driver, const char *repo, const char *ref,
		  struct shoal_err *err);
/* image_id NULL = every ref of the driver; repo NULL = any repo. *out
 * malloc'd, ordered by repo then ref. */
int st_ref_list(struct st_images *si, const char *driver, const char *image_id, const char *repo,
		struct st_image_ref **out, size_t *n, struct shoal_err *err);

/* Rows of any driver naming a blob digest (config, manifest, layer tar,
 * diff); 0 means the blob file may go. */
int st_blob_users(struct st_images *si, const char *digest, int64_t *n, struct shoal_err *err);

#endif
