/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hijack.h - Docker's "hijacked" connections: attach and exec start
 * answer "101 UPGRADED" and the HTTP connection becomes a raw duplex
 * stream (container stdin one way, its output the other). libcurl has no
 * use for that, so this is a plain unix-socket client: one request, the
 * response head parsed here, then the bytes pumped by poll().
 *
 * Output is Docker's multiplexed stream unless the container has a tty:
 * frames of {type (0 stdin, 1 stdout, 2 stderr), 0, 0, 0, uint32
 * big-endian length} + payload. demux_* decodes it incrementally, for
 * the hijacked streams and for `logs` alike.
 */
#ifndef SHOAL_CLI_HIJACK_H
#define SHOAL_CLI_HIJACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "client.h"

/* Incremental decoder of the multiplexed stream. */
struct demux {
	unsigned char hdr[8];
	size_t nhdr;     /* header bytes collected */
	uint32_t left;   /* payload bytes still to copy */
	int fd;          /* where the current frame goes */
	bool bad;        /* an unknown stream type was seen */
};

/* Feed n bytes; frames go to out_fd / err_fd. Returns 0 or -errno. */
int demux_feed(struct demux *d, const char *buf, size_t n, int out_fd,
	       int err_fd);

struct hijack {
	int fd;          /* the upgraded connection, -1 when closed */
	char *pre;       /* stream bytes that arrived with the response head */
	size_t npre;
};

/*
 * Connect, send `method path` (path as for client_do, without the /vX
 * prefix) with "Connection: Upgrade" / "Upgrade: tcp" and an optional
 * JSON body, read the response head. On 101 (or a 200 from an older
 * server) returns CLIENT_OK with h->fd the stream. On an HTTP error
 * returns CLIENT_EDAEMON with the daemon's message in msg and the status
 * in *status; when no exchange happened, CLIENT_ECONNECT with the reason
 * in msg. Nothing is printed.
 */
int hijack_open(struct client *c, const char *method, const char *path,
		json_t *body, struct hijack *h, long *status, char *msg,
		size_t msglen);
void hijack_close(struct hijack *h);

/*
 * Copy in_fd (-1: none) to the connection and the connection to
 * stdout/stderr (raw when tty, else demultiplexed) until the server
 * closes it. EOF on in_fd half-closes the connection (the container sees
 * EOF on stdin) and output keeps flowing. Returns 0, or -errno when the
 * stream broke.
 */
/* What the pump does when a watched signal arrived (either may be NULL). */
struct hijack_cbs {
	void (*winch)(void *arg);          /* SIGWINCH: send the tty size */
	void (*signal)(void *arg, int sig); /* a proxied signal: forward it */
	void *arg;
};

int hijack_pump(struct hijack *h, int in_fd, bool tty,
		const struct hijack_cbs *cbs);

/* Watch SIGWINCH (tty size changes) for hijack_pump(). */
void hijack_watch_winch(void);
/* Catch the signals docker's --sig-proxy forwards (INT, TERM, HUP, QUIT,
 * USR1, USR2) for hijack_pump() to hand to cbs->signal. */
void hijack_watch_signals(void);

/* Raw mode on a terminal fd (cfmakeraw), the old settings kept in *saved.
 * Returns 0, or -errno (not a terminal). */
int term_make_raw(int fd, struct termios *saved);
void term_restore(int fd, const struct termios *saved);

#endif
