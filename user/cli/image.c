// SPDX-License-Identifier: Apache-2.0
/*
 * image.c - `shoal image ls|inspect|rm|tag|save|load|import|pull` and
 * Docker's top-level forms of them (`images`, `rmi`, `tag`, `save`,
 * `load`, `import`, `pull`), over the /images API with Docker's flags,
 * output and error wording.
 *
 * References are parsed as Docker's distribution/reference parses them
 * ("busybox" is docker.io/library/busybox, shown as "busybox"; a tag is
 * what follows the last ':' after the last '/'), so a malformed one is
 * refused before any request, with Docker's message.
 *
 * Archives go up and down as streams (stream.c): load, import and save
 * never hold an image in memory.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "image_cmd.h"
#include "inspect.h"
#include "output.h"
#include "stream.h"

#define DEFAULT_DOMAIN "docker.io"
#define OFFICIAL_PREFIX "library/"

/* ---- references ---------------------------------------------------------- */

struct imgref {
	char domain[512];
	char remote[512];   /* path below the domain: "library/busybox" */
	char familiar[1040]; /* "busybox", "127.0.0.1:5000/test/img" */
	char tag[129];      /* "" when none */
	char digest[160];   /* "" when none */
};

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool path_comp_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t st = i;

		while (i < n && lower_alnum(s[i]))
			i++;
		if (i == st)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n)
			return false;
	}
	return n > 0;
}

/* host[:port] with host made of [a-zA-Z0-9-] labels, or [ipv6][:port]. */
static bool domain_ok(const char *s)
{
	const char *p = s, *colon;

	if (*p == '[') {
		p = strchr(p, ']');
		if (!p || p == s + 1)
			return false;
		for (const char *q = s + 1; q < p; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return false;
		p++;
	} else {
		size_t lab = 0;

		for (; *p && *p != ':'; p++) {
			if (*p == '.') {
				if (!lab || p[-1] == '-')
					return false;
				lab = 0;
				continue;
			}
			if (!isalnum((unsigned char)*p) && *p != '-')
				return false;
			if (!lab && *p == '-')
				return false;
			lab++;
		}
		if (!lab || p[-1] == '-')
			return false;
	}
	if (!*p)
		return true;
	if (*p != ':')
		return false;
	colon = p + 1;
	if (!*colon)
		return false;
	for (p = colon; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

/* [\w][\w.-]{0,127} */
static bool tag_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' &&
		    s[i] != '-')
			return false;
	return true;
}

/* algorithm:hex, sha256 with exactly 64 hex digits. */
static bool digest_ok(const char *s)
{
	const char *c = strchr(s, ':');

	if (!c || c == s || !isalpha((unsigned char)s[0]))
		return false;
	for (const char *p = s; p < c; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_+.", *p))
			return false;
	if (!strncmp(s, "sha256:", 7))
		return strlen(c + 1) == 64 && is_hex(c + 1, 64);
	return strlen(c + 1) >= 32 && is_hex(c + 1, strlen(c + 1));
}

/*
 * Docker's reference.ParseNormalizedNamed. On error, *why is the message
 * Docker prints ("invalid reference format", ...).
 */
static int ref_parse(const char *s, struct imgref *r, char *why, size_t wlen)
{
	char name[512], *at, *slash, *colon;
	const char *rem;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (strlen(s) == 64 && is_hex(s, 64) && strspn(s, "0123456789abcdef") == 64) {
		snprintf(why, wlen,
			 "invalid repository name (%s), cannot specify 64-byte hexadecimal strings",
			 s);
		return -1;
	}
	if (strlen(s) >= sizeof(name))
		goto bad;
	snprintf(name, sizeof(name), "%s", s);
	at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!digest_ok(at + 1) || strlen(at + 1) >= sizeof(r->digest))
			goto bad;
		snprintf(r->digest, sizeof(r->digest), "%s", at + 1);
	}
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		if (!tag_ok(colon + 1))
			goto bad;
		snprintf(r->tag, sizeof(r->tag), "%s", colon + 1);
	}
	if (!*name)
		goto bad;
	/* splitDockerDomain */
	slash = strchr(name, '/');
	if (slash) {
		size_t fl = (size_t)(slash - name);
		bool dom = memchr(name, '.', fl) || memchr(name, ':', fl) ||
			   (fl == 9 && !strncmp(name, "localhost", 9));

		for (size_t i = 0; i < fl && !dom; i++)
			dom = isupper((unsigned char)name[i]);
		if (dom) {
			*slash = '\0';
			if (!domain_ok(name))
				goto bad;
			snprintf(r->domain, sizeof(r->domain), "%s", name);
			rem = slash + 1;
		} else {
			snprintf(r->domain, sizeof(r->domain), DEFAULT_DOMAIN);
			rem = name;
		}
	} else {
		snprintf(r->domain, sizeof(r->domain), DEFAULT_DOMAIN);
		rem = name;
	}
	if (!strcmp(r->domain, "index.docker.io"))
		snprintf(r->domain, sizeof(r->domain), DEFAULT_DOMAIN);
	if (!strcmp(r->domain, DEFAULT_DOMAIN) && !strchr(rem, '/'))
		snprintf(r->remote, sizeof(r->remote), OFFICIAL_PREFIX "%.*s",
			 (int)(sizeof(r->remote) - sizeof(OFFICIAL_PREFIX)), rem);
	else
		snprintf(r->remote, sizeof(r->remote), "%s", rem);
	for (const char *p = r->remote; *p; p++)
		if (isupper((unsigned char)*p)) {
			snprintf(why, wlen,
				 "invalid reference format: repository name (%.255s) must be lowercase",
				 r->remote);
			return -1;
		}
	/* Every path component. */
	for (const char *p = r->remote; *p;) {
		const char *e = strchr(p, '/');

		n = e ? (size_t)(e - p) : strlen(p);
		if (!path_comp_ok(p, n))
			goto bad;
		p += n + (e ? 1 : 0);
		if (e && !*p)
			goto bad;
	}
	if (strlen(r->domain) + 1 + strlen(r->remote) > 255) {
		snprintf(why, wlen, "invalid reference format: repository name must not be more than 255 characters");
		return -1;
	}
	if (!strcmp(r->domain, DEFAULT_DOMAIN) &&
	    !strncmp(r->remote, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) &&
	    !strchr(r->remote + strlen(OFFICIAL_PREFIX), '/'))
		snprintf(r->familiar, sizeof(r->familiar), "%s",
			 r->remote + strlen(OFFICIAL_PREFIX));
	else if (!strcmp(r->domain, DEFAULT_DOMAIN))
		snprintf(r->familiar, sizeof(r->familiar), "%s", r->remote);
	else
		snprintf(r->familiar, sizeof(r->familiar), "%s/%s", r->domain, r->remote);
	return 0;
bad:
	snprintf(why, wlen, "invalid reference format");
	return -1;
}

/* ---- helpers ------------------------------------------------------------- */

/* Go's error text for a syscall: lower-case strerror. */
static const char *go_strerror(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] && !(buf[0] == 'I' && buf[1] == '/'))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/*
 * "/images/<name><suffix>": like Docker's client, the name goes into the
 * path as it is ("127.0.0.1:5000/a/b:t", "sha256:..."); only characters
 * that cannot stand in a path are escaped.
 */
static char *img_path(const char *name, const char *suffix)
{
	struct sbuf b = { 0 };

	sbuf_puts(&b, "/images/");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (isalnum(*p) || strchr("-._~/:@+", *p))
			sbuf_add(&b, (const char *)p, 1);
		else
			sbuf_printf(&b, "%%%02X", *p);
	}
	sbuf_puts(&b, suffix);
	if (b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	return b.s;
}

/* Append "&key=<escaped value>" (or "?key=" when q is empty). */
static void query_add(struct sbuf *q, struct client *cl, const char *key,
		      const char *val)
{
	char *e = client_escape(cl, val ? val : "");

	if (!e) {
		q->oom = 1;
		return;
	}
	sbuf_printf(q, "%s%s=%s", strchr(sbuf_str(q), '?') ? "&" : "?", key, e);
	free(e);
}

/* A usage copy under another name: `images` and `image ls` share options. */
#define USAGE_AS(u, p) ((struct cli_usage){ .path = (p), .args = (u).args, \
	.desc = (u).desc, .opts = (u).opts, .aliases = (u).aliases,         \
	.extra = (u).extra, .cmds = (u).cmds })

/*
 * A verb reachable both as `image VERB` (img, with its usage) and as a
 * top-level alias `shoal ALIAS` (cmd_ALIAS, the same usage under the
 * alias's name); run(ctx, argc, argv, usage) does the work for both.
 */
#define IMAGE_VERB(img, alias, run, usage)                                  \
	static int img(struct cli_ctx *ctx, int argc, char **argv)          \
	{                                                                   \
		return run(ctx, argc, argv, &(usage));                      \
	}                                                                   \
	int cmd_##alias(struct cli_ctx *ctx, int argc, char **argv)         \
	{                                                                   \
		struct cli_usage u = USAGE_AS(usage, #alias);               \
		return run(ctx, argc, argv, &u);                            \
	}

/* Print a streamed operation's error as Docker does (the bare message). */
static int stream_result(int r, struct jsonmsg_view *v)
{
	if (v->failed) {
		fflush(stdout);
		fprintf(stderr, "%s\n", v->err);
		return 1;
	}
	return r == CLIENT_OK ? 0 : 1;
}

/* ---- image (group) ------------------------------------------------------- */

static int img_inspect(struct cli_ctx *ctx, int argc, char **argv);
static int img_ls(struct cli_ctx *ctx, int argc, char **argv);
static int img_rm(struct cli_ctx *ctx, int argc, char **argv);
static int img_tag(struct cli_ctx *ctx, int argc, char **argv);
static int img_save(struct cli_ctx *ctx, int argc, char **argv);
static int img_load(struct cli_ctx *ctx, int argc, char **argv);
static int img_import(struct cli_ctx *ctx, int argc, char **argv);
static int img_pull(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd image_cmds[] = {
	{ "import", img_import, "Import the contents from a tarball to create a filesystem image", NULL },
	{ "inspect", img_inspect, "Display detailed information on one or more images", NULL },
	{ "load", img_load, "Load an image from a tar archive or STDIN", NULL },
	{ "ls", img_ls, "List images", "list" },
	{ "prune", cmd_image_prune, "Remove unused images", NULL },
	{ "pull", img_pull, "Download an image from a registry", NULL },
	{ "rm", img_rm, "Remove one or more images", "remove" },
	{ "save", img_save, "Save one or more images to a tar archive (streamed to STDOUT by default)", NULL },
	{ "tag", img_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", NULL },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_usage image_usage = {
	.path = "image",
	.args = "COMMAND",
	.desc = "Manage images",
	.cmds = image_cmds,
};

int cmd_image(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, &image_usage, argc, argv);
}

/* ---- ls ------------------------------------------------------------------ */

enum { OPT_DIGESTS = 256, OPT_NOTRUNC, OPT_FORMAT, OPT_NOPRUNE };

static const struct cli_opt ls_opts[] = {
	{ 'a', 'a', "all", NULL, "Show all images (default hides intermediate images)" },
	{ OPT_DIGESTS, 0, "digests", NULL, "Show digests" },
	{ 'f', 'f', "filter", "filter",
	  "Filter output based on conditions provided (\"dangling=true\", \"reference=busybox:*\", \"label=k=v\", \"before=IMAGE\", \"since=IMAGE\")" },
	{ OPT_FORMAT, 0, "format", "string",
	  "Format output: 'table', 'table TEMPLATE', 'json' or TEMPLATE (fields: .ID .Repository .Tag .Digest .CreatedSince .CreatedAt .Size .Containers)" },
	{ OPT_NOTRUNC, 0, "no-trunc", NULL, "Don't truncate output" },
	{ 'q', 'q', "quiet", NULL, "Only show image IDs" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage ls_usage = {
	.path = "image ls",
	.args = "[OPTIONS] [REPOSITORY[:TAG]]",
	.desc = "List images",
	.aliases = "shoal image ls, shoal image list, shoal images",
	.opts = ls_opts,
};

#define LS_TABLE "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
#define LS_TABLE_DIGESTS \
	"table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

/* stringid.TruncateID: no "sha256:", 12 characters. */
static void trunc_id(const char *id, bool notrunc, char *buf, size_t len)
{
	const char *c = strchr(id, ':');

	if (notrunc)
		snprintf(buf, len, "%s", id);
	else
		snprintf(buf, len, "%.12s", c ? c + 1 : id);
}

/* Docker's formatter fields of one row, as strings. */
static json_t *ls_row(json_t *img, const char *repo, const char *tag,
		      const char *digest, bool notrunc)
{
	long long created = jint(img, "Created"), now = (long long)time(NULL);
	char id[80], since[64], size[32], at[64], cont[24];
	struct tm tm;
	time_t t = (time_t)created;

	trunc_id(jstr(img, "Id"), notrunc, id, sizeof(id));
	human_duration(now - created, since, sizeof(since));
	strncat(since, " ago", sizeof(since) - strlen(since) - 1);
	human_size((double)jint(img, "Size"), 3, size, sizeof(size));
	/* Go's time.Time.String() in the local zone. */
	localtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	if (jint(img, "Containers") < 0)
		snprintf(cont, sizeof(cont), "N/A");
	else
		snprintf(cont, sizeof(cont), "%lld", jint(img, "Containers"));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "ID", id, "Repository", repo, "Tag", tag, "Digest", digest,
			 "CreatedSince", since, "CreatedAt", at, "Size", size,
			 "VirtualSize", size, "SharedSize", "N/A", "UniqueSize", "N/A",
			 "Containers", cont);
}

struct repo_refs {
	char repo[1040];
	json_t *tags;    /* strings */
	json_t *digests; /* strings */
};

static struct repo_refs *repo_get(struct repo_refs *rr, size_t *n, size_t max,
				  const char *repo)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(rr[i].repo, repo))
			return &rr[i];
	if (*n == max)
		return NULL;
	snprintf(rr[*n].repo, sizeof(rr[*n].repo), "%s", repo);
	rr[*n].tags = json_array();
	rr[*n].digests = json_array();
	return &rr[(*n)++];
}

static int cmp_repo(const void *a, const void *b)
{
	return natural_cmp(((const struct repo_refs *)a)->repo,
			   ((const struct repo_refs *)b)->repo);
}

#define MAX_REPOS 64

/* Docker's imageFormat(): one row per repo:tag (and digest with --digests). */
static void ls_rows(json_t *rows, json_t *img, bool digests, bool notrunc)
{
	json_t *tags = jarr(img, "RepoTags"), *dgs = jarr(img, "RepoDigests"), *v;
	struct repo_refs rr[MAX_REPOS];
	size_t n = 0, i;
	char why[256];

	/* Dangling: no references, or the API's "<none>:<none>" form. */
	if ((!json_array_size(tags) && !json_array_size(dgs)) ||
	    (json_array_size(tags) == 1 && json_array_size(dgs) == 1 &&
	     !strcmp(json_string_value(json_array_get(tags, 0)) ?: "", "<none>:<none>") &&
	     !strcmp(json_string_value(json_array_get(dgs, 0)) ?: "", "<none>@<none>"))) {
		json_array_append_new(rows, ls_row(img, "<none>", "<none>", "<none>", notrunc));
		return;
	}
	json_array_foreach(tags, i, v) {
		const char *s = json_string_value(v);
		struct imgref r;
		struct repo_refs *e;

		if (!s || ref_parse(s, &r, why, sizeof(why)) || !*r.tag)
			continue;
		e = repo_get(rr, &n, MAX_REPOS, r.familiar);
		if (e)
			json_array_append_new(e->tags, json_string(r.tag));
	}
	json_array_foreach(dgs, i, v) {
		const char *s = json_string_value(v);
		struct imgref r;
		struct repo_refs *e;

		if (!s || ref_parse(s, &r, why, sizeof(why)) || !*r.digest)
			continue;
		e = repo_get(rr, &n, MAX_REPOS, r.familiar);
		if (e)
			json_array_append_new(e->digests, json_string(r.digest));
	}
	qsort(rr, n, sizeof(rr[0]), cmp_repo);
	for (size_t k = 0; k < n; k++) {
		size_t nt = json_array_size(rr[k].tags), nd = json_array_size(rr[k].digests);

		for (size_t t = 0; t < nt; t++) {
			const char *tag = json_string_value(json_array_get(rr[k].tags, t));

			if (!digests || !nd) {
				json_array_append_new(rows, ls_row(img, rr[k].repo, tag,
								   nd ? json_string_value(json_array_get(rr[k].digests, 0)) : "<none>",
								   notrunc));
				continue;
			}
			for (size_t d = 0; d < nd; d++)
				json_array_append_new(
					rows, ls_row(img, rr[k].repo, tag,
						     json_string_value(json_array_get(rr[k].digests, d)),
						     notrunc));
		}
		/* Digest-only references. */
		if (!nt) {
			if (digests)
				for (size_t d = 0; d < nd; d++)
					json_array_append_new(
						rows, ls_row(img, rr[k].repo, "<none>",
							     json_string_value(json_array_get(rr[k].digests, d)),
							     notrunc));
			else
				json_array_append_new(
					rows, ls_row(img, rr[k].repo, "<none>",
						     json_string_value(json_array_get(rr[k].digests, 0)),
						     notrunc));
		}
		json_decref(rr[k].tags);
		json_decref(rr[k].digests);
	}
}

static int ls_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u)
{
	const char *format = NULL, *val;
	bool quiet = false, notrunc = false, digests = false, all = false;
	json_t *filters = json_object(), *list = NULL, *rows = NULL, *hdr = NULL, *img;
	struct sbuf path = { 0 };
	struct shoal_err err;
	struct cli_parse p;
	struct client cl = { 0 };
	char *fs = NULL;
	size_t i;
	int o, rc = 1;

	if (!filters)
		return 1;
	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		switch (o) {
		case 'a':
			all = val[0] == 't';
			break;
		case 'q':
			quiet = val[0] == 't';
			break;
		case OPT_NOTRUNC:
			notrunc = val[0] == 't';
			break;
		case OPT_DIGESTS:
			digests = val[0] == 't';
			break;
		case OPT_FORMAT:
			format = val;
			break;
		case 'f':
			if (cli_filter_add(filters, val) < 0)
				goto out;
			break;
		}
	}
	if (o < 0) {
		rc = p.rc;
		goto out;
	}
	if (cli_args_range(u, p.nargs, 0, 1))
		goto out;
	if (p.nargs == 1) {
		char buf[512];

		snprintf(buf, sizeof(buf), "reference=%s", p.args[0]);
		cli_filter_add(filters, buf);
	}
	if (quiet && (!format || !*format || !strcmp(format, "table")))
		format = "{{.ID}}";
	if (format && format_check(format, &err) < 0) {
		fprintf(stderr, "template parsing error: %s\n", err.msg);
		goto out;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	sbuf_puts(&path, "/images/json");
	if (all)
		sbuf_puts(&path, "?all=1");
	if (json_object_size(filters)) {
		fs = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
		if (!fs)
			goto out;
		query_add(&path, &cl, "filters", fs);
	}
	if (path.oom)
		goto out;
	if (client_call(&cl, "GET", sbuf_str(&path), NULL, 0, &list, NULL) != CLIENT_OK)
		goto out;
	rows = json_array();
	hdr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
			"IMAGE ID", "Repository", "REPOSITORY", "Tag", "TAG", "Digest",
			"DIGEST", "CreatedSince", "CREATED", "CreatedAt", "CREATED AT",
			"Size", "SIZE", "VirtualSize", "VIRTUAL SIZE", "SharedSize",
			"SHARED SIZE", "UniqueSize", "UNIQUE SIZE", "Containers",
			"CONTAINERS");
	if (!rows || !hdr)
		goto out;
	json_array_foreach(list, i, img)
		if (json_is_object(img))
			ls_rows(rows, img, digests, notrunc);
	if (format_rows(format, digests ? LS_TABLE_DIGESTS : LS_TABLE, rows, hdr,
			stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	client_close(&cl);
	sbuf_free(&path);
	free(fs);
	json_decref(hdr);
	json_decref(rows);
	json_decref(list);
	json_decref(filters);
	return rc;
}

IMAGE_VERB(img_ls, images, ls_run, ls_usage)

/* ---- inspect ------------------------------------------------------------- */

static const struct cli_opt inspect_opts[] = {
	{ 'f', 'f', "format", "string",
	  "Format output using a template ('json' or e.g. '{{.Id}}', '{{json .RootFS.Layers}}', '{{.GraphDriver.Name}}')" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage inspect_usage = {
	.path = "image inspect",
	.args = "[OPTIONS] IMAGE [IMAGE...]",
	.desc = "Display detailed information on one or more images",
	.opts = inspect_opts,
};

static char *inspect_path(struct client *cl, const char *name)
{
	(void)cl;
	return img_path(name, "/json");
}

static int img_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_inspect_run(ctx, &inspect_usage, argc, argv, "image", inspect_path);
}

/* ---- rm ------------------------------------------------------------------ */

static const struct cli_opt rm_opts[] = {
	{ 'f', 'f', "force", NULL, "Force removal of the image" },
	{ OPT_NOPRUNE, 0, "no-prune", NULL, "Do not delete untagged parents" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage rm_usage = {
	.path = "image rm",
	.args = "[OPTIONS] IMAGE [IMAGE...]",
	.desc = "Remove one or more images",
	.aliases = "shoal image rm, shoal image remove, shoal rmi",
	.opts = rm_opts,
};

static int rm_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u)
{
	bool force = false, noprune = false, fatal = false;
	struct sbuf errs = { 0 };
	struct cli_parse p;
	struct client cl;
	const char *val;
	int o, rc = 0;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'f')
			force = val[0] == 't';
		else if (o == OPT_NOPRUNE)
			noprune = val[0] == 't';
	}
	if (o < 0)
		return p.rc;
	if (cli_args_min(u, p.nargs, 1))
		return 1;
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	/* Like Docker: go on past failures, report them all at the end. */
	for (int i = 0; i < p.nargs; i++) {
		char *path = img_path(p.args[i], force ? (noprune ? "?force=1&noprune=1" : "?force=1")
						       : (noprune ? "?noprune=1" : ""));
		struct client_resp resp;
		struct shoal_err err;
		char msg[1024];
		size_t k;
		json_t *e;

		if (!path) {
			rc = 1;
			break;
		}
		o = client_do(&cl, "DELETE", path, NULL, &resp, &err);
		free(path);
		if (o < 0) {
			sbuf_printf(&errs, "%s%s", errs.len ? "\n" : "", err.msg);
			fatal = true;
			break;
		}
		if (resp.status < 200 || resp.status > 299) {
			sbuf_printf(&errs, "%sError response from daemon: %s",
				    errs.len ? "\n" : "",
				    client_resp_message(&resp, msg, sizeof(msg)));
			if (resp.status != 404)
				fatal = true;
		} else {
			json_array_foreach(resp.json, k, e) {
				if (*jstr(e, "Deleted"))
					printf("Deleted: %s\n", jstr(e, "Deleted"));
				else
					printf("Untagged: %s\n", jstr(e, "Untagged"));
			}
			fflush(stdout);
		}
		client_resp_free(&resp);
	}
	client_close(&cl);
	if (errs.len) {
		fprintf(stderr, "%s\n", sbuf_str(&errs));
		if (!force || fatal)
			rc = 1;
	}
	sbuf_free(&errs);
	return rc;
}

IMAGE_VERB(img_rm, rmi, rm_run, rm_usage)

/* ---- tag ----------------------------------------------------------------- */

static const struct cli_usage tag_usage = {
	.path = "image tag",
	.args = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
	.desc = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
	.aliases = "shoal image tag, shoal tag",
};

static int tag_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u)
{
	const char *val, *src, *dst;
	struct imgref r;
	struct cli_parse p;
	struct client cl;
	struct sbuf path = { 0 };
	char why[512], *base;
	int o, rc = 1;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		;
	if (o < 0)
		return p.rc;
	if (cli_args_exact(u, p.nargs, 2))
		return 1;
	src = p.args[0];
	dst = p.args[1];
	/* ParseAnyReference: an id ("sha256:..."), or a name. */
	if (!(digest_ok(src) && !strchr(src, '/')) && ref_parse(src, &r, why, sizeof(why))) {
		fprintf(stderr, "Error parsing reference: \"%s\" is not a valid repository/tag: %s\n",
			src, why);
		return 1;
	}
	if (ref_parse(dst, &r, why, sizeof(why))) {
		fprintf(stderr, "Error parsing reference: \"%s\" is not a valid repository/tag: %s\n",
			dst, why);
		return 1;
	}
	if (*r.digest) {
		fprintf(stderr, "refusing to create a tag with a digest reference\n");
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		return 1;
	base = img_path(src, "/tag");
	if (!base)
		goto out;
	sbuf_puts(&path, base);
	free(base);
	query_add(&path, &cl, "repo", r.familiar);
	query_add(&path, &cl, "tag", *r.tag ? r.tag : "latest");
	if (!path.oom &&
	    client_call(&cl, "POST", sbuf_str(&path), NULL, 0, NULL, NULL) == CLIENT_OK)
		rc = 0;
out:
	sbuf_free(&path);
	client_close(&cl);
	return rc;
}

IMAGE_VERB(img_tag, tag, tag_run, tag_usage)

/* ---- save ---------------------------------------------------------------- */

static const struct cli_opt save_opts[] = {
	{ 'o', 'o', "output", "string", "Write to a file, instead of STDOUT" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage save_usage = {
	.path = "image save",
	.args = "[OPTIONS] IMAGE [IMAGE...]",
	.desc = "Save one or more images to a tar archive (streamed to STDOUT by default)",
	.aliases = "shoal image save, shoal save",
	.opts = save_opts,
};

static int save_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u)
{
	const char *output = NULL, *val;
	char tmp[PATH_MAX] = "", ebuf[128];
	struct stream_req s = { .in_fd = -1, .out_fd = 1 };
	struct sbuf path = { 0 };
	struct cli_parse p;
	struct client cl = { 0 };
	int o, rc = 1, fd = -1;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'o')
			output = val;
	if (o < 0)
		return p.rc;
	if (cli_args_min(u, p.nargs, 1))
		return 1;
	if (output && *output) {
		/* Docker's CopyToFile: a temp file beside the target, renamed
		 * at the end, so a failed save leaves no partial archive. */
		char dir[PATH_MAX];
		const char *sl = strrchr(output, '/');
		struct stat st;

		if (sl)
			snprintf(dir, sizeof(dir), "%.*s", (int)(sl - output + (sl == output)),
				 output);
		else
			snprintf(dir, sizeof(dir), ".");
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr,
				"failed to save image: invalid output path: directory \"%s\" does not exist\n",
				dir);
			return 1;
		}
		if (snprintf(tmp, sizeof(tmp), "%s/.shoal_temp_XXXXXX", dir) >= (int)sizeof(tmp))
			return 1;
		fd = mkstemp(tmp);
		if (fd < 0) {
			fprintf(stderr, "failed to save image: %s\n",
				go_strerror(errno, ebuf, sizeof(ebuf)));
			return 1;
		}
		s.out_fd = fd;
	} else if (isatty(1)) {
		fprintf(stderr,
			"cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
		return 1;
	}
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	if (p.nargs == 1) {
		char *pp = img_path(p.args[0], "/get");

		if (!pp)
			goto out;
		sbuf_puts(&path, pp);
		free(pp);
	} else {
		sbuf_puts(&path, "/images/get");
		for (int i = 0; i < p.nargs; i++)
			query_add(&path, &cl, "names", p.args[i]);
	}
	if (path.oom)
		goto out;
	if (client_stream(&cl, "GET", sbuf_str(&path), &s) != CLIENT_OK)
		goto out;
	/* An archive is never empty: the daemon failed after its 200. */
	if (fd >= 0 && lseek(fd, 0, SEEK_END) == 0) {
		fprintf(stderr, "failed to save image: the daemon sent an empty archive\n");
		goto out;
	}
	if (fd >= 0) {
		if (fsync(fd) < 0 || close(fd) < 0) {
			fd = -1;
			fprintf(stderr, "failed to save image: %s\n",
				go_strerror(errno, ebuf, sizeof(ebuf)));
			goto out;
		}
		fd = -1;
		if (rename(tmp, output) < 0) {
			fprintf(stderr, "failed to save image: rename %s %s: %s\n", tmp, output,
				go_strerror(errno, ebuf, sizeof(ebuf)));
			goto out;
		}
		tmp[0] = '\0';
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	client_close(&cl);
	sbuf_free(&path);
	return rc;
}

IMAGE_VERB(img_save, save, save_run, save_usage)

/* ---- load ---------------------------------------------------------------- */

static const struct cli_opt load_opts[] = {
	{ 'i', 'i', "input", "string", "Read from tar archive file, instead of STDIN" },
	{ 'q', 'q', "quiet", NULL, "Suppress the load output" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage load_usage = {
	.path = "image load",
	.args = "[OPTIONS]",
	.desc = "Load an image from a tar archive or STDIN",
	.aliases = "shoal image load, shoal load",
	.opts = load_opts,
	.extra = "Archives: docker save (legacy or OCI layout), plain or gzip/zstd-compressed.\n",
};

/* Open an input file (or stdin for NULL/"-"); size for Content-Length. */
static int open_input(const char *file, uint64_t *size)
{
	struct stat st;
	char ebuf[128];
	int fd = 0;

	if (file && *file && strcmp(file, "-")) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "open %s: %s\n", file,
				go_strerror(errno, ebuf, sizeof(ebuf)));
			return -1;
		}
	}
	*size = STREAM_SIZE_UNKNOWN;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0)
		*size = (uint64_t)st.st_size;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "read %s: is a directory\n", file ? file : "-");
		if (fd)
			close(fd);
		return -1;
	}
	return fd;
}

static int load_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u)
{
	const char *input = NULL, *val;
	bool quiet = false;
	struct stream_req s = { .in_fd = -1, .out_fd = -1,
				.content_type = "application/x-tar",
				.on_msg = jsonmsg_show };
	struct jsonmsg_view v;
	struct cli_parse p;
	struct client cl = { 0 };
	int o, r, rc = 1;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0) {
		if (o == 'i')
			input = val;
		else if (o == 'q')
			quiet = val[0] == 't';
	}
	if (o < 0)
		return p.rc;
	if (cli_args_none(u, p.nargs))
		return 1;
	/* Docker: do not wait forever on a terminal. */
	if ((!input || !*input) && isatty(0)) {
		fprintf(stderr, "requested load from stdin, but stdin is empty\n");
		return 1;
	}
	if (!isatty(1))
		quiet = true;
	s.in_fd = open_input(input, &s.in_size);
	if (s.in_fd < 0)
		return 1;
	jsonmsg_view_init(&v, stdout, false);
	s.arg = &v;
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	r = client_stream(&cl, "POST", quiet ? "/images/load?quiet=1" : "/images/load?quiet=0",
			  &s);
	rc = stream_result(r, &v);
out:
	client_close(&cl);
	jsonmsg_view_free(&v);
	if (s.in_fd > 0)
		close(s.in_fd);
	return rc;
}

IMAGE_VERB(img_load, load, load_run, load_usage)

/* ---- import -------------------------------------------------------------- */

static const struct cli_opt import_opts[] = {
	{ 'm', 'm', "message", "string", "Set commit message for imported image" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage import_usage = {
	.path = "image import",
	.args = "[OPTIONS] file|- [REPOSITORY[:TAG]]",
	.desc = "Import the contents from a tarball to create a filesystem image",
	.aliases = "shoal image import, shoal import",
	.opts = import_opts,
	.extra = "The tarball (plain, gzip or zstd) becomes the image's only layer.\n",
};

/* The reply is a message stream ({"status":"sha256:..."}), or one object
 * with the id: show either. */
static int import_msg(void *arg, json_t *msg)
{
	if (!json_object_get(msg, "status") && !json_object_get(msg, "stream") &&
	    !json_object_get(msg, "error") && !json_object_get(msg, "errorDetail")) {
		const char *id = *jstr(msg, "Id") ? jstr(msg, "Id") : jstr(msg, "id");

		if (*id)
			printf("%s\n", id);
		return 0;
	}
	return jsonmsg_show(arg, msg);
}

static int import_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u)
{
	const char *message = NULL, *val, *src;
	struct stream_req s = { .in_fd = -1, .out_fd = -1,
				.content_type = "application/x-tar",
				.on_msg = import_msg };
	struct jsonmsg_view v;
	struct sbuf path = { 0 };
	struct cli_parse p;
	struct client cl = { 0 };
	struct imgref r;
	char why[512];
	int o, rc = 1;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'm')
			message = val;
	if (o < 0)
		return p.rc;
	if (cli_args_range(u, p.nargs, 1, 2))
		return 1;
	src = p.args[0];
	if (p.nargs == 2) {
		if (ref_parse(p.args[1], &r, why, sizeof(why))) {
			fprintf(stderr, "%s\n", why);
			return 1;
		}
		if (*r.digest) {
			fprintf(stderr, "refusing to create a tag with a digest reference\n");
			return 1;
		}
	}
	if (strstr(src, "://")) {
		fprintf(stderr, "importing from a URL is not supported: download %s first, then import the file\n",
			src);
		return 1;
	}
	s.in_fd = open_input(src, &s.in_size);
	if (s.in_fd < 0)
		return 1;
	jsonmsg_view_init(&v, stdout, false);
	s.arg = &v;
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	sbuf_puts(&path, "/images/create?fromSrc=-");
	if (p.nargs == 2) {
		query_add(&path, &cl, "repo", r.familiar);
		query_add(&path, &cl, "tag", *r.tag ? r.tag : "latest");
	}
	if (message)
		query_add(&path, &cl, "message", message);
	if (path.oom)
		goto out;
	rc = stream_result(client_stream(&cl, "POST", sbuf_str(&path), &s), &v);
out:
	client_close(&cl);
	jsonmsg_view_free(&v);
	sbuf_free(&path);
	if (s.in_fd > 0)
		close(s.in_fd);
	return rc;
}

IMAGE_VERB(img_import, import, import_run, import_usage)

/* ---- pull ---------------------------------------------------------------- */

static const struct cli_opt pull_opts[] = {
	{ 'q', 'q', "quiet", NULL, "Suppress verbose output" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct cli_usage pull_usage = {
	.path = "image pull",
	.args = "[OPTIONS] NAME[:TAG|@DIGEST]",
	.desc = "Download an image from a registry",
	.aliases = "shoal image pull, shoal pull",
	.opts = pull_opts,
	.extra = "Registries are spoken to over HTTPS, or plain HTTP on loopback (127.0.0.1:5000/repo).\n",
};

static int pull_run(struct cli_ctx *ctx, int argc, char **argv, const struct cli_usage *u)
{
	const char *val;
	bool quiet = false;
	struct stream_req s = { .in_fd = -1, .out_fd = -1, .on_msg = jsonmsg_show };
	struct jsonmsg_view v;
	struct sbuf path = { 0 };
	struct cli_parse p;
	struct client cl = { 0 };
	struct imgref r;
	char why[512], from[1300];
	int o, rc = 1;

	cli_parse_init(&p, u, argc, argv);
	while ((o = cli_next(&p, &val)) > 0)
		if (o == 'q')
			quiet = val[0] == 't';
	if (o < 0)
		return p.rc;
	if (cli_args_exact(u, p.nargs, 1))
		return 1;
	if (ref_parse(p.args[0], &r, why, sizeof(why))) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	if (!*r.tag && !*r.digest) {
		snprintf(r.tag, sizeof(r.tag), "latest");
		if (!quiet)
			printf("Using default tag: latest\n");
	}
	jsonmsg_view_init(&v, stdout, quiet);
	s.arg = &v;
	if (client_open_or_report(&cl, ctx->host))
		goto out;
	/* fromImage=NAME&tag=TAG, or fromImage=NAME@DIGEST. */
	if (*r.digest)
		snprintf(from, sizeof(from), "%s@%s", r.familiar, r.digest);
	else
		snprintf(from, sizeof(from), "%s", r.familiar);
	sbuf_puts(&path, "/images/create");
	query_add(&path, &cl, "fromImage", from);
	if (!*r.digest)
		query_add(&path, &cl, "tag", r.tag);
	if (path.oom)
		goto out;
	rc = stream_result(client_stream(&cl, "POST", sbuf_str(&path), &s), &v);
	if (rc == 0) {
		/* The full reference, as Docker ends a pull. */
		printf("%s/%s%s%s%s%s\n", r.domain, r.remote, *r.tag ? ":" : "", r.tag,
		       *r.digest ? "@" : "", r.digest);
	}
out:
	client_close(&cl);
	jsonmsg_view_free(&v);
	sbuf_free(&path);
	return rc;
}

IMAGE_VERB(img_pull, pull, pull_run, pull_usage)
