/* SPDX-License-Identifier: Apache-2.0 */
/* log.h - leveled logging to stderr, one line per event. */
#ifndef SHOAL_LOG_H
#define SHOAL_LOG_H

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Parse "debug"/"info"/"warn"/"error" (also "warning", "fatal"). -EINVAL else. */
int log_parse_level(const char *s, enum log_level *out);
void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif
