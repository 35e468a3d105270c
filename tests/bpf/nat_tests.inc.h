/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nat_tests.inc.h - published ports and masquerade (bpf/lib/nat.h),
 * included by test_bpf.c (uses its setup(), frame builders and MACs).
 *
 * The published container is endpoint A (10.1.0.2, veth IFX, so that a
 * reply can be run through from_container on the same ifindex). The host
 * is 192.168.1.1, the client 192.168.1.50. Every rewritten frame is
 * compared byte for byte with the frame built directly with the
 * translated addresses (builders compute full checksums, so equality also
 * proves the incremental checksum updates).
 */

#define CLIENT "192.168.1.50"
#define HOSTIP "192.168.1.1"

/* Internet checksum of the TCP/UDP segment at l4 with its pseudo-header. */
static uint16_t l4_csum(uint32_t saddr, uint32_t daddr, uint8_t proto, const uint8_t *l4,
			size_t len)
{
	uint8_t buf[2048];

	memcpy(buf, &saddr, 4);
	memcpy(buf + 4, &daddr, 4);
	buf[8] = 0;
	buf[9] = proto;
	buf[10] = (uint8_t)(len >> 8);
	buf[11] = (uint8_t)len;
	memcpy(buf + 12, l4, len);
	return hx_csum(buf, 12 + len);
}

/* eth + IPv4 + TCP SYN (20 bytes, no options) + 10 payload bytes, every
 * checksum valid. */
static size_t frame_tcp(uint8_t *p, const uint8_t dst[6], const uint8_t src[6],
			const char *saddr, const char *daddr, uint16_t sport, uint16_t dport)
{
	size_t n = hx_eth(p, dst, src, ETH_P_IP);
	uint8_t *t;
	uint16_t c;

	n += hx_ipv4(p + n, hx_ip(saddr), hx_ip(daddr), 6, 20 + sizeof(PAYLOAD));
	t = p + n;
	memset(t, 0, 20);
	t[0] = sport >> 8, t[1] = sport & 0xff;
	t[2] = dport >> 8, t[3] = dport & 0xff;
	t[4] = 0x11, t[5] = 0x22, t[6] = 0x33, t[7] = 0x44; /* seq */
	t[12] = 5 << 4;
	t[13] = 0x02; /* SYN */
	t[14] = 0xfa, t[15] = 0xf0;
	memcpy(t + 20, PAYLOAD, sizeof(PAYLOAD));
	c = l4_csum(hx_ip(saddr), hx_ip(daddr), 6, t, 20 + sizeof(PAYLOAD));
	t[16] = c >> 8, t[17] = c & 0xff;
	return n + 20 + sizeof(PAYLOAD);
}

/* UDP with a real checksum (frame_udp leaves it 0 = none). */
static size_t frame_udp_csum(uint8_t *p, const uint8_t dst[6], const uint8_t src[6],
			     const char *saddr, const char *daddr, uint16_t sport, uint16_t dport)
{
	size_t n = hx_eth(p, dst, src, ETH_P_IP);
	uint8_t *u;
	uint16_t c;

	n += hx_ipv4(p + n, hx_ip(saddr), hx_ip(daddr), 17, 8 + sizeof(PAYLOAD));
	u = p + n;
	n += hx_udp(u, sport, dport, sizeof(PAYLOAD));
	memcpy(p + n, PAYLOAD, sizeof(PAYLOAD));
	c = l4_csum(hx_ip(saddr), hx_ip(daddr), 17, u, 8 + sizeof(PAYLOAD));
	if (!c)
		c = 0xffff;
	u[6] = c >> 8, u[7] = c & 0xff;
	return n + sizeof(PAYLOAD);
}

static struct hx_run run_ext(const void *in, size_t len, void *out, size_t cap)
{
	return hx_run(hx_skel->progs.from_external, in, len, IFX, out, cap);
}

static int port_put(const char *host_ip, uint16_t host_port, uint8_t proto, const char *ctr_ip,
		    uint16_t ctr_port, uint32_t ifindex)
{
	struct shoal_port_key k = { .host_ip = host_ip ? hx_ip(host_ip) : 0,
				    .host_port = htons(host_port), .proto = proto };
	struct shoal_port_val v = { .ctr_ip = hx_ip(ctr_ip), .ctr_port = htons(ctr_port),
				    .ifindex = ifindex };

	return bpf_map_update_elem(bpf_map__fd(hx_skel->maps.ports), &k, &v, BPF_ANY) ? -errno : 0;
}

static int host_addr_put(const char *ip)
{
	__u32 k = hx_ip(ip), v = IFX;

	return bpf_map_update_elem(bpf_map__fd(hx_skel->maps.host_addrs), &k, &v, BPF_ANY) ? -errno
											   : 0;
}

static int ct_get(const char *saddr, uint16_t sport, const char *daddr, uint16_t dport,
		  uint8_t proto, struct shoal_ct_val *v)
{
	struct shoal_ct_key k = { .saddr = hx_ip(saddr), .daddr = hx_ip(daddr),
				  .sport = htons(sport), .dport = htons(dport), .proto = proto };

	return bpf_map_lookup_elem(bpf_map__fd(hx_skel->maps.nat_ct), &k, v) ? -errno : 0;
}

static int ct_put(const char *saddr, uint16_t sport, const char *daddr, uint16_t dport,
		  uint8_t proto, const char *nat_addr, uint16_t nat_port, uint8_t type,
		  uint32_t ifindex)
{
	struct shoal_ct_key k = { .saddr = hx_ip(saddr), .daddr = hx_ip(daddr),
				  .sport = htons(sport), .dport = htons(dport), .proto = proto };
	struct shoal_ct_val v = { .nat_addr = hx_ip(nat_addr), .nat_port = htons(nat_port),
				  .type = type, .ifindex = ifindex };

	return bpf_map_update_elem(bpf_map__fd(hx_skel->maps.nat_ct), &k, &v, BPF_ANY) ? -errno : 0;
}

/*
 * The entry pair nat_masquerade() records for a new flow (its FIB lookup
 * depends on the machine's routes, so the e2e test covers that part):
 * container ctr:cport -> remote rem:rport leaves out of the underlay as
 * HOSTIP:hport, and the reply to that goes back into the container (IFX).
 */
static void masq_put(const char *ctr, uint16_t cport, const char *rem, uint16_t rport,
		     uint8_t proto, uint16_t hport)
{
	CHECK_EQ(ct_put(ctr, cport, rem, rport, proto, HOSTIP, hport, SHOAL_CT_SNAT, IFX_UNDERLAY),
		 0, "SNAT entry");
	CHECK_EQ(ct_put(rem, rport, HOSTIP, hport, proto, ctr, cport, SHOAL_CT_REV_SNAT, IFX), 0,
		 "REV_SNAT entry");
}

/* setup(false) + 0.0.0.0:8080/tcp and :5353/udp -> A (10.1.0.2) port 80/53. */
static bool nat_setup(void)
{
	int err;

	if (!setup(false))
		return false;
	err = host_addr_put(HOSTIP);
	err = err ?: port_put(NULL, 8080, 6, "10.1.0.2", 80, IFX);
	err = err ?: port_put(NULL, 5353, 17, "10.1.0.2", 53, IFX);
	CHECK_EQ(err, 0, "ports setup");
	return err == 0;
}

TEST(published_tcp_port_is_dnated_into_the_container)
{
	uint8_t in[256], out[256], exp[256];
	struct shoal_ct_val ct;
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 40000, 8080);
	/* As the container must see it: to its MAC from its gateway's. */
	frame_tcp(exp, MAC_A, HOST_MAC, CLIENT, "10.1.0.2", 40000, 80);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.err, 0, "test run");
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_peer into the container");
	CHECK_EQ(r.out_len, n, "length unchanged");
	CHECK_MEM(out, exp, n, "DNAT'd frame, both checksums valid");
	CHECK_EQ(hx_csum(out + 14, 20), 0, "IPv4 header checksum");
	CHECK_EQ(l4_csum(hx_ip(CLIENT), hx_ip("10.1.0.2"), 6, out + 34, n - 34), 0, "TCP checksum");
	/* The reply's translation is recorded. */
	CHECK_EQ(ct_get("10.1.0.2", 80, CLIENT, 40000, 6, &ct), 0, "REV_DNAT entry");
	CHECK_EQ(ct.type, SHOAL_CT_REV_DNAT, "type");
	CHECK_EQ(ct.nat_addr, hx_ip(HOSTIP), "original address");
	CHECK_EQ(ntohs(ct.nat_port), 8080, "original port");
	CHECK_EQ(ct.ifindex, IFX, "out of the interface it came in on");
	CHECK_EQ(node().nat_dnat_packets, 1, "node nat_dnat_packets");
	CHECK_EQ(ep(EP_A).rx_packets, 1, "container rx (redirect_peer skips to_container)");
	CHECK_EQ(drops_total(node().drops), 0, "no drops");
}

TEST(container_reply_is_reverse_translated)
{
	uint8_t in[256], out[256], exp[256];
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 40000, 8080);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "request delivered");
	/* The container answers from 10.1.0.2:80 via its gateway. */
	n = frame_tcp(in, HOST_MAC, MAC_A, "10.1.0.2", CLIENT, 80, 40000);
	frame_tcp(exp, HOST_MAC, MAC_A, HOSTIP, CLIENT, 8080, 40000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_neigh to the client");
	CHECK_EQ(r.out_len, n, "length unchanged");
	CHECK_MEM(out, exp, n, "source back to 192.168.1.1:8080, checksums valid");
	CHECK_EQ(node().nat_revdnat_packets, 1, "node nat_revdnat_packets");
	CHECK_EQ(ep(EP_A).tx_packets, 1, "container tx");
	/* A packet of another flow from the same port is routed as usual. */
	n = frame_tcp(in, HOST_MAC, MAC_A, "10.1.0.2", CLIENT, 80, 40001);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "no entry: to the host stack");
	CHECK_MEM(out, in, n, "untouched");
}

TEST(published_udp_port_both_ways)
{
	uint8_t in[256], out[256], exp[256];
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	n = frame_udp_csum(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 41000, 5353);
	frame_udp_csum(exp, MAC_A, HOST_MAC, CLIENT, "10.1.0.2", 41000, 53);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "into the container");
	CHECK_MEM(out, exp, n, "UDP DNAT, checksum valid");
	n = frame_udp_csum(in, HOST_MAC, MAC_A, "10.1.0.2", CLIENT, 53, 41000);
	frame_udp_csum(exp, HOST_MAC, MAC_A, HOSTIP, CLIENT, 5353, 41000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "reply to the client");
	CHECK_MEM(out, exp, n, "UDP reverse, checksum valid");
	/* No checksum (0) stays none. */
	n = frame_udp(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 5353);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "checksum-less UDP delivered");
	CHECK_EQ(out[40] | out[41], 0, "UDP checksum still 0");
	CHECK_EQ(out[36] << 8 | out[37], 53, "dport 53");
	CHECK_EQ(hx_csum(out + 14, 20), 0, "IPv4 header checksum");
	CHECK_EQ(node().nat_dnat_packets, 2, "two DNATs");
}

TEST(unpublished_or_not_for_the_host_passes_untouched)
{
	uint8_t in[256], out[256];
	struct shoal_ct_val ct;
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	/* Another port. */
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 40000, 9999);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "unknown port: to the stack");
	CHECK_MEM(out, in, n, "untouched");
	/* The published port number, other protocol. */
	n = frame_udp_csum(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 40000, 8080);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "8080/udp is not published");
	CHECK_MEM(out, in, n, "untouched");
	/* 0.0.0.0 means the host's addresses, not traffic routed through it. */
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, "192.168.7.7", 40000, 8080);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "not a host address");
	CHECK_MEM(out, in, n, "untouched");
	/* A fragment carries no ports we could trust. */
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 40000, 8080);
	in[20] = 0x20;
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "fragment");
	CHECK_MEM(out, in, n, "untouched");
	/* ARP and a runt. */
	n = frame_arp_req(in, HOSTIP);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "ARP");
	r = run_ext(in, 20, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "20-byte runt");
	CHECK_EQ(node().nat_dnat_packets, 0, "nothing translated");
	CHECK_EQ(drops_total(node().drops), 0, "nothing dropped");
	CHECK(ct_get("10.1.0.2", 80, CLIENT, 40000, 6, &ct) == -ENOENT, "no conntrack entry");
}

TEST(exact_host_ip_binding_wins_over_wildcard)
{
	uint8_t in[256], out[256], exp[256];
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	/* 10.9.9.9:8080 -> B (10.1.0.3:8000): an address-specific binding. */
	CHECK_EQ(port_put("10.9.9.9", 8080, 6, "10.1.0.3", 8000, IFX_B), 0, "binding");
	{
		struct shoal_iface_val ib = { .net_id = NET_L, .ep_id = EP_B, .ip = hx_ip("10.1.0.3") };

		memcpy(ib.mac, MAC_B, 6);
		memcpy(ib.host_mac, HOST_MAC, 6);
		CHECK_EQ(hx_set_iface(IFX_B, &ib), 0, "iface B");
	}
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, "10.9.9.9", 40000, 8080);
	frame_tcp(exp, MAC_B, HOST_MAC, CLIENT, "10.1.0.3", 40000, 8000);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "to B");
	CHECK_MEM(out, exp, n, "exact binding");
	CHECK_EQ(ep(EP_B).rx_packets, 1, "B rx");
	CHECK_EQ(ep(EP_A).rx_packets, 0, "A untouched");
}

TEST(binding_to_a_vanished_veth_is_dropped_and_counted)
{
	uint8_t in[256], out[256];
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	CHECK_EQ(port_put(NULL, 8081, 6, "10.1.0.9", 80, 999), 0, "binding");
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 40000, 8081);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_SHOT, "dropped");
	CHECK_EQ(node().drops[SHOAL_DROP_UNKNOWN_NETWORK], 1, "node drops[unknown_network]");
}

TEST(underlay_still_decapsulates_vxlan_and_publishes_ports)
{
	uint8_t inner[128], in[256], out[256], exp[256];
	struct hx_run r;
	size_t ni, n;

	if (!nat_setup())
		return;
	/* A published port on the VXLAN port itself must not steal VXLAN. */
	CHECK_EQ(port_put(NULL, SHOAL_VXLAN_PORT, 17, "10.1.0.2", 53, IFX), 0, "binding on 4789");
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 2000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "VXLAN delivered");
	CHECK_EQ(r.out_len, ni, "decapsulated");
	CHECK_EQ(node().rx_vxlan_packets, 1, "rx_vxlan_packets");
	/* The same program publishes ports on the underlay. */
	n = frame_tcp(in, UL_MAC, PEER_MAC, CLIENT, HOSTIP, 40000, 8080);
	frame_tcp(exp, MAC_A, HOST_MAC, CLIENT, "10.1.0.2", 40000, 80);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "DNAT on the underlay");
	CHECK_MEM(out, exp, n, "DNAT'd frame");
	CHECK_EQ(node().nat_dnat_packets, 1, "counted once");
}

TEST(masquerade_established_flow_both_ways)
{
	uint8_t in[256], out[256], exp[256];
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	masq_put("10.1.0.2", 5000, "203.0.113.9", 53, 17, 61234);
	n = frame_udp_csum(in, HOST_MAC, MAC_A, "10.1.0.2", "203.0.113.9", 5000, 53);
	frame_udp_csum(exp, HOST_MAC, MAC_A, HOSTIP, "203.0.113.9", 61234, 53);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "out of the external interface");
	CHECK_MEM(out, exp, n, "source masqueraded");
	n = frame_udp_csum(in, UL_MAC, PEER_MAC, "203.0.113.9", HOSTIP, 53, 61234);
	frame_udp_csum(exp, MAC_A, HOST_MAC, "203.0.113.9", "10.1.0.2", 53, 5000);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "reply into the container");
	CHECK_MEM(out, exp, n, "destination restored");
	CHECK_EQ(node().nat_snat_packets, 1, "nat_snat_packets");
	CHECK_EQ(node().nat_revsnat_packets, 1, "nat_revsnat_packets");
}

TEST(masquerade_off_leaves_routed_traffic_to_the_host)
{
	uint8_t in[256], out[256];
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	/* cfg_default() has no SHOAL_CFG_MASQUERADE: no FIB lookup, no NAT. */
	n = frame_udp_csum(in, HOST_MAC, MAC_A, "10.1.0.2", "203.0.113.9", 5000, 53);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "to the host stack");
	CHECK_MEM(out, in, n, "untouched");
	CHECK_EQ(node().nat_snat_packets, 0, "nothing masqueraded");
}

TEST(hairpin_container_to_published_port_through_host_address)
{
	struct shoal_iface_val ib = { .net_id = NET_L, .ep_id = EP_B, .ip = hx_ip("10.1.0.3") };
	struct shoal_iface_val ia = { .net_id = NET_L, .ep_id = EP_A, .ip = hx_ip("10.1.0.2") };
	uint8_t in[256], out[256], exp[256];
	struct shoal_ct_val fwd, rev = {};
	struct hx_run r;
	uint16_t p;
	size_t n;

	if (!nat_setup())
		return;
	memcpy(ib.mac, MAC_B, 6);
	memcpy(ib.host_mac, HOST_MAC, 6);
	memcpy(ia.mac, MAC_A, 6);
	memcpy(ia.host_mac, HOST_MAC, 6);
	/* 0.0.0.0:9000 -> B (10.1.0.3:80); A connects to 192.168.1.1:9000. */
	CHECK_EQ(port_put(NULL, 9000, 6, "10.1.0.3", 80, IFX_B), 0, "binding");
	CHECK_EQ(hx_set_iface(IFX_B, &ib), 0, "iface B");
	n = frame_tcp(in, HOST_MAC, MAC_A, "10.1.0.2", HOSTIP, 45000, 9000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_peer into B");
	CHECK_EQ(ct_get("10.1.0.2", 45000, HOSTIP, 9000, 6, &fwd), 0, "HAIRPIN entry");
	CHECK_EQ(fwd.type, SHOAL_CT_HAIRPIN, "type");
	p = ntohs(fwd.nat_port);
	CHECK(p >= SHOAL_SNAT_PORT_MIN, "port from the SNAT range");
	/* B sees the host's address, not A's: its answer comes back here. */
	frame_tcp(exp, MAC_B, HOST_MAC, HOSTIP, "10.1.0.3", p, 80);
	CHECK_MEM(out, exp, n, "source host:port, destination B, checksums valid");
	CHECK_EQ(ct_get("10.1.0.3", 80, HOSTIP, p, 6, &rev), 0, "REV_HAIRPIN entry");
	CHECK_EQ(rev.type, SHOAL_CT_REV_HAIRPIN, "type");
	CHECK_EQ(ep(EP_B).rx_packets, 1, "B rx");
	/* A second packet of the flow takes the same port. */
	r = run_fc(in, n, out, sizeof(out));
	CHECK_MEM(out, exp, n, "same translation");
	CHECK_EQ(rev.ifindex, IFX, "back into A's veth");
	CHECK_EQ(rev.alt_addr, hx_ip("10.1.0.2"), "to A");
	CHECK_EQ(ntohs(rev.alt_port), 45000, "A's port");
	/* B answers. Tests run every program on one ifindex, so the veth
	 * becomes B's and A moves behind IFX_C (the entry follows). */
	CHECK_EQ(hx_set_iface(IFX, &ib), 0, "veth is B's");
	CHECK_EQ(hx_set_iface(IFX_C, &ia), 0, "A behind IFX_C");
	{
		struct shoal_ct_key k = { .saddr = hx_ip("10.1.0.3"), .daddr = hx_ip(HOSTIP),
					  .sport = htons(80), .dport = htons(p), .proto = 6 };

		rev.ifindex = IFX_C;
		CHECK_EQ(bpf_map_update_elem(bpf_map__fd(hx_skel->maps.nat_ct), &k, &rev, BPF_ANY), 0,
			 "reverse entry");
	}
	n = frame_tcp(in, HOST_MAC, MAC_B, "10.1.0.3", HOSTIP, 80, p);
	frame_tcp(exp, MAC_A, HOST_MAC, HOSTIP, "10.1.0.2", 9000, 45000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "redirect_peer into A");
	CHECK_MEM(out, exp, n, "from host:published port to A");
	CHECK_EQ(ep(EP_A).rx_packets, 1, "A rx");
	CHECK_EQ(node().nat_hairpin_packets, 3, "nat_hairpin_packets");
	CHECK_EQ(node().nat_dnat_packets, 0, "not counted as DNAT from outside");
	CHECK_EQ(drops_total(node().drops), 0, "no drops");
}

/* eth + IPv4 + ICMP echo (type 8) or echo reply (0), id, seq 1, 10 bytes. */
static size_t frame_icmp(uint8_t *p, const uint8_t dst[6], const uint8_t src[6],
			 const char *saddr, const char *daddr, uint8_t type, uint16_t id)
{
	size_t n = hx_eth(p, dst, src, ETH_P_IP);
	uint8_t *c;
	uint16_t s;

	n += hx_ipv4(p + n, hx_ip(saddr), hx_ip(daddr), 1, 8 + sizeof(PAYLOAD));
	c = p + n;
	memset(c, 0, 8);
	c[0] = type;
	c[4] = id >> 8, c[5] = id & 0xff;
	c[7] = 1;
	memcpy(c + 8, PAYLOAD, sizeof(PAYLOAD));
	s = hx_csum(c, 8 + sizeof(PAYLOAD));
	c[2] = s >> 8, c[3] = s & 0xff;
	return n + 8 + sizeof(PAYLOAD);
}

TEST(masquerade_ping_uses_the_echo_identifier)
{
	uint8_t in[256], out[256], exp[256];
	struct hx_run r;
	size_t n;

	if (!nat_setup())
		return;
	/* id 0x1234 of 10.1.0.2 became 61500 on 192.168.1.1. */
	masq_put("10.1.0.2", 0x1234, "203.0.113.9", 0, 1, 61500);
	n = frame_icmp(in, HOST_MAC, MAC_A, "10.1.0.2", "203.0.113.9", 8, 0x1234);
	frame_icmp(exp, HOST_MAC, MAC_A, HOSTIP, "203.0.113.9", 8, 61500);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "echo request out");
	CHECK_MEM(out, exp, n, "source and identifier rewritten, checksums valid");
	n = frame_icmp(in, UL_MAC, PEER_MAC, "203.0.113.9", HOSTIP, 0, 61500);
	frame_icmp(exp, MAC_A, HOST_MAC, "203.0.113.9", "10.1.0.2", 0, 0x1234);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "echo reply into the container");
	CHECK_MEM(out, exp, n, "destination and identifier restored");
	/* Other ICMP (here: destination unreachable) is not ours. */
	n = frame_icmp(in, UL_MAC, PEER_MAC, "203.0.113.9", HOSTIP, 3, 61500);
	r = run_ext(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "ICMP error: to the stack");
	CHECK_MEM(out, in, n, "untouched");
}
