/*
 * reasm.c - TCP messages that span segments, put together for the packet
 * line's summary: an HTTP request line cut by a segment boundary, a TLS
 * ClientHello longer than one segment (post-quantum key shares make them
 * so), after which the SNI is readable.
 *
 * Only what app.c asks for is kept: a stream enters when a segment starts
 * a message that goes on, and leaves when the message is whole, when
 * REASM_MAX bytes are kept, when a segment comes out of order, or after
 * REASM_IDLE. NSTREAMS slots chosen by a hash of the ends: a stream that
 * lands on a taken slot takes it over. While no stream is kept, a packet
 * costs one comparison; otherwise one slot is looked at: the printer's
 * fast path is untouched.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "core/base/hash.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define NSTREAMS 256
#define REASM_IDLE 30000000LL	/* microseconds */

struct stream {
	bool used;
	uint8_t ipver;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t next;		/* the sequence number that continues it */
	int64_t seen;
	unsigned segments;
	size_t len;
	uint8_t *buf;		/* REASM_MAX bytes */
};

struct reasm {
	size_t used;
	struct stream s[NSTREAMS];
};

struct reasm *reasm_new(void)
{
	return xcalloc(1, sizeof(struct reasm));
}

void reasm_free(struct reasm *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < NSTREAMS; i++)
		free(r->s[i].buf);
	free(r);
}

static bool same(const struct stream *s, const struct pkt *p)
{
	size_t n = p->ipver == 4 ? 4 : 16;

	return s->used && s->ipver == p->ipver && s->sport == p->sport && s->dport == p->dport &&
	       !memcmp(s->src, p->src, n) && !memcmp(s->dst, p->dst, n);
}

static size_t slot(const struct pkt *p)
{
	size_t n = p->ipver == 4 ? 4 : 16;
	uint64_t h = hash_add(hash_add(HASH_INIT + ((uint32_t)p->sport << 16 | p->dport), p->src, n),
			      p->dst, n);

	return hash_mix(h) % NSTREAMS;
}

static struct stream *find(struct reasm *r, const struct pkt *p)
{
	struct stream *s = &r->s[slot(p)];

	return same(s, p) ? s : NULL;
}

static void drop(struct reasm *r, struct stream *s)
{
	s->used = false;
	r->used--;
}

/* The segment's payload, all of it captured; else NULL. */
static const uint8_t *whole_payload(const struct pkt *p)
{
	if (p->proto != 6 || !p->payload || !p->payload_len || p->payload_caplen < p->payload_len)
		return NULL;
	return p->payload;
}

const uint8_t *reasm_continue(struct reasm *r, const struct pkt *p, int64_t ts, size_t *n,
			      unsigned *segments)
{
	struct stream *s;
	const uint8_t *d;
	size_t k;

	if (!r->used || !(d = whole_payload(p)) || !(s = find(r, p)))
		return NULL;
	if (p->seq != s->next || ts - s->seen > REASM_IDLE) {
		drop(r, s);	/* out of order or stale: give up on it */
		return NULL;
	}
	k = p->payload_len;
	if (k > REASM_MAX - s->len)
		k = REASM_MAX - s->len;
	memcpy(s->buf + s->len, d, k);
	s->len += k;
	s->next += p->payload_len;
	s->seen = ts;
	s->segments++;
	*n = s->len;
	*segments = s->segments;
	if (s->len == REASM_MAX) {
		drop(r, s);	/* as much as we keep: read it, then let go */
		return s->buf;
	}
	return s->buf;
}

void reasm_start(struct reasm *r, const struct pkt *p, int64_t ts)
{
	struct stream *s = &r->s[slot(p)];
	const uint8_t *d = whole_payload(p);

	if (!d || p->payload_len >= REASM_MAX)
		return;
	if (!s->used)
		r->used++;
	s->used = true;
	s->ipver = p->ipver;
	memcpy(s->src, p->src, 16);
	memcpy(s->dst, p->dst, 16);
	s->sport = p->sport;
	s->dport = p->dport;
	s->next = p->seq + p->payload_len;
	s->seen = ts;
	s->segments = 1;
	if (!s->buf)
		s->buf = xmalloc(REASM_MAX);
	memcpy(s->buf, d, p->payload_len);
	s->len = p->payload_len;
}

void reasm_done(struct reasm *r, const struct pkt *p)
{
	struct stream *s = r->used ? find(r, p) : NULL;

	if (s)
		drop(r, s);
}
