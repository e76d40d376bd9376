/* test_flows.c - the flow table's states, histories and lifetimes, fed
 * packets built here and decoded by core/pkt as a capture would be. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "capture/capture.h"
#include "capture/flows.h"
#include "core/wire/pkt.h"

#define MAXREC 16

struct got {
	struct flow_rec r[MAXREC];
	size_t n;
};

static void collect(struct flow_rec *f, bool interim, void *arg)
{
	struct got *g = arg;

	if (!interim && g->n < MAXREC)
		g->r[g->n++] = *f;
}

/* Each sender's next sequence number, as a TCP stack keeps it. */
static struct {
	uint8_t a;
	uint16_t port;
	uint32_t next;
} seqs[32];
static size_t nseqs;

static uint32_t *next_seq(uint8_t a, uint16_t port, bool create)
{
	for (size_t i = 0; i < nseqs; i++)
		if (seqs[i].a == a && seqs[i].port == port)
			return &seqs[i].next;
	if (!create || nseqs == sizeof(seqs) / sizeof(seqs[0]))
		return NULL;
	seqs[nseqs].a = a;
	seqs[nseqs].port = port;
	seqs[nseqs].next = 1000000u * a + port * 7u;
	return &seqs[nseqs++].next;
}

/* An IPv4 packet 198.18.0.A:sport -> 198.18.0.B:dport; TCP segments carry
 * the sender's next sequence number, the peer's as the ack and a window. */
static void feed(struct flow_table *t, int64_t ts, uint8_t proto, uint8_t a, uint16_t sport,
		 uint8_t b, uint16_t dport, uint8_t flags, size_t payload)
{
	uint8_t f[128] = { 0x45 };
	size_t hl = proto == 6 ? 20 : 8, len = 20 + hl + payload;
	struct pkt p;

	f[2] = (uint8_t)(len >> 8);
	f[3] = (uint8_t)len;
	f[8] = 64;
	f[9] = proto;
	f[12] = 198, f[13] = 18, f[15] = a;
	f[16] = 198, f[17] = 18, f[19] = b;
	f[20] = (uint8_t)(sport >> 8), f[21] = (uint8_t)sport;
	f[22] = (uint8_t)(dport >> 8), f[23] = (uint8_t)dport;
	if (proto == 6) {
		uint32_t *mine = next_seq(a, sport, true), *peer = next_seq(b, dport, false);
		uint32_t seq = *mine, ack = peer && (flags & TCP_ACK) ? *peer : 0;

		for (int i = 0; i < 4; i++) {
			f[24 + i] = (uint8_t)(seq >> (24 - 8 * i));
			f[28 + i] = (uint8_t)(ack >> (24 - 8 * i));
		}
		f[32] = 5 << 4;
		f[33] = flags;
		f[34] = 0xfa;	/* window 64240 */
		f[35] = 0xf0;
		if (!(flags & TCP_RST))
			*mine += (uint32_t)payload + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	} else {
		f[24] = (uint8_t)((8 + payload) >> 8), f[25] = (uint8_t)(8 + payload);
	}
	pkt_decode(LINK_IPV4, f, (uint32_t)len, (uint32_t)len, &p);
	flow_table_add(t, &p, ts);
}

static struct flow_table *table(struct got *g)
{
	static struct cap_opts o = { .flows = true };

	g->n = 0;
	nseqs = 0;
	return flow_table_new(&o, collect, g);
}

enum { S = TCP_SYN, A = TCP_ACK, F = TCP_FIN, R = TCP_RST, P = TCP_PSH };

TEST(flows_tcp_states)
{
	struct got g;
	struct flow_table *t = table(&g);

	/* a whole session: SF */
	feed(t, 1000, 6, 2, 40000, 1, 80, S, 0);
	feed(t, 1100, 6, 1, 80, 2, 40000, S | A, 0);
	feed(t, 1200, 6, 2, 40000, 1, 80, A, 0);
	feed(t, 1300, 6, 2, 40000, 1, 80, P | A, 20);
	feed(t, 1400, 6, 1, 80, 2, 40000, P | A, 100);
	feed(t, 1500, 6, 2, 40000, 1, 80, F | A, 0);
	feed(t, 1600, 6, 1, 80, 2, 40000, F | A, 0);
	/* refused: REJ */
	feed(t, 2000, 6, 2, 40001, 1, 3389, S, 0);
	feed(t, 2100, 6, 1, 3389, 2, 40001, R | A, 0);
	/* nobody answers: S0 */
	feed(t, 3000, 6, 2, 40002, 1, 25, S, 0);
	/* seen from the SYN-ACK on: the roles flip */
	feed(t, 4000, 6, 1, 22, 2, 40003, S | A, 0);
	feed(t, 4100, 6, 2, 40003, 1, 22, A, 0);
	flow_table_flush(t);
	CHECK_INT(g.n, 4);
	CHECK_STR(flow_conn_state(&g.r[0]), "SF");
	CHECK_STR(g.r[0].history, "ShADdFf");	/* the responder sent no pure ACK */
	CHECK_INT(g.r[0].opkts, 4);
	CHECK_INT(g.r[0].rpkts, 3);
	CHECK_INT(g.r[0].obytes, 20);
	CHECK_INT(g.r[0].rbytes, 100);
	CHECK_STR(flow_conn_state(&g.r[1]), "REJ");
	CHECK_STR(g.r[1].history, "Sr");
	CHECK_STR(flow_conn_state(&g.r[2]), "S0");
	CHECK_INT(g.r[3].oport, 40003);
	CHECK_INT(g.r[3].rport, 22);
	CHECK(g.r[3].history[0] == '^');
	flow_table_free(t);
}

TEST(flows_tcp_reuse_starts_a_new_flow)
{
	struct got g;
	struct flow_table *t = table(&g);

	feed(t, 1000, 6, 2, 40000, 1, 80, S, 0);
	feed(t, 1100, 6, 1, 80, 2, 40000, R | A, 0);
	/* the same 5-tuple again, a SYN after the close */
	feed(t, 1200, 6, 2, 40000, 1, 80, S, 0);
	feed(t, 1300, 6, 1, 80, 2, 40000, R | A, 0);
	flow_table_flush(t);
	CHECK_INT(g.n, 2);
	CHECK_STR(flow_conn_state(&g.r[0]), "REJ");
	CHECK_STR(flow_conn_state(&g.r[1]), "REJ");
	flow_table_free(t);
}

TEST(flows_udp_and_lifetimes)
{
	struct got g;
	struct flow_table *t = table(&g);

	feed(t, 1000000, 17, 2, 59210, 1, 53, 0, 30);
	feed(t, 1100000, 17, 1, 53, 2, 59210, 0, 46);
	/* the answer seen first: the low port replied, so the roles flip */
	feed(t, 2000000, 17, 1, 53, 2, 40000, 0, 46);
	/* idle past the UDP timeout (60 s): the next datagram is a new flow */
	feed(t, 3000000, 17, 2, 40010, 1, 123, 0, 48);
	feed(t, 70000000, 17, 2, 40010, 1, 123, 0, 48);
	flow_table_flush(t);
	CHECK_INT(g.n, 4);
	CHECK_STR(flow_conn_state(&g.r[0]), "SF");
	CHECK_INT(g.r[0].obytes, 30);
	CHECK_INT(g.r[0].rbytes, 46);
	CHECK_INT(g.r[1].oport, 40000);
	CHECK_INT(g.r[1].rport, 53);
	CHECK_STR(flow_conn_state(&g.r[1]), "SHR");
	CHECK_INT(g.r[2].opkts, 1);
	CHECK_INT(g.r[3].opkts, 1);
	flow_table_free(t);
}

TEST(flows_follow_zeek_timers_and_closes)
{
	struct got g;
	struct flow_table *t = table(&g);

	/* a RST after both FINs leaves the record as a normal close */
	feed(t, 1000, 6, 2, 40000, 1, 80, S, 0);
	feed(t, 1100, 6, 1, 80, 2, 40000, S | A, 0);
	feed(t, 1200, 6, 2, 40000, 1, 80, A, 0);
	feed(t, 1300, 6, 2, 40000, 1, 80, F | A, 0);
	feed(t, 1400, 6, 1, 80, 2, 40000, F | A, 0);
	feed(t, 1500, 6, 2, 40000, 1, 80, R, 0);
	/* data from a client nobody answers: 5 s after the SYN the attempt
	 * ends; what follows is a new connection without a SYN */
	feed(t, 10 * 1000000LL, 6, 2, 40001, 1, 22, S, 0);
	feed(t, 11 * 1000000LL, 6, 2, 40001, 1, 22, A, 0);
	feed(t, 12 * 1000000LL, 6, 2, 40001, 1, 22, P | A, 21);
	feed(t, 16 * 1000000LL, 6, 2, 40001, 1, 22, P | A, 21);
	feed(t, 17 * 1000000LL, 6, 2, 40001, 1, 22, F | A, 0);
	flow_table_flush(t);
	CHECK_INT(g.n, 3);
	CHECK_STR(flow_conn_state(&g.r[0]), "SF");
	CHECK_STR(g.r[0].history, "ShAFfR");
	CHECK_INT(g.r[0].last - g.r[0].start, 400);	/* up to the close, not the RST */
	CHECK_STR(flow_conn_state(&g.r[1]), "S0");
	CHECK_STR(g.r[1].history, "SAD");
	CHECK_INT(g.r[1].opkts, 3);
	CHECK_STR(flow_conn_state(&g.r[2]), "SH");
	CHECK_STR(g.r[2].history, "DF");
	flow_table_free(t);
}

TEST(flows_syn_ack_first_flips_at_the_first_ack)
{
	struct got g;
	struct flow_table *t = table(&g);

	/* port 6000-range high ports: no vocabulary help, Zeek's "H" then "^h" */
	feed(t, 1000, 6, 1, 50001, 2, 50002, S | A, 0);
	feed(t, 1100, 6, 2, 50002, 1, 50001, A, 0);
	feed(t, 1200, 6, 2, 50002, 1, 50001, P | A, 10);
	flow_table_flush(t);
	CHECK_INT(g.n, 1);
	CHECK_STR(g.r[0].history, "^hAD");
	CHECK_INT(g.r[0].oport, 50002);
	CHECK_INT(g.r[0].opkts, 2);
	CHECK_INT(g.r[0].rpkts, 1);
	CHECK_INT(g.r[0].obytes, 10);
	/* Zeek: the new originator never sent a SYN (PARTIAL), the other end
	 * only a SYN-ACK: OTH */
	CHECK_STR(flow_conn_state(&g.r[0]), "OTH");
	flow_table_free(t);
}

/* IPv4 fragments of one 3,000-byte datagram, in a shuffled order with
 * repeats and overlaps: complete exactly when the last missing byte came,
 * and the datagram put back is the one that was cut */
TEST(fragments_reassembled_in_any_order)
{
	enum { DATA = 3000, PIECES = 80 };
	static uint8_t whole[DATA], frame[20 + DATA];
	struct { size_t off, len; } piece[PIECES];
	size_t np = 0, covered_at = 0;
	uint32_t x = 7;
	static const size_t sizes[] = { 8, 64, 16, 168, 24, 1480, 40, 8, 112 };

	for (size_t i = 0; i < DATA; i++)
		whole[i] = (uint8_t)(i * 31 + 5);
	/* pieces of 8 to 1,480 bytes (multiples of 8) covering [0, DATA) */
	for (size_t off = 0; off < DATA; np++) {
		size_t len;


		/* small pieces in the last 200 bytes, where a partial bitmap byte is */
		if (off >= DATA - 200)
			len = 8 * (1 + np % 3);
		else if ((len = sizes[np % 9]) > DATA - 200 - off)
			len = DATA - 200 - off;
		if (off + len > DATA)
			len = DATA - off;
		piece[np].off = off, piece[np].len = len;
		off += len;
	}
	/* each round holds one piece back to the end, after a shuffle of the
	 * rest with repeats: every position of the last gap is tried */
	for (size_t round = 0; round < np; round++) {
		struct frag_table *t = frag_new();
		size_t order[2 * PIECES], no = 0, done = 0;
		bool seen[PIECES] = { false };
		size_t missing = np;

		for (size_t i = 0; i < np; i++)
			if (i != round)
				order[no++] = i;
		for (size_t i = 0; i < np / 3; i++) {	/* repeats */
			x = x * 1103515245u + 12345u;
			if ((x >> 8) % np != round)
				order[no++] = (x >> 8) % np;
		}
		for (size_t i = no - 1; i > 0; i--) {
			size_t j;
			size_t tmp = order[i];

			x = x * 1103515245u + 12345u;
			j = (x >> 8) % (i + 1);
			order[i] = order[j], order[j] = tmp;
		}
		order[no++] = round;
		for (size_t k = 0; k < no; k++) {
			size_t i = order[k], len = piece[i].len, off = piece[i].off;
			bool more = off + len < DATA;
			const uint8_t *out = NULL;
			size_t outlen = 0;
			struct pkt p;
			int r;

			memset(frame, 0, 20);
			frame[0] = 0x45;
			frame[2] = (uint8_t)((20 + len) >> 8), frame[3] = (uint8_t)(20 + len);
			frame[4] = 0x12, frame[5] = 0x34;
			frame[6] = (uint8_t)((more ? 0x20 : 0) | (off / 8) >> 8);
			frame[7] = (uint8_t)(off / 8);
			frame[8] = 64, frame[9] = 17;
			frame[12] = 198, frame[13] = 18, frame[15] = 1;
			frame[16] = 198, frame[17] = 18, frame[19] = 2;
			memcpy(frame + 20, whole + off, len);
			pkt_decode(LINK_IPV4, frame, (uint32_t)(20 + len), (uint32_t)(20 + len), &p);
			if (!seen[i])
				seen[i] = true, missing--;
			r = frag_add(t, &p, 1000000 + (int64_t)k, &out, &outlen);
			if (r == 1) {
				done++;
				covered_at = missing;
				CHECK_INT(outlen, 20 + DATA);
				CHECK(out && !memcmp(out + 20, whole, DATA));
				break;
			}
		}
		CHECK_INT(done, 1);
		CHECK_INT(covered_at, 0);
		frag_free(t);
	}
}

struct counted {
	int interim, final;
};

static void count(struct flow_rec *f, bool interim, void *arg)
{
	struct counted *c = arg;

	(void)f;
	if (interim)
		c->interim++;
	else
		c->final++;
}

/* The clock moves without packets: flow_table_tick ends a quiet flow at
 * its timeout; live, it also writes --interval records on a silent flow,
 * while a file's interim records come only with packets. */
TEST(flows_clock_ends_quiet_flows_and_writes_interim_records_live)
{
	const int64_t s = 1000000;
	struct cap_opts live = { .flows = true, .interval = 2, .udp_timeout = 10 };
	struct cap_opts file = live;
	struct counted cl = { 0 }, cf = { 0 };
	struct flow_table *tl, *tf;

	file.read = "trace.pcap";
	tl = flow_table_new(&live, count, &cl);
	tf = flow_table_new(&file, count, &cf);
	nseqs = 0;
	feed(tl, 100 * s, 17, 2, 40000, 1, 53, 0, 10);
	feed(tf, 100 * s, 17, 2, 40000, 1, 53, 0, 10);
	for (int64_t now = 100 * s; now <= 109 * s; now += s / 4) {
		flow_table_tick(tl, now);
		flow_table_tick(tf, now);
	}
	/* interim at 102, 104, 106, 108; no end before 110 */
	CHECK_INT(cl.interim, 4);
	CHECK_INT(cl.final, 0);
	CHECK_INT(cf.interim, 0);
	CHECK_INT(cf.final, 0);
	for (int64_t now = 109 * s + s / 4; now <= 110 * s + s / 2; now += s / 4) {
		flow_table_tick(tl, now);
		flow_table_tick(tf, now);
	}
	/* both end by the clock within a tick of 110 s */
	CHECK_INT(cl.final, 1);
	CHECK_INT(cf.final, 1);
	CHECK_INT(cf.interim, 0);
	flow_table_flush(tl);
	flow_table_flush(tf);
	CHECK_INT(cl.final + cf.final, 2);
	flow_table_free(tl);
	flow_table_free(tf);
}
