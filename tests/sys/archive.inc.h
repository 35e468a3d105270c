/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archive.inc.h - archive_apply_layer against real files: a tiny tar
 * writer (ustar + pax records, so hostile headers can be crafted), good
 * layers (plain, gzip, zstd, through a pipe; owners, modes, times,
 * xattrs, hard links, whiteouts in both modes) and hostile ones (path
 * traversal, absolute paths, symlink and hard link escapes, huge
 * headers, truncated gzip, device nodes), each of which must fail naming
 * the entry and leave the sentinel dir outside dest untouched.
 * Included by main.c (one translation unit, see there). The tar writer
 * is shared with storage.inc.h.
 */
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "../../user/archive/archive.h"
#include "../../user/archive/fsutil.h"

/* ---- a tar writer ---- */

struct tb {
	char *buf;
	size_t len, cap;
};

static void tb_raw(struct tb *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 4096;
		t->buf = realloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

static void tb_pad(struct tb *t)
{
	static const char zero[512];

	if (t->len % 512)
		tb_raw(t, zero, 512 - t->len % 512);
}

/* One header block; size is what the header claims. */
static void tb_hdr(struct tb *t, const char *name, char type, unsigned int mode, unsigned int uid,
		   unsigned int gid, unsigned long long size, const char *link, unsigned int maj,
		   unsigned int min)
{
	char h[512];
	unsigned int sum = 0;

	memset(h, 0, sizeof(h));
	strncpy(h, name, 100);
	snprintf(h + 100, 8, "%07o", mode);
	snprintf(h + 108, 8, "%07o", uid);
	snprintf(h + 116, 8, "%07o", gid);
	snprintf(h + 124, 12, "%011llo", size > 077777777777ULL ? 0ULL : size);
	snprintf(h + 136, 12, "%011o", 1700000000u);
	h[156] = type;
	if (link)
		strncpy(h + 157, link, 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	snprintf(h + 329, 8, "%07o", maj);
	snprintf(h + 337, 8, "%07o", min);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	tb_raw(t, h, 512);
}

/* A pax extended header ('x') with records "key=value\n"... given as
 * key/value pairs, applying to the next entry. */
static void tb_pax(struct tb *t, const char *key, const char *val, size_t vlen)
{
	size_t base = strlen(key) + vlen + 3, n = base, digits;
	char *rec;

	/* The length field counts itself. */
	for (;;) {
		digits = (size_t)snprintf(NULL, 0, "%zu", n);
		if (base + digits == n)
			break;
		n = base + digits;
	}
	rec = malloc(n + 1);
	snprintf(rec, n + 1, "%zu %s=", n, key);
	memcpy(rec + digits + 2 + strlen(key), val, vlen);
	rec[n - 1] = '\n';
	tb_hdr(t, "PaxHeaders/x", 'x', 0644, 0, 0, n, NULL, 0, 0);
	tb_raw(t, rec, n);
	tb_pad(t);
	free(rec);
}

static void tb_file_o(struct tb *t, const char *name, const char *data, unsigned int mode,
		      unsigned int uid, unsigned int gid)
{
	size_t n = data ? strlen(data) : 0;

	if (strlen(name) > 99)
		tb_pax(t, "path", name, strlen(name));
	tb_hdr(t, name, '0', mode, uid, gid, n, NULL, 0, 0);
	tb_raw(t, data, n);
	tb_pad(t);
}

static void tb_file(struct tb *t, const char *name, const char *data)
{
	tb_file_o(t, name, data, 0644, 0, 0);
}

static void tb_dir(struct tb *t, const char *name, unsigned int mode)
{
	tb_hdr(t, name, '5', mode, 0, 0, 0, NULL, 0, 0);
}

static void tb_symlink(struct tb *t, const char *name, const char *target)
{
	tb_hdr(t, name, '2', 0777, 0, 0, 0, target, 0, 0);
}

static void tb_hardlink(struct tb *t, const char *name, const char *target)
{
	tb_hdr(t, name, '1', 0644, 0, 0, 0, target, 0, 0);
}

static void tb_end(struct tb *t)
{
	static const char zero[1024];

	tb_raw(t, zero, sizeof(zero));
}

/* The tar as a readable fd (memfd), positioned at 0. */
static int tb_fd(const struct tb *t)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, t->buf, t->len) != (ssize_t)t->len) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void tb_free(struct tb *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static int apply_tb(const struct tb *t, const char *dest, enum archive_whiteouts mode,
		    uint64_t *size, struct shoal_err *e)
{
	int fd = tb_fd(t), r;

	if (fd < 0)
		return -EIO;
	r = archive_apply_layer(fd, dest, mode, size, e);
	close(fd);
	return r;
}

/* ---- small file checks ---- */

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

static bool file_is(const char *dir, const char *rel, const char *want)
{
	char p[4200], buf[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (read_file(p, buf, sizeof(buf)) < 0) {
		printf("#     %s: missing\n", p);
		return false;
	}
	if (strcmp(buf, want)) {
		printf("#     %s: \"%s\", expected \"%s\"\n", p, buf, want);
		return false;
	}
	return true;
}

static bool absent(const char *dir, const char *rel)
{
	char p[4200];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (lstat(p, &st) == 0) {
		printf("#     %s exists (mode 0%o)\n", p, st.st_mode);
		return false;
	}
	return true;
}

static bool link_is(const char *dir, const char *rel, const char *want)
{
	char p[4200], t[4096];
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	n = readlink(p, t, sizeof(t) - 1);
	if (n < 0)
		return false;
	t[n] = '\0';
	return strcmp(t, want) == 0;
}

static int lstat_at(const char *dir, const char *rel, struct stat *st)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, st);
}

/* Names in dir, sorted, joined with ',' ("" when empty or missing). */
static const char *list_dir(const char *dir, char *out, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
					      names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return out;
}

/* ---- suite state ---- */

static char ar_root[64]; /* mkdtemp: holds dest/ and sentinel/ */

static void archive_suite_cleanup(void)
{
	if (ar_root[0]) {
		fsutil_rm_rf(ar_root);
		ar_root[0] = '\0';
	}
}

static const char *ar_dest(void)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/dest", ar_root);
	return p;
}

/* A fresh dest and a sentinel dir beside it. */
static void ar_reset(void)
{
	char p[128];

	fsutil_rm_rf(ar_dest());
	mkdir(ar_dest(), 0755);
	snprintf(p, sizeof(p), "%s/sentinel", ar_root);
	fsutil_rm_rf(p);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sentinel/keep", ar_root);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, "sentinel", 8) != 8)
			printf("# short write\n");
		close(fd);
	}
}

/* Nothing appeared or changed outside dest. */
static bool sentinel_ok(void)
{
	char p[128], list[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/sentinel", ar_root);
	if (strcmp(list_dir(p, list, sizeof(list)), "keep")) {
		printf("#     sentinel holds: %s\n", list);
		return false;
	}
	snprintf(p, sizeof(p), "%s/sentinel/keep", ar_root);
	if (lstat(p, &st) < 0 || st.st_nlink != 1 || st.st_size != 8) {
		printf("#     sentinel/keep changed\n");
		return false;
	}
	if (strcmp(list_dir(ar_root, list, sizeof(list)), "dest,sentinel")) {
		printf("#     %s holds: %s\n", ar_root, list);
		return false;
	}
	return true;
}

/* ---- good layers ---- */

TEST(archive_plain_layer_metadata)
{
	struct shoal_err e = { 0 };
	struct tb t = { 0 };
	struct stat st;
	uint64_t size = 0;
	char v[32];
	ssize_t n;

	ar_reset();
	tb_dir(&t, "./", 0755);
	tb_dir(&t, "./etc/", 0750);
	tb_file(&t, "./etc/hostname", "box\n");
	tb_pax(&t, "SCHILY.xattr.user.shoal", "yes", 3);
	tb_file_o(&t, "usr/bin/suid", "#!", 04755, 1234, 5678);
	tb_symlink(&t, "bin", "/usr/bin");
	tb_hardlink(&t, "usr/bin/suid2", "usr/bin/suid");
	tb_pax(&t, "SCHILY.xattr.trusted.overlay.opaque", "y", 1);
	tb_dir(&t, "forged/", 0755);
	tb_end(&t);
	CHECK_EQ(apply_tb(&t, ar_dest(), ARCHIVE_WHITEOUT_APPLY, &size, &e), 0, e.msg);
	CHECK_EQ(size, 6, "regular bytes counted (hard link not again)");
	CHECK(file_is(ar_dest(), "etc/hostname", "box\n"), "content");
	CHECK(lstat_at(ar_dest(), "etc", &st) == 0 && (st.st_mode & 07777) == 0750, "dir mode");
	CHECK(lstat_at(ar_dest(), "usr/bin/suid", &st) == 0, "file there");
	CHECK_EQ(st.st_mode & 07777, 04755, "setuid mode kept");
	CHECK_EQ(st.st_uid, 1234, "owner");
	CHECK_EQ(st.st_gid, 5678, "group");
	CHECK_EQ(st.st_mtime, 1700000000, "mtime");
	CHECK_EQ(st.st_nlink, 2, "hard link");
	CHECK(link_is(ar_dest(), "bin", "/usr/bin"), "absolute symlink target kept");
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/usr/bin/suid", ar_dest());
		n = lgetxattr(p, "user.shoal", v, sizeof(v) - 1);
		CHECK_EQ(n, 3, "xattr restored");
		snprintf(p, sizeof(p), "%s/forged", ar_dest());
		CHECK(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)) < 0,
		      "trusted.overlay.* from a tar dropped");
	}
	CHECK(sentinel_ok(), "nothing outside dest");
	tb_free(&t);
}

/* gzip, zstd and a pipe: the stream format is detected. */
TEST(archive_compressed_and_piped)
{
	struct shoal_err e = { 0 };
	struct tb t = { 0 };
	char p[256], p2[300];
	uint64_t size;
	int fd, pfd[2];
	pid_t pid;

	ar_reset();
	tb_file(&t, "a.txt", "hello");
	tb_end(&t);
	snprintf(p, sizeof(p), "%s/l.tar", ar_root);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, t.buf, t.len) == (ssize_t)t.len, "write tar");
	if (fd >= 0)
		close(fd);
	CHECK_EQ(sh("gzip -c %s > %s.gz && zstd -q -c %s > %s.zst", p, p, p, p), 0, "compress");
	unlink(p);

	static const char *const exts[] = { "gz", "zst" };
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		snprintf(p2, sizeof(p2), "%s.%s", p, exts[i]);
		fsutil_empty_dir(ar_dest());
		fd = open(p2, O_RDONLY);
		size = 0;
		CHECK_EQ(archive_apply_layer(fd, ar_dest(), ARCHIVE_WHITEOUT_OVERLAY, &size, &e), 0, e.msg);
		CHECK_EQ(size, 5, exts[i]);
		CHECK(file_is(ar_dest(), "a.txt", "hello"), exts[i]);
		close(fd);
		unlink(p2);
	}

	/* A pipe (no seeking), as from an HTTP body. */
	fsutil_empty_dir(ar_dest());
	CHECK_EQ(pipe(pfd), 0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		_exit(write(pfd[1], t.buf, t.len) == (ssize_t)t.len ? 0 : 1);
	}
	close(pfd[1]);
	CHECK_EQ(archive_apply_layer(pfd[0], ar_dest(), ARCHIVE_WHITEOUT_APPLY, &size, &e), 0, e.msg);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	CHECK(file_is(ar_dest(), "a.txt", "hello"), "from a pipe");
	CHECK(sentinel_ok(), "nothing outside dest");
	tb_free(&t);
}

TEST(archive_whiteouts_overlay)
{
	struct shoal_err e = { 0 };
	struct tb t = { 0 };
	struct stat st;
	char p[256], v[8] = "";

	ar_reset();
	tb_dir(&t, "d/", 0755);
	tb_file(&t, "d/.wh..wh..opq", "");
	tb_file(&t, "d/new", "n");
	tb_file_o(&t, "e/.wh.gone", "", 0644, 42, 43);
	tb_file(&t, ".wh..wh.plnk", ""); /* aufs bookkeeping: ignored */
	tb_end(&t);
	CHECK_EQ(apply_tb(&t, ar_dest(), ARCHIVE_WHITEOUT_OVERLAY, NULL, &e), 0, e.msg);
	CHECK(lstat_at(ar_dest(), "e/gone", &st) == 0, "whiteout created");
	CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0), "whiteout is char 0/0");
	CHECK_EQ(st.st_uid, 42, "whiteout owner");
	CHECK(absent(ar_dest(), "e/.wh.gone"), "no .wh. file");
	CHECK(absent(ar_dest(), "d/.wh..wh..opq"), "no opq file");
	CHECK(absent(ar_dest(), ".wh..wh.plnk"), "aufs meta skipped");
	snprintf(p, sizeof(p), "%s/d", ar_dest());
	CHECK_EQ(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1, "opaque xattr");
	CHECK(v[0] == 'y', "opaque=y");
	CHECK(file_is(ar_dest(), "d/new", "n"), "content beside opq");
	CHECK(sentinel_ok(), "nothing outside dest");
	tb_free(&t);
}

TEST(archive_whiteouts_apply)
{
	struct shoal_err e = { 0 };
	struct tb t = { 0 }, base = { 0 };
	char p[256], list[256];

	ar_reset();
	tb_file(&base, "gone", "g");
	tb_file(&base, "d/old", "o");
	tb_file(&base, "d/sub/old2", "o");
	tb_file(&base, "d/kept-by-layer", "base");
	tb_dir(&base, "x/", 0755);
	tb_file(&base, "x/y", "y");
	tb_end(&base);
	CHECK_EQ(apply_tb(&base, ar_dest(), ARCHIVE_WHITEOUT_APPLY, NULL, &e), 0, e.msg);

	tb_file(&t, ".wh.gone", "");
	tb_file(&t, "d/kept-by-layer", "layer");   /* before the marker... */
	tb_file(&t, "d/.wh..wh..opq", "");
	tb_file(&t, "d/new", "n");                 /* ...and after it */
	tb_file(&t, ".wh.x", "");                  /* a whole directory */
	tb_file(&t, ".wh.never-existed", "");
	tb_file(&t, "implicit/parent/file", "i"); /* no entries for its dirs */
	tb_end(&t);
	CHECK_EQ(apply_tb(&t, ar_dest(), ARCHIVE_WHITEOUT_APPLY, NULL, &e), 0, e.msg);
	CHECK(absent(ar_dest(), "gone"), "whited-out file deleted");
	CHECK(absent(ar_dest(), "x"), "whited-out dir deleted");
	snprintf(p, sizeof(p), "%s/d", ar_dest());
	CHECK_EQ(strcmp(list_dir(p, list, sizeof(list)), "kept-by-layer,new"), 0, list);
	CHECK(file_is(ar_dest(), "d/kept-by-layer", "layer"), "layer's own file survives opq");
	CHECK(absent(ar_dest(), ".wh.gone"), "no .wh. file");
	CHECK(file_is(ar_dest(), "implicit/parent/file", "i"), "file under implicit dirs");
	CHECK(sentinel_ok(), "nothing outside dest");

	/* An opaque marker at the root keeps this layer's implicit dirs. */
	tb_free(&t);
	tb_file(&t, "a/b/c", "c");
	tb_file(&t, ".wh..wh..opq", "");
	tb_end(&t);
	CHECK_EQ(apply_tb(&t, ar_dest(), ARCHIVE_WHITEOUT_APPLY, NULL, &e), 0, e.msg);
	CHECK_EQ(strcmp(list_dir(ar_dest(), list, sizeof(list)), "a"), 0, list);
	CHECK(file_is(ar_dest(), "a/b/c", "c"), "kept under opaque root");
	tb_free(&t);
	tb_free(&base);
}

/* A layer that replaces a parent's file by a dir and a dir by a file. */
TEST(archive_replaces_types)
{
	struct shoal_err e = { 0 };
	struct tb a = { 0 }, b = { 0 };
	struct stat st;

	ar_reset();
	tb_file(&a, "f", "file");
	tb_file(&a, "d/inner", "i");
	tb_symlink(&a, "s", "/etc");
	tb_end(&a);
	CHECK_EQ(apply_tb(&a, ar_dest(), ARCHIVE_WHITEOUT_APPLY, NULL, &e), 0, e.msg);
	tb_dir(&b, "f/", 0755);
	tb_file(&b, "f/now-a-dir", "x");
	tb_file(&b, "d", "now a file");
	tb_file(&b, "s", "was a symlink to /etc"); /* replaced, not followed */
	tb_end(&b);
	CHECK_EQ(apply_tb(&b, ar_dest(), ARCHIVE_WHITEOUT_APPLY, NULL, &e), 0, e.msg);
	CHECK(lstat_at(ar_dest(), "f", &st) == 0 && S_ISDIR(st.st_mode), "file -> dir");
	CHECK(file_is(ar_dest(), "d", "now a file"), "dir -> file");
	CHECK(lstat_at(ar_dest(), "s", &st) == 0 && S_ISREG(st.st_mode), "symlink -> file");
	CHECK(access("/etc/s", F_OK) != 0, "nothing written through the old symlink");
	CHECK(sentinel_ok(), "nothing outside dest");
	tb_free(&a);
	tb_free(&b);
}

/* ---- hostile layers ---- */

struct hostile {
	const char *what;
	const char *entry; /* must appear in the message */
	void (*build)(struct tb *t);
};

static char ar_abs_sentinel[128]; /* <root>/sentinel */

static void h_dotdot(struct tb *t)
{
	tb_file(t, "../sentinel/evil", "x");
}

static void h_dotdot_deep(struct tb *t)
{
	tb_file(t, "a/../../sentinel/evil", "x");
}

static void h_dotdot_etc(struct tb *t)
{
	tb_file(t, "../../etc/shoal-evil", "x");
}

static void h_absolute(struct tb *t)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/evil", ar_abs_sentinel);
	tb_file(t, p, "x");
}

static void h_symlink_abs(struct tb *t)
{
	tb_symlink(t, "link", ar_abs_sentinel);
	tb_file(t, "link/evil", "x");
}

static void h_symlink_rel(struct tb *t)
{
	tb_symlink(t, "link", "../..");
	tb_file(t, "link/tmp/evil", "x");
}

static void h_symlink_dir_entry(struct tb *t)
{
	tb_symlink(t, "link", "../sentinel");
	tb_dir(t, "link/sub/", 0755);
}

static void h_symlink_whiteout(struct tb *t)
{
	tb_symlink(t, "link", ar_abs_sentinel);
	tb_file(t, "link/.wh.keep", "");
}

static void h_hardlink_abs(struct tb *t)
{
	tb_hardlink(t, "passwd", "/etc/passwd");
}

static void h_hardlink_dotdot(struct tb *t)
{
	tb_hardlink(t, "k", "../sentinel/keep");
}

static void h_hardlink_via_symlink(struct tb *t)
{
	tb_symlink(t, "s", ar_abs_sentinel);
	tb_hardlink(t, "k", "s/keep");
}

static void h_huge_size(struct tb *t)
{
	tb_pax(t, "size", "1000000000000", 13);
	tb_hdr(t, "big", '0', 0644, 0, 0, 0, NULL, 0, 0);
	tb_raw(t, "only a little data", 18);
	tb_pad(t);
}

static void h_long_path(struct tb *t)
{
	char name[5001];

	for (int i = 0; i < 5000; i++)
		name[i] = (i % 50 == 49) ? '/' : 'a';
	name[5000] = '\0';
	memcpy(name, "longpath", 8);
	tb_pax(t, "path", name, strlen(name));
	tb_hdr(t, "placeholder", '0', 0644, 0, 0, 0, NULL, 0, 0);
}

static void h_huge_pax(struct tb *t)
{
	tb_hdr(t, "PaxHeaders/x", 'x', 0644, 0, 0, 1ULL << 32, NULL, 0, 0);
	tb_raw(t, "30 path=whatever\n", 17);
	tb_pad(t);
}

static void h_huge_longname(struct tb *t)
{
	tb_hdr(t, "././@LongLink", 'L', 0644, 0, 0, 1ULL << 33, NULL, 0, 0);
	tb_raw(t, "name", 4);
	tb_pad(t);
}

static void h_chardev(struct tb *t)
{
	tb_hdr(t, "dev/null", '3', 0666, 0, 0, 0, NULL, 1, 3);
}

static void h_blockdev(struct tb *t)
{
	tb_hdr(t, "dev/sda", '4', 0660, 0, 0, 0, NULL, 8, 0);
}

static void h_fifo(struct tb *t)
{
	tb_hdr(t, "run/fifo", '6', 0644, 0, 0, 0, NULL, 0, 0);
}

/* The extractor caches directories it has checked: a directory that a
 * later entry replaces with a symlink must not stay trusted. */
static void h_dir_then_symlink(struct tb *t)
{
	tb_dir(t, "d/", 0755);
	tb_symlink(t, "d", ar_abs_sentinel);
	tb_file(t, "d/evil", "x");
}

static void h_deep_dir_then_symlink(struct tb *t)
{
	tb_dir(t, "a/", 0755);
	tb_dir(t, "a/b/", 0755);
	tb_file(t, "a/b/ok", "x");
	tb_symlink(t, "a/b", "../../sentinel");
	tb_dir(t, "a/b/c/", 0755);
}

static void h_dir_then_symlink_hardlink(struct tb *t)
{
	tb_dir(t, "h/", 0755);
	tb_symlink(t, "h", ar_abs_sentinel);
	tb_hardlink(t, "k", "h/keep");
}

static const struct hostile hostiles[] = {
	{ "path traversal", "../sentinel/evil", h_dotdot },
	{ "traversal inside a path", "a/../../sentinel/evil", h_dotdot_deep },
	{ "traversal to /etc", "../../etc/shoal-evil", h_dotdot_etc },
	{ "absolute path", "/sentinel/evil", h_absolute },
	{ "symlink escape (absolute target)", "link/evil", h_symlink_abs },
	{ "symlink escape (../.. target)", "link/tmp/evil", h_symlink_rel },
	{ "directory through a symlink", "link/sub", h_symlink_dir_entry },
	{ "whiteout through a symlink", "link/.wh.keep", h_symlink_whiteout },
	{ "hard link to /etc/passwd", "passwd", h_hardlink_abs },
	{ "hard link to ../", "../sentinel/keep", h_hardlink_dotdot },
	{ "hard link through a symlink", "s/keep", h_hardlink_via_symlink },
	{ "pax size of 1 TB", "big", h_huge_size },
	{ "path longer than PATH_MAX", "longpath", h_long_path },
	{ "pax header of 4 GB", "tar stream", h_huge_pax },
	{ "GNU long name of 8 GB", "tar stream", h_huge_longname },
	{ "char device", "dev/null", h_chardev },
	{ "block device", "dev/sda", h_blockdev },
	{ "FIFO", "run/fifo", h_fifo },
	{ "write through a dir replaced by a symlink", "d/evil", h_dir_then_symlink },
	{ "dir under a dir replaced by a symlink", "a/b/c", h_deep_dir_then_symlink },
	{ "hard link through a dir replaced by a symlink", "h/keep", h_dir_then_symlink_hardlink },
};

TEST(archive_hostile_layers)
{
	static const enum archive_whiteouts modes[] = { ARCHIVE_WHITEOUT_OVERLAY,
							 ARCHIVE_WHITEOUT_APPLY };
	struct stat pw0, pw1;

	stat("/etc/passwd", &pw0);
	snprintf(ar_abs_sentinel, sizeof(ar_abs_sentinel), "%s/sentinel", ar_root);
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		for (size_t i = 0; i < ARRAY_SIZE(hostiles); i++) {
			struct shoal_err e = { 0 };
			struct tb t = { 0 };
			int r;

			ar_reset();
			hostiles[i].build(&t);
			tb_end(&t);
			r = apply_tb(&t, ar_dest(), modes[m], NULL, &e);
			if (r >= 0 || !strstr(e.msg, hostiles[i].entry) || !sentinel_ok()) {
				tap.cur_failed++;
				printf("#   FAIL %s (%s mode): r=%d msg=\"%s\"\n", hostiles[i].what,
				       m ? "apply" : "overlay", r, e.msg);
			} else if (m == 0) {
				printf("#   %-34s -> %s\n", hostiles[i].what, e.msg);
			}
			tb_free(&t);
		}
	}
	stat("/etc/passwd", &pw1);
	CHECK_EQ(pw1.st_nlink, pw0.st_nlink, "/etc/passwd not linked");
	CHECK(access("/etc/shoal-evil", F_OK) != 0, "no /etc/shoal-evil");
	CHECK(access("/tmp/evil", F_OK) != 0, "no /tmp/evil");
}

TEST(archive_truncated_gzip)
{
	struct shoal_err e = { 0 };
	char p[256];
	int fd, r;

	ar_reset();
	snprintf(p, sizeof(p), "%s/t.tar.gz", ar_root);
	/* Random data does not compress: cutting the stream in half cuts
	 * inside the file's data. */
	CHECK_EQ(sh("cd %s && mkdir -p src && head -c 200000 /dev/urandom > src/blob && "
		    "tar -C src -czf t.tar.gz blob && truncate -s 100000 t.tar.gz && rm -rf src",
		    ar_root),
		 0, "make a truncated tar.gz");
	fd = open(p, O_RDONLY);
	r = archive_apply_layer(fd, ar_dest(), ARCHIVE_WHITEOUT_APPLY, NULL, &e);
	close(fd);
	unlink(p);
	CHECK(r < 0, "truncated gzip fails");
	CHECK(strstr(e.msg, "blob") != NULL, e.msg);
	printf("#   truncated gzip -> %s\n", e.msg);
	CHECK(absent(ar_dest(), "blob"), "the cut file is not left behind");
	CHECK(sentinel_ok(), "nothing outside dest");

	/* Not a tar at all. */
	CHECK_EQ(sh("head -c 3000 /dev/urandom > %s", p), 0, "garbage");
	fd = open(p, O_RDONLY);
	r = archive_apply_layer(fd, ar_dest(), ARCHIVE_WHITEOUT_APPLY, NULL, &e);
	close(fd);
	unlink(p);
	CHECK(r < 0, "garbage fails");
	printf("#   garbage -> %s\n", e.msg);
}

static void archive_suite(void)
{
	snprintf(ar_root, sizeof(ar_root), "/tmp/shoal-ar-XXXXXX");
	if (!mkdtemp(ar_root)) {
		ar_root[0] = '\0';
		printf("# mkdtemp failed\n");
		return;
	}
	RUN(archive_plain_layer_metadata);
	RUN(archive_compressed_and_piped);
	RUN(archive_whiteouts_overlay);
	RUN(archive_whiteouts_apply);
	RUN(archive_replaces_types);
	RUN(archive_hostile_layers);
	RUN(archive_truncated_gzip);
	archive_suite_cleanup();
}
