// SPDX-License-Identifier: Apache-2.0
/* config.c - the bundle's config.json (see include/shoal_shim.h). */
#include <string.h>

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
