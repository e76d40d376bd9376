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
 * - Originator: the first packet's sender, unless that packet is neither
 *   a SYN nor a SYN-ACK and comes from a likely server port (core/port) to
 *   one that is not; for UDP, any first datagram from a likely server port
 *   to one that is not. A connection first seen at its SYN-ACK flips at
 *   once from one of Zeek's likely server ports, else when the first
 *   counted ACK or data follows. A flip is '^' in the history.
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
 * comes ("due") and sits in a timing wheel of one-second slots; any time
 * finds its slot (seconds rounded down, the remainder never negative).
 *
 * The clock is the packets' time. A live capture also moves it from a
 * timer (flow_table_tick), so a flow ends on a quiet link too; there a
 * flow's place in the wheel is the sooner of its end and its next
 * interim record, and --interval records come on a silent flow as well.
 * Reading a file, interim records come only with a flow's packets, as
 * they always have.
 */
#include <stdlib.h>
#include <sys/random.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "core/base/hash.h"
#include "core/vocab/port.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define NIL UINT32_MAX
#define SEC FLOW_SEC
#define WHEEL 4096			/* one-second slots */
#define SYN_TIMEOUT (5 * SEC)		/* tcp_SYN_timeout: the first expire check */
#define SESSION_TIMER FLOW_SESSION_TIMER
#define MAX_TUNNEL_CHANGES 5		/* Tunnel::max_changes_per_connection */
/* Times are taken within +-2^62 us (146,000 years either side of 1970):
 * a time plus any timeout or interval then cannot overflow. */
#define TIME_LIMIT (1LL << 62)

struct flow_table {
	struct flow_rec *f;	/* slots; free ones chained through lru_next */
	size_t fcap;		/* slots allocated (grows up to cap) */
	uint32_t *index;	/* open addressing: flow slot + 1, 0 = empty */
	size_t mask;		/* index size - 1; kept at most half full */
	size_t cap, used, peak, evicted;
	uint32_t free_head;
	uint32_t lru_head, lru_tail;	/* most recently active first */
	uint32_t wheel[WHEEL];
	int64_t wheel_sec;	/* the first second not yet swept */
	bool clock_set;		/* wheel_sec holds a time: a packet or tick came */
	uint32_t tcp_timeout, udp_timeout;	/* seconds */
	bool checksums;
	bool live;		/* interim records from the clock too */
	uint64_t seed;		/* the index's hash start, random per table */
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

static uint32_t hash_key(const struct flow_table *t, const struct key *k)
{
	/* symmetric: both directions hash alike. The port is a round of
	 * its own after the address, and the start is this table's secret,
	 * so senders who choose their addresses and ports cannot line up
	 * many flows on one slot */
	size_t n = k->ipver == 4 ? 4 : 16;
	uint64_t a = hash_add(hash_add(t->seed, k->src, n), &k->sport, 2);
	uint64_t b = hash_add(hash_add(t->seed, k->dst, n), &k->dport, 2);

	return hash_mix((a + b) ^ (a ^ b) << 1 ^ k->proto);
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
	t->index = xbig_zalloc(slots, sizeof(*t->index));
	t->f = NULL;
	t->free_head = NIL;
	t->lru_head = t->lru_tail = NIL;
	for (size_t i = 0; i < WHEEL; i++)
		t->wheel[i] = NIL;
	t->tcp_timeout = o->tcp_timeout ? o->tcp_timeout : 300;
	t->udp_timeout = o->udp_timeout ? o->udp_timeout : 60;
	t->checksums = o->checksums;
	t->live = !o->read;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ HASH_INIT;
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

static int64_t clamp_time(int64_t us)
{
	return us < -TIME_LIMIT ? -TIME_LIMIT : us > TIME_LIMIT ? TIME_LIMIT : us;
}

/* The second a time falls in, rounded down also before 1970. */
static int64_t second_of(int64_t us)
{
	return us >= 0 ? us / SEC : -((-(us + 1)) / SEC) - 1;
}

/* A second's slot: the remainder mod WHEEL, never negative (a power of
 * two, so the two's complement bits are the floor remainder). */
static size_t slot_of(int64_t sec)
{
	return (size_t)((uint64_t)sec & (WHEEL - 1));
}

static size_t wheel_slot(const struct flow_table *t, int64_t due)
{
	int64_t s = second_of(due);

	if (s < t->wheel_sec)
		s = t->wheel_sec;
	return slot_of(s);
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

/* When the wheel must look at f next: its end, or live its next interim
 * record. */
static int64_t wake(const struct flow_table *t, const struct flow_rec *f)
{
	if (t->live && t->interval && f->reported + t->interval < f->due)
		return f->reported + t->interval;
	return f->due;
}

static void wheel_push(struct flow_table *t, uint32_t i)
{
	struct flow_rec *f = &t->f[i];
	size_t s = wheel_slot(t, wake(t, f));

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

	t->index = xbig_zalloc(slots, sizeof(*t->index));
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
	xbig_free(old);
}

/* Zeek's likely_server_ports for TCP with its default scripts (the
 * ports its analyzers register in scripts/base/protocols): where Zeek
 * flips a connection first seen at its SYN-ACK at once. Elsewhere it keeps
 * the SYN-ACK's sender until a counted ACK or data segment (conn.c's "^h"),
 * which a bad checksum never is. */
static bool zeek_syn_ack_flips(uint16_t port)
{
	static const uint16_t ports[] = {
		21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514,
		563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811,
		3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669,
		8000, 8080, 8888, 20000,
	};

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

static bool broadcast(const struct key *k)
{
	static const uint8_t ones[4] = { 255, 255, 255, 255 };

	return k->ipver == 4 && !memcmp(k->dst, ones, 4);
}

static void emit(struct flow_table *t, struct flow_rec *f, bool interim)
{
	if (f->proto == 6) {
		f->obytes = conn_tcp_size(&f->ep[0], &f->ep[1]);
		f->rbytes = conn_tcp_size(&f->ep[1], &f->ep[0]);
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

/* A flow the wheel looks at: it ends, or (live) writes its interim
 * record, or waits in the slot of its next wake-up. */
static void visit(struct flow_table *t, uint32_t i, int64_t now)
{
	struct flow_rec *f = &t->f[i];

	if (f->due <= now) {
		finish(t, i);
		return;
	}
	if (t->live && t->interval && now - f->reported >= t->interval) {
		emit(t, f, true);
		f->reported = now;
	}
	if (wheel_slot(t, wake(t, f)) != f->wslot) {
		wheel_unlink(t, i);
		wheel_push(t, i);
	}
}

/* Sweep the seconds that have passed: flows due by now end. The slot of
 * the current second is swept once it is over. */
static void advance(struct flow_table *t, int64_t now)
{
	int64_t target = second_of(now), steps;

	if (!t->clock_set) {
		t->wheel_sec = target;
		t->clock_set = true;
		return;
	}
	steps = target - t->wheel_sec;
	if (steps > 0 && (size_t)steps > t->used) {
		/* a jump in time (a gap in the capture, merged files): fewer
		 * flows than seconds to sweep, so look at the flows instead */
		for (uint32_t i = t->lru_tail; i != NIL;) {
			uint32_t prev = t->f[i].lru_prev;

			visit(t, i, now);
			i = prev;
		}
		steps = 0;
	}
	if (steps > WHEEL)
		steps = WHEEL;
	for (int64_t k = 0; k < steps; k++) {
		uint32_t i = t->wheel[slot_of(t->wheel_sec + k)];

		while (i != NIL) {
			uint32_t next = t->f[i].wh_next;

			visit(t, i, now);
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
			t->f = xbig_grow(t->f, sizeof(*t->f), (size_t)i + 1, &t->fcap);
	}
	f = &t->f[i];
	memset(f, 0, sizeof(*f));
	/* who started it: the sender, unless this looks like the reply. A
	 * SYN-ACK flips here only on Zeek's own likely server ports */
	if (p->proto == 6 && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		flip = zeek_syn_ack_flips(k->sport) && !zeek_syn_ack_flips(k->dport);
	else if (p->proto == 6 && !(p->tcp_flags & TCP_SYN) &&
		 port_likely_server(PROTO_TCP, k->sport))
		flip = !port_likely_server(PROTO_TCP, k->dport) || k->sport < k->dport;
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
	f->start = f->last = f->reported = ts;
	f->tunnel_fp = p->tunnel_fp;
	for (uint8_t e = 0, n = 0; e < p->nencap && n < sizeof(f->tunnel); e++)
		if (!n || f->tunnel[n - 1] != p->encap[e].kind)	/* MPLS stacks once */
			f->tunnel[n++] = p->encap[e].kind;
	f->active = 1;
	f->inactivity = t->udp_timeout;
	if (p->proto == 6) {
		f->chain[0] = conn_phase(ts + SYN_TIMEOUT);
		f->nchain = 1;	/* idle after the UDP timeout until the handshake is over */
	}
	if (flip && !broadcast(k))
		conn_flip(f);
	/* the ports Zeek's DNS analyzer takes (53, NetBIOS 137, mDNS, LLMNR) */
	f->dns = p->proto == 17 && (f->rport == 53 || f->rport == 137 || f->rport == 5353 ||
				    f->rport == 5355);
	f->id = ++t->next_id;
	f->hash = h;
	f->due = conn_due(f);
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
	ts = clamp_time(ts);
	advance(t, ts);
	make_key(p, &k);
	h = hash_key(t, &k);
	s = find_slot(t, &k, h);
	if (t->index[s]) {
		i = t->index[s] - 1;
		/* ended by its timers before this packet came, or reused */
		if (t->f[i].due <= ts || (p->proto == 6 && conn_tcp_reuse(&t->f[i], p))) {
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
	/* a packet older than what its flow has seen (merged or reordered
	 * captures) counts at the flow's latest time: last never moves back,
	 * so a duration is never negative and no timer is set in the past */
	if (ts < f->last)
		ts = f->last;
	orig = f->oport == k.sport && same_addr(f->oaddr, p->src, p->ipver);
	if (f->attempt_at && f->attempt_at <= ts)
		f->attempt_at = 0;	/* it fired and found an answer */
	if (p->tunnel_fp != f->tunnel_fp) {
		/* Zeek follows a connection's tunnel changes up to a limit,
		 * then writes X */
		if (f->tunnel_changes >= MAX_TUNNEL_CHANGES)
			conn_check_history(f, H_LIMIT, 'X');
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
		conn_scaled(f, &f->ep[orig ? 0 : 1].chk, orig ? 'C' : 'c');
	} else {
		if (p->proto == 6) {
			conn_tcp_packet(t->tcp_timeout, f, p, ts, &orig);
		} else if (p->proto == 17) {
			f->last = ts;
			conn_check_history(f, orig ? H_UDP : H_UDP << 16, orig ? 'D' : 'd');
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
			f->oflags |= p->proto == 6 ? p->tcp_flags : 0;
		} else {
			f->rpkts++;
			f->rip += p->ip_len;
			f->rflags |= p->proto == 6 ? p->tcp_flags : 0;
		}
	}
	if ((p->flags & PKT_TUNNEL_LIMIT) && !bad)
		conn_check_history(f, H_LIMIT, 'X');	/* Zeek: a tunnel too deep to enter */
	if (t->interval && ts - f->reported >= t->interval) {
		emit(t, f, true);
		f->reported = ts;
	}
	f->due = conn_due(f);
	/* move in the wheel only when the slot changes */
	if (wheel_slot(t, wake(t, f)) != f->wslot) {
		wheel_unlink(t, i);
		wheel_push(t, i);
	}
	if (t->lru_head != i) {
		lru_unlink(t, i);
		lru_push(t, i);
	}
}

void flow_table_tick(struct flow_table *t, int64_t now)
{
	now = clamp_time(now);
	advance(t, now);
	/* and what is due in the second under way: a timer looks more often
	 * than once a second, so a quiet flow ends within a tick of its time */
	if (t->clock_set && second_of(now) == t->wheel_sec) {
		uint32_t i = t->wheel[slot_of(t->wheel_sec)];

		while (i != NIL) {
			uint32_t next = t->f[i].wh_next;

			visit(t, i, now);
			i = next;
		}
	}
}

void flow_table_flush(struct flow_table *t)
{
	/* the least recently active first */
	while (t->lru_tail != NIL) {
		t->f[t->lru_tail].flushed = 1;
		finish(t, t->lru_tail);
	}
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
	xbig_free(t->f);
	xbig_free(t->index);
	free(t);
}
