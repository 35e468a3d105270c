// SPDX-License-Identifier: Apache-2.0
/*
 * container.c - the `container` verb group and the container verbs that
 * are one request per argument: stop, kill, restart, rm, wait, rename,
 * top, port, logs, and the top-level `inspect` (containers, then images,
 * networks and volumes, as docker inspect looks them up). Wording and exit
 * codes are docker-cli's (cli/command/container/).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/names.h"
#include "container_cmd.h"
#include "hijack.h"
#include "inspect.h"
#include "output.h"

enum { OPT_TYPE = 256, OPT_SINCE, OPT_UNTIL, OPT_TAIL, OPT_DETAILS, OPT_PSARGS };

static const struct cli_cmd container_cmds[] = {
	{ "attach", cmd_attach, "Attach local standard input, output, and error streams to a running container", NULL },
	{ "cp", cmd_cp, "Copy files/folders between a container and the local filesystem", NULL },
	{ "create", cmd_create, "Create a new container", NULL },
	{ "diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem", NULL },
	{ "exec", cmd_exec, "Execute a command in a running container", NULL },
	{ "export", cmd_export, "Export a container's filesystem as a tar archive", NULL },
	{ "inspect", cmd_container_inspect, "Display detailed information on one or more containers", NULL },
	{ "kill", cmd_kill, "Kill one or more running containers", NULL },
	{ "logs", cmd_logs, "Fetch the logs of a container", NULL },
	{ "ls", cmd_ps, "List containers", "list" },
	{ "pause", cmd_pause, "Pause all processes within one or more containers", NULL },
	{ "port", cmd_port, "List port mappings or a specific mapping for the container", NULL },
	{ "ps", cmd_ps, "List containers", NULL },
	{ "prune", cmd_container_prune, "Remove all stopped containers", NULL },
	{ "rename", cmd_rename, "Rename a container", NULL },
	{ "restart", cmd_restart, "Restart one or more containers", NULL },
	{ "rm", cmd_rm, "Remove one or more containers", "remove" },
	{ "run", cmd_run, "Create and run a new container from an image", NULL },
	{ "start", cmd_start, "Start one or more stopped containers", NULL },
	{ "stop", cmd_stop, "Stop one or more running containers", NULL },
	{ "top", cmd_top_ps, "Display the running processes of a container", NULL },
	{ "unpause", cmd_unpause, "Unpause all processes within one or more containers", NULL },
	{ "wait", cmd_wait, "Block until one or more containers stop, then print their exit codes", NULL },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_usage container_usage = {
	.path = "container",
	.args = "COMMAND",
	.desc = "Manage containers",
	.cmds = container_cmds,
};

int cmd_container(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &container_usage, argc, argv);
}

char *ctr_path(struct client *cl, const char *name, const char *suffix)
{
	char *e = client_escape(cl, name), *p = NULL;

	if (!e)
		return NULL;
	if (asprintf(&p, "/containers/%s%s", e, suffix) < 0)
		p = NULL;
	free(e);
	return p;
}

json_t *ctr_inspect(struct client *cl, const char *name)
{
	char *path = ctr_path(cl, name, "/json");
	json_t *c = NULL;

	if (!path)
		return NULL;
	if (client_call(cl, "GET", path, NULL, 0, &c, NULL) != CLIENT_OK)
		c = NULL;
	free(path);
	if (c && !json_is_object(c)) {
		json_decref(c);
		fprintf(stderr, "Error response from daemon: bad container object\n");
		return NULL;
	}
	return c;
}

/*
 * One request per CONTAINER argument: `method /containers/NAME<suffix>`;
 * the argument printed on success, the daemon's error otherwise; exit 1
 * if any failed (docker goes on after a failure).
 */
static int for_each(struct cli_ctx *ctx, struct cli_parse *p, const char *method,
		    const char *suffix, bool print_code)
{
	struct client cl;
	int rc = 0;

	if (client_open_or_report(&cl, ctx->host))
		return 1;
	for (int i = 0; i < p->nargs; i++) {
		char *path = ctr_path(&cl, p->args[i], suffix);
		json_t *out = NULL;
		int r;

		if (!path) {
			rc = 1;
			break;
		}
		r = client_call(&cl, method, path, NULL, 0, &out, NULL);
		free(path);
		if (r == CLIENT_OK) {
			if (print_code)
				printf("%lld\n", jint(out, "StatusCode"));
			else
				printf("%s\n", p->args[i]);
			fflush(stdout);
		} else {
			rc = 1;
		}
		json_decref(out);
		if (r == CLIENT_ECONNECT)
			break;
	}
	client_close(&cl);
	return rc;
}

/* ---- stop / restart / kill / rm / wait ----------------------------------- */

static const struct cli_opt stop_opts[] = {
	{ 's', 's', "signal", "string", "Signal to send to the container" },
	{ 't', 't', "time", "int", "Seconds to wait before killing the container" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage stop_usage = {
	.path = "stop",
	.args = "[OPTIONS] CONTAINER [CONTAINER...]",
	.desc = "Stop one or more running containers",
	.aliases = "shoal container stop, shoal stop",
	.opts = stop_opts,
};

static const struct cli_usage restart_usage = {
	.path = "restart",
	.args = "[OPTIONS] CONTAINER [CONTAINER...]",
	.desc = "Restart one or more containers",
	.aliases = "shoal container restart, shoal restart",
	.opts = stop_opts,
};

static int stop_like(struct cli_ctx *ctx, const struct cli_usage *u, int argc,
		     char **argv, const char *verb)
{
	const char *val, *sig = NULL, *tm = NULL;
	struct cli_parse p;
	struct sbuf q = { 0 };
	int o, rc;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 's')
			sig = val;
		else if (o == 't')
			tm = val;
	}
	if (o < 0)
		return p.rc;
	if (tm) {
		char *end;

		strtol(tm, &end, 10);
		if (!*tm || *end)
			return cli_usage_error(u, "invalid argument \"%s\" for \"-t, --time\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax",
					       tm, tm);
	}
	if (cli_args_min(u, p.nargs, 1))
		return 1;
	sbuf_printf(&q, "/%s", verb);
	if (tm)
		sbuf_printf(&q, "?t=%s", tm);
	if (sig)
		sbuf_printf(&q, "%ssignal=%s", tm ? "&" : "?", sig);
	rc = for_each(ctx, &p, "POST", sbuf_str(&q), false);
	sbuf_free(&q);
	return rc;
}

int cmd_stop(struct cli_ctx *ctx, int argc, char **argv)
{
	return stop_like(ctx, &stop_usage, argc, argv, "stop");
}

int cmd_restart(struct cli_ctx *ctx, int argc, char **argv)
{
	return stop_like(ctx, &restart_usage, argc, argv, "restart");
}

static const struct cli_opt kill_opts[] = {
	{ 's', 's', "signal", "string", "Signal to send to the container (default \"KILL\")" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage kill_usage = {
	.path = "kill",
	.args = "[OPTIONS] CONTAINER [CONTAINER...]",
	.desc = "Kill one or more running containers",
	.aliases = "shoal container kill, shoal kill",
	.opts = kill_opts,
};

int cmd_kill(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *val, *sig = NULL;
	struct cli_parse p;
	struct client cl;
	char *q = NULL, *e;
	int o, rc;

	cli_parse_init(&p, &kill_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 's')
			sig = val;
	if (o < 0)
		return p.rc;
	if (cli_args_min(&kill_usage, p.nargs, 1))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	e = sig ? client_escape(&cl, sig) : NULL;
	client_close(&cl);
	if (asprintf(&q, "/kill%s%s", e ? "?signal=" : "", e ? e : "") < 0) {
		free(e);
		return 1;
	}
	free(e);
	rc = for_each(ctx, &p, "POST", q, false);
	free(q);
	return rc;
}

static const struct cli_opt rm_opts[] = {
	{ 'f', 'f', "force", NULL, "Force the removal of a running container (uses SIGKILL)" },
	{ 'l', 'l', "link", NULL, "Remove the specified link" },
	{ 'v', 'v', "volumes", NULL, "Remove anonymous volumes associated with the container" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage rm_usage = {
	.path = "rm",
	.args = "[OPTIONS] CONTAINER [CONTAINER...]",
	.desc = "Remove one or more containers",
	.aliases = "shoal container rm, shoal container remove, shoal rm",
	.opts = rm_opts,
};

int cmd_rm(struct cli_ctx *ctx, int argc, char **argv)
{
	bool force = false, vols = false, link = false;
	const char *val;
	struct cli_parse p;
	char q[64];
	int o;

	cli_parse_init(&p, &rm_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'f')
			force = val[0] == 't';
		else if (o == 'v')
			vols = val[0] == 't';
		else if (o == 'l')
			link = val[0] == 't';
	}
	if (o < 0)
		return p.rc;
	if (cli_args_min(&rm_usage, p.nargs, 1))
		return 1;
	if (link) {
		fprintf(stderr, "Error response from daemon: links are not supported\n");
		return 1;
	}
	snprintf(q, sizeof(q), "?force=%d&v=%d", force, vols);
	return for_each(ctx, &p, "DELETE", q, false);
}

static const struct cli_usage wait_usage = {
	.path = "wait",
	.args = "CONTAINER [CONTAINER...]",
	.desc = "Block until one or more containers stop, then print their exit codes",
	.aliases = "shoal container wait, shoal wait",
};

int cmd_wait(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parse p;
	const char *val;
	int o;

	cli_parse_init(&p, &wait_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_min(&wait_usage, p.nargs, 1))
		return 1;
	return for_each(ctx, &p, "POST", "/wait", true);
}

/* ---- pause / unpause ------------------------------------------------------ */

static const struct cli_usage pause_usage = {
	.path = "pause",
	.args = "CONTAINER [CONTAINER...]",
	.desc = "Pause all processes within one or more containers",
	.aliases = "shoal container pause, shoal pause",
};

static const struct cli_usage unpause_usage = {
	.path = "unpause",
	.args = "CONTAINER [CONTAINER...]",
	.desc = "Unpause all processes within one or more containers",
	.aliases = "shoal container unpause, shoal unpause",
};

static int pause_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u,
		     const char *suffix)
{
	struct cli_parse p;
	const char *val;
	int o;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_min(u, p.nargs, 1))
		return 1;
	return for_each(ctx, &p, "POST", suffix, false);
}

int cmd_pause(struct cli_ctx *ctx, int argc, char **argv)
{
	return pause_run(ctx, argc, argv, &pause_usage, "/pause");
}

int cmd_unpause(struct cli_ctx *ctx, int argc, char **argv)
{
	return pause_run(ctx, argc, argv, &unpause_usage, "/unpause");
}

/* ---- rename ------------------------------------------------------------- */

static const struct cli_usage rename_usage = {
	.path = "rename",
	.args = "CONTAINER NEW_NAME",
	.desc = "Rename a container",
	.aliases = "shoal container rename, shoal rename",
};

int cmd_rename(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parse p;
	struct client cl;
	const char *val;
	char *path = NULL, *e = NULL, *q = NULL;
	int o, rc = 1;

	cli_parse_init(&p, &rename_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&rename_usage, p.nargs, 2))
		return 1;
	if (!*p.args[0] || !*p.args[1]) {
		fprintf(stderr, "Error: Neither old nor new names may be empty\n");
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	e = client_escape(&cl, p.args[1]);
	if (e && asprintf(&q, "/rename?name=%s", e) >= 0 &&
	    (path = ctr_path(&cl, p.args[0], q)) &&
	    client_call(&cl, "POST", path, NULL, 0, NULL, NULL) == CLIENT_OK)
		rc = 0;
	free(path);
	free(q);
	free(e);
	client_close(&cl);
	return rc;
}

/* ---- top ---------------------------------------------------------------- */

static const struct cli_usage top_usage = {
	.path = "top",
	.args = "CONTAINER [ps OPTIONS]",
	.desc = "Display the running processes of a container",
	.aliases = "shoal container top, shoal top",
	.no_interspersed = true,
};

/* docker top: tabwriter.NewWriter(out, 20, 1, 3, ' ', 0). */
static void print_top(json_t *res)
{
	json_t *titles = jarr(res, "Titles"), *procs = jarr(res, "Processes"), *row, *v;
	size_t nc = json_array_size(titles), i, j, *w = calloc(nc ? nc : 1, sizeof(size_t));

	if (!w)
		return;
	json_array_foreach(titles, j, v)
		w[j] = strlen(json_string_value(v) ? json_string_value(v) : "");
	json_array_foreach(procs, i, row)
		for (j = 0; j < nc && j < json_array_size(row); j++) {
			const char *s = json_string_value(json_array_get(row, j));

			if (s && strlen(s) > w[j])
				w[j] = strlen(s);
		}
	for (i = 0; i <= json_array_size(procs); i++) {
		json_t *r = i ? json_array_get(procs, i - 1) : titles;

		for (j = 0; j < nc; j++) {
			const char *s = json_string_value(json_array_get(r, j));
			size_t cw = w[j] + 3 < 20 ? 20 : w[j] + 3;

			if (j + 1 < nc)
				printf("%-*s", (int)cw, s ? s : "");
			else
				printf("%s", s ? s : "");
		}
		printf("\n");
	}
	free(w);
}

/* `shoal top CONTAINER` (Docker's process list); `shoal top` without a
 * CONTAINER is top_net.c's network rates (cmd_top dispatches). */
int cmd_top_ps(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parse p;
	struct client cl;
	struct sbuf args = { 0 };
	const char *val;
	char *path = NULL, *e = NULL, *q = NULL;
	json_t *res = NULL;
	int o, rc = 1;

	cli_parse_init(&p, &top_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_min(&top_usage, p.nargs, 1))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	for (int i = 1; i < p.nargs; i++)
		sbuf_printf(&args, "%s%s", i > 1 ? " " : "", p.args[i]);
	if (args.len)
		e = client_escape(&cl, sbuf_str(&args));
	if (asprintf(&q, "/top%s%s", e ? "?ps_args=" : "", e ? e : "") >= 0 &&
	    (path = ctr_path(&cl, p.args[0], q)) &&
	    client_call(&cl, "GET", path, NULL, 0, &res, NULL) == CLIENT_OK) {
		print_top(res);
		rc = 0;
	}
	json_decref(res);
	free(path);
	free(q);
	free(e);
	sbuf_free(&args);
	client_close(&cl);
	return rc;
}

/* ---- port --------------------------------------------------------------- */

static const struct cli_usage port_usage = {
	.path = "port",
	.args = "CONTAINER [PRIVATE_PORT[/PROTO]]",
	.desc = "List port mappings or a specific mapping for the container",
	.aliases = "shoal container port, shoal port",
};

/* "0.0.0.0:8080", "[::]:8080": net.JoinHostPort. */
static void host_port(json_t *b, char *buf, size_t len)
{
	const char *ip = jstr(b, "HostIp");

	snprintf(buf, len, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip,
		 jstr(b, "HostPort"));
}

static int cmp_str(const void *a, const void *b)
{
	return natural_cmp(*(const char *const *)a, *(const char *const *)b);
}

int cmd_port(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parse p;
	struct client cl;
	const char *val, *k;
	json_t *c, *ports, *v, *b;
	char want[32] = "", hp[128];
	int o, rc = 1;

	cli_parse_init(&p, &port_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_range(&port_usage, p.nargs, 1, 2))
		return 1;
	if (p.nargs == 2) {
		const char *sl = strchr(p.args[1], '/');
		char *end;
		long port = strtol(p.args[1], &end, 10);

		if (end == p.args[1] || (*end && *end != '/') || port < 1 || port > 65535) {
			fprintf(stderr, "Error: invalid port (%s): must be a number between 1 and 65535\n",
				p.args[1]);
			return 1;
		}
		snprintf(want, sizeof(want), "%ld/%s", port, sl ? sl + 1 : "tcp");
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	c = ctr_inspect(&cl, p.args[0]);
	client_close(&cl);
	if (!c)
		return 1;
	ports = jobj(jobj(c, "NetworkSettings"), "Ports");
	if (*want) {
		size_t i;

		json_array_foreach(jarr(ports, want), i, b) {
			host_port(b, hp, sizeof(hp));
			printf("%s\n", hp);
			rc = 0;
		}
		if (rc)
			fprintf(stderr, "Error: No public port '%s' published for %s\n", want,
				p.args[0]);
	} else {
		const char **lines = calloc(256, sizeof(char *));
		size_t n = 0, i;

		if (!lines)
			goto out;
		json_object_foreach(ports, k, v) {
			json_array_foreach(v, i, b) {
				char *l;

				host_port(b, hp, sizeof(hp));
				if (n < 256 && asprintf(&l, "%s -> %s", k, hp) >= 0)
					lines[n++] = l;
			}
		}
		qsort(lines, n, sizeof(*lines), cmp_str);
		for (i = 0; i < n; i++) {
			printf("%s\n", lines[i]);
			free((char *)lines[i]);
		}
		free(lines);
		rc = 0;
	}
out:
	json_decref(c);
	return rc;
}

/* ---- logs --------------------------------------------------------------- */

static const struct cli_opt logs_opts[] = {
	{ OPT_DETAILS, 0, "details", NULL, "Show extra details provided to logs" },
	{ 'f', 'f', "follow", NULL, "Follow log output" },
	{ OPT_SINCE, 0, "since", "string", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)" },
	{ 'n', 'n', "tail", "string", "Number of lines to show from the end of the logs (default \"all\")" },
	{ 't', 't', "timestamps", NULL, "Show timestamps" },
	{ OPT_UNTIL, 0, "until", "string", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage logs_usage = {
	.path = "logs",
	.args = "[OPTIONS] CONTAINER",
	.desc = "Fetch the logs of a container",
	.aliases = "shoal container logs, shoal logs",
	.opts = logs_opts,
};

struct logs_sink {
	struct client *cl;
	bool tty;
	long status;
	struct demux d;
	struct sbuf err; /* the body of an error reply */
	int werr;
};

static size_t logs_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct logs_sink *s = ud;
	size_t n = size * nmemb;

	if (!s->status)
		curl_easy_getinfo(s->cl->curl, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status < 200 || s->status > 299) {
		sbuf_add(&s->err, ptr, n);
		return n;
	}
	if (s->tty) {
		size_t off = 0;

		while (off < n) {
			ssize_t w = write(STDOUT_FILENO, ptr + off, n - off);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				s->werr = errno;
				return 0;
			}
			off += (size_t)w;
		}
		return n;
	}
	s->werr = -demux_feed(&s->d, ptr, n, STDOUT_FILENO, STDERR_FILENO);
	return s->werr ? 0 : n;
}

int cmd_logs(struct cli_ctx *ctx, int argc, char **argv)
{
	bool follow = false, ts = false, details = false;
	const char *tail = NULL, *since = NULL, *until = NULL, *val;
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL;
	struct logs_sink s = { 0 };
	struct sbuf q = { 0 };
	struct cli_parse p;
	struct client cl = { 0 };
	json_t *c = NULL;
	CURLcode cc;
	int o, rc = 1;

	cli_parse_init(&p, &logs_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case 'f': follow = val[0] == 't'; break;
		case 't': ts = val[0] == 't'; break;
		case OPT_DETAILS: details = val[0] == 't'; break;
		case 'n': tail = val; break;
		case OPT_SINCE: since = val; break;
		case OPT_UNTIL: until = val; break;
		}
	}
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&logs_usage, p.nargs, 1))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	/* docker logs reads Config.Tty first: a tty's log is not multiplexed. */
	c = ctr_inspect(&cl, p.args[0]);
	if (!c)
		goto out;
	s.cl = &cl;
	s.tty = jbool(jobj(c, "Config"), "Tty");
	sbuf_printf(&q, "http://localhost/v" SHOAL_API_VERSION "/containers/%s/logs?stdout=1&stderr=1",
		    jstr(c, "Id"));
	if (follow)
		sbuf_puts(&q, "&follow=1");
	if (ts)
		sbuf_puts(&q, "&timestamps=1");
	if (details)
		sbuf_puts(&q, "&details=1");
	if (tail) {
		char *e = client_escape(&cl, tail);

		sbuf_printf(&q, "&tail=%s", e ? e : "all");
		free(e);
	}
	if (since) {
		char *e = client_escape(&cl, since);

		sbuf_printf(&q, "&since=%s", e ? e : "");
		free(e);
	}
	if (until) {
		char *e = client_escape(&cl, until);

		sbuf_printf(&q, "&until=%s", e ? e : "");
		free(e);
	}
	url = strdup(sbuf_str(&q));
	if (!url)
		goto out;
	client_curl_prepare(&cl, url, "GET", logs_data, &s, errbuf);
	cc = curl_easy_perform(cl.curl);
	if (!s.status)
		curl_easy_getinfo(cl.curl, CURLINFO_RESPONSE_CODE, &s.status);
	if (s.status && (s.status < 200 || s.status > 299)) {
		json_t *j = json_loads(sbuf_str(&s.err), 0, NULL);

		fprintf(stderr, "Error response from daemon: %s\n",
			*jstr(j, "message") ? jstr(j, "message") : sbuf_str(&s.err));
		json_decref(j);
	} else if (cc != CURLE_OK && !(s.werr == EPIPE)) {
		if (s.d.bad)
			fprintf(stderr, "error from daemon in stream: unrecognized input header\n");
		else
			fprintf(stderr, "error during logs: %s\n",
				*errbuf ? errbuf : curl_easy_strerror(cc));
	} else {
		rc = 0;
	}
out:
	free(url);
	sbuf_free(&q);
	sbuf_free(&s.err);
	json_decref(c);
	client_close(&cl);
	return rc;
}

/* ---- inspect ------------------------------------------------------------ */

static const struct cli_opt inspect_opts[] = {
	{ 'f', 'f', "format", "string", "Format output using a template ('json' or e.g. '{{.State.Status}}')" },
	{ 's', 's', "size", NULL, "Display total file sizes if the type is container" },
	{ OPT_TYPE, 0, "type", "string", "Return JSON for specified type: container, image, network or volume" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage inspect_usage = {
	.path = "inspect",
	.args = "[OPTIONS] NAME|ID [NAME|ID...]",
	.desc = "Return low-level information on shoal objects",
	.opts = inspect_opts,
};

static const struct cli_opt cinspect_opts[] = {
	{ 'f', 'f', "format", "string", "Format output using a template ('json' or e.g. '{{.State.Status}}')" },
	{ 's', 's', "size", NULL, "Display total file sizes" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage cinspect_usage = {
	.path = "container inspect",
	.args = "[OPTIONS] CONTAINER [CONTAINER...]",
	.desc = "Display detailed information on one or more containers",
	.opts = cinspect_opts,
};

/* GET path for one kind; 1 found (appended), 0 not found, -1 other error
 * (its message added to errs), -2 no exchange (printed). */
static int try_get(struct client *cl, const char *prefix, const char *name,
		   const char *suffix, json_t *all, struct sbuf *errs)
{
	char *e = client_escape(cl, name), *path = NULL, msg[1024];
	struct client_resp resp;
	struct shoal_err err;
	int r;

	if (!e || asprintf(&path, "%s%s%s", prefix, e, suffix) < 0) {
		free(e);
		return -2;
	}
	free(e);
	if (client_do(cl, "GET", path, NULL, &resp, &err) < 0) {
		free(path);
		fprintf(stderr, "%s\n", err.msg);
		return -2;
	}
	free(path);
	/* 405: a name with a '/' (an image reference) routed as a sub-path
	 * of the container API: no such container either. */
	if (resp.status == 404 || resp.status == 405) {
		r = 0;
	} else if (resp.status < 200 || resp.status > 299) {
		sbuf_printf(errs, "Error response from daemon: %s\n",
			    client_resp_message(&resp, msg, sizeof(msg)));
		r = -1;
	} else {
		json_array_append_new(all, json_is_object(resp.json) ? json_incref(resp.json) :
									json_object());
		r = 1;
	}
	client_resp_free(&resp);
	return r;
}

static int inspect_common(struct cli_ctx *ctx, const struct cli_usage *u,
			  int argc, char **argv, bool containers_only)
{
	static const struct {
		const char *type, *prefix, *suffix, *what;
	} kinds[] = {
		{ "container", "/containers/", "/json", "container" },
		{ "image", "/images/", "/json", "image" },
		{ "network", "/networks/", "", "network" },
		{ "volume", "/volumes/", "", "volume" },
	};
	const char *format = NULL, *type = containers_only ? "container" : NULL, *val;
	json_t *all = json_array();
	struct sbuf errs = { 0 };
	struct cli_parse p;
	struct client cl = { 0 };
	bool size = false;
	int o, rc = 1, failed = 0;

	if (!all)
		return 1;
	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'f')
			format = val;
		else if (o == 's')
			size = val[0] == 't';
		else if (o == OPT_TYPE)
			type = *val ? val : NULL;
	}
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_min(u, p.nargs, 1))
		goto out;
	if (type && strcmp(type, "container") && strcmp(type, "image") &&
	    strcmp(type, "network") && strcmp(type, "volume")) {
		fprintf(stderr, "\"%s\" is not a valid value for --type\n", type);
		goto out;
	}
	if (cli_format_prepare(&format, NULL))
		goto out;
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	for (int i = 0; i < p.nargs; i++) {
		int found = 0;

		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && !found; k++) {
			if (type && strcmp(type, kinds[k].type))
				continue;
			found = try_get(&cl, kinds[k].prefix, p.args[i],
					k == 0 && size ? "/json?size=1" : kinds[k].suffix,
					all, &errs);
			if (found == -2)
				goto out;
		}
		if (!found) {
			sbuf_printf(&errs, "Error: No such %s: %s\n", type ? type : "object",
				    p.args[i]);
			failed = 1;
		} else if (found < 0) {
			failed = 1;
		}
	}
	rc = cli_inspect_print(all, format, &errs, failed);
out:
	client_close(&cl);
	sbuf_free(&errs);
	json_decref(all);
	return rc;
}

int cmd_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	return inspect_common(ctx, &inspect_usage, argc, argv, false);
}

int cmd_container_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	return inspect_common(ctx, &cinspect_usage, argc, argv, true);
}
