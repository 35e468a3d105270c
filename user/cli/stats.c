// SPDX-License-Identifier: Apache-2.0
/*
 * stats.c - `shoal stats`: per-endpoint traffic counters the BPF programs
 * keep in ep_stats (GET /endpoints/stats), shown like `docker stats`:
 * a live table redrawn every second, or one sample with --no-stream.
 *
 * Sizes use go-units' HumanSizeWithPrecision(n, 3), as docker stats does,
 * so "1.23kB / 456B" reads the same in both tools.
 *
 * `--node` shows the node-level counters of the same answer instead
 * ("Node": VXLAN traffic through the underlay, drops not tied to a local
 * endpoint).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "output.h"

#define STATS_TABLE                                                           \
	"table {{.ID}}\t{{.Name}}\t{{.Network}}\t{{.NetIO}}\t{{.Packets}}\t{{.Drops}}"
#define NETNS_DIR "/run/netns/"

enum { OPT_NOSTREAM = 256, OPT_FORMAT, OPT_NOTRUNC, OPT_NODE };

static const struct cli_opt stats_opts[] = {
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table' (default), 'table TEMPLATE', 'json' (the endpoints' raw objects) or TEMPLATE" },
	{ OPT_NODE, 0, "node", NULL,
	  "Show node-level counters (VXLAN rx/tx, node drops) instead of endpoints" },
	{ OPT_NOSTREAM, 0, "no-stream", NULL, "Disable streaming stats and only pull the first result" },
	{ OPT_NOTRUNC, 0, "no-trunc", NULL, "Do not truncate output" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage stats_usage = {
	.path = "stats",
	.args = "[OPTIONS] [ENDPOINT|NETNS...]",
	.desc = "Display a live stream of endpoint network statistics",
	.opts = stats_opts,
	.extra =
		"Arguments select endpoints by ID prefix, name (the netns name),\n"
		"container, or network namespace path. Template fields: .ID .Name\n"
		".Network .NetIO .Packets .Drops (text) .Container .Netns .IPv4Address\n"
		".MacAddress .HostInterface .RxBytes .TxBytes .RxPackets .TxPackets\n"
		".DropsByReason (object).\n"
		"With --node, no arguments; --format json prints the daemon's \"Node\"\n"
		"object, a TEMPLATE sees .Drops (object) .RxVxlanPackets .RxVxlanBytes\n"
		".TxVxlanPackets .TxVxlanBytes.\n",
};

static bool ep_matches(json_t *ep, const char *arg)
{
	const char *id = jstr(ep, "EndpointID"), *ns = jstr(ep, "Netns");
	size_t n = strlen(arg);

	if (!n)
		return false;
	if (!strcmp(jstr(ep, "Name"), arg) || !strcmp(jstr(ep, "Container"), arg) ||
	    !strcmp(ns, arg))
		return true;
	if (!strncmp(ns, NETNS_DIR, strlen(NETNS_DIR)) &&
	    !strcmp(ns + strlen(NETNS_DIR), arg))
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
			fprintf(stderr, "Error: No such endpoint: %s\n", args[a]);
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

static json_t *stats_row(json_t *ep, bool notrunc)
{
	static const char *const strs[] = { "Name", "Network", "NetworkID",
					    "Container", "Netns", "IPv4Address",
					    "MacAddress", "HostInterface" };
	static const char *const ints[] = { "RxBytes", "RxPackets", "TxBytes",
					    "TxPackets" };
	json_t *row = json_deep_copy(ep), *drops = jobj(ep, "Drops");
	const char *id = jstr(ep, "EndpointID"), *net = jstr(ep, "Network");
	char rx[32], tx[32], buf[96];
	struct sbuf d = { 0 };

	if (!row)
		return NULL;
	/* Templates see every documented field, empty when the daemon omits it. */
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		json_object_set_new(row, strs[i], json_string(jstr(ep, strs[i])));
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		json_object_set_new(row, ints[i], json_integer(jint(ep, ints[i])));
	json_object_set_new(row, "ID", json_stringn(id, notrunc ? strlen(id) :
								 strnlen(id, 12)));
	if (!*net) {
		net = jstr(ep, "NetworkID");
		json_object_set_new(row, "Network",
				    json_stringn(net, strnlen(net, 12)));
	}
	human_size((double)jint(ep, "RxBytes"), 3, rx, sizeof(rx));
	human_size((double)jint(ep, "TxBytes"), 3, tx, sizeof(tx));
	snprintf(buf, sizeof(buf), "%s / %s", rx, tx);
	json_object_set_new(row, "NetIO", json_string(buf));
	snprintf(buf, sizeof(buf), "%lld / %lld", jint(ep, "RxPackets"),
		 jint(ep, "TxPackets"));
	json_object_set_new(row, "Packets", json_string(buf));
	drops_text(drops, &d);
	json_object_set_new(row, "DropsByReason",
			    drops ? json_incref(drops) : json_object());
	json_object_set_new(row, "Drops", json_string(sbuf_str(&d)));
	sbuf_free(&d);
	return row;
}

static int render(json_t *sel, const char *format, bool notrunc,
		  struct shoal_err *err)
{
	json_t *rows, *hdr, *ep;
	size_t i;
	int r;

	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(sel, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (!s)
			return err_set(err, ENOMEM, "out of memory");
		printf("%s\n", s);
		free(s);
		return 0;
	}
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"ID", "ENDPOINT", "Name", "NAME", "Network", "NETWORK",
			"NetIO", "NET I/O (rx / tx)", "Packets",
			"PACKETS (rx / tx)", "Drops", "DROPS", "Container",
			"CONTAINER", "Netns", "NETNS", "IPv4Address", "IPV4 ADDRESS",
			"MacAddress", "MAC ADDRESS", "HostInterface",
			"HOST INTERFACE");
	if (!rows || !hdr) {
		json_decref(rows);
		json_decref(hdr);
		return err_set(err, ENOMEM, "out of memory");
	}
	json_array_foreach(sel, i, ep)
		json_array_append_new(rows, stats_row(ep, notrunc));
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
		}
	}
	if (o < 0)
		return p.rc;
	if (node) {
		if (p.nargs) {
			fprintf(stderr, "--node shows the node's counters: it takes no ENDPOINT arguments\n"
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
			r = render(sel, format, notrunc, &err);
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
