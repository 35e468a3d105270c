/* SPDX-License-Identifier: Apache-2.0 */
/*
 * internal.h - what the files of user/netlink share and nobody else needs:
 * route sockets (in the caller's namespace or in another one), libnl
 * error translation and cleanup attributes for libnl objects.
 *
 * Every call opens its own socket instead of sharing one: libnl sockets
 * are not safe to use from two threads at once, and the cost (one
 * socket() + bind()) is small next to the link changes we make.
 */
#ifndef SHOAL_NETLINK_INTERNAL_H
#define SHOAL_NETLINK_INTERNAL_H

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "../common/err.h"

/* Open a NETLINK_ROUTE socket in the calling thread's namespace. */
int netlink_sock_open(struct nl_sock **out, struct shoal_err *err);

/* Open the namespace file at path (O_RDONLY|O_CLOEXEC). -ENOENT with
 * "network namespace PATH: ..." if it is missing. Returns the fd. */
int netlink_ns_open(const char *path, struct shoal_err *err);

/* Open a NETLINK_ROUTE socket inside the namespace nsfd (path is only
 * for messages). The thread enters the namespace just for the socket()
 * call and is always back in its own namespace when this returns. */
int netlink_sock_open_ns(int nsfd, const char *path, struct nl_sock **out,
			 struct shoal_err *err);

/* -NLE_* (or NLE_*) -> positive errno. */
int netlink_errno(int nlerr);

/* err_set() for a libnl failure: "<what>: <strerror>", with libnl's own
 * text appended when the errno is the catch-all EIO. Returns -errno. */
int netlink_fail(struct shoal_err *err, int nlerr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ifindex of a link by name in sk's namespace; -ENODEV if missing. */
int netlink_ifindex(struct nl_sock *sk, const char *name, int *ifindex);

/* Set IFF_UP on the link with this ifindex (sk's namespace). -NLE_*. */
int netlink_link_up(struct nl_sock *sk, int ifindex);

/* An AF_INET nl_addr for ip (NBO) with the given prefix; NULL on ENOMEM. */
struct nl_addr *netlink_addr4(uint32_t ip, uint8_t prefix);

static inline void netlink_sock_freep(struct nl_sock **p)
{
	if (*p)
		nl_socket_free(*p);
}

static inline void netlink_link_putp(struct rtnl_link **p)
{
	if (*p)
		rtnl_link_put(*p);
}

static inline void netlink_nladdr_putp(struct nl_addr **p)
{
	if (*p)
		nl_addr_put(*p);
}

static inline void netlink_rtaddr_putp(struct rtnl_addr **p)
{
	if (*p)
		rtnl_addr_put(*p);
}

static inline void netlink_route_putp(struct rtnl_route **p)
{
	if (*p)
		rtnl_route_put(*p);
}

static inline void netlink_cache_freep(struct nl_cache **p)
{
	if (*p)
		nl_cache_free(*p);
}

#define _cleanup_nlsock_ __attribute__((cleanup(netlink_sock_freep)))
#define _cleanup_rtlink_ __attribute__((cleanup(netlink_link_putp)))
#define _cleanup_nladdr_ __attribute__((cleanup(netlink_nladdr_putp)))
#define _cleanup_rtaddr_ __attribute__((cleanup(netlink_rtaddr_putp)))
#define _cleanup_rtroute_ __attribute__((cleanup(netlink_route_putp)))
#define _cleanup_nlcache_ __attribute__((cleanup(netlink_cache_freep)))

#endif
