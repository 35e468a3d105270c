/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h - errors travel in an object (as crun's libcrun_error_t): a
 * function that fails fills *err with a message naming the problem and
 * returns a negative errno. Callers that handle the error log it once or
 * send it to the client; nobody else prints it.
 */
#ifndef SHOAL_ERR_H
#define SHOAL_ERR_H

#include <errno.h>
#include <stddef.h>

struct shoal_err {
	int code;       /* positive errno */
	char msg[512];
};

/* Fill err (may be NULL) and return -code. */
int err_set(struct shoal_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "what: <old message>". Returns -err->code. */
int err_wrap(struct shoal_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct shoal_err *err);

#endif
