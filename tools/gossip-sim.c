// SPDX-License-Identifier: Apache-2.0
/*
 * gossip-sim.c - build/shoal-gossip-sim: N shoal gossip nodes in one
 * process on 127.0.0.1 (each with its own threads, sockets and keyring,
 * LAN timings, AES-256-GCM), measuring the figures that
 * /work/shared/bench/memberlist/run.sh measures for HashiCorp memberlist:
 *
 *   join_ms   nodes 1..N-1 gossip_join(node 0) at once -> every node sees
 *             N alive (max over nodes); join99: 99% of the N*N pairs known
 *   dis_p50/p99  a new endpoint entry set on one node (origin rotates)
 *             until the last of the N-1 others got entry_changed for it;
 *             nearest rank over the delivered ones (p99 of 20 = max)
 *   miss      broadcasts that had not reached everyone within 10 s
 *   fail_med  gossip_stop() (no leave) of a node -> every other node marked
 *             it dead (median of trials; victims N-1, N-2, N-3);
 *             fail1st: first node to mark it dead
 *   udpB/s, udpPk/s, tcpB/s  bytes (sealed payload, no IP/UDP/TCP headers)
 *             sent per node per second in a steady-state window
 *   pp_B      bytes of one full TCP push-pull (a join: both directions)
 *   ppi_B     bytes of one periodic push-pull between two in-sync nodes
 *             (digest-first: digest + "same"); ppB/s = ppi_B / push-pull
 *             interval (scaled above 32 nodes as memberlist): at idle the
 *             periodic exchange is what recurs (pp_B if it was not measured)
 *
 * Usage: shoal-gossip-sim [-n 8,32,64] [-b 20] [-f 3] [-w 10] [-s SEED] [-j FILE]
 *   -j FILE  also write the rows as JSON (machine-readable; keys named as in
 *            memberlist's -json output where the figure is the same, plus
 *            the effective gossip config), for tools/bench-gossip.sh
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../user/gossip/gossip.h"
#include "../user/gossip/internal.h"

#define MAXN 99

struct simnode {
	struct gossip *g;
	struct keyring *kr;
	int idx;
	char name[8];
	bool stopped;
	pthread_mutex_t mu;
	uint8_t state[MAXN];   /* 255: unknown */
	int alive;             /* alive members known, self included */
	uint64_t reached_ms;   /* first time alive == N */
	uint64_t dead_ms[MAXN];
	uint64_t suspect_ms[MAXN];
};

struct sim {
	int n;
	struct simnode *nodes;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint32_t cur_ip;        /* broadcast in flight (NBO), 0 = none */
	int cur_need, cur_got;
	uint64_t cur_last;
	bool seen[MAXN];
};

static struct sim S;
static struct gossip_config used_cfg; /* node 0's config, for -j */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int idx_of(const char *name)
{
	int i;

	if (name[0] != 'm' || sscanf(name + 1, "%d", &i) != 1 || i < 0 || i >= S.n)
		return -1;
	return i;
}

static void cb_member(void *ctx, const struct gossip_member *m)
{
	struct simnode *nd = ctx;
	uint64_t t = now_ms();
	int i = idx_of(m->name);
	bool was, is;

	if (i < 0)
		return;
	pthread_mutex_lock(&nd->mu);
	was = nd->state[i] == GOSSIP_ALIVE || nd->state[i] == GOSSIP_SUSPECT;
	is = m->state == GOSSIP_ALIVE || m->state == GOSSIP_SUSPECT;
	nd->state[i] = (uint8_t)m->state;
	if (m->state == GOSSIP_SUSPECT && !nd->suspect_ms[i])
		nd->suspect_ms[i] = t;
	if (is && !was) {
		nd->alive++;
		if (nd->alive == S.n && !nd->reached_ms)
			nd->reached_ms = t;
	} else if (!is && was) {
		nd->alive--;
		if (!nd->dead_ms[i])
			nd->dead_ms[i] = t;
	}
	pthread_mutex_unlock(&nd->mu);
}

static void cb_entry(void *ctx, const struct gossip_entry *e, bool deleted)
{
	struct simnode *nd = ctx;
	uint64_t t = now_ms();

	if (deleted || strcmp(e->network, "bench") != 0)
		return;
	pthread_mutex_lock(&S.mu);
	if (S.cur_ip && e->ip == S.cur_ip && !S.seen[nd->idx] && strcmp(e->owner, nd->name) != 0) {
		S.seen[nd->idx] = true;
		S.cur_got++;
		if (t > S.cur_last)
			S.cur_last = t;
		if (S.cur_got == S.cur_need)
			pthread_cond_broadcast(&S.cond);
	}
	pthread_mutex_unlock(&S.mu);
}

static int node_new(struct simnode *nd, int i, const uint8_t key[KEYRING_KEY_LEN])
{
	struct gossip_config cfg;
	struct shoal_err err = { 0 };

	memset(nd, 0, sizeof(*nd));
	nd->idx = i;
	snprintf(nd->name, sizeof(nd->name), "m%02d", i);
	pthread_mutex_init(&nd->mu, NULL);
	memset(nd->state, 255, sizeof(nd->state));
	nd->state[i] = GOSSIP_ALIVE;
	nd->alive = 1;
	if (keyring_new(key, &nd->kr, &err) < 0)
		goto fail;
	gossip_config_defaults(&cfg); /* LAN timings */
	cfg.name = nd->name;
	cfg.bind_ip = htonl(INADDR_LOOPBACK);
	cfg.bind_port = 0;
	cfg.label = "gossip-sim";
	cfg.keyring = nd->kr;
	cfg.cb.ctx = nd;
	cfg.cb.member_changed = cb_member;
	cfg.cb.entry_changed = cb_entry;
	if (gossip_new(&cfg, &nd->g, &err) < 0 || gossip_start(nd->g, &err) < 0)
		goto fail;
	if (i == 0)
		used_cfg = cfg;
	return 0;
fail:
	fprintf(stderr, "node %d: %s\n", i, err.msg);
	return -1;
}

struct sums {
	uint64_t udp_b, udp_p, tcp_b, tcp_c, ae, eager, rej, dec;
};

static struct sums sum_stats(void)
{
	struct sums s = { 0 };

	for (int i = 0; i < S.n; i++) {
		struct gossip_stats st;

		if (!S.nodes[i].g)
			continue;
		gossip_get_stats(S.nodes[i].g, &st);
		s.udp_b += st.udp_bytes_out;
		s.udp_p += st.udp_pkts_out;
		s.tcp_b += st.tcp_bytes_out;
		s.tcp_c += st.tcp_conns_out;
		s.ae += st.ae_syncs;
		s.eager += st.eager_rounds;
		for (int r = 0; r < KR_REJ_MAX; r++)
			s.rej += st.rejects[r];
		s.dec += st.rejects[KR_REJ_DECRYPT];
	}
	return s;
}

struct joinarg {
	int i;
	char seed[32];
	int rc;
};

static void *join_thread(void *arg)
{
	struct joinarg *j = arg;
	const char *a[1] = { j->seed };
	struct shoal_err err = { 0 };

	j->rc = gossip_join(S.nodes[j->i].g, a, 1, &err);
	if (j->rc < 0)
		fprintf(stderr, "join m%02d: %s\n", j->i, err.msg);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	int k;

	if (!n)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	k = (int)((p / 100.0) * n + 0.999999) - 1;
	return v[k < 0 ? 0 : k];
}

static double median(double *v, int n)
{
	if (!n)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct row {
	int n;
	double join_ms, join99, p50, p99, fail_med, fail1st, udpbs, udpps, tcpbs, ppbs;
	uint64_t pp_b, ppi_b;
	int miss, nb;
	double dis[64], fall[8], ffirst[8], fsusp[8];
	int nf;
	uint64_t ae_bcast, eager_bcast, rejects;
	double bcast_bps;
	char status[64];
};

static int pairs_known(void)
{
	int k = 0;

	for (int i = 0; i < S.n; i++) {
		pthread_mutex_lock(&S.nodes[i].mu);
		k += S.nodes[i].alive;
		pthread_mutex_unlock(&S.nodes[i].mu);
	}
	return k;
}

static void run_row(int n, int nbcast, int nfail, int bw_s, unsigned int *seed, struct row *r)
{
	uint8_t key[KEYRING_KEY_LEN];
	struct joinarg *ja;
	pthread_t *th;
	uint64_t t0, dl;
	struct sums a, b;
	int need99 = (int)(0.99 * n * n + 0.999);
	char seedaddr[32];

	memset(r, 0, sizeof(*r));
	r->n = n;
	snprintf(r->status, sizeof(r->status), "ok");
	for (int i = 0; i < KEYRING_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 7 + 3);
	memset(&S, 0, sizeof(S));
	S.n = n;
	S.nodes = calloc((size_t)n, sizeof(*S.nodes));
	pthread_mutex_init(&S.mu, NULL);
	pthread_cond_init(&S.cond, NULL);
	/* nodes start at random offsets within a probe interval */
	for (int i = 0; i < n; i++) {
		if (node_new(&S.nodes[i], i, key) < 0) {
			snprintf(r->status, sizeof(r->status), "FAILED start");
			goto out;
		}
		sleep_ms((uint64_t)(rand_r(seed) % (1000 / n + 1)));
	}

	/* 1. join: all at once */
	snprintf(seedaddr, sizeof(seedaddr), "127.0.0.1:%u", gossip_port(S.nodes[0].g));
	ja = calloc((size_t)n, sizeof(*ja));
	th = calloc((size_t)n, sizeof(*th));
	t0 = now_ms();
	for (int i = 1; i < n; i++) {
		ja[i].i = i;
		snprintf(ja[i].seed, sizeof(ja[i].seed), "%s", seedaddr);
		pthread_create(&th[i], NULL, join_thread, &ja[i]);
	}
	for (int i = 1; i < n; i++)
		pthread_join(th[i], NULL);
	free(ja);
	free(th);
	dl = t0 + 10000;
	for (;;) {
		uint64_t last = 0;
		bool all = true;

		if (!r->join99 && pairs_known() >= need99)
			r->join99 = (double)(now_ms() - t0);
		for (int i = 0; i < n && all; i++) {
			pthread_mutex_lock(&S.nodes[i].mu);
			if (!S.nodes[i].reached_ms || S.nodes[i].alive != n)
				all = false;
			else if (S.nodes[i].reached_ms > last)
				last = S.nodes[i].reached_ms;
			pthread_mutex_unlock(&S.nodes[i].mu);
		}
		if (all) {
			r->join_ms = (double)(last - t0);
			if (!r->join99)
				r->join99 = r->join_ms;
			break;
		}
		if (now_ms() > dl) {
			snprintf(r->status, sizeof(r->status), "join not converged in 10 s");
			r->join_ms = -1;
			break;
		}
		sleep_ms(5);
	}
	fprintf(stderr, "N=%d: join %.0f ms (99%% of pairs %.0f ms)\n", n, r->join_ms, r->join99);
	sleep_ms(2000); /* let the join broadcasts drain, as the memberlist bench does */

	/* 2. dissemination */
	a = sum_stats();
	t0 = now_ms();
	for (int k = 0; k < nbcast; k++) {
		struct simnode *o = &S.nodes[k % n];
		struct gossip_entry e = { .kind = GOSSIP_ENDPOINT, .vni = 4096 };
		struct shoal_err err = { 0 };
		struct timespec ts;
		uint64_t start, d2;
		bool done;

		snprintf(e.network, sizeof(e.network), "bench");
		e.ip = htonl(0x0a000000u | (uint32_t)(n << 16) | (uint32_t)(k + 2));
		e.mac[0] = 0x02;
		e.mac[5] = (uint8_t)k;
		pthread_mutex_lock(&S.mu);
		S.cur_ip = e.ip;
		S.cur_need = n - 1;
		S.cur_got = 0;
		S.cur_last = 0;
		memset(S.seen, 0, sizeof(S.seen));
		pthread_mutex_unlock(&S.mu);
		start = now_ms();
		gossip_table_set(o->g, &e, &err);
		d2 = start + 10000;
		pthread_mutex_lock(&S.mu);
		while (S.cur_got < S.cur_need && now_ms() < d2) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 5 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&S.cond, &S.mu, &ts);
		}
		done = S.cur_got == S.cur_need;
		if (done)
			r->dis[r->nb++] = (double)(S.cur_last - start);
		else {
			r->miss++;
			fprintf(stderr, "N=%d: MISS broadcast %d reached %d/%d in 10 s\n", n, k,
				S.cur_got, S.cur_need);
		}
		S.cur_ip = 0;
		pthread_mutex_unlock(&S.mu);
		/* wait for every queue to drain, then a random gap < gossip interval */
		for (uint64_t q = now_ms() + 3000; now_ms() < q;) {
			size_t pend = 0;

			for (int i = 0; i < n; i++)
				pend += gossip_pending_broadcasts(S.nodes[i].g);
			if (!pend)
				break;
			sleep_ms(10);
		}
		sleep_ms((uint64_t)(rand_r(seed) % 200));
	}
	b = sum_stats();
	r->bcast_bps = (double)(b.udp_b + b.tcp_b - a.udp_b - a.tcp_b) / n /
		       ((double)(now_ms() - t0) / 1000.0);
	r->ae_bcast = b.ae - a.ae;
	r->eager_bcast = b.eager - a.eager;
	{
		double tmp[64];

		memcpy(tmp, r->dis, sizeof(tmp));
		r->p50 = pct(tmp, r->nb, 50);
		r->p99 = pct(tmp, r->nb, 99);
	}
	fprintf(stderr, "N=%d: dissemination p50 %.0f p99 %.0f ms, %d missed\n", n, r->p50, r->p99,
		r->miss);

	/* 3. steady-state bandwidth */
	a = sum_stats();
	t0 = now_ms();
	sleep_ms((uint64_t)bw_s * 1000);
	b = sum_stats();
	{
		double el = (double)(now_ms() - t0) / 1000.0;

		r->udpbs = (double)(b.udp_b - a.udp_b) / n / el;
		r->udpps = (double)(b.udp_p - a.udp_p) / n / el;
		r->tcpbs = (double)(b.tcp_b - a.tcp_b) / n / el;
	}
	fprintf(stderr, "N=%d: idle %.0f B/s/node UDP (%.1f pkt/s), %.0f B/s TCP\n", n, r->udpbs,
		r->udpps, r->tcpbs);

	/* 3b. one push-pull exchange */
	{
		char addr[32];
		const char *al[1] = { addr };
		struct shoal_err err = { 0 };
		double every = 30.0;

		snprintf(addr, sizeof(addr), "127.0.0.1:%u", gossip_port(S.nodes[2].g));
		a = sum_stats();
		if (gossip_join(S.nodes[1].g, al, 1, &err) > 0) {
			b = sum_stats();
			r->pp_b = b.tcp_b - a.tcp_b;
			if (n > 32) {
				int m = 1, x = n - 1;

				while (x >= 64) /* ceil(log2(n) - 5) + 1 */
					x >>= 1, m++;
				every = 30.0 * (m + 1);
			}
			r->ppbs = (double)r->pp_b / every;
		}
		/* 3c. one periodic (digest-first) push-pull, node 1 -> node 2 */
		{
			struct sockaddr_in sa = { .sin_family = AF_INET };
			int fd;

			sleep_ms(1000); /* let the join's merge settle */
			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sa.sin_port = htons(gossip_port(S.nodes[2].g));
			a = sum_stats();
			if (stream_connect(S.nodes[1].g, &sa, &fd) == 0) {
				int rc = stream_exchange(S.nodes[1].g, fd, true, PP_DIGEST);

				close(fd);
				sleep_ms(100); /* the responder counts after its answer */
				b = sum_stats();
				if (rc == 0) {
					r->ppi_b = b.tcp_b - a.tcp_b;
					r->ppbs = (double)r->ppi_b / every;
				}
			}
		}
	}

	/* 4. failure detection */
	for (int k = 0; k < nfail && n - 1 - k > 0; k++) {
		int v = n - 1 - k, obs = 0;
		uint64_t first = 0, last = 0, start;
		bool ok = false;

		for (int i = 0; i < n; i++) {
			pthread_mutex_lock(&S.nodes[i].mu);
			S.nodes[i].dead_ms[v] = 0;
			S.nodes[i].suspect_ms[v] = 0;
			pthread_mutex_unlock(&S.nodes[i].mu);
		}
		start = now_ms();
		gossip_stop(S.nodes[v].g);
		S.nodes[v].stopped = true;
		while (now_ms() - start < 60000) {
			int got = 0;

			obs = 0;
			first = last = 0;
			for (int i = 0; i < n; i++) {
				uint64_t t;

				if (S.nodes[i].stopped)
					continue;
				obs++;
				pthread_mutex_lock(&S.nodes[i].mu);
				t = S.nodes[i].dead_ms[v];
				pthread_mutex_unlock(&S.nodes[i].mu);
				if (!t)
					continue;
				got++;
				if (!first || t < first)
					first = t;
				if (t > last)
					last = t;
			}
			if (got == obs) {
				ok = true;
				break;
			}
			sleep_ms(10);
		}
		if (!ok) {
			snprintf(r->status, sizeof(r->status), "PARTIAL (failure not detected)");
			continue;
		}
		{
			uint64_t s1 = 0;

			for (int i = 0; i < n; i++)
				if (S.nodes[i].suspect_ms[v] && (!s1 || S.nodes[i].suspect_ms[v] < s1))
					s1 = S.nodes[i].suspect_ms[v];
			r->fsusp[r->nf] = s1 ? (double)(s1 - start) : -1;
		}
		r->fall[r->nf] = (double)(last - start);
		r->ffirst[r->nf++] = (double)(first - start);
		fprintf(stderr, "N=%d: m%02d suspect after %.0f ms, dead for the first after %.0f ms, "
			"for all after %.0f ms\n", n, v, r->fsusp[r->nf - 1], (double)(first - start),
			(double)(last - start));
		sleep_ms((uint64_t)(rand_r(seed) % 1000));
	}
	{
		double t1[8], t2[8];

		memcpy(t1, r->fall, sizeof(t1));
		memcpy(t2, r->ffirst, sizeof(t2));
		r->fail_med = median(t1, r->nf);
		r->fail1st = median(t2, r->nf);
	}
	r->rejects = sum_stats().rej;
out:
	for (int i = 0; i < n; i++) {
		gossip_free(S.nodes[i].g);
		keyring_free(S.nodes[i].kr);
		pthread_mutex_destroy(&S.nodes[i].mu);
	}
	free(S.nodes);
	S.nodes = NULL;
}

static void print_series(const double *v, int n)
{
	for (int i = 0; i < n; i++)
		printf("%s%.0f", i ? "/" : "", v[i]);
}

static void json_series(FILE *f, const char *key, const double *v, int n)
{
	fprintf(f, ",\n      \"%s\": [", key);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.3f", i ? ", " : "", v[i]);
	fprintf(f, "]");
}

/* -j: the rows as JSON (status is plain ASCII without quotes or backslashes) */
static int write_json(const char *path, const struct row *rows, int nrows, const char *load)
{
	const struct gossip_config *c = &used_cfg;
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "-j %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"tool\": \"shoal-gossip-sim\",\n  \"loadavg_start\": \"%s\",\n", load);
	fprintf(f, "  \"config\": {\"name\": \"lan\", \"probe_interval_ms\": %u, "
		   "\"probe_timeout_ms\": %u, \"gossip_interval_ms\": %u, \"gossip_nodes\": %u, "
		   "\"indirect_checks\": %u, \"suspicion_mult\": %u, \"suspicion_max_mult\": %u, "
		   "\"retransmit_mult\": %u, \"push_pull_interval_ms\": %u, \"mtu\": %u, "
		   "\"ae_quiet_ms\": %u, \"eager_delay_ms\": %u, \"encryption\": \"AES-256-GCM\"},\n",
		c->probe_interval_ms, c->probe_timeout_ms, c->gossip_interval_ms, c->gossip_nodes,
		c->indirect_checks, c->suspicion_mult, c->suspicion_max_mult, c->retransmit_mult,
		c->push_pull_interval_ms, c->mtu, c->ae_quiet_ms, c->eager_delay_ms);
	fprintf(f, "  \"rows\": [");
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		fprintf(f, "%s\n    {\n      \"config\": \"lan\", \"n\": %d, \"status\": \"%s\",\n",
			i ? "," : "", r->n, r->status);
		fprintf(f, "      \"join_converged\": %s, \"join_ms\": %.3f, "
			   "\"join_99pct_pairs_ms\": %.3f,\n",
			r->join_ms >= 0 && strncmp(r->status, "FAILED", 6) != 0 ? "true" : "false",
			r->join_ms, r->join99);
		fprintf(f, "      \"bcast_total\": %d, \"bcast_delivered\": %d, \"bcast_failed\": %d, "
			   "\"bcast_p50_ms\": %.3f, \"bcast_p99_ms\": %.3f",
			r->nb + r->miss, r->nb, r->miss, r->p50, r->p99);
		json_series(f, "bcast_all_ms", r->dis, r->nb);
		fprintf(f, ",\n      \"fail_trials\": %d, \"fail_all_median_ms\": %.3f, "
			   "\"fail_first_median_ms\": %.3f", r->nf, r->fail_med, r->fail1st);
		json_series(f, "fail_all_ms", r->fall, r->nf);
		json_series(f, "fail_first_ms", r->ffirst, r->nf);
		json_series(f, "first_suspect_ms", r->fsusp, r->nf);
		fprintf(f, ",\n      \"udp_bytes_per_member_s\": %.3f, \"udp_pkts_per_member_s\": %.3f, "
			   "\"tcp_bytes_per_member_s\": %.3f,\n",
			r->udpbs, r->udpps, r->tcpbs);
		fprintf(f, "      \"pushpull_exchange_bytes\": %llu, "
			   "\"pushpull_periodic_idle_bytes\": %llu, "
			   "\"pushpull_amortized_bytes_per_member_s\": %.3f,\n",
			(unsigned long long)r->pp_b, (unsigned long long)r->ppi_b, r->ppbs);
		fprintf(f, "      \"bcast_phase_bytes_per_member_s\": %.3f, \"ae_syncs_in_bcast_phase\": %llu, "
			   "\"eager_rounds\": %llu, \"rejects_total\": %llu\n    }",
			r->bcast_bps, (unsigned long long)r->ae_bcast,
			(unsigned long long)r->eager_bcast, (unsigned long long)r->rejects);
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "-j %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int sizes[8] = { 8, 32, 64 }, nsizes = 3, nbcast = 20, nfail = 3, bw = 10, c;
	unsigned int seed = 1;
	const char *json = NULL;
	struct row rows[8];
	char load[128] = "";
	FILE *f;

	while ((c = getopt(argc, argv, "n:b:f:w:s:j:h")) != -1) {
		switch (c) {
		case 'n': {
			char *tok, *save = NULL;

			nsizes = 0;
			for (tok = strtok_r(optarg, ",", &save); tok && nsizes < 8;
			     tok = strtok_r(NULL, ",", &save)) {
				int v = atoi(tok);

				if (v < 2 || v > 64) {
					fprintf(stderr, "bad size %s (2..64)\n", tok);
					return 2;
				}
				sizes[nsizes++] = v;
			}
			break;
		}
		case 'b': nbcast = atoi(optarg); break;
		case 'f': nfail = atoi(optarg); break;
		case 'w': bw = atoi(optarg); break;
		case 's': seed = (unsigned int)atoi(optarg); break;
		case 'j': json = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-n 8,32,64] [-b broadcasts=20] [-f fail-trials=3] "
					"[-w bw-window-s=10] [-s seed] [-j json-file]\n", argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (nbcast < 1 || nbcast > 64 || nfail < 0 || nfail > 8 || bw < 1) {
		fprintf(stderr, "bad -b (1..64), -f (0..8) or -w\n");
		return 2;
	}
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(load, sizeof(load), f))
			load[0] = '\0';
		load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	for (int i = 0; i < nsizes; i++) {
		fprintf(stderr, "N=%d: starting\n", sizes[i]);
		run_row(sizes[i], nbcast, nfail, bw, &seed, &rows[i]);
	}
	printf("# shoal gossip-sim, all nodes in one process on 127.0.0.1, loadavg_start=%s\n", load);
	printf("# config lan ProbeInterval=1s ProbeTimeout=500ms GossipInterval=200ms GossipNodes=3 "
	       "SuspicionMult=4 SuspicionMaxMult=6 RetransmitMult=4 IndirectChecks=3 "
	       "PushPullInterval=30s MTU=1400 AE(digest)=on EagerRounds=on; AES-256-GCM\n");
	printf("%-6s %3s %7s %6s %7s %7s %5s %8s %8s %7s %7s %6s %6s %6s %6s %s\n", "config",
	       "N", "join_ms", "join99", "dis_p50", "dis_p99", "miss", "fail_med", "fail1st",
	       "udpB/s", "udpPk/s", "tcpB/s", "pp_B", "ppi_B", "ppB/s", "status");
	for (int i = 0; i < nsizes; i++) {
		struct row *r = &rows[i];
		char miss[16];

		snprintf(miss, sizeof(miss), "%d/%d", r->miss, r->miss + r->nb);
		printf("%-6s %3d %7.0f %6.0f %7.0f %7.0f %5s %8.0f %8.0f %7.0f %7.1f %6.0f %6llu %6llu "
		       "%6.0f %s\n",
		       "lan", r->n, r->join_ms, r->join99, r->p50, r->p99, miss, r->fail_med,
		       r->fail1st, r->udpbs, r->udpps, r->tcpbs, (unsigned long long)r->pp_b,
		       (unsigned long long)r->ppi_b, r->ppbs, r->status);
	}
	for (int i = 0; i < nsizes; i++) {
		struct row *r = &rows[i];

		printf("# lan N=%d: dis_ms=", r->n);
		print_series(r->dis, r->nb);
		printf(" fail_all_ms=");
		print_series(r->fall, r->nf);
		printf(" fail_first_ms=");
		print_series(r->ffirst, r->nf);
		printf(" first_suspect_ms=");
		print_series(r->fsusp, r->nf);
		printf(" bcast_phase_B/s/node=%.0f ae_syncs_in_bcast_phase=%llu eager_rounds=%llu "
		       "rejects_total=%llu\n", r->bcast_bps, (unsigned long long)r->ae_bcast,
		       (unsigned long long)r->eager_bcast, (unsigned long long)r->rejects);
	}
	fflush(stdout);
	if (json && write_json(json, rows, nsizes, load) < 0)
		return 1;
	return 0;
}
