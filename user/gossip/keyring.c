// SPDX-License-Identifier: Apache-2.0
/*
 * keyring.c - AES-256-GCM keyring (libsodium), sealing/opening of gossip
 * messages and the replay guard. See keyring.h for the wire format.
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyring.h"
#include "../common/sha256.h"

/* A bounded FIFO set of nonces, chained hash for lookups. */
struct nslot {
	uint8_t nonce[KEYRING_NONCE_LEN];
	int32_t next;
	uint64_t ts;
};

struct ncache {
	uint32_t cap, nbuckets, head, count;
	struct nslot *slots;
	int32_t *buckets;
};

/* Key material lives in guarded memory; st first for its 16 B alignment. */
struct kr_secret {
	crypto_aead_aes256gcm_state st[KEYRING_MAX_KEYS];
	uint8_t key[KEYRING_MAX_KEYS][KEYRING_KEY_LEN];
};

struct keyring {
	pthread_mutex_t mu;
	struct kr_secret *sec;
	size_t sec_size;
	int n;                /* keys installed; index 0 is the primary */
	int64_t installed[KEYRING_MAX_KEYS];
	uint64_t sealed[KEYRING_MAX_KEYS];
	struct ncache sent;   /* recent nonces of this keyring: reuse check */
	uint64_t redraws;
};

struct keyring_guard {
	pthread_mutex_t mu;
	uint32_t window_ms;
	uint64_t floor_ts;    /* ts <= floor: rejected (evicted from a full cache) */
	struct ncache seen;
	uint64_t rejects[KR_REJ_MAX];
};

static uint32_t nhash(const uint8_t n[KEYRING_NONCE_LEN], uint32_t nb)
{
	uint64_t a, b = 0;

	memcpy(&a, n, 8);
	memcpy(&b, n + 8, 4);
	a ^= b * 0x9e3779b97f4a7c15ULL;
	a *= 0xff51afd7ed558ccdULL;
	return (uint32_t)((a >> 32) % nb);
}

static int nc_init(struct ncache *c, uint32_t cap)
{
	memset(c, 0, sizeof(*c));
	c->cap = cap ? cap : 1;
	c->nbuckets = c->cap * 2 + 1;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	c->buckets = malloc(sizeof(int32_t) * c->nbuckets);
	if (!c->slots || !c->buckets) {
		free(c->slots);
		free(c->buckets);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->nbuckets; i++)
		c->buckets[i] = -1;
	return 0;
}

static void nc_fini(struct ncache *c)
{
	free(c->slots);
	free(c->buckets);
	memset(c, 0, sizeof(*c));
}

static bool nc_has(const struct ncache *c, const uint8_t n[KEYRING_NONCE_LEN])
{
	for (int32_t i = c->buckets[nhash(n, c->nbuckets)]; i >= 0; i = c->slots[i].next)
		if (memcmp(c->slots[i].nonce, n, KEYRING_NONCE_LEN) == 0)
			return true;
	return false;
}

/* Drop the oldest entry; returns its timestamp. */
static uint64_t nc_evict(struct ncache *c)
{
	uint32_t idx = c->head;
	struct nslot *s = &c->slots[idx];
	int32_t *pp = &c->buckets[nhash(s->nonce, c->nbuckets)];

	while (*pp >= 0 && *pp != (int32_t)idx)
		pp = &c->slots[*pp].next;
	if (*pp == (int32_t)idx)
		*pp = s->next;
	c->head = (c->head + 1) % c->cap;
	c->count--;
	return s->ts;
}

/* Add; when full, evict first and return 1 with *evicted_ts set. */
static int nc_add(struct ncache *c, const uint8_t n[KEYRING_NONCE_LEN], uint64_t ts,
		  uint64_t *evicted_ts)
{
	int ev = 0;
	uint32_t idx, b;

	if (c->count == c->cap) {
		*evicted_ts = nc_evict(c);
		ev = 1;
	}
	idx = (c->head + c->count) % c->cap;
	b = nhash(n, c->nbuckets);
	memcpy(c->slots[idx].nonce, n, KEYRING_NONCE_LEN);
	c->slots[idx].ts = ts;
	c->slots[idx].next = c->buckets[b];
	c->buckets[b] = (int32_t)idx;
	c->count++;
	return ev;
}

void keyring_fingerprint(const uint8_t key[KEYRING_KEY_LEN], char out[KEYRING_FP_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_LEN];

	sha256_buf(key, KEYRING_KEY_LEN, d);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[16] = '\0';
	sodium_memzero(d, sizeof(d));
}

int keyring_new(const uint8_t key[KEYRING_KEY_LEN], struct keyring **out,
		struct shoal_err *err)
{
	struct keyring *kr;

	*out = NULL;
	if (sodium_init() < 0)
		return err_set(err, EIO, "libsodium initialisation failed");
	if (!crypto_aead_aes256gcm_is_available())
		return err_set(err, ENOTSUP,
			       "this CPU lacks AES-NI/PCLMUL: refusing to fall back to a weaker cipher");
	kr = calloc(1, sizeof(*kr));
	if (!kr)
		return err_set(err, ENOMEM, "keyring: out of memory");
	/* sodium_malloc aligns the end of the region: keep the size a multiple of 64 */
	kr->sec_size = (sizeof(struct kr_secret) + 63) & ~(size_t)63;
	kr->sec = sodium_malloc(kr->sec_size);
	if (!kr->sec || nc_init(&kr->sent, 65536) < 0) {
		if (kr->sec)
			sodium_free(kr->sec);
		free(kr);
		return err_set(err, ENOMEM, "keyring: out of memory");
	}
	sodium_memzero(kr->sec, kr->sec_size);
	pthread_mutex_init(&kr->mu, NULL);
	memcpy(kr->sec->key[0], key, KEYRING_KEY_LEN);
	crypto_aead_aes256gcm_beforenm(&kr->sec->st[0], key);
	kr->installed[0] = time(NULL);
	kr->n = 1;
	*out = kr;
	return 0;
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	sodium_free(kr->sec); /* wipes */
	nc_fini(&kr->sent);
	pthread_mutex_destroy(&kr->mu);
	free(kr);
}

static int kr_find(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN])
{
	for (int i = 0; i < kr->n; i++)
		if (sodium_memcmp(kr->sec->key[i], key, KEYRING_KEY_LEN) == 0)
			return i;
	return -1;
}

static void kr_swap(struct keyring *kr, int a, int b)
{
	struct kr_secret *s = kr->sec;
	crypto_aead_aes256gcm_state st;
	uint8_t k[KEYRING_KEY_LEN];
	int64_t t;
	uint64_t u;

	if (a == b)
		return;
	st = s->st[a], s->st[a] = s->st[b], s->st[b] = st;
	memcpy(k, s->key[a], sizeof(k));
	memcpy(s->key[a], s->key[b], sizeof(k));
	memcpy(s->key[b], k, sizeof(k));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(&st, sizeof(st));
	t = kr->installed[a], kr->installed[a] = kr->installed[b], kr->installed[b] = t;
	u = kr->sealed[a], kr->sealed[a] = kr->sealed[b], kr->sealed[b] = u;
}

int keyring_install(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN],
		    struct shoal_err *err)
{
	char fp[KEYRING_FP_LEN];
	int ret = 0;

	pthread_mutex_lock(&kr->mu);
	if (kr_find(kr, key) >= 0)
		goto out;
	if (kr->n == KEYRING_MAX_KEYS) {
		keyring_fingerprint(key, fp);
		ret = err_set(err, ENOSPC,
			      "keyring full (%d keys): remove one before installing %s",
			      KEYRING_MAX_KEYS, fp);
		goto out;
	}
	memcpy(kr->sec->key[kr->n], key, KEYRING_KEY_LEN);
	crypto_aead_aes256gcm_beforenm(&kr->sec->st[kr->n], key);
	kr->installed[kr->n] = time(NULL);
	kr->sealed[kr->n] = 0;
	kr->n++;
out:
	pthread_mutex_unlock(&kr->mu);
	return ret;
}

int keyring_use(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN], struct shoal_err *err)
{
	char fp[KEYRING_FP_LEN];
	int i, ret = 0;

	pthread_mutex_lock(&kr->mu);
	i = kr_find(kr, key);
	if (i < 0) {
		keyring_fingerprint(key, fp);
		ret = err_set(err, ENOENT, "key %s is not installed", fp);
	} else {
		kr_swap(kr, 0, i);
	}
	pthread_mutex_unlock(&kr->mu);
	return ret;
}

int keyring_remove(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN],
		   struct shoal_err *err)
{
	char fp[KEYRING_FP_LEN];
	int i, ret = 0;

	pthread_mutex_lock(&kr->mu);
	i = kr_find(kr, key);
	if (i == 0) {
		keyring_fingerprint(key, fp);
		ret = err_set(err, EBUSY, "key %s is the primary key: use another key first", fp);
	} else if (i > 0) {
		kr_swap(kr, i, kr->n - 1);
		kr->n--;
		sodium_memzero(kr->sec->key[kr->n], KEYRING_KEY_LEN);
		sodium_memzero(&kr->sec->st[kr->n], sizeof(kr->sec->st[0]));
	}
	pthread_mutex_unlock(&kr->mu);
	return ret;
}

int keyring_list(struct keyring *kr, struct keyring_info out[KEYRING_MAX_KEYS])
{
	int n;

	pthread_mutex_lock(&kr->mu);
	n = kr->n;
	for (int i = 0; i < n; i++) {
		keyring_fingerprint(kr->sec->key[i], out[i].fingerprint);
		out[i].installed = kr->installed[i];
		out[i].primary = i == 0;
		out[i].sealed = kr->sealed[i];
	}
	pthread_mutex_unlock(&kr->mu);
	return n;
}

int keyring_export(struct keyring *kr, uint8_t keys[KEYRING_MAX_KEYS][KEYRING_KEY_LEN],
		   int64_t installed[KEYRING_MAX_KEYS])
{
	int n;

	pthread_mutex_lock(&kr->mu);
	n = kr->n;
	for (int i = 0; i < n; i++) {
		memcpy(keys[i], kr->sec->key[i], KEYRING_KEY_LEN);
		if (installed)
			installed[i] = kr->installed[i];
	}
	pthread_mutex_unlock(&kr->mu);
	return n;
}

uint64_t keyring_nonce_redraws(struct keyring *kr)
{
	uint64_t r;

	pthread_mutex_lock(&kr->mu);
	r = kr->redraws;
	pthread_mutex_unlock(&kr->mu);
	return r;
}

size_t keyring_sealed_len(const char *sender, size_t len)
{
	return KEYRING_OVERHEAD + 1 + strlen(sender) + 8 + len;
}

static size_t ad_build(uint8_t ad[1 + KEYRING_LABEL_MAX], const char *label)
{
	size_t l = strlen(label);

	ad[0] = KEYRING_VERSION;
	memcpy(ad + 1, label, l);
	return 1 + l;
}

ssize_t keyring_seal(struct keyring *kr, const char *label, const char *sender,
		     uint64_t ts_ms, const void *payload, size_t len, uint8_t *out,
		     size_t cap)
{
	size_t sl = strlen(sender), ptlen = 1 + sl + 8 + len, total;
	uint8_t ad[1 + KEYRING_LABEL_MAX], *pt, *nonce = out + 1;
	unsigned long long clen = 0;
	uint64_t dummy;
	size_t adlen;

	if (sl == 0 || sl > KEYRING_SENDER_MAX || strlen(label) > KEYRING_LABEL_MAX)
		return -EINVAL;
	total = KEYRING_OVERHEAD + ptlen;
	if (total > cap)
		return -ENOSPC;
	pt = malloc(ptlen);
	if (!pt)
		return -ENOMEM;
	pt[0] = (uint8_t)sl;
	memcpy(pt + 1, sender, sl);
	for (int i = 0; i < 8; i++)
		pt[1 + sl + i] = (uint8_t)(ts_ms >> (56 - 8 * i));
	if (len)
		memcpy(pt + 1 + sl + 8, payload, len);
	adlen = ad_build(ad, label);

	out[0] = KEYRING_VERSION;
	pthread_mutex_lock(&kr->mu);
	/* random 96-bit nonce, redrawn should this process have used it */
	do {
		randombytes_buf(nonce, KEYRING_NONCE_LEN);
	} while (nc_has(&kr->sent, nonce) && ++kr->redraws);
	nc_add(&kr->sent, nonce, 0, &dummy);
	crypto_aead_aes256gcm_encrypt_afternm(out + 1 + KEYRING_NONCE_LEN, &clen, pt, ptlen, ad,
					      adlen, NULL, nonce, &kr->sec->st[0]);
	kr->sealed[0]++;
	pthread_mutex_unlock(&kr->mu);
	sodium_memzero(pt, ptlen);
	free(pt);
	return (ssize_t)total;
}

static int reject(struct keyring_guard *g, enum keyring_reject r)
{
	if (g) {
		pthread_mutex_lock(&g->mu);
		g->rejects[r]++;
		pthread_mutex_unlock(&g->mu);
	}
	return -(int)(r + 1);
}

int keyring_open(struct keyring *kr, struct keyring_guard *g, const char *label,
		 const uint8_t *in, size_t len, uint64_t now_ms, uint8_t *out,
		 size_t cap, struct keyring_opened *o)
{
	uint8_t ad[1 + KEYRING_LABEL_MAX];
	unsigned long long mlen = 0;
	const uint8_t *nonce;
	size_t adlen, sl;
	int ok = -1, ki = -1;
	uint64_t ts = 0, ev;

	if (len < 1)
		return reject(g, KR_REJ_TRUNCATED);
	if (in[0] != KEYRING_VERSION)
		return reject(g, KR_REJ_VERSION);
	if (len < KEYRING_OVERHEAD + 1 + 1 + 8)
		return reject(g, KR_REJ_TRUNCATED);
	if (cap < len || strlen(label) > KEYRING_LABEL_MAX)
		return -EINVAL;
	nonce = in + 1;
	adlen = ad_build(ad, label);
	pthread_mutex_lock(&kr->mu);
	for (int i = 0; i < kr->n && ok != 0; i++) {
		ok = crypto_aead_aes256gcm_decrypt_afternm(out, &mlen, NULL,
							   in + 1 + KEYRING_NONCE_LEN,
							   len - 1 - KEYRING_NONCE_LEN, ad, adlen,
							   nonce, &kr->sec->st[i]);
		ki = i;
	}
	pthread_mutex_unlock(&kr->mu);
	if (ok != 0)
		return reject(g, KR_REJ_DECRYPT);
	/* authentic: now the replay header (a member sent it, but check anyway) */
	sl = out[0];
	if (sl == 0 || sl > KEYRING_SENDER_MAX || mlen < 1 + sl + 8 ||
	    memchr(out + 1, '\0', sl))
		return reject(g, KR_REJ_TRUNCATED);
	for (int i = 0; i < 8; i++)
		ts = ts << 8 | out[1 + sl + i];
	if (g) {
		pthread_mutex_lock(&g->mu);
		if (ts + g->window_ms < now_ms || ts > now_ms + g->window_ms ||
		    ts <= g->floor_ts) {
			g->rejects[KR_REJ_STALE]++;
			pthread_mutex_unlock(&g->mu);
			return -(KR_REJ_STALE + 1);
		}
		if (nc_has(&g->seen, nonce)) {
			g->rejects[KR_REJ_REPLAY]++;
			pthread_mutex_unlock(&g->mu);
			return -(KR_REJ_REPLAY + 1);
		}
		/* entries that left the window need no memory any more */
		while (g->seen.count && g->seen.slots[g->seen.head].ts + g->window_ms < now_ms)
			nc_evict(&g->seen);
		if (nc_add(&g->seen, nonce, ts, &ev) && ev > g->floor_ts)
			g->floor_ts = ev;
		pthread_mutex_unlock(&g->mu);
	}
	memcpy(o->sender, out + 1, sl);
	o->sender[sl] = '\0';
	o->ts_ms = ts;
	o->payload = out + 1 + sl + 8;
	o->len = mlen - 1 - sl - 8;
	o->key_index = ki;
	return 0;
}

int keyring_guard_new(uint32_t window_ms, uint32_t cap, struct keyring_guard **out)
{
	struct keyring_guard *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return -ENOMEM;
	if (nc_init(&g->seen, cap ? cap : 16384) < 0) {
		free(g);
		return -ENOMEM;
	}
	pthread_mutex_init(&g->mu, NULL);
	g->window_ms = window_ms ? window_ms : 30000;
	*out = g;
	return 0;
}

void keyring_guard_free(struct keyring_guard *g)
{
	if (!g)
		return;
	nc_fini(&g->seen);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

void keyring_guard_rejects(struct keyring_guard *g, uint64_t out[KR_REJ_MAX])
{
	pthread_mutex_lock(&g->mu);
	memcpy(out, g->rejects, sizeof(g->rejects));
	pthread_mutex_unlock(&g->mu);
}

const char *keyring_reject_name(enum keyring_reject r)
{
	static const char *const names[KR_REJ_MAX] = {
		"decrypt failed", "replay", "truncated", "bad version", "stale",
	};

	return r < KR_REJ_MAX ? names[r] : "?";
}
