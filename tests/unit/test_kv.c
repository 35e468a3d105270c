// SPDX-License-Identifier: Apache-2.0
/* test_kv.c - the cluster-store URL (user/kv/url.c): hosts, ports, prefix. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "../../user/kv/kv.h"

static void test_kv_url_good(void)
{
	struct kv_url u;
	struct shoal_err err = { 0 };

	CHECK_EQ(kv_url_parse("etcd://127.0.0.1:2379", &u, &err), 0, err.msg);
	CHECK_EQ(u.backend, KV_ETCD, "etcd backend");
	CHECK_EQ(u.n_hosts, 1, "one host");
	CHECK(strcmp(u.hosts[0], "127.0.0.1:2379") == 0, u.hosts[0]);
	CHECK(strcmp(u.prefix, KV_DEFAULT_PREFIX) == 0, u.prefix);

	CHECK_EQ(kv_url_parse("etcd://a:1,b.example:2,10.0.0.3:65535/my/cluster", &u, &err), 0,
		 err.msg);
	CHECK_EQ(u.n_hosts, 3, "three hosts");
	CHECK(strcmp(u.hosts[1], "b.example:2") == 0, u.hosts[1]);
	CHECK(strcmp(u.hosts[2], "10.0.0.3:65535") == 0, u.hosts[2]);
	CHECK(strcmp(u.prefix, "/my/cluster/") == 0, u.prefix);

	CHECK_EQ(kv_url_parse("zk://zk1:2181/x_y-z.1/", &u, &err), 0, err.msg);
	CHECK_EQ(u.backend, KV_ZK, "zk backend");
	CHECK(strcmp(u.prefix, "/x_y-z.1/") == 0, u.prefix);

	CHECK_EQ(kv_url_parse("etcd://h:1/", &u, &err), 0, err.msg);
	CHECK(strcmp(u.prefix, KV_DEFAULT_PREFIX) == 0, "\"/\" means the default prefix");
}

static void test_kv_url_bad(void)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "", "empty cluster store URL" },
		{ "consul://h:8500", "unsupported scheme \"consul\"" },
		{ "127.0.0.1:2379", "unsupported scheme" },
		{ "etcd://", "no HOST:PORT" },
		{ "etcd:///prefix", "no HOST:PORT" },
		{ "etcd://h", "\"h\" has no port" },
		{ "etcd://:2379", "has no host" },
		{ "etcd://h:", "invalid port" },
		{ "etcd://h:0", "port 0 is not in 1..65535" },
		{ "etcd://h:65536", "port 65536 is not in 1..65535" },
		{ "etcd://h:12a", "invalid port \"12a\"" },
		{ "etcd://h_x:1", "invalid host \"h_x\"" },
		{ "etcd://a:1,,b:2", "empty host" },
		{ "etcd://a:1,", "empty host" },
		{ "etcd://a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9", "more than 8 hosts" },
		{ "etcd://h:1/a//b", "empty path component" },
		{ "etcd://h:1/a/../b", "\".\" and \"..\" are not allowed" },
		{ "etcd://h:1/a/./b", "\".\" and \"..\" are not allowed" },
		{ "etcd://h:1/a b", "invalid character ' '" },
		{ "etcd://h:1/a*", "invalid character '*'" },
		{ "etcd://h:1/a?x=1", "query strings" },
	};
	struct kv_url u;
	struct shoal_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_clear(&err);
		CHECK_EQ(kv_url_parse(cases[i].url, &u, &err), -EINVAL, cases[i].url);
		CHECK(strstr(err.msg, cases[i].want) != NULL, err.msg);
	}
}

static void test_kv_url_long_prefix(void)
{
	char url[400], comp[190];
	struct kv_url u;
	struct shoal_err err = { 0 };

	memset(comp, 'a', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	snprintf(url, sizeof(url), "etcd://h:1/%s", comp);
	CHECK_EQ(kv_url_parse(url, &u, &err), 0, err.msg);
	CHECK_EQ(strlen(u.prefix), strlen(comp) + 2, "leading and trailing /");
	snprintf(url, sizeof(url), "etcd://h:1/%s/%s", comp, comp);
	CHECK_EQ(kv_url_parse(url, &u, &err), -EINVAL, url);
	CHECK(strstr(err.msg, "prefix longer than") != NULL, err.msg);
}

void unit_kv_tests(void)
{
	RUN(kv_url_good);
	RUN(kv_url_bad);
	RUN(kv_url_long_prefix);
}
