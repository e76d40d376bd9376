/*
 * tcp.c - relaying one TCP session.
 *
 * States, one line each:
 *   CONNECTING  client accepted, non-blocking connect to the target pending
 *   RELAY       bytes flow both ways; each direction has its own half
 *   (closed)    both halves done, or a reset, a timeout or an error
 *
 * A half moves bytes from one socket to the other, choosing per read
 * between a copy and splice(), as HAProxy's splice-auto does: small
 * messages are copied, because splicing them costs more system calls (in,
 * out, and the read that says "nothing more") than a recv() whose short
 * count already says the socket is drained, followed by a send(). A read
 * of at most READ_SMALL is copied through the worker's buffer and written
 * on at once; only a read that comes back full asks how much more is
 * waiting (SIOCINQ), and at least SPLICE_MIN makes the half splice its
 * next reads, through a pipe taken from the worker's pool only while bytes
 * are in flight. A read that brings less than SPLICE_MIN puts the half
 * back to copying. Where splice cannot be used (no pipe under the user's
 * quota, a socket that refuses it) a stream is copied, the whole worker
 * buffer (RBUF_SIZE) a read. Bytes the destination does not take stay in
 * the pipe or in a buffer of the session's own, and nothing more is read
 * until they are out, so order is kept; an idle session holds no pipe and
 * no buffer. Bytes are counted as they are written, spliced or copied, so
 * the counters add up exactly.
 *
 * EOF from one side becomes shutdown(SHUT_WR) on the other once its bytes
 * are out, and the other direction keeps flowing (half-close). A reset on
 * one side is passed on as a reset (SO_LINGER 0) to the other. Both
 * sockets are registered once, edge-triggered, for reading and writing:
 * no epoll_ctl after the two additions, however the session goes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "core/base/xalloc.h"
#include "core/host/listen.h"
#include "forward/engine.h"
#include "core/base/banned.h"

#define PIPE_SIZE (1 << 20)	/* splice batch: fewer system calls per byte */
#define MIN_PIPE (64 * 1024)	/* below this, copying is as good */
/* A copied read asks for this much: coming back full, it may be a stream */
#define READ_SMALL (16 * 1024)
/* Splice only when at least this much waits, and stop when a read brings
 * less: below it, a copy costs fewer and cheaper system calls */
#define SPLICE_MIN (16 * 1024)

struct half {
	int pipe[2];
	size_t inpipe;
	char *buf;		/* read, copied, not yet taken by the destination */
	size_t blen, boff;
	bool eof, shut;
	bool ready;	/* the source may have data: read it (nginx's "ready") */
	bool rdhup;	/* the source saw a FIN or an error: read to the end */
	bool fin;	/* the FIN (and no error) was seen: all data before it is queued */
	bool urg;	/* urgent data was seen: reads may stop short at its mark
			 * (splice stays there): copy, read until EAGAIN */
	bool splice;	/* the next read splices: a read found a stream waiting */
	uint64_t bytes, spliced;
	_Atomic uint64_t *sbytes, *sspliced, *scopied;	/* the rule's (this worker's) */
};

enum { S_CONNECTING, S_RELAY };

struct conn {
	struct ev_io cio, tio;		/* client and target sockets */
	struct worker *w;
	int cfd, tfd;
	struct fwd_rule *rule;
	struct fwd_config *gen;
	struct half up, down;		/* client->target, target->client */
	uint8_t state;
	bool copy;			/* splice did not work here: copy only */
	bool dead;			/* finished; freed after this batch */
	int64_t start, last, deadline, half_since;
	struct endpoint client;
	struct list link;	/* worker.conns */
	struct conn *dead_next;	/* worker.dead */
};

static void pipe_put(struct worker *w, struct half *h)
{
	if (h->pipe[0] < 0)
		return;
	if (w->npool < PIPE_POOL) {
		w->pool[w->npool][0] = h->pipe[0];
		w->pool[w->npool][1] = h->pipe[1];
		w->npool++;
	} else {
		close(h->pipe[0]);
		close(h->pipe[1]);
	}
	h->pipe[0] = h->pipe[1] = -1;
}

static bool pipe_get(struct worker *w, struct half *h)
{
	if (h->pipe[0] >= 0)
		return true;
	if (w->npool) {
		w->npool--;
		h->pipe[0] = w->pool[w->npool][0];
		h->pipe[1] = w->pool[w->npool][1];
		return true;
	}
	if (w->small_pipes_until > ev_now_ms())
		return false;	/* the quota gave small pipes a moment ago: copy */
	if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC))
		return false;
	/*
	 * A bigger pipe moves more per splice. Over the user's pipe quota
	 * (fs.pipe-user-pages-soft, as for --user nobody) the kernel refuses
	 * that and hands out 8 KiB pipes: such a pipe is given back and this
	 * half copies instead, so the pool only ever holds full-size pipes.
	 */
	fcntl(h->pipe[0], F_SETPIPE_SZ, PIPE_SIZE);
	if (fcntl(h->pipe[0], F_GETPIPE_SZ) < MIN_PIPE) {
		close(h->pipe[0]);
		close(h->pipe[1]);
		h->pipe[0] = h->pipe[1] = -1;
		w->small_pipes_until = ev_now_ms() + 1000;	/* ask again in a second */
		return false;
	}
	return true;
}

static void reset_fd(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void log_end(struct conn *c, const char *reason)
{
	struct slog_rec r = {
		.rule = c->rule, .client = &c->client, .bytes_in = c->up.bytes,
		.bytes_out = c->down.bytes, .spliced = c->up.spliced + c->down.spliced,
		.start_ms = c->start, .end_ms = ev_now_ms(), .close_reason = reason,
	};

	fwd_stats_end(c->rule, c->w->id, reason);
	slog_session(c->w->eng->o.log, &r);
}

static void finish(struct worker *w, struct conn *c, const char *reason, int reset_which)
{
	if (reset_which & 1)
		reset_fd(c->cfd);
	if (reset_which & 2)
		reset_fd(c->tfd);
	log_end(c, reason);
	close(c->cfd);
	if (c->tfd >= 0)
		close(c->tfd);
	for (int i = 0; i < 2; i++) {
		struct half *h = i ? &c->down : &c->up;

		if (h->inpipe) {	/* bytes left in a pipe: it cannot be reused */
			close(h->pipe[0]);
			close(h->pipe[1]);
			h->pipe[0] = -1;
		}
		pipe_put(w, h);
		free(h->buf);
	}
	list_del(&c->link);
	w->nconns--;
	atomic_fetch_sub(fwd_active(c->rule), 1);
	atomic_fetch_sub(&w->eng->active, 1);
	fwd_config_unref(c->gen);
	c->dead = true;
	c->dead_next = w->dead;
	w->dead = c;
}

void tcp_reap(struct worker *w)
{
	while (w->dead) {
		struct conn *c = w->dead;

		w->dead = c->dead_next;
		free(c);
	}
}

/* n bytes of h reached the destination: count them as they move */
static void moved(struct conn *c, struct half *h, size_t n, bool spliced)
{
	h->bytes += n;
	fwd_stat_add(h->sbytes, n);
	if (spliced) {
		h->spliced += n;
		fwd_stat_add(h->sspliced, n);
	} else {
		fwd_stat_add(h->scopied, n);
	}
	c->last = ev_now_ms();
}

/* Write out what h holds, in the pipe or in its buffer (never both):
 * 1 all of it, 0 the destination would block, -1 error. */
static int flush(struct conn *c, struct half *h, int dst)
{
	while (h->inpipe) {
		ssize_t n = splice(h->pipe[0], NULL, dst, NULL, h->inpipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n <= 0)
			return n == 0 || errno == EAGAIN ? 0 : -1;
		h->inpipe -= (size_t)n;
		moved(c, h, (size_t)n, true);
	}
	while (h->blen > h->boff) {
		ssize_t n = send(dst, h->buf + h->boff, h->blen - h->boff, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		h->boff += (size_t)n;
		moved(c, h, (size_t)n, false);
	}
	free(h->buf);
	h->buf = NULL;
	h->blen = h->boff = 0;
	return 1;
}

/*
 * One read copied: into the worker's buffer and straight on to dst; what
 * dst does not take is kept in h->buf. 1 read something, 0 nothing to read
 * (drained or EOF), -1 error. A short read empties the receive queue, so
 * the next data comes with a new edge; after the FIN it also means the FIN
 * is next (HAProxy reads it so), which saves the read that returns 0.
 * Neither holds once urgent data was seen: a read stops short at its mark.
 */
static int copy_once(struct worker *w, struct conn *c, struct half *h, int src, int dst)
{
	/* a stream with no pipe to be had, or a session that cannot splice,
	 * reads all the buffer takes: there is nothing to decide */
	bool bulk = h->splice || c->copy;
	size_t want = bulk ? sizeof(w->rbuf) : READ_SMALL;
	ssize_t n = recv(src, w->rbuf, want, 0), sent;

	if (n <= 0) {
		h->ready = false;
		if (n == 0) {
			h->eof = true;
			return 0;
		}
		return errno == EAGAIN ? 0 : -1;
	}
	if ((size_t)n == want) {
		int more;

		/* a full read: how much more waits decides how to go on */
		if (!bulk && !ioctl(src, SIOCINQ, &more)) {
			if (more >= SPLICE_MIN)
				h->splice = true;
			else if (!more && !h->rdhup && !h->urg)
				h->ready = false;
		}
	} else {
		if ((size_t)n < SPLICE_MIN)
			h->splice = false;	/* the stream has thinned out */
		if (h->fin && !h->urg) {
			h->eof = true;
			h->ready = false;
		} else if (!h->rdhup && !h->urg) {
			h->ready = false;
		}
	}
	/* the last bytes before a FIN: held (MSG_MORE) for the shutdown or
	 * close that follows at once, which sends them with the FIN in one
	 * segment instead of two */
	sent = send(dst, w->rbuf, (size_t)n, MSG_NOSIGNAL | (h->eof ? MSG_MORE : 0));
	if (sent < 0) {
		if (errno != EAGAIN)
			return -1;
		sent = 0;
	}
	if (sent)
		moved(c, h, (size_t)sent, false);
	if (sent < n) {
		h->blen = (size_t)(n - sent);
		h->boff = 0;
		h->buf = xmalloc(h->blen);
		memcpy(h->buf, w->rbuf + sent, h->blen);
	}
	return 1;
}

/* One read spliced into h's pipe: as copy_once. A short splice says
 * nothing about the socket (pipe slots used up by small segments): only
 * EAGAIN means drained. */
static int splice_once(struct conn *c, struct half *h, int src)
{
	ssize_t n = splice(src, NULL, h->pipe[1], NULL, PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	if (n > 0) {
		h->inpipe = (size_t)n;
		if ((size_t)n < SPLICE_MIN)
			h->splice = false;	/* the stream has thinned out */
		return 1;
	}
	if (n < 0 && errno == EINVAL) {
		c->copy = true;		/* not a socket splice takes: copy from now on */
		h->splice = false;
		return 1;		/* nothing read: the caller reads again */
	}
	h->ready = false;
	if (n == 0) {
		h->eof = true;
		return 0;
	}
	return errno == EAGAIN ? 0 : -1;
}

/* One direction: 0 progress or would block, -1 error. */
static int pump(struct worker *w, struct conn *c, struct half *h, int src, int dst)
{
	for (;;) {
		int r = flush(c, h, dst);

		if (r <= 0)
			return r;
		if (h->eof || !h->ready)
			break;
		if (h->splice && !c->copy && !h->urg && pipe_get(w, h)) {
			r = splice_once(c, h, src);
		} else {
			pipe_put(w, h);		/* copying needs none */
			r = copy_once(w, c, h, src, dst);
		}
		if (r < 0)
			return -1;
	}
	pipe_put(w, h);
	return 0;
}

static void relay(struct worker *w, struct conn *c)
{
	int64_t now;

	if (pump(w, c, &c->up, c->cfd, c->tfd) < 0) {
		/* reading the client failed (reset) or writing the target did */
		finish(w, c, errno == EPIPE || errno == ECONNRESET ? "reset" : "error", 1 | 2);
		return;
	}
	if (pump(w, c, &c->down, c->tfd, c->cfd) < 0) {
		finish(w, c, errno == EPIPE || errno == ECONNRESET ? "reset" : "error", 1 | 2);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct half *h = i ? &c->down : &c->up;
		struct half *other = i ? &c->up : &c->down;

		if (h->eof && !h->inpipe && h->blen <= h->boff && !h->shut) {
			/* the last direction to finish is closed by close() itself */
			if (!other->shut)
				shutdown(i ? c->cfd : c->tfd, SHUT_WR);
			h->shut = true;
		}
	}
	now = ev_now_ms();
	if (c->up.shut && c->down.shut) {
		finish(w, c, "closed", 0);
		return;
	}
	if ((c->up.shut || c->down.shut) && !c->half_since)
		c->half_since = now;
}

static bool proxy_header(struct conn *c)
{
	char buf[128], a[ADDR_STRLEN], b[ADDR_STRLEN];
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct endpoint local = c->client;	/* same family, if getsockname fails */
	bool v6 = c->client.family == AF_INET6;
	int n;

	if (!getsockname(c->cfd, (struct sockaddr *)&sa, &len))
		endpoint_from_sockaddr(&local, &sa);
	if (c->rule->proxy == 1) {
		n = snprintf(buf, sizeof(buf), "PROXY %s %s %s %u %u\r\n", v6 ? "TCP6" : "TCP4",
			     addr_format(c->client.family, c->client.addr, a),
			     addr_format(local.family, local.addr, b), c->client.port, local.port);
	} else {
		static const uint8_t sig[12] = { 13, 10, 13, 10, 0, 13, 10, 81, 85, 73, 84, 10 };
		size_t alen = v6 ? 36 : 12, al = v6 ? 16 : 4;

		memcpy(buf, sig, 12);
		buf[12] = 0x21;				/* v2, PROXY */
		buf[13] = v6 ? 0x21 : 0x11;		/* AF_INET(6), STREAM */
		buf[14] = 0;
		buf[15] = (char)alen;
		memcpy(buf + 16, c->client.addr, al);
		memcpy(buf + 16 + al, local.addr, al);
		buf[16 + 2 * al] = (char)(c->client.port >> 8);
		buf[17 + 2 * al] = (char)c->client.port;
		buf[18 + 2 * al] = (char)(local.port >> 8);
		buf[19 + 2 * al] = (char)local.port;
		n = (int)(16 + alen);
	}
	/* a fresh connection's send buffer takes it whole */
	return send(c->tfd, buf, (size_t)n, MSG_NOSIGNAL) == n;
}

static void connected(struct worker *w, struct conn *c, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	/* writable without an error flag means connected: no need to ask */
	if (events & (EPOLLERR | EPOLLHUP))
		getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err) {
		finish(w, c, err == ECONNREFUSED ? "connect-refused" : "connect-error", 1);
		return;
	}
	c->state = S_RELAY;
	c->last = ev_now_ms();
	/* what arrived while connecting was marked ready by its event (the
	 * client's) or comes with this one (the target's): no blind reads */
	if (c->rule->proxy && !proxy_header(c)) {
		finish(w, c, "proxy-error", 1 | 2);
		return;
	}
	relay(w, c);
}

static void tcp_event(struct worker *w, struct conn *c, bool target, uint32_t events)
{
	struct half *from = target ? &c->down : &c->up;	/* the half reading this fd */

	if (c->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI))
		from->ready = true;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		from->rdhup = true;
	if ((events & (EPOLLRDHUP | EPOLLERR)) == EPOLLRDHUP)
		from->fin = true;
	if (events & EPOLLPRI)
		from->urg = true;
	if (c->state == S_CONNECTING) {
		if (target && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			connected(w, c, events);
		return;
	}
	if (events & EPOLLERR) {
		/* a reset, also one after this side's half-close (when nothing
		 * is read from it any more): passed on as a reset */
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(target ? c->tfd : c->cfd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			finish(w, c, err == ECONNRESET || err == EPIPE ? "reset" : "error",
			       target ? 1 : 2);
			return;
		}
	}
	relay(w, c);
}

/* NULL when the client may come in: its places under the rule's and the
 * global limit are then taken (atomically, whichever worker asks). */
static const char *admit(struct listener *l, const struct endpoint *sa)
{
	if (!fwd_acl_permits(l->rule, sa))
		return "denied";
	if (!fwd_take(fwd_active(l->rule), l->rule->max_conns))
		return "rule-limit";
	if (!fwd_take(&l->w->eng->active, l->w->eng->o.max_conns)) {
		atomic_fetch_sub(fwd_active(l->rule), 1);
		return "limit";
	}
	return NULL;
}

static void refuse(struct listener *l, int fd, const struct endpoint *sa, const char *why)
{
	struct slog_rec r = { .rule = l->rule, .client = sa, .start_ms = ev_now_ms(),
			      .end_ms = ev_now_ms(), .close_reason = why };

	reset_fd(fd);
	close(fd);
	fwd_stats_end(l->rule, l->w->id, why);
	slog_session(l->w->eng->o.log, &r);
}

static void pause_listener(struct worker *w, struct listener *l)
{
	int64_t now = ev_now_ms();

	if (!l->paused)
		ev_io_del(w->loop, &l->io);
	l->paused = true;
	l->resume_ms = now + 100;
	if (now - w->emfile_logged > 10000) {
		slog_event(w->eng->o.log, "fd-exhausted", l->rule, -1,
			   "out of file descriptors: not accepting for 100 ms (live sessions go on)");
		w->emfile_logged = now;
	}
}

static void on_client(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct conn *c = container_of(io, struct conn, cio);

	(void)l;
	tcp_event(c->w, c, false, events);
}

static void on_target(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct conn *c = container_of(io, struct conn, tio);

	(void)l;
	tcp_event(c->w, c, true, events);
}

static void start(struct worker *w, struct listener *l, int cfd, int tfd,
		  const struct endpoint *sa)
{
	struct conn *c;
	struct fwd_stats *st;
	struct sockaddr_storage ta;
	socklen_t tlen = endpoint_to_sockaddr(&l->rule->target, &ta);
	int one = 1;

	/* the client's socket has TCP_NODELAY from the listener (accept
	 * inherits it): one system call fewer per session */
	setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->cfd = cfd;
	c->tfd = tfd;
	c->rule = l->rule;
	c->gen = l->gen;
	fwd_config_ref(c->gen);
	c->client = *sa;
	c->up.pipe[0] = c->up.pipe[1] = c->down.pipe[0] = c->down.pipe[1] = -1;
	st = fwd_stats_of(l->rule, w->id);
	fwd_stat_add(&st->started, 1);
	c->up.sbytes = &st->bytes_in;
	c->down.sbytes = &st->bytes_out;
	c->up.sspliced = c->down.sspliced = &st->spliced;
	c->up.scopied = c->down.scopied = &st->copied;
	c->start = c->last = ev_now_ms();
	c->deadline = c->start + c->rule->connect_timeout_ms;
	c->w = w;
	list_add(&w->conns, &c->link);
	w->nconns++;	/* admit() counted it under the rule and globally */
	if (connect(tfd, (const struct sockaddr *)&ta, tlen) && errno != EINPROGRESS) {
		finish(w, c, errno == ECONNREFUSED ? "connect-refused" : "connect-error", 1);
		return;
	}
	/* connected or not, the target's first event (EPOLLOUT, or an error)
	 * says how the connect went; EPOLLPRI tells of urgent data (copy_once) */
	ev_io_add(w->loop, &c->cio, cfd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET, on_client);
	ev_io_add(w->loop, &c->tio, tfd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET, on_target);
}

/*
 * Accept only with the target's socket already in hand: when descriptors
 * run short, clients wait in the listen backlog (the listener pauses for
 * 100 ms) instead of being accepted and reset for want of a second one.
 * The socket made for a client that did not come is kept for the next.
 */
void tcp_accept(struct worker *w, struct listener *l)
{
	for (int i = 0; i < 256; i++) {
		struct endpoint client;
		int fd, tfd = l->spare;
		const char *why;

		l->spare = -1;
		if (tfd < 0)
			tfd = socket(l->rule->target.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (tfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				pause_listener(w, l);
			return;
		}
		fd = accept_on(l->fd, &client);
		if (fd < 0) {
			if (fd == -EMFILE || fd == -ENFILE) {
				close(tfd);
				pause_listener(w, l);
			} else {
				l->spare = tfd;
			}
			return;
		}
		if ((why = admit(l, &client))) {
			refuse(l, fd, &client, why);
			l->spare = tfd;
		} else {
			start(w, l, fd, tfd, &client);
		}
	}
}

void tcp_sweep(struct worker *w, int64_t now)
{
	struct list *pos, *tmp;

	list_each_safe(pos, tmp, &w->conns) {
		struct conn *c = list_entry(pos, struct conn, link);

		if (c->state == S_CONNECTING && now >= c->deadline)
			finish(w, c, "connect-timeout", 1);
		else if (c->state == S_RELAY && now - c->last >= c->rule->idle_timeout_ms)
			finish(w, c, "idle-timeout", 0);
		else if (c->half_since && now - (c->last > c->half_since ? c->last : c->half_since) >=
						c->rule->halfclose_timeout_ms)
			/* idle that long after a half-close: the open side learns
			 * by a reset that the stream did not end normally */
			finish(w, c, "halfclose-timeout", 1 | 2);
	}
}

void tcp_close_all(struct worker *w, const char *reason)
{
	while (!list_empty(&w->conns))
		finish(w, list_entry(list_first(&w->conns), struct conn, link), reason, 1 | 2);
	tcp_reap(w);
}
