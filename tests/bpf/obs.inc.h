/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obs.inc.h - BPF tests of the observability hooks (bpf/lib/flow.h,
 * bpf/lib/events.h): flow entries on every path with exact counts,
 * switches, TCP flags, drop events (reason, where, endpoint, tuple),
 * flow start/end events and the per-CPU event rate limit. Included by
 * test_bpf.c (its fixtures: setup(), frame_udp(), run_fc()...).
 */

/* node_config with extra SHOAL_CFG_* flags on top of accounting. */
static bool cfg_flags(__u16 flags)
{
	struct shoal_node_cfg c = cfg_default();

	c.flags |= flags;
	CHECK_EQ(hx_set_cfg(&c), 0, "node_config");
	return true;
}

static struct shoal_flow_key fkey(uint32_t ep_id, uint8_t dir, const char *s, const char *d,
				  uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct shoal_flow_key k = { .ep_id = ep_id, .dir = dir, .proto = proto,
				    .saddr = hx_ip(s), .daddr = hx_ip(d),
				    .sport = htons(sport), .dport = htons(dport) };
	return k;
}

/* eth + IPv4 + TCP (20-byte header, flags as given) + 10 payload bytes. */
static size_t obs_frame_tcp(uint8_t *p, const char *saddr, const char *daddr, uint16_t sport,
			uint16_t dport, uint8_t flags)
{
	size_t n = hx_eth(p, MAC_B, MAC_A, ETH_P_IP);

	n += hx_ipv4(p + n, hx_ip(saddr), hx_ip(daddr), 6, 20 + sizeof(PAYLOAD));
	memset(p + n, 0, 20);
	p[n] = sport >> 8;
	p[n + 1] = sport & 0xff;
	p[n + 2] = dport >> 8;
	p[n + 3] = dport & 0xff;
	p[n + 12] = 5 << 4; /* data offset: 5 words */
	p[n + 13] = flags;
	n += 20;
	memcpy(p + n, PAYLOAD, sizeof(PAYLOAD));
	return n + sizeof(PAYLOAD);
}

TEST(flows_off_by_default_records_nothing)
{
	uint8_t in[128];
	struct hx_run r;
	size_t n;

	if (!setup(false))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	r = hx_run_n(hx_skel->progs.from_container, in, n, IFX, 3);
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(hx_flow_count(), 0, "no flow entry with SHOAL_CFG_FLOWS off");
	CHECK_EQ(hx_events(NULL, 0), 0, "no event");
}

TEST(flows_local_delivery_counts_sender_and_receiver_exactly)
{
	struct shoal_flow_key ka = fkey(EP_A, SHOAL_FLOW_EGRESS, "10.1.0.2", "10.1.0.3", 17, 1000, 2000);
	struct shoal_flow_key kb = fkey(EP_B, SHOAL_FLOW_INGRESS, "10.1.0.2", "10.1.0.3", 17, 1000, 2000);
	struct shoal_obs_stats o;
	struct shoal_flow_val v;
	uint8_t in[128];
	struct hx_run r;
	uint64_t t0, t1;
	size_t n;

	if (!setup(false) || !cfg_flags(SHOAL_CFG_FLOWS))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.3", 2000);
	t0 = mono_coarse_ns();
	r = hx_run_n(hx_skel->progs.from_container, in, n, IFX, 1000);
	t1 = mono_coarse_ns();
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "delivered");
	CHECK_EQ(hx_flow(&ka, &v), 0, "sender's egress flow");
	CHECK_EQ(v.packets, 1000, "egress packets");
	CHECK_EQ(v.bytes, 1000 * n, "egress bytes");
	CHECK(v.first_ns >= t0 && v.last_ns <= t1 + 10000000ULL && v.first_ns <= v.last_ns,
	      "first/last seen within the run");
	CHECK_EQ(v.tcp_flags, 0, "UDP: no flags");
	CHECK_EQ(hx_flow(&kb, &v), 0, "receiver's ingress flow");
	CHECK_EQ(v.packets, 1000, "ingress packets");
	CHECK_EQ(v.bytes, 1000 * n, "ingress bytes");
	CHECK_EQ(hx_flow_count(), 2, "exactly two entries");
	CHECK_EQ(hx_obs_stats(&o), 0, "obs_stats");
	CHECK_EQ(o.flows_created, 2, "two flows created");
	CHECK_EQ(o.flows_failed, 0, "none failed");
	CHECK_EQ(ep(EP_A).tx_packets, 1000, "ep_stats agree");
}

TEST(flows_to_host_remote_underlay_and_to_container)
{
	struct shoal_flow_key k;
	struct shoal_flow_val v;
	uint8_t in[256], inner[128], out[256];
	struct hx_run r;
	size_t n, ni;

	/* To the host stack (outside the subnet): egress flow of A. */
	if (!setup(false) || !cfg_flags(SHOAL_CFG_FLOWS))
		return;
	n = frame_udp(in, HOST_MAC, MAC_A, "10.1.0.2", "8.8.8.8", 53);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "to host");
	k = fkey(EP_A, SHOAL_FLOW_EGRESS, "10.1.0.2", "8.8.8.8", 17, 1000, 53);
	CHECK_EQ(hx_flow(&k, &v), 0, "host-bound flow");
	CHECK_EQ(v.packets, 1, "packets");
	CHECK_EQ(v.bytes, n, "bytes");

	/* Host stack -> container (to_container): ingress flow of A. */
	n = frame_udp(in, MAC_A, HOST_MAC, "10.1.0.1", "10.1.0.2", 7777);
	r = hx_run(hx_skel->progs.to_container, in, n, IFX, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_OK, "delivered");
	k = fkey(EP_A, SHOAL_FLOW_INGRESS, "10.1.0.1", "10.1.0.2", 17, 1000, 7777);
	CHECK_EQ(hx_flow(&k, &v), 0, "to_container flow");
	CHECK_EQ(v.packets, 1, "packets");
	CHECK_EQ(v.bytes, n, "bytes");

	/* Overlay: D -> remote R, encapsulated: egress flow, inner bytes. */
	if (!setup(true) || !cfg_flags(SHOAL_CFG_FLOWS))
		return;
	n = frame_udp(in, MAC_R, MAC_D, "10.2.0.2", "10.2.0.9", 2000);
	r = run_fc(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "encapsulated");
	k = fkey(EP_D, SHOAL_FLOW_EGRESS, "10.2.0.2", "10.2.0.9", 17, 1000, 2000);
	CHECK_EQ(hx_flow(&k, &v), 0, "overlay egress flow");
	CHECK_EQ(v.bytes, n, "inner bytes");

	/* Overlay: VXLAN from the peer to local C: ingress flow of C. */
	ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.5", 3000);
	n = frame_vxlan(in, 0x08, VNI, inner, ni);
	r = run_ul(in, n, out, sizeof(out));
	CHECK_EQ(r.retval, TC_ACT_REDIRECT, "decapsulated");
	k = fkey(EP_C, SHOAL_FLOW_INGRESS, "10.2.0.9", "10.2.0.5", 17, 1000, 3000);
	CHECK_EQ(hx_flow(&k, &v), 0, "overlay ingress flow");
	CHECK_EQ(v.packets, 1, "packets");
	CHECK_EQ(v.bytes, ni, "inner bytes delivered");
	CHECK_EQ(hx_flow_count(), 2, "two overlay flows");
}

TEST(flows_tcp_flags_and_flow_start_end_events)
{
	struct shoal_flow_key k = fkey(EP_A, SHOAL_FLOW_EGRESS, "10.1.0.2", "10.1.0.3", 6, 40000, 80);
	struct shoal_event ev[8];
	struct shoal_flow_val v;
	uint8_t in[128], out[128];
	size_t n;
	int ne;

	if (!setup(false) || !cfg_flags(SHOAL_CFG_FLOWS | SHOAL_CFG_EV_FLOW))
		return;
	n = obs_frame_tcp(in, "10.1.0.2", "10.1.0.3", 40000, 80, 0x02 /* SYN */);
	run_fc(in, n, out, sizeof(out));
	n = obs_frame_tcp(in, "10.1.0.2", "10.1.0.3", 40000, 80, 0x10 /* ACK */);
	run_fc(in, n, out, sizeof(out));
	n = obs_frame_tcp(in, "10.1.0.2", "10.1.0.3", 40000, 80, 0x11 /* FIN|ACK */);
	run_fc(in, n, out, sizeof(out));
	run_fc(in, n, out, sizeof(out)); /* retransmitted FIN: no second end */
	CHECK_EQ(hx_flow(&k, &v), 0, "TCP flow");
	CHECK_EQ(v.packets, 4, "packets");
	CHECK_EQ(v.tcp_flags, 0x13, "SYN|ACK|FIN seen");
	ne = hx_events(ev, 8);
	/* start + end for A's egress flow, start for B's ingress flow,
	 * end for B's ingress flow */
	CHECK_EQ(ne, 4, "events");
	if (ne != 4)
		return;
	CHECK_EQ(ev[0].type, SHOAL_EV_FLOW_START, "first: start");
	CHECK_EQ(ev[0].ep_id, EP_A, "of A");
	CHECK_EQ(ev[0].dir, SHOAL_FLOW_EGRESS, "egress");
	CHECK_EQ(ev[0].sport, htons(40000), "sport");
	CHECK_EQ(ev[0].dport, htons(80), "dport");
	CHECK_EQ(ev[0].proto, 6, "TCP");
	CHECK_EQ(ev[1].type, SHOAL_EV_FLOW_START, "then B's start");
	CHECK_EQ(ev[1].ep_id, EP_B, "of B");
	CHECK_EQ(ev[2].type, SHOAL_EV_FLOW_END, "A's end");
	CHECK_EQ(ev[2].packets, 3, "counters at the end");
	CHECK_EQ(ev[2].tcp_flags, 0x13, "flags at the end");
	CHECK_EQ(ev[3].type, SHOAL_EV_FLOW_END, "B's end");
}

TEST(drop_event_names_reason_place_endpoint_and_tuple)
{
	struct shoal_event ev[4];
	struct shoal_obs_stats o;
	uint8_t in[128], out[128];
	size_t n;
	int ne;

	/* Events off: the drop is counted, no event. */
	if (!setup(false))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.77", 2000);
	CHECK_EQ(run_fc(in, n, out, sizeof(out)).retval, TC_ACT_SHOT, "dropped");
	CHECK_EQ(hx_events(NULL, 0), 0, "no event with events off");

	if (!cfg_flags(SHOAL_CFG_EV_DROP))
		return;
	CHECK_EQ(run_fc(in, n, out, sizeof(out)).retval, TC_ACT_SHOT, "dropped");
	ne = hx_events(ev, 4);
	CHECK_EQ(ne, 1, "one event");
	if (ne != 1)
		return;
	CHECK_EQ(ev[0].type, SHOAL_EV_DROP, "drop");
	CHECK_EQ(ev[0].reason, SHOAL_DROP_NO_ENDPOINT, "reason");
	CHECK_EQ(ev[0].src_file, SHOAL_SRC_LXC, "in lxc.h");
	CHECK(ev[0].src_line > 0, "at a line");
	CHECK_EQ(ev[0].ep_id, EP_A, "charged endpoint");
	CHECK_EQ(ev[0].ifindex, IFX, "interface");
	CHECK_EQ(ev[0].l3_proto, ETH_P_IP, "IPv4");
	CHECK_EQ(ev[0].proto, 17, "UDP");
	CHECK_EQ(ev[0].saddr, hx_ip("10.1.0.2"), "saddr");
	CHECK_EQ(ev[0].daddr, hx_ip("10.1.0.77"), "daddr");
	CHECK_EQ(ev[0].sport, htons(1000), "sport");
	CHECK_EQ(ev[0].dport, htons(2000), "dport");
	CHECK_EQ(ev[0].len, n, "length");
	CHECK(ev[0].ts_ns > 0, "timestamp");

	/* ARP for an unknown address: the ARP addresses. */
	n = frame_arp_req(in, "10.1.0.99");
	CHECK_EQ(run_fc(in, n, out, sizeof(out)).retval, TC_ACT_SHOT, "ARP dropped");
	ne = hx_events(ev, 4);
	CHECK_EQ(ne, 1, "one event");
	CHECK_EQ(ev[0].l3_proto, ETH_P_ARP, "ARP");
	CHECK_EQ(ev[0].daddr, hx_ip("10.1.0.99"), "target address");
	CHECK_EQ(ev[0].saddr, hx_ip("10.1.0.2"), "sender address");

	/* Underlay: VXLAN for an unknown local endpoint, node-level. */
	{
		uint8_t inner[128];
		size_t ni = frame_udp(inner, MAC_C, MAC_R, "10.2.0.9", "10.2.0.66", 3000);

		n = frame_vxlan(in, 0x08, VNI, inner, ni);
		CHECK_EQ(run_ul(in, n, out, sizeof(out)).retval, TC_ACT_SHOT, "dropped");
		ne = hx_events(ev, 4);
		CHECK_EQ(ne, 1, "one underlay event");
		CHECK_EQ(ev[0].src_file, SHOAL_SRC_UNDERLAY, "in underlay.h");
		CHECK_EQ(ev[0].ep_id, 0, "node");
		CHECK_EQ(ev[0].reason, SHOAL_DROP_NO_ENDPOINT, "reason");
	}
	CHECK_EQ(hx_obs_stats(&o), 0, "obs_stats");
	CHECK_EQ(o.ev_sent, 3, "three sent");
	CHECK_EQ(o.ev_lost + o.ev_ratelimited, 0, "none lost");
}

TEST(drop_events_are_rate_limited_per_cpu)
{
	struct shoal_obs_stats o;
	uint8_t in[128];
	size_t n;
	int ne;

	if (!setup(false) || !cfg_flags(SHOAL_CFG_EV_DROP))
		return;
	n = frame_udp(in, MAC_B, MAC_A, "10.1.0.2", "10.1.0.77", 2000);
	/* 1500 drops in well under a second on one CPU: the default rate
	 * (SHOAL_EVENT_RATE_DEFAULT per CPU and second) lets 1000 through. */
	CHECK_EQ(hx_run_n(hx_skel->progs.from_container, in, n, IFX, 1500).retval, TC_ACT_SHOT,
		 "dropped");
	CHECK_EQ(hx_obs_stats(&o), 0, "obs_stats");
	CHECK_EQ(o.ev_sent, SHOAL_EVENT_RATE_DEFAULT, "sent up to the rate");
	CHECK_EQ(o.ev_ratelimited, 1500 - SHOAL_EVENT_RATE_DEFAULT, "the rest counted");
	CHECK_EQ(o.ev_lost, 0, "the ring had room");
	ne = hx_events(NULL, 0);
	CHECK_EQ(ne, SHOAL_EVENT_RATE_DEFAULT, "what was sent is in the ring");
	CHECK_EQ(ep(EP_A).drops[SHOAL_DROP_NO_ENDPOINT], 1500, "every drop counted");
}
