// SPDX-License-Identifier: Apache-2.0
/* log.c - timestamped lines on stderr: time, level, message. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int log_parse_level(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level lvl; } names[] = {
		{ "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
		{ "warn", LOG_LVL_WARN },   { "warning", LOG_LVL_WARN },
		{ "error", LOG_LVL_ERROR }, { "fatal", LOG_LVL_ERROR },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *tags[] = { "debug", "info", "warn", "error" };
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (lvl < cur_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ level=%s msg=\"", when, ts.tv_nsec / 1000000,
		tags[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\"\n", stderr);
	pthread_mutex_unlock(&log_lock);
}
