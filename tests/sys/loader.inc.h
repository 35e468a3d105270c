/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.inc.h - user/loader against the kernel: a private bpffs under
 * /tmp that loader_open mounts itself, pins and their reuse over a
 * close/open, map helpers, per-CPU sums, incompatible pins, TC attach
 * and replace on a veth, the underlay hook, and unpinning.
 * Included by main.c (one translation unit, see there).
 */
#include <sys/mount.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../../user/loader/loader.h"
#include "shoal.skel.h"

static char ld_root[64];  /* mkdtemp: the bpffs mount point */
static char ld_ns[64];    /* netns for the attach tests */
static char ld_veth[32];  /* its host end */
static char ld_veth2[32]; /* a second veth, never attached */
static struct loader ld;
static int ld_ifindex, ld_ifindex2;

static void loader_suite_cleanup(void)
{
	loader_close(&ld);
	if (ld_ns[0]) {
		sh("ip link del %s >/dev/null 2>&1", ld_veth);
		sh("ip link del %s >/dev/null 2>&1", ld_veth2);
		sh("ip netns del %s >/dev/null 2>&1", ld_ns);
		ld_ns[0] = '\0';
	}
	if (ld_root[0]) {
		umount2(ld_root, MNT_DETACH);
		rmdir(ld_root);
		ld_root[0] = '\0';
	}
}

static int pin_exists(const char *node, const char *map)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/shoal/%s/%s", ld_root, node, map);
	return access(p, F_OK) == 0;
}

static int pin_fd(const char *node, const char *map)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/shoal/%s/%s", ld_root, node, map);
	return bpf_obj_get(p);
}

TEST(open_mounts_and_pins)
{
	static const char *maps[] = { "endpoints", "ifaces",  "networks",
				      "node_config", "ep_stats", "node_stats", "nodes" };
	struct shoal_err e = { 0 };
	struct statfs st;

	CHECK_EQ(loader_open(&ld, ld_root, "n1", &e), 0, e.msg);
	CHECK(statfs(ld_root, &st) == 0 && (unsigned long)st.f_type == 0xcafe4a11UL,
	      "bpffs mounted at the root");
	CHECK(ld.ncpus >= 1, "ncpus");
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		CHECK(pin_exists("n1", maps[i]), maps[i]);
	/* A second open on a bpffs that is already mounted reuses it. */
	loader_close(&ld);
	CHECK_EQ(loader_open(&ld, ld_root, "n1", &e), 0, e.msg);
}

TEST(bad_node_names)
{
	struct loader l2;
	struct shoal_err e = { 0 };

	CHECK_EQ(loader_open(&l2, ld_root, "a/b", &e), -EINVAL, "slash");
	CHECK_EQ(loader_open(&l2, ld_root, "..", &e), -EINVAL, "dot dot");
	CHECK_EQ(loader_open(&l2, ld_root, "", &e), -EINVAL, "empty");
	CHECK_EQ(loader_unpin(ld_root, "../n1", &e), -EINVAL, "unpin traversal");
	CHECK(l2.skel == NULL, "no skeleton after failure");
}

static struct shoal_ep_key ld_epk = { .net_id = 4097, .ip = 0x0200fd0a };

TEST(maps_put_del)
{
	struct shoal_err e = { 0 };
	struct shoal_net_val nv = { .subnet = 0x0000fd0a, .mask = 0x00ffffff, .gateway = 0x0100fd0a,
				    .vni = 4097, .mtu = 1450, .flags = SHOAL_NET_OVERLAY };
	struct shoal_ep_val ev = { .node_ip = 0x01010a0a, .ep_id = 7, .flags = SHOAL_EP_REMOTE,
				   .mac = { 2, 0x42, 1, 2, 3, 4 } };
	struct shoal_iface_val iv = { .net_id = 4097, .ep_id = 7, .ip = 0x0200fd0a };
	struct shoal_node_cfg cfg = { .underlay_ifindex = 3, .node_ip = 0x01010a0a,
				      .vxlan_port = htons(4789), .flags = SHOAL_CFG_ACCOUNTING };
	struct shoal_node_cfg got = { 0 };
	struct shoal_net_val nv2;
	struct shoal_ep_val ev2;
	__u32 k;
	int fd;

	CHECK_EQ(loader_set_node_cfg(&ld, &cfg, &e), 0, e.msg);
	CHECK_EQ(loader_get_node_cfg(&ld, &got, &e), 0, e.msg);
	CHECK_MEM(&got, &cfg, sizeof(cfg), "node_config round trip");

	CHECK_EQ(loader_put_network(&ld, 4097, &nv, &e), 0, e.msg);
	CHECK_EQ(loader_put_network(&ld, 4098, &nv, &e), 0, e.msg);
	CHECK_EQ(loader_put_endpoint(&ld, &ld_epk, &ev, &e), 0, e.msg);
	CHECK_EQ(loader_put_iface(&ld, 99, &iv, &e), 0, e.msg);

	/* Read back through the pins, not the skeleton. */
	fd = pin_fd("n1", "networks");
	k = 4097;
	CHECK(fd >= 0 && bpf_map_lookup_elem(fd, &k, &nv2) == 0, "network via pin");
	CHECK_MEM(&nv2, &nv, sizeof(nv), "network value");
	close(fd);
	fd = pin_fd("n1", "endpoints");
	CHECK(fd >= 0 && bpf_map_lookup_elem(fd, &ld_epk, &ev2) == 0, "endpoint via pin");
	CHECK_MEM(&ev2, &ev, sizeof(ev), "endpoint value");
	close(fd);

	CHECK_EQ(loader_del_network(&ld, 4098, &e), 0, e.msg);
	CHECK_EQ(loader_del_network(&ld, 4098, &e), -ENOENT, "delete twice");
	CHECK(strstr(e.msg, "networks") != NULL, e.msg);
	CHECK_EQ(loader_put_iface(&ld, 100, &iv, &e), 0, e.msg);
	CHECK_EQ(loader_del_iface(&ld, 100, &e), 0, e.msg);
	CHECK_EQ(loader_del_iface(&ld, 100, &e), -ENOENT, "iface delete twice");

	/* nodes is BPF's to fill; put one entry through the pin, as a
	 * learning from_underlay would, for reopen_keeps_state. */
	{
		struct shoal_node_val nv3 = { .mac = { 0x52, 0x54, 0, 0, 0, 2 }, .updated_ns = 42 };
		struct shoal_node_val got3;

		k = 0x02010a0a;
		fd = pin_fd("n1", "nodes");
		CHECK(fd >= 0 && bpf_map_update_elem(fd, &k, &nv3, BPF_ANY) == 0, "node via pin");
		close(fd);
		CHECK_EQ(loader_get_node(&ld, k, &got3, &e), 0, e.msg);
		CHECK_MEM(&got3, &nv3, sizeof(nv3), "node value");
		CHECK_EQ(loader_get_node(&ld, 0x03010a0a, &got3, &e), -ENOENT, "unknown node");
	}
}

TEST(stats_percpu_sum)
{
	struct shoal_err e = { 0 };
	struct shoal_ep_stats sum;
	struct shoal_node_stats ns;
	struct shoal_ep_stats *pc;
	__u32 k = 7;
	int fd;

	CHECK_EQ(loader_stats_read(&ld, 7, &sum, &e), -ENOENT, "absent before init");
	CHECK_EQ(loader_stats_init(&ld, 7, &e), 0, e.msg);
	CHECK_EQ(loader_stats_read(&ld, 7, &sum, &e), 0, e.msg);
	CHECK_EQ(sum.rx_packets + sum.tx_bytes, 0, "zeroed");

	/* Write per-CPU values by hand: CPU c gets rx_packets = c + 1,
	 * tx_bytes = 100 and one drop of reason 2. */
	pc = calloc((size_t)ld.ncpus, sizeof(*pc));
	for (int c = 0; c < ld.ncpus; c++) {
		pc[c].rx_packets = (__u64)c + 1;
		pc[c].tx_bytes = 100;
		pc[c].drops[SHOAL_DROP_MALFORMED] = 1;
	}
	fd = pin_fd("n1", "ep_stats");
	CHECK(fd >= 0 && bpf_map_update_elem(fd, &k, pc, BPF_EXIST) == 0, "write per-CPU");
	close(fd);
	free(pc);
	CHECK_EQ(loader_stats_read(&ld, 7, &sum, &e), 0, e.msg);
	CHECK_EQ(sum.rx_packets, (__u64)ld.ncpus * (ld.ncpus + 1) / 2, "rx_packets summed");
	CHECK_EQ(sum.tx_bytes, 100ULL * ld.ncpus, "tx_bytes summed");
	CHECK_EQ(sum.drops[SHOAL_DROP_MALFORMED], ld.ncpus, "drops summed");
	/* init again keeps the counters */
	CHECK_EQ(loader_stats_init(&ld, 7, &e), 0, e.msg);
	CHECK_EQ(loader_stats_read(&ld, 7, &sum, &e), 0, e.msg);
	CHECK_EQ(sum.tx_bytes, 100ULL * ld.ncpus, "init does not reset");

	CHECK_EQ(loader_stats_init(&ld, 8, &e), 0, e.msg);
	CHECK_EQ(loader_stats_del(&ld, 8, &e), 0, e.msg);
	CHECK_EQ(loader_stats_del(&ld, 8, &e), -ENOENT, "stats delete twice");
	CHECK_EQ(loader_node_stats_read(&ld, &ns, &e), 0, e.msg);
}

static int ld_collect(const void *key, void *arg)
{
	__u32 *keys = arg;

	keys[keys[0] + 1] = *(const __u32 *)key;
	keys[0]++;
	return 0;
}

static int ld_delete_net(const void *key, void *arg)
{
	struct shoal_err *e = arg;

	return loader_del_network(&ld, *(const __u32 *)key, e);
}

TEST(foreach_key)
{
	struct shoal_err e = { 0 };
	struct shoal_net_val nv = { .mtu = 1500 };
	__u32 keys[16] = { 0 };

	for (__u32 id = 10; id < 15; id++)
		CHECK_EQ(loader_put_network(&ld, id, &nv, &e), 0, e.msg);
	CHECK_EQ(loader_foreach_key(&ld, LOADER_MAP_NETWORKS, ld_collect, keys, &e), 0, e.msg);
	CHECK_EQ(keys[0], 6, "4097 + 10..14");
	/* fn may delete what it is given */
	CHECK_EQ(loader_foreach_key(&ld, LOADER_MAP_NETWORKS, ld_delete_net, &e, &e), 0, e.msg);
	memset(keys, 0, sizeof(keys));
	CHECK_EQ(loader_foreach_key(&ld, LOADER_MAP_NETWORKS, ld_collect, keys, &e), 0, e.msg);
	CHECK_EQ(keys[0], 0, "all deleted");
	memset(keys, 0, sizeof(keys));
	CHECK_EQ(loader_foreach_key(&ld, LOADER_MAP_EP_STATS, ld_collect, keys, &e), 0, e.msg);
	CHECK_EQ(keys[0], 1, "one ep_stats entry");
	CHECK_EQ(keys[1], 7, "ep 7");
	/* put the network back for the reopen test */
	nv.vni = 4097;
	CHECK_EQ(loader_put_network(&ld, 4097, &nv, &e), 0, e.msg);
}

TEST(reopen_keeps_state)
{
	struct shoal_err e = { 0 };
	struct shoal_ep_stats sum;
	__u32 keys[16] = { 0 };

	loader_close(&ld);
	CHECK(ld.skel == NULL, "closed");
	CHECK_EQ(loader_open(&ld, ld_root, "n1", &e), 0, e.msg);
	CHECK_EQ(loader_stats_read(&ld, 7, &sum, &e), 0, e.msg);
	CHECK_EQ(sum.tx_bytes, 100ULL * ld.ncpus, "counters survived");
	CHECK_EQ(loader_foreach_key(&ld, LOADER_MAP_ENDPOINTS, ld_collect, keys, &e), 0, e.msg);
	CHECK_EQ(keys[0], 1, "endpoint survived");
	memset(keys, 0, sizeof(keys));
	CHECK_EQ(loader_foreach_key(&ld, LOADER_MAP_IFACES, ld_collect, keys, &e), 0, e.msg);
	CHECK_EQ(keys[0], 1, "iface survived");
	CHECK_EQ(keys[1], 99, "iface 99");
	{
		struct shoal_node_val nv;

		CHECK_EQ(loader_get_node(&ld, 0x02010a0a, &nv, &e), 0, e.msg);
		CHECK_EQ(nv.updated_ns, 42, "learnt node survived");
	}
}

TEST(incompatible_pin)
{
	struct shoal_err e = { 0 };
	struct loader l2;
	char dir[128], path[160];
	int fd;

	/* An old "networks" with a smaller value, as after an upgrade. */
	snprintf(dir, sizeof(dir), "%s/shoal/n2", ld_root);
	snprintf(path, sizeof(path), "%s/networks", dir);
	CHECK_EQ(util_mkdir_p(dir, 0700), 0, "mkdir n2");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "networks", 4, 8, 16, NULL);
	CHECK(fd >= 0 && bpf_obj_pin(fd, path) == 0, "old pin");
	if (fd >= 0)
		close(fd);
	CHECK_EQ(loader_open(&l2, ld_root, "n2", &e), -EEXIST, "refuses the old pin");
	CHECK(strstr(e.msg, "pinned map networks") && strstr(e.msg, "incompatible") &&
		      strstr(e.msg, dir),
	      e.msg);
	CHECK(l2.skel == NULL, "no skeleton");
	CHECK(pin_exists("n2", "networks"), "the old pin is left alone");
	CHECK_EQ(loader_unpin(ld_root, "n2", &e), 0, e.msg);
	CHECK(access(dir, F_OK) < 0, "n2 removed");
	CHECK(pin_exists("n1", "networks"), "n1 untouched");
}

static __u32 tc_prog_id(int ifindex, enum bpf_tc_attach_point p)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = p);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);

	return bpf_tc_query(&hook, &opts) == 0 ? opts.prog_id : 0;
}

static __u32 prog_id(struct bpf_program *p)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0 ? info.id : 0;
}

TEST(attach_endpoint)
{
	struct shoal_err e = { 0 };
	__u32 in1, eg1;
	char out[512];

	CHECK_EQ(loader_endpoint_attached(&ld, ld_ifindex), 0, "nothing before");
	CHECK_EQ(loader_attach_endpoint(&ld, ld_ifindex, &e), 0, e.msg);
	CHECK_EQ(loader_endpoint_attached(&ld, ld_ifindex), 1, "attached");
	in1 = tc_prog_id(ld_ifindex, BPF_TC_INGRESS);
	eg1 = tc_prog_id(ld_ifindex, BPF_TC_EGRESS);
	CHECK_EQ(in1, prog_id(ld.skel->progs.from_container), "from_container on ingress");
	CHECK_EQ(eg1, prog_id(ld.skel->progs.to_container), "to_container on egress");
	CHECK_EQ(loader_attach_endpoint(&ld, ld_ifindex, &e), 0, "attach twice");
	sh_out(out, sizeof(out), "tc filter show dev %s ingress | grep -c 'handle 0x1'", ld_veth);
	CHECK_EQ(atoi(out), 1, "still one ingress filter");

	/* A restarted daemon: new programs replace the old ones in place,
	 * and the filters outlived the closed skeleton. */
	loader_close(&ld);
	CHECK_EQ(loader_endpoint_attached(&ld, ld_ifindex), 1, "survives close");
	CHECK_EQ(loader_open(&ld, ld_root, "n1", &e), 0, e.msg);
	CHECK_EQ(loader_attach_endpoint(&ld, ld_ifindex, &e), 0, e.msg);
	CHECK(tc_prog_id(ld_ifindex, BPF_TC_INGRESS) != in1, "ingress program replaced");
	CHECK_EQ(tc_prog_id(ld_ifindex, BPF_TC_INGRESS), prog_id(ld.skel->progs.from_container),
		 "new from_container");
	CHECK_EQ(tc_prog_id(ld_ifindex, BPF_TC_EGRESS), prog_id(ld.skel->progs.to_container),
		 "new to_container");
	sh_out(out, sizeof(out), "tc filter show dev %s egress | grep -c 'handle 0x1'", ld_veth);
	CHECK_EQ(atoi(out), 1, "still one egress filter");

	CHECK_EQ(loader_endpoint_attached(&ld, ld_ifindex2), 0, "other veth: none");
	CHECK_EQ(loader_attach_endpoint(&ld, 999999, &e), -ENODEV, e.msg);
}

TEST(attach_underlay)
{
	struct shoal_err e = { 0 };

	/* The second veth's host end stands in for the underlay device. */
	CHECK_EQ(loader_attach_underlay(&ld, ld_ifindex2, &e), 0, e.msg);
	CHECK_EQ(tc_prog_id(ld_ifindex2, BPF_TC_INGRESS), prog_id(ld.skel->progs.from_underlay),
		 "from_underlay on ingress");
	CHECK_EQ(loader_attach_underlay(&ld, ld_ifindex2, &e), 0, "twice");
	CHECK_EQ(loader_detach_underlay(&ld, ld_ifindex2, &e), 0, e.msg);
	CHECK_EQ(tc_prog_id(ld_ifindex2, BPF_TC_INGRESS), 0, "detached");
	CHECK_EQ(loader_detach_underlay(&ld, ld_ifindex2, &e), 0, "detach twice");
	/* Same handle/priority, but not from_underlay: left alone. */
	CHECK_EQ(loader_detach_underlay(&ld, ld_ifindex, &e), 0, e.msg);
	CHECK_EQ(loader_endpoint_attached(&ld, ld_ifindex), 1, "endpoint filter untouched");
}

TEST(unpin)
{
	struct shoal_err e = { 0 };
	char dir[128], other[128];

	snprintf(dir, sizeof(dir), "%s/shoal/n1", ld_root);
	snprintf(other, sizeof(other), "%s/shoal/n3", ld_root);
	CHECK_EQ(util_mkdir_p(other, 0700), 0, "another node's dir");
	loader_close(&ld);
	CHECK_EQ(loader_unpin(ld_root, "n1", &e), 0, e.msg);
	CHECK(access(dir, F_OK) < 0, "n1 removed");
	CHECK(access(other, F_OK) == 0, "n3 untouched");
	CHECK_EQ(loader_unpin(ld_root, "n1", &e), 0, "unpin twice");
	CHECK_EQ(loader_unpin(ld_root, "n3", &e), 0, e.msg);
	snprintf(dir, sizeof(dir), "%s/shoal", ld_root);
	CHECK(access(dir, F_OK) < 0, "empty shoal/ removed");
	/* The attached programs still hold their maps: still attached. */
	CHECK_EQ(loader_endpoint_attached(&ld, ld_ifindex), 1, "filters outlive the pins");
}

static void loader_suite(void)
{
	struct netlink_veth_spec s;
	struct shoal_err e = { 0 };

	snprintf(ld_root, sizeof(ld_root), "/tmp/shoaltest-bpffs-XXXXXX");
	if (!mkdtemp(ld_root)) {
		ld_root[0] = '\0';
		printf("# mkdtemp failed\n");
		return;
	}
	snprintf(ld_ns, sizeof(ld_ns), "shoaltest-ld-%s", g_tag);
	snprintf(ld_veth, sizeof(ld_veth), "shl%sa", g_tag);
	snprintf(ld_veth2, sizeof(ld_veth2), "shl%sb", g_tag);
	if (sh("ip netns add %s", ld_ns) < 0) {
		ld_ns[0] = '\0';
		printf("# cannot create netns\n");
		return;
	}
	snprintf(nl_ns_path, sizeof(nl_ns_path), "/run/netns/%s", ld_ns);
	s = nl_spec(ld_veth, "eth0");
	if (netlink_veth_create(&s, &ld_ifindex, NULL, &e) < 0) {
		printf("# %s\n", e.msg);
		return;
	}
	s = nl_spec(ld_veth2, "eth1");
	s.gateway = 0;
	if (netlink_veth_create(&s, &ld_ifindex2, NULL, &e) < 0) {
		printf("# %s\n", e.msg);
		return;
	}

	RUN(open_mounts_and_pins);
	if (!ld.skel)
		return;
	RUN(bad_node_names);
	RUN(maps_put_del);
	RUN(stats_percpu_sum);
	RUN(foreach_key);
	RUN(reopen_keeps_state);
	RUN(incompatible_pin);
	RUN(attach_endpoint);
	RUN(attach_underlay);
	RUN(unpin);
}
