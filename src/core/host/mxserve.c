/*
 * mxserve.c - the Prometheus endpoint (see mxserve.h): a listener and its
 * connections on the caller's event loop.
 *
 * A connection's states, one line each:
 *   reading   - bytes come into in[]; every whole request head is answered
 *               in order while the answers go out at once (pipelining);
 *   writing   - an answer is waiting in out (EPOLLOUT until it is sent);
 *   draining  - answered with Connection: close and shut for writing: the
 *               client's last bytes are read and dropped until it closes
 *               (closing with bytes unread would send a reset that can
 *               destroy the answer before it is read), at most 2 s.
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
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/listen.h"
#include "core/host/mxserve.h"
#include "core/wire/httpreq.h"
#include "core/base/banned.h"

#define IDLE_MS 30000
#define DRAIN_MS 2000
#define PAUSE_US 100000
#define OUT_MAX (64 << 20)

struct mconn {
	struct ev_io io;
	struct ev_timer idle;
	struct mxserve *m;
	int fd;
	char in[HTTPREQ_MAX];
	size_t inlen;
	struct buf out;
	size_t outoff;
	bool close_after;
	bool draining;		/* answered and shut for writing: reading to the end */
	struct mconn *next;
};

struct mxserve {
	struct ev_loop *loop;
	struct ev_io lio;
	struct ev_timer pause;		/* out of descriptors: accept again later */
	int lfd;
	struct mxserve_conf c;
	struct mconn *conns;		/* newest first */
	unsigned nconns;
	uint64_t scrapes;
};

static void conn_close(struct mconn *c)
{
	struct mxserve *m = c->m;

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

void mxserve_text(void (*fill)(struct metrics *m, void *arg), void *arg,
		  enum metrics_format fmt, struct buf *b)
{
	struct metrics mx;

	metrics_init(&mx, b, fmt);
	fill(&mx, arg);
	metrics_end(&mx);
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

void mxserve_process(struct metrics *mx, double start_time)
{
	struct rlimit rl;

	metrics_family(mx, "process_open_fds", METRIC_GAUGE, NULL, "Open file descriptors.");
	metrics_sample_u(mx, open_fds(), 0, NULL);
	metrics_family(mx, "process_max_fds", METRIC_GAUGE, NULL,
		       "The limit on open file descriptors (RLIMIT_NOFILE, soft).");
	metrics_sample_u(mx, getrlimit(RLIMIT_NOFILE, &rl) ? 0 : (uint64_t)rl.rlim_cur, 0, NULL);
	metrics_family(mx, "process_start_time_seconds", METRIC_GAUGE, "seconds",
		       "Start time of the process since the Unix epoch.");
	metrics_sample(mx, start_time, 0, NULL);
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

static void on_idle(struct ev_loop *l, struct ev_timer *t);

/* Write what is waiting; false when the connection is gone or draining */
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
			shutdown(c->fd, SHUT_WR);
			c->draining = true;
			ev_timer_in(c->m->loop, &c->idle, (int64_t)DRAIN_MS * 1000, on_idle);
			ev_io_mod(c->m->loop, &c->io, EPOLLIN);
			return false;
		}
	}
	ev_io_mod(c->m->loop, &c->io, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
	return true;
}

static void answer(struct mconn *c, const struct http_req *q)
{
	bool head = !strcmp(q->method, "HEAD");

	if (strcmp(q->method, "GET") && !head) {
		error_status(c, 405);
	} else if (!strcmp(q->path, "/")) {
		char page[128];
		int n = snprintf(page, sizeof(page), "portkit %s: metrics at /metrics\n",
				 c->m->c.name);

		respond(c, 200, "OK", "text/plain; charset=utf-8", page, (size_t)n, head);
	} else if (strcmp(q->path, "/metrics")) {
		error_status(c, 404);
	} else {
		struct buf body = BUF_INIT(OUT_MAX);
		enum metrics_format f = q->openmetrics ? METRICS_OPENMETRICS : METRICS_TEXT;

		mxserve_text(c->m->c.fill, c->m->c.arg, f, &body);
		c->m->scrapes++;
		respond(c, 200, "OK", metrics_content_type(f), body.data ? body.data : "", body.len,
			head);
		buf_free(&body);
	}
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
		answer(c, &q);
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
	}
}

static void on_idle(struct ev_loop *l, struct ev_timer *t)
{
	(void)l;
	conn_close(container_of(t, struct mconn, idle));
}

static void drain(struct mconn *c)
{
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
}

static void on_conn(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct mconn *c = container_of(io, struct mconn, io);
	bool eof = false;

	if (c->draining) {
		drain(c);
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
	struct mxserve *m = container_of(t, struct mxserve, pause);

	ev_io_mod(l, &m->lio, EPOLLIN);
}

static void on_accept(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct mxserve *m = container_of(io, struct mxserve, lio);

	(void)events;
	for (int i = 0; i < 64; i++) {	/* bounded per wake-up */
		int fd = accept_on(m->lfd, NULL), one = 1;
		struct mconn *c;

		if (fd < 0) {
			/* the waiting connection stays queued and the listener
			 * readable: without a pause the loop would spin on it */
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				ev_io_mod(l, &m->lio, 0);
				ev_timer_in(l, &m->pause, PAUSE_US, on_resume);
			}
			return;
		}
		if (m->nconns == MXSERVE_MAX_CONNS) {
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

int mxserve_addr(const char *s, unsigned ep_flags, struct endpoint *e)
{
	char why[256];

	if (!endpoint_parse(s, ep_flags, e))
		return 0;
	/* error_msg() is the buffer errorf() writes: copied before it is quoted */
	snprintf(why, sizeof(why), "%s", error_msg());
	return errorf(-EINVAL, "--metrics: %s", why);
}

int mxserve_start(struct ev_loop *loop, const struct mxserve_conf *c, struct mxserve **out)
{
	struct mxserve *m;
	struct endpoint e;
	int fd, r;

	if (mxserve_addr(c->addr, c->ep_flags, &e))
		return -EINVAL;
	if ((fd = listen_on(&e, LISTEN_REUSEADDR, 64)) < 0)
		return errorf(fd, "--metrics: cannot listen on %s: %s", c->addr, strerror(-fd));
	m = xcalloc(1, sizeof(*m));
	m->loop = loop;
	m->lfd = fd;
	m->c = *c;
	if ((r = ev_io_add(loop, &m->lio, fd, EPOLLIN, on_accept))) {
		close(fd);
		free(m);
		return errorf(r, "--metrics: cannot watch %s: %s", c->addr, strerror(-r));
	}
	*out = m;
	return 0;
}

void mxserve_local(const struct mxserve *m, struct endpoint *e)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	memset(e, 0, sizeof(*e));
	if (!getsockname(m->lfd, (struct sockaddr *)&sa, &len))
		endpoint_from_sockaddr(e, &sa);
}

uint64_t mxserve_scrapes(const struct mxserve *m)
{
	return m->scrapes;
}

void mxserve_stop(struct mxserve *m)
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
