// SPDX-License-Identifier: Apache-2.0
/*
 * swarm.c - `shoal swarm init|join|join-token|leave|keys`: swarm mode, as
 * `docker swarm` words it, over /swarm. In shoal a swarm is a gossip
 * cluster (user/gossip): membership plus the replicated table of overlay
 * endpoints, encrypted with a keyring that the managers rotate.
 *
 * `swarm keys` is shoal's own: the gossip keyring (fingerprints and ages,
 * never key material) and its manual rotation. swarm_print_info() is the
 * "Swarm:" block of `shoal info`.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "swarm_cmd.h"

#define SWARM_PORT "2377"

static int swarm_init(struct cli_ctx *ctx, int argc, char **argv);
static int swarm_join(struct cli_ctx *ctx, int argc, char **argv);
static int swarm_join_token(struct cli_ctx *ctx, int argc, char **argv);
static int swarm_keys(struct cli_ctx *ctx, int argc, char **argv);
static int swarm_leave(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd swarm_cmds[] = {
	{ "init", swarm_init, "Initialize a swarm", NULL },
	{ "join", swarm_join, "Join a swarm as a node and/or manager", NULL },
	{ "join-token", swarm_join_token, "Manage join tokens", NULL },
	{ "keys", swarm_keys, "List or rotate the gossip encryption keys", NULL },
	{ "leave", swarm_leave, "Leave the swarm", NULL },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_usage swarm_usage = {
	.path = "swarm",
	.args = "COMMAND",
	.desc = "Manage Swarm",
	.cmds = swarm_cmds,
};

int cmd_swarm(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &swarm_usage, argc, argv);
}

/* ---- shared -------------------------------------------------------------- */

/*
 * A time from the API as unix seconds: an integer (seconds, or ms when it
 * is too large to be seconds) or an RFC 3339 string; -1 if neither.
 */
static long long api_time(json_t *v)
{
	const char *s = json_string_value(v), *p;
	struct tm tm;
	long long t, off = 0;

	if (json_is_integer(v) || json_is_real(v)) {
		t = jval_int(v);
		return t > 100000000000LL ? t / 1000 : t;
	}
	if (!s || !*s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if ((*p == '+' || *p == '-') && strlen(p) >= 6)
		off = (atoi(p + 1) * 3600LL + atoi(p + 4) * 60LL) * (*p == '-' ? -1 : 1);
	t = (long long)timegm(&tm);
	return t - off;
}

/* "IP" becomes "IP:2377", as Docker's node-addr flags do. */
static const char *with_port(const char *addr, char *buf, size_t len)
{
	if (!addr || !*addr || strrchr(addr, ':'))
		return addr;
	snprintf(buf, len, "%s:" SWARM_PORT, addr);
	return buf;
}

/*
 * The address other nodes join through: this node's ManagerStatus.Addr in
 * GET /nodes (what Docker prints), else /info's Swarm.NodeAddr + ":2377".
 */
static void manager_addr(struct client *cl, char *buf, size_t len)
{
	json_t *info = NULL, *nodes = NULL, *n;
	const char *id = "", *addr = "";
	struct client_resp r;
	struct shoal_err err;
	size_t i;

	buf[0] = '\0';
	if (client_do(cl, "GET", "/info", NULL, &r, &err) == 0) {
		if (r.status == 200)
			info = json_incref(r.json);
		client_resp_free(&r);
	}
	id = jstr(jobj(info, "Swarm"), "NodeID");
	addr = jstr(jobj(info, "Swarm"), "NodeAddr");
	if (*id && client_do(cl, "GET", "/nodes", NULL, &r, &err) == 0) {
		if (r.status == 200)
			nodes = json_incref(r.json);
		client_resp_free(&r);
	}
	json_array_foreach(nodes, i, n) {
		const char *ma = jstr(jobj(n, "ManagerStatus"), "Addr");

		if (!strcmp(jstr(n, "ID"), id) && *ma) {
			snprintf(buf, len, "%s", ma);
			break;
		}
	}
	if (!buf[0] && *addr) {
		char tmp[256];

		snprintf(buf, len, "%s", with_port(addr, tmp, sizeof(tmp)));
	}
	json_decref(nodes);
	json_decref(info);
}

/* GET /swarm; prints the daemon's error (503 when not in a swarm). */
static int get_swarm(struct client *cl, json_t **sw)
{
	return client_call(cl, "GET", "/swarm", NULL, 0, sw, NULL) == CLIENT_OK ? 0 : 1;
}

/* Docker's printJoinCommand for one role. */
static int print_join(struct client *cl, json_t *sw, const char *role)
{
	const char *token = jstr(jobj(sw, "JoinTokens"), role[0] == 'w' ? "Worker" : "Manager");
	char addr[256];

	if (!*token) {
		fprintf(stderr,
			"Error response from daemon: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.\n");
		return 1;
	}
	/* shoald says where it takes joins; else work it out as Docker does. */
	if (*jstr(sw, "JoinAddr"))
		snprintf(addr, sizeof(addr), "%s", jstr(sw, "JoinAddr"));
	else
		manager_addr(cl, addr, sizeof(addr));
	printf("To add a %s to this swarm, run the following command:\n\n"
	       "    %s swarm join --token %s %s\n\n",
	       role, CLI_PROG, token, *addr ? addr : "<MANAGER-IP>:" SWARM_PORT);
	return 0;
}

/* ---- init ---------------------------------------------------------------- */

enum { OPT_ADVERTISE = 256, OPT_LISTEN, OPT_TOKEN, OPT_ROTATE, OPT_FORMAT };

#define ADDR_HELP "(format: \"<ip>[:port]\")"

static const struct cli_opt init_opts[] = {
	{ OPT_ADVERTISE, 0, "advertise-addr", "string",
	  "Advertised address " ADDR_HELP " (default: the underlay address)" },
	{ OPT_LISTEN, 0, "listen-addr", "node-addr",
	  "Listen address " ADDR_HELP " (default 0.0.0.0:" SWARM_PORT ")" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage init_usage = {
	.path = "swarm init",
	.args = "[OPTIONS]",
	.desc = "Initialize a swarm",
	.opts = init_opts,
};

/* The two address options of init and join. */
static json_t *addr_body(const char *listen, const char *advertise)
{
	char lb[256];

	return json_pack("{s:s, s:s}", "ListenAddr",
			 listen ? with_port(listen, lb, sizeof(lb)) : "0.0.0.0:" SWARM_PORT,
			 "AdvertiseAddr", advertise ? advertise : "");
}

static int swarm_init(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *listen = NULL, *advertise = NULL, *val;
	json_t *body, *id = NULL, *sw = NULL;
	struct cli_parse p;
	struct client cl;
	int o, rc = 1;

	cli_parse_init(&p, &init_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_ADVERTISE)
			advertise = val;
		else if (o == OPT_LISTEN)
			listen = val;
	}
	if (o < 0)
		return p.rc;
	if (cli_args_none(&init_usage, p.nargs))
		return 1;
	body = addr_body(listen, advertise);
	if (!body)
		return 1;
	if (client_open_or_report(&cl, ctx->host)) {
		json_decref(body);
		return 1;
	}
	if (client_call(&cl, "POST", "/swarm/init", body, 0, &id, NULL) != CLIENT_OK)
		goto out;
	printf("Swarm initialized: current node (%s) is now a manager.\n\n",
	       json_is_string(id) ? json_string_value(id) : jstr(id, "ID"));
	fflush(stdout);
	if (get_swarm(&cl, &sw) || print_join(&cl, sw, "worker"))
		goto out;
	printf("To add a manager to this swarm, run '%s swarm join-token manager' and follow the instructions.\n\n",
	       CLI_PROG);
	rc = 0;
out:
	client_close(&cl);
	json_decref(sw);
	json_decref(id);
	json_decref(body);
	return rc;
}

/* ---- join ---------------------------------------------------------------- */

static const struct cli_opt join_opts[] = {
	{ OPT_ADVERTISE, 0, "advertise-addr", "string",
	  "Advertised address " ADDR_HELP " (default: the underlay address)" },
	{ OPT_LISTEN, 0, "listen-addr", "node-addr",
	  "Listen address " ADDR_HELP " (default 0.0.0.0:" SWARM_PORT ")" },
	{ OPT_TOKEN, 0, "token", "string", "Token for entry into the swarm" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage join_usage = {
	.path = "swarm join",
	.args = "[OPTIONS] HOST:PORT",
	.desc = "Join a swarm as a node and/or manager",
	.opts = join_opts,
};

static int swarm_join(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *listen = NULL, *advertise = NULL, *token = "", *val;
	json_t *body, *info = NULL;
	struct cli_parse p;
	struct client cl;
	int o, rc = 1;

	cli_parse_init(&p, &join_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_ADVERTISE)
			advertise = val;
		else if (o == OPT_LISTEN)
			listen = val;
		else if (o == OPT_TOKEN)
			token = val;
	}
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&join_usage, p.nargs, 1))
		return 1;
	body = addr_body(listen, advertise);
	if (!body)
		return 1;
	json_object_set_new(body, "RemoteAddrs", json_pack("[s]", p.args[0]));
	json_object_set_new(body, "JoinToken", json_string(token));
	if (client_open_or_report(&cl, ctx->host)) {
		json_decref(body);
		return 1;
	}
	if (client_call(&cl, "POST", "/swarm/join", body, 0, NULL, NULL) != CLIENT_OK)
		goto out;
	/* Docker asks /info which role it got (the token decides). */
	if (client_call(&cl, "GET", "/info", NULL, 0, &info, NULL) != CLIENT_OK)
		goto out;
	printf("This node joined a swarm as a %s.\n",
	       jbool(jobj(info, "Swarm"), "ControlAvailable") ? "manager" : "worker");
	rc = 0;
out:
	client_close(&cl);
	json_decref(info);
	json_decref(body);
	return rc;
}

/* ---- join-token ---------------------------------------------------------- */

static const struct cli_opt token_opts[] = {
	{ 'q', 'q', "quiet", NULL, "Only display token" },
	{ OPT_ROTATE, 0, "rotate", NULL, "Rotate join token" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage token_usage = {
	.path = "swarm join-token",
	.args = "[OPTIONS] (worker|manager)",
	.desc = "Manage join tokens",
	.opts = token_opts,
};

static int swarm_join_token(struct cli_ctx *ctx, int argc, char **argv)
{
	bool quiet = false, rotate = false, worker;
	json_t *sw = NULL, *spec = NULL;
	struct cli_parse p;
	struct client cl;
	const char *val, *role;
	char path[128];
	int o, rc = 1;

	cli_parse_init(&p, &token_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'q')
			quiet = val[0] == 't';
		else if (o == OPT_ROTATE)
			rotate = val[0] == 't';
	}
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&token_usage, p.nargs, 1))
		return 1;
	role = p.args[0];
	if (strcmp(role, "worker") && strcmp(role, "manager")) {
		fprintf(stderr, "unknown role %s\n", role);
		return 1;
	}
	worker = role[0] == 'w';
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	if (rotate) {
		json_t *ver;

		/* Docker sends the current spec and version with the flag. */
		if (get_swarm(&cl, &sw))
			goto out;
		spec = jobj(sw, "Spec");
		ver = jobj(sw, "Version");
		if (ver)
			snprintf(path, sizeof(path), "/swarm/update?version=%lld&%s=true",
				 jint(ver, "Index"),
				 worker ? "rotateWorkerToken" : "rotateManagerToken");
		else
			snprintf(path, sizeof(path), "/swarm/update?%s=true",
				 worker ? "rotateWorkerToken" : "rotateManagerToken");
		if (client_call(&cl, "POST", path, spec, 0, NULL, NULL) != CLIENT_OK)
			goto out;
		json_decref(sw);
		sw = NULL;
		if (!quiet) {
			printf("Successfully rotated %s join token.\n\n", role);
			fflush(stdout);
		}
	}
	if (get_swarm(&cl, &sw))
		goto out;
	if (quiet) {
		const char *t = jstr(jobj(sw, "JoinTokens"), worker ? "Worker" : "Manager");

		if (!*t) {
			fprintf(stderr,
				"Error response from daemon: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.\n");
			goto out;
		}
		printf("%s\n", t);
		rc = 0;
		goto out;
	}
	rc = print_join(&cl, sw, role);
out:
	client_close(&cl);
	json_decref(sw);
	return rc;
}

/* ---- leave --------------------------------------------------------------- */

static const struct cli_opt leave_opts[] = {
	{ 'f', 'f', "force", NULL,
	  "Force this node to leave the swarm, ignoring warnings" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage leave_usage = {
	.path = "swarm leave",
	.args = "[OPTIONS]",
	.desc = "Leave the swarm",
	.opts = leave_opts,
};

static int swarm_leave(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parse p;
	struct client cl;
	bool force = false;
	const char *val;
	int o, rc = 1;

	cli_parse_init(&p, &leave_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'f')
			force = val[0] == 't';
	if (o < 0)
		return p.rc;
	if (cli_args_none(&leave_usage, p.nargs))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	if (client_call(&cl, "POST", force ? "/swarm/leave?force=1" : "/swarm/leave",
			NULL, 0, NULL, NULL) == CLIENT_OK) {
		printf("Node left the swarm.\n");
		rc = 0;
	}
	client_close(&cl);
	return rc;
}

/* ---- keys ---------------------------------------------------------------- */

static const struct cli_opt keys_opts[] = {
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table' (default), 'table TEMPLATE', 'json' (the daemon's answer) or TEMPLATE (fields: .Fingerprint .Age .Primary .InstalledAt)" },
	{ 'q', 'q', "quiet", NULL, "Only display fingerprints" },
	{ OPT_ROTATE, 0, "rotate", NULL,
	  "Rotate the key: install a new one on every node, make it primary, retire the oldest" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage keys_usage = {
	.path = "swarm keys",
	.args = "[OPTIONS]",
	.desc = "List or rotate the gossip encryption keys",
	.opts = keys_opts,
	.extra = "Gossip between the nodes of a swarm is encrypted (AES-256-GCM) with\n"
		 "the primary key; every listed key still decrypts, so a rotation loses\n"
		 "no message. Managers rotate on their own every --key-rotation-interval\n"
		 "of shoald. Keys are identified by fingerprint (the first 8 bytes of\n"
		 "their SHA-256); the keys themselves are never shown.\n",
};

#define KEYS_TABLE "table {{.Fingerprint}}\t{{.Age}}\t{{.Primary}}"

static int swarm_keys(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	bool quiet = false, rotate = false;
	json_t *resp = NULL, *rows = NULL, *hdr = NULL, *k;
	long long now = (long long)time(NULL);
	struct shoal_err err;
	struct cli_parse p;
	struct client cl;
	size_t i;
	int o, rc = 1;

	cli_parse_init(&p, &keys_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_FORMAT)
			format = val;
		else if (o == 'q')
			quiet = val[0] == 't';
		else if (o == OPT_ROTATE)
			rotate = val[0] == 't';
	}
	if (o < 0)
		return p.rc;
	if (cli_args_none(&keys_usage, p.nargs))
		return 1;
	if (quiet)
		format = "{{.Fingerprint}}";
	if (format && strcmp(format, "json") && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	if (rotate) {
		if (client_call(&cl, "POST", "/swarm/keys/rotate", NULL, 0, &resp,
				NULL) != CLIENT_OK)
			goto out;
		json_decref(resp);
		resp = NULL;
		if (!quiet && !format) {
			printf("Successfully rotated the gossip encryption key.\n\n");
			fflush(stdout);
		}
	}
	if (client_call(&cl, "GET", "/swarm/keys", NULL, 0, &resp, NULL) != CLIENT_OK)
		goto out;
	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(resp ? resp : json_object(), JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (s)
			printf("%s\n", s);
		free(s);
		rc = s ? 0 : 1;
		goto out;
	}
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s}", "Fingerprint", "FINGERPRINT", "Age",
			"AGE", "Primary", "PRIMARY", "InstalledAt", "INSTALLED AT");
	if (!rows || !hdr)
		goto out;
	json_array_foreach(jarr(resp, "Keys"), i, k) {
		long long at = api_time(json_object_get(k, "InstalledAt"));
		char age[64] = "", when[64] = "";

		if (at >= 0) {
			time_t t = (time_t)at;
			struct tm tm;

			human_duration(now - at, age, sizeof(age));
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s}", "Fingerprint",
						      jstr(k, "Fingerprint"), "Age", age,
						      "Primary", jbool(k, "Primary") ? "*" : "",
						      "InstalledAt", when));
	}
	if (format_rows(format, KEYS_TABLE, rows, hdr, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	client_close(&cl);
	json_decref(hdr);
	json_decref(rows);
	json_decref(resp);
	return rc;
}

/* ---- info ---------------------------------------------------------------- */

static void print_value(const char *indent, const char *label, json_t *v)
{
	struct sbuf b = { 0 };
	struct shoal_err err;

	if (tmpl_exec("{{.}}", v, &b, &err) == 0)
		printf("%s%s: %s\n", indent, label, sbuf_str(&b));
	sbuf_free(&b);
}

/* Counters: scalars as they are, an object ("Rejects") as its total + parts. */
static void print_counters(json_t *g)
{
	const char *k, *k2;
	json_t *v, *v2;

	json_object_foreach(g, k, v) {
		if (json_is_object(v)) {
			long long t = 0;

			json_object_foreach(v, k2, v2)
				t += jval_int(v2);
			printf("   %s: %lld\n", k, t);
			json_object_foreach(v, k2, v2)
				print_value("    ", k2, v2);
		} else if (!json_is_array(v)) {
			print_value("   ", k, v);
		}
	}
}

void swarm_print_info(json_t *info)
{
	json_t *s = jobj(info, "Swarm"), *g = jobj(jobj(info, "Shoal"), "Gossip");
	const char *state = jstr(s, "LocalNodeState");

	printf(" Swarm: %s\n", *state ? state : "inactive");
	if (!s || !strcmp(state, "inactive") || !*state)
		return;
	printf("  NodeID: %s\n", jstr(s, "NodeID"));
	if (*jstr(s, "Error"))
		printf("  Error: %s\n", jstr(s, "Error"));
	printf("  Is Manager: %s\n", jbool(s, "ControlAvailable") ? "true" : "false");
	if (jbool(s, "ControlAvailable") && jobj(s, "Cluster"))
		printf("  ClusterID: %s\n", jstr(jobj(s, "Cluster"), "ID"));
	if (json_object_get(s, "Managers"))
		printf("  Managers: %lld\n", jint(s, "Managers"));
	if (json_object_get(s, "Nodes"))
		printf("  Nodes: %lld\n", jint(s, "Nodes"));
	printf("  Node Address: %s\n", jstr(s, "NodeAddr"));
	if (json_array_size(jarr(s, "RemoteManagers"))) {
		json_t *m;
		size_t i;

		printf("  Manager Addresses:\n");
		json_array_foreach(jarr(s, "RemoteManagers"), i, m)
			printf("   %s\n", jstr(m, "Addr"));
	}
	if (g) {
		printf("  Gossip:\n");
		print_counters(g);
	}
}
