/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * common.h - constants the data path needs that a BTF-generated vmlinux.h
 * cannot provide (uapi #defines carry no BTF), and small shared helpers.
 * Included first by every bpf/lib header.
 */
#ifndef SHOAL_BPF_COMMON_H
#define SHOAL_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "shoal_maps.h"

/* include/uapi/linux/pkt_cls.h: #defines, absent from vmlinux.h. */
#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#endif

/* include/uapi/linux/if_ether.h */
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806

/* include/uapi/linux/in.h is an enum in vmlinux.h (IPPROTO_UDP); these are not. */
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/*
 * include/uapi/linux/bpf.h: BPF_F_ADJ_ROOM_ENCAP_L2() is a function-like
 * macro, so it is missing from vmlinux.h; the MASK/SHIFT it is built from
 * are enum constants there and are used as is.
 */
#ifndef BPF_F_ADJ_ROOM_ENCAP_L2
#define BPF_F_ADJ_ROOM_ENCAP_L2(len)                                            \
	(((__u64)len & BPF_ADJ_ROOM_ENCAP_L2_MASK) << BPF_ADJ_ROOM_ENCAP_L2_SHIFT)
#endif

/* ARP (RFC 826) for Ethernet/IPv4, the only kind the responder answers. */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

struct arp_eth_ipv4 {
	struct arphdr hdr;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/* VXLAN (RFC 7348): flags word with the I bit, then VNI << 8. */
#define VXLAN_FLAG_I 0x08000000U /* host order of the first word */

/* Fixed-size copies: the compiler turns these into plain loads/stores. */
static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN);
}

/* Packet bounds in the form the verifier wants: data + len <= data_end. */
#define PKT_OK(ptr, len, end) ((void *)(ptr) + (len) <= (void *)(end))

/*
 * Make the first len bytes of the packet (or all of it, if shorter)
 * linear so that direct packet access can reach them. Usually a no-op:
 * the stack keeps headers in the linear head; but a GRO'd or
 * user-built skb may not, and a header we cannot see must not be
 * mistaken for a truncated one. Invalidates packet pointers: call it
 * before taking any. Returns 1 if it pulled, 0 if there was nothing to
 * do, or a negative error.
 */
static __always_inline int pkt_pull(struct __sk_buff *ctx, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 skb_len = ctx->len;
	int ret = 0;

	if (len > skb_len)
		len = skb_len;
	if (data + len > data_end)
		ret = bpf_skb_pull_data(ctx, len) ? -1 : 1;
	/*
	 * Verifier workaround: without this barrier clang merges the
	 * callers' later ctx->data / ctx->data_end loads across both
	 * branches into one load through "ctx + register", which the
	 * verifier rejects ("dereference of modified ctx ptr").
	 */
	asm volatile("" ::: "memory");
	return ret;
}

#endif /* SHOAL_BPF_COMMON_H */
