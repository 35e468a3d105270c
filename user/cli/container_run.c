// SPDX-License-Identifier: Apache-2.0
/*
 * container_run.c - `shoal run|create|start|attach|exec`, the verbs that
 * build a container's config or stream its stdio. They follow docker-cli's
 * cli/command/container/{run,create,opts,start,attach,exec}.go:
 *
 *   run:  POST /containers/create?name=N {Config + HostConfig +
 *         NetworkingConfig}; unless -d: attach (hijacked), POST
 *         /wait?condition=next-exit|removed (in a thread, sent before the
 *         start), POST /start, pump stdio until the daemon closes the
 *         stream, exit with the wait's StatusCode.
 *
 * What docker validates on the client (-p and -e syntax, --mount fields,
 * --restart) is validated here; the rest (names, images, networks) is the
 * daemon's. run and create exit 125 for their own errors and the
 * daemon's refusals, 126/127 when the start says not executable / not
 * found, else the container's exit code.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../common/names.h"
#include "container_cmd.h"
#include "hijack.h"
#include "image_cmd.h"
#include "output.h"

#define RUN_EXIT_CLI 125

enum {
	OPT_RM = 256, OPT_NAME, OPT_ENVFILE, OPT_NETWORK, OPT_IP, OPT_PUBALL,
	OPT_ENTRYPOINT, OPT_STOPSIG, OPT_STOPTIMEOUT, OPT_MOUNT, OPT_VOLFROM,
	OPT_RESTART, OPT_EXPOSE, OPT_READONLY, OPT_TMPFS, OPT_ADDHOST,
	OPT_LABELFILE, OPT_ALIAS, OPT_DETACHKEYS, OPT_NOSTDIN, OPT_SIGPROXY,
	OPT_PRIV, OPT_INIT, OPT_PULL, OPT_MEMSWAP, OPT_CPUS, OPT_PIDS, OPT_CAPADD,
	OPT_CAPDROP, OPT_SECOPT, OPT_ULIMIT, OPT_SHM, OPT_OOMADJ, OPT_LOGDRV, OPT_LOGOPT,
	OPT_CIDFILE,
};

/* The options run and create share (create has no -d/--rm... in Docker it
 * has --rm; -d is run's only). */
#define CREATE_OPTS                                                                        \
	{ OPT_ADDHOST, 0, "add-host", "list", "Add a custom host-to-IP mapping (host:ip)" },  \
	{ OPT_CAPADD, 0, "cap-add", "list", "Add Linux capabilities" },                         \
	{ OPT_CAPDROP, 0, "cap-drop", "list", "Drop Linux capabilities" },                      \
	{ OPT_CIDFILE, 0, "cidfile", "string", "Write the container ID to the file" },          \
	{ 'c', 'c', "cpu-shares", "int", "CPU shares (relative weight)" },                    \
	{ OPT_CPUS, 0, "cpus", "decimal", "Number of CPUs" },                                   \
	{ 'e', 'e', "env", "list", "Set environment variables" },                              \
	{ OPT_ENVFILE, 0, "env-file", "list", "Read in a file of environment variables" },     \
	{ OPT_ENTRYPOINT, 0, "entrypoint", "string", "Overwrite the default ENTRYPOINT of the image" }, \
	{ OPT_EXPOSE, 0, "expose", "list", "Expose a port or a range of ports" },             \
	{ 'h', 'h', "hostname", "string", "Container host name" },                             \
	{ OPT_INIT, 0, "init", NULL, "Run an init inside the container (refused: not supported)" }, \
	{ 'i', 'i', "interactive", NULL, "Keep STDIN open even if not attached" },             \
	{ OPT_IP, 0, "ip", "string", "IPv4 address (e.g., 172.30.100.104)" },                  \
	{ 'l', 'l', "label", "list", "Set meta data on a container" },                         \
	{ OPT_LABELFILE, 0, "label-file", "list", "Read in a line delimited file of labels" }, \
	{ OPT_LOGDRV, 0, "log-driver", "string", "Logging driver for the container" },          \
	{ OPT_LOGOPT, 0, "log-opt", "list", "Log driver options" },                             \
	{ 'm', 'm', "memory", "bytes", "Memory limit" },                                       \
	{ OPT_MEMSWAP, 0, "memory-swap", "bytes", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" }, \
	{ OPT_MOUNT, 0, "mount", "mount", "Attach a filesystem mount to the container" },      \
	{ OPT_NAME, 0, "name", "string", "Assign a name to the container" },                   \
	{ OPT_NETWORK, 0, "network", "network", "Connect a container to a network" },          \
	{ OPT_ALIAS, 0, "network-alias", "list", "Add network-scoped alias for the container" }, \
	{ OPT_OOMADJ, 0, "oom-score-adj", "int", "Tune host's OOM preferences (-1000 to 1000)" }, \
	{ OPT_PIDS, 0, "pids-limit", "int", "Tune container pids limit (set -1 for unlimited)" }, \
	{ OPT_PRIV, 0, "privileged", NULL, "Give extended privileges to this container" },     \
	{ OPT_PULL, 0, "pull", "string", "Pull image before running (\"always\", \"missing\", \"never\") (default \"missing\")" }, \
	{ 'p', 'p', "publish", "list", "Publish a container's port(s) to the host" },          \
	{ 'P', 'P', "publish-all", NULL, "Publish all exposed ports to random ports" },         \
	{ OPT_READONLY, 0, "read-only", NULL, "Mount the container's root filesystem as read only" }, \
	{ OPT_RESTART, 0, "restart", "string", "Restart policy to apply when a container exits (default \"no\")" }, \
	{ OPT_RM, 0, "rm", NULL, "Automatically remove the container when it exits" },         \
	{ OPT_SECOPT, 0, "security-opt", "list", "Security Options" },                          \
	{ OPT_SHM, 0, "shm-size", "bytes", "Size of /dev/shm" },                                \
	{ OPT_STOPSIG, 0, "stop-signal", "string", "Signal to stop the container" },           \
	{ OPT_STOPTIMEOUT, 0, "stop-timeout", "int", "Timeout (in seconds) to stop a container" }, \
	{ OPT_TMPFS, 0, "tmpfs", "list", "Mount a tmpfs directory" },                          \
	{ 't', 't', "tty", NULL, "Allocate a pseudo-TTY" },                                    \
	{ OPT_ULIMIT, 0, "ulimit", "ulimit", "Ulimit options (default [])" },                   \
	{ 'u', 'u', "user", "string", "Username or UID (format: <name|uid>[:<group|gid>])" },  \
	{ 'v', 'v', "volume", "list", "Bind mount a volume" },                                 \
	{ OPT_VOLFROM, 0, "volumes-from", "list", "Mount volumes from the specified container(s)" }, \
	{ 'w', 'w', "workdir", "string", "Working directory inside the container" }

static const struct cli_opt run_opts[] = {
	{ 'd', 'd', "detach", NULL, "Run container in background and print container ID" },
	{ OPT_SIGPROXY, 0, "sig-proxy", NULL, "Proxy received signals to the process (default true)" },
	CREATE_OPTS,
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_opt create_opts[] = {
	CREATE_OPTS,
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage run_usage = {
	.path = "run",
	.args = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
	.desc = "Create and run a new container from an image",
	.aliases = "shoal container run, shoal run",
	.opts = run_opts,
	.no_interspersed = true,
};

static const struct cli_usage create_usage = {
	.path = "create",
	.args = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
	.desc = "Create a new container",
	.aliases = "shoal container create, shoal create",
	.opts = create_opts,
	.no_interspersed = true,
};

/* ---- shared helpers ----------------------------------------------------- */

int ctr_start_exit_code(const char *msg)
{
	if (strstr(msg, "executable file not found") ||
	    strstr(msg, "no such file or directory") ||
	    strstr(msg, "No such file or directory") || strstr(msg, "command not found"))
		return 127;
	if (strstr(msg, "permission denied") || strstr(msg, "Permission denied") ||
	    strstr(msg, "is a directory") || strstr(msg, "not executable") ||
	    strstr(msg, "cannot execute"))
		return 126;
	return 125;
}

/* docker-cli's reportError: "shoal: MSG." [+ "See 'shoal run --help'."] */
static void report_error(const char *verb, const char *msg, bool help)
{
	size_t n = strlen(msg);

	while (n && (msg[n - 1] == '.' || msg[n - 1] == '\n'))
		n--;
	fprintf(stderr, "%s: %.*s.\n", CLI_PROG, (int)n, msg);
	if (help)
		fprintf(stderr, "See '%s %s --help'.\n", CLI_PROG, verb);
}

static int term_size(int fd, unsigned int *h, unsigned int *w)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return -1;
	*h = ws.ws_row;
	*w = ws.ws_col;
	return 0;
}

/* POST <base>/resize?h=&w= with the terminal's size (errors ignored, as
 * docker does: the process may already be gone). */
struct resizer {
	struct client *cl;
	char base[192]; /* "/containers/<id>" or "/exec/<id>" */
};

static void resize_now(void *arg)
{
	struct resizer *r = arg;
	struct client_resp resp;
	struct shoal_err err;
	unsigned int h, w;
	char path[256];

	if (term_size(STDOUT_FILENO, &h, &w) < 0)
		return;
	snprintf(path, sizeof(path), "%s/resize?h=%u&w=%u", r->base, h, w);
	if (client_do(r->cl, "POST", path, NULL, &resp, &err) == 0)
		client_resp_free(&resp);
}

/* --sig-proxy: a signal the CLI gets goes to the container (by name, as
 * docker's ForwardAllSignals sends it). */
static void forward_signal(void *arg, int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGINT, "INT" }, { SIGTERM, "TERM" }, { SIGHUP, "HUP" },
		{ SIGQUIT, "QUIT" }, { SIGUSR1, "USR1" }, { SIGUSR2, "USR2" },
	};
	struct resizer *r = arg;
	struct client_resp resp;
	struct shoal_err err;
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].sig != sig)
			continue;
		snprintf(path, sizeof(path), "%s/kill?signal=%s", r->base, names[i].name);
		if (client_do(r->cl, "POST", path, NULL, &resp, &err) == 0)
			client_resp_free(&resp);
	}
}

/* ---- the wait that runs beside the attach -------------------------------- */

struct waiter {
	struct client cl;
	char path[192];
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool sent, done, started;
	long status;       /* HTTP status, 0 when no exchange */
	long long code;    /* StatusCode */
	char msg[1024];    /* the error when status is not 2xx / Error.Message */
	struct sbuf body;
};

static size_t waiter_data(char *p, size_t sz, size_t n, void *ud)
{
	struct waiter *w = ud;

	sbuf_add(&w->body, p, sz * n);
	return w->body.oom ? 0 : sz * n;
}

/* The request went out: the start may follow (what docker relies on). */
static int waiter_debug(CURL *h, curl_infotype type, char *data, size_t size,
			void *ud)
{
	struct waiter *w = ud;

	(void)h;
	(void)data;
	(void)size;
	if (type == CURLINFO_HEADER_OUT || type == CURLINFO_HEADER_IN) {
		pthread_mutex_lock(&w->mu);
		w->sent = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	return 0;
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	char errbuf[CURL_ERROR_SIZE] = "", url[256];
	CURLcode cc;
	json_t *j;

	snprintf(url, sizeof(url), "http://localhost/v" SHOAL_API_VERSION "%s", w->path);
	client_curl_prepare(&w->cl, url, "POST", waiter_data, w, errbuf);
	curl_easy_setopt(w->cl.curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(w->cl.curl, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(w->cl.curl, CURLOPT_DEBUGFUNCTION, waiter_debug);
	curl_easy_setopt(w->cl.curl, CURLOPT_DEBUGDATA, w);
	curl_easy_setopt(w->cl.curl, CURLOPT_VERBOSE, 1L);
	cc = curl_easy_perform(w->cl.curl);
	pthread_mutex_lock(&w->mu);
	if (cc != CURLE_OK) {
		snprintf(w->msg, sizeof(w->msg), "error waiting for the container: %s",
			 *errbuf ? errbuf : curl_easy_strerror(cc));
	} else {
		curl_easy_getinfo(w->cl.curl, CURLINFO_RESPONSE_CODE, &w->status);
		j = json_loads(sbuf_str(&w->body), 0, NULL);
		w->code = jint(j, "StatusCode");
		if (w->status < 200 || w->status > 299) {
			const char *m = jstr(j, "message");

			snprintf(w->msg, sizeof(w->msg), "%s",
				 *m ? m : sbuf_str(&w->body));
		} else if (*jstr(jobj(j, "Error"), "Message")) {
			snprintf(w->msg, sizeof(w->msg), "%s",
				 jstr(jobj(j, "Error"), "Message"));
		}
		json_decref(j);
	}
	w->done = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Start POST /containers/ID/wait?condition=C and return once it is sent. */
static int waiter_start(struct waiter *w, struct cli_ctx *ctx, const char *id,
			bool removed)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	snprintf(w->path, sizeof(w->path), "/containers/%s/wait?condition=%s", id,
		 removed ? "removed" : "next-exit");
	if (client_open_or_report(&w->cl, ctx->host))
		return -1;
	if (pthread_create(&w->th, NULL, waiter_main, w)) {
		client_close(&w->cl);
		return -1;
	}
	w->started = true;
	pthread_mutex_lock(&w->mu);
	while (!w->sent && !w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* Wait for the answer, at most `secs` seconds (< 0: forever). Returns 0
 * when it came. */
static int waiter_finish(struct waiter *w, int secs)
{
	struct timespec ts;
	bool done;

	if (!w->started)
		return -1;
	pthread_mutex_lock(&w->mu);
	if (secs >= 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += secs;
		while (!w->done)
			if (pthread_cond_timedwait(&w->cv, &w->mu, &ts))
				break;
	} else {
		while (!w->done)
			pthread_cond_wait(&w->cv, &w->mu);
	}
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	if (!done)
		return -1; /* left running: the process exits anyway */
	pthread_join(w->th, NULL);
	w->started = false;
	client_close(&w->cl);
	sbuf_free(&w->body);
	return 0;
}

/* ---- parsing what docker parses on the client ---------------------------- */

/* One port or a range "a-b" (1..65535; 0 allowed for host ports). */
static int parse_range(const char *s, bool allow_zero, unsigned int *lo,
		       unsigned int *hi)
{
	char *end;
	unsigned long a, b;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -1;
		b = strtoul(end + 1, &end, 10);
	}
	if (*end || errno || a > 65535 || b > 65535 || b < a || (!allow_zero && !a))
		return -1;
	*lo = (unsigned int)a;
	*hi = (unsigned int)b;
	return 0;
}

/* IPv4 dotted quad or a bracketed/bare IPv6 literal, as net.ParseIP. */
static bool valid_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * nat.ParsePortSpec: [IP:][HOSTPORT:]CONTAINERPORT[/PROTO], ranges on
 * both sides. Adds to ExposedPorts and PortBindings; on error fills msg
 * with docker's wording and returns -1.
 */
static int add_publish(json_t *exposed, json_t *bindings, const char *spec,
		       char *msg, size_t len)
{
	char *s = strdup(spec), *proto, *cport, *hport = NULL, *ip = NULL, *c;
	unsigned int clo, chi, hlo = 0, hhi = 0;
	int r = -1;

	if (!s)
		return -1;
	proto = strrchr(s, '/');
	if (proto)
		*proto++ = '\0';
	else
		proto = (char *)"tcp";
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")) {
		snprintf(msg, len, "invalid proto: %s", proto);
		goto out;
	}
	/* The container port is after the last ':'; an IPv6 host IP is in []. */
	cport = strrchr(s, ':');
	if (cport) {
		*cport++ = '\0';
		c = strrchr(s, ':');
		if (c && (s[0] != '[' || c > strrchr(s, ']'))) {
			*c = '\0';
			ip = s;
			hport = c + 1;
		} else {
			hport = s;
		}
		if (ip && ip[0] == '[') {
			size_t n = strlen(ip);

			if (n < 2 || ip[n - 1] != ']') {
				snprintf(msg, len, "invalid IP address: %s", ip);
				goto out;
			}
			ip[n - 1] = '\0';
			ip++;
		}
		if (ip && *ip && !valid_ip(ip)) {
			snprintf(msg, len, "invalid IP address: %s", ip);
			goto out;
		}
	} else {
		cport = s;
	}
	if (parse_range(cport, false, &clo, &chi) < 0) {
		snprintf(msg, len, "invalid containerPort: %s", cport);
		goto out;
	}
	if (hport && *hport && parse_range(hport, true, &hlo, &hhi) < 0) {
		snprintf(msg, len, "invalid hostPort: %s", hport);
		goto out;
	}
	if (hport && *hport && hhi - hlo != chi - clo && hlo != hhi) {
		snprintf(msg, len,
			 "invalid ranges specified for container and host Ports: %s and %s",
			 cport, hport);
		goto out;
	}
	for (unsigned int p = clo; p <= chi; p++) {
		char key[32], hp[16] = "";
		json_t *arr;

		snprintf(key, sizeof(key), "%u/%s", p, proto);
		json_object_set_new(exposed, key, json_object());
		/* "80" alone publishes to a port the daemon picks (HostPort ""). */
		if (hport && *hport) {
			if (hlo == hhi && clo != chi)
				snprintf(hp, sizeof(hp), "%u", hlo); /* one host port for a range */
			else
				snprintf(hp, sizeof(hp), "%u", hlo + (p - clo));
		}
		arr = json_object_get(bindings, key);
		if (!arr) {
			arr = json_array();
			json_object_set_new(bindings, key, arr);
		}
		json_array_append_new(arr, json_pack("{s:s, s:s}", "HostIp", ip ? ip : "",
						     "HostPort", hp));
	}
	r = 0;
out:
	free(s);
	return r;
}

/* "80", "80/udp", "8000-8010": Config.ExposedPorts keys. */
static int add_expose(json_t *exposed, const char *spec, char *msg, size_t len)
{
	char *s = strdup(spec), *proto;
	unsigned int lo = 1, hi = 0;
	int r = -1;

	if (!s)
		return -1;
	proto = strchr(s, '/');
	if (proto)
		*proto++ = '\0';
	else
		proto = (char *)"tcp";
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		snprintf(msg, len, "invalid proto: %s", proto);
	else if (parse_range(s, false, &lo, &hi) < 0)
		snprintf(msg, len, "invalid range format for --expose: %s", spec);
	else
		r = 0;
	for (unsigned int p = lo; !r && p <= hi; p++) {
		char key[32];

		snprintf(key, sizeof(key), "%u/%s", p, proto);
		json_object_set_new(exposed, key, json_object());
	}
	free(s);
	return r;
}

/* opts.ValidateEnv: "K=V" as is; "K" takes K's value from our environment
 * when set; an empty key is an error. */
static int add_env(json_t *env, const char *val)
{
	const char *eq = strchr(val, '=');
	char *k, *kv = NULL;
	const char *v;

	if (eq == val || !*val)
		return -1;
	if (eq) {
		json_array_append_new(env, json_string(val));
		return 0;
	}
	k = strdup(val);
	v = k ? getenv(k) : NULL;
	if (v && asprintf(&kv, "%s=%s", k, v) >= 0) {
		json_array_append_new(env, json_string(kv));
		free(kv);
	} else {
		json_array_append_new(env, json_string(val));
	}
	free(k);
	return 0;
}

/* A file of lines; blank lines and '#' comments skipped (docker's
 * opts.ParseEnvFile/ParseLabelFile). fn gets each line. */
static int read_lines(const char *path, json_t *dst,
		      int (*fn)(json_t *dst, const char *line), char *msg,
		      size_t len)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	if (!f) {
		snprintf(msg, len, "open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *l = line;

		while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
			l[--n] = '\0';
		while (isspace((unsigned char)*l))
			l++;
		if (!*l || *l == '#')
			continue;
		if (fn(dst, l) < 0) {
			snprintf(msg, len, "invalid environment variable: %s", l);
			r = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return r;
}

static int add_label(json_t *labels, const char *val)
{
	const char *eq = strchr(val, '=');
	char *k = eq ? strndup(val, (size_t)(eq - val)) : strdup(val);

	if (!k)
		return -1;
	json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
	free(k);
	return 0;
}

/* go-units RAMInBytes: "64m", "1.5g", "512KiB", "100" -> bytes (1024-based), or -1. */
static long long ram_in_bytes(const char *s)
{
	static const char units[] = "kmgtp";
	const char *u;
	char *end;
	double v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || v < 0)
		return -1;
	if (*end == ' ')
		end++;
	if (*end && (u = strchr(units, tolower((unsigned char)*end)))) {
		for (long i = 0; i <= u - units; i++)
			v *= 1024;
		end++;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	return *end || v > 9.2e18 ? -1 : (long long)v;
}

/* --mount type=bind,source=/x,target=/y[,readonly][,volume-nocopy]... */
static json_t *parse_mount(const char *spec, char *msg, size_t len)
{
	char *s = strdup(spec), *save = NULL, *tok;
	json_t *m = json_object(), *vo = NULL, *bo = NULL, *to = NULL;
	const char *type = "volume";

	if (!s || !m)
		goto fail;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *v = eq ? eq + 1 : NULL;
		bool bv = true;

		if (eq)
			*eq = '\0';
		if (v && (!strcmp(tok, "readonly") || !strcmp(tok, "ro") ||
			  !strcmp(tok, "volume-nocopy"))) {
			if (!strcmp(v, "1") || !strcasecmp(v, "true"))
				bv = true;
			else if (!strcmp(v, "0") || !strcasecmp(v, "false"))
				bv = false;
			else {
				snprintf(msg, len, "invalid value for %s: %s", tok, v);
				goto fail;
			}
		}
		if (!strcmp(tok, "readonly") || !strcmp(tok, "ro")) {
			json_object_set_new(m, "ReadOnly", json_boolean(bv));
			continue;
		}
		if (!strcmp(tok, "volume-nocopy")) {
			if (!vo)
				vo = json_object();
			json_object_set_new(vo, "NoCopy", json_boolean(bv));
			continue;
		}
		if (!v) {
			snprintf(msg, len, "invalid field '%s' must be a key=value pair", tok);
			goto fail;
		}
		if (!strcmp(tok, "type")) {
			type = v;
			json_object_set_new(m, "Type", json_string(v));
		} else if (!strcmp(tok, "source") || !strcmp(tok, "src")) {
			json_object_set_new(m, "Source", json_string(v));
		} else if (!strcmp(tok, "target") || !strcmp(tok, "destination") ||
			   !strcmp(tok, "dst")) {
			json_object_set_new(m, "Target", json_string(v));
		} else if (!strcmp(tok, "consistency")) {
			json_object_set_new(m, "Consistency", json_string(v));
		} else if (!strcmp(tok, "bind-propagation")) {
			if (!bo)
				bo = json_object();
			json_object_set_new(bo, "Propagation", json_string(v));
		} else if (!strcmp(tok, "volume-driver") || !strcmp(tok, "volume-opt")) {
			json_t *dc, *o;

			if (!vo)
				vo = json_object();
			dc = json_object_get(vo, "DriverConfig");
			if (!dc) {
				dc = json_object();
				json_object_set_new(vo, "DriverConfig", dc);
			}
			if (!strcmp(tok, "volume-driver")) {
				json_object_set_new(dc, "Name", json_string(v));
				continue;
			}
			/* volume-opt=KEY=VALUE: an option for a volume made on first use. */
			if (!strchr(v, '=') || *v == '=') {
				snprintf(msg, len, "invalid volume-opt '%s': expected KEY=VALUE", v);
				goto fail;
			}
			o = json_object_get(dc, "Options");
			if (!o) {
				o = json_object();
				json_object_set_new(dc, "Options", o);
			}
			add_label(o, v);
		} else if (!strcmp(tok, "volume-label")) {
			json_t *l;

			if (!vo)
				vo = json_object();
			l = json_object_get(vo, "Labels");
			if (!l) {
				l = json_object();
				json_object_set_new(vo, "Labels", l);
			}
			add_label(l, v);
		} else if (!strcmp(tok, "tmpfs-size")) {
			if (!to)
				to = json_object();
			{
				long long sz = ram_in_bytes(v);

				if (sz < 0) {
					snprintf(msg, len, "invalid value for tmpfs-size: %s", v);
					goto fail;
				}
				json_object_set_new(to, "SizeBytes", json_integer(sz));
			}
		} else if (!strcmp(tok, "tmpfs-mode")) {
			if (!to)
				to = json_object();
			json_object_set_new(to, "Mode", json_integer(strtol(v, NULL, 8)));
		} else {
			snprintf(msg, len, "unexpected key '%s' in '%s'", tok, spec);
			goto fail;
		}
	}
	if (!json_object_get(m, "Type"))
		json_object_set_new(m, "Type", json_string(type));
	if (!*jstr(m, "Target")) {
		snprintf(msg, len, "target is required");
		goto fail;
	}
	if (strcmp(type, "volume") && strcmp(type, "bind") && strcmp(type, "tmpfs")) {
		snprintf(msg, len, "invalid mount type: %s", type);
		goto fail;
	}
	if (!strcmp(type, "bind") && !*jstr(m, "Source")) {
		snprintf(msg, len, "source is required when specifying bind mounts");
		goto fail;
	}
	if (vo && strcmp(type, "volume")) {
		snprintf(msg, len, "cannot mix 'volume-*' options with mount type '%s'", type);
		goto fail;
	}
	if (bo)
		json_object_set_new(m, "BindOptions", bo);
	if (vo)
		json_object_set_new(m, "VolumeOptions", vo);
	if (to)
		json_object_set_new(m, "TmpfsOptions", to);
	free(s);
	return m;
fail:
	free(s);
	json_decref(bo);
	json_decref(vo);
	json_decref(to);
	json_decref(m);
	return NULL;
}

/* ---- run / create ------------------------------------------------------- */

struct run_opts {
	bool detach, rm, interactive, tty, puball, readonly, priv, nosigproxy;
	const char *name, *workdir, *hostname, *network, *ip, *entrypoint,
		*user, *stopsig, *restart, *pull, *cidfile;
	long stoptimeout;
	bool has_stoptimeout;
	json_t *env, *labels, *exposed, *bindings, *binds, *volumes, *mounts,
		*volfrom, *tmpfs, *hosts, *aliases;
	json_t *hcx; /* resource, security and logging keys of HostConfig */
};

static void run_opts_free(struct run_opts *o)
{
	json_decref(o->env);
	json_decref(o->labels);
	json_decref(o->exposed);
	json_decref(o->bindings);
	json_decref(o->binds);
	json_decref(o->volumes);
	json_decref(o->mounts);
	json_decref(o->volfrom);
	json_decref(o->tmpfs);
	json_decref(o->hosts);
	json_decref(o->aliases);
	json_decref(o->hcx);
}

/* -v SRC:DST[:MODE] is a bind (HostConfig.Binds); -v /DST alone an
 * anonymous volume (Config.Volumes), as docker-cli splits them. */
static int add_volume(struct run_opts *o, const char *val, char *msg, size_t len)
{
	if (!*val) {
		snprintf(msg, len, "invalid empty volume spec");
		return -1;
	}
	if (strchr(val, ':'))
		json_array_append_new(o->binds, json_string(val));
	else if (val[0] == '/')
		json_object_set_new(o->volumes, val, json_object());
	else {
		snprintf(msg, len, "invalid volume specification: '%s'", val);
		return -1;
	}
	return 0;
}

/* docker's RAMInBytes: "512", "64m", "64MB", "1.5g", "2GiB" (binary units). */
static int parse_bytes(const char *s, int64_t *out)
{
	static const char units[] = "bkmgtp";
	const char *u;
	double v, mult = 1;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || errno || end == s || v < 0)
		return -1;
	if (*end) {
		u = strchr(units, *end | 0x20);
		if (!u)
			return -1;
		for (long i = 0; i < u - units; i++)
			mult *= 1024;
		end++;
		if (*end && (*end | 0x20) == 'i')
			end++;
		if (*end && (*end | 0x20) == 'b' && u != units)
			end++;
		if (*end)
			return -1;
	}
	*out = (int64_t)(v * mult);
	return 0;
}

static int parse_int(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return !*s || *end || errno ? -1 : 0;
}

/* --ulimit NAME=SOFT[:HARD] as {"Name", "Soft", "Hard"}. */
static json_t *parse_ulimit(const char *s)
{
	const char *eq = strchr(s, '='), *colon;
	long long soft, hard;
	char buf[64], *name;
	json_t *u;

	if (!eq || eq == s)
		return NULL;
	colon = strchr(eq + 1, ':');
	snprintf(buf, sizeof(buf), "%.*s", colon ? (int)(colon - eq - 1) : (int)strlen(eq + 1), eq + 1);
	if (parse_int(buf, &soft) < 0)
		return NULL;
	hard = soft;
	if (colon && parse_int(colon + 1, &hard) < 0)
		return NULL;
	if (soft > hard)
		return NULL;
	name = strndup(s, (size_t)(eq - s));
	u = name ? json_pack("{s:s, s:I, s:I}", "Name", name, "Soft", (json_int_t)soft, "Hard",
			     (json_int_t)hard) : NULL;
	free(name);
	return u;
}

/* Append val to the array hcx[key] (made on first use). */
static void hcx_append(json_t *hcx, const char *key, json_t *val)
{
	json_t *a = json_object_get(hcx, key);

	if (!a) {
		a = json_array();
		json_object_set_new(hcx, key, a);
	}
	json_array_append_new(a, val);
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* docker-cli's capability lists: upper case, "CAP_" prefixed (but ALL),
 * without duplicates, sorted. */
static void caps_normalise(json_t *caps)
{
	json_t *v[128];
	size_t n = 0, i, w = 0;
	json_t *x;

	if (!caps)
		return;
	json_array_foreach(caps, i, x) {
		char buf[64], *c;

		snprintf(buf, sizeof(buf), "%s%s",
			 strncasecmp(json_string_value(x), "CAP_", 4) == 0 ||
					 strcasecmp(json_string_value(x), "ALL") == 0 ? "" : "CAP_",
			 json_string_value(x));
		for (c = buf; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		if (n < 128)
			v[n++] = json_string(buf);
	}
	qsort(v, n, sizeof(v[0]), cmp_json_str);
	json_array_clear(caps);
	for (i = 0; i < n; i++) {
		if (w && strcmp(json_string_value(v[i]), json_string_value(v[w - 1])) == 0) {
			json_decref(v[i]);
			continue;
		}
		v[w++] = v[i];
	}
	for (i = 0; i < w; i++)
		json_array_append_new(caps, v[i]);
}

/* The HostConfig keys docker-cli sets for the resource, capability,
 * security, ulimit and logging flags. -1 with pflag's message in msg. */
static int hc_extra(json_t *hcx, int opt, const char *val, char *msg, size_t len)
{
	static const struct { int opt; const char *flag, *key; } bytes[] = {
		{ 'm', "-m, --memory", "Memory" },
		{ OPT_MEMSWAP, "--memory-swap", "MemorySwap" },
		{ OPT_SHM, "--shm-size", "ShmSize" },
	};
	static const struct { int opt; const char *flag, *key; } ints[] = {
		{ 'c', "-c, --cpu-shares", "CpuShares" },
		{ OPT_PIDS, "--pids-limit", "PidsLimit" },
		{ OPT_OOMADJ, "--oom-score-adj", "OomScoreAdj" },
	};
	long long n;
	int64_t b;
	json_t *x;

	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		if (bytes[i].opt != opt)
			continue;
		if (opt == OPT_MEMSWAP && strcmp(val, "-1") == 0)
			b = -1;
		else if (parse_bytes(val, &b) < 0) {
			snprintf(msg, len, "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'",
				 val, bytes[i].flag, val);
			return -1;
		}
		json_object_set_new(hcx, bytes[i].key, json_integer(b));
		return 0;
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (ints[i].opt != opt)
			continue;
		if (parse_int(val, &n) < 0) {
			snprintf(msg, len,
				 "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax",
				 val, ints[i].flag, val);
			return -1;
		}
		if (opt == OPT_OOMADJ && (n < -1000 || n > 1000)) {
			snprintf(msg, len, "invalid argument \"%s\" for \"--oom-score-adj\" flag: must be in the range [-1000, 1000]",
				 val);
			return -1;
		}
		json_object_set_new(hcx, ints[i].key, json_integer(n));
		return 0;
	}
	switch (opt) {
	case OPT_CPUS: {
		char *end;
		double c;

		errno = 0;
		c = strtod(val, &end);
		if (!*val || *end || errno || c < 0) {
			snprintf(msg, len, "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number",
				 val, val);
			return -1;
		}
		json_object_set_new(hcx, "NanoCpus", json_integer((json_int_t)(c * 1e9 + 0.5)));
		return 0;
	}
	case OPT_CAPADD:
	case OPT_CAPDROP:
		hcx_append(hcx, opt == OPT_CAPADD ? "CapAdd" : "CapDrop", json_string(val));
		return 0;
	case OPT_SECOPT:
		hcx_append(hcx, "SecurityOpt", json_string(val));
		return 0;
	case OPT_ULIMIT:
		x = parse_ulimit(val);
		if (!x) {
			snprintf(msg, len, "invalid argument \"%s\" for \"--ulimit\" flag: invalid ulimit argument: %s",
				 val, val);
			return -1;
		}
		hcx_append(hcx, "Ulimits", x);
		return 0;
	case OPT_LOGDRV:
	case OPT_LOGOPT: {
		json_t *lc = json_object_get(hcx, "LogConfig");
		const char *eq = strchr(val, '=');
		char *k;

		if (!lc) {
			lc = json_pack("{s:s, s:{}}", "Type", "", "Config");
			json_object_set_new(hcx, "LogConfig", lc);
		}
		if (opt == OPT_LOGDRV) {
			json_object_set_new(lc, "Type", json_string(val));
			return 0;
		}
		if (!eq || eq == val) {
			snprintf(msg, len, "invalid argument \"%s\" for \"--log-opt\" flag: invalid key value pair format: %s",
				 val, val);
			return -1;
		}
		k = strndup(val, (size_t)(eq - val));
		if (k)
			json_object_set_new(json_object_get(lc, "Config"), k, json_string(eq + 1));
		free(k);
		return 0;
	}
	}
	return 0;
}

/* Restart policy "no", "always", "unless-stopped", "on-failure[:N]". */
static json_t *restart_policy(const char *s, char *msg, size_t len)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	long max = 0;

	if (colon) {
		char *end;

		max = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || max < 0) {
			snprintf(msg, len, "invalid restart policy format: maximum retry count must be an integer");
			return NULL;
		}
	}
	if ((n == 2 && !strncmp(s, "no", 2)) || (n == 6 && !strncmp(s, "always", 6)) ||
	    (n == 14 && !strncmp(s, "unless-stopped", 14)) ||
	    (n == 10 && !strncmp(s, "on-failure", 10))) {
		if (colon && strncmp(s, "on-failure", 10)) {
			snprintf(msg, len, "invalid restart policy format: maximum retry count can only be used with 'on-failure'");
			return NULL;
		}
		return json_pack("{s:s%, s:I}", "Name", s, n, "MaximumRetryCount",
				 (json_int_t)max);
	}
	snprintf(msg, len, "invalid restart policy format: unknown policy '%.*s'",
		 (int)n, s);
	return NULL;
}

/*
 * Parse run/create's flags. Returns 0 with o filled and p->args at IMAGE,
 * or an exit code (> 0; 0 when help was printed: *done set).
 */
static int run_parse(struct cli_parse *p, const struct cli_usage *u, int argc,
		     char **argv, struct run_opts *o, bool *done)
{
	const char *val;
	char msg[512] = "";
	int opt;

	*done = false;
	o->env = json_array();
	o->labels = json_object();
	o->exposed = json_object();
	o->bindings = json_object();
	o->binds = json_array();
	o->volumes = json_object();
	o->mounts = json_array();
	o->volfrom = json_array();
	o->tmpfs = json_object();
	o->hosts = json_array();
	o->aliases = json_array();
	o->hcx = json_object();
	if (!o->env || !o->labels || !o->exposed || !o->bindings || !o->binds ||
	    !o->volumes || !o->mounts || !o->volfrom || !o->tmpfs || !o->hosts ||
	    !o->aliases || !o->hcx)
		return RUN_EXIT_CLI;
	cli_parse_init(p, u, argc, argv);
	while ((opt = cli_next(p, &val)) > 0) {
		bool b = val && !strcmp(val, "true");
		json_t *m;

		switch (opt) {
		case 'd': o->detach = b; break;
		case OPT_SIGPROXY: o->nosigproxy = !b; break;
		case OPT_RM: o->rm = b; break;
		case 'i': o->interactive = b; break;
		case 't': o->tty = b; break;
		case 'P': o->puball = b; break;
		case OPT_READONLY: o->readonly = b; break;
		case OPT_PRIV: o->priv = b; break;
		case OPT_NAME: o->name = val; break;
		case 'w': o->workdir = val; break;
		case 'h': o->hostname = val; break;
		case OPT_NETWORK: o->network = val; break;
		case OPT_IP: o->ip = val; break;
		case OPT_ENTRYPOINT: o->entrypoint = val; break;
		case 'u': o->user = val; break;
		case OPT_STOPSIG: o->stopsig = val; break;
		case OPT_RESTART: o->restart = val; break;
		case OPT_PULL:
			if (strcmp(val, "always") && strcmp(val, "missing") && strcmp(val, "never")) {
				snprintf(msg, sizeof(msg),
					 "invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"",
					 val);
				report_error(u->path, msg, true);
				return RUN_EXIT_CLI;
			}
			o->pull = val;
			break;
		case OPT_INIT:
			if (b) {
				report_error(u->path, "--init is not supported by shoal", true);
				return RUN_EXIT_CLI;
			}
			break;
		case OPT_STOPTIMEOUT: {
			char *end;

			errno = 0;
			o->stoptimeout = strtol(val, &end, 10);
			if (!*val || *end || errno) {
				cli_usage_error(u, "invalid argument \"%s\" for \"--stop-timeout\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax",
						val, val);
				return RUN_EXIT_CLI;
			}
			o->has_stoptimeout = true;
			break;
		}
		case 'e':
			if (add_env(o->env, val) < 0) {
				cli_usage_error(u, "invalid argument \"%s\" for \"-e, --env\" flag: invalid environment variable: %s",
						val, val);
				return RUN_EXIT_CLI;
			}
			break;
		case OPT_ENVFILE:
			if (read_lines(val, o->env, add_env, msg, sizeof(msg)) < 0) {
				cli_usage_error(u, "invalid argument \"%s\" for \"--env-file\" flag: %s",
						val, msg);
				return RUN_EXIT_CLI;
			}
			break;
		case 'l':
			add_label(o->labels, val);
			break;
		case OPT_LABELFILE:
			if (read_lines(val, o->labels, add_label, msg, sizeof(msg)) < 0) {
				cli_usage_error(u, "invalid argument \"%s\" for \"--label-file\" flag: %s",
						val, msg);
				return RUN_EXIT_CLI;
			}
			break;
		case 'p':
			if (add_publish(o->exposed, o->bindings, val, msg, sizeof(msg)) < 0) {
				report_error(u->path, msg, true);
				return RUN_EXIT_CLI;
			}
			break;
		case OPT_EXPOSE:
			if (add_expose(o->exposed, val, msg, sizeof(msg)) < 0) {
				report_error(u->path, msg, true);
				return RUN_EXIT_CLI;
			}
			break;
		case 'v':
			if (add_volume(o, val, msg, sizeof(msg)) < 0) {
				report_error(u->path, msg, true);
				return RUN_EXIT_CLI;
			}
			break;
		case OPT_MOUNT:
			m = parse_mount(val, msg, sizeof(msg));
			if (!m) {
				cli_usage_error(u, "invalid argument \"%s\" for \"--mount\" flag: %s",
						val, msg);
				return RUN_EXIT_CLI;
			}
			json_array_append_new(o->mounts, m);
			break;
		case OPT_VOLFROM:
			json_array_append_new(o->volfrom, json_string(val));
			break;
		case OPT_TMPFS: {
			const char *c = strchr(val, ':');
			char *k = c ? strndup(val, (size_t)(c - val)) : strdup(val);

			if (k)
				json_object_set_new(o->tmpfs, k, json_string(c ? c + 1 : ""));
			free(k);
			break;
		}
		case OPT_ADDHOST:
			if (!strchr(val, ':')) {
				cli_usage_error(u, "invalid argument \"%s\" for \"--add-host\" flag: bad format for add-host: \"%s\"",
						val, val);
				return RUN_EXIT_CLI;
			}
			json_array_append_new(o->hosts, json_string(val));
			break;
		case OPT_ALIAS:
			json_array_append_new(o->aliases, json_string(val));
			break;
		case OPT_CIDFILE:
			o->cidfile = val;
			break;
		default:
			if (hc_extra(o->hcx, opt, val, msg, sizeof(msg)) < 0) {
				cli_usage_error(u, "%s", msg);
				return RUN_EXIT_CLI;
			}
			break;
		}
	}
	if (opt < 0) {
		*done = p->rc == 0;
		return p->rc ? RUN_EXIT_CLI : 0;
	}
	caps_normalise(json_object_get(o->hcx, "CapAdd"));
	caps_normalise(json_object_get(o->hcx, "CapDrop"));
	if (p->nargs < 1) {
		cli_args_min(u, p->nargs, 1);
		return RUN_EXIT_CLI;
	}
	return 0;
}

/* The body of POST /containers/create, shaped as docker-cli sends it. */
static json_t *run_body(struct run_opts *o, char **args, int nargs, char *msg,
			size_t len)
{
	json_t *cmd = NULL, *ep = NULL, *hc, *body, *rp, *epcfg;
	const char *net = o->network ? o->network : "default";

	if (nargs > 1) {
		cmd = json_array();
		for (int i = 1; i < nargs; i++)
			json_array_append_new(cmd, json_string(args[i]));
	}
	if (o->entrypoint)
		ep = json_pack("[s]", o->entrypoint);
	rp = restart_policy(o->restart ? o->restart : "no", msg, len);
	if (!rp)
		goto fail;
	if (o->rm && strcmp(jstr(rp, "Name"), "no")) {
		json_decref(rp);
		snprintf(msg, len, "Conflicting options: --restart and --rm");
		goto fail;
	}
	if (o->ip && !o->network) {
		json_decref(rp);
		snprintf(msg, len, "--ip requires a user-defined network (--network)");
		goto fail;
	}
	hc = json_pack("{s:O, s:s, s:O, s:o, s:b, s:O, s:O, s:b, s:b, s:b, s:O, s:O}",
		       "Binds", o->binds, "NetworkMode", net, "PortBindings", o->bindings,
		       "RestartPolicy", rp, "AutoRemove", o->rm, "VolumesFrom",
		       o->volfrom, "Mounts", o->mounts, "PublishAllPorts", o->puball,
		       "ReadonlyRootfs", o->readonly, "Privileged", o->priv, "Tmpfs",
		       o->tmpfs, "ExtraHosts", o->hosts);
	if (hc)
		json_object_update(hc, o->hcx);
	body = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:O, s:b, s:b, s:b, s:O, s:o, s:s,"
			 " s:O, s:s, s:o, s:O, s:o}",
			 "Hostname", o->hostname ? o->hostname : "", "Domainname", "",
			 "User", o->user ? o->user : "", "AttachStdin", o->interactive && !o->detach,
			 "AttachStdout", !o->detach, "AttachStderr", !o->detach,
			 "ExposedPorts", o->exposed, "Tty", o->tty, "OpenStdin", o->interactive,
			 "StdinOnce", o->interactive && !o->detach, "Env", o->env,
			 "Cmd", cmd ? cmd : json_null(), "Image", args[0],
			 "Volumes", o->volumes, "WorkingDir", o->workdir ? o->workdir : "",
			 "Entrypoint", ep ? ep : json_null(), "Labels", o->labels,
			 "HostConfig", hc);
	if (!body)
		return NULL;
	if (o->stopsig)
		json_object_set_new(body, "StopSignal", json_string(o->stopsig));
	if (o->has_stoptimeout)
		json_object_set_new(body, "StopTimeout", json_integer(o->stoptimeout));
	epcfg = json_object();
	if (o->network && epcfg) {
		json_t *e = json_object();

		if (o->ip)
			json_object_set_new(e, "IPAMConfig",
					    json_pack("{s:s}", "IPv4Address", o->ip));
		if (json_array_size(o->aliases))
			json_object_set(e, "Aliases", o->aliases);
		json_object_set_new(epcfg, o->network, e);
	}
	json_object_set_new(body, "NetworkingConfig",
			    json_pack("{s:o}", "EndpointsConfig", epcfg));
	return body;
fail:
	json_decref(cmd);
	json_decref(ep);
	return NULL;
}

/*
 * `pull` run on IMAGE, its progress on stderr (docker's run and create
 * show it there, stdout is the container's). Returns 0 when pulled.
 */
static int pull_image(struct cli_ctx *ctx, const char *image)
{
	char *av[] = { (char *)"pull", (char *)image, NULL };
	int saved, rc;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved < 0)
		return 1;
	dup2(STDERR_FILENO, STDOUT_FILENO);
	rc = cmd_pull(ctx, 2, av);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return rc;
}

/* "busybox" -> "busybox:latest", as docker names a missing image. */
static void familiar_ref(const char *image, char *buf, size_t len)
{
	const char *last = strrchr(image, '/');

	last = last ? last + 1 : image;
	snprintf(buf, len, "%s%s", image,
		 strchr(last, ':') || strchr(image, '@') ? "" : ":latest");
}

/* POST /containers/create; prints warnings. With pull "missing" (the
 * default) an image the daemon does not have is pulled first, then the
 * create is retried, as docker does. Returns the id (malloc'd) or NULL
 * after printing the error as `verb` words it. */
static char *create_container(struct cli_ctx *ctx, struct client *cl, const char *verb,
			      json_t *body, const char *name, const char *pull)
{
	struct client_resp resp;
	struct shoal_err err;
	char path[512], msg[1024], ref[600], *id = NULL, *e = NULL;
	const char *image = jstr(body, "Image");
	bool pulled = false;
	json_t *w;
	size_t i;

	if (name) {
		e = client_escape(cl, name);
		if (!e)
			return NULL;
	}
	snprintf(path, sizeof(path), "/containers/create%s%s", e ? "?name=" : "",
		 e ? e : "");
	free(e);
	if (pull && !strcmp(pull, "always")) {
		if (pull_image(ctx, image))
			return NULL;
		pulled = true;
	}
again:
	if (client_do(cl, "POST", path, body, &resp, &err) < 0) {
		report_error(verb, err.msg, true);
		return NULL;
	}
	if (resp.status == 404 && !pulled && (!pull || !strcmp(pull, "missing")) &&
	    !strncmp(client_resp_message(&resp, msg, sizeof(msg)), "No such image", 13)) {
		client_resp_free(&resp);
		familiar_ref(image, ref, sizeof(ref));
		fprintf(stderr, "Unable to find image '%s' locally\n", ref);
		if (pull_image(ctx, image))
			return NULL;
		pulled = true;
		goto again;
	}
	if (resp.status < 200 || resp.status > 299) {
		char full[1100];

		snprintf(full, sizeof(full), "Error response from daemon: %s",
			 client_resp_message(&resp, msg, sizeof(msg)));
		report_error(verb, full, true);
		client_resp_free(&resp);
		return NULL;
	}
	json_array_foreach(jarr(resp.json, "Warnings"), i, w)
		if (json_string_value(w))
			fprintf(stderr, "WARNING: %s\n", json_string_value(w));
	if (*jstr(resp.json, "Id"))
		id = strdup(jstr(resp.json, "Id"));
	else
		report_error(verb, "the daemon answered the create without an Id", false);
	client_resp_free(&resp);
	return id;
}

/*
 * Attach (hijack), register the wait, start, pump stdio, collect the
 * exit status: what run without -d and start -a share. `start` false
 * when the container is already running (attach). Returns the exit code.
 */
struct attach_req {
	const char *verb;
	const char *id;
	bool in, out, tty, autoremove, start;
	bool sigproxy; /* forward INT, TERM... to the container (not with a tty) */
};

static int attach_run(struct cli_ctx *ctx, struct client *cl,
		      const struct attach_req *a)
{
	struct termios saved;
	struct resizer rz = { .cl = cl };
	struct waiter w = { 0 };
	struct hijack h;
	char path[256], msg[1024];
	bool raw = false;
	long status;
	int r, rc = 0;

	snprintf(path, sizeof(path),
		 "/containers/%s/attach?stream=1&stdin=%d&stdout=%d&stderr=%d",
		 a->id, a->in, a->out, a->out);
	r = hijack_open(cl, "POST", path, NULL, &h, &status, msg, sizeof(msg));
	if (r != CLIENT_OK) {
		if (r == CLIENT_EDAEMON)
			fprintf(stderr, "Error response from daemon: %s\n", msg);
		else
			fprintf(stderr, "%s\n", msg);
		return a->start ? RUN_EXIT_CLI : 1;
	}
	if (a->start) {
		struct client_resp resp;
		struct shoal_err err;

		if (waiter_start(&w, ctx, a->id, a->autoremove) < 0) {
			hijack_close(&h);
			return RUN_EXIT_CLI;
		}
		snprintf(path, sizeof(path), "/containers/%s/start", a->id);
		if (client_do(cl, "POST", path, NULL, &resp, &err) < 0) {
			hijack_close(&h);
			report_error(a->verb, err.msg, false);
			return RUN_EXIT_CLI;
		}
		if (resp.status < 200 || resp.status > 299) {
			char full[1100];

			client_resp_message(&resp, msg, sizeof(msg));
			client_resp_free(&resp);
			hijack_close(&h);
			snprintf(full, sizeof(full), "Error response from daemon: %s", msg);
			report_error(a->verb, full, false);
			/* docker waits for an auto-removed container to be gone */
			if (a->autoremove)
				waiter_finish(&w, 5);
			return ctr_start_exit_code(msg);
		}
		client_resp_free(&resp);
	}
	snprintf(rz.base, sizeof(rz.base), "/containers/%s", a->id);
	if (a->tty && isatty(STDOUT_FILENO)) {
		resize_now(&rz);
		hijack_watch_winch();
	}
	if (!a->tty && a->sigproxy)
		hijack_watch_signals();
	if (a->in && a->tty && isatty(STDIN_FILENO))
		raw = term_make_raw(STDIN_FILENO, &saved) == 0;
	r = hijack_pump(&h, a->in ? STDIN_FILENO : -1, a->tty,
			&(struct hijack_cbs){ .winch = a->tty ? resize_now : NULL,
					      .signal = a->sigproxy ? forward_signal : NULL,
					      .arg = &rz });
	if (raw)
		term_restore(STDIN_FILENO, &saved);
	hijack_close(&h);
	if (r < 0 && r != -EPIPE) {
		fprintf(stderr, "error while streaming the container's output: %s\n",
			strerror(-r));
		rc = 1;
	}
	if (a->start) {
		waiter_finish(&w, -1);
		if (w.status < 200 || w.status > 299) {
			fprintf(stderr, "Error response from daemon: %s\n", w.msg);
			return RUN_EXIT_CLI;
		}
		if (*w.msg)
			fprintf(stderr, "%s\n", w.msg);
		return (int)w.code;
	}
	return rc;
}

static int run_or_create(struct cli_ctx *ctx, int argc, char **argv, bool run)
{
	const struct cli_usage *u = run ? &run_usage : &create_usage;
	struct run_opts o = { 0 };
	struct cli_parse p;
	struct client cl = { 0 };
	json_t *body = NULL;
	char msg[512], *id = NULL;
	int rc, cidfd = -1;
	bool done;

	rc = run_parse(&p, u, argc, argv, &o, &done);
	if (rc || done)
		goto out;
	rc = RUN_EXIT_CLI;
	body = run_body(&o, p.args, p.nargs, msg, sizeof(msg));
	if (!body) {
		report_error(u->path, msg, true);
		goto out;
	}
	if (run && !o.detach && o.interactive && o.tty && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "the input device is not a TTY\n");
		rc = 1;
		goto out;
	}
	{
		struct shoal_err err;

		if (client_open(&cl, ctx->host, &err) < 0) {
			report_error(u->path, err.msg, false);
			goto out;
		}
	}
	if (o.cidfile) {
		/* docker's cidFile: made before the create (so a second run
		 * with the same file fails first), filled after, gone on failure */
		cidfd = open(o.cidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (cidfd < 0) {
			if (errno == EEXIST)
				snprintf(msg, sizeof(msg),
					 "Container ID file found, make sure the other container isn't running or delete %s",
					 o.cidfile);
			else
				snprintf(msg, sizeof(msg), "failed to create the container ID file: open %s: %s",
					 o.cidfile, strerror(errno));
			report_error(u->path, msg, false);
			goto out;
		}
	}
	id = create_container(ctx, &cl, u->path, body, o.name, o.pull);
	if (cidfd >= 0) {
		bool ok = id && dprintf(cidfd, "%s", id) == (int)strlen(id);

		close(cidfd);
		cidfd = -1;
		if (!ok) {
			unlink(o.cidfile);
			if (id) {
				snprintf(msg, sizeof(msg), "failed to write the container ID to the file: %s",
					 strerror(errno));
				report_error(u->path, msg, false);
				free(id);
				id = NULL;
			}
		}
	}
	if (!id)
		goto out;
	if (!run || o.detach) {
		if (run) {
			struct client_resp resp;
			struct shoal_err err;
			char path[256];

			snprintf(path, sizeof(path), "/containers/%s/start", id);
			if (client_do(&cl, "POST", path, NULL, &resp, &err) < 0) {
				report_error(u->path, err.msg, false);
				goto out;
			}
			if (resp.status < 200 || resp.status > 299) {
				char full[1100];

				client_resp_message(&resp, msg, sizeof(msg));
				snprintf(full, sizeof(full), "Error response from daemon: %s", msg);
				report_error(u->path, full, false);
				client_resp_free(&resp);
				rc = ctr_start_exit_code(msg);
				goto out;
			}
			client_resp_free(&resp);
		}
		printf("%s\n", id);
		rc = 0;
		goto out;
	}
	rc = attach_run(ctx, &cl, &(struct attach_req){
		.verb = u->path, .id = id, .in = o.interactive, .out = true,
		.tty = o.tty, .autoremove = o.rm, .start = true, .sigproxy = !o.nosigproxy });
out:
	free(id);
	client_close(&cl);
	json_decref(body);
	run_opts_free(&o);
	return rc;
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
	return run_or_create(ctx, argc, argv, true);
}

int cmd_create(struct cli_ctx *ctx, int argc, char **argv)
{
	return run_or_create(ctx, argc, argv, false);
}

/* ---- start / attach ----------------------------------------------------- */

static const struct cli_opt start_opts[] = {
	{ 'a', 'a', "attach", NULL, "Attach STDOUT/STDERR and forward signals" },
	{ OPT_DETACHKEYS, 0, "detach-keys", "string", "Override the key sequence for detaching a container" },
	{ 'i', 'i', "interactive", NULL, "Attach container's STDIN" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage start_usage = {
	.path = "start",
	.args = "[OPTIONS] CONTAINER [CONTAINER...]",
	.desc = "Start one or more stopped containers",
	.aliases = "shoal container start, shoal start",
	.opts = start_opts,
};

int cmd_start(struct cli_ctx *ctx, int argc, char **argv)
{
	bool attach = false, interactive = false;
	struct sbuf failed = { 0 };
	struct cli_parse p;
	struct client cl;
	const char *val;
	json_t *c;
	int o, rc = 0;

	cli_parse_init(&p, &start_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'a')
			attach = val[0] == 't';
		else if (o == 'i')
			interactive = val[0] == 't';
	}
	if (o < 0)
		return p.rc;
	if (cli_args_min(&start_usage, p.nargs, 1))
		return 1;
	if ((attach || interactive) && p.nargs > 1) {
		fprintf(stderr, "you cannot start and attach multiple containers at once\n");
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	if (attach || interactive) {
		c = ctr_inspect(&cl, p.args[0]);
		if (!c) {
			client_close(&cl);
			return 1;
		}
		rc = attach_run(ctx, &cl, &(struct attach_req){
			.verb = "start", .id = jstr(c, "Id"),
			.in = interactive && jbool(jobj(c, "Config"), "OpenStdin"),
			.out = true, .tty = jbool(jobj(c, "Config"), "Tty"),
			.autoremove = jbool(jobj(c, "HostConfig"), "AutoRemove"),
			.start = true, .sigproxy = true });
		/* start -a reports a refused start with exit 1, as docker */
		json_decref(c);
		client_close(&cl);
		return rc;
	}
	for (int i = 0; i < p.nargs; i++) {
		char *path = ctr_path(&cl, p.args[i], "/start");
		int r;

		if (!path) {
			rc = 1;
			break;
		}
		r = client_call(&cl, "POST", path, NULL, 0, NULL, NULL);
		free(path);
		if (r == CLIENT_OK) {
			printf("%s\n", p.args[i]);
			fflush(stdout);
		} else {
			sbuf_printf(&failed, "%s%s", failed.len ? ", " : "", p.args[i]);
			rc = 1;
			if (r == CLIENT_ECONNECT)
				break;
		}
	}
	if (failed.len)
		fprintf(stderr, "Error: failed to start containers: %s\n", sbuf_str(&failed));
	sbuf_free(&failed);
	client_close(&cl);
	return rc;
}

static const struct cli_opt attach_opts[] = {
	{ OPT_DETACHKEYS, 0, "detach-keys", "string", "Override the key sequence for detaching a container" },
	{ OPT_NOSTDIN, 0, "no-stdin", NULL, "Do not attach STDIN" },
	{ OPT_SIGPROXY, 0, "sig-proxy", NULL, "Proxy all received signals to the process (default true)" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage attach_usage = {
	.path = "attach",
	.args = "[OPTIONS] CONTAINER",
	.desc = "Attach local standard input, output, and error streams to a running container",
	.aliases = "shoal container attach, shoal attach",
	.opts = attach_opts,
};

int cmd_attach(struct cli_ctx *ctx, int argc, char **argv)
{
	bool nostdin = false, sigproxy = true;
	struct cli_parse p;
	struct client cl;
	struct client_resp resp;
	struct shoal_err err;
	const char *val;
	char path[256];
	json_t *c;
	int o, rc;

	cli_parse_init(&p, &attach_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == OPT_NOSTDIN)
			nostdin = val[0] == 't';
		else if (o == OPT_SIGPROXY)
			sigproxy = val[0] == 't';
	}
	if (o < 0)
		return p.rc;
	if (cli_args_exact(&attach_usage, p.nargs, 1))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	c = ctr_inspect(&cl, p.args[0]);
	if (!c) {
		client_close(&cl);
		return 1;
	}
	if (!jbool(jobj(c, "State"), "Running")) {
		fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
		json_decref(c);
		client_close(&cl);
		return 1;
	}
	rc = attach_run(ctx, &cl, &(struct attach_req){
		.verb = "attach", .id = jstr(c, "Id"),
		.in = !nostdin && jbool(jobj(c, "Config"), "OpenStdin"), .out = true,
		.tty = jbool(jobj(c, "Config"), "Tty"), .start = false,
		.sigproxy = sigproxy });
	/* The exit status, once the stream ended (docker attach does the same). */
	snprintf(path, sizeof(path), "/containers/%s/wait", jstr(c, "Id"));
	if (!rc && client_do(&cl, "POST", path, NULL, &resp, &err) == 0) {
		if (resp.status >= 200 && resp.status <= 299)
			rc = (int)jint(resp.json, "StatusCode");
		client_resp_free(&resp);
	}
	json_decref(c);
	client_close(&cl);
	return rc;
}

/* ---- exec --------------------------------------------------------------- */

static const struct cli_opt exec_opts[] = {
	{ 'd', 'd', "detach", NULL, "Detached mode: run command in the background" },
	{ OPT_DETACHKEYS, 0, "detach-keys", "string", "Override the key sequence for detaching a container" },
	{ 'e', 'e', "env", "list", "Set environment variables" },
	{ OPT_ENVFILE, 0, "env-file", "list", "Read in a file of environment variables" },
	{ 'i', 'i', "interactive", NULL, "Keep STDIN open even if not attached" },
	{ OPT_PRIV, 0, "privileged", NULL, "Give extended privileges to the command" },
	{ 't', 't', "tty", NULL, "Allocate a pseudo-TTY" },
	{ 'u', 'u', "user", "string", "Username or UID (format: \"<name|uid>[:<group|gid>]\")" },
	{ 'w', 'w', "workdir", "string", "Working directory inside the container" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage exec_usage = {
	.path = "exec",
	.args = "[OPTIONS] CONTAINER COMMAND [ARG...]",
	.desc = "Execute a command in a running container",
	.aliases = "shoal container exec, shoal exec",
	.opts = exec_opts,
	.no_interspersed = true,
};

/* GET /exec/ID/json ExitCode; -1 when it cannot be read. */
static int exec_exit_code(struct client *cl, const char *eid)
{
	struct client_resp resp;
	struct shoal_err err;
	char path[160];
	int code = -1;

	snprintf(path, sizeof(path), "/exec/%s/json", eid);
	/* The exit is recorded just after the stream closes: allow a moment. */
	for (int i = 0; i < 50; i++) {
		if (client_do(cl, "GET", path, NULL, &resp, &err) < 0)
			return -1;
		if (resp.status == 200 && !jbool(resp.json, "Running") &&
		    json_is_integer(json_object_get(resp.json, "ExitCode")))
			code = (int)jint(resp.json, "ExitCode");
		client_resp_free(&resp);
		if (code >= 0)
			return code;
		usleep(20000);
	}
	return -1;
}

int cmd_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	bool detach = false, interactive = false, tty = false, priv = false;
	const char *user = "", *workdir = "", *val;
	json_t *env = json_array(), *cmd = json_array(), *body = NULL, *resp = NULL;
	struct resizer rz;
	struct termios saved;
	struct cli_parse p;
	struct client cl = { 0 };
	struct hijack h;
	char path[256], msg[1024], eid[128];
	bool raw = false;
	long status;
	int o, rc = 1, r;

	if (!env || !cmd)
		goto out;
	cli_parse_init(&p, &exec_usage, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case 'd': detach = val[0] == 't'; break;
		case 'i': interactive = val[0] == 't'; break;
		case 't': tty = val[0] == 't'; break;
		case OPT_PRIV: priv = val[0] == 't'; break;
		case 'u': user = val; break;
		case 'w': workdir = val; break;
		case 'e':
			if (add_env(env, val) < 0) {
				cli_usage_error(&exec_usage, "invalid argument \"%s\" for \"-e, --env\" flag: invalid environment variable: %s",
						val, val);
				goto out;
			}
			break;
		case OPT_ENVFILE:
			if (read_lines(val, env, add_env, msg, sizeof(msg)) < 0) {
				cli_usage_error(&exec_usage, "invalid argument \"%s\" for \"--env-file\" flag: %s",
						val, msg);
				goto out;
			}
			break;
		}
	}
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_min(&exec_usage, p.nargs, 2))
		goto out;
	if (interactive && tty && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "the input device is not a TTY\n");
		goto out;
	}
	for (int i = 1; i < p.nargs; i++)
		json_array_append_new(cmd, json_string(p.args[i]));
	body = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:O, s:s, s:O}", "User",
			 user, "Privileged", priv, "Tty", tty, "AttachStdin",
			 interactive && !detach, "AttachStderr", !detach, "AttachStdout",
			 !detach, "Detach", detach, "Env", env, "WorkingDir", workdir,
			 "Cmd", cmd);
	if (!body || client_open_or_report(&cl, ctx->host))
		goto out;
	{
		char *pth = ctr_path(&cl, p.args[0], "/exec");

		r = pth ? client_call(&cl, "POST", pth, body, 0, &resp, NULL) : CLIENT_ECONNECT;
		free(pth);
		if (r != CLIENT_OK)
			goto out;
	}
	snprintf(eid, sizeof(eid), "%s", jstr(resp, "Id"));
	if (!*eid) {
		fprintf(stderr, "the daemon answered the exec create without an Id\n");
		goto out;
	}
	json_decref(body);
	body = json_pack("{s:b, s:b}", "Detach", detach, "Tty", tty);
	snprintf(path, sizeof(path), "/exec/%s/start", eid);
	if (detach) {
		rc = client_call(&cl, "POST", path, body, 0, NULL, NULL) == CLIENT_OK ? 0 : 1;
		goto out;
	}
	r = hijack_open(&cl, "POST", path, body, &h, &status, msg, sizeof(msg));
	if (r != CLIENT_OK) {
		if (r == CLIENT_EDAEMON) {
			fprintf(stderr, "Error response from daemon: %s\n", msg);
			rc = exec_exit_code(&cl, eid);
			if (rc <= 0) {
				rc = ctr_start_exit_code(msg);
				if (rc == 125)
					rc = 1;
			}
		} else {
			fprintf(stderr, "%s\n", msg);
		}
		goto out;
	}
	rz.cl = &cl;
	snprintf(rz.base, sizeof(rz.base), "/exec/%s", eid);
	if (tty && isatty(STDOUT_FILENO)) {
		resize_now(&rz);
		hijack_watch_winch();
	}
	if (interactive && tty && isatty(STDIN_FILENO))
		raw = term_make_raw(STDIN_FILENO, &saved) == 0;
	r = hijack_pump(&h, interactive ? STDIN_FILENO : -1, tty,
			&(struct hijack_cbs){ .winch = tty ? resize_now : NULL, .arg = &rz });
	if (raw)
		term_restore(STDIN_FILENO, &saved);
	hijack_close(&h);
	if (r < 0 && r != -EPIPE)
		fprintf(stderr, "error while streaming the exec's output: %s\n", strerror(-r));
	rc = exec_exit_code(&cl, eid);
	if (rc < 0) {
		fprintf(stderr, "cannot read the exit code of exec %s\n", eid);
		rc = 1;
	}
out:
	client_close(&cl);
	json_decref(resp);
	json_decref(body);
	json_decref(env);
	json_decref(cmd);
	return rc;
}
