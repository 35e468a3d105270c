// SPDX-License-Identifier: Apache-2.0
/*
 * mapwatch.c - build/shoal-bench-mapwatch PIN NET_ID: poll a pinned shoal
 * `endpoints` map every 100 us and print "IP REALTIME_NS" the first time
 * a key (NET_ID, IP) is seen; keys present at start are printed with 0.
 * For `make bench` part 5 (tools/bench-kv.sh): time from `network
 * connect` on one host to the entry in another host's map. Stops on
 * SIGTERM/SIGINT or after 600 s.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shoal_maps.h"

#define MAX_SEEN 65536

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static uint32_t seen[MAX_SEEN];
	size_t n_seen = 0;
	uint32_t net_id;
	uint64_t start = now_ns();
	bool first = true;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PINNED_ENDPOINTS_MAP NET_ID\n", argv[0]);
		return 2;
	}
	net_id = (uint32_t)strtoul(argv[2], NULL, 10);
	fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "mapwatch: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop && now_ns() - start < 600ull * 1000000000ull) {
		struct shoal_ep_key k, next, *prev = NULL;
		uint64_t t = now_ns();

		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			k = next;
			prev = &k;
			if (k.net_id != net_id)
				continue;
			bool known = false;
			for (size_t i = 0; i < n_seen && !known; i++)
				known = seen[i] == k.ip;
			if (known || n_seen == MAX_SEEN)
				continue;
			seen[n_seen++] = k.ip;
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &k.ip, a, sizeof(a));
			printf("%s %llu\n", a, first ? 0ull : (unsigned long long)t);
		}
		first = false;
		usleep(100);
	}
	close(fd);
	return 0;
}
