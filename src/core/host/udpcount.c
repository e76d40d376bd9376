/*
 * udpcount.c - per-socket UDP counts for portkit top: the delta logic,
 * the capture fallback and the attribution of flows to sockets.
 *
 * bpf mode, and why nothing is lost. The programs only ever add to an
 * entry's cumulative counters; this side never resets them. Each read
 * takes the whole map (BPF_MAP_LOOKUP_BATCH), subtracts the values the
 * previous read saw (kept here, per cookie) and returns what moved. An
 * entry is retired only when (1) the previous read saw it, (2) it has not
 * moved since, and (3) its socket is not in the dump t taken just before
 * this read: a socket closed, idle for a whole interval, whose last counts
 * a read has already returned. It is then taken out with
 * BPF_MAP_LOOKUP_AND_DELETE_ELEM, which hands back its value at the moment
 * of deletion: anything added between the batch read and the delete is
 * returned too. A socket that sends and closes between two reads keeps
 * its entry (condition 1 or 2 fails) until the read after the one that
 * returned its final counts. The one window left is a datagram whose
 * program looked the entry up before the delete and adds after it: it
 * would need a socket absent from t (closed, or in another network
 * namespace: cgroup programs count every namespace, sock_diag dumps one)
 * that was silent a whole interval and sends in the microseconds of that
 * delete; an entry made again afterwards counts from zero, and this side
 * forgets a cookie together with its entry, so the next read returns it
 * whole. The map has no preallocation (BPF_F_NO_PREALLOC): memory follows
 * the number of sockets, at most UDPCOUNT_MAX; when it is full the
 * programs count the datagram in a per-CPU `lost` counter instead.
 *
 * pcap mode: libpcap on "any", filter "udp", 128 bytes a packet, its fd in
 * the caller's loop; packets add to a flow table (local and remote address
 * and port, by the SLL packet type: outgoing or not) that each read empties
 * after matching every flow to a socket (udpcount.h). Memory: the flow
 * table, at most UDPCOUNT_MAX_FLOWS entries, and a copy of the previous
 * dump's UDP sockets.
 */
#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/udpcount.h"
#include "core/host/udpcount_bpf.h"
#include "core/wire/pkt.h"

#include "core/base/banned.h"

#define SNAPLEN 128
#define PCAP_TIMEOUT_MS 100
#define PCAP_BUFFER (4 << 20)
#define FLOW_SLOTS_MIN 256
#define STR_(x) #x
#define STR(x) STR_(x)

struct prev {			/* what the previous read saw of a cookie */
	uint64_t cookie;	/* 0: free slot */
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
};

struct prev_table {
	struct prev *v;
	size_t n, mask;		/* mask + 1 slots, a power of two, or none */
};

struct flow_key {
	uint8_t family, pad;
	uint16_t lport, rport, pad2;
	uint8_t laddr[16], raddr[16];
};

struct flow {
	struct flow_key k;
	bool used;
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
};

/* a socket in the attribution index: kind 0 connected (4-tuple), 1 bound
 * (local address and port), 2 wildcard (local port) */
struct sock_key {
	uint8_t kind, family;
	uint16_t lport, rport, pad;
	uint8_t laddr[16], raddr[16];
};

struct sock_slot {
	struct sock_key k;
	bool used;
	uint64_t cookie;
	uint32_t uid;
};

struct udpcount {
	unsigned mode;			/* UDPCOUNT_NO_BPF ...: which source runs */
	const char *source;
	char bpf_err[200];
	struct udpcount_kern *kern;
	/* bpf and feed: the map as read, and the previous read */
	uint64_t *keys;
	struct udp_val *vals;
	size_t nmap, mapcap;
	struct prev_table prev;
	/* pcap */
	struct ev_loop *loop;
	pcap_t *h;
	int linktype;
	uint32_t lo_ifindex;		/* "lo" in this namespace */
	struct ev_io io;
	struct flow *flows;		/* open addressing, at most half full */
	size_t nflows, flowmask;
	uint64_t flows_lost;
	struct sock_rec *last;		/* the previous read's UDP sockets */
	size_t nlast;
};

/* ---- small open-addressing tables (no deletion: rebuilt per read) ---- */

static size_t pow2_for(size_t n)
{
	size_t c = 16;

	while (c < 2 * n)
		c *= 2;
	return c;
}

static struct prev *prev_slot(struct prev_table *p, uint64_t cookie)
{
	size_t i;

	if (!p->v)
		return NULL;
	for (i = hash_mix(cookie) & p->mask; p->v[i].cookie && p->v[i].cookie != cookie;
	     i = (i + 1) & p->mask)
		;
	return &p->v[i];
}

static const struct prev *prev_find(struct prev_table *p, uint64_t cookie)
{
	struct prev *s = prev_slot(p, cookie);

	return s && s->cookie == cookie ? s : NULL;
}

static void prev_free(struct prev_table *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ---- the output: one entry per cookie (per flow for cookie 0) ---- */

struct out {
	struct udp_count *v;
	size_t n, cap;
	uint64_t *idx;			/* cookie -> index + 1, open addressing */
	size_t mask;
};

static void out_add(struct out *o, const struct udp_count *c)
{
	size_t i = 0;

	if (!(c->tx_pkts | c->rx_pkts | c->tx_bytes | c->rx_bytes))
		return;
	if (c->cookie) {
		if (!o->idx || o->n * 2 >= o->mask) {	/* grow and rehash */
			size_t m = pow2_for(o->n + 1) * 2 - 1;

			free(o->idx);
			o->idx = xcalloc(m + 1, sizeof(*o->idx));
			o->mask = m;
			for (size_t j = 0; j < o->n; j++) {
				if (!o->v[j].cookie)
					continue;
				for (i = hash_mix(o->v[j].cookie) & m; o->idx[i]; i = (i + 1) & m)
					;
				o->idx[i] = j + 1;
			}
		}
		for (i = hash_mix(c->cookie) & o->mask; o->idx[i]; i = (i + 1) & o->mask) {
			struct udp_count *e = &o->v[o->idx[i] - 1];

			if (e->cookie == c->cookie) {
				e->tx_bytes += c->tx_bytes, e->rx_bytes += c->rx_bytes;
				e->tx_pkts += c->tx_pkts, e->rx_pkts += c->rx_pkts;
				return;
			}
		}
	}
	o->v = xgrow(o->v, sizeof(*o->v), o->n + 1, &o->cap);
	o->v[o->n] = *c;
	if (c->cookie)
		o->idx[i] = o->n + 1;
	o->n++;
}

/* ---- bpf (and feed): deltas of cumulative counters ---- */

static bool in_table(const uint64_t *set, size_t mask, uint64_t cookie)
{
	for (size_t i = hash_mix(cookie) & mask; set[i]; i = (i + 1) & mask)
		if (set[i] == cookie)
			return true;
	return false;
}

static uint64_t *cookie_set(const struct sock_table *t, size_t *mask)
{
	size_t m = pow2_for(t ? t->n : 0) - 1;
	uint64_t *set = xcalloc(m + 1, sizeof(*set));

	for (size_t j = 0; t && j < t->n; j++) {
		uint64_t c = t->v[j].cookie;
		size_t i;

		if (!c || t->v[j].proto != IPPROTO_UDP)
			continue;
		for (i = hash_mix(c) & m; set[i] && set[i] != c; i = (i + 1) & m)
			;
		set[i] = c;
	}
	*mask = m;
	return set;
}

static void count_from(struct udp_count *c, uint64_t cookie, const struct udp_val *v,
		       const struct prev *p)
{
	memset(c, 0, sizeof(*c));
	c->cookie = cookie;
	c->tx_bytes = v->tx_bytes - (p ? p->tx_bytes : 0);
	c->rx_bytes = v->rx_bytes - (p ? p->rx_bytes : 0);
	c->tx_pkts = v->tx_pkts - (p ? p->tx_pkts : 0);
	c->rx_pkts = v->rx_pkts - (p ? p->rx_pkts : 0);
	c->family = v->family;
	c->lport = v->lport;
	c->rport = v->rport;
	memcpy(c->laddr, v->laddr, 16);
	memcpy(c->raddr, v->raddr, 16);
	c->uid = v->uid;
}

static bool moved(const struct udp_val *v, const struct prev *p)
{
	return v->tx_pkts != p->tx_pkts || v->rx_pkts != p->rx_pkts ||
	       v->tx_bytes != p->tx_bytes || v->rx_bytes != p->rx_bytes;
}

/* Take a retired entry out of the map (the feed's copy or the kernel's):
 * 1 with its last value, 0 when it was not there */
static int take(struct udpcount *uc, uint64_t cookie, struct udp_val *v)
{
	if (uc->kern)
		return udpcount_kern_take(uc->kern, cookie, v);
	for (size_t i = 0; i < uc->nmap; i++)
		if (uc->keys[i] == cookie) {
			*v = uc->vals[i];
			uc->keys[i] = uc->keys[--uc->nmap];
			uc->vals[i] = uc->vals[uc->nmap];
			return 1;
		}
	return 0;
}

/* The map as read (uc->keys, uc->vals, uc->nmap) against the previous
 * read: deltas into o, retirements done, the previous read replaced */
static int map_deltas(struct udpcount *uc, const struct sock_table *t, struct out *o)
{
	struct prev_table next = { NULL, 0, pow2_for(uc->nmap) - 1 };
	size_t n = uc->nmap, mask, nret = 0, retcap = 0;
	uint64_t *live = cookie_set(t, &mask), *retire = NULL;
	struct udp_count c;
	int r = 0;

	next.v = xcalloc(next.mask + 1, sizeof(*next.v));
	for (size_t i = 0; i < n; i++) {
		const struct prev *p = prev_find(&uc->prev, uc->keys[i]);
		struct prev *s;

		if (p && !moved(&uc->vals[i], p) && !in_table(live, mask, uc->keys[i])) {
			retire = xgrow(retire, sizeof(*retire), nret + 1, &retcap);
			retire[nret++] = uc->keys[i];
			continue;
		}
		count_from(&c, uc->keys[i], &uc->vals[i], p);
		out_add(o, &c);
		s = prev_slot(&next, uc->keys[i]);
		s->cookie = uc->keys[i];
		s->tx_bytes = uc->vals[i].tx_bytes, s->rx_bytes = uc->vals[i].rx_bytes;
		s->tx_pkts = uc->vals[i].tx_pkts, s->rx_pkts = uc->vals[i].rx_pkts;
		next.n++;
	}
	for (size_t i = 0; i < nret && r >= 0; i++) {
		const struct prev *p = prev_find(&uc->prev, retire[i]);
		struct udp_val v;

		/* what came between the batch read and the delete */
		if ((r = take(uc, retire[i], &v)) > 0 && moved(&v, p)) {
			count_from(&c, retire[i], &v, p);
			out_add(o, &c);
		}
	}
	free(retire);
	free(live);
	prev_free(&uc->prev);
	uc->prev = next;
	return r < 0 ? errorf(r, "UDP counters: cannot delete a map entry: %s", strerror(-r)) : 0;
}

void udpcount_feed_map(struct udpcount *uc, const struct udp_count *cum, size_t n)
{
	size_t c = uc->mapcap;

	uc->keys = xgrow(uc->keys, sizeof(*uc->keys), n, &c);
	uc->vals = xgrow(uc->vals, sizeof(*uc->vals), n, &uc->mapcap);
	for (size_t i = 0; i < n; i++) {
		struct udp_val *v = &uc->vals[i];

		memset(v, 0, sizeof(*v));
		uc->keys[i] = cum[i].cookie;
		v->tx_bytes = cum[i].tx_bytes, v->rx_bytes = cum[i].rx_bytes;
		v->tx_pkts = cum[i].tx_pkts, v->rx_pkts = cum[i].rx_pkts;
		v->family = cum[i].family;
		v->lport = cum[i].lport, v->rport = cum[i].rport;
		memcpy(v->laddr, cum[i].laddr, 16);
		memcpy(v->raddr, cum[i].raddr, 16);
		v->uid = cum[i].uid;
	}
	uc->nmap = n;
}

size_t udpcount_feed_map_size(const struct udpcount *uc)
{
	return uc->nmap;
}

/* ---- pcap: flows, then sockets ---- */

static void flows_resize(struct udpcount *uc, size_t slots)
{
	struct flow *old = uc->flows;
	size_t n = uc->flowmask + 1;

	uc->flows = xcalloc(slots, sizeof(*uc->flows));
	uc->flowmask = slots - 1;
	for (size_t j = 0; old && j < n; j++) {
		size_t i;

		if (!old[j].used)
			continue;
		for (i = hash_bytes(&old[j].k, sizeof(old[j].k)) & uc->flowmask;
		     uc->flows[i].used; i = (i + 1) & uc->flowmask)
			;
		uc->flows[i] = old[j];
	}
	free(old);
}

/* the flow's slot, made when new; NULL when the table is full */
static struct flow *flow_get(struct udpcount *uc, const struct flow_key *k)
{
	size_t i;

	if (!uc->flows)
		flows_resize(uc, FLOW_SLOTS_MIN);
	for (i = hash_bytes(k, sizeof(*k)) & uc->flowmask; uc->flows[i].used;
	     i = (i + 1) & uc->flowmask)
		if (!memcmp(&uc->flows[i].k, k, sizeof(*k)))
			return &uc->flows[i];
	if (uc->nflows >= UDPCOUNT_MAX_FLOWS)
		return NULL;
	if (2 * (uc->nflows + 1) > uc->flowmask + 1) {	/* at most half full */
		flows_resize(uc, 2 * (uc->flowmask + 1));
		return flow_get(uc, k);
	}
	uc->nflows++;
	uc->flows[i].used = true;
	uc->flows[i].k = *k;
	return &uc->flows[i];
}

static void flow_add(struct udpcount *uc, const struct pkt *p, bool out, uint32_t len)
{
	struct flow_key k;
	struct flow *f;

	memset(&k, 0, sizeof(k));
	k.family = p->ipver == 4 ? AF_INET : AF_INET6;
	k.lport = out ? p->sport : p->dport;
	k.rport = out ? p->dport : p->sport;
	memcpy(k.laddr, out ? p->src : p->dst, 16);
	memcpy(k.raddr, out ? p->dst : p->src, 16);
	if (!(f = flow_get(uc, &k))) {
		uc->flows_lost++;
		return;
	}
	if (out)
		f->tx_bytes += len, f->tx_pkts++;
	else
		f->rx_bytes += len, f->rx_pkts++;
}

static bool loopback_addr(const struct pkt *p)
{
	static const uint8_t one[16] = { [15] = 1 };

	return p->ipver == 4 ? p->src[0] == 127 : !memcmp(p->src, one, 16);
}

void udpcount_feed_frame(struct udpcount *uc, int linktype, const uint8_t *frame,
			 uint32_t caplen, uint32_t wirelen)
{
	uint32_t len;
	bool lo;
	struct pkt p;

	pkt_decode_outer(linktype, frame, caplen, wirelen, &p);
	/* a fragment after the first has no UDP header: the first one's
	 * length field counted the whole datagram */
	if (!p.ipver || p.proto != IPPROTO_UDP || !p.has_ports || !p.l4 || p.l4_caplen < 8 ||
	    (p.flags & PKT_FRAGMENT))
		return;
	len = (uint32_t)p.l4[4] << 8 | p.l4[5];
	len = len > 8 ? len - 8 : 0;
	/* On loopback libpcap hands on only the incoming copy of a packet: it
	 * is the sender's datagram as much as the receiver's. SLL2 names the
	 * interface; SLL only the addresses (127/8, ::1). */
	if (linktype == LINK_SLL2 && caplen >= 20)
		lo = uc->lo_ifindex &&
		     ((uint32_t)frame[4] << 24 | (uint32_t)frame[5] << 16 |
		      (uint32_t)frame[6] << 8 | frame[7]) == uc->lo_ifindex;
	else
		lo = loopback_addr(&p);
	if (lo && (p.flags & PKT_OUTGOING))
		return;		/* should a libpcap pass both copies on */
	if (lo || (p.flags & PKT_OUTGOING))
		flow_add(uc, &p, true, len);
	if (!(p.flags & PKT_OUTGOING))
		flow_add(uc, &p, false, len);
}

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *d)
{
	struct udpcount *uc = (struct udpcount *)(void *)arg;

	udpcount_feed_frame(uc, uc->linktype, d, h->caplen, h->len);
}

static void drain(struct udpcount *uc)
{
	/* bounded: a non-blocking handle returns 0 once the ring is empty */
	for (int i = 0; i < 1024 && pcap_dispatch(uc->h, -1, on_packet, (u_char *)uc) > 0; i++)
		;
}

static void on_readable(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	(void)l, (void)events;
	drain(container_of(io, struct udpcount, io));
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_any(const uint8_t *a, uint8_t family)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, family == AF_INET ? 4 : 16);
}

/* An IPv6 socket's v4-mapped address as IPv4 (the datagrams are IPv4) */
static uint8_t unmap(uint8_t family, uint8_t *a)
{
	if (family != AF_INET6 || memcmp(a, v4mapped, 12))
		return family;
	memmove(a, a + 12, 4);
	memset(a + 4, 0, 12);
	return AF_INET;
}

static void key_of(const struct sock_rec *s, unsigned kind, struct sock_key *k)
{
	uint8_t la[16], ra[16], fl, fr;

	memset(k, 0, sizeof(*k));
	memcpy(la, s->laddr, 16);
	memcpy(ra, s->raddr, 16);
	fl = unmap(s->family, la);
	fr = unmap(s->family, ra);
	k->kind = (uint8_t)kind;
	k->family = kind == 0 ? (fl == fr ? fl : s->family) : kind == 1 ? fl : s->family;
	k->lport = s->lport;
	if (kind <= 1)
		memcpy(k->laddr, k->family == fl ? la : s->laddr, 16);
	if (kind == 0) {
		k->rport = s->rport;
		memcpy(k->raddr, k->family == fr ? ra : s->raddr, 16);
	}
}

struct index {
	struct sock_slot *v;
	size_t mask;
};

static struct sock_slot *index_slot(struct index *x, const struct sock_key *k)
{
	size_t i;

	for (i = hash_bytes(k, sizeof(*k)) & x->mask; x->v[i].used; i = (i + 1) & x->mask)
		if (!memcmp(&x->v[i].k, k, sizeof(*k)))
			break;
	return &x->v[i];
}

/* first come, first kept: the current dump before the previous one */
static void index_add(struct index *x, const struct sock_rec *s)
{
	struct sock_slot *e;
	struct sock_key k;

	if (s->proto != IPPROTO_UDP || !s->cookie)
		return;
	key_of(s, s->rport ? 0 : is_any(s->laddr, s->family) ? 2 : 1, &k);
	e = index_slot(x, &k);
	if (e->used)
		return;
	e->used = true;
	e->k = k;
	e->cookie = s->cookie;
	e->uid = s->uid;
}

static const struct sock_slot *index_match(struct index *x, const struct flow_key *f)
{
	struct sock_key k;
	const struct sock_slot *e;

	for (unsigned kind = 0; kind < 3; kind++) {
		memset(&k, 0, sizeof(k));
		k.kind = (uint8_t)kind;
		k.family = f->family;
		k.lport = f->lport;
		if (kind <= 1)
			memcpy(k.laddr, f->laddr, 16);
		if (kind == 0) {
			k.rport = f->rport;
			memcpy(k.raddr, f->raddr, 16);
		}
		if ((e = index_slot(x, &k))->used)
			return e;
		if (kind == 2 && f->family == AF_INET) {	/* a dual-stack socket */
			k.family = AF_INET6;
			if ((e = index_slot(x, &k))->used)
				return e;
		}
	}
	return NULL;
}

static void flow_deltas(struct udpcount *uc, const struct sock_table *t, struct out *o)
{
	size_t n = (t ? t->n : 0) + uc->nlast, w = 0;
	struct index x = { NULL, pow2_for(n) - 1 };

	if (uc->nflows) {		/* an index of the sockets only when there is traffic */
		x.v = xcalloc(x.mask + 1, sizeof(*x.v));
		for (size_t i = 0; t && i < t->n; i++)
			index_add(&x, &t->v[i]);
		for (size_t i = 0; i < uc->nlast; i++)
			index_add(&x, &uc->last[i]);
	}
	for (size_t i = 0; uc->nflows && i <= uc->flowmask; i++) {
		struct flow *f = &uc->flows[i];
		const struct sock_slot *s;
		struct udp_count c;

		if (!f->used)
			continue;
		s = index_match(&x, &f->k);
		memset(&c, 0, sizeof(c));
		c.cookie = s ? s->cookie : 0;
		c.uid = s ? s->uid : UINT32_MAX;
		c.tx_bytes = f->tx_bytes, c.rx_bytes = f->rx_bytes;
		c.tx_pkts = f->tx_pkts, c.rx_pkts = f->rx_pkts;
		c.family = f->k.family;
		c.lport = f->k.lport, c.rport = f->k.rport;
		memcpy(c.laddr, f->k.laddr, 16);
		memcpy(c.raddr, f->k.raddr, 16);
		out_add(o, &c);
		memset(f, 0, sizeof(*f));
	}
	/* a burst's table is not kept for the quiet intervals after it */
	if (uc->flowmask + 1 > FLOW_SLOTS_MIN && uc->flowmask + 1 > 8 * uc->nflows) {
		free(uc->flows);
		uc->flows = NULL;
		uc->flowmask = 0;
	}
	uc->nflows = 0;
	free(x.v);
	/* this dump's sockets are the next read's "previous" ones */
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].proto == IPPROTO_UDP)
			w++;
	free(uc->last);
	uc->last = w ? xmalloc(w * sizeof(*uc->last)) : NULL;
	uc->nlast = 0;
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].proto == IPPROTO_UDP) {
			uc->last[uc->nlast] = t->v[i];
			uc->last[uc->nlast++].ext = NULL;
		}
}

/* ---- the API ---- */

static int pcap_start(struct udpcount *uc, struct ev_loop *loop)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	int fd, r;

	if (!loop)
		return errorf(-EINVAL, "UDP counters: a capture needs an event loop");
	if (!(uc->h = pcap_create("any", err)))
		return errorf(-ENODEV, "UDP counters: cannot capture on 'any': %.120s", err);
	pcap_set_snaplen(uc->h, SNAPLEN);
	pcap_set_timeout(uc->h, PCAP_TIMEOUT_MS);
	pcap_set_buffer_size(uc->h, PCAP_BUFFER);
	/* each packet readable at once (TPACKET_V2), not a block per 100 ms: a read
	 * drains the ring first, so it counts every datagram sent before it */
	pcap_set_immediate_mode(uc->h, 1);
	if ((r = pcap_activate(uc->h)) < 0) {
		r = r == PCAP_ERROR_PERM_DENIED ? -EPERM : -ENODEV;
		return errorf(r, "UDP counters: cannot capture on 'any': %.120s%s",
			      pcap_geterr(uc->h), r == -EPERM ? " (capturing needs root)" : "");
	}
	/* SLL2 says which interface: loopback is told from the rest by it */
	pcap_set_datalink(uc->h, LINK_SLL2);
	uc->linktype = pcap_datalink(uc->h);
	uc->lo_ifindex = if_nametoindex("lo");
	if (pcap_compile(uc->h, &prog, "udp", 1, PCAP_NETMASK_UNKNOWN) < 0)
		return errorf(-EINVAL, "UDP counters: cannot compile the filter: %.120s",
			      pcap_geterr(uc->h));
	r = pcap_setfilter(uc->h, &prog);
	pcap_freecode(&prog);
	if (r < 0)
		return errorf(-EINVAL, "UDP counters: cannot set the filter: %.120s",
			      pcap_geterr(uc->h));
	if (pcap_setnonblock(uc->h, 1, err) < 0)
		return errorf(-EINVAL, "UDP counters: %.120s", err);
	if ((fd = pcap_get_selectable_fd(uc->h)) < 0)
		return errorf(-EOPNOTSUPP, "UDP counters: the capture has no descriptor");
	if ((r = ev_io_add(loop, &uc->io, fd, EPOLLIN, on_readable)))
		return errorf(r, "UDP counters: %s", strerror(-r));
	uc->loop = loop;
	return 0;
}

int udpcount_open(struct ev_loop *loop, unsigned flags, struct udpcount **out)
{
	struct udpcount *uc = xcalloc(1, sizeof(*uc));
	int r;

	*out = NULL;
	if (flags & UDPCOUNT_FEED) {
		uc->source = "feed";
		*out = uc;
		return 0;
	}
	if (!(flags & UDPCOUNT_NO_BPF)) {
		if (!(r = udpcount_kern_open(&uc->kern))) {
			uc->source = "bpf";
			*out = uc;
			return 0;
		}
		snprintf(uc->bpf_err, sizeof(uc->bpf_err), "%s", error_msg());
		if (flags & UDPCOUNT_NO_PCAP)
			goto fail;
	}
	if (flags & UDPCOUNT_NO_PCAP) {
		r = errorf(-EINVAL, "UDP counters: both BPF and the capture were ruled out");
		goto fail;
	}
	if ((r = pcap_start(uc, loop))) {
		if (uc->bpf_err[0])
			r = errorf(r, "%s; %s", uc->bpf_err, error_msg());
		goto fail;
	}
	uc->source = "pcap";
	*out = uc;
	return 0;
fail:
	udpcount_close(uc);
	return r;
}

const char *udpcount_source(const struct udpcount *uc)
{
	return uc->source;
}

const char *udpcount_bpf_error(const struct udpcount *uc)
{
	return uc->h ? uc->bpf_err : "";
}

int udpcount_read(struct udpcount *uc, const struct sock_table *t, struct udp_count **v,
		  size_t *n)
{
	struct out o = { 0 };
	int r = 0;

	*v = NULL;
	*n = 0;
	if (uc->kern && (r = udpcount_kern_dump(uc->kern, &uc->keys, &uc->vals, &uc->nmap,
						&uc->mapcap)))
		return errorf(r, "UDP counters: cannot read the BPF map: %s", strerror(-r));
	if (uc->kern || !uc->h)
		r = map_deltas(uc, t, &o);
	if (uc->h)
		drain(uc);
	if (uc->h || !uc->kern)
		flow_deltas(uc, t, &o);
	free(o.idx);
	if (r) {
		free(o.v);
		return r;
	}
	*v = o.v;
	*n = o.n;
	return 0;
}

uint64_t udpcount_lost(const struct udpcount *uc)
{
	struct pcap_stat st;
	uint64_t n = uc->flows_lost;

	if (uc->kern)
		n += udpcount_kern_lost(uc->kern);
	if (uc->h && !pcap_stats(uc->h, &st))
		n += (uint64_t)st.ps_drop + st.ps_ifdrop;
	return n;
}

const char *udpcount_lost_why(const struct udpcount *uc)
{
	if (uc->kern)
		return udpcount_lost(uc) ? "BPF map full (" STR(UDPCOUNT_MAX) " sockets)" : "";
	if (uc->flows_lost)
		return "flow table full (" STR(UDPCOUNT_MAX_FLOWS) " flows between reads)";
	return udpcount_lost(uc) ? "capture drops (kernel buffer full)" : "";
}

void udpcount_close(struct udpcount *uc)
{
	if (!uc)
		return;
	if (uc->loop)
		ev_io_del(uc->loop, &uc->io);
	if (uc->h)
		pcap_close(uc->h);
	udpcount_kern_close(uc->kern);
	prev_free(&uc->prev);
	free(uc->keys);
	free(uc->vals);
	free(uc->flows);
	free(uc->last);
	free(uc);
}
