// SPDX-License-Identifier: Apache-2.0
/*
 * cp.c - `shoal cp` / `shoal container cp`: files between a container and
 * the local filesystem over /containers/{id}/archive, with docker cp's
 * rules (the daemon resolves container paths inside the container):
 *
 *   SRC file, DEST missing          DEST is created with SRC's content
 *   SRC file, DEST missing + "/"    error: the directory must exist
 *   SRC file, DEST a file           overwritten
 *   SRC file, DEST a directory      copied into it (DEST/basename)
 *   SRC dir,  DEST missing          DEST is created with SRC's content
 *   SRC dir,  DEST a file           error
 *   SRC dir,  DEST a directory      SRC copied into it, or with "SRC/."
 *                                   only its content
 *   "-" as DEST / SRC               a tar stream on stdout / stdin
 *
 * Local extraction uses the archive module's hostile-input rules (no
 * absolute paths, "..", writes through symlinks; device nodes, FIFOs and
 * sockets are left out).
 * Without -a, local files belong to the user running shoal and files in
 * the container to root; -a keeps the uid/gid of the source.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../archive/archive.h"
#include "cli.h"
#include "client.h"
#include "container_cmd.h"
#include "stream.h"

static const struct cli_opt cp_opts[] = {
	{ 'a', 'a', "archive", NULL, "Archive mode (copy all uid/gid information)" },
	{ 'L', 'L', "follow-link", NULL, "Always follow symbol link in SRC_PATH" },
	{ 'q', 'q', "quiet", NULL, "Suppress progress output during copy (accepted, nothing is printed)" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage cp_usage = {
	.path = "cp",
	.args = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tshoal cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
	.desc = "Copy files/folders between a container and the local filesystem",
	.aliases = "shoal container cp, shoal cp",
	.opts = cp_opts,
	.extra = "Use '-' as the source to read a tar archive from stdin\n"
		 "and extract it to a directory destination in a container.\n"
		 "Use '-' as the destination to stream a tar archive of a\n"
		 "container source to stdout.\n",
};

struct cp_stat {
	bool exists, dir, link;
	char name[NAME_MAX + 1];
	char link_target[PATH_MAX];
};

/* "CONTAINER:PATH" -> container and path; false for a local path (one
 * that starts with "/" or "." or has no ':' before any '/'). */
static bool split_ctr(const char *arg, char *ctr, size_t clen, const char **path)
{
	const char *colon = strchr(arg, ':');

	if (arg[0] == '/' || arg[0] == '.' || !colon || (strchr(arg, '/') && strchr(arg, '/') < colon))
		return false;
	snprintf(ctr, clen, "%.*s", (int)(colon - arg), arg);
	*path = colon + 1;
	return true;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static json_t *decode_stat(const char *b64)
{
	size_t n = strlen(b64), o = 0;
	char *out = malloc(n + 1);
	unsigned int acc = 0;
	int bits = 0;
	json_t *j;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(b64[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	j = json_loadb(out, o, 0, NULL);
	free(out);
	return j;
}

/*
 * HEAD /containers/C/archive?path=P. 0 with st filled (exists false on a
 * 404 for the path); 1 after printing an error.
 */
static int ctr_stat(struct client *cl, const char *ctr, const char *path, struct cp_stat *st)
{
	struct shoal_err err = { 0 };
	struct client_resp resp;
	char *e = client_escape(cl, path), *q = NULL, *p = NULL;
	json_t *j;
	int rc = 1;

	memset(st, 0, sizeof(*st));
	if (!e || asprintf(&q, "/archive?path=%s", e) < 0 || !(p = ctr_path(cl, ctr, q)))
		goto out;
	if (client_do(cl, "HEAD", p, NULL, &resp, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	if (resp.status == 404) {
		rc = 0;
	} else if (resp.status / 100 != 2 || !resp.path_stat || !(j = decode_stat(resp.path_stat))) {
		/* HEAD has no body: ask again with GET for the message. */
		client_call(cl, "GET", p, NULL, 0, NULL, NULL);
	} else {
		uint64_t mode = (uint64_t)json_integer_value(json_object_get(j, "mode"));

		st->exists = true;
		st->dir = mode & (1ull << 31);
		st->link = mode & (1ull << 27);
		snprintf(st->name, sizeof(st->name), "%s",
			 json_string_value(json_object_get(j, "name")) ?: "");
		snprintf(st->link_target, sizeof(st->link_target), "%s",
			 json_string_value(json_object_get(j, "linkTarget")) ?: "");
		json_decref(j);
		rc = 0;
	}
	client_resp_free(&resp);
out:
	free(p);
	free(q);
	free(e);
	return rc;
}

static bool ctr_inspect_ok(struct client *cl, const char *ctr)
{
	json_t *j = ctr_inspect(cl, ctr);

	json_decref(j);
	return j != NULL;
}

static bool ends_with_dot(const char *p)
{
	size_t n = strlen(p);

	return (n >= 2 && strcmp(p + n - 2, "/.") == 0) || strcmp(p, ".") == 0;
}

static bool ends_with_sep(const char *p)
{
	size_t n = strlen(p);

	return n && p[n - 1] == '/';
}

/* basename without modifying s ("/a/b/" -> "b"). */
static void base_of(const char *s, char *out, size_t len)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", s);
	snprintf(out, len, "%s", basename(tmp));
}

static void dir_of(const char *s, char *out, size_t len)
{
	char tmp[PATH_MAX];
	size_t n;

	snprintf(tmp, sizeof(tmp), "%s", s);
	n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	snprintf(out, len, "%s", dirname(tmp));
}

/* ---- container -> local ------------------------------------------------------------ */

static int from_container(struct client *cl, const char *ctr, const char *src, const char *dst,
			  bool archive, bool follow)
{
	struct archive_extract_opts o = { .mode = ARCHIVE_WHITEOUT_NONE, .keep_owner = archive,
					  .no_overwrite_dir_nondir = true, .skip_special = true,
					  .what = "archive" };
	char srcpath[PATH_MAX], sbase[NAME_MAX + 1], dbase[NAME_MAX + 1], into[PATH_MAX];
	struct stream_req s = { .in_fd = -1, .out_fd = 1 };
	char *e = NULL, *q = NULL, *p = NULL;
	bool dot = ends_with_dot(src);
	struct cp_stat cs;
	struct stat lst;
	int pfd[2], rc = 1, status;
	pid_t pid;

	o.uid = getuid();
	o.gid = getgid();
	if (!ctr_inspect_ok(cl, ctr) || ctr_stat(cl, ctr, src, &cs))
		return 1;
	snprintf(srcpath, sizeof(srcpath), "%s", src);
	if (!cs.exists) {
		/* The daemon's message: "Could not find the file ...". */
		if (!e && (e = client_escape(cl, src)) && asprintf(&q, "/archive?path=%s", e) >= 0 &&
		    (p = ctr_path(cl, ctr, q)))
			client_call(cl, "GET", p, NULL, 0, NULL, NULL);
		goto out;
	}
	if (cs.link && follow && cs.link_target[0]) {
		snprintf(srcpath, sizeof(srcpath), "%s", cs.link_target);
		if (ctr_stat(cl, ctr, srcpath, &cs) || !cs.exists) {
			fprintf(stderr, "Error: the link target %s of %s does not exist in container %s\n",
				srcpath, src, ctr);
			goto out;
		}
	}
	e = client_escape(cl, srcpath);
	if (!e || asprintf(&q, "/archive?path=%s", e) < 0 || !(p = ctr_path(cl, ctr, q)))
		goto out;
	if (!strcmp(dst, "-")) {
		rc = client_stream(cl, "GET", p, &s) == CLIENT_OK ? 0 : 1;
		goto out;
	}
	/* What the tar's top entry is called, and where it goes. The
	 * container's root comes as its content, like "/.". */
	if (!strcmp(cs.name, "/"))
		dot = true;
	base_of(src, sbase, sizeof(sbase));
	o.rebase_from = cs.name;
	if (lstat(dst, &lst) == 0 && S_ISDIR(lst.st_mode)) {
		snprintf(into, sizeof(into), "%s", dst);
		o.rebase_to = dot ? "" : sbase;
	} else if (lstat(dst, &lst) == 0) {
		if (cs.dir) {
			fprintf(stderr, "Error: cannot copy a directory to a file: %s\n", dst);
			goto out;
		}
		dir_of(dst, into, sizeof(into));
		base_of(dst, dbase, sizeof(dbase));
		o.rebase_to = dbase;
	} else {
		if (!cs.dir && ends_with_sep(dst)) {
			fprintf(stderr, "Error: the destination directory must exist: %s\n", dst);
			goto out;
		}
		dir_of(dst, into, sizeof(into));
		if (stat(into, &lst) < 0 || !S_ISDIR(lst.st_mode)) {
			fprintf(stderr, "Error: the destination directory must exist: %s\n", into);
			goto out;
		}
		base_of(dst, dbase, sizeof(dbase));
		if (dot) {
			/* The content of SRC into a new DEST directory. */
			if (mkdir(dst, 0755) < 0) {
				fprintf(stderr, "Error: mkdir %s: %s\n", dst, strerror(errno));
				goto out;
			}
			snprintf(into, sizeof(into), "%s", dst);
			o.rebase_to = "";
		} else {
			o.rebase_to = dbase;
		}
	}
	if (!strcmp(o.rebase_from, ".") || !strcmp(o.rebase_from, "/"))
		o.rebase_from = NULL; /* entries are already relative to SRC */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		goto out;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct shoal_err err = { 0 };

		close(pfd[1]);
		if (archive_extract(pfd[0], into, &o, NULL, &err) < 0) {
			fprintf(stderr, "Error: %s\n", err.msg);
			_exit(1);
		}
		_exit(0);
	}
	close(pfd[0]);
	s.out_fd = pfd[1];
	rc = pid < 0 ? 1 : client_stream(cl, "GET", p, &s) == CLIENT_OK ? 0 : 1;
	close(pfd[1]);
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = 1;
	}
out:
	free(p);
	free(q);
	free(e);
	return rc;
}

/* ---- local -> container ------------------------------------------------------------ */

static int to_container(struct client *cl, const char *src, const char *ctr, const char *dst,
			bool archive, bool follow)
{
	char srcpath[PATH_MAX], name[NAME_MAX + 1], dstdir[PATH_MAX], target[PATH_MAX];
	struct stream_req s = { .in_fd = 0, .in_size = STREAM_SIZE_UNKNOWN,
				.content_type = "application/x-tar", .out_fd = -1 };
	char *e = NULL, *q = NULL, *p = NULL;
	bool dot = ends_with_dot(src), src_dir = false;
	struct cp_stat cs;
	struct stat st;
	int pfd[2], rc = 1, status;
	pid_t pid = -1;

	snprintf(srcpath, sizeof(srcpath), "%s", src);
	if (strcmp(src, "-") != 0) {
		if ((follow ? stat(src, &st) : lstat(src, &st)) < 0) {
			fprintf(stderr, "Error: %s %s: %s\n", follow ? "stat" : "lstat", src,
				strerror(errno));
			return 1;
		}
		src_dir = S_ISDIR(st.st_mode);
		if (follow && realpath(src, target))
			snprintf(srcpath, sizeof(srcpath), "%s", target);
	}
	if (!ctr_inspect_ok(cl, ctr) || ctr_stat(cl, ctr, dst, &cs))
		return 1;
	snprintf(dstdir, sizeof(dstdir), "%s", dst);
	/* A symlink destination is followed (docker cp does). */
	if (cs.exists && cs.link && cs.link_target[0]) {
		snprintf(dstdir, sizeof(dstdir), "%s", cs.link_target);
		if (ctr_stat(cl, ctr, dstdir, &cs))
			return 1;
	}
	if (!strcmp(src, "-")) {
		if (!cs.exists || !cs.dir) {
			fprintf(stderr, "Error: destination \"%s:%s\" must be a directory\n", ctr, dst);
			return 1;
		}
		name[0] = '\0';
	} else if (cs.exists && cs.dir) {
		if (dot)
			name[0] = '\0';
		else
			base_of(src, name, sizeof(name));
	} else if (cs.exists) {
		if (src_dir) {
			fprintf(stderr, "Error: cannot copy a directory to a file: %s:%s\n", ctr, dst);
			return 1;
		}
		base_of(dstdir, name, sizeof(name));
		dir_of(dstdir, target, sizeof(target));
		snprintf(dstdir, sizeof(dstdir), "%s", target);
	} else {
		if (ends_with_sep(dst) && !src_dir) {
			fprintf(stderr, "Error: the destination directory must exist: %s:%s\n", ctr, dst);
			return 1;
		}
		base_of(dstdir, name, sizeof(name));
		dir_of(dstdir, target, sizeof(target));
		snprintf(dstdir, sizeof(dstdir), "%s", target);
	}
	e = client_escape(cl, dstdir);
	if (!e || asprintf(&q, "/archive?path=%s&noOverwriteDirNonDir=true&copyUIDGID=%s", e,
			   archive ? "true" : "false") < 0 || !(p = ctr_path(cl, ctr, q)))
		goto out;
	if (strcmp(src, "-") != 0) {
		if (pipe2(pfd, O_CLOEXEC) < 0)
			goto out;
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			struct shoal_err err = { 0 };

			close(pfd[0]);
			if (archive_write_tree(pfd[1], srcpath, name, &err) < 0) {
				fprintf(stderr, "Error: %s\n", err.msg);
				_exit(1);
			}
			_exit(0);
		}
		close(pfd[1]);
		s.in_fd = pfd[0];
	}
	rc = client_stream(cl, "PUT", p, &s) == CLIENT_OK ? 0 : 1;
	if (pid >= 0)
		close(s.in_fd);
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = 1;
	}
out:
	free(p);
	free(q);
	free(e);
	return rc;
}

int cmd_cp(struct cli_ctx *ctx, int argc, char **argv)
{
	bool archive = false, follow = false, from, to;
	char c_src[256], c_dst[256];
	const char *val, *p_src = NULL, *p_dst = NULL;
	struct cli_parse p;
	struct client cl;
	int o, rc;

	cli_parse_init(&p, &cp_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'a')
			archive = true;
		else if (o == 'L')
			follow = true;
	}
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&cp_usage, p.nargs, 2))
		return 1;
	from = split_ctr(p.args[0], c_src, sizeof(c_src), &p_src);
	to = split_ctr(p.args[1], c_dst, sizeof(c_dst), &p_dst);
	if (from == to) {
		fprintf(stderr, from ? "Error: copying between containers is not supported\n" :
				       "Error: must specify at least one container source\n");
		return 1;
	}
	if ((from && !*p_src) || (to && !*p_dst)) {
		fprintf(stderr, "Error: filesystem path cannot be empty\n");
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	/* A tar child that failed: an error from the transfer, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (from)
		rc = from_container(&cl, c_src, p_src, p.args[1], archive, follow);
	else
		rc = to_container(&cl, p.args[0], c_dst, p_dst, archive, follow);
	client_close(&cl);
	return rc;
}
