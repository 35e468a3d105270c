// SPDX-License-Identifier: Apache-2.0
/*
 * cli.c - option parsing, help and usage errors worded as Docker's CLI
 * (cobra + pflag) words them, so scripts and users see familiar text:
 *
 *   unknown flag: --foo
 *   See 'shoal network ls --help'.
 *
 * getopt_long does the parsing; its own messages are silenced (opterr = 0)
 * and replaced by pflag's.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"

#define CLI_OPT_HELP 0x7ffe

static const struct cli_opt *opt_by_id(const struct cli_usage *u, int id)
{
	for (const struct cli_opt *o = u->opts; o && o->id; o++)
		if (o->id == id)
			return o;
	return NULL;
}

void cli_parse_init(struct cli_parse *p, const struct cli_usage *u, int argc,
		    char **argv)
{
	size_t n = 0, s = 0;

	memset(p, 0, sizeof(*p));
	p->u = u;
	p->argc = argc;
	p->argv = argv;
	/*
	 * '-': hand back positionals in order (as 1) instead of permuting, so
	 * options may follow arguments even under POSIXLY_CORRECT, as with
	 * pflag; ':': report a missing value as ':' rather than '?'.
	 */
	p->sopts[s++] = u->no_interspersed ? '+' : '-';
	p->sopts[s++] = ':';
	for (const struct cli_opt *o = u->opts; o && o->id && n < CLI_MAX_OPTS;
	     o++, n++) {
		p->lopts[n].name = o->lng;
		/* pflag accepts --flag=false for booleans, hence optional. */
		p->lopts[n].has_arg = o->arg ? required_argument : optional_argument;
		p->lopts[n].val = o->id;
		if (o->shrt) {
			p->sopts[s++] = o->shrt;
			if (o->arg)
				p->sopts[s++] = ':';
		}
	}
	p->lopts[n].name = "help";
	p->lopts[n].has_arg = no_argument;
	p->lopts[n].val = CLI_OPT_HELP;
	p->sopts[s++] = 'h';
	p->sopts[s] = '\0';
	optind = 0; /* glibc: full re-initialisation for the next argv */
	opterr = 0;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False" };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(s, t[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(s, f[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

int cli_next(struct cli_parse *p, const char **val)
{
	const struct cli_opt *o;
	const char *cur;
	bool b;
	int c;

	*val = NULL;
	while ((c = getopt_long(p->argc, p->argv, p->sopts, p->lopts, NULL)) == 1) {
		/*
		 * Compact positionals to the front of argv. Safe: slot
		 * 1 + npos is at or before this argument's own slot, which
		 * getopt has already passed.
		 */
		p->argv[1 + p->npos++] = optarg;
	}
	if (c == -1) {
		int rest = p->argc - optind; /* what follows "--" */

		if (rest > 0)
			memmove(p->argv + 1 + p->npos, p->argv + optind,
				(size_t)rest * sizeof(char *));
		p->args = p->argv + 1;
		p->nargs = p->npos + (rest > 0 ? rest : 0);
		return 0;
	}
	cur = (optind > 0 && optind <= p->argc) ? p->argv[optind - 1] : "";
	/* -h is --help unless the verb has its own -h (run --hostname). */
	if (c == CLI_OPT_HELP || (c == 'h' && !opt_by_id(p->u, 'h'))) {
		cli_help(p->u, stdout);
		p->rc = 0;
		return -1;
	}
	if (c == '?') {
		if (optopt && optopt != CLI_OPT_HELP && !opt_by_id(p->u, optopt)) {
			p->rc = cli_usage_error(p->u,
						"unknown shorthand flag: '%c' in -%c",
						optopt, optopt);
		} else if (optopt) {
			/* A boolean given a value it cannot take. */
			p->rc = cli_usage_error(p->u, "bad flag syntax: %s", cur);
		} else {
			size_t len = strcspn(cur, "=");

			p->rc = cli_usage_error(p->u, "unknown flag: %.*s",
						(int)len, cur);
		}
		return -1;
	}
	if (c == ':') {
		o = opt_by_id(p->u, optopt);
		if (o && o->shrt && strncmp(cur, "--", 2))
			p->rc = cli_usage_error(p->u,
						"flag needs an argument: '%c' in -%c",
						o->shrt, o->shrt);
		else
			p->rc = cli_usage_error(p->u,
						"flag needs an argument: --%s",
						o ? o->lng : "?");
		return -1;
	}
	o = opt_by_id(p->u, c);
	if (!o) { /* cannot happen: getopt only returns our ids */
		p->rc = cli_usage_error(p->u, "unknown flag: %s", cur);
		return -1;
	}
	if (!o->arg) {
		b = true;
		if (optarg && !parse_bool(optarg, &b)) {
			p->rc = cli_usage_error(
				p->u,
				"invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
				optarg, o->lng, optarg);
			return -1;
		}
		*val = b ? "true" : "false";
		return c;
	}
	*val = optarg ? optarg : "";
	return c;
}

static void print_usage_head(const struct cli_usage *u, FILE *out)
{
	fprintf(out, "Usage:  %s %s%s%s\n\n%s\n", CLI_PROG, u->path,
		u->args && *u->args ? " " : "", u->args ? u->args : "",
		u->desc ? u->desc : "");
}

static int vusage_error(const struct cli_usage *u, const char *fmt, va_list ap)
{
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nSee '%s %s --help'.\n", CLI_PROG, u->path);
	return 1;
}

int cli_usage_error(const struct cli_usage *u, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vusage_error(u, fmt, ap);
	va_end(ap);
	return rc;
}

/* cli/required.go: the message, a pointer to --help, then the usage line. */
static int args_error(const struct cli_usage *u, const char *what, int n)
{
	fprintf(stderr, "\"%s %s\" %s", CLI_PROG, u->path, what);
	if (n >= 0)
		fprintf(stderr, " %d argument%s", n, n == 1 ? "" : "s");
	fprintf(stderr, ".\nSee '%s %s --help'.\n\n", CLI_PROG, u->path);
	print_usage_head(u, stderr);
	return 1;
}

int cli_args_exact(const struct cli_usage *u, int n, int want)
{
	return n == want ? 0 : args_error(u, "requires exactly", want);
}

int cli_args_min(const struct cli_usage *u, int n, int min)
{
	return n >= min ? 0 : args_error(u, "requires at least", min);
}

int cli_args_range(const struct cli_usage *u, int n, int min, int max)
{
	if (n < min)
		return args_error(u, "requires at least", min);
	if (n > max)
		return args_error(u, "requires at most", max);
	return 0;
}

int cli_args_none(const struct cli_usage *u, int n)
{
	return n == 0 ? 0 : args_error(u, "accepts no arguments", -1);
}

void cli_print_opts(const struct cli_opt *opts, FILE *out)
{
	char left[CLI_MAX_OPTS][96];
	size_t n = 0, width = 0;

	for (const struct cli_opt *o = opts; o && o->id && n < CLI_MAX_OPTS;
	     o++, n++) {
		if (o->shrt)
			snprintf(left[n], sizeof(left[n]), "  -%c, --%s%s%s",
				 o->shrt, o->lng, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left[n], sizeof(left[n]), "      --%s%s%s",
				 o->lng, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		if (strlen(left[n]) > width)
			width = strlen(left[n]);
	}
	/* pflag: the help text starts three columns after the widest flag. */
	n = 0;
	for (const struct cli_opt *o = opts; o && o->id && n < CLI_MAX_OPTS;
	     o++, n++)
		fprintf(out, "%-*s   %s\n", (int)width, left[n], o->help);
}

void cli_help(const struct cli_usage *u, FILE *out)
{
	size_t cw = 11;

	print_usage_head(u, out);
	if (u->aliases)
		fprintf(out, "\nAliases:\n  %s\n", u->aliases);
	if (u->cmds) {
		for (const struct cli_cmd *c = u->cmds; c->name; c++)
			if (strlen(c->name) > cw)
				cw = strlen(c->name);
		fprintf(out, "\nCommands:\n");
		for (const struct cli_cmd *c = u->cmds; c->name; c++)
			fprintf(out, "  %-*s %s\n", (int)cw, c->name, c->help);
	}
	if (u->opts && u->opts->id) {
		fprintf(out, "\nOptions:\n");
		cli_print_opts(u->opts, out);
	}
	if (u->extra)
		fprintf(out, "\n%s", u->extra);
	if (u->cmds)
		fprintf(out,
			"\nRun '%s %s COMMAND --help' for more information on a command.\n",
			CLI_PROG, u->path);
}

int cli_dispatch(struct cli_ctx *ctx, const struct cli_usage *u, int argc,
		 char **argv)
{
	const char *sub;

	if (argc < 2) {
		cli_help(u, stdout);
		return 0;
	}
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		cli_help(u, stdout);
		return 0;
	}
	if (sub[0] == '-') {
		size_t len = strcspn(sub, "=");

		if (sub[1] == '-')
			return cli_usage_error(u, "unknown flag: %.*s", (int)len, sub);
		return cli_usage_error(u, "unknown shorthand flag: '%c' in %s",
				       sub[1], sub);
	}
	for (const struct cli_cmd *c = u->cmds; c && c->name; c++)
		if (!strcmp(c->name, sub) || (c->alias && !strcmp(c->alias, sub)))
			return c->run(ctx, argc - 1, argv + 1);
	fprintf(stderr, "%s: '%s %s' is not a %s command.\nSee '%s %s --help'.\n",
		CLI_PROG, u->path, sub, CLI_PROG, CLI_PROG, u->path);
	return 1;
}

const char *jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

long long jval_int(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

long long jint(const json_t *obj, const char *key)
{
	return jval_int(json_object_get(obj, key));
}

bool jbool(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

json_t *jobj(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_object(v) ? v : NULL;
}

json_t *jarr(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_array(v) ? v : NULL;
}

const char *cli_goarch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#else
	static struct utsname u;

	if (uname(&u) == 0)
		return u.machine;
	return "unknown";
#endif
}

int cli_filter_add(json_t *filters, const char *val)
{
	const char *eq = strchr(val, '=');
	json_t *arr;
	char *k;

	if (!eq || eq == val) {
		fprintf(stderr, "bad format of filter (expected name=value)\n");
		return -1;
	}
	k = strndup(val, (size_t)(eq - val));
	if (!k)
		return -1;
	arr = json_object_get(filters, k);
	if (!arr) {
		arr = json_array();
		json_object_set_new(filters, k, arr);
	}
	json_array_append_new(arr, json_string(eq + 1));
	free(k);
	return 0;
}
