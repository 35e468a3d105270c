// SPDX-License-Identifier: Apache-2.0
/*
 * test_bpf.c - BPF_PROG_TEST_RUN unit tests of bpf/shoal.bpf.c: crafted
 * frames through from_container, to_container and from_underlay, asserting
 * the return code, the output bytes and the counters. Runs as root; loads
 * its own unpinned copy of every map (harness.c), so it neither needs nor
 * disturbs a running daemon.
 *
 * Under BPF_PROG_TEST_RUN nothing is really redirected: the helpers
 * record the target and return TC_ACT_REDIRECT, which is what is
 * asserted. ctx->ifindex is the device BPF_PROG_TEST_RUN attaches the
 * skb to; only lo (ifindex 1) is guaranteed to exist, so "the container
 * veth the program runs on" is ifindex 1 in every test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "shoal.skel.h"
#include "harness.h"
#include "../tap.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86dd

#define IFX 1 /* ctx->ifindex of every run: lo */

/* The local network: id 1, 10.1.0.0/24, gateway .1. */
#define NET_L 1
/* The overlay network: VNI 5000, 10.2.0.0/24, gateway .1. */
#define VNI 5000

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t ZERO6[6] = { 0 };
static const uint8_t HOST_MAC[6] = { 0x02, 0x5b, 0x00, 0x00, 0x00, 0xfe };
static const uint8_t MAC_A[6] = { 0x02, 0x42, 0x0a, 0x01, 0x00, 0x02 }; /* src, 10.1.0.2 */
static const uint8_t MAC_B[6] = { 0x02, 0x42, 0x0a, 0x01, 0x00, 0x03 }; /* local, 10.1.0.3 */
static const uint8_t MAC_D[6] = { 0x02, 0x42, 0x0a, 0x02, 0x00, 0x02 }; /* overlay src, 10.2.0.2 */
static const uint8_t MAC_C[6] = { 0x02, 0x42, 0x0a, 0x02, 0x00, 0x05 }; /* overlay local, 10.2.0.5 */
static const uint8_t MAC_R[6] = { 0x02, 0x42, 0x0a, 0x02, 0x00, 0x09 }; /* overlay remote, 10.2.0.9 */
static const uint8_t UL_MAC[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 }; /* this node's underlay */
static const uint8_t PEER_MAC[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 }; /* the peer node's */

enum { EP_A = 11, EP_B = 12, EP_D = 21, EP_C = 23 };
enum { IFX_B = 42, IFX_C = 43, IFX_UNDERLAY = 7 };

static struct shoal_node_cfg cfg_default(void)
{
	struct shoal_node_cfg c = {
		.underlay_ifindex = IFX_UNDERLAY,
		.node_ip = hx_ip("192.168.1.1"),
		.vxlan_port = htons(SHOAL_VXLAN_PORT),
		.flags = SHOAL_CFG_ACCOUNTING,
	};

	memcpy(c.underlay_mac, UL_MAC, 6);
	return c;
}

/*
 * Fresh maps: node config, both networks, endpoints A, B (local network)
 * and D (overlay, the sender of encap tests), C (overlay, local), R
 * (overlay, remote), and their ep_stats entries. The veth under test
 * (IFX) is A's unless overlay_src, then D's.
 */
static bool setup(bool overlay_src)
{
	struct shoal_node_cfg cfg = cfg_default();
	struct shoal_net_val nl = { .subnet = hx_ip("10.1.0.0"), .mask = hx_ip("255.255.255.0"),
				    .gateway = hx_ip("10.1.0.1"), .mtu = 1500 };
	struct shoal_net_val no = { .subnet = hx_ip("10.2.0.0"), .mask = hx_ip("255.255.255.0"),
				    .gateway = hx_ip("10.2.0.1"), .vni = VNI, .mtu = 1450,
				    .flags = SHOAL_NET_OVERLAY };
	struct shoal_iface_val ia = { .net_id = NET_L, .ep_id = EP_A, .ip = hx_ip("10.1.0.2") };
	struct shoal_iface_val id = { .net_id = VNI, .ep_id = EP_D, .ip = hx_ip("10.2.0.2") };
	struct shoal_ep_val a = { .ifindex = IFX, .ep_id = EP_A, .flags = SHOAL_EP_LOCAL };
	struct shoal_ep_val b = { .ifindex = IFX_B, .ep_id = EP_B, .flags = SHOAL_EP_LOCAL };
	struct shoal_ep_val d = { .ifindex = IFX, .ep_id = EP_D, .flags = SHOAL_EP_LOCAL };
	struct shoal_ep_val c = { .ifindex = IFX_C, .ep_id = EP_C, .flags = SHOAL_EP_LOCAL };
	struct shoal_ep_val r = { .node_ip = hx_ip("192.168.1.2"), .flags = SHOAL_EP_REMOTE };
	int err = hx_reset();

	memcpy(ia.mac, MAC_A, 6);
	memcpy(ia.host_mac, HOST_MAC, 6);
	memcpy(id.mac, MAC_D, 6);
	memcpy(id.host_mac, HOST_MAC, 6);
	memcpy(a.mac, MAC_A, 6);
	memcpy(b.mac, MAC_B, 6);
	memcpy(d.mac, MAC_D, 6);
	memcpy(c.mac, MAC_C, 6);
	memcpy(r.mac, MAC_R, 6);

	err = err ?: hx_set_cfg(&cfg);
	err = err ?: hx_set_net(NET_L, &nl);
	err = err ?: hx_set_net(VNI, &no);
	err = err ?: hx_set_iface(IFX, overlay_src ? &id : &ia);
	err = err ?: hx_set_ep(NET_L, hx_ip("10.1.0.2"), &a);
	err = err ?: hx_set_ep(NET_L, hx_ip("10.1.0.3"), &b);
	err = err ?: hx_set_ep(VNI, hx_ip("10.2.0.2"), &d);
	err = err ?: hx_set_ep(VNI, hx_ip("10.2.0.5"), &c);
	err = err ?: hx_set_ep(VNI, hx_ip("10.2.0.9"), &r);
	for (uint32_t ep = EP_A; !err && ep <= EP_C; ep++)
		err = hx_add_stats(ep);
	CHECK_EQ(err, 0, "map setup");
	return err == 0;
}

static struct shoal_ep_stats ep(uint32_t id)
{
	struct shoal_ep_stats s;

	CHECK_EQ(hx_ep_stats(id, &s), 0, "ep_stats lookup");
	return s;
}

static struct shoal_node_stats node(void)
{
	struct shoal_node_stats s;

	CHECK_EQ(hx_node_stats(&s), 0, "node_stats lookup");
	return s;
}

static uint64_t drops_total(const __u64 *d)
{
	uint64_t n = 0;

	for (int i = 0; i < SHOAL_DROP_MAX; i++)
		n += d[i];
	return n;
}

static const uint8_t PAYLOAD[10] = "0123456789";

/* eth + IPv4 + UDP(1000 -> 2000) + 10 payload bytes: 52 bytes. */
static size_t frame_udp(uint8_t *p, const uint8_t dst[6], const uint8_t src[6],
			const char *saddr, const char *daddr, uint16_t dport)
{
	size_t n = hx_eth(p, dst, src, ETH_P_IP);

	n += hx_ipv4(p + n, hx_ip(saddr), hx_ip(daddr), 17, 8 + sizeof(PAYLOAD));
	n += hx_udp(p + n, 1000, dport, sizeof(PAYLOAD));
	memcpy(p + n, PAYLOAD, sizeof(PAYLOAD));
	return n + sizeof(PAYLOAD);
}

static size_t frame_arp_req(uint8_t *p, const char *tip)
{
	size_t n = hx_eth(p, BCAST, MAC_A, ETH_P_ARP);

	return n + hx_arp(p + n, 1, MAC_A, hx_ip("10.1.0.2"), ZERO6, hx_ip(tip));
}

/* A frame as the peer node's kernel sends it: VXLAN to 192.168.1.1. */
static size_t frame_vxlan(uint8_t *p, uint8_t flags, uint32_t vni, const uint8_t *inner,
			  size_t inner_len)
{
	size_t n = hx_eth(p, UL_MAC, PEER_MAC, ETH_P_IP);

	n += hx_ipv4(p + n, hx_ip("192.168.1.2"), hx_ip("192.168.1.1"), 17, 16 + inner_len);
	n += hx_udp(p + n, 50000, SHOAL_VXLAN_PORT, 8 + inner_len);
	n += hx_vxlan(p + n, flags, vni);
	memcpy(p + n, inner, inner_len);
	return n + inner_len;
}

static struct hx_run run_fc(const void *in, size_t len, void *out, size_t cap)
{
	return hx_run(hx_skel->progs.from_container, in, len, IFX, out, cap);
}

static struct hx_run run_ul(const void *in, size_t len, void *out, size_t cap)
{
	return hx_run(hx_skel->progs.from_underlay, in, len, IFX, out, cap);
}

/* nodes map: the learnt MAC of a peer node (NBO key). */
static int node_get(const char *ip, struct shoal_node_val *v)
{
	__u32 k = hx_ip(ip);

	return bpf_map__lookup_elem(hx_skel->maps.nodes, &k, sizeof(k), v, sizeof(*v), 0) ? -errno
											     : 0;
}

static int node_put(const char *ip, const uint8_t mac[6], uint64_t updated_ns)
{
	struct shoal_node_val v = { .updated_ns = updated_ns };
	__u32 k = hx_ip(ip);

	memcpy(v.mac, mac, 6);
	return bpf_map__update_elem(hx_skel->maps.nodes, &k, sizeof(k), &v, sizeof(v), BPF_ANY);
}

static size_t node_count(void)
{
	__u32 k, next;
	size_t n = 0;
	int fd = bpf_map__fd(hx_skel->maps.nodes);

	for (int rc = bpf_map_get_next_key(fd, NULL, &next); rc == 0;
	     rc = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		n++;
	}
	return n;
}

/* bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC_COARSE. */
static uint64_t mono_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- ARP */

TEST(arp_request_for_endpoint_is_answered)
{
	uint8_t in[64], out[128], exp[64];
	size_t n, e;
	struct hx_run r;

	if (!setup(false))
		return;
	n = frame_arp_req(in, "10.1.0.3");
	/* The reply, built by hand: "10.1.0.3 is at MAC_B", to A. */
	e = hx_eth(exp, MAC_A, MAC_B, ETH_P_ARP);
	e += hx_arp(exp + e, 2, MAC_B, hx_ip("10.1.0.3"), MAC_A, hx_ip("10.1.0.2"));

	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "reply redirected back");
	CHECK_EQ(r.out_len, e, "reply length");
	CHECK_MEM(out, exp, e, "ARP reply bytes");
	CHECK_EQ(ep(EP_A).tx_packets, 1, "request counted as tx");
	CHECK_EQ(ep(EP_A).tx_bytes, n, "tx bytes");
	CHECK_EQ(ep(EP_A).rx_packets, 0, "reply not rx here (to_container counts it)");
	CHECK_EQ(drops_total(ep(EP_A).drops), 0, "no drop");
}

TEST(arp_request_for_gateway_gets_host_mac)
{
	uint8_t in[64], out[128], exp[64];
	size_t n, e;
	struct hx_run r;

	if (!setup(false))
		return;
	n = frame_arp_req(in, "10.1.0.1");
	e = hx_eth(exp, MAC_A, HOST_MAC, ETH_P_ARP);
	e += hx_arp(exp + e, 2, HOST_MAC, hx_ip("10.1.0.1"), MAC_A, hx_ip("10.1.0.2"));

	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "reply redirected back");
	CHECK_EQ(r.out_len, e, "reply length");
	CHECK_MEM(out, exp, e, "ARP reply bytes");
}

TEST(arp_request_for_remote_endpoint_is_answered)
{
	uint8_t in[64], out[128], exp[64];
	size_t n = 0, e;
	struct hx_run r;

	if (!setup(true))
		return;
	n = hx_eth(in, BCAST, MAC_D, ETH_P_ARP);
	n += hx_arp(in + n, 1, MAC_D, hx_ip("10.2.0.2"), ZERO6, hx_ip("10.2.0.9"));
	e = hx_eth(exp, MAC_D, MAC_R, ETH_P_ARP);
	e += hx_arp(exp + e, 2, MAC_R, hx_ip("10.2.0.9"), MAC_D, hx_ip("10.2.0.2"));

	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "reply redirected back");
	CHECK_EQ(r.out_len, e, "reply length");
	CHECK_MEM(out, exp, e, "ARP reply bytes");
}

TEST(arp_request_for_unknown_ip_is_dropped)
{
	uint8_t in[64], out[128];
	size_t n;
	struct hx_run r;

	if (!setup(false))
		return;
	n = frame_arp_req(in, "10.1.0.77");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_SHOT, "no flooding: dropped");
	CHECK_EQ(ep(EP_A).drops[SHOAL_DROP_NO_ENDPOINT], 1, "drops[no_endpoint]");
	CHECK_EQ(drops_total(ep(EP_A).drops), 1, "one drop in total");
	CHECK_EQ(ep(EP_A).tx_packets, 1, "dropped frame still counted as tx");
	CHECK_EQ(drops_total(node().drops), 0, "nothing on node_stats");
}

TEST(arp_reply_and_announcement_go_to_host)
{
	uint8_t in[64], out[128];
	size_t n;
	struct hx_run r;

	if (!setup(false))
		return;
	/* The container answering the host's request for 10.1.0.2. */
	n = hx_eth(in, HOST_MAC, MAC_A, ETH_P_ARP);
	n += hx_arp(in + n, 2, MAC_A, hx_ip("10.1.0.2"), HOST_MAC, hx_ip("10.1.0.1"));
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "ARP reply to the host stack");
	CHECK_EQ(r.out_len, n, "length unchanged");
	CHECK_MEM(out, in, n, "untouched");

	/* Gratuitous ARP / probe for its own address: must not be answered. */
	n = hx_eth(in, BCAST, MAC_A, ETH_P_ARP);
	n += hx_arp(in + n, 1, MAC_A, hx_ip("10.1.0.2"), ZERO6, hx_ip("10.1.0.2"));
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "announcement to the host stack");
	CHECK_MEM(out, in, n, "untouched");
	CHECK_EQ(drops_total(ep(EP_A).drops), 0, "no drop");
	CHECK_EQ(ep(EP_A).tx_packets, 2, "both counted as tx");
}

/* --------------------------------------------------------------- IPv4 */

TEST(ipv4_to_local_endpoint_redirects_to_peer)
{
	uint8_t in[128], out[256];
	size_t n;
	struct hx_run r;
	struct shoal_ep_stats a, b;

	if (!setup(false))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_peer");
	CHECK_EQ(r.out_len, n, "length unchanged");
	CHECK_MEM(out, in, n, "frame delivered unchanged");
	a = ep(EP_A);
	b = ep(EP_B);
	CHECK_EQ(a.tx_packets, 1, "source tx packets");
	CHECK_EQ(a.tx_bytes, n, "source tx bytes");
	CHECK_EQ(a.rx_packets, 0, "source rx packets");
	CHECK_EQ(b.rx_packets, 1, "destination rx packets");
	CHECK_EQ(b.rx_bytes, n, "destination rx bytes");
	CHECK_EQ(b.tx_packets, 0, "destination tx packets");
	CHECK_EQ(drops_total(a.drops) + drops_total(b.drops), 0, "no drops");
}

/* Short frames padded to Ethernet's 60-byte minimum: tot_len < frame. */
TEST(ipv4_with_ethernet_padding_is_forwarded)
{
	uint8_t in[128], out[256];
	struct hx_run r;
	size_t n;

	if (!setup(false))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	memset(in + n, 0, 60 - n); /* 52 -> 60 */
	n = 60;
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "padded frame forwarded");
	CHECK_MEM(out, in, n, "unchanged");
	CHECK_EQ(ep(EP_B).rx_bytes, n, "rx bytes = frame length, padding included");
}

TEST(ipv4_to_unknown_address_in_subnet_is_dropped)
{
	uint8_t in[128], out[256];
	size_t n;
	struct hx_run r;

	if (!setup(false))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.50", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "dropped");
	CHECK_EQ(ep(EP_A).drops[SHOAL_DROP_NO_ENDPOINT], 1, "drops[no_endpoint]");
	CHECK_EQ(ep(EP_A).tx_packets, 1, "tx counted");
	CHECK_EQ(ep(EP_A).tx_bytes, n, "tx bytes counted");
}

TEST(ipv4_to_gateway_or_outside_goes_to_host)
{
	/* the host's side of the own network, the world, another network's
	 * gateway (an address of the host), multicast */
	static const char *const dsts[] = { "10.1.0.1", "8.8.8.8", "10.2.0.1", "224.0.0.1" };
	uint8_t in[128], out[256];
	struct hx_run r;
	size_t n;

	if (!setup(false))
		return;
	for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		n = frame_udp(in, HOST_MAC, MAC_A, "10.1.0.2", dsts[i], 2000);
		r = run_fc(in, n, out, sizeof(out));
		CHECK_EQ(r.retval, TC_ACT_OK, dsts[i]);
		CHECK_EQ(r.out_len, n, "length unchanged");
		CHECK_MEM(out, in, n, "untouched");
	}
	CHECK_EQ(ep(EP_A).tx_packets, 4, "all counted as tx");
	CHECK_EQ(drops_total(ep(EP_A).drops), 0, "no drops");
	CHECK_EQ(ep(EP_B).rx_packets, 0, "nothing delivered to B");
}

TEST(ipv4_to_another_network_is_dropped)
{
	/* another network's endpoint, its free address and its broadcast:
	 * none is the sender's business (Docker's network isolation) */
	static const char *const dsts[] = { "10.2.0.5", "10.2.0.77", "10.2.0.255" };
	uint8_t in[128], out[256];
	struct hx_run r;
	size_t n;

	if (!setup(false))
		return;
	for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		n = frame_udp(in, HOST_MAC, MAC_A, "10.1.0.2", dsts[i], 2000);
		r = run_fc(in, n, out, sizeof(out));
		CHECK_EQ(r.retval, TC_ACT_SHOT, dsts[i]);
	}
	CHECK_EQ(ep(EP_A).drops[SHOAL_DROP_NET_ISOLATED], 3, "drops[net_isolated]");
	CHECK_EQ(drops_total(ep(EP_A).drops), 3, "no other drop");
	CHECK_EQ(ep(EP_C).rx_packets, 0, "nothing delivered to the other network");
	/* once that network is gone from the trie, its range is the world's */
	{
		struct shoal_subnet_key k = { .prefixlen = 24, .addr = hx_ip("10.2.0.0") };

		CHECK_EQ(bpf_map_delete_elem(bpf_map__fd(hx_skel->maps.subnets), &k), 0, "delete");
	}
	n = frame_udp(in, HOST_MAC, MAC_A, "10.1.0.2", "10.2.0.5", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "routed to the host");
}

TEST(ipv6_and_other_ethertypes_go_to_host)
{
	uint8_t in[128], out[256];
	size_t n;
	struct hx_run r;

	if (!setup(false))
		return;
	n = hx_eth(in, BCAST, MAC_A, ETH_P_IPV6);
	memset(in + n, 0x60, 40);
	n += 40;
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "IPv6 to the host stack");
	CHECK_MEM(out, in, n, "untouched");
	CHECK_EQ(ep(EP_A).tx_packets, 1, "tx counted");
	CHECK_EQ(drops_total(ep(EP_A).drops), 0, "no drops");
}

TEST(spoofed_source_is_dropped)
{
	uint8_t in[128], out[256];
	size_t n;
	struct hx_run r;

	if (!setup(false))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.3", "10.1.0.3", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "B's address from A's veth");
	n = frame_udp(in, HOST_MAC, MAC_A, "0.0.0.0", "8.8.8.8", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "0.0.0.0 source");
	CHECK_EQ(ep(EP_A).drops[SHOAL_DROP_NOT_ALLOWED], 2, "drops[not_allowed]");
	CHECK_EQ(ep(EP_B).rx_packets, 0, "nothing delivered");
}

TEST(unknown_interface_is_dropped_on_node)
{
	uint8_t in[128], out[256];
	size_t n;
	struct hx_run r;
	__u32 k = IFX;

	if (!setup(false))
		return;
	CHECK_EQ(bpf_map_delete_elem(bpf_map__fd(hx_skel->maps.ifaces), &k), 0, "delete iface");
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "dropped");
	CHECK_EQ(node().drops[SHOAL_DROP_UNKNOWN_NETWORK], 1, "node drops[unknown_network]");
	CHECK_EQ(ep(EP_A).tx_packets, 0, "no endpoint charged");
}

TEST(unknown_network_is_dropped)
{
	uint8_t in[128], out[256];
	size_t n;
	struct hx_run r;
	__u32 k = NET_L;

	if (!setup(false))
		return;
	CHECK_EQ(bpf_map_delete_elem(bpf_map__fd(hx_skel->maps.networks), &k), 0, "delete net");
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "IPv4 dropped");
	n = frame_arp_req(in, "10.1.0.3");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "ARP dropped");
	CHECK_EQ(ep(EP_A).drops[SHOAL_DROP_UNKNOWN_NETWORK], 2, "drops[unknown_network]");
}

/*
 * What BPF_PROG_TEST_RUN (6.18) lets through: nothing shorter than an
 * Ethernet header, and for ethertype IPv4 (IPv6) nothing shorter than
 * 14 + 20 (14 + 40) bytes -- it refuses those with -EINVAL before the
 * program runs. The real stack can hand tc such frames (AF_PACKET in the
 * container), so the program checks every bound anyway (the verifier
 * proves it cannot read past the end); here we assert the kernel's
 * refusal and exercise every case it does let through.
 */
TEST(truncated_and_malformed_frames_are_dropped)
{
	uint8_t in[128], out[256];
	struct hx_run r;
	size_t n;
	int malformed = 0;

	if (!setup(false))
		return;
	memset(in, 0, sizeof(in));
	for (size_t len = 0; len < 14; len++) {
		r = run_fc(in, len, out, sizeof(out));
		CHECK_EQ(r.err, -EINVAL, "kernel refuses frames shorter than 14 bytes");
	}
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	for (size_t len = 14; len < 34; len++) {
		r = run_fc(in, len, out, sizeof(out));
		CHECK_EQ(r.err, -EINVAL, "kernel refuses IPv4 frames without an IPv4 header");
	}
	CHECK_EQ(ep(EP_A).tx_packets, 0, "none of those ran");

	/* A bare Ethernet header of an ethertype we do not handle: passes. */
	n = hx_eth(in, MAC_B, MAC_A, 0x88b5);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "14-byte frame runs");
	CHECK_EQ(r.retval, TC_ACT_OK, "14-byte local-experimental frame to the host");

	/* 34 bytes: an IPv4 header claiming a UDP payload that is not there. */
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	r = run_fc(in, 34, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "34-byte IPv4 frame, tot_len 38");
	malformed++;

	/* ihl < 5 */
	in[14] = 0x44;
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "ihl 4");
	malformed++;

	/* version 6 in an IPv4 ethertype */
	in[14] = 0x65;
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "version 6");
	malformed++;

	/* tot_len beyond the frame; then tot_len below ihl * 4 */
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	in[16] = 0x01;
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "tot_len > frame");
	malformed++;
	in[16] = 0;
	in[17] = 19;
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "tot_len < 20");
	malformed++;

	/* ihl = 15 (60-byte header) in a 52-byte frame */
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	in[14] = 0x4f;
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "options beyond tot_len");
	malformed++;

	/* ARP cut in the middle of the target address, and every shorter cut */
	n = frame_arp_req(in, "10.1.0.3");
	for (size_t len = 14; len < n; len++) {
		r = run_fc(in, len, out, sizeof(out));
		CHECK_EQ(r.retval, TC_ACT_SHOT, "truncated ARP");
		malformed++;
	}

	/* ARP for another hardware/protocol type */
	n = frame_arp_req(in, "10.1.0.3");
	in[15] = 6; /* htype IEEE 802 */
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "htype 6");
	malformed++;
	n = frame_arp_req(in, "10.1.0.3");
	in[19] = 16; /* plen 16 */
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "plen 16");
	malformed++;

	CHECK_EQ(ep(EP_A).drops[SHOAL_DROP_MALFORMED], malformed, "drops[malformed]");
	CHECK_EQ(drops_total(ep(EP_A).drops), malformed, "no other drop reason");
	CHECK_EQ(ep(EP_A).tx_packets, malformed + 1, "every frame that ran counted as tx");
	CHECK_EQ(ep(EP_B).rx_packets, 0, "nothing delivered");
}

TEST(accounting_off_counts_nothing)
{
	struct shoal_node_cfg cfg = cfg_default();
	uint8_t in[128], out[256];
	struct shoal_ep_stats a, b;
	struct hx_run r;
	size_t n;

	if (!setup(false))
		return;
	cfg.flags = 0;
	CHECK_EQ(hx_set_cfg(&cfg), 0, "config");
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "still forwarded");
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.50", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "still dropped");
	n = frame_arp_req(in, "10.1.0.3");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "still answered");
	r = hx_run(hx_skel->progs.to_container, in, n, IFX, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "to_container");
	a = ep(EP_A);
	b = ep(EP_B);
	CHECK_EQ(a.tx_packets + a.tx_bytes + a.rx_packets + a.rx_bytes + drops_total(a.drops), 0,
		 "A untouched");
	CHECK_EQ(b.tx_packets + b.tx_bytes + b.rx_packets + b.rx_bytes + drops_total(b.drops), 0,
		 "B untouched");
}

TEST(missing_ep_stats_entry_is_not_created)
{
	uint8_t in[128], out[256];
	struct shoal_ep_stats s;
	struct hx_run r;
	size_t n;
	__u32 k = EP_A;

	if (!setup(false))
		return;
	CHECK_EQ(bpf_map_delete_elem(bpf_map__fd(hx_skel->maps.ep_stats), &k), 0, "delete");
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "forwarded anyway");
	CHECK_EQ(hx_ep_stats(EP_A, &s), -ENOENT, "BPF did not create the entry");
	CHECK_EQ(ep(EP_B).rx_packets, 1, "destination still counted");
}

TEST(to_container_counts_rx)
{
	uint8_t in[128], out[256];
	struct hx_run r;
	size_t n;
	__u32 k = IFX;

	if (!setup(false))
		return;
	n = frame_udp(in, MAC_A, HOST_MAC, "8.8.8.8", "10.1.0.2", 2000);
	r = hx_run(hx_skel->progs.to_container, in, n, IFX, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_OK, "passes");
	CHECK_EQ(r.out_len, n, "length unchanged");
	CHECK_MEM(out, in, n, "untouched");
	hx_eth(in, MAC_A, HOST_MAC, ETH_P_ARP);
	r = hx_run(hx_skel->progs.to_container, in, 14, IFX, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "any frame passes (14 bytes, truncated ARP)");
	CHECK_EQ(ep(EP_A).rx_packets, 2, "rx packets");
	CHECK_EQ(ep(EP_A).rx_bytes, n + 14, "rx bytes");
	CHECK_EQ(ep(EP_A).tx_packets, 0, "no tx");

	/* Unknown interface: passes, counts nothing. */
	CHECK_EQ(bpf_map_delete_elem(bpf_map__fd(hx_skel->maps.ifaces), &k), 0, "delete iface");
	r = hx_run(hx_skel->progs.to_container, in, n, IFX, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "unknown iface passes");
	CHECK_EQ(ep(EP_A).rx_packets, 2, "unchanged");
	CHECK_EQ(drops_total(node().drops), 0, "no node drop");
}

/* ------------------------------------------------------- VXLAN encap */

TEST(ipv4_to_remote_endpoint_is_vxlan_encapsulated)
{
	uint8_t in[128], out[256];
	const uint8_t *o, *ip, *udp, *vx;
	uint32_t a;
	uint16_t sport;
	struct hx_run r;
	size_t n;

	if (!setup(true))
		return;
	n = frame_udp(in, MAC_R, MAC_D, "10.2.0.2", "10.2.0.9", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_neigh to the underlay");
	CHECK_EQ(r.out_len, n + SHOAL_VXLAN_OVERHEAD, "50 bytes added");
	if (r.out_len != n + SHOAL_VXLAN_OVERHEAD)
		return;
	o = out;
	/* Outer Ethernet: src = underlay MAC; dst left zero for the
	 * neighbour subsystem (redirect_neigh rewrites the header). */
	CHECK_MEM(o, ZERO6, 6, "outer dst MAC");
	CHECK_MEM(o + 6, UL_MAC, 6, "outer src MAC");
	CHECK_EQ(o[12] << 8 | o[13], ETH_P_IP, "outer ethertype");

	ip = o + 14;
	CHECK_EQ(ip[0], 0x45, "version 4, ihl 5");
	CHECK_EQ(ip[1], 0, "tos");
	CHECK_EQ(ip[2] << 8 | ip[3], n + 36, "tot_len");
	CHECK_EQ(ip[4] << 8 | ip[5], 0, "id");
	CHECK_EQ(ip[6] << 8 | ip[7], 0x4000, "DF, no fragment");
	CHECK_EQ(ip[8], 64, "ttl");
	CHECK_EQ(ip[9], 17, "proto UDP");
	CHECK_EQ(hx_csum(ip, 20), 0, "header checksum valid");
	memcpy(&a, ip + 12, 4);
	CHECK_EQ(a, hx_ip("192.168.1.1"), "saddr = node IP");
	memcpy(&a, ip + 16, 4);
	CHECK_EQ(a, hx_ip("192.168.1.2"), "daddr = remote node IP");

	udp = ip + 20;
	sport = udp[0] << 8 | udp[1];
	CHECK(sport >= 49152, "UDP sport in 49152..65535");
	CHECK_EQ(udp[2] << 8 | udp[3], SHOAL_VXLAN_PORT, "UDP dport");
	CHECK_EQ(udp[4] << 8 | udp[5], n + 16, "UDP len");
	CHECK_EQ(udp[6] << 8 | udp[7], 0, "UDP csum 0");

	vx = udp + 8;
	CHECK_EQ(vx[0], 0x08, "VXLAN flags: I");
	CHECK_EQ(vx[1] | vx[2] | vx[3] | vx[7], 0, "VXLAN reserved bytes");
	CHECK_EQ((uint32_t)vx[4] << 16 | vx[5] << 8 | vx[6], VNI, "VNI");

	CHECK_MEM(vx + 8, in, n, "inner frame byte for byte");

	CHECK_EQ(ep(EP_D).tx_packets, 1, "tx packets");
	CHECK_EQ(ep(EP_D).tx_bytes, n, "tx bytes (inner frame as sent)");
	CHECK_EQ(node().tx_vxlan_packets, 1, "node tx_vxlan packets");
	CHECK_EQ(node().tx_vxlan_bytes, n + 50, "node tx_vxlan bytes (on the wire)");

	/* Same flow, same source port (ECMP/RSS stability). */
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(out[34] << 8 | out[35], sport, "sport stable per flow");
}

TEST(remote_endpoint_without_underlay_is_dropped)
{
	struct shoal_node_cfg cfg = cfg_default();
	uint8_t in[128], out[256];
	struct hx_run r;
	size_t n;

	if (!setup(true))
		return;
	cfg.underlay_ifindex = 0;
	CHECK_EQ(hx_set_cfg(&cfg), 0, "config");
	n = frame_udp(in, MAC_R, MAC_D, "10.2.0.2", "10.2.0.9", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "dropped");
	CHECK_EQ(r.out_len, n, "not encapsulated");
	CHECK_EQ(ep(EP_D).drops[SHOAL_DROP_NO_UNDERLAY], 1, "drops[no_underlay]");
	CHECK_EQ(node().tx_vxlan_packets, 0, "no vxlan tx");
}

TEST(encap_to_known_node_writes_its_mac_and_redirects)
{
	uint8_t in[128], out[256], exp[256];
	struct shoal_node_val v;
	struct hx_run r;
	size_t n;

	if (!setup(true))
		return;
	n = frame_udp(in, MAC_R, MAC_D, "10.2.0.2", "10.2.0.9", 2000);
	/* Without an entry: redirect_neigh, dst MAC left zero (reference). */
	r = run_fc(in, n, exp, sizeof(exp));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_neigh");
	CHECK_MEM(exp, ZERO6, 6, "no entry: dst MAC zero");

	CHECK_EQ(node_put("192.168.1.2", PEER_MAC, mono_coarse_ns()), 0, "nodes entry");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "bpf_redirect to the underlay");
	CHECK_EQ(r.out_len, n + SHOAL_VXLAN_OVERHEAD, "50 bytes added");
	CHECK_MEM(out, PEER_MAC, 6, "outer dst MAC = the node's");
	CHECK_MEM(out + 6, UL_MAC, 6, "outer src MAC = underlay's");
	/* Everything after the destination MAC as without the entry. */
	CHECK_MEM(out + 6, exp + 6, n + SHOAL_VXLAN_OVERHEAD - 6, "rest of the frame identical");
	CHECK_EQ(node().tx_vxlan_packets, 2, "counted either way");
	CHECK_EQ(ep(EP_D).tx_packets, 2, "endpoint tx");
	/* Encap reads the map, never writes it. */
	CHECK_EQ(node_get("192.168.1.2", &v), 0, "entry still there");
	CHECK_EQ(node_count(), 1, "no entry added");

	/* An entry for another node does not apply. */
	hx_reset();
	if (!setup(true))
		return;
	CHECK_EQ(node_put("192.168.1.3", PEER_MAC, mono_coarse_ns()), 0, "other node");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_MEM(out, ZERO6, 6, "other node's entry: redirect_neigh");
}

TEST(encap_with_stale_or_bogus_node_entry_uses_redirect_neigh)
{
	static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t in[128], out[256];
	uint64_t now;
	struct hx_run r;
	size_t n;

	if (!setup(true))
		return;
	n = frame_udp(in, MAC_R, MAC_D, "10.2.0.2", "10.2.0.9", 2000);
	now = mono_coarse_ns();
	/* Older than the TTL: the neighbour table decides again. */
	if (now > SHOAL_NODE_TTL_NS + 1000000000ULL) {
		CHECK_EQ(node_put("192.168.1.2", PEER_MAC, now - SHOAL_NODE_TTL_NS - 1000000000ULL),
			 0, "stale entry");
		r = run_fc(in, n, out, sizeof(out));
		CHECK_EQ(r.retval, TC_ACT_REDIRECT, "still sent");
		CHECK_MEM(out, ZERO6, 6, "stale: redirect_neigh (dst zero)");
	}
	/* A time stamp from the future (clock confusion) is not trusted. */
	CHECK_EQ(node_put("192.168.1.2", PEER_MAC, now + 3600ULL * 1000000000ULL), 0, "future");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_MEM(out, ZERO6, 6, "future stamp: redirect_neigh");
	/* Multicast or zero MACs are never used as a next hop. */
	CHECK_EQ(node_put("192.168.1.2", MCAST, now), 0, "multicast entry");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_MEM(out, ZERO6, 6, "multicast: redirect_neigh");
	CHECK_EQ(node_put("192.168.1.2", ZERO6, now), 0, "zero entry");
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "zero: redirect_neigh");
	CHECK_EQ(node().tx_vxlan_packets, 3 + (now > SHOAL_NODE_TTL_NS + 1000000000ULL), "all sent");
}

/* ------------------------------------------------------- VXLAN decap */

TEST(vxlan_to_local_endpoint_is_decapsulated)
{
	uint8_t inner[128], in[256], out[256], exp[128];
	struct hx_run r;
	size_t ni, n;

	if (!setup(false))
		return;
	/* The peer's kernel vxlan addressed the inner frame to whatever MAC
	 * it learnt; delivery must fix it to C's. */
	ni = frame_udp(inner, PEER_MAC, MAC_R, "10.2.0.9", "10.2.0.5", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	memcpy(exp, inner, ni);
	memcpy(exp, MAC_C, 6);

	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_peer into C");
	CHECK_EQ(r.out_len, ni, "outer headers stripped");
	CHECK_MEM(out, exp, ni, "inner frame, dst MAC = endpoint MAC");
	CHECK_EQ(ep(EP_C).rx_packets, 1, "endpoint rx packets");
	CHECK_EQ(ep(EP_C).rx_bytes, ni, "endpoint rx bytes (inner)");
	CHECK_EQ(node().rx_vxlan_packets, 1, "node rx_vxlan packets");
	CHECK_EQ(node().rx_vxlan_bytes, n, "node rx_vxlan bytes (outer)");
	CHECK_EQ(drops_total(node().drops), 0, "no node drops");
}

TEST(vxlan_outer_ip_options_are_handled)
{
	uint8_t inner[128], in[256], out[256], exp[128];
	struct hx_run r;
	size_t ni, n;

	if (!setup(false))
		return;
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	/* Insert 4 bytes of options (NOP x4) after the outer IPv4 header. */
	memmove(in + 38, in + 34, n - 34);
	memset(in + 34, 1, 4);
	n += 4;
	in[14] = 0x46;
	in[16] = (n - 14) >> 8;
	in[17] = (n - 14) & 0xff;
	in[24] = in[25] = 0;
	{
		uint16_t c = hx_csum(in + 14, 24);

		in[24] = c >> 8;
		in[25] = c & 0xff;
	}
	memcpy(exp, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(r.out_len, ni, "54 bytes stripped");
	CHECK_MEM(out, exp, ni, "inner frame");
}

TEST(vxlan_unknown_vni_passes_untouched)
{
	uint8_t inner[128], in[256], out[256];
	struct hx_run r;
	size_t ni, n;

	if (!setup(false))
		return;
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);
	n = frame_vxlan(in, 0x08, VNI + 1, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "to the stack");
	CHECK_EQ(r.out_len, n, "length unchanged");
	CHECK_MEM(out, in, n, "untouched");
	/* A local network id (1) is not a VNI either. */
	n = frame_vxlan(in, 0x08, NET_L, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "local net id as VNI: to the stack");
	CHECK_MEM(out, in, n, "untouched");
	CHECK_EQ(node().drops[SHOAL_DROP_UNKNOWN_VNI], 2, "node drops[unknown_vni]");
	CHECK_EQ(node().rx_vxlan_packets, 0, "nothing delivered");
	CHECK_EQ(ep(EP_C).rx_packets, 0, "nothing delivered");
}

TEST(underlay_non_vxlan_passes_uncounted)
{
	uint8_t in[256], out[256], inner[128];
	struct shoal_node_stats s;
	struct hx_run r;
	size_t n, ni;

	if (!setup(false))
		return;
	/* UDP to another port */
	n = frame_udp(in, UL_MAC, PEER_MAC, "192.168.1.2", "192.168.1.1", 53);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "DNS");
	CHECK_MEM(out, in, n, "untouched");
	/* VXLAN to another node's IP */
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	in[33] = 0x77; /* daddr 192.168.1.119; checksum left stale: not ours */
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "VXLAN for another IP");
	CHECK_MEM(out, in, n, "untouched");
	/* ARP, and a bare Ethernet header */
	n = frame_arp_req(in, "192.168.1.1");
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "ARP");
	r = run_ul(in, 14, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "14 bytes");
	/* A fragment of a VXLAN packet: reassembled by the stack, not us. */
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	in[20] = 0x20; /* MF */
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "fragment");
	CHECK_MEM(out, in, n, "untouched");

	s = node();
	CHECK_EQ(drops_total(s.drops) + s.rx_vxlan_packets, 0, "nothing counted");
}

TEST(underlay_without_overlay_config_passes)
{
	struct shoal_node_cfg cfg = cfg_default();
	uint8_t inner[128], in[256], out[256];
	struct hx_run r;
	size_t ni, n;

	if (!setup(false))
		return;
	cfg.underlay_ifindex = 0;
	CHECK_EQ(hx_set_cfg(&cfg), 0, "config");
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "single host: not ours");
	CHECK_MEM(out, in, n, "untouched");
	CHECK_EQ(node().rx_vxlan_packets, 0, "not delivered");
}

TEST(vxlan_truncated_and_malformed)
{
	uint8_t inner[128], in[256], out[256];
	struct shoal_node_stats s;
	struct hx_run r;
	size_t ni, n, cut;

	if (!setup(false))
		return;
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);

	/* Cut inside the VXLAN header, IP/UDP lengths fixed to match:
	 * to our port but broken -> counted malformed, passed untouched. */
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	cut = 14 + 20 + 8 + 4;
	in[16] = 0;
	in[17] = cut - 14;
	in[24] = in[25] = 0;
	{
		uint16_t c = hx_csum(in + 14, 20);

		in[24] = c >> 8;
		in[25] = c & 0xff;
	}
	r = run_ul(in, cut, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_OK, "truncated VXLAN header passes");
	CHECK_EQ(r.out_len, cut, "untouched length");
	CHECK_MEM(out, in, cut, "untouched");

	/* I flag clear */
	n = frame_vxlan(in, 0x00, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "no I flag passes");
	CHECK_MEM(out, in, n, "untouched");

	/* Known VNI, inner frame cut short at every length up to a full
	 * IPv4 header (outer lengths consistent with the cut). */
	for (size_t il = 0; il < 34; il++) {
		n = frame_vxlan(in, 0x08, VNI, inner, il);
		r = run_ul(in, n, out, sizeof(out));
		CHECK_EQ(r.retval, TC_ACT_SHOT, "truncated inner frame");
	}
	/* Outer IP claims more than the frame holds: not a packet we can
	 * trust to be VXLAN at all; passed, uncounted. */
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n - 1, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "outer tot_len > frame");

	s = node();
	CHECK_EQ(s.drops[SHOAL_DROP_MALFORMED], 2 + 34, "node drops[malformed]");
	CHECK_EQ(drops_total(s.drops), 2 + 34, "no other reason");
	CHECK_EQ(s.rx_vxlan_packets, 0, "nothing delivered");
}

TEST(vxlan_known_vni_unknown_or_remote_endpoint_dropped)
{
	uint8_t inner[128], in[256], out[256];
	struct hx_run r;
	size_t ni, n;

	if (!setup(false))
		return;
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.77", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "unknown endpoint");
	/* 10.2.0.9 is remote: never bounce it back into the underlay. */
	ni = frame_udp(inner, MAC_R, MAC_C, "10.2.0.5", "10.2.0.9", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "remote endpoint");
	CHECK_EQ(node().drops[SHOAL_DROP_NO_ENDPOINT], 2, "node drops[no_endpoint]");

	/* Inner ARP: no flooding over the overlay either. */
	ni = hx_eth(inner, BCAST, MAC_R, ETH_P_ARP);
	ni += hx_arp(inner + ni, 1, MAC_R, hx_ip("10.2.0.9"), ZERO6, hx_ip("10.2.0.5"));
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "inner ARP");
	CHECK_EQ(node().drops[SHOAL_DROP_UNSUPPORTED], 1, "node drops[unsupported]");
	CHECK_EQ(ep(EP_C).rx_packets, 0, "nothing delivered");
}

/* cfg_default() is 192.168.1.1 with no prefix: give it its /24. */
static bool setup_on_link(uint8_t plen)
{
	struct shoal_node_cfg cfg = cfg_default();

	if (!setup(false))
		return false;
	cfg.underlay_plen = plen;
	CHECK_EQ(hx_set_cfg(&cfg), 0, "config with prefix");
	return true;
}

TEST(decap_learns_the_peer_mac)
{
	static const uint8_t NEW_MAC[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x22 };
	uint8_t inner[128], in[256], out[256];
	struct shoal_node_val v;
	uint64_t t0, t1;
	struct hx_run r;
	size_t ni, n;

	if (!setup_on_link(24))
		return;
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	t0 = mono_coarse_ns();
	r = run_ul(in, n, out, sizeof(out));
	t1 = mono_coarse_ns();
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(node_get("192.168.1.2", &v), 0, "peer learnt");
	CHECK_MEM(v.mac, PEER_MAC, 6, "outer source MAC");
	CHECK(v.updated_ns >= t0 && v.updated_ns <= t1 + 10000000ULL, "stamped now");
	CHECK_EQ(node_count(), 1, "one entry");

	/* Same MAC again, entry fresh: nothing written. */
	CHECK_EQ(node_put("192.168.1.2", PEER_MAC, t1 - 1), 0, "mark the stamp");
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(node_get("192.168.1.2", &v), 0, "still there");
	CHECK_EQ(v.updated_ns, t1 - 1, "fresh same-MAC entry not rewritten");
	/* Same MAC, older than the refresh interval: re-stamped. */
	CHECK_EQ(node_put("192.168.1.2", PEER_MAC, t0 - SHOAL_NODE_REFRESH_NS - 1), 0, "old");
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(node_get("192.168.1.2", &v), 0, "still there");
	CHECK(v.updated_ns >= t0, "re-stamped");
	CHECK_MEM(v.mac, PEER_MAC, 6, "same MAC");

	/* The peer's MAC changed: relearnt from its next packet. */
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	memcpy(in + 6, NEW_MAC, 6);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(node_get("192.168.1.2", &v), 0, "entry");
	CHECK_MEM(v.mac, NEW_MAC, 6, "new MAC learnt");
	CHECK_EQ(node_count(), 1, "still one entry");

	/* And from then on encap uses it. */
	{
		uint8_t fin[128], fout[256];
		struct shoal_iface_val id = { .net_id = VNI, .ep_id = EP_D, .ip = hx_ip("10.2.0.2") };
		size_t fn;

		memcpy(id.mac, MAC_D, 6);
		memcpy(id.host_mac, HOST_MAC, 6);
		CHECK_EQ(hx_set_iface(IFX, &id), 0, "D's veth");
		fn = frame_udp(fin, MAC_R, MAC_D, "10.2.0.2", "10.2.0.9", 2000);
		r = run_fc(fin, fn, fout, sizeof(fout));
		CHECK_EQ(r.retval, TC_ACT_REDIRECT, "encapsulated");
		CHECK_MEM(fout, NEW_MAC, 6, "outer dst = learnt MAC");
	}
}

TEST(decap_learns_nothing_unless_ours_delivered_and_on_link)
{
	static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t inner[128], in[256], out[256];
	struct hx_run r;
	size_t ni, n;

	if (!setup_on_link(24))
		return;
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);

	/* Unknown VNI: not ours. */
	n = frame_vxlan(in, 0x08, VNI + 1, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "unknown VNI passes");
	/* No I flag: malformed. */
	n = frame_vxlan(in, 0x00, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "malformed passes");
	/* Truncated inner frame: ours, dropped. */
	n = frame_vxlan(in, 0x08, VNI, inner, 20);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "truncated inner dropped");
	/* Known VNI, no such endpoint: not delivered. */
	{
		uint8_t i2[128];
		size_t n2 = frame_udp(i2, MAC_C, MAC_R, "10.2.0.9", "10.2.0.77", 2000);

		n = frame_vxlan(in, 0x08, VNI, i2, n2);
		r = run_ul(in, n, out, sizeof(out));
		CHECK_EQ(r.retval, TC_ACT_SHOT, "no endpoint dropped");
	}
	/* Not VXLAN: plain UDP from the peer. */
	n = frame_udp(in, UL_MAC, PEER_MAC, "192.168.1.2", "192.168.1.1", 53);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "not VXLAN");
	/* VXLAN for another node's IP. */
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	in[33] = 0x77;
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "another node's");
	CHECK_EQ(node_count(), 0, "nothing learnt from any of those");

	/* Delivered, but the sender is outside the on-link /24 (routed
	 * underlay: the source MAC is a router's). */
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	in[28] = 2; /* saddr 192.168.2.2 */
	in[24] = in[25] = 0;
	{
		uint16_t c = hx_csum(in + 14, 20);

		in[24] = c >> 8;
		in[25] = c & 0xff;
	}
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "routed peer delivered");
	CHECK_EQ(node_count(), 0, "routed peer not learnt");

	/* Delivered from on-link, but a multicast source MAC. */
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	memcpy(in + 6, MCAST, 6);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(node_count(), 0, "multicast source MAC not learnt");

	/* Prefix unknown (0): nothing is on-link. */
	if (!setup_on_link(0))
		return;
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(node_count(), 0, "prefix unknown: not learnt");
	/* /32: no other address is on-link. */
	if (!setup_on_link(32))
		return;
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(node_count(), 0, "/32: not learnt");
	/* /30 holds .0-.3: 192.168.1.2 is on-link. */
	if (!setup_on_link(30))
		return;
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(node_count(), 1, "/30: learnt");
}

TEST(vxlan_encap_then_decap_round_trip)
{
	struct shoal_node_cfg cfg = cfg_default();
	uint8_t in[128], wire[256], out[256];
	struct shoal_ep_val r9 = { .ifindex = IFX_C, .ep_id = EP_C, .flags = SHOAL_EP_LOCAL };
	struct hx_run r;
	size_t n;

	if (!setup(true))
		return;
	n = frame_udp(in, MAC_R, MAC_D, "10.2.0.2", "10.2.0.9", 2000);
	r = run_fc(in, n, wire, sizeof(wire));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "encapsulated");
	if (r.out_len != n + 50)
		return;
	/* Become the peer node: 192.168.1.2, 10.2.0.9 is local there. */
	cfg.node_ip = hx_ip("192.168.1.2");
	memcpy(r9.mac, MAC_R, 6);
	CHECK_EQ(hx_set_cfg(&cfg), 0, "config");
	CHECK_EQ(hx_set_ep(VNI, hx_ip("10.2.0.9"), &r9), 0, "endpoint");
	r = run_ul(wire, n + 50, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "decapsulated");
	CHECK_EQ(r.out_len, n, "length");
	CHECK_MEM(out, in, n, "the frame the container sent");
}

#include "nat_tests.inc.h"
#include "obs.inc.h"

int main(void)
{
	int err;

	if (geteuid() != 0) {
		printf("1..0 # skip BPF tests need root\n");
		return 0;
	}
	err = hx_setup();
	if (err) {
		printf("Bail out! loading the BPF object failed: %s\n", strerror(-err));
		return 1;
	}

	RUN(arp_request_for_endpoint_is_answered);
	RUN(arp_request_for_gateway_gets_host_mac);
	RUN(arp_request_for_remote_endpoint_is_answered);
	RUN(arp_request_for_unknown_ip_is_dropped);
	RUN(arp_reply_and_announcement_go_to_host);
	RUN(ipv4_to_local_endpoint_redirects_to_peer);
	RUN(ipv4_with_ethernet_padding_is_forwarded);
	RUN(ipv4_to_unknown_address_in_subnet_is_dropped);
	RUN(ipv4_to_gateway_or_outside_goes_to_host);
	RUN(ipv4_to_another_network_is_dropped);
	RUN(ipv6_and_other_ethertypes_go_to_host);
	RUN(spoofed_source_is_dropped);
	RUN(unknown_interface_is_dropped_on_node);
	RUN(unknown_network_is_dropped);
	RUN(truncated_and_malformed_frames_are_dropped);
	RUN(accounting_off_counts_nothing);
	RUN(missing_ep_stats_entry_is_not_created);
	RUN(to_container_counts_rx);
	RUN(ipv4_to_remote_endpoint_is_vxlan_encapsulated);
	RUN(remote_endpoint_without_underlay_is_dropped);
	RUN(encap_to_known_node_writes_its_mac_and_redirects);
	RUN(encap_with_stale_or_bogus_node_entry_uses_redirect_neigh);
	RUN(vxlan_to_local_endpoint_is_decapsulated);
	RUN(vxlan_outer_ip_options_are_handled);
	RUN(vxlan_unknown_vni_passes_untouched);
	RUN(underlay_non_vxlan_passes_uncounted);
	RUN(underlay_without_overlay_config_passes);
	RUN(vxlan_truncated_and_malformed);
	RUN(vxlan_known_vni_unknown_or_remote_endpoint_dropped);
	RUN(decap_learns_the_peer_mac);
	RUN(decap_learns_nothing_unless_ours_delivered_and_on_link);
	RUN(vxlan_encap_then_decap_round_trip);
	RUN(published_tcp_port_is_dnated_into_the_container);
	RUN(container_reply_is_reverse_translated);
	RUN(published_udp_port_both_ways);
	RUN(unpublished_or_not_for_the_host_passes_untouched);
	RUN(exact_host_ip_binding_wins_over_wildcard);
	RUN(binding_to_a_vanished_veth_is_dropped_and_counted);
	RUN(underlay_still_decapsulates_vxlan_and_publishes_ports);
	RUN(masquerade_established_flow_both_ways);
	RUN(masquerade_off_leaves_routed_traffic_to_the_host);
	RUN(hairpin_container_to_published_port_through_host_address);
	RUN(masquerade_ping_uses_the_echo_identifier);
	RUN(flows_off_by_default_records_nothing);
	RUN(flows_local_delivery_counts_sender_and_receiver_exactly);
	RUN(flows_to_host_remote_underlay_and_to_container);
	RUN(flows_tcp_flags_and_flow_start_end_events);
	RUN(drop_event_names_reason_place_endpoint_and_tuple);
	RUN(drop_events_are_rate_limited_per_cpu);

	hx_teardown();
	return tap_done();
}
