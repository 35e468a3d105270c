// SPDX-License-Identifier: Apache-2.0
/*
 * container_ls.c - `shoal ps` / `shoal container ls`: GET /containers/json
 * shown with docker-cli's container formatter (cli/command/formatter/
 * container.go): the default table CONTAINER ID, IMAGE, COMMAND, CREATED,
 * STATUS, PORTS, NAMES, and the same fields for --format templates.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container_cmd.h"
#include "output.h"

enum { OPT_FORMAT = 256, OPT_NOTRUNC };

static const struct cli_opt ps_opts[] = {
	{ 'a', 'a', "all", NULL, "Show all containers (default shows just running)" },
	{ 'f', 'f', "filter", "filter", "Filter output based on conditions provided" },
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table', 'table TEMPLATE', 'json' or TEMPLATE (fields: .ID .Image .Command .CreatedAt .RunningFor .Ports .State .Status .Size .Names .Labels .Mounts .Networks)" },
	{ 'l', 'l', "latest", NULL, "Show the latest created container (includes all states)" },
	{ 'n', 'n', "last", "int", "Show n last created containers (includes all states) (default -1)" },
	{ OPT_NOTRUNC, 0, "no-trunc", NULL, "Don't truncate output" },
	{ 'q', 'q', "quiet", NULL, "Only display container IDs" },
	{ 's', 's', "size", NULL, "Display total file sizes" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage ps_usage = {
	.path = "ps",
	.args = "[OPTIONS]",
	.desc = "List containers",
	.aliases = "shoal container ls, shoal container list, shoal container ps, shoal ps",
	.opts = ps_opts,
};

#define PS_TABLE "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
#define PS_TABLE_SIZE PS_TABLE "\t{{.Size}}"

/* ---- DisplayablePorts (docker-cli formatter/container.go) ---------------- */

struct port {
	const char *ip, *type;
	long priv, pub;
};

static int cmp_port(const void *a, const void *b)
{
	const struct port *x = a, *y = b;
	int c;

	if (x->priv != y->priv)
		return x->priv < y->priv ? -1 : 1;
	if ((c = strcmp(x->ip, y->ip)))
		return c;
	if (x->pub != y->pub)
		return x->pub < y->pub ? -1 : 1;
	return strcmp(x->type, y->type);
}

struct pgroup {
	char key[80];
	long first, last;
};

static void form_group(struct sbuf *b, const struct pgroup *g)
{
	const char *sl = strrchr(g->key, '/');
	char rng[32];

	if (b->len)
		sbuf_puts(b, ", ");
	if (g->first == g->last)
		snprintf(rng, sizeof(rng), "%ld", g->first);
	else
		snprintf(rng, sizeof(rng), "%ld-%ld", g->first, g->last);
	if (sl && sl != g->key)
		sbuf_printf(b, "%.*s:%s->%s%s", (int)(sl - g->key), g->key, rng, rng, sl);
	else
		sbuf_printf(b, "%s%s", rng, sl ? sl : g->key);
}

static void displayable_ports(json_t *arr, struct sbuf *out)
{
	size_t n = json_array_size(arr), ng = 0, i;
	struct port *p = calloc(n ? n : 1, sizeof(*p));
	struct pgroup *g = calloc(n ? n : 1, sizeof(*g));
	struct sbuf maps = { 0 };
	json_t *v;

	if (!p || !g)
		goto out;
	json_array_foreach(arr, i, v) {
		p[i].ip = jstr(v, "IP");
		p[i].type = jstr(v, "Type");
		p[i].priv = jint(v, "PrivatePort");
		p[i].pub = jint(v, "PublicPort");
	}
	qsort(p, n, sizeof(*p), cmp_port);
	for (i = 0; i < n; i++) {
		char key[80];
		size_t k;

		if (*p[i].ip) {
			if (p[i].pub != p[i].priv) {
				if (maps.len)
					sbuf_puts(&maps, ", ");
				sbuf_printf(&maps, strchr(p[i].ip, ':') ? "[%s]:%ld->%ld/%s" :
									  "%s:%ld->%ld/%s",
					    p[i].ip, p[i].pub, p[i].priv, p[i].type);
				continue;
			}
			snprintf(key, sizeof(key), "%s/%s", p[i].ip, p[i].type);
		} else {
			snprintf(key, sizeof(key), "%s", p[i].type);
		}
		for (k = 0; k < ng && strcmp(g[k].key, key); k++)
			;
		if (k == ng) {
			snprintf(g[ng].key, sizeof(g[ng].key), "%s", key);
			g[ng].first = g[ng].last = p[i].priv;
			ng++;
			continue;
		}
		if (p[i].priv == g[k].last + 1) {
			g[k].last = p[i].priv;
			continue;
		}
		form_group(out, &g[k]);
		g[k].first = g[k].last = p[i].priv;
	}
	for (i = 0; i < ng; i++)
		form_group(out, &g[i]);
	if (maps.len) {
		if (out->len)
			sbuf_puts(out, ", ");
		sbuf_puts(out, sbuf_str(&maps));
	}
out:
	sbuf_free(&maps);
	free(p);
	free(g);
}

/* ---- the row ------------------------------------------------------------ */

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of obj sorted, joined by ",": Networks, and Labels as k=v. */
static void join_keys(json_t *obj, bool with_values, struct sbuf *out)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys)), *k;
	json_t *v;

	if (!keys)
		return;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_cstr);
	for (i = 0; i < n; i++) {
		sbuf_printf(out, "%s%s", i ? "," : "", keys[i]);
		if (with_values)
			sbuf_printf(out, "=%s", jstr(obj, keys[i]));
	}
	free(keys);
}

/* go's strings of at most w runes, the last one "…" when cut. */
static void ellipsis(const char *s, size_t w, struct sbuf *out)
{
	size_t runes = 0, i;

	for (i = 0; s[i]; i++)
		runes += ((unsigned char)s[i] & 0xc0) != 0x80;
	if (runes <= w) {
		sbuf_puts(out, s);
		return;
	}
	for (i = 0, runes = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++runes == w)
			break;
		sbuf_add(out, s + i, 1);
	}
	sbuf_puts(out, "\xe2\x80\xa6");
}

static json_t *ps_row(json_t *c, bool notrunc, time_t now)
{
	struct sbuf names = { 0 }, cmd = { 0 }, ports = { 0 }, labels = { 0 },
		    nets = { 0 }, mounts = { 0 }, size = { 0 };
	const char *id = jstr(c, "Id"), *image = jstr(c, "Image");
	long long created = jint(c, "Created");
	char ago[64], at[64], imgbuf[80], sz1[32], sz2[32];
	time_t ct = (time_t)created;
	struct tm tm;
	size_t i, nlocal = 0;
	json_t *v, *row;

	json_array_foreach(jarr(c, "Names"), i, v) {
		const char *n = json_string_value(v);

		if (!n)
			continue;
		if (*n == '/')
			n++;
		/* link names ("/other/alias") only with --no-trunc */
		if (!notrunc && strchr(n, '/'))
			continue;
		sbuf_printf(&names, "%s%s", names.len ? "," : "", n);
	}
	sbuf_puts(&cmd, "\"");
	if (notrunc)
		sbuf_puts(&cmd, jstr(c, "Command"));
	else
		ellipsis(jstr(c, "Command"), 20, &cmd);
	sbuf_puts(&cmd, "\"");
	displayable_ports(jarr(c, "Ports"), &ports);
	join_keys(jobj(c, "Labels"), true, &labels);
	join_keys(jobj(jobj(c, "NetworkSettings"), "Networks"), false, &nets);
	json_array_foreach(jarr(c, "Mounts"), i, v) {
		const char *n = *jstr(v, "Name") ? jstr(v, "Name") : jstr(v, "Source");

		if (!strcmp(jstr(v, "Driver"), "local"))
			nlocal++;
		if (mounts.len)
			sbuf_puts(&mounts, ",");
		if (notrunc)
			sbuf_puts(&mounts, n);
		else
			ellipsis(n, 15, &mounts);
	}
	/* An image given by id shows as a short id, as docker does. */
	if (!notrunc && !strncmp(image, "sha256:", 7)) {
		snprintf(imgbuf, sizeof(imgbuf), "%.12s", image + 7);
		image = imgbuf;
	}
	human_duration(now > ct ? (long long)(now - ct) : 0, ago, sizeof(ago));
	strncat(ago, " ago", sizeof(ago) - strlen(ago) - 1);
	localtime_r(&ct, &tm);
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	human_size((double)jint(c, "SizeRw"), 3, sz1, sizeof(sz1));
	sbuf_puts(&size, sz1);
	if (jint(c, "SizeRootFs")) {
		human_size((double)jint(c, "SizeRootFs"), 3, sz2, sizeof(sz2));
		sbuf_printf(&size, " (virtual %s)", sz2);
	}
	snprintf(sz1, sizeof(sz1), "%zu", nlocal);
	/* keys in the order docker's {{json .}} prints them (sorted) */
	row = json_pack("{s:s, s:s, s:s%, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
			" s:s, s:s}",
			"Command", sbuf_str(&cmd), "CreatedAt", at,
			"ID", id, notrunc ? strlen(id) : strnlen(id, 12),
			"Image", image, "Labels", sbuf_str(&labels), "LocalVolumes", sz1,
			"Mounts", sbuf_str(&mounts), "Names", sbuf_str(&names),
			"Networks", sbuf_str(&nets), "Ports", sbuf_str(&ports),
			"RunningFor", ago, "Size", sbuf_str(&size),
			"State", jstr(c, "State"), "Status", jstr(c, "Status"));
	sbuf_free(&names);
	sbuf_free(&cmd);
	sbuf_free(&ports);
	sbuf_free(&labels);
	sbuf_free(&nets);
	sbuf_free(&mounts);
	sbuf_free(&size);
	return row;
}

int cmd_ps(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *val;
	bool all = false, quiet = false, notrunc = false, size = false;
	long last = -1;
	json_t *filters = json_object(), *list = NULL, *rows = NULL, *hdr = NULL;
	struct sbuf path = { 0 };
	struct shoal_err err;
	struct cli_parse p;
	struct client cl = { 0 };
	time_t now = time(NULL);
	size_t i;
	json_t *c;
	int o, rc = 1;

	if (!filters)
		return 1;
	cli_parse_init(&p, &ps_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case 'a': all = val[0] == 't'; break;
		case 'q': quiet = val[0] == 't'; break;
		case 's': size = val[0] == 't'; break;
		case OPT_NOTRUNC: notrunc = val[0] == 't'; break;
		case OPT_FORMAT: format = val; break;
		case 'l': if (val[0] == 't') last = 1; break;
		case 'n': {
			char *end;

			last = strtol(val, &end, 10);
			if (!*val || *end) {
				cli_usage_error(&ps_usage, "invalid argument \"%s\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax",
						val, val);
				goto out;
			}
			break;
		}
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
	if (cli_args_none(&ps_usage, p.nargs))
		goto out;
	if (quiet) {
		if (format && *format && strcmp(format, "table"))
			fprintf(stderr, "WARNING: Ignoring custom format, because both --format and --quiet are set.\n");
		format = "{{.ID}}";
	}
	if (format && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		goto out;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	/* -n/-l imply -a, as in docker */
	sbuf_printf(&path, "/containers/json?all=%d", all || last > 0);
	if (last > 0)
		sbuf_printf(&path, "&limit=%ld", last);
	/* the SIZE column, or a template that uses .Size ({{json .}} does) */
	if (size || (format && (strstr(format, ".Size") || strstr(format, "json .}}") ||
				strstr(format, "json . }}"))))
		sbuf_puts(&path, "&size=1");
	if (json_object_size(filters)) {
		char *fs = json_dumps(filters, JSON_COMPACT), *e;

		e = fs ? client_escape(&cl, fs) : NULL;
		free(fs);
		if (!e)
			goto out;
		sbuf_printf(&path, "&filters=%s", e);
		free(e);
	}
	if (client_call(&cl, "GET", sbuf_str(&path), NULL, 0, &list, NULL) != CLIENT_OK)
		goto out;
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"ID", "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND",
			"CreatedAt", "CREATED AT", "RunningFor", "CREATED", "Ports",
			"PORTS", "State", "STATE", "Status", "STATUS", "Size", "SIZE",
			"Names", "NAMES", "Labels", "LABELS", "Mounts", "MOUNTS",
			"Networks", "NETWORKS", "LocalVolumes", "LOCAL VOLUMES");
	if (!rows || !hdr)
		goto out;
	/* The daemon lists newest first, as docker's does. */
	json_array_foreach(list, i, c)
		if (json_is_object(c))
			json_array_append_new(rows, ps_row(c, notrunc, now));
	if (format_rows(format, size ? PS_TABLE_SIZE : PS_TABLE, rows, hdr, stdout,
			&err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	client_close(&cl);
	sbuf_free(&path);
	json_decref(hdr);
	json_decref(rows);
	json_decref(list);
	json_decref(filters);
	return rc;
}
