// SPDX-License-Identifier: Apache-2.0
/*
 * test_keyring.c - the gossip keyring: sealing with each key, rotation
 * without loss, tampering, labels, replay and staleness, nonce uniqueness,
 * key management errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../user/gossip/keyring.h"

static void key_of(uint8_t k[KEYRING_KEY_LEN], int seed)
{
	for (int i = 0; i < KEYRING_KEY_LEN; i++)
		k[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static const uint64_t NOW = 1800000000000ULL; /* a fixed "now", unix ms */

/* Seal msg with a, open with b; 0 or the open error. */
static int roundtrip(struct keyring *a, struct keyring *b, struct keyring_guard *gd,
		     const char *label, const char *msg, uint64_t ts)
{
	uint8_t sealed[512], plain[512];
	struct keyring_opened o;
	ssize_t n = keyring_seal(a, label, "node-a", ts, msg, strlen(msg), sealed, sizeof(sealed));
	int r;

	if (n < 0)
		return (int)n;
	r = keyring_open(b, gd, label, sealed, (size_t)n, NOW, plain, sizeof(plain), &o);
	if (r < 0)
		return r;
	if (o.len != strlen(msg) || memcmp(o.payload, msg, o.len) != 0 ||
	    strcmp(o.sender, "node-a") != 0 || o.ts_ms != ts)
		return -EPROTO;
	return 0;
}

TEST(keyring_seal_open)
{
	uint8_t k[KEYRING_KEY_LEN], sealed[256], plain[256];
	struct keyring *kr = NULL;
	struct keyring_guard *gd = NULL;
	struct shoal_err err = { 0 };
	struct keyring_opened o;
	ssize_t n;

	key_of(k, 1);
	if (keyring_new(k, &kr, &err) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	CHECK(kr != NULL, err.msg);
	CHECK_EQ(keyring_guard_new(30000, 64, &gd), 0, "guard");
	n = keyring_seal(kr, "lbl", "n1", NOW, "hello", 5, sealed, sizeof(sealed));
	CHECK_EQ(n, KEYRING_OVERHEAD + 1 + 2 + 8 + 5, "sealed size");
	CHECK_EQ((long long)keyring_sealed_len("n1", 5), n, "sealed_len agrees");
	CHECK_EQ(sealed[0], KEYRING_VERSION, "version byte first");
	CHECK(memmem(sealed, (size_t)n, "hello", 5) == NULL, "plaintext not visible");
	CHECK_EQ(keyring_open(kr, gd, "lbl", sealed, (size_t)n, NOW, plain, sizeof(plain), &o), 0,
		 "open");
	CHECK_EQ(o.len, 5, "payload length");
	CHECK(memcmp(o.payload, "hello", 5) == 0, "payload");
	CHECK(strcmp(o.sender, "n1") == 0, "sender");
	CHECK_EQ(keyring_seal(kr, "lbl", "n1", NOW, "hello", 5, sealed, 20), -ENOSPC, "small out");
	CHECK_EQ(keyring_seal(kr, "lbl", "", NOW, "x", 1, sealed, sizeof(sealed)), -EINVAL,
		 "empty sender");
	keyring_guard_free(gd);
	keyring_free(kr);
}

TEST(keyring_each_key_decrypts)
{
	uint8_t k[3][KEYRING_KEY_LEN];
	struct keyring *a = NULL, *b = NULL;
	struct shoal_err err = { 0 };

	for (int i = 0; i < 3; i++)
		key_of(k[i], 10 + i);
	if (keyring_new(k[0], &a, &err) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	CHECK_EQ(keyring_new(k[0], &b, &err), 0, err.msg);
	for (int i = 1; i < 3; i++) {
		CHECK_EQ(keyring_install(a, k[i], &err), 0, err.msg);
		CHECK_EQ(keyring_install(b, k[i], &err), 0, err.msg);
	}
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(keyring_use(a, k[i], &err), 0, err.msg);
		CHECK_EQ(roundtrip(a, b, NULL, "c", "message", NOW), 0, "each key decrypts");
	}
	keyring_free(a);
	keyring_free(b);
}

TEST(keyring_rotation_loses_nothing)
{
	uint8_t k1[KEYRING_KEY_LEN], k2[KEYRING_KEY_LEN];
	struct keyring *a = NULL, *b = NULL;
	struct keyring_guard *ga = NULL, *gb = NULL;
	struct shoal_err err = { 0 };
	int lost = 0;
	uint64_t ts = NOW;

	key_of(k1, 1);
	key_of(k2, 2);
	if (keyring_new(k1, &a, &err) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	CHECK_EQ(keyring_new(k1, &b, &err), 0, err.msg);
	keyring_guard_new(30000, 1024, &ga);
	keyring_guard_new(30000, 1024, &gb);
	/* traffic both ways after every step of install -> use -> remove */
	for (int step = 0; step < 7; step++) {
		switch (step) {
		case 1: CHECK_EQ(keyring_install(a, k2, &err), 0, "install a"); break;
		case 2: CHECK_EQ(keyring_install(b, k2, &err), 0, "install b"); break;
		case 3: CHECK_EQ(keyring_use(a, k2, &err), 0, "use a"); break;
		case 4: CHECK_EQ(keyring_use(b, k2, &err), 0, "use b"); break;
		case 5: CHECK_EQ(keyring_remove(a, k1, &err), 0, "remove a"); break;
		case 6: CHECK_EQ(keyring_remove(b, k1, &err), 0, "remove b"); break;
		}
		for (int i = 0; i < 10; i++) {
			lost += roundtrip(a, b, gb, "c", "a->b", ts++) != 0;
			lost += roundtrip(b, a, ga, "c", "b->a", ts++) != 0;
		}
	}
	CHECK_EQ(lost, 0, "messages lost during rotation");
	keyring_guard_free(ga);
	keyring_guard_free(gb);
	keyring_free(a);
	keyring_free(b);
}

TEST(keyring_tamper_rejected)
{
	uint8_t k[KEYRING_KEY_LEN], sealed[256], bad[256], plain[256];
	struct keyring *kr = NULL;
	struct keyring_guard *gd = NULL;
	struct shoal_err err = { 0 };
	struct keyring_opened o;
	uint64_t rej[KR_REJ_MAX];
	ssize_t n;
	int accepted = 0;

	key_of(k, 3);
	if (keyring_new(k, &kr, &err) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	keyring_guard_new(30000, 1024, &gd);
	n = keyring_seal(kr, "c", "n1", NOW, "endpoint 10.0.0.2", 17, sealed, sizeof(sealed));
	for (ssize_t i = 0; i < n; i++)
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(bad, sealed, (size_t)n);
			bad[i] ^= (uint8_t)(1 << bit);
			accepted += keyring_open(kr, gd, "c", bad, (size_t)n, NOW, plain,
						 sizeof(plain), &o) == 0;
		}
	CHECK_EQ(accepted, 0, "a flipped bit anywhere is rejected");
	keyring_guard_rejects(gd, rej);
	CHECK_EQ(rej[KR_REJ_VERSION], 3, "version byte flips: bad version");
	CHECK_EQ(rej[KR_REJ_DECRYPT], (n - 1) * 3, "other flips: decrypt failed");
	/* truncated: every shorter prefix */
	for (ssize_t l = 0; l < n; l++)
		accepted += keyring_open(kr, gd, "c", sealed, (size_t)l, NOW, plain, sizeof(plain),
					 &o) == 0;
	CHECK_EQ(accepted, 0, "truncated rejected");
	keyring_guard_rejects(gd, rej);
	CHECK(rej[KR_REJ_TRUNCATED] > 0, "truncated counted");
	/* the original still opens */
	CHECK_EQ(keyring_open(kr, gd, "c", sealed, (size_t)n, NOW, plain, sizeof(plain), &o), 0,
		 "untampered opens");
	keyring_guard_free(gd);
	keyring_free(kr);
}

TEST(keyring_wrong_label_or_key)
{
	uint8_t k[KEYRING_KEY_LEN], k2[KEYRING_KEY_LEN];
	struct keyring *a = NULL, *b = NULL;
	struct keyring_guard *gd = NULL;
	struct shoal_err err = { 0 };
	uint64_t rej[KR_REJ_MAX];

	key_of(k, 4);
	key_of(k2, 5);
	if (keyring_new(k, &a, &err) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	keyring_new(k2, &b, &err);
	keyring_guard_new(30000, 64, &gd);
	CHECK_EQ(roundtrip(a, a, gd, "prod", "x", NOW), 0, "same label");
	CHECK_EQ(roundtrip(a, a, gd, "prod", "x", NOW), 0, "fresh nonce each time");
	{
		uint8_t s[128], p[128];
		struct keyring_opened o;
		ssize_t n = keyring_seal(a, "prod", "n", NOW, "x", 1, s, sizeof(s));

		CHECK_EQ(keyring_open(a, gd, "staging", s, (size_t)n, NOW, p, sizeof(p), &o),
			 -(KR_REJ_DECRYPT + 1), "other label");
		CHECK_EQ(keyring_open(b, gd, "prod", s, (size_t)n, NOW, p, sizeof(p), &o),
			 -(KR_REJ_DECRYPT + 1), "other key");
	}
	keyring_guard_rejects(gd, rej);
	CHECK_EQ(rej[KR_REJ_DECRYPT], 2, "counted as decrypt failed");
	keyring_guard_free(gd);
	keyring_free(a);
	keyring_free(b);
}

TEST(keyring_replay_and_stale)
{
	uint8_t k[KEYRING_KEY_LEN], s[20][128], p[128];
	ssize_t n[20];
	struct keyring *kr = NULL;
	struct keyring_guard *gd = NULL, *small = NULL;
	struct shoal_err err = { 0 };
	struct keyring_opened o;
	uint64_t rej[KR_REJ_MAX];

	key_of(k, 6);
	if (keyring_new(k, &kr, &err) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	keyring_guard_new(30000, 1024, &gd);
	n[0] = keyring_seal(kr, "c", "n1", NOW, "x", 1, s[0], sizeof(s[0]));
	CHECK_EQ(keyring_open(kr, gd, "c", s[0], (size_t)n[0], NOW, p, sizeof(p), &o), 0, "first");
	CHECK_EQ(keyring_open(kr, gd, "c", s[0], (size_t)n[0], NOW + 5, p, sizeof(p), &o),
		 -(KR_REJ_REPLAY + 1), "replay inside the window");
	CHECK_EQ(keyring_open(kr, gd, "c", s[0], (size_t)n[0], NOW + 31000, p, sizeof(p), &o),
		 -(KR_REJ_STALE + 1), "replay after the window: stale");
	n[1] = keyring_seal(kr, "c", "n1", NOW + 40000, "x", 1, s[1], sizeof(s[1]));
	CHECK_EQ(keyring_open(kr, gd, "c", s[1], (size_t)n[1], NOW, p, sizeof(p), &o),
		 -(KR_REJ_STALE + 1), "from the future: stale");
	keyring_guard_rejects(gd, rej);
	CHECK_EQ(rej[KR_REJ_REPLAY], 1, "replay counted");
	CHECK_EQ(rej[KR_REJ_STALE], 2, "stale counted");

	/* a full cache never lets a replay through: the window shrinks */
	keyring_guard_new(30000, 4, &small);
	for (int i = 0; i < 20; i++) {
		n[i] = keyring_seal(kr, "c", "n1", NOW + (uint64_t)i, "y", 1, s[i], sizeof(s[i]));
		CHECK_EQ(keyring_open(kr, small, "c", s[i], (size_t)n[i], NOW + 20, p, sizeof(p), &o),
			 0, "fresh message accepted");
	}
	for (int i = 0; i < 20; i++)
		CHECK(keyring_open(kr, small, "c", s[i], (size_t)n[i], NOW + 20, p, sizeof(p), &o) < 0,
		      "every replay rejected with a cache of 4");
	keyring_guard_free(small);
	keyring_guard_free(gd);
	keyring_free(kr);
}

static int nonce_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KEYRING_NONCE_LEN);
}

TEST(keyring_nonce_unique_100k)
{
	enum { N = 100000 };
	uint8_t k[KEYRING_KEY_LEN], s[64];
	uint8_t (*nonces)[KEYRING_NONCE_LEN] = malloc((size_t)N * KEYRING_NONCE_LEN);
	struct keyring *kr = NULL;
	struct shoal_err err = { 0 };
	int dup = 0;

	key_of(k, 7);
	if (keyring_new(k, &kr, &err) == -ENOTSUP) {
		free(nonces);
		SKIP("CPU without AES-NI");
	}
	for (int i = 0; i < N; i++) {
		keyring_seal(kr, "c", "n", NOW, "z", 1, s, sizeof(s));
		memcpy(nonces[i], s + 1, KEYRING_NONCE_LEN);
	}
	qsort(nonces, N, KEYRING_NONCE_LEN, nonce_cmp);
	for (int i = 1; i < N; i++)
		dup += memcmp(nonces[i - 1], nonces[i], KEYRING_NONCE_LEN) == 0;
	CHECK_EQ(dup, 0, "duplicate nonces in 100k messages");
	CHECK_EQ(keyring_nonce_redraws(kr), 0, "no redraw needed");
	free(nonces);
	keyring_free(kr);
}

TEST(keyring_management)
{
	uint8_t k[4][KEYRING_KEY_LEN];
	struct keyring_info info[KEYRING_MAX_KEYS];
	struct keyring *kr = NULL;
	struct shoal_err err = { 0 };
	char fp[KEYRING_FP_LEN];

	for (int i = 0; i < 4; i++)
		key_of(k[i], 20 + i);
	if (keyring_new(k[0], &kr, &err) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	CHECK_EQ(keyring_install(kr, k[1], &err), 0, "install 2nd");
	CHECK_EQ(keyring_install(kr, k[1], &err), 0, "install again: no-op");
	CHECK_EQ(keyring_install(kr, k[2], &err), 0, "install 3rd");
	CHECK_EQ(keyring_install(kr, k[3], &err), -ENOSPC, "a 4th does not fit");
	CHECK(strstr(err.msg, "keyring full") != NULL, err.msg);
	CHECK_EQ(keyring_remove(kr, k[0], &err), -EBUSY, "primary cannot be removed");
	CHECK_EQ(keyring_use(kr, k[3], &err), -ENOENT, "use of an unknown key");
	CHECK_EQ(keyring_list(kr, info), 3, "three keys listed");
	keyring_fingerprint(k[0], fp);
	CHECK(strcmp(info[0].fingerprint, fp) == 0 && info[0].primary, "primary first");
	CHECK_EQ(strlen(fp), 16, "fingerprint is 16 hex chars");
	CHECK_EQ(keyring_use(kr, k[2], &err), 0, "use 3rd");
	CHECK_EQ(keyring_remove(kr, k[0], &err), 0, "old primary removable now");
	CHECK_EQ(keyring_remove(kr, k[0], &err), 0, "removing twice is a no-op");
	CHECK_EQ(keyring_list(kr, info), 2, "two left");
	keyring_fingerprint(k[2], fp);
	CHECK(strcmp(info[0].fingerprint, fp) == 0, "new primary first");
	CHECK(info[0].installed > 0, "install time");
	keyring_free(kr);
}

TEST(keyring_export_primary_first)
{
	uint8_t k0[KEYRING_KEY_LEN], k1[KEYRING_KEY_LEN], out[KEYRING_MAX_KEYS][KEYRING_KEY_LEN];
	int64_t inst[KEYRING_MAX_KEYS];
	struct keyring *kr = NULL;

	key_of(k0, 1);
	key_of(k1, 2);
	if (keyring_new(k0, &kr, NULL) == -ENOTSUP)
		SKIP("CPU without AES-NI");
	CHECK(kr != NULL, "keyring");
	CHECK_EQ(keyring_export(kr, out, inst), 1, "one key");
	CHECK(memcmp(out[0], k0, KEYRING_KEY_LEN) == 0, "the key itself");
	CHECK(inst[0] > 0, "install time");
	CHECK_EQ(keyring_install(kr, k1, NULL), 0, "install");
	CHECK_EQ(keyring_use(kr, k1, NULL), 0, "use");
	CHECK_EQ(keyring_export(kr, out, NULL), 2, "two keys");
	CHECK(memcmp(out[0], k1, KEYRING_KEY_LEN) == 0, "primary first");
	CHECK(memcmp(out[1], k0, KEYRING_KEY_LEN) == 0, "then the old one");
	keyring_free(kr);
}

void unit_keyring_tests(void)
{
	RUN(keyring_seal_open);
	RUN(keyring_each_key_decrypts);
	RUN(keyring_rotation_loses_nothing);
	RUN(keyring_tamper_rejected);
	RUN(keyring_wrong_label_or_key);
	RUN(keyring_replay_and_stale);
	RUN(keyring_nonce_unique_100k);
	RUN(keyring_management);
	RUN(keyring_export_primary_first);
}
