// SPDX-License-Identifier: Apache-2.0
/*
 * prune.c - `shoal container prune`, `network prune`, `image prune` and
 * `system prune` (with `system info`): Docker's prompts, flags and output
 * over the /{containers,networks,images,volumes}/prune endpoints.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "cli.h"
#include "client.h"
#include "output.h"

bool cli_confirm(const char *warning)
{
	char line[64];

	printf("%s\nAre you sure you want to continue? [y/N] ", warning);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

/* What one prune printed and freed. */
struct pruned {
	char *text;   /* "Deleted X:\n...\n" or NULL */
	long long bytes;
};

/* POST path?filters=; the report into *out. 0 or 1 (error printed). */
static int prune_call(struct client *cl, const char *path, json_t *filters, json_t **out)
{
	char *p = client_filters_path(cl, path, filters);
	int rc;

	if (!p)
		return 1;
	rc = client_call(cl, "POST", p, NULL, 0, out, NULL) == CLIENT_OK ? 0 : 1;
	free(p);
	return rc;
}

/* "Deleted <what>:\n" and one line per string of report[key]. */
static void report_list(json_t *report, const char *key, const char *what, struct pruned *o)
{
	json_t *del = jarr(report, key), *x;
	size_t len = 0, i;
	FILE *f;

	o->text = NULL;
	o->bytes = 0;
	if (!json_array_size(del))
		return;
	f = open_memstream(&o->text, &len);
	if (!f)
		return;
	fprintf(f, "Deleted %s:\n", what);
	json_array_foreach(del, i, x)
		fprintf(f, "%s\n", json_string_value(x) ? json_string_value(x) : "");
	fclose(f);
	o->bytes = jint(report, "SpaceReclaimed");
}

/* Docker's image prune lines: "untagged: ref" / "deleted: sha256:...". */
static void report_images(json_t *report, struct pruned *o)
{
	json_t *del = jarr(report, "ImagesDeleted"), *x;
	size_t len = 0, i;
	FILE *f;

	o->text = NULL;
	o->bytes = 0;
	if (!json_array_size(del))
		return;
	f = open_memstream(&o->text, &len);
	if (!f)
		return;
	fprintf(f, "Deleted Images:\n");
	json_array_foreach(del, i, x) {
		if (*jstr(x, "Untagged"))
			fprintf(f, "untagged: %s\n", jstr(x, "Untagged"));
		else
			fprintf(f, "deleted: %s\n", jstr(x, "Deleted"));
	}
	fclose(f);
	o->bytes = jint(report, "SpaceReclaimed");
}

enum prune_kind { P_CONTAINERS, P_NETWORKS, P_VOLUMES, P_IMAGES };

/* One prune against the daemon; o filled. 0 or 1. */
static int prune_one(struct client *cl, enum prune_kind k, json_t *filters, struct pruned *o)
{
	static const char *const paths[] = { "/containers/prune", "/networks/prune",
					     "/volumes/prune", "/images/prune" };
	json_t *rep = NULL;

	o->text = NULL;
	o->bytes = 0;
	if (prune_call(cl, paths[k], filters, &rep))
		return 1;
	switch (k) {
	case P_CONTAINERS:
		report_list(rep, "ContainersDeleted", "Containers", o);
		break;
	case P_NETWORKS:
		report_list(rep, "NetworksDeleted", "Networks", o);
		break;
	case P_VOLUMES:
		report_list(rep, "VolumesDeleted", "Volumes", o);
		break;
	case P_IMAGES:
		report_images(rep, o);
		break;
	}
	json_decref(rep);
	return 0;
}

static void print_total(long long bytes)
{
	char size[32];

	human_size((double)bytes, 4, size, sizeof(size));
	printf("Total reclaimed space: %s\n", size);
}

enum { OPT_ALL = 'a', OPT_FILTER = 'F', OPT_FORCE = 'f', OPT_VOLUMES = 256 };

/* The options every prune takes; -a and --volumes where they apply. */
struct prune_args {
	json_t *filters;
	bool all, force, volumes;
};

static int parse(const struct cli_usage *u, int argc, char **argv, struct prune_args *a)
{
	struct cli_parse p;
	const char *val;
	int o;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_ALL)
			a->all = val[0] == 't';
		else if (o == OPT_FORCE)
			a->force = val[0] == 't';
		else if (o == OPT_VOLUMES)
			a->volumes = val[0] == 't';
		else if (o == OPT_FILTER && cli_filter_add(a->filters, val) < 0)
			return 1;
	}
	if (o < 0)
		return p.rc;
	return cli_args_none(u, p.nargs) ? 1 : -1;
}

/* Parse, prompt, prune kind k, print. */
static int prune_cmd(struct cli_ctx *ctx, const struct cli_usage *u, enum prune_kind k,
		     int argc, char **argv)
{
	struct prune_args a = { .filters = json_object() };
	struct client cl = { 0 };
	struct pruned o = { 0 };
	const char *warning;
	int rc;

	if (!a.filters)
		return 1;
	rc = parse(u, argc, argv, &a);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (k == P_IMAGES && a.all)
		json_object_set_new(a.filters, "dangling", json_pack("[s]", "false"));
	switch (k) {
	case P_CONTAINERS:
		warning = "WARNING! This will remove all stopped containers.";
		break;
	case P_NETWORKS:
		warning = "WARNING! This will remove all custom networks not used by at least one container.";
		break;
	default:
		warning = a.all ? "WARNING! This will remove all images without at least one container associated to them." :
				  "WARNING! This will remove all dangling images.";
	}
	if (!a.force && !cli_confirm(warning)) {
		rc = 0;
		goto out;
	}
	if (client_open_or_report(&cl, ctx->host) || prune_one(&cl, k, a.filters, &o))
		goto out;
	if (o.text)
		printf("%s\n", o.text);
	if (k != P_NETWORKS)
		print_total(o.bytes);
	rc = 0;
out:
	free(o.text);
	client_close(&cl);
	json_decref(a.filters);
	return rc;
}

static const struct cli_opt prune_opts[] = {
	{ OPT_FILTER, 0, "filter", "filter", "Provide filter values (e.g. \"until=<timestamp>\")" },
	{ OPT_FORCE, 'f', "force", NULL, "Do not prompt for confirmation" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage container_prune_usage = {
	.path = "container prune",
	.args = "[OPTIONS]",
	.desc = "Remove all stopped containers",
	.opts = prune_opts,
};

int cmd_container_prune(struct cli_ctx *ctx, int argc, char **argv)
{
	return prune_cmd(ctx, &container_prune_usage, P_CONTAINERS, argc, argv);
}

static const struct cli_usage network_prune_usage = {
	.path = "network prune",
	.args = "[OPTIONS]",
	.desc = "Remove all unused networks",
	.opts = prune_opts,
};

int cmd_network_prune(struct cli_ctx *ctx, int argc, char **argv)
{
	return prune_cmd(ctx, &network_prune_usage, P_NETWORKS, argc, argv);
}

static const struct cli_opt image_prune_opts[] = {
	{ OPT_ALL, 'a', "all", NULL, "Remove all unused images, not just dangling ones" },
	{ OPT_FILTER, 0, "filter", "filter", "Provide filter values (e.g. \"until=<timestamp>\")" },
	{ OPT_FORCE, 'f', "force", NULL, "Do not prompt for confirmation" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage image_prune_usage = {
	.path = "image prune",
	.args = "[OPTIONS]",
	.desc = "Remove unused images",
	.opts = image_prune_opts,
};

int cmd_image_prune(struct cli_ctx *ctx, int argc, char **argv)
{
	return prune_cmd(ctx, &image_prune_usage, P_IMAGES, argc, argv);
}

/* ---- system prune ------------------------------------------------------ */

static const struct cli_opt system_prune_opts[] = {
	{ OPT_ALL, 'a', "all", NULL, "Remove all unused images not just dangling ones" },
	{ OPT_FILTER, 0, "filter", "filter", "Provide filter values (e.g. \"label=<key>=<value>\")" },
	{ OPT_FORCE, 'f', "force", NULL, "Do not prompt for confirmation" },
	{ OPT_VOLUMES, 0, "volumes", NULL, "Prune anonymous volumes" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage system_prune_usage = {
	.path = "system prune",
	.args = "[OPTIONS]",
	.desc = "Remove unused data",
	.opts = system_prune_opts,
};

/* The filters one kind takes: volumes know no "until", Docker drops it. */
static json_t *filters_for(json_t *filters, enum prune_kind k, bool all)
{
	json_t *f = json_deep_copy(filters);

	if (!f)
		return NULL;
	if (k == P_VOLUMES)
		json_object_del(f, "until");
	if (k == P_IMAGES && all)
		json_object_set_new(f, "dangling", json_pack("[s]", "false"));
	return f;
}

static int system_prune(struct cli_ctx *ctx, int argc, char **argv)
{
	struct prune_args a = { .filters = json_object() };
	static const enum prune_kind order[] = { P_CONTAINERS, P_NETWORKS, P_VOLUMES, P_IMAGES };
	struct client cl = { 0 };
	long long total = 0;
	char warning[512];
	int rc;

	if (!a.filters)
		return 1;
	rc = parse(&system_prune_usage, argc, argv, &a);
	if (rc >= 0)
		goto out;
	rc = 1;
	snprintf(warning, sizeof(warning),
		 "WARNING! This will remove:\n"
		 "  - all stopped containers\n"
		 "  - all networks not used by at least one container\n%s%s",
		 a.volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
		 a.all ? "  - all images without at least one container associated to them\n" :
			 "  - all dangling images\n");
	if (!a.force && !cli_confirm(warning)) {
		rc = 0;
		goto out;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		struct pruned o;
		json_t *f;
		int r;

		if (order[i] == P_VOLUMES && !a.volumes)
			continue;
		f = filters_for(a.filters, order[i], a.all);
		r = f ? prune_one(&cl, order[i], f, &o) : 1;
		json_decref(f);
		if (r)
			goto out;
		if (o.text)
			printf("%s\n", o.text);
		total += o.bytes;
		free(o.text);
	}
	print_total(total);
	rc = 0;
out:
	client_close(&cl);
	json_decref(a.filters);
	return rc;
}

static const struct cli_cmd system_cmds[] = {
	{ "info", cmd_info, "Display system-wide information", NULL },
	{ "prune", system_prune, "Remove unused data", NULL },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_usage system_usage = {
	.path = "system",
	.args = "COMMAND",
	.desc = "Manage shoal",
	.cmds = system_cmds,
};

int cmd_system(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &system_usage, argc, argv);
}
