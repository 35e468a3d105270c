/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - shoald configuration: defaults < daemon.json < flags.
 *
 * daemon.json keys (Docker's names where Docker has them): data-root,
 * exec-root, hosts (array, first used), bpffs-root, node-name, log-level,
 * storage-driver, storage-opts (array), cluster-store (kv.h URL),
 * cluster-advertise (IP:PORT or IFACE:PORT), cluster-store-ttl (duration),
 * gossip-port, key-rotation-interval (Go-style duration "12h", "90s"),
 * mtu, underlay-interface, advertise-addr, vxlan-port, accounting (bool),
 * ip-masq (bool), publish-interfaces (comma-separated interface names),
 * gossip-probe-interval, gossip-probe-timeout, gossip-interval,
 * gossip-push-pull-interval (millisecond durations: "100ms", "2s"),
 * gossip-suspicion-mult (integer 1..64), gossip-mtu (integer 576..65000),
 * flow-accounting (bool), flow-table-size (integer 1024..16777216), events ("none", "drop",
 * "flow" or "drop,flow"), event-rate-limit (events per CPU per second,
 * 1..1000000), metrics-addr ("IP:PORT" of a Prometheus TCP listener,
 * "" = none), shim-path.
 * Unknown keys and values of the wrong type or range are errors naming
 * the key.
 */
#ifndef SHOAL_CONFIG_H
#define SHOAL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"

#define CONFIG_PATH_LEN 4096

struct shoal_config {
	char config_file[CONFIG_PATH_LEN]; /* /etc/shoal/daemon.json */
	char data_root[CONFIG_PATH_LEN];   /* /var/lib/shoal */
	char exec_root[CONFIG_PATH_LEN];   /* /run/shoal */
	char host[CONFIG_PATH_LEN];        /* unix:///run/shoal/shoal.sock */
	char bpffs_root[CONFIG_PATH_LEN];  /* /sys/fs/bpf */
	char node_name[256];               /* hostname */
	char log_level[16];                /* info */
	char storage_driver[32];           /* "" = auto */
	char storage_opts[16][256];
	int n_storage_opts;
	char cluster_store[1024];
	char cluster_advertise[256];
	int64_t cluster_store_ttl_s;       /* 15 s: node lease TTL in the cluster store */
	int gossip_port;                   /* 7946 */
	int64_t key_rotation_interval_s;   /* 12 h */
	int mtu;                           /* 0 = underlay MTU - 50 / 1500 */
	char underlay_interface[16];
	char advertise_addr[64];
	int vxlan_port;                    /* 4789 */
	bool accounting;                   /* true */
	char shim_path[CONFIG_PATH_LEN];   /* "" = $SHOAL_SHIM, else next to shoald */
	bool ip_masq;                      /* true: SNAT containers' outbound traffic */
	char publish_interfaces[256];      /* "" = every external interface */
	/* Gossip timings (milliseconds; daemon.json durations such as "100ms"). */
	int64_t gossip_probe_interval_ms;     /* 1s */
	int64_t gossip_probe_timeout_ms;      /* 500ms */
	int64_t gossip_interval_ms;           /* 200ms */
	int gossip_suspicion_mult;            /* 4 */
	int64_t gossip_push_pull_interval_ms; /* 30s; 0 disables periodic push-pull */
	int gossip_mtu;                       /* 1400: largest sealed UDP payload */
	/* Observability (bpf/lib/flow.h, events.h; user/daemon/metrics.c). */
	bool flow_accounting;                 /* true */
	int flow_table_size;                  /* 65536 */
	char events[32];                      /* "drop" */
	int event_rate_limit;                 /* 1000 per CPU per second */
	char metrics_addr[64];                /* "" = no TCP listener */
};

/* The SHOAL_CFG_EV_* bits of an "events" value (validated at parse). */
unsigned int config_event_flags(const char *events);

void config_defaults(struct shoal_config *c);

/* Load a daemon.json. A missing file is not an error when missing_ok. */
int config_load_file(struct shoal_config *c, const char *path, bool missing_ok,
		     struct shoal_err *err);
/* Same, from a JSON string (for tests). */
int config_load_string(struct shoal_config *c, const char *json, struct shoal_err *err);

/*
 * Full start-up parse: defaults, then --config-file's file (default
 * /etc/shoal/daemon.json, absent = defaults unless given explicitly),
 * then the flags. Flags: --config-file, --data-root, --exec-root, -H/--host,
 * --bpffs-root, --node-name, --log-level, --storage-driver,
 * --storage-opt (repeatable), --cluster-store, --cluster-advertise,
 * --cluster-store-ttl,
 * --gossip-port, --key-rotation-interval, --mtu, --underlay-interface,
 * --advertise-addr, --vxlan-port, --accounting=true|false,
 * --gossip-probe-interval, --gossip-probe-timeout, --gossip-interval,
 * --gossip-suspicion-mult, --gossip-push-pull-interval,
 * --flow-accounting=true|false, --flow-table-size, --events,
 * --event-rate-limit, --metrics-addr, --shim-path. Both
 * "--flag value" and "--flag=value". Returns 1 if --help was printed.
 */
int config_parse(struct shoal_config *c, int argc, char **argv, struct shoal_err *err);

/* "12h", "90s", "1h30m", "500ms" (rounded up to 1 s), plain seconds. */
int config_parse_duration(const char *s, int64_t *secs);
/* The same grammar in milliseconds: "100ms", "1.5s"; sub-ms rounds up. */
int config_parse_duration_ms(const char *s, int64_t *ms);

#endif
