// SPDX-License-Identifier: Apache-2.0
/*
 * export.c - `shoal export [-o FILE] CONTAINER` (GET /containers/{id}/export:
 * a tar of the container's filesystem, volumes excluded, loadable with
 * `shoal import`) and `shoal diff CONTAINER` (GET /containers/{id}/changes,
 * printed as docker diff prints it: "C /etc", "A /etc/new", "D /old").
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "container_cmd.h"
#include "stream.h"

static const struct cli_opt export_opts[] = {
	{ 'o', 'o', "output", "string", "Write to a file, instead of STDOUT" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage export_usage = {
	.path = "export",
	.args = "[OPTIONS] CONTAINER",
	.desc = "Export a container's filesystem as a tar archive",
	.aliases = "shoal container export, shoal export",
	.opts = export_opts,
};

/* A temp file beside output, renamed at the end (no partial archive). */
static int open_output(const char *output, char *tmp, size_t len)
{
	char dir[PATH_MAX];
	const char *sl = strrchr(output, '/');
	struct stat st;
	int fd;

	if (sl)
		snprintf(dir, sizeof(dir), "%.*s", (int)(sl - output + (sl == output)), output);
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "Error: failed to export container: invalid output path: directory \"%s\" does not exist\n",
			dir);
		return -1;
	}
	if (snprintf(tmp, len, "%s/.shoal_temp_XXXXXX", dir) >= (int)len)
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0)
		fprintf(stderr, "Error: failed to export container: %s\n", strerror(errno));
	return fd;
}

int cmd_export(struct cli_ctx *ctx, int argc, char **argv)
{
	struct stream_req s = { .in_fd = -1, .out_fd = 1 };
	const char *output = NULL, *val;
	char tmp[PATH_MAX] = "", *path = NULL;
	struct cli_parse p;
	struct client cl = { 0 };
	int o, rc = 1, fd = -1;

	cli_parse_init(&p, &export_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'o')
			output = val;
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&export_usage, p.nargs, 1))
		return 1;
	if (output && *output) {
		fd = open_output(output, tmp, sizeof(tmp));
		if (fd < 0)
			return 1;
		s.out_fd = fd;
	} else if (isatty(1)) {
		fprintf(stderr, "Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	path = ctr_path(&cl, p.args[0], "/export");
	if (!path || client_stream(&cl, "GET", path, &s) != CLIENT_OK)
		goto out;
	if (fd >= 0) {
		if (fsync(fd) < 0 || close(fd) < 0) {
			fd = -1;
			fprintf(stderr, "Error: failed to export container: %s\n", strerror(errno));
			goto out;
		}
		fd = -1;
		if (rename(tmp, output) < 0) {
			fprintf(stderr, "Error: failed to export container: rename %s %s: %s\n", tmp,
				output, strerror(errno));
			goto out;
		}
		tmp[0] = '\0';
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	free(path);
	client_close(&cl);
	return rc;
}

static const struct cli_usage diff_usage = {
	.path = "diff",
	.args = "CONTAINER",
	.desc = "Inspect changes to files or directories on a container's filesystem",
	.aliases = "shoal container diff, shoal diff",
};

int cmd_diff(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char kinds[] = "CAD";
	struct cli_parse p;
	struct client cl;
	const char *val;
	json_t *out = NULL, *c;
	char *path = NULL;
	int o, rc = 1;
	size_t i;

	cli_parse_init(&p, &diff_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&diff_usage, p.nargs, 1))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	path = ctr_path(&cl, p.args[0], "/changes");
	if (path && client_call(&cl, "GET", path, NULL, 0, &out, NULL) == CLIENT_OK) {
		json_array_foreach(out, i, c) {
			json_int_t k = json_integer_value(json_object_get(c, "Kind"));

			printf("%c %s\n", k >= 0 && k <= 2 ? kinds[k] : '?',
			       json_string_value(json_object_get(c, "Path")) ?: "");
		}
		rc = 0;
	}
	json_decref(out);
	free(path);
	client_close(&cl);
	return rc;
}
