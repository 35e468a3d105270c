// SPDX-License-Identifier: Apache-2.0
/*
 * monitor.c - `shoal monitor`: drop and flow events from the data path,
 * live (GET /shoal/monitor streams them, one JSON object per line), as
 * `cilium monitor` shows them. Events the kernel or this client could
 * not deliver (rate limit, full ring, slow reader) are reported as
 * "lost" lines, never silently skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "stream.h"

enum { OPT_TYPE = 256, OPT_CONTAINER, OPT_FORMAT };

static const struct cli_opt monitor_opts[] = {
	{ OPT_CONTAINER, 0, "container", "list", "Only events of these containers (repeatable)" },
	{ OPT_FORMAT, 0, "format", "string", "Format output: 'text' (default) or 'json' (one object per line)" },
	{ OPT_TYPE, 't', "type", "list", "Event types: drop, flow (repeatable; default: all)" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage monitor_usage = {
	.path = "monitor",
	.args = "[OPTIONS]",
	.desc = "Display live drop and flow events from the data path",
	.opts = monitor_opts,
	.extra =
		"Which events the data path sends is the daemon's choice (daemon.json\n"
		"\"events\": \"drop\" by default, \"drop,flow\" for flow start/end too), at\n"
		"most \"event-rate-limit\" per CPU per second; what is over the limit or\n"
		"does not fit is counted and shown as a \"lost\" line. Ctrl-C stops.\n",
};

struct mon {
	bool json;
};

static void ep_name(json_t *ev, char *buf, size_t len)
{
	json_t *ep = jobj(ev, "Endpoint");
	const char *n = jstr(ep, "Name");

	snprintf(buf, len, "%s", *n ? n : "?");
}

static int show(void *arg, json_t *ev)
{
	struct mon *m = arg;
	const char *type = jstr(ev, "Type");
	char name[280];

	if (!strcmp(type, "keepalive"))
		return 0;
	if (m->json) {
		char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);

		printf("%s\n", s ? s : "{}");
		free(s);
	} else if (!strcmp(type, "start")) {
		printf("Listening for events on %lld CPUs with %lld KiB of ring buffer, at most %lld "
		       "events per CPU per second (drop events %s, flow events %s)\n"
		       "Press Ctrl-C to quit\n",
		       jint(ev, "CPUs"), jint(ev, "RingBytes") / 1024, jint(ev, "RateLimit"),
		       jbool(ev, "DropEvents") ? "on" : "off", jbool(ev, "FlowEvents") ? "on" : "off");
	} else if (!strcmp(type, "lost")) {
		printf("!! lost %lld events: %lld rate limited, %lld ring full, %lld slow reader\n",
		       jint(ev, "RateLimited") + jint(ev, "RingFull") + jint(ev, "SlowReader"),
		       jint(ev, "RateLimited"), jint(ev, "RingFull"), jint(ev, "SlowReader"));
	} else if (!strcmp(type, "drop")) {
		ep_name(ev, name, sizeof(name));
		printf("xx drop (%s) at %s from %s (ifindex %lld): %s %s -> %s, %lld bytes\n",
		       jstr(ev, "Reason"), jstr(ev, "Source"), name, jint(ev, "Ifindex"),
		       jstr(ev, "Proto"), jstr(ev, "Src"), jstr(ev, "Dst"), jint(ev, "Length"));
	} else if (!strncmp(type, "flow-", 5)) {
		ep_name(ev, name, sizeof(name));
		printf("%s %s %s %s: %s %s -> %s%s%s%s, %lld packets, %lld bytes\n",
		       !strcmp(type, "flow-start") ? "->" : "<-", type + 5, name,
		       jstr(ev, "Direction"), jstr(ev, "Proto"), jstr(ev, "Src"), jstr(ev, "Dst"),
		       *jstr(ev, "TCPFlags") ? " [" : "", jstr(ev, "TCPFlags"),
		       *jstr(ev, "TCPFlags") ? "]" : "", jint(ev, "Packets"), jint(ev, "Bytes"));
	}
	fflush(stdout);
	return ferror(stdout) ? 1 : 0; /* reader went away: stop */
}

static int add_list(struct sbuf *b, const char *v)
{
	if (!*v)
		return -1;
	sbuf_printf(b, "%s%s", b->len ? "," : "", v);
	return 0;
}

int cmd_monitor(struct cli_ctx *ctx, int argc, char **argv)
{
	struct sbuf types = { 0 }, conts = { 0 }, path = { 0 };
	struct stream_req s = { .in_fd = -1, .out_fd = -1, .on_msg = show };
	struct mon m = { 0 };
	const char *format = NULL, *val;
	struct cli_parse p;
	struct client cl;
	int o, rc = 1;

	cli_parse_init(&p, &monitor_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case OPT_TYPE:
			if (strcmp(val, "drop") && strcmp(val, "flow") && strcmp(val, "all")) {
				sbuf_free(&types);
				sbuf_free(&conts);
				return cli_usage_error(&monitor_usage,
						       "invalid argument \"%s\" for \"-t, --type\" flag: expected drop, flow or all",
						       val);
			}
			add_list(&types, val);
			break;
		case OPT_CONTAINER:
			if (add_list(&conts, val) < 0) {
				sbuf_free(&types);
				sbuf_free(&conts);
				return cli_usage_error(&monitor_usage, "--container needs a name");
			}
			break;
		case OPT_FORMAT:
			format = val;
			break;
		}
	}
	if (o < 0)
		goto out_free;
	if (cli_args_none(&monitor_usage, p.nargs))
		goto out_free;
	if (format && strcmp(format, "json") && strcmp(format, "text")) {
		cli_usage_error(&monitor_usage, "invalid --format \"%s\": expected text or json", format);
		goto out_free;
	}
	m.json = format && !strcmp(format, "json");
	s.arg = &m;
	if (client_open_or_report(&cl, ctx->host))
		goto out_free;
	sbuf_printf(&path, "/shoal/monitor?type=%s", types.len ? sbuf_str(&types) : "all");
	if (conts.len) {
		char *e = client_escape(&cl, sbuf_str(&conts));

		sbuf_printf(&path, "&container=%s", e ? e : "");
		free(e);
	}
	rc = client_stream(&cl, "GET", sbuf_str(&path), &s) == CLIENT_OK ? 0 : 1;
	client_close(&cl);
out_free:
	if (o < 0)
		rc = p.rc;
	sbuf_free(&types);
	sbuf_free(&conts);
	sbuf_free(&path);
	return rc;
}
