/*
 * frag.c - IP fragments put back together for the flow table, as Zeek and
 * tshark do: a datagram counts once, when its last piece arrives, with the
 * ports and tunnels only its first piece shows.
 *
 * Bounded: MAX_PENDING slots chosen by a hash of the datagram (a new one
 * takes over a slot another still waits in), each at most 64 KiB, dropped
 * FRAG_TIMEOUT after its first piece. Overlapping pieces: the later one
 * wins.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "core/base/hash.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define MAX_PENDING 256
#define MAX_DATAGRAM 65535
#define FRAG_TIMEOUT 60000000LL	/* microseconds */
#define HDR_MAX 512		/* IPv6 unfragmentable part we keep */

struct pending {
	bool used;
	uint8_t ipver, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	int64_t first;		/* time of the first piece seen */
	uint8_t hdr[HDR_MAX];	/* the first piece's header(s) */
	size_t hlen;		/* 0 until the first piece (offset 0) came */
	size_t nh_at;		/* IPv6: the byte naming the fragment header */
	size_t total;		/* data length, known once the last piece came */
	uint8_t have[MAX_DATAGRAM / 64 + 1];	/* 8-byte blocks received */
	uint8_t *data;
};

struct frag_table {
	struct pending p[MAX_PENDING];
	uint8_t out[HDR_MAX + MAX_DATAGRAM];
};

struct frag_table *frag_new(void)
{
	return xcalloc(1, sizeof(struct frag_table));
}

void frag_free(struct frag_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < MAX_PENDING; i++)
		free(t->p[i].data);
	free(t);
}

/* set bits [lo, hi) of a bitmap: the edges bit by bit, whole bytes between */
static void mark(uint8_t *have, size_t lo, size_t hi)
{
	for (; lo < hi && lo % 8; lo++)
		have[lo / 8] |= (uint8_t)(1u << (lo % 8));
	if (hi - lo >= 8) {
		memset(have + lo / 8, 0xff, (hi - lo) / 8);
		lo += (hi - lo) / 8 * 8;
	}
	for (; lo < hi; lo++)
		have[lo / 8] |= (uint8_t)(1u << (lo % 8));
}

static void drop(struct pending *e)
{
	e->used = false;
}

/* Its slot: a hash of the datagram's key. Two datagrams that land on the
 * same slot cannot both wait: the later one takes it over. */
static struct pending *find(struct frag_table *t, const struct pkt *p, int64_t ts)
{
	size_t n = p->ipver == 4 ? 4 : 16;
	uint64_t h = hash_add(hash_add(HASH_INIT + p->frag_id, p->src, n), p->dst, n);
	struct pending *e = &t->p[hash_mix(h ^ p->proto) % MAX_PENDING];

	if (e->used && ts - e->first > FRAG_TIMEOUT)
		drop(e);
	if (e->used && e->ipver == p->ipver && e->id == p->frag_id && e->proto == p->proto &&
	    !memcmp(e->src, p->src, n) && !memcmp(e->dst, p->dst, n))
		return e;
	e->used = true;
	e->ipver = p->ipver;
	e->proto = p->proto;
	memcpy(e->src, p->src, 16);
	memcpy(e->dst, p->dst, 16);
	e->id = p->frag_id;
	e->first = ts;
	e->hlen = 0;
	e->total = 0;
	memset(e->have, 0, sizeof(e->have));
	if (!e->data)
		e->data = xmalloc(MAX_DATAGRAM);
	return e;
}

static bool complete(const struct pending *e)
{
	if (!e->hlen || !e->total)
		return false;
	size_t nb = (e->total + 7) / 8;	/* blocks; whole bitmap bytes first */

	for (size_t i = 0; i < nb / 8; i++)
		if (e->have[i] != 0xff)
			return false;
	return nb % 8 == 0 || (e->have[nb / 8] & ((1u << (nb % 8)) - 1)) == (1u << (nb % 8)) - 1;
}

int frag_add(struct frag_table *t, const struct pkt *p, int64_t ts, const uint8_t **out,
	     size_t *outlen)
{
	const uint8_t *l3 = p->l3, *data;
	size_t hl, off, len;
	bool more;
	struct pending *e;

	if (!l3)
		return 0;
	if (p->ipver == 4) {
		hl = (size_t)(l3[0] & 15) * 4;
		off = (size_t)(p->frag_off & 0x1fff) * 8;
		more = (p->frag_off & 0x2000) != 0;
	} else {
		hl = (size_t)p->frag_hdr + 8;
		off = p->frag_off & 0xfff8;
		more = (p->frag_off & 1) != 0;
	}
	if (p->ip_len < hl || hl > p->l3_caplen)
		return 0;
	len = p->ip_len - hl;
	if (hl + len > p->l3_caplen || off + len > MAX_DATAGRAM)
		return 0;	/* cut by the snap length, or too big: cannot rebuild */
	data = l3 + hl;
	e = find(t, p, ts);
	memcpy(e->data + off, data, len);
	mark(e->have, off / 8, (off + len + 7) / 8);
	if (!more)
		e->total = off + len;
	if (off == 0) {
		size_t keep = p->ipver == 4 ? hl : p->frag_hdr;

		if (keep > HDR_MAX) {
			drop(e);
			return 0;
		}
		memcpy(e->hdr, l3, keep);
		e->hlen = keep;
		e->nh_at = p->frag_nh_at;
		/* the next header after the fragment header */
		if (p->ipver == 6)
			e->hdr[e->nh_at] = l3[p->frag_hdr];
	}
	if (!complete(e))
		return 0;
	/* the whole datagram: the first header, lengths fixed, unfragmented */
	memcpy(t->out, e->hdr, e->hlen);
	memcpy(t->out + e->hlen, e->data, e->total);
	if (e->ipver == 4) {
		size_t tot = e->hlen + e->total;

		if (tot > 0xffff) {
			drop(e);
			return 0;
		}
		t->out[2] = (uint8_t)(tot >> 8);
		t->out[3] = (uint8_t)tot;
		t->out[6] = t->out[7] = 0;
		t->out[10] = t->out[11] = 0;	/* a checksum for the rebuilt header */
		uint16_t c = pkt_checksum(t->out, e->hlen);

		t->out[10] = (uint8_t)(c >> 8);
		t->out[11] = (uint8_t)c;
	} else {
		size_t pl = e->hlen - 40 + e->total;

		if (pl > 0xffff) {
			drop(e);
			return 0;
		}
		t->out[4] = (uint8_t)(pl >> 8);
		t->out[5] = (uint8_t)pl;
	}
	*out = t->out;
	*outlen = e->hlen + e->total;
	drop(e);
	return 1;
}
