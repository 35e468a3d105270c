// SPDX-License-Identifier: Apache-2.0
/*
 * ref.c - image references the way Docker parses them
 * (distribution/reference: ParseNormalizedNamed, FamiliarName), and
 * chain IDs.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "image_int.h"

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool valid_component(const char *p, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alnum_lower(p[0]) || !is_alnum_lower(p[n - 1]))
		return false;
	while (i < n) {
		if (is_alnum_lower(p[i])) {
			i++;
			continue;
		}
		/* a separator, then an alphanumeric must follow */
		if (p[i] == '.') {
			i++;
		} else if (p[i] == '_') {
			i++;
			if (i < n && p[i] == '_')
				i++;
		} else if (p[i] == '-') {
			while (i < n && p[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !is_alnum_lower(p[i]))
			return false;
	}
	return true;
}

static bool valid_path(const char *p)
{
	const char *c = p, *slash;

	for (;;) {
		slash = strchr(c, '/');
		if (!valid_component(c, slash ? (size_t)(slash - c) : strlen(c)))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

/* domain-component ('.' domain-component)* (':' port)? */
static bool valid_domain(const char *d)
{
	const char *colon = strrchr(d, ':');
	size_t n = colon ? (size_t)(colon - d) : strlen(d), i, start = 0;

	if (n == 0)
		return false;
	if (colon) {
		if (!colon[1])
			return false;
		for (const char *q = colon + 1; *q; q++)
			if (!isdigit((unsigned char)*q))
				return false;
	}
	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (i == start || d[start] == '-' || d[i - 1] == '-')
				return false;
			start = i + 1;
		} else if (!isalnum((unsigned char)d[i]) && d[i] != '-') {
			return false;
		}
	}
	return true;
}

/* [\w][\w.-]{0,127} */
static bool valid_tag(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

bool image_ref_is_full_id(const char *s)
{
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	return sha256_hex_valid(s);
}

int image_ref_parse(const char *s, struct image_ref *r, struct shoal_err *err)
{
	char buf[512], *rest, *at, *colon, *slash;
	const char *first_slash;
	size_t n = strlen(s);

	memset(r, 0, sizeof(*r));
	if (n == 0)
		return err_set(err, EINVAL, "invalid reference format: empty reference");
	if (n >= sizeof(buf))
		return err_set(err, EINVAL, "invalid reference format: repository name must not be more than 255 characters");
	if (sha256_hex_valid(s))
		return err_set(err, EINVAL,
			       "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
	memcpy(buf, s, n + 1);

	/* the digest */
	at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (!sha256_digest_valid(at + 1))
			return err_set(err, EINVAL, "invalid reference format: bad digest in %s", s);
		snprintf(r->digest, sizeof(r->digest), "%s", at + 1);
	}
	/* the domain: a first component with '.' or ':', or "localhost";
	 * an uppercase first component is a domain too (as Docker) */
	first_slash = strchr(buf, '/');
	rest = buf;
	if (first_slash) {
		size_t dl = (size_t)(first_slash - buf);
		bool dom = memchr(buf, '.', dl) || memchr(buf, ':', dl) ||
			   (dl == 9 && strncmp(buf, "localhost", 9) == 0);

		for (size_t i = 0; i < dl && !dom; i++)
			if (isupper((unsigned char)buf[i]))
				dom = true;
		if (dom) {
			if (dl >= sizeof(r->domain))
				return err_set(err, EINVAL, "invalid reference format");
			memcpy(r->domain, buf, dl);
			r->domain[dl] = '\0';
			rest = buf + dl + 1;
		}
	}
	if (!r->domain[0])
		snprintf(r->domain, sizeof(r->domain), REF_DOMAIN_DEFAULT);
	if (strcmp(r->domain, "index.docker.io") == 0)
		snprintf(r->domain, sizeof(r->domain), REF_DOMAIN_DEFAULT);
	if (!valid_domain(r->domain))
		return err_set(err, EINVAL, "invalid reference format: bad registry host in %s", s);

	/* the tag: after the last ':' of the last component */
	slash = strrchr(rest, '/');
	colon = strrchr(slash ? slash : rest, ':');
	if (colon) {
		*colon = '\0';
		if (!valid_tag(colon + 1))
			return err_set(err, EINVAL, "invalid reference format: bad tag in %s", s);
		snprintf(r->tag, sizeof(r->tag), "%s", colon + 1);
		r->tag_given = true;
	}
	for (const char *q = rest; *q; q++)
		if (isupper((unsigned char)*q))
			return err_set(err, EINVAL,
				       "invalid reference format: repository name (%s) must be lowercase",
				       rest);
	if (!valid_path(rest))
		return err_set(err, EINVAL, "invalid reference format: %s", s);
	if (strcmp(r->domain, REF_DOMAIN_DEFAULT) == 0 && !strchr(rest, '/')) {
		if (snprintf(r->path, sizeof(r->path), "library/%s", rest) >= (int)sizeof(r->path))
			return err_set(err, EINVAL, "invalid reference format: name too long");
	} else {
		if (snprintf(r->path, sizeof(r->path), "%s", rest) >= (int)sizeof(r->path))
			return err_set(err, EINVAL, "invalid reference format: name too long");
	}
	if (strlen(r->domain) + 1 + strlen(r->path) > 255)
		return err_set(err, EINVAL,
			       "invalid reference format: repository name must not be more than 255 characters");
	if (!r->tag[0] && !r->digest[0])
		snprintf(r->tag, sizeof(r->tag), "latest");
	return 0;
}

void image_ref_name(const struct image_ref *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", r->domain, r->path);
}

void image_name_familiar(const char *name, char *buf, size_t len)
{
	const char *p = name;

	if (strncmp(p, REF_DOMAIN_DEFAULT "/", strlen(REF_DOMAIN_DEFAULT) + 1) == 0) {
		p += strlen(REF_DOMAIN_DEFAULT) + 1;
		if (strncmp(p, "library/", 8) == 0 && !strchr(p + 8, '/'))
			p += 8;
	}
	snprintf(buf, len, "%s", p);
}

void image_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN])
{
	struct sha256 c;

	if (!parent_chain || !parent_chain[0]) {
		snprintf(out, DIGEST_LEN, "%s", diff_id);
		return;
	}
	sha256_init(&c);
	sha256_update(&c, parent_chain, strlen(parent_chain));
	sha256_update(&c, " ", 1);
	sha256_update(&c, diff_id, strlen(diff_id));
	sha256_final_str(&c, out);
}
