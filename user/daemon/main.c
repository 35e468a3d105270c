// SPDX-License-Identifier: Apache-2.0
/*
 * shoald - the shoal daemon.
 *
 * Start-up: configuration (defaults < daemon.json < flags), the data-root
 * lock (one daemon per data-root), the state store, the storage driver
 * and image store, the BPF objects with
 * pinned maps, reconciliation of the kernel against state (containers
 * that kept running are reattached), swarm mode
 * (restored and rejoined in the background), then the API socket. SIGTERM/SIGINT stop the API and exit; the data plane (TC
 * filters, pinned maps) keeps forwarding and counting without us.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/names.h"
#include "../common/util.h"
#include "../image/image.h"
#include "../storage/storage.h"
#include "container.h"
#include "daemon.h"
#include "obs.h"
#include "ports.h"
#include "volumes.h"

static int lock_data_root(struct daemon *d, struct shoal_err *err)
{
	char path[4200], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/shoal.lock", d->cfg.data_root);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, errno, "open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			return err_set(err, EBUSY,
				       "another shoald (pid %s) is running with data-root %s",
				       buf[0] ? buf : "?", d->cfg.data_root);
		return err_set(err, e, "lock %s: %s", path, strerror(e));
	}
	if (ftruncate(fd, 0) == 0) {
		n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		if (pwrite(fd, buf, (size_t)n, 0) != n)
			log_warn("cannot write pid to %s", path);
	}
	d->lock_fd = fd;
	return 0;
}

static int load_engine_id(struct daemon *d, struct shoal_err *err)
{
	char *v = NULL;
	int ret;

	if (state_meta_get(d->st, "engine_id", &v, NULL) == 0 && v && strlen(v) == 64) {
		snprintf(d->id, sizeof(d->id), "%s", v);
		free(v);
		return 0;
	}
	free(v);
	ret = util_random_id(d->id);
	if (ret < 0)
		return err_set(err, -ret, "cannot generate the engine id");
	ret = state_begin(d->st, err);
	if (ret < 0)
		return ret;
	ret = state_meta_set(d->st, "engine_id", d->id, err);
	if (ret < 0) {
		state_rollback(d->st);
		return ret;
	}
	return state_commit(d->st, err);
}

int main(int argc, char **argv)
{
	static struct daemon d = { .lock = PTHREAD_MUTEX_INITIALIZER, .lock_fd = -1 };
	struct shoal_err err = { 0 };
	struct MHD_Daemon *mhd = NULL;
	enum log_level lvl;
	char db[4200];
	sigset_t sigs;
	int ret, sig;

	ret = config_parse(&d.cfg, argc, argv, &err);
	if (ret == 1)
		return 0;
	if (ret < 0) {
		fprintf(stderr, "shoald: %s\n", err.msg);
		return 1;
	}
	if (log_parse_level(d.cfg.log_level, &lvl) == 0)
		log_set_level(lvl);
	if (geteuid() != 0) {
		fprintf(stderr, "shoald: must run as root (it creates links and loads BPF programs)\n");
		return 1;
	}
	if (strncmp(d.cfg.host, "unix://", 7) != 0) {
		fprintf(stderr, "shoald: --host %s: only unix:// sockets are supported\n", d.cfg.host);
		return 1;
	}
	if (strlen(d.cfg.host + 7) >= sizeof(d.sock_path)) {
		fprintf(stderr, "shoald: --host %s: path too long\n", d.cfg.host);
		return 1;
	}
	memcpy(d.sock_path, d.cfg.host + 7, strlen(d.cfg.host + 7) + 1);
	d.started = time(NULL);

	/* libcurl's global state (registry pulls) before any thread exists. */
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* Block the stop signals in every thread; main waits for them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = util_mkdir_p(d.cfg.data_root, 0711);
	if (ret < 0) {
		err_set(&err, -ret, "create data-root %s: %s", d.cfg.data_root, strerror(-ret));
		goto fail;
	}
	ret = util_mkdir_p(d.cfg.exec_root, 0711);
	if (ret < 0) {
		err_set(&err, -ret, "create exec-root %s: %s", d.cfg.exec_root, strerror(-ret));
		goto fail;
	}
	ret = lock_data_root(&d, &err);
	if (ret < 0)
		goto fail;
	snprintf(db, sizeof(db), "%s/shoal.db", d.cfg.data_root);
	ret = state_open(&d.st, db, &err);
	if (ret < 0)
		goto fail;
	ret = load_engine_id(&d, &err);
	if (ret < 0)
		goto fail;
	ret = volumes_open(&d, &err);
	if (ret < 0)
		goto fail;
	ret = storage_open(d.cfg.storage_driver, d.cfg.data_root,
			   (const char (*)[256])d.cfg.storage_opts, d.cfg.n_storage_opts, &d.storage, &err);
	if (ret < 0)
		goto fail;
	ret = image_store_open(&d.images, d.st, &d.lock, d.storage, d.cfg.data_root, &err);
	if (ret < 0)
		goto fail;
	{
		struct loader_opts lo = { .flow_table_size = (uint32_t)d.cfg.flow_table_size,
					  .event_rate = (uint32_t)d.cfg.event_rate_limit };

		ret = loader_open_opts(&d.bpf, d.cfg.bpffs_root, d.cfg.node_name, &lo, &err);
	}
	if (ret < 0)
		goto fail;
	ret = daemon_setup_underlay(&d, &err);
	if (ret < 0)
		goto fail;
	ret = ctr_init(&d, &err);
	if (ret < 0)
		goto fail;
	pthread_mutex_lock(&d.lock);
	ret = daemon_reconcile(&d, &err);
	if (ret == 0)
		ret = ports_setup_external(&d, &err);
	/* Containers kept running without us: reattach, record exits. */
	if (ret == 0)
		ret = ctr_reconcile(&d, &err);
	pthread_mutex_unlock(&d.lock);
	if (ret < 0)
		goto fail;
	ret = swarm_open(&d, &err);
	if (ret < 0)
		goto fail;
	ret = kvdisc_open(&d, &err);
	if (ret < 0)
		goto fail;
	ret = obs_start(&d, &err);
	if (ret < 0)
		goto fail;
	ret = http_start(&d, &mhd, &err);
	if (ret < 0)
		goto fail;
	log_info("shoald %s up: node %s, data-root %s, API on %s, maps in %s", SHOAL_VERSION,
		 d.cfg.node_name, d.cfg.data_root, d.cfg.host, d.bpf.pin_dir);

	do {
		if (sigwait(&sigs, &sig) != 0)
			break;
		if (sig == SIGHUP)
			log_info("SIGHUP: configuration reload is not supported; ignoring");
	} while (sig == SIGHUP);
	log_info("signal %d: shutting down (the data plane keeps running)", sig);
	obs_stop(&d); /* ends monitor streams first: http_stop waits for them */
	metrics_save(&d);
	http_stop(mhd);
	unlink(d.sock_path);
	kvdisc_close(&d);
	swarm_close(&d);
	/* Containers keep running (their shims are not our children). */
	ctr_close(&d);
	image_store_close(d.images);
	storage_close(d.storage);
	loader_close(&d.bpf);
	volumes_close(&d);
	state_close(d.st);
	close(d.lock_fd);
	return 0;
fail:
	log_error("%s", err.msg);
	fprintf(stderr, "shoald: %s\n", err.msg);
	obs_stop(&d);
	kvdisc_close(&d);
	swarm_close(&d);
	if (d.bpf.skel)
		loader_close(&d.bpf);
	if (d.images)
		image_store_close(d.images);
	if (d.storage)
		storage_close(d.storage);
	volumes_close(&d);
	if (d.st)
		state_close(d.st);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	return 1;
}
