// SPDX-License-Identifier: Apache-2.0
/*
 * url.c - the cluster-store URL (kv.h): scheme, host:port list, prefix.
 * No I/O: config validation and the unit tests use it too.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

const char *kv_backend_name(enum kv_backend b)
{
	return b == KV_ETCD ? "etcd" : b == KV_ZK ? "zk" : "?";
}

static int parse_host(const char *url, const char *h, size_t len, struct kv_url *u,
		      struct shoal_err *err)
{
	const char *colon = memchr(h, ':', len), *p;
	char port[8];
	size_t hl, pl;
	long v;

	if (len == 0)
		return err_set(err, EINVAL, "cluster store \"%s\": empty host in the host list", url);
	if (!colon)
		return err_set(err, EINVAL, "cluster store \"%s\": \"%.*s\" has no port (HOST:PORT)",
			       url, (int)len, h);
	hl = (size_t)(colon - h);
	pl = len - hl - 1;
	if (hl == 0)
		return err_set(err, EINVAL, "cluster store \"%s\": \"%.*s\" has no host", url,
			       (int)len, h);
	for (p = h; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return err_set(err, EINVAL, "cluster store \"%s\": invalid host \"%.*s\"", url,
				       (int)hl, h);
	if (pl == 0 || pl > 5)
		return err_set(err, EINVAL, "cluster store \"%s\": invalid port in \"%.*s\"", url,
			       (int)len, h);
	memcpy(port, colon + 1, pl);
	port[pl] = '\0';
	for (p = port; *p; p++)
		if (!isdigit((unsigned char)*p))
			return err_set(err, EINVAL, "cluster store \"%s\": invalid port \"%s\"", url, port);
	v = strtol(port, NULL, 10);
	if (v < 1 || v > 65535)
		return err_set(err, EINVAL, "cluster store \"%s\": port %ld is not in 1..65535", url, v);
	if (u->n_hosts == KV_MAX_HOSTS)
		return err_set(err, EINVAL, "cluster store \"%s\": more than %d hosts", url,
			       KV_MAX_HOSTS);
	if (len >= KV_HOST_LEN)
		return err_set(err, EINVAL, "cluster store \"%s\": host name too long", url);
	memcpy(u->hosts[u->n_hosts], h, len);
	u->hosts[u->n_hosts++][len] = '\0';
	return 0;
}

/* "/a/b" or "/a/b/" -> "/a/b/"; components [A-Za-z0-9._-], not "." or "..". */
static int parse_prefix(const char *url, const char *s, struct kv_url *u, struct shoal_err *err)
{
	size_t len = strlen(s), o = 0;
	const char *c = s;

	if (len == 0 || strcmp(s, "/") == 0) {
		snprintf(u->prefix, sizeof(u->prefix), "%s", KV_DEFAULT_PREFIX);
		return 0;
	}
	if (len + 2 > sizeof(u->prefix))
		return err_set(err, EINVAL, "cluster store \"%s\": prefix longer than %zu characters",
			       url, sizeof(u->prefix) - 3);
	while (*c == '/' && c[1]) {
		const char *end = strchr(c + 1, '/');
		size_t cl = end ? (size_t)(end - c - 1) : strlen(c + 1);

		if (cl == 0)
			return err_set(err, EINVAL, "cluster store \"%s\": invalid prefix \"%s\" (empty "
				       "path component)", url, s);
		if ((cl == 1 && c[1] == '.') || (cl == 2 && c[1] == '.' && c[2] == '.'))
			return err_set(err, EINVAL, "cluster store \"%s\": invalid prefix \"%s\" (\".\" "
				       "and \"..\" are not allowed)", url, s);
		for (size_t i = 1; i <= cl; i++)
			if (!isalnum((unsigned char)c[i]) && c[i] != '.' && c[i] != '_' && c[i] != '-')
				return err_set(err, EINVAL, "cluster store \"%s\": invalid character '%c' "
					       "in prefix \"%s\" (allowed: A-Z a-z 0-9 . _ - and /)",
					       url, c[i], s);
		u->prefix[o++] = '/';
		memcpy(u->prefix + o, c + 1, cl);
		o += cl;
		if (!end || !end[1])
			break;
		c = end;
	}
	u->prefix[o++] = '/';
	u->prefix[o] = '\0';
	return 0;
}

int kv_url_parse(const char *s, struct kv_url *u, struct shoal_err *err)
{
	const char *rest, *slash, *h;
	int ret;

	memset(u, 0, sizeof(*u));
	if (!s || !*s)
		return err_set(err, EINVAL, "empty cluster store URL");
	if (strncmp(s, "etcd://", 7) == 0) {
		u->backend = KV_ETCD;
		rest = s + 7;
	} else if (strncmp(s, "zk://", 5) == 0) {
		u->backend = KV_ZK;
		rest = s + 5;
	} else {
		const char *sep = strstr(s, "://");
		return err_set(err, EINVAL, "cluster store \"%s\": unsupported scheme \"%.*s\" (etcd:// "
			       "or zk://)", s, sep ? (int)(sep - s) : (int)strlen(s), s);
	}
	slash = strchr(rest, '/');
	if (!slash)
		slash = rest + strlen(rest);
	if (slash == rest)
		return err_set(err, EINVAL, "cluster store \"%s\": no HOST:PORT", s);
	for (h = rest; h < slash;) {
		const char *comma = memchr(h, ',', (size_t)(slash - h));
		const char *end = comma ? comma : slash;

		ret = parse_host(s, h, (size_t)(end - h), u, err);
		if (ret < 0)
			return ret;
		h = comma ? comma + 1 : slash;
		if (comma && h == slash)
			return err_set(err, EINVAL, "cluster store \"%s\": empty host in the host list", s);
	}
	if (strpbrk(slash, "?#"))
		return err_set(err, EINVAL, "cluster store \"%s\": query strings and fragments are not "
			       "supported", s);
	return parse_prefix(s, slash, u, err);
}
