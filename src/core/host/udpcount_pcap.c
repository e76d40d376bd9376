/*
 * udpcount_pcap.c - top's UDP counts from a capture, where the BPF
 * programs cannot load: libpcap on "any" (SLL2: the packet type says
 * outgoing or not, the interface index says loopback), filter "udp", 128
 * bytes a packet, non-blocking, its fd in the caller's loop. Packets add
 * to a flow table keyed by local and remote address and port; each read
 * drains the ring, matches every flow to a socket of the dump (connected
 * by 4-tuple > bound by local address and port > wildcard by local port,
 * in this dump and then the previous one) and empties the table. Memory:
 * the flow table (it grows from 256 slots, at most UDPCOUNT_MAX_FLOWS
 * flows, the rest counted lost, and is let go after a burst), an index of
 * the sockets built only when there was traffic, and a copy of the last
 * dump's UDP sockets.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/pcapany.h"
#include "core/host/udpcount_int.h"
#include "core/wire/pkt.h"

#include "core/base/banned.h"

#define SNAPLEN 128
#define PCAP_BUFFER (4 << 20)
#define FLOW_SLOTS_MIN 256

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

void udpcount_pcap_drain(struct udpcount *uc)
{
	/* bounded: a non-blocking handle returns 0 once the ring is empty */
	for (int i = 0; i < 1024 && pcap_dispatch(uc->h, -1, on_packet, (u_char *)uc) > 0; i++)
		;
}

static void on_readable(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	(void)l, (void)events;
	udpcount_pcap_drain(container_of(io, struct udpcount, io));
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

void udpcount_flow_deltas(struct udpcount *uc, const struct sock_table *t, struct out *o)
{
	size_t n = (t ? t->n : 0) + uc->nlast, w = 0;
	struct index x = { NULL, udpcount_slots(n) - 1 };

	if (uc->nflows) {		/* an index of the sockets only when there is traffic */
		if (x.mask + 1 > uc->indexcap) {
			free(uc->index);
			uc->index = xmalloc((x.mask + 1) * sizeof(*uc->index));
			uc->indexcap = x.mask + 1;
		}
		x.v = uc->index;
		memset(x.v, 0, (x.mask + 1) * sizeof(*x.v));
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
		udpcount_out_add(o, &c);
		memset(f, 0, sizeof(*f));
	}
	/* a burst's table is not kept for the quiet intervals after it */
	if (uc->flowmask + 1 > FLOW_SLOTS_MIN && uc->flowmask + 1 > 8 * uc->nflows) {
		free(uc->flows);
		uc->flows = NULL;
		uc->flowmask = 0;
	}
	uc->nflows = 0;
	/* this dump's sockets are the next read's "previous" ones */
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].proto == IPPROTO_UDP)
			w++;
	uc->last = xgrow(uc->last, sizeof(*uc->last), w, &uc->lastcap);
	uc->nlast = 0;
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].proto == IPPROTO_UDP) {
			uc->last[uc->nlast] = t->v[i];
			uc->last[uc->nlast++].ext = NULL;
		}
}

int udpcount_pcap_start(struct udpcount *uc, struct ev_loop *loop)
{
	int fd, r;

	if (!loop)
		return errorf(-EINVAL, "UDP counters: a capture needs an event loop");
	if ((r = pcap_any_open("UDP counters", "udp", SNAPLEN, PCAP_BUFFER, &uc->h)))
		return r;
	/* SLL2 says which interface: loopback is told from the rest by it */
	uc->linktype = pcap_datalink(uc->h);
	uc->lo_ifindex = if_nametoindex("lo");
	if ((fd = pcap_get_selectable_fd(uc->h)) < 0)
		return errorf(-EOPNOTSUPP, "UDP counters: the capture has no descriptor");
	if ((r = ev_io_add(loop, &uc->io, fd, EPOLLIN, on_readable)))
		return errorf(r, "UDP counters: %s", strerror(-r));
	uc->loop = loop;
	return 0;
}
