// SPDX-License-Identifier: Apache-2.0
/* names.c - user-visible names of data-path enums. */
#include "names.h"

const char *const shoal_drop_names[SHOAL_DROP_MAX] = {
	[SHOAL_DROP_NO_ENDPOINT] = "no_endpoint",
	[SHOAL_DROP_NOT_ALLOWED] = "not_allowed",
	[SHOAL_DROP_MALFORMED] = "malformed",
	[SHOAL_DROP_UNKNOWN_NETWORK] = "unknown_network",
	[SHOAL_DROP_UNKNOWN_VNI] = "unknown_vni",
	[SHOAL_DROP_NO_UNDERLAY] = "no_underlay",
	[SHOAL_DROP_REDIRECT] = "redirect_failed",
	[SHOAL_DROP_UNSUPPORTED] = "unsupported",
	[SHOAL_DROP_NAT_NO_PORT] = "nat_no_port",
	[SHOAL_DROP_NAT_CT_FULL] = "nat_ct_full",
	[SHOAL_DROP_NAT_FAILED] = "nat_failed",
	[SHOAL_DROP_NET_ISOLATED] = "net_isolated",
};
