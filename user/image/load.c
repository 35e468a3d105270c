// SPDX-License-Identifier: Apache-2.0
/*
 * load.c - `load` (docker save archives, OCI image layouts) and
 * `import` (a rootfs tarball as a one-layer image).
 *
 * The outer archive (tar or tar.gz/zst) is spooled to a private
 * directory under <data-root>/image/tmp by our own extraction: only
 * regular files and directories are written, each path normalised and
 * refused if absolute or escaping, files opened O_NOFOLLOW. Symlinks and
 * hard links of the archive (older `docker save` links shared layers:
 * <id>/layer.tar -> ../<other>/layer.tar) are never created on disk: they
 * are kept in a table and resolved lexically inside the archive when a
 * file is opened, so nothing can point outside the spool.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image_int.h"
#include "../common/util.h"

#define MAX_JSON_FILE (16u << 20)

struct spool_link {
	char *name;   /* normalised archive path of the link */
	char *target; /* symlink: as written; hard link: archive path */
	bool hard;
};

struct spool {
	char dir[4300];
	int dirfd;
	struct spool_link *links;
	size_t n_links;
};

/* Collapse ".", "..", "//"; -EINVAL if ".." climbs out or the path is
 * absolute or empty. */
static int norm_path(const char *in, char *out, size_t len)
{
	size_t o = 0;
	const char *p = in;

	if (*p == '/')
		return -EINVAL;
	out[0] = '\0';
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (o == 0)
				return -EINVAL;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
		} else {
			if (o + n + 2 >= len)
				return -ENAMETOOLONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
			out[o] = '\0';
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return o ? 0 : -EINVAL;
}

static int mkdirs_at(int dirfd, const char *path, bool last_too)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *s = buf; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdirat(dirfd, buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (last_too && mkdirat(dirfd, buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void spool_free(struct spool *sp)
{
	for (size_t i = 0; i < sp->n_links; i++) {
		free(sp->links[i].name);
		free(sp->links[i].target);
	}
	free(sp->links);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	if (sp->dir[0])
		rm_rf(sp->dir);
	memset(sp, 0, sizeof(*sp));
	sp->dirfd = -1;
}

static int spool_add_link(struct spool *sp, const char *name, const char *target, bool hard)
{
	struct spool_link *nl = realloc(sp->links, (sp->n_links + 1) * sizeof(*nl));

	if (!nl)
		return -ENOMEM;
	sp->links = nl;
	nl = &sp->links[sp->n_links];
	nl->name = strdup(name);
	nl->target = strdup(target);
	nl->hard = hard;
	if (!nl->name || !nl->target) {
		free(nl->name);
		free(nl->target);
		return -ENOMEM;
	}
	sp->n_links++;
	return 0;
}

static int spool_extract(struct image_store *s, int fd, struct spool *sp, struct shoal_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char path[4096], buf[65536];
	int ret = 0, r;

	memset(sp, 0, sizeof(*sp));
	sp->dirfd = -1;
	if (!a)
		return err_set(err, ENOMEM, "out of memory");
	ret = store_mkspool(s, sp->dir, sizeof(sp->dir), err);
	if (ret)
		goto out;
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		ret = err_set(err, errno, "open %s: %m", sp->dir);
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		ret = err_set(err, EINVAL, "invalid archive: %s", archive_error_string(a) ?: "?");
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e), *hl = archive_entry_hardlink(e);
		mode_t type = archive_entry_filetype(e);
		_cleanup_close_ int ofd = -1;
		la_ssize_t n;

		if (!name || norm_path(name, path, sizeof(path))) {
			if (name && (strcmp(name, "./") == 0 || strcmp(name, ".") == 0))
				continue;
			ret = err_set(err, EINVAL, "invalid archive: unsafe path \"%s\"",
				      name ? name : "");
			goto out;
		}
		if (hl) {
			char t[4096];

			if (norm_path(hl, t, sizeof(t))) {
				ret = err_set(err, EINVAL, "invalid archive: unsafe link \"%s\"", hl);
				goto out;
			}
			if (spool_add_link(sp, path, t, true)) {
				ret = err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			continue;
		}
		if (type == AE_IFDIR) {
			if (mkdirs_at(sp->dirfd, path, true) < 0) {
				ret = err_set(err, EINVAL, "invalid archive: cannot create \"%s\"", name);
				goto out;
			}
			continue;
		}
		if (type == AE_IFLNK) {
			if (spool_add_link(sp, path, archive_entry_symlink(e) ?: "", false)) {
				ret = err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			continue;
		}
		if (type != AE_IFREG) {
			ret = err_set(err, EINVAL, "invalid archive: \"%s\" is not a regular file",
				      name);
			goto out;
		}
		if (mkdirs_at(sp->dirfd, path, false) < 0) {
			ret = err_set(err, EINVAL, "invalid archive: cannot create \"%s\"", name);
			goto out;
		}
		ofd = openat(sp->dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			     0600);
		if (ofd < 0) {
			ret = err_set(err, errno, "spool \"%s\": %m", name);
			goto out;
		}
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
			for (la_ssize_t off = 0; off < n;) {
				ssize_t w = write(ofd, buf + off, (size_t)(n - off));

				if (w < 0) {
					ret = err_set(err, errno, "spool \"%s\": %m", name);
					goto out;
				}
				off += w;
			}
		}
		if (n < 0) {
			ret = err_set(err, EINVAL, "invalid archive: %s", archive_error_string(a) ?: "?");
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		ret = err_set(err, EINVAL, "invalid archive: %s", archive_error_string(a) ?: "?");
out:
	archive_read_free(a);
	if (ret)
		spool_free(sp);
	return ret;
}

/* Resolve links lexically; out = the path of a real file in the spool. */
static int spool_resolve(struct spool *sp, const char *path, char *out, size_t len)
{
	char cur[4096], tmp[8300];
	int hops = 0;

	if (norm_path(path, cur, sizeof(cur)))
		return -EINVAL;
	for (;;) {
		bool found = false;

		for (size_t i = 0; i < sp->n_links && !found; i++) {
			struct spool_link *l = &sp->links[i];
			size_t nl = strlen(l->name);

			if (strncmp(cur, l->name, nl) != 0 || (cur[nl] != '\0' && cur[nl] != '/'))
				continue;
			if (l->hard) {
				snprintf(tmp, sizeof(tmp), "%s%s", l->target, cur + nl);
			} else {
				const char *slash = strrchr(l->name, '/');

				if (l->target[0] == '/')
					return -EINVAL;
				snprintf(tmp, sizeof(tmp), "%.*s%s%s%s",
					 slash ? (int)(slash - l->name) : 0, l->name, slash ? "/" : "",
					 l->target, cur + nl);
			}
			if (norm_path(tmp, cur, sizeof(cur)))
				return -EINVAL;
			found = true;
		}
		if (!found)
			break;
		if (++hops > 40)
			return -ELOOP;
	}
	if (strlen(cur) >= len)
		return -ENAMETOOLONG;
	snprintf(out, len, "%s", cur);
	return 0;
}

static int spool_open(struct spool *sp, const char *path, char *real, size_t len,
		      struct shoal_err *err)
{
	char tmp[4096];
	int fd;

	if (!real) {
		real = tmp;
		len = sizeof(tmp);
	}
	if (spool_resolve(sp, path, real, len))
		return err_set(err, EINVAL, "invalid archive: unsafe path \"%s\"", path);
	fd = openat(sp->dirfd, real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno == ELOOP ? EINVAL : errno, "archive member \"%s\": %m", path);
	return fd;
}

static bool spool_has(struct spool *sp, const char *path)
{
	char real[4096];
	struct stat sb;

	return spool_resolve(sp, path, real, sizeof(real)) == 0 &&
	       fstatat(sp->dirfd, real, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
}

static int spool_read(struct spool *sp, const char *path, char **out, size_t *len,
		      struct shoal_err *err)
{
	_cleanup_close_ int fd = spool_open(sp, path, NULL, 0, err);
	struct stat sb;
	char *buf;
	size_t got = 0;

	*out = NULL;
	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) < 0)
		return err_set(err, errno, "%s: %m", path);
	if ((uint64_t)sb.st_size > MAX_JSON_FILE)
		return err_set(err, EFBIG, "archive member \"%s\" is too large", path);
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		return err_set(err, ENOMEM, "out of memory");
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n <= 0) {
			free(buf);
			return err_set(err, EIO, "read %s", path);
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* The digest a member's name promises: blobs/sha256/<hex> or <hex>.json. */
static bool named_digest(const char *path, char out[DIGEST_LEN])
{
	char norm[4096], hex[65];
	const char *base;

	if (norm_path(path, norm, sizeof(norm)))
		return false;
	base = strrchr(norm, '/');
	base = base ? base + 1 : norm;
	if (strncmp(norm, "blobs/sha256/", 13) == 0 && sha256_hex_valid(norm + 13)) {
		snprintf(out, DIGEST_LEN, "sha256:%.64s", norm + 13);
		return true;
	}
	if (strlen(base) == 69 && strcmp(base + 64, ".json") == 0) {
		memcpy(hex, base, 64);
		hex[64] = '\0';
		if (sha256_hex_valid(hex)) {
			snprintf(out, DIGEST_LEN, "sha256:%s", hex);
			return true;
		}
	}
	return false;
}

/* A member into the blob store: hashed in place, then hard-linked (same
 * filesystem) or copied. */
static int spool_to_blob(struct image_store *s, struct spool *sp, const char *path,
			 char digest[DIGEST_LEN], uint64_t *size, struct shoal_err *err)
{
	char real[4096], dst[4300], want[DIGEST_LEN];
	_cleanup_close_ int fd = spool_open(sp, path, real, sizeof(real), err);
	int ret;

	if (fd < 0)
		return fd;
	ret = blob_hash_fd(fd, digest, size, err);
	if (ret)
		return ret;
	if (named_digest(path, want) && strcmp(want, digest) != 0)
		return err_set(err, EBADMSG, "digest mismatch for %s: got %s", want, digest);
	blob_path(s->blobs, digest, dst, sizeof(dst));
	if (linkat(sp->dirfd, real, AT_FDCWD, dst, 0) == 0 || errno == EEXIST)
		return 0;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_set(err, errno, "%s: %m", path);
	return blob_put_fd(s->blobs, fd, digest, NULL, NULL, err);
}

/* Tags of a loaded image, as Docker: "name:tag" strings. */
static int parse_tags(json_t *arr, struct image_ref **out, size_t *n, struct shoal_err *err)
{
	json_t *t;
	size_t i;

	*out = calloc(json_array_size(arr) + 1, sizeof(**out));
	*n = 0;
	if (!*out)
		return err_set(err, ENOMEM, "out of memory");
	json_array_foreach(arr, i, t) {
		const char *s = json_string_value(t);
		int ret;

		if (!s)
			continue;
		ret = image_ref_parse(s, &(*out)[*n], err);
		if (ret)
			return err_wrap(err, "RepoTags");
		if ((*out)[*n].digest[0])
			return err_set(err, EINVAL, "RepoTags: %s is not a tag", s);
		(*n)++;
	}
	return 0;
}

/* One image: config member, layer members, tags. */
static int load_one(struct image_store *s, struct image_op *op, struct spool *sp,
		    const char *config_path, const char *const *layer_paths, size_t n_layers,
		    const struct image_ref *tags, size_t n_tags, const struct image_progress *p,
		    json_t *loaded, struct shoal_err *err)
{
	char (*diffs)[DIGEST_LEN] = NULL, chain[DIGEST_LEN] = "", next[DIGEST_LEN];
	char want[DIGEST_LEN], got[DIGEST_LEN], id[IMAGE_ID_LEN], name[300], sid[13];
	char *cfg_text = NULL;
	size_t cfg_len, n_diffs = 0;
	json_t *cfg = NULL;
	bool fresh;
	int ret;

	ret = spool_read(sp, config_path, &cfg_text, &cfg_len, err);
	if (ret)
		goto out;
	sha256_digest_str(cfg_text, cfg_len, got);
	if (named_digest(config_path, want) && strcmp(want, got) != 0) {
		ret = err_set(err, EBADMSG, "digest mismatch for %s: got %s", want, got);
		goto out;
	}
	cfg = json_loadb(cfg_text, cfg_len, 0, NULL);
	if (!cfg) {
		ret = err_set(err, EINVAL, "invalid image config %s", config_path);
		goto out;
	}
	ret = config_diff_ids(cfg, &diffs, &n_diffs, err);
	if (ret)
		goto out;
	if (n_diffs != n_layers) {
		ret = err_set(err, EINVAL, "invalid manifest: %zu layers for %zu diff_ids", n_layers,
			      n_diffs);
		goto out;
	}
	for (size_t i = 0; i < n_layers; i++) {
		struct layer_src src = { 0 };
		char blob[DIGEST_LEN];
		uint64_t size = 0;
		bool existed;

		image_chain_id(chain, diffs[i], next);
		short_id(diffs[i], sid);
		/* a layer we have is not read again (its content is its id) */
		store_lock(s);
		{
			struct st_layer l;

			existed = st_layer_get(s->si, s->driver, next, &l, NULL) == 0;
		}
		store_unlock(s);
		if (!existed) {
			ret = spool_to_blob(s, sp, layer_paths[i], blob, &size, err);
			if (ret) {
				err_wrap(err, "layer %s", layer_paths[i]);
				goto out;
			}
			ret = store_pin(s, &op->ps, blob);
			if (ret) {
				ret = err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			src.blob_digest = blob;
			src.blob_size = size;
			src.media_type = "";
			progress(p, sid, "Loading layer", 0, size);
		}
		ret = store_layer_ensure(s, &op->ps, chain, diffs[i], existed ? NULL : &src, NULL,
					 sid, &existed, next, err);
		if (ret)
			goto out;
		if (!existed) {
			op_created(op, next);
			progress(p, sid, "Loading layer", size, size);
		}
		memcpy(chain, next, sizeof(chain));
	}
	{
		struct image_commit c = { .config = cfg_text, .config_len = cfg_len, .tags = tags,
					  .n_tags = n_tags };

		ret = store_image_commit(s, &op->ps, &c, id, &fresh, err);
	}
	if (ret)
		goto out;
	if (!n_tags)
		json_array_append_new(loaded, json_string(id));
	for (size_t i = 0; i < n_tags; i++) {
		char full[450];

		image_ref_name(&tags[i], full, sizeof(full));
		image_name_familiar(full, name, sizeof(name));
		snprintf(full, sizeof(full), "%s:%s", name, tags[i].tag);
		json_array_append_new(loaded, json_string(full));
	}
out:
	free(diffs);
	free(cfg_text);
	json_decref(cfg);
	return ret;
}

static int load_docker(struct image_store *s, struct image_op *op, struct spool *sp,
		       const struct image_progress *p, json_t *loaded, struct shoal_err *err)
{
	char *text = NULL;
	size_t len;
	json_t *man = NULL, *e;
	size_t i;
	int ret;

	ret = spool_read(sp, "manifest.json", &text, &len, err);
	if (ret)
		return ret;
	man = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_array(man)) {
		json_decref(man);
		return err_set(err, EINVAL, "invalid archive: manifest.json is not a JSON array");
	}
	json_array_foreach(man, i, e) {
		const char *config = json_string_value(json_object_get(e, "Config"));
		json_t *layers = json_object_get(e, "Layers"), *l;
		const char **paths;
		struct image_ref *tags = NULL;
		size_t n_tags = 0, j;

		if (!config || !json_is_array(layers)) {
			ret = err_set(err, EINVAL, "invalid archive: manifest.json entry %zu", i);
			break;
		}
		paths = calloc(json_array_size(layers) + 1, sizeof(*paths));
		if (!paths) {
			ret = err_set(err, ENOMEM, "out of memory");
			break;
		}
		json_array_foreach(layers, j, l)
			paths[j] = json_string_value(l) ?: "";
		ret = parse_tags(json_object_get(e, "RepoTags"), &tags, &n_tags, err);
		if (!ret)
			ret = load_one(s, op, sp, config, paths, json_array_size(layers), tags, n_tags,
				       p, loaded, err);
		free(paths);
		free(tags);
		if (ret)
			break;
	}
	json_decref(man);
	return ret;
}

/* A manifest or index blob of the layout, checked against its digest. */
static int oci_blob(struct spool *sp, const char *digest, char **text, size_t *len,
		    struct shoal_err *err)
{
	char path[128], got[DIGEST_LEN];
	int ret;

	if (!sha256_digest_valid(digest))
		return err_set(err, EINVAL, "invalid digest \"%s\"", digest);
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	ret = spool_read(sp, path, text, len, err);
	if (ret)
		return ret;
	sha256_digest_str(*text, *len, got);
	if (strcmp(got, digest) != 0) {
		free(*text);
		*text = NULL;
		return err_set(err, EBADMSG, "digest mismatch for %s: got %s", digest, got);
	}
	return 0;
}

static int load_oci_desc(struct image_store *s, struct image_op *op, struct spool *sp, json_t *d,
			 const char *name, const struct image_progress *p, json_t *loaded,
			 int depth, struct shoal_err *err)
{
	const char *digest = json_string_value(json_object_get(d, "digest"));
	struct image_manifest m;
	enum manifest_kind kind;
	struct image_ref tag;
	char *text = NULL, cpath[128], (*lpaths)[128] = NULL;
	const char **paths = NULL;
	size_t len;
	int ret;

	if (depth > 4)
		return err_set(err, EINVAL, "invalid OCI layout: indexes nested too deep");
	ret = oci_blob(sp, digest ? digest : "", &text, &len, err);
	if (ret)
		return ret;
	ret = manifest_kind(text, len, json_string_value(json_object_get(d, "mediaType")), &kind, err);
	if (ret)
		goto out;
	if (kind == MANIFEST_INDEX) {
		char pick[DIGEST_LEN], mt[128];
		json_t *sub;

		ret = manifest_index_pick(text, len, "linux", image_host_arch(), pick, mt, err);
		if (ret)
			goto out;
		sub = json_pack("{s:s, s:s}", "digest", pick, "mediaType", mt);
		ret = load_oci_desc(s, op, sp, sub, name, p, loaded, depth + 1, err);
		json_decref(sub);
		goto out;
	}
	ret = manifest_parse(text, len, &m, err);
	if (ret)
		goto out;
	snprintf(cpath, sizeof(cpath), "blobs/sha256/%s", m.config_digest + 7);
	lpaths = calloc(m.n_layers + 1, sizeof(*lpaths));
	paths = calloc(m.n_layers + 1, sizeof(*paths));
	if (!lpaths || !paths) {
		ret = err_set(err, ENOMEM, "out of memory");
		manifest_free(&m);
		goto out;
	}
	for (size_t i = 0; i < m.n_layers; i++) {
		snprintf(lpaths[i], sizeof(lpaths[i]), "blobs/sha256/%s", m.layers[i].digest + 7);
		paths[i] = lpaths[i];
	}
	if (name && image_ref_parse(name, &tag, NULL) == 0 && !tag.digest[0])
		ret = load_one(s, op, sp, cpath, paths, m.n_layers, &tag, 1, p, loaded, err);
	else
		ret = load_one(s, op, sp, cpath, paths, m.n_layers, NULL, 0, p, loaded, err);
	manifest_free(&m);
out:
	free(lpaths);
	free(paths);
	free(text);
	return ret;
}

static int load_oci(struct image_store *s, struct image_op *op, struct spool *sp,
		    const struct image_progress *p, json_t *loaded, struct shoal_err *err)
{
	char *text = NULL;
	size_t len, i;
	json_t *idx, *d;
	int ret;

	ret = spool_read(sp, "index.json", &text, &len, err);
	if (ret)
		return ret;
	idx = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_array(json_object_get(idx, "manifests"))) {
		json_decref(idx);
		return err_set(err, EINVAL, "invalid OCI layout: index.json has no manifests");
	}
	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		json_t *ann = json_object_get(d, "annotations");
		const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
		const char *rn = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));

		/* ref.name is a full reference only when it looks like one; a
		 * bare tag ("latest") names no repository */
		if (!name && rn && (strchr(rn, '/') || strchr(rn, ':')))
			name = rn;
		ret = load_oci_desc(s, op, sp, d, name, p, loaded, 0, err);
		if (ret)
			break;
	}
	json_decref(idx);
	return ret;
}

int image_load(struct image_store *s, int fd, const struct image_progress *p, json_t **loaded,
	       struct shoal_err *err)
{
	struct image_op op = { 0 };
	struct spool sp;
	json_t *res;
	int ret;

	*loaded = NULL;
	res = json_array();
	if (!res)
		return err_set(err, ENOMEM, "out of memory");
	ret = spool_extract(s, fd, &sp, err);
	if (ret) {
		json_decref(res);
		return ret;
	}
	if (spool_has(&sp, "manifest.json"))
		ret = load_docker(s, &op, &sp, p, res, err);
	else if (spool_has(&sp, "index.json") && spool_has(&sp, "oci-layout"))
		ret = load_oci(s, &op, &sp, p, res, err);
	else if (spool_has(&sp, "repositories"))
		ret = err_set(err, EINVAL,
			      "unsupported archive: legacy (v1) docker save format without manifest.json");
	else
		ret = err_set(err, EINVAL,
			      "invalid archive: neither manifest.json (docker save) nor index.json + oci-layout (OCI layout)");
	op_finish(s, &op, ret != 0);
	spool_free(&sp);
	if (ret) {
		json_decref(res);
		return ret;
	}
	*loaded = res;
	return 0;
}

/* ---- import ---------------------------------------------------------------- */

static void now_rfc3339nano(char buf[48])
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 48, "%s.%09ldZ", base, ts.tv_nsec);
}

int image_import(struct image_store *s, int fd, const char *ref, const char *message,
		 char id_out[IMAGE_ID_LEN], struct shoal_err *err)
{
	struct image_op op = { 0 };
	struct image_ref tag;
	char diff[DIGEST_LEN], chain[DIGEST_LEN], created[48], *text = NULL;
	json_t *cfg = NULL, *hist;
	bool existed, fresh;
	int ret;

	if (ref && *ref) {
		ret = image_ref_parse(ref, &tag, err);
		if (ret)
			return ret;
		if (tag.digest[0])
			return err_set(err, EINVAL, "import: %s: a digest is not a tag", ref);
	}
	ret = decompress_to_blob(s, fd, NULL, false, NULL, diff, NULL, err);
	if (ret)
		return err_wrap(err, "import");
	ret = store_pin(s, &op.ps, diff);
	if (ret) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	ret = store_layer_ensure(s, &op.ps, NULL, diff, NULL, NULL, NULL, &existed, chain, err);
	if (ret)
		goto out;
	if (!existed)
		op_created(&op, chain);
	now_rfc3339nano(created);
	hist = json_pack("{s:s, s:s}", "created", created, "created_by", "shoal import");
	if (message && *message)
		json_object_set_new(hist, "comment", json_string(message));
	cfg = json_pack("{s:s, s:{}, s:s, s:[o], s:s, s:{s:s, s:[s]}}", "architecture",
			image_host_arch(), "config", "created", created, "history", hist, "os",
			"linux", "rootfs", "type", "layers", "diff_ids", diff);
	if (cfg && message && *message)
		json_object_set_new(cfg, "comment", json_string(message));
	text = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!text) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	{
		struct image_commit c = { .config = text, .config_len = strlen(text),
					  .tags = ref && *ref ? &tag : NULL, .n_tags = ref && *ref };

		ret = store_image_commit(s, &op.ps, &c, id_out, &fresh, err);
	}
out:
	op_finish(s, &op, ret != 0);
	free(text);
	json_decref(cfg);
	return ret;
}
