/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.inc.h - the image store on the real vfs driver, and pull from
 * Debian's docker-registry on loopback (images pushed with skopeo from
 * tools/mkimage.sh archives): digests, layer sharing ("Already exists"),
 * a tampered blob refused with -EBADMSG leaving nothing behind, an
 * unreachable registry reported clearly. Included by main.c.
 */
#include <curl/curl.h>
#include <sys/wait.h>

#include "../../user/image/image_int.h"
#include "../../user/state/state.h"
#include "../../user/storage/storage.h"

static void cleanup_all(void);

static char im_root[64];     /* mkdtemp under /var/tmp: everything of this suite */
static pid_t im_registry = -1;
static int im_port;

struct im_store {
	char dir[200];
	struct state *st;
	pthread_mutex_t lock;
	struct storage_driver *drv;
	struct image_store *s;
};

static void im_suite_cleanup(void)
{
	if (im_registry > 0) {
		kill(im_registry, SIGTERM);
		waitpid(im_registry, NULL, 0);
		im_registry = -1;
	}
	if (im_root[0]) {
		sh("rm -rf '%s'", im_root);
		im_root[0] = '\0';
	}
}

static void im_on_signal(int sig)
{
	im_suite_cleanup();
	cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int im_store_open(struct im_store *m, const char *name, struct shoal_err *e)
{
	char db[300];

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	snprintf(m->dir, sizeof(m->dir), "%s/%s", im_root, name);
	if (util_mkdir_p(m->dir, 0700))
		return err_set(e, EIO, "mkdir %s", m->dir);
	snprintf(db, sizeof(db), "%s/shoal.db", m->dir);
	if (state_open(&m->st, db, e) || storage_open("vfs", m->dir, NULL, 0, &m->drv, e))
		return -1;
	return image_store_open(&m->s, m->st, &m->lock, m->drv, m->dir, e);
}

static void im_store_close(struct im_store *m)
{
	image_store_close(m->s);
	if (m->drv)
		storage_close(m->drv);
	state_close(m->st);
	pthread_mutex_destroy(&m->lock);
	m->s = NULL;
}

static int im_count(const char *fmt, const char *a)
{
	char cmd[8800], out[64];

	if (snprintf(cmd, sizeof(cmd), fmt, a) >= (int)sizeof(cmd))
		return -1;
	sh_out(out, sizeof(out), "%s", cmd);
	return atoi(out);
}

struct im_events {
	char log[8192];
};

static void im_progress(void *arg, const char *id, const char *status, uint64_t cur,
			uint64_t total)
{
	struct im_events *ev = arg;
	size_t n = strlen(ev->log);

	(void)cur;
	(void)total;
	if (strcmp(status, "Downloading") == 0)
		return;
	snprintf(ev->log + n, sizeof(ev->log) - n, "%s: %s\n", id ? id : "-", status);
}

static int im_mkimage(const char *out, const char *args, char id[IMAGE_ID_LEN])
{
	char buf[200];

	sh_out(buf, sizeof(buf), "tools/mkimage.sh -o '%s' %s", out, args);
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(id, IMAGE_ID_LEN, "%.71s", buf);
	return sha256_digest_valid(id) ? 0 : -1;
}

static int im_push(const char *archive, const char *ref, const char *extra)
{
	return sh("skopeo copy -q --dest-tls-verify=false %s docker-archive:'%s' "
		  "docker://127.0.0.1:%d/%s >/dev/null 2>&1",
		  extra, archive, im_port, ref);
}

static int im_start_registry(void)
{
	char cfg[200], storage[200];
	FILE *f;

	snprintf(storage, sizeof(storage), "%s/registry", im_root);
	snprintf(cfg, sizeof(cfg), "%s/registry.yml", im_root);
	f = fopen(cfg, "we");
	if (!f)
		return -1;
	fprintf(f, "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
		   "    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%d\n",
		storage, im_port);
	fclose(f);
	im_registry = fork();
	if (im_registry == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		setsid();
		execlp("docker-registry", "docker-registry", "serve", cfg, (char *)NULL);
		_exit(127);
	}
	if (im_registry < 0)
		return -1;
	for (int i = 0; i < 100; i++) {
		if (sh("curl -sf -o /dev/null http://127.0.0.1:%d/v2/", im_port) == 0)
			return 0;
		if (waitpid(im_registry, NULL, WNOHANG) == im_registry) {
			im_registry = -1;
			return -1;
		}
		usleep(100000);
	}
	return -1;
}

TEST(image_vfs_load_layers)
{
	struct im_store m;
	struct shoal_err e;
	char img[200], id[IMAGE_ID_LEN], got[IMAGE_ID_LEN], top[65], path[4300];
	json_t *loaded = NULL, *out = NULL;
	int fd;

	snprintf(img, sizeof(img), "%s/img.tar", im_root);
	if (im_mkimage(img, "-t shoal/busybox:latest", id))
		SKIP("tools/mkimage.sh failed (busybox-static missing?)");
	if (im_store_open(&m, "vfs1", &e)) {
		printf("#   %s\n", e.msg);
		CHECK(0, "open store on vfs");
		return;
	}
	fd = open(img, O_RDONLY | O_CLOEXEC);
	CHECK_EQ(image_load(m.s, fd, NULL, &loaded, &e), 0, e.msg);
	close(fd);
	json_decref(loaded);
	CHECK_EQ(image_resolve(m.s, "shoal/busybox", got, NULL, top, &e), 0, e.msg);
	CHECK(strcmp(got, id) == 0, "id = mkimage's");
	CHECK_EQ(m.drv->ops->get(m.drv, top, path, sizeof(path), &e), 0, e.msg);
	CHECK(im_count("test -x %s/bin/busybox && echo 1", path) == 1, "base layer extracted");
	CHECK(im_count("test -e %s/data/b || echo 1", path) == 1, "whiteout applied on vfs");
	CHECK(im_count("cat %s/data/c 2>/dev/null | grep -c c", path) == 1, "top layer extracted");
	m.drv->ops->put(m.drv, top, &e);
	/* the same image as an OCI layout, gzip'd: same id, no new layer */
	snprintf(img, sizeof(img), "%s/oci.tgz", im_root);
	CHECK_EQ(im_mkimage(img, "--oci --gzip -t oci/busybox:1", got), 0, "mkimage --oci");
	fd = open(img, O_RDONLY | O_CLOEXEC);
	CHECK_EQ(image_load(m.s, fd, NULL, &loaded, &e), 0, e.msg);
	close(fd);
	CHECK(loaded && strcmp(json_string_value(json_array_get(loaded, 0)) ?: "", "oci/busybox:1") == 0,
	      "Loaded image: oci/busybox:1");
	json_decref(loaded);
	CHECK_EQ(image_resolve(m.s, "oci/busybox:1", got, NULL, top, &e), 0, e.msg);
	CHECK(strcmp(got, id) == 0, "OCI layout: same id");
	CHECK_EQ(im_count("ls %s/vfs/dir 2>/dev/null | wc -l", m.dir), 2, "layers shared");
	CHECK_EQ(image_remove(m.s, "oci/busybox:1", false, NULL, NULL, &out, &e), 0, e.msg);
	json_decref(out);
	CHECK_EQ(image_remove(m.s, "shoal/busybox", false, NULL, NULL, &out, &e), 0, e.msg);
	json_decref(out);
	CHECK_EQ(im_count("ls %s/vfs/dir 2>/dev/null | wc -l", m.dir), 0, "vfs layers removed");
	CHECK_EQ(im_count("ls %s/image/blobs/sha256 | wc -l", m.dir), 0, "blobs removed");
	im_store_close(&m);
}

TEST(image_pull_registry)
{
	struct im_store m;
	struct shoal_err e;
	struct im_events ev = { "" };
	struct image_progress p = { im_progress, &ev };
	char img[200], var[200], id[IMAGE_ID_LEN], vid[IMAGE_ID_LEN], got[IMAGE_ID_LEN];
	char ref[200], top[65], digest[100], path[4300];
	json_t *ins = NULL;
	int ret;

	if (sh("command -v docker-registry >/dev/null && command -v skopeo >/dev/null"))
		SKIP("docker-registry or skopeo not installed");
	snprintf(img, sizeof(img), "%s/img.tar", im_root);
	snprintf(var, sizeof(var), "%s/var.tar", im_root);
	if (im_mkimage(img, "-t shoal/busybox:latest", id) || im_mkimage(var, "--variant v", vid))
		SKIP("tools/mkimage.sh failed (busybox-static missing?)");
	im_port = 5100 + (int)(getpid() % 800);
	if (im_start_registry()) {
		CHECK(0, "docker-registry started");
		return;
	}
	CHECK_EQ(im_push(img, "test/img:latest", ""), 0, "skopeo push (docker v2s2, gzip)");
	CHECK_EQ(im_push(var, "test/var:oci", "--format oci"), 0, "skopeo push (OCI)");
	sh_out(digest, sizeof(digest),
	       "curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "
	       "http://127.0.0.1:%d/v2/test/img/manifests/latest | tr -d '\\r' | "
	       "sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'", im_port);
	digest[strcspn(digest, "\n")] = '\0';

	if (im_store_open(&m, "pull", &e)) {
		printf("#   %s\n", e.msg);
		CHECK(0, "open store");
		return;
	}
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/img", im_port);
	ret = image_pull(m.s, ref, NULL, &p, got, &e);
	CHECK_EQ(ret, 0, e.msg);
	CHECK(strcmp(got, id) == 0, "pulled id = the pushed config's digest");
	CHECK(strstr(ev.log, "latest: Pulling from test/img") != NULL, "Pulling from");
	CHECK(strstr(ev.log, ": Pulling fs layer") && strstr(ev.log, ": Verifying Checksum") &&
		      strstr(ev.log, ": Download complete") && strstr(ev.log, ": Pull complete"),
	      "layer events");
	CHECK(strstr(ev.log, "Status: Downloaded newer image for") != NULL, "Downloaded newer");
	if (ret)
		printf("%s", ev.log);
	CHECK_EQ(image_inspect_json(m.s, ref, &ins, &e), 0, e.msg);
	{
		const char *rd = json_string_value(json_array_get(json_object_get(ins, "RepoDigests"), 0));
		char want[200];

		snprintf(want, sizeof(want), "127.0.0.1:%d/test/img@%s", im_port, digest);
		CHECK(rd && digest[0] && strcmp(rd, want) == 0, "RepoDigests = registry's digest");
		if (rd)
			printf("#   RepoDigest %s\n", rd);
	}
	json_decref(ins);
	CHECK_EQ(image_resolve(m.s, ref, got, NULL, top, &e), 0, e.msg);
	CHECK_EQ(m.drv->ops->get(m.drv, top, path, sizeof(path), &e), 0, e.msg);
	CHECK(im_count("test -x %s/bin/busybox && echo 1", path) == 1, "extracted");
	m.drv->ops->put(m.drv, top, &e);

	/* again: up to date; by digest: the same image */
	ev.log[0] = '\0';
	CHECK_EQ(image_pull(m.s, ref, NULL, &p, got, &e), 0, e.msg);
	CHECK(strstr(ev.log, "Already exists") != NULL, "Already exists");
	CHECK(strstr(ev.log, "Status: Image is up to date for") != NULL, "up to date");
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/img@%s", im_port, digest);
	CHECK_EQ(image_pull(m.s, ref, NULL, NULL, got, &e), 0, e.msg);
	CHECK(strcmp(got, id) == 0, "by digest");

	/* the OCI variant shares the base layer */
	ev.log[0] = '\0';
	snprintf(ref, sizeof(ref), "localhost:%d/test/var:oci", im_port);
	CHECK_EQ(image_pull(m.s, ref, NULL, &p, got, &e), 0, e.msg);
	/* skopeo rewrites the config as an OCI one: another id, same diffs */
	CHECK(sha256_digest_valid(got), "OCI manifest pulled");
	CHECK(strstr(ev.log, "Already exists") != NULL, "base layer shared");
	CHECK_EQ(im_count("ls %s/vfs/dir | wc -l", m.dir), 3, "three vfs layers");

	/* unknown tag, unreachable registry */
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/img:nosuch", im_port);
	CHECK_EQ(image_pull(m.s, ref, NULL, NULL, got, &e), -ENOENT, e.msg);
	CHECK(strstr(e.msg, "manifest for 127.0.0.1:") && strstr(e.msg, "not found"), e.msg);
	CHECK_EQ(image_pull(m.s, "127.0.0.1:1/x/y", NULL, NULL, got, &e), -EIO, e.msg);
	CHECK(strstr(e.msg, "Get \"http://127.0.0.1:1/v2/x/y/manifests/latest\"") != NULL, e.msg);
	im_store_close(&m);
}

TEST(image_pull_tampered_blob)
{
	struct im_store m;
	struct shoal_err e;
	char img[200], id[IMAGE_ID_LEN], got[IMAGE_ID_LEN], ref[200], blob[600];
	int blobs, layers;

	if (im_registry <= 0)
		SKIP("no registry");
	snprintf(img, sizeof(img), "%s/t.tar", im_root);
	if (im_mkimage(img, "--variant tampered", id))
		SKIP("mkimage failed");
	CHECK_EQ(im_push(img, "test/tampered:1", ""), 0, "push");
	/* the top layer's blob in the registry's storage: change one byte */
	sh_out(blob, sizeof(blob),
	       "d=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "
	       "http://127.0.0.1:%d/v2/test/tampered/manifests/1 | jq -r '.layers[1].digest' | cut -c8-); "
	       "echo %s/registry/docker/registry/v2/blobs/sha256/$(echo $d | cut -c1-2)/$d/data",
	       im_port, im_root);
	blob[strcspn(blob, "\n")] = '\0';
	CHECK_EQ(sh("test -f '%s' && printf 'X' | dd of='%s' bs=1 seek=100 conv=notrunc 2>/dev/null",
		    blob, blob), 0, "tamper");
	if (im_store_open(&m, "pull", &e)) {
		CHECK(0, e.msg);
		return;
	}
	blobs = im_count("ls -a %s/image/blobs/sha256 | wc -l", m.dir);
	layers = im_count("ls %s/vfs/dir | wc -l", m.dir);
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/tampered:1", im_port);
	CHECK_EQ(image_pull(m.s, ref, NULL, NULL, got, &e), -EBADMSG, e.msg);
	CHECK(strstr(e.msg, "digest mismatch for sha256:") && strstr(e.msg, ": got sha256:"), e.msg);
	CHECK_EQ(im_count("ls -a %s/image/blobs/sha256 | wc -l", m.dir), blobs,
		 "no blob (or temp file) left behind");
	CHECK_EQ(im_count("ls %s/vfs/dir | wc -l", m.dir), layers, "no layer left behind");
	CHECK_EQ(image_resolve(m.s, ref, got, NULL, ref, &e), -ENOENT, "no image");
	im_store_close(&m);
}

static void image_suite(void)
{
	snprintf(im_root, sizeof(im_root), "/var/tmp/shoal-img-XXXXXX");
	if (!mkdtemp(im_root)) {
		im_root[0] = '\0';
		printf("# mkdtemp failed\n");
		return;
	}
	atexit(im_suite_cleanup);
	signal(SIGINT, im_on_signal);
	signal(SIGTERM, im_on_signal);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(image_vfs_load_layers);
	RUN(image_pull_registry);
	RUN(image_pull_tampered_blob);
	im_suite_cleanup();
	curl_global_cleanup();
}
