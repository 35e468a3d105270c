// SPDX-License-Identifier: Apache-2.0
/*
 * manifest.c - image manifests (Docker schema 2, OCI), manifest lists /
 * OCI indexes, and the parts of an image config the store needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "image_int.h"

const char *image_host_arch(void)
{
	static const struct { const char *uname, *goarch; } map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" },
		{ "i686", "386" },     { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" },
	};
	struct utsname u;

	if (uname(&u) == 0)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcmp(u.machine, map[i].uname) == 0)
				return map[i].goarch;
	return "amd64";
}

static json_t *load_json(const char *body, size_t len, struct shoal_err *err, int *ret)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je);

	if (!j)
		*ret = err_set(err, EINVAL, "invalid JSON: %s (line %d)", je.text, je.line);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		*ret = err_set(err, EINVAL, "invalid manifest: not a JSON object");
	}
	return j;
}

int manifest_kind(const char *body, size_t len, const char *content_type, enum manifest_kind *k,
		  struct shoal_err *err)
{
	int ret = 0;
	json_t *j = load_json(body, len, err, &ret);
	const char *mt;
	char ct[128] = "";

	if (!j)
		return ret;
	if (content_type) {
		snprintf(ct, sizeof(ct), "%s", content_type);
		ct[strcspn(ct, "; ")] = '\0';
	}
	mt = json_string_value(json_object_get(j, "mediaType"));
	if (!mt || !*mt)
		mt = ct;
	if (strcmp(mt, MT_DOCKER_LIST) == 0 || strcmp(mt, MT_OCI_INDEX) == 0)
		*k = MANIFEST_INDEX;
	else if (strcmp(mt, MT_DOCKER_MANIFEST) == 0 || strcmp(mt, MT_OCI_MANIFEST) == 0)
		*k = MANIFEST_IMAGE;
	else if (strncmp(mt, "application/vnd.docker.distribution.manifest.v1", 48) == 0 ||
		 json_integer_value(json_object_get(j, "schemaVersion")) == 1)
		ret = err_set(err, EINVAL,
			      "unsupported manifest: Docker image manifest schema 1 (deprecated)");
	else if (json_is_array(json_object_get(j, "manifests")))
		*k = MANIFEST_INDEX;
	else if (json_is_object(json_object_get(j, "config")))
		*k = MANIFEST_IMAGE;
	else
		ret = err_set(err, EINVAL, "unsupported manifest media type \"%s\"", mt);
	json_decref(j);
	return ret;
}

void manifest_free(struct image_manifest *m)
{
	free(m->layers);
	m->layers = NULL;
	m->n_layers = 0;
}

static int descriptor(json_t *d, char digest[DIGEST_LEN], char media[128], int64_t *size,
		      const char *what, struct shoal_err *err)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	const char *mt = json_string_value(json_object_get(d, "mediaType"));

	if (!json_is_object(d) || !dg)
		return err_set(err, EINVAL, "invalid manifest: %s without a digest", what);
	if (!sha256_digest_valid(dg))
		return err_set(err, EINVAL, "invalid manifest: %s digest \"%s\" is not sha256", what,
			       dg);
	snprintf(digest, DIGEST_LEN, "%s", dg);
	if (media)
		snprintf(media, 128, "%s", mt ? mt : "");
	if (size)
		*size = json_integer_value(json_object_get(d, "size"));
	return 0;
}

int manifest_parse(const char *body, size_t len, struct image_manifest *m, struct shoal_err *err)
{
	int ret = 0;
	json_t *j = load_json(body, len, err, &ret), *layers, *l;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!j)
		return ret;
	snprintf(m->media_type, sizeof(m->media_type), "%s",
		 json_string_value(json_object_get(j, "mediaType")) ?: "");
	ret = descriptor(json_object_get(j, "config"), m->config_digest, NULL, NULL, "config", err);
	if (ret)
		goto out;
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		ret = err_set(err, EINVAL, "invalid manifest: no layers array");
		goto out;
	}
	m->n_layers = json_array_size(layers);
	m->layers = calloc(m->n_layers ? m->n_layers : 1, sizeof(*m->layers));
	if (!m->layers) {
		ret = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(layers, i, l) {
		struct manifest_layer *ml = &m->layers[i];

		ret = descriptor(l, ml->digest, ml->media_type, &ml->size, "layer", err);
		if (ret)
			goto out;
		if (strstr(ml->media_type, "foreign") || strstr(ml->media_type, "nondistributable")) {
			ret = err_set(err, EINVAL, "unsupported layer media type \"%s\"",
				      ml->media_type);
			goto out;
		}
	}
out:
	json_decref(j);
	if (ret)
		manifest_free(m);
	return ret;
}

int manifest_index_pick(const char *body, size_t len, const char *os, const char *arch,
			char digest_out[DIGEST_LEN], char media_out[128], struct shoal_err *err)
{
	int ret = 0;
	json_t *j = load_json(body, len, err, &ret), *ms, *m;
	size_t i;

	if (!j)
		return ret;
	ms = json_object_get(j, "manifests");
	ret = err_set(err, ENOENT, "no matching manifest for %s/%s in the manifest list entries",
		      os, arch);
	json_array_foreach(ms, i, m) {
		json_t *pl = json_object_get(m, "platform");
		const char *o = json_string_value(json_object_get(pl, "os"));
		const char *a = json_string_value(json_object_get(pl, "architecture"));
		const char *v = json_string_value(json_object_get(pl, "variant"));

		if (!o || !a || strcmp(o, os) != 0 || strcmp(a, arch) != 0)
			continue;
		/* arm64 images are v8; 32-bit arm: prefer v7 (what Docker picks on
		 * a v7 host), else take the first */
		if (strcmp(arch, "arm") == 0 && v && strcmp(v, "v7") != 0)
			continue;
		ret = descriptor(m, digest_out, media_out, NULL, "manifest list entry", err);
		break;
	}
	json_decref(j);
	return ret;
}

int config_diff_ids(json_t *cfg, char (**ids)[DIGEST_LEN], size_t *n, struct shoal_err *err)
{
	json_t *rootfs = json_object_get(cfg, "rootfs"), *arr, *d;
	const char *type = json_string_value(json_object_get(rootfs, "type"));
	size_t i;

	*ids = NULL;
	*n = 0;
	if (!json_is_object(cfg))
		return err_set(err, EINVAL, "invalid image config: not a JSON object");
	if (!type || strcmp(type, "layers") != 0)
		return err_set(err, EINVAL, "invalid image config: rootfs.type is not \"layers\"");
	arr = json_object_get(rootfs, "diff_ids");
	if (arr && !json_is_array(arr))
		return err_set(err, EINVAL, "invalid image config: rootfs.diff_ids is not an array");
	*ids = calloc(json_array_size(arr) + 1, DIGEST_LEN);
	if (!*ids)
		return err_set(err, ENOMEM, "out of memory");
	json_array_foreach(arr, i, d) {
		const char *s = json_string_value(d);

		if (!s || !sha256_digest_valid(s)) {
			free(*ids);
			*ids = NULL;
			return err_set(err, EINVAL, "invalid image config: bad diff_id \"%s\"",
				       s ? s : "?");
		}
		snprintf((*ids)[i], DIGEST_LEN, "%s", s);
	}
	*n = json_array_size(arr);
	return 0;
}

int parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	int off = 0;

	if (!s)
		return -EINVAL;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -EINVAL;
		off = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}
