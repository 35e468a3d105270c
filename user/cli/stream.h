/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.h - requests whose bodies do not fit the JSON-in-memory model of
 * client_call(): uploads streamed from a file descriptor (image archives),
 * downloads streamed to one (docker save), and replies that are a stream
 * of JSON messages (load, pull, import), which are shown as Docker's
 * pkg/jsonmessage shows them: per-layer lines updated in place on a
 * terminal, plain lines without progress bars otherwise.
 */
#ifndef SHOAL_CLI_STREAM_H
#define SHOAL_CLI_STREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

#define STREAM_SIZE_UNKNOWN UINT64_MAX

struct stream_req {
	/* Upload: read until EOF from in_fd (-1: no body). in_size is the
	 * Content-Length, or STREAM_SIZE_UNKNOWN to send it chunked. */
	int in_fd;
	uint64_t in_size;
	const char *content_type; /* of the upload */
	/* Reply on success (2xx), one of: */
	int out_fd; /* >= 0: raw bytes written there */
	/* else each JSON message; returning non-zero stops the transfer */
	int (*on_msg)(void *arg, json_t *msg);
	void *arg;
};

/*
 * One streamed exchange. Returns CLIENT_OK after a 2xx reply whose body
 * was delivered completely; CLIENT_EDAEMON after an error status (the
 * daemon's message printed as "Error response from daemon: ..."), or
 * when on_msg stopped the transfer (nothing printed: the callback did);
 * CLIENT_ECONNECT when no exchange happened or the transfer broke (the
 * reason printed).
 */
int client_stream(struct client *c, const char *method, const char *path,
		  struct stream_req *s);

/*
 * Docker's jsonmessage.DisplayJSONMessagesStream, one message at a time.
 * The first message carrying "error" ends the display: its text is kept
 * in err (the caller prints it and exits 1).
 */
struct jsonmsg_view {
	FILE *out;
	bool tty;
	int width;          /* terminal columns, for the progress bar */
	char (*ids)[80];    /* lines shown per layer id, in order */
	size_t nids, cap;
	bool failed;
	char err[1024];
	bool discard;       /* pull -q: show nothing, still catch errors */
};

void jsonmsg_view_init(struct jsonmsg_view *v, FILE *out, bool discard);
void jsonmsg_view_free(struct jsonmsg_view *v);
/* A stream_req.on_msg: arg is a struct jsonmsg_view. */
int jsonmsg_show(void *arg, json_t *msg);

/* Docker's JSONProgress.String(): "[==>   ]  1.2MB/3.4MB", or "". */
void jsonmsg_progress(const json_t *detail, int width, char *buf, size_t len);

#endif
