// SPDX-License-Identifier: Apache-2.0
/*
 * flows.c - `shoal flows [CONTAINER...]`: top talkers per container from
 * the flow table the BPF data path keeps (GET /shoal/flows), with the
 * peer of each flow named when it is a container shoal knows. Below the
 * table, the state of the flow table itself (entries, evictions, failed
 * inserts): a full table is shown, never silent.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "output.h"

#define FLOWS_TABLE                                                                    \
	"table {{.Container}}\t{{.Direction}}\t{{.Proto}}\t{{.Src}}\t{{.Dst}}\t{{.Peer}}" \
	"\t{{.Packets}}\t{{.Size}}\t{{.Age}}\t{{.TCPFlags}}"

enum { OPT_SORT = 256, OPT_LIMIT, OPT_FORMAT };

static const struct cli_opt flows_opts[] = {
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table' (default), 'table TEMPLATE', 'json' (the daemon's answer) or TEMPLATE" },
	{ OPT_LIMIT, 'n', "limit", "int", "Show at most N flows per container, 0 for all (default 10)" },
	{ OPT_SORT, 0, "sort", "string", "Sort by bytes (default), packets or age (oldest first)" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage flows_usage = {
	.path = "flows",
	.args = "[OPTIONS] [CONTAINER...]",
	.desc = "Display the top network flows of containers",
	.opts = flows_opts,
	.extra =
		"Flows are counted in the kernel by the eBPF data path (daemon.json\n"
		"\"flow-accounting\"), one per container, direction and 5-tuple, in an\n"
		"LRU table of \"flow-table-size\" entries. CONTAINER is a container name\n"
		"or ID, an endpoint ID prefix, or a network namespace name or path.\n"
		"PEER names the other end when shoal knows it (a container, \"host\"\n"
		"for the gateway, NAME@NODE for a remote endpoint).\n"
		"Template fields: .Container .Direction .Proto .Src .Dst .SrcIP .SrcPort\n"
		".DstIP .DstPort .Peer .PeerKind .Packets .Bytes .Size .Age .Idle\n"
		".FirstSeen .LastSeen .TCPFlags .Active .Network .EndpointID\n",
};

static json_t *flow_row(json_t *f)
{
	json_t *row = json_deep_copy(f), *ep = jobj(f, "Endpoint");
	char size[32], age[64];
	double secs = json_number_value(json_object_get(f, "AgeSeconds"));

	if (!row)
		return NULL;
	json_object_set_new(row, "Container", json_string(jstr(ep, "Name")));
	json_object_set_new(row, "Network", json_string(jstr(ep, "Network")));
	json_object_set_new(row, "EndpointID", json_string(jstr(ep, "ID")));
	human_size((double)jint(f, "Bytes"), 3, size, sizeof(size));
	json_object_set_new(row, "Size", json_string(size));
	snprintf(age, sizeof(age), "%.1fs", secs);
	json_object_set_new(row, "Age", json_string(age));
	snprintf(age, sizeof(age), "%.1fs", json_number_value(json_object_get(f, "IdleSeconds")));
	json_object_set_new(row, "Idle", json_string(age));
	if (!*jstr(f, "Peer"))
		json_object_set_new(row, "Peer", json_string("-"));
	if (!*jstr(f, "TCPFlags"))
		json_object_set_new(row, "TCPFlags", json_string("-"));
	return row;
}

static void table_footer(json_t *t)
{
	double fill = json_number_value(json_object_get(t, "FillRatio")) * 100;

	if (!jbool(t, "Enabled"))
		printf("\nflow accounting is off (daemon.json \"flow-accounting\": false): "
		       "no new flows are recorded\n");
	printf("\nflow table: %lld/%lld entries (%.1f%%), %lld created, %lld evicted, "
	       "%lld not tracked (table full)\n",
	       jint(t, "Entries"), jint(t, "Size"), fill, jint(t, "Created"), jint(t, "Evicted"),
	       jint(t, "InsertFailed"));
}

int cmd_flows(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *sort = NULL, *val;
	long limit = 10;
	struct cli_parse p;
	struct shoal_err err;
	struct client cl;
	struct sbuf path = { 0 }, conts = { 0 };
	json_t *resp = NULL, *rows, *hdr, *f;
	size_t i;
	char *end;
	int o, rc = 1;

	cli_parse_init(&p, &flows_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case OPT_FORMAT:
			format = val;
			break;
		case OPT_SORT:
			sort = val;
			break;
		case OPT_LIMIT:
			limit = strtol(val, &end, 10);
			if (!*val || *end || limit < 0)
				return cli_usage_error(&flows_usage,
						       "invalid argument \"%s\" for \"-n, --limit\" flag: expected an integer >= 0",
						       val);
			break;
		}
	}
	if (o < 0)
		return p.rc;
	if (sort && strcmp(sort, "bytes") && strcmp(sort, "packets") && strcmp(sort, "age"))
		return cli_usage_error(&flows_usage,
				       "invalid argument \"%s\" for \"--sort\" flag: expected bytes, packets or age",
				       sort);
	if (format && strcmp(format, "json") && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	for (int a = 0; a < p.nargs; a++) {
		char *e = client_escape(&cl, p.args[a]);

		sbuf_printf(&conts, "%s%s", a ? "," : "", e ? e : "");
		free(e);
	}
	sbuf_printf(&path, "/shoal/flows?sort=%s&limit=%ld", sort ? sort : "bytes", limit);
	if (p.nargs)
		sbuf_printf(&path, "&container=%s", sbuf_str(&conts));
	if (client_call(&cl, "GET", sbuf_str(&path), NULL, 0, &resp, NULL) != CLIENT_OK)
		goto out;
	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);

		printf("%s\n", s ? s : "{}");
		free(s);
		rc = 0;
		goto out;
	}
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"Container", "CONTAINER", "Direction", "DIR", "Proto", "PROTO", "Src",
			"SOURCE", "Dst", "DESTINATION", "Peer", "PEER", "Packets", "PACKETS",
			"Size", "BYTES", "Bytes", "BYTES", "Age", "AGE", "Idle", "IDLE",
			"TCPFlags", "TCP FLAGS", "Network", "NETWORK");
	json_array_foreach(jarr(resp, "Flows"), i, f)
		json_array_append_new(rows, flow_row(f));
	if (format_rows(format, FLOWS_TABLE, rows, hdr, stdout, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	else
		rc = 0;
	if (rc == 0 && (!format || !strncmp(format, "table", 5)))
		table_footer(jobj(resp, "Table"));
	json_decref(rows);
	json_decref(hdr);
out:
	json_decref(resp);
	sbuf_free(&path);
	sbuf_free(&conts);
	client_close(&cl);
	return rc;
}
