// SPDX-License-Identifier: Apache-2.0
/*
 * link.c - links: the container veth pair, dummies, lookups, deletion.
 *
 * The veth pair is created in one RTM_NEWLINK whose peer carries
 * IFLA_NET_NS_FD, so the container end is born inside the container's
 * namespace with its final name ("eth0" would clash with the host's own
 * eth0 otherwise), MAC and MTU; the host end comes up in the same request.
 * The rest of the container side (up, address, lo, default route) is done
 * through a socket opened inside that namespace. (IFF_UP on the peer in
 * the create request fails with ENOTCONN on 6.18: the kernel seems to open
 * the peer before the two ends are linked, and veth_open() refuses.)
 */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <netlink/route/link/veth.h>

#include "../common/log.h"
#include "../common/util.h"
#include "internal.h"
#include "netlink.h"

static int name_ok(const char *name)
{
	return name && *name && strlen(name) < IFNAMSIZ && !strchr(name, '/');
}

/* 1 if a link called name exists in sk's namespace, 0 if not, else -NLE_*. */
static int link_exists(struct nl_sock *sk, const char *name)
{
	int ifindex, rc = netlink_ifindex(sk, name, &ifindex);

	if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND)
		return 0;
	return rc < 0 ? rc : 1;
}

/* Address, lo up, default route: the container side of the pair. */
static int veth_configure_peer(const struct netlink_veth_spec *spec, int nsfd,
			       struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_nladdr_ struct nl_addr *local = NULL;
	_cleanup_rtaddr_ struct rtnl_addr *addr = NULL;
	int ifindex, lo, rc;
	char ip[16];

	rc = netlink_sock_open_ns(nsfd, spec->netns_path, &sk, err);
	if (rc < 0)
		return rc;
	rc = netlink_ifindex(sk, spec->peer_name, &ifindex);
	if (rc < 0)
		return netlink_fail(err, rc, "find %s in %s", spec->peer_name, spec->netns_path);

	rc = netlink_link_up(sk, ifindex);
	if (rc < 0)
		return netlink_fail(err, rc, "set %s up in %s", spec->peer_name, spec->netns_path);
	rc = netlink_ifindex(sk, "lo", &lo);
	if (rc == 0)
		rc = netlink_link_up(sk, lo);
	if (rc < 0)
		return netlink_fail(err, rc, "set lo up in %s", spec->netns_path);

	if (spec->ip) {
		local = netlink_addr4(spec->ip, spec->prefix);
		addr = rtnl_addr_alloc();
		if (!local || !addr)
			return err_set(err, ENOMEM, "address: %s", strerror(ENOMEM));
		rtnl_addr_set_ifindex(addr, ifindex);
		rtnl_addr_set_family(addr, AF_INET);
		rtnl_addr_set_local(addr, local);
		rtnl_addr_set_prefixlen(addr, spec->prefix);
		rc = rtnl_addr_add(sk, addr, NLM_F_REPLACE);
		if (rc < 0)
			return netlink_fail(err, rc, "add address %s/%u to %s in %s",
					    util_ipv4_str(spec->ip, ip), spec->prefix,
					    spec->peer_name, spec->netns_path);
	}

	if (spec->gateway) {
		_cleanup_rtroute_ struct rtnl_route *r = rtnl_route_alloc();
		_cleanup_nladdr_ struct nl_addr *dst = netlink_addr4(0, 0);
		_cleanup_nladdr_ struct nl_addr *gw = netlink_addr4(spec->gateway, 32);
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

		if (!r || !dst || !gw || !nh) {
			if (nh)
				rtnl_route_nh_free(nh);
			return err_set(err, ENOMEM, "route: %s", strerror(ENOMEM));
		}
		rtnl_route_set_family(r, AF_INET);
		rtnl_route_set_table(r, RT_TABLE_MAIN);
		rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
		rtnl_route_set_protocol(r, NETLINK_RTPROT_SHOAL);
		rtnl_route_set_type(r, RTN_UNICAST);
		rtnl_route_set_dst(r, dst);
		/* libnl puts a single nexthop's flags nowhere: "onlink" goes
		 * in rtm_flags, as iproute2 does. Onlink makes the route
		 * independent of the address (a /32 or a gateway outside
		 * the subnet would work too). */
		rtnl_route_set_flags(r, RTNH_F_ONLINK);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_nh_set_gateway(nh, gw);
		rtnl_route_add_nexthop(r, nh); /* r owns nh now */
		rc = rtnl_route_add(sk, r, NLM_F_REPLACE);
		if (rc < 0)
			return netlink_fail(err, rc, "add default route via %s dev %s in %s",
					    util_ipv4_str(spec->gateway, ip), spec->peer_name,
					    spec->netns_path);
	}
	return 0;
}

int netlink_veth_create(const struct netlink_veth_spec *spec, int *host_ifindex,
			uint8_t host_mac[6], struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_nlsock_ struct nl_sock *nssk = NULL;
	_cleanup_rtlink_ struct rtnl_link *veth = NULL;
	_cleanup_rtlink_ struct rtnl_link *peer = NULL;
	_cleanup_rtlink_ struct rtnl_link *host = NULL;
	_cleanup_nladdr_ struct nl_addr *mac = NULL;
	_cleanup_close_ int nsfd = -1;
	struct nl_addr *hmac;
	int rc, ret;

	if (!spec || !name_ok(spec->host_name) || !name_ok(spec->peer_name))
		return err_set(err, EINVAL, "create veth: invalid interface name");
	if (spec->mtu < 0 || spec->prefix > 32)
		return err_set(err, EINVAL, "create veth %s: invalid MTU or prefix",
			       spec->host_name);

	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	rc = link_exists(sk, spec->host_name);
	if (rc < 0)
		return netlink_fail(err, rc, "look up %s", spec->host_name);
	if (rc)
		return err_set(err, EEXIST, "create veth %s: link %s already exists",
			       spec->host_name, spec->host_name);

	nsfd = netlink_ns_open(spec->netns_path, err);
	if (nsfd < 0)
		return nsfd;
	rc = netlink_sock_open_ns(nsfd, spec->netns_path, &nssk, err);
	if (rc < 0)
		return rc;
	rc = link_exists(nssk, spec->peer_name);
	if (rc < 0)
		return netlink_fail(err, rc, "look up %s in %s", spec->peer_name,
				    spec->netns_path);
	if (rc)
		return err_set(err, EEXIST, "create veth %s: %s already exists in %s",
			       spec->host_name, spec->peer_name, spec->netns_path);

	veth = rtnl_link_veth_alloc();
	mac = nl_addr_build(AF_LLC, spec->peer_mac, 6);
	if (!veth || !mac)
		return err_set(err, ENOMEM, "create veth %s: %s", spec->host_name,
			       strerror(ENOMEM));
	peer = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(veth, spec->host_name);
	rtnl_link_set_flags(veth, IFF_UP);
	rtnl_link_set_name(peer, spec->peer_name);
	rtnl_link_set_addr(peer, mac);
	rtnl_link_set_ns_fd(peer, nsfd);
	if (spec->mtu) {
		rtnl_link_set_mtu(veth, (unsigned int)spec->mtu);
		rtnl_link_set_mtu(peer, (unsigned int)spec->mtu);
	}
	rc = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
	if (rc < 0)
		return netlink_fail(err, rc, "create veth %s (peer %s in %s)", spec->host_name,
				    spec->peer_name, spec->netns_path);

	/* From here on every failure deletes the pair again. */
	rc = rtnl_link_get_kernel(sk, 0, spec->host_name, &host);
	if (rc < 0) {
		ret = netlink_fail(err, rc, "look up new veth %s", spec->host_name);
		goto fail;
	}
	hmac = rtnl_link_get_addr(host);
	if (!hmac || nl_addr_get_len(hmac) != 6) {
		ret = err_set(err, EIO, "veth %s has no Ethernet address", spec->host_name);
		goto fail;
	}
	ret = veth_configure_peer(spec, nsfd, err);
	if (ret < 0) {
		if (err)
			err_wrap(err, "create veth %s", spec->host_name);
		goto fail;
	}
	if (host_ifindex)
		*host_ifindex = rtnl_link_get_ifindex(host);
	if (host_mac)
		memcpy(host_mac, nl_addr_get_binary_addr(hmac), 6);
	return 0;

fail:
	/* Deleting one end deletes both. */
	rc = rtnl_link_delete(sk, host ? host : veth);
	if (rc < 0)
		log_warn("create veth %s: cleanup failed, delete it by hand: %s",
			 spec->host_name, nl_geterror(rc));
	return ret;
}

int netlink_link_del(const char *name, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_rtlink_ struct rtnl_link *link = NULL;
	int rc;

	if (!name_ok(name))
		return err_set(err, EINVAL, "delete link: invalid name");
	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	link = rtnl_link_alloc();
	if (!link)
		return err_set(err, ENOMEM, "delete link %s: %s", name, strerror(ENOMEM));
	rtnl_link_set_name(link, name);
	rc = rtnl_link_delete(sk, link);
	if (rc < 0)
		return netlink_fail(err, rc, "delete link %s", name);
	return 0;
}

int netlink_link_get(const char *name, int *ifindex, uint8_t mac[6], int *mtu,
		     struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_rtlink_ struct rtnl_link *link = NULL;
	struct nl_addr *a;
	int rc;

	if (!name_ok(name))
		return err_set(err, EINVAL, "link: invalid name");
	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	rc = rtnl_link_get_kernel(sk, 0, name, &link);
	if (rc < 0)
		return netlink_fail(err, rc, "link %s", name);
	if (ifindex)
		*ifindex = rtnl_link_get_ifindex(link);
	if (mtu)
		*mtu = (int)rtnl_link_get_mtu(link);
	if (mac) {
		a = rtnl_link_get_addr(link);
		if (a && nl_addr_get_len(a) == 6)
			memcpy(mac, nl_addr_get_binary_addr(a), 6);
		else
			memset(mac, 0, 6);
	}
	return 0;
}

int netlink_link_exists_in(const char *netns_path, const char *name, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_close_ int nsfd = -1;
	int rc;

	if (!name_ok(name))
		return err_set(err, EINVAL, "link: invalid name");
	if (netns_path) {
		nsfd = netlink_ns_open(netns_path, err);
		if (nsfd < 0)
			return nsfd;
		rc = netlink_sock_open_ns(nsfd, netns_path, &sk, err);
	} else {
		rc = netlink_sock_open(&sk, err);
	}
	if (rc < 0)
		return rc;
	rc = link_exists(sk, name);
	if (rc < 0)
		return netlink_fail(err, rc, "look up %s in %s", name,
				    netns_path ? netns_path : "own namespace");
	return rc;
}

struct link_entry {
	char name[IFNAMSIZ];
	int ifindex;
};

struct link_list {
	struct link_entry *v;
	size_t n, cap;
	const char *prefix;
	int oom;
};

static void collect_link(struct nl_object *obj, void *arg)
{
	struct rtnl_link *link = (struct rtnl_link *)obj;
	struct link_list *l = arg;
	const char *name = rtnl_link_get_name(link);
	struct link_entry *nv;

	if (!name || strncmp(name, l->prefix, strlen(l->prefix)) != 0 || l->oom)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		nv = realloc(l->v, l->cap * sizeof(*nv));
		if (!nv) {
			l->oom = 1;
			return;
		}
		l->v = nv;
	}
	snprintf(l->v[l->n].name, IFNAMSIZ, "%s", name);
	l->v[l->n].ifindex = rtnl_link_get_ifindex(link);
	l->n++;
}

int netlink_link_foreach_prefix(const char *prefix,
				int (*fn)(const char *name, int ifindex, void *arg), void *arg,
				struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_nlcache_ struct nl_cache *cache = NULL;
	struct link_list l = { .prefix = prefix ? prefix : "" };
	int rc;

	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	rc = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (rc < 0)
		return netlink_fail(err, rc, "list links");
	/* Collect first, call later: fn may delete links. */
	nl_cache_foreach(cache, collect_link, &l);
	if (l.oom) {
		free(l.v);
		return err_set(err, ENOMEM, "list links: %s", strerror(ENOMEM));
	}
	rc = 0;
	for (size_t i = 0; i < l.n && rc >= 0; i++)
		rc = fn(l.v[i].name, l.v[i].ifindex, arg);
	free(l.v);
	return rc < 0 ? rc : 0;
}

/*
 * A sink link that only holds addresses: "dummy", or "ifb" where the
 * kernel has no dummy driver (this project's 6.18 test kernel has ifb
 * and bridge but neither dummy nor macvlan). Both are up with carrier,
 * give their addresses a connected route and drop what is sent to them.
 */
static const char *const sink_kinds[] = { "dummy", "ifb" };

static int sink_kind_ok(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(sink_kinds); i++)
		if (type && strcmp(type, sink_kinds[i]) == 0)
			return 1;
	return 0;
}

int netlink_dummy_ensure(const char *name, int *ifindex, struct shoal_err *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_rtlink_ struct rtnl_link *link = NULL;
	const char *type;
	int rc;

	if (!name_ok(name))
		return err_set(err, EINVAL, "dummy link: invalid name");
	rc = netlink_sock_open(&sk, err);
	if (rc < 0)
		return rc;
	rc = rtnl_link_get_kernel(sk, 0, name, &link);
	for (size_t i = 0; i < ARRAY_SIZE(sink_kinds) &&
			   (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND);
	     i++) {
		_cleanup_rtlink_ struct rtnl_link *req = rtnl_link_alloc();

		if (!req)
			return err_set(err, ENOMEM, "create dummy %s: %s", name, strerror(ENOMEM));
		rtnl_link_set_name(req, name);
		rc = rtnl_link_set_type(req, sink_kinds[i]);
		if (rc == 0)
			rc = rtnl_link_add(sk, req, NLM_F_CREATE | NLM_F_EXCL);
		if (rc == -NLE_OPNOTSUPP) {
			/* kernel lacks this kind: try the next one */
			rc = -NLE_NODEV;
			continue;
		}
		/* Lost a race with another creator: checked below. */
		if (rc < 0 && rc != -NLE_EXIST)
			return netlink_fail(err, rc, "create dummy %s", name);
		if (i > 0)
			log_info("kernel has no dummy links: %s is an %s device", name,
				 sink_kinds[i]);
		rc = rtnl_link_get_kernel(sk, 0, name, &link);
	}
	if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND)
		return err_set(err, EOPNOTSUPP, "create dummy %s: this kernel has neither dummy "
			       "(CONFIG_DUMMY) nor ifb (CONFIG_IFB) links", name);
	if (rc < 0)
		return netlink_fail(err, rc, "link %s", name);
	type = rtnl_link_get_type(link);
	if (!sink_kind_ok(type))
		return err_set(err, EEXIST, "link %s exists and is not a dummy (%s)", name,
			       type ? type : "no kind");
	rc = netlink_link_up(sk, rtnl_link_get_ifindex(link));
	if (rc < 0)
		return netlink_fail(err, rc, "set %s up", name);
	if (ifindex)
		*ifindex = rtnl_link_get_ifindex(link);
	return 0;
}
