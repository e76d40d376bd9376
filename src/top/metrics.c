/*
 * metrics.c - `portkit top --metrics ADDR:PORT`: top's byte counters for
 * Prometheus, served by core/host/mxserve on top's own loop and brought up
 * to date after every look (sampler_on_take), whatever view runs.
 *
 * Label sets are bounded: per port (proto, port, side) and per process
 * (pid, comm) only the top N keys by bytes since start are series; the
 * rest is one `other` series per group, so that for each direction
 *
 *     sum(portkit_top_port_bytes_total) + portkit_top_other_bytes_total
 *         == portkit_top_bytes_total summed over proto
 *
 * holds exactly at every scrape (and the same for processes). Every
 * counter only grows. The rule that keeps both (struct topn):
 *   - each key's bytes since start rank it (ties: the one already shown);
 *   - a key's series counts what the key moved since the interval it
 *     entered the top N, that interval included: a key new in the top
 *     shows all its bytes, one that climbs in from below starts at 0
 *     (what it moved before is in `other` already, and stays there);
 *   - a key that falls out takes its series' count into `other`: the
 *     series disappears (Prometheus marks it stale) and comes back, if
 *     the key climbs again, from 0 (rate() and increase() read that as
 *     a counter reset, which it is).
 * Keys that left the top are remembered for their rank up to KEYS_MAX
 * per group; past that the ones idle longest are forgotten (their bytes
 * are in `other` already: no sum changes).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/mxserve.h"
#include "top/top.h"
#include "core/base/banned.h"

#define KEYS_MAX 4096

struct topn_ent {
	struct topn_key k;
	uint64_t itx, irx;	/* the interval being closed */
	uint64_t tot;		/* tx + rx since start: the rank */
	uint64_t tx, rx;	/* the series: since it entered the top */
	unsigned last;		/* the interval it last moved in */
	bool in;		/* shown (a series) */
};

struct topn {
	struct topn_ent *v;
	size_t n, cap;
	uint32_t *idx;		/* key -> index + 1, open addressing */
	size_t mask;
	size_t *shown;		/* indexes of the shown keys, by rank */
	size_t nshown;
	unsigned max, interval;
	uint64_t other_tx, other_rx;
};

static size_t slot_of(const struct topn *t, const struct topn_key *k)
{
	return hash_bytes(k, sizeof(*k)) & t->mask;
}

static void index_rebuild(struct topn *t)
{
	size_t want = 64;

	while (want < t->n * 2 + 2)
		want <<= 1;
	free(t->idx);
	t->idx = xcalloc(want, sizeof(*t->idx));
	t->mask = want - 1;
	for (size_t i = 0; i < t->n; i++) {
		size_t s = slot_of(t, &t->v[i].k);

		while (t->idx[s])
			s = (s + 1) & t->mask;
		t->idx[s] = (uint32_t)i + 1;
	}
}

struct topn *topn_new(unsigned max)
{
	struct topn *t = xcalloc(1, sizeof(*t));

	t->max = max ? max : 1;
	index_rebuild(t);
	return t;
}

void topn_free(struct topn *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->idx);
	free(t->shown);
	free(t);
}

void topn_add(struct topn *t, const struct topn_key *k, uint64_t tx, uint64_t rx)
{
	size_t s;
	struct topn_ent *e;

	if (!tx && !rx)
		return;
	for (s = slot_of(t, k); t->idx[s]; s = (s + 1) & t->mask)
		if (!memcmp(&t->v[t->idx[s] - 1].k, k, sizeof(*k)))
			break;
	if (t->idx[s]) {
		e = &t->v[t->idx[s] - 1];
	} else {
		t->v = xgrow(t->v, sizeof(*t->v), t->n + 1, &t->cap);
		e = &t->v[t->n++];
		memset(e, 0, sizeof(*e));
		e->k = *k;
		if (t->n * 2 > t->mask)
			index_rebuild(t);
		else
			t->idx[s] = (uint32_t)t->n;
	}
	e->itx += tx;
	e->irx += rx;
}

static const struct topn *ranking;

/* more bytes first; a tie keeps the one shown; then the key, for a
 * stable order */
static int by_rank(const void *a, const void *b)
{
	const struct topn_ent *x = &ranking->v[*(const size_t *)a];
	const struct topn_ent *y = &ranking->v[*(const size_t *)b];

	if (x->tot != y->tot)
		return x->tot > y->tot ? -1 : 1;
	if (x->in != y->in)
		return x->in ? -1 : 1;
	return memcmp(&x->k, &y->k, sizeof(x->k));
}

/* the newest movers first (the shown ones before all) */
static int by_recent(const void *a, const void *b)
{
	const struct topn_ent *x = a, *y = b;

	if (x->in != y->in)
		return x->in ? -1 : 1;
	return (x->last < y->last) - (x->last > y->last);
}

/* Past KEYS_MAX keys, the half idle longest go (never a shown one) */
static void forget(struct topn *t)
{
	if (t->n <= KEYS_MAX)
		return;
	qsort(t->v, t->n, sizeof(*t->v), by_recent);
	t->n = KEYS_MAX / 2;
	index_rebuild(t);
}

void topn_settle(struct topn *t)
{
	size_t *order = xmalloc((t->n ? t->n : 1) * sizeof(*order)), k = 0;

	t->interval++;
	for (size_t i = 0; i < t->n; i++) {
		struct topn_ent *e = &t->v[i];

		e->tot += e->itx + e->irx;
		if (e->itx || e->irx)
			e->last = t->interval;
		order[k++] = i;
	}
	ranking = t;
	qsort(order, k, sizeof(*order), by_rank);
	for (size_t r = 0; r < k; r++) {
		struct topn_ent *e = &t->v[order[r]];
		bool in = r < t->max && e->tot;

		if (e->in && !in) {	/* falls out: its series into other */
			t->other_tx += e->tx;
			t->other_rx += e->rx;
			e->tx = e->rx = 0;
		}
		e->in = in;
		if (in) {
			e->tx += e->itx;
			e->rx += e->irx;
		} else {
			t->other_tx += e->itx;
			t->other_rx += e->irx;
		}
		e->itx = e->irx = 0;
	}
	free(order);
	forget(t);
	/* the shown ones, by rank */
	t->shown = xrealloc(t->shown, (t->max + 1) * sizeof(*t->shown));
	t->nshown = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].in)
			t->shown[t->nshown++] = i;
	ranking = t;
	qsort(t->shown, t->nshown, sizeof(*t->shown), by_rank);
}

size_t topn_count(const struct topn *t)
{
	return t->nshown;
}

void topn_get(const struct topn *t, size_t i, struct topn_key *k, uint64_t *tx, uint64_t *rx)
{
	const struct topn_ent *e = &t->v[t->shown[i]];

	*k = e->k;
	*tx = e->tx;
	*rx = e->rx;
}

void topn_other(const struct topn *t, uint64_t *tx, uint64_t *rx)
{
	*tx = t->other_tx;
	*rx = t->other_rx;
}

/* ---- top's counters ---- */

struct top_metrics {
	struct mxserve *srv;
	struct top_sampler *s;
	const struct top_opts *o;
	struct topn *ports, *procs;
	uint64_t bytes[2][2];		/* [udp][rx] */
	uint32_t sessions[2];
	uint64_t lost;
	double start_time;
};

/* A label value as Prometheus takes it: UTF-8, no control bytes */
static void clean_label(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p;) {
		int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2
			  : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 4 : 0;
		int ok = len > 0;

		for (int i = 1; i < len && ok; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (!ok || *p < 0x20 || *p == 0x7f) {
			*p++ = '?';
			continue;
		}
		p += len;
	}
}

static void on_take(void *arg)
{
	struct top_metrics *m = arg;
	struct top_flows *f = sampler_flows(m->s);
	struct top_row *rows;
	size_t n = flows_rows(f, m->o, G_PORT, S_TOTAL, false, &rows);
	uint64_t lost;

	m->sessions[0] = m->sessions[1] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct top_row *r = &rows[i];
		struct topn_key k = { .proto = r->proto, .side = r->side, .port = r->port };
		int udp = r->proto == IPPROTO_UDP;

		topn_add(m->ports, &k, r->tx, r->rx);
		m->bytes[udp][0] += r->tx;
		m->bytes[udp][1] += r->rx;
		m->sessions[udp] += r->sessions;
	}
	n = flows_rows(f, m->o, G_PROC, S_TOTAL, false, &rows);
	for (size_t i = 0; i < n; i++) {
		struct topn_key k = { .pid = rows[i].pid };

		if (rows[i].pid) {
			snprintf(k.comm, sizeof(k.comm), "%s", rows[i].comm);
			clean_label(k.comm);
		}
		topn_add(m->procs, &k, rows[i].tx, rows[i].rx);
	}
	topn_settle(m->ports);
	topn_settle(m->procs);
	/* a counter never goes back: the sources' counts are 32-bit in part
	 * (socket and capture drops) and read as 0 when a read fails */
	lost = sampler_lost(m->s);
	if (lost > m->lost)
		m->lost = lost;
}

static const char *const dirs[2] = { "tx", "rx" };
static const char *const protos[2] = { "tcp", "udp" };

static void fill_ports(struct metrics *mx, const struct topn *t)
{
	for (size_t i = 0; i < topn_count(t); i++) {
		struct topn_key k;
		uint64_t v[2];
		char port[8];

		topn_get(t, i, &k, &v[0], &v[1]);
		snprintf(port, sizeof(port), "%u", k.port);
		for (int d = 0; d < 2; d++) {
			const char *l[] = { "proto", protos[k.proto == IPPROTO_UDP], "port", port,
					    "side", k.side == 'l' ? "local" : "remote",
					    "direction", dirs[d] };

			metrics_sample_u(mx, v[d], 4, l);
		}
	}
}

static void fill_procs(struct metrics *mx, const struct topn *t)
{
	for (size_t i = 0; i < topn_count(t); i++) {
		struct topn_key k;
		uint64_t v[2];
		char pid[16];

		topn_get(t, i, &k, &v[0], &v[1]);
		snprintf(pid, sizeof(pid), "%d", k.pid);
		for (int d = 0; d < 2; d++) {
			const char *l[] = { "pid", pid, "comm", k.comm, "direction", dirs[d] };

			metrics_sample_u(mx, v[d], 3, l);
		}
	}
}

static void fill(struct metrics *mx, void *arg)
{
	struct top_metrics *m = arg;
	const struct topn *groups[2] = { m->ports, m->procs };
	static const char *const gnames[2] = { "port", "process" };

	metrics_family(mx, "portkit_top_bytes", METRIC_COUNTER, "bytes",
		       "Bytes sent (tx) and received (rx) by the sockets top shows, since start.");
	for (int p = 0; p < 2; p++)
		for (int d = 0; d < 2; d++) {
			const char *l[] = { "proto", protos[p], "direction", dirs[d] };

			metrics_sample_u(mx, m->bytes[p][d], 2, l);
		}
	metrics_family(mx, "portkit_top_port_bytes", METRIC_COUNTER, "bytes",
		       "Bytes by server port (side: local, a port of this host; remote, one it "
		       "connects to), for the top ports since start; counted from the interval "
		       "a port entered the top.");
	fill_ports(mx, m->ports);
	metrics_family(mx, "portkit_top_process_bytes", METRIC_COUNTER, "bytes",
		       "Bytes by process (pid 0: owner unknown), for the top processes since start; "
		       "counted from the interval a process entered the top.");
	fill_procs(mx, m->procs);
	metrics_family(mx, "portkit_top_other_bytes", METRIC_COUNTER, "bytes",
		       "Bytes of the ports or processes not shown in their family (below the top, "
		       "or before they entered it): with it each group sums to portkit_top_bytes.");
	for (int g = 0; g < 2; g++) {
		uint64_t v[2];

		topn_other(groups[g], &v[0], &v[1]);
		for (int d = 0; d < 2; d++) {
			const char *l[] = { "group", gnames[g], "direction", dirs[d] };

			metrics_sample_u(mx, v[d], 2, l);
		}
	}
	metrics_family(mx, "portkit_top_sessions", METRIC_GAUGE, NULL,
		       "Sessions in the last interval (UDP: connected sockets, or any moving bytes).");
	for (int p = 0; p < 2; p++) {
		const char *l[] = { "proto", protos[p] };

		metrics_sample_u(mx, m->sessions[p], 1, l);
	}
	metrics_family(mx, "portkit_top_lost", METRIC_COUNTER, NULL,
		       "Counts lost: sessions' ends the kernel dropped, UDP sockets not counted.");
	metrics_sample_u(mx, m->lost, 0, NULL);
	metrics_family(mx, "portkit_top_interval_seconds", METRIC_GAUGE, "seconds",
		       "Seconds between two looks (-d): how often these counters move.");
	metrics_sample(mx, m->o->delay_ms / 1000.0, 0, NULL);
	mxserve_process(mx, m->start_time);
}

int top_metrics_start(struct ev_loop *l, struct top_sampler *s, const struct top_opts *o,
		      struct top_metrics **out)
{
	struct top_metrics *m = xcalloc(1, sizeof(*m));
	struct mxserve_conf c = { .addr = o->metrics, .ep_flags = EP_PORT_ZERO, .name = "top",
				  .fill = fill, .arg = m };
	struct timespec now;
	struct endpoint e;
	char a[ENDPOINT_STRLEN];
	int r;

	if ((r = mxserve_start(l, &c, &m->srv))) {
		free(m);
		return r;
	}
	m->s = s;
	m->o = o;
	m->ports = topn_new(o->metrics_top);
	m->procs = topn_new(o->metrics_top);
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	sampler_on_take(s, on_take, m);
	mxserve_local(m->srv, &e);
	warnf("Prometheus metrics at http://%s/metrics", endpoint_str(&e, a));
	*out = m;
	return 0;
}

void top_metrics_stop(struct top_metrics *m)
{
	if (!m)
		return;
	sampler_on_take(m->s, NULL, NULL);
	mxserve_stop(m->srv);
	topn_free(m->ports);
	topn_free(m->procs);
	free(m);
}
