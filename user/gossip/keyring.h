/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyring.h - the gossip keyring: up to three AES-256-GCM keys (libsodium
 * crypto_aead_aes256gcm, AES-NI only: no fallback to a weaker cipher). The
 * primary key encrypts, every installed key decrypts, so a rotation is
 * install (everywhere) -> use (everywhere) -> remove the old key, and no
 * message is lost. Keys are kept in sodium_malloc'ed (guarded, locked)
 * memory, wiped on removal, and never logged: listings show fingerprints.
 *
 * Wire format of every sealed message (UDP datagram or TCP frame body):
 *
 *   version (1 B, = 1) | nonce (12 B, random) | ciphertext | tag (16 B)
 *
 * with associated data = version byte || cluster label, so a packet from
 * another cluster (other label) or another format version fails to
 * authenticate. The plaintext starts with the replay header:
 *
 *   sender name length (1 B) | sender name | timestamp (u64 BE, unix ms) | payload
 *
 * The receiver (struct keyring_guard) rejects a timestamp outside
 * +-window of its clock ("stale") and a nonce it accepted before inside
 * the window ("replay"). The nonce cache is bounded: when it is full the
 * oldest entry is evicted and every message stamped at or before the
 * evicted one is rejected as stale from then on, so no replay ever slips
 * through a full cache (the window just shrinks under overload).
 *
 * GCM cannot tell a wrong key from a forged tag: both count as "decrypt
 * failed".
 */
#ifndef SHOAL_GOSSIP_KEYRING_H
#define SHOAL_GOSSIP_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

#define KEYRING_KEY_LEN 32
#define KEYRING_MAX_KEYS 3
#define KEYRING_VERSION 1
#define KEYRING_NONCE_LEN 12
#define KEYRING_TAG_LEN 16
/* Bytes added by the envelope, not counting the replay header. */
#define KEYRING_OVERHEAD (1 + KEYRING_NONCE_LEN + KEYRING_TAG_LEN)
#define KEYRING_SENDER_MAX 63
#define KEYRING_LABEL_MAX 128
#define KEYRING_FP_LEN 17 /* 16 hex + NUL */

enum keyring_reject {
	KR_REJ_DECRYPT,   /* bad tag or unknown key (GCM can't tell them apart) */
	KR_REJ_REPLAY,    /* nonce already seen inside the window */
	KR_REJ_TRUNCATED, /* too short, or a malformed replay header */
	KR_REJ_VERSION,   /* unknown version byte */
	KR_REJ_STALE,     /* timestamp outside the window */
	KR_REJ_MAX
};

struct keyring;
struct keyring_guard;

struct keyring_info {
	char fingerprint[KEYRING_FP_LEN]; /* first 8 bytes of SHA-256(key), hex */
	int64_t installed;                /* unix seconds */
	bool primary;
	uint64_t sealed;                  /* messages encrypted with it */
};

/* What keyring_open found in a valid message. payload points into out. */
struct keyring_opened {
	char sender[KEYRING_SENDER_MAX + 1];
	uint64_t ts_ms;
	const uint8_t *payload;
	size_t len;
	int key_index; /* which key decrypted it (0 = primary) */
};

/*
 * A keyring with one key (the primary). -ENOTSUP when the CPU lacks
 * AES-NI/PCLMUL (libsodium's AES-GCM needs them; we never fall back).
 */
int keyring_new(const uint8_t key[KEYRING_KEY_LEN], struct keyring **out,
		struct shoal_err *err);
void keyring_free(struct keyring *kr);

/* Add a decrypt-only key. 0 if already installed; -ENOSPC when 3 keys. */
int keyring_install(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN],
		    struct shoal_err *err);
/* Make an installed key the primary. -ENOENT if not installed. */
int keyring_use(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN],
		struct shoal_err *err);
/* Remove a key. -EBUSY for the primary; 0 if it is not installed. */
int keyring_remove(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN],
		   struct shoal_err *err);
/* Fill out (KEYRING_MAX_KEYS slots), primary first; returns the count. */
int keyring_list(struct keyring *kr, struct keyring_info out[KEYRING_MAX_KEYS]);
void keyring_fingerprint(const uint8_t key[KEYRING_KEY_LEN], char out[KEYRING_FP_LEN]);
/*
 * Copy the raw keys (primary first) and their install times out, for the
 * owner to persist or hand to a joining node over an encrypted channel.
 * Returns the count. The caller wipes keys (sodium_memzero) when done.
 */
int keyring_export(struct keyring *kr, uint8_t keys[KEYRING_MAX_KEYS][KEYRING_KEY_LEN],
		   int64_t installed[KEYRING_MAX_KEYS]);

/* Size of a sealed message for a payload of len bytes from sender. */
size_t keyring_sealed_len(const char *sender, size_t len);

/*
 * Encrypt (sender, ts_ms, payload) with the primary key into out.
 * Returns the sealed length, -ENOSPC if cap is too small, -EINVAL for a
 * bad sender or label.
 */
ssize_t keyring_seal(struct keyring *kr, const char *label, const char *sender,
		     uint64_t ts_ms, const void *payload, size_t len, uint8_t *out,
		     size_t cap);

/*
 * Authenticate and decrypt in (len bytes) into out (cap >= len), then run
 * the replay checks of guard (may be NULL: no replay check) against now_ms.
 * 0 and *o filled, or -(KR_REJ_x + 1) (counted in the guard).
 */
int keyring_open(struct keyring *kr, struct keyring_guard *guard, const char *label,
		 const uint8_t *in, size_t len, uint64_t now_ms, uint8_t *out,
		 size_t cap, struct keyring_opened *o);

/* Replay guard: window_ms either side of now, cache of cap nonces. */
int keyring_guard_new(uint32_t window_ms, uint32_t cap, struct keyring_guard **out);
void keyring_guard_free(struct keyring_guard *g);
/* Rejects by reason (KR_REJ_MAX slots). */
void keyring_guard_rejects(struct keyring_guard *g, uint64_t out[KR_REJ_MAX]);
const char *keyring_reject_name(enum keyring_reject r);

/* Nonces redrawn because the process had already used them (expect 0). */
uint64_t keyring_nonce_redraws(struct keyring *kr);

#endif
