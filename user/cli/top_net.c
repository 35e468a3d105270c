// SPDX-License-Identifier: Apache-2.0
/*
 * top_net.c - `shoal top` without a CONTAINER argument: network rates per
 * container, refreshed in place every second like `top` (bytes/s and
 * packets/s in each direction, drops/s, active flows), from the eBPF
 * data path's counters (GET /endpoints/stats). Rates are the difference
 * between two samples over the time between them, so --no-stream takes
 * two samples a second apart.
 *
 * `shoal top CONTAINER [ps OPTIONS]` is Docker's process list, a
 * different verb that shares the name: cmd_top() dispatches on whether a
 * CONTAINER argument is given.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "output.h"

#define TOP_TABLE                                                                   \
	"table {{.Name}}\t{{.Network}}\t{{.RxRate}}\t{{.TxRate}}\t{{.RxPktRate}}"    \
	"\t{{.TxPktRate}}\t{{.DropRate}}\t{{.ActiveFlows}}"

enum { OPT_NOSTREAM = 256, OPT_FORMAT, OPT_INTERVAL };

static const struct cli_opt top_opts[] = {
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table' (default), 'table TEMPLATE', 'json' (one array per sample) or TEMPLATE" },
	{ OPT_INTERVAL, 0, "interval", "float", "Seconds between samples (default 1)" },
	{ OPT_NOSTREAM, 0, "no-stream", NULL, "Print one sample (rates over one interval) and exit" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage top_usage = {
	.path = "top",
	.args = "[OPTIONS]",
	.desc = "Display live network rates of every container",
	.opts = top_opts,
	.extra =
		"Without a CONTAINER argument: per container (or netns endpoint) rx/tx\n"
		"bytes/s and packets/s, drops/s and active flows (seen in the last 30 s,\n"
		"not closed), counted by the eBPF data path.\n"
		"`shoal top CONTAINER` lists a container's processes, as `docker top`.\n"
		"Template fields: .Name .ID .Network .RxRate .TxRate .RxPktRate\n"
		".TxPktRate .DropRate (text) .RxBytesPerSec .TxBytesPerSec\n"
		".RxPacketsPerSec .TxPacketsPerSec .DropsPerSec (numbers) .ActiveFlows.\n",
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *find_ep(json_t *eps, const char *id)
{
	json_t *e;
	size_t i;

	json_array_foreach(eps, i, e)
		if (!strcmp(jstr(e, "EndpointID"), id))
			return e;
	return NULL;
}

static void rate_text(double v, bool bytes, char *buf, size_t len)
{
	char s[32];

	if (bytes) {
		human_size(v, 3, s, sizeof(s));
		snprintf(buf, len, "%s/s", s);
	} else {
		snprintf(buf, len, "%.1f/s", v);
	}
}

static json_t *rows_of(json_t *prev, json_t *cur, double dt)
{
	static const struct {
		const char *ctr, *num, *txt;
		bool bytes;
	} f[] = {
		{ "RxBytes", "RxBytesPerSec", "RxRate", true },
		{ "TxBytes", "TxBytesPerSec", "TxRate", true },
		{ "RxPackets", "RxPacketsPerSec", "RxPktRate", false },
		{ "TxPackets", "TxPacketsPerSec", "TxPktRate", false },
		{ "DropsTotal", "DropsPerSec", "DropRate", false },
	};
	json_t *rows = json_array(), *e;
	size_t i;

	json_array_foreach(cur, i, e) {
		json_t *p = find_ep(prev, jstr(e, "EndpointID"));
		const char *id = *jstr(e, "Container") ? jstr(e, "Container") : jstr(e, "EndpointID");
		json_t *row = json_pack("{s:s, s:s, s:s, s:I}", "Name", jstr(e, "Name"), "ID", id,
					"Network", jstr(e, "Network"), "ActiveFlows",
					(json_int_t)jint(e, "ActiveFlows"));
		char buf[48];

		if (!row)
			continue;
		json_object_set_new(row, "ID", json_stringn(id, strnlen(id, 12)));
		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
			long long d = p ? jint(e, f[k].ctr) - jint(p, f[k].ctr) : 0;
			double v = dt > 0 && d > 0 ? (double)d / dt : 0.0;

			json_object_set_new(row, f[k].num, json_real(v));
			rate_text(v, f[k].bytes, buf, sizeof(buf));
			json_object_set_new(row, f[k].txt, json_string(buf));
		}
		json_array_append_new(rows, row);
	}
	return rows;
}

static int sample(struct client *cl, json_t **eps, double *t)
{
	json_t *resp = NULL;

	if (client_call(cl, "GET", "/endpoints/stats", NULL, 0, &resp, NULL) != CLIENT_OK)
		return -1;
	*t = now_s();
	*eps = json_incref(jarr(resp, "Endpoints"));
	json_decref(resp);
	if (!*eps)
		*eps = json_array();
	return 0;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0)
		;
}

int cmd_top_net(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	bool stream = true, tty;
	double interval = 1.0, t0, t1;
	struct shoal_err err;
	struct cli_parse p;
	struct client cl;
	json_t *prev = NULL, *cur = NULL, *hdr;
	char *end;
	int o, rc = 1;

	cli_parse_init(&p, &top_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case OPT_NOSTREAM:
			stream = val[0] != 't';
			break;
		case OPT_FORMAT:
			format = val;
			break;
		case OPT_INTERVAL:
			interval = strtod(val, &end);
			if (!*val || *end || interval < 0.1 || interval > 3600)
				return cli_usage_error(&top_usage,
						       "invalid argument \"%s\" for \"--interval\" flag: seconds between 0.1 and 3600",
						       val);
			break;
		}
	}
	if (o < 0)
		return p.rc;
	if (cli_args_none(&top_usage, p.nargs))
		return 1;
	if (format && strcmp(format, "json") && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		return 1;
	}
	tty = isatty(STDOUT_FILENO);
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Name", "NAME", "ID",
			"CONTAINER ID", "Network", "NETWORK", "RxRate", "RX/s", "TxRate", "TX/s",
			"RxPktRate", "RX PKTS/s", "TxPktRate", "TX PKTS/s", "DropRate", "DROPS/s",
			"ActiveFlows", "ACTIVE FLOWS");
	if (sample(&cl, &prev, &t0) < 0)
		goto out;
	for (;;) {
		json_t *rows;
		int r;

		sleep_s(interval);
		if (sample(&cl, &cur, &t1) < 0)
			goto out;
		rows = rows_of(prev, cur, t1 - t0);
		if (stream && tty)
			fputs("\033[2J\033[H", stdout);
		if (format && !strcmp(format, "json")) {
			char *s = json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER);

			printf("%s\n", s ? s : "[]");
			free(s);
			r = 0;
		} else {
			r = format_rows(format, TOP_TABLE, rows, hdr, stdout, &err);
		}
		json_decref(rows);
		if (r < 0) {
			fprintf(stderr, "%s\n", err.msg);
			goto out;
		}
		fflush(stdout);
		if (ferror(stdout) || !stream)
			break;
		json_decref(prev);
		prev = cur;
		cur = NULL;
		t0 = t1;
	}
	rc = 0;
out:
	json_decref(prev);
	json_decref(cur);
	json_decref(hdr);
	client_close(&cl);
	return rc;
}

/*
 * `shoal top`: network rates without a CONTAINER, a container's
 * processes with one (Docker's `top`). Options only (or none) means the
 * rates view.
 */
int cmd_top(struct cli_ctx *ctx, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (argv[i][0] != '-') {
			if (i > 1 && (!strcmp(argv[i - 1], "--format") || !strcmp(argv[i - 1], "--interval")))
				continue;
			return cmd_top_ps(ctx, argc, argv);
		}
	}
	return cmd_top_net(ctx, argc, argv);
}

