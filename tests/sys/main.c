// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - system tests of user/netlink, user/loader, user/archive,
 * user/storage and user/runtime + shoal-shim against the real kernel: they need root, create network
 * namespaces, veths, dummies, a private bpffs, loop-mounted btrfs and xfs
 * images and overlay mounts, and remove all of it at the end, failed or
 * not. SHOAL_SYS_SUITES="archive storage" runs only the suites named.
 *
 * tap.h keeps its state in a static, so the suites are headers included
 * into this one translation unit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../user/common/err.h"
#include "../../user/common/util.h"
#include "../tap.h"

/* ---- helpers shared by the suites ---- */

static char g_tag[6];   /* "<pid>" shortened: makes names unique per run */

/* Run a shell command; 0 if it exited 0. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

/* Run a command and capture its stdout (stderr discarded). */
static const char *sh_out(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *sh_out(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	size_t n = 0;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 16, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>/dev/null");
	buf[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return buf;
	n = fread(buf, 1, len - 1, p);
	buf[n] = '\0';
	pclose(p);
	return buf;
}

/* Inode of the calling thread's network namespace. */
static ino_t netns_ino(void)
{
	struct stat st;

	return stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

static ino_t g_home_ns;

#define CHECK_HOME_NS() CHECK_EQ(netns_ino(), g_home_ns, "thread is back in its own netns")

#include "netlink.inc.h"
#include "loader.inc.h"
#include "archive.inc.h"
#include "storage.inc.h"
#include "image.inc.h"
#include "runtime.inc.h"

static void cleanup_all(void)
{
	netlink_suite_cleanup();
	loader_suite_cleanup();
	storage_suite_cleanup();
	archive_suite_cleanup();
	runtime_suite_cleanup();
}

/* Run suite name unless SHOAL_SYS_SUITES lists others only. */
static bool suite_on(const char *name)
{
	const char *only = getenv("SHOAL_SYS_SUITES");

	return !only || !*only || strstr(only, name) != NULL;
}

static void on_signal(int sig)
{
	cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The suite runs in a network namespace of its own: the veths, addresses
 * and routes its tests make never reach the machine's namespace, and two
 * runs at once (two worktrees) do not meet on the same addresses.
 */
static int private_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		printf("Bail out! unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (system("ip link set lo up") != 0) {
		printf("Bail out! cannot bring lo up in the suite's network namespace\n");
		return -1;
	}
	return 0;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # skip system tests need root\n");
		return 0;
	}
	if (private_netns() < 0)
		return 1;
	snprintf(g_tag, sizeof(g_tag), "%u", (unsigned int)getpid() % 100000u);
	g_home_ns = netns_ino();
	atexit(cleanup_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (suite_on("netlink"))
		netlink_suite();
	if (suite_on("loader"))
		loader_suite();
	if (suite_on("archive"))
		archive_suite();
	if (suite_on("storage"))
		storage_suite();
	if (suite_on("image"))
		image_suite();
	if (suite_on("runtime"))
		runtime_suite();
	return tap_done();
}
