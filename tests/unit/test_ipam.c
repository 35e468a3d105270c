// SPDX-License-Identifier: Apache-2.0
/* test_ipam.c - CIDR parsing, overlaps, default pools, allocation, checks. */
#include <arpa/inet.h>
#include <string.h>

#include "unit.h"
#include "../../user/common/util.h"
#include "../../user/ipam/ipam.h"

#define IP(s) unit_ip(s)

TEST(ipam_parse_good)
{
	struct shoal_err err = { 0 };
	uint32_t net = 0;
	uint8_t p = 0;

	CHECK_EQ(ipam_parse_subnet("10.0.0.0/24", &net, &p, &err), 0, "10.0.0.0/24");
	CHECK_EQ(net, IP("10.0.0.0"), "network");
	CHECK_EQ(p, 24, "prefix");
	CHECK_EQ(ipam_parse_subnet("172.16.0.0/12", &net, &p, &err), 0, "/12");
	CHECK_EQ(ipam_parse_subnet("10.0.0.0/8", &net, &p, &err), 0, "/8 lower bound");
	CHECK_EQ(ipam_parse_subnet("192.168.1.4/30", &net, &p, &err), 0, "/30 upper bound");
	CHECK_EQ(net, IP("192.168.1.4"), "/30 network");
	CHECK_EQ(p, 30, "/30 prefix");
	CHECK_EQ(ipam_parse_range("10.0.0.7/32", &net, &p, &err), 0, "range /32");
	CHECK_EQ(net, IP("10.0.0.7"), "range /32 address");
	CHECK_EQ(ipam_parse_range("10.0.0.6/31", &net, &p, &err), 0, "range /31");
	CHECK_EQ(p, 31, "range /31 prefix");
}

TEST(ipam_parse_host_bits)
{
	struct shoal_err err = { 0 };
	uint32_t net = 0;
	uint8_t p = 0;

	CHECK_EQ(ipam_parse_subnet("10.0.0.1/24", &net, &p, &err), -EINVAL, "host bits");
	CHECK(strcmp(err.msg, "invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24") == 0,
	      err.msg);
	CHECK_EQ(ipam_parse_range("10.0.0.7/31", &net, &p, &err), -EINVAL, "range host bits");
	CHECK(strstr(err.msg, "it should be 10.0.0.6/31") != NULL, err.msg);
}

TEST(ipam_parse_bad)
{
	static const char *const bad[] = {
		"foo", "10.0.0.0", "10.0.0.0/", "10.0.0.0/abc", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/33", "10.0.0.0/024", "10.0.0/24", "10.0.0.0.0/24", "010.0.0.0/24",
		"10.0.0.256/24", "/24", "10.0.0.0/24 ", " 10.0.0.0/24", "10.0.0.0/2 4", "",
	};
	struct shoal_err err = { 0 };
	uint32_t net = 0;
	uint8_t p = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&err);
		CHECK_EQ(ipam_parse_subnet(bad[i], &net, &p, &err), -EINVAL, bad[i]);
		CHECK(strncmp(err.msg, "invalid CIDR address: ", 22) == 0, err.msg);
	}
	CHECK_EQ(ipam_parse_subnet("foo", &net, &p, &err), -EINVAL, "garbage");
	CHECK(strcmp(err.msg, "invalid CIDR address: foo") == 0, err.msg);
	/* Well-formed but outside the allowed prefix lengths. */
	CHECK_EQ(ipam_parse_subnet("10.0.0.0/31", &net, &p, &err), -EINVAL, "subnet /31");
	CHECK(strstr(err.msg, "between 8 and 30") != NULL, err.msg);
	CHECK_EQ(ipam_parse_subnet("10.0.0.0/32", &net, &p, &err), -EINVAL, "subnet /32");
	CHECK_EQ(ipam_parse_subnet("10.0.0.0/7", &net, &p, &err), -EINVAL, "subnet /7");
	CHECK_EQ(ipam_parse_subnet("0.0.0.0/0", &net, &p, &err), -EINVAL, "subnet /0");
	CHECK_EQ(ipam_parse_range("10.0.0.0/7", &net, &p, &err), -EINVAL, "range /7");
}

TEST(ipam_mask_contains_overlaps)
{
	CHECK_EQ(ipam_mask(24), IP("255.255.255.0"), "/24 mask");
	CHECK_EQ(ipam_mask(0), 0, "/0 mask");
	CHECK_EQ(ipam_mask(32), IP("255.255.255.255"), "/32 mask");
	CHECK_EQ(ipam_mask(20), IP("255.255.240.0"), "/20 mask");
	CHECK(ipam_contains(IP("10.0.0.0"), 24, IP("10.0.0.255")), "last address inside");
	CHECK(!ipam_contains(IP("10.0.0.0"), 24, IP("10.0.1.0")), "next block outside");
	CHECK(ipam_overlaps(IP("10.0.0.0"), 8, IP("10.1.0.0"), 16), "supernet overlaps");
	CHECK(ipam_overlaps(IP("10.1.0.0"), 16, IP("10.0.0.0"), 8), "overlap is symmetric");
	CHECK(ipam_overlaps(IP("10.0.0.0"), 24, IP("10.0.0.0"), 24), "same subnet");
	CHECK(!ipam_overlaps(IP("10.0.0.0"), 24, IP("10.0.1.0"), 24), "adjacent /24s");
	CHECK(!ipam_overlaps(IP("172.17.0.0"), 16, IP("172.18.0.0"), 16), "adjacent /16s");
	CHECK(ipam_overlaps(IP("192.168.0.0"), 20, IP("192.168.15.0"), 24), "/24 inside /20");
	CHECK(!ipam_overlaps(IP("192.168.0.0"), 20, IP("192.168.16.0"), 24), "/24 after /20");
}

TEST(ipam_default_pools)
{
	struct shoal_err err = { 0 };
	uint32_t used[64], net = 0;
	uint8_t up[64], p = 0;
	size_t n = 0;

	CHECK_EQ(ipam_default_subnet(NULL, NULL, 0, &net, &p, &err), 0, "first pool");
	CHECK_EQ(net, IP("172.17.0.0"), "172.17.0.0");
	CHECK_EQ(p, 16, "/16");

	/* A user network inside 172.17 and one covering 172.18-19 push the
	 * next default to 172.20. */
	used[n] = IP("172.17.5.0"), up[n++] = 24;
	used[n] = IP("172.18.0.0"), up[n++] = 15;
	CHECK_EQ(ipam_default_subnet(used, up, n, &net, &p, &err), 0, "skip used");
	CHECK_EQ(net, IP("172.20.0.0"), "172.20.0.0");

	/* Everything from 172.16/12 taken: move on to 192.168.0.0/20. */
	n = 0;
	used[n] = IP("172.16.0.0"), up[n++] = 12;
	CHECK_EQ(ipam_default_subnet(used, up, n, &net, &p, &err), 0, "second pool");
	CHECK_EQ(net, IP("192.168.0.0"), "192.168.0.0");
	CHECK_EQ(p, 20, "/20");
	used[n] = IP("192.168.1.0"), up[n++] = 24;
	CHECK_EQ(ipam_default_subnet(used, up, n, &net, &p, &err), 0, "skip 192.168.0/20");
	CHECK_EQ(net, IP("192.168.16.0"), "192.168.16.0");
	used[n] = IP("192.168.16.0"), up[n++] = 20;
	used[n] = IP("192.168.32.0"), up[n++] = 19;
	CHECK_EQ(ipam_default_subnet(used, up, n, &net, &p, &err), 0, "skip to 192.168.64");
	CHECK_EQ(net, IP("192.168.64.0"), "192.168.64.0");

	/* All taken. */
	used[n] = IP("192.168.0.0"), up[n++] = 16;
	CHECK_EQ(ipam_default_subnet(used, up, n, &net, &p, &err), -ENOSPC, "exhausted");
	CHECK(strstr(err.msg, "non-overlapping IPv4 address pool") != NULL, err.msg);
	/* Last one free. */
	n = 0;
	used[n] = IP("172.16.0.0"), up[n++] = 12;
	used[n] = IP("192.168.0.0"), up[n++] = 17;
	used[n] = IP("192.168.128.0"), up[n++] = 18;
	used[n] = IP("192.168.192.0"), up[n++] = 19;
	used[n] = IP("192.168.224.0"), up[n++] = 20;
	CHECK_EQ(ipam_default_subnet(used, up, n, &net, &p, &err), 0, "last pool");
	CHECK_EQ(net, IP("192.168.240.0"), "192.168.240.0");
}

TEST(ipam_alloc_skips)
{
	struct shoal_err err = { 0 };
	uint32_t net = IP("10.0.0.0"), gw, out = 0, used[4];

	gw = ipam_first_host(net, 24);
	CHECK_EQ(gw, IP("10.0.0.1"), "first host is the gateway");
	CHECK_EQ(ipam_alloc(net, 24, 0, 0, gw, NULL, 0, &out, &err), 0, "alloc");
	CHECK_EQ(out, IP("10.0.0.2"), "skips network address and gateway");
	used[0] = IP("10.0.0.3");
	used[1] = IP("10.0.0.2");
	used[2] = IP("10.0.0.5");
	CHECK_EQ(ipam_alloc(net, 24, 0, 0, gw, used, 3, &out, &err), 0, "alloc with used");
	CHECK_EQ(out, IP("10.0.0.4"), "lowest free");
	/* Gateway elsewhere: .1 is free again. */
	CHECK_EQ(ipam_alloc(net, 24, 0, 0, IP("10.0.0.254"), NULL, 0, &out, &err), 0, "gw .254");
	CHECK_EQ(out, IP("10.0.0.1"), ".1 when gateway is .254");
	CHECK_EQ(ipam_first_host(IP("10.0.0.6"), 31), IP("10.0.0.6"), "/31 first host");
	CHECK_EQ(ipam_first_host(IP("10.0.0.7"), 32), IP("10.0.0.7"), "/32 first host");
}

TEST(ipam_alloc_exhausts_slash30)
{
	struct shoal_err err = { 0 };
	uint32_t net = IP("10.9.0.0"), gw = IP("10.9.0.1"), out = 0, used[2];

	/* /30: .0 network, .1 gateway, .2 host, .3 broadcast. */
	CHECK_EQ(ipam_alloc(net, 30, 0, 0, gw, NULL, 0, &out, &err), 0, "one address");
	CHECK_EQ(out, IP("10.9.0.2"), ".2");
	used[0] = out;
	CHECK_EQ(ipam_alloc(net, 30, 0, 0, gw, used, 1, &out, &err), -ENOSPC, "exhausted");
	CHECK(strstr(err.msg, "no available IPv4 addresses") != NULL, err.msg);
	CHECK(strstr(err.msg, "10.9.0.0/30") != NULL, err.msg);
	/* Without a gateway both hosts are usable, never .3. */
	CHECK_EQ(ipam_alloc(net, 30, 0, 0, 0, used, 1, &out, &err), 0, "no gateway");
	CHECK_EQ(out, IP("10.9.0.1"), ".1 without gateway");
	used[1] = out;
	CHECK_EQ(ipam_alloc(net, 30, 0, 0, 0, used, 2, &out, &err), -ENOSPC, "broadcast never");
}

TEST(ipam_alloc_range)
{
	struct shoal_err err = { 0 };
	uint32_t net = IP("10.0.0.0"), gw = IP("10.0.0.1"), out = 0, used[4];

	CHECK_EQ(ipam_alloc(net, 24, IP("10.0.0.128"), 25, gw, NULL, 0, &out, &err), 0, "/25");
	CHECK_EQ(out, IP("10.0.0.128"), "range start is usable inside the subnet");
	CHECK_EQ(ipam_alloc(net, 24, IP("10.0.0.0"), 25, gw, NULL, 0, &out, &err), 0, "low /25");
	CHECK_EQ(out, IP("10.0.0.2"), "still skips network and gateway");
	/* /32 range: exactly one address. */
	CHECK_EQ(ipam_alloc(net, 24, IP("10.0.0.77"), 32, gw, NULL, 0, &out, &err), 0, "/32");
	CHECK_EQ(out, IP("10.0.0.77"), "the /32");
	used[0] = out;
	CHECK_EQ(ipam_alloc(net, 24, IP("10.0.0.77"), 32, gw, used, 1, &out, &err), -ENOSPC,
		 "/32 taken");
	/* /31 range at the top of the subnet: .254 only (.255 is broadcast). */
	CHECK_EQ(ipam_alloc(net, 24, IP("10.0.0.254"), 31, gw, NULL, 0, &out, &err), 0, "/31");
	CHECK_EQ(out, IP("10.0.0.254"), ".254");
	used[0] = out;
	CHECK_EQ(ipam_alloc(net, 24, IP("10.0.0.254"), 31, gw, used, 1, &out, &err), -ENOSPC,
		 "/31 never broadcast");
	/* /31 range at the bottom: .0 is the network, .1 the gateway. */
	CHECK_EQ(ipam_alloc(net, 24, IP("10.0.0.0"), 31, gw, NULL, 0, &out, &err), -ENOSPC,
		 "/31 network+gateway");
}

TEST(ipam_check_errors)
{
	struct shoal_err err = { 0 };
	uint32_t net = IP("10.0.0.0"), gw = IP("10.0.0.1"), used[1] = { IP("10.0.0.2") };

	CHECK_EQ(ipam_check(net, 24, gw, used, 1, IP("10.0.0.3"), &err), 0, "free address");
	CHECK_EQ(ipam_check(net, 24, gw, used, 1, IP("10.0.1.5"), &err), -EINVAL, "outside");
	CHECK(strcmp(err.msg, "address 10.0.1.5 is not in subnet 10.0.0.0/24") == 0, err.msg);
	CHECK_EQ(ipam_check(net, 24, gw, used, 1, IP("10.0.0.1"), &err), -EEXIST, "gateway");
	CHECK(strcmp(err.msg, "address 10.0.0.1 is the gateway of 10.0.0.0/24") == 0, err.msg);
	CHECK_EQ(ipam_check(net, 24, gw, used, 1, IP("10.0.0.2"), &err), -EEXIST, "used");
	CHECK(strcmp(err.msg, "address 10.0.0.2 is already in use") == 0, err.msg);
	CHECK_EQ(ipam_check(net, 24, gw, used, 1, IP("10.0.0.0"), &err), -EINVAL, "network");
	CHECK(strstr(err.msg, "network address") != NULL, err.msg);
	CHECK_EQ(ipam_check(net, 24, gw, used, 1, IP("10.0.0.255"), &err), -EINVAL, "broadcast");
	CHECK(strstr(err.msg, "broadcast address of 10.0.0.0/24") != NULL, err.msg);
}

TEST(ipam_mac)
{
	static const uint8_t want[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 };
	uint8_t mac[6];
	char buf[18];

	ipam_mac_from_ip(IP("172.17.0.2"), mac);
	CHECK_MEM(mac, want, 6, "02:42:ac:11:00:02");
	CHECK(strcmp(util_mac_str(mac, buf), "02:42:ac:11:00:02") == 0, buf);
}

void unit_ipam_tests(void)
{
	RUN(ipam_parse_good);
	RUN(ipam_parse_host_bits);
	RUN(ipam_parse_bad);
	RUN(ipam_mask_contains_overlaps);
	RUN(ipam_default_pools);
	RUN(ipam_alloc_skips);
	RUN(ipam_alloc_exhausts_slash30);
	RUN(ipam_alloc_range);
	RUN(ipam_check_errors);
	RUN(ipam_mac);
}
