// SPDX-License-Identifier: Apache-2.0
/* addr.c - IPv4 addresses on links of the caller's namespace. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "internal.h"
#include "netlink.h"

static int addr_req(int ifindex, uint32_t ip, uint8_t prefix, struct rtnl_addr **out)
{
	_cleanup_nladdr_ struct nl_addr *local = netlink_addr4(ip, prefix);
	struct rtnl_addr *a = rtnl_addr_alloc();

	if (!local || !a) {
		if (a)
			rtnl_addr_put(a);
		return -ENOMEM;
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, AF_INET);
	rtnl_addr_set_local(a, local); /* takes its own reference */
	rtnl_addr_set_prefixlen(a, prefix);
	*out = a;
	return 0;
}

int netlink_addr_add(int ifindex, uint32_t ip, uint8_t prefix, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_rtaddr_ struct rtnl_addr *a = NULL;
	char buf[16];
	int rc;

	if (prefix > 32 || ifindex <= 0)
		return err_set(err, EINVAL, "add address: invalid prefix or ifindex");
	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	if (addr_req(ifindex, ip, prefix, &a) < 0)
		return err_set(err, ENOMEM, "add address: %s", strerror(ENOMEM));
	/* NLM_F_REPLACE: an address that is already there is not an error. */
	rc = rtnl_addr_add(sk, a, NLM_F_REPLACE);
	if (rc < 0)
		return netlink_fail(err, rc, "add address %s/%u to ifindex %d",
				    util_ipv4_str(ip, buf), prefix, ifindex);
	return 0;
}

int netlink_addr_del(int ifindex, uint32_t ip, uint8_t prefix, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_rtaddr_ struct rtnl_addr *a = NULL;
	char buf[16];
	int rc;

	if (prefix > 32 || ifindex <= 0)
		return err_set(err, EINVAL, "delete address: invalid prefix or ifindex");
	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	if (addr_req(ifindex, ip, prefix, &a) < 0)
		return err_set(err, ENOMEM, "delete address: %s", strerror(ENOMEM));
	rc = rtnl_addr_delete(sk, a, 0);
	if (rc < 0)
		return netlink_fail(err, rc, "delete address %s/%u from ifindex %d",
				    util_ipv4_str(ip, buf), prefix, ifindex);
	return 0;
}

struct addr_walk {
	int ifindex;      /* match this link (0 = any) */
	uint32_t ip;      /* match this address (0 = any) */
	int found_ifindex;
	uint32_t found_ip;
	uint8_t found_prefix;
	bool found;
};

static void addr_walk_one(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct addr_walk *w = arg;
	struct nl_addr *local = rtnl_addr_get_local(a);
	uint32_t ip;

	if (w->found || rtnl_addr_get_family(a) != AF_INET || !local ||
	    nl_addr_get_len(local) != sizeof(ip))
		return;
	memcpy(&ip, nl_addr_get_binary_addr(local), sizeof(ip));
	if (w->ifindex && rtnl_addr_get_ifindex(a) != w->ifindex)
		return;
	if (w->ip && ip != w->ip)
		return;
	w->found = true;
	w->found_ifindex = rtnl_addr_get_ifindex(a);
	w->found_ip = ip;
	w->found_prefix = (uint8_t)rtnl_addr_get_prefixlen(a);
}

static int addr_walk(struct addr_walk *w, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_nlcache_ struct nl_cache *cache = NULL;
	int rc;

	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	rc = rtnl_addr_alloc_cache(sk, &cache);
	if (rc < 0)
		return netlink_fail(err, rc, "list addresses");
	nl_cache_foreach(cache, addr_walk_one, w);
	return 0;
}

int netlink_addr_first(int ifindex, uint32_t *ip, uint8_t *prefix, struct shoal_err *err)
{
	struct addr_walk w = { .ifindex = ifindex };
	int rc = addr_walk(&w, err);

	if (rc < 0)
		return rc;
	if (!w.found)
		return err_set(err, EADDRNOTAVAIL, "ifindex %d has no IPv4 address", ifindex);
	*ip = w.found_ip;
	if (prefix)
		*prefix = w.found_prefix;
	return 0;
}

int netlink_addr_find(uint32_t ip, int *ifindex, struct shoal_err *err)
{
	struct addr_walk w = { .ip = ip };
	char buf[16];
	int rc = addr_walk(&w, err);

	if (rc < 0)
		return rc;
	if (!w.found)
		return err_set(err, EADDRNOTAVAIL, "no interface in this namespace has address %s",
			       util_ipv4_str(ip, buf));
	*ifindex = w.found_ifindex;
	return 0;
}
