/*
 * webserve.c - the HTTP server of webserve.h: a listener and its
 * connections on the caller's event loop.
 *
 * A connection's states, one line each:
 *   reading   - bytes come into in[]; every whole request head is answered
 *               in order while the answers go out at once (pipelining);
 *   writing   - an answer is waiting in out (EPOLLOUT until it is sent);
 *   streaming - the handler made it a stream: out holds what the caller
 *               wrote and has not gone yet; what the client sends is read
 *               and dropped; never idle-closed;
 *   draining  - answered with Connection: close and shut for writing: the
 *               client's last bytes are read and dropped until it closes
 *               (closing with bytes unread would send a reset that can
 *               destroy the answer before it is read), at most 2 s.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/listen.h"
#include "core/host/webserve.h"
#include "core/base/banned.h"

#define IDLE_MS 30000
#define DRAIN_MS 2000
#define PAUSE_US 100000

struct web_conn {
	struct ev_io io;
	struct ev_timer idle;
	struct webserve *w;
	int fd;
	char in[HTTPREQ_MAX];
	size_t inlen;
	struct buf out;
	size_t outoff;
	bool close_after;
	bool head_only;		/* the request being answered is a HEAD */
	bool streaming;
	bool draining;		/* answered and shut for writing: reading to the end */
	bool in_handler;	/* the handler runs: a close waits for its return */
	bool dead;		/* closed while in_handler: conn_close() once it returns */
	void *data;
	struct web_conn *next;
};

struct webserve {
	struct ev_loop *loop;
	struct ev_io lio;
	struct ev_timer pause;		/* out of descriptors: accept again later */
	int lfd;
	struct webserve_conf c;
	struct web_conn *conns;		/* newest first */
	unsigned nconns, nstreams;
};

static void conn_close(struct web_conn *c)
{
	struct webserve *w = c->w;

	if (c->in_handler) {	/* serve_requests() still holds c: it closes it */
		c->dead = true;
		return;
	}
	for (struct web_conn **pp = &w->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	w->nconns--;
	ev_io_del(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->idle);
	close(c->fd);
	buf_free(&c->out);
	if (c->streaming) {
		w->nstreams--;
		if (w->c.closed)
			w->c.closed(c, w->c.arg);
	}
	free(c);
}

/* ---- answers ---- */

static const char *reason(int status)
{
	static const struct {
		int status;
		const char *text;
	} t[] = {
		{ 200, "OK" }, { 202, "Accepted" }, { 204, "No Content" }, { 400, "Bad Request" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 409, "Conflict" }, { 414, "URI Too Long" },
		{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].status == status)
			return t[i].text;
	return "Error";
}

void web_respond(struct web_conn *c, int status, const char *type, const char *headers,
		 const void *body, size_t n, bool head_only)
{
	buf_addf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
		 status, reason(status), type, n, headers ? headers : "",
		 c->close_after ? "Connection: close\r\n" : "");
	if (!head_only && !c->head_only)
		buf_add(&c->out, body, n);
}

void web_error(struct web_conn *c, int status)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));

	c->close_after = true;	/* nothing more is read from a client that erred */
	web_respond(c, status, "text/plain; charset=utf-8", NULL, body, (size_t)n, false);
}

void web_stream_begin(struct web_conn *c, const char *type, const char *headers)
{
	buf_addf(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
		 "%s\r\n", type, headers ? headers : "");
	c->streaming = true;
	c->close_after = false;
	c->w->nstreams++;
	ev_timer_stop(c->w->loop, &c->idle);
}

static bool flush_out(struct web_conn *c);

int web_stream_write(struct web_conn *c, const void *p, size_t n)
{
	if (c->dead)
		return -EPIPE;
	if (c->out.len - c->outoff + n > c->w->c.max_queue || buf_add(&c->out, p, n)) {
		conn_close(c);
		return -ENOBUFS;
	}
	return flush_out(c) ? 0 : -EPIPE;
}

void web_conn_set_data(struct web_conn *c, void *data)
{
	c->data = data;
}

void *web_conn_data(const struct web_conn *c)
{
	return c->data;
}

unsigned webserve_streams(const struct webserve *w)
{
	return w->nstreams;
}

static void on_idle(struct ev_loop *l, struct ev_timer *t);

/* Write what is waiting; false when the connection is gone or draining */
static bool flush_out(struct web_conn *c)
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
			ev_timer_in(c->w->loop, &c->idle, (int64_t)DRAIN_MS * 1000, on_idle);
			ev_io_mod(c->w->loop, &c->io, EPOLLIN);
			return false;
		}
	} else if (c->outoff > (1u << 20)) {	/* a stream that keeps some queued: compact */
		memmove(c->out.data, c->out.data + c->outoff, c->out.len - c->outoff);
		c->out.len -= c->outoff;
		c->outoff = 0;
	}
	/* an answer waiting: until it is sent, read no more of the next
	 * requests (a client that sends and never reads would wake the loop
	 * for ever once in[] is full or it half-closed); a stream still reads
	 * what the client sends, to see it go */
	ev_io_mod(c->w->loop, &c->io,
		  !c->out.len ? EPOLLIN : c->streaming ? EPOLLIN | EPOLLOUT : EPOLLOUT);
	return true;
}

/* Answer every whole request in the input (pipelined ones in order);
 * false when the handler closed the connection (c is gone) */
static bool serve_requests(struct web_conn *c)
{
	while (c->inlen && !c->close_after && !c->out.len && !c->streaming) {
		struct http_req q;
		int n = http_req_parse(c->in, c->inlen, &q);

		if (n == 0)
			return true;
		if (n < 0) {
			web_error(c, -n);
			return true;
		}
		c->close_after = !q.keep_alive;
		c->head_only = !strcmp(q.method, "HEAD");
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
		c->in_handler = true;
		c->w->c.handle(c, &q, c->w->c.arg);
		c->in_handler = false;
		if (c->dead) {	/* a stream write in the handler closed it */
			conn_close(c);
			return false;
		}
		c->head_only = false;
	}
	return true;
}

static void on_idle(struct ev_loop *l, struct ev_timer *t)
{
	(void)l;
	conn_close(container_of(t, struct web_conn, idle));
}

/* Read and drop what the client sends; false when it closed */
static bool drain(struct web_conn *c)
{
	char junk[4096];

	for (int i = 0; i < 16; i++) {	/* bounded; the timer or the next wake-up ends it */
		ssize_t n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return false;
		}
		if (n < 0)
			return true;
	}
	return true;
}

static void on_conn(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct web_conn *c = container_of(io, struct web_conn, io);
	bool eof = false;

	if (c->draining) {
		drain(c);
		return;
	}
	if (events & EPOLLOUT && !flush_out(c))
		return;
	if (c->streaming) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			drain(c);
		return;
	}
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

		if (!serve_requests(c))
			return;
		if (!c->out.len)
			break;
		if (!flush_out(c))
			return;
		if (c->streaming) {
			ev_timer_stop(l, &c->idle);
			return;
		}
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
	struct webserve *w = container_of(t, struct webserve, pause);

	ev_io_mod(l, &w->lio, EPOLLIN);
}

/* The connection a new one replaces: the oldest that is not a stream (a
 * client that opens connections and sends nothing, or a byte a second,
 * must not close the pages' streams), else the oldest stream */
static struct web_conn *oldest(struct webserve *w)
{
	struct web_conn *old = NULL, *any = NULL;

	for (struct web_conn *c = w->conns; c; c = c->next) {	/* newest first */
		any = c;
		if (!c->streaming)
			old = c;
	}
	return old ? old : any;
}

static void on_accept(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct webserve *w = container_of(io, struct webserve, lio);

	(void)events;
	for (int i = 0; i < 64; i++) {	/* bounded per wake-up */
		int fd = accept_on(w->lfd, NULL), one = 1;
		struct web_conn *c;

		if (fd < 0) {
			/* the waiting connection stays queued and the listener
			 * readable: without a pause the loop would spin on it */
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				ev_io_mod(l, &w->lio, 0);
				ev_timer_in(l, &w->pause, PAUSE_US, on_resume);
			}
			return;
		}
		if (w->nconns == w->c.max_conns)
			conn_close(oldest(w));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->w = w;
		buf_init(&c->out, w->c.max_queue);
		c->next = w->conns;
		w->conns = c;
		w->nconns++;
		ev_io_add(l, &c->io, fd, EPOLLIN | EPOLLRDHUP, on_conn);
		ev_timer_in(l, &c->idle, (int64_t)IDLE_MS * 1000, on_idle);
	}
}

int webserve_addr(const char *s, unsigned ep_flags, const char *option, struct endpoint *e)
{
	char why[256];

	if (!endpoint_parse(s, ep_flags, e))
		return 0;
	/* error_msg() is the buffer errorf() writes: copied before it is quoted */
	snprintf(why, sizeof(why), "%s", error_msg());
	return errorf(-EINVAL, "%s: %s", option, why);
}

int webserve_start(struct ev_loop *loop, const struct webserve_conf *c, struct webserve **out)
{
	struct webserve *w;
	struct endpoint e;
	int fd, r;

	if (webserve_addr(c->addr, c->ep_flags, c->option, &e))
		return -EINVAL;
	if ((fd = listen_on(&e, LISTEN_REUSEADDR, 64)) < 0)
		return errorf(fd, "%s: cannot listen on %s: %s", c->option, c->addr, strerror(-fd));
	w = xcalloc(1, sizeof(*w));
	w->loop = loop;
	w->lfd = fd;
	w->c = *c;
	if (!w->c.max_conns)
		w->c.max_conns = 16;
	if (!w->c.max_queue)
		w->c.max_queue = 64u << 20;
	if ((r = ev_io_add(loop, &w->lio, fd, EPOLLIN, on_accept))) {
		close(fd);
		free(w);
		return errorf(r, "%s: cannot watch %s: %s", c->option, c->addr, strerror(-r));
	}
	*out = w;
	return 0;
}

void webserve_local(const struct webserve *w, struct endpoint *e)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	memset(e, 0, sizeof(*e));
	if (!getsockname(w->lfd, (struct sockaddr *)&sa, &len))
		endpoint_from_sockaddr(e, &sa);
}

void webserve_stop(struct webserve *w)
{
	if (!w)
		return;
	while (w->conns)
		conn_close(w->conns);
	ev_timer_stop(w->loop, &w->pause);
	ev_io_del(w->loop, &w->lio);
	close(w->lfd);
	free(w);
}
