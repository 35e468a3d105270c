// SPDX-License-Identifier: Apache-2.0
/* test_volume.c - volume names and options (Docker's rules and wording),
 * mount option parsing, and the volumes / container_mounts tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "unit.h"
#include "../../user/state/state.h"
#include "../../user/state/state_volumes.h"
#include "../../user/volume/volume.h"

TEST(names)
{
	static const char *const good[] = { "ab", "new_volume", "a.b-c_d", "0x", "A9" };
	static const char *const bad[] = { "a/b", "..", ".a", "_a", "-a", "a b", "a:b", "/abs",
					   "é1" };
	struct shoal_err err = { 0 };
	char longname[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(vol_check_name(good[i], &err), 0, good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(vol_check_name(bad[i], &err), -EINVAL, bad[i]);
		CHECK(strstr(err.msg, "includes invalid characters for a local volume name") != NULL,
		      err.msg);
	}
	CHECK_EQ(vol_check_name("", &err), -EINVAL, "empty");
	CHECK_EQ(vol_check_name("a", &err), -EINVAL, "one character");
	CHECK(strstr(err.msg, "volume name is too short") != NULL, err.msg);
	memset(longname, 'a', 255);
	longname[255] = '\0';
	CHECK_EQ(vol_check_name(longname, &err), 0, "255 bytes");
	memset(longname, 'a', 256);
	longname[256] = '\0';
	CHECK_EQ(vol_check_name(longname, &err), -EINVAL, "256 bytes");
	CHECK(strstr(err.msg, "too long") != NULL, err.msg);
}

static int opts_check(const char *json, struct shoal_err *err)
{
	json_t *o = json_loads(json, 0, NULL);
	int r = vol_check_opts("v1", o, err);

	json_decref(o);
	return r;
}

TEST(options)
{
	struct shoal_err err = { 0 };

	CHECK_EQ(opts_check("{}", &err), 0, "no options");
	CHECK_EQ(opts_check("{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=1m,uid=5\"}", &err),
		 0, "tmpfs");
	CHECK_EQ(opts_check("{\"foo\":\"bar\"}", &err), -EINVAL, "unknown key");
	CHECK(strcmp(err.msg, "create v1: invalid option: \"foo\"") == 0, err.msg);
	CHECK_EQ(opts_check("{\"type\":\"tmpfs\"}", &err), -EINVAL, "no device");
	CHECK(strcmp(err.msg, "create v1: missing required option: \"device\"") == 0, err.msg);
	CHECK_EQ(opts_check("{\"device\":\"tmpfs\"}", &err), -EINVAL, "no type");
	CHECK(strcmp(err.msg, "create v1: missing required option: \"type\"") == 0, err.msg);
	CHECK_EQ(opts_check("{\"type\":1}", &err), -EINVAL, "not a string");
	CHECK_EQ(opts_check("{\"size\":\"1g\"}", &err), -EINVAL, "size without quota");
}

TEST(mount_options)
{
	struct shoal_err err = { 0 };
	unsigned long fl;
	char data[128];

	CHECK_EQ(vol_parse_mount_opts("ro,size=10m,nosuid,uid=1000", &fl, data, sizeof(data), &err),
		 0, "parse");
	CHECK_EQ(fl, (unsigned long)(MS_RDONLY | MS_NOSUID), "flags");
	CHECK(strcmp(data, "size=10m,uid=1000") == 0, data);
	CHECK_EQ(vol_parse_mount_opts("bind,ro,rw", &fl, data, sizeof(data), &err), 0, "bind");
	CHECK_EQ(fl, (unsigned long)MS_BIND, "rw clears ro");
	CHECK(data[0] == '\0', "no data");
	CHECK_EQ(vol_parse_mount_opts("rbind", &fl, data, sizeof(data), &err), 0, "rbind");
	CHECK_EQ(fl, (unsigned long)(MS_BIND | MS_REC), "rbind flags");
	CHECK_EQ(vol_parse_mount_opts("x=0123456789012345678901234567890123456789", &fl, data, 16,
				      &err), -EINVAL, "data too long");
}

TEST(state)
{
	struct shoal_err err = { 0 };
	struct st_volumes *sv = NULL;
	struct st_volume v = { 0 }, got = { 0 }, *list = NULL;
	struct st_mount m = { 0 }, *ml = NULL;
	struct state *st = NULL;
	char dir[64], db[128], (*ids)[65] = NULL;
	size_t n = 0;

	CHECK_EQ(unit_tmpdir(dir), 0, "tmpdir");
	snprintf(db, sizeof(db), "%s/shoal.db", dir);
	CHECK_EQ(state_open(&st, db, &err), 0, err.msg);
	if (!st)
		return;
	CHECK_EQ(st_volumes_open(st, &sv, &err), 0, err.msg);
	if (!sv)
		goto out;
	snprintf(v.name, sizeof(v.name), "data1");
	snprintf(v.driver, sizeof(v.driver), "local");
	v.labels_json = (char *)"{\"a\":\"b\"}";
	v.options_json = (char *)"{\"type\":\"tmpfs\",\"device\":\"tmpfs\"}";
	v.created = 1700000000;
	CHECK_EQ(st_volume_insert(sv, &v, &err), 0, "insert");
	CHECK_EQ(st_volume_insert(sv, &v, &err), -EEXIST, "duplicate");
	CHECK(strcmp(err.msg, "volume data1 already exists") == 0, err.msg);
	snprintf(v.name, sizeof(v.name), "anon0");
	v.anonymous = true;
	CHECK_EQ(st_volume_insert(sv, &v, &err), 0, "insert anonymous");
	CHECK_EQ(st_volume_get(sv, "data1", &got, &err), 0, "get");
	CHECK(strcmp(got.labels_json, "{\"a\":\"b\"}") == 0, got.labels_json);
	CHECK_EQ(got.created, 1700000000, "created");
	CHECK(!got.anonymous, "named");
	st_volume_free(&got);
	CHECK_EQ(st_volume_get(sv, "nope", &got, &err), -ENOENT, "missing");
	CHECK(strcmp(err.msg, "get nope: no such volume") == 0, err.msg);
	CHECK_EQ(st_volume_list(sv, &list, &n, &err), 0, "list");
	CHECK_EQ(n, 2, "two volumes");
	if (n == 2) {
		CHECK(strcmp(list[0].name, "anon0") == 0 && list[0].anonymous, "sorted, anonymous");
		CHECK(strcmp(list[1].name, "data1") == 0, "sorted");
	}
	st_volume_list_free(list, n);

	/* Two containers mount data1; one of them twice. */
	snprintf(m.type, sizeof(m.type), "volume");
	snprintf(m.name, sizeof(m.name), "data1");
	snprintf(m.destination, sizeof(m.destination), "/d");
	m.rw = true;
	snprintf(m.container_id, sizeof(m.container_id), "c1");
	m.seq = 0;
	CHECK_EQ(st_mount_insert(sv, &m, &err), 0, "mount c1/0");
	m.seq = 1;
	snprintf(m.destination, sizeof(m.destination), "/e");
	CHECK_EQ(st_mount_insert(sv, &m, &err), 0, "mount c1/1");
	CHECK_EQ(st_mount_insert(sv, &m, &err), -EEXIST, "same seq twice");
	snprintf(m.container_id, sizeof(m.container_id), "c2");
	m.seq = 0;
	m.rw = false;
	CHECK_EQ(st_mount_insert(sv, &m, &err), 0, "mount c2/0");
	CHECK_EQ(st_volume_users(sv, "data1", &ids, &n, &err), 0, "users");
	CHECK_EQ(n, 2, "two containers, each once");
	if (n == 2)
		CHECK(strcmp(ids[0], "c1") == 0 && strcmp(ids[1], "c2") == 0, "in order");
	free(ids);
	CHECK_EQ(st_mount_list(sv, "c1", &ml, &n, &err), 0, "list c1");
	CHECK_EQ(n, 2, "c1 has two");
	if (n == 2)
		CHECK(strcmp(ml[1].destination, "/e") == 0 && ml[1].rw, "by seq");
	st_mount_list_free(ml, n);
	CHECK_EQ(st_mount_delete_container(sv, "c1", &err), 0, "delete c1 mounts");
	CHECK_EQ(st_mount_delete_container(sv, "c2", &err), 0, "delete c2 mounts");
	CHECK_EQ(st_volume_users(sv, "data1", &ids, &n, &err), 0, "users after");
	CHECK_EQ(n, 0, "unused");
	free(ids);
	CHECK_EQ(st_volume_delete(sv, "data1", &err), 0, "delete");
	CHECK_EQ(st_volume_delete(sv, "data1", &err), -ENOENT, "delete twice");

	/* The schema is idempotent: reopening keeps the rows. */
	st_volumes_close(sv);
	sv = NULL;
	CHECK_EQ(st_volumes_open(st, &sv, &err), 0, "reopen");
	CHECK_EQ(st_volume_get(sv, "anon0", &got, &err), 0, "kept");
	st_volume_free(&got);

	/* Rows whose container is not in the containers table go. */
	snprintf(m.container_id, sizeof(m.container_id), "ghost");
	CHECK_EQ(st_mount_insert(sv, &m, &err), 0, "orphan row");
	CHECK_EQ(st_mount_delete_orphans(sv, &n, &err), 0, err.msg);
	CHECK_EQ(n, 1, "one orphan dropped");
	CHECK_EQ(st_mount_list(sv, NULL, &ml, &n, &err), 0, "list all");
	CHECK_EQ(n, 0, "none left");
	st_mount_list_free(ml, n);
out:
	st_volumes_close(sv);
	state_close(st);
	unit_rmrf(dir);
}

void unit_volume_tests(void)
{
	RUN(names);
	RUN(options);
	RUN(mount_options);
	RUN(state);
}
