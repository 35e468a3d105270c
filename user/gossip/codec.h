/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec.h - the gossip payload encoding (inside the keyring envelope).
 * Big-endian integers, strings as u8 length + bytes (no NUL inside, at
 * most 63), every message starts with a type byte:
 *
 *   PING     seq u32 | target str | digest u64 | stable u8
 *   ACK      seq u32 | digest u64 | stable u8
 *   INDIRECT seq u32 | target str | ip u32 | port u16 | want_nack u8
 *   NACK     seq u32
 *   SUSPECT  incarnation u32 | node str | from str
 *   ALIVE    incarnation u32 | node str | ip u32 | port u16
 *   DEAD     incarnation u32 | node str | from str
 *   LEAVE    incarnation u32 | node str
 *   ENTRY    kind u8 | network str | ip u32 | prefix u8 | owner str |
 *            lamport u64 | created u64 | flags u8 (1 = deleted) | mac 6 B |
 *            owner_ip u32 | vni u32 | subnet u32 | subnet_prefix u8
 *   KEYOP    op u8 | id u32 | key 32 B
 *   KEYACK   id u32 | result i32 (0 or -errno)
 *   COMPOUND count u8 | count x (len u16 | message), no nesting
 *   STATE    flags u8 (1 = join) | lamport u64 | members u32 |
 *            members x (name str | ip u32 | port u16 | incarnation u32 |
 *            state u8) | entries u32 | entries x ENTRY body (TCP only)
 *   PPDIGEST digest u64 (TCP only: opens a periodic push-pull)
 *   PPSAME   digest u64 (TCP only: "my digest is the same", ends it)
 *
 * Decoders never read past len and reject anything malformed with
 * -EBADMSG; counts are checked against the bytes left before allocating.
 */
#ifndef SHOAL_GOSSIP_CODEC_H
#define SHOAL_GOSSIP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

enum gmsg_type {
	GM_PING = 1,
	GM_ACK,
	GM_INDIRECT,
	GM_NACK,
	GM_SUSPECT,
	GM_ALIVE,
	GM_DEAD,
	GM_LEAVE,
	GM_ENTRY,
	GM_KEYOP,
	GM_KEYACK,
	GM_COMPOUND,
	GM_STATE,
	GM_PPDIGEST,
	GM_PPSAME,
};

enum gm_keyop_op { GM_KEY_INSTALL = 1, GM_KEY_USE, GM_KEY_REMOVE };

#define GM_COMPOUND_MAX 255

struct gmsg {
	uint8_t type;
	union {
		struct { uint32_t seq; char target[GOSSIP_NAME_MAX]; uint64_t digest; uint8_t stable; } ping;
		struct { uint32_t seq; uint64_t digest; uint8_t stable; } ack;
		struct { uint32_t seq; char target[GOSSIP_NAME_MAX]; uint32_t ip; uint16_t port; bool nack; } ind;
		struct { uint32_t seq; } nack;
		/* SUSPECT, ALIVE, DEAD, LEAVE */
		struct { uint32_t inc; char node[GOSSIP_NAME_MAX]; char from[GOSSIP_NAME_MAX]; uint32_t ip; uint16_t port; } mem;
		struct gossip_entry entry;
		struct { uint8_t op; uint32_t id; uint8_t key[KEYRING_KEY_LEN]; } keyop;
		struct { uint32_t id; int32_t result; } keyack;
		struct { uint64_t digest; } pp; /* PPDIGEST, PPSAME */
	} u;
};

struct gm_state_member {
	char name[GOSSIP_NAME_MAX];
	uint32_t ip;
	uint16_t port;
	uint32_t inc;
	uint8_t state; /* enum gossip_state */
};

struct gm_state {
	bool join;
	uint64_t lamport;
	size_t nmembers, nentries;
	struct gm_state_member *members;
	struct gossip_entry *entries;
};

/* Parts of a COMPOUND: pointers into the decoded buffer. */
struct gm_parts {
	size_t n;
	const uint8_t *p[GM_COMPOUND_MAX];
	size_t len[GM_COMPOUND_MAX];
};

/* A growable (or fixed, when fixed=true) output buffer. */
struct gbuf {
	uint8_t *p;
	size_t len, cap;
	bool fixed, err, inval; /* err: failed; inval: because of bad input */
};

/* Encode one (non-compound, non-state) message; bytes or -ENOSPC/-EINVAL. */
int gm_encode(const struct gmsg *m, uint8_t *buf, size_t cap);
/* Decode one message of exactly len bytes. 0 or -EBADMSG. */
int gm_decode(const uint8_t *buf, size_t len, struct gmsg *m);
/* Type byte of a message (0 if empty). */
static inline uint8_t gm_type(const uint8_t *buf, size_t len)
{
	return len ? buf[0] : 0;
}

/* COMPOUND of already encoded messages. Bytes, or -ENOSPC/-EINVAL. */
int gm_encode_compound(const uint8_t *const *parts, const size_t *lens, size_t n,
		       uint8_t *buf, size_t cap);
int gm_decode_compound(const uint8_t *buf, size_t len, struct gm_parts *out);
/* Bytes COMPOUND framing adds per part, and once. */
#define GM_COMPOUND_PER_PART 2
#define GM_COMPOUND_HEADER 2

/* STATE into a growable gbuf (free b->p). 0 or -ENOMEM/-EINVAL. */
int gm_encode_state(const struct gm_state *s, struct gbuf *b);
/* Decode STATE; allocates members/entries: gm_state_free(). */
int gm_decode_state(const uint8_t *buf, size_t len, struct gm_state *s);
void gm_state_free(struct gm_state *s);

/* Entry body helpers (also used by the table's digest key). */
void gbuf_put_entry(struct gbuf *b, const struct gossip_entry *e);

/* Valid as a name on the wire: 1..63 bytes, no NUL. */
bool gm_name_ok(const char *s);

#endif
