// SPDX-License-Identifier: Apache-2.0
/*
 * codec.c - bounds-checked binary encoding of gossip messages (codec.h).
 * The reader latches an error flag on the first short read, so decoders
 * read straight through and check once at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

struct grd {
	const uint8_t *p;
	size_t len, off;
	bool err;
};

/* ------------------------------------------------------------ writer */

static bool gbuf_reserve(struct gbuf *b, size_t n)
{
	size_t ncap;
	uint8_t *np;

	if (b->err)
		return false;
	if (b->len + n <= b->cap)
		return true;
	if (b->fixed) {
		b->err = true;
		return false;
	}
	ncap = b->cap ? b->cap * 2 : 256;
	while (ncap < b->len + n)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (!np) {
		b->err = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

static void put_bytes(struct gbuf *b, const void *d, size_t n)
{
	if (!gbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_u8(struct gbuf *b, uint8_t v)
{
	put_bytes(b, &v, 1);
}

static void put_u16(struct gbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put_bytes(b, x, 2);
}

static void put_u32(struct gbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put_bytes(b, x, 4);
}

static void put_u64(struct gbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

/* Addresses travel as their 4 network-order bytes. */
static void put_ip(struct gbuf *b, uint32_t ip_nbo)
{
	put_bytes(b, &ip_nbo, 4);
}

static void put_str(struct gbuf *b, const char *s)
{
	size_t l = strnlen(s, GOSSIP_NAME_MAX);

	if (l == 0 || l >= GOSSIP_NAME_MAX) {
		b->err = b->inval = true;
		return;
	}
	put_u8(b, (uint8_t)l);
	put_bytes(b, s, l);
}

bool gm_name_ok(const char *s)
{
	size_t l = strnlen(s, GOSSIP_NAME_MAX);

	return l > 0 && l < GOSSIP_NAME_MAX;
}

/* ------------------------------------------------------------ reader */

static const uint8_t *get_bytes(struct grd *r, size_t n)
{
	const uint8_t *p;

	if (r->err || r->len - r->off < n) {
		r->err = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint8_t get_u8(struct grd *r)
{
	const uint8_t *p = get_bytes(r, 1);

	return p ? p[0] : 0;
}

static uint16_t get_u16(struct grd *r)
{
	const uint8_t *p = get_bytes(r, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static uint32_t get_u32(struct grd *r)
{
	const uint8_t *p = get_bytes(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static uint64_t get_u64(struct grd *r)
{
	uint64_t hi = get_u32(r);

	return hi << 32 | get_u32(r);
}

static uint32_t get_ip(struct grd *r)
{
	const uint8_t *p = get_bytes(r, 4);
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, 4);
	return v;
}

static void get_str(struct grd *r, char out[GOSSIP_NAME_MAX])
{
	uint8_t l = get_u8(r);
	const uint8_t *p;

	out[0] = '\0';
	if (r->err)
		return;
	if (l == 0 || l >= GOSSIP_NAME_MAX) {
		r->err = true;
		return;
	}
	p = get_bytes(r, l);
	if (!p)
		return;
	if (memchr(p, '\0', l)) {
		r->err = true;
		return;
	}
	memcpy(out, p, l);
	out[l] = '\0';
}

/* ------------------------------------------------------------ entries */

void gbuf_put_entry(struct gbuf *b, const struct gossip_entry *e)
{
	put_u8(b, e->kind);
	put_str(b, e->network);
	put_ip(b, e->ip);
	put_u8(b, e->prefix);
	put_str(b, e->owner);
	put_u64(b, e->lamport);
	put_u64(b, e->created);
	put_u8(b, e->deleted ? 1 : 0);
	put_bytes(b, e->mac, 6);
	put_ip(b, e->owner_ip);
	put_u32(b, e->vni);
	put_ip(b, e->subnet);
	put_u8(b, e->subnet_prefix);
	if (!GOSSIP_KIND_OK(e->kind) || e->prefix > 32 ||
	    e->subnet_prefix > 32 || e->created > e->lamport)
		b->err = b->inval = true;
}

static void get_entry(struct grd *r, struct gossip_entry *e)
{
	const uint8_t *mac;
	uint8_t flags;

	memset(e, 0, sizeof(*e));
	e->kind = get_u8(r);
	get_str(r, e->network);
	e->ip = get_ip(r);
	e->prefix = get_u8(r);
	get_str(r, e->owner);
	e->lamport = get_u64(r);
	e->created = get_u64(r);
	flags = get_u8(r);
	mac = get_bytes(r, 6);
	if (mac)
		memcpy(e->mac, mac, 6);
	e->owner_ip = get_ip(r);
	e->vni = get_u32(r);
	e->subnet = get_ip(r);
	e->subnet_prefix = get_u8(r);
	e->deleted = flags & 1;
	if (!GOSSIP_KIND_OK(e->kind) || e->prefix > 32 ||
	    e->subnet_prefix > 32 || (flags & ~1) || e->created > e->lamport)
		r->err = true;
}

/* ------------------------------------------------------------ messages */

int gm_encode(const struct gmsg *m, uint8_t *buf, size_t cap)
{
	struct gbuf b = { .p = buf, .cap = cap, .fixed = true };

	put_u8(&b, m->type);
	switch (m->type) {
	case GM_PING:
		put_u32(&b, m->u.ping.seq);
		put_str(&b, m->u.ping.target);
		put_u64(&b, m->u.ping.digest);
		put_u8(&b, m->u.ping.stable);
		break;
	case GM_ACK:
		put_u32(&b, m->u.ack.seq);
		put_u64(&b, m->u.ack.digest);
		put_u8(&b, m->u.ack.stable);
		break;
	case GM_INDIRECT:
		put_u32(&b, m->u.ind.seq);
		put_str(&b, m->u.ind.target);
		put_ip(&b, m->u.ind.ip);
		put_u16(&b, m->u.ind.port);
		put_u8(&b, m->u.ind.nack ? 1 : 0);
		break;
	case GM_NACK:
		put_u32(&b, m->u.nack.seq);
		break;
	case GM_SUSPECT:
	case GM_DEAD:
		put_u32(&b, m->u.mem.inc);
		put_str(&b, m->u.mem.node);
		put_str(&b, m->u.mem.from);
		break;
	case GM_ALIVE:
		put_u32(&b, m->u.mem.inc);
		put_str(&b, m->u.mem.node);
		put_ip(&b, m->u.mem.ip);
		put_u16(&b, m->u.mem.port);
		break;
	case GM_LEAVE:
		put_u32(&b, m->u.mem.inc);
		put_str(&b, m->u.mem.node);
		break;
	case GM_ENTRY:
		gbuf_put_entry(&b, &m->u.entry);
		break;
	case GM_KEYOP:
		put_u8(&b, m->u.keyop.op);
		put_u32(&b, m->u.keyop.id);
		put_bytes(&b, m->u.keyop.key, KEYRING_KEY_LEN);
		break;
	case GM_KEYACK:
		put_u32(&b, m->u.keyack.id);
		put_u32(&b, (uint32_t)m->u.keyack.result);
		break;
	case GM_PPDIGEST:
	case GM_PPSAME:
		put_u64(&b, m->u.pp.digest);
		break;
	default:
		return -EINVAL;
	}
	if (b.err)
		return b.inval ? -EINVAL : -ENOSPC;
	return (int)b.len;
}

int gm_decode(const uint8_t *buf, size_t len, struct gmsg *m)
{
	struct grd r = { .p = buf, .len = len };
	const uint8_t *k;

	memset(m, 0, sizeof(*m));
	m->type = get_u8(&r);
	switch (m->type) {
	case GM_PING:
		m->u.ping.seq = get_u32(&r);
		get_str(&r, m->u.ping.target);
		m->u.ping.digest = get_u64(&r);
		m->u.ping.stable = get_u8(&r);
		break;
	case GM_ACK:
		m->u.ack.seq = get_u32(&r);
		m->u.ack.digest = get_u64(&r);
		m->u.ack.stable = get_u8(&r);
		break;
	case GM_INDIRECT:
		m->u.ind.seq = get_u32(&r);
		get_str(&r, m->u.ind.target);
		m->u.ind.ip = get_ip(&r);
		m->u.ind.port = get_u16(&r);
		m->u.ind.nack = get_u8(&r) != 0;
		break;
	case GM_NACK:
		m->u.nack.seq = get_u32(&r);
		break;
	case GM_SUSPECT:
	case GM_DEAD:
		m->u.mem.inc = get_u32(&r);
		get_str(&r, m->u.mem.node);
		get_str(&r, m->u.mem.from);
		break;
	case GM_ALIVE:
		m->u.mem.inc = get_u32(&r);
		get_str(&r, m->u.mem.node);
		m->u.mem.ip = get_ip(&r);
		m->u.mem.port = get_u16(&r);
		break;
	case GM_LEAVE:
		m->u.mem.inc = get_u32(&r);
		get_str(&r, m->u.mem.node);
		break;
	case GM_ENTRY:
		get_entry(&r, &m->u.entry);
		break;
	case GM_KEYOP:
		m->u.keyop.op = get_u8(&r);
		m->u.keyop.id = get_u32(&r);
		k = get_bytes(&r, KEYRING_KEY_LEN);
		if (k)
			memcpy(m->u.keyop.key, k, KEYRING_KEY_LEN);
		if (m->u.keyop.op < GM_KEY_INSTALL || m->u.keyop.op > GM_KEY_REMOVE)
			r.err = true;
		break;
	case GM_KEYACK:
		m->u.keyack.id = get_u32(&r);
		m->u.keyack.result = (int32_t)get_u32(&r);
		break;
	case GM_PPDIGEST:
	case GM_PPSAME:
		m->u.pp.digest = get_u64(&r);
		break;
	default:
		return -EBADMSG;
	}
	if (r.err || r.off != len)
		return -EBADMSG;
	return 0;
}

int gm_encode_compound(const uint8_t *const *parts, const size_t *lens, size_t n,
		       uint8_t *buf, size_t cap)
{
	struct gbuf b = { .p = buf, .cap = cap, .fixed = true };

	if (n == 0 || n > GM_COMPOUND_MAX)
		return -EINVAL;
	put_u8(&b, GM_COMPOUND);
	put_u8(&b, (uint8_t)n);
	for (size_t i = 0; i < n; i++) {
		if (lens[i] == 0 || lens[i] > UINT16_MAX || parts[i][0] == GM_COMPOUND)
			return -EINVAL;
		put_u16(&b, (uint16_t)lens[i]);
		put_bytes(&b, parts[i], lens[i]);
	}
	return b.err ? -ENOSPC : (int)b.len;
}

int gm_decode_compound(const uint8_t *buf, size_t len, struct gm_parts *out)
{
	struct grd r = { .p = buf, .len = len };
	size_t n;

	out->n = 0;
	if (get_u8(&r) != GM_COMPOUND)
		return -EBADMSG;
	n = get_u8(&r);
	if (r.err || n == 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		uint16_t l = get_u16(&r);
		const uint8_t *p = get_bytes(&r, l);

		if (!p || l == 0 || p[0] == GM_COMPOUND)
			return -EBADMSG;
		out->p[i] = p;
		out->len[i] = l;
	}
	if (r.off != len)
		return -EBADMSG;
	out->n = n;
	return 0;
}

/* ------------------------------------------------------------ state */

int gm_encode_state(const struct gm_state *s, struct gbuf *b)
{
	put_u8(b, GM_STATE);
	put_u8(b, s->join ? 1 : 0);
	put_u64(b, s->lamport);
	put_u32(b, (uint32_t)s->nmembers);
	for (size_t i = 0; i < s->nmembers; i++) {
		const struct gm_state_member *m = &s->members[i];

		put_str(b, m->name);
		put_ip(b, m->ip);
		put_u16(b, m->port);
		put_u32(b, m->inc);
		put_u8(b, m->state);
	}
	put_u32(b, (uint32_t)s->nentries);
	for (size_t i = 0; i < s->nentries; i++)
		gbuf_put_entry(b, &s->entries[i]);
	if (b->err)
		return b->inval ? -EINVAL : -ENOMEM;
	return 0;
}

/* Smallest encodings, to bound counts before allocating. */
#define STATE_MEMBER_MIN (2 + 4 + 2 + 4 + 1)
#define ENTRY_MIN (1 + 2 + 4 + 1 + 2 + 8 + 8 + 1 + 6 + 4 + 4 + 4 + 1)

int gm_decode_state(const uint8_t *buf, size_t len, struct gm_state *s)
{
	struct grd r = { .p = buf, .len = len };
	uint8_t flags;
	uint32_t n;

	memset(s, 0, sizeof(*s));
	if (get_u8(&r) != GM_STATE)
		return -EBADMSG;
	flags = get_u8(&r);
	s->join = flags & 1;
	s->lamport = get_u64(&r);
	n = get_u32(&r);
	if (r.err || (flags & ~1) || n > (len - r.off) / STATE_MEMBER_MIN)
		return -EBADMSG;
	if (n) {
		s->members = calloc(n, sizeof(*s->members));
		if (!s->members)
			return -ENOMEM;
	}
	s->nmembers = n;
	for (uint32_t i = 0; i < n && !r.err; i++) {
		struct gm_state_member *m = &s->members[i];

		get_str(&r, m->name);
		m->ip = get_ip(&r);
		m->port = get_u16(&r);
		m->inc = get_u32(&r);
		m->state = get_u8(&r);
		if (m->state > GOSSIP_LEFT)
			r.err = true;
	}
	n = get_u32(&r);
	if (r.err || n > (len - r.off) / ENTRY_MIN)
		goto bad;
	if (n) {
		s->entries = calloc(n, sizeof(*s->entries));
		if (!s->entries) {
			gm_state_free(s);
			return -ENOMEM;
		}
	}
	s->nentries = n;
	for (uint32_t i = 0; i < n && !r.err; i++)
		get_entry(&r, &s->entries[i]);
	if (r.err || r.off != len)
		goto bad;
	return 0;
bad:
	gm_state_free(s);
	return -EBADMSG;
}

void gm_state_free(struct gm_state *s)
{
	free(s->members);
	free(s->entries);
	memset(s, 0, sizeof(*s));
}
