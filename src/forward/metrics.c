/*
 * metrics.c - `portkit forward --metrics ADDR:PORT`: the forwarder's counters
 * as a Prometheus endpoint, GET /metrics.
 *
 * It runs on the main thread's event loop, beside the signals, never on a
 * worker: a scrape adds up the workers' counter blocks (each worker writes
 * only its own, so nothing on the data path waits for a scrape) and writes
 * the text from one buffer. Connections are few and bounded (MAX_CONNS,
 * the oldest idle one makes room), requests are read by core/httpreq
 * (strict, no bodies, 8 KiB heads), and a connection that sends nothing
 * for IDLE_MS is closed. Keep-alive as scrapers use it.
 */
#include <errno.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/ev.h"
#include "core/wire/httpreq.h"
#include "core/base/log.h"
#include "core/host/listen.h"
#include "core/wire/metrics.h"
#include "core/base/xalloc.h"
#include "forward/forward.h"
#include "forward/metrics.h"
#include "core/base/banned.h"

#define MAX_CONNS 16
#define IDLE_MS 30000
#define OUT_MAX (64 << 20)

struct mconn {
	struct ev_io io;
	struct ev_timer idle;
	struct fwd_metrics *m;
	int fd;
	char in[HTTPREQ_MAX];
	size_t inlen;
	struct buf out;
	size_t outoff;
	bool close_after;
	bool draining;		/* answered and shut for writing: reading to the end */
	struct mconn *next;
};

struct fwd_metrics {
	struct ev_loop *loop;
	struct ev_io lio;
	struct ev_timer pause;		/* out of descriptors: accept again later */
	int lfd;
	struct engine *eng;
	bool kernel;			/* --kernel: the counters come from klog */
	struct klog *klog;
	struct mconn *conns;
	unsigned nconns;
	uint64_t reloads[3];		/* ok, rejected, ignored */
	uint64_t scrapes;
	double start_time;
};

static void conn_close(struct mconn *c)
{
	struct fwd_metrics *m = c->m;

	for (struct mconn **pp = &m->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	m->nconns--;
	ev_io_del(m->loop, &c->io);
	ev_timer_stop(m->loop, &c->idle);
	close(c->fd);
	buf_free(&c->out);
	free(c);
}

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

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0;	/* not the one opendir holds */
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

void fwd_metrics_text(struct fwd_metrics *m, enum metrics_format fmt, struct buf *b)
{
	struct rules rs = { 0 };
	struct sum *sums;
	static const char *const results[] = { "ok", "rejected", "ignored" };
	struct metrics mx;
	struct rlimit rl;

	if (m->eng)
		engine_each_rule(m->eng, collect, &rs);
	else
		klog_each_rule(m->klog, collect, &rs);
	sums = xcalloc(rs.n ? rs.n : 1, sizeof(*sums));
	for (size_t i = 0; i < rs.n; i++)
		add_up(rs.v[i], &sums[i]);
	metrics_init(&mx, b, fmt);
	rule_families(&mx, &rs, sums, m->kernel);
	metrics_family(&mx, "portkit_forward_reloads", METRIC_COUNTER, NULL,
		       "Configuration reloads (SIGHUP), by result.");
	for (unsigned i = 0; i < 3; i++) {
		const char *l[] = { "result", results[i] };

		metrics_sample_u(&mx, m->reloads[i], 1, l);
	}
	metrics_family(&mx, "portkit_forward_rules", METRIC_GAUGE, NULL,
		       "Rules in the running configuration.");
	metrics_sample_u(&mx, rs.n, 0, NULL);
	if (m->kernel) {
		uint64_t lost[2];
		static const char *const evs[] = { "new", "destroy" };

		klog_lost(m->klog, &lost[0], &lost[1]);
		metrics_family(&mx, "portkit_forward_conntrack_events_lost", METRIC_COUNTER, NULL,
			       "Conntrack events the kernel dropped (receive buffer full): new "
			       "(a session's start), destroy (a session with no log line).");
		for (unsigned i = 0; i < 2; i++) {
			const char *l[] = { "event", evs[i] };

			metrics_sample_u(&mx, lost[i], 1, l);
		}
	}
	metrics_family(&mx, "process_open_fds", METRIC_GAUGE, NULL, "Open file descriptors.");
	metrics_sample_u(&mx, open_fds(), 0, NULL);
	metrics_family(&mx, "process_max_fds", METRIC_GAUGE, NULL,
		       "The limit on open file descriptors (RLIMIT_NOFILE, soft).");
	metrics_sample_u(&mx, getrlimit(RLIMIT_NOFILE, &rl) ? 0 : (uint64_t)rl.rlim_cur, 0, NULL);
	metrics_family(&mx, "process_start_time_seconds", METRIC_GAUGE, "seconds",
		       "Start time of the process since the Unix epoch.");
	metrics_sample(&mx, m->start_time, 0, NULL);
	metrics_end(&mx);
	free(sums);
	free(rs.v);
}

/* ---- the HTTP side ---- */

static void respond(struct mconn *c, int status, const char *reason, const char *type,
		    const char *body, size_t n, bool head_only)
{
	buf_addf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
		 status, reason, type, n, c->close_after ? "Connection: close\r\n" : "");
	if (!head_only)
		buf_add(&c->out, body, n);
}

static void error_status(struct mconn *c, int status)
{
	const char *reason = status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed"
			     : status == 414 ? "URI Too Long" : status == 431
			     ? "Request Header Fields Too Large" : status == 501 ? "Not Implemented"
			     : status == 505 ? "HTTP Version Not Supported" : "Bad Request";
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);

	c->close_after = true;	/* nothing more is read from a client that erred */
	respond(c, status, reason, "text/plain; charset=utf-8", body, (size_t)n, false);
}

static void on_conn(struct ev_loop *l, struct ev_io *io, uint32_t events);
static void on_idle(struct ev_loop *l, struct ev_timer *t);

/* Write what is waiting; false when the connection is gone */
static bool flush_out(struct mconn *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->outoff, c->out.len - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_close(c);
			return false;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->out.len) {
		buf_reset(&c->out);
		c->outoff = 0;
		if (c->close_after) {
			/* not close() with the client's bytes unread: that would send
			 * a reset that can destroy the answer before it is read */
			shutdown(c->fd, SHUT_WR);
			c->draining = true;
			ev_timer_in(c->m->loop, &c->idle, 2000 * 1000, on_idle);
			ev_io_mod(c->m->loop, &c->io, EPOLLIN);
			return false;
		}
	}
	ev_io_mod(c->m->loop, &c->io, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
	return true;
}

/* Answer every whole request in the input (pipelined ones in order) */
static void serve_requests(struct mconn *c)
{
	while (c->inlen && !c->close_after && !c->out.len) {
		struct http_req q;
		int n = http_req_parse(c->in, c->inlen, &q);

		if (n == 0)
			return;
		if (n < 0) {
			c->close_after = true;
			error_status(c, -n);
			return;
		}
		c->close_after = !q.keep_alive;
		if (strcmp(q.method, "GET") && strcmp(q.method, "HEAD")) {
			error_status(c, 405);
		} else if (strcmp(q.path, "/metrics") && strcmp(q.path, "/")) {
			error_status(c, 404);
		} else if (!strcmp(q.path, "/")) {
			static const char page[] = "portkit forward: metrics at /metrics\n";

			respond(c, 200, "OK", "text/plain; charset=utf-8", page, sizeof(page) - 1,
				!strcmp(q.method, "HEAD"));
		} else {
			struct buf body = BUF_INIT(OUT_MAX);
			enum metrics_format f = q.openmetrics ? METRICS_OPENMETRICS : METRICS_TEXT;

			fwd_metrics_text(c->m, f, &body);
			c->m->scrapes++;
			respond(c, 200, "OK", metrics_content_type(f), body.data ? body.data : "",
				body.len, !strcmp(q.method, "HEAD"));
			buf_free(&body);
		}
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
	}
}

static void on_idle(struct ev_loop *l, struct ev_timer *t)
{
	(void)l;
	conn_close(container_of(t, struct mconn, idle));
}

static void on_conn(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct mconn *c = container_of(io, struct mconn, io);
	bool eof = false;

	if (c->draining) {
		char junk[4096];

		for (int i = 0; i < 16; i++) {	/* bounded; the timer ends it anyway */
			ssize_t n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_close(c);
				return;
			}
			if (n < 0)
				return;
		}
		return;
	}
	if (events & EPOLLOUT && !flush_out(c))
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		/* bounded: at most the room left in the input buffer */
		while (c->inlen < sizeof(c->in)) {
			ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
					 MSG_DONTWAIT);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				conn_close(c);
				return;
			}
			if (n <= 0) {
				eof = n == 0;
				break;
			}
			c->inlen += (size_t)n;
		}
		ev_timer_in(l, &c->idle, (int64_t)IDLE_MS * 1000, on_idle);
	}
	/* answer whole requests while the answers go out at once */
	for (int i = 0; i < 64; i++) {
		size_t before = c->inlen;

		serve_requests(c);
		if (!c->out.len)
			break;
		if (!flush_out(c))
			return;
		if (c->out.len || c->inlen == before)
			break;	/* the socket is full, or nothing more to answer */
	}
	if (eof && !c->out.len)
		conn_close(c);	/* the client is done and so are we */
	else if (eof)
		c->close_after = true;
}

static void on_resume(struct ev_loop *l, struct ev_timer *t)
{
	struct fwd_metrics *m = container_of(t, struct fwd_metrics, pause);

	ev_io_mod(l, &m->lio, EPOLLIN);
}

static void on_accept(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct fwd_metrics *m = container_of(io, struct fwd_metrics, lio);

	(void)events;
	for (int i = 0; i < 64; i++) {	/* bounded per wake-up */
		int fd = accept_on(m->lfd, NULL), one = 1;
		struct mconn *c;

		if (fd < 0) {
			/* the waiting connection stays queued and the listener
			 * readable: without a pause the loop would spin on it */
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				ev_io_mod(l, &m->lio, 0);
				ev_timer_in(l, &m->pause, 100000, on_resume);
			}
			return;
		}
		if (m->nconns == MAX_CONNS) {
			struct mconn *old = m->conns;

			while (old->next)	/* the oldest: new ones go in front */
				old = old->next;
			conn_close(old);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->m = m;
		buf_init(&c->out, OUT_MAX);
		c->next = m->conns;
		m->conns = c;
		m->nconns++;
		ev_io_add(l, &c->io, fd, EPOLLIN | EPOLLRDHUP, on_conn);
		ev_timer_in(l, &c->idle, (int64_t)IDLE_MS * 1000, on_idle);
	}
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
	char why[256];

	if (!endpoint_parse(addr, 0, e))
		return 0;
	/* error_msg() is the buffer errorf() writes: copied before it is quoted */
	snprintf(why, sizeof(why), "%s", error_msg());
	return errorf(-EINVAL, "--metrics: %s", why);
}

int fwd_metrics_start(struct ev_loop *loop, const char *addr, struct fwd_metrics **out)
{
	struct fwd_metrics *m;
	struct endpoint e;
	struct timespec now;
	int fd;

	if (fwd_metrics_addr(addr, &e))
		return -EINVAL;
	if ((fd = listen_on(&e, LISTEN_REUSEADDR, 64)) < 0)
		return errorf(fd, "--metrics: cannot listen on %s: %s", addr, strerror(-fd));
	m = xcalloc(1, sizeof(*m));
	m->loop = loop;
	m->lfd = fd;
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	ev_io_add(loop, &m->lio, fd, EPOLLIN, on_accept);
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
	while (m->conns)
		conn_close(m->conns);
	ev_timer_stop(m->loop, &m->pause);
	ev_io_del(m->loop, &m->lio);
	close(m->lfd);
	free(m);
}
