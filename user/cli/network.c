// SPDX-License-Identifier: Apache-2.0
/*
 * network.c - `shoal network create|ls|inspect|rm|connect|disconnect`,
 * Docker's `docker network` verbs over the /networks API (`network peer`,
 * the overlay's remote endpoints, is in peer.c).
 *
 * A container here can also be a bare network namespace: `--netns NAME`
 * (meaning /run/netns/NAME) or `--netns /path`, so the data path is usable
 * before shoal runs containers of its own.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "inspect.h"
#include "output.h"

#define NETNS_DIR "/run/netns/"

static int net_create(struct cli_ctx *ctx, int argc, char **argv);
static int net_ls(struct cli_ctx *ctx, int argc, char **argv);
static int net_inspect(struct cli_ctx *ctx, int argc, char **argv);
static int net_rm(struct cli_ctx *ctx, int argc, char **argv);
static int net_connect(struct cli_ctx *ctx, int argc, char **argv);
static int net_disconnect(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd network_cmds[] = {
	{ "connect", net_connect, "Connect a container or a network namespace to a network", NULL },
	{ "create", net_create, "Create a network", NULL },
	{ "disconnect", net_disconnect, "Disconnect a container or a network namespace from a network", NULL },
	{ "inspect", net_inspect, "Display detailed information on one or more networks", NULL },
	{ "ls", net_ls, "List networks", "list" },
	{ "peer", cmd_network_peer, "Manage the remote endpoints (peers) of an overlay network", NULL },
	{ "prune", cmd_network_prune, "Remove all unused networks", NULL },
	{ "rm", net_rm, "Remove one or more networks", "remove" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_usage network_usage = {
	.path = "network",
	.args = "COMMAND",
	.desc = "Manage networks",
	.cmds = network_cmds,
};

int cmd_network(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &network_usage, argc, argv);
}

/* "k=v" into obj[k] = v; "k" alone means an empty value, as Docker does. */
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

/* A path stays a path; a bare name is an `ip netns` name. */
static int netns_path(const char *arg, char *out, size_t len)
{
	if (!*arg || !strcmp(arg, ".") || !strcmp(arg, ".."))
		return -1;
	if (strchr(arg, '/'))
		return snprintf(out, len, "%s", arg) >= (int)len ? -1 : 0;
	return snprintf(out, len, NETNS_DIR "%s", arg) >= (int)len ? -1 : 0;
}

/* "/networks/<escaped name>" + suffix. */
static char *net_path(struct client *cl, const char *name, const char *suffix)
{
	char *e = client_escape(cl, name), *p = NULL;

	if (!e)
		return NULL;
	if (asprintf(&p, "/networks/%s%s", e, suffix) < 0)
		p = NULL;
	free(e);
	return p;
}

/* ---- create -------------------------------------------------------------- */

enum {
	OPT_SUBNET = 256, OPT_GATEWAY, OPT_IPRANGE, OPT_LABEL, OPT_ATTACHABLE,
	OPT_INTERNAL, OPT_NOTRUNC, OPT_FORMAT, OPT_NETNS, OPT_IP,
};

static const struct cli_opt create_opts[] = {
	{ OPT_ATTACHABLE, 0, "attachable", NULL, "Enable manual container attachment" },
	{ 'd', 'd', "driver", "string", "Driver to manage the Network: \"local\" or \"overlay\" (default \"local\")" },
	{ OPT_GATEWAY, 0, "gateway", "string", "IPv4 Gateway for the master subnet" },
	{ OPT_INTERNAL, 0, "internal", NULL, "Restrict external access to the network" },
	{ OPT_IPRANGE, 0, "ip-range", "string", "Allocate container ip from a sub-range" },
	{ OPT_LABEL, 0, "label", "list", "Set metadata on a network" },
	{ 'o', 'o', "opt", "map", "Set driver specific options (default map[])" },
	{ OPT_SUBNET, 0, "subnet", "string", "Subnet in CIDR format that represents a network segment" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage create_usage = {
	.path = "network create",
	.args = "[OPTIONS] NETWORK",
	.desc = "Create a network",
	.opts = create_opts,
	.extra =
		"Options of -d overlay (VXLAN between nodes; shoald needs an underlay):\n"
		"  -o vni=N        VXLAN network identifier (default: lowest free from 4096)\n"
		"  -o mtu=N        MTU of the endpoints (default: underlay MTU - 50)\n"
		"  -o encrypted    refused until shoal encrypts overlay traffic\n"
		"Remote endpoints are added with 'shoal network peer add'.\n",
};

static int net_create(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *driver = "local", *subnet = NULL, *gateway = NULL,
		   *iprange = NULL, *val;
	json_t *labels = json_object(), *opts = json_object(), *body = NULL,
	       *cfg = NULL, *resp = NULL;
	bool attachable = false, internal = false;
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
		case OPT_SUBNET:
			if (subnet) {
				fprintf(stderr, "only one --subnet is supported\n");
				goto out;
			}
			subnet = val;
			break;
		case OPT_GATEWAY:
			if (gateway) {
				fprintf(stderr, "only one --gateway is supported\n");
				goto out;
			}
			gateway = val;
			break;
		case OPT_IPRANGE:
			if (iprange) {
				fprintf(stderr, "only one --ip-range is supported\n");
				goto out;
			}
			iprange = val;
			break;
		case OPT_LABEL:
			add_kv(labels, val);
			break;
		case 'o':
			add_kv(opts, val);
			break;
		case OPT_ATTACHABLE:
			attachable = val[0] == 't';
			break;
		case OPT_INTERNAL:
			internal = val[0] == 't';
			break;
		}
	}
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_exact(&create_usage, p.nargs, 1))
		goto out;
	if ((gateway || iprange) && !subnet) {
		fprintf(stderr, "every ip-range or gateway must have a corresponding subnet\n");
		goto out;
	}
	cfg = json_array();
	if (!cfg)
		goto out;
	if (subnet) {
		json_t *c = json_pack("{s:s}", "Subnet", subnet);

		if (iprange)
			json_object_set_new(c, "IPRange", json_string(iprange));
		if (gateway)
			json_object_set_new(c, "Gateway", json_string(gateway));
		json_array_append_new(cfg, c);
	}
	body = json_pack("{s:s, s:b, s:s, s:b, s:b, s:{s:s, s:O, s:{}}, s:O, s:O}",
			 "Name", p.args[0], "CheckDuplicate", 1, "Driver", driver,
			 "Internal", internal, "Attachable", attachable, "IPAM",
			 "Driver", "default", "Config", cfg, "Options", "Options",
			 opts, "Labels", labels);
	if (!body)
		goto out;
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	if (client_call(&cl, "POST", "/networks/create", body, 0, &resp, NULL) ==
	    CLIENT_OK) {
		if (*jstr(resp, "Warning"))
			fprintf(stderr, "WARNING: %s\n", jstr(resp, "Warning"));
		printf("%s\n", jstr(resp, "Id"));
		rc = 0;
	}
	client_close(&cl);
out:
	json_decref(resp);
	json_decref(body);
	json_decref(cfg);
	json_decref(labels);
	json_decref(opts);
	return rc;
}

/* ---- ls ------------------------------------------------------------------ */

static const struct cli_opt ls_opts[] = {
	{ 'f', 'f', "filter", "filter",
	  "Provide filter values (e.g. \"driver=local\", \"name=x\", \"label=k=v\", \"id=abc\")" },
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table', 'table TEMPLATE', 'json' or TEMPLATE (fields: .ID .Name .Driver .Scope .IPv6 .Internal .Labels .CreatedAt)" },
	{ OPT_NOTRUNC, 0, "no-trunc", NULL, "Do not truncate the output" },
	{ 'q', 'q', "quiet", NULL, "Only display network IDs" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage ls_usage = {
	.path = "network ls",
	.args = "[OPTIONS]",
	.desc = "List networks",
	.aliases = "shoal network ls, shoal network list",
	.opts = ls_opts,
};

#define LS_TABLE "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

static int cmp_name(const void *a, const void *b)
{
	return natural_cmp(jstr(*(json_t *const *)a, "Name"),
			   jstr(*(json_t *const *)b, "Name"));
}

/* The fields Docker's network ls formatter exposes, as strings. */
static json_t *ls_row(json_t *n, bool notrunc)
{
	const char *id = jstr(n, "Id"), *k;
	struct sbuf labels = { 0 };
	json_t *v, *row;

	json_object_foreach(jobj(n, "Labels"), k, v) {
		sbuf_printf(&labels, "%s%s=%s", labels.len ? "," : "", k,
			    json_string_value(v) ? json_string_value(v) : "");
	}
	row = json_pack("{s:s%, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id,
			notrunc ? strlen(id) : strnlen(id, 12), "Name",
			jstr(n, "Name"), "Driver", jstr(n, "Driver"), "Scope",
			jstr(n, "Scope"), "IPv6",
			jbool(n, "EnableIPv6") ? "true" : "false", "Internal",
			jbool(n, "Internal") ? "true" : "false", "Labels",
			sbuf_str(&labels), "CreatedAt", jstr(n, "Created"));
	sbuf_free(&labels);
	return row;
}

static int net_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	bool quiet = false, notrunc = false;
	json_t *filters = json_object(), *list = NULL, *rows = NULL, *hdr = NULL;
	json_t **sorted = NULL;
	char *path = NULL;
	struct shoal_err err;
	struct cli_parse p;
	struct client cl = { 0 };
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
		case OPT_NOTRUNC:
			notrunc = val[0] == 't';
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
		format = "{{.ID}}";
	if (format && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		goto out;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	path = client_filters_path(&cl, "/networks", filters);
	if (!path)
		goto out;
	if (client_call(&cl, "GET", path, NULL, 0, &list, NULL) != CLIENT_OK)
		goto out;
	n = json_array_size(list);
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
			"NETWORK ID", "Name", "NAME", "Driver", "DRIVER", "Scope",
			"SCOPE", "IPv6", "IPV6", "Internal", "INTERNAL", "Labels",
			"LABELS", "CreatedAt", "CREATED AT");
	if (!sorted || !rows || !hdr)
		goto out;
	for (size_t i = 0; i < n; i++)
		sorted[i] = json_array_get(list, i);
	qsort(sorted, n, sizeof(*sorted), cmp_name);
	for (size_t i = 0; i < n; i++)
		if (json_is_object(sorted[i]))
			json_array_append_new(rows, ls_row(sorted[i], notrunc));
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
	json_decref(list);
	json_decref(filters);
	return rc;
}

/* ---- inspect ------------------------------------------------------------- */

static const struct cli_opt inspect_opts[] = {
	{ 'f', 'f', "format", "string",
	  "Format output using a template ('json' or e.g. '{{json .IPAM}}', see below)" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage inspect_usage = {
	.path = "network inspect",
	.args = "[OPTIONS] NETWORK [NETWORK...]",
	.desc = "Display detailed information on one or more networks",
	.opts = inspect_opts,
	.extra =
		"Templates are a subset of Go's text/template, one line per network:\n"
		"  {{.Name}} {{.IPAM.Config}} {{json .Containers}} {{index .Options \"k\"}}\n"
		"  {{len .Containers}} {{join LIST SEP}} {{upper .Driver}} {{.Name | lower}}\n"
		"Objects and arrays print as JSON; a missing key prints \"<no value>\".\n"
		"No {{range}} or {{if}}.\n",
};

static char *inspect_path(struct client *cl, const char *name)
{
	return net_path(cl, name, "");
}

static int net_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_inspect_run(ctx, &inspect_usage, argc, argv, "network", inspect_path);
}

/* ---- rm ------------------------------------------------------------------ */

static const struct cli_opt rm_opts[] = {
	{ 'f', 'f', "force", NULL, "Do not error if the network does not exist" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage rm_usage = {
	.path = "network rm",
	.args = "NETWORK [NETWORK...]",
	.desc = "Remove one or more networks",
	.aliases = "shoal network rm, shoal network remove",
	.opts = rm_opts,
};

static int net_rm(struct cli_ctx *ctx, int argc, char **argv)
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
		char *path = net_path(&cl, p.args[i], "");
		long status = 0;
		int r;

		if (!path) {
			rc = 1;
			break;
		}
		r = client_call(&cl, "DELETE", path, NULL,
				force ? CLIENT_QUIET_404 : 0, NULL, &status);
		free(path);
		if (r == CLIENT_OK) {
			printf("%s\n", p.args[i]);
			fflush(stdout);
		} else if (r == CLIENT_ECONNECT) {
			rc = 1;
			break;
		} else if (!(force && status == 404)) {
			rc = 1;
		}
	}
	client_close(&cl);
	return rc;
}

/* ---- connect / disconnect ------------------------------------------------ */

static const struct cli_opt connect_opts[] = {
	{ OPT_IP, 0, "ip", "string", "IPv4 address (e.g., \"172.30.100.104\")" },
	{ OPT_NETNS, 0, "netns", "string",
	  "Network namespace to connect instead of a container: a name in " NETNS_DIR " or a path" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage connect_usage = {
	.path = "network connect",
	.args = "[OPTIONS] NETWORK {CONTAINER | --netns NETNS}",
	.desc = "Connect a container or a network namespace to a network",
	.opts = connect_opts,
};

static const struct cli_opt disconnect_opts[] = {
	{ 'f', 'f', "force", NULL, "Force the container to disconnect from a network" },
	{ OPT_NETNS, 0, "netns", "string",
	  "Network namespace to disconnect instead of a container: a name in " NETNS_DIR " or a path" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage disconnect_usage = {
	.path = "network disconnect",
	.args = "[OPTIONS] NETWORK {CONTAINER | --netns NETNS}",
	.desc = "Disconnect a container or a network namespace from a network",
	.opts = disconnect_opts,
};

/* NETWORK plus exactly one of CONTAINER and --netns. */
static int attach_target(const struct cli_usage *u, struct cli_parse *p,
			 const char *netns, char *nspath, size_t len)
{
	if (netns) {
		if (p->nargs > 1) {
			fprintf(stderr, "specify either a container or --netns, not both\n"
					"See '%s %s --help'.\n", CLI_PROG, u->path);
			return 1;
		}
		if (cli_args_exact(u, p->nargs, 1))
			return 1;
		if (netns_path(netns, nspath, len) < 0) {
			fprintf(stderr, "invalid --netns \"%s\"\n", netns);
			return 1;
		}
		return 0;
	}
	return cli_args_exact(u, p->nargs, 2);
}

static int net_attach(struct cli_ctx *ctx, const char *suffix, json_t *body, struct cli_parse *p)
{
	struct client cl;
	char *path;
	int rc = 1;

	if (client_open_or_report(&cl, ctx->host))
		return 1;
	path = net_path(&cl, p->args[0], suffix);
	if (path && client_call(&cl, "POST", path, body, 0, NULL, NULL) == CLIENT_OK)
		rc = 0;
	free(path);
	client_close(&cl);
	return rc;
}

static int net_connect(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *ip = NULL, *netns = NULL, *val;
	char nspath[PATH_MAX];
	struct cli_parse p;
	json_t *body, *epc;
	int o, rc;

	cli_parse_init(&p, &connect_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_IP)
			ip = val;
		else if (o == OPT_NETNS)
			netns = val;
	}
	if (o < 0)
		return p.rc;
	if (attach_target(&connect_usage, &p, netns, nspath, sizeof(nspath)))
		return 1;
	epc = ip ? json_pack("{s:{s:s}}", "IPAMConfig", "IPv4Address", ip) :
		   json_object();
	body = json_pack("{s:s, s:s, s:o}", "Container", netns ? "" : p.args[1],
			 "Netns", netns ? nspath : "", "EndpointConfig", epc);
	if (!body)
		return 1;
	rc = net_attach(ctx, "/connect", body, &p);
	json_decref(body);
	return rc;
}

static int net_disconnect(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *netns = NULL, *val;
	char nspath[PATH_MAX];
	bool force = false;
	struct cli_parse p;
	json_t *body;
	int o, rc;

	cli_parse_init(&p, &disconnect_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'f')
			force = val[0] == 't';
		else if (o == OPT_NETNS)
			netns = val;
	}
	if (o < 0)
		return p.rc;
	if (attach_target(&disconnect_usage, &p, netns, nspath, sizeof(nspath)))
		return 1;
	body = json_pack("{s:s, s:s, s:b}", "Container", netns ? "" : p.args[1],
			 "Netns", netns ? nspath : "", "Force", force);
	if (!body)
		return 1;
	rc = net_attach(ctx, "/disconnect", body, &p);
	json_decref(body);
	return rc;
}
