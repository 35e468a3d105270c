/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ipv4.h - IPv4 header validation and checksum. */
#ifndef SHOAL_BPF_IPV4_H
#define SHOAL_BPF_IPV4_H

#include "lib/common.h"

/*
 * The IPv4 header that follows the Ethernet header at eth, or NULL if it
 * is not a sane one: version 4, ihl >= 5, the fixed header inside the
 * linear data, and tot_len covering the header without running past the
 * end of the packet. Trailing bytes beyond tot_len (Ethernet padding of
 * short frames) are allowed.
 *
 * pkt_len is skb->len, NOT data_end - data: a GSO/GRO packet keeps most
 * of its payload in page fragments, so data_end is the end of the linear
 * head only, and a 64 KB TCP super-packet has tot_len far beyond it.
 */
static __always_inline struct iphdr *ipv4_hdr_get(struct ethhdr *eth, void *data_end,
						  __u32 pkt_len)
{
	struct iphdr *ip = (void *)(eth + 1);
	__u32 hlen, tot;

	if (!PKT_OK(ip, sizeof(*ip), data_end))
		return NULL;
	if (ip->version != 4 || ip->ihl < 5)
		return NULL;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen || ETH_HLEN + tot > pkt_len)
		return NULL;
	return ip;
}

/* Header length in bytes; only valid for a header from ipv4_hdr_get(). */
static __always_inline __u32 ipv4_hlen(const struct iphdr *ip)
{
	return ip->ihl * 4;
}

/*
 * Internet checksum of a 20-byte header with check = 0 (RFC 1071).
 * Plain unrolled loads: the header is one we wrote, always 20 bytes, so no
 * helper and no variable-length loop for the verifier to bound.
 */
static __always_inline __u16 ipv4_csum20(const void *hdr)
{
	const __u16 *w = hdr;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif /* SHOAL_BPF_IPV4_H */
