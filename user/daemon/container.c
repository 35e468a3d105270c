// SPDX-License-Identifier: Apache-2.0
/*
 * container.c - containers: create (image config merged like Docker's,
 * a writable layer, the files under <data-root>/containers/<id>),
 * remove, rename, inspect and list in Docker Engine API v1.41 shapes,
 * names (unique, Docker's grammar, generated adjective_surname), and
 * references (full id, name, unique id prefix).
 *
 * Create checks everything it is given before it makes anything: a bad
 * name, env entry, port, network or image leaves no row, layer or
 * directory behind.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../archive/fsutil.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../image/image.h"
#include "../storage/storage.h"
#include "container.h"
#include "daemon.h"
#include "mounts.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- runtime records, times, paths ------------------------------------------ */

struct ctr_rt *ctr_rt_get(struct daemon *d, const char *id)
{
	struct ctr_mgr *m = d->ctr;
	struct ctr_rt *r;

	for (r = m->rts; r; r = r->next)
		if (strcmp(r->id, id) == 0)
			return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->next = m->rts;
	m->rts = r;
	return r;
}

void ctr_rt_forget(struct daemon *d, const char *id)
{
	struct ctr_rt **pp = &d->ctr->rts, *r;

	while ((r = *pp)) {
		if (strcmp(r->id, id) == 0 && !r->monitored) {
			*pp = r->next;
			free(r);
			return;
		}
		pp = &r->next;
	}
}

void ctr_changed(struct daemon *d)
{
	d->ctr->gen++;
	pthread_cond_broadcast(&d->ctr->changed);
}

int64_t ctr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void ctr_time_str(int64_t ns, char buf[40])
{
	time_t secs = (time_t)(ns / 1000000000LL);
	struct tm tm;
	char base[32];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 40, "%.19s.%09uZ", base, (unsigned)((uint64_t)ns % 1000000000ULL));
}

const char *ctr_time_or_zero(const char *s)
{
	return s && *s ? s : "0001-01-01T00:00:00Z";
}

void ctr_data_dir(struct daemon *d, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/containers/%s", d->cfg.data_root, id);
}

void ctr_bundle_dir(struct daemon *d, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/containers/%s", d->cfg.exec_root, id);
}

void ctr_netns_path(struct daemon *d, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/netns/%.12s", d->cfg.exec_root, id);
}

void ctr_log_path(struct daemon *d, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/containers/%s/%s-json.log", d->cfg.data_root, id, id);
}

/* ---- names ------------------------------------------------------------------ */

static const char *const adjectives[] = {
	"admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome",
	"beautiful", "blissful", "bold", "brave", "busy", "charming", "clever", "compassionate",
	"competent", "confident", "cool", "dazzling", "determined", "distracted", "dreamy",
	"eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting",
	"fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant",
	"gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful",
	"hungry", "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial",
	"keen", "kind", "laughing", "loving", "lucid", "magical", "modest", "musing",
	"mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective",
	"optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky",
	"quizzical", "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp",
	"silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender",
	"thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous",
	"wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
};

static const char *const surnames[] = {
	"agnesi", "albattani", "allen", "archimedes", "ardinghelli", "babbage", "banach",
	"bardeen", "bartik", "bassi", "bell", "benz", "bhabha", "blackwell", "bohr", "booth",
	"borg", "bose", "brahmagupta", "brattain", "brown", "carson", "cerf", "chandrasekhar",
	"chaplygin", "clarke", "cohen", "curie", "darwin", "davinci", "dijkstra", "dirac",
	"driscoll", "dubinsky", "easley", "einstein", "elion", "engelbart", "euclid", "euler",
	"faraday", "fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goldberg",
	"goodall", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin", "hofstadter",
	"hopper", "hypatia", "jackson", "jang", "jennings", "johnson", "kalam", "kepler",
	"khorana", "knuth", "lalande", "lamarr", "lamport", "leakey", "leavitt", "lovelace",
	"lumiere", "mayer", "mccarthy", "mcclintock", "meitner", "mendel", "minsky", "morse",
	"murdock", "napier", "newton", "nobel", "noether", "pare", "pascal", "pasteur",
	"payne", "perlman", "pike", "poincare", "ptolemy", "raman", "ramanujan", "ride",
	"ritchie", "robinson", "roentgen", "rubin", "sammet", "shannon", "shaw", "shockley",
	"sinoussi", "snyder", "spence", "stonebraker", "swanson", "tesla", "thompson",
	"torvalds", "turing", "varahamihira", "visvesvaraya", "volhard", "wescoff", "wiles",
	"williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
};

static void random_name(char *buf, size_t len, int retry)
{
	uint32_t r[2] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, r, sizeof(r)) != sizeof(r))
			r[0] = (uint32_t)time(NULL), r[1] = (uint32_t)getpid();
		close(fd);
	}
	const char *a = adjectives[r[0] % ARRAY_SIZE(adjectives)];
	const char *s = surnames[r[1] % ARRAY_SIZE(surnames)];
	/* Docker's one exception: Steve Wozniak is not boring. */
	if (strcmp(a, "boring") == 0 && strcmp(s, "wozniak") == 0)
		s = "turing";
	if (retry)
		snprintf(buf, len, "%s_%s%d", a, s, (int)(r[0] % 10));
	else
		snprintf(buf, len, "%s_%s", a, s);
}

/* Docker's grammar: /?[a-zA-Z0-9][a-zA-Z0-9_.-]+ ; buf gets it without '/'. */
static int check_name(const char *name, char *buf, size_t len, struct shoal_err *err)
{
	const char *n = name[0] == '/' ? name + 1 : name;
	size_t l = strlen(n);

	if (l < 2 || l >= len || !isalnum((unsigned char)n[0]))
		goto bad;
	for (size_t i = 1; i < l; i++) {
		unsigned char c = (unsigned char)n[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			goto bad;
	}
	memcpy(buf, n, l + 1);
	return 0;
bad:
	return err_set(err, EINVAL, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		       name);
}

static int name_conflict(struct daemon *d, const char *name, struct shoal_err *err)
{
	struct st_container o;

	if (st_container_by_name(d->ctr->sc, name, &o, NULL) < 0)
		return 0;
	err_set(err, EEXIST,
		"Conflict. The container name \"/%s\" is already in use by container \"%s\". "
		"You have to remove (or rename) that container to be able to reuse that name.",
		name, o.id);
	st_container_free(&o);
	return -EEXIST;
}

/* ---- config merging ---------------------------------------------------------- */

/* Cmd / Entrypoint: an array of strings, a string, or null. */
static int strslice(json_t *v, const char *what, json_t **out, struct shoal_err *err)
{
	size_t i;
	json_t *e;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = json_pack("[O]", v);
		return 0;
	}
	if (!json_is_array(v))
		return err_set(err, EINVAL, "%s must be an array of strings", what);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return err_set(err, EINVAL, "%s must be an array of strings", what);
	*out = json_incref(v);
	return 0;
}

static size_t env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Docker's ReplaceOrAppendEnvValues: later values replace same keys. */
static void env_set(json_t *env, const char *kv)
{
	size_t kl = env_key_len(kv), i;
	json_t *e;

	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (env_key_len(s) == kl && strncmp(s, kv, kl) == 0) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static int check_env(json_t *env, struct shoal_err *err)
{
	size_t i;
	json_t *e;

	if (!env || json_is_null(env))
		return 0;
	if (!json_is_array(env))
		return err_set(err, EINVAL, "Env must be an array of strings");
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (!s)
			return err_set(err, EINVAL, "Env must be an array of strings");
		if (s[0] == '=' || s[0] == '\0')
			return err_set(err, EINVAL, "invalid environment variable: %s", s);
	}
	return 0;
}

/* Docker's merge: the container's Env, then each image variable it does
 * not set; PATH added when neither has one. */
static json_t *merge_env(json_t *img_env, json_t *env)
{
	json_t *out = json_array(), *e;
	bool has_path = false;
	size_t i;

	if (json_is_array(env))
		json_array_foreach(env, i, e)
			env_set(out, json_string_value(e));
	json_array_foreach(img_env, i, e) {
		const char *kv = json_string_value(e);
		size_t kl, j;
		json_t *o;
		bool found = false;

		if (!kv)
			continue;
		kl = env_key_len(kv);
		json_array_foreach(out, j, o) {
			const char *s = json_string_value(o);
			if (env_key_len(s) == kl && strncmp(s, kv, kl) == 0)
				found = true;
		}
		if (!found)
			json_array_append_new(out, json_string(kv));
	}
	json_array_foreach(out, i, e)
		if (strncmp(json_string_value(e), "PATH=", 5) == 0)
			has_path = true;
	if (!has_path)
		json_array_append_new(out, json_string(DEFAULT_PATH));
	return out;
}

/* A copy of an object member that is an object, or a new empty one. */
static json_t *obj_copy(json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_object(v) ? json_deep_copy(v) : json_object();
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *v = o ? json_string_value(json_object_get(o, key)) : NULL;

	return v && *v ? v : dflt;
}

int ctr_parse_port_key(const char *key, uint16_t *port, uint8_t *proto, struct shoal_err *err)
{
	char num[16];
	const char *slash = strchr(key, '/'), *p = slash ? slash + 1 : "tcp";
	size_t nl = slash ? (size_t)(slash - key) : strlen(key);
	char *end;
	long v;

	if (nl == 0 || nl >= sizeof(num))
		goto bad;
	memcpy(num, key, nl);
	num[nl] = '\0';
	if (strchr(num, '-'))
		return err_set(err, EINVAL, "port ranges are not supported: \"%s\"", key);
	errno = 0;
	v = strtol(num, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		goto bad;
	if (strcmp(p, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (strcmp(p, "udp") == 0)
		*proto = IPPROTO_UDP;
	else if (strcmp(p, "sctp") == 0)
		return err_set(err, EINVAL, "invalid port specification: \"%s\": sctp is not supported", key);
	else
		return err_set(err, EINVAL, "invalid proto: %s", p);
	*port = (uint16_t)v;
	return 0;
bad:
	return err_set(err, EINVAL, "invalid port specification: \"%s\"", key);
}

static int parse_host_port(const char *s, uint16_t *out, struct shoal_err *err)
{
	char *end;
	long v;

	*out = 0;
	if (!s || !*s)
		return 0;
	if (strchr(s, '-'))
		return err_set(err, EINVAL, "host port ranges are not supported: \"%s\"", s);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return err_set(err, EINVAL, "invalid hostPort: %s", s);
	*out = (uint16_t)v;
	return 0;
}

static int add_port(struct ctr_port **v, size_t *n, size_t *cap, const struct ctr_port *p,
		    struct shoal_err *err)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct ctr_port *nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return err_set(err, ENOMEM, "out of memory");
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *p;
	return 0;
}

int ctr_port_bindings(json_t *config, json_t *host_config, struct ctr_port **out, size_t *n,
		      struct shoal_err *err)
{
	json_t *pb = host_config ? json_object_get(host_config, "PortBindings") : NULL;
	json_t *exposed = config ? json_object_get(config, "ExposedPorts") : NULL;
	size_t cap = 0, i;
	const char *key;
	json_t *arr, *b;
	int ret;

	*out = NULL;
	*n = 0;
	if (pb && !json_is_null(pb) && !json_is_object(pb))
		return err_set(err, EINVAL, "HostConfig.PortBindings must be an object");
	json_object_foreach(pb, key, arr) {
		struct ctr_port p = { 0 };

		ret = ctr_parse_port_key(key, &p.ctr_port, &p.proto, err);
		if (ret < 0)
			goto fail;
		if (json_is_null(arr) || (json_is_array(arr) && json_array_size(arr) == 0)) {
			ret = add_port(out, n, &cap, &p, err);
			if (ret < 0)
				goto fail;
			continue;
		}
		if (!json_is_array(arr)) {
			ret = err_set(err, EINVAL, "HostConfig.PortBindings[%s] must be an array", key);
			goto fail;
		}
		json_array_foreach(arr, i, b) {
			const char *hip = json_string_value(json_object_get(b, "HostIp"));
			const char *hport = json_string_value(json_object_get(b, "HostPort"));

			p.host_ip = 0;
			if (hip && *hip && util_parse_ipv4(hip, &p.host_ip) < 0) {
				ret = err_set(err, EINVAL, "invalid IP address: %s", hip);
				goto fail;
			}
			ret = parse_host_port(hport, &p.host_port, err);
			if (ret < 0)
				goto fail;
			ret = add_port(out, n, &cap, &p, err);
			if (ret < 0)
				goto fail;
		}
	}
	if (host_config && json_is_true(json_object_get(host_config, "PublishAllPorts"))) {
		json_object_foreach(exposed, key, b) {
			struct ctr_port p = { 0 };
			bool bound = false;

			ret = ctr_parse_port_key(key, &p.ctr_port, &p.proto, err);
			if (ret < 0)
				goto fail;
			for (size_t j = 0; j < *n; j++)
				bound |= (*out)[j].ctr_port == p.ctr_port && (*out)[j].proto == p.proto;
			if (!bound && (ret = add_port(out, n, &cap, &p, err)) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return ret;
}

/* LogConfig: json-file (the only driver) and its max-size / max-file. */
static int check_log_config(json_t *hc, struct shoal_err *err)
{
	json_t *lc = json_object_get(hc, "LogConfig"), *cfg = json_object_get(lc, "Config");
	const char *type = json_string_value(json_object_get(lc, "Type")), *k;
	json_t *v;

	if (type && *type && strcmp(type, "json-file") != 0)
		return err_set(err, EINVAL, "logging driver \"%s\" is not supported (only json-file)",
			       type);
	json_object_foreach(cfg, k, v) {
		const char *s = json_string_value(v);

		if (strcmp(k, "max-size") == 0) {
			if (!s || ctr_parse_size(s) <= 0)
				return err_set(err, EINVAL, "invalid max-size: %s", s ? s : "(not a string)");
		} else if (strcmp(k, "max-file") == 0) {
			char *end;
			long n = s ? strtol(s, &end, 10) : 0;

			if (!s || *end || n < 1)
				return err_set(err, EINVAL, "invalid max-file: %s", s ? s : "(not a string)");
		} else {
			return err_set(err, EINVAL, "unknown log opt '%s' for json-file log driver", k);
		}
	}
	return 0;
}

struct create_req {
	json_t *config;      /* merged Config */
	json_t *hc;          /* HostConfig as stored */
	json_t *ns;          /* net_settings */
	const char *image;
	char net_name[STATE_NAME_LEN]; /* "" = none/host */
	char mode[STATE_NAME_LEN];
};

static int check_host_config(json_t *hc, struct shoal_err *err)
{
	json_t *rp = json_object_get(hc, "RestartPolicy");
	const char *rname = json_string_value(json_object_get(rp, "Name"));
	struct ctr_port *ports = NULL;
	size_t np = 0;
	int ret;

	json_int_t max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));

	if (rname && *rname && strcmp(rname, "no") && strcmp(rname, "always") &&
	    strcmp(rname, "unless-stopped") && strcmp(rname, "on-failure"))
		return err_set(err, EINVAL, "invalid restart policy '%s'", rname);
	if (max < 0)
		return err_set(err, EINVAL, "invalid value %lld for MaximumRetryCount: must be positive",
			       (long long)max);
	if (max > 0 && (!rname || strcmp(rname, "on-failure") != 0))
		return err_set(err, EINVAL, "maximum retry count cannot be used with restart policy '%s'",
			       rname && *rname ? rname : "no");
	ret = check_log_config(hc, err);
	if (ret < 0)
		return ret;
	ret = ctr_port_bindings(NULL, hc, &ports, &np, err);
	free(ports);
	return ret;
}

static int plan_check_ip(const char *ip, struct shoal_err *err)
{
	uint32_t a;

	if (ip && *ip && util_parse_ipv4(ip, &a) < 0)
		return err_set(err, EINVAL, "invalid IPv4 address: %s", ip);
	return 0;
}

/* One more network of EndpointsConfig, under its name in nets. */
static int plan_extra_net(struct daemon *d, json_t *nets, const char *ref, json_t *ipam,
			  struct shoal_err *err)
{
	const char *ip = ipam ? json_string_value(json_object_get(ipam, "IPv4Address")) : NULL;
	struct st_network n = { 0 };
	const char *k;
	json_t *v;
	int ret;

	ret = plan_check_ip(ip, err);
	if (ret < 0)
		return ret;
	if (strcmp(ref, "host") == 0 || strcmp(ref, "none") == 0)
		return err_set(err, EINVAL,
			       "Container cannot be connected to network endpoints: %s and others", ref);
	ret = state_network_get(d->st, ref, &n, NULL);
	if (ret < 0)
		return err_set(err, EINVAL, "network %s not found", ref);
	json_object_foreach(nets, k, v)
		if (strcmp(k, n.name) == 0 || strcmp(str_or(v, "NetworkID", ""), n.id) == 0)
			goto out; /* the same network twice */
	json_object_set_new(nets, n.name,
			    json_pack("{s:s, s:o, s:n}", "NetworkID", n.id, "IPAMConfig",
				      ip && *ip ? json_pack("{s:s}", "IPv4Address", ip) : json_null(),
				      "Aliases"));
out:
	st_network_free(&n);
	return 0;
}

/* The network part: NetworkMode and EndpointsConfig into req->ns. */
static int plan_network(struct daemon *d, json_t *hc, json_t *netcfg, struct create_req *req,
			struct shoal_err *err)
{
	const char *mode = str_or(hc, "NetworkMode", "default");
	json_t *epc = netcfg ? json_object_get(netcfg, "EndpointsConfig") : NULL;
	json_t *nets = json_object(), *one, *ipam = NULL;
	struct st_network n = { 0 };
	const char *key, *ip = NULL;
	json_t *v;
	int ret;

	json_object_set_new(req->ns, "Networks", nets);
	snprintf(req->mode, sizeof(req->mode), "%s", mode);
	if (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0) {
		json_object_set_new(nets, mode, json_pack("{s:n, s:s}", "IPAMConfig", "NetworkID", ""));
		return 0;
	}
	if (strncmp(mode, "container:", 10) == 0)
		return err_set(err, EINVAL, "network mode \"%s\" is not supported", mode);
	if (strcmp(mode, "default") == 0 || strcmp(mode, "bridge") == 0)
		mode = DEFAULT_NET;
	json_object_foreach(epc, key, v) {
		const char *k = strcmp(key, "bridge") == 0 || strcmp(key, "default") == 0 ? DEFAULT_NET : key;
		if (strcmp(k, mode) == 0)
			ipam = json_object_get(v, "IPAMConfig");
	}
	ip = ipam ? json_string_value(json_object_get(ipam, "IPv4Address")) : NULL;
	ret = plan_check_ip(ip, err);
	if (ret < 0)
		return ret;
	if (strcmp(mode, DEFAULT_NET) != 0) {
		ret = state_network_get(d->st, mode, &n, NULL);
		if (ret < 0)
			return err_set(err, EINVAL, "network %s not found", mode);
		snprintf(req->net_name, sizeof(req->net_name), "%s", n.name);
		one = json_pack("{s:s}", "NetworkID", n.id);
		st_network_free(&n);
	} else {
		snprintf(req->net_name, sizeof(req->net_name), "%s", DEFAULT_NET);
		one = json_object(); /* NetworkID once the default network exists */
	}
	json_object_set_new(one, "IPAMConfig",
			    ip && *ip ? json_pack("{s:s}", "IPv4Address", ip) : json_null());
	json_object_set_new(one, "Aliases", json_null());
	json_object_set_new(nets, req->net_name, one);
	/* Further entries (API 1.44): connected too, after the first, at start. */
	json_object_foreach(epc, key, v) {
		const char *k = strcmp(key, "bridge") == 0 || strcmp(key, "default") == 0 ? DEFAULT_NET : key;

		if (strcmp(k, mode) == 0 || strcmp(k, req->mode) == 0)
			continue;
		ret = plan_extra_net(d, nets, k, json_object_get(v, "IPAMConfig"), err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The default network (Docker's "bridge"), made on first use. */
static int ensure_default_net(struct daemon *d, char id_out[65], struct shoal_err *err)
{
	struct st_network n = { 0 };
	json_t *req;
	int ret;

	if (state_network_get(d->st, DEFAULT_NET, &n, NULL) == 0) {
		snprintf(id_out, 65, "%s", n.id);
		st_network_free(&n);
		return 0;
	}
	req = json_pack("{s:s, s:s, s:{s:s}}", "Name", DEFAULT_NET, "Driver", "local", "Labels",
			"com.docker.network.bridge.default_bridge", "true");
	ret = net_create(d, req, id_out, err);
	json_decref(req);
	if (ret == 0)
		log_info("created the default network %s", DEFAULT_NET);
	return ret;
}

static json_t *merge_config(json_t *body, json_t *img_cfg, const char *image, const char *id,
			    json_t *cmd, json_t *ep, struct shoal_err *err)
{
	json_t *ic = img_cfg ? json_object_get(img_cfg, "config") : NULL;
	json_t *c = json_object(), *labels, *exposed, *v, *bl;
	const char *k;
	char host[13];

	snprintf(host, sizeof(host), "%.12s", id);
	json_object_set_new(c, "Hostname", json_string(str_or(body, "Hostname", host)));
	json_object_set_new(c, "Domainname", json_string(str_or(body, "Domainname", "")));
	json_object_set_new(c, "User", json_string(str_or(body, "User", str_or(ic, "User", ""))));
	json_object_set_new(c, "AttachStdin", json_boolean(json_is_true(json_object_get(body, "AttachStdin"))));
	json_object_set_new(c, "AttachStdout", json_boolean(json_is_true(json_object_get(body, "AttachStdout"))));
	json_object_set_new(c, "AttachStderr", json_boolean(json_is_true(json_object_get(body, "AttachStderr"))));
	exposed = obj_copy(ic, "ExposedPorts");
	json_object_foreach(json_object_get(body, "ExposedPorts"), k, v)
		json_object_set_new(exposed, k, json_object());
	json_object_set_new(c, "ExposedPorts", json_object_size(exposed) ? exposed : (json_decref(exposed), json_null()));
	json_object_set_new(c, "Tty", json_boolean(json_is_true(json_object_get(body, "Tty"))));
	json_object_set_new(c, "OpenStdin", json_boolean(json_is_true(json_object_get(body, "OpenStdin"))));
	json_object_set_new(c, "StdinOnce", json_boolean(json_is_true(json_object_get(body, "StdinOnce"))));
	json_object_set_new(c, "Env", merge_env(ic ? json_object_get(ic, "Env") : NULL,
						json_object_get(body, "Env")));
	json_object_set_new(c, "Cmd", cmd ? json_incref(cmd) : json_null());
	json_object_set_new(c, "Image", json_string(image));
	json_object_set_new(c, "Volumes", mounts_config_volumes(img_cfg, body));
	json_object_set_new(c, "WorkingDir", json_string(str_or(body, "WorkingDir", str_or(ic, "WorkingDir", ""))));
	json_object_set_new(c, "Entrypoint", ep ? json_incref(ep) : json_null());
	json_object_set_new(c, "OnBuild", json_null());
	labels = obj_copy(ic, "Labels");
	bl = json_object_get(body, "Labels");
	if (bl && !json_is_null(bl) && !json_is_object(bl)) {
		json_decref(labels);
		json_decref(c);
		err_set(err, EINVAL, "Labels must be an object of strings");
		return NULL;
	}
	json_object_foreach(bl, k, v) {
		if (!json_is_string(v)) {
			json_decref(labels);
			json_decref(c);
			err_set(err, EINVAL, "label %s: value must be a string", k);
			return NULL;
		}
		json_object_set(labels, k, v);
	}
	json_object_set_new(c, "Labels", labels);
	if ((k = str_or(body, "StopSignal", str_or(ic, "StopSignal", NULL))))
		json_object_set_new(c, "StopSignal", json_string(k));
	if ((v = json_object_get(body, "StopTimeout")) && json_is_integer(v))
		json_object_set(c, "StopTimeout", v);
	return c;
}

/* Cmd and Entrypoint as Docker merges them: without an entrypoint of
 * its own (null or []), the container takes the image's Cmd when it has
 * none, and the image's Entrypoint when its own is null. [""] resets. */
static int merge_cmd(json_t *body, json_t *img_cfg, json_t **cmd, json_t **ep,
		     struct shoal_err *err)
{
	json_t *ic = img_cfg ? json_object_get(img_cfg, "config") : NULL;
	json_t *bep_raw = json_object_get(body, "Entrypoint");
	json_t *bcmd, *bep;
	int ret;

	*cmd = *ep = NULL;
	ret = strslice(json_object_get(body, "Cmd"), "Cmd", &bcmd, err);
	if (ret < 0)
		return ret;
	ret = strslice(bep_raw, "Entrypoint", &bep, err);
	if (ret < 0) {
		json_decref(bcmd);
		return ret;
	}
	if (json_array_size(bep) == 0) {
		if (json_array_size(bcmd) == 0) {
			json_decref(bcmd);
			strslice(ic ? json_object_get(ic, "Cmd") : NULL, "Cmd", &bcmd, NULL);
		}
		if (!bep_raw || json_is_null(bep_raw)) {
			json_decref(bep);
			strslice(ic ? json_object_get(ic, "Entrypoint") : NULL, "Entrypoint", &bep, NULL);
		}
	} else if (json_array_size(bep) == 1 && !*json_string_value(json_array_get(bep, 0))) {
		json_decref(bep);
		bep = NULL;
	}
	if (bep && json_array_size(bep) == 0) {
		json_decref(bep);
		bep = NULL;
	}
	*cmd = bcmd;
	*ep = bep;
	return 0;
}

static int write_file(const char *path, const char *text, struct shoal_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0)
		return err_set(err, errno, "create %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len) {
		int e = errno ? errno : EIO;
		close(fd);
		return err_set(err, e, "write %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* The host's resolv.conf, unless it points at a local stub resolver
 * (which a container cannot reach): then Google's, as Docker does. */
static char *resolv_conf(void)
{
	char buf[8192], copy[8192];
	int fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	bool usable = false;

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		memcpy(copy, buf, (size_t)n + 1);
		for (char *l = strtok(copy, "\n"); l; l = strtok(NULL, "\n"))
			if (strncmp(l, "nameserver", 10) == 0 && !strstr(l, " 127.") && !strstr(l, "::1"))
				usable = true;
		if (usable)
			return strdup(buf);
	}
	return strdup("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

int ctr_write_hosts(struct daemon *d, const char *id, const char *hostname, uint32_t ip,
		    struct shoal_err *err)
{
	char dir[4200], p[4300], text[1024], a[16];
	int off;

	ctr_data_dir(d, id, dir, sizeof(dir));
	off = snprintf(text, sizeof(text),
		       "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		       "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
		       "ff02::2\tip6-allrouters\n");
	if (ip)
		snprintf(text + off, sizeof(text) - (size_t)off, "%s\t%s\n", util_ipv4_str(ip, a),
			 hostname);
	snprintf(p, sizeof(p), "%s/hosts", dir);
	return write_file(p, text, err);
}

static int make_files(struct daemon *d, const char *id, const char *hostname,
		      struct shoal_err *err)
{
	char dir[4200], p[4300], text[300];
	_cleanup_free_ char *rc = NULL;
	int ret;

	ctr_data_dir(d, id, dir, sizeof(dir));
	ret = util_mkdir_p(dir, 0710);
	if (ret < 0)
		return err_set(err, -ret, "create %s: %s", dir, strerror(-ret));
	snprintf(p, sizeof(p), "%s/hostname", dir);
	snprintf(text, sizeof(text), "%s\n", hostname);
	ret = write_file(p, text, err);
	if (ret < 0)
		return ret;
	ret = ctr_write_hosts(d, id, hostname, 0, err);
	if (ret < 0)
		return ret;
	rc = resolv_conf();
	snprintf(p, sizeof(p), "%s/resolv.conf", dir);
	ret = write_file(p, rc ? rc : "", err);
	if (ret < 0)
		return ret;
	/* The log exists from the start: readers open it before the shim writes. */
	ctr_log_path(d, id, p, sizeof(p));
	return write_file(p, "", err);
}

/* Everything of the request that can be checked before making anything. */
static int plan_create(struct daemon *d, json_t *body, struct create_req *req,
		       struct shoal_err *err)
{
	json_t *hc = json_object_get(body, "HostConfig");
	json_t *netcfg = json_object_get(body, "NetworkingConfig");
	int ret;

	req->image = json_string_value(json_object_get(body, "Image"));
	if (!req->image || !*req->image)
		return err_set(err, EINVAL, "Config.Image is required: the image to make the container from");
	if (hc && !json_is_null(hc) && !json_is_object(hc))
		return err_set(err, EINVAL, "HostConfig must be an object");
	ret = check_env(json_object_get(body, "Env"), err);
	if (ret < 0)
		return ret;
	req->hc = json_is_object(hc) ? json_deep_copy(hc) : json_object();
	if (!*str_or(req->hc, "NetworkMode", ""))
		json_object_set_new(req->hc, "NetworkMode", json_string("default"));
	if (!json_is_object(json_object_get(req->hc, "RestartPolicy")))
		json_object_set_new(req->hc, "RestartPolicy", json_pack("{s:s, s:i}", "Name", "no",
									"MaximumRetryCount", 0));
	ret = check_host_config(req->hc, err);
	if (ret < 0)
		return ret;
	if (json_is_true(json_object_get(req->hc, "AutoRemove")) &&
	    strcmp(str_or(json_object_get(req->hc, "RestartPolicy"), "Name", "no"), "no") != 0)
		return err_set(err, EINVAL, "conflicting options: AutoRemove and restart policy");
	{
		json_t *ex = json_object_get(body, "ExposedPorts");
		const char *k;
		json_t *v;
		uint16_t port;
		uint8_t proto;

		if (ex && !json_is_null(ex) && !json_is_object(ex))
			return err_set(err, EINVAL, "ExposedPorts must be an object");
		json_object_foreach(ex, k, v)
			if ((ret = ctr_parse_port_key(k, &port, &proto, err)) < 0)
				return ret;
	}
	ret = mounts_check(d, body, req->hc, err);
	if (ret < 0)
		return ret;
	req->ns = json_object();
	return plan_network(d, req->hc, netcfg, req, err);
}

int ctr_create(struct daemon *d, const char *name, json_t *body, char id_out[65],
	       json_t **warnings, struct shoal_err *err)
{
	struct create_req req = { 0 };
	struct st_container c = { 0 };
	json_t *img_cfg = NULL, *cmd = NULL, *ep = NULL, *pb;
	char top[65] = "", dir[4200], net_id[65];
	bool layer = false, files = false, mounts = false;
	size_t np;
	int ret;

	*warnings = json_array();
	if (name && *name) {
		ret = check_name(name, c.name, sizeof(c.name), err);
		if (ret < 0)
			goto out;
	}
	pthread_mutex_lock(&d->lock);
	ret = plan_create(d, body, &req, err);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		goto out;
	/* The image store takes d->lock itself. */
	ret = image_resolve(d->images, req.image, c.image_id, &img_cfg, top, err);
	if (ret < 0) {
		if (ret == -ENOENT)
			err_set(err, ENOENT, "No such image: %s", req.image);
		goto out;
	}
	ret = merge_cmd(body, img_cfg, &cmd, &ep, err);
	if (ret < 0)
		goto out;
	if (json_array_size(cmd) + json_array_size(ep) == 0) {
		ret = err_set(err, EINVAL, "No command specified");
		goto out;
	}
	ret = util_random_id(c.id);
	if (ret < 0) {
		err_set(err, -ret, "cannot generate a container id");
		goto out;
	}
	req.config = merge_config(body, img_cfg, req.image, c.id, cmd, ep, err);
	if (!req.config) {
		ret = -EINVAL;
		goto out;
	}
	/* Ports published end up exposed too. */
	pb = json_object_get(req.hc, "PortBindings");
	{
		const char *k;
		json_t *v, *ex = json_object_get(req.config, "ExposedPorts");

		if (json_object_size(pb) && !json_is_object(ex)) {
			ex = json_object();
			json_object_set_new(req.config, "ExposedPorts", ex);
		}
		json_object_foreach(pb, k, v) {
			char key[32];

			snprintf(key, sizeof(key), "%s%s", k, strchr(k, '/') ? "" : "/tcp");
			json_object_set_new(ex, key, json_object());
		}
	}
	{
		struct ctr_port *ports = NULL;

		ret = ctr_port_bindings(req.config, req.hc, &ports, &np, err);
		free(ports);
		if (ret < 0)
			goto out;
	}
	snprintf(c.image, sizeof(c.image), "%s", req.image);
	c.created = ctr_now_ns();
	snprintf(c.status, sizeof(c.status), "created");

	pthread_mutex_lock(&d->lock);
	if (c.name[0]) {
		ret = name_conflict(d, c.name, err);
		if (ret < 0)
			goto unlock;
	} else {
		for (int i = 0; i < 16; i++) {
			random_name(c.name, sizeof(c.name), i > 4);
			if (name_conflict(d, c.name, NULL) == 0)
				break;
		}
	}
	if (strcmp(req.net_name, DEFAULT_NET) == 0) {
		ret = ensure_default_net(d, net_id, err);
		if (ret < 0)
			goto unlock;
		json_object_set_new(json_object_get(json_object_get(req.ns, "Networks"), DEFAULT_NET),
				    "NetworkID", json_string(net_id));
	}
	ret = d->storage->ops->create(d->storage, c.id, top[0] ? top : NULL, true, NULL, err);
	if (ret < 0)
		goto unlock;
	layer = true;
	files = true;
	ret = make_files(d, c.id, json_string_value(json_object_get(req.config, "Hostname")), err);
	if (ret < 0)
		goto unlock;
	c.config = json_dumps(req.config, JSON_COMPACT);
	c.host_config = json_dumps(req.hc, JSON_COMPACT);
	c.net_settings = json_dumps(req.ns, JSON_COMPACT);
	if (!c.config || !c.host_config || !c.net_settings) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto unlock;
	}
	ret = mounts_create(d, c.id, req.config, req.hc, err);
	if (ret < 0)
		goto unlock;
	mounts = true;
	ret = st_container_insert(d->ctr->sc, &c, err);
	if (ret < 0)
		goto unlock;
	ctr_changed(d);
	log_info("container %.12s (%s) created from %s", c.id, c.name, c.image);
	memcpy(id_out, c.id, 65);
unlock:
	if (ret < 0) {
		if (mounts)
			mounts_release(d, c.id, true);
		if (layer)
			d->storage->ops->remove(d->storage, c.id, NULL);
		if (files) {
			ctr_data_dir(d, c.id, dir, sizeof(dir));
			fsutil_rm_rf(dir);
		}
	}
	pthread_mutex_unlock(&d->lock);
out:
	st_container_free(&c);
	json_decref(img_cfg);
	json_decref(cmd);
	json_decref(ep);
	json_decref(req.config);
	json_decref(req.hc);
	json_decref(req.ns);
	return ret;
}

/* ---- remove, rename ----------------------------------------------------------- */

int ctr_remove_locked(struct daemon *d, struct st_container *c, bool volumes,
		      struct shoal_err *err)
{
	char dir[4200];
	int ret;

	ret = d->storage->ops->remove(d->storage, c->id, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = st_container_delete(d->ctr->sc, c->id, err);
	if (ret < 0)
		return ret;
	mounts_release(d, c->id, volumes);
	ctr_data_dir(d, c->id, dir, sizeof(dir));
	fsutil_rm_rf(dir);
	ctr_bundle_dir(d, c->id, dir, sizeof(dir));
	fsutil_rm_rf(dir);
	ctr_exec_forget(d, c->id);
	{
		struct ctr_rt *rt = ctr_rt_get(d, c->id);
		if (rt)
			rt->removed = true;
	}
	ctr_changed(d);
	log_info("container %.12s (%s) removed", c->id, c->name);
	return 0;
}

int ctr_remove(struct daemon *d, const char *ref, bool force, bool volumes,
	       struct shoal_err *err)
{
	struct st_container c = { 0 };
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out;
	if (strcmp(c.status, "restarting") == 0 && !force) {
		ret = err_set(err, EBUSY,
			      "You cannot remove a restarting container %s. Stop the container before attempting removal or force remove",
			      c.id);
		goto out;
	}
	if (strcmp(c.status, "running") == 0) {
		struct timespec until;

		if (!force) {
			ret = err_set(err, EBUSY,
				      "You cannot remove a running container %s. Stop the container before attempting removal or force remove",
				      c.id);
			goto out;
		}
		ctr_mark_manual_stop(d, c.id);
		ret = ctr_signal(d, c.id, SIGKILL, true, err);
		if (ret < 0)
			goto out;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 15;
		for (;;) {
			st_container_free(&c);
			ret = st_container_find(d->ctr->sc, ref, &c, NULL);
			if (ret < 0) { /* --rm took it away meanwhile */
				ret = 0;
				goto out;
			}
			if (strcmp(c.status, "running") != 0)
				break;
			if (pthread_cond_timedwait(&d->ctr->changed, &d->lock, &until) == ETIMEDOUT) {
				ret = err_set(err, EBUSY, "container %s did not exit after SIGKILL",
					      c.id);
				goto out;
			}
		}
	}
	ret = ctr_remove_locked(d, &c, volumes, err);
out:
	pthread_mutex_unlock(&d->lock);
	st_container_free(&c);
	return ret;
}

int ctr_rename(struct daemon *d, const char *ref, const char *name, struct shoal_err *err)
{
	struct st_container c = { 0 };
	char n[ST_CTR_NAME_LEN];
	int ret;

	if (!name || !*name)
		return err_set(err, EINVAL, "Neither old nor new names may be empty");
	ret = check_name(name, n, sizeof(n), err);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		goto out;
	if (strcmp(c.name, n) == 0) {
		ret = err_set(err, EINVAL, "Renaming a container with the same name as its current name");
		goto out;
	}
	ret = name_conflict(d, n, err);
	if (ret < 0)
		goto out;
	snprintf(c.name, sizeof(c.name), "%s", n);
	ret = st_container_update(d->ctr->sc, &c, err);
out:
	pthread_mutex_unlock(&d->lock);
	st_container_free(&c);
	return ret;
}

/* ---- inspect ------------------------------------------------------------------ */

static json_t *load_obj(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	return j ? j : json_object();
}

static json_t *ctr_args(json_t *cfg)
{
	json_t *a = json_array(), *ep = json_object_get(cfg, "Entrypoint"),
	       *cmd = json_object_get(cfg, "Cmd");

	if (json_is_array(ep))
		json_array_extend(a, ep);
	if (json_is_array(cmd))
		json_array_extend(a, cmd);
	return a;
}

static json_t *net_settings_json(struct daemon *d, const struct st_container *c, json_t *cfg,
				 json_t *hc)
{
	json_t *ns = load_obj(c->net_settings), *nets = json_object_get(ns, "Networks");
	json_t *out, *ports = json_object_get(ns, "Ports"), *first = NULL, *v;
	bool running = strcmp(c->status, "running") == 0;
	char sbox[4200] = "";
	const char *k;

	if (running && strcmp(str_or(hc, "NetworkMode", ""), "host") != 0)
		ctr_netns_path(d, c->id, sbox, sizeof(sbox));
	if (!json_is_object(ports)) {
		ports = json_object();
		json_object_foreach(json_object_get(cfg, "ExposedPorts"), k, v)
			json_object_set_new(ports, k, json_null());
	} else {
		json_incref(ports);
	}
	out = json_pack("{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n}", "Bridge", "", "SandboxID",
			running ? c->id : "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
			"LinkLocalIPv6PrefixLen", 0, "Ports", ports, "SandboxKey", sbox,
			"SecondaryIPAddresses", "SecondaryIPv6Addresses");
	json_t *networks = json_object();
	json_object_foreach(nets, k, v) {
		json_t *e = json_pack("{s:O, s:n, s:O, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}",
				      "IPAMConfig", json_object_get(v, "IPAMConfig") ? json_object_get(v, "IPAMConfig") : json_null(),
				      "Links", "Aliases",
				      json_object_get(v, "Aliases") ? json_object_get(v, "Aliases") : json_null(),
				      "NetworkID", str_or(v, "NetworkID", ""),
				      "EndpointID", str_or(v, "EndpointID", ""),
				      "Gateway", str_or(v, "Gateway", ""),
				      "IPAddress", str_or(v, "IPAddress", ""),
				      "IPPrefixLen", (int)json_integer_value(json_object_get(v, "IPPrefixLen")),
				      "IPv6Gateway", "", "GlobalIPv6Address", "",
				      "GlobalIPv6PrefixLen", 0,
				      "MacAddress", str_or(v, "MacAddress", ""), "DriverOpts");
		json_object_set_new(networks, k, e);
		if (!first)
			first = e;
	}
	json_object_set_new(out, "EndpointID", json_string(str_or(first, "EndpointID", "")));
	json_object_set_new(out, "Gateway", json_string(str_or(first, "Gateway", "")));
	json_object_set_new(out, "GlobalIPv6Address", json_string(""));
	json_object_set_new(out, "GlobalIPv6PrefixLen", json_integer(0));
	json_object_set_new(out, "IPAddress", json_string(str_or(first, "IPAddress", "")));
	json_object_set_new(out, "IPPrefixLen",
			    json_integer(json_integer_value(json_object_get(first, "IPPrefixLen"))));
	json_object_set_new(out, "IPv6Gateway", json_string(""));
	json_object_set_new(out, "MacAddress", json_string(str_or(first, "MacAddress", "")));
	json_object_set_new(out, "Networks", networks);
	json_decref(ns);
	return out;
}

static json_t *graph_driver_json(struct daemon *d, const char *id)
{
	json_t *data = json_object();
	char p[4400];

	if (strcmp(d->storage->ops->name, "overlay2") == 0) {
		snprintf(p, sizeof(p), "%s/%s/merged", d->storage->home, id);
		json_object_set_new(data, "MergedDir", json_string(p));
		snprintf(p, sizeof(p), "%s/%s/diff", d->storage->home, id);
		json_object_set_new(data, "UpperDir", json_string(p));
		snprintf(p, sizeof(p), "%s/%s/work", d->storage->home, id);
		json_object_set_new(data, "WorkDir", json_string(p));
	}
	return json_pack("{s:s, s:o}", "Name", d->storage->ops->name, "Data", data);
}

json_t *ctr_to_json(struct daemon *d, const struct st_container *c)
{
	json_t *cfg = load_obj(c->config), *hc = load_obj(c->host_config), *args, *path, *state, *j;
	char created[40], dir[4200], p[4400];
	bool running = strcmp(c->status, "running") == 0;

	ctr_time_str(c->created, created);
	args = ctr_args(cfg);
	path = json_array_size(args) ? json_incref(json_array_get(args, 0)) : json_string("");
	json_array_remove(args, 0);
	state = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
			  ctr_is_paused(c) ? "paused" : c->status, "Running", running, "Paused",
			  ctr_is_paused(c), "Restarting",
			  strcmp(c->status, "restarting") == 0, "OOMKilled",
			  c->oom_killed, "Dead", strcmp(c->status, "dead") == 0, "Pid",
			  running ? c->pid : 0, "ExitCode", c->exit_code, "Error", c->error,
			  "StartedAt", ctr_time_or_zero(c->started_at), "FinishedAt",
			  ctr_time_or_zero(c->finished_at));
	ctr_data_dir(d, c->id, dir, sizeof(dir));
	j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "Id", c->id, "Created", created, "Path", path,
		      "Args", args, "State", state, "Image", c->image_id);
	snprintf(p, sizeof(p), "%s/resolv.conf", dir);
	json_object_set_new(j, "ResolvConfPath", json_string(p));
	snprintf(p, sizeof(p), "%s/hostname", dir);
	json_object_set_new(j, "HostnamePath", json_string(p));
	snprintf(p, sizeof(p), "%s/hosts", dir);
	json_object_set_new(j, "HostsPath", json_string(p));
	ctr_log_path(d, c->id, p, sizeof(p));
	json_object_set_new(j, "LogPath", json_string(p));
	snprintf(p, sizeof(p), "/%s", c->name);
	json_object_set_new(j, "Name", json_string(p));
	json_object_set_new(j, "RestartCount", json_integer(c->restart_count));
	json_object_set_new(j, "Driver", json_string(d->storage->ops->name));
	json_object_set_new(j, "Platform", json_string("linux"));
	json_object_set_new(j, "MountLabel", json_string(""));
	json_object_set_new(j, "ProcessLabel", json_string(""));
	json_object_set_new(j, "AppArmorProfile", json_string(""));
	json_object_set_new(j, "ExecIDs", json_null());
	json_object_set_new(j, "GraphDriver", graph_driver_json(d, c->id));
	json_object_set_new(j, "Mounts", mounts_inspect_json(d, c->id));
	json_object_set_new(j, "NetworkSettings", net_settings_json(d, c, cfg, hc));
	json_object_set_new(j, "HostConfig", hc);
	json_object_set_new(j, "Config", cfg);
	return j;
}

int ctr_inspect_json(struct daemon *d, const char *ref, json_t **out, struct shoal_err *err)
{
	struct st_container c;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret == 0) {
		*out = ctr_to_json(d, &c);
		st_container_free(&c);
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* ---- list --------------------------------------------------------------------- */

/* Docker's units.HumanDuration. */
static void human_duration(int64_t secs, char *buf, size_t len)
{
	int64_t m = secs / 60, h = m / 60;

	if (secs < 1)
		snprintf(buf, len, "Less than a second");
	else if (secs == 1)
		snprintf(buf, len, "1 second");
	else if (secs < 60)
		snprintf(buf, len, "%lld seconds", (long long)secs);
	else if (m == 1)
		snprintf(buf, len, "About a minute");
	else if (m < 60)
		snprintf(buf, len, "%lld minutes", (long long)m);
	else if (h == 1)
		snprintf(buf, len, "About an hour");
	else if (h < 48)
		snprintf(buf, len, "%lld hours", (long long)h);
	else if (h < 24 * 7 * 2)
		snprintf(buf, len, "%lld days", (long long)(h / 24));
	else if (h < 24 * 30 * 2)
		snprintf(buf, len, "%lld weeks", (long long)(h / 24 / 7));
	else if (h < 24 * 365 * 2)
		snprintf(buf, len, "%lld months", (long long)(h / 24 / 30));
	else
		snprintf(buf, len, "%lld years", (long long)(h / 24 / 365));
}

static int64_t parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };

	if (!s || !*s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

static void status_text(const struct st_container *c, char *buf, size_t len)
{
	char dur[64];
	int64_t now = time(NULL);

	if (strcmp(c->status, "running") == 0) {
		human_duration(now - parse_rfc3339(c->started_at), dur, sizeof(dur));
		snprintf(buf, len, "Up %s%s", dur, ctr_is_paused(c) ? " (Paused)" : "");
	} else if (strcmp(c->status, "exited") == 0) {
		human_duration(now - parse_rfc3339(c->finished_at), dur, sizeof(dur));
		snprintf(buf, len, "Exited (%d) %s ago", c->exit_code, dur);
	} else if (strcmp(c->status, "created") == 0) {
		snprintf(buf, len, "Created");
	} else if (strcmp(c->status, "restarting") == 0) {
		human_duration(now - parse_rfc3339(c->finished_at), dur, sizeof(dur));
		snprintf(buf, len, "Restarting (%d) %s ago", c->exit_code, dur);
	} else if (strcmp(c->status, "dead") == 0) {
		snprintf(buf, len, "Dead");
	} else {
		snprintf(buf, len, "%s", c->status);
	}
}

static json_t *ports_summary(json_t *cfg, json_t *ns)
{
	json_t *out = json_array(), *ports = json_object_get(ns, "Ports"), *arr, *b;
	const char *k;
	size_t i;

	if (!json_is_object(ports))
		ports = json_object_get(cfg, "ExposedPorts");
	json_object_foreach(ports, k, arr) {
		uint16_t port;
		uint8_t proto;
		const char *pn;

		if (ctr_parse_port_key(k, &port, &proto, NULL) < 0)
			continue;
		pn = proto == IPPROTO_UDP ? "udp" : "tcp";
		if (!json_is_array(arr) || json_array_size(arr) == 0) {
			json_array_append_new(out, json_pack("{s:i, s:s}", "PrivatePort", port, "Type", pn));
			continue;
		}
		json_array_foreach(arr, i, b)
			json_array_append_new(out, json_pack("{s:s, s:i, s:i, s:s}", "IP",
							     str_or(b, "HostIp", "0.0.0.0"), "PrivatePort",
							     port, "PublicPort",
							     atoi(str_or(b, "HostPort", "0")), "Type", pn));
	}
	return out;
}

static json_t *summary_json(struct daemon *d, const struct st_container *c)
{
	json_t *cfg = load_obj(c->config), *hc = load_obj(c->host_config),
	       *ns = load_obj(c->net_settings), *args = ctr_args(cfg), *a, *nets, *v;
	char cmd[4096] = "", status[128], name[300];
	size_t i, off = 0;
	const char *k;
	json_t *j;

	json_array_foreach(args, i, a)
		off += (size_t)snprintf(cmd + off, off < sizeof(cmd) ? sizeof(cmd) - off : 0, "%s%s",
					i ? " " : "", json_string_value(a));
	status_text(c, status, sizeof(status));
	snprintf(name, sizeof(name), "/%s", c->name);
	nets = json_object();
	json_object_foreach(json_object_get(ns, "Networks"), k, v)
		json_object_set_new(nets, k, json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}",
						       "IPAMConfig", "Links", "Aliases", "NetworkID",
						       str_or(v, "NetworkID", ""), "EndpointID",
						       str_or(v, "EndpointID", ""), "Gateway",
						       str_or(v, "Gateway", ""), "IPAddress",
						       str_or(v, "IPAddress", ""), "IPPrefixLen",
						       (int)json_integer_value(json_object_get(v, "IPPrefixLen")),
						       "IPv6Gateway", "", "GlobalIPv6Address", "",
						       "GlobalIPv6PrefixLen", 0, "MacAddress",
						       str_or(v, "MacAddress", ""), "DriverOpts"));
	j = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:o, s:O, s:s, s:s, s:{s:s}, s:{s:o}, s:o}",
		      "Id", c->id, "Names", name, "Image", c->image, "ImageID", c->image_id,
		      "Command", cmd, "Created", (json_int_t)(c->created / 1000000000LL), "Ports",
		      ports_summary(cfg, ns), "Labels",
		      json_is_object(json_object_get(cfg, "Labels")) ? json_object_get(cfg, "Labels") : json_object(),
		      "State", ctr_is_paused(c) ? "paused" : c->status, "Status", status,
		      "HostConfig", "NetworkMode",
		      str_or(hc, "NetworkMode", "default"), "NetworkSettings", "Networks", nets,
		      "Mounts", mounts_inspect_json(d, c->id));
	json_decref(args);
	json_decref(cfg);
	json_decref(hc);
	json_decref(ns);
	return j;
}

/* Values of one filter key as an array of strings ({"k":{"v":true}} or
 * {"k":["v"]}, both Docker encodings); NULL when absent. */
static json_t *filter_vals(json_t *filters, const char *key)
{
	json_t *v = json_object_get(filters, key), *out;
	const char *k;
	json_t *x;

	if (!v)
		return NULL;
	if (json_is_array(v))
		return json_incref(v);
	out = json_array();
	json_object_foreach(v, k, x)
		if (json_is_true(x))
			json_array_append_new(out, json_string(k));
	return out;
}

static bool any_match(json_t *vals, bool (*fn)(const char *v, void *arg), void *arg)
{
	size_t i;
	json_t *v;

	if (!vals)
		return true;
	json_array_foreach(vals, i, v)
		if (fn(json_string_value(v), arg))
			return true;
	return false;
}

struct fctx {
	struct daemon *d;
	const struct st_container *c;
	json_t *cfg, *ns;
};

static bool f_id(const char *v, void *a)
{
	return strncmp(((struct fctx *)a)->c->id, v, strlen(v)) == 0;
}

static bool f_name(const char *v, void *a)
{
	const char *n = ((struct fctx *)a)->c->name;

	if (v[0] == '/')
		v++;
	return strstr(n, v) != NULL;
}

static bool f_status(const char *v, void *a)
{
	const struct st_container *c = ((struct fctx *)a)->c;

	return strcmp(ctr_is_paused(c) ? "paused" : c->status, v) == 0;
}

static bool f_exited(const char *v, void *a)
{
	const struct st_container *c = ((struct fctx *)a)->c;

	return strcmp(c->status, "exited") == 0 && atoi(v) == c->exit_code;
}

static bool f_label(const char *v, void *a)
{
	json_t *labels = json_object_get(((struct fctx *)a)->cfg, "Labels");
	const char *eq = strchr(v, '=');
	char key[256];

	snprintf(key, sizeof(key), "%.*s", (int)(eq ? eq - v : (long)strlen(v)), v);
	if (!json_object_get(labels, key))
		return false;
	return !eq || strcmp(json_string_value(json_object_get(labels, key)), eq + 1) == 0;
}

static bool f_ancestor(const char *v, void *a)
{
	struct fctx *f = a;
	const char *hex = strncmp(v, "sha256:", 7) == 0 ? v + 7 : v;
	char id[IMAGE_ID_LEN], top[65];

	if (strcmp(f->c->image, v) == 0)
		return true;
	if (strlen(hex) >= 4 && strncmp(f->c->image_id + 7, hex, strlen(hex)) == 0)
		return true;
	/* resolved through the image store by the caller: "@id" entries */
	(void)id;
	(void)top;
	return v[0] == '@' && strcmp(v + 1, f->c->image_id) == 0;
}

static bool f_network(const char *v, void *a)
{
	json_t *nets = json_object_get(((struct fctx *)a)->ns, "Networks"), *n;
	const char *k;

	json_object_foreach(nets, k, n) {
		const char *id = str_or(n, "NetworkID", "");
		if (strcmp(k, v) == 0 || (*id && strncmp(id, v, strlen(v)) == 0))
			return true;
	}
	return false;
}

static const char *const filter_keys[] = { "id", "name", "status", "label", "ancestor", "exited",
					   "network", "before", "since", NULL };

static int check_filters(json_t *filters, struct shoal_err *err)
{
	const char *k;
	json_t *v;

	if (filters && !json_is_object(filters))
		return err_set(err, EINVAL, "invalid filter: filters must be a JSON object");
	json_object_foreach(filters, k, v) {
		bool ok = false;
		for (int i = 0; filter_keys[i]; i++)
			ok |= strcmp(filter_keys[i], k) == 0;
		if (!ok)
			return err_set(err, EINVAL, "invalid filter '%s'", k);
	}
	{
		json_t *st = filter_vals(filters, "status");
		size_t i;
		static const char *const ok[] = { "created", "restarting", "running", "removing",
						  "paused", "exited", "dead", NULL };

		json_array_foreach(st, i, v) {
			bool good = false;
			for (int j = 0; ok[j]; j++)
				good |= strcmp(ok[j], json_string_value(v)) == 0;
			if (!good) {
				json_decref(st);
				return err_set(err, EINVAL,
					       "invalid filter 'status=%s'", json_string_value(v));
			}
		}
		json_decref(st);
	}
	return 0;
}

/* The image ids the ancestor filter names, resolved outside d->lock. */
static json_t *ancestor_vals(struct daemon *d, json_t *filters)
{
	json_t *vals = filter_vals(filters, "ancestor"), *v;
	size_t i, n;

	if (!vals)
		return NULL;
	n = json_array_size(vals);
	for (i = 0; i < n; i++) {
		char id[IMAGE_ID_LEN], top[65];

		v = json_array_get(vals, i);
		if (image_resolve(d->images, json_string_value(v), id, NULL, top, NULL) == 0) {
			char at[IMAGE_ID_LEN + 1];
			snprintf(at, sizeof(at), "@%s", id);
			json_array_append_new(vals, json_string(at));
		}
	}
	return vals;
}

int ctr_list_json(struct daemon *d, bool all, int limit, json_t *filters, json_t **out,
		  struct shoal_err *err)
{
	struct st_container *v = NULL;
	json_t *arr, *f_ids, *f_names, *f_st, *f_lab, *f_anc, *f_ex, *f_net;
	size_t n = 0;
	int ret, count = 0;
	int64_t before = 0, since = 0;

	ret = check_filters(filters, err);
	if (ret < 0)
		return ret;
	f_anc = ancestor_vals(d, filters);
	f_ids = filter_vals(filters, "id");
	f_names = filter_vals(filters, "name");
	f_st = filter_vals(filters, "status");
	f_lab = filter_vals(filters, "label");
	f_ex = filter_vals(filters, "exited");
	f_net = filter_vals(filters, "network");
	if (limit > 0 || f_st || f_ex || json_object_get(filters, "before") ||
	    json_object_get(filters, "since"))
		all = true;
	pthread_mutex_lock(&d->lock);
	ret = st_container_list(d->ctr->sc, &v, &n, err);
	/* before / since: created before or after the container named */
	for (int k = 0; ret == 0 && k < 2; k++) {
		json_t *vals = filter_vals(filters, k ? "since" : "before");
		struct st_container ref;

		if (json_array_size(vals)) {
			ret = st_container_find(d->ctr->sc, json_string_value(json_array_get(vals, 0)),
						&ref, err);
			if (ret == 0) {
				if (k)
					since = ref.created;
				else
					before = ref.created;
				st_container_free(&ref);
			}
		}
		json_decref(vals);
	}
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		goto out;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct fctx f = { .d = d, .c = &v[i] };
		bool ok = true;
		size_t j;
		json_t *l;

		if ((before && v[i].created >= before) || (since && v[i].created <= since))
			continue;
		if (!all && strcmp(v[i].status, "running") != 0)
			continue;
		f.cfg = load_obj(v[i].config);
		f.ns = load_obj(v[i].net_settings);
		ok = any_match(f_ids, f_id, &f) && any_match(f_names, f_name, &f) &&
		     any_match(f_st, f_status, &f) && any_match(f_ex, f_exited, &f) &&
		     any_match(f_anc, f_ancestor, &f) && any_match(f_net, f_network, &f);
		/* labels: every one must match */
		json_array_foreach(f_lab, j, l)
			ok = ok && f_label(json_string_value(l), &f);
		json_decref(f.cfg);
		json_decref(f.ns);
		if (!ok)
			continue;
		json_array_append_new(arr, summary_json(d, &v[i]));
		if (limit > 0 && ++count >= limit)
			break;
	}
	*out = arr;
	st_container_list_free(v, n);
out:
	json_decref(f_anc);
	json_decref(f_ids);
	json_decref(f_names);
	json_decref(f_st);
	json_decref(f_lab);
	json_decref(f_ex);
	json_decref(f_net);
	return ret;
}

const char *ctr_name_of(struct daemon *d, const char *id, char *buf, size_t len)
{
	struct st_container c;

	if (!id || !*id || !d->ctr || st_container_find(d->ctr->sc, id, &c, NULL) < 0)
		return NULL;
	snprintf(buf, len, "%s", c.name);
	st_container_free(&c);
	return buf;
}

/* ---- images in use, init --------------------------------------------------------- */

bool ctr_image_in_use(void *arg, const char *image_id)
{
	struct daemon *d = arg;
	int64_t n = 0;

	pthread_mutex_lock(&d->lock);
	st_container_image_users(d->ctr->sc, image_id, &n, NULL, NULL);
	pthread_mutex_unlock(&d->lock);
	return n > 0;
}

static void find_shim(struct daemon *d)
{
	struct ctr_mgr *m = d->ctr;
	const char *env = getenv("SHOAL_SHIM");
	char exe[4000];
	ssize_t n;

	if (d->cfg.shim_path[0]) {
		snprintf(m->shim_path, sizeof(m->shim_path), "%s", d->cfg.shim_path);
		return;
	}
	if (env && *env) {
		snprintf(m->shim_path, sizeof(m->shim_path), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(m->shim_path, sizeof(m->shim_path), "%s/shoal-shim", exe);
	} else {
		snprintf(m->shim_path, sizeof(m->shim_path), "shoal-shim");
	}
}

int ctr_init(struct daemon *d, struct shoal_err *err)
{
	struct ctr_mgr *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;
	char p[4200];
	int ret;

	if (!m)
		return err_set(err, ENOMEM, "out of memory");
	ret = st_containers_open(d->st, &m->sc, err);
	if (ret < 0) {
		free(m);
		return ret;
	}
	pthread_condattr_init(&ca);
	pthread_cond_init(&m->changed, &ca);
	pthread_condattr_destroy(&ca);
	d->ctr = m;
	find_shim(d);
	snprintf(p, sizeof(p), "%s/containers", d->cfg.data_root);
	ret = util_mkdir_p(p, 0710);
	if (ret == 0) {
		snprintf(p, sizeof(p), "%s/containers", d->cfg.exec_root);
		ret = util_mkdir_p(p, 0710);
	}
	if (ret < 0)
		return err_set(err, -ret, "create %s: %s", p, strerror(-ret));
	return 0;
}

void ctr_close(struct daemon *d)
{
	if (!d->ctr)
		return;
	/* Monitor and wait threads stay blocked on their shims; an exit that
	 * comes now is recorded at the next start (exit.json). */
	pthread_mutex_lock(&d->lock);
	d->ctr->closing = true;
	pthread_mutex_unlock(&d->lock);
}
