/*
 * ctfollow.c - conntrack events on an event loop, every lost one counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_compat.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/host/conntrack_int.h"
#include "core/host/ctfollow.h"
#include "core/base/log.h"
#include "core/host/netns.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define BATCH 32		/* messages a recvmmsg */
#define MSGMAX 8192		/* an event is well under 1 KiB */
#define ROUNDS 8		/* recvmmsg calls a wake-up, then the loop's other sources */

struct ct_follow {
	struct ev_loop *loop;
	struct ev_io io;
	struct mnl_socket *nl;
	const struct ct_follow_ops *ops;
	void *arg;
	size_t rcvbuf;
	uint32_t drops;		/* the kernel's drop counter when last read */
	bool congested;		/* ENOBUFS seen; the counter is read once drained */
	bool stopped;
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	char (*buf)[MSGMAX];
};

const char *ct_event_name(enum ct_event ev)
{
	return ev == CT_NEW ? "new" : ev == CT_DESTROY ? "destroy" : "update";
}

struct feed {
	const struct ct_follow_ops *ops;
	void *arg;
	int stop;
};

static int on_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct feed *x = arg;
	struct nat_entry e;
	unsigned type = nlh->nlmsg_type & 0xff;
	enum ct_event ev = type == IPCTNL_MSG_CT_DELETE ? CT_DESTROY
			   : nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL) ? CT_NEW : CT_UPDATE;

	if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK || nat_parse_msg(nlh, nlh->nlmsg_len, &e))
		return MNL_CB_OK;
	if (x->ops->event(&e, ev, x->arg)) {
		x->stop = 1;
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

int ct_follow_feed(const struct ct_follow_ops *ops, void *arg, const void *buf, size_t n)
{
	struct feed x = { ops, arg, 0 };

	if (ct_run_batch(buf, n, 0, 0, on_msg, &x) < 0)
		return -1;
	return x.stop;
}

/* SK_MEMINFO_DROPS; false when the kernel does not say (before 4.12) */
static bool read_drops(struct ct_follow *f, uint32_t *drops)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(mnl_socket_get_fd(f->nl), SOL_SOCKET, SO_MEMINFO, mi, &len) ||
	    len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return false;
	*drops = mi[SK_MEMINFO_DROPS];
	return true;
}

void ct_follow_count_lost(struct ct_follow *f)
{
	uint32_t now;

	if (!f || !read_drops(f, &now))
		return;
	if (now != f->drops && f->ops->lost)
		f->ops->lost((uint32_t)(now - f->drops), f->arg);	/* wraps as the kernel's does */
	f->drops = now;
}

static void stop(struct ct_follow *f)
{
	if (!f->stopped)
		ev_io_del(f->loop, &f->io);
	f->stopped = true;
}

/* One recvmmsg: its events delivered. 1 when more may wait, 0 when the
 * queue is empty or the follower stopped */
static int read_batch(struct ct_follow *f)
{
	int fd = mnl_socket_get_fd(f->nl);
	int n = recvmmsg(fd, f->msg, BATCH, MSG_DONTWAIT, NULL);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			return 1;
		if (errno == ENOBUFS) {
			uint32_t ignored;

			f->congested = true;
			if (!read_drops(f, &ignored) && f->ops->lost)
				f->ops->lost(1, f->arg);	/* an old kernel: at least one */
			else
				ct_follow_count_lost(f);
			return 1;
		}
		errorf(-errno, "reading conntrack events: %s", strerror(errno));
		stop(f);
		if (f->ops->error)
			f->ops->error(f->arg);
		return 0;
	}
	for (int i = 0; i < n && !f->stopped; i++) {
		if (f->msg[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;	/* larger than any event: not one */
		ct_save(f->buf[i], f->msg[i].msg_len);
		if (ct_follow_feed(f->ops, f->arg, f->buf[i], f->msg[i].msg_len) > 0)
			stop(f);
	}
	return n == BATCH && !f->stopped;
}

static void on_readable(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct ct_follow *f = container_of(io, struct ct_follow, io);
	int more = 1;

	(void)l, (void)events;
	for (int round = 0; round < ROUNDS && more && !f->stopped; round++)
		more = read_batch(f);
	/* drained after a congestion (the kernel raised ENOBUFS once for it),
	 * or still behind: what it dropped meanwhile is said now */
	if (f->congested && !f->stopped) {
		ct_follow_count_lost(f);
		f->congested = more;
	}
}

void ct_follow_drain(struct ct_follow *f, int64_t max_us)
{
	int64_t end = ev_now_us() + max_us;

	while (f && !f->stopped && read_batch(f) && ev_now_us() < end)
		;
	if (f && !f->stopped)
		ct_follow_count_lost(f);
}

/* SO_RCVBUFFORCE as root (past net.core.rmem_max), SO_RCVBUF otherwise;
 * what the kernel granted, halved as it doubles what is asked */
static size_t set_rcvbuf(int fd, size_t want)
{
	int v = want > (size_t)(1 << 30) ? 1 << 30 : (int)want;
	socklen_t len = sizeof(v);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) || v < 0)
		return 0;
	return (size_t)v / 2;
}

static int open_socket(unsigned events, struct mnl_socket **out)
{
	if (!(*out = ct_open(events & (NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE |
				       NF_NETLINK_CONNTRACK_DESTROY))))
		return ct_error(errno, "following");
	return 0;
}

int ct_follow_open(struct ev_loop *l, const char *netns, unsigned events, size_t rcvbuf,
		   const struct ct_follow_ops *ops, void *arg, struct ct_follow **out)
{
	struct ct_follow *f;
	struct mnl_socket *nl = NULL;
	struct netns ns;
	int saved = -1, r, fd;

	if (netns) {
		if ((r = netns_resolve(netns, &ns)))
			return r;
		if (!ns.current && (r = netns_enter(&ns, &saved))) {
			netns_release(&ns);
			return r;
		}
	}
	r = open_socket(events, &nl);
	if (saved >= 0 && netns_restore(saved) && !r) {
		mnl_socket_close(nl);
		r = errorf(-EIO, "cannot come back from namespace '%s'", netns);
	}
	if (netns)
		netns_release(&ns);
	if (r)
		return r;
	f = xcalloc(1, sizeof(*f));
	f->loop = l;
	f->nl = nl;
	f->ops = ops;
	f->arg = arg;
	f->buf = xmalloc(sizeof(*f->buf) * BATCH);
	for (int i = 0; i < BATCH; i++) {
		f->iov[i] = (struct iovec){ f->buf[i], MSGMAX };
		f->msg[i].msg_hdr.msg_iov = &f->iov[i];
		f->msg[i].msg_hdr.msg_iovlen = 1;
	}
	fd = mnl_socket_get_fd(nl);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	f->rcvbuf = set_rcvbuf(fd, rcvbuf);
	read_drops(f, &f->drops);
	if ((r = ev_io_add(l, &f->io, fd, EPOLLIN, on_readable))) {
		f->stopped = true;
		ct_follow_close(f);
		return errorf(r, "cannot follow conntrack events: %s", strerror(-r));
	}
	*out = f;
	return 0;
}

size_t ct_follow_rcvbuf(const struct ct_follow *f)
{
	return f->rcvbuf;
}

void ct_follow_close(struct ct_follow *f)
{
	if (!f)
		return;
	stop(f);
	mnl_socket_close(f->nl);
	free(f->buf);
	free(f);
}
