/*
 * flows.c - the flow table: one record per transport session.
 *
 * A flow is keyed by (protocol, address and port of both ends), the same
 * in both directions. The originator is who sent the first packet, unless
 * that packet was a SYN-ACK or a UDP datagram from the server end by the
 * port vocabulary (core/port: DNS 53 -> 40000, DHCP 67 -> 68); then the
 * roles flip and the history gets '^', as in Zeek. UDP history has Zeek's
 * D and d (data each way).
 *
 * Lifetime, in capture time: a TCP flow ends 2 s after it closed (FIN both
 * ways, or a RST), so trailing ACKs still count, or at once when a new SYN
 * reuses its 5-tuple; a TCP flow idle for --tcp-timeout (300 s) and a UDP
 * or other flow idle for --udp-timeout (60 s) end too. A flow still active
 * --interval seconds after its last record gets an interim record. At the
 * end of input everything left is written.
 *
 * Memory is bounded: a fixed-size record per flow (flow_size() bytes, plus
 * 8 bytes of index at the table's load) and a cap (--max-flows); when full,
 * the least recently active flow is written early and counted as evicted.
 * Expiry is O(1) per flow: three LRU lists, one per timeout class, each
 * ordered by last activity.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "core/port.h"
#include "core/xalloc.h"
#include "core/banned.h"

#define NIL UINT32_MAX
#define CLOSE_LINGER_US 2000000LL

enum { L_OPEN_TCP, L_CLOSED_TCP, L_OTHER, L_COUNT };

struct lru {
	uint32_t head, tail;
};

struct flow_table {
	struct flow_rec *f;	/* slots; free ones chained through lru_next */
	size_t fcap;		/* slots allocated (grows up to cap) */
	uint32_t *index;	/* open addressing: flow slot + 1, 0 = empty */
	size_t mask;		/* index size - 1; kept at most half full */
	size_t cap, used, peak, evicted;
	uint32_t free_head;
	struct lru lru[L_COUNT];
	int64_t timeout[L_COUNT];
	int64_t interval;
	uint64_t next_id;
	flow_emit emit;
	void *arg;
};

size_t flow_size(void)
{
	return sizeof(struct flow_rec);
}

static uint32_t hash_key(const struct flow_rec *k)
{
	/* symmetric: both directions hash alike */
	uint32_t h = 2166136261u ^ k->proto;
	uint32_t a = 0, b = 0;
	size_t n = k->ipver == 4 ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		a = a * 31 + k->oaddr[i];
		b = b * 31 + k->raddr[i];
	}
	a ^= (uint32_t)k->oport << 16;
	b ^= (uint32_t)k->rport << 16;
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

static bool same_flow(const struct flow_rec *f, const struct pkt *p)
{
	size_t n = p->ipver == 4 ? 4 : 16;

	if (f->proto != p->proto || f->ipver != p->ipver)
		return false;
	if (f->oport == p->sport && f->rport == p->dport && !memcmp(f->oaddr, p->src, n) &&
	    !memcmp(f->raddr, p->dst, n))
		return true;
	return f->oport == p->dport && f->rport == p->sport && !memcmp(f->oaddr, p->dst, n) &&
	       !memcmp(f->raddr, p->src, n);
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
	for (int i = 0; i < L_COUNT; i++)
		t->lru[i].head = t->lru[i].tail = NIL;
	t->timeout[L_OPEN_TCP] = (int64_t)(o->tcp_timeout ? o->tcp_timeout : 300) * 1000000;
	t->timeout[L_CLOSED_TCP] = CLOSE_LINGER_US;
	t->timeout[L_OTHER] = (int64_t)(o->udp_timeout ? o->udp_timeout : 60) * 1000000;
	t->interval = (int64_t)o->interval * 1000000;
	t->emit = emit;
	t->arg = arg;
	return t;
}

/* ---- LRU lists ---- */

static void unlink_lru(struct flow_table *t, uint32_t i)
{
	struct flow_rec *f = &t->f[i];
	struct lru *l = &t->lru[f->list];

	if (f->lru_prev != NIL)
		t->f[f->lru_prev].lru_next = f->lru_next;
	else
		l->head = f->lru_next;
	if (f->lru_next != NIL)
		t->f[f->lru_next].lru_prev = f->lru_prev;
	else
		l->tail = f->lru_prev;
}

static void push_lru(struct flow_table *t, uint32_t i, uint8_t list)
{
	struct flow_rec *f = &t->f[i];
	struct lru *l = &t->lru[list];

	f->list = list;
	f->lru_prev = NIL;
	f->lru_next = l->head;
	if (l->head != NIL)
		t->f[l->head].lru_prev = i;
	l->head = i;
	if (l->tail == NIL)
		l->tail = i;
}

/* ---- index ---- */

static size_t find_slot(const struct flow_table *t, const struct pkt *p, uint32_t h)
{
	size_t s = h & t->mask;

	while (t->index[s] && !same_flow(&t->f[t->index[s] - 1], p))
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

static void release(struct flow_table *t, uint32_t i)
{
	unlink_lru(t, i);
	index_remove(t, i);
	t->f[i].lru_next = t->free_head;
	t->free_head = i;
	t->used--;
}

static void finish(struct flow_table *t, uint32_t i)
{
	t->emit(&t->f[i], false, t->arg);
	release(t, i);
}

static void evict_one(struct flow_table *t)
{
	uint32_t best = NIL;

	for (int l = 0; l < L_COUNT; l++) {
		uint32_t c = t->lru[l].tail;

		if (c != NIL && (best == NIL || t->f[c].last < t->f[best].last))
			best = c;
	}
	if (best != NIL) {
		t->f[best].evicted = true;
		t->evicted++;
		finish(t, best);
	}
}

static void expire(struct flow_table *t, int64_t now)
{
	for (int l = 0; l < L_COUNT; l++) {
		while (t->lru[l].tail != NIL) {
			uint32_t i = t->lru[l].tail;

			if (now - t->f[i].last < t->timeout[l])
				break;
			finish(t, i);
		}
	}
}

static uint32_t new_flow(struct flow_table *t, const struct pkt *p, int64_t ts, uint32_t h)
{
	struct flow_rec *f;
	uint32_t i;
	bool flip;

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
	flip = (p->proto == 6 && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) ||
	       (p->proto == 17 && p->has_ports && p->sport != p->dport &&
		port_server_side(PROTO_UDP, p->sport, p->dport, NULL) == 'a');
	f->proto = p->proto;
	f->ipver = p->ipver;
	memcpy(f->oaddr, flip ? p->dst : p->src, 16);
	memcpy(f->raddr, flip ? p->src : p->dst, 16);
	f->oport = flip ? p->dport : p->sport;
	f->rport = flip ? p->sport : p->dport;
	f->flipped = flip;
	if (flip) {
		f->history[0] = '^';
		f->hlen = 1;
	}
	f->start = f->last = f->reported = ts;
	f->id = ++t->next_id;
	f->hash = h;
	t->used++;
	if (t->used > t->peak)
		t->peak = t->used;
	push_lru(t, i, p->proto == 6 ? L_OPEN_TCP : L_OTHER);
	return i;
}

static void history(struct flow_rec *f, bool orig, char c)
{
	unsigned bit = 1u << ((c - 'A') & 15);
	uint16_t *seen = orig ? &f->seen_o : &f->seen_r;

	if (c == 'D' ? (orig ? f->data_o : f->data_r) : (*seen & bit))
		return;
	if (c == 'D') {
		if (orig)
			f->data_o = 1;
		else
			f->data_r = 1;
	} else {
		*seen |= (uint16_t)bit;
	}
	if (f->hlen < sizeof(f->history) - 1) {
		f->history[f->hlen++] = orig ? c : (char)(c - 'A' + 'a');
		f->history[f->hlen] = '\0';
	}
}

static void tcp_update(struct flow_rec *f, const struct pkt *p, bool orig)
{
	uint8_t fl = p->tcp_flags;

	if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		history(f, orig, 'S');
		if (orig)
			f->syn_o = 1;
	} else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
		history(f, orig, 'H');
		if (!orig)
			f->synack_r = 1;
	} else if ((fl & TCP_ACK) && !p->payload_len && !(fl & (TCP_FIN | TCP_RST))) {
		history(f, orig, 'A');
	}
	if (p->payload_len)
		history(f, orig, 'D');
	if (fl & TCP_FIN) {
		history(f, orig, 'F');
		if (orig)
			f->fin_o = 1;
		else
			f->fin_r = 1;
	}
	if (fl & TCP_RST) {
		history(f, orig, 'R');
		if (orig)
			f->rst_o = 1;
		else
			f->rst_r = 1;
	}
}

static bool closed(const struct flow_rec *f)
{
	return f->rst_o || f->rst_r || (f->fin_o && f->fin_r);
}

void flow_table_add(struct flow_table *t, const struct pkt *p, int64_t ts)
{
	uint32_t h, i;
	size_t s;
	struct flow_rec key, *f;
	bool orig;

	/* a later fragment has no ports, a cut transport header no flags */
	if (!p->ipver || (p->flags & PKT_FRAGMENT) ||
	    ((p->flags & PKT_TRUNCATED) && !p->payload))
		return;
	/* TCP or UDP without readable ports would be a phantom :0 flow */
	if ((p->proto == 6 || p->proto == 17) && !p->has_ports)
		return;
	expire(t, ts);
	memset(&key, 0, sizeof(key));
	key.proto = p->proto;
	key.ipver = p->ipver;
	memcpy(key.oaddr, p->src, 16);
	memcpy(key.raddr, p->dst, 16);
	key.oport = p->has_ports ? p->sport : 0;
	key.rport = p->has_ports ? p->dport : 0;
	h = hash_key(&key);
	s = find_slot(t, p, h);
	/* a new SYN on a closed flow is a new session on the same ports */
	if (t->index[s] && p->proto == 6 && closed(&t->f[t->index[s] - 1]) &&
	    (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		finish(t, t->index[s] - 1);
		s = find_slot(t, p, h);
	}
	if (!t->index[s]) {
		i = new_flow(t, p, ts, h);
		if (t->used * 2 > t->mask + 1)
			grow_index(t);
		s = find_slot(t, p, h);
		t->index[s] = i + 1;
	}
	i = t->index[s] - 1;
	f = &t->f[i];
	orig = f->oport == p->sport && !memcmp(f->oaddr, p->src, p->ipver == 4 ? 4 : 16);
	if (orig) {
		f->opkts++;
		f->obytes += p->payload_len;
		f->oip += p->ip_len;
	} else {
		f->rpkts++;
		f->rbytes += p->payload_len;
		f->rip += p->ip_len;
	}
	if (p->proto == 6)
		tcp_update(f, p, orig);
	else if (p->proto == 17 && p->payload_len)
		history(f, orig, 'D');	/* as Zeek: D and d, once each way */
	f->last = ts;
	unlink_lru(t, i);
	push_lru(t, i, p->proto == 6 ? (closed(f) ? L_CLOSED_TCP : L_OPEN_TCP) : L_OTHER);
	if (t->interval && ts - f->reported >= t->interval) {
		t->emit(f, true, t->arg);
		f->reported = ts;
	}
}

void flow_table_flush(struct flow_table *t)
{
	/* oldest activity first, across the three lists */
	for (;;) {
		uint32_t best = NIL;

		for (int l = 0; l < L_COUNT; l++) {
			uint32_t c = t->lru[l].tail;

			if (c != NIL && (best == NIL || t->f[c].last < t->f[best].last ||
					 (t->f[c].last == t->f[best].last && t->f[c].id < t->f[best].id)))
				best = c;
		}
		if (best == NIL)
			break;
		finish(t, best);
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
	free(t->f);
	free(t->index);
	free(t);
}
