// SPDX-License-Identifier: Apache-2.0
/*
 * stats.c - `shoal stats`: a live stream of per-container resource usage,
 * laid out as `docker stats` lays it out (CONTAINER ID, NAME, CPU %,
 * MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS) plus DROPS. Network
 * figures come from the eBPF data path's counters (GET /endpoints/stats);
 * CPU, memory, block I/O and PIDs from GET /containers/{id}/stats, which
 * only containers have: endpoints attached by `network connect --netns`
 * show "--" there.
 *
 * A container with several endpoints (networks) is one row; its network
 * figures are summed. Streams (redrawn in place on a terminal) every
 * second until interrupted; --no-stream prints one sample.
 *
 * Sizes use go-units' HumanSizeWithPrecision(n, 3), as docker stats does.
 * `--node` shows the node-level counters instead ("Node" of the same
 * answer: VXLAN traffic through the underlay, drops no local endpoint
 * can be charged with).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "output.h"

#define STATS_TABLE                                                               \
	"table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}" \
	"\t{{.BlockIO}}\t{{.PIDs}}\t{{.Drops}}"
#define NETNS_DIR "/run/netns/"
#define NA "--"

enum { OPT_NOSTREAM = 256, OPT_FORMAT, OPT_NOTRUNC, OPT_NODE, OPT_ALL };

static const struct cli_opt stats_opts[] = {
	{ OPT_ALL, 'a', "all", NULL, "Show all containers (default shows just running; netns endpoints always)" },
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table' (default), 'table TEMPLATE', 'json' (one object per row, with the raw counters) or TEMPLATE" },
	{ OPT_NODE, 0, "node", NULL,
	  "Show node-level counters (VXLAN rx/tx, node drops) instead of containers" },
	{ OPT_NOSTREAM, 0, "no-stream", NULL, "Disable streaming stats and only pull the first result" },
	{ OPT_NOTRUNC, 0, "no-trunc", NULL, "Do not truncate output" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage stats_usage = {
	.path = "stats",
	.args = "[OPTIONS] [CONTAINER...]",
	.desc = "Display a live stream of container(s) resource usage statistics",
	.opts = stats_opts,
	.extra =
		"Arguments select containers by name or ID (prefix), or netns endpoints by\n"
		"endpoint ID prefix, namespace name or path.\n"
		"NET I/O (rx / tx) and DROPS are counted in the kernel by the eBPF data\n"
		"path. CPU %, MEM USAGE / LIMIT, MEM %, BLOCK I/O and PIDS come from the\n"
		"container's cgroup (GET /containers/{id}/stats): they show \"--\" for an\n"
		"endpoint attached with `shoal network connect --netns` (no container,\n"
		"no cgroup) and when the daemon cannot report them.\n"
		"For rates (bytes/s, packets/s, drops/s, active flows) see `shoal top`.\n"
		"Template fields: .ID .Name .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO\n"
		".PIDs .Drops (text) .Network .Container .Netns .IPv4Address .MacAddress\n"
		".HostInterface .RxBytes .TxBytes .RxPackets .TxPackets .DropsTotal\n"
		".DropsByReason (object) .ActiveFlows.\n"
		"With --node, no arguments; --format json prints the daemon's \"Node\"\n"
		"object, a TEMPLATE sees .Drops (object) .RxVxlanPackets .RxVxlanBytes\n"
		".TxVxlanPackets .TxVxlanBytes.\n",
};

static bool ep_matches(json_t *ep, const char *arg)
{
	const char *id = jstr(ep, "EndpointID"), *ns = jstr(ep, "Netns"), *c = jstr(ep, "Container");
	size_t n = strlen(arg);

	if (!n)
		return false;
	if (!strcmp(jstr(ep, "Name"), arg) || !strcmp(ns, arg))
		return true;
	if (!strncmp(ns, NETNS_DIR, strlen(NETNS_DIR)) && !strcmp(ns + strlen(NETNS_DIR), arg))
		return true;
	if (*c && !strncmp(c, arg, n))
		return true;
	return *id && !strncmp(id, arg, n);
}

/* Endpoints to show, in argument order (all of them without arguments). */
static json_t *select_eps(json_t *eps, char **args, int nargs, bool report)
{
	json_t *sel = json_array(), *ep;
	bool missing = false;
	size_t i;

	if (!sel)
		return NULL;
	if (!nargs) {
		json_array_foreach(eps, i, ep)
			if (json_is_object(ep))
				json_array_append(sel, ep);
		return sel;
	}
	for (int a = 0; a < nargs; a++) {
		bool found = false;

		json_array_foreach(eps, i, ep) {
			bool dup = false;
			size_t k;
			json_t *s;

			if (!json_is_object(ep) || !ep_matches(ep, args[a]))
				continue;
			found = true;
			json_array_foreach(sel, k, s)
				if (s == ep)
					dup = true;
			if (!dup)
				json_array_append(sel, ep);
		}
		if (!found && report) {
			fprintf(stderr, "Error response from daemon: No such container: %s\n", args[a]);
			missing = true;
		}
	}
	if (missing) {
		json_decref(sel);
		return NULL;
	}
	return sel;
}

static long long drops_text(json_t *drops, struct sbuf *b)
{
	struct sbuf why = { 0 };
	long long total = 0, n;
	const char *k;
	json_t *v;

	json_object_foreach(drops, k, v) {
		n = jval_int(v);
		if (!n)
			continue;
		total += n;
		sbuf_printf(&why, "%s%s=%lld", why.len ? ", " : "", k, n);
	}
	if (total)
		sbuf_printf(b, "%lld (%s)", total, sbuf_str(&why));
	else
		sbuf_puts(b, "0");
	sbuf_free(&why);
	return total;
}

static long long jpath(json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return jval_int(v);
}

/* Docker's CPU %, memory and block I/O figures from a container stats
 * object (cli/command/container/stats_helpers.go). */
static void cgroup_fields(json_t *row, json_t *st)
{
	long long cpu = jpath(st, "cpu_stats", "cpu_usage", "total_usage") -
			jpath(st, "precpu_stats", "cpu_usage", "total_usage");
	long long sys = jpath(st, "cpu_stats", "system_cpu_usage", NULL) -
			jpath(st, "precpu_stats", "system_cpu_usage", NULL);
	long long ncpu = jpath(st, "cpu_stats", "online_cpus", NULL);
	long long usage = jpath(st, "memory_stats", "usage", NULL);
	long long limit = jpath(st, "memory_stats", "limit", NULL);
	long long inactive = jpath(st, "memory_stats", "stats", "inactive_file");
	long long rd = 0, wr = 0;
	char a[32], b[32], buf[96];
	json_t *io = json_object_get(json_object_get(st, "blkio_stats"),
				     "io_service_bytes_recursive"), *e;
	size_t i;

	if (!ncpu)
		ncpu = 1;
	snprintf(buf, sizeof(buf), "%.2f%%", sys > 0 && cpu > 0 ? (double)cpu / sys * ncpu * 100 : 0.0);
	json_object_set_new(row, "CPUPerc", json_string(buf));
	if (inactive > 0 && inactive < usage)
		usage -= inactive;
	bytes_size((double)usage, a, sizeof(a));
	bytes_size((double)limit, b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s / %s", a, b);
	json_object_set_new(row, "MemUsage", json_string(buf));
	snprintf(buf, sizeof(buf), "%.2f%%", limit > 0 ? (double)usage / limit * 100 : 0.0);
	json_object_set_new(row, "MemPerc", json_string(buf));
	json_array_foreach(io, i, e) {
		const char *op = jstr(e, "op");

		if (!strcasecmp(op, "read"))
			rd += jint(e, "value");
		else if (!strcasecmp(op, "write"))
			wr += jint(e, "value");
	}
	human_size((double)rd, 3, a, sizeof(a));
	human_size((double)wr, 3, b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s / %s", a, b);
	json_object_set_new(row, "BlockIO", json_string(buf));
	snprintf(buf, sizeof(buf), "%lld", jpath(st, "pids_stats", "current", NULL));
	json_object_set_new(row, "PIDs", json_string(buf));
}

static void no_cgroup(json_t *row)
{
	static const char *const f[] = { "CPUPerc", "MemUsage", "MemPerc", "BlockIO", "PIDs" };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_set_new(row, f[i], json_string(NA));
}

/* Sum the network counters of ep into row (a container's second network). */
static void add_counters(json_t *row, json_t *ep)
{
	static const char *const f[] = { "RxBytes", "RxPackets", "TxBytes", "TxPackets",
					 "DropsTotal", "ActiveFlows" };
	json_t *rd = jobj(row, "Drops"), *ed = jobj(ep, "Drops");
	const char *k;
	json_t *v;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_set_new(row, f[i], json_integer(jint(row, f[i]) + jint(ep, f[i])));
	if (rd && ed)
		json_object_foreach(ed, k, v)
			json_object_set_new(rd, k, json_integer(jint(rd, k) + jval_int(v)));
	json_object_set_new(row, "Network", json_sprintf("%s,%s", jstr(row, "Network"),
							  jstr(ep, "Network")));
}

static void net_fields(json_t *row, bool notrunc)
{
	const char *id = *jstr(row, "Container") ? jstr(row, "Container") : jstr(row, "EndpointID");
	char rx[32], tx[32], buf[96];
	struct sbuf d = { 0 };
	json_t *drops = jobj(row, "Drops");

	json_object_set_new(row, "ID", json_stringn(id, notrunc ? strlen(id) : strnlen(id, 12)));
	human_size((double)jint(row, "RxBytes"), 3, rx, sizeof(rx));
	human_size((double)jint(row, "TxBytes"), 3, tx, sizeof(tx));
	snprintf(buf, sizeof(buf), "%s / %s", rx, tx);
	json_object_set_new(row, "NetIO", json_string(buf));
	snprintf(buf, sizeof(buf), "%lld / %lld", jint(row, "RxPackets"), jint(row, "TxPackets"));
	json_object_set_new(row, "Packets", json_string(buf));
	drops_text(drops, &d);
	json_object_set_new(row, "DropsByReason", drops ? json_incref(drops) : json_object());
	json_object_set_new(row, "DropsText", json_string(sbuf_str(&d)));
	sbuf_free(&d);
}

/* One row per container (endpoints merged) or netns endpoint. */
static json_t *build_rows(struct client *cl, json_t *sel, bool notrunc)
{
	json_t *rows = json_array(), *ep, *row;
	size_t i, k;

	json_array_foreach(sel, i, ep) {
		const char *c = jstr(ep, "Container");
		bool merged = false;

		if (*c)
			json_array_foreach(rows, k, row)
				if (!strcmp(jstr(row, "Container"), c)) {
					add_counters(row, ep);
					merged = true;
					break;
				}
		if (merged)
			continue;
		row = json_deep_copy(ep);
		if (!jobj(row, "Drops"))
			json_object_set_new(row, "Drops", json_object());
		json_array_append_new(rows, row);
	}
	json_array_foreach(rows, i, row) {
		const char *c = jstr(row, "Container");
		json_t *st = NULL;

		net_fields(row, notrunc);
		if (*c) {
			char path[160];

			snprintf(path, sizeof(path), "/containers/%s/stats?stream=false", c);
			if (client_call(cl, "GET", path, NULL, CLIENT_QUIET_404, &st, NULL) != CLIENT_OK)
				st = NULL;
		}
		if (json_is_object(st))
			cgroup_fields(row, st);
		else
			no_cgroup(row);
		json_decref(st);
	}
	return rows;
}

static int render(struct client *cl, json_t *sel, const char *format, bool notrunc,
		  struct shoal_err *err)
{
	json_t *rows = build_rows(cl, sel, notrunc), *hdr, *row;
	size_t i;
	int r;

	if (!rows)
		return err_set(err, ENOMEM, "out of memory");
	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER);

		json_decref(rows);
		if (!s)
			return err_set(err, ENOMEM, "out of memory");
		printf("%s\n", s);
		free(s);
		return 0;
	}
	/* Templates: .Drops is the text; the object stays .DropsByReason. */
	json_array_foreach(rows, i, row)
		json_object_set(row, "Drops", json_object_get(row, "DropsText"));
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"ID", "CONTAINER ID", "Name", "NAME", "CPUPerc", "CPU %", "MemUsage",
			"MEM USAGE / LIMIT", "MemPerc", "MEM %", "NetIO", "NET I/O", "BlockIO",
			"BLOCK I/O", "PIDs", "PIDS", "Drops", "DROPS", "Network", "NETWORK",
			"Packets", "PACKETS (rx / tx)", "Container", "CONTAINER", "Netns", "NETNS",
			"IPv4Address", "IPV4 ADDRESS");
	r = format_rows(format, STATS_TABLE, rows, hdr, stdout, err);
	json_decref(rows);
	json_decref(hdr);
	return r;
}

/*
 * The "Node" object of GET /endpoints/stats (NULL from an older daemon
 * reads as all zero), as three lines, JSON or a template.
 */
static int render_node(json_t *node, const char *format, struct shoal_err *err)
{
	char bytes[32];
	struct sbuf b = { 0 };

	if (format && !strcmp(format, "json")) {
		char *s = node ? json_dumps(node, JSON_COMPACT | JSON_PRESERVE_ORDER) :
				 strdup("{}");

		if (!s)
			return err_set(err, ENOMEM, "out of memory");
		printf("%s\n", s);
		free(s);
		return 0;
	}
	if (format && strcmp(format, "table")) {
		json_t *empty = node ? NULL : json_object();
		int r = tmpl_exec(format, node ? node : empty, &b, err);

		if (r == 0)
			printf("%s\n", sbuf_str(&b));
		sbuf_free(&b);
		json_decref(empty);
		return r;
	}
	human_size((double)jint(node, "RxVxlanBytes"), 3, bytes, sizeof(bytes));
	printf("VXLAN RX: %s / %lld pkts\n", bytes, jint(node, "RxVxlanPackets"));
	human_size((double)jint(node, "TxVxlanBytes"), 3, bytes, sizeof(bytes));
	printf("VXLAN TX: %s / %lld pkts\n", bytes, jint(node, "TxVxlanPackets"));
	drops_text(jobj(node, "Drops"), &b);
	printf("DROPS: %s\n", sbuf_str(&b));
	sbuf_free(&b);
	return 0;
}

static void sleep_until(struct timespec *next)
{
	next->tv_sec += 1;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
}

int cmd_stats(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	bool stream = true, notrunc = false, node = false, tty, first = true;
	struct shoal_err err;
	struct timespec next;
	struct cli_parse p;
	struct client cl;
	int o, rc = 1;

	cli_parse_init(&p, &stats_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case OPT_NOSTREAM:
			stream = val[0] != 't';
			break;
		case OPT_NOTRUNC:
			notrunc = val[0] == 't';
			break;
		case OPT_FORMAT:
			format = val;
			break;
		case OPT_NODE:
			node = val[0] == 't';
			break;
		case OPT_ALL:
			break; /* every known endpoint is shown; containers without one have no network */
		}
	}
	if (o < 0)
		return p.rc;
	if (node) {
		if (p.nargs) {
			fprintf(stderr, "--node shows the node's counters: it takes no CONTAINER arguments\n"
					"See '%s %s --help'.\n", CLI_PROG, stats_usage.path);
			return 1;
		}
		if (format && !strncmp(format, "table", 5) && format[5]) {
			fprintf(stderr, "--node takes --format table, json or a TEMPLATE, not 'table TEMPLATE'\n");
			return 1;
		}
		if (format && strcmp(format, "json") && strcmp(format, "table") &&
		    tmpl_check(format, &err) < 0) {
			fprintf(stderr, "template parsing error: %s\n", err.msg);
			return 1;
		}
	} else if (format && strcmp(format, "json") && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		return 1;
	}
	tty = isatty(STDOUT_FILENO);
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		json_t *resp = NULL, *sel;
		int r;

		if (client_call(&cl, "GET", "/endpoints/stats", NULL, 0, &resp,
				NULL) != CLIENT_OK)
			break;
		if (node) {
			if (stream && tty)
				fputs("\033[2J\033[H", stdout);
			r = render_node(jobj(resp, "Node"), format, &err);
			json_decref(resp);
		} else {
			/* A name that matches nothing is an error only at the start. */
			sel = select_eps(jarr(resp, "Endpoints"), p.args, p.nargs, first);
			json_decref(resp);
			if (!sel)
				break;
			if (stream && tty)
				fputs("\033[2J\033[H", stdout);
			r = render(&cl, sel, format, notrunc, &err);
			json_decref(sel);
		}
		if (r < 0) {
			fprintf(stderr, "%s\n", err.msg);
			break;
		}
		fflush(stdout);
		if (ferror(stdout)) /* reader went away */
			break;
		first = false;
		if (!stream) {
			rc = 0;
			break;
		}
		sleep_until(&next);
	}
	client_close(&cl);
	return rc;
}
