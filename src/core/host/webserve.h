/*
 * webserve.h - a small HTTP/1.x server on an event loop, for portkit's own
 * endpoints: the Prometheus endpoint of every long-running command
 * (mxserve.h, built on this) and the lab's live page (`lab web`).
 *
 * It listens on one address (IPv4 or IPv6; port 0 takes a free port, which
 * webserve_local() tells), reads request heads with core/wire/httpreq and
 * hands each to the caller's handler, which answers at once with
 * web_respond() (or web_error()), or turns the connection into a stream
 * (web_stream_begin(): Server-Sent Events) that it writes to as things
 * happen. Keep-alive and pipelined requests as browsers and scrapers send
 * them; no request bodies.
 *
 * Contract:
 *   - It runs on the caller's loop and thread, never its own; handlers are
 *     called from the loop and must not block.
 *   - Connections are bounded (conf.max_conns: a new one closes the oldest
 *     that is not a stream, else the oldest stream, whose closed() is called), request heads too
 *     (8 KiB), and one silent for 30 s is closed (a stream is never idle).
 *     What waits to be sent to one connection is bounded (conf.max_queue):
 *     a stream that falls that far behind is closed rather than let grow
 *     (web_stream_write() says so), so a slow client never holds the
 *     server or the memory. When accept() fails for want of descriptors or
 *     memory the listener is paused 100 ms instead of spinning.
 *   - Errors are returned as -errno with errorf() naming conf.option
 *     ("--metrics", "--listen"); it never prints.
 */
#ifndef PORTKIT_WEBSERVE_H
#define PORTKIT_WEBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/ev.h"
#include "core/vocab/addr.h"
#include "core/wire/httpreq.h"

struct webserve;
struct web_conn;

struct webserve_conf {
	const char *addr;	/* ADDR:PORT; borrowed */
	unsigned ep_flags;	/* endpoint_parse()'s: EP_PORT_ZERO for any free port */
	const char *option;	/* the option that gave addr, for messages */
	unsigned max_conns;	/* at most this many connections (0: 16) */
	size_t max_queue;	/* bytes waiting per connection (0: 64 MiB) */
	/* one request: answer with web_respond()/web_error() or begin a stream */
	void (*handle)(struct web_conn *c, const struct http_req *q, void *arg);
	/* a stream ended (client gone, too slow, or closed for a newer one);
	 * c is invalid after the call. May be NULL. */
	void (*closed)(struct web_conn *c, void *arg);
	void *arg;
};

/* s as the option takes it into *e: 0, or -EINVAL with error_msg() one
 * line naming the option */
int webserve_addr(const char *s, unsigned ep_flags, const char *option, struct endpoint *e);
/* Listen on c->addr on loop: 0 and *out (webserve_stop() frees it), or
 * -errno with error_msg() set. c is copied; its strings must outlive it. */
int webserve_start(struct ev_loop *loop, const struct webserve_conf *c, struct webserve **out);
/* The address listened on, the port the kernel chose among it */
void webserve_local(const struct webserve *w, struct endpoint *e);
/* Close the listener and every connection (closed() for each stream);
 * accepts NULL */
void webserve_stop(struct webserve *w);

/* The answer to the request being handled: status, Content-Type, extra
 * header lines (each ending "\r\n", or NULL), the body (not sent for HEAD
 * when head_only) */
void web_respond(struct web_conn *c, int status, const char *type, const char *headers,
		 const void *body, size_t n, bool head_only);
/* A plain-text error answer ("404 Not Found"); the connection closes after it */
void web_error(struct web_conn *c, int status);
/* Answer with a stream of type (text/event-stream): the head now, the
 * body as web_stream_write() adds it, until either side closes */
void web_stream_begin(struct web_conn *c, const char *type, const char *headers);
/* Queue bytes on a stream: 0, or -ENOBUFS when the stream is over
 * max_queue behind, -EPIPE when the client is gone; either way it is
 * closed and closed() called, and c is invalid (called from the handler,
 * the close waits for the handler's return: c stays valid until then) */
int web_stream_write(struct web_conn *c, const void *p, size_t n);
/* The caller's pointer on a connection (NULL until set) */
void web_conn_set_data(struct web_conn *c, void *data);
void *web_conn_data(const struct web_conn *c);
/* Streams open now */
unsigned webserve_streams(const struct webserve *w);

#endif
