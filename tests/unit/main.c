// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - build/shoal-test-unit: the C unit tests (config, IPAM, state
 * store, images, keyring, gossip, volumes, cp/export/diff files) in one TAP stream. Needs no root; the
 * gossip clusters use 127.0.0.1 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "../../user/common/util.h"

struct tap_state tap;

int unit_tmpdir(char path[64])
{
	snprintf(path, 64, "/tmp/shoal-unit.XXXXXX");
	return mkdtemp(path) ? 0 : -errno;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 ? -1 : 0;
}

void unit_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int unit_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	return ret;
}

uint32_t unit_ip(const char *s)
{
	uint32_t ip;

	if (util_parse_ipv4(s, &ip) < 0) {
		printf("Bail out! bad address literal in a test: %s\n", s);
		exit(2);
	}
	return ip;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	unit_config_tests();
	unit_ipam_tests();
	unit_state_tests();
	unit_image_tests();
	unit_keyring_tests();
	unit_gossip_tests();
	unit_kv_tests();
	unit_volume_tests();
	unit_files_tests();
	return tap_done();
}
