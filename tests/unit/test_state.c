// SPDX-License-Identifier: Apache-2.0
/* test_state.c - the SQLite state store: schema, round trips, migrations. */
#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../include/shoal_maps.h"
#include "../../user/common/util.h"
#include "../../user/state/state.h"
#include "../../user/state/state_containers.h"

#define IP(s) unit_ip(s)
#define SCHEMA_LATEST 5

/* The version-1 schema exactly as released; never edit (it is what old
 * databases on disk look like). */
static const char v1_sql[] =
	"CREATE TABLE networks ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT UNIQUE NOT NULL,"
	"  driver TEXT NOT NULL,"
	"  net_id INTEGER UNIQUE NOT NULL,"
	"  subnet INTEGER NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  gateway INTEGER NOT NULL,"
	"  ip_range INTEGER NOT NULL DEFAULT 0,"
	"  ip_range_prefix INTEGER NOT NULL DEFAULT 0,"
	"  mtu INTEGER NOT NULL DEFAULT 0,"
	"  attachable INTEGER NOT NULL DEFAULT 0,"
	"  internal INTEGER NOT NULL DEFAULT 0,"
	"  labels TEXT,"
	"  options TEXT,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE endpoints ("
	"  id TEXT PRIMARY KEY,"
	"  network_id TEXT NOT NULL REFERENCES networks(id),"
	"  ep_id INTEGER UNIQUE NOT NULL,"
	"  netns TEXT NOT NULL DEFAULT '',"
	"  host_ifname TEXT NOT NULL DEFAULT '',"
	"  container_id TEXT NOT NULL DEFAULT '',"
	"  ip INTEGER NOT NULL,"
	"  mac TEXT NOT NULL,"
	"  node_ip INTEGER NOT NULL DEFAULT 0,"
	"  remote INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE(network_id, ip)"
	");"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");";

struct fix {
	char dir[64];
	char db[128];
	struct state *st;
	struct shoal_err err;
};

static int fix_open(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	if (unit_tmpdir(f->dir) < 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/shoal.db", f->dir);
	if (state_open(&f->st, f->db, &f->err) < 0) {
		printf("#   state_open: %s\n", f->err.msg);
		unit_rmrf(f->dir);
		return -1;
	}
	return 0;
}

static void fix_close(struct fix *f)
{
	state_close(f->st);
	f->st = NULL;
	unit_rmrf(f->dir);
}

/* A 64-hex id starting with prefix, the rest filled with c. */
static void mk_id(char out[STATE_ID_LEN], const char *prefix, char c)
{
	size_t n = strlen(prefix);

	memset(out, c, STATE_ID_LEN - 1);
	memcpy(out, prefix, n);
	out[STATE_ID_LEN - 1] = '\0';
}

static void mk_net(struct st_network *n, const char *id_prefix, const char *name,
		   uint32_t net_id, const char *subnet)
{
	memset(n, 0, sizeof(*n));
	mk_id(n->id, id_prefix, '0');
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->driver, sizeof(n->driver), "local");
	n->net_id = net_id;
	n->subnet = IP(subnet);
	n->prefix = 24;
	n->gateway = htonl(ntohl(n->subnet) + 1);
	n->created = 1700000000;
}

static void mk_ep(struct st_endpoint *e, const char *id_prefix, const char *net_id,
		  uint32_t ep_id, const char *ip)
{
	memset(e, 0, sizeof(*e));
	mk_id(e->id, id_prefix, 'e');
	snprintf(e->network_id, sizeof(e->network_id), "%s", net_id);
	e->ep_id = ep_id;
	e->ip = IP(ip);
	e->mac[0] = 0x02;
	e->mac[1] = 0x42;
	memcpy(e->mac + 2, &e->ip, 4);
	snprintf(e->netns, sizeof(e->netns), "/run/netns/%s", id_prefix);
	e->created = 1700000001;
}

/* One integer from a query on a separate raw connection. */
static long long raw_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

TEST(state_open_creates_schema)
{
	struct fix f;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	CHECK_EQ(state_schema_version(f.st), SCHEMA_LATEST, "latest schema");
	CHECK_EQ(raw_int(f.db, "PRAGMA user_version"), SCHEMA_LATEST, "user_version on disk");
	CHECK_EQ(raw_int(f.db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
			       "name IN ('networks', 'endpoints', 'meta')"), 3, "tables");
	CHECK_EQ(raw_int(f.db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
			       "name IN ('endpoints_netns', 'endpoints_container')"), 2, "indexes");
	if (sqlite3_open_v2(f.db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		mode = sqlite3_column_text(s, 0);
		CHECK(mode && strcmp((const char *)mode, "wal") == 0, "WAL mode");
	} else {
		CHECK(0, "read journal_mode");
	}
	sqlite3_finalize(s);
	sqlite3_close(h);

	/* Reopening an up-to-date database is a no-op. */
	state_close(f.st);
	CHECK_EQ(state_open(&f.st, f.db, &f.err), 0, f.err.msg);
	CHECK_EQ(state_schema_version(f.st), SCHEMA_LATEST, "still latest");
	fix_close(&f);
}

TEST(state_network_round_trip)
{
	struct st_network n, got = { 0 }, *list = NULL;
	struct fix f;
	size_t cnt = 0;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	mk_net(&n, "abcdef", "front", 7, "10.1.2.0");
	snprintf(n.driver, sizeof(n.driver), "overlay");
	n.net_id = 4097;
	n.prefix = 23;
	n.subnet = IP("10.1.2.0");
	n.gateway = IP("10.1.3.254");
	n.ip_range = IP("10.1.3.128");
	n.ip_range_prefix = 25;
	n.mtu = 1450;
	n.attachable = true;
	n.internal = true;
	n.labels_json = (char *)"{\"com.example\":\"yes\"}";
	n.options_json = (char *)"{\"encrypted\":\"\"}";
	n.created = 1712345678;
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_get(f.st, n.id, &got, &f.err), 0, f.err.msg);
	CHECK(strcmp(got.id, n.id) == 0, "id");
	CHECK(strcmp(got.name, "front") == 0, "name");
	CHECK(strcmp(got.driver, "overlay") == 0, "driver");
	CHECK_EQ(got.net_id, 4097, "net_id");
	CHECK_EQ(got.subnet, n.subnet, "subnet");
	CHECK_EQ(got.prefix, 23, "prefix");
	CHECK_EQ(got.gateway, n.gateway, "gateway (high bit set in NBO integer)");
	CHECK_EQ(got.ip_range, n.ip_range, "ip_range");
	CHECK_EQ(got.ip_range_prefix, 25, "ip_range_prefix");
	CHECK_EQ(got.mtu, 1450, "mtu");
	CHECK(got.attachable && got.internal, "flags");
	CHECK(got.labels_json && strcmp(got.labels_json, n.labels_json) == 0, "labels");
	CHECK(got.options_json && strcmp(got.options_json, n.options_json) == 0, "options");
	CHECK_EQ(got.created, 1712345678, "created");
	st_network_free(&got);

	/* NULL json reads back as "{}"; false flags; hostile name. */
	mk_net(&n, "123456", "x'); DROP TABLE networks; --", 1, "10.9.0.0");
	n.subnet = IP("255.255.255.0");
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_get(f.st, "x'); DROP TABLE networks; --", &got, &f.err), 0,
		 f.err.msg);
	CHECK(got.labels_json && strcmp(got.labels_json, "{}") == 0, "NULL labels -> {}");
	CHECK(got.options_json && strcmp(got.options_json, "{}") == 0, "NULL options -> {}");
	CHECK(!got.attachable && !got.internal, "false flags");
	CHECK_EQ(got.subnet, IP("255.255.255.0"), "all-ones-ish NBO value");
	st_network_free(&got);

	CHECK_EQ(state_network_list(f.st, &list, &cnt, &f.err), 0, f.err.msg);
	CHECK_EQ(cnt, 2, "two networks");
	if (cnt == 2) {
		/* Ordered by creation time. */
		CHECK(strcmp(list[0].name, "x'); DROP TABLE networks; --") == 0, list[0].name);
		CHECK(strcmp(list[1].name, "front") == 0, list[1].name);
		CHECK(list[1].labels_json &&
		      strcmp(list[1].labels_json, "{\"com.example\":\"yes\"}") == 0,
		      "list labels");
	}
	st_network_list_free(list, cnt);
	fix_close(&f);
}

TEST(state_network_resolution)
{
	struct st_network a, b, c, got;
	struct fix f;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	mk_net(&a, "aa11", "alpha", 1, "10.0.1.0");
	mk_net(&b, "aa22", "beta", 2, "10.0.2.0");
	/* A network named like a prefix of another's id: the name wins. */
	mk_net(&c, "cc33", "aa2", 3, "10.0.3.0");
	CHECK_EQ(state_network_insert(f.st, &a, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_insert(f.st, &b, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_insert(f.st, &c, &f.err), 0, f.err.msg);

	CHECK_EQ(state_network_get(f.st, "alpha", &got, &f.err), 0, "by name");
	CHECK(strcmp(got.id, a.id) == 0, "alpha id");
	st_network_free(&got);
	CHECK_EQ(state_network_get(f.st, b.id, &got, &f.err), 0, "by full id");
	CHECK(strcmp(got.name, "beta") == 0, "beta by id");
	st_network_free(&got);
	CHECK_EQ(state_network_get(f.st, "aa1", &got, &f.err), 0, "unique prefix");
	CHECK(strcmp(got.name, "alpha") == 0, "alpha by prefix");
	st_network_free(&got);
	CHECK_EQ(state_network_get(f.st, "aa2", &got, &f.err), 0, "name before prefix");
	CHECK(strcmp(got.name, "aa2") == 0, "the network named aa2");
	st_network_free(&got);
	CHECK_EQ(state_network_get(f.st, "aa22", &got, &f.err), 0, "prefix of beta");
	CHECK(strcmp(got.name, "beta") == 0, "beta by prefix");
	st_network_free(&got);

	CHECK_EQ(state_network_get(f.st, "aa", &got, &f.err), -EINVAL, "ambiguous");
	CHECK(strcmp(f.err.msg, "network reference aa is ambiguous") == 0, f.err.msg);
	CHECK_EQ(state_network_get(f.st, "nope", &got, &f.err), -ENOENT, "not found");
	CHECK(strcmp(f.err.msg, "network nope not found") == 0, f.err.msg);
	CHECK_EQ(state_network_get(f.st, "", &got, &f.err), -ENOENT, "empty reference");
	/* LIKE wildcards must not act as patterns. */
	CHECK_EQ(state_network_get(f.st, "a%", &got, &f.err), -ENOENT, "percent");
	CHECK_EQ(state_network_get(f.st, "_a", &got, &f.err), -ENOENT, "underscore");
	fix_close(&f);
}

TEST(state_network_duplicates)
{
	struct st_network a, b;
	struct fix f;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	mk_net(&a, "aa", "web", 1, "10.0.1.0");
	CHECK_EQ(state_network_insert(f.st, &a, &f.err), 0, f.err.msg);
	mk_net(&b, "bb", "web", 2, "10.0.2.0");
	CHECK_EQ(state_network_insert(f.st, &b, &f.err), -EEXIST, "duplicate name");
	CHECK(strcmp(f.err.msg, "network with name web already exists") == 0, f.err.msg);
	mk_net(&b, "bb", "web2", 1, "10.0.2.0");
	CHECK_EQ(state_network_insert(f.st, &b, &f.err), -EEXIST, "duplicate net_id");
	CHECK(strstr(f.err.msg, "network id 1") != NULL, f.err.msg);
	mk_net(&b, "aa", "web3", 3, "10.0.2.0");
	CHECK_EQ(state_network_insert(f.st, &b, &f.err), -EEXIST, "duplicate id");
	fix_close(&f);
}

TEST(state_endpoint_round_trip)
{
	struct st_network n, m;
	struct st_endpoint e, r, got, *list = NULL;
	struct fix f;
	size_t cnt = 0;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	mk_net(&n, "n1", "one", 1, "10.0.1.0");
	mk_net(&m, "n2", "two", 2, "10.0.2.0");
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_insert(f.st, &m, &f.err), 0, f.err.msg);

	mk_ep(&e, "e1", n.id, 5, "10.0.1.2");
	snprintf(e.host_ifname, sizeof(e.host_ifname), "veth1a2b3c4d5e6");
	mk_id(e.container_id, "c0ffee", 'f');
	e.created = 1712345679;
	CHECK_EQ(state_endpoint_insert(f.st, &e, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_get(f.st, e.id, &got, &f.err), 0, f.err.msg);
	CHECK(strcmp(got.id, e.id) == 0, "id");
	CHECK(strcmp(got.network_id, n.id) == 0, "network_id");
	CHECK_EQ(got.ep_id, 5, "ep_id");
	CHECK(strcmp(got.netns, "/run/netns/e1") == 0, got.netns);
	CHECK(strcmp(got.host_ifname, "veth1a2b3c4d5e6") == 0, got.host_ifname);
	CHECK(strcmp(got.container_id, e.container_id) == 0, "container_id");
	CHECK_EQ(got.ip, IP("10.0.1.2"), "ip");
	CHECK_MEM(got.mac, e.mac, 6, "mac");
	CHECK_EQ(got.node_ip, 0, "node_ip");
	CHECK(!got.remote, "local");
	CHECK_EQ(got.created, 1712345679, "created");

	/* A remote endpoint: no netns/ifname, a node IP. Same IP in another
	 * network is fine. */
	mk_ep(&r, "r1", m.id, 6, "10.0.1.2");
	r.netns[0] = '\0';
	r.remote = true;
	r.node_ip = IP("192.168.100.12");
	r.mac[5] = 0xff;
	CHECK_EQ(state_endpoint_insert(f.st, &r, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_get(f.st, r.id, &got, &f.err), 0, f.err.msg);
	CHECK(got.remote, "remote");
	CHECK_EQ(got.node_ip, IP("192.168.100.12"), "node_ip");
	CHECK(got.netns[0] == '\0' && got.host_ifname[0] == '\0' && got.container_id[0] == '\0',
	      "empty strings");
	CHECK_MEM(got.mac, r.mac, 6, "remote mac");

	CHECK_EQ(state_endpoint_find_netns(f.st, n.id, "/run/netns/e1", &got, &f.err), 0,
		 f.err.msg);
	CHECK(strcmp(got.id, e.id) == 0, "found by netns");
	CHECK_EQ(state_endpoint_find_netns(f.st, m.id, "/run/netns/e1", &got, &f.err), -ENOENT,
		 "netns in another network");

	CHECK_EQ(state_endpoint_list(f.st, NULL, &list, &cnt, &f.err), 0, f.err.msg);
	CHECK_EQ(cnt, 2, "all endpoints");
	if (cnt == 2)
		CHECK(list[0].ep_id == 5 && list[1].ep_id == 6, "ordered by ep_id");
	free(list);
	CHECK_EQ(state_endpoint_list(f.st, m.id, &list, &cnt, &f.err), 0, f.err.msg);
	CHECK_EQ(cnt, 1, "endpoints of two");
	if (cnt == 1)
		CHECK(strcmp(list[0].id, r.id) == 0, "the remote one");
	free(list);
	CHECK_EQ(state_endpoint_list(f.st, "nonexistent", &list, &cnt, &f.err), 0, "empty list");
	CHECK_EQ(cnt, 0, "no endpoints");
	free(list);

	CHECK_EQ(state_endpoint_get(f.st, "nope", &got, &f.err), -ENOENT, "get missing");
	CHECK(strcmp(f.err.msg, "endpoint nope not found") == 0, f.err.msg);
	fix_close(&f);
}

TEST(state_endpoint_conflicts)
{
	struct st_network n;
	struct st_endpoint e, d;
	struct fix f;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	mk_net(&n, "n1", "one", 1, "10.0.1.0");
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	mk_ep(&e, "e1", n.id, 1, "10.0.1.2");
	CHECK_EQ(state_endpoint_insert(f.st, &e, &f.err), 0, f.err.msg);

	mk_ep(&d, "e2", n.id, 2, "10.0.1.2");
	CHECK_EQ(state_endpoint_insert(f.st, &d, &f.err), -EEXIST, "duplicate ip");
	{
		char want[256];

		snprintf(want, sizeof(want), "address 10.0.1.2 is already in use in network %s",
			 n.id);
		CHECK(strcmp(f.err.msg, want) == 0, f.err.msg);
	}
	mk_ep(&d, "e2", n.id, 1, "10.0.1.3");
	CHECK_EQ(state_endpoint_insert(f.st, &d, &f.err), -EEXIST, "duplicate ep_id");
	mk_ep(&d, "e1", n.id, 3, "10.0.1.4");
	CHECK_EQ(state_endpoint_insert(f.st, &d, &f.err), -EEXIST, "duplicate id");
	mk_ep(&d, "e9", "no-such-network", 9, "10.0.1.9");
	CHECK_EQ(state_endpoint_insert(f.st, &d, &f.err), -ENOENT, "unknown network");
	CHECK(strstr(f.err.msg, "network no-such-network not found") != NULL, f.err.msg);
	fix_close(&f);
}

TEST(state_delete)
{
	struct st_network n, got;
	struct st_endpoint e;
	struct fix f;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	mk_net(&n, "n1", "one", 1, "10.0.1.0");
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	mk_ep(&e, "e1", n.id, 1, "10.0.1.2");
	CHECK_EQ(state_endpoint_insert(f.st, &e, &f.err), 0, f.err.msg);

	CHECK_EQ(state_network_delete(f.st, n.id, &f.err), -EBUSY, "network with endpoints");
	CHECK(strstr(f.err.msg, "has active endpoints") != NULL, f.err.msg);
	CHECK_EQ(state_endpoint_delete(f.st, e.id, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_delete(f.st, e.id, &f.err), -ENOENT, "endpoint gone");
	CHECK_EQ(state_network_delete(f.st, n.id, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_get(f.st, "one", &got, &f.err), -ENOENT, "network gone");
	CHECK_EQ(state_network_delete(f.st, n.id, &f.err), -ENOENT, "delete twice");
	/* The name and the address are free again. */
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_insert(f.st, &e, &f.err), 0, f.err.msg);
	fix_close(&f);
}

TEST(state_next_local_id)
{
	struct st_network n;
	struct fix f;
	uint32_t id = 0;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	CHECK_EQ(state_network_next_local_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, SHOAL_LOCAL_NETID_MIN, "first id");
	for (int i = 1; i <= 3; i++) {
		char pfx[8], name[8], subnet[16];

		snprintf(pfx, sizeof(pfx), "%d", i);
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(subnet, sizeof(subnet), "10.0.%d.0", i);
		mk_net(&n, pfx, name, (uint32_t)i, subnet);
		CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	}
	/* An overlay network's VNI lives above the local range. */
	mk_net(&n, "9", "ov", SHOAL_VNI_MIN, "10.9.0.0");
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_next_local_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 4, "after 1..3");
	mk_id(n.id, "2", '0');
	CHECK_EQ(state_network_delete(f.st, n.id, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_next_local_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 2, "freed id reused");

	/* Fill the range: -ENOSPC. */
	CHECK_EQ(state_begin(f.st, &f.err), 0, f.err.msg);
	for (uint32_t i = 2; i <= SHOAL_LOCAL_NETID_MAX; i++) {
		char pfx[16], name[16];

		if (i == 3)
			continue;
		snprintf(pfx, sizeof(pfx), "f%04u", i); /* fixed width: no id is a prefix of another */
		snprintf(name, sizeof(name), "fill%u", i);
		mk_net(&n, pfx, name, i, "10.8.0.0");
		if (state_network_insert(f.st, &n, &f.err) < 0) {
			CHECK(0, f.err.msg);
			break;
		}
	}
	CHECK_EQ(state_commit(f.st, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_next_local_id(f.st, &id, &f.err), -ENOSPC, "range full");
	fix_close(&f);
}

TEST(state_ep_id_monotonic)
{
	struct st_network n;
	struct st_endpoint e;
	struct fix f;
	uint32_t id = 0;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	mk_net(&n, "n1", "one", 1, "10.0.1.0");
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_next_ep_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 1, "starts at 1");
	CHECK_EQ(state_endpoint_next_ep_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 2, "then 2");
	mk_ep(&e, "e2", n.id, id, "10.0.1.2");
	CHECK_EQ(state_endpoint_insert(f.st, &e, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_delete(f.st, e.id, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_next_ep_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 3, "not reused after delete");

	/* Inside a caller's transaction (the usual case) it works too. */
	CHECK_EQ(state_begin(f.st, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_next_ep_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 4, "in a transaction");
	CHECK_EQ(state_commit(f.st, &f.err), 0, f.err.msg);

	state_close(f.st);
	CHECK_EQ(state_open(&f.st, f.db, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_next_ep_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 5, "survives reopen");

	/* Never below an ep_id already in the table. */
	mk_ep(&e, "e9", n.id, 100, "10.0.1.9");
	CHECK_EQ(state_endpoint_insert(f.st, &e, &f.err), 0, f.err.msg);
	CHECK_EQ(state_endpoint_next_ep_id(f.st, &id, &f.err), 0, f.err.msg);
	CHECK_EQ(id, 101, "above the largest in use");
	fix_close(&f);
}

TEST(state_meta)
{
	struct fix f;
	char *v = NULL;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	CHECK_EQ(state_meta_get(f.st, "node_name", &v, &f.err), -ENOENT, "unset");
	CHECK(v == NULL, "no value");
	CHECK_EQ(state_meta_set(f.st, "node_name", "node-a", &f.err), 0, f.err.msg);
	CHECK_EQ(state_meta_get(f.st, "node_name", &v, &f.err), 0, f.err.msg);
	CHECK(v && strcmp(v, "node-a") == 0, "value");
	free(v);
	CHECK_EQ(state_meta_set(f.st, "node_name", "", &f.err), 0, f.err.msg);
	CHECK_EQ(state_meta_get(f.st, "node_name", &v, &f.err), 0, f.err.msg);
	CHECK(v && strcmp(v, "") == 0, "overwritten with empty");
	free(v);
	fix_close(&f);
}

TEST(state_rollback_discards)
{
	struct st_network n, got;
	struct fix f;
	char *v = NULL;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	CHECK_EQ(state_begin(f.st, &f.err), 0, f.err.msg);
	mk_net(&n, "n1", "one", 1, "10.0.1.0");
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_meta_set(f.st, "k", "v", &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_get(f.st, "one", &got, &f.err), 0, "visible inside");
	st_network_free(&got);
	CHECK_EQ(state_begin(f.st, &f.err), -EBUSY, "no nested transactions");
	state_rollback(f.st);
	CHECK_EQ(state_network_get(f.st, "one", &got, &f.err), -ENOENT, "network discarded");
	CHECK_EQ(state_meta_get(f.st, "k", &v, &f.err), -ENOENT, "meta discarded");
	state_rollback(f.st); /* harmless outside a transaction */

	CHECK_EQ(state_begin(f.st, &f.err), 0, f.err.msg);
	CHECK_EQ(state_network_insert(f.st, &n, &f.err), 0, f.err.msg);
	CHECK_EQ(state_commit(f.st, &f.err), 0, f.err.msg);
	/* A fresh connection sees the committed row. */
	CHECK_EQ(raw_int(f.db, "SELECT count(*) FROM networks WHERE name = 'one'"), 1,
		 "committed");
	fix_close(&f);
}

TEST(state_migrate_from_v1)
{
	struct st_network got;
	struct st_endpoint e;
	char dir[64], db[128], *v = NULL;
	struct shoal_err err = { 0 };
	struct state *st = NULL;
	sqlite3 *h = NULL;
	uint32_t id = 0;
	int rc;

	if (unit_tmpdir(dir) < 0)
		SKIP("no tmpdir");
	snprintf(db, sizeof(db), "%s/shoal.db", dir);
	rc = sqlite3_open(db, &h);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, v1_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h,
				  "PRAGMA user_version = 1;"
				  "INSERT INTO networks (id, name, driver, net_id, subnet, prefix,"
				  "  gateway, labels, created) VALUES ('0123456789abcdef', 'old',"
				  "  'local', 12, 655370, 24, 16777226, '{\"a\":\"b\"}', 1600000000);"
				  "INSERT INTO endpoints (id, network_id, ep_id, ip, mac, created)"
				  "  VALUES ('ep1', '0123456789abcdef', 41, 33554442,"
				  "  '02:42:0a:00:00:02', 1600000001);"
				  "INSERT INTO meta VALUES ('next_ep_id', '42');",
				  NULL, NULL, NULL);
	CHECK_EQ(rc, SQLITE_OK, h ? sqlite3_errmsg(h) : "open");
	sqlite3_close(h);

	CHECK_EQ(state_open(&st, db, &err), 0, err.msg);
	if (!st) {
		unit_rmrf(dir);
		return;
	}
	CHECK_EQ(state_schema_version(st), SCHEMA_LATEST, "migrated");
	CHECK_EQ(raw_int(db, "PRAGMA user_version"), SCHEMA_LATEST, "user_version on disk");
	CHECK_EQ(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'endpoints_netns'"),
		 1, "index added");
	CHECK_EQ(state_network_get(st, "old", &got, &err), 0, err.msg);
	CHECK_EQ(got.net_id, 12, "net_id kept");
	CHECK_EQ(got.subnet, 655370, "subnet kept");
	CHECK(got.labels_json && strcmp(got.labels_json, "{\"a\":\"b\"}") == 0, "labels kept");
	CHECK(got.options_json && strcmp(got.options_json, "{}") == 0, "NULL options");
	st_network_free(&got);
	CHECK_EQ(state_endpoint_get(st, "ep1", &e, &err), 0, err.msg);
	CHECK_EQ(e.ep_id, 41, "ep_id kept");
	CHECK_EQ(e.ip, 33554442, "ip kept");
	CHECK_EQ(e.mac[5], 0x02, "mac kept");
	CHECK_EQ(state_meta_get(st, "next_ep_id", &v, &err), 0, err.msg);
	free(v);
	CHECK_EQ(state_endpoint_next_ep_id(st, &id, &err), 0, err.msg);
	CHECK_EQ(id, 42, "counter kept");
	state_close(st);
	unit_rmrf(dir);
}

TEST(state_newer_schema_refused)
{
	char dir[64], db[128];
	struct shoal_err err = { 0 };
	struct state *st = NULL;
	sqlite3 *h = NULL;
	char want[160];

	if (unit_tmpdir(dir) < 0)
		SKIP("no tmpdir");
	snprintf(db, sizeof(db), "%s/shoal.db", dir);
	CHECK_EQ(sqlite3_open(db, &h), SQLITE_OK, "create");
	CHECK_EQ(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK,
		 "set version");
	sqlite3_close(h);
	CHECK_EQ(state_open(&st, db, &err), -ENOTSUP, "refused");
	CHECK(st == NULL, "no handle");
	snprintf(want, sizeof(want),
		 "state database schema version 99 is newer than this shoald supports (%d)",
		 SCHEMA_LATEST);
	CHECK(strcmp(err.msg, want) == 0, err.msg);
	CHECK_EQ(raw_int(db, "PRAGMA user_version"), 99, "left alone");
	/* Not a database at all. */
	CHECK_EQ(unit_write_file(db, "this is not sqlite, just some text long enough......"
				     "................................................"),
		 0, "write junk");
	CHECK(state_open(&st, db, &err) < 0, "junk refused");
	CHECK(strstr(err.msg, db) != NULL, err.msg);
	CHECK_EQ(state_open(&st, "/nonexistent-dir/shoal.db", &err), -ENOENT, "missing dir");
	CHECK(strstr(err.msg, "/nonexistent-dir/shoal.db") != NULL, err.msg);
	state_close(st);
	unit_rmrf(dir);
}

static void mk_ctr(struct st_container *c, const char *id_prefix, const char *name,
		   const char *image_id, int64_t created)
{
	memset(c, 0, sizeof(*c));
	mk_id(c->id, id_prefix, '0');
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->image, sizeof(c->image), "busybox");
	snprintf(c->image_id, sizeof(c->image_id), "%s", image_id);
	snprintf(c->status, sizeof(c->status), "created");
	c->created = created;
	c->config = (char *)"{\"Cmd\":[\"sh\"]}";
	c->host_config = (char *)"{}";
	c->net_settings = (char *)"{}";
}

TEST(state_containers_round_trip)
{
	struct st_containers *sc = NULL;
	struct st_container a, b, got, *v = NULL;
	char first[65];
	int64_t n = 0;
	size_t nv = 0;
	struct fix f;

	if (fix_open(&f) < 0)
		SKIP("cannot open a state database in /tmp");
	CHECK_EQ(st_containers_open(f.st, &sc, &f.err), 0, f.err.msg);
	mk_ctr(&a, "ab12", "web", "sha256:1111", 10);
	mk_ctr(&b, "ab34", "db", "sha256:1111", 20);
	CHECK_EQ(st_container_insert(sc, &a, &f.err), 0, f.err.msg);
	CHECK_EQ(st_container_insert(sc, &b, &f.err), 0, f.err.msg);
	/* the same name again, and the same id again */
	mk_ctr(&got, "cd56", "web", "sha256:2222", 30);
	CHECK_EQ(st_container_insert(sc, &got, &f.err), -EEXIST, "duplicate name");
	mk_ctr(&got, "ab12", "other", "sha256:2222", 30);
	CHECK_EQ(st_container_insert(sc, &got, &f.err), -EEXIST, "duplicate id");

	CHECK_EQ(st_container_find(sc, a.id, &got, &f.err), 0, "by full id");
	CHECK(strcmp(got.name, "web") == 0, "web by id");
	CHECK(strcmp(got.config, "{\"Cmd\":[\"sh\"]}") == 0, got.config);
	st_container_free(&got);
	CHECK_EQ(st_container_find(sc, "db", &got, &f.err), 0, "by name");
	CHECK(strcmp(got.id, b.id) == 0, "db by name");
	st_container_free(&got);
	CHECK_EQ(st_container_find(sc, "/db", &got, &f.err), 0, "by /name");
	st_container_free(&got);
	CHECK_EQ(st_container_find(sc, "ab3", &got, &f.err), 0, "unique prefix");
	CHECK(strcmp(got.name, "db") == 0, "db by prefix");
	st_container_free(&got);
	CHECK_EQ(st_container_find(sc, "ab", &got, &f.err), -EINVAL, "ambiguous");
	CHECK(strcmp(f.err.msg, "Multiple IDs found with provided prefix: ab") == 0, f.err.msg);
	CHECK_EQ(st_container_find(sc, "zz", &got, &f.err), -ENOENT, "unknown");
	CHECK(strcmp(f.err.msg, "No such container: zz") == 0, f.err.msg);
	CHECK_EQ(st_container_find(sc, "a%", &got, &f.err), -ENOENT, "no patterns");

	/* update: the run state and a rename */
	CHECK_EQ(st_container_find(sc, "web", &got, &f.err), 0, "web");
	snprintf(got.status, sizeof(got.status), "exited");
	got.exit_code = 3;
	snprintf(got.name, sizeof(got.name), "db");
	CHECK_EQ(st_container_update(sc, &got, &f.err), -EEXIST, "rename onto a taken name");
	snprintf(got.name, sizeof(got.name), "web2");
	CHECK_EQ(st_container_update(sc, &got, &f.err), 0, f.err.msg);
	st_container_free(&got);
	CHECK_EQ(st_container_find(sc, "web2", &got, &f.err), 0, "renamed");
	CHECK_EQ(got.exit_code, 3, "exit code kept");
	CHECK(strcmp(got.status, "exited") == 0, "status kept");
	st_container_free(&got);

	CHECK_EQ(st_container_list(sc, &v, &nv, &f.err), 0, f.err.msg);
	CHECK_EQ((long long)nv, 2, "two rows");
	CHECK(strcmp(v[0].id, b.id) == 0, "newest first");
	st_container_list_free(v, nv);
	CHECK_EQ(st_container_image_users(sc, "sha256:1111", &n, first, &f.err), 0, f.err.msg);
	CHECK_EQ((long long)n, 2, "two users");
	CHECK(strcmp(first, a.id) == 0, "first user");
	CHECK_EQ(st_container_delete(sc, a.id, &f.err), 0, f.err.msg);
	CHECK_EQ(st_container_image_users(sc, "sha256:1111", &n, NULL, &f.err), 0, f.err.msg);
	CHECK_EQ((long long)n, 1, "one user left");
	CHECK_EQ(st_container_find(sc, a.id, &got, &f.err), -ENOENT, "deleted");
	st_containers_close(sc);
	fix_close(&f);
}

void unit_state_tests(void)
{
	RUN(state_open_creates_schema);
	RUN(state_network_round_trip);
	RUN(state_network_resolution);
	RUN(state_network_duplicates);
	RUN(state_endpoint_round_trip);
	RUN(state_endpoint_conflicts);
	RUN(state_delete);
	RUN(state_next_local_id);
	RUN(state_ep_id_monotonic);
	RUN(state_meta);
	RUN(state_rollback_discards);
	RUN(state_migrate_from_v1);
	RUN(state_newer_schema_refused);
	RUN(state_containers_round_trip);
}
