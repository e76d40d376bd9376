/*
 * sockgone.c - the sock_diag destroy groups as a loop source (sockgone.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/sockgone.h"
#include "core/base/banned.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define BATCH 32
#define MSGMAX 4096	/* one inet_diag message with tcp_info: under 1 KiB */
#define ROUNDS 64	/* batches per wake-up: the loop's other sources get their turn */

struct sockgone {
	struct ev_loop *loop;
	struct ev_io io;
	int fd;
	uint16_t ns;
	sockgone_fn fn;
	void *arg;
	uint32_t drops0;	/* the socket's drop counter at open */
	uint8_t (*buf)[MSGMAX];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
};

struct feed {
	sockgone_fn fn;
	void *arg;
};

void sockgone_feed(const uint8_t *buf, size_t len, uint16_t ns, sockgone_fn fn, void *arg)
{
	struct diag_query q = { .tcp = true, .udp = true, .v4 = true, .v6 = true, .states = SS_ALL | 1,
				.ext = true };
	struct sock_table t = { 0 };

	/* every state: a socket is destroyed in CLOSE, or in any state when
	 * its namespace goes; the message's INET_DIAG_PROTOCOL says TCP or
	 * UDP; a malformed message ends the batch */
	(void)sockdiag_parse(buf, len, AF_UNSPEC, IPPROTO_TCP, &q, NULL, 0, ns, &t);
	for (size_t i = 0; i < t.n; i++)
		fn(&t.v[i], arg);
	sock_table_free(&t);
}

static bool read_drops(int fd, uint32_t *drops)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) ||
	    len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return false;
	*drops = mi[SK_MEMINFO_DROPS];
	return true;
}

uint64_t sockgone_lost(struct sockgone *g)
{
	uint32_t now;

	if (!g || !read_drops(g->fd, &now))
		return 0;
	return (uint32_t)(now - g->drops0);
}

/* One recvmmsg handed on; true when more may wait */
static bool read_batch(struct sockgone *g)
{
	int n = recvmmsg(g->fd, g->msg, BATCH, MSG_DONTWAIT, NULL);

	if (n < 0)	/* ENOBUFS: the drops are in the counter; go on reading */
		return errno == ENOBUFS || errno == EINTR;
	for (int i = 0; i < n; i++)
		if (!(g->msg[i].msg_hdr.msg_flags & MSG_TRUNC))
			sockgone_feed(g->buf[i], g->msg[i].msg_len, g->ns, g->fn, g->arg);
	return n == BATCH;
}

static void on_readable(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct sockgone *g = container_of(io, struct sockgone, io);
	bool more = true;

	(void)l, (void)events;
	for (int round = 0; round < ROUNDS && more; round++)
		more = read_batch(g);
}

void sockgone_drain(struct sockgone *g, int64_t max_us)
{
	int64_t end = ev_now_us() + max_us;

	while (g && read_batch(g) && ev_now_us() < end)
		;
}

int sockgone_open(struct ev_loop *l, uint16_t ns, sockgone_fn fn, void *arg, struct sockgone **out)
{
	static const int groups[] = { SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY,
				      SKNLGRP_INET_UDP_DESTROY, SKNLGRP_INET6_UDP_DESTROY };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	int v = (int)SOCKGONE_RCVBUF, r;
	struct sockgone *g;

	if (fd < 0)
		return errorf(-errno, "cannot open a sock_diag socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = errorf(-errno, "cannot bind a sock_diag socket: %s", strerror(errno));
		close(fd);
		return r;
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof(int))) {
			r = errorf(-errno, "cannot follow session ends (sock_diag destroy "
				   "groups): %s", strerror(errno));
			close(fd);
			return r;
		}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	g = xcalloc(1, sizeof(*g));
	g->loop = l;
	g->fd = fd;
	g->ns = ns;
	g->fn = fn;
	g->arg = arg;
	g->buf = xmalloc(sizeof(*g->buf) * BATCH);
	for (int i = 0; i < BATCH; i++) {
		g->iov[i] = (struct iovec){ g->buf[i], MSGMAX };
		g->msg[i].msg_hdr.msg_iov = &g->iov[i];
		g->msg[i].msg_hdr.msg_iovlen = 1;
	}
	read_drops(fd, &g->drops0);
	if (l && (r = ev_io_add(l, &g->io, fd, EPOLLIN, on_readable))) {
		g->loop = NULL;
		sockgone_close(g);
		return errorf(r, "cannot follow session ends: %s", strerror(-r));
	}
	*out = g;
	return 0;
}

void sockgone_close(struct sockgone *g)
{
	if (!g)
		return;
	if (g->loop)
		ev_io_del(g->loop, &g->io);
	close(g->fd);
	free(g->buf);
	free(g);
}
