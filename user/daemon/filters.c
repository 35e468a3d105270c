// SPDX-License-Identifier: Apache-2.0
/*
 * filters.c - Docker's API filters, shared by the volume, network,
 * container and image endpoints (see filters.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config/config.h"
#include "filters.h"

int filters_normalise(json_t *filters, const char *const *known, size_t n_known,
		      struct shoal_err *err)
{
	const char *key;
	json_t *vals;

	if (!filters)
		return 0;
	if (!json_is_object(filters))
		return err_set(err, EINVAL, "filters must be a JSON object of string arrays");
	json_object_foreach(filters, key, vals) {
		bool ok = false;

		for (size_t i = 0; i < n_known; i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok)
			return err_set(err, EINVAL, "Invalid filter '%s'", key);
		if (json_is_object(vals)) {
			json_t *arr = json_array(), *b;
			const char *k;

			json_object_foreach(vals, k, b)
				if (json_is_true(b))
					json_array_append_new(arr, json_string(k));
			json_object_set_new(filters, key, arr);
		} else if (!json_is_array(vals)) {
			return err_set(err, EINVAL, "filter '%s' must be an array of strings", key);
		}
	}
	return 0;
}

/* "true"/"1" -> 1, "false"/"0" -> 0, else -1. */
static int bool_value(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "1"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "0"))
		return 0;
	return -1;
}

int filters_bool(json_t *filters, const char *key, struct shoal_err *err)
{
	json_t *vals = json_object_get(filters, key), *v;
	int want = -1;
	size_t i;

	json_array_foreach(vals, i, v) {
		const char *s = json_string_value(v);
		int b = s ? bool_value(s) : -1;

		if (b < 0)
			return err_set(err, EINVAL, "Invalid filter '%s=[%s]'", key, s ? s : "");
		want = b;
	}
	return want;
}

bool filters_label_match(json_t *labels, const char *f)
{
	const char *eq = strchr(f, '=');
	char k[512];
	json_t *lv;

	if (!eq)
		return json_object_get(labels, f) != NULL;
	snprintf(k, sizeof(k), "%.*s", (int)(eq - f), f);
	lv = json_object_get(labels, k);
	return lv && json_is_string(lv) && strcmp(json_string_value(lv), eq + 1) == 0;
}

bool filters_labels_ok(json_t *filters, json_t *labels)
{
	json_t *x;
	size_t i;

	json_array_foreach(json_object_get(filters, "label"), i, x)
		if (!filters_label_match(labels, json_string_value(x) ? json_string_value(x) : ""))
			return false;
	json_array_foreach(json_object_get(filters, "label!"), i, x)
		if (filters_label_match(labels, json_string_value(x) ? json_string_value(x) : ""))
			return false;
	return true;
}

/* One "until" value into unix seconds; -1 if it is none of the forms. */
static int64_t until_value(const char *s, time_t now)
{
	struct tm tm = { 0 };
	int64_t secs;
	char *end;
	double t;
	const char *p;

	if (!*s)
		return -1;
	t = strtod(s, &end);
	if (*end == '\0' && (s[0] >= '0' && s[0] <= '9'))
		return (int64_t)t;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%d", &tm);
		if (p && *p == '\0')
			return (int64_t)timegm(&tm);
		p = NULL;
	}
	if (p) {
		int off = 0, hh, mm;

		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2) {
			off = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
			p += 6;
		}
		return *p ? -1 : (int64_t)timegm(&tm) - off;
	}
	if (config_parse_duration(s, &secs) == 0)
		return (int64_t)now - secs;
	return -1;
}

int filters_until(json_t *filters, int64_t *until, struct shoal_err *err)
{
	json_t *vals = json_object_get(filters, "until"), *v;
	time_t now = time(NULL);
	size_t i;

	*until = 0;
	if (json_array_size(vals) > 1)
		return err_set(err, EINVAL, "more than one until filter specified");
	json_array_foreach(vals, i, v) {
		const char *s = json_string_value(v);
		int64_t t = s ? until_value(s, now) : -1;

		if (t < 0)
			return err_set(err, EINVAL,
				       "invalid filter 'until=%s': want a unix time, an RFC 3339 date or a duration such as 24h",
				       s ? s : "");
		*until = t;
	}
	return 0;
}
