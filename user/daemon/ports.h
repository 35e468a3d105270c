/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ports.h - published ports (docker run -p HOSTPORT:PORT[/udp], -P): the
 * control-plane half. The data path (bpf/lib/nat.h) DNATs packets that
 * arrive on the host's external interfaces for {host IP|any, proto, host
 * port} to the container, and reverses the replies; this module keeps the
 * ports map equal to the bindings of running containers.
 *
 * State lives with the container (its HostConfig.PortBindings and the
 * host ports actually allocated): the map is a cache of it. At start the
 * container code calls ports_sync() with every running container's
 * bindings; start/stop call ports_publish()/ports_unpublish().
 */
#ifndef SHOAL_DAEMON_PORTS_H
#define SHOAL_DAEMON_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../state/state.h"

struct daemon;

/* Docker's default ephemeral range for -P / "-p :80" (host port 0). */
#define PORTS_EPHEMERAL_MIN 32768
#define PORTS_EPHEMERAL_MAX 60999

struct port_binding {
	uint32_t host_ip;   /* NBO, 0 = any */
	uint16_t host_port; /* host order; 0 = allocate (filled in by ports_publish) */
	uint16_t ctr_port;  /* host order */
	uint8_t proto;      /* IPPROTO_TCP | IPPROTO_UDP */
	uint32_t ctr_ip;    /* NBO */
	int ifindex;        /* host end of the container veth */
};

/*
 * Program the bindings of one container. A binding with host_port 0 gets
 * a free port (32768-60999, like Docker's ephemeral range) written back
 * into b[i].host_port. A port bound by another container: -EADDRINUSE
 * with Docker's message "Bind for 0.0.0.0:8080 failed: port is already
 * allocated"; a port a host process listens on, or a host_ip that is not
 * the host's: the error Docker's proxy gives; in every error case nothing
 * is programmed. Called with d->lock held.
 */
int ports_publish(struct daemon *d, const char *ctr_id, const struct st_endpoint *e,
		  struct port_binding *b, size_t n, struct shoal_err *err);
/* Remove these bindings (those still pointing at the same container). */
void ports_unpublish(struct daemon *d, const struct port_binding *b, size_t n);
/* At start-up: make the maps hold exactly these bindings (of all running
 * containers). Bindings must have their host_port set. */
int ports_sync(struct daemon *d, const struct port_binding *all, size_t n, struct shoal_err *err);

/*
 * The data path's external side, at start (after the underlay is set up):
 * attach from_external on every interface with an IPv4 address except lo,
 * shoal's own (shoal0, shl*) and the underlay (its from_underlay does the
 * same), record their addresses (host_addrs) and, with masquerade on,
 * enable IPv4 forwarding as Docker does. d->cfg.publish_interfaces, when
 * set, restricts the list. ports_publish() rescans, so interfaces and
 * addresses added later are published on from the next publish on.
 */
int ports_setup_external(struct daemon *d, struct shoal_err *err);

#endif
