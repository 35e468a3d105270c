// SPDX-License-Identifier: Apache-2.0
/*
 * broadcast.c - the transmit-limited queue: every queued message is sent a
 * bounded number of times (retransmit_mult * ceil(log10(n+1))), least-sent
 * and then newest first, several per packet. A message about the same
 * thing (same key) replaces the older one, so only the latest state of a
 * member or a record travels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int bq_push(struct bqueue *q, const char *key, const uint8_t *msg, size_t len)
{
	uint8_t *copy = malloc(len);
	struct bq_item *it;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, msg, len);
	for (size_t i = 0; i < q->n; i++) {
		it = &q->v[i];
		if (strcmp(it->key, key) == 0) {
			free(it->msg);
			it->msg = copy;
			it->len = len;
			it->transmits = 0;
			it->id = q->next_id++;
			it->eager_sent = false;
			return 0;
		}
	}
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 32;
		struct bq_item *nv = realloc(q->v, nc * sizeof(*nv));

		if (!nv) {
			free(copy);
			return -ENOMEM;
		}
		q->v = nv;
		q->cap = nc;
	}
	it = &q->v[q->n++];
	snprintf(it->key, sizeof(it->key), "%s", key);
	it->msg = copy;
	it->len = len;
	it->transmits = 0;
	it->id = q->next_id++;
	it->eager_sent = false;
	return 1;
}

static int item_cmp(const void *a, const void *b)
{
	const struct bq_item *x = a, *y = b;

	if (x->transmits != y->transmits)
		return x->transmits < y->transmits ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id ? 1 : 0;
}

size_t bq_take(struct bqueue *q, uint32_t limit, size_t budget, size_t per_part,
	       uint8_t *out, size_t cap, const uint8_t **parts, size_t *lens, size_t maxparts)
{
	size_t n = 0, used = 0, j = 0;

	if (!q->n)
		return 0;
	qsort(q->v, q->n, sizeof(*q->v), item_cmp);
	for (size_t i = 0; i < q->n && n < maxparts; i++) {
		struct bq_item *it = &q->v[i];

		if (it->len + per_part > budget || used + it->len > cap)
			continue;
		memcpy(out + used, it->msg, it->len);
		parts[n] = out + used;
		lens[n++] = it->len;
		used += it->len;
		budget -= it->len + per_part;
		it->transmits++;
		if (budget < per_part + 8)
			break;
	}
	/* drop what has been sent often enough */
	for (size_t i = 0; i < q->n; i++) {
		if (q->v[i].transmits >= limit) {
			free(q->v[i].msg);
			continue;
		}
		q->v[j++] = q->v[i];
	}
	q->n = j;
	return n;
}

size_t bq_take_eager(struct bqueue *q, size_t budget, size_t per_part, uint8_t *out,
		     size_t cap, const uint8_t **parts, size_t *lens, size_t maxparts)
{
	size_t n = 0, used = 0;

	for (size_t i = q->n; i-- > 0 && n < maxparts;) { /* newest last: walk back */
		struct bq_item *it = &q->v[i];

		if (it->eager_sent || it->len + per_part > budget || used + it->len > cap)
			continue;
		memcpy(out + used, it->msg, it->len);
		parts[n] = out + used;
		lens[n++] = it->len;
		used += it->len;
		budget -= it->len + per_part;
	}
	return n;
}

void bq_eager_done(struct bqueue *q)
{
	for (size_t i = 0; i < q->n; i++)
		q->v[i].eager_sent = true;
}

void bq_clear(struct bqueue *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->v[i].msg);
	free(q->v);
	memset(q, 0, sizeof(*q));
}
