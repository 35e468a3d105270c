// SPDX-License-Identifier: Apache-2.0
/*
 * info.c - `shoal info`: GET /info printed as `docker info` prints it
 * (same labels, same order, so tools that scrape it keep working), plus a
 * "Shoal:" block for the data plane: node, pin dir, accounting, counts, the
 * underlay overlay networks use, node-level drops by reason and VXLAN
 * traffic.
 */
#include <string.h>

#include "../common/names.h"
#include "cli.h"
#include "client.h"
#include "inspect.h"
#include "output.h"
#include "swarm_cmd.h"

static const struct cli_opt info_opts[] = {
	{ 'f', 'f', "format", "string",
	  "Format output: 'json', or a template ('{{json .}}', '{{.Shoal.PinDir}}')" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage info_usage = {
	.path = "info",
	.args = "[OPTIONS]",
	.desc = "Display system-wide information",
	.opts = info_opts,
};

static void kv(const char *indent, const char *label, const char *value)
{
	if (value && *value)
		printf("%s%s: %s\n", indent, label, value);
}

static void kv_int(const char *indent, const char *label, long long v)
{
	printf("%s%s: %lld\n", indent, label, v);
}

/* Print a scalar the way Go's %v would; non-scalars as compact JSON. */
static void print_scalar(const char *indent, const char *label, json_t *v)
{
	struct sbuf b = { 0 };
	struct shoal_err err;

	if (tmpl_exec("{{.}}", v, &b, &err) == 0)
		printf("%s%s: %s\n", indent, label, sbuf_str(&b));
	sbuf_free(&b);
}

static long long drops_total(json_t *drops)
{
	const char *k;
	long long t = 0;
	json_t *v;

	json_object_foreach(drops, k, v)
		t += jval_int(v);
	return t;
}

static void print_shoal(json_t *s)
{
	static const struct {
		const char *key, *label;
	} known[] = {
		{ "NodeName", "Node Name" },   { "ExecRoot", "Exec Root" },
		{ "BpffsRoot", "Bpffs Root" }, { "PinDir", "Pin Dir" },
		{ "Accounting", "Accounting" }, { "Networks", "Networks" },
		{ "Endpoints", "Endpoints" },  { "RemoteEndpoints", "Remote Endpoints" },
	};
	static const struct {
		const char *pkts, *bytes, *label;
	} vxlan[] = {
		{ "RxVxlanPackets", "RxVxlanBytes", "VXLAN RX" },
		{ "TxVxlanPackets", "TxVxlanBytes", "VXLAN TX" },
	};
	json_t *ns = jobj(s, "NodeStats"), *drops = jobj(ns, "Drops"), *v;
	const char *k;

	printf(" Shoal:\n");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		v = json_object_get(s, known[i].key);
		if (!v)
			continue;
		if (json_is_boolean(v))
			kv("  ", known[i].label, json_is_true(v) ? "on" : "off");
		else
			print_scalar("  ", known[i].label, v);
	}
	/* Underlay: null on a single host, absent from an older daemon. */
	v = json_object_get(s, "Underlay");
	if (json_is_object(v))
		printf("  Underlay: %s (%s, MTU %lld, VXLAN port %lld)\n",
		       jstr(v, "Interface"), jstr(v, "Address"), jint(v, "MTU"),
		       jint(v, "VxlanPort"));
	else if (json_is_null(v))
		printf("  Underlay: none (single host)\n");
	/* Fields this CLI does not know yet still show up, under their key. */
	json_object_foreach(s, k, v) {
		bool skip = !strcmp(k, "NodeStats") || !strcmp(k, "Underlay") ||
			    json_is_object(v) || json_is_array(v);

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(k, known[i].key))
				skip = true;
		if (!skip)
			print_scalar("  ", k, v);
	}
	if (!ns)
		return;
	if (drops) {
		kv_int("  ", "Node Drops", drops_total(drops));
		json_object_foreach(drops, k, v)
			if (jval_int(v))
				kv_int("   ", k, jval_int(v));
	}
	for (size_t i = 0; i < sizeof(vxlan) / sizeof(vxlan[0]); i++) {
		char size[32];

		if (!json_object_get(ns, vxlan[i].pkts) && !json_object_get(ns, vxlan[i].bytes))
			continue;
		human_size((double)jint(ns, vxlan[i].bytes), 3, size, sizeof(size));
		printf("  %s: %s / %lld pkts\n", vxlan[i].label, size,
		       jint(ns, vxlan[i].pkts));
	}
	json_object_foreach(ns, k, v) {
		bool skip = !strcmp(k, "Drops") || json_is_object(v) || json_is_array(v);

		for (size_t i = 0; i < sizeof(vxlan) / sizeof(vxlan[0]); i++)
			if (!strcmp(k, vxlan[i].pkts) || !strcmp(k, vxlan[i].bytes))
				skip = true;
		if (!skip)
			print_scalar("  ", k, v);
	}
}

static void print_info(json_t *v)
{
	json_t *ds = jarr(v, "DriverStatus"), *pair, *w;
	char mem[32];
	size_t i;

	printf("\nServer:\n");
	kv_int(" ", "Containers", jint(v, "Containers"));
	kv_int("  ", "Running", jint(v, "ContainersRunning"));
	kv_int("  ", "Paused", jint(v, "ContainersPaused"));
	kv_int("  ", "Stopped", jint(v, "ContainersStopped"));
	kv_int(" ", "Images", jint(v, "Images"));
	kv(" ", "Server Version", jstr(v, "ServerVersion"));
	kv(" ", "Storage Driver", jstr(v, "Driver"));
	json_array_foreach(ds, i, pair) {
		if (json_array_size(pair) == 2)
			kv("  ", json_string_value(json_array_get(pair, 0)),
			   json_string_value(json_array_get(pair, 1)));
	}
	swarm_print_info(v);
	if (*jstr(v, "ClusterStore")) {
		json_t *cs = jobj(jobj(v, "Shoal"), "ClusterStore");

		kv(" ", "Cluster Store", jstr(v, "ClusterStore"));
		kv(" ", "Cluster Advertise", jstr(v, "ClusterAdvertise"));
		if (cs) {
			kv("  ", "Status", jstr(cs, "Status"));
			kv("  ", "Since", jstr(cs, "Since"));
			kv("  ", "Endpoint", jstr(cs, "Endpoint"));
			kv("  ", "Prefix", jstr(cs, "Prefix"));
			kv_int("  ", "Nodes", (long long)json_array_size(jarr(cs, "Nodes")));
			kv_int("  ", "Revision", jint(cs, "Revision"));
			if (*jstr(cs, "LastError"))
				kv("  ", "Last Error", jstr(cs, "LastError"));
		}
	}
	kv(" ", "Kernel Version", jstr(v, "KernelVersion"));
	kv(" ", "Operating System", jstr(v, "OperatingSystem"));
	kv(" ", "OSType", jstr(v, "OSType"));
	kv(" ", "Architecture", jstr(v, "Architecture"));
	kv_int(" ", "CPUs", jint(v, "NCPU"));
	bytes_size((double)jint(v, "MemTotal"), mem, sizeof(mem));
	kv(" ", "Total Memory", mem);
	kv(" ", "Name", jstr(v, "Name"));
	kv(" ", "ID", jstr(v, "ID"));
	kv(" ", "Docker Root Dir", jstr(v, "DockerRootDir"));
	kv(" ", "Debug Mode", jbool(v, "Debug") ? "true" : "false");
	if (jobj(v, "Shoal"))
		print_shoal(jobj(v, "Shoal"));
	fflush(stdout);
	json_array_foreach(jarr(v, "Warnings"), i, w)
		if (json_is_string(w))
			fprintf(stderr, "WARNING: %s\n", json_string_value(w));
}

int cmd_info(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	struct shoal_err err;
	struct cli_parse p;
	struct client cl;
	json_t *info = NULL;
	int o, rc;

	cli_parse_init(&p, &info_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'f')
			format = val;
	if (o < 0)
		return p.rc;
	if (cli_args_none(&info_usage, p.nargs))
		return 1;
	if (cli_format_prepare(&format, "{{json .}}"))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	if (!format) {
		printf("Client:\n Version:    %s\n Debug Mode: %s\n", SHOAL_VERSION,
		       ctx->debug ? "true" : "false");
		fflush(stdout);
	}
	rc = client_call(&cl, "GET", "/info", NULL, 0, &info, NULL);
	client_close(&cl);
	if (rc) {
		return 1;
	}
	if (format) {
		struct sbuf out = { 0 };

		if (tmpl_exec(format, info ? info : json_null(), &out, &err) == 0) {
			printf("%s\n", sbuf_str(&out));
		} else {
			fprintf(stderr, "%s\n", err.msg);
			rc = 1;
		}
		sbuf_free(&out);
	} else {
		print_info(info);
	}
	json_decref(info);
	return rc ? 1 : 0;
}
