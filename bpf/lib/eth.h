/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* eth.h - Ethernet header access. */
#ifndef SHOAL_BPF_ETH_H
#define SHOAL_BPF_ETH_H

#include "lib/common.h"

/*
 * The Ethernet header at the start of the packet, or NULL if the frame is
 * shorter than one. TC sees the frame from the MAC header on, so data
 * points at h_dest.
 */
static __always_inline struct ethhdr *eth_hdr_get(struct __sk_buff *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (!PKT_OK(eth, sizeof(*eth), data_end))
		return NULL;
	return eth;
}

#endif /* SHOAL_BPF_ETH_H */
