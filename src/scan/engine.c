/*
 * engine.c - the connect-style prober behind `-s connect` and `-s udp`.
 *
 * Every (target, port) pair is one probe; targets are interleaved so that
 * no host gets all its probes at once. Up to `parallel` probes are in
 * flight, each a non-blocking socket on one epoll set, bounded by the
 * descriptor limit (never "too many open files"). TCP: connect(); a
 * completed connect is open, ECONNREFUSED (the target's RST) closed.
 * UDP: a connected socket sends the port's payload; a datagram back is
 * open, ECONNREFUSED (ICMP port unreachable, which the kernel reports on a
 * connected socket) closed, silence open|filtered - so no raw socket is
 * needed and ICMP rate limits never stall the scan: they only turn closed
 * into open|filtered. The per-probe timeout follows the measured round
 * trips (srtt + 4 rttvar, 50 ms - 2 s) unless --timeout fixes it; silent
 * probes are retried --retries times; --rate caps probes per second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/registry.h"
#include "core/xalloc.h"
#include "scan/scan.h"
#include "core/banned.h"

struct slot {
	int fd;			/* -1: free */
	uint32_t target;
	uint16_t port;
	uint8_t tries;
	uint64_t idx;		/* probe number: target and port */
	int64_t sent_us;
};

struct eng {
	const struct target_list *t;
	const uint16_t *ports;
	size_t nports;
	const struct scan_opts *o;
	unsigned proto;
	scan_emit emit;
	void *arg;
	int ep;
	struct slot *slots;
	size_t nslots, busy;
	uint64_t next, total;		/* next fresh probe index */
	uint64_t *retry;		/* probe numbers queued for another try */
	uint8_t *retry_tries;
	size_t nretry, capretry, capretry2;
	int64_t srtt, rttvar;		/* microseconds */
	double tokens;
	int64_t last_refill;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int64_t timeout_us(const struct eng *e)
{
	int64_t t;

	if (e->o->timeout_ms)
		return (int64_t)e->o->timeout_ms * 1000;
	if (!e->srtt)
		return 1000000;
	t = e->srtt + 4 * e->rttvar;
	return t < 50000 ? 50000 : t > 2000000 ? 2000000 : t;
}

static void sample(struct eng *e, int64_t rtt)
{
	if (!e->srtt) {
		e->srtt = rtt;
		e->rttvar = rtt / 2;
		return;
	}
	e->rttvar += ((rtt > e->srtt ? rtt - e->srtt : e->srtt - rtt) - e->rttvar) / 4;
	e->srtt += (rtt - e->srtt) / 8;
}

static void done(struct eng *e, struct slot *s, enum port_state st, const char *reason,
		 const char *banner, size_t blen)
{
	struct result r;
	int64_t rtt = now_us() - s->sent_us;

	memset(&r, 0, sizeof(r));
	r.target = s->target;
	r.port = s->port;
	r.proto = (uint8_t)e->proto;
	r.state = (uint8_t)st;
	r.reason = reason;
	r.rtt_us = st == ST_OPEN_FILTERED || st == ST_FILTERED ? 0 : (uint32_t)rtt;
	for (size_t i = 0; banner && i < blen && i + 1 < sizeof(r.banner); i++)
		r.banner[i] = banner[i] >= 32 && banner[i] < 127 ? banner[i] : '.';
	if (st == ST_OPEN || st == ST_CLOSED)
		sample(e, rtt);
	epoll_ctl(e->ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	e->busy--;
	e->emit(&r, e->arg);
}

static void fill_sa(const struct target *t, uint16_t port, struct sockaddr_storage *sa,
		    socklen_t *len)
{
	memset(sa, 0, sizeof(*sa));
	if (t->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, t->addr, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, t->addr, 16);
		*len = sizeof(*s6);
	}
}

/* Start probe number idx in slot s; false when no descriptor was free. */
static bool launch(struct eng *e, struct slot *s, uint64_t idx, uint8_t tries)
{
	uint32_t ti = (uint32_t)(idx % e->t->n);
	uint16_t port = e->ports[idx / e->t->n];
	const struct target *t = &e->t->v[ti];
	struct sockaddr_storage sa;
	socklen_t len;
	int type = e->proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd = socket((int)t->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = { .events = e->proto == PROTO_TCP ? EPOLLOUT : EPOLLIN };

	if (fd < 0)
		return false;
	fill_sa(t, port, &sa, &len);
	*s = (struct slot){ fd, ti, port, tries, idx, now_us() };
	ev.data.ptr = s;
	e->busy++;
	epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev);
	if (connect(fd, (struct sockaddr *)&sa, len) && errno != EINPROGRESS) {
		int err = errno;

		if (err == ECONNREFUSED)
			done(e, s, ST_CLOSED, "conn-refused", NULL, 0);
		else
			done(e, s, ST_FILTERED, err == ENETUNREACH || err == EHOSTUNREACH
					       ? "host-unreach" : "error", NULL, 0);
		return true;
	}
	if (e->proto == PROTO_UDP) {
		/* every service's probe to every port: a DNS server on 5300
		 * answers the DNS one */
		for (size_t k = 0; k < udp_probe_count(); k++) {
			size_t plen;
			const uint8_t *p = udp_probe(k, &plen);

			if (send(fd, p, plen, 0) < 0 && errno == ECONNREFUSED) {
				done(e, s, ST_CLOSED, "port-unreach", NULL, 0);
				break;
			}
		}
	}
	return true;
}

/* A connect from port P to this host's own port P "succeeds" with nobody
 * listening: TCP's simultaneous open with itself. That port is closed. */
static bool self_connected(int fd, uint16_t port, const struct target *t)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &len))
		return false;
	if (local.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&local)->sin_port) == port &&
		       !memcmp(&((struct sockaddr_in *)&local)->sin_addr, t->addr, 4);
	return ntohs(((struct sockaddr_in6 *)&local)->sin6_port) == port &&
	       !memcmp(&((struct sockaddr_in6 *)&local)->sin6_addr, t->addr, 16);
}

static void on_event(struct eng *e, struct slot *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (e->proto == PROTO_TCP) {
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (!err && self_connected(s->fd, s->port, &e->t->v[s->target]))
			done(e, s, ST_CLOSED, "self-connect", NULL, 0);
		else if (!err)
			done(e, s, ST_OPEN, "syn-ack", NULL, 0);
		else if (err == ECONNREFUSED)
			done(e, s, ST_CLOSED, "conn-refused", NULL, 0);
		else if (err == EINPROGRESS)
			return;
		else
			done(e, s, ST_FILTERED, err == EHOSTUNREACH || err == ENETUNREACH
					       ? "host-unreach" : "error", NULL, 0);
		return;
	}
	{
		char buf[512];
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n >= 0)
			done(e, s, ST_OPEN, "udp-response", buf, (size_t)n);
		else if (errno == ECONNREFUSED)
			done(e, s, ST_CLOSED, "port-unreach", NULL, 0);
		else if (errno == EHOSTUNREACH || errno == ENETUNREACH)
			done(e, s, ST_FILTERED, "host-unreach", NULL, 0);
	}
}

static void expire(struct eng *e)
{
	int64_t now = now_us(), to = timeout_us(e);

	for (size_t i = 0; i < e->nslots; i++) {
		struct slot *s = &e->slots[i];

		if (s->fd < 0 || now - s->sent_us < to)
			continue;
		if (s->tries < e->o->retries) {
			/* silent: try again later, keeping the attempt count */
			e->retry = xgrow(e->retry, sizeof(*e->retry), e->nretry + 1, &e->capretry);
			e->retry_tries = xgrow(e->retry_tries, 1, e->nretry + 1, &e->capretry2);
			e->retry[e->nretry] = s->idx;
			e->retry_tries[e->nretry++] = (uint8_t)(s->tries + 1);
			epoll_ctl(e->ep, EPOLL_CTL_DEL, s->fd, NULL);
			close(s->fd);
			s->fd = -1;
			e->busy--;
			continue;
		}
		done(e, s, e->proto == PROTO_TCP ? ST_FILTERED : ST_OPEN_FILTERED, "no-response",
		     NULL, 0);
	}
}

/* Token bucket: may another probe go out now? */
static bool rate_ok(struct eng *e)
{
	int64_t now;

	if (!e->o->rate)
		return true;
	now = now_us();
	e->tokens += (double)(now - e->last_refill) * e->o->rate / 1e6;
	e->last_refill = now;
	if (e->tokens > e->o->rate / 10.0 + 1)
		e->tokens = e->o->rate / 10.0 + 1;
	if (e->tokens < 1)
		return false;
	e->tokens -= 1;
	return true;
}

static void refill(struct eng *e)
{
	for (size_t i = 0; i < e->nslots; i++) {
		struct slot *s = &e->slots[i];

		if (s->fd >= 0)
			continue;
		if (!rate_ok(e))
			return;
		if (e->nretry) {
			e->nretry--;
			if (!launch(e, s, e->retry[e->nretry], e->retry_tries[e->nretry]))
				e->nretry++;
		} else if (e->next < e->total) {
			if (launch(e, s, e->next, 0))
				e->next++;
		} else {
			return;
		}
	}
}

static size_t parallel(const struct scan_opts *o)
{
	struct rlimit rl;
	size_t p = o->parallel ? o->parallel : 2048;

	/* leave room for everything else this process opens */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < p + 64)
		p = rl.rlim_cur > 96 ? rl.rlim_cur - 64 : 32;
	return p;
}

static int run(const struct target_list *t, const uint16_t *ports, size_t nports,
	       const struct scan_opts *o, unsigned proto, scan_emit emit, void *arg)
{
	struct eng e = { .t = t, .ports = ports, .nports = nports, .o = o, .proto = proto,
			 .emit = emit, .arg = arg };
	struct epoll_event evs[256];

	if (!t->n || !nports)
		return 0;
	e.ep = epoll_create1(EPOLL_CLOEXEC);
	if (e.ep < 0)
		return errorf(-errno, "cannot create an epoll set: %s", strerror(errno));
	e.total = (uint64_t)t->n * nports;
	e.nslots = parallel(o);
	if (e.nslots > e.total)
		e.nslots = (size_t)e.total;
	e.slots = xcalloc(e.nslots, sizeof(*e.slots));
	for (size_t i = 0; i < e.nslots; i++)
		e.slots[i].fd = -1;
	e.last_refill = now_us();
	for (;;) {
		int n;

		refill(&e);
		if (!e.busy && !e.nretry && e.next >= e.total)
			break;
		n = epoll_wait(e.ep, evs, 256, 5);
		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;

			if (s->fd >= 0)
				on_event(&e, s);
		}
		expire(&e);
	}
	close(e.ep);
	free(e.slots);
	free(e.retry);
	free(e.retry_tries);
	return 0;
}

int scan_connect(const struct target_list *t, const uint16_t *ports, size_t nports,
		 const struct scan_opts *o, scan_emit emit, void *arg)
{
	return run(t, ports, nports, o, PROTO_TCP, emit, arg);
}

int scan_udp(const struct target_list *t, const uint16_t *ports, size_t nports,
	     const struct scan_opts *o, scan_emit emit, void *arg)
{
	return run(t, ports, nports, o, PROTO_UDP, emit, arg);
}
