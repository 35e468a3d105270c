// SPDX-License-Identifier: Apache-2.0
/*
 * underlay.c - the device and address VXLAN traffic leaves and arrives
 * on. --underlay-interface names the device (its first IPv4 address is
 * the node's VXLAN address unless --advertise-addr says otherwise);
 * --advertise-addr alone finds the device that holds that address.
 * With neither, the node is single-host: overlay networks are refused.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../netlink/netlink.h"
#include "daemon.h"

/*
 * Prefix length of ip on ifindex, for the data path's on-link test
 * (node_config.underlay_plen). Known when ip is the device's first IPv4
 * address (the usual single-address underlay); otherwise 0, which only
 * means peers' MACs are not cached and every packet uses the kernel's
 * FIB and neighbour table (bpf_redirect_neigh).
 */
static uint8_t underlay_prefix(int ifindex, uint32_t ip)
{
	uint32_t first = 0;
	uint8_t plen = 0;

	if (netlink_addr_first(ifindex, &first, &plen, NULL) < 0 || first != ip || plen > 32)
		return 0;
	return plen;
}

int daemon_setup_underlay(struct daemon *d, struct shoal_err *err)
{
	const char *ifname = d->cfg.underlay_interface;
	const char *adv = d->cfg.advertise_addr;
	char addr[64], a[16];
	uint32_t ip = 0;
	int ifindex = 0, ret;

	if (!ifname[0] && !adv[0])
		return 0;
	if (adv[0]) {
		/* "IP" or "IP:PORT" (the port part is for discovery). */
		snprintf(addr, sizeof(addr), "%s", adv);
		addr[strcspn(addr, ":")] = '\0';
		if (util_parse_ipv4(addr, &ip) < 0)
			return err_set(err, EINVAL, "invalid advertise-addr \"%s\": expected IPv4[:PORT]", adv);
	}
	if (ifname[0]) {
		ret = netlink_link_get(ifname, &ifindex, d->underlay.mac, &d->underlay.mtu, err);
		if (ret < 0)
			return err_wrap(err, "underlay-interface %s", ifname);
		if (!ip) {
			ret = netlink_addr_first(ifindex, &ip, NULL, err);
			if (ret < 0)
				return err_set(err, -ret,
					       "underlay-interface %s has no IPv4 address: give it one or set advertise-addr",
					       ifname);
		}
		snprintf(d->underlay.name, sizeof(d->underlay.name), "%s", ifname);
	} else {
		char name[IF_NAMESIZE] = "";

		ret = netlink_addr_find(ip, &ifindex, err);
		if (ret < 0)
			return err_wrap(err, "advertise-addr %s", adv);
		if (!if_indextoname((unsigned int)ifindex, name))
			return err_set(err, errno, "advertise-addr %s: ifindex %d: %s", adv, ifindex,
				       strerror(errno));
		ret = netlink_link_get(name, NULL, d->underlay.mac, &d->underlay.mtu, err);
		if (ret < 0)
			return ret;
		snprintf(d->underlay.name, sizeof(d->underlay.name), "%s", name);
	}
	d->underlay.ifindex = ifindex;
	d->underlay.ip = ip;
	d->underlay.plen = underlay_prefix(ifindex, ip);
	ret = loader_attach_underlay(&d->bpf, ifindex, err);
	if (ret < 0)
		return err_wrap(err, "attach from_underlay to %s", d->underlay.name);
	log_info("underlay: %s (ifindex %d, mtu %d), VXLAN endpoint %s:%d, on-link /%u%s",
		 d->underlay.name, ifindex, d->underlay.mtu, util_ipv4_str(ip, a),
		 d->cfg.vxlan_port, d->underlay.plen,
		 d->underlay.plen ? "" : " (unknown: peer MACs not cached)");
	return 0;
}

/*
 * Docker's --opt encrypted builds IPsec ESP tunnels with AES-GCM between
 * nodes. shoal does not implement that data path; say so, and name what
 * this kernel lacks for it, rather than accept a network that would
 * never connect (what Docker 20.10 does on this kernel).
 */
static bool kernel_has_symbol(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], sym[256];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %255s", sym) == 1 && strcmp(sym, name) == 0;
	fclose(f);
	return found;
}

int overlay_check_encryption(struct shoal_err *err)
{
	FILE *f = fopen("/proc/crypto", "r");
	char line[256], lacks[512] = "";
	bool gcm = false;

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "name", 4) == 0 && strstr(line, "gcm(aes)"))
				gcm = true;
		fclose(f);
	}
	if (!gcm)
		strcat(lacks, "no gcm(aes) cipher in /proc/crypto (CONFIG_CRYPTO_GCM)");
	if (!kernel_has_symbol("esp_output"))
		strcat(lacks, *lacks ? " and no ESP transform (CONFIG_INET_ESP)"
				     : "no ESP transform (CONFIG_INET_ESP)");
	if (*lacks)
		return err_set(err, EOPNOTSUPP,
			       "encrypted overlay networks need IPsec ESP with AES-GCM in the kernel, and this "
			       "kernel has %s; shoal's gossip control plane is encrypted, the VXLAN data "
			       "plane is not", lacks);
	return err_set(err, EOPNOTSUPP,
		       "encrypted overlay networks (IPsec ESP) are not implemented by shoal's eBPF data plane");
}
