/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256.h - SHA-256 (FIPS 180-4), self-contained so content addressing
 * needs no crypto library. Streaming: init, update any number of times,
 * final. Digests as text are "sha256:" + 64 lowercase hex, as in OCI.
 */
#ifndef SHOAL_SHA256_H
#define SHOAL_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65    /* 64 hex + NUL */
#define SHA256_DIGEST_LEN 72 /* "sha256:" + 64 hex + NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes so far */
	uint8_t buf[64];
	size_t used;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN]);

/* One-shot helpers. */
void sha256_buf(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256_hex(const uint8_t d[SHA256_LEN], char out[SHA256_HEX_LEN]);
/* "sha256:<hex>" of the bytes. */
void sha256_digest_str(const void *data, size_t len, char out[SHA256_DIGEST_LEN]);
/* Finish c into "sha256:<hex>". */
void sha256_final_str(struct sha256 *c, char out[SHA256_DIGEST_LEN]);

/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool sha256_digest_valid(const char *s);
/* Exactly 64 lowercase hex digits. */
bool sha256_hex_valid(const char *s);

#endif
