/*
 * test_udpcount.c - core/host/udpcount: the deltas of the BPF map's
 * cumulative counters, the retirement of entries of sockets that are
 * gone, the attribution of captured flows to sockets (fed, no kernel),
 * then, as root, the real thing over loopback in bpf and in pcap mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/sockdiag.h"
#include "core/host/udpcount.h"
#include "core/wire/pkt.h"

static struct udp_count cum(uint64_t cookie, uint64_t txb, uint64_t txp, uint64_t rxb,
			    uint64_t rxp)
{
	struct udp_count c;

	memset(&c, 0, sizeof(c));
	c.cookie = cookie;
	c.tx_bytes = txb, c.tx_pkts = txp, c.rx_bytes = rxb, c.rx_pkts = rxp;
	c.family = AF_INET;
	c.uid = 1000;
	return c;
}

static void add_sock(struct sock_table *t, uint64_t cookie, int family, const char *la,
		     uint16_t lport, const char *ra, uint16_t rport)
{
	struct sock_rec r;

	memset(&r, 0, sizeof(r));
	r.family = (uint8_t)family;
	r.proto = IPPROTO_UDP;
	r.state = rport ? SS_ESTABLISHED : SS_CLOSE;
	r.cookie = cookie;
	r.lport = lport, r.rport = rport;
	r.uid = 7;
	inet_pton(family, la, r.laddr);
	inet_pton(family, ra, r.raddr);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n++] = r;
}

static const struct udp_count *find(const struct udp_count *v, size_t n, uint64_t cookie)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].cookie == cookie)
			return &v[i];
	return NULL;
}

TEST(udpcount_deltas_of_cumulative_counters)
{
	struct sock_table t = { 0 };
	struct udpcount *uc;
	struct udp_count m[2], *v;
	const struct udp_count *a;
	size_t n;

	CHECK_INT(udpcount_open(NULL, UDPCOUNT_FEED, &uc), 0);
	CHECK_STR(udpcount_source(uc), "feed");
	add_sock(&t, 11, AF_INET, "127.0.0.1", 5000, "0.0.0.0", 0);
	add_sock(&t, 12, AF_INET, "127.0.0.1", 5001, "0.0.0.0", 0);
	m[0] = cum(11, 100, 1, 0, 0);
	m[1] = cum(12, 0, 0, 40, 2);
	udpcount_feed_map(uc, m, 2);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(n, 2);
	CHECK((a = find(v, n, 11)) && a->tx_bytes == 100 && a->tx_pkts == 1 && !a->rx_pkts);
	CHECK((a = find(v, n, 12)) && a->rx_bytes == 40 && a->rx_pkts == 2 && a->uid == 1000);
	free(v);
	m[0] = cum(11, 250, 3, 8, 1);		/* moved; 12 did not */
	udpcount_feed_map(uc, m, 2);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(n, 1);
	CHECK((a = find(v, n, 11)) && a->tx_bytes == 150 && a->tx_pkts == 2 &&
	      a->rx_bytes == 8 && a->rx_pkts == 1);
	free(v);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);	/* nothing moved */
	CHECK_INT(n, 0);
	CHECK(v == NULL);
	CHECK_INT(udpcount_feed_map_size(uc), 2);	/* both sockets live: kept */
	udpcount_close(uc);
	sock_table_free(&t);
}

TEST(udpcount_retires_gone_sockets_after_their_last_counts)
{
	struct sock_table t = { 0 };
	struct udpcount *uc;
	struct udp_count m[2], *v;
	const struct udp_count *a;
	size_t n;

	CHECK_INT(udpcount_open(NULL, UDPCOUNT_FEED, &uc), 0);
	add_sock(&t, 21, AF_INET, "127.0.0.1", 5000, "0.0.0.0", 0);
	/* 22 sent and closed before the first read: not in t */
	m[0] = cum(21, 10, 1, 0, 0);
	m[1] = cum(22, 30, 3, 0, 0);
	udpcount_feed_map(uc, m, 2);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK((a = find(v, n, 22)) && a->tx_bytes == 30 && a->tx_pkts == 3);
	CHECK_INT(udpcount_feed_map_size(uc), 2);	/* returned, not yet retired */
	free(v);
	/* 22 moved once more after the read (a late datagram): kept again */
	m[1] = cum(22, 35, 4, 0, 0);
	udpcount_feed_map(uc, m, 2);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK((a = find(v, n, 22)) && a->tx_bytes == 5 && a->tx_pkts == 1);
	CHECK_INT(udpcount_feed_map_size(uc), 2);
	free(v);
	/* gone and still: retired, nothing returned */
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(udpcount_feed_map_size(uc), 1);
	/* an entry made again for that cookie counts from zero, whole */
	m[0] = cum(21, 10, 1, 0, 0);
	m[1] = cum(22, 7, 1, 0, 0);
	udpcount_feed_map(uc, m, 2);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(n, 1);
	CHECK((a = find(v, n, 22)) && a->tx_bytes == 7 && a->tx_pkts == 1);
	free(v);
	/* a live socket that falls silent is never retired */
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(udpcount_feed_map_size(uc), 1);
	CHECK_INT(udpcount_lost(uc), 0);
	udpcount_close(uc);
	sock_table_free(&t);
}

/* A Linux cooked (SLL) frame: IPv4 or IPv6, UDP with payload bytes
 * (len in the UDP header; the frame itself carries only headers) */
static size_t frame(uint8_t *f, bool out, int family, const char *src, uint16_t sport,
		    const char *dst, uint16_t dport, uint16_t payload, uint16_t frag)
{
	size_t ip = family == AF_INET ? 20 : 40, ulen = 8u + payload;

	memset(f, 0, 16 + ip + 8);
	f[1] = out ? 4 : 0;
	f[14] = family == AF_INET ? 0x08 : 0x86;
	f[15] = family == AF_INET ? 0x00 : 0xdd;
	if (family == AF_INET) {
		f[16] = 0x45;
		f[18] = (uint8_t)((20 + ulen) >> 8), f[19] = (uint8_t)(20 + ulen);
		f[22] = (uint8_t)(frag >> 8), f[23] = (uint8_t)frag;
		f[24] = 64, f[25] = IPPROTO_UDP;
		inet_pton(AF_INET, src, f + 28);
		inet_pton(AF_INET, dst, f + 32);
	} else {
		f[16] = 0x60;
		f[20] = (uint8_t)(ulen >> 8), f[21] = (uint8_t)ulen;
		f[22] = IPPROTO_UDP, f[23] = 64;
		inet_pton(AF_INET6, src, f + 24);
		inet_pton(AF_INET6, dst, f + 40);
	}
	f += 16 + ip;
	f[0] = (uint8_t)(sport >> 8), f[1] = (uint8_t)sport;
	f[2] = (uint8_t)(dport >> 8), f[3] = (uint8_t)dport;
	f[4] = (uint8_t)(ulen >> 8), f[5] = (uint8_t)ulen;
	return 16 + ip + 8;
}

static void feed(struct udpcount *uc, bool out, int family, const char *src, uint16_t sport,
		 const char *dst, uint16_t dport, uint16_t payload)
{
	uint8_t f[128];
	size_t n = frame(f, out, family, src, sport, dst, dport, payload, 0);

	udpcount_feed_frame(uc, LINK_SLL, f, (uint32_t)n, (uint32_t)(n + payload));
}

TEST(udpcount_attributes_flows_connected_then_bound_then_wildcard)
{
	struct sock_table t = { 0 };
	struct udpcount *uc;
	struct udp_count *v;
	const struct udp_count *a;
	uint8_t f[128];
	size_t n, k;

	CHECK_INT(udpcount_open(NULL, UDPCOUNT_FEED, &uc), 0);
	add_sock(&t, 1, AF_INET, "10.0.0.1", 5000, "10.0.0.2", 53);	/* connected */
	add_sock(&t, 2, AF_INET, "10.0.0.1", 5000, "0.0.0.0", 0);	/* bound, same port */
	add_sock(&t, 3, AF_INET, "0.0.0.0", 5000, "0.0.0.0", 0);	/* wildcard, same port */
	add_sock(&t, 4, AF_INET, "10.0.0.2", 5001, "0.0.0.0", 0);
	add_sock(&t, 5, AF_INET, "0.0.0.0", 5001, "0.0.0.0", 0);
	add_sock(&t, 6, AF_INET6, "::", 8000, "::", 0);		/* dual stack */
	add_sock(&t, 7, AF_INET6, "::ffff:10.0.0.1", 9000, "::ffff:10.0.0.2", 53);
	add_sock(&t, 8, AF_INET6, "fd00::1", 5000, "fd00::2", 53);
	feed(uc, true, AF_INET, "10.0.0.1", 5000, "10.0.0.2", 53, 100);
	feed(uc, false, AF_INET, "10.0.0.2", 53, "10.0.0.1", 5000, 300);
	feed(uc, false, AF_INET, "10.0.0.3", 53, "10.0.0.1", 5000, 20);	/* bound */
	feed(uc, false, AF_INET, "10.0.0.3", 53, "10.0.0.7", 5000, 30);	/* wildcard */
	feed(uc, false, AF_INET, "10.0.0.3", 53, "10.0.0.1", 5001, 40);	/* wildcard 5 */
	feed(uc, false, AF_INET, "10.0.0.3", 53, "10.0.0.1", 8000, 50);	/* dual stack */
	feed(uc, true, AF_INET, "10.0.0.1", 9000, "10.0.0.2", 53, 60);	/* mapped */
	feed(uc, true, AF_INET6, "fd00::1", 5000, "fd00::2", 53, 70);
	feed(uc, false, AF_INET, "10.0.0.3", 53, "10.0.0.1", 9999, 80);	/* nobody */
	feed(uc, false, AF_INET, "10.0.0.4", 53, "10.0.0.1", 9999, 90);	/* nobody */
	/* a later fragment has no UDP header: not counted (the first one's
	 * length covered the datagram); nor is TCP */
	k = frame(f, false, AF_INET, "10.0.0.2", 53, "10.0.0.1", 5000, 3000, 185);
	udpcount_feed_frame(uc, LINK_SLL, f, (uint32_t)k, 1500);
	k = frame(f, false, AF_INET, "10.0.0.2", 53, "10.0.0.1", 5000, 10, 0);
	f[16 + 9] = IPPROTO_TCP;
	udpcount_feed_frame(uc, LINK_SLL, f, (uint32_t)k, (uint32_t)k + 10);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(n, 9);
	CHECK((a = find(v, n, 1)) && a->tx_bytes == 100 && a->tx_pkts == 1 &&
	      a->rx_bytes == 300 && a->rx_pkts == 1 && a->uid == 7 && a->lport == 5000);
	CHECK((a = find(v, n, 2)) && a->rx_bytes == 20 && a->rx_pkts == 1 && !a->tx_pkts);
	CHECK((a = find(v, n, 3)) && a->rx_bytes == 30);
	CHECK((a = find(v, n, 4)) == NULL);
	CHECK((a = find(v, n, 5)) && a->rx_bytes == 40);
	CHECK((a = find(v, n, 6)) && a->rx_bytes == 50 && a->family == AF_INET);
	CHECK((a = find(v, n, 7)) && a->tx_bytes == 60);
	CHECK((a = find(v, n, 8)) && a->tx_bytes == 70 && a->family == AF_INET6);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (!v[i].cookie) {	/* one entry per unmatched flow, with its tuple */
			k++;
			CHECK(v[i].lport == 9999 && v[i].rport == 53 && v[i].uid == UINT32_MAX);
			CHECK(v[i].rx_bytes == (v[i].raddr[3] == 3 ? 80 : 90));
		}
	CHECK_INT(k, 2);
	free(v);
	/* flows are emptied by a read */
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(n, 0);
	/* socket 1 sent and closed before this dump: still its own, from the
	 * previous dump */
	t.v[0] = t.v[--t.n];
	feed(uc, true, AF_INET, "10.0.0.1", 5000, "10.0.0.2", 53, 5);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK(n == 1 && v[0].cookie == 1 && v[0].tx_bytes == 5);
	free(v);
	/* one more dump later it is forgotten: the bound socket takes nothing
	 * of the 4-tuple's, the flow falls to the next rule */
	feed(uc, true, AF_INET, "10.0.0.1", 5000, "10.0.0.2", 53, 5);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK(n == 1 && v[0].cookie == 2);
	free(v);
	udpcount_close(uc);
	sock_table_free(&t);
}

/* ---- live, as root: loopback between two sockets of this process ---- */

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

struct pair {
	int a, b;		/* a connected to b; b bound */
	uint64_t ca, cb;	/* their cookies */
};

static uint64_t cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) ? 0 : c;
}

static int pair_open(struct pair *p, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int big = 1 << 20;

	memset(p, 0, sizeof(*p));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	p->a = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	p->b = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->a < 0 || p->b < 0)
		return -1;
	setsockopt(p->b, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(p->b, (struct sockaddr *)&ss, family == AF_INET ? sizeof(struct sockaddr_in)
			: sizeof(struct sockaddr_in6)) ||
	    getsockname(p->b, (struct sockaddr *)&ss, &len) ||
	    connect(p->a, (struct sockaddr *)&ss, len))
		return -1;
	p->ca = cookie_of(p->a);
	p->cb = cookie_of(p->b);
	return p->ca && p->cb ? 0 : -1;
}

/* n datagrams of the sizes given (cycled) from a to b; b drained */
static uint64_t pair_send(struct pair *p, const size_t *sizes, size_t nsizes, size_t n)
{
	static char buf[65000], sink[65536];
	uint64_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		if (send(p->a, buf, sizes[i % nsizes], 0) != (ssize_t)sizes[i % nsizes])
			return 0;
		bytes += sizes[i % nsizes];
	}
	while (recv(p->b, sink, sizeof(sink), 0) >= 0)
		;
	return bytes;
}

static void dump(struct sock_table *t)
{
	struct diag_query q;

	memset(&q, 0, sizeof(q));
	q.udp = q.v4 = q.v6 = true;
	q.states = SS_ALL;
	sock_table_free(t);
	memset(t, 0, sizeof(*t));
	CHECK_INT(sockdiag_dump(&q, 0, t), 0);
}

struct totals {
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
};

/* read once, adding what came for cookies c[0..1] to sum[0..1] */
static void read_into(struct udpcount *uc, const uint64_t *c, struct totals *sum)
{
	struct sock_table t = { 0 };
	struct udp_count *v;
	size_t n;

	dump(&t);
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 2; j++)
			if (v[i].cookie == c[j]) {
				sum[j].tx_bytes += v[i].tx_bytes, sum[j].rx_bytes += v[i].rx_bytes;
				sum[j].tx_pkts += v[i].tx_pkts, sum[j].rx_pkts += v[i].rx_pkts;
			}
	free(v);
	sock_table_free(&t);
}

static void on_tick(struct ev_loop *l, struct ev_timer *t)
{
	(void)t;
	ev_break(l);
}

/* Read until sum reaches want or 3 s pass. bpf counts as the datagrams
 * are sent: one read. A capture's packets come through the loop: run it
 * 10 ms at a time between reads. */
static void read_until(struct udpcount *uc, struct ev_loop *loop, const uint64_t *c,
		       struct totals *sum, const struct totals *want)
{
	int64_t end = ev_now_us() + 3000000;
	struct ev_timer tick = { 0 };

	do {
		if (loop) {
			ev_timer_in(loop, &tick, 10000, on_tick);
			ev_run(loop);
		}
		read_into(uc, c, sum);
	} while (loop && ev_now_us() < end &&
		 (sum[0].tx_pkts < want[0].tx_pkts || sum[1].rx_pkts < want[1].rx_pkts));
}

/* Exact, unless the source says it lost datagrams (a capture's ring can
 * overflow while other tests flood loopback): then nothing can be asserted
 * but that no more came than were sent */
static void check_sums(struct udpcount *uc, uint64_t lost0, const struct totals *sum,
		       uint64_t bytes, uint64_t pkts)
{
	if (udpcount_lost(uc) > lost0) {
		fprintf(stderr, "udpcount: %s lost datagrams (%s): counts not checked exactly\n",
			udpcount_source(uc), udpcount_lost_why(uc));
		CHECK(sum[0].tx_pkts <= pkts && sum[1].rx_pkts <= pkts);
		return;
	}
	CHECK_INT(sum[0].tx_bytes, bytes);
	CHECK_INT(sum[0].tx_pkts, pkts);
	CHECK_INT(sum[0].rx_pkts, 0);
	CHECK_INT(sum[1].rx_bytes, bytes);
	CHECK_INT(sum[1].rx_pkts, pkts);
	CHECK_INT(sum[1].tx_pkts, 0);
}

static void live(unsigned flags, const char *source)
{
	static const size_t sizes[] = { 1, 100, 1400, 9000, 60000 };	/* 60000: over any MTU */
	struct ev_loop *loop = flags & UDPCOUNT_NO_BPF ? ev_loop_new() : NULL;
	struct udpcount *uc;
	int fam[2] = { AF_INET, AF_INET6 };
	uint64_t lost0;

	if (geteuid() != 0)
		return;
	if (udpcount_open(loop, flags | UDPCOUNT_NO_PCAP * !(flags & UDPCOUNT_NO_BPF), &uc)) {
#ifdef PORTKIT_BPF
		CHECK(!"udpcount_open failed as root");	/* built with BPF: it must load */
#endif
		fprintf(stderr, "udpcount: %s not tested: %s\n", source, error_msg());
		ev_loop_free(loop);
		return;
	}
	CHECK_STR(udpcount_source(uc), source);
	lost0 = udpcount_lost(uc);
	for (int f = 0; f < 2; f++) {
		struct totals sum[2], want[2];
		struct pair p;
		uint64_t c[2], bytes;

		memset(sum, 0, sizeof(sum));
		memset(want, 0, sizeof(want));
		CHECK_INT(pair_open(&p, fam[f]), 0);
		c[0] = p.ca, c[1] = p.cb;
		read_into(uc, c, sum);	/* the dump that knows both sockets */
		bytes = pair_send(&p, sizes, 5, 10);
		want[0].tx_pkts = want[1].rx_pkts = 10;
		read_until(uc, loop, c, sum, want);
		check_sums(uc, lost0, sum, bytes, 10);
		/* a sends and closes between two reads: its last counts still come */
		bytes += pair_send(&p, sizes, 3, 3);
		close(p.a);
		want[0].tx_pkts = want[1].rx_pkts = 13;
		read_until(uc, loop, c, sum, want);
		check_sums(uc, lost0, sum, bytes, 13);
		close(p.b);
	}
	udpcount_close(uc);
	ev_loop_free(loop);
}

TEST(udpcount_live_bpf_counts_loopback_exactly)
{
	live(0, "bpf");
}

TEST(udpcount_live_pcap_counts_loopback_exactly)
{
	live(UDPCOUNT_NO_BPF, "pcap");
}

TEST(udpcount_capture_counts_a_loopback_packet_for_both_ends)
{
	struct sock_table t = { 0 };
	struct udpcount *uc;
	struct udp_count *v;
	const struct udp_count *a;
	size_t n;

	CHECK_INT(udpcount_open(NULL, UDPCOUNT_FEED, &uc), 0);
	add_sock(&t, 1, AF_INET, "127.0.0.1", 4000, "127.0.0.1", 4001);
	add_sock(&t, 2, AF_INET, "127.0.0.1", 4001, "0.0.0.0", 0);
	add_sock(&t, 3, AF_INET6, "::1", 4000, "::", 0);
	/* libpcap shows only the incoming copy of a loopback packet */
	feed(uc, false, AF_INET, "127.0.0.1", 4000, "127.0.0.1", 4001, 11);
	feed(uc, false, AF_INET6, "::1", 4000, "::1", 4000, 13);
	feed(uc, true, AF_INET, "127.0.0.1", 4000, "127.0.0.1", 4001, 99);	/* its twin */
	CHECK_INT(udpcount_read(uc, &t, &v, &n), 0);
	CHECK_INT(n, 3);
	CHECK((a = find(v, n, 1)) && a->tx_bytes == 11 && a->tx_pkts == 1 && !a->rx_pkts);
	CHECK((a = find(v, n, 2)) && a->rx_bytes == 11 && a->rx_pkts == 1 && !a->tx_pkts);
	CHECK((a = find(v, n, 3)) && a->rx_bytes == 13 && a->tx_bytes == 13);
	free(v);
	udpcount_close(uc);
	sock_table_free(&t);
}

TEST(udpcount_capture_flow_table_is_bounded)
{
	struct udpcount *uc;
	struct udp_count *v;
	char dst[32];
	size_t n;

	CHECK_INT(udpcount_open(NULL, UDPCOUNT_FEED, &uc), 0);
	for (unsigned i = 0; i < UDPCOUNT_MAX_FLOWS + 10; i++) {
		snprintf(dst, sizeof(dst), "10.%u.%u.%u", i >> 16, i >> 8 & 255, i & 255);
		feed(uc, false, AF_INET, "10.255.0.1", 53, dst, 5000, 1);
	}
	CHECK_INT(udpcount_lost(uc), 10);
	CHECK_STR(udpcount_lost_why(uc), "flow table full (65536 flows between reads)");
	CHECK_INT(udpcount_read(uc, NULL, &v, &n), 0);
	CHECK_INT(n, UDPCOUNT_MAX_FLOWS);
	CHECK(n && !v[0].cookie && v[0].rx_bytes == 1);
	free(v);
	feed(uc, false, AF_INET, "10.255.0.1", 53, "10.0.0.1", 5000, 1);
	CHECK_INT(udpcount_read(uc, NULL, &v, &n), 0);
	CHECK_INT(n, 1);
	free(v);
	udpcount_close(uc);
}
