#include <errno.h>
#include <time.h>	/* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/wire/pkt.h"
#include "core/host/probe.h"
#include "core/base/rate.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define SWEEP_US 5000	/* how often silent probes are looked at */
#define MIN_CWND 256	/* the window's floor on a lossy path (window()) */
/* Linux resends an unanswered SYN after its initial RTO (TCP_TIMEOUT_INIT,
 * 1 s); a connect probe is closed before that, so the kernel never sends
 * a SYN that --rate did not allow. */
#define CONNECT_WAIT_MAX_US 900000

struct slot {
	struct ev_io io;	/* io.fd -1: free */
	struct prober *p;
	uint8_t tries;
	uint8_t sent;		/* UDP: payloads sent of this try */
	uint32_t group;
	uint64_t idx;
	int64_t sent_us;	/* this try */
	struct endpoint ep;
};

struct retry {			/* a silent probe queued for another try */
	uint64_t idx;
	uint8_t tries;
};

struct prober {
	const struct probe_set *ps;
	struct ev_loop *loop;
	struct ev_timer sweep;
	struct ev_timer wake;		/* when --rate lets the next probe go */
	struct slot *slots;
	size_t nslots, busy;
	size_t sending;			/* UDP slots with payloads still to send */
	uint64_t next;			/* next fresh probe */
	struct retry *retry;		/* probes queued for another try, oldest */
	size_t rhead, nretry, capretry;	/* first: retry[rhead..nretry) */
	struct rtt {
		int64_t srtt, rttvar;	/* microseconds, 0: no sample yet */
	} all, *host;			/* everyone's, and per host (ps->group) */
	struct rate_limit rl;		/* --rate, in packets on the wire */
	double cwnd;			/* probes in flight, as TCP's congestion window */
	uint64_t answers[2];		/* answered on the first try; only on a retry */
	int64_t last_cut;		/* when the window was last halved */
	unsigned retries;		/* tries after the first a silent probe gets now */
	uint64_t *held;			/* bitmap: gave up at retries, which may still grow */
	size_t nheld;
	unsigned tokens;		/* --rate packets one TCP probe may put on the wire */
};

const char *port_state_name(enum port_state s)
{
	static const char *const names[] = { "open", "closed", "filtered", "open|filtered" };

	return (unsigned)s < 4 ? names[s] : "?";
}

/* The host's own round trips (a host that has not answered yet gets the
 * cautious first guess, not a faster neighbour's). A connect probe's
 * later tries at a host that never answered wait as long as everyone's
 * round trips say (a host behind a drop rule would otherwise cost the
 * cautious guess on every try), and no connect waits past the kernel's
 * own resend: the prober sends the next try itself, through --rate. */
static int64_t timeout_us(const struct prober *p, uint32_t group, uint8_t tries)
{
	const struct rtt *r = p->host ? &p->host[group] : &p->all;
	bool tcp = p->ps->proto == PROTO_TCP;
	int64_t t;

	if (p->ps->timeout_ms)
		return (int64_t)p->ps->timeout_ms * 1000;
	if (tcp && !r->srtt && tries && p->all.srtt)
		r = &p->all;
	t = r->srtt ? r->srtt + 4 * r->rttvar : 1000000;
	if (t > (tcp ? CONNECT_WAIT_MAX_US : 3000000))
		t = tcp ? CONNECT_WAIT_MAX_US : 3000000;
	return t < 50000 ? 50000 : t;
}

static void estimate(struct rtt *r, int64_t rtt)
{
	if (!r->srtt) {
		r->srtt = rtt;
		r->rttvar = rtt / 2;
		return;
	}
	r->rttvar += ((rtt > r->srtt ? rtt - r->srtt : r->srtt - rtt) - r->rttvar) / 4;
	r->srtt += (rtt - r->srtt) / 8;
}

static void sample(struct prober *p, uint32_t group, int64_t rtt)
{
	estimate(&p->all, rtt);
	if (p->host)
		estimate(&p->host[group], rtt);
}

/*
 * Congestion control: the window of probes in flight grows by one for
 * every answer, and an answer that came only on a retry - an earlier try
 * was dropped (a full accept queue, a lossy link), not refused - halves it,
 * once per round of probes (only a try sent after the last cut cuts
 * again; TCP cuts once per window of data). How far it may fall
 * tells the two apart: while most answers come on the first try, the
 * drops are a lossy path, which more in flight does not make worse, and
 * the window stays at MIN_CWND or more (at one, a /24 sweep under 5 % loss
 * each way took minutes); when most come only on a retry, the target is
 * refusing the load (a listener whose backlog is full: a burst gets a
 * couple of probes in, whatever its size), and the window falls to one. The silent probes get more tries (PROBE_LOSS_MARGIN
 * past that try, within max_retries). A port that never answers (a
 * firewall's drop) is no evidence, so filtered hosts keep their pace;
 * --rate stays the ceiling on the wire.
 */
static unsigned retries_cap(const struct prober *p)
{
	return p->ps->max_retries > p->ps->retries ? p->ps->max_retries : p->ps->retries;
}

static void requeue(struct prober *p, uint64_t idx, uint8_t tries);

/* Seen loss raised the tries: the probes that already gave up at the old
 * count get the new ones too (a pair probed before the first loss was
 * seen is as likely to have lost its tries as one still in flight). */
static void drain_held(struct prober *p, bool again, uint8_t tries);

static void raise_retries(struct prober *p, unsigned to)
{
	unsigned was = p->retries;

	p->retries = to;
	drain_held(p, true, (uint8_t)(was + 1));
}

static void window(struct prober *p, const struct slot *s)
{
	unsigned cap = retries_cap(p);
	unsigned want = s->tries + (unsigned)PROBE_LOSS_MARGIN;
	double floor = (double)p->nslots < MIN_CWND ? (double)p->nslots : MIN_CWND;

	if (p->cwnd < (double)p->nslots)
		p->cwnd += 1;
	p->answers[s->tries > 0]++;
	if (!s->tries)
		return;
	if (p->retries < want)
		raise_retries(p, want < cap ? want : cap);
	if (s->sent_us <= p->last_cut)
		return;
	p->last_cut = ev_now_us();
	if (p->answers[0] <= p->answers[1])
		p->cwnd = 1;	/* refused: one at a time, growing with the answers */
	else
		p->cwnd = p->cwnd / 2 > floor ? p->cwnd / 2 : floor;
}

static void release(struct prober *p, struct slot *s)
{
	if (p->ps->proto == PROTO_UDP && p->ps->npayloads && s->sent < p->ps->npayloads) {
		s->sent = (uint8_t)p->ps->npayloads;
		p->sending--;
	}
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
	if (st == ST_OPEN || st == ST_CLOSED) {
		sample(p, s->group, rtt);
		window(p, s);
	}
	release(p, s);
	p->ps->result(p->ps->arg, &r);
}

static void done_local(struct prober *p, struct slot *s, const char *reason)
{
	struct probe_result r = { .index = s->idx, .state = ST_FILTERED, .reason = reason,
				  .local = true };

	release(p, s);
	p->ps->result(p->ps->arg, &r);
}

static void silent(struct prober *p, struct slot *s);
static bool read_error(struct slot *s);

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
	else if (err == ETIMEDOUT)
		silent(p, s);	/* the kernel gave up on its SYNs (a --timeout past them) */
	else if (err != EINPROGRESS && !read_error(s))
		done(p, s, ST_FILTERED, err == ENETUNREACH ? "net-unreach"
				       : err == EHOSTUNREACH ? "host-unreach" : "error", NULL, 0);
}

/* nmap's word for an ICMP error, and what it makes of the port; NULL when
 * it says nothing about the port. */
static const char *icmp_reason(uint8_t origin, uint8_t type, uint8_t code, enum port_state *st)
{
	const char *r = origin == SO_EE_ORIGIN_ICMP ? pkt_unreach_reason(4, type, code)
			: origin == SO_EE_ORIGIN_ICMP6 ? pkt_unreach_reason(6, type, code) : NULL;

	if (r)
		*st = !strcmp(r, "port-unreach") ? ST_CLOSED : ST_FILTERED;
	return r;
}

/* Did this host itself send the ICMP error? It does when its ARP or
 * neighbour solicitation went unanswered and it dropped the probe: a lost
 * try, not the target's answer. Unless this host is the target: then its
 * port unreachable is the answer (a closed UDP port on 127.0.0.1). */
static bool from_here(const struct slot *s, const struct cmsghdr *c)
{
	size_t at = sizeof(struct sock_extended_err);
	size_t n = c->cmsg_len > CMSG_LEN(at) ? c->cmsg_len - CMSG_LEN(at) : 0;
	struct sockaddr_storage off = { 0 }, me;
	socklen_t len = sizeof(me);
	struct endpoint a, b;

	memcpy(&off, CMSG_DATA(c) + at, n < sizeof(off) ? n : sizeof(off));
	return n >= sizeof(struct sockaddr_in) &&
	       !getsockname(s->io.fd, (struct sockaddr *)&me, &len) &&
	       !endpoint_from_sockaddr(&a, &off) && !endpoint_from_sockaddr(&b, &me) &&
	       a.family == b.family && !memcmp(a.addr, b.addr, a.family == AF_INET ? 4 : 16) &&
	       !(a.family == s->ep.family && !memcmp(a.addr, s->ep.addr, a.family == AF_INET ? 4 : 16));
}

/* The ICMP error queued on the socket (IP_RECVERR): the exact reason (a
 * TCP port is filtered whatever the ICMP says, as in nmap). */
static bool read_error(struct slot *s)
{
	uint8_t ctrl[512], data[64];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl,
			    .msg_controllen = sizeof(ctrl) };

	if (recvmsg(s->io.fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		struct sock_extended_err ee;
		enum port_state st;
		const char *why;

		if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
			continue;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		if (!(why = icmp_reason(ee.ee_origin, ee.ee_type, ee.ee_code, &st)))
			continue;
		if (from_here(s, c))
			silent(s->p, s);
		else
			done(s->p, s, s->p->ps->proto == PROTO_TCP ? ST_FILTERED : st, why, NULL, 0);
		return true;
	}
	return false;
}

/* What errno alone says, when no ICMP error was queued. */
static void by_errno(struct slot *s, int err)
{
	if (err == ECONNREFUSED)
		done(s->p, s, ST_CLOSED, "port-unreach", NULL, 0);
	else if (err == EHOSTUNREACH || err == ENETUNREACH || err == EACCES)
		done(s->p, s, ST_FILTERED, err == ENETUNREACH ? "net-unreach" : "host-unreach",
		     NULL, 0);
}

static void on_udp(struct slot *s)
{
	uint8_t buf[512];
	ssize_t n = recv(s->io.fd, buf, sizeof(buf), MSG_DONTWAIT);
	int err = errno;

	if (n >= 0)
		done(s->p, s, ST_OPEN, "udp-response", buf, (size_t)n);
	else if (err != EAGAIN && !read_error(s))
		by_errno(s, err);
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

/* The next service payload of a UDP try (every service's payload to every
 * port: a DNS server on 5300 answers the DNS one), one --rate token each;
 * the try's wait starts at its last. */
static void send_payload(struct prober *p, struct slot *s)
{
	const struct probe_payload *pl = &p->ps->payloads[s->sent++];
	ssize_t n;
	int err;

	if (s->sent == p->ps->npayloads)
		p->sending--;
	s->sent_us = ev_now_us();
	n = send(s->io.fd, pl->data, pl->len, 0);
	err = errno;
	rate_sent(&p->rl, ev_now_us());
	/* an ICMP error for an earlier datagram: read it now */
	if (n < 0 && err != EAGAIN && err != ENOBUFS && !read_error(s))
		by_errno(s, err);
}

/* Start probe idx in slot s; false when no descriptor was free. */
static bool launch(struct prober *p, struct slot *s, const struct retry *q)
{
	uint64_t idx = q->idx;
	struct sockaddr_storage sa;
	socklen_t len;
	int type = p->ps->proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd, one = 1, r, err;

	p->ps->endpoint(p->ps->arg, idx, &s->ep);
	fd = socket(s->ep.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	/* ICMP errors with their type, code and sender, not just an errno */
	setsockopt(fd, s->ep.family == AF_INET ? SOL_IP : SOL_IPV6,
		   s->ep.family == AF_INET ? IP_RECVERR : IPV6_RECVERR, &one, sizeof(one));
	/* one resend at most (the least Linux takes), and only when a
	 * --timeout past the kernel's RTO asked for it: then the probe took a
	 * token for it (p->tokens) */
	if (p->ps->proto == PROTO_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof(one));
	len = endpoint_to_sockaddr(&s->ep, &sa);
	s->p = p;
	s->tries = q->tries;
	s->idx = idx;
	s->group = p->host ? p->ps->group(p->ps->arg, idx) : 0;
	s->sent_us = ev_now_us();
	/* nothing to send yet: release() on a connect that fails at once
	 * must not count this slot out of p->sending (a fresh slot's 0 would) */
	s->sent = (uint8_t)p->ps->npayloads;
	p->busy++;
	ev_io_add(p->loop, &s->io, fd, p->ps->proto == PROTO_TCP ? EPOLLOUT : EPOLLIN, on_io);
	r = connect(fd, (struct sockaddr *)&sa, len);
	err = errno;
	rate_sent(&p->rl, ev_now_us());
	if (r && err != EINPROGRESS) {
		if (err == ECONNREFUSED)
			done(p, s, ST_CLOSED, "conn-refused", NULL, 0);
		else	/* at once, from the routing table: no route */
			done_local(p, s, err == ENETUNREACH ? "net-unreach"
				   : err == EHOSTUNREACH ? "host-unreach" : "error");
		return true;
	}
	if (p->ps->proto == PROTO_UDP && p->ps->npayloads) {
		s->sent = 0;
		p->sending++;
		send_payload(p, s);
	}
	return true;
}

static void requeue(struct prober *p, uint64_t idx, uint8_t tries)
{
	if (p->rhead && p->rhead == p->nretry)
		p->rhead = p->nretry = 0;
	else if (p->rhead > 4096 && p->rhead * 2 > p->nretry) {
		memmove(p->retry, p->retry + p->rhead, (p->nretry - p->rhead) * sizeof(*p->retry));
		p->nretry -= p->rhead;
		p->rhead = 0;
	}
	p->retry = xgrow(p->retry, sizeof(*p->retry), p->nretry + 1, &p->capretry);
	p->retry[p->nretry++] = (struct retry){ idx, tries };
}

static void no_answer(struct prober *p, uint64_t idx)
{
	struct probe_result r = { .index = idx, .reason = "no-response",
				  .state = p->ps->proto == PROTO_TCP ? ST_FILTERED : ST_OPEN_FILTERED };

	p->ps->result(p->ps->arg, &r);
}

/* A try drew no answer: queue another, or hold it while seen loss may
 * still raise the tries, or say so. */
static void silent(struct prober *p, struct slot *s)
{
	if (s->tries < p->retries) {
		requeue(p, s->idx, (uint8_t)(s->tries + 1));
		release(p, s);
	} else if (p->retries < retries_cap(p)) {
		if (!p->held)
			p->held = xcalloc((size_t)((p->ps->count + 63) / 64), sizeof(*p->held));
		p->held[s->idx / 64] |= 1ull << (s->idx % 64);
		p->nheld++;
		release(p, s);
	} else {
		done(p, s, p->ps->proto == PROTO_TCP ? ST_FILTERED : ST_OPEN_FILTERED, "no-response",
		     NULL, 0);
	}
}

/* Every held probe, cleared as it goes: queued again with tries (seen
 * loss raised them), or without an answer for good (the end). */
static void drain_held(struct prober *p, bool again, uint8_t tries)
{
	for (uint64_t w = 0; p->nheld && w < (p->ps->count + 63) / 64; w++)
		for (uint64_t bits = p->held[w]; bits; bits &= bits - 1) {
			uint64_t idx = w * 64 + (uint64_t)__builtin_ctzll(bits);

			p->held[w] &= bits - 1;
			p->nheld--;
			if (again)
				requeue(p, idx, tries);
			else
				no_answer(p, idx);
		}
}

static void on_sweep(struct ev_loop *l, struct ev_timer *t)
{
	struct prober *p = container_of(t, struct prober, sweep);
	int64_t now = ev_now_us();

	for (size_t i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];

		if (s->io.fd >= 0 && (!p->ps->npayloads || s->sent == p->ps->npayloads) &&
		    now - s->sent_us >= timeout_us(p, s->group, s->tries))
			silent(p, s);
	}
	ev_timer_in(l, t, SWEEP_US, on_sweep);
}

/* May another probe go out now? A TCP probe takes p->tokens; a UDP
 * datagram one (each payload is its own). */
static unsigned probe_tokens(const struct prober *p)
{
	return p->ps->proto == PROTO_UDP ? 1 : p->tokens;
}

static void on_wake(struct ev_loop *l, struct ev_timer *t);

static bool rate_ok(struct prober *p)
{
	return rate_take(&p->rl, ev_now_us(), probe_tokens(p));
}

static void wait_rate(struct ev_loop *l, struct prober *p)
{
	if (!ev_timer_active(&p->wake))
		ev_timer_at(l, &p->wake, rate_next(&p->rl, probe_tokens(p)), on_wake);
}

static void on_wake(struct ev_loop *l, struct ev_timer *t)
{
	(void)l;
	(void)t;	/* the prepare hook that runs next does the work */
}

/* Before each wait: fill free slots, or end the run when all is done. */
static void refill(struct ev_loop *l, void *arg)
{
	struct prober *p = arg;

	/* the tries under way send their payloads before new ones start */
	for (size_t i = 0; p->sending && i < p->nslots; i++) {
		struct slot *s = &p->slots[i];

		if (s->io.fd < 0 || s->sent >= p->ps->npayloads)
			continue;
		if (!rate_ok(p)) {
			wait_rate(l, p);
			return;
		}
		send_payload(p, s);
	}
	for (size_t i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];

		if (s->io.fd >= 0)
			continue;
		if ((p->rhead == p->nretry && p->next >= p->ps->count) || (double)p->busy >= p->cwnd)
			break;
		if (!rate_ok(p)) {
			wait_rate(l, p);
			break;
		}
		if (p->rhead < p->nretry) {	/* the longest waiting first: none starves */
			if (launch(p, s, &p->retry[p->rhead]))
				p->rhead++;
		} else if (launch(p, s, &(struct retry){ .idx = p->next })) {
			p->next++;
		}
	}
	/* payloads still to send go at the next pass, which nothing else
	 * may wake before the sweep's 5 ms: come back as soon as --rate
	 * allows (at once without --rate, after reading what came) */
	if (p->sending)
		wait_rate(l, p);
	if (!p->busy && p->rhead == p->nretry && p->next >= p->ps->count) {
		drain_held(p, false, 0);	/* the end: what was held stays silent */
		ev_break(l);
	}
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
	if (ps->npayloads > UINT8_MAX)
		return -EINVAL;
	p.nslots = parallel(ps);
	if (p.nslots > ps->count)
		p.nslots = (size_t)ps->count;
	p.slots = xcalloc(p.nslots, sizeof(*p.slots));
	for (size_t i = 0; i < p.nslots; i++)
		p.slots[i].io.fd = -1;
	rate_resume(&p.rl, ps->rate, ev_now_us(), ps->wire_due);
	p.cwnd = (double)p.nslots;
	p.retries = ps->retries;
	/* a TCP probe that waits past the kernel's RTO lets the kernel resend
	 * its SYN once (TCP_SYNCNT 1): two packets, both counted */
	p.tokens = ps->proto == PROTO_TCP && (int64_t)ps->timeout_ms * 1000 > CONNECT_WAIT_MAX_US
		   ? 2 : 1;
	if (ps->group && ps->ngroups)
		p.host = xcalloc(ps->ngroups, sizeof(*p.host));
	ev_set_hooks(l, refill, NULL, &p);
	ev_timer_in(l, &p.sweep, SWEEP_US, on_sweep);
	r = ev_run(l);
	rate_hand_over(&p.rl, ps->wire_due);
	ev_timer_stop(l, &p.sweep);
	ev_timer_stop(l, &p.wake);
	ev_set_hooks(l, NULL, NULL, NULL);
	for (size_t i = 0; i < p.nslots; i++)
		if (p.slots[i].io.fd >= 0)
			release(&p, &p.slots[i]);
	free(p.slots);
	free(p.retry);
	free(p.held);
	free(p.host);
	return r;
}
