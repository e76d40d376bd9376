/*
 * conn.c - one flow record's life by Zeek's connection model: the two TCP
 * ends' states and sequence space (Zeek's TCP_Endpoint and
 * TCPSessionAdapter), the history letters, role flips, and when Zeek's
 * timers would end the connection. flows.c keeps the table; this file
 * says what a packet does to one record. The rules are listed in flows.c.
 */
#include <string.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "core/vocab/port.h"
#include "core/base/banned.h"

#define TOO_LARGE_SEQ_DELTA 1048576
#define ATTEMPT_DELAY (5 * FLOW_SEC)	/* tcp_attempt_delay */
#define LINGER (5 * FLOW_SEC)		/* tcp_connection_linger */
#define CLOSE_DELAY (5 * FLOW_SEC)	/* tcp_close_delay */
#define DNS_TIMEOUT (10 * FLOW_SEC)	/* dns_session_timeout */
#define SEC FLOW_SEC
#define SESSION_TIMER FLOW_SESSION_TIMER

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
uint64_t conn_tcp_size(const struct tcp_end *e, const struct tcp_end *peer)
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
bool conn_check_history(struct flow_rec *f, uint32_t mask, char code)
{
	if (f->hist_seen & mask)
		return true;
	f->hist_seen |= mask;
	add_history(f, code);
	return false;
}

/* Letters recorded at the 1st, 10th, 100th ... time. */
void conn_scaled(struct flow_rec *f, uint32_t *count, char code)
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
void conn_flip(struct flow_rec *f)
{
	SWAP(f->oaddr, f->raddr);
	SWAP(f->oport, f->rport);
	SWAP(f->opkts, f->rpkts);
	SWAP(f->obytes, f->rbytes);
	SWAP(f->oip, f->rip);
	SWAP(f->oflags, f->rflags);
	SWAP(f->xopkts, f->xrpkts);
	SWAP(f->xoip, f->xrip);
	SWAP(f->ep[0], f->ep[1]);
	unsigned a = f->act_o;

	f->act_o = f->act_r;
	f->act_r = a;
	add_history(f, '^');
}

static void flip_now(struct flow_rec *f, bool *orig)
{
	conn_flip(f);
	*orig = !*orig;
}

/* ---- TCP, as Zeek's TCPSessionAdapter ---- */

struct seg {
	int64_t ts;
	uint32_t seq, ack;
	uint16_t win;
	int len;		/* payload bytes by the headers */
	bool syn, fin, rst, ackf;
};

static bool handshake_state(uint8_t s)
{
	return s == TE_INACTIVE || s == TE_SYN_SENT || s == TE_SYN_ACK_SENT;
}

static void set_state(uint32_t tcp_timeout, struct flow_rec *f, int ei, uint8_t st)
{
	struct tcp_end *e = &f->ep[ei], *peer = &f->ep[ei ^ 1];

	if (st == e->state)
		return;
	/* leaving the handshake: the connection's idle timeout grows */
	if (!handshake_state(st) && handshake_state(e->state) && handshake_state(peer->state) &&
	    f->inactivity < tcp_timeout)
		f->inactivity = tcp_timeout;
	e->prev_state = e->state;
	e->state = st;
}

/* Zeek's connection_established: FTP, SSH, Telnet and rlogin idle for an hour. */
static void established(struct flow_rec *f)
{
	unsigned port = f->rport;

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
	return conn_check_history(f, mask, code);
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

static void update_last_seq(struct flow_rec *f, struct tcp_end *e, bool orig, uint32_t last,
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
		conn_scaled(f, &e->rxmt, orig ? 'T' : 't');
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
static void inactive_state(uint32_t tcp_timeout, struct flow_rec *f, int *ei, bool is_orig,
			   bool *flipped, const struct seg *s, struct closing *c)
{
	struct tcp_end *e = &f->ep[*ei], *peer = &f->ep[*ei ^ 1];

	if (s->syn) {
		if (is_orig) {
			set_state(tcp_timeout, f, *ei, s->ackf ? TE_SYN_ACK_SENT : TE_SYN_SENT);
			f->attempt_at = s->ts + ATTEMPT_DELAY;
		} else {
			if (!s->ackf && peer->state == TE_SYN_ACK_SENT &&
			    s->seq == e->start_seq) {
				/* a SYN/SYN-ACK reversal: the SYN's sender opened it */
				flip_now(f, flipped);
				*ei ^= 1;
				e = &f->ep[*ei];
				peer = &f->ep[*ei ^ 1];
				set_state(tcp_timeout, f, *ei ^ 1, TE_ESTABLISHED);
			}
			if (peer->state == TE_SYN_SENT)
				set_state(tcp_timeout, f, *ei ^ 1, TE_ESTABLISHED);
			set_state(tcp_timeout, f, *ei, TE_ESTABLISHED);
			if (peer->state != TE_PARTIAL)
				established(f);
		}
	}
	if (s->fin) {
		set_state(tcp_timeout, f, *ei, TE_CLOSED);
		c->do_close = c->gen_event = true;
	}
	if (s->rst) {
		bool reject = is_orig ? peer->state == TE_ESTABLISHED
				    : (peer->state == TE_SYN_SENT || peer->state == TE_SYN_ACK_SENT);

		set_state(tcp_timeout, f, *ei, TE_RESET);
		c->do_close = true;
		c->gen_event = !reject;
	}
	if (e->state == TE_INACTIVE) {
		if (!is_orig && s->len == 0 && f->ep[0].state == TE_SYN_SENT)
			;	/* an ACK of the SYN before the SYN-ACK: not partial */
		else if (s->ackf && peer->state == TE_ESTABLISHED)
			set_state(tcp_timeout, f, *ei, TE_ESTABLISHED);	/* the SYN was missed */
		else
			set_state(tcp_timeout, f, *ei, TE_PARTIAL);
	}
}

static void update_state(uint32_t tcp_timeout, struct flow_rec *f, int *ei, bool is_orig,
			 bool *flipped, const struct seg *s, struct closing *c)
{
	struct tcp_end *e = &f->ep[*ei], *peer = &f->ep[*ei ^ 1];

	switch (e->state) {
	case TE_INACTIVE:
		inactive_state(tcp_timeout, f, ei, is_orig, flipped, s, c);
		break;
	case TE_SYN_SENT:
	case TE_SYN_ACK_SENT:
		if (s->fin) {
			set_state(tcp_timeout, f, *ei, TE_CLOSED);
			c->do_close = c->gen_event = true;
		}
		if (s->rst) {
			set_state(tcp_timeout, f, *ei, TE_RESET);
			conn_reset(f);
			c->do_close = true;
		}
		break;
	case TE_ESTABLISHED:
	case TE_PARTIAL:
		if (s->syn && e->state == TE_PARTIAL && peer->state == TE_INACTIVE && !s->ackf)
			set_state(tcp_timeout, f, *ei, TE_SYN_SENT);
		if (s->fin && !s->rst) {
			set_state(tcp_timeout, f, *ei, TE_CLOSED);
			/* a FIN then a RST from the peer was a normal close */
			if (peer->state == TE_RESET && peer->prev_state == TE_CLOSED)
				set_state(tcp_timeout, f, *ei ^ 1, TE_CLOSED);
			c->do_close = c->gen_event = true;
		}
		if (s->rst) {
			set_state(tcp_timeout, f, *ei, TE_RESET);
			c->do_close = true;
			if (peer->state != TE_RESET || peer->prev_state != TE_ESTABLISHED)
				conn_reset(f);
		}
		break;
	case TE_CLOSED:
		/* a RST after both FINs does not change the record */
		if (s->rst && peer->state != TE_CLOSED) {
			set_state(tcp_timeout, f, *ei, TE_RESET);
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
		f->chain[f->nchain++] = conn_phase(f->last + SESSION_TIMER);
	}
}

void conn_tcp_packet(uint32_t tcp_timeout, struct flow_rec *f, const struct pkt *p, int64_t ts,
		       bool *orig)
{
	struct seg s = {
		.ts = ts, .seq = p->seq, .ack = p->ack, .win = p->win,
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
	struct closing c = { false, false };

	init_endpoint(e, &s, past);
	rel = relative_seq(e, s.seq, e->last_seq, e->seq_wraps, &underflow);
	update_history(f, &ei, orig, &s, rel);
	e = &f->ep[ei];
	peer = &f->ep[ei ^ 1];
	/* a zero window is news unless it comes with or after a reset, or
	 * after the peer closed */
	if (s.win == 0 && !s.rst && peer->state != TE_CLOSED && e->state != TE_RESET)
		conn_scaled(f, &e->win0, *orig ? 'W' : 'w');
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
	update_last_seq(f, e, *orig, past, &s);
	update_state(tcp_timeout, f, &ei, is_orig, orig, &s, &c);
	if (c.do_close)
		connection_closed(f, ei, c.gen_event);
}

/* Zeek's IsReuse: a SYN with a new initial sequence number. */
bool conn_tcp_reuse(const struct flow_rec *f, const struct pkt *p)
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

uint32_t conn_phase(int64_t t)
{
	int64_t r = t % SESSION_TIMER;

	return (uint32_t)(r < 0 ? r + SESSION_TIMER : r);
}

/* When Zeek's timers would end the flow if nothing more came. */
int64_t conn_due(const struct flow_rec *f)
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
				int64_t b = after - conn_phase(after) + f->chain[i];

				while (b <= after)
					b += SESSION_TIMER;
				due = min64(due, b);
			}
		}
	}
	return due;
}

