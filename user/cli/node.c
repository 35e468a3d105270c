// SPDX-License-Identifier: Apache-2.0
/*
 * node.c - `shoal node ls|inspect`: the members of the swarm, as `docker
 * node` shows them, over GET /nodes. shoal adds one column, GOSSIP: the
 * member's state in the gossip layer (alive, suspect, dead, left), which
 * moves before STATUS does when a node stops answering.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "inspect.h"
#include "output.h"
#include "swarm_cmd.h"

static int node_ls(struct cli_ctx *ctx, int argc, char **argv);
static int node_inspect(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd node_cmds[] = {
	{ "inspect", node_inspect, "Display detailed information on one or more nodes", NULL },
	{ "ls", node_ls, "List nodes in the swarm", "list" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_usage node_usage = {
	.path = "node",
	.args = "COMMAND",
	.desc = "Manage Swarm nodes",
	.cmds = node_cmds,
};

int cmd_node(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &node_usage, argc, argv);
}

/* GET /info's Swarm.NodeID (the local node), then GET /nodes. */
static int fetch_nodes(struct client *cl, json_t **nodes, char *self, size_t len)
{
	json_t *info = NULL;

	self[0] = '\0';
	if (client_call(cl, "GET", "/info", NULL, 0, &info, NULL) != CLIENT_OK)
		return 1;
	snprintf(self, len, "%s", jstr(jobj(info, "Swarm"), "NodeID"));
	json_decref(info);
	if (client_call(cl, "GET", "/nodes", NULL, 0, nodes, NULL) != CLIENT_OK)
		return 1;
	if (!json_is_array(*nodes)) {
		json_decref(*nodes);
		*nodes = json_array();
	}
	return *nodes ? 0 : 1;
}

static int cmp_host(const void *a, const void *b)
{
	json_t *na = *(json_t *const *)a, *nb = *(json_t *const *)b;
	int r = natural_cmp(jstr(jobj(na, "Description"), "Hostname"),
			    jstr(jobj(nb, "Description"), "Hostname"));

	return r ? r : strcmp(jstr(na, "ID"), jstr(nb, "ID"));
}

/* command.PrettyPrint: "ready" -> "Ready". */
static void pretty(const char *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s", s);
	if (buf[0])
		buf[0] = (char)toupper((unsigned char)buf[0]);
}

/* ---- ls ------------------------------------------------------------------ */

enum { OPT_FORMAT = 256 };

static const struct cli_opt ls_opts[] = {
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table', 'table TEMPLATE', 'json' or TEMPLATE (fields: .ID .Self .Hostname .Status .Availability .ManagerStatus .EngineVersion .Gossip .Addr)" },
	{ 'q', 'q', "quiet", NULL, "Only display IDs" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage ls_usage = {
	.path = "node ls",
	.args = "[OPTIONS]",
	.desc = "List nodes in the swarm",
	.aliases = "shoal node ls, shoal node list",
	.opts = ls_opts,
	.extra = "GOSSIP is the node's state in the gossip layer: alive, suspect (it\n"
		 "stopped answering probes; it may refute), dead (it did not), left.\n",
};

/* Docker's: the ID with " *" for this node, which {{if}} makes there. */
#define LS_TABLE                                                              \
	"table {{.IDSelf}}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t" \
	"{{.ManagerStatus}}\t{{.EngineVersion}}\t{{.Gossip}}"

static json_t *ls_row(json_t *n, const char *self, bool table)
{
	json_t *ms = jobj(n, "ManagerStatus"), *st = jobj(n, "Status"), *row;
	const char *id = jstr(n, "ID");
	char status[64], avail[64], mgr[64] = "", idself[128];
	bool is_self = *self && !strcmp(id, self);

	pretty(jstr(st, "State"), status, sizeof(status));
	pretty(jstr(jobj(n, "Spec"), "Availability"), avail, sizeof(avail));
	if (ms && jbool(ms, "Leader"))
		snprintf(mgr, sizeof(mgr), "Leader");
	else if (ms)
		pretty(jstr(ms, "Reachability"), mgr, sizeof(mgr));
	snprintf(idself, sizeof(idself), "%s %s", id, is_self ? "*" : " ");
	row = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id,
			"Self", is_self, "Hostname",
			jstr(jobj(n, "Description"), "Hostname"), "Status", status,
			"Availability", avail, "ManagerStatus", mgr, "EngineVersion",
			jstr(jobj(jobj(n, "Description"), "Engine"), "EngineVersion"),
			"Gossip", jstr(st, "Message"), "Addr", jstr(st, "Addr"));
	if (row && table)
		json_object_set_new(row, "IDSelf", json_string(idself));
	return row;
}

static int node_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	json_t *nodes = NULL, *rows = NULL, *hdr = NULL, **sorted = NULL;
	bool quiet = false, table;
	struct shoal_err err;
	struct cli_parse p;
	struct client cl;
	char self[128];
	size_t n;
	int o, rc = 1;

	cli_parse_init(&p, &ls_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'q')
			quiet = val[0] == 't';
		else if (o == OPT_FORMAT)
			format = val;
	}
	if (o < 0)
		return p.rc;
	if (cli_args_none(&ls_usage, p.nargs))
		return 1;
	if (quiet)
		format = "{{.ID}}";
	if (format && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		return 1;
	}
	table = !format || !*format || !strcmp(format, "table");
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	if (fetch_nodes(&cl, &nodes, self, sizeof(self)))
		goto out;
	n = json_array_size(nodes);
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "IDSelf",
			"ID", "ID", "ID", "Self", "SELF", "Hostname", "HOSTNAME",
			"Status", "STATUS", "Availability", "AVAILABILITY",
			"ManagerStatus", "MANAGER STATUS", "EngineVersion",
			"ENGINE VERSION", "Gossip", "GOSSIP", "Addr", "ADDRESS");
	if (!sorted || !rows || !hdr)
		goto out;
	for (size_t i = 0; i < n; i++)
		sorted[i] = json_array_get(nodes, i);
	qsort(sorted, n, sizeof(*sorted), cmp_host);
	for (size_t i = 0; i < n; i++)
		if (json_is_object(sorted[i]))
			json_array_append_new(rows, ls_row(sorted[i], self, table));
	if (format_rows(format, LS_TABLE, rows, hdr, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	client_close(&cl);
	free(sorted);
	json_decref(hdr);
	json_decref(rows);
	json_decref(nodes);
	return rc;
}

/* ---- inspect ------------------------------------------------------------- */

static const struct cli_opt inspect_opts[] = {
	{ 'f', 'f', "format", "string", "Format output using a template ('json' or e.g. '{{.Status.Message}}')" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage inspect_usage = {
	.path = "node inspect",
	.args = "[OPTIONS] self|NODE [NODE...]",
	.desc = "Display detailed information on one or more nodes",
	.opts = inspect_opts,
	.extra = "NODE is an ID, a unique ID prefix or a hostname; \"self\" is this node.\n",
};

/* Docker's lookup order: full ID, hostname, then a unique ID prefix. */
static json_t *find_node(json_t *nodes, const char *ref, const char *self, int *ambiguous)
{
	json_t *n, *hit = NULL;
	size_t i, len = strlen(ref);
	int prefix = 0;

	*ambiguous = 0;
	if (!strcmp(ref, "self"))
		ref = self;
	json_array_foreach(nodes, i, n)
		if (*ref && !strcmp(jstr(n, "ID"), ref))
			return n;
	json_array_foreach(nodes, i, n)
		if (!strcmp(jstr(jobj(n, "Description"), "Hostname"), ref))
			return n;
	json_array_foreach(nodes, i, n)
		if (len && !strncmp(jstr(n, "ID"), ref, len)) {
			hit = n;
			prefix++;
		}
	if (prefix > 1) {
		*ambiguous = 1;
		return NULL;
	}
	return hit;
}

static int node_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	json_t *nodes = NULL, *all = json_array();
	struct sbuf errs = { 0 };
	struct cli_parse p;
	struct client cl;
	char self[128];
	int o, rc = 1, failed = 0;

	if (!all)
		return 1;
	cli_parse_init(&p, &inspect_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'f')
			format = val;
	if (o < 0) {
		json_decref(all);
		return p.rc;
	}
	if (cli_args_min(&inspect_usage, p.nargs, 1)) {
		json_decref(all);
		return 1;
	}
	if (cli_format_prepare(&format, NULL)) {
		json_decref(all);
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host)) {
		json_decref(all);
		return 1;
	}
	if (fetch_nodes(&cl, &nodes, self, sizeof(self)))
		goto out;
	for (int i = 0; i < p.nargs; i++) {
		int amb;
		json_t *n = find_node(nodes, p.args[i], self, &amb);

		if (n) {
			json_array_append(all, n);
		} else {
			sbuf_printf(&errs, amb ? "Error response from daemon: node %s is ambiguous\n" :
						 "Error: No such node: %s\n", p.args[i]);
			failed = 1;
		}
	}
	rc = cli_inspect_print(all, format, &errs, failed);
out:
	client_close(&cl);
	sbuf_free(&errs);
	json_decref(nodes);
	json_decref(all);
	return rc;
}
