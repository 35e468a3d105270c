/* SPDX-License-Identifier: Apache-2.0 */
/* shim.h - pieces of shoal-shim shared between its files. */
#ifndef SHOAL_SHIM_INT_H
#define SHOAL_SHIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer (output queued for a client or a pipe). */
struct buf {
	char *data;
	size_t len, cap;
};

int buf_add(struct buf *b, const void *p, size_t n);
void buf_drop(struct buf *b, size_t n);         /* consume n from the front */
void buf_free(struct buf *b);

/* "2026-11-28T01:02:03.123456789Z" for now (RFC3339Nano, UTC, always nine
 * digits so every RFC 3339 parser and a plain string sort agree). */
void shim_time_now(char out[40]);

/* Append s[0..n) JSON-escaped as Go's encoding/json does (<, >, & as
 * \u003c..., invalid UTF-8 as \ufffd). */
int json_escape(struct buf *b, const char *s, size_t n);

/* Docker json-file log: lines split per stream, partial lines flushed at
 * 16 KiB or at the end of the stream. */
struct jlog_stream {
	struct buf pending;
	const char *name;       /* "stdout" | "stderr" */
};

struct jlog {
	int fd;                 /* -1: no log */
	char *path;
	int64_t size;           /* bytes in the current file */
	int64_t max_size;       /* rotate beyond this (0: never) */
	int max_files;          /* path, path.1 .. path.(max_files-1) */
	bool failing;           /* last write failed (logged once) */
	struct buf out;         /* formatted lines not yet written */
	struct jlog_stream s[2];
};

int jlog_open(struct jlog *l, const char *path, int64_t max_size, int max_files);
void jlog_write(struct jlog *l, int stream, const char *data, size_t n);
void jlog_flush(struct jlog *l, int stream);     /* end of stream */
void jlog_close(struct jlog *l);

#endif
