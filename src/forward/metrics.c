/*
 * metrics.c - `portkit forward --metrics ADDR:PORT`: the forwarder's counters
 * as a Prometheus endpoint, GET /metrics.
 *
 * It runs on the main thread's event loop, beside the signals, never on a
 * worker: a scrape adds up the workers' counter blocks (each worker writes
 * only its own, so nothing on the data path waits for a scrape) and writes
 * the text from one buffer. The HTTP side (bounded connections, strict
 * request heads, keep-alive, the pause when descriptors run out) is
 * core/host/mxserve's; this file is the families.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/buf.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/mxserve.h"
#include "core/wire/metrics.h"
#include "core/base/xalloc.h"
#include "forward/forward.h"
#include "forward/metrics.h"
#include "core/base/banned.h"

struct fwd_metrics {
	struct mxserve *srv;
	struct engine *eng;
	bool kernel;			/* --kernel: the counters come from klog */
	struct klog *klog;
	uint64_t reloads[3];		/* ok, rejected, ignored */
	double start_time;
};

/* ---- the text ---- */

struct sum {
	uint64_t started, bytes_in, bytes_out, spliced, copied;
	uint64_t dropped[FWD_DROP_MAX];
	uint64_t ends[FWD_END_MAX];
	uint64_t kernel_ended;
};

static void add_up(const struct fwd_rule *r, struct sum *s)
{
	memset(s, 0, sizeof(*s));
	if (!r->count || !r->count->stats)
		return;
	for (unsigned w = 0; w < r->count->nstats; w++) {
		const struct fwd_stats *x = &r->count->stats[w];

		s->started += atomic_load_explicit(&x->started, memory_order_relaxed);
		s->bytes_in += atomic_load_explicit(&x->bytes_in, memory_order_relaxed);
		s->bytes_out += atomic_load_explicit(&x->bytes_out, memory_order_relaxed);
		s->spliced += atomic_load_explicit(&x->spliced, memory_order_relaxed);
		s->copied += atomic_load_explicit(&x->copied, memory_order_relaxed);
		for (unsigned i = 0; i < FWD_DROP_MAX; i++)
			s->dropped[i] += atomic_load_explicit(&x->dropped[i], memory_order_relaxed);
		for (unsigned i = 0; i < FWD_END_MAX; i++)
			s->ends[i] += atomic_load_explicit(&x->ends[i], memory_order_relaxed);
		s->kernel_ended += atomic_load_explicit(&x->kernel_ended, memory_order_relaxed);
	}
}

struct rules {
	const struct fwd_rule **v;
	size_t n, cap;
};

static void collect(const struct fwd_rule *r, void *arg)
{
	struct rules *rs = arg;

	rs->v = xgrow(rs->v, sizeof(*rs->v), rs->n + 1, &rs->cap);
	rs->v[rs->n++] = r;
}

static const char *proto_name(const struct fwd_rule *r)
{
	return r->proto == FWD_TCP ? "tcp" : "udp";
}

/* A family with one sample per rule: value(rule, sum) */
typedef uint64_t (*value_fn)(const struct fwd_rule *r, const struct sum *s, unsigned k);

static void per_rule(struct metrics *mx, const struct rules *rs, const struct sum *sums,
		     const char *name, enum metric_type type, const char *unit, const char *help,
		     const char *key, const char *const *vals, unsigned nvals, bool udp_only,
		     value_fn fn)
{
	metrics_family(mx, name, type, unit, help);
	for (size_t i = 0; i < rs->n; i++) {
		const struct fwd_rule *r = rs->v[i];

		if (udp_only && r->proto != FWD_UDP)
			continue;
		for (unsigned k = 0; k < (nvals ? nvals : 1); k++) {
			const char *l[] = { "rule", r->name, "proto", proto_name(r), key,
					    nvals ? vals[k] : NULL };

			metrics_sample_u(mx, fn(r, &sums[i], k), nvals ? 3 : 2, l);
		}
	}
}

static uint64_t v_open(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)s, (void)k;
	return r->count ? atomic_load(&r->count->active) : 0;
}

static uint64_t v_started(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)r, (void)k;
	return s->started;
}

static uint64_t v_ends(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)r;
	return s->ends[k];
}

static uint64_t v_kernel_ended(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)r, (void)k;
	return s->kernel_ended;
}

static uint64_t v_bytes(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)r;
	return k ? s->bytes_out : s->bytes_in;
}

static uint64_t v_copy(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)r;
	return k ? s->copied : s->spliced;
}

static uint64_t v_connect(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	static const enum fwd_end e[] = { FWD_END_CONNECT_REFUSED, FWD_END_CONNECT_TIMEOUT,
					  FWD_END_CONNECT_ERROR };
	(void)r;
	return s->ends[e[k]];
}

static uint64_t v_timeouts(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	static const enum fwd_end e[] = { FWD_END_CONNECT_TIMEOUT, FWD_END_IDLE_TIMEOUT,
					  FWD_END_HALFCLOSE_TIMEOUT };
	(void)r;
	return s->ends[e[k]];
}

static uint64_t v_denied(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)k;
	return r->proto == FWD_TCP ? s->ends[FWD_END_DENIED] : s->dropped[FWD_DROP_DENIED];
}

static uint64_t v_dropped(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)r;
	return s->dropped[k];
}

static uint64_t v_evicted(const struct fwd_rule *r, const struct sum *s, unsigned k)
{
	(void)r, (void)k;
	return s->ends[FWD_END_EVICTED];
}

/* --kernel: conntrack accounting on, so session ends carry bytes */
static bool kernel_bytes(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_acct", "re");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v == 1;
}

/* The families of every rule. With --kernel, what only the user-space
 * forwarder can know is a family without samples (docs/metrics.md), and
 * sessions end the kernel's one way ("ended", as the log says). */
static void rule_families(struct metrics *mx, const struct rules *rs, const struct sum *sums,
			  bool kernel)
{
	static const char *const dirs[] = { "from_client", "to_client" };
	static const char *const ways[] = { "spliced", "copied" };
	static const char *const conn[] = { "refused", "timeout", "error" };
	static const char *const kinds[] = { "connect", "idle", "halfclose" };
	static const char *const ended[] = { "ended" };
	const struct rules none = { 0 }, *user = kernel ? &none : rs;

	per_rule(mx, rs, sums, "portkit_forward_sessions_open", METRIC_GAUGE, NULL,
		 "Sessions being relayed now (UDP: entries in the session table).", NULL, NULL, 0,
		 false, v_open);
	per_rule(mx, rs, sums, "portkit_forward_sessions", METRIC_COUNTER, NULL,
		 "Sessions relayed since start (admitted, whatever came of the connect).", NULL,
		 NULL, 0, false, v_started);
	per_rule(mx, rs, sums, "portkit_forward_session_ends", METRIC_COUNTER, NULL,
		 "Sessions ended or refused, by the session log's close_reason.", "reason",
		 kernel ? ended : fwd_end_names, kernel ? 1 : FWD_END_MAX, false,
		 kernel ? v_kernel_ended : v_ends);
	per_rule(mx, user, sums, "portkit_forward_connect_failures", METRIC_COUNTER, NULL,
		 "Connections to the target that failed, by reason.", "reason", conn, 3, false,
		 v_connect);
	per_rule(mx, user, sums, "portkit_forward_timeouts", METRIC_COUNTER, NULL,
		 "Sessions ended by a timeout, by kind.", "kind", kinds, 3, false, v_timeouts);
	per_rule(mx, user, sums, "portkit_forward_denied", METRIC_COUNTER, NULL,
		 "Clients refused by the rule's allow/deny list (TCP connections, UDP datagrams).",
		 NULL, NULL, 0, false, v_denied);
	per_rule(mx, kernel && !kernel_bytes() ? &none : rs, sums, "portkit_forward_bytes",
		 METRIC_COUNTER, "bytes", "Bytes relayed, by direction.", "direction", dirs, 2, false,
		 v_bytes);
	per_rule(mx, user, sums, "portkit_forward_relay_bytes", METRIC_COUNTER, "bytes",
		 "Bytes relayed, both directions, moved by splice (no copy) or copied.", "way",
		 ways, 2, false, v_copy);
	per_rule(mx, user, sums, "portkit_forward_udp_evictions", METRIC_COUNTER, NULL,
		 "UDP sessions ended to make room under max-sessions.", NULL, NULL, 0, true,
		 v_evicted);
	per_rule(mx, user, sums, "portkit_forward_udp_dropped_datagrams", METRIC_COUNTER, NULL,
		 "UDP datagrams not relayed, by reason (reply-error: a target's reply).", "reason",
		 fwd_drop_names, FWD_DROP_MAX, true, v_dropped);
}

static void fill(struct metrics *mx, void *arg)
{
	struct fwd_metrics *m = arg;
	struct rules rs = { 0 };
	struct sum *sums;
	static const char *const results[] = { "ok", "rejected", "ignored" };

	if (m->eng)
		engine_each_rule(m->eng, collect, &rs);
	else
		klog_each_rule(m->klog, collect, &rs);
	sums = xcalloc(rs.n ? rs.n : 1, sizeof(*sums));
	for (size_t i = 0; i < rs.n; i++)
		add_up(rs.v[i], &sums[i]);
	rule_families(mx, &rs, sums, m->kernel);
	metrics_family(mx, "portkit_forward_reloads", METRIC_COUNTER, NULL,
		       "Configuration reloads (SIGHUP), by result.");
	for (unsigned i = 0; i < 3; i++) {
		const char *l[] = { "result", results[i] };

		metrics_sample_u(mx, m->reloads[i], 1, l);
	}
	metrics_family(mx, "portkit_forward_rules", METRIC_GAUGE, NULL,
		       "Rules in the running configuration.");
	metrics_sample_u(mx, rs.n, 0, NULL);
	if (m->kernel) {
		uint64_t lost[2];
		static const char *const evs[] = { "new", "destroy" };

		klog_lost(m->klog, &lost[0], &lost[1]);
		metrics_family(mx, "portkit_forward_conntrack_events_lost", METRIC_COUNTER, NULL,
			       "Conntrack events the kernel dropped (receive buffer full): new "
			       "(a session's start), destroy (a session with no log line).");
		for (unsigned i = 0; i < 2; i++) {
			const char *l[] = { "event", evs[i] };

			metrics_sample_u(mx, lost[i], 1, l);
		}
	}
	mxserve_process(mx, m->start_time);
	free(sums);
	free(rs.v);
}

void fwd_metrics_text(struct fwd_metrics *m, enum metrics_format fmt, struct buf *b)
{
	mxserve_text(fill, m, fmt, b);
}

void fwd_metrics_engine(struct fwd_metrics *m, struct engine *eng)
{
	if (m)
		m->eng = eng;
}

void fwd_metrics_kernel(struct fwd_metrics *m, struct klog *k)
{
	if (m) {
		m->kernel = true;
		m->klog = k;
	}
}

int fwd_metrics_addr(const char *addr, struct endpoint *e)
{
	return mxserve_addr(addr, 0, e);
}

int fwd_metrics_start(struct ev_loop *loop, const char *addr, struct fwd_metrics **out)
{
	struct fwd_metrics *m = xcalloc(1, sizeof(*m));
	struct mxserve_conf c = { .addr = addr, .name = "forward", .fill = fill, .arg = m };
	struct timespec now;
	int r;

	if ((r = mxserve_start(loop, &c, &m->srv))) {
		free(m);
		return r;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	*out = m;
	return 0;
}

void fwd_metrics_reload(struct fwd_metrics *m, int result)
{
	if (m && result >= 0 && result < 3)
		m->reloads[result]++;
}

void fwd_metrics_stop(struct fwd_metrics *m)
{
	if (!m)
		return;
	mxserve_stop(m->srv);
	free(m);
}
