// SPDX-License-Identifier: Apache-2.0
/*
 * mounts.c - a container's mounts (see mounts.h): Docker's parsing and
 * precedence at create, the shim's mount list at start, inspect's Mounts,
 * and what goes when the container goes.
 *
 * Precedence (moby daemon/volumes.go registerMountPoints): the mounts of
 * VolumesFrom containers first, replaced by Binds and Mounts with the
 * same destination (two of those on one destination is an error); then
 * an anonymous volume for every Config.Volumes path still unmounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../archive/fsutil.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../state/state_containers.h"
#include "../volume/volume.h"
#include "container.h"
#include "daemon.h"
#include "mounts.h"
#include "volumes.h"

/* One resolved mount plus what create needs to make it. */
struct pm {
	struct st_mount m;
	bool anon;          /* an anonymous volume to make */
	bool bind_mkdir;    /* -v /host:/p: make a missing host dir, as Docker */
	json_t *vol_labels; /* --mount volume-label=..., for a new volume */
	json_t *vol_opts;   /* --mount volume-opt=..., for a new volume */
};

struct plan {
	struct pm *v;
	size_t n, cap;
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].m.extra_json);
		json_decref(p->v[i].vol_labels);
		json_decref(p->v[i].vol_opts);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static struct pm *plan_add(struct plan *p)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct pm *nv = realloc(p->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		p->v = nv;
		p->cap = cap;
	}
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	return &p->v[p->n++];
}

static struct pm *plan_find(struct plan *p, const char *dst)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].m.destination, dst))
			return &p->v[i];
	return NULL;
}

/* Lexical clean (Go's filepath.Clean) of an absolute path into out. */
static int clean_path(const char *in, char *out, size_t len)
{
	char buf[PATH_MAX], *save = NULL, *tok;
	size_t used = 0;

	if (strlen(in) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", in);
	out[0] = '\0';
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *s = strrchr(out, '/');

			if (s) {
				*s = '\0';
				used = (size_t)(s - out);
			}
			continue;
		}
		if (used + strlen(tok) + 2 > len)
			return -ENAMETOOLONG;
		used += (size_t)snprintf(out + used, len - used, "/%s", tok);
	}
	if (!out[0])
		snprintf(out, len, "/");
	return 0;
}

static int check_dest(const char *type, const char *dst, char *out, size_t len,
		      struct shoal_err *err)
{
	if (!dst || dst[0] != '/')
		return err_set(err, EINVAL,
			       "invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute",
			       type, dst ? dst : "");
	if (clean_path(dst, out, len) < 0)
		return err_set(err, ENAMETOOLONG, "mount path too long: %.64s...", dst);
	if (!strcmp(out, "/"))
		return err_set(err, EINVAL,
			       "invalid mount config for type \"%s\": invalid specification: destination can't be '/'",
			       type);
	return 0;
}

static bool is_propagation(const char *s)
{
	static const char *const p[] = { "private", "rprivate", "shared", "rshared", "slave",
					 "rslave" };

	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		if (!strcmp(s, p[i]))
			return true;
	return false;
}

/* The mode of a bind spec: ro/rw, z/Z, nocopy, a propagation. */
static int parse_mode(const char *mode, bool *rw, bool *nocopy, char *prop, size_t plen,
		      struct shoal_err *err)
{
	char buf[64], *save = NULL, *tok;
	int rwset = 0;

	*rw = true;
	*nocopy = false;
	if (strlen(mode) >= sizeof(buf))
		return err_set(err, EINVAL, "invalid mode: %s", mode);
	snprintf(buf, sizeof(buf), "%s", mode);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "ro") || !strcmp(tok, "rw")) {
			if (rwset++)
				return err_set(err, EINVAL, "invalid mode: %s", mode);
			*rw = !strcmp(tok, "rw");
		} else if (!strcmp(tok, "nocopy")) {
			*nocopy = true;
		} else if (is_propagation(tok)) {
			snprintf(prop, plen, "%s", tok);
		} else if (strcmp(tok, "z") && strcmp(tok, "Z") && strcmp(tok, "consistent") &&
			   strcmp(tok, "cached") && strcmp(tok, "delegated")) {
			return err_set(err, EINVAL, "invalid mode: %s", mode);
		}
	}
	return 0;
}

static int set_extra(struct st_mount *m, json_t *extra)
{
	free(m->extra_json);
	m->extra_json = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(extra);
	return m->extra_json ? 0 : -ENOMEM;
}

/* "src:dst[:mode]" of HostConfig.Binds. */
static int parse_bind(const char *spec, struct pm *x, struct shoal_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX], mode[64] = "";
	const char *c1, *c2;
	struct st_mount *m = &x->m;
	bool rw, nocopy;
	int ret;

	c1 = spec ? strchr(spec, ':') : NULL;
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || c1 == spec || (c2 && strchr(c2 + 1, ':')) || (size_t)(c1 - spec) >= sizeof(src))
		return err_set(err, EINVAL, "invalid volume specification: '%s'", spec ? spec : "");
	snprintf(src, sizeof(src), "%.*s", (int)(c1 - spec), spec);
	snprintf(dst, sizeof(dst), "%.*s", (int)(c2 ? c2 - c1 - 1 : (long)strlen(c1 + 1)), c1 + 1);
	if (c2)
		snprintf(mode, sizeof(mode), "%s", c2 + 1);
	if (c2 && !mode[0])
		return err_set(err, EINVAL, "invalid volume specification: '%s'", spec);
	ret = check_dest(src[0] == '/' ? "bind" : "volume", dst, m->destination,
			 sizeof(m->destination), err);
	if (ret < 0)
		return ret;
	ret = parse_mode(mode, &rw, &nocopy, m->propagation, sizeof(m->propagation), err);
	if (ret < 0)
		return ret;
	m->rw = rw;
	if (src[0] == '/') {
		snprintf(m->type, sizeof(m->type), "bind");
		if (clean_path(src, m->source, sizeof(m->source)) < 0)
			return err_set(err, ENAMETOOLONG, "bind source too long");
		snprintf(m->mode, sizeof(m->mode), "%s", mode);
		if (!m->propagation[0])
			snprintf(m->propagation, sizeof(m->propagation), "rprivate");
		x->bind_mkdir = true;
		return 0;
	}
	ret = vol_check_name(src, err);
	if (ret < 0)
		return ret;
	if (m->propagation[0])
		return err_set(err, EINVAL, "invalid mode: %s (propagation is for binds only)", mode);
	snprintf(m->type, sizeof(m->type), "volume");
	snprintf(m->name, sizeof(m->name), "%.*s", (int)sizeof(m->name) - 1, src);
	snprintf(m->mode, sizeof(m->mode), "%s", mode[0] ? mode : "z");
	m->nocopy = nocopy;
	return 0;
}

/* A string map of --mount volume options (Labels, DriverConfig.Options). */
static int str_map(json_t *o, const char *what, json_t **out, struct shoal_err *err)
{
	const char *k;
	json_t *v;

	*out = NULL;
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return err_set(err, EINVAL, "%s must be an object of strings", what);
	json_object_foreach(o, k, v)
		if (!json_is_string(v))
			return err_set(err, EINVAL, "%s: %s must be a string", what, k);
	*out = json_deep_copy(o);
	return 0;
}

/* One object of HostConfig.Mounts. */
static int parse_mount(json_t *j, struct pm *x, struct shoal_err *err)
{
	const char *type = json_string_value(json_object_get(j, "Type"));
	const char *src = json_string_value(json_object_get(j, "Source"));
	const char *dst = json_string_value(json_object_get(j, "Target"));
	json_t *vo = json_object_get(j, "VolumeOptions"), *bo = json_object_get(j, "BindOptions");
	json_t *to = json_object_get(j, "TmpfsOptions");
	struct st_mount *m = &x->m;
	struct stat st;
	int ret;

	if (!json_is_object(j))
		return err_set(err, EINVAL, "HostConfig.Mounts entries must be objects");
	if (!type || (strcmp(type, "volume") && strcmp(type, "bind") && strcmp(type, "tmpfs")))
		return err_set(err, EINVAL, "invalid mount config: mount type unknown: \"%s\"",
			       type ? type : "");
	ret = check_dest(type, dst, m->destination, sizeof(m->destination), err);
	if (ret < 0)
		return ret;
	src = src ? src : "";
	snprintf(m->type, sizeof(m->type), "%s", type);
	m->rw = !json_is_true(json_object_get(j, "ReadOnly"));
	if ((vo && !json_is_null(vo) && strcmp(type, "volume")) ||
	    (bo && !json_is_null(bo) && strcmp(type, "bind")) ||
	    (to && !json_is_null(to) && strcmp(type, "tmpfs")))
		return err_set(err, EINVAL,
			       "invalid mount config for type \"%s\": options of another mount type given",
			       type);
	if (!strcmp(type, "bind")) {
		const char *prop = json_string_value(json_object_get(bo, "Propagation"));

		if (!*src)
			return err_set(err, EINVAL,
				       "invalid mount config for type \"bind\": field Source must not be empty");
		if (src[0] != '/')
			return err_set(err, EINVAL,
				       "invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute",
				       src);
		clean_path(src, m->source, sizeof(m->source));
		/* Unlike -v, --mount never creates the host path (Docker). */
		if (stat(m->source, &st) < 0)
			return err_set(err, EINVAL,
				       "invalid mount config for type \"bind\": bind source path does not exist: %s",
				       m->source);
		if (prop && *prop && !is_propagation(prop))
			return err_set(err, EINVAL, "invalid propagation mode: %s", prop);
		snprintf(m->propagation, sizeof(m->propagation), "%s",
			 prop && *prop ? prop : "rprivate");
		return 0;
	}
	if (!strcmp(type, "tmpfs")) {
		json_t *sz = json_object_get(to, "SizeBytes"), *md = json_object_get(to, "Mode");

		if (*src)
			return err_set(err, EINVAL,
				       "invalid mount config for type \"tmpfs\": field Source must be empty");
		if ((sz && !json_is_null(sz) && (!json_is_integer(sz) || json_integer_value(sz) < 0)) ||
		    (md && !json_is_null(md) && (!json_is_integer(md) || json_integer_value(md) < 0 ||
						 json_integer_value(md) > 07777)))
			return err_set(err, EINVAL,
				       "invalid mount config for type \"tmpfs\": bad TmpfsOptions");
		return set_extra(m, json_pack("{s:I, s:I}", "size",
					      json_is_integer(sz) ? json_integer_value(sz) : 0,
					      "mode", json_is_integer(md) ? json_integer_value(md) : 01777));
	}
	/* volume */
	if (*src) {
		ret = vol_check_name(src, err);
		if (ret < 0)
			return ret;
		snprintf(m->name, sizeof(m->name), "%.*s", (int)sizeof(m->name) - 1, src);
	} else {
		x->anon = true;
	}
	snprintf(m->mode, sizeof(m->mode), "z");
	m->nocopy = json_is_true(json_object_get(vo, "NoCopy"));
	{
		const char *drv = json_string_value(
			json_object_get(json_object_get(vo, "DriverConfig"), "Name"));

		if (drv && *drv && strcmp(drv, VOL_DRIVER_LOCAL))
			return err_set(err, ENOENT,
				       "error looking up volume plugin %s: plugin \"%s\" not found",
				       drv, drv);
	}
	ret = str_map(json_object_get(vo, "Labels"), "VolumeOptions.Labels", &x->vol_labels, err);
	if (ret == 0)
		ret = str_map(json_object_get(json_object_get(vo, "DriverConfig"), "Options"),
			      "VolumeOptions.DriverConfig.Options", &x->vol_opts, err);
	if (ret == 0 && x->vol_opts)
		ret = vol_check_opts(*src ? src : "anonymous volume", x->vol_opts, err);
	return ret;
}

/* The mounts of the VolumesFrom entry "ctr[:ro|:rw]" into p, where free. */
static int add_volumes_from(struct daemon *d, const char *spec, struct plan *p,
			    struct shoal_err *err)
{
	char ref[256], mode[8] = "";
	const char *colon = strrchr(spec, ':');
	struct st_container c = { 0 };
	struct st_mount *ms = NULL;
	size_t n = 0;
	int ret;

	if (colon) {
		snprintf(ref, sizeof(ref), "%.*s", (int)(colon - spec), spec);
		snprintf(mode, sizeof(mode), "%s", colon + 1);
		if (strcmp(mode, "ro") && strcmp(mode, "rw"))
			return err_set(err, EINVAL, "invalid mode: %s", colon + 1);
	} else {
		snprintf(ref, sizeof(ref), "%s", spec);
	}
	if (!ref[0])
		return err_set(err, EINVAL, "invalid VolumesFrom entry: '%s'", spec);
	ret = st_container_find(d->ctr->sc, ref, &c, err);
	if (ret < 0)
		return ret;
	ret = st_mount_list(d->vols, c.id, &ms, &n, err);
	st_container_free(&c);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct pm *x;
		bool taken = false;

		if (!strcmp(ms[i].type, "tmpfs"))
			continue;
		/* Binds and Mounts of this container win; the first source wins. */
		for (size_t k = 0; k < p->n; k++)
			taken = taken || !strcmp(p->v[k].m.destination, ms[i].destination);
		if (taken)
			continue;
		x = plan_add(p);
		if (!x) {
			st_mount_list_free(ms, n);
			return err_set(err, ENOMEM, "out of memory");
		}
		x->m = ms[i];
		x->m.extra_json = ms[i].extra_json ? strdup(ms[i].extra_json) : NULL;
		x->m.container_id[0] = '\0';
		if (mode[0])
			x->m.rw = !strcmp(mode, "rw");
	}
	st_mount_list_free(ms, n);
	return 0;
}

/*
 * Everything of config/hc into p, in Docker's precedence; checks only
 * (no volume is made, no directory touched).
 */
static int plan_mounts(struct daemon *d, json_t *config, json_t *hc, struct plan *p,
		       struct shoal_err *err)
{
	json_t *binds = json_object_get(hc, "Binds"), *mounts = json_object_get(hc, "Mounts");
	json_t *from = json_object_get(hc, "VolumesFrom"), *vols = json_object_get(config, "Volumes");
	json_t *v;
	const char *k;
	size_t i;
	int ret;

	if (binds && !json_is_null(binds) && !json_is_array(binds))
		return err_set(err, EINVAL, "HostConfig.Binds must be an array of strings");
	if (mounts && !json_is_null(mounts) && !json_is_array(mounts))
		return err_set(err, EINVAL, "HostConfig.Mounts must be an array");
	if (from && !json_is_null(from) && !json_is_array(from))
		return err_set(err, EINVAL, "HostConfig.VolumesFrom must be an array of strings");
	if (vols && !json_is_null(vols) && !json_is_object(vols))
		return err_set(err, EINVAL, "Config.Volumes must be an object");

	json_array_foreach(binds, i, v) {
		struct pm *x = plan_add(p);

		if (!x)
			return err_set(err, ENOMEM, "out of memory");
		if (!json_is_string(v))
			return err_set(err, EINVAL, "HostConfig.Binds must be an array of strings");
		ret = parse_bind(json_string_value(v), x, err);
		if (ret < 0)
			return ret;
	}
	json_array_foreach(mounts, i, v) {
		struct pm *x = plan_add(p);

		if (!x)
			return err_set(err, ENOMEM, "out of memory");
		ret = parse_mount(v, x, err);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < p->n; i++)
		for (size_t k2 = i + 1; k2 < p->n; k2++)
			if (!strcmp(p->v[i].m.destination, p->v[k2].m.destination))
				return err_set(err, EINVAL, "Duplicate mount point: %s",
					       p->v[i].m.destination);
	json_array_foreach(from, i, v) {
		if (!json_is_string(v))
			return err_set(err, EINVAL, "HostConfig.VolumesFrom must be an array of strings");
		ret = add_volumes_from(d, json_string_value(v), p, err);
		if (ret < 0)
			return ret;
	}
	json_object_foreach(vols, k, v) {
		char dst[PATH_MAX];
		struct pm *x;

		ret = check_dest("volume", k, dst, sizeof(dst), err);
		if (ret < 0)
			return ret;
		if (plan_find(p, dst))
			continue;
		x = plan_add(p);
		if (!x)
			return err_set(err, ENOMEM, "out of memory");
		snprintf(x->m.type, sizeof(x->m.type), "volume");
		snprintf(x->m.destination, sizeof(x->m.destination), "%s", dst);
		x->m.rw = true;
		x->anon = true;
	}
	return 0;
}

json_t *mounts_config_volumes(json_t *img_cfg, json_t *body)
{
	json_t *ic = img_cfg ? json_object_get(img_cfg, "config") : NULL;
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach(json_object_get(ic, "Volumes"), k, v)
		json_object_set_new(out, k, json_object());
	json_object_foreach(json_object_get(body, "Volumes"), k, v)
		json_object_set_new(out, k, json_object());
	if (json_object_size(out) == 0) {
		json_decref(out);
		return json_null();
	}
	return out;
}

int mounts_check(struct daemon *d, json_t *config, json_t *hc, struct shoal_err *err)
{
	struct plan p = { 0 };
	int ret = plan_mounts(d, config, hc, &p, err);

	plan_free(&p);
	return ret;
}

int mounts_create(struct daemon *d, const char *id, json_t *config, json_t *hc,
		  struct shoal_err *err)
{
	char (*made)[ST_VOL_NAME_LEN] = NULL;
	size_t n_made = 0;
	struct plan p = { 0 };
	int ret;

	ret = plan_mounts(d, config, hc, &p, err);
	if (ret < 0 || p.n == 0)
		goto out;
	made = calloc(p.n, sizeof(*made));
	if (!made) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	ret = state_begin(d->st, err);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < p.n && ret == 0; i++) {
		struct pm *x = &p.v[i];
		struct st_volume v = { 0 };

		if (!strcmp(x->m.type, "volume")) {
			if (!x->anon) {
				ret = st_volume_get(d->vols, x->m.name, &v, NULL);
				st_volume_free(&v);
				if (ret == 0)
					goto row;
			}
			/* A named volume is made on first use, as Docker does. */
			ret = volume_create_locked(d, x->anon ? "" : x->m.name, x->vol_labels,
						   x->vol_opts, x->anon, &v, err);
			if (ret < 0)
				break;
			snprintf(x->m.name, sizeof(x->m.name), "%s", v.name);
			snprintf(made[n_made++], ST_VOL_NAME_LEN, "%s", v.name);
			st_volume_free(&v);
		} else if (!strcmp(x->m.type, "bind") && x->bind_mkdir) {
			struct stat st;

			/* -v /host/dir:/p makes a missing host dir (Docker). */
			if (stat(x->m.source, &st) < 0 && (ret = util_mkdir_p(x->m.source, 0755)) < 0) {
				ret = err_set(err, -ret, "error while creating mount source path '%s': %s",
					      x->m.source, strerror(-ret));
				break;
			}
		}
row:
		snprintf(x->m.container_id, sizeof(x->m.container_id), "%s", id);
		x->m.seq = (int)i;
		ret = st_mount_insert(d->vols, &x->m, err);
	}
	if (ret == 0)
		ret = state_commit(d->st, err);
	if (ret < 0) {
		state_rollback(d->st);
		for (size_t i = 0; i < n_made; i++)
			volume_undo_dir(d, made[i]);
	}
out:
	free(made);
	plan_free(&p);
	return ret;
}

void mounts_release(struct daemon *d, const char *id, bool remove_anon)
{
	struct shoal_err err = { 0 };
	struct st_mount *ms = NULL;
	size_t n = 0;

	if (st_mount_list(d->vols, id, &ms, &n, &err) < 0) {
		log_error("container %.12s: mounts: %s", id, err.msg);
		return;
	}
	if (st_mount_delete_container(d->vols, id, &err) < 0)
		log_error("container %.12s: mounts: %s", id, err.msg);
	for (size_t i = 0; remove_anon && i < n; i++) {
		struct st_volume v = { 0 };

		if (strcmp(ms[i].type, "volume") || st_volume_get(d->vols, ms[i].name, &v, NULL) < 0)
			continue;
		/* Another container (--volumes-from) may still use it: keep it. */
		if (v.anonymous) {
			memset(&err, 0, sizeof(err));
			if (volume_remove_locked(d, v.name, &err) < 0)
				log_info("container %.12s: anonymous volume kept: %s", id, err.msg);
			else
				log_info("volume %s removed with container %.12s", v.name, id);
		}
		st_volume_free(&v);
	}
	st_mount_list_free(ms, n);
}

/* ---- start ------------------------------------------------------------------------ */

/*
 * Copy the image's content at dst (resolved inside rootfs: symlinks
 * cannot lead out) into the empty volume directory data. Nothing to do
 * when the image has no directory there.
 */
static int copy_up(const char *rootfs, const char *dst, const char *data, struct shoal_err *err)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	char src[64];

	if (root < 0)
		return err_set(err, errno, "open %s: %s", rootfs, strerror(errno));
	fd = (int)syscall(SYS_openat2, root, dst + 1, &how, sizeof(how));
	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 :
			err_set(err, errno, "copy-up %s: %s", dst, strerror(errno));
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (vol_dir_is_empty(src))
		return 0;
	return fsutil_copy_tree(src, data, err);
}

static unsigned depth(const char *p)
{
	unsigned n = 0;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

/* Parents before children, as Docker sorts mounts (stable). */
static void sort_by_depth(json_t *arr, size_t from)
{
	size_t n = json_array_size(arr);

	for (size_t i = from + 1; i < n; i++) {
		for (size_t k = i; k > from; k--) {
			json_t *a = json_array_get(arr, k - 1), *b = json_array_get(arr, k);
			const char *da = json_string_value(json_object_get(a, "destination"));
			const char *db = json_string_value(json_object_get(b, "destination"));

			if (depth(da) <= depth(db))
				break;
			json_incref(a);
			json_array_set(arr, k - 1, b);
			json_array_set_new(arr, k, a);
		}
	}
}

static json_t *bind_entry(const char *src, const struct st_mount *m)
{
	json_t *opts = json_pack("[s]", "rbind");

	if (!m->rw)
		json_array_append_new(opts, json_string("ro"));
	if (m->propagation[0] && strcmp(m->propagation, "rprivate"))
		json_array_append_new(opts, json_string(m->propagation));
	return json_pack("{s:s, s:s, s:s, s:o}", "type", "bind", "source", src, "destination",
			 m->destination, "options", opts);
}

static json_t *tmpfs_entry(const char *dst, const char *extra_json, bool rw, const char *user)
{
	json_t *extra = json_loads(extra_json ? extra_json : "{}", 0, NULL);
	json_t *opts = json_pack("[s, s, s]", "nosuid", "nodev", "noexec");
	json_int_t size = json_integer_value(json_object_get(extra, "size"));
	json_int_t mode = json_integer_value(json_object_get(extra, "mode"));
	char buf[64];

	if (size > 0) {
		snprintf(buf, sizeof(buf), "size=%lld", (long long)size);
		json_array_append_new(opts, json_string(buf));
	}
	if (mode > 0) {
		snprintf(buf, sizeof(buf), "mode=%llo", (long long)mode);
		json_array_append_new(opts, json_string(buf));
	}
	if (!rw)
		json_array_append_new(opts, json_string("ro"));
	if (user && *user) {
		char *s = strdup(user), *save = NULL, *tok;

		for (tok = s ? strtok_r(s, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
			json_array_append_new(opts, json_string(tok));
		free(s);
	}
	json_decref(extra);
	return json_pack("{s:s, s:s, s:s, s:o}", "type", "tmpfs", "source", "tmpfs", "destination",
			 dst, "options", opts);
}

int mounts_bundle(struct daemon *d, const char *id, const char *rootfs, json_t *hc,
		  json_t *mounts, struct shoal_err *err)
{
	size_t n = 0, base = json_array_size(mounts);
	struct st_mount *ms = NULL;
	json_t *tmpfs = json_object_get(hc, "Tmpfs"), *v;
	const char *k;
	int ret;

	ret = st_mount_list(d->vols, id, &ms, &n, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct st_mount *m = &ms[i];
		struct st_volume vol = { 0 };
		char data[PATH_MAX];
		struct stat st;

		if (!strcmp(m->type, "volume")) {
			ret = st_volume_get(d->vols, m->name, &vol, err);
			if (ret < 0)
				break;
			ret = volume_mount(d, &vol, err);
			st_volume_free(&vol);
			if (ret < 0)
				break;
			vol_data_dir(d->cfg.data_root, m->name, data, sizeof(data));
			if (!m->nocopy && vol_dir_is_empty(data)) {
				ret = copy_up(rootfs, m->destination, data, err);
				if (ret < 0)
					break;
			}
			json_array_append_new(mounts, bind_entry(data, m));
		} else if (!strcmp(m->type, "bind")) {
			if (stat(m->source, &st) < 0) {
				ret = err_set(err, ENOENT,
					      "error while mounting %s: bind source path does not exist: %s",
					      m->destination, m->source);
				break;
			}
			json_array_append_new(mounts, bind_entry(m->source, m));
		} else {
			json_array_append_new(mounts, tmpfs_entry(m->destination, m->extra_json, m->rw,
								  NULL));
		}
	}
	st_mount_list_free(ms, n);
	if (ret < 0)
		return ret;
	/* --tmpfs /p[:opts] (HostConfig.Tmpfs): Docker's noexec,nosuid,nodev first. */
	json_object_foreach(tmpfs, k, v) {
		char dst[PATH_MAX];

		ret = check_dest("tmpfs", k, dst, sizeof(dst), err);
		if (ret < 0)
			return ret;
		json_array_append_new(mounts, tmpfs_entry(dst, NULL, true, json_string_value(v)));
	}
	sort_by_depth(mounts, base);
	return 0;
}

json_t *mounts_inspect_json(struct daemon *d, const char *id)
{
	json_t *out = json_array();
	struct st_mount *ms = NULL;
	size_t n = 0;

	if (st_mount_list(d->vols, id, &ms, &n, NULL) < 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		struct st_mount *m = &ms[i];
		char src[PATH_MAX];

		if (!strcmp(m->type, "volume")) {
			vol_data_dir(d->cfg.data_root, m->name, src, sizeof(src));
			json_array_append_new(out, json_pack(
				"{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume", "Name",
				m->name, "Source", src, "Destination", m->destination, "Driver",
				VOL_DRIVER_LOCAL, "Mode", m->mode, "RW", m->rw, "Propagation", ""));
		} else {
			json_array_append_new(out, json_pack(
				"{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", m->type, "Source",
				m->source, "Destination", m->destination, "Mode", m->mode, "RW", m->rw,
				"Propagation", m->propagation));
		}
	}
	st_mount_list_free(ms, n);
	return out;
}
