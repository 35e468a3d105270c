// SPDX-License-Identifier: Apache-2.0
/*
 * volume.c - `shoal volume create|ls|inspect|rm|prune`, Docker's
 * `docker volume` verbs over the /volumes API, with Docker's flags,
 * output and exit codes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "inspect.h"
#include "output.h"

static int vol_create(struct cli_ctx *ctx, int argc, char **argv);
static int vol_ls(struct cli_ctx *ctx, int argc, char **argv);
static int vol_inspect(struct cli_ctx *ctx, int argc, char **argv);
static int vol_rm(struct cli_ctx *ctx, int argc, char **argv);
static int vol_prune(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd volume_cmds[] = {
	{ "create", vol_create, "Create a volume", NULL },
	{ "inspect", vol_inspect, "Display detailed information on one or more volumes", NULL },
	{ "ls", vol_ls, "List volumes", "list" },
	{ "prune", vol_prune, "Remove unused local volumes", NULL },
	{ "rm", vol_rm, "Remove one or more volumes", "remove" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_usage volume_usage = {
	.path = "volume",
	.args = "COMMAND",
	.desc = "Manage volumes",
	.cmds = volume_cmds,
};

int cmd_volume(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &volume_usage, argc, argv);
}

/* "/volumes/<escaped name>". */
static char *vol_path(struct client *cl, const char *name)
{
	char *e = client_escape(cl, name), *p = NULL;

	if (!e)
		return NULL;
	if (asprintf(&p, "/volumes/%s", e) < 0)
		p = NULL;
	free(e);
	return p;
}

/* "k=v" into obj[k] = v; "k" alone is an empty value, as Docker does. */
static int add_kv(json_t *obj, const char *s)
{
	const char *eq = strchr(s, '=');
	char *k = eq ? strndup(s, (size_t)(eq - s)) : strdup(s);
	int r;

	if (!k)
		return -1;
	r = json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
	free(k);
	return r;
}

/* ---- create -------------------------------------------------------------- */

enum { OPT_LABEL = 256, OPT_NAME, OPT_FORMAT };

static const struct cli_opt create_opts[] = {
	{ 'd', 'd', "driver", "string", "Specify volume driver name (default \"local\")" },
	{ OPT_LABEL, 0, "label", "list", "Set metadata for a volume" },
	{ OPT_NAME, 0, "name", "string", "Specify volume name" },
	{ 'o', 'o', "opt", "map", "Set driver specific options (default map[])" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage create_usage = {
	.path = "volume create",
	.args = "[OPTIONS] [VOLUME]",
	.desc = "Create a volume",
	.opts = create_opts,
	.extra =
		"Options of the local driver (mounted on the volume when a container uses it):\n"
		"  -o type=tmpfs -o device=tmpfs [-o o=size=64m,uid=1000]\n"
		"  -o type=none -o o=bind -o device=/host/dir\n"
		"  -o type=ext4 -o device=/dev/loop0 [-o o=ro]\n",
};

static int vol_create(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *driver = "local", *name = NULL, *val;
	json_t *labels = json_object(), *opts = json_object(), *body = NULL, *resp = NULL;
	bool name_set = false;
	struct cli_parse p;
	struct client cl;
	int o, rc = 1;

	if (!labels || !opts)
		goto out;
	cli_parse_init(&p, &create_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case 'd':
			driver = val;
			break;
		case OPT_NAME:
			name = val;
			name_set = true;
			break;
		case OPT_LABEL:
			add_kv(labels, val);
			break;
		case 'o':
			if (!strchr(val, '=')) {
				fprintf(stderr, "invalid argument \"%s\" for \"-o, --opt\" flag: "
						"expected key=value\nSee 'shoal volume create --help'.\n",
					val);
				goto out;
			}
			add_kv(opts, val);
			break;
		}
	}
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_range(&create_usage, p.nargs, 0, 1))
		goto out;
	if (p.nargs == 1) {
		if (name_set && strcmp(name, p.args[0])) {
			fprintf(stderr, "Conflicting options: either specify --name or provide positional arg, not both\n");
			goto out;
		}
		name = p.args[0];
		name_set = true;
	}
	/* The API makes a random name for ""; an explicit empty name is a
	 * mistake, not a request for one. */
	if (name_set && !*name) {
		fprintf(stderr, "invalid volume name: the name must not be empty\n");
		goto out;
	}
	body = json_pack("{s:s, s:s, s:O, s:O}", "Name", name ? name : "", "Driver", driver,
			 "DriverOpts", opts, "Labels", labels);
	if (!body)
		goto out;
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	if (client_call(&cl, "POST", "/volumes/create", body, 0, &resp, NULL) == CLIENT_OK) {
		printf("%s\n", jstr(resp, "Name"));
		rc = 0;
	}
	client_close(&cl);
out:
	json_decref(resp);
	json_decref(body);
	json_decref(labels);
	json_decref(opts);
	return rc;
}

/* ---- ls ------------------------------------------------------------------ */

static const struct cli_opt ls_opts[] = {
	{ 'f', 'f', "filter", "filter",
	  "Provide filter values (e.g. \"dangling=true\", \"driver=local\", \"label=k=v\", \"name=x\")" },
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table', 'table TEMPLATE', 'json' or TEMPLATE (fields: .Name .Driver .Scope .Mountpoint .Labels .Links .Size)" },
	{ 'q', 'q', "quiet", NULL, "Only display volume names" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage ls_usage = {
	.path = "volume ls",
	.args = "[OPTIONS]",
	.desc = "List volumes",
	.aliases = "shoal volume ls, shoal volume list",
	.opts = ls_opts,
};

#define LS_TABLE "table {{.Driver}}\t{{.Name}}"

static int cmp_name(const void *a, const void *b)
{
	return natural_cmp(jstr(*(json_t *const *)a, "Name"), jstr(*(json_t *const *)b, "Name"));
}

/* The fields of Docker's volume ls formatter, as strings. */
static json_t *ls_row(json_t *v)
{
	struct sbuf labels = { 0 };
	const char *k;
	json_t *x, *row;

	json_object_foreach(jobj(v, "Labels"), k, x)
		sbuf_printf(&labels, "%s%s=%s", labels.len ? "," : "", k,
			    json_string_value(x) ? json_string_value(x) : "");
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Availability",
			"N/A", "Driver", jstr(v, "Driver"), "Group", "N/A", "Labels",
			sbuf_str(&labels), "Links", "N/A", "Mountpoint", jstr(v, "Mountpoint"),
			"Name", jstr(v, "Name"), "Scope", jstr(v, "Scope"), "Size", "N/A",
			"Status", "N/A");
	sbuf_free(&labels);
	return row;
}

static int vol_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	json_t *filters = json_object(), *resp = NULL, *rows = NULL, *hdr = NULL, *list;
	json_t **sorted = NULL;
	char *path = NULL;
	struct client cl = { 0 };
	struct shoal_err err;
	struct cli_parse p;
	bool quiet = false;
	size_t n = 0;
	int o, rc = 1;

	if (!filters)
		return 1;
	cli_parse_init(&p, &ls_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case 'q':
			quiet = val[0] == 't';
			break;
		case OPT_FORMAT:
			format = val;
			break;
		case 'f':
			if (cli_filter_add(filters, val) < 0)
				goto out;
			break;
		}
	}
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_none(&ls_usage, p.nargs))
		goto out;
	if (quiet)
		format = "{{.Name}}";
	if (format && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		goto out;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	path = client_filters_path(&cl, "/volumes", filters);
	if (!path)
		goto out;
	if (client_call(&cl, "GET", path, NULL, 0, &resp, NULL) != CLIENT_OK)
		goto out;
	list = jarr(resp, "Volumes");
	n = json_array_size(list);
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Availability",
			"AVAILABILITY", "Driver", "DRIVER", "Group", "GROUP", "Labels", "LABELS",
			"Links", "LINKS", "Mountpoint", "MOUNTPOINT", "Name", "VOLUME NAME",
			"Scope", "SCOPE", "Size", "SIZE", "Status", "STATUS");
	if (!sorted || !rows || !hdr)
		goto out;
	for (size_t i = 0; i < n; i++)
		sorted[i] = json_array_get(list, i);
	qsort(sorted, n, sizeof(*sorted), cmp_name);
	for (size_t i = 0; i < n; i++)
		if (json_is_object(sorted[i]))
			json_array_append_new(rows, ls_row(sorted[i]));
	if (format_rows(format, LS_TABLE, rows, hdr, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	client_close(&cl);
	free(sorted);
	free(path);
	json_decref(hdr);
	json_decref(rows);
	json_decref(resp);
	json_decref(filters);
	return rc;
}

/* ---- inspect ------------------------------------------------------------- */

static const struct cli_opt inspect_opts[] = {
	{ 'f', 'f', "format", "string",
	  "Format output using a template ('json' or e.g. '{{.Mountpoint}}')" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage inspect_usage = {
	.path = "volume inspect",
	.args = "[OPTIONS] VOLUME [VOLUME...]",
	.desc = "Display detailed information on one or more volumes",
	.opts = inspect_opts,
};

static int vol_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_inspect_run(ctx, &inspect_usage, argc, argv, "volume", vol_path);
}

/* ---- rm ------------------------------------------------------------------ */

static const struct cli_opt rm_opts[] = {
	{ 'f', 'f', "force", NULL, "Force the removal of one or more volumes" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage rm_usage = {
	.path = "volume rm",
	.args = "[OPTIONS] VOLUME [VOLUME...]",
	.desc = "Remove one or more volumes. You cannot remove a volume that is in use by a container.",
	.aliases = "shoal volume rm, shoal volume remove",
	.opts = rm_opts,
};

static int vol_rm(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parse p;
	struct client cl;
	bool force = false;
	const char *val;
	int o, rc = 0;

	cli_parse_init(&p, &rm_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'f')
			force = val[0] == 't';
	if (o < 0)
		return p.rc;
	if (cli_args_min(&rm_usage, p.nargs, 1))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	/* Like Docker: go on after a failure, report each, exit 1 at the end. */
	for (int i = 0; i < p.nargs; i++) {
		char *path = vol_path(&cl, p.args[i]), *full = NULL;
		int r;

		if (!path || asprintf(&full, "%s?force=%d", path, force) < 0) {
			free(path);
			rc = 1;
			break;
		}
		r = client_call(&cl, "DELETE", full, NULL, 0, NULL, NULL);
		free(path);
		free(full);
		if (r == CLIENT_OK) {
			printf("%s\n", p.args[i]);
			fflush(stdout);
		} else {
			rc = 1;
			if (r == CLIENT_ECONNECT)
				break;
		}
	}
	client_close(&cl);
	return rc;
}

/* ---- prune --------------------------------------------------------------- */

enum { OPT_ALL = 'a' };

static const struct cli_opt prune_opts[] = {
	{ OPT_ALL, 'a', "all", NULL, "Remove all unused volumes, not just anonymous ones" },
	{ 'F', 0, "filter", "filter", "Provide filter values (e.g. \"label=<label>\")" },
	{ 'f', 'f', "force", NULL, "Do not prompt for confirmation" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage prune_usage = {
	.path = "volume prune",
	.args = "[OPTIONS]",
	.desc = "Remove unused local volumes",
	.opts = prune_opts,
};

static int vol_prune(struct cli_ctx *ctx, int argc, char **argv)
{
	json_t *filters = json_object(), *resp = NULL, *del, *x;
	char *path = NULL, size[32];
	bool all = false, force = false;
	struct client cl = { 0 };
	struct cli_parse p;
	const char *val;
	int o, rc = 1;
	size_t i;

	if (!filters)
		return 1;
	cli_parse_init(&p, &prune_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_ALL)
			all = val[0] == 't';
		else if (o == 'f')
			force = val[0] == 't';
		else if (o == 'F' && cli_filter_add(filters, val) < 0)
			goto out;
	}
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_none(&prune_usage, p.nargs))
		goto out;
	if (all)
		json_object_set_new(filters, "all", json_pack("[s]", "true"));
	if (!force && !cli_confirm(all ? "WARNING! This will remove all local volumes not used by at least one container." :
				   "WARNING! This will remove anonymous local volumes not used by at least one container.")) {
		rc = 0;
		goto out;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	path = client_filters_path(&cl, "/volumes/prune", filters);
	if (!path)
		goto out;
	if (client_call(&cl, "POST", path, NULL, 0, &resp, NULL) != CLIENT_OK)
		goto out;
	del = jarr(resp, "VolumesDeleted");
	if (json_array_size(del)) {
		printf("Deleted Volumes:\n");
		json_array_foreach(del, i, x)
			printf("%s\n", json_string_value(x) ? json_string_value(x) : "");
		printf("\n");
	}
	human_size((double)(json_array_size(del) ? jint(resp, "SpaceReclaimed") : 0), 4, size,
		   sizeof(size));
	printf("Total reclaimed space: %s\n", size);
	rc = 0;
out:
	client_close(&cl);
	free(path);
	json_decref(resp);
	json_decref(filters);
	return rc;
}
