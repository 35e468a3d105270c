// SPDX-License-Identifier: Apache-2.0
/*
 * peer.c - `shoal network peer add|ls|rm`: the remote endpoints of an
 * overlay network (an IP and MAC living on another node, reached through
 * that node's underlay address), over /networks/{id}/peers.
 *
 * This is an operator tool, the overlay's `bridge fdb append`: it programs
 * remote endpoints by hand until a discovery mode (gossip, etcd) does it.
 * Docker has no equivalent verb; the grammar follows `docker network`.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static int peer_add(struct cli_ctx *ctx, int argc, char **argv);
static int peer_ls(struct cli_ctx *ctx, int argc, char **argv);
static int peer_rm(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd peer_cmds[] = {
	{ "add", peer_add, "Program a remote endpoint into an overlay network", NULL },
	{ "ls", peer_ls, "List the remote endpoints of an overlay network", "list" },
	{ "rm", peer_rm, "Remove remote endpoints from an overlay network", "remove" },
	{ NULL, NULL, NULL, NULL },
};

#define PEER_ABOUT                                                             \
	"A peer is an endpoint of an overlay network that lives on another node:\n" \
	"its overlay IP and MAC, and the node's underlay IP that VXLAN packets\n"  \
	"for it are sent to. This is an operator tool, like `bridge fdb append`\n" \
	"for a VXLAN device: it programs remote endpoints by hand until a\n"      \
	"discovery mode (gossip, etcd) does it. Peers are kept in shoald's state\n" \
	"and survive a daemon restart.\n"

static const struct cli_usage peer_usage = {
	.path = "network peer",
	.args = "COMMAND",
	.desc = "Manage the remote endpoints (peers) of an overlay network",
	.extra = PEER_ABOUT,
	.cmds = peer_cmds,
};

int cmd_network_peer(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &peer_usage, argc, argv);
}

/* "/networks/<net>/peers" or "/networks/<net>/peers/<ip>", escaped. */
static char *peers_path(struct client *cl, const char *net, const char *ip)
{
	char *en = client_escape(cl, net), *ei = ip ? client_escape(cl, ip) : NULL;
	char *p = NULL;

	if (en && (!ip || ei) &&
	    asprintf(&p, "/networks/%s/peers%s%s", en, ip ? "/" : "", ip ? ei : "") < 0)
		p = NULL;
	free(en);
	free(ei);
	return p;
}

/* ---- add ----------------------------------------------------------------- */

enum { OPT_IP = 256, OPT_MAC, OPT_NODE, OPT_FORMAT, OPT_NOTRUNC };

static const struct cli_opt add_opts[] = {
	{ OPT_IP, 0, "ip", "string", "The peer's IPv4 address on the overlay (required)" },
	{ OPT_MAC, 0, "mac", "string",
	  "The peer's MAC address (default: derived from the IP, 02:42:xx:xx:xx:xx)" },
	{ OPT_NODE, 0, "node", "string",
	  "Underlay IPv4 address of the node the peer lives on (required)" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage add_usage = {
	.path = "network peer add",
	.args = "[OPTIONS] NETWORK --ip IP --node NODE_IP",
	.desc = "Program a remote endpoint into an overlay network",
	.opts = add_opts,
	.extra = "Prints the peer's endpoint ID. Example:\n"
		 "  shoal network peer add ov --ip 10.0.9.7 --node 192.168.77.2\n\n" PEER_ABOUT,
};

static int peer_add(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *ip = NULL, *mac = NULL, *node = NULL, *val;
	json_t *body = NULL, *resp = NULL;
	struct cli_parse p;
	struct client cl;
	char *path;
	int o, rc = 1;

	cli_parse_init(&p, &add_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_IP)
			ip = val;
		else if (o == OPT_MAC)
			mac = val;
		else if (o == OPT_NODE)
			node = val;
	}
	if (o < 0)
		return p.rc;
	/* cobra's order: arguments first, then required flags. */
	if (cli_args_exact(&add_usage, p.nargs, 1))
		return 1;
	if (!ip || !node)
		return cli_usage_error(&add_usage, "required flag(s) %s%s%s not set",
				       ip ? "" : "\"ip\"", !ip && !node ? ", " : "",
				       node ? "" : "\"node\"");
	body = json_pack("{s:s, s:s, s:s}", "IPv4Address", ip, "MacAddress",
			 mac ? mac : "", "Node", node);
	if (!body)
		return 1;
	if (client_open_or_report(&cl, ctx->host)) {
		json_decref(body);
		return 1;
	}
	path = peers_path(&cl, p.args[0], NULL);
	if (path && client_call(&cl, "POST", path, body, 0, &resp, NULL) == CLIENT_OK) {
		printf("%s\n", jstr(resp, "EndpointID"));
		rc = 0;
	}
	free(path);
	client_close(&cl);
	json_decref(resp);
	json_decref(body);
	return rc;
}

/* ---- ls ------------------------------------------------------------------ */

static const struct cli_opt ls_opts[] = {
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table' (default), 'table TEMPLATE', 'json' (the daemon's array) or TEMPLATE (fields: .ID .EndpointID .IPv4Address .MacAddress .Node)" },
	{ OPT_NOTRUNC, 0, "no-trunc", NULL, "Do not truncate the output" },
	{ 'q', 'q', "quiet", NULL, "Only display peer IP addresses" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage ls_usage = {
	.path = "network peer ls",
	.args = "[OPTIONS] NETWORK",
	.desc = "List the remote endpoints of an overlay network",
	.aliases = "shoal network peer ls, shoal network peer list",
	.opts = ls_opts,
};

#define PEER_TABLE "table {{.ID}}\t{{.IPv4Address}}\t{{.MacAddress}}\t{{.Node}}"

static int peer_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	bool quiet = false, notrunc = false;
	json_t *list = NULL, *rows = NULL, *hdr = NULL, *peer;
	struct shoal_err err;
	struct cli_parse p;
	struct client cl;
	char *path = NULL;
	size_t i;
	int o, rc = 1;

	cli_parse_init(&p, &ls_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'q')
			quiet = val[0] == 't';
		else if (o == OPT_NOTRUNC)
			notrunc = val[0] == 't';
		else if (o == OPT_FORMAT)
			format = val;
	}
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&ls_usage, p.nargs, 1))
		return 1;
	if (quiet)
		format = "{{.IPv4Address}}";
	if (format && strcmp(format, "json") && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	path = peers_path(&cl, p.args[0], NULL);
	if (!path || client_call(&cl, "GET", path, NULL, 0, &list, NULL) != CLIENT_OK)
		goto out;
	if (!json_is_array(list)) {
		json_decref(list);
		list = json_array();
	}
	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (!s)
			goto out;
		printf("%s\n", s);
		free(s);
		rc = 0;
		goto out;
	}
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ID", "ENDPOINT ID", "EndpointID",
			"ENDPOINT ID", "IPv4Address", "IP ADDRESS", "MacAddress",
			"MAC ADDRESS", "Node", "NODE");
	if (!rows || !hdr)
		goto out;
	json_array_foreach(list, i, peer) {
		const char *id = jstr(peer, "EndpointID");

		if (!json_is_object(peer))
			continue;
		json_array_append_new(
			rows, json_pack("{s:s%, s:s, s:s, s:s, s:s}", "ID", id,
					notrunc ? strlen(id) : strnlen(id, 12),
					"EndpointID", id, "IPv4Address",
					jstr(peer, "IPv4Address"), "MacAddress",
					jstr(peer, "MacAddress"), "Node", jstr(peer, "Node")));
	}
	if (format_rows(format, PEER_TABLE, rows, hdr, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	client_close(&cl);
	free(path);
	json_decref(hdr);
	json_decref(rows);
	json_decref(list);
	return rc;
}

/* ---- rm ------------------------------------------------------------------ */

static const struct cli_usage rm_usage = {
	.path = "network peer rm",
	.args = "NETWORK IP [IP...]",
	.desc = "Remove remote endpoints from an overlay network",
	.aliases = "shoal network peer rm, shoal network peer remove",
};

static int peer_rm(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parse p;
	struct client cl;
	const char *val;
	int o, rc = 0;

	cli_parse_init(&p, &rm_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_min(&rm_usage, p.nargs, 2))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	/* Like `network rm`: go on after a failure, exit 1 at the end. */
	for (int i = 1; i < p.nargs; i++) {
		char *path = peers_path(&cl, p.args[0], p.args[i]);
		int r;

		if (!path) {
			rc = 1;
			break;
		}
		r = client_call(&cl, "DELETE", path, NULL, 0, NULL, NULL);
		free(path);
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
