/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netlink.inc.h - user/netlink against the kernel: veth pairs into a
 * fresh namespace, rollback, lookups, dummies, addresses, host routes.
 * Included by main.c (one translation unit, see there).
 */
#include "../../user/netlink/netlink.h"

static char nl_ns[64];      /* "shoaltest-<tag>" */
static char nl_ns_path[96]; /* "/run/netns/shoaltest-<tag>" */
static char nl_veth[32], nl_veth2[32], nl_veth3[32], nl_dummy[32];
static const char *nl_dev; /* a link for address/route tests: the dummy, else the veth */

static uint32_t ip4(const char *s)
{
	uint32_t v = 0;

	util_parse_ipv4(s, &v);
	return v;
}

static void netlink_suite_cleanup(void)
{
	if (!nl_ns[0])
		return;
	sh("ip link del %s >/dev/null 2>&1", nl_veth);
	sh("ip link del %s >/dev/null 2>&1", nl_veth2);
	sh("ip link del %s >/dev/null 2>&1", nl_veth3);
	sh("ip link del %s >/dev/null 2>&1", nl_dummy);
	for (int i = 0; i < 8; i++)
		sh("ip link del sht%st%d >/dev/null 2>&1", g_tag, i);
	sh("ip netns del %s >/dev/null 2>&1", nl_ns);
	nl_ns[0] = '\0';
}

static struct netlink_veth_spec nl_spec(const char *host, const char *peer)
{
	struct netlink_veth_spec s = {
		.host_name = host,
		.netns_path = nl_ns_path,
		.peer_name = peer,
		.peer_mac = { 0x02, 0x42, 0x0a, 0xfd, 0x00, 0x02 },
		.ip = ip4("10.253.0.2"),
		.prefix = 24,
		.gateway = ip4("10.253.0.1"),
		.mtu = 1450,
	};
	return s;
}

TEST(veth_create)
{
	struct netlink_veth_spec s = nl_spec(nl_veth, "eth0");
	struct shoal_err e = { 0 };
	uint8_t mac[6] = { 0 }, mac2[6], zero[6] = { 0 };
	int idx = 0, idx2 = 0, mtu = 0;
	char out[4096];

	CHECK_EQ(netlink_veth_create(&s, &idx, mac, &e), 0, e.msg);
	CHECK_HOME_NS();
	CHECK(idx > 0, "host ifindex");
	CHECK(memcmp(mac, zero, 6) != 0, "host MAC returned");
	CHECK_EQ(netlink_link_get(nl_veth, &idx2, mac2, &mtu, &e), 0, e.msg);
	CHECK_EQ(idx2, idx, "link_get ifindex");
	CHECK_EQ(mtu, 1450, "host MTU");
	CHECK_MEM(mac2, mac, 6, "link_get MAC");

	sh_out(out, sizeof(out), "ip -o link show dev %s", nl_veth);
	CHECK(strstr(out, ",UP") || strstr(out, "<UP"), "host end up");
	sh_out(out, sizeof(out), "ip -n %s -o link show dev eth0", nl_ns);
	CHECK(strstr(out, "02:42:0a:fd:00:02") != NULL, "peer MAC");
	CHECK(strstr(out, "mtu 1450") != NULL, "peer MTU");
	CHECK(strstr(out, "LOWER_UP") != NULL, "peer up with carrier");
	sh_out(out, sizeof(out), "ip -n %s -o -4 addr show dev eth0", nl_ns);
	CHECK(strstr(out, "inet 10.253.0.2/24") != NULL, "peer address");
	sh_out(out, sizeof(out), "ip -n %s -o link show dev lo", nl_ns);
	CHECK(strstr(out, "UP") != NULL, "lo up");
	sh_out(out, sizeof(out), "ip -n %s route show default", nl_ns);
	CHECK(strstr(out, "default via 10.253.0.1 dev eth0 proto 181 onlink") != NULL,
	      "default route via gateway, onlink");
	if (tap.cur_failed)
		printf("#   route: %s", out);

	/* The pair carries traffic: give the host end the gateway address. */
	CHECK_EQ(netlink_addr_add(idx, ip4("10.253.0.1"), 24, &e), 0, e.msg);
	CHECK_EQ(sh("ip netns exec %s busybox ping -c1 -W2 10.253.0.1 >/dev/null", nl_ns), 0,
		 "container reaches its gateway");
}

TEST(veth_create_duplicates)
{
	struct netlink_veth_spec s = nl_spec(nl_veth, "eth1");
	struct shoal_err e = { 0 };
	int idx;
	uint8_t mac[6];

	/* Host name taken: nothing created in the namespace. */
	CHECK_EQ(netlink_veth_create(&s, &idx, mac, &e), -EEXIST, "host name exists");
	CHECK(strstr(e.msg, nl_veth) != NULL, e.msg);
	CHECK_EQ(netlink_link_exists_in(nl_ns_path, "eth1", &e), 0, "no eth1 in ns");

	/* Peer name taken in the namespace: no host end created. */
	s = nl_spec(nl_veth2, "eth0");
	CHECK_EQ(netlink_veth_create(&s, &idx, mac, &e), -EEXIST, "peer name exists");
	CHECK(strstr(e.msg, "eth0") && strstr(e.msg, nl_ns_path), e.msg);
	CHECK_EQ(netlink_link_get(nl_veth2, NULL, NULL, NULL, &e), -ENODEV, "no host end");
	CHECK_HOME_NS();
}

TEST(veth_create_missing_netns)
{
	struct netlink_veth_spec s = nl_spec(nl_veth2, "eth0");
	struct shoal_err e = { 0 };
	int idx;
	uint8_t mac[6];

	s.netns_path = "/run/netns/shoaltest-does-not-exist";
	CHECK_EQ(netlink_veth_create(&s, &idx, mac, &e), -ENOENT, "missing netns");
	CHECK(strstr(e.msg, "network namespace /run/netns/shoaltest-does-not-exist: No such "
			    "file or directory") != NULL,
	      e.msg);
	CHECK_EQ(netlink_link_get(nl_veth2, NULL, NULL, NULL, &e), -ENODEV, "no host end");
	CHECK_HOME_NS();
}

TEST(veth_create_rollback)
{
	struct netlink_veth_spec s = nl_spec(nl_veth3, "eth2");
	struct shoal_err e = { 0 };
	int idx;
	uint8_t mac[6];

	/* The kernel refuses a broadcast gateway after the pair exists:
	 * both ends must be gone again. */
	s.gateway = ip4("255.255.255.255");
	CHECK_EQ(netlink_veth_create(&s, &idx, mac, &e), -EINVAL, "bad gateway");
	CHECK(strstr(e.msg, "default route") != NULL, e.msg);
	CHECK_EQ(netlink_link_get(nl_veth3, NULL, NULL, NULL, &e), -ENODEV, "host end deleted");
	CHECK_EQ(netlink_link_exists_in(nl_ns_path, "eth2", &e), 0, "peer deleted");
	CHECK_HOME_NS();
}

TEST(link_exists_get_del)
{
	struct shoal_err e = { 0 };

	CHECK_EQ(netlink_link_exists_in(nl_ns_path, "eth0", &e), 1, "eth0 in ns");
	CHECK_EQ(netlink_link_exists_in(nl_ns_path, "nope0", &e), 0, "nope0 not in ns");
	CHECK_EQ(netlink_link_exists_in(NULL, "lo", &e), 1, "lo here");
	CHECK_EQ(netlink_link_exists_in("/run/netns/shoaltest-does-not-exist", "lo", &e),
		 -ENOENT, "missing ns");
	CHECK_EQ(netlink_link_get("shtnope0", NULL, NULL, NULL, &e), -ENODEV, "get missing");
	CHECK(strstr(e.msg, "shtnope0") != NULL, e.msg);
	CHECK_EQ(netlink_link_del("shtnope0", &e), -ENODEV, "del missing");
	CHECK_EQ(netlink_link_get("bad/name", NULL, NULL, NULL, &e), -EINVAL, "bad name");
	CHECK_HOME_NS();
}

static int count_cb(const char *name, int ifindex, void *arg)
{
	(void)name;
	(void)ifindex;
	(*(int *)arg)++;
	return 0;
}

static int del_cb(const char *name, int ifindex, void *arg)
{
	struct shoal_err e;

	(void)ifindex;
	(void)arg;
	return netlink_link_del(name, &e);
}

TEST(foreach_prefix)
{
	struct netlink_veth_spec s;
	struct shoal_err e = { 0 };
	char prefix[32], names[3][32];
	int n = 0;

	snprintf(prefix, sizeof(prefix), "sht%st", g_tag);
	for (int i = 0; i < 3; i++) {
		snprintf(names[i], sizeof(names[i]), "sht%st%d", g_tag, i);
		s = nl_spec(names[i], "ethx");
		s.peer_name = i == 0 ? "ethx0" : i == 1 ? "ethx1" : "ethx2";
		s.gateway = 0;
		s.ip = ip4("10.253.1.1") + htonl((uint32_t)i);
		CHECK_EQ(netlink_veth_create(&s, NULL, NULL, &e), 0, e.msg);
	}
	CHECK_EQ(netlink_link_foreach_prefix(prefix, count_cb, &n, &e), 0, e.msg);
	CHECK_EQ(n, 3, "three links with the prefix");
	/* The callback may delete what it is given. */
	CHECK_EQ(netlink_link_foreach_prefix(prefix, del_cb, NULL, &e), 0, e.msg);
	n = 0;
	CHECK_EQ(netlink_link_foreach_prefix(prefix, count_cb, &n, &e), 0, e.msg);
	CHECK_EQ(n, 0, "all deleted");
	CHECK_EQ(netlink_link_exists_in(nl_ns_path, "ethx1", &e), 0, "peers went with them");
}

static int have_dummy;

TEST(dummy_ensure)
{
	struct shoal_err e = { 0 };
	int a = 0, b = 0;
	char out[1024];

	CHECK_EQ(netlink_dummy_ensure(nl_dummy, &a, &e), 0, e.msg);
	CHECK_EQ(netlink_dummy_ensure(nl_dummy, &b, &e), 0, e.msg);
	CHECK(a > 0 && a == b, "same dummy twice");
	sh_out(out, sizeof(out), "ip -o -d link show dev %s", nl_dummy);
	CHECK(strstr(out, "UP") != NULL, "up");
	CHECK(strstr(out, have_dummy ? "dummy" : "ifb") != NULL, "dummy, or ifb without one");
	CHECK_EQ(netlink_dummy_ensure(nl_veth, &a, &e), -EEXIST, "a veth is not a dummy");
	CHECK(strstr(e.msg, "not a dummy") != NULL, e.msg);
}

TEST(addr_add_del)
{
	struct shoal_err e = { 0 };
	int idx = 0;
	char out[1024];

	CHECK_EQ(netlink_link_get(nl_dev, &idx, NULL, NULL, &e), 0, e.msg);
	CHECK_EQ(netlink_addr_add(idx, ip4("10.252.0.1"), 24, &e), 0, e.msg);
	CHECK_EQ(netlink_addr_add(idx, ip4("10.252.0.1"), 24, &e), 0, "add is idempotent");
	sh_out(out, sizeof(out), "ip -o -4 addr show dev %s", nl_dev);
	CHECK(strstr(out, "inet 10.252.0.1/24") != NULL, "address present");
	CHECK_EQ(netlink_addr_del(idx, ip4("10.252.0.1"), 24, &e), 0, e.msg);
	sh_out(out, sizeof(out), "ip -o -4 addr show dev %s", nl_dev);
	CHECK(strstr(out, "10.252.0.1") == NULL, "address gone");
	CHECK_EQ(netlink_addr_del(idx, ip4("10.252.0.1"), 24, &e), -EADDRNOTAVAIL, "del twice");
	CHECK_EQ(netlink_addr_add(idx, ip4("10.252.0.1"), 33, &e), -EINVAL, "bad prefix");
}

TEST(route_host)
{
	struct shoal_err e = { 0 };
	int idx = 0;
	char out[1024];

	CHECK_EQ(netlink_link_get(nl_dev, &idx, NULL, NULL, &e), 0, e.msg);
	CHECK_EQ(netlink_addr_add(idx, ip4("10.252.1.1"), 32, &e), 0, e.msg);
	CHECK_EQ(netlink_addr_add(idx, ip4("10.252.1.9"), 32, &e), 0, e.msg);
	CHECK_EQ(netlink_route_host_replace(ip4("10.252.9.5"), idx, ip4("10.252.1.1"), &e), 0,
		 e.msg);
	sh_out(out, sizeof(out), "ip route show 10.252.9.5");
	CHECK(strstr(out, "dev") && strstr(out, nl_dev) && strstr(out, "proto 181") &&
		      strstr(out, "scope link") && strstr(out, "src 10.252.1.1"),
	      "route as asked");
	if (tap.cur_failed)
		printf("#   route: %s", out);
	/* Replace: still one route, new source. */
	CHECK_EQ(netlink_route_host_replace(ip4("10.252.9.5"), idx, ip4("10.252.1.9"), &e), 0,
		 e.msg);
	sh_out(out, sizeof(out), "ip route show 10.252.9.5 | wc -l");
	CHECK_EQ(atoi(out), 1, "one route after replace");
	sh_out(out, sizeof(out), "ip route show 10.252.9.5");
	CHECK(strstr(out, "src 10.252.1.9") != NULL, "replaced src");
	CHECK_EQ(netlink_route_host_replace(ip4("10.252.9.6"), idx, 0, &e), 0, "without src");
	CHECK_EQ(netlink_route_host_del(ip4("10.252.9.5"), idx, &e), 0, e.msg);
	CHECK_EQ(netlink_route_host_del(ip4("10.252.9.6"), idx, &e), 0, e.msg);
	sh_out(out, sizeof(out), "ip route show 10.252.9.5 ; ip route show 10.252.9.6");
	CHECK_EQ(strlen(out), 0, "routes gone");
	CHECK_EQ(netlink_route_host_del(ip4("10.252.9.5"), idx, &e), -ENODEV, "del twice");
	/* Deletion only matches our protocol. */
	sh("ip route add 10.252.9.7/32 dev %s scope link", nl_dev);
	CHECK(netlink_route_host_del(ip4("10.252.9.7"), idx, &e) < 0, "foreign route kept");
	sh("ip route del 10.252.9.7/32 dev %s", nl_dev);
}

TEST(ipv4_conf)
{
	struct shoal_err e = { 0 };
	char out[64];

	CHECK_EQ(netlink_ipv4_conf_set(nl_dev, "rp_filter", "2", &e), 0, e.msg);
	sh_out(out, sizeof(out), "cat /proc/sys/net/ipv4/conf/%s/rp_filter", nl_dev);
	CHECK_EQ(atoi(out), 2, "rp_filter written");
	CHECK_EQ(netlink_ipv4_conf_set(nl_dev, "../../x", "1", &e), -EINVAL, "no traversal");
	CHECK_EQ(netlink_ipv4_conf_set(nl_dev, "no_such_knob", "1", &e), -ENOENT, e.msg);
}

/* Two threads hop in and out of the namespace at once: each must always
 * come back to its own, and every pair must be complete. */
struct nl_thread_arg {
	int id, failures;
};

static void *nl_thread(void *p)
{
	struct nl_thread_arg *a = p;
	ino_t home = netns_ino();

	for (int i = 0; i < 10; i++) {
		char host[32], peer[32];
		struct netlink_veth_spec s;
		struct shoal_err e = { 0 };

		snprintf(host, sizeof(host), "sht%st%d", g_tag, 4 + a->id);
		snprintf(peer, sizeof(peer), "par%d", a->id);
		s = nl_spec(host, peer);
		s.ip = ip4(a->id ? "10.253.2.2" : "10.253.3.2");
		s.gateway = ip4(a->id ? "10.253.2.1" : "10.253.3.1");
		if (netlink_veth_create(&s, NULL, NULL, &e) < 0 || netns_ino() != home ||
		    netlink_link_exists_in(nl_ns_path, peer, &e) != 1 ||
		    netlink_link_del(host, &e) < 0 || netns_ino() != home) {
			printf("#   thread %d round %d: %s\n", a->id, i, e.msg);
			a->failures++;
		}
	}
	return NULL;
}

TEST(threads)
{
	pthread_t t[2];
	struct nl_thread_arg a[2] = { { .id = 0 }, { .id = 1 } };

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, nl_thread, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(a[0].failures + a[1].failures, 0, "concurrent creates");
	CHECK_HOME_NS();
}

static void netlink_suite(void)
{
	snprintf(nl_veth, sizeof(nl_veth), "sht%sa", g_tag);
	snprintf(nl_veth2, sizeof(nl_veth2), "sht%sb", g_tag);
	snprintf(nl_veth3, sizeof(nl_veth3), "sht%sc", g_tag);
	snprintf(nl_dummy, sizeof(nl_dummy), "shd%s", g_tag);
	snprintf(nl_ns, sizeof(nl_ns), "shoaltest-%s", g_tag);
	snprintf(nl_ns_path, sizeof(nl_ns_path), "/run/netns/%s", nl_ns);
	if (sh("ip netns add %s", nl_ns) < 0) {
		printf("# cannot create netns %s\n", nl_ns);
		nl_ns[0] = '\0';
		return;
	}
	have_dummy = sh("ip link add %s type dummy 2>/dev/null && ip link del %s", nl_dummy,
			nl_dummy) == 0;
	nl_dev = nl_dummy;
	RUN(veth_create);
	RUN(veth_create_duplicates);
	RUN(veth_create_missing_netns);
	RUN(veth_create_rollback);
	RUN(link_exists_get_del);
	RUN(foreach_prefix);
	RUN(dummy_ensure);
	RUN(addr_add_del);
	RUN(route_host);
	RUN(ipv4_conf);
	RUN(threads);
}
