/*
 * flows.c - the flow table: one record per transport session, as Zeek's
 * conn.log has them.
 *
 * The rules are Zeek's, so that a record here and a line of Zeek's
 * conn.log for the same packets agree (tests/integration/test_zeek.py
 * checks it over Zeek's own traces and baselines; docs/capture.md lists
 * where and why we differ):
 *
 * - Key: protocol and both ends, the same in both directions. ICMP uses
 *   the type as the originator's "port" and the counterpart type (echo 8
 *   <-> reply 0 ...) or, for one-way messages, the code as the responder's.
 * - Originator: the first packet's sender, unless that packet is not a
 *   plain SYN and comes from a likely server port (core/port) to one that
 *   is not; for UDP, any first datagram from a likely server port to one
 *   that is not. A connection first seen at its SYN-ACK flips when the
 *   first ACK or data follows. A flip is '^' in the history.
 * - TCP: each end has Zeek's endpoint state (INACTIVE, SYN_SENT, ...,
 *   CLOSED, RESET), moved by the same transitions; conn_state is derived
 *   from the two states and the sizes. Sizes are by sequence numbers
 *   (orig_bytes is how far the originator's sequence space went), as Zeek.
 *   History letters: S H A D F R once per direction (S, F, R again when
 *   their sequence number changes), I and Q for impossible flag mixes,
 *   T W C (retransmission, zero window, bad checksum) at the 1st, 10th,
 *   100th... time.
 * - UDP: D/d for each direction's first datagram; bytes by the UDP length.
 * - Lifetime: Zeek's timers, in capture time. A TCP connection in the
 *   handshake is idle after the UDP timeout (60 s), after it the TCP
 *   timeout (300 s; 1 h for FTP, SSH, Telnet and rlogin ports); 5 s after
 *   an attempt nobody answered it ends (a later packet starts a new one),
 *   5 s after both ends closed (or one reset) it ends, and a half-closed
 *   or idle one is checked every 6 s. A SYN with a new sequence number on
 *   an existing connection starts a new one.
 * - With checksums verified (--checksums), a TCP or UDP packet with a bad
 *   checksum adds only C/c, as in Zeek; a bad IPv4 header is dropped.
 *
 * Memory is bounded: a fixed-size record per flow (flow_size() bytes, plus
 * 8 bytes of index at the table's load) and a cap (--max-flows); when full,
 * the least recently active flow is written early and counted as evicted.
 * Expiry is O(1) per flow: each flow knows when it ends if nothing more
 * comes ("due") and sits in a timing wheel of one-second slots.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "core/port.h"
#include "core/xalloc.h"
#include "core/banned.h"

#define NIL UINT32_MAX
#define SEC 1000000LL
#define WHEEL 4096			/* one-second slots */
#define TOO_LARGE_SEQ_DELTA 1048576

/* Zeek's defaults (init-bare.zeek) */
#define ATTEMPT_DELAY (5 * SEC)		/* tcp_attempt_delay */
#define SYN_TIMEOUT (5 * SEC)		/* tcp_SYN_timeout: the first expire check */
#define SESSION_TIMER (6 * SEC)		/* tcp_session_timer */
#define LINGER (5 * SEC)		/* tcp_connection_linger */
#define CLOSE_DELAY (5 * SEC)		/* tcp_close_delay */
#define DNS_TIMEOUT (10 * SEC)		/* dns_session_timeout */

/* history masks: per letter kind; the responder's are << 16 */
enum { H_SYN = 1, H_FIN = 2, H_RST = 4, H_FIN_RST = 8, H_DATA = 16, H_ACK = 32, H_MULTI = 64,
       H_UDP = 128, H_LIMIT = 256 };
#define MAX_TUNNEL_CHANGES 5		/* Tunnel::max_changes_per_connection */

struct flow_table {
	struct flow_rec *f;	/* slots; free ones chained through lru_next */
	size_t fcap;		/* slots allocated (grows up to cap) */
	uint32_t *index;	/* open addressing: flow slot + 1, 0 = empty */
	size_t mask;		/* index size - 1; kept at most half full */
	size_t cap, used, peak, evicted;
	uint32_t free_head;
	uint32_t lru_head, lru_tail;	/* most recently active first */
	uint32_t wheel[WHEEL];
	int64_t wheel_sec;	/* the first second not yet swept; -1 before any */
	uint32_t tcp_timeout, udp_timeout;	/* seconds */
	bool checksums;
	int64_t interval;
	uint64_t next_id;
	flow_emit emit;
	void *arg;
};

size_t flow_size(void)
{
	return sizeof(struct flow_rec);
}

/* ---- the key ---- */

struct key {
	uint8_t proto, ipver;
	bool oneway;		/* ICMP without a counterpart: one direction only */
	const uint8_t *src, *dst;
	uint16_t sport, dport;
};

/* Zeek's (and the Community ID spec's) ICMP pairs: request <-> reply. */
static int icmp_counterpart(bool v6, unsigned type)
{
	static const uint8_t v4[][2] = { { 8, 0 }, { 13, 14 }, { 15, 16 }, { 10, 9 }, { 17, 18 } };
	static const uint8_t v6p[][2] = { { 128, 129 }, { 133, 134 }, { 135, 136 }, { 130, 131 },
					  { 139, 140 }, { 144, 145 } };
	size_t n = v6 ? sizeof(v6p) / sizeof(v6p[0]) : sizeof(v4) / sizeof(v4[0]);

	for (size_t i = 0; i < n; i++) {
		const uint8_t *pr = v6 ? v6p[i] : v4[i];

		if (pr[0] == type)
			return pr[1];
		if (pr[1] == type)
			return pr[0];
	}
	return -1;
}

static void make_key(const struct pkt *p, struct key *k)
{
	k->proto = p->proto;
	k->ipver = p->ipver;
	k->src = p->src;
	k->dst = p->dst;
	k->oneway = false;
	k->sport = k->dport = 0;
	if (p->has_ports) {
		k->sport = p->sport;
		k->dport = p->dport;
	} else if (p->proto == 1 || p->proto == 58) {
		int c = icmp_counterpart(p->proto == 58, p->icmp_type);

		k->sport = p->icmp_type;
		k->dport = (uint16_t)(c >= 0 ? c : p->icmp_code);
		k->oneway = c < 0;
	}
}

static uint32_t hash_key(const struct key *k)
{
	/* symmetric: both directions hash alike */
	uint32_t h = 2166136261u ^ k->proto;
	uint32_t a = 0, b = 0;
	size_t n = k->ipver == 4 ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		a = a * 31 + k->src[i];
		b = b * 31 + k->dst[i];
	}
	a ^= (uint32_t)k->sport << 16;
	b ^= (uint32_t)k->dport << 16;
	h ^= (a + b) * 0x9e3779b1u;
	h ^= a ^ b;
	/* murmur3's finalizer: every input bit reaches the low bits we mask */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static bool same_addr(const uint8_t *a, const uint8_t *b, unsigned ipver)
{
	uint32_t x, y;

	if (ipver == 4) {
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		return x == y;
	}
	return !memcmp(a, b, 16);
}

static bool same_flow(const struct flow_rec *f, const struct key *k)
{
	if (f->proto != k->proto || f->ipver != k->ipver || f->oneway != k->oneway)
		return false;
	if (f->oport == k->sport && f->rport == k->dport)
		return (same_addr(f->oaddr, k->src, k->ipver) && same_addr(f->raddr, k->dst, k->ipver)) ||
		       (!k->oneway && f->oport == k->dport && f->rport == k->sport &&
			same_addr(f->oaddr, k->dst, k->ipver) && same_addr(f->raddr, k->src, k->ipver));
	return !k->oneway && f->oport == k->dport && f->rport == k->sport &&
	       same_addr(f->oaddr, k->dst, k->ipver) && same_addr(f->raddr, k->src, k->ipver);
}

struct flow_table *flow_table_new(const struct cap_opts *o, flow_emit emit, void *arg)
{
	struct flow_table *t = xcalloc(1, sizeof(*t));
	size_t slots = 1024;

	t->cap = o->max_flows ? o->max_flows : 1000000;
	/* the index grows with the flows, so small captures stay in cache */
	t->mask = slots - 1;
	t->index = xcalloc(slots, sizeof(*t->index));
	t->f = NULL;
	t->free_head = NIL;
	t->lru_head = t->lru_tail = NIL;
	for (size_t i = 0; i < WHEEL; i++)
		t->wheel[i] = NIL;
	t->wheel_sec = -1;
	t->tcp_timeout = o->tcp_timeout ? o->tcp_timeout : 300;
	t->udp_timeout = o->udp_timeout ? o->udp_timeout : 60;
	t->checksums = o->checksums;
	t->interval = (int64_t)o->interval * SEC;
	t->emit = emit;
	t->arg = arg;
	return t;
}

/* ---- LRU list (eviction and the final flush) and timing wheel ---- */

static void lru_unlink(struct flow_table *t, uint32_t i)
{
	struct flow_rec *f = &t->f[i];

	if (f->lru_prev != NIL)
		t->f[f->lru_prev].lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next != NIL)
		t->f[f->lru_next].lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
}

static void lru_push(struct flow_table *t, uint32_t i)
{
	struct flow_rec *f = &t->f[i];

	f->lru_prev = NIL;
	f->lru_next = t->lru_head;
	if (t->lru_head != NIL)
		t->f[t->lru_head].lru_prev = i;
	t->lru_head = i;
	if (t->lru_tail == NIL)
		t->lru_tail = i;
}

static size_t wheel_slot(const struct flow_table *t, int64_t due)
{
	int64_t s = due / SEC;

	if (s < t->wheel_sec)
		s = t->wheel_sec;
	return (size_t)(s % WHEEL);
}

static void wheel_unlink(struct flow_table *t, uint32_t i)
{
	struct flow_rec *f = &t->f[i];

	if (f->wh_prev != NIL)
		t->f[f->wh_prev].wh_next = f->wh_next;
	else
		t->wheel[f->wslot] = f->wh_next;
	if (f->wh_next != NIL)
		t->f[f->wh_next].wh_prev = f->wh_prev;
}

static void wheel_push(struct flow_table *t, uint32_t i)
{
	struct flow_rec *f = &t->f[i];
	size_t s = wheel_slot(t, f->due);

	f->wslot = (uint16_t)s;
	f->wh_prev = NIL;
	f->wh_next = t->wheel[s];
	if (t->wheel[s] != NIL)
		t->f[t->wheel[s]].wh_prev = i;
	t->wheel[s] = i;
}

/* ---- index ---- */

static size_t find_slot(const struct flow_table *t, const struct key *k, uint32_t h)
{
	size_t s = h & t->mask;

	while (t->index[s] && !same_flow(&t->f[t->index[s] - 1], k))
		s = (s + 1) & t->mask;
	return s;
}

/* Linear probing deletion: shift back the entries that can move. */
static void index_remove(struct flow_table *t, uint32_t i)
{
	size_t s = t->f[i].hash & t->mask, j;

	while (t->index[s] != i + 1)
		s = (s + 1) & t->mask;
	t->index[s] = 0;
	for (j = (s + 1) & t->mask; t->index[j]; j = (j + 1) & t->mask) {
		size_t want = t->f[t->index[j] - 1].hash & t->mask;

		/* can the entry at j live in the hole at s? */
		if ((j > s && (want <= s || want > j)) || (j < s && want <= s && want > j)) {
			t->index[s] = t->index[j];
			t->index[j] = 0;
			s = j;
		}
	}
}

static void grow_index(struct flow_table *t)
{
	size_t slots = (t->mask + 1) * 2;
	uint32_t *old = t->index;
	size_t oldn = t->mask + 1;

	t->index = xcalloc(slots, sizeof(*t->index));
	t->mask = slots - 1;
	for (size_t s = 0; s < oldn; s++) {
		size_t j;

		if (!old[s])
			continue;
		j = t->f[old[s] - 1].hash & t->mask;
		while (t->index[j])
			j = (j + 1) & t->mask;
		t->index[j] = old[s];
	}
	free(old);
}

/* ---- TCP sequence space, as Zeek's TCP_Endpoint ---- */

static uint64_t full_seq(uint32_t seq, uint32_t wraps)
{
	return ((uint64_t)wraps << 32) + seq;
}

static bool no_data_acked(const struct tcp_end *e)
{
	uint64_t ack = full_seq(e->ack_seq, e->ack_wraps), start = e->start_seq;

	return ack == start || ack == start + 1;
}

/* Bytes sent by one end, by its sequence numbers (SYN and FIN not counted). */
static uint64_t tcp_size(const struct tcp_end *e, const struct tcp_end *peer)
{
	uint64_t last = full_seq(e->last_seq, e->seq_wraps), ack = full_seq(e->ack_seq, e->ack_wraps);
	uint64_t size;

	/* a half-open connection found and aborted: nothing was sent */
	if (e->prev_state == TE_SYN_SENT && e->state == TE_RESET && peer->state == TE_INACTIVE &&
	    !no_data_acked(e))
		return 0;
	size = (last > ack ? last : ack) - e->start_seq;
	if (size)
		size--;
	if (e->fin_cnt && size)
		size--;
	return size;
}

static void update_last(struct tcp_end *e, uint32_t seq)
{
	if (seq < e->last_seq)
		e->seq_wraps++;
	e->last_seq = seq;
}

static void update_ack(struct tcp_end *e, uint32_t seq)
{
	if (seq < e->ack_seq)
		e->ack_wraps++;
	e->ack_seq = seq;
}

static void init_seq(struct tcp_end *e, uint32_t start, uint32_t last)
{
	e->start_seq = start;
	e->ack_seq = start;
	e->last_seq = last;
}

static uint64_t relative_seq(const struct tcp_end *e, uint32_t cur, uint32_t last, uint32_t wraps,
			     bool *underflow)
{
	int32_t delta = (int32_t)(cur - last);

	if (delta < 0 && wraps && cur > last)
		wraps--;
	else if (delta > 0 && cur < last)
		wraps++;
	if (wraps == 0) {
		delta = (int32_t)(cur - e->start_seq);
		if (delta < 0 && underflow)
			*underflow = true;
		return (uint64_t)(int64_t)delta;
	}
	return full_seq(cur, wraps) - e->start_seq;
}

/* ---- history ---- */

static void add_history(struct flow_rec *f, char c)
{
	if (f->hlen < sizeof(f->history) - 1) {
		f->history[f->hlen++] = c;
		f->history[f->hlen] = '\0';
	}
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Record a letter the first time; true when it was seen before. */
static bool check_history(struct flow_rec *f, uint32_t mask, char code)
{
	if (f->hist_seen & mask)
		return true;
	f->hist_seen |= mask;
	add_history(f, code);
	return false;
}

/* Letters recorded at the 1st, 10th, 100th ... time. */
static void scaled(struct flow_rec *f, uint32_t *count, char code)
{
	uint32_t n = ++*count;

	while (n >= 10 && n % 10 == 0)
		n /= 10;
	if (n == 1)
		add_history(f, code);
}

/* ---- roles ---- */

static void swap_bytes(void *a, void *b, size_t n)
{
	uint8_t tmp[sizeof(struct tcp_end)];

	while (n) {
		size_t k = n < sizeof(tmp) ? n : sizeof(tmp);

		memcpy(tmp, a, k);
		memcpy(a, b, k);
		memcpy(b, tmp, k);
		a = (uint8_t *)a + k;
		b = (uint8_t *)b + k;
		n -= k;
	}
}

#define SWAP(a, b) swap_bytes(&(a), &(b), sizeof(a))

/* The originator was the other end: swap everything that has a side. */
static void flip_roles(struct flow_rec *f)
{
	SWAP(f->oaddr, f->raddr);
	SWAP(f->oport, f->rport);
	SWAP(f->opkts, f->rpkts);
	SWAP(f->obytes, f->rbytes);
	SWAP(f->oip, f->rip);
	SWAP(f->ep[0], f->ep[1]);
	unsigned a = f->act_o;

	f->act_o = f->act_r;
	f->act_r = a;
	f->flipped = !f->flipped;
	add_history(f, '^');
}

static void flip_now(struct flow_rec *f, bool *orig)
{
	flip_roles(f);
	*orig = !*orig;
}

static bool broadcast(const struct key *k)
{
	static const uint8_t ones[4] = { 255, 255, 255, 255 };

	return k->ipver == 4 && !memcmp(k->dst, ones, 4);
}

/* ---- TCP, as Zeek's TCPSessionAdapter ---- */

struct seg {
	int64_t ts;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	int len;		/* payload bytes by the headers */
	bool syn, fin, rst, ackf;
};

static bool handshake_state(uint8_t s)
{
	return s == TE_INACTIVE || s == TE_SYN_SENT || s == TE_SYN_ACK_SENT;
}

static void set_state(struct flow_table *t, struct flow_rec *f, int ei, uint8_t st)
{
	struct tcp_end *e = &f->ep[ei], *peer = &f->ep[ei ^ 1];

	if (st == e->state)
		return;
	/* leaving the handshake: the connection's idle timeout grows */
	if (!handshake_state(st) && handshake_state(e->state) && handshake_state(peer->state) &&
	    f->inactivity < t->tcp_timeout)
		f->inactivity = t->tcp_timeout;
	e->prev_state = e->state;
	e->state = st;
}

/* Zeek's connection_established: FTP, SSH, Telnet and rlogin idle for an hour. */
static void established(struct flow_rec *f)
{
	unsigned port = f->rport;

	f->est_event = 1;
	if (f->ep[0].state == TE_INACTIVE && !port_likely_server(PROTO_TCP, port) &&
	    port_likely_server(PROTO_TCP, f->oport))
		port = f->oport;
	if (port == 21 || port == 22 || port == 23 || port == 513)
		f->inactivity = 3600;
}

/* The endpoint's letter check: a connection that began with a SYN-ACK
 * flips at its first ACK or data, and its history becomes "^h". */
static bool tcp_check_history(struct flow_rec *f, int *ei, bool *orig, uint32_t mask, char code)
{
	if ((code == 'A' || code == 'D') && !strcmp(f->history, "H")) {
		flip_now(f, orig);
		*ei ^= 1;
		f->hlen = 0;
		add_history(f, '^');
		add_history(f, 'h');
	}
	if (!*orig) {
		mask <<= 16;
		code = lower(code);
	}
	return check_history(f, mask, code);
}

static void tcp_add_history(struct flow_rec *f, bool orig, char code)
{
	add_history(f, orig ? code : lower(code));
}

static void update_history(struct flow_rec *f, int *ei, bool *orig, const struct seg *s,
			   uint64_t rel_seq)
{
	int bits = s->syn + s->fin + s->rst;
	struct tcp_end *e;

	if (bits > 1) {
		if (s->fin && s->rst)
			tcp_check_history(f, ei, orig, H_FIN_RST, 'I');
		else
			tcp_check_history(f, ei, orig, H_MULTI, 'Q');
		return;
	}
	if (bits == 1) {
		char code = s->syn ? (s->ackf ? 'H' : 'S') : s->fin ? 'F' : 'R';
		uint32_t mask = s->syn ? H_SYN : s->fin ? H_FIN : H_RST;
		uint32_t at = (uint32_t)(s->fin ? rel_seq + (uint64_t)s->len : rel_seq);
		bool again = tcp_check_history(f, ei, orig, mask, code);
		uint32_t *last;

		e = &f->ep[*ei];
		last = s->syn ? &e->hist_syn : s->fin ? &e->hist_fin : &e->hist_rst;
		if (again && at != *last)
			tcp_add_history(f, *orig, code);
		*last = at;
		return;
	}
	if (s->len)
		tcp_check_history(f, ei, orig, H_DATA, 'D');
	else if (s->ackf)
		tcp_check_history(f, ei, orig, H_ACK, 'A');
}

static void init_endpoint(struct tcp_end *e, const struct seg *s, uint32_t last)
{
	switch (e->state) {
	case TE_INACTIVE:
		if (s->syn) {
			init_seq(e, s->seq, last);
		} else {
			/* seen mid-stream: number as if a SYN came just before */
			init_seq(e, s->seq - 1, s->seq);
		}
		break;
	case TE_SYN_SENT:
	case TE_SYN_ACK_SENT:
		if (s->syn && s->seq != e->start_seq)
			init_seq(e, s->seq, last);
		break;
	case TE_ESTABLISHED:
	case TE_PARTIAL:
		if (s->syn)
			init_seq(e, s->seq, last);
		break;
	case TE_RESET:
		if (s->syn && e->prev_state == TE_INACTIVE)
			init_seq(e, s->seq, last);
		break;
	default:
		break;
	}
}

static int32_t update_last_seq(struct flow_rec *f, struct tcp_end *e, bool orig, uint32_t last,
			       const struct seg *s)
{
	int32_t delta = (int32_t)(last - e->last_seq);

	if ((s->syn || s->rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA))
		;	/* an outlandish SYN or RST number: not trusted */
	else if (s->fin && e->last_seq == e->start_seq + 1)
		update_last(e, last);	/* only SYN and FIN seen: trust the FIN */
	else if (e->state == TE_RESET)
		;
	else if (delta > 0)
		update_last(e, last);
	else if (s->len > 0)
		scaled(f, &e->rxmt, orig ? 'T' : 't');
	return delta;
}

struct closing {
	bool do_close, gen_event;
};

static void conn_reset(struct flow_rec *f)
{
	f->active = 0;
}

/* is_orig is the packet's role when it arrived: a flip made by the
 * history letter does not change it here (as in Zeek); *flipped follows
 * the roles for the counting that comes after. */
static void inactive_state(struct flow_table *t, struct flow_rec *f, int *ei, bool is_orig,
			   bool *flipped, const struct seg *s, struct closing *c)
{
	struct tcp_end *e = &f->ep[*ei], *peer = &f->ep[*ei ^ 1];

	if (s->syn) {
		if (is_orig) {
			set_state(t, f, *ei, s->ackf ? TE_SYN_ACK_SENT : TE_SYN_SENT);
			f->attempt_at = s->ts + ATTEMPT_DELAY;
		} else {
			if (!s->ackf && peer->state == TE_SYN_ACK_SENT &&
			    s->seq == e->start_seq) {
				/* a SYN/SYN-ACK reversal: the SYN's sender opened it */
				flip_now(f, flipped);
				*ei ^= 1;
				e = &f->ep[*ei];
				peer = &f->ep[*ei ^ 1];
				set_state(t, f, *ei ^ 1, TE_ESTABLISHED);
			}
			if (peer->state == TE_SYN_SENT)
				set_state(t, f, *ei ^ 1, TE_ESTABLISHED);
			set_state(t, f, *ei, TE_ESTABLISHED);
			if (peer->state != TE_PARTIAL)
				established(f);
		}
	}
	if (s->fin) {
		set_state(t, f, *ei, TE_CLOSED);
		c->do_close = c->gen_event = true;
	}
	if (s->rst) {
		bool reject = is_orig ? peer->state == TE_ESTABLISHED
				    : (peer->state == TE_SYN_SENT || peer->state == TE_SYN_ACK_SENT);

		set_state(t, f, *ei, TE_RESET);
		c->do_close = true;
		c->gen_event = !reject;
	}
	if (e->state == TE_INACTIVE) {
		if (!is_orig && s->len == 0 && f->ep[0].state == TE_SYN_SENT)
			;	/* an ACK of the SYN before the SYN-ACK: not partial */
		else if (s->ackf && peer->state == TE_ESTABLISHED)
			set_state(t, f, *ei, TE_ESTABLISHED);	/* the SYN was missed */
		else
			set_state(t, f, *ei, TE_PARTIAL);
	}
}

static void update_state(struct flow_table *t, struct flow_rec *f, int *ei, bool is_orig,
			 bool *flipped, const struct seg *s, int32_t delta_last, struct closing *c)
{
	struct tcp_end *e = &f->ep[*ei], *peer = &f->ep[*ei ^ 1];

	(void)delta_last;
	switch (e->state) {
	case TE_INACTIVE:
		inactive_state(t, f, ei, is_orig, flipped, s, c);
		break;
	case TE_SYN_SENT:
	case TE_SYN_ACK_SENT:
		if (s->fin) {
			set_state(t, f, *ei, TE_CLOSED);
			c->do_close = c->gen_event = true;
		}
		if (s->rst) {
			set_state(t, f, *ei, TE_RESET);
			conn_reset(f);
			c->do_close = true;
		}
		break;
	case TE_ESTABLISHED:
	case TE_PARTIAL:
		if (s->syn && e->state == TE_PARTIAL && peer->state == TE_INACTIVE && !s->ackf)
			set_state(t, f, *ei, TE_SYN_SENT);
		if (s->fin && !s->rst) {
			set_state(t, f, *ei, TE_CLOSED);
			/* a FIN then a RST from the peer was a normal close */
			if (peer->state == TE_RESET && peer->prev_state == TE_CLOSED)
				set_state(t, f, *ei ^ 1, TE_CLOSED);
			c->do_close = c->gen_event = true;
		}
		if (s->rst) {
			set_state(t, f, *ei, TE_RESET);
			c->do_close = true;
			if (peer->state != TE_RESET || peer->prev_state != TE_ESTABLISHED)
				conn_reset(f);
		}
		break;
	case TE_CLOSED:
		/* a RST after both FINs does not change the record */
		if (s->rst && peer->state != TE_CLOSED) {
			set_state(t, f, *ei, TE_RESET);
			if (!e->did_close)
				c->do_close = true;
		}
		break;
	default:
		break;
	}
}

static void connection_closed(struct flow_rec *f, int ei, bool gen_event)
{
	struct tcp_end *e = &f->ep[ei], *peer = &f->ep[ei ^ 1];
	bool complete;

	if (e->did_close)
		return;
	e->did_close = true;
	complete = e->state == TE_RESET || peer->did_close || peer->state == TE_INACTIVE;
	if (complete) {
		if (gen_event && (e->prev_state != TE_INACTIVE || peer->state != TE_INACTIVE))
			f->active = 0;	/* connection_finished */
		f->timers_off = 1;
		f->attempt_at = 0;
		f->nchain = 0;
		f->delete_at = f->last + CLOSE_DELAY;
	} else if (e->prev_state != TE_INACTIVE && f->nchain < 3) {
		/* look again for the other side's close */
		f->chain[f->nchain++] = (uint32_t)((f->last + SESSION_TIMER) % SESSION_TIMER);
	}
}

static void tcp_packet(struct flow_table *t, struct flow_rec *f, const struct pkt *p, int64_t ts,
		       bool *orig)
{
	struct seg s = {
		.ts = ts, .flags = p->tcp_flags, .seq = p->seq, .ack = p->ack, .win = p->win,
		.len = (int)p->payload_len,
		.syn = !!(p->tcp_flags & TCP_SYN), .fin = !!(p->tcp_flags & TCP_FIN),
		.rst = !!(p->tcp_flags & TCP_RST), .ackf = !!(p->tcp_flags & TCP_ACK),
	};
	int ei = *orig ? 0 : 1;
	bool is_orig = *orig;
	struct tcp_end *e = &f->ep[ei], *peer;
	int seg_len = s.len + s.syn + s.fin - (s.rst ? s.len : 0);
	uint32_t past = s.seq + (uint32_t)seg_len;
	bool underflow = false;
	uint64_t rel;
	int32_t delta_last;
	struct closing c = { false, false };

	init_endpoint(e, &s, past);
	rel = relative_seq(e, s.seq, e->last_seq, e->seq_wraps, &underflow);
	update_history(f, &ei, orig, &s, rel);
	e = &f->ep[ei];
	peer = &f->ep[ei ^ 1];
	/* a zero window is news unless it comes with or after a reset, or
	 * after the peer closed */
	if (s.win == 0 && !s.rst && peer->state != TE_CLOSED && e->state != TE_RESET)
		scaled(f, &e->win0, *orig ? 'W' : 'w');
	if (!f->ep[0].did_close || !f->ep[1].did_close)
		f->last = ts;
	if (s.fin && e->fin_cnt < 255)
		e->fin_cnt++;
	if (s.ackf) {
		if (peer->state == TE_INACTIVE) {
			/* number the silent peer's bytes from what it has acked */
			init_seq(peer, s.ack - 1, s.ack - 1);
		} else {
			bool au = false;

			relative_seq(peer, s.ack, peer->ack_seq, peer->ack_wraps, &au);
			if (!au && !s.rst) {
				int32_t d = (int32_t)(s.ack - peer->ack_seq);

				if (!(s.ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0)
					update_ack(peer, s.ack);
			}
		}
	}
	delta_last = update_last_seq(f, e, *orig, past, &s);
	update_state(t, f, &ei, is_orig, orig, &s, delta_last, &c);
	if (c.do_close)
		connection_closed(f, ei, c.gen_event);
}

/* Zeek's IsReuse: a SYN with a new initial sequence number. */
static bool tcp_reuse(const struct flow_rec *f, const struct pkt *p)
{
	const struct tcp_end *o;

	if (!(p->tcp_flags & TCP_SYN))
		return false;
	o = &f->ep[0];
	if (p->tcp_flags & TCP_ACK) {
		if (f->ep[0].state != TE_INACTIVE)
			return false;	/* not a half connection */
		o = &f->ep[1];
	}
	if (!f->ep[0].did_close && !f->ep[1].did_close) {
		if (p->seq == o->start_seq)
			return false;	/* a retransmission */
		if (!(p->tcp_flags & TCP_ACK) && o->state == TE_SYN_ACK_SENT &&
		    f->ep[1].state == TE_INACTIVE && p->seq == f->ep[1].start_seq)
			return false;	/* SYN and SYN-ACK seen in reverse order */
	}
	return true;
}

/* ---- when a flow ends ---- */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* When Zeek's timers would end the flow if nothing more came. */
static int64_t due_time(const struct flow_rec *f)
{
	int64_t due = f->last + (int64_t)f->inactivity * SEC;

	if (f->delete_at)
		due = min64(due, f->delete_at);
	if (f->dns) {
		/* Zeek's DNS analyzer on UDP: checked every 10 s from the start,
		 * it ends the session once idle for 9 s */
		int64_t k = (f->last + DNS_TIMEOUT - SEC - f->start + DNS_TIMEOUT - 1) / DNS_TIMEOUT;

		due = min64(due, f->start + (k < 1 ? 1 : k) * DNS_TIMEOUT);
	}
	if (f->proto == 6 && f->active && !f->timers_off) {
		const struct tcp_end *o = &f->ep[0], *r = &f->ep[1];
		bool done = (o->did_close || r->did_close) &&
			    ((o->did_close && r->did_close) || o->state == TE_RESET ||
			     r->state == TE_RESET || o->state == TE_INACTIVE ||
			     r->state == TE_INACTIVE);

		if (f->attempt_at && (o->state == TE_SYN_SENT || o->state == TE_SYN_ACK_SENT) &&
		    r->state == TE_INACTIVE)
			due = min64(due, f->attempt_at);
		if (done || (o->state == TE_INACTIVE && r->state == TE_INACTIVE)) {
			/* the expire checks: every 6 s (each chain at its own
			 * phase), the first one after 5 s idle ends it; a chain
			 * starts 5 s after the connection or 6 s after a half
			 * close, never before the last packet + 5 s */
			for (uint8_t i = 0; i < f->nchain; i++) {
				int64_t after = f->last + LINGER;
				int64_t b = after - after % SESSION_TIMER + f->chain[i];

				while (b <= after)
					b += SESSION_TIMER;
				due = min64(due, b);
			}
		}
	}
	return due;
}

static void emit(struct flow_table *t, struct flow_rec *f, bool interim)
{
	if (f->proto == 6) {
		f->obytes = tcp_size(&f->ep[0], &f->ep[1]);
		f->rbytes = tcp_size(&f->ep[1], &f->ep[0]);
	}
	t->emit(f, interim, t->arg);
}

static void release(struct flow_table *t, uint32_t i)
{
	lru_unlink(t, i);
	wheel_unlink(t, i);
	index_remove(t, i);
	t->f[i].lru_next = t->free_head;
	t->free_head = i;
	t->used--;
}

static void finish(struct flow_table *t, uint32_t i)
{
	emit(t, &t->f[i], false);
	release(t, i);
}

static void evict_one(struct flow_table *t)
{
	uint32_t i = t->lru_tail;

	if (i != NIL) {
		t->f[i].evicted = true;
		t->evicted++;
		finish(t, i);
	}
}

/* Sweep the seconds that have passed: flows due by now end. The slot of
 * the current second is swept once it is over. */
static void advance(struct flow_table *t, int64_t now)
{
	int64_t target = now / SEC, steps;

	if (t->wheel_sec < 0) {
		t->wheel_sec = target;
		return;
	}
	steps = target - t->wheel_sec;
	if (steps > 0 && (size_t)steps > t->used) {
		/* a jump in time (a gap in the capture, merged files): fewer
		 * flows than seconds to sweep, so look at the flows instead */
		for (uint32_t i = t->lru_tail; i != NIL;) {
			uint32_t prev = t->f[i].lru_prev;

			if (t->f[i].due <= now)
				finish(t, i);
			i = prev;
		}
		steps = 0;
	}
	if (steps > WHEEL)
		steps = WHEEL;
	for (int64_t k = 0; k < steps; k++) {
		uint32_t i = t->wheel[(size_t)((t->wheel_sec + k) % WHEEL)];

		while (i != NIL) {
			uint32_t next = t->f[i].wh_next;

			if (t->f[i].due <= now)
				finish(t, i);
			i = next;
		}
	}
	if (target > t->wheel_sec)
		t->wheel_sec = target;
}

static uint32_t new_flow(struct flow_table *t, const struct pkt *p, const struct key *k,
			 int64_t ts, uint32_t h)
{
	struct flow_rec *f;
	uint32_t i;
	bool flip = false;

	if (t->used >= t->cap)
		evict_one(t);
	if (t->free_head != NIL) {
		i = t->free_head;
		t->free_head = t->f[i].lru_next;
	} else {
		i = (uint32_t)t->used;
		if (i >= t->fcap)
			t->f = xgrow(t->f, sizeof(*t->f), (size_t)i + 1, &t->fcap);
	}
	f = &t->f[i];
	memset(f, 0, sizeof(*f));
	/* who started it: the sender, unless this looks like the reply */
	if (p->proto == 6 && (p->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN &&
	    port_likely_server(PROTO_TCP, k->sport))
		flip = port_likely_server(PROTO_TCP, k->dport)
			       ? !(p->tcp_flags & TCP_SYN) && k->sport < k->dport : true;
	else if (p->proto == 17)
		flip = port_likely_server(PROTO_UDP, k->sport) &&
		       !port_likely_server(PROTO_UDP, k->dport);
	f->proto = p->proto;
	f->ipver = p->ipver;
	f->oneway = k->oneway;
	memcpy(f->oaddr, k->src, 16);
	memcpy(f->raddr, k->dst, 16);
	f->oport = k->sport;
	f->rport = k->dport;
	f->start = f->last = f->seen = f->reported = ts;
	f->tunnel_fp = p->tunnel_fp;
	for (uint8_t e = 0, n = 0; e < p->nencap && n < sizeof(f->tunnel); e++)
		if (!n || f->tunnel[n - 1] != p->encap[e].kind)	/* MPLS stacks once */
			f->tunnel[n++] = p->encap[e].kind;
	f->active = 1;
	f->inactivity = t->udp_timeout;
	if (p->proto == 6) {
		f->chain[0] = (uint32_t)((ts + SYN_TIMEOUT) % SESSION_TIMER);
		f->nchain = 1;
		f->inactivity = t->udp_timeout;	/* until the handshake is over */
	}
	if (flip && !broadcast(k))
		flip_roles(f);
	/* the ports Zeek's DNS analyzer takes (53, NetBIOS 137, mDNS, LLMNR) */
	f->dns = p->proto == 17 && (f->rport == 53 || f->rport == 137 || f->rport == 5353 ||
				    f->rport == 5355);
	f->id = ++t->next_id;
	f->hash = h;
	f->due = due_time(f);
	t->used++;
	if (t->used > t->peak)
		t->peak = t->used;
	lru_push(t, i);
	wheel_push(t, i);
	return i;
}

/* UDP's length field less its header, as Zeek counts UDP bytes. */
static uint32_t udp_bytes(const struct pkt *p)
{
	uint32_t ulen;

	if (!p->l4 || p->l4_caplen < 6)
		return p->payload_len;
	ulen = (uint32_t)p->l4[4] << 8 | p->l4[5];
	return ulen > 8 ? ulen - 8 : 0;
}

void flow_table_add(struct flow_table *t, const struct pkt *p, int64_t ts)
{
	uint32_t h, i;
	size_t s;
	struct flow_rec *f;
	struct key k;
	bool orig, bad;

	/* a later fragment has no ports, a cut transport header no flags */
	if (!p->ipver || (p->flags & PKT_FRAGMENT) ||
	    ((p->flags & PKT_TRUNCATED) && !p->payload))
		return;
	/* TCP or UDP without readable ports would be a phantom :0 flow; IPv6
	 * "no next header" carries nothing to make a session of */
	if (((p->proto == 6 || p->proto == 17) && !p->has_ports) || p->proto == 59)
		return;
	if (t->checksums && (p->flags & PKT_BAD_IP_CSUM))
		return;		/* Zeek drops it before any connection */
	advance(t, ts);
	make_key(p, &k);
	h = hash_key(&k);
	s = find_slot(t, &k, h);
	if (t->index[s]) {
		i = t->index[s] - 1;
		/* ended by its timers before this packet came, or reused */
		if (t->f[i].due <= ts || (p->proto == 6 && tcp_reuse(&t->f[i], p))) {
			finish(t, i);
			s = find_slot(t, &k, h);
		}
	}
	if (!t->index[s]) {
		i = new_flow(t, p, &k, ts, h);
		if (t->used * 2 > t->mask + 1)
			grow_index(t);
		s = find_slot(t, &k, h);
		t->index[s] = i + 1;
	}
	i = t->index[s] - 1;
	f = &t->f[i];
	orig = f->oport == k.sport && !memcmp(f->oaddr, p->src, p->ipver == 4 ? 4 : 16);
	if (f->attempt_at && f->attempt_at <= ts)
		f->attempt_at = 0;	/* it fired and found an answer */
	if (p->tunnel_fp != f->tunnel_fp) {
		/* Zeek follows a connection's tunnel changes up to a limit,
		 * then writes X */
		if (f->tunnel_changes >= MAX_TUNNEL_CHANGES)
			check_history(f, H_LIMIT, 'X');
		else
			f->tunnel_changes++;
		f->tunnel_fp = p->tunnel_fp;
	}
	bad = t->checksums && (p->flags & PKT_BAD_L4_CSUM) && (p->proto == 6 || p->proto == 17);
	if (p->proto == 6 && (p->l4_caplen < 20 || p->l4_caplen < (size_t)(p->l4[12] >> 4) * 4)) {
		/* options cut by the snap length: the connection is there, the
		 * segment cannot be read (Zeek: truncated_header) */
	} else if (bad) {
		/* Zeek: the packet goes no further than the C in the history */
		scaled(f, &f->ep[orig ? 0 : 1].chk, orig ? 'C' : 'c');
	} else {
		if (p->proto == 6) {
			tcp_packet(t, f, p, ts, &orig);
		} else if (p->proto == 17) {
			f->last = ts;
			check_history(f, orig ? H_UDP : H_UDP << 16, orig ? 'D' : 'd');
			if (orig) {
				f->obytes += udp_bytes(p);
				f->act_o = 1;
			} else {
				f->rbytes += udp_bytes(p);
				f->act_r = 1;
			}
		} else {
			uint32_t hl = p->l4 && p->l3 ? (uint32_t)(p->l4 - p->l3) : 0;
			uint32_t n = p->ip_len > hl ? p->ip_len - hl : 0;

			f->last = ts;
			if (p->proto == 1 || p->proto == 58)
				n = n > 8 ? n - 8 : 0;
			else
				n = 0;
			if (orig) {
				f->obytes += n;
				f->act_o = 1;
			} else {
				f->rbytes += n;
				f->act_r = 1;
			}
		}
		if (orig) {
			f->opkts++;
			f->oip += p->ip_len;
		} else {
			f->rpkts++;
			f->rip += p->ip_len;
		}
	}
	f->seen = ts;
	{
		int64_t due = due_time(f);

		/* move in the wheel only when the second changes */
		if (due / SEC != f->due / SEC || wheel_slot(t, due) != f->wslot) {
			wheel_unlink(t, i);
			f->due = due;
			wheel_push(t, i);
		} else {
			f->due = due;
		}
	}
	if (t->lru_head != i) {
		lru_unlink(t, i);
		lru_push(t, i);
	}
	if (t->interval && ts - f->reported >= t->interval) {
		emit(t, f, true);
		f->reported = ts;
	}
}

void flow_table_flush(struct flow_table *t)
{
	/* the least recently active first */
	while (t->lru_tail != NIL)
		finish(t, t->lru_tail);
}

size_t flow_table_evicted(const struct flow_table *t)
{
	return t->evicted;
}

size_t flow_table_peak(const struct flow_table *t)
{
	return t->peak;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	free(t->f);
	free(t->index);
	free(t);
}
