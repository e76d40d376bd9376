/*
 * syn.c - `-s syn`: stateless SYN scanning through raw sockets (root).
 *
 * Every (address, port) pair has an index; the job hands over the pairs
 * to probe in order (c->order: its seeded permutation, this shard's part
 * of it, the hosts that are up), so the probes spread over hosts and
 * ports and N scanners with the same --seed cover the space once. The SYN's
 * sequence number is a keyed hash of the 4-tuple (a cookie): a SYN-ACK
 * or RST is ours when its ack is cookie + 1, so no per-probe state is
 * kept but a bitmap of what answered. The kernel, which owns no socket on
 * our source port, answers each SYN-ACK with a RST itself.
 *
 * Replies are read from raw sockets with classic BPF filters (TCP to our
 * source port; ICMP destination unreachable) so the kernel drops
 * everything else early; an ICMP error is ours when the SYN it quotes
 * carries our cookie, and makes the port filtered with nmap's reason.
 * SO_RXQ_OVFL counts what the receive queues dropped, and the count is
 * reported. After
 * the first pass, only the silent pairs are probed again (--retries; more
 * passes once a pair answered only in a retry pass, up to --max-retries),
 * and the scan waits a multiple of the measured round trip, not a fixed
 * time.
 *
 * Everything runs on the caller's core/ev loop: the raw sockets are ev_io
 * callbacks that decode replies with core/pkt (the fuzzed decoder), and a
 * timer sends the next batch of probes when the pacer says it is due.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/wire/pkt.h"
#include "core/base/rate.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

struct pacer {
	struct rate_limit rl;	/* the ceiling actually enforced, packet by packet */
	double rate, max;	/* current rate; --rate (or 2 M/s) */
	double min;		/* the floor: --min-rate, or 1000 */
	uint64_t sent0;		/* probes sent before this window */
	uint64_t sent, replies0, drops0;
	double best;		/* best answered share seen */
};

struct syn;

/* One raw socket: TCP replies or ICMP errors, IPv4 or IPv6. */
struct raw {
	struct ev_io io;	/* io.fd -1: not open */
	struct syn *s;
	uint8_t family, proto;
	uint32_t drops;		/* what its receive queue dropped (SO_RXQ_OVFL) */
};

enum { RAW_TCP4, RAW_TCP6, RAW_ICMP4, RAW_ICMP6, NRAW };

struct syn {
	struct raw raw[NRAW];
	struct ev_timer tick;
	struct pacer pc;
	unsigned pass;
	unsigned passes;	/* retry passes allowed now: --retries, more once loss is seen */
	uint64_t pos;		/* next position in c.order */
	int64_t t_start;
	struct scan_ctx c;	/* the loop, targets, ports, options, where results go */
	uint16_t sport;
	uint64_t key;
	uint64_t n;		/* pairs */
	uint8_t *answered;	/* bitmap */
	int64_t *sent_us;	/* latest send time per pair, for RTT */
	uint8_t (*src)[16];	/* source address per target */
	int32_t *port_index;	/* port -> position in ports, -1 */
	struct tindex tix;	/* targets by address */
	uint8_t *down;		/* per target: no route, skip its probes */
	size_t ndown;
	int64_t backoff_us;	/* the kernel said "no buffer space": wait this long */
	int64_t srtt;
	uint64_t replies;	/* answers counted, for pacing and progress */
	uint64_t found;
};

static uint32_t cookie(const struct syn *s, const uint8_t *dst, unsigned family, uint16_t dport)
{
	uint64_t h = s->key ^ ((uint64_t)dport << 16) ^ family;

	return hash_mix(hash_add(h, dst, family == AF_INET ? 4u : 16u));
}

/* 0, or -errno from sendto(): ENOBUFS/EAGAIN mean "again later". */
static int send_syn(struct syn *s, uint64_t idx)
{
	uint32_t ti = (uint32_t)(idx % s->c.t->n);
	uint16_t dport = s->c.ports[idx / s->c.t->n];
	const struct target *t = &s->c.t->v[ti];
	uint8_t tcp[24];

	tcp_segment(tcp, t, s->src[ti], s->sport, dport, cookie(s, t->addr, t->family, dport), 0,
		    TCP_SYN);
	/* the latest send: a retry's answer is timed from the retry */
	s->sent_us[idx] = ev_now_us();
	return raw_send(s->raw[t->family == AF_INET ? RAW_TCP4 : RAW_TCP6].io.fd, t, tcp, 24);
}

static bool get_bit(const uint8_t *b, uint64_t i)
{
	return b[i / 8] >> (i % 8) & 1;
}

static void index_targets(struct syn *s)
{
	tindex_build(&s->tix, s->c.t);
	s->port_index = xmalloc(65536 * sizeof(*s->port_index));
	for (size_t p = 0; p < 65536; p++)
		s->port_index[p] = -1;
	for (size_t i = 0; i < s->c.nports; i++)
		s->port_index[s->c.ports[i]] = (int32_t)i;
}

/* Which pair does a reply from addr:port belong to? */
static bool find_pair(const struct syn *s, unsigned family, const uint8_t *addr, uint16_t port,
		      uint64_t *idx)
{
	int64_t ti;

	if (s->port_index[port] < 0 || (ti = tindex_find(&s->tix, family, addr)) < 0)
		return false;
	*idx = (uint64_t)s->port_index[port] * s->c.t->n + (uint64_t)ti;
	return true;
}

/* A pair answered only in a retry pass: an earlier SYN or its answer was
 * lost (or an ICMP rate limit held the answer back). The pairs still
 * silent get PROBE_LOSS_MARGIN passes past this one, within
 * --max-retries; every pass goes through the pacer, so --rate holds. */
static void seen_loss(struct syn *s)
{
	unsigned cap = s->c.o->max_retries > s->c.o->retries ? s->c.o->max_retries
							     : s->c.o->retries;
	unsigned want = s->pass + (unsigned)PROBE_LOSS_MARGIN;

	if (s->passes < want)
		s->passes = want < cap ? want : cap;
}

/* The pair idx answered: report it once, and take it off the retries. */
static void answer(struct syn *s, uint64_t idx, enum port_state st, const char *reason)
{
	struct result r;

	memset(&r, 0, sizeof(r));
	s->answered[idx / 8] |= (uint8_t)(1u << (idx % 8));
	r.target = (uint32_t)(idx % s->c.t->n);
	r.port = s->c.ports[idx / s->c.t->n];
	r.proto = PROTO_TCP;
	r.state = (uint8_t)st;
	r.reason = reason;
	r.rtt_us = (uint32_t)(ev_now_us() - s->sent_us[idx]);
	s->srtt = s->srtt ? (7 * s->srtt + r.rtt_us) / 8 : r.rtt_us;
	s->replies++;
	if (s->pass)
		seen_loss(s);
	s->found += st == ST_OPEN;
	s->c.emit(&r, s->c.arg);
}

/* A segment from the target: ours when it goes to our source port and
 * acknowledges the cookie of the probe it answers. */
static void tcp_reply(struct syn *s, const struct pkt *p)
{
	unsigned family = p->ipver == 4 ? AF_INET : AF_INET6;
	uint64_t idx;

	if (!p->has_ports || (p->flags & (PKT_TRUNCATED | PKT_MALFORMED)) ||
	    p->dport != s->sport || p->ack != cookie(s, p->src, family, p->sport) + 1)
		return;
	/* a pair never sent is another shard's (same seed, same port here) */
	if (!find_pair(s, family, p->src, p->sport, &idx) || get_bit(s->answered, idx) ||
	    !s->sent_us[idx])
		return;
	if ((p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		answer(s, idx, ST_OPEN, "syn-ack");
	else if (p->tcp_flags & TCP_RST)
		answer(s, idx, ST_CLOSED, "reset");
}

/* An ICMP error quoting one of our SYNs (its cookie in the quoted
 * sequence number): the port is filtered, and nmap's reason says why. */
static void icmp_reply(struct syn *s, const struct pkt *p)
{
	const struct pkt_inner *in = &p->inner;
	unsigned family = in->ipver == 4 ? AF_INET : AF_INET6;
	const char *why = pkt_unreach_reason(p->ipver, p->icmp_type, p->icmp_code);
	uint64_t idx;

	if (!why || !p->has_inner || in->proto != 6 || !in->has_ports || !in->has_seq ||
	    in->sport != s->sport || in->seq != cookie(s, in->dst, family, in->dport))
		return;
	if (!find_pair(s, family, in->dst, in->dport, &idx) || get_bit(s->answered, idx) ||
	    !s->sent_us[idx])
		return;		/* not ours (another shard's), or answered */
	/* from our own address: this host could not resolve the target's
	 * link address (its ARP or neighbour solicitation went unanswered)
	 * and dropped the SYN - a lost try, not the target's answer */
	if (!memcmp(p->src, s->src[idx % s->c.t->n], family == AF_INET ? 4 : 16))
		return;
	answer(s, idx, ST_FILTERED, why);
}

static void reply(struct syn *s, const struct pkt *p)
{
	if (p->proto == 6)
		tcp_reply(s, p);
	else if (p->proto == 1 || p->proto == 58)
		icmp_reply(s, p);
}

static void on_raw(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct raw *r = container_of(io, struct raw, io);

	(void)l;
	(void)events;
	for (int i = 0; i < 100000; i++) {
		uint8_t buf[1600], ctrl[64];
		struct sockaddr_storage from;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
		ssize_t n = recvmsg(io->fd, &m, MSG_DONTWAIT);
		uint8_t scratch[40 + sizeof(buf)];
		struct endpoint ep;
		struct pkt p;

		if (n <= 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
				memcpy(&r->drops, CMSG_DATA(c), sizeof(r->drops));
		if (r->family == AF_INET || !endpoint_from_sockaddr(&ep, &from)) {
			raw_decode(r->family, r->proto, buf, (size_t)n, &ep, scratch, &p);
			reply(r->s, &p);
		}
	}
}

static uint64_t total_drops(const struct syn *s)
{
	uint64_t n = 0;

	for (int i = 0; i < NRAW; i++)
		n += s->raw[i].drops;
	return n;
}

/* A raw socket for replies, filtered in the kernel: TCP segments to our
 * source port, or ICMP "destination unreachable" (whose quote icmp_reply
 * checks against the cookie). */
static int open_raw(struct syn *s, struct raw *r)
{
	uint16_t match = r->proto == IPPROTO_TCP ? s->sport
			 : r->proto == IPPROTO_ICMP ? 3 : ICMP6_DST_UNREACH;
	int fd = raw_open(r->family, r->proto, match);

	if (fd < 0)
		return fd;
	ev_io_add(s->c.loop, &r->io, fd, EPOLLIN, on_raw);
	return 0;
}

static int open_raws(struct syn *s)
{
	static const struct { uint8_t family, proto; } kinds[NRAW] = {
		[RAW_TCP4] = { AF_INET, IPPROTO_TCP }, [RAW_TCP6] = { AF_INET6, IPPROTO_TCP },
		[RAW_ICMP4] = { AF_INET, IPPROTO_ICMP }, [RAW_ICMP6] = { AF_INET6, IPPROTO_ICMPV6 },
	};

	for (int i = 0; i < NRAW; i++) {
		struct raw *r = &s->raw[i];
		int e;

		*r = (struct raw){ .io.fd = -1, .s = s, .family = kinds[i].family,
				   .proto = kinds[i].proto };
		/* without ICMP the scan still works: unreachable ports stay silent */
		if ((e = open_raw(s, r)) && kinds[i].proto == IPPROTO_TCP)
			return errorf(e, "cannot open a raw socket: %s", strerror(-e));
	}
	return 0;
}

static void close_raws(struct syn *s)
{
	for (int i = 0; i < NRAW; i++) {
		if (s->raw[i].io.fd < 0)
			continue;
		ev_io_del(s->c.loop, &s->raw[i].io);
		close(s->raw[i].io.fd);
		s->raw[i].io.fd = -1;
	}
}

/*
 * Pacing from what comes back: the rate starts modest and grows by a
 * quarter each window of probes while the share of probes answered holds
 * and the kernel drops nothing; it halves when the answers fall off
 * (something on the path is dropping) or the receive queue overflows. A
 * silent target gives no signal, and the rate stays where it started.
 * --rate is a ceiling that is never exceeded.
 */
#define WINDOW 4096

static void pacer_adjust(struct pacer *pc, const struct syn *s)
{
	double share = (double)(s->replies - pc->replies0) / WINDOW;

	if (share > pc->best)
		pc->best = share;
	uint64_t drops = total_drops(s);

	if (drops > pc->drops0 || (pc->best > 0.05 && share < 0.7 * pc->best))
		pc->rate /= 2;
	else if (pc->best > 0.05 && share >= 0.9 * pc->best)
		pc->rate *= 1.25;
	if (pc->rate < pc->min)
		pc->rate = pc->min;	/* 1000, or --min-rate's floor */
	if (pc->rate > pc->max)
		pc->rate = pc->max;	/* --rate is the ceiling, whatever the pacer thinks */
	rate_set(&pc->rl, pc->rate);
	pc->replies0 = s->replies;
	pc->drops0 = drops;
	pc->sent0 = pc->sent;
}

static void on_tick(struct ev_loop *l, struct ev_timer *t);

/* How many pairs this scanner probes (its shard of them). */
static uint64_t mine(const struct syn *s)
{
	return s->c.norder;
}

/* After a pass: wait a few round trips (at least 100 ms, at most 2 s)
 * for late answers, then the next pass or the end. */
static void on_pass_end(struct ev_loop *l, struct ev_timer *t)
{
	struct syn *s = container_of(t, struct syn, tick);

	if (++s->pass > s->passes || s->ndown == s->c.t->n || s->replies >= mine(s)) {
		ev_break(l);
		return;
	}
	s->pos = 0;
	ev_timer_in(l, t, 0, on_tick);
}

static int64_t settle_us(const struct syn *s)
{
	int64_t ms = s->srtt ? s->srtt * 4 / 1000 : 500;

	return (ms < 100 && s->srtt ? 100 : ms > 2000 ? 2000 : ms) * 1000;
}

/* The target has no route: say so once, and probe it no more. */
static void target_down(struct syn *s, uint32_t ti, int err)
{
	if (s->down[ti])
		return;
	s->down[ti] = 1;
	s->ndown++;
	if (s->c.host)
		s->c.host(s->c.arg, ti, false, err == -EHOSTUNREACH ? "host-unreach" : "net-unreach");
}

/* Send the probes that are due, 64 at most, then let the loop read replies
 * and come back when the next one is due. The kernel's "no buffer space"
 * (queues behind ARP for absent neighbours, a full qdisc) is never taken
 * for an answer: the probe is sent again after a growing pause. */
static void on_tick(struct ev_loop *l, struct ev_timer *t)
{
	struct syn *s = container_of(t, struct syn, tick);
	unsigned batch = 0;
	int64_t now = ev_now_us();

	while (s->pos < s->c.norder && batch < 64) {
		uint64_t idx = s->c.order[s->pos];
		int e;

		if (get_bit(s->answered, idx) || s->down[idx % s->c.t->n]) {
			s->pos++;
			continue;
		}
		if (!rate_take(&s->pc.rl, now, 1))
			break;
		e = send_syn(s, idx);
		rate_sent(&s->pc.rl, ev_now_us());
		if (e == -ENOBUFS || e == -EAGAIN) {
			s->backoff_us = s->backoff_us ? s->backoff_us * 2 : 1000;
			if (s->backoff_us > 100000)
				s->backoff_us = 100000;
			ev_timer_in(l, t, s->backoff_us, on_tick);
			return;
		}
		if (e == -ENETUNREACH || e == -EHOSTUNREACH)
			target_down(s, (uint32_t)(idx % s->c.t->n), e);
		s->backoff_us = 0;
		s->pos++;
		batch++;
		if (++s->pc.sent % 64 == 0) {
			if (s->pc.sent - s->pc.sent0 >= WINDOW)
				pacer_adjust(&s->pc, s);
			if (s->c.progress)
				s->c.progress(s->c.arg, s->pc.sent, mine(s));
		}
	}
	if (s->pos >= s->c.norder)
		ev_timer_in(l, t, s->ndown == s->c.t->n ? 0 : settle_us(s), on_pass_end);
	else
		ev_timer_at(l, t, rate_next(&s->pc.rl, 1), on_tick);
}

static void emit_silent(struct syn *s)
{
	for (uint64_t p = 0; p < s->c.norder; p++) {
		uint64_t idx = s->c.order[p];
		struct result res = { 0 };

		if (get_bit(s->answered, idx) || s->down[idx % s->c.t->n])
			continue;
		res.target = (uint32_t)(idx % s->c.t->n);
		res.port = s->c.ports[idx / s->c.t->n];
		res.proto = PROTO_TCP;
		res.state = ST_FILTERED;
		res.reason = "no-response";
		s->c.emit(&res, s->c.arg);
	}
}

static int setup(struct syn *s)
{
	const struct scan_opts *o = s->c.o;
	int r;

	s->key = s->c.seed;
	s->sport = (uint16_t)(40000 + hash_mix(s->key ^ 0x5157) % 20000);
	if ((r = open_raws(s))) {
		close_raws(s);
		return r;
	}
	s->n = (uint64_t)s->c.t->n * s->c.nports;
	s->answered = xcalloc((size_t)(s->n / 8 + 1), 1);
	s->sent_us = xcalloc((size_t)s->n, sizeof(*s->sent_us));
	s->src = xcalloc(s->c.t->n, sizeof(*s->src));
	s->down = xcalloc(s->c.t->n, 1);
	index_targets(s);
	for (size_t i = 0; i < s->c.t->n; i++) {
		int e = source_for(&s->c.t->v[i], s->src[i]);

		if (e)
			target_down(s, (uint32_t)i, e);
	}
	s->passes = o->retries;
	s->pc.max = o->rate ? o->rate : 2000000;
	s->pc.rate = s->pc.max < 100000 ? s->pc.max : 100000;
	s->pc.min = o->min_rate > 1000 ? o->min_rate : 1000;
	if (s->pc.min > s->pc.max)
		s->pc.min = s->pc.max;	/* --rate under 1000 (cmd.c: --min-rate <= --rate) */
	if (s->pc.rate < s->pc.min)
		s->pc.rate = s->pc.min;
	s->t_start = ev_now_us();
	rate_resume(&s->pc.rl, s->pc.rate, s->t_start, s->c.wire_due);
	return 0;
}

int scan_syn(const struct scan_ctx *c)
{
	struct syn s = { .c = *c };
	int r;

	if (!c->t->n || !c->nports)
		return 0;
	if ((r = setup(&s)))
		return r;
	ev_timer_in(s.c.loop, &s.tick, 0, on_tick);
	r = ev_run(s.c.loop);
	rate_hand_over(&s.pc.rl, s.c.wire_due);
	ev_timer_stop(s.c.loop, &s.tick);
	for (int i = 0; i < NRAW; i++)	/* what came during the last wait */
		if (s.raw[i].io.fd >= 0)
			on_raw(s.c.loop, &s.raw[i].io, EPOLLIN);
	emit_silent(&s);
	if (total_drops(&s))
		warnf("the kernel dropped %llu replies: some ports may show as filtered "
		      "(lower --rate)", (unsigned long long)total_drops(&s));
	close_raws(&s);
	free(s.answered);
	free(s.sent_us);
	free(s.src);
	tindex_free(&s.tix);
	free(s.down);
	free(s.port_index);
	return r;
}
