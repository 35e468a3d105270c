/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - what every verb of the `shoal` CLI shares: the command table
 * entry, Docker-style option parsing (cobra/pflag wording for errors and
 * help) and small JSON accessors that never fail on unexpected input.
 *
 * A handler is `int cmd_x(struct cli_ctx *ctx, int argc, char **argv)`
 * where argv[0] is the verb itself; it returns the process exit code
 * (0 ok, 1 error: Docker's convention).
 */
#ifndef SHOAL_CLI_H
#define SHOAL_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_PROG "shoal"
#define CLI_DEFAULT_HOST "unix:///run/shoal/shoal.sock"
#define CLI_MAX_OPTS 80 /* run and create have 50; docker has ~100 */

struct cli_ctx {
	const char *host; /* daemon address as the user gave it */
	bool debug;
};

typedef int (*cli_handler_t)(struct cli_ctx *ctx, int argc, char **argv);

/* One row of a commands[] table (crun's src/crun.c pattern). */
struct cli_cmd {
	const char *name;
	cli_handler_t run;
	const char *help;  /* one line, shown in the parent's help */
	const char *alias; /* optional second name ("remove" for "rm") */
};

/* One option of a verb; `arg` NULL means a boolean flag. */
struct cli_opt {
	int id;          /* returned by cli_next(); a char or >= 256 */
	char shrt;       /* 0 when the option has no short form */
	const char *lng; /* long name without dashes */
	const char *arg; /* value type shown in help ("string", "list") */
	const char *help;
};

/* Everything `--help` and the usage errors need to know about a verb. */
struct cli_usage {
	const char *path;  /* "network create" (without the program name) */
	const char *args;  /* "[OPTIONS] NETWORK" */
	const char *desc;  /* one line */
	const struct cli_opt *opts; /* terminated by an entry with id 0 */
	const char *aliases; /* "shoal network rm, shoal network remove" */
	const char *extra; /* free text printed after Options, or NULL */
	const struct cli_cmd *cmds; /* sub-commands of a group, or NULL */
	/* Options end at the first positional (pflag's SetInterspersed(false)):
	 * `run IMAGE CMD -x` passes -x to CMD. */
	bool no_interspersed;
};

struct cli_parse {
	const struct cli_usage *u;
	int argc;
	char **argv;
	struct option lopts[CLI_MAX_OPTS + 2];
	char sopts[3 * CLI_MAX_OPTS + 4];
	int rc;     /* exit code when cli_next() returned -1 */
	int npos;   /* positionals seen so far */
	int nargs;  /* positional arguments, valid after cli_next() returned 0 */
	char **args;
};

void cli_parse_init(struct cli_parse *p, const struct cli_usage *u, int argc,
		    char **argv);
/*
 * Next option: its id (> 0) with *val set for options taking a value;
 * 0 when options are done (p->args/p->nargs hold the positionals, options
 * and positionals may be interleaved as with pflag); -1 when the command
 * must stop with exit code p->rc (help printed, or a usage error printed).
 */
int cli_next(struct cli_parse *p, const char **val);

/* Docker's argument-count errors; return 0 when satisfied, else print and 1. */
int cli_args_exact(const struct cli_usage *u, int n, int want);
int cli_args_min(const struct cli_usage *u, int n, int min);
int cli_args_range(const struct cli_usage *u, int n, int min, int max);
int cli_args_none(const struct cli_usage *u, int n);

void cli_help(const struct cli_usage *u, FILE *out);
/* The "  -d, --driver string   Help" lines, aligned as pflag aligns them. */
void cli_print_opts(const struct cli_opt *opts, FILE *out);
/* Error + "See 'shoal <path> --help'." to stderr; returns 1. */
int cli_usage_error(const struct cli_usage *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Dispatch argv[1] among cmds (for verb groups such as `network`). */
int cli_dispatch(struct cli_ctx *ctx, const struct cli_usage *u, int argc,
		 char **argv);

/* Tolerant JSON accessors: missing or mistyped fields read as empty. */
const char *jstr(const json_t *obj, const char *key);
long long jint(const json_t *obj, const char *key);
bool jbool(const json_t *obj, const char *key);
json_t *jobj(const json_t *obj, const char *key); /* object or NULL */
json_t *jarr(const json_t *obj, const char *key); /* array or NULL */
long long jval_int(const json_t *v);

/*
 * One --filter NAME=VALUE added to a Docker filters object
 * ({"NAME": ["VALUE", ...]}). Returns 0, or -1 after printing "bad format
 * of filter" (or on allocation failure).
 */
int cli_filter_add(json_t *filters, const char *val);

/* Docker's prompt: "WARNING...\nAre you sure you want to continue? [y/N] ";
 * true only for an answer starting with y or Y. */
bool cli_confirm(const char *warning);

/* Commands (one file per verb or verb group). */
int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
int cmd_info(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_prune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_container_prune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_prune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_system(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_peer(struct cli_ctx *ctx, int argc, char **argv);
int cmd_stats(struct cli_ctx *ctx, int argc, char **argv);
int cmd_volume(struct cli_ctx *ctx, int argc, char **argv);
int cmd_flows(struct cli_ctx *ctx, int argc, char **argv);
int cmd_monitor(struct cli_ctx *ctx, int argc, char **argv);
/* top_net.c: `shoal top` dispatches: no CONTAINER -> cmd_top_net (network
 * rates), CONTAINER -> cmd_top_ps (Docker's process list). */
int cmd_top(struct cli_ctx *ctx, int argc, char **argv);
int cmd_top_net(struct cli_ctx *ctx, int argc, char **argv);
int cmd_top_ps(struct cli_ctx *ctx, int argc, char **argv);

/* "amd64"/"arm64"... as Go names the build architecture. */
const char *cli_goarch(void);

#endif
