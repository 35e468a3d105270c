// SPDX-License-Identifier: Apache-2.0
/* config.c - the bundle's config.json (see include/shoal_shim.h). */
#include <linux/capability.h>
#include <stddef.h>
#include <sys/resource.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "runtime.h"

static char *dup_str(json_t *o, const char *key, const char *def)
{
	json_t *v = json_object_get(o, key);

	return strdup(json_is_string(v) ? json_string_value(v) : def);
}

static bool get_bool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* A NULL-terminated copy of an array of strings; NULL on bad input. */
static char **dup_strv(json_t *a, const char *what, struct shoal_err *err)
{
	char **v;
	size_t i;
	json_t *s;

	if (a && !json_is_array(a)) {
		err_set(err, EINVAL, "config: %s must be an array of strings", what);
		return NULL;
	}
	v = calloc(json_array_size(a) + 1, sizeof(*v));
	if (!v)
		return NULL;
	json_array_foreach(a, i, s) {
		if (!json_is_string(s)) {
			err_set(err, EINVAL, "config: %s[%zu] is not a string", what, i);
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
		v[i] = strdup(json_string_value(s));
	}
	return v;
}

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
	"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
	"NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
	"SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
	"AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

#define CAPS_ALL ((1ULL << (sizeof(cap_names) / sizeof(cap_names[0]))) - 1)

uint64_t rt_caps_default(void)
{
	/* moby oci/caps/defaults.go */
	static const int caps[] = {
		CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
		CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
		CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
		CAP_KILL,    CAP_AUDIT_WRITE,
	};
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		m |= 1ULL << caps[i];
	return m;
}

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" -> bit; "ALL" -> every bit. */
static int cap_mask(const char *name, uint64_t *m)
{
	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	if (!strcasecmp(name, "ALL")) {
		*m = CAPS_ALL;
		return 0;
	}
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (!strcasecmp(name, cap_names[i])) {
			*m = 1ULL << i;
			return 0;
		}
	return -EINVAL;
}

/* Docker's TweakCapabilities: ALL in cap_add = every capability (minus
 * the drops); ALL in cap_drop = only the adds; else default + add - drop. */
static int load_caps(json_t *root, struct rt_config *cfg, struct shoal_err *err)
{
	const char *keys[] = { "cap_add", "cap_drop" };
	uint64_t set[2] = { 0, 0 }, m;

	for (int k = 0; k < 2; k++) {
		json_t *a = json_object_get(root, keys[k]), *v;
		size_t i;

		if (a && !json_is_array(a))
			return err_set(err, EINVAL, "config: %s must be an array of strings", keys[k]);
		json_array_foreach(a, i, v) {
			const char *name = json_string_value(v);

			if (!name || cap_mask(name, &m) < 0)
				return err_set(err, EINVAL, "unknown capability: \"%s\"",
					       name ? name : "(not a string)");
			set[k] |= m;
		}
	}
	if (set[0] == CAPS_ALL)
		cfg->caps = CAPS_ALL & ~(set[1] == CAPS_ALL ? 0 : set[1]);
	else if (set[1] == CAPS_ALL)
		cfg->caps = set[0];
	else
		cfg->caps = (rt_caps_default() | set[0]) & ~set[1];
	return 0;
}

static int load_resources(json_t *r, struct rt_resources *res, struct shoal_err *err)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "memory", offsetof(struct rt_resources, memory) },
		{ "memory_swap", offsetof(struct rt_resources, memory_swap) },
		{ "nano_cpus", offsetof(struct rt_resources, nano_cpus) },
		{ "cpu_shares", offsetof(struct rt_resources, cpu_shares) },
		{ "pids_limit", offsetof(struct rt_resources, pids_limit) },
	};

	if (!r)
		return 0;
	if (!json_is_object(r))
		return err_set(err, EINVAL, "config: resources must be an object");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(r, keys[i].key);

		if (!v)
			continue;
		if (!json_is_integer(v))
			return err_set(err, EINVAL, "config: resources.%s must be an integer",
				       keys[i].key);
		*(int64_t *)((char *)res + keys[i].off) = json_integer_value(v);
	}
	if (res->memory < 0 || res->nano_cpus < 0 || res->cpu_shares < 0)
		return err_set(err, EINVAL, "config: resources: negative memory, nano_cpus or cpu_shares");
	if (res->memory && res->memory < 6 * 1024 * 1024)
		return err_set(err, EINVAL, "Minimum memory limit allowed is 6MB");
	if (res->memory_swap > 0 && res->memory_swap < res->memory)
		return err_set(err, EINVAL, "Minimum memoryswap limit should be larger than memory "
			       "limit, see usage");
	return 0;
}

static int load_ulimits(json_t *a, struct rt_config *cfg, struct shoal_err *err)
{
	static const struct { const char *name; int res; } names[] = {
		{ "as", RLIMIT_AS },           { "core", RLIMIT_CORE },
		{ "cpu", RLIMIT_CPU },         { "data", RLIMIT_DATA },
		{ "fsize", RLIMIT_FSIZE },     { "locks", RLIMIT_LOCKS },
		{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
		{ "nice", RLIMIT_NICE },       { "nofile", RLIMIT_NOFILE },
		{ "nproc", RLIMIT_NPROC },     { "rss", RLIMIT_RSS },
		{ "rtprio", RLIMIT_RTPRIO },   { "rttime", RLIMIT_RTTIME },
		{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
	};
	size_t i;
	json_t *u;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > RT_MAX_RLIMITS)
		return err_set(err, EINVAL, "config: ulimits must be an array of at most %d",
			       RT_MAX_RLIMITS);
	json_array_foreach(a, i, u) {
		const char *name = json_string_value(json_object_get(u, "name"));
		json_t *soft = json_object_get(u, "soft"), *hard = json_object_get(u, "hard");
		size_t k;

		for (k = 0; name && k < sizeof(names) / sizeof(names[0]); k++)
			if (!strcmp(names[k].name, name))
				break;
		if (!name || k == sizeof(names) / sizeof(names[0]))
			return err_set(err, EINVAL, "invalid ulimit type: %s", name ? name : "(none)");
		if (!json_is_integer(soft) || !json_is_integer(hard) ||
		    json_integer_value(soft) < 0 || json_integer_value(hard) < 0 ||
		    json_integer_value(soft) > json_integer_value(hard))
			return err_set(err, EINVAL, "ulimit %s: soft and hard must be integers, "
				       "soft <= hard", name);
		cfg->rlimits[i].resource = names[k].res;
		cfg->rlimits[i].soft = (uint64_t)json_integer_value(soft);
		cfg->rlimits[i].hard = (uint64_t)json_integer_value(hard);
		cfg->n_rlimits = i + 1;
	}
	return 0;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int load_mounts(json_t *a, struct rt_config *cfg, struct shoal_err *err)
{
	size_t i;
	json_t *m;

	if (!a)
		return 0;
	if (!json_is_array(a))
		return err_set(err, EINVAL, "config: mounts must be an array");
	cfg->mounts = calloc(json_array_size(a) + 1, sizeof(*cfg->mounts));
	if (!cfg->mounts)
		return err_set(err, ENOMEM, "config: out of memory");
	json_array_foreach(a, i, m) {
		struct rt_mount *rm = &cfg->mounts[i];
		const char *type = json_string_value(json_object_get(m, "type"));
		const char *dst = json_string_value(json_object_get(m, "destination"));

		cfg->n_mounts = i + 1;
		if (!type || (strcmp(type, "bind") && strcmp(type, "tmpfs")))
			return err_set(err, EINVAL, "config: mounts[%zu]: type must be bind or tmpfs", i);
		if (!dst || dst[0] != '/')
			return err_set(err, EINVAL,
				       "config: mounts[%zu]: destination must be an absolute path", i);
		rm->type = strdup(type);
		rm->destination = strdup(dst);
		rm->source = dup_str(m, "source", "");
		if (!strcmp(type, "bind") && rm->source[0] != '/')
			return err_set(err, EINVAL,
				       "config: mounts[%zu]: bind source must be an absolute path", i);
		rm->options = dup_strv(json_object_get(m, "options"), "mounts[].options", err);
		if (!rm->options)
			return -EINVAL;
	}
	return 0;
}

/* Known keys of the wrong JSON type are refused, naming the key; null
 * ones are dropped (= not given). */
static int check_types(json_t *root, struct shoal_err *err)
{
	static const struct { const char *key; json_type type; const char *what; } keys[] = {
		{ "id", JSON_STRING, "a string" },          { "rootfs", JSON_STRING, "a string" },
		{ "cwd", JSON_STRING, "a string" },         { "user", JSON_STRING, "a string" },
		{ "hostname", JSON_STRING, "a string" },    { "netns", JSON_STRING, "a string" },
		{ "log_path", JSON_STRING, "a string" },    { "cgroup", JSON_STRING, "a string" },
		{ "args", JSON_ARRAY, "an array" },         { "env", JSON_ARRAY, "an array" },
		{ "mounts", JSON_ARRAY, "an array" },       { "ulimits", JSON_ARRAY, "an array" },
		{ "cap_add", JSON_ARRAY, "an array" },      { "cap_drop", JSON_ARRAY, "an array" },
		{ "resources", JSON_OBJECT, "an object" },
		{ "oom_score_adj", JSON_INTEGER, "an integer" },
		{ "shm_size", JSON_INTEGER, "an integer" },
		{ "log_max_size", JSON_INTEGER, "an integer" },
		{ "log_max_files", JSON_INTEGER, "an integer" },
	};
	static const char *bools[] = {
		"tty", "open_stdin", "stdin_once", "readonly_rootfs", "privileged", "seccomp", "hold",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(root, keys[i].key);

		if (json_is_null(v))    /* null = not given */
			json_object_del(root, keys[i].key);
		else if (v && json_typeof(v) != keys[i].type)
			return err_set(err, EINVAL, "config: %s must be %s", keys[i].key,
				       keys[i].what);
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		json_t *v = json_object_get(root, bools[i]);

		if (json_is_null(v))
			json_object_del(root, bools[i]);
		else if (v && !json_is_boolean(v))
			return err_set(err, EINVAL, "config: %s must be true or false", bools[i]);
	}
	return 0;
}

int rt_config_load(const char *path, struct rt_config *cfg, struct shoal_err *err)
{
	json_error_t jerr;
	json_t *root;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	root = json_load_file(path, 0, &jerr);
	if (!root)
		return err_set(err, EINVAL, "config %s: %s (line %d)", path, jerr.text, jerr.line);
	if (!json_is_object(root)) {
		ret = err_set(err, EINVAL, "config %s: not a JSON object", path);
		goto out;
	}
	ret = check_types(root, err);
	if (ret < 0)
		goto out;
	cfg->id = dup_str(root, "id", "");
	cfg->rootfs = dup_str(root, "rootfs", "");
	cfg->cwd = dup_str(root, "cwd", "/");
	cfg->user = dup_str(root, "user", "");
	cfg->hostname = dup_str(root, "hostname", "");
	cfg->netns = dup_str(root, "netns", "");
	cfg->log_path = dup_str(root, "log_path", "");
	cfg->cgroup = dup_str(root, "cgroup", "");
	cfg->tty = get_bool(root, "tty");
	cfg->open_stdin = get_bool(root, "open_stdin");
	cfg->stdin_once = get_bool(root, "stdin_once");
	cfg->readonly_rootfs = get_bool(root, "readonly_rootfs");
	cfg->privileged = get_bool(root, "privileged");
	cfg->hold = get_bool(root, "hold");
	cfg->seccomp = !json_is_false(json_object_get(root, "seccomp")) && !cfg->privileged;
	/* Docker's default hostname: the short id (the host's own name is
	 * kept with the host's network namespace). */
	if (!cfg->hostname[0] && strcmp(cfg->netns, "host") && strlen(cfg->id) >= 12) {
		free(cfg->hostname);
		cfg->hostname = strndup(cfg->id, 12);
	}
	if (!cfg->cwd[0]) {
		free(cfg->cwd);
		cfg->cwd = strdup("/");
	}
	cfg->args = dup_strv(json_object_get(root, "args"), "args", err);
	if (!cfg->args) {
		ret = -EINVAL;
		goto out;
	}
	cfg->env = dup_strv(json_object_get(root, "env"), "env", err);
	if (!cfg->env) {
		ret = -EINVAL;
		goto out;
	}
	if (!cfg->args[0] || !cfg->args[0][0]) {
		ret = err_set(err, EINVAL, "config: args must be a non-empty array");
		goto out;
	}
	if (cfg->rootfs[0] != '/') {
		ret = err_set(err, EINVAL, "config: rootfs \"%s\" must be an absolute path",
			      cfg->rootfs);
		goto out;
	}
	if (cfg->cwd[0] != '/') {
		ret = err_set(err, EINVAL, "config: cwd \"%s\" must be an absolute path", cfg->cwd);
		goto out;
	}
	ret = load_caps(root, cfg, err);
	if (!ret)
		ret = load_resources(json_object_get(root, "resources"), &cfg->res, err);
	if (!ret)
		ret = load_ulimits(json_object_get(root, "ulimits"), cfg, err);
	cfg->oom_score_adj = (int)json_integer_value(json_object_get(root, "oom_score_adj"));
	cfg->log_max_size = json_integer_value(json_object_get(root, "log_max_size"));
	cfg->log_max_files = (int)json_integer_value(json_object_get(root, "log_max_files"));
	if (!cfg->log_max_files)
		cfg->log_max_files = 1;
	if (!ret && (cfg->log_max_size < 0 || cfg->log_max_files < 1 || cfg->log_max_files > 100))
		ret = err_set(err, EINVAL, "config: log_max_size must be >= 0 and log_max_files "
			      "1..100");
	cfg->shm_size = json_integer_value(json_object_get(root, "shm_size"));
	if (!ret && cfg->shm_size < 0)
		ret = err_set(err, EINVAL, "SHM size can not be less than 0");
	if (!cfg->shm_size)
		cfg->shm_size = 64 << 20;
	if (!ret && (cfg->oom_score_adj < -1000 || cfg->oom_score_adj > 1000))
		ret = err_set(err, EINVAL, "Invalid value %d, range for oom score adj is "
			      "[-1000, 1000]", cfg->oom_score_adj);
	if (cfg->privileged)
		cfg->caps = CAPS_ALL;
	if (!ret)
		ret = load_mounts(json_object_get(root, "mounts"), cfg, err);
out:
	json_decref(root);
	if (ret < 0)
		rt_config_free(cfg);
	return ret;
}

void rt_config_free(struct rt_config *cfg)
{
	free(cfg->id);
	free(cfg->rootfs);
	free_strv(cfg->args);
	free_strv(cfg->env);
	free(cfg->cwd);
	free(cfg->user);
	free(cfg->hostname);
	free(cfg->netns);
	free(cfg->log_path);
	free(cfg->cgroup);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].type);
		free(cfg->mounts[i].source);
		free(cfg->mounts[i].destination);
		free_strv(cfg->mounts[i].options);
	}
	free(cfg->mounts);
	memset(cfg, 0, sizeof(*cfg));
}
