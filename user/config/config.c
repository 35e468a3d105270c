// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - shoald configuration: defaults < daemon.json < flags.
 *
 * One table describes every option: its daemon.json key, its flag, its
 * kind and where it lands in struct shoal_config. The file and the flags
 * both convert their input to a typed value and go through the same
 * validation, so a value accepted in one place is accepted in the other.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "config.h"
#include "../kv/kv.h"
#include "../common/log.h"
#include "../common/names.h"
#include "../common/util.h"

#define DEFAULT_CONFIG_FILE "/etc/shoal/daemon.json"
#define CONFIG_MAX_FILE (1u << 20)

enum opt_kind {
	K_STR,      /* free string, bounded by the field size */
	K_PATH,     /* absolute path */
	K_HOST,     /* unix:///absolute/path */
	K_HOSTS,    /* daemon.json: array of K_HOST, first used */
	K_NODE,     /* node name */
	K_LOGLVL,   /* log_parse_level() */
	K_DRIVER,   /* storage driver name */
	K_STRLIST,  /* storage-opts */
	K_STORE,    /* etcd://... or zk://... (kv.h) */
	K_ADVERT,   /* IP:PORT or IFACE:PORT */
	K_IFNAME,   /* network interface name */
	K_PORT,     /* 1..65535 */
	K_MTU,      /* 0 or 576..65535 */
	K_DURATION, /* Go duration, >= 1 s */
	K_DURMS,    /* Go duration in ms (int64), >= 1 ms */
	K_DURMS0,   /* same, 0 allowed (disables) */
	K_MULT,     /* integer 1..64 */
	K_GMTU,     /* integer 576..65000: largest sealed gossip datagram */
	K_BOOL,
	K_FLOWSZ,   /* integer 1024..16777216 */
	K_RATE,     /* integer 1..1000000 */
	K_EVENTS,   /* none | drop | flow | drop,flow */
	K_ADDR,     /* IPv4:PORT, or "" */
};

struct opt {
	const char *key;  /* daemon.json key, NULL = flag only */
	const char *flag; /* long flag without "--", NULL = file only */
	enum opt_kind kind;
	size_t off;       /* offset in struct shoal_config */
	size_t size;      /* size of the char[] field */
};

#define F(field) offsetof(struct shoal_config, field), sizeof(((struct shoal_config *)0)->field)

static const struct opt opts[] = {
	{ NULL, "config-file", K_PATH, F(config_file) },
	{ "data-root", "data-root", K_PATH, F(data_root) },
	{ "exec-root", "exec-root", K_PATH, F(exec_root) },
	{ "hosts", NULL, K_HOSTS, F(host) },
	{ NULL, "host", K_HOST, F(host) },
	{ "bpffs-root", "bpffs-root", K_PATH, F(bpffs_root) },
	{ "node-name", "node-name", K_NODE, F(node_name) },
	{ "log-level", "log-level", K_LOGLVL, F(log_level) },
	{ "storage-driver", "storage-driver", K_DRIVER, F(storage_driver) },
	{ "storage-opts", "storage-opt", K_STRLIST, F(storage_opts) },
	{ "cluster-store", "cluster-store", K_STORE, F(cluster_store) },
	{ "cluster-advertise", "cluster-advertise", K_ADVERT, F(cluster_advertise) },
	{ "cluster-store-ttl", "cluster-store-ttl", K_DURATION, F(cluster_store_ttl_s) },
	{ "gossip-port", "gossip-port", K_PORT, F(gossip_port) },
	{ "key-rotation-interval", "key-rotation-interval", K_DURATION, F(key_rotation_interval_s) },
	{ "mtu", "mtu", K_MTU, F(mtu) },
	{ "underlay-interface", "underlay-interface", K_IFNAME, F(underlay_interface) },
	{ "advertise-addr", "advertise-addr", K_STR, F(advertise_addr) },
	{ "vxlan-port", "vxlan-port", K_PORT, F(vxlan_port) },
	{ "accounting", "accounting", K_BOOL, F(accounting) },
	{ "shim-path", "shim-path", K_PATH, F(shim_path) },
	{ "ip-masq", "ip-masq", K_BOOL, F(ip_masq) },
	{ "publish-interfaces", "publish-interfaces", K_STR, F(publish_interfaces) },
	{ "gossip-probe-interval", "gossip-probe-interval", K_DURMS, F(gossip_probe_interval_ms) },
	{ "gossip-probe-timeout", "gossip-probe-timeout", K_DURMS, F(gossip_probe_timeout_ms) },
	{ "gossip-interval", "gossip-interval", K_DURMS, F(gossip_interval_ms) },
	{ "gossip-suspicion-mult", "gossip-suspicion-mult", K_MULT, F(gossip_suspicion_mult) },
	{ "gossip-push-pull-interval", "gossip-push-pull-interval", K_DURMS0,
	  F(gossip_push_pull_interval_ms) },
	{ "gossip-mtu", "gossip-mtu", K_GMTU, F(gossip_mtu) },
	{ "flow-accounting", "flow-accounting", K_BOOL, F(flow_accounting) },
	{ "flow-table-size", "flow-table-size", K_FLOWSZ, F(flow_table_size) },
	{ "events", "events", K_EVENTS, F(events) },
	{ "event-rate-limit", "event-rate-limit", K_RATE, F(event_rate_limit) },
	{ "metrics-addr", "metrics-addr", K_ADDR, F(metrics_addr) },
};

unsigned int config_event_flags(const char *events)
{
	unsigned int f = 0;
	char buf[32], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", events ? events : "");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "drop") == 0)
			f |= SHOAL_CFG_EV_DROP;
		else if (strcmp(tok, "flow") == 0)
			f |= SHOAL_CFG_EV_FLOW;
	}
	return f;
}

static bool events_ok(const char *v)
{
	char buf[32], *save = NULL, *tok;

	if (strcmp(v, "none") == 0)
		return true;
	if (!*v || strlen(v) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "drop") && strcmp(tok, "flow"))
			return false;
	return v[strlen(v) - 1] != ',' && v[0] != ',' && !strstr(v, ",,");
}

static bool addr_ok(const char *v)
{
	char ip[32];
	const char *colon = strrchr(v, ':');
	struct in_addr a;
	char *end;
	long port;

	if (!colon || (size_t)(colon - v) >= sizeof(ip))
		return false;
	memcpy(ip, v, (size_t)(colon - v));
	ip[colon - v] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return colon[1] && !*end && !errno && port >= 1 && port <= 65535;
}

/* Where a value came from, for messages. */
struct origin {
	const char *file; /* daemon.json path, or NULL for a flag */
};

static int bad_value(struct shoal_err *err, const struct opt *o, const struct origin *from,
		     const char *raw, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int bad_value(struct shoal_err *err, const struct opt *o, const struct origin *from,
		     const char *raw, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (from->file)
		return err_set(err, EINVAL, "invalid value for \"%s\" in %s: %s", o->key,
			       from->file, why);
	return err_set(err, EINVAL, "invalid value \"%s\" for flag --%s: %s", raw ? raw : "",
		       o->flag, why);
}

static char *field_str(struct shoal_config *c, const struct opt *o)
{
	return (char *)c + o->off;
}

static int set_string(struct shoal_config *c, const struct opt *o, const struct origin *from,
		      const char *v, struct shoal_err *err)
{
	if (strlen(v) >= o->size)
		return bad_value(err, o, from, v, "too long (at most %zu characters)", o->size - 1);
	memcpy(field_str(c, o), v, strlen(v) + 1);
	return 0;
}

static bool is_abs_path(const char *v)
{
	return v[0] == '/';
}

static int check_host(const struct opt *o, const struct origin *from, const char *v,
		      struct shoal_err *err)
{
	if (strncmp(v, "unix://", 7) != 0)
		return bad_value(err, o, from, v,
				 "only unix sockets are supported (unix:///path/to/socket)");
	if (!is_abs_path(v + 7))
		return bad_value(err, o, from, v, "socket path must be absolute");
	return 0;
}

/* Validate and store one string-typed value. */
static int apply_string(struct shoal_config *c, const struct opt *o, const struct origin *from,
			const char *v, struct shoal_err *err)
{
	enum log_level lvl;
	int ret;

	switch (o->kind) {
	case K_PATH:
		if (!is_abs_path(v))
			return bad_value(err, o, from, v, "must be an absolute path");
		break;
	case K_HOST:
	case K_HOSTS:
		ret = check_host(o, from, v, err);
		if (ret)
			return ret;
		break;
	case K_NODE:
		if (v[0] == '\0' || strlen(v) > 63)
			return bad_value(err, o, from, v, "must be 1 to 63 characters");
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
				return bad_value(err, o, from, v,
						 "may contain only [A-Za-z0-9_.-]");
		break;
	case K_LOGLVL:
		if (log_parse_level(v, &lvl) < 0)
			return bad_value(err, o, from, v,
					 "unknown log level (debug, info, warn, error, fatal)");
		break;
	case K_DRIVER:
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
				return bad_value(err, o, from, v, "not a storage driver name");
		break;
	case K_STORE:
		if (v[0]) {
			struct kv_url u;
			struct shoal_err e2 = { 0 };

			if (kv_url_parse(v, &u, &e2) < 0)
				return bad_value(err, o, from, v, "%s", e2.msg);
		}
		break;
	case K_ADVERT: {
		const char *colon = strrchr(v, ':');
		char *end = NULL;
		long port = colon ? strtol(colon + 1, &end, 10) : 0;

		if (v[0] && (!colon || colon == v || !end || *end || colon[1] == '\0' || port < 1 ||
			     port > 65535))
			return bad_value(err, o, from, v, "expected IP:PORT or IFACE:PORT");
		break;
	}
	case K_EVENTS:
		if (!events_ok(v))
			return bad_value(err, o, from, v,
					 "expected \"none\", \"drop\", \"flow\" or \"drop,flow\"");
		break;
	case K_ADDR:
		if (*v && !addr_ok(v))
			return bad_value(err, o, from, v,
					 "expected IPv4:PORT such as \"127.0.0.1:9323\"");
		break;
	case K_IFNAME:
		if (strlen(v) > 15 || strchr(v, '/') || strpbrk(v, " \t\n"))
			return bad_value(err, o, from, v, "not a valid interface name");
		break;
	default:
		break;
	}
	return set_string(c, o, from, v, err);
}

static int apply_int(struct shoal_config *c, const struct opt *o, const struct origin *from,
		     const char *raw, long long v, struct shoal_err *err)
{
	int *field = (int *)((char *)c + o->off);

	if (o->kind == K_PORT && (v < 1 || v > 65535))
		return bad_value(err, o, from, raw, "must be between 1 and 65535");
	if (o->kind == K_MTU && v != 0 && (v < 576 || v > 65535))
		return bad_value(err, o, from, raw, "must be 0 or between 576 and 65535");
	if (o->kind == K_MULT && (v < 1 || v > 64))
		return bad_value(err, o, from, raw, "must be between 1 and 64");
	if (o->kind == K_GMTU && (v < 576 || v > 65000))
		return bad_value(err, o, from, raw, "must be between 576 and 65000");
	if (o->kind == K_FLOWSZ && (v < 1024 || v > 16777216))
		return bad_value(err, o, from, raw, "must be between 1024 and 16777216");
	if (o->kind == K_RATE && (v < 1 || v > 1000000))
		return bad_value(err, o, from, raw, "must be between 1 and 1000000");
	*field = (int)v;
	return 0;
}

static int apply_duration(struct shoal_config *c, const struct opt *o, const struct origin *from,
			  const char *v, struct shoal_err *err)
{
	int64_t secs;

	if (config_parse_duration(v, &secs) < 0)
		return bad_value(err, o, from, v, "not a duration (e.g. \"12h\", \"90m\", \"3600s\")");
	if (secs < 1)
		return bad_value(err, o, from, v, "must be at least 1s");
	if (o->off == offsetof(struct shoal_config, cluster_store_ttl_s) && (secs < 2 || secs > 3600))
		return bad_value(err, o, from, v, "must be between 2s and 1h");
	*(int64_t *)((char *)c + o->off) = secs;
	return 0;
}

static int apply_duration_ms(struct shoal_config *c, const struct opt *o,
			     const struct origin *from, const char *v, struct shoal_err *err)
{
	int64_t ms;

	if (config_parse_duration_ms(v, &ms) < 0)
		return bad_value(err, o, from, v, "not a duration (e.g. \"100ms\", \"1s\", \"30s\")");
	if (o->kind == K_DURMS && ms < 1)
		return bad_value(err, o, from, v, "must be at least 1ms");
	if (ms > 24 * 3600 * 1000LL)
		return bad_value(err, o, from, v, "must be at most 24h");
	*(int64_t *)((char *)c + o->off) = ms;
	return 0;
}

static const char *json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static int wrong_type(struct shoal_err *err, const struct opt *o, const struct origin *from,
		      const char *expected, const json_t *got)
{
	return err_set(err, EINVAL, "invalid value for \"%s\" in %s: expected %s, got %s", o->key,
		       from->file, expected, json_type_name(got));
}

static int apply_json(struct shoal_config *c, const struct opt *o, const struct origin *from,
		      json_t *v, struct shoal_err *err)
{
	char raw[32];
	size_t i;
	json_t *e;
	int ret;

	switch (o->kind) {
	case K_PORT:
	case K_MTU:
	case K_MULT:
	case K_GMTU:
	case K_FLOWSZ:
	case K_RATE:
		if (!json_is_integer(v))
			return wrong_type(err, o, from, "integer", v);
		snprintf(raw, sizeof(raw), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return apply_int(c, o, from, raw, json_integer_value(v), err);
	case K_BOOL:
		if (!json_is_boolean(v))
			return wrong_type(err, o, from, "boolean", v);
		*(bool *)((char *)c + o->off) = json_is_true(v);
		return 0;
	case K_DURATION:
		if (!json_is_string(v))
			return wrong_type(err, o, from, "duration string such as \"12h\"", v);
		return apply_duration(c, o, from, json_string_value(v), err);
	case K_DURMS:
	case K_DURMS0:
		if (!json_is_string(v))
			return wrong_type(err, o, from, "duration string such as \"100ms\"", v);
		return apply_duration_ms(c, o, from, json_string_value(v), err);
	case K_HOSTS:
		if (!json_is_array(v))
			return wrong_type(err, o, from, "array of strings", v);
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return wrong_type(err, o, from, "array of strings", e);
			ret = check_host(o, from, json_string_value(e), err);
			if (ret)
				return ret;
		}
		if (json_array_size(v) == 0)
			return 0;
		return apply_string(c, o, from, json_string_value(json_array_get(v, 0)), err);
	case K_STRLIST:
		if (!json_is_array(v))
			return wrong_type(err, o, from, "array of strings", v);
		if (json_array_size(v) > ARRAY_SIZE(c->storage_opts))
			return bad_value(err, o, from, NULL, "at most %zu entries",
					 ARRAY_SIZE(c->storage_opts));
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return wrong_type(err, o, from, "array of strings", e);
			if (strlen(json_string_value(e)) >= sizeof(c->storage_opts[0]))
				return bad_value(err, o, from, NULL,
						 "entry %zu too long (at most %zu characters)", i,
						 sizeof(c->storage_opts[0]) - 1);
		}
		json_array_foreach(v, i, e)
			snprintf(c->storage_opts[i], sizeof(c->storage_opts[i]), "%s",
				 json_string_value(e));
		c->n_storage_opts = (int)json_array_size(v);
		return 0;
	default:
		if (!json_is_string(v))
			return wrong_type(err, o, from, "string", v);
		return apply_string(c, o, from, json_string_value(v), err);
	}
}

void config_defaults(struct shoal_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->config_file, sizeof(c->config_file), "%s", DEFAULT_CONFIG_FILE);
	snprintf(c->data_root, sizeof(c->data_root), "/var/lib/shoal");
	snprintf(c->exec_root, sizeof(c->exec_root), "/run/shoal");
	snprintf(c->host, sizeof(c->host), "unix:///run/shoal/shoal.sock");
	snprintf(c->bpffs_root, sizeof(c->bpffs_root), "/sys/fs/bpf");
	if (gethostname(c->node_name, sizeof(c->node_name) - 1) < 0 || !c->node_name[0])
		snprintf(c->node_name, sizeof(c->node_name), "localhost");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->gossip_port = 7946;
	c->cluster_store_ttl_s = 15;
	c->key_rotation_interval_s = 12 * 3600;
	c->mtu = 0;
	c->vxlan_port = SHOAL_VXLAN_PORT;
	c->accounting = true;
	c->ip_masq = true;
	c->gossip_probe_interval_ms = 1000;
	c->gossip_probe_timeout_ms = 500;
	c->gossip_interval_ms = 200;
	c->gossip_suspicion_mult = 4;
	c->gossip_push_pull_interval_ms = 30000;
	c->gossip_mtu = 1400;
	c->flow_accounting = true;
	c->flow_table_size = SHOAL_FLOWS_DEFAULT;
	snprintf(c->events, sizeof(c->events), "drop");
	c->event_rate_limit = SHOAL_EVENT_RATE_DEFAULT;
}

static const struct opt *opt_by_key(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].key && strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

static const struct opt *opt_by_flag(const char *flag)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].flag && strcmp(opts[i].flag, flag) == 0)
			return &opts[i];
	return NULL;
}

/* Apply a parsed daemon.json to c, all or nothing. */
static int apply_root(struct shoal_config *c, json_t *root, const char *name,
		      struct shoal_err *err)
{
	struct origin from = { .file = name };
	struct shoal_config *tmp;
	const char *key;
	json_t *v;
	int ret = 0;

	if (!json_is_object(root))
		return err_set(err, EINVAL, "invalid configuration in %s: expected a JSON object",
			       name);
	tmp = malloc(sizeof(*tmp));
	if (!tmp)
		return err_set(err, ENOMEM, "out of memory");
	*tmp = *c;
	json_object_foreach(root, key, v) {
		const struct opt *o = opt_by_key(key);

		if (!o) {
			ret = err_set(err, EINVAL, "unknown key \"%s\" in %s", key, name);
			break;
		}
		ret = apply_json(tmp, o, &from, v, err);
		if (ret)
			break;
	}
	if (!ret)
		*c = *tmp;
	free(tmp);
	return ret;
}

int config_load_string(struct shoal_config *c, const char *json, struct shoal_err *err)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, EINVAL, "invalid JSON in daemon.json: line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
	ret = apply_root(c, root, "daemon.json", err);
	json_decref(root);
	return ret;
}

int config_load_file(struct shoal_config *c, const char *path, bool missing_ok,
		     struct shoal_err *err)
{
	_cleanup_free_ char *buf = NULL;
	const char *text;
	json_error_t jerr;
	size_t len = 0, cap = 0, n;
	json_t *root;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return err_set(err, errno, "open configuration file %s: %s", path, strerror(errno));
	}
	do {
		if (len == cap) {
			char *nb;

			cap = cap ? cap * 2 : 4096;
			if (cap > CONFIG_MAX_FILE || !(nb = realloc(buf, cap + 1))) {
				fclose(f);
				return err_set(err, EFBIG, "configuration file %s is too large", path);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fclose(f);
		return err_set(err, EIO, "read configuration file %s: %s", path, strerror(errno));
	}
	fclose(f);
	buf[len] = '\0';
	/* As Docker does: skip a UTF-8 byte order mark, and treat a file
	 * with nothing but white space as an empty configuration. */
	text = buf;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if (strspn(text, " \t\r\n") == len)
		return 0;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, EINVAL, "invalid JSON in %s: line %d column %d: %s", path,
			       jerr.line, jerr.column, jerr.text);
	ret = apply_root(c, root, path, err);
	json_decref(root);
	return ret;
}

/* Apply one flag value (a string) through the same checks as the file. */
static int apply_flag(struct shoal_config *c, const struct opt *o, const char *v, bool *opts_reset,
		      struct shoal_err *err)
{
	struct origin from = { .file = NULL };
	long long n;
	char *end;

	switch (o->kind) {
	case K_PORT:
	case K_MTU:
	case K_MULT:
	case K_GMTU:
	case K_FLOWSZ:
	case K_RATE:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (!*v || *end || errno || !(isdigit((unsigned char)v[0]) || v[0] == '-'))
			return bad_value(err, o, &from, v, "expected integer");
		return apply_int(c, o, &from, v, n, err);
	case K_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(bool *)((char *)c + o->off) = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(bool *)((char *)c + o->off) = false;
		else
			return bad_value(err, o, &from, v, "expected true or false");
		return 0;
	case K_DURATION:
		return apply_duration(c, o, &from, v, err);
	case K_DURMS:
	case K_DURMS0:
		return apply_duration_ms(c, o, &from, v, err);
	case K_STRLIST:
		/* Flags replace the file's list; repeated flags append. */
		if (!*opts_reset) {
			c->n_storage_opts = 0;
			*opts_reset = true;
		}
		if (c->n_storage_opts >= (int)ARRAY_SIZE(c->storage_opts))
			return bad_value(err, o, &from, v, "at most %zu storage options",
					 ARRAY_SIZE(c->storage_opts));
		if (strlen(v) >= sizeof(c->storage_opts[0]))
			return bad_value(err, o, &from, v, "too long (at most %zu characters)",
					 sizeof(c->storage_opts[0]) - 1);
		snprintf(c->storage_opts[c->n_storage_opts], sizeof(c->storage_opts[0]), "%s", v);
		c->n_storage_opts++;
		return 0;
	default:
		return apply_string(c, o, &from, v, err);
	}
}

static void usage(FILE *out)
{
	fputs("Usage: shoald [OPTIONS]\n"
	      "\n"
	      "A container host engine with an eBPF data plane.\n"
	      "\n"
	      "Options:\n"
	      "      --config-file string            Daemon configuration file (default \"/etc/shoal/daemon.json\")\n"
	      "      --data-root string              Root directory of persistent state (default \"/var/lib/shoal\")\n"
	      "      --exec-root string              Root directory for execution state files (default \"/run/shoal\")\n"
	      "  -H, --host string                   Daemon socket to listen on (default \"unix:///run/shoal/shoal.sock\")\n"
	      "      --bpffs-root string             bpffs mount where maps are pinned (default \"/sys/fs/bpf\")\n"
	      "      --node-name string              Name of this node (default: the hostname)\n"
	      "  -l, --log-level string              Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")\n"
	      "  -D, --debug                         Enable debug mode (same as --log-level=debug)\n"
	      "      --storage-driver string         Storage driver to use\n"
	      "      --storage-opt list              Storage driver options (repeatable)\n"
	      "      --cluster-store string          URL of the distributed storage backend (etcd://, zk://)\n"
	      "      --cluster-advertise string      Address or interface name to advertise\n"
	      "      --cluster-store-ttl string      Node lease TTL in the cluster store (default \"15s\")\n"
	      "      --gossip-port int               Gossip port (default 7946)\n"
	      "      --key-rotation-interval string  Gossip key rotation interval (default \"12h\")\n"
	      "      --mtu int                       Container network MTU (default: underlay MTU - 50)\n"
	      "      --underlay-interface string     Interface carrying VXLAN traffic\n"
	      "      --advertise-addr string         Address advertised to other nodes\n"
	      "      --vxlan-port int                VXLAN UDP port (default 4789)\n"
	      "      --accounting[=true|false]       Per-container traffic accounting (default true)\n"
	      "      --shim-path string              shoal-shim binary (default: $SHOAL_SHIM, else next to shoald)\n"
	      "      --ip-masq[=true|false]          Masquerade containers' outbound traffic (default true)\n"
	      "      --publish-interfaces string     Comma-separated interfaces published ports listen on\n"
	      "                                      (default: every interface with an IPv4 address)\n"
	      "      --gossip-probe-interval string  Gossip probe interval (default \"1s\")\n"
	      "      --gossip-probe-timeout string   Gossip probe timeout (default \"500ms\")\n"
	      "      --gossip-interval string        Gossip round interval (default \"200ms\")\n"
	      "      --gossip-suspicion-mult int     Gossip suspicion multiplier (default 4)\n"
	      "      --gossip-push-pull-interval string  Gossip full-sync interval (default \"30s\")\n"
	      "      --gossip-mtu int                Largest gossip UDP payload (default 1400)\n"
	      "      --flow-accounting[=true|false]  Per-flow accounting in the flows map (default true)\n"
	      "      --flow-table-size int           Flow table entries, LRU (default 65536)\n"
	      "      --events string                 Events for shoal monitor: none, drop, flow, drop,flow (default \"drop\")\n"
	      "      --event-rate-limit int          Events per CPU per second (default 1000)\n"
	      "      --metrics-addr string           Prometheus /metrics TCP listener, IP:PORT (default: none)\n"
	      "  -h, --help                          Print usage\n"
	      "  -v, --version                       Print version information and quit\n",
	      out);
}

struct flag_val {
	const struct opt *o;
	const char *v;
};

int config_parse(struct shoal_config *c, int argc, char **argv, struct shoal_err *err)
{
	static const struct opt debug_opt = { "log-level", "log-level", K_LOGLVL, F(log_level) };
	_cleanup_free_ struct flag_val *vals = NULL;
	_cleanup_free_ struct shoal_config *tmp = NULL;
	const char *config_file = NULL;
	bool opts_reset = false;
	size_t n = 0;
	int ret;

	vals = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*vals));
	tmp = malloc(sizeof(*tmp));
	if (!vals || !tmp)
		return err_set(err, ENOMEM, "out of memory");

	/* Pass 1: syntax only, so --config-file can be anywhere. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *v = NULL;
		char lname[64];
		const struct opt *o;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
			printf("shoald version %s\n", SHOAL_VERSION);
			return 1;
		}
		if (strcmp(a, "-D") == 0 || strcmp(a, "--debug") == 0) {
			vals[n++] = (struct flag_val){ &debug_opt, "debug" };
			continue;
		}
		if (a[0] == '-' && (a[1] == 'H' || a[1] == 'l')) {
			/* -H value, -Hvalue, -H=value */
			o = opt_by_flag(a[1] == 'H' ? "host" : "log-level");
			if (a[2] == '=')
				v = a + 3;
			else if (a[2])
				v = a + 2;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				return err_set(err, EINVAL, "flag needs an argument: -%c", a[1]);
			vals[n++] = (struct flag_val){ o, v };
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (a[0] == '-')
				return err_set(err, EINVAL, "unknown shorthand flag: %s", a);
			return err_set(err, EINVAL, "unexpected argument: %s", a);
		}
		name = a + 2;
		eq = strchr(name, '=');
		if (eq) {
			size_t len = (size_t)(eq - name);

			if (len >= sizeof(lname))
				return err_set(err, EINVAL, "unknown flag: %s", a);
			memcpy(lname, name, len);
			lname[len] = '\0';
			name = lname;
			v = eq + 1;
		}
		o = opt_by_flag(name);
		if (!o)
			return err_set(err, EINVAL, "unknown flag: --%s", name);
		if (!v) {
			if (o->kind == K_BOOL) {
				/* Bare --accounting means true; also take an
				 * explicit true/false as the next word. */
				v = "true";
				if (i + 1 < argc && (strcmp(argv[i + 1], "true") == 0 ||
						     strcmp(argv[i + 1], "false") == 0))
					v = argv[++i];
			} else if (i + 1 < argc) {
				v = argv[++i];
			} else {
				return err_set(err, EINVAL, "flag needs an argument: --%s", name);
			}
		}
		if (strcmp(o->flag, "config-file") == 0)
			config_file = v;
		vals[n++] = (struct flag_val){ o, v };
	}

	config_defaults(tmp);
	if (config_file) {
		if (config_file[0] == '\0')
			return err_set(err, EINVAL, "invalid value \"\" for flag --config-file");
		if (strlen(config_file) >= sizeof(tmp->config_file))
			return err_set(err, ENAMETOOLONG, "configuration file name too long");
		snprintf(tmp->config_file, sizeof(tmp->config_file), "%s", config_file);
	}
	/* An explicit --config-file must exist; the default one may not. */
	ret = config_load_file(tmp, tmp->config_file, config_file == NULL, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (vals[i].o->off == offsetof(struct shoal_config, config_file))
			continue; /* already used; relative paths were read as given */
		ret = apply_flag(tmp, vals[i].o, vals[i].v, &opts_reset, err);
		if (ret)
			return ret;
	}
	*c = *tmp;
	return 0;
}

/*
 * Go's time.ParseDuration grammar ("1h30m", "1.5h", "500ms"), plus a bare
 * integer meaning seconds. Sub-second totals round up to whole seconds.
 */
static int parse_duration_ns(const char *s, uint64_t *ns, bool *bare)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "ns", 1ull }, { "us", 1000ull }, { "\xc2\xb5s", 1000ull }, /* U+00B5 µs */
		{ "\xce\xbcs", 1000ull }, /* U+03BC μs */
		{ "ms", 1000000ull }, { "s", 1000000000ull }, { "m", 60000000000ull },
		{ "h", 3600000000000ull },
	};
	const uint64_t max_ns = (uint64_t)INT64_MAX;
	unsigned __int128 total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || *end)
			return -EINVAL;
		*ns = (uint64_t)v;
		*bare = true;
		return 0;
	}
	while (*p) {
		unsigned __int128 ip = 0, frac = 0, scale = 1;
		bool digits = false;
		size_t ulen = 0, best = 0;
		uint64_t unit = 0;

		for (; isdigit((unsigned char)*p); p++) {
			ip = ip * 10 + (unsigned)(*p - '0');
			if (ip > max_ns)
				return -EINVAL;
			digits = true;
		}
		if (*p == '.') {
			p++;
			for (; isdigit((unsigned char)*p); p++) {
				digits = true;
				if (scale < 1000000000000000000ull) {
					frac = frac * 10 + (unsigned)(*p - '0');
					scale *= 10;
				}
			}
		}
		if (!digits)
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			ulen = strlen(units[i].u);
			/* Longest match: "ms" before "m". */
			if (strncmp(p, units[i].u, ulen) == 0 && ulen > best) {
				best = ulen;
				unit = units[i].ns;
			}
		}
		if (!unit)
			return -EINVAL;
		p += best;
		total += ip * unit + (frac * unit + scale - 1) / scale;
		if (total > max_ns)
			return -EINVAL;
	}
	*ns = (uint64_t)total;
	*bare = false;
	return 0;
}

int config_parse_duration(const char *s, int64_t *secs)
{
	uint64_t ns;
	bool bare;
	int ret = parse_duration_ns(s, &ns, &bare);

	if (ret < 0)
		return ret;
	*secs = bare ? (int64_t)ns : (int64_t)((ns + 999999999u) / 1000000000u);
	return 0;
}

/* Same grammar; a bare integer means milliseconds here. */
int config_parse_duration_ms(const char *s, int64_t *ms)
{
	uint64_t ns;
	bool bare;
	int ret = parse_duration_ns(s, &ns, &bare);

	if (ret < 0)
		return ret;
	*ms = bare ? (int64_t)ns : (int64_t)((ns + 999999u) / 1000000u);
	return 0;
}
