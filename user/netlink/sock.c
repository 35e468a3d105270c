// SPDX-License-Identifier: Apache-2.0
/*
 * sock.c - route sockets, in this namespace or another one, and the
 * translation of libnl's -NLE_* codes to -errno.
 *
 * A netlink socket stays bound to the namespace it was created in, so to
 * talk to another namespace we enter it with setns() only for socket()
 * and return at once. setns(CLONE_NEWNET) changes the calling thread
 * only, which keeps this safe in a multithreaded daemon as long as the
 * thread always gets back: every path below restores it, and if even
 * that fails we abort rather than let a thread run on in the wrong
 * namespace (it would create links and routes in a container).
 */
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <netlink/errno.h>

#include "../common/log.h"
#include "../common/util.h"
#include "internal.h"

int netlink_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_EXIST:
		return EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return ENODEV;
	case NLE_PERM:
		return EPERM;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_INVAL:
		return EINVAL;
	case NLE_NOADDR:
		return EADDRNOTAVAIL;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_BUSY:
		return EBUSY;
	case NLE_RANGE:
		return ERANGE;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	default:
		return EIO;
	}
}

int netlink_fail(struct shoal_err *err, int nlerr, const char *fmt, ...)
{
	int code = netlink_errno(nlerr);
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (code == EIO)
		return err_set(err, code, "%s: %s (libnl: %s)", what, strerror(code),
			       nl_geterror(nlerr));
	return err_set(err, code, "%s: %s", what, strerror(code));
}

static int sock_connect(struct nl_sock **out, struct shoal_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc;

	if (!sk)
		return err_set(err, ENOMEM, "netlink socket: %s", strerror(ENOMEM));
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		nl_socket_free(sk);
		return netlink_fail(err, rc, "netlink socket");
	}
	*out = sk;
	return 0;
}

int netlink_sock_open(struct nl_sock **out, struct shoal_err *err)
{
	return sock_connect(out, err);
}

int netlink_ns_open(const char *path, struct shoal_err *err)
{
	int fd;

	if (!path || !*path)
		return err_set(err, EINVAL, "network namespace: empty path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "network namespace %s: %s", path, strerror(errno));
	return fd;
}

int netlink_sock_open_ns(int nsfd, const char *path, struct nl_sock **out,
			 struct shoal_err *err)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc;

	if (self < 0)
		return err_set(err, errno, "open /proc/thread-self/ns/net: %s", strerror(errno));
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return err_set(err, errno, "enter network namespace %s: %s", path,
			       strerror(errno));
	rc = sock_connect(out, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		log_error("cannot return to own network namespace after entering %s: %s",
			  path, strerror(errno));
		abort();
	}
	if (rc < 0)
		return err_wrap(err, "in network namespace %s", path);
	return 0;
}

int netlink_ifindex(struct nl_sock *sk, const char *name, int *ifindex)
{
	_cleanup_rtlink_ struct rtnl_link *link = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, &link);

	if (rc < 0)
		return rc;
	*ifindex = rtnl_link_get_ifindex(link);
	return 0;
}

int netlink_link_up(struct nl_sock *sk, int ifindex)
{
	_cleanup_rtlink_ struct rtnl_link *orig = NULL;
	_cleanup_rtlink_ struct rtnl_link *chg = NULL;
	int rc;

	rc = rtnl_link_get_kernel(sk, ifindex, NULL, &orig);
	if (rc < 0)
		return rc;
	if (rtnl_link_get_flags(orig) & IFF_UP)
		return 0;
	chg = rtnl_link_alloc();
	if (!chg)
		return -NLE_NOMEM;
	rtnl_link_set_flags(chg, IFF_UP);
	return rtnl_link_change(sk, orig, chg, 0);
}

struct nl_addr *netlink_addr4(uint32_t ip, uint8_t prefix)
{
	struct nl_addr *a = nl_addr_build(AF_INET, &ip, sizeof(ip));

	if (a)
		nl_addr_set_prefixlen(a, prefix);
	return a;
}
