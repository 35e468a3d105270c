// SPDX-License-Identifier: Apache-2.0
/*
 * ports.c - published ports: allocate host ports, refuse conflicts as
 * Docker does, and keep the ports map (bpf/lib/nat.h) equal to the
 * bindings of running containers; set up the external interfaces the
 * data path publishes on and masquerades to.
 *
 * Conflicts, as Docker's port allocator sees them: two bindings of one
 * protocol and port collide when their host IPs are equal or either is
 * 0.0.0.0. A binding also fails when the host itself cannot bind that
 * address and port (a host process listens there, or the address is not
 * the host's): Docker's userland proxy would fail the same way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../netlink/netlink.h"
#include "daemon.h"
#include "ports.h"

/* Where the next ephemeral search starts (Docker hands them out in order). */
static uint16_t next_ephemeral = PORTS_EPHEMERAL_MIN;

static const char *proto_str(uint8_t p)
{
	return p == IPPROTO_UDP ? "udp" : "tcp";
}

static void binding_key(const struct port_binding *b, struct shoal_port_key *k)
{
	memset(k, 0, sizeof(*k));
	k->host_ip = b->host_ip;
	k->host_port = htons(b->host_port);
	k->proto = b->proto;
}

static void binding_val(const struct port_binding *b, struct shoal_port_val *v)
{
	memset(v, 0, sizeof(*v));
	v->ctr_ip = b->ctr_ip;
	v->ctr_port = htons(b->ctr_port);
	v->ifindex = (__u32)b->ifindex;
}

static bool overlaps(uint32_t ip_a, uint32_t ip_b)
{
	return ip_a == 0 || ip_b == 0 || ip_a == ip_b;
}

/* A snapshot of the ports map. */
struct port_set {
	struct shoal_port_key *k;
	struct shoal_port_val *v;
	size_t n, cap;
};

static int collect(const struct shoal_port_key *k, const struct shoal_port_val *v, void *arg)
{
	struct port_set *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 32;
		void *nk = realloc(s->k, cap * sizeof(*s->k)), *nv;

		if (!nk)
			return -ENOMEM;
		s->k = nk;
		nv = realloc(s->v, cap * sizeof(*s->v));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->k[s->n] = *k;
	s->v[s->n++] = *v;
	return 0;
}

static void port_set_free(struct port_set *s)
{
	free(s->k);
	free(s->v);
}

static int port_set_load(struct daemon *d, struct port_set *s, struct shoal_err *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	rc = loader_foreach_port(&d->bpf, collect, s, err);
	if (rc == -ENOMEM)
		return err_set(err, ENOMEM, "out of memory");
	return rc;
}

/* Does b collide with a binding in the map that is not b itself? */
static bool taken_in_map(const struct port_set *s, const struct port_binding *b)
{
	struct shoal_port_key k;
	struct shoal_port_val v;

	binding_key(b, &k);
	binding_val(b, &v);
	for (size_t i = 0; i < s->n; i++) {
		if (s->k[i].proto != k.proto || s->k[i].host_port != k.host_port ||
		    !overlaps(s->k[i].host_ip, k.host_ip))
			continue;
		/* The same binding again (a restart of the same container). */
		if (s->k[i].host_ip == k.host_ip && !memcmp(&s->v[i], &v, sizeof(v)))
			continue;
		return true;
	}
	return false;
}

/* Does b collide with b[0..i) of the same request? */
static bool taken_in_batch(const struct port_binding *b, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (b[j].proto == b[i].proto && b[j].host_port == b[i].host_port &&
		    overlaps(b[j].host_ip, b[i].host_ip))
			return true;
	return false;
}

static int host_bind(uint32_t ip, uint16_t port, uint8_t proto, bool reuse, int *fd_out);

/* Could the host bind ip:port? 0, or -errno. */
static int host_bind_probe(uint32_t ip, uint16_t port, uint8_t proto)
{
	int fd, rc = host_bind(ip, port, proto, true, &fd);

	if (rc == 0)
		close(fd);
	return rc;
}

/*
 * Sockets that hold the published ports on the host, as docker-proxy's
 * listeners do: bound, never listening (the data path answers, not us),
 * so a host process that tries to take a published port later gets
 * EADDRINUSE instead of silently never seeing its traffic. Closed on
 * unpublish; re-acquired by ports_sync after a restart.
 */
struct port_hold {
	struct shoal_port_key k;
	int fd;
};
static struct port_hold *holds;
static size_t n_holds, cap_holds;

static struct port_hold *hold_find(const struct shoal_port_key *k)
{
	for (size_t i = 0; i < n_holds; i++)
		if (!memcmp(&holds[i].k, k, sizeof(*k)))
			return &holds[i];
	return NULL;
}

static void hold_drop(const struct shoal_port_key *k)
{
	struct port_hold *h = hold_find(k);

	if (!h)
		return;
	close(h->fd);
	*h = holds[--n_holds];
}

/*
 * Bind a socket on the binding's host address and port; -errno. With
 * reuse (the probe), TIME_WAIT leftovers are no conflict, a listener
 * still is. The hold binds without SO_REUSEADDR: Linux lets two sockets
 * that both set it share a port as long as neither listens, so only a
 * hold without it keeps a later SO_REUSEADDR listener out.
 */
static int host_bind(uint32_t ip, uint16_t port, uint8_t proto, bool reuse, int *fd_out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd;

	sa.sin_addr.s_addr = ip;
	fd = socket(AF_INET, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (reuse && proto == IPPROTO_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

/* Hold b's port unless already held; -errno of bind(2). */
static int hold_acquire(const struct port_binding *b)
{
	struct shoal_port_key k;
	int fd, rc;

	binding_key(b, &k);
	if (hold_find(&k))
		return 0;
	if (n_holds == cap_holds) {
		size_t cap = cap_holds ? 2 * cap_holds : 32;
		struct port_hold *nh = realloc(holds, cap * sizeof(*holds));

		if (!nh)
			return -ENOMEM;
		holds = nh;
		cap_holds = cap;
	}
	rc = host_bind(b->host_ip, b->host_port, b->proto, false, &fd);
	if (rc < 0)
		return rc;
	holds[n_holds].k = k;
	holds[n_holds++].fd = fd;
	return 0;
}

static int bind_error(const struct port_binding *b, int rc, struct shoal_err *err)
{
	char ip[16];

	util_ipv4_str(b->host_ip, ip);
	if (rc == -EADDRINUSE)
		return err_set(err, EADDRINUSE,
			       "Error starting userland proxy: listen %s4 %s:%u: bind: address already in use",
			       proto_str(b->proto), ip, b->host_port);
	return err_set(err, -rc, "Error starting userland proxy: listen %s4 %s:%u: bind: %s",
		       proto_str(b->proto), ip, b->host_port,
		       rc == -EADDRNOTAVAIL ? "cannot assign requested address" : strerror(-rc));
}

/* A free host port for b[i] in the ephemeral range, or -EADDRINUSE. */
static int allocate(const struct port_set *s, struct port_binding *b, size_t i,
		    struct shoal_err *err)
{
	const int span = PORTS_EPHEMERAL_MAX - PORTS_EPHEMERAL_MIN + 1;
	uint16_t start = next_ephemeral;

	if (start < PORTS_EPHEMERAL_MIN || start > PORTS_EPHEMERAL_MAX)
		start = PORTS_EPHEMERAL_MIN;
	for (int n = 0; n < span; n++) {
		uint16_t p = (uint16_t)(PORTS_EPHEMERAL_MIN + (start - PORTS_EPHEMERAL_MIN + n) % span);

		b[i].host_port = p;
		if (taken_in_map(s, &b[i]) || taken_in_batch(b, i) ||
		    host_bind_probe(b[i].host_ip, p, b[i].proto) < 0)
			continue;
		next_ephemeral = (uint16_t)(p + 1);
		return 0;
	}
	b[i].host_port = 0;
	return err_set(err, EADDRINUSE, "no free host port in %d-%d for %s",
		       PORTS_EPHEMERAL_MIN, PORTS_EPHEMERAL_MAX, proto_str(b[i].proto));
}

static int check_binding(const struct st_endpoint *e, struct port_binding *b,
			 struct shoal_err *err)
{
	if (b->proto != IPPROTO_TCP && b->proto != IPPROTO_UDP)
		return err_set(err, EINVAL, "invalid proto %u: expected tcp or udp", b->proto);
	if (!b->ctr_port)
		return err_set(err, EINVAL, "invalid container port 0");
	if (!b->ctr_ip && e)
		b->ctr_ip = e->ip;
	if (!b->ifindex && e && e->host_ifname[0] &&
	    netlink_link_get(e->host_ifname, &b->ifindex, NULL, NULL, NULL) < 0)
		b->ifindex = 0;
	if (!b->ctr_ip || b->ifindex <= 0)
		return err_set(err, EINVAL, "port %u/%s: the container has no local endpoint",
			       b->ctr_port, proto_str(b->proto));
	return 0;
}

static int ext_scan(struct daemon *d, bool startup, int *n_ifs, struct shoal_err *err);

int ports_publish(struct daemon *d, const char *ctr_id, const struct st_endpoint *e,
		  struct port_binding *b, size_t n, struct shoal_err *err)
{
	struct port_set s;
	size_t done = 0;
	uint16_t *given;
	int rc = 0;

	if (!n)
		return 0;
	/* Interfaces or addresses added since start are published on too. */
	{
		struct shoal_err e2 = { 0 };

		if (ext_scan(d, false, NULL, &e2) < 0)
			log_warn("ports: rescan of external interfaces: %s", e2.msg);
	}
	given = calloc(n, sizeof(*given));
	if (!given)
		return err_set(err, ENOMEM, "out of memory");
	rc = port_set_load(d, &s, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		given[i] = b[i].host_port;
		rc = check_binding(e, &b[i], err);
		if (rc < 0)
			goto undo_alloc;
		if (!b[i].host_port) {
			rc = allocate(&s, b, i, err);
			if (rc < 0)
				goto undo_alloc;
			continue;
		}
		if (taken_in_map(&s, &b[i]) || taken_in_batch(b, i)) {
			char ip[16];

			rc = err_set(err, EADDRINUSE,
				     "Bind for %s:%u failed: port is already allocated",
				     util_ipv4_str(b[i].host_ip, ip), b[i].host_port);
			goto undo_alloc;
		}
		{
			struct shoal_port_key k;

			binding_key(&b[i], &k);
			/* Held by us: the same binding again. */
			rc = hold_find(&k) ? 0
					   : host_bind_probe(b[i].host_ip, b[i].host_port, b[i].proto);
		}
		if (rc < 0) {
			rc = bind_error(&b[i], rc, err);
			goto undo_alloc;
		}
	}
	for (; done < n; done++) {
		struct shoal_port_key k;
		struct shoal_port_val v;

		binding_key(&b[done], &k);
		binding_val(&b[done], &v);
		rc = loader_put_port(&d->bpf, &k, &v, err);
		if (rc < 0)
			goto undo_put;
	}
	for (size_t i = 0; i < n; i++) {
		char ip[16], cip[16];

		if (hold_acquire(&b[i]) < 0)
			log_warn("ports: %s:%u/%s is published but could not be held on the host",
				 util_ipv4_str(b[i].host_ip, ip), b[i].host_port, proto_str(b[i].proto));
		log_info("ports: %.12s: %s:%u/%s -> %s:%u", ctr_id ? ctr_id : "?",
			 util_ipv4_str(b[i].host_ip, ip), b[i].host_port, proto_str(b[i].proto),
			 util_ipv4_str(b[i].ctr_ip, cip), b[i].ctr_port);
	}
	rc = 0;
	goto out;
undo_put:
	ports_unpublish(d, b, done);
undo_alloc:
	for (size_t i = 0; i < n; i++)
		b[i].host_port = given[i];
out:
	port_set_free(&s);
	free(given);
	return rc;
}

void ports_unpublish(struct daemon *d, const struct port_binding *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct shoal_port_key k;
		struct shoal_port_val cur, want;

		binding_key(&b[i], &k);
		binding_val(&b[i], &want);
		if (loader_get_port(&d->bpf, &k, &cur) < 0)
			continue;
		/* Only ours: the port may have gone to another container. */
		if (cur.ctr_ip != want.ctr_ip || cur.ctr_port != want.ctr_port)
			continue;
		loader_del_port(&d->bpf, &k, NULL);
		hold_drop(&k);
	}
}

int ports_sync(struct daemon *d, const struct port_binding *all, size_t n, struct shoal_err *err)
{
	struct port_set s;
	int rc, removed = 0;

	rc = port_set_load(d, &s, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < s.n; i++) {
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++) {
			struct shoal_port_key k;

			binding_key(&all[j], &k);
			keep = !memcmp(&k, &s.k[i], sizeof(k));
		}
		if (!keep) {
			loader_del_port(&d->bpf, &s.k[i], NULL);
			removed++;
		}
	}
	port_set_free(&s);
	/* Holds of bindings that are gone. */
	for (size_t i = n_holds; i-- > 0;) {
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++) {
			struct shoal_port_key k;

			binding_key(&all[j], &k);
			keep = !memcmp(&k, &holds[i].k, sizeof(k));
		}
		if (!keep)
			hold_drop(&holds[i].k);
	}
	for (size_t i = 0; i < n; i++) {
		struct shoal_port_key k;
		struct shoal_port_val v;
		int ifx;

		binding_key(&all[i], &k);
		binding_val(&all[i], &v);
		/* Reconcile may have recreated the veth: trust the ifaces map
		 * (just programmed from state) over a recorded ifindex. */
		ifx = loader_find_iface_by_ip(&d->bpf, all[i].ctr_ip);
		if (ifx > 0)
			v.ifindex = (__u32)ifx;
		rc = loader_put_port(&d->bpf, &k, &v, err);
		if (rc < 0)
			return rc;
		if (hold_acquire(&all[i]) < 0) {
			char ip[16];

			log_warn("ports: %s:%u/%s is published but a host process holds it",
				 util_ipv4_str(all[i].host_ip, ip), all[i].host_port,
				 proto_str(all[i].proto));
		}
	}
	log_info("ports: %zu published, %d stale removed", n, removed);
	return 0;
}

/* ---- external interfaces ---- */

static bool is_ours(const struct daemon *d, const char *name)
{
	return !strcmp(name, SHOAL_HOST_DEV) ||
	       !strncmp(name, SHOAL_VETH_PREFIX, strlen(SHOAL_VETH_PREFIX)) ||
	       (d->underlay.ifindex && !strcmp(name, d->underlay.name));
}

/* Is name in the comma-separated list (empty list = every interface)? */
static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	if (!list || !*list)
		return true;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !strncmp(p, name, n))
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

static bool has_ifindex(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static int write_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int rc = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		rc = -EIO;
	if (fclose(f) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* Every interface named in publish-interfaces must exist. */
static int check_publish_interfaces(const char *only, struct shoal_err *err)
{
	for (const char *p = only; p && *p;) {
		char name[IF_NAMESIZE + 1];
		size_t len = strcspn(p, ",");

		if (len == 0 || len > IF_NAMESIZE - 1)
			return err_set(err, EINVAL, "publish-interfaces \"%s\": invalid interface name",
				       only);
		memcpy(name, p, len);
		name[len] = '\0';
		if (!if_nametoindex(name))
			return err_set(err, ENODEV, "publish-interfaces: no interface %s", name);
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/*
 * Make ext_ifaces/host_addrs match the host's interfaces now, attach
 * from_external where needed, sweep what went away. At start-up every
 * filter is (re)attached: the programs were just reloaded. Later scans
 * (ports_publish) only attach interfaces that are new, so addresses and
 * interfaces added after start are published on too.
 */
static int ext_scan(struct daemon *d, bool startup, int *n_ifs, struct shoal_err *err)
{
	const char *only = d->cfg.publish_interfaces;
	bool masq = d->cfg.ip_masq;
	struct ifaddrs *ifa = NULL;
	uint32_t ifs[SHOAL_MAX_EXT_IFACES], addrs[256];
	size_t nifs = 0, naddrs = 0;
	int rc;

	if (getifaddrs(&ifa) < 0)
		return err_set(err, errno, "list interfaces: %s", strerror(errno));
	for (struct ifaddrs *a = ifa; a; a = a->ifa_next) {
		struct shoal_ext_val v = { .flags = masq ? SHOAL_EXT_MASQUERADE : 0 }, cur;
		unsigned int ifindex;
		bool underlay, known;
		char ip[16];

		if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK))
			continue;
		underlay = d->underlay.ifindex && !strcmp(a->ifa_name, d->underlay.name);
		if ((!underlay && is_ours(d, a->ifa_name)) || !listed(only, a->ifa_name))
			continue;
		ifindex = if_nametoindex(a->ifa_name);
		if (!ifindex)
			continue;
		v.addr = ((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr;
		if (naddrs == sizeof(addrs) / sizeof(addrs[0])) {
			log_warn("ports: more than %zu host addresses; %s ignored", naddrs,
				 util_ipv4_str(v.addr, ip));
			continue;
		}
		rc = loader_put_host_addr(&d->bpf, v.addr, ifindex, err);
		if (rc < 0)
			goto out;
		addrs[naddrs++] = v.addr;
		/* The first address of an interface is its masquerade source. */
		if (has_ifindex(ifs, nifs, ifindex))
			continue;
		if (nifs == SHOAL_MAX_EXT_IFACES) {
			log_warn("ports: more than %d external interfaces; %s ignored",
				 SHOAL_MAX_EXT_IFACES, a->ifa_name);
			continue;
		}
		ifs[nifs++] = ifindex;
		known = loader_get_ext(&d->bpf, ifindex, &cur) == 0 && !memcmp(&cur, &v, sizeof(v));
		if (known && !startup)
			continue;
		rc = loader_put_ext_iface(&d->bpf, ifindex, &v, err);
		if (rc < 0)
			goto out;
		/* The underlay's ingress runs from_underlay, which does NAT too. */
		if (!underlay) {
			rc = loader_attach_external(&d->bpf, (int)ifindex, err);
			if (rc < 0)
				goto out;
		}
		log_info("ports: publishing on %s (ifindex %u, %s)%s", a->ifa_name, ifindex,
			 util_ipv4_str(v.addr, ip), masq ? ", masquerading to it" : "");
	}
	/* Interfaces and addresses that are not external any more. */
	rc = loader_sweep_ext(&d->bpf, ifs, nifs, addrs, naddrs, err);
	if (n_ifs)
		*n_ifs = (int)nifs;
out:
	freeifaddrs(ifa);
	return rc;
}

int ports_setup_external(struct daemon *d, struct shoal_err *err)
{
	bool masq = d->cfg.ip_masq;
	struct shoal_node_cfg cfg;
	int rc, n_ifs = 0;

	rc = check_publish_interfaces(d->cfg.publish_interfaces, err);
	if (rc < 0)
		return rc;
	rc = ext_scan(d, true, &n_ifs, err);
	if (rc < 0)
		return rc;
	rc = loader_get_node_cfg(&d->bpf, &cfg, err);
	if (rc < 0)
		return rc;
	if (masq)
		cfg.flags |= SHOAL_CFG_MASQUERADE;
	else
		cfg.flags &= (__u16)~SHOAL_CFG_MASQUERADE;
	rc = loader_set_node_cfg(&d->bpf, &cfg, err);
	if (rc < 0)
		return rc;
	/* The host's own clients (127.0.0.1:PORT, host IP:PORT). */
	{
		struct shoal_err e2 = { 0 };

		if (loader_attach_sock(&d->bpf, &e2) < 0)
			log_warn("ports: published ports unreachable from the host itself: %s",
				 e2.msg);
	}
	/* Masquerade forwards containers' traffic: Docker's --ip-forward. */
	if (masq && write_sysctl("/proc/sys/net/ipv4/ip_forward", "1") < 0)
		log_warn("ports: cannot enable net.ipv4.ip_forward: masquerade needs it");
	log_info("ports: %d external interface(s)", n_ifs);
	return 0;
}
