// SPDX-License-Identifier: Apache-2.0
/*
 * stream.c - TCP push-pull anti-entropy. One exchange per connection:
 *
 *   full (join, digest-triggered):
 *     initiator -> STATE, responder -> STATE, close
 *   digest-first (periodic):
 *     initiator -> PPDIGEST, responder -> PPSAME, close      (digests equal)
 *     initiator -> PPDIGEST, responder -> STATE, initiator -> STATE, close
 *
 * The digest is the one pings and acks carry (gossip_digest_refresh()).
 *
 * A frame is u32 BE length | sealed message (keyring.h), so TCP carries
 * the same authentication, label and replay checks as UDP. The accept
 * thread serves incoming exchanges one at a time with tcp_timeout_ms
 * socket timeouts; the sync thread runs the outgoing periodic and
 * digest-triggered ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "internal.h"

static int write_full(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (r == 0)
			return -ECONNRESET;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_sealed(struct gossip *g, int fd, const uint8_t *p, size_t len)
{
	size_t cap = keyring_sealed_len(g->name, len);
	uint8_t *frame = malloc(4 + cap);
	ssize_t sl;
	int ret;

	if (!frame)
		return -ENOMEM;
	sl = keyring_seal(g->kr, g->label, g->name, gossip_wall_ms(), p, len, frame + 4, cap);
	if (sl < 0) {
		ret = (int)sl;
		goto out;
	}
	frame[0] = (uint8_t)(sl >> 24);
	frame[1] = (uint8_t)(sl >> 16);
	frame[2] = (uint8_t)(sl >> 8);
	frame[3] = (uint8_t)sl;
	ret = write_full(fd, frame, 4 + (size_t)sl);
	if (ret == 0)
		STAT_ADD(g, tcp_bytes_out, 4 + (uint64_t)sl);
out:
	free(frame);
	return ret;
}

static int send_state(struct gossip *g, int fd, bool join)
{
	struct gm_state s = { .join = join };
	struct gbuf b = { 0 };
	int ret;

	pthread_mutex_lock(&g->mu);
	s.lamport = g->tab.clock;
	s.members = calloc(g->nm ? g->nm : 1, sizeof(*s.members));
	if (!s.members) {
		pthread_mutex_unlock(&g->mu);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g->nm; i++) {
		struct gossip_member *m = &g->mv[i]->pub;

		snprintf(s.members[i].name, sizeof(s.members[i].name), "%s", m->name);
		s.members[i].ip = m->ip;
		s.members[i].port = m->port;
		s.members[i].inc = m->incarnation;
		s.members[i].state = (uint8_t)m->state;
	}
	s.nmembers = g->nm;
	ret = table_export(g, &s.entries, &s.nentries);
	pthread_mutex_unlock(&g->mu);
	if (ret == 0)
		ret = gm_encode_state(&s, &b);
	free(s.members);
	free(s.entries);
	if (ret == 0)
		ret = send_sealed(g, fd, b.p, b.len);
	free(b.p);
	return ret;
}

/* Our current digest (members + table), refreshed if stale. */
static uint64_t current_digest(struct gossip *g)
{
	uint64_t d;

	pthread_mutex_lock(&g->mu);
	gossip_digest_refresh(g, gossip_now_ms());
	d = g->digest;
	pthread_mutex_unlock(&g->mu);
	return d;
}

/* PPDIGEST or PPSAME carrying our current digest. */
static int send_digest(struct gossip *g, int fd, uint8_t type, uint64_t digest)
{
	struct gmsg m = { .type = type };
	uint8_t buf[16];
	int l;

	m.u.pp.digest = digest;
	l = gm_encode(&m, buf, sizeof(buf));
	if (l < 0)
		return l;
	return send_sealed(g, fd, buf, (size_t)l);
}

static void merge_state(struct gossip *g, const struct gm_state *s, const char *sender)
{
	uint64_t now = gossip_now_ms();

	pthread_mutex_lock(&g->mu);
	if (s->lamport > g->tab.clock)
		g->tab.clock = s->lamport;
	for (size_t i = 0; i < s->nmembers; i++) {
		const struct gm_state_member *m = &s->members[i];

		switch (m->state) {
		case GOSSIP_ALIVE:
			mem_alive(g, m->inc, m->name, m->ip, m->port);
			break;
		case GOSSIP_SUSPECT:
			mem_suspect(g, m->inc, m->name, sender);
			break;
		case GOSSIP_DEAD:
			/* as memberlist: a remote "dead" only makes us suspect */
			if (strcmp(m->name, g->name) == 0)
				mem_dead(g, m->inc, m->name, sender, false); /* refutes */
			else
				mem_suspect(g, m->inc, m->name, sender);
			break;
		case GOSSIP_LEFT:
			mem_dead(g, m->inc, m->name, m->name, true);
			break;
		}
	}
	for (size_t i = 0; i < s->nentries; i++)
		table_apply(g, &s->entries[i], now);
	STAT_ADD(g, push_pulls, 1);
	pthread_mutex_unlock(&g->mu);
	gossip_wake(g);
}

/*
 * One sealed frame, opened. *plain (free it) holds the payload at
 * *pay (length *plen); the sender's name goes to sender.
 */
static int recv_frame(struct gossip *g, int fd, uint8_t **plain, const uint8_t **pay,
		      size_t *plen, char sender[64])
{
	uint8_t hdr[4], *frame = NULL;
	struct keyring_opened o;
	uint32_t len;
	int ret;

	*plain = NULL;
	ret = read_full(fd, hdr, 4);
	if (ret < 0)
		return ret;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > GOSSIP_MAX_FRAME)
		return -EMSGSIZE;
	frame = malloc(len);
	*plain = malloc(len);
	if (!frame || !*plain) {
		ret = -ENOMEM;
		goto out;
	}
	ret = read_full(fd, frame, len);
	if (ret < 0)
		goto out;
	STAT_ADD(g, tcp_bytes_in, 4 + (uint64_t)len);
	ret = keyring_open(g->kr, g->guard, g->label, frame, len, gossip_wall_ms(), *plain, len,
			   &o);
	if (ret < 0) {
		ret = -EBADMSG;
		goto out;
	}
	*pay = o.payload;
	*plen = o.len;
	snprintf(sender, 64, "%s", o.sender);
out:
	free(frame);
	if (ret < 0) {
		free(*plain);
		*plain = NULL;
	}
	return ret;
}

static int decode_state(struct gossip *g, const uint8_t *p, size_t len, struct gm_state *s)
{
	int ret = gm_decode_state(p, len, s);

	if (ret < 0)
		STAT_ADD(g, decode_errors, 1);
	return ret;
}

static int recv_state(struct gossip *g, int fd, struct gm_state *s, char sender[64])
{
	const uint8_t *pay;
	uint8_t *plain;
	size_t len;
	int ret = recv_frame(g, fd, &plain, &pay, &len, sender);

	if (ret < 0)
		return ret;
	ret = decode_state(g, pay, len, s);
	free(plain);
	return ret;
}

/* Decode a PPDIGEST/PPSAME frame of the expected type. */
static int decode_digest(struct gossip *g, const uint8_t *p, size_t len, uint8_t type,
			 uint64_t *digest)
{
	struct gmsg m;

	if (gm_decode(p, len, &m) < 0 || m.type != type) {
		STAT_ADD(g, decode_errors, 1);
		return -EBADMSG;
	}
	*digest = m.u.pp.digest;
	return 0;
}

/* Initiator: digest first; state both ways only if the responder differs. */
static int exchange_digest_first(struct gossip *g, int fd)
{
	struct gm_state s;
	const uint8_t *pay;
	uint8_t *plain;
	char sender[64];
	uint64_t d;
	size_t len;
	int ret;

	ret = send_digest(g, fd, GM_PPDIGEST, current_digest(g));
	if (ret < 0)
		return ret;
	ret = recv_frame(g, fd, &plain, &pay, &len, sender);
	if (ret < 0)
		return ret;
	if (gm_type(pay, len) == GM_PPSAME) {
		ret = decode_digest(g, pay, len, GM_PPSAME, &d);
		free(plain);
		if (ret == 0)
			STAT_ADD(g, pp_digest_same, 1);
		return ret;
	}
	ret = decode_state(g, pay, len, &s);
	free(plain);
	if (ret < 0)
		return ret;
	/* answer with our state as it was, then merge theirs */
	ret = send_state(g, fd, false);
	merge_state(g, &s, sender);
	gm_state_free(&s);
	return ret;
}

/* Responder: serve whatever the initiator opened with. */
static int exchange_respond(struct gossip *g, int fd)
{
	struct gm_state s;
	const uint8_t *pay;
	uint8_t *plain;
	char sender[64];
	uint64_t theirs, ours;
	size_t len;
	int ret;

	ret = recv_frame(g, fd, &plain, &pay, &len, sender);
	if (ret < 0)
		return ret;
	if (gm_type(pay, len) == GM_PPDIGEST) {
		ret = decode_digest(g, pay, len, GM_PPDIGEST, &theirs);
		free(plain);
		if (ret < 0)
			return ret;
		ours = current_digest(g);
		if (ours == theirs) {
			ret = send_digest(g, fd, GM_PPSAME, ours);
			if (ret == 0)
				STAT_ADD(g, pp_digest_same, 1);
			return ret;
		}
		ret = send_state(g, fd, false);
		if (ret < 0)
			return ret;
		ret = recv_state(g, fd, &s, sender);
		if (ret < 0)
			return ret;
		merge_state(g, &s, sender);
		gm_state_free(&s);
		return 0;
	}
	ret = decode_state(g, pay, len, &s);
	free(plain);
	if (ret < 0)
		return ret;
	/* answer with our state as it was, then merge theirs */
	ret = send_state(g, fd, false);
	merge_state(g, &s, sender);
	gm_state_free(&s);
	return ret;
}

int stream_exchange(struct gossip *g, int fd, bool initiator, enum pp_mode mode)
{
	struct gm_state s;
	char sender[64];
	int ret;

	if (!initiator)
		return exchange_respond(g, fd);
	if (mode == PP_DIGEST)
		return exchange_digest_first(g, fd);
	ret = send_state(g, fd, mode == PP_JOIN);
	if (ret < 0)
		return ret;
	ret = recv_state(g, fd, &s, sender);
	if (ret < 0)
		return ret;
	merge_state(g, &s, sender);
	gm_state_free(&s);
	return 0;
}

static void set_timeouts(int fd, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int stream_connect(struct gossip *g, const struct sockaddr_in *sa, int *out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p;
	socklen_t sl = sizeof(int);
	int soerr = 0, r;

	*out = -1;
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	p.fd = fd;
	p.events = POLLOUT;
	do
		r = poll(&p, 1, (int)g->cfg.tcp_timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		close(fd);
		return -ETIMEDOUT;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (r < 0 || soerr) {
		close(fd);
		return soerr ? -soerr : -EIO;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	set_timeouts(fd, g->cfg.tcp_timeout_ms);
	STAT_ADD(g, tcp_conns_out, 1);
	*out = fd;
	return 0;
}

void *stream_accept_thread(void *arg)
{
	struct gossip *g = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = g->tcp, .events = POLLIN },
				       { .fd = g->accept_wake_fd, .events = POLLIN } };
		bool running;
		int fd;

		pthread_mutex_lock(&g->mu);
		running = g->running;
		pthread_mutex_unlock(&g->mu);
		if (!running)
			break;
		if (poll(p, 2, 1000) <= 0 || p[1].revents)
			continue;
		fd = accept4(g->tcp, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		STAT_ADD(g, tcp_conns_in, 1);
		set_timeouts(fd, g->cfg.tcp_timeout_ms);
		stream_exchange(g, fd, false, PP_FULL);
		close(fd);
	}
	return NULL;
}

void *stream_sync_thread(void *arg)
{
	struct gossip *g = arg;

	pthread_mutex_lock(&g->mu);
	while (g->running) {
		struct sockaddr_in sa;
		bool dig;
		int fd;

		if (!g->nsync) {
			pthread_cond_wait(&g->cond, &g->mu);
			continue;
		}
		sa = g->syncq[0];
		dig = g->syncdig[0];
		memmove(&g->syncq[0], &g->syncq[1], (g->nsync - 1) * sizeof(sa));
		memmove(&g->syncdig[0], &g->syncdig[1], (g->nsync - 1) * sizeof(dig));
		g->nsync--;
		pthread_mutex_unlock(&g->mu);
		if (stream_connect(g, &sa, &fd) == 0) {
			stream_exchange(g, fd, true, dig ? PP_DIGEST : PP_FULL);
			close(fd);
		}
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}
