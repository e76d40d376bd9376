/*
 * listen.h - the sockets that wait for others: listeners built one way for
 * forward, serve and the metrics endpoint, accepted connections, and the
 * process's descriptor limit.
 */
#ifndef PORTKIT_LISTEN_H
#define PORTKIT_LISTEN_H

#include "core/vocab/addr.h"

enum {
	LISTEN_UDP = 1,		/* a datagram socket: bound, no listen() */
	LISTEN_REUSEADDR = 2,	/* a restart is not stopped by TIME_WAIT */
	LISTEN_REUSEPORT = 4,	/* one of a group (a socket per worker) */
	LISTEN_V6ONLY = 8,	/* [::] for IPv6 only (default: both families) */
	LISTEN_PKTINFO = 16,	/* UDP: each datagram's own destination address */
};

/* A non-blocking, close-on-exec socket bound to e, listening with backlog
 * for TCP: the descriptor, or -errno. */
int listen_on(const struct endpoint *e, unsigned flags, int backlog);

/* The next connection waiting on lfd, non-blocking and close-on-exec,
 * its peer in *peer when not NULL: the descriptor, or -errno (-EAGAIN
 * when none waits). */
int accept_on(int lfd, struct endpoint *peer);

/* The soft limit on open descriptors raised to the hard one, as servers
 * do at start; returns the soft limit now in force. */
unsigned long fd_limit_raise(void);

#endif
