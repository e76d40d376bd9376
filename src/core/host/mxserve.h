/*
 * mxserve.h - a Prometheus endpoint on an event loop: `--metrics
 * ADDR:PORT` for any long-running command (forward, top).
 *
 * The HTTP side is core/host/webserve. It listens on one address (IPv4 or
 * IPv6; port 0 takes a free port, which
 * mxserve_local() tells) and answers HTTP/1.x: GET or HEAD /metrics with
 * the exposition the caller's fill() writes, in the format the Accept
 * header asks for (core/wire/metrics.h: text 0.0.4, or OpenMetrics with
 * its "# EOF"); / with a one-line page naming the command; 404 elsewhere,
 * 405 for other methods; whatever core/wire/httpreq refuses with its
 * status. Keep-alive and pipelined requests as scrapers send them.
 *
 * Contract:
 *   - It runs on the caller's loop and thread, never its own: fill() is
 *     called from the loop once per scrape, between metrics_init() and
 *     metrics_end(), and must not block. A scrape costs one buffer of the
 *     text (at most 64 MiB); nothing is kept between scrapes.
 *   - Connections are bounded (MXSERVE_MAX_CONNS: a new one closes the
 *     oldest), request heads too (8 KiB), and one silent for 30 s is
 *     closed. When accept() fails for want of descriptors or memory the
 *     listener is paused 100 ms instead of spinning on the waiting
 *     connection.
 *   - Errors are returned as -errno with errorf() naming --metrics; it
 *     never prints.
 */
#ifndef PORTKIT_MXSERVE_H
#define PORTKIT_MXSERVE_H

#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/ev.h"
#include "core/vocab/addr.h"
#include "core/wire/metrics.h"

#define MXSERVE_MAX_CONNS 16

struct mxserve;

struct mxserve_conf {
	const char *addr;	/* ADDR:PORT as --metrics takes it; borrowed */
	unsigned ep_flags;	/* endpoint_parse()'s: EP_PORT_ZERO for any free port */
	const char *name;	/* the command, for the page at / ("forward") */
	void (*fill)(struct metrics *m, void *arg);	/* the families of a scrape */
	void *arg;
};

/* s as --metrics takes it into *e: 0, or -EINVAL with error_msg() one line
 * naming --metrics (for a check before anything starts) */
int mxserve_addr(const char *s, unsigned ep_flags, struct endpoint *e);
/* Listen on c->addr on loop: 0 and *out (mxserve_stop() frees it), or
 * -errno with error_msg() set. c is copied; its strings must outlive it. */
int mxserve_start(struct ev_loop *loop, const struct mxserve_conf *c, struct mxserve **out);
/* The address listened on, the port the kernel chose among it */
void mxserve_local(const struct mxserve *m, struct endpoint *e);
/* Scrapes of /metrics answered so far */
uint64_t mxserve_scrapes(const struct mxserve *m);
/* Close the listener and every connection; accepts NULL */
void mxserve_stop(struct mxserve *m);

/* The exposition as a scrape gets it: metrics_init(), fill(arg),
 * metrics_end() into b (for tests and callers that write it elsewhere) */
void mxserve_text(void (*fill)(struct metrics *m, void *arg), void *arg,
		  enum metrics_format fmt, struct buf *b);

/* The standard process families every exporter has: process_open_fds,
 * process_max_fds, process_start_time_seconds (start_time: epoch seconds) */
void mxserve_process(struct metrics *m, double start_time);

#endif
