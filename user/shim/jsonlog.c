// SPDX-License-Identifier: Apache-2.0
/*
 * jsonlog.c - Docker's json-file log driver format:
 *   {"log":"text\n","stream":"stdout","time":"2026-11-28T01:02:03.123456789Z"}
 * one line per output line, escaped as Go's encoding/json does so
 * `docker logs` tools read it unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "shim.h"

#define JLOG_PARTIAL (16 * 1024)

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void buf_drop(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void shim_time_now(char out[40])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%09uZ", (unsigned int)(ts.tv_nsec % 1000000000L));
}

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int json_escape(struct buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	int ret = 0;

	for (size_t i = 0; i < n && !ret;) {
		unsigned char c = s[i];
		size_t l, run = i;

		/* Plain ASCII goes in one copy. */
		while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
		       s[run] != '\\' && s[run] != '<' && s[run] != '>' && s[run] != '&')
			run++;
		if (run > i) {
			ret = buf_add(b, s + i, run - i);
			i = run;
			continue;
		}

		switch (c) {
		case '"': ret = buf_add(b, "\\\"", 2); i++; continue;
		case '\\': ret = buf_add(b, "\\\\", 2); i++; continue;
		case '\n': ret = buf_add(b, "\\n", 2); i++; continue;
		case '\r': ret = buf_add(b, "\\r", 2); i++; continue;
		case '\t': ret = buf_add(b, "\\t", 2); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			ret = buf_add(b, esc, 6);
			i++;
			continue;
		}
		l = utf8_len(s + i, n - i);
		if (l == 0) {
			ret = buf_add(b, "\\ufffd", 6);
			i++;
		} else if (l == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
			   (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			ret = buf_add(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 3;
		} else {
			ret = buf_add(b, s + i, l);
			i += l;
		}
	}
	return ret;
}

int jlog_open(struct jlog *l, const char *path, int64_t max_size, int max_files)
{
	struct stat st;

	memset(l, 0, sizeof(*l));
	l->s[0].name = "stdout";
	l->s[1].name = "stderr";
	l->fd = -1;
	if (!path || !path[0])
		return 0;
	l->path = strdup(path);
	l->max_size = max_size;
	l->max_files = max_files < 1 ? 1 : max_files;
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return -errno;
	if (fstat(l->fd, &st) == 0)
		l->size = st.st_size;
	return 0;
}

/* Docker's json-file max-size / max-file: path -> path.1 -> ... and the
 * oldest dropped; with max-file 1 the file is truncated. */
static void jlog_rotate(struct jlog *l)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	int fd;

	for (int i = l->max_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", l->path);
		else
			snprintf(from, sizeof(from), "%s.%d", l->path, i - 1);
		snprintf(to, sizeof(to), "%s.%d", l->path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			log_warn("rotate %s: %s", from, strerror(errno));
	}
	fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		  (l->max_files == 1 ? O_TRUNC : 0), 0640);
	if (fd < 0) {
		log_error("reopen %s after rotation: %s", l->path, strerror(errno));
		return;         /* keep writing the old file */
	}
	close(l->fd);
	l->fd = fd;
	l->size = 0;
}

/* Write the lines formatted so far in one go (one syscall per read of
 * container output, not per line). */
static void jlog_commit(struct jlog *l)
{
	size_t off = 0;

	while (off < l->out.len) {
		ssize_t w = write(l->fd, l->out.data + off, l->out.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* Once per failure streak: a full disk must not fill shim.log. */
			if (!l->failing)
				log_error("write log: %s; lines are lost until it works again",
					  strerror(errno));
			l->failing = true;
			break;
		}
		off += (size_t)w;
	}
	if (off == l->out.len)
		l->failing = false;
	l->size += (int64_t)off;
	l->out.len = 0;
	if (l->max_size > 0 && l->size >= l->max_size)
		jlog_rotate(l);
}

static void jlog_line(struct jlog *l, int stream, const char *data, size_t n, const char *when)
{
	struct buf *b = &l->out;

	buf_add(b, "{\"log\":\"", 8);
	json_escape(b, data, n);
	buf_add(b, "\",\"stream\":\"", 12);
	buf_add(b, l->s[stream].name, strlen(l->s[stream].name));
	buf_add(b, "\",\"time\":\"", 10);
	buf_add(b, when, strlen(when));
	buf_add(b, "\"}\n", 3);
}

void jlog_write(struct jlog *l, int stream, const char *data, size_t n)
{
	struct buf *p = &l->s[stream].pending;
	size_t off = 0;
	char when[40];

	if (l->fd < 0)
		return;
	shim_time_now(when);
	buf_add(p, data, n);
	while (p->len - off) {
		char *nl = memchr(p->data + off, '\n', p->len - off);
		size_t len;

		if (nl)
			len = (size_t)(nl - (p->data + off)) + 1;
		else if (p->len - off >= JLOG_PARTIAL)
			len = JLOG_PARTIAL;
		else
			break;
		jlog_line(l, stream, p->data + off, len, when);
		off += len;
		/* Rotation happens between lines, never inside one. */
		if (l->max_size > 0 && l->size + (int64_t)l->out.len >= l->max_size)
			jlog_commit(l);
	}
	buf_drop(p, off);
	jlog_commit(l);
}

void jlog_flush(struct jlog *l, int stream)
{
	struct buf *p = &l->s[stream].pending;
	char when[40];

	if (l->fd >= 0 && p->len) {
		shim_time_now(when);
		jlog_line(l, stream, p->data, p->len, when);
		jlog_commit(l);
	}
	p->len = 0;
}

void jlog_close(struct jlog *l)
{
	for (int i = 0; i < 2; i++) {
		jlog_flush(l, i);
		buf_free(&l->s[i].pending);
	}
	buf_free(&l->out);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}
