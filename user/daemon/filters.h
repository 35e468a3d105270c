/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filters.h - Docker's API filters ({"key": ["value", ...]}) as the
 * list, prune and ls endpoints take them: normalised, checked against
 * the keys an endpoint knows, boolean keys, label matching and the
 * "until" cut-off of the prune endpoints.
 */
#ifndef SHOAL_DAEMON_FILTERS_H
#define SHOAL_DAEMON_FILTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"

/* Normalise the older {"k": {"v": true}} form to arrays and refuse keys
 * not in known with Docker's "Invalid filter 'k'". NULL filters is fine. */
int filters_normalise(json_t *filters, const char *const *known, size_t n_known,
		      struct shoal_err *err);
/* A boolean key (dangling, all): -1 absent, 0 or 1, or -EINVAL. */
int filters_bool(json_t *filters, const char *key, struct shoal_err *err);
/* Value "k" or "k=v" of a label filter against a labels object. */
bool filters_label_match(json_t *labels, const char *f);
/* All "label" values match and no "label!" value does. */
bool filters_labels_ok(json_t *filters, json_t *labels);
/* "until": a unix time ("1700000000[.5]"), an RFC 3339 date
 * ("2026-11-28T05:00:00Z", "2026-11-28") or a duration before now
 * ("10m", "24h"), as Docker's prune filters take it. *until = 0 when
 * absent; -EINVAL naming the value otherwise. */
int filters_until(json_t *filters, int64_t *until, struct shoal_err *err);

#endif
