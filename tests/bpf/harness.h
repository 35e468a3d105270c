/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h - what the BPF unit tests share: one loaded skeleton (maps
 * never pinned), map setup and per-CPU counter readers, a
 * BPF_PROG_TEST_RUN wrapper, and builders for the frames the tests feed.
 */
#ifndef SHOAL_TEST_BPF_HARNESS_H
#define SHOAL_TEST_BPF_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "shoal_maps.h"

struct shoal_bpf;
struct bpf_program;

extern struct shoal_bpf *hx_skel;

/* Open and load the skeleton with pinning disabled. 0 or -errno. */
int hx_setup(void);
void hx_teardown(void);
/* Empty every hash map, zero every array map. */
int hx_reset(void);

/* Run prog once on in[0..len) with ctx->ifindex = ifindex.
 * out gets the resulting packet (cap bytes), *out_len its length. */
struct hx_run {
	int err;         /* bpf_prog_test_run_opts() result (0 or -errno) */
	uint32_t retval; /* the program's return value */
	uint32_t out_len;
};
struct hx_run hx_run(const struct bpf_program *prog, const void *in, uint32_t len,
		     uint32_t ifindex, void *out, uint32_t cap);

int hx_set_cfg(const struct shoal_node_cfg *cfg);
int hx_set_net(uint32_t net_id, const struct shoal_net_val *net);
int hx_set_iface(uint32_t ifindex, const struct shoal_iface_val *iface);
int hx_set_ep(uint32_t net_id, uint32_t ip, const struct shoal_ep_val *ep);
/* Create a zeroed ep_stats entry (what the daemon does per endpoint). */
int hx_add_stats(uint32_t ep_id);
/* Sum over all possible CPUs; -ENOENT if the entry does not exist. */
int hx_ep_stats(uint32_t ep_id, struct shoal_ep_stats *sum);
int hx_node_stats(struct shoal_node_stats *sum);

/* Observability (flows, obs_stats, events ring buffer). */
/* Run prog `repeat` times in one BPF_PROG_TEST_RUN (same CPU, same input). */
struct hx_run hx_run_n(const struct bpf_program *prog, const void *in, uint32_t len,
		       uint32_t ifindex, uint32_t repeat);
/* A flow summed over the CPUs (min first, max last, OR of flags); -ENOENT. */
int hx_flow(const struct shoal_flow_key *k, struct shoal_flow_val *sum);
size_t hx_flow_count(void);
int hx_obs_stats(struct shoal_obs_stats *sum);
/* Read every event in the ring into ev[0..cap); returns how many were
 * there (more than cap are counted, not stored). */
int hx_events(struct shoal_event *ev, int cap);

/* IPv4 "a.b.c.d" in network byte order (aborts on a bad literal). */
uint32_t hx_ip(const char *s);

/* Frame builders: write at p, return bytes written. Multi-byte fields in
 * arguments are host order unless named *_nbo. */
size_t hx_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t proto);
size_t hx_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa_nbo,
	      const uint8_t tha[6], uint32_t tpa_nbo);
/* 20-byte IPv4 header with a valid checksum; tot_len = 20 + payload_len. */
size_t hx_ipv4(uint8_t *p, uint32_t saddr_nbo, uint32_t daddr_nbo, uint8_t proto,
	       uint16_t payload_len);
size_t hx_udp(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t payload_len);
size_t hx_vxlan(uint8_t *p, uint8_t flags, uint32_t vni);
/* Internet checksum over len bytes (0 when the data holds a valid one). */
uint16_t hx_csum(const void *p, size_t len);

#endif
