/*
 * identify.c - what answers on each exposed TCP listener, by its bytes, so
 * that the rules judge the service and not the number: RDP moved to 3350
 * is still RDP.
 *
 * Every plaintext probe of core's service database (core/vocab/svdb: the
 * ones `scan --sv` sends; the TLS step is left out) goes to the listener on
 * a connection of its own, from this host: 127.0.0.1 or ::1 for a
 * wildcard bind, the bound address otherwise. All connections of a batch
 * run at once on one event loop, IDENT_WAIT_MS at most; a banner service
 * speaks at once and a local answer takes microseconds, so a port that
 * has not answered by then is judged by its number, as before. The first
 * probe in the database's order whose answer matches names the service;
 * an answer that only repeats the probe (an echo service) names nothing.
 * Listeners in another namespace (--netns) are not connected to.
 * Cost: IDENT_BATCH listeners' probes at a time (about 10 descriptors
 * each), one wait per batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/base/ev.h"
#include "core/base/xalloc.h"
#include "core/vocab/svdb.h"
#include "core/base/banned.h"

#define IDENT_WAIT_MS 700
#define IDENT_BATCH 32
#define IDENT_REPLY 2048

struct conn {
	struct ev_io io;
	struct ident *id;
	size_t li;		/* the listener */
	int probe;
	int fd;			/* -1 once done */
	uint8_t req[256];
	size_t reqlen;
	uint8_t buf[IDENT_REPLY];
	size_t len;
	bool matched;
	struct sv_name nm;
};

struct ident {
	struct ev_loop *loop;
	struct ev_timer deadline;
	const struct sv_db *db;
	struct conn *c;
	size_t nc, active;
};

static void done(struct conn *c)
{
	if (c->fd < 0)
		return;
	/* an echo of the probe is no answer */
	if (c->len && !(c->reqlen && c->len >= c->reqlen && !memcmp(c->buf, c->req, c->reqlen)))
		c->matched = sv_classify(c->id->db, c->probe, c->buf, c->len, &c->nm);
	ev_io_del(c->id->loop, &c->io);
	close(c->fd);
	c->fd = -1;
	if (!--c->id->active)
		ev_break(c->id->loop);
}

static void on_io(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct conn *c = container_of(io, struct conn, io);
	ssize_t n;
	int err = 0;
	socklen_t el = sizeof(err);

	if (events & EPOLLOUT) {	/* connected, or refused */
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err ||
		    (c->reqlen && send(c->fd, c->req, c->reqlen, MSG_NOSIGNAL) != (ssize_t)c->reqlen))
			done(c);
		else
			ev_io_mod(l, io, EPOLLIN);
		return;
	}
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n <= 0) {
		done(c);
		return;
	}
	c->len += (size_t)n;
	/* judged as soon as it matches; else at its end, when full, or at the deadline */
	if (c->len == sizeof(c->buf) ||
	    sv_classify(c->id->db, c->probe, c->buf, c->len, &(struct sv_name){ 0 }))
		done(c);
}

static void on_deadline(struct ev_loop *l, struct ev_timer *t)
{
	struct ident *id = container_of(t, struct ident, deadline);

	(void)l;
	for (size_t i = 0; i < id->nc; i++)
		done(&id->c[i]);
}

/* The connection for probe p to listener l (index li): 0, or -1 when no
 * socket could be made (that probe is skipped). */
static int start(struct ident *id, const struct listener *l, size_t li, int p)
{
	static const uint8_t v4lo[4] = { 127, 0, 0, 1 }, v6lo[16] = { [15] = 1 };
	struct conn *c = &id->c[id->nc];
	struct sockaddr_storage sa;
	struct endpoint ep;
	socklen_t len;

	if (l->exposure == EXP_ALL)
		endpoint_set(&ep, l->family, l->family == AF_INET ? v4lo : v6lo, l->port);
	else if (addr_is_v4mapped(l->family, l->addr))
		endpoint_set(&ep, AF_INET, l->addr + 12, l->port);
	else
		endpoint_set(&ep, l->family, l->addr, l->port);
	len = endpoint_to_sockaddr(&ep, &sa);
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->li = li;
	c->probe = p;
	c->reqlen = sv_probe_bytes(id->db, p, l->port, c->req);
	c->fd = socket(ep.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if ((connect(c->fd, (struct sockaddr *)&sa, len) && errno != EINPROGRESS) ||
	    ev_io_add(id->loop, &c->io, c->fd, EPOLLOUT, on_io)) {
		close(c->fd);
		return -1;
	}
	id->nc++;
	id->active++;
	return 0;
}

static bool wanted(const struct listener *l)
{
	return l->proto == PROTO_TCP && l->exposure != EXP_LOOPBACK && !l->netns[0];
}

/* One batch: v[from..to) */
static void batch(struct ident *id, struct listener *v, size_t from, size_t to)
{
	int np = sv_db_probes(id->db);

	id->nc = id->active = 0;
	for (size_t i = from; i < to; i++)
		for (int p = 0; p < np && wanted(&v[i]); p++)
			if (!sv_probe_tls(id->db, p))
				start(id, &v[i], i, p);
	if (!id->nc)
		return;
	ev_timer_in(id->loop, &id->deadline, IDENT_WAIT_MS * 1000, on_deadline);
	ev_run(id->loop);
	ev_timer_stop(id->loop, &id->deadline);
	/* connections are in probe order per listener: the first match wins */
	for (size_t k = id->nc; k-- > 0;)
		if (id->c[k].matched)
			snprintf(v[id->c[k].li].answers, sizeof(v[0].answers), "%s", id->c[k].nm.svc);
}

void identify_listeners(struct listener *v, size_t n)
{
	struct sv_db *db;
	struct ident id = { 0 };

	if (sv_db_load(&db))
		return;
	id.db = db;
	id.c = xcalloc((size_t)IDENT_BATCH * (size_t)sv_db_probes(db), sizeof(*id.c));
	if ((id.loop = ev_loop_new())) {
		for (size_t i = 0; i < n; i += IDENT_BATCH)
			batch(&id, v, i, i + IDENT_BATCH < n ? i + IDENT_BATCH : n);
		ev_loop_free(id.loop);
	}
	free(id.c);
	sv_db_free(db);
}
