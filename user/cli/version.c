// SPDX-License-Identifier: Apache-2.0
/*
 * version.c - `shoal version`: the client's version, then the daemon's
 * (GET /version), laid out as `docker version` lays them out. When the
 * daemon is down the client part is still printed, then the error.
 */
#include <string.h>

#include "../common/names.h"
#include "cli.h"
#include "client.h"
#include "inspect.h"
#include "output.h"

#define VERSION_COL 20 /* docker's tabwriter puts values at column 20 */

static const struct cli_opt version_opts[] = {
	{ 'f', 'f', "format", "string",
	  "Format output: 'json', or a template ('{{.Server.Version}}')" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage version_usage = {
	.path = "version",
	.args = "[OPTIONS]",
	.desc = "Show the shoal version information",
	.opts = version_opts,
};

static void line(const char *indent, const char *label, const char *value)
{
	char l[64];

	if (!value || !*value)
		return;
	snprintf(l, sizeof(l), "%s%s:", indent, label);
	printf("%-*s%s\n", VERSION_COL, l, value);
}

static json_t *client_info(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "Version", SHOAL_VERSION,
			 "ApiVersion", SHOAL_API_VERSION, "DefaultAPIVersion",
			 SHOAL_API_VERSION, "Os", "linux", "Arch", cli_goarch());
}

static void print_client(void)
{
	char osarch[64];

	snprintf(osarch, sizeof(osarch), "linux/%s", cli_goarch());
	printf("Client:\n");
	line(" ", "Version", SHOAL_VERSION);
	line(" ", "API version", SHOAL_API_VERSION);
	line(" ", "OS/Arch", osarch);
}

static void print_server(json_t *v)
{
	const char *platform = jstr(jobj(v, "Platform"), "Name");
	char buf[128];
	json_t *comps = jarr(v, "Components"), *c;
	size_t i;

	printf("\nServer: %s\n", *platform ? platform : "shoal");
	printf(" Engine:\n");
	line("  ", "Version", jstr(v, "Version"));
	if (*jstr(v, "MinAPIVersion"))
		snprintf(buf, sizeof(buf), "%s (minimum version %s)",
			 jstr(v, "ApiVersion"), jstr(v, "MinAPIVersion"));
	else
		snprintf(buf, sizeof(buf), "%s", jstr(v, "ApiVersion"));
	line("  ", "API version", buf);
	line("  ", "Git commit", jstr(v, "GitCommit"));
	line("  ", "Built", jstr(v, "BuildTime"));
	if (*jstr(v, "Os") || *jstr(v, "Arch")) {
		snprintf(buf, sizeof(buf), "%s/%s", jstr(v, "Os"), jstr(v, "Arch"));
		line("  ", "OS/Arch", buf);
	}
	line("  ", "Kernel", jstr(v, "KernelVersion"));
	json_array_foreach(comps, i, c) {
		const char *name = jstr(c, "Name");

		if (!*name || !strcmp(name, "Engine"))
			continue;
		printf(" %s:\n", name);
		line("  ", "Version", jstr(c, "Version"));
	}
}

int cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	struct cli_parse p;
	struct client cl;
	json_t *server = NULL;
	struct shoal_err err;
	int o, rc;

	cli_parse_init(&p, &version_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'f')
			format = val;
	if (o < 0)
		return p.rc;
	if (cli_args_none(&version_usage, p.nargs))
		return 1;
	if (cli_format_prepare(&format, "{{json .}}"))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	if (!format)
		print_client();
	fflush(stdout);
	rc = client_call(&cl, "GET", "/version", NULL, 0, &server, NULL);
	client_close(&cl);
	if (format) {
		json_t *all = json_pack("{s:o, s:O}", "Client", client_info(),
					"Server", server ? server : json_null());
		struct sbuf out = { 0 };

		if (all && tmpl_exec(format, all, &out, &err) == 0) {
			printf("%s\n", sbuf_str(&out));
		} else if (all) {
			fprintf(stderr, "%s\n", err.msg);
			rc = 1;
		}
		sbuf_free(&out);
		json_decref(all);
	} else if (rc == CLIENT_OK) {
		print_server(server);
	}
	json_decref(server);
	return rc ? 1 : 0;
}
