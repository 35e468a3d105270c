// SPDX-License-Identifier: Apache-2.0
/*
 * test_image.c - the image store without root: SHA-256 vectors,
 * references, chain IDs, manifests and configs, the blob store, and the
 * store itself (load, import, save, tag, rmi, list, inspect) on a fake
 * storage driver that only records what it is given.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "../../user/common/sha256.h"
#include "../../user/common/util.h"
#include "../../user/image/image_int.h"
#include "../../user/state/state.h"
#include "../../user/storage/storage.h"

/* ---- SHA-256 ------------------------------------------------------------------ */

static void hex_of(const char *data, size_t len, char out[65])
{
	uint8_t d[32];

	sha256_buf(data, len, d);
	sha256_hex(d, out);
}

TEST(sha256_vectors)
{
	/* FIPS 180-4 examples and the NIST long-message vector */
	static const struct { const char *in, *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	char out[65];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex_of(v[i].in, strlen(v[i].in), out);
		CHECK(strcmp(out, v[i].hex) == 0, v[i].in);
	}
	/* one million 'a', fed in uneven pieces */
	{
		struct sha256 c;
		uint8_t d[32];
		char a[1000];
		size_t done = 0, step = 1;

		memset(a, 'a', sizeof(a));
		sha256_init(&c);
		while (done < 1000000) {
			size_t n = step % 997 + 1;

			if (n > 1000000 - done)
				n = 1000000 - done;
			sha256_update(&c, a, n);
			done += n;
			step = step * 7 + 3;
		}
		sha256_final(&c, d);
		sha256_hex(d, out);
		CHECK(strcmp(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
		      "million a");
	}
	/* every split of lengths around the padding boundary */
	for (size_t len = 50; len < 140; len++) {
		char buf[140], one[65], two[65];
		struct sha256 c;
		uint8_t d[32];

		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(i * 31 + 7);
		hex_of(buf, len, one);
		for (size_t cut = 0; cut <= len; cut += 13) {
			sha256_init(&c);
			sha256_update(&c, buf, cut);
			sha256_update(&c, buf + cut, len - cut);
			sha256_final(&c, d);
			sha256_hex(d, two);
			CHECK(strcmp(one, two) == 0, "split update");
		}
	}
	CHECK(sha256_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	      "valid digest");
	CHECK(!sha256_digest_valid("sha256:E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	      "uppercase hex refused");
	CHECK(!sha256_digest_valid("sha256:e3b0"), "short digest refused");
	CHECK(!sha256_digest_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	      "other algorithm refused");
}

/* ---- references ------------------------------------------------------------- */

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(image_ref_parse_table)
{
	static const struct {
		const char *in, *domain, *path, *tag, *digest;
	} ok[] = {
		{ "busybox", "docker.io", "library/busybox", "latest", "" },
		{ "busybox:1.36", "docker.io", "library/busybox", "1.36", "" },
		{ "library/busybox", "docker.io", "library/busybox", "latest", "" },
		{ "docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", "" },
		{ "index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", "" },
		{ "user/app", "docker.io", "user/app", "latest", "" },
		{ "127.0.0.1:5000/a/b:t", "127.0.0.1:5000", "a/b", "t", "" },
		{ "localhost/x", "localhost", "x", "latest", "" },
		{ "localhost:5000/x:y", "localhost:5000", "x", "y", "" },
		{ "host:5000/a@sha256:" D64, "host:5000", "a", "", "sha256:" D64 },
		{ "a/b:t@sha256:" D64, "docker.io", "a/b", "t", "sha256:" D64 },
		{ "my-reg.example.com/a.b/c__d/e-f", "my-reg.example.com", "a.b/c__d/e-f", "latest", "" },
		{ "sha256:abc", "docker.io", "library/sha256", "abc", "" },
	};
	static const char *bad[] = {
		"", "Busybox", "library/BusyBox", "a:b:c", "a@sha256:123", "a@md5:" D64, D64,
		"a/b:", "a//b", "-a", "a-", "a/b:-t", "a:t a", "host:port/x", "a/..", "a__-b",
		"a:" "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
	};
	struct shoal_err err;
	struct image_ref r;
	char name[300];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int ret = image_ref_parse(ok[i].in, &r, &err);

		CHECK_EQ(ret, 0, ok[i].in);
		if (ret) {
			printf("#   %s: %s\n", ok[i].in, err.msg);
			continue;
		}
		CHECK(strcmp(r.domain, ok[i].domain) == 0, ok[i].in);
		CHECK(strcmp(r.path, ok[i].path) == 0, ok[i].in);
		CHECK(strcmp(r.tag, ok[i].tag) == 0, ok[i].in);
		CHECK(strcmp(r.digest, ok[i].digest) == 0, ok[i].in);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = image_ref_parse(bad[i], &r, &err);

		CHECK_EQ(ret, -EINVAL, bad[i]);
		if (ret == 0)
			printf("#   accepted: %s\n", bad[i]);
	}
	image_ref_parse("Busybox", &r, &err);
	CHECK(strstr(err.msg, "must be lowercase") != NULL, "lowercase message");
	CHECK(!image_ref_parse("busybox", &r, NULL) && !r.tag_given, "default tag not given");
	CHECK(!image_ref_parse("busybox:latest", &r, NULL) && r.tag_given, "explicit tag");

	image_name_familiar("docker.io/library/busybox", name, sizeof(name));
	CHECK(strcmp(name, "busybox") == 0, "familiar library");
	image_name_familiar("docker.io/user/app", name, sizeof(name));
	CHECK(strcmp(name, "user/app") == 0, "familiar user");
	image_name_familiar("docker.io/library/a/b", name, sizeof(name));
	CHECK(strcmp(name, "library/a/b") == 0, "library/ kept on deeper paths");
	image_name_familiar("127.0.0.1:5000/a/b", name, sizeof(name));
	CHECK(strcmp(name, "127.0.0.1:5000/a/b") == 0, "familiar other registry");
	CHECK(image_ref_is_full_id(D64), "hex id");
	CHECK(image_ref_is_full_id("sha256:" D64), "prefixed id");
	CHECK(!image_ref_is_full_id("0123"), "short id is not full");
}

TEST(image_chain_ids)
{
	/* diff ids sha256("a"), sha256("b"), sha256("c"); expectations from
	 *   printf 'sha256:<a> sha256:<b>' | sha256sum            -> chain 2
	 *   printf 'sha256:<chain 2> sha256:<c>' | sha256sum      -> chain 3 */
	const char *da = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
	const char *db = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
	char dc[DIGEST_LEN], c1[DIGEST_LEN], c2[DIGEST_LEN], c3[DIGEST_LEN];

	sha256_digest_str("c", 1, dc);
	image_chain_id(NULL, da, c1);
	CHECK(strcmp(c1, da) == 0, "chain of the base layer is its diff id");
	image_chain_id("", da, c1);
	CHECK(strcmp(c1, da) == 0, "empty parent");
	image_chain_id(c1, db, c2);
	CHECK(strcmp(c2, "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676") == 0,
	      "chain 2");
	image_chain_id(c2, dc, c3);
	CHECK(strcmp(c3, "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106") == 0,
	      "chain 3");
}

/* ---- manifests ---------------------------------------------------------------- */

TEST(image_manifests)
{
	const char *m2 =
		"{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
		"\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":10,\"digest\":\"sha256:" D64 "\"},"
		"\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER_GZ "\",\"size\":5,\"digest\":\"sha256:" D64 "\"},"
		"{\"mediaType\":\"" MT_OCI_LAYER_ZSTD "\",\"size\":7,\"digest\":\"sha256:" D64 "\"}]}";
	const char *idx =
		"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
		"{\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
		"\"mediaType\":\"" MT_OCI_MANIFEST "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
		"{\"digest\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\","
		"\"mediaType\":\"" MT_OCI_MANIFEST "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";
	struct image_manifest m;
	enum manifest_kind k;
	struct shoal_err err;
	char dg[DIGEST_LEN], mt[128], (*ids)[DIGEST_LEN];
	size_t n;
	json_t *cfg;
	int64_t t;

	CHECK_EQ(manifest_kind(m2, strlen(m2), NULL, &k, &err), 0, "schema 2 kind");
	CHECK_EQ(k, MANIFEST_IMAGE, "schema 2 is an image");
	CHECK_EQ(manifest_parse(m2, strlen(m2), &m, &err), 0, "parse schema 2");
	CHECK_EQ(m.n_layers, 2, "two layers");
	CHECK(strcmp(m.config_digest, "sha256:" D64) == 0, "config digest");
	CHECK(m.n_layers == 2 && strcmp(m.layers[1].media_type, MT_OCI_LAYER_ZSTD) == 0, "media type");
	CHECK(m.n_layers == 2 && m.layers[0].size == 5, "size");
	manifest_free(&m);
	CHECK_EQ(manifest_kind(idx, strlen(idx), NULL, &k, &err), 0, "index kind");
	CHECK_EQ(k, MANIFEST_INDEX, "index");
	CHECK_EQ(manifest_index_pick(idx, strlen(idx), "linux", "amd64", dg, mt, &err), 0, "pick");
	CHECK(strncmp(dg, "sha256:2222", 11) == 0, "amd64 entry picked");
	CHECK_EQ(manifest_index_pick(idx, strlen(idx), "linux", "s390x", dg, mt, &err), -ENOENT,
		 "no s390x");
	CHECK(strstr(err.msg, "no matching manifest for linux/s390x") != NULL, "Docker's message");
	CHECK_EQ(manifest_kind(s1, strlen(s1), NULL, &k, &err), -EINVAL, "schema 1 refused");
	CHECK_EQ(manifest_kind("[]", 2, NULL, &k, &err), -EINVAL, "not an object");
	CHECK_EQ(manifest_parse("{\"config\":{\"digest\":\"sha256:12\"},\"layers\":[]}", 44, &m, &err),
		 -EINVAL, "bad config digest");

	cfg = json_loads("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" D64 "\"]}}", 0, NULL);
	CHECK_EQ(config_diff_ids(cfg, &ids, &n, &err), 0, "diff ids");
	CHECK_EQ(n, 1, "one diff id");
	free(ids);
	json_decref(cfg);
	cfg = json_loads("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:12\"]}}", 0, NULL);
	CHECK_EQ(config_diff_ids(cfg, &ids, &n, &err), -EINVAL, "bad diff id");
	json_decref(cfg);
	cfg = json_loads("{\"rootfs\":{\"type\":\"other\"}}", 0, NULL);
	CHECK_EQ(config_diff_ids(cfg, &ids, &n, &err), -EINVAL, "bad rootfs type");
	json_decref(cfg);

	CHECK(parse_rfc3339("1970-01-01T00:00:00Z", &t) == 0 && t == 0, "epoch");
	CHECK(parse_rfc3339("2023-05-18T22:34:17.123456789Z", &t) == 0 && t == 1684449257, "nanos");
	CHECK(parse_rfc3339("2023-05-19T00:34:17+02:00", &t) == 0 && t == 1684449257, "offset");
	CHECK(parse_rfc3339("yesterday", &t) == -EINVAL, "garbage");
}

/* ---- blob store --------------------------------------------------------------- */

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

TEST(image_blob_store)
{
	struct blob_writer w;
	struct shoal_err err;
	char dir[64], dg[DIGEST_LEN], want[DIGEST_LEN], *text;
	size_t len;

	if (unit_tmpdir(dir) < 0)
		SKIP("no tmpdir");
	sha256_digest_str("hello", 5, want);
	CHECK_EQ(blob_writer_open(&w, dir, &err), 0, "open");
	CHECK_EQ(blob_writer_write(&w, "hel", 3, &err), 0, "write 1");
	CHECK_EQ(blob_writer_write(&w, "lo", 2, &err), 0, "write 2");
	CHECK_EQ(blob_writer_commit(&w, want, dg, &err), 0, "commit");
	CHECK(strcmp(dg, want) == 0, "digest");
	CHECK(blob_exists(dir, want), "exists");
	CHECK_EQ(blob_read(dir, want, 100, &text, &len, &err), 0, "read");
	CHECK(len == 5 && memcmp(text, "hello", 5) == 0, "content");
	free(text);
	CHECK_EQ(count_files(dir), 1, "one file");

	/* a mismatch leaves nothing behind */
	CHECK_EQ(blob_writer_open(&w, dir, &err), 0, "open 2");
	CHECK_EQ(blob_writer_write(&w, "hellO", 5, &err), 0, "write tampered");
	CHECK_EQ(blob_writer_commit(&w, want, NULL, &err), -EBADMSG, "mismatch");
	CHECK(strncmp(err.msg, "digest mismatch for sha256:2cf24dba", 35) == 0, err.msg);
	CHECK(strstr(err.msg, ": got sha256:") != NULL, "names the actual digest");
	CHECK_EQ(count_files(dir), 1, "still one file");
	CHECK_EQ(blob_read(dir, "sha256:" D64, 100, &text, &len, &err), -ENOENT, "absent blob");
	unit_rmrf(dir);
}

/* ---- the store, on a fake driver ---------------------------------------------- */

/* The fake driver keeps <home>/<id>/{parent,diff} files: enough to see
 * what the store asked for. */
static int fake_init(struct storage_driver *d, struct shoal_err *e)
{
	(void)e;
	return util_mkdir_p(d->home, 0700);
}
static void fake_cleanup(struct storage_driver *d) { (void)d; }
static json_t *fake_status(struct storage_driver *d) { (void)d; return json_array(); }
static int fake_create(struct storage_driver *d, const char *id, const char *parent, bool rw,
		       const char *size, struct shoal_err *e)
{
	char p[4400];

	(void)rw;
	(void)size;
	snprintf(p, sizeof(p), "%s/%s", d->home, id);
	if (mkdir(p, 0700) < 0)
		return err_set(e, errno, "fake create %s: %m", id);
	snprintf(p, sizeof(p), "%s/%s/parent", d->home, id);
	return unit_write_file(p, parent ? parent : "");
}
static int fake_remove(struct storage_driver *d, const char *id, struct shoal_err *e)
{
	char p[4400];

	(void)e;
	snprintf(p, sizeof(p), "%s/%s", d->home, id);
	unit_rmrf(p);
	return 0;
}
static int fake_get(struct storage_driver *d, const char *id, char *path, size_t len,
		    struct shoal_err *e)
{
	(void)e;
	snprintf(path, len, "%s/%s", d->home, id);
	return 0;
}
static int fake_put(struct storage_driver *d, const char *id, struct shoal_err *e)
{
	(void)d, (void)id, (void)e;
	return 0;
}
static bool fake_exists(struct storage_driver *d, const char *id)
{
	char p[4400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", d->home, id);
	return stat(p, &sb) == 0;
}
static int fake_apply(struct storage_driver *d, const char *id, const char *parent, int fd,
		      uint64_t *size, struct shoal_err *e)
{
	char p[4400], buf[4096];
	uint64_t n = 0;
	ssize_t r;
	FILE *f;

	(void)parent;
	snprintf(p, sizeof(p), "%s/%s/diff", d->home, id);
	f = fopen(p, "we");
	if (!f)
		return err_set(e, errno, "fake apply: %m");
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)r, f);
		n += (uint64_t)r;
	}
	fclose(f);
	*size = n;
	return 0;
}
static int fake_diff_size(struct storage_driver *d, const char *id, const char *parent,
			  uint64_t *size, struct shoal_err *e)
{
	(void)d, (void)id, (void)parent, (void)e;
	*size = 0;
	return 0;
}

static const struct storage_ops fake_ops = {
	.name = "fake", .init = fake_init, .cleanup = fake_cleanup, .status = fake_status,
	.create = fake_create, .remove = fake_remove, .get = fake_get, .put = fake_put,
	.exists = fake_exists, .apply_diff = fake_apply, .diff_size = fake_diff_size,
};

struct sfix {
	char dir[64];
	struct state *st;
	pthread_mutex_t lock;
	struct storage_driver drv;
	struct image_store *s;
	struct shoal_err err;
};

static int sfix_open(struct sfix *f)
{
	char db[128];

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	if (unit_tmpdir(f->dir) < 0)
		return -1;
	snprintf(db, sizeof(db), "%s/shoal.db", f->dir);
	f->drv.ops = &fake_ops;
	snprintf(f->drv.data_root, sizeof(f->drv.data_root), "%s", f->dir);
	snprintf(f->drv.home, sizeof(f->drv.home), "%s/fake", f->dir);
	if (state_open(&f->st, db, &f->err) || fake_init(&f->drv, &f->err) ||
	    image_store_open(&f->s, f->st, &f->lock, &f->drv, f->dir, &f->err)) {
		printf("#   open: %s\n", f->err.msg);
		return -1;
	}
	return 0;
}

static void sfix_close(struct sfix *f)
{
	image_store_close(f->s);
	state_close(f->st);
	unit_rmrf(f->dir);
	pthread_mutex_destroy(&f->lock);
}

/* A tar in memory, built with libarchive. */
struct tarbuf {
	struct archive *a;
	char *buf;
	size_t len, cap;
};

static la_ssize_t tb_write(struct archive *a, void *arg, const void *data, size_t n)
{
	struct tarbuf *t = arg;

	(void)a;
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2;
		t->buf = realloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	return (la_ssize_t)n;
}

static void tb_open(struct tarbuf *t, const char *filter)
{
	memset(t, 0, sizeof(*t));
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	if (filter && strcmp(filter, "gzip") == 0)
		archive_write_add_filter_gzip(t->a);
	if (filter && strcmp(filter, "zstd") == 0)
		archive_write_add_filter_zstd(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	archive_write_open(t->a, t, NULL, tb_write, NULL);
}

static void tb_add(struct tarbuf *t, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_write_header(t->a, e);
	archive_write_data(t->a, data, len);
	archive_entry_free(e);
}

static void tb_symlink(struct tarbuf *t, const char *name, const char *target)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_perm(e, 0777);
	archive_entry_set_symlink(e, target);
	archive_write_header(t->a, e);
	archive_entry_free(e);
}

static void tb_close(struct tarbuf *t)
{
	archive_write_close(t->a);
	archive_write_free(t->a);
	t->a = NULL;
}

static int fd_of(const char *dir, const char *name, const void *data, size_t len)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, data, len) != (ssize_t)len) {
			close(fd);
			return -1;
		}
		lseek(fd, 0, SEEK_SET);
	}
	return fd;
}

/* A two-layer image in docker save layout; layer 2 differs by variant. */
struct testimg {
	struct tarbuf l1, l2, outer;
	char d1[DIGEST_LEN], d2[DIGEST_LEN], id[DIGEST_LEN];
	char *config;
};

static void make_layer(struct tarbuf *t, const char *name, const char *content, const char *filter)
{
	tb_open(t, filter);
	tb_add(t, name, content, strlen(content));
	tb_close(t);
}

static void make_image(struct testimg *m, const char *variant, const char *tag, bool oci,
		       const char *outer_filter, bool tamper)
{
	char path[200], mf[2000], l1hex[65], l2hex[65];
	json_t *cfg;

	memset(m, 0, sizeof(*m));
	make_layer(&m->l1, "etc/base", "base layer", NULL);
	make_layer(&m->l2, "etc/variant", variant, NULL);
	sha256_digest_str(m->l1.buf, m->l1.len, m->d1);
	sha256_digest_str(m->l2.buf, m->l2.len, m->d2);
	cfg = json_pack("{s:s, s:s, s:s, s:{s:[s], s:[s], s:{s:s}}, s:{s:s, s:[s, s]}}",
			"architecture", "amd64", "os", "linux", "created", "2020-01-02T03:04:05Z",
			"config", "Env", "PATH=/bin", "Cmd", "sh", "Labels", "variant", variant,
			"rootfs", "type", "layers", "diff_ids", m->d1, m->d2);
	m->config = json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	sha256_digest_str(m->config, strlen(m->config), m->id);
	snprintf(l1hex, sizeof(l1hex), "%s", m->d1 + 7);
	snprintf(l2hex, sizeof(l2hex), "%s", m->d2 + 7);
	tb_open(&m->outer, outer_filter);
	if (!oci) {
		snprintf(path, sizeof(path), "%s.json", m->id + 7);
		tb_add(&m->outer, path, m->config, strlen(m->config));
		snprintf(path, sizeof(path), "%s/layer.tar", l1hex);
		tb_add(&m->outer, path, m->l1.buf, m->l1.len);
		snprintf(path, sizeof(path), "%s/layer.tar", l2hex);
		if (tamper)
			m->l2.buf[600] ^= 1;
		tb_add(&m->outer, path, m->l2.buf, m->l2.len);
		snprintf(mf, sizeof(mf),
			 "[{\"Config\":\"%s.json\",\"RepoTags\":%s%s%s,\"Layers\":[\"%s/layer.tar\",\"%s/layer.tar\"]}]",
			 m->id + 7, tag ? "[\"" : "", tag ? tag : "null", tag ? "\"]" : "", l1hex, l2hex);
		tb_add(&m->outer, "manifest.json", mf, strlen(mf));
	} else {
		char man[2000], mdg[DIGEST_LEN], idx[2000];

		snprintf(man, sizeof(man),
			 "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
			 "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
			 "\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu},"
			 "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu}]}",
			 m->id, strlen(m->config), m->d1, m->l1.len, m->d2, m->l2.len);
		sha256_digest_str(man, strlen(man), mdg);
		snprintf(idx, sizeof(idx),
			 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\","
			 "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"io.containerd.image.name\":\"%s\","
			 "\"org.opencontainers.image.ref.name\":\"1\"}}]}",
			 mdg, strlen(man), tag ? tag : "");
		tb_add(&m->outer, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
		tb_add(&m->outer, "index.json", idx, strlen(idx));
		snprintf(path, sizeof(path), "blobs/sha256/%s", mdg + 7);
		tb_add(&m->outer, path, man, strlen(man));
		snprintf(path, sizeof(path), "blobs/sha256/%s", m->id + 7);
		tb_add(&m->outer, path, m->config, strlen(m->config));
		snprintf(path, sizeof(path), "blobs/sha256/%s", l1hex);
		tb_add(&m->outer, path, m->l1.buf, m->l1.len);
		snprintf(path, sizeof(path), "blobs/sha256/%s", l2hex);
		tb_add(&m->outer, path, m->l2.buf, m->l2.len);
	}
	tb_close(&m->outer);
}

static void free_image(struct testimg *m)
{
	free(m->l1.buf);
	free(m->l2.buf);
	free(m->outer.buf);
	free(m->config);
}

static int load_img(struct sfix *f, struct testimg *m, json_t **loaded)
{
	int fd = fd_of(f->dir, "in.tar", m->outer.buf, m->outer.len), ret;

	ret = image_load(f->s, fd, NULL, loaded, &f->err);
	close(fd);
	if (ret)
		printf("#   load: %s\n", f->err.msg);
	return ret;
}

static int n_layers(struct sfix *f)
{
	return count_files(f->drv.home);
}

static int n_blobs(struct sfix *f)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/image/blobs/sha256", f->dir);
	return count_files(p);
}

TEST(image_store_load_share_rmi)
{
	struct testimg a, b;
	struct sfix f;
	json_t *loaded = NULL, *list = NULL, *ins = NULL, *out = NULL;
	char id[IMAGE_ID_LEN], top[65], chain2[DIGEST_LEN];
	json_t *cfg = NULL;
	size_t n;

	if (sfix_open(&f))
		SKIP("store did not open");
	make_image(&a, "a", "t/a:1", false, NULL, false);
	make_image(&b, "b", "t/b:1", false, "gzip", false);

	CHECK_EQ(load_img(&f, &a, &loaded), 0, "load a");
	CHECK(loaded && strcmp(json_string_value(json_array_get(loaded, 0)), "t/a:1") == 0,
	      "Loaded image: t/a:1");
	json_decref(loaded);
	CHECK_EQ(n_layers(&f), 2, "two layers");
	/* blobs: config, two diffs (uncompressed layers are their own diff) */
	CHECK_EQ(n_blobs(&f), 3, "three blobs");

	CHECK_EQ(load_img(&f, &b, &loaded), 0, "load b (gzip outer)");
	json_decref(loaded);
	CHECK_EQ(n_layers(&f), 3, "base stored once");

	/* image_resolve: top layer is chain(d1, d2) hex */
	CHECK_EQ(image_resolve(f.s, "t/a:1", id, &cfg, top, &f.err), 0, "resolve");
	image_chain_id(a.d1, a.d2, chain2);
	CHECK(strcmp(id, a.id) == 0, "id is the config digest");
	CHECK(strcmp(top, chain2 + 7) == 0, "top layer is the chain id");
	CHECK(json_is_object(json_object_get(cfg, "config")), "config returned");
	json_decref(cfg);

	/* list */
	CHECK_EQ(image_list_json(f.s, false, NULL, &list, &f.err), 0, "list");
	CHECK_EQ(json_array_size(list), 2, "two images");
	{
		json_t *e = json_array_get(list, 0);

		CHECK(json_integer_value(json_object_get(e, "Created")) == 1577934245, "Created");
		CHECK(json_integer_value(json_object_get(e, "SharedSize")) == -1, "SharedSize");
		CHECK(json_integer_value(json_object_get(e, "Size")) > 0, "Size");
		CHECK(json_is_object(json_object_get(e, "Labels")), "Labels");
	}
	json_decref(list);
	{
		json_t *flt = json_pack("{s:{s:b}}", "reference", "t/a*", 1);

		CHECK_EQ(image_list_json(f.s, false, flt, &list, &f.err), 0, "list reference=t/a*");
		CHECK_EQ(json_array_size(list), 1, "one match");
		json_decref(list);
		json_decref(flt);
		flt = json_pack("{s:[s]}", "label", "variant=b");
		CHECK_EQ(image_list_json(f.s, false, flt, &list, &f.err), 0, "list label");
		CHECK(json_array_size(list) == 1 &&
			      strcmp(json_string_value(json_object_get(json_array_get(list, 0), "Id")),
				     b.id) == 0,
		      "label filter");
		json_decref(list);
		json_decref(flt);
		flt = json_pack("{s:{s:b}}", "bogus", "x", 1);
		CHECK_EQ(image_list_json(f.s, false, flt, &list, &f.err), -EINVAL, "unknown filter");
		json_decref(flt);
	}

	/* inspect */
	CHECK_EQ(image_inspect_json(f.s, "t/a:1", &ins, &f.err), 0, "inspect");
	CHECK(strcmp(json_string_value(json_object_get(ins, "Id")), a.id) == 0, "Id");
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(ins, "GraphDriver"), "Name")),
		     "fake") == 0,
	      "GraphDriver.Name");
	CHECK_EQ(json_array_size(json_object_get(json_object_get(ins, "RootFS"), "Layers")), 2,
		 "RootFS.Layers");
	CHECK(strcmp(json_string_value(json_object_get(ins, "Created")), "2020-01-02T03:04:05Z") == 0,
	      "Created");
	CHECK(strcmp(json_string_value(json_array_get(json_object_get(ins, "RepoTags"), 0)), "t/a:1") == 0,
	      "RepoTags");
	json_decref(ins);
	/* by short id and by full id */
	{
		char sid[13];

		short_id(a.id, sid);
		CHECK_EQ(image_inspect_json(f.s, sid, &ins, &f.err), 0, "inspect short id");
		json_decref(ins);
		CHECK_EQ(image_inspect_json(f.s, a.id, &ins, &f.err), 0, "inspect full id");
		json_decref(ins);
		CHECK_EQ(image_inspect_json(f.s, "nosuch:1", &ins, &f.err), -ENOENT, "no such");
		CHECK(strcmp(f.err.msg, "No such image: nosuch:1") == 0, f.err.msg);
	}

	/* tag; rmi by id with two names needs force */
	CHECK_EQ(image_tag(f.s, "t/a:1", "127.0.0.1:5000/x/y", "2", &f.err), 0, "tag");
	CHECK_EQ(image_remove(f.s, a.id, false, NULL, NULL, &out, &f.err), -EBUSY, "rmi id refused");
	CHECK(strstr(f.err.msg, "must be forced") != NULL, f.err.msg);
	CHECK_EQ(image_remove(f.s, "127.0.0.1:5000/x/y:2", false, NULL, NULL, &out, &f.err), 0,
		 "rmi tag");
	CHECK(json_array_size(out) == 1 &&
		      strcmp(json_string_value(json_object_get(json_array_get(out, 0), "Untagged")),
			     "127.0.0.1:5000/x/y:2") == 0,
	      "only untagged");
	json_decref(out);
	CHECK_EQ(n_layers(&f), 3, "nothing deleted");

	/* rmi t/a:1: untag + delete image + its unshared top layer */
	CHECK_EQ(image_remove(f.s, "t/a:1", false, NULL, NULL, &out, &f.err), 0, "rmi a");
	CHECK_EQ(json_array_size(out), 3, "Untagged, Deleted image, Deleted top layer");
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(out, 1), "Deleted")), a.id) == 0,
	      "Deleted id");
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(out, 2), "Deleted")), chain2) == 0,
	      "Deleted chain id");
	json_decref(out);
	CHECK_EQ(n_layers(&f), 2, "shared base kept");
	CHECK_EQ(image_count(f.s, &n, &f.err), 0, "count");
	CHECK_EQ(n, 1, "one image left");
	CHECK_EQ(image_remove(f.s, "t/b:1", false, NULL, NULL, &out, &f.err), 0, "rmi b");
	json_decref(out);
	CHECK_EQ(n_layers(&f), 0, "all layers gone");
	CHECK_EQ(n_blobs(&f), 0, "all blobs gone");

	free_image(&a);
	free_image(&b);
	sfix_close(&f);
}

static bool always_used(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return true;
}

TEST(image_store_in_use_and_reload)
{
	struct testimg a;
	struct sfix f;
	json_t *loaded = NULL, *out = NULL;
	char before[32];

	if (sfix_open(&f))
		SKIP("store did not open");
	make_image(&a, "a", "t/a:1", false, NULL, false);
	CHECK_EQ(load_img(&f, &a, &loaded), 0, "load");
	json_decref(loaded);
	snprintf(before, sizeof(before), "%d/%d", n_layers(&f), n_blobs(&f));
	CHECK_EQ(load_img(&f, &a, &loaded), 0, "load again");
	json_decref(loaded);
	{
		char now[32];

		snprintf(now, sizeof(now), "%d/%d", n_layers(&f), n_blobs(&f));
		CHECK(strcmp(before, now) == 0, "nothing stored twice");
	}
	CHECK_EQ(image_remove(f.s, "t/a:1", false, always_used, NULL, &out, &f.err), -EBUSY,
		 "in use refused");
	CHECK(strstr(f.err.msg, "must force") != NULL, f.err.msg);
	CHECK_EQ(image_remove(f.s, "t/a:1", true, always_used, NULL, &out, &f.err), 0, "forced");
	CHECK_EQ(json_array_size(out), 1, "untagged only");
	json_decref(out);
	CHECK_EQ(n_layers(&f), 2, "layers kept under a container");
	CHECK_EQ(image_remove(f.s, a.id, false, NULL, NULL, &out, &f.err), 0, "dangling by id");
	json_decref(out);
	CHECK_EQ(n_layers(&f), 0, "then deleted");
	free_image(&a);
	sfix_close(&f);
}

TEST(image_store_oci_and_tamper)
{
	struct testimg a, t;
	struct sfix f;
	json_t *loaded = NULL, *list = NULL;

	if (sfix_open(&f))
		SKIP("store did not open");
	make_image(&a, "a", "oci/busybox:1", true, NULL, false);
	CHECK_EQ(load_img(&f, &a, &loaded), 0, "load OCI layout");
	CHECK(loaded && strcmp(json_string_value(json_array_get(loaded, 0)), "oci/busybox:1") == 0,
	      "tag from io.containerd.image.name");
	json_decref(loaded);
	CHECK_EQ(n_layers(&f), 2, "two layers");
	json_decref(list);

	/* tampered layer 2: its digest is not the config's diff id */
	make_image(&t, "tampered", "t/t:1", false, NULL, true);
	CHECK_EQ(load_img(&f, &t, &loaded), -EBADMSG, "tampered refused");
	CHECK(strstr(f.err.msg, "digest mismatch for") != NULL, f.err.msg);
	CHECK_EQ(n_layers(&f), 2, "no layer left behind");
	CHECK_EQ(n_blobs(&f), 3, "no blob left behind (the OCI image: config and 2 diffs)");
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/image/tmp", f.dir);
		CHECK_EQ(count_files(p), 0, "spool removed");
	}
	/* garbage and path tricks */
	{
		struct tarbuf e;
		int fd;

		tb_open(&e, NULL);
		tb_add(&e, "../evil", "x", 1);
		tb_close(&e);
		fd = fd_of(f.dir, "evil.tar", e.buf, e.len);
		CHECK_EQ(image_load(f.s, fd, NULL, &loaded, &f.err), -EINVAL, "dot-dot refused");
		close(fd);
		free(e.buf);
		tb_open(&e, NULL);
		tb_symlink(&e, "manifest.json", "/etc/passwd");
		tb_close(&e);
		fd = fd_of(f.dir, "evil.tar", e.buf, e.len);
		CHECK_EQ(image_load(f.s, fd, NULL, &loaded, &f.err), -EINVAL, "absolute symlink refused");
		close(fd);
		free(e.buf);
		fd = fd_of(f.dir, "junk", "not a tar at all", 16);
		CHECK_EQ(image_load(f.s, fd, NULL, &loaded, &f.err), -EINVAL, "junk refused");
		close(fd);
	}
	free_image(&a);
	free_image(&t);
	sfix_close(&f);
}

TEST(image_store_save_roundtrip_import)
{
	struct testimg a, b;
	struct sfix f, g;
	json_t *loaded = NULL, *ins = NULL;
	const char *refs[] = { "t/a:1", "t/b:1" };
	char p[128], id[IMAGE_ID_LEN];
	int fd;

	if (sfix_open(&f) || sfix_open(&g))
		SKIP("store did not open");
	make_image(&a, "a", "t/a:1", false, NULL, false);
	make_image(&b, "b", "t/b:1", true, "gzip", false);
	CHECK_EQ(load_img(&f, &a, &loaded), 0, "load a");
	json_decref(loaded);
	CHECK_EQ(load_img(&f, &b, &loaded), 0, "load b");
	json_decref(loaded);
	snprintf(p, sizeof(p), "%s/save.tar", f.dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK_EQ(image_save(f.s, refs, 2, fd, &f.err), 0, "save");
	lseek(fd, 0, SEEK_SET);
	CHECK_EQ(image_load(g.s, fd, NULL, &loaded, &g.err), 0, "load the save elsewhere");
	close(fd);
	CHECK_EQ(json_array_size(loaded), 2, "both loaded");
	json_decref(loaded);
	CHECK_EQ(image_resolve(g.s, "t/a:1", id, NULL, p, &g.err), 0, "a there");
	CHECK(strcmp(id, a.id) == 0, "same id a");
	CHECK_EQ(image_resolve(g.s, "t/b:1", id, NULL, p, &g.err), 0, "b there");
	CHECK(strcmp(id, b.id) == 0, "same id b");
	CHECK_EQ(n_layers(&g), 3, "shared base once after the round trip");

	/* save of an id: RepoTags null; of an unknown name: ENOENT */
	{
		const char *r1[] = { "nosuch:1" };

		fd = fd_of(f.dir, "x.tar", "", 0);
		CHECK_EQ(image_save(f.s, r1, 1, fd, &f.err), -ENOENT, "save unknown");
		close(fd);
	}

	/* import: a gzip'd rootfs, then the same zstd'd: the same layer */
	{
		struct tarbuf gz, zs;
		char id2[IMAGE_ID_LEN];
		json_t *rl;

		make_layer(&gz, "hello", "world", "gzip");
		make_layer(&zs, "hello", "world", "zstd");
		fd = fd_of(f.dir, "root.tgz", gz.buf, gz.len);
		CHECK_EQ(image_import(f.s, fd, "imported:1", "made by a test", id, &f.err), 0, "import");
		close(fd);
		CHECK_EQ(image_inspect_json(f.s, "imported:1", &ins, &f.err), 0, "inspect import");
		CHECK(strcmp(json_string_value(json_object_get(ins, "Comment")), "made by a test") == 0,
		      "Comment");
		CHECK(strcmp(json_string_value(json_object_get(ins, "Os")), "linux") == 0, "Os");
		rl = json_object_get(json_object_get(ins, "RootFS"), "Layers");
		{
			struct tarbuf plain;
			char want[DIGEST_LEN];

			make_layer(&plain, "hello", "world", NULL);
			sha256_digest_str(plain.buf, plain.len, want);
			CHECK(json_array_size(rl) == 1 &&
				      strcmp(json_string_value(json_array_get(rl, 0)), want) == 0,
			      "diff id = sha256 of the uncompressed tar");
			free(plain.buf);
		}
		json_decref(ins);
		fd = fd_of(f.dir, "root.tzst", zs.buf, zs.len);
		CHECK_EQ(image_import(f.s, fd, NULL, NULL, id2, &f.err), 0, "import zstd");
		close(fd);
		free(gz.buf);
		free(zs.buf);
	}
	free_image(&a);
	free_image(&b);
	sfix_close(&f);
	sfix_close(&g);
}

void unit_image_tests(void)
{
	RUN(sha256_vectors);
	RUN(image_ref_parse_table);
	RUN(image_chain_ids);
	RUN(image_manifests);
	RUN(image_blob_store);
	RUN(image_store_load_share_rmi);
	RUN(image_store_in_use_and_reload);
	RUN(image_store_oci_and_tamper);
	RUN(image_store_save_roundtrip_import);
}
