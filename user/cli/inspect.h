/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.h - what the `inspect` verbs (image, network, node) and the
 * single-object --format verbs (info, version) share: checking --format,
 * fetching several objects while collecting the misses, and printing the
 * result as Docker does (found objects first, then one line per miss).
 */
#ifndef SHOAL_CLI_INSPECT_H
#define SHOAL_CLI_INSPECT_H
#include <jansson.h>
#include "cli.h"
#include "client.h"
#include "output.h"

/*
 * Check a --format before any request: "json" becomes json_as (NULL for
 * the inspect verbs, where it means the default indented array), and any
 * other format must parse as a template. Returns 0, or prints
 * "template parsing error: ..." and returns 1 (an exit code).
 */
int cli_format_prepare(const char **format, const char *json_as);

/*
 * GET `path` for one inspect argument `name`: a 2xx object is appended to
 * `all`; a 404 adds "Error: No such <what>: <name>" to `errs` and any other
 * error "Error response from daemon: ..."; both set *failed. Returns 0, or
 * -1 (message printed) when no exchange happened.
 */
int cli_inspect_get(struct client *cl, const char *path, const char *what,
		    const char *name, json_t *all, struct sbuf *errs, int *failed);

/*
 * Print the found objects (`format` run on each, else the indented JSON
 * array), then the misses in `errs` to stderr. Returns `failed`, or 1 when
 * the template fails on an object (the misses are not printed then).
 */
int cli_inspect_print(json_t *all, const char *format, struct sbuf *errs,
		      int failed);

/* Builds the API path of one argument (malloc'd), NULL on failure. */
typedef char *(*cli_inspect_path_fn)(struct client *cl, const char *name);

/*
 * A whole `X inspect [-f FORMAT] NAME...` verb whose options are just -f:
 * GET path(name) for each name (a miss is "Error: No such <what>: NAME"),
 * then cli_inspect_print(). Returns the exit code.
 */
int cli_inspect_run(struct cli_ctx *ctx, const struct cli_usage *u, int argc,
		    char **argv, const char *what, cli_inspect_path_fn path);
#endif
