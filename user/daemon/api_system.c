// SPDX-License-Identifier: Apache-2.0
/* api_system.c - /version and /info with Docker's field names. */
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../common/names.h"
#include "../common/util.h"
#include "../image/image.h"
#include "../storage/storage.h"
#include "daemon.h"

static const char *go_arch(const char *machine)
{
	if (strcmp(machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(machine, "aarch64") == 0)
		return "arm64";
	return machine;
}

static void os_pretty_name(char *buf, size_t len)
{
	FILE *f = fopen("/etc/os-release", "r");
	char line[512];

	snprintf(buf, len, "Linux");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			char *v = line + 12;
			size_t l;
			if (*v == '"')
				v++;
			l = strcspn(v, "\"\n");
			snprintf(buf, len, "%.*s", (int)l, v);
			break;
		}
	}
	fclose(f);
}

json_t *api_version_json(void)
{
	struct utsname u;

	uname(&u);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:{s:s}}",
			 "Version", SHOAL_VERSION, "ApiVersion", SHOAL_API_VERSION,
			 "MinAPIVersion", SHOAL_MIN_API_VERSION, "GitCommit", "",
			 "Os", "linux", "Arch", go_arch(u.machine), "KernelVersion", u.release,
			 "BuildTime", __DATE__ " " __TIME__,
			 "Components", "Name", "Engine", "Version", SHOAL_VERSION,
			 "Platform", "Name", "shoal");
}

json_t *api_info_json(struct daemon *d, size_t n_images)
{
	struct st_network *nets = NULL;
	struct st_endpoint *eps = NULL;
	struct shoal_node_stats ns = { 0 };
	struct shoal_node_cfg cfg = { 0 };
	size_t nn = 0, ne = 0, local = 0, remote = 0;
	struct utsname u;
	struct sysinfo si;
	char os[256], started[32], now[32];
	json_t *drops = json_object();

	uname(&u);
	sysinfo(&si);
	os_pretty_name(os, sizeof(os));
	state_network_list(d->st, &nets, &nn, NULL);
	state_endpoint_list(d->st, NULL, &eps, &ne, NULL);
	for (size_t i = 0; i < ne; i++) {
		if (eps[i].remote)
			remote++;
		else
			local++;
	}
	free(eps);
	st_network_list_free(nets, nn);
	loader_node_stats_read(&d->bpf, &ns, NULL);
	loader_get_node_cfg(&d->bpf, &cfg, NULL);
	for (int i = 0; i < SHOAL_DROP_MAX; i++)
		json_object_set_new(drops, shoal_drop_names[i], json_integer((json_int_t)ns.drops[i]));
	util_time_rfc3339(d->started, started);
	util_time_rfc3339(time(NULL), now);

	json_t *underlay = json_null();
	json_t *driver_status = d->storage ? d->storage->ops->status(d->storage) : NULL;
	if (!driver_status)
		driver_status = json_array();
	if (d->underlay.ifindex) {
		char ip[16], mac[18];
		underlay = json_pack("{s:s, s:i, s:s, s:s, s:i, s:i}", "Interface", d->underlay.name,
				     "Ifindex", d->underlay.ifindex, "Address",
				     util_ipv4_str(d->underlay.ip, ip), "MacAddress",
				     util_mac_str(d->underlay.mac, mac), "MTU", d->underlay.mtu,
				     "VxlanPort", d->cfg.vxlan_port);
	}
	json_t *info = json_pack(
		"{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:i, s:i, s:i, s:i,"
		" s:s, s:s, s:o}",
		"ID", d->id, "Name", d->cfg.node_name, "ServerVersion", SHOAL_VERSION,
		"Driver", d->storage ? d->storage->ops->name : "none", "DriverStatus", driver_status,
		"DockerRootDir", d->cfg.data_root,
		"KernelVersion", u.release, "OperatingSystem", os, "OSType", "linux",
		"Architecture", u.machine, "NCPU", (int)sysconf(_SC_NPROCESSORS_ONLN),
		"MemTotal", (json_int_t)si.totalram * (json_int_t)si.mem_unit,
		"Containers", 0, "ContainersRunning", 0, "ContainersPaused", 0,
		"ContainersStopped", 0, "Images", (int)n_images, "SystemTime", now, "LoggingDriver", "json-file",
		"Shoal", json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:o, s:{s:o, s:I, s:I, s:I, s:I}}",
				   "NodeName", d->cfg.node_name, "ExecRoot", d->cfg.exec_root,
				   "BpffsRoot", d->cfg.bpffs_root, "PinDir", d->bpf.pin_dir,
				   "StartedAt", started,
				   "Accounting", (cfg.flags & SHOAL_CFG_ACCOUNTING) != 0,
				   "Networks", (json_int_t)nn, "Endpoints", (json_int_t)local,
				   "RemoteEndpoints", (json_int_t)remote, "Underlay", underlay,
				   "NodeStats", "Drops", drops,
				   "RxVxlanPackets", (json_int_t)ns.rx_vxlan_packets,
				   "RxVxlanBytes", (json_int_t)ns.rx_vxlan_bytes,
				   "TxVxlanPackets", (json_int_t)ns.tx_vxlan_packets,
				   "TxVxlanBytes", (json_int_t)ns.tx_vxlan_bytes));

	if (info) {
		json_t *sh = json_object_get(info, "Shoal");

		/* Observability switches as the data path has them. */
		json_t *nst = json_object_get(sh, "NodeStats");

		/* Published ports and masquerade (ports.c, bpf/lib/nat.h). */
		json_object_set_new(sh, "IPMasq", json_boolean(cfg.flags & SHOAL_CFG_MASQUERADE));
		json_object_set_new(nst, "NatDnatPackets", json_integer((json_int_t)ns.nat_dnat_packets));
		json_object_set_new(nst, "NatRevDnatPackets", json_integer((json_int_t)ns.nat_revdnat_packets));
		json_object_set_new(nst, "NatSnatPackets", json_integer((json_int_t)ns.nat_snat_packets));
		json_object_set_new(nst, "NatRevSnatPackets", json_integer((json_int_t)ns.nat_revsnat_packets));
		json_object_set_new(nst, "NatHairpinPackets", json_integer((json_int_t)ns.nat_hairpin_packets));
		json_object_set_new(sh, "FlowAccounting", json_boolean(cfg.flags & SHOAL_CFG_FLOWS));
		json_object_set_new(sh, "FlowTableSize",
				    json_integer((json_int_t)loader_flows_capacity(&d->bpf)));
		json_object_set_new(sh, "Events", json_string(d->cfg.events));
		json_object_set_new(sh, "EventRateLimit", json_integer(d->cfg.event_rate_limit));
		json_object_set_new(sh, "MetricsAddr", json_string(d->cfg.metrics_addr));
		json_object_set_new(info, "Swarm", swarm_info_json(d));
		json_object_set_new(info, "ClusterStore", json_string(d->cfg.cluster_store));
		json_object_set_new(info, "ClusterAdvertise", json_string(d->cfg.cluster_advertise));
		json_object_set_new(json_object_get(info, "Shoal"), "ClusterStore", kvdisc_info_json(d));
		json_object_set_new(json_object_get(info, "Shoal"), "Gossip",
				    swarm_gossip_counters_json(d));
	}
	return info;
}
