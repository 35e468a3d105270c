// SPDX-License-Identifier: Apache-2.0
/* test_files.c - what docker cp, export and diff are built on:
 * archive_write_tree -> archive_extract round trips (rebase, owners,
 * noOverwriteDirNonDir, ".wh." names kept), and the changes walkers of
 * the storage drivers (two full trees; an overlay upper dir with its
 * whiteouts when mknod is allowed). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "../../user/archive/archive.h"
#include "../../user/storage/driver.h"

static void mkfile(const char *dir, const char *rel, const char *text)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	unit_write_file(p, text);
}

static void mkd(const char *dir, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	mkdir(p, 0755);
}

static char *slurp(const char *dir, const char *rel)
{
	static char buf[256];
	char p[512];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "re");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Tar of path named name into a temp file; its fd rewound. */
static int tar_of(const char *path, const char *name)
{
	struct shoal_err err = { 0 };
	FILE *t = tmpfile();
	int fd;

	if (!t)
		return -1;
	fd = dup(fileno(t));
	fclose(t);
	if (archive_write_tree(fd, path, name, &err) < 0) {
		printf("# write_tree: %s\n", err.msg);
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

TEST(tree_round_trip)
{
	struct archive_extract_opts o = { .mode = ARCHIVE_WHITEOUT_NONE, .keep_owner = false,
					  .uid = getuid(), .gid = getgid(), .what = "archive" };
	struct shoal_err err = { 0 };
	char src[64], dst[64], p[512], l[64];
	struct stat a, b;
	int fd;

	if (unit_tmpdir(src) < 0 || unit_tmpdir(dst) < 0)
		SKIP("no temp dir");
	mkd(src, "t");
	mkd(src, "t/sub");
	mkfile(src, "t/sub/f", "hello");
	mkfile(src, "t/.wh.kept", "not a whiteout");
	snprintf(p, sizeof(p), "%s/t/link", src);
	CHECK_EQ(symlink("sub/f", p), 0, "symlink");
	snprintf(p, sizeof(p), "%s/t/sub/f", src);
	{
		char hl[512];

		snprintf(hl, sizeof(hl), "%s/t/hard", src);
		CHECK_EQ(link(p, hl), 0, "hard link");
	}
	/* "t" rebased to "renamed" */
	snprintf(p, sizeof(p), "%s/t", src);
	fd = tar_of(p, "t");
	CHECK(fd >= 0, "tar written");
	o.rebase_from = "t";
	o.rebase_to = "renamed";
	CHECK_EQ(archive_extract(fd, dst, &o, NULL, &err), 0, err.msg);
	close(fd);
	CHECK(slurp(dst, "renamed/sub/f") && !strcmp(slurp(dst, "renamed/sub/f"), "hello"),
	      "file content under the new name");
	CHECK(slurp(dst, "renamed/.wh.kept") != NULL, ".wh. name kept as a file");
	snprintf(p, sizeof(p), "%s/renamed/link", dst);
	CHECK(readlink(p, l, sizeof(l) - 1) == 5 && !strncmp(l, "sub/f", 5), "symlink kept");
	snprintf(p, sizeof(p), "%s/renamed/sub/f", dst);
	stat(p, &a);
	snprintf(p, sizeof(p), "%s/renamed/hard", dst);
	stat(p, &b);
	CHECK(a.st_ino == b.st_ino, "hard link kept");

	/* the content only ("t" -> ""), into an existing directory */
	mkd(dst, "only");
	snprintf(p, sizeof(p), "%s/t", src);
	fd = tar_of(p, "t");
	o.rebase_to = "";
	snprintf(p, sizeof(p), "%s/only", dst);
	CHECK_EQ(archive_extract(fd, p, &o, NULL, &err), 0, err.msg);
	close(fd);
	CHECK(slurp(dst, "only/sub/f") != NULL, "content in the directory");
	CHECK(slurp(dst, "only/t/sub/f") == NULL, "not the directory itself");

	/* noOverwriteDirNonDir: a file where a directory is, refused */
	mkfile(src, "sub", "a file named like the directory");
	snprintf(p, sizeof(p), "%s/sub", src);
	fd = tar_of(p, "sub");
	o.rebase_from = NULL;
	o.no_overwrite_dir_nondir = true;
	snprintf(p, sizeof(p), "%s/only", dst);
	CHECK_EQ(archive_extract(fd, p, &o, NULL, &err), -EEXIST, "dir replaced by a file");
	CHECK(strstr(err.msg, "archive entry \"sub\": cannot overwrite directory") != NULL, err.msg);
	close(fd);
	unit_rmrf(src);
	unit_rmrf(dst);
}

/* Docker's changes of a layer over its parent, as "K /path" lines. */
static void changes_text(json_t *j, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *c;

	buf[0] = '\0';
	json_array_foreach(j, i, c)
		o += (size_t)snprintf(buf + o, len - o, "%c %s\n",
				      "CAD"[json_integer_value(json_object_get(c, "Kind"))],
				      json_string_value(json_object_get(c, "Path")));
}

TEST(changes_dirs)
{
	char old[64], new[64], text[1024], p[512];
	struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
	json_t *out = NULL;

	if (unit_tmpdir(old) < 0 || unit_tmpdir(new) < 0)
		SKIP("no temp dir");
	mkd(old, "etc");
	mkd(new, "etc");
	mkd(old, "bin");
	mkd(new, "bin");
	mkfile(old, "etc/passwd", "root");
	mkfile(new, "etc/passwd", "root+more");
	mkfile(old, "etc/gone", "x");
	mkfile(old, "bin/sh", "same");
	mkfile(new, "bin/sh", "same");
	mkfile(new, "added", "x");
	/* same times everywhere but for what changed */
	const char *same[] = { "bin/sh", "bin", "etc" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", old, same[i]);
		utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
		snprintf(p, sizeof(p), "%s/%s", new, same[i]);
		utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	}
	CHECK_EQ(storage_changes_dirs(new, old, &out), 0, "changes");
	changes_text(out, text, sizeof(text));
	CHECK(!strcmp(text, "A /added\nC /etc\nD /etc/gone\nC /etc/passwd\n"), text);
	json_decref(out);
	unit_rmrf(old);
	unit_rmrf(new);
}

TEST(changes_overlay)
{
	char low[64], up[64], text[1024], p[512];
	const char *lowers[1];
	json_t *out = NULL;

	if (unit_tmpdir(low) < 0 || unit_tmpdir(up) < 0)
		SKIP("no temp dir");
	snprintf(p, sizeof(p), "%s/etc/group", up);
	mkd(low, "etc");
	mkfile(low, "etc/group", "g");
	mkfile(low, "etc/passwd", "p");
	mkd(up, "etc");
	if (mknod(p, S_IFCHR | 0000, makedev(0, 0)) < 0) {
		unit_rmrf(low);
		unit_rmrf(up);
		SKIP("mknod of a whiteout needs CAP_MKNOD");
	}
	mkfile(up, "etc/passwd", "p2");
	mkd(up, "new");
	mkfile(up, "new/f", "x");
	lowers[0] = low;
	CHECK_EQ(storage_changes_overlay(up, lowers, 1, &out), 0, "changes");
	changes_text(out, text, sizeof(text));
	CHECK(!strcmp(text, "C /etc\nD /etc/group\nC /etc/passwd\nA /new\nA /new/f\n"), text);
	json_decref(out);
	unit_rmrf(low);
	unit_rmrf(up);
}

void unit_files_tests(void)
{
	RUN(tree_round_trip);
	RUN(changes_dirs);
	RUN(changes_overlay);
}
