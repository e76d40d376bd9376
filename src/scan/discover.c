/*
 * discover.c - which targets are up, before any port is probed (nmap's
 * host discovery; -Pn skips it).
 *
 *   this host's own addresses          up ("localhost-response")
 *   IPv4 on a directly connected net   ARP request (AF_PACKET); a reply is up
 *   other targets, as root             ICMP echo, TCP SYN to 443, TCP ACK to 80
 *                                      (raw sockets); any answer is up
 *   other targets, without root        connect() to 80 and 443; an accept or a
 *                                      refusal is up
 *
 * Probes go out on the caller's loop, paced by --rate (discovery packets
 * count), in DISC_ROUNDS rounds or more: a round re-asks only the silent
 * targets and waits a few round trips (at least WAIT_MIN_US) for late
 * answers; a target that answered only in a later round means the path
 * loses packets, and the silent ones get PROBE_LOSS_MARGIN rounds past
 * that one (at most --max-retries + 1 in all). ARP never leaves the link,
 * so absent neighbours cost one request a round and nothing queues behind
 * their resolution; the addresses its replies carry go into the kernel's
 * neighbour table (learn()), so the port probes do not queue there either.
 */
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/host/ifaddr.h"
#include "core/host/neigh.h"
#include "core/base/log.h"
#include "core/wire/pkt.h"
#include "core/host/probe.h"
#include "core/base/rate.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

/* A host missed by discovery loses all its ports. With 5 % loss each way,
 * five rounds (and PROBE_LOSS_MARGIN more past a late answer) miss one of
 * 16 hosts with p = 4e-5; they cost nothing when every target answers,
 * and 300 ms a round when some addresses are empty. */
#define DISC_ROUNDS 5
#define WAIT_MIN_US 300000
#define DISC_RATE 20000		/* packets per second without --rate */

enum how { H_LOCAL, H_ARP, H_PING, H_NOROUTE };	/* H_NOROUTE: nothing sent */
enum { S_ARP, S_ICMP4, S_ICMP6, S_TCP4, S_TCP6, NSOCK };

struct disc;

struct dsock {
	struct ev_io io;	/* io.fd -1: not open */
	struct disc *d;
	int kind;
};

struct host {
	uint8_t how, up;
	int ifindex;		/* H_ARP: the interface */
	uint8_t mac[6];		/* H_ARP: ours on it */
	uint8_t src[16];	/* the source address for raw probes */
	int64_t sent_us;
};

struct disc {
	const struct scan_ctx *c;
	struct host *h;
	struct tindex tix;
	struct dsock sock[NSOCK];
	struct ev_timer tick;
	struct rate_limit rl;
	uint16_t sport, ident;
	unsigned round, rounds;	/* this one; how many, more once loss is seen */
	struct neigh nl;	/* the kernel's neighbour table, opened at the first ARP reply */
	bool no_neigh;		/* it may not be written here */
	size_t pos, left;
	unsigned sub;		/* the next of the target at pos's NPINGS packets */
	int64_t srtt;
};

static void found(struct disc *d, int64_t ti, const char *reason)
{
	struct host *h;

	if (ti < 0 || (h = &d->h[ti])->up)
		return;
	h->up = 1;
	if (d->round) {		/* an earlier request or its answer was lost */
		unsigned want = d->round + PROBE_LOSS_MARGIN + 1, cap = d->c->o->max_retries + 1;

		want = want < cap ? want : cap;
		d->rounds = want > d->rounds ? want : d->rounds;
	}
	if (!--d->left)
		ev_break(d->c->loop);	/* everyone answered: no need to wait out the round */
	if (h->sent_us) {
		int64_t rtt = ev_now_us() - h->sent_us;

		d->srtt = d->srtt ? (7 * d->srtt + rtt) / 8 : rtt;
	}
	if (d->c->host)
		d->c->host(d->c->arg, (uint32_t)ti, true, reason);
}

/* ---- what each target needs ---- */

static bool is_local(const struct target *t, const struct local_addr *here, size_t n)
{
	return addr_is_loopback(t->family, t->addr) || local_addrs_has(here, n, t->family, t->addr);
}

static void classify(struct disc *d)
{
	struct local_addr *here = NULL;
	size_t nhere = 0;

	local_addrs(&here, &nhere);
	for (size_t i = 0; i < d->c->t->n; i++) {
		const struct target *t = &d->c->t->v[i];
		struct host *h = &d->h[i];
		int e;

		h->how = H_PING;
		if (is_local(t, here, nhere)) {
			h->how = H_LOCAL;
			continue;
		}
		e = source_for(t, h->src);
		if (e == -ENETUNREACH || e == -EHOSTUNREACH) {
			h->how = H_NOROUTE;	/* the routing table has no way there */
			continue;
		}
		/* on an Ethernet segment of ours: ARP finds it */
		for (size_t k = 0; t->family == AF_INET && k < nhere; k++) {
			const struct local_addr *a = &here[k];

			if (!(a->flags & IFF_UP) || (a->flags & (IFF_LOOPBACK | IFF_NOARP)) ||
			    !a->has_mac || !a->ifindex || !local_addr_covers(a, AF_INET, t->addr))
				continue;
			h->how = H_ARP;
			h->ifindex = (int)a->ifindex;
			memcpy(h->mac, a->mac, 6);
			memcpy(h->src, a->addr, 4);
			break;
		}
	}
	free(here);
}

/* ---- sending ---- */

static int send_arp(struct disc *d, const struct target *t, const struct host *h)
{
	uint8_t p[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };	/* Ethernet, IPv4, request */
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = h->ifindex, .sll_halen = 6 };

	memcpy(p + 8, h->mac, 6);
	memcpy(p + 14, h->src, 4);
	memcpy(p + 24, t->addr, 4);
	memset(to.sll_addr, 0xff, 6);
	return sendto(d->sock[S_ARP].io.fd, p, sizeof(p), 0, (struct sockaddr *)&to, sizeof(to)) < 0
	       ? -errno : 0;
}

/* An echo request whose sequence number is the target's index. */
static int send_echo(struct disc *d, const struct target *t, uint32_t ti)
{
	uint8_t p[16] = { t->family == AF_INET ? 8 : 128 };

	p[4] = (uint8_t)(d->ident >> 8);
	p[5] = (uint8_t)d->ident;
	p[6] = (uint8_t)(ti >> 8);
	p[7] = (uint8_t)ti;
	if (t->family == AF_INET) {	/* ICMPv6's checksum is the kernel's */
		uint16_t c = pkt_checksum(p, sizeof(p));

		p[2] = (uint8_t)(c >> 8);
		p[3] = (uint8_t)c;
	}
	return raw_send(d->sock[t->family == AF_INET ? S_ICMP4 : S_ICMP6].io.fd, t, p, sizeof(p));
}

/* Ping k of a target (an echo, a SYN to 443, an ACK to 80), each its own
 * packet through --rate. */
#define NPINGS 3

static int send_ping(struct disc *d, const struct target *t, const struct host *h, uint32_t ti,
		     unsigned k)
{
	int fd = d->sock[t->family == AF_INET ? S_TCP4 : S_TCP6].io.fd;
	uint8_t seg[24];

	if (k == 0)
		return send_echo(d, t, ti);
	if (k == 1)
		tcp_segment(seg, t, h->src, d->sport, 443, hash_mix(ti ^ d->ident), 0, TCP_SYN);
	else
		tcp_segment(seg, t, h->src, d->sport, 80, 0, hash_mix(ti ^ d->ident), TCP_ACK);
	return raw_send(fd, t, seg, sizeof(seg));
}

/* ---- receiving ---- */

/* The kernel learns what discovery's ARP found, as if its own ARP had
 * asked (core/host/neigh.h): the probes that follow go through the
 * kernel (connect, UDP, raw SYN), and without this each waits behind the
 * kernel's own resolution of the host - seconds when its requests are
 * lost, and a connect closed meanwhile is a try wasted - and what the
 * resolution held leaves in one burst, past --rate. */
static void learn(struct disc *d, int64_t ti, const uint8_t ip[4], const uint8_t mac[6],
		  int ifindex)
{
	const struct host *h;

	if (ti < 0 || (h = &d->h[ti])->up || h->how != H_ARP || h->ifindex != ifindex ||
	    d->no_neigh)
		return;
	if (d->nl.fd < 0 && neigh_open(&d->nl)) {
		d->no_neigh = true;
		return;
	}
	/* root without CAP_NET_ADMIN (a container's default) may not: the
	 * kernel resolves as before, and nobody asks again */
	if (neigh_learn(&d->nl, ifindex, AF_INET, ip, mac, 6) == -EPERM) {
		neigh_close(&d->nl);
		d->no_neigh = true;
	}
}

static void got_arp(struct disc *d, const uint8_t *b, size_t n, int ifindex)
{
	uint8_t ip[4], mac[6];
	int64_t ti;

	if (pkt_arp_reply(b, n, ip, mac)) {
		ti = tindex_find(&d->tix, AF_INET, ip);
		learn(d, ti, ip, mac, ifindex);
		found(d, ti, "arp-response");
	}
}

/* An echo reply, or any TCP answer to our pings (SYN-ACK or RST). */
static void got_ip(struct disc *d, const struct pkt *p)
{
	unsigned family = p->ipver == 4 ? AF_INET : AF_INET6;

	if ((p->proto == 1 && p->icmp_type == 0) || (p->proto == 58 && p->icmp_type == 129)) {
		if (p->l4_caplen >= 8 && (p->l4[4] << 8 | p->l4[5]) == d->ident)
			found(d, tindex_find(&d->tix, family, p->src), "echo-reply");
	} else if (p->proto == 6 && p->has_ports && p->dport == d->sport) {
		found(d, tindex_find(&d->tix, family, p->src),
		      p->tcp_flags & TCP_RST ? "reset" : "syn-ack");
	}
}

static void on_sock(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct dsock *k = container_of(io, struct dsock, io);

	(void)l;
	(void)events;
	for (int i = 0; i < 10000; i++) {
		uint8_t buf[1600], scratch[40 + 1600];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct endpoint ep;
		struct pkt p;

		if (n <= 0)
			break;
		if (k->kind == S_ARP) {
			got_arp(k->d, buf, (size_t)n, ((struct sockaddr_ll *)&from)->sll_ifindex);
		} else if (k->kind == S_ICMP4 || k->kind == S_TCP4 ||
			   !endpoint_from_sockaddr(&ep, &from)) {
			raw_decode(k->kind == S_ICMP4 || k->kind == S_TCP4 ? AF_INET : AF_INET6,
				   k->kind == S_ICMP6 ? IPPROTO_ICMPV6 : IPPROTO_TCP, buf, (size_t)n, &ep,
				   scratch, &p);
			got_ip(k->d, &p);
		}
	}
}

static int open_sock(struct disc *d, int kind)
{
	/* what each socket lets through: echo replies, TCP to our port */
	static const struct { int family, proto; uint16_t match; } spec[NSOCK] = {
		[S_ICMP4] = { AF_INET, IPPROTO_ICMP, 0 },
		[S_ICMP6] = { AF_INET6, IPPROTO_ICMPV6, ICMP6_ECHO_REPLY },
		[S_TCP4] = { AF_INET, IPPROTO_TCP, 0 },
		[S_TCP6] = { AF_INET6, IPPROTO_TCP, 0 },
	};
	struct dsock *k = &d->sock[kind];
	int fd;

	k->d = d;
	k->kind = kind;
	k->io.fd = -1;
	if (kind == S_ARP)
		fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	else
		fd = raw_open((unsigned)spec[kind].family, spec[kind].proto,
			      spec[kind].proto == IPPROTO_TCP ? d->sport : spec[kind].match);
	if (fd < 0)
		return kind == S_ARP ? -errno : fd;
	ev_io_add(d->c->loop, &k->io, fd, EPOLLIN, on_sock);
	return 0;
}

static void close_socks(struct disc *d)
{
	for (int i = 0; i < NSOCK; i++)
		if (d->sock[i].io.fd >= 0) {
			ev_io_del(d->c->loop, &d->sock[i].io);
			close(d->sock[i].io.fd);
			d->sock[i].io.fd = -1;
		}
}

/* ---- rounds ---- */

static void on_tick(struct ev_loop *l, struct ev_timer *t);

static void on_round_end(struct ev_loop *l, struct ev_timer *t)
{
	struct disc *d = container_of(t, struct disc, tick);

	if (!d->left || ++d->round >= d->rounds) {
		ev_break(l);
		return;
	}
	d->pos = 0;
	ev_timer_in(l, t, 0, on_tick);
}

static void on_tick(struct ev_loop *l, struct ev_timer *t)
{
	struct disc *d = container_of(t, struct disc, tick);
	int64_t now = ev_now_us(), wait;

	for (unsigned batch = 0; d->pos < d->c->t->n && batch < 64; ) {
		uint32_t ti = (uint32_t)d->pos;
		struct host *h = &d->h[ti];
		const struct target *tg = &d->c->t->v[ti];
		int e;

		if (h->up || h->how == H_LOCAL || h->how == H_NOROUTE) {
			d->pos++;
			d->sub = 0;
			continue;
		}
		/* one packet a token: --rate holds in every second */
		if (!rate_take(&d->rl, now, 1))
			break;
		if (!d->sub)
			h->sent_us = now;
		e = h->how == H_ARP ? send_arp(d, tg, h) : send_ping(d, tg, h, ti, d->sub);
		rate_sent(&d->rl, ev_now_us());
		if (e == -ENOBUFS || e == -EAGAIN) {
			ev_timer_in(l, t, 2000, on_tick);
			return;
		}
		if (h->how == H_ARP || ++d->sub == NPINGS) {
			d->sub = 0;
			d->pos++;
			batch++;
		}
	}
	if (d->pos < d->c->t->n) {
		ev_timer_at(l, t, rate_next(&d->rl, 1), on_tick);
		return;
	}
	wait = d->srtt * 4 > WAIT_MIN_US ? d->srtt * 4 : WAIT_MIN_US;
	ev_timer_in(l, t, wait > 2000000 ? 2000000 : wait, on_round_end);
}

/* Without raw sockets: a connect to 80 or 443 that is accepted or refused. */
struct cping {
	const struct scan_ctx *c;
	struct disc *d;
};

static void cping_endpoint(void *arg, uint64_t i, struct endpoint *ep)
{
	const struct cping *cp = arg;
	const struct target *t = &cp->c->t->v[i / 2];

	endpoint_set(ep, t->family, t->addr, i % 2 ? 443 : 80);
}

static void cping_result(void *arg, const struct probe_result *r)
{
	struct cping *cp = arg;

	if (r->state == ST_OPEN || r->state == ST_CLOSED)
		found(cp->d, (int64_t)(r->index / 2), r->state == ST_OPEN ? "syn-ack" : "conn-refused");
}

static int connect_ping(struct disc *d)
{
	struct cping cp = { d->c, d };
	struct probe_set ps = { .proto = PROTO_TCP, .count = (uint64_t)d->c->t->n * 2,
				.endpoint = cping_endpoint, .result = cping_result, .arg = &cp,
				.rate = d->c->o->rate, .timeout_ms = 2000,
				.wire_due = d->c->wire_due };

	return probe_run(d->c->loop, &ps);
}

int scan_discover(const struct scan_ctx *c, uint8_t *up)
{
	struct disc d = { .c = c, .nl = { .fd = -1 } };
	int r = 0;

	d.h = xcalloc(c->t->n ? c->t->n : 1, sizeof(*d.h));
	d.rounds = DISC_ROUNDS;
	d.ident = (uint16_t)getpid();
	d.sport = (uint16_t)(30000 + hash_mix((uint64_t)getpid() ^ 0xd15c) % 10000);
	tindex_build(&d.tix, c->t);
	classify(&d);
	for (size_t i = 0; i < c->t->n; i++) {
		d.left += d.h[i].how != H_NOROUTE;
		if (d.h[i].how == H_LOCAL)
			found(&d, (int64_t)i, "localhost-response");
	}
	for (int k = 0; k < NSOCK; k++)
		d.sock[k].io.fd = -1;
	if (d.left && geteuid() == 0) {
		for (int k = 0; k < NSOCK; k++)
			open_sock(&d, k);
		rate_resume(&d.rl, c->o->rate ? c->o->rate : DISC_RATE, ev_now_us(), c->wire_due);
		ev_timer_in(c->loop, &d.tick, 0, on_tick);
		r = ev_run(c->loop);
		/* without --rate, discovery's own pace binds nothing after it */
		if (c->o->rate)
			rate_hand_over(&d.rl, c->wire_due);
		ev_timer_stop(c->loop, &d.tick);
		close_socks(&d);
		neigh_close(&d.nl);
	} else if (d.left) {
		r = connect_ping(&d);
	}
	for (size_t i = 0; i < c->t->n; i++) {
		up[i] = d.h[i].up;
		if (!up[i] && c->host)
			c->host(c->arg, (uint32_t)i, false, d.h[i].how == H_NOROUTE ? "net-unreach"
											 : "no-response");
	}
	tindex_free(&d.tix);
	free(d.h);
	return r;
}
