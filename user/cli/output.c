// SPDX-License-Identifier: Apache-2.0
/*
 * output.c - tables, sizes, JSON and the --format template subset.
 *
 * The template evaluator works on jansson values directly: there is no
 * control flow ({{range}}, {{if}}), so each action is tokenised and
 * evaluated on the spot.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* ---- sbuf ---------------------------------------------------------------- */

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char *ns;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	char *tmp = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	sbuf_add(b, tmp, (size_t)n);
	free(tmp);
}

const char *sbuf_str(struct sbuf *b)
{
	return b->s ? b->s : "";
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* ---- table --------------------------------------------------------------- */

void table_init(struct table *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
}

void table_row(struct table *t, ...)
{
	char **nc;
	va_list ap;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;

		nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));
		if (!nc)
			return; /* row dropped; output stays well-formed */
		t->cells = nc;
		t->cap = cap;
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = strdup(s ? s : "");
	}
	va_end(ap);
	t->nrows++;
}

/* tabwriter counts runes, not bytes. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; s && *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void table_print(const struct table *t, FILE *out)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));

	if (!w)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = 10; /* minwidth, padding included */
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = text_width(t->cells[r * t->ncols + c]) + 3;

			if (cw > w[c])
				w[c] = cw;
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			s = s ? s : "";
			fputs(s, out);
			if (c + 1 < t->ncols)
				fprintf(out, "%*s", (int)(w[c] - text_width(s)), "");
		}
		fputc('\n', out);
	}
	free(w);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- sizes --------------------------------------------------------------- */

static void custom_size(const char *fmt, int prec, double size, double base,
			const char *const *units, size_t nunits, char *buf,
			size_t len)
{
	size_t i = 0;

	while (size >= base && i < nunits - 1) {
		size /= base;
		i++;
	}
	snprintf(buf, len, fmt, prec, size, units[i]);
}

void human_size(double size, int prec, char *buf, size_t len)
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB",
					 "PB", "EB", "ZB", "YB" };

	custom_size("%.*g%s", prec, size, 1000.0, u, 9, buf, len);
}

void bytes_size(double size, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB",
					 "PiB", "EiB", "ZiB", "YiB" };

	custom_size("%.*g%s", 4, size, 1024.0, u, 9, buf, len);
}

/* ---- JSON ---------------------------------------------------------------- */

void json_print_indent(json_t *v, FILE *out)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER |
					JSON_ENCODE_ANY);

	if (s) {
		fputs(s, out);
		fputc('\n', out);
		free(s);
	}
}

int natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char *sa = a, *sb = b;
			size_t la, lb;
			int c;

			while (*sa == '0' && isdigit((unsigned char)sa[1]))
				sa++;
			while (*sb == '0' && isdigit((unsigned char)sb[1]))
				sb++;
			for (a = sa; isdigit((unsigned char)*a); a++)
				;
			for (b = sb; isdigit((unsigned char)*b); b++)
				;
			la = (size_t)(a - sa);
			lb = (size_t)(b - sb);
			if (la != lb)
				return la < lb ? -1 : 1;
			c = strncmp(sa, sb, la);
			if (c)
				return c;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : (*b ? -1 : 0);
}

/* ---- template ------------------------------------------------------------ */

enum tok_type { T_FIELD, T_VAR, T_STRING, T_NUMBER, T_IDENT, T_PIPE };

#define TMPL_MAX_TOKS 32

struct tok {
	enum tok_type type;
	char *text; /* field path without the leading '.', or literal */
};

struct tctx {
	json_t *dot;
	struct shoal_err *err;
	bool check; /* syntax only */
};

static const char *const tmpl_funcs[] = { "json", "index", "len", "join",
					  "split", "lower", "upper", "title",
					  "println" };

static bool known_func(const char *name)
{
	for (size_t i = 0; i < sizeof(tmpl_funcs) / sizeof(tmpl_funcs[0]); i++)
		if (!strcmp(tmpl_funcs[i], name))
			return true;
	return false;
}

static void toks_free(struct tok *t, int n)
{
	for (int i = 0; i < n; i++)
		free(t[i].text);
}

/* Split one action's text (between the delimiters) into tokens. */
static int tokenize(const char *s, size_t n, struct tok *t, int *nt,
		    struct shoal_err *err)
{
	const char *end = s + n;
	int k = 0;

	while (s < end) {
		const char *st;
		struct sbuf lit = { 0 };

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (k == TMPL_MAX_TOKS) {
			*nt = k;
			return err_set(err, EINVAL, "template: action too long");
		}
		if (*s == '|') {
			t[k].type = T_PIPE;
			t[k++].text = NULL;
			s++;
			continue;
		}
		if (*s == '"' || *s == '`') {
			char q = *s++;

			while (s < end && *s != q) {
				if (q == '"' && *s == '\\' && s + 1 < end) {
					s++;
					switch (*s) {
					case 'n':
						sbuf_add(&lit, "\n", 1);
						break;
					case 't':
						sbuf_add(&lit, "\t", 1);
						break;
					default:
						sbuf_add(&lit, s, 1);
					}
					s++;
					continue;
				}
				sbuf_add(&lit, s++, 1);
			}
			if (s >= end) {
				sbuf_free(&lit);
				*nt = k;
				return err_set(err, EINVAL,
					       "template: unterminated quoted string");
			}
			s++;
			t[k].type = T_STRING;
			t[k++].text = strdup(sbuf_str(&lit));
			sbuf_free(&lit);
			continue;
		}
		st = s;
		while (s < end && !isspace((unsigned char)*s) && *s != '|')
			s++;
		if (*st == '.') {
			t[k].type = T_FIELD;
			t[k].text = strndup(st + 1, (size_t)(s - st - 1));
		} else if (*st == '$') {
			t[k].type = T_VAR;
			t[k].text = strndup(st + 1 + (st[1] == '.'),
					    (size_t)(s - st - 1 - (st[1] == '.')));
			if (st[1] && st[1] != '.' && s - st > 1) {
				*nt = k + 1;
				return err_set(err, EINVAL,
					       "template: undefined variable \"%.*s\"",
					       (int)(s - st), st);
			}
		} else if (isdigit((unsigned char)*st) || *st == '-') {
			t[k].type = T_NUMBER;
			t[k].text = strndup(st, (size_t)(s - st));
		} else if (isalpha((unsigned char)*st) || *st == '_') {
			t[k].type = T_IDENT;
			t[k].text = strndup(st, (size_t)(s - st));
			if (!known_func(t[k].text)) {
				*nt = k + 1;
				return err_set(err, EINVAL,
					       "template: function \"%s\" not defined",
					       t[k].text);
			}
		} else {
			*nt = k;
			return err_set(err, EINVAL,
				       "template: unexpected \"%c\" in command", *st);
		}
		k++;
	}
	*nt = k;
	return 0;
}

/* NULL means "no value" (a key that is not there). */
static json_t *eval_path(json_t *base, const char *path, struct tctx *c)
{
	json_t *cur = base;
	const char *p = path;

	if (!*p)
		return json_incref(cur);
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[256];

		if (n == 0 || n >= sizeof(key)) {
			err_set(c->err, EINVAL, "template: bad field name in \".%s\"",
				path);
			return NULL;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		if (!cur)
			return NULL;
		if (!json_is_object(cur)) {
			err_set(c->err, EINVAL,
				"template: can't evaluate field %s in type %s", key,
				json_is_array(cur) ? "[]interface {}" :
				json_is_string(cur) ? "string" : "interface {}");
			return NULL;
		}
		cur = json_object_get(cur, key);
		p += n + (dot ? 1 : 0);
	}
	return json_incref(cur);
}

/* Go's fmt %v for our values. */
static void print_val(json_t *v, struct sbuf *out)
{
	char *s;

	if (!v) {
		sbuf_puts(out, "<no value>");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		sbuf_add(out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		sbuf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		char buf[64];

		/* Shortest representation that reads back, as Go's %v. */
		for (int p = 1; p <= 17; p++) {
			snprintf(buf, sizeof(buf), "%.*g", p, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		sbuf_puts(out, buf);
		break;
	}
	case JSON_TRUE:
		sbuf_puts(out, "true");
		break;
	case JSON_FALSE:
		sbuf_puts(out, "false");
		break;
	case JSON_NULL:
		sbuf_puts(out, "<nil>");
		break;
	default:
		s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s) {
			sbuf_puts(out, s);
			free(s);
		}
	}
}

static json_t *str_val(struct sbuf *b)
{
	json_t *v = json_string(sbuf_str(b));

	sbuf_free(b);
	return v ? v : json_string("");
}

static json_t *call(const char *fn, json_t **a, int na, struct tctx *c,
		    bool *failed)
{
	struct sbuf b = { 0 };

	*failed = false;
#define NEED(n)                                                               \
	do {                                                                  \
		if (na != (n)) {                                              \
			*failed = true;                                       \
			err_set(c->err, EINVAL,                               \
				"template: wrong number of args for %s: want %d got %d", \
				fn, (n), na);                                 \
			return NULL;                                          \
		}                                                             \
	} while (0)

	if (!strcmp(fn, "json")) {
		char *s;

		NEED(1);
		if (!a[0])
			return json_string("null");
		s = json_dumps(a[0], JSON_COMPACT | JSON_ENCODE_ANY |
					     JSON_PRESERVE_ORDER);
		sbuf_puts(&b, s ? s : "null");
		free(s);
		return str_val(&b);
	}
	if (!strcmp(fn, "len")) {
		NEED(1);
		if (json_is_array(a[0]))
			return json_integer((json_int_t)json_array_size(a[0]));
		if (json_is_object(a[0]))
			return json_integer((json_int_t)json_object_size(a[0]));
		if (json_is_string(a[0]))
			return json_integer((json_int_t)json_string_length(a[0]));
		*failed = true;
		err_set(c->err, EINVAL, "template: len of a value that has no length");
		return NULL;
	}
	if (!strcmp(fn, "index")) {
		json_t *cur = a[0];

		if (na < 1)
			NEED(2);
		for (int i = 1; i < na && cur; i++) {
			if (json_is_object(cur) && json_is_string(a[i])) {
				cur = json_object_get(cur, json_string_value(a[i]));
			} else if (json_is_array(cur) && json_is_integer(a[i])) {
				json_int_t k = json_integer_value(a[i]);

				if (k < 0 || (size_t)k >= json_array_size(cur)) {
					*failed = true;
					err_set(c->err, EINVAL,
						"template: index out of range: %lld",
						(long long)k);
					return NULL;
				}
				cur = json_array_get(cur, (size_t)k);
			} else {
				*failed = true;
				err_set(c->err, EINVAL,
					"template: can't index item of this type");
				return NULL;
			}
		}
		return json_incref(cur);
	}
	if (!strcmp(fn, "join")) {
		size_t i;
		json_t *e;

		NEED(2);
		if (!json_is_array(a[0]) || !json_is_string(a[1])) {
			*failed = true;
			err_set(c->err, EINVAL, "template: join wants a list and a separator");
			return NULL;
		}
		json_array_foreach(a[0], i, e) {
			if (i)
				sbuf_puts(&b, json_string_value(a[1]));
			print_val(e, &b);
		}
		return str_val(&b);
	}
	if (!strcmp(fn, "split")) {
		json_t *arr = json_array();
		const char *s, *sep, *p;

		NEED(2);
		if (!json_is_string(a[0]) || !json_is_string(a[1]) || !arr) {
			json_decref(arr);
			*failed = true;
			err_set(c->err, EINVAL, "template: split wants two strings");
			return NULL;
		}
		s = json_string_value(a[0]);
		sep = json_string_value(a[1]);
		if (!*sep) {
			for (; *s; s++)
				json_array_append_new(arr, json_stringn(s, 1));
			return arr;
		}
		while ((p = strstr(s, sep))) {
			json_array_append_new(arr, json_stringn(s, (size_t)(p - s)));
			s = p + strlen(sep);
		}
		json_array_append_new(arr, json_string(s));
		return arr;
	}
	if (!strcmp(fn, "lower") || !strcmp(fn, "upper") || !strcmp(fn, "title")) {
		bool word = true;

		NEED(1);
		print_val(a[0], &b);
		for (size_t i = 0; b.s && i < b.len; i++) {
			unsigned char ch = (unsigned char)b.s[i];

			if (fn[0] == 'l')
				b.s[i] = (char)tolower(ch);
			else if (fn[0] == 'u' || word)
				b.s[i] = (char)toupper(ch);
			word = isspace(ch);
		}
		return str_val(&b);
	}
	if (!strcmp(fn, "println")) {
		for (int i = 0; i < na; i++) {
			if (i)
				sbuf_puts(&b, " ");
			print_val(a[i], &b);
		}
		sbuf_puts(&b, "\n");
		return str_val(&b);
	}
	*failed = true;
	err_set(c->err, EINVAL, "template: function \"%s\" not defined", fn);
	return NULL;
#undef NEED
}

static json_t *operand(struct tok *t, struct tctx *c, bool *failed)
{
	char *end;
	long long v;
	json_t *r;

	*failed = false;
	switch (t->type) {
	case T_FIELD:
	case T_VAR:
		c->err->code = 0;
		r = eval_path(c->dot, t->text, c);
		if (!r && c->err->code)
			*failed = true;
		return r;
	case T_STRING:
		return json_string(t->text);
	case T_NUMBER:
		errno = 0;
		v = strtoll(t->text, &end, 10);
		if (errno || *end) {
			*failed = true;
			err_set(c->err, EINVAL, "template: bad number syntax: \"%s\"",
				t->text);
			return NULL;
		}
		return json_integer(v);
	default:
		*failed = true;
		err_set(c->err, EINVAL, "template: unexpected token in operand");
		return NULL;
	}
}

/*
 * Evaluate tokens [i, j) as one command; `prev` is the value piped in
 * (appended as the last argument), or NULL with has_prev false.
 */
static int eval_cmd(struct tok *t, int i, int j, json_t *prev, bool has_prev,
		    json_t **res, struct tctx *c)
{
	json_t *args[TMPL_MAX_TOKS + 1];
	int na = 0, r = 0;
	bool failed;

	*res = NULL;
	if (i >= j)
		return err_set(c->err, EINVAL, "template: missing command");
	if (t[i].type != T_IDENT) {
		if (j - i != 1 || has_prev)
			return err_set(c->err, EINVAL,
				       "template: can't give argument to non-function");
		if (c->check)
			return 0;
		*res = operand(&t[i], c, &failed);
		return failed ? -EINVAL : 0;
	}
	for (int k = i + 1; k < j; k++) {
		if (t[k].type == T_IDENT)
			return err_set(c->err, EINVAL,
				       "template: nested function calls need parentheses, not supported");
	}
	if (c->check)
		return 0;
	for (int k = i + 1; k < j; k++) {
		args[na] = operand(&t[k], c, &failed);
		if (failed) {
			r = -EINVAL;
			goto out;
		}
		na++;
	}
	if (has_prev)
		args[na++] = json_incref(prev);
	*res = call(t[i].text, args, na, c, &failed);
	if (failed)
		r = -EINVAL;
out:
	for (int k = 0; k < na; k++)
		json_decref(args[k]);
	return r;
}

static int eval_action(const char *s, size_t n, struct sbuf *out,
		       struct tctx *c)
{
	struct tok t[TMPL_MAX_TOKS];
	json_t *val = NULL, *next;
	bool has = false;
	int nt = 0, i = 0, r;

	r = tokenize(s, n, t, &nt, c->err);
	if (r < 0)
		goto out;
	if (nt == 0) {
		r = err_set(c->err, EINVAL, "template: missing value for command");
		goto out;
	}
	while (i < nt) {
		int j = i;

		while (j < nt && t[j].type != T_PIPE)
			j++;
		r = eval_cmd(t, i, j, val, has, &next, c);
		json_decref(val);
		val = next;
		has = true;
		if (r < 0)
			goto out;
		if (j < nt && j + 1 >= nt) {
			r = err_set(c->err, EINVAL, "template: missing command after |");
			goto out;
		}
		i = j + 1;
	}
	if (!c->check)
		print_val(val, out);
out:
	json_decref(val);
	toks_free(t, nt);
	return r;
}

static int run(const char *tmpl, json_t *dot, struct sbuf *out,
	       struct shoal_err *err, bool check)
{
	struct shoal_err local;
	struct tctx c = { .dot = dot, .err = err ? err : &local, .check = check };
	const char *p = tmpl;
	bool trim_next = false;

	err_clear(c.err);
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *a, *close, *q;
		size_t tlen = open ? (size_t)(open - p) : strlen(p);
		int r;

		if (trim_next)
			while (tlen && isspace((unsigned char)*p)) {
				p++;
				tlen--;
			}
		trim_next = false;
		if (open && open[2] == '-' && isspace((unsigned char)open[3]))
			while (tlen && isspace((unsigned char)p[tlen - 1]))
				tlen--;
		sbuf_add(out, p, tlen);
		if (!open)
			break;
		a = open + 2;
		if (*a == '-' && isspace((unsigned char)a[1]))
			a += 2;
		/* Find the closing braces outside of string literals. */
		for (q = a, close = NULL; *q; q++) {
			if (*q == '"' || *q == '`') {
				char qc = *q;

				for (q++; *q && *q != qc; q++)
					if (qc == '"' && *q == '\\' && q[1])
						q++;
				if (!*q)
					break;
				continue;
			}
			if (q[0] == '}' && q[1] == '}') {
				close = q;
				break;
			}
		}
		if (!close)
			return err_set(c.err, EINVAL, "template: unclosed action");
		p = close + 2;
		if (close - a >= 2 && close[-1] == '-' && isspace((unsigned char)close[-2])) {
			trim_next = true;
			close -= 2;
		}
		while (a < close && isspace((unsigned char)*a))
			a++;
		if (close - a >= 2 && a[0] == '/' && a[1] == '*')
			continue; /* a template comment */
		r = eval_action(a, (size_t)(close - a), out, &c);
		if (r < 0)
			return r;
	}
	return out->oom ? err_set(c.err, ENOMEM, "template: out of memory") : 0;
}

int tmpl_exec(const char *tmpl, json_t *dot, struct sbuf *out,
	      struct shoal_err *err)
{
	return run(tmpl, dot, out, err, false);
}

int tmpl_check(const char *tmpl, struct shoal_err *err)
{
	struct sbuf tmp = { 0 };
	int r = run(tmpl, NULL, &tmp, err, true);

	sbuf_free(&tmp);
	return r;
}

void table_row_split(struct table *t, const char *line)
{
	char *cells[64] = { 0 };
	char *copy = strdup(line ? line : ""), *p = copy;
	size_t n = 0;

	if (!copy)
		return;
	if (t->ncols > 64)
		t->ncols = 64;
	while (p && n < t->ncols) {
		char *tab = strchr(p, '\t');

		if (tab)
			*tab = '\0';
		cells[n++] = p;
		p = tab ? tab + 1 : NULL;
	}
	/* table_row() is variadic; keep one copy path for both. */
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));

		if (!nc) {
			free(copy);
			return;
		}
		t->cells = nc;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "");
	t->nrows++;
	free(copy);
}

/* Docker's preFormat: strip "table", turn \t and \n into the characters. */
static char *prep_format(const char *format, const char *def_table,
			 bool *table)
{
	const char *f = format && *format ? format : def_table;
	struct sbuf b = { 0 };

	if (!strcmp(f, "table"))
		f = def_table;
	*table = false;
	if (!strcmp(f, "json")) {
		f = "{{json .}}";
	} else if (!strncmp(f, "table ", 6)) {
		*table = true;
		f += 6;
	}
	while (*f == ' ')
		f++;
	for (; *f; f++) {
		if (f[0] == '\\' && f[1] == 't') {
			sbuf_add(&b, "\t", 1);
			f++;
		} else if (f[0] == '\\' && f[1] == 'n') {
			sbuf_add(&b, "\n", 1);
			f++;
		} else {
			sbuf_add(&b, f, 1);
		}
	}
	while (b.len && b.s[b.len - 1] == ' ')
		b.s[--b.len] = '\0';
	if (b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	return b.s ? b.s : strdup("");
}

int format_check(const char *format, struct shoal_err *err)
{
	bool table;
	char *f = prep_format(format, "", &table);
	int r;

	if (!f)
		return err_set(err, ENOMEM, "out of memory");
	r = tmpl_check(f, err);
	free(f);
	return r;
}

int format_rows(const char *format, const char *def_table, json_t *rows,
		json_t *hdr, FILE *out, struct shoal_err *err)
{
	struct table t = { 0 };
	struct sbuf b = { 0 };
	size_t i, ncols = 1;
	bool table;
	char *f = prep_format(format, def_table, &table);
	json_t *row;
	int r = 0;

	if (!f)
		return err_set(err, ENOMEM, "out of memory");
	if (table) {
		for (const char *p = f; *p; p++)
			ncols += *p == '\t';
		table_init(&t, ncols);
		r = tmpl_exec(f, hdr, &b, err);
		if (r < 0)
			goto out;
		table_row_split(&t, sbuf_str(&b));
	}
	json_array_foreach(rows, i, row) {
		sbuf_free(&b);
		r = tmpl_exec(f, row, &b, err);
		if (r < 0)
			goto out;
		if (table)
			table_row_split(&t, sbuf_str(&b));
		else
			fprintf(out, "%s\n", sbuf_str(&b));
	}
	if (table)
		table_print(&t, out);
out:
	table_free(&t);
	sbuf_free(&b);
	free(f);
	return r;
}

/* go-units HumanDuration: "Less than a second", "About an hour", "3 weeks"... */
void human_duration(long long secs, char *buf, size_t len)
{
	long long minutes = secs / 60, hours = (secs + 1800) / 3600;

	if (secs < 1)
		snprintf(buf, len, "Less than a second");
	else if (secs == 1)
		snprintf(buf, len, "1 second");
	else if (secs < 60)
		snprintf(buf, len, "%lld seconds", secs);
	else if (minutes == 1)
		snprintf(buf, len, "About a minute");
	else if (minutes < 60)
		snprintf(buf, len, "%lld minutes", minutes);
	else if (hours == 1)
		snprintf(buf, len, "About an hour");
	else if (hours < 48)
		snprintf(buf, len, "%lld hours", hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, len, "%lld days", hours / 24);
	else if (hours < 24 * 30 * 2)
		snprintf(buf, len, "%lld weeks", hours / 24 / 7);
	else if (hours < 24 * 365 * 2)
		snprintf(buf, len, "%lld months", hours / 24 / 30);
	else
		snprintf(buf, len, "%lld years", secs / 3600 / 24 / 365);
}
