#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/probe.h"
#include "core/registry.h"
#include "core/xalloc.h"
#include "core/banned.h"

#define SWEEP_US 5000	/* how often silent probes are looked at */

struct slot {
	struct ev_io io;	/* io.fd -1: free */
	struct prober *p;
	uint8_t tries;
	uint64_t idx;
	int64_t sent_us;
	struct endpoint ep;
};

struct prober {
	const struct probe_set *ps;
	struct ev_loop *loop;
	struct ev_timer sweep;
	struct slot *slots;
	size_t nslots, busy;
	uint64_t next;			/* next fresh probe */
	uint64_t *retry;		/* probes queued for another try */
	uint8_t *retry_tries;
	size_t nretry, capretry, capretry2;
	int64_t srtt, rttvar;		/* microseconds */
	double tokens;
	int64_t last_refill;
};

const char *port_state_name(enum port_state s)
{
	static const char *const names[] = { "open", "closed", "filtered", "open|filtered" };

	return (unsigned)s < 4 ? names[s] : "?";
}

static int64_t timeout_us(const struct prober *p)
{
	int64_t t;

	if (p->ps->timeout_ms)
		return (int64_t)p->ps->timeout_ms * 1000;
	if (!p->srtt)
		return 1000000;
	t = p->srtt + 4 * p->rttvar;
	return t < 50000 ? 50000 : t > 2000000 ? 2000000 : t;
}

static void sample(struct prober *p, int64_t rtt)
{
	if (!p->srtt) {
		p->srtt = rtt;
		p->rttvar = rtt / 2;
		return;
	}
	p->rttvar += ((rtt > p->srtt ? rtt - p->srtt : p->srtt - rtt) - p->rttvar) / 4;
	p->srtt += (rtt - p->srtt) / 8;
}

static void release(struct prober *p, struct slot *s)
{
	ev_io_del(p->loop, &s->io);
	close(s->io.fd);
	s->io.fd = -1;
	p->busy--;
}

static void done(struct prober *p, struct slot *s, enum port_state st, const char *reason,
		 const uint8_t *reply, size_t len)
{
	int64_t rtt = ev_now_us() - s->sent_us;
	struct probe_result r = { .index = s->idx, .state = st, .reason = reason,
				  .reply = reply, .reply_len = len };

	r.rtt_us = st == ST_OPEN_FILTERED || st == ST_FILTERED ? 0 : (uint32_t)rtt;
	if (st == ST_OPEN || st == ST_CLOSED)
		sample(p, rtt);
	release(p, s);
	p->ps->result(p->ps->arg, &r);
}

/* A connect from port P to this host's own port P "succeeds" with nobody
 * listening: TCP's simultaneous open with itself. That port is closed. */
static bool self_connected(const struct slot *s)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct endpoint local;

	return !getsockname(s->io.fd, (struct sockaddr *)&sa, &len) &&
	       !endpoint_from_sockaddr(&local, &sa) && endpoint_equal(&local, &s->ep);
}

static void on_tcp(struct slot *s)
{
	struct prober *p = s->p;
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (!err && self_connected(s))
		done(p, s, ST_CLOSED, "self-connect", NULL, 0);
	else if (!err)
		done(p, s, ST_OPEN, "syn-ack", NULL, 0);
	else if (err == ECONNREFUSED)
		done(p, s, ST_CLOSED, "conn-refused", NULL, 0);
	else if (err != EINPROGRESS)
		done(p, s, ST_FILTERED, err == EHOSTUNREACH || err == ENETUNREACH
				       ? "host-unreach" : "error", NULL, 0);
}

static void on_udp(struct slot *s)
{
	uint8_t buf[512];
	ssize_t n = recv(s->io.fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n >= 0)
		done(s->p, s, ST_OPEN, "udp-response", buf, (size_t)n);
	else if (errno == ECONNREFUSED)
		done(s->p, s, ST_CLOSED, "port-unreach", NULL, 0);
	else if (errno == EHOSTUNREACH || errno == ENETUNREACH)
		done(s->p, s, ST_FILTERED, "host-unreach", NULL, 0);
}

static void on_io(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct slot *s = container_of(io, struct slot, io);

	(void)l;
	(void)events;
	if (s->p->ps->proto == PROTO_TCP)
		on_tcp(s);
	else
		on_udp(s);
}

static void send_payloads(struct prober *p, struct slot *s)
{
	/* every service's payload to every port: a DNS server on 5300
	 * answers the DNS one */
	for (size_t k = 0; k < p->ps->npayloads; k++) {
		const struct probe_payload *pl = &p->ps->payloads[k];

		if (send(s->io.fd, pl->data, pl->len, 0) < 0 && errno == ECONNREFUSED) {
			done(p, s, ST_CLOSED, "port-unreach", NULL, 0);
			return;
		}
	}
}

/* Start probe idx in slot s; false when no descriptor was free. */
static bool launch(struct prober *p, struct slot *s, uint64_t idx, uint8_t tries)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int type = p->ps->proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd;

	p->ps->endpoint(p->ps->arg, idx, &s->ep);
	fd = socket(s->ep.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	len = endpoint_to_sockaddr(&s->ep, &sa);
	s->p = p;
	s->tries = tries;
	s->idx = idx;
	s->sent_us = ev_now_us();
	p->busy++;
	ev_io_add(p->loop, &s->io, fd, p->ps->proto == PROTO_TCP ? EPOLLOUT : EPOLLIN, on_io);
	if (connect(fd, (struct sockaddr *)&sa, len) && errno != EINPROGRESS) {
		int err = errno;

		if (err == ECONNREFUSED)
			done(p, s, ST_CLOSED, "conn-refused", NULL, 0);
		else
			done(p, s, ST_FILTERED, err == ENETUNREACH || err == EHOSTUNREACH
					       ? "host-unreach" : "error", NULL, 0);
		return true;
	}
	if (p->ps->proto == PROTO_UDP)
		send_payloads(p, s);
	return true;
}

static void requeue(struct prober *p, struct slot *s)
{
	p->retry = xgrow(p->retry, sizeof(*p->retry), p->nretry + 1, &p->capretry);
	p->retry_tries = xgrow(p->retry_tries, 1, p->nretry + 1, &p->capretry2);
	p->retry[p->nretry] = s->idx;
	p->retry_tries[p->nretry++] = (uint8_t)(s->tries + 1);
	release(p, s);
}

static void on_sweep(struct ev_loop *l, struct ev_timer *t)
{
	struct prober *p = container_of(t, struct prober, sweep);
	int64_t now = ev_now_us(), to = timeout_us(p);

	for (size_t i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];

		if (s->io.fd < 0 || now - s->sent_us < to)
			continue;
		if (s->tries < p->ps->retries)
			requeue(p, s);	/* silent: again later */
		else
			done(p, s, p->ps->proto == PROTO_TCP ? ST_FILTERED : ST_OPEN_FILTERED,
			     "no-response", NULL, 0);
	}
	ev_timer_in(l, t, SWEEP_US, on_sweep);
}

/* Token bucket: may another probe go out now? */
static bool rate_ok(struct prober *p)
{
	unsigned rate = p->ps->rate;
	int64_t now;

	if (!rate)
		return true;
	now = ev_now_us();
	p->tokens += (double)(now - p->last_refill) * rate / 1e6;
	p->last_refill = now;
	if (p->tokens > rate / 10.0 + 1)
		p->tokens = rate / 10.0 + 1;
	if (p->tokens < 1)
		return false;
	p->tokens -= 1;
	return true;
}

/* Before each wait: fill free slots, or end the run when all is done. */
static void refill(struct ev_loop *l, void *arg)
{
	struct prober *p = arg;

	for (size_t i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];

		if (s->io.fd >= 0)
			continue;
		if ((!p->nretry && p->next >= p->ps->count) || !rate_ok(p))
			break;
		if (p->nretry) {
			p->nretry--;
			if (!launch(p, s, p->retry[p->nretry], p->retry_tries[p->nretry]))
				p->nretry++;
		} else if (launch(p, s, p->next, 0)) {
			p->next++;
		}
	}
	if (!p->busy && !p->nretry && p->next >= p->ps->count)
		ev_break(l);
}

static size_t parallel(const struct probe_set *ps)
{
	struct rlimit rl;
	size_t n = ps->parallel ? ps->parallel : 2048;

	/* leave room for everything else this process opens */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < n + 64)
		n = rl.rlim_cur > 96 ? rl.rlim_cur - 64 : 32;
	return n;
}

int probe_run(struct ev_loop *l, const struct probe_set *ps)
{
	struct prober p = { .ps = ps, .loop = l };
	int r;

	if (!ps->count)
		return 0;
	p.nslots = parallel(ps);
	if (p.nslots > ps->count)
		p.nslots = (size_t)ps->count;
	p.slots = xcalloc(p.nslots, sizeof(*p.slots));
	for (size_t i = 0; i < p.nslots; i++)
		p.slots[i].io.fd = -1;
	p.last_refill = ev_now_us();
	ev_set_hooks(l, refill, NULL, &p);
	ev_timer_in(l, &p.sweep, SWEEP_US, on_sweep);
	r = ev_run(l);
	ev_timer_stop(l, &p.sweep);
	ev_set_hooks(l, NULL, NULL, NULL);
	for (size_t i = 0; i < p.nslots; i++)
		if (p.slots[i].io.fd >= 0)
			release(&p, &p.slots[i]);
	free(p.slots);
	free(p.retry);
	free(p.retry_tries);
	return r;
}
