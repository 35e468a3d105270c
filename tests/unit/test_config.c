// SPDX-License-Identifier: Apache-2.0
/* test_config.c - daemon.json, flags, precedence and durations. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "../../user/config/config.h"
#include "../../include/shoal_maps.h"

/* Every key daemon.json knows, with non-default values. */
static const char full_json[] =
	"{\n"
	"  \"data-root\": \"/srv/shoal\",\n"
	"  \"exec-root\": \"/run/shoal-b\",\n"
	"  \"hosts\": [\"unix:///run/shoal-b/shoal.sock\", \"unix:///tmp/other.sock\"],\n"
	"  \"bpffs-root\": \"/sys/fs/bpf/b\",\n"
	"  \"node-name\": \"node-b.example_1\",\n"
	"  \"log-level\": \"debug\",\n"
	"  \"storage-driver\": \"overlay2\",\n"
	"  \"storage-opts\": [\"overlay2.size=10G\", \"dm.basesize=20G\"],\n"
	"  \"cluster-store\": \"etcd://127.0.0.1:2379\",\n"
	"  \"cluster-advertise\": \"10.0.0.2:2376\",\n"
	"  \"gossip-port\": 7947,\n"
	"  \"key-rotation-interval\": \"1h30m\",\n"
	"  \"mtu\": 1450,\n"
	"  \"underlay-interface\": \"eth1\",\n"
	"  \"advertise-addr\": \"10.0.0.2\",\n"
	"  \"vxlan-port\": 4790,\n"
	"  \"accounting\": false\n"
	"}\n";

/* Run config_parse on a NULL-terminated argument list. */
static int parse(struct shoal_config *c, struct shoal_err *err, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"shoald";
	for (; *args && argc < 31; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return config_parse(c, argc, argv, err);
}

/* config_parse with stdout sent to /dev/null (for --help / --version). */
static int parse_quiet(struct shoal_config *c, struct shoal_err *err, const char *const *args)
{
	int saved, devnull, ret;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved < 0 || devnull < 0) {
		if (saved >= 0)
			close(saved);
		if (devnull >= 0)
			close(devnull);
		return -99;
	}
	dup2(devnull, STDOUT_FILENO);
	close(devnull);
	ret = parse(c, err, args);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return ret;
}

TEST(config_defaults)
{
	struct shoal_config c;
	char host[256] = "";

	config_defaults(&c);
	gethostname(host, sizeof(host) - 1);
	CHECK(strcmp(c.config_file, "/etc/shoal/daemon.json") == 0, c.config_file);
	CHECK(strcmp(c.data_root, "/var/lib/shoal") == 0, c.data_root);
	CHECK(strcmp(c.exec_root, "/run/shoal") == 0, c.exec_root);
	CHECK(strcmp(c.host, "unix:///run/shoal/shoal.sock") == 0, c.host);
	CHECK(strcmp(c.bpffs_root, "/sys/fs/bpf") == 0, c.bpffs_root);
	CHECK(strcmp(c.node_name, host) == 0, "node name is the hostname");
	CHECK(strcmp(c.log_level, "info") == 0, c.log_level);
	CHECK_EQ(c.gossip_port, 7946, "gossip port");
	CHECK_EQ(c.key_rotation_interval_s, 12 * 3600, "key rotation");
	CHECK_EQ(c.vxlan_port, 4789, "vxlan port");
	CHECK_EQ(c.mtu, 0, "mtu");
	CHECK(c.accounting, "accounting on");
	CHECK_EQ(c.n_storage_opts, 0, "no storage opts");
	CHECK(c.storage_driver[0] == '\0' && c.cluster_store[0] == '\0', "empty strings");
}

TEST(config_file_every_key)
{
	struct shoal_err err = { 0 };
	struct shoal_config c;

	config_defaults(&c);
	CHECK_EQ(config_load_string(&c, full_json, &err), 0, err.msg);
	CHECK(strcmp(c.data_root, "/srv/shoal") == 0, c.data_root);
	CHECK(strcmp(c.exec_root, "/run/shoal-b") == 0, c.exec_root);
	CHECK(strcmp(c.host, "unix:///run/shoal-b/shoal.sock") == 0, "first of hosts");
	CHECK(strcmp(c.bpffs_root, "/sys/fs/bpf/b") == 0, c.bpffs_root);
	CHECK(strcmp(c.node_name, "node-b.example_1") == 0, c.node_name);
	CHECK(strcmp(c.log_level, "debug") == 0, c.log_level);
	CHECK(strcmp(c.storage_driver, "overlay2") == 0, c.storage_driver);
	CHECK_EQ(c.n_storage_opts, 2, "storage opts");
	CHECK(strcmp(c.storage_opts[0], "overlay2.size=10G") == 0, c.storage_opts[0]);
	CHECK(strcmp(c.storage_opts[1], "dm.basesize=20G") == 0, c.storage_opts[1]);
	CHECK(strcmp(c.cluster_store, "etcd://127.0.0.1:2379") == 0, c.cluster_store);
	CHECK(strcmp(c.cluster_advertise, "10.0.0.2:2376") == 0, c.cluster_advertise);
	CHECK_EQ(c.gossip_port, 7947, "gossip port");
	CHECK_EQ(c.key_rotation_interval_s, 5400, "1h30m");
	CHECK_EQ(c.mtu, 1450, "mtu");
	CHECK(strcmp(c.underlay_interface, "eth1") == 0, c.underlay_interface);
	CHECK(strcmp(c.advertise_addr, "10.0.0.2") == 0, c.advertise_addr);
	CHECK_EQ(c.vxlan_port, 4790, "vxlan port");
	CHECK(!c.accounting, "accounting off");

	/* An empty object changes nothing. */
	config_defaults(&c);
	CHECK_EQ(config_load_string(&c, "{}", &err), 0, "empty object");
	CHECK_EQ(c.gossip_port, 7946, "defaults kept");
	CHECK_EQ(config_load_string(&c, "{\"mtu\": 0, \"cluster-store\": \"zk://zk1:2181\"}",
				    &err), 0, "mtu 0 and zk store");
}

struct bad_case {
	const char *json, *want;
};

TEST(config_file_bad_values)
{
	static const struct bad_case cases[] = {
		{ "{\"foo\": 1}", "unknown key \"foo\" in daemon.json" },
		{ "{\"mtu\": \"1500\"}", "invalid value for \"mtu\" in daemon.json: expected integer" },
		{ "{\"mtu\": 1500.5}", "invalid value for \"mtu\" in daemon.json: expected integer" },
		{ "{\"mtu\": 100}", "invalid value for \"mtu\" in daemon.json: must be 0 or between 576 and 65535" },
		{ "{\"mtu\": 65536}", "\"mtu\"" },
		{ "{\"log-level\": \"loud\"}", "invalid value for \"log-level\" in daemon.json: unknown log level" },
		{ "{\"log-level\": 3}", "expected string" },
		{ "{\"hosts\": [\"tcp://0.0.0.0:2375\"]}", "invalid value for \"hosts\" in daemon.json: only unix sockets" },
		{ "{\"hosts\": [\"unix://run/x.sock\"]}", "\"hosts\"" },
		{ "{\"hosts\": \"unix:///run/x.sock\"}", "expected array of strings" },
		{ "{\"hosts\": [\"unix:///a.sock\", 5]}", "expected array of strings" },
		{ "{\"host\": \"unix:///run/x.sock\"}", "unknown key \"host\"" },
		{ "{\"data-root\": \"var/lib/shoal\"}", "invalid value for \"data-root\" in daemon.json: must be an absolute path" },
		{ "{\"exec-root\": \"\"}", "\"exec-root\"" },
		{ "{\"bpffs-root\": \"./bpf\"}", "\"bpffs-root\"" },
		{ "{\"node-name\": \"\"}", "\"node-name\"" },
		{ "{\"node-name\": \"a b\"}", "\"node-name\"" },
		{ "{\"node-name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "1 to 63" },
		{ "{\"gossip-port\": 0}", "invalid value for \"gossip-port\" in daemon.json: must be between 1 and 65535" },
		{ "{\"vxlan-port\": 70000}", "\"vxlan-port\"" },
		{ "{\"accounting\": \"yes\"}", "invalid value for \"accounting\" in daemon.json: expected boolean" },
		{ "{\"key-rotation-interval\": \"0s\"}", "at least 1s" },
		{ "{\"key-rotation-interval\": \"soon\"}", "not a duration" },
		{ "{\"key-rotation-interval\": 3600}", "expected duration string" },
		{ "{\"storage-opts\": \"a=b\"}", "\"storage-opts\"" },
		{ "{\"cluster-store\": \"consul://x:8500\"}", "\"cluster-store\"" },
		{ "{\"cluster-store\": \"etcd://h\"}", "invalid value for \"cluster-store\" in daemon.json: cluster store \"etcd://h\": \"h\" has no port" },
		{ "{\"cluster-store\": \"etcd://h:1/a//b\"}", "empty path component" },
		{ "{\"cluster-advertise\": \"10.0.0.2\"}", "invalid value for \"cluster-advertise\" in daemon.json: expected IP:PORT or IFACE:PORT" },
		{ "{\"cluster-advertise\": \"eth0:0\"}", "\"cluster-advertise\"" },
		{ "{\"cluster-store-ttl\": \"1s\"}", "invalid value for \"cluster-store-ttl\" in daemon.json: must be between 2s and 1h" },
		{ "{\"underlay-interface\": \"averyveryverylongname\"}", "\"underlay-interface\"" },
		{ "[1, 2]", "expected a JSON object" },
		{ "{\"mtu\": 1500, \"mtu\": 1400}", "invalid JSON in daemon.json" },
	};
	struct shoal_err err;
	struct shoal_config c, before;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_defaults(&c);
		before = c;
		err_clear(&err);
		CHECK_EQ(config_load_string(&c, cases[i].json, &err), -EINVAL, cases[i].json);
		CHECK(strstr(err.msg, cases[i].want) != NULL, err.msg);
		CHECK(memcmp(&c, &before, sizeof(c)) == 0, "config untouched on error");
	}
	/* Values valid on their own do not apply when a later key is bad. */
	config_defaults(&c);
	CHECK_EQ(config_load_string(&c, "{\"mtu\": 1400, \"bogus\": true}", &err), -EINVAL,
		 "partial");
	CHECK_EQ(c.mtu, 0, "all or nothing");
}

TEST(config_file_malformed_json)
{
	struct shoal_err err = { 0 };
	struct shoal_config c;
	char dir[64], path[128];

	if (unit_tmpdir(dir) < 0)
		SKIP("no tmpdir");
	snprintf(path, sizeof(path), "%s/daemon.json", dir);
	CHECK_EQ(unit_write_file(path, "{\n  \"mtu\": 1500,\n  \"data-root\" \"/x\"\n}\n"), 0,
		 "write");
	config_defaults(&c);
	CHECK_EQ(config_load_file(&c, path, false, &err), -EINVAL, "malformed");
	CHECK(strstr(err.msg, path) != NULL, err.msg);
	CHECK(strstr(err.msg, "line 3 column") != NULL, err.msg);

	/* The file name is in unknown-key messages too. */
	CHECK_EQ(unit_write_file(path, "{\"foo\": 1}"), 0, "write");
	CHECK_EQ(config_load_file(&c, path, false, &err), -EINVAL, "unknown key");
	{
		char want[256];

		snprintf(want, sizeof(want), "unknown key \"foo\" in %s", path);
		CHECK(strcmp(err.msg, want) == 0, err.msg);
	}
	/* Empty (white space only) files and a UTF-8 BOM are accepted. */
	CHECK_EQ(unit_write_file(path, " \n\t\n"), 0, "write");
	CHECK_EQ(config_load_file(&c, path, false, &err), 0, err.msg);
	CHECK_EQ(unit_write_file(path, "\xef\xbb\xbf{\"mtu\": 1400}"), 0, "write");
	CHECK_EQ(config_load_file(&c, path, false, &err), 0, err.msg);
	CHECK_EQ(c.mtu, 1400, "BOM skipped");
	CHECK_EQ(config_load_string(&c, "{\"mtu\": ", &err), -EINVAL, "truncated string");
	CHECK(strstr(err.msg, "line 1 column") != NULL, err.msg);
	unit_rmrf(dir);
}

TEST(config_file_missing)
{
	struct shoal_err err = { 0 };
	struct shoal_config c;

	config_defaults(&c);
	CHECK_EQ(config_load_file(&c, "/nonexistent/shoal/daemon.json", true, &err), 0,
		 "missing ok");
	CHECK_EQ(config_load_file(&c, "/nonexistent/shoal/daemon.json", false, &err), -ENOENT,
		 "missing not ok");
	CHECK(strstr(err.msg, "/nonexistent/shoal/daemon.json") != NULL, err.msg);
}

TEST(config_flags_over_file)
{
	struct shoal_err err = { 0 };
	struct shoal_config c;
	char dir[64], path[128], cf[160];

	if (unit_tmpdir(dir) < 0)
		SKIP("no tmpdir");
	snprintf(path, sizeof(path), "%s/daemon.json", dir);
	CHECK_EQ(unit_write_file(path, full_json), 0, "write");
	snprintf(cf, sizeof(cf), "--config-file=%s", path);
	{
		const char *args[] = { "--mtu", "9000", "-H", "unix:///tmp/flag.sock",
				       "--log-level=warn", "--storage-opt", "x=1",
				       "--storage-opt=y=2", "--accounting", cf,
				       "--key-rotation-interval", "90s", "--gossip-port=8000",
				       NULL };

		CHECK_EQ(parse(&c, &err, args), 0, err.msg);
	}
	CHECK(strcmp(c.config_file, path) == 0, c.config_file);
	/* From the file. */
	CHECK(strcmp(c.data_root, "/srv/shoal") == 0, c.data_root);
	CHECK_EQ(c.vxlan_port, 4790, "file vxlan port");
	CHECK(strcmp(c.cluster_store, "etcd://127.0.0.1:2379") == 0, c.cluster_store);
	/* From the flags, over the file. */
	CHECK_EQ(c.mtu, 9000, "flag mtu");
	CHECK(strcmp(c.host, "unix:///tmp/flag.sock") == 0, c.host);
	CHECK(strcmp(c.log_level, "warn") == 0, c.log_level);
	CHECK_EQ(c.n_storage_opts, 2, "flag storage opts replace the file's");
	CHECK(strcmp(c.storage_opts[0], "x=1") == 0, c.storage_opts[0]);
	CHECK(strcmp(c.storage_opts[1], "y=2") == 0, c.storage_opts[1]);
	CHECK(c.accounting, "bare --accounting is true");
	CHECK_EQ(c.key_rotation_interval_s, 90, "flag duration");
	CHECK_EQ(c.gossip_port, 8000, "flag gossip port");

	{
		const char *args[] = { "--config-file", path, "--accounting=false", "-Hunix:///s",
				       "--data-root=/d", "--exec-root", "/e", "--bpffs-root=/b",
				       "--node-name", "n1", "--storage-driver=vfs",
				       "--cluster-store=zk://h:2181", "--cluster-advertise", "eth0:2376",
				       "--underlay-interface=eth2", "--advertise-addr", "10.1.1.1",
				       "--vxlan-port=4800", "-D", NULL };

		CHECK_EQ(parse(&c, &err, args), 0, err.msg);
	}
	CHECK(!c.accounting, "--accounting=false");
	CHECK(strcmp(c.host, "unix:///s") == 0, c.host);
	CHECK(strcmp(c.data_root, "/d") == 0, c.data_root);
	CHECK(strcmp(c.exec_root, "/e") == 0, c.exec_root);
	CHECK(strcmp(c.bpffs_root, "/b") == 0, c.bpffs_root);
	CHECK(strcmp(c.node_name, "n1") == 0, c.node_name);
	CHECK(strcmp(c.storage_driver, "vfs") == 0, c.storage_driver);
	CHECK(strcmp(c.cluster_store, "zk://h:2181") == 0, c.cluster_store);
	CHECK(strcmp(c.cluster_advertise, "eth0:2376") == 0, c.cluster_advertise);
	CHECK(strcmp(c.underlay_interface, "eth2") == 0, c.underlay_interface);
	CHECK(strcmp(c.advertise_addr, "10.1.1.1") == 0, c.advertise_addr);
	CHECK_EQ(c.vxlan_port, 4800, "vxlan port");
	CHECK(strcmp(c.log_level, "debug") == 0, "-D");
	CHECK_EQ(c.n_storage_opts, 2, "file storage opts kept without flags");
	unit_rmrf(dir);
}

TEST(config_flags_bad)
{
	static const struct bad_case cases[] = {
		{ "--foo", "unknown flag: --foo" },
		{ "--foo=1", "unknown flag: --foo" },
		{ "-x", "unknown shorthand flag: -x" },
		{ "stray", "unexpected argument: stray" },
		{ "--mtu", "flag needs an argument: --mtu" },
		{ "-H", "flag needs an argument: -H" },
		{ "--mtu=abc", "invalid value \"abc\" for flag --mtu: expected integer" },
		{ "--mtu=100", "invalid value \"100\" for flag --mtu: must be 0 or between 576 and 65535" },
		{ "--mtu=1500x", "expected integer" },
		{ "--gossip-port=0", "--gossip-port" },
		{ "--vxlan-port=65536", "--vxlan-port" },
		{ "--data-root=relative/dir", "invalid value \"relative/dir\" for flag --data-root: must be an absolute path" },
		{ "--host=tcp://1.2.3.4:2375", "--host" },
		{ "--log-level=chatty", "--log-level" },
		{ "--accounting=maybe", "expected true or false" },
		{ "--key-rotation-interval=0", "at least 1s" },
		{ "--key-rotation-interval=1d", "not a duration" },
		{ "--node-name=bad/name", "--node-name" },
	};
	struct shoal_err err;
	struct shoal_config c;
	char dir[64], path[128], cf[160];

	/* Value errors are found after the file is read: give an empty one. */
	if (unit_tmpdir(dir) < 0)
		SKIP("no tmpdir");
	snprintf(path, sizeof(path), "%s/daemon.json", dir);
	CHECK_EQ(unit_write_file(path, "{}"), 0, "write");
	snprintf(cf, sizeof(cf), "--config-file=%s", path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = { cf, cases[i].json, NULL };

		err_clear(&err);
		CHECK_EQ(parse(&c, &err, args), -EINVAL, cases[i].json);
		CHECK(strstr(err.msg, cases[i].want) != NULL, err.msg);
	}
	unit_rmrf(dir);
}

TEST(config_explicit_file_missing)
{
	struct shoal_err err = { 0 };
	struct shoal_config c;
	const char *args[] = { "--config-file", "/nonexistent/daemon.json", NULL };
	const char *none[] = { NULL };
	struct stat sb;

	CHECK_EQ(parse(&c, &err, args), -ENOENT, "explicit missing file");
	CHECK(strstr(err.msg, "/nonexistent/daemon.json") != NULL, err.msg);
	if (stat("/etc/shoal/daemon.json", &sb) == 0)
		SKIP("/etc/shoal/daemon.json exists on this machine");
	CHECK_EQ(parse(&c, &err, none), 0, "default file missing is fine");
	CHECK(strcmp(c.config_file, "/etc/shoal/daemon.json") == 0, c.config_file);
	CHECK_EQ(c.gossip_port, 7946, "defaults");
}

TEST(config_help_version)
{
	struct shoal_err err = { 0 };
	struct shoal_config c;
	const char *help[] = { "--mtu=1500", "--help", NULL };
	const char *h[] = { "-h", NULL };
	const char *ver[] = { "--version", NULL };

	CHECK_EQ(parse_quiet(&c, &err, help), 1, "--help");
	CHECK_EQ(parse_quiet(&c, &err, h), 1, "-h");
	CHECK_EQ(parse_quiet(&c, &err, ver), 1, "--version");
}

TEST(config_durations)
{
	static const struct { const char *s; int64_t secs; } good[] = {
		{ "12h", 43200 }, { "90s", 90 }, { "1h30m", 5400 }, { "500ms", 1 },
		{ "1500ms", 2 }, { "1.5h", 5400 }, { "3600", 3600 }, { "0", 0 },
		{ "2m3s", 123 }, { "1us", 1 }, { "1ns", 1 }, { "0s", 0 }, { ".5m", 30 },
		{ "1h1h", 7200 }, { "10\xc2\xb5s", 1 },
	};
	static const char *const bad[] = {
		"", "h", "1x", "-1h", "1h-", "1 h", " 1h", "1.h5", "1d", "12H", ".s",
		"99999999999999999999h", "3000000h",
	};
	int64_t secs;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		secs = -1;
		CHECK_EQ(config_parse_duration(good[i].s, &secs), 0, good[i].s);
		CHECK_EQ(secs, good[i].secs, good[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(config_parse_duration(bad[i], &secs), -EINVAL, bad[i]);
}

TEST(config_gossip_timings)
{
	static const struct { const char *s; int64_t ms; } good[] = {
		{ "100ms", 100 }, { "500ms", 500 }, { "1s", 1000 }, { "1.5s", 1500 },
		{ "1us", 1 }, { "250", 250 }, { "2m", 120000 },
	};
	static const char *const bad_json[] = {
		"{\"gossip-probe-interval\": \"0s\"}",
		"{\"gossip-probe-interval\": 100}",
		"{\"gossip-interval\": \"fast\"}",
		"{\"gossip-probe-timeout\": \"48h\"}",
		"{\"gossip-suspicion-mult\": 0}",
		"{\"gossip-suspicion-mult\": \"4\"}",
		"{\"gossip-mtu\": 575}",
		"{\"gossip-mtu\": 65001}",
		"{\"gossip-mtu\": \"1400\"}",
	};
	struct shoal_config c;
	struct shoal_err err = { 0 };
	int64_t ms;

	config_defaults(&c);
	CHECK_EQ(c.gossip_probe_interval_ms, 1000, "default probe interval");
	CHECK_EQ(c.gossip_probe_timeout_ms, 500, "default probe timeout");
	CHECK_EQ(c.gossip_interval_ms, 200, "default gossip interval");
	CHECK_EQ(c.gossip_suspicion_mult, 4, "default suspicion mult");
	CHECK_EQ(c.gossip_push_pull_interval_ms, 30000, "default push-pull");
	CHECK_EQ(c.gossip_mtu, 1400, "default gossip MTU");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		CHECK_EQ(config_parse_duration_ms(good[i].s, &ms), 0, good[i].s);
		CHECK_EQ(ms, good[i].ms, good[i].s);
	}
	CHECK_EQ(config_parse_duration_ms("1d", &ms), -EINVAL, "1d");
	CHECK_EQ(config_load_string(&c, "{\"gossip-probe-interval\": \"100ms\", "
				    "\"gossip-probe-timeout\": \"50ms\", \"gossip-interval\": \"20ms\", "
				    "\"gossip-suspicion-mult\": 2, \"gossip-push-pull-interval\": \"0s\"}",
				    &err), 0, "gossip keys");
	CHECK_EQ(c.gossip_probe_interval_ms, 100, "probe interval 100ms");
	CHECK_EQ(c.gossip_probe_timeout_ms, 50, "probe timeout 50ms");
	CHECK_EQ(c.gossip_interval_ms, 20, "gossip interval 20ms");
	CHECK_EQ(c.gossip_suspicion_mult, 2, "suspicion mult 2");
	CHECK_EQ(c.gossip_push_pull_interval_ms, 0, "push-pull disabled");
	CHECK_EQ(config_load_string(&c, "{\"gossip-mtu\": 576}", &err), 0, "gossip-mtu 576");
	CHECK_EQ(c.gossip_mtu, 576, "gossip MTU 576");
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		config_defaults(&c);
		CHECK(config_load_string(&c, bad_json[i], &err) < 0, bad_json[i]);
		CHECK(strstr(err.msg, "gossip-") != NULL, err.msg);
		CHECK_EQ(c.gossip_probe_interval_ms, 1000, "file left untouched");
	}
	{
		const char *nf[] = { "--gossip-probe-interval", "300ms", "--gossip-suspicion-mult=3",
				     "--gossip-interval=50ms", NULL };
		CHECK_EQ(parse(&c, &err, nf), 0, "gossip flags");
		CHECK_EQ(c.gossip_probe_interval_ms, 300, "flag probe interval");
		CHECK_EQ(c.gossip_suspicion_mult, 3, "flag suspicion mult");
		CHECK_EQ(c.gossip_interval_ms, 50, "flag gossip interval");
	}
	{
		const char *nf[] = { "--gossip-probe-timeout=soon", NULL };
		CHECK(parse(&c, &err, nf) < 0, "bad flag duration");
		CHECK(strstr(err.msg, "--gossip-probe-timeout") != NULL, err.msg);
	}
}

TEST(config_observability)
{
	static const char *const bad_json[] = {
		"{\"flow-table-size\": 1023}",
		"{\"flow-table-size\": 16777217}",
		"{\"flow-table-size\": \"64k\"}",
		"{\"flow-accounting\": \"yes\"}",
		"{\"events\": \"drops\"}",
		"{\"events\": \"drop,\"}",
		"{\"events\": \"\"}",
		"{\"event-rate-limit\": 0}",
		"{\"event-rate-limit\": 1000001}",
		"{\"metrics-addr\": \"localhost:9323\"}",
		"{\"metrics-addr\": \"127.0.0.1\"}",
		"{\"metrics-addr\": \"127.0.0.1:0\"}",
		"{\"metrics-addr\": \"127.0.0.1:65536\"}",
	};
	struct shoal_config c;
	struct shoal_err err = { 0 };

	config_defaults(&c);
	CHECK(c.flow_accounting, "flow accounting on by default");
	CHECK_EQ(c.flow_table_size, 65536, "default flow table");
	CHECK(strcmp(c.events, "drop") == 0, "drop events by default");
	CHECK_EQ(c.event_rate_limit, 1000, "default event rate");
	CHECK(c.metrics_addr[0] == '\0', "no metrics listener by default");
	CHECK_EQ(config_event_flags("drop"), SHOAL_CFG_EV_DROP, "drop");
	CHECK_EQ(config_event_flags("flow"), SHOAL_CFG_EV_FLOW, "flow");
	CHECK_EQ(config_event_flags("drop,flow"), SHOAL_CFG_EV_DROP | SHOAL_CFG_EV_FLOW, "both");
	CHECK_EQ(config_event_flags("none"), 0, "none");
	CHECK_EQ(config_load_string(&c, "{\"flow-accounting\": false, \"flow-table-size\": 1024, "
				    "\"events\": \"drop,flow\", \"event-rate-limit\": 50, "
				    "\"metrics-addr\": \"127.0.0.1:9323\"}", &err), 0, err.msg);
	CHECK(!c.flow_accounting, "flow-accounting false");
	CHECK_EQ(c.flow_table_size, 1024, "flow-table-size");
	CHECK(strcmp(c.events, "drop,flow") == 0, "events");
	CHECK_EQ(c.event_rate_limit, 50, "event-rate-limit");
	CHECK(strcmp(c.metrics_addr, "127.0.0.1:9323") == 0, "metrics-addr");
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		config_defaults(&c);
		CHECK(config_load_string(&c, bad_json[i], &err) < 0, bad_json[i]);
		CHECK(strstr(err.msg, "\"") != NULL && strstr(err.msg, "daemon.json") != NULL, err.msg);
		CHECK_EQ(c.flow_table_size, 65536, "file left untouched");
	}
	{
		/* A boolean flag sets its own field (not --accounting's). */
		const char *nf[] = { "--flow-accounting=false", "--events", "none",
				     "--metrics-addr=0.0.0.0:9323", "--flow-table-size", "4096", NULL };
		CHECK_EQ(parse(&c, &err, nf), 0, err.msg);
		CHECK(!c.flow_accounting, "flag flow-accounting");
		CHECK(c.accounting, "accounting untouched");
		CHECK(strcmp(c.events, "none") == 0, "flag events");
		CHECK(strcmp(c.metrics_addr, "0.0.0.0:9323") == 0, "flag metrics-addr");
		CHECK_EQ(c.flow_table_size, 4096, "flag flow-table-size");
	}
	{
		const char *nf[] = { "--event-rate-limit=lots", NULL };
		CHECK(parse(&c, &err, nf) < 0, "bad rate");
		CHECK(strstr(err.msg, "--event-rate-limit") != NULL, err.msg);
	}
}

void unit_config_tests(void)
{
	RUN(config_defaults);
	RUN(config_file_every_key);
	RUN(config_file_bad_values);
	RUN(config_file_malformed_json);
	RUN(config_file_missing);
	RUN(config_flags_over_file);
	RUN(config_flags_bad);
	RUN(config_explicit_file_missing);
	RUN(config_help_version);
	RUN(config_durations);
	RUN(config_gossip_timings);
	RUN(config_observability);
}
