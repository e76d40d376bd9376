/*
 * udp.c - UDP forwarding as a NAT does it: a session per (rule, client
 * address), each with its own socket connected to the target, so replies
 * come back to exactly one client. Datagrams are read and written in
 * batches (recvmmsg/sendmmsg) and forwarded one for one: boundaries kept,
 * nothing injected, merged or reinterpreted. A session ends after the
 * rule's idle time since its last datagram; at the rule's session cap the
 * least recently used one is ended to make room, but only once the new
 * session's socket is in hand: an eviction that would not let the new
 * session open is never made. Every datagram that is not relayed is
 * counted by its reason (enum fwd_drop), in the metrics at once and in an
 * event line at the next sweep.
 */
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/hash.h"
#include "core/base/xalloc.h"
#include "forward/engine.h"
#include "core/base/banned.h"

#define BATCH 32
#define DGRAM 65536

struct usess {
	struct ev_io io;
	int fd;
	struct sockaddr_storage client;
	socklen_t clen;
	struct listener *l;
	struct fwd_config *gen;
	uint64_t in, out;
	int64_t start, last;
	struct usess *hnext;
	struct list link;	/* listener.lru: the most recent first */
	bool dead;
	struct usess *dead_next;
	struct worker *w;
};

static __thread char (*bufs)[DGRAM];

static char (*batch_bufs(void))[DGRAM]
{
	if (!bufs)
		bufs = xmalloc(BATCH * sizeof(*bufs));
	return bufs;
}

void udp_thread_done(void)
{
	free(bufs);
	bufs = NULL;
}

static uint32_t hash_addr(const struct listener *l, const struct sockaddr_storage *sa,
			  socklen_t len)
{
	return hash_mix(hash_add(l->hseed, sa, len));
}

/* n datagrams of l not relayed, for reason why */
static void dropped(struct listener *l, enum fwd_drop why, uint64_t n)
{
	l->dropped[why] += n;
	fwd_stat_add(&fwd_stats_of(l->rule, l->w->id)->dropped[why], n);
}

/* Datagrams the kernel dropped at fd's full receive buffer since *seen
 * (SO_MEMINFO's running count, which *seen then takes) */
static uint32_t kernel_drops(int fd, uint32_t *seen)
{
	uint32_t mi[SK_MEMINFO_VARS], d;
	socklen_t len = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) ||
	    len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return 0;
	d = mi[SK_MEMINFO_DROPS] - *seen;
	*seen = mi[SK_MEMINFO_DROPS];
	return d;
}

/* The datagrams waiting, unread, in an ended session's socket (read and
 * thrown away to count them; bounded: a receive buffer holds few) */
static uint64_t unread(int fd)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	char byte;
	uint64_t n = 0;

	for (int k = 0; k < 64; k++) {
		int r;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ &byte, 1 };
			m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		if ((r = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL)) <= 0)
			break;
		n += (uint64_t)r;
	}
	return n;
}

/*
 * An ended session's socket is held, unread, for QUARANTINE_MS before it is
 * closed: its source port is not handed to a new session while late replies
 * for the old client may still come (a NAT's port-reuse delay). At most
 * QUARANTINE_MAX a worker; past that the oldest is closed early. The
 * replies that came to it meanwhile are dropped, and counted as it closes
 * (late-reply), under its listener's rule.
 */
static void quarantine(struct worker *w, struct listener *l, int fd, uint32_t kdrops)
{
	struct quarantine *q = &w->quar;
	size_t i;

	if (q->n == QUARANTINE_MAX)
		udp_quarantine_retire(w);
	i = (q->head + q->n) % QUARANTINE_MAX;
	q->fd[i] = fd;
	q->until[i] = ev_now_ms() + QUARANTINE_MS;
	q->count[i] = l->rule->count;
	q->kdrops[i] = kdrops;
	q->n++;
}

/* Close the oldest quarantined socket, counting what came to it */
static void quarantine_close(struct worker *w)
{
	struct quarantine *q = &w->quar;
	size_t i = q->head;
	uint64_t n = unread(q->fd[i]) + kernel_drops(q->fd[i], &q->kdrops[i]);
	struct listener *l = w->ls;

	close(q->fd[i]);
	q->head = (q->head + 1) % QUARANTINE_MAX;
	q->n--;
	if (!n || !q->count[i])
		return;
	while (l && l->rule->count != q->count[i])
		l = l->next;
	if (l) {
		dropped(l, FWD_DROP_LATE_REPLY, n);
	} else {	/* the rule is gone: its counters (and an event without it) */
		fwd_stat_add(&q->count[i]->stats[w->id % q->count[i]->nstats]
				      .dropped[FWD_DROP_LATE_REPLY], n);
		q->late_orphan += n;
	}
}

void udp_quarantine_retire(struct worker *w)
{
	if (w->quar.n)
		quarantine_close(w);
}

void udp_quarantine_sweep(struct worker *w, int64_t now, bool all)
{
	struct quarantine *q = &w->quar;

	while (q->n && (all || q->until[q->head] <= now))
		quarantine_close(w);
}

void udp_log_orphans(struct worker *w)
{
	unsigned long long n = w->quar.late_orphan;

	if (n)
		slog_dropped(w->eng->o.log, "dropped", NULL, (long long)n, "late-reply",
			     "dropped %llu replies that came after their session had ended (rules "
			     "since removed)", n);
	w->quar.late_orphan = 0;
}

static void end_session(struct listener *l, struct usess *s, const char *reason)
{
	struct usess **pp = &l->buckets[hash_addr(l, &s->client, s->clen) % l->nbuckets];
	struct endpoint client;
	struct slog_rec r = { .rule = l->rule, .client = &client, .bytes_in = s->in,
			      .bytes_out = s->out, .start_ms = s->start, .end_ms = ev_now_ms(),
			      .close_reason = reason };
	uint32_t kdrops = 0;

	endpoint_from_sockaddr(&client, &s->client);
	/* replies the kernel dropped at this session's full receive buffer */
	if (kernel_drops(s->fd, &kdrops))
		dropped(l, FWD_DROP_RCVBUF_FULL, kdrops);
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	list_del(&s->link);
	l->nsess--;
	atomic_fetch_sub(fwd_active(l->rule), 1);
	fwd_stats_end(l->rule, l->w->id, reason);
	slog_session(l->w->eng->o.log, &r);
	ev_io_del(s->w->loop, &s->io);
	quarantine(s->w, l, s->fd, kdrops);
	fwd_config_unref(s->gen);
	/* an event for it may still be waiting in this batch */
	s->dead = true;
	s->dead_next = s->w->dead_sess;
	s->w->dead_sess = s;
}

void udp_reap(struct worker *w)
{
	while (w->dead_sess) {
		struct usess *s = w->dead_sess;

		w->dead_sess = s->dead_next;
		free(s);
	}
}

static struct usess *find(struct listener *l, const struct sockaddr_storage *sa, socklen_t len)
{
	struct usess *s;

	if (!l->nbuckets)
		return NULL;
	for (s = l->buckets[hash_addr(l, sa, len) % l->nbuckets]; s; s = s->hnext)
		if (s->clen == len && !memcmp(&s->client, sa, len))
			return s;
	return NULL;
}

static void on_session(struct ev_loop *loop, struct ev_io *io, uint32_t events);

/* The errno of a socket() or connect() as a drop reason */
static enum fwd_drop open_failure(int e)
{
	if (e == EMFILE || e == ENFILE)
		return FWD_DROP_NO_DESCRIPTOR;
	if (e == EADDRNOTAVAIL || e == EAGAIN)	/* no ephemeral port left to bind */
		return FWD_DROP_NO_PORT;
	return FWD_DROP_CONNECT_ERROR;
}

/*
 * A socket connected to l's target, or -1 with *why set. Out of
 * descriptors, the oldest quarantined socket is closed early (as when the
 * quarantine is full) and the socket tried again: that gives back what a
 * new session needs. Out of local ports, nothing is given back: a port in
 * quarantine is held so that no new session gets it while late replies
 * for the old client may come. A live session is never ended for either:
 * its socket would only go to the quarantine.
 */
static int open_target(struct worker *w, struct listener *l, enum fwd_drop *why)
{
	struct sockaddr_storage ta;
	socklen_t tlen = endpoint_to_sockaddr(&l->rule->target, &ta);

	for (int tries = 0;; tries++) {
		int fd = socket(l->rule->target.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int e;

		if (fd >= 0 && !connect(fd, (const struct sockaddr *)&ta, tlen))
			return fd;
		e = errno;
		if (fd >= 0)
			close(fd);
		*why = open_failure(e);
		if (*why != FWD_DROP_NO_DESCRIPTOR || !w->quar.n || tries == 8)
			return -1;
		udp_quarantine_retire(w);
	}
}

static struct usess *create(struct worker *w, struct listener *l,
			    const struct sockaddr_storage *sa, socklen_t len)
{
	struct usess *s;
	enum fwd_drop why;
	unsigned max = l->rule->max_sessions;
	int fd;

	if (!l->nbuckets) {
		l->nbuckets = 4096;
		l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
	}
	/* at the cap with no session of this worker's to end: no room */
	if (list_empty(&l->lru) && atomic_load(fwd_active(l->rule)) >= max) {
		dropped(l, FWD_DROP_TABLE_FULL, 1);
		return NULL;
	}
	if ((fd = open_target(w, l, &why)) < 0) {
		dropped(l, why, 1);
		return NULL;
	}
	/* the cap counts every worker's sessions of this listener: at it, this
	 * worker makes room by its least recently used one, if it has any */
	while (!fwd_take(fwd_active(l->rule), max)) {
		if (list_empty(&l->lru)) {
			close(fd);
			dropped(l, FWD_DROP_TABLE_FULL, 1);
			return NULL;
		}
		end_session(l, list_entry(list_last(&l->lru), struct usess, link), "evicted");
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->w = w;
	s->client = *sa;
	s->clen = len;
	s->l = l;
	s->gen = l->gen;
	fwd_config_ref(s->gen);
	s->start = s->last = ev_now_ms();
	fwd_stat_add(&fwd_stats_of(l->rule, w->id)->started, 1);
	s->hnext = l->buckets[hash_addr(l, sa, len) % l->nbuckets];
	l->buckets[hash_addr(l, sa, len) % l->nbuckets] = s;
	list_add(&l->lru, &s->link);
	l->nsess++;
	ev_io_add(w->loop, &s->io, fd, EPOLLIN | EPOLLET, on_session);
	return s;
}

void udp_listener_event(struct worker *w, struct listener *l)
{
	char (*b)[DGRAM] = batch_bufs();
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	struct fwd_stats *st = fwd_stats_of(l->rule, w->id);

	for (;;) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ b[i], DGRAM };
			m[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							 .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		n = recvmmsg(l->fd, m, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct usess *s = find(l, &from[i], m[i].msg_hdr.msg_namelen);

			if (!s) {
				struct endpoint client;

				endpoint_from_sockaddr(&client, &from[i]);
				if (!fwd_acl_permits(l->rule, &client)) {
					dropped(l, FWD_DROP_DENIED, 1);
					continue;
				}
				endpoint_unmap(&client);
				if (endpoint_equal(&client, &l->rule->target)) {
					/* the target itself: forwarding it back would
					 * bounce between the two for ever */
					dropped(l, FWD_DROP_LOOP, 1);
					continue;
				}
				s = create(w, l, &from[i], m[i].msg_hdr.msg_namelen);
				if (!s)
					continue;
			}
			if (send(s->fd, b[i], m[i].msg_len, 0) == (ssize_t)m[i].msg_len) {
				s->in += m[i].msg_len;
				fwd_stat_add(&st->bytes_in, m[i].msg_len);
				fwd_stat_add(&st->copied, m[i].msg_len);
			} else {
				/* a full send buffer, or the target's refusal (ICMP)
				 * reported on this send: the datagram is not sent */
				dropped(l, FWD_DROP_SEND_ERROR, 1);
			}
			s->last = ev_now_ms();
			list_move(&l->lru, &s->link);
		}
	}
}

static void on_session(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct usess *s = container_of(io, struct usess, io);
	char (*b)[DGRAM] = batch_bufs();
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];

	(void)loop;
	(void)events;
	if (s->dead)
		return;
	for (;;) {
		int n, sent;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ b[i], DGRAM };
			m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		n = recvmmsg(s->fd, m, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		/* the replies go out of the listening socket, to this client only */
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = m[i].msg_len;
			m[i].msg_hdr.msg_name = &s->client;
			m[i].msg_hdr.msg_namelen = s->clen;
		}
		sent = sendmmsg(s->l->fd, m, (unsigned)n, 0);
		if (sent < n)	/* the listening socket took only these */
			dropped(s->l, FWD_DROP_REPLY_ERROR, (uint64_t)(n - (sent > 0 ? sent : 0)));
		for (int i = 0; i < sent; i++) {
			struct fwd_stats *st = fwd_stats_of(s->l->rule, s->w->id);

			s->out += m[i].msg_len;
			fwd_stat_add(&st->bytes_out, m[i].msg_len);
			fwd_stat_add(&st->copied, m[i].msg_len);
		}
		s->last = ev_now_ms();
		list_move(&s->l->lru, &s->link);
	}
}

void udp_sweep(struct worker *w, struct listener *l, int64_t now)
{
	while (!list_empty(&l->lru)) {
		struct usess *s = list_entry(list_last(&l->lru), struct usess, link);

		if (now - s->last < l->rule->idle_timeout_ms)
			break;
		end_session(l, s, "idle-timeout");
	}
	udp_log_drops(w, l);
}

/* The drops since the last sweep, one event line a reason: the first three
 * keep their own events, the others are "dropped" with the reason */
void udp_log_drops(struct worker *w, struct listener *l)
{
	static const struct {
		const char *event, *fmt;
	} say[FWD_DROP_MAX] = {
		[FWD_DROP_DENIED] = { "denied", "denied %llu datagrams" },
		[FWD_DROP_LOOP] = { "dropped-loop", "dropped %llu datagrams sent from its own "
				    "target (they would loop)" },
		[FWD_DROP_TABLE_FULL] = { "dropped-full", "dropped %llu datagrams: max-sessions "
					  "reached by the other workers" },
		[FWD_DROP_NO_DESCRIPTOR] = { "dropped", "dropped %llu datagrams: out of file "
					     "descriptors for a new session (ulimit -n)" },
		[FWD_DROP_NO_PORT] = { "dropped", "dropped %llu datagrams: no local port free for a "
				       "new session (ip_local_port_range)" },
		[FWD_DROP_CONNECT_ERROR] = { "dropped", "dropped %llu datagrams: a new session's "
					     "socket could not connect to the target" },
		[FWD_DROP_SEND_ERROR] = { "dropped", "dropped %llu datagrams: the session's socket "
					  "did not take them (buffer full, or the target refused)" },
		[FWD_DROP_REPLY_ERROR] = { "dropped", "dropped %llu replies: the listening socket "
					   "did not take them (its send buffer full)" },
		[FWD_DROP_RCVBUF_FULL] = { "dropped", "the kernel dropped %llu datagrams at a full "
					   "receive buffer (the listener's or a session's)" },
		[FWD_DROP_LATE_REPLY] = { "dropped", "dropped %llu replies that came after their "
					  "session had ended (its port in quarantine)" },
	};
	uint32_t k = kernel_drops(l->fd, &l->kdrops);	/* clients' datagrams, at the listener */

	if (k)
		dropped(l, FWD_DROP_RCVBUF_FULL, k);
	for (unsigned i = 0; i < FWD_DROP_MAX; i++) {
		unsigned long long n = l->dropped[i];

		if (!n)
			continue;
		l->dropped[i] = 0;
		slog_dropped(w->eng->o.log, say[i].event, l->rule, (long long)n,
			     i > FWD_DROP_TABLE_FULL ? fwd_drop_names[i] : NULL, say[i].fmt, n);
	}
}

void udp_close_all(struct listener *l, const char *reason)
{
	while (!list_empty(&l->lru))
		end_session(l, list_entry(list_first(&l->lru), struct usess, link), reason);
}
