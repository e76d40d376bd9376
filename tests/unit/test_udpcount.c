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
