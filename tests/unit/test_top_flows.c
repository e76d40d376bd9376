/*
 * test_top_flows.c - top's pure logic through its API: flows.c (per-cookie
 * flows into intervals, rows and totals since start, fed with records
 * built here, no kernel), and the two parsers of the kernel's bytes it
 * reads, sockgone_feed (sock_diag destroy messages) and ifstat_parse
 * (RTM_NEWLINK with IFLA_STATS64), on good, truncated and malformed input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unit.h"
#include "core/host/ifstat.h"
#include "core/host/sockdiag.h"
#include "core/host/sockgone.h"
#include "top/top.h"

/* ---- building records ---- */

static struct sock_rec trec(uint64_t cookie, uint8_t state, const char *la, uint16_t lp,
			    const char *ra, uint16_t rp)
{
	struct sock_rec r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.proto = IPPROTO_TCP;
	r.state = state;
	r.cookie = cookie;
	r.lport = lp;
	r.rport = rp;
	r.uid = 1000;
	r.inode = (uint32_t)cookie;
	r.v6only = -1;
	inet_pton(AF_INET, la, r.laddr);
	inet_pton(AF_INET, ra, r.raddr);
	return r;
}

static struct sock_rec urec(uint64_t cookie, const char *la, uint16_t lp, const char *ra,
			    uint16_t rp)
{
	struct sock_rec r = trec(cookie, rp ? SS_ESTABLISHED : SS_CLOSE, la, lp, ra, rp);

	r.proto = IPPROTO_UDP;
	return r;
}

/* a TCP record of a dump with its counters */
static void seen(struct top_flows *t, struct sock_rec r, uint64_t acked, uint64_t received,
		 char side)
{
	struct tcp_ext e;

	memset(&e, 0, sizeof(e));
	e.bytes_acked = acked;
	e.bytes_sent = acked;	/* TX is bytes_sent - bytes_retrans */
	e.bytes_received = received;
	e.rtt_us = 1500;
	r.ext = &e;
	flows_seen(t, &r, side);
}

/* a destroy message; side as sample.c tells it (used for a socket no
 * dump listed) */
static void gone_at(struct top_flows *t, struct sock_rec r, uint64_t acked, uint64_t received,
		    char side)
{
	struct tcp_ext e;

	memset(&e, 0, sizeof(e));
	e.bytes_acked = acked;
	e.bytes_sent = acked;	/* TX is bytes_sent - bytes_retrans */
	/* and the peer's FIN, as the kernel counts it (none without a peer) */
	e.bytes_received = r.rport ? received + 1 : received;
	r.ext = &e;
	r.state = SS_CLOSE;
	flows_gone(t, &r, side);
}

static void gone(struct top_flows *t, struct sock_rec r, uint64_t acked, uint64_t received)
{
	gone_at(t, r, acked, received, 'r');
}

struct owner {
	uint64_t cookie;
	int pid;
	uint32_t uid;
	const char *comm;
};

/* close the interval as sample.c does: end of dump, owners, account */
static void close_interval(struct top_flows *t, const struct top_opts *o,
			   const struct owner *own, size_t nown)
{
	size_t n;
	struct top_flow *v;

	flows_end_dump(t);
	v = flows_all(t, &n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].owner_tried)
			continue;
		for (size_t k = 0; k < nown; k++)
			if (own[k].cookie == v[i].cookie && !v[i].gone) {
				v[i].pid = own[k].pid;
				v[i].owner_uid = own[k].uid;
				snprintf(v[i].comm, sizeof(v[i].comm), "%s", own[k].comm);
			}
		v[i].owner_tried = !v[i].gone;
	}
	flows_account(t, o);
}

static void tick(struct top_flows *t, const struct top_opts *o)
{
	close_interval(t, o, NULL, 0);
}

static const struct top_row *session_row(struct top_flows *t, const struct top_opts *o,
					 uint64_t cookie)
{
	struct top_row *v;
	size_t n = flows_rows(t, o, G_SESSION, S_RATE, false, &v);

	for (size_t i = 0; i < n; i++)
		if (v[i].f.cookie == cookie)
			return &v[i];
	return NULL;
}

static size_t nrows(struct top_flows *t, const struct top_opts *o, enum top_group g)
{
	struct top_row *v;

	return flows_rows(t, o, g, S_RATE, false, &v);
}

static const struct top_row *label_row(struct top_flows *t, const struct top_opts *o,
				       enum top_group g, const char *label)
{
	struct top_row *v;
	size_t n = flows_rows(t, o, g, S_RATE, false, &v);
	char b[200];

	for (size_t i = 0; i < n; i++) {
		row_label(&v[i], b, sizeof(b), true);
		if (!strcmp(b, label))
			return &v[i];
	}
	return NULL;
}

static const struct top_opts defaults = { .delay_ms = 1000 };

/* ---- intervals ---- */

TEST(top_baseline_counts_nothing)
{
	struct top_flows *t = flows_new();
	const struct top_row *r;
	struct top_row sum;

	CHECK(!flows_baseline_done(t));
	seen(t, trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443), 1000, 2000, 'r');
	tick(t, &defaults);
	CHECK(flows_baseline_done(t));
	CHECK((r = session_row(t, &defaults, 1)) != NULL);
	CHECK(r && !r->tx && !r->rx && !r->tot_tx && !r->tot_rx && r->sessions == 1);
	flows_total(t, &defaults, &sum);
	CHECK(!sum.tx && !sum.rx && !sum.tot_tx && !sum.tot_rx);
	CHECK_INT(sum.sessions, 1);
	flows_free(t);
}

TEST(top_deltas_between_dumps)
{
	struct top_flows *t = flows_new();
	struct sock_rec s = trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443);
	const struct top_row *r;

	seen(t, s, 1000, 2000, 'r');
	tick(t, &defaults);
	seen(t, s, 1500, 2600, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 1)) != NULL);
	CHECK(r && r->tx == 500 && r->rx == 600 && r->tot_tx == 500 && r->tot_rx == 600);
	CHECK(r && (r->src & SRC_TCPINFO) && r->f.rtt_us == 1500);
	seen(t, s, 1500, 2600, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 1)) != NULL);
	CHECK(r && r->tx == 0 && r->rx == 0 && r->tot_tx == 500 && r->tot_rx == 600);
	/* counters never go back: one lower than the last look counts 0 */
	seen(t, s, 100, 2700, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 1)) != NULL);
	CHECK(r && r->tx == 0 && r->rx == 100);
	flows_free(t);
}

TEST(top_born_between_dumps_counts_all)
{
	struct top_flows *t = flows_new();
	const struct top_row *r;

	seen(t, trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443), 10, 10, 'r');
	tick(t, &defaults);
	seen(t, trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443), 10, 10, 'r');
	seen(t, trec(2, SS_ESTABLISHED, "10.0.0.1", 40001, "10.0.0.2", 443), 300, 400, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 2)) != NULL);
	CHECK(r && r->tx == 300 && r->rx == 400 && r->tot_tx == 300);
	flows_free(t);
}

TEST(top_born_and_died_between_dumps)
{
	struct top_flows *t = flows_new();
	const struct top_row *r;
	struct top_row sum;

	tick(t, &defaults);
	gone(t, trec(7, SS_CLOSE, "10.0.0.1", 40000, "10.0.0.2", 80), 700, 800);
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 7)) != NULL);
	CHECK(r && r->tx == 700 && r->rx == 800 && r->f.gone && r->sessions == 1);
	flows_total(t, &defaults, &sum);
	CHECK(sum.tx == 700 && sum.rx == 800 && sum.tot_tx == 700 && sum.tot_rx == 800);
	/* shown once, then dropped; a second destroy message counts nothing */
	gone(t, trec(7, SS_CLOSE, "10.0.0.1", 40000, "10.0.0.2", 80), 700, 800);
	tick(t, &defaults);
	CHECK(!session_row(t, &defaults, 7));
	CHECK(!flows_find(t, 7));
	flows_total(t, &defaults, &sum);
	CHECK(!sum.tx && !sum.rx && sum.tot_tx == 700 && sum.tot_rx == 800);
	flows_free(t);
}

/* The kernel sends a destroy message for every TCP socket freed: one
 * closed before it connected, a listener opened and closed between two
 * dumps. Neither is a session. */
TEST(top_unconnected_tcp_ends_are_no_session)
{
	struct top_flows *t = flows_new();
	struct top_row sum;

	tick(t, &defaults);
	gone(t, trec(40, SS_CLOSE, "0.0.0.0", 0, "0.0.0.0", 0), 0, 0);
	gone(t, trec(41, SS_CLOSE, "127.0.0.1", 40409, "0.0.0.0", 0), 0, 0);
	tick(t, &defaults);
	CHECK_INT(nrows(t, &defaults, G_SESSION), 0);
	flows_total(t, &defaults, &sum);
	CHECK_INT(sum.sessions, 0);
	CHECK(!flows_find(t, 40) && !flows_find(t, 41));
	flows_free(t);
}

TEST(top_died_after_seen_counts_final_minus_last)
{
	struct top_flows *t = flows_new();
	struct sock_rec s = trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443);
	const struct top_row *r;

	seen(t, s, 1000, 2000, 'r');
	tick(t, &defaults);
	seen(t, s, 1500, 2500, 'r');
	tick(t, &defaults);
	gone(t, s, 1800, 2600);
	tick(t, &defaults);	/* a dump without it */
	CHECK((r = session_row(t, &defaults, 1)) != NULL);
	CHECK(r && r->tx == 300 && r->rx == 100 && r->f.gone);
	CHECK(r && r->tot_tx == 800 && r->tot_rx == 600);
	flows_free(t);
}

TEST(top_time_wait_counts_nothing_more)
{
	struct top_flows *t = flows_new();
	struct sock_rec s = trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443);
	struct sock_rec tw = s;
	const struct top_row *r;
	struct top_row sum;

	tw.state = SS_TIME_WAIT;	/* no tcp_info */
	seen(t, s, 100, 100, 'r');
	tick(t, &defaults);
	gone(t, s, 150, 160);
	flows_seen(t, &tw, 'r');	/* the same cookie, in TIME-WAIT */
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 1)) != NULL);
	CHECK(r && r->tx == 50 && r->rx == 60);
	for (int i = 0; i < 3; i++) {
		flows_seen(t, &tw, 'r');
		tick(t, &defaults);
		CHECK(!flows_find(t, 1));
		CHECK_INT(nrows(t, &defaults, G_SESSION), 0);
	}
	flows_total(t, &defaults, &sum);
	CHECK(sum.tot_tx == 50 && sum.tot_rx == 60);

	/* TIME-WAIT seen before the destroy message came: final - last */
	s.cookie = tw.cookie = 2;
	seen(t, s, 1000, 1000, 'r');
	tick(t, &defaults);
	flows_seen(t, &tw, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 2)) != NULL);
	CHECK(r && r->tx == 0 && r->rx == 0 && r->f.state == SS_TIME_WAIT);
	gone(t, s, 1010, 1020);
	flows_seen(t, &tw, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 2)) != NULL);
	CHECK(r && r->tx == 10 && r->rx == 20);
	/* and a TIME-WAIT record never seen before starts nothing */
	tw.cookie = 3;
	flows_seen(t, &tw, 'r');
	tick(t, &defaults);
	CHECK(!flows_find(t, 3));
	flows_free(t);
}

TEST(top_missing_flow_dropped)
{
	struct top_flows *t = flows_new();
	struct sock_rec s = trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443);
	struct top_row sum;

	seen(t, s, 100, 100, 'r');
	tick(t, &defaults);
	seen(t, s, 200, 300, 'r');
	tick(t, &defaults);
	/* absent from three dumps: still there */
	for (int i = 0; i < 3; i++) {
		tick(t, &defaults);
		CHECK(flows_find(t, 1) != NULL);
	}
	/* the fourth: dropped */
	tick(t, &defaults);
	CHECK(!flows_find(t, 1));
	CHECK_INT(nrows(t, &defaults, G_SESSION), 0);
	flows_total(t, &defaults, &sum);
	CHECK(sum.tot_tx == 100 && sum.tot_rx == 200);
	/* a flow absent once and back counts from its last look */
	s.cookie = 2;
	seen(t, s, 100, 100, 'r');
	tick(t, &defaults);
	tick(t, &defaults);
	seen(t, s, 150, 100, 'r');
	tick(t, &defaults);
	CHECK(session_row(t, &defaults, 2) && session_row(t, &defaults, 2)->tx == 50);
	flows_free(t);
}

/* ---- UDP ---- */

TEST(top_udp_known_cookie)
{
	struct top_flows *t = flows_new();
	struct sock_rec u = urec(5, "0.0.0.0", 5353, "0.0.0.0", 0);
	const struct top_row *r;

	flows_seen(t, &u, 'l');
	tick(t, &defaults);
	/* unconnected and idle: no session, no row */
	CHECK_INT(nrows(t, &defaults, G_SESSION), 0);
	flows_seen(t, &u, 'l');
	flows_udp(t, 5, 100, 200, SRC_BPF);
	flows_udp(t, 5, 1, 2, SRC_BPF);
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 5)) != NULL);
	CHECK(r && r->tx == 101 && r->rx == 202 && r->src == SRC_BPF && r->sessions == 1);
	CHECK(r && r->f.proto == IPPROTO_UDP);
	CHECK_INT(flows_foreign_udp(t), 0);
	flows_free(t);
}

TEST(top_udp_held_then_claimed_by_destroy)
{
	struct top_flows *t = flows_new();
	struct sock_rec u = urec(9, "10.0.0.1", 53000, "10.0.0.53", 53);
	const struct top_row *r;

	tick(t, &defaults);
	/* count first, destroy in the same interval */
	flows_udp(t, 9, 40, 120, SRC_BPF);
	flows_gone(t, &u, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 9)) != NULL);
	CHECK(r && r->tx == 40 && r->rx == 120 && r->f.gone && (r->src & SRC_BPF));
	/* destroy first, then the count */
	u.cookie = 10;
	flows_gone(t, &u, 'r');
	flows_udp(t, 10, 41, 121, SRC_PCAP);
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 10)) != NULL);
	CHECK(r && r->tx == 41 && r->rx == 121 && (r->src & SRC_PCAP));
	/* count in one interval, destroy in the next: held, then claimed */
	u.cookie = 11;
	flows_udp(t, 11, 7, 8, SRC_BPF);
	tick(t, &defaults);
	CHECK(!session_row(t, &defaults, 11));
	flows_gone(t, &u, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 11)) != NULL);
	CHECK(r && r->tx == 7 && r->rx == 8);
	CHECK_INT(flows_foreign_udp(t), 0);
	flows_free(t);
}

TEST(top_udp_unclaimed_is_foreign)
{
	struct top_flows *t = flows_new();
	struct sock_rec u = urec(12, "10.0.0.1", 53000, "10.0.0.53", 53);

	/* before the baseline: dropped, not foreign */
	flows_udp(t, 99, 1, 1, SRC_BPF);
	tick(t, &defaults);
	CHECK_INT(flows_foreign_udp(t), 0);
	flows_udp(t, 12, 30, 70, SRC_BPF);
	flows_udp(t, 12, 0, 0, SRC_BPF);
	tick(t, &defaults);
	tick(t, &defaults);
	CHECK_INT(flows_foreign_udp(t), 0);	/* held two intervals */
	CHECK_INT(nrows(t, &defaults, G_SESSION), 0);
	tick(t, &defaults);
	CHECK_INT(flows_foreign_udp(t), 100);
	/* a destroy message after that finds nothing held */
	flows_gone(t, &u, 'r');
	tick(t, &defaults);
	CHECK(session_row(t, &defaults, 12) && session_row(t, &defaults, 12)->tx == 0);
	CHECK_INT(flows_foreign_udp(t), 100);
	flows_free(t);
}

/* A socket born after a dump whose datagrams are read before the next
 * one (sample.c reads the UDP counts after the dump): the next dump lists
 * it, so it lived here; its first bytes are its own, not another
 * namespace's. */
TEST(top_udp_held_then_listed_by_a_dump)
{
	struct top_flows *t = flows_new();
	struct sock_rec u = urec(13, "10.0.0.1", 5000, "0.0.0.0", 0);
	const struct top_row *r;
	uint64_t tx = 0;

	tick(t, &defaults);
	flows_udp(t, 13, 500, 0, SRC_BPF);
	tick(t, &defaults);
	for (int i = 0; i < 4; i++) {
		flows_seen(t, &u, 'l');
		flows_udp(t, 13, 1, 0, SRC_BPF);
		tick(t, &defaults);
		if ((r = session_row(t, &defaults, 13)))
			tx = r->tot_tx;
	}
	CHECK_INT(tx, 504);
	CHECK_INT(flows_foreign_udp(t), 0);
	flows_free(t);
}

/* sample.c's start: a first look (every owner), a second (the baseline),
 * then flows_rebase(): nothing from before the second look counts */
TEST(top_rebase_forgets_what_came_before)
{
	struct top_flows *t = flows_new();
	struct sock_rec u = urec(50, "10.0.0.1", 53000, "10.0.0.53", 53);
	const struct top_row *r;

	tick(t, &defaults);
	flows_udp(t, 50, 1000, 1000, SRC_BPF);	/* before the baseline */
	seen(t, trec(51, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443), 500, 500, 'r');
	tick(t, &defaults);
	flows_rebase(t);
	/* the socket of the held count ends in the first interval */
	flows_gone(t, &u, 'r');
	flows_udp(t, 50, 7, 8, SRC_BPF);
	seen(t, trec(51, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2", 443), 510, 500, 'r');
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 50)) != NULL);
	CHECK(r && r->tx == 7 && r->rx == 8 && r->tot_tx == 7);
	CHECK((r = session_row(t, &defaults, 51)) != NULL);
	CHECK(r && r->tx == 10 && r->tot_tx == 10);
	CHECK_INT(flows_foreign_udp(t), 0);
	flows_free(t);
}

/* ---- groups ---- */

/* a server (pid 100) on 8080 with two clients, a client (pid 200) of
 * 10.0.0.2:443, a listener on 8080 */
static void scene(struct top_flows *t, uint64_t tx)
{
	struct sock_rec l = trec(1, SS_LISTEN, "0.0.0.0", 8080, "0.0.0.0", 0);

	flows_seen(t, &l, 'l');
	seen(t, trec(2, SS_ESTABLISHED, "10.0.0.9", 8080, "10.0.0.1", 50001), tx, 2 * tx, 'l');
	seen(t, trec(3, SS_ESTABLISHED, "10.0.0.9", 8080, "10.0.0.2", 50002), tx, 2 * tx, 'l');
	seen(t, trec(4, SS_ESTABLISHED, "10.0.0.9", 41000, "10.0.0.2", 443), 3 * tx, tx, 'r');
}

static const struct owner scene_owners[] = {
	{ 1, 100, 33, "srv" }, { 2, 100, 33, "srv" }, { 3, 100, 33, "srv" },
	{ 4, 200, 1000, "cli" },
};

TEST(top_groups_and_sessions)
{
	struct top_flows *t = flows_new();
	struct top_opts lis = defaults;
	const struct top_row *r;
	struct top_row sum;

	scene(t, 0);
	close_interval(t, &defaults, scene_owners, 4);
	scene(t, 1000);
	close_interval(t, &defaults, scene_owners, 4);

	CHECK_INT(nrows(t, &defaults, G_PROC), 2);
	CHECK((r = label_row(t, &defaults, G_PROC, "srv")) != NULL);
	CHECK(r && r->pid == 100 && r->uid == 33 && r->sessions == 2 && r->tx == 2000 &&
	      r->rx == 4000 && r->tot_tx == 2000);
	CHECK((r = label_row(t, &defaults, G_PROC, "cli")) != NULL);
	CHECK(r && r->sessions == 1 && r->tx == 3000 && r->rx == 1000);

	CHECK_INT(nrows(t, &defaults, G_PORT), 2);
	CHECK((r = label_row(t, &defaults, G_PORT, "8080/tcp")) != NULL);
	CHECK(r && r->side == 'l' && r->sessions == 2 && r->tx == 2000);
	CHECK((r = label_row(t, &defaults, G_PORT, "->443/tcp")) != NULL);
	CHECK(r && r->side == 'r' && r->sessions == 1 && r->tx == 3000);

	CHECK_INT(nrows(t, &defaults, G_REMOTE), 2);
	CHECK((r = label_row(t, &defaults, G_REMOTE, "10.0.0.2")) != NULL);
	CHECK(r && r->sessions == 2 && r->tx == 4000 && r->rx == 3000);
	CHECK((r = label_row(t, &defaults, G_REMOTE, "10.0.0.1")) != NULL);
	CHECK(r && r->sessions == 1 && r->tx == 1000);

	CHECK_INT(nrows(t, &defaults, G_SESSION), 3);
	flows_total(t, &defaults, &sum);
	CHECK(sum.tx == 5000 && sum.rx == 5000 && sum.sessions == 3);

	/* listeners shown when asked for: a row, never a session */
	lis.states = 1u << SS_LISTEN | 1u << SS_ESTABLISHED;
	CHECK_INT(nrows(t, &lis, G_SESSION), 4);
	CHECK((r = label_row(t, &lis, G_PROC, "srv")) != NULL);
	CHECK(r && r->sessions == 2);
	flows_total(t, &lis, &sum);
	CHECK_INT(sum.sessions, 3);
	/* only listeners */
	lis.states = 1u << SS_LISTEN;
	CHECK_INT(nrows(t, &lis, G_SESSION), 1);
	CHECK((r = label_row(t, &lis, G_PORT, "8080/tcp")) != NULL);
	CHECK(r && r->sessions == 0);
	flows_free(t);
}

TEST(top_totals_outlive_the_flows)
{
	struct top_flows *t = flows_new();
	const struct top_row *r;

	scene(t, 0);
	close_interval(t, &defaults, scene_owners, 4);
	scene(t, 1000);
	close_interval(t, &defaults, scene_owners, 4);
	/* the server's sessions end */
	gone(t, trec(2, SS_ESTABLISHED, "10.0.0.9", 8080, "10.0.0.1", 50001), 1500, 2000);
	gone(t, trec(3, SS_ESTABLISHED, "10.0.0.9", 8080, "10.0.0.2", 50002), 1000, 2000);
	close_interval(t, &defaults, scene_owners, 4);
	CHECK((r = label_row(t, &defaults, G_PROC, "srv")) != NULL);
	CHECK(r && r->tx == 500 && r->tot_tx == 2500 && r->sessions == 2);
	close_interval(t, &defaults, scene_owners, 4);
	CHECK(!label_row(t, &defaults, G_PROC, "srv"));
	/* a new session of the same process: its row has the old totals */
	seen(t, trec(20, SS_ESTABLISHED, "10.0.0.9", 8080, "10.0.0.3", 50003), 10, 0, 'l');
	close_interval(t, &defaults, (const struct owner[]){ { 20, 100, 33, "srv" } }, 1);
	CHECK((r = label_row(t, &defaults, G_PROC, "srv")) != NULL);
	CHECK(r && r->tx == 10 && r->tot_tx == 2510 && r->tot_rx == 4000 && r->sessions == 1);
	CHECK((r = label_row(t, &defaults, G_PORT, "8080/tcp")) != NULL);
	CHECK(r && r->tot_tx == 2510);
	CHECK((r = label_row(t, &defaults, G_REMOTE, "10.0.0.3")) != NULL);
	CHECK(r && r->tot_tx == 10);
	flows_free(t);
}

TEST(top_server_side_takes_the_listeners_owner)
{
	struct top_flows *t = flows_new();
	struct sock_rec l = trec(1, SS_LISTEN, "0.0.0.0", 8080, "0.0.0.0", 0);
	const struct top_row *r;

	flows_seen(t, &l, 'l');
	close_interval(t, &defaults, scene_owners, 1);
	/* seen in a dump, its owner not found (it ended before the look) */
	flows_seen(t, &l, 'l');
	seen(t, trec(2, SS_ESTABLISHED, "10.0.0.9", 8080, "10.0.0.1", 50001), 10, 20, 'l');
	/* a client session with no owner keeps none */
	seen(t, trec(3, SS_ESTABLISHED, "10.0.0.9", 41000, "10.0.0.2", 8080), 5, 5, 'r');
	close_interval(t, &defaults, NULL, 0);
	CHECK((r = session_row(t, &defaults, 2)) != NULL);
	CHECK(r && r->pid == 100 && !strcmp(r->comm, "srv"));
	CHECK((r = session_row(t, &defaults, 3)) != NULL);
	CHECK(r && r->pid == 0);
	CHECK((r = label_row(t, &defaults, G_PROC, "srv")) != NULL);
	CHECK(r && r->tx == 10 && r->sessions == 1);
	flows_free(t);
}

/* A session to this host's server that began and ended between two
 * dumps (a short request): known from its destroy message alone (its
 * side from sample.c), it is still the server's: its port row is the
 * server port, its owner the listener's. */
TEST(top_short_session_to_a_listener)
{
	struct top_flows *t = flows_new();
	struct sock_rec l = trec(1, SS_LISTEN, "0.0.0.0", 8080, "0.0.0.0", 0);
	const struct top_row *r;

	flows_seen(t, &l, 'l');
	close_interval(t, &defaults, scene_owners, 1);
	flows_seen(t, &l, 'l');
	gone_at(t, trec(30, SS_CLOSE, "10.0.0.9", 8080, "10.0.0.1", 50123), 4000, 300, 'l');
	close_interval(t, &defaults, NULL, 0);
	CHECK((r = session_row(t, &defaults, 30)) != NULL);
	CHECK(r && r->f.side == 'l');
	CHECK((r = label_row(t, &defaults, G_PORT, "8080/tcp")) != NULL);
	CHECK(r && r->tx == 4000 && r->sessions == 1);
	CHECK(!label_row(t, &defaults, G_PORT, "->50123/tcp"));
	CHECK((r = label_row(t, &defaults, G_PROC, "srv")) != NULL);
	CHECK(r && r->tx == 4000);
	flows_free(t);
}

struct offered {
	uint64_t cookies[8];
	size_t n;
};

/* as sample.c's connect-time owners: cookie 31 was connected by "cli" */
static void connect_owner(struct top_flow *f, void *arg)
{
	struct offered *o = arg;

	if (o->n < 8)
		o->cookies[o->n++] = f->cookie;
	if (f->cookie == 31) {
		f->pid = 200;
		f->owner_uid = 1000;
		snprintf(f->comm, sizeof(f->comm), "cli");
	}
}

/* A client session that began and ended between two dumps has no owner
 * from any dump: flows_each_ownerless offers it (and every other TCP
 * session without one, never a listener nor UDP), once; the owner it is
 * given is its row's */
TEST(top_short_client_session_takes_its_connect_owner)
{
	struct top_flows *t = flows_new();
	struct sock_rec l = trec(1, SS_LISTEN, "0.0.0.0", 8080, "0.0.0.0", 0);
	struct sock_rec u = urec(40, "10.0.0.9", 5353, "10.0.0.3", 53);
	struct offered o = { .n = 0 };
	const struct top_row *r;

	flows_seen(t, &l, 'l');
	tick(t, &defaults);
	flows_seen(t, &l, 'l');
	gone_at(t, trec(31, SS_CLOSE, "10.0.0.9", 41000, "10.0.0.2", 443), 700, 9000, 'r');
	gone_at(t, trec(32, SS_CLOSE, "10.0.0.9", 41001, "10.0.0.2", 443), 10, 10, 'r');
	flows_seen(t, &u, 'r');
	flows_end_dump(t);
	flows_each_ownerless(t, connect_owner, &o);
	flows_account(t, &defaults);
	CHECK_INT(o.n, 2);
	CHECK(o.n == 2 && ((o.cookies[0] == 31 && o.cookies[1] == 32) ||
			   (o.cookies[0] == 32 && o.cookies[1] == 31)));
	CHECK((r = label_row(t, &defaults, G_PROC, "cli")) != NULL);
	CHECK(r && r->pid == 200 && r->tx == 700 && r->rx == 9000 && r->sessions == 1);
	CHECK((r = session_row(t, &defaults, 32)) != NULL);
	CHECK(r && r->pid == 0);	/* not known: still nobody's */
	o.n = 0;
	flows_each_ownerless(t, connect_owner, &o);	/* asked once: 32 not again */
	CHECK_INT(o.n, 0);
	flows_free(t);
}

TEST(top_port_group_side)
{
	struct top_flows *t = flows_new();
	struct sock_rec u = urec(3, "10.0.0.1", 53001, "10.0.0.53", 53);
	const struct top_row *r;

	tick(t, &defaults);
	seen(t, trec(1, SS_ESTABLISHED, "10.0.0.1", 22, "10.0.0.7", 60000), 1, 1, 'l');
	seen(t, trec(2, SS_ESTABLISHED, "10.0.0.1", 60001, "10.0.0.7", 22), 1, 1, 'r');
	flows_seen(t, &u, 'r');
	flows_udp(t, 3, 1, 1, SRC_BPF);
	tick(t, &defaults);
	CHECK_INT(nrows(t, &defaults, G_PORT), 3);
	CHECK((r = label_row(t, &defaults, G_PORT, "22/tcp")) != NULL);
	CHECK(r && r->side == 'l' && r->port == 22 && r->sessions == 1);
	CHECK((r = label_row(t, &defaults, G_PORT, "->22/tcp")) != NULL);
	CHECK(r && r->side == 'r' && r->sessions == 1);
	CHECK((r = label_row(t, &defaults, G_PORT, "->53/udp")) != NULL);
	CHECK(r && r->proto == IPPROTO_UDP);
	flows_free(t);
}

/* ---- filters ---- */

TEST(top_filters)
{
	struct top_flows *t = flows_new();
	struct top_opts o = defaults;
	struct sock_rec tw = trec(5, SS_ESTABLISHED, "10.0.0.9", 41001, "10.0.0.3", 80);

	scene(t, 0);
	seen(t, tw, 0, 0, 'r');
	close_interval(t, &defaults, scene_owners, 4);
	scene(t, 10);
	tw.state = SS_TIME_WAIT;
	flows_seen(t, &tw, 'r');
	close_interval(t, &defaults, scene_owners, 4);
	/* default: every state but LISTEN */
	CHECK_INT(nrows(t, &o, G_SESSION), 4);
	o.states = 1u << SS_ESTABLISHED;
	CHECK_INT(nrows(t, &o, G_SESSION), 3);
	o.states = 1u << SS_TIME_WAIT;
	CHECK_INT(nrows(t, &o, G_SESSION), 1);
	o.states = 0;
	o.pid = 100;
	CHECK_INT(nrows(t, &o, G_SESSION), 2);
	CHECK_INT(nrows(t, &o, G_PROC), 1);
	o.pid = 4242;
	CHECK_INT(nrows(t, &o, G_SESSION), 0);
	o.pid = 0;
	/* --user: the owner's uid, or the socket's */
	o.has_uid = true;
	o.uid = 33;
	CHECK_INT(nrows(t, &o, G_SESSION), 2);
	o.uid = 1000;
	CHECK_INT(nrows(t, &o, G_SESSION), 4);
	o.uid = 5;
	CHECK_INT(nrows(t, &o, G_SESSION), 0);
	flows_free(t);
}

/* ---- sorting ---- */

static void labels(struct top_flows *t, enum top_group g, enum top_sort s, bool rev, char *out,
		   size_t n)
{
	struct top_row *v;
	size_t k = flows_rows(t, &defaults, g, s, rev, &v), w = 0;

	out[0] = '\0';
	for (size_t i = 0; i < k && w < n; i++) {
		char b[200];

		row_label(&v[i], b, sizeof(b), true);
		w += (size_t)snprintf(out + w, n - w, "%s%s", i ? "," : "", b);
	}
}

TEST(top_sorting)
{
	struct top_flows *t = flows_new();
	static const struct owner own[] = {
		{ 1, 11, 0, "alpha" }, { 2, 12, 0, "bravo" }, { 3, 13, 0, "charlie" },
		{ 4, 13, 0, "charlie" },
	};
	char s[400];

	/* alpha: tx 100 rx 900 (total since start 2000), bravo: tx 600 rx 100,
	 * charlie: 2 sessions, tx 300 rx 300 */
	seen(t, trec(1, SS_ESTABLISHED, "10.0.0.1", 40001, "10.0.1.1", 443), 0, 0, 'r');
	seen(t, trec(2, SS_ESTABLISHED, "10.0.0.1", 40002, "10.0.1.2", 443), 0, 0, 'r');
	seen(t, trec(3, SS_ESTABLISHED, "10.0.0.1", 40003, "10.0.1.3", 443), 0, 0, 'r');
	seen(t, trec(4, SS_ESTABLISHED, "10.0.0.1", 40004, "10.0.1.3", 443), 0, 0, 'r');
	close_interval(t, &defaults, own, 4);
	seen(t, trec(1, SS_ESTABLISHED, "10.0.0.1", 40001, "10.0.1.1", 443), 1000, 0, 'r');
	seen(t, trec(2, SS_ESTABLISHED, "10.0.0.1", 40002, "10.0.1.2", 443), 0, 0, 'r');
	seen(t, trec(3, SS_ESTABLISHED, "10.0.0.1", 40003, "10.0.1.3", 443), 0, 0, 'r');
	seen(t, trec(4, SS_ESTABLISHED, "10.0.0.1", 40004, "10.0.1.3", 443), 0, 0, 'r');
	close_interval(t, &defaults, own, 4);
	seen(t, trec(1, SS_ESTABLISHED, "10.0.0.1", 40001, "10.0.1.1", 443), 1100, 900, 'r');
	seen(t, trec(2, SS_ESTABLISHED, "10.0.0.1", 40002, "10.0.1.2", 443), 600, 100, 'r');
	seen(t, trec(3, SS_ESTABLISHED, "10.0.0.1", 40003, "10.0.1.3", 443), 150, 150, 'r');
	seen(t, trec(4, SS_ESTABLISHED, "10.0.0.1", 40004, "10.0.1.3", 443), 150, 150, 'r');
	close_interval(t, &defaults, own, 4);

	labels(t, G_PROC, S_RATE, false, s, sizeof(s));
	CHECK_STR(s, "alpha,bravo,charlie");
	labels(t, G_PROC, S_TX, false, s, sizeof(s));
	CHECK_STR(s, "bravo,charlie,alpha");
	labels(t, G_PROC, S_RX, false, s, sizeof(s));
	CHECK_STR(s, "alpha,charlie,bravo");
	labels(t, G_PROC, S_TOTAL, false, s, sizeof(s));
	CHECK_STR(s, "alpha,bravo,charlie");
	labels(t, G_PROC, S_SESSIONS, false, s, sizeof(s));
	CHECK_STR(s, "charlie,alpha,bravo");	/* ties: the larger total first */
	labels(t, G_PROC, S_NAME, false, s, sizeof(s));
	CHECK_STR(s, "alpha,bravo,charlie");
	labels(t, G_PROC, S_NAME, true, s, sizeof(s));
	CHECK_STR(s, "charlie,bravo,alpha");
	labels(t, G_PROC, S_TX, true, s, sizeof(s));
	CHECK_STR(s, "alpha,charlie,bravo");
	labels(t, G_REMOTE, S_RATE, false, s, sizeof(s));
	CHECK_STR(s, "10.0.1.1,10.0.1.2,10.0.1.3");
	flows_free(t);
}

/* Rows equal in every count come in one order whatever the order the
 * flows were met in (a full-screen view must not shuffle them) */
TEST(top_sorting_ties_are_ordered)
{
	char a[400], b[400];

	for (int pass = 0; pass < 2; pass++) {
		struct top_flows *t = flows_new();
		struct sock_rec v[4] = {
			trec(1, SS_ESTABLISHED, "10.0.0.1", 40001, "10.0.1.1", 443),
			urec(2, "10.0.0.1", 40002, "10.0.1.1", 443),
			trec(3, SS_ESTABLISHED, "10.0.0.1", 443, "10.0.1.1", 40003),
			urec(4, "10.0.0.1", 53, "10.0.1.1", 40004),
		};

		tick(t, &defaults);
		for (int i = 0; i < 4; i++) {
			struct sock_rec r = v[pass ? 3 - i : i];

			if (r.proto == IPPROTO_TCP)
				seen(t, r, 0, 0, r.lport < 1024 ? 'l' : 'r');
			else
				flows_seen(t, &r, r.lport < 1024 ? 'l' : 'r');
		}
		tick(t, &defaults);
		labels(t, G_PORT, S_RATE, false, pass ? b : a, sizeof(a));
		flows_free(t);
	}
	CHECK_STR(a, b);
}

/* ---- the totals map ---- */

/* Many remote hosts and ports, each moving a little, past what the
 * totals map keeps: no crash, and what moved now keeps its totals */
TEST(top_totals_map_eviction)
{
	struct top_flows *t = flows_new();
	enum { N = 40000 };
	struct sock_rec a = trec(1, SS_ESTABLISHED, "10.0.0.1", 40000, "192.0.2.1", 443);
	const struct top_row *r;
	size_t n;

	seen(t, a, 0, 0, 'r');
	tick(t, &defaults);
	seen(t, a, 1000, 0, 'r');
	tick(t, &defaults);
	for (int round = 0; round < 3; round++) {
		seen(t, a, 1000 + 10 * (round + 1), 0, 'r');
		for (uint32_t i = 0; i < N; i++) {
			struct sock_rec s = a;
			uint32_t ip = htonl(0x0a000000u + (uint32_t)round * N + i + 2);

			s.cookie = 1000 + (uint64_t)round * N + i;
			memset(s.raddr, 0, 16);
			memcpy(s.raddr, &ip, 4);
			s.rport = (uint16_t)(1 + (round * N + i) % 65535);
			seen(t, s, 1, 1, 'r');
		}
		tick(t, &defaults);
		n = nrows(t, &defaults, G_REMOTE);
		CHECK_INT(n, (round + 1) * N + 1);	/* the ended ones shown once more */
		/* the host that moved in every interval keeps its total */
		CHECK((r = label_row(t, &defaults, G_REMOTE, "192.0.2.1")) != NULL);
		CHECK(r && r->tx == 10 && r->tot_tx == 1010 + 10 * (uint64_t)round);
		/* every row's total covers at least this interval */
		{
			struct top_row *v;
			size_t bad = 0;

			n = flows_rows(t, &defaults, G_REMOTE, S_RATE, false, &v);
			for (size_t i = 0; i < n; i++)
				bad += v[i].tot_tx < v[i].tx;
			CHECK_INT(bad, 0);
		}
		/* the old sessions end */
		for (uint32_t i = 0; round && i < N; i++) {
			struct sock_rec s = a;

			s.cookie = 1000 + (uint64_t)(round - 1) * N + i;
			gone(t, s, 1, 1);
		}
	}
	flows_free(t);
}

/* Rows of one group after rows of another with more of them: the row
 * keys grow with the rows (the full-screen view switches groups) */
TEST(top_rows_group_after_group)
{
	struct top_flows *t = flows_new();
	struct top_row *v;
	size_t n;

	tick(t, &defaults);
	for (uint32_t i = 0; i < 100; i++) {
		struct sock_rec s = trec(100 + i, SS_ESTABLISHED, "10.0.0.1", 40000, "10.0.0.2",
					 443);
		uint32_t ip = htonl(0x0a010000u + i);

		memcpy(s.raddr, &ip, 4);
		seen(t, s, i + 1, 0, 'r');
	}
	tick(t, &defaults);
	n = flows_rows(t, &defaults, G_PORT, S_RATE, false, &v);
	CHECK_INT(n, 1);
	n = flows_rows(t, &defaults, G_SESSION, S_RATE, false, &v);
	CHECK_INT(n, 100);
	n = flows_rows(t, &defaults, G_REMOTE, S_RATE, false, &v);
	CHECK_INT(n, 100);
	CHECK(n && v[0].tx == 100 && v[99].tx == 1);
	n = flows_rows(t, &defaults, G_PROC, S_RATE, false, &v);
	CHECK_INT(n, 1);
	flows_free(t);
}

/* ---- sockgone_feed: destroy messages ---- */

struct nlb {
	uint8_t b[4096];
	size_t len;
};

static void *nl_put(struct nlb *m, const void *p, size_t n)
{
	void *at = m->b + m->len;

	if (p)
		memcpy(at, p, n);
	else
		memset(at, 0, n);
	m->len += NLMSG_ALIGN(n);
	return at;
}

static void nl_attr(struct nlb *m, uint16_t type, const void *p, size_t n)
{
	struct rtattr a = { .rta_len = (unsigned short)RTA_LENGTH(n), .rta_type = type };

	nl_put(m, &a, sizeof(a));
	m->len -= NLMSG_ALIGN(sizeof(a));
	m->len += sizeof(a);
	nl_put(m, p, n);
}

/* one destroy message as the kernel sends it */
static size_t destroy_msg(struct nlb *m, uint8_t family, uint8_t proto, uint64_t cookie,
			  uint64_t acked, uint64_t received, bool with_info)
{
	size_t start = m->len;
	struct nlmsghdr *h = nl_put(m, NULL, sizeof(*h));
	struct inet_diag_msg d;
	struct tcp_info ti;

	memset(&d, 0, sizeof(d));
	d.idiag_family = family;
	d.idiag_state = SS_CLOSE;
	d.id.idiag_sport = htons(8080);
	d.id.idiag_dport = htons(50000);
	d.id.idiag_src[0] = htonl(0x7f000001);
	d.id.idiag_dst[0] = htonl(0x7f000002);
	d.id.idiag_cookie[0] = (uint32_t)cookie;
	d.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	d.idiag_uid = 1000;
	d.idiag_inode = 77;
	nl_put(m, &d, sizeof(d));
	nl_attr(m, INET_DIAG_PROTOCOL, &proto, 1);
	if (with_info) {
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_bytes_acked = acked;
		ti.tcpi_bytes_sent = acked;
		ti.tcpi_bytes_received = received + 1;	/* the peer's FIN */
		ti.tcpi_rtt = 250;
		nl_attr(m, INET_DIAG_INFO, &ti, sizeof(ti));
	}
	h = (struct nlmsghdr *)(m->b + start);
	h->nlmsg_len = (uint32_t)(m->len - start);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	return m->len - start;
}

struct got {
	struct sock_rec r[8];
	struct tcp_ext e[8];
	bool has_ext[8];
	size_t n;
};

static void on_rec(const struct sock_rec *r, void *arg)
{
	struct got *g = arg;

	if (g->n < 8) {
		g->r[g->n] = *r;
		g->has_ext[g->n] = r->ext != NULL;
		if (r->ext)
			g->e[g->n] = *r->ext;
		g->r[g->n].ext = NULL;
	}
	g->n++;
}

TEST(top_sockgone_feed)
{
	struct nlb m = { .len = 0 };
	struct got g = { .n = 0 };
	char a[64];

	destroy_msg(&m, AF_INET, IPPROTO_TCP, 0x1122334455667788ull, 12345, 678, true);
	destroy_msg(&m, AF_INET6, IPPROTO_UDP, 42, 0, 0, false);
	sockgone_feed(m.b, m.len, 3, on_rec, &g);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.r[0].proto, IPPROTO_TCP);
	CHECK_INT(g.r[0].family, AF_INET);
	CHECK(g.r[0].cookie == 0x1122334455667788ull);
	CHECK_INT(g.r[0].ns, 3);
	CHECK_INT(g.r[0].state, SS_CLOSE);
	CHECK_INT(g.r[0].lport, 8080);
	CHECK_INT(g.r[0].rport, 50000);
	CHECK_INT(g.r[0].uid, 1000);
	CHECK_INT(g.r[0].inode, 77);
	CHECK_STR(inet_ntop(AF_INET, g.r[0].raddr, a, sizeof(a)), "127.0.0.2");
	CHECK(g.has_ext[0] && g.e[0].bytes_acked == 12345 && g.e[0].bytes_received == 679 &&
	      g.e[0].rtt_us == 250);
	CHECK_INT(g.r[1].proto, IPPROTO_UDP);
	CHECK_INT(g.r[1].family, AF_INET6);
	CHECK_INT(g.r[1].cookie, 42);
	CHECK(!g.has_ext[1]);
}

TEST(top_sockgone_feed_into_flows)
{
	struct nlb m = { .len = 0 };
	struct top_flows *t = flows_new();
	const struct top_row *r;

	tick(t, &defaults);
	destroy_msg(&m, AF_INET, IPPROTO_TCP, 500, 9000, 100, true);
	{
		struct got g = { .n = 0 };

		sockgone_feed(m.b, m.len, 0, on_rec, &g);
		CHECK_INT(g.n, 1);
		g.r[0].ext = &g.e[0];
		flows_gone(t, &g.r[0], 'r');
	}
	tick(t, &defaults);
	CHECK((r = session_row(t, &defaults, 500)) != NULL);
	CHECK(r && r->tx == 9000 && r->rx == 100 && r->f.gone);
	flows_free(t);
}

TEST(top_sockgone_feed_malformed)
{
	struct nlb m = { .len = 0 };
	struct got g = { .n = 0 };
	size_t one = destroy_msg(&m, AF_INET, IPPROTO_TCP, 1, 10, 20, true);
	uint8_t *copy;

	destroy_msg(&m, AF_INET, IPPROTO_TCP, 2, 10, 20, true);
	/* every truncation, in a buffer of exactly that size */
	for (size_t len = 0; len <= m.len; len++) {
		copy = malloc(len ? len : 1);
		memcpy(copy, m.b, len);
		g.n = 0;
		sockgone_feed(copy, len, 0, on_rec, &g);
		CHECK(g.n <= 2);
		if (len < one)
			CHECK_INT(g.n, 0);
		free(copy);
	}
	/* a length past the end, a length under a header: nothing */
	{
		struct nlb b = m;
		struct nlmsghdr *h = (struct nlmsghdr *)b.b;

		h->nlmsg_len = (uint32_t)b.len + 4;
		g.n = 0;
		sockgone_feed(b.b, b.len, 0, on_rec, &g);
		CHECK_INT(g.n, 0);
		h->nlmsg_len = 4;
		sockgone_feed(b.b, b.len, 0, on_rec, &g);
		CHECK_INT(g.n, 0);
	}
	/* an attribute longer than its message: the record, no counters */
	{
		struct nlb b = { .len = 0 };
		struct rtattr *a;

		destroy_msg(&b, AF_INET, IPPROTO_TCP, 3, 10, 20, true);
		a = (struct rtattr *)(b.b + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct inet_diag_msg))));
		a = (struct rtattr *)((uint8_t *)a + RTA_ALIGN(a->rta_len));
		a->rta_len = 0xffff;
		g.n = 0;
		sockgone_feed(b.b, b.len, 0, on_rec, &g);
		CHECK_INT(g.n, 1);
		CHECK(!g.has_ext[0]);
		/* a short tcp_info: what is there, the rest zero */
		a->rta_len = RTA_LENGTH(8);
		g.n = 0;
		sockgone_feed(b.b, b.len, 0, on_rec, &g);
		CHECK_INT(g.n, 1);
		CHECK(g.has_ext[0] && g.e[0].bytes_acked == 0);
	}
	/* an error message, a done message */
	{
		struct nlb b = { .len = 0 };
		struct nlmsghdr *h = nl_put(&b, NULL, sizeof(*h));
		struct nlmsgerr e = { .error = -EPERM };

		nl_put(&b, &e, sizeof(e));
		h->nlmsg_len = (uint32_t)b.len;
		h->nlmsg_type = NLMSG_ERROR;
		g.n = 0;
		sockgone_feed(b.b, b.len, 0, on_rec, &g);
		CHECK_INT(g.n, 0);
		h->nlmsg_type = NLMSG_DONE;
		sockgone_feed(b.b, b.len, 0, on_rec, &g);
		CHECK_INT(g.n, 0);
	}
	/* a family that is not inet: skipped */
	{
		struct nlb b = { .len = 0 };

		destroy_msg(&b, AF_UNIX, IPPROTO_TCP, 4, 0, 0, true);
		g.n = 0;
		sockgone_feed(b.b, b.len, 0, on_rec, &g);
		CHECK_INT(g.n, 0);
	}
}

/* ---- ifstat_parse ---- */

static size_t link_msg(struct nlb *m, int index, const char *name, size_t stats_len,
		       uint64_t rx, uint64_t tx)
{
	size_t start = m->len;
	struct nlmsghdr *h = nl_put(m, NULL, sizeof(*h));
	struct ifinfomsg ifi;
	struct rtnl_link_stats64 st;
	uint8_t sb[sizeof(st) + 64];

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_index = index;
	ifi.ifi_flags = 1;
	nl_put(m, &ifi, sizeof(ifi));
	if (name)
		nl_attr(m, IFLA_IFNAME, name, strlen(name) + 1);
	memset(&st, 0, sizeof(st));
	st.rx_bytes = rx;
	st.tx_bytes = tx;
	st.rx_packets = 3;
	st.tx_packets = 4;
	st.rx_dropped = 5;
	st.tx_dropped = 6;
	memset(sb, 0, sizeof(sb));
	memcpy(sb, &st, sizeof(st));
	if (stats_len)
		nl_attr(m, IFLA_STATS64, sb, stats_len);
	h = (struct nlmsghdr *)(m->b + start);
	h->nlmsg_len = (uint32_t)(m->len - start);
	h->nlmsg_type = RTM_NEWLINK;
	return m->len - start;
}

static void done_msg(struct nlb *m)
{
	struct nlmsghdr *h = nl_put(m, NULL, sizeof(*h));
	int zero = 0;

	nl_put(m, &zero, sizeof(zero));
	h->nlmsg_len = NLMSG_LENGTH(sizeof(int));
	h->nlmsg_type = NLMSG_DONE;
}

TEST(top_ifstat_parse)
{
	struct nlb m = { .len = 0 };
	struct if_stat *v = NULL;
	size_t n = 0, cap = 0;

	link_msg(&m, 1, "lo", sizeof(struct rtnl_link_stats64), 1000, 2000);
	link_msg(&m, 2, "eth0-with-a-name-too-long", sizeof(struct rtnl_link_stats64), 10, 20);
	CHECK_INT(ifstat_parse(m.b, m.len, &v, &n, &cap), 1);
	done_msg(&m);
	n = 0;
	CHECK_INT(ifstat_parse(m.b, m.len, &v, &n, &cap), 0);
	CHECK_INT(n, 2);
	CHECK_STR(v[0].name, "lo");
	CHECK(v[0].ifindex == 1 && v[0].rx_bytes == 1000 && v[0].tx_bytes == 2000 &&
	      v[0].rx_packets == 3 && v[0].tx_packets == 4 && v[0].rx_dropped == 5 &&
	      v[0].tx_dropped == 6);
	CHECK_INT(strlen(v[1].name), IF_NAMESIZE - 1);
	CHECK(v[1].rx_bytes == 10 && v[1].tx_bytes == 20);
	free(v);
}

/* Kernels before 5.19 send a shorter struct rtnl_link_stats64 (no
 * rx_otherhost_dropped): its byte counters are still the interface's */
TEST(top_ifstat_parse_older_kernel_stats)
{
	struct nlb m = { .len = 0 };
	struct if_stat *v = NULL;
	size_t n = 0, cap = 0;

	link_msg(&m, 1, "eth0", 24 * sizeof(uint64_t), 1000, 2000);
	CHECK_INT(ifstat_parse(m.b, m.len, &v, &n, &cap), 1);
	CHECK_INT(n, 1);
	CHECK(n && v[0].rx_bytes == 1000 && v[0].tx_bytes == 2000);
	free(v);
}

TEST(top_ifstat_parse_malformed)
{
	struct nlb m = { .len = 0 };
	struct if_stat *v = NULL;
	size_t n = 0, cap = 0;

	link_msg(&m, 1, "lo", sizeof(struct rtnl_link_stats64), 1000, 2000);
	link_msg(&m, 2, "eth0", sizeof(struct rtnl_link_stats64), 10, 20);
	for (size_t len = 0; len <= m.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		int r;

		memcpy(copy, m.b, len);
		n = 0;
		r = ifstat_parse(copy, len, &v, &n, &cap);
		CHECK(r == 1 || r == -EBADMSG);
		CHECK(n <= 2);
		free(copy);
	}
	/* no attributes, a name with no NUL, stats too short, an error */
	{
		struct nlb b = { .len = 0 };
		struct nlmsghdr *h;
		struct nlmsgerr e = { .error = -EPERM };

		link_msg(&b, 3, NULL, 0, 0, 0);
		n = 0;
		CHECK_INT(ifstat_parse(b.b, b.len, &v, &n, &cap), 1);
		CHECK(n == 1 && v[0].ifindex == 3 && !v[0].name[0] && !v[0].rx_bytes);
		b.len = 0;
		link_msg(&b, 4, NULL, 8, 7, 7);
		nl_attr(&b, IFLA_IFNAME, "abcdefgh", 8);
		((struct nlmsghdr *)b.b)->nlmsg_len = (uint32_t)b.len;
		n = 0;
		CHECK_INT(ifstat_parse(b.b, b.len, &v, &n, &cap), 1);
		CHECK(n == 1 && !strcmp(v[0].name, "abcdefgh") && !v[0].rx_bytes);
		b.len = 0;
		h = nl_put(&b, NULL, sizeof(*h));
		nl_put(&b, &e, sizeof(e));
		h->nlmsg_len = (uint32_t)b.len;
		h->nlmsg_type = NLMSG_ERROR;
		n = 0;
		CHECK_INT(ifstat_parse(b.b, b.len, &v, &n, &cap), -EPERM);
		((struct nlmsgerr *)NLMSG_DATA(h))->error = INT32_MIN;
		CHECK_INT(ifstat_parse(b.b, b.len, &v, &n, &cap), -EIO);
		((struct nlmsgerr *)NLMSG_DATA(h))->error = 5;
		CHECK_INT(ifstat_parse(b.b, b.len, &v, &n, &cap), -EIO);
		h->nlmsg_len = NLMSG_LENGTH(2);
		CHECK_INT(ifstat_parse(b.b, b.len, &v, &n, &cap), -EBADMSG);
		h->nlmsg_len = 3;
		CHECK_INT(ifstat_parse(b.b, b.len, &v, &n, &cap), -EBADMSG);
	}
	free(v);
}
