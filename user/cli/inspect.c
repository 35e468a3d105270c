// SPDX-License-Identifier: Apache-2.0
/*
 * inspect.c - shared by the inspect verbs and the --format of info and
 * version: see inspect.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

int cli_format_prepare(const char **format, const char *json_as)
{
	struct shoal_err err;

	if (*format && !strcmp(*format, "json"))
		*format = json_as;
	if (*format && tmpl_check(*format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int cli_inspect_get(struct client *cl, const char *path, const char *what,
		    const char *name, json_t *all, struct sbuf *errs, int *failed)
{
	struct shoal_err err;
	struct client_resp resp;
	char msg[1024];

	if (client_do(cl, "GET", path, NULL, &resp, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	/* Docker prints what it found, then one line per miss. */
	if (resp.status == 404) {
		sbuf_printf(errs, "Error: No such %s: %s\n", what, name);
		*failed = 1;
	} else if (resp.status < 200 || resp.status > 299) {
		sbuf_printf(errs, "Error response from daemon: %s\n",
			    client_resp_message(&resp, msg, sizeof(msg)));
		*failed = 1;
	} else {
		json_array_append_new(all, json_is_object(resp.json) ?
						   json_incref(resp.json) :
						   json_object());
	}
	client_resp_free(&resp);
	return 0;
}

int cli_inspect_print(json_t *all, const char *format, struct sbuf *errs,
		      int failed)
{
	struct shoal_err err;

	if (format) {
		size_t i;
		json_t *obj;

		json_array_foreach(all, i, obj) {
			struct sbuf b = { 0 };

			if (tmpl_exec(format, obj, &b, &err) < 0) {
				sbuf_free(&b);
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			printf("%s\n", sbuf_str(&b));
			sbuf_free(&b);
		}
	} else {
		json_print_indent(all, stdout);
	}
	fflush(stdout);
	fputs(sbuf_str(errs), stderr);
	return failed;
}

int cli_inspect_run(struct cli_ctx *ctx, const struct cli_usage *u, int argc,
		    char **argv, const char *what, cli_inspect_path_fn path)
{
	const char *format = NULL, *val;
	json_t *all = json_array();
	struct cli_parse p;
	struct client cl = { 0 };
	struct sbuf errs = { 0 };
	int o, rc = 1, failed = 0;

	if (!all)
		return 1;
	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'f')
			format = val;
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_min(u, p.nargs, 1))
		goto out;
	/* Docker: `--format json` is the default output. */
	if (cli_format_prepare(&format, NULL))
		goto out;
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	for (int i = 0; i < p.nargs; i++) {
		char *pth = path(&cl, p.args[i]);

		if (!pth)
			goto out;
		o = cli_inspect_get(&cl, pth, what, p.args[i], all, &errs, &failed);
		free(pth);
		if (o < 0)
			goto out;
	}
	rc = cli_inspect_print(all, format, &errs, failed);
out:
	client_close(&cl);
	sbuf_free(&errs);
	json_decref(all);
	return rc;
}
