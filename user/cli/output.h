/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.h - how the CLI prints: Docker's table layout (text/tabwriter with
 * minwidth 10, padding 3), go-units sizes, indented JSON and a small
 * subset of Go's text/template for --format.
 */
#ifndef SHOAL_CLI_OUTPUT_H
#define SHOAL_CLI_OUTPUT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"

/* Growable string. */
struct sbuf {
	char *s;
	size_t len, cap;
	int oom;
};

void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *sbuf_str(struct sbuf *b); /* "" when empty */
void sbuf_free(struct sbuf *b);

/*
 * Rows of cells printed like Go's tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
 * with "\t"-separated cells, as Docker's formatter does: every column but
 * the last is padded to max(widest cell + 3, 10).
 */
struct table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, owned */
};

void table_init(struct table *t, size_t ncols);
/* Append one row of exactly ncols strings (copied; NULL prints empty). */
void table_row(struct table *t, ...);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

/* Append one row from a "\t"-separated line (missing cells print empty). */
void table_row_split(struct table *t, const char *line);

/* go-units HumanSizeWithPrecision(size, prec): decimal, "1.23kB". */
void human_size(double size, int prec, char *buf, size_t len);
/* go-units HumanDuration(secs): "Less than a second", "About an hour", "3 weeks". */
void human_duration(long long secs, char *buf, size_t len);
/* go-units BytesSize: binary, four significant digits, "23.47GiB". */
void bytes_size(double size, char *buf, size_t len);

/* Docker's inspect output: json.Indent with four spaces, then a newline. */
void json_print_indent(json_t *v, FILE *out);

/* Natural ("file2" < "file10") string order, as Docker sorts names. */
int natural_cmp(const char *a, const char *b);

/*
 * Execute a Go-template subset on `dot`, appending to out (no trailing
 * newline added). Supported, enough for the common Docker one-liners:
 *   literal text, {{.}}, {{.A.B.C}}, {{$}}, {{"str"}},
 *   functions json, index X KEY..., len, join LIST SEP, split S SEP,
 *   lower, upper, title, println, and pipes ({{.Name | upper}}),
 *   trim markers {{- and -}}.
 * Scalars print as Go prints them; objects and arrays print as compact
 * JSON (Go would print map[...]); a missing key prints "<no value>".
 * Returns 0 or -EINVAL with err->msg "template: ...".
 */
int tmpl_exec(const char *tmpl, json_t *dot, struct sbuf *out,
	      struct shoal_err *err);

/* Parse-only check so a bad --format fails before any request. */
int tmpl_check(const char *tmpl, struct shoal_err *err);

/*
 * Docker's list formatter (cli/command/formatter): `format` NULL, "" or
 * "table" uses def_table; "table TEMPLATE" prints a tabwriter table whose
 * header is TEMPLATE run on `hdr` (field name -> column title); "json"
 * prints {{json .}} per row; anything else is a template run per row.
 * The two-character sequences \t and \n in `format` become TAB and LF, as
 * in Docker, so shell-quoted formats work.
 */
int format_rows(const char *format, const char *def_table, json_t *rows,
		json_t *hdr, FILE *out, struct shoal_err *err);
/* Check a --format for format_rows() before doing any work. */
int format_check(const char *format, struct shoal_err *err);

#endif
