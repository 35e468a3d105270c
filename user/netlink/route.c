// SPDX-License-Identifier: Apache-2.0
/*
 * route.c - host routes to local containers in the main table:
 * "ip route replace IP/32 dev IF scope link [src SRC] proto 181".
 */
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "internal.h"
#include "netlink.h"

static int host_route(uint32_t ip, int ifindex, uint32_t src, struct rtnl_route **out)
{
	_cleanup_rtroute_ struct rtnl_route *r = rtnl_route_alloc();
	_cleanup_nladdr_ struct nl_addr *dst = netlink_addr4(ip, 32);
	_cleanup_nladdr_ struct nl_addr *pref = src ? netlink_addr4(src, 32) : NULL;
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

	if (!r || !dst || !nh || (src && !pref)) {
		if (nh)
			rtnl_route_nh_free(nh);
		return -ENOMEM;
	}
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_scope(r, RT_SCOPE_LINK);
	rtnl_route_set_protocol(r, NETLINK_RTPROT_SHOAL);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_set_dst(r, dst);
	if (pref)
		rtnl_route_set_pref_src(r, pref);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(r, nh);
	*out = r;
	r = NULL;
	return 0;
}

int netlink_route_host_replace(uint32_t ip, int ifindex, uint32_t src, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_rtroute_ struct rtnl_route *r = NULL;
	char a[16], b[16];
	int rc;

	if (ifindex <= 0)
		return err_set(err, EINVAL, "route: invalid ifindex");
	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	if (host_route(ip, ifindex, src, &r) < 0)
		return err_set(err, ENOMEM, "route: %s", strerror(ENOMEM));
	rc = rtnl_route_add(sk, r, NLM_F_REPLACE);
	if (rc < 0)
		return netlink_fail(err, rc, "replace route %s/32 dev ifindex %d src %s",
				    util_ipv4_str(ip, a), ifindex, util_ipv4_str(src, b));
	return 0;
}

int netlink_route_host_del(uint32_t ip, int ifindex, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_rtroute_ struct rtnl_route *r = NULL;
	char a[16];
	int rc;

	if (ifindex <= 0)
		return err_set(err, EINVAL, "route: invalid ifindex");
	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	if (host_route(ip, ifindex, 0, &r) < 0)
		return err_set(err, ENOMEM, "route: %s", strerror(ENOMEM));
	/* Matches dst, dev, scope and our protocol only. */
	rc = rtnl_route_delete(sk, r, 0);
	if (rc < 0)
		return netlink_fail(err, rc, "delete route %s/32 dev ifindex %d",
				    util_ipv4_str(ip, a), ifindex);
	return 0;
}
