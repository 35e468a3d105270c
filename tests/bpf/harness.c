// SPDX-License-Identifier: Apache-2.0
/*
 * harness.c - skeleton, maps and BPF_PROG_TEST_RUN plumbing for the BPF
 * unit tests (see harness.h).
 *
 * Pinning: every map is LIBBPF_PIN_BY_NAME, so a plain open would pin
 * under (and, worse, reuse maps from) /sys/fs/bpf. Clearing each map's
 * pin path between open and load makes libbpf create private maps that
 * vanish with the skeleton: the tests leave nothing behind and never
 * touch a running daemon's maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "shoal.skel.h"
#include "harness.h"

struct shoal_bpf *hx_skel;
static int hx_ncpu;

static int silent_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	/* Warnings and errors only (verifier logs on a failed load). */
	if (lvl == LIBBPF_DEBUG || lvl == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int hx_setup(void)
{
	struct bpf_map *m;
	int err;

	libbpf_set_print(silent_print);
	hx_ncpu = libbpf_num_possible_cpus();
	if (hx_ncpu <= 0)
		return hx_ncpu ? hx_ncpu : -EINVAL;
	hx_skel = shoal_bpf__open();
	if (!hx_skel)
		return -errno;
	bpf_object__for_each_map(m, hx_skel->obj) {
		err = bpf_map__set_pin_path(m, NULL);
		if (err)
			return err;
	}
	return shoal_bpf__load(hx_skel);
}

void hx_teardown(void)
{
	shoal_bpf__destroy(hx_skel);
	hx_skel = NULL;
}

static int hash_clear(struct bpf_map *m, size_t key_size)
{
	unsigned char key[64];

	if (key_size > sizeof(key))
		return -E2BIG;
	/* Always delete the first key: deleting while walking with
	 * get_next_key would restart the walk anyway. */
	while (bpf_map_get_next_key(bpf_map__fd(m), NULL, key) == 0)
		if (bpf_map_delete_elem(bpf_map__fd(m), key))
			return -errno;
	return 0;
}

static int array_zero(struct bpf_map *m, size_t val_size, int percpu)
{
	size_t n = percpu ? (size_t)hx_ncpu : 1;
	void *zero = calloc(n, val_size);
	__u32 k = 0;
	int err = 0;

	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(bpf_map__fd(m), &k, zero, BPF_ANY))
		err = -errno;
	free(zero);
	return err;
}

int hx_reset(void)
{
	__typeof__(hx_skel->maps) *m = &hx_skel->maps; /* anonymous in the skeleton */
	int err = 0;

	err = err ?: hash_clear(m->endpoints, sizeof(struct shoal_ep_key));
	err = err ?: hash_clear(m->ifaces, sizeof(__u32));
	err = err ?: hash_clear(m->networks, sizeof(__u32));
	err = err ?: hash_clear(m->subnets, sizeof(struct shoal_subnet_key));
	err = err ?: hash_clear(m->ep_stats, sizeof(__u32));
	err = err ?: hash_clear(m->nodes, sizeof(__u32));
	err = err ?: hash_clear(m->ports, sizeof(struct shoal_port_key));
	err = err ?: hash_clear(m->nat_ct, sizeof(struct shoal_ct_key));
	err = err ?: hash_clear(m->ext_ifaces, sizeof(__u32));
	err = err ?: hash_clear(m->host_addrs, sizeof(__u32));
	err = err ?: array_zero(m->node_config, sizeof(struct shoal_node_cfg), 0);
	err = err ?: array_zero(m->node_stats, sizeof(struct shoal_node_stats), 1);
	err = err ?: hash_clear(m->flows, sizeof(struct shoal_flow_key));
	err = err ?: array_zero(m->obs_stats, sizeof(struct shoal_obs_stats), 1);
	if (!err && hx_events(NULL, 0) < 0)
		err = -EIO;
	return err;
}

struct hx_run hx_run(const struct bpf_program *prog, const void *in, uint32_t len,
		     uint32_t ifindex, void *out, uint32_t cap)
{
	/* Only ifindex is set: BPF_PROG_TEST_RUN rejects a ctx_in with
	 * fields it does not accept set, and uses ifindex to pick skb->dev
	 * (it must name an existing device of this netns; 1 is always lo). */
	struct __sk_buff skb = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len,
		    .data_out = out, .data_size_out = cap, .ctx_in = &skb,
		    .ctx_size_in = sizeof(skb), .repeat = 1);
	struct hx_run r = { 0 };

	r.err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o); /* 0 or -errno */
	r.retval = o.retval;
	r.out_len = o.data_size_out;
	return r;
}

struct hx_run hx_run_n(const struct bpf_program *prog, const void *in, uint32_t len,
		       uint32_t ifindex, uint32_t repeat)
{
	struct __sk_buff skb = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .ctx_in = &skb,
		    .ctx_size_in = sizeof(skb), .repeat = repeat);
	struct hx_run r = { 0 };

	r.err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	r.retval = o.retval;
	return r;
}

/*
 * Key k of per-CPU map m: hx_ncpu values of vsz bytes each (calloc'd, the
 * caller frees them); NULL with *err set (-ENOMEM, -errno of the lookup).
 */
static void *percpu_get(const struct bpf_map *m, const void *k, size_t vsz, int *err)
{
	void *v = calloc(hx_ncpu, vsz);

	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	if (bpf_map_lookup_elem(bpf_map__fd(m), k, v)) {
		*err = -errno;
		free(v);
		return NULL;
	}
	return v;
}

int hx_flow(const struct shoal_flow_key *k, struct shoal_flow_val *sum)
{
	struct shoal_flow_val *v;
	int err;

	memset(sum, 0, sizeof(*sum));
	v = percpu_get(hx_skel->maps.flows, k, sizeof(*v), &err);
	if (!v)
		return err;
	for (int c = 0; c < hx_ncpu; c++) {
		if (!v[c].first_ns)
			continue;
		sum->packets += v[c].packets;
		sum->bytes += v[c].bytes;
		if (!sum->first_ns || v[c].first_ns < sum->first_ns)
			sum->first_ns = v[c].first_ns;
		if (v[c].last_ns > sum->last_ns)
			sum->last_ns = v[c].last_ns;
		sum->tcp_flags |= v[c].tcp_flags;
	}
	free(v);
	return 0;
}

size_t hx_flow_count(void)
{
	struct shoal_flow_key k, next;
	int fd = bpf_map__fd(hx_skel->maps.flows);
	size_t n = 0;

	for (int rc = bpf_map_get_next_key(fd, NULL, &next); rc == 0;
	     rc = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		n++;
	}
	return n;
}

int hx_obs_stats(struct shoal_obs_stats *sum)
{
	struct shoal_obs_stats *v;
	__u32 k = 0;
	int err;

	memset(sum, 0, sizeof(*sum));
	v = percpu_get(hx_skel->maps.obs_stats, &k, sizeof(*v), &err);
	if (!v)
		return err;
	for (int c = 0; c < hx_ncpu; c++) {
		sum->flows_created += v[c].flows_created;
		sum->flows_failed += v[c].flows_failed;
		sum->ev_sent += v[c].ev_sent;
		sum->ev_lost += v[c].ev_lost;
		sum->ev_ratelimited += v[c].ev_ratelimited;
	}
	free(v);
	return 0;
}

struct ev_sink {
	struct shoal_event *ev;
	int cap, n;
};

static int ev_collect(void *ctx, void *data, size_t size)
{
	struct ev_sink *s = ctx;

	if (size >= sizeof(struct shoal_event) && s->n < s->cap)
		memcpy(&s->ev[s->n], data, sizeof(struct shoal_event));
	s->n++;
	return 0;
}

int hx_events(struct shoal_event *ev, int cap)
{
	struct ev_sink s = { .ev = ev, .cap = ev ? cap : 0 };
	struct ring_buffer *rb;
	int rc;

	rb = ring_buffer__new(bpf_map__fd(hx_skel->maps.events), ev_collect, &s, NULL);
	if (!rb)
		return -errno;
	rc = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return rc < 0 ? rc : s.n;
}

static int update(struct bpf_map *m, const void *k, const void *v)
{
	return bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY) ? -errno : 0;
}

int hx_set_cfg(const struct shoal_node_cfg *cfg)
{
	__u32 k = 0;

	return update(hx_skel->maps.node_config, &k, cfg);
}

int hx_set_net(uint32_t net_id, const struct shoal_net_val *net)
{
	struct shoal_subnet_key sk = { .prefixlen = (__u32)__builtin_popcount(net->mask),
				       .addr = net->subnet };
	struct shoal_subnet_val sv = { .net_id = net_id, .gateway = net->gateway };

	/* as loader_put_network: the subnet trie beside the networks map */
	return update(hx_skel->maps.networks, &net_id, net) ?:
	       update(hx_skel->maps.subnets, &sk, &sv);
}

int hx_set_iface(uint32_t ifindex, const struct shoal_iface_val *iface)
{
	return update(hx_skel->maps.ifaces, &ifindex, iface);
}

int hx_set_ep(uint32_t net_id, uint32_t ip, const struct shoal_ep_val *ep)
{
	struct shoal_ep_key k = { .net_id = net_id, .ip = ip };

	return update(hx_skel->maps.endpoints, &k, ep);
}

int hx_add_stats(uint32_t ep_id)
{
	void *zero = calloc(hx_ncpu, sizeof(struct shoal_ep_stats));
	int err;

	if (!zero)
		return -ENOMEM;
	err = update(hx_skel->maps.ep_stats, &ep_id, zero);
	free(zero);
	return err;
}

int hx_ep_stats(uint32_t ep_id, struct shoal_ep_stats *sum)
{
	/* sizeof is a multiple of 8, so per-CPU values are packed without
	 * the round-up libbpf would otherwise require. */
	struct shoal_ep_stats *v;
	int err;

	memset(sum, 0, sizeof(*sum));
	v = percpu_get(hx_skel->maps.ep_stats, &ep_id, sizeof(*v), &err);
	if (!v)
		return err;
	for (int c = 0; c < hx_ncpu; c++) {
		sum->rx_packets += v[c].rx_packets;
		sum->rx_bytes += v[c].rx_bytes;
		sum->tx_packets += v[c].tx_packets;
		sum->tx_bytes += v[c].tx_bytes;
		for (int d = 0; d < SHOAL_DROP_MAX; d++)
			sum->drops[d] += v[c].drops[d];
	}
	free(v);
	return 0;
}

int hx_node_stats(struct shoal_node_stats *sum)
{
	struct shoal_node_stats *v;
	__u32 k = 0;
	int err;

	memset(sum, 0, sizeof(*sum));
	v = percpu_get(hx_skel->maps.node_stats, &k, sizeof(*v), &err);
	if (!v)
		return err;
	for (int c = 0; c < hx_ncpu; c++) {
		for (int d = 0; d < SHOAL_DROP_MAX; d++)
			sum->drops[d] += v[c].drops[d];
		sum->rx_vxlan_packets += v[c].rx_vxlan_packets;
		sum->rx_vxlan_bytes += v[c].rx_vxlan_bytes;
		sum->tx_vxlan_packets += v[c].tx_vxlan_packets;
		sum->tx_vxlan_bytes += v[c].tx_vxlan_bytes;
		sum->nat_dnat_packets += v[c].nat_dnat_packets;
		sum->nat_revdnat_packets += v[c].nat_revdnat_packets;
		sum->nat_snat_packets += v[c].nat_snat_packets;
		sum->nat_revsnat_packets += v[c].nat_revsnat_packets;
		sum->nat_hairpin_packets += v[c].nat_hairpin_packets;
	}
	free(v);
	return 0;
}

_Static_assert(sizeof(struct shoal_ep_stats) % 8 == 0, "per-CPU value size");
_Static_assert(sizeof(struct shoal_node_stats) % 8 == 0, "per-CPU value size");
_Static_assert(sizeof(struct shoal_flow_val) % 8 == 0, "per-CPU value size");
_Static_assert(sizeof(struct shoal_obs_stats) % 8 == 0, "per-CPU value size");

uint32_t hx_ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "bad IPv4 literal in test: %s\n", s);
		abort();
	}
	return a.s_addr;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

size_t hx_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t proto)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, proto);
	return 14;
}

size_t hx_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa_nbo,
	      const uint8_t tha[6], uint32_t tpa_nbo)
{
	put16(p, 1);           /* htype Ethernet */
	put16(p + 2, 0x0800);  /* ptype IPv4 */
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, op);
	memcpy(p + 8, sha, 6);
	memcpy(p + 14, &spa_nbo, 4);
	memcpy(p + 18, tha, 6);
	memcpy(p + 24, &tpa_nbo, 4);
	return 28;
}

uint16_t hx_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t hx_ipv4(uint8_t *p, uint32_t saddr_nbo, uint32_t daddr_nbo, uint8_t proto,
	       uint16_t payload_len)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, 20 + payload_len);
	put16(p + 4, 0x1234); /* id */
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, &saddr_nbo, 4);
	memcpy(p + 16, &daddr_nbo, 4);
	put16(p + 10, hx_csum(p, 20));
	return 20;
}

size_t hx_udp(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t payload_len)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, 8 + payload_len);
	put16(p + 6, 0);
	return 8;
}

size_t hx_vxlan(uint8_t *p, uint8_t flags, uint32_t vni)
{
	memset(p, 0, 8);
	p[0] = flags;
	p[4] = vni >> 16;
	p[5] = vni >> 8;
	p[6] = vni;
	return 8;
}
